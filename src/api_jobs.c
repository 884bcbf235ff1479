/* api_jobs.c - /api/v1/jobs: list, create, read, change and delete jobs, and
 * the operator actions run, pause, resume and kill.
 *
 * Reads use job_query's columns (the ones `tablecron job show` prints),
 * changes go through job_store (the checks, the version fencing and the
 * audit row in the same transaction), so the API and the command line
 * cannot disagree.  Permissions: for the {id} routes the route table has
 * checked the job's department (call->department_id, call->role) and the
 * store is fenced by it; a department named in a body (create, move) is
 * checked here with api_role_in(): one the caller does not belong to is
 * "not found" (ids cannot be probed), one they see without the manager
 * role "forbidden".
 *
 * Glossary: an *item* is one job as JSON (job_json): its columns, its
 * department as {id, name}, running and paused as booleans and a summary
 * of its last execution.  A single job also has its next fire times, and a
 * sharded one its latest fire times with their shards' outcome.
 */
#include <autoconfig.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_jobs.h"
#include "api_page.h"
#include "job_query.h"
#include "job_shards.h"
#include "job_store.h"
#include "pgjson.h"
#include "strbuf.h"

/* Fire times shown with a single job. */
#define JOB_FIRE_TIMES 5
/* Past fire times of a sharded job shown with it. */
#define JOB_SHARD_FIRE_TIMES 10

/* The last execution of each job, as underscore columns that job_json
 * folds into one object. */
#define LAST_COLUMNS                                                                  \
    ", le.id AS _last_id, le.status AS _last_status,"                                 \
    " " DB_SQL_UTC("le.started_at") " AS _last_started_at,"                           \
    " " DB_SQL_UTC("le.finished_at") " AS _last_finished_at"
#define LAST_JOIN                                                                     \
    " LEFT JOIN LATERAL (SELECT e.id, e.status, e.started_at, e.finished_at"          \
    "   FROM executions e WHERE e.job_id = j.id"                                      \
    "   ORDER BY e.started_at DESC, e.id DESC LIMIT 1) le ON true"

static const char SQL_JOB[] = "SELECT " JOB_QUERY_COLUMNS LAST_COLUMNS " FROM jobs j"
                              JOB_QUERY_JOIN_DEPARTMENT LAST_JOIN
                              " WHERE j.id = $1::bigint AND j.shard_of IS NULL";

/* The list's filters, all optional: $1 the viewer (NULL: an administrator
 * sees every department), $2 a piece of the name, $3 department, $4
 * status, $5 kind.  Shard rows are never listed (job_shards.h). */
#define LIST_WHERE                                                                      \
    " WHERE j.shard_of IS NULL AND ($1::bigint IS NULL OR j.department_id IN"           \
    "        (SELECT m.department_id FROM memberships m WHERE m.user_id = $1::bigint))" \
    "  AND ($2::text IS NULL OR strpos(lower(j.name), lower($2::text)) > 0)"            \
    "  AND ($3::bigint IS NULL OR j.department_id = $3::bigint)"                        \
    "  AND ($4::text IS NULL OR j.status = $4::text)"                                   \
    "  AND ($5::text IS NULL OR j.kind = $5::text)"

static const char SQL_COUNT[] = "SELECT count(*) FROM jobs j" LIST_WHERE;

/* A time sort key as cursor text, to the microsecond; NULL times sort as
 * 'infinity' (last when ascending). */
#define KEY_TIME(x)                                                                   \
    "CASE WHEN isfinite(" x ") THEN to_char((" x ") AT TIME ZONE 'UTC',"              \
    " 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') ELSE 'infinity' END"

/* The orders of ?sort= (a leading '-' reverses one); each ends with the
 * id, so that the keyset (key, id) names one row. */
struct job_sort {
    const char *name;     /* ?sort= value */
    const char *key;      /* SQL: what rows are ordered by, then j.id */
    const char *key_text; /* SQL: the key as the cursor's text */
    const char *cast;     /* the cursor's text back to the key's type */
    enum api_key_type type;
};

