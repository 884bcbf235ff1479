/* account_store.c - users, departments, memberships and API tokens, each
 * change in one transaction with its audit_log row.
 *
 * Every change follows the same steps inside db_transaction: find (and
 * lock) the rows it is about, refuse what cannot be done, change, and write
 * the audit row with the images before and after.  The slow or random
 * work (hashing a password, drawing a token) is done before the
 * transaction, so no lock is held while it runs.
 *
 * Images are built by PostgreSQL (json_build_object), so the audit log, the
 * API and the command line show the same fields with the same time format.
 */
#include <autoconfig.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "account_store.h"
#include "password.h"
#include "utf8.h"

#define USER_IMAGE                                                                         \
    "json_build_object('id', u.id, 'login', u.login, 'display_name', u.display_name,"     \
    " 'is_admin', u.is_admin, 'disabled', u.disabled,"                                     \
    " 'has_password', u.password_hash IS NOT NULL, 'created_at', " DB_SQL_UTC("u.created_at") \
    ")::text"

#define DEPARTMENT_IMAGE                                                                   \
    "json_build_object('id', d.id, 'name', d.name, 'description', d.description,"         \
    " 'created_at', " DB_SQL_UTC("d.created_at") ")::text"

#define MEMBER_IMAGE                                                                        \
    "json_build_object('department_id', d.id, 'department', d.name, 'user_id', u.id,"      \
    " 'login', u.login, 'role', m.role, 'created_at', " DB_SQL_UTC("m.created_at") ")::text"

#define TOKEN_IMAGE                                                                        \
    "json_build_object('id', t.id, 'user_id', t.user_id, 'login', u.login, 'name', t.name," \
    " 'token_prefix', t.token_prefix, 'created_at', " DB_SQL_UTC("t.created_at") ","           \
    " 'expires_at', " DB_SQL_UTC("t.expires_at") ", 'revoked_at', " DB_SQL_UTC("t.revoked_at")    \
    ")::text"

const char account_sql_users[] =
    "SELECT u.id, u.login, u.display_name, u.is_admin, u.disabled,"
    " u.password_hash IS NOT NULL AS has_password,"
    " " DB_SQL_UTC("u.created_at") " AS created_at,"
    " coalesce((SELECT json_agg(json_build_object('id', d.id, 'name', d.name, 'role', m.role)"
    "                           ORDER BY d.name)"
    "           FROM memberships m JOIN departments d ON d.id = m.department_id"
    "           WHERE m.user_id = u.id), '[]') AS departments,"
    " nullif(concat_ws(',', CASE WHEN u.is_admin THEN 'admin' END,"
    "                       CASE WHEN u.disabled THEN 'disabled' END,"
    "                       CASE WHEN u.password_hash IS NULL THEN 'token-only' END), '')"
    "   AS _flags,"
    " (SELECT string_agg(d.name || ':' || m.role, ', ' ORDER BY d.name)"
    "    FROM memberships m JOIN departments d ON d.id = m.department_id"
    "   WHERE m.user_id = u.id) AS _departments"
    " FROM users u ORDER BY lower(u.login)";

const char account_sql_tokens[] =
    "SELECT t.id, t.user_id, u.login, t.name, t.token_prefix,"
    " " DB_SQL_UTC("t.created_at") " AS created_at,"
    " " DB_SQL_UTC("t.expires_at") " AS expires_at,"
    " " DB_SQL_UTC("t.last_used_at") " AS last_used_at,"
    " " DB_SQL_UTC("t.revoked_at") " AS revoked_at,"
    " CASE WHEN t.revoked_at IS NOT NULL THEN 'revoked'"
    "      WHEN t.expires_at <= now() THEN 'expired'"
    "      WHEN u.disabled THEN 'user disabled' ELSE 'active' END AS state"
    " FROM api_tokens t JOIN users u ON u.id = t.user_id"
    " WHERE $1::bigint IS NULL OR t.user_id = $1::bigint ORDER BY t.id";

/* Users: found by id or by login (any case), locked for the change. */
static const char SQL_USER_BY_ID[] =
    "SELECT u.id, u.disabled, " USER_IMAGE " FROM users u WHERE u.id = $1 FOR UPDATE";
static const char SQL_USER_BY_LOGIN[] =
    "SELECT u.id, u.disabled, " USER_IMAGE " FROM users u WHERE lower(u.login) = lower($1)"
    " FOR UPDATE";

