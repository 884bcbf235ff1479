/* tailbuf.c - bounded capture keeping the tail of a byte stream.
 *
 * Storage is a ring of `cap` bytes: `len` bytes starting at `head`, in
 * arrival order.  The ring starts empty and doubles (copying into a new,
 * linear allocation) until it reaches `limit`; from then on a new byte
 * overwrites the oldest one.  Most commands print a few lines, so most
 * buffers never get near the limit.
 *
 * Glossary: *dropped* = bytes that arrived but are no longer held;
 * *marker* = the "[... N bytes dropped ...]" line that says so in the text.
 */
#include <autoconfig.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tailbuf.h"

#define TAILBUF_FIRST_CAP 256

/* U+FFFD REPLACEMENT CHARACTER in UTF-8. */
static const unsigned char replacement[3] = { 0xEF, 0xBF, 0xBD };

struct tailbuf {
    unsigned char *buf; /* owned; cap bytes, NULL while cap == 0 */
    size_t cap;         /* allocated bytes, never more than limit */
    size_t limit;       /* most bytes ever held */
    size_t head;        /* index of the oldest byte held */
    size_t len;         /* bytes held */
    uint64_t dropped;   /* bytes that arrived and were let go */
};

struct tailbuf *
tailbuf_new(size_t limit)
{
    struct tailbuf *tb = calloc(1, sizeof(*tb));

    if (tb == NULL)
        return NULL;
    tb->limit = limit != 0 ? limit : TAILBUF_DEFAULT_LIMIT;
    return tb;
}

void
tailbuf_free(struct tailbuf *tb)
{
    if (tb == NULL)
        return;
    free(tb->buf);
    free(tb);
}

size_t
tailbuf_len(const struct tailbuf *tb)
{
    return tb->len;
}

uint64_t
tailbuf_dropped(const struct tailbuf *tb)
{
    return tb->dropped;
}

static unsigned char
tailbuf_at(const struct tailbuf *tb, size_t i)
{
    size_t pos = tb->head + i;

    return tb->buf[pos < tb->cap ? pos : pos - tb->cap];
}

/*
 * Make room for `need` bytes (capped at the limit), doubling.  Best effort:
 * on allocation failure the ring simply stays at its current size, which
 * tailbuf_append() handles by dropping more.  The new allocation is linear
 * (head = 0) even when the old ring had wrapped.
 */
static void
tailbuf_grow(struct tailbuf *tb, size_t need)
{
    size_t cap = tb->cap != 0 ? tb->cap : TAILBUF_FIRST_CAP;
    unsigned char *buf;

    while (cap < need && cap < tb->limit / 2)
        cap *= 2;
    if (cap < need)
        cap = tb->limit;
    if (cap > tb->limit)
        cap = tb->limit;
    if (cap <= tb->cap || (buf = malloc(cap)) == NULL)
        return;
    for (size_t i = 0; i < tb->len; i++)
        buf[i] = tailbuf_at(tb, i);
    free(tb->buf);
    tb->buf = buf;
    tb->cap = cap;
    tb->head = 0;
}

/* Forget everything held (it counts as dropped). */
static void
tailbuf_drop_all(struct tailbuf *tb)
{
    tb->dropped += tb->len;
    tb->len = 0;
    tb->head = 0;
}

void
tailbuf_append(struct tailbuf *tb, const void *data, size_t len)
{
    const unsigned char *p = data;
    size_t tail, first;

    if (len == 0)
        return;
    if (tb->len + len > tb->cap && tb->cap < tb->limit)
        tailbuf_grow(tb, tb->len + len);
    /* Only the last `cap` bytes of this piece can survive it. */
    if (len >= tb->cap) {
        tailbuf_drop_all(tb);
        tb->dropped += len - tb->cap;
        p += len - tb->cap;
        len = tb->cap;
        if (len == 0)
            return;
    }
    if (tb->len + len > tb->cap) {
        size_t over = tb->len + len - tb->cap;

        tb->head = (tb->head + over) % tb->cap;
        tb->len -= over;
        tb->dropped += over;
    }
    tail = (tb->head + tb->len) % tb->cap;
    first = tb->cap - tail < len ? tb->cap - tail : len;
    memcpy(tb->buf + tail, p, first);
    memcpy(tb->buf, p + first, len - first);
    tb->len += len;
}

/*
 * Length of the well-formed UTF-8 sequence at byte i (Unicode table 3-7:
 * no overlong forms, no surrogates, nothing above U+10FFFF), or 0 when the
 * bytes there are not one; *bad then gets the length of the maximal
 * subpart to replace by one U+FFFD (at least 1).  NUL counts as invalid:
 * PostgreSQL text cannot hold it.
 */
static size_t
tailbuf_utf8_seq(const struct tailbuf *tb, size_t i, size_t *bad)
{
    unsigned char b0 = tailbuf_at(tb, i);
    unsigned char lo = 0x80, hi = 0xBF;
    size_t need, k;

    *bad = 1;
    if (b0 == 0)
        return 0;
    if (b0 < 0x80)
        return 1;
    if (b0 >= 0xC2 && b0 <= 0xDF)
        need = 2;
    else if (b0 >= 0xE0 && b0 <= 0xEF)
        need = 3;
    else if (b0 >= 0xF0 && b0 <= 0xF4)
        need = 4;
    else
        return 0; /* continuation byte, C0/C1 (always overlong) or F5..FF */
    if (b0 == 0xE0)
        lo = 0xA0; /* below: overlong */
    else if (b0 == 0xED)
        hi = 0x9F; /* above: UTF-16 surrogates */
    else if (b0 == 0xF0)
        lo = 0x90; /* below: overlong */
    else if (b0 == 0xF4)
        hi = 0x8F; /* above: past U+10FFFF */
    for (k = 1; k < need; k++) {
        unsigned char b;

        if (i + k >= tb->len)
            break;
        b = tailbuf_at(tb, i + k);
        if (b < lo || b > hi)
            break;
        lo = 0x80;
        hi = 0xBF;
    }
    if (k == need)
        return need;
    *bad = k;
    return 0;
}

char *
tailbuf_text(const struct tailbuf *tb)
{
    uint64_t dropped = tb->dropped;
    size_t start = 0, out = 0;
    char marker[64];
    int mlen = 0;
    char *text;

    /* A drop may have cut a character: begin at the next boundary. */
    if (dropped > 0) {
        while (start < 3 && start < tb->len && (tailbuf_at(tb, start) & 0xC0) == 0x80)
            start++;
        dropped += start;
        mlen = snprintf(marker, sizeof(marker), "[... %" PRIu64 " byte%s dropped ...]\n", dropped,
                        dropped == 1 ? "" : "s");
    }
    /* Every input byte becomes at most one 3-byte U+FFFD. */
    if ((text = malloc((size_t)mlen + 3 * (tb->len - start) + 1)) == NULL)
        return NULL;
    memcpy(text, marker, (size_t)mlen);
    out = (size_t)mlen;
    for (size_t i = start; i < tb->len;) {
        size_t bad;
        size_t n = tailbuf_utf8_seq(tb, i, &bad);

        if (n == 0) {
            memcpy(text + out, replacement, sizeof(replacement));
            out += sizeof(replacement);
            i += bad;
            continue;
        }
        for (size_t k = 0; k < n; k++)
            text[out++] = (char)tailbuf_at(tb, i + k);
        i += n;
    }
    text[out] = '\0';
    return text;
}