static const struct job_sort job_sorts[] = {
    { "name", "j.name", "j.name", "text", API_KEY_TEXT },
    { "id", "j.id", "j.id::text", "bigint", API_KEY_INT },
    { "next_time", "coalesce(j.next_time, 'infinity')",
      KEY_TIME("coalesce(j.next_time, 'infinity')"), "timestamptz", API_KEY_TIME },
    { "created_at", "j.created_at", KEY_TIME("j.created_at"), "timestamptz", API_KEY_TIME },
    { "updated_at", "j.updated_at", KEY_TIME("j.updated_at"), "timestamptz", API_KEY_TIME },
};

/* --- answers --- */

void
api_job_store_error(struct api_call *call, const struct job_store_error *err)
{
    const char *field = err->field[0] != '\0' ? err->field : NULL;

    switch (err->code) {
    case JOB_STORE_INVALID:
        if (field != NULL && strcmp(field, "schedule") == 0 && err->pos >= 0)
            api_error_at(call, 422, "bad_schedule", field, err->pos, err->msg);
        else if (field != NULL && err->pos >= 0)
            api_error_at(call, 400, "invalid", field, err->pos, err->msg);
        else
            api_error(call, 400, "invalid", field, "%s", err->msg);
        break;
    case JOB_STORE_NOT_FOUND:
        api_error(call, 404, "not_found", field, "%s", err->msg);
        break;
    case JOB_STORE_CONFLICT:
        if (field != NULL && strcmp(field, "force") == 0)
            api_error(call, 409, "conflict", field, "%s with ?force=true", err->msg);
        else
            api_error(call, 409, "conflict", field, "%s", err->msg);
        break;
    case JOB_STORE_STALE:
        api_error(call, 409, "version_conflict", field, "%s", err->msg);
        break;
    case JOB_STORE_OK:
    case JOB_STORE_FAILED:
        api_db_error(call);
        break;
    }
}

/* --- jobs as JSON --- */

/* The _last_* columns of a row as {id, status, started_at, finished_at}, or null. */
static json_t *
last_execution_json(const PGresult *res, int row)
{
    static const char *const cols[] = { "_last_id", "_last_status", "_last_started_at",
                                        "_last_finished_at" };
    json_t *last;
    int c = PQfnumber(res, cols[0]);

    if (c < 0 || PQgetisnull(res, row, c))
        return json_null();
    if ((last = json_object()) == NULL)
        return NULL;
    for (size_t i = 0; i < TC_ARRAY_LEN(cols); i++) {
        c = PQfnumber(res, cols[i]);
        if (json_object_set_new(last, cols[i] + strlen("_last_"), pgjson_value(res, row, c)) < 0) {
            json_decref(last);
            return NULL;
        }
    }
    return last;
}

/* One job (a JOB_QUERY_COLUMNS + LAST_COLUMNS row) as the API shows it. */
static json_t *
job_json(const PGresult *res, int row)
{
    json_t *job = pgjson_row(res, row), *dept;
    const char *status;

    if (job == NULL)
        return NULL;
    dept = json_pack("{s:O, s:O}", "id", json_object_get(job, "department_id"), "name",
                     json_object_get(job, "department"));
    /* The department's name gives way to the object, in its place. */
    if (dept == NULL || json_object_set_new(job, "department", dept) < 0 ||
        json_object_del(job, "department_id") < 0)
        goto fail;
    status = json_string_value(json_object_get(job, "status"));
    if (status == NULL ||
        json_object_set_new(job, "running", json_boolean(strcmp(status, "running") == 0)) < 0 ||
        json_object_set_new(job, "paused", json_boolean(strcmp(status, "paused") == 0)) < 0 ||
        json_object_set_new(job, "last_execution", last_execution_json(res, row)) < 0)
        goto fail;
    return job;
fail:
    json_decref(job);
    return NULL;
}

/* job_json plus next_fire_times (ISO 8601 in the job's zone, with its
 * offset) and next_fire_times_error (why there are none, or null). */
