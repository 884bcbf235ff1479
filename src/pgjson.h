/* pgjson.h - query results as JSON documents, typed by their columns.
 *
 * The command line's --json output and the API's answers are made from the
 * same query results in the same way: a bool, integer, float or numeric
 * column becomes that JSON type, json and jsonb become the JSON they hold,
 * SQL NULL becomes null, anything else (text, times already formatted by
 * DB_SQL_UTC) a string.  Columns whose name starts with '_' are for the
 * program (sort keys, epoch seconds), not the reader, and are left out.
 * Keys keep the column order.
 */
#ifndef TC_PGJSON_H
#define TC_PGJSON_H

#include <jansson.h>
#include <libpq-fe.h>

/* One column of one row: a new reference, NULL on OOM. */
json_t *pgjson_value(const PGresult *res, int row, int col);

/* One row as an object named by the columns: a new reference, NULL on OOM. */
json_t *pgjson_row(const PGresult *res, int row);

/* Every row, an array of pgjson_row objects: a new reference, NULL on OOM. */
json_t *pgjson_rows(const PGresult *res);

#endif
