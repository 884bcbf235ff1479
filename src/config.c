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
#include <strings.h>

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
    { "history_keep_days", CFG_INT, CFG_AT(history_keep_days), "30",
      "executions that ended longer ago are deleted, but each job's newest (0-36500; 0: kept)" },
    { "history_keep_per_job", CFG_INT, CFG_AT(history_keep_per_job), "1000",
      "older executions beyond this many per job are deleted (0-10000000; 0: no limit)" },
    { "history_prune_interval", CFG_DURATION, CFG_AT(history_prune_us), "1h",
      "how often one of the instances deletes what the two history_keep limits no longer keep (1s-1d)" },
    { "sendmail_path", CFG_STRING, CFG_AT(sendmail_path), "/usr/sbin/sendmail",
      "program the email alert channels run as `sendmail_path -t -i`, the message on stdin" },
    { "etcd_endpoints", CFG_STRING, CFG_AT(etcd_endpoints), "",
      "etcd URLs (http:// or https://, comma-separated) to mirror jobs to; empty: off" },
    { "etcd_prefix", CFG_STRING, CFG_AT(etcd_prefix), "/tablecron/jobs/",
      "etcd key prefix of the mirror; a job is at <prefix><department>/<name>" },
    { "etcd_username", CFG_STRING, CFG_AT(etcd_username), "",
      "etcd user of the mirror when etcd has authentication on; empty: none" },
    { "etcd_password", CFG_STRING, CFG_AT(etcd_password), "",
      "password of etcd_username (prefer the config file to the flag)" },
    { "etcd_reconcile_interval", CFG_DURATION, CFG_AT(etcd_reconcile_us), "5m",
      "how often the mirror compares every key under the prefix with the jobs (10s-1d)" },
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
    { "history_keep_days", 0, 36500 },
    { "history_keep_per_job", 0, 10000000 },
    { "history_prune_interval", 1000000, INT64_C(86400000000) },
    { "etcd_reconcile_interval", 10000000, INT64_C(86400000000) },
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

/*
 * One URL of etcd_endpoints, url[0..len): http:// or https://, a host, an
 * optional port, an optional path (a gateway behind a proxy), nothing
 * else.  Credentials in the URL are refused so that they can never reach
 * a log line; the mirror has etcd_username and etcd_password for them.
 */
static int
check_etcd_url(const char *url, size_t len, char *why, size_t size)
{
    size_t i, host_start, host_end;

    /* Any '@' first (a password may hold '/' or spaces too): user info is
     * refused, and the URL is not echoed whole, since the part before '@'
     * holds a password. */
    for (i = len; i > 0; i--) {
        if (url[i - 1] == '@') {
            snprintf(why, size,
                     "'...@%.*s' holds credentials; use etcd_username and etcd_password instead",
                     (int)(len - i), url + i);
            return -1;
        }
    }
    for (i = 0; i < len; i++) {
        if ((unsigned char)url[i] <= ' ' || url[i] == 0x7f) {
            snprintf(why, size, "'%.*s' holds a space or a control character", (int)len, url);
            return -1;
        }
    }
    if (len > 7 && strncasecmp(url, "http://", 7) == 0)
        host_start = 7;
    else if (len > 8 && strncasecmp(url, "https://", 8) == 0)
        host_start = 8;
    else {
        snprintf(why, size, "'%.*s' is not an http:// or https:// URL", (int)len, url);
        return -1;
    }
    host_end = host_start;
    while (host_end < len && url[host_end] != '/')
        host_end++;
    for (i = host_start; i < len; i++) {
        if (url[i] == '?' || url[i] == '#') {
            snprintf(why, size, "'%.*s' has a query or a fragment; give scheme://host:port",
                     (int)len, url);
            return -1;
        }
    }
    if (url[host_start] == '[') {
        /* [v6]:port */
        const char *close = memchr(url + host_start, ']', host_end - host_start);
        i = close != NULL ? (size_t)(close - url) + 1 : host_end;
        if (close == NULL || close == url + host_start + 1 ||
            (i < host_end && url[i] != ':')) {
            snprintf(why, size, "'%.*s' has a malformed [IPv6] address", (int)len, url);
            return -1;
        }
    } else {
        i = host_start;
        while (i < host_end && url[i] != ':')
            i++;
        if (i == host_start) {
            snprintf(why, size, "'%.*s' has no host", (int)len, url);
            return -1;
        }
    }
    if (i < host_end) {
        /* url[i] is ':', a port follows */
        long port = 0;
        size_t digits = 0;
        for (i++; i < host_end; i++, digits++) {
            if (url[i] < '0' || url[i] > '9' || digits >= 5)
                break;
            port = port * 10 + (url[i] - '0');
        }
        if (i < host_end || digits == 0 || port < 1 || port > 65535) {
            snprintf(why, size, "'%.*s' has a bad port (1 to 65535)", (int)len, url);
            return -1;
        }
    }
    return 0;
}

