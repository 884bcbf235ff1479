/* job_deps.c - job dependencies: change them, list them, draw the graph.
 *
 * A change runs in one transaction: the job (fenced by the department
 * the caller's rights were checked in), the edges taken away, the edges
 * made or given a new condition, and one audit_log row ("job.dependencies",
 * the job's upstream jobs before and after).  Each edge goes in through the
 * job_dependencies_check trigger, which refuses a cycle under a lock that
 * serialises all such checks, so two concurrent changes cannot make one
 * together; its message names the cycle and is passed on as it is.
 *
 * The listings show a job outside the viewer's departments as its id only
 * (hidden), so that the graph stays whole without telling what is there.
 */
#include <autoconfig.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "job_deps.h"
#include "strbuf.h"

/* "$N::bigint IS NULL or the job j is in a department of user $N". */
#define VISIBLE(user)                                                                      \
    "(" user "::bigint IS NULL OR EXISTS (SELECT 1 FROM memberships m"                   \
    " WHERE m.user_id = " user "::bigint AND m.department_id = j.department_id))"

#define SQL_JOB_COLUMNS "SELECT j.id, j.name, j.department_id, j.shard_of IS NOT NULL FROM jobs j"
static const char SQL_JOB_BY_ID[] = SQL_JOB_COLUMNS " WHERE j.id = $1::bigint";
static const char SQL_JOB_BY_NAME[] = SQL_JOB_COLUMNS " WHERE j.name = $1";

enum job_col { JOB_ID, JOB_NAME, JOB_DEPARTMENT, JOB_IS_SHARD };

/* An upstream job to add, with whether the viewer ($2) may see it. */
#define SQL_UPSTREAM_COLUMNS                                                              \
    "SELECT j.id, j.name, j.shard_of IS NOT NULL, " VISIBLE("$2") " FROM jobs j"
static const char SQL_UPSTREAM_BY_ID[] = SQL_UPSTREAM_COLUMNS " WHERE j.id = $1::bigint";
static const char SQL_UPSTREAM_BY_NAME[] = SQL_UPSTREAM_COLUMNS " WHERE j.name = $1";

/* The job's upstream jobs, for the audit row. */
static const char SQL_UPSTREAMS_JSON[] =
    "SELECT coalesce(jsonb_agg(jsonb_build_object('id', u.id, 'job', u.name,"
    " 'condition', d.condition) ORDER BY u.name), '[]')::text"
    " FROM job_dependencies d JOIN jobs u ON u.id = d.upstream_id WHERE d.downstream_id = $1";

/* The cycle the edge $2 -> $1 would close, asked first for a plain
 * answer; the trigger asks again under its lock (a concurrent change). */
static const char SQL_CYCLE[] = "SELECT job_dependencies_cycle($1, $2)";

/* A new edge, or a new condition for one: the trigger checks it. */
static const char SQL_ADD[] =
    "INSERT INTO job_dependencies (downstream_id, upstream_id, condition) VALUES ($1, $2, $3)"
    " ON CONFLICT (downstream_id, upstream_id) DO UPDATE SET condition = EXCLUDED.condition"
    " WHERE job_dependencies.condition <> EXCLUDED.condition";

/* Removal names an edge of the job, whoever may see the upstream job. */
static const char SQL_REMOVE[] =
    "DELETE FROM job_dependencies d USING jobs u"
    " WHERE d.downstream_id = $1 AND u.id = d.upstream_id"
    "  AND CASE WHEN $2::bigint > 0 THEN u.id = $2::bigint ELSE u.name = $3 END"
    " RETURNING d.upstream_id";

/* Replace: the visible upstream jobs not in the list go. */
static const char SQL_REMOVE_OTHERS[] =
    "DELETE FROM job_dependencies d USING jobs j"
    " WHERE d.downstream_id = $1 AND j.id = d.upstream_id AND NOT (j.id = ANY ($2::bigint[]))"
    "  AND " VISIBLE("$3");

