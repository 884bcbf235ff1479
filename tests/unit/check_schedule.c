/* check_schedule.c - unit tests of schedule.c (links the pure schedule
 * engine: schedule, cron, tz, duration).
 *
 * Table cases come from tests/data/schedule_cases.txt (found through $srcdir
 * or given as the first argument), one TAP line per case line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schedule.h"
#include "casefile.h"
#include "tc_check.h"


/* The cases of tests/data/schedule_cases.txt; the first column says which
 * kind of case a line is and how many columns it has. */
static struct case_file cases;

static struct schedule *
parse_ok(const struct case_line *c, const char *text, const char *zone)
{
    struct schedule_error err;
    struct schedule *s = schedule_parse(text, zone, &err);

    ck_assert_msg(s != NULL, "%s:%d: %s at %d: %s", cases.path, c->line, err.msg, err.pos,
                  c->text);
    return s;
}

/* "-" is SCHEDULE_NONE; times without an offset are local to the zone. */
static int64_t
time_col(const struct case_line *c, const struct schedule *s, const char *text)
{
    struct tz_error err;
    int64_t t;

    if (strcmp(text, "-") == 0)
        return SCHEDULE_NONE;
    ck_assert_msg(tz_parse_time(schedule_zone(s), text, &t, &err) == 0, "%s:%d: bad time %s: %s",
                  cases.path, c->line, text, err.msg);
    return t;
}

static const char *
fmt(const struct schedule *s, int64_t t, char *buf, size_t size)
{
    if (t == SCHEDULE_NONE)
        return "-";
    ck_assert_int_eq(tz_format_time(schedule_zone(s), t, buf, size), 0);
    return buf;
}

static void
case_next(const struct case_line *c)
{
    struct schedule *s;
    int64_t prev, after;
    char want[CASEFILE_MAX_LINE], got[CASEFILE_MAX_LINE] = "";
    char *tok, *save = NULL;
    size_t used = 0;

    ck_assert_msg(c->ncol == 6, "%s:%d: next takes 6 columns", cases.path, c->line);
    s = parse_ok(c, c->col[1], c->col[2]);
    prev = time_col(c, s, c->col[3]);
    after = time_col(c, s, c->col[4]);
    snprintf(want, sizeof(want), "%s", c->col[5]);
    for (tok = strtok_r(want, " ", &save); tok != NULL; tok = strtok_r(NULL, " ", &save)) {
        char buf[64];
        int64_t next;

        if (schedule_next(s, prev, after, &next) < 0) {
            used += (size_t)snprintf(got + used, sizeof(got) - used, "%snone", used ? " " : "");
            break;
        }
        used += (size_t)snprintf(got + used, sizeof(got) - used, "%s%s", used ? " " : "",
                                 fmt(s, next, buf, sizeof(buf)));
        prev = after = next;
    }
    ck_assert_msg(strcmp(got, c->col[5]) == 0, "%s:%d: %s\n  got:      %s\n  expected: %s",
                  cases.path, c->line, c->text, got, c->col[5]);
    schedule_free(s);
}

static void
case_misfire(const struct case_line *c)
{
    enum schedule_misfire_policy policy;
    struct schedule_plan plan;
    struct schedule *s;
    char b1[64], b2[64], got[256], want[256];

    ck_assert_msg(c->ncol == 10, "%s:%d: misfire takes 10 columns", cases.path, c->line);
    s = parse_ok(c, c->col[1], c->col[2]);
    ck_assert_int_eq(schedule_policy_parse(c->col[3], &policy), 0);
    schedule_misfire(s, policy, time_col(c, s, c->col[4]), time_col(c, s, c->col[5]),
                     atoll(c->col[6]), &plan);
    snprintf(got, sizeof(got), "%s | %s | %lld%s", fmt(s, plan.run_s, b1, sizeof(b1)),
             fmt(s, plan.next_s, b2, sizeof(b2)), (long long)plan.skipped,
             plan.skipped_more ? "+" : "");
    snprintf(want, sizeof(want), "%s | %s | %s", c->col[7], c->col[8], c->col[9]);
    ck_assert_msg(strcmp(got, want) == 0, "%s:%d: %s\n  got:      %s\n  expected: %s", cases.path,
                  c->line, c->text, got, want);
    schedule_free(s);
}

static void
case_error(const struct case_line *c)
{
    struct schedule_error err = { SCHEDULE_PART_TEXT, -1, "" };
    struct schedule *s;
    const char *part;

    ck_assert_msg(c->ncol == 6, "%s:%d: error takes 6 columns", cases.path, c->line);
    s = schedule_parse(c->col[1], c->col[2], &err);
    ck_assert_msg(s == NULL, "%s:%d: accepted: %s", cases.path, c->line, c->text);
    part = err.part == SCHEDULE_PART_ZONE ? "zone" : "text";
    ck_assert_msg(strcmp(part, c->col[3]) == 0 && err.pos == atoi(c->col[4]) &&
                      strcmp(err.msg, c->col[5]) == 0,
                  "%s:%d: %s\n  got:      %s | %d | %s\n  expected: %s | %s | %s", cases.path,
                  c->line, c->col[1], part, err.pos, err.msg, c->col[3], c->col[4], c->col[5]);
}

