/* cli_job.c - `tablecron job add|edit|ls|show|rm|pause|resume|run|kill`.
 *
 * A thin layer: options become a struct job_def or an enum job_action for
 * job_store.c, which checks, fences and audits; listings read the
 * job_overview view and the jobs table.  The audit actor is "cli:" and the
 * Unix user running the command (the database role may be shared).
 *
 * The task options (--shell, --http URL, --header ...) each set one key of
 * the job's config (see task_opts[]), except --noop, a kind without
 * parameters, which sets none; the config they make is checked by
 * job_config.c in job_store.c, so a bad value gets the same words as from
 * the API.
 */
#include <autoconfig.h>

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "cli_common.h"
#include "cli_history.h"
#include "cli_job.h"
#include "cli_job_deps.h"
#include "duration.h"
#include "job_config.h"
#include "job_query.h"
#include "job_shards.h"
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

/* Every column of the job, as the API shows it; the '_' ones feed the
 * fire time preview. */
static const char SQL_SHOW[] =
    "SELECT " JOB_QUERY_COLUMNS " FROM jobs j" JOB_QUERY_JOIN_DEPARTMENT
    " WHERE j.name = $1 AND j.shard_of IS NULL";

/* The kind of a job, for an edit of its task options (job_store reads it
 * again in its transaction and checks the merged config for that kind). */
static const char SQL_KIND[] = "SELECT kind FROM jobs WHERE name = $1 AND shard_of IS NULL";

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
    "  --timeout S           stop a run after S (seconds or 90s, 5m, 1h; default 1h)\n"   \
    "  --retries N           retry a failed or timed-out run N times (0-100; default 0)\n" \
    "  --retry-backoff S     delay before the first retry, doubling after (default 10s)\n" \
    "  --misfire skip|once   after downtime: skip missed fire times, or run once\n"   \
    "  --shards N            run N executions per fire time (1-1000; default 1),\n"      \
    "                        each told its TABLECRON_SHARD_INDEX (0..N-1) and COUNT\n"

/* The task options of add and edit. */
#define JOB_TASK_HELP                                                                       \
    "\nthe task: one of\n"                                                                  \
    "  --shell CMD           command for /bin/sh -c\n"                                      \
    "  --http URL            an HTTP request to an http:// or https:// URL\n"               \
    "  --grpc URL            a unary gRPC call to the server at URL (http:// is\n"          \
    "                        cleartext HTTP/2, https:// TLS)\n"                             \
    "  --noop                nothing: each run succeeds at once (to try a deployment\n"    \
    "                        or to measure the scheduler alone)\n"                         \
    "shell, http and grpc:\n"                                                               \
    "  --output-limit N      bytes of output kept per run (default 65536)\n"                \
    "http and grpc:\n"                                                                      \
    "  --method M            http: the request method (default GET); grpc (required):\n"   \
    "                        the method to call, as package.Service/Method\n"               \
    "  --insecure            do not verify the server's TLS certificate\n"                  \
    "  --ca-file PATH        verify it with the CA certificates in PATH\n"                  \
    "http:\n"                                                                               \
    "  --header 'NAME: VALUE'\n"                                                           \
    "                        a request header; give it once per header\n"                 \
    "  --body TEXT           the request body\n"                                            \
    "  --json JSON           a JSON request body (sent as application/json)\n"              \
    "  --expect 2xx|200,204  the statuses that mean success (default 2xx)\n"                \
    "  --follow-redirects    follow 3xx redirects\n"                                        \
    "grpc:\n"                                                                               \
    "  --message-base64 B64  the request message: protobuf bytes in base64\n"              \
    "  --metadata 'KEY: VALUE'\n"                                                          \
    "                        a metadata entry, once per entry (-bin keys take base64)\n"

static void
job_cmd_usage(FILE *out, const struct job_cmd *cmd)
{
    fprintf(out, "usage: tablecron job %s %s\n\n%s", cmd->name, cmd->usage, cmd->help);
}

