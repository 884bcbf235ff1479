/* log.c - logfmt lines on stderr.
 *
 * Each event is formatted into one buffer and written with a single write(2),
 * so lines from several threads never interleave.  The level is checked
 * before any formatting happens.
 */
#include <autoconfig.h>

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define LOG_LINE_MAX 8192

static atomic_int log_threshold = LOG_INFO;

static const char *const level_names[] = { "debug", "info", "warn", "error" };

int
log_level_parse(const char *text)
{
    for (size_t i = 0; i < TC_ARRAY_LEN(level_names); i++) {
        if (strcasecmp(text, level_names[i]) == 0)
            return (int)i;
    }
    if (strcasecmp(text, "warning") == 0)
        return LOG_WARN;
    return -1;
}

const char *
log_level_name(enum log_level level)
{
    return level_names[level];
}

void
log_set_level(enum log_level level)
{
    atomic_store(&log_threshold, (int)level);
}

int
log_enabled(enum log_level level)
{
    return (int)level >= atomic_load(&log_threshold);
}

/* A growable-in-place line buffer that silently truncates at LOG_LINE_MAX. */
struct line {
    char buf[LOG_LINE_MAX];
    size_t len;
};

static void
line_putc(struct line *l, char c)
{
    if (l->len < sizeof(l->buf) - 2)
        l->buf[l->len++] = c;
}

static void
line_puts(struct line *l, const char *s)
{
    while (*s != '\0')
        line_putc(l, *s++);
}

static int
needs_quotes(const char *s)
{
    if (*s == '\0')
        return 1;
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        if (c <= ' ' || c == '"' || c == '=' || c == '\\' || c == 0x7f)
            return 1;
    }
    return 0;
}

/* Append a value, quoted and escaped when logfmt requires it. */
static void
line_put_value(struct line *l, const char *s)
{
    if (s == NULL)
        s = "(null)";
    if (!needs_quotes(s)) {
        line_puts(l, s);
        return;
    }
    line_putc(l, '"');
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        switch (c) {
        case '"': line_puts(l, "\\\""); break;
        case '\\': line_puts(l, "\\\\"); break;
        case '\n': line_puts(l, "\\n"); break;
        case '\r': line_puts(l, "\\r"); break;
        case '\t': line_puts(l, "\\t"); break;
        default:
            if (c < ' ' || c == 0x7f) {
                char hex[8];
                snprintf(hex, sizeof(hex), "\\x%02x", c);
                line_puts(l, hex);
            } else {
                line_putc(l, (char)c);
            }
        }
    }
    line_putc(l, '"');
}

/*
 * Format `fields` like printf, but quote every %s argument.  Conversions are
 * copied into a small spec buffer and handed to snprintf one at a time, so the
 * argument types stay those that the format attribute checked.
 */
static void
line_put_fields(struct line *l, const char *fmt, va_list ap)
{
    const char *p = fmt;

    while (*p != '\0') {
        char spec[16], tmp[64];
        size_t n = 0;
        char conv;

        if (*p != '%') {
            line_putc(l, *p++);
            continue;
        }
        spec[n++] = *p++;
        while (*p != '\0' && strchr("-+ #0123456789.", *p) != NULL && n < 8)
            spec[n++] = *p++;
        while (*p != '\0' && strchr("hlzjt", *p) != NULL && n < 12)
            spec[n++] = *p++;
        conv = *p;
        if (conv == '\0')
            break;
        spec[n++] = *p++;
        spec[n] = '\0';

        switch (conv) {
        case '%':
            line_putc(l, '%');
            break;
        case 's':
            line_put_value(l, va_arg(ap, const char *));
            break;
        case 'c':
            tmp[0] = (char)va_arg(ap, int);
            tmp[1] = '\0';
            line_put_value(l, tmp);
            break;
        case 'd': case 'i': case 'u': case 'x': case 'X':
            if (strstr(spec, "ll") != NULL)
                snprintf(tmp, sizeof(tmp), spec, va_arg(ap, long long));
            else if (strchr(spec, 'l') != NULL)
                snprintf(tmp, sizeof(tmp), spec, va_arg(ap, long));
            else if (strchr(spec, 'z') != NULL)
                snprintf(tmp, sizeof(tmp), spec, va_arg(ap, size_t));
            else
                snprintf(tmp, sizeof(tmp), spec, va_arg(ap, int));
            line_puts(l, tmp);
            break;
        case 'f': case 'g': case 'e':
            snprintf(tmp, sizeof(tmp), spec, va_arg(ap, double));
            line_puts(l, tmp);
            break;
        default:
            /* Unknown conversion: print it literally rather than guess. */
            line_puts(l, spec);
            break;
        }
    }
}

void
log_msg(enum log_level level, const char *msg, const char *fields, ...)
{
    struct line l;
    struct timeval tv;
    struct tm tm;
    char ts[64];
    va_list ap;

    if (!log_enabled(level))
        return;

    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    snprintf(ts, sizeof(ts), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
             (int)(tv.tv_usec / 1000));

    l.len = 0;
    line_puts(&l, "ts=");
    line_puts(&l, ts);
    line_puts(&l, " level=");
    line_puts(&l, level_names[level]);
    line_puts(&l, " msg=");
    line_put_value(&l, msg);
    if (fields != NULL && *fields != '\0') {
        line_putc(&l, ' ');
        va_start(ap, fields);
        line_put_fields(&l, fields, ap);
        va_end(ap);
    }
    l.buf[l.len++] = '\n';

    /* One write per line; a short write to a closed stderr is not our problem. */
    ssize_t ignored = write(STDERR_FILENO, l.buf, l.len);
    (void)ignored;
}
