/* base64.h - RFC 4648 base64 with the standard alphabet (A-Z a-z 0-9 + /).
 *
 * Pure (libc only).  Used for the bytes a job config carries as text: a gRPC
 * task's protobuf message and its "-bin" metadata values, and the reply
 * messages an executor records.  Encoding always pads; decoding takes the
 * text with or without its '=' padding but nothing else: no whitespace, no
 * URL-safe alphabet, no bits left over in the last character, so that each
 * byte string has exactly one accepted spelling besides the unpadded one.
 */
#ifndef TC_BASE64_H
#define TC_BASE64_H

#include <stddef.h>

#include "common.h"

/* Why a text is not base64: pos is the offset of the first character that
 * cannot be there (the length when the text ends too early). */
struct base64_error {
    size_t pos;
    const char *msg; /* static, lower-case: "not a base64 character" */
};

/* The text for len bytes, padded, NUL-terminated; the caller frees it.
 * NULL only when memory runs out. */
char *base64_encode(const void *data, size_t len);

/* Room base64_decode needs for len characters of text. */
size_t base64_decoded_max(size_t len);

/*
 * Decode text[0..len).  out (base64_decoded_max(len) bytes) gets the bytes
 * and *out_len their number; out may be NULL to check the text only.
 * Returns 0, or -1 with err filled and nothing promised about out.
 */
int base64_decode(const char *text, size_t len, unsigned char *out, size_t *out_len,
                  struct base64_error *err) TC_MUST_CHECK;

#endif
