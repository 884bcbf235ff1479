/* alerter.c - the alerter thread: who alerts, what is alerted, sending.
 *
 * Glossary: an *event* is something a rule may alert on: a run that ended
 * failed, timed_out, abandoned or misfired (an executions row), a job
 * without a successful run for the rule's no_success_s, or a recovery (a
 * success after an alert).  An *incident* is the time between the first
 * alert of a rule and job and the next success (alert_state.open).
 *
 * One round a second, by the instance holding the session-level advisory
 * lock tablecron.alerts (the others try for it every few seconds, so one
 * takes over when the holder's session ends):
 *
 *   detect   in one transaction: read the runs that ended badly since
 *            alerter_state.checked_until, write an alerts row for each
 *            rule they match (pending, or suppressed within the rule's
 *            repeat_interval_s), find the successes that close incidents
 *            (recovered) and the jobs without a success for no_success_s,
 *            and move checked_until on.
 *   deliver  send the pending rows (alert_send.c) and record each
 *            outcome: sent, or failed with the error.
 *
 * Why read a little behind checked_until: a run's finished_at is its
 * release statement's now(), the start of that transaction, so a run can
 * become visible after runs that ended later.  Each round reads again the
 * two minutes before checked_until, and the unique (rule, execution,
 * event) of alerts makes a second reading write nothing: an instance
 * taking over after a crash neither repeats an alert nor misses one.  A
 * pending row left by a crash is sent by the next holder.
 *
 * Rate limit: a rule alerts a job at most once per repeat_interval_s; the
 * events in between are recorded as suppressed, and the next alert sent
 * says how many.  A recovery closes the incident and resets the limit, so
 * the next failure is alerted at once.
 */
#include <autoconfig.h>

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alert_send.h"
#include "alerter.h"
#include "clock.h"
#include "db.h"
#include "duration.h"
#include "log.h"
#include "strbuf.h"

#define ROUND_MS 1000        /* a round while holding the lock */
#define QUIET_MS 5000        /* the next look when no rule is on and nothing waits */
#define LOCK_RETRY_MS 3000   /* how often the others try for it */
#define DB_RETRY_MS 5000     /* after a database error */
#define SCHEMA_RETRY_MS 30000
#define EVENTS_PER_ROUND 200
#define SENDS_PER_ROUND 32

struct alerter {
    pthread_t thread;
    struct db *db;                /* owned: this thread's connection */
    struct alert_sender *sender;  /* owned */
    char *instance_id;            /* owned */
    int wake[2];                  /* a byte: stop now */
    atomic_int stop;
    int holding;                  /* this session holds tablecron.alerts */
    int schema_ok;                /* the alerts tables exist (0005_alerts.sql) */
    int schema_said;              /* "no alerts tables" was logged */
    int curl_ready;               /* curl_global_init succeeded */
};

/* --- statements --- */

static const char SQL_SCHEMA[] = "SELECT to_regclass('alerter_state') IS NOT NULL";
static const char SQL_TRY_LOCK[] = "SELECT pg_try_advisory_lock(hashtext('tablecron.alerts'))";
static const char SQL_UNLOCK[] = "SELECT pg_advisory_unlock(hashtext('tablecron.alerts'))";
static const char SQL_HOLDER[] =
    "UPDATE alerter_state SET instance_id = $1, since = now()";
static const char SQL_RELEASED[] =
    "UPDATE alerter_state SET instance_id = NULL, since = now() WHERE instance_id = $1";

#define UTC(col) DB_SQL_UTC(col)

/* The columns every event query returns, in this order (struct event):
 * the rule, the job and department, the run, then per kind. */
#define EVENT_COLS                                                                          \
    "r.id, r.channel_id, r.repeat_interval_s, j.id, j.name, d.id, d.name"
#define EXEC_COLS                                                                           \
    "e.id, e.status, e.attempt, e.instance_id, e.exit_code, e.error, " UTC("e.scheduled_for") \
    ", " UTC("e.started_at") ", " UTC("e.finished_at") ", e.finished_at"
#define NO_EXEC_COLS                                                                        \
    "NULL::bigint, NULL::text, NULL::int, NULL::text, NULL::int, NULL::text, NULL::text,"   \
    " NULL::text, NULL::text, NULL::timestamptz"

