/* job_config.c - strict parsing of the per-kind task parameters.
 *
 * Each kind is a table of fields: a name, a parser, and where a shared
 * parser writes in the kind's struct.  One loop walks a config object
 * against a table, so that every kind refuses unknown fields and wrong
 * types in the same words, and the "known:" list of an error is the table
 * itself.  Checks that several kinds share (URL, TLS, output limit,
 * objects of strings) are written once.
 *
 * Glossary: a *field* is a key of the config object; a *pair* is one entry
 * of an object of strings (env, headers, metadata), kept as one
 * "name<sep>value" string in a NULL-terminated list.
 */
#include <autoconfig.h>

#include <jansson.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base64.h"
#include "job_config.h"

#define URL_MAX 2048
#define HTTP_METHOD_MAX 16
#define HTTP_STATUS_MIN 100
#define HTTP_STATUS_MAX 599
#define TABLECRON_HEADER_PREFIX "x-tablecron-"

struct field;

/* Parse one field's value into cfg (the kind's struct).  0, or -1 with err
 * filled; what was stored before a failure is freed by the kind's _free. */
typedef int (*field_parse)(json_t *value, void *cfg, const struct field *f,
                           struct job_config_error *err);

struct field {
    const char *name;
    field_parse parse;
    size_t offset; /* where a shared parser writes; 0 for the kind's own parsers */
    int required;  /* the char * at offset must be set once all fields are read */
};

struct kind {
    const char *name;    /* "http" */
    const char *article; /* "an": for "an http config needs a url" */
    const struct field *fields;
    size_t nfields;
};

#define AT(type, member) offsetof(struct type, member)
#define FIELD_PTR(cfg, f, type) ((type *)(void *)((char *)(cfg) + (f)->offset))

static void TC_PRINTF(3, 4)
set_error(struct job_config_error *err, const char *field, const char *fmt, ...)
{
    va_list ap;

    snprintf(err->field, sizeof(err->field), "%s", field);
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
}

static int
oom(struct job_config_error *err)
{
    set_error(err, "", "out of memory");
    return -1;
}

/* The text of a string value (borrowed) and its length; "NAME must be
 * WHAT" when it is not a string, and NUL characters are refused. */
static int
string_value(json_t *value, const char *name, const char *what, const char **text,
             size_t *len, struct job_config_error *err)
{
    if (!json_is_string(value)) {
        set_error(err, name, "%s must be %s", name, what);
        return -1;
    }
    *text = json_string_value(value);
    *len = json_string_length(value);
    if (strlen(*text) != *len) {
        set_error(err, name, "%s must not contain NUL characters", name);
        return -1;
    }
    return 0;
}

static char *
copy_text(const char *text, size_t len)
{
    char *s = malloc(len + 1);

    if (s != NULL) {
        memcpy(s, text, len);
        s[len] = '\0';
    }
    return s;
}

static void
free_list(char **list)
{
    for (char **p = list; p != NULL && *p != NULL; p++)
        free(*p);
    free(list);
}

/* An empty list where none was given: the structs promise never NULL. */
static int
ensure_list(char ***list, struct job_config_error *err)
{
    if (*list == NULL && (*list = calloc(1, sizeof(char *))) == NULL)
        return oom(err);
    return 0;
}

