/* password.c - libcrypt's yescrypt for passwords, getrandom() for secrets. */
#include <autoconfig.h>

#include <crypt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "password.h"

char *
password_hash(const char *password)
{
    char salt[CRYPT_GENSALT_OUTPUT_SIZE];
    struct crypt_data *data = calloc(1, sizeof(*data)); /* 32 KiB: not on the stack */
    char *hash = NULL;

    if (data == NULL)
        return NULL;
    /* "$y$", default cost, salt from the system's random source. */
    if (crypt_gensalt_rn("$y$", 0, NULL, 0, salt, sizeof(salt)) != NULL &&
        crypt_rn(password, salt, data, sizeof(*data)) != NULL && data->output[0] == '$')
        hash = strdup(data->output);
    explicit_bzero(data, sizeof(*data));
    free(data);
    return hash;
}

int
password_verify(const char *password, const char *hash)
{
    struct crypt_data *data;
    size_t a, b;
    unsigned char diff;
    int ok = 0;

    if (hash == NULL || hash[0] != '$' || (data = calloc(1, sizeof(*data))) == NULL)
        return 0;
    if (crypt_rn(password, hash, data, sizeof(*data)) != NULL && data->output[0] == '$') {
        a = strlen(data->output);
        b = strlen(hash);
        diff = a != b;
        for (size_t i = 0; i < a && i < b; i++)
            diff |= (unsigned char)(data->output[i] ^ hash[i]);
        ok = diff == 0;
    }
    explicit_bzero(data, sizeof(*data));
    free(data);
    return ok;
}

int
password_random_token(const char *prefix, char *buf, size_t size)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    unsigned char bytes[33]; /* 33 bytes: 44 characters, no padding; we keep 43 */
    size_t plen = strlen(prefix), n = 0;
    size_t got = 0;

    if (size < plen + 44)
        return -1;
    while (got < sizeof(bytes)) {
        ssize_t r = getrandom(bytes + got, sizeof(bytes) - got, 0);
        if (r < 0)
            return -1;
        got += (size_t)r;
    }
    memcpy(buf, prefix, plen);
    n = plen;
    for (size_t i = 0; i + 2 < sizeof(bytes) && n < plen + 43; i += 3) {
        unsigned v = (unsigned)bytes[i] << 16 | (unsigned)bytes[i + 1] << 8 | bytes[i + 2];
        for (int k = 18; k >= 0 && n < plen + 43; k -= 6)
            buf[n++] = alphabet[(v >> k) & 63];
    }
    buf[n] = '\0';
    explicit_bzero(bytes, sizeof(bytes));
    return 0;
}
