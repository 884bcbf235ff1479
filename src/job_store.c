/* job_store.c - job definitions and operator actions, each in one
 * transaction with its audit_log row.
 *
 * How each action moves a job (status, pause_requested -> what is written):
 *
 *   pause   waiting/done       -> paused, version+1
 *           running            -> pause_requested (the release pauses it)
 *           paused, or running with pause_requested -> nothing to do
 *   resume  paused             -> waiting, next_time NULL (the instances
 *                                 compute it from now), attempt 1,
 *                                 scheduled_for NULL, pause_requested off,
 *                                 version+1
 *           waiting/running with pause_requested -> pause_requested off
 *           otherwise          -> nothing to do
 *   run     waiting/done       -> waiting, next_time now, attempt 1,
 *                                 scheduled_for NULL, version+1
 *           paused             -> the same plus pause_requested, so the
 *                                 release pauses it again after one run
 *           running            -> refused
 *   kill    running            -> kill_requested_at = now()
 *           otherwise          -> refused
 *
 * A sharded job (job_shards.h) is acted on through its own row; the
 * triggers of 0007_shards.sql apply the same table to each of its shard
 * rows.  Its running shard rows count as running for run (refused: every
 * shard of a fire time starts together), kill (every running shard) and
 * delete, and fewer shards are refused while a shard to remove runs.
 *
 * Every state statement has WHERE id = $1 AND version = $2 with the version
 * just read: a scheduler that claimed or released the job in between makes
 * it miss, and the whole transaction is tried once more from the read.
 * Definition edits compare updated_at instead, which moves only when a
 * definition column changes (the jobs_definition_changed trigger), so that
 * the claims and releases of a busy job do not make an edit fail.  An
 * edit that names the version its caller read also has version = $v in its
 * WHERE and, when it changed something of a job that is not running, moves
 * version itself (a second statement: a no-op edit writes nothing).
 */
#include <autoconfig.h>

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "job_config.h"
#include "job_query.h"
#include "job_shards.h"
#include "job_store.h"
#include "schedule.h"
#include "strbuf.h"

/* Limits of the CHECK constraints on jobs that we check first, so that the
 * answer names the value instead of a constraint. */
#define SCHEDULE_TEXT_LIMIT 256
#define TIMEZONE_TEXT_LIMIT 64

/* A miss is retried once: a second one means the job is very busy, and
 * the operator is better told than kept waiting. */
#define STORE_ATTEMPTS 2

#define SQL_READ                                                                            \
    "SELECT id, version, status, pause_requested, department_id, kind, schedule, timezone,"  \
    " config::text, updated_at::text, schedule_error, to_jsonb(j)::text, name FROM jobs j"
/* A sharded job's shard rows are not jobs of their own (job_shards.h). */
static const char SQL_READ_BY_NAME[] = SQL_READ " WHERE name = $1 AND shard_of IS NULL";
static const char SQL_READ_BY_ID[] = SQL_READ " WHERE id = $1::bigint AND shard_of IS NULL";

enum read_col {
    READ_ID,
    READ_VERSION,
    READ_STATUS,
    READ_PAUSE_REQUESTED,
    READ_DEPARTMENT,
    READ_KIND,
    READ_SCHEDULE,
    READ_TIMEZONE,
    READ_CONFIG,
    READ_UPDATED_AT,
    READ_SCHEDULE_ERROR,
    READ_IMAGE,
    READ_NAME,
};

static const char SQL_DEPARTMENT[] = "SELECT id FROM departments WHERE name = $1";

/* The trigger sets updated_at when a definition column really changed, so
 * the last column says whether anything did. */
static const char SQL_UPDATE[] =
    "UPDATE jobs SET schedule = coalesce($3, schedule), timezone = coalesce($4, timezone),"
    " department_id = coalesce($5::bigint, department_id), config = coalesce($6::jsonb, config),"
    " timeout_s = coalesce($7::int, timeout_s), max_retries = coalesce($8::int, max_retries),"
    " retry_backoff_s = coalesce($9::int, retry_backoff_s),"
    " misfire_policy = coalesce($10, misfire_policy), kind = coalesce($11, kind),"
    " name = coalesce($12, name), description = coalesce($13, description),"
    " shards = coalesce($15::int, shards)"
    " WHERE id = $1 AND updated_at = $2::timestamptz"
    "  AND ($14::bigint IS NULL OR version = $14::bigint)"
    " RETURNING to_jsonb(jobs)::text, department_id, updated_at <> $2::timestamptz, status";

/* The version move of an edit fenced by version (never of a running job:
 * that would take its lease away). */
static const char SQL_BUMP[] =
    "UPDATE jobs SET version = version + 1 WHERE id = $1 AND status <> 'running'"
    " RETURNING to_jsonb(jobs)::text";

static const char SQL_DELETE[] = "DELETE FROM jobs WHERE id = $1 AND version = $2 RETURNING id";

static const char SQL_PAUSE[] =
    "UPDATE jobs SET status = 'paused', version = version + 1"
    " WHERE id = $1 AND version = $2 AND status IN ('waiting', 'done')"
    " RETURNING to_jsonb(jobs)::text";