static int
is_alpha(int c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static int
is_digit(int c)
{
    return c >= '0' && c <= '9';
}

/* [A-Za-z_][A-Za-z0-9_]*: a shell variable, a protobuf name part.  Returns
 * its length (0 if there is none at s). */
static size_t
identifier_len(const char *s)
{
    size_t n = 0;

    if (!is_alpha(s[0]) && s[0] != '_')
        return 0;
    while (is_alpha(s[n]) || is_digit(s[n]) || s[n] == '_')
        n++;
    return n;
}

/* An RFC 7230 token: header names and methods. */
static int
is_token(const char *s)
{
    if (*s == '\0')
        return 0;
    for (; *s != '\0'; s++) {
        if (!is_alpha(*s) && !is_digit(*s) && strchr("!#$%&'*+-.^_`|~", *s) == NULL)
            return 0;
    }
    return 1;
}

/* --- fields several kinds share --- */

/* A non-empty string without NUL, into the char * at offset. */
static int
parse_text(json_t *value, void *cfg, const struct field *f, struct job_config_error *err)
{
    const char *what = "a non-empty string";
    const char *text;
    size_t len;

    if (string_value(value, f->name, what, &text, &len, err) < 0)
        return -1;
    if (len == 0) {
        set_error(err, f->name, "%s must be %s", f->name, what);
        return -1;
    }
    if ((*FIELD_PTR(cfg, f, char *) = copy_text(text, len)) == NULL)
        return oom(err);
    return 0;
}

/* An absolute path (cwd, ca_file), into the char * at offset. */
static int
parse_path(json_t *value, void *cfg, const struct field *f, struct job_config_error *err)
{
    const char *what = "an absolute path";
    const char *text;
    size_t len;

    if (string_value(value, f->name, what, &text, &len, err) < 0)
        return -1;
    if (text[0] != '/') {
        set_error(err, f->name, "%s must be %s", f->name, what);
        return -1;
    }
    if ((*FIELD_PTR(cfg, f, char *) = copy_text(text, len)) == NULL)
        return oom(err);
    return 0;
}

/* true or false, into the int at offset. */
static int
parse_bool(json_t *value, void *cfg, const struct field *f, struct job_config_error *err)
{
    if (!json_is_boolean(value)) {
        set_error(err, f->name, "%s must be true or false", f->name);
        return -1;
    }
    *FIELD_PTR(cfg, f, int) = json_is_true(value);
    return 0;
}

/* Bytes of output kept, into the size_t at offset. */
static int
parse_output_limit(json_t *value, void *cfg, const struct field *f, struct job_config_error *err)
{
    if (!json_is_integer(value) || json_integer_value(value) < 1 ||
        json_integer_value(value) > JOB_CONFIG_OUTPUT_MAX) {
        set_error(err, f->name, "%s must be a number of bytes from 1 to %d", f->name,
                  JOB_CONFIG_OUTPUT_MAX);
        return -1;
    }
    *FIELD_PTR(cfg, f, size_t) = (size_t)json_integer_value(value);
    return 0;
}

/* A port after ':' in a URL: 1 to 65535, digits only. */
static int
valid_port(const char *s, size_t len)
{
    long port = 0;

    if (len == 0 || len > 5)
        return 0;
    for (size_t i = 0; i < len; i++) {
        if (!is_digit(s[i]))
            return 0;
        port = port * 10 + (s[i] - '0');
    }
    return port >= 1 && port <= 65535;
}

/*
 * The URL of an http or grpc task into *out: http:// or https:// (the
 * scheme is stored in lower case), a host (a name, an address or an [IPv6]
 * literal, then an optional port), no blank or control character, at most
 * URL_MAX bytes.  A gRPC URL names the server only: the method is appended
 * to it, so it has no query or fragment and loses any trailing '/'.
 */
static int
parse_url(json_t *value, int grpc, char **out, struct job_config_error *err)
{
    const char *text, *auth, *host, *end, *port;
    size_t len, scheme;

    if (string_value(value, "url", "a string", &text, &len, err) < 0)
        return -1;
    if (len > URL_MAX) {
        set_error(err, "url", "url must be at most %d bytes", URL_MAX);
        return -1;
    }
    for (size_t i = 0; i < len; i++) {
        if ((unsigned char)text[i] <= ' ' || text[i] == 0x7f) {
            set_error(err, "url", "url must not contain blanks or control characters (at %zu)",
                      i);
            return -1;
        }
    }
    if (strncasecmp(text, "http://", 7) == 0) {
        scheme = 4;
    } else if (strncasecmp(text, "https://", 8) == 0) {
        scheme = 5;
    } else {
        set_error(err, "url", "url must start with http:// or https://");
        return -1;
    }
    if (grpc && strpbrk(text, "?#") != NULL) {
        set_error(err, "url", "url of a grpc task must not have a query or a fragment");
        return -1;
    }
    auth = text + scheme + 3;
    end = auth + strcspn(auth, "/?#");
    /* userinfo@ before the host, if any */
    host = auth;
    for (const char *p = auth; p < end; p++) {
        if (*p == '@')
            host = p + 1;
    }
    if (*host == '[') {
        /* [IPv6 literal], then ":port" or nothing */
        const char *close = memchr(host, ']', (size_t)(end - host));
        if (close == NULL || close == host + 1 || (close + 1 < end && close[1] != ':')) {
            set_error(err, "url", "url has a bad [address]");
            return -1;
        }
        port = close + 1 < end ? close + 2 : NULL;
    } else {
        port = memchr(host, ':', (size_t)(end - host));
        if (port == host || host == end) {
            set_error(err, "url", "url must name a host");
            return -1;
        }
        if (port != NULL)
            port++;
    }
    if (port != NULL && !valid_port(port, (size_t)(end - port))) {
        set_error(err, "url", "url has a bad port (1 to 65535)");
        return -1;
    }
    if (grpc) {
        while (len > scheme + 3 && text[len - 1] == '/')
            len--;
    }
    if ((*out = copy_text(text, len)) == NULL)
        return oom(err);
    for (size_t i = 0; i < scheme; i++)
        (*out)[i] = (char)((*out)[i] | 0x20); /* letters only: lower case */
    return 0;
}

/*
 * A pair's own checks: key is the name as given, name a copy that the
 * check may rewrite in place (lower-case it), field "what.key".
 */
typedef int (*pair_check)(const char *key, char *name, const char *value, size_t len,
                          const char *field, struct job_config_error *err);

/*
 * An object of strings into *out as "name<sep>value" strings, in the
 * object's order.  Names must be unique once checked (metadata keys are
 * lower-cased, so "A" and "a" would be the same).
 */
static int
parse_pairs(json_t *obj, const char *what, const char *sep, pair_check check, char ***out,
            struct job_config_error *err)
{
    size_t n = 0, seplen = strlen(sep);
    const char *key;
    json_t *value;

    if (!json_is_object(obj)) {
        set_error(err, what, "%s must be an object of strings", what);
        return -1;
    }
    if ((*out = calloc(json_object_size(obj) + 1, sizeof(char *))) == NULL)
        return oom(err);
    json_object_foreach(obj, key, value) {
        size_t klen = strlen(key), vlen;
        const char *text;
        char field[64], label[80];
        char *entry;

        snprintf(field, sizeof(field), "%s.%s", what, key);
        snprintf(label, sizeof(label), "%s.%.40s", what, key);
        if (!json_is_string(value)) {
            set_error(err, field, "%s must be a string", label);
            return -1;
        }
        text = json_string_value(value);
        vlen = json_string_length(value);
        if (strlen(text) != vlen) {
            set_error(err, field, "%s must not contain NUL characters", label);
            return -1;
        }
        if ((entry = malloc(klen + seplen + vlen + 1)) == NULL)
            return oom(err);
        (*out)[n++] = entry; /* freed with the list from here on */
        memcpy(entry, key, klen + 1);
        if (check(key, entry, text, vlen, field, err) < 0)
            return -1;
        for (size_t i = 0; i + 1 < n; i++) {
            if (strncmp((*out)[i], entry, klen) == 0 &&
                strncmp((*out)[i] + klen, sep, seplen) == 0) {
                set_error(err, field, "%s: '%.40s' is given twice", what, entry);
                return -1;
            }
        }
        memcpy(entry + klen, sep, seplen);
        memcpy(entry + klen + seplen, text, vlen + 1);
    }
    return 0;
}

/* --- shell --- */

static int
check_env(const char *key, char *name, const char *value, size_t len, const char *field,
          struct job_config_error *err)
{
    (void)name;
    (void)value;
    (void)len;
    if (key[0] == '\0' || identifier_len(key) != strlen(key)) {
        set_error(err, field, "env: '%.40s' is not a valid variable name", key);
        return -1;
    }
    return 0;
}

static int
parse_env(json_t *value, void *cfg, const struct field *f, struct job_config_error *err)
{
    (void)f;
    return parse_pairs(value, "env", "=", check_env, &((struct shell_config *)cfg)->env, err);
}

static const struct field shell_fields[] = {
    { "command", parse_text, AT(shell_config, command), 1 },
    { "env", parse_env, 0, 0 },
    { "cwd", parse_path, AT(shell_config, cwd), 0 },
    { "output_limit", parse_output_limit, AT(shell_config, output_limit), 0 },
};

/* --- http --- */

static int
parse_http_url(json_t *value, void *cfg, const struct field *f, struct job_config_error *err)
{
    (void)f;
    return parse_url(value, 0, &((struct http_config *)cfg)->url, err);
}

static int
parse_http_method(json_t *value, void *cfg, const struct field *f, struct job_config_error *err)
{
    const char *what = "an HTTP method such as GET or POST";
    struct http_config *http = cfg;
    const char *text;
    size_t len;

    if (string_value(value, f->name, what, &text, &len, err) < 0)
        return -1;
    if (!is_token(text)) {
        set_error(err, f->name, "%s must be %s", f->name, what);
        return -1;
    }
    if (len > HTTP_METHOD_MAX) {
        set_error(err, f->name, "%s must be at most %d characters", f->name, HTTP_METHOD_MAX);
        return -1;
    }
    if ((http->method = copy_text(text, len)) == NULL)
        return oom(err);
    for (char *p = http->method; *p != '\0'; p++) {
        if (*p >= 'a' && *p <= 'z')
            *p = (char)(*p - 'a' + 'A');
    }
    return 0;
}

static int
check_header(const char *key, char *name, const char *value, size_t len, const char *field,
             struct job_config_error *err)
{
    (void)name;
    if (!is_token(key)) {
        set_error(err, field, "headers: '%.40s' is not a valid header name", key);
        return -1;
    }
    if (strncasecmp(key, TABLECRON_HEADER_PREFIX, strlen(TABLECRON_HEADER_PREFIX)) == 0) {
        set_error(err, field, "headers: '%.40s' is set by tablecron itself", key);
        return -1;
    }
    if (strcasecmp(key, "Content-Length") == 0 || strcasecmp(key, "Transfer-Encoding") == 0) {
        set_error(err, field, "headers: '%.40s' is set by tablecron from the body", key);
        return -1;
    }
    if (memchr(value, '\r', len) != NULL || memchr(value, '\n', len) != NULL) {
        set_error(err, field, "headers.%.40s must not contain CR or LF", key);
        return -1;
    }
    return 0;
}

static int
parse_headers(json_t *value, void *cfg, const struct field *f, struct job_config_error *err)
{
    (void)f;
    return parse_pairs(value, "headers", ": ", check_header, &((struct http_config *)cfg)->headers,
                       err);
}

/* body and json fill the same slot: the second one seen is refused. */
static int
body_taken(const struct http_config *http, const struct field *f, struct job_config_error *err)
{
    if (http->body == NULL)
        return 0;
    set_error(err, f->name, "give body or json, not both");
    return -1;
}

static int
parse_body(json_t *value, void *cfg, const struct field *f, struct job_config_error *err)
{
    struct http_config *http = cfg;
    const char *text;
    size_t len;

    if (body_taken(http, f, err) < 0 || string_value(value, f->name, "a string", &text, &len,
                                                     err) < 0)
        return -1;
    if ((http->body = copy_text(text, len)) == NULL)
        return oom(err);
    http->body_len = len;
    return 0;
}

static int
parse_json_body(json_t *value, void *cfg, const struct field *f, struct job_config_error *err)
{
    struct http_config *http = cfg;

    if (body_taken(http, f, err) < 0)
        return -1;
    if ((http->body = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY)) == NULL)
        return oom(err);
    http->body_len = strlen(http->body);
    http->body_is_json = 1;
    return 0;
}

