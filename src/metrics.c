/* metrics.c - process-wide counters and their Prometheus text.
 *
 * Plain counters and the executions matrix are relaxed atomics: exact
 * ordering between them does not matter to a scrape.  The HTTP request
 * counts are keyed by (route, status) in a small open-addressing table
 * under a mutex: a request is far slower than a lock.
 */
#include <autoconfig.h>

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "metrics.h"

static const struct {
    const char *name, *help;
} counter_info[METRIC_COUNTER_COUNT] = {
    [METRIC_CLAIMS_WON] = { "tablecron_claims_won_total", "Jobs this instance claimed." },
    [METRIC_CAS_MISSES] = { "tablecron_cas_misses_total",
                            "Claims lost because another instance took the row first." },
    [METRIC_LEASE_RENEWALS] = { "tablecron_lease_renewals_total", "Leases renewed." },
    [METRIC_LEASES_LOST] = { "tablecron_leases_lost_total",
                             "Running jobs whose lease another instance took over." },
    [METRIC_TAKEOVERS] = { "tablecron_takeovers_total",
                           "Jobs taken over from instances that stopped renewing." },
    [METRIC_MISFIRES_SKIPPED] = { "tablecron_misfires_skipped_total",
                                  "Fire times skipped because they were too late." },
    [METRIC_DB_ERRORS] = { "tablecron_db_errors_total", "Database statements that failed." },
    [METRIC_ETCD_PUTS] = { "tablecron_etcd_puts_total", "Job definitions written to etcd." },
    [METRIC_ETCD_DELETES] = { "tablecron_etcd_deletes_total", "Keys removed from etcd." },
    [METRIC_ETCD_ERRORS] = { "tablecron_etcd_mirror_errors_total",
                             "etcd requests of the mirror that failed or were refused." },
};

static const char *const kinds[] = { "shell", "http", "grpc", "noop", "other" };
static const char *const statuses[] = { "succeeded", "failed", "timed_out",
                                        "killed",    "abandoned", "other" };
#define NKINDS (sizeof(kinds) / sizeof(kinds[0]))
#define NSTATUSES (sizeof(statuses) / sizeof(statuses[0]))

/* Start lag buckets, in ms, as the "le" labels in seconds. */
static const int64_t lag_bounds_ms[] = { 10, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000,
                                         60000 };
static const char *const lag_labels[] = { "0.01", "0.05", "0.1", "0.25", "0.5", "1",
                                          "2.5",  "5",    "10",  "30",   "60" };
#define NLAG (sizeof(lag_bounds_ms) / sizeof(lag_bounds_ms[0]))

#define HTTP_SLOTS 512

static _Atomic uint64_t counters[METRIC_COUNTER_COUNT];
static _Atomic int64_t running;
static _Atomic int etcd_mirror_active;
static _Atomic uint64_t executions[NKINDS][NSTATUSES];
static _Atomic uint64_t lag_buckets[NLAG + 1]; /* not cumulative; the last is +Inf */
static _Atomic uint64_t lag_sum_ms;

static pthread_mutex_t http_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
    const char *route; /* NULL: free slot */
    int status;
    uint64_t count;
} http_counts[HTTP_SLOTS];

void
metrics_add(enum metric_counter which, uint64_t n)
{
    atomic_fetch_add_explicit(&counters[which], n, memory_order_relaxed);
}

void
metrics_set_running(int64_t n)
{
    atomic_store_explicit(&running, n, memory_order_relaxed);
}

void
metrics_set_etcd_mirror_active(int active)
{
    atomic_store_explicit(&etcd_mirror_active, active != 0, memory_order_relaxed);
}

static size_t
index_of(const char *const *names, size_t n, const char *name)
{
    for (size_t i = 0; i + 1 < n; i++) {
        if (strcmp(names[i], name) == 0)
            return i;
    }
    return n - 1; /* "other" */
}

void
metrics_execution(const char *kind, const char *status)
{
    atomic_fetch_add_explicit(&executions[index_of(kinds, NKINDS, kind)]
                                         [index_of(statuses, NSTATUSES, status)],
                              1, memory_order_relaxed);
}

