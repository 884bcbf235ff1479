/* fuzz_job_config.c - fuzz target for the task config parsers and base64.
 *
 * The first byte picks what the rest goes through: job_config_shell, _http
 * or _grpc (the text as a config), or base64_decode.  Besides crashes,
 * leaks and undefined behaviour it checks the contracts: a refusal says
 * why, a parsed config keeps its promises (lists never NULL, lengths
 * right), and a text base64 accepts is the only spelling of its bytes
 * (encoding them again gives the text back, padded).
 *
 * `make check` runs it for 20 s (tests/fuzz/run_fuzz_job_config.sh); by
 * hand, from the source tree, with BUILD the directory where configure
 * wrote autoconfig.h:
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Isrc -IBUILD \
 *       tests/fuzz/fuzz_job_config.c src/job_config.c src/base64.c -ljansson \
 *       -o /tmp/fuzz_job_config
 *   /tmp/fuzz_job_config -max_total_time=60 /tmp/corpus tests/fuzz/corpus_job_config
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "job_config.h"

#define FUZZ_TEXT_MAX 8192

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_list(char **list)
{
    if (list == NULL)
        abort();
    for (; *list != NULL; list++) {
        if (strstr(*list, ": ") == NULL && strchr(*list, '=') == NULL)
            abort(); /* every pair has its separator */
    }
}

static void
refused(const struct job_config_error *err)
{
    if (err->msg[0] == '\0')
        abort(); /* a refusal says why */
}

static void
fuzz_http(const char *text)
{
    struct job_config_error err;
    struct http_config cfg;
    char buf[8];

    if (job_config_http(text, &cfg, &err) < 0) {
        refused(&err);
        return;
    }
    check_list(cfg.headers);
    if (cfg.method == NULL || cfg.url == NULL || strlen(cfg.method) > 16)
        abort();
    if (cfg.body != NULL && strlen(cfg.body) != cfg.body_len)
        abort();
    if ((cfg.expect_class == 0) == (cfg.n_expect == 0) || cfg.n_expect > HTTP_EXPECT_MAX)
        abort(); /* a class or a list, never both */
    http_config_describe_expect(&cfg, buf, sizeof(buf));
    if (strlen(buf) >= sizeof(buf))
        abort();
    for (long status = 0; status < 700; status += 7)
        (void)http_config_expects(&cfg, status);
    http_config_free(&cfg);
}

static void
fuzz_grpc(const char *text)
{
    struct job_config_error err;
    struct grpc_config cfg;

    if (job_config_grpc(text, &cfg, &err) < 0) {
        refused(&err);
        return;
    }
    check_list(cfg.metadata);
    if (cfg.url == NULL || cfg.method == NULL || cfg.method[0] == '/' ||
        (cfg.message == NULL) != (cfg.message_len == 0))
        abort();
    grpc_config_free(&cfg);
}

static void
fuzz_base64(const uint8_t *data, size_t size)
{
    struct base64_error err;
    unsigned char *out = malloc(base64_decoded_max(size) + 1);
    char *again;
    size_t n;

    if (out == NULL)
        return;
    if (base64_decode((const char *)data, size, out, &n, &err) < 0) {
        if (err.pos > size || err.msg == NULL)
            abort();
    } else {
        /* The text again, maybe without its padding. */
        if ((again = base64_encode(out, n)) == NULL)
            abort();
        if (strlen(again) < size || memcmp(again, data, size) != 0 ||
            strspn(again + size, "=") != strlen(again) - size)
            abort();
        free(again);
    }
    free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct job_config_error err;
    struct shell_config shell;
    char text[FUZZ_TEXT_MAX + 1];
    size_t n;

    if (size == 0)
        return 0;
    n = size - 1 < FUZZ_TEXT_MAX ? size - 1 : FUZZ_TEXT_MAX;
    memcpy(text, data + 1, n);
    text[n] = '\0';
    switch (data[0] % 4) {
    case 0:
        if (job_config_shell(text, &shell, &err) == 0) {
            check_list(shell.env);
            shell_config_free(&shell);
        } else {
            refused(&err);
        }
        break;
    case 1:
        fuzz_http(text);
        break;
    case 2:
        fuzz_grpc(text);
        break;
    default:
        fuzz_base64(data + 1, size - 1);
        break;
    }
    return 0;
}
