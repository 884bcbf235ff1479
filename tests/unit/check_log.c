/* check_log.c - logfmt lines: fields, quoting, levels. */
#include <autoconfig.h>

#include <check.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "tc_check.h"

/* Run one log call with stderr redirected to a temporary file; return the line. */
static char captured[8192];

static void
capture_begin(int *saved, FILE **tmp)
{
    fflush(stderr);
    *tmp = tmpfile();
    ck_assert_ptr_nonnull(*tmp);
    *saved = dup(STDERR_FILENO);
    dup2(fileno(*tmp), STDERR_FILENO);
}

static const char *
capture_end(int saved, FILE *tmp)
{
    size_t n;

    dup2(saved, STDERR_FILENO);
    close(saved);
    rewind(tmp);
    n = fread(captured, 1, sizeof(captured) - 1, tmp);
    captured[n] = '\0';
    fclose(tmp);
    return captured;
}

START_TEST(test_log__fields_and_quoting)
{
    int saved;
    FILE *tmp;
    const char *line;

    log_set_level(LOG_INFO);
    capture_begin(&saved, &tmp);
    log_info("applied migration", "file=%s n=%d big=%lld size=%zu note=%s", "0001_init.sql", 42,
             1234567890123LL, (size_t)7, "two words \"q\"\nnext");
    line = capture_end(saved, tmp);
    ck_assert_msg(strncmp(line, "ts=", 3) == 0, "line: %s", line);
    ck_assert_ptr_nonnull(strstr(line, " level=info msg=\"applied migration\" "));
    ck_assert_ptr_nonnull(strstr(line, "file=0001_init.sql n=42 big=1234567890123 size=7 "));
    ck_assert_ptr_nonnull(strstr(line, "note=\"two words \\\"q\\\"\\nnext\"\n"));
    ck_assert_int_eq((int)(strchr(line, '\n') - line), (int)strlen(line) - 1);
}
END_TEST

START_TEST(test_log__level_filter)
{
    int saved;
    FILE *tmp;

    log_set_level(LOG_WARN);
    capture_begin(&saved, &tmp);
    log_info("hidden", NULL);
    log_debug("hidden too", "x=%d", 1);
    log_warn("shown", NULL);
    ck_assert_ptr_nonnull(strstr(capture_end(saved, tmp), "level=warn msg=shown\n"));
    ck_assert_ptr_null(strstr(captured, "hidden"));
    log_set_level(LOG_INFO);
}
END_TEST

START_TEST(test_log__empty_and_null_values)
{
    int saved;
    FILE *tmp;

    capture_begin(&saved, &tmp);
    log_error("x", "a=%s b=%s pct=100%%", "", "=");
    ck_assert_ptr_nonnull(strstr(capture_end(saved, tmp), "a=\"\" b=\"=\" pct=100%\n"));
}
END_TEST

START_TEST(test_log__level_names)
{
    ck_assert_int_eq(log_level_parse("debug"), LOG_DEBUG);
    ck_assert_int_eq(log_level_parse("INFO"), LOG_INFO);
    ck_assert_int_eq(log_level_parse("warning"), LOG_WARN);
    ck_assert_int_eq(log_level_parse("error"), LOG_ERROR);
    ck_assert_int_eq(log_level_parse("loud"), -1);
    ck_assert_str_eq(log_level_name(LOG_WARN), "warn");
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("log");
    TCase *tc = tcase_create("log");

    tcase_add_test(tc, test_log__fields_and_quoting);
    tcase_add_test(tc, test_log__level_filter);
    tcase_add_test(tc, test_log__empty_and_null_values);
    tcase_add_test(tc, test_log__level_names);
    suite_add_tcase(s, tc);
    return tc_check_run(s);
}
