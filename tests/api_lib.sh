# api_lib.sh - helpers of the API acceptance tests (bash), sourced after
# tests/lib.sh:
#
#   . "$TC_SRCDIR/tests/lib.sh"
#   . "$TC_SRCDIR/tests/api_lib.sh"
#   api_fixtures                       # departments A, B, users, tokens, jobs...
#   api_start web                      # tablecron serve, URL in $API_URL
#   api a_viewer GET /api/v1/jobs      # status in $API_CODE, body in $API_BODY
#
# Callers are logins of the fixtures: their bearer token is "tok-LOGIN";
# "anon" sends no credentials; "cookie:SECRET[:CSRF]" sends a session cookie
# (and the X-CSRF-Token header when CSRF is given).  The requests go through
# curl; JSON is read with python3.

# The API is on 127.0.0.1: never through a proxy.
export no_proxy=127.0.0.1,localhost NO_PROXY=127.0.0.1,localhost
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY

api_bail() {
    echo "Bail out! $*"
    exit 1
}

api_need_tools() {
    local tool missing=
    for tool in curl python3 "$@"; do
        command -v "$tool" >/dev/null 2>&1 || missing="$missing $tool"
    done
    [ -z "$missing" ] || api_bail "missing tools:$missing"
    # The interpreter itself, not a wrapper in front of it (pyenv's shims
    # cost 0.1 s a call, and the tests call it hundreds of times).
    API_PYTHON=$(python3 -c 'import sys; print(sys.executable)') && [ -x "$API_PYTHON" ] ||
        API_PYTHON=python3
}

# apy ARGS...: python3 with the standard library only (no site packages:
# ten times quicker to start).
apy() { "$API_PYTHON" -I -S "$@"; }

# --- the fixtures -------------------------------------------------------
# Fixed ids, all below 100; the identity sequences start at 1000 (api_fixtures
# moves them once), so rows the API creates never collide with them.
#   departments 11 A, 12 B (1 is "default")
#   users 21 admin (is_admin), 22 a_manager, 23 a_operator, 24 a_viewer
#         (their roles in A), 25 b_manager (manager of B), 26 a_extra
#         (viewer of A), 27 b_extra (viewer of B), 28 c_user (no department),
#         29 ab_mover (manager of A, viewer of B), 30 ab_manager (manager of
#         both)
#   api_tokens 31-40: "tok-LOGIN" of each user (ids in that order);
#              41-50: a spare token "spare-LOGIN" of each
#   jobs 51 job-a (A), 52 job-b (B); executions 61 (of 51), 62 (of 52), 63
#         (of 51, running, a long-running task whose secret is "callback-secret")
#   audit_log 71 (about job-a, A), 72 (about job-b, B)
#   sessions 81: a_operator, cookie "cookie-operator", CSRF "csrf-operator"
#   alert_channels 91 chan-a (A, webhook), 92 chan-b (B), 95 chan-a2 (A,
#         email, used by no rule); alert_rules 93 (job-a timed out, to 91:
#         nothing times out here, so the alerter stays idle), 94 (every job
#         of B failed, to 92)
# a_operator's password is "operator password" (API_PASSWORD_HASH, made by
# api_password_hash).
API_LOGINS="admin a_manager a_operator a_viewer b_manager a_extra b_extra c_user ab_mover ab_manager"
API_PASSWORD="operator password"
API_PASSWORD_HASH=

declare -A API_USER_ID=([admin]=21 [a_manager]=22 [a_operator]=23 [a_viewer]=24 [b_manager]=25
    [a_extra]=26 [b_extra]=27 [c_user]=28 [ab_mover]=29 [ab_manager]=30)
declare -A API_TOKEN_ID API_SPARE_ID
for _l in $API_LOGINS; do
    API_TOKEN_ID[$_l]=$((${API_USER_ID[$_l]} + 10))
    API_SPARE_ID[$_l]=$((${API_USER_ID[$_l]} + 20))
done
unset _l

# api_password_hash: a yescrypt hash of $API_PASSWORD made by
# `tablecron user add` (of a throwaway user), else by python3's crypt.
api_password_hash() {
    local login=hash-maker-$$
    if printf '%s\n' "$API_PASSWORD" |
        "$TABLECRON" user add "$login" --password-stdin >"$TC_TMP/user-add.out" 2>&1; then
        API_PASSWORD_HASH=$(q "SELECT password_hash FROM users WHERE login = '$login'")
        q "DELETE FROM users WHERE login = '$login'" >/dev/null
    fi
    if [ -z "$API_PASSWORD_HASH" ]; then
        API_PASSWORD_HASH=$(python3 -c 'import crypt, sys; print(crypt.crypt(sys.argv[1], crypt.mksalt(crypt.METHOD_SHA512)))' "$API_PASSWORD" 2>/dev/null)
    fi
    case $API_PASSWORD_HASH in
    '$'*) ;;
    *) api_bail "cannot make a password hash: $(cat "$TC_TMP/user-add.out")" ;;
    esac
}

