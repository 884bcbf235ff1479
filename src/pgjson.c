/* pgjson.c - query results as JSON documents (see pgjson.h). */
#include <autoconfig.h>

#include <stdlib.h>

#include "pgjson.h"

/* Type OIDs of the columns typed here (fixed in pg_type since 7.x; the
 * server headers that name them are not installed with libpq). */
#define OID_BOOL 16
#define OID_INT8 20
#define OID_INT2 21
#define OID_INT4 23
#define OID_JSON 114
#define OID_FLOAT4 700
#define OID_FLOAT8 701
#define OID_NUMERIC 1700
#define OID_JSONB 3802

json_t *
pgjson_value(const PGresult *res, int row, int col)
{
    const char *text;

    if (PQgetisnull(res, row, col))
        return json_null();
    text = PQgetvalue(res, row, col);
    switch (PQftype(res, col)) {
    case OID_BOOL:
        return json_boolean(text[0] == 't');
    case OID_INT2:
    case OID_INT4:
    case OID_INT8:
        return json_integer(strtoll(text, NULL, 10));
    case OID_FLOAT4:
    case OID_FLOAT8:
    case OID_NUMERIC:
        return json_real(strtod(text, NULL));
    case OID_JSON:
    case OID_JSONB: {
        /* The server produced it, so it parses; fall back to text if not. */
        json_t *v = json_loads(text, JSON_DECODE_ANY, NULL);
        return v != NULL ? v : json_string(text);
    }
    default:
        return json_string(text);
    }
}

json_t *
pgjson_row(const PGresult *res, int row)
{
    json_t *obj = json_object();

    if (obj == NULL)
        return NULL;
    for (int c = 0; c < PQnfields(res); c++) {
        const char *name = PQfname(res, c);
        if (name[0] == '_')
            continue;
        if (json_object_set_new(obj, name, pgjson_value(res, row, c)) < 0) {
            json_decref(obj);
            return NULL;
        }
    }
    return obj;
}

json_t *
pgjson_rows(const PGresult *res)
{
    json_t *arr = json_array();

    if (arr == NULL)
        return NULL;
    for (int r = 0; r < PQntuples(res); r++) {
        json_t *obj = pgjson_row(res, r);
        if (obj == NULL || json_array_append_new(arr, obj) < 0) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}
