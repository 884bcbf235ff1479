#!/bin/bash
# bench/claims.sh - claims per second and CAS misses per claim for 1, 2 and 4
# tablecron instances on one database, next to pgbench's single-row UPDATE
# rate on the same server in the same run.
#
# A benchmark, not a test: it passes or fails nothing, it prints figures.
#
#   bench/claims.sh [--quick] [--jobs N] [--pgbench-seconds S] [--instances "1 2 4"]
#                   [--max-running N] [--high N] [--batch N] [--statements]
#
#   --quick            2,000 jobs per run and 5 s per pgbench run (about 1.5
#                      minutes in all) instead of 10,000 and 10 s
#   --jobs N           jobs per run
#   --pgbench-seconds  length of each pgbench run
#   --instances LIST   instance counts to measure (default "1 2 4")
#   --max-running N    max_running of every instance (default 64)
#   --high N           repeat every count with max_running N (default 512;
#                      0 skips); these figures carry the suffix _high
#   --batch N          due rows fetched per claim round (default 200)
#   --statements       also print each run's statements per execution
#
# Output: progress and details on stderr as "# ..." lines; on stdout one
# name=value line per figure (pgbench_update_tps, claims_per_s_K,
# cas_miss_per_claim_K, claims_vs_pgbench_K, ... for K instances), then a
# table of the same figures.
#
# The tablecron binary comes from $TABLECRON, else ./build/tablecron (relative
# to the source tree).  The script builds nothing.  The PostgreSQL server
# binaries, pgbench and pg_stat_statements come from Debian's postgresql and
# postgresql-contrib packages, installed with apt-get if they are missing.
#
# Method (docs/benchmarks.md, "Claims", says more):
#   - a private server in a fresh /tmp directory, unix socket only, with the
#     default durability (fsync and synchronous_commit on), pg_stat_statements
#     loaded; stopped and removed at exit whatever happens;
#   - baseline: pgbench, one single-row UPDATE per transaction on a 10,000-row
#     table, 4 and 8 clients, the best rate counts;
#   - for each instance count K: start K instances (tablecron serve), wait
#     until they are registered and idle, insert N one-off shell jobs
#     ("true") all due at the same instant T0 a few seconds ahead, wait until
#     every job has a finished execution row; claims/s = N / (last
#     finished_at - T0), in database time.  CAS misses come from the
#     instances' own "claim round ... won= missed=" debug lines; statements,
#     WAL and fsyncs per execution from pg_stat_statements and pg_stat_wal.
#   - every run starts from empty jobs and executions tables.
set -u -o pipefail

usage() {
    sed -n '2,/^set -u/p' "$0" | sed -e '/^set -u/d' -e 's/^# \{0,1\}//'
}

srcdir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# ---- options -----------------------------------------------------------
quick=0
jobs=
pgbench_s=
instance_counts="1 2 4"
max_running=64
high=512
batch=200
show_statements=0
need_arg() {
    [ $# -ge 2 ] || { echo "claims.sh: $1 needs a value" >&2; exit 2; }
}
while [ $# -gt 0 ]; do
    case $1 in
    --quick) quick=1 ;;
    --jobs) need_arg "$@"; jobs=$2; shift ;;
    --pgbench-seconds) need_arg "$@"; pgbench_s=$2; shift ;;
    --instances) need_arg "$@"; instance_counts=$2; shift ;;
    --max-running) need_arg "$@"; max_running=$2; shift ;;
    --high) need_arg "$@"; high=$2; shift ;;
    --batch) need_arg "$@"; batch=$2; shift ;;
    --statements) show_statements=1 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "claims.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
    esac
    shift
done
if [ $quick = 1 ]; then
    jobs=${jobs:-2000}
    pgbench_s=${pgbench_s:-5}
else
    jobs=${jobs:-10000}
    pgbench_s=${pgbench_s:-10}
fi
for v in "$jobs" "$pgbench_s" "$max_running" "$high" "$batch"; do
    case $v in
    '' | *[!0-9]*) echo "claims.sh: '$v' is not a number" >&2; exit 2 ;;
    esac
done
[ "$jobs" -ge 1 ] || { echo "claims.sh: --jobs must be at least 1" >&2; exit 2; }
for v in $instance_counts; do
    case $v in
    '' | 0 | *[!0-9]*) echo "claims.sh: --instances: '$v' is not a positive number" >&2; exit 2 ;;
    esac
