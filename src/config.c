/* config.c - the option table and its three sources.
 *
 * Glossary: an *option* is a row of cfg_opts; a *source* is where a value
 * came from (default, file, environment, flag).  Values from every source go
 * through the same setter, so a bad value is reported the same way wherever
 * it was written, only the location differs ("FILE:LINE", "environment
 * TABLECRON_X", "flag --x").
 */
#include <autoconfig.h>

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "duration.h"
#include "log.h"

#define CFG_AT(field) offsetof(struct config, field)

static const struct cfg_opt cfg_opts[] = {
    /* name            type           field                   default */
    { "db", CFG_STRING, CFG_AT(db), "",
      "PostgreSQL connection string or URI; empty uses libpq's PG* environment" },
    { "log_level", CFG_LOG_LEVEL, CFG_AT(log_level), "info",
      "lowest level logged: debug, info, warn or error" },
    { "migrations_dir", CFG_STRING, CFG_AT(migrations_dir), TC_PKGDATADIR "/migrations",
      "directory holding the numbered NNNN_name.sql schema migrations" },
    { "instance_id", CFG_STRING, CFG_AT(instance_id), "",
      "name of this instance in the instances table; empty means hostname:pid" },
    { "lease", CFG_DURATION, CFG_AT(lease_us), "30s",
      "how long a claim or heartbeat stays valid without renewal (at least 3s)" },
    { "max_running", CFG_INT, CFG_AT(max_running), "16",
      "executions this instance runs at once (1-10000)" },
    { "batch", CFG_INT, CFG_AT(batch), "100",
      "due jobs fetched per claim round (1-10000)" },
    { "max_poll", CFG_DURATION, CFG_AT(max_poll_us), "10s",
      "longest sleep between two looks at the jobs table (100ms-1h)" },
    { "grace", CFG_DURATION, CFG_AT(grace_us), "30s",
      "on SIGTERM, how long running tasks may finish before they are killed" },
    { "misfire_grace", CFG_DURATION, CFG_AT(misfire_grace_us), "10s",
      "how late a fire time may start and still count as on time (1s-1d)" },
    { "listen", CFG_STRING, CFG_AT(listen), "127.0.0.1:8080",
      "address of the API and pages: host:port, [v6]:port or :port for every address" },
    { "api_url", CFG_STRING, CFG_AT(api_url), "",
      "URL at which others reach this instance's API; empty means http://<listen>" },
    { "www_dir", CFG_STRING, CFG_AT(www_dir), TC_PKGDATADIR "/www",
      "directory of the admin pages served at /; empty: the API alone" },
    { "http_threads", CFG_INT, CFG_AT(http_threads), "4",
      "worker threads of the API, each with its own database connection (1-256)" },
    { "max_body", CFG_INT, CFG_AT(max_body), "1048576",
      "largest request body the API accepts, in bytes (1024-67108864)" },
    { "session_ttl", CFG_DURATION, CFG_AT(session_ttl_us), "12h",
      "a browser session ends after this long without a request (1m-30d)" },
    { "cookie_secure", CFG_INT, CFG_AT(cookie_secure), "0",
      "1: mark the session cookie Secure (the pages are served over HTTPS)" },
};

const struct cfg_opt *
config_options(size_t *count)
{
    *count = TC_ARRAY_LEN(cfg_opts);
    return cfg_opts;
}

const char *
config_default_path(void)
{
    return TC_SYSCONFDIR "/tablecron/tablecron.conf";
}

static void TC_PRINTF(2, 3)
set_error(struct config_error *err, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
}

/* Bounds checks by name, so the table stays one line per option. */
static const struct {
    const char *name;
    int64_t min, max; /* ints as they are; durations in microseconds */
} cfg_bounds[] = {
    { "lease", 3000000, INT64_C(86400000000) },
    { "max_running", 1, 10000 },
    { "batch", 1, 10000 },
    { "max_poll", 100000, INT64_C(3600000000) },
    { "grace", 0, INT64_C(86400000000) },
    { "misfire_grace", 1000000, INT64_C(86400000000) },
    { "http_threads", 1, 256 },
    { "max_body", 1024, 67108864 },
    { "session_ttl", 60000000, INT64_C(2592000000000) },
    { "cookie_secure", 0, 1 },
};

