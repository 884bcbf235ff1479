/* cli_job_deps.c - `job add|edit --after/--not-after` and what `job show`
 * prints of a job's dependencies.
 *
 * A thin layer over job_deps.c, which checks, applies and audits: the
 * options become a struct job_deps_change, its errors an error line and
 * the command's exit code (2 bad input, 1 not found or a cycle).
 */
#include <autoconfig.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_job_deps.h"
#include "job_deps.h"

/* Longer than any job name (128 characters): a longer one is refused. */
#define NAME_BUF 200

/* The options as a change: names parsed into buffers of their own. */
struct deps_args {
    struct job_dep *add, *remove; /* owned */
    char (*names)[NAME_BUF];      /* owned: add's names, then remove's */
    struct job_deps_change change;
};

static void
deps_args_free(struct deps_args *a)
{
    free(a->add);
    free(a->remove);
    free(a->names);
    memset(a, 0, sizeof(*a));
}

/* The lists into a; -1 after an error line. */
static int
deps_args_parse(const char *cmd, const struct cli_list *lists, struct deps_args *a)
{
    const struct cli_list *after = &lists[0], *not_after = &lists[1];
    size_t n = after->n + not_after->n;

    memset(a, 0, sizeof(a[0]));
    if (n > JOB_DEPS_MAX) {
        cli_error("%s: at most %d of --after and --not-after", cmd, JOB_DEPS_MAX);
        return -1;
    }
    a->add = calloc(after->n + 1, sizeof(*a->add));
    a->remove = calloc(not_after->n + 1, sizeof(*a->remove));
    a->names = calloc(n + 1, sizeof(*a->names));
    if (a->add == NULL || a->remove == NULL || a->names == NULL) {
        cli_error("out of memory");
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        const struct cli_list *l = i < after->n ? after : not_after;
        const char *text = l->items[i < after->n ? i : i - after->n], *cond;
        struct job_dep *d = i < after->n ? &a->add[i] : &a->remove[i - after->n];

        if (job_deps_parse(text, a->names[i], NAME_BUF, &cond) < 0) {
            cli_error("bad %s '%.60s': use JOB or JOB:success, JOB:failure, JOB:always", l->name,
                      text);
            return -1;
        }
        d->upstream = a->names[i];
        d->condition = cond;
    }
    a->change.add = a->add;
    a->change.nadd = after->n;
    a->change.remove = a->remove;
    a->change.nremove = not_after->n;
    return 0;
}

/* A store error as an error line (with a hint for a name with a ':') and
 * the exit code. */
static int
deps_fail(const char *cmd, const struct job_store_error *err)
{
    const char *hint = "";

    if (err->code == JOB_STORE_NOT_FOUND && strchr(err->msg, ':') != NULL)
        hint = " (after ':' comes success, failure or always)";
    cli_error("%s: %s%s", cmd, err->msg, hint);
    return err->code == JOB_STORE_INVALID ? CLI_EXIT_USAGE : CLI_EXIT_FAILED;
}

void
cli_job_deps_lists_init(struct cli_list *lists)
{
    memset(lists, 0, CLI_JOB_DEPS_LISTS * sizeof(*lists));
    lists[0].name = "--after";
    lists[1].name = "--not-after";
}

int
cli_job_deps_given(const struct cli_list *lists)
{
    return lists[0].n > 0 || lists[1].n > 0;
}

int
cli_job_deps_check(struct db *db, const char *cmd, const char *job, const struct cli_list *lists)
{
    struct deps_args a;
    PGresult *res = NULL;
    int rc = CLI_EXIT_USAGE;

    if (lists[1].n > 0) {
        cli_error("%s: --not-after is for 'job edit' (a new job runs after nothing yet)", cmd);
        return CLI_EXIT_USAGE;
    }
    if (deps_args_parse(cmd, lists, &a) < 0)
        goto out;
    for (size_t i = 0; i < a.change.nadd; i++) {
        const char *name = a.add[i].upstream;

        if (strcmp(name, job) == 0) {
            cli_error("%s: job '%s' cannot run after itself", cmd, job);
            goto out;
        }
        PQclear(res);
        res = db_query(db, "SELECT shard_of IS NOT NULL FROM jobs WHERE name = $1",
                       DB_PARAMS(name));
        if (res == NULL) {
            cli_db_error(db);
            rc = CLI_EXIT_FAILED;
            goto out;
        }
        if (PQntuples(res) == 0) {
            cli_error("%s: no job named '%s'%s", cmd, name,
                      strchr(name, ':') != NULL ? " (after ':' comes success, failure or always)"
                                                : "");
            rc = CLI_EXIT_FAILED;
            goto out;
        }
        if (db_get_bool(res, 0, 0)) {
            cli_error("%s: '%s' is a shard row: name its job instead", cmd, name);
            goto out;
        }
    }
    rc = 0;
out:
    PQclear(res);
    deps_args_free(&a);
    return rc;
}

