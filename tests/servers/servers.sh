# servers.sh - helpers of the HTTP and gRPC task tests (bash), sourced
# after tests/lib.sh:
#
#   . "$TC_SRCDIR/tests/lib.sh"
#   . "$TC_SRCDIR/tests/servers/servers.sh"
#   tc_make_cert || bail
#   tc_start_server web python3 "$TC_SERVERS/http_server.py" || bail
#   port=$TC_SERVER_PORT
#
# Servers run in the background through start_bg, so lib.sh's exit trap
# kills them whatever happens to the test.

TC_SERVERS=$TC_SRCDIR/tests/servers

# The servers and tablecron talk over 127.0.0.1: never through a proxy.
export no_proxy=127.0.0.1,localhost NO_PROXY=127.0.0.1,localhost
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY

# tc_make_cert: a self-signed certificate for localhost and 127.0.0.1 in
# $TC_TMP/cert.pem (also the CA file to trust) with its key in
# $TC_TMP/key.pem.
tc_make_cert() {
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost \
        -addext 'subjectAltName=DNS:localhost,IP:127.0.0.1' \
        -keyout "$TC_TMP/key.pem" -out "$TC_TMP/cert.pem" >"$TC_TMP/openssl.out" 2>&1 || {
        sed 's/^/# /' "$TC_TMP/openssl.out"
        return 1
    }
}

# tc_start_server NAME CMD...: start CMD --port-file $TC_TMP/NAME.port
# --log $TC_TMP/NAME.log (stdout and stderr in $TC_TMP/NAME.out) and wait
# up to 20 s for its port.  Sets TC_SERVER_PORT and TC_SERVER_PID.
tc_start_server() {
    local name=$1 pid
    shift
    rm -f "$TC_TMP/$name.port"
    : >"$TC_TMP/$name.log"
    start_bg "$TC_TMP/$name.out" "$@" --port-file "$TC_TMP/$name.port" --log "$TC_TMP/$name.log"
    pid=$TC_BG_PID
    wait_until 20 tc_port_or_exit "$TC_TMP/$name.port" "$pid"
    if ! [ -s "$TC_TMP/$name.port" ]; then
        echo "# server $name did not start:"
        sed 's/^/#   /' "$TC_TMP/$name.out"
        return 1
    fi
    TC_SERVER_PID=$pid
    TC_SERVER_PORT=$(cat "$TC_TMP/$name.port")
    tc_servers+=("$pid")
}
tc_servers=()
tc_port_or_exit() { [ -s "$1" ] || tc_exited "$2"; }

# tc_exited PID: true once the child PID has exited (a zombie counts: it
# still answers kill -0 until it is waited for).
tc_exited() { [ ! -e "/proc/$1" ] || grep -q '^[0-9]* (.*) Z ' "/proc/$1/stat" 2>/dev/null; }

# tc_stop_servers: SIGTERM to every server started, then wait up to 5 s
# for each (the exit trap kills what is left).  Returns 1 if one of them
# did not exit 0 by itself.
tc_stop_servers() {
    local pid rc=0
    for pid in "${tc_servers[@]}"; do kill -TERM "$pid" 2>/dev/null; done
    for pid in "${tc_servers[@]}"; do
        if wait_until 5 tc_exited "$pid"; then
            wait "$pid" || rc=1
        else
            rc=1
        fi
    done
    tc_servers=()
    return $rc
}

# tc_log LOGFILE FILTER EXPR: for each JSON line r of a server log for
# which the Python expression FILTER is true, print the Python expression
# EXPR (r is the record, h its "headers" or {}, m its "metadata" or {};
# json is imported).  Lists print one item per line.
tc_log() {
    python3 -c '
import json, sys
log, flt, expr = sys.argv[1:4]
# Parenthesised: an expression may then span lines.
flt, expr = compile("(" + flt + ")", "filter", "eval"), compile("(" + expr + ")", "expr", "eval")
with open(log, encoding="utf-8") as f:
    for line in f:
        if not line.strip():
            continue
        r = json.loads(line)
        h = r.get("headers") or {}
        m = r.get("metadata") or {}
        if not eval(flt):
            continue
        v = eval(expr)
        for item in (v if isinstance(v, list) else [v]):
            print(item)
' "$@"
}

# tc_fetch URL: the response body of a GET, written to stdout (Python's
# own client, independent of tablecron).
tc_fetch() {
    python3 -c '
import sys, urllib.request
sys.stdout.buffer.write(urllib.request.urlopen(sys.argv[1], timeout=10).read())
' "$1"
}

# tc_free_port: a TCP port of 127.0.0.1 nothing listens on (it was free a
# moment ago: good enough for "connection refused").
tc_free_port() {
    python3 -c '
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
'
}

# tc_ms_since EPOCH_NS: milliseconds elapsed since a $(date +%s%N) value.
tc_ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }

# Time budget shared by the waits of a test that starts its jobs together:
# tc_budget_start SECONDS, then tc_budget_left gives what remains (at least 1).
tc_budget_start() { tc_budget_end=$(( $(date +%s) + $1 )); }
tc_budget_left() {
    local left=$(( tc_budget_end - $(date +%s) ))
    [ "$left" -ge 1 ] || left=1
    echo "$left"
}
