/* api_workflows.h - job dependencies (workflows): a job's upstream jobs and its graph. */
#ifndef TC_API_WORKFLOWS_H
#define TC_API_WORKFLOWS_H

#include "api.h"

void api_job_deps_get(struct api_call *call);     /* GET /jobs/{id}/dependencies */
void api_job_deps_add(struct api_call *call);     /* POST /jobs/{id}/dependencies */
void api_job_deps_replace(struct api_call *call); /* PUT /jobs/{id}/dependencies */
void api_job_deps_remove(struct api_call *call);  /* DELETE /jobs/{id}/dependencies/{login} */
void api_job_workflow(struct api_call *call);     /* GET /jobs/{id}/workflow */

#endif
