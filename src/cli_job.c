/* cli_job.c - `tablecron job add|edit|ls|show|rm|pause|resume|run|kill`.
 *
 * A thin layer: options become a struct job_def or an enum job_action for
 * job_store.c, which checks, fences and audits; listings read the
 * job_overview view and the jobs table.  The audit actor is "cli:" and the
 * Unix user running the command (the database role may be shared).
 */
#include <autoconfig.h>

#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_common.h"
#include "cli_history.h"
#include "cli_job.h"
#include "duration.h"
#include "job_store.h"
#include "schedule.h"

#define SHOW_FIRE_TIMES 5
#define SHOW_EXECUTIONS 10
#define US_PER_S 1000000

static const char SQL_LIST[] =
    "SELECT o.id, o.name, o.department, o.kind, o.schedule, o.timezone, o.status,"
    " " CLI_SQL_UTC("o.next_time") " AS next_time, o.lease_owner,"
    " " CLI_SQL_UTC("o.lease_until") " AS lease_until, o.last_status,"
    " " CLI_SQL_UTC("o.last_started_at") " AS last_started_at,"
    " " CLI_SQL_UTC("o.last_finished_at") " AS last_finished_at, o.last_error"
    " FROM job_overview o ORDER BY o.name";

/* Every column of the job; the '_' ones feed the fire time preview. */
static const char SQL_SHOW[] =
    "SELECT j.id, j.name, j.department_id, d.name AS department, j.description, j.kind,"
    " j.schedule, j.timezone, j.status, j.version, " CLI_SQL_UTC("j.next_time") " AS next_time,"
    " j.lease_owner, " CLI_SQL_UTC("j.lease_until") " AS lease_until, j.timeout_s,"
    " j.max_retries, j.retry_backoff_s, j.misfire_policy, j.attempt,"
    " " CLI_SQL_UTC("j.scheduled_for") " AS scheduled_for,"
    " " CLI_SQL_UTC("j.kill_requested_at") " AS kill_requested_at, j.pause_requested,"
    " j.schedule_error, " CLI_SQL_UTC("j.created_at") " AS created_at,"
    " " CLI_SQL_UTC("j.updated_at") " AS updated_at, j.config,"
    " floor(extract(epoch FROM j.next_time))::bigint AS _next_s,"
    " floor(extract(epoch FROM now()))::bigint AS _now_s"
    " FROM jobs j JOIN departments d ON d.id = j.department_id WHERE j.name = $1";

struct job_cmd {
    const char *name;
    int (*run)(struct config *cfg, int argc, char **argv);
    const char *summary; /* one line for 'tablecron job --help' */
    const char *usage;   /* argument synopsis after "tablecron job NAME" */
    const char *help;    /* what it does, then its options */
};

static const struct job_cmd *job_cmd_find(const char *name);

/* The options of add and edit (edit takes all but --paused). */
#define JOB_DEF_HELP                                                                       \
    "  --schedule EXPR       cron expression (5, 6 or 7 fields), @daily-style macro,\n"   \
    "                        '@every 90s' or '@at 2027-01-01T09:00:00'; quote it\n"        \
    "  --tz ZONE             IANA time zone of the schedule (default UTC)\n"               \
    "  --department NAME     owning department (default 'default')\n"                      \
    "  --shell CMD           command for /bin/sh -c (edit keeps the other config keys)\n"  \
    "  --timeout S           stop a run after S (seconds or 90s, 5m, 1h; default 1h)\n"   \
    "  --retries N           retry a failed or timed-out run N times (0-100; default 0)\n" \
    "  --retry-backoff S     delay before the first retry, doubling after (default 10s)\n" \
    "  --misfire skip|once   after downtime: skip missed fire times, or run once\n"

static void
job_cmd_usage(FILE *out, const struct job_cmd *cmd)
{
    fprintf(out, "usage: tablecron job %s %s\n\n%s", cmd->name, cmd->usage, cmd->help);
}