/*
 * Runs that ended badly, read from two minutes before checked_until (or
 * now, the first time; never more than an hour back), each with every
 * enabled rule of its job that names its status and has not alerted it.
 * The status list is the predicate of executions_alert_scan_idx.
 */
static const char SQL_BAD_RUNS[] =
    "SELECT " EVENT_COLS ", " EXEC_COLS ", NULL::int, NULL::text, NULL::bool, 0"
    " FROM executions e"
    " JOIN jobs j ON j.id = e.job_id"
    " JOIN departments d ON d.id = j.department_id"
    " JOIN alert_rules r ON r.department_id = j.department_id"
    "  AND (r.job_id IS NULL OR r.job_id = j.id)"
    " WHERE e.status IN ('failed', 'timed_out', 'abandoned', 'misfired')"
    "  AND e.finished_at > (SELECT greatest(coalesce(checked_until, now()),"
    "                                       now() - interval '1 hour') - interval '2 minutes'"
    "                        FROM alerter_state)"
    "  AND e.finished_at <= now()"
    "  AND r.enabled AND e.status = ANY (r.events) AND e.finished_at >= r.created_at"
    "  AND NOT EXISTS (SELECT 1 FROM alerts a"
    "   WHERE a.rule_id = r.id AND a.execution_id = e.id AND a.event = e.status)"
    " ORDER BY e.finished_at, e.id, r.id LIMIT $1::int";

/* Open incidents whose job has succeeded since: the first such success.
 * A success that ended after the incident opened started at most its
 * timeout (and some slack) before, which bounds the index scan. */
static const char SQL_RECOVERIES[] =
    "SELECT " EVENT_COLS ", " EXEC_COLS ", NULL::int, " UTC("s.opened_at") ", r.recovery,"
    " s.suppressed"
    " FROM alert_state s"
    " JOIN alert_rules r ON r.id = s.rule_id"
    " JOIN jobs j ON j.id = s.job_id"
    " JOIN departments d ON d.id = j.department_id"
    " JOIN LATERAL (SELECT * FROM executions x"
    "   WHERE x.job_id = s.job_id AND x.status = 'succeeded' AND x.finished_at > s.opened_at"
    "    AND x.started_at > s.opened_at - (j.timeout_s + 600) * interval '1 second'"
    "   ORDER BY x.finished_at, x.id LIMIT 1) e ON true"
    " WHERE s.open AND r.enabled"
    " ORDER BY e.finished_at, s.rule_id, s.job_id LIMIT $1::int";

/* Jobs in scope of a no_success rule without a success for no_success_s
 * (counted from the job's or the rule's last change when that is later),
 * not paused or done, not yet alerted in this incident.  The success is
 * looked for in a LIMIT 1 subquery of its own: planned per job, its
 * started_at bound goes into the index condition (a NOT EXISTS here was
 * planned as a join that read every run of each job). */
static const char SQL_NO_SUCCESS[] =
    "SELECT " EVENT_COLS ", " NO_EXEC_COLS ", r.no_success_s, NULL::text, NULL::bool, 0"
    " FROM alert_rules r"
    " JOIN jobs j ON j.department_id = r.department_id AND (r.job_id IS NULL OR r.job_id = j.id)"
    "  AND j.shard_of IS NULL" /* a sharded job's runs are its own row's, not its shard rows' */
    " JOIN departments d ON d.id = j.department_id"
    " LEFT JOIN alert_state s ON s.rule_id = r.id AND s.job_id = j.id"
    " LEFT JOIN LATERAL (SELECT 1 AS found FROM executions x WHERE x.job_id = j.id"
    "   AND x.started_at > now() - (r.no_success_s + j.timeout_s + 600) * interval '1 second'"
    "   AND x.status = 'succeeded' AND x.finished_at > now() - r.no_success_s * interval '1 second'"
    "   LIMIT 1) ok ON true"
    " WHERE r.enabled AND r.no_success_s IS NOT NULL AND j.status IN ('waiting', 'running')"
    "  AND greatest(j.created_at, r.updated_at) <= now() - r.no_success_s * interval '1 second'"
    "  AND NOT coalesce(s.no_success_fired, false) AND ok.found IS NULL"
    " ORDER BY r.id, j.id LIMIT $1::int";

/* With no rule switched on and nothing waiting to be sent there is nothing
 * to look for: the watermark moves past the runs no rule wants, in the one
 * statement an idle cluster pays every QUIET_MS.  A rule switched on is
 * noticed within QUIET_MS and matches runs from then on. */
