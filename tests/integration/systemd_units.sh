# systemd_units.sh - the systemd unit and its api-only / worker-only
# drop-ins, as `make` generates them: `systemd-analyze verify` accepts them
# without a word, they carry the hardening and stop settings, and their
# commands and signals do what the unit promises when run by hand.
#
# systemd need not be running: verify works offline, but it refuses a unit
# whose ExecStart binary does not exist, so it checks copies that point at
# the binary under test.  User=tablecron stays as it is: verify does not look
# users up, and the test creates no system user.  serve.sh tests what
# SIGHUP and SIGTERM do; here the unit's own commands send them.
. "$TC_SRCDIR/tests/lib.sh"
plan 25

tc_need_tools systemd-analyze
units=$TC_BUILDDIR/etc/systemd
unit=$units/tablecron.service
for f in "$unit" "$units/api-only.conf" "$units/worker-only.conf"; do
    [ -f "$f" ] || tc_bail "$f is missing: run make first"
done
"$TABLECRON" migrate >/dev/null 2>&1 || tc_bail "migrate failed"

# key FILE KEY: the value of the last KEY= line (what systemd keeps).
key() { sed -n "s/^$2=//p" "$1" | tail -n 1; }

# makevar NAME: a directory variable of the build's Makefile, expanded
# (bindir = ${exec_prefix}/bin, exec_prefix = ${prefix}, ...).
makevar() {
    local v
    v=$(sed -n "s/^$1 = //p" "$TC_BUILDDIR/Makefile")
    while [[ $v =~ \$\{([a-z_]+)\} ]]; do
        v=${v//"${BASH_REMATCH[0]}"/$(makevar "${BASH_REMATCH[1]}")}
    done
    echo "$v"
}

# seconds DURATION: a systemd time span (60s, 1min 30s, 90) or a tablecron
# duration (30s, 1h30m) in whole seconds.
seconds() {
    local rest=${1// /} total=0 n unit
    while [ -n "$rest" ]; do
        [[ $rest =~ ^([0-9]+)(min|ms|sec|s|m|h|d)?(.*)$ ]] || { echo invalid; return; }
        n=${BASH_REMATCH[1]} unit=${BASH_REMATCH[2]} rest=${BASH_REMATCH[3]}
        case $unit in
        ms) n=0 ;;
        m | min) n=$((n * 60)) ;;
        h) n=$((n * 3600)) ;;
        d) n=$((n * 86400)) ;;
        esac
        total=$((total + n))
    done
    echo "$total"
}

# --- what make generated ---
unlike "$(cat "$unit" "$units/api-only.conf" "$units/worker-only.conf")" '@[a-z]+@' \
    "make filled in every @dir@ of the unit and the drop-ins"
