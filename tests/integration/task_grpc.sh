# task_grpc.sh - gRPC tasks against a real gRPC server (tests/servers/
# grpc_server.js, @grpc/grpc-js): a unary call and its reply, error
# statuses with non-ASCII messages, an unknown method, deadlines enforced by
# the server and by tablecron, metadata and grpc-timeout, TLS with and
# without the CA.  Messages are made and read with protoc, as the docs tell
# operators to.
. "$TC_SRCDIR/tests/lib.sh"
. "$TC_SRCDIR/tests/servers/servers.sh"
plan 29

tc_need_tools python3 openssl protoc node npm base64
"$TABLECRON" migrate >/dev/null 2>&1 || tc_bail "migrate failed"
q "CREATE VIEW ex AS SELECT j.name, e.* FROM executions e JOIN jobs j ON j.id = e.job_id" >/dev/null

# Node modules of the server: installed once per build directory.
NODE_PATH=$(sh "$TC_SERVERS/node-deps.sh" "${TC_BUILDDIR:-$TC_TMP}/tests/node" 2>"$TC_TMP/node-deps.err") || {
    sed 's/^/# /' "$TC_TMP/node-deps.err"
    tc_bail "could not install the gRPC server's node modules"
}
export NODE_PATH

tc_make_cert || tc_bail "openssl could not make a certificate"
tc_start_server grpc node "$TC_SERVERS/grpc_server.js" || tc_bail "the gRPC server did not start"
h2c=http://127.0.0.1:$TC_SERVER_PORT
tc_start_server grpcs node "$TC_SERVERS/grpc_server.js" --tls "$TC_TMP/cert.pem" "$TC_TMP/key.pem" ||
    tc_bail "the gRPC TLS server did not start"
h2tls=https://localhost:$TC_SERVER_PORT
ca=$TC_TMP/cert.pem

# pb TYPE TEXT: a tablecron.test message from protobuf text format, base64.
pb() { (cd "$TC_SERVERS" && printf '%s\n' "$2" | protoc --encode="tablecron.test.$1" test.proto | base64 -w0); }
# decode TYPE: base64 on stdin to protobuf text format (TYPE "raw": --decode_raw).
decode() {
    if [ "$1" = raw ]; then base64 -d | protoc --decode_raw
    else (cd "$TC_SERVERS" && base64 -d | protoc --decode="tablecron.test.$1" test.proto); fi
}

