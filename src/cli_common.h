/* cli_common.h - what the operator commands share: options, error lines,
 * aligned tables and JSON documents.
 *
 * The operator commands (job, history, instances) print for two readers:
 * people get aligned columns with times as 2026-03-08T03:00:00Z, scripts
 * get one JSON document on stdout with --json.  Both are built from the
 * same query result, so they never disagree.  Errors are one line on
 * stderr that starts with "tablecron: ".
 *
 * Exit codes: 0 ok, 1 failure at run time (not found, conflict, database
 * unreachable), 2 bad usage or bad input.
 */
#ifndef TC_CLI_COMMON_H
#define TC_CLI_COMMON_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common.h"
#include "config.h"
#include "db.h"

#define CLI_EXIT_OK 0
#define CLI_EXIT_FAILED 1
#define CLI_EXIT_USAGE 2

/* A timestamptz column as ISO 8601 UTC with a Z (see db.h). */
#define CLI_SQL_UTC(col) DB_SQL_UTC(col)

/* One option of a command.  value NULL makes it a flag (sets *flag). */
struct cli_opt {
    const char *name;   /* "--schedule" */
    const char **value; /* borrowed from argv; NULL for a flag */
    int *flag;          /* set to 1 for a flag; NULL for an option with a value */
};

/*
 * Parse argv[first..] against opts: "--name VALUE", "--name=VALUE", flags,
 * "--" ends the options.  Positional arguments go to args (at most
 * max_args).  Returns 0, 1 when --help or -h was given (nothing else is
 * checked), or -1 after printing one error line (exit 2).  cmd names the
 * command in messages ("job add").
 */
int cli_parse(const char *cmd, int argc, char **argv, int first, const struct cli_opt *opts,
              size_t nopts, const char **args, int max_args, int *nargs) TC_MUST_CHECK;

/* A repeatable option: each "--name VALUE" appends VALUE, in order. */
struct cli_list {
    const char *name;   /* "--header" */
    const char **items; /* owned array (cli_list_reset frees it) of values borrowed from argv */
    size_t n;
};

/* cli_parse, and the options in lists (initialised with their name only)
 * may be given any number of times.  The lists are filled even when it
 * fails: cli_list_reset each one afterwards. */
int cli_parse_lists(const char *cmd, int argc, char **argv, int first, const struct cli_opt *opts,
                    size_t nopts, struct cli_list *lists, size_t nlists, const char **args,
                    int max_args, int *nargs) TC_MUST_CHECK;

/* Free the list's array and empty it; the name stays. */
void cli_list_reset(struct cli_list *list);

/* "tablecron: " + the message + newline, on stderr. */
void cli_error(const char *fmt, ...) TC_PRINTF(1, 2);

/* Connect as the one-shot commands do (15 s of retries).  NULL after
 * printing the error line. */
struct db *cli_connect(const struct config *cfg);

/* The error line for a failed statement: "tablecron: database error: ...". */
void cli_db_error(struct db *db);

/* "2026-03-08T03:00:00Z" for an instant (seconds since the epoch). */
void cli_format_utc(int64_t t, char *buf, size_t size);

/* A run time for people: "0.42s", "12.30s", "2m5s", "1h2m3s". */
void cli_format_ms(int64_t ms, char *buf, size_t size);

/* An aligned text table: a header line, then one line per row. */
struct cli_table; /* opaque */

struct cli_table *cli_table_new(size_t ncols, const char *const *headers);
/* Copies the cells; a NULL cell shows as "-", control characters as
 * spaces, and only the first line of a multi-line cell is kept. */
int cli_table_add(struct cli_table *t, const char *const *cells) TC_MUST_CHECK;
int cli_table_print(const struct cli_table *t, FILE *out) TC_MUST_CHECK;
void cli_table_free(struct cli_table *t); /* NULL is fine */

/* One result row as a JSON object named and typed by its columns, as the
 * API makes them (pgjson_row: '_' columns are left out).  Returns a new
 * reference, NULL on OOM. */
json_t *cli_json_row(const PGresult *res, int row);
json_t *cli_json_rows(const PGresult *res); /* an array of cli_json_row */

/* Print doc (borrowed) on stdout, indented, with a final newline. */
int cli_json_print(const json_t *doc) TC_MUST_CHECK;

/*
 * The answer of a listing: with json, the rows as a JSON array (or row 0 as
 * an object when single); otherwise print(res) draws the human form.
 */
int cli_output(const PGresult *res, int json, int single, int (*print)(const PGresult *res))
    TC_MUST_CHECK;

/* Run a listing's query on db and print its answer with cli_output (an
 * error line if the query fails).  Returns the exit code. */
int cli_query_output(struct db *db, const char *sql, int nparams, const char *const *params,
                     int json, int (*print)(const PGresult *res));

/* The value of column `name` in a row, or NULL when it is NULL (borrowed). */
const char *cli_field(const PGresult *res, int row, const char *name);

/* An aligned table on stdout of the given columns of res, under headers
 * (as many as columns), one line per row. */
int cli_print_columns(const PGresult *res, const char *const *headers,
                      const char *const *columns, size_t ncols) TC_MUST_CHECK;

/* "cli:" + the Unix user running the command: audit_log.actor of changes
 * made from the command line (the database role may be shared). */
void cli_actor(char *buf, size_t size);

/* --- command groups: `tablecron GROUP COMMAND [args]` --- */

struct cli_cmd {
    const char *name; /* "add" */
    /* argv[0] is the group, argv[1] the command; returns the exit code. */
    int (*run)(const struct cli_cmd *cmd, struct config *cfg, int argc, char **argv);
    const char *summary; /* one line for 'tablecron GROUP --help' */
    const char *usage;   /* argument synopsis after "tablecron GROUP NAME" */
    const char *help;    /* what it does, then its options */
};

/*
 * Run command argv[1] of group argv[0] from cmds ("list" finds "ls").
 * Without a command, or with --help or help, prints the group's commands
 * and footer (a closing paragraph, may be NULL).
 */
int cli_dispatch(const struct cli_cmd *cmds, size_t ncmds, const char *footer,
                 struct config *cfg, int argc, char **argv);

/*
 * cli_parse for a command of a group (argv[0] the group, argv[1] cmd):
 * prints the command's usage for --help, and refuses fewer than min_args
 * positional arguments.  Returns -1 to go on, or the exit code to return.
 */
int cli_cmd_parse(const struct cli_cmd *cmd, int argc, char **argv, const struct cli_opt *opts,
                  size_t nopts, const char **args, int min_args, int max_args, int *nargs);

#endif
