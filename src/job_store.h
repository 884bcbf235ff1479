/* job_store.h - changes to job definitions and operator actions, in SQL.
 *
 * The command line and the API change jobs only through here, so
 * that every change is checked the same way, fenced the same way as the
 * scheduler fences its own (see claim.c), and written to audit_log in the
 * same transaction as the change itself.
 *
 * Glossary: a *definition* column is one an operator sets (schedule,
 * timezone, config, timeout_s, ...); a *state* column is one the
 * schedulers move (status, version, next_time, lease_*, attempt, ...).
 * Definition edits never touch the state; state actions (pause, resume,
 * run) compare-and-swap on version exactly as a claim does, and requests to
 * a running job (pause after the run, kill) leave version alone, because a
 * moved version takes the lease away from the instance running the job.
 * An edit that names the version its caller read (the API's PATCH) is
 * refused when the version moved since, and moves it itself unless the job
 * is running, so that two such edits of one job cannot both pass.
 *
 * Every call names its actor (who, for audit_log) and its job by id or by
 * name, optionally fenced by the department the caller's rights were
 * checked in.
 */
#ifndef TC_JOB_STORE_H
#define TC_JOB_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "audit.h"
#include "common.h"
#include "db.h"

enum job_store_code {
    JOB_STORE_OK = 0,
    JOB_STORE_INVALID,   /* bad input, msg names it (command line: exit 2) */
    JOB_STORE_NOT_FOUND, /* no such job or department (exit 1) */
    JOB_STORE_CONFLICT,  /* the job's state or a concurrent change forbids it (exit 1) */
    JOB_STORE_STALE,     /* the job's version is not the one the caller read (exit 1) */
    JOB_STORE_FAILED,    /* the database failed (exit 1) */
};

struct job_store_error {
    enum job_store_code code;
    char field[80]; /* the input it is about, as the API names it: "schedule",
                     * "timezone", "config.url", "name", "department", "version",
                     * "force" (a running job) ...; "" when none */
    int pos;        /* "schedule" and "timezone": 0-based position of the error; else -1 */
    char msg[400];  /* one lower-case line, without a "tablecron:" prefix */
};

/* Fill err: code, the field the error is about (NULL: none), pos -1 and
 * the message. */
void job_store_fail(struct job_store_error *err, enum job_store_code code, const char *field,
                    const char *fmt, ...) TC_PRINTF(4, 5);

/* Which job a change is for. */
struct job_ref {
    int64_t id;            /* > 0: the job with this id ... */
    const char *name;      /* ... else the job with this name (borrowed) */
    int64_t department_id; /* > 0: the job must (still) be in this department, where the
                            * caller's rights were checked; else NOT_FOUND */
};

/* What an operator gives for a job.  NULL (or JOB_DEF_UNSET) means "not
 * given": the column keeps its value on edit, gets its default on create. */
#define JOB_DEF_UNSET (-1)

struct job_def {
    const char *name;           /* borrowed; on edit: a new name */
    const char *description;    /* borrowed; free text */
    const char *schedule;       /* borrowed */
    const char *timezone;       /* borrowed; IANA name */
    const char *department;     /* borrowed; department name */
    int64_t department_id;      /* > 0: the department by id (department is then ignored) */
    const char *kind;           /* borrowed; "shell", "http" or "grpc"; NULL: shell on
                                 * create, the stored kind on edit */
    const char *config;         /* borrowed; a JSON object of task parameters, as
                                 * job_store_create and job_store_update use it */
    int timeout_s;              /* 1 .. JOB_TIMEOUT_MAX_S */
    int max_retries;            /* 0 .. JOB_RETRIES_MAX */
    int retry_backoff_s;        /* 0 .. JOB_BACKOFF_MAX_S */
    const char *misfire_policy; /* borrowed; "skip" or "once", any case */
    int paused;                 /* create only: start paused */
    int shards;                 /* 1 .. JOB_SHARDS_MAX executions per fire time */
    int64_t version;            /* edit only; > 0: the version the caller read (STALE
                                 * when it moved; the edit moves it unless running) */
};

/* The ranges of the jobs table's CHECK constraints (0001_init.sql). */
#define JOB_TIMEOUT_MAX_S 604800
#define JOB_RETRIES_MAX 100
#define JOB_BACKOFF_MAX_S 86400

void job_def_init(struct job_def *def); /* everything "not given" */

/*
 * Insert a job of def->kind with def->config (keys whose value is null are
 * left out): the schedule and zone are parsed, the config is checked as the
 * scheduler will check it (job_config_check), next_time is left NULL for
 * the instances to compute.  A duplicate name is a CONFLICT, a name the table refuses or
 * any bad value INVALID, an unknown department NOT_FOUND.
 * *id gets the new job's id.
 */
int job_store_create(struct db *db, const struct audit_actor *actor, const struct job_def *def,
                     int64_t *id, struct job_store_error *err) TC_MUST_CHECK;

/*
 * Change the given definition columns of a job, with the checks of create
 * applied to the result (a new --tz is checked with the stored schedule).
 * The keys of def->config are set in the stored config (a null value
 * removes one) and the rest is kept; but a def->kind other than the stored
 * one changes the job's kind, and def->config (without its nulls) becomes
 * its whole config.  The resulting config is checked for its kind.
 * *changed is 0 when every given value was already the stored one (then
 * nothing is written, no audit row either).
 */
int job_store_update(struct db *db, const struct audit_actor *actor, const struct job_ref *job,
                     const struct job_def *def, int *changed, struct job_store_error *err)
    TC_MUST_CHECK;

/* Delete a job and its executions.  A running job is a CONFLICT (field
 * "force") unless force is set; its runner then finds its lease gone and
 * kills the task. */
int job_store_delete(struct db *db, const struct audit_actor *actor, const struct job_ref *job,
                     int force, struct job_store_error *err) TC_MUST_CHECK;

enum job_action {
    JOB_ACTION_PAUSE,  /* stop scheduling; a running job pauses when its run ends */
    JOB_ACTION_RESUME, /* schedule again from now */
    JOB_ACTION_RUN,    /* due now, once; a paused job stays paused afterwards */
    JOB_ACTION_KILL,   /* ask the instance running the job to kill the task */
};

enum job_outcome {
    JOB_OUTCOME_DONE,      /* the job's state changed */
    JOB_OUTCOME_REQUESTED, /* the job is running: its runner acts on it (no version move) */
    JOB_OUTCOME_UNCHANGED, /* nothing to do (already paused, not paused): nothing written */
};

struct job_action_result {
    enum job_outcome outcome;
    int64_t id;             /* the job's */
    char name[160];         /* the job's */
    char status_before[16]; /* waiting, running, paused or done */
    int pause_requested_before;
};

/*
 * Apply an action to a job (see enum job_action; the exact state changes
 * are in job_store.c).  Running a running job, or killing one that is not
 * running, is a CONFLICT.  A compare-and-swap that misses (a scheduler
 * moved the job meanwhile) is retried once, then reported as a CONFLICT.
 */
int job_store_act(struct db *db, const struct audit_actor *actor, const struct job_ref *job,
                  enum job_action action, struct job_action_result *result,
                  struct job_store_error *err) TC_MUST_CHECK;

/* What an action did, in one line of words for people: "paused job 'x'",
 * "job 'x' is running: it will be paused when this run ends", ... */
void job_store_describe(enum job_action action, const struct job_action_result *result,
                        char *buf, size_t size);

/* "done", "requested" or "unchanged". */
const char *job_outcome_name(enum job_outcome outcome);

#endif
