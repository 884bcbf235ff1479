/* db.c - one libpq connection with reconnect, parameterised queries,
 * transactions and SQLSTATE classes.
 *
 * Errors are logged here, once, with the SQLSTATE and the server's own
 * words; callers only decide what to do next.  The connection string is
 * never logged (it may hold a password): we log host, port and database.
 */
#include <autoconfig.h>

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db.h"
#include "log.h"
#include "metrics.h"

#define BACKOFF_FIRST_MS 100
#define BACKOFF_MAX_MS 5000
#define TX_RETRIES 3
#define PREPARED_MAX 32 /* statements a connection prepares; more run unprepared */

struct db {
    char *conninfo;          /* owned */
    PGconn *conn;            /* owned; NULL when disconnected */
    atomic_int stop;         /* set by db_stop_retrying() */
    int (*on_connect)(struct db *db, void *arg);
    void *on_connect_arg;    /* borrowed */
    enum db_error last_error;
    char last_sqlstate[6];
    char last_message[256];
    /* Statements prepared on this connection (db_query_prepared), by the
     * address of their text; forgotten on every (re)connect. */
    const char *prepared[PREPARED_MAX]; /* borrowed: static strings */
    int nprepared;
};

static int64_t
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
sleep_ms(int64_t ms)
{
    struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000 };

    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

struct db *
db_new(const char *conninfo)
{
    struct db *db = calloc(1, sizeof(*db));

    if (db == NULL)
        return NULL;
    if ((db->conninfo = strdup(conninfo != NULL ? conninfo : "")) == NULL) {
        free(db);
        return NULL;
    }
    return db;
}

void
db_free(struct db *db)
{
    if (db == NULL)
        return;
    if (db->conn != NULL)
        PQfinish(db->conn);
    /* The string may hold a password: do not leave it in freed memory. */
    explicit_bzero(db->conninfo, strlen(db->conninfo));
    free(db->conninfo);
    free(db);
}

void
db_stop_retrying(struct db *db)
{
    atomic_store(&db->stop, 1);
}

int
db_is_connected(const struct db *db)
{
    return db->conn != NULL && PQstatus(db->conn) == CONNECTION_OK;
}

PGconn *
db_conn(struct db *db)
{
    return db_is_connected(db) ? db->conn : NULL;
}

static void
set_last(struct db *db, enum db_error error, const char *sqlstate, const char *message)
{
    db->last_error = error;
    snprintf(db->last_sqlstate, sizeof(db->last_sqlstate), "%s", sqlstate != NULL ? sqlstate : "");
    snprintf(db->last_message, sizeof(db->last_message), "%s", message != NULL ? message : "");
    /* libpq messages end in a newline; a log field should not. */
    size_t len = strlen(db->last_message);
    while (len > 0 && (db->last_message[len - 1] == '\n' || db->last_message[len - 1] == ' '))
        db->last_message[--len] = '\0';
}

/* Server notices ("relation already exists, skipping") are not errors:
 * keep them out of stderr unless debugging. */
static void
on_notice(void *arg, const char *message)
{
    char text[256];
    size_t len;

    (void)arg;
    snprintf(text, sizeof(text), "%s", message);
    len = strlen(text);
    while (len > 0 && text[len - 1] == '\n')
        text[--len] = '\0';
    log_debug("server notice", "notice=%s", text);
}

/* One connection attempt; 0 on success. */
static int
connect_once(struct db *db)
{
    /* fallback_application_name lets the user's own conninfo win. */
    const char *const keys[] = { "dbname", "fallback_application_name", "connect_timeout", NULL };
    const char *const vals[] = { db->conninfo, "tablecron", "10", NULL };
    PGconn *conn;

    if (db->conn != NULL) {
        PQfinish(db->conn);
        db->conn = NULL;
    }
    conn = PQconnectdbParams(keys, vals, 1);
    if (conn == NULL) {
        set_last(db, DB_ERR_CONNECTION, "", "out of memory");
        return -1;
    }
    if (PQstatus(conn) != CONNECTION_OK) {
        set_last(db, DB_ERR_CONNECTION, "08001", PQerrorMessage(conn));
        PQfinish(conn);
        return -1;
    }
    PQsetNoticeProcessor(conn, on_notice, NULL);
    db->conn = conn;
    db->nprepared = 0; /* a new session has none of them */
    set_last(db, DB_OK, "", "");
    if (db->on_connect != NULL && db->on_connect(db, db->on_connect_arg) < 0) {
        PQfinish(db->conn);
        db->conn = NULL;
        if (db->last_error == DB_OK)
            set_last(db, DB_ERR_CONNECTION, "", "session set-up failed");
        return -1;
    }
    return 0;
}

