/* scheduler.c - the claim loop of one instance.
 *
 * Duties, each at its own period, run from scheduler_tick():
 *   service   every tick: read task output, reap finished tasks, deadlines
 *   release   every tick: finished runs -> executions row + job CAS, one statement
 *   renew     every lease/3 (and on NOTIFY): extend all held leases at once;
 *             a lease not renewed was lost: kill the task (fencing)
 *   output    every second while tasks run: their new output so far, so it
 *             can be read before they end
 *   reap      every lease/3: take over jobs whose owner's lease expired
 *   schedule  on NOTIFY and every max_poll: give unscheduled rows a next_time
 *   claim     when the earliest known next_time comes, on NOTIFY, when a slot
 *             frees up, and at least every max_poll
 *
 * "Now" is always the database's: every fetch returns now(), and the local
 * monotonic clock is used only to measure how long to sleep until then.
 */
#include <autoconfig.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "claim.h"
#include "clock.h"
#include "lease.h"
#include "log.h"
#include "metrics.h"
#include "password.h"
#include "runpool.h"
#include "schedule.h"
#include "scheduler.h"

#define SCHED_CACHE_SLOTS 1024
#define DB_RETRY_MS 1000
#define KILL_GRACE_MS 2000
#define OUTPUT_SAVE_MS 1000 /* how often running tasks' output reaches the database */
#define RETRY_DELAY_MAX_S 3600
#define CLAIM_LOST_ALL_MS 20 /* pause after a claim round that won none of its rows */
#define CLAIM_SPREAD_START 4 /* a full fetch spreads the offset over batch * this at least, */
#define CLAIM_SPREAD_MAX 64  /* and stays below batch * this */

struct cache_slot {
    char *schedule;       /* owned */
    char *timezone;       /* owned */
    struct schedule *parsed; /* owned */
};

struct scheduler {
    char *me;                   /* owned; instance id = lease owner */
    struct scheduler_opts opts; /* instance_id points to me */
    int has_callback;           /* HTTP tasks get a report URL (the API is on) */
    struct db *db;              /* borrowed */
    struct runpool *pool;       /* owned */
    struct cache_slot cache[SCHED_CACHE_SLOTS];
    int64_t next_claim_ms, next_renew_ms, next_reap_ms, next_unscheduled_ms, next_output_ms;
    int64_t db_retry_at_ms;     /* after a database error, wait until then */
    int reaped_own;             /* start-up take-over of our old leases done */
    int check_orphans;          /* a statement failed: look for claims we missed */
    int shutting_down;
    int spread_len;             /* how far into the due list the random offset may go */
    int skip_taken;             /* rows at the head another claim held: look past them */
    int64_t shutdown_kill_ms;
    unsigned int rng;
};

/* Session set-up after every (re)connect: wake-ups and the trigger marker. */
static int
on_connect(struct db *db, void *arg)
{
    struct scheduler *s = arg;

    if (db_exec(db, "SELECT set_config('tablecron.instance', $1, false)", DB_PARAMS(s->me)) < 0)
        return -1;
    return db_exec(db, "LISTEN tablecron_wake", DB_NO_PARAMS);
}

struct scheduler *
scheduler_new(const struct scheduler_opts *opts, struct db *db)
{
    struct scheduler *s = calloc(1, sizeof(*s));

    if (s == NULL)
        return NULL;
    if ((s->me = strdup(opts->instance_id)) == NULL ||
        (s->pool = runpool_new(opts->max_running, opts->callback_base)) == NULL) {
        free(s->me);
        free(s);
        return NULL;
    }
    s->opts = *opts;
    s->opts.instance_id = s->me;
    s->has_callback = opts->callback_base != NULL;
    s->opts.callback_base = NULL; /* the pool keeps its copy */
    s->db = db;
    s->rng = (unsigned int)getpid() ^ (unsigned int)monotonic_ms();
    db_on_connect(db, on_connect, s);
    return s;
}

void
scheduler_free(struct scheduler *s)
{
    if (s == NULL)
        return;
    runpool_free(s->pool);
    for (int i = 0; i < SCHED_CACHE_SLOTS; i++) {
        free(s->cache[i].schedule);
        free(s->cache[i].timezone);
        schedule_free(s->cache[i].parsed);
    }
    db_on_connect(s->db, NULL, NULL);
    free(s->me);
    free(s);
}

/* Parsed schedules by (text, zone): parsing loads the zone file, so keep
 * them.  A hash slot holds one entry; a collision simply replaces it. */
