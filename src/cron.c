/* cron.c - parse cron expressions and find their next fire time.
 *
 * An expression becomes one bit set per field (bit v set = value v allowed)
 * plus a few masks for the day-of-month and day-of-week specials that depend
 * on the month (L, L-3, LW, 15W, 5L, MON#2).  Finding the next match is then
 * a walk over the civil calendar that fixes one field at a time, largest
 * first: if the year is not allowed jump to the next allowed year, if the
 * month is not allowed jump to the next allowed month, and so on down to the
 * second.  Each jump is a find-first-set on a mask, so a typical next() is a
 * handful of steps, and a search that can never succeed still ends after at
 * most a few steps per month up to 2199.
 *
 * The walk happens in local (wall-clock) time; tz.c turns the local match
 * into an instant, deciding DST gaps and overlaps.  See cron_next().
 *
 * Glossary: field = one of second, minute, hour, day of month (dom), month,
 * day of week (dow), year.  A day field is "starred" when its text begins
 * with '*' or is '?': Vixie cron's rule for combining dom and dow.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cron.h"

#define CRON_TEXT_MAX 1024
#define CRON_YEAR_MIN 1970
#define CRON_YEAR_MAX 2199
#define CRON_SEARCH_STEPS 100000 /* far above the ~6000 a hopeless search takes */

/* Instants outside which no local time of 1970-2199 can fall (two days of
 * margin for any UTC offset). */
#define CRON_T_MIN (INT64_C(0) - 2 * 86400)
#define CRON_T_MAX (INT64_C(7258118400) + 2 * 86400) /* 2200-01-01T00:00:00Z */

enum cron_field {
    CRON_SEC,
    CRON_MIN,
    CRON_HOUR,
    CRON_DOM,
    CRON_MON,
    CRON_DOW,
    CRON_YEAR,
    CRON_NFIELDS
};

struct cron_field_info {
    const char *name;
    int lo, hi;  /* values accepted in the text */
    int star_hi; /* where '*' ends: day of week 7 is only an alias of 0 */
};

static const struct cron_field_info cron_fields[CRON_NFIELDS] = {
    { "second", 0, 59, 59 },
    { "minute", 0, 59, 59 },
    { "hour", 0, 23, 23 },
    { "day of month", 1, 31, 31 },
    { "month", 1, 12, 12 },
    { "day of week", 0, 7, 6 },
    { "year", CRON_YEAR_MIN, CRON_YEAR_MAX, CRON_YEAR_MAX },
};

static const char *const cron_month_names[12] = {
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
};

static const char *const cron_day_names[7] = {
    "SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT",
};

struct cron_macro {
    const char *name;
    const char *expansion;
};

static const struct cron_macro cron_macros[] = {
    { "yearly", "0 0 1 1 *" },
    { "annually", "0 0 1 1 *" },
    { "monthly", "0 0 1 * *" },
    { "weekly", "0 0 * * 0" },
    { "daily", "0 0 * * *" },
    { "midnight", "0 0 * * *" },
    { "hourly", "0 * * * *" },
};

struct cron_expr {
    uint64_t sec;        /* bit s */
    uint64_t min;        /* bit m */
    uint32_t hour;       /* bit h */
    uint32_t dom;        /* bit d, 1-31 */
    uint32_t dom_last;   /* bit k: the day k days before the last one (L, L-3) */
    uint32_t dom_last_w; /* bit k: the weekday nearest to L-k (LW, L-2W) */
    uint32_t dom_near_w; /* bit d: the weekday nearest to day d (15W) */
    uint16_t mon;        /* bit m, 1-12 */
    uint8_t dow;         /* bit w, 0-6 (7 folded into 0) */
    uint8_t dow_last;    /* bit w: the last w-day of the month (5L) */
    uint8_t dow_nth[7];  /* [w] bit k-1: the k-th w-day of the month (MON#2) */
    uint8_t dom_star;    /* dom text began with '*' or was '?' */
    uint8_t dow_star;
    uint8_t dom_special; /* any of dom_last, dom_last_w, dom_near_w set */
    uint8_t dow_special; /* any of dow_last, dow_nth set */
    uint64_t year[4];    /* bit y - 1970 */
};

