/* claim.c - fetch due rows, batched version-CAS claim, CAS release, reap.
 *
 * Every statement that changes a job compares the version it read: that
 * comparison is the whole of the coordination between instances.  A claim
 * also inserts the executions row, in the same statement, and the unique
 * (job_id, scheduled_for, attempt) constraint is the last line of defence:
 * should a fire time ever be claimed twice, the second claim finds its row
 * taken and does not run.
 *
 * The scheduler's own session has tablecron.instance set, so the jobs_notify
 * trigger stays silent for these statements (see 0001_init.sql).
 */
#include <autoconfig.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "claim.h"
#include "log.h"
#include "strbuf.h"

/* The columns fetch() reads, in its order: what differs between the
 * fetches is the time a row is due at, its owner and whether it awaits a
 * callback. */
#define FETCH_SELECT(due, owner, awaiting)                                                  \
    "SELECT id, version, floor(extract(epoch FROM " due "))::bigint,"                     \
    " floor(extract(epoch FROM scheduled_for))::bigint, attempt, max_retries,"             \
    " retry_backoff_s, misfire_policy = 'once', schedule, timezone, " owner ","            \
    " floor(extract(epoch FROM now()) * 1000)::bigint, " awaiting " FROM jobs"

static const char SQL_FETCH_DUE[] =
    FETCH_SELECT("next_time", "NULL", "false")
    " WHERE status = 'waiting' AND next_time <= now() AND schedule_error IS NULL"
    " ORDER BY next_time LIMIT $1 OFFSET $2";

static const char SQL_FETCH_EXPIRED[] =
    FETCH_SELECT("lease_until", "lease_owner", "awaiting_callback")
    " WHERE status = 'running'"
    "  AND (lease_until < now() OR (awaiting_callback AND kill_requested_at IS NOT NULL))"
    " ORDER BY lease_until LIMIT $1";

/* At start-up: leases this instance id held before a restart are dead
 * (but not the tasks it left awaiting their callback: nothing of them was
 * in the old process). */
static const char SQL_FETCH_MINE[] =
    FETCH_SELECT("lease_until", "lease_owner", "false")
    " WHERE status = 'running' AND lease_owner = $2 AND NOT awaiting_callback LIMIT $1";

/* A job whose schedule is @manual (any case, blanks around it) waits with
 * no next_time until it is made due: it is not a row to schedule. */
#define SQL_IS_MANUAL(col) "(" col " ~* '^\\s*@manual\\s*$')"

/* Rows without next_time (their due time comes out NULL). */
static const char SQL_FETCH_UNSCHEDULED[] =
    FETCH_SELECT("next_time", "NULL", "false")
    " WHERE status = 'waiting' AND next_time IS NULL AND schedule_error IS NULL"
    "  AND NOT " SQL_IS_MANUAL("schedule") " LIMIT $1";

/* Both minima walk the partial indexes: O(log n). */
static const char SQL_EARLIEST[] =
    "SELECT floor(extract(epoch FROM least("
    "  (SELECT min(next_time) FROM jobs WHERE status = 'waiting'),"
    "  (SELECT min(lease_until) FROM jobs WHERE status = 'running'))) * 1000)::bigint,"
    " floor(extract(epoch FROM now()) * 1000)::bigint";

/*
 * The claim: a version CAS per row, batched.  Its rows are locked first, in
 * a SELECT of the same statement that skips rows another transaction holds
 * (SKIP LOCKED), and the UPDATE touches only the rows so locked.  Why: the
 * UPDATE alone locks rows in whatever order its plan yields them (array
 * order for a nested loop or a hash on jobs, heap order for a hash on the
 * array), and plans differ between sessions and batch sizes, so two
 * instances claiming the same due rows deadlocked (seen in tests/chaos:
 * claim statements stuck up to deadlock_timeout, chained for seconds, long
 * enough for a healthy instance's fresh leases to expire before its claim
 * even returned).  A row another transaction holds is, but for an operator's
 * edit, another instance's claim, which this one would lose anyway: skipping
 * it is the CAS miss, without the wait (and with no wait, no lock order to
 * keep).  No lock outlives the statement.
 */
