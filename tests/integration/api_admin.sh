# api_admin.sh - the accounts through the API: logins with a password and a
# session cookie (changes need the X-CSRF-Token header), the pause after
# failed logins, and every route of api_admin.c as the callers who may and
# may not use it: departments, users, members, tokens and the audit log,
# with the rows each change writes and what each caller sees.
. "$TC_SRCDIR/tests/lib.sh"
plan 131

"$TABLECRON" migrate >/dev/null 2>&1 || { echo "Bail out! migrate failed"; exit 1; }
export no_proxy=127.0.0.1 NO_PROXY=127.0.0.1
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY

# --- fixtures from the command line ----------------------------------------
#   admin (administrator); mgr: manager of A; viewer: viewer of A;
#   bee: viewer of B; loner: no department
for u in admin mgr viewer bee loner; do
    flags=
    [ "$u" = admin ] && flags=--admin
    # shellcheck disable=SC2086
    printf '%s\n' "$u password" | "$TABLECRON" user add "$u" $flags --password-stdin >/dev/null ||
        { echo "Bail out! user add $u failed"; exit 1; }
done
for d in A B; do "$TABLECRON" dept add "$d" >/dev/null || { echo "Bail out! dept add failed"; exit 1; }; done
"$TABLECRON" member add mgr A manager >/dev/null &&
    "$TABLECRON" member add viewer A viewer >/dev/null &&
    "$TABLECRON" member add bee B viewer >/dev/null || { echo "Bail out! member add failed"; exit 1; }
A=$(q "SELECT id FROM departments WHERE name = 'A'")
B=$(q "SELECT id FROM departments WHERE name = 'B'")
uid() { q "SELECT id FROM users WHERE login = '$1'"; }

start_bg "$TC_TMP/serve.log" "$TABLECRON" serve --no-scheduler --instance-id adm
serve_pid=$TC_BG_PID
started() { [ -n "$(tc_api_url "$TC_TMP/serve.log")" ]; }
wait_until 15 started || { echo "Bail out! serve did not start: $(tail -n 5 "$TC_TMP/serve.log")"; exit 1; }
url=$(tc_api_url "$TC_TMP/serve.log")

# call WHO METHOD PATH [BODY]: one request; the status in CODE, the body in
# BODY.  WHO: anon; a login (its session cookie and CSRF token); nocsrf:LOGIN
# (the cookie alone); tok:TOKEN (a bearer token).
declare -A COOKIE CSRF
call() {
    local who=$1 method=$2 path=$3 data=${4-}
    local args=(-s -o "$TC_TMP/body" -D "$TC_TMP/headers" -w '%{http_code}' -X "$method")
    case $who in
    anon) ;;
    nocsrf:*) args+=(-H "Cookie: tablecron_session=${COOKIE[${who#nocsrf:}]}") ;;
    tok:*) args+=(-H "Authorization: Bearer ${who#tok:}") ;;
    *) args+=(-H "Cookie: tablecron_session=${COOKIE[$who]}" -H "X-CSRF-Token: ${CSRF[$who]}") ;;
    esac
    [ -n "$data" ] && args+=(-H 'Content-Type: application/json' --data-binary "$data")
    rm -f "$TC_TMP/body"
    CODE=$(curl "${args[@]}" "$url$path") || CODE=000
    BODY=$(cat "$TC_TMP/body" 2>/dev/null)
}
# j EXPR: a Python expression over the JSON body d of the last answer, on
# one line.  One python3 serves every j through two FIFOs: starting one per
# call costs more than all the requests of this test.
mkfifo "$TC_TMP/py.in" "$TC_TMP/py.out"
python3 -u -c '
import json, sys
for line in sys.stdin:
    path, expr = line.rstrip("\n").split("\t", 1)
    try:
        out = str(eval(expr, {"d": json.load(open(path, "rb"))}))
    except Exception as e:
        out = "<%s: %s>" % (type(e).__name__, e)
    print(out.replace("\n", " "))
