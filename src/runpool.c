/* runpool.c - per-run state machine over the executors.
 *
 * Single-threaded: the scheduler's loop calls runpool_service() after every
 * poll() (and at each deadline), so no locks are needed here.
 */
#include <autoconfig.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "net.h"
#include "runpool.h"

/* After SIGTERM (timeout, kill request), how long before SIGKILL. */
#define STOP_GRACE_MS 5000

struct runpool {
    struct run **runs; /* owned */
    int count;
    int max;
    struct net *net;   /* owned; HTTP and gRPC transfers */
    char *callback_base; /* owned; URL of an API for 202 tasks' reports, NULL if none */
    int recheck;       /* a stop began: look at the runs again at once */
};

struct runpool *
runpool_new(int max_running, const char *callback_base)
{
    struct runpool *pool = calloc(1, sizeof(*pool));

    if (pool == NULL)
        return NULL;
    if (callback_base != NULL && (pool->callback_base = strdup(callback_base)) == NULL) {
        free(pool);
        return NULL;
    }
    if ((pool->runs = calloc((size_t)max_running, sizeof(*pool->runs))) == NULL ||
        (pool->net = net_new()) == NULL) {
        free(pool->runs);
        free(pool->callback_base);
        free(pool);
        return NULL;
    }
    pool->max = max_running;
    return pool;
}

static void
run_free(struct run *run)
{
    if (run == NULL)
        return;
    exec_free(run->exec);
    exec_result_free(&run->result);
    claimed_job_clear(&run->job);
    free(run);
}

void
runpool_free(struct runpool *pool)
{
    if (pool == NULL)
        return;
    for (int i = 0; i < pool->count; i++)
        run_free(pool->runs[i]);
    net_free(pool->net); /* after the runs: they abort their transfers */
    free(pool->callback_base);
    free(pool->runs);
    free(pool);
}

int
runpool_count(const struct runpool *pool)
{
    return pool->count;
}

int
runpool_free_slots(const struct runpool *pool)
{
    return pool->max - pool->count;
}

int
runpool_size(const struct runpool *pool)
{
    return pool->count;
}

struct run *
runpool_at(struct runpool *pool, int i)
{
    return pool->runs[i];
}

void
runpool_remove(struct runpool *pool, int i)
{
    run_free(pool->runs[i]);
    pool->runs[i] = pool->runs[--pool->count];
    pool->runs[pool->count] = NULL;
}

void
runpool_start(struct runpool *pool, struct claimed_job *job, int64_t now_ms)
{
    struct exec_context ctx;
    char *callback_url = NULL;
    struct run *run;

    if (pool->count >= pool->max || (run = calloc(1, sizeof(*run))) == NULL) {
        /* Cannot happen (we claim only free slots) short of memory: the
         * lease will expire and another instance takes the job over. */
        log_error("cannot start a claimed job", "job=%s", job->name);
        return;
    }
    run->job = *job;
    memset(job, 0, sizeof(*job));
    run->started_ms = now_ms;
    run->deadline_ms = now_ms + (int64_t)run->job.timeout_s * 1000;
    run->state = RUN_RUNNING;
    pool->runs[pool->count++] = run;

    if (run->job.execution_id == 0) {
        /* The unique (job, fire time, attempt) said this already ran. */
        run->state = RUN_DONE;
        run->end = RUN_END_NOT_RUN;
        log_warn("fire time already ran, not running it again", "job=%s scheduled_for=%lld",
                 run->job.name, (long long)run->job.scheduled_for_s);
        return;
    }
    ctx.job_id = run->job.run_of;
    ctx.job_name = run->job.name;
    ctx.execution_id = run->job.execution_id;
    ctx.scheduled_for_s = run->job.scheduled_for_s;
    ctx.attempt = run->job.attempt;
    ctx.shard_index = run->job.shard_index;
    ctx.shard_count = run->job.shard_count;
    ctx.timeout_s = run->job.timeout_s;
    ctx.resume_params = run->job.resume_params;
    ctx.callback_token = run->job.callback_token;
    ctx.callback_url = NULL;
    /* The route of api_callbacks.c: the URL is the contract between the
     * two sides, which share no header. */
    if (pool->callback_base != NULL && run->job.callback_token != NULL &&
        asprintf(&callback_url, "%s/api/v1/executions/%lld/progress", pool->callback_base,
                 (long long)run->job.execution_id) >= 0)
        ctx.callback_url = callback_url;
    run->exec = exec_start(pool->net, run->job.kind, run->job.config, &ctx, run->start_error,
                           sizeof(run->start_error));
    free(callback_url);
    if (run->exec == NULL) {
        run->state = RUN_DONE;
        run->end = RUN_END_START_FAILED;
        log_warn("task could not start", "job=%s exec=%lld error=%s", run->job.name,
                 (long long)run->job.execution_id, run->start_error);
        return;
    }
    log_info("execution started", "job=%s exec=%lld attempt=%d scheduled_for=%lld",
             run->job.name, (long long)run->job.execution_id, run->job.attempt,
             (long long)run->job.scheduled_for_s);
}

