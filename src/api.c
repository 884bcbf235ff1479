/* api.c - dispatch: route, caller, permission, then the handler.
 *
 * Runs on the HTTP server's worker threads.  Each thread has its own
 * database connection (thread-local, made on first use, closed when the
 * thread ends), so handlers never share a libpq connection.
 */
#include <autoconfig.h>

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api.h"
#include "clock.h"
#include "log.h"
#include "metrics.h"
#include "utf8.h"
#include "www.h"

#define SESSION_COOKIE "tablecron_session"
#define DB_CONNECT_TRIES_MS 2000

struct api {
    struct http_server *http; /* owned */
    char *db;                 /* owned: conninfo */
    struct api_settings settings;
    pthread_key_t db_key;     /* this thread's struct db, freed at thread exit */
    struct www *www;          /* owned: the pages; NULL when not served */
};

/* --- answers --- */

static void
reply_text(struct api_call *call, int status, char *text)
{
    struct http_response *resp = call->resp;

    free(resp->body);
    resp->body = text;
    resp->body_len = text != NULL ? strlen(text) : 0;
    resp->status = status;
    resp->content_type = "application/json";
    call->answered = 1;
}

void
api_reply(struct api_call *call, int status, json_t *body)
{
    char *text = NULL;

    if (body != NULL) {
        text = json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY);
        json_decref(body);
        if (text == NULL) {
            api_error(call, 500, "internal", NULL, "out of memory");
            return;
        }
    }
    reply_text(call, status, text);
}

void
api_error(struct api_call *call, int status, const char *code, const char *field,
          const char *fmt, ...)
{
    char message[512];
    json_t *error;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(message, sizeof(message), fmt, ap);
    va_end(ap);
    /* "%.60s" of a name, or the end of the buffer, may cut a character. */
    utf8_sanitize(message);
    error = json_pack("{s:s, s:s}", "code", code, "message", message);
    if (error != NULL && field != NULL)
        json_object_set_new(error, "field", json_string(field));
    if (error == NULL) {
        reply_text(call, 500, NULL);
        return;
    }
    api_reply(call, status, json_pack("{s:o}", "error", error));
}

void
api_error_at(struct api_call *call, int status, const char *code, const char *field, int pos,
             const char *message)
{
    json_t *error = json_pack("{s:s, s:s, s:s, s:i}", "code", code, "message", message, "field",
                              field, "position", pos);

    if (error == NULL) {
        api_error(call, 500, "internal", NULL, "out of memory");
        return;
    }
    api_reply(call, status, json_pack("{s:o}", "error", error));
}

void
api_db_error(struct api_call *call)
{
    switch (db_last_error(call->db)) {
    case DB_ERR_CONNECTION:
        api_error(call, 503, "database_unavailable", NULL, "the database is not reachable");
        break;
    case DB_ERR_UNIQUE:
        api_error(call, 409, "conflict", NULL, "that name is taken");
        break;
    default:
        api_error(call, 500, "internal", NULL, "database error (see the server log)");
        break;
    }
}

/* --- reading requests --- */

static const char *
type_name(enum api_type type)
{
    switch (type) {
    case API_STRING: return "a string";
    case API_INTEGER: return "an integer";
    case API_BOOLEAN: return "true or false";
    case API_OBJECT: return "an object";
    case API_ARRAY: return "an array";
    case API_ANY: return "a JSON value";
    }
    return "?";
}

static int
type_ok(enum api_type type, const json_t *value)
{
    switch (type) {
    case API_STRING: return json_is_string(value);
    case API_INTEGER: return json_is_integer(value);
    case API_BOOLEAN: return json_is_boolean(value);
    case API_OBJECT: return json_is_object(value);
    case API_ARRAY: return json_is_array(value);
    case API_ANY: return 1;
    }
    return 0;
}

