/* api_health.h - liveness, readiness and metrics for operators' tools. */
#ifndef TC_API_HEALTH_H
#define TC_API_HEALTH_H

#include "api.h"

void api_healthz(struct api_call *call); /* the process answers */
void api_readyz(struct api_call *call);  /* database reachable, schema current */
void api_metrics(struct api_call *call); /* Prometheus text */

#endif