static json_t *
job_json_full(const PGresult *res, int row)
{
    int64_t times[JOB_FIRE_TIMES];
    struct schedule_error serr;
    struct schedule *s;
    json_t *job = job_json(res, row), *arr = json_array(), *why;
    char text[64], msg[200];
    int n = 0;

    if (job == NULL || arr == NULL)
        goto fail;
    s = job_query_fire_times(res, row, times, JOB_FIRE_TIMES, &n, &serr);
    for (int i = 0; s != NULL && i < n; i++) {
        if (tz_format_time(schedule_zone(s), times[i], text, sizeof(text)) < 0 ||
            json_array_append_new(arr, json_string(text)) < 0) {
            schedule_free(s);
            goto fail;
        }
    }
    if (s == NULL) {
        snprintf(msg, sizeof(msg), "bad %s: %s at %d",
                 serr.part == SCHEDULE_PART_ZONE ? "time zone" : "schedule", serr.msg, serr.pos);
        why = json_string(msg);
    } else {
        why = json_null();
    }
    schedule_free(s);
    if (json_object_set_new(job, "next_fire_times", arr) < 0) {
        arr = NULL;
        json_decref(why);
        goto fail;
    }
    arr = NULL;
    if (json_object_set_new(job, "next_fire_times_error", why) < 0)
        goto fail;
    return job;
fail:
    json_decref(arr);
    json_decref(job);
    return NULL;
}

/* A sharded job's latest fire times as shard_fire_times (job_shards.h);
 * -1 after answering. */
static int
add_shard_fire_times(struct api_call *call, json_t *job, int64_t id)
{
    PGresult *res = job_shards_fire_times(call->db, id, JOB_SHARD_FIRE_TIMES);
    json_t *rows;

    if (res == NULL) {
        api_db_error(call);
        return -1;
    }
    rows = pgjson_rows(res);
    PQclear(res);
    if (rows == NULL || json_object_set_new(job, "shard_fire_times", rows) < 0) {
        api_error(call, 500, "internal", NULL, "out of memory");
        return -1;
    }
    return 0;
}

/* The job as it is now, or NULL after answering (404 when it is gone). */
static json_t *
fetch_job(struct api_call *call, int64_t id)
{
    char text[24];
    PGresult *res;
    json_t *job;

    snprintf(text, sizeof(text), "%lld", (long long)id);
    if ((res = db_query(call->db, SQL_JOB, DB_PARAMS(text))) == NULL) {
        api_db_error(call);
        return NULL;
    }
    if (PQntuples(res) == 0) {
        PQclear(res);
        api_error(call, 404, "not_found", NULL, "no job %lld", (long long)id);
        return NULL;
    }
    job = job_json_full(res, 0);
    PQclear(res);
    if (job == NULL) {
        api_error(call, 500, "internal", NULL, "out of memory");
    } else if (json_integer_value(json_object_get(job, "shards")) > 1 &&
               add_shard_fire_times(call, job, id) < 0) {
        json_decref(job);
        job = NULL;
    }
    return job;
}

/* --- GET /jobs --- */

/* ?sort=: the order and whether it is reversed; -1 after answering 400. */
static int
list_sort(struct api_call *call, const struct job_sort **sort, int *desc)
{
    const char *text = http_query(call->req, "sort");

    *sort = &job_sorts[0];
    *desc = 0;
    if (text == NULL || text[0] == '\0')
        return 0;
    if (text[0] == '-') {
        *desc = 1;
        text++;
    }
    for (size_t i = 0; i < TC_ARRAY_LEN(job_sorts); i++) {
        if (strcmp(text, job_sorts[i].name) == 0) {
            *sort = &job_sorts[i];
            return 0;
        }
    }
    api_error(call, 400, "bad_parameter", "sort",
              "sort must be name, id, next_time, created_at or updated_at, with a leading '-'"
              " for descending order");
    return -1;
}

/* ?name= that must be one of a fixed set (status, kind); NULL when absent. */
static int
list_choice(struct api_call *call, const char *name, int (*ok)(const char *), const char *choices,
            const char **out)
{
    const char *text = http_query(call->req, name);

    *out = NULL;
    if (text == NULL || text[0] == '\0')
        return 0;
    if (!ok(text)) {
        api_error(call, 400, "bad_parameter", name, "%s must be one of %s", name, choices);
        return -1;
    }
    *out = text;
    return 0;
}