/* The other job of an edge as the listings show it: hidden from a viewer
 * outside its department, and its latest execution. */
#define OTHER_COLUMNS                                                                       \
    " j.id, CASE WHEN v.visible THEN j.name END AS name,"                                   \
    " CASE WHEN v.visible THEN j.department_id END AS department_id,"                      \
    " CASE WHEN v.visible THEN dp.name END AS department,"                                 \
    " CASE WHEN v.visible THEN j.kind END AS kind,"                                        \
    " CASE WHEN v.visible THEN j.schedule END AS schedule,"                                \
    " CASE WHEN v.visible THEN j.status END AS status,"                                    \
    " CASE WHEN v.visible THEN j.shards END AS shards,"                                    \
    " NOT v.visible AS hidden,"                                                            \
    " le.id AS last_execution_id, le.status AS last_status,"                               \
    " " DB_SQL_UTC("le.scheduled_for") " AS last_scheduled_for,"                           \
    " " DB_SQL_UTC("le.started_at") " AS last_started_at,"                                 \
    " " DB_SQL_UTC("le.finished_at") " AS last_finished_at"
#define OTHER_JOINS                                                                          \
    " JOIN departments dp ON dp.id = j.department_id"                                        \
    " CROSS JOIN LATERAL (SELECT " VISIBLE("$2") " AS visible) v"                            \
    " LEFT JOIN LATERAL (SELECT e.id, e.status, e.scheduled_for, e.started_at, e.finished_at" \
    "   FROM executions e WHERE e.job_id = j.id"                                             \
    "   ORDER BY e.started_at DESC, e.id DESC LIMIT 1) le ON v.visible"

static const char SQL_LIST[] =
    "SELECT x.direction," OTHER_COLUMNS ", x.condition,"
    " " DB_SQL_UTC("x.created_at") " AS created_at"
    " FROM (SELECT 'upstream' AS direction, d.upstream_id AS other, d.condition, d.created_at"
    "        FROM job_dependencies d WHERE d.downstream_id = $1::bigint"
    "       UNION ALL"
    "       SELECT 'downstream', d.downstream_id, d.condition, d.created_at"
    "        FROM job_dependencies d WHERE d.upstream_id = $1::bigint) x"
    " JOIN jobs j ON j.id = x.other" OTHER_JOINS
    " ORDER BY x.direction DESC, j.name, j.id";

/* The jobs connected to $1 by edges either way, each once; the LIMIT
 * stops the recursion itself, however large the component. */
static const char SQL_GRAPH_NODES[] =
    "WITH RECURSIVE comp(id) AS ("
    " SELECT $1::bigint"
    " UNION"
    " SELECT CASE WHEN d.upstream_id = c.id THEN d.downstream_id ELSE d.upstream_id END"
    "  FROM comp c JOIN job_dependencies d ON d.upstream_id = c.id OR d.downstream_id = c.id),"
    " nodes AS (SELECT id, row_number() OVER () AS n FROM (SELECT id FROM comp LIMIT $3::int) c)"
    " SELECT" OTHER_COLUMNS ", j.id = $1::bigint AS focus"
    " FROM nodes n JOIN jobs j ON j.id = n.id" OTHER_JOINS
    " ORDER BY n.n";

static const char SQL_GRAPH_EDGES[] =
    "SELECT d.upstream_id, d.downstream_id, d.condition FROM job_dependencies d"
    " WHERE d.upstream_id = ANY ($1::bigint[]) AND d.downstream_id = ANY ($1::bigint[])"
    " ORDER BY d.upstream_id, d.downstream_id";

static const char *const conditions[] = { "success", "failure", "always" };

/* One change: its inputs, and what the transaction body reports. */
struct deps_tx {
    const struct audit_actor *actor;     /* borrowed */
    const struct job_ref *ref;           /* borrowed */
    const struct job_deps_change *change; /* borrowed */
    struct job_store_error *err;         /* borrowed */
    int changed;
};

