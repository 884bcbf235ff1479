/* check_tz.c - unit tests of tz.c (links only tz.c).
 *
 * Besides fixed cases, the zone conversions are compared with the C
 * library's localtime_r() for every zone of the system database: that is an
 * independent reader of the same files (tests are single-threaded, so
 * setting TZ here is fine; tz.c itself never does).  Gap and overlap
 * handling is checked against a second-by-second brute force.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tc_check.h"
#include "tz.h"

#define ZONEINFO "/usr/share/zoneinfo"

/* For hot loops: a passing ck_assert costs a write to Check's log file. */
#define REQUIRE(cond, ...)                                                                       \
    do {                                                                                         \
        if (!(cond))                                                                             \
            ck_abort_msg(__VA_ARGS__);                                                           \
    } while (0)

static int64_t
iso(const char *text)
{
    struct tz_error err;
    int64_t t;

    if (tz_parse_time(NULL, text, &t, &err) < 0)
        ck_abort_msg("bad test timestamp %s: %s", text, err.msg);
    return t;
}

static struct tz *
load(const char *name)
{
    struct tz_error err;
    struct tz *z = tz_load(name, &err);

    ck_assert_msg(z != NULL, "%s: %s", name, err.msg);
    return z;
}

static const char *
fmt(const struct tz *z, int64_t t)
{
    static char buf[4][64];
    static int n;
    char *b = buf[n++ % 4];

    ck_assert_int_eq(tz_format_time(z, t, b, sizeof(buf[0])), 0);
    return b;
}

/* ---- names ------------------------------------------------------------- */

static const struct {
    const char *name;
    int pos;
    const char *msg;
} bad_names[] = {
    { "", 0, "empty time zone name" },
    { "/etc/passwd", 0, "time zone name must not start with '/'" },
    { "../etc/passwd", 0, "each part of a time zone name must start with a letter" },
    { "America/../../etc/passwd", 8, "each part of a time zone name must start with a letter" },
    { "America//New_York", 8, "empty component in time zone name" },
    { "America/", 7, "time zone name must not end with '/'" },
    { ".hidden", 0, "each part of a time zone name must start with a letter" },
    { "Europe/Lon don", 10, "unexpected character in time zone name" },
    { "Europe/London\n", 13, "unexpected character in time zone name" },
    { "zone.tab", 4, "unexpected character in time zone name" },
    { "Etc/GMT+5/..", 10, "each part of a time zone name must start with a letter" },
    { "Asia/Tokyo\\x", 10, "unexpected character in time zone name" },
    { "Mars/Base", 0, "unknown time zone 'Mars/Base'" },
    { "America", 0, "unknown time zone 'America'" },
    { "America/New_York/x", 0, "unknown time zone 'America/New_York/x'" },
};

START_TEST(test_tz__bad_names)
{
    struct tz_error err = { -1, "" };

    ck_assert_ptr_null(tz_load(bad_names[_i].name, &err));
    ck_assert_msg(err.pos == bad_names[_i].pos && strcmp(err.msg, bad_names[_i].msg) == 0,
                  "'%s': got '%s' at %d", bad_names[_i].name, err.msg, err.pos);
}
END_TEST

START_TEST(test_tz__long_name)
{
    char name[300];
    struct tz_error err;

    memset(name, 'a', sizeof(name) - 1);
    name[sizeof(name) - 1] = '\0';
    ck_assert_ptr_null(tz_load(name, &err));
    ck_assert_str_eq(err.msg, "time zone name too long");
    ck_assert_ptr_null(tz_load(NULL, &err));
}
END_TEST

/* UTC needs no tz database at all. */
START_TEST(test_tz__utc_builtin)
{
    struct tz_error err;
    struct tz_local l;
    struct tz *z;

    setenv("TZDIR", "/nonexistent/zoneinfo", 1);
    z = load("UTC");
    ck_assert_str_eq(tz_name(z), "UTC");
    tz_utc_to_local(z, 1700000000, &l);
    ck_assert_int_eq(l.utoff, 0);
    ck_assert_int_eq(l.isdst, 0);
    ck_assert_str_eq(l.abbr, "UTC");
    ck_assert_int_eq(tz_local_to_utc(z, 1700000000), 1700000000);
    ck_assert_str_eq(fmt(z, 0), "1970-01-01T00:00:00+00:00");
    tz_free(z);
    z = load("Etc/UTC");
    tz_free(z);
    ck_assert_ptr_null(tz_load("Europe/London", &err));
    ck_assert_str_eq(err.msg, "unknown time zone 'Europe/London'");
    unsetenv("TZDIR");
    tz_free(NULL);
}
END_TEST

/* ---- fixed conversions ------------------------------------------------- */

