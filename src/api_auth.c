/* api_auth.c - POST /login, POST /logout, GET /me.
 *
 * A login checks the password against its yescrypt hash and opens a
 * session: a random cookie value (stored as its SHA-256 only), HttpOnly and
 * SameSite=Strict, plus a CSRF token the pages send back in X-CSRF-Token on
 * every change.  Failed logins are counted per user in the database: after
 * LOGIN_FREE_FAILURES the login is blocked for a pause that doubles with
 * each further failure (at most LOGIN_MAX_BLOCK_S), whichever instance
 * answers.
 */
#include <autoconfig.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "api_auth.h"
#include "log.h"
#include "password.h"
#include "utf8.h"

#define LOGIN_FREE_FAILURES 5
#define LOGIN_MAX_BLOCK_S 900
#define SESSION_COOKIE "tablecron_session"

static const char SQL_LOGIN_USER[] =
    "SELECT id, login, password_hash, is_admin,"
    " greatest(0, ceil(extract(epoch FROM login_blocked_until - now())))::bigint"
    " FROM users WHERE lower(login) = lower($1) AND NOT disabled";
/* 2^(n-5) s from the 5th failure on, capped. */
static const char SQL_LOGIN_FAILED[] =
    "UPDATE users SET failed_logins = failed_logins + 1,"
    " login_blocked_until = CASE WHEN failed_logins + 1 >= $2"
    "   THEN now() + make_interval(secs => least($3::int, 2 ^ (failed_logins + 1 - $2)))"
    "   ELSE login_blocked_until END"
    " WHERE id = $1";
static const char SQL_LOGIN_OK[] =
    "UPDATE users SET failed_logins = 0, login_blocked_until = NULL WHERE id = $1";
static const char SQL_NEW_SESSION[] =
    "INSERT INTO sessions (user_id, token_hash, csrf_token, expires_at, remote_addr, user_agent)"
    " VALUES ($1, encode(sha256(convert_to($2, 'UTF8')), 'hex'), $3,"
    "         now() + make_interval(secs => $4), $5, left($6, 200))";

/* A real hash to check unknown logins against. */
static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;
static char dummy_hash[128] = "$y$";

static void
make_dummy_hash(void)
{
    char *hash = password_hash("not a password");

    if (hash != NULL)
        snprintf(dummy_hash, sizeof(dummy_hash), "%s", hash);
    free(hash);
}

static const struct api_field login_fields[] = {
    { "login", API_STRING, 1, 0 },
    { "password", API_STRING, 1, 0 },
};

static int
set_session_cookie(struct api_call *call, const char *value, int64_t max_age)
{
    char cookie[256];

    snprintf(cookie, sizeof(cookie), "%s=%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=%lld%s",
             SESSION_COOKIE, value, (long long)max_age,
             call->settings->cookie_secure ? "; Secure" : "");
    return http_add_header(call->resp, "Set-Cookie", cookie);
}

