/* utf8.c - UTF-8 validation (RFC 3629). */
#include <autoconfig.h>

#include <string.h>

#include "utf8.h"

int
utf8_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + len;

    while (p < end) {
        unsigned c = *p++;
        unsigned lo = 0x80, hi = 0xbf; /* the range of the second byte */
        int more;

        if (c == 0)
            return 0;
        if (c < 0x80)
            continue;
        if (c >= 0xc2 && c <= 0xdf) {
            more = 1;
        } else if (c >= 0xe0 && c <= 0xef) {
            more = 2;
            if (c == 0xe0)
                lo = 0xa0; /* overlong */
            else if (c == 0xed)
                hi = 0x9f; /* surrogates */
        } else if (c >= 0xf0 && c <= 0xf4) {
            more = 3;
            if (c == 0xf0)
                lo = 0x90; /* overlong */
            else if (c == 0xf4)
                hi = 0x8f; /* above U+10FFFF */
        } else {
            return 0; /* a continuation byte first, 0xc0, 0xc1 or 0xf5.. */
        }
        if (end - p < more || *p < lo || *p > hi)
            return 0;
        for (p++, more--; more > 0; p++, more--) {
            if ((*p & 0xc0) != 0x80)
                return 0;
        }
    }
    return 1;
}

int
utf8_valid_str(const char *s)
{
    return utf8_valid(s, strlen(s));
}

/* Length a sequence starting with lead byte c claims to have (1 for
 * anything that cannot start one). */
static size_t
claimed_length(unsigned char c)
{
    if (c >= 0xc2 && c <= 0xdf)
        return 2;
    if (c >= 0xe0 && c <= 0xef)
        return 3;
    if (c >= 0xf0 && c <= 0xf4)
        return 4;
    return 1;
}

void
utf8_sanitize(char *s)
{
    size_t len = strlen(s), i = 0;

    while (i < len) {
        size_t n = claimed_length((unsigned char)s[i]);

        if (n <= len - i && utf8_valid(s + i, n)) {
            i += n;
            continue;
        }
        s[i++] = '?';
    }
}
