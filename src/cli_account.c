/* cli_account.c - `tablecron user|dept|member|token ...`.
 *
 * A thin layer over account_store.c, which checks every value and writes
 * the audit rows (actor "cli:" and the Unix user).  Every change command
 * is the same run (run_change) with its own check, change and report; the
 * listings never show a password hash or a token, only a token's first
 * characters.  A password comes from stdin (one line), never from the
 * command line, where other users could read it in ps.
 */
#include <autoconfig.h>

#include <stdlib.h>
#include <string.h>

#include "account_store.h"
#include "cli_account.h"
#include "cli_common.h"
#include "duration.h"
#include "utf8.h"

#define US_PER_S 1000000

/* --- listings --- */

static const char SQL_DEPARTMENTS[] =
    "SELECT d.id, d.name, d.description,"
    " (SELECT count(*) FROM memberships m WHERE m.department_id = d.id) AS members,"
    " (SELECT count(*) FROM jobs j WHERE j.department_id = d.id AND j.shard_of IS NULL) AS jobs,"
    " " CLI_SQL_UTC("d.created_at") " AS created_at"
    " FROM departments d ORDER BY d.name";

/* $1: a department's name, or NULL for every department. */
static const char SQL_MEMBERS[] =
    "SELECT d.name AS department, u.login, m.role, u.display_name,"
    " " CLI_SQL_UTC("m.created_at") " AS since"
    " FROM memberships m JOIN users u ON u.id = m.user_id"
    " JOIN departments d ON d.id = m.department_id"
    " WHERE $1::text IS NULL OR d.name = $1 ORDER BY d.name, lower(u.login)";

/* The $1 of a filtered listing from its argument. */
static const char SQL_DEPARTMENT_NAME[] = "SELECT name FROM departments WHERE name = $1";
static const char SQL_USER_ID[] = "SELECT id FROM users WHERE lower(login) = lower($1)";

/*
 * A listing, as a table or with --json as JSON.  With a filter (filter_sql
 * not NULL) the query takes $1: NULL without an argument, else what
 * filter_sql makes of the argument (missing_fmt when it finds nothing).
 */
struct listing {
    const char *sql;
    const char *filter_sql;
    const char *missing_fmt; /* "no user named '%s'" */
    int (*print)(const PGresult *res);
};

static int
run_listing(const struct cli_cmd *cmd, struct config *cfg, int argc, char **argv,
            const struct listing *l)
{
    int json = 0, nargs = 0, rc;
    const struct cli_opt opts[] = { { "--json", NULL, &json } };
    const char *args[1] = { NULL };
    struct db *db = NULL;
    PGresult *filter = NULL;

    if ((rc = cli_cmd_parse(cmd, argc, argv, opts, TC_ARRAY_LEN(opts), args, 0,
                            l->filter_sql != NULL ? 1 : 0, &nargs)) >= 0)
        return rc;
    rc = CLI_EXIT_FAILED;
    if ((db = cli_connect(cfg)) == NULL)
        goto out;
    if (l->filter_sql == NULL) {
        rc = cli_query_output(db, l->sql, DB_NO_PARAMS, json, l->print);
        goto out;
    }
    if (args[0] != NULL) {
        /* Not UTF-8 names nothing (and PostgreSQL would refuse it). */
        if (!utf8_valid_str(args[0])) {
            cli_error(l->missing_fmt, args[0]);
            goto out;
        }
        if ((filter = db_query(db, l->filter_sql, DB_PARAMS(args[0]))) == NULL) {
            cli_db_error(db);
            goto out;
        }
        if (PQntuples(filter) == 0) {
            cli_error(l->missing_fmt, args[0]);
            goto out;
        }
    }
    rc = cli_query_output(db, l->sql, DB_PARAMS(filter != NULL ? PQgetvalue(filter, 0, 0) : NULL),
                          json, l->print);
out:
    PQclear(filter);
    db_free(db);
    return rc;
}

/* --- changes --- */

