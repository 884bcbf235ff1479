/* net.c - one libcurl multi handle on the caller's poll() loop.
 *
 * libcurl tells us, through its socket callback, which sockets it wants
 * watched and for what; we keep that in `want`, indexed by fd number (fds
 * are small integers handed out lowest first, so the table stays small).
 * Its timer callback gives the one deadline it needs; we store it and act
 * on it in net_on_events().  Finished transfers come out of
 * curl_multi_info_read() and are marked done for their owners to collect.
 */
#include <autoconfig.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "net.h"

#define NET_IDLE_CONNECTIONS 64

struct net {
    CURLM *multi;     /* owned */
    short *want;      /* owned; per fd: POLLIN/POLLOUT wanted, 0 = not libcurl's */
    int want_size;    /* entries in want */
    int hi;           /* highest fd that may be in use + 1 */
    int64_t timer_ms; /* monotonic; INT64_MAX when libcurl needs no timer */
    int running;      /* transfers in the multi handle */
};

static int
on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
    struct net *net = userp;
    short events = 0;

    (void)easy;
    (void)socketp;
    if (fd < 0)
        return 0;
    if (fd >= net->want_size) {
        int size = net->want_size > 0 ? net->want_size : 64;
        short *grown;

        while (size <= fd)
            size *= 2;
        if ((grown = realloc(net->want, (size_t)size * sizeof(*grown))) == NULL)
            return -1; /* libcurl fails the transfer */
        memset(grown + net->want_size, 0, (size_t)(size - net->want_size) * sizeof(*grown));
        net->want = grown;
        net->want_size = size;
    }
    if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
        events |= POLLIN;
    if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
        events |= POLLOUT;
    net->want[fd] = events; /* CURL_POLL_REMOVE: 0 */
    if (events != 0 && fd >= net->hi)
        net->hi = fd + 1;
    while (net->hi > 0 && net->want[net->hi - 1] == 0)
        net->hi--;
    return 0;
}

static int
on_timer(CURLM *multi, long timeout_ms, void *userp)
{
    struct net *net = userp;

    (void)multi;
    net->timer_ms = timeout_ms < 0 ? INT64_MAX : monotonic_ms() + timeout_ms;
    return 0;
}

struct net *
net_new(void)
{
    struct net *net = NULL;

    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        log_error("libcurl could not be initialised", NULL);
        return NULL;
    }
    if ((net = calloc(1, sizeof(*net))) == NULL || (net->multi = curl_multi_init()) == NULL)
        goto fail;
    net->timer_ms = INT64_MAX;
    if (curl_multi_setopt(net->multi, CURLMOPT_SOCKETFUNCTION, on_socket) != CURLM_OK ||
        curl_multi_setopt(net->multi, CURLMOPT_SOCKETDATA, net) != CURLM_OK ||
        curl_multi_setopt(net->multi, CURLMOPT_TIMERFUNCTION, on_timer) != CURLM_OK ||
        curl_multi_setopt(net->multi, CURLMOPT_TIMERDATA, net) != CURLM_OK ||
        curl_multi_setopt(net->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX) != CURLM_OK ||
        /* Idle connections kept for reuse; beyond this the oldest close
         * (without a cap, a burst of 1,000 tasks keeps 1,000 sockets). */
        curl_multi_setopt(net->multi, CURLMOPT_MAXCONNECTS, (long)NET_IDLE_CONNECTIONS) != CURLM_OK)
        goto fail;
    return net;
fail:
    log_error("libcurl could not be set up", NULL);
    net_free(net);
    if (net == NULL)
        curl_global_cleanup();
    return NULL;
}

void
net_free(struct net *net)
{
    if (net == NULL)
        return;
    if (net->multi != NULL)
        curl_multi_cleanup(net->multi);
    free(net->want);
    free(net);
    curl_global_cleanup();
}

int
net_start(struct net *net, struct net_transfer *xfer)
{
    CURLMcode mc;

    xfer->done = 0;
    xfer->result = CURLE_OK;
    if (curl_easy_setopt(xfer->easy, CURLOPT_PRIVATE, xfer) != CURLE_OK) {
        xfer->result = CURLE_FAILED_INIT;
        return -1;
    }
    if ((mc = curl_multi_add_handle(net->multi, xfer->easy)) != CURLM_OK) {
        log_warn("libcurl refused a transfer", "error=%s", curl_multi_strerror(mc));
        xfer->result = mc == CURLM_OUT_OF_MEMORY ? CURLE_OUT_OF_MEMORY : CURLE_FAILED_INIT;
        return -1;
    }
    xfer->started = 1;
    net->running++;
    return 0;
}

static void
finish(struct net *net, struct net_transfer *xfer, CURLcode result)
{
    if (xfer->started) {
        curl_multi_remove_handle(net->multi, xfer->easy);
        xfer->started = 0;
        net->running--;
    }
    if (!xfer->done) {
        xfer->done = 1;
        xfer->result = result;
    }
}

