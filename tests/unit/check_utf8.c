/* check_utf8.c - what utf8_valid() accepts and refuses: the boundaries of
 * each sequence length, overlong forms, surrogates, code points above
 * U+10FFFF, truncated sequences and NUL bytes. */
#include <autoconfig.h>

#include <check.h>
#include <string.h>

#include "tc_check.h"
#include "utf8.h"

static const struct {
    const char *bytes;
    int valid;
    const char *what;
} cases[] = {
    { "", 1, "empty" },
    { "plain ascii", 1, "ASCII" },
    { "\x7f", 1, "U+007F, the last one-byte code point" },
    { "caf\xc3\xa9", 1, "U+00E9" },
    { "\xc2\x80", 1, "U+0080, the first two-byte code point" },
    { "\xdf\xbf", 1, "U+07FF" },
    { "\xe0\xa0\x80", 1, "U+0800, the first three-byte code point" },
    { "\xe6\x97\xa5\xe6\x9c\xac", 1, "two CJK characters" },
    { "\xed\x9f\xbf", 1, "U+D7FF, just below the surrogates" },
    { "\xee\x80\x80", 1, "U+E000, just above them" },
    { "\xef\xbf\xbf", 1, "U+FFFF" },
    { "\xf0\x90\x80\x80", 1, "U+10000, the first four-byte code point" },
    { "\xf4\x8f\xbf\xbf", 1, "U+10FFFF, the last code point" },
    { "\x80", 0, "a lone continuation byte" },
    { "a\xbf", 0, "a continuation byte after ASCII" },
    { "\xc0\xaf", 0, "an overlong '/' (0xc0)" },
    { "\xc1\xbf", 0, "an overlong two-byte form (0xc1)" },
    { "\xe0\x80\xaf", 0, "an overlong three-byte form" },
    { "\xe0\x9f\xbf", 0, "the last overlong three-byte form" },
    { "\xf0\x80\x80\xaf", 0, "an overlong four-byte form" },
    { "\xf0\x8f\xbf\xbf", 0, "the last overlong four-byte form" },
    { "\xed\xa0\x80", 0, "U+D800, a surrogate" },
    { "\xed\xbf\xbf", 0, "U+DFFF, a surrogate" },
    { "\xf4\x90\x80\x80", 0, "U+110000, above the last code point" },
    { "\xf5\x80\x80\x80", 0, "a lead byte 0xf5" },
    { "\xff", 0, "0xff" },
    { "\xfe\xff", 0, "a UTF-16 byte order mark" },
    { "\xc3", 0, "a two-byte sequence cut short" },
    { "\xe6\x97", 0, "a three-byte sequence cut short" },
    { "\xf0\x90\x80", 0, "a four-byte sequence cut short" },
    { "\xe6\x41\xa5", 0, "ASCII inside a sequence" },
    { "\xc3\xa9\xc3", 0, "valid, then cut short" },
};

START_TEST(test_utf8__cases)
{
    const char *s = cases[_i].bytes;

    ck_assert_msg(utf8_valid(s, strlen(s)) == cases[_i].valid, "%s: expected %s", cases[_i].what,
                  cases[_i].valid ? "valid" : "invalid");
    ck_assert_int_eq(utf8_valid_str(s), cases[_i].valid);
}
END_TEST

START_TEST(test_utf8__nul_is_refused)
{
    ck_assert_int_eq(utf8_valid("a\0b", 3), 0);
    ck_assert_int_eq(utf8_valid("ab", 2), 1);
    ck_assert_int_eq(utf8_valid("\xc3\xa9", 1), 0); /* len cuts the sequence */
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("utf8");
    TCase *tc = tcase_create("utf8");

    tcase_add_loop_test(tc, test_utf8__cases, 0, (int)(sizeof(cases) / sizeof(cases[0])));
    tcase_add_test(tc, test_utf8__nul_is_refused);
    suite_add_tcase(s, tc);
    return tc_check_run(s);
}
