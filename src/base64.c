/* base64.c - RFC 4648 base64, standard alphabet, strict decoding.
 *
 * Glossary: a *quantum* is 4 characters for 3 bytes; the last one may be
 * short (2 or 3 characters for 1 or 2 bytes), written out with '=' to 4
 * or not.  A short quantum's last character carries bits that no byte
 * uses (4 after 2 characters, 2 after 3): they must be zero.
 */
#include <autoconfig.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"

static const char ALPHABET[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* The value of a character of the alphabet, or -1. */
static int
sextet(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

char *
base64_encode(const void *data, size_t len)
{
    const unsigned char *in = data;
    char *text, *p;
    size_t i;

    if (len > (SIZE_MAX - 1) / 4 * 3 - 2)
        return NULL;
    if ((text = malloc((len + 2) / 3 * 4 + 1)) == NULL)
        return NULL;
    p = text;
    for (i = 0; i + 3 <= len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        *p++ = ALPHABET[v >> 18];
        *p++ = ALPHABET[v >> 12 & 63];
        *p++ = ALPHABET[v >> 6 & 63];
        *p++ = ALPHABET[v & 63];
    }
    if (len - i == 1) {
        *p++ = ALPHABET[in[i] >> 2];
        *p++ = ALPHABET[(in[i] & 3) << 4];
        *p++ = '=';
        *p++ = '=';
    } else if (len - i == 2) {
        uint32_t v = (uint32_t)in[i] << 8 | in[i + 1];
        *p++ = ALPHABET[v >> 10];
        *p++ = ALPHABET[v >> 4 & 63];
        *p++ = ALPHABET[(v & 15) << 2];
        *p++ = '=';
    }
    *p = '\0';
    return text;
}

size_t
base64_decoded_max(size_t len)
{
    return len / 4 * 3 + (len % 4 > 1 ? len % 4 - 1 : 0);
}

static int
fail(struct base64_error *err, size_t pos, const char *msg)
{
    err->pos = pos;
    err->msg = msg;
    return -1;
}

int
base64_decode(const char *text, size_t len, unsigned char *out, size_t *out_len,
              struct base64_error *err)
{
    const char *eq = memchr(text, '=', len);
    size_t data = eq != NULL ? (size_t)(eq - text) : len, n = 0, tail, pad;
    uint32_t acc = 0;

    *out_len = 0;
    for (size_t i = 0; i < data; i++) {
        int v = sextet((unsigned char)text[i]);
        if (v < 0)
            return fail(err, i, "not a base64 character");
        acc = acc << 6 | (uint32_t)v;
        if (i % 4 == 3) {
            if (out != NULL) {
                out[n] = (unsigned char)(acc >> 16);
                out[n + 1] = (unsigned char)(acc >> 8);
                out[n + 2] = (unsigned char)acc;
            }
            n += 3;
            acc = 0;
        }
    }
    for (size_t i = data; i < len; i++) {
        if (text[i] != '=')
            return fail(err, i, "only '=' can follow the padding");
    }
    tail = data % 4;
    if (tail == 1)
        return fail(err, data - 1, "a lone last character encodes no byte");
    /* Padding, when there is any, completes the last quantum exactly. */
    pad = tail == 0 ? 0 : 4 - tail;
    if (len - data > pad)
        return fail(err, data + pad, "unexpected '=' padding");
    if (len > data && len - data < pad)
        return fail(err, len, "the '=' padding is incomplete");
    if (tail == 2) {
        if ((acc & 15) != 0)
            return fail(err, data - 1, "the last character has bits left over");
        if (out != NULL)
            out[n] = (unsigned char)(acc >> 4);
        n += 1;
    } else if (tail == 3) {
        if ((acc & 3) != 0)
            return fail(err, data - 1, "the last character has bits left over");
        if (out != NULL) {
            out[n] = (unsigned char)(acc >> 10);
            out[n + 1] = (unsigned char)(acc >> 2);
        }
        n += 2;
    }
    *out_len = n;
    return 0;
}
