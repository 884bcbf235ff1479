/* job_query.c - the statements the listings of jobs and executions share
 * (see job_query.h).
 *
 * Optional filters are written as ($n IS NULL OR ...): the statements go
 * through PQexecParams, so each is planned with its values and the unused
 * filters fold away; the listing walks executions_started_idx (or
 * executions_job_started_idx for one job) from the keyset on.
 */
#include <autoconfig.h>

#include <stdio.h>
#include <string.h>

#include "job_query.h"

/* The columns of an execution (e) and its job's name (j). */
#define EXEC_COLUMNS                                                                        \
    "e.id, e.job_id, j.name AS job, " DB_SQL_UTC("e.scheduled_for") " AS scheduled_for,"    \
    " e.attempt, e.shard_index, e.instance_id, e.status, e.exit_code,"                      \
    " " DB_SQL_UTC("e.started_at") " AS started_at,"                                        \
    " " DB_SQL_UTC("e.finished_at") " AS finished_at,"                                      \
    " floor(extract(epoch FROM coalesce(e.finished_at, now()) - e.started_at) * 1000)"      \
    "::bigint AS duration_ms, e.error, e.progress, e.message,"                              \
    " to_char(e.started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') AS _key"

static const char SQL_EXECUTIONS[] =
    "SELECT " EXEC_COLUMNS " FROM executions e JOIN jobs j ON j.id = e.job_id"
    " WHERE ($1::bigint IS NULL OR e.job_id = $1::bigint)"
    "  AND ($2::text IS NULL OR e.status = $2::text)"
    "  AND ($3::bigint IS NULL OR j.department_id = $3::bigint)"
    "  AND ($4::bigint IS NULL OR j.department_id IN"
    "       (SELECT m.department_id FROM memberships m WHERE m.user_id = $4::bigint))"
    "  AND ($5::bigint IS NULL OR e.started_at >= to_timestamp($5::bigint))"
    "  AND ($6::bigint IS NULL OR e.started_at < to_timestamp($6::bigint))"
    "  AND ($7::timestamptz IS NULL OR (e.started_at, e.id) < ($7::timestamptz, $8::bigint))"
    " ORDER BY e.started_at DESC, e.id DESC LIMIT $9::int";

static const char SQL_EXECUTION[] =
    "SELECT " EXEC_COLUMNS ", e.output FROM executions e JOIN jobs j ON j.id = e.job_id"
    " WHERE e.id = $1::bigint";

static const char *const job_statuses[] = { "waiting", "running", "paused", "done" };
static const char *const kinds[] = { "shell", "http", "grpc", "noop" };
static const char *const exec_statuses[] = {
    "running", "succeeded", "failed", "timed_out", "killed", "abandoned",
};

static int
one_of(const char *text, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(text, list[i]) == 0)
            return 1;
    }
    return 0;
}

int
job_query_is_job_status(const char *text)
{
    return one_of(text, job_statuses, TC_ARRAY_LEN(job_statuses));
}

int
job_query_is_kind(const char *text)
{
    return one_of(text, kinds, TC_ARRAY_LEN(kinds));
}

int
job_query_is_exec_status(const char *text)
{
    return one_of(text, exec_statuses, TC_ARRAY_LEN(exec_statuses));
}

/* A column of a JOB_QUERY_COLUMNS row by name ("" when NULL). */
static const char *
column(const PGresult *res, int row, const char *name)
{
    int col = PQfnumber(res, name);

    return col >= 0 ? PQgetvalue(res, row, col) : "";
}

struct schedule *
job_query_fire_times(const PGresult *res, int row, int64_t *out, int max, int *n,
                     struct schedule_error *serr)
{
    const char *status = column(res, row, "status");
    int64_t next_s = db_get_int64(res, row, PQfnumber(res, "_next_s"), SCHEDULE_NONE);
    int64_t now_s = db_get_int64(res, row, PQfnumber(res, "_now_s"), 0);
    int64_t prev = SCHEDULE_NONE, after = now_s;
    struct schedule *s;

    *n = 0;
    s = schedule_parse(column(res, row, "schedule"), column(res, row, "timezone"), serr);
    if (s == NULL)
        return NULL;
    if (strcmp(status, "waiting") == 0 || strcmp(status, "running") == 0)
        prev = next_s;
    if (prev != SCHEDULE_NONE && prev > now_s && strcmp(status, "waiting") == 0 && max > 0) {
        out[(*n)++] = prev;
        after = prev;
    }
    *n += schedule_upcoming(s, prev, after, out + *n, max - *n);
    return s;
}

void
exec_filter_init(struct exec_filter *f, int limit)
{
    memset(f, 0, sizeof(*f));
    f->since_s = SCHEDULE_NONE;
    f->until_s = SCHEDULE_NONE;
    f->limit = limit;
}

PGresult *
job_query_executions(struct db *db, const struct exec_filter *f)
{
    char job[24], dept[24], viewer[24], since[24], until[24], after_id[24], limit[16];

    snprintf(job, sizeof(job), "%lld", (long long)f->job_id);
    snprintf(dept, sizeof(dept), "%lld", (long long)f->department_id);
    snprintf(viewer, sizeof(viewer), "%lld", (long long)f->viewer_id);
    snprintf(since, sizeof(since), "%lld", (long long)f->since_s);
    snprintf(until, sizeof(until), "%lld", (long long)f->until_s);
    snprintf(after_id, sizeof(after_id), "%lld", (long long)f->after_id);
    snprintf(limit, sizeof(limit), "%d", f->limit);
    return db_query(db, SQL_EXECUTIONS,
                    DB_PARAMS(f->job_id > 0 ? job : NULL, f->status,
                              f->department_id > 0 ? dept : NULL,
                              f->viewer_id > 0 ? viewer : NULL,
                              f->since_s != SCHEDULE_NONE ? since : NULL,
                              f->until_s != SCHEDULE_NONE ? until : NULL, f->after_key,
                              f->after_key != NULL ? after_id : NULL, limit));
}

PGresult *
job_query_execution(struct db *db, int64_t id)
{
    char text[24];

    snprintf(text, sizeof(text), "%lld", (long long)id);
    return db_query(db, SQL_EXECUTION, DB_PARAMS(text));
}