static const char SQL_REQUEST_PAUSE[] =
    "UPDATE jobs SET pause_requested = true"
    " WHERE id = $1 AND version = $2 AND status = 'running'"
    " RETURNING to_jsonb(jobs)::text";

static const char SQL_RESUME[] =
    "UPDATE jobs SET status = 'waiting', next_time = NULL, attempt = 1, scheduled_for = NULL,"
    " pause_requested = false, version = version + 1"
    " WHERE id = $1 AND version = $2 AND status = 'paused'"
    " RETURNING to_jsonb(jobs)::text";

static const char SQL_CANCEL_PAUSE[] =
    "UPDATE jobs SET pause_requested = false"
    " WHERE id = $1 AND version = $2 AND status IN ('waiting', 'running')"
    " RETURNING to_jsonb(jobs)::text";

/*
 * "Now", but never the fire time of an earlier execution: a claim runs
 * next_time's whole second as scheduled_for, and the executions_once key
 * (job, scheduled_for, attempt) would make the scheduler skip a run whose
 * second already ran (a job run twice within a second, or right after a
 * scheduled run).  The max walks that key's index: O(log n).
 */
static const char SQL_RUN[] =
    "UPDATE jobs SET status = 'waiting',"
    " next_time = greatest(now(), (SELECT max(e.scheduled_for) + interval '1 second'"
    "                               FROM executions e WHERE e.job_id = jobs.id)),"
    " attempt = 1, scheduled_for = NULL, pause_requested = pause_requested OR $3::bool,"
    " version = version + 1"
    " WHERE id = $1 AND version = $2 AND status IN ('waiting', 'paused', 'done')"
    " RETURNING to_jsonb(jobs)::text";

/* A sharded job's kill goes to its running shard rows (0007's trigger;
 * its own row keeps the request only if it runs too). */
static const char SQL_KILL[] =
    "UPDATE jobs SET kill_requested_at = now()"
    " WHERE id = $1 AND version = $2 AND (status = 'running' OR shards > 1)"
    " RETURNING to_jsonb(jobs)::text";

/* One store call: its inputs, and what the transaction body reports. */
struct store_tx {
    const struct audit_actor *actor;  /* borrowed */
    const struct job_ref *ref;        /* borrowed; NULL on create */
    char name[160];                   /* the job's name, for messages, once known */
    const struct job_def *def;        /* borrowed */
    enum job_action action;
    int force;
    struct job_store_error *err;      /* borrowed */
    struct job_action_result *result; /* borrowed; job_store_act only */
    int missed;                       /* a compare-and-swap found the row moved */
    char shards_running[64];          /* a sharded job's running shard rows: "1, 3" */
    int64_t id;
    int changed;
};

void
job_store_fail(struct job_store_error *err, enum job_store_code code, const char *field,
               const char *fmt, ...)
{
    va_list ap;

    err->code = code;
    snprintf(err->field, sizeof(err->field), "%s", field != NULL ? field : "");
    err->pos = -1;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
}

static void
store_db_fail(struct db *db, struct job_store_error *err)
{
    const char *msg = db_last_message(db);

    if (msg[0] == '\0')
        msg = "unknown error";
    /* The first line only: libpq's hints follow on further lines. */
    job_store_fail(err, JOB_STORE_FAILED, NULL, "database error: %.*s", (int)strcspn(msg, "\n"),
               msg);
}

void
job_def_init(struct job_def *def)
{
    memset(def, 0, sizeof(*def));
    def->timeout_s = JOB_DEF_UNSET;
    def->max_retries = JOB_DEF_UNSET;
    def->retry_backoff_s = JOB_DEF_UNSET;
    def->shards = JOB_DEF_UNSET;
}

/* The schedule and zone as the scheduler will parse them. */
static int
check_schedule(const char *text, const char *zone, struct job_store_error *err)
{
    struct schedule_error serr;
    struct schedule *s;

    if (strlen(text) > SCHEDULE_TEXT_LIMIT) {
        job_store_fail(err, JOB_STORE_INVALID, "schedule", "bad schedule: longer than %d characters",
                   SCHEDULE_TEXT_LIMIT);
        err->pos = SCHEDULE_TEXT_LIMIT;
        return -1;
    }
    /* schedule_parse takes "" for UTC; the column wants a name. */
    if (zone != NULL && zone[0] == '\0') {
        job_store_fail(err, JOB_STORE_INVALID, "timezone", "bad time zone: empty time zone name at 0");
        err->pos = 0;
        return -1;
    }
    if (zone != NULL && strlen(zone) > TIMEZONE_TEXT_LIMIT) {
        job_store_fail(err, JOB_STORE_INVALID, "timezone", "bad time zone: longer than %d characters",
                   TIMEZONE_TEXT_LIMIT);
        err->pos = TIMEZONE_TEXT_LIMIT;
        return -1;
    }
    if ((s = schedule_parse(text, zone, &serr)) == NULL) {
        int zone_part = serr.part == SCHEDULE_PART_ZONE;

        job_store_fail(err, JOB_STORE_INVALID, zone_part ? "timezone" : "schedule", "bad %s: %s at %d",
                   zone_part ? "time zone" : "schedule", serr.msg, serr.pos);
        err->pos = serr.pos;
        return -1;
    }
    schedule_free(s);
    return 0;
}