api_sha() { printf "encode(sha256(convert_to('%s', 'UTF8')), 'hex')" "$1"; }

# api_fixtures_sql: the statements that put the fixtures back (one
# transaction), whatever the API did to them.
api_fixtures_sql() {
    local l users= memberships tokens= sep=
    for l in $API_LOGINS; do
        users+="$sep(${API_USER_ID[$l]}, '$l', '$l display', $([ "$l" = admin ] && echo true || echo false), "
        if [ "$l" = a_operator ]; then users+="'$API_PASSWORD_HASH')"; else users+="NULL)"; fi
        tokens+="$sep(${API_TOKEN_ID[$l]}, ${API_USER_ID[$l]}, 'auth of $l', $(api_sha "tok-$l"), 'tok-'),"
        tokens+=" (${API_SPARE_ID[$l]}, ${API_USER_ID[$l]}, 'spare of $l', $(api_sha "spare-$l"), 'spare')"
        sep=", "
    done
    memberships="(22, 11, 'manager'), (23, 11, 'operator'), (24, 11, 'viewer'), (25, 12, 'manager'),
        (26, 11, 'viewer'), (27, 12, 'viewer'), (29, 11, 'manager'), (29, 12, 'viewer'),
        (30, 11, 'manager'), (30, 12, 'manager')"
    cat <<EOF
BEGIN;
DELETE FROM audit_log;
DELETE FROM alerts;
DELETE FROM alert_rules;
DELETE FROM alert_channels;
DELETE FROM executions;
DELETE FROM jobs;
DELETE FROM sessions;
DELETE FROM api_tokens;
DELETE FROM memberships;
DELETE FROM users;
DELETE FROM departments WHERE id <> 1;
INSERT INTO departments (id, name, description) VALUES (11, 'A', 'department A'), (12, 'B', 'department B');
INSERT INTO users (id, login, display_name, is_admin, password_hash) VALUES $users;
INSERT INTO memberships (user_id, department_id, role) VALUES $memberships;
INSERT INTO api_tokens (id, user_id, name, token_hash, token_prefix) VALUES $tokens;
INSERT INTO jobs (id, department_id, name, description, schedule, kind, config) VALUES
    (51, 11, 'job-a', 'job of A', '0 3 * * *', 'shell', '{"command": "echo a"}'),
    (52, 12, 'job-b', 'job of B', '0 4 * * *', 'shell', '{"command": "echo b"}');
INSERT INTO executions (id, job_id, scheduled_for, attempt, instance_id, status, started_at,
                        finished_at, exit_code, output) VALUES
    (61, 51, '2026-01-01 03:00Z', 1, 'elsewhere', 'succeeded', '2026-01-01 03:00Z',
     '2026-01-01 03:01Z', 0, 'output of a'),
    (62, 52, '2026-01-01 04:00Z', 1, 'elsewhere', 'failed', '2026-01-01 04:00Z',
     '2026-01-01 04:01Z', 1, 'output of b'),
    (63, 51, '2026-01-02 03:00Z', 1, 'elsewhere', 'running', '2026-01-02 03:00Z', NULL, NULL, '');
UPDATE executions SET callback_token_hash = $(api_sha callback-secret) WHERE id = 63;
INSERT INTO alert_channels (id, department_id, name, kind, url, template) VALUES
    (91, 11, 'chan-a', 'webhook', 'http://127.0.0.1:9/a', 'json'),
    (92, 12, 'chan-b', 'webhook', 'http://127.0.0.1:9/b', 'json');
INSERT INTO alert_channels (id, department_id, name, kind, email_to) VALUES
    (95, 11, 'chan-a2', 'email', 'ops@example.com');
INSERT INTO alert_rules (id, department_id, job_id, channel_id, events) VALUES
    (93, 11, 51, 91, '{timed_out}'), (94, 12, NULL, 92, '{failed}');
INSERT INTO audit_log (id, actor, action, object_type, object_id, department_id, after) VALUES
    (71, 'cli:test', 'job.create', 'job', '51', 11, '{"name": "job-a"}'),
    (72, 'cli:test', 'job.create', 'job', '52', 12, '{"name": "job-b"}');
INSERT INTO sessions (id, user_id, token_hash, csrf_token, expires_at) VALUES
    (81, 23, $(api_sha cookie-operator), 'csrf-operator', now() + interval '1 hour');
COMMIT;
EOF
}

