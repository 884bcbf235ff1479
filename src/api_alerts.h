/* api_alerts.h - alert channels, alert rules and the alerts sent
 * (/api/v1/alert-channels, /alert-rules, /alerts). */
#ifndef TC_API_ALERTS_H
#define TC_API_ALERTS_H

#include "api.h"

void api_alert_channels_list(struct api_call *call);  /* GET /alert-channels */
void api_alert_channel_create(struct api_call *call); /* POST /alert-channels */
void api_alert_channel_get(struct api_call *call);    /* GET /alert-channels/{id} */
void api_alert_channel_update(struct api_call *call); /* PATCH /alert-channels/{id} */
void api_alert_channel_delete(struct api_call *call); /* DELETE /alert-channels/{id} */
void api_alert_channel_test(struct api_call *call);   /* POST /alert-channels/{id}/test */

void api_alert_rules_list(struct api_call *call);  /* GET /alert-rules */
void api_alert_rule_create(struct api_call *call); /* POST /alert-rules */
void api_alert_rule_get(struct api_call *call);    /* GET /alert-rules/{id} */
void api_alert_rule_update(struct api_call *call); /* PATCH /alert-rules/{id} */
void api_alert_rule_delete(struct api_call *call); /* DELETE /alert-rules/{id} */

void api_alerts_list(struct api_call *call); /* GET /alerts */

#endif