/* "cli:" + the Unix user: who did it, for audit_log.actor. */
static void
job_actor(char *buf, size_t size)
{
    struct passwd *pw = getpwuid(geteuid());

    if (pw != NULL && pw->pw_name != NULL)
        snprintf(buf, size, "cli:%s", pw->pw_name);
    else
        snprintf(buf, size, "cli:uid%ld", (long)geteuid());
}

/* A store error as the command's exit code. */
static int
job_fail(const struct job_store_error *err)
{
    cli_error("%s", err->msg);
    return err->code == JOB_STORE_INVALID ? CLI_EXIT_USAGE : CLI_EXIT_FAILED;
}

/* Seconds given as "90" or as a duration ("90s", "1h30m"). */
static int
job_parse_seconds(const char *opt, const char *text, int *out)
{
    struct duration_error derr;
    int64_t us;
    char *end;
    long n;

    if (text[0] >= '0' && text[0] <= '9' && strspn(text, "0123456789") == strlen(text)) {
        errno = 0;
        n = strtol(text, &end, 10);
        if (errno != 0 || n > INT_MAX) {
            cli_error("bad %s '%s': too large", opt, text);
            return -1;
        }
        *out = (int)n;
        return 0;
    }
    if (duration_parse(text, &us, &derr) < 0) {
        cli_error("bad %s '%s': %s at %d", opt, text, derr.msg, derr.pos);
        return -1;
    }
    if (us % US_PER_S != 0) {
        cli_error("bad %s '%s': whole seconds only", opt, text);
        return -1;
    }
    if (us / US_PER_S > INT_MAX) {
        cli_error("bad %s '%s': too large", opt, text);
        return -1;
    }
    *out = (int)(us / US_PER_S);
    return 0;
}

/* Options of add and edit into def (strings borrowed from argv).  Returns
 * 0, 1 for --help, -1 after an error line. */
static int
job_parse_def(const char *cmd, int argc, char **argv, int allow_paused, struct job_def *def,
              const char **name)
{
    const char *timeout = NULL, *retries = NULL, *backoff = NULL, *args[1];
    int nargs = 0, paused = 0, rc;
    struct cli_opt opts[] = {
        { "--schedule", &def->schedule, NULL },
        { "--tz", &def->timezone, NULL },
        { "--department", &def->department, NULL },
        { "--shell", &def->command, NULL },
        { "--timeout", &timeout, NULL },
        { "--retries", &retries, NULL },
        { "--retry-backoff", &backoff, NULL },
        { "--misfire", &def->misfire_policy, NULL },
        { "--paused", NULL, &paused },
    };

    job_def_init(def);
    rc = cli_parse(cmd, argc, argv, 2, opts, TC_ARRAY_LEN(opts) - (allow_paused ? 0 : 1), args,
                   1, &nargs);
    if (rc != 0)
        return rc;
    if (nargs != 1) {
        cli_error("%s: which job? (usage: tablecron %s NAME [options])", cmd, cmd);
        return -1;
    }
    *name = args[0];
    def->paused = paused;
    if (timeout != NULL && job_parse_seconds("--timeout", timeout, &def->timeout_s) < 0)
        return -1;
    if (backoff != NULL &&
        job_parse_seconds("--retry-backoff", backoff, &def->retry_backoff_s) < 0)
        return -1;
    if (retries != NULL) {
        char *end;
        long n;
        errno = 0;
        n = strtol(retries, &end, 10);
        if (errno != 0 || end == retries || *end != '\0' || n < 0 || n > INT_MAX) {
            cli_error("bad --retries '%s': a whole number from 0 to %d", retries,
                      JOB_RETRIES_MAX);
            return -1;
        }
        def->max_retries = (int)n;
    }
    return 0;
}

