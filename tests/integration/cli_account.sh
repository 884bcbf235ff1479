# cli_account.sh - the accounts from the command line: user add/ls/passwd/
# disable/enable, dept add/ls, member add/rm/ls, token create/ls/revoke.
# Error lines and exit codes, the rows each command leaves (checked with
# psql), the audit rows with no secret in them, --json documents, and a
# token that works against a real API instance until it is revoked.
. "$TC_SRCDIR/tests/lib.sh"
plan 152

"$TABLECRON" migrate >/dev/null 2>&1 || { echo "Bail out! migrate failed"; exit 1; }
export no_proxy=127.0.0.1 NO_PROXY=127.0.0.1

tc() { "$TABLECRON" "$@"; }
# tc_in INPUT ARGS...: tablecron with INPUT (one line) on stdin
tc_in() { local input=$1; shift; printf '%s\n' "$input" | "$TABLECRON" "$@"; }
jpy() { python3 -c "import json, sys; d = json.load(sys.stdin); print($1)"; }
user_col() { q "SELECT $2 FROM users WHERE login = '$1'"; }
# audit_row ACTION OBJECT_ID COLUMNS: the newest audit row of that action and object
audit_row() { q "SELECT $3 FROM audit_log WHERE action = '$1' AND object_id = '$2' ORDER BY id DESC LIMIT 1"; }
audits() { q "SELECT count(*) FROM audit_log WHERE action = '$1' AND object_id = '$2'"; }
me="cli:$(id -un)"

# --- help and usage -----------------------------------------------------
helps_ok=1
for cmd in "user add" "user ls" "user passwd" "user disable" "user enable" "dept add" "dept ls" \
    "member add" "member rm" "member ls" "token create" "token ls" "token revoke"; do
    # shellcheck disable=SC2086
    out=$(tc $cmd --help 2>&1) || helps_ok=0
    printf '%s' "$out" | grep -q "^usage: tablecron $cmd" || helps_ok=0
done
is "$helps_ok" 1 "every account command has --help with its usage line"
for group in user dept member token; do
    run_ok "$group --help exits 0" tc "$group" --help
done
like "$(tc user --help)" 'passwd .*set a user.s password' "user --help lists the commands"
run_status 2 "user without a command is a usage error" tc user
run_status 2 "an unknown command is a usage error" tc token frobnicate
is "$TC_OUT" "tablecron: token: unknown command 'frobnicate' (see 'tablecron token --help')" \
    "and says so in one line"
run_status 2 "a missing argument is a usage error" tc member add alice
like "$TC_OUT" "^tablecron: member add: missing arguments: tablecron member add LOGIN DEPT ROLE" \
    "naming what is expected"
run_status 2 "an extra argument is a usage error" tc dept add a b
run_status 2 "an unknown option is a usage error" tc user add x --colour
like "$(tc --help)" 'token +create, list and revoke API tokens' "tablecron --help lists the groups"

# --- user add -------------------------------------------------------------
run_ok "user add with a password from stdin" tc_in 'first admin pw' user add admin --admin --password-stdin
is "$TC_OUT" "created user 'admin' (id $(user_col admin id)), an administrator" "names the new user"
like "$(user_col admin "is_admin || '|' || password_hash")" '^true\|\$y\$' \
    "the user is an admin with a yescrypt hash"
is "$(audit_row user.create "$(user_col admin id)" "actor || '|' || coalesce(actor_user_id::text, 'null') || '|' || (before IS NULL) || '|' || remote_addr")" \
    "$me|null|true|" "user add writes a user.create row: cli actor, no user id, no address"
is "$(audit_row user.create "$(user_col admin id)" "after->>'login' || '|' || (after->>'is_admin') || '|' || (after->>'has_password')")" \
    "admin|true|true" "the after image has the login and flags"