START_TEST(test_schedule__data)
{
    const struct case_line *c = &cases.lines[_i];

    if (strcmp(c->col[0], "next") == 0)
        case_next(c);
    else if (strcmp(c->col[0], "misfire") == 0)
        case_misfire(c);
    else if (strcmp(c->col[0], "error") == 0)
        case_error(c);
    else
        ck_abort_msg("%s:%d: unknown case kind '%s'", cases.path, c->line, c->col[0]);
}
END_TEST

START_TEST(test_schedule__accessors)
{
    struct schedule_error err;
    struct schedule *s;

    s = schedule_parse("@daily", NULL, &err);
    ck_assert_ptr_nonnull(s);
    ck_assert_int_eq(schedule_kind(s), SCHEDULE_CRON);
    ck_assert_int_eq(schedule_is_oneoff(s), 0);
    ck_assert_str_eq(tz_name(schedule_zone(s)), "UTC");
    schedule_free(s);

    s = schedule_parse("@every 1m", "", &err);
    ck_assert_ptr_nonnull(s);
    ck_assert_int_eq(schedule_kind(s), SCHEDULE_EVERY);
    ck_assert_int_eq(schedule_is_oneoff(s), 0);
    ck_assert_str_eq(tz_name(schedule_zone(s)), "UTC");
    schedule_free(s);

    s = schedule_parse("@at 2030-01-01T00:00:00Z", "Europe/Paris", &err);
    ck_assert_ptr_nonnull(s);
    ck_assert_int_eq(schedule_kind(s), SCHEDULE_AT);
    ck_assert_int_eq(schedule_is_oneoff(s), 1);
    ck_assert_str_eq(tz_name(schedule_zone(s)), "Europe/Paris");
    schedule_free(s);

    s = schedule_parse(" @Manual ", NULL, &err);
    ck_assert_ptr_nonnull(s);
    ck_assert_int_eq(schedule_kind(s), SCHEDULE_MANUAL);
    ck_assert_int_eq(schedule_is_manual(s), 1);
    ck_assert_int_eq(schedule_is_oneoff(s), 0);
    schedule_free(s);
    schedule_free(NULL);
}
END_TEST

/* Blanks are kept in positions: they count in the text the user sent. */
START_TEST(test_schedule__blanks)
{
    static const struct {
        const char *text;
        int pos;
        const char *msg;
    } bad[] = {
        { "  0 0 1 JNA *", 8, "unknown month name 'JNA'" },
        { "   ", 3, "empty schedule" },
        { "\t@every  90", 11, "missing unit (use d, h, m, s, ms or us)" },
        { "  @at   2027-13-01T00:00:00Z  ", 13, "month 13 out of range 1-12" },
        { "@every ", 7, "expected an interval after @every, as in @every 90s" },
    };
    static const char *const good[] = {
        "  @every 90s  ", "@every\t90s", " @at 2030-01-01T00:00:00Z\n", "\t0 0 * * *\t", "@daily ",
    };
    struct schedule_error err;
    size_t i;

    for (i = 0; i < TC_ARRAY_LEN(bad); i++) {
        ck_assert_ptr_null(schedule_parse(bad[i].text, NULL, &err));
        ck_assert_msg(err.part == SCHEDULE_PART_TEXT && err.pos == bad[i].pos &&
                          strcmp(err.msg, bad[i].msg) == 0,
                      "'%s': got '%s' at %d", bad[i].text, err.msg, err.pos);
    }
    for (i = 0; i < TC_ARRAY_LEN(good); i++) {
        struct schedule *s = schedule_parse(good[i], NULL, &err);

        ck_assert_msg(s != NULL, "'%s': %s at %d", good[i], err.msg, err.pos);
        schedule_free(s);
    }
}
END_TEST

START_TEST(test_schedule__odd_inputs)
{
    struct schedule_error err;
    struct schedule *s;
    char big[2000];
    int64_t t;

    ck_assert_ptr_null(schedule_parse(NULL, NULL, &err));
    ck_assert_str_eq(err.msg, "empty schedule");
    ck_assert_ptr_null(schedule_parse("x", NULL, NULL));
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    ck_assert_ptr_null(schedule_parse(big, NULL, &err));
    ck_assert_str_eq(err.msg, "schedule too long (at most 1024 bytes)");
    /* @every arithmetic near the ends of int64 fails cleanly. */
    s = schedule_parse("@every 36500d", NULL, &err);
    ck_assert_ptr_nonnull(s);
    ck_assert_int_eq(schedule_next(s, INT64_MAX - 5, INT64_MAX - 5, &t), -1);
    ck_assert_int_eq(schedule_next(s, SCHEDULE_NONE, INT64_MAX - 5, &t), -1);
    ck_assert_int_eq(schedule_next(s, INT64_MIN + 1, INT64_MAX, &t), -1);
    ck_assert_int_eq(schedule_next(s, 0, -5, &t), 0);
    ck_assert_int_eq(t, INT64_C(36500) * 86400);
    schedule_free(s);
}
END_TEST

