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

/*
 * HTTP tasks: {"url", "method", "headers", "body" | "json", "expect_status",
 * "follow_redirects", "tls_verify", "ca_file", "output_limit"}.
 */
#define HTTP_EXPECT_MAX 16

struct http_config {
    char *url;            /* owned; http:// or https:// */
    char *method;         /* owned; an HTTP token, upper-cased; default "GET" */
    char **headers;       /* owned; "Name: value", NULL-terminated, never NULL */
    char *body;           /* owned; NULL = no body ("body" text or "json" compact) */
    size_t body_len;
    int body_is_json;     /* "json" given: Content-Type application/json unless a header sets it */
    int expect_class;     /* N of "Nxx" (default 2); 0 when expect_codes is used */
    int expect_codes[HTTP_EXPECT_MAX];
    int n_expect;
    int follow_redirects; /* default 0 */
    int tls_verify;       /* default 1 */
    char *ca_file;        /* owned; NULL = the system's CAs */
    size_t output_limit;  /* bytes of response body kept */
};

int job_config_http(const char *json, struct http_config *out, struct job_config_error *err)
    TC_MUST_CHECK;
void http_config_free(struct http_config *cfg);

/* 1 if the status is one the config expects. */
int http_config_expects(const struct http_config *cfg, long status);

/* The expectation in words for errors: "2xx" or "200, 204". */
void http_config_describe_expect(const struct http_config *cfg, char *buf, size_t size);

/*
 * gRPC tasks: {"url", "method", "message_base64", "metadata", "tls_verify",
 * "ca_file", "output_limit"}.
 */
struct grpc_config {
    char *url;              /* owned; http:// (h2c) or https:// (ALPN), no trailing '/' */
    char *method;           /* owned; "package.Service/Method", no leading '/' */
    unsigned char *message; /* owned; decoded message_base64; NULL when empty */
    size_t message_len;
    char **metadata;        /* owned; "key: value", keys lower-case, NULL-terminated, never NULL */
    int tls_verify;         /* default 1 */
    char *ca_file;          /* owned; NULL = the system's CAs */
    size_t output_limit;    /* bytes of response message kept (before base64) */
};

int job_config_grpc(const char *json, struct grpc_config *out, struct job_config_error *err)
    TC_MUST_CHECK;
void grpc_config_free(struct grpc_config *cfg);

/* noop tasks (do nothing, succeed at once): the config must be {}. */
int job_config_noop(const char *json, struct job_config_error *err) TC_MUST_CHECK;

/* Check config for a kind ("shell", "http", "grpc", "noop"); 0 if it would run. */
int job_config_check(const char *kind, const char *json, struct job_config_error *err)
    TC_MUST_CHECK;

#endif
