/* api_admin.h - departments, users, memberships, API tokens, the audit log. */
#ifndef TC_API_ADMIN_H
#define TC_API_ADMIN_H

#include "api.h"

void api_departments_list(struct api_call *call);  /* GET /departments */
void api_department_create(struct api_call *call); /* POST /departments */
void api_users_list(struct api_call *call);        /* GET /users */
void api_user_create(struct api_call *call);       /* POST /users */
void api_member_put(struct api_call *call);        /* PUT /departments/{id}/members/{login} */
void api_member_delete(struct api_call *call);     /* DELETE /departments/{id}/members/{login} */
void api_tokens_list(struct api_call *call);       /* GET /tokens */
void api_token_create(struct api_call *call);      /* POST /tokens */
void api_token_delete(struct api_call *call);      /* DELETE /tokens/{id} */
void api_audit_list(struct api_call *call);        /* GET /audit */

#endif
