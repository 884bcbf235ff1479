/* cli_common.c - options, error lines, tables and JSON for the operator
 * commands.  See cli_common.h for the conventions.
 */
#include <autoconfig.h>

#include <pwd.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_common.h"
#include "duration.h"
#include "pgjson.h"
#include "tz.h"

/* How long one-shot commands wait for the database (as main.c's migrate). */
#define CLI_CONNECT_GIVE_UP_MS 15000

struct cli_table {
    size_t ncols;
    size_t nrows;
    size_t cap;
    char **cells;  /* owned; (nrows + 1) * ncols, row 0 is the header */
    size_t *width; /* owned; display width of each column */
};

void
cli_error(const char *fmt, ...)
{
    va_list ap;

    fputs("tablecron: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static const struct cli_opt *
find_opt(const struct cli_opt *opts, size_t nopts, const char *arg, size_t len)
{
    for (size_t i = 0; i < nopts; i++) {
        if (strlen(opts[i].name) == len && strncmp(opts[i].name, arg, len) == 0)
            return &opts[i];
    }
    return NULL;
}

/* Append value to list, whose array is sized once for the largest argv. */
static int
list_append(struct cli_list *list, const char *value, int argc)
{
    if (list->items == NULL && (list->items = calloc((size_t)argc, sizeof(char *))) == NULL) {
        cli_error("out of memory");
        return -1;
    }
    list->items[list->n++] = value;
    return 0;
}

int
cli_parse_lists(const char *cmd, int argc, char **argv, int first, const struct cli_opt *opts,
                size_t nopts, struct cli_list *lists, size_t nlists, const char **args,
                int max_args, int *nargs)
{
    int options_done = 0;

    *nargs = 0;
    /* --help wins over everything else, even over mistakes before it. */
    for (int i = first; i < argc && strcmp(argv[i], "--") != 0; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return 1;
    }
    for (int i = first; i < argc; i++) {
        const char *a = argv[i], *value;
        const struct cli_opt *o;
        struct cli_list *list = NULL;
        const char *eq, *name;
        size_t len;

        if (!options_done && strcmp(a, "--") == 0) {
            options_done = 1;
            continue;
        }
        if (options_done || a[0] != '-' || a[1] == '\0') {
            if (*nargs >= max_args) {
                cli_error("%s: unexpected argument '%s' (see 'tablecron %s --help')", cmd, a,
                          cmd);
                return -1;
            }
            args[(*nargs)++] = a;
            continue;
        }
        eq = strchr(a, '=');
        len = eq != NULL ? (size_t)(eq - a) : strlen(a);
        o = find_opt(opts, nopts, a, len);
        for (size_t k = 0; o == NULL && list == NULL && k < nlists; k++) {
            if (strlen(lists[k].name) == len && strncmp(lists[k].name, a, len) == 0)
                list = &lists[k];
        }
        if (o == NULL && list == NULL) {
            cli_error("%s: unknown option '%.*s' (see 'tablecron %s --help')", cmd, (int)len, a,
                      cmd);
            return -1;
        }
        name = o != NULL ? o->name : list->name;
        if (o != NULL && o->value == NULL) {
            if (eq != NULL) {
                cli_error("%s: %s takes no value", cmd, name);
                return -1;
            }
            *o->flag = 1;
            continue;
        }
        if (eq != NULL) {
            value = eq + 1;
        } else if (i + 1 < argc) {
            value = argv[++i];
        } else {
            cli_error("%s: %s needs a value", cmd, name);
            return -1;
        }
        if (o != NULL)
            *o->value = value;
        else if (list_append(list, value, argc) < 0)
            return -1;
    }
    return 0;
}

int
cli_parse(const char *cmd, int argc, char **argv, int first, const struct cli_opt *opts,
          size_t nopts, const char **args, int max_args, int *nargs)
{
    return cli_parse_lists(cmd, argc, argv, first, opts, nopts, NULL, 0, args, max_args, nargs);
}

void
cli_list_reset(struct cli_list *list)
{
    free(list->items);
    list->items = NULL;
    list->n = 0;
}

struct db *
cli_connect(const struct config *cfg)
{
    struct db *db = db_new(cfg->db);

    if (db == NULL) {
        cli_error("out of memory");
        return NULL;
    }
    if (db_connect(db, CLI_CONNECT_GIVE_UP_MS) < 0) {
        const char *msg = db_last_message(db);
        /* libpq adds hints on further lines; the error stays one line. */
        cli_error("cannot connect to the database: %.*s", (int)strcspn(msg, "\n"), msg);
        db_free(db);
        return NULL;
    }
    return db;
}

void
cli_db_error(struct db *db)
{
    const char *msg = db_last_message(db);

    if (msg[0] == '\0')
        msg = "unknown error";
    cli_error("database error: %.*s", (int)strcspn(msg, "\n"), msg);
}

void
cli_format_utc(int64_t t, char *buf, size_t size)
{
    struct tz_civil c;

    tz_civil_from_seconds(t, &c);
    snprintf(buf, size, "%04lld-%02d-%02dT%02d:%02d:%02dZ", (long long)c.year, c.mon, c.mday,
             c.hour, c.min, c.sec);
}

void
cli_format_ms(int64_t ms, char *buf, size_t size)
{
    if (ms < 0)
        ms = 0;
    if (ms < 60000) {
        snprintf(buf, size, "%lld.%02llds", (long long)(ms / 1000),
                 (long long)(ms % 1000 / 10));
        return;
    }
    /* Whole seconds are enough once a run takes minutes. */
    if (duration_format(ms / 1000 * 1000000, buf, size) < 0)
        snprintf(buf, size, "%llds", (long long)(ms / 1000));
}

/* Display width of UTF-8 text: code points, not bytes, so that names with
 * accents still line up (wide characters are rare in these columns). */
static size_t
display_width(const char *s)
{
    size_t n = 0;

    for (; *s != '\0'; s++) {
        if (((unsigned char)*s & 0xc0) != 0x80)
            n++;
    }
    return n;
}

/* A cell as one clean line: first line only, control characters blanked. */
static char *
clean_cell(const char *text)
{
    size_t len;
    char *out;

    if (text == NULL)
        text = "-";
    len = strcspn(text, "\r\n");
    if ((out = malloc(len + 1)) == NULL)
        return NULL;
    for (size_t i = 0; i < len; i++)
        out[i] = (unsigned char)text[i] < ' ' || text[i] == 0x7f ? ' ' : text[i];
    out[len] = '\0';
    return out;
}

struct cli_table *
cli_table_new(size_t ncols, const char *const *headers)
{
    struct cli_table *t = calloc(1, sizeof(*t));

    if (t == NULL)
        return NULL;
    t->ncols = ncols;
    if ((t->width = calloc(ncols, sizeof(*t->width))) == NULL) {
        free(t);
        return NULL;
    }
    /* The header is row 0 and is added like any other row. */
    t->nrows = 0;
    if (cli_table_add(t, headers) < 0) {
        cli_table_free(t);
        return NULL;
    }
    return t;
}

int
cli_table_add(struct cli_table *t, const char *const *cells)
{
    size_t base;

    if (t->nrows + 1 > t->cap) {
        size_t cap = t->cap == 0 ? 16 : t->cap * 2;
        char **grown = realloc(t->cells, cap * t->ncols * sizeof(*grown));
        if (grown == NULL)
            return -1;
        t->cells = grown;
        t->cap = cap;
    }
    base = t->nrows * t->ncols;
    for (size_t c = 0; c < t->ncols; c++) {
        if ((t->cells[base + c] = clean_cell(cells[c])) == NULL) {
            while (c-- > 0)
                free(t->cells[base + c]);
            return -1;
        }
    }
    for (size_t c = 0; c < t->ncols; c++) {
        size_t w = display_width(t->cells[base + c]);
        if (w > t->width[c])
            t->width[c] = w;
    }
    t->nrows++;
    return 0;
}

int
cli_table_print(const struct cli_table *t, FILE *out)
{
    for (size_t r = 0; r < t->nrows; r++) {
        for (size_t c = 0; c < t->ncols; c++) {
            const char *cell = t->cells[r * t->ncols + c];
            /* The last column is not padded: no trailing blanks. */
            if (c + 1 == t->ncols) {
                fputs(cell, out);
            } else {
                fputs(cell, out);
                for (size_t w = display_width(cell); w < t->width[c] + 2; w++)
                    fputc(' ', out);
            }
        }
        fputc('\n', out);
    }
    return ferror(out) ? -1 : 0;
}

void
cli_table_free(struct cli_table *t)
{
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->nrows * t->ncols; i++)
        free(t->cells[i]);
    free(t->cells);
    free(t->width);
    free(t);
}

json_t *
cli_json_row(const PGresult *res, int row)
{
    return pgjson_row(res, row);
}

json_t *
cli_json_rows(const PGresult *res)
{
    return pgjson_rows(res);
}

int
cli_json_print(const json_t *doc)
{
    /* JSON_PRESERVE_ORDER: keys stay in column order, as in the table. */
    if (json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER) < 0)
        return -1;
    fputc('\n', stdout);
    return ferror(stdout) ? -1 : 0;
}