/* "cli:" + the Unix user in buf: who did it, for audit_log.actor. */
static void
job_actor(struct audit_actor *actor, char *buf, size_t size)
{
    cli_actor(buf, size);
    actor->name = buf;
    actor->user_id = 0;
    actor->remote_addr = NULL;
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

/* --- task options: each sets one key of the config --- */

/* Kinds as bits: what a task option applies to. */
#define KIND_SHELL 1u
#define KIND_HTTP 2u
#define KIND_GRPC 4u
#define KIND_NOOP 8u

static const char *const kind_names[] = { "shell", "http", "grpc", "noop" }; /* of bit 0-3 */

enum task_form {
    TASK_KIND, /* --shell, --http, --grpc: the kind, and its first key; --noop
                * (no key): the kind alone, an option without a value */
    TASK_TEXT, /* --name VALUE */
    TASK_FLAG, /* --name: sets a boolean key */
    TASK_LIST, /* --name VALUE, repeatable: the values make one object */
};

struct task_opt {
    const char *name;   /* "--header" */
    enum task_form form;
    unsigned kinds;     /* KIND_* it applies to (a kind option: its own) */
    const char *key;    /* the config key it sets; NULL: none (--noop) */
    const char *clears; /* a key it removes (body and json exclude each other) */
    /* The key's value from the option's text (TASK_KIND, TASK_TEXT) or
     * list (TASK_LIST): a new reference, or NULL after an error line. */
    json_t *(*text)(const char *opt, const char *value);
    json_t *(*list)(const char *opt, const struct cli_list *values);
    int flag; /* TASK_FLAG: the boolean it sets */
};

static json_t *task_string(const char *opt, const char *value);
static json_t *task_json(const char *opt, const char *value);
static json_t *task_expect(const char *opt, const char *value);
static json_t *task_bytes(const char *opt, const char *value);
static json_t *task_pairs(const char *opt, const struct cli_list *values);

static const struct task_opt task_opts[] = {
    /* name, form, the kinds it applies to, key, key it clears, text or list parser, flag */
    { "--shell", TASK_KIND, KIND_SHELL, "command", NULL, task_string, NULL, 0 },
    { "--http", TASK_KIND, KIND_HTTP, "url", NULL, task_string, NULL, 0 },
    { "--grpc", TASK_KIND, KIND_GRPC, "url", NULL, task_string, NULL, 0 },
    { "--noop", TASK_KIND, KIND_NOOP, NULL, NULL, NULL, NULL, 0 },
    { "--output-limit", TASK_TEXT, KIND_SHELL | KIND_HTTP | KIND_GRPC, "output_limit", NULL,
      task_bytes, NULL, 0 },
    { "--method", TASK_TEXT, KIND_HTTP | KIND_GRPC, "method", NULL, task_string, NULL, 0 },
    { "--insecure", TASK_FLAG, KIND_HTTP | KIND_GRPC, "tls_verify", NULL, NULL, NULL, 0 },
    { "--ca-file", TASK_TEXT, KIND_HTTP | KIND_GRPC, "ca_file", NULL, task_string, NULL, 0 },
    { "--header", TASK_LIST, KIND_HTTP, "headers", NULL, NULL, task_pairs, 0 },
    { "--body", TASK_TEXT, KIND_HTTP, "body", "json", task_string, NULL, 0 },
    { "--json", TASK_TEXT, KIND_HTTP, "json", "body", task_json, NULL, 0 },
    { "--expect", TASK_TEXT, KIND_HTTP, "expect_status", NULL, task_expect, NULL, 0 },
    { "--follow-redirects", TASK_FLAG, KIND_HTTP, "follow_redirects", NULL, NULL, NULL, 1 },
    { "--message-base64", TASK_TEXT, KIND_GRPC, "message_base64", NULL, task_string, NULL, 0 },
    { "--metadata", TASK_LIST, KIND_GRPC, "metadata", NULL, NULL, task_pairs, 0 },
};

#define N_TASK_OPTS TC_ARRAY_LEN(task_opts)

/* What was given for task_opts[i]: text[i], flag[i] or list[i].  A list
 * entry of another form has the name "", which no option matches. */
struct task_args {
    const char *text[N_TASK_OPTS];
    int flag[N_TASK_OPTS];
    /* and after them --after, --not-after (cli_job_deps.h) */
    struct cli_list list[N_TASK_OPTS + CLI_JOB_DEPS_LISTS];
};

static void
task_args_init(struct task_args *t)
{
    memset(t, 0, sizeof(*t));
    for (size_t i = 0; i < N_TASK_OPTS; i++)
        t->list[i].name = task_opts[i].form == TASK_LIST ? task_opts[i].name : "";
    cli_job_deps_lists_init(&t->list[N_TASK_OPTS]);
}

static void
task_args_reset(struct task_args *t)
{
    for (size_t i = 0; i < N_TASK_OPTS + CLI_JOB_DEPS_LISTS; i++)
        cli_list_reset(&t->list[i]);
}

static int
task_given(const struct task_args *t, size_t i)
{
    return t->text[i] != NULL || t->flag[i] || t->list[i].n > 0;
}

/* "http", "http and grpc", "shell, http and grpc" */
static void
kinds_text(unsigned kinds, char *buf, size_t size)
{
    size_t used = 0, n = 0, total = 0;

    for (size_t b = 0; b < TC_ARRAY_LEN(kind_names); b++)
        total += (kinds >> b) & 1;
    buf[0] = '\0';
    for (size_t b = 0; b < TC_ARRAY_LEN(kind_names) && used < size; b++) {
        if (!((kinds >> b) & 1))
            continue;
        n++;
        used += (size_t)snprintf(buf + used, size - used, "%s%s",
                                 n == 1 ? "" : n == total ? " and " : ", ", kind_names[b]);
    }
}

static json_t *
task_string(const char *opt, const char *value)
{
    json_t *v = json_string(value);

    if (v == NULL)
        cli_error("bad %s: it must be UTF-8 text", opt);
    return v;
}

static json_t *
task_json(const char *opt, const char *value)
{
    json_error_t jerr;
    json_t *v = json_loads(value, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);

    if (v == NULL)
        cli_error("bad %s: not valid JSON: %s at %d", opt, jerr.text, jerr.position);
    return v;
}

/* The whole number in text[0..len), blanks around it allowed: for
 * output_limit and statuses (job_config checks their ranges).  -1 if there
 * is none or it has more than TASK_DIGITS_MAX digits. */
#define TASK_DIGITS_MAX 12

static long long
task_number(const char *text, size_t len)
{
    long long n = 0;
    size_t i = 0, digits = 0;

    while (i < len && text[i] == ' ')
        i++;
    for (; i < len && text[i] >= '0' && text[i] <= '9'; i++, digits++)
        n = n * 10 + (text[i] - '0');
    while (i < len && text[i] == ' ')
        i++;
    return i == len && digits > 0 && digits <= TASK_DIGITS_MAX ? n : -1;
}

static json_t *
task_bytes(const char *opt, const char *value)
{
    long long n = task_number(value, strlen(value));

    if (n < 0) {
        cli_error("bad %s '%s': a number of bytes", opt, value);
        return NULL;
    }
    return json_integer(n);
}

/* "2xx" as it is; "204" a number; "200,204" a list.  The ranges are
 * job_config's to check. */
static json_t *
task_expect(const char *opt, const char *value)
{
    json_t *list;
    const char *p, *comma;

    if (strlen(value) == 3 && value[0] >= '0' && value[0] <= '9' && (value[1] | 0x20) == 'x' &&
        (value[2] | 0x20) == 'x')
        return json_string(value);
    if (strchr(value, ',') == NULL && task_number(value, strlen(value)) >= 0)
        return json_integer(task_number(value, strlen(value)));
    if ((list = json_array()) == NULL) {
        cli_error("out of memory");
        return NULL;
    }
    for (p = value;; p = comma + 1) {
        size_t len = (comma = strchr(p, ',')) != NULL ? (size_t)(comma - p) : strlen(p);
        long long n = task_number(p, len);
        if (n < 0 || json_array_append_new(list, json_integer(n)) < 0) {
            cli_error("bad %s '%s': use a class such as 2xx or statuses such as 200,204", opt,
                      value);
            json_decref(list);
            return NULL;
        }
        if (comma == NULL)
            return list;
    }
}

/* 'Name: value' options into one object; blanks around the value go. */
static json_t *
task_pairs(const char *opt, const struct cli_list *values)
{
    json_t *obj = json_object(), *v = NULL;
    char *name = NULL;

    if (obj == NULL)
        goto oom;
    for (size_t i = 0; i < values->n; i++) {
        const char *text = values->items[i], *colon = strchr(text, ':'), *val, *end;

        if (colon == NULL || colon == text) {
            cli_error("bad %s '%s': use 'name: value'", opt, text);
            goto fail;
        }
        if ((name = strndup(text, (size_t)(colon - text))) == NULL)
            goto oom;
        val = colon + 1 + strspn(colon + 1, " \t");
        for (end = val + strlen(val); end > val && (end[-1] == ' ' || end[-1] == '\t'); end--)
            ;
        if (json_object_get(obj, name) != NULL) {
            cli_error("bad %s: '%s' is given twice", opt, name);
            goto fail;
        }
        if ((v = json_stringn(val, (size_t)(end - val))) == NULL ||
            json_object_set_new(obj, name, v) < 0) {
            cli_error("bad %s '%s': it must be UTF-8 text", opt, text);
            goto fail;
        }
        free(name);
        name = NULL;
    }
    return obj;
oom:
    cli_error("out of memory");
fail:
    free(name);
    json_decref(obj);
    return NULL;
}

/* The kind option given (KIND_* in *kind, 0 when none); -1 after an error
 * line when there are several. */
static int
task_kind(const char *cmd, const struct task_args *t, unsigned *kind)
{
    *kind = 0;
    for (size_t i = 0; i < N_TASK_OPTS; i++) {
        if (task_opts[i].form != TASK_KIND || !task_given(t, i))
            continue;
        if (*kind != 0) {
            cli_error("%s: give one of --shell, --http, --grpc and --noop", cmd);
            return -1;
        }
        *kind = task_opts[i].kinds;
    }
    return 0;
}

/* Every given option applies to kind, or an error line after what (which
 * says where the kind comes from). */
static int
task_check_kind(const char *what, const struct task_args *t, unsigned kind)
{
    char kinds[40];

    for (size_t i = 0; i < N_TASK_OPTS; i++) {
        if (task_given(t, i) && (task_opts[i].kinds & kind) == 0) {
            kinds_text(task_opts[i].kinds, kinds, sizeof(kinds));
            cli_error("%s: %s applies to %s jobs only", what, task_opts[i].name, kinds);
            return -1;
        }
    }
    return 0;
}

static const char *
kind_name(unsigned kind)
{
    for (size_t b = 0; b < TC_ARRAY_LEN(kind_names); b++) {
        if (kind == 1u << b)
            return kind_names[b];
    }
    return NULL;
}

/* The option that sets key (every key an option clears has one). */
static const struct task_opt *
task_opt_by_key(const char *key)
{
    for (size_t i = 0; i < N_TASK_OPTS; i++) {
        if (task_opts[i].key != NULL && strcmp(task_opts[i].key, key) == 0)
            return &task_opts[i];
    }
    abort(); /* a typo in task_opts[] */
}

/*
 * The config keys the given task options set, as JSON text in *config
 * (NULL when none was given; the caller frees it).  A key an option
 * clears is set to null, which removes it on edit.  -1 after an error line.
 */
static int
task_config(const char *cmd, const struct task_args *t, char **config)
{
    json_t *obj = json_object(), *v;
    int any = 0, rc = -1;

    *config = NULL;
    if (obj == NULL)
        goto oom;
    for (size_t i = 0; i < N_TASK_OPTS; i++) {
        const struct task_opt *o = &task_opts[i];
        if (!task_given(t, i))
            continue;
        if (o->key == NULL) {
            any = 1; /* --noop: the kind alone, config {} */
            continue;
        }
        if (o->clears != NULL && json_object_get(obj, o->clears) != NULL) {
            cli_error("%s: give %s or %s, not both", cmd, task_opt_by_key(o->clears)->name,
                      o->name);
            goto out;
        }
        if (o->form == TASK_FLAG)
            v = json_boolean(o->flag);
        else if (o->form == TASK_LIST)
            v = o->list(o->name, &t->list[i]);
        else
            v = o->text(o->name, t->text[i]);
        if (v == NULL)
            goto out;
        if (json_object_set_new(obj, o->key, v) < 0)
            goto oom;
        any = 1;
    }
    /* Only now: "clears" must not hide an option given after. */
    for (size_t i = 0; i < N_TASK_OPTS; i++) {
        const char *clears = task_opts[i].clears;
        if (task_given(t, i) && clears != NULL && json_object_get(obj, clears) == NULL &&
            json_object_set_new(obj, clears, json_null()) < 0)
            goto oom;
    }
    if (any && (*config = json_dumps(obj, JSON_COMPACT)) == NULL)
        goto oom;
    rc = 0;
    goto out;
oom:
    cli_error("out of memory");
out:
    json_decref(obj);
    return rc;
}

/* Options of add and edit into def and t (strings borrowed from argv).
 * Returns 0, 1 for --help, -1 after an error line; t is reset by the
 * caller in every case. */
static int
job_parse_def(const char *cmd, int argc, char **argv, int allow_paused, struct job_def *def,
              struct task_args *t, const char **name)
{
    const char *timeout = NULL, *retries = NULL, *backoff = NULL, *shards = NULL, *args[1];
    int nargs = 0, paused = 0, rc;
    /* the job's 8 options, the task options, --paused */
    struct cli_opt opts[8 + N_TASK_OPTS + 1] = {
        { "--schedule", &def->schedule, NULL },
        { "--tz", &def->timezone, NULL },
        { "--department", &def->department, NULL },
        { "--timeout", &timeout, NULL },
        { "--retries", &retries, NULL },
        { "--retry-backoff", &backoff, NULL },
        { "--misfire", &def->misfire_policy, NULL },
        { "--shards", &shards, NULL },
    };
    size_t nopts = 8;

    job_def_init(def);
    task_args_init(t);
    for (size_t i = 0; i < N_TASK_OPTS; i++) {
        const struct task_opt *o = &task_opts[i];
        if (o->form == TASK_FLAG || o->key == NULL)
            opts[nopts++] = (struct cli_opt){ o->name, NULL, &t->flag[i] };
        else if (o->form != TASK_LIST)
            opts[nopts++] = (struct cli_opt){ o->name, &t->text[i], NULL };
    }
    if (allow_paused)
        opts[nopts++] = (struct cli_opt){ "--paused", NULL, &paused };
    rc = cli_parse_lists(cmd, argc, argv, 2, opts, nopts, t->list,
                         N_TASK_OPTS + CLI_JOB_DEPS_LISTS, args, 1, &nargs);
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
    if (shards != NULL) {
        char *end;
        long n;
        errno = 0;
        n = strtol(shards, &end, 10);
        if (errno != 0 || end == shards || *end != '\0' || n < 1 || n > JOB_SHARDS_MAX) {
            cli_error("bad --shards '%s': a whole number from 1 to %d", shards, JOB_SHARDS_MAX);
            return -1;
        }
        def->shards = (int)n;
    }
    return 0;
}

/* The kind and config of add or edit from the task options; -1 after an
 * error line.  *config is the caller's to free. */
static int
job_task_def(const char *cmd, const struct task_args *t, struct job_def *def, char **config)
{
    unsigned kind;

    *config = NULL;
    if (task_kind(cmd, t, &kind) < 0 || (kind != 0 && task_check_kind(cmd, t, kind) < 0))
        return -1;
    if (task_config(cmd, t, config) < 0)
        return -1;
    def->kind = kind != 0 ? kind_name(kind) : NULL;
    def->config = *config;
    return 0;
}

static int
job_add(struct config *cfg, int argc, char **argv)
{
    struct job_store_error err;
    struct task_args task;
    struct job_def def;
    struct audit_actor actor;
    struct db *db = NULL;
    const char *name = NULL;
    char who[300], *config = NULL;
    int64_t id;
    int changed, rc = CLI_EXIT_USAGE;

    switch (job_parse_def("job add", argc, argv, 1, &def, &task, &name)) {
    case 1:
        job_cmd_usage(stdout, job_cmd_find("add"));
        rc = CLI_EXIT_OK;
        goto out;
    case -1:
        goto out;
    }
    if (job_task_def("job add", &task, &def, &config) < 0)
        goto out;
    /* A job that runs after others needs no schedule of its own. */
    if (def.schedule == NULL && task.list[N_TASK_OPTS].n > 0)
        def.schedule = "@manual";
    if (def.schedule == NULL || def.kind == NULL) {
        cli_error("job add: %s is required (see 'tablecron job add --help')",
                  def.schedule == NULL ? "--schedule" : "--shell, --http, --grpc or --noop");
        goto out;
    }
    def.name = name;
    job_actor(&actor, who, sizeof(who));
    rc = CLI_EXIT_FAILED;
    if ((db = cli_connect(cfg)) == NULL)
        goto out;
    if (cli_job_deps_given(&task.list[N_TASK_OPTS]) &&
        (rc = cli_job_deps_check(db, "job add", name, &task.list[N_TASK_OPTS])) != 0)
        goto out;
    rc = CLI_EXIT_FAILED;
    if (job_store_create(db, &actor, &def, &id, &err) < 0) {
        rc = job_fail(&err);
        goto out;
    }
    printf("created job '%s' (id %lld)%s\n", name, (long long)id, def.paused ? ", paused" : "");
    if (cli_job_deps_given(&task.list[N_TASK_OPTS]) &&
        (rc = cli_job_deps_apply(db, &actor, "job add", name, &task.list[N_TASK_OPTS],
                                 &changed)) != 0)
        goto out;
    rc = CLI_EXIT_OK;
out:
    db_free(db);
    free(config);
    task_args_reset(&task);
    return rc;
}

/*
 * Task options without a kind option change keys of the stored config: they
 * must apply to the job's kind.  0, or an exit code after an error line.
 */
static int
job_edit_check_kind(struct db *db, const char *name, const struct task_args *t)
{
    PGresult *res = db_query(db, SQL_KIND, DB_PARAMS(name));
    char what[300];
    int rc = CLI_EXIT_FAILED;

    if (res == NULL) {
        cli_db_error(db);
        goto out;
    }
    if (PQntuples(res) == 0) {
        cli_error("no job named '%s'", name);
        goto out;
    }
    snprintf(what, sizeof(what), "job '%s' is %s %s job", name,
             strcmp(PQgetvalue(res, 0, 0), "http") == 0 ? "an" : "a", PQgetvalue(res, 0, 0));
    rc = CLI_EXIT_USAGE;
    for (size_t b = 0; b < TC_ARRAY_LEN(kind_names); b++) {
        if (strcmp(PQgetvalue(res, 0, 0), kind_names[b]) == 0 &&
            task_check_kind(what, t, 1u << b) == 0)
            rc = 0;
    }
out:
    PQclear(res);
    return rc;
}

static int
job_edit(struct config *cfg, int argc, char **argv)
{
    struct job_store_error err;
    struct task_args task;
    struct job_def def;
    struct audit_actor actor;
    struct job_ref ref = { 0, NULL, 0 };
    struct db *db = NULL;
    const char *name = NULL;
    char who[300], *config = NULL;
    int changed = 0, defs = 1, rc = CLI_EXIT_USAGE;

    switch (job_parse_def("job edit", argc, argv, 0, &def, &task, &name)) {
    case 1:
        job_cmd_usage(stdout, job_cmd_find("edit"));
        rc = CLI_EXIT_OK;
        goto out;
    case -1:
        goto out;
    }
    if (job_task_def("job edit", &task, &def, &config) < 0)
        goto out;
    if (def.schedule == NULL && def.timezone == NULL && def.department == NULL &&
        def.config == NULL && def.timeout_s == JOB_DEF_UNSET &&
        def.max_retries == JOB_DEF_UNSET && def.retry_backoff_s == JOB_DEF_UNSET &&
        def.misfire_policy == NULL && def.shards == JOB_DEF_UNSET) {
        defs = 0; /* perhaps only --after or --not-after */
        if (!cli_job_deps_given(&task.list[N_TASK_OPTS])) {
            cli_error("job edit: nothing to change (see 'tablecron job edit --help')");
            goto out;
        }
    }
    job_actor(&actor, who, sizeof(who));
    ref.name = name;
    rc = CLI_EXIT_FAILED;
    if ((db = cli_connect(cfg)) == NULL)
        goto out;
    if (def.config != NULL && def.kind == NULL && (rc = job_edit_check_kind(db, name, &task)) != 0)
        goto out;
    if (defs && job_store_update(db, &actor, &ref, &def, &changed, &err) < 0) {
        rc = job_fail(&err);
        goto out;
    }
    if (defs)
        printf(changed ? "updated job '%s'\n" : "job '%s' already had these settings\n", name);
    if (cli_job_deps_given(&task.list[N_TASK_OPTS])) {
        if ((rc = cli_job_deps_apply(db, &actor, "job edit", name, &task.list[N_TASK_OPTS],
                                     &changed)) != 0)
            goto out;
        printf(changed ? "updated the dependencies of job '%s'\n"
                       : "job '%s' already had these dependencies\n", name);
    }
    rc = CLI_EXIT_OK;
out:
    db_free(db);
    free(config);
    task_args_reset(&task);
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
    struct audit_actor actor;
    struct job_ref ref = { 0, NULL, 0 };
    struct db *db = NULL;
    const char *name = NULL;
    char who[300];
    int force = 0, rc;
    const struct cli_opt opts[] = { { "--force", NULL, &force } };

    switch (job_parse_name("job rm", argc, argv, opts, TC_ARRAY_LEN(opts), &name)) {
    case 1:
        job_cmd_usage(stdout, job_cmd_find("rm"));
        return CLI_EXIT_OK;
    case -1:
        return CLI_EXIT_USAGE;
    }
    job_actor(&actor, who, sizeof(who));
    ref.name = name;
    if ((db = cli_connect(cfg)) == NULL)
        return CLI_EXIT_FAILED;
    if (job_store_delete(db, &actor, &ref, force, &err) < 0) {
        /* The store says "force the deletion": here that is an option. */
        if (strcmp(err.field, "force") == 0)
            snprintf(err.msg, sizeof(err.msg), "job '%s' is running: kill it first, or use --force",
                     name);
        rc = job_fail(&err);
        goto out;
    }
    printf("deleted job '%s' and its history\n", name);
    rc = CLI_EXIT_OK;
out:
    db_free(db);
    return rc;
}

static int
job_act(struct config *cfg, int argc, char **argv, enum job_action action)
{
    struct job_action_result result;
    struct job_store_error err;
    struct audit_actor actor;
    struct job_ref ref = { 0, NULL, 0 };
    struct db *db = NULL;
    const char *name = NULL;
    char cmd[32], who[300], said[400];
    int rc;

    snprintf(cmd, sizeof(cmd), "job %s", argv[1]);
    switch (job_parse_name(cmd, argc, argv, NULL, 0, &name)) {
    case 1:
        job_cmd_usage(stdout, job_cmd_find(argv[1]));
        return CLI_EXIT_OK;
    case -1:
        return CLI_EXIT_USAGE;
    }
    job_actor(&actor, who, sizeof(who));
    ref.name = name;
    if ((db = cli_connect(cfg)) == NULL)
        return CLI_EXIT_FAILED;
    if (job_store_act(db, &actor, &ref, action, &result, &err) < 0) {
        rc = job_fail(&err);
        goto out;
    }
    job_store_describe(action, &result, said, sizeof(said));
    printf("%s\n", said);
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

    return cli_print_columns(res, headers, columns, TC_ARRAY_LEN(columns));
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

    if ((s = job_query_fire_times(res, 0, times, SHOW_FIRE_TIMES, &n, &serr)) == NULL)
        snprintf(msg, sizeof(msg), "bad %s: %s at %d",
                 serr.part == SCHEDULE_PART_ZONE ? "time zone" : "schedule", serr.msg, serr.pos);
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

/* A sharded job's latest fire times and how their shards went: printed
 * when doc is NULL, else added to doc as shard_fire_times. */
static int
job_show_shard_fire_times(struct db *db, int64_t id, json_t *doc)
{
    static const char *const headers[] = { "SCHEDULED_FOR", "STATUS",  "SHARDS",  "SUCCEEDED",
                                           "FAILED",        "RUNNING", "PENDING", "RETRYING",
                                           "MISSED" };
    static const char *const columns[] = { "scheduled_for", "status",  "shards",  "succeeded",
                                           "failed",        "running", "pending", "retrying",
                                           "missed" };
    PGresult *res = job_shards_fire_times(db, id, SHOW_EXECUTIONS);
    json_t *rows;
    int rc = -1;

    if (res == NULL) {
        cli_db_error(db);
        return -1;
    }
    if (doc != NULL) {
        rows = cli_json_rows(res);
        rc = rows != NULL && json_object_set_new(doc, "shard_fire_times", rows) == 0 ? 0 : -1;
    } else {
        printf("recent fire times (every shard; succeeded when all did):\n");
        if (PQntuples(res) == 0) {
            printf("  none\n");
            rc = 0;
        } else {
            rc = cli_print_columns(res, headers, columns, TC_ARRAY_LEN(columns));
        }
    }
    PQclear(res);
    return rc;
}

/*
 * The task in one line, as the instances will run it: "POST https://x with
 * a 9-byte JSON body, expects 2xx" or "call pkg.Svc/Method at http://h:50051, 7-byte message";
 * a config they would refuse is said so.  Shell commands are in the config.
 */
static void
job_show_task(const char *kind, const char *config, int width)
{
    struct job_config_error err;
    struct http_config http;
    struct grpc_config grpc;
    char line[300], expect[80], body[48] = "";

    if (strcmp(kind, "http") == 0 && job_config_http(config, &http, &err) == 0) {
        http_config_describe_expect(&http, expect, sizeof(expect));
        if (http.body != NULL)
            snprintf(body, sizeof(body), " with a %zu-byte %sbody", http.body_len,
                     http.body_is_json ? "JSON " : "");
        snprintf(line, sizeof(line), "%s %s%s, expects %s%s%s", http.method, http.url, body,
                 expect, http.follow_redirects ? ", follows redirects" : "",
                 http.tls_verify ? "" : ", TLS not verified");
        http_config_free(&http);
    } else if (strcmp(kind, "grpc") == 0 && job_config_grpc(config, &grpc, &err) == 0) {
        snprintf(line, sizeof(line), "call %s at %s, %zu-byte message%s", grpc.method, grpc.url,
                 grpc.message_len, grpc.tls_verify ? "" : ", TLS not verified");
        grpc_config_free(&grpc);
    } else if (strcmp(kind, "noop") == 0 && job_config_noop(config, &err) == 0) {
        snprintf(line, sizeof(line), "nothing: every run succeeds at once (noop)");
    } else if (job_config_check(kind, config, &err) == 0) {
        return;
    } else {
        snprintf(line, sizeof(line), "will not run: %s", err.msg);
    }
    printf("%-*s %s\n", width + 1, "task:", line);
}

/* Every column as "name: value", the task in words, the config indented below. */
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
    job_show_task(cli_field(res, 0, "kind"), cli_field(res, 0, "config"), width);
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
    int json = 0, sharded, rc = CLI_EXIT_FAILED;
    const struct cli_opt opts[] = { { "--json", NULL, &json } };
    struct exec_filter f;
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
    exec_filter_init(&f, SHOW_EXECUTIONS);
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
    sharded = db_get_int64(res, 0, PQfnumber(res, "shards"), 1) > 1;
    if ((runs = job_query_executions(db, &f)) == NULL) {
        cli_db_error(db);
        goto out;
    }
    if (json) {
        if ((doc = cli_json_row(res, 0)) == NULL || job_show_fire_times(res, doc) < 0 ||
            (sharded && job_show_shard_fire_times(db, f.job_id, doc) < 0) ||
            cli_job_deps_show(db, f.job_id, doc) < 0 || (arr = cli_json_rows(runs)) == NULL ||
            json_object_set_new(doc, "recent_executions", arr) < 0 || cli_json_print(doc) < 0)
            goto out;
    } else {
        if (job_show_fields(res) < 0 || job_show_fire_times(res, NULL) < 0 ||
            (sharded && job_show_shard_fire_times(db, f.job_id, NULL) < 0) ||
            cli_job_deps_show(db, f.job_id, NULL) < 0)
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
    { "add", job_add, "create a job: a shell command, an HTTP request, a gRPC call or a noop",
      "NAME --schedule EXPR (--shell CMD | --http URL | --grpc URL | --noop)\n"
      "                     [task options] [--tz ZONE] [--department NAME]\n"
      "                     [--timeout S] [--retries N] [--retry-backoff S]\n"
      "                     [--misfire skip|once] [--shards N] [--paused]\n"
      "                     [--after JOB[:success|failure|always]]...",
      "Create a job.  The schedule and zone are checked first (an error names the\n"
      "position), then the task's settings (an error names the setting); the\n"
      "instances compute its first fire time.\n\n" JOB_DEF_HELP CLI_JOB_DEPS_HELP
      "  --paused              create it paused (nothing runs until 'job resume')\n"
      JOB_TASK_HELP "\nexamples:\n"
      "  tablecron job add ping --schedule @hourly --http https://example.com/ping \\\n"
      "      --method POST --header 'Authorization: Bearer T' --json '{\"a\": 1}' \\\n"
      "      --expect 200,204\n"
      "  tablecron job add sum --schedule @daily --grpc http://h:50051 \\\n"
      "      --method pkg.Svc/Method --message-base64 CgVoZWxsbw== \\\n"
      "      --metadata 'authorization: Bearer T'\n"
      "  tablecron job add smoke --schedule '@every 1m' --noop\n"
      "  tablecron job add report --after extract --after load:always --shell make\n" },
    { "edit", job_edit, "change some settings of a job",
      "NAME [--schedule EXPR] [--tz ZONE] [... options of 'job add']",
      "Change the given settings of a job and nothing else; a run in progress is\n"
      "not disturbed.  A new schedule or zone applies at once to a waiting job\n"
      "(the instances compute its next fire time again).\n\n"
      "A task option changes that setting and keeps the others; it must apply to\n"
      "the job's kind.  --header and --metadata replace all the headers or all the\n"
      "metadata; --body and --json replace each other.  --shell, --http, --grpc or\n"
      "--noop on a job of another kind makes it that kind with only the settings\n"
      "given.\n\n"
      JOB_DEF_HELP CLI_JOB_DEPS_HELP JOB_TASK_HELP },
    { "ls", job_ls, "list jobs with their state and last run", "[--json]",
      "List jobs: name, department, kind, schedule and zone, status, next fire\n"
      "time (UTC) and the status of the latest execution.\n\n"
      "  --json   one JSON document on stdout instead of a table\n" },
    { "show", job_show, "one job: settings, next fire times, latest runs", "NAME [--json]",
      "Show every column of a job, its config, its next 5 fire times (UTC and in\n"
      "the job's zone), for a sharded job its latest 10 fire times with how their\n"
      "shards went, the jobs it runs after and before (dependencies), and its\n"
      "latest 10 executions.\n\n"
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
