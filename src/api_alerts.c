/* api_alerts.c - /api/v1/alert-channels, /alert-rules and /alerts.
 *
 * Channels and rules belong to a department (0005_alerts.sql): its
 * members see them, its managers create, change and delete them, and an
 * operator may send a channel a test message.  The routes carry no
 * department of their own ({id} is a channel or a rule, which the route
 * table cannot scope), so each handler checks it here, the way the route
 * table does for jobs: a channel or rule of a department the caller does
 * not belong to answers 404, one they see without the role 403.
 *
 * A webhook URL often holds a secret (Slack's and DingTalk's do), so only
 * managers of the department read it whole; others, and the audit log,
 * see its scheme and host.  The API writes rows and the alerter (alerter.c)
 * sends: a test message is a pending alerts row, answered 202.
 *
 * Glossary: a *rule def* is a rule's settings as the body gives them,
 * merged over the stored ones on PATCH, and checked as a whole.
 */
#include <autoconfig.h>

#include <curl/curl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_alerts.h"
#include "pgjson.h"
#include "strbuf.h"

#define ID_MAX 999999999999999999LL
#define ALERTS_PAGE_DEFAULT 50
#define ALERTS_PAGE_MAX 500
#define URL_MAX 2048
#define RECIPIENTS_MAX 50
#define NO_SUCCESS_MAX 2592000   /* 30 days */
#define REPEAT_MAX 604800        /* 7 days */
#define REPEAT_DEFAULT 1800

/* The events a rule may name, in the order of enum bits. */
static const char *const rule_events[] = { "failed", "timed_out", "abandoned", "misfired",
                                           "no_success" };
#define EVENT_NO_SUCCESS (1u << 4)
#define EVENT_LIST "failed, timed_out, abandoned, misfired, no_success"

/* --- statements --- */

#define UTC(col) DB_SQL_UTC(col)

/* A webhook URL whole for $1 (the viewer; NULL: an administrator) when a
 * manager and $4 is false; else its scheme and host only. */
#define MASKED_URL                                                                          \
    "CASE WHEN c.url IS NULL THEN NULL"                                                     \
    " WHEN NOT $4::bool AND ($1::bigint IS NULL OR m.role = 'manager') THEN c.url"         \
    " ELSE substring(c.url FROM '^https?://[^/?#]*') || '/...' END"

/* Channels of the viewer's departments: $2 one department, $3 one channel. */
static const char SQL_CHANNELS[] =
    "SELECT c.id, c.name, json_build_object('id', d.id, 'name', d.name) AS department, c.kind,"
    " " MASKED_URL " AS url, c.template, c.email_to, c.email_from,"
    " (SELECT count(*) FROM alert_rules r WHERE r.channel_id = c.id) AS rules,"
    " " UTC("c.created_at") " AS created_at, " UTC("c.updated_at") " AS updated_at"
    " FROM alert_channels c JOIN departments d ON d.id = c.department_id"
    " LEFT JOIN memberships m ON m.department_id = c.department_id AND m.user_id = $1::bigint"
    " WHERE ($1::bigint IS NULL OR m.role IS NOT NULL)"
    "  AND ($2::bigint IS NULL OR c.department_id = $2::bigint)"
    "  AND ($3::bigint IS NULL OR c.id = $3::bigint)"
    " ORDER BY d.name, c.name, c.id";

/* Rules of the viewer's departments: $2 one department, $3 one rule, $4
 * the rules that apply to one job (its own and its department's). */
static const char SQL_RULES[] =
    "SELECT r.id, json_build_object('id', d.id, 'name', d.name) AS department,"
    " CASE WHEN r.job_id IS NULL THEN NULL"
    "  ELSE json_build_object('id', j.id, 'name', j.name) END AS job,"
    " json_build_object('id', c.id, 'name', c.name, 'kind', c.kind) AS channel,"
    " to_json(r.events) AS events, r.no_success_s, r.repeat_interval_s, r.recovery, r.enabled,"
    " (SELECT count(*) FROM alert_state s WHERE s.rule_id = r.id AND s.open) AS open_incidents,"
    " " UTC("r.created_at") " AS created_at, " UTC("r.updated_at") " AS updated_at"
    " FROM alert_rules r JOIN departments d ON d.id = r.department_id"
    " JOIN alert_channels c ON c.id = r.channel_id"
    " LEFT JOIN jobs j ON j.id = r.job_id"
    " WHERE ($1::bigint IS NULL OR r.department_id IN"
    "        (SELECT m.department_id FROM memberships m WHERE m.user_id = $1::bigint))"
    "  AND ($2::bigint IS NULL OR r.department_id = $2::bigint)"
    "  AND ($3::bigint IS NULL OR r.id = $3::bigint)"
    "  AND ($4::bigint IS NULL OR r.job_id = $4::bigint OR (r.job_id IS NULL AND"
    "       r.department_id = (SELECT x.department_id FROM jobs x WHERE x.id = $4::bigint)))"
    " ORDER BY d.name, r.job_id NULLS FIRST, r.id";

/* $1 viewer, $2 department, $3 job, $4 rule, $5 channel, $6 status,
 * $7 event, $8 ids below this, $9 rows. */
static const char SQL_ALERTS[] =
    "SELECT a.id, " UTC("a.created_at") " AS created_at,"
    " json_build_object('id', d.id, 'name', d.name) AS department, a.rule_id,"
    " CASE WHEN c.id IS NULL THEN NULL"
    "  ELSE json_build_object('id', c.id, 'name', c.name, 'kind', c.kind) END AS channel,"
    " CASE WHEN a.job_id IS NULL THEN NULL"
    "  ELSE json_build_object('id', a.job_id, 'name', j.name) END AS job,"
    " a.execution_id, a.event, a.status, a.suppressed_count, a.subject, a.message, a.details,"
    " a.error, a.instance_id, " UTC("a.sent_at") " AS sent_at"
    " FROM alerts a JOIN departments d ON d.id = a.department_id"
    " LEFT JOIN alert_channels c ON c.id = a.channel_id"
    " LEFT JOIN jobs j ON j.id = a.job_id"
    " WHERE ($1::bigint IS NULL OR a.department_id IN"
    "        (SELECT m.department_id FROM memberships m WHERE m.user_id = $1::bigint))"
    "  AND ($2::bigint IS NULL OR a.department_id = $2::bigint)"
    "  AND ($3::bigint IS NULL OR a.job_id = $3::bigint)"
    "  AND ($4::bigint IS NULL OR a.rule_id = $4::bigint)"
    "  AND ($5::bigint IS NULL OR a.channel_id = $5::bigint)"
    "  AND ($6::text IS NULL OR a.status = $6::text)"
    "  AND ($7::text IS NULL OR a.event = $7::text)"
    "  AND ($8::bigint IS NULL OR a.id < $8::bigint)"
    " ORDER BY a.id DESC LIMIT $9::int";

