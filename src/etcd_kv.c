/* etcd_kv.c - the etcd v3 JSON gateway: requests, endpoint failover, tokens.
 *
 * Glossary: an *endpoint* is one base URL of etcd_endpoints; a *page* is
 * one range request of at most RANGE_PAGE keys.  The gateway answers 200
 * with a JSON object, or an HTTP error whose JSON body holds the gRPC
 * code and etcd's message: 5xx means this member cannot serve now (no
 * leader, timeout); 401 an expired token (fetched again once), then like
 * 403 a refusal of access; any other 4xx a refusal of the request itself.
 * Refusals speak for the whole cluster, so other endpoints are not asked.
 *
 * One easy handle is reused for every request, so the connection to the
 * endpoint stays open between requests (curl_easy_reset keeps it).
 */
#include <autoconfig.h>

#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "etcd_kv.h"
#include "strbuf.h"

#define CONNECT_TIMEOUT_MS 2000L
#define REQUEST_TIMEOUT_MS 10000L
#define RANGE_PAGE 500
#define MAX_REPLY_BYTES ((size_t)64 << 20)

struct etcd_kv {
    char **urls;           /* owned; base URLs without a trailing '/' */
    size_t nurls;
    size_t current;        /* the endpoint that answered last */
    char *endpoints;       /* owned; the list for log lines */
    char *username;        /* owned; NULL: no authentication */
    char *password;        /* owned; wiped on free */
    char *token;           /* owned; NULL until authenticated */
    const atomic_int *cancel; /* borrowed; may be NULL */
    CURL *easy;            /* owned */
    char error[512];
};

static char *
dup_n(const char *s, size_t n)
{
    char *copy = malloc(n + 1);

    if (copy != NULL) {
        memcpy(copy, s, n);
        copy[n] = '\0';
    }
    return copy;
}

static void
wipe_free(char *s)
{
    if (s != NULL) {
        explicit_bzero(s, strlen(s));
        free(s);
    }
}

/* Split "a, b/" into trimmed URLs without trailing slashes. */
static int
parse_endpoints(struct etcd_kv *kv, const char *list)
{
    const char *p = list;

    for (;;) {
        const char *end = strchr(p, ',');
        size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
        char **grown;

        while (len > 0 && (*p == ' ' || *p == '\t')) {
            p++;
            len--;
        }
        while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t' || p[len - 1] == '/'))
            len--;
        if (len > 0) {
            if ((grown = realloc(kv->urls, (kv->nurls + 1) * sizeof(*grown))) == NULL)
                return -1;
            kv->urls = grown;
            if ((kv->urls[kv->nurls] = dup_n(p, len)) == NULL)
                return -1;
            kv->nurls++;
        }
        if (end == NULL)
            break;
        p = end + 1;
    }
    return kv->nurls > 0 ? 0 : -1;
}

struct etcd_kv *
etcd_kv_new(const char *endpoints, const char *username, const char *password,
            const atomic_int *cancel)
{
    struct etcd_kv *kv;

    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return NULL;
    if ((kv = calloc(1, sizeof(*kv))) == NULL) {
        curl_global_cleanup();
        return NULL;
    }
    kv->cancel = cancel;
    if (parse_endpoints(kv, endpoints) < 0 || (kv->endpoints = strdup(endpoints)) == NULL ||
        (kv->easy = curl_easy_init()) == NULL)
        goto fail;
    if (username != NULL && username[0] != '\0') {
        if ((kv->username = strdup(username)) == NULL ||
            (kv->password = strdup(password != NULL ? password : "")) == NULL)
            goto fail;
    }
    return kv;
fail:
    etcd_kv_free(kv);
    return NULL;
}

void
etcd_kv_free(struct etcd_kv *kv)
{
    if (kv == NULL)
        return;
    for (size_t i = 0; i < kv->nurls; i++)
        free(kv->urls[i]);
    free(kv->urls);
    free(kv->endpoints);
    free(kv->username);
    wipe_free(kv->password);
    wipe_free(kv->token);
    if (kv->easy != NULL)
        curl_easy_cleanup(kv->easy);
    free(kv);
    curl_global_cleanup();
}

const char *
etcd_kv_error(const struct etcd_kv *kv)
{
    return kv->error;
}