json_t *
api_read_body(struct api_call *call, const struct api_field *fields, size_t nfields)
{
    json_error_t jerr;
    json_t *root, *value;
    const char *key;

    root = json_loadb(call->req->body, call->req->body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        api_error(call, 400, "bad_json", NULL, "the body is not valid JSON: %s (line %d, column %d)",
                  jerr.text, jerr.line, jerr.column);
        return NULL;
    }
    if (!json_is_object(root)) {
        api_error(call, 400, "bad_json", NULL, "the body must be a JSON object");
        goto fail;
    }
    json_object_foreach(root, key, value) {
        size_t i;

        for (i = 0; i < nfields && strcmp(fields[i].name, key) != 0; i++)
            ;
        if (i == nfields) {
            api_error(call, 400, "unknown_field", key, "unknown field '%.60s'", key);
            goto fail;
        }
        if (json_is_null(value) ? !fields[i].nullable : !type_ok(fields[i].type, value)) {
            api_error(call, 400, "wrong_type", key, "%s must be %s", key,
                      type_name(fields[i].type));
            goto fail;
        }
    }
    for (size_t i = 0; i < nfields; i++) {
        if (fields[i].required && json_object_get(root, fields[i].name) == NULL) {
            api_error(call, 400, "missing_field", fields[i].name, "%s is required",
                      fields[i].name);
            goto fail;
        }
    }
    return root;
fail:
    json_decref(root);
    return NULL;
}

int
api_query_int(struct api_call *call, const char *name, int64_t dflt, int64_t min, int64_t max,
              int64_t *out)
{
    const char *text = http_query(call->req, name);
    char *end;
    long long v;

    if (text == NULL || text[0] == '\0') {
        *out = dflt;
        return 0;
    }
    errno = 0;
    v = strtoll(text, &end, 10);
    if (*end != '\0' || errno == ERANGE || v < min || v > max) {
        api_error(call, 400, "bad_parameter", name, "%s must be an integer from %lld to %lld",
                  name, (long long)min, (long long)max);
        return -1;
    }
    *out = v;
    return 0;
}

/* --- permissions --- */

static enum api_role
role_from_text(const char *text)
{
    if (text == NULL)
        return ROLE_NONE;
    if (strcmp(text, "manager") == 0)
        return ROLE_MANAGER;
    if (strcmp(text, "operator") == 0)
        return ROLE_OPERATOR;
    if (strcmp(text, "viewer") == 0)
        return ROLE_VIEWER;
    return ROLE_NONE;
}

int
api_role_in(struct api_call *call, int64_t department_id)
{
    char user[24], dept[24];
    PGresult *res;
    int role;

    if (call->user.is_admin)
        return ROLE_MANAGER;
    snprintf(user, sizeof(user), "%lld", (long long)call->user.id);
    snprintf(dept, sizeof(dept), "%lld", (long long)department_id);
    res = db_query(call->db, "SELECT role FROM memberships WHERE user_id = $1 AND department_id = $2",
                   DB_PARAMS(user, dept));
    if (res == NULL) {
        api_db_error(call);
        return -1;
    }
    role = PQntuples(res) == 1 ? (int)role_from_text(PQgetvalue(res, 0, 0)) : ROLE_NONE;
    PQclear(res);
    return role;
}

int64_t
api_department_of(struct api_call *call, const json_t *value, enum api_role need,
                  const char *forbidden)
{
    char text[24];
    PGresult *res;
    int64_t id = 0;
    int role = ROLE_NONE;

    if (json_is_integer(value)) {
        snprintf(text, sizeof(text), "%lld", (long long)json_integer_value(value));
        res = db_query(call->db, "SELECT id FROM departments WHERE id = $1::bigint",
                       DB_PARAMS(text));
    } else if (json_is_string(value)) {
        res = db_query(call->db, "SELECT id FROM departments WHERE name = $1",
                       DB_PARAMS(json_string_value(value)));
    } else {
        api_error(call, 400, "wrong_type", "department",
                  "department must be a department's id or name");
        return 0;
    }
    if (res == NULL) {
        api_db_error(call);
        return 0;
    }
    if (PQntuples(res) == 1)
        id = db_get_int64(res, 0, 0, 0);
    PQclear(res);
    if (id > 0 && (role = api_role_in(call, id)) < 0)
        return 0;
    /* Another department the caller has no part in looks like none at all. */
    if (id == 0 || role == ROLE_NONE) {
        api_error(call, 404, "not_found", "department", "no such department");
        return 0;
    }
    if (role < (int)need) {
        api_error(call, 403, "forbidden", "department", "%s", forbidden);
        return 0;
    }
    return id;
}