static const char SQL_CHANNEL_DEPT[] = "SELECT department_id FROM alert_channels WHERE id = $1";
static const char SQL_RULE_DEPT[] = "SELECT department_id FROM alert_rules WHERE id = $1";
static const char SQL_DEPT_BY_NAME[] = "SELECT id FROM departments WHERE name = $1";
/* (A shard row is not a job of its own: rules name its job.) */
static const char SQL_JOB_BY_ID[] =
    "SELECT id, department_id FROM jobs WHERE id = $1::bigint AND shard_of IS NULL";
static const char SQL_JOB_BY_NAME[] =
    "SELECT id, department_id FROM jobs WHERE name = $1 AND shard_of IS NULL";

static const char SQL_CHANNEL_INSERT[] =
    "INSERT INTO alert_channels (department_id, name, kind, url, template, email_to, email_from)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id";
static const char SQL_CHANNEL_ROW[] =
    "SELECT kind, name, url, template, email_to, email_from FROM alert_channels"
    " WHERE id = $1 FOR UPDATE";
static const char SQL_CHANNEL_UPDATE[] =
    "UPDATE alert_channels SET name = $2, url = $3, template = $4, email_to = $5,"
    " email_from = $6, updated_at = now() WHERE id = $1";
static const char SQL_CHANNEL_USERS[] =
    "SELECT count(*), string_agg(id::text, ', ' ORDER BY id) FROM alert_rules"
    " WHERE channel_id = $1";
static const char SQL_CHANNEL_DELETE[] = "DELETE FROM alert_channels WHERE id = $1";
static const char SQL_CHANNEL_TEST[] =
    "INSERT INTO alerts (department_id, channel_id, event, status, subject, message, details)"
    " SELECT c.department_id, c.id, 'test', 'pending', $2, $3,"
    "  jsonb_build_object('department', jsonb_build_object('id', d.id, 'name', d.name),"
    "   'job', NULL, 'execution', NULL, 'sent_by', $4::text)"
    " FROM alert_channels c JOIN departments d ON d.id = c.department_id WHERE c.id = $1"
    " RETURNING id";
static const char SQL_CHANNEL_NAME[] =
    "SELECT c.name, d.name FROM alert_channels c JOIN departments d ON d.id = c.department_id"
    " WHERE c.id = $1";
static const char SQL_CHANNEL_OF_DEPT[] =
    "SELECT 1 FROM alert_channels WHERE id = $1::bigint AND department_id = $2::bigint";

static const char SQL_RULE_INSERT[] =
    "INSERT INTO alert_rules (department_id, job_id, channel_id, events, no_success_s,"
    " repeat_interval_s, recovery, enabled)"
    " VALUES ($1, $2::bigint, $3, $4::text[], $5::int, $6::int, $7::bool, $8::bool) RETURNING id";
static const char SQL_RULE_ROW[] =
    "SELECT channel_id, array_to_json(events)::text, no_success_s, repeat_interval_s, recovery,"
    " enabled FROM alert_rules WHERE id = $1 FOR UPDATE";
static const char SQL_RULE_UPDATE[] =
    "UPDATE alert_rules SET channel_id = $2, events = $3::text[], no_success_s = $4::int,"
    " repeat_interval_s = $5::int, recovery = $6::bool, enabled = $7::bool, updated_at = now()"
    " WHERE id = $1";
/* A rule whose events or switch changed starts afresh: no incident is
 * left open that it would no longer close. */
static const char SQL_RULE_FORGET[] = "DELETE FROM alert_state WHERE rule_id = $1";
static const char SQL_RULE_DELETE[] = "DELETE FROM alert_rules WHERE id = $1";

/* --- small helpers --- */

static void
fmt_id(char *buf, size_t size, int64_t id)
{
    snprintf(buf, size, "%lld", (long long)id);
}

/* The caller as the list filter: NULL for an administrator (every
 * department), else their user id in buf. */
static const char *
viewer_of(const struct api_call *call, char *buf, size_t size)
{
    if (call->user.is_admin)
        return NULL;
    fmt_id(buf, size, call->user.id);
    return buf;
}

static void
oom(struct api_call *call)
{
    api_error(call, 500, "internal", NULL, "out of memory");
}

/* A database error inside a change: roll back, then answer. */
static void
fail_tx(struct api_call *call)
{
    enum db_error e = db_last_error(call->db);
    char message[200];

    snprintf(message, sizeof(message), "%s", db_last_message(call->db));
    db_rollback(call->db);
    if (e == DB_ERR_CHECK)
        api_error(call, 400, "invalid", NULL, "the database refused the values: %s", message);
    else if (e == DB_ERR_UNIQUE)
        api_error(call, 409, "conflict", "name", "the department has a channel of that name");
    else if (e == DB_ERR_CONNECTION)
        api_error(call, 503, "database_unavailable", NULL, "the database is not reachable");
    else
        api_error(call, 500, "internal", NULL, "database error (see the server log)");
}

/*
 * The department of the {id} row sql names and the caller's role there
 * (call->department_id, call->role): 0 to go on, -1 after answering 404
 * (no such row, or none the caller may see) or 403 (a role below need).
 */
static int
scope(struct api_call *call, const char *sql, const char *what, enum api_role need)
{
    char id[24];
    PGresult *res;
    int role = ROLE_NONE;

    fmt_id(id, sizeof(id), call->id);
    if ((res = db_query(call->db, sql, DB_PARAMS(id))) == NULL) {
        api_db_error(call);
        return -1;
    }
    call->department_id = PQntuples(res) == 1 ? db_get_int64(res, 0, 0, 0) : 0;
    PQclear(res);
    if (call->department_id > 0 && (role = api_role_in(call, call->department_id)) < 0)
        return -1;
    call->role = call->department_id > 0 ? (enum api_role)role : ROLE_NONE;
    if (call->role == ROLE_NONE) {
        api_error(call, 404, "not_found", NULL, "no %s %lld", what, (long long)call->id);
        return -1;
    }
    if (call->role < need) {
        api_error(call, 403, "forbidden", NULL, "your role in this department does not allow this");
        return -1;
    }
    return 0;
}

/* Changing alerts needs a manager of their department. */
#define ALERTS_FORBIDDEN "only a manager of the department may change its alerts"

