/* cli_cron.c - `tablecron cron next|check`, a thin shell over schedule.c.
 *
 *   tablecron cron next EXPR [--tz ZONE] [--from TIME] [--count N]
 *   tablecron cron check EXPR [--tz ZONE]
 *
 * Output is one ISO 8601 time per line with the zone's offset, so it can be
 * compared with other tools and read by scripts.  EXPR "-" reads one
 * schedule per line from stdin (optionally "FROM<TAB>EXPR") and prints one
 * line per input line: the times separated by spaces, "none", or
 * "error: MSG at POS".  The differential tests use that to avoid a process
 * per expression.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli_cron.h"
#include "schedule.h"

#define CLI_COUNT_MAX 100000
#define CLI_LINE_MAX 4096

struct cli_cron_opts {
    const char *expr; /* borrowed from argv */
    const char *zone; /* borrowed from argv; NULL = UTC */
    const char *from; /* borrowed from argv; NULL = now */
    long count;
};

static void
cli_cron_usage(FILE *out, const char *sub)
{
    if (sub == NULL || strcmp(sub, "next") == 0)
        fprintf(out, "usage: tablecron cron next EXPR [--tz ZONE] [--from TIME] [--count N]\n");
    if (sub == NULL || strcmp(sub, "check") == 0)
        fprintf(out, "%s tablecron cron check EXPR [--tz ZONE]\n",
                sub == NULL ? "      " : "usage:");
    fprintf(out, "\n");
    if (sub == NULL || strcmp(sub, "next") == 0)
        fprintf(out,
                "next prints the next N fire times (default 5) strictly after TIME, one\n"
                "per line in ISO 8601 with the zone's offset.  TIME is ISO 8601 with an\n"
                "offset or Z (2026-03-07T00:00:00Z), a local time in ZONE without one,\n"
                "or 'now' (the default).  EXPR '-' reads schedules from stdin, one per\n"
                "line (optionally FROM<TAB>EXPR), and prints one line for each: the\n"
                "times separated by spaces, 'none', or 'error: MSG at POS'.\n\n");
    if (sub == NULL || strcmp(sub, "check") == 0)
        fprintf(out,
                "check validates EXPR and ZONE, prints nothing and exits 0 if both are good.\n\n");
    fprintf(out,
            "EXPR is a cron expression of 5, 6 (leading seconds) or 7 (trailing year)\n"
            "fields, a macro (@daily, @hourly, ...), '@every 1h30m' or\n"
            "'@at 2027-01-01T09:00:00+08:00'; quote it.  ZONE is an IANA name such as\n"
            "Europe/London (default UTC).  See docs/schedules.md.\n\n"
            "Exit status: 0 ok; 2 bad usage or bad expression (the error and its\n"
            "0-based position go to stderr); 1 other errors, or no fire time at all.\n");
}

/* "bad thing at N", then the text with a caret under position N when the
 * text is plain enough for the caret to line up. */
static void
cli_cron_show_error(const char *what, const char *text, int pos, const char *msg)
{
    size_t i, len = strlen(text);
    int plain = len < 200;

    fprintf(stderr, "tablecron cron: %s%s at %d\n", what, msg, pos);
    for (i = 0; i < len && plain; i++)
        plain = (unsigned char)text[i] >= ' ' && (unsigned char)text[i] < 0x7f;
    if (!plain || pos < 0 || (size_t)pos > len)
        return;
    fprintf(stderr, "  %s\n  %*s^\n", text, pos, "");
}

/* Options may come before or after EXPR, as "--tz ZONE" or "--tz=ZONE".
 * Parsed by hand rather than with getopt_long: main.c has already run
 * getopt over the global flags, and an expression such as "-5 * * * *"
 * must not be mistaken for options.  allow_from is 0 for `check`, which
 * takes only --tz.  Errors are printed; returns 0 or -1. */
