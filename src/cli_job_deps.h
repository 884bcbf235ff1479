/* cli_job_deps.h - the dependency options of `tablecron job add|edit`
 * (--after JOB[:success|failure|always], --not-after JOB) and the
 * dependencies that `tablecron job show` prints. */
#ifndef TC_CLI_JOB_DEPS_H
#define TC_CLI_JOB_DEPS_H

#include <jansson.h>
#include <stdint.h>

#include "audit.h"
#include "cli_common.h"
#include "db.h"

/* The repeatable options: lists[0] --after, lists[1] --not-after. */
#define CLI_JOB_DEPS_LISTS 2

#define CLI_JOB_DEPS_HELP                                                                   \
    "  --after JOB[:COND]    run when a fire time of JOB has ended: COND success\n"        \
    "                        (the default), failure or always; give it once per\n"        \
    "                        job (several: runs when all of them have ended, for\n"       \
    "                        the same fire time); without --schedule, 'job add'\n"        \
    "                        makes the job @manual (it runs only when triggered)\n"       \
    "  --not-after JOB       (edit) no longer run after JOB\n"

/* Name the lists (before cli_parse_lists fills them). */
void cli_job_deps_lists_init(struct cli_list *lists);

/* Was any of the options given? */
int cli_job_deps_given(const struct cli_list *lists);

/*
 * Before `job add` creates job: the values are well-formed and name
 * existing jobs other than job itself.  0, or an exit code after an error
 * line (cmd names the command).
 */
int cli_job_deps_check(struct db *db, const char *cmd, const char *job,
                       const struct cli_list *lists);

/* Apply the options to job, in one transaction: 0 (*changed set), or an
 * exit code after an error line. */
int cli_job_deps_apply(struct db *db, const struct audit_actor *actor, const char *cmd,
                       const char *job, const struct cli_list *lists, int *changed);

/* The job's upstream and downstream jobs: printed when doc is NULL, else
 * added to doc as "upstreams" and "downstreams".  -1 after an error line. */
int cli_job_deps_show(struct db *db, int64_t job_id, json_t *doc);

#endif
