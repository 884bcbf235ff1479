/* exec_http.h - HTTP tasks: one request on the shared libcurl loop.
 *
 * The request carries X-Tablecron-Job, X-Tablecron-Execution and
 * X-Tablecron-Attempt.  The result's exit code is the HTTP status, its
 * output the response body (bounded, last bytes kept), and its error says
 * whether the connection, TLS or the status was wrong.
 *
 * When the request also carried X-Tablecron-Callback and X-Tablecron-Token,
 * a 202 answer means the work goes on: the result is "detached" and the
 * service reports progress and the outcome to that URL.
 */
#ifndef TC_EXEC_HTTP_H
#define TC_EXEC_HTTP_H

#include <stddef.h>

#include "exec.h"
#include "net.h"

struct http_task; /* opaque */

/* NULL with err filled when the config is bad or memory runs out. */
struct http_task *http_task_start(struct net *net, const char *config_json,
                                  const struct exec_context *ctx, char *err, size_t errsize);
int http_task_done(const struct http_task *t);
void http_task_abort(struct http_task *t);
/* Once done: the result's strings belong to the caller. */
void http_task_result(struct http_task *t, struct exec_result *out);
void http_task_free(struct http_task *t); /* aborts first; NULL is fine */

#endif
