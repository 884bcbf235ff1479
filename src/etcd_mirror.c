/* etcd_mirror.c - job definitions mirrored one way into etcd.
 *
 * Glossary: a job's *key* is <prefix><department>/<name>, its *value* the
 * JSON of its definition (never its run state, so that runs do not write
 * to etcd).  The *cache* is what this mirror last wrote: per job its key,
 * id, updated_at and paused flag, which together decide its value.  A
 * *digest* is one short text summing the jobs and departments tables; it
 * moves whenever a value or a key may have changed.  A *sync* brings etcd
 * from the cache to the database; a *reconcile* compares every key under
 * the prefix in etcd itself with the database and fixes what differs,
 * stray keys included.  The *holder* is the one instance that mirrors.
 *
 * Duties of the thread:
 *   lock       while not the holder: pg_try_advisory_lock on this
 *              thread's own session, every LOCK_RETRY_MS; a session lock
 *              goes away with its connection, so when the holder dies or
 *              loses the database another instance takes over
 *   reconcile  on becoming the holder, every reconcile interval, and when
 *              etcd answers again after a failure
 *   sync       on NOTIFY tablecron_wake and every POLL_MS: read the digest
 *              (one row); if it moved, read (key, id, updated_at, paused)
 *              of every job, compare with the cache, fetch the values of
 *              the jobs that changed, and put them; delete the keys of
 *              jobs that are gone
 *   stop       a byte on the stop pipe (etcd_mirror_stop)
 *
 * Why the digest and the poll: deletes send no NOTIFY (the jobs trigger is
 * on INSERT and UPDATE), pausing moves status rather than updated_at, and
 * renaming a department touches no job; the digest sees all of them for
 * the cost of one aggregate per POLL_MS.  That aggregate reads the whole
 * jobs table (about 40 ms for 100,000 jobs), so the mirror keeps its share
 * of the database small: the poll period stretches to DIGEST_DUTY times the
 * aggregate's own duration, and NOTIFYs wake a sync at most every
 * DIGEST_GAP times it.
 *
 * Failures: an etcd request that finds no endpoint answering makes the
 * mirror wait (RETRY_FIRST_MS doubling to RETRY_MAX_MS) and then
 * reconcile; it logs one warning when the outage starts and one line when
 * it ends.  A key etcd refuses (too large, no permission) is logged and
 * left for the next reconcile.  Nothing here ever waits on the scheduler
 * or the API, nor they on it.
 */
#include <autoconfig.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "db.h"
#include "etcd_kv.h"
#include "etcd_mirror.h"
#include "log.h"
#include "metrics.h"
#include "strbuf.h"

#define POLL_MS 1000
#define POLL_MAX_MS 30000
#define DIGEST_DUTY 100 /* poll period >= 100 x the digest's duration: <= 1% */
#define DIGEST_GAP 10   /* NOTIFY-driven syncs >= 10 x apart, at least MIN_GAP_MS */
#define MIN_GAP_MS 50
#define LOCK_RETRY_MS 2000
#define RETRY_FIRST_MS 500
#define RETRY_MAX_MS 15000
#define TXN_MAX_OPS 64                      /* etcd allows 128 by default */
#define TXN_MAX_BYTES ((size_t)256 << 10)   /* etcd takes requests up to 1.5 MiB */
#define REFUSALS_LOGGED 5                   /* per pass; the rest are counted */
#define DIGEST_MAX 256

/* Parts of the statements.  $1 is always the prefix. */
#define SQL_KEY "$1 || d.name || '/' || j.name"
#define SQL_UPDATED_US "(extract(epoch FROM j.updated_at) * 1000000)::bigint"
#define SQL_PAUSED "(j.status = 'paused' OR j.pause_requested)"
#define SQL_VALUE                                                                        \
    "jsonb_build_object('id', j.id, 'name', j.name, 'department', d.name,"               \
    " 'description', j.description, 'schedule', j.schedule, 'timezone', j.timezone,"    \
    " 'kind', j.kind, 'config', j.config, 'timeout_s', j.timeout_s,"                     \
    " 'max_retries', j.max_retries, 'retry_backoff_s', j.retry_backoff_s,"               \
    " 'misfire_policy', j.misfire_policy, 'shards', j.shards, 'paused', " SQL_PAUSED "," \
    " 'updated_at', " DB_SQL_UTC("j.updated_at") ")::text"