/* One object of a list statement (its first row) as JSON, or NULL after
 * answering (404 when there is none). */
static json_t *
fetch_one(struct api_call *call, const char *sql, const char *what, int64_t id, int mask)
{
    char viewer[24], idtext[24];
    PGresult *res;
    json_t *obj;

    fmt_id(idtext, sizeof(idtext), id);
    res = db_query(call->db, sql,
                   DB_PARAMS(viewer_of(call, viewer, sizeof(viewer)), NULL, idtext,
                             sql == SQL_CHANNELS ? (mask ? "t" : "f") : NULL));
    if (res == NULL) {
        api_db_error(call);
        return NULL;
    }
    if (PQntuples(res) == 0) {
        PQclear(res);
        api_error(call, 404, "not_found", NULL, "no %s %lld", what, (long long)id);
        return NULL;
    }
    if ((obj = pgjson_row(res, 0)) == NULL)
        oom(call);
    PQclear(res);
    return obj;
}

/* An object as audit text (the caller frees it); NULL when obj is. */
static char *
audit_text(const json_t *obj)
{
    return obj != NULL ? json_dumps(obj, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
}

/* Write the audit row of a change; -1 (rolled back, answered) on error. */
static int
audit(struct api_call *call, const char *action, const char *type, int64_t id, int64_t dept,
      const json_t *before, const json_t *after)
{
    struct audit_actor actor;
    char who[100], idtext[24], *b = audit_text(before), *a = audit_text(after);
    int rc;

    api_actor(call, &actor, who, sizeof(who));
    fmt_id(idtext, sizeof(idtext), id);
    rc = audit_write(call->db, &actor, action, type, idtext, dept, b, a);
    free(b);
    free(a);
    if (rc < 0)
        fail_tx(call);
    return rc;
}

/* --- checks of values --- */

/* Same rule as alert_channels.name and departments.name. */
static int
valid_name(const char *name)
{
    size_t n = strlen(name);

    if (n == 0 || n > 63)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        int alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        if (!alnum && (i == 0 || (c != ' ' && c != '.' && c != '_' && c != '-')))
            return 0;
    }
    return 1;
}

/* An http:// or https:// URL with a host that libcurl can parse; why
 * (when not) never repeats the URL, which may hold a secret. */
static int
check_url(const char *url, char *why, size_t size)
{
    CURLU *u;
    char *host = NULL;
    int ok = 0;

    if (strlen(url) > URL_MAX) {
        snprintf(why, size, "url is longer than %d characters", URL_MAX);
        return -1;
    }
    for (const unsigned char *p = (const unsigned char *)url; *p != '\0'; p++) {
        if (*p <= ' ' || *p == 0x7f) {
            snprintf(why, size, "url holds a space or a control character");
            return -1;
        }
    }
    if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0) {
        snprintf(why, size, "url must start with http:// or https://");
        return -1;
    }
    if ((u = curl_url()) == NULL) {
        snprintf(why, size, "out of memory");
        return -1;
    }
    if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK && host != NULL && host[0] != '\0')
        ok = 1;
    else
        snprintf(why, size, "url is not a valid URL with a host");
    curl_free(host);
    curl_url_cleanup(u);
    return ok ? 0 : -1;
}

/* addr[0..len) as a plain address: local@domain, no name, no comments. */
static int
valid_address(const char *addr, size_t len)
{
    const char *at = memchr(addr, '@', len);
    size_t local, domain;

    if (at == NULL || len > 254)
        return 0;
    local = (size_t)(at - addr);
    domain = len - local - 1;
    if (local == 0 || local > 64 || domain == 0 || addr[0] == '.' || at[-1] == '.')
        return 0;
    for (size_t i = 0; i < local; i++) {
        unsigned char c = (unsigned char)addr[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c != '\0' && strchr(".!#$%&'*+/=?^_`{|}~-", c) != NULL)))
            return 0;
    }
    if (at[1] == '.' || at[1] == '-' || addr[len - 1] == '.' || addr[len - 1] == '-')
        return 0;
    for (size_t i = 1; i <= domain; i++) {
        unsigned char c = (unsigned char)at[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              c == '-' || c == '.') ||
            (c == '.' && at[i - 1] == '.'))
            return 0;
    }
    return 1;
}

/* Recipients "a@x, b@y" (comma separated, blanks around them ignored)
 * into out, written back as "a@x, b@y"; -1 with why when one is bad. */
static int
check_recipients(const char *in, struct strbuf *out, char *why, size_t size)
{
    const char *p = in;
    int n = 0;

    why[0] = '\0';
    for (;;) {
        const char *end = strchr(p, ',');
        size_t len = end != NULL ? (size_t)(end - p) : strlen(p);

        while (len > 0 && (*p == ' ' || *p == '\t')) {
            p++;
            len--;
        }
        while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
            len--;
        if (len == 0) {
            snprintf(why, size,
                     "email_to has an empty address; give addresses separated by commas");
            return -1;
        }
        if (!valid_address(p, len)) {
            snprintf(why, size, "email_to: '%.*s' is not an email address (name@domain)",
                     (int)(len > 100 ? 100 : len), p);
            return -1;
        }
        if (++n > RECIPIENTS_MAX) {
            snprintf(why, size, "email_to has more than %d addresses", RECIPIENTS_MAX);
            return -1;
        }
        strbuf_printf(out, "%s%.*s", n > 1 ? ", " : "", (int)len, p);
        if (end == NULL)
            break;
        p = end + 1;
    }
    if (strbuf_failed(out)) {
        snprintf(why, size, "out of memory");
        return -1;
    }
    return 0;
}

static int
valid_template(const char *t)
{
    return strcmp(t, "json") == 0 || strcmp(t, "slack") == 0 || strcmp(t, "dingtalk") == 0 ||
           strcmp(t, "feishu") == 0;
}

/* --- channels --- */

/* A channel's settings, checked as a whole (strings borrowed, to owned). */
struct channel_def {
    const char *kind, *name, *url, *template_, *email_to, *email_from;
    struct strbuf to; /* email_to as stored */
};

