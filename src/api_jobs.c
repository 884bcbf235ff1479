/* api_jobs.c - PLACEHOLDER until the handlers land: every route answers 501. */
#include <autoconfig.h>

#include "api_jobs.h"

void
api_jobs_list(struct api_call *call)
{
    api_error(call, 501, "not_implemented", NULL, "not implemented yet");
}

void
api_job_create(struct api_call *call)
{
    api_error(call, 501, "not_implemented", NULL, "not implemented yet");
}

void
api_job_get(struct api_call *call)
{
    api_error(call, 501, "not_implemented", NULL, "not implemented yet");
}

void
api_job_update(struct api_call *call)
{
    api_error(call, 501, "not_implemented", NULL, "not implemented yet");
}

void
api_job_delete(struct api_call *call)
{
    api_error(call, 501, "not_implemented", NULL, "not implemented yet");
}

void
api_job_run(struct api_call *call)
{
    api_error(call, 501, "not_implemented", NULL, "not implemented yet");
}

void
api_job_pause(struct api_call *call)
{
    api_error(call, 501, "not_implemented", NULL, "not implemented yet");
}

void
api_job_resume(struct api_call *call)
{
    api_error(call, 501, "not_implemented", NULL, "not implemented yet");
}

void
api_job_kill(struct api_call *call)
{
    api_error(call, 501, "not_implemented", NULL, "not implemented yet");
}