/* Values of one field while parsing: bit v - base. */
struct cron_set {
    uint64_t w[4];
};

struct cron_parser {
    const char *text;
    struct cron_error *err;
};

static void cron_fail(struct cron_parser *cp, const char *at, const char *fmt, ...)
    TC_PRINTF(3, 4);

static void
cron_fail(struct cron_parser *cp, const char *at, const char *fmt, ...)
{
    va_list ap;

    if (cp->err == NULL)
        return;
    cp->err->pos = (int)(at - cp->text);
    va_start(ap, fmt);
    vsnprintf(cp->err->msg, sizeof(cp->err->msg), fmt, ap);
    va_end(ap);
}

static int
cron_is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static int
cron_is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int
cron_is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static char
cron_upper(char c)
{
    return c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
}

/* Report the character at p without echoing bytes that could upset a
 * terminal or a JSON encoder. */
static void
cron_unexpected(struct cron_parser *cp, const char *p, const char *end, enum cron_field f)
{
    unsigned char c = p < end ? (unsigned char)*p : 0;

    if (p >= end)
        cron_fail(cp, p, "unexpected end of %s", cron_fields[f].name);
    else if (c > ' ' && c < 0x7f)
        cron_fail(cp, p, "unexpected '%c' in %s", c, cron_fields[f].name);
    else
        cron_fail(cp, p, "unexpected byte 0x%02x in %s", c, cron_fields[f].name);
}

/* Digits at *pp: 1 and *out on success, 0 if there are none, -1 (error
 * reported) if the number is absurdly long.  Nine digits fit an int, so
 * "99999999999" is caught here before any arithmetic could overflow; the
 * caller then checks the field's range. */
static int
cron_number(struct cron_parser *cp, const char **pp, const char *end, int *out)
{
    const char *p = *pp;
    int v = 0;
    int digits = 0;

    while (p < end && cron_is_digit(*p)) {
        if (digits < 9)
            v = v * 10 + (*p - '0');
        digits++;
        p++;
    }
    if (digits == 0)
        return 0;
    if (digits > 9) {
        cron_fail(cp, *pp, "number too large");
        return -1;
    }
    *pp = p;
    *out = v;
    return 1;
}

/* A value of field f: a number in range, or a month or day name. */
static int
cron_value(struct cron_parser *cp, enum cron_field f, const char **pp, const char *end, int *out)
{
    const struct cron_field_info *fi = &cron_fields[f];
    const char *start = *pp;
    const char *p = start;
    int r, i, len;

    if (p < end && cron_is_digit(*p)) {
        if ((r = cron_number(cp, &p, end, out)) < 0)
            return -1;
        if (*out < fi->lo || *out > fi->hi) {
            cron_fail(cp, start, "%s %d out of range %d-%d", fi->name, *out, fi->lo, fi->hi);
            return -1;
        }
        *pp = p;
        return 0;
    }
    if (p >= end || !cron_is_alpha(*p)) {
        if (p >= end)
            cron_fail(cp, p, "expected a number in %s", fi->name);
        else
            cron_unexpected(cp, p, end, f);
        return -1;
    }
    while (p < end && cron_is_alpha(*p))
        p++;
    len = (int)(p - start);
    if (f == CRON_DOW && len == 4 && cron_upper(start[3]) == 'L') {
        /* FRIL: a day name with the "last" suffix, which the caller reads. */
        len = 3;
        p = start + 3;
    }
    if (f == CRON_MON || f == CRON_DOW) {
        const char *const *names = f == CRON_MON ? cron_month_names : cron_day_names;
        int n = f == CRON_MON ? 12 : 7;

        for (i = 0; len == 3 && i < n; i++) {
            if (cron_upper(start[0]) == names[i][0] && cron_upper(start[1]) == names[i][1] &&
                cron_upper(start[2]) == names[i][2]) {
                *out = f == CRON_MON ? i + 1 : i;
                *pp = p;
                return 0;
            }
        }
        if (f == CRON_DOW && len == 1 && cron_upper(*start) == 'L')
            cron_fail(cp, start,
                      "'L' alone is ambiguous in day of week (write 5L for the last Friday)");
        else
            cron_fail(cp, start, "unknown %s name '%.*s'", f == CRON_MON ? "month" : "day",
                      len > 16 ? 16 : len, start);
        return -1;
    }
    cron_fail(cp, start, "unexpected '%.*s' in %s", len > 16 ? 16 : len, start, fi->name);
    return -1;
}

