/* db.h - the PostgreSQL connection: the only place PQconnect* appears.
 *
 * A struct db owns one libpq connection.  It connects with retry and
 * backoff, notices when the server went away, and reconnects on the next
 * call.  Queries are parameterised only: values never become SQL text.
 */
#ifndef TC_DB_H
#define TC_DB_H

#include <libpq-fe.h>
#include <stdint.h>

#include "common.h"

struct db; /* opaque */

enum db_error {
    DB_OK = 0,
    DB_ERR_CONNECTION, /* server unreachable or connection lost (class 08, 57P0x) */
    DB_ERR_UNIQUE,     /* 23505 */
    DB_ERR_CHECK,      /* 23514, 23502: a constraint said no */
    DB_ERR_FOREIGN,    /* 23503 */
    DB_ERR_RETRY,      /* 40001, 40P01: serialization failure or deadlock */
    DB_ERR_OTHER,
};

/* conninfo: any libpq connection string or URI; "" uses the PG* environment.
 * The string is copied.  Nothing is connected yet. */
struct db *db_new(const char *conninfo);
void db_free(struct db *db); /* NULL is fine */

/*
 * Connect, retrying with exponential backoff (0.1 s doubling to 5 s) until
 * `give_up_ms` has passed (0 = try once, <0 = keep trying until
 * db_stop_retrying() is called).  Every failed attempt is logged once.
 */
int db_connect(struct db *db, int64_t give_up_ms) TC_MUST_CHECK;

/* Make a blocking db_connect() in another thread return (signal safe). */
void db_stop_retrying(struct db *db);

/*
 * Call fn after every successful (re)connect, before any other statement:
 * session settings and LISTEN do not survive a reconnect.  If fn fails the
 * connection is dropped and the connect counts as failed.
 */
void db_on_connect(struct db *db, int (*fn)(struct db *db, void *arg), void *arg);

/* Connected and usable right now? */
int db_is_connected(const struct db *db);

/*
 * Run one statement with text parameters ($1...; NULL values are SQL NULL).
 * Returns the result when it succeeded (caller PQclears it), NULL on error:
 * the error is logged with its SQLSTATE and kept for db_last_error().  If the
 * connection was lost the next call reconnects first (one attempt, so a
 * caller's loop decides how long to keep going).
 */
PGresult *db_query(struct db *db, const char *sql, int nparams, const char *const *params)
    TC_MUST_CHECK;

/*
 * db_query() of a statement prepared once per connection: the server parses
 * and plans it once instead of on every call, which matters for the
 * scheduler's few statements run thousands of times a second.  sql must be
 * a string constant: it is known by its address.
 */
PGresult *db_query_prepared(struct db *db, const char *sql, int nparams,
                            const char *const *params) TC_MUST_CHECK;

/* db_query() that only reports success; for statements without rows. */
int db_exec(struct db *db, const char *sql, int nparams, const char *const *params)
    TC_MUST_CHECK;

/* Run a trusted multi-statement script (a migration file), no parameters. */
int db_exec_script(struct db *db, const char *script) TC_MUST_CHECK;

/* Transactions: BEGIN / COMMIT / ROLLBACK (rollback never fails loudly). */
int db_begin(struct db *db) TC_MUST_CHECK;
int db_commit(struct db *db) TC_MUST_CHECK;
void db_rollback(struct db *db);

/*
 * Run fn inside a transaction: commit if it returns 0, roll back otherwise.
 * Serialization failures and deadlocks are retried up to three times.
 */
int db_transaction(struct db *db, int (*fn)(struct db *db, void *arg), void *arg) TC_MUST_CHECK;

enum db_error db_last_error(const struct db *db);
const char *db_last_sqlstate(const struct db *db); /* "" if none */
const char *db_last_message(const struct db *db);  /* primary message, "" if none */

/* The raw connection, for LISTEN sockets and COPY; NULL when disconnected. */
PGconn *db_conn(struct db *db);

/* The socket to poll for notifications, or -1 when disconnected. */
int db_socket(struct db *db);

/*
 * Read what the server sent while we were idle and report whether a
 * NOTIFY arrived on any channel (1), none (0), or the connection broke (-1;
 * the next query reconnects).  Never blocks.
 */
int db_take_notifies(struct db *db);

/* A column as int64 (NULL gives dflt) and as a bool ("t"). */
int64_t db_get_int64(const PGresult *res, int row, int col, int64_t dflt);
int db_get_bool(const PGresult *res, int row, int col);

/* SQL text (a constant, never a value) for a timestamptz column as ISO 8601
 * UTC with a Z, the one time format of the listings and the API; NULL stays
 * NULL. */
#define DB_SQL_UTC(col) \
    "to_char((" col ") AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

/* Build the parameter count and array of db_query() from a list of strings. */
#define DB_PARAMS(...) \
    (int)(sizeof((const char *const[]){ __VA_ARGS__ }) / sizeof(const char *)), \
        (const char *const[]){ __VA_ARGS__ }
#define DB_NO_PARAMS 0, NULL

#endif
