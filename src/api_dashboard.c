/* api_dashboard.c - GET /dashboard: what the first page shows.
 *
 * Two small aggregate queries instead of the pages counting a day of
 * executions themselves: runs per hour (one row per hour, empty hours
 * included, through executions_started_idx) and the failing jobs (each
 * visible job's latest finished run, through executions_job_started_idx).
 */
#include <autoconfig.h>

#include <stdio.h>

#include "api_dashboard.h"
#include "pgjson.h"

#define HOURS_DEFAULT 24
#define HOURS_MAX (7 * 24)
#define FAILING_MAX 10

/* $1: the viewer's user id (NULL: an administrator, who sees every job). */
#define VISIBLE_JOB(job_id)                                                                \
    "($1::bigint IS NULL OR " job_id " IN (SELECT j2.id FROM jobs j2 WHERE j2.department_id" \
    " IN (SELECT m.department_id FROM memberships m WHERE m.user_id = $1::bigint)))"

static const char SQL_RUNS_PER_HOUR[] =
    "SELECT " DB_SQL_UTC("h") " AS hour,"
    "       count(e.id) FILTER (WHERE e.status = 'succeeded') AS succeeded,"
    "       count(e.id) FILTER (WHERE e.status = 'failed') AS failed,"
    "       count(e.id) FILTER (WHERE e.status = 'timed_out') AS timed_out,"
    "       count(e.id) FILTER (WHERE e.status = 'killed') AS killed,"
    "       count(e.id) FILTER (WHERE e.status = 'abandoned') AS abandoned,"
    "       count(e.id) FILTER (WHERE e.status = 'running') AS running"
    "  FROM generate_series(date_trunc('hour', now(), 'UTC') - ($2::int - 1) * interval '1 hour',"
    "                       date_trunc('hour', now(), 'UTC'), interval '1 hour') AS h"
    "  LEFT JOIN executions e ON e.started_at >= h AND e.started_at < h + interval '1 hour'"
    "   AND " VISIBLE_JOB("e.job_id")
    " GROUP BY h ORDER BY h";

static const char SQL_FAILING_JOBS[] =
    "SELECT j.id, j.name, d.name AS department, last.id AS execution_id,"
    "       last.status, " DB_SQL_UTC("last.finished_at") " AS finished_at, last.error"
    "  FROM jobs j"
    "  JOIN departments d ON d.id = j.department_id"
    "  JOIN LATERAL (SELECT e.id, e.status, e.finished_at, e.error FROM executions e"
    "                 WHERE e.job_id = j.id AND e.status <> 'running'"
    "                 ORDER BY e.started_at DESC, e.id DESC LIMIT 1) last ON true"
    " WHERE last.status <> 'succeeded' AND j.shard_of IS NULL AND " VISIBLE_JOB("j.id")
    " ORDER BY last.finished_at DESC, j.id LIMIT $2::int";

void
api_dashboard(struct api_call *call)
{
    PGresult *runs = NULL, *failing = NULL;
    json_t *runs_json = NULL, *failing_json = NULL;
    char viewer[24], hours_text[16], failing_max[16];
    int64_t hours;

    if (api_query_int(call, "hours", HOURS_DEFAULT, 1, HOURS_MAX, &hours) < 0)
        return;
    snprintf(viewer, sizeof(viewer), "%lld", (long long)call->user.id);
    snprintf(hours_text, sizeof(hours_text), "%lld", (long long)hours);
    snprintf(failing_max, sizeof(failing_max), "%d", FAILING_MAX);
    if ((runs = db_query(call->db, SQL_RUNS_PER_HOUR,
                         DB_PARAMS(call->user.is_admin ? NULL : viewer, hours_text))) == NULL ||
        (failing = db_query(call->db, SQL_FAILING_JOBS,
                            DB_PARAMS(call->user.is_admin ? NULL : viewer, failing_max))) == NULL) {
        api_db_error(call);
        goto out;
    }
    if ((runs_json = pgjson_rows(runs)) == NULL || (failing_json = pgjson_rows(failing)) == NULL) {
        api_error(call, 500, "internal", NULL, "out of memory");
        goto out;
    }
    api_reply(call, 200,
              json_pack("{s:I, s:o, s:o}", "hours", (json_int_t)hours, "runs_per_hour", runs_json,
                        "failing_jobs", failing_json));
    runs_json = failing_json = NULL;
out:
    json_decref(runs_json);
    json_decref(failing_json);
    PQclear(runs);
    PQclear(failing);
}
