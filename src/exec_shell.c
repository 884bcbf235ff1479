/* exec_shell.c - `/bin/sh -c COMMAND` in its own session, watched by pidfd.
 *
 * Glossary: the *shell* is the /bin/sh we fork and exec; its *group* is the
 * process group (and session) it leads, holding everything the command
 * started unless a process left on purpose; *output* is stdout and stderr,
 * which share one pipe so that their order is kept.
 *
 * Why a pidfd and not pipe EOF: `sleep 600 & echo started` ends at once,
 * but the background sleep keeps the pipe open for ten minutes.  The pidfd
 * becomes readable when the shell itself exits; we then drain the pipe and
 * stop reading.  Why not SIGCHLD or wait(-1): other parts of the process
 * own other children, so each of ours is reaped by its pid only.
 *
 * Start-up runs in two halves.  Before fork, everything that allocates or
 * may take a lock (argv, envp, pipes, /dev/null) is prepared, because once
 * the process has other threads the child may call async-signal-safe
 * functions only.  After fork, the child reports a failing step through a
 * close-on-exec pipe: EOF there means the exec worked, so shell_start() can
 * say precisely why a run could not begin.
 */
#include <autoconfig.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "exec_shell.h"
#include "tailbuf.h"

#define SHELL_PATH "/bin/sh"
#define READ_CHUNK 16384
/* Per call while running: then the loop gets a turn (the fd stays ready). */
#define READ_BUDGET ((size_t)256 * 1024)
/* After exit: a full pipe holds at most 1 MiB (fs.pipe-max-size default);
 * more can only come from background processes still writing. */
#define DRAIN_BUDGET ((size_t)1024 * 1024)

struct shell_proc {
    pid_t pid;              /* the shell; also its group and session id */
    int pidfd;              /* owned; -1 once reaped */
    int out_fd;             /* owned; read end of the output pipe, -1 once closed */
    int signalled;          /* shell_signal() was called while the shell ran */
    int finished;           /* reaped: the fields below are final */
    int exit_code;          /* -1 until finished, or if the status was lost */
    int term_signal;        /* 0 unless killed by a signal */
    int core_dumped;
    struct tailbuf *output; /* owned */
};

/* What the child needs, built before fork: the child must not allocate. */
struct shell_launch {
    char *argv[4];       /* borrowed strings */
    char **envp;         /* owned array of borrowed strings */
    const char *cwd;     /* borrowed; NULL = inherit */
    long max_fd;         /* for the last-resort close loop */
    int null_fd;         /* /dev/null, becomes stdin */
    int out_w;           /* write end of the output pipe, becomes stdout and stderr */
    int report_w;        /* write end of the report pipe; close-on-exec */
};

/* A step of the child that failed, sent to the parent over the report pipe. */
enum shell_step { SHELL_STEP_SESSION = 1, SHELL_STEP_STDIO, SHELL_STEP_CHDIR, SHELL_STEP_EXEC };

struct shell_report {
    int step; /* enum shell_step */
    int error; /* errno */
};

static void shell_set_error(struct shell_error *err, const char *fmt, ...) TC_PRINTF(2, 3);

static void
shell_set_error(struct shell_error *err, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
}

static void
close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

/*
 * Move fd to a number above 2 (keeping close-on-exec): if our own stdio was
 * closed, a new fd may be 0..2, and the child's dup2() onto 0..2 would then
 * clobber it or keep its close-on-exec flag.
 */
static int
fd_above_stdio(int fd)
{
    int high, saved;

    if (fd < 0 || fd > 2)
        return fd;
    high = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    saved = errno;
    close(fd);
    errno = saved;
    return high;
}

/* ---- environment ---------------------------------------------------- */

static size_t
env_name_len(const char *entry)
{
    return strcspn(entry, "=");
}

/* Does an entry of extra[from..] have the same name as `entry`? */
static int
env_overridden(const char *entry, const char *const *extra, size_t from)
{
    size_t len = env_name_len(entry);

    if (extra == NULL)
        return 0;
    for (size_t i = from; extra[i] != NULL; i++) {
        if (env_name_len(extra[i]) == len && strncmp(extra[i], entry, len) == 0)
            return 1;
    }
    return 0;
}