static const struct schedule *
schedule_for(struct scheduler *s, const char *text, const char *zone, struct schedule_error *err)
{
    unsigned long h = 5381;
    struct cache_slot *slot;
    struct schedule *parsed;

    for (const char *p = text; *p; p++)
        h = h * 33 + (unsigned char)*p;
    for (const char *p = zone; *p; p++)
        h = h * 33 + (unsigned char)*p;
    slot = &s->cache[h % SCHED_CACHE_SLOTS];
    if (slot->parsed != NULL && strcmp(slot->schedule, text) == 0 &&
        strcmp(slot->timezone, zone) == 0)
        return slot->parsed;
    if ((parsed = schedule_parse(text, zone, err)) == NULL)
        return NULL;
    free(slot->schedule);
    free(slot->timezone);
    schedule_free(slot->parsed);
    slot->schedule = strdup(text);
    slot->timezone = strdup(zone);
    slot->parsed = parsed;
    if (slot->schedule == NULL || slot->timezone == NULL) {
        free(slot->schedule);
        free(slot->timezone);
        memset(slot, 0, sizeof(*slot));
        schedule_free(parsed);
        snprintf(err->msg, sizeof(err->msg), "out of memory");
        return NULL;
    }
    return parsed;
}

static void
format_schedule_error(const struct schedule_error *err, char *buf, size_t size)
{
    snprintf(buf, size, "%s: %s at %d", err->part == SCHEDULE_PART_ZONE ? "timezone" : "schedule",
             err->msg, err->pos);
}

/* After a database error: let the connection recover before trying again. */
static void
db_failed(struct scheduler *s, int64_t now)
{
    s->db_retry_at_ms = now + DB_RETRY_MS;
    s->check_orphans = 1;
    /* A failed round (a deadlock victim, a lost connection) must not idle
     * the instance until max_poll: look again as soon as the pause ends. */
    if (s->next_claim_ms > s->db_retry_at_ms)
        s->next_claim_ms = s->db_retry_at_ms;
}

/*
 * After a database error: a claim may have committed although we never saw
 * its answer.  Such a job is leased to us but runs nowhere; hand it back so
 * that its fire time runs (here or elsewhere) instead of being abandoned
 * when the lease expires.
 */
static void
release_orphans(struct scheduler *s, int64_t now)
{
    struct due_set set;

    if (claim_fetch_expired(s->db, 10000, s->me, &set) < 0) {
        db_failed(s, now);
        return;
    }
    s->check_orphans = 0;
    for (int i = 0; i < set.count; i++) {
        int running_here = 0, rc;
        for (int r = 0; r < runpool_size(s->pool); r++)
            running_here |= runpool_at(s->pool, r)->job.id == set.jobs[i].id;
        if (running_here)
            continue;
        if ((rc = claim_unclaim(s->db, s->me, set.jobs[i].id, set.jobs[i].version)) < 0) {
            db_failed(s, now);
            break;
        }
        if (rc == 1) {
            log_warn("gave back a claim whose answer was lost with the connection",
                     "job_id=%lld scheduled_for=%lld", (long long)set.jobs[i].id,
                     (long long)set.jobs[i].scheduled_for_s);
            s->next_claim_ms = now;
        }
    }
    due_set_free(&set);
}

/*
 * What follows a run of fire time `fire` (attempt `attempt`) that ended as
 * `status`: a retry with backoff, or the next fire time of the schedule.
 */
static void
plan_next(struct scheduler *s, const char *schedule, const char *zone, int64_t fire, int attempt,
          int max_retries, int backoff_s, int retryable, struct release *r)
{
    struct schedule_error err;
    const struct schedule *sched;

    r->retry = 0;
    r->next_attempt = 1;
    r->retry_for_s = CLAIM_NO_TIME;
    r->next_s = CLAIM_NO_TIME;
    if (retryable && attempt <= max_retries) {
        int64_t delay = backoff_s;
        for (int i = 1; i < attempt && delay < RETRY_DELAY_MAX_S; i++)
            delay *= 2;
        r->retry = 1;
        r->retry_delay_s = (int)(delay > RETRY_DELAY_MAX_S ? RETRY_DELAY_MAX_S : delay);
        r->next_attempt = attempt + 1;
        r->retry_for_s = fire;
        return;
    }
    if ((sched = schedule_for(s, schedule, zone, &err)) == NULL) {
        /* Edited to something invalid while running: the schedule duty
         * will record why once the job is waiting without a next_time. */
        char msg[200];
        format_schedule_error(&err, msg, sizeof(msg));
        log_warn("cannot compute the next fire time", "error=%s", msg);
        return;
    }
    if (schedule_next(sched, fire, fire, &r->next_s) < 0)
        r->next_s = CLAIM_NO_TIME; /* finished: one-off or past its last year */
}

/* How a finished run ended, in r (status, error; error may point into
 * errbuf) and whether a failure of that kind may be retried. */