static const struct {
    const char *zone;
    const char *utc;   /* instant */
    const char *local; /* tz_format_time of it */
    const char *abbr;
    int isdst;
} conversions[] = {
    { "America/New_York", "2026-03-08T06:59:59Z", "2026-03-08T01:59:59-05:00", "EST", 0 },
    { "America/New_York", "2026-03-08T07:00:00Z", "2026-03-08T03:00:00-04:00", "EDT", 1 },
    { "America/New_York", "2026-11-01T05:59:59Z", "2026-11-01T01:59:59-04:00", "EDT", 1 },
    { "America/New_York", "2026-11-01T06:00:00Z", "2026-11-01T01:00:00-05:00", "EST", 0 },
    { "America/New_York", "2150-07-01T12:00:00Z", "2150-07-01T08:00:00-04:00", "EDT", 1 },
    { "America/New_York", "2199-12-31T12:00:00Z", "2199-12-31T07:00:00-05:00", "EST", 0 },
    { "America/New_York", "1880-01-01T00:00:00Z", "1879-12-31T19:03:58-04:56:02", "LMT", 0 },
    { "Europe/London", "2026-03-29T00:59:59Z", "2026-03-29T00:59:59+00:00", "GMT", 0 },
    { "Europe/London", "2026-03-29T01:00:00Z", "2026-03-29T02:00:00+01:00", "BST", 1 },
    { "Europe/London", "2026-10-25T01:00:00Z", "2026-10-25T01:00:00+00:00", "GMT", 0 },
    { "Europe/London", "2100-06-01T00:00:00Z", "2100-06-01T01:00:00+01:00", "BST", 1 },
    { "Australia/Lord_Howe", "2026-04-04T14:59:59Z", "2026-04-05T01:59:59+11:00", "+11", 1 },
    { "Australia/Lord_Howe", "2026-04-04T15:00:00Z", "2026-04-05T01:30:00+10:30", "+1030", 0 },
    { "Australia/Lord_Howe", "2026-10-03T15:29:59Z", "2026-10-04T01:59:59+10:30", "+1030", 0 },
    { "Australia/Lord_Howe", "2026-10-03T15:30:00Z", "2026-10-04T02:30:00+11:00", "+11", 1 },
    { "Australia/Lord_Howe", "2180-01-01T00:00:00Z", "2180-01-01T11:00:00+11:00", "+11", 1 },
    { "Asia/Kathmandu", "2026-01-01T00:00:00Z", "2026-01-01T05:45:00+05:45", "+0545", 0 },
    { "Asia/Kathmandu", "1986-01-01T00:00:00Z", "1986-01-01T05:45:00+05:45", "+0545", 0 },
    { "Asia/Kathmandu", "1985-12-31T18:29:59Z", "1985-12-31T23:59:59+05:30", "+0530", 0 },
    /* Dublin: IST is standard time in summer, GMT the "daylight" one in winter. */
    { "Europe/Dublin", "2026-01-15T12:00:00Z", "2026-01-15T12:00:00+00:00", "GMT", 1 },
    { "Europe/Dublin", "2026-07-15T12:00:00Z", "2026-07-15T13:00:00+01:00", "IST", 0 },
    { "Asia/Shanghai", "2026-06-01T00:00:00Z", "2026-06-01T08:00:00+08:00", "CST", 0 },
};

START_TEST(test_tz__conversions)
{
    struct tz *z = load(conversions[_i].zone);
    int64_t t = iso(conversions[_i].utc);
    struct tz_local l;

    tz_utc_to_local(z, t, &l);
    ck_assert_str_eq(fmt(z, t), conversions[_i].local);
    ck_assert_str_eq(l.abbr, conversions[_i].abbr);
    ck_assert_int_eq(l.isdst, conversions[_i].isdst);
    tz_free(z);
}
END_TEST

/* ---- local to UTC: gaps and overlaps ----------------------------------- */

static const struct {
    const char *zone;
    const char *local; /* wall time, no offset */
    const char *instant;
} local_cases[] = {
    /* Ordinary. */
    { "America/New_York", "2026-07-01T12:00:00", "2026-07-01T12:00:00-04:00" },
    /* Gap: 02:00-03:00 does not exist; everything in it maps to 03:00 EDT. */
    { "America/New_York", "2026-03-08T01:59:59", "2026-03-08T01:59:59-05:00" },
    { "America/New_York", "2026-03-08T02:00:00", "2026-03-08T03:00:00-04:00" },
    { "America/New_York", "2026-03-08T02:30:00", "2026-03-08T03:00:00-04:00" },
    { "America/New_York", "2026-03-08T02:59:59", "2026-03-08T03:00:00-04:00" },
    { "America/New_York", "2026-03-08T03:00:00", "2026-03-08T03:00:00-04:00" },
    /* Overlap: 01:00-02:00 happens twice; the first (EDT) wins. */
    { "America/New_York", "2026-11-01T00:59:59", "2026-11-01T00:59:59-04:00" },
    { "America/New_York", "2026-11-01T01:00:00", "2026-11-01T01:00:00-04:00" },
    { "America/New_York", "2026-11-01T01:59:59", "2026-11-01T01:59:59-04:00" },
    { "America/New_York", "2026-11-01T02:00:00", "2026-11-01T02:00:00-05:00" },
    /* Europe/London: gap 01:00-02:00, overlap 01:00-02:00. */
    { "Europe/London", "2026-03-29T01:30:00", "2026-03-29T02:00:00+01:00" },
    { "Europe/London", "2026-10-25T01:30:00", "2026-10-25T01:30:00+01:00" },
    /* Lord Howe: half-hour shifts. */
    { "Australia/Lord_Howe", "2026-10-04T02:00:00", "2026-10-04T02:30:00+11:00" },
    { "Australia/Lord_Howe", "2026-10-04T02:29:59", "2026-10-04T02:30:00+11:00" },
    { "Australia/Lord_Howe", "2026-04-05T01:30:00", "2026-04-05T01:30:00+11:00" },
    { "Australia/Lord_Howe", "2026-04-05T01:59:59", "2026-04-05T01:59:59+11:00" },
    { "Australia/Lord_Howe", "2026-04-05T02:00:00", "2026-04-05T02:00:00+10:30" },
    /* Kathmandu 1986: clocks moved 15 minutes forward. */
    { "Asia/Kathmandu", "1986-01-01T00:07:00", "1986-01-01T00:15:00+05:45" },
    /* Far future, from the footer rule. */
    { "America/New_York", "2199-03-10T02:30:00", "2199-03-10T03:00:00-04:00" },
    { "America/New_York", "2199-11-03T01:30:00", "2199-11-03T01:30:00-04:00" },
};

