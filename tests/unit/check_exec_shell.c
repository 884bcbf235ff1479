/* check_exec_shell.c - real /bin/sh children: exit status, output capture,
 * environment, working directory, process groups, fds and reaping.
 *
 * Every wait is bounded by a deadline: the commands are driven through the
 * same poll loop the scheduler uses (run_until_done), and checks on other
 * processes poll their state (wait_gone).  The test process is a child
 * subreaper, so the background processes a command leaves behind become
 * our children and are reaped here: PID 1 of a container may never reap
 * them, and a zombie still answers kill(pid, 0).
 */
#include <autoconfig.h>

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "exec_shell.h"
#include "tc_check.h"

#define R "\xEF\xBF\xBD" /* U+FFFD */

static long
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
pause_ms(long ms)
{
    struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000 };

    nanosleep(&ts, NULL);
}

static void
setup(void)
{
    ck_assert_int_eq(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), 0);
}

/*
 * After each test: every process a command started must be gone.  The
 * ones killed with their group were reparented to us; reap them (bounded
 * wait), so that none is left as a zombie for a PID 1 that may not reap.
 */
static void
teardown(void)
{
    long deadline = now_ms() + 5000;
    pid_t r;

    while ((r = waitpid(-1, NULL, WNOHANG)) >= 0 && now_ms() < deadline) {
        if (r == 0)
            pause_ms(10);
    }
    ck_assert_msg(r < 0 && errno == ECHILD, "a child process is still running");
}

static struct shell_proc *
start_spec(const struct shell_spec *spec)
{
    struct shell_error err;
    struct shell_proc *p = shell_start(spec, &err);

    ck_assert_msg(p != NULL, "shell_start: %s", err.msg);
    return p;
}

static struct shell_proc *
start(const char *command)
{
    struct shell_spec spec = { .command = command };

    return start_spec(&spec);
}

/* Drive p as the scheduler would, until it finishes or the deadline passes. */
static int
run_until_done(struct shell_proc *p, long timeout_ms)
{
    long deadline = now_ms() + timeout_ms;

    for (;;) {
        struct pollfd fds[SHELL_POLLFDS_MAX];
        long left;
        int n;

        if (shell_on_ready(p) == 0)
            return 0;
        if ((left = deadline - now_ms()) <= 0)
            return -1;
        n = shell_pollfds(p, fds, SHELL_POLLFDS_MAX);
        ck_assert_int_gt(n, 0);
        (void)poll(fds, (nfds_t)n, (int)left);
    }
}

/* Run to the end (within 10 s) and check that nothing is left to reap. */
static void
finish(struct shell_proc *p)
{
    struct pollfd fds[SHELL_POLLFDS_MAX];

    ck_assert_msg(run_until_done(p, 10000) == 0, "command did not finish in 10 s");
    ck_assert_int_eq(waitpid(shell_pid(p), NULL, WNOHANG), -1);
    ck_assert_int_eq(errno, ECHILD);
    ck_assert_int_eq(shell_pollfds(p, fds, SHELL_POLLFDS_MAX), 0);
}

/* Output of a running command once it contains `lines` newlines (5 s). */
static char *
output_lines(struct shell_proc *p, int lines)
{
    long deadline = now_ms() + 5000;

    for (;;) {
        struct pollfd fds[SHELL_POLLFDS_MAX];
        char *out = shell_take_output(p);
        int seen = 0;
        int n;

        ck_assert_ptr_nonnull(out);
        for (const char *c = out; *c != '\0'; c++)
            seen += *c == '\n';
        if (seen >= lines)
            return out;
        free(out);
        ck_assert_msg(now_ms() < deadline, "no %d lines of output in 5 s", lines);
        ck_assert_int_eq(shell_on_ready(p), TC_AGAIN);
        n = shell_pollfds(p, fds, SHELL_POLLFDS_MAX);
        (void)poll(fds, (nfds_t)n, 100);
    }
}

