# nginx_failover.sh - etc/nginx-tablecron.conf itself, with test addresses
# put in by sed, run by Debian's nginx in front of two `serve` instances:
# the pages, the API (a session opened and used through nginx), both
# instances sharing the requests, HTTPS with the example's TLS lines; then
# one instance is killed with SIGKILL and every request of a steady stream
# (reads and creates) still succeeds, each job created exactly once; the
# instance restarted on its port gets requests again after fail_timeout.
#
# nginx runs in the foreground with master_process off: one process, so
# that lib.sh's SIGKILL at exit leaves no orphaned worker behind.  All its
# files (logs, pid, temp directories) live under $TC_TMP/nginx.
. "$TC_SRCDIR/tests/lib.sh"
plan 23

tc_need_tools curl python3 openssl
NGINX=${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}
[ -x "$NGINX" ] || tc_bail "missing tools: nginx (scripts/deps.sh installs it)"
example=$TC_SRCDIR/etc/nginx-tablecron.conf
password='nginx-failover-pw-1'

"$TABLECRON" migrate >/dev/null 2>&1 || tc_bail "migrate failed"
echo "$password" | "$TABLECRON" user add admin --admin --password-stdin >/dev/null 2>&1 ||
    tc_bail "user add failed"

# start_instance NAME LOGFILE [ARGS...]: a `serve` with the pages and
# every request logged (msg=request); its pid in $TC_BG_PID.
start_instance() {
    local name=$1 log=$2
    shift 2
    start_bg "$log" env TABLECRON_WWW_DIR="$TC_SRCDIR/www" \
        "$TABLECRON" serve --instance-id "$name" --log-level debug "$@"
    wait_until 15 grep -q 'msg=starting' "$log" || tc_bail "serve $name did not start: $(tail -3 "$log")"
}
start_instance ngx-a "$TC_TMP/a.log"
pid_a=$TC_BG_PID
start_instance ngx-b "$TC_TMP/b.log" --no-scheduler
port_a=$(tc_api_url "$TC_TMP/a.log" | sed 's/.*://')
port_b=$(tc_api_url "$TC_TMP/b.log" | sed 's/.*://')
[ -n "$port_a" ] && [ -n "$port_b" ] || tc_bail "no API ports in the logs"

# --- nginx with the example -------------------------------------------------
N=$TC_TMP/nginx
mkdir -p "$N/tmp"
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 \
    -addext subjectAltName=IP:127.0.0.1 -keyout "$N/key.pem" -out "$N/cert.pem" \
    >"$N/openssl.log" 2>&1 || tc_bail "openssl: $(cat "$N/openssl.log")"

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# make_config: the example with the instances' ports, a plain port
# ($port) and the TLS lines enabled on $tls_port, inside a main config of
# our own (the example is a site file, read inside the http block).
make_config() {
    sed -e "s/10\.0\.0\.11:8080/127.0.0.1:$port_a/" \
        -e "s/10\.0\.0\.12:8080/127.0.0.1:$port_b/" \
        -e "s/^\( *\)listen 80;/\1listen 127.0.0.1:$port;/" \
        -e "s/^\( *\)#listen 443 ssl;/\1listen 127.0.0.1:$tls_port ssl;/" \
        -e "s|^\( *\)#ssl_certificate  *[^;]*;|\1ssl_certificate $N/cert.pem;|" \
        -e "s|^\( *\)#ssl_certificate_key  *[^;]*;|\1ssl_certificate_key $N/key.pem;|" \
        "$example" >"$N/tablecron.conf"
    cat >"$N/nginx.conf" <<EOF
master_process off;
events { worker_connections 256; }
http {
    access_log $N/access.log;
    client_body_temp_path $N/tmp/body;
    proxy_temp_path $N/tmp/proxy;
    fastcgi_temp_path $N/tmp/fastcgi;
    uwsgi_temp_path $N/tmp/uwsgi;
    scgi_temp_path $N/tmp/scgi;
    include $N/tablecron.conf;
}
EOF
}
nginx_args() {
    echo -p "$N/" -c "$N/nginx.conf" -e "$N/error.log"
}

