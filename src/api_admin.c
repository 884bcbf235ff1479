/* api_admin.c - PLACEHOLDER until the handlers land: every route answers 501. */
#include <autoconfig.h>

#include "api_admin.h"

void
api_departments_list(struct api_call *call)
{
    api_error(call, 501, "not_implemented", NULL, "not implemented yet");
}

void
api_department_create(struct api_call *call)
{
    api_error(call, 501, "not_implemented", NULL, "not implemented yet");
}

void
api_users_list(struct api_call *call)
{
    api_error(call, 501, "not_implemented", NULL, "not implemented yet");
}

void
api_user_create(struct api_call *call)
{
    api_error(call, 501, "not_implemented", NULL, "not implemented yet");
}

void
api_member_put(struct api_call *call)
{
    api_error(call, 501, "not_implemented", NULL, "not implemented yet");
}

void
api_member_delete(struct api_call *call)
{
    api_error(call, 501, "not_implemented", NULL, "not implemented yet");
}

void
api_tokens_list(struct api_call *call)
{
    api_error(call, 501, "not_implemented", NULL, "not implemented yet");
}

void
api_token_create(struct api_call *call)
{
    api_error(call, 501, "not_implemented", NULL, "not implemented yet");
}

void
api_token_delete(struct api_call *call)
{
    api_error(call, 501, "not_implemented", NULL, "not implemented yet");
}

void
api_audit_list(struct api_call *call)
{
    api_error(call, 501, "not_implemented", NULL, "not implemented yet");
}