/* 0, or -1 after answering 400 naming the field. */
static int
channel_check(struct api_call *call, struct channel_def *c)
{
    char why[300];

    if (strcmp(c->kind, "webhook") != 0 && strcmp(c->kind, "email") != 0) {
        api_error(call, 400, "invalid", "kind", "kind must be webhook or email");
        return -1;
    }
    if (!valid_name(c->name)) {
        api_error(call, 400, "invalid", "name",
                  "name must be 1 to 63 letters, digits, spaces, dots, underscores or dashes,"
                  " starting with a letter or digit");
        return -1;
    }
    if (strcmp(c->kind, "webhook") == 0) {
        if (c->email_to != NULL || c->email_from != NULL) {
            api_error(call, 400, "invalid", c->email_to != NULL ? "email_to" : "email_from",
                      "a webhook channel has no email_to or email_from");
            return -1;
        }
        if (c->url == NULL) {
            api_error(call, 400, "missing_field", "url", "a webhook channel needs a url");
            return -1;
        }
        if (check_url(c->url, why, sizeof(why)) < 0) {
            api_error(call, 400, "invalid", "url", "%s", why);
            return -1;
        }
        if (c->template_ == NULL)
            c->template_ = "json";
        if (!valid_template(c->template_)) {
            api_error(call, 400, "invalid", "template",
                      "template must be json, slack, dingtalk or feishu");
            return -1;
        }
        return 0;
    }
    if (c->url != NULL || c->template_ != NULL) {
        api_error(call, 400, "invalid", c->url != NULL ? "url" : "template",
                  "an email channel has no url or template");
        return -1;
    }
    if (c->email_to == NULL) {
        api_error(call, 400, "missing_field", "email_to",
                  "an email channel needs email_to (addresses separated by commas)");
        return -1;
    }
    strbuf_reset(&c->to);
    if (check_recipients(c->email_to, &c->to, why, sizeof(why)) < 0 ||
        strbuf_str(&c->to)[0] == '\0' || strlen(strbuf_str(&c->to)) > URL_MAX) {
        api_error(call, 400, "invalid", "email_to", "%s",
                  why[0] != '\0' ? why : "email_to is too long");
        return -1;
    }
    c->email_to = strbuf_str(&c->to);
    if (c->email_from != NULL && !valid_address(c->email_from, strlen(c->email_from))) {
        api_error(call, 400, "invalid", "email_from",
                  "email_from is not an email address (name@domain)");
        return -1;
    }
    return 0;
}

void
api_alert_channels_list(struct api_call *call)
{
    char viewer[24], dept[24];
    int64_t dept_id;
    PGresult *res;
    json_t *items;

    if (api_query_int(call, "department", 0, 1, ID_MAX, &dept_id) < 0)
        return;
    fmt_id(dept, sizeof(dept), dept_id);
    res = db_query(call->db, SQL_CHANNELS,
                   DB_PARAMS(viewer_of(call, viewer, sizeof(viewer)), dept_id > 0 ? dept : NULL,
                             NULL, "f"));
    if (res == NULL) {
        api_db_error(call);
        return;
    }
    if ((items = pgjson_rows(res)) == NULL)
        oom(call);
    else
        api_reply(call, 200, json_pack("{s:o}", "items", items));
    PQclear(res);
}

static const struct api_field channel_create_fields[] = {
    { "name", API_STRING, 1, 0 },       { "department", API_ANY, 1, 0 },
    { "kind", API_STRING, 1, 0 },       { "url", API_STRING, 0, 0 },
    { "template", API_STRING, 0, 0 },   { "email_to", API_STRING, 0, 0 },
    { "email_from", API_STRING, 0, 1 },
};

static const char *
body_str(const json_t *body, const char *name)
{
    return json_string_value(json_object_get(body, name));
}

/* 201 or 200 with the channel as the caller sees it, after commit. */
static void
reply_object(struct api_call *call, int status, json_t *obj, const char *path, int64_t id)
{
    char location[80];

    if (status == 201) {
        snprintf(location, sizeof(location), API_PREFIX "/%s/%lld", path, (long long)id);
        if (http_add_header(call->resp, "Location", location) < 0) {
            json_decref(obj);
            oom(call);
            return;
        }
    }
    api_reply(call, status, obj);
}

void
api_alert_channel_create(struct api_call *call)
{
    json_t *body = api_read_body(call, channel_create_fields, TC_ARRAY_LEN(channel_create_fields));
    struct channel_def c = { 0 };
    json_t *after = NULL, *obj;
    char dept[24], idtext[24];
    PGresult *res;
    int64_t id;

    if (body == NULL)
        return;
    c.kind = body_str(body, "kind");
    c.name = body_str(body, "name");
    c.url = body_str(body, "url");
    c.template_ = body_str(body, "template");
    c.email_to = body_str(body, "email_to");
    c.email_from = body_str(body, "email_from");
    if (channel_check(call, &c) < 0 ||
        (call->department_id = api_department_of(call, json_object_get(body, "department"),
                                                 ROLE_MANAGER, ALERTS_FORBIDDEN)) == 0)
        goto out;
    fmt_id(dept, sizeof(dept), call->department_id);
    if (db_begin(call->db) < 0) {
        api_db_error(call);
        goto out;
    }
    if ((res = db_query(call->db, SQL_CHANNEL_INSERT,
                        DB_PARAMS(dept, c.name, c.kind, c.url, c.template_, c.email_to,
                                  c.email_from))) == NULL) {
        fail_tx(call);
        goto out;
    }
    id = db_get_int64(res, 0, 0, 0);
    PQclear(res);
    fmt_id(idtext, sizeof(idtext), id);
    if ((after = fetch_one(call, SQL_CHANNELS, "alert channel", id, 1)) == NULL) {
        db_rollback(call->db);
        goto out;
    }
    if (audit(call, "alert_channel.create", "alert_channel", id, call->department_id, NULL,
              after) < 0)
        goto out;
    if (db_commit(call->db) < 0) {
        api_db_error(call);
        goto out;
    }
    if ((obj = fetch_one(call, SQL_CHANNELS, "alert channel", id, 0)) != NULL)
        reply_object(call, 201, obj, "alert-channels", id);
out:
    json_decref(after);
    strbuf_reset(&c.to);
    json_decref(body);
}

void
api_alert_channel_get(struct api_call *call)
{
    json_t *obj;

    if (scope(call, SQL_CHANNEL_DEPT, "alert channel", ROLE_VIEWER) < 0)
        return;
    if ((obj = fetch_one(call, SQL_CHANNELS, "alert channel", call->id, 0)) != NULL)
        api_reply(call, 200, obj);
}

static const struct api_field channel_update_fields[] = {
    { "name", API_STRING, 0, 0 },     { "url", API_STRING, 0, 0 },
    { "template", API_STRING, 0, 0 }, { "email_to", API_STRING, 0, 0 },
    { "email_from", API_STRING, 0, 1 },
};

/* A body field over the stored column: the body's when present (null:
 * NULL), else the row's. */