/* A failed statement in words: a cycle as the trigger said it, a job
 * deleted meanwhile as not found, anything else as a database error. */
static void
deps_db_fail(struct db *db, struct job_store_error *err)
{
    const char *msg = db_last_message(db);
    int len = (int)strcspn(msg, "\n");

    if (strcmp(db_last_sqlstate(db), JOB_DEPS_CYCLE_SQLSTATE) == 0)
        job_store_fail(err, JOB_STORE_CONFLICT, "upstream", "%.*s", len, msg);
    else if (db_last_error(db) == DB_ERR_FOREIGN)
        job_store_fail(err, JOB_STORE_NOT_FOUND, "upstream", "the job was deleted meanwhile");
    else if (db_last_error(db) == DB_ERR_CHECK)
        job_store_fail(err, JOB_STORE_INVALID, "upstream", "%.*s", len, msg);
    else
        job_store_fail(err, JOB_STORE_FAILED, NULL, "database error: %.*s", len,
                  msg[0] != '\0' ? msg : "unknown error");
}

int
job_deps_parse(const char *text, char *name, size_t size, const char **condition)
{
    const char *colon = strrchr(text, ':');
    size_t len = strlen(text);

    *condition = conditions[0];
    if (colon != NULL) {
        for (size_t i = 0; i < TC_ARRAY_LEN(conditions); i++) {
            if (strcasecmp(colon + 1, conditions[i]) == 0) {
                *condition = conditions[i];
                len = (size_t)(colon - text);
                break;
            }
        }
    }
    if (len == 0 || len >= size)
        return -1;
    memcpy(name, text, len);
    name[len] = '\0';
    return 0;
}

/* The stored spelling of a condition (any case given), or NULL. */
static const char *
condition_of(const char *text)
{
    if (text == NULL)
        return conditions[0];
    for (size_t i = 0; i < TC_ARRAY_LEN(conditions); i++) {
        if (strcasecmp(text, conditions[i]) == 0)
            return conditions[i];
    }
    return NULL;
}

/* How a dependency names its upstream job, for messages. */
static void
dep_words(const struct job_dep *d, char *buf, size_t size)
{
    if (d->upstream_id > 0)
        snprintf(buf, size, "job %lld", (long long)d->upstream_id);
    else
        snprintf(buf, size, "'%s'", d->upstream != NULL ? d->upstream : "");
}

/* The job the change is about (its row, fenced by department); NULL with
 * err filled. */
static PGresult *
read_job(struct db *db, const struct job_ref *ref, struct job_store_error *err)
{
    char id[24];
    PGresult *res;

    snprintf(id, sizeof(id), "%lld", (long long)ref->id);
    res = ref->id > 0 ? db_query(db, SQL_JOB_BY_ID, DB_PARAMS(id))
                      : db_query(db, SQL_JOB_BY_NAME, DB_PARAMS(ref->name));
    if (res == NULL) {
        deps_db_fail(db, err);
        return NULL;
    }
    if (PQntuples(res) == 0 || (ref->department_id > 0 &&
                                db_get_int64(res, 0, JOB_DEPARTMENT, 0) != ref->department_id)) {
        if (ref->id > 0)
            job_store_fail(err, JOB_STORE_NOT_FOUND, NULL, "no job %lld", (long long)ref->id);
        else
            job_store_fail(err, JOB_STORE_NOT_FOUND, NULL, "no job named '%s'", ref->name);
        goto fail;
    }
    if (db_get_bool(res, 0, JOB_IS_SHARD)) {
        job_store_fail(err, JOB_STORE_INVALID, NULL,
                  "'%s' is a shard row: dependencies belong to its job",
                  PQgetvalue(res, 0, JOB_NAME));
        goto fail;
    }
    return res;
fail:
    PQclear(res);
    return NULL;
}

