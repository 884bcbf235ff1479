/* check_cron.c - unit tests of cron.c (links only cron.c and tz.c).
 *
 * Most cases come from tests/data/cron_cases.txt, one Check loop iteration
 * (so one TAP line) per case line; a failure names the line and its text.
 * The file is found as $srcdir/tests/data/cron_cases.txt (automake exports
 * srcdir to tests), or given as the first argument.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cron.h"
#include "casefile.h"
#include "tc_check.h"


/* For hot loops: a passing ck_assert costs a write to Check's log file. */
#define REQUIRE(cond, ...)                                                                       \
    do {                                                                                         \
        if (!(cond))                                                                             \
            ck_abort_msg(__VA_ARGS__);                                                           \
    } while (0)

/* The cases of tests/data/cron_cases.txt: expr | zone | after | next (or
 * expr | error | pos | message). */
static struct case_file cases;

static struct tz *
load_zone(const char *name)
{
    struct tz_error err;
    struct tz *z = tz_load(name, &err);

    ck_assert_msg(z != NULL, "zone %s: %s", name, err.msg);
    return z;
}

START_TEST(test_cron__data)
{
    const struct case_line *c = &cases.lines[_i];
    struct cron_error err = { -1, "" };
    struct cron_expr *ce = cron_parse(c->col[0], &err);

    if (strcmp(c->col[1], "error") == 0) {
        int pos = atoi(c->col[2]);

        ck_assert_msg(ce == NULL, "%s:%d: accepted: %s", cases.path, c->line, c->text);
        ck_assert_msg(err.pos == pos && strcmp(err.msg, c->col[3]) == 0,
                      "%s:%d: %s\n  got:      %s at %d\n  expected: %s at %d", cases.path, c->line,
                      c->col[0], err.msg, err.pos, c->col[3], pos);
    } else {
        struct tz *z = load_zone(c->col[1]);
        struct tz_error terr;
        char want[CASEFILE_MAX_LINE], got[CASEFILE_MAX_LINE] = "";
        char *tok, *save = NULL;
        int64_t t;
        size_t used = 0;

        ck_assert_msg(ce != NULL, "%s:%d: %s at %d: %s", cases.path, c->line, err.msg, err.pos,
                      c->text);
        ck_assert_msg(tz_parse_time(z, c->col[2], &t, &terr) == 0, "%s:%d: bad time: %s",
                      cases.path, c->line, terr.msg);
        snprintf(want, sizeof(want), "%s", c->col[3]);
        /* Ask for as many times as the line lists, each after the last. */
        for (tok = strtok_r(want, " ", &save); tok != NULL; tok = strtok_r(NULL, " ", &save)) {
            char buf[64];

            if (cron_next(ce, z, t, &t) < 0) {
                snprintf(buf, sizeof(buf), "none");
            } else {
                ck_assert_int_eq(tz_format_time(z, t, buf, sizeof(buf)), 0);
            }
            used += (size_t)snprintf(got + used, sizeof(got) - used, "%s%s", used ? " " : "", buf);
            if (strcmp(buf, "none") == 0)
                break;
        }
        ck_assert_msg(strcmp(got, c->col[3]) == 0,
                      "%s:%d: %s (%s, after %s)\n  got:      %s\n  expected: %s", cases.path,
                      c->line, c->col[0], c->col[1], c->col[2], got, c->col[3]);
        tz_free(z);
    }
    cron_free(ce);
}
END_TEST

/* Positions count in the original text, whatever the blanks. */
START_TEST(test_cron__blanks_and_positions)
{
    static const struct {
        const char *text;
        int pos;
        const char *msg;
    } bad[] = {
        { "  0 0 1 JNA *", 8, "unknown month name 'JNA'" },
        { "0\t0\t1\tJNA\t*", 6, "unknown month name 'JNA'" },
        { "0   0 1 * *  60", 13, "day of week 60 out of range 0-7" },
        { "\t \n", 3, "empty expression" },
        { "0 0 1 \xc3\xa9 *", 6, "unexpected byte 0xc3 in month" },
        { "0 0 1 * *\x01", 9, "unexpected byte 0x01 in day of week" },
    };
    static const char *const good[] = {
        "  0 0 1 1 *  ", "0\t0\t1\t1\t*", "0 0 1 1 *\n", "\r\n0 0 1 1 *\r\n", "0    0 1 1    *",
    };
    struct cron_error err;
    struct tz *utc = load_zone("UTC");
    size_t i;

    for (i = 0; i < TC_ARRAY_LEN(bad); i++) {
        ck_assert_ptr_null(cron_parse(bad[i].text, &err));
        ck_assert_msg(err.pos == bad[i].pos && strcmp(err.msg, bad[i].msg) == 0,
                      "case %zu: got '%s' at %d", i, err.msg, err.pos);
    }
    for (i = 0; i < TC_ARRAY_LEN(good); i++) {
        struct cron_expr *ce = cron_parse(good[i], &err);
        int64_t t;

        ck_assert_msg(ce != NULL, "case %zu: %s", i, err.msg);
        ck_assert_int_eq(cron_next(ce, utc, 0, &t), 0);
        ck_assert_int_eq(t, INT64_C(31536000)); /* 1971-01-01 */
        cron_free(ce);
    }
    tz_free(utc);
}
END_TEST