static const char *
merged(const json_t *body, const char *name, const PGresult *row, int col)
{
    const json_t *v = json_object_get(body, name);

    if (v != NULL)
        return json_string_value(v); /* NULL for null */
    return PQgetisnull(row, 0, col) ? NULL : PQgetvalue(row, 0, col);
}

void
api_alert_channel_update(struct api_call *call)
{
    json_t *body = api_read_body(call, channel_update_fields, TC_ARRAY_LEN(channel_update_fields));
    json_t *before = NULL, *after = NULL, *obj;
    struct channel_def c = { 0 };
    PGresult *row = NULL;
    char idtext[24];

    if (body == NULL)
        return;
    if (scope(call, SQL_CHANNEL_DEPT, "alert channel", ROLE_MANAGER) < 0)
        goto out;
    fmt_id(idtext, sizeof(idtext), call->id);
    if (db_begin(call->db) < 0) {
        api_db_error(call);
        goto out;
    }
    if ((row = db_query(call->db, SQL_CHANNEL_ROW, DB_PARAMS(idtext))) == NULL) {
        fail_tx(call);
        goto out;
    }
    if (PQntuples(row) == 0) {
        db_rollback(call->db);
        api_error(call, 404, "not_found", NULL, "no alert channel %lld", (long long)call->id);
        goto out;
    }
    c.kind = PQgetvalue(row, 0, 0);
    c.name = merged(body, "name", row, 1);
    c.url = merged(body, "url", row, 2);
    c.template_ = merged(body, "template", row, 3);
    c.email_to = merged(body, "email_to", row, 4);
    c.email_from = merged(body, "email_from", row, 5);
    if (c.name == NULL || channel_check(call, &c) < 0) {
        if (c.name == NULL)
            api_error(call, 400, "invalid", "name", "name cannot be removed");
        db_rollback(call->db);
        goto out;
    }
    if ((before = fetch_one(call, SQL_CHANNELS, "alert channel", call->id, 1)) == NULL) {
        db_rollback(call->db);
        goto out;
    }
    if (db_exec(call->db, SQL_CHANNEL_UPDATE,
                DB_PARAMS(idtext, c.name, c.url, c.template_, c.email_to, c.email_from)) < 0) {
        fail_tx(call);
        goto out;
    }
    if ((after = fetch_one(call, SQL_CHANNELS, "alert channel", call->id, 1)) == NULL) {
        db_rollback(call->db);
        goto out;
    }
    if (audit(call, "alert_channel.update", "alert_channel", call->id, call->department_id,
              before, after) < 0)
        goto out;
    if (db_commit(call->db) < 0) {
        api_db_error(call);
        goto out;
    }
    if ((obj = fetch_one(call, SQL_CHANNELS, "alert channel", call->id, 0)) != NULL)
        api_reply(call, 200, obj);
out:
    PQclear(row);
    json_decref(before);
    json_decref(after);
    strbuf_reset(&c.to);
    json_decref(body);
}

void
api_alert_channel_delete(struct api_call *call)
{
    json_t *before = NULL;
    char idtext[24];
    PGresult *res;

    if (scope(call, SQL_CHANNEL_DEPT, "alert channel", ROLE_MANAGER) < 0)
        return;
    fmt_id(idtext, sizeof(idtext), call->id);
    if (db_begin(call->db) < 0) {
        api_db_error(call);
        return;
    }
    if ((res = db_query(call->db, SQL_CHANNEL_USERS, DB_PARAMS(idtext))) == NULL) {
        fail_tx(call);
        return;
    }
    if (db_get_int64(res, 0, 0, 0) > 0) {
        api_error(call, 409, "conflict", NULL,
                  "the channel is used by alert rules %s: delete them or give them another"
                  " channel first",
                  PQgetvalue(res, 0, 1));
        PQclear(res);
        db_rollback(call->db);
        return;
    }
    PQclear(res);
    if ((before = fetch_one(call, SQL_CHANNELS, "alert channel", call->id, 1)) == NULL) {
        db_rollback(call->db);
        return;
    }
    if (db_exec(call->db, SQL_CHANNEL_DELETE, DB_PARAMS(idtext)) < 0) {
        fail_tx(call);
        goto out;
    }
    if (audit(call, "alert_channel.delete", "alert_channel", call->id, call->department_id,
              before, NULL) < 0)
        goto out;
    if (db_commit(call->db) < 0) {
        api_db_error(call);
        goto out;
    }
    api_reply(call, 204, NULL);
out:
    json_decref(before);
}

void
api_alert_channel_test(struct api_call *call)
{
    char idtext[24], subject[200], who[100], *message = NULL;
    struct audit_actor actor;
    PGresult *res = NULL;
    json_t *body;
    size_t n;

    /* No body is needed; one that is sent must be an object without fields. */
    if (strspn(call->req->body, " \t\r\n") < call->req->body_len) {
        if ((body = api_read_body(call, NULL, 0)) == NULL)
            return;
        json_decref(body);
    }
    if (scope(call, SQL_CHANNEL_DEPT, "alert channel", ROLE_OPERATOR) < 0)
        return;
    fmt_id(idtext, sizeof(idtext), call->id);
    if ((res = db_query(call->db, SQL_CHANNEL_NAME, DB_PARAMS(idtext))) == NULL) {
        api_db_error(call);
        return;
    }
    if (PQntuples(res) == 0) {
        api_error(call, 404, "not_found", NULL, "no alert channel %lld", (long long)call->id);
        goto out;
    }
    api_actor(call, &actor, who, sizeof(who));
    snprintf(subject, sizeof(subject), "[tablecron] test message to channel %s",
             PQgetvalue(res, 0, 0));
    n = strlen(who) + strlen(PQgetvalue(res, 0, 1)) + 200;
    if ((message = malloc(n)) == NULL) {
        oom(call);
        goto out;
    }
    snprintf(message, n,
             "This is a test of an alert channel of department %s, sent by %s.\n"
             "Alerts of failing jobs will arrive here.\n",
             PQgetvalue(res, 0, 1), who);
    PQclear(res);
    if ((res = db_query(call->db, SQL_CHANNEL_TEST, DB_PARAMS(idtext, subject, message, who))) ==
        NULL) {
        api_db_error(call);
        goto out;
    }
    api_reply(call, 202,
              json_pack("{s:I, s:s, s:s}", "alert_id", (json_int_t)db_get_int64(res, 0, 0, 0),
                        "status", "pending", "message",
                        "the test message is queued: GET /api/v1/alerts shows when it is sent"));
out:
    free(message);
    PQclear(res);
}

/* --- rules --- */

