/* bench_cron.c - how fast are parse and next()?  Not a test.
 *
 *   bench/bench_cron [SECONDS_PER_MEASURE]   (default 0.3)
 *
 * Prints name=value lines: the rate and cost of cron_parse over a mix of
 * expressions, then of cron_next chained from one fire time to the next,
 * in UTC and in zones with DST, overall and per expression.  Numbers from a
 * sanitizer build are meaningless; use a plain ./configure build.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cron.h"
#include "schedule.h"

static const char *const bench_exprs[] = {
    "*/5 * * * *",
    "0 30 2 * * *",
    "0 9 * * MON-FRI",
    "15,45 8-18 * * 1-5",
    "0 0 1 * *",
    "@hourly",
    "*/10 * * * * *",
    "0 0 L * *",
    "0 0 15W * *",
    "0 0 * * 5L",
    "0 30 9 ? * MON#2",
    "0 0 12 ? JAN,JUL WED 2026-2100",
    "0 0 29 2 *",
};

#define NEXPR (sizeof(bench_exprs) / sizeof(bench_exprs[0]))
#define T_START INT64_C(1767225600) /* 2026-01-01 */
#define T_WRAP INT64_C(5364662400)  /* 2140-01-01: start over before the end */

static double
now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Keeps the compiler from dropping the work. */
static volatile int64_t bench_sink;

static double
bench_parse(double budget)
{
    double start = now_s(), spent;
    long n = 0;

    do {
        size_t i;

        for (i = 0; i < NEXPR; i++) {
            struct cron_error err;
            struct cron_expr *ce = cron_parse(bench_exprs[i], &err);

            if (ce == NULL) {
                fprintf(stderr, "bench_cron: %s: %s at %d\n", bench_exprs[i], err.msg, err.pos);
                exit(1);
            }
            cron_free(ce);
        }
        n += (long)NEXPR;
    } while ((spent = now_s() - start) < budget);
    return spent * 1e9 / (double)n;
}

/* ns per cron_next for one expression in one zone (NULL: UTC fast path). */
static double
bench_next(const struct cron_expr *ce, const struct tz *zone, double budget)
{
    double start = now_s(), spent;
    int64_t t = T_START;
    long n = 0;

    do {
        int k;

        for (k = 0; k < 256; k++) {
            if (cron_next(ce, zone, t, &t) < 0 || t > T_WRAP)
                t = T_START;
        }
        n += 256;
    } while ((spent = now_s() - start) < budget);
    bench_sink = t;
    return spent * 1e9 / (double)n;
}

static double
bench_schedule_parse(double budget)
{
    double start = now_s(), spent;
    long n = 0;

    do {
        struct schedule_error err;
        struct schedule *s = schedule_parse("0 30 2 * * *", "America/New_York", &err);

        if (s == NULL)
            exit(1);
        schedule_free(s);
        n++;
    } while ((spent = now_s() - start) < budget);
    return spent * 1e9 / (double)n;
}

int
main(int argc, char **argv)
{
    static const char *const zones[] = { NULL, "UTC", "America/New_York", "Australia/Lord_Howe" };
    static const char *const labels[] = { "utc_null", "utc", "new_york", "lord_howe" };
    struct cron_expr *ces[NEXPR];
    double budget = argc > 1 ? atof(argv[1]) : 0.3;
    double ns;
    size_t i, z;

    if (budget <= 0)
        budget = 0.3;
    printf("bench=cron\n");
    printf("expressions=%zu\n", NEXPR);
    ns = bench_parse(budget);
    printf("parse_ns=%.1f\nparse_per_s=%.0f\n", ns, 1e9 / ns);
    ns = bench_schedule_parse(budget);
    printf("schedule_parse_with_zone_load_ns=%.1f\n", ns);
    for (i = 0; i < NEXPR; i++) {
        struct cron_error err;

        ces[i] = cron_parse(bench_exprs[i], &err);
        printf("expr.%zu=%s\n", i, bench_exprs[i]);
    }
    for (z = 0; z < TC_ARRAY_LEN(zones); z++) {
        struct tz_error err;
        struct tz *zone = NULL;
        double total = 0;

        if (zones[z] != NULL && (zone = tz_load(zones[z], &err)) == NULL) {
            printf("next.%s=skipped (%s)\n", labels[z], err.msg);
            continue;
        }
        for (i = 0; i < NEXPR; i++) {
            ns = bench_next(ces[i], zone, budget / 4);
            total += ns;
            printf("next.%s.expr.%zu.ns=%.1f\n", labels[z], i, ns);
        }
        printf("next.%s.mean_ns=%.1f\nnext.%s.per_s=%.0f\n", labels[z], total / (double)NEXPR,
               labels[z], 1e9 * (double)NEXPR / total);
        tz_free(zone);
    }
    for (i = 0; i < NEXPR; i++)
        cron_free(ces[i]);
    return 0;
}
