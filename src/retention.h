/* retention.h - bounded run history: old executions deleted in small batches.
 *
 * Two limits, each 0 for none: executions that ended more than keep_days
 * ago, and executions beyond the newest keep_per_job of their job.  A
 * job's newest execution is never deleted for its age, so a yearly job
 * still shows its last run.  Running executions are never deleted.
 */
#ifndef TC_RETENTION_H
#define TC_RETENTION_H

#include <stdint.h>

#include "common.h"

struct db;
struct retention; /* opaque: the pruning thread of serve */

struct retention_limits {
    int keep_days;    /* 0 = no age limit */
    int keep_per_job; /* 0 = no count limit */
};

struct retention_counts {
    int64_t by_age;   /* executions deleted for their age */
    int64_t by_count; /* executions deleted beyond keep_per_job */
};

/*
 * One pass over the executions table, each batch of deletes its own short
 * transaction.  Only one pass runs at a time in the whole cluster: with
 * wait 0 it returns 1 at once if another holds the lock, with wait 1 it
 * waits for it.  0 done (counts filled), 1 another pass is running, -1
 * database error (what was deleted before it stays deleted).
 */
int retention_prune(struct db *db, const struct retention_limits *limits, int wait,
                    struct retention_counts *counts) TC_MUST_CHECK;

/*
 * A thread with its own connection to conninfo that prunes every
 * interval_us (first shortly after start).  NULL if nothing is to be
 * pruned (both limits 0) or the thread could not start (err says why).
 */
struct retention *retention_start(const char *conninfo, const struct retention_limits *limits,
                                  int64_t interval_us, char *err, size_t err_size);

/* Stop and join the thread, ending a pass between two batches. NULL is fine. */
void retention_stop(struct retention *r);

#endif