enum user_col { USER_ID, USER_DISABLED, USER_IMAGE_COL };

static const char SQL_USER_INSERT[] =
    "INSERT INTO users AS u (login, display_name, password_hash, is_admin)"
    " VALUES ($1, $2, $3, $4::boolean) RETURNING u.id, " USER_IMAGE;
/* A new password also lifts the pause of failed logins. */
static const char SQL_USER_PASSWORD[] =
    "UPDATE users u SET password_hash = $2, failed_logins = 0, login_blocked_until = NULL,"
    " updated_at = now() WHERE u.id = $1 RETURNING " USER_IMAGE;
static const char SQL_USER_DISABLED[] =
    "UPDATE users u SET disabled = $2::boolean, updated_at = now() WHERE u.id = $1"
    " RETURNING " USER_IMAGE;
static const char SQL_SESSIONS_END[] = "DELETE FROM sessions WHERE user_id = $1";
/* Disabling an administrator must leave one who can still sign in, or no
 * one could manage users through the API again.  Disables take this lock
 * first, so two administrators disabling each other at once are decided
 * one after the other, each counting what the other committed. */
static const char SQL_ADMINS_LOCK[] =
    "SELECT pg_advisory_xact_lock(hashtext('tablecron.admins'))";
static const char SQL_ADMIN_WOULD_REMAIN[] =
    "SELECT NOT u.is_admin OR EXISTS (SELECT 1 FROM users o"
    "  WHERE o.is_admin AND NOT o.disabled AND o.id <> u.id)"
    " FROM users u WHERE u.id = $1";

static const char SQL_DEPARTMENT_BY_ID[] = "SELECT d.id FROM departments d WHERE d.id = $1";
static const char SQL_DEPARTMENT_BY_NAME[] = "SELECT d.id FROM departments d WHERE d.name = $1";
static const char SQL_DEPARTMENT_INSERT[] =
    "INSERT INTO departments AS d (name, description) VALUES ($1, $2)"
    " RETURNING d.id, " DEPARTMENT_IMAGE;

static const char SQL_MEMBER_READ[] =
    "SELECT m.role, " MEMBER_IMAGE " FROM memberships m JOIN users u ON u.id = m.user_id"
    " JOIN departments d ON d.id = m.department_id"
    " WHERE m.user_id = $1 AND m.department_id = $2 FOR UPDATE OF m";
static const char SQL_MEMBER_INSERT[] =
    "INSERT INTO memberships (user_id, department_id, role) VALUES ($1, $2, $3)";
static const char SQL_MEMBER_UPDATE[] =
    "UPDATE memberships SET role = $3 WHERE user_id = $1 AND department_id = $2";
static const char SQL_MEMBER_DELETE[] =
    "DELETE FROM memberships WHERE user_id = $1 AND department_id = $2";

/* The token's hash as api.c computes it to look a bearer token up. */
static const char SQL_TOKEN_INSERT[] =
    "INSERT INTO api_tokens (user_id, name, token_hash, token_prefix, expires_at)"
    " VALUES ($1, $2, encode(sha256(convert_to($3, 'UTF8')), 'hex'), $4,"
    "         CASE WHEN $5::bigint > 0 THEN now() + $5::bigint * interval '1 second' END)"
    " RETURNING id";
static const char SQL_TOKEN_READ[] =
    "SELECT t.user_id, t.revoked_at IS NOT NULL, " TOKEN_IMAGE
    " FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.id = $1 FOR UPDATE OF t";
static const char SQL_TOKEN_REVOKE[] = "UPDATE api_tokens SET revoked_at = now() WHERE id = $1";

/* The longest value quoted in an error message, in bytes. */
#define ECHO_MAX 80

/* One change: its inputs, and where its body reports. */
struct acct_tx {
    int (*body)(struct db *db, struct acct_tx *tx);
    const struct audit_actor *actor; /* borrowed */
    struct account_ref user;           /* borrowed names */
    struct account_ref dept;
    const char *text;                  /* borrowed: login, name, password hash, role, token */
    const char *text2;                 /* borrowed: display name, description, token name */
    int flag;                          /* is_admin, disabled */
    int64_t number;                    /* token ttl, token id */
    int64_t owner_id;                  /* token revoke */
    struct account_result *res;        /* borrowed */
    struct account_error *err;         /* borrowed */
};

