# web_pages.sh - the admin pages in a real browser: Debian's chromium,
# headless, driven by tests/browser/pages.test.mjs through playwright-core
# (installed by tests/servers/node-deps.sh; it downloads no browser).
#
# This part makes the world the browser sees: departments A and B, five
# users signed in through the form (an administrator, a viewer, an operator
# and a manager of A, a manager of B), jobs in both departments, and one
# `tablecron serve` (scheduler and API) serving the pages from the source
# tree.  It checks the security headers and path traversal with curl, then
# runs the browser script, whose "ok"/"not ok" lines are counted here as
# this test's own (the plan comes last, once their number is known).
#
# Screenshots of every page at 1280x800 and 390x844 are left in
# $TC_BUILDDIR/tests/artifacts/screens/ (removed by make clean) to look at.
. "$TC_SRCDIR/tests/lib.sh"
. "$TC_SRCDIR/tests/servers/servers.sh"

tc_need_tools curl node npm psql
CHROMIUM=${TC_CHROMIUM:-/usr/bin/chromium}
[ -x "$CHROMIUM" ] || tc_bail "no $CHROMIUM (scripts/deps.sh installs the chromium package)"

NODE_PATH=$(sh "$TC_SERVERS/node-deps.sh" "${TC_BUILDDIR:-$TC_TMP}/tests/node" 2>"$TC_TMP/node-deps.err") || {
    sed 's/^/# /' "$TC_TMP/node-deps.err"
    tc_bail "could not install the node modules (playwright-core)"
}
export NODE_PATH

"$TABLECRON" migrate >/dev/null 2>&1 || tc_bail "migrate failed"

# --- the world ----------------------------------------------------------------
tc() { "$TABLECRON" "$@" >>"$TC_TMP/cli.out" 2>&1 || tc_bail "tablecron $*: $(tail -n 3 "$TC_TMP/cli.out")"; }
PASSWORD="browser-test-password"
tc dept add A --description "department A"
tc dept add B --description "department B"
# login role-in-A role-in-B ("-": none)
while read -r login a b; do
    # (a here-string, not a pipe: tc_bail must stop the test, not a subshell)
    if [ "$login" = web-admin ]; then
        tc user add "$login" --admin --display-name "Web Admin" --password-stdin <<<"$PASSWORD"
    else
        tc user add "$login" --password-stdin <<<"$PASSWORD"
    fi
    [ "$a" = - ] || tc member add "$login" A "$a"
    [ "$b" = - ] || tc member add "$login" B "$b"
done <<'EOF'
web-admin - -
web-viewa viewer -
web-opa operator -
web-mana manager -
web-manb - manager
EOF

# Jobs.  "never" is a fire time no run of this test reaches: those jobs run
# only when asked.  The failing ones run every 3 s, so both departments have
# failed executions before the browser starts.
never='@at 2099-01-01T00:00:00'
tc job add a-report-nightly --department A --schedule "$never" --shell 'echo report of A'
tc job add a-long --department A --schedule "$never" \
    --shell 'i=0; while [ $i -lt 300 ]; do i=$((i+1)); echo tick $i; sleep 1; done'
tc job add a-flaky --department A --schedule '*/3 * * * * *' --shell 'echo flaky A >&2; exit 2'
tc job add bsecret-nightly --department B --schedule "$never" --shell 'echo secret of B'
tc job add bsecret-broken --department B --schedule '*/3 * * * * *' --shell 'echo broken B >&2; exit 3'
job_id() { q "SELECT id FROM jobs WHERE name = '$1'"; }
tc_gone() { ! kill -0 "$1" 2>/dev/null; }

screens=${TC_BUILDDIR:-$TC_TMP}/tests/artifacts/screens
mkdir -p "$screens" 2>/dev/null ||
    screens=$TC_TMP/screens # a read-only build directory: keep them with the test
mkdir -p "$screens" && rm -f "$screens"/*.png

# --- the server -----------------------------------------------------------------
# A short lease: a kill is seen at the next renewal (lease/3 = 1 s).  The
# pages come from the source tree (TC_WEB_WWW_DIR: another copy, e.g. a
# broken one to see this test fail).
TABLECRON_WWW_DIR=${TC_WEB_WWW_DIR:-$TC_SRCDIR/www} start_bg "$TC_TMP/serve.log" \
    "$TABLECRON" serve --instance-id web1 --lease 3s --max-poll 1s
serve_pid=$TC_BG_PID
wait_until 15 grep -q 'msg=starting' "$TC_TMP/serve.log" || tc_bail "serve did not start: $(tail -n 3 "$TC_TMP/serve.log")"
url=$(tc_api_url "$TC_TMP/serve.log")
[ -n "$url" ] || tc_bail "serve does not say where its API is: $(tail -n 3 "$TC_TMP/serve.log")"
wait_until 10 curl -sf -o /dev/null "$url/healthz" || tc_bail "serve does not answer /healthz"

# --- headers and paths (curl) -------------------------------------------------------
curl -s -D "$TC_TMP/index.headers" -o "$TC_TMP/index.html" "$url/"
like "$(sed -n 's/\r$//; s/^[Cc]ontent-[Tt]ype: *//p' "$TC_TMP/index.headers")" '^text/html' "/ is the HTML page"
like "$(grep -i '^Content-Security-Policy:' "$TC_TMP/index.headers")" "script-src 'self'(;|\$|[[:space:]])" \
    "the HTML answer carries a CSP with script-src 'self'"