/* Nearest weekday (Monday-Friday) to day d of a month of nd days, without
 * leaving the month: Saturday the 1st moves to Monday the 3rd, Sunday the
 * last moves to Friday. */
static int
cron_near_weekday(int d, int nd, int wday)
{
    if (wday == 6)
        return d == 1 ? 3 : d - 1;
    if (wday == 0)
        return d == nd ? d - 2 : d + 1;
    return d;
}

static void
cron_set_range(struct cron_set *s, int lo, int hi, int step, int base)
{
    int v;

    for (v = lo; v <= hi; v += step)
        s->w[(v - base) >> 6] |= UINT64_C(1) << ((v - base) & 63);
}

/* L, L-3, LW, L-3W in day of month: p is just after the 'L'. */
static int
cron_item_last(struct cron_parser *cp, struct cron_expr *ce, const char *p, const char *end)
{
    const char *at;
    int k = 0;
    int r;

    if (p < end && *p == '-') {
        at = ++p;
        if ((r = cron_number(cp, &p, end, &k)) < 0)
            return -1;
        if (r == 0) {
            cron_fail(cp, at, "expected a number after 'L-'");
            return -1;
        }
        if (k > 30) {
            cron_fail(cp, at, "'L-%d' out of range: at most L-30", k);
            return -1;
        }
    }
    if (p < end && cron_upper(*p) == 'W') {
        p++;
        if (p != end) {
            cron_unexpected(cp, p, end, CRON_DOM);
            return -1;
        }
        ce->dom_last_w |= UINT32_C(1) << k;
        return 0;
    }
    if (p != end) {
        cron_unexpected(cp, p, end, CRON_DOM);
        return -1;
    }
    ce->dom_last |= UINT32_C(1) << k;
    return 0;
}

/* One list item of field f in [p, end):
 *   '*' ['/' step]  |  value ['-' value] ['/' step]
 *   day of month only:  L [-n] [W]  |  n W
 *   day of week only:   value L  |  value '#' k
 * Plain values go into `set`; the day specials go straight into ce's masks,
 * since they depend on the month and cannot be a fixed set of days. */
