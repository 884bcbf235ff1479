/* api_openapi.h - GET /api/v1/openapi.json: the API's OpenAPI 3 document.
 *
 * The document is docs/openapi.json, embedded in the binary at build time
 * (Makefile.am turns it into the byte array of api_openapi_doc.c), so the
 * served document is always the file of the tree the binary was built from.
 */
#ifndef TC_API_OPENAPI_H
#define TC_API_OPENAPI_H

#include <stddef.h>

#include "api.h"

/* The bytes of docs/openapi.json (generated api_openapi_doc.c). */
extern const unsigned char api_openapi_doc[];
extern const size_t api_openapi_doc_len;

void api_openapi(struct api_call *call); /* answers the document as it is */

#endif
