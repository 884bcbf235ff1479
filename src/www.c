/* www.c - static files of the admin pages (see www.h).
 *
 * Files are read whole on each request: the pages are a few small files,
 * and reading them anew means an upgraded package is served at once.  The
 * directory is opened once; a name is checked segment by segment, then
 * opened below it one segment at a time with O_NOFOLLOW.
 */
#include <autoconfig.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "www.h"

#define WWW_MAX_PATH 200
#define WWW_MAX_FILE (8 * 1024 * 1024)

struct www {
    int dir_fd; /* owned */
};

struct www *
www_open(const char *dir, char *err, size_t errsize)
{
    struct www *www;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (fd < 0) {
        snprintf(err, errsize, "%s: %s", dir, strerror(errno));
        return NULL;
    }
    if ((www = calloc(1, sizeof(*www))) == NULL) {
        snprintf(err, errsize, "out of memory");
        close(fd);
        return NULL;
    }
    www->dir_fd = fd;
    return www;
}

void
www_close(struct www *www)
{
    if (www == NULL)
        return;
    close(www->dir_fd);
    free(www);
}

static int
name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '_' || c == '-';
}

/* Copy path, without its leading '/', into rel when every segment is a
 * plain name: not empty, no leading dot (so no "..", "." or hidden file),
 * only name characters.  0 when it is, -1 otherwise. */
static int
relative_name(const char *path, char *rel, size_t relsize)
{
    size_t n = 0;
    int seg_start = 1;

    if (path[0] != '/')
        return -1;
    if (strcmp(path, "/") == 0)
        path = "/index.html";
    for (const char *p = path + 1; *p != '\0'; p++) {
        if (*p == '/') {
            if (seg_start)
                return -1;
            seg_start = 1;
        } else {
            if (!name_char(*p) || (seg_start && *p == '.'))
                return -1;
            seg_start = 0;
        }
        if (n + 1 >= relsize)
            return -1;
        rel[n++] = *p;
    }
    if (n == 0 || seg_start)
        return -1;
    rel[n] = '\0';
    return 0;
}

static const char *
content_type(const char *name)
{
    static const struct {
        const char *ext, *type;
    } types[] = {
        { ".html", "text/html; charset=utf-8" },
        { ".js", "text/javascript; charset=utf-8" },
        { ".css", "text/css; charset=utf-8" },
        { ".svg", "image/svg+xml" },
        { ".png", "image/png" },
        { ".ico", "image/x-icon" },
        { ".json", "application/json" },
        { ".txt", "text/plain; charset=utf-8" },
    };
    const char *dot = strrchr(name, '.');

    for (size_t i = 0; dot != NULL && i < sizeof(types) / sizeof(types[0]); i++) {
        if (strcmp(dot, types[i].ext) == 0)
            return types[i].type;
    }
    return "application/octet-stream";
}

/* Open rel (checked by relative_name) below the pages' directory one
 * segment at a time, never following a symbolic link: a link inside
 * www_dir cannot lead out of it.  -1 when any step fails. */
static int
open_beneath(int dir_fd, char *rel)
{
    int fd = dir_fd, next;
    char *seg = rel, *slash;

    while ((slash = strchr(seg, '/')) != NULL) {
        *slash = '\0';
        next = openat(fd, seg, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        *slash = '/';
        if (fd != dir_fd)
            close(fd);
        if (next < 0)
            return -1;
        fd = next;
        seg = slash + 1;
    }
    next = openat(fd, seg, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (fd != dir_fd)
        close(fd);
    return next;
}

static void
not_found(struct http_response *resp)
{
    static const char body[] =
        "{\"error\":{\"code\":\"not_found\",\"message\":\"no such page\"}}";

    if (http_set_body(resp, 404, "application/json", body, sizeof(body) - 1) < 0)
        resp->status = 500;
}

void
www_serve(const struct www *www, const struct http_request *req, struct http_response *resp)
{
    char rel[WWW_MAX_PATH + 1], etag[64];
    const char *match;
    struct stat st;
    char *buf = NULL;
    size_t got = 0;
    int fd = -1;

    if (relative_name(req->path, rel, sizeof(rel)) < 0 ||
        (fd = open_beneath(www->dir_fd, rel)) < 0 ||
        fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > WWW_MAX_FILE) {
        not_found(resp);
        goto out;
    }
    snprintf(etag, sizeof(etag), "\"%llx-%llx.%lx\"", (unsigned long long)st.st_size,
             (unsigned long long)st.st_mtim.tv_sec, (unsigned long)st.st_mtim.tv_nsec);
    /* Revalidated on every load, so a new version shows at once. */
    if (http_add_header(resp, "ETag", etag) < 0 ||
        http_add_header(resp, "Cache-Control", "no-cache") < 0) {
        resp->status = 500;
        goto out;
    }
    match = http_header(req, "If-None-Match");
    if (match != NULL && strcmp(match, etag) == 0) {
        resp->status = 304;
        resp->content_type = content_type(rel);
        goto out;
    }
    if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
        resp->status = 500;
        goto out;
    }
    while (got < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    if (got != (size_t)st.st_size) {
        resp->status = 500;
        goto out;
    }
    free(resp->body);
    resp->body = buf;
    resp->body_len = got;
    resp->status = 200;
    resp->content_type = content_type(rel);
    buf = NULL;
out:
    free(buf);
    if (fd >= 0)
        close(fd);
}
