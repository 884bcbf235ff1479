#!/bin/bash
# bench/http_tasks.sh - HTTP tasks per second completed by one tablecron
# instance against a local server, with N jobs due at once, and the peak
# thread count, open fds and RSS of the instance during the run; next to
# curl's rate for the same requests to the same server in the same run, and
# the rate at which one client commits single-row updates (pgbench).
#
# A benchmark, not a test: it prints figures.  It exits 1 (after printing
# them) if a task or a baseline request failed, since the rate then means
# little.
#
#   bench/http_tasks.sh [--quick] [--jobs N] [--delay-ms MS] [--runs R]
#                       [--pgbench-seconds S] [--max-running N] [--batch N]
#                       [--host HOST] [--api] [--statements]
#
#   --quick          one run instead of three, 3 s of pgbench instead of 5
#                    (about 12 s in all instead of 25)
#   --jobs N         jobs due at once, and requests of the baseline (1000)
#   --delay-ms MS    the server answers every request after MS ms (100);
#                    0 answers at once
#   --runs R         runs of the baseline and of tablecron, alternating;
#                    rates are the median, peaks the highest (default 3)
#   --pgbench-seconds S  length of the pgbench run
#   --max-running N  max_running of the instance, and the baseline's
#                    concurrency (1000)
#   --batch N        due rows fetched per claim round (200)
#   --host HOST      host name in the tasks' URLs (127.0.0.1); it must lead
#                    to 127.0.0.1.  A name libcurl resolves with
#                    getaddrinfo (e.g. the machine's name in /etc/hosts, not
#                    localhost, which libcurl answers itself) costs a
#                    resolver thread per lookup
#   --api            run the instance with its API (on a free port of
#                    127.0.0.1) and so its API threads; by default --no-api
#   --statements     also print each run's statements per execution
#
# Output: progress and details on stderr as "# ..." lines; on stdout one
# name=value line per figure (http_tasks_per_s, http_tasks_peak_threads,
# http_tasks_peak_fds, http_tasks_peak_rss_kb, curl_parallel_rps,
# http_tasks_vs_curl_parallel, pgbench_update_tps_c1, ...), then a table of
# the same figures.
#
# The tablecron binary comes from $TABLECRON, else ./build/tablecron (relative
# to the source tree); the script builds nothing.  It needs the PostgreSQL
# server (Debian's postgresql and postgresql-contrib), node (nodejs) and
# curl, and installs them with apt-get if they are missing.
#
# Method (docs/benchmarks.md, "HTTP tasks", says more):
#   - a private PostgreSQL server in a fresh /tmp directory, as for
#     bench/claims.sh; a local HTTP/1.1 server (node, one process, keep-alive
#     with node's default 5 s timeout, listen backlog 4096) on 127.0.0.1
#     that answers every request with 200 "ok" after the delay and counts
#     requests, connections and the requests in flight at once;
#   - baseline: curl --parallel, the same N requests with the same
#     concurrency (curl allows at most 300 per process, so the requests are
#     split over as many curl processes as needed); requests/s = N / wall
#     time of the curl processes;
#   - second baseline: pgbench with one client, one single-row UPDATE per
#     transaction, as in bench/claims.sh: the rate of commits made one
#     after the other, which is how an instance records finished tasks;
#   - tablecron: one instance (tablecron serve --no-api --max-running N
#     --lease 30s), left to go idle; N one-off http jobs (GET
#     http://HOST:PORT/task) all due at one instant T0 a few seconds ahead;
#     wait until every job has a finished execution row; tasks/s = N /
#     (last finished_at - T0), in database time.  A sampler reads
#     /proc/PID/status (Threads, VmHWM) and /proc/PID/stat (CPU time) and
#     counts /proc/PID/fd every 10 ms from before T0 to the end;
#   - every run starts from empty tables and a fresh instance.
set -u -o pipefail

srcdir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bench_name=http_tasks.sh
. "$srcdir/bench/lib.sh"

# ---- options -----------------------------------------------------------
runs=3
jobs=1000
delay_ms=100
max_running=1000
batch=200
host=127.0.0.1
sample_ms=10
show_statements=0
api=0
pgbench_s=
while [ $# -gt 0 ]; do
    case $1 in
    --quick) runs=1; pgbench_s=${pgbench_s:-3} ;;
    --jobs) need_arg "$@"; jobs=$2; shift ;;
    --delay-ms) need_arg "$@"; delay_ms=$2; shift ;;
    --runs) need_arg "$@"; runs=$2; shift ;;
    --max-running) need_arg "$@"; max_running=$2; shift ;;
    --batch) need_arg "$@"; batch=$2; shift ;;
    --host) need_arg "$@"; host=$2; shift ;;
    --statements) show_statements=1 ;;
    --api) api=1 ;;
    --pgbench-seconds) need_arg "$@"; pgbench_s=$2; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "http_tasks.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
    esac
    shift
