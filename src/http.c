/* http.c - libmicrohttpd, configured once, behind http.h.
 *
 * libmicrohttpd calls the access handler several times per request: first
 * with the headers (we check Content-Length against the cap and set up the
 * upload), then once per piece of body, then a last time with no data,
 * when the whole request is there and we run the handler.  The upload
 * buffer is per connection (*con_cls) and freed by the completion
 * callback, whatever happened.
 *
 * We bind the listening socket ourselves (getaddrinfo), so that host names,
 * IPv6 and port 0 work the same way, and hand it to libmicrohttpd.
 */
#include <autoconfig.h>

#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http.h"
#include "log.h"
#include "utf8.h"

/* Sent with every answer: the pages run no inline script and load nothing
 * from elsewhere, so the policy can be strict (issue 7's pages rely on it). */
static const char CSP[] = "default-src 'self'; script-src 'self'; style-src 'self'; "
                          "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; "
                          "base-uri 'none'; form-action 'self'";

struct http_server {
    struct MHD_Daemon *daemon; /* owned */
    int fd;                    /* owned until the daemon has it */
    int port;
    size_t max_body;
    http_handler handler;
    void *ctx;
};

struct upload {
    char *buf;     /* owned */
    size_t len;
    size_t cap;
    int too_big;
};

