/* api_executions.h - the run history, instances and schedule previews. */
#ifndef TC_API_EXECUTIONS_H
#define TC_API_EXECUTIONS_H

#include "api.h"

void api_executions_list(struct api_call *call); /* GET /executions */
void api_execution_get(struct api_call *call);   /* GET /executions/{id} */
void api_instances_list(struct api_call *call);  /* GET /instances */
void api_cron_next(struct api_call *call);       /* GET /cron/next?expr=&tz=&count= */

#endif