# api_fixtures: the fixtures, and identity sequences moved past them (once).
api_fixtures() {
    local t
    [ -n "$API_PASSWORD_HASH" ] || api_password_hash
    api_fixtures_sql >"$TC_TMP/fixtures.sql"
    for t in departments users api_tokens sessions jobs executions audit_log alert_channels alert_rules; do
        echo "SELECT setval(pg_get_serial_sequence('$t', 'id'), 1000);"
    done >"$TC_TMP/sequences.sql"
    psql -X -q -v ON_ERROR_STOP=1 -f "$TC_TMP/sequences.sql" >/dev/null &&
        psql -X -q -v ON_ERROR_STOP=1 -f "$TC_TMP/fixtures.sql" >/dev/null ||
        api_bail "cannot load the fixtures"
    api_sql_start
}

# api_reset [SQL]: the fixtures as they were (after requests that changed
# them), then SQL if given; through api_sql's session.
api_reset() {
    api_sql "\\i $TC_TMP/fixtures.sql
${1:-}"
    case $API_SQL_OUT in
    *ERROR*) echo "# reset failed: $API_SQL_OUT"; return 1 ;;
    esac
}

# api_sql SQL: SQL in one psql session (api_sql_start, done by api_fixtures) kept open for the whole test (a psql
# per statement costs 20-100 ms, and the tests reset the fixtures hundreds
# of times); its output, errors included, in API_SQL_OUT.  Rows come
# unaligned, '|' separated, without headers.
API_SQL_MARK="--api-sql-done--"
api_sql_start() {
    coproc API_SQL { psql -X -q -A -t -v ON_ERROR_STOP=0 2>&1; }
    tc_children+=("$API_SQL_PID")
    # Plain copies of the coprocess's descriptors: subshells ($(...)) keep them.
    exec {API_SQL_W}>&"${API_SQL[1]}" {API_SQL_R}<&"${API_SQL[0]}"
}
api_sql() {
    local line
    # ";" ends a statement the caller left open (an empty one is ignored).
    printf '%s\n;\n\\echo %s\n' "$1" "$API_SQL_MARK" >&"$API_SQL_W"
    API_SQL_OUT=
    while IFS= read -r line <&"$API_SQL_R"; do
        [ "$line" = "$API_SQL_MARK" ] && break
        API_SQL_OUT+=$line$'\n'
    done
    API_SQL_OUT=${API_SQL_OUT%$'\n'}
}

# sq SQL: like lib.sh's q, through api_sql's session.
sq() { api_sql "$1"; printf '%s\n' "$API_SQL_OUT"; }

# --- the server -----------------------------------------------------------
# api_start NAME [SERVE-ARGS...]: `tablecron serve --no-scheduler` as
# instance NAME (log $TC_TMP/NAME.log), back when it answers /healthz; sets
# API_URL, API_PID and API_LOG.
api_start() {
    local name=$1
    shift
    API_LOG=$TC_TMP/$name.log
    start_bg "$API_LOG" "$TABLECRON" serve --no-scheduler --instance-id "$name" "$@"
    API_PID=$TC_BG_PID
    wait_until 15 api_started "$API_LOG" || api_bail "serve $name did not start: $(tail -n 5 "$API_LOG")"
    API_URL=$(tc_api_url "$API_LOG")
    wait_until 10 curl -sf -o /dev/null "$API_URL/healthz" || api_bail "serve $name does not answer /healthz"
}
api_started() { [ -n "$(tc_api_url "$1")" ]; }

# api_healthy DESCRIPTION: the server still runs, answers /healthz, and its
# log shows no crash or 5xx answer.
api_healthy() {
    local code problems
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$API_URL/healthz")
    problems=$(grep -E 'msg="request failed"|level=error|AddressSanitizer|runtime error|Segmentation' "$API_LOG" | head -n 5)
    if kill -0 "$API_PID" 2>/dev/null && [ "$code" = 200 ] && [ -z "$problems" ]; then
        pass "$1"
    else
        fail "$1" "healthz: $code" "$problems" "$(tail -n 5 "$API_LOG")"
    fi
}

# --- requests ---------------------------------------------------------------
# api CALLER METHOD PATH [BODY [CURL-ARG...]]: one request; the status in
# API_CODE (000: no answer), the body in API_BODY and $TC_TMP/api.body, the
# headers in $TC_TMP/api.headers.  BODY "" sends none; "@FILE" sends the file.
api() {
    local who=$1 method=$2 path=$3 data=${4-}
    local args=(-sS --path-as-is --max-time 30 -o "$TC_TMP/api.body" -D "$TC_TMP/api.headers"
        -w '%{http_code}' -X "$method")
    shift 3
    [ $# -gt 0 ] && shift
    case $who in
    anon) ;;
    cookie:*:*) who=${who#cookie:}
        args+=(-H "Cookie: tablecron_session=${who%%:*}" -H "X-CSRF-Token: ${who#*:}") ;;
    cookie:*) args+=(-H "Cookie: tablecron_session=${who#cookie:}") ;;
    *) args+=(-H "Authorization: Bearer tok-$who") ;;
    esac
    [ -n "$data" ] && args+=(-H 'Content-Type: application/json' --data-binary "$data")
    rm -f "$TC_TMP/api.body"
    API_CODE=$(curl "${args[@]}" "$@" "$API_URL$path" 2>"$TC_TMP/api.err") || API_CODE=000
    API_BODY=$(cat "$TC_TMP/api.body" 2>/dev/null)
}

