/* cli_history.h - `tablecron history`: executions, newest first, and one
 * execution with its whole output.
 *
 *   tablecron history [--job NAME] [--status S] [--limit N] [--json]
 *   tablecron history show ID [--json]
 *
 * `job show` lists a job's latest executions through the same query.
 */
#ifndef TC_CLI_HISTORY_H
#define TC_CLI_HISTORY_H

#include <libpq-fe.h>
#include <stdint.h>
#include <stdio.h>

#include "common.h"
#include "config.h"
#include "db.h"

struct history_filter {
    int64_t job_id;     /* 0: every job */
    const char *status; /* borrowed; NULL: any status */
    int limit;
};

/* argv[0] is "history".  Returns the exit code (0, 1, 2). */
int cli_history_main(struct config *cfg, int argc, char **argv);

/* The executions matching f, newest first: id, job, scheduled_for, attempt,
 * instance, status, exit_code, started_at, finished_at, duration_ms, error.
 * NULL on a database error (not printed).  The caller PQclears. */
PGresult *cli_history_fetch(struct db *db, const struct history_filter *f);

/* cli_history_fetch's rows as an aligned table. */
int cli_history_print(const PGresult *res, FILE *out) TC_MUST_CHECK;

#endif