const char *
cli_field(const PGresult *res, int row, const char *name)
{
    int col = PQfnumber(res, name);

    if (col < 0 || PQgetisnull(res, row, col))
        return NULL;
    return PQgetvalue(res, row, col);
}

int
cli_output(const PGresult *res, int json, int single, int (*print)(const PGresult *res))
{
    json_t *doc;
    int rc;

    if (!json)
        return print(res);
    if ((doc = single ? cli_json_row(res, 0) : cli_json_rows(res)) == NULL)
        return -1;
    rc = cli_json_print(doc);
    json_decref(doc);
    return rc;
}

int
cli_query_output(struct db *db, const char *sql, int nparams, const char *const *params, int json,
                 int (*print)(const PGresult *res))
{
    PGresult *res = db_query(db, sql, nparams, params);
    int rc = CLI_EXIT_FAILED;

    if (res == NULL)
        cli_db_error(db);
    else if (cli_output(res, json, 0, print) == 0)
        rc = CLI_EXIT_OK;
    PQclear(res);
    return rc;
}

int
cli_print_columns(const PGresult *res, const char *const *headers, const char *const *columns,
                  size_t ncols)
{
    struct cli_table *t = cli_table_new(ncols, headers);
    const char **cells = calloc(ncols, sizeof(*cells));
    int rc = -1;

    if (t == NULL || cells == NULL)
        goto out;
    for (int r = 0; r < PQntuples(res); r++) {
        for (size_t c = 0; c < ncols; c++)
            cells[c] = cli_field(res, r, columns[c]);
        if (cli_table_add(t, cells) < 0)
            goto out;
    }
    rc = cli_table_print(t, stdout);
out:
    free(cells);
    cli_table_free(t);
    return rc;
}

