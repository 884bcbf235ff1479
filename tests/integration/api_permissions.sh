# api_permissions.sh - the permission matrix: every route of src/api_routes.c
# driven as anonymous, viewer, operator and manager of department A,
# manager of department B and admin, each status checked against the table
# below; listings filtered to the caller's departments; 404 (never 403) for
# another department's ids; session cookies need the CSRF header for
# changes; bad, revoked and expired tokens; moving a job between
# departments; and the OpenAPI document matches the route table.
. "$TC_SRCDIR/tests/lib.sh"
. "$TC_SRCDIR/tests/api_lib.sh"
api_need_tools

"$TABLECRON" migrate >/dev/null 2>&1 || api_bail "migrate failed"
api_fixtures
api_start perm

# --- the matrix -----------------------------------------------------------
# One line per route (and target), one column per caller: the status that
# caller must get.  Every route of src/api_routes.c needs at least one line,
# and every line must be a route (both checked below).  Placeholders:
#   {id:jobA} 51, {id:jobB} 52 (jobs of A and B); {id:execA} 61, {id:execB} 62;
#   {id:deptA} 11, {id:deptB} 12; {id:chanA} 91, {id:chanB} 92 (alert channels
#   of A and B), {id:chanA2} 95 (one of A no rule uses); {id:ruleA} 93, {id:ruleB}
#   94 (alert rules); {id:ownspare}: a spare token of the caller;
#   {id:viewerspare}: a_viewer's spare token; {login:NAME}: that user.
# BODY names a request body (matrix_body below; "-": none).  PREP puts the
# fixtures back before the request and prepares them: reset, running (both
# jobs running, leased elsewhere), paused; "-" for requests that change
# nothing (they still run on the fixtures as they were).  So no cell
# depends on the order of the lines.
CALLERS=(anon a_viewer a_operator a_manager b_manager admin)
MATRIX=$(cat <<'EOF'
# METHOD PATH                                             BODY      PREP     anon viewA operA mgrA mgrB admin
GET    /healthz                                           -         -        200  200   200   200  200  200
GET    /readyz                                            -         -        200  200   200   200  200  200
GET    /metrics                                           -         -        200  200   200   200  200  200
GET    /api/v1/openapi.json                               -         -        200  200   200   200  200  200
POST   /api/v1/login                                      login     reset    200  200   200   200  200  200
POST   /api/v1/logout                                     -         reset    401  204   204   204  204  204
GET    /api/v1/me                                         -         -        401  200   200   200  200  200

GET    /api/v1/jobs                                       -         -        401  200   200   200  200  200
POST   /api/v1/jobs                                       newjobA   reset    401  403   403   201  404  201
POST   /api/v1/jobs                                       newjobB   reset    401  404   404   404  201  201
GET    /api/v1/jobs/{id:jobA}                             -         -        401  200   200   200  404  200
GET    /api/v1/jobs/{id:jobB}                             -         -        401  404   404   404  200  200
PATCH  /api/v1/jobs/{id:jobA}                             editjob   reset    401  403   403   200  404  200
PATCH  /api/v1/jobs/{id:jobB}                             editjob   reset    401  404   404   404  200  200
PATCH  /api/v1/jobs/{id:jobA}                             moveToB   reset    401  403   403   404  404  200
DELETE /api/v1/jobs/{id:jobA}                             -         reset    401  403   403   204  404  204
DELETE /api/v1/jobs/{id:jobB}                             -         reset    401  404   404   404  204  204
POST   /api/v1/jobs/{id:jobA}/run                         -         reset    401  403   200   200  404  200
POST   /api/v1/jobs/{id:jobB}/run                         -         reset    401  404   404   404  200  200
POST   /api/v1/jobs/{id:jobA}/pause                       -         reset    401  403   200   200  404  200
POST   /api/v1/jobs/{id:jobB}/pause                       -         reset    401  404   404   404  200  200
POST   /api/v1/jobs/{id:jobA}/resume                      -         paused   401  403   200   200  404  200
POST   /api/v1/jobs/{id:jobB}/resume                      -         paused   401  404   404   404  200  200
POST   /api/v1/jobs/{id:jobA}/kill                        -         running  401  403   200   200  404  200
POST   /api/v1/jobs/{id:jobB}/kill                        -         running  401  404   404   404  200  200
GET    /api/v1/jobs/{id:jobA}/dependencies                -         -        401  200   200   200  404  200
GET    /api/v1/jobs/{id:jobB}/dependencies                -         -        401  404   404   404  200  200
POST   /api/v1/jobs/{id:jobA}/dependencies                depjob    reset    401  403   403   404  404  200
PUT    /api/v1/jobs/{id:jobA}/dependencies                depsnone  deps     401  403   403   200  404  200
DELETE /api/v1/jobs/{id:jobA}/dependencies/{login:job-b}  -         deps     401  403   403   204  404  204
GET    /api/v1/jobs/{id:jobA}/workflow                    -         deps     401  200   200   200  404  200

GET    /api/v1/executions                                 -         -        401  200   200   200  200  200
GET    /api/v1/executions/{id:execA}                      -         -        401  200   200   200  404  200
GET    /api/v1/executions/{id:execB}                      -         -        401  404   404   404  200  200
POST   /api/v1/executions/{id:execA}/progress             progress  reset    401  401   401   401  401  401
GET    /api/v1/instances                                  -         -        401  200   200   200  200  200
GET    /api/v1/cron/next?expr=0%203%20*%20*%20*&count=3   -         -        401  200   200   200  200  200
GET    /api/v1/dashboard?hours=3                          -         -        401  200   200   200  200  200

GET    /api/v1/departments                                -         -        401  200   200   200  200  200
POST   /api/v1/departments                                newdept   reset    401  403   403   403  403  201
PUT    /api/v1/departments/{id:deptA}/members/{login:c_user}   member  reset  401  403   403   201  404  201
PUT    /api/v1/departments/{id:deptB}/members/{login:c_user}   member  reset  401  404   404   404  201  201
PUT    /api/v1/departments/{id:deptA}/members/{login:a_extra}  member2 reset  401  403   403   200  404  200
DELETE /api/v1/departments/{id:deptA}/members/{login:a_extra}  -       reset  401  403   403   204  404  204
DELETE /api/v1/departments/{id:deptB}/members/{login:b_extra}  -       reset  401  404   404   404  204  204
GET    /api/v1/users                                      -         -        401  403   403   200  200  200
POST   /api/v1/users                                      newuser   reset    401  403   403   403  403  201
GET    /api/v1/tokens                                     -         -        401  200   200   200  200  200
POST   /api/v1/tokens                                     newtoken  reset    401  201   201   201  201  201
DELETE /api/v1/tokens/{id:ownspare}                       -         reset    401  204   204   204  204  204
DELETE /api/v1/tokens/{id:viewerspare}                    -         reset    401  204   404   404  404  204
GET    /api/v1/audit                                      -         -        401  200   200   200  200  200

GET    /api/v1/alert-channels                             -         -        401  200   200   200  200  200
POST   /api/v1/alert-channels                             newchan   reset    401  403   403   201  404  201
GET    /api/v1/alert-channels/{id:chanA}                  -         -        401  200   200   200  404  200
GET    /api/v1/alert-channels/{id:chanB}                  -         -        401  404   404   404  200  200
PATCH  /api/v1/alert-channels/{id:chanA}                  editchan  reset    401  403   403   200  404  200
DELETE /api/v1/alert-channels/{id:chanA}                  -         reset    401  403   403   409  404  409
DELETE /api/v1/alert-channels/{id:chanA2}                 -         reset    401  403   403   204  404  204
POST   /api/v1/alert-channels/{id:chanA}/test             -         reset    401  403   202   202  404  202
GET    /api/v1/alert-rules                                -         -        401  200   200   200  200  200
POST   /api/v1/alert-rules                                newrule   reset    401  403   403   201  404  201
GET    /api/v1/alert-rules/{id:ruleA}                     -         -        401  200   200   200  404  200
GET    /api/v1/alert-rules/{id:ruleB}                     -         -        401  404   404   404  200  200
PATCH  /api/v1/alert-rules/{id:ruleA}                     editrule  reset    401  403   403   200  404  200
DELETE /api/v1/alert-rules/{id:ruleA}                     -         reset    401  403   403   204  404  204
GET    /api/v1/alerts                                     -         -        401  200   200   200  200  200
EOF
)

