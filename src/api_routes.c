/* api_routes.c - every route of the API and the permission it needs.
 *
 * This table is the only way into a handler (api.c), so a route cannot
 * exist without a permission.  PERM_JOB_*, PERM_EXEC_* and PERM_DEPT_*
 * are checked against the {id} of the path before the handler runs (404
 * for what the caller cannot see); handlers whose department comes from
 * the body (creating a job, moving one) check it themselves with
 * api_role_in().
 */
#include <autoconfig.h>

#include "api.h"
#include "api_admin.h"
#include "api_alerts.h"
#include "api_auth.h"
#include "api_callbacks.h"
#include "api_dashboard.h"
#include "api_executions.h"
#include "api_health.h"
#include "api_jobs.h"
#include "api_openapi.h"
#include "api_workflows.h"

#define V1 API_PREFIX

const struct api_route api_routes[] = {
    { "GET", "/healthz", api_healthz, PERM_OPEN },
    { "GET", "/readyz", api_readyz, PERM_PUBLIC },
    { "GET", "/metrics", api_metrics, PERM_OPEN },

    { "GET", V1 "/openapi.json", api_openapi, PERM_PUBLIC },

    { "POST", V1 "/login", api_login, PERM_PUBLIC },
    { "POST", V1 "/logout", api_logout, PERM_USER },
    { "GET", V1 "/me", api_me, PERM_USER },

    { "GET", V1 "/jobs", api_jobs_list, PERM_USER },
    { "POST", V1 "/jobs", api_job_create, PERM_USER }, /* manager of the body's department */
    { "GET", V1 "/jobs/{id}", api_job_get, PERM_JOB_VIEW },
    { "PATCH", V1 "/jobs/{id}", api_job_update, PERM_JOB_MANAGE }, /* and of a new department */
    { "DELETE", V1 "/jobs/{id}", api_job_delete, PERM_JOB_MANAGE },
    { "POST", V1 "/jobs/{id}/run", api_job_run, PERM_JOB_OPERATE },
    { "POST", V1 "/jobs/{id}/pause", api_job_pause, PERM_JOB_OPERATE },
    { "POST", V1 "/jobs/{id}/resume", api_job_resume, PERM_JOB_OPERATE },
    { "POST", V1 "/jobs/{id}/kill", api_job_kill, PERM_JOB_OPERATE },
    /* Workflows: changing a job's upstream jobs also needs the viewer role
     * in each added upstream job's department (checked by the handler). */
    { "GET", V1 "/jobs/{id}/dependencies", api_job_deps_get, PERM_JOB_VIEW },
    { "POST", V1 "/jobs/{id}/dependencies", api_job_deps_add, PERM_JOB_MANAGE },
    { "PUT", V1 "/jobs/{id}/dependencies", api_job_deps_replace, PERM_JOB_MANAGE },
    { "DELETE", V1 "/jobs/{id}/dependencies/{login}", api_job_deps_remove, PERM_JOB_MANAGE },
    { "GET", V1 "/jobs/{id}/workflow", api_job_workflow, PERM_JOB_VIEW },

    { "GET", V1 "/executions", api_executions_list, PERM_USER },
    { "GET", V1 "/executions/{id}", api_execution_get, PERM_EXEC_VIEW },
    { "POST", V1 "/executions/{id}/progress", api_execution_report, PERM_EXEC_REPORT },
    { "GET", V1 "/instances", api_instances_list, PERM_USER },
    { "GET", V1 "/cron/next", api_cron_next, PERM_USER },
    { "GET", V1 "/dashboard", api_dashboard, PERM_USER },

    { "GET", V1 "/departments", api_departments_list, PERM_USER },
    { "POST", V1 "/departments", api_department_create, PERM_ADMIN },
    { "PUT", V1 "/departments/{id}/members/{login}", api_member_put, PERM_DEPT_MANAGE },
    { "DELETE", V1 "/departments/{id}/members/{login}", api_member_delete, PERM_DEPT_MANAGE },
    { "GET", V1 "/users", api_users_list, PERM_USER },
    { "POST", V1 "/users", api_user_create, PERM_ADMIN },
    { "GET", V1 "/tokens", api_tokens_list, PERM_USER },
    { "POST", V1 "/tokens", api_token_create, PERM_USER },
    { "DELETE", V1 "/tokens/{id}", api_token_delete, PERM_USER }, /* the caller's own */
    { "GET", V1 "/audit", api_audit_list, PERM_USER }, /* rows of the caller's departments */

    /* Alerts: {id} is a channel or a rule, whose department the handler
     * checks (404 / 403 as for jobs): viewer reads, operator tests a
     * channel, manager changes. */
    { "GET", V1 "/alert-channels", api_alert_channels_list, PERM_USER },
    { "POST", V1 "/alert-channels", api_alert_channel_create, PERM_USER }, /* manager */
    { "GET", V1 "/alert-channels/{id}", api_alert_channel_get, PERM_USER },
    { "PATCH", V1 "/alert-channels/{id}", api_alert_channel_update, PERM_USER },
    { "DELETE", V1 "/alert-channels/{id}", api_alert_channel_delete, PERM_USER },
    { "POST", V1 "/alert-channels/{id}/test", api_alert_channel_test, PERM_USER },
    { "GET", V1 "/alert-rules", api_alert_rules_list, PERM_USER },
    { "POST", V1 "/alert-rules", api_alert_rule_create, PERM_USER }, /* manager */
    { "GET", V1 "/alert-rules/{id}", api_alert_rule_get, PERM_USER },
    { "PATCH", V1 "/alert-rules/{id}", api_alert_rule_update, PERM_USER },
    { "DELETE", V1 "/alert-rules/{id}", api_alert_rule_delete, PERM_USER },
    { "GET", V1 "/alerts", api_alerts_list, PERM_USER }, /* of the caller's departments */
};

const size_t api_route_count = sizeof(api_routes) / sizeof(api_routes[0]);