static int
cron_item(struct cron_parser *cp, struct cron_expr *ce, enum cron_field f, struct cron_set *set,
          const char *p, const char *end)
{
    const struct cron_field_info *fi = &cron_fields[f];
    const char *start = p;
    const char *at;
    int lo, hi, k, r;
    int step = 1;
    int open_end = 0; /* "5/15": no explicit end, so the range runs to the field's end */

    if (p == end) {
        cron_fail(cp, p, "empty list item in %s", fi->name);
        return -1;
    }
    if (*p == '?') {
        if (f == CRON_DOM || f == CRON_DOW)
            cron_fail(cp, p, "'?' must be the whole %s field", fi->name);
        else
            cron_fail(cp, p, "'?' is only allowed in day of month and day of week");
        return -1;
    }
    if (*p == '*') {
        p++;
        lo = fi->lo;
        hi = fi->star_hi;
    } else if (f == CRON_DOM && cron_upper(*p) == 'L') {
        return cron_item_last(cp, ce, p + 1, end);
    } else {
        if (cron_value(cp, f, &p, end, &lo) < 0)
            return -1;
        hi = lo;
        if (f == CRON_DOM && p < end && cron_upper(*p) == 'W') {
            if (p + 1 != end) {
                cron_unexpected(cp, p + 1, end, f);
                return -1;
            }
            ce->dom_near_w |= UINT32_C(1) << lo;
            return 0;
        }
        if (f == CRON_DOW && p < end && cron_upper(*p) == 'L') {
            if (p + 1 != end) {
                cron_unexpected(cp, p + 1, end, f);
                return -1;
            }
            ce->dow_last |= (uint8_t)(1u << (lo % 7));
            return 0;
        }
        if (f == CRON_DOW && p < end && *p == '#') {
            at = ++p;
            if ((r = cron_number(cp, &p, end, &k)) < 0)
                return -1;
            if (r == 0 || k < 1 || k > 5) {
                cron_fail(cp, at, "'#' needs a week number from 1 to 5");
                return -1;
            }
            if (p != end) {
                cron_unexpected(cp, p, end, f);
                return -1;
            }
            ce->dow_nth[lo % 7] |= (uint8_t)(1u << (k - 1));
            return 0;
        }
        if (p < end && *p == '-') {
            p++;
            if (cron_value(cp, f, &p, end, &hi) < 0)
                return -1;
            if (f == CRON_DOW && hi == 0 && lo > 0)
                hi = 7; /* FRI-SUN: Sunday ending a range is day 7; SUN-SUN stays 0 */
            if (lo > hi) {
                cron_fail(cp, start, "range %.*s goes backwards", (int)(p - start), start);
                return -1;
            }
        } else {
            open_end = 1;
        }
    }
    if (p < end && *p == '/') {
        at = ++p;
        if ((r = cron_number(cp, &p, end, &step)) < 0)
            return -1;
        if (r == 0) {
            cron_fail(cp, at, "expected a number after '/'");
            return -1;
        }
        if (step < 1 || step > fi->hi - fi->lo + 1) {
            cron_fail(cp, at, "step %d out of range 1-%d", step, fi->hi - fi->lo + 1);
            return -1;
        }
        if (open_end)
            hi = fi->hi;
    }
    if (p != end) {
        if (f == CRON_DOM && cron_upper(*p) == 'W')
            cron_fail(cp, start, "'W' needs a single day, as in 15W");
        else
            cron_unexpected(cp, p, end, f);
        return -1;
    }
    cron_set_range(set, lo, hi, step, f == CRON_YEAR ? CRON_YEAR_MIN : 0);
    return 0;
}

/* A whole field in [s, end): "?" or a comma-separated list of items.  The
 * star flags record the field's first character, not its set: Vixie cron
 * decides how day of month and day of week combine from the text. */
static int
cron_field(struct cron_parser *cp, struct cron_expr *ce, enum cron_field f, const char *s,
           const char *end)
{
    struct cron_set set = { { 0, 0, 0, 0 } };
    const char *p = s;

    if (*s == '?' && end - s == 1 && (f == CRON_DOM || f == CRON_DOW)) {
        cron_set_range(&set, cron_fields[f].lo, cron_fields[f].star_hi, 1, 0);
    } else {
        for (;;) {
            const char *q = memchr(p, ',', (size_t)(end - p));

            if (q == NULL)
                q = end;
            if (cron_item(cp, ce, f, &set, p, q) < 0)
                return -1;
            if (q == end)
                break;
            p = q + 1;
        }
    }
    switch (f) {
    case CRON_SEC:
        ce->sec = set.w[0];
        break;
    case CRON_MIN:
        ce->min = set.w[0];
        break;
    case CRON_HOUR:
        ce->hour = (uint32_t)set.w[0];
        break;
    case CRON_DOM:
        ce->dom = (uint32_t)set.w[0];
        ce->dom_star = *s == '*' || *s == '?';
        break;
    case CRON_MON:
        ce->mon = (uint16_t)set.w[0];
        break;
    case CRON_DOW:
        ce->dow = (uint8_t)((set.w[0] & 0x7f) | ((set.w[0] >> 7) & 1));
        ce->dow_star = *s == '*' || *s == '?';
        break;
    case CRON_YEAR:
        memcpy(ce->year, set.w, sizeof(ce->year));
        break;
    case CRON_NFIELDS:
        break;
    }
    return 0;
}

/* Whether some selected month has a day the day-of-month field allows.
 * Only meaningful when that field must match on its own (dow starred). */
