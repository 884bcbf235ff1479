/* tz.c - time zones from TZif files and POSIX TZ rules; local <-> UTC.
 *
 * A zone is a list of transitions (instants where the UTC offset or the
 * abbreviation changes) read from a TZif file, followed by a POSIX TZ rule
 * (the file's footer, e.g. "EST5EDT,M3.2.0,M11.1.0") that generates the
 * transitions of every later year.  Debian may ship "slim" files whose table
 * stops early and relies on the rule, so the rule is not optional: it is how
 * years up to 2199 get their daylight saving time.
 *
 * Every lookup goes through tz_segment(): the offset in effect at an instant
 * and the span [from, until) over which it holds.  Local-to-UTC and the
 * overlap high-water mark are then small walks over the few segments near
 * the time asked about, because a UTC offset is bounded (RFC 8536: -25 h to
 * +26 h), so only transitions within a day or two can matter.
 *
 * Glossary: see tz.h (instant, local time, gap, overlap).  A segment is a
 * maximal-or-smaller span of instants with one offset; adjacent segments may
 * share an offset, which every algorithm here tolerates.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tz.h"

#define TZ_DEFAULT_DIR "/usr/share/zoneinfo"
#define TZ_NAME_MAX 200
#define TZ_ABBR_MAX 16           /* abbreviations are 3-6 bytes in practice */
#define TZ_FILE_MAX (1 << 20)    /* the largest real zone file is a few KiB */
#define TZ_RULE_MAX 256
#define TZ_UTOFF_MIN (-89999)    /* RFC 8536 bounds for a UT offset */
#define TZ_UTOFF_MAX 93599
#define TZ_SPAN 93600            /* > |any offset|: width of the search windows */
#define TZ_SEG_STEPS 64          /* segments walked at most per lookup */
#define TZ_TABLE_END_YEAR 2210   /* rule transitions are tabulated up to here */

/* Instants are clamped to about +-2.2 million years before any arithmetic:
 * far beyond any schedule, and far from int64 overflow. */
#define TZ_T_LIMIT (INT64_C(1) << 46)

struct tz_type {
    int32_t utoff;
    int isdst;
    char abbr[TZ_ABBR_MAX];
};

/* One date of a POSIX rule: when the change happens in a given year. */
struct tz_rule_date {
    char kind;           /* 'J': Jn, 1-365, Feb 29 never counted; 'N': n, 0-365; 'M': Mm.w.d */
    int day;             /* J and N */
    int mon, week, wday; /* M: month 1-12, week 1-5 (5 = last), weekday 0-6 */
    int32_t secs;        /* local time of day of the change, -167 h to +167 h */
};

struct tz_rule {
    struct tz_type std;
    struct tz_type dst;
    int has_dst;
    struct tz_rule_date start; /* std -> dst, given in standard local time */
    struct tz_rule_date end;   /* dst -> std, given in daylight local time */
};

struct tz {
    char *name;           /* owned */
    int64_t *trans;       /* owned: strictly ascending transition instants */
    uint8_t *trans_type;  /* owned: index into types, in effect from trans[i] */
    size_t ntrans;
    struct tz_type *types; /* owned, at least one */
    size_t ntypes;
    int has_rule;         /* rule governs instants >= the last transition */
    int rule_before;      /* rule also governs instants < trans[0] (rule-only zones) */
    struct tz_rule rule;
};

/* Offset `type` holds for instants in [from, until). */
struct tz_seg {
    int64_t from;
    int64_t until;
    const struct tz_type *type;
};

static void tz_fail(struct tz_error *err, int pos, const char *fmt, ...) TC_PRINTF(3, 4);

static void
tz_fail(struct tz_error *err, int pos, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL)
        return;
    err->pos = pos;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
}

static int64_t
tz_clamp(int64_t t)
{
    if (t < -TZ_T_LIMIT)
        return -TZ_T_LIMIT;
    if (t > TZ_T_LIMIT)
        return TZ_T_LIMIT;
    return t;
}

/* ---- calendar ---------------------------------------------------------- */

/* Division rounding toward minus infinity (C rounds toward zero). */
static int64_t
tz_floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;

    if ((a % b != 0) && ((a < 0) != (b < 0)))
        q--;
    return q;
}

