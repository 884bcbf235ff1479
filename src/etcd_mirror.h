/* etcd_mirror.h - the optional one-way mirror of job definitions to etcd.
 *
 * When etcd_endpoints is set, every `tablecron serve` starts a mirror
 * thread; the one that holds a PostgreSQL advisory lock writes each job's
 * definition to etcd under <prefix><department>/<name> and removes the
 * keys of jobs that no longer exist, the others stand by to take over.
 * etcd is never read back into the database, and its being down or slow
 * only delays the mirror: the thread has its own database connection and
 * shares nothing with the scheduler or the API.
 */
#ifndef TC_ETCD_MIRROR_H
#define TC_ETCD_MIRROR_H

#include <stdint.h>

struct etcd_mirror_opts {
    const char *db;         /* libpq conninfo; copied */
    const char *endpoints;  /* comma-separated URLs, checked by config.c; copied */
    const char *prefix;     /* key prefix, starts with '/'; copied */
    const char *username;   /* "" = no etcd authentication; copied */
    const char *password;   /* copied, wiped when the mirror stops */
    int64_t reconcile_us;   /* period of the full comparison */
};

struct etcd_mirror; /* opaque */

/* Start the thread.  NULL (logged) if it cannot be started. */
struct etcd_mirror *etcd_mirror_start(const struct etcd_mirror_opts *opts);

/* Stop the thread and wait for it: an etcd request in flight is cut
 * short, the database connection (and with it the lock) is closed.
 * NULL is fine. */
void etcd_mirror_stop(struct etcd_mirror *m);

#endif