const char *
http_header(const struct http_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *
http_query(const struct http_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *
http_cookie(const struct http_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_COOKIE_KIND, name);
}

int
http_add_header(struct http_response *resp, const char *name, const char *value)
{
    char *n, *v;

    if (resp->n_headers >= HTTP_MAX_HEADERS)
        return -1;
    if ((n = strdup(name)) == NULL || (v = strdup(value)) == NULL) {
        free(n);
        return -1;
    }
    resp->header_names[resp->n_headers] = n;
    resp->header_values[resp->n_headers] = v;
    resp->n_headers++;
    return 0;
}

int
http_set_body(struct http_response *resp, int status, const char *content_type,
              const void *body, size_t len)
{
    char *copy = malloc(len + 1);

    if (copy == NULL)
        return -1;
    memcpy(copy, body, len);
    copy[len] = '\0';
    free(resp->body);
    resp->body = copy;
    resp->body_len = len;
    resp->status = status;
    resp->content_type = content_type;
    return 0;
}

static void
response_clear(struct http_response *resp)
{
    free(resp->body);
    for (int i = 0; i < resp->n_headers; i++) {
        free(resp->header_names[i]);
        free(resp->header_values[i]);
    }
    memset(resp, 0, sizeof(*resp));
}

static enum MHD_Result
send_response(struct MHD_Connection *conn, struct http_response *resp)
{
    struct MHD_Response *r;
    enum MHD_Result ok;
    int status = resp->status != 0 ? resp->status : 500;

    r = MHD_create_response_from_buffer(resp->body_len, resp->body, MHD_RESPMEM_MUST_FREE);
    if (r == NULL)
        return MHD_NO;
    resp->body = NULL; /* the response owns it now */
    MHD_add_response_header(r, "Content-Type",
                            resp->content_type != NULL ? resp->content_type
                                                       : "application/json");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(r, "X-Frame-Options", "DENY");
    MHD_add_response_header(r, "Content-Security-Policy", CSP);
    for (int i = 0; i < resp->n_headers; i++)
        MHD_add_response_header(r, resp->header_names[i], resp->header_values[i]);
    ok = MHD_queue_response(conn, (unsigned int)status, r);
    MHD_destroy_response(r);
    return ok;
}

static enum MHD_Result
send_error(struct MHD_Connection *conn, int status, const char *code, const char *message)
{
    struct http_response resp;
    char body[256];
    int len;
    enum MHD_Result ok;

    memset(&resp, 0, sizeof(resp));
    len = snprintf(body, sizeof(body), "{\"error\": {\"code\": \"%s\", \"message\": \"%s\"}}",
                   code, message);
    if (http_set_body(&resp, status, "application/json", body, (size_t)len) < 0)
        return MHD_NO;
    ok = send_response(conn, &resp);
    response_clear(&resp);
    return ok;
}

static enum MHD_Result
check_argument(void *cls, enum MHD_ValueKind kind, const char *key, size_t key_size,
               const char *value, size_t value_size)
{
    const char **bad = cls;

    (void)kind;
    if (!utf8_valid(key, key_size)) {
        *bad = "";
        return MHD_NO;
    }
    if (value != NULL && !utf8_valid(value, value_size)) {
        *bad = key;
        return MHD_NO;
    }
    return MHD_YES;
}

const char *
http_bad_query(const struct http_request *req)
{
    const char *bad = NULL;

    MHD_get_connection_values_n(req->conn, MHD_GET_ARGUMENT_KIND, check_argument, &bad);
    return bad;
}

static int
hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/*
 * Percent-decoding of the path and the query, in place.  A %00 would end
 * the C string there and make "/jobs/51%00/../52" look like "/jobs/51": it
 * becomes the byte 0xFF instead, which is never valid UTF-8, so the path
 * matches no route and a query value is refused (http_bad_query()).
 */
static size_t
unescape(void *cls, struct MHD_Connection *conn, char *s)
{
    char *out = s;

    (void)cls;
    (void)conn;
    for (const char *in = s; *in != '\0'; in++) {
        int hi, lo;

        if (*in == '%' && (hi = hex_digit(in[1])) >= 0 && (lo = hex_digit(in[2])) >= 0) {
            int byte = hi * 16 + lo;
            *out++ = (char)(byte == 0 ? 0xFF : byte);
            in += 2;
        } else {
            *out++ = *in;
        }
    }
    *out = '\0';
    return (size_t)(out - s);
}

static void
peer_address(struct MHD_Connection *conn, char *buf, size_t size)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);

    buf[0] = '\0';
    if (info == NULL || info->client_addr == NULL ||
        getnameinfo(info->client_addr,
                    info->client_addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                                             : sizeof(struct sockaddr_in),
                    buf, (socklen_t)size, NULL, 0, NI_NUMERICHOST) != 0)
        snprintf(buf, size, "unknown");
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
           const char *version, const char *upload_data, size_t *upload_data_size,
           void **con_cls)
{
    struct http_server *server = cls;
    struct upload *up = *con_cls;
    struct http_request req;
    struct http_response resp;
    enum MHD_Result ok;

    (void)version;
    if (up == NULL) {
        const char *length = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                         MHD_HTTP_HEADER_CONTENT_LENGTH);
        if ((up = calloc(1, sizeof(*up))) == NULL)
            return MHD_NO;
        *con_cls = up;
        /* Refuse before reading a byte of a body that is too big. */
        if (length != NULL && strtoull(length, NULL, 10) > server->max_body)
            return send_error(conn, 413, "body_too_large", "the request body is too large");
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        size_t n = *upload_data_size;

        *upload_data_size = 0;
        if (up->too_big)
            return MHD_YES;
        if (up->len + n > server->max_body) {
            up->too_big = 1;
            free(up->buf);
            up->buf = NULL;
            return MHD_YES;
        }
        if (up->len + n + 1 > up->cap) {
            size_t cap = up->cap > 0 ? up->cap : 1024;
            char *grown;

            while (cap < up->len + n + 1)
                cap *= 2;
            if ((grown = realloc(up->buf, cap)) == NULL)
                return MHD_NO;
            up->buf = grown;
            up->cap = cap;
        }
        memcpy(up->buf + up->len, upload_data, n);
        up->len += n;
        up->buf[up->len] = '\0';
        return MHD_YES;
    }
    if (up->too_big)
        return send_error(conn, 413, "body_too_large", "the request body is too large");

    memset(&req, 0, sizeof(req));
    memset(&resp, 0, sizeof(resp));
    req.method = method;
    req.path = url;
    req.body = up->buf != NULL ? up->buf : "";
    req.body_len = up->len;
    req.conn = conn;
    peer_address(conn, req.remote_addr, sizeof(req.remote_addr));
    server->handler(server->ctx, &req, &resp);
    ok = send_response(conn, &resp);
    response_clear(&resp);
    return ok;
}

