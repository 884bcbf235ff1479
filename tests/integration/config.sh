# config.sh - the command line, config errors, precedence and the database setting.
. "$TC_SRCDIR/tests/lib.sh"
plan 33

run_ok "--help" "$TABLECRON" --help
like "$TC_OUT" 'usage: tablecron' "--help prints usage"
for opt in db log-level migrations-dir instance-id lease; do
    like "$TC_OUT" "--$opt " "--help lists --$opt"
done
for cmd in serve migrate cron version; do
    run_ok "$cmd --help" "$TABLECRON" $cmd --help
done
run_ok "version" "$TABLECRON" version
like "$TC_OUT" '^tablecron [0-9]+\.[0-9]+\.[0-9]+$' "version prints the version"
run_status 2 "an unknown command exits 2" "$TABLECRON" frobnicate
like "$TC_OUT" "unknown command 'frobnicate'" "and says so"

# A broken config file: one line naming file, line and key; exit 2.
printf 'db = dbname=x\n# fine\nlease = 30 seconds\n' >"$TC_TMP/bad.conf"
run_status 2 "a broken config file exits 2" "$TABLECRON" --config "$TC_TMP/bad.conf" migrate
like "$TC_OUT" "^tablecron: $TC_TMP/bad.conf:3: lease: .*30 seconds" \
    "the error names the file, the line and the key"
is "$(printf '%s\n' "$TC_OUT" | wc -l)" 1 "the error is one line"

# Precedence: flag > environment > file, seen through the log level.
printf 'log_level = debug\n' >"$TC_TMP/debug.conf"
"$TABLECRON" migrate >/dev/null 2>&1
out=$(TABLECRON_CONFIG=$TC_TMP/debug.conf "$TABLECRON" migrate 2>&1)
like "$out" 'level=debug' "the file's log_level = debug applies"
out=$(TABLECRON_CONFIG=$TC_TMP/debug.conf TABLECRON_LOG_LEVEL=warn "$TABLECRON" migrate 2>&1)
unlike "$out" 'level=(debug|info)' "TABLECRON_LOG_LEVEL overrides the file"

# The database: --db wins over the PG* environment; unreachable is a clear error.
run_status 1 "an unreachable database fails with exit 1" \
    timeout 60 "$TABLECRON" --db "host=$TC_TMP/nowhere connect_timeout=1" migrate
like "$TC_OUT" 'giving up connecting to database' "and says it gave up connecting"

# The etcd mirror's settings are checked before anything runs.
run_status 2 "a bad etcd_endpoints exits 2" \
    env TABLECRON_ETCD_ENDPOINTS='http://etcd1:2379,etcd2:2379' "$TABLECRON" migrate
like "$TC_OUT" "^tablecron: environment TABLECRON_ETCD_ENDPOINTS: etcd_endpoints: 'etcd2:2379' is not an http:// or https:// URL$" \
    "and names the variable, the key and the bad URL"
run_status 2 "credentials in an etcd URL are refused" \
    "$TABLECRON" --etcd-endpoints 'https://tc:hunter2@etcd1:2379' migrate
if printf '%s' "$TC_OUT" | grep -q hunter2; then fail "without echoing the password" "$TC_OUT"
else like "$TC_OUT" 'etcd_username and etcd_password' "without echoing the password, naming the keys to use"; fi
printf 'etcd_prefix = tablecron/jobs/\n' >"$TC_TMP/etcd.conf"
run_status 2 "an etcd_prefix without a leading / exits 2" \
    "$TABLECRON" --config "$TC_TMP/etcd.conf" migrate
like "$TC_OUT" "^tablecron: $TC_TMP/etcd.conf:1: etcd_prefix: 'tablecron/jobs/' must start with '/'$" \
    "and names the file, the line and the key"
run_status 2 "an empty etcd_prefix exits 2" "$TABLECRON" --etcd-prefix '' migrate
run_status 2 "etcd_prefix = / exits 2" "$TABLECRON" --etcd-prefix / migrate
run_status 2 "an etcd_reconcile_interval out of range exits 2" \
    "$TABLECRON" --etcd-reconcile-interval 1s migrate
like "$TC_OUT" "etcd_reconcile_interval: '1s' is out of range \(10s to 1d\)" "and gives the range"
run_status 2 "etcd_username without etcd_password exits 2" "$TABLECRON" --etcd-username tc migrate

done_testing