/* Ranges and the misfire policy; *policy gets its stored spelling. */
static int
check_numbers(const struct job_def *def, const char **policy, struct job_store_error *err)
{
    enum schedule_misfire_policy p;

    *policy = NULL;
    if (def->timeout_s != JOB_DEF_UNSET &&
        (def->timeout_s < 1 || def->timeout_s > JOB_TIMEOUT_MAX_S)) {
        job_store_fail(err, JOB_STORE_INVALID, "timeout_s", "timeout must be from 1 s to %d s (7 days)",
                   JOB_TIMEOUT_MAX_S);
        return -1;
    }
    if (def->max_retries != JOB_DEF_UNSET &&
        (def->max_retries < 0 || def->max_retries > JOB_RETRIES_MAX)) {
        job_store_fail(err, JOB_STORE_INVALID, "max_retries", "retries must be from 0 to %d",
                   JOB_RETRIES_MAX);
        return -1;
    }
    if (def->retry_backoff_s != JOB_DEF_UNSET &&
        (def->retry_backoff_s < 0 || def->retry_backoff_s > JOB_BACKOFF_MAX_S)) {
        job_store_fail(err, JOB_STORE_INVALID, "retry_backoff_s",
                   "retry backoff must be from 0 s to %d s (1 day)",
                   JOB_BACKOFF_MAX_S);
        return -1;
    }
    if (def->shards != JOB_DEF_UNSET && (def->shards < 1 || def->shards > JOB_SHARDS_MAX)) {
        job_store_fail(err, JOB_STORE_INVALID, "shards", "shards must be from 1 to %d",
                   JOB_SHARDS_MAX);
        return -1;
    }
    if (def->misfire_policy != NULL) {
        if (schedule_policy_parse(def->misfire_policy, &p) < 0) {
            job_store_fail(err, JOB_STORE_INVALID, "misfire_policy",
                       "bad misfire policy '%s': use skip or once",
                       def->misfire_policy);
            return -1;
        }
        *policy = p == SCHEDULE_MISFIRE_ONCE ? "once" : "skip";
    }
    if (def->kind != NULL && !job_query_is_kind(def->kind)) {
        job_store_fail(err, JOB_STORE_INVALID, "kind",
                   "bad kind '%.20s': use shell, http, grpc or noop", def->kind);
        return -1;
    }
    return 0;
}

/*
 * The config to store: the keys of patch set in stored (a null value
 * removes a key), or patch alone when stored is NULL (a new job or a new
 * kind), checked for kind as the scheduler will check it.  Returns the
 * JSON text (caller frees) or NULL with err filled.
 */
static char *
config_merge(const char *stored, const char *kind, const char *patch, struct job_store_error *err)
{
    struct job_config_error cerr;
    json_error_t jerr;
    json_t *root = NULL, *changes, *value;
    const char *key;
    char *text = NULL;

    if ((changes = json_loads(patch, JSON_REJECT_DUPLICATES, &jerr)) == NULL) {
        job_store_fail(err, JOB_STORE_INVALID, "config", "bad config: not valid JSON: %s", jerr.text);
        goto out;
    }
    if (!json_is_object(changes)) {
        job_store_fail(err, JOB_STORE_INVALID, "config", "bad config: config must be a JSON object");
        goto out;
    }
    root = stored != NULL ? json_loads(stored, 0, NULL) : json_object();
    if (root == NULL || !json_is_object(root)) {
        job_store_fail(err, JOB_STORE_INVALID, "config", "the stored config is not a JSON object");
        goto out;
    }
    json_object_foreach(changes, key, value) {
        if (json_is_null(value)) {
            json_object_del(root, key); /* -1 when it was not there: nothing to remove */
        } else if (json_object_set(root, key, value) < 0) {
            job_store_fail(err, JOB_STORE_FAILED, NULL, "out of memory");
            goto out;
        }
    }
    if ((text = json_dumps(root, JSON_COMPACT)) == NULL) {
        job_store_fail(err, JOB_STORE_FAILED, NULL, "out of memory");
        goto out;
    }
    if (job_config_check(kind, text, &cerr) < 0) {
        char field[sizeof(err->field)];

        snprintf(field, sizeof(field), "config%s%.60s", cerr.field[0] != '\0' ? "." : "",
                 cerr.field);
        job_store_fail(err, JOB_STORE_INVALID, field, "bad config: %s", cerr.msg);
        free(text);
        text = NULL;
    }
out:
    json_decref(changes);
    json_decref(root);
    return text;
}

/* The department's id as text into buf; NOT_FOUND if there is none. */
static int
department_id(struct db *db, const char *name, char *buf, size_t size, struct job_store_error *err)
{
    PGresult *res = db_query(db, SQL_DEPARTMENT, DB_PARAMS(name));
    int rc = -1;

    if (res == NULL) {
        store_db_fail(db, err);
        goto out;
    }
    if (PQntuples(res) == 0) {
        job_store_fail(err, JOB_STORE_NOT_FOUND, "department", "no department named '%s'", name);
        goto out;
    }
    snprintf(buf, size, "%s", PQgetvalue(res, 0, 0));
    rc = 0;
out:
    PQclear(res);
    return rc;
}