void
api_actor(const struct api_call *call, struct audit_actor *actor, char *buf, size_t size)
{
    snprintf(buf, size, "%s:%s", call->user.via == AUTH_TOKEN ? "token" : "user",
             call->user.login);
    actor->name = buf;
    actor->user_id = call->user.id;
    actor->remote_addr = call->req->remote_addr;
}

/* The department of the resource named by {id} and the caller's role
 * there: one statement per kind of resource. */
static const char SQL_JOB_SCOPE[] =
    "SELECT j.department_id, m.role FROM jobs j"
    " LEFT JOIN memberships m ON m.department_id = j.department_id AND m.user_id = $2"
    " WHERE j.id = $1";
static const char SQL_EXEC_SCOPE[] =
    "SELECT j.department_id, m.role FROM executions e JOIN jobs j ON j.id = e.job_id"
    " LEFT JOIN memberships m ON m.department_id = j.department_id AND m.user_id = $2"
    " WHERE e.id = $1";
static const char SQL_DEPT_SCOPE[] =
    "SELECT d.id, m.role FROM departments d"
    " LEFT JOIN memberships m ON m.department_id = d.id AND m.user_id = $2"
    " WHERE d.id = $1";

/* 0 when the caller may go on; -1 after answering. */
static int
authorize(struct api_call *call, enum api_perm perm)
{
    const char *sql = NULL, *what = NULL;
    enum api_role need = ROLE_VIEWER;
    char id[24], user[24];
    PGresult *res;
    int found;

    if (perm == PERM_PUBLIC || perm == PERM_OPEN)
        return 0;
    if (perm == PERM_EXEC_REPORT) {
        /* The handler checks the secret against the execution. */
        if (http_header(call->req, "X-Tablecron-Token") != NULL)
            return 0;
        api_error(call, 401, "unauthenticated", NULL, "the X-Tablecron-Token header is missing");
        return -1;
    }
    if (call->user.id == 0) {
        api_error(call, 401, "unauthenticated", NULL, "sign in or send a bearer token");
        return -1;
    }
    switch (perm) {
    case PERM_USER:
        return 0;
    case PERM_ADMIN:
        if (call->user.is_admin)
            return 0;
        api_error(call, 403, "forbidden", NULL, "only administrators may do this");
        return -1;
    case PERM_JOB_VIEW: sql = SQL_JOB_SCOPE; what = "job"; break;
    case PERM_JOB_OPERATE: sql = SQL_JOB_SCOPE; what = "job"; need = ROLE_OPERATOR; break;
    case PERM_JOB_MANAGE: sql = SQL_JOB_SCOPE; what = "job"; need = ROLE_MANAGER; break;
    case PERM_EXEC_VIEW: sql = SQL_EXEC_SCOPE; what = "execution"; break;
    case PERM_DEPT_VIEW: sql = SQL_DEPT_SCOPE; what = "department"; break;
    case PERM_DEPT_MANAGE: sql = SQL_DEPT_SCOPE; what = "department"; need = ROLE_MANAGER; break;
    default:
        api_error(call, 500, "internal", NULL, "route without a known permission");
        return -1;
    }
    snprintf(id, sizeof(id), "%lld", (long long)call->id);
    snprintf(user, sizeof(user), "%lld", (long long)call->user.id);
    if ((res = db_query(call->db, sql, DB_PARAMS(id, user))) == NULL) {
        api_db_error(call);
        return -1;
    }
    found = PQntuples(res) == 1;
    if (found) {
        call->department_id = db_get_int64(res, 0, 0, 0);
        call->role = call->user.is_admin
                         ? ROLE_MANAGER
                         : role_from_text(PQgetisnull(res, 0, 1) ? NULL : PQgetvalue(res, 0, 1));
    }
    PQclear(res);
    /* Not there and not visible look the same: ids cannot be probed. */
    if (!found || call->role == ROLE_NONE) {
        api_error(call, 404, "not_found", NULL, "no %s %lld", what, (long long)call->id);
        return -1;
    }
    if (call->role < need) {
        api_error(call, 403, "forbidden", NULL, "your role in this department does not allow this");
        return -1;
    }
    return 0;
}