static int
job_add(struct config *cfg, int argc, char **argv)
{
    struct job_store_error err;
    struct job_def def;
    struct db *db = NULL;
    const char *name = NULL;
    char actor[300];
    int64_t id;
    int rc;

    switch (job_parse_def("job add", argc, argv, 1, &def, &name)) {
    case 1:
        job_cmd_usage(stdout, job_cmd_find("add"));
        return CLI_EXIT_OK;
    case -1:
        return CLI_EXIT_USAGE;
    }
    if (def.schedule == NULL || def.command == NULL) {
        cli_error("job add: %s is required (see 'tablecron job add --help')",
                  def.schedule == NULL ? "--schedule" : "--shell");
        return CLI_EXIT_USAGE;
    }
    def.name = name;
    job_actor(actor, sizeof(actor));
    if ((db = cli_connect(cfg)) == NULL)
        return CLI_EXIT_FAILED;
    if (job_store_create(db, actor, &def, &id, &err) < 0) {
        rc = job_fail(&err);
        goto out;
    }
    printf("created job '%s' (id %lld)%s\n", name, (long long)id, def.paused ? ", paused" : "");
    rc = CLI_EXIT_OK;
out:
    db_free(db);
    return rc;
}

static int
job_edit(struct config *cfg, int argc, char **argv)
{
    struct job_store_error err;
    struct job_def def;
    struct db *db = NULL;
    const char *name = NULL;
    char actor[300];
    int changed = 0, rc;

    switch (job_parse_def("job edit", argc, argv, 0, &def, &name)) {
    case 1:
        job_cmd_usage(stdout, job_cmd_find("edit"));
        return CLI_EXIT_OK;
    case -1:
        return CLI_EXIT_USAGE;
    }
    if (def.schedule == NULL && def.timezone == NULL && def.department == NULL &&
        def.command == NULL && def.timeout_s == JOB_DEF_UNSET &&
        def.max_retries == JOB_DEF_UNSET && def.retry_backoff_s == JOB_DEF_UNSET &&
        def.misfire_policy == NULL) {
        cli_error("job edit: nothing to change (see 'tablecron job edit --help')");
        return CLI_EXIT_USAGE;
    }
    job_actor(actor, sizeof(actor));
    if ((db = cli_connect(cfg)) == NULL)
        return CLI_EXIT_FAILED;
    if (job_store_update(db, actor, name, &def, &changed, &err) < 0) {
        rc = job_fail(&err);
        goto out;
    }
    printf(changed ? "updated job '%s'\n" : "job '%s' already had these settings\n", name);
    rc = CLI_EXIT_OK;
out:
    db_free(db);
    return rc;
}

/* NAME and the given flags of a one-job command.  Returns 0, 1 for --help,
 * -1 after an error line. */
static int
job_parse_name(const char *cmd, int argc, char **argv, const struct cli_opt *opts, size_t nopts,
               const char **name)
{
    const char *args[1];
    int nargs = 0, rc;

    rc = cli_parse(cmd, argc, argv, 2, opts, nopts, args, 1, &nargs);
    if (rc != 0)
        return rc;
    if (nargs != 1) {
        cli_error("%s: which job? (usage: tablecron %s NAME)", cmd, cmd);
        return -1;
    }
    *name = args[0];
    return 0;
}

static int
job_rm(struct config *cfg, int argc, char **argv)
{
    struct job_store_error err;
    struct db *db = NULL;
    const char *name = NULL;
    char actor[300];
    int force = 0, rc;
    const struct cli_opt opts[] = { { "--force", NULL, &force } };

    switch (job_parse_name("job rm", argc, argv, opts, TC_ARRAY_LEN(opts), &name)) {
    case 1:
        job_cmd_usage(stdout, job_cmd_find("rm"));
        return CLI_EXIT_OK;
    case -1:
        return CLI_EXIT_USAGE;
    }
    job_actor(actor, sizeof(actor));
    if ((db = cli_connect(cfg)) == NULL)
        return CLI_EXIT_FAILED;
    if (job_store_delete(db, actor, name, force, &err) < 0) {
        rc = job_fail(&err);
        goto out;
    }
    printf("deleted job '%s' and its history\n", name);
    rc = CLI_EXIT_OK;
out:
    db_free(db);
    return rc;
}