is "$(q "SELECT count(*) FROM audit_log WHERE after::text LIKE '%\$y\$%' OR after::text LIKE '%password_hash%' OR after::text LIKE '%first admin pw%'")" \
    0 "and neither the password nor its hash"

run_ok "user add without a password" tc user add bob --display-name 'Bob B.'
like "$TC_OUT" "created user 'bob' \(id [0-9]+\); without a password it signs in with tokens only" \
    "says it is token-only"
is "$(user_col bob "(password_hash IS NULL) || '|' || is_admin || '|' || display_name")" \
    "true|false|Bob B." "no hash, not an admin, the display name"
run_ok "a login with . _ @ - is accepted" tc user add 'carol.c_d@example-1'

run_status 1 "a login taken in another case is exit 1" tc user add BOB
is "$TC_OUT" "tablecron: a user with login 'BOB' already exists" "a duplicate login: one clear line"
run_status 2 "a bad login is exit 2" tc user add 'bad login'
like "$TC_OUT" "^tablecron: bad login 'bad login': use letters, digits and \. _ @ -" "naming the rule"
run_status 2 "a login starting with a dot is exit 2" tc user add .hidden
run_status 2 "a 64-character login is exit 2" tc user add "$(printf 'a%.0s' $(seq 64))"
run_status 2 "a short password is exit 2" tc_in 'short' user add dave --password-stdin
is "$TC_OUT" "tablecron: the password must have at least 8 characters" "naming the minimum"
run_status 2 "no password on stdin is exit 2" tc user add dave --password-stdin </dev/null
is "$(user_col dave id)" "" "refused users are not created"
run_status 2 "a control character in the display name is exit 2" tc user add dave --display-name "$(printf 'a\tb')"
run_status 2 "a display name that is not UTF-8 is exit 2" tc user add dave --display-name "$(printf 'a\377')"
is "$TC_OUT" "tablecron: the display name must be valid UTF-8" "saying so"

# --- user ls --------------------------------------------------------------
run_ok "user ls" tc user ls
like "$TC_OUT" '^ID +LOGIN +DISPLAY_NAME +FLAGS +DEPARTMENTS +CREATED' "has a header"
like "$TC_OUT" 'admin +admin +- +[0-9]{4}-' "admin is flagged admin"
like "$TC_OUT" 'bob +Bob B\. +token-only' "bob is flagged token-only"
run_ok "user list (alias) --json" tc user list --json
is "$(printf '%s' "$TC_OUT" | jpy '[u["login"] for u in d]')" "['admin', 'bob', 'carol.c_d@example-1']" \
    "--json lists the users in login order"
is "$(printf '%s' "$TC_OUT" | jpy 'sorted(d[0].keys())')" \
    "['created_at', 'departments', 'disabled', 'display_name', 'has_password', 'id', 'is_admin', 'login']" \
    "with typed fields and no hash"
unlike "$TC_OUT" '\$y\$' "no password hash in the listing"

# --- user passwd ------------------------------------------------------------
bob=$(user_col bob id)
q "INSERT INTO sessions (user_id, token_hash, csrf_token, expires_at) VALUES ($bob, 'x', 'y', now() + interval '1 hour')" >/dev/null
q "UPDATE users SET failed_logins = 7, login_blocked_until = now() + interval '1 hour' WHERE id = $bob" >/dev/null
run_ok "user passwd" tc_in 'a new password' user passwd bob --password-stdin
is "$TC_OUT" "changed the password of 'bob'; its sessions were ended" "says what it did"
is "$(user_col bob "password_hash LIKE '\$y\$%' AND failed_logins = 0 AND login_blocked_until IS NULL")" t \
    "sets a hash and lifts the failed-login pause"
is "$(q "SELECT count(*) FROM sessions WHERE user_id = $bob")" 0 "and ends the user's sessions"
is "$(audit_row user.password "$bob" "(before->>'has_password') || '|' || (after->>'has_password') || '|' || (after::text LIKE '%\$y\$%')")" \
    "false|true|false" "writes user.password without the hash"