/* The job row as read at the start of a change, its name noted in tx;
 * NOT_FOUND if there is none (in the fencing department). */
static PGresult *
read_job(struct db *db, struct store_tx *tx)
{
    const struct job_ref *ref = tx->ref;
    char id[24];
    PGresult *res;

    snprintf(id, sizeof(id), "%lld", (long long)ref->id);
    res = ref->id > 0 ? db_query(db, SQL_READ_BY_ID, DB_PARAMS(id))
                      : db_query(db, SQL_READ_BY_NAME, DB_PARAMS(ref->name));
    if (res == NULL) {
        store_db_fail(db, tx->err);
        return NULL;
    }
    /* Moved out of the department the rights were checked in: as gone. */
    if (PQntuples(res) == 0 || (ref->department_id > 0 &&
                                db_get_int64(res, 0, READ_DEPARTMENT, 0) != ref->department_id)) {
        if (ref->id > 0)
            job_store_fail(tx->err, JOB_STORE_NOT_FOUND, NULL, "no job %lld", (long long)ref->id);
        else
            job_store_fail(tx->err, JOB_STORE_NOT_FOUND, NULL, "no job named '%s'", ref->name);
        PQclear(res);
        return NULL;
    }
    snprintf(tx->name, sizeof(tx->name), "%s", PQgetvalue(res, 0, READ_NAME));
    return res;
}

static int
audit(struct db *db, const struct store_tx *tx, const char *action, const char *id,
      const char *department, const char *before, const char *after)
{
    if (audit_write(db, tx->actor, action, "job", id, strtoll(department, NULL, 10), before,
                    after) < 0) {
        store_db_fail(db, tx->err);
        return -1;
    }
    return 0;
}

/*
 * Run body in a transaction; a miss (tx->missed) starts it again from the
 * beginning, once.  A body returning -1 has filled tx->err, unless the
 * database failed (then the database's words are used).
 */
static int
store_run(struct db *db, int (*body)(struct db *db, void *arg), struct store_tx *tx)
{
    for (int attempt = 1; attempt <= STORE_ATTEMPTS; attempt++) {
        tx->missed = 0;
        tx->err->code = JOB_STORE_OK;
        tx->err->msg[0] = '\0';
        if (db_transaction(db, body, tx) == 0)
            return 0;
        if (!tx->missed) {
            if (tx->err->code == JOB_STORE_OK)
                store_db_fail(db, tx->err);
            return -1;
        }
    }
    job_store_fail(tx->err, JOB_STORE_CONFLICT, NULL,
               "job '%s' kept changing while this command ran (an instance is busy with it);"
               " try again",
               tx->name);
    return -1;
}

/* --- create --- */

/* Appends ", col" and ", $n<cast>" and the value.  Only the columns that
 * were given are listed, so the others get the table's own defaults;
 * the SQL is made of these constant names, values are always parameters. */
static void
insert_col(struct strbuf *cols, struct strbuf *vals, const char **params, int *n,
           const char *col, const char *cast, const char *value)
{
    params[(*n)++] = value;
    strbuf_printf(cols, ", %s", col);
    strbuf_printf(vals, ", $%d%s", *n, cast);
}

/* The department of def as an id in buf: def->department_id, or the id of
 * the department named def->department; "" when neither is given. */
static int
def_department(struct db *db, const struct job_def *def, char *buf, size_t size,
               struct job_store_error *err)
{
    buf[0] = '\0';
    if (def->department_id > 0) {
        snprintf(buf, size, "%lld", (long long)def->department_id);
        return 0;
    }
    if (def->department != NULL)
        return department_id(db, def->department, buf, size, err);
    return 0;
}

/* The words for a department the database did not find (a foreign key). */
static void
department_gone(const struct job_def *def, struct job_store_error *err)
{
    if (def->department_id > 0)
        job_store_fail(err, JOB_STORE_NOT_FOUND, "department", "no department %lld",
                   (long long)def->department_id);
    else
        job_store_fail(err, JOB_STORE_NOT_FOUND, "department", "no department named '%s'",
                   def->department != NULL ? def->department : "default");
}

/* The words for a name the jobs table's CHECK refuses. */
static void
bad_name(const char *name, struct job_store_error *err)
{
    job_store_fail(err, JOB_STORE_INVALID, "name",
               "bad job name '%s': use letters, digits and . _ : - (starting with a"
               " letter, digit or _), at most 128 characters",
               name);
}