static int
describe_end(const struct scheduler *s, const struct run *run, struct release *r, char *errbuf,
             size_t errsize)
{
    switch (run->end) {
    case RUN_END_FINISHED:
        r->status = run->result.succeeded ? "succeeded" : "failed";
        r->error = run->result.error;
        return !run->result.succeeded;
    case RUN_END_TIMEOUT:
        r->status = "timed_out";
        /* A gRPC server may have said so itself: keep its words. */
        if (run->result.timed_out && run->result.error != NULL)
            snprintf(errbuf, errsize, "timed out after %d s (%s)", run->job.timeout_s,
                     run->result.error);
        else
            snprintf(errbuf, errsize, "timed out after %d s", run->job.timeout_s);
        r->error = errbuf;
        return 1;
    case RUN_END_KILLED:
        r->status = "killed";
        r->error = "killed on request";
        return 0;
    case RUN_END_SHUTDOWN:
        r->status = "killed";
        snprintf(errbuf, errsize, "killed: instance %s shut down before the task ended", s->me);
        r->error = errbuf;
        return 1;
    case RUN_END_LOST:
    case RUN_END_DETACHED: /* not reached: detach_accepted() ran first */
        r->status = run->result.succeeded ? "succeeded" : "failed";
        r->error = "killed after the lease was lost";
        return 0;
    case RUN_END_NOT_RUN:
        r->status = "succeeded";
        return 0;
    case RUN_END_START_FAILED:
        r->status = "failed";
        r->error = run->start_error;
        return 1;
    }
    return 0;
}

static void
release_fill(const struct run *run, struct release *r)
{
    memset(r, 0, sizeof(*r));
    r->id = run->job.id;
    r->version = run->job.version;
    r->execution_id = run->job.execution_id;
    r->output = run->result.output;
    r->has_exit_code = run->result.has_exit_code;
    r->exit_code = run->result.exit_code;
    r->schedule = run->job.schedule;
    r->timezone = run->job.timezone;
}

/* Tasks that answered 202 let go of their job without finishing it, one
 * statement each (they are few: each is a long-running task).  A detach
 * that finds the lease lost leaves the run to release_finished(). */
static int
detach_accepted(struct scheduler *s, int64_t now)
{
    for (int i = runpool_size(s->pool) - 1; i >= 0; i--) {
        struct run *run = runpool_at(s->pool, i);
        struct release r;
        int rc;

        if (run->state != RUN_DONE || run->end != RUN_END_DETACHED)
            continue;
        release_fill(run, &r);
        if ((rc = claim_detach(s->db, s->me, &r)) < 0) {
            db_failed(s, now);
            return -1;
        }
        run->end = RUN_END_LOST; /* unless detached: released as abandoned */
        if (rc == 1) {
            log_info("execution accepted (202): waiting for its reports", "job=%s exec=%lld",
                     run->job.name, (long long)run->job.execution_id);
            runpool_remove(s->pool, i);
            s->next_claim_ms = now;
            s->next_reap_ms = now; /* its result may be in already */
        }
    }
    return 0;
}

/*
 * Release every finished run in one statement (see SQL_RELEASE); if the
 * database fails they stay in the pool for the next tick.
 */
static void
release_finished(struct scheduler *s, int64_t now)
{
    int size, n = 0;
    int *at = NULL, *released = NULL;
    struct release *rs = NULL;
    char (*errors)[512] = NULL;

    if (now < s->db_retry_at_ms || detach_accepted(s, now) < 0)
        return;
    size = runpool_size(s->pool);
    for (int i = 0; i < size; i++)
        n += runpool_at(s->pool, i)->state == RUN_DONE;
    if (n == 0)
        return;
    if ((at = calloc((size_t)n, sizeof(*at))) == NULL ||
        (released = calloc((size_t)n, sizeof(*released))) == NULL ||
        (rs = calloc((size_t)n, sizeof(*rs))) == NULL ||
        (errors = calloc((size_t)n, sizeof(*errors))) == NULL)
        goto out;
    n = 0;
    /* Highest index first: runpool_remove() moves the last run into the
     * hole, which must not be one still to be removed. */
    for (int i = size - 1; i >= 0; i--) {
        struct run *run = runpool_at(s->pool, i);
        int retryable;

        if (run->state != RUN_DONE)
            continue;
        release_fill(run, &rs[n]);
        retryable = describe_end(s, run, &rs[n], errors[n], sizeof(errors[n]));
        plan_next(s, run->job.schedule, run->job.timezone, run->job.scheduled_for_s,
                  run->job.attempt, run->job.max_retries, run->job.retry_backoff_s, retryable,
                  &rs[n]);
        at[n++] = i;
    }
    if (claim_release(s->db, s->me, rs, n, released) < 0) {
        db_failed(s, now);
        goto out;
    }
    for (int k = 0; k < n; k++) {
        struct run *run = runpool_at(s->pool, at[k]);
        const struct release *r = &rs[k];

        if (!released[k])
            log_warn("lease lost: result recorded as abandoned, job left to its new owner",
                     "job=%s exec=%lld", run->job.name, (long long)run->job.execution_id);
        else if (run->end != RUN_END_NOT_RUN) {
            char code[16] = "none";
            if (r->has_exit_code)
                snprintf(code, sizeof(code), "%d", r->exit_code);
            log_info("execution finished",
                     "job=%s exec=%lld status=%s exit_code=%s ms=%lld retry=%s", run->job.name,
                     (long long)run->job.execution_id, r->status, code,
                     (long long)(now - run->started_ms), r->retry ? "scheduled" : "no");
        }
        if (run->end != RUN_END_NOT_RUN)
            metrics_execution(run->job.kind, released[k] ? r->status : "abandoned");
        runpool_remove(s->pool, at[k]);
    }
    s->next_claim_ms = now; /* slots are free */
out:
    free(at);
    free(released);
    free(rs);
    free(errors);
}

