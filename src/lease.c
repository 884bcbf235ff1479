/* lease.c - renew every held lease in one statement, report lost ones. */
#include <autoconfig.h>

#include <stdio.h>
#include <stdlib.h>

#include "lease.h"
#include "log.h"
#include "strbuf.h"

/* Renewing does not move the version: only claims and releases do. */
static const char SQL_RENEW[] =
    "UPDATE jobs j SET lease_until = now() + $2::bigint * interval '1 microsecond'"
    " FROM unnest($3::bigint[], $4::bigint[]) AS x(id, version)"
    " WHERE j.id = x.id AND j.version = x.version AND j.lease_owner = $1"
    "  AND j.status = 'running'"
    " RETURNING j.id, j.kill_requested_at IS NOT NULL";

int
lease_renew_all(struct db *db, const char *me, int64_t lease_us, struct lease_held *held, int n)
{
    struct strbuf ids = STRBUF_INIT, versions = STRBUF_INIT;
    char lease_text[24];
    PGresult *res = NULL;
    int rc = -1;

    if (n == 0)
        return 0;
    for (int i = 0; i < n; i++) {
        strbuf_printf(&ids, "%s%lld", i == 0 ? "{" : ",", (long long)held[i].id);
        strbuf_printf(&versions, "%s%lld", i == 0 ? "{" : ",", (long long)held[i].version);
    }
    strbuf_puts(&ids, "}");
    strbuf_puts(&versions, "}");
    if (strbuf_failed(&ids) || strbuf_failed(&versions))
        goto out;
    snprintf(lease_text, sizeof(lease_text), "%lld", (long long)lease_us);
    res = db_query_prepared(db, SQL_RENEW,
                   DB_PARAMS(me, lease_text, strbuf_str(&ids), strbuf_str(&versions)));
    if (res == NULL)
        goto out;
    for (int i = 0; i < n; i++) {
        held[i].still_held = 0;
        held[i].kill_wanted = 0;
    }
    /* n is max_running at most: a nested loop is fine. */
    for (int r = 0; r < PQntuples(res); r++) {
        int64_t id = db_get_int64(res, r, 0, 0);
        for (int i = 0; i < n; i++) {
            if (held[i].id == id) {
                held[i].still_held = 1;
                held[i].kill_wanted = db_get_bool(res, r, 1);
            }
        }
    }
    rc = 0;
out:
    PQclear(res);
    strbuf_reset(&ids);
    strbuf_reset(&versions);
    return rc;
}