static int
create_body(struct db *db, void *arg)
{
    struct store_tx *tx = arg;
    const struct job_def *def = tx->def;
    struct strbuf cols = STRBUF_INIT, vals = STRBUF_INIT, sql = STRBUF_INIT;
    const char *params[15];
    char dept[24], timeout[16], retries[16], backoff[16], shards[16];
    const char *policy, *kind = def->kind != NULL ? def->kind : "shell";
    char *config = NULL;
    PGresult *res = NULL;
    int n = 0, rc = -1;

    if (check_numbers(def, &policy, tx->err) < 0)
        goto out;
    if ((config = config_merge(NULL, kind, def->config, tx->err)) == NULL)
        goto out;
    if (def_department(db, def, dept, sizeof(dept), tx->err) < 0)
        goto out;
    params[n++] = kind; /* $1: the first column */
    insert_col(&cols, &vals, params, &n, "name", "", def->name);
    insert_col(&cols, &vals, params, &n, "schedule", "", def->schedule);
    insert_col(&cols, &vals, params, &n, "config", "::jsonb", config);
    if (def->description != NULL)
        insert_col(&cols, &vals, params, &n, "description", "", def->description);
    if (def->timezone != NULL)
        insert_col(&cols, &vals, params, &n, "timezone", "", def->timezone);
    if (dept[0] != '\0')
        insert_col(&cols, &vals, params, &n, "department_id", "::bigint", dept);
    if (def->paused)
        insert_col(&cols, &vals, params, &n, "status", "", "paused");
    if (def->timeout_s != JOB_DEF_UNSET) {
        snprintf(timeout, sizeof(timeout), "%d", def->timeout_s);
        insert_col(&cols, &vals, params, &n, "timeout_s", "::int", timeout);
    }
    if (def->max_retries != JOB_DEF_UNSET) {
        snprintf(retries, sizeof(retries), "%d", def->max_retries);
        insert_col(&cols, &vals, params, &n, "max_retries", "::int", retries);
    }
    if (def->retry_backoff_s != JOB_DEF_UNSET) {
        snprintf(backoff, sizeof(backoff), "%d", def->retry_backoff_s);
        insert_col(&cols, &vals, params, &n, "retry_backoff_s", "::int", backoff);
    }
    if (policy != NULL)
        insert_col(&cols, &vals, params, &n, "misfire_policy", "", policy);
    if (def->shards != JOB_DEF_UNSET) {
        snprintf(shards, sizeof(shards), "%d", def->shards);
        insert_col(&cols, &vals, params, &n, "shards", "::int", shards);
    }
    /* next_time stays NULL: an instance computes it, woken by jobs_notify. */
    strbuf_printf(&sql, "INSERT INTO jobs (kind%s) VALUES ($1%s)"
                        " RETURNING id, department_id, to_jsonb(jobs)::text",
                  strbuf_str(&cols), strbuf_str(&vals));
    if (strbuf_failed(&cols) || strbuf_failed(&vals) || strbuf_failed(&sql)) {
        job_store_fail(tx->err, JOB_STORE_FAILED, NULL, "out of memory");
        goto out;
    }
    if ((res = db_query(db, strbuf_str(&sql), n, params)) == NULL) {
        switch (db_last_error(db)) {
        case DB_ERR_UNIQUE:
            job_store_fail(tx->err, JOB_STORE_CONFLICT, "name", "a job named '%s' already exists",
                       def->name);
            break;
        case DB_ERR_CHECK:
            /* Every other checked column was checked above: it is the name. */
            bad_name(def->name, tx->err);
            break;
        case DB_ERR_FOREIGN:
            department_gone(def, tx->err);
            break;
        default:
            store_db_fail(db, tx->err);
        }
        goto out;
    }
    tx->id = db_get_int64(res, 0, 0, 0);
    if (audit(db, tx, "job.create", PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1), NULL,
              PQgetvalue(res, 0, 2)) < 0)
        goto out;
    rc = 0;
out:
    PQclear(res);
    free(config);
    strbuf_reset(&cols);
    strbuf_reset(&vals);
    strbuf_reset(&sql);
    return rc;
}

/* A store call's tx and err, ready for store_run. */
static void
store_tx_init(struct store_tx *tx, const struct audit_actor *actor, const struct job_ref *ref,
              struct job_store_error *err)
{
    memset(tx, 0, sizeof(*tx));
    tx->actor = actor;
    tx->ref = ref;
    tx->err = err;
    err->code = JOB_STORE_OK;
    err->field[0] = '\0';
    err->pos = -1;
    err->msg[0] = '\0';
    /* Until the row is read, messages name the job as the caller did. */
    if (ref != NULL && ref->id > 0)
        snprintf(tx->name, sizeof(tx->name), "%lld", (long long)ref->id);
    else if (ref != NULL && ref->name != NULL)
        snprintf(tx->name, sizeof(tx->name), "%s", ref->name);
}

int
job_store_create(struct db *db, const struct audit_actor *actor, const struct job_def *def,
                 int64_t *id, struct job_store_error *err)
{
    struct store_tx tx;

    store_tx_init(&tx, actor, NULL, err);
    tx.def = def;
    if (def->name == NULL || def->schedule == NULL || def->config == NULL) {
        job_store_fail(err, JOB_STORE_INVALID, NULL, "a job needs a name, a schedule and a config");
        return -1;
    }
    snprintf(tx.name, sizeof(tx.name), "%s", def->name);
    /* Checked before any round trip: a typo costs no connection time. */
    if (check_schedule(def->schedule, def->timezone, err) < 0)
        return -1;
    if (store_run(db, create_body, &tx) < 0)
        return -1;
    *id = tx.id;
    return 0;
}