static const char SQL_QUIET[] =
    "UPDATE alerter_state SET checked_until = now()"
    " WHERE NOT EXISTS (SELECT 1 FROM alert_rules WHERE enabled)"
    "   AND NOT EXISTS (SELECT 1 FROM alerts WHERE status = 'pending')";

static const char SQL_MOVE_ON[] =
    "UPDATE alerter_state SET checked_until = coalesce($1::timestamptz, now())";

/* The rate limit of a rule and job: is an alert now a repeat (held)?
 * Read without a row lock: only the lock holder writes alert_state.  It
 * then locks rows in the order a rule's deletion does (the rule, when the
 * alerts row is written, then the state), so the two cannot deadlock. */
static const char SQL_STATE[] =
    "SELECT coalesce($3::int > 0 AND last_sent_at > now() - $3::int * interval '1 second', false),"
    " suppressed FROM alert_state WHERE rule_id = $1 AND job_id = $2";

static const char SQL_ADD_ALERT[] =
    "INSERT INTO alerts (department_id, rule_id, channel_id, job_id, execution_id, event, status,"
    " suppressed_count, subject, message, details)"
    " VALUES ($1, $2, $3, $4, $5::bigint, $6, $7, $8::int, $9, $10, $11::jsonb)"
    " ON CONFLICT (rule_id, execution_id, event) DO NOTHING RETURNING id";

/* $4: held (a repeat), $5: a no_success alert. */
static const char SQL_OPEN[] =
    "INSERT INTO alert_state AS s (rule_id, job_id, open, opened_at, last_sent_at, suppressed,"
    " no_success_fired)"
    " VALUES ($1, $2, true, coalesce($3::timestamptz, now()),"
    "  CASE WHEN $4::bool THEN NULL ELSE now() END, CASE WHEN $4::bool THEN 1 ELSE 0 END, $5::bool)"
    " ON CONFLICT (rule_id, job_id) DO UPDATE SET open = true,"
    "  opened_at = coalesce(s.opened_at, EXCLUDED.opened_at),"
    "  last_sent_at = CASE WHEN $4::bool THEN s.last_sent_at ELSE now() END,"
    "  suppressed = CASE WHEN $4::bool THEN s.suppressed + 1 ELSE 0 END,"
    "  no_success_fired = s.no_success_fired OR $5::bool";

static const char SQL_CLOSE[] =
    "UPDATE alert_state SET open = false, opened_at = NULL, last_sent_at = NULL, suppressed = 0,"
    " no_success_fired = false WHERE rule_id = $1 AND job_id = $2";

static const char SQL_PENDING[] =
    "SELECT a.id, a.event, a.subject, a.message, a.details::text, a.suppressed_count,"
    " " UTC("a.created_at") ", a.rule_id, a.job_id, c.id, c.name, c.kind, c.url, c.template,"
    " c.email_to, c.email_from"
    " FROM alerts a LEFT JOIN alert_channels c ON c.id = a.channel_id"
    " WHERE a.status = 'pending' ORDER BY a.id LIMIT $1::int";

static const char SQL_DONE[] =
    "UPDATE alerts SET status = $2, error = $3, sent_at = now(), instance_id = $4"
    " WHERE id = $1 AND status = 'pending'";

/* --- events --- */

/* One row of an event query (the columns above). */
struct event {
    const char *kind;          /* failed, ..., no_success, recovered */
    const char *rule_id, *channel_id, *job_id, *department_id; /* as text */
    int64_t repeat_s;
    const char *job, *department;
    const char *exec_id;       /* NULL: no run */
    const char *exec_status, *instance, *error;
    const char *scheduled_for, *started_at, *finished_at; /* UTC text */
    const char *finished_raw;  /* finished_at as the server prints it */
    int attempt, has_exit, exit_code;
    int64_t no_success_s;
    const char *opened_at;     /* recovered: when the incident began (UTC text) */
    int recovery;              /* recovered: the rule sends recoveries */
    int suppressed;            /* recovered: repeats held back since the last alert */
};

static const char *
text_or_null(const PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? NULL : PQgetvalue(res, row, col);
}