/* A sharded job's shard rows are part of it, not jobs of their own. */
#define SQL_FROM " FROM jobs j JOIN departments d ON d.id = j.department_id AND j.shard_of IS NULL"

/* Sums that move when a job is added, deleted, edited, paused or resumed,
 * or a department renamed.  updated_at is summed, not maxed, so that a
 * transaction that commits late with an older now() still moves it. */
static const char SQL_DIGEST[] =
    "SELECT count(*) || ' ' || coalesce(sum(id), 0) || ' '"
    " || coalesce(sum(extract(epoch FROM updated_at)), 0) || ' '"
    " || coalesce(sum(id) FILTER (WHERE status = 'paused' OR pause_requested), 0) || ' '"
    " || (SELECT count(*) || ' ' || coalesce(sum(hashtext(id || ' ' || name)), 0)"
    "       FROM departments)"
    " FROM jobs WHERE shard_of IS NULL";

/* Columns of a job row, in this order, in SQL_ALL and SQL_LIGHT. */
enum { COL_ID, COL_KEY, COL_UPDATED, COL_PAUSED, COL_VALUE };

static const char SQL_ALL[] = "SELECT j.id, " SQL_KEY ", " SQL_UPDATED_US ", " SQL_PAUSED
                              ", " SQL_VALUE SQL_FROM;
static const char SQL_LIGHT[] =
    "SELECT j.id, " SQL_KEY ", " SQL_UPDATED_US ", " SQL_PAUSED SQL_FROM;
static const char SQL_SOME[] = "SELECT j.id, " SQL_KEY ", " SQL_UPDATED_US ", " SQL_PAUSED
                               ", " SQL_VALUE SQL_FROM " WHERE j.id = ANY($2::bigint[])";

static const char SQL_TRY_LOCK[] =
    "SELECT pg_try_advisory_lock(hashtext('tablecron.etcd_mirror'))";

/* A job as the database has it now; strings borrowed from a PGresult. */
struct row {
    const char *key;
    size_t key_len;
    int64_t id, updated_us;
    int paused;
    const char *value; /* NULL in a light read */
};

/* A job as this mirror last wrote it. */
struct entry {
    char *key; /* owned */
    size_t key_len;
    int64_t id, updated_us;
    int paused;
};

struct etcd_mirror {
    char *prefix;        /* owned */
    int64_t reconcile_ms;
    struct db *db;       /* owned; this thread's own connection */
    struct etcd_kv *kv;  /* owned */
    pthread_t thread;
    int started;         /* thread is running */
    int stop_pipe[2];
    atomic_int stop;

    /* Only the thread touches what follows. */
    int holder;          /* we hold the advisory lock */
    int reconnected;     /* set by on_connect: any lock went with the old session */
    int standby_logged;
    int wake;            /* a NOTIFY came */
    int need_reconcile;
    int outage;          /* etcd failed and has not answered since */
    int64_t outage_since_ms;
    int64_t next_lock_ms, next_poll_ms, next_reconcile_ms, retry_at_ms, backoff_ms;
    int64_t poll_ms;     /* POLL_MS, stretched when the digest is slow */
    int64_t next_sync_ms; /* the earliest a NOTIFY may start the next sync */
    char digest[DIGEST_MAX]; /* of the state the cache holds; "" = unknown */
    struct entry *cache; /* owned; sorted by key */
    size_t ncache;
    int refusals;        /* keys etcd refused in the current pass */
};

/* Byte order, as etcd sorts keys (and strcmp for text without NULs). */
static int
key_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);

    if (c != 0)
        return c;
    return alen < blen ? -1 : alen > blen;
}

static int
row_cmp(const void *a, const void *b)
{
    const struct row *x = a, *y = b;

    return key_cmp(x->key, x->key_len, y->key, y->key_len);
}

static int
pair_cmp(const void *a, const void *b)
{
    const struct etcd_pair *x = a, *y = b;

    return key_cmp(x->key.data, x->key.len, y->key.data, y->key.len);
}

static void
cache_clear(struct etcd_mirror *m)
{
    for (size_t i = 0; i < m->ncache; i++)
        free(m->cache[i].key);
    free(m->cache);
    m->cache = NULL;
    m->ncache = 0;
    m->digest[0] = '\0';
}

