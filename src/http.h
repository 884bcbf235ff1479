/* http.h - the HTTP server: libmicrohttpd behind a small request/response API.
 *
 * The server knows nothing of tablecron: it reads a whole request (the
 * body capped at max_body bytes, 413 above), hands it to one handler
 * function on one of its worker threads, and sends what the handler put in
 * the response, with the security headers every answer carries.  Routing,
 * authentication and JSON live above it (api.c).
 */
#ifndef TC_HTTP_H
#define TC_HTTP_H

#include <stddef.h>

#include "common.h"

#define HTTP_MAX_HEADERS 8

struct http_request {
    const char *method;     /* "GET", ... */
    const char *path;       /* percent-decoded, without the query */
    const char *body;       /* NUL-terminated copy of the body ("" if none) */
    size_t body_len;
    char remote_addr[64];   /* numeric address of the peer */
    void *conn;             /* private to http.c */
};

struct http_response {
    int status;                    /* 0 until set: 500 */
    char *body;                    /* owned (malloc), may be NULL */
    size_t body_len;
    const char *content_type;      /* static string; default application/json */
    int n_headers;
    char *header_names[HTTP_MAX_HEADERS];  /* owned */
    char *header_values[HTTP_MAX_HEADERS]; /* owned */
};

/* A request header (case-insensitive name), a query parameter or a cookie;
 * NULL when absent. */
const char *http_header(const struct http_request *req, const char *name);
const char *http_query(const struct http_request *req, const char *name);
const char *http_cookie(const struct http_request *req, const char *name);

/* The name of the first query parameter whose value holds a NUL byte
 * (%00: C strings would cut it short) or is not valid UTF-8 ("" when the
 * name itself is not), or NULL when all are fine. */
const char *http_bad_query(const struct http_request *req);

/* Add a response header (copied); -1 when out of memory or too many. */
int http_add_header(struct http_response *resp, const char *name, const char *value);

/* Set the body (copied) and the content type. */
int http_set_body(struct http_response *resp, int status, const char *content_type,
                  const void *body, size_t len) TC_MUST_CHECK;

typedef void (*http_handler)(void *ctx, const struct http_request *req,
                             struct http_response *resp);

struct http_opts {
    const char *listen;  /* "127.0.0.1:8080", "[::1]:8080", ":8080" (every address) */
    int threads;         /* worker threads, each handling whole requests */
    size_t max_body;     /* bytes; larger bodies get 413 */
};

struct http_server; /* opaque */

/* Listening when it returns; NULL with err filled (address in use...). */
struct http_server *http_server_start(const struct http_opts *opts, http_handler handler,
                                      void *ctx, char *err, size_t errsize);
/* Stops accepting, finishes the requests in progress, joins the threads. */
void http_server_stop(struct http_server *server);

/* The port actually bound (useful with port 0). */
int http_server_port(const struct http_server *server);

#endif
