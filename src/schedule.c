/* schedule.c - job schedules (cron, @every, @at, @manual) and the misfire decision.
 *
 * This is the one place that knows what "the next fire time" means for
 * each kind of schedule, so the daemon, the API preview and `tablecron cron
 * next` cannot disagree.  Fire times are always derived from the previous
 * scheduled time, never from when a run actually happened, so a late run
 * does not shift the grid of an @every job.
 *
 * Glossary: fire time = an instant the schedule selects; due = the stored
 * next fire time, now in the past; grace = how late a fire time may start
 * and still be on time; skipped = a missed fire time that will never run.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cron.h"
#include "duration.h"
#include "schedule.h"

#define SCHEDULE_EVERY_MAX (INT64_C(36500) * 86400) /* 100 years */
#define SCHEDULE_AT_MIN INT64_C(0)                  /* 1970-01-01T00:00:00Z */
#define SCHEDULE_AT_MAX INT64_C(7258118399)         /* 2199-12-31T23:59:59Z */
#define SCHEDULE_COUNT_MAX 100000                   /* skipped fire times counted one by one */
#define SCHEDULE_TEXT_MAX 1024

struct schedule {
    enum schedule_kind kind;
    struct tz *zone;        /* owned */
    struct cron_expr *cron; /* owned; SCHEDULE_CRON only */
    int64_t every_s;        /* SCHEDULE_EVERY: interval, >= 1 */
    int64_t at_s;           /* SCHEDULE_AT: the instant */
};

static void schedule_fail(struct schedule_error *err, enum schedule_part part, int pos,
                          const char *fmt, ...) TC_PRINTF(4, 5);

static void
schedule_fail(struct schedule_error *err, enum schedule_part part, int pos, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL)
        return;
    err->part = part;
    err->pos = pos;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
}

static int
schedule_is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* "@word" at p, case-insensitive, followed by a blank or the end. */
static int
schedule_is_word(const char *p, const char *word)
{
    size_t n = strlen(word);

    return strncasecmp(p, word, n) == 0 && (p[n] == '\0' || schedule_is_blank(p[n]));
}

/* "@every DURATION" with p just after "@every".  Fire times are whole
 * seconds, so the interval must be too; the upper bound keeps every
 * k * interval product far from overflow. */
static int
schedule_parse_every(struct schedule *s, const char *text, const char *p,
                     struct schedule_error *err)
{
    struct duration_error derr;
    int64_t us;

    while (schedule_is_blank(*p))
        p++;
    if (*p == '\0') {
        schedule_fail(err, SCHEDULE_PART_TEXT, (int)(p - text),
                      "expected an interval after @every, as in @every 90s");
        return -1;
    }
    if (duration_parse(p, &us, &derr) < 0) {
        schedule_fail(err, SCHEDULE_PART_TEXT, (int)(p - text) + derr.pos, "%s", derr.msg);
        return -1;
    }
    if (us % 1000000 != 0) {
        schedule_fail(err, SCHEDULE_PART_TEXT, (int)(p - text),
                      "interval must be a whole number of seconds");
        return -1;
    }
    if (us < 1000000) {
        schedule_fail(err, SCHEDULE_PART_TEXT, (int)(p - text), "interval must be at least 1s");
        return -1;
    }
    if (us / 1000000 > SCHEDULE_EVERY_MAX) {
        schedule_fail(err, SCHEDULE_PART_TEXT, (int)(p - text),
                      "interval too long (at most 36500d)");
        return -1;
    }
    s->kind = SCHEDULE_EVERY;
    s->every_s = us / 1000000;
    return 0;
}

/* "@at TIMESTAMP" with p just after "@at".  The timestamp is copied without
 * trailing blanks (tz_parse_time wants exactly a timestamp); positions are
 * mapped back to the original text. */
static int
schedule_parse_at(struct schedule *s, const char *text, const char *p, struct schedule_error *err)
{
    char buf[SCHEDULE_TEXT_MAX + 1];
    struct tz_error terr;
    size_t n;

    while (schedule_is_blank(*p))
        p++;
    n = strlen(p);
    while (n > 0 && schedule_is_blank(p[n - 1]))
        n--;
    if (n == 0) {
        schedule_fail(err, SCHEDULE_PART_TEXT, (int)(p - text),
                      "expected a timestamp after @at, as in @at 2027-01-01T09:00:00+08:00");
        return -1;
    }
    memcpy(buf, p, n); /* n <= SCHEDULE_TEXT_MAX: checked by the caller */
    buf[n] = '\0';
    if (tz_parse_time(s->zone, buf, &s->at_s, &terr) < 0) {
        schedule_fail(err, SCHEDULE_PART_TEXT, (int)(p - text) + terr.pos, "%s", terr.msg);
        return -1;
    }
    if (s->at_s < SCHEDULE_AT_MIN || s->at_s > SCHEDULE_AT_MAX) {
        schedule_fail(err, SCHEDULE_PART_TEXT, (int)(p - text),
                      "timestamp out of range (1970 to 2199)");
        return -1;
    }
    s->kind = SCHEDULE_AT;
    return 0;
}