static int
valid_status(json_t *v)
{
    return json_is_integer(v) && json_integer_value(v) >= HTTP_STATUS_MIN &&
           json_integer_value(v) <= HTTP_STATUS_MAX;
}

/* "2xx", 200 or [200, 204]. */
static int
parse_expect(json_t *value, void *cfg, const struct field *f, struct job_config_error *err)
{
    struct http_config *http = cfg;
    const char *s;
    json_t *code;
    size_t i;

    if (json_is_string(value)) {
        s = json_string_value(value);
        if (json_string_length(value) == 3 && s[0] >= '1' && s[0] <= '5' &&
            (s[1] | 0x20) == 'x' && (s[2] | 0x20) == 'x') {
            http->expect_class = s[0] - '0';
            return 0;
        }
    } else if (valid_status(value)) {
        http->expect_class = 0;
        http->expect_codes[0] = (int)json_integer_value(value);
        http->n_expect = 1;
        return 0;
    } else if (json_is_array(value) && json_array_size(value) > 0 &&
               json_array_size(value) <= HTTP_EXPECT_MAX) {
        json_array_foreach(value, i, code) {
            if (!valid_status(code))
                break;
            http->expect_codes[i] = (int)json_integer_value(code);
        }
        if (i == json_array_size(value)) {
            http->expect_class = 0;
            http->n_expect = (int)i;
            return 0;
        }
    }
    set_error(err, f->name,
              "%s must be a class from \"1xx\" to \"5xx\", a status from %d to %d, or a list "
              "of 1 to %d statuses",
              f->name, HTTP_STATUS_MIN, HTTP_STATUS_MAX, HTTP_EXPECT_MAX);
    return -1;
}