/* A rule's settings (see the glossary). */
struct rule_def {
    int64_t channel_id;
    unsigned events;      /* bits of rule_events */
    int64_t no_success_s; /* -1: NULL */
    int64_t repeat_s;
    int recovery, enabled;
};

/* events from a JSON array into bits; -1 after answering 400. */
static int
events_from_json(struct api_call *call, const json_t *arr, unsigned *out)
{
    size_t i;
    json_t *v;

    *out = 0;
    if (!json_is_array(arr) || json_array_size(arr) == 0) {
        api_error(call, 400, "invalid", "events",
                  "events must be a list of at least one of " EVENT_LIST);
        return -1;
    }
    json_array_foreach(arr, i, v) {
        size_t k;
        const char *name = json_string_value(v);

        for (k = 0; name != NULL && k < TC_ARRAY_LEN(rule_events); k++)
            if (strcmp(name, rule_events[k]) == 0)
                break;
        if (name == NULL || k == TC_ARRAY_LEN(rule_events)) {
            api_error(call, 400, "invalid", "events", "unknown event '%.40s' in events: use %s",
                      name != NULL ? name : "(not a string)", EVENT_LIST);
            return -1;
        }
        *out |= 1u << k;
    }
    return 0;
}

/* The bits as a PostgreSQL array literal: "{failed,timed_out}". */
static void
events_text(unsigned events, char *buf, size_t size)
{
    size_t n = 0;

    n += (size_t)snprintf(buf + n, size - n, "{");
    for (size_t k = 0; k < TC_ARRAY_LEN(rule_events); k++)
        if (events & (1u << k))
            n += (size_t)snprintf(buf + n, size - n, "%s%s", n > 1 ? "," : "", rule_events[k]);
    snprintf(buf + n, size - n, "}");
}

/* The body's fields over def; -1 after answering 400. */
static int
rule_merge(struct api_call *call, const json_t *body, struct rule_def *def)
{
    const json_t *v;

    if ((v = json_object_get(body, "channel")) != NULL)
        def->channel_id = json_integer_value(v);
    if ((v = json_object_get(body, "events")) != NULL &&
        events_from_json(call, v, &def->events) < 0)
        return -1;
    if ((v = json_object_get(body, "no_success_s")) != NULL)
        def->no_success_s = json_is_null(v) ? -1 : json_integer_value(v);
    if ((v = json_object_get(body, "repeat_interval_s")) != NULL)
        def->repeat_s = json_integer_value(v);
    if ((v = json_object_get(body, "recovery")) != NULL)
        def->recovery = json_is_true(v);
    if ((v = json_object_get(body, "enabled")) != NULL)
        def->enabled = json_is_true(v);
    return 0;
}

/* The whole rule, in dept; -1 after answering 400. */
static int
rule_check(struct api_call *call, const struct rule_def *def, int64_t dept)
{
    char chan[24], deptext[24];
    PGresult *res;
    int found;

    if (def->no_success_s == -1 && (def->events & EVENT_NO_SUCCESS)) {
        api_error(call, 400, "invalid", "no_success_s",
                  "no_success_s (seconds without a successful run) is required with the"
                  " no_success event");
        return -1;
    }
    if (def->no_success_s != -1 && !(def->events & EVENT_NO_SUCCESS)) {
        api_error(call, 400, "invalid", "no_success_s",
                  "no_success_s is used with the no_success event only: add it to events, or"
                  " leave no_success_s out");
        return -1;
    }
    if (def->no_success_s != -1 && (def->no_success_s < 1 || def->no_success_s > NO_SUCCESS_MAX)) {
        api_error(call, 400, "invalid", "no_success_s",
                  "no_success_s must be from 1 to %d seconds (30 days)", NO_SUCCESS_MAX);
        return -1;
    }
    if (def->repeat_s < 0 || def->repeat_s > REPEAT_MAX) {
        api_error(call, 400, "invalid", "repeat_interval_s",
                  "repeat_interval_s must be from 0 (no limit) to %d seconds (7 days)",
                  REPEAT_MAX);
        return -1;
    }
    fmt_id(chan, sizeof(chan), def->channel_id);
    fmt_id(deptext, sizeof(deptext), dept);
    if ((res = db_query(call->db, SQL_CHANNEL_OF_DEPT, DB_PARAMS(chan, deptext))) == NULL) {
        api_db_error(call);
        return -1;
    }
    found = PQntuples(res) == 1;
    PQclear(res);
    if (!found) {
        api_error(call, 400, "invalid", "channel",
                  "no alert channel %lld in the rule's department", (long long)def->channel_id);
        return -1;
    }
    return 0;
}

/* Does a body's department (id or name) name dept?  1 yes, 0 no, -1
 * after answering (a database error). */
static int
department_is(struct api_call *call, const json_t *value, int64_t dept)
{
    PGresult *res;
    int64_t id = 0;

    if (json_is_integer(value))
        return json_integer_value(value) == dept;
    if (!json_is_string(value))
        return 0;
    if ((res = db_query(call->db, SQL_DEPT_BY_NAME, DB_PARAMS(json_string_value(value)))) == NULL) {
        api_db_error(call);
        return -1;
    }
    if (PQntuples(res) == 1)
        id = db_get_int64(res, 0, 0, 0);
    PQclear(res);
    return id == dept;
}

/* The body's job (id or name): its id and department where the caller is
 * manager; 0 after answering 404 / 403 / 400. */
static int64_t
job_of(struct api_call *call, const json_t *value, int64_t *dept)
{
    char text[24];
    PGresult *res;
    int64_t id = 0;
    int role = ROLE_NONE;

    if (json_is_integer(value)) {
        fmt_id(text, sizeof(text), json_integer_value(value));
        res = db_query(call->db, SQL_JOB_BY_ID, DB_PARAMS(text));
    } else if (json_is_string(value)) {
        res = db_query(call->db, SQL_JOB_BY_NAME, DB_PARAMS(json_string_value(value)));
    } else {
        api_error(call, 400, "wrong_type", "job", "job must be a job's id or name");
        return 0;
    }
    if (res == NULL) {
        api_db_error(call);
        return 0;
    }
    if (PQntuples(res) == 1) {
        id = db_get_int64(res, 0, 0, 0);
        *dept = db_get_int64(res, 0, 1, 0);
    }
    PQclear(res);
    if (id > 0 && (role = api_role_in(call, *dept)) < 0)
        return 0;
    if (id == 0 || role == ROLE_NONE) {
        api_error(call, 404, "not_found", "job", "no such job");
        return 0;
    }
    if (role < ROLE_MANAGER) {
        api_error(call, 403, "forbidden", "job",
                  "only a manager of the job's department may change its alerts");
        return 0;
    }
    return id;
}