static void TC_PRINTF(4, 5)
fail(struct account_error *err, enum account_code code, const char *field, const char *fmt, ...)
{
    va_list ap;

    err->code = code;
    err->field = field;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
}

static void
fail_db(struct db *db, struct account_error *err)
{
    const char *msg = db_last_message(db);

    if (msg[0] == '\0')
        msg = "unknown error";
    /* The first line only: libpq's hints follow on further lines. */
    fail(err, ACCOUNT_FAILED, NULL, "database error: %.*s", (int)strcspn(msg, "\n"), msg);
}

void
account_result_init(struct account_result *res)
{
    memset(res, 0, sizeof(*res));
}

void
account_result_free(struct account_result *res)
{
    if (res == NULL)
        return;
    free(res->image);
    res->image = NULL;
}

/* --- checks --- */

static int
is_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* Characters (UTF-8 code points), not bytes. */
static size_t
char_count(const char *s)
{
    size_t n = 0;

    for (; *s != '\0'; s++) {
        if (((unsigned char)*s & 0xc0) != 0x80)
            n++;
    }
    return n;
}

/* May a value from outside be quoted in a message?  Messages become JSON
 * strings, which must be UTF-8, and stay short; cutting a value could cut
 * a character in two, so a long one is not quoted at all. */
static int
echoable(const char *s)
{
    return strlen(s) <= ECHO_MAX && utf8_valid_str(s);
}

/*
 * A name as the CHECK constraints want it: an ASCII letter or digit, then
 * letters, digits and the characters of more, ACCOUNT_NAME_MAX at most.
 * what and rule name them in the error ("login", "letters, digits and ...").
 */
static int
check_name(const char *name, const char *more, const char *field, const char *what,
           const char *rule, struct account_error *err)
{
    size_t len = strlen(name), i = 1;

    if (len > 0 && len <= ACCOUNT_NAME_MAX && is_alnum(name[0])) {
        while (i < len && (is_alnum(name[i]) || strchr(more, name[i]) != NULL))
            i++;
        if (i == len)
            return 0;
    }
    if (echoable(name))
        fail(err, ACCOUNT_INVALID, field,
             "bad %s '%s': use %s (starting with a letter or digit), at most %d characters",
             what, name, rule, ACCOUNT_NAME_MAX);
    else
        fail(err, ACCOUNT_INVALID, field,
             "bad %s: use %s (starting with a letter or digit), at most %d characters", what,
             rule, ACCOUNT_NAME_MAX);
    return -1;
}

int
account_check_login(const char *login, struct account_error *err)
{
    return check_name(login, "._@-", "login", "login", "letters, digits and . _ @ -", err);
}

int
account_check_department_name(const char *name, struct account_error *err)
{
    return check_name(name, " ._-", "name", "department name",
                      "letters, digits, spaces and . _ -", err);
}

int
account_check_password(const char *password, struct account_error *err)
{
    if (char_count(password) < PASSWORD_MIN_LEN) {
        fail(err, ACCOUNT_INVALID, "password", "the password must have at least %d characters",
             PASSWORD_MIN_LEN);
        return -1;
    }
    if (strlen(password) > ACCOUNT_PASSWORD_MAX) {
        fail(err, ACCOUNT_INVALID, "password", "the password must have at most %d bytes",
             ACCOUNT_PASSWORD_MAX);
        return -1;
    }
    return 0;
}

int
account_check_role(const char *role, struct account_error *err)
{
    if (strcmp(role, "viewer") == 0 || strcmp(role, "operator") == 0 ||
        strcmp(role, "manager") == 0)
        return 0;
    fail(err, ACCOUNT_INVALID, "role", "bad role '%.40s': use viewer, operator or manager", role);
    return -1;
}

/* Free text of at most max characters, without control characters. */
static int
check_text(const char *text, const char *field, const char *what, size_t max,
           struct account_error *err)
{
    if (!utf8_valid_str(text)) {
        fail(err, ACCOUNT_INVALID, field, "the %s must be valid UTF-8", what);
        return -1;
    }
    if (char_count(text) > max) {
        fail(err, ACCOUNT_INVALID, field, "the %s must have at most %zu characters", what, max);
        return -1;
    }
    for (const char *p = text; *p != '\0'; p++) {
        if ((unsigned char)*p < ' ' || *p == 0x7f) {
            fail(err, ACCOUNT_INVALID, field, "the %s must not contain control characters",
                 what);
            return -1;
        }
    }
    return 0;
}