/*
 * environ minus the names extra replaces, then extra (the last of two
 * same-named extra entries wins).  The array is owned by the caller, the
 * strings are borrowed from environ and extra.
 */
static char **
env_build(const char *const *extra, struct shell_error *err)
{
    size_t n_env = 0, n_extra = 0, n = 0;
    char **envp;

    for (char **e = environ; e != NULL && *e != NULL; e++)
        n_env++;
    for (size_t i = 0; extra != NULL && extra[i] != NULL; i++) {
        const char *eq = strchr(extra[i], '=');

        if (eq == NULL || eq == extra[i]) {
            shell_set_error(err, "invalid environment entry '%.100s': expected KEY=VALUE",
                            extra[i]);
            return NULL;
        }
        n_extra++;
    }
    if ((envp = calloc(n_env + n_extra + 1, sizeof(*envp))) == NULL) {
        shell_set_error(err, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < n_env; i++) {
        if (!env_overridden(environ[i], extra, 0))
            envp[n++] = environ[i];
    }
    for (size_t i = 0; i < n_extra; i++) {
        if (!env_overridden(extra[i], extra, i + 1))
            envp[n++] = (char *)extra[i]; /* execve() does not write to it */
    }
    envp[n] = NULL;
    return envp;
}

/* ---- the child (async-signal-safe calls only) ------------------------- */

/* "123" -> 123; anything else (".", "..") -> -1. */
static int
child_parse_fd(const char *name)
{
    int fd = 0;

    if (*name == '\0')
        return -1;
    for (; *name != '\0'; name++) {
        if (*name < '0' || *name > '9' || fd > 100000000)
            return -1;
        fd = fd * 10 + (*name - '0');
    }
    return fd;
}

/*
 * Close every fd above 2 except `keep` (the report pipe, close-on-exec).
 * close_range() does it in one call; kernels before 5.9 lack it, so then
 * walk /proc/self/fd with getdents64 (opendir would allocate), and without
 * /proc close every number up to the fd limit.
 */
static void
child_close_fds(int keep, long max_fd)
{
    int dir;

    if ((keep == 3 || close_range(3, (unsigned int)keep - 1, 0) == 0)
        && close_range((unsigned int)keep + 1, ~0U, 0) == 0)
        return;
    if ((dir = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
        _Alignas(struct dirent64) char buf[2048];
        ssize_t n;

        while ((n = getdents64(dir, buf, sizeof(buf))) > 0) {
            for (ssize_t off = 0; off < n;) {
                struct dirent64 *d = (struct dirent64 *)(void *)(buf + off);
                int fd = child_parse_fd(d->d_name);

                if (fd > 2 && fd != keep && fd != dir)
                    close(fd);
                off += d->d_reclen;
            }
        }
        close(dir);
        if (n == 0)
            return;
    }
    for (long fd = 3; fd < max_fd; fd++) {
        if (fd != keep)
            close((int)fd);
    }
}

/* Set sig back to its default action. */
static void
child_default_signal(int sig)
{
    struct sigaction dfl;
    unsigned long kernel_dfl[8] = { 0 };

    memset(&dfl, 0, sizeof(dfl));
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    if (sigaction(sig, &dfl, NULL) == 0 || errno != EINVAL)
        return;
    /*
     * glibc refuses to touch its internal signals (32 and 33), yet a
     * parent started through posix_spawn (by make, say) has them ignored,
     * and an ignored signal stays ignored across exec.  Ask the kernel
     * directly: its struct with SIG_DFL, no flags and an empty mask is all
     * zero bits whatever its layout, and this buffer is larger than it.
     */
    (void)syscall(SYS_rt_sigaction, sig, kernel_dfl, NULL, (size_t)(NSIG - 1) / 8);
}

/*
 * Runs in the forked child with every signal blocked (see shell_start):
 * a handler inherited from the parent must never run here, it would act
 * on the parent's state (its self-pipe, say).
 */
TC_NORETURN static void
shell_child(const struct shell_launch *l)
{
    struct shell_report report = { 0, 0 };
    sigset_t none;
    ssize_t ignored;

    /* Back to defaults: the parent ignores SIGPIPE and may catch others. */
    for (int sig = 1; sig < NSIG; sig++) {
        if (sig != SIGKILL && sig != SIGSTOP)
            child_default_signal(sig);
    }
    if (setsid() < 0) {
        report.step = SHELL_STEP_SESSION;
        goto fail;
    }
    if (dup2(l->null_fd, STDIN_FILENO) < 0 || dup2(l->out_w, STDOUT_FILENO) < 0
        || dup2(l->out_w, STDERR_FILENO) < 0) {
        report.step = SHELL_STEP_STDIO;
        goto fail;
    }
    child_close_fds(l->report_w, l->max_fd);
    if (l->cwd != NULL && chdir(l->cwd) < 0) {
        report.step = SHELL_STEP_CHDIR;
        goto fail;
    }
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    execve(SHELL_PATH, l->argv, l->envp);
    report.step = SHELL_STEP_EXEC;
fail:
    report.error = errno;
    /* Eight bytes into an empty pipe: one atomic write. */
    ignored = write(l->report_w, &report, sizeof(report));
    (void)ignored;
    _exit(127);
}

/* ---- the parent -------------------------------------------------------- */

/* Wait for a child that can only be dead or dying. */
static void
shell_reap_blocking(pid_t pid)
{
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
        ;
}

/*
 * Read the report pipe until EOF (the exec worked: 0) or a report (the
 * child failed and exits: -1 with err filled).
 */
static int
shell_await_exec(int report_r, const struct shell_launch *l, struct shell_error *err)
{
    struct shell_report report;
    ssize_t n;

    do
        n = read(report_r, &report, sizeof(report));
    while (n < 0 && errno == EINTR);
    if (n == 0)
        return 0;
    if (n != (ssize_t)sizeof(report)) {
        shell_set_error(err, "lost track of the child process: %s",
                        n < 0 ? strerror(errno) : "short report");
        return -1;
    }
    switch (report.step) {
    case SHELL_STEP_SESSION:
        shell_set_error(err, "cannot start a new session: %s", strerror(report.error));
        break;
    case SHELL_STEP_STDIO:
        shell_set_error(err, "cannot redirect standard streams: %s", strerror(report.error));
        break;
    case SHELL_STEP_CHDIR:
        shell_set_error(err, "cannot change directory to '%.150s': %s", l->cwd,
                        strerror(report.error));
        break;
    default:
        shell_set_error(err, "cannot run " SHELL_PATH ": %s", strerror(report.error));
        break;
    }
    return -1;
}

struct shell_proc *
shell_start(const struct shell_spec *spec, struct shell_error *err)
{
    struct shell_launch l = { .null_fd = -1, .out_w = -1, .report_w = -1 };
    struct shell_proc *p = NULL, *started = NULL;
    struct shell_error scratch;
    int out_pipe[2], report_pipe[2];
    int out_r = -1, report_r = -1;
    sigset_t all, saved_mask;
    pid_t pid = -1;
    int saved;

    if (err == NULL)
        err = &scratch;
    err->msg[0] = '\0';
    if (spec == NULL || spec->command == NULL) {
        shell_set_error(err, "no command to run");
        goto out;
    }
    if ((l.envp = env_build(spec->env, err)) == NULL)
        goto out;
    l.argv[0] = (char *)"sh"; /* $0 in the command and in sh's messages */
    l.argv[1] = (char *)"-c";
    l.argv[2] = (char *)spec->command;
    l.argv[3] = NULL;
    l.cwd = spec->cwd;
    if ((l.max_fd = sysconf(_SC_OPEN_MAX)) <= 0)
        l.max_fd = 65536;

    if ((p = calloc(1, sizeof(*p))) == NULL) {
        shell_set_error(err, "out of memory");
        goto out;
    }
    /* Before anything can fail: shell_free(p) closes fds that are >= 0. */
    p->pid = -1;
    p->pidfd = -1;
    p->out_fd = -1;
    p->exit_code = -1;
    if ((p->output = tailbuf_new(spec->output_limit)) == NULL) {
        shell_set_error(err, "out of memory");
        goto out;
    }

    if ((l.null_fd = fd_above_stdio(open("/dev/null", O_RDWR | O_CLOEXEC))) < 0) {
        shell_set_error(err, "cannot open /dev/null: %s", strerror(errno));
        goto out;
    }
    /* Close-on-exec on both ends, so that children other threads start
     * never hold them; the child's dup2() clears it on its copies. */
    if (pipe2(out_pipe, O_CLOEXEC) < 0) {
        shell_set_error(err, "cannot create output pipe: %s", strerror(errno));
        goto out;
    }
    out_r = fd_above_stdio(out_pipe[0]);
    l.out_w = fd_above_stdio(out_pipe[1]);
    if (pipe2(report_pipe, O_CLOEXEC) < 0) {
        shell_set_error(err, "cannot create report pipe: %s", strerror(errno));
        goto out;
    }
    report_r = fd_above_stdio(report_pipe[0]);
    l.report_w = fd_above_stdio(report_pipe[1]);
    /* Non-blocking on our end only: O_NONBLOCK on the write end would
     * reach the command's stdout and make its writes fail with EAGAIN. */
    if (out_r < 0 || l.out_w < 0 || report_r < 0 || l.report_w < 0
        || fcntl(out_r, F_SETFL, O_NONBLOCK) < 0) {
        shell_set_error(err, "cannot set up pipes: %s", strerror(errno));
        goto out;
    }

    /* Block every signal across fork: the child unblocks them only after
     * resetting the handlers it inherited. */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &saved_mask);
    pid = fork();
    if (pid == 0)
        shell_child(&l);
    saved = errno;
    pthread_sigmask(SIG_SETMASK, &saved_mask, NULL);
    if (pid < 0) {
        shell_set_error(err, "cannot fork: %s", strerror(saved));
        goto out;
    }
    /* Ours to close now, or the report pipe would never reach EOF. */
    close_fd(&l.report_w);
    close_fd(&l.out_w);
    close_fd(&l.null_fd);

    if (shell_await_exec(report_r, &l, err) < 0) {
        /* Normally the child has reported and is exiting; if the report
         * got lost it may be running, alone in its new group or not yet. */
        (void)kill(-pid, SIGKILL);
        (void)kill(pid, SIGKILL);
        shell_reap_blocking(pid);
        goto out;
    }
    /* The shell is running in its own group, and nobody else waits for
     * it (see the top of this file): its pid is ours until we reap it. */
    if ((p->pidfd = pidfd_open(pid, 0)) < 0) {
        shell_set_error(err, "cannot watch the child process: %s", strerror(errno));
        (void)kill(-pid, SIGKILL);
        shell_reap_blocking(pid);
        goto out;
    }
    p->pid = pid;
    p->out_fd = out_r;
    out_r = -1;
    started = p;
    p = NULL;
out:
    close_fd(&out_r);
    close_fd(&report_r);
    close_fd(&l.out_w);
    close_fd(&l.report_w);
    close_fd(&l.null_fd);
    free(l.envp);
    shell_free(p);
    return started;
}

int
shell_pollfds(const struct shell_proc *p, struct pollfd *fds, int max)
{
    int n = 0;

    if (p->out_fd >= 0 && n < max)
        fds[n++] = (struct pollfd){ .fd = p->out_fd, .events = POLLIN };
    if (p->pidfd >= 0 && n < max)
        fds[n++] = (struct pollfd){ .fd = p->pidfd, .events = POLLIN };
    return n;
}

/* Read up to `budget` bytes of output without blocking; close on EOF. */
static void
shell_read_output(struct shell_proc *p, size_t budget)
{
    char chunk[READ_CHUNK];
    size_t total = 0;

    while (p->out_fd >= 0 && total < budget) {
        ssize_t n = read(p->out_fd, chunk, sizeof(chunk));

        if (n > 0) {
            tailbuf_append(p->output, chunk, (size_t)n);
            total += (size_t)n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return;
        } else {
            /* EOF: nobody holds the write end any more (or a read error,
             * after which there is nothing more to get either). */
            close_fd(&p->out_fd);
        }
    }
}

/* Has the shell exited?  The pidfd is readable from then on. */
static int
shell_exited(const struct shell_proc *p)
{
    struct pollfd pfd = { .fd = p->pidfd, .events = POLLIN };

    return poll(&pfd, 1, 0) > 0;
}

int
shell_on_ready(struct shell_proc *p)
{
    int status;
    pid_t r;

    if (p->finished)
        return 0;
    shell_read_output(p, READ_BUDGET);
    if (!shell_exited(p))
        return TC_AGAIN;
    /* The shell is a zombie until we reap it, so its pid cannot be reused
     * and the group id still names its group: the last safe moment to
     * clean up after a cancelled run. */
    if (p->signalled)
        (void)kill(-p->pid, SIGKILL);
    shell_read_output(p, DRAIN_BUDGET);
    close_fd(&p->out_fd);
    do
        r = waitpid(p->pid, &status, WNOHANG);
    while (r < 0 && errno == EINTR);
    if (r == 0)
        return TC_AGAIN; /* not reapable yet after all; the pidfd stays ready */
    if (r == p->pid && WIFEXITED(status)) {
        p->exit_code = WEXITSTATUS(status);
    } else if (r == p->pid && WIFSIGNALED(status)) {
        p->term_signal = WTERMSIG(status);
        p->exit_code = 128 + p->term_signal;
        p->core_dumped = WCOREDUMP(status) != 0;
    }
    /* Otherwise ECHILD: someone set SIGCHLD to SIG_IGN or waited for
     * every child; exit_code stays -1 ("exit status lost"). */
    close_fd(&p->pidfd);
    p->finished = 1;
    return 0;
}

void
shell_signal(struct shell_proc *p, int signo)
{
    if (p->finished || p->pid <= 0)
        return;
    if (signo != 0)
        p->signalled = 1;
    (void)kill(-p->pid, signo);
    if (signo == SIGTERM)
        (void)kill(-p->pid, SIGCONT);
}

int
shell_exit_code(const struct shell_proc *p)
{
    return p->finished ? p->exit_code : -1;
}

int
shell_term_signal(const struct shell_proc *p)
{
    return p->finished ? p->term_signal : 0;
}

const char *
shell_describe_status(const struct shell_proc *p, char *buf, size_t size)
{
    const char *abbrev;

    if (size == 0)
        return buf;
    if (!p->finished) {
        snprintf(buf, size, "running");
    } else if (p->term_signal != 0) {
        abbrev = sigabbrev_np(p->term_signal);
        snprintf(buf, size, "killed by signal %d%s%s%s%s", p->term_signal,
                 abbrev != NULL ? " (SIG" : "", abbrev != NULL ? abbrev : "",
                 abbrev != NULL ? ")" : "", p->core_dumped ? ", core dumped" : "");
    } else if (p->exit_code < 0) {
        snprintf(buf, size, "exit status lost");
    } else {
        snprintf(buf, size, "exited with code %d", p->exit_code);
    }
    return buf;
}

char *
shell_take_output(const struct shell_proc *p)
{
    return tailbuf_text(p->output);
}

pid_t
shell_pid(const struct shell_proc *p)
{
    return p->pid;
}

void
shell_free(struct shell_proc *p)
{
    if (p == NULL)
        return;
    if (!p->finished && p->pid > 0) {
        (void)kill(-p->pid, SIGKILL);
        shell_reap_blocking(p->pid);
    }
    close_fd(&p->out_fd);
    close_fd(&p->pidfd);
    tailbuf_free(p->output);
    free(p);
}
