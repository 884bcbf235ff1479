/* cli_instances.h - `tablecron instances`: the instances table, with each
 * instance's state (alive, dead, stopped) judged by its heartbeat.
 *
 *   tablecron instances [--json]
 */
#ifndef TC_CLI_INSTANCES_H
#define TC_CLI_INSTANCES_H

#include "config.h"

/* argv[0] is "instances".  Returns the exit code (0, 1, 2). */
int cli_instances_main(struct config *cfg, int argc, char **argv);

#endif
