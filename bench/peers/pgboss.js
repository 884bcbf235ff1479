// bench/peers/pgboss.js - how fast pg-boss drains N no-op jobs that are all
// queued before its workers start: the peer of bench/run's "drain".
//
//   node pgboss.js --jobs N [--batch B] [--concurrency C] [--database DB]
//
// Connects through libpq's PGHOST/PGPORT/PGUSER variables (a unix socket
// directory in PGHOST works), installs pg-boss's schema in DB (default
// "pgboss"), queues N jobs in one insert, then runs C loops, each fetching
// up to B jobs at a time (boss.fetch with batchSize: pg-boss's batched
// fetch; B = 1 is one at a time) and completing them with one call
// (boss.complete with the list of ids), until every job is completed.  The
// handler does nothing.  Prints name=value lines on stdout:
// pgboss_per_s (N / wall time from the first fetch to the last complete),
// pgboss_seconds, pgboss_completed.
'use strict';

const PgBoss = require('pg-boss');

function args() {
    const a = { jobs: 20000, batch: 100, concurrency: 4, database: 'pgboss' };
    for (let i = 2; i < process.argv.length; i += 2) {
        const k = process.argv[i].replace(/^--/, ''), v = process.argv[i + 1];
        if (!(k in a) || v === undefined) throw new Error(`bad argument ${process.argv[i]}`);
        a[k] = k === 'database' ? v : Number(v);
    }
    return a;
}

async function main() {
    const a = args();
    const queue = 'noop';
    const boss = new PgBoss({
        host: process.env.PGHOST, port: Number(process.env.PGPORT || 5432),
        user: process.env.PGUSER, database: a.database,
        max: a.concurrency + 2,
        // Only the queue: no maintenance or cron timers during the run.
        supervise: false, schedule: false,
    });
    boss.on('error', (e) => { console.error(`# pg-boss error: ${e.message}`); });
    await boss.start();
    await boss.createQueue(queue);
    for (let i = 0; i < a.jobs; i += 10000) {
        const n = Math.min(10000, a.jobs - i);
        await boss.insert(Array.from({ length: n }, () => ({ name: queue, data: {} })));
    }
    let done = 0;
    const loop = async () => {
        for (;;) {
            const jobs = await boss.fetch(queue, { batchSize: a.batch });
            if (!jobs || jobs.length === 0) return;
            // the no-op work, then one completion for the whole batch
            const r = await boss.complete(queue, jobs.map((j) => j.id));
            done += r.affected; // rows the completion really changed
        }
    };
    const t0 = process.hrtime.bigint();
    await Promise.all(Array.from({ length: a.concurrency }, loop));
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    await boss.stop({ graceful: false, wait: true, timeout: 2000 }).catch(() => {});
    console.log(`pgboss_completed=${done}`);
    console.log(`pgboss_seconds=${secs.toFixed(3)}`);
    console.log(`pgboss_per_s=${Math.round(done / secs)}`);
    if (done !== a.jobs) {
        console.error(`# pg-boss completed ${done} of ${a.jobs} jobs`);
        process.exit(1);
    }
}

main().catch((e) => { console.error(`pgboss.js: ${e.stack || e}`); process.exit(1); });
