/* password.h - login passwords as salted slow hashes (crypt(3), yescrypt).
 *
 * Only the hash is stored (users.password_hash, "$y$..."); checking a
 * password costs tens of milliseconds on purpose, which makes guessing
 * from a stolen table slow.
 */
#ifndef TC_PASSWORD_H
#define TC_PASSWORD_H

#include <stddef.h>

#include "common.h"

/* Minimum length of a new password. */
#define PASSWORD_MIN_LEN 8

/* A new hash with a random salt (caller frees); NULL when the system's
 * libcrypt or random source fails. */
char *password_hash(const char *password);

/* 1 when password matches hash, 0 otherwise (also for malformed hashes). */
int password_verify(const char *password, const char *hash);

/* A random secret for tokens and cookies: 32 random bytes as 43
 * characters of URL-safe base64 after prefix ("tc_", "" ...).  -1 when the
 * random source fails. */
int password_random_token(const char *prefix, char *buf, size_t size) TC_MUST_CHECK;

#endif