void
db_on_connect(struct db *db, int (*fn)(struct db *db, void *arg), void *arg)
{
    db->on_connect = fn;
    db->on_connect_arg = arg;
}

int
db_socket(struct db *db)
{
    return db_is_connected(db) ? PQsocket(db->conn) : -1;
}

int
db_take_notifies(struct db *db)
{
    PGnotify *n;
    int got = 0;

    if (!db_is_connected(db))
        return -1;
    if (PQconsumeInput(db->conn) == 0) {
        set_last(db, DB_ERR_CONNECTION, "08006", PQerrorMessage(db->conn));
        log_warn("lost database connection", "error=%s", db->last_message);
        return -1;
    }
    while ((n = PQnotifies(db->conn)) != NULL) {
        got = 1;
        PQfreemem(n);
    }
    return got;
}

int
db_connect(struct db *db, int64_t give_up_ms)
{
    int64_t start = now_ms();
    int64_t backoff = BACKOFF_FIRST_MS;
    int attempt = 0;

    atomic_store(&db->stop, 0);
    for (;;) {
        attempt++;
        if (connect_once(db) == 0) {
            log_msg(attempt > 1 ? LOG_INFO : LOG_DEBUG, "connected to database",
                    "host=%s port=%s db=%s attempts=%d", PQhost(db->conn), PQport(db->conn),
                    PQdb(db->conn), attempt);
            return 0;
        }
        if (attempt == 1 || log_enabled(LOG_DEBUG))
            log_warn("cannot connect to database", "error=%s attempt=%d", db->last_message,
                     attempt);
        if (atomic_load(&db->stop))
            break;
        if (give_up_ms >= 0 && now_ms() - start + backoff > give_up_ms)
            break;
        sleep_ms(backoff);
        backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
    }
    log_error("giving up connecting to database", "error=%s attempts=%d", db->last_message,
              attempt);
    return -1;
}

static enum db_error
classify(const char *sqlstate)
{
    if (sqlstate == NULL || sqlstate[0] == '\0')
        return DB_ERR_OTHER;
    if (strncmp(sqlstate, "08", 2) == 0 || strncmp(sqlstate, "57P0", 4) == 0)
        return DB_ERR_CONNECTION;
    if (strcmp(sqlstate, "23505") == 0)
        return DB_ERR_UNIQUE;
    /* 23T01: a job dependency that would close a cycle (0008_dependencies.sql). */
    if (strcmp(sqlstate, "23514") == 0 || strcmp(sqlstate, "23502") == 0 ||
        strcmp(sqlstate, "22P02") == 0 || strcmp(sqlstate, "23T01") == 0)
        return DB_ERR_CHECK;
    if (strcmp(sqlstate, "23503") == 0)
        return DB_ERR_FOREIGN;
    if (strcmp(sqlstate, "40001") == 0 || strcmp(sqlstate, "40P01") == 0)
        return DB_ERR_RETRY;
    return DB_ERR_OTHER;
}

/* Before a statement: reconnect once if the last one found the link dead. */
static int
ensure_connected(struct db *db)
{
    if (db_is_connected(db))
        return 0;
    if (connect_once(db) == 0) {
        log_info("reconnected to database", "host=%s db=%s", PQhost(db->conn), PQdb(db->conn));
        return 0;
    }
    log_warn("database unavailable", "error=%s", db->last_message);
    return -1;
}