/* What happened, in words, for pause/resume/run/kill. */
static void
job_say(enum job_action action, const char *name, const struct job_action_result *r)
{
    int was_paused = strcmp(r->status_before, "paused") == 0;

    switch (action) {
    case JOB_ACTION_PAUSE:
        if (r->outcome == JOB_OUTCOME_DONE)
            printf("paused job '%s'\n", name);
        else if (r->outcome == JOB_OUTCOME_REQUESTED)
            printf("job '%s' is running: it will be paused when this run ends\n", name);
        else if (was_paused)
            printf("job '%s' is already paused\n", name);
        else
            printf("job '%s' is already to be paused when this run ends\n", name);
        break;
    case JOB_ACTION_RESUME:
        if (r->outcome == JOB_OUTCOME_DONE && was_paused)
            printf("resumed job '%s'\n", name);
        else if (r->outcome == JOB_OUTCOME_DONE)
            printf("job '%s' will no longer pause after its pending run\n", name);
        else if (r->outcome == JOB_OUTCOME_REQUESTED)
            printf("job '%s' is running: it will no longer be paused when this run ends\n", name);
        else
            printf("job '%s' is not paused\n", name);
        break;
    case JOB_ACTION_RUN:
        if (was_paused)
            printf("job '%s' will run once now and stay paused\n", name);
        else if (r->pause_requested_before)
            printf("job '%s' will run now, then pause (a pause is pending)\n", name);
        else
            printf("job '%s' will run now\n", name);
        break;
    case JOB_ACTION_KILL:
        printf("asked the instance running job '%s' to kill it\n", name);
        break;
    }
}

static int
job_act(struct config *cfg, int argc, char **argv, enum job_action action)
{
    struct job_action_result result;
    struct job_store_error err;
    struct db *db = NULL;
    const char *name = NULL;
    char cmd[32], actor[300];
    int rc;

    snprintf(cmd, sizeof(cmd), "job %s", argv[1]);
    switch (job_parse_name(cmd, argc, argv, NULL, 0, &name)) {
    case 1:
        job_cmd_usage(stdout, job_cmd_find(argv[1]));
        return CLI_EXIT_OK;
    case -1:
        return CLI_EXIT_USAGE;
    }
    job_actor(actor, sizeof(actor));
    if ((db = cli_connect(cfg)) == NULL)
        return CLI_EXIT_FAILED;
    if (job_store_act(db, actor, name, action, &result, &err) < 0) {
        rc = job_fail(&err);
        goto out;
    }
    job_say(action, name, &result);
    rc = CLI_EXIT_OK;
out:
    db_free(db);
    return rc;
}

static int
job_pause(struct config *cfg, int argc, char **argv)
{
    return job_act(cfg, argc, argv, JOB_ACTION_PAUSE);
}

static int
job_resume(struct config *cfg, int argc, char **argv)
{
    return job_act(cfg, argc, argv, JOB_ACTION_RESUME);
}

static int
job_run(struct config *cfg, int argc, char **argv)
{
    return job_act(cfg, argc, argv, JOB_ACTION_RUN);
}

static int
job_kill(struct config *cfg, int argc, char **argv)
{
    return job_act(cfg, argc, argv, JOB_ACTION_KILL);
}

static int
job_list_print(const PGresult *res)
{
    static const char *const headers[] = { "NAME",   "DEPARTMENT", "KIND",      "SCHEDULE",
                                           "TIMEZONE", "STATUS",   "NEXT_TIME", "LAST" };
    static const char *const columns[] = { "name",     "department", "kind",      "schedule",
                                           "timezone", "status",     "next_time", "last_status" };
    struct cli_table *t = cli_table_new(TC_ARRAY_LEN(headers), headers);
    int rc = -1;

    if (t == NULL)
        return -1;
    for (int r = 0; r < PQntuples(res); r++) {
        const char *cells[TC_ARRAY_LEN(columns)];
        for (size_t c = 0; c < TC_ARRAY_LEN(columns); c++)
            cells[c] = cli_field(res, r, columns[c]);
        if (cli_table_add(t, cells) < 0)
            goto out;
    }
    rc = cli_table_print(t, stdout);
out:
    cli_table_free(t);
    return rc;
}

