/* api_dashboard.h - the figures of the pages' first screen. */
#ifndef TC_API_DASHBOARD_H
#define TC_API_DASHBOARD_H

#include "api.h"

/* GET /dashboard?hours=N: runs per hour by status over the last N hours
 * and the jobs whose last run did not succeed, of the caller's
 * departments (all of them for administrators). */
void api_dashboard(struct api_call *call);

#endif