/* Wait up to 5 s for pid to be gone: reaped (it is ours as subreaper) or never ours. */
static int
wait_gone(pid_t pid)
{
    long deadline = now_ms() + 5000;

    for (;;) {
        (void)waitpid(pid, NULL, WNOHANG);
        if (kill(pid, 0) < 0 && errno == ESRCH)
            return 1;
        if (now_ms() > deadline)
            return 0;
        pause_ms(10);
    }
}

/*
 * Processes of group pgid whose command name is comm and whose state is one
 * of `states`, from /proc/PID/stat: "PID (COMM) STATE PPID PGRP ...".  Found
 * by group rather than by name, so that other sleeps on the machine do not
 * count.
 */
static int
group_count(pid_t pgid, const char *comm, const char *states)
{
    DIR *proc = opendir("/proc");
    struct dirent *d;
    int count = 0;

    ck_assert_ptr_nonnull(proc);
    while ((d = readdir(proc)) != NULL) {
        char path[300], line[512], state;
        int ppid, pgrp;
        char *lp, *rp;
        FILE *f;

        snprintf(path, sizeof(path), "/proc/%s/stat", d->d_name);
        if (d->d_name[0] < '1' || d->d_name[0] > '9' || (f = fopen(path, "r")) == NULL)
            continue;
        if (fgets(line, sizeof(line), f) != NULL && (lp = strchr(line, '(')) != NULL
            && (rp = strrchr(line, ')')) != NULL
            && sscanf(rp + 1, " %c %d %d", &state, &ppid, &pgrp) == 3 && pgrp == pgid
            && strchr(states, state) != NULL && rp - lp - 1 == (long)strlen(comm)
            && strncmp(lp + 1, comm, strlen(comm)) == 0)
            count++;
        fclose(f);
    }
    closedir(proc);
    return count;
}

/* Wait up to 5 s for `want` processes named comm in one of `states` in group pgid. */
static int
wait_group_count(pid_t pgid, const char *comm, const char *states, int want)
{
    long deadline = now_ms() + 5000;

    while (group_count(pgid, comm, states) < want) {
        if (now_ms() > deadline)
            return 0;
        pause_ms(10);
    }
    return 1;
}

/*
 * Wait up to 5 s for group pgid to be empty, reaping whatever became ours
 * meanwhile: a zombie still belongs to its group, and kill(-pgid, 0)
 * succeeds as long as one is left.
 */
static int
wait_group_gone(pid_t pgid)
{
    long deadline = now_ms() + 5000;

    for (;;) {
        while (waitpid(-1, NULL, WNOHANG) > 0)
            ;
        if (kill(-pgid, 0) < 0 && errno == ESRCH)
            return 1;
        if (now_ms() > deadline)
            return 0;
        pause_ms(10);
    }
}

static void
assert_output(struct shell_proc *p, const char *want)
{
    char *out = shell_take_output(p);

    ck_assert_ptr_nonnull(out);
    ck_assert_str_eq(out, want);
    free(out);
}

static void
assert_status(struct shell_proc *p, const char *want)
{
    char buf[128];

    ck_assert_str_eq(shell_describe_status(p, buf, sizeof(buf)), want);
}

START_TEST(test_exec_shell__exit_codes)
{
    struct shell_proc *p = start("exit 0");

    finish(p);
    ck_assert_int_eq(shell_exit_code(p), 0);
    ck_assert_int_eq(shell_term_signal(p), 0);
    assert_status(p, "exited with code 0");
    assert_output(p, "");
    shell_free(p);

    p = start("echo failing; exit 3");
    finish(p);
    ck_assert_int_eq(shell_exit_code(p), 3);
    assert_status(p, "exited with code 3");
    assert_output(p, "failing\n");
    /* Finished stays finished; a late signal reaches nobody. */
    ck_assert_int_eq(shell_on_ready(p), 0);
    shell_signal(p, SIGKILL);
    assert_status(p, "exited with code 3");
    shell_free(p);
}
END_TEST

START_TEST(test_exec_shell__command_not_found)
{
    struct shell_proc *p = start("tablecron-no-such-command");
    char *out;

    finish(p);
    ck_assert_int_eq(shell_exit_code(p), 127);
    out = shell_take_output(p);
    ck_assert_msg(strstr(out, "not found") != NULL, "output: %s", out);
    free(out);
    shell_free(p);
}
END_TEST