/* --- steps shared by the changes --- */

/* Keep column col of row 0 as the result's image. */
static int
keep_image(struct acct_tx *tx, const PGresult *res, int col)
{
    free(tx->res->image);
    if ((tx->res->image = strdup(PQgetvalue(res, 0, col))) == NULL) {
        fail(tx->err, ACCOUNT_FAILED, NULL, "out of memory");
        return -1;
    }
    return 0;
}

static int
audit(struct db *db, struct acct_tx *tx, const char *action, const char *object_type,
      int64_t object_id, int64_t department_id, const char *before, const char *after)
{
    char object[24];

    snprintf(object, sizeof(object), "%lld", (long long)object_id);
    if (audit_write(db, tx->actor, action, object_type, object, department_id, before, after) < 0) {
        fail_db(db, tx->err);
        return -1;
    }
    return 0;
}

/* A new object: its id, and its image (column col of row) for the result
 * and for the audit row of action (department dept, 0: none). */
static int
record_create(struct db *db, struct acct_tx *tx, int64_t id, const PGresult *row, int col,
              const char *action, const char *object_type, int64_t dept)
{
    tx->res->id = id;
    tx->res->change = ACCOUNT_CREATED;
    if (keep_image(tx, row, col) < 0)
        return -1;
    return audit(db, tx, action, object_type, id, dept, NULL, tx->res->image);
}

/*
 * The row ref names: by id with by_id, else by name with by_name; NULL
 * with NOT_FOUND ("no WHAT ...", on field) when there is none.  A name that
 * is not UTF-8 names nothing (PostgreSQL would answer it with an error).
 */
static PGresult *
find_ref(struct db *db, struct acct_tx *tx, struct account_ref ref, const char *by_id,
         const char *by_name, const char *field, const char *what)
{
    char id[24];
    PGresult *res;

    snprintf(id, sizeof(id), "%lld", (long long)ref.id);
    if (ref.id > 0)
        res = db_query(db, by_id, DB_PARAMS(id));
    else if (utf8_valid_str(ref.name))
        res = db_query(db, by_name, DB_PARAMS(ref.name));
    else
        res = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK); /* no rows */
    if (res == NULL) {
        fail_db(db, tx->err);
        return NULL;
    }
    if (PQntuples(res) == 0) {
        if (ref.id > 0)
            fail(tx->err, ACCOUNT_NOT_FOUND, field, "no %s %s", what, id);
        else if (echoable(ref.name))
            fail(tx->err, ACCOUNT_NOT_FOUND, field, "no %s named '%s'", what, ref.name);
        else
            fail(tx->err, ACCOUNT_NOT_FOUND, field, "no %s by that name", what);
        PQclear(res);
        return NULL;
    }
    return res;
}

/* The user tx->user names, locked (columns: enum user_col). */
static PGresult *
find_user(struct db *db, struct acct_tx *tx)
{
    return find_ref(db, tx, tx->user, SQL_USER_BY_ID, SQL_USER_BY_LOGIN, "login", "user");
}

/* The id of the department tx->dept names. */
static int
find_department(struct db *db, struct acct_tx *tx, int64_t *id)
{
    PGresult *res = find_ref(db, tx, tx->dept, SQL_DEPARTMENT_BY_ID, SQL_DEPARTMENT_BY_NAME,
                             "department", "department");

    if (res == NULL)
        return -1;
    *id = db_get_int64(res, 0, 0, 0);
    PQclear(res);
    return 0;
}

/* db_transaction's view of a change: start from a clean slate, since a
 * serialization failure runs the body again. */
static int
tx_body(struct db *db, void *arg)
{
    struct acct_tx *tx = arg;

    tx->err->code = ACCOUNT_OK;
    tx->err->field = NULL;
    tx->err->msg[0] = '\0';
    account_result_free(tx->res);
    tx->res->id = 0;
    tx->res->change = ACCOUNT_UNCHANGED;
    return tx->body(db, tx);
}

static int
run_tx(struct db *db, struct acct_tx *tx, int (*body)(struct db *db, struct acct_tx *tx))
{
    tx->body = body;
    if (db_transaction(db, tx_body, tx) == 0)
        return 0;
    if (tx->err->code == ACCOUNT_OK)
        fail_db(db, tx->err); /* the commit failed */
    account_result_free(tx->res);
    return -1;
}

