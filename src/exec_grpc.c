/* exec_grpc.c - a unary gRPC call as a task, spoken by libcurl over HTTP/2.
 *
 * Wire format (gRPC over HTTP/2): the request body is one message framed as
 * a compressed-flag byte, a 4-byte big-endian length and the protobuf
 * bytes; the reply body is the same framing, and the outcome comes in
 * grpc-status / grpc-message, either in trailers after the body or, for
 * most errors, alone in the only header block ("trailers-only").  libcurl
 * hands both header blocks to the header callback, so one parser sees
 * them.  Nothing here knows protobuf: the message goes out as configured
 * and comes back as base64.
 */
#include <autoconfig.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base64.h"
#include "clock.h"
#include "exec_grpc.h"
#include "job_config.h"
#include "tailbuf.h"

#define GRPC_FRAME_HEADER 5
#define GRPC_MESSAGE_KEEP 1024 /* bytes of grpc-message kept */
#define GRPC_STATUS_DEADLINE_EXCEEDED 4

struct grpc_task {
    struct net *net;             /* borrowed */
    struct net_transfer xfer;    /* xfer.easy owned */
    struct grpc_config cfg;      /* owned */
    char *url;                   /* owned; cfg.url + "/" + cfg.method */
    unsigned char *frame;        /* owned; the request body */
    size_t frame_len;
    struct curl_slist *headers;  /* owned */
    unsigned char *reply;        /* owned; the first bytes of the reply body */
    size_t reply_len, reply_cap; /* reply_cap: most bytes ever kept */
    uint64_t reply_total;        /* bytes of reply body received */
    int status;                  /* grpc-status, -1 until received */
    char message[GRPC_MESSAGE_KEEP]; /* grpc-message, still percent-encoded */
    int64_t started_ms;
    int64_t timeout_ms;          /* sent as grpc-timeout */
    char errbuf[CURL_ERROR_SIZE];
};

static const char *const status_names[] = {
    "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
    "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
    "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
    "UNAUTHENTICATED",
};

static size_t
on_body(char *data, size_t size, size_t nmemb, void *userp)
{
    struct grpc_task *t = userp;
    size_t len = size * nmemb, room = t->reply_cap - t->reply_len;
    size_t keep = len < room ? len : room;

    t->reply_total += len;
    if (keep == 0)
        return len;
    if (t->reply == NULL && (t->reply = malloc(t->reply_cap)) == NULL)
        return 0; /* libcurl fails the transfer: out of memory */
    memcpy(t->reply + t->reply_len, data, keep);
    t->reply_len += keep;
    return len;
}

/* "grpc-status: 5\r\n" and the like, from the headers or the trailers. */
static size_t
on_header(char *data, size_t size, size_t nitems, void *userp)
{
    struct grpc_task *t = userp;
    size_t len = size * nitems, name_len, vlen;
    const char *colon = memchr(data, ':', len), *value;

    if (colon == NULL)
        return len; /* the status line or the blank line ending a block */
    name_len = (size_t)(colon - data);
    value = colon + 1;
    vlen = len - name_len - 1;
    while (vlen > 0 && (*value == ' ' || *value == '\t')) {
        value++;
        vlen--;
    }
    while (vlen > 0 && (value[vlen - 1] == '\r' || value[vlen - 1] == '\n' ||
                        value[vlen - 1] == ' '))
        vlen--;
    if (name_len == 11 && strncasecmp(data, "grpc-status", 11) == 0) {
        int status = 0;
        size_t i;

        for (i = 0; i < vlen && i < 9 && value[i] >= '0' && value[i] <= '9'; i++)
            status = status * 10 + (value[i] - '0');
        if (i > 0 && i == vlen)
            t->status = status;
    } else if (name_len == 12 && strncasecmp(data, "grpc-message", 12) == 0) {
        if (vlen >= sizeof(t->message))
            vlen = sizeof(t->message) - 1;
        memcpy(t->message, value, vlen);
        t->message[vlen] = '\0';
    }
    return len;
}

static int
hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* grpc-message is percent-encoded UTF-8; a malformed escape stays as it
 * is and bytes that are not UTF-8 become U+FFFD (tailbuf_text()). */
