/* alert_send.c - webhook POSTs and sendmail messages for the alerter
 * (see alert_send.h).
 *
 * Webhooks of a batch run together in one libcurl multi handle, kept
 * between batches so that connections to the same host are reused; each
 * transfer has its own connect and total timeouts, and only http:// and
 * https:// are allowed, without redirects (a webhook that moved is an
 * error to see, not to follow).  Answers are read up to a few KiB: enough
 * for an error message, and for the chat services that answer 200 with an
 * error code in the body (DingTalk's errcode, Feishu's code).
 *
 * Email goes to `sendmail -t -i`: the recipients come from the To: header,
 * and a line holding a single dot does not end the message.  The message
 * is plain UTF-8 text; a subject that is not ASCII is MIME-encoded.
 */
#include <autoconfig.h>

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "alert_send.h"
#include "base64.h"
#include "clock.h"
#include "log.h"
#include "strbuf.h"

/* What is kept of an answer or of sendmail's output. */
#define ANSWER_MAX 4096

extern char **environ;

struct alert_sender {
    char *sendmail_path;     /* owned */
    char from_default[300];  /* tablecron@<host name> */
    CURLM *multi;            /* owned; kept for its connection cache */
    int wake[2];             /* self-pipe: a byte means "interrupted" */
    atomic_int interrupted;
};

/* One webhook transfer of a batch. */
struct transfer {
    struct alert_msg *msg;      /* borrowed */
    CURL *easy;                 /* owned */
    struct curl_slist *headers; /* owned */
    char *body;                 /* owned: libcurl sends from here */
    char answer[ANSWER_MAX + 1];
    size_t answer_len;
    char errbuf[CURL_ERROR_SIZE];
    int started;                /* in the multi handle */
    int done;
    CURLcode result;
};

/* --- bodies --- */

char *
alert_webhook_body(const char *template_, const char *subject, const char *message,
                   const json_t *document)
{
    json_t *body = NULL;
    char *text = NULL, *out = NULL;
    size_t n;

    if (strcmp(template_, "json") == 0)
        return json_dumps(document, JSON_COMPACT);
    n = strlen(subject) + 1 + strlen(message) + 1;
    if ((text = malloc(n)) == NULL)
        return NULL;
    snprintf(text, n, "%s\n%s", subject, message);
    if (strcmp(template_, "slack") == 0)
        body = json_pack("{s:s}", "text", text);
    else if (strcmp(template_, "dingtalk") == 0)
        body = json_pack("{s:s, s:{s:s}}", "msgtype", "text", "text", "content", text);
    else if (strcmp(template_, "feishu") == 0)
        body = json_pack("{s:s, s:{s:s}}", "msg_type", "text", "content", "text", text);
    if (body != NULL)
        out = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    free(text);
    return out;
}

/* --- the sender --- */

struct alert_sender *
alert_sender_new(const char *sendmail_path)
{
    struct alert_sender *s = calloc(1, sizeof(*s));
    char host[256];

    if (s == NULL)
        return NULL;
    s->wake[0] = s->wake[1] = -1;
    if ((s->sendmail_path = strdup(sendmail_path)) == NULL ||
        pipe2(s->wake, O_CLOEXEC | O_NONBLOCK) < 0 || (s->multi = curl_multi_init()) == NULL) {
        alert_sender_free(s);
        return NULL;
    }
    if (gethostname(host, sizeof(host)) < 0 || host[0] == '\0')
        snprintf(host, sizeof(host), "localhost");
    host[sizeof(host) - 1] = '\0';
    snprintf(s->from_default, sizeof(s->from_default), "tablecron@%s", host);
    return s;
}

void
alert_sender_free(struct alert_sender *s)
{
    if (s == NULL)
        return;
    if (s->multi != NULL)
        curl_multi_cleanup(s->multi);
    if (s->wake[0] >= 0)
        close(s->wake[0]);
    if (s->wake[1] >= 0)
        close(s->wake[1]);
    free(s->sendmail_path);
    free(s);
}

void
alert_sender_interrupt(struct alert_sender *s)
{
    ssize_t ignored;

    atomic_store(&s->interrupted, 1);
    ignored = write(s->wake[1], "x", 1);
    (void)ignored;
    curl_multi_wakeup(s->multi);
}