job_version() { sq "SELECT version FROM jobs WHERE id = $1"; }

# matrix_body NAME PATH: the request body NAME for PATH ("" for none).
matrix_body() {
    local id=${2#/api/v1/jobs/}
    id=${id%%/*}
    case $1 in
    -) ;;
    login) printf '{"login": "a_operator", "password": "%s"}' "$API_PASSWORD" ;;
    newjobA) echo '{"name": "matrix-new", "department": "A", "schedule": "0 5 * * *", "kind": "shell", "config": {"command": "true"}}' ;;
    newjobB) echo '{"name": "matrix-new", "department": "B", "schedule": "0 5 * * *", "kind": "shell", "config": {"command": "true"}}' ;;
    editjob) printf '{"version": %s, "description": "edited by the matrix"}' "$(job_version "$id")" ;;
    moveToB) printf '{"version": %s, "department": "B"}' "$(job_version "$id")" ;;
    newdept) echo '{"name": "C", "description": "made by the matrix"}' ;;
    member) echo '{"role": "viewer"}' ;;
    member2) echo '{"role": "operator"}' ;;
    progress) echo '{"progress": 50, "message": "half way"}' ;;
    newuser) echo '{"login": "matrix-user", "display_name": "Matrix", "password": "a long password"}' ;;
    newtoken) echo '{"name": "matrix token"}' ;;
    newchan) echo '{"name": "matrix-chan", "department": "A", "kind": "webhook", "url": "http://127.0.0.1:9/m"}' ;;
    editchan) echo '{"name": "renamed", "template": "slack"}' ;;
    newrule) echo '{"department": "A", "channel": 91, "events": ["failed", "no_success"], "no_success_s": 600}' ;;
    editrule) echo '{"enabled": false, "repeat_interval_s": 60}' ;;
    depjob) echo '{"upstream": "job-b", "condition": "always"}' ;;
    depsnone) echo '{"upstreams": []}' ;;
    *) echo "unknown body $1" >&2 ;;
    esac
}

# matrix_path PATH CALLER: the placeholders replaced.
matrix_path() {
    local p=$1 own=${API_SPARE_ID[$2]:-${API_SPARE_ID[admin]}}
    p=${p//\{id:jobA\}/51}
    p=${p//\{id:jobB\}/52}
    p=${p//\{id:execA\}/61}
    p=${p//\{id:execB\}/62}
    p=${p//\{id:deptA\}/11}
    p=${p//\{id:deptB\}/12}
    p=${p//\{id:chanA\}/91}
    p=${p//\{id:chanB\}/92}
    p=${p//\{id:chanA2\}/95}
    p=${p//\{id:ruleA\}/93}
    p=${p//\{id:ruleB\}/94}
    p=${p//\{id:ownspare\}/$own}
    p=${p//\{id:viewerspare\}/${API_SPARE_ID[a_viewer]}}
    printf '%s' "$p" | sed 's/{login:\([^}]*\)}/\1/g'
}

# matrix_prep PREP: the fixtures as the request needs them.
matrix_prep() {
    case $1 in
    -) ;;
    reset) api_reset ;;
    paused) api_reset "UPDATE jobs SET status = 'paused'" ;;
    deps) api_reset "INSERT INTO job_dependencies (downstream_id, upstream_id) VALUES (51, 52)" ;;
    running) api_reset "UPDATE jobs SET status = 'running', lease_owner = 'elsewhere',
                            lease_until = now() + interval '1 hour', next_time = now()" ;;
    *) echo "unknown prep $1" >&2; return 1 ;;
    esac
}

# The route a matrix line drives: placeholders back to {id}/{login}, no query.
matrix_route() {
    printf '%s %s' "$1" "$2" | sed -e 's/?.*//' -e 's/{id:[^}]*}/{id}/g' -e 's/{login:[^}]*}/{login}/g'
}