int
cli_job_deps_apply(struct db *db, const struct audit_actor *actor, const char *cmd,
                   const char *job, const struct cli_list *lists, int *changed)
{
    struct job_ref ref = { 0, job, 0 };
    struct job_store_error err;
    struct deps_args a;
    int rc = CLI_EXIT_USAGE;

    *changed = 0;
    if (deps_args_parse(cmd, lists, &a) < 0)
        goto out;
    if (job_deps_change(db, actor, &ref, &a.change, changed, &err) < 0) {
        rc = deps_fail(cmd, &err);
        goto out;
    }
    rc = 0;
out:
    deps_args_free(&a);
    return rc;
}

/* The edges of one direction as a table; "none" when there are none. */
static int
show_direction(const PGresult *res, const char *dir, const char *title)
{
    static const char *const headers[] = { "JOB", "CONDITION", "STATUS", "LAST",
                                           "LAST_FIRE_TIME" };
    struct cli_table *t = cli_table_new(TC_ARRAY_LEN(headers), headers);
    char hidden[40];
    int n = 0, rc = -1;

    if (t == NULL)
        goto out;
    for (int r = 0; r < PQntuples(res); r++) {
        const char *name = cli_field(res, r, "name");

        if (strcmp(PQgetvalue(res, r, 0), dir) != 0)
            continue;
        snprintf(hidden, sizeof(hidden), "#%s", cli_field(res, r, "id"));
        const char *cells[] = { name != NULL ? name : hidden, cli_field(res, r, "condition"),
                                cli_field(res, r, "status"), cli_field(res, r, "last_status"),
                                cli_field(res, r, "last_scheduled_for") };
        if (cli_table_add(t, cells) < 0)
            goto out;
        n++;
    }
    printf("%s\n", title);
    if (n == 0)
        printf("  none\n");
    else if (cli_table_print(t, stdout) < 0)
        goto out;
    rc = 0;
out:
    cli_table_free(t);
    return rc;
}

/* The rows of one direction as a JSON array in doc[key]. */
static int
json_direction(const PGresult *res, const char *dir, json_t *doc, const char *key)
{
    json_t *arr = json_array(), *row;

    if (arr == NULL || json_object_set_new(doc, key, arr) < 0)
        return -1;
    for (int r = 0; r < PQntuples(res); r++) {
        if (strcmp(PQgetvalue(res, r, 0), dir) != 0)
            continue;
        if ((row = cli_json_row(res, r)) == NULL || json_object_del(row, "direction") < 0 ||
            json_array_append_new(arr, row) < 0)
            return -1;
    }
    return 0;
}

int
cli_job_deps_show(struct db *db, int64_t job_id, json_t *doc)
{
    PGresult *res = job_deps_list(db, job_id, 0);
    int rc = -1;

    if (res == NULL) {
        cli_db_error(db);
        return -1;
    }
    if (doc != NULL)
        rc = json_direction(res, "upstream", doc, "upstreams") < 0 ||
                     json_direction(res, "downstream", doc, "downstreams") < 0
                 ? -1
                 : 0;
    else if (PQntuples(res) == 0)
        rc = printf("dependencies: none\n") < 0 ? -1 : 0;
    else
        rc = show_direction(res, "upstream", "runs after (upstream jobs):") < 0 ||
                     show_direction(res, "downstream", "runs before (downstream jobs):") < 0
                 ? -1
                 : 0;
    if (rc < 0 && doc != NULL)
        cli_error("out of memory");
    PQclear(res);
    return rc;
}
