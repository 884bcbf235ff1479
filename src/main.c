/* main.c - argv to subcommand.
 *
 *   tablecron [config flags] COMMAND [args]
 *
 * Config flags (--config FILE, --db CONNINFO, --log-level L, ...) may stand
 * before or after the command; config.c takes them out of argv before the
 * command sees the rest.  Exit codes: 0 success, 1 failure at run time
 * (database unreachable, migration failed), 2 bad usage or bad config.
 */
#include <autoconfig.h>

#include <stdio.h>
#include <string.h>

#include "cli_account.h"
#include "cli_cron.h"
#include "cli_history.h"
#include "cli_instances.h"
#include "cli_job.h"
#include "config.h"
#include "db.h"
#include "log.h"
#include "migrate.h"
#include "serve.h"

/* How long one-shot commands wait for the database before giving up. */
#define CLI_CONNECT_GIVE_UP_MS 15000

struct subcommand {
    const char *name;
    int needs_config; /* 0: pure command, runs without config or database */
    int (*run)(struct config *cfg, int argc, char **argv);
    const char *summary;
};

static int cmd_version(struct config *cfg, int argc, char **argv);
static int cmd_migrate(struct config *cfg, int argc, char **argv);
static int cmd_cron(struct config *cfg, int argc, char **argv);

static const struct subcommand subcommands[] = {
    { "serve", 1, serve_main, "run an instance (scheduler and heartbeat)" },
    { "migrate", 1, cmd_migrate, "create or upgrade the database schema" },
    { "cron", 0, cmd_cron, "preview and check schedule expressions" },
    { "job", 1, cli_job_main, "add, change, list, run, pause and kill jobs" },
    { "history", 1, cli_history_main, "list executions and show their output" },
    { "instances", 1, cli_instances_main, "list instances and whether they are alive" },
    { "user", 1, cli_account_main, "add and list users, set passwords, disable users" },
    { "dept", 1, cli_account_main, "add and list departments" },
    { "member", 1, cli_account_main, "give users roles in departments" },
    { "token", 1, cli_account_main, "create, list and revoke API tokens" },
    { "version", 0, cmd_version, "print the version" },
};

static void
usage(FILE *out)
{
    size_t nopts;
    const struct cfg_opt *opts = config_options(&nopts);

    fprintf(out, "usage: tablecron [config flags] COMMAND [args]\n\ncommands:\n");
    for (size_t i = 0; i < TC_ARRAY_LEN(subcommands); i++)
        fprintf(out, "  %-10s %s\n", subcommands[i].name, subcommands[i].summary);
    fprintf(out, "\n'tablecron COMMAND --help' describes each command.\n\n"
                 "config flags (also 'key = value' in the config file and TABLECRON_KEY in\n"
                 "the environment; flags win over the environment, which wins over the file):\n"
                 "  --config FILE          config file (default %s)\n",
            config_default_path());
    for (size_t i = 0; i < nopts; i++) {
        char flag[64];
        size_t j = 0;
        for (const char *p = opts[i].name; *p != '\0' && j < sizeof(flag) - 1; p++)
            flag[j++] = *p == '_' ? '-' : *p;
        flag[j] = '\0';
        fprintf(out, "  --%-20s %s (default: %s)\n", flag, opts[i].help,
                opts[i].dflt[0] != '\0' ? opts[i].dflt : "empty");
    }
    fprintf(out, "\nexit codes: 0 success, 1 failure, 2 bad usage or configuration\n");
}

static int
wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return 1;
    }
    return 0;
}

static int
cmd_version(struct config *cfg, int argc, char **argv)
{
    (void)cfg;
    if (wants_help(argc, argv)) {
        printf("usage: tablecron version\n\nPrint the version of tablecron.\n");
        return 0;
    }
    if (argc > 1) {
        fprintf(stderr, "tablecron version: unexpected argument '%s'\n", argv[1]);
        return 2;
    }
    printf("tablecron %s\n", PACKAGE_VERSION);
    return 0;
}

static int
cmd_cron(struct config *cfg, int argc, char **argv)
{
    (void)cfg;
    return cli_cron_main(argc, argv);
}

static void
migrate_usage(FILE *out)
{
    fprintf(out, "usage: tablecron migrate [--status] [--db CONNINFO] [--migrations-dir DIR]\n"
                 "\n"
                 "Apply the pending schema migrations, each in its own transaction, under an\n"
                 "advisory lock (concurrent runs are safe; a second run changes nothing).\n"
                 "  --status   list applied and pending migrations; change nothing\n");
}

static int
cmd_migrate(struct config *cfg, int argc, char **argv)
{
    struct db *db = NULL;
    int status_only = 0, count = 0;
    int rc = 1;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            migrate_usage(stdout);
            return 0;
        } else if (strcmp(argv[i], "--status") == 0) {
            status_only = 1;
        } else {
            fprintf(stderr, "tablecron migrate: unknown argument '%s'\n", argv[i]);
            migrate_usage(stderr);
            return 2;
        }
    }
    if ((db = db_new(cfg->db)) == NULL || db_connect(db, CLI_CONNECT_GIVE_UP_MS) < 0)
        goto out;
    if (status_only) {
        if (migrate_status(db, cfg->migrations_dir, stdout, &count) < 0)
            goto out;
    } else {
        if (migrate_apply(db, cfg->migrations_dir, &count) < 0)
            goto out;
        log_info(count > 0 ? "schema is up to date" : "schema was already up to date",
                 "applied=%d", count);
    }
    rc = 0;
out:
    db_free(db);
    return rc;
}

/* The first argument that is not a config flag (or its value) names the
 * command; config_load() has already removed those, so it is argv[0]. */
int
main(int argc, char **argv)
{
    const struct subcommand *sub = NULL;
    struct config cfg;
    struct config_error err;
    int rest_argc = argc - 1;
    char **rest = argv + 1;
    int rc;

    memset(&cfg, 0, sizeof(cfg));
    if (config_load(&cfg, &rest_argc, rest, &err) < 0) {
        fprintf(stderr, "tablecron: %s\n", err.msg);
        return 2;
    }
    log_set_level((enum log_level)cfg.log_level);

    if (rest_argc == 0) {
        usage(stderr);
        rc = 2;
        goto out;
    }
    if (strcmp(rest[0], "--help") == 0 || strcmp(rest[0], "-h") == 0 ||
        strcmp(rest[0], "help") == 0) {
        usage(stdout);
        rc = 0;
        goto out;
    }
    if (strcmp(rest[0], "--version") == 0 || strcmp(rest[0], "-V") == 0) {
        printf("tablecron %s\n", PACKAGE_VERSION);
        rc = 0;
        goto out;
    }
    for (size_t i = 0; i < TC_ARRAY_LEN(subcommands); i++) {
        if (strcmp(rest[0], subcommands[i].name) == 0)
            sub = &subcommands[i];
    }
    if (sub == NULL) {
        fprintf(stderr, "tablecron: unknown command '%s' (see 'tablecron --help')\n", rest[0]);
        rc = 2;
        goto out;
    }
    rc = sub->run(&cfg, rest_argc, rest);
out:
    config_free(&cfg);
    return rc;
}
