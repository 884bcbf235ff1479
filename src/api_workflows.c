/* api_workflows.c - /api/v1/jobs/{id}/dependencies and /jobs/{id}/workflow.
 *
 * A job's dependencies are its upstream jobs: the jobs whose runs make it
 * due when they end (0008_dependencies.sql).  Reading them, and the
 * workflow graph around a job, needs the viewer role in the job's
 * department; changing them needs the manager role there (the route table
 * checks both) and, for an upstream job being added, at least the viewer
 * role in that job's department: one outside the caller's departments is
 * "not found", as everywhere.  The graph shows such jobs as their id
 * only, so that it stays whole.  Changes go through job_deps (the checks,
 * the audit row); a cycle is refused by the database and answered 409
 * with the cycle named.
 *
 * Glossary: an *edge row* is one upstream or downstream job of a job as
 * JSON: the other job's id, name, department, status and latest execution,
 * the condition and when the edge was made.
 */
#include <autoconfig.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_jobs.h"
#include "api_workflows.h"
#include "job_deps.h"
#include "pgjson.h"

/* The viewer whose departments limit what is shown (0: an administrator). */
static int64_t
viewer_of(const struct api_call *call)
{
    return call->user.is_admin ? 0 : call->user.id;
}

/* The edge rows of res whose direction is dir, as an array (new
 * reference; NULL on OOM). */