static const char SQL_CLAIM[] =
    "WITH x AS ("
    " SELECT * FROM unnest($3::bigint[], $4::bigint[], $5::bigint[], $6::int[])"
    "  AS x(id, version, sched, attempt)),"
    " l AS MATERIALIZED ("
    " SELECT j.id FROM jobs j JOIN x ON j.id = x.id AND j.version = x.version"
    "  WHERE j.status = 'waiting' FOR NO KEY UPDATE OF j SKIP LOCKED),"
    " c AS ("
    " UPDATE jobs j SET status = 'running', version = j.version + 1, lease_owner = $1,"
    "  lease_until = now() + $2::bigint * interval '1 microsecond',"
    "  scheduled_for = to_timestamp(x.sched), attempt = x.attempt"
    " FROM l JOIN x ON x.id = l.id"
    " WHERE j.id = l.id AND j.version = x.version AND j.status = 'waiting'"
    " RETURNING j.id, j.version, j.scheduled_for, j.attempt, j.timeout_s, j.max_retries,"
    "  j.retry_backoff_s, j.name, j.kind, j.config::text AS config, j.schedule, j.timezone,"
    "  j.resume_params::text AS resume_params, j.triggered_by,"
    "  coalesce(j.shard_of, j.id) AS run_of, j.shard_index, j.shards),"
    " e AS ("
    " INSERT INTO executions (job_id, scheduled_for, attempt, instance_id, triggered_by,"
    "  shard_index, shard_count)"
    " SELECT run_of, scheduled_for, attempt, $1, triggered_by, shard_index, shards FROM c"
    " ON CONFLICT ON CONSTRAINT executions_once DO NOTHING"
    " RETURNING id, job_id, shard_index)"
    " SELECT c.id, c.version, coalesce(e.id, 0),"
    "  floor(extract(epoch FROM c.scheduled_for))::bigint, c.attempt, c.timeout_s,"
    "  c.max_retries, c.retry_backoff_s, NULL, c.kind, c.config, c.schedule, c.timezone,"
    "  c.resume_params, c.shard_index, c.shards, c.run_of,"
    "  CASE WHEN c.run_of = c.id THEN c.name ELSE (SELECT p.name FROM jobs p WHERE p.id = c.run_of)"
    "  END"
    " FROM c LEFT JOIN e ON e.job_id = c.run_of AND e.shard_index = c.shard_index";

/* The job's next state after a run, shared by release and reap: $retry,
 * $delay, $next, $attempt, $retry_for, and the schedule and zone the next
 * time was computed from, at the given positions.  A @manual job has no
 * next time and waits to be made due again; a retry runs for the same fire
 * time and keeps what triggered it. */
#define NEXT_STATE(retry, delay, next, attempt, retry_for, sched, zone)                    \
    " status = CASE WHEN NOT " retry "::bool AND " next "::bigint IS NULL"                  \
    "  AND (schedule, timezone) = (" sched ", " zone ")"                                   \
    "  AND NOT " SQL_IS_MANUAL("schedule") " THEN 'done'"                                  \
    "  WHEN pause_requested THEN 'paused' ELSE 'waiting' END,"                             \
    " version = version + 1, lease_owner = NULL, lease_until = NULL,"                      \
    " next_time = CASE WHEN " retry "::bool"                                               \
    "  THEN now() + " delay "::int * interval '1 second'"                                  \
    "  ELSE to_timestamp(" next "::bigint) END,"                                           \
    " attempt = CASE WHEN " retry "::bool THEN " attempt "::int ELSE 1 END,"               \
    " scheduled_for = CASE WHEN " retry "::bool"                                           \
    "  THEN to_timestamp(" retry_for "::bigint) ELSE NULL END,"                            \
    " kill_requested_at = NULL, pause_requested = false, awaiting_callback = false,"    \
    " resume_params = CASE WHEN " retry "::bool THEN resume_params END,"                  \
    " triggered_by = CASE WHEN " retry "::bool THEN triggered_by END"

/*
 * The release of all runs that ended since the last tick, in one statement:
 * one commit for the lot, where a statement per run made the commit (and
 * its WAL flush) the bound of a busy instance.  Each row is still its own
 * CAS on the version and owner it claimed with; a row that lost it leaves
 * the job alone and records its run as abandoned.  The rows are all leased
 * to this instance, so no other claim or release waits on their locks.
 * A schedule edited while the job ran: the next fire time we computed from
 * the old one is wrong, so leave next_time NULL for an instance to compute
 * (and never call the job done because the old schedule was finished).
 */
static const char SQL_RELEASE[] =
    "WITH r AS ("
    " SELECT * FROM unnest($2::bigint[], $3::bigint[], $4::bigint[], $5::text[], $6::int[],"
    "  $7::bool[], $8::int[], $9::bigint[], $10::int[], $11::bigint[], $12::text[], $13::text[],"
    "  $14::text[], $15::text[])"
    " AS r(r_id, r_version, r_exec, r_status, r_exit, r_retry, r_delay, r_next, r_attempt,"
    "  r_retry_for, r_output, r_error, r_sched, r_zone)),"
    " j AS ("
    " UPDATE jobs SET"
    NEXT_STATE("r.r_retry", "r.r_delay",
               "CASE WHEN (schedule, timezone) = (r.r_sched, r.r_zone) THEN r.r_next END",
               "r.r_attempt", "r.r_retry_for", "r.r_sched", "r.r_zone")
    " FROM r WHERE jobs.id = r.r_id AND jobs.version = r.r_version AND jobs.lease_owner = $1"
    "  AND jobs.status = 'running'"
    " RETURNING jobs.id),"
    " e AS ("
    " UPDATE executions x SET"
    "  status = CASE WHEN j.id IS NOT NULL THEN r.r_status ELSE 'abandoned' END,"
    "  finished_at = greatest(now(), x.started_at), exit_code = r.r_exit, output = r.r_output,"
    "  error = CASE WHEN j.id IS NOT NULL THEN r.r_error"
    "   ELSE 'lease lost: another instance took the job over; this run ended as '"
    "    || r.r_status || coalesce(': ' || r.r_error, '') END"
    " FROM r LEFT JOIN j ON j.id = r.r_id"
    " WHERE x.id = r.r_exec AND x.status IN ('running', 'abandoned')"
    " RETURNING x.id)"
    " SELECT id FROM j";

