/* claim.h - the claim protocol's statements (DESIGN.md, "The claim protocol").
 *
 * Glossary: a *job* is a row of jobs; a *fire time* is one instant its
 * schedule names; an *execution* is one run (attempt) of a fire time; a
 * *claim* is a won version compare-and-swap that makes this instance the
 * job's lease owner.  Times are seconds since the epoch, as the database
 * sees them: no statement here trusts the local clock.
 *
 * Nothing here locks rows or tables: every change is an UPDATE that checks
 * the version it read, and a change that finds the version moved has lost
 * to another instance and does nothing.
 */
#ifndef TC_CLAIM_H
#define TC_CLAIM_H

#include <stdint.h>

#include "common.h"
#include "db.h"

#define CLAIM_NO_TIME INT64_MIN

/* A waiting job whose next_time has come (or a running one whose owner's
 * lease expired), as fetched. */
struct due_job {
    int64_t id;
    int64_t version;
    int64_t due_s;           /* next_time (or lease_until for an expired one) */
    int64_t scheduled_for_s; /* fire time of a retry or of the dead run, else CLAIM_NO_TIME */
    int attempt;
    int max_retries;
    int retry_backoff_s;
    int misfire_once;        /* misfire_policy = 'once' */
    char *schedule;          /* owned */
    char *timezone;          /* owned */
    char *lease_owner;       /* owned; expired ones only, else NULL */
    int awaiting_callback;   /* expired ones: a 202 task whose reports stopped or ended */
};

struct due_set {
    struct due_job *jobs; /* owned */
    int count;
    int64_t db_now_ms;    /* the database's now() when fetched */
};

void due_set_free(struct due_set *set);

/* Waiting rows with next_time <= now(), oldest first, at most limit,
 * after skipping the first offset of them. */
int claim_fetch_due(struct db *db, int limit, int offset, struct due_set *out) TC_MUST_CHECK;

/* Running rows whose lease ran out, or (mine not NULL) every running row
 * leased to mine, expired or not: at start-up those are from a previous life,
 * after a database error they may be claims we never heard of. */
int claim_fetch_expired(struct db *db, int limit, const char *mine, struct due_set *out)
    TC_MUST_CHECK;

/* Waiting rows that have no next_time yet (inserted by SQL, schedule edited)
 * and no schedule_error. */
int claim_fetch_unscheduled(struct db *db, int limit, struct due_set *out) TC_MUST_CHECK;

/* The earliest next_time of any waiting job (CLAIM_NO_TIME if none), and
 * the database's now, both in milliseconds. */
int claim_earliest(struct db *db, int64_t *earliest_ms, int64_t *db_now_ms) TC_MUST_CHECK;

/* One row to claim: the version seen and the fire time it will run. */
struct claim_req {
    int64_t id;
    int64_t version;
    int64_t scheduled_for_s;
    int attempt;
    /* Fire times the misfire policy skipped: the first of them (or
     * CLAIM_NO_TIME) and what the executions row recording them says. */
    int64_t misfired_s;
    char misfire_error[200];
};

/* A won claim: everything needed to run it. */
struct claimed_job {
    int64_t id;              /* the row claimed: the job, or a shard row of it */
    int64_t run_of;          /* the job its executions are recorded under */
    int64_t version;         /* after the claim: renew and release check it */
    int64_t execution_id;    /* 0: this fire time and attempt already ran */
    int64_t scheduled_for_s;
    int attempt;
    int timeout_s;
    int max_retries;
    int retry_backoff_s;
    char *name;              /* owned; the job's (a shard row's job's) */
    char *kind;              /* owned */
    char *config;            /* owned; JSON text */
    char *schedule;          /* owned */
    char *timezone;          /* owned */
    char *resume_params;     /* owned; JSON a "rebalance" report left for this attempt, or NULL */
    char *callback_token;    /* owned; an HTTP task's secret for its reports, or NULL */
    int shard_index;         /* which shard of a sharded job this row runs; 0 if not sharded */
    int shard_count;         /* the job's shards; 1 if not sharded */
};

/*
 * Claim many rows in one statement: each becomes running with lease_owner =
 * me and a fresh lease, and gets its executions row ('running') in the same
 * statement.  Rows whose version moved are skipped: *won and *nwon list the
 * claims won (caller frees with claimed_jobs_free).
 */
int claim_batch(struct db *db, const char *me, int64_t lease_us, const struct claim_req *reqs,
                int nreqs, struct claimed_job **won, int *nwon) TC_MUST_CHECK;

/* The output of a running execution so far, so that it can be read while
 * the task runs; a row no longer running (or not ours) is left alone. */
int claim_save_output(struct db *db, const char *me, int64_t execution_id,
                      const char *output) TC_MUST_CHECK;