static void
event_from_row(const PGresult *res, int row, const char *kind, struct event *ev)
{
    memset(ev, 0, sizeof(*ev));
    ev->rule_id = PQgetvalue(res, row, 0);
    ev->channel_id = PQgetvalue(res, row, 1);
    ev->repeat_s = db_get_int64(res, row, 2, 0);
    ev->job_id = PQgetvalue(res, row, 3);
    ev->job = PQgetvalue(res, row, 4);
    ev->department_id = PQgetvalue(res, row, 5);
    ev->department = PQgetvalue(res, row, 6);
    ev->exec_id = text_or_null(res, row, 7);
    ev->exec_status = text_or_null(res, row, 8);
    ev->attempt = (int)db_get_int64(res, row, 9, 0);
    ev->instance = text_or_null(res, row, 10);
    ev->has_exit = !PQgetisnull(res, row, 11);
    ev->exit_code = (int)db_get_int64(res, row, 11, 0);
    ev->error = text_or_null(res, row, 12);
    ev->scheduled_for = text_or_null(res, row, 13);
    ev->started_at = text_or_null(res, row, 14);
    ev->finished_at = text_or_null(res, row, 15);
    ev->finished_raw = text_or_null(res, row, 16);
    ev->no_success_s = db_get_int64(res, row, 17, 0);
    ev->opened_at = text_or_null(res, row, 18);
    ev->recovery = db_get_bool(res, row, 19);
    ev->suppressed = (int)db_get_int64(res, row, 20, 0);
    ev->kind = kind != NULL ? kind : ev->exec_status;
}

static void
format_seconds(int64_t s, char *buf, size_t size)
{
    if (duration_format(s * 1000000, buf, size) < 0)
        snprintf(buf, size, "%llds", (long long)s);
}

/* The subject's verb phrase. */
static const char *
event_words(const char *kind)
{
    if (strcmp(kind, "failed") == 0)
        return "failed";
    if (strcmp(kind, "timed_out") == 0)
        return "timed out";
    if (strcmp(kind, "abandoned") == 0)
        return "was abandoned";
    if (strcmp(kind, "misfired") == 0)
        return "missed its fire time";
    if (strcmp(kind, "recovered") == 0)
        return "recovered";
    return "has not succeeded";
}

/* The alert in words: its subject and its message (suppressed: how many
 * repeats were held back before it). */
static int
describe(const struct event *ev, int suppressed, char **subject, char **message)
{
    struct strbuf s = STRBUF_INIT, m = STRBUF_INIT;
    char dur[32];

    *subject = *message = NULL;
    if (strcmp(ev->kind, "no_success") == 0) {
        format_seconds(ev->no_success_s, dur, sizeof(dur));
        strbuf_printf(&s, "[tablecron] job %s has not succeeded for %s", ev->job, dur);
        strbuf_printf(&m, "No run of job %s (department %s) has succeeded in the last %s.\n",
                      ev->job, ev->department, dur);
    } else if (strcmp(ev->kind, "recovered") == 0) {
        strbuf_printf(&s, "[tablecron] job %s recovered", ev->job);
        strbuf_printf(&m, "Job %s (department %s) succeeded again: execution %s ended %s.\n",
                      ev->job, ev->department, ev->exec_id, ev->finished_at);
        strbuf_printf(&m, "Its trouble began %s.\n", ev->opened_at);
    } else {
        strbuf_printf(&s, "[tablecron] job %s %s", ev->job, event_words(ev->kind));
        strbuf_printf(&m, "Job %s (department %s) %s.\n", ev->job, ev->department,
                      event_words(ev->kind));
        strbuf_printf(&m, "Execution %s: fire time %s, attempt %d, instance %s.\n", ev->exec_id,
                      ev->scheduled_for, ev->attempt, ev->instance);
        strbuf_printf(&m, "Started %s, ended %s", ev->started_at, ev->finished_at);
        if (ev->has_exit)
            strbuf_printf(&m, ", exit code %d", ev->exit_code);
        strbuf_puts(&m, ".\n");
        if (ev->error != NULL && ev->error[0] != '\0')
            strbuf_printf(&m, "Error: %s\n", ev->error);
    }
    if (suppressed > 0) {
        format_seconds(ev->repeat_s, dur, sizeof(dur));
        strbuf_printf(&m, "%d more alert%s of this job and rule %s suppressed since the previous"
                          " one (at most one every %s).\n",
                      suppressed, suppressed == 1 ? "" : "s", suppressed == 1 ? "was" : "were",
                      dur);
    }
    if (strbuf_failed(&s) || strbuf_failed(&m)) {
        strbuf_reset(&s);
        strbuf_reset(&m);
        return -1;
    }
    *subject = strbuf_take(&s);
    *message = strbuf_take(&m);
    return 0;
}