/* --- update --- */

/* The edit's UPDATE failed: say why in the caller's terms. */
static void
update_refused(struct db *db, const struct job_def *def, struct job_store_error *err)
{
    switch (db_last_error(db)) {
    case DB_ERR_FOREIGN:
        department_gone(def, err);
        break;
    case DB_ERR_UNIQUE:
        job_store_fail(err, JOB_STORE_CONFLICT, "name", "a job named '%s' already exists",
                   def->name != NULL ? def->name : "?");
        break;
    case DB_ERR_CHECK:
        /* Every other checked column was checked before: a new name. */
        if (def->name != NULL)
            bad_name(def->name, err);
        else
            job_store_fail(err, JOB_STORE_INVALID, NULL, "the database refused the change: %s",
                       db_last_message(db));
        break;
    default:
        store_db_fail(db, err);
    }
}

static int
update_body(struct db *db, void *arg)
{
    struct store_tx *tx = arg;
    const struct job_def *def = tx->def;
    char dept[24], timeout[16], retries[16], backoff[16], version[24], shards[16], busy[64];
    const char *policy, *id, *kind, *after;
    char *config = NULL;
    PGresult *row = NULL, *res = NULL, *bumped = NULL;
    int rc = -1, nbusy;

    tx->changed = 0;
    if (check_numbers(def, &policy, tx->err) < 0)
        goto out;
    if ((row = read_job(db, tx)) == NULL)
        goto out;
    id = PQgetvalue(row, 0, READ_ID);
    kind = PQgetvalue(row, 0, READ_KIND);
    if (def->version > 0 && db_get_int64(row, 0, READ_VERSION, 0) != def->version) {
        job_store_fail(tx->err, JOB_STORE_STALE, "version",
                   "job '%s' changed since version %lld was read (it is at version %s now):"
                   " read it again",
                   tx->name, (long long)def->version, PQgetvalue(row, 0, READ_VERSION));
        goto out;
    }
    /* The new schedule with the stored zone, or the other way round: the
     * pair is what the scheduler parses. */
    if ((def->schedule != NULL || def->timezone != NULL) &&
        check_schedule(def->schedule != NULL ? def->schedule : PQgetvalue(row, 0, READ_SCHEDULE),
                       def->timezone != NULL ? def->timezone : PQgetvalue(row, 0, READ_TIMEZONE),
                       tx->err) < 0)
        goto out;
    /* Another kind starts from an empty config: the old keys mean nothing to it. */
    if (def->kind != NULL && strcmp(def->kind, kind) != 0) {
        if (def->config == NULL) {
            job_store_fail(tx->err, JOB_STORE_INVALID, "config",
                       "job '%s' is a %s job: a %s job needs its config", tx->name, kind,
                       def->kind);
            goto out;
        }
        if ((config = config_merge(NULL, def->kind, def->config, tx->err)) == NULL)
            goto out;
    } else if (def->config != NULL) {
        if ((config = config_merge(PQgetvalue(row, 0, READ_CONFIG), kind, def->config,
                                   tx->err)) == NULL)
            goto out;
    }
    if (def_department(db, def, dept, sizeof(dept), tx->err) < 0)
        goto out;
    snprintf(timeout, sizeof(timeout), "%d", def->timeout_s);
    snprintf(retries, sizeof(retries), "%d", def->max_retries);
    snprintf(backoff, sizeof(backoff), "%d", def->retry_backoff_s);
    snprintf(version, sizeof(version), "%lld", (long long)def->version);
    snprintf(shards, sizeof(shards), "%d", def->shards);
    /* Shards that would go away must not be running (the trigger refuses too). */
    if (def->shards != JOB_DEF_UNSET &&
        (nbusy = job_shards_running(db, db_get_int64(row, 0, READ_ID, 0), def->shards, busy,
                                    sizeof(busy))) != 0) {
        if (nbusy > 0)
            job_store_fail(tx->err, JOB_STORE_CONFLICT, "shards",
                       "job '%s' cannot have %d shards while shards %s run: wait for them to"
                       " end, or kill them", tx->name, def->shards, busy);
        goto out;
    }
    res = db_query(db, SQL_UPDATE,
                   DB_PARAMS(id, PQgetvalue(row, 0, READ_UPDATED_AT), def->schedule, def->timezone,
                             dept[0] != '\0' ? dept : NULL, config,
                             def->timeout_s != JOB_DEF_UNSET ? timeout : NULL,
                             def->max_retries != JOB_DEF_UNSET ? retries : NULL,
                             def->retry_backoff_s != JOB_DEF_UNSET ? backoff : NULL, policy,
                             def->kind, def->name, def->description,
                             def->version > 0 ? version : NULL,
                             def->shards != JOB_DEF_UNSET ? shards : NULL));
    if (res == NULL) {
        update_refused(db, def, tx->err);
        goto out;
    }
    if (PQntuples(res) == 0) {
        tx->missed = 1; /* edited, or moved when fenced by version, since we read it */
        goto out;
    }
    tx->id = db_get_int64(row, 0, READ_ID, 0);
    tx->changed = db_get_bool(res, 0, 2);
    after = PQgetvalue(res, 0, 0);
    if (tx->changed && def->version > 0 && strcmp(PQgetvalue(res, 0, 3), "running") != 0) {
        if ((bumped = db_query(db, SQL_BUMP, DB_PARAMS(id))) == NULL) {
            store_db_fail(db, tx->err);
            goto out;
        }
        if (PQntuples(bumped) == 1)
            after = PQgetvalue(bumped, 0, 0);
    }
    if (tx->changed && audit(db, tx, "job.update", id, PQgetvalue(res, 0, 1),
                             PQgetvalue(row, 0, READ_IMAGE), after) < 0)
        goto out;
    rc = 0;
out:
    PQclear(bumped);
    PQclear(res);
    PQclear(row);
    free(config);
    return rc;
}