const char *
etcd_kv_endpoints(const struct etcd_kv *kv)
{
    return kv->endpoints;
}

static int
cancelled(const struct etcd_kv *kv)
{
    return kv->cancel != NULL && atomic_load(kv->cancel) != 0;
}

static size_t
on_data(char *data, size_t size, size_t n, void *arg)
{
    struct strbuf *sb = arg;
    size_t len = size * n;

    if (sb->len + len > MAX_REPLY_BYTES)
        return 0; /* libcurl fails the transfer */
    strbuf_add(sb, data, len);
    return strbuf_failed(sb) ? 0 : len;
}

static int
on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
            curl_off_t ulnow)
{
    (void)dltotal;
    (void)dlnow;
    (void)ultotal;
    (void)ulnow;
    return cancelled(arg) ? 1 : 0;
}

/* etcd's own words from an error reply, or "" */
static const char *
reply_message(const json_t *reply)
{
    const char *msg = json_string_value(json_object_get(reply, "message"));

    if (msg == NULL)
        msg = json_string_value(json_object_get(reply, "error"));
    return msg != NULL ? msg : "";
}

/*
 * One POST of body to endpoint ep.  0 when an HTTP answer came: *code and
 * *reply (the parsed JSON body, NULL if it was not JSON); -1 when none did
 * (kv->error says why).
 */