struct schedule *
schedule_parse(const char *text, const char *zone, struct schedule_error *err)
{
    struct schedule *s = NULL;
    struct schedule *done = NULL; /* returned: s once complete */
    struct tz_error terr;
    struct cron_error cerr;
    const char *p;

    if (text == NULL)
        text = "";
    if (strlen(text) > SCHEDULE_TEXT_MAX) {
        schedule_fail(err, SCHEDULE_PART_TEXT, SCHEDULE_TEXT_MAX,
                      "schedule too long (at most %d bytes)", SCHEDULE_TEXT_MAX);
        goto out;
    }
    if ((s = calloc(1, sizeof(*s))) == NULL) {
        schedule_fail(err, SCHEDULE_PART_TEXT, 0, "out of memory");
        goto out;
    }
    if ((s->zone = tz_load(zone != NULL && *zone != '\0' ? zone : "UTC", &terr)) == NULL) {
        schedule_fail(err, SCHEDULE_PART_ZONE, terr.pos, "%s", terr.msg);
        goto out;
    }
    for (p = text; schedule_is_blank(*p); p++)
        ;
    /* "@every5m", "@at2027-...": say what is missing rather than call
     * them unknown macros. */
    if (*p == '@' && strncasecmp(p + 1, "every", 5) == 0 && p[6] >= '0' && p[6] <= '9') {
        schedule_fail(err, SCHEDULE_PART_TEXT, (int)(p + 6 - text),
                      "expected a blank after @every");
        goto out;
    }
    if (*p == '@' && strncasecmp(p + 1, "at", 2) == 0 && p[3] >= '0' && p[3] <= '9') {
        schedule_fail(err, SCHEDULE_PART_TEXT, (int)(p + 3 - text), "expected a blank after @at");
        goto out;
    }
    if (*p == '@' && schedule_is_word(p + 1, "every")) {
        if (schedule_parse_every(s, text, p + 6, err) < 0)
            goto out;
    } else if (*p == '@' && schedule_is_word(p + 1, "at")) {
        if (schedule_parse_at(s, text, p + 3, err) < 0)
            goto out;
    } else if (*p == '@' && schedule_is_word(p + 1, "manual")) {
        for (p += 7; schedule_is_blank(*p); p++)
            ;
        if (*p != '\0') {
            schedule_fail(err, SCHEDULE_PART_TEXT, (int)(p - text),
                          "@manual takes nothing after it");
            goto out;
        }
        s->kind = SCHEDULE_MANUAL;
    } else {
        if (*p == '\0') {
            schedule_fail(err, SCHEDULE_PART_TEXT, (int)(p - text), "empty schedule");
            goto out;
        }
        if ((s->cron = cron_parse(text, &cerr)) == NULL) {
            schedule_fail(err, SCHEDULE_PART_TEXT, cerr.pos, "%s", cerr.msg);
            goto out;
        }
        s->kind = SCHEDULE_CRON;
    }
    done = s;
    s = NULL;
out:
    schedule_free(s);
    return done;
}

void
schedule_free(struct schedule *s)
{
    if (s == NULL)
        return;
    cron_free(s->cron);
    tz_free(s->zone);
    free(s);
}

enum schedule_kind
schedule_kind(const struct schedule *s)
{
    return s->kind;
}

int
schedule_is_oneoff(const struct schedule *s)
{
    return s->kind == SCHEDULE_AT;
}

int
schedule_is_manual(const struct schedule *s)
{
    return s->kind == SCHEDULE_MANUAL;
}

const struct tz *
schedule_zone(const struct schedule *s)
{
    return s->zone;
}

/* prev + k * every for the least k >= 1 giving a time > after. */
static int
schedule_next_every(const struct schedule *s, int64_t prev, int64_t after, int64_t *next)
{
    int64_t k, t;

    if (prev == SCHEDULE_NONE)
        prev = after; /* no grid yet: start one now */
    if (after < prev) {
        k = 1;
    } else {
        /* The difference cannot overflow for real times; refuse absurd ones. */
        if (__builtin_sub_overflow(after, prev, &t))
            return -1;
        k = t / s->every_s + 1;
    }
    if (__builtin_mul_overflow(k, s->every_s, &t) || __builtin_add_overflow(prev, t, &t))
        return -1;
    *next = t;
    return 0;
}

