/* cli_history.h - `tablecron history`: executions, newest first, and one
 * execution with its whole output.
 *
 *   tablecron history [--job NAME] [--status S] [--limit N] [--json]
 *   tablecron history show ID [--json]
 *
 * `job show` lists a job's latest executions through the same query
 * (job_query_executions) and this table.
 */
#ifndef TC_CLI_HISTORY_H
#define TC_CLI_HISTORY_H

#include <libpq-fe.h>
#include <stdint.h>
#include <stdio.h>

#include "common.h"
#include "config.h"
#include "db.h"

/* argv[0] is "history".  Returns the exit code (0, 1, 2). */
int cli_history_main(struct config *cfg, int argc, char **argv);

/* job_query_executions' rows as an aligned table. */
int cli_history_print(const PGresult *res, FILE *out) TC_MUST_CHECK;

#endif