' <"$TC_TMP/py.in" >"$TC_TMP/py.out" &
tc_children+=("$!")
exec 7>"$TC_TMP/py.in" 8<"$TC_TMP/py.out"
j() {
    local line
    printf '%s\t%s\n' "$TC_TMP/body" "$1" >&7
    IFS= read -r line <&8
    printf '%s\n' "$line"
}
# err: "STATUS code field" of an error answer ({"error": {"code": ..., "message": ...,
# "field": ...}} in that order, compact; "None" without a field), read without python
err() {
    local code field
    code=$(sed -n 's/^{"error":{"code":"\([^"]*\)".*/\1/p' "$TC_TMP/body")
    field=$(sed -n 's/.*,"field":"\([^"]*\)"}}$/\1/p' "$TC_TMP/body")
    echo "$CODE ${code:-<no error>} ${field:-None}"
}
# login LOGIN PASSWORD: a session for LOGIN in COOKIE and CSRF
login() {
    call anon POST /api/v1/login "{\"login\": \"$1\", \"password\": \"$2\"}"
    COOKIE[$1]=$(tr -d '\r' <"$TC_TMP/headers" | sed -n 's/^[Ss]et-[Cc]ookie: tablecron_session=\([^;]*\);.*/\1/p')
    CSRF[$1]=$(j 'd.get("csrf_token", "")')
}
# audit_last ACTION COLUMNS: the newest audit row of that action
audit_last() { q "SELECT $2 FROM audit_log WHERE action = '$1' ORDER BY id DESC LIMIT 1"; }
audit_count() { q "SELECT count(*) FROM audit_log"; }
iso='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$'

# --- logins, sessions and CSRF ------------------------------------------------------
login admin 'admin password'
is "$CODE" 200 "an admin logs in with a password"
like "$(grep -i '^Set-Cookie:' "$TC_TMP/headers")" 'HttpOnly.*SameSite=Strict|SameSite=Strict.*HttpOnly' \
    "the session cookie is HttpOnly and SameSite=Strict"
for u in mgr viewer bee loner; do login "$u" "$u password"; done
is "${#COOKIE[loner]}/${#CSRF[loner]}" "43/43" "every fixture user has a session and a CSRF token"
call nocsrf:admin POST /api/v1/departments '{"name": "nocsrf"}'
is "$(err)" "403 csrf None" "a change with the cookie but without X-CSRF-Token is 403"
is "$(q "SELECT count(*) FROM departments WHERE name = 'nocsrf'")" 0 "and changes nothing"
call nocsrf:admin GET /api/v1/departments
is "$CODE" 200 "a read with the cookie alone is fine"

# The pause after failed logins, whichever password comes next.
before=$(audit_count)
for i in 1 2 3 4 5; do call anon POST /api/v1/login '{"login": "loner", "password": "wrong password"}'; codes="$codes$CODE "; done
is "$codes" "401 401 401 401 401 " "five wrong passwords are refused"
is "$(q "SELECT failed_logins || '|' || (login_blocked_until > now()) FROM users WHERE login = 'loner'")" "5|true" \
    "and counted: the login is paused"
call anon POST /api/v1/login '{"login": "loner", "password": "loner password"}'
is "$(err)" "429 too_many_failures None" "then even the right password gets 429"
like "$(tr -d '\r' <"$TC_TMP/headers" | grep -i '^Retry-After:')" '^Retry-After: [1-9][0-9]*$' "with Retry-After"
login_ok() { call anon POST /api/v1/login '{"login": "loner", "password": "loner password"}'; [ "$CODE" = 200 ]; }
if wait_until 10 login_ok; then pass "the right password works once the pause is over"; else fail "the right password works once the pause is over" "$CODE $BODY"; fi
is "$(q "SELECT failed_logins FROM users WHERE login = 'loner'")" 0 "and clears the count"

# --- departments ---------------------------------------------------------------------
call anon GET /api/v1/departments
is "$CODE" 401 "anonymous callers may not list departments"
call admin GET /api/v1/departments
is "$CODE $(j '[(x["name"], x["role"], "members" in x) for x in d["items"]]')" \
    "200 [('A', 'manager', True), ('B', 'manager', True), ('default', 'manager', True)]" \
    "an admin lists every department, as manager, with members"