/* --- the caller --- */

static const char SQL_TOKEN_USER[] =
    "SELECT t.id, u.id, u.login, u.is_admin FROM api_tokens t JOIN users u ON u.id = t.user_id"
    " WHERE t.token_hash = encode(sha256(convert_to($1, 'UTF8')), 'hex')"
    "   AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > now())"
    "   AND NOT u.disabled";
/* Written at most once a minute per token or session: reads stay reads. */
static const char SQL_TOKEN_USED[] =
    "UPDATE api_tokens SET last_used_at = now() WHERE id = $1"
    " AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')";
static const char SQL_SESSION_USER[] =
    "SELECT s.id, u.id, u.login, u.is_admin, s.csrf_token FROM sessions s"
    " JOIN users u ON u.id = s.user_id"
    " WHERE s.token_hash = encode(sha256(convert_to($1, 'UTF8')), 'hex')"
    "   AND s.expires_at > now() AND NOT u.disabled";
static const char SQL_SESSION_USED[] =
    "UPDATE sessions SET last_seen_at = now(), expires_at = now() + make_interval(secs => $2)"
    " WHERE id = $1 AND last_seen_at < now() - interval '1 minute'";

/* Same length and bytes, in time that does not depend on where they differ. */
static int
secrets_equal(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    unsigned char diff = la != lb;

    for (size_t i = 0; i < la && i < lb; i++)
        diff |= (unsigned char)(a[i] ^ b[i]);
    return diff == 0;
}

static int
is_safe_method(const char *method)
{
    return strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
}

/*
 * Fill call->user from a bearer token or the session cookie.  Bad or
 * expired credentials leave the caller anonymous (so logging in again
 * works); a state-changing request with a session but without its CSRF
 * token is refused here.  0 to go on, -1 after answering.
 */