/* etcd_endpoints: empty (no mirror), or a comma-separated list of URLs. */
static int
check_etcd_endpoints(const char *value, char *why, size_t size)
{
    const char *p = value;

    if (*value == '\0')
        return 0;
    for (;;) {
        const char *end = strchr(p, ',');
        size_t len = end != NULL ? (size_t)(end - p) : strlen(p);

        while (len > 0 && (*p == ' ' || *p == '\t')) {
            p++;
            len--;
        }
        while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
            len--;
        if (len == 0) {
            snprintf(why, size, "an empty URL in the list (two commas, or one at an end)");
            return -1;
        }
        if (check_etcd_url(p, len, why, size) < 0)
            return -1;
        if (end == NULL)
            return 0;
        p = end + 1;
    }
}

/* etcd_prefix: the mirror deletes whatever it finds under it that is not
 * a job, so it must name a directory of its own, never all of etcd. */
static int
check_etcd_prefix(const char *value, char *why, size_t size)
{
    if (*value == '\0') {
        snprintf(why, size, "must not be empty (the default is /tablecron/jobs/)");
        return -1;
    }
    if (value[0] != '/') {
        snprintf(why, size, "'%s' must start with '/'", value);
        return -1;
    }
    if (strcmp(value, "/") == 0) {
        snprintf(why, size,
                 "'/' would let the mirror delete every key of etcd; name a directory of its "
                 "own, e.g. /tablecron/jobs/");
        return -1;
    }
    if (strlen(value) > 512) {
        snprintf(why, size, "is longer than 512 bytes");
        return -1;
    }
    for (const char *p = value; *p != '\0'; p++) {
        if ((unsigned char)*p < ' ' || *p == 0x7f) {
            snprintf(why, size, "'%s' holds a control character", value);
            return -1;
        }
    }
    return 0;
}

/* Checks of string options by name, as cfg_bounds is for numbers. */
static const struct {
    const char *name;
    int (*check)(const char *value, char *why, size_t size);
} cfg_checks[] = {
    { "etcd_endpoints", check_etcd_endpoints },
    { "etcd_prefix", check_etcd_prefix },
};

static int
check_string(const struct cfg_opt *opt, const char *value, const char *where,
             struct config_error *err)
{
    char why[400];

    for (size_t i = 0; i < TC_ARRAY_LEN(cfg_checks); i++) {
        if (strcmp(cfg_checks[i].name, opt->name) != 0)
            continue;
        if (cfg_checks[i].check(value, why, sizeof(why)) == 0)
            return 0;
        set_error(err, "%s: %s: %s", where, opt->name, why);
        return -1;
    }
    return 0;
}

/* Settings that only make sense together, checked once every source is in. */
static int
check_combined(const struct config *cfg, struct config_error *err)
{
    if ((cfg->etcd_username[0] == '\0') != (cfg->etcd_password[0] == '\0')) {
        set_error(err, "etcd_username and etcd_password must be set together (%s is empty)",
                  cfg->etcd_username[0] == '\0' ? "etcd_username" : "etcd_password");
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

/* Strings may be passwords (db, etcd_password): do not leave them in freed
 * memory. */
static void
free_secret(char *s)
{
    if (s != NULL) {
        explicit_bzero(s, strlen(s));
        free(s);
    }
}

/* Parse `value` for `opt` and store it; `where` names the source for errors. */
static int
set_value(struct config *cfg, const struct cfg_opt *opt, const char *value, const char *where,
          struct config_error *err)
{
    char *field = (char *)cfg + opt->offset;

    switch (opt->type) {
    case CFG_STRING: {
        char *copy;
        if (check_string(opt, value, where, err) < 0)
            return -1;
        if ((copy = strdup(value)) == NULL) {
            set_error(err, "%s: out of memory", where);
            return -1;
        }
        free_secret(*(char **)field);
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
        free_secret(flags[i]);
    free(flags);
}

void
config_free(struct config *cfg)
{
    for (size_t i = 0; i < TC_ARRAY_LEN(cfg_opts); i++) {
        if (cfg_opts[i].type == CFG_STRING) {
            char **field = (char **)((char *)cfg + cfg_opts[i].offset);
            free_secret(*field);
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
    return check_combined(cfg, err);
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
