/* scheduler.h - the claim side of an instance: poll, claim, run, renew, release.
 *
 * The scheduler is driven by its owner's poll() loop (serve.c): it names the
 * fds it wants watched (the database socket for NOTIFY, the tasks' pipes),
 * and scheduler_tick() does whatever is due and says how long the loop may
 * sleep.  It never blocks except on short database statements.
 */
#ifndef TC_SCHEDULER_H
#define TC_SCHEDULER_H

#include <poll.h>
#include <stdint.h>

#include "common.h"
#include "db.h"

struct scheduler_opts {
    const char *instance_id;  /* copied */
    int64_t lease_us;
    int max_running;
    int batch;
    int64_t max_poll_us;
    int64_t grace_us;         /* on shutdown */
    int64_t misfire_grace_us;
    const char *callback_base; /* URL of an API for 202 tasks' reports, or NULL (copied) */
};


struct scheduler; /* opaque */

/* Installs an on-connect hook on db (LISTEN, session marker): call before
 * db_connect().  db is borrowed and must outlive the scheduler. */
struct scheduler *scheduler_new(const struct scheduler_opts *opts, struct db *db);
void scheduler_free(struct scheduler *s); /* kills what still runs */

int scheduler_pollfds(const struct scheduler *s, struct pollfd *fds, int max);

/* Do what is due; fds/nfds are what the last poll() returned for the fds
 * of scheduler_pollfds() (0 before the first poll).  Returns how many ms
 * the loop may wait (>= 0). */
int64_t scheduler_tick(struct scheduler *s, const struct pollfd *fds, int nfds);

/* Stop claiming; running tasks get the grace, then are killed. */
void scheduler_shutdown(struct scheduler *s);

/* After scheduler_shutdown(): 1 once nothing runs any more. */
int scheduler_idle(const struct scheduler *s);

int scheduler_running(const struct scheduler *s);

#endif
