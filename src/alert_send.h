/* alert_send.h - deliver alerts: a JSON POST to a webhook, or an email
 * handed to the local sendmail.
 *
 * The alerter (alerter.c) gives a batch of messages; they are sent at
 * once (webhooks in parallel through one libcurl multi handle, emails one
 * after the other), each with its own time limit, and each gets ok or an
 * error in words.  Nothing here touches the database.  Sending blocks the
 * calling thread only, and alert_sender_interrupt() (from any thread) cuts
 * it short: the messages not delivered then say `interrupted`.
 *
 * Webhook bodies by template (the channel's): "json" is the alert's whole
 * document; "slack" {"text": ...}; "dingtalk" {"msgtype": "text", "text":
 * {"content": ...}}; "feishu" {"msg_type": "text", "content": {"text":
 * ...}}.  The chat templates carry the subject and the message as text.
 */
#ifndef TC_ALERT_SEND_H
#define TC_ALERT_SEND_H

#include <jansson.h>
#include <stdint.h>

#include "common.h"

#define ALERT_WEBHOOK_TIMEOUT_MS 10000
#define ALERT_WEBHOOK_CONNECT_TIMEOUT_MS 5000
#define ALERT_SENDMAIL_TIMEOUT_MS 30000

/* One message to one channel. */
struct alert_msg {
    /* in, borrowed */
    int64_t id;             /* alerts.id: X-Tablecron-Alert */
    const char *kind;       /* "webhook" or "email" */
    const char *url;        /* webhook */
    const char *template_;  /* webhook: json, slack, dingtalk, feishu */
    const char *email_to;   /* email: comma-separated recipients */
    const char *email_from; /* email: NULL for tablecron@<host name> */
    const char *subject;
    const char *message;
    const json_t *document; /* the "json" template's body */
    /* out */
    int ok;                 /* delivered (a 2xx answer; sendmail exited 0) */
    int interrupted;        /* not tried, or cut short by alert_sender_interrupt */
    char error[400];        /* why not, when !ok; never holds the URL (it may be a secret) */
};

struct alert_sender; /* opaque */

/* sendmail_path is copied.  NULL when out of memory or libcurl fails. */
struct alert_sender *alert_sender_new(const char *sendmail_path);
void alert_sender_free(struct alert_sender *s); /* NULL is fine */

/* Send msgs[0..n) and fill in their results; returns when every one is
 * done, timed out or interrupted. */
void alert_send(struct alert_sender *s, struct alert_msg *msgs, int n);

/* Make the current and every later alert_send() return at once.  Safe
 * from any thread (not from a signal handler). */
void alert_sender_interrupt(struct alert_sender *s);

/* The body a webhook of this template gets (the caller frees it); NULL
 * when out of memory or the template is unknown. */
char *alert_webhook_body(const char *template_, const char *subject, const char *message,
                         const json_t *document);

#endif