static const struct field http_fields[] = {
    { "url", parse_http_url, AT(http_config, url), 1 },
    { "method", parse_http_method, 0, 0 },
    { "headers", parse_headers, 0, 0 },
    { "body", parse_body, 0, 0 },
    { "json", parse_json_body, 0, 0 },
    { "expect_status", parse_expect, 0, 0 },
    { "follow_redirects", parse_bool, AT(http_config, follow_redirects), 0 },
    { "tls_verify", parse_bool, AT(http_config, tls_verify), 0 },
    { "ca_file", parse_path, AT(http_config, ca_file), 0 },
    { "output_limit", parse_output_limit, AT(http_config, output_limit), 0 },
};

/* --- grpc --- */

static int
parse_grpc_url(json_t *value, void *cfg, const struct field *f, struct job_config_error *err)
{
    (void)f;
    return parse_url(value, 1, &((struct grpc_config *)cfg)->url, err);
}

/* "/package.Service/Method" or without the first '/': stored without it. */
static int
parse_grpc_method(json_t *value, void *cfg, const struct field *f, struct job_config_error *err)
{
    const char *what = "a string like package.Service/Method";
    struct grpc_config *grpc = cfg;
    const char *text, *p;
    size_t len, n;

    if (string_value(value, f->name, what, &text, &len, err) < 0)
        return -1;
    if (text[0] == '/') {
        text++;
        len--;
    }
    /* The service: identifiers joined by '.'; then '/' and one identifier. */
    p = text;
    while ((n = identifier_len(p)) > 0 && p[n] == '.')
        p += n + 1;
    p += n;
    if (n == 0 || *p != '/' || (n = identifier_len(p + 1)) == 0 || p + 1 + n != text + len) {
        set_error(err, f->name, "%s must look like package.Service/Method", f->name);
        return -1;
    }
    if ((grpc->method = copy_text(text, len)) == NULL)
        return oom(err);
    return 0;
}