void
net_abort(struct net *net, struct net_transfer *xfer)
{
    finish(net, xfer, CURLE_ABORTED_BY_CALLBACK);
}

int
net_pollfds(const struct net *net, struct pollfd *fds, int max)
{
    int n = 0;

    for (int fd = 0; fd < net->hi && n < max; fd++) {
        if (net->want[fd] == 0)
            continue;
        fds[n].fd = fd;
        fds[n].events = net->want[fd];
        fds[n].revents = 0;
        n++;
    }
    return n;
}

static void
collect_finished(struct net *net)
{
    CURLMsg *msg;
    int left;

    while ((msg = curl_multi_info_read(net->multi, &left)) != NULL) {
        struct net_transfer *xfer = NULL;

        if (msg->msg != CURLMSG_DONE)
            continue;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&xfer);
        if (xfer != NULL)
            finish(net, xfer, msg->data.result);
    }
}

void
net_on_events(struct net *net, const struct pollfd *fds, int nfds, int64_t now_ms)
{
    int still_running;

    if (net->running == 0)
        return;
    for (int i = 0; i < nfds; i++) {
        int fd = fds[i].fd, mask = 0;

        /* Not ours (a shell pipe, the database) or no longer wanted. */
        if (fds[i].revents == 0 || fd < 0 || fd >= net->hi || net->want[fd] == 0)
            continue;
        if (fds[i].revents & (POLLIN | POLLHUP))
            mask |= CURL_CSELECT_IN;
        if (fds[i].revents & POLLOUT)
            mask |= CURL_CSELECT_OUT;
        if (fds[i].revents & (POLLERR | POLLNVAL))
            mask |= CURL_CSELECT_ERR;
        curl_multi_socket_action(net->multi, fd, mask, &still_running);
    }
    if (now_ms >= net->timer_ms) {
        net->timer_ms = INT64_MAX; /* the callback sets the next one */
        curl_multi_socket_action(net->multi, CURL_SOCKET_TIMEOUT, 0, &still_running);
    }
    collect_finished(net);
}

int64_t
net_next_deadline(const struct net *net)
{
    return net->running > 0 ? net->timer_ms : INT64_MAX;
}

int
net_running(const struct net *net)
{
    return net->running;
}

CURL *
net_easy_new(const char *url, int tls_verify, const char *ca_file, char *errbuf)
{
    CURL *easy = curl_easy_init();

    if (easy == NULL)
        return NULL;
    errbuf[0] = '\0';
    if (curl_easy_setopt(easy, CURLOPT_URL, url) != CURLE_OK ||
        curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, errbuf) != CURLE_OK ||
        curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
        /* A task's URL never reads files or speaks other protocols, even
         * after a redirect. */
        curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
        curl_easy_setopt(easy, CURLOPT_REDIR_PROTOCOLS_STR, "http,https") != CURLE_OK ||
        curl_easy_setopt(easy, CURLOPT_USERAGENT, "tablecron/" PACKAGE_VERSION) != CURLE_OK ||
        curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, tls_verify ? 1L : 0L) != CURLE_OK ||
        curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, tls_verify ? 2L : 0L) != CURLE_OK ||
        (ca_file != NULL && curl_easy_setopt(easy, CURLOPT_CAINFO, ca_file) != CURLE_OK)) {
        curl_easy_cleanup(easy);
        return NULL;
    }
    return easy;
}

void
net_describe_error(CURLcode code, const char *errbuf, char *buf, size_t size)
{
    const char *what, *detail = errbuf != NULL && errbuf[0] != '\0' ? errbuf
                                                                    : curl_easy_strerror(code);

    switch (code) {
    case CURLE_COULDNT_CONNECT:
        what = "could not connect";
        break;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
        what = "could not resolve host";
        break;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_USE_SSL_FAILED:
        what = "TLS error";
        break;
    case CURLE_OPERATION_TIMEDOUT:
        what = "timed out";
        break;
    case CURLE_ABORTED_BY_CALLBACK:
        snprintf(buf, size, "transfer aborted");
        return;
    case CURLE_TOO_MANY_REDIRECTS:
        what = "too many redirects";
        break;
    case CURLE_UNSUPPORTED_PROTOCOL:
        what = "unsupported protocol";
        break;
    case CURLE_GOT_NOTHING:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
        what = "connection failed during the transfer";
        break;
    default:
        what = "transfer failed";
        break;
    }
    snprintf(buf, size, "%s: %s", what, detail);
}

int
net_header_add(struct curl_slist **list, const char *line)
{
    struct curl_slist *grown = curl_slist_append(*list, line);

    if (grown == NULL)
        return -1;
    *list = grown;
    return 0;
}
