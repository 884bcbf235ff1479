/* api_health.c - GET /healthz, /readyz and /metrics, without authentication.
 *
 * /healthz needs nothing but a worker thread: it says the process is up.
 * /readyz asks the database whether it answers and carries the schema this
 * binary needs, so a load balancer sends no traffic to an instance that
 * would only answer 503s.
 */
#include <autoconfig.h>

#include <stdio.h>

#include "api_health.h"
#include "metrics.h"
#include "migrate.h"
#include "strbuf.h"

void
api_healthz(struct api_call *call)
{
    api_reply(call, 200, json_pack("{s:s}", "status", "ok"));
}

void
api_readyz(struct api_call *call)
{
    char need[16];
    PGresult *res;
    int64_t have;

    snprintf(need, sizeof(need), "%d", MIGRATE_SCHEMA_VERSION);
    res = db_query(call->db,
                   "SELECT coalesce(max(version), 0) FROM schema_migrations", DB_NO_PARAMS);
    if (res == NULL) {
        api_error(call, 503, "not_ready", NULL,
                  db_last_error(call->db) == DB_ERR_CONNECTION
                      ? "the database is not reachable"
                      : "the schema is not there: run tablecron migrate");
        return;
    }
    have = db_get_int64(res, 0, 0, 0);
    PQclear(res);
    if (have < MIGRATE_SCHEMA_VERSION) {
        api_error(call, 503, "not_ready", NULL,
                  "the schema is at migration %lld, this version needs %s: run tablecron migrate",
                  (long long)have, need);
        return;
    }
    api_reply(call, 200, json_pack("{s:s, s:I}", "status", "ready", "schema", (json_int_t)have));
}

/* Prometheus text; counts only (no job names), so it needs no sign-in. */
void
api_metrics(struct api_call *call)
{
    struct strbuf text = STRBUF_INIT;

    if (metrics_render(&text) < 0 ||
        http_set_body(call->resp, 200, "text/plain; version=0.0.4; charset=utf-8",
                      strbuf_str(&text), text.len) < 0) {
        strbuf_reset(&text);
        api_error(call, 500, "internal", NULL, "out of memory");
        return;
    }
    strbuf_reset(&text);
    call->answered = 1;
}
