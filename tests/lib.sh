# lib.sh - TAP helpers for the integration tests (bash).
#
#   . "$TC_SRCDIR/tests/lib.sh"
#   plan 3
#   ok "$(q 'SELECT 1')" = 1 "the server answers"
#
# Every helper prints one TAP line; failures print what was seen.  Waiting
# is always wait_until with a deadline, never a bare sleep.

TC_SRCDIR=${TC_SRCDIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
TABLECRON=${TABLECRON:-$TC_SRCDIR/tablecron}
export TABLECRON_MIGRATIONS_DIR=${TABLECRON_MIGRATIONS_DIR:-$TC_SRCDIR/migrations}
# The tests must not read the machine's own config file.
export TABLECRON_CONFIG=${TABLECRON_CONFIG:-}

tap_n=0
tap_failed=0
TC_TMP=$(mktemp -d /tmp/tctest.XXXXXX)
tc_children=()

tc_cleanup() {
    local pid
    for pid in "${tc_children[@]}"; do
        kill -CONT "$pid" 2>/dev/null
        kill -KILL "$pid" 2>/dev/null
    done
    rm -rf "$TC_TMP"
}
trap tc_cleanup EXIT

plan() { echo "1..$1"; }

pass() { tap_n=$((tap_n + 1)); echo "ok $tap_n - $1"; }

fail() {
    tap_n=$((tap_n + 1))
    tap_failed=$((tap_failed + 1))
    echo "not ok $tap_n - $1"
    shift
    local line
    for line in "$@"; do echo "#   $line"; done
}

# is GOT EXPECTED DESCRIPTION
is() {
    if [ "$1" = "$2" ]; then pass "$3"; else fail "$3" "got:      '$1'" "expected: '$2'"; fi
}

# like GOT REGEX DESCRIPTION (extended regular expression)
like() {
    if printf '%s' "$1" | grep -Eq -- "$2"; then pass "$3"; else fail "$3" "got: '$1'" "wanted to match: /$2/"; fi
}

unlike() {
    if printf '%s' "$1" | grep -Eq -- "$2"; then fail "$3" "got: '$1'" "must not match: /$2/"; else pass "$3"; fi
}

# run_ok DESCRIPTION CMD... : passes when CMD exits 0; output kept in $TC_OUT
run_ok() {
    local desc=$1; shift
    if TC_OUT=$("$@" 2>&1); then pass "$desc"; else fail "$desc" "command: $*" "exit: $?" "$TC_OUT"; fi
}

# run_status EXPECTED DESCRIPTION CMD... : exit code must be EXPECTED
run_status() {
    local want=$1 desc=$2; shift 2
    TC_OUT=$("$@" 2>&1)
    local got=$?
    if [ "$got" = "$want" ]; then pass "$desc"; else fail "$desc" "command: $*" "exit $got, expected $want" "$TC_OUT"; fi
}

# q SQL [ARGS...] : one value (or rows, '|' separated) from the test database
q() {
    local sql=$1; shift
    psql -X -A -t -q -v ON_ERROR_STOP=1 "$@" -c "$sql"
}

# wait_until SECONDS CMD... : poll CMD (every 50 ms) until it succeeds
wait_until() {
    local deadline=$(( $(date +%s%N) / 1000000 + $1 * 1000 )); shift
    while ! "$@" >/dev/null 2>&1; do
        if [ $(( $(date +%s%N) / 1000000 )) -ge $deadline ]; then
            return 1
        fi
        sleep 0.05
    done
    return 0
}

# wait_sql SECONDS EXPECTED SQL : poll the query until it returns EXPECTED
# (a query inside "wait_until [ ... ]" would be run only once)
sql_is() { [ "$(q "$2" 2>/dev/null)" = "$1" ]; }
wait_sql() { local t=$1; shift; wait_until "$t" sql_is "$@"; }

# start_bg LOGFILE CMD... : run CMD in the background, remember it for cleanup
start_bg() {
    local log=$1; shift
    "$@" >"$log" 2>&1 &
    TC_BG_PID=$!
    tc_children+=("$TC_BG_PID")
}

# tc_bail MESSAGE: stop the test as a TAP bail-out (the trap cleans up).
tc_bail() {
    echo "Bail out! $*"
    exit 1
}

# tc_need_tools TOOL...: bail out naming the tools that are missing.
tc_need_tools() {
    local tool missing=
    for tool in "$@"; do
        command -v "$tool" >/dev/null 2>&1 || missing="$missing $tool"
    done
    [ -z "$missing" ] || tc_bail "missing tools:$missing (scripts/deps.sh installs them)"
}

# done_testing: exit status reflects failures
done_testing() {
    [ "$tap_failed" -eq 0 ]
    exit $?
}

# PostgreSQL control for tests that stop or restart the server.
pg_as() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
pg_stop() { pg_as "$TC_PGBIN/pg_ctl" -D "$TC_PGDATA" -m fast -w stop >/dev/null; }
pg_start() { pg_as "$TC_PGBIN/pg_ctl" -D "$TC_PGDATA" -o "$TC_PGOPTS" -l "$TC_PGDIR/server.log" -w start >/dev/null; }

# tc_api_url LOG: the API URL a `serve` wrote to LOG when starting ("" if off).
tc_api_url() { sed -n 's/.*msg=starting .* api=\(http[^ ]*\).*/\1/p' "$1" | tail -n 1; }