/* One change command: its arguments and options, and what it did. */
struct change {
    const char *args[3];       /* borrowed from argv */
    int admin;                 /* --admin */
    int from_stdin;            /* --password-stdin */
    const char *text;          /* --display-name, --description, --name */
    const char *expires;       /* --expires */
    char *password;            /* owned: read from stdin */
    int64_t number;            /* a token's lifetime or id */
    struct db *db;             /* owned */
    struct audit_actor actor;
    char actor_name[300];
    struct account_result res; /* owned */
    struct account_error err;
    char token[ACCOUNT_TOKEN_SIZE];
};

/* The steps that differ: check the input before connecting (optional;
 * returns -1 to go on, else the exit code after an error line), make the
 * change with account_store (0, or -1 with c->err), and tell what it did. */
struct change_ops {
    int (*check)(struct change *c);
    int (*change)(struct change *c);
    void (*report)(const struct change *c);
};

/* A store error as the command's exit code. */
static int
account_fail(const struct account_error *err)
{
    cli_error("%s", err->msg);
    return err->code == ACCOUNT_INVALID ? CLI_EXIT_USAGE : CLI_EXIT_FAILED;
}

static int
run_change(const struct cli_cmd *cmd, struct config *cfg, int argc, char **argv,
           const struct cli_opt *opts, size_t nopts, int nargs, struct change *c,
           const struct change_ops *ops)
{
    int got = 0, rc;

    if ((rc = cli_cmd_parse(cmd, argc, argv, opts, nopts, c->args, nargs, nargs, &got)) >= 0)
        return rc;
    if (ops->check != NULL && (rc = ops->check(c)) >= 0)
        goto out;
    rc = CLI_EXIT_FAILED;
    if ((c->db = cli_connect(cfg)) == NULL)
        goto out;
    cli_actor(c->actor_name, sizeof(c->actor_name));
    c->actor.name = c->actor_name;
    c->actor.user_id = 0;
    c->actor.remote_addr = "";
    if (ops->change(c) < 0) {
        rc = account_fail(&c->err);
        goto out;
    }
    ops->report(c);
    rc = CLI_EXIT_OK;
out:
    account_result_free(&c->res);
    if (c->password != NULL)
        explicit_bzero(c->password, strlen(c->password));
    free(c->password);
    explicit_bzero(c->token, sizeof(c->token));
    db_free(c->db);
    return rc;
}

static void
change_init(struct change *c)
{
    memset(c, 0, sizeof(*c));
    account_result_init(&c->res);
}

static struct account_ref
by_name(const char *name)
{
    struct account_ref ref = { 0, name };
    return ref;
}

/* With --password-stdin: one line from stdin, without its line end, into
 * c->password and checked.  -1 to go on, or the exit code. */
static int
check_password(struct change *c)
{
    size_t cap = 0;
    ssize_t n;

    if (!c->from_stdin)
        return -1;
    if ((n = getline(&c->password, &cap, stdin)) <= 0) {
        free(c->password); /* at EOF getline leaves it without a NUL */
        c->password = NULL;
        cli_error("no password on stdin (give it as one line)");
        return CLI_EXIT_USAGE;
    }
    while (n > 0 && (c->password[n - 1] == '\n' || c->password[n - 1] == '\r'))
        c->password[--n] = '\0';
    if (account_check_password(c->password, &c->err) < 0)
        return account_fail(&c->err);
    return -1;
}

/* --- user --- */

static int
user_add_check(struct change *c)
{
    /* The login first: no password typed for nothing. */
    if (account_check_login(c->args[0], &c->err) < 0)
        return account_fail(&c->err);
    return check_password(c);
}

static int
user_add_change(struct change *c)
{
    return account_user_create(c->db, &c->actor, c->args[0], c->text, c->password, c->admin,
                               &c->res, &c->err);
}

static void
user_add_report(const struct change *c)
{
    printf("created user '%s' (id %lld)%s%s\n", c->args[0], (long long)c->res.id,
           c->admin ? ", an administrator" : "",
           c->password == NULL ? "; without a password it signs in with tokens only" : "");
}

