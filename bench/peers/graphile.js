// bench/peers/graphile.js - how fast graphile-worker drains N no-op jobs
// that are all queued before its runner starts: the peer of bench/run's
// "drain".
//
//   node graphile.js --jobs N [--concurrency C] [--local-queue L]
//                    [--complete-delay MS] [--database DB]
//
// Connects through libpq's PGHOST/PGPORT/PGUSER variables (node-postgres
// reads them; a unix socket directory in PGHOST works), installs
// graphile-worker's schema in DB (default "graphile"), queues N jobs with
// addJobs, then runs one runner with C concurrent workers and a no-op task
// until every job has succeeded.  Batched (the defaults here): a local
// queue of L jobs fetched and locked in one query (localQueue.size) and
// completions grouped (completeJobBatchDelay MS); --local-queue -1
// --complete-delay -1 is graphile-worker's default, one job per query.
// Prints name=value lines on stdout: graphile_per_s (N / wall time from the
// runner's start to the last success), graphile_seconds, graphile_completed.
'use strict';

const { EventEmitter } = require('events');
const { run, runMigrations, makeWorkerUtils, Logger } = require('graphile-worker');

function args() {
    const a = { jobs: 20000, concurrency: 8, 'local-queue': 500, 'complete-delay': 0,
                database: 'graphile' };
    for (let i = 2; i < process.argv.length; i += 2) {
        const k = process.argv[i].replace(/^--/, ''), v = process.argv[i + 1];
        if (!(k in a) || v === undefined) throw new Error(`bad argument ${process.argv[i]}`);
        a[k] = k === 'database' ? v : Number(v);
    }
    return a;
}

async function main() {
    const a = args();
    // node-postgres takes the socket directory, port and user from PG*.
    const connectionString = `postgres:///${a.database}`;
    // stdout carries the figures: only errors, on stderr
    const logger = new Logger(() => (level, message) => {
        if (level === 'error') console.error(`# graphile-worker: ${message}`);
    });
    await runMigrations({ connectionString, logger });
    const utils = await makeWorkerUtils({ connectionString, logger });
    for (let i = 0; i < a.jobs; i += 10000) {
        const n = Math.min(10000, a.jobs - i);
        await utils.addJobs(Array.from({ length: n }, () => ({ identifier: 'noop', payload: {} })));
    }
    await utils.release();

    let done = 0, failed = 0, finish, t1;
    const all = new Promise((resolve) => { finish = resolve; });
    // Given to run() so that no event is missed before it resolves.
    const events = new EventEmitter();
    events.on('job:success', () => {
        if (++done === a.jobs) {
            t1 = process.hrtime.bigint();
            finish();
        }
    });
    events.on('job:failed', () => { failed++; });
    const worker = {};
    if (a['local-queue'] > 0) worker.localQueue = { size: a['local-queue'] };
    if (a['complete-delay'] >= 0) worker.completeJobBatchDelay = a['complete-delay'];
    const t0 = process.hrtime.bigint();
    const runner = await run({
        connectionString,
        concurrency: a.concurrency,
        maxPoolSize: a.concurrency + 2,
        noHandleSignals: true,
        pollInterval: 1000,
        taskList: { noop: async () => {} },
        preset: { worker },
        logger,
        events,
    });
    await all;
    // stop() also writes the last group of completions
    await runner.stop();
    const secs = Number(t1 - t0) / 1e9;
    const left = await (async () => {
        const u = await makeWorkerUtils({ connectionString, logger });
        try {
            return await u.withPgClient(async (c) =>
                Number((await c.query('SELECT count(*) AS n FROM graphile_worker._private_jobs')).rows[0].n));
        } finally {
            await u.release();
        }
    })();
    console.log(`graphile_completed=${done}`);
    console.log(`graphile_seconds=${secs.toFixed(3)}`);
    console.log(`graphile_per_s=${Math.round(done / secs)}`);
    if (failed > 0 || left > 0) {
        console.error(`# graphile-worker: ${failed} jobs failed, ${left} left in the queue`);
        process.exit(1);
    }
}

main().catch((e) => { console.error(`graphile.js: ${e.stack || e}`); process.exit(1); });
