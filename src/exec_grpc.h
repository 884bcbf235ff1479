/* exec_grpc.h - gRPC tasks: one unary call over HTTP/2 on the libcurl loop.
 *
 * The call is a POST of one length-prefixed protobuf message to
 * /<package.Service>/<Method> with content-type application/grpc,
 * te: trailers and grpc-timeout from the job's timeout.  grpc-status is
 * read from the trailers or from a trailers-only reply and, once received,
 * wins over any transport error reported after it.  The result's exit code
 * is grpc-status, its output the reply message in base64 (bounded) and its
 * error the status name with the percent-decoded grpc-message.
 */
#ifndef TC_EXEC_GRPC_H
#define TC_EXEC_GRPC_H

#include <stddef.h>

#include "exec.h"
#include "net.h"

struct grpc_task; /* opaque */

/* NULL with err filled when the config is bad or memory runs out. */
struct grpc_task *grpc_task_start(struct net *net, const char *config_json,
                                  const struct exec_context *ctx, char *err, size_t errsize);
int grpc_task_done(const struct grpc_task *t);
void grpc_task_abort(struct grpc_task *t);
/* Once done: the result's strings belong to the caller. */
void grpc_task_result(struct grpc_task *t, struct exec_result *out);
void grpc_task_free(struct grpc_task *t); /* aborts first; NULL is fine */

#endif
