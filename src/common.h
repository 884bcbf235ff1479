/* common.h - attributes and return conventions shared by every module.
 *
 * Fallible calls return 0 on success and -1 on failure (constructors return
 * NULL); "not yet, call again" is TC_AGAIN.  TC_MUST_CHECK makes the compiler
 * complain when a caller ignores such a result.
 */
#ifndef TC_COMMON_H
#define TC_COMMON_H

#define TC_AGAIN 1

#if defined(__GNUC__)
#define TC_MUST_CHECK __attribute__((warn_unused_result))
#define TC_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#define TC_NORETURN __attribute__((noreturn))
#else
#define TC_MUST_CHECK
#define TC_PRINTF(fmt, args)
#define TC_NORETURN
#endif

#define TC_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#endif