START_TEST(test_exec_shell__killed_by_signal)
{
    struct shell_proc *p = start("kill -KILL $$");

    finish(p);
    ck_assert_int_eq(shell_term_signal(p), SIGKILL);
    ck_assert_int_eq(shell_exit_code(p), 128 + SIGKILL);
    assert_status(p, "killed by signal 9 (SIGKILL)");
    shell_free(p);

    /* Killed by the caller. */
    p = start("echo started; sleep 1000");
    free(output_lines(p, 1));
    assert_status(p, "running");
    ck_assert_int_eq(shell_exit_code(p), -1);
    shell_signal(p, SIGKILL);
    finish(p);
    ck_assert_int_eq(shell_exit_code(p), 137);
    assert_status(p, "killed by signal 9 (SIGKILL)");
    shell_free(p);
}
END_TEST

START_TEST(test_exec_shell__stdout_stderr_interleaved)
{
    struct shell_proc *p = start("echo out1; echo err1 >&2; echo out2; echo err2 1>&2; echo out3");

    finish(p);
    assert_output(p, "out1\nerr1\nout2\nerr2\nout3\n");
    shell_free(p);
}
END_TEST

START_TEST(test_exec_shell__output_tail_and_marker)
{
    struct shell_spec spec = { .command = "seq 1 10000", .output_limit = 1000 };
    struct shell_proc *p = start_spec(&spec);
    unsigned long long dropped = 0;
    size_t total = 0;
    char *out, *body;

    for (int i = 1; i <= 10000; i++)
        total += (size_t)snprintf(NULL, 0, "%d\n", i);
    finish(p);
    ck_assert_int_eq(shell_exit_code(p), 0);
    out = shell_take_output(p);
    ck_assert_int_eq(sscanf(out, "[... %llu bytes dropped ...]\n", &dropped), 1);
    body = strchr(out, '\n') + 1;
    ck_assert_uint_eq(strlen(body), 1000);
    ck_assert_uint_eq(dropped + strlen(body), total);
    ck_assert_str_eq(body + strlen(body) - 17, "\n9998\n9999\n10000\n");
    free(out);
    shell_free(p);
}
END_TEST

/* Much more than a pipe holds: reading must keep up, the child must not stall. */
START_TEST(test_exec_shell__large_output)
{
    struct shell_proc *p = start("head -c 3000000 /dev/zero | tr '\\000' x; echo; echo end");
    char *out;

    finish(p);
    ck_assert_int_eq(shell_exit_code(p), 0);
    out = shell_take_output(p);
    ck_assert_msg(strncmp(out, "[... 2934469 bytes dropped ...]\n", 32) == 0, "start: %.40s", out);
    ck_assert_str_eq(out + strlen(out) - 6, "x\nend\n");
    free(out);
    shell_free(p);
}
END_TEST

START_TEST(test_exec_shell__binary_output_becomes_text)
{
    struct shell_proc *p = start("printf 'a\\000b\\377c\\300\\200d\\n'");

    finish(p);
    assert_output(p, "a" R "b" R "c" R R "d\n");
    shell_free(p);
}
END_TEST

START_TEST(test_exec_shell__environment)
{
    const char *env[] = { "TABLECRON_JOB=42", "TABLECRON_EXECUTION=9001",
                          "TC_TEST_OVERRIDE=new", "TC_TEST_TWICE=1", "TC_TEST_TWICE=2", NULL };
    struct shell_spec spec = {
        .command = "echo \"$TABLECRON_JOB $TABLECRON_EXECUTION $TC_TEST_OVERRIDE $TC_TEST_TWICE "
                   "$TC_TEST_INHERITED\"; env | grep -c '^TC_TEST_'",
        .env = env,
    };
    struct shell_proc *p;

    ck_assert_int_eq(setenv("TC_TEST_OVERRIDE", "old", 1), 0);
    ck_assert_int_eq(setenv("TC_TEST_INHERITED", "yes", 1), 0);
    p = start_spec(&spec);
    finish(p);
    /* OVERRIDE, TWICE and INHERITED: one entry each. */
    assert_output(p, "42 9001 new 2 yes\n3\n");
    shell_free(p);
}
END_TEST