static const char SQL_SAVE_OUTPUT[] =
    "UPDATE executions SET output = $3"
    " WHERE id = $1 AND instance_id = $2 AND status = 'running'";

int
claim_save_output(struct db *db, const char *me, int64_t execution_id, const char *output)
{
    char id[24];

    snprintf(id, sizeof(id), "%lld", (long long)execution_id);
    return db_exec(db, SQL_SAVE_OUTPUT, DB_PARAMS(id, me, output));
}

/* lease_until is checked again: renewing does not move the version, so an
 * owner that woke up and renewed since our fetch still holds the job. */
static const char SQL_REAP[] =
    "WITH j AS ("
    " UPDATE jobs SET"
    NEXT_STATE("$3", "$4", "CASE WHEN (schedule, timezone) = ($10, $11) THEN $5::bigint END",
               "$6", "$7", "$10", "$11")
    " WHERE id = $1 AND version = $2 AND status = 'running'"
    "  AND (lease_until < now() OR lease_owner = $9)"
    " RETURNING coalesce(shard_of, id) AS run_of, shard_index),"
    " e AS ("
    " UPDATE executions x SET status = 'abandoned', finished_at = greatest(now(), started_at),"
    "  error = 'abandoned: instance ' || $8 || ' stopped renewing its lease'"
    "   || ' (it died, froze or lost the database)'"
    " FROM j WHERE x.job_id = j.run_of AND x.shard_index = j.shard_index"
    "  AND x.status = 'running' AND x.instance_id = $8"
    " RETURNING x.id)"
    " SELECT (SELECT count(*) FROM j), (SELECT count(*) FROM e)";

/* A retry or a triggered run keeps its fire time in scheduled_for. */
static const char SQL_UNCLAIM[] =
    "WITH j AS ("
    " UPDATE jobs SET status = 'waiting', version = version + 1, lease_owner = NULL,"
    "  lease_until = NULL, next_time = scheduled_for,"
    "  scheduled_for = CASE WHEN attempt > 1 OR triggered_by IS NOT NULL THEN scheduled_for END"
    " WHERE id = $1 AND version = $2 AND lease_owner = $3 AND status = 'running'"
    " RETURNING coalesce(shard_of, id) AS run_of, shard_index, next_time, attempt),"
    " e AS ("
    " DELETE FROM executions x USING j"
    " WHERE x.job_id = j.run_of AND x.shard_index = j.shard_index"
    "  AND x.scheduled_for = j.next_time AND x.attempt = j.attempt"
    "  AND x.status = 'running' AND x.instance_id = $3"
    " RETURNING x.id)"
    " SELECT (SELECT count(*) FROM j)";

/* Skipped fire times are recorded by whoever wins the row, once. */
#define MISFIRE_ROW(job, shard, sched, me, error)                                           \
    " INSERT INTO executions (job_id, scheduled_for, attempt, instance_id, shard_index,"    \
    "  status, started_at, finished_at, error)"                                            \
    " SELECT " job ", to_timestamp(" sched "), 1, " me ", " shard ", 'misfired', now(),"   \
    "  now(), " error

static const char SQL_RESCHEDULE[] =
    "WITH j AS ("
    " UPDATE jobs SET version = version + 1, next_time = to_timestamp($3::bigint),"
    "  status = CASE WHEN $3::bigint IS NULL THEN 'done' ELSE status END,"
    "  attempt = 1, scheduled_for = NULL, triggered_by = NULL"
    " WHERE id = $1 AND version = $2 AND status = 'waiting'"
    " RETURNING coalesce(shard_of, id) AS run_of, shard_index),"
    " m AS ("
    MISFIRE_ROW("j.run_of", "j.shard_index", "$5::bigint", "$4", "$6")
    " FROM j WHERE $5::bigint IS NOT NULL"
    " ON CONFLICT ON CONSTRAINT executions_once DO NOTHING RETURNING id)"
    " SELECT count(*) FROM j";

static const char SQL_MISFIRES[] =
    MISFIRE_ROW("coalesce(j.shard_of, j.id)", "j.shard_index", "m.sched", "$1", "m.error")
    " FROM unnest($2::bigint[], $3::bigint[], $4::text[]) AS m(id, sched, error)"
    " JOIN jobs j ON j.id = m.id"
    " ON CONFLICT ON CONSTRAINT executions_once DO NOTHING";

