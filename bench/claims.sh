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

srcdir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bench_name=claims.sh
. "$srcdir/bench/lib.sh"

# ---- options -----------------------------------------------------------
quick=0
jobs=
pgbench_s=
instance_counts="1 2 4"
max_running=64
high=512
batch=200
show_statements=0
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
need_numbers "$jobs" "$pgbench_s" "$max_running" "$high" "$batch"
[ "$jobs" -ge 1 ] || { echo "claims.sh: --jobs must be at least 1" >&2; exit 2; }
for v in $instance_counts; do
    case $v in
    '' | 0 | *[!0-9]*) echo "claims.sh: --instances: '$v' is not a positive number" >&2; exit 2 ;;
    esac
done
[ -n "${instance_counts// /}" ] || { echo "claims.sh: --instances is empty" >&2; exit 2; }

bench_find_tablecron
bench_need_postgres
bench_start_postgres
series="$max_running"
[ "$high" -gt 0 ] && [ "$high" != "$max_running" ] && series+=" $high"
say "tablecron: $TABLECRON; $jobs jobs per run, batch $batch, max_running ${series// / and }"

# ---- baseline: pgbench single-row UPDATE ------------------------------
pgbench_best=0
pgbench_clients=
pgbench_each=
for c in 4 8; do
    tps=$(bench_pgbench_update "$c" "$pgbench_s") || exit 1
    say "pgbench single-row UPDATE, $c clients, ${pgbench_s}s: $tps tps"
    pgbench_each+="pgbench_update_tps_c$c=$tps"$'\n'
    if [ "$tps" -gt "$pgbench_best" ]; then pgbench_best=$tps; pgbench_clients=$c; fi
done
bench_pgbench_done

# ---- tablecron runs -------------------------------------------------------
# One run: K instances with max_running M; sets the r_* variables.
run_tablecron() {
    local k=$1 m=$2 tag=$3 row
    bench_empty_tables
    bench_start_instances "$k" "$tag" --max-running "$m" --batch "$batch" --lease 30s --log-level debug
    bench_reset_db_stats
    bench_insert_oneoff "$jobs" shell '{"command": "true"}' 60
    bench_wait_finished "$jobs" $((20 + jobs / 50))
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

    bench_db_stats "$jobs"
    [ $show_statements = 1 ] && bench_print_statements "$jobs" "$k instance(s), max_running $m"
    return 0
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