int
job_store_update(struct db *db, const struct audit_actor *actor, const struct job_ref *job,
                 const struct job_def *def, int *changed, struct job_store_error *err)
{
    struct store_tx tx;

    store_tx_init(&tx, actor, job, err);
    tx.def = def;
    if (store_run(db, update_body, &tx) < 0)
        return -1;
    *changed = tx.changed;
    return 0;
}

/* --- delete --- */

static int
delete_body(struct db *db, void *arg)
{
    struct store_tx *tx = arg;
    PGresult *row = NULL, *res = NULL;
    const char *id;
    int rc = -1;

    if ((row = read_job(db, tx)) == NULL)
        goto out;
    id = PQgetvalue(row, 0, READ_ID);
    if (job_shards_running(db, db_get_int64(row, 0, READ_ID, 0), 1, tx->shards_running,
                           sizeof(tx->shards_running)) < 0)
        goto out;
    if ((strcmp(PQgetvalue(row, 0, READ_STATUS), "running") == 0 ||
         tx->shards_running[0] != '\0') && !tx->force) {
        job_store_fail(tx->err, JOB_STORE_CONFLICT, "force",
                   "job '%s' is running: kill it first, or force the deletion", tx->name);
        goto out;
    }
    res = db_query(db, SQL_DELETE, DB_PARAMS(id, PQgetvalue(row, 0, READ_VERSION)));
    if (res == NULL) {
        store_db_fail(db, tx->err);
        goto out;
    }
    if (PQntuples(res) == 0) {
        tx->missed = 1; /* claimed or released meanwhile: look at its state again */
        goto out;
    }
    if (audit(db, tx, "job.delete", id, PQgetvalue(row, 0, READ_DEPARTMENT),
              PQgetvalue(row, 0, READ_IMAGE), NULL) < 0)
        goto out;
    rc = 0;
out:
    PQclear(res);
    PQclear(row);
    return rc;
}

int
job_store_delete(struct db *db, const struct audit_actor *actor, const struct job_ref *job,
                 int force, struct job_store_error *err)
{
    struct store_tx tx;

    store_tx_init(&tx, actor, job, err);
    tx.force = force;
    return store_run(db, delete_body, &tx);
}

/* --- pause, resume, run, kill --- */

/* The statement for an action in a state, per the table at the top; NULL
 * when there is nothing to do (*outcome UNCHANGED) or it is refused (err). */
static const char *
act_statement(const struct store_tx *tx, const PGresult *row, enum job_outcome *outcome,
              const char **audit_action)
{
    const char *status = PQgetvalue(row, 0, READ_STATUS);
    int pause_requested = db_get_bool(row, 0, READ_PAUSE_REQUESTED);
    int running = strcmp(status, "running") == 0;
    int paused = strcmp(status, "paused") == 0;

    *outcome = JOB_OUTCOME_DONE;
    switch (tx->action) {
    case JOB_ACTION_PAUSE:
        *audit_action = "job.pause";
        if (paused || (running && pause_requested)) {
            *outcome = JOB_OUTCOME_UNCHANGED;
            return NULL;
        }
        if (running) {
            *outcome = JOB_OUTCOME_REQUESTED;
            return SQL_REQUEST_PAUSE;
        }
        return SQL_PAUSE;
    case JOB_ACTION_RESUME:
        *audit_action = "job.resume";
        if (paused)
            return SQL_RESUME;
        if (pause_requested) {
            *outcome = running ? JOB_OUTCOME_REQUESTED : JOB_OUTCOME_DONE;
            return SQL_CANCEL_PAUSE;
        }
        *outcome = JOB_OUTCOME_UNCHANGED;
        return NULL;
    case JOB_ACTION_RUN:
        *audit_action = "job.run";
        if (running || tx->shards_running[0] != '\0') {
            job_store_fail(tx->err, JOB_STORE_CONFLICT, NULL, "job '%s' is already running%s%s%s",
                       tx->name, running ? "" : " (shards ", running ? "" : tx->shards_running,
                       running ? "" : ")");
            return NULL;
        }
        /* The due query passes over such a job: it would never start. */
        if (!PQgetisnull(row, 0, READ_SCHEDULE_ERROR)) {
            job_store_fail(tx->err, JOB_STORE_CONFLICT, "schedule",
                       "job '%s' cannot run until its schedule is fixed (%s)", tx->name,
                       PQgetvalue(row, 0, READ_SCHEDULE_ERROR));
            return NULL;
        }
        return SQL_RUN;
    case JOB_ACTION_KILL:
        *audit_action = "job.kill";
        if (!running && tx->shards_running[0] == '\0') {
            job_store_fail(tx->err, JOB_STORE_CONFLICT, NULL, "job '%s' is not running", tx->name);
            return NULL;
        }
        *outcome = JOB_OUTCOME_REQUESTED;
        return SQL_KILL;
    }
    return NULL;
}