static const char SQL_SCHEDULE_ERROR[] =
    "UPDATE jobs SET schedule_error = $3 WHERE id = $1 AND version = $2 AND status = 'waiting'";

/* Long-running HTTP tasks (0003_callbacks.sql).  The secrets of a claim
 * round's HTTP tasks, stored hashed before any request goes out, so that a
 * report can never arrive before its secret is known. */
static const char SQL_CALLBACK_TOKENS[] =
    "UPDATE executions e SET callback_token_hash = encode(sha256(convert_to(t.tok, 'UTF8')), 'hex')"
    " FROM unnest($1::bigint[], $2::text[]) AS t(id, tok)"
    " WHERE e.id = t.id AND e.status = 'running'";

/* The task answered 202: let go of the job without finishing it.  From now
 * on its reports renew lease_until (api_callbacks.c) and reap finishes it. */
static const char SQL_DETACH[] =
    "WITH j AS ("
    " UPDATE jobs SET awaiting_callback = true, version = version + 1,"
    /* A result reported before the 202 came back: finish at once. */
    "  lease_until = now() + CASE WHEN EXISTS (SELECT 1 FROM executions"
    "   WHERE id = $4 AND status <> 'running') THEN interval '0' ELSE timeout_s * interval '1 second' END"
    " WHERE id = $1 AND version = $2 AND lease_owner = $3 AND status = 'running'"
    " RETURNING id),"
    " e AS ("
    " UPDATE executions SET output = $5, exit_code = $6::int, progress = coalesce(progress, 0)"
    " WHERE id = $4 AND status = 'running' AND EXISTS (SELECT 1 FROM j)"
    " RETURNING id)"
    " SELECT (SELECT count(*) FROM j)";

/* What the task reported for the job's current fire time and attempt. */
static const char SQL_CALLBACK_OUTCOME[] =
    "SELECT e.id, e.status, j.kill_requested_at IS NOT NULL, j.resume_params IS NOT NULL,"
    " j.timeout_s"
    " FROM jobs j JOIN executions e ON e.job_id = coalesce(j.shard_of, j.id)"
    "  AND e.shard_index = j.shard_index AND e.scheduled_for = j.scheduled_for"
    "  AND e.attempt = j.attempt"
    " WHERE j.id = $1 AND j.awaiting_callback";

/* Finish a job awaiting its callback: a report moves the version, so the
 * outcome read above is still the truth when this CAS succeeds. */
static const char SQL_REAP_CALLBACK[] =
    "WITH j AS ("
    " UPDATE jobs SET"
    NEXT_STATE("$3", "$4", "CASE WHEN (schedule, timezone) = ($11, $12) THEN $5::bigint END",
               "$6", "$7", "$11", "$12")
    " WHERE id = $1 AND version = $2 AND status = 'running' AND awaiting_callback"
    "  AND (lease_until < now() OR kill_requested_at IS NOT NULL)"
    " RETURNING id),"
    " e AS ("
    " UPDATE executions SET status = $9, finished_at = greatest(now(), started_at), error = $10"
    " WHERE id = $8 AND status = 'running' AND EXISTS (SELECT 1 FROM j)"
    " RETURNING id)"
    " SELECT (SELECT count(*) FROM j)";

static char *
dup_value(const PGresult *res, int row, int col)
{
    if (PQgetisnull(res, row, col))
        return NULL;
    return strdup(PQgetvalue(res, row, col));
}

void
due_set_free(struct due_set *set)
{
    for (int i = 0; i < set->count; i++) {
        free(set->jobs[i].schedule);
        free(set->jobs[i].timezone);
        free(set->jobs[i].lease_owner);
    }
    free(set->jobs);
    set->jobs = NULL;
    set->count = 0;
}

static int
fetch(struct db *db, const char *sql, int limit, const char *mine, int offset,
      struct due_set *out)
{
    char limit_text[24], offset_text[24];
    PGresult *res;
    int n, rc = -1;