static void
tx_init(struct acct_tx *tx, const struct audit_actor *actor, struct account_result *res,
        struct account_error *err)
{
    memset(tx, 0, sizeof(*tx));
    tx->actor = actor;
    tx->res = res;
    tx->err = err;
    account_result_init(res);
    err->code = ACCOUNT_OK;
    err->field = NULL;
    err->msg[0] = '\0';
}

/* --- users --- */

static int
user_create_body(struct db *db, struct acct_tx *tx)
{
    PGresult *res = db_query(db, SQL_USER_INSERT,
                             DB_PARAMS(tx->user.name, tx->text2, tx->text, tx->flag ? "t" : "f"));
    int rc = -1;

    if (res == NULL) {
        if (db_last_error(db) == DB_ERR_UNIQUE)
            fail(tx->err, ACCOUNT_CONFLICT, "login", "a user with login '%.80s' already exists",
                 tx->user.name);
        else if (db_last_error(db) == DB_ERR_CHECK) /* stricter checks came first */
            fail(tx->err, ACCOUNT_INVALID, "login", "the database refused login '%.80s'",
                 tx->user.name);
        else
            fail_db(db, tx->err);
        goto out;
    }
    if (record_create(db, tx, db_get_int64(res, 0, 0, 0), res, 1, "user.create", "user", 0) < 0)
        goto out;
    rc = 0;
out:
    PQclear(res);
    return rc;
}

/* The yescrypt hash of a new password (caller frees), after its checks;
 * NULL with err filled. */
static char *
hash_password(const char *password, struct account_error *err)
{
    char *hash;

    if (account_check_password(password, err) < 0)
        return NULL;
    if ((hash = password_hash(password)) == NULL)
        fail(err, ACCOUNT_FAILED, NULL, "could not hash the password (libcrypt failed)");
    return hash;
}

int
account_user_create(struct db *db, const struct audit_actor *actor, const char *login,
                    const char *display_name, const char *password, int is_admin,
                    struct account_result *res, struct account_error *err)
{
    struct acct_tx tx;
    char *hash = NULL;
    int rc;

    tx_init(&tx, actor, res, err);
    if (display_name == NULL)
        display_name = "";
    if (account_check_login(login, err) < 0 ||
        check_text(display_name, "display_name", "display name", ACCOUNT_DISPLAY_NAME_MAX,
                   err) < 0 ||
        (password != NULL && (hash = hash_password(password, err)) == NULL))
        return -1;
    tx.user.name = login;
    tx.text = hash;
    tx.text2 = display_name;
    tx.flag = is_admin;
    rc = run_tx(db, &tx, user_create_body);
    free(hash);
    return rc;
}

/*
 * Change a user's password (tx->text: the new hash) or, without one, its
 * disabled flag (tx->flag).  Both end the user's sessions, except enabling.
 */
static int
user_update_body(struct db *db, struct acct_tx *tx)
{
    PGresult *user = NULL, *res = NULL;
    const char *id, *action;
    int rc = -1;

    if (tx->text == NULL && tx->flag && db_exec(db, SQL_ADMINS_LOCK, DB_NO_PARAMS) < 0) {
        fail_db(db, tx->err);
        goto out;
    }
    if ((user = find_user(db, tx)) == NULL)
        goto out;
    id = PQgetvalue(user, 0, USER_ID);
    tx->res->id = db_get_int64(user, 0, USER_ID, 0);
    if (tx->text == NULL && tx->flag && !db_get_bool(user, 0, USER_DISABLED)) {
        res = db_query(db, SQL_ADMIN_WOULD_REMAIN, DB_PARAMS(id));
        if (res == NULL) {
            fail_db(db, tx->err);
            goto out;
        }
        if (!db_get_bool(res, 0, 0)) {
            fail(tx->err, ACCOUNT_CONFLICT, NULL,
                 "this is the last enabled administrator: make another one first");
            goto out;
        }
        PQclear(res);
        res = NULL;
    }
    if (tx->text != NULL) {
        action = "user.password";
        res = db_query(db, SQL_USER_PASSWORD, DB_PARAMS(id, tx->text));
    } else if (db_get_bool(user, 0, USER_DISABLED) == tx->flag) {
        rc = keep_image(tx, user, USER_IMAGE_COL); /* already so: nothing to write */
        goto out;
    } else {
        action = tx->flag ? "user.disable" : "user.enable";
        res = db_query(db, SQL_USER_DISABLED, DB_PARAMS(id, tx->flag ? "t" : "f"));
    }
    if (res == NULL ||
        ((tx->text != NULL || tx->flag) && db_exec(db, SQL_SESSIONS_END, DB_PARAMS(id)) < 0)) {
        fail_db(db, tx->err);
        goto out;
    }
    tx->res->change = ACCOUNT_UPDATED;
    if (keep_image(tx, res, 0) < 0 || audit(db, tx, action, "user", tx->res->id, 0,
                                            PQgetvalue(user, 0, USER_IMAGE_COL),
                                            tx->res->image) < 0)
        goto out;
    rc = 0;
out:
    PQclear(res);
    PQclear(user);
    return rc;
}

