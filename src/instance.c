/* instance.c - register, heartbeat and stop this instance's row; list them all. */
#include <autoconfig.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "instance.h"

static const char SQL_INSTANCES[] =
    "SELECT id, hostname, pid, version, " DB_SQL_UTC("started_at") " AS started_at,"
    " " DB_SQL_UTC("heartbeat_at") " AS heartbeat_at,"
    " round(extract(epoch FROM now() - heartbeat_at)::numeric, 1) AS heartbeat_age_s,"
    " running, max_running, api_url, " DB_SQL_UTC("stopped_at") " AS stopped_at,"
    " CASE WHEN stopped_at IS NOT NULL THEN 'stopped'"
    "  WHEN heartbeat_at < now() - $1::bigint * interval '1 microsecond' THEN 'dead'"
    "  ELSE 'alive' END AS state"
    " FROM instances ORDER BY id";

PGresult *
instance_list(struct db *db, int64_t dead_after_us)
{
    char dead_us[24];

    snprintf(dead_us, sizeof(dead_us), "%lld", (long long)dead_after_us);
    return db_query(db, SQL_INSTANCES, DB_PARAMS(dead_us));
}

void
instance_default_id(char *buf, size_t size)
{
    char host[256];

    if (gethostname(host, sizeof(host)) < 0)
        snprintf(host, sizeof(host), "localhost");
    host[sizeof(host) - 1] = '\0';
    snprintf(buf, size, "%s:%ld", host, (long)getpid());
}

int
instance_register(struct db *db, const struct instance_info *info)
{
    char host[256], pid[24], max_running[24];

    if (gethostname(host, sizeof(host)) < 0)
        snprintf(host, sizeof(host), "localhost");
    host[sizeof(host) - 1] = '\0';
    snprintf(pid, sizeof(pid), "%ld", (long)getpid());
    snprintf(max_running, sizeof(max_running), "%d", info->max_running);
    return db_exec(db,
                   "INSERT INTO instances (id, hostname, pid, version, max_running, api_url)"
                   " VALUES ($1, $2, $3, $4, $5, $6)"
                   " ON CONFLICT (id) DO UPDATE SET hostname = EXCLUDED.hostname,"
                   " pid = EXCLUDED.pid, version = EXCLUDED.version, started_at = now(),"
                   " heartbeat_at = now(), max_running = EXCLUDED.max_running, running = 0,"
                   " api_url = EXCLUDED.api_url, stopped_at = NULL",
                   DB_PARAMS(info->id, host, pid, PACKAGE_VERSION, max_running, info->api_url));
}

int
instance_heartbeat(struct db *db, const struct instance_info *info)
{
    char running[24];

    snprintf(running, sizeof(running), "%d", info->running);
    /* Upsert-free on purpose: if an operator deleted our row we re-register. */
    PGresult *res = db_query(db,
                             "UPDATE instances SET heartbeat_at = now(), running = $2,"
                             " stopped_at = NULL WHERE id = $1",
                             DB_PARAMS(info->id, running));
    int rc = -1;

    if (res == NULL)
        return -1;
    if (strcmp(PQcmdTuples(res), "0") == 0)
        rc = instance_register(db, info);
    else
        rc = 0;
    PQclear(res);
    return rc;
}

int
instance_stop(struct db *db, const char *id)
{
    return db_exec(db, "UPDATE instances SET stopped_at = now(), running = 0 WHERE id = $1",
                   DB_PARAMS(id));
}