static int
user_add(const struct cli_cmd *cmd, struct config *cfg, int argc, char **argv)
{
    static const struct change_ops ops = { user_add_check, user_add_change, user_add_report };
    struct change c;
    const struct cli_opt opts[] = {
        { "--admin", NULL, &c.admin },
        { "--display-name", &c.text, NULL },
        { "--password-stdin", NULL, &c.from_stdin },
    };

    change_init(&c);
    return run_change(cmd, cfg, argc, argv, opts, TC_ARRAY_LEN(opts), 1, &c, &ops);
}

static int
user_passwd_check(struct change *c)
{
    if (!c->from_stdin) {
        cli_error("user passwd: give the new password on stdin with --password-stdin");
        return CLI_EXIT_USAGE;
    }
    return check_password(c);
}

static int
user_passwd_change(struct change *c)
{
    return account_user_set_password(c->db, &c->actor, by_name(c->args[0]), c->password,
                                     &c->res, &c->err);
}

static void
user_passwd_report(const struct change *c)
{
    printf("changed the password of '%s'; its sessions were ended\n", c->args[0]);
}

static int
user_passwd(const struct cli_cmd *cmd, struct config *cfg, int argc, char **argv)
{
    static const struct change_ops ops = { user_passwd_check, user_passwd_change,
                                           user_passwd_report };
    struct change c;
    const struct cli_opt opts[] = { { "--password-stdin", NULL, &c.from_stdin } };

    change_init(&c);
    return run_change(cmd, cfg, argc, argv, opts, TC_ARRAY_LEN(opts), 1, &c, &ops);
}

/* disable and enable: c->number is 1 to disable. */
static int
user_disabled_change(struct change *c)
{
    return account_user_set_disabled(c->db, &c->actor, by_name(c->args[0]), (int)c->number,
                                     &c->res, &c->err);
}

static void
user_disabled_report(const struct change *c)
{
    const char *state = c->number ? "disabled" : "enabled";

    if (c->res.change == ACCOUNT_UNCHANGED)
        printf("user '%s' was already %s\n", c->args[0], state);
    else
        printf("user '%s' %s%s\n", c->args[0], state,
               c->number ? ": its sessions and tokens no longer work" : "");
}

static int
user_set_disabled(const struct cli_cmd *cmd, struct config *cfg, int argc, char **argv,
                  int disabled)
{
    static const struct change_ops ops = { NULL, user_disabled_change, user_disabled_report };
    struct change c;

    change_init(&c);
    c.number = disabled;
    return run_change(cmd, cfg, argc, argv, NULL, 0, 1, &c, &ops);
}

static int
user_disable(const struct cli_cmd *cmd, struct config *cfg, int argc, char **argv)
{
    return user_set_disabled(cmd, cfg, argc, argv, 1);
}

static int
user_enable(const struct cli_cmd *cmd, struct config *cfg, int argc, char **argv)
{
    return user_set_disabled(cmd, cfg, argc, argv, 0);
}

static int
users_print(const PGresult *res)
{
    static const char *const headers[] = { "ID", "LOGIN", "DISPLAY_NAME", "FLAGS",
                                           "DEPARTMENTS", "CREATED" };
    static const char *const columns[] = { "id", "login", "display_name", "_flags",
                                           "_departments", "created_at" };

    return cli_print_columns(res, headers, columns, TC_ARRAY_LEN(columns));
}

static int
user_ls(const struct cli_cmd *cmd, struct config *cfg, int argc, char **argv)
{
    static const struct listing l = { account_sql_users, NULL, NULL, users_print };

    return run_listing(cmd, cfg, argc, argv, &l);
}

