/* api_openapi.c - GET /api/v1/openapi.json: docs/openapi.json, byte for byte. */
#include <autoconfig.h>

#include "api_openapi.h"

void
api_openapi(struct api_call *call)
{
    if (http_set_body(call->resp, 200, "application/json", api_openapi_doc,
                      api_openapi_doc_len) < 0) {
        api_error(call, 500, "internal", NULL, "out of memory");
        return;
    }
    call->answered = 1;
}