static char *
decode_message(const char *encoded)
{
    struct tailbuf *tb = tailbuf_new(GRPC_MESSAGE_KEEP);
    char *text;

    if (tb == NULL)
        return NULL;
    for (const char *p = encoded; *p != '\0'; p++) {
        unsigned char c = (unsigned char)*p;
        int hi, lo;

        if (c == '%' && (hi = hexval(p[1])) >= 0 && (lo = hexval(p[2])) >= 0) {
            c = (unsigned char)(hi * 16 + lo);
            p += 2;
        }
        tailbuf_append(tb, &c, 1);
    }
    text = tailbuf_text(tb);
    tailbuf_free(tb);
    return text;
}

/* grpc-timeout: at most 8 digits and a unit. */
static void
format_timeout(int64_t ms, char *buf, size_t size)
{
    if (ms <= 99999999)
        snprintf(buf, size, "grpc-timeout: %lldm", (long long)ms);
    else
        snprintf(buf, size, "grpc-timeout: %lldS", (long long)(ms / 1000));
}

static int
build_request(struct grpc_task *t, const struct exec_context *ctx)
{
    size_t len = t->cfg.message_len;
    char line[64];

    if (asprintf(&t->url, "%s/%s", t->cfg.url, t->cfg.method) < 0) {
        t->url = NULL;
        return -1;
    }
    if (len > UINT32_MAX || (t->frame = malloc(GRPC_FRAME_HEADER + len)) == NULL)
        return -1;
    t->frame[0] = 0; /* not compressed */
    t->frame[1] = (unsigned char)(len >> 24);
    t->frame[2] = (unsigned char)(len >> 16);
    t->frame[3] = (unsigned char)(len >> 8);
    t->frame[4] = (unsigned char)len;
    if (len > 0)
        memcpy(t->frame + GRPC_FRAME_HEADER, t->cfg.message, len);
    t->frame_len = GRPC_FRAME_HEADER + len;

    format_timeout(t->timeout_ms, line, sizeof(line));
    if (net_header_add(&t->headers, "content-type: application/grpc") < 0 ||
        net_header_add(&t->headers, "te: trailers") < 0 ||
        net_header_add(&t->headers, line) < 0 || net_header_add(&t->headers, "Expect:") < 0)
        return -1;
    for (char **m = t->cfg.metadata; *m != NULL; m++) {
        if (net_header_add(&t->headers, *m) < 0)
            return -1;
    }
    return exec_identity_headers(ctx, &t->headers);
}

/* libcurl before 8.0 breaks the second stream on a reused cleartext HTTP/2
 * connection ("Error in the HTTP2 framing layer", curl issue 10634): give
 * each h2c call its own connection there.  TLS connections are unaffected. */
static int
h2c_reuse_broken(void)
{
    return curl_version_info(CURLVERSION_NOW)->version_num < 0x080000;
}

struct grpc_task *
grpc_task_start(struct net *net, const char *config_json, const struct exec_context *ctx,
                char *err, size_t errsize)
{
    struct job_config_error cerr;
    struct grpc_task *t;
    long version;
    CURL *e;

    if ((t = calloc(1, sizeof(*t))) == NULL) {
        snprintf(err, errsize, "out of memory");
        return NULL;
    }
    t->net = net;
    t->status = -1;
    t->started_ms = monotonic_ms();
    t->timeout_ms = (int64_t)ctx->timeout_s * 1000;
    if (job_config_grpc(config_json, &t->cfg, &cerr) < 0) {
        snprintf(err, errsize, "bad config: %s", cerr.msg);
        goto fail;
    }
    t->reply_cap = GRPC_FRAME_HEADER + t->cfg.output_limit;
    /* https: HTTP/2 chosen by ALPN; http: HTTP/2 from the first byte (h2c
     * with prior knowledge), since gRPC servers do not take upgrades. */
    version = strncasecmp(t->cfg.url, "https:", 6) == 0 ? CURL_HTTP_VERSION_2TLS
                                                         : CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE;
    if (build_request(t, ctx) < 0 ||
        (e = t->xfer.easy = net_easy_new(t->url, t->cfg.tls_verify, t->cfg.ca_file,
                                         t->errbuf)) == NULL ||
        (version == CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE && h2c_reuse_broken() &&
         (curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L) != CURLE_OK ||
          curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L) != CURLE_OK)) ||
        curl_easy_setopt(e, CURLOPT_HTTP_VERSION, version) != CURLE_OK ||
        /* Calls to one server share its connection as HTTP/2 streams. */
        curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->headers) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)t->frame_len) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, t->frame) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_WRITEDATA, t) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_HEADERDATA, t) != CURLE_OK) {
        snprintf(err, errsize, "could not set up the gRPC call (out of memory?)");
        goto fail;
    }
    if (net_start(net, &t->xfer) < 0) {
        snprintf(err, errsize, "could not start the gRPC call: %s",
                 curl_easy_strerror(t->xfer.result));
        goto fail;
    }
    return t;
