/* serve.c - one tablecron instance: register, heartbeat, stop cleanly.
 *
 * Signal handlers only write the signal number to a self-pipe; the loop
 * below reads it between duties, so no work ever happens in a handler and a
 * signal can never be lost between a check and a sleep.
 *
 * Duties (each at its own period):
 *   heartbeat   every lease/3: instances.heartbeat_at = now()
 *   scheduler   whenever scheduler_tick() asks (see scheduler.c)
 *   reload      on SIGHUP: re-read the config; a bad file keeps the old one
 *   etcd        with etcd_endpoints set, a thread of its own (etcd_mirror.c)
 *               mirrors the jobs to etcd in whichever instance holds its
 *               lock, API-only and worker-only instances alike
 *   alerts      a thread of its own (alerter.c) that alerts on failed runs
 *               in whichever instance holds its lock
 *   stop        on SIGTERM/SIGINT: stop claiming, let tasks finish (grace),
 *               release their jobs, mark the instance stopped, exit 0;
 *               a second signal exits at once
 */
#include <autoconfig.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "alerter.h"
#include "api.h"
#include "clock.h"
#include "db.h"
#include "etcd_mirror.h"
#include "exec.h"
#include "instance.h"
#include "log.h"
#include "retention.h"
#include "scheduler.h"
#include "serve.h"

static int signal_pipe[2] = { -1, -1 };
static struct db *signal_db; /* borrowed: lets a signal end a connect loop */

static void
on_signal(int signo)
{
    int saved = errno;
    unsigned char byte = (unsigned char)signo;
    ssize_t ignored = write(signal_pipe[1], &byte, 1);

    (void)ignored;
    if (signal_db != NULL && signo != SIGHUP)
        db_stop_retrying(signal_db);
    errno = saved;
}

