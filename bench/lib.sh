# shellcheck shell=bash disable=SC2034,SC2154
# (variables set here are read by the scripts, and the other way round)
#
# bench/lib.sh - what the benchmark scripts share: messages and option
# checks, the tablecron binary, a private PostgreSQL server (started in a
# fresh /tmp directory, stopped and removed at exit whatever happens),
# tablecron instances, one-off jobs all due at one instant, and waiting
# until they have run.
#
# Sourced, not run, with srcdir (the source tree) and bench_name set:
#   srcdir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
#   bench_name=NAME.sh
#   . "$srcdir/bench/lib.sh"
#
# After bench_start_postgres: $dir (the private directory), $PSQL,
# $PGBENCH, PGHOST/PGPORT/PGDATABASE exported for the database "tcbench"
# (owned by the role "tablecron", migrated), $ncpu, $loadavg (before the
# start) and $pgver.  Processes a script starts besides the instances go in
# bench_helper_pids: they get SIGTERM (then SIGKILL) at exit.  With
# BENCH_KEEP=1 in the environment the directory (logs, stopped server) is
# kept at exit.

# usage : the script's header comment, up to "set -u", as its --help
usage() {
    sed -n '2,/^set -u/p' "$0" | sed -e '/^set -u/d' -e 's/^# \{0,1\}//'
}

say() { printf '# %s\n' "$*" >&2; }
die() { printf '%s: %s\n' "$bench_name" "$*" >&2; exit 1; }

# need_arg OPTION... : "$@" of the option loop; the option needs a value
need_arg() {
    [ $# -ge 2 ] || { echo "$bench_name: $1 needs a value" >&2; exit 2; }
}

# need_numbers VALUE... : each value is a non-negative integer
need_numbers() {
    local v
    for v in "$@"; do
        case $v in
        '' | *[!0-9]*) echo "$bench_name: '$v' is not a number" >&2; exit 2 ;;
        esac
    done
}

# calc FORMAT EXPR : floating-point arithmetic
calc() { awk "BEGIN { printf \"$1\", $2 }"; }

# ---- the binary --------------------------------------------------------
# $TABLECRON, else build/tablecron of the source tree; the source tree's
# migrations; never the machine's own config file.  bench_serve_flags: what
# every instance gets besides a script's own flags: --no-api where serve
# has an API (its threads and connections are not what is measured, and
# instances would fight over its port).
bench_find_tablecron() {
    TABLECRON=${TABLECRON:-$srcdir/build/tablecron}
    [ -x "$TABLECRON" ] || die "no tablecron binary at $TABLECRON (build it, or set TABLECRON)"
    export TABLECRON_MIGRATIONS_DIR=${TABLECRON_MIGRATIONS_DIR:-$srcdir/migrations}
    export TABLECRON_CONFIG=
    bench_serve_flags=()
    if "$TABLECRON" serve --help 2>&1 | grep -q -e --no-api; then
        bench_serve_flags=(--no-api)
    fi
}

# ---- PostgreSQL ------------------------------------------------------------
bench_find_pgbin() {
    local d
    for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5 -n -r); do
        if [ -x "$d/initdb" ] && [ -x "$d/pgbench" ] &&
            [ -f "/usr/share/postgresql/$(basename "$(dirname "$d")")/extension/pg_stat_statements.control" ]; then
            echo "$d"
            return 0
        fi
    done
    return 1
}

# bench_apt_install PACKAGE... : as root, with apt-get (updating the lists
# once if the first try fails)
bench_apt_install() {
    [ "$(id -u)" = 0 ] || die "$* missing; as root: apt-get install $*"
    say "installing $* with apt-get"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >/dev/null ||
        { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >/dev/null; } ||
        die "apt-get install $* failed"
}

# The server binaries, pgbench and pg_stat_statements (Debian's postgresql
# and postgresql-contrib): sets pgbin, PSQL and PGBENCH.
bench_need_postgres() {
    pgbin=$(bench_find_pgbin)
    if [ -z "$pgbin" ]; then
        bench_apt_install postgresql postgresql-contrib
        pgbin=$(bench_find_pgbin) || die "still no PostgreSQL server binaries after apt-get"
    fi
    PSQL=$pgbin/psql
    PGBENCH=$pgbin/pgbench
}

run_as_pg() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

instance_pids=()
bench_helper_pids=()

# stop_pids PID... : SIGTERM, up to 10 s, then SIGKILL; reaps them
stop_pids() {
    local pid deadline
    for pid in "$@"; do kill -TERM "$pid" 2>/dev/null; done
    deadline=$((SECONDS + 10))
    for pid in "$@"; do
        while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.05; done
        kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
}

