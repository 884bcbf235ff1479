/* tz.h - IANA time zones: load one, convert between UTC and local time.
 *
 * A zone is read once from the system tz database (TZif files under
 * /usr/share/zoneinfo, or $TZDIR) into an immutable struct tz; every lookup
 * afterwards is a pure function of that struct, so one zone may be shared by
 * any number of threads.  Nothing here touches TZ, tzset() or localtime().
 *
 * Glossary:
 *   instant    seconds since 1970-01-01T00:00:00Z (int64, no leap seconds)
 *   local time the wall clock of the zone, also counted in seconds as if it
 *              were UTC: local = instant + utoff
 *   gap        local times skipped when clocks go forward (spring)
 *   overlap    local times shown twice when clocks go back (autumn)
 *
 * The gap/overlap rule of tablecron lives here and only here:
 * tz_local_to_utc() maps a local time to the FIRST instant at which the wall
 * clock shows that time or a later one.  So a local time shown twice maps to
 * its first occurrence, and a local time inside a gap maps to the instant the
 * gap ends (02:30 on a spring-forward night becomes 03:00 new time).
 */
#ifndef TC_TZ_H
#define TC_TZ_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"

struct tz; /* opaque, defined in tz.c */

/* Filled on failure: short lower-case msg, pos = 0-based byte offset in the
 * text that was being read (zone name, TZ rule or timestamp). */
struct tz_error {
    int pos;
    char msg[128];
};

/* What the wall clock says at one instant. */
struct tz_local {
    int32_t utoff;    /* seconds east of UTC: local = instant + utoff */
    int isdst;        /* 1 while daylight saving time is in effect */
    const char *abbr; /* "EST", "+0545"; borrowed from the zone */
};

/* Broken-down calendar time (proleptic Gregorian). */
struct tz_civil {
    int64_t year;
    int mon;  /* 1-12 */
    int mday; /* 1-31 */
    int hour; /* 0-23 */
    int min;  /* 0-59 */
    int sec;  /* 0-59 */
    int wday; /* 0 = Sunday */
};

/* Load a zone by IANA name ("Europe/London").  "UTC" and "Etc/UTC" are built
 * in and need no files.  The name comes from user input, so it is checked
 * before any file is opened: letters, digits, '_', '+', '-' and '/' between
 * non-empty components that start with a letter; no '.', no leading '/'.
 * Returns a new zone (free with tz_free) or NULL with err filled. */
struct tz *tz_load(const char *name, struct tz_error *err);

/* Build a zone from TZif bytes (RFC 8536, versions 1 to 4; the 64-bit data
 * of version 2+ is used, and the footer TZ rule covers instants after the
 * last transition).  name is copied.  Zone files with leap seconds are
 * refused.  Used by tz_load; public for tests and fuzzing. */
struct tz *tz_from_tzif(const char *name, const void *data, size_t len, struct tz_error *err);

/* Build a zone from a POSIX TZ rule such as "EST5EDT,M3.2.0,M11.1.0" or
 * "<+1030>-10:30<+11>-11,M10.1.0,M4.1.0/2" (with the RFC 8536 extensions:
 * transition hours from -167 to 167).  The rule is also the zone's name. */
struct tz *tz_from_rule(const char *rule, struct tz_error *err);

void tz_free(struct tz *z); /* NULL is fine */

/* The name the zone was loaded under (borrowed). */
const char *tz_name(const struct tz *z);

/* The wall clock at instant t. */
void tz_utc_to_local(const struct tz *z, int64_t t, struct tz_local *out);

/* The first instant at which the wall clock shows `local` or a later time:
 * the one place where gaps and overlaps are decided (see above). */
int64_t tz_local_to_utc(const struct tz *z, int64_t local);

/* The latest local time the wall clock has shown at or before instant t.
 * It differs from t + utoff only during the repeated part of an overlap.
 * Dual of tz_local_to_utc: tz_local_to_utc(z, w) > t  <=>  w > tz_local_max(z, t),
 * which is what "the first fire time strictly after t" needs. */
int64_t tz_local_max(const struct tz *z, int64_t t);

/* Parse an ISO 8601 / RFC 3339 timestamp: YYYY-MM-DD, 'T' or ' ', HH:MM[:SS],
 * optional fraction (dropped: schedules count whole seconds), then 'Z',
 * +HH:MM, +HHMM or +HH.  Without an offset the time is local to z (z NULL:
 * UTC) and goes through tz_local_to_utc.  Returns 0 or -1 with err. */
int tz_parse_time(const struct tz *z, const char *text, int64_t *out, struct tz_error *err)
    TC_MUST_CHECK;

/* Format t as local time in z with its offset, "2026-03-29T03:00:00+02:00"
 * (UTC gives "+00:00").  Returns 0, or -1 if buf is too small. */
int tz_format_time(const struct tz *z, int64_t t, char *buf, size_t size) TC_MUST_CHECK;

/* Calendar arithmetic shared with the cron search. */
int64_t tz_days_from_civil(int64_t year, int mon, int mday);
void tz_civil_from_seconds(int64_t s, struct tz_civil *out);
int64_t tz_seconds_from_civil(const struct tz_civil *c); /* wday ignored */
int tz_days_in_month(int64_t year, int mon);

#endif
