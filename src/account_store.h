/* account_store.h - users, departments, memberships and API tokens: every
 * change to them, each with its audit_log row in the same transaction.
 *
 * The command line (cli_account.c) and the API (api_admin.c) change these
 * tables only through here, so a login, a department name, a role or a
 * password is checked the same way whoever asks, and nothing escapes the
 * audit log.  The listings both show are here too (as SQL), so that the
 * command line's --json and the API's answers have the same fields; who
 * may see which rows is the caller's business.
 *
 * Secrets never leave this module in a row image: audit_log's before and
 * after hold a user's has_password, never its hash, and a token's prefix,
 * never the token or its hash.  A new token's text is handed to the caller
 * once and is stored only as its SHA-256.
 *
 * Glossary: an *image* is the JSON object of a row as audited and as the
 * API shows it; a *ref* names a user or a department by id or by name.
 */
#ifndef TC_ACCOUNT_STORE_H
#define TC_ACCOUNT_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "audit.h"
#include "common.h"
#include "db.h"

/* The CHECK constraints' limits (0001_init.sql), and ours. */
#define ACCOUNT_NAME_MAX 63          /* logins and department names */
#define ACCOUNT_DISPLAY_NAME_MAX 200 /* characters */
#define ACCOUNT_DESCRIPTION_MAX 1000 /* characters */
#define ACCOUNT_TOKEN_NAME_MAX 200   /* characters */
#define ACCOUNT_PASSWORD_MAX 1024    /* bytes: hashing is slow on purpose */
#define ACCOUNT_TOKEN_TTL_MAX_S (3650LL * 86400) /* ten years */
#define ACCOUNT_TOKEN_SIZE 64        /* a buffer for a new token: "tc_" + 43 + NUL */
#define ACCOUNT_TOKEN_PREFIX_LEN 8   /* api_tokens.token_prefix */

enum account_code {
    ACCOUNT_OK = 0,
    ACCOUNT_INVALID,   /* a bad value; field names it (command line: exit 2, API: 400) */
    ACCOUNT_NOT_FOUND, /* no such user, department, membership or token (exit 1, 404) */
    ACCOUNT_CONFLICT,  /* a name taken, a disabled user, a concurrent change (exit 1, 409) */
    ACCOUNT_FAILED,    /* the database failed (exit 1, 500/503) */
};

struct account_error {
    enum account_code code;
    const char *field; /* static: the input at fault ("login", "role", ...), or NULL */
    char msg[300];     /* one lower-case line without a "tablecron:" prefix */
};

/* Who makes a change, for audit_log. */
/* A user (by login, any case) or a department (by exact name): by id when
 * id > 0, else by name. */
struct account_ref {
    int64_t id;
    const char *name; /* borrowed */
};

enum account_change {
    ACCOUNT_CREATED,   /* a new row (user, department, membership, token) */
    ACCOUNT_UPDATED,   /* an existing row changed */
    ACCOUNT_UNCHANGED, /* it already was so: nothing written, no audit row */
    ACCOUNT_REMOVED,   /* a membership deleted, a token revoked */
};

/* What a change did.  image is the object after it (before it for a
 * removal), as audited: JSON text, owned, free()d by account_result_free. */
struct account_result {
    int64_t id; /* the object's id (a membership: the user's) */
    enum account_change change;
    char *image;
};

void account_result_init(struct account_result *res);
void account_result_free(struct account_result *res); /* frees image; NULL is fine */

/* --- listings: SQL texts for db_query(), ordered, times ISO 8601 UTC;
 * columns whose name starts with '_' are for text tables, not JSON --- */

/* Every user with its flags and departments [{id, name, role}]; no
 * parameter.  Never a password hash: has_password says whether there is one. */
extern const char account_sql_users[];

/* API tokens ($1: a user id, or NULL for everyone's), oldest first, with
 * their state (active, expired, revoked, user disabled).  Never the token
 * or its hash: token_prefix is its first characters. */
extern const char account_sql_tokens[];

/* --- checks, for callers that want to refuse before connecting --- */

/* 0, or -1 with err (INVALID, field set) filled. */
int account_check_login(const char *login, struct account_error *err) TC_MUST_CHECK;
int account_check_department_name(const char *name, struct account_error *err) TC_MUST_CHECK;
int account_check_password(const char *password, struct account_error *err) TC_MUST_CHECK;
int account_check_role(const char *role, struct account_error *err) TC_MUST_CHECK;

/* --- changes: 0 and res filled, or -1 and err filled --- */

/*
 * A new user.  display_name NULL is "", password NULL makes a token-only
 * account (no password login).  The password is hashed (yescrypt) before
 * the transaction.  A login taken in any case is a CONFLICT on "login".
 * Audit: user.create.
 */
int account_user_create(struct db *db, const struct audit_actor *actor, const char *login,
                        const char *display_name, const char *password, int is_admin,
                        struct account_result *res, struct account_error *err) TC_MUST_CHECK;

/* Set a user's password; this also clears the failed-login pause and ends
 * the user's sessions.  Audit: user.password (images without the hash). */
int account_user_set_password(struct db *db, const struct audit_actor *actor,
                              struct account_ref user, const char *password,
                              struct account_result *res, struct account_error *err)
    TC_MUST_CHECK;

/* Disable (ends the user's sessions; tokens stop working at once) or
 * enable a user.  Audit: user.disable / user.enable, unless unchanged. */
int account_user_set_disabled(struct db *db, const struct audit_actor *actor,
                              struct account_ref user, int disabled, struct account_result *res,
                              struct account_error *err) TC_MUST_CHECK;

/* A new department; description NULL is "".  A name taken is a CONFLICT
 * on "name".  Audit: department.create. */
int account_department_create(struct db *db, const struct audit_actor *actor,
                              const char *name, const char *description,
                              struct account_result *res, struct account_error *err)
    TC_MUST_CHECK;

/* Make user a member of dept with role (viewer, operator, manager), or
 * change the role of a member.  Audit: member.add / member.update, with
 * the department's id; nothing when the role was already that. */
int account_member_set(struct db *db, const struct audit_actor *actor, struct account_ref dept,
                       struct account_ref user, const char *role, struct account_result *res,
                       struct account_error *err) TC_MUST_CHECK;

/* Take user out of dept; NOT_FOUND if not a member.  Audit: member.remove. */
int account_member_remove(struct db *db, const struct audit_actor *actor,
                          struct account_ref dept, struct account_ref user,
                          struct account_result *res, struct account_error *err) TC_MUST_CHECK;

/*
 * A new API token of user (who must not be disabled), valid for ttl_s
 * seconds (0: no expiry).  token (ACCOUNT_TOKEN_SIZE bytes at least) gets
 * the token text, the only copy there will be: the database keeps its
 * SHA-256 and its first ACCOUNT_TOKEN_PREFIX_LEN characters.
 * Audit: token.create.
 */
int account_token_create(struct db *db, const struct audit_actor *actor, struct account_ref user,
                         const char *name, int64_t ttl_s, char *token, size_t size,
                         struct account_result *res, struct account_error *err) TC_MUST_CHECK;

/* Revoke token id; owner_id > 0 limits it to that user's tokens (another
 * user's token is NOT_FOUND, as a missing one).  A token already revoked is
 * UNCHANGED.  Audit: token.revoke. */
int account_token_revoke(struct db *db, const struct audit_actor *actor, int64_t id,
                         int64_t owner_id, struct account_result *res, struct account_error *err)
    TC_MUST_CHECK;

#endif
