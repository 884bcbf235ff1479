#!/bin/bash
# bench/api_load.sh - requests per second and p99 latency of the API's two
# big listings, GET /api/v1/jobs and GET /api/v1/executions, with 10,000
# jobs in the table, measured with wrk.
#
# A load check, not a test: it passes or fails nothing, it prints figures.
# It exits 1 (after printing them) if a request did not answer 200, since
# the rate then means little.
#
#   bench/api_load.sh [--quick] [--jobs N] [--executions-per-job N]
#                     [--seconds S] [--connections C] [--threads T]
#                     [--http-threads N] [--limit N] [--executions-total N]
#
#   --quick              3 s per run instead of 10
#   --jobs N             jobs in the table (10000)
#   --executions-per-job finished executions of each job (5: 50,000 rows)
#   --seconds S          length of each wrk run (10)
#   --connections C      wrk's open connections (32)
#   --threads T          wrk's threads (2)
#   --http-threads N     the instance's API worker threads, each with its
#                        own database connection (--http-threads; 8)
#   --limit N            ?limit= of every request: items per page (50, the
#                        API's default)
#   --executions-total N after the wrk runs, add executions until the table
#                        holds N rows (1% of them failed), then time the
#                        executions listing and its filters (0: skip; it
#                        takes about 10 s per million rows)
#
# Output: progress and details on stderr as "# ..." lines; on stdout one
# name=value line per figure: api_jobs_rps, api_jobs_p50_ms, api_jobs_p99_ms,
# api_executions_rps, api_executions_p50_ms, api_executions_p99_ms, and
# the requests that did not answer 200 (api_*_non_200); with
# --executions-total, executions_rows and the median time of 5 requests
# (curl's time_total) of the first page of GET /api/v1/executions:
# executions_list_ms (no filter), executions_filter_status_ms
# (?status=failed), executions_filter_job_ms (?job=), and
# executions_filter_since_ms (?since= and ?until= one day in the middle of
# the history).
#
# The tablecron binary comes from $TABLECRON, else ./build/tablecron (relative
# to the source tree); the script builds nothing.  It needs the PostgreSQL
# server (Debian's postgresql and postgresql-contrib) and wrk (Debian's
# wrk), and installs them with apt-get if they are missing.
#
# Method:
#   - a private PostgreSQL server in a fresh /tmp directory with the default
#     durability, as for bench/claims.sh (bench/lib.sh); stopped and removed
#     at exit whatever happens;
#   - N jobs in 10 departments, every job with its finished executions; a
#     user who is viewer of all 10 departments, with a bearer token: the
#     requests go through the whole permission path (the membership filter
#     of a non-admin caller), first page of each listing;
#   - one instance, `tablecron serve --no-scheduler` (API only), on
#     127.0.0.1 and a free port; a warm-up request, then wrk for S seconds
#     against each listing in turn (--latency: p50 and p99).
set -u -o pipefail

usage() {
    sed -n '2,/^set -u/p' "$0" | sed -e '/^set -u/d' -e 's/^# \{0,1\}//'
}

srcdir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bench_name=api_load.sh
. "$srcdir/bench/lib.sh"

# ---- options -----------------------------------------------------------
jobs=10000
per_job=5
seconds=10
connections=32
threads=2
http_threads=8
limit=50
exec_total=0
while [ $# -gt 0 ]; do
    case $1 in
    --quick) seconds=3 ;;
    --jobs) need_arg "$@"; jobs=$2; shift ;;
    --executions-per-job) need_arg "$@"; per_job=$2; shift ;;
    --seconds) need_arg "$@"; seconds=$2; shift ;;
    --connections) need_arg "$@"; connections=$2; shift ;;
    --threads) need_arg "$@"; threads=$2; shift ;;
    --http-threads) need_arg "$@"; http_threads=$2; shift ;;
    --limit) need_arg "$@"; limit=$2; shift ;;
    --executions-total) need_arg "$@"; exec_total=$2; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "api_load.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
    esac
    shift
done
need_numbers "$jobs" "$per_job" "$seconds" "$connections" "$threads" "$http_threads" "$limit" \
    "$exec_total"
[ "$jobs" -ge 1 ] && [ "$seconds" -ge 1 ] && [ "$connections" -ge "$threads" ] && [ "$threads" -ge 1 ] ||
    { echo "api_load.sh: --jobs and --seconds must be at least 1, --connections at least --threads" >&2; exit 2; }

# ---- tools -------------------------------------------------------------
bench_find_tablecron
bench_need_postgres
command -v wrk >/dev/null 2>&1 || bench_apt_install wrk
command -v wrk >/dev/null 2>&1 || die "wrk is still missing after apt-get"
command -v curl >/dev/null 2>&1 || bench_apt_install curl
export no_proxy=127.0.0.1 NO_PROXY=127.0.0.1
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY

bench_start_postgres

# ---- data ----------------------------------------------------------------
token="bench-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
say "inserting $jobs jobs in 10 departments and $((jobs * per_job)) executions"
q "INSERT INTO departments (name) SELECT 'dept-' || g FROM generate_series(1, 10) g" \
  "INSERT INTO users (login, display_name) VALUES ('bench', 'load check')" \
  "INSERT INTO memberships (user_id, department_id, role)
     SELECT u.id, d.id, 'viewer' FROM users u, departments d
      WHERE u.login = 'bench' AND d.name LIKE 'dept-%'" \
  "INSERT INTO api_tokens (user_id, name, token_hash)
     SELECT id, 'api_load.sh', encode(sha256(convert_to('$token', 'UTF8')), 'hex')
       FROM users WHERE login = 'bench'" \
  "INSERT INTO jobs (department_id, name, description, schedule, kind, config, next_time)
     SELECT (SELECT id FROM departments WHERE name = 'dept-' || (1 + g % 10)),
            'load-' || lpad(g::text, 6, '0'), 'job ' || g, '*/5 * * * *', 'shell',
            jsonb_build_object('command', 'echo ' || g),
            now() + (g % 300) * interval '1 second'
       FROM generate_series(1, $jobs) g" \
  "INSERT INTO executions (job_id, scheduled_for, instance_id, status, started_at, finished_at,
                           exit_code, output)
     SELECT j.id, now() - k * interval '5 minutes', 'bench', 'succeeded',
            now() - k * interval '5 minutes', now() - k * interval '5 minutes' + interval '1 second',
            0, 'output ' || k
       FROM jobs j, generate_series(1, $per_job) k" \
  "VACUUM ANALYZE" >/dev/null || die "cannot insert the data"

# ---- the instance ------------------------------------------------------------
log=$dir/serve.log
PGUSER=tablecron "$TABLECRON" serve --no-scheduler --instance-id load --listen 127.0.0.1:0 \
    --http-threads "$http_threads" >"$log" 2>&1 &
instance_pids+=($!)
deadline=$((SECONDS + 20))
url=
while [ -z "$url" ]; do
    [ $SECONDS -lt $deadline ] || { tail -n 5 "$log" >&2; die "the instance did not start"; }
    kill -0 "${instance_pids[0]}" 2>/dev/null || { tail -n 5 "$log" >&2; die "the instance died"; }
    sleep 0.1
    url=$(sed -n 's/.*msg=starting .* api=\(http[^ ]*\).*/\1/p' "$log" | tail -n 1)
done
say "instance on $url with $http_threads API threads; wrk: $threads threads, $connections connections, ${seconds}s per run"

# check PATH FIELD: one request, 200 with the listing; warms the connections up
check() {
    local body
    body=$(curl -s -H "Authorization: Bearer $token" "$url$1") || die "GET $1 failed"
    case $body in
    '{"items":['*) ;;
    *) die "GET $1 answered: ${body:0:200}" ;;
    esac
    printf '%s' "$body"
}
total=$(check "/api/v1/jobs?limit=1" | sed -n 's/.*"total":\([0-9]*\).*/\1/p')
[ "$total" = "$jobs" ] || die "the token's user sees $total jobs, not $jobs"
check "/api/v1/executions?limit=1" >/dev/null

# wrk's "1.23ms" / "850.00us" / "1.02s" as milliseconds
to_ms() {
    awk -v v="$1" 'BEGIN {
        n = v + 0
        if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n += 0; else if (v ~ /s$/) n *= 1000
        printf "%.2f", n }'
}

declare -A fig
order=()
bad=0
# run NAME PATH: wrk against PATH; figures NAME_rps, NAME_p50_ms, NAME_p99_ms, NAME_non_200
run() {
    local name=$1 path=$2 out
    say "wrk GET $path for ${seconds}s"
    out=$(wrk -t "$threads" -c "$connections" -d "${seconds}s" --latency \
        -H "Authorization: Bearer $token" "$url$path" 2>&1) || { printf '%s\n' "$out" >&2; die "wrk failed"; }
    printf '%s\n' "$out" | sed 's/^/#   /' >&2
    fig[${name}_rps]=$(printf '%s\n' "$out" | awk '/^Requests\/sec:/ { printf "%.0f", $2 }')
    fig[${name}_p50_ms]=$(to_ms "$(printf '%s\n' "$out" | awk '$1 == "50%" { print $2 }')")
    fig[${name}_p99_ms]=$(to_ms "$(printf '%s\n' "$out" | awk '$1 == "99%" { print $2 }')")
    fig[${name}_non_200]=$(printf '%s\n' "$out" | awk '/Non-2xx or 3xx responses:/ { n = $NF } END { print n + 0 }')
    errors=$(printf '%s\n' "$out" | awk '/Socket errors:/ { print }')
    [ -z "$errors" ] || say "$name: $errors"
    [ "${fig[${name}_non_200]}" = 0 ] || bad=1
    order+=("${name}_rps" "${name}_p50_ms" "${name}_p99_ms" "${name}_non_200")
}
run api_jobs "/api/v1/jobs?limit=$limit"
run api_executions "/api/v1/executions?limit=$limit"

