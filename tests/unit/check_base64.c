/* check_base64.c - RFC 4648 vectors, strict decoding with positions, and
 * round trips of random bytes. */
#include <autoconfig.h>

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "tc_check.h"

/* RFC 4648 section 10. */
static const struct {
    const char *bytes;
    const char *text;
} rfc_vectors[] = {
    { "", "" },
    { "f", "Zg==" },
    { "fo", "Zm8=" },
    { "foo", "Zm9v" },
    { "foob", "Zm9vYg==" },
    { "fooba", "Zm9vYmE=" },
    { "foobar", "Zm9vYmFy" },
};

/* Decode text, which must be valid; the caller frees the bytes. */
static unsigned char *
decode_ok(const char *text, size_t *n)
{
    struct base64_error err = { 0, NULL };
    size_t len = strlen(text);
    unsigned char *out = malloc(base64_decoded_max(len) + 1);

    ck_assert_ptr_nonnull(out);
    if (base64_decode(text, len, out, n, &err) < 0)
        ck_abort_msg("'%s' refused: %s at %zu", text, err.msg, err.pos);
    ck_assert_uint_le(*n, base64_decoded_max(len));
    return out;
}

START_TEST(test_base64__rfc4648_encode)
{
    char *text = base64_encode(rfc_vectors[_i].bytes, strlen(rfc_vectors[_i].bytes));

    ck_assert_ptr_nonnull(text);
    ck_assert_str_eq(text, rfc_vectors[_i].text);
    free(text);
}
END_TEST

START_TEST(test_base64__rfc4648_decode_padded_and_not)
{
    const char *bytes = rfc_vectors[_i].bytes;
    char unpadded[16];
    unsigned char *out;
    size_t n;

    out = decode_ok(rfc_vectors[_i].text, &n);
    ck_assert_uint_eq(n, strlen(bytes));
    ck_assert_int_eq(memcmp(out, bytes, n), 0);
    free(out);

    snprintf(unpadded, sizeof(unpadded), "%.*s", (int)strcspn(rfc_vectors[_i].text, "="),
             rfc_vectors[_i].text);
    out = decode_ok(unpadded, &n);
    ck_assert_uint_eq(n, strlen(bytes));
    ck_assert_int_eq(memcmp(out, bytes, n), 0);
    free(out);
}
END_TEST

/* Refused texts: where, and a word of why. */
static const struct {
    const char *text;
    size_t pos;
    const char *words;
} bad_texts[] = {
    { "Zm9v Zg==", 4, "not a base64 character" },
    { "Zm9v\n", 4, "not a base64 character" },
    { "-_8=", 0, "not a base64 character" }, /* the URL-safe alphabet */
    { "Zm9v\xc3\xa9", 4, "not a base64 character" },
    { "Zg=", 3, "padding is incomplete" },
    { "Zm9vYg=", 7, "padding is incomplete" },
    { "Zg===", 4, "unexpected '='" },
    { "Zm8==", 4, "unexpected '='" },
    { "Zm9v=", 4, "unexpected '='" },
    { "=", 0, "unexpected '='" },
    { "==", 0, "unexpected '='" },
    { "===", 0, "unexpected '='" },
    { "Zg==Zg==", 4, "only '=' can follow the padding" },
    { "Z=g=", 2, "only '=' can follow the padding" },
    { "Zm9v=Zm9v", 5, "only '=' can follow the padding" },
    { "Z", 0, "a lone last character" },
    { "Zm9vY", 4, "a lone last character" },
    { "Zm9vY===", 4, "a lone last character" },
    { "Zh==", 1, "bits left over" },
    { "Zh", 1, "bits left over" },
    { "Zm9=", 2, "bits left over" },
};

START_TEST(test_base64__strict_decode_names_the_position)
{
    struct base64_error err = { 99, NULL };
    unsigned char out[16];
    size_t n = 42;

    ck_assert_int_eq(
        base64_decode(bad_texts[_i].text, strlen(bad_texts[_i].text), out, &n, &err), -1);
    ck_assert_msg(err.pos == bad_texts[_i].pos, "'%s': pos %zu, expected %zu", bad_texts[_i].text,
                  err.pos, bad_texts[_i].pos);
    ck_assert_ptr_nonnull(err.msg);
    ck_assert_msg(strstr(err.msg, bad_texts[_i].words) != NULL, "'%s': '%s' lacks '%s'",
                  bad_texts[_i].text, err.msg, bad_texts[_i].words);
    /* The same answer when only checking. */
    err.pos = 99;
    ck_assert_int_eq(
        base64_decode(bad_texts[_i].text, strlen(bad_texts[_i].text), NULL, &n, &err), -1);
    ck_assert_uint_eq(err.pos, bad_texts[_i].pos);
}
END_TEST

