/* duration.c - parse and print lengths of time ("1h30m", "500ms").
 *
 * Units are taken from the largest down and each at most once, so a typo such
 * as "30m1h" or "1m1m" is caught instead of being quietly summed.  All
 * arithmetic is checked: a duration is a non-negative int64 number of
 * microseconds or an error.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "duration.h"

struct duration_unit {
    const char *name;
    int64_t us;
};

/* Largest first: the parser requires this order in the text. */
static const struct duration_unit duration_units[] = {
    { "d", INT64_C(86400000000) },
    { "h", INT64_C(3600000000) },
    { "m", INT64_C(60000000) },
    { "s", INT64_C(1000000) },
    { "ms", INT64_C(1000) },
    { "us", INT64_C(1) },
};

static void duration_fail(struct duration_error *err, int pos, const char *fmt, ...)
    TC_PRINTF(3, 4);

static void
duration_fail(struct duration_error *err, int pos, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL)
        return;
    err->pos = pos;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
}

static int
duration_is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* The unit spelled at p (longest match: "ms" before "m"), or -1. */
static int
duration_unit_at(const char *p, size_t *len)
{
    int best = -1;
    size_t best_len = 0;
    size_t i;

    for (i = 0; i < TC_ARRAY_LEN(duration_units); i++) {
        size_t n = strlen(duration_units[i].name);

        if (strncmp(p, duration_units[i].name, n) == 0 && n > best_len) {
            best = (int)i;
            best_len = n;
        }
    }
    /* "m" followed by a letter that makes no unit ("mo", "min") is a
     * misspelling, not minutes followed by garbage. */
    if (best >= 0 && p[best_len] >= 'a' && p[best_len] <= 'z')
        return -1;
    *len = best_len;
    return best;
}

int
duration_parse(const char *text, int64_t *out_us, struct duration_error *err)
{
    const char *p = text;
    int64_t total = 0;
    int last_unit = -1;
    int groups = 0;

    if (text == NULL) {
        duration_fail(err, 0, "empty duration");
        return -1;
    }
    while (duration_is_blank(*p))
        p++;
    /* One <digits><unit> group per turn; overflow is checked before each
     * multiplication and addition, never after. */
    while (*p != '\0' && !duration_is_blank(*p)) {
        const char *start = p;
        int64_t n = 0;
        int64_t part;
        size_t ulen = 0;
        int unit;

        if (*p < '0' || *p > '9') {
            if (*p == '-' || *p == '+')
                duration_fail(err, (int)(p - text), "a duration has no sign");
            else if (groups > 0 && *p == '.')
                duration_fail(err, (int)(p - text),
                              "fractions are not supported (write 1m30s, not 1.5m)");
            else
                duration_fail(err, (int)(p - text), "expected a number");
            return -1;
        }
        while (*p >= '0' && *p <= '9') {
            if (n > (INT64_MAX - (*p - '0')) / 10) {
                duration_fail(err, (int)(start - text), "duration too large");
                return -1;
            }
            n = n * 10 + (*p - '0');
            p++;
        }
        if (*p == '.') {
            duration_fail(err, (int)(p - text),
                          "fractions are not supported (write 1m30s, not 1.5m)");
            return -1;
        }
        if (*p == '\0' || duration_is_blank(*p)) {
            duration_fail(err, (int)(p - text), "missing unit (use d, h, m, s, ms or us)");
            return -1;
        }
        unit = duration_unit_at(p, &ulen);
        if (unit < 0) {
            /* Quote the unknown unit, letters only: the text may be anything. */
            int len = 0;

            while (len < 8 &&
                   ((p[len] >= 'a' && p[len] <= 'z') || (p[len] >= 'A' && p[len] <= 'Z')))
                len++;
            if (len == 0)
                duration_fail(err, (int)(p - text), "missing unit (use d, h, m, s, ms or us)");
            else
                duration_fail(err, (int)(p - text),
                              "unknown unit '%.*s' (use d, h, m, s, ms or us)", len, p);
            return -1;
        }
        if (unit <= last_unit) {
            duration_fail(err, (int)(p - text),
                          "units must go from largest to smallest, each once");
            return -1;
        }
        if (n > INT64_MAX / duration_units[unit].us) {
            duration_fail(err, (int)(start - text), "duration too large");
            return -1;
        }
        part = n * duration_units[unit].us;
        if (total > INT64_MAX - part) {
            duration_fail(err, (int)(start - text), "duration too large");
            return -1;
        }
        total += part;
        last_unit = unit;
        groups++;
        p += ulen;
    }
    while (duration_is_blank(*p))
        p++;
    if (*p != '\0') {
        duration_fail(err, (int)(p - text), "unexpected text after the duration");
        return -1;
    }
    if (groups == 0) {
        duration_fail(err, (int)(p - text), "empty duration");
        return -1;
    }
    *out_us = total;
    return 0;
}

int
duration_format(int64_t us, char *buf, size_t size)
{
    /* Work on the magnitude as unsigned so that INT64_MIN is printable. */
    uint64_t left = us < 0 ? (uint64_t)0 - (uint64_t)us : (uint64_t)us;
    size_t used = 0;
    size_t i;
    int n;

    if (size == 0)
        return -1;
    buf[0] = '\0';
    if (us == 0) {
        n = snprintf(buf, size, "0s");
        return n < 0 || (size_t)n >= size ? -1 : 0;
    }
    if (us < 0) {
        n = snprintf(buf, size, "-");
        if (n < 0 || (size_t)n >= size)
            return -1;
        used = (size_t)n;
    }
    for (i = 0; i < TC_ARRAY_LEN(duration_units); i++) {
        uint64_t unit = (uint64_t)duration_units[i].us;
        uint64_t count = left / unit;

        if (count == 0)
            continue;
        left -= count * unit;
        n = snprintf(buf + used, size - used, "%llu%s", (unsigned long long)count,
                     duration_units[i].name);
        if (n < 0 || (size_t)n >= size - used)
            return -1;
        used += (size_t)n;
    }
    return 0;
}