static int
identify(struct api_call *call)
{
    const char *auth = http_header(call->req, "Authorization");
    const char *cookie = http_cookie(call->req, SESSION_COOKIE);
    char id[24], ttl[24];
    PGresult *res;

    /* The database refuses text that is not UTF-8: such a token or cookie
     * cannot be one of ours. */
    if (auth != NULL && strncasecmp(auth, "Bearer ", 7) == 0) {
        if (!utf8_valid_str(auth + 7)) {
            api_error(call, 401, "unauthenticated", NULL, "the bearer token is not valid");
            return -1;
        }
        if ((res = db_query(call->db, SQL_TOKEN_USER, DB_PARAMS(auth + 7))) == NULL) {
            api_db_error(call);
            return -1;
        }
        if (PQntuples(res) == 1) {
            call->user.via = AUTH_TOKEN;
            call->user.token_id = db_get_int64(res, 0, 0, 0);
            call->user.id = db_get_int64(res, 0, 1, 0);
            snprintf(call->user.login, sizeof(call->user.login), "%s", PQgetvalue(res, 0, 2));
            call->user.is_admin = db_get_bool(res, 0, 3);
            snprintf(id, sizeof(id), "%lld", (long long)call->user.token_id);
            if (db_exec(call->db, SQL_TOKEN_USED, DB_PARAMS(id)) < 0)
                log_warn("could not note a token's use", NULL);
        }
        PQclear(res);
        if (call->user.id == 0) {
            api_error(call, 401, "unauthenticated", NULL, "the bearer token is not valid");
            return -1;
        }
        return 0;
    }
    if (cookie == NULL || !utf8_valid_str(cookie))
        return 0;
    if ((res = db_query(call->db, SQL_SESSION_USER, DB_PARAMS(cookie))) == NULL) {
        api_db_error(call);
        return -1;
    }
    if (PQntuples(res) == 1) {
        const char *csrf = http_header(call->req, "X-CSRF-Token");

        if (!is_safe_method(call->req->method) &&
            (csrf == NULL || !secrets_equal(csrf, PQgetvalue(res, 0, 4)))) {
            PQclear(res);
            api_error(call, 403, "csrf", NULL,
                      "a change made with a session needs its X-CSRF-Token header");
            return -1;
        }
        call->user.via = AUTH_SESSION;
        call->user.session_id = db_get_int64(res, 0, 0, 0);
        call->user.id = db_get_int64(res, 0, 1, 0);
        snprintf(call->user.login, sizeof(call->user.login), "%s", PQgetvalue(res, 0, 2));
        call->user.is_admin = db_get_bool(res, 0, 3);
        snprintf(id, sizeof(id), "%lld", (long long)call->user.session_id);
        snprintf(ttl, sizeof(ttl), "%lld", (long long)call->settings->session_ttl_s);
        if (db_exec(call->db, SQL_SESSION_USED, DB_PARAMS(id, ttl)) < 0)
            log_warn("could not extend a session", NULL);
    }
    PQclear(res);
    return 0;
}

/* --- routing --- */

enum match { MATCH_NONE, MATCH_PATH, MATCH_FULL };

/* Does path fit pattern?  Fills {id} and {login}. */
static int
match_path(const char *pattern, const char *path, int64_t *id, const char **arg, char *argbuf,
           size_t argsize)
{
    const char *p = pattern, *s = path;

    *id = 0;
    *arg = NULL;
    while (*p != '\0') {
        if (strncmp(p, "{id}", 4) == 0) {
            int64_t v = 0;
            int digits = 0;

            while (*s >= '0' && *s <= '9' && digits < 18) {
                v = v * 10 + (*s++ - '0');
                digits++;
            }
            if (digits == 0 || v == 0 || (*s != '/' && *s != '\0'))
                return 0;
            *id = v;
            p += 4;
        } else if (strncmp(p, "{login}", 7) == 0) {
            size_t n = strcspn(s, "/");

            if (n == 0 || n >= argsize)
                return 0;
            memcpy(argbuf, s, n);
            argbuf[n] = '\0';
            *arg = argbuf;
            s += n;
            p += 7;
        } else if (*p++ != *s++) {
            return 0;
        }
    }
    return *s == '\0';
}

