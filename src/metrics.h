/* metrics.h - this process's counters, rendered as Prometheus text at /metrics.
 *
 * Both sides of an instance count here (the scheduler its claims and runs,
 * the API its requests, the database layer its errors) without knowing of
 * each other; the API's /metrics route renders the lot.  Counters are
 * atomics, so counting costs no lock on the scheduler's loop.
 */
#ifndef TC_METRICS_H
#define TC_METRICS_H

#include <stdint.h>

#include "common.h"
#include "strbuf.h"

enum metric_counter {
    METRIC_CLAIMS_WON,
    METRIC_CAS_MISSES,
    METRIC_LEASE_RENEWALS,
    METRIC_LEASES_LOST,
    METRIC_TAKEOVERS,
    METRIC_MISFIRES_SKIPPED,
    METRIC_DB_ERRORS,
    METRIC_ETCD_PUTS,
    METRIC_ETCD_DELETES,
    METRIC_ETCD_ERRORS,
    METRIC_COUNTER_COUNT
};

void metrics_add(enum metric_counter which, uint64_t n);

/* Executions in flight on this instance (a gauge). */
void metrics_set_running(int64_t n);

/* 1 while this instance is the one that mirrors jobs to etcd (a gauge). */
void metrics_set_etcd_mirror_active(int active);

/* An execution ended: kind "shell"/"http"/"grpc"/"noop", status as in executions. */
void metrics_execution(const char *kind, const char *status);

/* How late an execution started after its fire time. */
void metrics_start_lag(int64_t lag_ms);

/* An API request answered: route is the route's pattern (a string that
 * lives as long as the process) or NULL for no route. */
void metrics_http_request(const char *route, int status);

/* The whole exposition (text format 0.0.4) appended to out. */
int metrics_render(struct strbuf *out) TC_MUST_CHECK;

#endif
