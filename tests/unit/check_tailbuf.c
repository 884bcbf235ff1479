/* check_tailbuf.c - the bounded tail buffer: limits, drop marker, UTF-8 repair. */
#include <autoconfig.h>

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tailbuf.h"
#include "tc_check.h"

/* Text of a buffer; the caller frees it. */
static char *
text_of(const struct tailbuf *tb)
{
    char *text = tailbuf_text(tb);

    ck_assert_ptr_nonnull(text);
    return text;
}

/* Check that `text` equals `want` and free it. */
static void
assert_text(char *text, const char *want)
{
    ck_assert_str_eq(text, want);
    free(text);
}

/* One buffer, one append of `in`, expected text (replacement cases). */
static void
assert_repaired(const char *in, size_t len, const char *want)
{
    struct tailbuf *tb = tailbuf_new(0);

    ck_assert_ptr_nonnull(tb);
    tailbuf_append(tb, in, len);
    assert_text(text_of(tb), want);
    tailbuf_free(tb);
}

START_TEST(test_tailbuf__empty)
{
    struct tailbuf *tb = tailbuf_new(0);

    ck_assert_ptr_nonnull(tb);
    ck_assert_uint_eq(tailbuf_len(tb), 0);
    ck_assert_uint_eq(tailbuf_dropped(tb), 0);
    assert_text(text_of(tb), "");
    tailbuf_append(tb, "", 0);
    assert_text(text_of(tb), "");
    tailbuf_free(tb);
    tailbuf_free(NULL);
}
END_TEST

START_TEST(test_tailbuf__under_limit_keeps_all)
{
    struct tailbuf *tb = tailbuf_new(16);

    tailbuf_append(tb, "hello ", 6);
    tailbuf_append(tb, "world\n", 6);
    ck_assert_uint_eq(tailbuf_len(tb), 12);
    assert_text(text_of(tb), "hello world\n");
    /* Exactly the limit is still everything. */
    tailbuf_append(tb, "1234", 4);
    ck_assert_uint_eq(tailbuf_dropped(tb), 0);
    assert_text(text_of(tb), "hello world\n1234");
    tailbuf_free(tb);
}
END_TEST

START_TEST(test_tailbuf__overflow_keeps_tail_and_marker)
{
    struct tailbuf *tb = tailbuf_new(10);

    tailbuf_append(tb, "0123456789", 10);
    tailbuf_append(tb, "abc", 3);
    ck_assert_uint_eq(tailbuf_len(tb), 10);
    ck_assert_uint_eq(tailbuf_dropped(tb), 3);
    assert_text(text_of(tb), "[... 3 bytes dropped ...]\n3456789abc");
    /* A piece longer than the limit replaces everything. */
    tailbuf_append(tb, "ABCDEFGHIJKLMNOP", 16);
    ck_assert_uint_eq(tailbuf_dropped(tb), 19);
    assert_text(text_of(tb), "[... 19 bytes dropped ...]\nGHIJKLMNOP");
    tailbuf_free(tb);
}
END_TEST

START_TEST(test_tailbuf__one_byte_dropped_is_singular)
{
    struct tailbuf *tb = tailbuf_new(2);

    tailbuf_append(tb, "abc", 3);
    assert_text(text_of(tb), "[... 1 byte dropped ...]\nbc");
    tailbuf_free(tb);
}
END_TEST

START_TEST(test_tailbuf__default_limit)
{
    struct tailbuf *tb = tailbuf_new(0);
    char chunk[1000];
    char *text;

    memset(chunk, 'x', sizeof(chunk));
    for (int i = 0; i < 100; i++)
        tailbuf_append(tb, chunk, sizeof(chunk));
    ck_assert_uint_eq(tailbuf_len(tb), TAILBUF_DEFAULT_LIMIT);
    ck_assert_uint_eq(tailbuf_dropped(tb), 100000 - TAILBUF_DEFAULT_LIMIT);
    text = text_of(tb);
    ck_assert_str_eq(strchr(text, '\n') + 1 + TAILBUF_DEFAULT_LIMIT - 1, "x");
    ck_assert_int_eq(strncmp(text, "[... 34464 bytes dropped ...]\n", 30), 0);
    free(text);
    tailbuf_free(tb);
}
END_TEST

/*
 * Random appends against a plain model (the last `limit` bytes of the whole
 * stream), for several limits: exercises growth, wrap-around and pieces of
 * every size.  Printable ASCII passes through the repair unchanged.
 */
static const size_t model_limits[] = { 1, 2, 7, 255, 256, 257, 1000, 4096 };