port=$(free_port)
tls_port=$(free_port)
make_config
# Each substitution must have hit exactly its line, or the test would
# no longer run what the example says.
subst=$(grep -c -e "server 127.0.0.1:$port_a max_fails=" -e "server 127.0.0.1:$port_b max_fails=" \
    -e "listen 127.0.0.1:$port;" -e "listen 127.0.0.1:$tls_port ssl;" \
    -e "ssl_certificate $N/cert.pem;" -e "ssl_certificate_key $N/key.pem;" "$N/tablecron.conf")
is "$subst" 6 "the example's instances, listen and TLS lines take the test's addresses"
# shellcheck disable=SC2046
run_ok "nginx -t accepts the example" "$NGINX" -t $(nginx_args) -g "pid $N/nginx.pid;"

# Start; a port taken between free_port and nginx's bind means new ports.
nginx_up() {
    ! kill -0 "$ngx_pid" 2>/dev/null || curl -sf -o /dev/null "http://127.0.0.1:$port/healthz"
}
for _ in 1 2 3 4 5; do
    # shellcheck disable=SC2046
    start_bg "$N/nginx.out" "$NGINX" $(nginx_args) -g "daemon off; pid $N/nginx.pid; error_log $N/error.log warn;"
    ngx_pid=$TC_BG_PID
    wait_until 15 nginx_up
    kill -0 "$ngx_pid" 2>/dev/null && break
    grep -q 'Address already in use' "$N/error.log" "$N/nginx.out" ||
        tc_bail "nginx did not start: $(tail -5 "$N/error.log" "$N/nginx.out")"
    port=$(free_port)
    tls_port=$(free_port)
    make_config
done
kill -0 "$ngx_pid" 2>/dev/null || tc_bail "nginx found no free port"
ngx=http://127.0.0.1:$port

# --- through nginx, both instances up ------------------------------------------
get() { curl -s --max-time 20 -o "$TC_TMP/body" -w '%{http_code}' "$@"; }
is "$(get "$ngx/healthz") $(cat "$TC_TMP/body")" '200 {"status":"ok"}' "/healthz through nginx"
like "$(get "$ngx/readyz") $(cat "$TC_TMP/body")" '^200 \{"status":"ready"' "/readyz through nginx"
code=$(get "$ngx/")
if [ "$code" = 200 ] && cmp -s "$TC_TMP/body" "$TC_SRCDIR/www/index.html"; then
    pass "/ through nginx is the pages' index.html"
else fail "/ through nginx is the pages' index.html" "$code $(head -c 200 "$TC_TMP/body")"; fi
is "$(get "$ngx/metrics")" 403 "/metrics is not published through nginx"
is "$(get "$ngx/api/v1/jobs")" 401 "the API answers through nginx (401 without a session)"
is "$(get --cacert "$N/cert.pem" "https://127.0.0.1:$tls_port/readyz")" 200 \
    "HTTPS with the example's TLS lines"

jar=$TC_TMP/cookies
login=$(python3 -c 'import json, sys; print(json.dumps({"login": "admin", "password": sys.argv[1]}))' "$password")
is "$(get -c "$jar" -H 'Content-Type: application/json' --data-binary "$login" "$ngx/api/v1/login")" 200 \
    "signed in through nginx"
csrf=$(python3 -c 'import json, sys; print(json.load(sys.stdin)["csrf_token"])' <"$TC_TMP/body" 2>/dev/null)
[ -n "$csrf" ] && grep -q tablecron_session "$jar" || tc_bail "no session: $(cat "$TC_TMP/body")"

# api METHOD PATH [BODY]: through nginx with the session (and its CSRF
# token for changes); prints the status, the body is in $TC_TMP/body.
api() {
    if [ "$1" = GET ]; then
        get -b "$jar" "$ngx$2"
    else
        get -b "$jar" -X "$1" -H "X-CSRF-Token: $csrf" -H 'Content-Type: application/json' \
            --data-binary "$3" "$ngx$2"
    fi
}
job() { printf '{"name": "%s", "department": "default", "schedule": "0 3 * * *", "kind": "shell", "config": {"command": "true"}}' "$1"; }
is "$(api POST /api/v1/jobs "$(job ngx-first)")" 201 "a job created with the session and its CSRF token"
codes=
for i in 1 2 3 4 5 6 7 8 9 10; do codes="$codes$(api GET /api/v1/jobs) "; done
is "$codes" "$(printf '200 %.0s' 1 2 3 4 5 6 7 8 9 10)" "the session reads jobs through nginx"
requests() { grep -c 'msg=request ' "$1"; }
n_a=$(requests "$TC_TMP/a.log")
n_b=$(requests "$TC_TMP/b.log")
if [ "$n_a" -gt 0 ] && [ "$n_b" -gt 0 ]; then pass "both instances served requests ($n_a and $n_b)"
else fail "both instances served requests" "instance a: $n_a, instance b: $n_b"; fi

