/* api_page.h - list routes a page at a time: ?limit=, ?cursor= and "next".
 *
 * Lists are keyset-paginated: a page ends at some row, and its "next"
 * cursor names that row by its sort key and id, so the next page starts
 * strictly after it whatever rows came or went meanwhile (no row is
 * skipped or shown twice, as OFFSET would).  A cursor is opaque to
 * clients: URL-safe base64 of the list's tag, the key and the id.  The
 * tag names the list and its order, so that a cursor is taken only where
 * it was made; the key is checked for its type before it reaches SQL.
 */
#ifndef TC_API_PAGE_H
#define TC_API_PAGE_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdint.h>

#include "api.h"

#define API_PAGE_DEFAULT 50
#define API_PAGE_MAX 500

/* What a cursor's key must look like. */
enum api_key_type {
    API_KEY_TEXT, /* any text without control characters (a name) */
    API_KEY_INT,  /* a decimal integer */
    API_KEY_TIME, /* an ISO 8601 time, or "infinity" (a NULL time sorted last) */
};

struct api_cursor {
    int given;     /* 0: no ?cursor=, the first page */
    char key[200];
    int64_t id;
};

/* ?limit= from 1 to API_PAGE_MAX, API_PAGE_DEFAULT when absent; -1 after
 * answering 400. */
int api_page_limit(struct api_call *call, int *limit) TC_MUST_CHECK;

/* ?cursor= made by api_cursor_make with this tag and a key of this type;
 * -1 after answering 400 (code "bad_cursor"). */
int api_cursor_read(struct api_call *call, const char *tag, enum api_key_type type,
                    struct api_cursor *cursor) TC_MUST_CHECK;

/* A new cursor (the caller frees it); NULL when out of memory. */
char *api_cursor_make(const char *tag, const char *key, int64_t id);

/*
 * A page's answer, {"items": [...], "next": cursor or null}: item(res, r)
 * of the first `limit` rows, and a cursor (with tag) after the last of
 * them when res holds more (a list asks for limit + 1 rows).  The rows
 * have the id as their first column and the sort key as "_key".  A new
 * reference, NULL when out of memory.
 */
json_t *api_page_answer(const PGresult *res, int limit, const char *tag,
                        json_t *(*item)(const PGresult *res, int row));

/* ?name= as an ISO 8601 time (without an offset: UTC; a date alone: its
 * midnight UTC) in epoch seconds, *out SCHEDULE_NONE when absent; -1
 * after answering 400 naming it. */
int api_query_time(struct api_call *call, const char *name, int64_t *out) TC_MUST_CHECK;

#endif