static int
act_body(struct db *db, void *arg)
{
    struct store_tx *tx = arg;
    struct job_action_result *result = tx->result;
    PGresult *row = NULL, *res = NULL;
    const char *sql, *audit_action = "", *id, *version, *status;
    int rc = -1;

    if ((row = read_job(db, tx)) == NULL)
        goto out;
    id = PQgetvalue(row, 0, READ_ID);
    version = PQgetvalue(row, 0, READ_VERSION);
    status = PQgetvalue(row, 0, READ_STATUS);
    result->id = db_get_int64(row, 0, READ_ID, 0);
    snprintf(result->name, sizeof(result->name), "%s", tx->name);
    snprintf(result->status_before, sizeof(result->status_before), "%s", status);
    result->pause_requested_before = db_get_bool(row, 0, READ_PAUSE_REQUESTED);
    /* All the shards of a fire time start together: a run waits for every
     * running shard, a kill is for each of them. */
    if (job_shards_running(db, result->id, 1, tx->shards_running,
                           sizeof(tx->shards_running)) < 0)
        goto out;
    sql = act_statement(tx, row, &result->outcome, &audit_action);
    if (sql == NULL) {
        rc = tx->err->code == JOB_STORE_OK ? 0 : -1;
        goto out;
    }
    if (sql == SQL_RUN)
        res = db_query(db, sql, DB_PARAMS(id, version, strcmp(status, "paused") == 0 ? "t" : "f"));
    else
        res = db_query(db, sql, DB_PARAMS(id, version));
    if (res == NULL) {
        store_db_fail(db, tx->err);
        goto out;
    }
    if (PQntuples(res) == 0) {
        tx->missed = 1; /* a scheduler moved it: decide again on a fresh read */
        goto out;
    }
    if (audit(db, tx, audit_action, id, PQgetvalue(row, 0, READ_DEPARTMENT),
              PQgetvalue(row, 0, READ_IMAGE), PQgetvalue(res, 0, 0)) < 0)
        goto out;
    rc = 0;
out:
    PQclear(res);
    PQclear(row);
    return rc;
}

int
job_store_act(struct db *db, const struct audit_actor *actor, const struct job_ref *job,
              enum job_action action, struct job_action_result *result,
              struct job_store_error *err)
{
    struct store_tx tx;

    store_tx_init(&tx, actor, job, err);
    memset(result, 0, sizeof(*result));
    tx.action = action;
    tx.result = result;
    return store_run(db, act_body, &tx);
}

void
job_store_describe(enum job_action action, const struct job_action_result *r, char *buf,
                   size_t size)
{
    int was_paused = strcmp(r->status_before, "paused") == 0;
    const char *name = r->name;

    switch (action) {
    case JOB_ACTION_PAUSE:
        if (r->outcome == JOB_OUTCOME_DONE)
            snprintf(buf, size, "paused job '%s'", name);
        else if (r->outcome == JOB_OUTCOME_REQUESTED)
            snprintf(buf, size, "job '%s' is running: it will be paused when this run ends", name);
        else if (was_paused)
            snprintf(buf, size, "job '%s' is already paused", name);
        else
            snprintf(buf, size, "job '%s' is already to be paused when this run ends", name);
        break;
    case JOB_ACTION_RESUME:
        if (r->outcome == JOB_OUTCOME_DONE && was_paused)
            snprintf(buf, size, "resumed job '%s'", name);
        else if (r->outcome == JOB_OUTCOME_DONE)
            snprintf(buf, size, "job '%s' will no longer pause after its pending run", name);
        else if (r->outcome == JOB_OUTCOME_REQUESTED)
            snprintf(buf, size,
                     "job '%s' is running: it will no longer be paused when this run ends", name);
        else
            snprintf(buf, size, "job '%s' is not paused", name);
        break;
    case JOB_ACTION_RUN:
        if (was_paused)
            snprintf(buf, size, "job '%s' will run once now and stay paused", name);
        else if (r->pause_requested_before)
            snprintf(buf, size, "job '%s' will run now, then pause (a pause is pending)", name);
        else
            snprintf(buf, size, "job '%s' will run now", name);
        break;
    case JOB_ACTION_KILL:
        snprintf(buf, size, "asked the instance running job '%s' to kill it", name);
        break;
    }
}

const char *
job_outcome_name(enum job_outcome outcome)
{
    switch (outcome) {
    case JOB_OUTCOME_DONE: return "done";
    case JOB_OUTCOME_REQUESTED: return "requested";
    case JOB_OUTCOME_UNCHANGED: return "unchanged";
    }
    return "?";
}
