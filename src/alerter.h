/* alerter.h - failure alerts, in a thread of `tablecron serve`.
 *
 * Every instance starts an alerter; the one whose database session holds
 * the advisory lock tablecron.alerts does the work, the others only try
 * for the lock now and then, and one of them takes over when the holder's
 * session ends.  The holder reads the runs that ended from executions,
 * matches them against alert_rules, writes alerts rows and sends them
 * (alert_send.c).  It has its own database connection and thread: a slow
 * webhook or sendmail holds up alerts, never the scheduler or the API.
 * Tables: migrations/0005_alerts.sql.
 */
#ifndef TC_ALERTER_H
#define TC_ALERTER_H

struct alerter_opts {
    const char *db;            /* libpq conninfo; copied */
    const char *instance_id;   /* this instance, recorded on what it sends; copied */
    const char *sendmail_path; /* the email channels' sendmail; copied */
};

struct alerter; /* opaque */

/* Starts the thread; NULL (logged) when it cannot. */
struct alerter *alerter_start(const struct alerter_opts *opts);

/* Stops the thread (a send in progress is cut short and stays pending for
 * the next holder), releases the lock, joins.  NULL is fine. */
void alerter_stop(struct alerter *a);

#endif