START_TEST(test_tz__local_to_utc)
{
    struct tz *z = load(local_cases[_i].zone);
    struct tz_error err;
    int64_t t, want;

    ck_assert_msg(tz_parse_time(z, local_cases[_i].local, &t, &err) == 0, "%s", err.msg);
    want = iso(local_cases[_i].instant);
    ck_assert_msg(t == want, "%s %s: got %s, expected %s", local_cases[_i].zone,
                  local_cases[_i].local, fmt(z, t), local_cases[_i].instant);
    tz_free(z);
}
END_TEST

/* tz_local_to_utc(w) == min { t : L(t) >= w } and tz_local_max(t) ==
 * max { L(s) : s <= t }, by brute force over every second around each
 * transition of a few zones, where L(t) = t + utoff(t). */
static const struct {
    const char *zone;
    const char *around;
} brute_cases[] = {
    { "America/New_York", "2026-03-08T07:00:00Z" },
    { "America/New_York", "2026-11-01T06:00:00Z" },
    { "Europe/London", "2026-10-25T01:00:00Z" },
    { "Australia/Lord_Howe", "2026-04-04T15:00:00Z" },
    { "Australia/Lord_Howe", "2026-10-03T15:30:00Z" },
    { "Asia/Kathmandu", "1985-12-31T18:30:00Z" },
    { "Antarctica/Troll", "2026-03-29T01:00:00Z" },
    { "Antarctica/Troll", "2026-10-25T01:00:00Z" },
    { "America/New_York", "2190-11-06T06:00:00Z" },
};

START_TEST(test_tz__brute_force)
{
    struct tz *z = load(brute_cases[_i].zone);
    int64_t c = iso(brute_cases[_i].around);
    const int64_t span = 4 * 3600;
    int64_t n = 2 * span + 1, i, w;
    int64_t *wall = malloc((size_t)n * sizeof(*wall));
    int64_t high = INT64_MIN;

    ck_assert_ptr_nonnull(wall);
    for (i = 0; i < n; i++) {
        struct tz_local l;

        tz_utc_to_local(z, c - span + i, &l);
        wall[i] = c - span + i + l.utoff;
        if (wall[i] > high)
            high = wall[i];
        /* High-water mark; the first point has no history in the window but
         * is far from any transition. */
        REQUIRE(tz_local_max(z, c - span + i) == high, "%s local_max(%s)", brute_cases[_i].zone,
                fmt(z, c - span + i));
    }
    /* The first index whose wall time reaches w only moves forward as w grows. */
    for (i = 0, w = wall[0] + 1; w < wall[n - 1] - 3 * 3600; w++) {
        while (wall[i] < w)
            i++;
        REQUIRE(tz_local_to_utc(z, w) == c - span + i, "%s local %lld", brute_cases[_i].zone,
                (long long)w);
    }
    free(wall);
    tz_free(z);
}
END_TEST

/* ---- POSIX rules ------------------------------------------------------- */

