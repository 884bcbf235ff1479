# serve.sh - an instance registers, heartbeats, survives a database restart,
# reloads its config on SIGHUP and stops cleanly on SIGTERM.
. "$TC_SRCDIR/tests/lib.sh"
plan 14

"$TABLECRON" migrate >/dev/null 2>&1 || { echo "Bail out! migrate failed"; exit 1; }
hb() { q "SELECT extract(epoch FROM heartbeat_at) FROM instances WHERE id = '$1'"; }
hb_after() { [ -n "$(hb "$1")" ] && [ "$(q "SELECT heartbeat_at > to_timestamp($2) FROM instances WHERE id = '$1'")" = t ]; }
registered() { [ -n "$(hb "$1")" ]; }

printf 'log_level = info\n' >"$TC_TMP/serve.conf"
start_bg "$TC_TMP/s1.log" "$TABLECRON" --config "$TC_TMP/serve.conf" serve --instance-id s1 --lease 3s
pid=$TC_BG_PID
if wait_until 10 registered s1; then pass "serve registers its instance"; else fail "serve registers its instance" "$(cat "$TC_TMP/s1.log")"; fi
is "$(q "SELECT hostname <> '' AND pid > 0 AND version <> '' AND stopped_at IS NULL FROM instances WHERE id = 's1'")" \
    t "the row has hostname, pid and version"
first=$(hb s1)
if wait_until 5 hb_after s1 "$first"; then pass "the heartbeat advances (every lease/3)"; else fail "the heartbeat advances"; fi

# PostgreSQL restarted under a running instance: it reconnects by itself.
pg_stop
pg_start
restart_at=$(q "SELECT extract(epoch FROM now())")
if wait_until 15 hb_after s1 "$restart_at"; then pass "heartbeats resume after a database restart"; else fail "heartbeats resume after a database restart" "$(tail -5 "$TC_TMP/s1.log")"; fi
like "$(cat "$TC_TMP/s1.log")" 'msg="reconnected to database"' "the reconnect is logged"

# SIGHUP: a broken file is refused and the instance keeps running.
printf 'lease = never\n' >"$TC_TMP/serve.conf"
kill -HUP "$pid"
reload_logged() { grep -q "$1" "$TC_TMP/s1.log"; }
if wait_until 5 reload_logged 'reload failed, keeping the running configuration'; then pass "a bad reload is refused"; else fail "a bad reload is refused"; fi
kill -0 "$pid" 2>/dev/null && pass "the instance survives a bad reload" || fail "the instance survives a bad reload"
printf 'log_level = debug\n' >"$TC_TMP/serve.conf"
kill -HUP "$pid"
if wait_until 5 reload_logged 'msg="configuration reloaded".*log_level=debug'; then pass "a good reload applies the new log level"; else fail "a good reload applies the new log level"; fi

# SIGTERM: marked stopped, exit 0.
kill -TERM "$pid"
wait "$pid"
is "$?" 0 "SIGTERM makes serve exit 0"
is "$(q "SELECT stopped_at IS NOT NULL FROM instances WHERE id = 's1'")" t "the instance is marked stopped"

# Started while the database is down: it waits and connects when it comes.
pg_stop
start_bg "$TC_TMP/s2.log" "$TABLECRON" serve --instance-id s2 --lease 3s
pid2=$TC_BG_PID
logged_warn() { grep -q 'cannot connect to database' "$TC_TMP/s2.log"; }
if wait_until 10 logged_warn; then pass "serve reports the database is away"; else fail "serve reports the database is away"; fi
pg_start
if wait_until 20 registered s2; then pass "serve registers once the database is back"; else fail "serve registers once the database is back" "$(cat "$TC_TMP/s2.log")"; fi
kill -TERM "$pid2"
wait "$pid2"
is "$?" 0 "and stops cleanly"

# SIGTERM while the database is down and the connection loop waits.
pg_stop
start_bg "$TC_TMP/s3.log" "$TABLECRON" serve --instance-id s3
pid3=$TC_BG_PID
wait_until 10 grep -q 'cannot connect' "$TC_TMP/s3.log"
kill -TERM "$pid3"
wait "$pid3"
is "$?" 0 "SIGTERM ends a serve that is still waiting for the database"
pg_start

done_testing
