/* api_page.c - limits, cursors and time parameters of the list routes
 * (see api_page.h). */
#include <autoconfig.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_page.h"
#include "base64.h"
#include "schedule.h"
#include "tz.h"

/* Longest cursor text accepted: a key, a tag and an id, in base64. */
#define CURSOR_TEXT_MAX 400

/* "2026-03-08" */
#define DATE_LEN 10

int
api_page_limit(struct api_call *call, int *limit)
{
    int64_t v;

    if (api_query_int(call, "limit", API_PAGE_DEFAULT, 1, API_PAGE_MAX, &v) < 0)
        return -1;
    *limit = (int)v;
    return 0;
}

static int
key_ok(enum api_key_type type, const char *key)
{
    struct tz_error terr;
    int64_t t;

    switch (type) {
    case API_KEY_TEXT:
        for (const char *p = key; *p != '\0'; p++) {
            if ((unsigned char)*p < ' ')
                return 0;
        }
        return 1;
    case API_KEY_INT:
        return key[0] != '\0' && strlen(key) <= 18 && strspn(key, "0123456789") == strlen(key);
    case API_KEY_TIME:
        return strcmp(key, "infinity") == 0 || tz_parse_time(NULL, key, &t, &terr) == 0;
    }
    return 0;
}

char *
api_cursor_make(const char *tag, const char *key, int64_t id)
{
    char plain[sizeof(((struct api_cursor *)0)->key) + 64];
    char *text;
    size_t len;

    snprintf(plain, sizeof(plain), "%s\n%s\n%lld", tag, key, (long long)id);
    if ((text = base64_encode(plain, strlen(plain))) == NULL)
        return NULL;
    /* URL-safe: no '+', '/' or '=' to escape in a query string. */
    for (char *p = text; *p != '\0'; p++) {
        if (*p == '+')
            *p = '-';
        else if (*p == '/')
            *p = '_';
    }
    len = strlen(text);
    while (len > 0 && text[len - 1] == '=')
        text[--len] = '\0';
    return text;
}

int
api_cursor_read(struct api_call *call, const char *tag, enum api_key_type type,
                struct api_cursor *cursor)
{
    const char *text = http_query(call->req, "cursor");
    char b64[CURSOR_TEXT_MAX + 1], plain[CURSOR_TEXT_MAX + 1], *key, *id, *end;
    struct base64_error berr;
    size_t len, n;
    long long v;

    memset(cursor, 0, sizeof(*cursor));
    if (text == NULL || text[0] == '\0')
        return 0;
    len = strlen(text);
    if (len > CURSOR_TEXT_MAX)
        goto bad;
    for (size_t i = 0; i <= len; i++)
        b64[i] = text[i] == '-' ? '+' : text[i] == '_' ? '/' : text[i];
    if (base64_decode(b64, len, (unsigned char *)plain, &n, &berr) < 0 || n > CURSOR_TEXT_MAX)
        goto bad;
    plain[n] = '\0';
    if (strlen(plain) != n || (key = strchr(plain, '\n')) == NULL)
        goto bad;
    *key++ = '\0';
    if ((id = strchr(key, '\n')) == NULL)
        goto bad;
    *id++ = '\0';
    if (strcmp(plain, tag) != 0) {
        api_error(call, 400, "bad_cursor", "cursor",
                  "this cursor belongs to another list or order: start again without it");
        return -1;
    }
    v = strtoll(id, &end, 10);
    if (*end != '\0' || end == id || v < 0 || strlen(key) >= sizeof(cursor->key) ||
        !key_ok(type, key))
        goto bad;
    snprintf(cursor->key, sizeof(cursor->key), "%s", key);
    cursor->id = v;
    cursor->given = 1;
    return 0;
bad:
    api_error(call, 400, "bad_cursor", "cursor", "cursor is not one this API made");
    return -1;
}

json_t *
api_page_answer(const PGresult *res, int limit, const char *tag,
                json_t *(*item)(const PGresult *res, int row))
{
    int rows = PQntuples(res) < limit ? PQntuples(res) : limit;
    json_t *items = json_array(), *one, *answer = NULL;
    char *next = NULL;

    if (items == NULL)
        goto out;
    for (int r = 0; r < rows; r++) {
        if ((one = item(res, r)) == NULL || json_array_append_new(items, one) < 0)
            goto out;
    }
    if (PQntuples(res) > limit &&
        (next = api_cursor_make(tag, PQgetvalue(res, rows - 1, PQfnumber(res, "_key")),
                                db_get_int64(res, rows - 1, 0, 0))) == NULL)
        goto out;
    answer = json_pack("{s:o, s:s?}", "items", items, "next", next);
    items = NULL; /* stolen, even when json_pack failed */
out:
    json_decref(items);
    free(next);
    return answer;
}

int
api_query_time(struct api_call *call, const char *name, int64_t *out)
{
    const char *text = http_query(call->req, name);
    struct tz_error terr;
    char midnight[32];

    *out = SCHEDULE_NONE;
    if (text == NULL || text[0] == '\0')
        return 0;
    /* A day alone (2026-03-08) is its first second, in UTC. */
    if (strlen(text) == DATE_LEN && strspn(text, "0123456789-") == DATE_LEN) {
        snprintf(midnight, sizeof(midnight), "%sT00:00:00Z", text);
        text = midnight;
    }
    if (tz_parse_time(NULL, text, out, &terr) < 0) {
        api_error(call, 400, "bad_parameter", name,
                  "%s must be an ISO 8601 time such as 2026-03-08T03:00:00Z: %s at %d", name,
                  terr.msg, terr.pos);
        return -1;
    }
    return 0;
}