static const struct {
    const char *rule;
    const char *utc;
    const char *local;
} rule_cases[] = {
    { "EST5EDT,M3.2.0,M11.1.0", "2026-03-08T06:59:59Z", "2026-03-08T01:59:59-05:00" },
    { "EST5EDT,M3.2.0,M11.1.0", "2026-03-08T07:00:00Z", "2026-03-08T03:00:00-04:00" },
    { "EST5EDT,M3.2.0,M11.1.0", "2026-11-01T06:00:00Z", "2026-11-01T01:00:00-05:00" },
    { "EST5EDT", "2026-07-01T00:00:00Z", "2026-06-30T20:00:00-04:00" }, /* US default dates */
    { "<+1030>-10:30<+11>-11,M10.1.0,M4.1.0", "2026-10-03T15:30:00Z",
      "2026-10-04T02:30:00+11:00" },
    { "<+1030>-10:30<+11>-11,M10.1.0,M4.1.0", "2026-04-04T15:00:00Z",
      "2026-04-05T01:30:00+10:30" },
    { "IST-1GMT0,M10.5.0,M3.5.0/1", "2026-01-01T00:00:00Z", "2026-01-01T00:00:00+00:00" },
    { "IST-1GMT0,M10.5.0,M3.5.0/1", "2026-03-29T01:00:00Z", "2026-03-29T02:00:00+01:00" },
    { "<-02>2<-01>,M3.5.0/-1,M10.5.0/0", "2026-03-29T01:00:00Z", "2026-03-29T00:00:00-01:00" },
    { "<-02>2<-01>,M3.5.0/-1,M10.5.0/0", "2026-03-29T00:59:59Z", "2026-03-28T22:59:59-02:00" },
    { "EST5EDT,0/0,J365/25", "2026-01-01T05:00:00Z", "2026-01-01T01:00:00-04:00" },
    { "EST5EDT,0/0,J365/25", "2026-12-31T23:00:00Z", "2026-12-31T19:00:00-04:00" },
    { "<+0545>-5:45", "2026-01-01T00:00:00Z", "2026-01-01T05:45:00+05:45" },
    { "CET-1CEST,M3.5.0,M10.5.0/3", "2026-10-25T00:59:59Z", "2026-10-25T02:59:59+02:00" },
    { "CET-1CEST,M3.5.0,M10.5.0/3", "2026-10-25T01:00:00Z", "2026-10-25T02:00:00+01:00" },
    /* J60 is March 1 even in leap years; zero-based 59 is February 29 then. */
    { "XXX3YYY,J60/2,J300/2", "2024-03-01T05:00:00Z", "2024-03-01T03:00:00-02:00" },
    { "XXX3YYY,59/2,300/2", "2024-02-29T05:00:00Z", "2024-02-29T03:00:00-02:00" },
    { "<-03>3<-02>,M3.5.0/-2,M10.5.0/-1", "2026-03-29T01:00:00Z", "2026-03-28T23:00:00-02:00" },
    { "<-03>3<-02>,M3.5.0/-2,M10.5.0/-1", "2026-03-29T00:59:59Z", "2026-03-28T21:59:59-03:00" },
    { "AAA-14BBB-13,M1.1.0/167,M12.5.6/-167", "2026-06-01T00:00:00Z",
      "2026-06-01T13:00:00+13:00" },
};

START_TEST(test_tz__rules)
{
    struct tz_error err;
    struct tz *z = tz_from_rule(rule_cases[_i].rule, &err);
    int64_t t = iso(rule_cases[_i].utc);

    ck_assert_msg(z != NULL, "%s: %s at %d", rule_cases[_i].rule, err.msg, err.pos);
    ck_assert_str_eq(tz_name(z), rule_cases[_i].rule);
    ck_assert_msg(strcmp(fmt(z, t), rule_cases[_i].local) == 0, "%s at %s: %s",
                  rule_cases[_i].rule, rule_cases[_i].utc, fmt(z, t));
    tz_free(z);
}
END_TEST

static const struct {
    const char *rule;
    int pos;
    const char *msg;
} bad_rules[] = {
    { "", 0, "empty time zone rule" },
    { "E5", 0, "zone abbreviation must have 3 to 15 characters" },
    { "EST", 3, "expected a time such as 2 or 02:00:00" },
    { "EST25", 3, "time out of range in time zone rule" },
    { "EST5EDT,M3.2.0", 14, "expected ',' before the end of daylight saving time" },
    { "EST5EDT,M13.2.0,M11.1.0", 9, "expected a number from 1 to 12 in time zone rule" },
    { "EST5EDT,M3.6.0,M11.1.0", 11, "expected a number from 1 to 5 in time zone rule" },
    { "EST5EDT,M3.2.7,M11.1.0", 13, "expected a number from 0 to 6 in time zone rule" },
    { "EST5EDT,J0,J365", 9, "expected a number from 1 to 365 in time zone rule" },
    { "EST5EDT,366,0", 8, "expected a number from 0 to 365 in time zone rule" },
    { "EST5EDT,M3.2.0/168,M11.1.0", 15, "time out of range in time zone rule" },
    { "EST5EDT,X,Y", 8, "expected a date (Jn, n or Mm.w.d) in time zone rule" },
    { "<+05", 4, "expected '>' to close the zone abbreviation" },
    { "EST5EDT,M3.2.0,M11.1.0x", 22, "unexpected character in time zone rule" },
    { "EST5:60", 5, "time out of range in time zone rule" },
    { "EST5EDT,M3.2.0,M11.1.0/2:", 25, "expected a time such as 2 or 02:00:00" },
};

START_TEST(test_tz__bad_rules)
{
    struct tz_error err = { -1, "" };

    ck_assert_ptr_null(tz_from_rule(bad_rules[_i].rule, &err));
    ck_assert_msg(err.pos == bad_rules[_i].pos && strcmp(err.msg, bad_rules[_i].msg) == 0,
                  "'%s': got '%s' at %d", bad_rules[_i].rule, err.msg, err.pos);
}
END_TEST

