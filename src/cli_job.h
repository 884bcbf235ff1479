/* cli_job.h - `tablecron job ...`: define, inspect and operate jobs from a
 * shell, talking SQL to the database directly (no API instance needed).
 *
 *   tablecron job add NAME --schedule EXPR --shell CMD|--http URL|--grpc URL [options]
 *   tablecron job edit NAME [options]
 *   tablecron job ls [--json]
 *   tablecron job show NAME [--json]
 *   tablecron job rm NAME [--force]
 *   tablecron job pause|resume|run|kill NAME
 *
 * Changes go through job_store.c (checks, version fencing, audit_log).
 */
#ifndef TC_CLI_JOB_H
#define TC_CLI_JOB_H

#include "config.h"

/* argv[0] is "job", argv[1] the subcommand.  Returns the exit code: 0 ok,
 * 1 not found, conflict or database failure, 2 bad usage or bad input. */
int cli_job_main(struct config *cfg, int argc, char **argv);

#endif