static int
tz_is_leap(int64_t year)
{
    return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

int
tz_days_in_month(int64_t year, int mon)
{
    static const int len[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

    if (mon < 1 || mon > 12)
        return 0;
    return len[mon - 1] + (mon == 2 && tz_is_leap(year));
}

/* Days since 1970-01-01.  The year is counted from March, so that the leap
 * day is the last day of its year and the month lengths from March on follow
 * the 153-days-per-5-months pattern. */
int64_t
tz_days_from_civil(int64_t year, int mon, int mday)
{
    int64_t y = mon <= 2 ? year - 1 : year;
    int64_t m = mon <= 2 ? mon + 9 : mon - 3; /* 0 = March ... 11 = February */
    int64_t days;

    days = 365 * y + tz_floor_div(y, 4) - tz_floor_div(y, 100) + tz_floor_div(y, 400);
    days += (153 * m + 2) / 5 + mday - 1;
    return days - 719468; /* the same sum for 1970-01-01 */
}

/* 0 = Sunday; 1970-01-01 was a Thursday. */
static int
tz_weekday(int64_t days)
{
    int64_t w = (days + 4) % 7;

    return (int)(w < 0 ? w + 7 : w);
}

void
tz_civil_from_seconds(int64_t s, struct tz_civil *out)
{
    int64_t days = tz_floor_div(s, 86400);
    int64_t rem = s - days * 86400;
    /* Count from 0000-03-01 in 400-year cycles of 146097 days. */
    int64_t z = days + 719468;
    int64_t cycle = tz_floor_div(z, 146097);
    int64_t doc = z - cycle * 146097;                  /* day of cycle, 0-146096 */
    int64_t yoc = (doc - doc / 1460 + doc / 36524 - doc / 146096) / 365; /* 0-399 */
    int64_t doy = doc - (365 * yoc + yoc / 4 - yoc / 100); /* from March 1, 0-365 */
    int64_t m = (5 * doy + 2) / 153;                   /* 0 = March */

    out->mday = (int)(doy - (153 * m + 2) / 5 + 1);
    out->mon = (int)(m < 10 ? m + 3 : m - 9);
    out->year = yoc + cycle * 400 + (out->mon <= 2);
    out->hour = (int)(rem / 3600);
    out->min = (int)(rem / 60 % 60);
    out->sec = (int)(rem % 60);
    out->wday = tz_weekday(days);
}

int64_t
tz_seconds_from_civil(const struct tz_civil *c)
{
    return tz_days_from_civil(c->year, c->mon, c->mday) * 86400 + c->hour * 3600 +
           c->min * 60 + c->sec;
}

/* ---- POSIX TZ rules ---------------------------------------------------- */

struct tz_reader {
    const char *text;
    const char *p;
    struct tz_error *err;
};

static int
tz_is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int
tz_is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int
tz_at(const struct tz_reader *rd)
{
    return (int)(rd->p - rd->text);
}

/* std or dst name: three or more letters, or <...> of letters, digits, +, -.
 * The quoted form exists for numeric names such as "<+0545>", which the
 * tz database uses for zones without an established abbreviation. */
static int
tz_rule_name(struct tz_reader *rd, char *out)
{
    const char *start;
    size_t len;

    if (*rd->p == '<') {
        start = ++rd->p;
        while (tz_is_alpha(*rd->p) || tz_is_digit(*rd->p) || *rd->p == '+' || *rd->p == '-')
            rd->p++;
        if (*rd->p != '>') {
            tz_fail(rd->err, tz_at(rd), "expected '>' to close the zone abbreviation");
            return -1;
        }
        len = (size_t)(rd->p - start);
        rd->p++;
    } else {
        start = rd->p;
        while (tz_is_alpha(*rd->p))
            rd->p++;
        len = (size_t)(rd->p - start);
    }
    if (len < 3 || len >= TZ_ABBR_MAX) {
        tz_fail(rd->err, (int)(start - rd->text), "zone abbreviation must have 3 to %d characters",
                TZ_ABBR_MAX - 1);
        return -1;
    }
    memcpy(out, start, len);
    out[len] = '\0';
    return 0;
}

/* [+-]hh[:mm[:ss]] with hh <= max_hours; returns seconds.  Offsets allow 24
 * hours (POSIX), transition times 167 (RFC 8536 extension, so that a rule can
 * say "Saturday 24:00" or "the day before at 23:00" from a weekday rule). */
static int
tz_rule_hms(struct tz_reader *rd, int max_hours, int32_t *out)
{
    int sign = 1;
    int part[3] = { 0, 0, 0 };
    int i;

    if (*rd->p == '+' || *rd->p == '-')
        sign = *rd->p++ == '-' ? -1 : 1;
    for (i = 0; i < 3; i++) {
        int digits = 0;
        int v = 0;
        int at;

        if (i > 0) {
            if (*rd->p != ':')
                break;
            rd->p++;
        }
        at = tz_at(rd);
        while (tz_is_digit(*rd->p) && digits < 3) {
            v = v * 10 + (*rd->p++ - '0');
            digits++;
        }
        if (digits == 0 || (i > 0 && digits > 2) || tz_is_digit(*rd->p)) {
            tz_fail(rd->err, tz_at(rd), "expected a time such as 2 or 02:00:00");
            return -1;
        }
        if ((i == 0 && v > max_hours) || (i > 0 && v > 59)) {
            tz_fail(rd->err, at, "time out of range in time zone rule");
            return -1;
        }
        part[i] = v;
    }
    *out = (int32_t)(sign * (part[0] * 3600 + part[1] * 60 + part[2]));
    return 0;
}

static int
tz_rule_number(struct tz_reader *rd, int lo, int hi, int *out)
{
    int v = 0;
    int digits = 0;
    int pos = tz_at(rd);

    while (tz_is_digit(*rd->p) && digits < 4) {
        v = v * 10 + (*rd->p++ - '0');
        digits++;
    }
    if (digits == 0 || tz_is_digit(*rd->p) || v < lo || v > hi) {
        tz_fail(rd->err, pos, "expected a number from %d to %d in time zone rule", lo, hi);
        return -1;
    }
    *out = v;
    return 0;
}

static int
tz_rule_date(struct tz_reader *rd, struct tz_rule_date *d)
{
    memset(d, 0, sizeof(*d));
    if (*rd->p == 'J') {
        rd->p++;
        d->kind = 'J';
        if (tz_rule_number(rd, 1, 365, &d->day) < 0)
            return -1;
    } else if (*rd->p == 'M') {
        rd->p++;
        d->kind = 'M';
        if (tz_rule_number(rd, 1, 12, &d->mon) < 0)
            return -1;
        if (*rd->p++ != '.') {
            tz_fail(rd->err, tz_at(rd) - 1, "expected '.' in Mm.w.d date");
            return -1;
        }
        if (tz_rule_number(rd, 1, 5, &d->week) < 0)
            return -1;
        if (*rd->p++ != '.') {
            tz_fail(rd->err, tz_at(rd) - 1, "expected '.' in Mm.w.d date");
            return -1;
        }
        if (tz_rule_number(rd, 0, 6, &d->wday) < 0)
            return -1;
    } else if (tz_is_digit(*rd->p)) {
        d->kind = 'N';
        if (tz_rule_number(rd, 0, 365, &d->day) < 0)
            return -1;
    } else {
        tz_fail(rd->err, tz_at(rd), "expected a date (Jn, n or Mm.w.d) in time zone rule");
        return -1;
    }
    d->secs = 7200; /* POSIX default: 02:00 */
    if (*rd->p == '/') {
        rd->p++;
        if (tz_rule_hms(rd, 167, &d->secs) < 0)
            return -1;
    }
    return 0;
}

/* The whole POSIX TZ string: std offset [dst [offset] [,start[/time],end[/time]]].
 * Positions in err are offsets in text. */
static int
tz_rule_parse(const char *text, struct tz_rule *r, struct tz_error *err)
{
    struct tz_reader rd = { text, text, err };
    int32_t off;

    memset(r, 0, sizeof(*r));
    if (tz_rule_name(&rd, r->std.abbr) < 0)
        return -1;
    if (tz_rule_hms(&rd, 24, &off) < 0)
        return -1;
    r->std.utoff = -off; /* POSIX counts hours west of Greenwich */
    if (*rd.p == '\0')
        return 0;
    if (tz_rule_name(&rd, r->dst.abbr) < 0)
        return -1;
    r->has_dst = 1;
    r->dst.isdst = 1;
    r->dst.utoff = r->std.utoff + 3600;
    if (*rd.p != '\0' && *rd.p != ',') {
        if (tz_rule_hms(&rd, 24, &off) < 0)
            return -1;
        r->dst.utoff = -off;
    }
    if (*rd.p == ',') {
        rd.p++;
        if (tz_rule_date(&rd, &r->start) < 0)
            return -1;
        if (*rd.p != ',') {
            tz_fail(err, tz_at(&rd), "expected ',' before the end of daylight saving time");
            return -1;
        }
        rd.p++;
        if (tz_rule_date(&rd, &r->end) < 0)
            return -1;
    } else {
        /* No dates: the POSIX default is implementation-defined; use the
         * US rule, as the C libraries do. */
        r->start = (struct tz_rule_date){ 'M', 0, 3, 2, 0, 7200 };
        r->end = (struct tz_rule_date){ 'M', 0, 11, 1, 0, 7200 };
    }
    if (*rd.p != '\0') {
        tz_fail(err, tz_at(&rd), "unexpected character in time zone rule");
        return -1;
    }
    return 0;
}

/* Instant of one change of the rule in `year`; utoff is the offset in effect
 * before the change, in which the rule states the time of day. */
static int64_t
tz_rule_change(const struct tz_rule_date *d, int64_t year, int32_t utoff)
{
    int64_t day;

    if (d->kind == 'J') {
        day = tz_days_from_civil(year, 1, 1) + d->day - 1 + (d->day >= 60 && tz_is_leap(year));
    } else if (d->kind == 'N') {
        day = tz_days_from_civil(year, 1, 1) + d->day;
    } else {
        int64_t first = tz_days_from_civil(year, d->mon, 1);
        int dim = tz_days_in_month(year, d->mon);
        int mday = 1 + (d->wday - tz_weekday(first) + 7) % 7 + 7 * (d->week - 1);

        while (mday > dim)
            mday -= 7; /* week 5 means "the last one" */
        day = first + mday - 1;
    }
    return day * 86400 + d->secs - utoff;
}

/* The segment of the rule containing t.  The changes of a few years around
 * t are sorted and the last one at or before t decides; sorting (rather
 * than assuming start < end) covers southern zones, negative DST (Dublin)
 * and the RFC 8536 "DST all year" form, where a year's end coincides with
 * the next start: at equal instants the end sorts first, so DST stays. */
static void
tz_rule_segment(const struct tz_rule *r, int64_t t, struct tz_seg *seg)
{
    struct tz_change {
        int64_t at;
        int to_dst;
    } ch[10];
    struct tz_civil c;
    int64_t first, year;
    int n, i, last;

    if (!r->has_dst) {
        seg->from = INT64_MIN;
        seg->until = INT64_MAX;
        seg->type = &r->std;
        return;
    }
    tz_civil_from_seconds(t, &c);
    /* Changes may sit up to 167 h off their date, so a year's changes can
     * fall into the next year; start one year back, more if needed. */
    for (first = c.year - 1; first >= c.year - 3; first--) {
        n = 0;
        for (year = first; year <= c.year + 1; year++) {
            ch[n].at = tz_rule_change(&r->start, year, r->std.utoff);
            ch[n++].to_dst = 1;
            ch[n].at = tz_rule_change(&r->end, year, r->dst.utoff);
            ch[n++].to_dst = 0;
        }
        for (i = 1; i < n; i++) {
            struct tz_change k = ch[i];
            int j = i - 1;

            while (j >= 0 && (ch[j].at > k.at || (ch[j].at == k.at && ch[j].to_dst > k.to_dst))) {
                ch[j + 1] = ch[j];
                j--;
            }
            ch[j + 1] = k;
        }
        last = -1;
        for (i = 0; i < n && ch[i].at <= t; i++)
            last = i;
        if (last >= 0) {
            seg->type = ch[last].to_dst ? &r->dst : &r->std;
            seg->from = ch[last].at;
            seg->until = last + 1 < n ? ch[last + 1].at : INT64_MAX;
            return;
        }
    }
    /* Unreachable for any rule the parser accepts; stay defined anyway. */
    seg->type = &r->std;
    seg->from = INT64_MIN;
    seg->until = ch[0].at;
}

static const struct tz_type *
tz_rule_type_at(const struct tz_rule *r, int64_t t)
{
    struct tz_seg seg;

    tz_rule_segment(r, t, &seg);
    return seg.type;
}

/* ---- segments ---------------------------------------------------------- */

static void
tz_segment(const struct tz *z, int64_t t, struct tz_seg *seg)
{
    size_t n = z->ntrans;
    size_t lo, hi;

    if (n == 0 || t >= z->trans[n - 1]) {
        if (z->has_rule) {
            tz_rule_segment(&z->rule, t, seg);
            if (n > 0 && seg->from < z->trans[n - 1])
                seg->from = z->trans[n - 1];
        } else {
            seg->type = n > 0 ? &z->types[z->trans_type[n - 1]] : &z->types[0];
            seg->from = n > 0 ? z->trans[n - 1] : INT64_MIN;
            seg->until = INT64_MAX;
        }
        return;
    }
    if (t < z->trans[0]) {
        if (z->rule_before) {
            tz_rule_segment(&z->rule, t, seg);
            if (seg->until > z->trans[0])
                seg->until = z->trans[0];
            return;
        }
        /* RFC 8536: type 0 holds before the first transition. */
        seg->type = &z->types[0];
        seg->from = INT64_MIN;
        seg->until = z->trans[0];
        return;
    }
    /* Largest i with trans[i] <= t; here trans[0] <= t < trans[n - 1]. */
    lo = 0;
    hi = n - 1;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;

        if (z->trans[mid] <= t)
            lo = mid;
        else
            hi = mid;
    }
    seg->type = &z->types[z->trans_type[lo]];
    seg->from = z->trans[lo];
    seg->until = z->trans[lo + 1];
}

void
tz_utc_to_local(const struct tz *z, int64_t t, struct tz_local *out)
{
    struct tz_seg seg;

    tz_segment(z, tz_clamp(t), &seg);
    out->utoff = seg.type->utoff;
    out->isdst = seg.type->isdst;
    out->abbr = seg.type->abbr;
}

/* min { t : t + utoff(t) >= local }.  Within one segment the wall clock runs
 * with the instants, so the answer in segment [from, until) with offset o is
 * max(from, local - o) if that is below until.  Walk the segments from a
 * point where the clock certainly still shows less than `local`. */
int64_t
tz_local_to_utc(const struct tz *z, int64_t local)
{
    struct tz_seg seg;
    int64_t t, c;
    int step;

    local = tz_clamp(local);
    t = local - TZ_SPAN;
    for (step = 0; step < TZ_SEG_STEPS; step++) {
        tz_segment(z, t, &seg);
        c = local - seg.type->utoff;
        if (c < seg.from)
            c = seg.from;
        if (c < seg.until)
            return c;
        t = seg.until;
    }
    return local - seg.type->utoff; /* only for corrupt zones with dense transitions */
}

/* max { s + utoff(s) : s <= t }.  An earlier segment can only exceed the
 * current wall clock if it ended less than two maximal offsets ago. */
int64_t
tz_local_max(const struct tz *z, int64_t t)
{
    struct tz_seg seg;
    int64_t s, end, best = INT64_MIN;
    int step;

    t = tz_clamp(t);
    s = t - 2 * TZ_SPAN;
    for (step = 0; step < TZ_SEG_STEPS; step++) {
        tz_segment(z, s, &seg);
        end = seg.until <= t ? seg.until - 1 : t;
        if (end + seg.type->utoff > best)
            best = end + seg.type->utoff;
        if (seg.until > t)
            return best;
        s = seg.until;
    }
    tz_segment(z, t, &seg);
    return best > t + seg.type->utoff ? best : t + seg.type->utoff;
}

/* ---- construction ------------------------------------------------------ */

/* Append the rule's transitions from the last tabulated one (or from 1900
 * for a zone that is only a rule) up to TZ_TABLE_END_YEAR, so that lookups in
 * every year a schedule can use are one binary search instead of a rule
 * evaluation.  The rule still answers beyond that year.  Returns 0, or -1
 * when out of memory (the zone is then still correct, only slower). */
static int
tz_tabulate_rule(struct tz *z)
{
    int64_t end = tz_days_from_civil(TZ_TABLE_END_YEAR, 1, 1) * 86400;
    int64_t t = z->ntrans > 0 ? z->trans[z->ntrans - 1] : tz_days_from_civil(1900, 1, 1) * 86400;
    size_t cap = z->ntrans + 2 * (TZ_TABLE_END_YEAR - 1900 + 2);
    struct tz_type *types;
    int64_t *trans;
    uint8_t *idx;
    size_t std_i, n = z->ntrans;

    if (!z->has_rule || !z->rule.has_dst || z->ntypes + 2 > 256)
        return 0;
    if ((types = realloc(z->types, (z->ntypes + 2) * sizeof(*types))) == NULL)
        return -1;
    z->types = types;
    std_i = z->ntypes;
    types[std_i] = z->rule.std;
    types[std_i + 1] = z->rule.dst;
    z->ntypes += 2;
    if ((trans = realloc(z->trans, cap * sizeof(*trans))) == NULL)
        return -1;
    z->trans = trans;
    if ((idx = realloc(z->trans_type, cap)) == NULL)
        return -1;
    z->trans_type = idx;
    if (n == 0) {
        struct tz_seg seg;

        /* Start at a change of the rule, so that before it the rule, and
         * after it the table, say the same thing. */
        tz_rule_segment(&z->rule, t, &seg);
        t = seg.until;
        z->rule_before = 1;
        trans[n] = t;
        idx[n++] = (uint8_t)(std_i + (tz_rule_type_at(&z->rule, t) == &z->rule.dst));
    }
    while (n < cap) {
        struct tz_seg seg;

        tz_rule_segment(&z->rule, t, &seg);
        if (seg.until >= end || seg.until == INT64_MAX)
            break;
        t = seg.until;
        trans[n] = t;
        idx[n++] = (uint8_t)(std_i + (tz_rule_type_at(&z->rule, t) == &z->rule.dst));
    }
    z->ntrans = n;
    return 0;
}

void
tz_free(struct tz *z)
{
    if (z == NULL)
        return;
    free(z->name);
    free(z->trans);
    free(z->trans_type);
    free(z->types);
    free(z);
}

const char *
tz_name(const struct tz *z)
{
    return z->name;
}

/* A zone with no transitions: one type, and the rule if any. */
static struct tz *
tz_new_bare(const char *name, struct tz_error *err)
{
    struct tz *z = calloc(1, sizeof(*z));

    if (z == NULL || (z->name = strdup(name != NULL ? name : "")) == NULL ||
        (z->types = calloc(1, sizeof(*z->types))) == NULL) {
        tz_free(z);
        tz_fail(err, 0, "out of memory");
        return NULL;
    }
    z->ntypes = 1;
    return z;
}

struct tz *
tz_from_rule(const char *rule, struct tz_error *err)
{
    struct tz *z = NULL;
    struct tz_rule r;

    if (rule == NULL || *rule == '\0') {
        tz_fail(err, 0, "empty time zone rule");
        return NULL;
    }
    if (strlen(rule) >= TZ_RULE_MAX) {
        tz_fail(err, TZ_RULE_MAX, "time zone rule too long");
        return NULL;
    }
    if (tz_rule_parse(rule, &r, err) < 0)
        return NULL;
    if ((z = tz_new_bare(rule, err)) == NULL)
        return NULL;
    z->types[0] = r.std;
    z->rule = r;
    z->has_rule = 1;
    if (tz_tabulate_rule(z) < 0) {
        tz_free(z);
        tz_fail(err, 0, "out of memory");
        return NULL;
    }
    return z;
}

static uint32_t
tz_be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t
tz_be64(const unsigned char *p)
{
    uint64_t u = (uint64_t)tz_be32(p) << 32 | tz_be32(p + 4);

    /* Two's complement without relying on an implementation-defined cast. */
    if (u <= (uint64_t)INT64_MAX)
        return (int64_t)u;
    return -(int64_t)(~u) - 1;
}

struct tzif_header {
    int version; /* 1, 2, 3, 4... */
    uint32_t isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt;
};

#define TZIF_HEADER_LEN 44

static int
tzif_header(const unsigned char *p, size_t len, struct tzif_header *h, struct tz_error *err)
{
    if (len < TZIF_HEADER_LEN || memcmp(p, "TZif", 4) != 0) {
        tz_fail(err, 0, len < TZIF_HEADER_LEN ? "zone file is truncated" : "not a TZif zone file");
        return -1;
    }
    if (p[4] != 0 && (p[4] < '2' || p[4] > '9')) {
        tz_fail(err, 0, "unknown TZif version");
        return -1;
    }
    h->version = p[4] == 0 ? 1 : p[4] - '0';
    h->isutcnt = tz_be32(p + 20);
    h->isstdcnt = tz_be32(p + 24);
    h->leapcnt = tz_be32(p + 28);
    h->timecnt = tz_be32(p + 32);
    h->typecnt = tz_be32(p + 36);
    h->charcnt = tz_be32(p + 40);
    return 0;
}

/* Size of the data block after a header; counts are 32-bit, so the sum fits
 * in 64 bits without overflow. */
static uint64_t
tzif_body_len(const struct tzif_header *h, unsigned timesize)
{
    return (uint64_t)h->timecnt * timesize + h->timecnt + (uint64_t)h->typecnt * 6 + h->charcnt +
           (uint64_t)h->leapcnt * (timesize + 4) + h->isstdcnt + h->isutcnt;
}

struct tz *
tz_from_tzif(const char *name, const void *data, size_t len, struct tz_error *err)
{
    const unsigned char *p = data;
    const unsigned char *times, *idx, *ttinfo, *chars;
    struct tzif_header h;
    struct tz *z = NULL;
    struct tz *done = NULL; /* returned: z once complete */
    unsigned timesize = 4;
    size_t off = TZIF_HEADER_LEN;
    uint64_t body;
    uint32_t i;

    /* Layout (RFC 8536): header, 32-bit data block, and for version 2 and
     * later a second header, a 64-bit data block and the footer rule.  Every
     * count comes from the file, so each block's size is checked against
     * what is left before anything in it is read. */
    if (tzif_header(p, len, &h, err) < 0)
        goto out;
    if (h.version >= 2) {
        /* Skip the 32-bit block: the 64-bit one that follows is complete. */
        body = tzif_body_len(&h, 4);
        if (body > len - off || tzif_header(p + off + body, len - off - body, &h, err) < 0) {
            tz_fail(err, 0, "zone file is truncated");
            goto out;
        }
        off += (size_t)body + TZIF_HEADER_LEN;
        timesize = 8;
    }
    body = tzif_body_len(&h, timesize);
    if (body > len - off) {
        tz_fail(err, 0, "zone file is truncated");
        goto out;
    }
    if (h.typecnt == 0 || h.typecnt > 256 || h.charcnt == 0 ||
        (h.isstdcnt != 0 && h.isstdcnt != h.typecnt) ||
        (h.isutcnt != 0 && h.isutcnt != h.typecnt)) {
        tz_fail(err, 0, "zone file has inconsistent counts");
        goto out;
    }
    /* "right/" zones count leap seconds in their instants: every schedule
     * would be off by the 27 s inserted since 1972.  Refuse them. */
    if (h.leapcnt != 0) {
        tz_fail(err, 0, "zone files with leap seconds are not supported");
        goto out;
    }
    times = p + off;
    idx = times + (size_t)h.timecnt * timesize;
    ttinfo = idx + h.timecnt;
    chars = ttinfo + (size_t)h.typecnt * 6;

    if ((z = tz_new_bare(name, err)) == NULL)
        goto out;
    free(z->types);
    z->types = calloc(h.typecnt, sizeof(*z->types));
    z->ntypes = h.typecnt;
    if (h.timecnt > 0) {
        z->trans = malloc((size_t)h.timecnt * sizeof(*z->trans));
        z->trans_type = malloc(h.timecnt);
    }
    if (z->types == NULL || (h.timecnt > 0 && (z->trans == NULL || z->trans_type == NULL))) {
        tz_fail(err, 0, "out of memory");
        goto out;
    }
    for (i = 0; i < h.typecnt; i++) {
        const unsigned char *e = ttinfo + (size_t)i * 6;
        uint32_t u = tz_be32(e);
        int32_t utoff = u <= (uint32_t)INT32_MAX ? (int32_t)u : -(int32_t)(~u) - 1;
        const char *abbr;
        size_t n;

        if (utoff < TZ_UTOFF_MIN || utoff > TZ_UTOFF_MAX || e[4] > 1 || e[5] >= h.charcnt) {
            tz_fail(err, 0, "zone file has a bad local time type");
            goto out;
        }
        abbr = (const char *)chars + e[5];
        n = strnlen(abbr, h.charcnt - e[5]);
        if (n == h.charcnt - e[5] || n >= TZ_ABBR_MAX) {
            tz_fail(err, 0, "zone file has a bad abbreviation");
            goto out;
        }
        z->types[i].utoff = utoff;
        z->types[i].isdst = e[4];
        memcpy(z->types[i].abbr, abbr, n);
        z->types[i].abbr[n] = '\0';
    }
    for (i = 0; i < h.timecnt; i++) {
        int64_t t;

        if (timesize == 8) {
            t = tz_be64(times + (size_t)i * 8);
        } else {
            uint32_t u = tz_be32(times + (size_t)i * 4);

            t = u <= (uint32_t)INT32_MAX ? (int64_t)u : -(int64_t)(~u) - 1;
        }
        if ((i > 0 && t <= z->trans[i - 1]) || idx[i] >= h.typecnt) {
            tz_fail(err, 0, "zone file has bad transitions");
            goto out;
        }
        z->trans[i] = t;
        z->trans_type[i] = idx[i];
    }
    z->ntrans = h.timecnt;

    if (h.version >= 2) {
        /* Footer: "\n" rule "\n"; an empty rule means "no rule". */
        const unsigned char *f = p + off + body;
        size_t left = len - off - (size_t)body;
        const unsigned char *nl;
        char rule[TZ_RULE_MAX];
        size_t n;

        if (left < 2 || f[0] != '\n' || (nl = memchr(f + 1, '\n', left - 1)) == NULL) {
            tz_fail(err, 0, "zone file has no footer");
            goto out;
        }
        n = (size_t)(nl - (f + 1));
        if (n >= sizeof(rule) || memchr(f + 1, '\0', n) != NULL) {
            tz_fail(err, 0, "zone file has a bad footer");
            goto out;
        }
        memcpy(rule, f + 1, n);
        rule[n] = '\0';
        if (n > 0) {
            struct tz_error rerr;

            if (tz_rule_parse(rule, &z->rule, &rerr) < 0) {
                tz_fail(err, 0, "zone file footer: %s", rerr.msg);
                goto out;
            }
            z->has_rule = 1;
        }
    }
    if (tz_tabulate_rule(z) < 0) {
        tz_fail(err, 0, "out of memory");
        goto out;
    }
    done = z;
    z = NULL;
out:
    tz_free(z);
    return done;
}

/* Zone names come from API input: allow only what IANA names use, so that
 * no name can leave the zone directory ("..", "/etc/passwd", "a//b"). */
static int
tz_check_name(const char *name, struct tz_error *err)
{
    size_t i;
    int comp_start = 1;

    if (name == NULL || *name == '\0') {
        tz_fail(err, 0, "empty time zone name");
        return -1;
    }
    for (i = 0; name[i] != '\0'; i++) {
        char c = name[i];

        if (i >= TZ_NAME_MAX) {
            tz_fail(err, (int)i, "time zone name too long");
            return -1;
        }
        if (c == '/') {
            if (comp_start) {
                tz_fail(err, (int)i, i == 0 ? "time zone name must not start with '/'"
                                            : "empty component in time zone name");
                return -1;
            }
            comp_start = 1;
            continue;
        }
        if (comp_start && !tz_is_alpha(c)) {
            tz_fail(err, (int)i, "each part of a time zone name must start with a letter");
            return -1;
        }
        if (!tz_is_alpha(c) && !tz_is_digit(c) && c != '_' && c != '+' && c != '-') {
            tz_fail(err, (int)i, "unexpected character in time zone name");
            return -1;
        }
        comp_start = 0;
    }
    if (comp_start) {
        tz_fail(err, (int)i - 1, "time zone name must not end with '/'");
        return -1;
    }
    return 0;
}

struct tz *
tz_load(const char *name, struct tz_error *err)
{
    char path[4096];
    unsigned char *buf = NULL;
    struct tz *z = NULL;
    struct stat st;
    const char *dir;
    size_t got = 0;
    int fd = -1;
    int n;

    if (tz_check_name(name, err) < 0)
        goto out;
    if (strcmp(name, "UTC") == 0 || strcmp(name, "Etc/UTC") == 0) {
        /* Built in, so that the default zone works without tzdata. */
        if ((z = tz_new_bare(name, err)) != NULL)
            strcpy(z->types[0].abbr, "UTC");
        goto out;
    }
    dir = getenv("TZDIR");
    if (dir == NULL || *dir == '\0')
        dir = TZ_DEFAULT_DIR;
    n = snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= sizeof(path)) {
        tz_fail(err, 0, "time zone path too long");
        goto out;
    }
    /* O_NONBLOCK: never hang on a FIFO planted in the zone directory. */
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP || errno == ENAMETOOLONG)
            tz_fail(err, 0, "unknown time zone '%.60s'", name);
        else
            tz_fail(err, 0, "cannot open the zone file of '%.60s' (errno %d)", name, errno);
        goto out;
    }
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        tz_fail(err, 0, "unknown time zone '%.60s'", name);
        goto out;
    }
    if (st.st_size > TZ_FILE_MAX) {
        tz_fail(err, 0, "zone file of '%.60s' is too large", name);
        goto out;
    }
    if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
        tz_fail(err, 0, "out of memory");
        goto out;
    }
    while (got < (size_t)st.st_size) {
        ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);

        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    if (got != (size_t)st.st_size) {
        tz_fail(err, 0, "cannot read the zone file of '%.60s'", name);
        goto out;
    }
    {
        struct tz_error ferr;

        z = tz_from_tzif(name, buf, got, &ferr);
        if (z == NULL)
            tz_fail(err, 0, "bad zone file for '%.40s': %.70s", name, ferr.msg);
    }
