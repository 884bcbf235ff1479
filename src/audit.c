/* audit.c - rows of audit_log (see audit.h). */
#include <autoconfig.h>

#include <stdio.h>

#include "audit.h"

static const char SQL_AUDIT[] =
    "INSERT INTO audit_log (actor, actor_user_id, action, object_type, object_id,"
    " department_id, before, after, remote_addr)"
    " VALUES ($1, $2::bigint, $3, $4, $5, $6::bigint, $7::jsonb, $8::jsonb, coalesce($9, ''))";

int
audit_write(struct db *db, const struct audit_actor *actor, const char *action,
            const char *object_type, const char *object_id, int64_t department_id,
            const char *before, const char *after)
{
    char user[24], dept[24];

    snprintf(user, sizeof(user), "%lld", (long long)actor->user_id);
    snprintf(dept, sizeof(dept), "%lld", (long long)department_id);
    return db_exec(db, SQL_AUDIT,
                   DB_PARAMS(actor->name, actor->user_id > 0 ? user : NULL, action, object_type,
                             object_id, department_id > 0 ? dept : NULL, before, after,
                             actor->remote_addr));
}
