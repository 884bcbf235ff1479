/* api_callbacks.c - what a long-running HTTP task tells about itself.
 *
 * The request that started the task carried X-Tablecron-Callback (this
 * route, on the starting instance or any other: all state is in the
 * database) and X-Tablecron-Token, a secret whose hash is in the
 * execution row.  The task answered 202 and reports here:
 *
 *   {"progress": 40, "message": "copied 4 of 10 tables"}     still running
 *   {"status": "succeeded" | "failed", "output": "...", ...}  the outcome
 *   {"status": "rebalance", "params": {...}}  stop here, the next attempt
 *                                             continues with params
 *
 * Every report of a job awaiting its callback renews its lease for
 * timeout_s and moves its version; an outcome also lets the lease run out
 * at once, so that a scheduler (woken by the jobs trigger's NOTIFY)
 * finishes the job as it would after a release: retries, next fire time.
 * A report may arrive before the instance has seen the 202; it is recorded
 * on the execution, and the job follows when the 202 is.
 */
#include <autoconfig.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_callbacks.h"
#include "tailbuf.h"
#include "utf8.h"

static const struct api_field report_fields[] = {
    { "progress", API_INTEGER, 0, 0 },
    { "message", API_STRING, 0, 0 },
    { "status", API_STRING, 0, 0 },
    { "output", API_STRING, 0, 0 },
    { "error", API_STRING, 0, 0 },
    { "exit_code", API_INTEGER, 0, 0 },
    { "params", API_OBJECT, 0, 0 },
};

#define MESSAGE_MAX 1000

static const char SQL_FIND[] =
    "SELECT e.job_id, e.status FROM executions e"
    " WHERE e.id = $1 AND e.callback_token_hash = encode(sha256(convert_to($2, 'UTF8')), 'hex')";

static const char SQL_PROGRESS[] =
    "UPDATE executions SET progress = coalesce($2::smallint, progress),"
    " message = coalesce($3, message) WHERE id = $1 AND status = 'running'";

static const char SQL_OUTCOME[] =
    "UPDATE executions SET"
    " status = CASE $2 WHEN 'rebalance' THEN 'abandoned' ELSE $2 END,"
    " finished_at = greatest(now(), started_at), output = coalesce($3, output),"
    " exit_code = coalesce($4::int, exit_code),"
    " error = CASE $2 WHEN 'succeeded' THEN NULL"
    "  WHEN 'rebalance' THEN 'rebalanced: the next attempt continues the work'"
    "  ELSE coalesce($5, $6, 'the task reported a failure') END,"
    " progress = CASE $2 WHEN 'succeeded' THEN 100 ELSE coalesce($7::smallint, progress) END,"
    " message = coalesce($6, message)"
    " WHERE id = $1 AND status = 'running'";

/* The job of the execution, at the same fire time and attempt.  Only a job
 * awaiting its callback has its lease and version moved: one still held by
 * the instance that sent the request must keep both. */
/* The jobs row j that runs execution e of job $1: the job's own row, or
 * for a sharded job the shard row of e's shard (0007_shards.sql). */
#define SQL_RUNS_EXECUTION "(j.id = $1 OR j.shard_of = $1) AND j.shard_index = e.shard_index"

static const char SQL_LOCK_JOB[] =
    "SELECT 1 FROM jobs j JOIN executions e ON e.id = $2 WHERE " SQL_RUNS_EXECUTION
    " FOR UPDATE OF j";

static const char SQL_JOB[] =
    "UPDATE jobs j SET"
    " lease_until = CASE WHEN NOT awaiting_callback THEN lease_until"
    "  WHEN $3 THEN now() ELSE now() + timeout_s * interval '1 second' END,"
    " version = CASE WHEN awaiting_callback THEN version + 1 ELSE version END,"
    " resume_params = CASE WHEN $4::jsonb IS NOT NULL THEN $4::jsonb ELSE resume_params END"
    " FROM executions e"
    " WHERE e.id = $2 AND " SQL_RUNS_EXECUTION " AND j.status = 'running'"
    "  AND j.scheduled_for = e.scheduled_for AND j.attempt = e.attempt";

struct report {
    const char *execution_id;
    const char *job_id;
    const char *progress;  /* NULL: not given */
    const char *message;
    const char *status;    /* NULL: progress only */
    const char *output;
    const char *error;
    const char *exit_code;
    const char *params;    /* JSON text */
    int gone;              /* the execution ended meanwhile */
};

static int
record(struct db *db, void *arg)
{
    struct report *r = arg;
    PGresult *res;
    int ended = r->status != NULL;

    /* Jobs before executions, the order of every other writer (claim,
     * release, detach): no deadlock with the instance handling the 202. */
    if (db_exec(db, SQL_LOCK_JOB, DB_PARAMS(r->job_id, r->execution_id)) < 0)
        return -1;
    if (ended)
        res = db_query(db, SQL_OUTCOME,
                       DB_PARAMS(r->execution_id, r->status, r->output, r->exit_code, r->error,
                                 r->message, r->progress));
    else
        res = db_query(db, SQL_PROGRESS, DB_PARAMS(r->execution_id, r->progress, r->message));
    if (res == NULL)
        return -1;
    r->gone = atoi(PQcmdTuples(res)) == 0;
    PQclear(res);
    if (r->gone)
        return -1; /* roll back: nothing to change */
    return db_exec(db, SQL_JOB,
                   DB_PARAMS(r->job_id, r->execution_id, ended ? "true" : "false", r->params));
}