/* Check v against the bounds of opt; fills err and returns -1 if outside. */
static int
check_bounds(const struct cfg_opt *opt, int64_t v, const char *value, const char *where,
             struct config_error *err)
{
    for (size_t i = 0; i < TC_ARRAY_LEN(cfg_bounds); i++) {
        if (strcmp(cfg_bounds[i].name, opt->name) != 0)
            continue;
        if (v >= cfg_bounds[i].min && v <= cfg_bounds[i].max)
            return 0;
        if (opt->type == CFG_DURATION) {
            char lo[32], hi[32];
            if (duration_format(cfg_bounds[i].min, lo, sizeof(lo)) < 0 ||
                duration_format(cfg_bounds[i].max, hi, sizeof(hi)) < 0)
                snprintf(lo, sizeof(lo), "?");
            set_error(err, "%s: %s: '%s' is out of range (%s to %s)", where, opt->name, value, lo,
                      hi);
        } else {
            set_error(err, "%s: %s: '%s' is out of range (%lld to %lld)", where, opt->name, value,
                      (long long)cfg_bounds[i].min, (long long)cfg_bounds[i].max);
        }
        return -1;
    }
    return 0;
}

/* Levenshtein distance, bounded: good enough for "did you mean". */
static size_t
edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    size_t row[64];

    if (la >= TC_ARRAY_LEN(row) || lb >= TC_ARRAY_LEN(row))
        return SIZE_MAX;
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            size_t best = diag + cost;
            if (row[j] + 1 < best)
                best = row[j] + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

static const struct cfg_opt *
find_opt(const char *name)
{
    for (size_t i = 0; i < TC_ARRAY_LEN(cfg_opts); i++) {
        if (strcmp(cfg_opts[i].name, name) == 0)
            return &cfg_opts[i];
    }
    return NULL;
}

/* " (did you mean 'lease'?)" or "" */
static const char *
suggest(const char *name, char *buf, size_t size)
{
    const struct cfg_opt *best = NULL;
    size_t best_d = 3;

    for (size_t i = 0; i < TC_ARRAY_LEN(cfg_opts); i++) {
        size_t d = edit_distance(name, cfg_opts[i].name);
        if (d < best_d) {
            best_d = d;
            best = &cfg_opts[i];
        }
    }
    if (best == NULL)
        return "";
    snprintf(buf, size, " (did you mean '%s'?)", best->name);
    return buf;
}

/* Parse `value` for `opt` and store it; `where` names the source for errors. */
static int
set_value(struct config *cfg, const struct cfg_opt *opt, const char *value, const char *where,
          struct config_error *err)
{
    char *field = (char *)cfg + opt->offset;

    switch (opt->type) {
    case CFG_STRING: {
        char *copy = strdup(value);
        if (copy == NULL) {
            set_error(err, "%s: out of memory", where);
            return -1;
        }
        free(*(char **)field);
        *(char **)field = copy;
        return 0;
    }
    case CFG_LOG_LEVEL: {
        int level = log_level_parse(value);
        if (level < 0) {
            set_error(err, "%s: %s: unknown log level '%s' (use debug, info, warn or error)",
                      where, opt->name, value);
            return -1;
        }
        *(int *)field = level;
        return 0;
    }
    case CFG_DURATION: {
        struct duration_error derr;
        int64_t us;
        if (duration_parse(value, &us, &derr) < 0) {
            set_error(err, "%s: %s: %s in '%s' (write e.g. 30s, 5m or 1h30m)", where, opt->name,
                      derr.msg, value);
            return -1;
        }
        if (check_bounds(opt, us, value, where, err) < 0)
            return -1;
        *(int64_t *)field = us;
        return 0;
    }
    case CFG_INT: {
        char *end;
        long long v;
        errno = 0;
        v = strtoll(value, &end, 10);
        if (errno != 0 || end == value || *end != '\0') {
            set_error(err, "%s: %s: '%s' is not a whole number", where, opt->name, value);
            return -1;
        }
        if (check_bounds(opt, v, value, where, err) < 0)
            return -1;
        *(int *)field = (int)v;
        return 0;
    }
    }
    set_error(err, "%s: %s: unsupported option type", where, opt->name);
    return -1;
}

static char *
trim(char *s)
{
    char *end;

    while (isspace((unsigned char)*s))
        s++;
    end = s + strlen(s);
    while (end > s && isspace((unsigned char)end[-1]))
        *--end = '\0';
    return s;
}

/*
 * A value may be "double-quoted" to keep leading or trailing spaces; inside
 * quotes \" and \\ are escapes.  An unquoted value runs to the end of the
 * line: '#' there is part of the value (passwords may contain it).
 */