call mgr GET /api/v1/departments
is "$(j '[(x["name"], x["role"], [(m["login"], m["role"]) for m in x["members"]]) for x in d["items"]]')" \
    "[('A', 'manager', [('mgr', 'manager'), ('viewer', 'viewer')])]" \
    "a manager lists their department with its members"
call viewer GET /api/v1/departments
is "$(j '[(x["id"], x["name"], x["role"], "members" in x) for x in d["items"]]')" "[($A, 'A', 'viewer', False)]" \
    "a viewer lists their department and role, without members"
like "$(j 'd["items"][0]["created_at"]')" "$iso" "times are ISO 8601 UTC with a Z"
call loner GET /api/v1/departments
is "$CODE $(j 'd["items"]')" "200 []" "a user of no department lists none"

call mgr POST /api/v1/departments '{"name": "C"}'
is "$(err)" "403 forbidden None" "only admins create departments"
call admin POST /api/v1/departments '{"name": "C", "description": "third"}'
is "$CODE $(j 'd["name"] + "|" + d["description"]')" "201 C|third" "an admin creates one: 201 and the department"
C=$(j 'd["id"]')
is "$(audit_last department.create "actor || '|' || actor_user_id || '|' || object_id || '|' || department_id || '|' || remote_addr || '|' || (after->>'name')")" \
    "user:admin|$(uid admin)|$C|$C|127.0.0.1|C" "department.create: who, from where, what"
call admin POST /api/v1/departments '{"name": "C"}'
is "$(err)" "409 conflict name" "a name taken is 409 conflict on name"
call admin POST /api/v1/departments '{"name": "-bad"}'
is "$(err)" "400 invalid name" "a bad name is 400 invalid on name"
call admin POST /api/v1/departments '{"name": "D", "colour": "red"}'
is "$(err)" "400 unknown_field colour" "an unknown field is 400 naming it"
call admin POST /api/v1/departments '{"name": 5}'
is "$(err)" "400 wrong_type name" "a wrong type is 400 naming it"
call admin POST /api/v1/departments '{"description": "x"}'
is "$(err)" "400 missing_field name" "a missing name is 400 naming it"
call admin POST /api/v1/departments '{"name": "D", "description": "a\u0001b"}'
is "$(err)" "400 invalid description" "a control character in the description is 400"
is "$(q "SELECT count(*) FROM departments WHERE name IN ('D', '-bad')")" 0 "refused departments are not created"

# --- users -------------------------------------------------------------------------------
call admin GET /api/v1/users
is "$CODE $(j '[u["login"] for u in d["items"]]')" "200 ['admin', 'bee', 'loner', 'mgr', 'viewer']" \
    "an admin lists every user"
is "$(j 'sorted(d["items"][0].keys())')" \
    "['created_at', 'departments', 'disabled', 'display_name', 'has_password', 'id', 'is_admin', 'login']" \
    "with flags and departments"
is "$(j '[(x["name"], x["role"]) for u in d["items"] if u["login"] == "mgr" for x in u["departments"]]')" \
    "[('A', 'manager')]" "the departments with roles"
unlike "$BODY" '\$y\$|password_hash' "never a password hash"
call mgr GET /api/v1/users
is "$CODE $(j 'sorted(set(k for u in d["items"] for k in u))') $(j 'len(d["items"])')" \
    "200 ['display_name', 'id', 'login'] 5" "a manager lists every user, by id, login and display name only"
call viewer GET /api/v1/users
is "$(err)" "403 forbidden None" "a viewer may not list users"
call loner GET /api/v1/users
is "$CODE" 403 "nor a user of no department"

call admin POST /api/v1/users '{"login": "newbie", "password": "newbie password", "display_name": "New B.", "is_admin": false}'
is "$CODE $(j 'd["login"] + "|" + d["display_name"] + "|" + str(d["has_password"]) + "|" + str(d["is_admin"])')" \
    "201 newbie|New B.|True|False" "an admin creates a user: 201 and the user"