# jpy EXPR: a Python expression over the JSON document d read from $TC_TMP/api.body
# (prints "<not JSON>" when it is not JSON).
jpy() {
    apy -c '
import json, sys
try:
    d = json.load(open(sys.argv[2], "rb"))
except Exception:
    print("<not JSON>"); sys.exit(0)
try:
    print(eval(sys.argv[1]))
except Exception as e:
    print("<%s: %s>" % (type(e).__name__, e))' "$1" "$TC_TMP/api.body"
}

# api_error_shape: "ok" when the body is {"error": {"code": str, "message": str[, "field": str]}},
# else what is wrong with it.
api_error_shape() {
    apy -c '
import json, sys
try:
    d = json.load(open(sys.argv[1], "rb"))
except Exception as e:
    print("not JSON: %r" % open(sys.argv[1], "rb").read()[:200]); sys.exit(0)
if not isinstance(d, dict) or list(d) != ["error"] or not isinstance(d["error"], dict):
    print("not {\"error\": {...}}: %s" % json.dumps(d)[:200]); sys.exit(0)
e = d["error"]
bad = [k for k in ("code", "message") if not isinstance(e.get(k), str) or not e.get(k)]
if "field" in e and not isinstance(e["field"], str):
    bad.append("field")
print("ok" if not bad else "bad %s in %s" % (",".join(bad), json.dumps(d)[:200]))' "$TC_TMP/api.body"
}

# --- the route table ----------------------------------------------------------
# api_routes_table: "METHOD PATTERN PERM" for every route of src/api_routes.c.
api_routes_table() {
    sed -n 's|^[[:space:]]*{[[:space:]]*"\([A-Z]*\)",[[:space:]]*\(V1[[:space:]]*\)\{0,1\}"\([^"]*\)",[[:space:]]*[a-z_0-9]*,[[:space:]]*\(PERM_[A-Z_]*\).*|\1 \2\3 \4|p' \
        "$TC_SRCDIR/src/api_routes.c" | sed 's|^\([A-Z]*\) V1[[:space:]]*|\1 /api/v1|'
}

# api_page_script DESC SCRIPT [VAR=VALUE ...]: run tests/browser/SCRIPT in
# headless chromium against $API_URL (as TC_URL), a_viewer and a_manager
# signing in with $API_PASSWORD; its TAP lines become this test's, then a
# check that it ran to its end ("# done").  Without chromium or the node
# modules, DESC fails with the reason and this returns 1.
api_page_script() {
    local desc=$1 script=$2 chromium=${TC_CHROMIUM:-/usr/bin/chromium} screens line finished=no
    shift 2
    if ! [ -x "$chromium" ] || ! command -v node >/dev/null ||
        ! NODE_PATH=$(sh "$TC_SRCDIR/tests/servers/node-deps.sh" \
            "${TC_BUILDDIR:-$TC_TMP}/tests/node" 2>"$TC_TMP/node-deps.err"); then
        fail "$desc" "no chromium or node modules: $(cat "$TC_TMP/node-deps.err" 2>/dev/null)"
        return 1
    fi
    export NODE_PATH
    api_sql "UPDATE users SET password_hash = '$API_PASSWORD_HASH' WHERE login IN ('a_viewer', 'a_manager')"
    # Screenshots beside the page tests' (make clean removes them).
    screens=${TC_BUILDDIR:-$TC_TMP}/tests/artifacts/screens
    mkdir -p "$screens" 2>/dev/null || screens=$TC_TMP
    while IFS= read -r line; do
        case $line in
        'ok '*) pass "${line#ok * - }" ;;
        'not ok '*) fail "${line#not ok * - }" ;;
        '# done') finished=yes ;;
        '#'*) printf '%s\n' "$line" ;;
        *) printf '# %s\n' "$line" ;;
        esac
    done < <(env "$@" TC_URL="$API_URL" TC_CHROMIUM="$chromium" TC_PASSWORD="$API_PASSWORD" \
        TC_SCREENS="$screens" timeout 120 node "$TC_SRCDIR/tests/browser/$script" 2>&1)
    is "$finished" yes "the page script ran to its end"
}