done
pgbench_s=${pgbench_s:-5}
need_numbers "$jobs" "$delay_ms" "$runs" "$max_running" "$batch" "$pgbench_s"
for v in "$jobs" "$runs" "$max_running" "$batch"; do
    [ "$v" -ge 1 ] || { echo "http_tasks.sh: --jobs, --runs, --max-running and --batch must be at least 1" >&2; exit 2; }
done
case $host in
'' | *[!A-Za-z0-9.-]*) echo "http_tasks.sh: --host: '$host' is not a host name" >&2; exit 2 ;;
esac

bench_find_tablecron
if [ $api = 1 ]; then
    [ ${#bench_serve_flags[@]} -gt 0 ] || die "--api: this tablecron has no API"
    bench_serve_flags=(--listen 127.0.0.1:0)
fi
bench_need_postgres
command -v node >/dev/null || bench_apt_install nodejs
command -v curl >/dev/null || bench_apt_install curl
curl --help all 2>/dev/null | grep -q -- --parallel-max ||
    die "curl $(curl --version | awk 'NR == 1 { print $2 }') has no --parallel-max (7.68 or later needed)"
bench_start_postgres
# The baseline's curl processes each hold up to 300 sockets.
ulimit -n "$(ulimit -Hn)" 2>/dev/null
say "tablecron: $TABLECRON; $jobs http jobs per run, delay ${delay_ms} ms, max_running $max_running, batch $batch, $runs run(s)"

# ---- the HTTP server ---------------------------------------------------------
# GET /stats: "requests peak_in_flight accepted cpu_ms"
# since the last GET /reset (cpu_ms: the server's own CPU time).
cat >"$dir/server.js" <<'EOF'
'use strict';
const http = require('http');
const fs = require('fs');
const delay = Number(process.argv[2]);
const portFile = process.argv[3];
let inFlight = 0, peakInFlight = 0, requests = 0, accepted = 0;
let cpuBase = process.cpuUsage();
const server = http.createServer((req, res) => {
    if (req.url === '/stats') {
        const cpu = process.cpuUsage(cpuBase);
        res.end(`${requests} ${peakInFlight} ${accepted} ` +
                `${Math.round((cpu.user + cpu.system) / 1000)}\n`);
        return;
    }
    if (req.url === '/reset') {
        requests = accepted = 0;
        cpuBase = process.cpuUsage();
        peakInFlight = inFlight;
        res.end('ok\n');
        return;
    }
    requests++;
    if (++inFlight > peakInFlight) peakInFlight = inFlight;
    const answer = () => { inFlight--; res.end('ok\n'); };
    if (delay > 0) setTimeout(answer, delay); else answer();
});
server.on('connection', () => { accepted++; });
server.listen(0, '127.0.0.1', 4096, () => {
    fs.writeFileSync(portFile + '.tmp', String(server.address().port));
    fs.renameSync(portFile + '.tmp', portFile);
});
process.on('SIGTERM', () => process.exit(0));
EOF
node "$dir/server.js" "$delay_ms" "$dir/port" 2>"$dir/http-server.log" &
bench_helper_pids+=($!)
deadline=$((SECONDS + 10))
until [ -s "$dir/port" ]; do
    [ $SECONDS -lt $deadline ] || { cat "$dir/http-server.log" >&2; die "the HTTP server did not start"; }
    sleep 0.05
done
port=$(cat "$dir/port")
server_url=http://127.0.0.1:$port
say "HTTP server: node $(node --version) on 127.0.0.1:$port"

# server_stats : reads /stats into s_requests, s_peak (requests in flight at
# once), s_accepted (connections), s_cpu_ms
server_stats() {
    local line
    line=$(curl -s -S --max-time 5 "$server_url/stats") || die "cannot read the HTTP server's counters"
    read -r s_requests s_peak s_accepted s_cpu_ms <<<"$line"
    s_accepted=$((s_accepted - 1)) # less the connection of this request
    [ "$s_requests" = "$jobs" ] || say "warning: the HTTP server saw $s_requests requests, not $jobs"
}
server_reset() {
    curl -s -S --max-time 5 -o /dev/null "$server_url/reset" || die "cannot reset the HTTP server's counters"
}

clk_tck=$(getconf CLK_TCK)

# ---- the sampler -----------------------------------------------------------
# node sampler.js PID MS: every MS ms, Threads and VmHWM of /proc/PID/status
# and the entries of /proc/PID/fd, and its CPU time (utime + stime of
# /proc/PID/stat); on SIGTERM or when PID is gone, prints "first_threads
# first_fds peak_threads peak_fds peak_rss_kb samples max_gap_ms cpu_ticks
# last_threads last_fds" (cpu_ticks: used between the first sample and the
# last).
cat >"$dir/sampler.js" <<'EOF'
'use strict';
const fs = require('fs');
const pid = process.argv[2], every = Number(process.argv[3]);
let first = null, threads = 0, fds = 0, hwm = 0, samples = 0, maxGap = 0, last = 0, done = false;
let cpu0 = 0, cpu = 0, latest = [0, 0];
function finish() {
    if (done) return;
    done = true;
    const f = first || [0, 0];
    process.stdout.write(`${f[0]} ${f[1]} ${threads} ${fds} ${hwm} ${samples} ${maxGap.toFixed(1)} ` +
                         `${cpu - cpu0} ${latest[0]} ${latest[1]}\n`);
    process.exit(0);
}
function sample() {
    let t, n, h, c;
    try {
        const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
        const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        c = Number(f[11]) + Number(f[12]);
        const st = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
        t = Number(/^Threads:\s*(\d+)/m.exec(st)[1]);
        h = Number(/^VmHWM:\s*(\d+)/m.exec(st)[1]);
        n = fs.readdirSync(`/proc/${pid}/fd`).length;
    } catch (e) {
        return finish();
    }
    const now = performance.now();
    if (samples > 0 && now - last > maxGap) maxGap = now - last;
    last = now;
    samples++;
    if (first === null) {
        first = [t, n];
        cpu0 = c;
    }
    cpu = c;
    latest = [t, n];
    threads = Math.max(threads, t);
    fds = Math.max(fds, n);
    hwm = Math.max(hwm, h);
    setTimeout(sample, every);
}
process.on('SIGTERM', finish);
sample();
EOF

# ---- baseline: curl --parallel ---------------------------------------------
# Sets b_rps, b_secs, b_failed, b_peak, b_accepted.
run_curl() {
    local nproc_curl per i n start end failed=0 pids=() pid
    # curl caps --parallel-max at 300.
    nproc_curl=$(((max_running + 299) / 300))
    [ "$nproc_curl" -le "$jobs" ] || nproc_curl=$jobs
    per=$(((max_running + nproc_curl - 1) / nproc_curl))
    [ "$per" -le 300 ] || per=300
    rm -f "$dir"/curl-*
    for ((i = 0; i < nproc_curl; i++)); do
        n=$((jobs / nproc_curl + (i < jobs % nproc_curl ? 1 : 0)))
        awk -v n="$n" -v u="$server_url/task" \
            'BEGIN { for (i = 0; i < n; i++) printf "url = \"%s\"\noutput = \"/dev/null\"\n", u }' \
            >"$dir/curl-$i.conf"
    done
    server_reset
    start=$EPOCHREALTIME
    for ((i = 0; i < nproc_curl; i++)); do
        curl -s --parallel --parallel-immediate --parallel-max "$per" -K "$dir/curl-$i.conf" \
            -w '%{http_code}\n' >"$dir/curl-$i.codes" 2>"$dir/curl-$i.err" &
        pids+=($!)
    done
    for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
    end=$EPOCHREALTIME
    server_stats
    b_peak=$s_peak b_accepted=$s_accepted
    b_secs=$(calc %.3f "$end - $start")
    b_rps=$(calc %.0f "$jobs / ($end - $start)")
    b_server_cpu=$(calc %.0f "100 * $s_cpu_ms / 1000 / $b_secs")
    b_failed=$(cat "$dir"/curl-*.codes | grep -c -v '^200$')
    if [ "$failed" = 1 ] || [ "$b_failed" != 0 ]; then
        say "warning: $b_failed baseline requests did not get a 200: $(cat "$dir"/curl-*.err | head -n 1)"
        [ "$b_failed" != 0 ] || b_failed=1
    fi
    b_nproc=$nproc_curl
}

# ---- tablecron -----------------------------------------------------------------
# Sets the r_* variables.
run_tablecron() {
    local tag=$1 sampler row
    bench_empty_tables
    bench_start_instances 1 "$tag" --max-running "$max_running" --batch "$batch" --lease 30s --log-level debug
    # Real-time priority when allowed: on 2 busy cores a normal process
    # misses its period now and then.
    if [ "$(id -u)" = 0 ] && command -v chrt >/dev/null; then
        chrt -f 1 node "$dir/sampler.js" "${instance_pids[0]}" "$sample_ms" >"$dir/sampler.out" &
    else
        node "$dir/sampler.js" "${instance_pids[0]}" "$sample_ms" >"$dir/sampler.out" &
    fi
    sampler=$!
    server_reset
    bench_reset_db_stats
    bench_insert_oneoff "$jobs" http "{\"url\": \"http://$host:$port/task\", \"method\": \"GET\"}" 60
    bench_wait_finished "$jobs" $((20 + jobs / 50))
    server_stats
    r_peak=$s_peak r_accepted=$s_accepted
    kill -TERM "$sampler" 2>/dev/null
    wait "$sampler"
    read -r r_idle_threads r_idle_fds r_threads r_fds r_rss r_samples r_gap r_ticks r_end_threads r_end_fds \
        <"$dir/sampler.out" ||
        die "no figures from the sampler"
    stop_instances

    row=$(q "SELECT count(*), count(*) FILTER (WHERE status = 'succeeded'),
                    round(extract(epoch FROM max(finished_at) - timestamptz '$t0')::numeric, 3),
                    round(extract(epoch FROM min(started_at) - timestamptz '$t0')::numeric * 1000),
                    round(extract(epoch FROM max(started_at) - timestamptz '$t0')::numeric * 1000),
                    round(extract(epoch FROM avg(finished_at - started_at))::numeric * 1000)
               FROM executions")
    IFS='|' read -r r_execs r_ok r_secs r_first_ms r_last_start_ms r_hold_ms <<<"$row"
    r_failed=$((r_execs - r_ok))
    if [ "$r_failed" != 0 ]; then
        say "warning: $r_failed of $r_execs executions did not succeed:" \
            "$(q "SELECT string_agg(status || ' ' || n, ', ') FROM (SELECT status, count(*) n FROM executions
                   WHERE status <> 'succeeded' GROUP BY 1 ORDER BY 2 DESC) s")"
        say "first error: $(q "SELECT coalesce(error, '(none)') FROM executions WHERE status <> 'succeeded' ORDER BY id LIMIT 1")"
    fi
    r_rate=$(calc %.0f "$jobs / $r_secs")
    r_rounds=$(grep -c 'claim round' "$dir/inst-1.log")
    r_errors=$(grep -c 'level=error' "$dir/inst-1.log")
    r_server_cpu=$(calc %.0f "100 * $s_cpu_ms / 1000 / $r_secs")
    r_cpu=$(calc %.0f "100 * $r_ticks / $clk_tck / $r_secs")
    bench_db_stats "$jobs"
    r_sync_pct=$(calc %.0f "100 * $r_sync_ms / 1000 / $r_secs")
    [ $show_statements = 1 ] && bench_print_statements "$jobs" "run $run"
    return 0
}

# ---- baseline: serial commits ------------------------------------------------
pgbench_tps=$(bench_pgbench_update 1 "$pgbench_s") || exit 1
bench_pgbench_done
say "pgbench single-row UPDATE, 1 client, ${pgbench_s}s: $pgbench_tps tps"

# median VALUE... , maxof VALUE... : of numbers
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
maxof() { printf '%s\n' "$@" | sort -g | tail -n 1; }

declare -A all
add() { all[$1]+="$2 "; }
failed_total=0
for ((run = 1; run <= runs; run++)); do
    run_curl
    say "run $run: curl --parallel ($b_nproc process(es)): $jobs requests in ${b_secs}s = $b_rps/s," \
        "at most $b_peak in flight, $b_accepted connections, $b_failed failed;" \
        "HTTP server CPU ${b_server_cpu}% of the time"
    run_tablecron "r$run"
    say "run $run: tablecron: $r_ok of $jobs http tasks succeeded in ${r_secs}s after T0 = $r_rate/s" \
        "(claims started ${r_first_ms}..${r_last_start_ms} ms after T0 in $r_rounds claim rounds;" \
        "a task held its slot ${r_hold_ms} ms on average; at most $r_peak requests in flight," \
        "$r_accepted connections); CPU: instance ${r_cpu}%, HTTP server ${r_server_cpu}% of the run;" \
        "threads $r_idle_threads before, $r_threads peak, $r_end_threads after;" \
        "fds $r_idle_fds before, $r_fds peak, $r_end_fds after;" \
        "VmHWM $r_rss kB; $r_samples samples, longest gap ${r_gap} ms;" \
        "$r_stmts_per statements ($r_writes_per writing), $r_syncs_per WAL fsyncs per task," \
        "WAL fsyncs took ${r_sync_ms} ms (${r_sync_pct}% of the run);" \
        "errors logged $r_errors"
    awk -v g="$r_gap" -v m="$sample_ms" 'BEGIN { exit !(g > 2 * m) }' &&
        say "warning: the sampler missed its ${sample_ms} ms period (longest gap ${r_gap} ms): a short-lived thread could be missed"
    add curl_rps "$b_rps"
    add curl_in_flight "$b_peak"
    add curl_server_cpu "$b_server_cpu"
    add rate "$r_rate"
    add threads "$r_threads"
    add fds "$r_fds"
    add rss "$r_rss"
    add in_flight "$r_peak"
    add cpu "$r_cpu"
    add server_cpu "$r_server_cpu"
    add stmts "$r_stmts_per"
    add syncs "$r_syncs_per"
    add sync_pct "$r_sync_pct"
    add gap "$r_gap"
    failed_total=$((failed_total + r_failed + b_failed))
done
# Rates and CPU shares: the median run; peaks: the highest.
# shellcheck disable=SC2086 # the values are split on purpose
med() { median ${all[$1]}; }
# shellcheck disable=SC2086
top() { maxof ${all[$1]}; }

tasks_per_s=$(med rate)
curl_rps=$(med curl_rps)
ratio=$(calc %.3f "$tasks_per_s / $curl_rps")
if [ "$delay_ms" -gt 0 ]; then
    # Every wave of max_running tasks takes at least the delay.
    ideal=$(calc %.0f "$jobs / (int(($jobs + $max_running - 1) / $max_running) * $delay_ms / 1000)")
    vs_ideal=$(calc %.3f "$tasks_per_s / $ideal")
else
    ideal=inf
    vs_ideal=0
fi

# ---- report ---------------------------------------------------------------
echo "cores=$ncpu"
echo "loadavg_at_start=$loadavg"
echo "postgresql=$pgver"
echo "jobs_per_run=$jobs"
echo "delay_ms=$delay_ms"
echo "max_running=$max_running"
echo "batch=$batch"
echo "runs=$runs"
echo "http_tasks_per_s=$tasks_per_s"
echo "http_tasks_peak_threads=$(top threads)"
echo "http_tasks_peak_fds=$(top fds)"
echo "http_tasks_peak_rss_kb=$(top rss)"
echo "http_tasks_peak_in_flight=$(top in_flight)"
echo "http_tasks_instance_cpu_pct=$(med cpu)"
echo "http_tasks_server_cpu_pct=$(med server_cpu)"
echo "http_tasks_stmts_per_task=$(med stmts)"
echo "http_tasks_wal_fsyncs_per_task=$(med syncs)"
echo "http_tasks_wal_fsync_pct=$(med sync_pct)"
echo "curl_parallel_rps=$curl_rps"
echo "curl_parallel_peak_in_flight=$(top curl_in_flight)"
echo "curl_parallel_server_cpu_pct=$(med curl_server_cpu)"
echo "http_tasks_vs_curl_parallel=$ratio"
echo "pgbench_update_tps_c1=$pgbench_tps"
echo "http_tasks_vs_pgbench_c1=$(calc %.3f "$tasks_per_s / $pgbench_tps")"
echo "http_tasks_ideal_per_s=$ideal"
echo "http_tasks_vs_ideal=$vs_ideal"
echo "sampler_max_gap_ms=$(top gap)"
echo "failed=$failed_total"
echo
fmt='%-10s %7s %7s %9s %7s %5s %7s %7s %8s %8s\n'
printf "$fmt" client per_s vs_curl in_flight threads fds rss_kb cpu_pct srv_cpu% fsyncs/t
printf "$fmt" curl "$curl_rps" 1.000 "$(top curl_in_flight)" - - - - "$(med curl_server_cpu)" -
printf "$fmt" tablecron "$tasks_per_s" "$ratio" "$(top in_flight)" "$(top threads)" "$(top fds)" \
    "$(top rss)" "$(med cpu)" "$(med server_cpu)" "$(med syncs)"
printf "$fmt" pgbench_c1 "$pgbench_tps" "$(calc %.3f "$pgbench_tps / $curl_rps")" 1 - - - - - 1
[ "$delay_ms" -gt 0 ] && printf "$fmt" ideal "$ideal" "$(calc %.3f "$ideal / $curl_rps")" \
    $((jobs < max_running ? jobs : max_running)) - - - - - -
[ "$failed_total" = 0 ] || exit 1
exit 0
