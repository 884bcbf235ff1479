/* job_shards.h - what the listings and the store need to know of sharded jobs.
 *
 * A job with shards = N > 1 runs N executions per fire time: its own row
 * runs shard 0, N-1 shard rows (jobs.shard_of = the job) run the others.
 * The triggers of 0007_shards.sql keep the shard rows in step with their
 * job; here are the two reads the command line, the API and job_store
 * share: which shards run now, and how each recent fire time went (the
 * shard_fire_times view).
 *
 * Glossary: a *shard row* is a jobs row with shard_of set, never shown as a
 * job of its own; a *fire time's status* is the view's: succeeded only when
 * every shard's latest attempt succeeded.
 */
#ifndef TC_JOB_SHARDS_H
#define TC_JOB_SHARDS_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#include "common.h"
#include "db.h"

/* The range of jobs.shards (0007_shards.sql). */
#define JOB_SHARDS_MAX 1000

/*
 * The indexes of job_id's shard rows from index `from` on that are
 * running now, as "2, 3" in list (cut to size; "" when none).  Returns how
 * many there are, or -1 on a database error (logged, kept for
 * db_last_error).
 */
int job_shards_running(struct db *db, int64_t job_id, int from, char *list, size_t size)
    TC_MUST_CHECK;

/*
 * The latest `limit` fire times of a sharded job, newest first, from the
 * shard_fire_times view: scheduled_for, shards, succeeded, failed,
 * running, pending, retrying, missed, status, attempts, started_at,
 * finished_at
 * (times as ISO 8601 UTC).  No rows for a job that is not sharded.  NULL
 * on a database error; the caller PQclears.
 */
PGresult *job_shards_fire_times(struct db *db, int64_t job_id, int limit) TC_MUST_CHECK;

#endif
