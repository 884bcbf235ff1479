/* lease.h - renew all of an instance's leases in one statement.
 *
 * A lease is a claim's right to run: lease_until in the job row.  The
 * scheduler renews every lease it holds every lease/3.  A row that no
 * longer matches (version or owner moved) was taken over: that claim is
 * lost, and its task must be killed without reporting a result (fencing).
 * The same statement reports kill requests, so they are seen at least once
 * per renewal even if a NOTIFY went missing.
 */
#ifndef TC_LEASE_H
#define TC_LEASE_H

#include <stdint.h>

#include "common.h"
#include "db.h"

struct lease_held {
    int64_t id;       /* job id */
    int64_t version;  /* version after our claim */
    int still_held;   /* out: 1 if renewed */
    int kill_wanted;  /* out: 1 if kill_requested_at is set */
};

/* Renew all n leases (n may be 0); fills still_held and kill_wanted. */
int lease_renew_all(struct db *db, const char *me, int64_t lease_us, struct lease_held *held,
                    int n) TC_MUST_CHECK;

#endif