static json_t *
json_text(const char *text)
{
    return text != NULL ? json_string(text) : json_null();
}

/* The facts of an event as JSON text (alerts.details). */
static char *
details_json(const struct event *ev)
{
    json_t *doc, *exec = json_null();
    char *text;

    if (ev->exec_id != NULL)
        exec = json_pack("{s:I, s:o, s:o, s:i, s:o, s:o, s:o, s:o, s:o}", "id",
                         (json_int_t)strtoll(ev->exec_id, NULL, 10), "status",
                         json_text(strcmp(ev->kind, "recovered") == 0 ? "succeeded"
                                                                     : ev->exec_status),
                         "scheduled_for", json_text(ev->scheduled_for), "attempt", ev->attempt,
                         "instance_id", json_text(ev->instance), "started_at",
                         json_text(ev->started_at), "finished_at", json_text(ev->finished_at),
                         "exit_code", ev->has_exit ? json_integer(ev->exit_code) : json_null(),
                         "error", json_text(ev->error));
    doc = json_pack("{s:{s:I, s:s}, s:{s:I, s:s}, s:o}", "job", "id",
                    (json_int_t)strtoll(ev->job_id, NULL, 10), "name", ev->job, "department", "id",
                    (json_int_t)strtoll(ev->department_id, NULL, 10), "name", ev->department,
                    "execution", exec);
    if (doc == NULL)
        return NULL;
    if (strcmp(ev->kind, "no_success") == 0)
        json_object_set_new(doc, "no_success_s", json_integer(ev->no_success_s));
    if (strcmp(ev->kind, "recovered") == 0)
        json_object_set_new(doc, "failing_since", json_text(ev->opened_at));
    text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    return text;
}

/*
 * Record one alert row for ev: status pending or suppressed, with the
 * suppressed count it tells.  1 when written, 0 when that rule, run and
 * event had been alerted already (nothing to do), -1 on error.
 */
static int
add_alert(struct db *db, const struct event *ev, const char *status, int suppressed)
{
    char *subject = NULL, *message = NULL, *details = NULL, count[16];
    PGresult *res = NULL;
    int rc = -1;

    if (describe(ev, suppressed, &subject, &message) < 0 || (details = details_json(ev)) == NULL) {
        log_warn("out of memory making an alert", NULL);
        goto out;
    }
    snprintf(count, sizeof(count), "%d", suppressed);
    res = db_query(db, SQL_ADD_ALERT,
                   DB_PARAMS(ev->department_id, ev->rule_id, ev->channel_id, ev->job_id,
                             ev->exec_id, ev->kind, status, count, subject, message, details));
    if (res == NULL)
        goto out;
    rc = PQntuples(res) == 1;
    if (rc == 1 && strcmp(status, "suppressed") == 0)
        log_debug("alert suppressed", "alert=%s event=%s rule=%s job=%s execution=%s",
                  PQgetvalue(res, 0, 0), ev->kind, ev->rule_id, ev->job,
                  ev->exec_id != NULL ? ev->exec_id : "-");
    else if (rc == 1)
        log_info("alert queued", "alert=%s event=%s rule=%s job=%s execution=%s",
                 PQgetvalue(res, 0, 0), ev->kind, ev->rule_id, ev->job,
                 ev->exec_id != NULL ? ev->exec_id : "-");
out:
    PQclear(res);
    free(subject);
    free(message);
    free(details);
    return rc;
}

/* A bad event: alert it, or suppress it within the rule's repeat
 * interval, and open (or keep open) the incident. */
static int
bad_event(struct db *db, const struct event *ev)
{
    char repeat[24];
    PGresult *res;
    int held = 0, suppressed = 0, rc;
    int no_success = strcmp(ev->kind, "no_success") == 0;

    snprintf(repeat, sizeof(repeat), "%lld", (long long)ev->repeat_s);
    if ((res = db_query(db, SQL_STATE, DB_PARAMS(ev->rule_id, ev->job_id, repeat))) == NULL)
        return -1;
    if (PQntuples(res) == 1) {
        held = db_get_bool(res, 0, 0);
        suppressed = (int)db_get_int64(res, 0, 1, 0);
    }
    PQclear(res);
    if ((rc = add_alert(db, ev, held ? "suppressed" : "pending", held ? 0 : suppressed)) <= 0)
        return rc;
    return db_exec(db, SQL_OPEN,
                   DB_PARAMS(ev->rule_id, ev->job_id, ev->finished_raw, held ? "t" : "f",
                             no_success ? "t" : "f"));
}

