/* utf8.h - is a string valid UTF-8?
 *
 * PostgreSQL refuses text that is not valid UTF-8 (SQLSTATE 22021) with an
 * error, not an empty answer; input from outside (query parameters, path
 * parts, command line arguments) is checked with this first, so that it
 * gets a clear 4xx or "not found" instead of a database error.  Pure: no
 * I/O, no allocation.
 */
#ifndef TC_UTF8_H
#define TC_UTF8_H

#include <stddef.h>

/* 1 when the len bytes at s are valid UTF-8 without NUL bytes (no
 * overlong forms, no surrogates, nothing above U+10FFFF), else 0. */
int utf8_valid(const char *s, size_t len);

/* utf8_valid() of a NUL-terminated string. */
int utf8_valid_str(const char *s);

/* Make s valid UTF-8 in place: every byte that is not part of a valid
 * sequence (a character cut by truncation, say) becomes '?'. */
void utf8_sanitize(char *s);

#endif
