#!/usr/bin/env python3
"""http_server.py - the HTTP(S) server the HTTP task tests call.

    python3 tests/servers/http_server.py --port-file F [--tls CERT KEY] [--log F]

Python standard library only.  Listens on a free port of 127.0.0.1 (or
--host), writes the port to the port file once it listens (to a temporary
name, then renamed, so a reader never sees half of it), and serves HTTP/1.1
with keep-alive, one thread per connection.  With --tls CERT KEY (PEM files)
it speaks HTTPS; the TLS handshake runs in the connection's thread, so a
client that fails verification never blocks the others.

Routes (any method):
    /ok             200 "ok"
    /status/N       status N, body "status N" (no body for 1xx, 204, 304)
    /slow?ms=N      waits N ms, then 200 "slept N ms"; stops waiting when
                    the client goes away
    /redirect       302 to /ok (?to=PATH for another target)
    /big?bytes=N    200 with N bytes: lines of a numbered pattern, the last
                    three bytes "END" (big_body() below; the tests fetch the
                    same route with curl to compare)
    /echo           200, JSON {"method", "path", "headers", "body"} of the request
    /json           200, JSON {"content_type", "received": the parsed body}
                    when Content-Type is application/json; 415 otherwise,
                    400 if the body is not JSON
    /async          202 "accepted", then, in the background, reports to the
                    request's X-Tablecron-Callback with its X-Tablecron-Token:
                    ?steps=N progress reports (default 2) every ?every=MS (200),
                    then the outcome ?final=succeeded|failed|rebalance|none
                    (default succeeded; none: never reports it; rebalance
                    only when the request has no X-Tablecron-Resume, the
                    resumed attempt succeeds); ?base=URL
                    sends the reports to another instance (same path);
                    ?early=1 reports the outcome before answering 202.
                    Each report's answer is logged as "report".
    anything else   404

The log (--log) gets one JSON object per line:
    {"event": "request", "method", "path", "headers": {lower-case name: value},
     "body", "client_port", "connection": N, "request_on_connection": N,
     "tls": bool, "time"}
and a few other events: "slow_done" / "slow_aborted" (the client closed the
connection before the wait ended; "waited_ms" says when), "tls_error" (a
handshake failed: "error" says why), "connection_closed".  "connection"
numbers the accepted connections from 1: requests with the same number
were carried by one kept-alive connection.

SIGTERM or SIGINT: stop listening, close, exit 0.
"""

import argparse
import datetime
import http.server
import itertools
import json
import os
import select
import signal
import socket
import ssl
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

LOG_LOCK = threading.Lock()
LOG_FILE = None
STOP = threading.Event()
CONN_IDS = itertools.count(1)
CONN_LOCAL = threading.local()


def log(event, **fields):
    if LOG_FILE is None:
        return
    record = {"event": event}
    record.update(fields)
    record["time"] = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds")
    line = json.dumps(record, ensure_ascii=False) + "\n"
    with LOG_LOCK:
        with open(LOG_FILE, "a", encoding="utf-8") as f:
            f.write(line)


