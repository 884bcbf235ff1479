/* instance.h - this process's row in `instances`: service discovery.
 *
 * Every `tablecron serve` registers itself, heartbeats at lease/3 and marks
 * itself stopped on a clean exit.  Rows not heard from for a few leases are
 * shown as dead by the views and the pages.
 */
#ifndef TC_INSTANCE_H
#define TC_INSTANCE_H

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

/* "hostname:pid" into buf. */
void instance_default_id(char *buf, size_t size);

#endif
