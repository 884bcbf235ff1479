/* exec_shell.c - `/bin/sh -c COMMAND` in its own session, watched by pidfd.
 *
 * Glossary: the *supervisor* is the process we fork; it leads a new session
 * and process group, its *group*, and forks the *shell*, the /bin/sh that
 * runs the command.  The group holds everything the command started unless
 * a process left on purpose.  *Output* is stdout and stderr, which share
 * one pipe so that their order is kept.
 *
 * Why a supervisor: when tablecron dies, the task must die too, or another
 * instance that takes the job over once the lease expires runs it a second
 * time beside the orphan.  PR_SET_PDEATHSIG reaches only the child of the
 * dead process, and dash forks the commands it runs, so a signal set on
 * the shell would kill the shell and leave its commands running.  The
 * supervisor is that child: on tablecron's death it kills its whole group.
 * Otherwise it only waits for the shell and then ends as the shell did
 * (same exit code, same signal), so everything below watches, signals and
 * reaps the supervisor as if it were the shell.  Its price: it is a fork
 * that never execs, so until the task ends it keeps the pages of
 * tablecron's memory that tablecron modifies meanwhile (copy-on-write).
 *
 * Why a pidfd and not pipe EOF: `sleep 600 & echo started` ends at once,
 * but the background sleep keeps the pipe open for ten minutes.  The pidfd
 * becomes readable when the supervisor exits, right after the shell; we
 * then drain the pipe and stop reading.  Why not SIGCHLD or wait(-1): other
 * parts of the process own other children, so each of ours is reaped by
 * its pid only.
 *
 * Start-up runs in two halves.  Before fork, everything that allocates or
 * may take a lock (argv, envp, pipes, /dev/null) is prepared, because once
 * the process has other threads the child may call async-signal-safe
 * functions only (the supervisor, which never execs, for all its life).
 * After fork, the supervisor or the shell reports a failing step through a
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
#include <sys/prctl.h>
#include <sys/resource.h>
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
/*
 * What the kernel sends the supervisor when tablecron dies.  SIGCONT
 * because it is the one signal that also wakes a stopped process: a group
 * someone stopped with `kill -STOP` still dies with tablecron, instead of
 * staying stopped for good (SIGKILL, the only other such signal, would
 * kill the supervisor alone).
 */
#define SUPERVISOR_DEATH_SIGNAL SIGCONT

struct shell_proc {
    pid_t pid;              /* the supervisor; also the group and session id */
    int pidfd;              /* owned; -1 once reaped */
    int out_fd;             /* owned; read end of the output pipe, -1 once closed */
    int signalled;          /* shell_signal() was called while it ran */
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
    pid_t parent;        /* tablecron's pid: the supervisor's parent until it dies */
};

/* A step of the child that failed, sent to the parent over the report pipe. */
enum shell_step {
    SHELL_STEP_SESSION = 1,
    SHELL_STEP_STDIO,
    SHELL_STEP_CHDIR,
    SHELL_STEP_FORK,
    SHELL_STEP_EXEC
};

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
 * The instance's own settings and database password stay with it: a task
 * is someone else's code, and TABLECRON_DB or PGPASSWORD would hand it the
 * scheduler's database.  A job that needs such a variable sets it in its
 * env (extra), which is kept.
 */
static int
env_instance_only(const char *entry)
{
    static const char prefix[] = "TABLECRON_";
    size_t len = env_name_len(entry);

    return strncmp(entry, prefix, sizeof(prefix) - 1) == 0 ||
           (len == strlen("PGPASSWORD") && strncmp(entry, "PGPASSWORD", len) == 0);
}

/*
 * environ minus the instance's own variables and the names extra
 * replaces, then extra (the last of two
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
        if (!env_instance_only(environ[i]) && !env_overridden(environ[i], extra, 0))
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
 * The shell, forked by the supervisor: its dispositions are already the
 * defaults and only its mask is left to clear.  It dies with the
 * supervisor (which only ever exits after reaping it, or in a kill of the
 * whole group), so that a supervisor killed alone does not leave the shell
 * running unwatched.  On failure it reports to tablecron itself: the
 * report pipe reaches EOF once both it (by exec) and the supervisor have
 * closed their copies.
 */
TC_NORETURN static void
shell_exec(const struct shell_launch *l, pid_t supervisor)
{
    struct shell_report report = { SHELL_STEP_EXEC, 0 };
    sigset_t none;
    ssize_t ignored;

    if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0) {
        report.step = SHELL_STEP_SESSION;
        goto fail;
    }
    if (getppid() != supervisor)
        _exit(127); /* killed before the prctl; tablecron sees how in its status */
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    execve(SHELL_PATH, l->argv, l->envp);
fail:
    report.error = errno;
    ignored = write(l->report_w, &report, sizeof(report));
    (void)ignored;
    _exit(127);
}

/*
 * End the supervisor the way the shell ended, so that tablecron, which
 * reaps the supervisor, sees what it would have seen reaping the shell.
 * A signal is sent to ourselves while it is still blocked (kill, not
 * raise: glibc's raise refuses its internal signals 32 and 33), then
 * unblocked: we die of it.  Its disposition is the default already (see
 * shell_child).  We never dump core: our memory is a copy of tablecron's,
 * credentials included, and with core_pattern "core" the file would
 * replace the command's own core in the same directory.  So the status
 * never says "core dumped", even when the shell's did.
 */