# job NAME URL METHOD MESSAGE_BASE64 [EXTRA_CONFIG [COLUMNS VALUES]]: a
# grpc job due now, then hourly (it runs once here); no message_base64
# key when MESSAGE_BASE64 is empty.
job() {
    q "INSERT INTO jobs (name, schedule, kind, config, next_time ${6:+, $6})
       VALUES ('$1', '@every 1h', 'grpc', \$cfg\$
       {\"url\": \"$2\", \"method\": \"tablecron.test.Tester/$3\" ${4:+, \"message_base64\": \"$4\"} ${5:+, $5}}
       \$cfg\$::jsonb, now() ${7:+, $7})" >/dev/null || echo "# could not insert job $1"
}
ended() {
    wait_sql "$(tc_budget_left)" 1 \
        "SELECT count(*) FROM ex WHERE name = '$1' AND attempt = ${2:-1} AND status <> 'running'"
}
result() {
    q "SELECT status, coalesce(exit_code::text, ''), coalesce(error, '') FROM ex
        WHERE name = '$1' AND attempt = ${2:-1}"
}
output() { q "SELECT output FROM ex WHERE name = '$1' AND attempt = ${2:-1}"; }
# calls LOG NAME EXPR: EXPR for each call of job NAME seen by a server
calls() { tc_log "$1" "r['event'] == 'call' and m.get('x-tablecron-job') == '$2'" "$3"; }
# seconds NAME: how long the run took, in seconds with 3 decimals
seconds() { q "SELECT round(extract(epoch FROM finished_at - started_at), 3) FROM ex WHERE name = '$1'"; }

start_bg "$TC_TMP/serve.log" "$TABLECRON" serve --instance-id g1 --lease 3s --max-poll 1s --grace 2s
serve_pid=$TC_BG_PID
wait_until 10 grep -q 'msg=starting' "$TC_TMP/serve.log" || tc_bail "serve did not start: $(tail -3 "$TC_TMP/serve.log")"

hello=$(pb EchoRequest 'text: "hello tablecron"')
[ -n "$hello" ] || tc_bail "protoc could not encode a message"
job echo "$h2c" Echo "$hello"
job fail "$h2c" Fail "$(pb FailRequest 'code: 9')"
job fail-pct "$h2c" Fail "$(pb FailRequest 'code: 5 message: "100% sûr / 失败: a+b=c?"')"
job unknown "$h2c" Nope "$hello"
job early-deadline "$h2c" Fail "$(pb FailRequest 'code: 4 message: "upstream deadline"')" "" timeout_s 30
job slow "$h2c" Slow "$(pb SlowRequest 'ms: 30000')" "" timeout_s 1
job hang "$h2c" Hang "$(pb SlowRequest 'ms: 30000')" "" timeout_s 1
job meta "$h2c" Metadata "" '"metadata": {"x-custom": "custom value"}' timeout_s 30
job tls-noca "$h2tls" Echo "$hello"
job tls-ca "$h2tls" Echo "$hello" "\"ca_file\": \"$ca\""
tc_budget_start 60

# --- a unary call and its reply ----------------------------------------------
ended echo
is "$(result echo)" "succeeded|0|" "grpc-status 0: succeeded, exit_code 0"
is "$(output echo | decode raw)" '1: "hello tablecron"' "the reply, base64 in output, decodes with protoc --decode_raw"
is "$(output echo | decode EchoReply)" 'text: "hello tablecron"' "and with the .proto"
exec_id=$(q "SELECT id FROM ex WHERE name = 'echo'")
is "$(calls "$TC_TMP/grpc.log" echo "r['method'] + ' ' + json.dumps(r['request']) + ' ' +
        ' '.join(m.get(k, '-') for k in ('x-tablecron-execution', 'x-tablecron-attempt'))")" \
    "/tablecron.test.Tester/Echo {\"text\": \"hello tablecron\"} $exec_id 1" \
    "the server got the message and the x-tablecron-job, -execution and -attempt metadata"
is "$(calls "$TC_TMP/grpc.log" echo "h.get('content-type', '-').split('+')[0] + ' ' + h.get('te', '-') + ' ' + h.get(':scheme', '-')")" \
    "application/grpc trailers http" "over HTTP/2 in cleartext with content-type application/grpc and te: trailers"

# --- error statuses ----------------------------------------------------------------
ended fail
is "$(result fail)" "failed|9|gRPC status 9 FAILED_PRECONDITION: échec: ресурс занят ✗" \
    "a non-zero grpc-status fails; its name and the decoded non-ASCII message are the error"
ended fail-pct
is "$(result fail-pct)" "failed|5|gRPC status 5 NOT_FOUND: 100% sûr / 失败: a+b=c?" \
    "a message with '%', '/', '+' and '?' is decoded exactly"
ended early-deadline
is "$(result early-deadline)" "failed|4|gRPC status 4 DEADLINE_EXCEEDED: upstream deadline" \
    "DEADLINE_EXCEEDED long before the job's timeout is the server's own failure, not a timeout"
ended unknown
like "$(result unknown)" '^failed\|12\|gRPC status 12 UNIMPLEMENTED' "an unknown method: exit_code 12, UNIMPLEMENTED"

# --- deadlines ------------------------------------------------------------------------
# Slow: the server enforces the grpc-timeout tablecron sends (grpc-js does)
# and answers DEADLINE_EXCEEDED when the job's timeout passes, at the same
# instant as tablecron's own deadline.  Whichever comes first, the run is
# timed_out; when the server's answer came first its words are kept.
ended slow
res=$(result slow)
echo "# server-side deadline gave: $res"
case $res in
"timed_out|4|timed out after 1 s (gRPC status 4 DEADLINE_EXCEEDED"*) pass "a call past the deadline is timed_out (the server's DEADLINE_EXCEEDED came first)" ;;
"timed_out||timed out after 1 s") pass "a call past the deadline is timed_out (tablecron's deadline came first)" ;;
*) fail "a call past the deadline is timed_out" "got: '$res'" \
    "expected: 'timed_out|4|timed out after 1 s (gRPC status 4 DEADLINE_EXCEEDED...)' or 'timed_out||timed out after 1 s'" ;;
esac
took=$(seconds slow)
if [ "$(q "SELECT $took BETWEEN 0.9 AND 3.0" 2>/dev/null)" = t ]; then pass "within 2 s of the timeout (${took} s)"
else fail "within 2 s of the timeout" "took '${took}' s"; fi
wait_until 5 grep -q '"event":"slow_\(deadline\|cancelled\)","method":"/tablecron.test.Tester/Slow"' "$TC_TMP/grpc.log"
waited=$(tc_log "$TC_TMP/grpc.log" "r['event'].startswith('slow_') and r['method'].endswith('/Slow')" "r['event'] + ' ' + str(r['waited_ms'])")
if [ -n "$waited" ] && [ "${waited##* }" -lt 3000 ] && [ "${waited% *}" != slow_done ]; then
    pass "the server stopped waiting at the deadline ($waited ms)"
