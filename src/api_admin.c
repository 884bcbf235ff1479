/* api_admin.c - departments, users, memberships, API tokens, the audit log.
 *
 * Changes go through account_store.c (the checks and audit rows the
 * command line uses too); this file decides who sees what:
 *
 *   GET /departments   admins: all; others: theirs, with their role; the
 *                      members are listed where the caller is manager
 *   GET /users         admins: every user in full; a manager of any
 *                      department: id, login and display name of every user
 *                      (to add members); anyone else: 403
 *   members            the route checks manager of {id}; a manager may
 *                      grant any role in that department
 *   tokens             the caller's own (a token has exactly its user's
 *                      rights); admins may list and revoke anyone's; someone
 *                      else's token answers 404, as a missing one
 *   GET /audit         admins: all rows; others: the rows of their
 *                      departments, newest first, in keyset pages
 *
 * Lists answer {"items": [...]}; times are ISO 8601 UTC with a Z.
 */
#include <autoconfig.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "account_store.h"
#include "api_admin.h"
#include "pgjson.h"
#include "utf8.h"

#define AUDIT_PAGE_DEFAULT 100
#define AUDIT_PAGE_MAX 1000
#define ID_MAX 999999999999999999LL

/* --- listings --- */

/* $1 the caller, $2 is the caller an admin.  Admins are managers
 * everywhere (as in GET /me); members are shown to managers only. */
static const char SQL_DEPARTMENTS[] =
    "SELECT d.id, d.name, d.description, " DB_SQL_UTC("d.created_at") " AS created_at,"
    " CASE WHEN $2::boolean THEN 'manager' ELSE m.role END AS role,"
    " CASE WHEN $2::boolean OR m.role = 'manager' THEN"
    "   coalesce((SELECT json_agg(json_build_object('user_id', u.id, 'login', u.login,"
    "                   'display_name', u.display_name, 'role', mm.role, 'created_at',"
    "                   " DB_SQL_UTC("mm.created_at") ") ORDER BY lower(u.login))"
    "             FROM memberships mm JOIN users u ON u.id = mm.user_id"
    "             WHERE mm.department_id = d.id), '[]') END AS members"
    " FROM departments d LEFT JOIN memberships m ON m.department_id = d.id AND m.user_id = $1"
    " WHERE $2::boolean OR m.role IS NOT NULL ORDER BY d.name";

static const char SQL_USERS_NAMES[] =
    "SELECT u.id, u.login, u.display_name FROM users u ORDER BY lower(u.login)";
static const char SQL_IS_MANAGER[] =
    "SELECT 1 FROM memberships WHERE user_id = $1 AND role = 'manager' LIMIT 1";

static const char SQL_USER_ID[] = "SELECT id FROM users WHERE lower(login) = lower($1)";
/* $1 admin, $2 the caller, $3 department, $4 action, $5 before, $6 rows.
 * One row more than the page tells whether there is a next one. */
static const char SQL_AUDIT[] =
    "SELECT a.id, " DB_SQL_UTC("a.at") " AS at, a.actor, a.actor_user_id, a.action,"
    " a.object_type, a.object_id, a.department_id, a.before, a.after, a.remote_addr"
    " FROM audit_log a"
    " WHERE ($1::boolean OR a.department_id IN"
    "        (SELECT department_id FROM memberships WHERE user_id = $2::bigint))"
    "   AND ($3::bigint IS NULL OR a.department_id = $3::bigint)"
    "   AND ($4::text IS NULL OR a.action = $4)"
    "   AND ($5::bigint IS NULL OR a.id < $5::bigint)"
    " ORDER BY a.id DESC LIMIT $6::int";

/* --- shared steps --- */

/* One change made through account_store for the caller. */
struct change {
    struct audit_actor actor;
    char who[128]; /* actor.name: "user:alice" or "token:alice" */
    struct account_result res;
    struct account_error err;
};