START_TEST(test_tailbuf__matches_model)
{
    size_t limit = model_limits[_i];
    struct tailbuf *tb = tailbuf_new(limit);
    size_t total = 0, cap = 200000;
    char *all = malloc(cap);
    unsigned int seed = 12345u + (unsigned int)_i;

    ck_assert_ptr_nonnull(all);
    for (int round = 0; round < 400 && total < cap - 3 * limit; round++) {
        size_t n = (size_t)rand_r(&seed) % (round % 7 == 0 ? 3 * limit + 1 : limit / 3 + 2);
        char *want, *text;
        size_t keep;

        for (size_t k = 0; k < n; k++)
            all[total + k] = (char)('!' + rand_r(&seed) % 90);
        tailbuf_append(tb, all + total, n);
        total += n;
        keep = total < limit ? total : limit;
        ck_assert_uint_eq(tailbuf_len(tb), keep);
        ck_assert_uint_eq(tailbuf_dropped(tb), total - keep);

        want = malloc(keep + 64);
        ck_assert_ptr_nonnull(want);
        if (total > keep)
            snprintf(want, 64, "[... %zu byte%s dropped ...]\n", total - keep,
                     total - keep == 1 ? "" : "s");
        else
            want[0] = '\0';
        strncat(want, all + total - keep, keep);
        text = text_of(tb);
        ck_assert_str_eq(text, want);
        free(text);
        free(want);
    }
    free(all);
    tailbuf_free(tb);
}
END_TEST

START_TEST(test_tailbuf__nul_bytes_replaced)
{
    assert_repaired("a\0b\0\0c", 6, "a\xEF\xBF\xBD"
                                    "b\xEF\xBF\xBD\xEF\xBF\xBD"
                                    "c");
}
END_TEST

START_TEST(test_tailbuf__valid_utf8_kept)
{
    const char *s = "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 \xEF\xBF\xBF \xF4\x8F\xBF\xBF";

    assert_repaired(s, strlen(s), s);
}
END_TEST

/* Invalid input | what it becomes (one U+FFFD per maximal subpart). */
#define R "\xEF\xBF\xBD"
static const struct {
    const char *in;
    const char *want;
} bad_utf8[] = {
    { "a\xFF" "b", "a" R "b" },                    /* never valid */
    { "\x80\xBF", R R },                           /* lone continuation bytes */
    { "\xC0\x80", R R },                           /* overlong NUL */
    { "\xC1\xBF", R R },                           /* overlong */
    { "\xE0\x80\xAF", R R R },                     /* overlong 3-byte */
    { "\xED\xA0\x80", R R R },                     /* surrogate D800 */
    { "\xF0\x80\x80\xAF", R R R R },               /* overlong 4-byte */
    { "\xF4\x90\x80\x80", R R R R },               /* above U+10FFFF */
    { "\xF5\x80", R R },                           /* past F4 */
    { "\xE2\x82" "x", R "x" },                     /* truncated, one maximal subpart */
    { "\xF0\x9F\x98" "A", R "A" },                 /* truncated 4-byte */
    { "x\xE2\x82", "x" R },                        /* truncated at the end */
    { "\xC3", R },                                 /* lone lead at the end */
};
#undef R

START_TEST(test_tailbuf__invalid_utf8_replaced)
{
    assert_repaired(bad_utf8[_i].in, strlen(bad_utf8[_i].in), bad_utf8[_i].want);
}
END_TEST

START_TEST(test_tailbuf__drop_does_not_cut_a_character)
{
    /* "é€😀" = C3 A9 | E2 82 AC | F0 9F 98 80; keep the last 6 bytes. */
    struct tailbuf *tb = tailbuf_new(6);

    tailbuf_append(tb, "\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80", 9);
    /* Held: 82 AC F0 9F 98 80: the two orphans count as dropped. */
    assert_text(text_of(tb), "[... 5 bytes dropped ...]\n\xF0\x9F\x98\x80");
    tailbuf_free(tb);

    /* Only continuation bytes held: at most three are skipped. */
    tb = tailbuf_new(5);
    tailbuf_append(tb, "x\x80\x80\x80\x80\x80", 6);
    assert_text(text_of(tb), "[... 4 bytes dropped ...]\n\xEF\xBF\xBD\xEF\xBF\xBD");
    tailbuf_free(tb);
}
END_TEST

START_TEST(test_tailbuf__sequence_across_the_wrap)
{
    /* Limit 8: after the second append the euro sign straddles the ring's end. */
    struct tailbuf *tb = tailbuf_new(8);

    tailbuf_append(tb, "abcdef", 6);
    tailbuf_append(tb, "g\xE2\x82\xAC" "hi", 6);
    assert_text(text_of(tb), "[... 4 bytes dropped ...]\nefg\xE2\x82\xAC" "hi");
    tailbuf_free(tb);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("tailbuf");
    TCase *tc = tcase_create("tailbuf");

    tcase_add_test(tc, test_tailbuf__empty);
    tcase_add_test(tc, test_tailbuf__under_limit_keeps_all);
    tcase_add_test(tc, test_tailbuf__overflow_keeps_tail_and_marker);
    tcase_add_test(tc, test_tailbuf__one_byte_dropped_is_singular);
    tcase_add_test(tc, test_tailbuf__default_limit);
    tcase_add_loop_test(tc, test_tailbuf__matches_model, 0, (int)TC_ARRAY_LEN(model_limits));
    tcase_add_test(tc, test_tailbuf__nul_bytes_replaced);
    tcase_add_test(tc, test_tailbuf__valid_utf8_kept);
    tcase_add_loop_test(tc, test_tailbuf__invalid_utf8_replaced, 0, (int)TC_ARRAY_LEN(bad_utf8));
    tcase_add_test(tc, test_tailbuf__drop_does_not_cut_a_character);
    tcase_add_test(tc, test_tailbuf__sequence_across_the_wrap);
    suite_add_tcase(s, tc);
    return tc_check_run(s);
}