    memset(out, 0, sizeof(*out));
    snprintf(limit_text, sizeof(limit_text), "%d", limit);
    snprintf(offset_text, sizeof(offset_text), "%d", offset);
    if (sql == SQL_FETCH_DUE)
        res = db_query_prepared(db, sql, DB_PARAMS(limit_text, offset_text));
    else if (mine != NULL)
        res = db_query_prepared(db, sql, DB_PARAMS(limit_text, mine));
    else
        res = db_query_prepared(db, sql, DB_PARAMS(limit_text));
    if (res == NULL)
        return -1;
    n = PQntuples(res);
    if (n > 0 && (out->jobs = calloc((size_t)n, sizeof(*out->jobs))) == NULL)
        goto out;
    for (int i = 0; i < n; i++) {
        struct due_job *j = &out->jobs[i];
        j->id = db_get_int64(res, i, 0, 0);
        j->version = db_get_int64(res, i, 1, 0);
        j->due_s = db_get_int64(res, i, 2, CLAIM_NO_TIME);
        j->scheduled_for_s = db_get_int64(res, i, 3, CLAIM_NO_TIME);
        j->attempt = (int)db_get_int64(res, i, 4, 1);
        j->max_retries = (int)db_get_int64(res, i, 5, 0);
        j->retry_backoff_s = (int)db_get_int64(res, i, 6, 0);
        j->misfire_once = db_get_bool(res, i, 7);
        j->schedule = dup_value(res, i, 8);
        j->timezone = dup_value(res, i, 9);
        j->lease_owner = dup_value(res, i, 10);
        out->db_now_ms = db_get_int64(res, i, 11, 0);
        j->awaiting_callback = db_get_bool(res, i, 12);
        out->count++;
        if (j->schedule == NULL || j->timezone == NULL)
            goto out;
    }
    rc = 0;
out:
    if (rc < 0) {
        log_error("out of memory reading due jobs", NULL);
        due_set_free(out);
    }
    PQclear(res);
    return rc;
}

int
claim_fetch_due(struct db *db, int limit, int offset, struct due_set *out)
{
    return fetch(db, SQL_FETCH_DUE, limit, NULL, offset, out);
}

int
claim_fetch_expired(struct db *db, int limit, const char *mine, struct due_set *out)
{
    return fetch(db, mine != NULL ? SQL_FETCH_MINE : SQL_FETCH_EXPIRED, limit, mine, 0, out);
}

int
claim_fetch_unscheduled(struct db *db, int limit, struct due_set *out)
{
    return fetch(db, SQL_FETCH_UNSCHEDULED, limit, NULL, 0, out);
}

int
claim_earliest(struct db *db, int64_t *earliest_ms, int64_t *db_now_ms)
{
    PGresult *res = db_query_prepared(db, SQL_EARLIEST, DB_NO_PARAMS);

    if (res == NULL)
        return -1;
    *earliest_ms = db_get_int64(res, 0, 0, CLAIM_NO_TIME);
    *db_now_ms = db_get_int64(res, 0, 1, 0);
    PQclear(res);
    return 0;
}

void
claimed_job_clear(struct claimed_job *job)
{
    free(job->name);
    free(job->kind);
    free(job->config);
    free(job->schedule);
    free(job->timezone);
    free(job->resume_params);
    free(job->callback_token);
    memset(job, 0, sizeof(*job));
}

void
claimed_jobs_free(struct claimed_job *jobs, int n)
{
    for (int i = 0; jobs != NULL && i < n; i++)
        claimed_job_clear(&jobs[i]);
    free(jobs);
}

int
claim_batch(struct db *db, const char *me, int64_t lease_us, const struct claim_req *reqs,
            int nreqs, struct claimed_job **won, int *nwon)
{
    struct strbuf ids = STRBUF_INIT, versions = STRBUF_INIT, scheds = STRBUF_INIT,
                  attempts = STRBUF_INIT;
    char lease_text[24];
    PGresult *res = NULL;
    struct claimed_job *out = NULL;
    int n = 0, rc = -1;

    *won = NULL;
    *nwon = 0;
    if (nreqs == 0)
        return 0;
    for (int i = 0; i < nreqs; i++) {
        const char *sep = i == 0 ? "{" : ",";
        strbuf_printf(&ids, "%s%lld", sep, (long long)reqs[i].id);
        strbuf_printf(&versions, "%s%lld", sep, (long long)reqs[i].version);
        strbuf_printf(&scheds, "%s%lld", sep, (long long)reqs[i].scheduled_for_s);
        strbuf_printf(&attempts, "%s%d", sep, reqs[i].attempt);
    }
    strbuf_puts(&ids, "}");
    strbuf_puts(&versions, "}");
    strbuf_puts(&scheds, "}");
    strbuf_puts(&attempts, "}");
    if (strbuf_failed(&ids) || strbuf_failed(&versions) || strbuf_failed(&scheds) ||
        strbuf_failed(&attempts))
        goto out;
    snprintf(lease_text, sizeof(lease_text), "%lld", (long long)lease_us);

    res = db_query_prepared(db, SQL_CLAIM,
                   DB_PARAMS(me, lease_text, strbuf_str(&ids), strbuf_str(&versions),
                             strbuf_str(&scheds), strbuf_str(&attempts)));
    if (res == NULL)
        goto out;
    if (PQntuples(res) > 0 && (out = calloc((size_t)PQntuples(res), sizeof(*out))) == NULL)
        goto out;
    for (int i = 0; i < PQntuples(res); i++) {
        struct claimed_job *c = &out[n++];
        c->id = db_get_int64(res, i, 0, 0);
        c->version = db_get_int64(res, i, 1, 0);
        c->execution_id = db_get_int64(res, i, 2, 0);
        c->scheduled_for_s = db_get_int64(res, i, 3, 0);
        c->attempt = (int)db_get_int64(res, i, 4, 1);
        c->timeout_s = (int)db_get_int64(res, i, 5, 3600);
        c->max_retries = (int)db_get_int64(res, i, 6, 0);
        c->retry_backoff_s = (int)db_get_int64(res, i, 7, 0);
        c->name = dup_value(res, i, 17);
        c->kind = dup_value(res, i, 9);
        c->config = dup_value(res, i, 10);
        c->schedule = dup_value(res, i, 11);
        c->timezone = dup_value(res, i, 12);
        c->resume_params = dup_value(res, i, 13); /* NULL: none */
        c->shard_index = (int)db_get_int64(res, i, 14, 0);
        c->shard_count = (int)db_get_int64(res, i, 15, 1);
        c->run_of = db_get_int64(res, i, 16, c->id);
        if (!c->name || !c->kind || !c->config || !c->schedule || !c->timezone)
            goto out;
    }
    *won = out;
    *nwon = n;
    out = NULL;
    rc = 0;
out:
    claimed_jobs_free(out, n);
    PQclear(res);
    strbuf_reset(&ids);
    strbuf_reset(&versions);
    strbuf_reset(&scheds);
    strbuf_reset(&attempts);
    return rc;
}