unlike "$BODY" '"password"|\$y\$' "the answer has no password or hash"
is "$(audit_last user.create "actor || '|' || (after->>'login') || '|' || (after::text LIKE '%newbie password%' OR after::text LIKE '%\$y\$%')")" \
    "user:admin|newbie|false" "user.create is audited without secrets"
login newbie 'newbie password'
is "$CODE" 200 "the new user logs in with its password"
call admin POST /api/v1/users '{"login": "robot"}'
is "$CODE $(j 'd["has_password"]')" "201 False" "a user without a password is token-only"
call admin POST /api/v1/users '{"login": "NEWBIE", "password": "another password"}'
is "$(err)" "409 conflict login" "a login taken in any case is 409 conflict on login"
call admin POST /api/v1/users '{"login": "shorty", "password": "short"}'
is "$(err)" "400 invalid password" "a short password is 400 invalid on password"
call admin POST /api/v1/users '{"login": "bad login"}'
is "$(err)" "400 invalid login" "a bad login is 400 invalid on login"
call admin POST /api/v1/users '{"login": "nul\u0000x"}'
is "$(err)" "400 bad_json None" "a NUL inside a string is refused (400)"
call admin POST /api/v1/users "{\"login\": \"$(printf 'é%.0s' $(seq 50))\"}"
is "$(err)" "400 invalid login" "a long login of accented letters is 400 (no half character quoted)"
call admin POST /api/v1/users '{"login": "x", "is_admin": "yes"}'
is "$(err)" "400 wrong_type is_admin" "a wrong type is 400 naming it"
call mgr POST /api/v1/users '{"login": "sneaky"}'
is "$(err)" "403 forbidden None" "only admins create users"
is "$(q "SELECT count(*) FROM users WHERE login IN ('shorty', 'bad login', 'sneaky', 'x') OR login LIKE 'nul%'")" 0 \
    "refused users are not created"

# --- members ---------------------------------------------------------------------------------
n=$(audit_count)
call mgr PUT "/api/v1/departments/$A/members/loner" '{"role": "operator"}'
is "$CODE $(j 'd["login"] + "|" + d["role"] + "|" + d["department"] + "|" + str(d["department_id"])')" \
    "201 loner|operator|A|$A" "a manager adds a member: 201 and the membership"
is "$(audit_last member.add "actor || '|' || actor_user_id || '|' || object_id || '|' || department_id || '|' || (before IS NULL) || '|' || (after->>'role')")" \
    "user:mgr|$(uid mgr)|$(uid loner)|$A|true|operator" "member.add: who, which user, which department"
call loner GET /api/v1/departments
is "$(j '[(x["name"], x["role"]) for x in d["items"]]')" "[('A', 'operator')]" "the new member sees the department at once"
call mgr PUT "/api/v1/departments/$A/members/LONER" '{"role": "manager"}'
is "$CODE $(j 'd["role"]')" "200 manager" "a manager may grant any role, to a login in any case"
is "$(audit_last member.update "(before->>'role') || '>' || (after->>'role')")" "operator>manager" \
    "member.update has both roles"
call mgr PUT "/api/v1/departments/$A/members/loner" '{"role": "manager"}'
is "$CODE $(audit_count)" "200 $((n + 2))" "the same role again: 200 and no audit row"
call mgr PUT "/api/v1/departments/$A/members/nobody" '{"role": "viewer"}'
is "$(err)" "404 not_found login" "an unknown login is 404"
call mgr PUT "/api/v1/departments/$A/members/bee" '{"role": "boss"}'
is "$(err)" "400 invalid role" "a bad role is 400 invalid on role"
call mgr PUT "/api/v1/departments/$A/members/bee" '{"role": "viewer", "x": 1}'
is "$(err)" "400 unknown_field x" "an unknown field is 400 naming it"
call viewer PUT "/api/v1/departments/$A/members/bee" '{"role": "viewer"}'
is "$(err)" "403 forbidden None" "a viewer of the department may not manage members"
call mgr PUT "/api/v1/departments/$B/members/loner" '{"role": "viewer"}'
is "$(err)" "404 not_found None" "another department is 404 to a manager"
call mgr PUT "/api/v1/departments/999999/members/loner" '{"role": "viewer"}'
is "$(err)" "404 not_found None" "as is a department that does not exist"
call admin PUT "/api/v1/departments/$B/members/loner" '{"role": "viewer"}'
is "$CODE" 201 "an admin manages any department"
call nocsrf:mgr DELETE "/api/v1/departments/$A/members/loner"
is "$CODE" 403 "removing a member needs the CSRF header"
call mgr DELETE "/api/v1/departments/$A/members/loner"
is "$CODE $BODY" "204 " "a manager removes a member: 204"
is "$(q "SELECT count(*) FROM memberships WHERE department_id = $A AND user_id = $(uid loner)")" 0 "the membership is gone"
is "$(audit_last member.remove "actor || '|' || department_id || '|' || (before->>'role') || '|' || (after IS NULL)")" \
    "user:mgr|$A|manager|true" "member.remove has the old role"