/* A success after an alert: the recovery message, and the incident ends. */
static int
recovered(struct db *db, const struct event *ev)
{
    if (ev->recovery && add_alert(db, ev, "pending", ev->suppressed) < 0)
        return -1;
    return db_exec(db, SQL_CLOSE, DB_PARAMS(ev->rule_id, ev->job_id));
}

/* Run one event query and handle each row; -1 on a database error. */
static int
each_event(struct db *db, const char *sql, const char *kind, int (*handle)(struct db *,
                                                                           const struct event *),
           int *rows, char **last_finished)
{
    char limit[16];
    PGresult *res;
    struct event ev;
    int n, rc = 0;

    snprintf(limit, sizeof(limit), "%d", EVENTS_PER_ROUND);
    if ((res = db_query(db, sql, DB_PARAMS(limit))) == NULL)
        return -1;
    n = PQntuples(res);
    for (int i = 0; i < n && rc == 0; i++) {
        event_from_row(res, i, kind, &ev);
        if (handle(db, &ev) < 0)
            rc = -1;
    }
    if (rows != NULL)
        *rows = n;
    if (rc == 0 && last_finished != NULL && n > 0) {
        event_from_row(res, n - 1, kind, &ev);
        *last_finished = ev.finished_raw != NULL ? strdup(ev.finished_raw) : NULL;
    }
    PQclear(res);
    return rc;
}

static int
detect_in_tx(struct db *db, void *arg)
{
    struct alerter *a = arg;
    char *last = NULL;
    int rows = 0, rc = -1;

    if (!a->holding) /* BEGIN reconnected: this session holds no lock */
        return -1;
    if (each_event(db, SQL_BAD_RUNS, NULL, bad_event, &rows, &last) < 0)
        goto out;
    /* A full batch: the rest of the runs are read next round, from the
     * last one read (the overlap reads it again, writing nothing). */
    if (!a->holding ||
        db_exec(db, SQL_MOVE_ON, DB_PARAMS(rows == EVENTS_PER_ROUND ? last : NULL)) < 0)
        goto out;
    if (each_event(db, SQL_RECOVERIES, "recovered", recovered, NULL, NULL) < 0 ||
        each_event(db, SQL_NO_SUCCESS, "no_success", bad_event, NULL, NULL) < 0)
        goto out;
    rc = a->holding ? 0 : -1; /* a reconnect on the way lost the lock */
out:
    free(last);
    return rc;
}

/* --- delivery --- */

static json_t *
document_of(const PGresult *res, int row)
{
    json_t *doc = json_loads(PQgetvalue(res, row, 4), 0, NULL);

    if (doc == NULL || !json_is_object(doc)) {
        json_decref(doc);
        doc = json_object();
    }
    if (doc == NULL)
        return NULL;
    json_object_set_new(doc, "alert_id", json_integer(db_get_int64(res, row, 0, 0)));
    json_object_set_new(doc, "event", json_string(PQgetvalue(res, row, 1)));
    json_object_set_new(doc, "subject", json_string(PQgetvalue(res, row, 2)));
    json_object_set_new(doc, "text", json_string(PQgetvalue(res, row, 3)));
    json_object_set_new(doc, "suppressed", json_integer(db_get_int64(res, row, 5, 0)));
    json_object_set_new(doc, "created_at", json_string(PQgetvalue(res, row, 6)));
    json_object_set_new(doc, "rule_id", PQgetisnull(res, row, 7)
                                            ? json_null()
                                            : json_integer(db_get_int64(res, row, 7, 0)));
    json_object_set_new(doc, "channel", PQgetisnull(res, row, 10)
                                            ? json_null()
                                            : json_string(PQgetvalue(res, row, 10)));
    return doc;
}

/* An earlier row of the batch for the same channel and job: this one waits
 * for the next round, so that a failure and its recovery arrive in order. */