int
account_user_set_password(struct db *db, const struct audit_actor *actor,
                          struct account_ref user, const char *password,
                          struct account_result *res, struct account_error *err)
{
    struct acct_tx tx;
    char *hash;
    int rc;

    tx_init(&tx, actor, res, err);
    if ((hash = hash_password(password, err)) == NULL)
        return -1;
    tx.user = user;
    tx.text = hash;
    rc = run_tx(db, &tx, user_update_body);
    free(hash);
    return rc;
}

int
account_user_set_disabled(struct db *db, const struct audit_actor *actor,
                          struct account_ref user, int disabled, struct account_result *res,
                          struct account_error *err)
{
    struct acct_tx tx;

    tx_init(&tx, actor, res, err);
    tx.user = user;
    tx.flag = disabled != 0;
    return run_tx(db, &tx, user_update_body);
}

/* --- departments --- */

static int
department_create_body(struct db *db, struct acct_tx *tx)
{
    PGresult *res = db_query(db, SQL_DEPARTMENT_INSERT, DB_PARAMS(tx->text, tx->text2));
    int64_t id;
    int rc = -1;

    if (res == NULL) {
        if (db_last_error(db) == DB_ERR_UNIQUE)
            fail(tx->err, ACCOUNT_CONFLICT, "name", "a department named '%.80s' already exists",
                 tx->text);
        else if (db_last_error(db) == DB_ERR_CHECK)
            fail(tx->err, ACCOUNT_INVALID, "name", "the database refused department name"
                 " '%.80s'", tx->text);
        else
            fail_db(db, tx->err);
        goto out;
    }
    id = db_get_int64(res, 0, 0, 0);
    if (record_create(db, tx, id, res, 1, "department.create", "department", id) < 0)
        goto out;
    rc = 0;
out:
    PQclear(res);
    return rc;
}

int
account_department_create(struct db *db, const struct audit_actor *actor, const char *name,
                          const char *description, struct account_result *res,
                          struct account_error *err)
{
    struct acct_tx tx;

    tx_init(&tx, actor, res, err);
    if (description == NULL)
        description = "";
    if (account_check_department_name(name, err) < 0 ||
        check_text(description, "description", "description", ACCOUNT_DESCRIPTION_MAX, err) < 0)
        return -1;
    tx.text = name;
    tx.text2 = description;
    return run_tx(db, &tx, department_create_body);
}

/* --- memberships --- */

/*
 * The membership of tx->user in tx->dept: *user_id and *dept_id found, and
 * the row (locked) or NULL with *member 0 when there is none.  -1 when the
 * user or department does not exist.
 */
static int
find_membership(struct db *db, struct acct_tx *tx, char *user_id, char *dept_id, size_t size,
                PGresult **row)
{
    PGresult *user;
    int64_t dept;

    *row = NULL;
    if ((user = find_user(db, tx)) == NULL)
        return -1;
    snprintf(user_id, size, "%s", PQgetvalue(user, 0, USER_ID));
    tx->res->id = db_get_int64(user, 0, USER_ID, 0);
    PQclear(user);
    if (find_department(db, tx, &dept) < 0)
        return -1;
    snprintf(dept_id, size, "%lld", (long long)dept);
    if ((*row = db_query(db, SQL_MEMBER_READ, DB_PARAMS(user_id, dept_id))) == NULL) {
        fail_db(db, tx->err);
        return -1;
    }
    if (PQntuples(*row) == 0) {
        PQclear(*row);
        *row = NULL;
    }
    return 0;
}