/* The cache becomes rows (sorted); the digest is that of their state. */
static int
cache_set(struct etcd_mirror *m, const struct row *rows, size_t n, const char *digest)
{
    struct entry *fresh = calloc(n > 0 ? n : 1, sizeof(*fresh));

    if (fresh == NULL)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if ((fresh[i].key = strdup(rows[i].key)) == NULL) {
            while (i-- > 0)
                free(fresh[i].key);
            free(fresh);
            return -1;
        }
        fresh[i].key_len = rows[i].key_len;
        fresh[i].id = rows[i].id;
        fresh[i].updated_us = rows[i].updated_us;
        fresh[i].paused = rows[i].paused;
    }
    cache_clear(m);
    m->cache = fresh;
    m->ncache = n;
    snprintf(m->digest, sizeof(m->digest), "%s", digest);
    return 0;
}

/* The rows of a job query, sorted by key; NULL only when out of memory.
 * The strings stay owned by res. */
static struct row *
rows_of(const PGresult *res, size_t *n, int has_value)
{
    size_t count = (size_t)PQntuples(res);
    struct row *rows = calloc(count > 0 ? count : 1, sizeof(*rows));

    *n = 0;
    if (rows == NULL)
        return NULL;
    for (size_t i = 0; i < count; i++) {
        int r = (int)i;
        rows[i].id = db_get_int64(res, r, COL_ID, 0);
        rows[i].key = PQgetvalue(res, r, COL_KEY);
        rows[i].key_len = (size_t)PQgetlength(res, r, COL_KEY);
        rows[i].updated_us = db_get_int64(res, r, COL_UPDATED, 0);
        rows[i].paused = db_get_bool(res, r, COL_PAUSED);
        rows[i].value = has_value ? PQgetvalue(res, r, COL_VALUE) : NULL;
    }
    if (count > 1)
        qsort(rows, count, sizeof(*rows), row_cmp);
    *n = count;
    return rows;
}

/* Operations to send, borrowing keys and values from their owners. */
struct ops {
    struct etcd_op *v;
    size_t n, cap;
    size_t puts, deletes;
};

static int
ops_add(struct ops *ops, const char *key, size_t key_len, const char *value)
{
    if (ops->n == ops->cap) {
        size_t cap = ops->cap > 0 ? ops->cap * 2 : 64;
        struct etcd_op *grown = realloc(ops->v, cap * sizeof(*grown));
        if (grown == NULL)
            return -1;
        ops->v = grown;
        ops->cap = cap;
    }
    ops->v[ops->n].key = key;
    ops->v[ops->n].key_len = key_len;
    ops->v[ops->n].value = value;
    ops->v[ops->n].value_len = value != NULL ? strlen(value) : 0;
    ops->n++;
    return 0;
}

/* --- failures and their backoff ------------------------------------------ */

static void
backoff(struct etcd_mirror *m)
{
    m->retry_at_ms = monotonic_ms() + m->backoff_ms;
    m->backoff_ms = m->backoff_ms * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : m->backoff_ms * 2;
}

/* No endpoint answered, or etcd refused access (or a read): wait, then
 * reconcile. */
static void
etcd_failed(struct etcd_mirror *m)
{
    m->need_reconcile = 1;
    backoff(m);
    if (atomic_load(&m->stop))
        return; /* cut short by etcd_mirror_stop(), not etcd's fault */
    metrics_add(METRIC_ETCD_ERRORS, 1);
    if (!m->outage) {
        m->outage = 1;
        m->outage_since_ms = monotonic_ms();
        log_warn("etcd is unavailable; the mirror catches up when it answers again",
                 "error=%s endpoints=%s", etcd_kv_error(m->kv), etcd_kv_endpoints(m->kv));
    } else {
        log_debug("etcd still unavailable", "error=%s", etcd_kv_error(m->kv));
    }
}

/* db.c has logged the statement's error already. */
static void
db_failed(struct etcd_mirror *m)
{
    backoff(m);
}

static void
lose_lock(struct etcd_mirror *m, const char *why)
{
    if (m->holder)
        log_warn("this instance no longer mirrors jobs to etcd; trying to take over again",
                 "reason=%s", why);
    m->holder = 0;
    metrics_set_etcd_mirror_active(0);
    cache_clear(m);
    m->next_lock_ms = monotonic_ms();
}