static int
queued_behind(const PGresult *res, int row)
{
    for (int i = 0; i < row; i++) {
        if (strcmp(PQgetvalue(res, i, 9), PQgetvalue(res, row, 9)) == 0 &&
            strcmp(PQgetvalue(res, i, 8), PQgetvalue(res, row, 8)) == 0)
            return 1;
    }
    return 0;
}

static int
record_outcome(struct alerter *a, const char *id, const char *status, const char *error)
{
    return db_exec(a->db, SQL_DONE, DB_PARAMS(id, status, error, a->instance_id));
}

static int
deliver(struct alerter *a)
{
    struct alert_msg *msgs = NULL;
    json_t **docs = NULL;
    const char **ids = NULL;
    char limit[16];
    PGresult *res;
    int n = 0, nmsg = 0, rc = -1;

    snprintf(limit, sizeof(limit), "%d", SENDS_PER_ROUND);
    if ((res = db_query(a->db, SQL_PENDING, DB_PARAMS(limit))) == NULL)
        return -1;
    if (!a->holding) /* the query reconnected: another instance may send these */
        goto out;
    if ((n = PQntuples(res)) == 0) {
        rc = 0;
        goto out;
    }
    msgs = calloc((size_t)n, sizeof(*msgs));
    docs = calloc((size_t)n, sizeof(*docs));
    ids = calloc((size_t)n, sizeof(*ids));
    if (msgs == NULL || docs == NULL || ids == NULL)
        goto out;
    for (int i = 0; i < n; i++) {
        const char *id = PQgetvalue(res, i, 0);

        if (PQgetisnull(res, i, 9)) {
            if (record_outcome(a, id, "failed", "the channel was deleted") < 0)
                goto out;
            continue;
        }
        if (queued_behind(res, i))
            continue;
        if ((docs[nmsg] = document_of(res, i)) == NULL)
            goto out;
        ids[nmsg] = id;
        msgs[nmsg] = (struct alert_msg){
            .id = db_get_int64(res, i, 0, 0),
            .kind = PQgetvalue(res, i, 11),
            .url = text_or_null(res, i, 12),
            .template_ = text_or_null(res, i, 13),
            .email_to = text_or_null(res, i, 14),
            .email_from = text_or_null(res, i, 15),
            .subject = PQgetvalue(res, i, 2),
            .message = PQgetvalue(res, i, 3),
            .document = docs[nmsg],
        };
        nmsg++;
    }
    alert_send(a->sender, msgs, nmsg);
    for (int i = 0; i < nmsg; i++) {
        struct alert_msg *m = &msgs[i];

        if (m->interrupted)
            continue; /* stays pending: stopping */
        if (m->ok)
            log_info("alert sent", "alert=%s kind=%s", ids[i], m->kind);
        else
            log_warn("alert not sent", "alert=%s kind=%s error=%s", ids[i], m->kind, m->error);
        if (record_outcome(a, ids[i], m->ok ? "sent" : "failed", m->ok ? NULL : m->error) < 0)
            goto out;
    }
    rc = 0;
out:
    for (int i = 0; docs != NULL && i < n; i++)
        json_decref(docs[i]);
    free(docs);
    free(ids);
    free(msgs);
    PQclear(res);
    return rc;
}

/* --- the thread --- */

static int
on_connect(struct db *db, void *arg)
{
    struct alerter *a = arg;

    (void)db;
    a->holding = 0; /* a new session holds no lock */
    return 0;
}

static int
stopping(struct alerter *a)
{
    return atomic_load(&a->stop);
}

enum lock_outcome { LOCK_ERROR = -1, LOCK_BUSY, LOCK_HELD, LOCK_NO_SCHEMA };

/* Try for the lock (once the alerts tables exist). */
static enum lock_outcome
take_lock(struct alerter *a)
{
    PGresult *res;
    int won;

    if (!a->schema_ok) {
        if ((res = db_query(a->db, SQL_SCHEMA, DB_NO_PARAMS)) == NULL)
            return LOCK_ERROR;
        a->schema_ok = db_get_bool(res, 0, 0);
        PQclear(res);
    }
    if (!a->schema_ok) {
        if (!a->schema_said)
            log_info("alerts wait for the schema (tablecron migrate applies 0005_alerts.sql)",
                     NULL);
        a->schema_said = 1;
        return LOCK_NO_SCHEMA;
    }
    if ((res = db_query(a->db, SQL_TRY_LOCK, DB_NO_PARAMS)) == NULL)
        return LOCK_ERROR;
    won = db_get_bool(res, 0, 0);
    PQclear(res);
    if (!won)
        return LOCK_BUSY;
    a->holding = 1;
    if (db_exec(a->db, SQL_HOLDER, DB_PARAMS(a->instance_id)) < 0)
        return LOCK_ERROR;
    log_info("this instance sends the alerts", "instance=%s", a->instance_id);
    return LOCK_HELD;
}