/* The caller as the change's actor (for audit_log). */
static const struct audit_actor *
change_actor(const struct api_call *call, struct change *c)
{
    api_actor(call, &c->actor, c->who, sizeof(c->who));
    return &c->actor;
}

static void
fmt_id(char *buf, size_t size, int64_t id)
{
    snprintf(buf, size, "%lld", (long long)id);
}

/* An account_store error as an answer. */
static void
store_error(struct api_call *call, const struct account_error *err)
{
    switch (err->code) {
    case ACCOUNT_INVALID:
        api_error(call, 400, "invalid", err->field, "%s", err->msg);
        break;
    case ACCOUNT_NOT_FOUND:
        api_error(call, 404, "not_found", err->field, "%s", err->msg);
        break;
    case ACCOUNT_CONFLICT:
        api_error(call, 409, "conflict", err->field, "%s", err->msg);
        break;
    default:
        api_db_error(call);
        break;
    }
}

/*
 * The answer to a change: the error when rc < 0, else the image of the
 * change with status (200 becomes 201 for something new), or no body with
 * 204.  The result is freed.
 */
static void
answer_change(struct api_call *call, int rc, struct change *c, int status)
{
    json_t *doc = NULL;

    if (rc < 0) {
        store_error(call, &c->err);
    } else if (status != 204 && (doc = json_loads(c->res.image, 0, NULL)) == NULL) {
        api_error(call, 500, "internal", NULL, "out of memory");
    } else {
        if (status == 200 && c->res.change == ACCOUNT_CREATED)
            status = 201;
        api_reply(call, status, doc);
    }
    account_result_free(&c->res);
}

static PGresult *
run_query(struct api_call *call, const char *sql, int nparams, const char *const *params)
{
    PGresult *res = db_query(call->db, sql, nparams, params);

    if (res == NULL)
        api_db_error(call);
    return res;
}

/* The rows of res as a JSON array (res is cleared); NULL after answering. */
static json_t *
items_of(struct api_call *call, PGresult *res)
{
    json_t *items = pgjson_rows(res);

    PQclear(res);
    if (items == NULL) {
        api_error(call, 500, "internal", NULL, "out of memory");
        return NULL;
    }
    return items;
}

/* {"items": the rows of res} (res is cleared). */
static void
reply_items(struct api_call *call, PGresult *res)
{
    json_t *items = items_of(call, res);

    if (items != NULL)
        api_reply(call, 200, json_pack("{s:o}", "items", items));
}

/* The string member name of body (borrowed), NULL when absent.  The
 * parser refuses NUL inside strings (no JSON_ALLOW_NUL), so C sees all of
 * it. */
static const char *
body_string(const json_t *body, const char *name)
{
    return json_string_value(json_object_get(body, name));
}

/* --- departments --- */

void
api_departments_list(struct api_call *call)
{
    char user[24];
    PGresult *res;
    json_t *items, *item;
    size_t i;

    fmt_id(user, sizeof(user), call->user.id);
    res = run_query(call, SQL_DEPARTMENTS, DB_PARAMS(user, call->user.is_admin ? "t" : "f"));
    if (res == NULL || (items = items_of(call, res)) == NULL)
        return;
    /* Members are for managers: others get no key rather than a null. */
    json_array_foreach(items, i, item) {
        if (json_is_null(json_object_get(item, "members")))
            json_object_del(item, "members");
    }
    api_reply(call, 200, json_pack("{s:o}", "items", items));
}

static const struct api_field department_fields[] = {
    { "name", API_STRING, 1, 0 },
    { "description", API_STRING, 0, 0 },
};

void
api_department_create(struct api_call *call)
{
    json_t *body = api_read_body(call, department_fields, TC_ARRAY_LEN(department_fields));
    struct change c;

    if (body == NULL)
        return;
    answer_change(call,
                  account_department_create(call->db, change_actor(call, &c),
                                            body_string(body, "name"),
                                            body_string(body, "description"), &c.res, &c.err),
                  &c, 201);
    json_decref(body);
}

/* --- users --- */