out:
    if (fd >= 0)
        close(fd);
    free(buf);
    return z;
}

/* ---- timestamps -------------------------------------------------------- */

/* Exactly `digits` digits at rd->p. */
static int
tz_time_field(struct tz_reader *rd, int digits, int *out, const char *what)
{
    int v = 0;
    int i;

    for (i = 0; i < digits; i++) {
        if (!tz_is_digit(rd->p[i])) {
            tz_fail(rd->err, tz_at(rd) + i, "expected %d-digit %s", digits, what);
            return -1;
        }
        v = v * 10 + (rd->p[i] - '0');
    }
    rd->p += digits;
    *out = v;
    return 0;
}

static int
tz_time_expect(struct tz_reader *rd, char c, const char *what)
{
    if (*rd->p != c) {
        tz_fail(rd->err, tz_at(rd), "expected '%c' %s", c, what);
        return -1;
    }
    rd->p++;
    return 0;
}

/* Strict about shape (fixed digit counts, no blanks) so that an error can
 * point at the character that is wrong; lenient only where RFC 3339 and
 * ISO 8601 both allow variants (T or blank, z or Z, +HH:MM / +HHMM / +HH). */
int
tz_parse_time(const struct tz *z, const char *text, int64_t *out, struct tz_error *err)
{
    struct tz_reader rd = { text, text, err };
    struct tz_civil c = { 0, 0, 0, 0, 0, 0, 0 };
    int year, pos, off_h = 0, off_m = 0, sign = 0;
    int64_t local;

    if (text == NULL || *text == '\0') {
        tz_fail(err, 0, "empty timestamp");
        return -1;
    }
    if (tz_time_field(&rd, 4, &year, "year") < 0 || tz_time_expect(&rd, '-', "after the year") < 0)
        return -1;
    c.year = year;
    pos = tz_at(&rd);
    if (tz_time_field(&rd, 2, &c.mon, "month") < 0)
        return -1;
    if (c.mon < 1 || c.mon > 12) {
        tz_fail(err, pos, "month %d out of range 1-12", c.mon);
        return -1;
    }
    if (tz_time_expect(&rd, '-', "after the month") < 0)
        return -1;
    pos = tz_at(&rd);
    if (tz_time_field(&rd, 2, &c.mday, "day") < 0)
        return -1;
    if (c.mday < 1 || c.mday > tz_days_in_month(c.year, c.mon)) {
        tz_fail(err, pos, "day %d out of range for %04d-%02d", c.mday, year, c.mon);
        return -1;
    }
    if (*rd.p != 'T' && *rd.p != 't' && *rd.p != ' ') {
        tz_fail(err, tz_at(&rd), "expected 'T' and a time after the date");
        return -1;
    }
    rd.p++;
    pos = tz_at(&rd);
    if (tz_time_field(&rd, 2, &c.hour, "hour") < 0)
        return -1;
    if (c.hour > 23) {
        tz_fail(err, pos, "hour %d out of range 0-23", c.hour);
        return -1;
    }
    if (tz_time_expect(&rd, ':', "after the hour") < 0)
        return -1;
    pos = tz_at(&rd);
    if (tz_time_field(&rd, 2, &c.min, "minute") < 0)
        return -1;
    if (c.min > 59) {
        tz_fail(err, pos, "minute %d out of range 0-59", c.min);
        return -1;
    }
    if (*rd.p == ':') {
        rd.p++;
        pos = tz_at(&rd);
        if (tz_time_field(&rd, 2, &c.sec, "second") < 0)
            return -1;
        if (c.sec > 59) {
            tz_fail(err, pos, "second %d out of range 0-59", c.sec);
            return -1;
        }
        if (*rd.p == '.' || *rd.p == ',') {
            rd.p++;
            if (!tz_is_digit(*rd.p)) {
                tz_fail(err, tz_at(&rd), "expected digits after the decimal point");
                return -1;
            }
            while (tz_is_digit(*rd.p))
                rd.p++;
        }
    }
    if (*rd.p == 'Z' || *rd.p == 'z') {
        rd.p++;
        sign = 1;
    } else if (*rd.p == '+' || *rd.p == '-') {
        sign = *rd.p++ == '-' ? -1 : 1;
        pos = tz_at(&rd);
        if (tz_time_field(&rd, 2, &off_h, "offset hour") < 0)
            return -1;
        if (*rd.p == ':')
            rd.p++;
        if (tz_is_digit(*rd.p) && tz_time_field(&rd, 2, &off_m, "offset minute") < 0)
            return -1;
        if (off_h > 23 || off_m > 59) {
            tz_fail(err, pos, "offset out of range");
            return -1;
        }
    }
    if (*rd.p != '\0') {
        tz_fail(err, tz_at(&rd), sign == 0 ? "expected 'Z' or an offset such as +02:00"
                                           : "unexpected text after the timestamp");
        return -1;
    }
    local = tz_seconds_from_civil(&c);
    if (sign == 0)
        *out = z != NULL ? tz_local_to_utc(z, local) : local;
    else
        *out = local - sign * (off_h * 3600 + off_m * 60);
    return 0;
}

int
tz_format_time(const struct tz *z, int64_t t, char *buf, size_t size)
{
    struct tz_local l = { 0, 0, "UTC" };
    struct tz_civil c;
    int32_t a;
    int n;

    t = tz_clamp(t);
    if (z != NULL)
        tz_utc_to_local(z, t, &l);
    tz_civil_from_seconds(t + l.utoff, &c);
    a = l.utoff < 0 ? -l.utoff : l.utoff;
    n = snprintf(buf, size, "%04lld-%02d-%02dT%02d:%02d:%02d%c%02d:%02d", (long long)c.year, c.mon,
                 c.mday, c.hour, c.min, c.sec, l.utoff < 0 ? '-' : '+', (int)(a / 3600),
                 (int)(a / 60 % 60));
    if (n >= 0 && (size_t)n < size && a % 60 != 0) {
        /* Only local mean time before 1900 has offsets with seconds. */
        int m = snprintf(buf + n, size - (size_t)n, ":%02d", (int)(a % 60));

        n = m < 0 ? m : n + m;
    }
    return n < 0 || (size_t)n >= size ? -1 : 0;
}
