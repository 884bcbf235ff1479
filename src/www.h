/* www.h - the admin pages: static files served from one directory.
 *
 * The pages (www/ in the source tree, $(pkgdatadir)/www when installed)
 * are plain files that talk only to the JSON API, so serving them needs
 * no database and no permission: what a user may see or do is decided by
 * the API's checks alone.  Only names made of [A-Za-z0-9._-] segments
 * that do not start with a dot are served, so a path can never climb out
 * of the directory or reach a hidden file.
 */
#ifndef TC_WWW_H
#define TC_WWW_H

#include <stddef.h>

#include "http.h"

struct www; /* opaque */

/* NULL with err filled when dir cannot be opened. */
struct www *www_open(const char *dir, char *err, size_t errsize);
void www_close(struct www *www); /* NULL is fine */

/* Answer a GET or HEAD for path ("/" is index.html): the file with its
 * content type and an ETag (304 when If-None-Match matches), or 404. */
void www_serve(const struct www *www, const struct http_request *req,
               struct http_response *resp);

#endif
