/* log.h - one logfmt line per event on stderr.
 *
 *   ts=2026-11-21T10:00:00.120Z level=info msg="applied migration" file=0001_init.sql
 *
 * The field format takes the printf conversions %s %d %i %u %ld %lu %lld %llu
 * %zu %zd %g %f %c %% (with optional precision such as %.3f); every %s value
 * is quoted when it holds spaces, quotes, '=' or control characters, so a
 * field never breaks the line.  Secrets must never be passed here.
 */
#ifndef TC_LOG_H
#define TC_LOG_H

#include "common.h"

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

/* Parse "debug", "info", "warn"/"warning", "error"; -1 if unknown. */
int log_level_parse(const char *text);
const char *log_level_name(enum log_level level);

void log_set_level(enum log_level level);
int log_enabled(enum log_level level);

/* msg is a short lower-case sentence; fields may be NULL. */
void log_msg(enum log_level level, const char *msg, const char *fields, ...) TC_PRINTF(3, 4);

#define log_debug(...) do { if (log_enabled(LOG_DEBUG)) log_msg(LOG_DEBUG, __VA_ARGS__); } while (0)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

#endif
