/* config.h - settings: one option table, file < TABLECRON_* env < flags.
 *
 * Every setting is a row of the table in config.c; that table is the only
 * list of options.  The sample etc/tablecron.conf and the documentation are
 * checked against it by the test suite.
 */
#ifndef TC_CONFIG_H
#define TC_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"

struct config {
    char *db;             /* owned; libpq conninfo or URI, "" = PG* environment */
    char *migrations_dir; /* owned */
    char *instance_id;    /* owned; "" = hostname:pid, filled in by serve */
    int log_level;        /* enum log_level */
    int64_t lease_us;     /* how long a claim lasts without renewal */
    int max_running;      /* executions this instance runs at once */
    int batch;            /* due rows fetched per claim round */
    int64_t max_poll_us;  /* longest sleep between looks at the jobs table */
    int64_t grace_us;     /* on SIGTERM, how long running tasks may finish */
    int64_t misfire_grace_us; /* how late a fire time may start and still count */
    char *listen;         /* owned; host:port of the API */
    char *api_url;        /* owned; "" = http://<listen> */
    char *www_dir;        /* owned; the admin pages, "" = not served */
    int http_threads;     /* API worker threads */
    int max_body;         /* bytes */
    int64_t session_ttl_us;
    int cookie_secure;    /* 0 or 1 */
    int history_keep_days;    /* executions older are pruned, 0 = kept */
    int history_keep_per_job; /* executions beyond this many per job are pruned, 0 = no limit */
    int64_t history_prune_us; /* how often serve prunes */
    char *sendmail_path;  /* owned; the alerts' email goes through `<it> -t -i` */
    char *etcd_endpoints; /* owned; comma-separated http(s) URLs, "" = no etcd mirror */
    char *etcd_prefix;    /* owned; keys are <prefix><department>/<name> */
    char *etcd_username;  /* owned; "" = no etcd authentication */
    char *etcd_password;  /* owned; a secret: never logged */
    int64_t etcd_reconcile_us; /* how often the mirror compares all of etcd */
    char *config_file;    /* owned; the file that was read, NULL if none */
    /* What config_load() was given, so that config_reload() can re-read the
     * same sources in the same order. */
    char **flag_args;     /* owned; the consumed flags as "name=value" */
    size_t flag_count;
    char *file_arg;       /* owned; --config or $TABLECRON_CONFIG, NULL = default */
};

struct config_error {
    char msg[512]; /* one line, names the file, line and key when it can */
};

enum cfg_type { CFG_STRING, CFG_INT, CFG_DURATION, CFG_LOG_LEVEL };

struct cfg_opt {
    const char *name;    /* key in the file; "--name-with-dashes" as a flag */
    enum cfg_type type;
    size_t offset;       /* of the field in struct config */
    const char *dflt;    /* default as text, parsed like any other value */
    const char *help;    /* one line for --help and the docs */
};

/*
 * Fill cfg from the defaults, the config file, the environment and the flags
 * in argv (in that order, later wins).  Recognised flags (`--config FILE`,
 * `--key VALUE`, `--key=VALUE`) are removed from argv in place and *argc is
 * updated; everything after a bare "--" is left alone.  The file is
 * --config, else $TABLECRON_CONFIG, else the default path if it exists.
 * On error cfg is left empty (safe to config_free) and err says what to fix.
 */
int config_load(struct config *cfg, int *argc, char **argv, struct config_error *err) TC_MUST_CHECK;

/*
 * Re-read defaults, file, environment and the original flags into a fresh
 * struct; on success *cfg is replaced, on error it is left untouched.
 */
int config_reload(struct config *cfg, struct config_error *err) TC_MUST_CHECK;

void config_free(struct config *cfg);

/* The option table, for --help and the documentation checks. */
const struct cfg_opt *config_options(size_t *count);

/* The default config file path (from configure's sysconfdir). */
const char *config_default_path(void);

#endif