/* ---- TZif files built here --------------------------------------------- */

struct tzif_out {
    unsigned char buf[4096];
    size_t len;
};

static void
put(struct tzif_out *o, const void *p, size_t n)
{
    ck_assert(o->len + n <= sizeof(o->buf));
    memcpy(o->buf + o->len, p, n);
    o->len += n;
}

static void
put32(struct tzif_out *o, uint32_t v)
{
    unsigned char b[4] = { (unsigned char)(v >> 24), (unsigned char)(v >> 16),
                           (unsigned char)(v >> 8), (unsigned char)v };

    put(o, b, 4);
}

static void
put64(struct tzif_out *o, int64_t v)
{
    put32(o, (uint32_t)((uint64_t)v >> 32));
    put32(o, (uint32_t)v);
}

/* A zone: "LMT" -1:00 until t1, then "AAA" +1:00 (dst 0) until t2, then
 * "BBB" +2:00 (dst 1); footer `footer` (NULL: version 1 file). */
static void
build_tzif(struct tzif_out *o, const char *footer, int64_t t1, int64_t t2, uint32_t leapcnt)
{
    static const char chars[] = "LMT\0AAA\0BBB";
    int v1_only = footer == NULL;
    int pass;

    o->len = 0;
    for (pass = 0; pass < (v1_only ? 1 : 2); pass++) {
        int wide = pass == 1;
        uint32_t i;

        put(o, "TZif", 4);
        put(o, v1_only ? "\0" : "2", 1);
        put(o, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 15);
        put32(o, 0);       /* isutcnt */
        put32(o, 0);       /* isstdcnt */
        put32(o, leapcnt); /* leapcnt */
        put32(o, 2);       /* timecnt */
        put32(o, 3);       /* typecnt */
        put32(o, sizeof(chars));
        if (wide) {
            put64(o, t1);
            put64(o, t2);
        } else {
            put32(o, (uint32_t)t1);
            put32(o, (uint32_t)t2);
        }
        put(o, "\1\2", 2);
        put32(o, (uint32_t)-3600);
        put(o, "\0\0", 2);
        put32(o, 3600);
        put(o, "\0\4", 2);
        put32(o, 7200);
        put(o, "\1\10", 2);
        put(o, chars, sizeof(chars));
        for (i = 0; i < leapcnt; i++) {
            if (wide)
                put64(o, 100);
            else
                put32(o, 100);
            put32(o, 1);
        }
    }
    if (!v1_only) {
        put(o, "\n", 1);
        put(o, footer, strlen(footer));
        put(o, "\n", 1);
    }
}

START_TEST(test_tz__tzif_synthetic)
{
    struct tzif_out o;
    struct tz_error err;
    struct tz_local l;
    struct tz *z;

    /* Version 2 with a footer: after t2 the rule takes over. */
    build_tzif(&o, "CCC-3", 1000, 2000, 0);
    z = tz_from_tzif("Test/Zone", o.buf, o.len, &err);
    ck_assert_msg(z != NULL, "%s", err.msg);
    ck_assert_str_eq(tz_name(z), "Test/Zone");
    tz_utc_to_local(z, -100000, &l);
    ck_assert_int_eq(l.utoff, -3600); /* type 0 before the first transition */
    ck_assert_str_eq(l.abbr, "LMT");
    tz_utc_to_local(z, 1500, &l);
    ck_assert_int_eq(l.utoff, 3600);
    ck_assert_str_eq(l.abbr, "AAA");
    tz_utc_to_local(z, 2000, &l);
    ck_assert_int_eq(l.utoff, 3 * 3600); /* the footer, not BBB */
    ck_assert_str_eq(l.abbr, "CCC");
    tz_free(z);

    /* Empty footer: the last type holds forever. */
    build_tzif(&o, "", 1000, 2000, 0);
    z = tz_from_tzif("T", o.buf, o.len, &err);
    ck_assert_ptr_nonnull(z);
    tz_utc_to_local(z, INT64_C(5000000000), &l);
    ck_assert_int_eq(l.utoff, 7200);
    ck_assert_int_eq(l.isdst, 1);
    ck_assert_str_eq(l.abbr, "BBB");
    tz_free(z);

    /* Version 1: 32-bit data, no footer. */
    build_tzif(&o, NULL, -5, 2000, 0);
    z = tz_from_tzif("T", o.buf, o.len, &err);
    ck_assert_msg(z != NULL, "%s", err.msg);
    tz_utc_to_local(z, -6, &l);
    ck_assert_int_eq(l.utoff, -3600);
    tz_utc_to_local(z, -5, &l);
    ck_assert_int_eq(l.utoff, 3600);
    tz_free(z);

    /* Refused: leap seconds, bad footer, transitions out of order. */
    build_tzif(&o, "CCC-3", 1000, 2000, 1);
    ck_assert_ptr_null(tz_from_tzif("T", o.buf, o.len, &err));
    ck_assert_str_eq(err.msg, "zone files with leap seconds are not supported");
    build_tzif(&o, "CCC-3,", 1000, 2000, 0);
    ck_assert_ptr_null(tz_from_tzif("T", o.buf, o.len, &err));
    ck_assert_str_eq(err.msg, "zone file footer: zone abbreviation must have 3 to 15 characters");
    build_tzif(&o, "CCC-3", 2000, 1000, 0);
    ck_assert_ptr_null(tz_from_tzif("T", o.buf, o.len, &err));
    ck_assert_str_eq(err.msg, "zone file has bad transitions");
    ck_assert_ptr_null(tz_from_tzif("T", "TZjf", 4, &err));
    ck_assert_str_eq(err.msg, "zone file is truncated");
    ck_assert_ptr_null(
        tz_from_tzif("T", "# not a zone file, just some long enough text", 45, &err));
    ck_assert_str_eq(err.msg, "not a TZif zone file");
}
END_TEST