void
api_execution_report(struct api_call *call)
{
    const char *token = http_header(call->req, "X-Tablecron-Token");
    char id[24], job[24], progress[8], exit_code[16];
    struct report r;
    json_t *body = NULL, *v;
    char *params = NULL, *output = NULL;
    PGresult *res;

    memset(&r, 0, sizeof(r));
    snprintf(id, sizeof(id), "%lld", (long long)call->id);
    if (!utf8_valid_str(token)) {
        api_error(call, 404, "not_found", NULL, "no execution %s with that token", id);
        return;
    }
    if ((res = db_query(call->db, SQL_FIND, DB_PARAMS(id, token))) == NULL) {
        api_db_error(call);
        return;
    }
    if (PQntuples(res) != 1) {
        PQclear(res);
        /* A wrong token and a wrong id look the same. */
        api_error(call, 404, "not_found", NULL, "no execution %s with that token", id);
        return;
    }
    snprintf(job, sizeof(job), "%s", PQgetvalue(res, 0, 0));
    if (strcmp(PQgetvalue(res, 0, 1), "running") != 0) {
        api_error(call, 409, "ended", NULL, "execution %s already ended as %s", id,
                  PQgetvalue(res, 0, 1));
        PQclear(res);
        return;
    }
    PQclear(res);
    if ((body = api_read_body(call, report_fields, TC_ARRAY_LEN(report_fields))) == NULL)
        return;
    r.execution_id = id;
    r.job_id = job;
    if ((v = json_object_get(body, "progress")) != NULL) {
        if (json_integer_value(v) < 0 || json_integer_value(v) > 100) {
            api_error(call, 400, "invalid", "progress", "progress must be from 0 to 100");
            goto out;
        }
        snprintf(progress, sizeof(progress), "%d", (int)json_integer_value(v));
        r.progress = progress;
    }
    if ((v = json_object_get(body, "message")) != NULL) {
        if (json_string_length(v) > MESSAGE_MAX) {
            api_error(call, 400, "invalid", "message", "message is longer than %d bytes",
                      MESSAGE_MAX);
            goto out;
        }
        r.message = json_string_value(v);
    }
    if ((v = json_object_get(body, "status")) != NULL) {
        r.status = json_string_value(v);
        if (strcmp(r.status, "succeeded") != 0 && strcmp(r.status, "failed") != 0 &&
            strcmp(r.status, "rebalance") != 0) {
            api_error(call, 400, "invalid", "status",
                      "status must be succeeded, failed or rebalance");
            goto out;
        }
    }
    if ((v = json_object_get(body, "params")) != NULL) {
        if (r.status == NULL || strcmp(r.status, "rebalance") != 0) {
            api_error(call, 400, "invalid", "params", "params go with status rebalance");
            goto out;
        }
        if ((params = json_dumps(v, JSON_COMPACT)) == NULL) {
            api_error(call, 500, "internal", NULL, "out of memory");
            goto out;
        }
        r.params = params;
    }
    if ((v = json_object_get(body, "exit_code")) != NULL) {
        if (json_integer_value(v) < INT32_MIN || json_integer_value(v) > INT32_MAX) {
            api_error(call, 400, "invalid", "exit_code", "exit_code must be a 32-bit integer");
            goto out;
        }
        snprintf(exit_code, sizeof(exit_code), "%d", (int)json_integer_value(v));
        r.exit_code = exit_code;
    }
    if ((v = json_object_get(body, "output")) != NULL) {
        /* Bounded like any task's output: the end is kept, with a marker. */
        struct tailbuf *tb = tailbuf_new(TAILBUF_DEFAULT_LIMIT);

        if (tb != NULL) {
            tailbuf_append(tb, json_string_value(v), json_string_length(v));
            output = tailbuf_text(tb);
            tailbuf_free(tb);
        }
        if (output == NULL) {
            api_error(call, 500, "internal", NULL, "out of memory");
            goto out;
        }
        r.output = output;
    }
    r.error = json_string_value(json_object_get(body, "error"));
    if (r.status == NULL && (r.output != NULL || r.error != NULL || r.exit_code != NULL)) {
        api_error(call, 400, "invalid", "status", "output, error and exit_code need a status");
        goto out;
    }
    if (db_transaction(call->db, record, &r) < 0) {
        if (r.gone)
            api_error(call, 409, "ended", NULL, "execution %s has already ended", id);
        else
            api_db_error(call);
        goto out;
    }
    api_reply(call, 200, json_pack("{s:I, s:s}", "execution", (json_int_t)call->id, "status",
                                   r.status == NULL ? "running"
                                   : strcmp(r.status, "rebalance") == 0 ? "abandoned"
                                                                         : r.status));
out:
    free(output);
    free(params);
    json_decref(body);
}