static const struct cli_cmd user_cmds[] = {
    { "add", user_add, "create a user", "LOGIN [--admin] [--display-name NAME] [--password-stdin]",
      "Create a user.  A login has letters, digits and . _ @ - (starting with a\n"
      "letter or digit), at most 63 characters; logins differ regardless of case.\n\n"
      "  --admin               a global administrator: every right everywhere\n"
      "  --display-name NAME   the name shown in the pages\n"
      "  --password-stdin      read the password from stdin (one line, at least 8\n"
      "                        characters); without it the user has no password and\n"
      "                        signs in with API tokens only\n\n"
      "example (the first administrator):\n"
      "  tablecron user add admin --admin --password-stdin\n" },
    { "ls", user_ls, "list users, their flags and departments", "[--json]",
      "List users: id, login, display name, flags (admin, disabled, token-only:\n"
      "no password) and their roles in departments.\n\n"
      "  --json   one JSON document on stdout instead of a table\n" },
    { "passwd", user_passwd, "set a user's password", "LOGIN --password-stdin",
      "Set a user's password, read from stdin (one line, at least 8 characters).\n"
      "The user's sessions end and the pause after failed logins is lifted.\n\n"
      "  --password-stdin   read the password from stdin (required)\n" },
    { "disable", user_disable, "stop a user from signing in or using tokens", "LOGIN",
      "Disable a user: logins are refused, and its sessions and API tokens stop\n"
      "working at once.  'user enable' undoes it (tokens work again; sessions do\n"
      "not come back).\n" },
    { "enable", user_enable, "let a disabled user in again", "LOGIN",
      "Enable a disabled user: it may sign in again and its tokens work again.\n" },
};

/* --- dept --- */

static int
dept_add_check(struct change *c)
{
    if (account_check_department_name(c->args[0], &c->err) < 0)
        return account_fail(&c->err);
    return -1;
}

static int
dept_add_change(struct change *c)
{
    return account_department_create(c->db, &c->actor, c->args[0], c->text, &c->res, &c->err);
}

static void
dept_add_report(const struct change *c)
{
    printf("created department '%s' (id %lld)\n", c->args[0], (long long)c->res.id);
}

static int
dept_add(const struct cli_cmd *cmd, struct config *cfg, int argc, char **argv)
{
    static const struct change_ops ops = { dept_add_check, dept_add_change, dept_add_report };
    struct change c;
    const struct cli_opt opts[] = { { "--description", &c.text, NULL } };

    change_init(&c);
    return run_change(cmd, cfg, argc, argv, opts, TC_ARRAY_LEN(opts), 1, &c, &ops);
}

static int
departments_print(const PGresult *res)
{
    static const char *const headers[] = { "ID", "NAME", "MEMBERS", "JOBS", "DESCRIPTION" };
    static const char *const columns[] = { "id", "name", "members", "jobs", "description" };

    return cli_print_columns(res, headers, columns, TC_ARRAY_LEN(columns));
}

static int
dept_ls(const struct cli_cmd *cmd, struct config *cfg, int argc, char **argv)
{
    static const struct listing l = { SQL_DEPARTMENTS, NULL, NULL, departments_print };

    return run_listing(cmd, cfg, argc, argv, &l);
}

static const struct cli_cmd dept_cmds[] = {
    { "add", dept_add, "create a department", "NAME [--description TEXT]",
      "Create a department.  A name has letters, digits, spaces and . _ -\n"
      "(starting with a letter or digit), at most 63 characters.\n\n"
      "  --description TEXT   free text shown in the pages\n" },
    { "ls", dept_ls, "list departments", "[--json]",
      "List departments with their number of members and of jobs.\n\n"
      "  --json   one JSON document on stdout instead of a table\n" },
};

/* --- member: args LOGIN DEPT [ROLE] --- */

static int
member_add_check(struct change *c)
{
    if (account_check_role(c->args[2], &c->err) < 0)
        return account_fail(&c->err);
    return -1;
}

static int
member_add_change(struct change *c)
{
    return account_member_set(c->db, &c->actor, by_name(c->args[1]), by_name(c->args[0]),
                              c->args[2], &c->res, &c->err);
}

static void
member_add_report(const struct change *c)
{
    const char *login = c->args[0], *dept = c->args[1], *role = c->args[2];

    if (c->res.change == ACCOUNT_CREATED)
        printf("added '%s' to '%s' as %s\n", login, dept, role);
    else if (c->res.change == ACCOUNT_UPDATED)
        printf("'%s' is now %s in '%s'\n", login, role, dept);
    else
        printf("'%s' already is %s in '%s'\n", login, role, dept);
}

static int
member_add(const struct cli_cmd *cmd, struct config *cfg, int argc, char **argv)
{
    static const struct change_ops ops = { member_add_check, member_add_change,
                                           member_add_report };
    struct change c;

    change_init(&c);
    return run_change(cmd, cfg, argc, argv, NULL, 0, 3, &c, &ops);
}