done
[ -n "${instance_counts// /}" ] || { echo "claims.sh: --instances is empty" >&2; exit 2; }

say() { printf '# %s\n' "$*" >&2; }
die() { printf 'claims.sh: %s\n' "$*" >&2; exit 1; }

# ---- what we need --------------------------------------------------------
TABLECRON=${TABLECRON:-$srcdir/build/tablecron}
[ -x "$TABLECRON" ] || die "no tablecron binary at $TABLECRON (build it, or set TABLECRON)"
export TABLECRON_MIGRATIONS_DIR=${TABLECRON_MIGRATIONS_DIR:-$srcdir/migrations}
export TABLECRON_CONFIG= # never the machine's own config file

find_pgbin() {
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
pgbin=$(find_pgbin)
if [ -z "$pgbin" ]; then
    [ "$(id -u)" = 0 ] || die "PostgreSQL server, pgbench or pg_stat_statements missing; as root: apt-get install postgresql postgresql-contrib"
    say "installing postgresql and postgresql-contrib with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q postgresql postgresql-contrib >/dev/null ||
        { apt-get update -q >/dev/null && apt-get install -y -q postgresql postgresql-contrib >/dev/null; } ||
        die "apt-get install postgresql postgresql-contrib failed"
    pgbin=$(find_pgbin) || die "still no PostgreSQL server binaries after apt-get"
fi
PSQL=$pgbin/psql
PGBENCH=$pgbin/pgbench

# ---- the private server ------------------------------------------------
dir=$(mktemp -d /tmp/tcbench.XXXXXX) || die "mktemp failed"
instance_pids=()

run_as_pg() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

stop_instances() {
    local pid deadline
    for pid in "${instance_pids[@]}"; do kill -TERM "$pid" 2>/dev/null; done
    deadline=$((SECONDS + 10))
    for pid in "${instance_pids[@]}"; do
        while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.05; done
        kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
    instance_pids=()
}

cleanup() {
    stop_instances
    if [ -f "$dir/data/postmaster.pid" ]; then
        run_as_pg "$pgbin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1
    fi
    rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

[ "$(id -u)" = 0 ] && chown postgres "$dir"
chmod 700 "$dir"

# Durability stays at the defaults (fsync, synchronous_commit, full page
# writes on): commits are what this measures.  Only sizes are raised.
pgopts="-k $dir -c listen_addresses= -c max_connections=100 -c shared_buffers=256MB"
pgopts+=" -c max_wal_size=2GB -c shared_preload_libraries=pg_stat_statements"
pgopts+=" -c pg_stat_statements.track=top"
run_as_pg "$pgbin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 \
    >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; die "initdb failed"; }
run_as_pg "$pgbin/pg_ctl" -D "$dir/data" -o "$pgopts" -l "$dir/server.log" -w -t 30 start \
    >/dev/null 2>&1 || { tail -n 20 "$dir/server.log" >&2; die "PostgreSQL did not start"; }

export PGHOST=$dir PGPORT=5432 PGDATABASE=tcbench
unset PGPASSWORD PGSERVICE PGSSLMODE PGOPTIONS 2>/dev/null || true

# q SQL... : one value or rows ('|' separated), as the superuser; each
# argument is its own transaction (VACUUM cannot share one).
q() {
    local args=() sql
    for sql in "$@"; do args+=(-c "$sql"); done
    PGUSER=postgres "$PSQL" -X -A -t -q -v ON_ERROR_STOP=1 "${args[@]}"
}

# calc FORMAT EXPR : floating-point arithmetic
calc() { awk "BEGIN { printf \"$1\", $2 }"; }

PGUSER=postgres "$PSQL" -X -q -d postgres -v ON_ERROR_STOP=1 \
    -c "CREATE ROLE tablecron LOGIN" -c "CREATE DATABASE tcbench OWNER tablecron" >/dev/null ||
    die "cannot create the benchmark database"
q "CREATE EXTENSION pg_stat_statements" >/dev/null || die "cannot load pg_stat_statements"
PGUSER=tablecron "$TABLECRON" migrate >"$dir/migrate.log" 2>&1 ||
    { cat "$dir/migrate.log" >&2; die "tablecron migrate failed"; }

ncpu=$(nproc)
loadavg=$(cut -d' ' -f1 /proc/loadavg)
pgver=$(q "SHOW server_version" | awk '{print $1}')
say "server: PostgreSQL $pgver in $dir, fsync=$(q 'SHOW fsync') synchronous_commit=$(q 'SHOW synchronous_commit'); $ncpu cores"
awk -v l="$loadavg" -v n="$ncpu" 'BEGIN { exit !(l > n / 4) }' &&
    say "warning: load average $loadavg before the start; other work on the machine skews the figures"
series="$max_running"
[ "$high" -gt 0 ] && [ "$high" != "$max_running" ] && series+=" $high"
say "tablecron: $TABLECRON; $jobs jobs per run, batch $batch, max_running ${series// / and }"

# ---- baseline: pgbench single-row UPDATE ------------------------------
q "CREATE TABLE bench_update (id int PRIMARY KEY, version bigint NOT NULL DEFAULT 1)" \
  "INSERT INTO bench_update (id) SELECT generate_series(1, 10000)" "VACUUM ANALYZE bench_update" >/dev/null || die "cannot create the pgbench table"
cat >"$dir/update.sql" <<'EOF'
\set id random(1, 10000)
UPDATE bench_update SET version = version + 1 WHERE id = :id;
EOF
pgbench_best=0
pgbench_clients=
pgbench_each=
for c in 4 8; do
    q "CHECKPOINT" >/dev/null
    out=$(PGUSER=postgres "$PGBENCH" -n -M prepared -f "$dir/update.sql" -c $c -j 2 -T "$pgbench_s" tcbench 2>&1) ||
        { echo "$out" >&2; die "pgbench failed"; }
    tps=$(echo "$out" | sed -n 's/^tps = \([0-9.]*\).*/\1/p' | head -n 1)
    [ -n "$tps" ] || { echo "$out" >&2; die "no tps in pgbench's output"; }
    tps=${tps%.*}
    say "pgbench single-row UPDATE, $c clients, ${pgbench_s}s: $tps tps"
    pgbench_each+="pgbench_update_tps_c$c=$tps"$'\n'
    if [ "$tps" -gt "$pgbench_best" ]; then pgbench_best=$tps; pgbench_clients=$c; fi
done
# Its dead row versions must not bring autovacuum into the runs below.
q "DROP TABLE bench_update" "CHECKPOINT" >/dev/null

# ---- tablecron runs -------------------------------------------------------
# One run: K instances with max_running M; sets the r_* variables.
run_tablecron() {
    local k=$1 m=$2 tag=$3 i t0 deadline done_n row
    q "TRUNCATE jobs, executions, instances CASCADE" "VACUUM ANALYZE jobs" \
        "VACUUM ANALYZE executions" "CHECKPOINT" >/dev/null || die "cannot empty the tables"
    rm -f "$dir"/inst-*.log
    for ((i = 1; i <= k; i++)); do
        PGUSER=tablecron "$TABLECRON" serve --instance-id "$tag-$i" --max-running "$m" \
            --batch "$batch" --lease 30s --log-level debug >"$dir/inst-$i.log" 2>&1 &
        instance_pids+=($!)
    done
    # Registered and past their first (empty) claim round.
    deadline=$((SECONDS + 20))
    until [ "$(q "SELECT count(*) FROM instances WHERE stopped_at IS NULL")" = "$k" ]; do
        [ $SECONDS -lt $deadline ] || { tail -n 5 "$dir"/inst-*.log >&2; die "instances did not start"; }
        for i in "${instance_pids[@]}"; do kill -0 "$i" 2>/dev/null || { tail -n 5 "$dir"/inst-*.log >&2; die "an instance died"; }; done
        sleep 0.1
    done
    sleep 0.5
    q "SELECT pg_stat_statements_reset()" "SELECT pg_stat_reset_shared('wal')" "SELECT pg_stat_reset()" >/dev/null

    # All jobs due at one instant T0, 2-3 s ahead: the insert's notification
    # wakes the instances, which then sleep until T0 by the database clock.
    t0=$(q "SELECT to_char((date_trunc('second', now()) + interval '3 seconds') AT TIME ZONE 'UTC',
                           'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')")
    q "INSERT INTO jobs (name, schedule, kind, config, misfire_policy, timeout_s, next_time)
       SELECT 'bench-' || g, '@at $t0', 'shell', '{\"command\": \"true\"}', 'once', 60,
              timestamptz '$t0'
         FROM generate_series(1, $jobs) g" >/dev/null || die "cannot insert the jobs"
    q "ANALYZE jobs" >/dev/null
    [ "$(q "SELECT now() < timestamptz '$t0'")" = t ] || say "warning: inserting the jobs took past T0; the rate is understated"

    deadline=$((SECONDS + 20 + jobs / 50))
    while :; do
        done_n=$(q "SELECT count(*) FROM executions WHERE status <> 'running'")
        [ "$done_n" -ge "$jobs" ] && break
        if [ $SECONDS -ge $deadline ]; then
            stop_instances
            die "deadline passed with $done_n of $jobs executions finished (logs: $dir)"
        fi
        sleep 0.1
    done
    stop_instances

    row=$(q "SELECT count(*), count(DISTINCT (job_id, scheduled_for)),
                    count(*) FILTER (WHERE status <> 'succeeded'),
                    round(extract(epoch FROM max(finished_at) - timestamptz '$t0')::numeric, 3),
                    round(extract(epoch FROM min(started_at) - timestamptz '$t0')::numeric * 1000),
                    round(extract(epoch FROM avg(finished_at - started_at))::numeric * 1000),
                    count(DISTINCT instance_id)
               FROM executions")
    IFS='|' read -r r_execs r_distinct r_bad r_secs r_lag_ms r_hold_ms r_active <<<"$row"
    if [ "$r_execs" != "$jobs" ] || [ "$r_distinct" != "$jobs" ]; then
        say "warning: $r_execs executions for $r_distinct fire times of $jobs jobs"
    fi
    [ "$r_bad" = 0 ] || say "warning: $r_bad executions did not succeed"
    r_rate=$(calc %.0f "$jobs / $r_secs")
    r_per_instance=$(q "SELECT string_agg(n::text, '/' ORDER BY instance_id)
                          FROM (SELECT instance_id, count(*) n FROM executions GROUP BY 1) s")

    # CAS misses, from the instances' debug lines.
    read -r r_rounds r_tried r_won r_missed < <(cat "$dir"/inst-*.log | awk '
        /claim round/ {
            n++
            for (i = 1; i <= NF; i++) {
                split($i, kv, "=")
                if (kv[1] == "tried") t += kv[2]
                else if (kv[1] == "won") w += kv[2]
                else if (kv[1] == "missed") m += kv[2]
            }
        }
        END { printf "%d %d %d %d\n", n, t, w, m }')
    # Failed claim rounds (a deadlock between two claimers, say).
    r_deadlocks=$(cat "$dir"/inst-*.log | grep -c 'sqlstate=40P01')
    r_errors=$(cat "$dir"/inst-*.log | grep -c 'level=error')
    if [ "$r_won" -gt 0 ]; then
        r_miss=$(calc %.3f "$r_missed / $r_won")
    else
        r_miss=nan
    fi

    # What the database did, per execution (only the instances' role).
    row=$(q "SELECT sum(calls), sum(calls) FILTER (WHERE wal_records > 0), sum(wal_bytes)
               FROM pg_stat_statements s JOIN pg_roles r ON r.oid = s.userid
              WHERE r.rolname = 'tablecron'")
    IFS='|' read -r r_stmts r_writes r_walbytes <<<"$row"
    r_syncs=$(q "SELECT wal_sync FROM pg_stat_wal")
    # Share of row updates that were HOT (no new index entries).
    r_hot=$(q "SELECT coalesce(round(100.0 * sum(n_tup_hot_upd) / nullif(sum(n_tup_upd), 0)), 0)
                 FROM pg_stat_user_tables WHERE relname IN ('jobs', 'executions')")
    r_stmts_per=$(calc %.2f "${r_stmts:-0} / $jobs")
    r_writes_per=$(calc %.2f "${r_writes:-0} / $jobs")
    r_wal_per=$(calc %.0f "${r_walbytes:-0} / $jobs")
    r_syncs_per=$(calc %.2f "${r_syncs:-0} / $jobs")
    if [ $show_statements = 1 ]; then
        say "statements, $k instance(s), max_running $m (per execution):"
        say "  calls/exec  ms/call  share  WAL B/exec  statement"
        q "SELECT to_char(calls::numeric / $jobs, '9990.999') || '  ' ||
                  to_char(mean_exec_time, '990.999') || '  ' ||
                  to_char(total_exec_time / sum(total_exec_time) OVER () * 100, '990') || '%  ' ||
                  to_char(wal_bytes / $jobs, '999990') || '      ' ||
                  left(regexp_replace(query, '\\s+', ' ', 'g'), 80)
             FROM pg_stat_statements s JOIN pg_roles r ON r.oid = s.userid
            WHERE r.rolname = 'tablecron'
            ORDER BY calls DESC LIMIT 12" | sed 's/^/#   /' >&2
    fi
}

declare -A fig
order=()
for m in $series; do
    for k in $instance_counts; do
        sfx=$k
        [ "$m" = "$max_running" ] || sfx=${k}_high
        run_tablecron "$k" "$m" "r$sfx"
        say "$k instance(s), max_running $m: $jobs executions in ${r_secs}s = $r_rate/s" \
            "(per instance $r_per_instance; first start ${r_lag_ms}ms after T0;" \
            "a run holds its slot ${r_hold_ms}ms on average)," \
            "errors $r_errors (deadlocks $r_deadlocks)," \
            "rounds $r_rounds tried $r_tried won $r_won missed $r_missed," \
            "$r_stmts_per statements ($r_writes_per writing), $r_wal_per WAL bytes, $r_syncs_per WAL fsyncs per execution;" \
            "HOT updates $r_hot%"
        fig[claims_per_s_$sfx]=$r_rate
        fig[cas_miss_per_claim_$sfx]=$r_miss
        fig[claims_vs_pgbench_$sfx]=$(calc %.3f "$r_rate / $pgbench_best")
        fig[stmts_per_exec_$sfx]=$r_stmts_per
        fig[writes_per_exec_$sfx]=$r_writes_per
        fig[wal_bytes_per_exec_$sfx]=$r_wal_per
        fig[wal_fsyncs_per_exec_$sfx]=$r_syncs_per
        fig[max_running_$sfx]=$m
        fig[slot_ms_per_exec_$sfx]=$r_hold_ms
        fig[deadlocks_$sfx]=$r_deadlocks
        fig[active_instances_$sfx]=$r_active
        fig[hot_update_pct_$sfx]=$r_hot
        fig[errors_$sfx]=$r_errors
        order+=("$sfx")
    done
done

# ---- report ---------------------------------------------------------------
echo "cores=$ncpu"
echo "loadavg_at_start=$loadavg"
echo "postgresql=$pgver"
echo "jobs_per_run=$jobs"
echo "batch=$batch"
echo "pgbench_update_tps=$pgbench_best"
echo "pgbench_clients=$pgbench_clients"
printf '%s' "$pgbench_each"
for name in claims_per_s cas_miss_per_claim claims_vs_pgbench stmts_per_exec writes_per_exec \
    wal_bytes_per_exec wal_fsyncs_per_exec slot_ms_per_exec hot_update_pct active_instances deadlocks errors; do
    for sfx in "${order[@]}"; do echo "${name}_$sfx=${fig[${name}_$sfx]}"; done
done
echo
fmt='%-9s %7s %9s %7s %10s %10s %11s %10s %11s %8s %6s %9s\n'
printf "$fmt" instances max_run claims/s vs_pgb miss/claim stmts/exec writes/exec WAL_B/exec fsyncs/exec slot_ms active deadlocks
printf "$fmt" pgbench "c=$pgbench_clients" "$pgbench_best" 1.000 - 1 1 - - - - -
for sfx in "${order[@]}"; do
    printf "$fmt" "${sfx%_high}" "${fig[max_running_$sfx]}" "${fig[claims_per_s_$sfx]}" \
        "${fig[claims_vs_pgbench_$sfx]}" "${fig[cas_miss_per_claim_$sfx]}" \
        "${fig[stmts_per_exec_$sfx]}" "${fig[writes_per_exec_$sfx]}" \
        "${fig[wal_bytes_per_exec_$sfx]}" "${fig[wal_fsyncs_per_exec_$sfx]}" \
        "${fig[slot_ms_per_exec_$sfx]}" "${fig[active_instances_$sfx]}" "${fig[deadlocks_$sfx]}"
done