static int
cli_cron_parse_args(int argc, char **argv, struct cli_cron_opts *o, int allow_from)
{
    int i, no_more_opts = 0;

    memset(o, 0, sizeof(*o));
    o->count = 5;
    for (i = 2; i < argc; i++) {
        const char *a = argv[i];
        const char *val = NULL;
        const char *name = NULL;

        if (!no_more_opts && strcmp(a, "--") == 0) {
            no_more_opts = 1;
            continue;
        }
        if (!no_more_opts && strncmp(a, "--", 2) == 0) {
            const char *eq = strchr(a, '=');
            size_t n = eq != NULL ? (size_t)(eq - a) : strlen(a);
            static const char *const known[] = { "--tz", "--from", "--count" };
            size_t k;

            for (k = 0; k < TC_ARRAY_LEN(known); k++) {
                if (strlen(known[k]) == n && strncmp(a, known[k], n) == 0)
                    name = known[k];
            }
            if (name == NULL || (!allow_from && strcmp(name, "--tz") != 0)) {
                fprintf(stderr, "tablecron cron %s: unknown option '%.*s'\n", argv[1], (int)n, a);
                return -1;
            }
            if (eq != NULL) {
                val = eq + 1;
            } else if (i + 1 < argc) {
                val = argv[++i];
            } else {
                fprintf(stderr, "tablecron cron %s: %s needs a value\n", argv[1], name);
                return -1;
            }
            if (strcmp(name, "--tz") == 0) {
                o->zone = val;
            } else if (strcmp(name, "--from") == 0) {
                o->from = val;
            } else {
                char *end;

                errno = 0;
                o->count = strtol(val, &end, 10);
                if (errno != 0 || end == val || *end != '\0' || o->count < 1 ||
                    o->count > CLI_COUNT_MAX) {
                    fprintf(stderr, "tablecron cron %s: --count must be 1 to %d\n", argv[1],
                            CLI_COUNT_MAX);
                    return -1;
                }
            }
            continue;
        }
        if (o->expr != NULL) {
            fprintf(stderr,
                    "tablecron cron %s: one expression expected, got '%s' too (quote the "
                    "expression)\n",
                    argv[1], a);
            return -1;
        }
        o->expr = a;
    }
    if (o->expr == NULL) {
        fprintf(stderr, "tablecron cron %s: missing EXPR\n", argv[1]);
        return -1;
    }
    return 0;
}

/* --from: "now", ISO 8601 with an offset, or a local time in the zone. */
static int
cli_cron_from(const char *text, const struct tz *zone, int64_t *out)
{
    struct tz_error err;

    if (text == NULL || strcmp(text, "now") == 0) {
        *out = (int64_t)time(NULL);
        return 0;
    }
    if (tz_parse_time(zone, text, out, &err) < 0) {
        cli_cron_show_error("--from: ", text, err.pos, err.msg);
        return -1;
    }
    return 0;
}

/* Up to count fire times after `from`; returns how many were printed, -1 on
 * an output error.  Each time becomes the previous scheduled time of the
 * next call, as in the daemon, so @every keeps its grid and @at is consumed. */
static long
cli_cron_print_next(const struct schedule *s, int64_t from, long count, FILE *out, char sep)
{
    int64_t prev = SCHEDULE_NONE;
    int64_t t = from;
    char buf[64];
    long i;

    for (i = 0; i < count; i++) {
        int64_t next;

        if (schedule_next(s, prev, t, &next) < 0)
            break;
        if (tz_format_time(schedule_zone(s), next, buf, sizeof(buf)) < 0)
            return -1;
        if (fprintf(out, "%s%s", i > 0 ? (sep == '\n' ? "\n" : " ") : "", buf) < 0)
            return -1;
        prev = t = next;
    }
    if (i > 0 && sep == '\n')
        fputc('\n', out);
    return i;
}

