/* net.h - libcurl transfers driven by the scheduler's own poll() loop.
 *
 * HTTP and gRPC tasks do not get a thread each: all their transfers live
 * in one libcurl multi handle, whose sockets join the loop's poll set next
 * to the shell tasks' pipes.  Connections to the same host are reused from
 * the multi handle's cache, and HTTP/2 streams share one connection.
 *
 * The loop's side:
 *
 *     n += net_pollfds(net, fds + n, max - n);    ... poll() ...
 *     net_on_events(net, fds, n, now_ms);          then check transfers' done
 *     wake no later than net_next_deadline(net)    (libcurl's own timers)
 *
 * A transfer's owner (exec_http.c, exec_grpc.c) fills in the easy handle,
 * starts it with net_start() and reads `done` and `result` after each round
 * of net_on_events().
 */
#ifndef TC_NET_H
#define TC_NET_H

#include <curl/curl.h>
#include <poll.h>
#include <stddef.h>
#include <stdint.h>

#include "common.h"

struct net_transfer {
    CURL *easy;      /* owned by the transfer's owner */
    int done;        /* set when libcurl finished it or it was aborted */
    CURLcode result; /* valid once done */
    int started;     /* private to net.c: in the multi handle */
};

struct net; /* opaque */

/* NULL when libcurl cannot be set up. */
struct net *net_new(void);
/* Transfers still running must have been aborted first. */
void net_free(struct net *net);

/* Add the transfer to the loop; 0 or -1 (xfer->result says why). */
int net_start(struct net *net, struct net_transfer *xfer) TC_MUST_CHECK;

/* Stop it at once (connection closed if it was mid-transfer); done gets
 * set with CURLE_ABORTED_BY_CALLBACK unless it had already finished.
 * Never call from inside a libcurl callback. */
void net_abort(struct net *net, struct net_transfer *xfer);

/* The sockets libcurl wants watched. */
int net_pollfds(const struct net *net, struct pollfd *fds, int max);

/* After poll(): act on the ready sockets among fds (others are ignored)
 * and on expired timers, then mark finished transfers done. */
void net_on_events(struct net *net, const struct pollfd *fds, int nfds, int64_t now_ms);

/* Monotonic ms of libcurl's next timer (INT64_MAX if none). */
int64_t net_next_deadline(const struct net *net);

/*
 * A new easy handle set up the way every task transfer needs: the URL,
 * http/https only (redirects too), no signals, TLS verification on unless
 * tls_verify is 0, ca_file (NULL: the system's CAs), libcurl's error text
 * into errbuf (CURL_ERROR_SIZE bytes, owned by the caller).  NULL when out
 * of memory or libcurl refuses an option.
 */
CURL *net_easy_new(const char *url, int tls_verify, const char *ca_file, char *errbuf);

/* Append one "Name: value" line to a header list; -1 when out of memory. */
int net_header_add(struct curl_slist **list, const char *line) TC_MUST_CHECK;

/* Why a transfer failed, in words an operator can act on: "could not
 * connect: ...", "TLS error: ...", "could not resolve host: ...". */
void net_describe_error(CURLcode code, const char *errbuf, char *buf, size_t size);

/* Transfers in flight. */
int net_running(const struct net *net);

#endif