static int
cron_dom_possible(const struct cron_expr *ce)
{
    static const int max_days[12] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    int m;

    for (m = 1; m <= 12; m++) {
        int nd = max_days[m - 1];
        uint32_t below = (uint32_t)((UINT64_C(1) << nd) - 1); /* k < nd */

        if (!(ce->mon & (1u << m)))
            continue;
        if ((ce->dom & (below << 1)) || (ce->dom_near_w & (below << 1)) ||
            (ce->dom_last & below) || (ce->dom_last_w & below))
            return 1;
    }
    return 0;
}

static struct cron_expr *
cron_parse_macro(struct cron_parser *cp, const char *at)
{
    const char *p = at + 1;
    const char *word = p;
    size_t len, i;

    while (cron_is_alpha(*p))
        p++;
    len = (size_t)(p - word);
    for (i = 0; i < TC_ARRAY_LEN(cron_macros); i++) {
        const char *name = cron_macros[i].name;
        size_t j;

        if (strlen(name) != len)
            continue;
        for (j = 0; j < len && cron_upper(word[j]) == cron_upper(name[j]); j++)
            ;
        if (j < len)
            continue;
        while (cron_is_blank(*p))
            p++;
        if (*p != '\0') {
            cron_fail(cp, p, "unexpected text after @%s", name);
            return NULL;
        }
        return cron_parse(cron_macros[i].expansion, cp->err);
    }
    if ((len == 5 && strncmp(word, "every", 5) == 0) || (len == 2 && strncmp(word, "at", 2) == 0))
        cron_fail(cp, at, "@%.*s is a schedule, not a cron expression", (int)len, word);
    else if (len == 0)
        cron_fail(cp, at, "expected a macro name after '@'");
    else
        cron_fail(cp, at, "unknown macro '@%.*s'", len > 16 ? 16 : (int)len, word);
    return NULL;
}

struct cron_expr *
cron_parse(const char *text, struct cron_error *err)
{
    struct cron_parser cp = { text, err };
    struct cron_expr *ce = NULL;
    struct cron_expr *done = NULL; /* returned: ce once complete */
    const char *start[CRON_NFIELDS], *stop[CRON_NFIELDS];
    const char *extra = NULL; /* start of an eighth field */
    const char *p;
    int n = 0;
    int i, first;

    if (text == NULL) {
        cp.text = "";
        cron_fail(&cp, cp.text, "empty expression");
        return NULL;
    }
    if (strnlen(text, CRON_TEXT_MAX + 1) > CRON_TEXT_MAX) {
        cron_fail(&cp, text + CRON_TEXT_MAX, "expression too long (at most %d bytes)",
                  CRON_TEXT_MAX);
        return NULL;
    }
    for (p = text; cron_is_blank(*p); p++)
        ;
    if (*p == '\0') {
        cron_fail(&cp, p, "empty expression");
        return NULL;
    }
    if (*p == '@')
        return cron_parse_macro(&cp, p);
    while (*p != '\0') {
        if (n < CRON_NFIELDS)
            start[n] = p;
        else if (extra == NULL)
            extra = p;
        while (*p != '\0' && !cron_is_blank(*p))
            p++;
        if (n < CRON_NFIELDS)
            stop[n] = p;
        n++;
        while (cron_is_blank(*p))
            p++;
    }
    if (n < 5 || n > 7) {
        cron_fail(&cp, n < 5 ? p : extra,
                  "expected 5, 6 or 7 fields, found %d", n);
        return NULL;
    }
    if ((ce = calloc(1, sizeof(*ce))) == NULL) {
        cron_fail(&cp, text, "out of memory");
        return NULL;
    }
    /* Five fields start at the minute; six and seven at the second. */
    first = n == 5 ? CRON_MIN : CRON_SEC;
    for (i = 0; i < n; i++) {
        if (cron_field(&cp, ce, (enum cron_field)(first + i), start[i], stop[i]) < 0)
            goto out;
    }
    if (n == 5)
        ce->sec = 1;
    if (n < 7) {
        struct cron_set all = { { 0, 0, 0, 0 } };

        cron_set_range(&all, CRON_YEAR_MIN, CRON_YEAR_MAX, 1, CRON_YEAR_MIN);
        memcpy(ce->year, all.w, sizeof(ce->year));
    }
    ce->dom_special = ce->dom_last != 0 || ce->dom_last_w != 0 || ce->dom_near_w != 0;
    ce->dow_special = ce->dow_last != 0;
    for (i = 0; i < 7; i++)
        ce->dow_special |= ce->dow_nth[i] != 0;
    /* With the day of week starred the day of month must match by itself:
     * "0 0 30 2 *" can never fire, so say so now rather than search. */
    if (ce->dow_star && !ce->dom_star && !cron_dom_possible(ce)) {
        cron_fail(&cp, start[CRON_DOM - first],
                  "day of month never occurs in the selected months");
        goto out;
    }
    done = ce;
    ce = NULL;
out:
    free(ce);
    return done;
}