static int
unquote(char *value, const char *where, const char *key, struct config_error *err)
{
    size_t len = strlen(value);
    char *out = value;

    if (len == 0 || value[0] != '"')
        return 0;
    if (len < 2 || value[len - 1] != '"') {
        set_error(err, "%s: %s: missing closing '\"'", where, key);
        return -1;
    }
    value[len - 1] = '\0';
    for (const char *in = value + 1; *in != '\0'; in++) {
        if (*in == '\\' && (in[1] == '"' || in[1] == '\\'))
            in++;
        *out++ = *in;
    }
    *out = '\0';
    return 0;
}

static int
load_file(struct config *cfg, const char *path, int required, struct config_error *err)
{
    FILE *fp;
    char line[4096];
    int lineno = 0;
    int rc = -1;

    if ((fp = fopen(path, "r")) == NULL) {
        if (!required && errno == ENOENT)
            return 0;
        set_error(err, "%s: cannot open config file: %s", path, strerror(errno));
        return -1;
    }
    while (fgets(line, sizeof(line), fp) != NULL) {
        char where[600], hint[64];
        const struct cfg_opt *opt;
        char *key, *value, *eq;

        lineno++;
        snprintf(where, sizeof(where), "%s:%d", path, lineno);
        if (strchr(line, '\n') == NULL && !feof(fp)) {
            set_error(err, "%s: line too long (at most %zu bytes)", where, sizeof(line) - 2);
            goto out;
        }
        key = trim(line);
        if (*key == '\0' || *key == '#' || *key == ';')
            continue;
        if ((eq = strchr(key, '=')) == NULL) {
            set_error(err, "%s: expected 'key = value', got '%s'", where, key);
            goto out;
        }
        *eq = '\0';
        value = trim(eq + 1);
        key = trim(key);
        if ((opt = find_opt(key)) == NULL) {
            set_error(err, "%s: unknown key '%s'%s", where, key, suggest(key, hint, sizeof(hint)));
            goto out;
        }
        if (unquote(value, where, key, err) < 0 || set_value(cfg, opt, value, where, err) < 0)
            goto out;
    }
    if (ferror(fp)) {
        set_error(err, "%s: read error: %s", path, strerror(errno));
        goto out;
    }
    if ((cfg->config_file = strdup(path)) == NULL) {
        set_error(err, "%s: out of memory", path);
        goto out;
    }
    rc = 0;
out:
    fclose(fp);
    return rc;
}

static int
load_env(struct config *cfg, struct config_error *err)
{
    for (size_t i = 0; i < TC_ARRAY_LEN(cfg_opts); i++) {
        char name[64], where[96];
        const char *value;
        size_t j;

        j = (size_t)snprintf(name, sizeof(name), "TABLECRON_");
        for (const char *p = cfg_opts[i].name; *p != '\0' && j < sizeof(name) - 1; p++)
            name[j++] = (char)toupper((unsigned char)*p);
        name[j] = '\0';
        if ((value = getenv(name)) == NULL)
            continue;
        snprintf(where, sizeof(where), "environment %s", name);
        if (set_value(cfg, &cfg_opts[i], value, where, err) < 0)
            return -1;
    }
    return 0;
}

/* "--max-running" -> option "max_running"; NULL if it is not a config flag. */
static const struct cfg_opt *
flag_opt(const char *arg, size_t name_len)
{
    char name[64];

    if (name_len >= sizeof(name))
        return NULL;
    for (size_t i = 0; i < name_len; i++)
        name[i] = arg[i] == '-' ? '_' : arg[i];
    name[name_len] = '\0';
    return find_opt(name);
}

/*
 * Take the config flags out of argv (in place; *argc updated): `--config F`
 * into *file_arg, every `--key V` / `--key=V` as "key=V" into *flags.
 */
static int
take_flags(int *argc, char **argv, char **file_arg, char ***flags, size_t *nflags,
           struct config_error *err)
{
    int in = 0, out = 0;