static int
parse_message(json_t *value, void *cfg, const struct field *f, struct job_config_error *err)
{
    struct grpc_config *grpc = cfg;
    struct base64_error berr;
    const char *text;
    size_t len, n;

    if (!json_is_string(value)) {
        set_error(err, f->name, "%s must be a string of base64", f->name);
        return -1;
    }
    text = json_string_value(value);
    len = json_string_length(value);
    /* Checked before any allocation; "" is no message (NULL, 0). */
    if (base64_decode(text, len, NULL, &n, &berr) < 0) {
        set_error(err, f->name, "%s is not valid base64: %s at %zu", f->name, berr.msg,
                  berr.pos);
        return -1;
    }
    if (n == 0)
        return 0;
    if ((grpc->message = malloc(n)) == NULL)
        return oom(err);
    if (base64_decode(text, len, grpc->message, &grpc->message_len, &berr) < 0)
        return oom(err); /* not reached: the text was checked */
    return 0;
}

static int
check_metadata(const char *key, char *name, const char *value, size_t len, const char *field,
               struct job_config_error *err)
{
    static const char *const client_set[] = { "te", "content-type", "user-agent" };
    struct base64_error berr;
    size_t klen = strlen(name), bytes;

    for (char *p = name; *p != '\0'; p++) {
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    }
    if (strncmp(name, "grpc-", 5) == 0 || name[0] == ':') {
        set_error(err, field, "metadata: '%.40s' is reserved by gRPC", key);
        return -1;
    }
    for (size_t i = 0; i < TC_ARRAY_LEN(client_set); i++) {
        if (strcmp(name, client_set[i]) == 0) {
            set_error(err, field, "metadata: '%.40s' is set by tablecron's gRPC client", key);
            return -1;
        }
    }
    if (strncmp(name, TABLECRON_HEADER_PREFIX, strlen(TABLECRON_HEADER_PREFIX)) == 0) {
        set_error(err, field, "metadata: '%.40s' is set by tablecron itself", key);
        return -1;
    }
    if (klen == 0 || strspn(name, "0123456789abcdefghijklmnopqrstuvwxyz_.-") != klen) {
        set_error(err, field, "metadata: '%.40s' is not a valid key (use 0-9 a-z _ . -)", key);
        return -1;
    }
    if (klen > 4 && strcmp(name + klen - 4, "-bin") == 0) {
        if (base64_decode(value, len, NULL, &bytes, &berr) < 0) {
            set_error(err, field, "metadata.%.40s is not valid base64: %s at %zu", key, berr.msg,
                      berr.pos);
            return -1;
        }
        return 0;
    }
    for (size_t i = 0; i < len; i++) {
        if ((unsigned char)value[i] < 0x20 || (unsigned char)value[i] > 0x7e) {
            set_error(err, field,
                      "metadata.%.40s must be printable ASCII (a -bin key takes base64)", key);
            return -1;
        }
    }
    return 0;
}