/*
 * The page's statement: the filters, the keyset after the cursor, the
 * order, and only then the department and last execution of the page's
 * rows (the lateral join runs for `limit` rows, not for every job).
 */
static char *
list_sql(const struct job_sort *sort, int desc, int with_cursor)
{
    struct strbuf sql = STRBUF_INIT;
    const char *dir = desc ? "DESC" : "ASC";

    strbuf_printf(&sql, "SELECT " JOB_QUERY_COLUMNS LAST_COLUMNS ", j._key FROM"
                        " (SELECT j.*, %s AS _key FROM jobs j" LIST_WHERE,
                  sort->key_text);
    if (with_cursor)
        strbuf_printf(&sql, " AND (%s, j.id) %s ($7::%s, $8::bigint)", sort->key,
                      desc ? "<" : ">", sort->cast);
    strbuf_printf(&sql, " ORDER BY %s %s, j.id %s LIMIT $6::int) j" JOB_QUERY_JOIN_DEPARTMENT
                        LAST_JOIN " ORDER BY %s %s, j.id %s",
                  sort->key, dir, dir, sort->key, dir, dir);
    return strbuf_failed(&sql) ? (strbuf_reset(&sql), NULL) : strbuf_take(&sql);
}

void
api_jobs_list(struct api_call *call)
{
    const struct job_sort *sort;
    struct api_cursor cursor;
    const char *status, *kind, *q = http_query(call->req, "q");
    char viewer[24], dept[24], limit_text[16], tag[32], id[24], *sql = NULL;
    PGresult *res = NULL, *count = NULL;
    json_t *answer;
    int64_t dept_id;
    int desc, limit;

    if (list_sort(call, &sort, &desc) < 0 || api_page_limit(call, &limit) < 0 ||
        api_query_int(call, "department", 0, 1, INT64_MAX, &dept_id) < 0 ||
        list_choice(call, "status", job_query_is_job_status, "waiting, running, paused, done",
                    &status) < 0 ||
        list_choice(call, "kind", job_query_is_kind, "shell, http, grpc, noop", &kind) < 0)
        return;
    snprintf(tag, sizeof(tag), "jobs:%s%s", desc ? "-" : "", sort->name);
    if (api_cursor_read(call, tag, sort->type, &cursor) < 0)
        return;
    if (q != NULL && q[0] == '\0')
        q = NULL;
    snprintf(viewer, sizeof(viewer), "%lld", (long long)call->user.id);
    snprintf(dept, sizeof(dept), "%lld", (long long)dept_id);
    snprintf(limit_text, sizeof(limit_text), "%d", limit + 1); /* one more: is there a next? */
    snprintf(id, sizeof(id), "%lld", (long long)cursor.id);
    if ((sql = list_sql(sort, desc, cursor.given)) == NULL) {
        api_error(call, 500, "internal", NULL, "out of memory");
        goto out;
    }
    /* The cursor's two values are left off when there is none. */
    res = db_query(call->db, sql, cursor.given ? 8 : 6,
                   (const char *const[]){ call->user.is_admin ? NULL : viewer, q,
                                          dept_id > 0 ? dept : NULL, status, kind, limit_text,
                                          cursor.key, id });
    if (res == NULL ||
        (count = db_query(call->db, SQL_COUNT,
                          DB_PARAMS(call->user.is_admin ? NULL : viewer, q,
                                    dept_id > 0 ? dept : NULL, status, kind))) == NULL) {
        api_db_error(call);
        goto out;
    }
    if ((answer = api_page_answer(res, limit, tag, job_json)) == NULL ||
        json_object_set_new(answer, "total", json_integer(db_get_int64(count, 0, 0, 0))) < 0) {
        json_decref(answer);
        api_error(call, 500, "internal", NULL, "out of memory");
        goto out;
    }
    api_reply(call, 200, answer);
out:
    free(sql);
    PQclear(count);
    PQclear(res);
}

/* --- POST /jobs, PATCH /jobs/{id} --- */

