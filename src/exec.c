/* exec.c - the executor interface over the task kinds.
 *
 * The kind switch lives here alone, so that adding a kind touches this
 * file and its own exec_<kind>.c.  A noop task has no file of its own:
 * it does nothing, so it is finished as soon as it starts, and its result
 * is a success with no output.
 */
#include <autoconfig.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "exec.h"
#include "exec_grpc.h"
#include "exec_http.h"
#include "exec_shell.h"
#include "job_config.h"
#include "net.h"

/* Exactly one of them is set. */
struct exec_run {
    struct shell_proc *shell; /* owned */
    struct http_task *http;   /* owned */
    struct grpc_task *grpc;   /* owned */
    int noop;                 /* a noop task: done from the start */
};

/* The job's own env, then the TABLECRON_* variables: later entries win, so
 * a job's config cannot pretend to be another execution. */
static char **
build_env(const struct shell_config *cfg, const struct exec_context *ctx)
{
    size_t n = 0, i = 0;
    char **env;
    struct tm tm;
    time_t t = (time_t)ctx->scheduled_for_s;
    char when[32];

    while (cfg->env[n] != NULL)
        n++;
    if ((env = calloc(n + 9, sizeof(char *))) == NULL)
        return NULL;
    for (; i < n; i++)
        env[i] = cfg->env[i];
    gmtime_r(&t, &tm);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (asprintf(&env[i++], "TABLECRON_JOB=%s", ctx->job_name) < 0 ||
        asprintf(&env[i++], "TABLECRON_JOB_ID=%lld", (long long)ctx->job_id) < 0 ||
        asprintf(&env[i++], "TABLECRON_EXECUTION_ID=%lld", (long long)ctx->execution_id) < 0 ||
        asprintf(&env[i++], "TABLECRON_SCHEDULED_FOR=%s", when) < 0 ||
        asprintf(&env[i++], "TABLECRON_ATTEMPT=%d", ctx->attempt) < 0 ||
        asprintf(&env[i++], "TABLECRON_SHARD_INDEX=%d", ctx->shard_index) < 0 ||
        asprintf(&env[i++], "TABLECRON_SHARD_COUNT=%d", ctx->shard_count) < 0 ||
        (ctx->resume_params != NULL &&
         asprintf(&env[i++], "TABLECRON_RESUME=%s", ctx->resume_params) < 0)) {
        env[i - 1] = NULL;
        for (size_t j = n; j < i - 1; j++)
            free(env[j]);
        free(env);
        return NULL;
    }
    return env;
}

static void
free_env(char **env, size_t borrowed)
{
    if (env == NULL)
        return;
    for (size_t i = borrowed; env[i] != NULL; i++)
        free(env[i]);
    free(env);
}

static struct shell_proc *
start_shell(const char *config_json, const struct exec_context *ctx, char *err, size_t errsize)
{
    struct job_config_error cerr;
    struct shell_config cfg;
    struct shell_error serr;
    struct shell_spec spec;
    struct shell_proc *proc = NULL;
    char **env = NULL;
    size_t borrowed = 0;

    if (job_config_shell(config_json, &cfg, &cerr) < 0) {
        snprintf(err, errsize, "bad config: %s", cerr.msg);
        return NULL;
    }
    while (cfg.env[borrowed] != NULL)
        borrowed++;
    if ((env = build_env(&cfg, ctx)) == NULL) {
        snprintf(err, errsize, "out of memory");
        goto out;
    }
    spec.command = cfg.command;
    spec.env = (const char *const *)env;
    spec.cwd = cfg.cwd;
    spec.output_limit = cfg.output_limit;
    if ((proc = shell_start(&spec, &serr)) == NULL)
        snprintf(err, errsize, "%s", serr.msg);
out:
    free_env(env, borrowed);
    shell_config_free(&cfg);
    return proc;
}

struct exec_run *
exec_start(struct net *net, const char *kind, const char *config_json,
           const struct exec_context *ctx, char *err, size_t errsize)
{
    struct job_config_error cerr;
    struct exec_run *run = calloc(1, sizeof(*run));

    if (run == NULL) {
        snprintf(err, errsize, "out of memory");
        return NULL;
    }
    if (strcmp(kind, "shell") == 0)
        run->shell = start_shell(config_json, ctx, err, errsize);
    else if (strcmp(kind, "http") == 0)
        run->http = http_task_start(net, config_json, ctx, err, errsize);
    else if (strcmp(kind, "grpc") == 0)
        run->grpc = grpc_task_start(net, config_json, ctx, err, errsize);
    else if (strcmp(kind, "noop") == 0 && job_config_noop(config_json, &cerr) == 0)
        run->noop = 1;
    else if (job_config_check(kind, config_json, &cerr) < 0)
        snprintf(err, errsize, "%s", cerr.msg);
    else
        snprintf(err, errsize, "kind '%s' cannot run here", kind);
    if (run->shell == NULL && run->http == NULL && run->grpc == NULL && !run->noop) {
        free(run);
        return NULL;
    }
    return run;
}