# --- every route has a line, every line a route -----------------------------
api_routes_table >"$TC_TMP/routes"
is "$(wc -l <"$TC_TMP/routes")" "$(grep -c '^[[:space:]]*{[[:space:]]*"[A-Z]' "$TC_SRCDIR/src/api_routes.c")" \
    "every line of the route table is understood by this test"
printf '%s\n' "$MATRIX" | while read -r method path _; do
    case $method in '' | '#'*) continue ;; esac
    matrix_route "$method" "$path"
    echo
done | sort -u >"$TC_TMP/matrix-routes"
cut -d' ' -f1,2 "$TC_TMP/routes" | sort -u >"$TC_TMP/table-routes"
is "$(comm -23 "$TC_TMP/table-routes" "$TC_TMP/matrix-routes" | tr '\n' ';')" "" \
    "every route of src/api_routes.c has a line in the matrix"
is "$(comm -13 "$TC_TMP/table-routes" "$TC_TMP/matrix-routes" | tr '\n' ';')" "" \
    "every line of the matrix is a route of src/api_routes.c"

# --- drive it ------------------------------------------------------------------
# Each answer other than 2xx is kept (cells/N) for one check of the error shape.
# Each 2xx answer with a body is kept (answers/N) to be checked against the
# schema docs/openapi.json gives it.
mkdir "$TC_TMP/cells" "$TC_TMP/answers"
ncell=0 nok=0 dirty=0
while read -r method path body prep rest; do
    case $method in '' | '#'*) continue ;; esac
    read -ra want <<<"$rest"
    if [ "${#want[@]}" != "${#CALLERS[@]}" ]; then
        fail "matrix line '$method $path' has ${#want[@]} statuses, not ${#CALLERS[@]}"
        continue
    fi
    for i in "${!CALLERS[@]}"; do
        who=${CALLERS[$i]}
        # A line without PREP runs on the fixtures too: put back what the
        # previous change left.
        if [ "$prep" = - ] && [ "$dirty" = 1 ]; then api_reset; fi
        matrix_prep "$prep" || api_bail "cannot prepare '$prep'"
        dirty=$([ "$prep" = - ] && echo 0 || echo 1)
        p=$(matrix_path "$path" "$who")
        api "$who" "$method" "$p" "$(matrix_body "$body" "$p")"
        desc="$method $p ($body) as $who: ${want[$i]}"
        case $API_CODE in
        2??) nok=$((nok + 1))
             [ -s "$TC_TMP/api.body" ] && cp "$TC_TMP/api.body" "$TC_TMP/answers/$nok" &&
                 printf '%s %s %s\n' "$method" "$(matrix_route "$method" "$path" | cut -d' ' -f2)" \
                     "$API_CODE" >"$TC_TMP/answers/$nok.route" ;;
        *) ncell=$((ncell + 1)); cp "$TC_TMP/api.body" "$TC_TMP/cells/$ncell"
           printf '%s\n' "$desc" >"$TC_TMP/cells/$ncell.desc" ;;
        esac
        is "$API_CODE" "${want[$i]}" "$desc"
        [ "$API_CODE" = "${want[$i]}" ] || echo "#   body: ${API_BODY:0:300}"
    done