/* Every prefix and many single-byte corruptions of a valid file are either
 * refused or give a usable zone; none may crash (ASan watches). */
START_TEST(test_tz__tzif_corrupt)
{
    struct tzif_out o, c;
    struct tz_error err;
    struct tz_local l;
    size_t n, i;
    int bit;

    build_tzif(&o, "CCC-3DDD,M3.2.0,M11.1.0", 1000, 2000, 0);
    for (n = 0; n < o.len; n++) {
        struct tz *z = tz_from_tzif("T", o.buf, n, &err);

        REQUIRE(z == NULL, "prefix of %zu bytes accepted", n);
    }
    for (i = 0; i < o.len; i++) {
        for (bit = 0; bit < 8; bit += 3) {
            struct tz *z;

            c = o;
            c.buf[i] ^= (unsigned char)(1u << bit);
            z = tz_from_tzif("T", c.buf, c.len, &err);
            if (z != NULL) {
                tz_utc_to_local(z, 1500, &l);
                (void)tz_local_to_utc(z, 1700000000);
                (void)tz_local_max(z, 1700000000);
                tz_free(z);
            }
        }
    }
}
END_TEST

/* ---- against the C library, every zone --------------------------------- */

#define MAX_ZONES 2000
static char *zones[MAX_ZONES];
static int nzones;

static int
collect_zone(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    const char *name = path + strlen(ZONEINFO) + 1;
    unsigned char magic[4];
    FILE *fp;

    (void)st;
    (void)ftw;
    if (type != FTW_F || nzones >= MAX_ZONES || strchr(name, '.') != NULL ||
        strncmp(name, "posix/", 6) == 0 || strncmp(name, "right/", 6) == 0)
        return 0;
    if ((fp = fopen(path, "rb")) == NULL)
        return 0;
    if (fread(magic, 1, 4, fp) == 4 && memcmp(magic, "TZif", 4) == 0)
        zones[nzones++] = strdup(name);
    fclose(fp);
    return 0;
}

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* One pseudo-random generator for reproducible samples. */
static uint64_t
rnd(uint64_t *state)
{
    *state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
    return *state >> 33;
}

START_TEST(test_tz__against_libc)
{
    struct tz_error err;
    uint64_t seed = 12345;
    int i, checked = 0;
    long samples = 0;

    if (nzones == 0)
        nftw(ZONEINFO, collect_zone, 16, FTW_PHYS);
    qsort(zones, (size_t)nzones, sizeof(zones[0]), cmp_str);
    ck_assert_msg(nzones > 300, "only %d zones found in " ZONEINFO " (tzdata installed?)", nzones);
    for (i = 0; i < nzones; i++) {
        char env[300];
        struct tz *z = tz_load(zones[i], &err);
        int k;

        ck_assert_msg(z != NULL, "%s: %s", zones[i], err.msg);
        snprintf(env, sizeof(env), ":%s", zones[i]);
        setenv("TZ", env, 1);
        tzset();
        for (k = 0; k < 300; k++) {
            /* 1901-2199, the span schedules care about plus history. */
            int64_t t = INT64_C(-2145916800) + (int64_t)(rnd(&seed) % INT64_C(9400000000));
            time_t tt = (time_t)t;
            struct tm tm;
            struct tz_local l;

            REQUIRE(localtime_r(&tt, &tm) != NULL, "localtime_r failed");
            tz_utc_to_local(z, t, &l);
            REQUIRE(l.utoff == tm.tm_gmtoff && l.isdst == (tm.tm_isdst > 0) &&
                        strcmp(l.abbr, tm.tm_zone) == 0,
                    "%s at %lld: ours %d %d %s, libc %ld %d %s", zones[i], (long long)t, l.utoff,
                    l.isdst, l.abbr, tm.tm_gmtoff, tm.tm_isdst, tm.tm_zone);
            samples++;
        }
        tz_free(z);
        checked++;
    }
    unsetenv("TZ");
    fprintf(stderr, "# compared %ld instants in %d zones with localtime_r\n", samples, checked);
}
END_TEST

/* Every transition of a few zones with rich histories, found with the C
 * library by a daily scan plus bisection, must match to the second. */