static int
member_rm_change(struct change *c)
{
    return account_member_remove(c->db, &c->actor, by_name(c->args[1]), by_name(c->args[0]),
                                 &c->res, &c->err);
}

static void
member_rm_report(const struct change *c)
{
    printf("removed '%s' from '%s'\n", c->args[0], c->args[1]);
}

static int
member_rm(const struct cli_cmd *cmd, struct config *cfg, int argc, char **argv)
{
    static const struct change_ops ops = { NULL, member_rm_change, member_rm_report };
    struct change c;

    change_init(&c);
    return run_change(cmd, cfg, argc, argv, NULL, 0, 2, &c, &ops);
}

static int
members_print(const PGresult *res)
{
    static const char *const headers[] = { "DEPARTMENT", "LOGIN", "ROLE", "DISPLAY_NAME",
                                           "SINCE" };
    static const char *const columns[] = { "department", "login", "role", "display_name",
                                           "since" };

    return cli_print_columns(res, headers, columns, TC_ARRAY_LEN(columns));
}

static int
member_ls(const struct cli_cmd *cmd, struct config *cfg, int argc, char **argv)
{
    static const struct listing l = { SQL_MEMBERS, SQL_DEPARTMENT_NAME,
                                      "no department named '%s'", members_print };

    return run_listing(cmd, cfg, argc, argv, &l);
}

static const struct cli_cmd member_cmds[] = {
    { "add", member_add, "give a user a role in a department (or change it)",
      "LOGIN DEPT ROLE",
      "Make a user a member of a department with ROLE, or change the role of a\n"
      "member.  Roles, each with the rights of the one before:\n"
      "  viewer     read the department's jobs and executions\n"
      "  operator   also run, pause, resume and kill its jobs\n"
      "  manager    also create, edit and delete its jobs and manage its members\n" },
    { "rm", member_rm, "take a user out of a department", "LOGIN DEPT",
      "Take a user out of a department: it loses every right there.\n" },
    { "ls", member_ls, "list the members of every department, or of one", "[DEPT] [--json]",
      "List memberships: department, login, role, display name and since when.\n\n"
      "  --json   one JSON document on stdout instead of a table\n" },
};

/* --- token --- */

/* --expires as whole seconds into c->number. */
static int
token_create_check(struct change *c)
{
    struct duration_error derr;
    int64_t us;

    if (c->expires == NULL)
        return -1;
    if (duration_parse(c->expires, &us, &derr) < 0) {
        cli_error("token create: bad --expires '%s': %s at %d (e.g. 90d, 12h)", c->expires,
                  derr.msg, derr.pos);
        return CLI_EXIT_USAGE;
    }
    if (us < US_PER_S || us % US_PER_S != 0 || us / US_PER_S > ACCOUNT_TOKEN_TTL_MAX_S) {
        cli_error("token create: bad --expires '%s': whole seconds from 1s to 3650d", c->expires);
        return CLI_EXIT_USAGE;
    }
    c->number = us / US_PER_S;
    return -1;
}

static int
token_create_change(struct change *c)
{
    return account_token_create(c->db, &c->actor, by_name(c->args[0]), c->text, c->number,
                                c->token, sizeof(c->token), &c->res, &c->err);
}

/* The token alone on stdout, for $(...); the note for people on stderr. */
static void
token_create_report(const struct change *c)
{
    printf("%s\n", c->token);
    fflush(stdout);
    fprintf(stderr, "token %lld for '%s' created; it is shown only this once: keep it now\n",
            (long long)c->res.id, c->args[0]);
}

static int
token_create(const struct cli_cmd *cmd, struct config *cfg, int argc, char **argv)
{
    static const struct change_ops ops = { token_create_check, token_create_change,
                                           token_create_report };
    struct change c;
    const struct cli_opt opts[] = { { "--name", &c.text, NULL }, { "--expires", &c.expires, NULL } };

    change_init(&c);
    return run_change(cmd, cfg, argc, argv, opts, TC_ARRAY_LEN(opts), 1, &c, &ops);
}