# --- one instance killed -----------------------------------------------------------
kill -KILL "$pid_a"
wait "$pid_a" 2>/dev/null
kill -0 "$pid_a" 2>/dev/null && tc_bail "instance a survived SIGKILL"
bad=
n_get=0 n_post=0
for i in $(seq 1 200); do
    case $((i % 4)) in
    0) path=/healthz ;;
    1) path=/readyz ;;
    *) path=/api/v1/jobs ;;
    esac
    code=$(api GET "$path")
    n_get=$((n_get + 1))
    case $code in 2??) ;; *) bad="$bad GET $path=$code" ;; esac
    if [ $((i % 10)) = 0 ]; then
        code=$(api POST /api/v1/jobs "$(job "ngx-$((i / 10))")")
        n_post=$((n_post + 1))
        case $code in 2??) ;; *) bad="$bad POST ngx-$((i / 10))=$code($(head -c 100 "$TC_TMP/body"))" ;; esac
    fi
done
is "$n_get $n_post" "200 20" "a stream of 200 reads and 20 creates ran"
is "$bad" "" "every request succeeded through nginx with one instance killed"
like "$(grep -c "Connection refused.*127.0.0.1:$port_a" "$N/error.log")" '^[1-9]' \
    "nginx did try the killed instance (and passed those requests on)"
is "$(q "SELECT count(*), count(DISTINCT name) FROM jobs WHERE name ~ '^ngx-[0-9]+\$'")" "20|20" \
    "the 20 jobs exist, once each"
is "$(q "SELECT count(*) FROM audit_log WHERE action = 'job.create' AND after->>'name' ~ '^ngx-[0-9]+\$'")" 20 \
    "each was created by one request (one audit row each)"
is "$(q "SELECT string_agg(name, ' ' ORDER BY substr(name, 5)::int) FROM jobs WHERE name ~ '^ngx-[0-9]+\$'")" \
    "$(printf 'ngx-%d ' $(seq 1 20) | sed 's/ $//')" "they are the ones the stream created"

# --- the instance back on its port ----------------------------------------------------
start_instance ngx-a "$TC_TMP/a2.log" --listen "127.0.0.1:$port_a"
is "$(tc_api_url "$TC_TMP/a2.log")" "http://127.0.0.1:$port_a" "instance a restarted on its port"
# Requests through nginx until one reaches it (nginx tries it again once
# fail_timeout, 10 s, has passed since its last failure).
: >"$TC_TMP/codes"
reached_again() {
    api GET /api/v1/jobs >>"$TC_TMP/codes"
    echo >>"$TC_TMP/codes"
    [ "$(requests "$TC_TMP/a2.log")" -gt 0 ]
}
if wait_until 40 reached_again; then pass "nginx sends requests to the restarted instance again"
else fail "nginx sends requests to the restarted instance again" "$(tail -5 "$N/error.log")"; fi
is "$(grep -cv '^200$' "$TC_TMP/codes")" 0 "and every request meanwhile succeeded ($(wc -l <"$TC_TMP/codes") of them)"
before=$(requests "$TC_TMP/a2.log")
for i in 1 2 3 4 5 6 7 8 9 10; do api GET /healthz >/dev/null; done
like "$(($(requests "$TC_TMP/a2.log") - before))" '^[1-9]' "it gets its share of the requests again"
if kill -0 "$ngx_pid" 2>/dev/null; then pass "nginx ran throughout"
else fail "nginx ran throughout" "$(tail -5 "$N/error.log")"; fi
done_testing