/* Text forms of a struct release's "what next" for the NEXT_STATE columns. */
struct next_text {
    char retry[2], delay[16], next[24], attempt[16], retry_for[24];
    const char *next_p, *retry_for_p;
};

static void
next_text(const struct release *r, struct next_text *t)
{
    snprintf(t->retry, sizeof(t->retry), "%s", r->retry ? "t" : "f");
    snprintf(t->delay, sizeof(t->delay), "%d", r->retry_delay_s);
    snprintf(t->next, sizeof(t->next), "%lld", (long long)r->next_s);
    snprintf(t->attempt, sizeof(t->attempt), "%d", r->next_attempt);
    snprintf(t->retry_for, sizeof(t->retry_for), "%lld", (long long)r->retry_for_s);
    t->next_p = r->next_s == CLAIM_NO_TIME ? NULL : t->next;
    t->retry_for_p = r->retry_for_s == CLAIM_NO_TIME ? NULL : t->retry_for;
}

/* A text element of an array literal: quoted, with " and \ escaped. */
static void
array_text(struct strbuf *sb, const char *sep, const char *value)
{
    strbuf_puts(sb, sep);
    if (value == NULL) {
        strbuf_puts(sb, "NULL");
        return;
    }
    strbuf_puts(sb, "\"");
    for (const char *p = value; *p != '\0';) {
        size_t n = strcspn(p, "\"\\");
        strbuf_add(sb, p, n);
        p += n;
        if (*p != '\0') {
            strbuf_add(sb, "\\", 1);
            strbuf_add(sb, p++, 1);
        }
    }
    strbuf_puts(sb, "\"");
}

enum release_column {
    RC_ID, RC_VERSION, RC_EXEC, RC_STATUS, RC_EXIT, RC_RETRY, RC_DELAY, RC_NEXT, RC_ATTEMPT,
    RC_RETRY_FOR, RC_OUTPUT, RC_ERROR, RC_SCHED, RC_ZONE, RC_COUNT
};

static int
by_job_id(const void *a, const void *b)
{
    const struct release *x = *(const struct release *const *)a, *y = *(const struct release *const *)b;

    return x->id < y->id ? -1 : x->id > y->id;
}