/* The id of an upstream job to add, checked; 0 with err filled. */
static int64_t
find_upstream(struct db *db, const struct deps_tx *tx, const struct job_dep *d, int64_t self,
              const char *self_name)
{
    char id[24], viewer[24], words[200];
    PGresult *res;
    int64_t found = 0;

    dep_words(d, words, sizeof(words));
    snprintf(id, sizeof(id), "%lld", (long long)d->upstream_id);
    snprintf(viewer, sizeof(viewer), "%lld", (long long)tx->change->viewer_id);
    res = db_query(db, d->upstream_id > 0 ? SQL_UPSTREAM_BY_ID : SQL_UPSTREAM_BY_NAME,
                   DB_PARAMS(d->upstream_id > 0 ? id : d->upstream,
                             tx->change->viewer_id > 0 ? viewer : NULL));
    if (res == NULL) {
        deps_db_fail(db, tx->err);
        return 0;
    }
    /* One the caller may not see looks like none at all. */
    if (PQntuples(res) == 0 || !db_get_bool(res, 0, 3))
        job_store_fail(tx->err, JOB_STORE_NOT_FOUND, "upstream", "no %s%s",
                  d->upstream_id > 0 ? "" : "job named ", words);
    else if (db_get_int64(res, 0, 0, 0) == self)
        job_store_fail(tx->err, JOB_STORE_INVALID, "upstream", "job '%s' cannot run after itself",
                  self_name);
    else if (db_get_bool(res, 0, 2))
        job_store_fail(tx->err, JOB_STORE_INVALID, "upstream",
                  "'%s' is a shard row: name its job instead", PQgetvalue(res, 0, 1));
    else
        found = db_get_int64(res, 0, 0, 0);
    PQclear(res);
    return found;
}

/* The job's upstream jobs as JSON text (the caller frees), or NULL. */
static char *
upstreams_json(struct db *db, const char *id, struct job_store_error *err)
{
    PGresult *res = db_query(db, SQL_UPSTREAMS_JSON, DB_PARAMS(id));
    char *text;

    if (res == NULL) {
        deps_db_fail(db, err);
        return NULL;
    }
    if ((text = strdup(PQgetvalue(res, 0, 0))) == NULL)
        job_store_fail(err, JOB_STORE_FAILED, NULL, "out of memory");
    PQclear(res);
    return text;
}

/* {"job": name, "upstreams": [...]} for the audit row; NULL on OOM. */
static char *
audit_image(const char *name, const char *upstreams)
{
    json_t *doc = json_pack("{s:s, s:o?}", "job", name, "upstreams",
                            json_loads(upstreams, 0, NULL));
    char *text = doc != NULL ? json_dumps(doc, JSON_COMPACT) : NULL;

    json_decref(doc);
    return text;
}

static int
remove_edges(struct db *db, struct deps_tx *tx, const char *job_id, const char *job_name)
{
    const struct job_deps_change *c = tx->change;

    for (size_t i = 0; i < c->nremove; i++) {
        const struct job_dep *d = &c->remove[i];
        char id[24], words[200];
        PGresult *res;
        int gone;

        snprintf(id, sizeof(id), "%lld", (long long)d->upstream_id);
        res = db_query(db, SQL_REMOVE, DB_PARAMS(job_id, id, d->upstream));
        if (res == NULL) {
            deps_db_fail(db, tx->err);
            return -1;
        }
        gone = PQntuples(res);
        PQclear(res);
        if (gone == 0) {
            dep_words(d, words, sizeof(words));
            job_store_fail(tx->err, JOB_STORE_NOT_FOUND, "upstream", "job '%s' does not run after %s",
                      job_name, words);
            return -1;
        }
    }
    return 0;
}

