#!/usr/bin/env node
// grpc_server.js - the gRPC server the gRPC task tests call.
//
//   NODE_PATH=$(sh tests/servers/node-deps.sh DIR) node tests/servers/grpc_server.js \
//       --port-file F [--tls CERT KEY] [--log F] [--host 127.0.0.1]
//
// Serves tablecron.test.Tester (test.proto, next to this file) on a free
// port of 127.0.0.1 and writes that port to the port file once it listens
// (written to a temporary name and renamed, so a reader never sees half of
// it).  With --tls it speaks TLS (HTTP/2 negotiated by ALPN) with the given
// PEM certificate and key; otherwise HTTP/2 in cleartext (prior knowledge).
//
// The log gets one JSON object per line:
//   {"event": "call", "method": "/tablecron.test.Tester/Echo",
//    "metadata": {...}, "headers": {...}, "grpc_timeout": "9999m" | null,
//    "deadline": ISO time | null, "deadline_in_ms": N | null, "peer": ...,
//    "request": {...}, "time": ...}
// and, for Slow and Hang, how the wait ended:
//   {"event": "slow_done" | "slow_cancelled" | "slow_deadline", "method": ...,
//    "waited_ms": N, ...}
// "metadata" is what the application sees (the library strips grpc-timeout,
// te, content-type, ...); "headers" are the raw HTTP/2 request headers.
//
// SIGTERM or SIGINT: stop accepting, end calls in flight, exit 0.
'use strict';

