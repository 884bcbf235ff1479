/* api_executions.c - the run history (GET /executions, /executions/{id}),
 * the instances (GET /instances) and schedule previews (GET /cron/next).
 *
 * Executions are read through job_query, the statements of `tablecron
 * history`; a list shows only executions of jobs in the caller's
 * departments (every one to administrators), newest first, a page at a
 * time after an opaque cursor (started_at to the microsecond and the id).
 * One execution, with its whole output, was checked against the caller's
 * departments by the route table (404 otherwise).
 */
#include <autoconfig.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_executions.h"
#include "api_jobs.h"
#include "api_page.h"
#include "instance.h"
#include "job_query.h"
#include "pgjson.h"

#define CRON_COUNT_DEFAULT 5
#define CRON_COUNT_MAX 100

#define EXEC_CURSOR_TAG "executions"

/* One execution row as the API shows it: job as {id, name}. */
static json_t *
exec_json(const PGresult *res, int row)
{
    json_t *e = pgjson_row(res, row), *job;

    if (e == NULL)
        return NULL;
    job = json_pack("{s:O, s:O}", "id", json_object_get(e, "job_id"), "name",
                    json_object_get(e, "job"));
    /* The job's name gives way to the object, in its place. */
    if (job == NULL || json_object_set_new(e, "job", job) < 0 || json_object_del(e, "job_id") < 0) {
        json_decref(e);
        return NULL;
    }
    return e;
}

/* ?name= as one of a fixed set; NULL when absent.  -1 after answering. */
static int
query_status(struct api_call *call, const char **out)
{
    const char *text = http_query(call->req, "status");

    *out = NULL;
    if (text == NULL || text[0] == '\0')
        return 0;
    if (!job_query_is_exec_status(text)) {
        api_error(call, 400, "bad_parameter", "status",
                  "status must be one of running, succeeded, failed, timed_out, killed,"
                  " abandoned");
        return -1;
    }
    *out = text;
    return 0;
}

void
api_executions_list(struct api_call *call)
{
    struct api_cursor cursor;
    struct exec_filter f;
    PGresult *res;
    json_t *answer;
    int limit;

    exec_filter_init(&f, 0);
    if (api_page_limit(call, &limit) < 0 ||
        api_query_int(call, "job", 0, 1, INT64_MAX, &f.job_id) < 0 ||
        api_query_int(call, "department", 0, 1, INT64_MAX, &f.department_id) < 0 ||
        query_status(call, &f.status) < 0 || api_query_time(call, "since", &f.since_s) < 0 ||
        api_query_time(call, "until", &f.until_s) < 0 ||
        api_cursor_read(call, EXEC_CURSOR_TAG, API_KEY_TIME, &cursor) < 0)
        return;
    f.viewer_id = call->user.is_admin ? 0 : call->user.id;
    f.limit = limit + 1; /* one more: is there a next page? */
    if (cursor.given) {
        f.after_key = cursor.key;
        f.after_id = cursor.id;
    }
    if ((res = job_query_executions(call->db, &f)) == NULL) {
        api_db_error(call);
        return;
    }
    if ((answer = api_page_answer(res, limit, EXEC_CURSOR_TAG, exec_json)) == NULL)
        api_error(call, 500, "internal", NULL, "out of memory");
    else
        api_reply(call, 200, answer);
    PQclear(res);
}

void
api_execution_get(struct api_call *call)
{
    PGresult *res = job_query_execution(call->db, call->id);
    json_t *e;

    if (res == NULL) {
        api_db_error(call);
        return;
    }
    if (PQntuples(res) == 0) {
        api_error(call, 404, "not_found", NULL, "no execution %lld", (long long)call->id);
    } else if ((e = exec_json(res, 0)) == NULL) {
        api_error(call, 500, "internal", NULL, "out of memory");
    } else {
        api_reply(call, 200, e);
    }
    PQclear(res);
}

void
api_instances_list(struct api_call *call)
{
    PGresult *res = instance_list(call->db, call->settings->lease_us * INSTANCE_DEAD_AFTER_LEASES);
    json_t *items;

    if (res == NULL) {
        api_db_error(call);
        return;
    }
    if ((items = pgjson_rows(res)) == NULL)
        api_error(call, 500, "internal", NULL, "out of memory");
    else
        api_reply(call, 200, json_pack("{s:o}", "items", items));
    PQclear(res);
}

/* The database's now, in epoch seconds; -1 after answering. */
static int
db_now(struct api_call *call, int64_t *now_s)
{
    PGresult *res = db_query(call->db, "SELECT floor(extract(epoch FROM now()))::bigint",
                             DB_NO_PARAMS);

    if (res == NULL) {
        api_db_error(call);
        return -1;
    }
    *now_s = db_get_int64(res, 0, 0, 0);
    PQclear(res);
    return 0;
}

void
api_cron_next(struct api_call *call)
{
    const char *expr = http_query(call->req, "expr"), *zone = http_query(call->req, "tz");
    int64_t times[CRON_COUNT_MAX], count, now_s;
    struct schedule_error serr;
    struct schedule *s = NULL;
    json_t *next = NULL;
    char text[64], msg[200];
    int n;

    if (expr == NULL || expr[0] == '\0') {
        api_error(call, 400, "missing_parameter", "expr", "expr is required");
        return;
    }
    if (zone == NULL || zone[0] == '\0')
        zone = "UTC";
    if (api_query_int(call, "count", CRON_COUNT_DEFAULT, 1, CRON_COUNT_MAX, &count) < 0)
        return;
    if ((s = schedule_parse(expr, zone, &serr)) == NULL) {
        if (serr.part == SCHEDULE_PART_ZONE) {
            snprintf(msg, sizeof(msg), "bad time zone: %s at %d", serr.msg, serr.pos);
            api_error_at(call, 400, "bad_timezone", "tz", serr.pos, msg);
        } else {
            snprintf(msg, sizeof(msg), "bad schedule: %s at %d", serr.msg, serr.pos);
            api_error_at(call, 422, "bad_schedule", "expr", serr.pos, msg);
        }
        return;
    }
    if (db_now(call, &now_s) < 0)
        goto out;
    n = schedule_upcoming(s, SCHEDULE_NONE, now_s, times, (int)count);
    if ((next = json_array()) == NULL)
        goto oom;
    for (int i = 0; i < n; i++) {
        if (tz_format_time(schedule_zone(s), times[i], text, sizeof(text)) < 0 ||
            json_array_append_new(next, json_string(text)) < 0)
            goto oom;
    }
    api_reply(call, 200,
              json_pack("{s:s, s:s, s:o}", "expr", expr, "timezone", zone, "next", next));
    next = NULL;
    goto out;
oom:
    api_error(call, 500, "internal", NULL, "out of memory");
out:
    json_decref(next);
    schedule_free(s);
}
