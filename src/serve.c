/* serve.c - one tablecron instance: register, heartbeat, stop cleanly.
 *
 * Signal handlers only write the signal number to a self-pipe; the loop
 * below reads it between duties, so no work ever happens in a handler and a
 * signal can never be lost between a check and a sleep.
 *
 * Duties (each at its own period):
 *   heartbeat   every lease/3: instances.heartbeat_at = now()
 *   reload      on SIGHUP: re-read the config; a bad file keeps the old one
 *   stop        on SIGTERM/SIGINT: mark the instance stopped, exit 0
 */
#include <autoconfig.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "db.h"
#include "instance.h"
#include "log.h"
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

static int64_t
monotonic_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Re-read the config from the same sources.  A bad file keeps the running
 * configuration; settings that only matter at start-up (db, instance_id)
 * take effect at the next start.
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
            "usage: tablecron serve [--instance-id ID] [--lease DURATION] [config flags]\n"
            "\n"
            "Run a tablecron instance: it registers itself in the instances table,\n"
            "heartbeats every lease/3 and marks itself stopped on SIGTERM or SIGINT.\n"
            "SIGHUP re-reads the configuration file.\n");
}

int
serve_main(struct config *cfg, int argc, char **argv)
{
    struct db *db = NULL;
    struct instance_info info;
    char instance_id[300]; /* a copy: a reload replaces cfg's strings */
    int64_t period_ms = cfg->lease_us / 3000;
    int64_t next_heartbeat;
    int registered = 0;
    int rc = 1;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        }
        fprintf(stderr, "tablecron serve: unknown argument '%s'\n", argv[i]);
        usage(stderr);
        return 2;
    }

    if (cfg->instance_id[0] != '\0')
        snprintf(instance_id, sizeof(instance_id), "%s", cfg->instance_id);
    else
        instance_default_id(instance_id, sizeof(instance_id));
    memset(&info, 0, sizeof(info));
    info.id = instance_id;

    if (install_signals() < 0)
        goto out;
    if ((db = db_new(cfg->db)) == NULL)
        goto out;
    signal_db = db;
    log_info("starting", "instance=%s version=%s", info.id, PACKAGE_VERSION);
    if (db_connect(db, -1) < 0)
        goto stopped; /* interrupted by a signal while the database was away */

    next_heartbeat = monotonic_ms();
    for (;;) {
        struct pollfd pfd = { .fd = signal_pipe[0], .events = POLLIN };
        int64_t wait = next_heartbeat - monotonic_ms();
        unsigned char signo;
        int stop = 0;

        if (wait <= 0) {
            int ok;
            if (!registered)
                ok = registered = instance_register(db, &info) == 0;
            else if (!(ok = instance_heartbeat(db, &info) == 0))
                log_warn("heartbeat failed, will retry", "instance=%s", info.id);
            if (ok)
                log_debug("heartbeat", "instance=%s", info.id);
            /* Retry sooner while the database is away, but not in a spin. */
            next_heartbeat = monotonic_ms() + (ok || period_ms < 1000 ? period_ms : 1000);
            continue;
        }
        if (poll(&pfd, 1, (int)wait) < 0 && errno != EINTR) {
            log_error("poll failed", "error=%s", strerror(errno));
            goto out;
        }
        while (read(signal_pipe[0], &signo, 1) == 1) {
            if (signo == SIGHUP)
                reload_config(cfg);
            else
                stop = 1;
        }
        if (stop)
            break;
    }
stopped:
    log_info("stopping", "instance=%s", info.id);
    if (registered && instance_stop(db, info.id) < 0) {
        /* The connection may have died unnoticed since the last heartbeat:
         * marking stopped is idempotent, so one more try is safe. */
        if (db_last_error(db) != DB_ERR_CONNECTION || instance_stop(db, info.id) < 0)
            log_warn("could not mark the instance stopped", "instance=%s", info.id);
    }
    rc = 0;
out:
    signal_db = NULL;
    db_free(db);
    return rc;
}