START_TEST(test_schedule__policy)
{
    enum schedule_misfire_policy p;

    ck_assert_int_eq(schedule_policy_parse("skip", &p), 0);
    ck_assert_int_eq(p, SCHEDULE_MISFIRE_SKIP);
    ck_assert_int_eq(schedule_policy_parse("ONCE", &p), 0);
    ck_assert_int_eq(p, SCHEDULE_MISFIRE_ONCE);
    ck_assert_int_lt(schedule_policy_parse("all", &p), 0);
    ck_assert_int_lt(schedule_policy_parse("", &p), 0);
    ck_assert_int_lt(schedule_policy_parse(NULL, &p), 0);
}
END_TEST

/* The misfire decision agrees with a plain walk over the fire times, for
 * many outages: run is the latest (once) or first on-time (skip) one, and
 * the skipped count is exact. */
START_TEST(test_schedule__misfire_walk)
{
    static const char *const scheds[] = { "*/7 * * * *", "@every 650s", "0 30 2 * * *",
                                          "0 0 L * *" };
    struct schedule_error err;
    uint64_t seed = 7;
    size_t i;

    for (i = 0; i < TC_ARRAY_LEN(scheds); i++) {
        struct schedule *s = schedule_parse(scheds[i], "America/New_York", &err);
        int k;

        ck_assert_ptr_nonnull(s);
        for (k = 0; k < 60; k++) {
            int64_t due, now, grace, t, last = SCHEDULE_NONE, first_on_time = SCHEDULE_NONE;
            int64_t before_last = 0, before_threshold = 0;
            struct schedule_plan plan;
            int policy;

            seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
            ck_assert_int_eq(schedule_next(s, SCHEDULE_NONE, INT64_C(1767225600) +
                                                                 (int64_t)(seed >> 40) % 9000000,
                                           &due),
                             0);
            now = due + (int64_t)((seed >> 20) % 4000000);
            grace = (int64_t)((seed >> 8) % 3) * 300;
            /* Walk every fire time from due up to now. */
            for (t = due; t <= now;) {
                if (t < now - grace)
                    before_threshold++;
                else if (first_on_time == SCHEDULE_NONE)
                    first_on_time = t;
                last = t;
                if (schedule_next(s, t, t, &t) < 0)
                    break;
            }
            for (t = due; t < last;) {
                before_last++;
                if (schedule_next(s, t, t, &t) < 0)
                    break;
            }
            for (policy = 0; policy < 2; policy++) {
                schedule_misfire(s, (enum schedule_misfire_policy)policy, due, now, grace, &plan);
                if (now - due <= grace) {
                    ck_assert_int_eq(plan.run_s, due);
                    ck_assert_int_eq(plan.skipped, 0);
                } else if (policy == SCHEDULE_MISFIRE_SKIP) {
                    ck_assert_int_eq(plan.run_s, first_on_time);
                    ck_assert_int_eq(plan.skipped, before_threshold);
                } else {
                    ck_assert_int_eq(plan.run_s, last);
                    ck_assert_int_eq(plan.skipped, before_last);
                }
                if (plan.run_s != SCHEDULE_NONE) {
                    ck_assert_int_eq(schedule_next(s, plan.run_s, plan.run_s, &t), 0);
                    ck_assert_int_eq(plan.next_s, t);
                } else {
                    ck_assert(plan.next_s > now);
                }
            }
        }
        schedule_free(s);
    }
}
END_TEST

int
main(int argc, char **argv)
{
    Suite *suite = suite_create("schedule");
    TCase *data = tcase_create("data");
    TCase *tc = tcase_create("schedule");

    casefile_load(&cases, argc, argv, "schedule_cases.txt", CASEFILE_MAX_COLS);
    tcase_add_loop_test(data, test_schedule__data, 0, cases.count);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_schedule__accessors);
    tcase_add_test(tc, test_schedule__blanks);
    tcase_add_test(tc, test_schedule__odd_inputs);
    tcase_add_test(tc, test_schedule__policy);
    tcase_add_test(tc, test_schedule__misfire_walk);
    suite_add_tcase(suite, data);
    suite_add_tcase(suite, tc);
    return tc_check_run(suite);
}