/* tx->text: the role. */
static int
member_set_body(struct db *db, struct acct_tx *tx)
{
    PGresult *before = NULL, *after = NULL;
    char user[24], dept[24];
    int rc = -1;

    if (find_membership(db, tx, user, dept, sizeof(user), &before) < 0)
        goto out;
    if (before != NULL && strcmp(PQgetvalue(before, 0, 0), tx->text) == 0) {
        rc = keep_image(tx, before, 1); /* that role already: nothing to write */
        goto out;
    }
    if (db_exec(db, before != NULL ? SQL_MEMBER_UPDATE : SQL_MEMBER_INSERT,
                DB_PARAMS(user, dept, tx->text)) < 0) {
        if (db_last_error(db) == DB_ERR_UNIQUE || db_last_error(db) == DB_ERR_FOREIGN)
            fail(tx->err, ACCOUNT_CONFLICT, NULL,
                 "the membership was changed at the same time; try again");
        else
            fail_db(db, tx->err);
        goto out;
    }
    if ((after = db_query(db, SQL_MEMBER_READ, DB_PARAMS(user, dept))) == NULL) {
        fail_db(db, tx->err);
        goto out;
    }
    tx->res->change = before != NULL ? ACCOUNT_UPDATED : ACCOUNT_CREATED;
    if (keep_image(tx, after, 1) < 0 ||
        audit(db, tx, before != NULL ? "member.update" : "member.add", "member", tx->res->id,
              strtoll(dept, NULL, 10), before != NULL ? PQgetvalue(before, 0, 1) : NULL,
              tx->res->image) < 0)
        goto out;
    rc = 0;
out:
    PQclear(after);
    PQclear(before);
    return rc;
}

int
account_member_set(struct db *db, const struct audit_actor *actor, struct account_ref dept,
                   struct account_ref user, const char *role, struct account_result *res,
                   struct account_error *err)
{
    struct acct_tx tx;

    tx_init(&tx, actor, res, err);
    if (account_check_role(role, err) < 0)
        return -1;
    tx.dept = dept;
    tx.user = user;
    tx.text = role;
    return run_tx(db, &tx, member_set_body);
}

static int
member_remove_body(struct db *db, struct acct_tx *tx)
{
    PGresult *before = NULL;
    char user[24], dept[24];
    int rc = -1;

    if (find_membership(db, tx, user, dept, sizeof(user), &before) < 0)
        goto out;
    if (before == NULL) {
        const char *who = tx->user.name != NULL ? tx->user.name : "the user";

        if (tx->dept.name != NULL)
            fail(tx->err, ACCOUNT_NOT_FOUND, "login", "'%.80s' is not a member of '%.80s'", who,
                 tx->dept.name);
        else
            fail(tx->err, ACCOUNT_NOT_FOUND, "login", "'%.80s' is not a member of department %s",
                 who, dept);
        goto out;
    }
    if (db_exec(db, SQL_MEMBER_DELETE, DB_PARAMS(user, dept)) < 0) {
        fail_db(db, tx->err);
        goto out;
    }
    tx->res->change = ACCOUNT_REMOVED;
    if (keep_image(tx, before, 1) < 0 ||
        audit(db, tx, "member.remove", "member", tx->res->id, strtoll(dept, NULL, 10),
              tx->res->image, NULL) < 0)
        goto out;
    rc = 0;
out:
    PQclear(before);
    return rc;
}

int
account_member_remove(struct db *db, const struct audit_actor *actor, struct account_ref dept,
                      struct account_ref user, struct account_result *res,
                      struct account_error *err)
{
    struct acct_tx tx;

    tx_init(&tx, actor, res, err);
    tx.dept = dept;
    tx.user = user;
    return run_tx(db, &tx, member_remove_body);
}

/* --- tokens --- */

/* Read token id (locked) with its image; NOT_FOUND if none. */
static PGresult *
find_token(struct db *db, struct acct_tx *tx, const char *id)
{
    PGresult *res = db_query(db, SQL_TOKEN_READ, DB_PARAMS(id));

    if (res == NULL) {
        fail_db(db, tx->err);
        return NULL;
    }
    if (PQntuples(res) == 0) {
        fail(tx->err, ACCOUNT_NOT_FOUND, "id", "no token %s", id);
        PQclear(res);
        return NULL;
    }
    return res;
}