TC_NORETURN static void
supervisor_exit_like(int status)
{
    struct rlimit no_core = { 0, 0 };
    sigset_t one;
    int sig;

    if (!WIFSIGNALED(status))
        _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 127);
    sig = WTERMSIG(status);
    (void)setrlimit(RLIMIT_CORE, &no_core);
    (void)prctl(PR_SET_DUMPABLE, 0);
    (void)kill(getpid(), sig); /* SIGKILL ends us here */
    sigemptyset(&one);
    sigaddset(&one, sig);
    sigprocmask(SIG_UNBLOCK, &one, NULL);
    _exit(128 + sig); /* not reached: sig terminates by default */
}

/*
 * The supervisor's whole life once the shell runs, with every signal
 * blocked and taken here one at a time.  Each wake-up first asks whether
 * tablecron is still our parent: the parent-death signal says "look", and
 * getppid() decides, because that signal may also come from the group
 * (shell_signal's SIGCONT, a command's `kill -CONT 0`) or from the death of
 * a tablecron thread that is not the process.  If tablecron is gone, the
 * group dies, us included.  Otherwise a finished shell is reaped and its
 * status passed on; any other signal was sent to the group, which received
 * it too, and is none of our business.  sigwaitinfo() fails with EINTR
 * after a SIGSTOP: the loop just looks again.
 */
TC_NORETURN static void
supervisor_loop(pid_t shell, pid_t parent)
{
    sigset_t all;
    int status;
    pid_t r;

    sigfillset(&all);
    for (;;) {
        (void)sigwaitinfo(&all, NULL);
        if (getppid() != parent) {
            (void)kill(0, SIGKILL);
            _exit(127); /* not reached */
        }
        /* A SIGCHLD may also mean stopped or continued: WNOHANG says 0. */
        r = waitpid(shell, &status, WNOHANG);
        if (r == shell)
            supervisor_exit_like(status);
        if (r < 0)
            _exit(127); /* the shell is not our child: nothing to watch */
    }
}

/*
 * The supervisor: the child of tablecron, leader of the new session and
 * group, parent of the shell.  Runs with every signal blocked (see
 * shell_start): a handler inherited from tablecron must never run here,
 * it would act on tablecron's state (its self-pipe, say).  It stays
 * blocked in the supervisor for good, so that signals reach it only
 * through sigwaitinfo().
 */
TC_NORETURN static void
shell_child(const struct shell_launch *l)
{
    struct shell_report report = { 0, 0 };
    ssize_t ignored;
    pid_t self, shell;

    /* Back to defaults: tablecron ignores SIGPIPE and may catch others.
     * The shell inherits these. */
    for (int sig = 1; sig < NSIG; sig++) {
        if (sig != SIGKILL && sig != SIGSTOP)
            child_default_signal(sig);
    }
    if (setsid() < 0) {
        report.step = SHELL_STEP_SESSION;
        goto fail;
    }
    /* If tablecron dies (kill -9), the group dies with it: another instance
     * takes the job over once the lease expires, and an orphaned task would
     * otherwise keep running beside the new attempt.  Checked after the
     * prctl: tablecron may have died before it. */
    if (prctl(PR_SET_PDEATHSIG, SUPERVISOR_DEATH_SIGNAL) < 0 || getppid() != l->parent) {
        report.step = SHELL_STEP_SESSION;
        goto fail;
    }
    if (dup2(l->null_fd, STDIN_FILENO) < 0 || dup2(l->out_w, STDOUT_FILENO) < 0
        || dup2(l->out_w, STDERR_FILENO) < 0) {
        report.step = SHELL_STEP_STDIO;
        goto fail;
    }
    child_close_fds(l->report_w, l->max_fd);
    /* Here rather than in the shell, which inherits it: one failing step
     * fewer after the second fork. */
    if (l->cwd != NULL && chdir(l->cwd) < 0) {
        report.step = SHELL_STEP_CHDIR;
        goto fail;
    }
    self = getpid();
    if ((shell = fork()) < 0) {
        report.step = SHELL_STEP_FORK;
        goto fail;
    }
    if (shell == 0)
        shell_exec(l, self);
    /* Let go of the output pipe (its EOF must not wait for us) before the
     * report pipe, so that when shell_start() returns we hold nothing but
     * /dev/null.  On failure the shell is killed with the group. */
    if (dup2(STDIN_FILENO, STDOUT_FILENO) < 0 || dup2(STDIN_FILENO, STDERR_FILENO) < 0) {
        report.step = SHELL_STEP_STDIO;
        goto fail;
    }
    close(l->report_w);
    supervisor_loop(shell, l->parent);
fail:
    report.error = errno;
    /* Eight bytes, less than PIPE_BUF: one atomic write, even if the shell
     * also reports. */
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
    case SHELL_STEP_FORK:
        shell_set_error(err, "cannot fork: %s", strerror(report.error));
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
    l.parent = getpid();
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

    /* Block every signal across fork: the supervisor keeps them blocked,
     * the shell unblocks them once the inherited handlers are reset. */
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
        /* Normally the supervisor or the shell has reported and is exiting;
         * if the report got lost the supervisor may be running, alone in
         * its new group or not yet, the shell with it. */
        (void)kill(-pid, SIGKILL);
        (void)kill(pid, SIGKILL);
        shell_reap_blocking(pid);
        goto out;
    }
    /* The supervisor is running in its own group, and nobody else waits
     * for it (see the top of this file): its pid is ours until we reap it. */
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

/* Has the supervisor exited (so the shell has)?  The pidfd is readable
 * from then on. */
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
    /* The supervisor is a zombie until we reap it, so its pid cannot be
     * reused and the group id still names its group: the last safe moment
     * to clean up after a cancelled run. */
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

uint64_t
shell_output_bytes(const struct shell_proc *p)
{
    return tailbuf_len(p->output) + tailbuf_dropped(p->output);
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