/* After database reads: are we still the holder?  A reconnect inside one
 * of those statements ran it on a new session, which holds no lock. */
static int
still_holder(struct etcd_mirror *m)
{
    if (m->reconnected) {
        m->reconnected = 0;
        lose_lock(m, "the database connection was lost");
    }
    return m->holder;
}

/* --- writing ------------------------------------------------------------- */

static void
refused(struct etcd_mirror *m, const struct etcd_op *op)
{
    metrics_add(METRIC_ETCD_ERRORS, 1);
    if (++m->refusals <= REFUSALS_LOGGED)
        log_warn("etcd refused a key; it is tried again at the next reconcile",
                 "key=%s op=%s error=%s", op->key, op->value != NULL ? "put" : "delete",
                 etcd_kv_error(m->kv));
}

static void
count_done(const struct etcd_op *ops, size_t n)
{
    for (size_t i = 0; i < n; i++)
        metrics_add(ops[i].value != NULL ? METRIC_ETCD_PUTS : METRIC_ETCD_DELETES, 1);
}

/*
 * Send ops in transactions of bounded size.  A transaction etcd refuses is
 * sent again op by op, so that one bad key does not hold back the others.
 * 0 when etcd answered every request (refused keys are logged), -1 when it
 * became unavailable (etcd_failed called).
 */
static int
apply(struct etcd_mirror *m, const struct ops *ops)
{
    size_t i = 0;

    m->refusals = 0;
    while (i < ops->n) {
        size_t j = i, bytes = 0;
        enum etcd_status st;

        while (j < ops->n && j - i < TXN_MAX_OPS) {
            size_t size = ops->v[j].key_len + ops->v[j].value_len + 64;
            if (j > i && bytes + size > TXN_MAX_BYTES)
                break;
            bytes += size;
            j++;
        }
        st = etcd_kv_txn(m->kv, ops->v + i, j - i);
        if (st == ETCD_UNAVAILABLE || st == ETCD_DENIED) {
            etcd_failed(m);
            return -1;
        }
        if (st == ETCD_OK) {
            count_done(ops->v + i, j - i);
        } else if (j - i == 1) {
            refused(m, &ops->v[i]);
        } else {
            for (size_t k = i; k < j; k++) {
                st = etcd_kv_txn(m->kv, ops->v + k, 1);
                if (st == ETCD_UNAVAILABLE || st == ETCD_DENIED) {
                    etcd_failed(m);
                    return -1;
                }
                if (st == ETCD_OK)
                    count_done(ops->v + k, 1);
                else
                    refused(m, &ops->v[k]);
            }
        }
        i = j;
    }
    if (m->refusals > REFUSALS_LOGGED)
        log_warn("etcd refused more keys", "not_logged=%d", m->refusals - REFUSALS_LOGGED);
    return 0;
}

/* --- reading ------------------------------------------------------------- */

