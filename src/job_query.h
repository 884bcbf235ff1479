/* job_query.h - what the listings read: jobs, executions, coming fire times.
 *
 * The command line (`job show`, `history`) and the API (GET /jobs,
 * /executions) read through the statements and helpers here, so both show
 * the same columns under the same names, times as ISO 8601 UTC with a Z
 * (DB_SQL_UTC), and the same coming fire times.  Read-only: changes go
 * through job_store.c.
 *
 * Glossary: a *viewer* is a user whose departments limit what a query
 * returns (0: no limit, the command line and administrators); a *keyset*
 * is the (sort key, id) of the last row of a page, the next page starting
 * strictly after it.
 */
#ifndef TC_JOB_QUERY_H
#define TC_JOB_QUERY_H

#include <libpq-fe.h>
#include <stdint.h>

#include "common.h"
#include "db.h"
#include "schedule.h"

/*
 * Every column of a job `j` and the name of its department `d` (see
 * JOB_QUERY_FROM), times in UTC; _next_s and _now_s (epoch seconds of
 * next_time and of the database's now) feed job_query_fire_times.
 */
#define JOB_QUERY_COLUMNS                                                                     \
    "j.id, j.name, j.department_id, d.name AS department, j.description, j.kind,"             \
    " j.schedule, j.timezone, j.status, j.version, " DB_SQL_UTC("j.next_time") " AS next_time," \
    " j.lease_owner, " DB_SQL_UTC("j.lease_until") " AS lease_until, j.timeout_s,"            \
    " j.max_retries, j.retry_backoff_s, j.misfire_policy, j.shards, j.attempt,"               \
    " " DB_SQL_UTC("j.scheduled_for") " AS scheduled_for,"                                    \
    " " DB_SQL_UTC("j.kill_requested_at") " AS kill_requested_at, j.pause_requested,"         \
    " j.awaiting_callback,"                                                                   \
    " j.schedule_error, " DB_SQL_UTC("j.created_at") " AS created_at,"                        \
    " " DB_SQL_UTC("j.updated_at") " AS updated_at, j.config,"                                \
    " floor(extract(epoch FROM j.next_time))::bigint AS _next_s,"                             \
    " floor(extract(epoch FROM now()))::bigint AS _now_s"

/* `j` may also be a subquery of jobs rows (a page of them). */
#define JOB_QUERY_JOIN_DEPARTMENT " JOIN departments d ON d.id = j.department_id"

/* The values a job's status, kind and an execution's status take. */
int job_query_is_job_status(const char *text);
int job_query_is_kind(const char *text);
int job_query_is_exec_status(const char *text);

/*
 * Up to max coming fire times of the job in row `row` of a JOB_QUERY_COLUMNS
 * result, from the database's now, as an instance would compute them: a
 * waiting job's stored next_time comes first (and anchors an @every grid);
 * a paused job is scheduled from now when it is resumed.  Returns the
 * parsed schedule (for its zone; the caller frees it) with *n times in
 * out, or NULL with serr when the stored schedule or zone cannot be used.
 */
struct schedule *job_query_fire_times(const PGresult *res, int row, int64_t *out, int max, int *n,
                                      struct schedule_error *serr);

/* Which executions to list: every field is optional (exec_filter_init). */
struct exec_filter {
    int64_t job_id;         /* 0: every job */
    const char *status;     /* borrowed; NULL: any status */
    int64_t department_id;  /* 0: every department */
    int64_t viewer_id;      /* > 0: only jobs of that user's departments */
    int64_t since_s;        /* started_at >= it (epoch seconds); SCHEDULE_NONE: no bound */
    int64_t until_s;        /* started_at < it; SCHEDULE_NONE: no bound */
    const char *after_key;  /* borrowed; keyset: the _key of the last row seen; NULL: newest */
    int64_t after_id;       /* and its id */
    int limit;
};

void exec_filter_init(struct exec_filter *f, int limit);

/*
 * The executions matching f, newest first (started_at, then id): id,
 * job_id, job (its name), scheduled_for, attempt, instance_id, status,
 * exit_code, started_at, finished_at, duration_ms (so far, while running),
 * error, progress and message (a long-running task's reports), and _key (started_at to the microsecond, for a keyset).
 * NULL on a database error (logged, kept for db_last_error).  The caller
 * PQclears.
 */
PGresult *job_query_executions(struct db *db, const struct exec_filter *f) TC_MUST_CHECK;

/* One execution with the same columns plus its output; no rows if none. */
PGresult *job_query_execution(struct db *db, int64_t id) TC_MUST_CHECK;

#endif
