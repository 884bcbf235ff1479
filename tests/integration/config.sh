# config.sh - the command line, config errors, precedence and the database setting.
. "$TC_SRCDIR/tests/lib.sh"
plan 22

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

done_testing