void
cli_actor(char *buf, size_t size)
{
    struct passwd *pw = getpwuid(geteuid());

    if (pw != NULL && pw->pw_name != NULL)
        snprintf(buf, size, "cli:%s", pw->pw_name);
    else
        snprintf(buf, size, "cli:uid%ld", (long)geteuid());
}

static void
group_usage(FILE *out, const char *group, const struct cli_cmd *cmds, size_t ncmds,
            const char *footer)
{
    fprintf(out, "usage: tablecron %s COMMAND [args]\n\ncommands:\n", group);
    for (size_t i = 0; i < ncmds; i++)
        fprintf(out, "  %-8s %s\n", cmds[i].name, cmds[i].summary);
    fprintf(out, "\n'tablecron %s COMMAND --help' describes each command.\n%s", group,
            footer != NULL ? footer : "");
}

int
cli_dispatch(const struct cli_cmd *cmds, size_t ncmds, const char *footer, struct config *cfg,
             int argc, char **argv)
{
    const char *name;

    if (argc < 2) {
        group_usage(stderr, argv[0], cmds, ncmds, footer);
        return CLI_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        group_usage(stdout, argv[0], cmds, ncmds, footer);
        return CLI_EXIT_OK;
    }
    /* "list" is the name people type first. */
    name = strcmp(argv[1], "list") == 0 ? "ls" : argv[1];
    for (size_t i = 0; i < ncmds; i++) {
        if (strcmp(cmds[i].name, name) == 0)
            return cmds[i].run(&cmds[i], cfg, argc, argv);
    }
    cli_error("%s: unknown command '%s' (see 'tablecron %s --help')", argv[0], argv[1], argv[0]);
    return CLI_EXIT_USAGE;
}

int
cli_cmd_parse(const struct cli_cmd *cmd, int argc, char **argv, const struct cli_opt *opts,
              size_t nopts, const char **args, int min_args, int max_args, int *nargs)
{
    char name[64];

    snprintf(name, sizeof(name), "%s %s", argv[0], cmd->name);
    switch (cli_parse(name, argc, argv, 2, opts, nopts, args, max_args, nargs)) {
    case 1:
        printf("usage: tablecron %s %s\n\n%s", name, cmd->usage, cmd->help);
        return CLI_EXIT_OK;
    case -1:
        return CLI_EXIT_USAGE;
    }
    if (*nargs < min_args) {
        cli_error("%s: missing arguments: tablecron %s %s (see 'tablecron %s --help')", name,
                  name, cmd->usage, name);
        return CLI_EXIT_USAGE;
    }
    return -1;
}