static void
renew(struct scheduler *s, int64_t now)
{
    int n = runpool_size(s->pool);
    struct lease_held *held;

    s->next_renew_ms = now + s->opts.lease_us / 3000;
    if (n == 0)
        return;
    if ((held = calloc((size_t)n, sizeof(*held))) == NULL)
        return;
    for (int i = 0; i < n; i++) {
        held[i].id = runpool_at(s->pool, i)->job.id;
        held[i].version = runpool_at(s->pool, i)->job.version;
    }
    if (lease_renew_all(s->db, s->me, s->opts.lease_us, held, n) < 0) {
        db_failed(s, now);
        s->next_renew_ms = now + DB_RETRY_MS;
        free(held);
        return;
    }
    for (int i = 0; i < n; i++) {
        struct run *run = runpool_at(s->pool, i);
        metrics_add(METRIC_LEASE_RENEWALS, held[i].still_held ? 1 : 0);
        if (!held[i].still_held && run->state != RUN_DONE && run->state != RUN_LOST) {
            metrics_add(METRIC_LEASES_LOST, 1);
            log_warn("lease lost, killing the task", "job=%s exec=%lld", run->job.name,
                     (long long)run->job.execution_id);
            runpool_stop(s->pool, run->job.id, RUN_END_LOST, now, 0);
        } else if (held[i].kill_wanted && run->state == RUN_RUNNING) {
            log_info("kill requested, stopping the task", "job=%s exec=%lld", run->job.name,
                     (long long)run->job.execution_id);
            runpool_stop(s->pool, run->job.id, RUN_END_KILLED, now, KILL_GRACE_MS);
        }
    }
    free(held);
}

/* Write the output of tasks still running to their executions rows, so the
 * pages and `history show` can follow them.  Only runs older than one
 * period with new output cost a statement: short tasks write theirs once,
 * with their release. */
static void
save_running_output(struct scheduler *s, int64_t now)
{
    s->next_output_ms = now + OUTPUT_SAVE_MS;
    for (int i = 0; i < runpool_size(s->pool); i++) {
        struct run *run = runpool_at(s->pool, i);
        char *output;

        if (run->state != RUN_RUNNING || run->exec == NULL || run->job.execution_id == 0 ||
            now - run->started_ms < OUTPUT_SAVE_MS)
            continue;
        if ((output = exec_output_since(run->exec, &run->output_saved)) == NULL)
            continue;
        if (claim_save_output(s->db, s->me, run->job.execution_id, output) < 0) {
            free(output);
            db_failed(s, now);
            return;
        }
        free(output);
    }
}

/*
 * A job whose HTTP task answered 202 and then reported its result, stopped
 * reporting for timeout_s, or was asked to be killed: finish the execution
 * (unless the report did) and move the job on as a release would.  A
 * "rebalance" report ends the execution as abandoned and runs the next
 * attempt at once, with the parameters it left, whatever max_retries says.
 * -1 on a database error.
 */
#define REBALANCE_MAX_ATTEMPTS 100