const fs = require('fs');
const path = require('path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const DEFAULT_FAIL_MESSAGE = 'échec: ресурс занят ✗';

function usage(msg) {
    process.stderr.write(`grpc_server.js: ${msg}\n` +
        'usage: grpc_server.js --port-file F [--tls CERT KEY] [--log F] [--host ADDR]\n');
    process.exit(2);
}

const opts = { host: '127.0.0.1', portFile: null, log: null, tls: null };
{
    const argv = process.argv.slice(2);
    for (let i = 0; i < argv.length; i++) {
        const need = (n) => {
            if (i + n >= argv.length) usage(`${argv[i]} needs ${n} argument(s)`);
        };
        switch (argv[i]) {
        case '--port-file': need(1); opts.portFile = argv[++i]; break;
        case '--log': need(1); opts.log = argv[++i]; break;
        case '--host': need(1); opts.host = argv[++i]; break;
        case '--tls': need(2); opts.tls = { cert: argv[++i], key: argv[++i] }; break;
        default: usage(`unknown argument ${argv[i]}`);
        }
    }
    if (!opts.portFile) usage('--port-file is required');
}

function log(obj) {
    if (!opts.log) return;
    obj.time = new Date().toISOString();
    // One write per line with O_APPEND: lines never interleave.
    fs.appendFileSync(opts.log, JSON.stringify(obj) + '\n');
}

// The library parses grpc-timeout and removes it from the metadata it
// hands to handlers.  Keep the raw request headers of every call, keyed by
// its Metadata object, so the log and the Metadata method can show the
// header exactly as the client sent it.  For Hang, hide grpc-timeout from
// the library so that it sets no deadline timer of its own.
const rawHeaders = new WeakMap();
const fromHttp2Headers = grpc.Metadata.fromHttp2Headers;
grpc.Metadata.fromHttp2Headers = function (headers) {
    let seen = headers;
    if (typeof headers[':path'] === 'string' && headers[':path'].endsWith('/Hang')) {
        seen = Object.assign({}, headers);
        delete seen['grpc-timeout'];
    }
    const md = fromHttp2Headers.call(this, seen);
    rawHeaders.set(md, headers);
    return md;
};

function metadataObject(md) {
    const out = {};
    for (const [key, values] of Object.entries(md.toJSON())) {
        const list = values.map((v) => (Buffer.isBuffer(v) ? v.toString('base64') : String(v)));
        out[key] = list.length === 1 ? list[0] : list;
    }
    return out;
}

function headersObject(headers) {
    const out = {};
    for (const [key, value] of Object.entries(headers || {})) {
        out[key] = Array.isArray(value) ? value.join(', ') : String(value);
    }
    return out;
}

function deadlineOf(call) {
    const d = call.getDeadline();
    if (d instanceof Date) return d.getTime();
    if (typeof d === 'number' && Number.isFinite(d)) return d;
    return null;
}

function logCall(call, request) {
    const headers = rawHeaders.get(call.metadata);
    const deadline = deadlineOf(call);
    log({
        event: 'call',
        method: call.getPath(),
        metadata: metadataObject(call.metadata),
        headers: headersObject(headers),
        grpc_timeout: headers && headers['grpc-timeout'] !== undefined ? String(headers['grpc-timeout']) : null,
        deadline: deadline === null ? null : new Date(deadline).toISOString(),
        deadline_in_ms: deadline === null ? null : deadline - Date.now(),
        peer: call.getPeer(),
        request: request,
    });
}

// Wait ms, then answer; stop early when the call is cancelled (the client
// reset the stream or closed the connection) or, unless ignoreDeadline,
// when the deadline passes (the library has then answered
// DEADLINE_EXCEEDED already).
function wait(call, callback, ignoreDeadline) {
    const ms = Math.max(0, call.request.ms | 0);
    const started = Date.now();
    const deadline = ignoreDeadline ? null : deadlineOf(call);
    let finished = false;
    const timers = [];
    const finish = (event) => {
        if (finished) return false;
        finished = true;
        timers.forEach(clearTimeout);
        log({ event: event, method: call.getPath(), waited_ms: Date.now() - started, requested_ms: ms });
        return true;
    };
    call.on('cancelled', () => finish('slow_cancelled'));
    if (call.cancelled) {
        finish('slow_cancelled');
        return;
    }
    timers.push(setTimeout(() => {
        if (finish('slow_done')) callback(null, { slept_ms: Date.now() - started });
    }, ms));
    if (deadline !== null) {
        timers.push(setTimeout(() => finish('slow_deadline'), Math.max(0, deadline - Date.now())));
    }
}

const handlers = {
    Echo(call, callback) {
        logCall(call, call.request);
        callback(null, { text: call.request.text });
    },
    Fail(call, callback) {
        logCall(call, call.request);
        const code = call.request.code | 0;
        const message = call.request.message || DEFAULT_FAIL_MESSAGE;
        if (code === 0) {
            callback(null, {});
            return;
        }
        callback({ code: code, details: message, metadata: new grpc.Metadata() });
    },
    Slow(call, callback) {
        logCall(call, call.request);
        wait(call, callback, false);
    },
    Hang(call, callback) {
        logCall(call, call.request);
        wait(call, callback, true);
    },
    Metadata(call, callback) {
        logCall(call, call.request);
        const lines = [];
        const md = metadataObject(call.metadata);
        for (const key of Object.keys(md)) {
            const values = Array.isArray(md[key]) ? md[key] : [md[key]];
            for (const v of values) lines.push(`${key}: ${v}`);
        }
        const headers = rawHeaders.get(call.metadata);
        if (headers && headers['grpc-timeout'] !== undefined) {
            lines.push(`grpc-timeout: ${headers['grpc-timeout']}`);
        }
        lines.sort();
        callback(null, { text: lines.join('\n') });
    },
};

const definition = protoLoader.loadSync(path.join(__dirname, 'test.proto'), {
    keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true,
});
const proto = grpc.loadPackageDefinition(definition);

const server = new grpc.Server();
server.addService(proto.tablecron.test.Tester.service, handlers);

let credentials;
if (opts.tls) {
    credentials = grpc.ServerCredentials.createSsl(null, [{
        cert_chain: fs.readFileSync(opts.tls.cert),
        private_key: fs.readFileSync(opts.tls.key),
    }], false);
} else {
    credentials = grpc.ServerCredentials.createInsecure();
}

server.bindAsync(`${opts.host}:0`, credentials, (err, port) => {
    if (err) {
        process.stderr.write(`grpc_server.js: cannot listen: ${err.message}\n`);
        process.exit(1);
    }
    const tmp = `${opts.portFile}.tmp${process.pid}`;
    fs.writeFileSync(tmp, `${port}\n`);
    fs.renameSync(tmp, opts.portFile);
    process.stderr.write(`grpc_server.js: listening on ${opts.host}:${port}${opts.tls ? ' (TLS)' : ''}\n`);
});

let stopping = false;
function stop() {
    if (stopping) return;
    stopping = true;
    // Calls still waiting (Hang) would hold tryShutdown: force after 1 s.
    const force = setTimeout(() => {
        server.forceShutdown();
        process.exit(0);
    }, 1000);
    server.tryShutdown(() => {
        clearTimeout(force);
        process.exit(0);
    });
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