void
api_login(struct api_call *call)
{
    json_t *body = api_read_body(call, login_fields, TC_ARRAY_LEN(login_fields));
    char token[64], csrf[64], id[24], ttl[24], free_failures[8], max_block[8];
    const char *login, *password, *agent;
    PGresult *res = NULL;
    int64_t blocked_s;
    int ok;

    if (body == NULL)
        return;
    login = json_string_value(json_object_get(body, "login"));
    password = json_string_value(json_object_get(body, "password"));
    if ((res = db_query(call->db, SQL_LOGIN_USER, DB_PARAMS(login))) == NULL) {
        api_db_error(call);
        goto out;
    }
    if (PQntuples(res) != 1) {
        /* Same work as for a real user, so timing does not tell logins apart. */
        pthread_once(&dummy_once, make_dummy_hash);
        (void)password_verify(password, dummy_hash);
        api_error(call, 401, "bad_login", NULL, "wrong login or password");
        goto out;
    }
    snprintf(id, sizeof(id), "%s", PQgetvalue(res, 0, 0));
    blocked_s = db_get_int64(res, 0, 4, 0);
    if (blocked_s > 0) {
        char retry[24];
        snprintf(retry, sizeof(retry), "%lld", (long long)blocked_s);
        if (http_add_header(call->resp, "Retry-After", retry) < 0)
            log_warn("could not add Retry-After", NULL);
        api_error(call, 429, "too_many_failures", NULL,
                  "too many failed logins: try again in %lld s", (long long)blocked_s);
        goto out;
    }
    ok = !PQgetisnull(res, 0, 2) && password_verify(password, PQgetvalue(res, 0, 2));
    if (!ok) {
        snprintf(free_failures, sizeof(free_failures), "%d", LOGIN_FREE_FAILURES);
        snprintf(max_block, sizeof(max_block), "%d", LOGIN_MAX_BLOCK_S);
        if (db_exec(call->db, SQL_LOGIN_FAILED, DB_PARAMS(id, free_failures, max_block)) < 0)
            log_warn("could not count a failed login", "user=%s", login);
        log_info("failed login", "user=%s addr=%s", login, call->req->remote_addr);
        api_error(call, 401, "bad_login", NULL, "wrong login or password");
        goto out;
    }
    if (password_random_token("", token, sizeof(token)) < 0 ||
        password_random_token("", csrf, sizeof(csrf)) < 0) {
        api_error(call, 500, "internal", NULL, "no random numbers");
        goto out;
    }
    snprintf(ttl, sizeof(ttl), "%lld", (long long)call->settings->session_ttl_s);
    agent = http_header(call->req, "User-Agent");
    if (agent != NULL && !utf8_valid_str(agent))
        agent = NULL; /* the database takes only UTF-8 text */
    if (db_exec(call->db, SQL_LOGIN_OK, DB_PARAMS(id)) < 0 ||
        db_exec(call->db, SQL_NEW_SESSION,
                DB_PARAMS(id, token, csrf, ttl, call->req->remote_addr,
                          agent != NULL ? agent : "")) < 0) {
        api_db_error(call);
        goto out;
    }
    if (set_session_cookie(call, token, call->settings->session_ttl_s) < 0) {
        api_error(call, 500, "internal", NULL, "out of memory");
        goto out;
    }
    log_info("login", "user=%s addr=%s", PQgetvalue(res, 0, 1), call->req->remote_addr);
    api_reply(call, 200,
              json_pack("{s:{s:I, s:s, s:b}, s:s}", "user", "id", (json_int_t)atoll(id), "login",
                        PQgetvalue(res, 0, 1), "is_admin", db_get_bool(res, 0, 3),
                        "csrf_token", csrf));
out:
    PQclear(res);
    explicit_bzero(token, sizeof(token));
    json_decref(body);
}

void
api_logout(struct api_call *call)
{
    char id[24];

    if (call->user.via == AUTH_SESSION) {
        snprintf(id, sizeof(id), "%lld", (long long)call->user.session_id);
        if (db_exec(call->db, "DELETE FROM sessions WHERE id = $1", DB_PARAMS(id)) < 0) {
            api_db_error(call);
            return;
        }
    }
    if (set_session_cookie(call, "", 0) < 0) {
        api_error(call, 500, "internal", NULL, "out of memory");
        return;
    }
    api_reply(call, 204, NULL);
}

static const char SQL_ME[] =
    "SELECT u.display_name, s.csrf_token,"
    " coalesce((SELECT json_agg(json_build_object('id', d.id, 'name', d.name, 'role',"
    "             CASE WHEN u.is_admin THEN 'manager' ELSE m.role END) ORDER BY d.name)"
    "   FROM departments d LEFT JOIN memberships m ON m.department_id = d.id AND m.user_id = u.id"
    "   WHERE u.is_admin OR m.role IS NOT NULL), '[]')::text"
    " FROM users u LEFT JOIN sessions s ON s.id = $2 AND s.user_id = u.id WHERE u.id = $1";

void
api_me(struct api_call *call)
{
    char id[24], session[24];
    PGresult *res;
    json_t *me, *depts;

    snprintf(id, sizeof(id), "%lld", (long long)call->user.id);
    snprintf(session, sizeof(session), "%lld", (long long)call->user.session_id);
    if ((res = db_query(call->db, SQL_ME, DB_PARAMS(id, session))) == NULL) {
        api_db_error(call);
        return;
    }
    if (PQntuples(res) != 1) {
        PQclear(res);
        api_error(call, 401, "unauthenticated", NULL, "the user is gone");
        return;
    }
    depts = json_loads(PQgetvalue(res, 0, 2), 0, NULL);
    me = json_pack("{s:I, s:s, s:s, s:b, s:s, s:o}", "id", (json_int_t)call->user.id, "login",
                   call->user.login, "display_name", PQgetvalue(res, 0, 0), "is_admin",
                   call->user.is_admin, "auth",
                   call->user.via == AUTH_TOKEN ? "token" : "session", "departments",
                   depts != NULL ? depts : json_array());
    if (me != NULL && call->user.via == AUTH_SESSION && !PQgetisnull(res, 0, 1))
        json_object_set_new(me, "csrf_token", json_string(PQgetvalue(res, 0, 1)));
    PQclear(res);
    api_reply(call, 200, me);
}