/* The digest; its duration sets when the next syncs may come. */
static int
read_digest(struct etcd_mirror *m, char *digest)
{
    int64_t start = monotonic_ms(), took;
    PGresult *res = db_query(m->db, SQL_DIGEST, DB_NO_PARAMS);

    if (res == NULL)
        return -1;
    snprintf(digest, DIGEST_MAX, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    took = monotonic_ms() - start;
    m->poll_ms = took * DIGEST_DUTY;
    if (m->poll_ms < POLL_MS)
        m->poll_ms = POLL_MS;
    if (m->poll_ms > POLL_MAX_MS)
        m->poll_ms = POLL_MAX_MS;
    m->next_poll_ms = start + took + m->poll_ms;
    m->next_sync_ms =
        start + took + (took * DIGEST_GAP > MIN_GAP_MS ? took * DIGEST_GAP : MIN_GAP_MS);
    return 0;
}

/* --- the two passes ------------------------------------------------------ */

/*
 * Compare every key under the prefix with the jobs and fix what differs.
 * etcd is read first: while it is down, a retry costs no database work.
 * The digest is read before the jobs, so a change made in between moves
 * the next digest and is synced then.
 */
static void
reconcile(struct etcd_mirror *m)
{
    struct etcd_pair *pairs = NULL;
    size_t npairs = 0, nrows = 0, i = 0, k = 0;
    PGresult *res = NULL;
    struct row *rows = NULL;
    struct ops ops = { 0 };
    char digest[DIGEST_MAX];
    int64_t started = monotonic_ms();

    if (etcd_kv_range_prefix(m->kv, m->prefix, &pairs, &npairs) != ETCD_OK) {
        etcd_failed(m);
        goto out;
    }
    if (read_digest(m, digest) < 0 ||
        (res = db_query(m->db, SQL_ALL, DB_PARAMS(m->prefix))) == NULL) {
        db_failed(m);
        goto out;
    }
    if (!still_holder(m))
        goto out;
    if ((rows = rows_of(res, &nrows, 1)) == NULL)
        goto oom;
    if (npairs > 1)
        qsort(pairs, npairs, sizeof(*pairs), pair_cmp);
    /* Merge the two sorted lists. */
    while (i < nrows || k < npairs) {
        int c = i >= nrows   ? 1
                : k >= npairs ? -1
                              : key_cmp(rows[i].key, rows[i].key_len, pairs[k].key.data,
                                        pairs[k].key.len);
        if (c < 0) {
            if (ops_add(&ops, rows[i].key, rows[i].key_len, rows[i].value) < 0)
                goto oom;
            ops.puts++;
            i++;
        } else if (c > 0) {
            if (ops_add(&ops, pairs[k].key.data, pairs[k].key.len, NULL) < 0)
                goto oom;
            ops.deletes++;
            k++;
        } else {
            if ((pairs[k].value.len != strlen(rows[i].value) ||
                 memcmp(pairs[k].value.data, rows[i].value, pairs[k].value.len) != 0)) {
                if (ops_add(&ops, rows[i].key, rows[i].key_len, rows[i].value) < 0)
                    goto oom;
                ops.puts++;
            }
            i++;
            k++;
        }
    }
    if (apply(m, &ops) < 0)
        goto out;
    if (cache_set(m, rows, nrows, digest) < 0)
        goto oom;
    if (m->outage)
        log_info("etcd answers again; the mirror has caught up",
                 "down_s=%lld puts=%zu deletes=%zu",
                 (long long)((monotonic_ms() - m->outage_since_ms) / 1000), ops.puts,
                 ops.deletes);
    else
        log_msg(ops.n > 0 ? LOG_INFO : LOG_DEBUG, "reconciled etcd with the jobs",
                "jobs=%zu keys=%zu puts=%zu deletes=%zu ms=%lld", nrows, npairs, ops.puts,
                ops.deletes, (long long)(monotonic_ms() - started));
    m->outage = 0;
    m->need_reconcile = 0;
    m->wake = 0;
    m->backoff_ms = RETRY_FIRST_MS;
    m->next_reconcile_ms = monotonic_ms() + m->reconcile_ms;
    m->next_poll_ms = monotonic_ms() + m->poll_ms;
    goto out;
oom:
    log_error("out of memory in the etcd mirror", NULL);
    backoff(m);
out:
    free(ops.v);
    free(rows);
    PQclear(res);
    etcd_pairs_free(pairs, npairs);
}

/*
 * Bring etcd from the cache to the database: nothing if the digest has
 * not moved, else a light read of every job, and the values of those
 * whose (key, id, updated_at, paused) differ from the cache.
 */
static void
sync_changes(struct etcd_mirror *m)
{
    PGresult *light = NULL, *some = NULL;
    struct row *rows = NULL, *changed = NULL;
    size_t nrows = 0, nchanged = 0, i = 0, k = 0;
    struct ops ops = { 0 };
    struct strbuf ids = STRBUF_INIT;
    char digest[DIGEST_MAX];

    if (read_digest(m, digest) < 0) {
        db_failed(m);
        goto out;
    }
    if (strcmp(digest, m->digest) == 0)
        goto out;
    if ((light = db_query(m->db, SQL_LIGHT, DB_PARAMS(m->prefix))) == NULL) {
        db_failed(m);
        goto out;
    }
    if ((rows = rows_of(light, &nrows, 0)) == NULL)
        goto oom;
    strbuf_puts(&ids, "{");
    while (i < nrows || k < m->ncache) {
        const struct entry *e = k < m->ncache ? &m->cache[k] : NULL;
        int c = i >= nrows ? 1
                : e == NULL ? -1
                            : key_cmp(rows[i].key, rows[i].key_len, e->key, e->key_len);

        if (c > 0) {
            if (ops_add(&ops, e->key, e->key_len, NULL) < 0)
                goto oom;
            ops.deletes++;
            k++;
            continue;
        }
        if (c < 0 || rows[i].id != e->id || rows[i].updated_us != e->updated_us ||
            rows[i].paused != e->paused)
            strbuf_printf(&ids, "%s%lld", nchanged++ > 0 ? "," : "", (long long)rows[i].id);
        if (c == 0)
            k++;
        i++;
    }
    strbuf_puts(&ids, "}");
    if (strbuf_failed(&ids))
        goto oom;
    if (nchanged > 0) {
        size_t nsome;
        if ((some = db_query(m->db, SQL_SOME, DB_PARAMS(m->prefix, strbuf_str(&ids)))) == NULL) {
            db_failed(m);
            goto out;
        }
        if ((changed = rows_of(some, &nsome, 1)) == NULL)
            goto oom;
        /* A job deleted since the light read is simply not there: the
         * next sync deletes its key. */
        for (size_t j = 0; j < nsome; j++) {
            if (ops_add(&ops, changed[j].key, changed[j].key_len, changed[j].value) < 0)
                goto oom;
            ops.puts++;
        }
    }
    if (!still_holder(m))
        goto out;
    if (ops.n > 0 && apply(m, &ops) < 0)
        goto out;
    if (cache_set(m, rows, nrows, digest) < 0)
        goto oom;
    if (ops.n > 0)
        log_debug("mirrored job changes to etcd", "puts=%zu deletes=%zu", ops.puts, ops.deletes);
    m->backoff_ms = RETRY_FIRST_MS;
    goto out;
oom:
    log_error("out of memory in the etcd mirror", NULL);
    m->need_reconcile = 1;
    backoff(m);
out:
    strbuf_reset(&ids);
    free(ops.v);
    free(rows);
    free(changed);
    PQclear(light);
    PQclear(some);
}

/* --- the lock and the loop ----------------------------------------------- */

static void
try_lock(struct etcd_mirror *m)
{
    PGresult *res = db_query(m->db, SQL_TRY_LOCK, DB_NO_PARAMS);

    /* Whatever session that ran on is the one we have now. */
    m->reconnected = 0;
    if (res == NULL) {
        db_failed(m);
        m->next_lock_ms = m->retry_at_ms;
        return;
    }
    if (db_get_bool(res, 0, 0)) {
        m->holder = 1;
        m->standby_logged = 0;
        m->need_reconcile = 1;
        m->retry_at_ms = 0;
        m->backoff_ms = RETRY_FIRST_MS;
        metrics_set_etcd_mirror_active(1);
        log_info("this instance mirrors jobs to etcd", "endpoints=%s prefix=%s",
                 etcd_kv_endpoints(m->kv), m->prefix);
    } else {
        if (!m->standby_logged)
            log_info("another instance mirrors jobs to etcd; standing by to take over", NULL);
        m->standby_logged = 1;
        m->backoff_ms = RETRY_FIRST_MS;
        m->next_lock_ms = monotonic_ms() + LOCK_RETRY_MS;
    }
    PQclear(res);
}

/* After every (re)connect: wake-ups, and a name operators can see. */
static int
on_connect(struct db *db, void *arg)
{
    struct etcd_mirror *m = arg;

    m->reconnected = 1;
    if (db_exec(db, "SELECT set_config('application_name', 'tablecron etcd mirror', false)",
                DB_NO_PARAMS) < 0)
        return -1;
    return db_exec(db, "LISTEN tablecron_wake", DB_NO_PARAMS);
}

/* Milliseconds until the next duty is due (0 = now). */
static int64_t
next_due(const struct etcd_mirror *m, int64_t now)
{
    int64_t at;

    if (!m->holder) {
        at = m->next_lock_ms;
    } else if (m->need_reconcile) {
        at = m->retry_at_ms;
    } else {
        at = m->wake && m->next_sync_ms < m->next_poll_ms ? m->next_sync_ms : m->next_poll_ms;
        if (m->next_reconcile_ms < at)
            at = m->next_reconcile_ms;
        if (m->retry_at_ms > at)
            at = m->retry_at_ms;
    }
    if (at - now > POLL_MS)
        return POLL_MS;
    return at > now ? at - now : 0;
}

static void *
mirror_main(void *arg)
{
    struct etcd_mirror *m = arg;

    while (!atomic_load(&m->stop)) {
        int64_t now = monotonic_ms();
        struct pollfd pfd[2];
        nfds_t nfds = 1;

        if (m->reconnected && m->holder)
            (void)still_holder(m);
        if (!m->holder && now >= m->next_lock_ms)
            try_lock(m);
        if (m->holder && now >= m->retry_at_ms) {
            if (m->need_reconcile || now >= m->next_reconcile_ms) {
                reconcile(m);
            } else if ((m->wake && now >= m->next_sync_ms) || now >= m->next_poll_ms) {
                m->wake = 0;
                sync_changes(m);
            }
        }
        if (atomic_load(&m->stop))
            break;

        /* Notifications that came in with our own statements' answers
         * wait in libpq, not on the socket. */
        if (db_socket(m->db) >= 0 && db_take_notifies(m->db) > 0)
            m->wake = 1;
        pfd[0].fd = m->stop_pipe[0];
        pfd[0].events = POLLIN;
        pfd[0].revents = 0;
        if ((pfd[1].fd = db_socket(m->db)) >= 0) {
            pfd[1].events = POLLIN;
            pfd[1].revents = 0;
            nfds = 2;
        }
        if (poll(pfd, nfds, (int)next_due(m, monotonic_ms())) < 0 && errno != EINTR) {
            log_error("etcd mirror: poll failed", "error=%s", strerror(errno));
            break;
        }
        if (nfds == 2 && pfd[1].revents != 0 && db_take_notifies(m->db) > 0)
            m->wake = 1;
    }
    return NULL;
}

static void
mirror_free(struct etcd_mirror *m)
{
    if (m == NULL)
        return;
    cache_clear(m);
    db_free(m->db);
    etcd_kv_free(m->kv);
    free(m->prefix);
    if (m->stop_pipe[0] >= 0)
        close(m->stop_pipe[0]);
    if (m->stop_pipe[1] >= 0)
        close(m->stop_pipe[1]);
    free(m);
}

struct etcd_mirror *
etcd_mirror_start(const struct etcd_mirror_opts *opts)
{
    struct etcd_mirror *m = calloc(1, sizeof(*m));
    sigset_t all, old;
    int err;

    if (m == NULL)
        goto fail;
    m->stop_pipe[0] = m->stop_pipe[1] = -1;
    atomic_init(&m->stop, 0);
    m->reconcile_ms = opts->reconcile_us / 1000;
    m->backoff_ms = RETRY_FIRST_MS;
    m->poll_ms = POLL_MS;
    if ((m->prefix = strdup(opts->prefix)) == NULL ||
        (m->kv = etcd_kv_new(opts->endpoints, opts->username, opts->password, &m->stop)) ==
            NULL ||
        (m->db = db_new(opts->db)) == NULL) {
        log_error("cannot start the etcd mirror", "error=%s", "out of memory");
        goto fail;
    }
    if (pipe2(m->stop_pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
        log_error("cannot start the etcd mirror", "error=%s", strerror(errno));
        goto fail;
    }
    db_on_connect(m->db, on_connect, m);
    /* Signals are the main loop's: this thread blocks them all. */
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    err = pthread_create(&m->thread, NULL, mirror_main, m);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (err != 0) {
        log_error("cannot start the etcd mirror", "error=%s", strerror(err));
        goto fail;
    }
    m->started = 1;
    log_info("etcd mirror on", "endpoints=%s prefix=%s reconcile_s=%lld auth=%s",
             etcd_kv_endpoints(m->kv), m->prefix, (long long)(m->reconcile_ms / 1000),
             opts->username != NULL && opts->username[0] != '\0' ? "on" : "off");
    return m;
fail:
    mirror_free(m);
    return NULL;
}

void
etcd_mirror_stop(struct etcd_mirror *m)
{
    if (m == NULL)
        return;
    if (m->started) {
        unsigned char byte = 1;
        ssize_t ignored;

        atomic_store(&m->stop, 1);
        ignored = write(m->stop_pipe[1], &byte, 1);
        (void)ignored;
        pthread_join(m->thread, NULL);
        if (m->holder)
            metrics_set_etcd_mirror_active(0);
    }
    mirror_free(m);
}
