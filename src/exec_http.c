/* exec_http.c - an HTTP request as a task.
 *
 * Everything the transfer needs (config, header list, body capture) is
 * owned by the task, so libcurl's pointers into them stay valid until the
 * easy handle goes.  The body is captured in a tailbuf: like a command's
 * output, its end is kept when it is longer than output_limit.
 */
#include <autoconfig.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "exec_http.h"
#include "job_config.h"
#include "tailbuf.h"

struct http_task {
    struct net *net;               /* borrowed */
    struct net_transfer xfer;      /* xfer.easy owned */
    struct http_config cfg;        /* owned; the body is sent from here */
    struct curl_slist *headers;    /* owned */
    struct tailbuf *body;          /* owned; the response body */
    int can_detach;                /* told where to report: a 202 means "later" */
    char errbuf[CURL_ERROR_SIZE];
};

static size_t
on_body(char *data, size_t size, size_t nmemb, void *userp)
{
    struct http_task *t = userp;

    tailbuf_append(t->body, data, size * nmemb);
    return size * nmemb;
}

static int
has_header(const struct http_config *cfg, const char *name)
{
    size_t len = strlen(name);

    for (char **h = cfg->headers; *h != NULL; h++) {
        if (strncasecmp(*h, name, len) == 0 && (*h)[len] == ':')
            return 1;
    }
    return 0;
}

static int
build_headers(struct http_task *t, const struct exec_context *ctx)
{
    for (char **h = t->cfg.headers; *h != NULL; h++) {
        if (net_header_add(&t->headers, *h) < 0)
            return -1;
    }
    if (t->cfg.body_is_json && !has_header(&t->cfg, "Content-Type") &&
        net_header_add(&t->headers, "Content-Type: application/json") < 0)
        return -1;
    /* libcurl would otherwise wait for "100 Continue" before large bodies. */
    if (t->cfg.body != NULL && !has_header(&t->cfg, "Expect") &&
        net_header_add(&t->headers, "Expect:") < 0)
        return -1;
    return exec_identity_headers(ctx, &t->headers);
}

static int
set_method(struct http_task *t)
{
    CURL *e = t->xfer.easy;
    const char *m = t->cfg.method;

    if (t->cfg.body != NULL) {
        if (curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)t->cfg.body_len) !=
                CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_POSTFIELDS, t->cfg.body) != CURLE_OK)
            return -1;
    } else if (strcmp(m, "POST") == 0) {
        if (curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_POSTFIELDS, "") != CURLE_OK)
            return -1;
    }
    if (strcmp(m, "HEAD") == 0)
        return curl_easy_setopt(e, CURLOPT_NOBODY, 1L) == CURLE_OK ? 0 : -1;
    if (strcmp(m, "GET") == 0 && t->cfg.body == NULL)
        return 0;
    if (strcmp(m, "POST") == 0)
        return 0;
    return curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, m) == CURLE_OK ? 0 : -1;
}

struct http_task *
http_task_start(struct net *net, const char *config_json, const struct exec_context *ctx,
                char *err, size_t errsize)
{
    struct job_config_error cerr;
    struct http_task *t;
    CURL *e;

    if ((t = calloc(1, sizeof(*t))) == NULL) {
        snprintf(err, errsize, "out of memory");
        return NULL;
    }
    t->net = net;
    t->can_detach = ctx->callback_url != NULL;
    if (job_config_http(config_json, &t->cfg, &cerr) < 0) {
        snprintf(err, errsize, "bad config: %s", cerr.msg);
        goto fail;
    }
    if ((t->body = tailbuf_new(t->cfg.output_limit)) == NULL ||
        (e = t->xfer.easy = net_easy_new(t->cfg.url, t->cfg.tls_verify, t->cfg.ca_file,
                                         t->errbuf)) == NULL ||
        build_headers(t, ctx) < 0 || set_method(t) < 0 ||
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->headers) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_WRITEDATA, t) != CURLE_OK ||
        /* Compressed replies are welcome; output holds them decoded. */
        curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "") != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, t->cfg.follow_redirects ? 1L : 0L) !=
            CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_MAXREDIRS, 10L) != CURLE_OK) {
        snprintf(err, errsize, "could not set up the HTTP request (out of memory?)");
        goto fail;
    }
    if (net_start(net, &t->xfer) < 0) {
        snprintf(err, errsize, "could not start the HTTP request: %s",
                 curl_easy_strerror(t->xfer.result));
        goto fail;
    }
    return t;
fail:
    http_task_free(t);
    return NULL;
}

int
http_task_done(const struct http_task *t)
{
    return t->xfer.done;
}

void
http_task_abort(struct http_task *t)
{
    net_abort(t->net, &t->xfer);
}

void
http_task_result(struct http_task *t, struct exec_result *out)
{
    char msg[CURL_ERROR_SIZE + 128], expect[128];
    long status = 0;

    memset(out, 0, sizeof(*out));
    curl_easy_getinfo(t->xfer.easy, CURLINFO_RESPONSE_CODE, &status);
    out->output = tailbuf_text(t->body);
    if (status > 0) {
        out->has_exit_code = 1;
        out->exit_code = (int)status;
    }
    if (t->xfer.result != CURLE_OK) {
        net_describe_error(t->xfer.result, t->errbuf, msg, sizeof(msg));
        out->error = strdup(msg);
        return;
    }
    if (status == 202 && t->can_detach) {
        /* Accepted: the service reports progress and the result itself. */
        out->detached = 1;
        return;
    }
    if (http_config_expects(&t->cfg, status)) {
        out->succeeded = 1;
        return;
    }
    http_config_describe_expect(&t->cfg, expect, sizeof(expect));
    snprintf(msg, sizeof(msg), "unexpected HTTP status %ld (expected %s)", status, expect);
    out->error = strdup(msg);
}

void
http_task_free(struct http_task *t)
{
    if (t == NULL)
        return;
    if (t->xfer.easy != NULL) {
        net_abort(t->net, &t->xfer);
        curl_easy_cleanup(t->xfer.easy);
    }
    curl_slist_free_all(t->headers);
    tailbuf_free(t->body);
    http_config_free(&t->cfg);
    free(t);
}