void
api_alert_rules_list(struct api_call *call)
{
    char viewer[24], dept[24], job[24];
    int64_t dept_id, job_id;
    PGresult *res;
    json_t *items;

    if (api_query_int(call, "department", 0, 1, ID_MAX, &dept_id) < 0 ||
        api_query_int(call, "job", 0, 1, ID_MAX, &job_id) < 0)
        return;
    fmt_id(dept, sizeof(dept), dept_id);
    fmt_id(job, sizeof(job), job_id);
    res = db_query(call->db, SQL_RULES,
                   DB_PARAMS(viewer_of(call, viewer, sizeof(viewer)), dept_id > 0 ? dept : NULL,
                             NULL, job_id > 0 ? job : NULL));
    if (res == NULL) {
        api_db_error(call);
        return;
    }
    if ((items = pgjson_rows(res)) == NULL)
        oom(call);
    else
        api_reply(call, 200, json_pack("{s:o}", "items", items));
    PQclear(res);
}

static const struct api_field rule_create_fields[] = {
    { "department", API_ANY, 0, 0 },      { "job", API_ANY, 0, 0 },
    { "channel", API_INTEGER, 1, 0 },     { "events", API_ARRAY, 1, 0 },
    { "no_success_s", API_INTEGER, 0, 1 }, { "repeat_interval_s", API_INTEGER, 0, 0 },
    { "recovery", API_BOOLEAN, 0, 0 },    { "enabled", API_BOOLEAN, 0, 0 },
};

/* The rule's values as statement parameters. */
struct rule_params {
    char channel[24], events[128], no_success[24], repeat[24];
};

static void
rule_params(const struct rule_def *def, struct rule_params *p)
{
    fmt_id(p->channel, sizeof(p->channel), def->channel_id);
    events_text(def->events, p->events, sizeof(p->events));
    fmt_id(p->no_success, sizeof(p->no_success), def->no_success_s);
    fmt_id(p->repeat, sizeof(p->repeat), def->repeat_s);
}

void
api_alert_rule_create(struct api_call *call)
{
    json_t *body = api_read_body(call, rule_create_fields, TC_ARRAY_LEN(rule_create_fields));
    struct rule_def def = { 0, 0, -1, REPEAT_DEFAULT, 1, 1 };
    json_t *after = NULL, *obj, *jv, *dv;
    char dept[24], jobtext[24];
    struct rule_params p;
    int64_t job = 0, job_dept = 0, id;
    PGresult *res;

    if (body == NULL)
        return;
    jv = json_object_get(body, "job");
    dv = json_object_get(body, "department");
    if (jv == NULL && dv == NULL) {
        api_error(call, 400, "missing_field", "department",
                  "give a department (a rule for each of its jobs) or a job");
        goto out;
    }
    if (rule_merge(call, body, &def) < 0)
        goto out;
    if (jv != NULL) {
        /* A job's rule is in the job's department: one named too must be it. */
        if ((job = job_of(call, jv, &job_dept)) == 0)
            goto out;
        call->department_id = job_dept;
        if (dv != NULL && department_is(call, dv, job_dept) <= 0) {
            if (!call->answered)
                api_error(call, 400, "invalid", "department",
                          "the job is in another department; leave department out for a"
                          " job's rule");
            goto out;
        }
    } else if ((call->department_id =
                    api_department_of(call, dv, ROLE_MANAGER, ALERTS_FORBIDDEN)) == 0) {
        goto out;
    }
    if (rule_check(call, &def, call->department_id) < 0)
        goto out;
    rule_params(&def, &p);
    fmt_id(dept, sizeof(dept), call->department_id);
    fmt_id(jobtext, sizeof(jobtext), job);
    if (db_begin(call->db) < 0) {
        api_db_error(call);
        goto out;
    }
    if ((res = db_query(call->db, SQL_RULE_INSERT,
                        DB_PARAMS(dept, job > 0 ? jobtext : NULL, p.channel, p.events,
                                  def.no_success_s >= 0 ? p.no_success : NULL, p.repeat,
                                  def.recovery ? "t" : "f", def.enabled ? "t" : "f"))) == NULL) {
        fail_tx(call);
        goto out;
    }
    id = db_get_int64(res, 0, 0, 0);
    PQclear(res);
    if ((after = fetch_one(call, SQL_RULES, "alert rule", id, 0)) == NULL) {
        db_rollback(call->db);
        goto out;
    }
    if (audit(call, "alert_rule.create", "alert_rule", id, call->department_id, NULL, after) < 0)
        goto out;
    if (db_commit(call->db) < 0) {
        api_db_error(call);
        goto out;
    }
    obj = after;
    after = NULL;
    reply_object(call, 201, obj, "alert-rules", id);
out:
    json_decref(after);
    json_decref(body);
}

void
api_alert_rule_get(struct api_call *call)
{
    json_t *obj;

    if (scope(call, SQL_RULE_DEPT, "alert rule", ROLE_VIEWER) < 0)
        return;
    if ((obj = fetch_one(call, SQL_RULES, "alert rule", call->id, 0)) != NULL)
        api_reply(call, 200, obj);
}

static const struct api_field rule_update_fields[] = {
    { "channel", API_INTEGER, 0, 0 },     { "events", API_ARRAY, 0, 0 },
    { "no_success_s", API_INTEGER, 0, 1 }, { "repeat_interval_s", API_INTEGER, 0, 0 },
    { "recovery", API_BOOLEAN, 0, 0 },    { "enabled", API_BOOLEAN, 0, 0 },
};

/* The stored rule (a SQL_RULE_ROW row) as a def. */
static int
rule_from_row(const PGresult *row, struct rule_def *def)
{
    json_t *arr = json_loads(PQgetvalue(row, 0, 1), 0, NULL), *v;
    size_t i;

    if (arr == NULL)
        return -1;
    def->channel_id = db_get_int64(row, 0, 0, 0);
    def->events = 0;
    json_array_foreach(arr, i, v) {
        for (size_t k = 0; k < TC_ARRAY_LEN(rule_events); k++)
            if (json_is_string(v) && strcmp(json_string_value(v), rule_events[k]) == 0)
                def->events |= 1u << k;
    }
    json_decref(arr);
    def->no_success_s = db_get_int64(row, 0, 2, -1);
    def->repeat_s = db_get_int64(row, 0, 3, REPEAT_DEFAULT);
    def->recovery = db_get_bool(row, 0, 4);
    def->enabled = db_get_bool(row, 0, 5);
    return 0;
}

