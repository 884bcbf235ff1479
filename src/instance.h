/* instance.h - this process's row in `instances`: service discovery.
 *
 * Every `tablecron serve` registers itself, heartbeats at lease/3 and marks
 * itself stopped on a clean exit.  Rows not heard from for a few leases are
 * shown as dead by the views and the pages.
 */
#ifndef TC_INSTANCE_H
#define TC_INSTANCE_H

#include <libpq-fe.h>
#include <stdint.h>

#include "common.h"
#include "db.h"

struct instance_info {
    const char *id;      /* borrowed */
    const char *api_url; /* borrowed; NULL when the API is off */
    int max_running;
    int running;
};

/* Insert or take over the row for info->id (a restarted instance with the
 * same id gets a fresh started_at and pid). */
int instance_register(struct db *db, const struct instance_info *info) TC_MUST_CHECK;

/* heartbeat_at = now(), running = info->running. */
int instance_heartbeat(struct db *db, const struct instance_info *info) TC_MUST_CHECK;

/* stopped_at = now(), running = 0. */
int instance_stop(struct db *db, const char *id) TC_MUST_CHECK;

/* An instance not heard from for this many leases is dead: by then every
 * lease it held has expired and been taken over. */
#define INSTANCE_DEAD_AFTER_LEASES 3

/*
 * Every registered instance, by id: id, hostname, pid, version, started_at,
 * heartbeat_at (UTC), heartbeat_age_s, running, max_running, api_url,
 * stopped_at and state: 'stopped' (shut down cleanly), 'dead' (no
 * heartbeat for dead_after_us) or 'alive'.  NULL on a database error.
 */
PGresult *instance_list(struct db *db, int64_t dead_after_us) TC_MUST_CHECK;

/* "hostname:pid" into buf. */
void instance_default_id(char *buf, size_t size);

#endif