int
claim_release(struct db *db, const char *me, const struct release *rs, int n, int *released)
{
    struct strbuf col[RC_COUNT];
    const char *params[1 + RC_COUNT];
    const struct release **sorted = NULL;
    PGresult *res = NULL;
    int rc = -1;

    for (int c = 0; c < RC_COUNT; c++)
        col[c] = (struct strbuf)STRBUF_INIT;
    /* In id order, the order in which an operator's action on a sharded
     * job locks its rows (0007_shards.sql): no lock cycle between them. */
    if ((sorted = calloc((size_t)n, sizeof(*sorted))) == NULL)
        goto out;
    for (int i = 0; i < n; i++)
        sorted[i] = &rs[i];
    qsort(sorted, (size_t)n, sizeof(*sorted), by_job_id);
    for (int i = 0; i < n; i++) {
        const struct release *r = sorted[i];
        const char *sep = i == 0 ? "{" : ",";
        struct next_text t;
        char exit_code[16];

        next_text(r, &t);
        snprintf(exit_code, sizeof(exit_code), "%d", r->exit_code);
        strbuf_printf(&col[RC_ID], "%s%lld", sep, (long long)r->id);
        strbuf_printf(&col[RC_VERSION], "%s%lld", sep, (long long)r->version);
        strbuf_printf(&col[RC_EXEC], "%s%lld", sep, (long long)r->execution_id);
        array_text(&col[RC_STATUS], sep, r->status);
        array_text(&col[RC_EXIT], sep, r->has_exit_code ? exit_code : NULL);
        array_text(&col[RC_RETRY], sep, t.retry);
        array_text(&col[RC_DELAY], sep, t.delay);
        array_text(&col[RC_NEXT], sep, t.next_p);
        array_text(&col[RC_ATTEMPT], sep, t.attempt);
        array_text(&col[RC_RETRY_FOR], sep, t.retry_for_p);
        array_text(&col[RC_OUTPUT], sep, r->output != NULL ? r->output : "");
        array_text(&col[RC_ERROR], sep, r->error);
        array_text(&col[RC_SCHED], sep, r->schedule);
        array_text(&col[RC_ZONE], sep, r->timezone);
        released[i] = 0;
    }
    params[0] = me;
    for (int c = 0; c < RC_COUNT; c++) {
        strbuf_puts(&col[c], "}");
        if (strbuf_failed(&col[c]))
            goto out;
        params[1 + c] = strbuf_str(&col[c]);
    }
    if ((res = db_query_prepared(db, SQL_RELEASE, 1 + RC_COUNT, params)) == NULL)
        goto out;
    /* The ids released, found in the sorted runs (a pool may hold thousands). */
    for (int k = 0; k < PQntuples(res); k++) {
        struct release key = { .id = db_get_int64(res, k, 0, 0) };
        const struct release *kp = &key, **hit;

        hit = bsearch(&kp, sorted, (size_t)n, sizeof(*sorted), by_job_id);
        if (hit != NULL)
            released[*hit - rs] = 1;
    }
    rc = 0;
out:
    PQclear(res);
    free(sorted);
    for (int c = 0; c < RC_COUNT; c++)
        strbuf_reset(&col[c]);
    return rc;
}

int
claim_reap(struct db *db, const struct due_job *job, const char *mine, const struct release *next)
{
    char id[24], version[24];
    struct next_text t;
    PGresult *res;
    int reaped;

    snprintf(id, sizeof(id), "%lld", (long long)job->id);
    snprintf(version, sizeof(version), "%lld", (long long)job->version);
    next_text(next, &t);
    /* $9 names this instance only for its own dead leases found at start-up. */
    res = db_query_prepared(db, SQL_REAP,
                   DB_PARAMS(id, version, t.retry, t.delay, t.next_p, t.attempt, t.retry_for_p,
                             job->lease_owner, mine, job->schedule, job->timezone));
    if (res == NULL)
        return -1;
    reaped = db_get_int64(res, 0, 0, 0) > 0;
    PQclear(res);
    return reaped;
}

int
claim_reschedule(struct db *db, const char *me, int64_t id, int64_t version, int64_t next_s,
                 int64_t misfired_s, const char *misfire_error)
{
    char id_text[24], version_text[24], next_text_[24], misfired_text[24];
    PGresult *res;
    int done;

    snprintf(id_text, sizeof(id_text), "%lld", (long long)id);
    snprintf(version_text, sizeof(version_text), "%lld", (long long)version);
    snprintf(next_text_, sizeof(next_text_), "%lld", (long long)next_s);
    snprintf(misfired_text, sizeof(misfired_text), "%lld", (long long)misfired_s);
    res = db_query_prepared(db, SQL_RESCHEDULE,
                            DB_PARAMS(id_text, version_text,
                                      next_s == CLAIM_NO_TIME ? NULL : next_text_, me,
                                      misfired_s == CLAIM_NO_TIME ? NULL : misfired_text,
                                      misfire_error));
    if (res == NULL)
        return -1;
    done = db_get_int64(res, 0, 0, 0) == 1;
    PQclear(res);
    return done;
}

int
claim_record_misfires(struct db *db, const char *me, const struct claim_req *reqs, int nreqs,
                      const struct claimed_job *won, int nwon)
{
    struct strbuf ids = STRBUF_INIT, scheds = STRBUF_INIT, errors = STRBUF_INIT;
    int n = 0, rc = 0;

    for (int i = 0; i < nreqs; i++) {
        int claimed = 0;

        if (reqs[i].misfired_s == CLAIM_NO_TIME)
            continue;
        for (int k = 0; k < nwon && !claimed; k++)
            claimed = won[k].id == reqs[i].id;
        if (!claimed)
            continue; /* the instance that won it records them */
        strbuf_printf(&ids, "%s%lld", n == 0 ? "{" : ",", (long long)reqs[i].id);
        strbuf_printf(&scheds, "%s%lld", n == 0 ? "{" : ",", (long long)reqs[i].misfired_s);
        array_text(&errors, n == 0 ? "{" : ",", reqs[i].misfire_error);
        n++;
    }
    if (n > 0) {
        strbuf_puts(&ids, "}");
        strbuf_puts(&scheds, "}");
        strbuf_puts(&errors, "}");
        rc = strbuf_failed(&ids) || strbuf_failed(&scheds) || strbuf_failed(&errors)
                 ? -1
                 : db_exec(db, SQL_MISFIRES,
                           DB_PARAMS(me, strbuf_str(&ids), strbuf_str(&scheds),
                                     strbuf_str(&errors)));
    }
    strbuf_reset(&ids);
    strbuf_reset(&scheds);
    strbuf_reset(&errors);
    return rc;
}