/* A header whose value may be long (JSON, URLs). */
static int
add_header(struct curl_slist **list, const char *name, const char *value)
{
    char *line;
    int rc;

    if (asprintf(&line, "%s: %s", name, value) < 0)
        return -1;
    rc = net_header_add(list, line);
    free(line);
    return rc;
}

int
exec_identity_headers(const struct exec_context *ctx, struct curl_slist **list)
{
    char line[200];

    snprintf(line, sizeof(line), "X-Tablecron-Job: %s", ctx->job_name);
    if (net_header_add(list, line) < 0)
        return -1;
    snprintf(line, sizeof(line), "X-Tablecron-Execution: %lld", (long long)ctx->execution_id);
    if (net_header_add(list, line) < 0)
        return -1;
    snprintf(line, sizeof(line), "X-Tablecron-Attempt: %d", ctx->attempt);
    if (net_header_add(list, line) < 0)
        return -1;
    snprintf(line, sizeof(line), "X-Tablecron-Shard-Index: %d", ctx->shard_index);
    if (net_header_add(list, line) < 0)
        return -1;
    snprintf(line, sizeof(line), "X-Tablecron-Shard-Count: %d", ctx->shard_count);
    if (net_header_add(list, line) < 0)
        return -1;
    if (ctx->resume_params != NULL && add_header(list, "X-Tablecron-Resume", ctx->resume_params) < 0)
        return -1;
    if (ctx->callback_url != NULL &&
        (add_header(list, "X-Tablecron-Callback", ctx->callback_url) < 0 ||
         add_header(list, "X-Tablecron-Token", ctx->callback_token) < 0))
        return -1;
    return 0;
}

int
exec_pollfds(const struct exec_run *run, struct pollfd *fds, int max)
{
    /* Transfers' sockets are polled through net_pollfds(). */
    return run->shell != NULL ? shell_pollfds(run->shell, fds, max) : 0;
}

int
exec_on_ready(struct exec_run *run)
{
    if (run->shell != NULL)
        return shell_on_ready(run->shell);
    if (run->http != NULL)
        return http_task_done(run->http) ? 0 : TC_AGAIN;
    if (run->noop)
        return 0;
    return grpc_task_done(run->grpc) ? 0 : TC_AGAIN;
}

void
exec_cancel(struct exec_run *run, int hard)
{
    if (run->shell != NULL)
        shell_signal(run->shell, hard ? SIGKILL : SIGTERM);
    else if (run->http != NULL)
        http_task_abort(run->http);
    else if (run->grpc != NULL)
        grpc_task_abort(run->grpc);
    /* a noop task has already finished */
}

void
exec_take_result(struct exec_run *run, struct exec_result *out)
{
    char status[128];

    if (run->http != NULL) {
        http_task_result(run->http, out);
        return;
    }
    if (run->grpc != NULL) {
        grpc_task_result(run->grpc, out);
        return;
    }
    memset(out, 0, sizeof(*out));
    if (run->noop) {
        out->succeeded = 1;
        return;
    }
    out->has_exit_code = 1;
    out->exit_code = shell_exit_code(run->shell);
    out->succeeded = out->exit_code == 0;
    out->output = shell_take_output(run->shell);
    if (!out->succeeded)
        out->error = strdup(shell_describe_status(run->shell, status, sizeof(status)));
}

char *
exec_output_since(const struct exec_run *run, uint64_t *seen)
{
    uint64_t now_seen;

    if (run->shell == NULL)
        return NULL;
    now_seen = shell_output_bytes(run->shell);
    if (now_seen == *seen)
        return NULL;
    *seen = now_seen;
    return shell_take_output(run->shell);
}

void
exec_result_free(struct exec_result *res)
{
    free(res->output);
    free(res->error);
    memset(res, 0, sizeof(*res));
}

void
exec_free(struct exec_run *run)
{
    if (run == NULL)
        return;
    shell_free(run->shell);
    http_task_free(run->http);
    grpc_task_free(run->grpc);
    free(run);
}