void
api_users_list(struct api_call *call)
{
    char user[24];
    PGresult *res;
    int manager;

    if (call->user.is_admin) {
        if ((res = run_query(call, account_sql_users, DB_NO_PARAMS)) != NULL)
            reply_items(call, res);
        return;
    }
    fmt_id(user, sizeof(user), call->user.id);
    if ((res = run_query(call, SQL_IS_MANAGER, DB_PARAMS(user))) == NULL)
        return;
    manager = PQntuples(res) > 0;
    PQclear(res);
    if (!manager) {
        api_error(call, 403, "forbidden",
                  NULL, "only administrators and department managers may list users");
        return;
    }
    if ((res = run_query(call, SQL_USERS_NAMES, DB_NO_PARAMS)) != NULL)
        reply_items(call, res);
}

static const struct api_field user_fields[] = {
    { "login", API_STRING, 1, 0 },
    { "password", API_STRING, 0, 0 },
    { "display_name", API_STRING, 0, 0 },
    { "is_admin", API_BOOLEAN, 0, 0 },
};

void
api_user_create(struct api_call *call)
{
    json_t *body = api_read_body(call, user_fields, TC_ARRAY_LEN(user_fields));
    struct change c;

    if (body == NULL)
        return;
    answer_change(call,
                  account_user_create(call->db, change_actor(call, &c), body_string(body, "login"),
                                      body_string(body, "display_name"),
                                      body_string(body, "password"),
                                      json_is_true(json_object_get(body, "is_admin")), &c.res,
                                      &c.err),
                  &c, 201);
    json_decref(body);
}

/* --- members --- */

static const struct api_field member_fields[] = {
    { "role", API_STRING, 1, 0 },
};

/* The members routes: the department by the path's {id}, the member by
 * its {login}. */
#define PATH_DEPARTMENT(call) ((struct account_ref){ (call)->id, NULL })
#define PATH_MEMBER(call) ((struct account_ref){ 0, (call)->arg })

void
api_member_put(struct api_call *call)
{
    json_t *body = api_read_body(call, member_fields, TC_ARRAY_LEN(member_fields));
    struct change c;

    if (body == NULL)
        return;
    answer_change(call,
                  account_member_set(call->db, change_actor(call, &c), PATH_DEPARTMENT(call),
                                     PATH_MEMBER(call), body_string(body, "role"), &c.res,
                                     &c.err),
                  &c, 200);
    json_decref(body);
}

void
api_member_delete(struct api_call *call)
{
    struct change c;

    answer_change(call,
                  account_member_remove(call->db, change_actor(call, &c), PATH_DEPARTMENT(call),
                                        PATH_MEMBER(call), &c.res, &c.err),
                  &c, 204);
}

/* --- tokens --- */

void
api_tokens_list(struct api_call *call)
{
    const char *login = http_query(call->req, "user");
    char user[24];
    PGresult *res;

    fmt_id(user, sizeof(user), call->user.id);
    if (login != NULL && !utf8_valid_str(login)) {
        api_error(call, 400, "bad_parameter", "user", "user must be a login (UTF-8)");
        return;
    }
    if (login != NULL && strcasecmp(login, call->user.login) != 0) {
        if (!call->user.is_admin) {
            api_error(call, 403, "forbidden", "user",
                      "only administrators may list other users' tokens");
            return;
        }
        if ((res = run_query(call, SQL_USER_ID, DB_PARAMS(login))) == NULL)
            return;
        if (PQntuples(res) == 0) {
            PQclear(res);
            api_error(call, 404, "not_found", "user", "no user named '%.80s'", login);
            return;
        }
        snprintf(user, sizeof(user), "%s", PQgetvalue(res, 0, 0));
        PQclear(res);
    }
    if ((res = run_query(call, account_sql_tokens, DB_PARAMS(user))) != NULL)
        reply_items(call, res);
}

static const struct api_field token_fields[] = {
    { "name", API_STRING, 0, 0 },
    { "expires_in_s", API_INTEGER, 0, 1 },
};

