/* cli_history.c - `tablecron history`, `tablecron history show ID` and
 * `tablecron history prune`.
 *
 * The listings are read-only: the executions table is written by the
 * schedulers, and shrunk only by pruning (retention.c), which serve also
 * does by itself.  Times are the database's, shown in UTC; a running
 * execution's duration is how long it has run so far.
 */
#include <autoconfig.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli_common.h"
#include "cli_history.h"
#include "job_query.h"
#include "retention.h"

#define HISTORY_LIMIT_DEFAULT 20
#define HISTORY_LIMIT_MAX 100000

static const char SQL_JOB_ID[] = "SELECT id FROM jobs WHERE name = $1";

static void
history_usage(FILE *out)
{
    fprintf(out,
            "usage: tablecron history [--job NAME] [--status STATUS] [--limit N] [--json]\n"
            "       tablecron history show ID [--json]\n"
            "       tablecron history prune\n"
            "\n"
            "List executions, newest first: id, job, fire time, attempt, instance,\n"
            "status, exit code, duration and error (first line).  'show' prints one\n"
            "execution with all its fields and its whole captured output.  'prune'\n"
            "deletes the executions that history_keep_days and history_keep_per_job\n"
            "no longer keep, now (serve does it every history_prune_interval); it\n"
            "waits if another instance is pruning.\n"
            "\n"
            "  --job NAME       only this job's executions\n"
            "  --status STATUS  running, succeeded, failed, timed_out, killed or abandoned\n"
            "  --limit N        at most N executions (default %d)\n"
            "  --json           one JSON document on stdout instead of a table\n"
            "\n"
            "Times are UTC (2026-03-08T03:00:00Z).  Exit status: 0 ok, 1 not found or\n"
            "database error, 2 bad usage.\n",
            HISTORY_LIMIT_DEFAULT);
}

/* The list on stdout, for cli_output(). */
static int
history_print_list(const PGresult *res)
{
    return cli_history_print(res, stdout);
}

int
cli_history_print(const PGresult *res, FILE *out)
{
    static const char *const headers[] = { "ID",     "JOB",  "SCHEDULED_FOR", "ATTEMPT",
                                           "INSTANCE", "STATUS", "EXIT", "DURATION", "ERROR" };
    struct cli_table *t = cli_table_new(TC_ARRAY_LEN(headers), headers);
    int rc = -1;

    if (t == NULL)
        return -1;
    for (int r = 0; r < PQntuples(res); r++) {
        const char *duration = cli_field(res, r, "duration_ms");
        char took[32] = "-";
        if (duration != NULL)
            cli_format_ms(strtoll(duration, NULL, 10), took, sizeof(took));
        const char *cells[] = {
            cli_field(res, r, "id"),       cli_field(res, r, "job"),
            cli_field(res, r, "scheduled_for"), cli_field(res, r, "attempt"),
            cli_field(res, r, "instance_id"), cli_field(res, r, "status"),
            cli_field(res, r, "exit_code"), took,
            cli_field(res, r, "error"),
        };
        if (cli_table_add(t, cells) < 0)
            goto out;
    }
    rc = cli_table_print(t, out);
out:
    cli_table_free(t);
    return rc;
}

/* N from 1 to max, or -1. */
static long
parse_count(const char *text, long max)
{
    char *end;
    long n;

    errno = 0;
    n = strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || n < 1 || n > max)
        return -1;
    return n;
}

static int
history_list(struct config *cfg, int argc, char **argv)
{
    const char *job = NULL, *status = NULL, *limit_text = NULL;
    int json = 0, nargs = 0, rc = CLI_EXIT_FAILED;
    const struct cli_opt opts[] = {
        { "--job", &job, NULL },
        { "--status", &status, NULL },
        { "--limit", &limit_text, NULL },
        { "--json", NULL, &json },
    };
    struct exec_filter f;
    struct db *db = NULL;
    PGresult *res = NULL;
    long limit;

    switch (cli_parse("history", argc, argv, 1, opts, TC_ARRAY_LEN(opts), NULL, 0, &nargs)) {
    case 1:
        history_usage(stdout);
        return CLI_EXIT_OK;
    case -1:
        return CLI_EXIT_USAGE;
    }
    exec_filter_init(&f, HISTORY_LIMIT_DEFAULT);
    if (status != NULL) {
        if (!job_query_is_exec_status(status)) {
            cli_error("history: bad --status '%s': use running, succeeded, failed, timed_out,"
                      " killed or abandoned", status);
            return CLI_EXIT_USAGE;
        }
        f.status = status;
    }
    if (limit_text != NULL) {
        if ((limit = parse_count(limit_text, HISTORY_LIMIT_MAX)) < 0) {
            cli_error("history: bad --limit '%s': a number from 1 to %d", limit_text,
                      HISTORY_LIMIT_MAX);
            return CLI_EXIT_USAGE;
        }
        f.limit = (int)limit;
    }
    if ((db = cli_connect(cfg)) == NULL)
        goto out;
    if (job != NULL) {
        if ((res = db_query(db, SQL_JOB_ID, DB_PARAMS(job))) == NULL) {
            cli_db_error(db);
            goto out;
        }
        if (PQntuples(res) == 0) {
            cli_error("no job named '%s'", job);
            goto out;
        }
        f.job_id = db_get_int64(res, 0, 0, 0);
        PQclear(res);
    }
    if ((res = job_query_executions(db, &f)) == NULL) {
        cli_db_error(db);
        goto out;
    }
    if (cli_output(res, json, 0, history_print_list) < 0)
        goto out;
    rc = CLI_EXIT_OK;
out:
    PQclear(res);
    db_free(db);
    return rc;
}

