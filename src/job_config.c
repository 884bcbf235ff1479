/* job_config.c - strict parsing of the per-kind task parameters. */
#include <autoconfig.h>

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "job_config.h"

static void TC_PRINTF(3, 4)
set_error(struct job_config_error *err, const char *field, const char *fmt, ...)
{
    va_list ap;

    snprintf(err->field, sizeof(err->field), "%s", field);
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
}

/* Environment names: what a shell can read back ([A-Za-z_][A-Za-z0-9_]*). */
static int
valid_env_name(const char *name)
{
    if (!((*name >= 'A' && *name <= 'Z') || (*name >= 'a' && *name <= 'z') || *name == '_'))
        return 0;
    for (const char *p = name + 1; *p != '\0'; p++) {
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || *p == '_' ||
              (*p >= '0' && *p <= '9')))
            return 0;
    }
    return 1;
}

void
shell_config_free(struct shell_config *cfg)
{
    free(cfg->command);
    for (char **e = cfg->env; e != NULL && *e != NULL; e++)
        free(*e);
    free(cfg->env);
    free(cfg->cwd);
    memset(cfg, 0, sizeof(*cfg));
}

static int
parse_env(json_t *env, struct shell_config *out, struct job_config_error *err)
{
    const char *key;
    json_t *value;
    size_t n = 0;

    if (!json_is_object(env)) {
        set_error(err, "env", "env must be an object of strings");
        return -1;
    }
    if ((out->env = calloc(json_object_size(env) + 1, sizeof(char *))) == NULL)
        goto oom;
    json_object_foreach(env, key, value) {
        char field[64];
        snprintf(field, sizeof(field), "env.%s", key);
        if (!valid_env_name(key)) {
            set_error(err, field, "env: '%.40s' is not a valid variable name", key);
            return -1;
        }
        if (!json_is_string(value)) {
            set_error(err, field, "env.%.40s must be a string", key);
            return -1;
        }
        if (strlen(json_string_value(value)) != json_string_length(value)) {
            set_error(err, field, "env.%.40s must not contain NUL characters", key);
            return -1;
        }
        if ((out->env[n] = malloc(strlen(key) + json_string_length(value) + 2)) == NULL)
            goto oom;
        sprintf(out->env[n++], "%s=%s", key, json_string_value(value));
    }
    return 0;
oom:
    set_error(err, "", "out of memory");
    return -1;
}

int
job_config_shell(const char *json, struct shell_config *out, struct job_config_error *err)
{
    json_error_t jerr;
    json_t *root = NULL;
    const char *key;
    json_t *value;
    int rc = -1;

    memset(out, 0, sizeof(*out));
    memset(err, 0, sizeof(*err));
    out->output_limit = JOB_CONFIG_OUTPUT_DEFAULT;
    if ((root = json_loads(json, JSON_REJECT_DUPLICATES, &jerr)) == NULL) {
        set_error(err, "", "config is not valid JSON: %s", jerr.text);
        goto out;
    }
    if (!json_is_object(root)) {
        set_error(err, "", "config must be a JSON object");
        goto out;
    }
    json_object_foreach(root, key, value) {
        if (strcmp(key, "command") == 0) {
            if (!json_is_string(value) || json_string_length(value) == 0) {
                set_error(err, "command", "command must be a non-empty string");
                goto out;
            }
            if (strlen(json_string_value(value)) != json_string_length(value)) {
                set_error(err, "command", "command must not contain NUL characters");
                goto out;
            }
            if ((out->command = strdup(json_string_value(value))) == NULL)
                goto oom;
        } else if (strcmp(key, "env") == 0) {
            if (parse_env(value, out, err) < 0)
                goto out;
        } else if (strcmp(key, "cwd") == 0) {
            if (!json_is_string(value) || json_string_value(value)[0] != '/') {
                set_error(err, "cwd", "cwd must be an absolute path");
                goto out;
            }
            if ((out->cwd = strdup(json_string_value(value))) == NULL)
                goto oom;
        } else if (strcmp(key, "output_limit") == 0) {
            if (!json_is_integer(value) || json_integer_value(value) < 1 ||
                json_integer_value(value) > JOB_CONFIG_OUTPUT_MAX) {
                set_error(err, "output_limit",
                          "output_limit must be a number of bytes from 1 to %d",
                          JOB_CONFIG_OUTPUT_MAX);
                goto out;
            }
            out->output_limit = (size_t)json_integer_value(value);
        } else {
            set_error(err, key, "unknown field '%.40s' in a shell config "
                                "(known: command, env, cwd, output_limit)", key);
            goto out;
        }
    }
    if (out->command == NULL) {
        set_error(err, "command", "a shell config needs a command");
        goto out;
    }
    if (out->env == NULL && (out->env = calloc(1, sizeof(char *))) == NULL)
        goto oom;
    rc = 0;
    goto out;
oom:
    set_error(err, "", "out of memory");
out:
    json_decref(root);
    if (rc < 0)
        shell_config_free(out);
    return rc;
}

int
job_config_check(const char *kind, const char *json, struct job_config_error *err)
{
    memset(err, 0, sizeof(*err));
    if (strcmp(kind, "shell") == 0) {
        struct shell_config cfg;
        if (job_config_shell(json, &cfg, err) < 0)
            return -1;
        shell_config_free(&cfg);
        return 0;
    }
    set_error(err, "kind", "this tablecron runs shell tasks; kind '%.20s' is not available", kind);
    return -1;
}
