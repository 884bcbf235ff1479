/* api_jobs.h - jobs and the operator actions on them. */
#ifndef TC_API_JOBS_H
#define TC_API_JOBS_H

#include "api.h"
#include "job_store.h"

void api_jobs_list(struct api_call *call);   /* GET /jobs */
void api_job_create(struct api_call *call);  /* POST /jobs */
void api_job_get(struct api_call *call);     /* GET /jobs/{id} */
void api_job_update(struct api_call *call);  /* PATCH /jobs/{id} */
void api_job_delete(struct api_call *call);  /* DELETE /jobs/{id} */
void api_job_run(struct api_call *call);     /* POST /jobs/{id}/run */
void api_job_pause(struct api_call *call);   /* POST /jobs/{id}/pause */
void api_job_resume(struct api_call *call);  /* POST /jobs/{id}/resume */
void api_job_kill(struct api_call *call);    /* POST /jobs/{id}/kill */

/* A job store error (job_store.h, job_deps.h) as its answer: 422 for a bad
 * schedule (with the position), 400 other bad input, 404, 409 (conflict,
 * version_conflict), 5xx. */
void api_job_store_error(struct api_call *call, const struct job_store_error *err);

#endif