stop_instances() {
    stop_pids "${instance_pids[@]}"
    instance_pids=()
}

bench_cleanup() {
    stop_instances
    stop_pids "${bench_helper_pids[@]}"
    if [ -n "${dir:-}" ]; then
        if [ -f "$dir/data/postmaster.pid" ]; then
            run_as_pg "$pgbin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1
        fi
        if [ "${BENCH_KEEP:-0}" = 1 ]; then
            say "kept $dir (logs, data directory)"
        else
            rm -rf "$dir"
        fi
    fi
}

# q SQL... : one value or rows ('|' separated), as the superuser; each
# argument is its own transaction (VACUUM cannot share one).
q() {
    local args=() sql
    for sql in "$@"; do args+=(-c "$sql"); done
    PGUSER=postgres PGOPTIONS='-c client_min_messages=warning' \
        "$PSQL" -X -A -t -q -v ON_ERROR_STOP=1 "${args[@]}"
}

# bench_start_postgres : the private server and its database, migrated.
# Durability stays at the defaults (fsync, synchronous_commit, full page
# writes on): commits are part of what the benchmarks measure.  Only sizes
# are raised.
bench_start_postgres() {
    local pgopts
    dir=$(mktemp -d /tmp/tcbench.XXXXXX) || die "mktemp failed"
    trap bench_cleanup EXIT
    trap 'exit 130' INT TERM HUP
    [ "$(id -u)" = 0 ] && chown postgres "$dir"
    chmod 700 "$dir"
    # The loads this script starts must not count.
    ncpu=$(nproc)
    loadavg=$(cut -d' ' -f1 /proc/loadavg)

    pgopts="-k $dir -c listen_addresses= -c max_connections=100 -c shared_buffers=256MB"
    pgopts+=" -c max_wal_size=2GB -c shared_preload_libraries=pg_stat_statements"
    pgopts+=" -c pg_stat_statements.track=top -c track_wal_io_timing=on"
    run_as_pg "$pgbin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 \
        >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; die "initdb failed"; }
    run_as_pg "$pgbin/pg_ctl" -D "$dir/data" -o "$pgopts" -l "$dir/server.log" -w -t 30 start \
        >/dev/null 2>&1 || { tail -n 20 "$dir/server.log" >&2; die "PostgreSQL did not start"; }

    export PGHOST=$dir PGPORT=5432 PGDATABASE=tcbench
    unset PGPASSWORD PGSERVICE PGSSLMODE PGOPTIONS 2>/dev/null || true
    PGUSER=postgres "$PSQL" -X -q -d postgres -v ON_ERROR_STOP=1 \
        -c "CREATE ROLE tablecron LOGIN" -c "CREATE DATABASE tcbench OWNER tablecron" >/dev/null ||
        die "cannot create the benchmark database"
    q "CREATE EXTENSION pg_stat_statements" >/dev/null || die "cannot load pg_stat_statements"
    PGUSER=tablecron "$TABLECRON" migrate >"$dir/migrate.log" 2>&1 ||
        { cat "$dir/migrate.log" >&2; die "tablecron migrate failed"; }

    pgver=$(q "SHOW server_version" | awk '{print $1}')
    say "server: PostgreSQL $pgver in $dir, fsync=$(q 'SHOW fsync') synchronous_commit=$(q 'SHOW synchronous_commit'); $ncpu cores"
    awk -v l="$loadavg" -v n="$ncpu" 'BEGIN { exit !(l > n / 4) }' &&
        say "warning: load average $loadavg before the start; other work on the machine skews the figures"
    return 0
}

# ---- runs ------------------------------------------------------------------
# bench_empty_tables : every run starts from empty tables
bench_empty_tables() {
    q "TRUNCATE jobs, executions, instances CASCADE" "VACUUM ANALYZE jobs" \
        "VACUUM ANALYZE executions" "CHECKPOINT" >/dev/null || die "cannot empty the tables"
}

# bench_start_instances K TAG SERVE-ARG... : K instances "TAG-1".."TAG-K"
# (logs in $dir/inst-I.log), back once they are registered and past their
# first (empty) claim round.
bench_start_instances() {
    local k=$1 tag=$2 i pid deadline
    shift 2
    rm -f "$dir"/inst-*.log
    for ((i = 1; i <= k; i++)); do
        PGUSER=tablecron "$TABLECRON" serve --instance-id "$tag-$i" "${bench_serve_flags[@]}" "$@" \
            >"$dir/inst-$i.log" 2>&1 &
        instance_pids+=($!)
    done
    deadline=$((SECONDS + 20))
    until [ "$(q "SELECT count(*) FROM instances WHERE stopped_at IS NULL")" = "$k" ]; do
        [ $SECONDS -lt $deadline ] || { tail -n 5 "$dir"/inst-*.log >&2; die "instances did not start"; }
        for pid in "${instance_pids[@]}"; do
            kill -0 "$pid" 2>/dev/null || { tail -n 5 "$dir"/inst-*.log >&2; die "an instance died"; }
        done
        sleep 0.1
    done
    sleep 0.5
}

