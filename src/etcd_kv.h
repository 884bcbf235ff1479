/* etcd_kv.h - etcd's v3 JSON gateway over libcurl: read a prefix, apply
 * puts and deletes in transactions.
 *
 * The gateway (POST /v3/kv/range, /v3/kv/txn, /v3/auth/authenticate)
 * speaks JSON with keys and values in base64, so no gRPC or protobuf
 * library is needed.  Calls block (libcurl's easy interface, with short
 * timeouts): they are made for a thread of their own, the etcd mirror's,
 * never for the scheduler's loop or an API thread.
 *
 * Several endpoints may be given: a request goes to the one that answered
 * last and moves on to the next when an endpoint cannot be reached or says
 * it cannot serve (5xx, such as "no leader").  With a user name, the
 * gateway's token (/v3/auth/authenticate) is fetched when first needed and
 * again when etcd says it expired.
 */
#ifndef TC_ETCD_KV_H
#define TC_ETCD_KV_H

#include <stdatomic.h>
#include <stddef.h>

#include "common.h"

enum etcd_status {
    ETCD_OK = 0,
    ETCD_UNAVAILABLE = -1, /* no endpoint answered usefully: try again later */
    ETCD_REJECTED = -2,    /* etcd answered and refused this request (too large, ...) */
    ETCD_DENIED = -3,      /* etcd refused access (credentials, permissions): every
                            * request would fail the same way until someone fixes it */
};

/* A key or value: bytes (etcd's keys and values are byte strings), with a
 * NUL after the last one so that text can be used as a C string. */
struct etcd_bytes {
    char *data; /* owned */
    size_t len;
};

struct etcd_pair {
    struct etcd_bytes key, value;
};

/* One operation of a transaction; value NULL deletes the key. */
struct etcd_op {
    const char *key; /* borrowed */
    size_t key_len;
    const char *value; /* borrowed; NULL: delete */
    size_t value_len;
};

struct etcd_kv; /* opaque */

/*
 * endpoints: comma-separated base URLs (already checked by config.c);
 * username/password: "" or NULL for none (copied; the password is wiped
 * from memory by etcd_kv_free).  A request in progress gives up soon after
 * *cancel becomes non-zero (cancel may be NULL).  NULL when out of memory.
 */
struct etcd_kv *etcd_kv_new(const char *endpoints, const char *username, const char *password,
                            const atomic_int *cancel);
void etcd_kv_free(struct etcd_kv *kv); /* NULL is fine */

/*
 * Every key under prefix with its value, in etcd's order (ascending bytes),
 * read page by page.  On ETCD_OK *pairs (free with etcd_pairs_free) and
 * *npairs are set; otherwise they are NULL and 0.
 */
enum etcd_status etcd_kv_range_prefix(struct etcd_kv *kv, const char *prefix,
                                      struct etcd_pair **pairs, size_t *npairs) TC_MUST_CHECK;
void etcd_pairs_free(struct etcd_pair *pairs, size_t npairs);

/* The ops in one transaction: all applied, or none.  No two ops may name
 * the same key (etcd refuses that), and etcd caps the number of ops of one
 * transaction (128 by default). */
enum etcd_status etcd_kv_txn(struct etcd_kv *kv, const struct etcd_op *ops, size_t nops)
    TC_MUST_CHECK;

/* Why the last call failed, one line naming the endpoint ("" after success). */
const char *etcd_kv_error(const struct etcd_kv *kv);

/* The endpoints as given, trimmed, for log lines (they hold no secrets:
 * config.c refuses URLs with credentials). */
const char *etcd_kv_endpoints(const struct etcd_kv *kv);

#endif