/* Turn a result into success (0) or a logged, classified error (-1). */
static int
check_result(struct db *db, PGresult *res, const char *sql)
{
    ExecStatusType st = res != NULL ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    const char *sqlstate, *primary, *detail;
    enum db_error cls;

    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
        set_last(db, DB_OK, "", "");
        return 0;
    }
    sqlstate = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    primary = res != NULL ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    detail = res != NULL ? PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL) : NULL;
    if (primary == NULL)
        primary = PQerrorMessage(db->conn);
    cls = classify(sqlstate);
    if (PQstatus(db->conn) != CONNECTION_OK)
        cls = DB_ERR_CONNECTION;
    set_last(db, cls, sqlstate, primary);
    metrics_add(METRIC_DB_ERRORS, 1);

    /* Constraint violations are expected answers (the caller turns them into
     * a user-facing error); everything else is worth a warning. */
    if (cls == DB_ERR_UNIQUE || cls == DB_ERR_CHECK || cls == DB_ERR_FOREIGN)
        log_debug("statement refused", "sqlstate=%s error=%s detail=%s", db->last_sqlstate,
                  db->last_message, detail != NULL ? detail : "");
    else if (cls == DB_ERR_CONNECTION)
        log_warn("lost database connection", "error=%s", db->last_message);
    else
        log_error("statement failed", "sqlstate=%s error=%s detail=%s statement=%.60s",
                  db->last_sqlstate, db->last_message, detail != NULL ? detail : "", sql);
    return -1;
}

PGresult *
db_query(struct db *db, const char *sql, int nparams, const char *const *params)
{
    PGresult *res;

    if (ensure_connected(db) < 0)
        return NULL;
    res = PQexecParams(db->conn, sql, nparams, NULL, params, NULL, NULL, 0);
    if (check_result(db, res, sql) < 0) {
        PQclear(res);
        return NULL;
    }
    return res;
}

PGresult *
db_query_prepared(struct db *db, const char *sql, int nparams, const char *const *params)
{
    char name[16];
    PGresult *res;
    int i;

    if (ensure_connected(db) < 0)
        return NULL;
    for (i = 0; i < db->nprepared && db->prepared[i] != sql; i++)
        ;
    if (i == db->nprepared) {
        if (i == PREPARED_MAX)
            return db_query(db, sql, nparams, params);
        snprintf(name, sizeof(name), "tc_%d", i);
        res = PQprepare(db->conn, name, sql, nparams, NULL);
        if (check_result(db, res, sql) < 0) {
            PQclear(res);
            return NULL;
        }
        PQclear(res);
        db->prepared[db->nprepared++] = sql;
    }
    snprintf(name, sizeof(name), "tc_%d", i);
    res = PQexecPrepared(db->conn, name, nparams, params, NULL, NULL, 0);
    if (check_result(db, res, sql) < 0) {
        PQclear(res);
        return NULL;
    }
    return res;
}

int
db_exec(struct db *db, const char *sql, int nparams, const char *const *params)
{
    PGresult *res = db_query(db, sql, nparams, params);

    if (res == NULL)
        return -1;
    PQclear(res);
    return 0;
}

int
db_exec_script(struct db *db, const char *script)
{
    PGresult *res;
    int rc;

    if (ensure_connected(db) < 0)
        return -1;
    res = PQexec(db->conn, script);
    rc = check_result(db, res, "(script)");
    PQclear(res);
    return rc;
}

int
db_begin(struct db *db)
{
    return db_exec(db, "BEGIN", DB_NO_PARAMS);
}

int
db_commit(struct db *db)
{
    return db_exec(db, "COMMIT", DB_NO_PARAMS);
}

void
db_rollback(struct db *db)
{
    PGresult *res;

    if (!db_is_connected(db))
        return; /* the server already dropped the transaction */
    res = PQexec(db->conn, "ROLLBACK");
    PQclear(res);
}

int
db_transaction(struct db *db, int (*fn)(struct db *db, void *arg), void *arg)
{
    for (int attempt = 1;; attempt++) {
        if (db_begin(db) < 0)
            return -1;
        if (fn(db, arg) == 0 && db_commit(db) == 0)
            return 0;
        db_rollback(db);
        if (db->last_error != DB_ERR_RETRY || attempt >= TX_RETRIES)
            return -1;
        log_info("retrying transaction", "sqlstate=%s attempt=%d", db->last_sqlstate, attempt + 1);
    }
}

enum db_error
db_last_error(const struct db *db)
{
    return db->last_error;
}

const char *
db_last_sqlstate(const struct db *db)
{
    return db->last_sqlstate;
}

const char *
db_last_message(const struct db *db)
{
    return db->last_message;
}

int64_t
db_get_int64(const PGresult *res, int row, int col, int64_t dflt)
{
    if (PQgetisnull(res, row, col))
        return dflt;
    return strtoll(PQgetvalue(res, row, col), NULL, 10);
}

int
db_get_bool(const PGresult *res, int row, int col)
{
    return !PQgetisnull(res, row, col) && PQgetvalue(res, row, col)[0] == 't';
}