START_TEST(test_exec_shell__instance_variables_stay_out)
{
    const char *env[] = { "TABLECRON_JOB=7", "PGPASSWORD=the job's own", NULL };
    struct shell_spec spec = {
        .command = "echo \"${TABLECRON_DB-unset} ${TABLECRON_MAX_RUNNING-unset} $PGPASSWORD"
                   " $TABLECRON_JOB $PGHOST\"",
        .env = env,
    };
    struct shell_proc *p;

    ck_assert_int_eq(setenv("TABLECRON_DB", "password=instance-secret", 1), 0);
    ck_assert_int_eq(setenv("TABLECRON_MAX_RUNNING", "8", 1), 0);
    ck_assert_int_eq(setenv("PGPASSWORD", "instance-secret", 1), 0);
    ck_assert_int_eq(setenv("PGHOST", "/run/postgresql", 1), 0);
    p = start_spec(&spec);
    finish(p);
    /* The instance's own are gone; the job's env and PGHOST are kept. */
    assert_output(p, "unset unset the job's own 7 /run/postgresql\n");
    shell_free(p);
    unsetenv("TABLECRON_DB");
    unsetenv("TABLECRON_MAX_RUNNING");
    unsetenv("PGPASSWORD");
    unsetenv("PGHOST");
}
END_TEST

START_TEST(test_exec_shell__invalid_environment_entry)
{
    const char *env[] = { "TABLECRON_JOB=1", "NOEQUALS", NULL };
    struct shell_spec spec = { .command = "true", .env = env };
    struct shell_error err;

    ck_assert_ptr_null(shell_start(&spec, &err));
    ck_assert_str_eq(err.msg, "invalid environment entry 'NOEQUALS': expected KEY=VALUE");
}
END_TEST

START_TEST(test_exec_shell__working_directory)
{
    char dir[] = "/tmp/tc-exec-shell-XXXXXX";
    char real[PATH_MAX], want[PATH_MAX + 2];
    struct shell_spec spec = { .command = "pwd -P" };
    struct shell_proc *p;

    ck_assert_ptr_nonnull(mkdtemp(dir));
    ck_assert_ptr_nonnull(realpath(dir, real));
    spec.cwd = dir;
    p = start_spec(&spec);
    finish(p);
    snprintf(want, sizeof(want), "%s\n", real);
    assert_output(p, want);
    shell_free(p);
    rmdir(dir);
}
END_TEST

START_TEST(test_exec_shell__missing_working_directory)
{
    struct shell_spec spec = { .command = "true", .cwd = "/nonexistent/tablecron-test" };
    struct shell_error err;

    /* Reap what earlier tests left to us (with CK_FORK=no), then check
     * that the failed start leaves no zombie. */
    while (waitpid(-1, NULL, WNOHANG) > 0)
        ;
    ck_assert_ptr_null(shell_start(&spec, &err));
    ck_assert_str_eq(err.msg,
                     "cannot change directory to '/nonexistent/tablecron-test': "
                     "No such file or directory");
    ck_assert_int_le(waitpid(-1, NULL, WNOHANG), 0);
}
END_TEST

START_TEST(test_exec_shell__no_command)
{
    struct shell_spec spec = { .command = NULL };
    struct shell_error err;

    ck_assert_ptr_null(shell_start(&spec, &err));
    ck_assert_str_eq(err.msg, "no command to run");
    ck_assert_ptr_null(shell_start(&spec, NULL));
}
END_TEST

/* SIGTERM reaches every process of the group, not just the shell. */
START_TEST(test_exec_shell__signal_reaches_the_group)
{
    struct shell_proc *p = start("sleep 1000 & echo $!; sleep 1000 & echo $!; wait");
    char *out = output_lines(p, 2);
    int a = 0, b = 0;

    ck_assert_int_eq(sscanf(out, "%d\n%d\n", &a, &b), 2);
    free(out);
    ck_assert_int_eq(kill(a, 0), 0);
    shell_signal(p, SIGTERM);
    finish(p);
    ck_assert_int_eq(shell_term_signal(p), SIGTERM);
    ck_assert_int_eq(shell_exit_code(p), 143);
    assert_status(p, "killed by signal 15 (SIGTERM)");
    ck_assert_msg(wait_gone(a), "background process %d survived SIGTERM", a);
    ck_assert_msg(wait_gone(b), "background process %d survived SIGTERM", b);
    shell_free(p);
}
END_TEST