/* tx->text: the token, tx->text2: its name, tx->number: ttl in seconds. */
static int
token_create_body(struct db *db, struct acct_tx *tx)
{
    PGresult *user = NULL, *res = NULL, *after = NULL;
    char prefix[ACCOUNT_TOKEN_PREFIX_LEN + 1], ttl[24];
    int rc = -1;

    if ((user = find_user(db, tx)) == NULL)
        goto out;
    if (db_get_bool(user, 0, USER_DISABLED)) {
        fail(tx->err, ACCOUNT_CONFLICT, "login", "the user is disabled: enable it first");
        goto out;
    }
    snprintf(prefix, sizeof(prefix), "%s", tx->text);
    snprintf(ttl, sizeof(ttl), "%lld", (long long)tx->number);
    res = db_query(db, SQL_TOKEN_INSERT,
                   DB_PARAMS(PQgetvalue(user, 0, USER_ID), tx->text2, tx->text, prefix, ttl));
    if (res == NULL) {
        fail_db(db, tx->err);
        goto out;
    }
    if ((after = find_token(db, tx, PQgetvalue(res, 0, 0))) == NULL)
        goto out;
    if (record_create(db, tx, db_get_int64(res, 0, 0, 0), after, 2, "token.create", "token",
                      0) < 0)
        goto out;
    rc = 0;
out:
    PQclear(after);
    PQclear(res);
    PQclear(user);
    return rc;
}

int
account_token_create(struct db *db, const struct audit_actor *actor, struct account_ref user,
                     const char *name, int64_t ttl_s, char *token, size_t size,
                     struct account_result *res, struct account_error *err)
{
    struct acct_tx tx;
    int rc;

    tx_init(&tx, actor, res, err);
    if (name == NULL)
        name = "";
    if (check_text(name, "name", "token name", ACCOUNT_TOKEN_NAME_MAX, err) < 0)
        return -1;
    if (ttl_s < 0 || ttl_s > ACCOUNT_TOKEN_TTL_MAX_S) {
        fail(err, ACCOUNT_INVALID, "expires_in_s",
             "a token's lifetime must be from 1 s to %lld s (ten years), or none",
             ACCOUNT_TOKEN_TTL_MAX_S);
        return -1;
    }
    if (size < ACCOUNT_TOKEN_SIZE || password_random_token("tc_", token, size) < 0) {
        fail(err, ACCOUNT_FAILED, NULL, "no random numbers for the token");
        return -1;
    }
    tx.user = user;
    tx.text = token;
    tx.text2 = name;
    tx.number = ttl_s;
    rc = run_tx(db, &tx, token_create_body);
    if (rc < 0)
        explicit_bzero(token, size); /* never used: no copy left behind */
    return rc;
}

/* tx->number: the token's id. */
static int
token_revoke_body(struct db *db, struct acct_tx *tx)
{
    PGresult *before = NULL, *after = NULL;
    char id[24];
    int rc = -1;

    snprintf(id, sizeof(id), "%lld", (long long)tx->number);
    if ((before = find_token(db, tx, id)) == NULL)
        goto out;
    /* Someone else's token looks like no token: ids cannot be probed. */
    if (tx->owner_id > 0 && db_get_int64(before, 0, 0, 0) != tx->owner_id) {
        fail(tx->err, ACCOUNT_NOT_FOUND, "id", "no token %s", id);
        goto out;
    }
    tx->res->id = tx->number;
    if (db_get_bool(before, 0, 1)) {
        rc = keep_image(tx, before, 2); /* revoked already */
        goto out;
    }
    if (db_exec(db, SQL_TOKEN_REVOKE, DB_PARAMS(id)) < 0 ||
        (after = db_query(db, SQL_TOKEN_READ, DB_PARAMS(id))) == NULL) {
        fail_db(db, tx->err);
        goto out;
    }
    tx->res->change = ACCOUNT_REMOVED;
    if (keep_image(tx, after, 2) < 0 || audit(db, tx, "token.revoke", "token", tx->number, 0,
                                              PQgetvalue(before, 0, 2), tx->res->image) < 0)
        goto out;
    rc = 0;
out:
    PQclear(after);
    PQclear(before);
    return rc;
}

int
account_token_revoke(struct db *db, const struct audit_actor *actor, int64_t id,
                     int64_t owner_id, struct account_result *res, struct account_error *err)
{
    struct acct_tx tx;

    tx_init(&tx, actor, res, err);
    tx.number = id;
    tx.owner_id = owner_id;
    return run_tx(db, &tx, token_revoke_body);
}