static int
parse_metadata(json_t *value, void *cfg, const struct field *f, struct job_config_error *err)
{
    (void)f;
    return parse_pairs(value, "metadata", ": ", check_metadata,
                       &((struct grpc_config *)cfg)->metadata, err);
}

static const struct field grpc_fields[] = {
    { "url", parse_grpc_url, AT(grpc_config, url), 1 },
    { "method", parse_grpc_method, AT(grpc_config, method), 1 },
    { "message_base64", parse_message, 0, 0 },
    { "metadata", parse_metadata, 0, 0 },
    { "tls_verify", parse_bool, AT(grpc_config, tls_verify), 0 },
    { "ca_file", parse_path, AT(grpc_config, ca_file), 0 },
    { "output_limit", parse_output_limit, AT(grpc_config, output_limit), 0 },
};

/* --- the loop all kinds share --- */

static const struct kind shell_kind = { "shell", "a", shell_fields, TC_ARRAY_LEN(shell_fields) };
static const struct kind http_kind = { "http", "an", http_fields, TC_ARRAY_LEN(http_fields) };
static const struct kind grpc_kind = { "grpc", "a", grpc_fields, TC_ARRAY_LEN(grpc_fields) };
/* noop: nothing to say, so no field at all (an output_limit would limit
 * nothing, and a stray key is more likely a mistaken kind). */
static const struct kind noop_kind = { "noop", "a", NULL, 0 };

static void
unknown_field(const struct kind *k, const char *key, struct job_config_error *err)
{
    char known[160] = "";
    size_t used = 0;

    if (k->nfields == 0) {
        set_error(err, key, "unknown field '%.40s' in %s %s config (it takes none: use {})", key,
                  k->article, k->name);
        return;
    }
    for (size_t i = 0; i < k->nfields && used < sizeof(known); i++)
        used += (size_t)snprintf(known + used, sizeof(known) - used, "%s%s", i > 0 ? ", " : "",
                                 k->fields[i].name);
    set_error(err, key, "unknown field '%.40s' in %s %s config (known: %s)", key, k->article,
              k->name, known);
}

/* Walk the object in json against the kind's fields, into cfg (which holds
 * the defaults).  On error the caller frees cfg. */
static int
parse_config(const struct kind *k, const char *json, void *cfg, struct job_config_error *err)
{
    json_error_t jerr;
    json_t *root, *value;
    const char *key;
    int rc = -1;

    if ((root = json_loads(json, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr)) == NULL) {
        set_error(err, "", "config is not valid JSON: %s", jerr.text);
        return -1;
    }
    if (!json_is_object(root)) {
        set_error(err, "", "config must be a JSON object");
        goto out;
    }
    json_object_foreach(root, key, value) {
        const struct field *f = NULL;
        for (size_t i = 0; i < k->nfields && f == NULL; i++) {
            if (strcmp(k->fields[i].name, key) == 0)
                f = &k->fields[i];
        }
        if (f == NULL) {
            unknown_field(k, key, err);
            goto out;
        }
        if (f->parse(value, cfg, f, err) < 0)
            goto out;
    }
    for (size_t i = 0; i < k->nfields; i++) {
        const struct field *f = &k->fields[i];
        if (f->required && *FIELD_PTR(cfg, f, char *) == NULL) {
            set_error(err, f->name, "%s %s config needs a %s", k->article, k->name, f->name);
            goto out;
        }
    }
    rc = 0;
out:
    json_decref(root);
    return rc;
}