/* One round; the milliseconds to wait before the next. */
static int64_t
round_once(struct alerter *a)
{
    PGresult *res;
    int quiet;

    if (!a->holding) {
        switch (take_lock(a)) {
        case LOCK_ERROR: return DB_RETRY_MS;
        case LOCK_BUSY: return LOCK_RETRY_MS;
        case LOCK_NO_SCHEMA: return SCHEMA_RETRY_MS;
        case LOCK_HELD: break;
        }
    }
    if ((res = db_query(a->db, SQL_QUIET, DB_NO_PARAMS)) == NULL)
        return a->holding ? ROUND_MS : DB_RETRY_MS;
    quiet = strcmp(PQcmdTuples(res), "1") == 0;
    PQclear(res);
    if (quiet)
        return QUIET_MS;
    if (db_transaction(a->db, detect_in_tx, a) < 0 || stopping(a) || deliver(a) < 0)
        return a->holding ? ROUND_MS : DB_RETRY_MS;
    return ROUND_MS;
}

static void *
run(void *arg)
{
    struct alerter *a = arg;
    int64_t next = monotonic_ms();

    while (!stopping(a)) {
        int64_t now = monotonic_ms();
        struct pollfd p = { .fd = a->wake[0], .events = POLLIN };

        if (now >= next) {
            next = monotonic_ms() + round_once(a);
            continue;
        }
        if (poll(&p, 1, (int)(next - now)) < 0 && errno != EINTR)
            break;
    }
    if (a->holding && db_is_connected(a->db)) {
        if (db_exec(a->db, SQL_RELEASED, DB_PARAMS(a->instance_id)) < 0 ||
            db_exec(a->db, SQL_UNLOCK, DB_NO_PARAMS) < 0)
            log_warn("could not hand the alerts over (the lock ends with the session)", NULL);
    }
    return NULL;
}

struct alerter *
alerter_start(const struct alerter_opts *opts)
{
    struct alerter *a;
    int rc;

    errno = 0;
    if ((a = calloc(1, sizeof(*a))) == NULL)
        goto fail;
    a->wake[0] = a->wake[1] = -1;
    /* Here, in the starting thread: libcurl's global set-up is not safe
     * to race with other threads (counted: the scheduler's net.c does it
     * too, and each cleanup undoes one). */
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        free(a);
        a = NULL;
        goto fail;
    }
    a->curl_ready = 1;
    if ((a->instance_id = strdup(opts->instance_id)) == NULL ||
        (a->db = db_new(opts->db)) == NULL ||
        (a->sender = alert_sender_new(opts->sendmail_path)) == NULL ||
        pipe2(a->wake, O_CLOEXEC | O_NONBLOCK) < 0)
        goto fail;
    db_on_connect(a->db, on_connect, a);
    if ((rc = pthread_create(&a->thread, NULL, run, a)) != 0) {
        errno = rc;
        goto fail;
    }
    return a;
fail:
    log_error("cannot start the alerts thread; no alerts will be sent from this instance",
              "error=%s", errno != 0 ? strerror(errno) : "out of memory");
    if (a != NULL) {
        if (a->wake[0] >= 0)
            close(a->wake[0]);
        if (a->wake[1] >= 0)
            close(a->wake[1]);
        alert_sender_free(a->sender);
        db_free(a->db);
        free(a->instance_id);
        if (a->curl_ready)
            curl_global_cleanup();
        free(a);
    }
    return NULL;
}

void
alerter_stop(struct alerter *a)
{
    ssize_t ignored;

    if (a == NULL)
        return;
    atomic_store(&a->stop, 1);
    alert_sender_interrupt(a->sender);
    ignored = write(a->wake[1], "x", 1);
    (void)ignored;
    pthread_join(a->thread, NULL);
    close(a->wake[0]);
    close(a->wake[1]);
    alert_sender_free(a->sender);
    db_free(a->db);
    free(a->instance_id);
    curl_global_cleanup();
    free(a);
}