static int
finish_callback(struct scheduler *s, const struct due_job *j)
{
    struct callback_outcome o;
    struct release next;
    char error[160];
    int retryable, rc;

    if ((rc = claim_callback_outcome(s->db, j->id, &o)) <= 0)
        return rc;
    memset(&next, 0, sizeof(next));
    next.execution_id = o.execution_id;
    next.status = o.status;
    if (strcmp(o.status, "running") == 0 && o.kill_requested) {
        next.status = "killed";
        next.error = "killed on request (the task had answered 202 and was not told)";
        retryable = 0;
    } else if (strcmp(o.status, "running") == 0) {
        next.status = "timed_out";
        snprintf(error, sizeof(error), "no report from the task for %d s after its 202",
                 o.timeout_s);
        next.error = error;
        retryable = 1;
    } else {
        retryable = strcmp(o.status, "succeeded") != 0;
    }
    plan_next(s, j->schedule, j->timezone, j->scheduled_for_s, j->attempt, j->max_retries,
              j->retry_backoff_s, retryable, &next);
    /* Bounded all the same: a task that always rebalances stops somewhere. */
    if (strcmp(o.status, "abandoned") == 0 && o.resume && j->attempt < REBALANCE_MAX_ATTEMPTS) {
        next.retry = 1;
        next.retry_delay_s = 0;
        next.next_attempt = j->attempt + 1;
        next.retry_for_s = j->scheduled_for_s;
    }
    if ((rc = claim_reap_callback(s->db, j, &next)) < 0)
        return -1;
    if (rc == 1) {
        metrics_execution("http", next.status);
        log_info("long-running execution finished", "job_id=%lld exec=%lld status=%s retry=%s",
                 (long long)j->id, (long long)o.execution_id, next.status,
                 next.retry ? "scheduled" : "no");
        s->next_claim_ms = monotonic_ms();
    }
    return 0;
}

/* Take over jobs whose owner stopped renewing (mine: our own from before a
 * restart, which are dead whatever their lease says). */
static void
reap(struct scheduler *s, int64_t now, const char *mine)
{
    struct due_set set;

    s->next_reap_ms = now + s->opts.lease_us / 3000;
    if (claim_fetch_expired(s->db, s->opts.batch, mine, &set) < 0) {
        db_failed(s, now);
        return;
    }
    for (int i = 0; i < set.count; i++) {
        const struct due_job *j = &set.jobs[i];
        struct release next;
        int rc;

        if (j->awaiting_callback) {
            if (finish_callback(s, j) < 0) {
                db_failed(s, now);
                break;
            }
            continue;
        }
        memset(&next, 0, sizeof(next));
        plan_next(s, j->schedule, j->timezone, j->scheduled_for_s, j->attempt, j->max_retries,
                  j->retry_backoff_s, 1, &next);
        if ((rc = claim_reap(s->db, j, mine, &next)) < 0) {
            db_failed(s, now);
            break;
        }
        if (rc == 1) {
            metrics_add(METRIC_TAKEOVERS, 1);
            log_warn("took over a job from an instance that stopped renewing its lease",
                     "job_id=%lld dead_owner=%s scheduled_for=%lld attempt=%d retry=%s",
                     (long long)j->id, j->lease_owner, (long long)j->scheduled_for_s, j->attempt,
                     next.retry ? "scheduled" : "no");
            s->next_claim_ms = now;
        }
    }
    due_set_free(&set);
}

/* Rows without next_time (inserted by SQL, schedule edited): compute it. */
static void
schedule_new_rows(struct scheduler *s, int64_t now)
{
    struct due_set set;

    s->next_unscheduled_ms = now + s->opts.max_poll_us / 1000;
    if (claim_fetch_unscheduled(s->db, s->opts.batch, &set) < 0) {
        db_failed(s, now);
        return;
    }
    for (int i = 0; i < set.count; i++) {
        const struct due_job *j = &set.jobs[i];
        struct schedule_error err;
        const struct schedule *sched = schedule_for(s, j->schedule, j->timezone, &err);
        int64_t now_s = set.db_now_ms / 1000, next = CLAIM_NO_TIME;
        int rc;

        if (sched == NULL) {
            char msg[200];
            format_schedule_error(&err, msg, sizeof(msg));
            log_warn("job has an unusable schedule, not scheduling it", "job_id=%lld error=%s",
                     (long long)j->id, msg);
            if (claim_set_schedule_error(s->db, j->id, j->version, msg) < 0) {
                db_failed(s, now);
                break;
            }
            continue;
        }
        if (schedule_is_manual(sched))
            continue; /* the fetch leaves these out; waits to be made due */
        /* A one-off keeps its instant even if it has passed: the misfire
         * policy decides at claim time whether it still runs. */
        if (schedule_next(sched, SCHEDULE_NONE, schedule_is_oneoff(sched) ? 0 : now_s, &next) < 0)
            next = CLAIM_NO_TIME;
        if ((rc = claim_reschedule(s->db, s->me, j->id, j->version, next, CLAIM_NO_TIME, NULL)) <
            0) {
            db_failed(s, now);
            break;
        }
        if (rc == 1)
            log_debug("scheduled a new job", "job_id=%lld next=%lld", (long long)j->id,
                      (long long)next);
    }
    if (set.count > 0)
        s->next_claim_ms = now;
    due_set_free(&set);
}

