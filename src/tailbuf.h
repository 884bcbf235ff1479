/* tailbuf.h - bounded capture that keeps the last bytes of a stream.
 *
 * An execution's output can be of any size, but the executions row keeps
 * only its end: that is where the error usually is.  A tailbuf takes any
 * number of appends, holds at most `limit` bytes (the newest ones) and
 * counts what it dropped.  tailbuf_text() turns the bytes into a string
 * that PostgreSQL accepts as `text`.  Pure: no I/O, no locking.
 */
#ifndef TC_TAILBUF_H
#define TC_TAILBUF_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"

#define TAILBUF_DEFAULT_LIMIT ((size_t)64 * 1024)

struct tailbuf; /* opaque, defined in tailbuf.c */

/*
 * A buffer keeping the last `limit` bytes (0 = TAILBUF_DEFAULT_LIMIT).
 * Memory grows with use, never past `limit` bytes of data.  NULL when out
 * of memory.
 */
struct tailbuf *tailbuf_new(size_t limit);
void tailbuf_free(struct tailbuf *tb); /* NULL is fine */

/*
 * Add bytes (any values, NUL included).  When more than the limit has
 * arrived, the oldest bytes go and are counted in tailbuf_dropped().
 * Never fails: if memory runs short while growing, the buffer keeps fewer
 * bytes than its limit and counts the rest as dropped.
 */
void tailbuf_append(struct tailbuf *tb, const void *data, size_t len);

size_t tailbuf_len(const struct tailbuf *tb);       /* bytes held now */
uint64_t tailbuf_dropped(const struct tailbuf *tb); /* bytes dropped so far */

/*
 * The contents as a NUL-terminated string owned by the caller (free()),
 * valid UTF-8 without NUL bytes:
 *   - NUL bytes and invalid UTF-8 become U+FFFD (one per maximal invalid
 *     subsequence, as Unicode recommends);
 *   - when bytes were dropped, the text starts with the line
 *     "[... N bytes dropped ...]\n" and then at the first character
 *     boundary (continuation bytes cut by the drop are counted in N).
 * The text can be up to 3 times tailbuf_len() plus the marker line long.
 * The buffer is unchanged: call it again for a later snapshot.  NULL when
 * out of memory.
 */
char *tailbuf_text(const struct tailbuf *tb);

#endif
