/* cli_instances.c - `tablecron instances`: who runs, who died.
 *
 * An instance heartbeats every lease/3.  One that has not stopped cleanly
 * (stopped_at NULL) and has not been heard from for three leases is shown
 * as dead: by then every lease it held has expired and been taken over.
 * The lease is this command's own setting (--lease, the config file),
 * which is right when all instances share one configuration.
 */
#include <autoconfig.h>

#include <stdlib.h>
#include <string.h>

#include "cli_common.h"
#include "cli_instances.h"
#include "instance.h"

static void
instances_usage(FILE *out)
{
    fprintf(out,
            "usage: tablecron instances [--json]\n"
            "\n"
            "List the tablecron instances that registered in the database: id, host,\n"
            "pid, version, start time, age of the last heartbeat, running/max_running\n"
            "executions and state: alive, stopped (shut down cleanly) or dead (no\n"
            "heartbeat for %d leases; the lease is this command's --lease setting).\n"
            "\n"
            "  --json   one JSON document on stdout instead of a table\n",
            INSTANCE_DEAD_AFTER_LEASES);
}

static int
instances_print(const PGresult *res)
{
    static const char *const headers[] = { "ID",        "HOST",    "PID",   "VERSION",
                                           "STARTED",   "HEARTBEAT", "RUNNING", "STATE" };
    struct cli_table *t = cli_table_new(TC_ARRAY_LEN(headers), headers);
    int rc = -1;

    if (t == NULL)
        return -1;
    for (int r = 0; r < PQntuples(res); r++) {
        char age[32], running[48];
        const char *cells[TC_ARRAY_LEN(headers)];

        snprintf(age, sizeof(age), "%ss ago", cli_field(res, r, "heartbeat_age_s"));
        snprintf(running, sizeof(running), "%s/%s", cli_field(res, r, "running"),
                 cli_field(res, r, "max_running"));
        cells[0] = cli_field(res, r, "id");
        cells[1] = cli_field(res, r, "hostname");
        cells[2] = cli_field(res, r, "pid");
        cells[3] = cli_field(res, r, "version");
        cells[4] = cli_field(res, r, "started_at");
        cells[5] = age;
        cells[6] = running;
        cells[7] = cli_field(res, r, "state");
        if (cli_table_add(t, cells) < 0)
            goto out;
    }
    rc = cli_table_print(t, stdout);
out:
    cli_table_free(t);
    return rc;
}

int
cli_instances_main(struct config *cfg, int argc, char **argv)
{
    int json = 0, nargs = 0, rc = CLI_EXIT_FAILED;
    const struct cli_opt opts[] = { { "--json", NULL, &json } };
    struct db *db = NULL;
    PGresult *res = NULL;

    switch (cli_parse("instances", argc, argv, 1, opts, TC_ARRAY_LEN(opts), NULL, 0, &nargs)) {
    case 1:
        instances_usage(stdout);
        return CLI_EXIT_OK;
    case -1:
        return CLI_EXIT_USAGE;
    }
    if ((db = cli_connect(cfg)) == NULL)
        goto out;
    if ((res = instance_list(db, cfg->lease_us * INSTANCE_DEAD_AFTER_LEASES)) == NULL) {
        cli_db_error(db);
        goto out;
    }
    if (cli_output(res, json, 0, instances_print) < 0)
        goto out;
    rc = CLI_EXIT_OK;
out:
    PQclear(res);
    db_free(db);
    return rc;
}