int
schedule_next(const struct schedule *s, int64_t prev_s, int64_t after_s, int64_t *next_s)
{
    switch (s->kind) {
    case SCHEDULE_CRON:
        return cron_next(s->cron, s->zone, after_s, next_s);
    case SCHEDULE_EVERY:
        return schedule_next_every(s, prev_s, after_s, next_s);
    case SCHEDULE_AT:
        if ((prev_s != SCHEDULE_NONE && prev_s >= s->at_s) || s->at_s <= after_s)
            return -1;
        *next_s = s->at_s;
        return 0;
    case SCHEDULE_MANUAL:
        return -1;
    }
    return -1;
}

int
schedule_upcoming(const struct schedule *s, int64_t prev_s, int64_t after_s, int64_t *out,
                  int max)
{
    int64_t t;
    int n = 0;

    while (n < max && schedule_next(s, prev_s, after_s, &t) == 0) {
        out[n++] = t;
        prev_s = after_s = t;
    }
    return n;
}

/* The fire time after t on the grid that t belongs to, or SCHEDULE_NONE. */
static int64_t
schedule_succ(const struct schedule *s, int64_t t)
{
    int64_t n;

    return schedule_next(s, t, t, &n) == 0 ? n : SCHEDULE_NONE;
}

/* Fire times in [due, until), due counted as one; stops at the cap. */
static int64_t
schedule_count(const struct schedule *s, int64_t due, int64_t until, int *more)
{
    int64_t n = 0;
    int64_t t = due;

    *more = 0;
    if (until <= due)
        return 0;
    if (s->kind == SCHEDULE_EVERY)
        return (until - due - 1) / s->every_s + 1;
    while (t != SCHEDULE_NONE && t < until) {
        if (n == SCHEDULE_COUNT_MAX) {
            *more = 1;
            break;
        }
        n++;
        t = schedule_succ(s, t);
    }
    return n;
}

/* The latest fire time <= now on due's grid, due itself if none is later.
 * Fire times are not enumerated (an every-second job down for a month has
 * millions): "first fire time after x" only grows with x, so bisect for the
 * largest x whose successor is still <= now; that successor is the answer. */
static int64_t
schedule_latest(const struct schedule *s, int64_t due, int64_t now)
{
    int64_t lo = due, hi = now, n;

    if (schedule_next(s, due, due, &n) < 0 || n > now)
        return due;
    /* Invariant: next(lo) <= now < next(hi). */
    while (hi - lo > 1) {
        int64_t mid = lo + (hi - lo) / 2;

        if (schedule_next(s, due, mid, &n) == 0 && n <= now)
            lo = mid;
        else
            hi = mid;
    }
    return schedule_next(s, due, lo, &n) == 0 ? n : due;
}

void
schedule_misfire(const struct schedule *s, enum schedule_misfire_policy policy, int64_t due_s,
                 int64_t now_s, int64_t grace_s, struct schedule_plan *out)
{
    int64_t threshold, first, n;

    out->run_s = SCHEDULE_NONE;
    out->next_s = SCHEDULE_NONE;
    out->skipped = 0;
    out->skipped_more = 0;
    if (grace_s < 0)
        grace_s = 0;
    if (due_s == SCHEDULE_NONE) {
        if (schedule_next(s, SCHEDULE_NONE, now_s, &n) == 0)
            out->next_s = n;
        return;
    }
    if (due_s > now_s) {
        out->next_s = due_s; /* not due yet: nothing to decide */
        return;
    }
    if (s->kind == SCHEDULE_MANUAL) {
        out->run_s = due_s; /* asked for, however late it is picked up */
        return;
    }
    if (now_s - due_s <= grace_s) {
        out->run_s = due_s;
        out->next_s = schedule_succ(s, due_s);
        return;
    }
    threshold = now_s - grace_s; /* > due_s */
    if (policy == SCHEDULE_MISFIRE_SKIP) {
        if (schedule_next(s, due_s, threshold - 1, &first) < 0)
            first = SCHEDULE_NONE;
        out->skipped = schedule_count(s, due_s, threshold, &out->skipped_more);
        if (first != SCHEDULE_NONE && first <= now_s) {
            out->run_s = first;
            out->next_s = schedule_succ(s, first);
        } else {
            out->next_s = first;
        }
        return;
    }
    out->run_s = schedule_latest(s, due_s, now_s);
    out->next_s = schedule_succ(s, out->run_s);
    out->skipped = schedule_count(s, due_s, out->run_s, &out->skipped_more);
}

int
schedule_policy_parse(const char *text, enum schedule_misfire_policy *out)
{
    if (text != NULL && strcasecmp(text, "skip") == 0) {
        *out = SCHEDULE_MISFIRE_SKIP;
        return 0;
    }
    if (text != NULL && strcasecmp(text, "once") == 0) {
        *out = SCHEDULE_MISFIRE_ONCE;
        return 0;
    }
    return -1;
}