/* -1 with err filled when the edge up -> job would close a cycle. */
static int
cycle_check(struct db *db, struct deps_tx *tx, const char *job_id, const char *up)
{
    PGresult *res = db_query(db, SQL_CYCLE, DB_PARAMS(job_id, up));
    int rc = -1;

    if (res == NULL)
        deps_db_fail(db, tx->err);
    else if (!PQgetisnull(res, 0, 0))
        job_store_fail(tx->err, JOB_STORE_CONFLICT, "upstream", "dependency would make a cycle: %s",
                  PQgetvalue(res, 0, 0));
    else
        rc = 0;
    PQclear(res);
    return rc;
}

/* Adds the edges; ids receives the upstream jobs' ids (for replace). */
static int
add_edges(struct db *db, struct deps_tx *tx, int64_t self, const char *job_id,
          const char *job_name, int64_t *ids)
{
    const struct job_deps_change *c = tx->change;

    for (size_t i = 0; i < c->nadd; i++) {
        const struct job_dep *d = &c->add[i];
        const char *condition = condition_of(d->condition);
        char up[24], words[200];

        if (condition == NULL) {
            job_store_fail(tx->err, JOB_STORE_INVALID, "condition",
                      "bad condition '%.20s': use success, failure or always", d->condition);
            return -1;
        }
        if ((ids[i] = find_upstream(db, tx, d, self, job_name)) == 0)
            return -1;
        for (size_t k = 0; k < i; k++) {
            if (ids[k] == ids[i]) {
                dep_words(d, words, sizeof(words));
                job_store_fail(tx->err, JOB_STORE_INVALID, "upstream", "%s is given twice", words);
                return -1;
            }
        }
        snprintf(up, sizeof(up), "%lld", (long long)ids[i]);
        if (cycle_check(db, tx, job_id, up) < 0)
            return -1;
        if (db_exec(db, SQL_ADD, DB_PARAMS(job_id, up, condition)) < 0) {
            deps_db_fail(db, tx->err);
            return -1;
        }
    }
    return 0;
}

/* Replace: the visible upstream jobs not named in ids[0..n) go. */
static int
remove_others(struct db *db, struct deps_tx *tx, const char *job_id, const int64_t *ids,
              size_t n)
{
    struct strbuf arr = STRBUF_INIT;
    char viewer[24];
    int rc = -1;

    strbuf_puts(&arr, "{");
    for (size_t i = 0; i < n; i++)
        strbuf_printf(&arr, "%s%lld", i == 0 ? "" : ",", (long long)ids[i]);
    strbuf_puts(&arr, "}");
    snprintf(viewer, sizeof(viewer), "%lld", (long long)tx->change->viewer_id);
    if (strbuf_failed(&arr)) {
        job_store_fail(tx->err, JOB_STORE_FAILED, NULL, "out of memory");
        goto out;
    }
    if (db_exec(db, SQL_REMOVE_OTHERS,
                DB_PARAMS(job_id, strbuf_str(&arr), tx->change->viewer_id > 0 ? viewer : NULL)) <
        0) {
        deps_db_fail(db, tx->err);
        goto out;
    }
    rc = 0;
out:
    strbuf_reset(&arr);
    return rc;
}

