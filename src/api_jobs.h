/* api_jobs.h - jobs and the operator actions on them. */
#ifndef TC_API_JOBS_H
#define TC_API_JOBS_H

#include "api.h"

void api_jobs_list(struct api_call *call);   /* GET /jobs */
void api_job_create(struct api_call *call);  /* POST /jobs */
void api_job_get(struct api_call *call);     /* GET /jobs/{id} */
void api_job_update(struct api_call *call);  /* PATCH /jobs/{id} */
void api_job_delete(struct api_call *call);  /* DELETE /jobs/{id} */
void api_job_run(struct api_call *call);     /* POST /jobs/{id}/run */
void api_job_pause(struct api_call *call);   /* POST /jobs/{id}/pause */
void api_job_resume(struct api_call *call);  /* POST /jobs/{id}/resume */
void api_job_kill(struct api_call *call);    /* POST /jobs/{id}/kill */

#endif