# bench_insert_oneoff N KIND CONFIG TIMEOUT_S : N one-off jobs "bench-I" of
# that kind and config (JSON), all due at one instant T0 2-3 s ahead; sets
# t0.  The insert's notification wakes the instances, which then sleep until
# T0 by the database clock.
bench_insert_oneoff() {
    local n=$1 kind=$2 config=${3//\'/\'\'} timeout_s=$4
    t0=$(q "SELECT to_char((date_trunc('second', now()) + interval '3 seconds') AT TIME ZONE 'UTC',
                           'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')")
    q "INSERT INTO jobs (name, schedule, kind, config, misfire_policy, timeout_s, next_time)
       SELECT 'bench-' || g, '@at $t0', '$kind', '$config', 'once', $timeout_s,
              timestamptz '$t0'
         FROM generate_series(1, $n) g" >/dev/null || die "cannot insert the jobs"
    q "ANALYZE jobs" >/dev/null
    [ "$(q "SELECT now() < timestamptz '$t0'")" = t ] || say "warning: inserting the jobs took past T0; the rate is understated"
}

# bench_wait_finished N DEADLINE_S : until N executions have finished;
# stops the instances and dies after DEADLINE_S seconds.
bench_wait_finished() {
    local n=$1 deadline=$((SECONDS + $2)) done_n
    while :; do
        done_n=$(q "SELECT count(*) FROM executions WHERE status <> 'running'")
        [ "$done_n" -ge "$n" ] && return 0
        if [ $SECONDS -ge $deadline ]; then
            stop_instances
            die "deadline passed with $done_n of $n executions finished (logs: $dir)"
        fi
        sleep 0.1
    done
}

# ---- baseline: pgbench single-row UPDATE ------------------------------
# bench_pgbench_update CLIENTS SECONDS : prints the tps of pgbench running
# one single-row UPDATE per transaction on a 10,000-row table (made at the
# first call).  bench_pgbench_done drops the table: its dead row versions
# must not bring autovacuum into the runs that follow.
bench_pgbench_update() {
    local c=$1 secs=$2 out tps
    if [ ! -f "$dir/update.sql" ]; then
        q "CREATE TABLE bench_update (id int PRIMARY KEY, version bigint NOT NULL DEFAULT 1)" \
            "INSERT INTO bench_update (id) SELECT generate_series(1, 10000)" "VACUUM ANALYZE bench_update" \
            >/dev/null || die "cannot create the pgbench table"
        cat >"$dir/update.sql" <<'EOF'
\set id random(1, 10000)
UPDATE bench_update SET version = version + 1 WHERE id = :id;
EOF
    fi
    q "CHECKPOINT" >/dev/null
    out=$(PGUSER=postgres "$PGBENCH" -n -M prepared -f "$dir/update.sql" -c "$c" -j $((c < 2 ? c : 2)) \
        -T "$secs" tcbench 2>&1) || { echo "$out" >&2; die "pgbench failed"; }
    tps=$(echo "$out" | sed -n 's/^tps = \([0-9.]*\).*/\1/p' | head -n 1)
    [ -n "$tps" ] || { echo "$out" >&2; die "no tps in pgbench's output"; }
    echo "${tps%.*}"
}

# bench_pgbench_cas CLIENTS SECONDS : prints the tps of pgbench running one
# single-row version compare-and-swap per transaction: an UPDATE that
# moves a row's version only if it still is the version read (in the same
# statement, so one round trip and one commit, as a claim of one row).
# Misses under contention count as transactions too, as they do for a
# claimer.
bench_pgbench_cas() {
    local c=$1 secs=$2 out tps
    if [ ! -f "$dir/cas.sql" ]; then
        q "CREATE TABLE bench_cas (id int PRIMARY KEY, version bigint NOT NULL DEFAULT 1)" \
            "INSERT INTO bench_cas (id) SELECT generate_series(1, 10000)" "VACUUM ANALYZE bench_cas" \
            >/dev/null || die "cannot create the pgbench table"
        cat >"$dir/cas.sql" <<'SQL'
\set id random(1, 10000)
UPDATE bench_cas SET version = version + 1
 WHERE id = :id AND version = (SELECT version FROM bench_cas WHERE id = :id);
SQL
    fi
    q "CHECKPOINT" >/dev/null
    out=$(PGUSER=postgres "$PGBENCH" -n -M prepared -f "$dir/cas.sql" -c "$c" -j $((c < 2 ? c : 2)) \
        -T "$secs" tcbench 2>&1) || { echo "$out" >&2; die "pgbench failed"; }
    tps=$(echo "$out" | sed -n 's/^tps = \([0-9.]*\).*/\1/p' | head -n 1)
    [ -n "$tps" ] || { echo "$out" >&2; die "no tps in pgbench's output"; }
    echo "${tps%.*}"
}

bench_pgbench_done() {
    q "DROP TABLE IF EXISTS bench_update" "DROP TABLE IF EXISTS bench_cas" "CHECKPOINT" >/dev/null
    rm -f "$dir/update.sql" "$dir/cas.sql"
}

# ---- what the database did ---------------------------------------------------
# bench_xacts [DB] : transactions committed or rolled back in DB (default
# tcbench) so far; the reading transaction itself is not counted yet.
# Backends report their counts when they end (or about every second), so
# read the second value after the instances have stopped.
bench_xacts() {
    PGUSER=postgres "$PSQL" -X -A -t -q -d postgres -v ON_ERROR_STOP=1 \
        -c "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = '${1:-tcbench}'"
}

# bench_claim_counts : "ROUNDS TRIED WON MISSED" summed over the instances'
# logs ($dir/inst-*.log) from their "claim round ... tried= won= missed="
# debug lines.
bench_claim_counts() {
    cat "$dir"/inst-*.log | awk '
        /claim round/ {
            n++
            for (i = 1; i <= NF; i++) {
                split($i, kv, "=")
                if (kv[1] == "tried") t += kv[2]
                else if (kv[1] == "won") w += kv[2]
                else if (kv[1] == "missed") m += kv[2]
            }
        }
        END { printf "%d %d %d %d\n", n, t, w, m }'
}

# bench_reset_db_stats : before a run
bench_reset_db_stats() {
    q "SELECT pg_stat_statements_reset()" "SELECT pg_stat_reset_shared('wal')" "SELECT pg_stat_reset()" >/dev/null
}

# bench_db_stats N : per execution of N, since bench_reset_db_stats, of the
# statements of the instances' role: r_stmts_per (all), r_writes_per (those
# that wrote WAL), r_wal_per (WAL bytes); r_syncs_per (WAL flushes to disk)
# and r_sync_ms (time spent in them, in all); r_hot (% of row updates of
# jobs and executions that were HOT).
bench_db_stats() {
    local n=$1 row r_stmts r_writes r_walbytes r_syncs
    row=$(q "SELECT sum(calls), sum(calls) FILTER (WHERE wal_records > 0), sum(wal_bytes)
               FROM pg_stat_statements s JOIN pg_roles r ON r.oid = s.userid
              WHERE r.rolname = 'tablecron'")
    IFS='|' read -r r_stmts r_writes r_walbytes <<<"$row"
    IFS='|' read -r r_syncs r_sync_ms <<<"$(q "SELECT wal_sync, round(wal_sync_time) FROM pg_stat_wal")"
    # Share of row updates that were HOT (no new index entries).
    r_hot=$(q "SELECT coalesce(round(100.0 * sum(n_tup_hot_upd) / nullif(sum(n_tup_upd), 0)), 0)
                 FROM pg_stat_user_tables WHERE relname IN ('jobs', 'executions')")
    r_stmts_per=$(calc %.2f "${r_stmts:-0} / $n")
    r_writes_per=$(calc %.2f "${r_writes:-0} / $n")
    r_wal_per=$(calc %.0f "${r_walbytes:-0} / $n")
    r_syncs_per=$(calc %.2f "${r_syncs:-0} / $n")
}

# bench_print_statements N LABEL : the instances' most frequent statements,
# per execution of N, on stderr
bench_print_statements() {
    local n=$1
    say "statements, $2 (per execution):"
    say "  calls/exec  ms/call  share  WAL B/exec  statement"
    q "SELECT to_char(calls::numeric / $n, '9990.999') || '  ' ||
              to_char(mean_exec_time, '990.999') || '  ' ||
              to_char(total_exec_time / sum(total_exec_time) OVER () * 100, '990') || '%  ' ||
              to_char(wal_bytes / $n, '999990') || '      ' ||
              left(regexp_replace(query, '\\s+', ' ', 'g'), 80)
         FROM pg_stat_statements s JOIN pg_roles r ON r.oid = s.userid
        WHERE r.rolname = 'tablecron'
        ORDER BY calls DESC LIMIT 12" | sed 's/^/#   /' >&2
}
