/* duration.h - lengths of time written as text: "90s", "1h30m", "500ms".
 *
 * A pure module (no I/O, no global state) shared by the configuration
 * (lease = 30s) and the schedules (@every 1h30m).  Durations are counted in
 * microseconds; callers that want seconds check `us % 1000000 == 0`.
 *
 * Grammar: one or more <digits><unit> groups, units from largest to
 * smallest, each at most once, no spaces inside ("1h30m", not "30m1h" or
 * "1h 30m").  Units: d (86400 s), h, m, s, ms, us.  Surrounding blanks are
 * ignored.  Signs, fractions and unit-less numbers are refused.
 */
#ifndef TC_DURATION_H
#define TC_DURATION_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"

/* Filled by duration_parse on failure: msg is short and lower-case, pos is
 * the 0-based byte offset in the text of what is wrong; print it as
 * "%s at %d". */
struct duration_error {
    int pos;
    char msg[128];
};

/* Parse text into *out_us (microseconds, >= 0).  Returns 0, or -1 with err
 * filled (err may be NULL).  Overflow past INT64_MAX microseconds (about
 * 292,000 years) is an error, never undefined behaviour. */
int duration_parse(const char *text, int64_t *out_us, struct duration_error *err) TC_MUST_CHECK;

/* Write us in the same notation ("1h30m", "500ms", "0s", "-2s") into buf.
 * Returns 0, or -1 when buf is too small (buf then holds a truncated,
 * NUL-terminated prefix). */
int duration_format(int64_t us, char *buf, size_t size) TC_MUST_CHECK;

#endif