/* A process that ignores SIGTERM is killed once the signalled shell exits. */
START_TEST(test_exec_shell__cancelled_run_leaves_nothing)
{
    struct shell_proc *p = start("sh -c 'trap \"\" TERM; echo $$; exec sleep 1000' & wait");
    char *out = output_lines(p, 1);
    int stubborn = 0;

    ck_assert_int_eq(sscanf(out, "%d", &stubborn), 1);
    free(out);
    shell_signal(p, SIGTERM);
    /* The signal is ignored there; only the exit of the shell kills it. */
    ck_assert_int_eq(kill(stubborn, 0), 0);
    finish(p);
    ck_assert_int_eq(shell_term_signal(p), SIGTERM);
    ck_assert_msg(wait_gone(stubborn), "process %d outlived the cancelled run", stubborn);
    shell_free(p);
}
END_TEST

/* A background process holding the pipe open does not hold up the end. */
START_TEST(test_exec_shell__background_child_does_not_delay_finish)
{
    struct shell_proc *p = start("sleep 5 & echo \"bg $!\"; echo done");
    long started = now_ms();
    char *out;
    int bg = 0;

    ck_assert_int_eq(run_until_done(p, 1000), 0);
    ck_assert_int_lt(now_ms() - started, 1000);
    ck_assert_int_eq(shell_exit_code(p), 0);
    out = shell_take_output(p);
    ck_assert_int_eq(sscanf(out, "bg %d\n", &bg), 1);
    ck_assert_str_eq(strchr(out, '\n') + 1, "done\n");
    free(out);
    /* Not signalled, so the background process was left alone. */
    ck_assert_int_eq(kill(bg, 0), 0);
    ck_assert_int_eq(kill(bg, SIGKILL), 0);
    ck_assert(wait_gone(bg));
    shell_free(p);
}
END_TEST

/* Only 0, 1, 2 reach the command (ls adds 3: the directory it reads). */
START_TEST(test_exec_shell__no_fd_leaks)
{
    struct shell_proc *other = start("sleep 1000");
    struct shell_proc *p;
    int extra[4], pipe_fds[2];
    char *out;

    /* Inheritable on purpose: the child must close them anyway. */
    extra[0] = open("/dev/null", O_RDONLY);
    ck_assert_int_eq(pipe(pipe_fds), 0);
    extra[1] = pipe_fds[0];
    extra[2] = pipe_fds[1];
    extra[3] = dup2(extra[0], 200);
    ck_assert_int_eq(extra[3], 200);
    p = start("ls /proc/self/fd");
    finish(p);
    ck_assert_int_eq(shell_exit_code(p), 0);
    out = shell_take_output(p);
    ck_assert_str_eq(out, "0\n1\n2\n3\n");
    free(out);
    for (size_t i = 0; i < TC_ARRAY_LEN(extra); i++)
        close(extra[i]);
    shell_free(p);
    shell_free(other);
}
END_TEST

/* stdin is /dev/null; ignored and blocked signals of the parent are not inherited. */
START_TEST(test_exec_shell__clean_stdin_and_signals)
{
    struct sigaction ign = { .sa_handler = SIG_IGN };
    sigset_t block;
    struct shell_proc *p;

    sigaction(SIGPIPE, &ign, NULL);
    sigaction(SIGUSR2, &ign, NULL);
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    sigaddset(&block, SIGTERM);
    sigprocmask(SIG_BLOCK, &block, NULL);
    p = start("cat; readlink /proc/self/fd/0; grep -E '^(SigBlk|SigIgn):' /proc/self/status");
    finish(p);
    assert_output(p, "/dev/null\nSigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n");
    shell_free(p);
}
END_TEST