call mgr DELETE "/api/v1/departments/$A/members/loner"
is "$(err)" "404 not_found login" "removing a non-member is 404"
call mgr DELETE "/api/v1/departments/$A/members/nobody"
is "$CODE" 404 "removing an unknown login is 404"
call mgr PUT "/api/v1/departments/$A/members/%FF%FE" '{"role": "viewer"}'
is "$(err)" "404 not_found login" "a login that is not UTF-8 is 404, not a database error"
call bee DELETE "/api/v1/departments/$A/members/viewer"
is "$CODE" 404 "a non-member cannot even see the department"

# --- tokens ------------------------------------------------------------------------------------
call viewer POST /api/v1/tokens '{"name": "ci", "expires_in_s": 3600}'
is "$CODE $(j 'd["name"] + "|" + d["login"] + "|" + str(d["token"].startswith(d["token_prefix"]))')" \
    "201 ci|viewer|True" "a user creates a token for itself: 201 with the token"
vtok=$(j 'd["token"]')
vtid=$(j 'd["id"]')
like "$vtok" '^tc_[A-Za-z0-9_-]{43}$' "the token is tc_ and 43 random characters"
is "$(q "SELECT expires_at BETWEEN now() + interval '59 minutes' AND now() + interval '1 hour' FROM api_tokens WHERE id = $vtid")" t \
    "expires_in_s sets the expiry"
is "$(q "SELECT count(*) FROM api_tokens WHERE token_hash = '$vtok' OR name = '$vtok'") $(q "SELECT count(*) FROM audit_log WHERE concat(before, after) LIKE '%${vtok:8}%'")" \
    "0 0" "the token itself is stored nowhere"
is "$(audit_last token.create "actor || '|' || actor_user_id || '|' || object_id || '|' || (after->>'token_prefix')")" \
    "user:viewer|$(uid viewer)|$vtid|${vtok:0:8}" "token.create is audited with the prefix only"
call "tok:$vtok" GET /api/v1/me
is "$CODE $(j 'd["login"] + "|" + d["auth"]')" "200 viewer|token" "the token acts as its user"
call "tok:$vtok" POST /api/v1/tokens '{"name": "spare", "expires_in_s": null}'
is "$CODE $(j 'd["login"] + "|" + str(d["expires_at"])')" "201 viewer|None" "a token may make a token of its user, without expiry"
vtid2=$(j 'd["id"]')
vtok2=$(j 'd["token"]')
is "$(audit_last token.create actor)" "token:viewer" "audited as made with a token"
call "tok:$vtok" GET /api/v1/users
is "$CODE" 403 "a token has no more rights than its user"
call viewer POST /api/v1/tokens '{"expires_in_s": 0}'
is "$(err)" "400 invalid expires_in_s" "a zero lifetime is 400"
call viewer POST /api/v1/tokens '{"expires_in_s": "1h"}'
is "$(err)" "400 wrong_type expires_in_s" "a lifetime that is not an integer is 400"
call viewer POST /api/v1/tokens '{"user": "admin"}'
is "$(err)" "400 unknown_field user" "a token cannot be made for someone else"
call nocsrf:viewer POST /api/v1/tokens '{}'
is "$CODE" 403 "creating a token with a session needs the CSRF header"

