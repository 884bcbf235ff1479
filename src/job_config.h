/* job_config.h - a job's `config` JSON, checked field by field per kind.
 *
 * Pure (jansson only): the scheduler uses it before running a task, the
 * command line and the API before storing one, so a bad config is refused
 * with the same words everywhere, naming the field.
 */
#ifndef TC_JOB_CONFIG_H
#define TC_JOB_CONFIG_H

#include <stddef.h>

#include "common.h"

#define JOB_CONFIG_OUTPUT_DEFAULT (64 * 1024)
#define JOB_CONFIG_OUTPUT_MAX (16 * 1024 * 1024)

struct job_config_error {
    char field[64];  /* "command", "env.PATH", ... or "" for the whole value */
    char msg[192];   /* lower-case, names the field */
};

struct shell_config {
    char *command;      /* owned */
    char **env;         /* owned; "KEY=VALUE", NULL-terminated, never NULL */
    char *cwd;          /* owned; NULL = inherit */
    size_t output_limit;
};

/* Parse {"command": "...", "env": {...}, "cwd": "...", "output_limit": N}.
 * Unknown fields and wrong types are errors.  On error *out is empty. */
int job_config_shell(const char *json, struct shell_config *out, struct job_config_error *err)
    TC_MUST_CHECK;
void shell_config_free(struct shell_config *cfg);

/* Check config for a kind ("shell", ...); 0 if it would run. */
int job_config_check(const char *kind, const char *json, struct job_config_error *err)
    TC_MUST_CHECK;

#endif