/* shell_free on a running command kills its group and reaps the shell. */
START_TEST(test_exec_shell__free_kills_running)
{
    struct shell_proc *p = start("sleep 1000 & echo $!; wait");
    char *out = output_lines(p, 1);
    pid_t pid = shell_pid(p);
    int bg = 0;

    ck_assert_int_eq(sscanf(out, "%d", &bg), 1);
    free(out);
    shell_free(p);
    ck_assert_int_eq(waitpid(pid, NULL, WNOHANG), -1);
    ck_assert_int_eq(errno, ECHILD);
    ck_assert_int_eq(kill(pid, 0), -1);
    ck_assert_msg(wait_gone(bg), "background process %d survived shell_free", bg);
    shell_free(NULL);
}
END_TEST

/*
 * The shell runs under a supervisor that leads the group: the group id is
 * shell_pid(), the shell is its child, and the supervisor holds nothing
 * but /dev/null (were it to keep the output pipe, a command's background
 * processes would not be the only ones holding it).
 */
START_TEST(test_exec_shell__supervisor_leads_the_group)
{
    struct shell_proc *p = start("read -r pid comm state ppid pgrp rest < /proc/$$/stat; "
                                 "echo $pid $ppid $pgrp; exec sleep 1000");
    char *out = output_lines(p, 1);
    pid_t pid = shell_pid(p);
    int sh = 0, ppid = 0, pgrp = 0;
    char path[300], target[64];
    DIR *fds;
    struct dirent *d;
    int n = 0;

    ck_assert_int_eq(sscanf(out, "%d %d %d", &sh, &ppid, &pgrp), 3);
    free(out);
    ck_assert_int_ne(sh, pid);
    ck_assert_int_eq(ppid, pid);
    ck_assert_int_eq(pgrp, pid);
    ck_assert_int_eq(getpgid(pid), pid);
    snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
    ck_assert_ptr_nonnull(fds = opendir(path));
    while ((d = readdir(fds)) != NULL) {
        ssize_t len;

        if (d->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "/proc/%d/fd/%s", (int)pid, d->d_name);
        ck_assert_int_gt(len = readlink(path, target, sizeof(target) - 1), 0);
        target[len] = '\0';
        ck_assert_msg(strcmp(target, "/dev/null") == 0, "supervisor fd %s: %s", d->d_name,
                      target);
        n++;
    }
    closedir(fds);
    ck_assert_int_eq(n, 3);
    shell_signal(p, SIGKILL);
    finish(p);
    assert_status(p, "killed by signal 9 (SIGKILL)");
    shell_free(p);
}
END_TEST

/*
 * How the shell ends is how the supervisor ends, so the status reads as if
 * we had reaped the shell.  Signals the command sends to its whole group
 * (kill ... 0) reach the supervisor too, which ignores them, its
 * parent-death signal (SIGCONT) included, since tablecron is alive.
 */
static const struct {
    const char *command;
    int exit_code;
    int term_signal;
    const char *status; /* %d: the signal number */
} status_cases[] = {
    { "exit 3", 3, 0, "exited with code 3" },
    { "kill -9 $$", 128 + SIGKILL, SIGKILL, "killed by signal %d (SIGKILL)" },
    { "kill -TERM $$", 128 + SIGTERM, SIGTERM, "killed by signal %d (SIGTERM)" },
    { "kill -USR1 0", 128 + SIGUSR1, SIGUSR1, "killed by signal %d (SIGUSR1)" },
    { "kill -CONT 0; kill -HUP 0", 128 + SIGHUP, SIGHUP, "killed by signal %d (SIGHUP)" },
    { "kill -CONT 0; exit 4", 4, 0, "exited with code 4" },
};

START_TEST(test_exec_shell__status_through_supervisor)
{
    struct shell_proc *p = start(status_cases[_i].command);
    char want[128];

    finish(p);
    snprintf(want, sizeof(want), status_cases[_i].status, status_cases[_i].term_signal);
    ck_assert_int_eq(shell_exit_code(p), status_cases[_i].exit_code);
    ck_assert_int_eq(shell_term_signal(p), status_cases[_i].term_signal);
    assert_status(p, want);
    shell_free(p);
}
END_TEST

