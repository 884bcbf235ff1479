/* retention.c - bounded run history: old executions deleted in small batches.
 *
 * executions gains a row per run and would grow until the disk is full.
 * Pruning deletes at most RETENTION_BATCH rows per statement, each statement
 * its own transaction, oldest first: the rows it locks are old ones nobody
 * else writes, and no lock on the table outlives a batch, so the schedulers'
 * inserts and the API's reads never wait on it for long.  A session-level
 * advisory lock lets one instance prune at a time; it goes with the
 * connection if that instance dies mid-pass, and the next pass by anyone
 * carries on from what is left.
 *
 * Both limits walk indexes: the age limit executions_started_idx from its
 * old end, the count limit each job's part of executions_job_started_idx
 * (OFFSET keep_per_job finds the newest row to delete, then everything
 * older goes).
 */
#include <autoconfig.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db.h"
#include "log.h"
#include "retention.h"

#define RETENTION_BATCH 1000   /* rows per delete statement */
#define RETENTION_JOB_PAGE 500 /* jobs whose counts one statement looks at */
#define FIRST_PASS_MAX_US (60 * INT64_C(1000000)) /* first pass this soon after start */

static const char SQL_TRY_LOCK[] = "SELECT pg_try_advisory_lock(hashtext('tablecron.retention'))";
static const char SQL_LOCK[] = "SELECT pg_advisory_lock(hashtext('tablecron.retention'))";
static const char SQL_UNLOCK[] = "SELECT pg_advisory_unlock(hashtext('tablecron.retention'))";

/* Ended before the cut-off, and not the newest of its job. */
static const char SQL_PRUNE_AGE[] =
    "DELETE FROM executions WHERE id IN ("
    " SELECT e.id FROM executions e"
    " WHERE e.started_at < now() - make_interval(days => $1::int)"
    "   AND e.finished_at < now() - make_interval(days => $1::int)"
    "   AND EXISTS (SELECT 1 FROM executions n WHERE n.job_id = e.job_id"
    "               AND (n.started_at, n.id) > (e.started_at, e.id))"
    " ORDER BY e.started_at, e.id LIMIT $2)";

/* The last of a page of jobs after $1, to walk the jobs table in pages. */
static const char SQL_JOB_PAGE_END[] =
    "SELECT max(id) FROM (SELECT id FROM jobs WHERE id > $1 ORDER BY id LIMIT $2) p";

/* For each job of the page with more than $3 executions: its newest one
 * beyond the limit, the first to go. */
static const char SQL_JOB_CUTS[] =
    "SELECT j.id, c.id FROM jobs j CROSS JOIN LATERAL ("
    " SELECT x.id FROM executions x WHERE x.job_id = j.id"
    " ORDER BY x.started_at DESC, x.id DESC OFFSET $3 LIMIT 1) c"
    " WHERE j.id > $1 AND j.id <= $2";

/* That execution and the job's older ones, but not a running one. */
static const char SQL_PRUNE_JOB[] =
    "DELETE FROM executions WHERE id IN ("
    " SELECT x.id FROM executions x, (SELECT started_at, id FROM executions WHERE id = $2) cut"
    " WHERE x.job_id = $1 AND (x.started_at, x.id) <= (cut.started_at, cut.id)"
    "   AND x.finished_at IS NOT NULL"
    " ORDER BY x.started_at, x.id LIMIT $3)";

struct retention {
    pthread_t thread;
    struct db *db;
    struct retention_limits limits;
    int64_t interval_us;
    atomic_int stop;
    pthread_mutex_t lock; /* with wake: sleeping between passes */
    pthread_cond_t wake;
};

static int
stopping(const atomic_int *stop)
{
    return stop != NULL && atomic_load(stop);
}

/* Run a delete until it deletes less than a batch; add what it deleted. */
static int
delete_batches(struct db *db, const char *sql, int nparams, const char *const *params,
               const atomic_int *stop, int64_t *deleted)
{
    for (;;) {
        PGresult *res = db_query(db, sql, nparams, params);
        long n;

        if (res == NULL)
            return -1;
        n = atol(PQcmdTuples(res));
        PQclear(res);
        *deleted += n;
        if (n < RETENTION_BATCH || stopping(stop))
            return 0;
    }
}

static int
prune_by_age(struct db *db, int keep_days, const atomic_int *stop, int64_t *deleted)
{
    char days[16], batch[16];

    snprintf(days, sizeof(days), "%d", keep_days);
    snprintf(batch, sizeof(batch), "%d", RETENTION_BATCH);
    return delete_batches(db, SQL_PRUNE_AGE, DB_PARAMS(days, batch), stop, deleted);
}

static int
prune_by_count(struct db *db, int keep_per_job, const atomic_int *stop, int64_t *deleted)
{
    char after[24] = "0", page[16], keep[16], batch[16];
    PGresult *res = NULL;
    int rc = -1;

    snprintf(page, sizeof(page), "%d", RETENTION_JOB_PAGE);
    snprintf(keep, sizeof(keep), "%d", keep_per_job);
    snprintf(batch, sizeof(batch), "%d", RETENTION_BATCH);
    while (!stopping(stop)) {
        char end[24];

        if ((res = db_query(db, SQL_JOB_PAGE_END, DB_PARAMS(after, page))) == NULL)
            goto out;
        if (PQgetisnull(res, 0, 0)) {
            rc = 0; /* past the last job */
            goto out;
        }
        snprintf(end, sizeof(end), "%s", PQgetvalue(res, 0, 0));
        PQclear(res);
        if ((res = db_query(db, SQL_JOB_CUTS, DB_PARAMS(after, end, keep))) == NULL)
            goto out;
        for (int i = 0; i < PQntuples(res) && !stopping(stop); i++) {
            if (delete_batches(db, SQL_PRUNE_JOB,
                               DB_PARAMS(PQgetvalue(res, i, 0), PQgetvalue(res, i, 1), batch),
                               stop, deleted) < 0)
                goto out;
        }
        PQclear(res);
        res = NULL;
        snprintf(after, sizeof(after), "%s", end);
    }
    rc = 0;
out:
    PQclear(res);
    return rc;
}

