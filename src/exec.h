/* exec.h - one running task of any kind, as the scheduler's loop sees it.
 *
 * An executor starts a task without blocking, names the file descriptors
 * the loop must poll for it, does its work when they are ready, can be
 * cancelled (gently, then hard) and finally gives a result.  Kinds plug in
 * below this interface (exec_shell.c, exec_http.c, exec_grpc.c); the loop
 * never knows which.  Shell tasks name their pipes through exec_pollfds();
 * HTTP and gRPC tasks are transfers on the shared `struct net`, whose
 * sockets the loop polls through net.h.
 */
#ifndef TC_EXEC_H
#define TC_EXEC_H

#include <poll.h>
#include <stdint.h>

#include "common.h"

#define EXEC_POLLFDS_MAX 4

/* What the task is told about itself (environment, headers). */
struct exec_context {
    int64_t job_id;
    const char *job_name;   /* borrowed */
    int64_t execution_id;
    int64_t scheduled_for_s;
    int attempt;
    int shard_index;        /* 0..shard_count-1 */
    int shard_count;        /* 1 for a job that is not sharded */
    int timeout_s;          /* the job's; gRPC sends it as grpc-timeout */
    const char *resume_params;  /* borrowed; JSON from a "rebalance" report, or NULL */
    const char *callback_url;   /* borrowed; where an HTTP task reports after a 202, or NULL */
    const char *callback_token; /* borrowed; its secret for those reports */
};

struct exec_result {
    int succeeded;
    int has_exit_code;
    int exit_code;      /* shell: exit status or 128+signal; http: status; grpc: grpc-status */
    int timed_out;      /* the task itself reported our deadline passing (gRPC) */
    int detached;       /* it answered 202 and reports the rest to the API (HTTP) */
    char *output;       /* owned; bounded */
    char *error;        /* owned; NULL on success, else why, in words */
};

struct net;

struct exec_run; /* opaque */

/*
 * Start a task; net is where HTTP and gRPC transfers run (borrowed, must
 * outlive the run).  On failure (bad config, fork failed...) returns NULL
 * and writes why into err: the run is recorded as failed with that error.
 */
struct exec_run *exec_start(struct net *net, const char *kind, const char *config_json,
                            const struct exec_context *ctx, char *err, size_t errsize);

/* The task's identity as header lines (X-Tablecron-Job, -Execution,
 * -Attempt, and -Resume, -Callback, -Token when set), appended to list for
 * HTTP and gRPC tasks; -1 out of memory. */
struct curl_slist;
int exec_identity_headers(const struct exec_context *ctx, struct curl_slist **list) TC_MUST_CHECK;

int exec_pollfds(const struct exec_run *run, struct pollfd *fds, int max);

/* Do pending work; TC_AGAIN while running, 0 when finished. */
int exec_on_ready(struct exec_run *run) TC_MUST_CHECK;

/* Ask the task to stop (hard = 0: SIGTERM to a shell's group) or make it
 * stop (hard = 1: SIGKILL).  A transfer is aborted at once either way. */
void exec_cancel(struct exec_run *run, int hard);

/* After exec_on_ready() returned 0.  The result's strings belong to the
 * caller (exec_result_free). */
void exec_take_result(struct exec_run *run, struct exec_result *out);

/* While it runs: the output captured so far (the tail, as the result will
 * hold it) when more arrived since *seen bytes, which is updated; NULL when
 * nothing new, out of memory, or the kind's output is only known at the end
 * (HTTP and gRPC response bodies).  Owned by the caller. */
char *exec_output_since(const struct exec_run *run, uint64_t *seen);
void exec_result_free(struct exec_result *res);

/* Kills and reaps whatever still runs.  NULL is fine. */
void exec_free(struct exec_run *run);

#endif