static void
on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
             enum MHD_RequestTerminationCode why)
{
    struct upload *up = *con_cls;

    (void)cls;
    (void)conn;
    (void)why;
    if (up != NULL) {
        free(up->buf);
        free(up);
        *con_cls = NULL;
    }
}

static void
on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[512];
    size_t len;

    (void)cls;
    vsnprintf(msg, sizeof(msg), fmt, ap);
    len = strlen(msg);
    while (len > 0 && msg[len - 1] == '\n')
        msg[--len] = '\0';
    log_debug("http server", "detail=%s", msg);
}

/* "host:port", "[v6]:port" or ":port" into host (NULL: every address) and port. */
static int
split_listen(const char *where, char *host, size_t hostsize, const char **port)
{
    const char *colon;

    if (where[0] == '[') {
        const char *end = strchr(where, ']');
        if (end == NULL || end[1] != ':' || (size_t)(end - where - 1) >= hostsize)
            return -1;
        memcpy(host, where + 1, (size_t)(end - where - 1));
        host[end - where - 1] = '\0';
        *port = end + 2;
        return 0;
    }
    if ((colon = strrchr(where, ':')) == NULL || (size_t)(colon - where) >= hostsize)
        return -1;
    memcpy(host, where, (size_t)(colon - where));
    host[colon - where] = '\0';
    *port = colon + 1;
    return 0;
}

static int
bind_listen(const char *where, int *port_out, char *err, size_t errsize)
{
    struct addrinfo hints, *res = NULL, *ai;
    char host[256];
    const char *port;
    int fd = -1, one = 1, rc;

    if (split_listen(where, host, sizeof(host), &port) < 0 || port[0] == '\0') {
        snprintf(err, errsize, "listen '%s' is not host:port", where);
        return -1;
    }
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    if ((rc = getaddrinfo(host[0] != '\0' ? host : NULL, port, &hints, &res)) != 0) {
        snprintf(err, errsize, "listen '%s': %s", where, gai_strerror(rc));
        return -1;
    }
    snprintf(err, errsize, "listen '%s': no address", where);
    for (ai = res; ai != NULL; ai = ai->ai_next) {
        struct sockaddr_storage ss;
        socklen_t sslen = sizeof(ss);

        if ((fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol)) < 0)
            continue;
        (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 128) == 0 &&
            getsockname(fd, (struct sockaddr *)&ss, &sslen) == 0) {
            *port_out = ntohs(ss.ss_family == AF_INET6
                                  ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                  : ((struct sockaddr_in *)&ss)->sin_port);
            break;
        }
        snprintf(err, errsize, "listen '%s': %s", where, strerror(errno));
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    return fd;
}

struct http_server *
http_server_start(const struct http_opts *opts, http_handler handler, void *ctx, char *err,
                  size_t errsize)
{
    struct http_server *server = calloc(1, sizeof(*server));

    if (server == NULL) {
        snprintf(err, errsize, "out of memory");
        return NULL;
    }
    server->handler = handler;
    server->ctx = ctx;
    server->max_body = opts->max_body;
    if ((server->fd = bind_listen(opts->listen, &server->port, err, errsize)) < 0)
        goto fail;
    server->daemon = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG, 0, NULL, NULL,
        on_request, server, MHD_OPTION_LISTEN_SOCKET, server->fd,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)(opts->threads > 0 ? opts->threads : 1),
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned int)30, MHD_OPTION_CONNECTION_LIMIT, (unsigned int)1000,
        MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL, MHD_OPTION_UNESCAPE_CALLBACK, unescape,
        NULL, MHD_OPTION_END);
    if (server->daemon == NULL) {
        snprintf(err, errsize, "the HTTP server could not start on %s", opts->listen);
        goto fail;
    }
    return server;
fail:
    if (server->fd >= 0 && server->daemon == NULL)
        close(server->fd);
    free(server);
    return NULL;
}

void
http_server_stop(struct http_server *server)
{
    if (server == NULL)
        return;
    MHD_stop_daemon(server->daemon); /* closes the listening socket too */
    free(server);
}

int
http_server_port(const struct http_server *server)
{
    return server->port;
}