void
metrics_start_lag(int64_t lag_ms)
{
    size_t b = 0;

    if (lag_ms < 0)
        lag_ms = 0;
    while (b < NLAG && lag_ms > lag_bounds_ms[b])
        b++;
    atomic_fetch_add_explicit(&lag_buckets[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&lag_sum_ms, (uint64_t)lag_ms, memory_order_relaxed);
}

void
metrics_http_request(const char *route, int status)
{
    size_t h;

    if (route == NULL)
        route = "none";
    h = ((uintptr_t)route >> 4) * 31 + (size_t)status;
    pthread_mutex_lock(&http_lock);
    for (size_t i = 0; i < HTTP_SLOTS; i++) {
        size_t slot = (h + i) % HTTP_SLOTS;

        if (http_counts[slot].route == NULL) {
            http_counts[slot].route = route;
            http_counts[slot].status = status;
        }
        if (http_counts[slot].route == route && http_counts[slot].status == status) {
            http_counts[slot].count++;
            break;
        }
    }
    pthread_mutex_unlock(&http_lock);
}

static uint64_t
load(_Atomic uint64_t *v)
{
    return atomic_load_explicit(v, memory_order_relaxed);
}

int
metrics_render(struct strbuf *out)
{
    uint64_t cumulative = 0;

    for (size_t i = 0; i < METRIC_COUNTER_COUNT; i++)
        strbuf_printf(out, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", counter_info[i].name,
                      counter_info[i].help, counter_info[i].name, counter_info[i].name,
                      (unsigned long long)load(&counters[i]));

    strbuf_puts(out, "# HELP tablecron_running Executions running on this instance.\n"
                     "# TYPE tablecron_running gauge\n");
    strbuf_printf(out, "tablecron_running %lld\n",
                  (long long)atomic_load_explicit(&running, memory_order_relaxed));

    strbuf_puts(out, "# HELP tablecron_etcd_mirror_active 1 while this instance mirrors jobs to "
                     "etcd.\n"
                     "# TYPE tablecron_etcd_mirror_active gauge\n");
    strbuf_printf(out, "tablecron_etcd_mirror_active %d\n",
                  atomic_load_explicit(&etcd_mirror_active, memory_order_relaxed));

    strbuf_puts(out, "# HELP tablecron_executions_total Executions ended on this instance.\n"
                     "# TYPE tablecron_executions_total counter\n");
    for (size_t k = 0; k < NKINDS; k++)
        for (size_t s = 0; s < NSTATUSES; s++)
            strbuf_printf(out, "tablecron_executions_total{kind=\"%s\",status=\"%s\"} %llu\n",
                          kinds[k], statuses[s], (unsigned long long)load(&executions[k][s]));

    strbuf_puts(out, "# HELP tablecron_start_lag_seconds From fire time to start.\n"
                     "# TYPE tablecron_start_lag_seconds histogram\n");
    for (size_t b = 0; b < NLAG; b++) {
        cumulative += load(&lag_buckets[b]);
        strbuf_printf(out, "tablecron_start_lag_seconds_bucket{le=\"%s\"} %llu\n", lag_labels[b],
                      (unsigned long long)cumulative);
    }
    cumulative += load(&lag_buckets[NLAG]);
    strbuf_printf(out, "tablecron_start_lag_seconds_bucket{le=\"+Inf\"} %llu\n",
                  (unsigned long long)cumulative);
    strbuf_printf(out, "tablecron_start_lag_seconds_sum %.3f\n", (double)load(&lag_sum_ms) / 1000);
    strbuf_printf(out, "tablecron_start_lag_seconds_count %llu\n",
                  (unsigned long long)cumulative);

    strbuf_puts(out, "# HELP tablecron_http_requests_total API requests by route and status.\n"
                     "# TYPE tablecron_http_requests_total counter\n");
    pthread_mutex_lock(&http_lock);
    for (size_t i = 0; i < HTTP_SLOTS; i++) {
        if (http_counts[i].route != NULL)
            strbuf_printf(out, "tablecron_http_requests_total{route=\"%s\",status=\"%d\"} %llu\n",
                          http_counts[i].route, http_counts[i].status,
                          (unsigned long long)http_counts[i].count);
    }
    pthread_mutex_unlock(&http_lock);
    return strbuf_failed(out) ? -1 : 0;
}