unlike "$(grep -i '^Content-Security-Policy:' "$TC_TMP/index.headers")" "unsafe-inline|unsafe-eval" \
    "the CSP allows no inline script or eval"
like "$(grep -i '^X-Content-Type-Options:' "$TC_TMP/index.headers")" 'nosniff' "the HTML answer carries X-Content-Type-Options: nosniff"
like "$(grep -i '^Referrer-Policy:' "$TC_TMP/index.headers")" ': *[a-z-]+' "the HTML answer carries a Referrer-Policy"
like "$(sed -n 's/\r$//; s/^[Cc]ontent-[Tt]ype: *//p' < <(curl -s -D - -o /dev/null "$url/js/app.js"))" \
    '^(text|application)/javascript' "scripts are served as JavaScript (modules need it under nosniff)"
for path in '/js/..%2f..%2fetc/passwd' '/js/../../etc/passwd' '/%2e%2e/migrations/0001_init.sql' \
    '/..%2fmigrations/0001_init.sql' '/.hidden' '/js/.%2e/index.html' \
    '/js/%2e%2e%2f%2e%2e%2fetc%2fpasswd'; do
    code=$(curl -s --path-as-is -o "$TC_TMP/trav.body" -w '%{http_code}' "$url$path")
    if [ "$code" = 404 ] && ! grep -q 'root:' "$TC_TMP/trav.body"; then
        pass "$path answers 404"
    else
        fail "$path answers 404" "got $code: $(head -c 200 "$TC_TMP/trav.body")"
    fi
done

# The failing jobs of both departments have failed once before the browser
# looks at the dashboard.
if wait_sql 20 2 "SELECT count(DISTINCT j.department_id) FROM executions e JOIN jobs j ON j.id = e.job_id
        WHERE j.name IN ('a-flaky', 'bsecret-broken') AND e.status = 'failed'"; then
    pass "the failing jobs of A and B have run"
else
    fail "the failing jobs of A and B have run" "$(tail -n 5 "$TC_TMP/serve.log")"
fi

# --- the browser ------------------------------------------------------------------------
cat >"$TC_TMP/fixtures.json" <<EOF
{
  "url": "$url",
  "chromium": "$CHROMIUM",
  "screens": "$screens",
  "password": "$PASSWORD",
  "users": {"admin": "web-admin", "viewer": "web-viewa", "operator": "web-opa",
            "manager": "web-mana", "managerB": "web-manb"},
  "departments": {"A": $(q "SELECT id FROM departments WHERE name = 'A'"),
                  "B": $(q "SELECT id FROM departments WHERE name = 'B'")},
  "jobs": {"report": {"id": $(job_id a-report-nightly), "name": "a-report-nightly"},
           "long": {"id": $(job_id a-long), "name": "a-long"},
           "flaky": {"id": $(job_id a-flaky), "name": "a-flaky"},
           "bNightly": {"id": $(job_id bsecret-nightly), "name": "bsecret-nightly"},
           "bBroken": {"id": $(job_id bsecret-broken), "name": "bsecret-broken"}}
}
EOF

# Each "ok"/"not ok" line of the script becomes one of ours (renumbered);
# anything else it prints becomes a comment.  The script ends with "# done"
# when it ran to its end, whatever its checks found.
: >"$TC_TMP/browser.rc"
finished=no
while IFS= read -r line; do
    case $line in
    'ok '*) pass "${line#ok * - }" ;;
    'not ok '*) fail "${line#not ok * - }" ;;
    '# done') finished=yes ;;
    '#'*) printf '%s\n' "$line" ;;
    *) printf '# %s\n' "$line" ;;
    esac
done < <(TC_WEB_FIXTURES=$TC_TMP/fixtures.json TC_TAP_OFFSET=$tap_n timeout 300 node "$TC_SRCDIR/tests/browser/pages.test.mjs" 2>&1
    echo $? >"$TC_TMP/browser.rc")
wait $! 2>/dev/null # the status is written
if [ "$finished" = yes ]; then
    pass "the browser script ran to its end"
else
    fail "the browser script ran to its end" "exit status $(cat "$TC_TMP/browser.rc")"
fi

# The server lived through it all.
code=$(curl -s -o /dev/null -w '%{http_code}' "$url/healthz")
problems=$(grep -E 'level=error|AddressSanitizer|runtime error|Segmentation' "$TC_TMP/serve.log" | head -n 5)
if [ "$code" = 200 ] && [ -z "$problems" ]; then pass "serve is healthy after the browser run"
else fail "serve is healthy after the browser run" "healthz: $code" "$problems"; fi
kill -TERM "$serve_pid"
if wait_until 40 tc_gone "$serve_pid"; then
    wait "$serve_pid" 2>/dev/null
    pass "serve stops on SIGTERM"
else
    fail "serve stops on SIGTERM" "$(tail -n 3 "$TC_TMP/serve.log")"
fi

plan "$tap_n"
done_testing
