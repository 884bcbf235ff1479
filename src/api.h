/* api.h - the JSON API: who is calling, what they may do, errors and bodies.
 *
 * Every request goes through api.c: it finds the route in the one table
 * (api_routes.c: method, path pattern, handler, permission), works out the
 * caller (session cookie + CSRF header, or bearer token), and checks the
 * route's permission before the handler runs.  A resource of a department
 * the caller does not belong to answers 404, never 403, so that ids cannot
 * be probed; 403 is for a resource the caller sees but may not change.
 *
 * Handlers get a struct api_call with a database connection of their
 * worker thread, the path's {id}, and for department-scoped permissions the
 * resource's department and the caller's role there, already checked.
 * They answer with api_reply() or api_error(); a handler that answers
 * neither gives a 500.
 */
#ifndef TC_API_H
#define TC_API_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "audit.h"
#include "common.h"
#include "db.h"
#include "http.h"

#define API_PREFIX "/api/v1"

/* Roles in a department, in order of rights; admins are managers everywhere. */
enum api_role { ROLE_NONE = 0, ROLE_VIEWER, ROLE_OPERATOR, ROLE_MANAGER };

enum api_perm {
    PERM_OPEN,        /* anyone, and no database needed (/healthz) */
    PERM_PUBLIC,      /* anyone, signed in or not */
    PERM_USER,        /* any signed-in user; the handler shows only their departments */
    PERM_ADMIN,       /* global administrators only */
    PERM_JOB_VIEW,    /* {id} is a job of a department where the caller is viewer+ */
    PERM_JOB_OPERATE, /* ... operator+ */
    PERM_JOB_MANAGE,  /* ... manager */
    PERM_EXEC_VIEW,   /* {id} is an execution of a job the caller may view */
    PERM_EXEC_REPORT, /* {id} is an execution; the X-Tablecron-Token header is its secret */
    PERM_DEPT_VIEW,   /* {id} is a department the caller belongs to (any role) */
    PERM_DEPT_MANAGE, /* {id} is a department where the caller is manager */
};

enum api_auth { AUTH_NONE, AUTH_SESSION, AUTH_TOKEN };

struct api_user {
    int64_t id;         /* 0 when not signed in */
    char login[64];
    int is_admin;
    enum api_auth via;
    int64_t session_id; /* AUTH_SESSION */
    int64_t token_id;   /* AUTH_TOKEN */
};

struct api_settings {
    int64_t session_ttl_s; /* how long a login lasts without use */
    int64_t lease_us;      /* the instances' lease: who counts as dead */
    int cookie_secure;     /* add Secure to the session cookie (behind TLS) */
};

struct api_call {
    const struct http_request *req;
    struct http_response *resp;
    struct db *db;                      /* this worker thread's connection */
    const struct api_settings *settings;
    struct api_user user;
    int64_t id;            /* the path's {id}; 0 when the route has none */
    const char *arg;       /* the path's {login} (members routes); NULL if none */
    int64_t department_id; /* PERM_JOB_*, PERM_EXEC_*, PERM_DEPT_*: the resource's */
    enum api_role role;    /* the caller's role in department_id */
    int answered;
};

typedef void (*api_handler)(struct api_call *call);

struct api_route {
    const char *method;  /* "GET", "POST", "PATCH", "PUT", "DELETE" */
    const char *pattern; /* "/api/v1/jobs/{id}/run"; {id}: a positive integer, {login}: a name */
    api_handler handler;
    enum api_perm perm;
};

/* The table (api_routes.c). */
extern const struct api_route api_routes[];
extern const size_t api_route_count;

/* --- answers --- */

/* {"error": {"code": code, "message": ..., "field": field}} with status;
 * field may be NULL. */
void api_error(struct api_call *call, int status, const char *code, const char *field,
               const char *fmt, ...) TC_PRINTF(5, 6);

/* An error that points into an input: {"error": {code, message, field,
 * "position": pos}} with status (a bad schedule: 422, "bad_schedule"). */
void api_error_at(struct api_call *call, int status, const char *code, const char *field, int pos,
                  const char *message);

/* JSON body (stolen, may be NULL for no body) with status. */
void api_reply(struct api_call *call, int status, json_t *body);

/* The answer for a failed statement: 503 when the database is away, 409
 * for a unique violation (duplicate name), 500 otherwise. */
void api_db_error(struct api_call *call);

/* --- reading requests --- */

enum api_type { API_STRING, API_INTEGER, API_BOOLEAN, API_OBJECT, API_ARRAY, API_ANY };

struct api_field {
    const char *name;
    enum api_type type;
    int required;
    int nullable; /* null is accepted (and means "clear" to the handler) */
};

/*
 * The body as a JSON object whose every member is one of fields, with the
 * right type, and every required field present.  NULL after answering 400
 * (naming the field) when it is not.  The caller json_decref()s it.
 */
json_t *api_read_body(struct api_call *call, const struct api_field *fields, size_t nfields);

/* A query parameter as an integer within [min, max] (dflt when absent);
 * -1 after answering 400 naming it. */
int api_query_int(struct api_call *call, const char *name, int64_t dflt, int64_t min,
                  int64_t max, int64_t *out) TC_MUST_CHECK;

/* --- permissions, for handlers whose department comes from the body --- */

/* The caller's role in a department (ROLE_MANAGER for admins); -1 after
 * answering on a database error. */
int api_role_in(struct api_call *call, int64_t department_id) TC_MUST_CHECK;

/* The department a body names (its id or its name) where the caller has
 * at least need: its id, or 0 after answering 404 (none, or not one of the
 * caller's), 403 with the message forbidden, or 400 (neither id nor name). */
int64_t api_department_of(struct api_call *call, const json_t *value, enum api_role need,
                          const char *forbidden) TC_MUST_CHECK;

/* The caller as the actor of a change (audit_log): name "user:alice" or
 * "token:alice" written into buf, user id, client address. */
void api_actor(const struct api_call *call, struct audit_actor *actor, char *buf, size_t size);

/* --- the server --- */

struct api_opts {
    const char *listen;   /* host:port */
    int threads;
    size_t max_body;
    const char *db;       /* conninfo, copied */
    const char *www_dir;  /* the pages' files; NULL or "": not served */
    struct api_settings settings;
};

struct api; /* opaque */

struct api *api_start(const struct api_opts *opts, char *err, size_t errsize);
void api_stop(struct api *api); /* NULL is fine */
int api_port(const struct api *api);

#endif