call viewer GET /api/v1/tokens
is "$CODE $(j '[t["id"] for t in d["items"]]')" "200 [$vtid, $vtid2]" "a user lists their own tokens"
is "$(j 'sorted(d["items"][0].keys())')" \
    "['created_at', 'expires_at', 'id', 'last_used_at', 'login', 'name', 'revoked_at', 'state', 'token_prefix', 'user_id']" \
    "with the prefix, never the token or its hash"
like "$(j 'd["items"][0]["last_used_at"]')" "$iso" "and when it was last used"
call mgr GET /api/v1/tokens
is "$(j 'd["items"]')" "[]" "another user lists none of them"
call viewer GET "/api/v1/tokens?user=admin"
is "$(err)" "403 forbidden user" "only admins list other users' tokens"
call admin GET "/api/v1/tokens?user=viewer"
is "$(j '[t["id"] for t in d["items"]]')" "[$vtid, $vtid2]" "an admin lists anyone's tokens"
call admin GET "/api/v1/tokens?user=nobody"
is "$(err)" "404 not_found user" "of an unknown user: 404"
call admin GET "/api/v1/tokens?user=%FF"
is "$(err)" "400 bad_parameter user" "?user= that is not UTF-8 is 400"

call mgr DELETE "/api/v1/tokens/$vtid"
is "$(err)" "404 not_found id" "someone else's token is 404"
call "tok:$vtok" GET /api/v1/me
is "$CODE" 200 "and keeps working"
call nocsrf:viewer DELETE "/api/v1/tokens/$vtid"
is "$CODE" 403 "revoking with a session needs the CSRF header"
call viewer DELETE "/api/v1/tokens/$vtid"
is "$CODE" 204 "a user revokes their own token: 204"
call "tok:$vtok" GET /api/v1/me
is "$CODE" 401 "the revoked token stops working at once"
is "$(audit_last token.revoke "actor || '|' || object_id || '|' || (after->>'revoked_at' IS NOT NULL)")" \
    "user:viewer|$vtid|true" "token.revoke is audited"
n=$(audit_count)
call viewer DELETE "/api/v1/tokens/$vtid"
is "$CODE $(audit_count)" "204 $n" "revoking it again: 204, nothing written"
call admin DELETE "/api/v1/tokens/$vtid2"
is "$CODE" 204 "an admin revokes anyone's token"
call "tok:$vtok2" GET /api/v1/me
is "$CODE" 401 "and it stops working"
call viewer GET /api/v1/tokens
is "$(j '[(t["state"], t["revoked_at"] is not None) for t in d["items"]]')" "[('revoked', True), ('revoked', True)]" \
    "revoked tokens are listed as revoked"
call admin DELETE /api/v1/tokens/999999
is "$(err)" "404 not_found id" "an unknown token is 404"

# --- a disabled user --------------------------------------------------------------------------
call bee POST /api/v1/tokens '{"name": "bee bot"}'
btok=$(j 'd["token"]')
call "tok:$btok" GET /api/v1/me
is "$CODE" 200 "bee's token works"
run_ok "tablecron user disable" "$TABLECRON" user disable bee
call "tok:$btok" GET /api/v1/me
is "$CODE" 401 "a disabled user's token stops working at once"
call bee GET /api/v1/me
is "$CODE" 401 "and so does its session"
call anon POST /api/v1/login '{"login": "bee", "password": "bee password"}'
is "$CODE" 401 "and it cannot log in"
"$TABLECRON" user enable bee >/dev/null
call "tok:$btok" GET /api/v1/me
is "$CODE" 200 "enabled again, the token works again"
call bee GET /api/v1/me
is "$CODE" 401 "but the ended session does not come back"