static int
post(struct etcd_kv *kv, size_t ep, const char *path, const char *body, long *code,
     json_t **reply)
{
    struct strbuf url = STRBUF_INIT, answer = STRBUF_INIT, auth = STRBUF_INIT;
    struct curl_slist *headers = NULL, *grown;
    char errbuf[CURL_ERROR_SIZE] = "";
    CURLcode rc = CURLE_OUT_OF_MEMORY;
    int ret = -1;

    *code = 0;
    *reply = NULL;
    strbuf_puts(&url, kv->urls[ep]);
    strbuf_puts(&url, path);
    if (kv->token != NULL) {
        strbuf_puts(&auth, "Authorization: ");
        strbuf_puts(&auth, kv->token);
    }
    if (strbuf_failed(&url) || strbuf_failed(&auth))
        goto done;
    if ((headers = curl_slist_append(NULL, "Content-Type: application/json")) == NULL)
        goto done;
    if (kv->token != NULL) {
        if ((grown = curl_slist_append(headers, strbuf_str(&auth))) == NULL)
            goto done;
        headers = grown;
    }
    curl_easy_reset(kv->easy);
    if (curl_easy_setopt(kv->easy, CURLOPT_URL, strbuf_str(&url)) != CURLE_OK ||
        curl_easy_setopt(kv->easy, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
        curl_easy_setopt(kv->easy, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
        curl_easy_setopt(kv->easy, CURLOPT_CONNECTTIMEOUT_MS, CONNECT_TIMEOUT_MS) != CURLE_OK ||
        curl_easy_setopt(kv->easy, CURLOPT_TIMEOUT_MS, REQUEST_TIMEOUT_MS) != CURLE_OK ||
        curl_easy_setopt(kv->easy, CURLOPT_POSTFIELDS, body) != CURLE_OK ||
        curl_easy_setopt(kv->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body)) !=
            CURLE_OK ||
        curl_easy_setopt(kv->easy, CURLOPT_HTTPHEADER, headers) != CURLE_OK ||
        curl_easy_setopt(kv->easy, CURLOPT_WRITEFUNCTION, on_data) != CURLE_OK ||
        curl_easy_setopt(kv->easy, CURLOPT_WRITEDATA, &answer) != CURLE_OK ||
        curl_easy_setopt(kv->easy, CURLOPT_ERRORBUFFER, errbuf) != CURLE_OK ||
        curl_easy_setopt(kv->easy, CURLOPT_NOPROGRESS, 0L) != CURLE_OK ||
        curl_easy_setopt(kv->easy, CURLOPT_XFERINFOFUNCTION, on_progress) != CURLE_OK ||
        curl_easy_setopt(kv->easy, CURLOPT_XFERINFODATA, kv) != CURLE_OK)
        goto done;
    rc = curl_easy_perform(kv->easy);
    if (rc == CURLE_OK) {
        curl_easy_getinfo(kv->easy, CURLINFO_RESPONSE_CODE, code);
        if (answer.len > 0)
            *reply = json_loadb(answer.data, answer.len, 0, NULL);
        ret = 0;
    }
done:
    if (ret < 0)
        snprintf(kv->error, sizeof(kv->error), "etcd at %s: %s", kv->urls[ep],
                 rc == CURLE_ABORTED_BY_CALLBACK ? "cancelled"
                 : errbuf[0] != '\0'             ? errbuf
                                                 : curl_easy_strerror(rc));
    /* The header carried the token and the body may carry the password. */
    curl_easy_reset(kv->easy);
    curl_slist_free_all(headers);
    if (auth.data != NULL)
        explicit_bzero(auth.data, auth.len);
    strbuf_reset(&auth);
    strbuf_reset(&url);
    strbuf_reset(&answer);
    return ret;
}

/* Sort an HTTP answer into the outcomes of etcd_status, filling kv->error. */
static enum etcd_status
classify(struct etcd_kv *kv, size_t ep, long code, const json_t *reply)
{
    const char *msg;

    if (code >= 200 && code < 300) {
        if (json_is_object(reply))
            return ETCD_OK;
        snprintf(kv->error, sizeof(kv->error), "etcd at %s: the answer is not a JSON object",
                 kv->urls[ep]);
        return ETCD_UNAVAILABLE;
    }
    /* 404: not a v3 gateway at this URL (another endpoint may be one);
     * 408/429/5xx: this member cannot serve now. */
    if (code >= 500 || code == 404 || code == 408 || code == 429) {
        snprintf(kv->error, sizeof(kv->error), "etcd at %s: HTTP %ld %s", kv->urls[ep], code,
                 reply_message(reply));
        return ETCD_UNAVAILABLE;
    }
    msg = reply_message(reply);
    snprintf(kv->error, sizeof(kv->error), "etcd at %s refused the request: %s (HTTP %ld)",
             kv->urls[ep], msg, code);
    /* Access, not this request: 401 (token) and 403 (permission), and
     * etcd's InvalidArgument (400) when auth is on and no user was given. */
    if (code == 401 || code == 403 || strstr(msg, "user name is empty") != NULL)
        return ETCD_DENIED;
    return ETCD_REJECTED;
}

/* A token for kv->username from endpoint ep. */
static enum etcd_status
authenticate(struct etcd_kv *kv, size_t ep)
{
    json_t *req, *reply = NULL;
    char *body;
    const char *token;
    long code;
    enum etcd_status st = ETCD_DENIED;

    wipe_free(kv->token);
    kv->token = NULL;
    if ((req = json_pack("{s:s, s:s}", "name", kv->username, "password", kv->password)) == NULL) {
        snprintf(kv->error, sizeof(kv->error), "etcd user name or password is not UTF-8");
        return ETCD_DENIED;
    }
    body = json_dumps(req, JSON_COMPACT);
    json_decref(req); /* jansson's copy of the password is freed without a wipe */
    if (body == NULL) {
        snprintf(kv->error, sizeof(kv->error), "out of memory");
        return ETCD_UNAVAILABLE;
    }
    if (post(kv, ep, "/v3/auth/authenticate", body, &code, &reply) < 0) {
        st = ETCD_UNAVAILABLE;
    } else if ((st = classify(kv, ep, code, reply)) == ETCD_OK) {
        token = json_string_value(json_object_get(reply, "token"));
        if (token == NULL || token[0] == '\0') {
            snprintf(kv->error, sizeof(kv->error),
                     "etcd at %s gave no token (is authentication enabled in etcd?)",
                     kv->urls[ep]);
            st = ETCD_DENIED;
        } else if ((kv->token = strdup(token)) == NULL) {
            st = ETCD_UNAVAILABLE;
        }
    } else if (st != ETCD_UNAVAILABLE) {
        /* Wrong credentials, or authentication is off in etcd. */
        snprintf(kv->error, sizeof(kv->error), "etcd at %s: authentication as '%s' failed: %s",
                 kv->urls[ep], kv->username, reply_message(reply));
        st = ETCD_DENIED;
    }
    json_decref(reply);
    wipe_free(body);
    return st;
}

/* One request to endpoint ep, authenticating first when needed. */
static enum etcd_status
request_at(struct etcd_kv *kv, size_t ep, const char *path, const char *body, json_t **reply)
{
    json_t *json = NULL;
    long code = 0;
    enum etcd_status st;

    for (int attempt = 0;; attempt++) {
        if (kv->username != NULL && kv->token == NULL &&
            (st = authenticate(kv, ep)) != ETCD_OK)
            return st;
        if (post(kv, ep, path, body, &code, &json) < 0)
            return ETCD_UNAVAILABLE;
        if (code != 401 || kv->username == NULL || attempt > 0)
            break;
        /* The token expired (simple tokens live 5 minutes): a new one, once. */
        json_decref(json);
        json = NULL;
        wipe_free(kv->token);
        kv->token = NULL;
    }
    if ((st = classify(kv, ep, code, json)) == ETCD_OK)
        *reply = json;
    else
        json_decref(json);
    return st;
}

/* POST body to path at the first endpoint that answers usefully.  An
 * endpoint that answers ETCD_REJECTED or ETCD_DENIED speaks for the whole
 * cluster: the others are not asked. */
static enum etcd_status
request(struct etcd_kv *kv, const char *path, const char *body, json_t **reply)
{
    *reply = NULL;
    for (size_t i = 0; i < kv->nurls && !cancelled(kv); i++) {
        size_t ep = (kv->current + i) % kv->nurls;
        enum etcd_status st = request_at(kv, ep, path, body, reply);

        if (st != ETCD_UNAVAILABLE) {
            kv->current = ep;
            if (st == ETCD_OK)
                kv->error[0] = '\0';
            return st;
        }
    }
    return ETCD_UNAVAILABLE;
}

/* base64 of bytes as a new JSON string; NULL when out of memory. */
static json_t *
b64_string(const char *data, size_t len)
{
    char *text = base64_encode(data, len);
    json_t *s;

    if (text == NULL)
        return NULL;
    s = json_string_nocheck(text);
    free(text);
    return s;
}

/* A base64 JSON string as bytes; -1 if it is not one. */
static int
b64_bytes(const json_t *s, struct etcd_bytes *out)
{
    const char *text = json_string_value(s);
    size_t len = json_string_length(s);
    struct base64_error err;

    out->data = NULL;
    out->len = 0;
    if (text == NULL) {
        /* etcd leaves out an empty value */
        text = "";
        len = 0;
    }
    if ((out->data = malloc(base64_decoded_max(len) + 1)) == NULL)
        return -1;
    if (base64_decode(text, len, (unsigned char *)out->data, &out->len, &err) < 0) {
        free(out->data);
        out->data = NULL;
        return -1;
    }
    out->data[out->len] = '\0';
    return 0;
}

void
etcd_pairs_free(struct etcd_pair *pairs, size_t npairs)
{
    for (size_t i = 0; i < npairs; i++) {
        free(pairs[i].key.data);
        free(pairs[i].value.data);
    }
    free(pairs);
}

/* The end of the range of every key that starts with prefix: the prefix
 * with its last byte incremented (a byte 0xff is dropped first). */
static size_t
prefix_end(const char *prefix, char *end)
{
    size_t len = strlen(prefix);

    memcpy(end, prefix, len);
    while (len > 0 && (unsigned char)end[len - 1] == 0xff)
        len--;
    if (len > 0)
        end[len - 1] = (char)((unsigned char)end[len - 1] + 1);
    return len; /* 0: every key ("\0" as range_end in etcd's terms) */
}

/* Append the keys and values of one range answer; *more if etcd has more. */
static int
take_page(const json_t *reply, struct etcd_pair **pairs, size_t *npairs, size_t *cap, int *more)
{
    const json_t *kvs = json_object_get(reply, "kvs");
    size_t i;
    json_t *item;

    *more = json_is_true(json_object_get(reply, "more"));
    json_array_foreach(kvs, i, item) {
        struct etcd_pair pair;

        if (*npairs == *cap) {
            size_t grown_cap = *cap > 0 ? *cap * 2 : 64;
            struct etcd_pair *grown = realloc(*pairs, grown_cap * sizeof(*grown));
            if (grown == NULL)
                return -1;
            *pairs = grown;
            *cap = grown_cap;
        }
        if (b64_bytes(json_object_get(item, "key"), &pair.key) < 0)
            return -1;
        if (b64_bytes(json_object_get(item, "value"), &pair.value) < 0) {
            free(pair.key.data);
            return -1;
        }
        (*pairs)[(*npairs)++] = pair;
    }
    return 0;
}

enum etcd_status
etcd_kv_range_prefix(struct etcd_kv *kv, const char *prefix, struct etcd_pair **pairs,
                     size_t *npairs)
{
    struct etcd_pair *got = NULL;
    size_t n = 0, cap = 0, end_len;
    char *end = malloc(strlen(prefix) + 1);
    char *start = strdup(prefix);
    size_t start_len = strlen(prefix);
    enum etcd_status st = ETCD_UNAVAILABLE;
    int more = 1;

    *pairs = NULL;
    *npairs = 0;
    if (end == NULL || start == NULL)
        goto out;
    end_len = prefix_end(prefix, end);
    while (more) {
        json_t *req = json_object(), *reply = NULL;
        char *body = NULL;
        int bad;

        bad = req == NULL || json_object_set_new(req, "key", b64_string(start, start_len)) < 0 ||
              json_object_set_new(req, "range_end", end_len > 0 ? b64_string(end, end_len)
                                                                : b64_string("", 1)) < 0 ||
              json_object_set_new(req, "limit", json_integer(RANGE_PAGE)) < 0 ||
              (body = json_dumps(req, JSON_COMPACT)) == NULL;
        json_decref(req);
        if (bad) {
            free(body);
            snprintf(kv->error, sizeof(kv->error), "out of memory");
            st = ETCD_UNAVAILABLE;
            goto out;
        }
        st = request(kv, "/v3/kv/range", body, &reply);
        free(body);
        if (st != ETCD_OK)
            goto out;
        bad = take_page(reply, &got, &n, &cap, &more) < 0;
        json_decref(reply);
        if (bad) {
            snprintf(kv->error, sizeof(kv->error), "etcd's range answer is malformed");
            st = ETCD_UNAVAILABLE;
            goto out;
        }
        if (more && n > 0) {
            /* The next page starts just after the last key: key + "\0". */
            char *next = malloc(got[n - 1].key.len + 1);
            if (next == NULL) {
                st = ETCD_UNAVAILABLE;
                goto out;
            }
            memcpy(next, got[n - 1].key.data, got[n - 1].key.len);
            next[got[n - 1].key.len] = '\0';
            free(start);
            start = next;
            start_len = got[n - 1].key.len + 1;
        } else {
            more = 0;
        }
    }
    *pairs = got;
    *npairs = n;
    got = NULL;
    n = 0;
out:
    etcd_pairs_free(got, n);
    free(start);
    free(end);
    return st;
}

enum etcd_status
etcd_kv_txn(struct etcd_kv *kv, const struct etcd_op *ops, size_t nops)
{
    json_t *req = json_object(), *success = json_array(), *reply = NULL;
    char *body = NULL;
    enum etcd_status st = ETCD_UNAVAILABLE;
    int bad = req == NULL || success == NULL;

    for (size_t i = 0; i < nops && !bad; i++) {
        json_t *inner = json_object(), *op = json_object();

        bad = inner == NULL || op == NULL ||
              json_object_set_new(inner, "key", b64_string(ops[i].key, ops[i].key_len)) < 0 ||
              (ops[i].value != NULL &&
               json_object_set_new(inner, "value", b64_string(ops[i].value, ops[i].value_len)) <
                   0);
        if (!bad) {
            const char *kind = ops[i].value != NULL ? "request_put" : "request_delete_range";
            bad = json_object_set(op, kind, inner) < 0 ||
                  json_array_append(success, op) < 0;
        }
        json_decref(inner);
        json_decref(op);
    }
    if (!bad)
        bad = json_object_set(req, "success", success) < 0 ||
              (body = json_dumps(req, JSON_COMPACT)) == NULL;
    json_decref(success);
    json_decref(req);
    if (bad) {
        snprintf(kv->error, sizeof(kv->error), "out of memory");
        goto out;
    }
    if ((st = request(kv, "/v3/kv/txn", body, &reply)) == ETCD_OK &&
        !json_is_true(json_object_get(reply, "succeeded"))) {
        /* No compares: a transaction without them always succeeds. */
        snprintf(kv->error, sizeof(kv->error), "etcd did not apply the transaction");
        st = ETCD_REJECTED;
    }
out:
    json_decref(reply);
    free(body);
    return st;
}