def big_body(n):
    """n bytes: "line 000001 tablecron big body abcdefghijklmnopqrstuvwxyz\\n"...,
    cut to n - 3 bytes, then "END"."""
    if n <= 0:
        return b""
    if n <= 3:
        return b"END"[-n:]
    out = bytearray()
    for i in itertools.count(1):
        if len(out) >= n - 3:
            break
        out += b"line %06d tablecron big body abcdefghijklmnopqrstuvwxyz\n" % i
    return bytes(out[: n - 3]) + b"END"


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive unless the client says close
    server_version = "tablecron-test-http/1"
    timeout = 120  # an idle kept-alive connection is closed after this
    disable_nagle_algorithm = True  # headers and body go in two writes

    def setup(self):
        super().setup()
        self.conn_id = getattr(CONN_LOCAL, "conn_id", None) or next(CONN_IDS)
        self.requests_seen = 0

    def finish(self):
        try:
            super().finish()
        finally:
            log("connection_closed", connection=self.conn_id, client_port=self.client_address[1],
                requests=self.requests_seen)

    def log_message(self, fmt, *args):  # quiet: the JSON log says it all
        pass

    # --- request plumbing -------------------------------------------------

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size_line = self.rfile.readline(65537)
                size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline(3)
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def reply(self, status, body=b"", content_type="text/plain; charset=utf-8", extra=()):
        if isinstance(body, str):
            body = body.encode("utf-8")
        no_body = status < 200 or status in (204, 304)
        self.send_response(status)
        for name, value in extra:
            self.send_header(name, value)
        if not no_body:
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not no_body and self.command != "HEAD":
            self.wfile.write(body)

    def reply_json(self, status, obj):
        self.reply(status, json.dumps(obj, ensure_ascii=False), "application/json")

    def client_gone(self):
        """True when the client closed its end (EOF or reset), without
        consuming request bytes of a pipelined next request."""
        sock = self.connection
        try:
            if isinstance(sock, ssl.SSLSocket) and sock.pending():
                return False
            readable, _, _ = select.select([sock], [], [], 0)
            if not readable:
                return False
            if isinstance(sock, ssl.SSLSocket):
                # Peeking is not possible through TLS: a readable socket
                # with no pending TLS data is EOF, a close_notify or more
                # data; look at the raw socket.
                data = socket.socket.recv(sock, 1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
            else:
                data = sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
            # Plain: EOF is b"", anything else is a pipelined request.  TLS:
            # raw bytes with nothing pending is almost surely a close_notify.
            return data == b"" or isinstance(sock, ssl.SSLSocket)
        except BlockingIOError:
            return False
        except OSError:
            return True

    # --- routes -------------------------------------------------------------

    def handle_any(self):
        self.requests_seen += 1
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query)
        body = self.read_body()
        headers = {}
        for name, value in self.headers.items():
            key = name.lower()
            headers[key] = headers[key] + ", " + value if key in headers else value
        log("request", method=self.command, path=self.path, headers=headers,
            body=body.decode("utf-8", errors="replace"), client_port=self.client_address[1],
            connection=self.conn_id, request_on_connection=self.requests_seen,
            tls=isinstance(self.connection, ssl.SSLSocket))

        def qint(name, default):
            try:
                return int(query.get(name, [default])[0])
            except ValueError:
                return default

        route = url.path
        if route == "/ok":
            self.reply(200, "ok")
        elif route.startswith("/status/"):
            try:
                status = int(route[len("/status/"):])
            except ValueError:
                status = 0
            if not 100 <= status <= 999:
                self.reply(400, "bad status")
            else:
                self.reply(status, "status %d" % status)
        elif route == "/slow":
            ms = max(0, qint("ms", 1000))
            started = time.monotonic()
            end = started + ms / 1000.0
            while time.monotonic() < end and not STOP.is_set():
                if self.client_gone():
                    log("slow_aborted", path=self.path, connection=self.conn_id,
                        waited_ms=int((time.monotonic() - started) * 1000))
                    self.close_connection = True
                    return
                time.sleep(min(0.02, max(0.0, end - time.monotonic())))
            if STOP.is_set():
                self.close_connection = True
                return
            log("slow_done", path=self.path, connection=self.conn_id,
                waited_ms=int((time.monotonic() - started) * 1000))
            self.reply(200, "slept %d ms" % ms)
        elif route == "/redirect":
            target = query.get("to", ["/ok"])[0]
            self.reply(302, "redirect to %s" % target, extra=[("Location", target)])
        elif route == "/big":
            self.reply(200, big_body(qint("bytes", 1024)), "application/octet-stream")
        elif route == "/echo":
            self.reply_json(200, {"method": self.command, "path": self.path, "headers": headers,
                                  "body": body.decode("utf-8", errors="replace")})
        elif route == "/async":
            self.handle_async(query, qint)
        elif route == "/json":
            ctype = self.headers.get("Content-Type", "")
            if ctype.split(";", 1)[0].strip().lower() != "application/json":
                self.reply(415, "expected Content-Type application/json, got %r" % ctype)
                return
            try:
                value = json.loads(body.decode("utf-8"))
            except ValueError as e:
                self.reply(400, "body is not JSON: %s" % e)
                return
            self.reply_json(200, {"content_type": ctype, "received": value})
        else:
            self.reply(404, "no route %s" % route)

    def handle_async(self, query, qint):
        callback = self.headers.get("X-Tablecron-Callback")
        token = self.headers.get("X-Tablecron-Token")
        if not callback or not token:
            self.reply(400, "no X-Tablecron-Callback / X-Tablecron-Token")
            return
        base = query.get("base", [None])[0]
        if base:
            callback = base + urllib.parse.urlsplit(callback).path
        final = query.get("final", ["succeeded"])[0]
        steps, every = qint("steps", 2), qint("every", 200) / 1000.0
        resume = self.headers.get("X-Tablecron-Resume")
        path = self.path  # the handler serves the next request meanwhile

        def report(body):
            req = urllib.request.Request(callback, data=json.dumps(body).encode(), method="POST",
                                         headers={"X-Tablecron-Token": token,
                                                  "Content-Type": "application/json"})
            try:
                with urllib.request.urlopen(req, timeout=10) as r:
                    status, answer = r.status, r.read().decode()
            except urllib.error.HTTPError as e:
                status, answer = e.code, e.read().decode()
            except OSError as e:
                status, answer = 0, str(e)
            log("report", path=path, sent=body, status=status, answer=answer)

        def outcome():
            status = "succeeded" if final == "rebalance" and resume else final
            if status == "rebalance":
                report({"status": "rebalance", "params": {"from": "start", "next": 7}})
            elif status != "none":
                report({"status": status, "output": "work done (%s)" % status,
                        "message": "finished" if status == "succeeded" else "it broke"})

        def work():
            for i in range(steps):
                time.sleep(every)
                report({"progress": (i + 1) * 100 // (steps + 1), "message": "step %d" % (i + 1)})
            outcome()

        if query.get("early", ["0"])[0] == "1":
            outcome()
            self.reply(202, "accepted")
            return
        self.reply(202, "accepted")
        threading.Thread(target=work, daemon=True).start()

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = handle_any


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True  # connections left open never hold the exit
    allow_reuse_address = True
    tls_context = None

    def finish_request(self, request, client_address):
        conn_id = next(CONN_IDS)
        if self.tls_context is not None:
            try:
                request.settimeout(10)
                request = self.tls_context.wrap_socket(request, server_side=True)
                request.settimeout(None)
            except (ssl.SSLError, OSError) as e:
                log("tls_error", client_port=client_address[1], connection=conn_id, error=str(e))
                try:
                    request.close()
                except OSError:
                    pass
                return
        CONN_LOCAL.conn_id = conn_id  # read by Handler.setup() in this thread
        self.RequestHandlerClass(request, client_address, self)

    def handle_error(self, request, client_address):
        # A client that resets a connection is normal here (aborted
        # transfers); do not print tracebacks for it.
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, ssl.SSLError, socket.timeout)):
            return
        super().handle_error(request, client_address)


def main():
    global LOG_FILE
    ap = argparse.ArgumentParser(description="HTTP(S) server for tablecron's HTTP task tests")
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    ap.add_argument("--log")
    args = ap.parse_args()
    LOG_FILE = args.log

    httpd = Server((args.host, 0), Handler)
    if args.tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls[0], args.tls[1])
        ctx.set_alpn_protocols(["http/1.1"])
        httpd.tls_context = ctx

    def stop(signum, frame):
        STOP.set()
        # shutdown() waits for serve_forever() to return: not from the
        # thread running it.
        threading.Thread(target=httpd.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    port = httpd.server_address[1]
    tmp = "%s.tmp%d" % (args.port_file, os.getpid())
    with open(tmp, "w") as f:
        f.write("%d\n" % port)
    os.rename(tmp, args.port_file)
    print("http_server.py: listening on %s:%d%s" % (args.host, port, " (TLS)" if args.tls else ""),
          file=sys.stderr, flush=True)
    try:
        httpd.serve_forever(poll_interval=0.1)
    finally:
        httpd.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
