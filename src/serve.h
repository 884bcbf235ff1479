/* serve.h - `tablecron serve`: signals, start-up and shutdown of an instance. */
#ifndef TC_SERVE_H
#define TC_SERVE_H

#include "config.h"

/* Runs until SIGTERM/SIGINT; SIGHUP reloads the config file.  Returns the
 * process exit code. */
int serve_main(struct config *cfg, int argc, char **argv);

#endif