void
cron_free(struct cron_expr *ce)
{
    free(ce);
}

/* ---- search ------------------------------------------------------------ */

/* Lowest set bit of mask at or above `from`, or -1. */
static int
cron_bit_from(uint64_t mask, int from)
{
    if (from >= 64)
        return -1;
    mask &= ~UINT64_C(0) << from;
    return mask != 0 ? __builtin_ctzll(mask) : -1;
}

static int64_t
cron_year_from(const struct cron_expr *ce, int64_t year)
{
    int i = (int)(year - CRON_YEAR_MIN);

    for (; i <= CRON_YEAR_MAX - CRON_YEAR_MIN; i = (i | 63) + 1) {
        int b = cron_bit_from(ce->year[i >> 6], i & 63);

        if (b >= 0)
            return CRON_YEAR_MIN + (i & ~63) + b;
    }
    return -1;
}

/* Days of the month (bit d) on which the expression fires: day of month and
 * day of week are each turned into a mask of this month's days, then combined
 * by the Vixie rule.  Computed once per month visited, not per day. */
static uint32_t
cron_days(const struct cron_expr *ce, int64_t year, int mon)
{
    int nd = tz_days_in_month(year, mon);
    int64_t d1 = tz_days_from_civil(year, mon, 1);
    int wd1 = (int)(((d1 + 4) % 7 + 7) % 7); /* weekday of the 1st, 0 = Sunday */
    uint32_t valid = (uint32_t)((UINT64_C(1) << nd) - 1) << 1;
    uint32_t dom = ce->dom;
    uint32_t dow;
    uint64_t week;
    unsigned rot;
    int k, w;

    if (ce->dom_special) {
        for (k = 0; k < 31; k++) {
            int d = nd - k;

            if (d < 1)
                break;
            if (ce->dom_last & (UINT32_C(1) << k))
                dom |= UINT32_C(1) << d;
            if (ce->dom_last_w & (UINT32_C(1) << k))
                dom |= UINT32_C(1) << cron_near_weekday(d, nd, (wd1 + d - 1) % 7);
        }
        for (k = 1; k <= nd; k++) {
            if (ce->dom_near_w & (UINT32_C(1) << k))
                dom |= UINT32_C(1) << cron_near_weekday(k, nd, (wd1 + k - 1) % 7);
        }
    }
    /* Rotate the weekly pattern so that bit j is day j + 1, then repeat it
     * over five weeks. */
    rot = ((unsigned)ce->dow >> wd1 | (unsigned)ce->dow << (7 - wd1)) & 0x7f;
    week = rot | (uint64_t)rot << 7 | (uint64_t)rot << 14 | (uint64_t)rot << 21 |
           (uint64_t)rot << 28;
    dow = (uint32_t)(week << 1);
    if (ce->dow_special) {
        int last_wd = (wd1 + nd - 1) % 7;

        for (w = 0; w < 7; w++) {
            int first = 1 + (w - wd1 + 7) % 7;

            if (ce->dow_last & (1u << w))
                dow |= UINT32_C(1) << (nd - (last_wd - w + 7) % 7);
            for (k = 0; k < 5; k++) {
                if ((ce->dow_nth[w] & (1u << k)) && first + 7 * k <= nd)
                    dow |= UINT32_C(1) << (first + 7 * k);
            }
        }
    }
    if (ce->dom_star || ce->dow_star)
        return dom & dow & valid;
    return (dom | dow) & valid;
}