static const struct api_field create_fields[] = {
    { "name", API_STRING, 1, 0 },
    { "description", API_STRING, 0, 0 },
    { "schedule", API_STRING, 1, 0 },
    { "timezone", API_STRING, 0, 0 },
    { "department", API_ANY, 1, 0 }, /* an id or a name: checked by api_department_of() */
    { "kind", API_STRING, 1, 0 },
    { "config", API_OBJECT, 1, 0 },
    { "timeout_s", API_INTEGER, 0, 0 },
    { "max_retries", API_INTEGER, 0, 0 },
    { "retry_backoff_s", API_INTEGER, 0, 0 },
    { "misfire_policy", API_STRING, 0, 0 },
    { "paused", API_BOOLEAN, 0, 0 },
    { "shards", API_INTEGER, 0, 0 },
};

static const struct api_field update_fields[] = {
    { "version", API_INTEGER, 1, 0 },
    { "name", API_STRING, 0, 0 },
    { "description", API_STRING, 0, 0 },
    { "schedule", API_STRING, 0, 0 },
    { "timezone", API_STRING, 0, 0 },
    { "department", API_ANY, 0, 0 },
    { "kind", API_STRING, 0, 0 },
    { "config", API_OBJECT, 0, 0 }, /* its keys are merged; a null value removes one */
    { "timeout_s", API_INTEGER, 0, 0 },
    { "max_retries", API_INTEGER, 0, 0 },
    { "retry_backoff_s", API_INTEGER, 0, 0 },
    { "misfire_policy", API_STRING, 0, 0 },
    { "shards", API_INTEGER, 0, 0 },
};

/* A JSON integer as a struct job_def number: what does not fit an int is
 * out of every range, and so is anything negative (never JOB_DEF_UNSET). */
static int
def_number(const json_t *value)
{
    json_int_t v;

    if (value == NULL)
        return JOB_DEF_UNSET;
    v = json_integer_value(value);
    return v < 0 || v > INT_MAX ? INT_MAX : (int)v;
}

/* The body's fields into def (strings borrowed from body; *config the
 * caller's to free).  -1 after answering. */
static int
body_to_def(struct api_call *call, json_t *body, struct job_def *def, char **config)
{
    json_t *cfg = json_object_get(body, "config");

    job_def_init(def);
    def->name = json_string_value(json_object_get(body, "name"));
    def->description = json_string_value(json_object_get(body, "description"));
    def->schedule = json_string_value(json_object_get(body, "schedule"));
    def->timezone = json_string_value(json_object_get(body, "timezone"));
    def->kind = json_string_value(json_object_get(body, "kind"));
    def->misfire_policy = json_string_value(json_object_get(body, "misfire_policy"));
    def->timeout_s = def_number(json_object_get(body, "timeout_s"));
    def->max_retries = def_number(json_object_get(body, "max_retries"));
    def->retry_backoff_s = def_number(json_object_get(body, "retry_backoff_s"));
    def->shards = def_number(json_object_get(body, "shards"));
    def->paused = json_is_true(json_object_get(body, "paused"));
    *config = NULL;
    if (cfg != NULL && (*config = json_dumps(cfg, JSON_COMPACT)) == NULL) {
        api_error(call, 500, "internal", NULL, "out of memory");
        return -1;
    }
    def->config = *config;
    return 0;
}

/* Creating or moving a job needs a manager of its department. */
#define JOBS_FORBIDDEN "only a manager of the department may put jobs in it"

void
api_job_create(struct api_call *call)
{
    json_t *body = api_read_body(call, create_fields, TC_ARRAY_LEN(create_fields)), *job;
    struct job_store_error err;
    struct audit_actor actor;
    struct job_def def;
    char who[100], *config = NULL, location[64];
    int64_t id;

    if (body == NULL)
        return;
    if (body_to_def(call, body, &def, &config) < 0)
        goto out;
    if ((def.department_id = api_department_of(call, json_object_get(body, "department"),
                                               ROLE_MANAGER, JOBS_FORBIDDEN)) == 0)
        goto out;
    api_actor(call, &actor, who, sizeof(who));
    if (job_store_create(call->db, &actor, &def, &id, &err) < 0) {
        api_job_store_error(call, &err);
        goto out;
    }
    if ((job = fetch_job(call, id)) == NULL)
        goto out;
    snprintf(location, sizeof(location), API_PREFIX "/jobs/%lld", (long long)id);
    if (http_add_header(call->resp, "Location", location) < 0) {
        json_decref(job);
        api_error(call, 500, "internal", NULL, "out of memory");
        goto out;
    }
    api_reply(call, 201, job);
out:
    free(config);
    json_decref(body);
}