static json_t *
edge_rows(const PGresult *res, const char *dir)
{
    json_t *arr = json_array(), *row;

    if (arr == NULL)
        return NULL;
    for (int i = 0; i < PQntuples(res); i++) {
        if (strcmp(PQgetvalue(res, i, 0), dir) != 0)
            continue;
        if ((row = pgjson_row(res, i)) == NULL || json_object_del(row, "direction") < 0 ||
            json_array_append_new(arr, row) < 0) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

/* Answer status with {job: {id, name}, upstreams: [...], downstreams: [...]}. */
static void
reply_deps(struct api_call *call, int status)
{
    char id[24];
    PGresult *res = NULL, *job = NULL;
    json_t *doc;

    snprintf(id, sizeof(id), "%lld", (long long)call->id);
    if ((job = db_query(call->db, "SELECT id, name FROM jobs WHERE id = $1::bigint",
                        DB_PARAMS(id))) == NULL ||
        (res = job_deps_list(call->db, call->id, viewer_of(call))) == NULL) {
        api_db_error(call);
        goto out;
    }
    if (PQntuples(job) == 0) {
        api_error(call, 404, "not_found", NULL, "no job %s", id);
        goto out;
    }
    doc = json_pack("{s:o, s:o, s:o}", "job", pgjson_row(job, 0), "upstreams",
                    edge_rows(res, "upstream"), "downstreams", edge_rows(res, "downstream"));
    if (doc == NULL) {
        api_error(call, 500, "internal", NULL, "out of memory");
        goto out;
    }
    api_reply(call, status, doc);
out:
    PQclear(res);
    PQclear(job);
}

/* An upstream job named in a body: a positive id or a name.  -1 after
 * answering 400 naming field. */
static int
read_upstream(struct api_call *call, const json_t *value, const char *field, struct job_dep *d)
{
    if (json_is_integer(value) && json_integer_value(value) > 0) {
        d->upstream_id = json_integer_value(value);
        return 0;
    }
    if (json_is_string(value) && json_string_length(value) > 0) {
        d->upstream = json_string_value(value);
        return 0;
    }
    api_error(call, 400,
              json_is_integer(value) || json_is_string(value) ? "invalid" : "wrong_type", field,
              "%s must be a job's id (a positive integer) or its name", field);
    return -1;
}

/* Apply one change and answer with the job's dependencies. */
static void
change(struct api_call *call, const struct job_deps_change *c, int status)
{
    struct job_ref ref = { call->id, NULL, call->department_id };
    struct job_store_error err;
    struct audit_actor actor;
    char who[100];
    int changed;

    api_actor(call, &actor, who, sizeof(who));
    if (job_deps_change(call->db, &actor, &ref, c, &changed, &err) < 0) {
        api_job_store_error(call, &err);
        return;
    }
    if (status != 204)
        reply_deps(call, status);
    else
        api_reply(call, 204, NULL);
}

void
api_job_deps_get(struct api_call *call)
{
    reply_deps(call, 200);
}

static const struct api_field add_fields[] = {
    { "upstream", API_ANY, 1, 0 }, /* an id or a name: read_upstream */
    { "condition", API_STRING, 0, 0 },
};

void
api_job_deps_add(struct api_call *call)
{
    json_t *body = api_read_body(call, add_fields, TC_ARRAY_LEN(add_fields));
    struct job_deps_change c;
    struct job_dep d;

    if (body == NULL)
        return;
    memset(&c, 0, sizeof(c));
    memset(&d, 0, sizeof(d));
    if (read_upstream(call, json_object_get(body, "upstream"), "upstream", &d) < 0)
        goto out;
    d.condition = json_string_value(json_object_get(body, "condition"));
    c.add = &d;
    c.nadd = 1;
    c.viewer_id = viewer_of(call);
    change(call, &c, 200);
out:
    json_decref(body);
}

static const struct api_field replace_fields[] = {
    { "upstreams", API_ARRAY, 1, 0 }, /* [{"job": id or name, "condition": ...}] */
};

void
api_job_deps_replace(struct api_call *call)
{
    json_t *body = api_read_body(call, replace_fields, TC_ARRAY_LEN(replace_fields)), *list, *item;
    struct job_deps_change c;
    struct job_dep *deps = NULL;
    size_t i, n;

    if (body == NULL)
        return;
    memset(&c, 0, sizeof(c));
    list = json_object_get(body, "upstreams");
    n = json_array_size(list);
    if (n > JOB_DEPS_MAX) {
        api_error(call, 400, "invalid", "upstreams", "at most %d upstream jobs", JOB_DEPS_MAX);
        goto out;
    }
    if ((deps = calloc(n + 1, sizeof(*deps))) == NULL) {
        api_error(call, 500, "internal", NULL, "out of memory");
        goto out;
    }
    json_array_foreach(list, i, item) {
        const char *key;
        json_t *v;
        char field[48];

        snprintf(field, sizeof(field), "upstreams[%zu]", i);
        if (!json_is_object(item)) {
            api_error(call, 400, "wrong_type", "upstreams",
                      "%s must be an object {\"job\": id or name, \"condition\": ...}", field);
            goto out;
        }
        json_object_foreach(item, key, v) {
            if (strcmp(key, "job") != 0 && strcmp(key, "condition") != 0) {
                api_error(call, 400, "unknown_field", "upstreams", "unknown field '%.60s' in %s",
                          key, field);
                goto out;
            }
        }
        snprintf(field, sizeof(field), "upstreams[%zu].job", i);
        if ((v = json_object_get(item, "job")) == NULL) {
            api_error(call, 400, "missing_field", "upstreams", "%s is required", field);
            goto out;
        }
        if (read_upstream(call, v, field, &deps[i]) < 0)
            goto out;
        if ((v = json_object_get(item, "condition")) != NULL && !json_is_string(v)) {
            api_error(call, 400, "wrong_type", "upstreams",
                      "upstreams[%zu].condition must be a string", i);
            goto out;
        }
        deps[i].condition = json_string_value(v);
    }
    c.add = deps;
    c.nadd = n;
    c.replace = 1;
    c.viewer_id = viewer_of(call);
    change(call, &c, 200);
out:
    free(deps);
    json_decref(body);
}

void
api_job_deps_remove(struct api_call *call)
{
    struct job_deps_change c;
    struct job_dep d;
    const char *arg = call->arg;
    size_t digits = strspn(arg, "0123456789");

    memset(&c, 0, sizeof(c));
    memset(&d, 0, sizeof(d));
    /* The upstream job by id when the segment is a number, else by name. */
    if (digits > 0 && arg[digits] == '\0') {
        if (digits > 18 || (d.upstream_id = strtoll(arg, NULL, 10)) <= 0) {
            api_error(call, 404, "not_found", "upstream", "no job %.40s", arg);
            return;
        }
    } else {
        d.upstream = arg;
    }
    c.remove = &d;
    c.nremove = 1;
    change(call, &c, 204);
}

void
api_job_workflow(struct api_call *call)
{
    PGresult *nodes = NULL, *edges = NULL;
    json_t *doc, *arr;
    int n;

    if ((nodes = job_deps_graph(call->db, call->id, viewer_of(call), &edges)) == NULL) {
        api_db_error(call);
        goto out;
    }
    n = PQntuples(nodes);
    if ((arr = pgjson_rows(nodes)) != NULL && n > JOB_DEPS_GRAPH_MAX) {
        /* The extra node only says there are more: leave it, and its edges. */
        json_array_remove(arr, (size_t)n - 1);
    }
    doc = json_pack("{s:I, s:o, s:o, s:b}", "job", (json_int_t)call->id, "nodes", arr, "edges",
                    pgjson_rows(edges), "truncated", n > JOB_DEPS_GRAPH_MAX);
    if (doc == NULL) {
        api_error(call, 500, "internal", NULL, "out of memory");
        goto out;
    }
    api_reply(call, 200, doc);
out:
    PQclear(nodes);
    PQclear(edges);
}