# ---- executions: list and filters over a long history --------------------
# ms_of PATH : median of 5 requests' time_total, in ms (after one warm-up)
ms_of() {
    local i times=() t
    curl -s -o /dev/null -H "Authorization: Bearer $token" "$url$1" || die "GET $1 failed"
    for i in 1 2 3 4 5; do
        t=$(curl -s -o "$dir/page.json" -w '%{http_code} %{time_total}' \
            -H "Authorization: Bearer $token" "$url$1") || die "GET $1 failed"
        [ "${t%% *}" = 200 ] || die "GET $1 answered ${t%% *}: $(head -c 200 "$dir/page.json")"
        times+=("${t#* }")
    done
    printf '%s\n' "${times[@]}" | sort -g | awk '{ v[NR] = $1 } END { printf "%.2f", v[3] * 1000 }'
}
have=$((jobs * per_job))
if [ "$exec_total" -gt "$have" ]; then
    # Older fire times than the ones above, every job in turn, one row in
    # 100 failed; in statements of a million rows.
    first=$(q "SELECT min(id) FROM jobs")
    say "adding $((exec_total - have)) executions (to $exec_total)"
    for ((from = 0; from < exec_total - have; from += 1000000)); do
        n=$((exec_total - have - from < 1000000 ? exec_total - have - from : 1000000))
        q "INSERT INTO executions (job_id, scheduled_for, instance_id, status, started_at, finished_at,
                                   exit_code, output, error)
             SELECT $first + g % $jobs, t, 'bench', CASE WHEN g % 100 = 7 THEN 'failed' ELSE 'succeeded' END,
                    t, t + interval '1 second', CASE WHEN g % 100 = 7 THEN 1 ELSE 0 END, 'output',
                    CASE WHEN g % 100 = 7 THEN 'exit status 1' END
               FROM generate_series($from, $from + $n - 1) g,
                    LATERAL (SELECT now() - ($per_job + 1 + g / $jobs) * interval '5 minutes' AS t) s" \
            >/dev/null || die "cannot add executions"
    done
    q "VACUUM ANALYZE executions" >/dev/null
    rows=$(q "SELECT count(*) FROM executions")
    middle_job=$((first + jobs / 2))
    read -r middle_day next_day < <(q "SELECT to_char(d, 'YYYY-MM-DD') || ' ' || to_char(d + interval '1 day', 'YYYY-MM-DD')
                                        FROM (SELECT min(started_at) + (max(started_at) - min(started_at)) / 2 AS d
                                                FROM executions) s")
    fig[executions_rows]=$rows
    fig[executions_list_ms]=$(ms_of "/api/v1/executions?limit=$limit")
    fig[executions_filter_status_ms]=$(ms_of "/api/v1/executions?status=failed&limit=$limit")
    fig[executions_filter_job_ms]=$(ms_of "/api/v1/executions?job=$middle_job&limit=$limit")
    fig[executions_filter_since_ms]=$(ms_of "/api/v1/executions?since=$middle_day&until=$next_day&limit=$limit")
    say "executions: $rows rows; first page $limit items: ${fig[executions_list_ms]} ms," \
        "?status=failed ${fig[executions_filter_status_ms]} ms, ?job= ${fig[executions_filter_job_ms]} ms," \
        "?since=$middle_day&until=$next_day ${fig[executions_filter_since_ms]} ms"
    order+=(executions_rows executions_list_ms executions_filter_status_ms executions_filter_job_ms
        executions_filter_since_ms)
fi
grep -q 'level=error' "$log" && { say "the instance logged errors:"; grep 'level=error' "$log" | head -n 5 | sed 's/^/#   /' >&2; bad=1; }

echo "cores=$ncpu"
echo "loadavg_at_start=$loadavg"
echo "postgresql=$pgver"
echo "jobs=$jobs"
echo "executions=$((jobs * per_job))"
echo "limit=$limit"
echo "wrk_threads=$threads"
echo "wrk_connections=$connections"
echo "http_threads=$http_threads"
echo "seconds_per_run=$seconds"
for k in "${order[@]}"; do echo "$k=${fig[$k]}"; done
exit $bad
