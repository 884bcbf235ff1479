/* casefile.h - read a data file of test cases, one case per line.
 *
 *   # comment
 *   col 0 | col 1 | ... | last column (keeps any further '|')
 *
 * Columns are trimmed.  The file is the program's first argument, or
 * $srcdir/tests/data/NAME (automake exports srcdir to tests, and a distcheck
 * build runs from another directory).  A file that cannot be read ends the
 * program with exit code 99, which the test driver reports as a hard error.
 */
#ifndef TC_CASEFILE_H
#define TC_CASEFILE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CASEFILE_MAX_COLS 10
#define CASEFILE_MAX_LINE 2048

struct case_line {
    int line;                     /* 1-based line number, for messages */
    char *text;                   /* the whole line, for messages */
    char *col[CASEFILE_MAX_COLS]; /* point into one copy of the line */
    int ncol;
};

struct case_file {
    char path[4096];
    struct case_line *lines;      /* lives until exit: the tests index it */
    int count;
};

static inline char *
casefile_trim(char *s)
{
    char *e;

    while (*s == ' ' || *s == '\t')
        s++;
    e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
        *--e = '\0';
    return s;
}

/* Split into at most max_cols columns (max_cols <= CASEFILE_MAX_COLS). */
static inline void
casefile_load(struct case_file *cf, int argc, char **argv, const char *name, int max_cols)
{
    const char *srcdir = getenv("srcdir");
    char buf[CASEFILE_MAX_LINE];
    FILE *fp;
    int line = 0, cap = 0;

    if (argc > 1)
        snprintf(cf->path, sizeof(cf->path), "%s", argv[1]);
    else
        snprintf(cf->path, sizeof(cf->path), "%s/tests/data/%s", srcdir ? srcdir : ".", name);
    cf->lines = NULL;
    cf->count = 0;
    if ((fp = fopen(cf->path, "r")) == NULL) {
        fprintf(stderr, "cannot open %s (set srcdir or pass the file)\n", cf->path);
        exit(99);
    }
    while (fgets(buf, sizeof(buf), fp) != NULL) {
        struct case_line *c;
        char *p, *t = casefile_trim(buf);

        line++;
        if (*t == '\0' || *t == '#')
            continue;
        if (cf->count == cap) {
            cap = cap ? cap * 2 : 256;
            if ((cf->lines = realloc(cf->lines, (size_t)cap * sizeof(*cf->lines))) == NULL)
                exit(99);
        }
        c = &cf->lines[cf->count++];
        memset(c, 0, sizeof(*c));
        c->line = line;
        if ((c->text = strdup(t)) == NULL || (p = strdup(t)) == NULL)
            exit(99);
        for (;;) {
            char *bar = c->ncol < max_cols - 1 ? strchr(p, '|') : NULL;

            if (bar != NULL)
                *bar = '\0';
            c->col[c->ncol++] = casefile_trim(p);
            if (bar == NULL)
                break;
            p = bar + 1;
        }
    }
    fclose(fp);
}

#endif
