/* cron.h - cron expressions: parse once, then ask for the next match.
 *
 * Syntax (docs/schedules.md has the full reference):
 *   5 fields  min hour dom mon dow          (seconds = 0)
 *   6 fields  sec min hour dom mon dow
 *   7 fields  sec min hour dom mon dow year (1970-2199)
 * with lists, ranges, steps (star/5, 10-40/3, 5/15), names (JAN-DEC, SUN-SAT,
 * any case), '?' in the day fields, L / L-3 / LW / 15W in day of month,
 * 5L / MON#2 in day of week (0 and 7 are Sunday), and the macros @yearly,
 * @annually, @monthly, @weekly, @daily, @midnight, @hourly.
 *
 * Day of month and day of week combine as in Vixie cron: if either field
 * starts with '*' or is '?', a day must match both; otherwise a day matching
 * either one is enough.
 *
 * A parsed expression is immutable: share it between threads freely.
 */
#ifndef TC_CRON_H
#define TC_CRON_H

#include <stdint.h>

#include "common.h"
#include "tz.h" /* struct tz */

struct cron_expr; /* opaque, defined in cron.c */

/* Filled by cron_parse on failure: msg is short and lower-case, pos the
 * 0-based byte offset in the text of the offending field or character.
 * Print it as "%s at %d": "unknown month name 'JNA' at 9". */
struct cron_error {
    int pos;
    char msg[128];
};

/* Parse text (at most 1024 bytes).  Returns a new expression, or NULL with
 * err filled (err may be NULL).  Never crashes on any input.  Expressions
 * whose day of month cannot occur in any selected month ("0 0 30 2 *") are
 * refused here; rarer never-firing ones (Feb 29 in a non-leap year field)
 * are reported by cron_next. */
struct cron_expr *cron_parse(const char *text, struct cron_error *err);

/* The first fire time strictly after `after` (seconds since the epoch), with
 * the fields read as wall-clock time in zone (NULL means UTC).  Local times
 * skipped by a DST gap fire once at the end of the gap; local times repeated
 * by an overlap fire once, at their first occurrence (see tz.h).
 * Returns 0 with *next set, or -1 when there is none up to the end of 2199.
 * The search steps field by field and is bounded on every input. */
int cron_next(const struct cron_expr *ce, const struct tz *zone, int64_t after, int64_t *next)
    TC_MUST_CHECK;

void cron_free(struct cron_expr *ce); /* NULL is fine */

#endif
