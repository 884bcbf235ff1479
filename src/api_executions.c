/* api_executions.c - PLACEHOLDER until the handlers land: every route answers 501. */
#include <autoconfig.h>

#include "api_executions.h"

void
api_executions_list(struct api_call *call)
{
    api_error(call, 501, "not_implemented", NULL, "not implemented yet");
}

void
api_execution_get(struct api_call *call)
{
    api_error(call, 501, "not_implemented", NULL, "not implemented yet");
}

void
api_instances_list(struct api_call *call)
{
    api_error(call, 501, "not_implemented", NULL, "not implemented yet");
}

void
api_cron_next(struct api_call *call)
{
    api_error(call, 501, "not_implemented", NULL, "not implemented yet");
}