else fail "the server stopped waiting at the deadline" "server: '$waited'"; fi

# Hang: the server ignores grpc-timeout; tablecron must end the call itself.
ended hang
is "$(result hang)" "timed_out||timed out after 1 s" "a call the server never answers is timed_out by tablecron"
took=$(seconds hang)
if [ "$(q "SELECT $took BETWEEN 0.9 AND 3.0" 2>/dev/null)" = t ]; then pass "within 2 s of the timeout (${took} s)"
else fail "within 2 s of the timeout" "took '${took}' s"; fi
if wait_until 5 grep -q '"event":"slow_cancelled","method":"/tablecron.test.Tester/Hang"' "$TC_TMP/grpc.log"; then
    pass "the server sees the call cancelled (stream reset or connection closed)"
else fail "the server sees the call cancelled" "$(grep '/Hang' "$TC_TMP/grpc.log" | cut -c1-200)"; fi
waited=$(tc_log "$TC_TMP/grpc.log" "r['event'] == 'slow_cancelled' and r['method'].endswith('/Hang')" "r['waited_ms']")
if [ -n "$waited" ] && [ "$waited" -lt 3000 ]; then pass "within 3 s (${waited} ms)"
else fail "the call is cancelled within 3 s" "server waited '${waited}' ms"; fi

# --- metadata and grpc-timeout ------------------------------------------------------------
ended meta
is "$(result meta)" "succeeded|0|" "without message_base64 the empty message is sent"
meta_id=$(q "SELECT id FROM ex WHERE name = 'meta'")
is "$(calls "$TC_TMP/grpc.log" meta "' '.join(m.get(k, '-') for k in ('x-custom', 'x-tablecron-execution', 'x-tablecron-attempt'))")" \
    "custom value $meta_id 1" "configured metadata and x-tablecron-* reach the server"
timeout=$(calls "$TC_TMP/grpc.log" meta "r['grpc_timeout']")
like "$timeout" '^[0-9]{1,8}[HMSmun]$' "a well-formed grpc-timeout header is sent ($timeout)"
ms=$(python3 -c '
import sys
v = sys.argv[1]
unit = {"H": 3600000, "M": 60000, "S": 1000, "m": 1, "u": 0.001, "n": 0.000001}
print(int(int(v[:-1]) * unit[v[-1]]) if v and v[-1] in unit and v[:-1].isdigit() else -1)
' "$timeout")
if [ "$ms" -gt 20000 ] && [ "$ms" -le 30000 ]; then pass "derived from timeout_s 30 (${ms} ms)"
else fail "grpc-timeout is derived from timeout_s 30" "got '$timeout' = $ms ms"; fi
meta_text=$(output meta | decode MetadataReply)
like "$meta_text" 'x-tablecron-job: meta' "the server's reply lists x-tablecron-job"
like "$meta_text" 'grpc-timeout: [0-9]+[HMSmun]' "and grpc-timeout"

# --- TLS ---------------------------------------------------------------------------------------
ended tls-noca
like "$(result tls-noca)" '^failed\|[^|]*\|.*TLS' "a self-signed certificate without ca_file: failed with a TLS error"
is "$(calls "$TC_TMP/grpcs.log" tls-noca "r['method']")" "" "no call reached the server"
ended tls-ca
is "$(result tls-ca)" "succeeded|0|" "with ca_file the call over TLS succeeds"
is "$(output tls-ca | decode raw)" '1: "hello tablecron"' "and its reply decodes"
is "$(calls "$TC_TMP/grpcs.log" tls-ca "h.get(':scheme', '-') + ' ' + h.get(':authority', '-').split(':')[0]")" \
    "https localhost" "HTTP/2 over TLS (ALPN) to localhost"

# --- nothing left behind ------------------------------------------------------------------------
if kill -0 "$serve_pid" 2>/dev/null; then pass "the instance is still running"
else fail "the instance is still running" "$(tail -5 "$TC_TMP/serve.log")"; fi
kill -TERM "$serve_pid"
wait "$serve_pid"
is "$(q "SELECT count(*) FROM executions WHERE status = 'running'")" 0 "no execution is left running"
tc_stop_servers || echo "# a test server did not stop cleanly on SIGTERM"

if [ "$tap_failed" -ne 0 ]; then
    echo "# tablecron serve log (last lines):"
    tail -n 20 "$TC_TMP/serve.log" | sed 's/^/#   /'
fi
done_testing