static const char *const scan_zones[] = {
    "America/New_York", "Europe/London", "Australia/Lord_Howe", "Asia/Kathmandu",
    "Europe/Dublin", "America/Nuuk", "Africa/Casablanca", "America/Santiago",
    "Pacific/Chatham", "Antarctica/Troll", "Pacific/Apia", "Asia/Tehran", "America/Sao_Paulo",
};

static long
libc_offset(int64_t t)
{
    time_t tt = (time_t)t;
    struct tm tm;

    localtime_r(&tt, &tm);
    return tm.tm_gmtoff * 2 + (tm.tm_isdst > 0);
}

START_TEST(test_tz__transitions_against_libc)
{
    const char *name = scan_zones[_i];
    struct tz *z = load(name);
    char env[300];
    int64_t t, end = INT64_C(7258118400); /* 2200 */
    int found = 0;

    snprintf(env, sizeof(env), ":%s", name);
    setenv("TZ", env, 1);
    tzset();
    for (t = INT64_C(-2208988800); t < end; t += 86400) { /* from 1900 */
        long before = libc_offset(t), after = libc_offset(t + 86400);
        int64_t lo = t, hi = t + 86400;
        struct tz_local l0, l1;

        if (before == after)
            continue;
        while (hi - lo > 1) {
            int64_t mid = lo + (hi - lo) / 2;

            if (libc_offset(mid) == before)
                lo = mid;
            else
                hi = mid;
        }
        tz_utc_to_local(z, hi - 1, &l0);
        tz_utc_to_local(z, hi, &l1);
        REQUIRE(l0.utoff * 2L + l0.isdst == before && l1.utoff * 2L + l1.isdst == libc_offset(hi),
                "%s: transition at %lld differs", name, (long long)hi);
        found++;
    }
    ck_assert_int_gt(found, 0);
    unsetenv("TZ");
    tz_free(z);
}
END_TEST

/* ---- timestamps -------------------------------------------------------- */

static const struct {
    const char *text;
    int64_t t;
} good_times[] = {
    { "1970-01-01T00:00:00Z", 0 },
    { "2026-03-07T00:00:00Z", INT64_C(1772841600) },
    { "2026-03-07T00:00:00+00:00", INT64_C(1772841600) },
    { "2026-03-07t00:00:00z", INT64_C(1772841600) },
    { "2026-03-07 00:00:00Z", INT64_C(1772841600) },
    { "2026-03-07T08:00:00+08:00", INT64_C(1772841600) },
    { "2026-03-06T19:00:00-0500", INT64_C(1772841600) },
    { "2026-03-07T05:45:00+05:45", INT64_C(1772841600) },
    { "2026-03-07T02:00:00+02", INT64_C(1772841600) },
    { "2026-03-07T00:00Z", INT64_C(1772841600) },
    { "2026-03-07T00:00:00.999Z", INT64_C(1772841600) },
    { "2026-03-07T00:00:00,5Z", INT64_C(1772841600) },
    { "2024-02-29T12:00:00Z", INT64_C(1709208000) },
    { "2199-12-31T23:59:59Z", INT64_C(7258118399) },
    { "1969-12-31T23:59:59Z", -1 },
    { "0000-03-01T00:00:00Z", INT64_C(-62162035200) },
    { "9999-12-31T23:59:59Z", INT64_C(253402300799) },
    { "2026-03-07T00:00:00", INT64_C(1772841600) }, /* no offset: local to UTC here */
};

static const struct {
    const char *text;
    int pos;
    const char *msg;
} bad_times[] = {
    { "", 0, "empty timestamp" },
    { "now", 0, "expected 4-digit year" },
    { "26-03-07T00:00:00Z", 2, "expected 4-digit year" },
    { "2026/03/07T00:00:00Z", 4, "expected '-' after the year" },
    { "2026-13-07T00:00:00Z", 5, "month 13 out of range 1-12" },
    { "2026-02-29T00:00:00Z", 8, "day 29 out of range for 2026-02" },
    { "2026-04-31T00:00:00Z", 8, "day 31 out of range for 2026-04" },
    { "2026-03-07", 10, "expected 'T' and a time after the date" },
    { "2026-03-07X00:00:00Z", 10, "expected 'T' and a time after the date" },
    { "2026-03-07T24:00:00Z", 11, "hour 24 out of range 0-23" },
    { "2026-03-07T00:60:00Z", 14, "minute 60 out of range 0-59" },
    { "2026-03-07T00:00:60Z", 17, "second 60 out of range 0-59" },
    { "2026-03-07T0:00:00Z", 12, "expected 2-digit hour" },
    { "2026-03-07T00:00:00.Z", 20, "expected digits after the decimal point" },
    { "2026-03-07T00:00:00+24:00", 20, "offset out of range" },
    { "2026-03-07T00:00:00+5", 21, "expected 2-digit offset hour" },
    { "2026-03-07T00:00:00Zx", 20, "unexpected text after the timestamp" },
    { "2026-03-07T00:00:00 UTC", 19, "expected 'Z' or an offset such as +02:00" },
};