START_TEST(test_cron__odd_inputs)
{
    struct cron_error err;
    char big[3000];
    struct cron_expr *ce;
    int64_t t;

    ck_assert_ptr_null(cron_parse(NULL, &err));
    ck_assert_str_eq(err.msg, "empty expression");
    ck_assert_ptr_null(cron_parse("nonsense", NULL)); /* err may be NULL */
    memset(big, ' ', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    memcpy(big, "* * * * *", 9);
    ck_assert_ptr_null(cron_parse(big, &err));
    ck_assert_str_eq(err.msg, "expression too long (at most 1024 bytes)");
    ck_assert_int_eq(err.pos, 1024);
    /* Exactly 1024 bytes of list items are fine, one more is not. */
    memset(big, 0, sizeof(big));
    strcpy(big, "0");
    while (strlen(big) < 1016)
        strcat(big, ",1");
    strcat(big, " * * * *");
    ck_assert_int_eq(strlen(big), 1025);
    ck_assert_ptr_null(cron_parse(big, &err));
    ck_assert_int_eq(err.pos, 1024);
    ce = cron_parse(big + 1, &err); /* ",1,1,...": an empty first item */
    ck_assert_ptr_null(ce);
    ck_assert_str_eq(err.msg, "empty list item in minute");
    big[1] = ' '; /* " 1,1,...,1 * * * *": 1024 bytes */
    ce = cron_parse(big + 1, &err);
    ck_assert_msg(ce != NULL, "%s at %d", err.msg, err.pos);
    /* Huge and negative instants: clamped, never overflowed. */
    ck_assert_int_eq(cron_next(ce, NULL, INT64_MAX, &t), -1);
    ck_assert_int_eq(cron_next(ce, NULL, INT64_MAX - 1, &t), -1);
    ck_assert_int_eq(cron_next(ce, NULL, INT64_MIN, &t), 0);
    ck_assert_int_eq(t, 60); /* minute 1 of 1970-01-01 */
    ck_assert_int_eq(cron_next(ce, NULL, -1, &t), 0);
    ck_assert_int_eq(t, 60);
    cron_free(ce);
    cron_free(NULL);
}
END_TEST

/* Expressions that never fire after parsing must fail fast, not loop. */
START_TEST(test_cron__bounded_search)
{
    static const char *const never[] = {
        "0 0 0 29 2 ? 2100",
        "0 0 0 29 2 ? 2101-2199/4",
        "0 0 0 */31 * MON#5",          /* the 1st is never the 5th Monday */
        "0 0 0 */31 * 1#2,2#3,3#4",    /* nor a 2nd, 3rd or 4th anything */
        "0 0 0 ? 2 MON#5 2100-2103",  /* no leap year */
        "0 0 0 */31 * 5L 2199",
    };
    struct tz *ny = load_zone("America/New_York");
    struct cron_error err;
    size_t i;

    struct cron_expr *ce = cron_parse("59 59 23 31 12 ? 1970", &err);
    int64_t last;

    /* The very first and very last fire times of the supported range. */
    ck_assert_int_eq(cron_next(ce, NULL, INT64_MIN, &last), 0);
    ck_assert_int_eq(last, INT64_C(31535999));
    ck_assert_int_eq(cron_next(ce, NULL, last, &last), -1);
    cron_free(ce);
    ce = cron_parse("59 59 23 31 12 ? 2199", &err);
    ck_assert_int_eq(cron_next(ce, NULL, 0, &last), 0);
    ck_assert_int_eq(last, INT64_C(7258118399));
    ck_assert_int_eq(cron_next(ce, NULL, last, &last), -1);
    cron_free(ce);
    for (i = 0; i < TC_ARRAY_LEN(never); i++) {
        ce = cron_parse(never[i], &err);
        struct timespec a, b;
        int64_t t;
        double ms;

        ck_assert_msg(ce != NULL, "%s: %s", never[i], err.msg);
        clock_gettime(CLOCK_MONOTONIC, &a);
        ck_assert_int_eq(cron_next(ce, ny, INT64_C(1000000000), &t), -1);
        ck_assert_int_eq(cron_next(ce, NULL, INT64_MIN, &t), -1);
        clock_gettime(CLOCK_MONOTONIC, &b);
        ms = (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6;
        /* Generous even under sanitizers; an unbounded search would never end. */
        ck_assert_msg(ms < 500, "%s took %.1f ms", never[i], ms);
        cron_free(ce);
    }
    tz_free(ny);
}
END_TEST

/* Invariants over many expressions, zones and instants: the next time is
 * later than `after`, asking from just before it gives it back, and it is
 * stable under repetition. */
static const char *const inv_exprs[] = {
    "* * * * *", "*/7 * * * *", "0 30 2 * * *", "30 1 * * *", "0 0 L * *", "0 0 15W * *",
    "0 0 * * 5L", "0 0 * * MON#2", "*/13 */7 * * * *", "0 0 1-7 * MON", "0 0 29 2 *",
    "0 */30 1-2 * * *", "59 59 23 31 12 ? 2050-2199/7",
};
static const char *const inv_zones[] = {
    "UTC", "America/New_York", "Europe/London", "Australia/Lord_Howe", "Asia/Kathmandu",
    "Pacific/Apia", "Antarctica/Troll",
};

START_TEST(test_cron__invariants)
{
    struct tz *z = load_zone(inv_zones[_i]);
    uint64_t seed = 99;
    size_t e;

    for (e = 0; e < TC_ARRAY_LEN(inv_exprs); e++) {
        struct cron_error err;
        struct cron_expr *ce = cron_parse(inv_exprs[e], &err);
        int k;

        ck_assert_msg(ce != NULL, "%s: %s", inv_exprs[e], err.msg);
        for (k = 0; k < 400; k++) {
            int64_t after, t, t2;

            seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
            after = (int64_t)((seed >> 20) % UINT64_C(4102444800)); /* 1970-2100 */
            if (cron_next(ce, z, after, &t) < 0)
                continue;
            REQUIRE(t > after, "%s %s: %lld not after %lld", inv_exprs[e], inv_zones[_i],
                    (long long)t, (long long)after);
            REQUIRE(cron_next(ce, z, t - 1, &t2) == 0 && t2 == t, "%s %s: next(%lld - 1) = %lld",
                    inv_exprs[e], inv_zones[_i], (long long)t, (long long)t2);
            REQUIRE(cron_next(ce, z, after, &t2) == 0 && t2 == t, "%s: not repeatable",
                    inv_exprs[e]);
            /* Halfway between after and t there is no other fire time. */
            REQUIRE(cron_next(ce, z, after + (t - after) / 2, &t2) == 0 && t2 == t,
                    "%s %s: fire time between %lld and %lld", inv_exprs[e], inv_zones[_i],
                    (long long)after, (long long)t);
        }
        cron_free(ce);
    }
    tz_free(z);
}
END_TEST

/* One parsed expression and one zone shared by several threads give the
 * same answers as one thread: nothing in cron.c or tz.c is mutable. */
struct thread_job {
    const struct cron_expr *ce;
    const struct tz *z;
    int64_t out[2000];
};

static void *
thread_run(void *arg)
{
    struct thread_job *j = arg;
    int64_t t = INT64_C(1767225600); /* 2026-01-01 */
    int i;

    for (i = 0; i < 2000; i++) {
        if (cron_next(j->ce, j->z, t, &t) < 0)
            t = -1;
        j->out[i] = t;
    }
    return NULL;
}

START_TEST(test_cron__threads)
{
    struct cron_error err;
    struct cron_expr *ce = cron_parse("*/7 1-3 * * *", &err);
    struct tz *z = load_zone("America/New_York");
    static struct thread_job jobs[4], ref;
    pthread_t th[4];
    int i;

    ck_assert_ptr_nonnull(ce);
    ref.ce = ce;
    ref.z = z;
    thread_run(&ref);
    for (i = 0; i < 4; i++) {
        jobs[i].ce = ce;
        jobs[i].z = z;
        ck_assert_int_eq(pthread_create(&th[i], NULL, thread_run, &jobs[i]), 0);
    }
    for (i = 0; i < 4; i++) {
        ck_assert_int_eq(pthread_join(th[i], NULL), 0);
        ck_assert(memcmp(jobs[i].out, ref.out, sizeof(ref.out)) == 0);
    }
    cron_free(ce);
    tz_free(z);
}
END_TEST

int
main(int argc, char **argv)
{
    Suite *suite = suite_create("cron");
    TCase *data = tcase_create("data");
    TCase *tc = tcase_create("cron");

    casefile_load(&cases, argc, argv, "cron_cases.txt", 4);
    for (int i = 0; i < cases.count; i++) {
        if (cases.lines[i].ncol != 4) {
            fprintf(stderr, "%s:%d: expected 4 columns\n", cases.path, cases.lines[i].line);
            return 99;
        }
    }
    tcase_add_loop_test(data, test_cron__data, 0, cases.count);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_cron__blanks_and_positions);
    tcase_add_test(tc, test_cron__odd_inputs);
    tcase_add_test(tc, test_cron__bounded_search);
    tcase_add_loop_test(tc, test_cron__invariants, 0, (int)TC_ARRAY_LEN(inv_zones));
    tcase_add_test(tc, test_cron__threads);
    suite_add_tcase(suite, data);
    suite_add_tcase(suite, tc);
    return tc_check_run(suite);
}