/* Every field but the output as "name: value", then the output verbatim. */
static int
history_print_one(const PGresult *res)
{
    int width = 0;

    for (int c = 0; c < PQnfields(res); c++) {
        int len = (int)strlen(PQfname(res, c));
        if (len > width)
            width = len;
    }
    for (int c = 0; c < PQnfields(res); c++) {
        const char *name = PQfname(res, c);
        const char *value = PQgetisnull(res, 0, c) ? "-" : PQgetvalue(res, 0, c);
        char label[64], took[32];

        if (strcmp(name, "output") == 0 || name[0] == '_')
            continue;
        snprintf(label, sizeof(label), "%s:", name);
        if (strcmp(name, "duration_ms") == 0 && !PQgetisnull(res, 0, c)) {
            cli_format_ms(strtoll(value, NULL, 10), took, sizeof(took));
            snprintf(label, sizeof(label), "duration:");
            value = took;
        }
        printf("%-*s %s\n", width + 1, label, value);
    }
    {
        const char *output = cli_field(res, 0, "output");
        size_t len = output != NULL ? strlen(output) : 0;
        printf("output:\n");
        if (len > 0) {
            fputs(output, stdout);
            if (output[len - 1] != '\n')
                fputc('\n', stdout);
        }
    }
    return ferror(stdout) ? -1 : 0;
}

static int
history_show(struct config *cfg, int argc, char **argv)
{
    const char *args[1];
    int json = 0, nargs = 0, rc = CLI_EXIT_FAILED;
    const struct cli_opt opts[] = { { "--json", NULL, &json } };
    struct db *db = NULL;
    PGresult *res = NULL;
    char *end;
    long long id;

    switch (cli_parse("history show", argc, argv, 2, opts, TC_ARRAY_LEN(opts), args, 1, &nargs)) {
    case 1:
        history_usage(stdout);
        return CLI_EXIT_OK;
    case -1:
        return CLI_EXIT_USAGE;
    }
    if (nargs != 1) {
        cli_error("history show: which execution? (usage: tablecron history show ID)");
        return CLI_EXIT_USAGE;
    }
    errno = 0;
    id = strtoll(args[0], &end, 10);
    if (errno != 0 || end == args[0] || *end != '\0' || id < 1) {
        cli_error("history show: bad execution id '%s': a positive number", args[0]);
        return CLI_EXIT_USAGE;
    }
    if ((db = cli_connect(cfg)) == NULL)
        goto out;
    if ((res = job_query_execution(db, id)) == NULL) {
        cli_db_error(db);
        goto out;
    }
    if (PQntuples(res) == 0) {
        cli_error("no execution with id %lld", id);
        goto out;
    }
    if (cli_output(res, json, 1, history_print_one) < 0)
        goto out;
    rc = CLI_EXIT_OK;
out:
    PQclear(res);
    db_free(db);
    return rc;
}

static int
history_prune(struct config *cfg, int argc, char **argv)
{
    const struct retention_limits limits = { cfg->history_keep_days, cfg->history_keep_per_job };
    struct retention_counts counts;
    struct db *db = NULL;
    int nargs = 0, rc = CLI_EXIT_FAILED;

    switch (cli_parse("history prune", argc, argv, 2, NULL, 0, NULL, 0, &nargs)) {
    case 1:
        history_usage(stdout);
        return CLI_EXIT_OK;
    case -1:
        return CLI_EXIT_USAGE;
    }
    if (limits.keep_days <= 0 && limits.keep_per_job <= 0) {
        printf("nothing to prune: history_keep_days and history_keep_per_job are both 0\n");
        return CLI_EXIT_OK;
    }
    if ((db = cli_connect(cfg)) == NULL)
        goto out;
    if (retention_prune(db, &limits, 1, &counts) != 0) {
        cli_db_error(db);
        goto out;
    }
    if (counts.by_age + counts.by_count == 0) {
        printf("deleted nothing: no execution");
        if (limits.keep_days > 0)
            printf(" ended more than %d days ago", limits.keep_days);
        if (limits.keep_days > 0 && limits.keep_per_job > 0)
            printf(" or");
        if (limits.keep_per_job > 0)
            printf(" is beyond the newest %d of its job", limits.keep_per_job);
        printf("\n");
    } else {
        printf("deleted %lld executions:", (long long)(counts.by_age + counts.by_count));
        if (limits.keep_days > 0)
            printf(" %lld that ended more than %d days ago", (long long)counts.by_age,
                   limits.keep_days);
        if (limits.keep_days > 0 && limits.keep_per_job > 0)
            printf(",");
        if (limits.keep_per_job > 0)
            printf(" %lld beyond the newest %d of their job", (long long)counts.by_count,
                   limits.keep_per_job);
        printf("\n");
    }
    rc = CLI_EXIT_OK;
out:
    db_free(db);
    return rc;
}

int
cli_history_main(struct config *cfg, int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "show") == 0)
        return history_show(cfg, argc, argv);
    if (argc > 1 && strcmp(argv[1], "prune") == 0)
        return history_prune(cfg, argc, argv);
    return history_list(cfg, argc, argv);
}
