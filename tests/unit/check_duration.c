/* check_duration.c - unit tests of duration.c (links only duration.c). */
#include <stdint.h>
#include <string.h>

#include "duration.h"
#include "tc_check.h"

#define S INT64_C(1000000)

struct good_case {
    const char *text;
    int64_t us;
};

static const struct good_case good_cases[] = {
    { "0s", 0 },
    { "1us", 1 },
    { "500ms", 500000 },
    { "1s", S },
    { "30s", 30 * S },
    { "90s", 90 * S },
    { "1m", 60 * S },
    { "1m30s", 90 * S },
    { "1h", 3600 * S },
    { "1h30m", 5400 * S },
    { "2d", 2 * 86400 * S },
    { "1d2h3m4s5ms6us", ((86400 + 7200 + 180 + 4) * S) + 5006 },
    { "  45s\t", 45 * S },
    { "0001s", S },
    { "9223372036854775807us", INT64_MAX },
    { "106751991d", INT64_C(106751991) * 86400 * S },
};

struct bad_case {
    const char *text;
    int pos;
    const char *msg;
};

static const struct bad_case bad_cases[] = {
    { "", 0, "empty duration" },
    { "   ", 3, "empty duration" },
    { "10", 2, "missing unit (use d, h, m, s, ms or us)" },
    { "1h30", 4, "missing unit (use d, h, m, s, ms or us)" },
    { "5x", 1, "unknown unit 'x' (use d, h, m, s, ms or us)" },
    { "5min", 1, "unknown unit 'min' (use d, h, m, s, ms or us)" },
    { "5S", 1, "unknown unit 'S' (use d, h, m, s, ms or us)" },
    { "30m1h", 4, "units must go from largest to smallest, each once" },
    { "1m1m", 3, "units must go from largest to smallest, each once" },
    { "-5s", 0, "a duration has no sign" },
    { "+5s", 0, "a duration has no sign" },
    { "1.5h", 1, "fractions are not supported (write 1m30s, not 1.5m)" },
    { "1h 30m", 3, "unexpected text after the duration" },
    { "s", 0, "expected a number" },
    { "5s!", 2, "expected a number" },
    { "99999999999999999999s", 0, "duration too large" },
    { "9223372036854775808us", 0, "duration too large" },
    { "106751992d", 0, "duration too large" },
    { "106751991d5h", 10, "duration too large" },
};

START_TEST(test_duration__good)
{
    const struct good_case *c = &good_cases[_i];
    struct duration_error err = { -1, "" };
    int64_t us = -1;

    ck_assert_msg(duration_parse(c->text, &us, &err) == 0, "'%s': %s at %d", c->text, err.msg,
                  err.pos);
    ck_assert_msg(us == c->us, "'%s' gave %lld, expected %lld", c->text, (long long)us,
                  (long long)c->us);
}
END_TEST

START_TEST(test_duration__bad)
{
    const struct bad_case *c = &bad_cases[_i];
    struct duration_error err = { -1, "" };
    int64_t us = 42;

    ck_assert_msg(duration_parse(c->text, &us, &err) < 0, "'%s' was accepted", c->text);
    ck_assert_msg(us == 42, "'%s': output written on failure", c->text);
    ck_assert_msg(err.pos == c->pos && strcmp(err.msg, c->msg) == 0,
                  "'%s': got '%s' at %d, expected '%s' at %d", c->text, err.msg, err.pos, c->msg,
                  c->pos);
}
END_TEST

START_TEST(test_duration__null)
{
    struct duration_error err;
    int64_t us;

    ck_assert_int_lt(duration_parse(NULL, &us, &err), 0);
    ck_assert_str_eq(err.msg, "empty duration");
    /* A NULL error struct is allowed. */
    ck_assert_int_lt(duration_parse("x", &us, NULL), 0);
}
END_TEST

START_TEST(test_duration__format)
{
    static const struct {
        int64_t us;
        const char *text;
    } cases[] = {
        { 0, "0s" },
        { 1, "1us" },
        { 500000, "500ms" },
        { 90 * S, "1m30s" },
        { 5400 * S, "1h30m" },
        { 2 * 86400 * S, "2d" },
        { -2 * S, "-2s" },
        { INT64_MAX, "106751991d4h54s775ms807us" },
        { INT64_MIN, "-106751991d4h54s775ms808us" },
    };
    char buf[64];
    size_t i;

    for (i = 0; i < TC_ARRAY_LEN(cases); i++) {
        ck_assert_int_eq(duration_format(cases[i].us, buf, sizeof(buf)), 0);
        ck_assert_str_eq(buf, cases[i].text);
    }
    ck_assert_int_lt(duration_format(5400 * S, buf, 4), 0);
    ck_assert_int_lt(duration_format(0, buf, 0), 0);
}
END_TEST

/* Whatever duration_format prints, duration_parse reads back. */
START_TEST(test_duration__round_trip)
{
    int64_t us = 1, back;
    char buf[64];
    struct duration_error err;

    while (us < INT64_MAX / 3) {
        ck_assert_int_eq(duration_format(us, buf, sizeof(buf)), 0);
        ck_assert_msg(duration_parse(buf, &back, &err) == 0, "%s: %s", buf, err.msg);
        ck_assert_msg(back == us, "%s read back as %lld", buf, (long long)back);
        us = us * 3 + 7;
    }
}
END_TEST

int
main(void)
{
    Suite *suite = suite_create("duration");
    TCase *tc = tcase_create("duration");

    tcase_add_loop_test(tc, test_duration__good, 0, (int)TC_ARRAY_LEN(good_cases));
    tcase_add_loop_test(tc, test_duration__bad, 0, (int)TC_ARRAY_LEN(bad_cases));
    tcase_add_test(tc, test_duration__null);
    tcase_add_test(tc, test_duration__format);
    tcase_add_test(tc, test_duration__round_trip);
    suite_add_tcase(suite, tc);
    return tc_check_run(suite);
}
