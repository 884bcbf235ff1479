/* exec_shell.h - run `/bin/sh -c COMMAND` as a child the scheduler loop watches.
 *
 * The scheduler is one thread in a poll() loop: it starts a command, adds
 * the fds of shell_pollfds() to its poll set and calls shell_on_ready()
 * when one is ready, until that returns 0.  Nothing here blocks on the
 * command, keeps timers or touches SIGCHLD: timeouts are the caller's
 * (shell_signal(SIGTERM), later SIGKILL) and each child is reaped by its
 * own pid only, so other parts of the process may own other children.
 *
 * The child runs in a new session (so a new process group whose id is its
 * pid): shell_signal() reaches everything the command started, unless a
 * process moved itself to another session or group on purpose.  The child
 * is a small supervisor that forks the shell and ends as the shell ends;
 * if tablecron dies, even by SIGKILL, it kills the whole group, so that no
 * task outlives the instance that runs it.
 *
 *     struct shell_spec spec = { .command = "pg_dump app > /backup/app.sql" };
 *     struct shell_error err;
 *     struct shell_proc *p = shell_start(&spec, &err);
 *     ... poll the fds of shell_pollfds(p, fds, SHELL_POLLFDS_MAX) ...
 *     if (shell_on_ready(p) == 0)  -> shell_exit_code(p), shell_take_output(p)
 *     shell_free(p);
 */
#ifndef TC_EXEC_SHELL_H
#define TC_EXEC_SHELL_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common.h"

/* Most fds shell_pollfds() ever returns. */
#define SHELL_POLLFDS_MAX 2

struct shell_spec {
    const char *command;     /* borrowed; given to /bin/sh -c */
    const char *const *env;  /* borrowed; "KEY=VALUE" entries added to the inherited
                                environment (a same-named one is replaced; of two
                                entries with one name the later wins); NULL-terminated,
                                may be NULL */
    const char *cwd;         /* borrowed; working directory, NULL = inherit */
    size_t output_limit;     /* bytes of output kept (the tail); 0 = 64 KiB */
};

struct shell_proc; /* opaque, defined in exec_shell.c */

struct shell_error {
    char msg[256];
};

/*
 * Start the command: stdin is /dev/null, stdout and stderr share one pipe
 * (so their order is kept), no other fd is inherited, signal dispositions
 * and the signal mask are back to their defaults, the environment is ours
 * plus spec->env.  Blocks only until the shell is exec'd (two forks, the
 * supervisor's and the shell's, a few ms), so that failures are reported
 * here, in err->msg:
 *   cannot change directory to '/x': No such file or directory
 *   invalid environment entry 'FOO': expected KEY=VALUE
 *   cannot run /bin/sh: ..., cannot fork: ..., ...
 * A command the shell cannot find is not such a failure: it finishes with
 * exit code 127 and the shell's message in the output.  NULL on failure
 * (err may be NULL when the caller does not want the text).
 */
struct shell_proc *shell_start(const struct shell_spec *spec, struct shell_error *err);

/*
 * Fill fds[0..] with what the loop must poll (POLLIN): the output pipe
 * while it is open, the pidfd while the shell is not reaped.  Returns how
 * many entries were filled (at most min(max, SHELL_POLLFDS_MAX)); 0 once
 * finished.  Give it room for SHELL_POLLFDS_MAX: an fd left out is not
 * watched.  Any revents on them (POLLIN, POLLHUP, POLLERR) means "call
 * shell_on_ready()".
 */
int shell_pollfds(const struct shell_proc *p, struct pollfd *fds, int max);

/*
 * Make progress; call when one of its fds is ready, or at any time.  Reads
 * the output that is there without blocking (at most 256 KiB per call, so
 * a chatty command cannot starve the loop: its fd stays ready), and when
 * the shell has exited: drains what is readable, closes the pipe and reaps
 * the shell with waitpid.  Background processes that outlive the shell are
 * not waited for, and get EPIPE/SIGPIPE if they write later.  If
 * shell_signal() was called before the shell exited, whatever is left in
 * its process group is sent SIGKILL just before the reap, so a cancelled or
 * timed-out run leaves nothing behind.
 * Returns TC_AGAIN while running, 0 once finished (then it stays 0).
 */
int shell_on_ready(struct shell_proc *p) TC_MUST_CHECK;

/*
 * Send signo to the whole process group of the command (SIGTERM is
 * followed by SIGCONT, so that stopped processes see it).  Does nothing
 * once the shell has been reaped: its pid, the group id, may by then
 * belong to another process group.  Errors (a group already gone) are
 * ignored.
 */
void shell_signal(struct shell_proc *p, int signo);

/* After shell_on_ready() returned 0. */

/* Exit status, or 128+N when killed by signal N; -1 while running, or when
 * the status was lost (something else in the process reaped the child). */
int shell_exit_code(const struct shell_proc *p);
int shell_term_signal(const struct shell_proc *p); /* signal that killed the shell, or 0 */

/*
 * How it ended, for the execution row: "exited with code 3", "killed by
 * signal 9 (SIGKILL)", "running", "exit status lost".  No ", core dumped"
 * in practice: the status is the supervisor's, which passes the shell's
 * signal on but never dumps core itself.  Writes into buf (truncated to
 * size) and returns buf.
 */
const char *shell_describe_status(const struct shell_proc *p, char *buf, size_t size);

/*
 * The tail of stdout and stderr, interleaved as written, as tailbuf_text()
 * gives it (valid UTF-8, no NUL, drop marker).  Owned by the caller.  May
 * be called while running (a snapshot) and more than once.  NULL when out
 * of memory.
 */
char *shell_take_output(const struct shell_proc *p);

/* Bytes of output read so far, kept or dropped: grows with every write. */
uint64_t shell_output_bytes(const struct shell_proc *p);

pid_t shell_pid(const struct shell_proc *p); /* the supervisor's; also the process group id */

/*
 * Release everything.  A shell still running is sent SIGKILL (its whole
 * group) and reaped, which blocks until the kernel has killed it.  NULL is
 * fine.
 */
void shell_free(struct shell_proc *p);

#endif