void
api_token_create(struct api_call *call)
{
    json_t *body = api_read_body(call, token_fields, TC_ARRAY_LEN(token_fields)), *doc = NULL;
    const json_t *expires;
    struct account_ref self = { 0, NULL };
    struct change c;
    char token[ACCOUNT_TOKEN_SIZE];
    json_int_t ttl = 0;

    if (body == NULL)
        return;
    expires = json_object_get(body, "expires_in_s");
    if (json_is_integer(expires)) {
        ttl = json_integer_value(expires);
        if (ttl < 1 || ttl > ACCOUNT_TOKEN_TTL_MAX_S) {
            api_error(call, 400, "invalid", "expires_in_s",
                      "expires_in_s must be from 1 to %lld (ten years), or null for no expiry",
                      ACCOUNT_TOKEN_TTL_MAX_S);
            goto out;
        }
    }
    /* The caller's own account: a token never has more rights than this. */
    self.id = call->user.id;
    if (account_token_create(call->db, change_actor(call, &c), self, body_string(body, "name"),
                             ttl, token, sizeof(token), &c.res, &c.err) < 0) {
        store_error(call, &c.err);
        goto out;
    }
    doc = json_loads(c.res.image, 0, NULL);
    account_result_free(&c.res);
    if (doc == NULL || json_object_set_new(doc, "token", json_string(token)) < 0) {
        api_error(call, 500, "internal", NULL, "out of memory");
        goto out;
    }
    api_reply(call, 201, doc);
    doc = NULL;
out:
    explicit_bzero(token, sizeof(token));
    json_decref(doc);
    json_decref(body);
}

void
api_token_delete(struct api_call *call)
{
    struct change c;

    /* Admins may revoke any token; others only theirs (another's is 404). */
    answer_change(call,
                  account_token_revoke(call->db, change_actor(call, &c), call->id,
                                       call->user.is_admin ? 0 : call->user.id, &c.res, &c.err),
                  &c, 204);
}

/* --- the audit log --- */

void
api_audit_list(struct api_call *call)
{
    const char *action = http_query(call->req, "action");
    char user[24], dept[24], before[24], rows[24];
    int64_t dept_id, before_id, limit;
    PGresult *res;
    json_t *items, *last;
    size_t n;

    if (api_query_int(call, "department", 0, 1, ID_MAX, &dept_id) < 0 ||
        api_query_int(call, "before", 0, 1, ID_MAX, &before_id) < 0 ||
        api_query_int(call, "limit", AUDIT_PAGE_DEFAULT, 1, AUDIT_PAGE_MAX, &limit) < 0)
        return;
    if (action != NULL && action[0] == '\0')
        action = NULL;
    if (action != NULL && !utf8_valid_str(action)) {
        api_error(call, 400, "bad_parameter", "action", "action must be UTF-8 text");
        return;
    }
    fmt_id(user, sizeof(user), call->user.id);
    fmt_id(dept, sizeof(dept), dept_id);
    fmt_id(before, sizeof(before), before_id);
    fmt_id(rows, sizeof(rows), limit + 1);
    res = run_query(call, SQL_AUDIT,
                    DB_PARAMS(call->user.is_admin ? "t" : "f", user, dept_id > 0 ? dept : NULL,
                              action, before_id > 0 ? before : NULL, rows));
    if (res == NULL || (items = items_of(call, res)) == NULL)
        return;
    /* The extra row only says there is more: the page ends before it, and
     * the next page starts below the page's last id. */
    n = json_array_size(items);
    if (n > (size_t)limit) {
        json_array_remove(items, n - 1);
        last = json_array_get(items, n - 2);
        fmt_id(before, sizeof(before), json_integer_value(json_object_get(last, "id")));
        api_reply(call, 200, json_pack("{s:o, s:s}", "items", items, "next", before));
    } else {
        api_reply(call, 200, json_pack("{s:o, s:n}", "items", items, "next"));
    }
}