/*
 * Decide for one due row: a claim request (on time, retry, or catch-up), or
 * a reschedule that skips missed fire times.  Returns 1 if req was filled.
 */
static int
decide(struct scheduler *s, const struct due_job *j, int64_t db_now_s, struct claim_req *req,
       int64_t now)
{
    struct schedule_plan plan;
    struct schedule_error err;
    const struct schedule *sched;
    int rc;

    req->id = j->id;
    req->version = j->version;
    req->misfired_s = CLAIM_NO_TIME;
    if (j->scheduled_for_s != CLAIM_NO_TIME) {
        /* A retry, or a run an upstream job's run made due: it runs for
         * the fire time it belongs to, however late. */
        req->scheduled_for_s = j->scheduled_for_s;
        req->attempt = j->attempt;
        return 1;
    }
    if ((sched = schedule_for(s, j->schedule, j->timezone, &err)) == NULL) {
        char msg[200];
        format_schedule_error(&err, msg, sizeof(msg));
        log_warn("job has an unusable schedule, not running it", "job_id=%lld error=%s",
                 (long long)j->id, msg);
        /* With schedule_error set the due query passes it over until an
         * operator fixes the schedule (which clears the error). */
        if (claim_set_schedule_error(s->db, j->id, j->version, msg) < 0)
            db_failed(s, now);
        return 0;
    }
    schedule_misfire(sched, j->misfire_once ? SCHEDULE_MISFIRE_ONCE : SCHEDULE_MISFIRE_SKIP,
                     j->due_s, db_now_s, s->opts.misfire_grace_us / 1000000, &plan);
    if (plan.skipped > 0) {
        char first[32];
        struct tm tm;
        time_t t = (time_t)j->due_s;

        metrics_add(METRIC_MISFIRES_SKIPPED, (uint64_t)plan.skipped);
        log_info("skipped missed fire times", "job_id=%lld skipped=%lld more=%s policy=%s",
                 (long long)j->id, (long long)plan.skipped, plan.skipped_more ? "yes" : "no",
                 j->misfire_once ? "once" : "skip");
        /* Recorded as one 'misfired' execution for its first fire time
         * (an every-second job down for a day missed 86,400). */
        gmtime_r(&t, &tm);
        strftime(first, sizeof(first), "%Y-%m-%dT%H:%M:%SZ", &tm);
        req->misfired_s = j->due_s;
        snprintf(req->misfire_error, sizeof(req->misfire_error),
                 "missed %lld%s fire time%s from %s: no instance started %s within the "
                 "misfire grace (misfire_policy %s)",
                 (long long)plan.skipped, plan.skipped_more ? " or more" : "",
                 plan.skipped == 1 && !plan.skipped_more ? "" : "s", first,
                 plan.skipped == 1 && !plan.skipped_more ? "it" : "them",
                 j->misfire_once ? "once" : "skip");
    }
    if (plan.run_s != SCHEDULE_NONE) {
        req->scheduled_for_s = plan.run_s;
        req->attempt = 1;
        return 1;
    }
    rc = claim_reschedule(s->db, s->me, j->id, j->version,
                          plan.next_s == SCHEDULE_NONE ? CLAIM_NO_TIME : plan.next_s,
                          req->misfired_s, req->misfired_s != CLAIM_NO_TIME ? req->misfire_error
                                                                            : NULL);
    if (rc < 0)
        db_failed(s, now);
    return 0;
}

/*
 * Give each claimed HTTP task a secret for its reports after a 202, stored
 * hashed in one statement before any request goes out.  If that fails the
 * tasks run without one (a 202 then counts as an ordinary answer).
 */
static void
give_callback_tokens(struct scheduler *s, struct claimed_job *won, int nwon)
{
    int64_t *ids = calloc((size_t)nwon, sizeof(*ids));
    char **tokens = calloc((size_t)nwon, sizeof(*tokens));
    int n = 0;

    for (int i = 0; ids != NULL && tokens != NULL && i < nwon; i++) {
        char token[64];

        if (won[i].execution_id == 0 || strcmp(won[i].kind, "http") != 0 ||
            password_random_token("", token, sizeof(token)) < 0 ||
            (won[i].callback_token = strdup(token)) == NULL)
            continue;
        ids[n] = won[i].execution_id;
        tokens[n++] = won[i].callback_token;
    }
    if (n > 0 && claim_set_callback_tokens(s->db, ids, tokens, n) < 0) {
        log_warn("could not store the report secrets of HTTP tasks; a 202 will count as done",
                 "tasks=%d", n);
        for (int i = 0; i < nwon; i++) {
            free(won[i].callback_token);
            won[i].callback_token = NULL;
        }
    }
    free(ids);
    free(tokens);
}