void claimed_jobs_free(struct claimed_job *jobs, int n);
void claimed_job_clear(struct claimed_job *job); /* frees its strings */

/*
 * Move a waiting job to its next fire time without running it (a skipped
 * misfire, or the first scheduling of a new row): next_s CLAIM_NO_TIME makes
 * it done.  With misfired_s, the same statement records the skipped fire
 * times as a 'misfired' executions row (scheduled_for = misfired_s, error
 * = misfire_error).  Returns 1 if done, 0 if the version had moved, -1 on
 * error.
 */
int claim_reschedule(struct db *db, const char *me, int64_t id, int64_t version, int64_t next_s,
                     int64_t misfired_s, const char *misfire_error) TC_MUST_CHECK;

/* The 'misfired' executions rows of the won claims whose request skipped
 * fire times (claim_req.misfired_s), in one statement. */
int claim_record_misfires(struct db *db, const char *me, const struct claim_req *reqs, int nreqs,
                          const struct claimed_job *won, int nwon) TC_MUST_CHECK;

/* Record why a job's schedule cannot be used; it is not run until fixed. */
int claim_set_schedule_error(struct db *db, int64_t id, int64_t version, const char *msg)
    TC_MUST_CHECK;

/* How a run ended, for the release. */
struct release {
    int64_t id;
    int64_t version;
    int64_t execution_id;
    const char *status;      /* succeeded, failed, timed_out, killed */
    int has_exit_code;
    int exit_code;
    const char *output;      /* borrowed */
    const char *error;       /* borrowed; NULL on success */
    /* What comes next: a retry after retry_delay_s, or the fire time next_s
     * (CLAIM_NO_TIME: the schedule is finished, the job becomes done). */
    int retry;
    int retry_delay_s;
    int next_attempt;
    int64_t retry_for_s;
    int64_t next_s;
    /* The schedule and zone next_s was computed from (borrowed): if the
     * row's differ, it was edited meanwhile and next_time is left NULL. */
    const char *schedule;
    const char *timezone;
};

/*
 * In one statement for all n runs: finish each execution row and CAS its
 * job back to waiting (or paused, if a pause was requested, or done).  A job
 * no longer ours (version or owner moved: the lease was lost) is not
 * touched, and its execution is recorded as abandoned instead.  Sets
 * released[i] to 1 for the jobs released, 0 for the lost ones.  Returns 0,
 * or -1 on error (nothing changed).
 */
int claim_release(struct db *db, const char *me, const struct release *rs, int n, int *released)
    TC_MUST_CHECK;

/*
 * Take over a job whose owner stopped renewing: CAS it from running back to
 * waiting (next_s / retry as in struct release; status is ignored) and mark
 * the dead owner's execution abandoned.  The lease must have expired, unless
 * mine names the owner (this instance's own leases from before a restart).
 * Returns 1 done, 0 someone else did it or the owner renewed, -1 on error.
 */
int claim_reap(struct db *db, const struct due_job *job, const char *mine,
               const struct release *next) TC_MUST_CHECK;

/*
 * A claim of ours that nothing runs: it committed while the connection broke
 * (the client never saw the answer).  Give it back as if it had never been
 * claimed: the job waits again for the same fire time and attempt, and the
 * execution row that never started is removed.  Returns 1 done, 0 if it was
 * not ours any more, -1 on error.
 */
int claim_unclaim(struct db *db, const char *me, int64_t id, int64_t version) TC_MUST_CHECK;

/*
 * Long-running HTTP tasks (a 202 answer; see 0003_callbacks.sql).
 *
 * Store the hashes of the secrets given to a claim round's HTTP tasks
 * (before their requests go out).
 */
int claim_set_callback_tokens(struct db *db, const int64_t *execution_ids, char *const *tokens,
                              int n) TC_MUST_CHECK;

/* The task answered 202: mark the job awaiting its callback, with a lease
 * of timeout_s that its reports renew, and keep the execution running with
 * the answer's body as output.  1 done, 0 the lease was lost, -1 error. */
int claim_detach(struct db *db, const char *me, const struct release *r) TC_MUST_CHECK;

struct callback_outcome {
    int64_t execution_id;
    char status[16];    /* running (no result reported), succeeded, failed, abandoned */
    int kill_requested;
    int resume;         /* a "rebalance" report left resume_params */
    int timeout_s;
};

/* Read what a job awaiting its callback ended with: 1 found, 0 not (any
 * more) awaiting, -1 error. */
int claim_callback_outcome(struct db *db, int64_t job_id, struct callback_outcome *out)
    TC_MUST_CHECK;

/* Finish it: the job moves on as after a release (next), and an execution
 * still running (no result reported, or killed) gets next->status and
 * next->error.  Fenced by job->version, which every report moves. */
int claim_reap_callback(struct db *db, const struct due_job *job, const struct release *next)
    TC_MUST_CHECK;

#endif
