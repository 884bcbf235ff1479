/* runpool.h - the executions in flight on this instance (at most max_running).
 *
 * Each run walks an explicit state machine; every step first checks whether
 * it was cancelled or its deadline passed:
 *
 *   RUN_RUNNING --finished--------------------------> RUN_DONE (release it)
 *        | timeout / kill request / shutdown: SIGTERM
 *        v
 *   RUN_STOPPING --exited or SIGKILL after a grace--> RUN_DONE
 *   any --lease lost: SIGKILL at once---------------> RUN_LOST --exited--> RUN_DONE
 *
 * A lost run is still "done" in the end, but its release finds the job no
 * longer ours and records the execution as abandoned (see claim_release).
 */
#ifndef TC_RUNPOOL_H
#define TC_RUNPOOL_H

#include <poll.h>
#include <stdint.h>

#include "claim.h"
#include "exec.h"

enum run_state { RUN_RUNNING, RUN_STOPPING, RUN_LOST, RUN_DONE };

enum run_end {
    RUN_END_FINISHED, /* the task ended by itself */
    RUN_END_TIMEOUT,  /* timeout_s passed */
    RUN_END_KILLED,   /* an operator asked (kill_requested_at) */
    RUN_END_SHUTDOWN, /* this instance is stopping and the grace ran out */
    RUN_END_LOST,     /* the lease was taken over */
    RUN_END_NOT_RUN,  /* the fire time had already run: nothing started */
    RUN_END_START_FAILED,
    RUN_END_DETACHED, /* an HTTP task answered 202: it goes on, reporting to the API */
};

struct run {
    struct claimed_job job;   /* owned (its strings) */
    struct exec_run *exec;    /* owned; NULL when it could not start */
    enum run_state state;
    enum run_end end;
    int64_t started_ms;       /* monotonic */
    int64_t deadline_ms;      /* timeout */
    int64_t hard_kill_ms;     /* SIGKILL if still alive then (stopping) */
    struct exec_result result;
    uint64_t output_saved;    /* output bytes already written to the executions row */
    char start_error[256];
};

struct runpool; /* opaque */

/* callback_base: URL of this instance's API (reports of 202 tasks), or NULL. */
struct runpool *runpool_new(int max_running, const char *callback_base);
void runpool_free(struct runpool *pool); /* kills and reaps what still runs */

int runpool_count(const struct runpool *pool);
int runpool_free_slots(const struct runpool *pool);

/* Start a claimed job (its strings are stolen: job is cleared). */
void runpool_start(struct runpool *pool, struct claimed_job *job, int64_t now_ms);

/* The fds of all runs (pipes and libcurl's sockets), for poll(). */
int runpool_pollfds(const struct runpool *pool, struct pollfd *fds, int max);

/* Advance every run: act on the fds poll() returned (fds may hold others'
 * too), read output, reap, enforce deadlines. */
void runpool_service(struct runpool *pool, int64_t now_ms, const struct pollfd *fds, int nfds);

/* The earliest deadline of any run or transfer timer (INT64_MAX if none;
 * 0 when a run needs looking at now). */
int64_t runpool_next_deadline(const struct runpool *pool);

/* Stop a run: kill request, shutdown (SIGTERM, then SIGKILL after
 * grace_ms) or lost lease (SIGKILL now). */
void runpool_stop(struct runpool *pool, int64_t job_id, enum run_end why, int64_t now_ms,
                  int64_t grace_ms);
void runpool_stop_all(struct runpool *pool, enum run_end why, int64_t now_ms, int64_t grace_ms);

/* Index access for renewals and releases. */
int runpool_size(const struct runpool *pool);
struct run *runpool_at(struct runpool *pool, int i); /* borrowed */

/* Remove run i (a finished one that has been released); frees it. */
void runpool_remove(struct runpool *pool, int i);

#endif