static void
dispatch(void *ctx, const struct http_request *req, struct http_response *resp)
{
    struct api *api = ctx;
    struct api_call call;
    const struct api_route *route = NULL;
    int path_matched = 0;
    char argbuf[128];
    const char *bad;
    int64_t started = monotonic_ms();

    memset(&call, 0, sizeof(call));
    call.req = req;
    call.resp = resp;
    call.settings = &api->settings;
    for (size_t i = 0; i < api_route_count; i++) {
        int64_t id;
        const char *arg;

        if (!match_path(api_routes[i].pattern, req->path, &id, &arg, argbuf, sizeof(argbuf)))
            continue;
        path_matched = 1;
        if (strcmp(api_routes[i].method, req->method) == 0 ||
            (strcmp(req->method, "HEAD") == 0 && strcmp(api_routes[i].method, "GET") == 0)) {
            route = &api_routes[i];
            call.id = id;
            call.arg = arg;
            break;
        }
    }
    if (route == NULL && !path_matched && api->www != NULL &&
        (strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0) &&
        strncmp(req->path, API_PREFIX "/", strlen(API_PREFIX "/")) != 0) {
        www_serve(api->www, req, resp);
        goto out;
    }
    if (route == NULL) {
        if (path_matched)
            api_error(&call, 405, "method_not_allowed", NULL, "%s is not allowed here",
                      req->method);
        else
            api_error(&call, 404, "not_found", NULL, "no such resource");
        goto out;
    }
    /* Checked once for every route: the database refuses text that is not
     * UTF-8, and a NUL would silently cut a value short. */
    if ((bad = http_bad_query(req)) != NULL) {
        api_error(&call, 400, "bad_parameter", bad[0] != '\0' ? bad : NULL,
                  "query parameter %s holds a NUL byte or text that is not UTF-8",
                  bad[0] != '\0' ? bad : "(a name that is not UTF-8)");
        goto out;
    }
    if (route->perm == PERM_OPEN) {
        route->handler(&call);
        goto out;
    }
    if ((call.db = pthread_getspecific(api->db_key)) == NULL) {
        if ((call.db = db_new(api->db)) == NULL) {
            api_error(&call, 500, "internal", NULL, "out of memory");
            goto out;
        }
        (void)pthread_setspecific(api->db_key, call.db);
    }
    if (!db_is_connected(call.db) && db_connect(call.db, DB_CONNECT_TRIES_MS) < 0) {
        api_error(&call, 503, "database_unavailable", NULL, "the database is not reachable");
        goto out;
    }
    if (identify(&call) < 0 || authorize(&call, route->perm) < 0)
        goto out;
    route->handler(&call);
    if (!call.answered)
        api_error(&call, 500, "internal", NULL, "the handler gave no answer");
out:
    metrics_http_request(route != NULL ? route->pattern : NULL, resp->status);
    if (resp->status >= 500)
        log_warn("request failed", "method=%s path=%s status=%d ms=%lld", req->method, req->path,
                 resp->status, (long long)(monotonic_ms() - started));
    else
        log_debug("request", "method=%s path=%s status=%d user=%s ms=%lld", req->method,
                  req->path, resp->status, call.user.login,
                  (long long)(monotonic_ms() - started));
}

static void
free_thread_db(void *db)
{
    db_free(db);
}

struct api *
api_start(const struct api_opts *opts, char *err, size_t errsize)
{
    struct api *api = calloc(1, sizeof(*api));
    struct http_opts hopts;

    if (api == NULL || (api->db = strdup(opts->db)) == NULL ||
        pthread_key_create(&api->db_key, free_thread_db) != 0) {
        snprintf(err, errsize, "out of memory");
        if (api != NULL)
            free(api->db);
        free(api);
        return NULL;
    }
    api->settings = opts->settings;
    if (opts->www_dir != NULL && opts->www_dir[0] != '\0' &&
        (api->www = www_open(opts->www_dir, err, errsize)) == NULL)
        log_warn("the pages are not served", "error=%s", err);
    hopts.listen = opts->listen;
    hopts.threads = opts->threads;
    hopts.max_body = opts->max_body;
    if ((api->http = http_server_start(&hopts, dispatch, api, err, errsize)) == NULL) {
        www_close(api->www);
        pthread_key_delete(api->db_key);
        free(api->db);
        free(api);
        return NULL;
    }
    return api;
}

void
api_stop(struct api *api)
{
    if (api == NULL)
        return;
    http_server_stop(api->http); /* joins the workers: their connections close */
    www_close(api->www);
    pthread_key_delete(api->db_key);
    free(api->db);
    free(api);
}

int
api_port(const struct api *api)
{
    return http_server_port(api->http);
}
