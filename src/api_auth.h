/* api_auth.h - signing in and out, and who am I. */
#ifndef TC_API_AUTH_H
#define TC_API_AUTH_H

#include "api.h"

void api_login(struct api_call *call);  /* POST /login {"login", "password"} */
void api_logout(struct api_call *call); /* POST /logout */
void api_me(struct api_call *call);     /* GET /me: user, departments and roles, csrf_token */

#endif