done <<<"$MATRIX"
api_reset
shapes=$(apy -c '
import json, os, sys
d = sys.argv[1]
for name in sorted(os.listdir(d)):
    if name.endswith(".desc"): continue
    raw = open(os.path.join(d, name), "rb").read()
    try:
        e = json.loads(raw)
        assert isinstance(e, dict) and list(e) == ["error"]
        e = e["error"]
        assert isinstance(e.get("code"), str) and e["code"]
        assert isinstance(e.get("message"), str) and e["message"]
        assert isinstance(e.get("field", ""), str)
    except Exception:
        print("%s: %r" % (open(os.path.join(d, name + ".desc")).read().strip(), raw[:200]))
' "$TC_TMP/cells")
is "$shapes" "" "every answer of the matrix other than 2xx ($ncell) is {\"error\": {\"code\", \"message\"[, \"field\"]}}"

# --- listings show the caller's departments only ----------------------------------
# ids EXPR: the sorted ids of the listing's items (the items are the
# document itself or its "items" member).
items='(d["items"] if isinstance(d, dict) and "items" in d else d)'
listed() { api "$1" GET "$2"; jpy "' '.join(str(x) for x in sorted(i[\"$3\"] for i in $items))"; }
is "$(listed a_viewer /api/v1/jobs id)" "51" "a viewer of A lists the jobs of A only"
is "$(listed b_manager /api/v1/jobs id)" "52" "a manager of B lists the jobs of B only"
is "$(listed admin /api/v1/jobs id)" "51 52" "an admin lists every job"
is "$(listed c_user /api/v1/jobs id)" "" "a user of no department lists no job"
is "$(listed a_viewer /api/v1/executions id)" "61 63" "a viewer of A lists the executions of A only"
is "$(listed b_manager /api/v1/executions id)" "62" "a manager of B lists the executions of B only"
is "$(listed admin /api/v1/executions id)" "61 62 63" "an admin lists every execution"
is "$(listed a_viewer '/api/v1/executions?job=52' id)" "" "filtering on another department's job lists nothing"
is "$(listed a_viewer '/api/v1/executions?department=12' id)" "" "filtering on another department lists nothing"
is "$(listed a_viewer /api/v1/departments name)" "A" "a viewer of A lists department A only"
is "$(listed ab_mover /api/v1/departments name)" "A B" "a member of A and B lists both"
is "$(listed admin /api/v1/departments name)" "A B default" "an admin lists every department"
is "$(listed a_viewer /api/v1/audit id)" "71" "a viewer of A reads the audit rows of A only"
is "$(listed b_manager /api/v1/audit id)" "72" "a manager of B reads the audit rows of B only"
is "$(listed a_viewer /api/v1/alert-channels id)" "91 95" "a viewer of A lists the alert channels of A only"
is "$(listed b_manager /api/v1/alert-rules id)" "94" "a manager of B lists the alert rules of B only"
is "$(listed admin /api/v1/alert-rules id)" "93 94" "an admin lists every alert rule"
is "$(listed a_viewer /api/v1/tokens id)" "${API_TOKEN_ID[a_viewer]} ${API_SPARE_ID[a_viewer]}" \
    "a user lists their own tokens only"
api a_manager GET /api/v1/users
is "$(jpy '" ".join(sorted({k for i in d["items"] for k in i}))')" "display_name id login" \
    "a manager lists users by id, login and display name only (to add members)"
api admin GET /api/v1/users
like "$(jpy '" ".join(sorted(d["items"][0]))')" '\bdepartments\b.*\bis_admin\b' "an admin lists users in full"
unlike "$API_BODY" 'password_hash|\$y\$|\$6\$' "but never their password hashes"
api a_viewer GET /api/v1/tokens
unlike "$API_BODY" 'tok-a_viewer|token_hash|[0-9a-f]{64}' "token listings never show a token or its hash"

# --- 404 for what does not exist looks like 404 for what is not visible ---------
api a_viewer GET /api/v1/jobs/52; c1="$API_CODE $(jpy 'd["error"]["code"]')"
api a_viewer GET /api/v1/jobs/999999; c2="$API_CODE $(jpy 'd["error"]["code"]')"
is "$c1" "$c2" "another department's job answers like a job that does not exist"
api a_viewer GET /api/v1/executions/62; c1="$API_CODE $(jpy 'd["error"]["code"]')"
api a_viewer GET /api/v1/executions/999999; c2="$API_CODE $(jpy 'd["error"]["code"]')"
is "$c1" "$c2" "another department's execution answers like one that does not exist"
api a_manager POST /api/v1/jobs '{"name": "probe", "department": "B", "schedule": "@hourly", "kind": "shell", "config": {"command": "true"}}'
c1=$API_CODE
api a_manager POST /api/v1/jobs '{"name": "probe", "department": "nosuch", "schedule": "@hourly", "kind": "shell", "config": {"command": "true"}}'
is "$c1" "$API_CODE" "creating in another department answers like creating in none"
is "$(sq "SELECT count(*) FROM jobs WHERE name = 'probe'")" 0 "and creates nothing"

# --- moving a job needs manager rights in both departments ------------------------
api_reset
api ab_mover PATCH /api/v1/jobs/51 "$(matrix_body moveToB /api/v1/jobs/51)"
is "$API_CODE $(sq 'SELECT department_id FROM jobs WHERE id = 51')" "403 11" \
    "a manager of A who only views B cannot move a job of A to B"
api ab_manager PATCH /api/v1/jobs/51 "$(matrix_body moveToB /api/v1/jobs/51)"
is "$API_CODE $(sq 'SELECT department_id FROM jobs WHERE id = 51')" "200 12" \
    "a manager of A and B moves a job of A to B"
api a_manager GET /api/v1/jobs/51
is "$API_CODE" 404 "after the move, a manager of A no longer sees the job"
api_reset

# --- session cookies: changes need the CSRF header ----------------------------------
api cookie:cookie-operator GET /api/v1/me
is "$API_CODE $(jpy 'd["login"]')" "200 a_operator" "a session cookie signs in a GET without the CSRF header"
api cookie:cookie-operator POST /api/v1/jobs/51/pause
is "$API_CODE $(jpy 'd["error"]["code"]') $(sq 'SELECT status FROM jobs WHERE id = 51')" "403 csrf waiting" \
    "a change with a session cookie and no X-CSRF-Token is refused and changes nothing"
api cookie:cookie-operator:wrong-token POST /api/v1/jobs/51/pause
is "$API_CODE $(sq 'SELECT status FROM jobs WHERE id = 51')" "403 waiting" "so is one with a wrong X-CSRF-Token"
api cookie:cookie-operator:csrf-operator POST /api/v1/jobs/51/pause
is "$API_CODE $(sq 'SELECT status FROM jobs WHERE id = 51')" "200 paused" "with its X-CSRF-Token the change is made"
api cookie:cookie-operator:csrf-operator POST /api/v1/jobs/52/pause
is "$API_CODE" 404 "a session has its user's rights only"
api cookie:no-such-session:x POST /api/v1/jobs/51/resume
is "$API_CODE" 401 "an unknown session cookie is anonymous"
sq "UPDATE sessions SET expires_at = now() - interval '1 second' WHERE id = 81" >/dev/null
api cookie:cookie-operator GET /api/v1/me
is "$API_CODE" 401 "an expired session is anonymous"
api_reset

# The cookie of a real login.
api anon POST /api/v1/login "$(matrix_body login)"
setcookie=$(grep -i '^Set-Cookie:' "$TC_TMP/api.headers" | tr -d '\r')
like "$setcookie" '^Set-Cookie: tablecron_session=[^;]{20,}; .*HttpOnly' "login sets an HttpOnly session cookie"
like "$setcookie" 'SameSite=Strict' "with SameSite=Strict"
cookie=$(printf '%s' "$setcookie" | sed 's/^Set-Cookie: tablecron_session=\([^;]*\);.*/\1/')
csrf=$(jpy 'd["csrf_token"]')
api "cookie:$cookie" POST /api/v1/jobs/51/pause
is "$API_CODE" 403 "the login's session needs its CSRF token for a change"
api "cookie:$cookie:$csrf" POST /api/v1/jobs/51/pause
is "$API_CODE" 200 "and makes the change with it"
api "cookie:$cookie:$csrf" POST /api/v1/logout
is "$API_CODE" 204 "logout with the session"
api "cookie:$cookie" GET /api/v1/me
is "$API_CODE" 401 "the session is gone after logout"
api anon POST /api/v1/login '{"login": "a_operator", "password": "wrong"}'
is "$API_CODE $(jpy 'd["error"]["code"]')" "401 bad_login" "a wrong password does not log in"
api anon POST /api/v1/login '{"login": "a_viewer", "password": ""}'
is "$API_CODE" 401 "a token-only user cannot log in with a password"
api_reset

# --- tokens -----------------------------------------------------------------------
bearer() { curl -s -o /dev/null -w '%{http_code}' -H "Authorization: $1" "$API_URL/api/v1/me"; }
is "$(bearer 'Bearer not-a-token')" 401 "an unknown bearer token is refused"
is "$(bearer 'Bearer ')" 401 "an empty bearer token is refused"
is "$(bearer 'bearer tok-a_viewer')" 200 "the scheme is case-insensitive"
sq "UPDATE api_tokens SET revoked_at = now() WHERE id = ${API_TOKEN_ID[a_viewer]}" >/dev/null
is "$(bearer 'Bearer tok-a_viewer')" 401 "a revoked token is refused"
sq "UPDATE api_tokens SET expires_at = now() - interval '1 second' WHERE id = ${API_TOKEN_ID[a_operator]}" >/dev/null
is "$(bearer 'Bearer tok-a_operator')" 401 "an expired token is refused"
sq "UPDATE users SET disabled = true WHERE login = 'a_manager'" >/dev/null
is "$(bearer 'Bearer tok-a_manager')" 401 "a disabled user's token is refused"
api_reset
api a_viewer DELETE "/api/v1/tokens/${API_TOKEN_ID[a_viewer]}"
is "$API_CODE $(bearer 'Bearer tok-a_viewer')" "204 401" "a token revoked through the API stops working at once"
api_reset

# --- a long-running task's report: its secret, not a user ---------------------------
report() { curl -s -o "$TC_TMP/api.body" -w '%{http_code}' -X POST -H "X-Tablecron-Token: $2" \
    -H 'Content-Type: application/json' --data-binary '{"progress": 10}' "$API_URL/api/v1/executions/$1/progress"; }
is "$(report 63 callback-secret) $(sq 'SELECT progress FROM executions WHERE id = 63')" "200 10" \
    "a report with the execution's secret needs no user"
is "$(report 63 wrong-secret)" 404 "a wrong secret answers 404"
is "$(report 62 callback-secret)" 404 "one execution's secret does not open another"
api_reset

# --- the OpenAPI document -------------------------------------------------------------
doc=$TC_SRCDIR/docs/openapi.json
run_ok "docs/openapi.json is valid JSON" apy -m json.tool "$doc"
api anon GET /api/v1/openapi.json
if cmp -s "$doc" "$TC_TMP/api.body"; then pass "GET /api/v1/openapi.json serves docs/openapi.json byte for byte"
else fail "GET /api/v1/openapi.json serves docs/openapi.json byte for byte" "got $API_CODE, $(wc -c <"$TC_TMP/api.body") bytes"; fi
like "$(grep -i '^Content-Type:' "$TC_TMP/api.headers")" 'application/json' "as application/json"
apy -c '
import json, sys
doc = json.load(open(sys.argv[1]))
for path, item in doc["paths"].items():
    for method in item:
        if method in ("get", "put", "post", "delete", "patch", "head", "options"):
            print(method.upper(), path)' "$doc" | sort -u >"$TC_TMP/openapi-routes"
is "$(comm -23 "$TC_TMP/table-routes" "$TC_TMP/openapi-routes" | tr '\n' ';')" "" \
    "every route of src/api_routes.c is in docs/openapi.json"
is "$(comm -13 "$TC_TMP/table-routes" "$TC_TMP/openapi-routes" | tr '\n' ';')" "" \
    "every operation of docs/openapi.json is a route of src/api_routes.c"
openapi_problems=$(apy -c '
import json, sys
doc = json.load(open(sys.argv[1]))
bad = []
if not str(doc.get("openapi", "")).startswith("3."): bad.append("openapi is not 3.x")
for name in ("bearerAuth", "cookieAuth", "csrfHeader"):
    if name not in doc.get("components", {}).get("securitySchemes", {}): bad.append("no security scheme " + name)
if "Error" not in doc.get("components", {}).get("schemas", {}): bad.append("no Error schema")
def resolve(x):
    while isinstance(x, dict) and "$ref" in x:
        node = doc
        for part in x["$ref"].lstrip("#/").split("/"): node = node[part]
        x = node
    return x
for path, item in doc["paths"].items():
    for method, op in item.items():
        if method == "parameters": continue
        if "operationId" not in op: bad.append("%s %s: no operationId" % (method, path))
        if not op.get("responses"): bad.append("%s %s: no responses" % (method, path))
        for code, r in op.get("responses", {}).items():
            r = resolve(r)
            if "description" not in r: bad.append("%s %s %s: no description" % (method, path, code))
        names = {resolve(p)["name"] for p in item.get("parameters", []) + op.get("parameters", []) if resolve(p).get("in") == "path"}
        for want in [seg[1:-1] for seg in path.split("/") if seg.startswith("{")]:
            if want not in names: bad.append("%s %s: path parameter %s undeclared" % (method, path, want))
print("; ".join(bad))' "$doc")
is "$openapi_problems" "" "docs/openapi.json declares operation ids, responses, path parameters, security schemes and the error shape"

# The 2xx answers of the matrix against the document's schemas (OpenAPI 3.0:
# type, nullable, enum, required, properties, additionalProperties, items,
# oneOf, $ref).
mismatches=$(apy -c '
import json, os, sys
doc = json.load(open(sys.argv[1]))
def resolve(x):
    while isinstance(x, dict) and "$ref" in x:
        node = doc
        for part in x["$ref"].lstrip("#/").split("/"):
            node = node[part]
        x = node
    return x
TYPES = {"object": dict, "array": list, "string": str, "boolean": bool}
def check(v, sch, at):
    sch = resolve(sch)
    if v is None:
        return [] if sch.get("nullable") else ["%s: null" % at]
    if "oneOf" in sch:
        return [] if any(not check(v, alt, at) for alt in sch["oneOf"]) else ["%s: none of oneOf" % at]
    t = sch.get("type")
    if t in ("integer", "number"):
        ok = isinstance(v, int) and not isinstance(v, bool) or (t == "number" and isinstance(v, float))
    else:
        ok = t is None or isinstance(v, TYPES[t])
    if not ok:
        return ["%s: %s is not %s" % (at, json.dumps(v)[:40], t)]
    errs = []
    if "enum" in sch and v not in sch["enum"]:
        errs.append("%s: %r not in %s" % (at, v, sch["enum"]))
    if t == "object":
        props = sch.get("properties", {})
        errs += ["%s: no %s" % (at, k) for k in sch.get("required", []) if k not in v]
        for k, x in v.items():
            if k in props:
                errs += check(x, props[k], at + "." + k)
            elif sch.get("additionalProperties", True) is False:
                errs.append("%s: undocumented %s" % (at, k))
    if t == "array":
        for i, x in enumerate(v):
            errs += check(x, sch.get("items", {}), "%s[%d]" % (at, i))
    return errs
d = sys.argv[2]
for name in sorted(os.listdir(d)):
    if name.endswith(".route"):
        continue
    method, path, status = open(os.path.join(d, name + ".route")).read().split()
    try:
        content = resolve(doc["paths"][path][method.lower()]["responses"][status])["content"]
    except KeyError:
        print("%s %s %s: not in docs/openapi.json" % (method, path, status))
        continue
    if "application/json" not in content:
        continue  # /metrics: text
    schema = content["application/json"]["schema"]
    for e in check(json.load(open(os.path.join(d, name))), schema, "body")[:3]:
        print("%s %s %s: %s" % (method, path, status, e))
' "$doc" "$TC_TMP/answers" | sort -u)
is "$mismatches" "" "the $nok 2xx answers of the matrix match their schemas in docs/openapi.json"

api_healthy "the server is up and logged no 5xx answer"
plan "$tap_n"
done_testing