static int
job_ls(struct config *cfg, int argc, char **argv)
{
    int json = 0, nargs = 0, rc = CLI_EXIT_FAILED;
    const struct cli_opt opts[] = { { "--json", NULL, &json } };
    struct db *db = NULL;
    PGresult *res = NULL;

    switch (cli_parse("job ls", argc, argv, 2, opts, TC_ARRAY_LEN(opts), NULL, 0, &nargs)) {
    case 1:
        job_cmd_usage(stdout, job_cmd_find("ls"));
        return CLI_EXIT_OK;
    case -1:
        return CLI_EXIT_USAGE;
    }
    if ((db = cli_connect(cfg)) == NULL)
        goto out;
    if ((res = db_query(db, SQL_LIST, DB_NO_PARAMS)) == NULL) {
        cli_db_error(db);
        goto out;
    }
    if (cli_output(res, json, 0, job_list_print) < 0)
        goto out;
    rc = CLI_EXIT_OK;
out:
    PQclear(res);
    db_free(db);
    return rc;
}

/*
 * Up to max coming fire times, from the database's now as an instance
 * would compute them.  A waiting job's stored next_time comes first (and
 * anchors an @every grid); a paused job is scheduled from now when it is
 * resumed, so its stored next_time is ignored.  Returns how many.
 */
static int
job_fire_times(const struct schedule *s, const char *status, int64_t next_s, int64_t now_s,
               int64_t *out, int max)
{
    int64_t prev = SCHEDULE_NONE, after = now_s, t;
    int n = 0;

    if (strcmp(status, "waiting") == 0 || strcmp(status, "running") == 0)
        prev = next_s;
    if (prev != SCHEDULE_NONE && prev > now_s && strcmp(status, "waiting") == 0) {
        out[n++] = prev;
        after = prev;
    }
    while (n < max && schedule_next(s, prev, after, &t) == 0) {
        out[n++] = t;
        prev = after = t;
    }
    return n;
}

/* The next fire times, in UTC and in the job's zone: printed when doc is
 * NULL, else added to doc as next_fire_times (and next_fire_times_error
 * when the stored schedule cannot be used). */
static int
job_show_fire_times(const PGresult *res, json_t *doc)
{
    int64_t times[SHOW_FIRE_TIMES];
    const char *zone = cli_field(res, 0, "timezone");
    struct schedule_error serr;
    struct schedule *s;
    json_t *arr = NULL;
    char msg[200] = "", utc[40], local[64];
    int n = 0, rc = -1;

    if ((s = schedule_parse(cli_field(res, 0, "schedule"), zone, &serr)) == NULL) {
        snprintf(msg, sizeof(msg), "bad %s: %s at %d",
                 serr.part == SCHEDULE_PART_ZONE ? "time zone" : "schedule", serr.msg, serr.pos);
    } else {
        n = job_fire_times(s, cli_field(res, 0, "status"),
                           db_get_int64(res, 0, PQfnumber(res, "_next_s"), SCHEDULE_NONE),
                           db_get_int64(res, 0, PQfnumber(res, "_now_s"), 0), times,
                           SHOW_FIRE_TIMES);
    }
    if (doc != NULL) {
        if ((arr = json_array()) == NULL || json_object_set_new(doc, "next_fire_times", arr) < 0)
            goto out;
        if (json_object_set_new(doc, "next_fire_times_error",
                                s == NULL ? json_string(msg) : json_null()) < 0)
            goto out;
    } else {
        printf("next fire times (UTC, %s):\n", zone);
        if (s == NULL)
            printf("  none: %s\n", msg);
        else if (n == 0)
            printf("  none: the schedule has nothing left to fire\n");
    }
    for (int i = 0; i < n; i++) {
        cli_format_utc(times[i], utc, sizeof(utc));
        if (tz_format_time(schedule_zone(s), times[i], local, sizeof(local)) < 0)
            snprintf(local, sizeof(local), "%s", utc);
        if (doc == NULL)
            printf("  %s  %s\n", utc, local);
        else if (json_array_append_new(arr, json_pack("{s:s, s:s}", "utc", utc, "local",
                                                      local)) < 0)
            goto out;
    }
    rc = 0;
out:
    schedule_free(s);
    return rc;
}