static int
interrupted(struct alert_sender *s)
{
    return atomic_load(&s->interrupted);
}

static void
set_error(struct alert_msg *m, const char *fmt, ...) TC_PRINTF(2, 3);

static void
set_error(struct alert_msg *m, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(m->error, sizeof(m->error), fmt, ap);
    va_end(ap);
    m->ok = 0;
}

/* --- webhooks --- */

static size_t
on_answer(char *data, size_t size, size_t nmemb, void *userp)
{
    struct transfer *t = userp;
    size_t n = size * nmemb, room = ANSWER_MAX - t->answer_len;

    if (n < room)
        room = n;
    memcpy(t->answer + t->answer_len, data, room);
    t->answer_len += room;
    t->answer[t->answer_len] = '\0';
    return n; /* the rest is read and dropped */
}

/* The first line of an answer, cut to fit an error message, printable. */
static void
answer_excerpt(const struct transfer *t, char *out, size_t size)
{
    size_t i, n = 0;

    for (i = 0; i < t->answer_len && n + 1 < size && n < 200; i++) {
        unsigned char c = (unsigned char)t->answer[i];
        if (c == '\n' || c == '\r')
            break;
        out[n++] = c < ' ' ? ' ' : (char)c;
    }
    out[n] = '\0';
}

static int
transfer_setup(struct alert_sender *s, struct transfer *t)
{
    struct alert_msg *m = t->msg;
    char header[64];
    CURL *e;

    if ((t->body = alert_webhook_body(m->template_, m->subject, m->message, m->document)) == NULL) {
        set_error(m, "cannot build the %s body", m->template_);
        return -1;
    }
    if ((t->easy = e = curl_easy_init()) == NULL) {
        set_error(m, "out of memory");
        return -1;
    }
    snprintf(header, sizeof(header), "X-Tablecron-Alert: %lld", (long long)m->id);
    if ((t->headers = curl_slist_append(NULL, "Content-Type: application/json; charset=utf-8")) ==
            NULL ||
        curl_slist_append(t->headers, header) == NULL ||
        curl_slist_append(t->headers, "Expect:") == NULL ||
        curl_easy_setopt(e, CURLOPT_URL, m->url) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->headers) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_USERAGENT, "tablecron/" PACKAGE_VERSION) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(t->body)) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, t->body) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_answer) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_WRITEDATA, t) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->errbuf) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)ALERT_WEBHOOK_CONNECT_TIMEOUT_MS) !=
            CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)ALERT_WEBHOOK_TIMEOUT_MS) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_PRIVATE, t) != CURLE_OK) {
        set_error(m, "cannot set up the request");
        return -1;
    }
    if (curl_multi_add_handle(s->multi, e) != CURLM_OK) {
        set_error(m, "cannot start the request");
        return -1;
    }
    t->started = 1;
    return 0;
}

/* A chat service's own error code in a 200 answer: DingTalk's errcode,
 * Feishu's code (or StatusCode in its older answers).  0 when none. */
static int
chat_error(const struct transfer *t, char *why, size_t size)
{
    const char *tmpl = t->msg->template_;
    json_t *doc = json_loadb(t->answer, t->answer_len, 0, NULL), *code = NULL, *text = NULL;
    int bad = 0;

    if (doc == NULL || !json_is_object(doc))
        goto out;
    if (strcmp(tmpl, "dingtalk") == 0) {
        code = json_object_get(doc, "errcode");
        text = json_object_get(doc, "errmsg");
    } else if (strcmp(tmpl, "feishu") == 0) {
        if ((code = json_object_get(doc, "code")) == NULL)
            code = json_object_get(doc, "StatusCode");
        if ((text = json_object_get(doc, "msg")) == NULL)
            text = json_object_get(doc, "StatusMessage");
    }
    if (json_is_integer(code) && json_integer_value(code) != 0) {
        bad = 1;
        snprintf(why, size, "%s answered code %lld: %.200s", tmpl,
                 (long long)json_integer_value(code),
                 json_is_string(text) ? json_string_value(text) : "(no message)");
    }
out:
    json_decref(doc);
    return bad;
}