/* One pass; stop (NULL: never) is looked at between batches. */
static int
prune_pass(struct db *db, const struct retention_limits *limits, int wait, const atomic_int *stop,
           struct retention_counts *counts)
{
    PGresult *res;
    int locked, rc = -1;

    memset(counts, 0, sizeof(*counts));
    if ((res = db_query(db, wait ? SQL_LOCK : SQL_TRY_LOCK, DB_NO_PARAMS)) == NULL)
        return -1;
    locked = wait || db_get_bool(res, 0, 0);
    PQclear(res);
    if (!locked)
        return 1;
    if (limits->keep_days > 0 && prune_by_age(db, limits->keep_days, stop, &counts->by_age) < 0)
        goto out;
    if (limits->keep_per_job > 0 &&
        prune_by_count(db, limits->keep_per_job, stop, &counts->by_count) < 0)
        goto out;
    rc = 0;
out:
    /* After an error the connection may be gone, and the lock with it. */
    if (db_is_connected(db) && db_exec(db, SQL_UNLOCK, DB_NO_PARAMS) < 0)
        rc = -1;
    return rc;
}

int
retention_prune(struct db *db, const struct retention_limits *limits, int wait,
                struct retention_counts *counts)
{
    return prune_pass(db, limits, wait, NULL, counts);
}

/* ---- the thread of serve ---------------------------------------------- */

/* Sleep until interval_us from now or until stopped; 1 if stopped. */
static int
sleep_or_stop(struct retention *r, int64_t interval_us)
{
    struct timespec until;
    int stopped;

    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += (time_t)(interval_us / 1000000);
    until.tv_nsec += (long)(interval_us % 1000000) * 1000;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&r->lock);
    while (!atomic_load(&r->stop) &&
           pthread_cond_timedwait(&r->wake, &r->lock, &until) != ETIMEDOUT)
        ;
    stopped = atomic_load(&r->stop);
    pthread_mutex_unlock(&r->lock);
    return stopped;
}

static void *
retention_thread(void *arg)
{
    struct retention *r = arg;
    int64_t wait_us = r->interval_us < FIRST_PASS_MAX_US ? r->interval_us : FIRST_PASS_MAX_US;
    int failing = 0;

    while (!sleep_or_stop(r, wait_us)) {
        struct retention_counts counts;
        int rc;

        wait_us = r->interval_us;
        if (!db_is_connected(r->db) && db_connect(r->db, 0) < 0)
            continue; /* logged by db; the schedulers have the same trouble */
        rc = prune_pass(r->db, &r->limits, 0, &r->stop, &counts);
        if (rc < 0 && !failing)
            log_warn("pruning the run history failed; trying again later", "in_s=%lld",
                     (long long)(r->interval_us / 1000000));
        failing = rc < 0;
        if (rc == 0 && counts.by_age + counts.by_count > 0)
            log_info("run history pruned", "by_age=%lld by_count=%lld keep_days=%d keep_per_job=%d",
                     (long long)counts.by_age, (long long)counts.by_count, r->limits.keep_days,
                     r->limits.keep_per_job);
    }
    return NULL;
}

struct retention *
retention_start(const char *conninfo, const struct retention_limits *limits, int64_t interval_us,
                char *err, size_t err_size)
{
    struct retention *r;
    int e;

    err[0] = '\0';
    if (limits->keep_days <= 0 && limits->keep_per_job <= 0)
        return NULL;
    if ((r = calloc(1, sizeof(*r))) == NULL || (r->db = db_new(conninfo)) == NULL) {
        snprintf(err, err_size, "out of memory");
        free(r);
        return NULL;
    }
    r->limits = *limits;
    r->interval_us = interval_us;
    atomic_init(&r->stop, 0);
    pthread_mutex_init(&r->lock, NULL);
    {
        pthread_condattr_t attr;

        /* Waits are measured on the monotonic clock, like every deadline. */
        pthread_condattr_init(&attr);
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
        pthread_cond_init(&r->wake, &attr);
        pthread_condattr_destroy(&attr);
    }
    if ((e = pthread_create(&r->thread, NULL, retention_thread, r)) != 0) {
        snprintf(err, err_size, "cannot start the history pruning thread: %s", strerror(e));
        pthread_cond_destroy(&r->wake);
        pthread_mutex_destroy(&r->lock);
        db_free(r->db);
        free(r);
        return NULL;
    }
    return r;
}

void
retention_stop(struct retention *r)
{
    if (r == NULL)
        return;
    pthread_mutex_lock(&r->lock);
    atomic_store(&r->stop, 1);
    pthread_cond_signal(&r->wake);
    pthread_mutex_unlock(&r->lock);
    db_stop_retrying(r->db);
    pthread_join(r->thread, NULL);
    pthread_cond_destroy(&r->wake);
    pthread_mutex_destroy(&r->lock);
    db_free(r->db);
    free(r);
}