/* Every column as "name: value", the config indented below. */
static int
job_show_fields(const PGresult *res)
{
    int width = 0;
    json_t *config = NULL;
    char *pretty = NULL;
    int rc = -1;

    for (int c = 0; c < PQnfields(res); c++) {
        int len = (int)strlen(PQfname(res, c));
        if (len > width)
            width = len;
    }
    for (int c = 0; c < PQnfields(res); c++) {
        const char *name = PQfname(res, c);
        char label[64];
        if (name[0] == '_' || strcmp(name, "config") == 0)
            continue;
        const char *value = PQgetisnull(res, 0, c) ? "-" : PQgetvalue(res, 0, c);
        snprintf(label, sizeof(label), "%s:", name);
        if (value[0] == '\0')
            printf("%s\n", label); /* an empty description: no trailing blanks */
        else
            printf("%-*s %s\n", width + 1, label, value);
    }
    if ((config = json_loads(cli_field(res, 0, "config"), 0, NULL)) == NULL ||
        (pretty = json_dumps(config, JSON_INDENT(2) | JSON_SORT_KEYS)) == NULL)
        goto out;
    printf("config:\n  ");
    for (const char *p = pretty; *p != '\0'; p++) {
        putchar(*p);
        if (*p == '\n')
            fputs("  ", stdout);
    }
    putchar('\n');
    rc = 0;
out:
    free(pretty);
    json_decref(config);
    return rc;
}

static int
job_show(struct config *cfg, int argc, char **argv)
{
    int json = 0, rc = CLI_EXIT_FAILED;
    const struct cli_opt opts[] = { { "--json", NULL, &json } };
    struct history_filter f = { 0, NULL, SHOW_EXECUTIONS };
    const char *name = NULL;
    struct db *db = NULL;
    PGresult *res = NULL, *runs = NULL;
    json_t *doc = NULL, *arr;

    switch (job_parse_name("job show", argc, argv, opts, TC_ARRAY_LEN(opts), &name)) {
    case 1:
        job_cmd_usage(stdout, job_cmd_find("show"));
        return CLI_EXIT_OK;
    case -1:
        return CLI_EXIT_USAGE;
    }
    if ((db = cli_connect(cfg)) == NULL)
        goto out;
    if ((res = db_query(db, SQL_SHOW, DB_PARAMS(name))) == NULL) {
        cli_db_error(db);
        goto out;
    }
    if (PQntuples(res) == 0) {
        cli_error("no job named '%s'", name);
        goto out;
    }
    f.job_id = db_get_int64(res, 0, 0, 0);
    if ((runs = cli_history_fetch(db, &f)) == NULL) {
        cli_db_error(db);
        goto out;
    }
    if (json) {
        if ((doc = cli_json_row(res, 0)) == NULL || job_show_fire_times(res, doc) < 0 ||
            (arr = cli_json_rows(runs)) == NULL ||
            json_object_set_new(doc, "recent_executions", arr) < 0 || cli_json_print(doc) < 0)
            goto out;
    } else {
        if (job_show_fields(res) < 0 || job_show_fire_times(res, NULL) < 0)
            goto out;
        printf("recent executions:\n");
        if (PQntuples(runs) == 0)
            printf("  none\n");
        else if (cli_history_print(runs, stdout) < 0)
            goto out;
    }
    rc = CLI_EXIT_OK;
out:
    json_decref(doc);
    PQclear(runs);
    PQclear(res);
    db_free(db);
    return rc;
}