/* One claim round: fetch due rows, start at a random one, claim as many as
 * there are free slots in one statement. */
static void
claim_round(struct scheduler *s, int64_t now)
{
    int free_slots = runpool_free_slots(s->pool);
    struct due_set set;
    struct claim_req *reqs = NULL;
    struct claimed_job *won = NULL;
    int nreqs = 0, nwon = 0, start, offset = 0, limit;
    int64_t earliest, db_now;

    s->next_claim_ms = now + s->opts.max_poll_us / 1000;
    if (free_slots <= 0)
        return; /* a release sets next_claim_ms again */
    /* Only as many rows as there is room for: rows fetched but not claimed
     * are rows another instance may fetch too. */
    limit = free_slots < s->opts.batch ? free_slots : s->opts.batch;
    /* DESIGN's random offset: while many rows are due, instances look at
     * different stretches of the due list rather than all at its head,
     * where they would fight over the same rows.  spread_len is how long
     * the list appears to be: grown while stretches come back full, cut to
     * what a short one showed, and kept while the list is empty (that says
     * nothing of the next burst). */
    if (s->spread_len > 0)
        offset = (int)(rand_r(&s->rng) % (unsigned int)s->spread_len);
    if (offset < s->skip_taken)
        offset = s->skip_taken;
    for (int tries = 0;; tries++) {
        if (claim_fetch_due(s->db, limit, offset, &set) < 0) {
            db_failed(s, now);
            return;
        }
        if (set.count == limit) {
            int grown = s->spread_len * 2 > s->opts.batch * CLAIM_SPREAD_START
                            ? s->spread_len * 2 : s->opts.batch * CLAIM_SPREAD_START;
            s->spread_len = grown < s->opts.batch * CLAIM_SPREAD_MAX
                                ? grown : s->opts.batch * CLAIM_SPREAD_MAX;
        } else if (set.count > 0) {
            s->spread_len = offset + set.count > limit ? offset + set.count - limit : 0;
        }
        if (set.count > 0 || offset == 0)
            break;
        due_set_free(&set);
        /* Past the end: the list is shorter than offset; try a stretch
         * nearer the head, and the head itself the third time. */
        offset = tries == 0 ? (int)(rand_r(&s->rng) % (unsigned int)(offset / 2 + 1)) : 0;
    }
    if (set.count == 0) {
        due_set_free(&set);
        if (claim_earliest(s->db, &earliest, &db_now) < 0) {
            db_failed(s, now);
            return;
        }
        /* Sleep until the earliest next_time, by the database's clock. */
        if (earliest != CLAIM_NO_TIME && earliest - db_now < s->opts.max_poll_us / 1000)
            s->next_claim_ms = now + (earliest - db_now > 0 ? earliest - db_now + 1 : 0);
        return;
    }
    if ((reqs = calloc((size_t)set.count, sizeof(*reqs))) == NULL)
        goto out;
    /* The random start spreads concurrent instances over different rows. */
    start = (int)(rand_r(&s->rng) % (unsigned int)set.count);
    for (int k = 0; k < set.count && nreqs < free_slots; k++) {
        const struct due_job *j = &set.jobs[(start + k) % set.count];
        if (decide(s, j, set.db_now_ms / 1000, &reqs[nreqs], now))
            nreqs++;
    }
    /* The random start chose which rows; the claim statement takes their
     * locks itself, never waiting for another claim (see SQL_CLAIM). */
    if (nreqs > 0 && claim_batch(s->db, s->me, s->opts.lease_us, reqs, nreqs, &won, &nwon) < 0) {
        db_failed(s, now);
        goto out;
    }
    if (nwon > 0 && claim_record_misfires(s->db, s->me, reqs, nreqs, won, nwon) < 0)
        log_warn("could not record skipped fire times; they are in the log above", NULL);
    metrics_add(METRIC_CLAIMS_WON, (uint64_t)nwon);
    metrics_add(METRIC_CAS_MISSES, (uint64_t)(nreqs - nwon));
    if (nreqs > 0)
        log_debug("claim round", "due=%d offset=%d tried=%d won=%d missed=%d", set.count, offset,
                  nreqs, nwon, nreqs - nwon);
    if (s->has_callback)
        give_callback_tokens(s, won, nwon);
    for (int i = 0; i < nwon; i++) {
        metrics_start_lag(set.db_now_ms - won[i].scheduled_for_s * 1000);
        runpool_start(s->pool, &won[i], now);
    }
    /* More may be due (a full batch, misses, skipped rows): look again now. */
    s->next_claim_ms = now;
    if (nwon == 0 && nreqs == set.count) {
        /* Every row looked at was taken or held by others (SQL_CLAIM skips
         * locked rows), most likely another instance claiming them right
         * now (a burst due at the same second): look just past them at
         * once.  Lost again, wait a moment rather than spin on rows a long
         * transaction holds. */
        if (s->skip_taken == 0)
            s->skip_taken = offset + set.count;
        else {
            s->skip_taken = 0;
            s->next_claim_ms = now + CLAIM_LOST_ALL_MS;
        }
    } else {
        s->skip_taken = 0;
    }
out:
    claimed_jobs_free(won, nwon);
    free(reqs);
    due_set_free(&set);
}