run_status 2 "user passwd needs --password-stdin" tc user passwd bob
run_status 2 "user passwd refuses a short password" tc_in 'short' user passwd bob --password-stdin
run_status 1 "user passwd of an unknown user is exit 1" tc_in 'long enough' user passwd nobody --password-stdin
is "$TC_OUT" "tablecron: no user named 'nobody'" "naming the user"

# --- user disable / enable ------------------------------------------------------
run_ok "user disable" tc user disable BOB
is "$TC_OUT" "user 'BOB' disabled: its sessions and tokens no longer work" "says what it means"
is "$(user_col bob disabled)" t "the user is disabled (logins in any case)"
is "$(audits user.disable "$bob")" 1 "writes user.disable"
run_ok "disabling again" tc user disable bob
is "$TC_OUT" "user 'bob' was already disabled" "says nothing changed"
is "$(audits user.disable "$bob")" 1 "and writes no second row"
like "$(tc user ls)" 'bob +Bob B\. +disabled' "user ls shows it"
run_ok "user enable" tc user enable bob
is "$(user_col bob disabled)/$(audits user.enable "$bob")" "f/1" "enables the user, with user.enable"
run_status 1 "disabling an unknown user is exit 1" tc user disable nobody
run_status 1 "disabling the last enabled administrator is exit 1" tc user disable admin
is "$TC_OUT" "tablecron: this is the last enabled administrator: make another one first" \
    "saying why and what to do"
is "$(user_col admin disabled)/$(audits user.disable "$(user_col admin id)")" "f/0" \
    "the administrator stays enabled, with no audit row"
run_ok "a second administrator" tc_in 'second admin pw' user add admin2 --admin --password-stdin
run_ok "then the first one can be disabled" tc user disable admin
run_status 1 "but not the second, now the last one" tc user disable admin2
is "$(user_col admin2 disabled)" f "which stays enabled"
run_ok "the first one enabled again" tc user enable admin

# --- dept -------------------------------------------------------------------------
run_ok "dept add" tc dept add ops --description 'Operations team'
ops=$(q "SELECT id FROM departments WHERE name = 'ops'")
is "$TC_OUT" "created department 'ops' (id $ops)" "names the new department"
is "$(audit_row department.create "$ops" "actor || '|' || department_id || '|' || (after->>'description')")" \
    "$me|$ops|Operations team" "writes department.create with its own id as department"
run_ok "a name with spaces is accepted" tc dept add 'Data Team'
run_status 1 "a duplicate name is exit 1" tc dept add ops
is "$TC_OUT" "tablecron: a department named 'ops' already exists" "one clear line"
run_status 2 "a bad name is exit 2" tc dept add -- '-ops'
like "$TC_OUT" "^tablecron: bad department name '-ops': " "naming the rule"
run_ok "dept ls" tc dept ls
like "$TC_OUT" '^ID +NAME +MEMBERS +JOBS +DESCRIPTION' "has a header"
like "$TC_OUT" "$ops +ops +0 +0 +Operations team" "lists ops with its counts"
is "$(tc dept ls --json | jpy '[x["name"] for x in d]')" "['Data Team', 'default', 'ops']" "--json lists them by name"

# --- member -----------------------------------------------------------------------
run_ok "member add" tc member add bob ops viewer
is "$TC_OUT" "added 'bob' to 'ops' as viewer" "says what it did"
is "$(q "SELECT role FROM memberships WHERE user_id = $bob AND department_id = $ops")" viewer "the membership is stored"
is "$(audit_row member.add "$bob" "department_id || '|' || (before IS NULL) || '|' || (after->>'role') || '|' || (after->>'login') || '|' || (after->>'department')")" \
    "$ops|true|viewer|bob|ops" "writes member.add with the department"
run_ok "member add with the same role" tc member add bob ops viewer
is "$TC_OUT|$(audits member.add "$bob")$(audits member.update "$bob")" "'bob' already is viewer in 'ops'|10" \
    "changes and writes nothing"