/*
 * tablecron killed with SIGKILL takes the whole task with it, not only the
 * shell: dash forks both sleeps, and they would otherwise run on beside
 * the retry of the instance that takes the job over.  A helper process
 * plays tablecron; once it is killed, its supervisor becomes our child (we
 * are a subreaper), and so does everything it kills, which we reap.  In
 * the second round the group is stopped first (kill -STOP), supervisor
 * included: its parent-death signal must wake it all the same.
 */
START_TEST(test_exec_shell__parent_death_kills_the_group)
{
    int stopped = _i == 1;
    int ready[2];
    pid_t helper, pgid = -1;
    int running, gone;

    ck_assert_int_eq(pipe(ready), 0);
    ck_assert_int_ge(helper = fork(), 0);
    if (helper == 0) {
        struct shell_proc *p = start("sleep 1000 & sleep 1000; wait");
        ssize_t ignored;

        pgid = shell_pid(p);
        ignored = write(ready[1], &pgid, sizeof(pgid));
        (void)ignored;
        for (;;)
            pause(); /* until SIGKILL */
    }
    close(ready[1]);
    ck_assert_int_eq(read(ready[0], &pgid, sizeof(pgid)), (ssize_t)sizeof(pgid));
    close(ready[0]);
    ck_assert_int_gt(pgid, 0);
    /* Both sleeps first, or the kill might come before they exist. */
    running = wait_group_count(pgid, "sleep", "RS", 2);
    if (running && stopped) {
        ck_assert_int_eq(kill(-pgid, SIGSTOP), 0);
        running = wait_group_count(pgid, "sleep", "T", 2);
    }
    ck_assert_int_eq(kill(helper, SIGKILL), 0);
    ck_assert_int_eq(waitpid(helper, NULL, 0), helper);
    if (!(gone = wait_group_gone(pgid))) {
        (void)kill(-pgid, SIGKILL); /* leave nothing behind a failure */
        (void)wait_group_gone(pgid);
    }
    ck_assert_msg(running, "the sleeps of group %d did not %s", (int)pgid,
                  stopped ? "stop" : "start");
    ck_assert_msg(gone, "group %d outlived the death of its tablecron", (int)pgid);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("exec_shell");
    TCase *tc = tcase_create("exec_shell");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_exec_shell__exit_codes);
    tcase_add_test(tc, test_exec_shell__command_not_found);
    tcase_add_test(tc, test_exec_shell__killed_by_signal);
    tcase_add_test(tc, test_exec_shell__stdout_stderr_interleaved);
    tcase_add_test(tc, test_exec_shell__output_tail_and_marker);
    tcase_add_test(tc, test_exec_shell__large_output);
    tcase_add_test(tc, test_exec_shell__binary_output_becomes_text);
    tcase_add_test(tc, test_exec_shell__environment);
    tcase_add_test(tc, test_exec_shell__instance_variables_stay_out);
    tcase_add_test(tc, test_exec_shell__invalid_environment_entry);
    tcase_add_test(tc, test_exec_shell__working_directory);
    tcase_add_test(tc, test_exec_shell__missing_working_directory);
    tcase_add_test(tc, test_exec_shell__no_command);
    tcase_add_test(tc, test_exec_shell__signal_reaches_the_group);
    tcase_add_test(tc, test_exec_shell__cancelled_run_leaves_nothing);
    tcase_add_test(tc, test_exec_shell__background_child_does_not_delay_finish);
    tcase_add_test(tc, test_exec_shell__no_fd_leaks);
    tcase_add_test(tc, test_exec_shell__clean_stdin_and_signals);
    tcase_add_test(tc, test_exec_shell__free_kills_running);
    tcase_add_test(tc, test_exec_shell__supervisor_leads_the_group);
    tcase_add_loop_test(tc, test_exec_shell__status_through_supervisor, 0,
                        (int)TC_ARRAY_LEN(status_cases));
    tcase_add_loop_test(tc, test_exec_shell__parent_death_kills_the_group, 0, 2);
    suite_add_tcase(s, tc);
    return tc_check_run(s);
}
