/* job_shards.c - the reads of sharded jobs shared by job_store, the
 * command line and the API (see job_shards.h).
 *
 * Both walk indexes: a job's shard rows through jobs_shard_once
 * (shard_of, shard_index), its fire times through executions_once (job_id,
 * scheduled_for, shard_index, attempt), so their cost does not grow with
 * the number of jobs.
 */
#include <autoconfig.h>

#include <stdio.h>

#include "job_shards.h"

static const char SQL_RUNNING[] =
    "SELECT count(*), coalesce(string_agg(shard_index::text, ', ' ORDER BY shard_index), '')"
    " FROM jobs WHERE shard_of = $1::bigint AND shard_index >= $2::int AND status = 'running'";

static const char SQL_FIRE_TIMES[] =
    "SELECT " DB_SQL_UTC("f.scheduled_for") " AS scheduled_for, f.shards, f.succeeded,"
    " f.failed, f.running, f.pending, f.retrying, f.missed, f.status, f.attempts,"
    " " DB_SQL_UTC("f.started_at") " AS started_at,"
    " " DB_SQL_UTC("f.finished_at") " AS finished_at"
    " FROM shard_fire_times f WHERE f.job_id = $1::bigint"
    " ORDER BY f.scheduled_for DESC LIMIT $2::int";

int
job_shards_running(struct db *db, int64_t job_id, int from, char *list, size_t size)
{
    char id[24], first[16];
    PGresult *res;
    int n;

    if (size > 0)
        list[0] = '\0';
    snprintf(id, sizeof(id), "%lld", (long long)job_id);
    snprintf(first, sizeof(first), "%d", from);
    if ((res = db_query(db, SQL_RUNNING, DB_PARAMS(id, first))) == NULL)
        return -1;
    n = (int)db_get_int64(res, 0, 0, 0);
    if (size > 0)
        snprintf(list, size, "%s", PQgetvalue(res, 0, 1));
    PQclear(res);
    return n;
}

PGresult *
job_shards_fire_times(struct db *db, int64_t job_id, int limit)
{
    char id[24], max[16];

    snprintf(id, sizeof(id), "%lld", (long long)job_id);
    snprintf(max, sizeof(max), "%d", limit);
    return db_query(db, SQL_FIRE_TIMES, DB_PARAMS(id, max));
}