static void
transfer_finish(struct transfer *t)
{
    struct alert_msg *m = t->msg;
    char excerpt[256], why[300];
    long status = 0;

    if (m->interrupted)
        return;
    if (t->result != CURLE_OK) {
        set_error(m, "%s%s%s", curl_easy_strerror(t->result), t->errbuf[0] != '\0' ? ": " : "",
                  t->errbuf);
        return;
    }
    curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
    if (status < 200 || status > 299) {
        answer_excerpt(t, excerpt, sizeof(excerpt));
        set_error(m, "the webhook answered HTTP %ld%s%s", status, excerpt[0] != '\0' ? ": " : "",
                  excerpt);
        return;
    }
    if (chat_error(t, why, sizeof(why))) {
        set_error(m, "%s", why);
        return;
    }
    m->ok = 1;
    m->error[0] = '\0';
}

static void
send_webhooks(struct alert_sender *s, struct alert_msg *msgs, int n)
{
    struct transfer *ts = calloc((size_t)n, sizeof(*ts));
    int running = 0, active = 0;
    CURLMsg *info;
    int left;

    if (ts == NULL) {
        for (int i = 0; i < n; i++)
            if (strcmp(msgs[i].kind, "webhook") == 0)
                set_error(&msgs[i], "out of memory");
        return;
    }
    for (int i = 0; i < n; i++) {
        if (strcmp(msgs[i].kind, "webhook") != 0)
            continue;
        ts[i].msg = &msgs[i];
        if (transfer_setup(s, &ts[i]) == 0)
            active++;
        else
            ts[i].done = 1;
    }
    while (active > 0) {
        if (interrupted(s))
            break;
        if (curl_multi_perform(s->multi, &running) != CURLM_OK)
            break;
        while ((info = curl_multi_info_read(s->multi, &left)) != NULL) {
            struct transfer *t = NULL;
            if (info->msg != CURLMSG_DONE)
                continue;
            curl_easy_getinfo(info->easy_handle, CURLINFO_PRIVATE, (char **)&t);
            if (t == NULL || t->done)
                continue;
            t->done = 1;
            t->result = info->data.result;
            active--;
        }
        if (active > 0 && curl_multi_poll(s->multi, NULL, 0, 1000, NULL) != CURLM_OK)
            break;
    }
    for (int i = 0; i < n; i++) {
        struct transfer *t = &ts[i];
        if (t->msg == NULL)
            continue;
        if (t->started && !t->done) {
            /* Interrupted (shutdown): the alert stays to be sent. */
            t->msg->interrupted = 1;
            set_error(t->msg, "interrupted");
        } else if (t->started) {
            transfer_finish(t);
        } /* else: not started, the error is set */
        if (t->started)
            curl_multi_remove_handle(s->multi, t->easy);
        if (t->easy != NULL)
            curl_easy_cleanup(t->easy);
        curl_slist_free_all(t->headers);
        free(t->body);
    }
    free(ts);
}

/* --- email --- */

/* Text for a header: control characters (CR, LF...) become spaces, so a
 * value can never start another header. */
static void
header_text(struct strbuf *b, const char *text)
{
    for (const char *p = text; *p != '\0'; p++)
        strbuf_add(b, (unsigned char)*p < ' ' || *p == 0x7f ? " " : p, 1);
}

static int
is_ascii(const char *text)
{
    for (const unsigned char *p = (const unsigned char *)text; *p != '\0'; p++)
        if (*p >= 0x80)
            return 0;
    return 1;
}

/* Subject: as it is when ASCII, else RFC 2047 encoded words (base64 of
 * UTF-8), each short enough for a line, never splitting a character. */
static void
subject_header(struct strbuf *b, const char *subject)
{
    size_t len = strlen(subject), pos = 0;

    strbuf_puts(b, "Subject: ");
    if (is_ascii(subject)) {
        header_text(b, subject);
        strbuf_puts(b, "\n");
        return;
    }
    while (pos < len) {
        size_t n = len - pos > 45 ? 45 : len - pos;
        char *enc;

        /* Back up to the start of a UTF-8 character. */
        while (pos + n < len && n > 1 && ((unsigned char)subject[pos + n] & 0xc0) == 0x80)
            n--;
        if ((enc = base64_encode(subject + pos, n)) == NULL) {
            b->failed = 1;
            return;
        }
        strbuf_printf(b, "%s=?UTF-8?B?%s?=", pos > 0 ? "\n " : "", enc);
        free(enc);
        pos += n;
    }
    strbuf_puts(b, "\n");
}