int
claim_set_schedule_error(struct db *db, int64_t id, int64_t version, const char *msg)
{
    char id_text[24], version_text[24];

    snprintf(id_text, sizeof(id_text), "%lld", (long long)id);
    snprintf(version_text, sizeof(version_text), "%lld", (long long)version);
    return db_exec(db, SQL_SCHEDULE_ERROR, DB_PARAMS(id_text, version_text, msg));
}

int
claim_unclaim(struct db *db, const char *me, int64_t id, int64_t version)
{
    char id_text[24], version_text[24];
    PGresult *res;
    int done;

    snprintf(id_text, sizeof(id_text), "%lld", (long long)id);
    snprintf(version_text, sizeof(version_text), "%lld", (long long)version);
    if ((res = db_query_prepared(db, SQL_UNCLAIM, DB_PARAMS(id_text, version_text, me))) == NULL)
        return -1;
    done = db_get_int64(res, 0, 0, 0) > 0;
    PQclear(res);
    return done;
}

int
claim_set_callback_tokens(struct db *db, const int64_t *execution_ids, char *const *tokens, int n)
{
    struct strbuf ids = STRBUF_INIT, toks = STRBUF_INIT;
    int rc = -1;

    for (int i = 0; i < n; i++) {
        /* Tokens are URL-safe base64: no quoting needed in an array literal. */
        strbuf_printf(&ids, "%s%lld", i == 0 ? "{" : ",", (long long)execution_ids[i]);
        strbuf_printf(&toks, "%s%s", i == 0 ? "{" : ",", tokens[i]);
    }
    strbuf_puts(&ids, "}");
    strbuf_puts(&toks, "}");
    if (!strbuf_failed(&ids) && !strbuf_failed(&toks))
        rc = db_exec(db, SQL_CALLBACK_TOKENS, DB_PARAMS(strbuf_str(&ids), strbuf_str(&toks)));
    strbuf_reset(&ids);
    strbuf_reset(&toks);
    return rc;
}

int
claim_detach(struct db *db, const char *me, const struct release *r)
{
    char id[24], version[24], exec_id[24], exit_code[16];
    PGresult *res;
    int detached;

    snprintf(id, sizeof(id), "%lld", (long long)r->id);
    snprintf(version, sizeof(version), "%lld", (long long)r->version);
    snprintf(exec_id, sizeof(exec_id), "%lld", (long long)r->execution_id);
    snprintf(exit_code, sizeof(exit_code), "%d", r->exit_code);
    res = db_query_prepared(db, SQL_DETACH,
                   DB_PARAMS(id, version, me, exec_id, r->output != NULL ? r->output : "",
                             r->has_exit_code ? exit_code : NULL));
    if (res == NULL)
        return -1;
    detached = db_get_int64(res, 0, 0, 0) > 0;
    PQclear(res);
    return detached;
}

int
claim_callback_outcome(struct db *db, int64_t job_id, struct callback_outcome *out)
{
    char id[24];
    PGresult *res;
    int found;

    memset(out, 0, sizeof(*out));
    snprintf(id, sizeof(id), "%lld", (long long)job_id);
    if ((res = db_query_prepared(db, SQL_CALLBACK_OUTCOME, DB_PARAMS(id))) == NULL)
        return -1;
    found = PQntuples(res) == 1;
    if (found) {
        out->execution_id = db_get_int64(res, 0, 0, 0);
        snprintf(out->status, sizeof(out->status), "%s", PQgetvalue(res, 0, 1));
        out->kill_requested = db_get_bool(res, 0, 2);
        out->resume = db_get_bool(res, 0, 3);
        out->timeout_s = (int)db_get_int64(res, 0, 4, 0);
    }
    PQclear(res);
    return found;
}

int
claim_reap_callback(struct db *db, const struct due_job *job, const struct release *next)
{
    char id[24], version[24], exec_id[24];
    struct next_text t;
    PGresult *res;
    int reaped;

    snprintf(id, sizeof(id), "%lld", (long long)job->id);
    snprintf(version, sizeof(version), "%lld", (long long)job->version);
    snprintf(exec_id, sizeof(exec_id), "%lld", (long long)next->execution_id);
    next_text(next, &t);
    res = db_query_prepared(db, SQL_REAP_CALLBACK,
                   DB_PARAMS(id, version, t.retry, t.delay, t.next_p, t.attempt, t.retry_for_p,
                             exec_id, next->status, next->error, job->schedule, job->timezone));
    if (res == NULL)
        return -1;
    reaped = db_get_int64(res, 0, 0, 0) > 0;
    PQclear(res);
    return reaped;
}