exec_start=$(key "$unit" ExecStart)
like "$exec_start" '^/[^ ]*/tablecron --config /[^ ]+ serve$' "ExecStart runs serve with an explicit config file"
read -r -a argv <<<"$exec_start"
default_conf=$("$TABLECRON" --help | sed -n 's/^ *--config FILE .*(default \(.*\))$/\1/p')
is "${argv[2]}" "$default_conf" "the unit's config file is the binary's default one"
is "${argv[0]}" "$(makevar bindir)/tablecron" "its binary is where make install puts it"
for dropin in api-only:--no-scheduler worker-only:--no-api; do
    name=${dropin%%:*} flag=${dropin#*:}
    f=$units/$name.conf
    is "$(grep -c '^ExecStart=' "$f")|$(grep -n '^ExecStart=' "$f" | head -n 1 | sed 's/^[0-9]*://')|$(key "$f" ExecStart)" \
        "2|ExecStart=|$exec_start $flag" "$name.conf clears ExecStart and runs serve $flag"
done

# --- systemd-analyze verify, on copies running the binary under test ---
# --man=no: verify would run `man tablecron` for Documentation=, and the
# page is installed by make install, not present in a build directory.
# verify also reads drop-ins from NAME.service.d/ beside the unit it checks.
mkcopy() {
    mkdir -p "$1"
    sed "s|^ExecStart=${argv[0]} |ExecStart=$TABLECRON |" "$unit" >"$1/tablecron.service"
    if [ -n "${2:-}" ]; then
        mkdir -p "$1/tablecron.service.d"
        sed "s|^ExecStart=${argv[0]} |ExecStart=$TABLECRON |" "$units/$2" \
            >"$1/tablecron.service.d/$2"
    fi
}
verify_quiet() {
    local out rc
    out=$(cd "$1" && systemd-analyze verify --man=no ./tablecron.service 2>&1)
    rc=$?
    if [ "$rc" = 0 ] && [ -z "$out" ]; then pass "$2"; else fail "$2" "exit $rc" "$out"; fi
}
mkcopy "$TC_TMP/unit"
grep -q "^ExecStart=$TABLECRON --config" "$TC_TMP/unit/tablecron.service" ||
    tc_bail "the test copy does not run $TABLECRON"
verify_quiet "$TC_TMP/unit" "systemd-analyze verify accepts tablecron.service, no warning"
mkcopy "$TC_TMP/api" api-only.conf
verify_quiet "$TC_TMP/api" "and with the api-only.conf drop-in"
mkcopy "$TC_TMP/worker" worker-only.conf
verify_quiet "$TC_TMP/worker" "and with the worker-only.conf drop-in"
# The checker itself: a misspelt key must be reported.
mkcopy "$TC_TMP/broken"
sed -i 's/^LockPersonality=/LockPersonalty=/' "$TC_TMP/broken/tablecron.service"
like "$(cd "$TC_TMP/broken" && systemd-analyze verify --man=no ./tablecron.service 2>&1)" \
    "Unknown key.*LockPersonalty" "verify reports a misspelt key (so silence means something)"

# --- settings ---
want="Type=simple User=tablecron Group=tablecron Restart=on-failure RestartSec=2
 RestartPreventExitStatus=2 NoNewPrivileges=yes ProtectSystem=full ProtectHome=read-only
 PrivateTmp=yes ProtectKernelTunables=yes ProtectControlGroups=yes RestrictSUIDSGID=yes
 LockPersonality=yes LimitNOFILE=65536 KillSignal=SIGTERM KillMode=mixed
 WantedBy=multi-user.target"
missing=
for kv in $want; do
    [ "$(key "$unit" "${kv%%=*}")" = "${kv#*=}" ] || missing="$missing $kv"
done
is "$missing" "" "the unit has its run, restart and hardening settings"
like "$(key "$unit" After)" '(^| )network-online\.target( |$)' "it starts after the network is online"
like "$(key "$unit" After)" '(^| )postgresql\.service( |$)' "and after a local PostgreSQL"
is "$(grep -c '^Environment' "$unit")" 0 "it sets no environment"
is "$(key "$unit" ExecReload)" '/bin/kill -HUP $MAINPID' "reload sends SIGHUP to tablecron"
# serve gives up releasing jobs grace + 15 s after SIGTERM (serve.c);
# systemd must not SIGKILL it before.
grace=$("$TABLECRON" --help | sed -n 's/^ *--grace .*(default: \(.*\))$/\1/p')
stop_s=$(seconds "$(key "$unit" TimeoutStopSec)")
if [ -n "$grace" ] && [ "$stop_s" != invalid ] && [ "$stop_s" -gt $(($(seconds "$grace") + 15)) ]; then
    pass "TimeoutStopSec ($stop_s s) outlasts grace ($grace) and the release after it"
else
    fail "TimeoutStopSec outlasts grace and the release after it" \
        "TimeoutStopSec=$(key "$unit" TimeoutStopSec) grace=$grace"
fi

# --- the commands, run the way systemd runs them ---
# systemd gives a service an almost empty environment (no PG* variables),
# so the config file alone must bring the instance up.
conf=$TC_TMP/tablecron.conf
cat >"$conf" <<EOF
db = host=$PGHOST port=$PGPORT user=$PGUSER dbname=$PGDATABASE
listen = 127.0.0.1:0
www_dir =
log_level = info
EOF
# run_unit LOG EXECSTART: start the command line with our binary and config.
run_unit() {
    local -a args
    read -r -a args <<<"$2"
    args[0]=$TABLECRON
    args[2]=$conf
    start_bg "$1" env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        "${args[@]}"
    wait_until 15 grep -q 'msg=starting' "$1"
}
# gone PID: exited (a zombie until `wait` reaps it).
gone() { [ ! -e "/proc/$1" ] || [ "$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null)" = Z ]; }
# stop_unit PID DESCRIPTION: KillSignal, then exit 0 well within TimeoutStopSec.
stop_unit() {
    kill -s "$(key "$unit" KillSignal)" "$1"
    if wait_until "$stop_s" gone "$1"; then
        wait "$1"
        is "$?" 0 "$2"
    else
        fail "$2" "still running $stop_s s after $(key "$unit" KillSignal)"
    fi
}

if run_unit "$TC_TMP/unit.log" "$exec_start"; then
    pid=$TC_BG_PID
    like "$(grep 'msg=starting' "$TC_TMP/unit.log")" 'scheduler=on .*api=http://127\.0\.0\.1:' \
        "ExecStart starts scheduler and API from the config file alone"
    inst=$(sed -n 's/.*msg=starting instance=\([^ ]*\).*/\1/p' "$TC_TMP/unit.log")
    if wait_sql 10 f "SELECT stopped_at IS NOT NULL FROM instances WHERE id = '$inst'"; then
        pass "the instance registers"
    else fail "the instance registers" "$(cat "$TC_TMP/unit.log")"; fi
    sed -i 's/^log_level = info$/log_level = debug/' "$conf"
    reload=$(key "$unit" ExecReload)
    ${reload//\$MAINPID/$pid}
    if wait_until 5 grep -q "msg=\"configuration reloaded\" file=$conf log_level=debug" "$TC_TMP/unit.log"; then
        pass "ExecReload makes it re-read the config file"
    else fail "ExecReload makes it re-read the config file" "$(tail -3 "$TC_TMP/unit.log")"; fi
    sed -i 's/^log_level = debug$/log_level = info/' "$conf"
    stop_unit "$pid" "KillSignal stops it with exit 0"
    is "$(q "SELECT stopped_at IS NOT NULL FROM instances WHERE id = '$inst'")" t "and marks it stopped"
else
    fail "ExecStart starts scheduler and API from the config file alone" "$(cat "$TC_TMP/unit.log")"
    for d in "the instance registers" "ExecReload makes it re-read the config file" \
        "KillSignal stops it with exit 0" "and marks it stopped"; do fail "$d" "not started"; done
fi

for dropin in 'api-only:scheduler=off .*api=http://' 'worker-only:scheduler=on .*api=off'; do
    name=${dropin%%:*} want=${dropin#*:}
    if run_unit "$TC_TMP/$name.log" "$(key "$units/$name.conf" ExecStart)"; then
        like "$(grep 'msg=starting' "$TC_TMP/$name.log")" "$want" "with $name.conf: $want"
        stop_unit "$TC_BG_PID" "and it stops with exit 0"
    else
        fail "with $name.conf: $want" "$(cat "$TC_TMP/$name.log")"
        fail "and it stops with exit 0" "not started"
    fi
done

done_testing
