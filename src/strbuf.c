/* strbuf.c - growable strings with a sticky out-of-memory flag. */
#include <autoconfig.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strbuf.h"

static int
grow(struct strbuf *sb, size_t extra)
{
    size_t need, cap;
    char *p;

    if (sb->failed)
        return -1;
    need = sb->len + extra + 1;
    if (need <= sb->cap)
        return 0;
    cap = sb->cap ? sb->cap : 64;
    while (cap < need)
        cap *= 2;
    if ((p = realloc(sb->data, cap)) == NULL) {
        sb->failed = 1;
        return -1;
    }
    sb->data = p;
    sb->cap = cap;
    return 0;
}

void
strbuf_add(struct strbuf *sb, const char *s, size_t n)
{
    if (grow(sb, n) < 0)
        return;
    memcpy(sb->data + sb->len, s, n);
    sb->len += n;
    sb->data[sb->len] = '\0';
}

void
strbuf_puts(struct strbuf *sb, const char *s)
{
    strbuf_add(sb, s, strlen(s));
}

void
strbuf_printf(struct strbuf *sb, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || grow(sb, (size_t)n) < 0)
        return;
    va_start(ap, fmt);
    vsnprintf(sb->data + sb->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    sb->len += (size_t)n;
}

int
strbuf_failed(const struct strbuf *sb)
{
    return sb->failed;
}

const char *
strbuf_str(const struct strbuf *sb)
{
    return sb->data != NULL ? sb->data : "";
}

char *
strbuf_take(struct strbuf *sb)
{
    char *s = sb->data;

    if (s == NULL)
        s = strdup("");
    sb->data = NULL;
    sb->len = sb->cap = 0;
    sb->failed = 0;
    return s;
}

void
strbuf_reset(struct strbuf *sb)
{
    free(sb->data);
    sb->data = NULL;
    sb->len = sb->cap = 0;
    sb->failed = 0;
}