# --- the audit log -----------------------------------------------------------------------------
call anon GET /api/v1/audit
is "$CODE" 401 "anonymous callers may not read the audit log"
call admin GET "/api/v1/audit?limit=1000"
total=$(q "SELECT count(*) FROM audit_log")
is "$CODE $(j 'len(d["items"])') $(j 'd["next"]')" "200 $total None" "an admin reads every row, with no next page"
is "$(j '[i["id"] for i in d["items"]] == sorted([i["id"] for i in d["items"]], reverse=True)')" True "newest first"
is "$(j 'sorted(d["items"][0].keys())')" \
    "['action', 'actor', 'actor_user_id', 'after', 'at', 'before', 'department_id', 'id', 'object_id', 'object_type', 'remote_addr']" \
    "each with who, what, when and the images"
like "$(j 'd["items"][0]["at"]')" "$iso" "at is ISO 8601 UTC"
unlike "$BODY" '\$y\$|password_hash|token_hash' "no hash anywhere in the audit log"
all_ids=$(j '" ".join(str(i["id"]) for i in d["items"])')
call viewer GET /api/v1/audit
is "$CODE $(j 'sorted(set(i["department_id"] for i in d["items"]))')" "200 [$A]" \
    "a viewer of A reads the rows of A only"
is "$(j 'len(d["items"])')" "$(q "SELECT count(*) FROM audit_log WHERE department_id = $A")" "all of them"
call loner GET /api/v1/audit
is "$(j 'sorted(set(i["department_id"] for i in d["items"]))')" "[$B]" "a member of B only reads B's rows"
call mgr GET "/api/v1/audit?department=$B"
is "$CODE $(j 'd["items"]')" "200 []" "filtering on another department shows nothing"
call admin GET "/api/v1/audit?action=member.add"
is "$(j 'sorted(set(i["action"] for i in d["items"]))') $(j 'len(d["items"])')" \
    "['member.add'] $(q "SELECT count(*) FROM audit_log WHERE action = 'member.add'")" "?action= filters on the action"
call admin GET "/api/v1/audit?department=$A&action=member.remove"
is "$(j '[(i["action"], i["department_id"]) for i in d["items"]]')" "[('member.remove', $A)]" "filters combine"
# Keyset pages of 4: together they are the whole log, in order.
pages=0 ids= next=
while :; do
    call admin GET "/api/v1/audit?limit=4${next:+&before=$next}"
    [ "$CODE" = 200 ] || break
    ids="$ids $(j '" ".join(str(i["id"]) for i in d["items"])')"
    next=$(j 'd["next"] or ""')
    pages=$((pages + 1))
    [ -z "$next" ] || [ "$pages" -gt 100 ] && break
done
is "${ids# }" "$all_ids" "?limit=&before= pages through every row, newest first"
is "$pages" $(((total + 3) / 4)) "in pages of the limit"
call admin GET "/api/v1/audit?limit=2"
is "$(j 'type(d["next"]).__name__ + " " + str(d["next"] == str(d["items"][-1]["id"]))')" "str True" \
    "next is the last id of the page, as a string"
call admin GET "/api/v1/audit?limit=0"
is "$(err)" "400 bad_parameter limit" "limit 0 is 400"
call admin GET "/api/v1/audit?limit=1001"
is "$(err)" "400 bad_parameter limit" "limit above 1000 is 400"
call admin GET "/api/v1/audit?before=abc"
is "$(err)" "400 bad_parameter before" "a bad cursor is 400"
call admin GET "/api/v1/audit?department=x"
is "$(err)" "400 bad_parameter department" "a bad department is 400"
call admin GET "/api/v1/audit?action=%C3"
is "$(err)" "400 bad_parameter action" "an action that is not UTF-8 is 400"

# --- health ---------------------------------------------------------------------------------
kill -TERM "$serve_pid"
wait "$serve_pid"
is "$?" 0 "the server stops cleanly on SIGTERM"
problems=$(grep -E 'msg="request failed"|level=error|Sanitizer|runtime error' "$TC_TMP/serve.log" | head -n 3)
is "$problems" "" "and logged no failure, no sanitizer report"
grep -q 'tc_[A-Za-z0-9_-]\{43\}' "$TC_TMP/serve.log" && fail "no token in the server log" || pass "no token in the server log"

done_testing
