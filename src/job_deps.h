/* job_deps.h - job dependencies (workflows) for the command line and the API.
 *
 * Which jobs a job runs after: changed in one transaction with its
 * audit_log row, listed for `job show` and the API, and the graph of the
 * jobs connected to a job for the workflow page.  The database does the
 * rest (0008_dependencies.sql): it refuses cycles and shard rows, and
 * makes a downstream job due when the runs of its upstream jobs end.
 *
 * Glossary: an *edge* says that its downstream job runs after its upstream
 * job, on a *condition*: success, failure or always.  A job's *upstream
 * jobs* are those it runs after; its *downstream jobs* run after it.
 */
#ifndef TC_JOB_DEPS_H
#define TC_JOB_DEPS_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#include "audit.h"
#include "common.h"
#include "db.h"
#include "job_store.h"

/* Upstream jobs one change may name, and the jobs a graph shows. */
#define JOB_DEPS_MAX 100
#define JOB_DEPS_GRAPH_MAX 200

/* The SQLSTATE of a refused cycle (job_dependencies_check). */
#define JOB_DEPS_CYCLE_SQLSTATE "23T01"

/* An upstream job as a caller names it. */
struct job_dep {
    int64_t upstream_id;   /* > 0: the upstream job by id ... */
    const char *upstream;  /* ... else by name (borrowed) */
    const char *condition; /* borrowed; "success", "failure" or "always"; NULL: success */
};

struct job_deps_change {
    const struct job_dep *add;    /* borrowed: edges made, or given this condition */
    size_t nadd;
    const struct job_dep *remove; /* borrowed: edges taken away (conditions unused) */
    size_t nremove;
    int replace;       /* the upstream jobs become exactly add[], but for those the
                        * caller cannot see (viewer_id), which stay as they are */
    int64_t viewer_id; /* > 0: an upstream job to add must be in a department of this
                        * user (any role), else it is "not found"; 0: no limit */
};

/*
 * "JOB", "JOB:success", "JOB:failure" or "JOB:always" (the command line's
 * --after): the name into name (NUL-terminated, size bytes) and the
 * condition (a static string; "success" when none is given).  A name may
 * hold ':' itself, so only a known condition after the last one counts as
 * the condition.  -1 when the name is empty or too long.
 */
int job_deps_parse(const char *text, char *name, size_t size, const char **condition)
    TC_MUST_CHECK;

/*
 * Apply change to the upstream jobs of job (a job, never a shard row):
 * NOT_FOUND for an unknown job or upstream job (or an edge to remove that
 * is not there), INVALID for a bad condition, the job itself or a shard
 * row (field "upstream" or "condition"), CONFLICT with the database's
 * words for a cycle ("dependency would make a cycle: a -> b -> a").
 * *changed is 0 when nothing had to change (then no audit row either).
 */
int job_deps_change(struct db *db, const struct audit_actor *actor, const struct job_ref *job,
                    const struct job_deps_change *change, int *changed,
                    struct job_store_error *err) TC_MUST_CHECK;

/*
 * The edges of a job in both directions, upstream ones first, each: the
 * direction ("upstream" or "downstream"), the other job's id, name,
 * department_id and department, the condition, created_at, the other job's
 * status and its latest execution (last_execution_id, last_status,
 * last_scheduled_for, last_finished_at).  With viewer_id > 0 a job outside
 * that user's departments shows only its id and hidden = true.  NULL on a
 * database error; the caller PQclears.
 */
PGresult *job_deps_list(struct db *db, int64_t job_id, int64_t viewer_id) TC_MUST_CHECK;

/*
 * The workflow graph around a job: every job connected to it through
 * edges in either direction, nearest first (the job itself first), at most
 * JOB_DEPS_GRAPH_MAX + 1 (the extra one, last, only says there are more),
 * each with the columns of job_deps_list (less direction, condition and
 * created_at) plus focus (the job asked about).  *edges gets the edges
 * between the first JOB_DEPS_GRAPH_MAX of them (upstream_id, downstream_id,
 * condition).  NULL on a database error; the caller PQclears both.
 */
PGresult *job_deps_graph(struct db *db, int64_t job_id, int64_t viewer_id, PGresult **edges)
    TC_MUST_CHECK;

#endif
