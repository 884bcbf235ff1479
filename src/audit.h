/* audit.h - who changed what: rows of audit_log.
 *
 * Every change made through the API or the command line (jobs, and the
 * accounts: users, departments, memberships, tokens) writes one audit_log
 * row in the same transaction as the change itself, so the log never tells
 * of a change that did not happen, nor misses one that did.  The stores
 * call audit_write() from inside their transaction.
 */
#ifndef TC_AUDIT_H
#define TC_AUDIT_H

#include <stdint.h>

#include "common.h"
#include "db.h"

/* Who makes a change. */
struct audit_actor {
    const char *name;        /* borrowed; audit_log.actor: "cli:root", "user:alice", "token:ci" */
    int64_t user_id;         /* audit_log.actor_user_id; 0: none (the command line) */
    const char *remote_addr; /* borrowed; the client's address; NULL or "": none */
};

/*
 * One audit_log row: action ("job.create"), the object (type "job" and its
 * id as text), the department it belongs to (0: none), and the object as
 * JSON text before and after the change (NULL: none, as on create and
 * delete).  Logged and -1 when the statement fails (see db_last_error).
 */
int audit_write(struct db *db, const struct audit_actor *actor, const char *action,
                const char *object_type, const char *object_id, int64_t department_id,
                const char *before, const char *after) TC_MUST_CHECK;

#endif