START_TEST(test_tz__parse_time_good)
{
    struct tz_error err;
    int64_t t;

    ck_assert_msg(tz_parse_time(NULL, good_times[_i].text, &t, &err) == 0, "%s: %s at %d",
                  good_times[_i].text, err.msg, err.pos);
    ck_assert_msg(t == good_times[_i].t, "%s: %lld", good_times[_i].text, (long long)t);
}
END_TEST

START_TEST(test_tz__parse_time_bad)
{
    struct tz_error err = { -1, "" };
    int64_t t = 7;

    ck_assert_int_lt(tz_parse_time(NULL, bad_times[_i].text, &t, &err), 0);
    ck_assert_int_eq(t, 7);
    ck_assert_msg(err.pos == bad_times[_i].pos && strcmp(err.msg, bad_times[_i].msg) == 0,
                  "'%s': got '%s' at %d", bad_times[_i].text, err.msg, err.pos);
}
END_TEST

START_TEST(test_tz__format_small_buffer)
{
    char buf[64];

    ck_assert_int_lt(tz_format_time(NULL, 0, buf, 10), 0);
    ck_assert_int_lt(tz_format_time(NULL, 0, buf, 25), 0);
    ck_assert_int_eq(tz_format_time(NULL, 0, buf, 26), 0);
    ck_assert_str_eq(buf, "1970-01-01T00:00:00+00:00");
    /* Absurd instants are clamped, not overflowed. */
    ck_assert_int_eq(tz_format_time(NULL, INT64_MAX, buf, sizeof(buf)), 0);
    ck_assert_int_eq(tz_format_time(NULL, INT64_MIN, buf, sizeof(buf)), 0);
}
END_TEST

/* ---- calendar ---------------------------------------------------------- */

START_TEST(test_tz__civil_round_trip)
{
    int64_t days = tz_days_from_civil(-4000, 1, 1);
    int64_t end = tz_days_from_civil(12000, 1, 1);
    int64_t year = -4000;
    int mon = 1, mday = 1, wday;

    ck_assert_int_eq(tz_days_from_civil(1970, 1, 1), 0);
    ck_assert_int_eq(tz_days_from_civil(2000, 3, 1), 11017);
    wday = (int)(((days + 4) % 7 + 7) % 7);
    /* Walk day by day, counting the calendar by hand alongside. */
    for (; days < end; days++) {
        struct tz_civil c;

        tz_civil_from_seconds(days * 86400 + 45296, &c);
        REQUIRE(c.year == year && c.mon == mon && c.mday == mday && c.wday == wday &&
                    c.hour == 12 && c.min == 34 && c.sec == 56,
                "day %lld", (long long)days);
        REQUIRE(tz_days_from_civil(year, mon, mday) == days, "day %lld", (long long)days);
        REQUIRE(tz_seconds_from_civil(&c) == days * 86400 + 45296, "day %lld", (long long)days);
        wday = (wday + 1) % 7;
        if (++mday > tz_days_in_month(year, mon)) {
            mday = 1;
            if (++mon > 12) {
                mon = 1;
                year++;
            }
        }
    }
    ck_assert_int_eq(tz_days_in_month(2024, 2), 29);
    ck_assert_int_eq(tz_days_in_month(2100, 2), 28);
    ck_assert_int_eq(tz_days_in_month(2000, 2), 29);
    ck_assert_int_eq(tz_days_in_month(2026, 13), 0);
}
END_TEST

int
main(void)
{
    Suite *suite = suite_create("tz");
    TCase *tc = tcase_create("tz");

    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_tz__bad_names, 0, (int)TC_ARRAY_LEN(bad_names));
    tcase_add_test(tc, test_tz__long_name);
    tcase_add_test(tc, test_tz__utc_builtin);
    tcase_add_loop_test(tc, test_tz__conversions, 0, (int)TC_ARRAY_LEN(conversions));
    tcase_add_loop_test(tc, test_tz__local_to_utc, 0, (int)TC_ARRAY_LEN(local_cases));
    tcase_add_loop_test(tc, test_tz__brute_force, 0, (int)TC_ARRAY_LEN(brute_cases));
    tcase_add_loop_test(tc, test_tz__rules, 0, (int)TC_ARRAY_LEN(rule_cases));
    tcase_add_loop_test(tc, test_tz__bad_rules, 0, (int)TC_ARRAY_LEN(bad_rules));
    tcase_add_test(tc, test_tz__tzif_synthetic);
    tcase_add_test(tc, test_tz__tzif_corrupt);
    tcase_add_test(tc, test_tz__against_libc);
    tcase_add_loop_test(tc, test_tz__transitions_against_libc, 0, (int)TC_ARRAY_LEN(scan_zones));
    tcase_add_loop_test(tc, test_tz__parse_time_good, 0, (int)TC_ARRAY_LEN(good_times));
    tcase_add_loop_test(tc, test_tz__parse_time_bad, 0, (int)TC_ARRAY_LEN(bad_times));
    tcase_add_test(tc, test_tz__format_small_buffer);
    tcase_add_test(tc, test_tz__civil_round_trip);
    suite_add_tcase(suite, tc);
    return tc_check_run(suite);
}