/* --- the kinds' entry points --- */

void
shell_config_free(struct shell_config *cfg)
{
    free(cfg->command);
    free_list(cfg->env);
    free(cfg->cwd);
    memset(cfg, 0, sizeof(*cfg));
}

int
job_config_shell(const char *json, struct shell_config *out, struct job_config_error *err)
{
    memset(out, 0, sizeof(*out));
    memset(err, 0, sizeof(*err));
    out->output_limit = JOB_CONFIG_OUTPUT_DEFAULT;
    if (parse_config(&shell_kind, json, out, err) < 0 || ensure_list(&out->env, err) < 0) {
        shell_config_free(out);
        return -1;
    }
    return 0;
}

void
http_config_free(struct http_config *cfg)
{
    free(cfg->url);
    free(cfg->method);
    free_list(cfg->headers);
    free(cfg->body);
    free(cfg->ca_file);
    memset(cfg, 0, sizeof(*cfg));
}

int
job_config_http(const char *json, struct http_config *out, struct job_config_error *err)
{
    memset(out, 0, sizeof(*out));
    memset(err, 0, sizeof(*err));
    out->expect_class = 2;
    out->tls_verify = 1;
    out->output_limit = JOB_CONFIG_OUTPUT_DEFAULT;
    if (parse_config(&http_kind, json, out, err) < 0 || ensure_list(&out->headers, err) < 0)
        goto fail;
    if (out->method == NULL && (out->method = copy_text("GET", 3)) == NULL) {
        oom(err);
        goto fail;
    }
    return 0;
fail:
    http_config_free(out);
    return -1;
}

int
http_config_expects(const struct http_config *cfg, long status)
{
    if (cfg->expect_class != 0)
        return status >= 0 && status / 100 == cfg->expect_class;
    for (int i = 0; i < cfg->n_expect; i++) {
        if (cfg->expect_codes[i] == status)
            return 1;
    }
    return 0;
}

void
http_config_describe_expect(const struct http_config *cfg, char *buf, size_t size)
{
    size_t used = 0;

    if (size == 0)
        return;
    buf[0] = '\0';
    if (cfg->expect_class != 0) {
        snprintf(buf, size, "%dxx", cfg->expect_class);
        return;
    }
    for (int i = 0; i < cfg->n_expect && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, "%s%d", i > 0 ? ", " : "",
                                 cfg->expect_codes[i]);
}

void
grpc_config_free(struct grpc_config *cfg)
{
    free(cfg->url);
    free(cfg->method);
    free(cfg->message);
    free_list(cfg->metadata);
    free(cfg->ca_file);
    memset(cfg, 0, sizeof(*cfg));
}

int
job_config_grpc(const char *json, struct grpc_config *out, struct job_config_error *err)
{
    memset(out, 0, sizeof(*out));
    memset(err, 0, sizeof(*err));
    out->tls_verify = 1;
    out->output_limit = JOB_CONFIG_OUTPUT_DEFAULT;
    if (parse_config(&grpc_kind, json, out, err) < 0 || ensure_list(&out->metadata, err) < 0) {
        grpc_config_free(out);
        return -1;
    }
    return 0;
}

int
job_config_noop(const char *json, struct job_config_error *err)
{
    memset(err, 0, sizeof(*err));
    return parse_config(&noop_kind, json, NULL, err);
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
    if (strcmp(kind, "http") == 0) {
        struct http_config cfg;
        if (job_config_http(json, &cfg, err) < 0)
            return -1;
        http_config_free(&cfg);
        return 0;
    }
    if (strcmp(kind, "grpc") == 0) {
        struct grpc_config cfg;
        if (job_config_grpc(json, &cfg, err) < 0)
            return -1;
        grpc_config_free(&cfg);
        return 0;
    }
    if (strcmp(kind, "noop") == 0)
        return job_config_noop(json, err);
    set_error(err, "kind", "unknown kind '%.20s' (known: shell, http, grpc, noop)", kind);
    return -1;
}