fail:
    grpc_task_free(t);
    return NULL;
}

int
grpc_task_done(const struct grpc_task *t)
{
    return t->xfer.done;
}

void
grpc_task_abort(struct grpc_task *t)
{
    net_abort(t->net, &t->xfer);
}

/* The reply message as base64, or a note saying why it is not there. */
static char *
reply_output(const struct grpc_task *t)
{
    uint32_t len;
    char note[160];

    if (t->reply_total == 0)
        return strdup("");
    if (t->reply_len < GRPC_FRAME_HEADER) {
        snprintf(note, sizeof(note), "[reply body of %llu bytes is not a gRPC message]",
                 (unsigned long long)t->reply_total);
        return strdup(note);
    }
    len = (uint32_t)t->reply[1] << 24 | (uint32_t)t->reply[2] << 16 |
          (uint32_t)t->reply[3] << 8 | (uint32_t)t->reply[4];
    if (t->reply[0] != 0) {
        snprintf(note, sizeof(note), "[compressed reply message of %u bytes, not decoded]", len);
        return strdup(note);
    }
    if (len > t->cfg.output_limit) {
        snprintf(note, sizeof(note), "[reply message of %u bytes not kept: output_limit is %zu]",
                 len, t->cfg.output_limit);
        return strdup(note);
    }
    if (GRPC_FRAME_HEADER + (size_t)len > t->reply_len) {
        snprintf(note, sizeof(note), "[reply message cut short: %zu of %u bytes]",
                 t->reply_len - GRPC_FRAME_HEADER, len);
        return strdup(note);
    }
    return base64_encode(t->reply + GRPC_FRAME_HEADER, len);
}

void
grpc_task_result(struct grpc_task *t, struct exec_result *out)
{
    char msg[GRPC_MESSAGE_KEEP + CURL_ERROR_SIZE + 64];
    long http_status = 0, http_version = 0;
    char *text = NULL;

    memset(out, 0, sizeof(*out));
    out->output = reply_output(t);
    if (t->status >= 0) {
        /* What the server said wins over a reset that came after it. */
        const char *name = (size_t)t->status < TC_ARRAY_LEN(status_names)
                               ? status_names[t->status] : "UNKNOWN_CODE";

        out->has_exit_code = 1;
        out->exit_code = t->status;
        if (t->status == 0) {
            out->succeeded = 1;
            return;
        }
        /* The server saw the deadline we sent pass: that is our timeout. */
        out->timed_out = t->status == GRPC_STATUS_DEADLINE_EXCEEDED &&
                         monotonic_ms() - t->started_ms >= t->timeout_ms;
        text = decode_message(t->message);
        if (text != NULL && text[0] != '\0')
            snprintf(msg, sizeof(msg), "gRPC status %d %s: %s", t->status, name, text);
        else
            snprintf(msg, sizeof(msg), "gRPC status %d %s", t->status, name);
        free(text);
        out->error = strdup(msg);
        return;
    }
    curl_easy_getinfo(t->xfer.easy, CURLINFO_RESPONSE_CODE, &http_status);
    curl_easy_getinfo(t->xfer.easy, CURLINFO_HTTP_VERSION, &http_version);
    if (t->xfer.result != CURLE_OK)
        net_describe_error(t->xfer.result, t->errbuf, msg, sizeof(msg));
    else if (http_version != CURL_HTTP_VERSION_2_0)
        snprintf(msg, sizeof(msg), "the server did not answer in HTTP/2 (HTTP status %ld): "
                                   "not a gRPC server?", http_status);
    else if (http_status != 200)
        snprintf(msg, sizeof(msg), "HTTP status %ld without grpc-status: not a gRPC reply",
                 http_status);
    else
        snprintf(msg, sizeof(msg), "the reply ended without grpc-status");
    out->error = strdup(msg);
}

void
grpc_task_free(struct grpc_task *t)
{
    if (t == NULL)
        return;
    if (t->xfer.easy != NULL) {
        net_abort(t->net, &t->xfer);
        curl_easy_cleanup(t->xfer.easy);
    }
    curl_slist_free_all(t->headers);
    grpc_config_free(&t->cfg);
    free(t->url);
    free(t->frame);
    free(t->reply);
    free(t);
}
