/* api_callbacks.h - reports of long-running HTTP tasks (a 202 answer). */
#ifndef TC_API_CALLBACKS_H
#define TC_API_CALLBACKS_H

#include "api.h"

/* POST /executions/{id}/progress with X-Tablecron-Token: progress, a
 * message, and finally the outcome. */
void api_execution_report(struct api_call *call);

#endif