int
runpool_pollfds(const struct runpool *pool, struct pollfd *fds, int max)
{
    int n = net_pollfds(pool->net, fds, max);

    for (int i = 0; i < pool->count && n < max; i++) {
        const struct run *run = pool->runs[i];
        if (run->exec != NULL && run->state != RUN_DONE)
            n += exec_pollfds(run->exec, fds + n, max - n);
    }
    return n;
}

static void
begin_stop(struct runpool *pool, struct run *run, enum run_end why, int64_t now_ms,
           int64_t grace_ms)
{
    if (run->state == RUN_DONE || run->state == RUN_LOST)
        return;
    /* An aborted transfer is finished at once, with no fd to say so. */
    pool->recheck = 1;
    run->end = why;
    if (why == RUN_END_LOST) {
        run->state = RUN_LOST;
        exec_cancel(run->exec, 1);
        return;
    }
    if (run->state == RUN_STOPPING)
        return;
    run->state = RUN_STOPPING;
    run->hard_kill_ms = now_ms + grace_ms;
    exec_cancel(run->exec, grace_ms <= 0);
}

void
runpool_stop(struct runpool *pool, int64_t job_id, enum run_end why, int64_t now_ms,
             int64_t grace_ms)
{
    for (int i = 0; i < pool->count; i++) {
        if (pool->runs[i]->job.id == job_id)
            begin_stop(pool, pool->runs[i], why, now_ms, grace_ms);
    }
}

void
runpool_stop_all(struct runpool *pool, enum run_end why, int64_t now_ms, int64_t grace_ms)
{
    for (int i = 0; i < pool->count; i++)
        begin_stop(pool, pool->runs[i], why, now_ms, grace_ms);
}

/* The task ended by itself (or, for a transfer, was aborted). */
static int
finished(struct run *run)
{
    if (exec_on_ready(run->exec) != 0)
        return 0;
    exec_take_result(run->exec, &run->result);
    if (run->result.timed_out && run->state == RUN_RUNNING)
        run->end = RUN_END_TIMEOUT;
    else if (run->result.detached && run->state == RUN_RUNNING)
        run->end = RUN_END_DETACHED;
    run->state = RUN_DONE;
    return 1;
}

void
runpool_service(struct runpool *pool, int64_t now_ms, const struct pollfd *fds, int nfds)
{
    net_on_events(pool->net, fds, nfds, now_ms);
    pool->recheck = 0;
    for (int i = 0; i < pool->count; i++) {
        struct run *run = pool->runs[i];

        if (run->state == RUN_DONE || finished(run))
            continue;
        if (run->state == RUN_RUNNING && now_ms >= run->deadline_ms) {
            log_warn("execution timed out, stopping it", "job=%s exec=%lld timeout_s=%d",
                     run->job.name, (long long)run->job.execution_id, run->job.timeout_s);
            begin_stop(pool, run, RUN_END_TIMEOUT, now_ms, STOP_GRACE_MS);
            (void)finished(run);
        } else if (run->state == RUN_STOPPING && now_ms >= run->hard_kill_ms) {
            exec_cancel(run->exec, 1);
            run->hard_kill_ms = INT64_MAX; /* once */
        }
    }
}

int64_t
runpool_next_deadline(const struct runpool *pool)
{
    int64_t next = pool->recheck ? 0 : net_next_deadline(pool->net);

    for (int i = 0; i < pool->count; i++) {
        const struct run *run = pool->runs[i];
        if (run->state == RUN_RUNNING && run->deadline_ms < next)
            next = run->deadline_ms;
        else if (run->state == RUN_STOPPING && run->hard_kill_ms < next)
            next = run->hard_kill_ms;
        else if (run->state == RUN_DONE)
            next = 0; /* waiting for its release */
    }
    return next;
}
