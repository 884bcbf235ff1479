/* fuzz_cron.c - fuzz target for the schedule engine's parsers.
 *
 * libFuzzer calls LLVMFuzzerTestOneInput with arbitrary bytes.  Text inputs
 * go through every parser (cron_parse, schedule_parse, duration_parse,
 * tz_parse_time, tz_from_rule) and, when they parse, through a few next()
 * and misfire computations, which must stay bounded; inputs starting with
 * "TZif" go through the zone file reader and the conversions.  The first
 * line is the schedule, an optional second line the zone name, so names
 * are fuzzed too (they only ever open files below the zone directory).
 *
 * Built by tests/fuzz/run_fuzz_cron.sh with clang -fsanitize=fuzzer,
 * address,undefined, or with tests/fuzz/fuzz_main.c by any C compiler.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cron.h"
#include "duration.h"
#include "schedule.h"
#include "tz.h"

#define FUZZ_TEXT_MAX 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A zone with DST shared by all runs: loading it per input would make the
 * fuzzer measure file reads.  Falls back to the rule if tzdata is absent. */
static const struct tz *
fuzz_zone(void)
{
    static struct tz *zone;

    if (zone == NULL) {
        zone = tz_load("America/New_York", NULL);
        if (zone == NULL)
            zone = tz_from_rule("EST5EDT,M3.2.0,M11.1.0", NULL);
    }
    return zone;
}

/* Instants to start searches from, spread over the supported range and
 * salted by the input so that the fuzzer can steer them a little. */
static int64_t
fuzz_start(size_t i, const uint8_t *data, size_t size)
{
    static const int64_t base[] = {
        INT64_C(-86400), INT64_C(1772841600), INT64_C(1793505600), INT64_C(7258118000),
    };
    uint32_t salt = 0;
    size_t k;

    for (k = 0; k < size && k < 4; k++)
        salt = salt << 8 | data[k];
    return base[i % 4] + (int64_t)(salt % 200000) - 100000;
}

static void
fuzz_tzif(const uint8_t *data, size_t size)
{
    struct tz_error err;
    struct tz_local l;
    struct tz *z = tz_from_tzif("Fuzz/Zone", data, size, &err);
    char buf[64];
    int64_t t;

    if (z == NULL)
        return;
    for (t = -INT64_C(3000000000); t < INT64_C(8000000000); t += INT64_C(123456789)) {
        tz_utc_to_local(z, t, &l);
        (void)tz_local_to_utc(z, t);
        (void)tz_local_max(z, t);
        if (tz_format_time(z, t, buf, sizeof(buf)) < 0)
            abort();
    }
    tz_utc_to_local(z, INT64_MIN, &l);
    tz_utc_to_local(z, INT64_MAX, &l);
    tz_free(z);
}

static void
fuzz_schedule(const char *text, const char *zone, const uint8_t *data, size_t size)
{
    struct schedule_error err;
    struct schedule_plan plan;
    struct schedule *s = schedule_parse(text, zone, &err);
    size_t i;
    int k;

    if (s == NULL) {
        if (err.pos < 0 || err.msg[0] == '\0')
            abort(); /* every failure must say where and what */
        return;
    }
    for (i = 0; i < 4; i++) {
        int64_t prev = SCHEDULE_NONE;
        int64_t t = fuzz_start(i, data, size);

        for (k = 0; k < 4; k++) {
            int64_t next;

            if (schedule_next(s, prev, t, &next) < 0)
                break;
            if (next <= t)
                abort(); /* must be strictly after */
            prev = t = next;
        }
    }
    schedule_misfire(s, SCHEDULE_MISFIRE_ONCE, fuzz_start(1, data, size),
                     fuzz_start(1, data, size) + 86400 * 40, 60, &plan);
    schedule_misfire(s, SCHEDULE_MISFIRE_SKIP, fuzz_start(2, data, size),
                     fuzz_start(2, data, size) + 3600, 0, &plan);
    schedule_free(s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char text[FUZZ_TEXT_MAX + 1];
    struct cron_error cerr;
    struct duration_error derr;
    struct tz_error terr;
    struct cron_expr *ce;
    struct tz *z;
    char *zone = NULL;
    char *nl;
    int64_t v;
    size_t n = size < FUZZ_TEXT_MAX ? size : FUZZ_TEXT_MAX;
    size_t i;

    if (size >= 4 && memcmp(data, "TZif", 4) == 0) {
        fuzz_tzif(data, size);
        return 0;
    }
    memcpy(text, data, n);
    text[n] = '\0';
    if ((nl = strchr(text, '\n')) != NULL) {
        *nl = '\0';
        zone = nl + 1;
    }

    if ((ce = cron_parse(text, &cerr)) != NULL) {
        for (i = 0; i < 4; i++) {
            int64_t t = fuzz_start(i, data, size);
            int k;

            for (k = 0; k < 3 && cron_next(ce, i % 2 ? fuzz_zone() : NULL, t, &t) == 0; k++)
                ;
        }
        cron_free(ce);
    } else if (cerr.pos < 0 || (size_t)cerr.pos > strlen(text) || cerr.msg[0] == '\0') {
        abort(); /* the position must point into the text */
    }
    fuzz_schedule(text, zone, data, size);
    if (duration_parse(text, &v, &derr) < 0 && (derr.pos < 0 || (size_t)derr.pos > strlen(text)))
        abort();
    if (tz_parse_time(fuzz_zone(), text, &v, &terr) == 0) {
        char buf[64];

        if (tz_format_time(fuzz_zone(), v, buf, sizeof(buf)) < 0)
            abort();
    }
    if ((z = tz_from_rule(text, &terr)) != NULL) {
        struct tz_local l;

        for (v = -INT64_C(3000000000); v < INT64_C(8000000000); v += INT64_C(987654321)) {
            tz_utc_to_local(z, v, &l);
            (void)tz_local_to_utc(z, v);
            (void)tz_local_max(z, v);
        }
        tz_free(z);
    }
    return 0;
}