run_ok "member add with another role" tc member add bob ops manager
is "$TC_OUT" "'bob' is now manager in 'ops'" "changes the role"
is "$(audit_row member.update "$bob" "(before->>'role') || '>' || (after->>'role')")" "viewer>manager" \
    "writes member.update with both roles"
run_status 2 "a bad role is exit 2" tc member add bob ops admin
is "$TC_OUT" "tablecron: bad role 'admin': use viewer, operator or manager" "naming the roles"
run_status 1 "an unknown user is exit 1" tc member add nobody ops viewer
is "$TC_OUT" "tablecron: no user named 'nobody'" "naming the user"
run_status 1 "an unknown department is exit 1" tc member add bob nodept viewer
is "$TC_OUT" "tablecron: no department named 'nodept'" "naming the department"
run_ok "member add admin to Data Team" tc member add admin 'Data Team' operator
run_ok "member ls" tc member ls
like "$TC_OUT" '^DEPARTMENT +LOGIN +ROLE +DISPLAY_NAME +SINCE' "has a header"
like "$TC_OUT" 'ops +bob +manager +Bob B\.' "lists bob in ops"
is "$(tc member ls ops --json | jpy '[(m["department"], m["login"], m["role"]) for m in d]')" \
    "[('ops', 'bob', 'manager')]" "member ls DEPT --json lists that department only"
run_status 1 "member ls of an unknown department is exit 1" tc member ls nodept
run_status 1 "a department name that is not UTF-8 is not found" tc member ls "$(printf 'x\377')"
run_status 1 "nor is such a login" tc member add "$(printf 'x\377')" ops viewer
is "$TC_OUT" "tablecron: no user by that name" "no database error"
like "$(tc user ls)" 'bob +Bob B\. +- +ops:manager' "user ls shows the roles"
run_ok "member rm" tc member rm bob ops
is "$TC_OUT|$(q "SELECT count(*) FROM memberships WHERE user_id = $bob")" "removed 'bob' from 'ops'|0" \
    "removes the membership"
is "$(audit_row member.remove "$bob" "department_id || '|' || (before->>'role') || '|' || (after IS NULL)")" \
    "$ops|manager|true" "writes member.remove with the old role"
run_status 1 "removing a non-member is exit 1" tc member rm bob ops
is "$TC_OUT" "tablecron: 'bob' is not a member of 'ops'" "one clear line"

# --- token create / ls --------------------------------------------------------------
token=$(tc token create bob --name 'deploy bot' --expires 30d 2>"$TC_TMP/note")
is "$?" 0 "token create exits 0"
like "$token" '^tc_[A-Za-z0-9_-]{43}$' "prints the token alone on stdout"
tid=$(q "SELECT id FROM api_tokens WHERE name = 'deploy bot'")
is "$(cat "$TC_TMP/note")" "token $tid for 'bob' created; it is shown only this once: keep it now" \
    "and a note on stderr that it is shown once"
is "$(q "SELECT token_hash = encode(sha256(convert_to('$token', 'UTF8')), 'hex') AND token_prefix = '${token:0:8}' AND user_id = $bob FROM api_tokens WHERE id = $tid")" \
    t "only its SHA-256 and first 8 characters are stored"
is "$(q "SELECT expires_at BETWEEN now() + interval '30 days' - interval '1 minute' AND now() + interval '30 days' FROM api_tokens WHERE id = $tid")" \
    t "--expires 30d sets the expiry"
is "$(audit_row token.create "$tid" "actor || '|' || (after->>'name') || '|' || (after->>'token_prefix') || '|' || (after->>'login')")" \
    "$me|deploy bot|${token:0:8}|bob" "writes token.create with the prefix"
is "$(q "SELECT count(*) FROM audit_log WHERE concat(before::text, after::text) LIKE '%${token:8}%' OR concat(before::text, after::text) LIKE '%token_hash%'")" \
    0 "neither the token nor its hash is in the audit log"