START_TEST(test_base64__every_byte_outside_the_alphabet_refused)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    struct base64_error err;
    int refused = 0;
    size_t n;

    for (int c = 0; c < 256; c++) {
        char text[4] = { 'Q', 'U', 'J', (char)c }; /* "QUJD" is "ABC" */
        int in = c != 0 && strchr(alphabet, c) != NULL;
        int rc = base64_decode(text, sizeof(text), NULL, &n, &err);
        if (c == '=') /* "QUJ=": padding, but 'J' then has bits left over */
            ck_assert_int_eq(rc, -1);
        else if (in)
            ck_assert_int_eq(rc, 0);
        else {
            ck_assert_int_eq(rc, -1);
            ck_assert_uint_eq(err.pos, 3);
            refused++;
        }
    }
    ck_assert_int_eq(refused, 256 - 64 - 1);
}
END_TEST

START_TEST(test_base64__decode_length_counts_without_output)
{
    struct base64_error err;
    size_t n = 0;

    ck_assert_int_eq(base64_decode("Zm9vYmE=", 8, NULL, &n, &err), 0);
    ck_assert_uint_eq(n, 5);
    ck_assert_int_eq(base64_decode("", 0, NULL, &n, &err), 0);
    ck_assert_uint_eq(n, 0);
    /* len bounds the text: what follows is not read. */
    ck_assert_int_eq(base64_decode("Zm9v!!!!", 4, NULL, &n, &err), 0);
    ck_assert_uint_eq(n, 3);
    ck_assert_uint_eq(base64_decoded_max(0), 0);
    ck_assert_uint_eq(base64_decoded_max(2), 1);
    ck_assert_uint_eq(base64_decoded_max(3), 2);
    ck_assert_uint_eq(base64_decoded_max(4), 3);
}
END_TEST

/* A small deterministic generator: the same bytes on every run. */
static uint32_t
next_random(uint32_t *state)
{
    *state ^= *state << 13;
    *state ^= *state >> 17;
    *state ^= *state << 5;
    return *state;
}

START_TEST(test_base64__random_round_trips)
{
    uint32_t state = 0x2545F491u;
    unsigned char bytes[300];

    for (size_t len = 0; len <= sizeof(bytes); len++) {
        for (int round = 0; round < 3; round++) {
            unsigned char *out;
            char *text;
            size_t n, tlen;

            for (size_t i = 0; i < len; i++)
                bytes[i] = (unsigned char)next_random(&state);
            text = base64_encode(bytes, len);
            ck_assert_ptr_nonnull(text);
            tlen = strlen(text);
            ck_assert_uint_eq(tlen, (len + 2) / 3 * 4);
            out = decode_ok(text, &n);
            ck_assert_uint_eq(n, len);
            ck_assert_int_eq(memcmp(out, bytes, len), 0);
            free(out);
            /* Without its padding it is the same bytes. */
            text[strcspn(text, "=")] = '\0';
            out = decode_ok(text, &n);
            ck_assert_uint_eq(n, len);
            ck_assert_int_eq(memcmp(out, bytes, len), 0);
            free(out);
            free(text);
        }
    }
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("base64");
    TCase *tc = tcase_create("base64");

    tcase_add_loop_test(tc, test_base64__rfc4648_encode, 0, (int)TC_ARRAY_LEN(rfc_vectors));
    tcase_add_loop_test(tc, test_base64__rfc4648_decode_padded_and_not, 0,
                        (int)TC_ARRAY_LEN(rfc_vectors));
    tcase_add_loop_test(tc, test_base64__strict_decode_names_the_position, 0,
                        (int)TC_ARRAY_LEN(bad_texts));
    tcase_add_test(tc, test_base64__every_byte_outside_the_alphabet_refused);
    tcase_add_test(tc, test_base64__decode_length_counts_without_output);
    tcase_add_test(tc, test_base64__random_round_trips);
    suite_add_tcase(s, tc);
    return tc_check_run(s);
}