/* EXPR "-": one schedule per stdin line, one result line each. */
static int
cli_cron_batch(const struct cli_cron_opts *o, const struct tz *zone, int64_t default_from)
{
    char line[CLI_LINE_MAX];
    int rc = 0;

    while (fgets(line, sizeof(line), stdin) != NULL) {
        struct schedule_error err;
        struct schedule *s;
        char *expr = line;
        char *tab;
        int64_t from = default_from;
        long n;

        line[strcspn(line, "\r\n")] = '\0';
        if ((tab = strchr(line, '\t')) != NULL) {
            struct tz_error terr;

            *tab = '\0';
            expr = tab + 1;
            if (tz_parse_time(zone, line, &from, &terr) < 0) {
                printf("error: bad time: %s at %d\n", terr.msg, terr.pos);
                continue;
            }
        }
        if ((s = schedule_parse(expr, o->zone, &err)) == NULL) {
            printf("error: %s at %d\n", err.msg, err.pos);
            continue;
        }
        n = cli_cron_print_next(s, from, o->count, stdout, ' ');
        schedule_free(s);
        if (n < 0) {
            rc = 1;
            break;
        }
        if (n == 0)
            fputs("none", stdout);
        fputc('\n', stdout);
    }
    if (fflush(stdout) != 0)
        rc = 1;
    return rc;
}

static int
cli_cron_next(int argc, char **argv)
{
    struct cli_cron_opts o;
    struct schedule_error err;
    struct schedule *s = NULL;
    int64_t from;
    long n;
    int rc = 2;

    if (cli_cron_parse_args(argc, argv, &o, 1) < 0)
        goto out;
    /* Parse with the zone first: --from without an offset is local to it. */
    s = schedule_parse(strcmp(o.expr, "-") == 0 ? "@hourly" : o.expr, o.zone, &err);
    if (s == NULL) {
        if (err.part == SCHEDULE_PART_ZONE)
            cli_cron_show_error("--tz: ", o.zone, err.pos, err.msg);
        else
            cli_cron_show_error("", o.expr, err.pos, err.msg);
        goto out;
    }
    if (cli_cron_from(o.from, schedule_zone(s), &from) < 0)
        goto out;
    if (strcmp(o.expr, "-") == 0) {
        rc = cli_cron_batch(&o, schedule_zone(s), from);
        goto out;
    }
    n = cli_cron_print_next(s, from, o.count, stdout, '\n');
    if (fflush(stdout) != 0 || n < 0) {
        fprintf(stderr, "tablecron cron next: cannot write the output\n");
        rc = 1;
        goto out;
    }
    if (n < o.count && schedule_is_manual(s)) {
        fprintf(stderr, "tablecron cron next: @manual never fires by itself: a job with it runs "
                        "when made due (run now, or an upstream job's run)\n");
    } else if (n < o.count) {
        char buf[64];

        if (tz_format_time(schedule_zone(s), from, buf, sizeof(buf)) < 0)
            buf[0] = '\0';
        fprintf(stderr, "tablecron cron next: %s fire time%s after %s (the search ends in 2199)\n",
                n == 0 ? "no" : "no more", n == 0 ? "" : "s", buf);
    }
    rc = n == 0 ? 1 : 0;
out:
    schedule_free(s);
    return rc;
}

static int
cli_cron_check(int argc, char **argv)
{
    struct cli_cron_opts o;
    struct schedule_error err;
    struct schedule *s;

    if (cli_cron_parse_args(argc, argv, &o, 0) < 0)
        return 2;
    if ((s = schedule_parse(o.expr, o.zone, &err)) == NULL) {
        if (err.part == SCHEDULE_PART_ZONE)
            cli_cron_show_error("--tz: ", o.zone, err.pos, err.msg);
        else
            cli_cron_show_error("", o.expr, err.pos, err.msg);
        return 2;
    }
    schedule_free(s);
    return 0;
}

static int
cli_cron_wants_help(int argc, char **argv)
{
    int i;

    for (i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            return 0;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return 1;
    }
    return 0;
}

int
cli_cron_main(int argc, char **argv)
{
    if (argc < 2) {
        cli_cron_usage(stderr, NULL);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        cli_cron_usage(stdout, NULL);
        return 0;
    }
    if (strcmp(argv[1], "next") == 0 || strcmp(argv[1], "check") == 0) {
        if (cli_cron_wants_help(argc, argv)) {
            cli_cron_usage(stdout, argv[1]);
            return 0;
        }
        if (strcmp(argv[1], "next") == 0)
            return cli_cron_next(argc, argv);
        return cli_cron_check(argc, argv);
    }
    fprintf(stderr, "tablecron cron: unknown command '%s' (use next or check)\n", argv[1]);
    return 2;
}