static int
install_signals(void)
{
    struct sigaction sa;

    if (pipe2(signal_pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
        log_error("cannot create signal pipe", "error=%s", strerror(errno));
        return -1;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
    return 0;
}

/* Each HTTP or gRPC task in flight holds a socket: the default soft limit
 * of 1024 fds would cap max_running below what a host can carry.  Raise it
 * towards the hard limit, but not so far that a fallback close() loop over
 * every possible fd becomes slow. */
static void
raise_fd_limit(void)
{
    struct rlimit rl;
    rlim_t want = 65536;

    if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= want)
        return;
    rl.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
    if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
        log_warn("could not raise the open files limit", "error=%s", strerror(errno));
}

/*
 * Re-read the config from the same sources.  A bad file keeps the running
 * configuration.  Only log_level applies at once: the scheduler and the
 * API copied their settings when they started, so the others take effect
 * at the next start.
 */
static void
reload_config(struct config *cfg)
{
    struct config_error err;

    if (config_reload(cfg, &err) < 0) {
        log_error("reload failed, keeping the running configuration", "error=%s", err.msg);
        return;
    }
    log_set_level((enum log_level)cfg->log_level);
    log_info("configuration reloaded", "file=%s log_level=%s",
             cfg->config_file != NULL ? cfg->config_file : "(none)",
             log_level_name((enum log_level)cfg->log_level));
}

static void
usage(FILE *out)
{
    fprintf(out,
            "usage: tablecron serve [--no-scheduler] [--no-api] [--listen HOST:PORT]\n"
            "                       [--instance-id ID] [--lease DURATION] [--max-running N]\n"
            "                       [--batch N] [--max-poll DURATION] [--grace DURATION]\n"
            "                       [config flags]\n"
            "\n"
            "Run a tablecron instance: it registers itself in the instances table and\n"
            "heartbeats every lease/3; its scheduler claims due jobs, runs them and\n"
            "records every run in the executions table; its HTTP server answers the\n"
            "JSON API under /api/v1, /healthz and /readyz on the listen address.\n"
            "  --no-scheduler   do not claim or run jobs (an API-only instance)\n"
            "  --no-api         serve no HTTP (a worker-only instance)\n"
            "With etcd_endpoints set, one instance at a time (of any kind) mirrors the\n"
            "job definitions to etcd.\n"
            "SIGTERM/SIGINT: stop claiming, let running tasks finish for the grace period,\n"
            "then kill them and release their jobs.  SIGHUP re-reads the configuration:\n"
            "log_level applies at once, the other settings at the next start.\n");
}

static struct scheduler *
make_scheduler(const struct config *cfg, const char *instance_id, const char *callback_base,
               struct db *db)
{
    struct scheduler_opts opts;

    opts.instance_id = instance_id;
    opts.lease_us = cfg->lease_us;
    opts.max_running = cfg->max_running;
    opts.batch = cfg->batch;
    opts.max_poll_us = cfg->max_poll_us;
    opts.grace_us = cfg->grace_us;
    opts.misfire_grace_us = cfg->misfire_grace_us;
    opts.callback_base = callback_base;
    return scheduler_new(&opts, db);
}

/* The etcd mirror's thread, when etcd_endpoints is set; NULL if it is not
 * or the thread could not start (logged). */
static struct etcd_mirror *
start_mirror(const struct config *cfg)
{
    struct etcd_mirror_opts opts;

    opts.db = cfg->db;
    opts.endpoints = cfg->etcd_endpoints;
    opts.prefix = cfg->etcd_prefix;
    opts.username = cfg->etcd_username;
    opts.password = cfg->etcd_password;
    opts.reconcile_us = cfg->etcd_reconcile_us;
    return etcd_mirror_start(&opts);
}

/* The API on cfg->listen; its URL for the instances table into url. */
static struct api *
start_api(const struct config *cfg, char *url, size_t size)
{
    struct api_opts opts;
    struct api *api;
    char err[300];

    memset(&opts, 0, sizeof(opts));
    opts.listen = cfg->listen;
    opts.www_dir = cfg->www_dir;
    opts.threads = cfg->http_threads;
    opts.max_body = (size_t)cfg->max_body;
    opts.db = cfg->db;
    opts.settings.session_ttl_s = cfg->session_ttl_us / 1000000;
    opts.settings.cookie_secure = cfg->cookie_secure;
    opts.settings.lease_us = cfg->lease_us;
    if ((api = api_start(&opts, err, sizeof(err))) == NULL) {
        log_error("cannot serve the API", "error=%s", err);
        return NULL;
    }
    if (cfg->api_url[0] != '\0') {
        snprintf(url, size, "%s", cfg->api_url);
    } else {
        /* The bound port, so that "host:0" (tests) shows the real one. */
        char host[256];
        const char *colon = strrchr(cfg->listen, ':');
        size_t hlen = colon != NULL ? (size_t)(colon - cfg->listen) : 0;

        if (hlen >= sizeof(host))
            hlen = sizeof(host) - 1;
        memcpy(host, cfg->listen, hlen);
        host[hlen] = '\0';
        snprintf(url, size, "http://%s:%d", hlen > 0 ? host : "localhost", api_port(api));
    }
    return api;
}

/* The alerts thread (every instance has one; the lock holder works). */
static struct alerter *
start_alerter(const struct config *cfg, const char *instance_id)
{
    struct alerter_opts opts;

    opts.db = cfg->db;
    opts.instance_id = instance_id;
    opts.sendmail_path = cfg->sendmail_path;
    return alerter_start(&opts);
}

/* The pruning of the run history (every instance has one; one at a time
 * prunes); NULL when both limits are 0 or it could not start (logged). */
static struct retention *
start_retention(const struct config *cfg)
{
    const struct retention_limits limits = { cfg->history_keep_days, cfg->history_keep_per_job };
    struct retention *r;
    char err[200];

    if ((r = retention_start(cfg->db, &limits, cfg->history_prune_us, err, sizeof(err))) == NULL &&
        err[0] != '\0')
        log_error("the run history will not be pruned", "error=%s", err);
    return r;
}

int
serve_main(struct config *cfg, int argc, char **argv)
{
    struct db *db = NULL;
    struct scheduler *sched = NULL;
    struct pollfd *pfd = NULL; /* owned: signal pipe, database, every task's fds */
    int max_pfd;
    struct instance_info info;
    char instance_id[300]; /* a copy: a reload replaces cfg's strings */
    int64_t period_ms = cfg->lease_us / 3000;
    int64_t next_heartbeat, give_up_ms = INT64_MAX;
    int registered = 0, no_scheduler = 0, no_api = 0, stopping = 0;
    struct api *api = NULL;
    struct alerter *alerter = NULL;
    struct etcd_mirror *mirror = NULL;
    struct retention *retention = NULL;
    char api_url[300];
    int nfds = 1; /* entries of pfd the last poll() filled in */
    int rc = 1;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(argv[i], "--no-scheduler") == 0) {
            no_scheduler = 1;
        } else if (strcmp(argv[i], "--no-api") == 0) {
            no_api = 1;
        } else {
            fprintf(stderr, "tablecron serve: unknown argument '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }

    if (cfg->instance_id[0] != '\0')
        snprintf(instance_id, sizeof(instance_id), "%s", cfg->instance_id);
    else
        instance_default_id(instance_id, sizeof(instance_id));
    memset(&info, 0, sizeof(info));
    info.id = instance_id;
    info.max_running = no_scheduler ? 0 : cfg->max_running;

    max_pfd = 2 + (no_scheduler ? 0 : cfg->max_running * EXEC_POLLFDS_MAX);
    if ((pfd = calloc((size_t)max_pfd, sizeof(*pfd))) == NULL)
        goto out;
    if (install_signals() < 0)
        goto out;
    raise_fd_limit();
    if ((db = db_new(cfg->db)) == NULL)
        goto out;
    if (!no_api && (api = start_api(cfg, api_url, sizeof(api_url))) == NULL)
        goto out;
    /* Long-running HTTP tasks report to this instance's API, or to api_url
     * when this one serves none (a worker behind API-only instances). */
    if (!no_scheduler &&
        (sched = make_scheduler(cfg, instance_id,
                                api != NULL ? api_url
                                            : (cfg->api_url[0] != '\0' ? cfg->api_url : NULL),
                                db)) == NULL)
        goto out;
    if (cfg->etcd_endpoints[0] != '\0' && (mirror = start_mirror(cfg)) == NULL)
        goto out;
    info.api_url = api != NULL ? api_url : NULL;
    signal_db = db;
    log_info("starting", "instance=%s version=%s scheduler=%s max_running=%d api=%s", info.id,
             PACKAGE_VERSION, sched != NULL ? "on" : "off", info.max_running,
             api != NULL ? api_url : "off");
    if (db_connect(db, -1) < 0)
        goto stopped; /* interrupted by a signal while the database was away */
    alerter = start_alerter(cfg, instance_id); /* NULL (logged): serve goes on without */
    retention = start_retention(cfg);           /* the same */

    next_heartbeat = monotonic_ms();
    for (;;) {
        int64_t now = monotonic_ms(), wait;
        unsigned char signo;

        if (now >= next_heartbeat) {
            int ok;
            info.running = sched != NULL ? scheduler_running(sched) : 0;
            if (!registered)
                ok = registered = instance_register(db, &info) == 0;
            else if (!(ok = instance_heartbeat(db, &info) == 0))
                log_warn("heartbeat failed, will retry", "instance=%s", info.id);
            if (ok)
                log_debug("heartbeat", "instance=%s running=%d", info.id, info.running);
            /* Retry sooner while the database is away, but not in a spin. */
            next_heartbeat = now + (ok || period_ms < 1000 ? period_ms : 1000);
        }
        wait = next_heartbeat - now;
        if (sched != NULL) {
            int64_t sched_wait = scheduler_tick(sched, pfd + 1, nfds - 1);
            if (sched_wait < wait)
                wait = sched_wait;
            if (stopping && scheduler_idle(sched))
                break;
            if (stopping && monotonic_ms() >= give_up_ms) {
                log_error("could not release every job in time; their leases will expire",
                          "running=%d", scheduler_running(sched));
                break;
            }
            nfds = 1 + scheduler_pollfds(sched, pfd + 1, max_pfd - 1);
        } else if (stopping) {
            break;
        }
        pfd[0].fd = signal_pipe[0];
        pfd[0].events = POLLIN;
        pfd[0].revents = 0;
        if (poll(pfd, (nfds_t)nfds, (int)(wait < 0 ? 0 : wait)) < 0 && errno != EINTR) {
            log_error("poll failed", "error=%s", strerror(errno));
            goto out;
        }
        while (read(signal_pipe[0], &signo, 1) == 1) {
            if (signo == SIGHUP) {
                reload_config(cfg);
            } else if (!stopping) {
                stopping = 1;
                if (sched != NULL)
                    scheduler_shutdown(sched);
                /* Past the grace and the kill, give up on releasing. */
                give_up_ms = monotonic_ms() + cfg->grace_us / 1000 + 15000;
            } else {
                log_warn("second stop signal: exiting now, running tasks are killed", NULL);
                goto stopped;
            }
        }
    }
stopped:
    log_info("stopping", "instance=%s", info.id);
    alerter_stop(alerter); /* a send in progress stays pending for another instance */
    alerter = NULL;
    retention_stop(retention); /* between two batches: the next pass goes on */
    retention = NULL;
    scheduler_free(sched); /* kills what still runs */
    sched = NULL;
    if (registered && instance_stop(db, info.id) < 0) {
        /* The connection may have died unnoticed since the last heartbeat:
         * marking stopped is idempotent, so one more try is safe. */
        if (db_last_error(db) != DB_ERR_CONNECTION || instance_stop(db, info.id) < 0)
            log_warn("could not mark the instance stopped", "instance=%s", info.id);
    }
    rc = 0;
out:
    alerter_stop(alerter);
    retention_stop(retention);
    etcd_mirror_stop(mirror);
    api_stop(api);
    signal_db = NULL;
    scheduler_free(sched);
    db_free(db);
    free(pfd);
    return rc;
}