/* RFC 5322 date in UTC, with English names whatever the locale. */
static void
date_header(struct strbuf *b)
{
    static const char *const days[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
    static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
    time_t now = time(NULL);
    struct tm tm;

    gmtime_r(&now, &tm);
    strbuf_printf(b, "Date: %s, %02d %s %04d %02d:%02d:%02d +0000\n", days[tm.tm_wday], tm.tm_mday,
                  months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static char *
email_text(const struct alert_sender *s, const struct alert_msg *m)
{
    struct strbuf b = STRBUF_INIT;
    const char *from = m->email_from != NULL && m->email_from[0] != '\0' ? m->email_from
                                                                          : s->from_default;
    const char *at = strchr(s->from_default, '@');

    strbuf_puts(&b, "From: tablecron <");
    header_text(&b, from);
    strbuf_puts(&b, ">\nTo: ");
    header_text(&b, m->email_to);
    strbuf_puts(&b, "\n");
    subject_header(&b, m->subject);
    date_header(&b);
    strbuf_printf(&b, "Message-ID: <tablecron-alert-%lld.%lld%s>\n", (long long)m->id,
                  (long long)time(NULL), at != NULL ? at : "@localhost");
    strbuf_printf(&b, "MIME-Version: 1.0\n"
                      "Content-Type: text/plain; charset=utf-8\n"
                      "Content-Transfer-Encoding: 8bit\n"
                      "Auto-Submitted: auto-generated\n"
                      "X-Tablecron-Alert: %lld\n\n",
                  (long long)m->id);
    strbuf_puts(&b, m->message);
    if (b.len > 0 && b.data[b.len - 1] != '\n')
        strbuf_puts(&b, "\n");
    if (strbuf_failed(&b)) {
        strbuf_reset(&b);
        return NULL;
    }
    return strbuf_take(&b);
}

/* Wait for the child, killing it at the deadline or on interruption.
 * Its exit status into *status; 0, or -1 when it had to be killed. */
static int
reap(struct alert_sender *s, pid_t pid, int64_t deadline, int *status)
{
    int killed = 0;

    for (;;) {
        pid_t r = waitpid(pid, status, WNOHANG);
        if (r == pid)
            return killed ? -1 : 0;
        if (r < 0 && errno != EINTR)
            return -1;
        if (!killed && (monotonic_ms() >= deadline || interrupted(s))) {
            kill(pid, SIGKILL);
            killed = 1;
        }
        poll(NULL, 0, 10);
    }
}

/*
 * Run sendmail with text on its stdin; its output (stdout and stderr
 * together) is kept for the error message.  Writing and reading are
 * interleaved with poll(), so a sendmail that answers before reading all
 * of its input cannot deadlock us.
 */
static void
send_email(struct alert_sender *s, struct alert_msg *m)
{
    char *const argv[] = { s->sendmail_path, "-t", "-i", NULL };
    int in[2] = { -1, -1 }, out[2] = { -1, -1 }, status = 0, rc;
    char output[ANSWER_MAX + 1];
    size_t out_len = 0, written = 0, len;
    int64_t deadline = monotonic_ms() + ALERT_SENDMAIL_TIMEOUT_MS;
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    sigset_t none, deflt;
    char *text = email_text(s, m);
    pid_t pid = -1;

    output[0] = '\0';
    if (text == NULL) {
        set_error(m, "out of memory");
        return;
    }
    len = strlen(text);
    if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0) {
        set_error(m, "cannot make a pipe: %s", strerror(errno));
        goto out;
    }
    /* The child gets default signal handling (serve ignores SIGPIPE) and
     * no blocked signals, whatever this thread has. */
    sigemptyset(&none);
    sigemptyset(&deflt);
    sigaddset(&deflt, SIGPIPE);
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_adddup2(&fa, out[1], 2);
    posix_spawnattr_init(&attr);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &deflt);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    rc = posix_spawn(&pid, s->sendmail_path, &fa, &attr, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    close(in[0]);
    close(out[1]);
    in[0] = out[1] = -1;
    if (rc != 0) {
        set_error(m, "cannot run %s: %s", s->sendmail_path, strerror(rc));
        goto out;
    }
    fcntl(in[1], F_SETFL, O_NONBLOCK);
    /* Until the message is written and sendmail's output ended (it exits),
     * or the deadline. */
    while (in[1] >= 0 || out[0] >= 0) {
        struct pollfd p[3];
        int np = 0, at_out = -1, at_in = -1, timeout = (int)(deadline - monotonic_ms());

        if (timeout <= 0 || interrupted(s))
            break;
        p[np++] = (struct pollfd){ .fd = s->wake[0], .events = POLLIN };
        if (out[0] >= 0) {
            at_out = np;
            p[np++] = (struct pollfd){ .fd = out[0], .events = POLLIN };
        }
        if (in[1] >= 0) {
            at_in = np;
            p[np++] = (struct pollfd){ .fd = in[1], .events = POLLOUT };
        }
        if (poll(p, (nfds_t)np, timeout) < 0 && errno != EINTR)
            break;
        if (at_in >= 0 && (p[at_in].revents & (POLLOUT | POLLERR | POLLHUP)) != 0) {
            ssize_t w = write(in[1], text + written, len - written);
            if (w > 0)
                written += (size_t)w;
            if ((w < 0 && errno != EAGAIN && errno != EINTR) || written == len) {
                close(in[1]); /* the end of the message (or sendmail stopped reading) */
                in[1] = -1;
            }
        }
        if (at_out >= 0 && (p[at_out].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
            char buf[512];
            ssize_t r = read(out[0], buf, sizeof(buf));
            if (r == 0 || (r < 0 && errno != EINTR && errno != EAGAIN)) {
                close(out[0]);
                out[0] = -1;
            } else if (r > 0 && out_len < ANSWER_MAX) {
                size_t keep = (size_t)r < ANSWER_MAX - out_len ? (size_t)r : ANSWER_MAX - out_len;
                memcpy(output + out_len, buf, keep);
                out_len += keep;
                output[out_len] = '\0';
            }
        }
    }
    if (reap(s, pid, deadline, &status) < 0) {
        if (interrupted(s)) {
            m->interrupted = 1;
            set_error(m, "interrupted");
        } else {
            set_error(m, "%s did not finish within %d s", s->sendmail_path,
                      ALERT_SENDMAIL_TIMEOUT_MS / 1000);
        }
        goto out;
    }
    for (size_t i = 0; i < out_len; i++)
        if ((unsigned char)output[i] < ' ')
            output[i] = ' ';
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && written == len) {
        m->ok = 1;
        m->error[0] = '\0';
    } else if (WIFEXITED(status)) {
        set_error(m, "%s exited with status %d%s%.300s", s->sendmail_path, WEXITSTATUS(status),
                  out_len > 0 ? ": " : "", output);
    } else {
        set_error(m, "%s was killed by signal %d", s->sendmail_path,
                  WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    }
out:
    if (in[0] >= 0)
        close(in[0]);
    if (in[1] >= 0)
        close(in[1]);
    if (out[0] >= 0)
        close(out[0]);
    if (out[1] >= 0)
        close(out[1]);
    free(text);
}

void
alert_send(struct alert_sender *s, struct alert_msg *msgs, int n)
{
    for (int i = 0; i < n; i++) {
        msgs[i].ok = 0;
        msgs[i].interrupted = 0;
        msgs[i].error[0] = '\0';
    }
    send_webhooks(s, msgs, n);
    for (int i = 0; i < n; i++) {
        if (strcmp(msgs[i].kind, "email") != 0)
            continue;
        if (interrupted(s)) {
            msgs[i].interrupted = 1;
            set_error(&msgs[i], "interrupted");
            continue;
        }
        send_email(s, &msgs[i]);
    }
    for (int i = 0; i < n; i++) {
        if (strcmp(msgs[i].kind, "webhook") != 0 && strcmp(msgs[i].kind, "email") != 0)
            set_error(&msgs[i], "unknown channel kind '%.40s'", msgs[i].kind);
    }
}