void
api_job_get(struct api_call *call)
{
    json_t *job = fetch_job(call, call->id);

    if (job != NULL)
        api_reply(call, 200, job);
}

void
api_job_update(struct api_call *call)
{
    json_t *body = api_read_body(call, update_fields, TC_ARRAY_LEN(update_fields)), *job, *dept;
    struct job_ref ref = { call->id, NULL, call->department_id };
    struct job_store_error err;
    struct audit_actor actor;
    struct job_def def;
    char who[100], *config = NULL;
    int changed;

    if (body == NULL)
        return;
    if (body_to_def(call, body, &def, &config) < 0)
        goto out;
    def.version = json_integer_value(json_object_get(body, "version"));
    if (def.version < 1) {
        api_error(call, 400, "invalid", "version", "version must be the job's version, from 1");
        goto out;
    }
    /* A move needs the manager role in the new department too. */
    if ((dept = json_object_get(body, "department")) != NULL &&
        (def.department_id =
             api_department_of(call, dept, ROLE_MANAGER, JOBS_FORBIDDEN)) == 0)
        goto out;
    api_actor(call, &actor, who, sizeof(who));
    if (job_store_update(call->db, &actor, &ref, &def, &changed, &err) < 0) {
        api_job_store_error(call, &err);
        goto out;
    }
    if ((job = fetch_job(call, call->id)) != NULL)
        api_reply(call, 200, job);
out:
    free(config);
    json_decref(body);
}

void
api_job_delete(struct api_call *call)
{
    struct job_ref ref = { call->id, NULL, call->department_id };
    const char *force = http_query(call->req, "force");
    struct job_store_error err;
    struct audit_actor actor;
    char who[100];
    int forced = 0;

    if (force != NULL && (strcmp(force, "true") == 0 || strcmp(force, "1") == 0)) {
        forced = 1;
    } else if (force != NULL && strcmp(force, "false") != 0 && strcmp(force, "0") != 0 &&
               force[0] != '\0') {
        api_error(call, 400, "bad_parameter", "force", "force must be true or false");
        return;
    }
    api_actor(call, &actor, who, sizeof(who));
    if (job_store_delete(call->db, &actor, &ref, forced, &err) < 0) {
        api_job_store_error(call, &err);
        return;
    }
    api_reply(call, 204, NULL);
}

/* --- POST /jobs/{id}/run|pause|resume|kill --- */

/* {outcome, message, job}: what the action did, in a word and in words,
 * and the job after it. */
static void
act(struct api_call *call, enum job_action action)
{
    struct job_ref ref = { call->id, NULL, call->department_id };
    struct job_action_result result;
    struct job_store_error err;
    struct audit_actor actor;
    char who[100], said[400];
    json_t *job;

    json_t *body;

    /* No body is needed; one that is sent must be an object without fields. */
    if (strspn(call->req->body, " \t\r\n") < call->req->body_len) {
        if ((body = api_read_body(call, NULL, 0)) == NULL)
            return;
        json_decref(body);
    }
    api_actor(call, &actor, who, sizeof(who));
    if (job_store_act(call->db, &actor, &ref, action, &result, &err) < 0) {
        api_job_store_error(call, &err);
        return;
    }
    if ((job = fetch_job(call, call->id)) == NULL)
        return;
    job_store_describe(action, &result, said, sizeof(said));
    api_reply(call, 200,
              json_pack("{s:s, s:s, s:o}", "outcome", job_outcome_name(result.outcome), "message",
                        said, "job", job));
}

void
api_job_run(struct api_call *call)
{
    act(call, JOB_ACTION_RUN);
}

void
api_job_pause(struct api_call *call)
{
    act(call, JOB_ACTION_PAUSE);
}

void
api_job_resume(struct api_call *call)
{
    act(call, JOB_ACTION_RESUME);
}

void
api_job_kill(struct api_call *call)
{
    act(call, JOB_ACTION_KILL);
}