static int
change_body(struct db *db, void *arg)
{
    struct deps_tx *tx = arg;
    const struct job_deps_change *c = tx->change;
    PGresult *job = NULL;
    char *before = NULL, *after = NULL, *img_before = NULL, *img_after = NULL;
    int64_t *ids = NULL;
    const char *id, *name;
    int rc = -1;

    tx->changed = 0;
    if ((job = read_job(db, tx->ref, tx->err)) == NULL)
        goto out;
    id = PQgetvalue(job, 0, JOB_ID);
    name = PQgetvalue(job, 0, JOB_NAME);
    if ((ids = calloc(c->nadd + 1, sizeof(*ids))) == NULL) {
        job_store_fail(tx->err, JOB_STORE_FAILED, NULL, "out of memory");
        goto out;
    }
    if ((before = upstreams_json(db, id, tx->err)) == NULL ||
        remove_edges(db, tx, id, name) < 0 ||
        add_edges(db, tx, db_get_int64(job, 0, JOB_ID, 0), id, name, ids) < 0 ||
        (c->replace && remove_others(db, tx, id, ids, c->nadd) < 0) ||
        (after = upstreams_json(db, id, tx->err)) == NULL)
        goto out;
    if (strcmp(before, after) != 0) {
        if ((img_before = audit_image(name, before)) == NULL ||
            (img_after = audit_image(name, after)) == NULL) {
            job_store_fail(tx->err, JOB_STORE_FAILED, NULL, "out of memory");
            goto out;
        }
        if (audit_write(db, tx->actor, "job.dependencies", "job", id,
                        db_get_int64(job, 0, JOB_DEPARTMENT, 0), img_before, img_after) < 0) {
            deps_db_fail(db, tx->err);
            goto out;
        }
        tx->changed = 1;
    }
    rc = 0;
out:
    free(img_before);
    free(img_after);
    free(before);
    free(after);
    free(ids);
    PQclear(job);
    return rc;
}

int
job_deps_change(struct db *db, const struct audit_actor *actor, const struct job_ref *job,
                const struct job_deps_change *change, int *changed, struct job_store_error *err)
{
    struct deps_tx tx = { actor, job, change, err, 0 };

    memset(err, 0, sizeof(*err));
    err->pos = -1;
    *changed = 0;
    if (change->nadd > JOB_DEPS_MAX || change->nremove > JOB_DEPS_MAX) {
        job_store_fail(err, JOB_STORE_INVALID, "upstream", "at most %d upstream jobs at once",
                  JOB_DEPS_MAX);
        return -1;
    }
    if (db_transaction(db, change_body, &tx) < 0) {
        /* A body that failed has said why; a failed commit has not. */
        if (err->code == JOB_STORE_OK)
            deps_db_fail(db, err);
        return -1;
    }
    *changed = tx.changed;
    return 0;
}

PGresult *
job_deps_list(struct db *db, int64_t job_id, int64_t viewer_id)
{
    char id[24], viewer[24];

    snprintf(id, sizeof(id), "%lld", (long long)job_id);
    snprintf(viewer, sizeof(viewer), "%lld", (long long)viewer_id);
    return db_query(db, SQL_LIST, DB_PARAMS(id, viewer_id > 0 ? viewer : NULL));
}

PGresult *
job_deps_graph(struct db *db, int64_t job_id, int64_t viewer_id, PGresult **edges)
{
    struct strbuf ids = STRBUF_INIT;
    char id[24], viewer[24], limit[16];
    PGresult *nodes;

    *edges = NULL;
    snprintf(id, sizeof(id), "%lld", (long long)job_id);
    snprintf(viewer, sizeof(viewer), "%lld", (long long)viewer_id);
    snprintf(limit, sizeof(limit), "%d", JOB_DEPS_GRAPH_MAX + 1);
    nodes = db_query(db, SQL_GRAPH_NODES, DB_PARAMS(id, viewer_id > 0 ? viewer : NULL, limit));
    if (nodes == NULL)
        return NULL;
    /* The extra node (there are more) is the last found: not in the edges. */
    strbuf_puts(&ids, "{");
    for (int i = 0; i < PQntuples(nodes) && i < JOB_DEPS_GRAPH_MAX; i++)
        strbuf_printf(&ids, "%s%s", i == 0 ? "" : ",", PQgetvalue(nodes, i, 0));
    strbuf_puts(&ids, "}");
    if (strbuf_failed(&ids) ||
        (*edges = db_query(db, SQL_GRAPH_EDGES, DB_PARAMS(strbuf_str(&ids)))) == NULL) {
        PQclear(nodes);
        nodes = NULL;
    }
    strbuf_reset(&ids);
    return nodes;
}