static int
tokens_print(const PGresult *res)
{
    static const char *const headers[] = { "ID",      "LOGIN",   "NAME",      "PREFIX",
                                           "CREATED", "EXPIRES", "LAST_USED", "STATE" };
    static const char *const columns[] = { "id",         "login",      "name",
                                           "token_prefix", "created_at", "expires_at",
                                           "last_used_at", "state" };

    return cli_print_columns(res, headers, columns, TC_ARRAY_LEN(columns));
}

static int
token_ls(const struct cli_cmd *cmd, struct config *cfg, int argc, char **argv)
{
    static const struct listing l = { account_sql_tokens, SQL_USER_ID, "no user named '%s'",
                                      tokens_print };

    return run_listing(cmd, cfg, argc, argv, &l);
}

/* The id as a positive number into c->number. */
static int
token_revoke_check(struct change *c)
{
    const char *text = c->args[0];
    char *end;

    c->number = strtoll(text, &end, 10);
    if (text[0] < '0' || text[0] > '9' || *end != '\0' || c->number <= 0) {
        cli_error("token revoke: bad token id '%s' (see 'tablecron token ls')", text);
        return CLI_EXIT_USAGE;
    }
    return -1;
}

static int
token_revoke_change(struct change *c)
{
    return account_token_revoke(c->db, &c->actor, c->number, 0, &c->res, &c->err);
}

static void
token_revoke_report(const struct change *c)
{
    if (c->res.change == ACCOUNT_UNCHANGED)
        printf("token %lld was already revoked\n", (long long)c->number);
    else
        printf("revoked token %lld: it no longer works\n", (long long)c->number);
}

static int
token_revoke(const struct cli_cmd *cmd, struct config *cfg, int argc, char **argv)
{
    static const struct change_ops ops = { token_revoke_check, token_revoke_change,
                                           token_revoke_report };
    struct change c;

    change_init(&c);
    return run_change(cmd, cfg, argc, argv, NULL, 0, 1, &c, &ops);
}

static const struct cli_cmd token_cmds[] = {
    { "create", token_create, "create an API token for a user",
      "LOGIN [--name TEXT] [--expires DURATION]",
      "Create a bearer token for the API (Authorization: Bearer TOKEN).  It has\n"
      "exactly its user's rights.  The token is printed alone on stdout, once:\n"
      "only its hash is kept, so it cannot be shown again.\n\n"
      "  --name TEXT           what the token is for\n"
      "  --expires DURATION    it stops working after this long (e.g. 90d, 12h);\n"
      "                        default: never\n\n"
      "example:\n"
      "  TOKEN=$(tablecron token create deploy --name ci --expires 90d)\n" },
    { "ls", token_ls, "list API tokens (never the tokens themselves)", "[LOGIN] [--json]",
      "List API tokens, of every user or of LOGIN: id, owner, name, the token's\n"
      "first characters, times, and whether it is active, expired or revoked.\n\n"
      "  --json   one JSON document on stdout instead of a table\n" },
    { "revoke", token_revoke, "make a token stop working", "ID",
      "Revoke the token with this id (see 'token ls'): it stops working at once.\n" },
};

static const char account_footer[] =
    "Exit status: 0 ok; 1 not found, conflict or database error; 2 bad usage or\n"
    "bad input.\n";

int
cli_account_main(struct config *cfg, int argc, char **argv)
{
    if (strcmp(argv[0], "user") == 0)
        return cli_dispatch(user_cmds, TC_ARRAY_LEN(user_cmds), account_footer, cfg, argc, argv);
    if (strcmp(argv[0], "dept") == 0)
        return cli_dispatch(dept_cmds, TC_ARRAY_LEN(dept_cmds), account_footer, cfg, argc, argv);
    if (strcmp(argv[0], "member") == 0)
        return cli_dispatch(member_cmds, TC_ARRAY_LEN(member_cmds), account_footer, cfg, argc,
                            argv);
    return cli_dispatch(token_cmds, TC_ARRAY_LEN(token_cmds), account_footer, cfg, argc, argv);
}
