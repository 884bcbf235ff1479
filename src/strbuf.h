/* strbuf.h - a growable NUL-terminated string.
 *
 * Appends never fail visibly: on out-of-memory the buffer is marked failed,
 * later appends do nothing, and strbuf_failed() tells the caller once at the
 * end (so building a string needs one check, not one per append).
 */
#ifndef TC_STRBUF_H
#define TC_STRBUF_H

#include <stddef.h>

#include "common.h"

struct strbuf {
    char *data;   /* owned; always NUL-terminated once anything was added */
    size_t len;
    size_t cap;
    int failed;
};

#define STRBUF_INIT { NULL, 0, 0, 0 }

void strbuf_add(struct strbuf *sb, const char *s, size_t n);
void strbuf_puts(struct strbuf *sb, const char *s);
void strbuf_printf(struct strbuf *sb, const char *fmt, ...) TC_PRINTF(2, 3);
int strbuf_failed(const struct strbuf *sb);
const char *strbuf_str(const struct strbuf *sb); /* "" when empty; borrowed */
char *strbuf_take(struct strbuf *sb);            /* caller owns it; sb is reset */
void strbuf_reset(struct strbuf *sb);            /* frees */

#endif
