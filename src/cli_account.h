/* cli_account.h - `tablecron user|dept|member|token ...`: the accounts of
 * the API from a shell, for the first administrator and for scripts.
 *
 *   tablecron user add LOGIN [--admin] [--display-name NAME] [--password-stdin]
 *   tablecron user ls [--json] | passwd LOGIN --password-stdin | disable|enable LOGIN
 *   tablecron dept add NAME [--description TEXT] | dept ls [--json]
 *   tablecron member add LOGIN DEPT ROLE | rm LOGIN DEPT | ls [DEPT] [--json]
 *   tablecron token create LOGIN [--name TEXT] [--expires DURATION]
 *   tablecron token ls [LOGIN] [--json] | revoke ID
 *
 * Changes go through account_store.c (checks, audit_log).
 */
#ifndef TC_CLI_ACCOUNT_H
#define TC_CLI_ACCOUNT_H

#include "config.h"

/* argv[0] is "user", "dept", "member" or "token", argv[1] the command.
 * Returns the exit code: 0 ok, 1 not found, conflict or database failure,
 * 2 bad usage or bad input. */
int cli_account_main(struct config *cfg, int argc, char **argv);

#endif