static const struct job_cmd job_cmds[] = {
    { "add", job_add, "create a shell job",
      "NAME --schedule EXPR --shell CMD [--tz ZONE] [--department NAME]\n"
      "                     [--timeout S] [--retries N] [--retry-backoff S]\n"
      "                     [--misfire skip|once] [--paused]",
      "Create a shell job.  The schedule and zone are checked first (an error\n"
      "names the position); the instances compute its first fire time.\n\n" JOB_DEF_HELP
      "  --paused              create it paused (nothing runs until 'job resume')\n" },
    { "edit", job_edit, "change some settings of a job",
      "NAME [--schedule EXPR] [--tz ZONE] [... options of 'job add']",
      "Change the given settings of a job and nothing else; a run in progress is\n"
      "not disturbed.  A new schedule or zone applies at once to a waiting job\n"
      "(the instances compute its next fire time again).\n\n" JOB_DEF_HELP },
    { "ls", job_ls, "list jobs with their state and last run", "[--json]",
      "List jobs: name, department, kind, schedule and zone, status, next fire\n"
      "time (UTC) and the status of the latest execution.\n\n"
      "  --json   one JSON document on stdout instead of a table\n" },
    { "show", job_show, "one job: settings, next fire times, latest runs", "NAME [--json]",
      "Show every column of a job, its config, its next 5 fire times (UTC and in\n"
      "the job's zone) and its latest 10 executions.\n\n"
      "  --json   one JSON document on stdout\n" },
    { "rm", job_rm, "delete a job", "NAME [--force]",
      "Delete a job and its execution history.\n\n"
      "  --force  delete it even while it runs (its instance then kills the task)\n" },
    { "pause", job_pause, "stop scheduling a job", "NAME",
      "Stop scheduling a job.  A running job finishes its run, then pauses.\n" },
    { "resume", job_resume, "schedule a paused job again", "NAME",
      "Schedule a paused job again, from now (fire times missed while paused are\n"
      "not run).\n" },
    { "run", job_run, "run a job now, once", "NAME",
      "Make a job due now, once.  A paused job runs once and stays paused.  Its\n"
      "schedule carries on from this run.\n" },
    { "kill", job_kill, "kill a job's running task", "NAME",
      "Ask the instance running a job to kill its task (the whole process group);\n"
      "the execution ends as 'killed'.\n" },
};

static const struct job_cmd *
job_cmd_find(const char *name)
{
    for (size_t i = 0; i < TC_ARRAY_LEN(job_cmds); i++) {
        if (strcmp(job_cmds[i].name, name) == 0)
            return &job_cmds[i];
    }
    return NULL;
}

static void
job_usage(FILE *out)
{
    fprintf(out, "usage: tablecron job COMMAND [args]\n\ncommands:\n");
    for (size_t i = 0; i < TC_ARRAY_LEN(job_cmds); i++)
        fprintf(out, "  %-7s %s\n", job_cmds[i].name, job_cmds[i].summary);
    fprintf(out, "\n'tablecron job COMMAND --help' describes each command.\n"
                 "Exit status: 0 ok; 1 no such job, conflict or database error; 2 bad usage\n"
                 "or bad input (a bad schedule names its position).\n");
}

int
cli_job_main(struct config *cfg, int argc, char **argv)
{
    const struct job_cmd *cmd;

    if (argc < 2) {
        job_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        job_usage(stdout);
        return CLI_EXIT_OK;
    }
    /* "list" is the name people type first. */
    if ((cmd = job_cmd_find(strcmp(argv[1], "list") == 0 ? "ls" : argv[1])) == NULL) {
        cli_error("job: unknown command '%s' (see 'tablecron job --help')", argv[1]);
        return CLI_EXIT_USAGE;
    }
    return cmd->run(cfg, argc, argv);
}
