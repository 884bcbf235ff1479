/* cli_cron.h - `tablecron cron next|check`: preview and validate schedules.
 *
 * Needs no configuration and no database: it links only the schedule
 * engine (schedule, cron, tz, duration).
 */
#ifndef TC_CLI_CRON_H
#define TC_CLI_CRON_H

/* argv[0] is "cron".  Returns the process exit status: 0 ok, 2 bad usage or
 * bad expression (the error and its position go to stderr), 1 other errors. */
int cli_cron_main(int argc, char **argv);

#endif