void
api_alert_rule_update(struct api_call *call)
{
    json_t *body = api_read_body(call, rule_update_fields, TC_ARRAY_LEN(rule_update_fields));
    json_t *before = NULL, *after = NULL, *obj;
    struct rule_def def, old;
    struct rule_params p;
    PGresult *row = NULL;
    char idtext[24];

    if (body == NULL)
        return;
    if (scope(call, SQL_RULE_DEPT, "alert rule", ROLE_MANAGER) < 0)
        goto out;
    fmt_id(idtext, sizeof(idtext), call->id);
    if (db_begin(call->db) < 0) {
        api_db_error(call);
        goto out;
    }
    if ((row = db_query(call->db, SQL_RULE_ROW, DB_PARAMS(idtext))) == NULL) {
        fail_tx(call);
        goto out;
    }
    if (PQntuples(row) == 0 || rule_from_row(row, &old) < 0) {
        db_rollback(call->db);
        api_error(call, 404, "not_found", NULL, "no alert rule %lld", (long long)call->id);
        goto out;
    }
    def = old;
    if (rule_merge(call, body, &def) < 0 || rule_check(call, &def, call->department_id) < 0) {
        db_rollback(call->db);
        goto out;
    }
    if ((before = fetch_one(call, SQL_RULES, "alert rule", call->id, 0)) == NULL) {
        db_rollback(call->db);
        goto out;
    }
    rule_params(&def, &p);
    if (db_exec(call->db, SQL_RULE_UPDATE,
                DB_PARAMS(idtext, p.channel, p.events,
                          def.no_success_s >= 0 ? p.no_success : NULL, p.repeat,
                          def.recovery ? "t" : "f", def.enabled ? "t" : "f")) < 0) {
        fail_tx(call);
        goto out;
    }
    if ((def.events != old.events || def.no_success_s != old.no_success_s ||
         def.enabled != old.enabled) &&
        db_exec(call->db, SQL_RULE_FORGET, DB_PARAMS(idtext)) < 0) {
        fail_tx(call);
        goto out;
    }
    if ((after = fetch_one(call, SQL_RULES, "alert rule", call->id, 0)) == NULL) {
        db_rollback(call->db);
        goto out;
    }
    if (audit(call, "alert_rule.update", "alert_rule", call->id, call->department_id, before,
              after) < 0)
        goto out;
    if (db_commit(call->db) < 0) {
        api_db_error(call);
        goto out;
    }
    obj = after;
    after = NULL;
    api_reply(call, 200, obj);
out:
    PQclear(row);
    json_decref(before);
    json_decref(after);
    json_decref(body);
}

void
api_alert_rule_delete(struct api_call *call)
{
    json_t *before = NULL;
    char idtext[24];

    if (scope(call, SQL_RULE_DEPT, "alert rule", ROLE_MANAGER) < 0)
        return;
    fmt_id(idtext, sizeof(idtext), call->id);
    if (db_begin(call->db) < 0) {
        api_db_error(call);
        return;
    }
    if ((before = fetch_one(call, SQL_RULES, "alert rule", call->id, 0)) == NULL) {
        db_rollback(call->db);
        return;
    }
    if (db_exec(call->db, SQL_RULE_DELETE, DB_PARAMS(idtext)) < 0) {
        fail_tx(call);
        goto out;
    }
    if (audit(call, "alert_rule.delete", "alert_rule", call->id, call->department_id, before,
              NULL) < 0)
        goto out;
    if (db_commit(call->db) < 0) {
        api_db_error(call);
        goto out;
    }
    api_reply(call, 204, NULL);
out:
    json_decref(before);
}

/* --- the alerts --- */

/* ?name= as one of a fixed set; NULL when absent.  -1 after answering. */
static int
query_choice(struct api_call *call, const char *name, const char *const *choices, size_t n,
             const char *words, const char **out)
{
    const char *text = http_query(call->req, name);

    *out = NULL;
    if (text == NULL || text[0] == '\0')
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(text, choices[i]) == 0) {
            *out = text;
            return 0;
        }
    }
    api_error(call, 400, "bad_parameter", name, "%s must be one of %s", name, words);
    return -1;
}

void
api_alerts_list(struct api_call *call)
{
    static const char *const statuses[] = { "pending", "sent", "failed", "suppressed" };
    static const char *const events[] = { "failed",     "timed_out", "abandoned", "misfired",
                                          "no_success", "recovered", "test" };
    char viewer[24], dept[24], job[24], rule[24], chan[24], before[24], rows[24];
    int64_t dept_id, job_id, rule_id, chan_id, before_id, limit;
    const char *status, *event;
    PGresult *res;
    json_t *items, *last;
    size_t n;

    if (api_query_int(call, "department", 0, 1, ID_MAX, &dept_id) < 0 ||
        api_query_int(call, "job", 0, 1, ID_MAX, &job_id) < 0 ||
        api_query_int(call, "rule", 0, 1, ID_MAX, &rule_id) < 0 ||
        api_query_int(call, "channel", 0, 1, ID_MAX, &chan_id) < 0 ||
        api_query_int(call, "before", 0, 1, ID_MAX, &before_id) < 0 ||
        api_query_int(call, "limit", ALERTS_PAGE_DEFAULT, 1, ALERTS_PAGE_MAX, &limit) < 0 ||
        query_choice(call, "status", statuses, TC_ARRAY_LEN(statuses),
                     "pending, sent, failed, suppressed", &status) < 0 ||
        query_choice(call, "event", events, TC_ARRAY_LEN(events),
                     "failed, timed_out, abandoned, misfired, no_success, recovered, test",
                     &event) < 0)
        return;
    fmt_id(dept, sizeof(dept), dept_id);
    fmt_id(job, sizeof(job), job_id);
    fmt_id(rule, sizeof(rule), rule_id);
    fmt_id(chan, sizeof(chan), chan_id);
    fmt_id(before, sizeof(before), before_id);
    fmt_id(rows, sizeof(rows), limit + 1); /* one more: is there a next page? */
    res = db_query(call->db, SQL_ALERTS,
                   DB_PARAMS(viewer_of(call, viewer, sizeof(viewer)), dept_id > 0 ? dept : NULL,
                             job_id > 0 ? job : NULL, rule_id > 0 ? rule : NULL,
                             chan_id > 0 ? chan : NULL, status, event,
                             before_id > 0 ? before : NULL, rows));
    if (res == NULL) {
        api_db_error(call);
        return;
    }
    items = pgjson_rows(res);
    PQclear(res);
    if (items == NULL) {
        oom(call);
        return;
    }
    /* The extra row only says there is more: the next page starts below
     * the last id of this one. */
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