tok2=$(tc token create admin 2>/dev/null)
is "$(q "SELECT name || '|' || (expires_at IS NULL) FROM api_tokens WHERE token_prefix = '${tok2:0:8}'")" "|true" \
    "a token without --name and --expires has neither"
run_status 2 "a bad --expires is exit 2" tc token create bob --expires soon
like "$TC_OUT" "^tablecron: token create: bad --expires 'soon': " "naming the option"
run_status 2 "a zero --expires is exit 2" tc token create bob --expires 0s
run_status 1 "a token for an unknown user is exit 1" tc token create nobody
run_ok "token ls" tc token ls
like "$TC_OUT" '^ID +LOGIN +NAME +PREFIX +CREATED +EXPIRES +LAST_USED +STATE' "has a header"
like "$TC_OUT" "$tid +bob +deploy bot +${token:0:8} " "lists the token by its prefix"
unlike "$TC_OUT" "${token:8}" "never the token"
is "$(tc token ls bob --json | jpy '[(t["id"], t["state"], sorted(t.keys())) for t in d]')" \
    "[($tid, 'active', ['created_at', 'expires_at', 'id', 'last_used_at', 'login', 'name', 'revoked_at', 'state', 'token_prefix', 'user_id'])]" \
    "token ls LOGIN --json: that user's tokens, no hash"
run_status 1 "token ls of an unknown user is exit 1" tc token ls nobody

# --- the token against the API --------------------------------------------------------
start_bg "$TC_TMP/serve.log" "$TABLECRON" serve --no-scheduler --instance-id acc
started() { [ -n "$(tc_api_url "$TC_TMP/serve.log")" ]; }
wait_until 15 started || { echo "Bail out! serve did not start: $(tail -n 5 "$TC_TMP/serve.log")"; exit 1; }
url=$(tc_api_url "$TC_TMP/serve.log")
me_as() { curl -s -o "$TC_TMP/me.json" -w '%{http_code}' -H "Authorization: Bearer $1" "$url/api/v1/me"; }
is "$(me_as "$token")" 200 "the new token works against the API"
is "$(jpy 'd["login"] + "|" + d["auth"]' <"$TC_TMP/me.json")" "bob|token" "as its user"
is "$(q "SELECT last_used_at IS NOT NULL FROM api_tokens WHERE id = $tid")" t "its use is noted"
run_ok "user disable" tc user disable bob
is "$(me_as "$token")" 401 "a disabled user's token stops working"
run_ok "user enable" tc user enable bob
is "$(me_as "$token")" 200 "and works again once enabled"
run_status 1 "a token for a disabled user is refused" sh -c "'$TABLECRON' user disable bob >/dev/null && '$TABLECRON' token create bob"
is "$TC_OUT" "tablecron: the user is disabled: enable it first" "naming why"
tc user enable bob >/dev/null

# --- token revoke -----------------------------------------------------------------------
run_ok "token revoke" tc token revoke "$tid"
is "$TC_OUT" "revoked token $tid: it no longer works" "says what it did"
is "$(me_as "$token")" 401 "the revoked token stops working at once"
is "$(audit_row token.revoke "$tid" "(before->>'revoked_at' IS NULL) || '|' || (after->>'revoked_at' IS NOT NULL)")" \
    "true|true" "writes token.revoke"
run_ok "revoking again" tc token revoke "$tid"
is "$TC_OUT|$(audits token.revoke "$tid")" "token $tid was already revoked|1" "changes and writes nothing"
is "$(tc token ls bob --json | jpy 'd[0]["state"]')" revoked "token ls shows it revoked"
run_status 2 "a bad token id is exit 2" tc token revoke abc
run_status 1 "an unknown token id is exit 1" tc token revoke 999999
is "$TC_OUT" "tablecron: no token 999999" "one clear line"

done_testing