    while (in < *argc) {
        char *arg = argv[in];
        const char *name, *value;
        const struct cfg_opt *opt = NULL;
        size_t name_len;
        int is_config;
        char *copy;

        if (strcmp(arg, "--") == 0) {
            while (in < *argc)
                argv[out++] = argv[in++];
            break;
        }
        if (strncmp(arg, "--", 2) != 0) {
            argv[out++] = argv[in++];
            continue;
        }
        name = arg + 2;
        value = strchr(name, '=');
        name_len = value != NULL ? (size_t)(value - name) : strlen(name);
        is_config = name_len == 6 && strncmp(name, "config", 6) == 0;
        if (!is_config && (opt = flag_opt(name, name_len)) == NULL) {
            argv[out++] = argv[in++];
            continue;
        }
        if (value != NULL) {
            value++;
            in++;
        } else if (in + 1 < *argc) {
            value = argv[in + 1];
            in += 2;
        } else {
            set_error(err, "flag --%.*s needs a value", (int)name_len, name);
            return -1;
        }
        if (is_config) {
            free(*file_arg);
            copy = *file_arg = strdup(value);
        } else {
            char **grown = realloc(*flags, (*nflags + 1) * sizeof(char *));
            if (grown == NULL) {
                set_error(err, "out of memory");
                return -1;
            }
            *flags = grown;
            if ((copy = malloc(strlen(opt->name) + strlen(value) + 2)) != NULL) {
                sprintf(copy, "%s=%s", opt->name, value);
                (*flags)[(*nflags)++] = copy;
            }
        }
        if (copy == NULL) {
            set_error(err, "out of memory");
            return -1;
        }
    }
    *argc = out;
    argv[out] = NULL;
    return 0;
}

static void
free_flags(char **flags, size_t nflags)
{
    for (size_t i = 0; i < nflags; i++)
        free(flags[i]);
    free(flags);
}

void
config_free(struct config *cfg)
{
    for (size_t i = 0; i < TC_ARRAY_LEN(cfg_opts); i++) {
        if (cfg_opts[i].type == CFG_STRING) {
            char **field = (char **)((char *)cfg + cfg_opts[i].offset);
            free(*field);
            *field = NULL;
        }
    }
    free(cfg->config_file);
    free_flags(cfg->flag_args, cfg->flag_count);
    free(cfg->file_arg);
    memset(cfg, 0, sizeof(*cfg));
}

/* defaults < file < environment < flags, into an empty cfg. */
static int
load_sources(struct config *cfg, const char *file_arg, char *const *flags, size_t nflags,
             struct config_error *err)
{
    const char *file = file_arg;
    int required = 1;

    for (size_t i = 0; i < TC_ARRAY_LEN(cfg_opts); i++) {
        char where[96];
        snprintf(where, sizeof(where), "default of %s", cfg_opts[i].name);
        if (set_value(cfg, &cfg_opts[i], cfg_opts[i].dflt, where, err) < 0)
            return -1;
    }
    if (file == NULL)
        file = getenv("TABLECRON_CONFIG");
    if (file == NULL) {
        file = config_default_path();
        required = 0;
    }
    if (*file != '\0' && load_file(cfg, file, required, err) < 0)
        return -1;
    if (load_env(cfg, err) < 0)
        return -1;
    for (size_t i = 0; i < nflags; i++) {
        const char *eq = strchr(flags[i], '=');
        char name[64], where[96];
        snprintf(name, sizeof(name), "%.*s", (int)(eq - flags[i]), flags[i]);
        snprintf(where, sizeof(where), "flag --%s", name);
        for (char *p = where; *p != '\0'; p++)
            if (*p == '_')
                *p = '-';
        if (set_value(cfg, find_opt(name), eq + 1, where, err) < 0)
            return -1;
    }
    return 0;
}

int
config_load(struct config *cfg, int *argc, char **argv, struct config_error *err)
{
    char **flags = NULL;
    size_t nflags = 0;
    char *file_arg = NULL;

    memset(cfg, 0, sizeof(*cfg));
    err->msg[0] = '\0';
    if (take_flags(argc, argv, &file_arg, &flags, &nflags, err) < 0 ||
        load_sources(cfg, file_arg, flags, nflags, err) < 0) {
        free_flags(flags, nflags);
        free(file_arg);
        config_free(cfg);
        return -1;
    }
    cfg->flag_args = flags;
    cfg->flag_count = nflags;
    cfg->file_arg = file_arg;
    return 0;
}

int
config_reload(struct config *cfg, struct config_error *err)
{
    struct config fresh;

    memset(&fresh, 0, sizeof(fresh));
    err->msg[0] = '\0';
    if (load_sources(&fresh, cfg->file_arg, cfg->flag_args, cfg->flag_count, err) < 0) {
        config_free(&fresh);
        return -1;
    }
    /* The sources move over to the new struct unchanged. */
    fresh.flag_args = cfg->flag_args;
    fresh.flag_count = cfg->flag_count;
    fresh.file_arg = cfg->file_arg;
    cfg->flag_args = NULL;
    cfg->flag_count = 0;
    cfg->file_arg = NULL;
    config_free(cfg);
    *cfg = fresh;
    return 0;
}
