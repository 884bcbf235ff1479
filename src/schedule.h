/* schedule.h - a job's schedule: when it fires, and what to do after downtime.
 *
 * A schedule is the text of a job's `schedule` column plus its `timezone`:
 *   a cron expression or macro   "0 30 9 * * MON-FRI", "@daily"  (see cron.h)
 *   @every <duration>            "@every 90s", "@every 1h30m": fixed intervals
 *                                of elapsed time from the previous scheduled time
 *   @at <timestamp>              "@at 2027-01-01T09:00:00+08:00": one instant;
 *                                without an offset it is local to the zone
 *   @manual                      never fires by itself: the job runs when made
 *                                due (run now, or an upstream job's run ended)
 * Parse it once and keep the struct: it is immutable and thread-safe.
 *
 * All times are seconds since the epoch.  SCHEDULE_NONE stands for "no time"
 * (a job that never ran, a schedule with nothing left to fire).
 */
#ifndef TC_SCHEDULE_H
#define TC_SCHEDULE_H

#include <stdint.h>

#include "common.h"
#include "tz.h"

#define SCHEDULE_NONE INT64_MIN

struct schedule; /* opaque, defined in schedule.c */

enum schedule_kind {
    SCHEDULE_CRON,  /* cron expression or macro */
    SCHEDULE_EVERY, /* @every */
    SCHEDULE_AT,    /* @at: one-off */
    SCHEDULE_MANUAL, /* @manual: no fire times of its own */
};

/* Which input an error is about: the schedule text or the zone name. */
enum schedule_part {
    SCHEDULE_PART_TEXT,
    SCHEDULE_PART_ZONE,
};

/* Short lower-case msg; pos is the 0-based byte offset within the part
 * (schedule text or zone name).  Print it as "%s at %d". */
struct schedule_error {
    enum schedule_part part;
    int pos;
    char msg[128];
};

enum schedule_misfire_policy {
    SCHEDULE_MISFIRE_SKIP, /* drop missed fire times, carry on from now */
    SCHEDULE_MISFIRE_ONCE, /* run the latest missed fire time once, then carry on */
};

/* The misfire decision, see schedule_misfire(). */
struct schedule_plan {
    int64_t run_s;    /* fire time to run now (its scheduled_for), or SCHEDULE_NONE */
    int64_t next_s;   /* next fire time after run_s (or after now if nothing runs),
                         or SCHEDULE_NONE when the schedule is finished */
    int64_t skipped;  /* missed fire times that will never run */
    int skipped_more; /* 1 if counting stopped at the cap: "skipped or more" */
};

/* Parse a schedule.  zone NULL or "" means UTC.  Returns a new schedule (free
 * with schedule_free) or NULL with err filled. */
struct schedule *schedule_parse(const char *text, const char *zone, struct schedule_error *err);

void schedule_free(struct schedule *s); /* NULL is fine */

/* The first fire time strictly after after_s.  prev_s is the previous
 * scheduled time (SCHEDULE_NONE if there was none):
 *   cron   ignores prev_s;
 *   @every fires at prev_s + k * interval (k >= 1); without prev_s the grid
 *          starts at after_s, so the first fire is after_s + interval;
 *   @at    fires at its instant if that is > after_s and > prev_s (once it
 *          was the scheduled time, it is consumed).
 * Returns 0 with *next_s, or -1 when nothing is left to fire. */
int schedule_next(const struct schedule *s, int64_t prev_s, int64_t after_s, int64_t *next_s)
    TC_MUST_CHECK;

/* Up to max fire times after after_s into out, each one the previous
 * scheduled time of the next as an instance chains them (so @every keeps
 * its grid from prev_s and @at is consumed).  Returns how many: fewer than
 * max when the schedule has nothing left to fire. */
int schedule_upcoming(const struct schedule *s, int64_t prev_s, int64_t after_s, int64_t *out,
                      int max);

enum schedule_kind schedule_kind(const struct schedule *s);
int schedule_is_oneoff(const struct schedule *s); /* 1 for @at */
int schedule_is_manual(const struct schedule *s); /* 1 for @manual */
const struct tz *schedule_zone(const struct schedule *s); /* borrowed */

/* Decide what to do with a fire time that came due: due_s is the stored
 * next fire time (<= now_s), now_s the database's now, grace_s how late a
 * fire time may start and still count as on time.
 *
 *   on time (now_s - due_s <= grace_s): run due_s; next_s is its successor.
 *   late, policy skip: the fire times older than now_s - grace_s are
 *       skipped; the first one within the grace window runs if there is one,
 *       else nothing runs and next_s is the first fire time after now_s.
 *   late, policy once: the latest fire time <= now_s runs (one catch-up for
 *       the whole outage), the older ones are skipped, next_s is the first
 *       fire time after now_s.
 * A one-off @at that is late is skipped (never run) under skip, run under once.
 * @manual runs any due_s whatever the policy (someone asked for that run)
 * and has no next_s.
 * due_s == SCHEDULE_NONE (never scheduled) runs nothing and gives the first
 * fire time after now_s.  skipped counts up to 100000 (then skipped_more). */
void schedule_misfire(const struct schedule *s, enum schedule_misfire_policy policy,
                      int64_t due_s, int64_t now_s, int64_t grace_s, struct schedule_plan *out);

/* "skip" or "once" (any case).  Returns 0, or -1 for anything else. */
int schedule_policy_parse(const char *text, enum schedule_misfire_policy *out) TC_MUST_CHECK;

#endif