/* The first local time >= from that matches every field.  When a field has
 * no allowed value left, the next larger field is advanced and the smaller
 * ones reset; overflowing values (hour 24, day 32, month 13) are left for
 * the next pass to carry, which keeps each step a single mask lookup. */
static int
cron_search(const struct cron_expr *ce, int64_t from, int64_t *out)
{
    struct tz_civil c;
    int64_t y;
    int mo, d, h, mi, s, v, step;
    uint32_t days = 0;
    int64_t days_y = -1;
    int days_mo = 0;

    tz_civil_from_seconds(from, &c);
    y = c.year;
    mo = c.mon;
    d = c.mday;
    h = c.hour;
    mi = c.min;
    s = c.sec;
    if (y < CRON_YEAR_MIN) {
        y = CRON_YEAR_MIN;
        mo = d = 1;
        h = mi = s = 0;
    }
    for (step = 0; step < CRON_SEARCH_STEPS; step++) {
        int64_t ny;

        if (y > CRON_YEAR_MAX || (ny = cron_year_from(ce, y)) < 0)
            return -1;
        if (ny != y) {
            y = ny;
            mo = d = 1;
            h = mi = s = 0;
        }
        if ((v = cron_bit_from(ce->mon, mo)) < 0) {
            y++;
            mo = d = 1;
            h = mi = s = 0;
            continue;
        }
        if (v != mo) {
            mo = v;
            d = 1;
            h = mi = s = 0;
        }
        if (days_y != y || days_mo != mo) {
            days = cron_days(ce, y, mo);
            days_y = y;
            days_mo = mo;
        }
        if ((v = cron_bit_from(days, d)) < 0) {
            if (++mo > 12) {
                y++;
                mo = 1;
            }
            d = 1;
            h = mi = s = 0;
            continue;
        }
        if (v != d) {
            d = v;
            h = mi = s = 0;
        }
        if ((v = cron_bit_from(ce->hour, h)) < 0) {
            d++; /* past the month's end, the day mask finds nothing: next month */
            h = mi = s = 0;
            continue;
        }
        if (v != h) {
            h = v;
            mi = s = 0;
        }
        if ((v = cron_bit_from(ce->min, mi)) < 0) {
            h++;
            mi = s = 0;
            continue;
        }
        if (v != mi) {
            mi = v;
            s = 0;
        }
        if ((v = cron_bit_from(ce->sec, s)) < 0) {
            mi++;
            s = 0;
            continue;
        }
        c.year = y;
        c.mon = mo;
        c.mday = d;
        c.hour = h;
        c.min = mi;
        c.sec = v;
        *out = tz_seconds_from_civil(&c);
        return 0;
    }
    return -1;
}

/* The fields are matched against local time w; the instant of w is
 * tz_local_to_utc(w), the first instant the clock shows w or later.  That
 * map never decreases, so the first fire time after `after` is the instant
 * of the first matching w whose instant is > after, i.e. (tz.h) the first
 * matching w > tz_local_max(after).  A gap thus fires once at its end however
 * many matching local times it swallowed, and the repeated hour of an
 * overlap fires nothing that already fired in its first pass. */
int
cron_next(const struct cron_expr *ce, const struct tz *zone, int64_t after, int64_t *next)
{
    int64_t from, w, t;
    int tries;

    if (after >= CRON_T_MAX)
        return -1;
    if (after < CRON_T_MIN)
        after = CRON_T_MIN;
    from = (zone != NULL ? tz_local_max(zone, after) : after) + 1;
    /* One pass suffices by the argument above; the loop only guards against
     * a zone whose data contradicts itself. */
    for (tries = 0; tries < 4; tries++) {
        if (cron_search(ce, from, &w) < 0)
            return -1;
        t = zone != NULL ? tz_local_to_utc(zone, w) : w;
        if (t > after) {
            *next = t;
            return 0;
        }
        from = w + 1;
    }
    return -1;
}