int
scheduler_pollfds(const struct scheduler *s, struct pollfd *fds, int max)
{
    int n = 0, sock = db_socket(s->db);

    if (sock >= 0 && max > 0) {
        fds[n].fd = sock;
        fds[n].events = POLLIN;
        fds[n].revents = 0;
        n++;
    }
    return n + runpool_pollfds(s->pool, fds + n, max - n);
}

int64_t
scheduler_tick(struct scheduler *s, const struct pollfd *fds, int nfds)
{
    int64_t now = monotonic_ms(), wake;
    int notified = 0;

    if (db_is_connected(s->db) && db_take_notifies(s->db) > 0)
        notified = 1;
    runpool_service(s->pool, now, fds, nfds);
    release_finished(s, now);
    metrics_set_running(runpool_count(s->pool));

    if (s->shutting_down) {
        if (runpool_count(s->pool) > 0 && now >= s->shutdown_kill_ms) {
            log_warn("grace period over, killing running tasks", "running=%d",
                     runpool_count(s->pool));
            runpool_stop_all(s->pool, RUN_END_SHUTDOWN, now, 2000);
            s->shutdown_kill_ms = INT64_MAX;
        }
    }
    if (now >= s->db_retry_at_ms) {
        if (!s->reaped_own) {
            reap(s, now, s->me);
            s->reaped_own = s->db_retry_at_ms <= now;
            s->check_orphans = 0;
        } else if (s->check_orphans) {
            release_orphans(s, now);
        }
        if (notified || now >= s->next_renew_ms)
            renew(s, now);
        if (now >= s->db_retry_at_ms && now >= s->next_output_ms && runpool_count(s->pool) > 0)
            save_running_output(s, now);
        /* A notification may be a long-running task's result (api_callbacks.c). */
        if (!s->shutting_down && now >= s->db_retry_at_ms && (notified || now >= s->next_reap_ms))
            reap(s, now, NULL);
        if (!s->shutting_down && now >= s->db_retry_at_ms &&
            (notified || now >= s->next_unscheduled_ms))
            schedule_new_rows(s, now);
        if (!s->shutting_down && now >= s->db_retry_at_ms && (notified || now >= s->next_claim_ms))
            claim_round(s, now);
    }

    wake = s->shutting_down ? INT64_MAX : s->next_claim_ms;
    if (s->next_renew_ms < wake && runpool_count(s->pool) > 0)
        wake = s->next_renew_ms;
    if (s->next_output_ms < wake && runpool_count(s->pool) > 0)
        wake = s->next_output_ms;
    if (!s->shutting_down && s->next_reap_ms < wake)
        wake = s->next_reap_ms;
    if (runpool_next_deadline(s->pool) < wake)
        wake = runpool_next_deadline(s->pool);
    if (s->shutting_down && s->shutdown_kill_ms < wake)
        wake = s->shutdown_kill_ms;
    if (s->db_retry_at_ms > now && wake < s->db_retry_at_ms)
        wake = s->db_retry_at_ms;
    wake -= monotonic_ms();
    if (wake > s->opts.max_poll_us / 1000)
        wake = s->opts.max_poll_us / 1000;
    return wake < 0 ? 0 : wake;
}

void
scheduler_shutdown(struct scheduler *s)
{
    if (s->shutting_down)
        return;
    s->shutting_down = 1;
    s->shutdown_kill_ms = monotonic_ms() + s->opts.grace_us / 1000;
    log_info("no longer claiming; waiting for running tasks", "running=%d grace_ms=%lld",
             runpool_count(s->pool), (long long)(s->opts.grace_us / 1000));
}

int
scheduler_idle(const struct scheduler *s)
{
    return runpool_count(s->pool) == 0;
}

int
scheduler_running(const struct scheduler *s)
{
    return runpool_count(s->pool);
}
