/* check_job_config.c - the task configs of every kind: what each field
 * accepts and stores, and for each refusal the field it names and the
 * words it says.
 *
 * The accepted and refused configs are in tests/data/job_config_cases.txt
 * (found through $srcdir or given as the first argument), one TAP line per
 * case line; what a config is parsed into is checked here.
 */
#include <autoconfig.h>

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "casefile.h"
#include "job_config.h"
#include "tc_check.h"

/* The cases of tests/data/job_config_cases.txt: "refused" and "accepted"
 * lines (see the file's header). */
static struct case_file cases;

START_TEST(test_job_config__cases)
{
    const struct case_line *c = &cases.lines[_i];
    struct job_config_error err;
    const char *field;

    if (c->ncol != 5)
        ck_abort_msg("%s:%d: not a case: %s", cases.path, c->line, c->text);
    if (strcmp(c->col[0], "accepted") == 0) {
        if (job_config_check(c->col[1], c->col[4], &err) < 0)
            ck_abort_msg("%s:%d: refused: %s: %s", cases.path, c->line, err.field, err.msg);
        ck_assert_str_eq(err.field, "");
        ck_assert_str_eq(err.msg, "");
        return;
    }
    if (strcmp(c->col[0], "refused") != 0)
        ck_abort_msg("%s:%d: not a case: %s", cases.path, c->line, c->text);
    field = strcmp(c->col[2], "-") == 0 ? "" : c->col[2];
    ck_assert_msg(job_config_check(c->col[1], c->col[4], &err) == -1, "%s:%d: accepted",
                  cases.path, c->line);
    ck_assert_msg(strcmp(err.field, field) == 0, "%s:%d: field '%s', expected '%s'", cases.path,
                  c->line, err.field, field);
    ck_assert_msg(strstr(err.msg, c->col[3]) != NULL, "%s:%d: message '%s' lacks '%s'",
                  cases.path, c->line, err.msg, c->col[3]);
}
END_TEST

/* --- what is stored --- */

static void
assert_list(char **list, const char *const *want, size_t n)
{
    ck_assert_ptr_nonnull(list);
    for (size_t i = 0; i < n; i++) {
        ck_assert_ptr_nonnull(list[i]);
        ck_assert_str_eq(list[i], want[i]);
    }
    ck_assert_ptr_null(list[n]);
}

START_TEST(test_job_config__shell_fields_and_defaults)
{
    static const char *const env[] = { "B=2", "A=x=y" };
    struct job_config_error err;
    struct shell_config cfg;

    ck_assert_int_eq(job_config_shell("{\"command\": \"echo hi\"}", &cfg, &err), 0);
    ck_assert_str_eq(cfg.command, "echo hi");
    assert_list(cfg.env, NULL, 0);
    ck_assert_ptr_null(cfg.cwd);
    ck_assert_uint_eq(cfg.output_limit, JOB_CONFIG_OUTPUT_DEFAULT);
    shell_config_free(&cfg);

    ck_assert_int_eq(job_config_shell("{\"env\": {\"B\": \"2\", \"A\": \"x=y\"}, \"cwd\": \"/tmp\","
                                      " \"output_limit\": 10, \"command\": \"env\"}",
                                      &cfg, &err),
                     0);
    assert_list(cfg.env, env, 2); /* in the object's order */
    ck_assert_str_eq(cfg.cwd, "/tmp");
    ck_assert_uint_eq(cfg.output_limit, 10);
    shell_config_free(&cfg);
    shell_config_free(&cfg); /* a freed config is empty: freeing again is fine */

    /* A refused config is left empty. */
    ck_assert_int_eq(job_config_shell("{\"command\": \"x\", \"env\": {\"A\": 1}}", &cfg, &err), -1);
    ck_assert_ptr_null(cfg.command);
    ck_assert_ptr_null(cfg.env);
}
END_TEST

START_TEST(test_job_config__http_defaults)
{
    struct job_config_error err;
    struct http_config cfg;

    ck_assert_int_eq(job_config_http("{\"url\": \"http://example.com\"}", &cfg, &err), 0);
    ck_assert_str_eq(cfg.url, "http://example.com");
    ck_assert_str_eq(cfg.method, "GET");
    assert_list(cfg.headers, NULL, 0);
    ck_assert_ptr_null(cfg.body);
    ck_assert_uint_eq(cfg.body_len, 0);
    ck_assert_int_eq(cfg.body_is_json, 0);
    ck_assert_int_eq(cfg.expect_class, 2);
    ck_assert_int_eq(cfg.n_expect, 0);
    ck_assert_int_eq(cfg.follow_redirects, 0);
    ck_assert_int_eq(cfg.tls_verify, 1);
    ck_assert_ptr_null(cfg.ca_file);
    ck_assert_uint_eq(cfg.output_limit, JOB_CONFIG_OUTPUT_DEFAULT);
    http_config_free(&cfg);
}
END_TEST

START_TEST(test_job_config__http_every_field)
{
    static const char *const headers[] = { "Accept: application/json", "X-Empty: ",
                                           "Authorization: Bearer a b" };
    struct job_config_error err;
    struct http_config cfg;

    ck_assert_int_eq(
        job_config_http("{\"url\": \"HTTPS://Example.com:8443/X?y=1#f\", \"method\": \"post\","
                        " \"headers\": {\"Accept\": \"application/json\", \"X-Empty\": \"\","
                        " \"Authorization\": \"Bearer a b\"}, \"body\": \"a=1&b=\\u00e9\","
                        " \"expect_status\": \"4xx\", \"follow_redirects\": true,"
                        " \"tls_verify\": false, \"ca_file\": \"/etc/ca.pem\","
                        " \"output_limit\": 100}",
                        &cfg, &err),
        0);
    /* The scheme is lower-cased, the rest kept as given. */
    ck_assert_str_eq(cfg.url, "https://Example.com:8443/X?y=1#f");
    ck_assert_str_eq(cfg.method, "POST");
    assert_list(cfg.headers, headers, 3);
    ck_assert_str_eq(cfg.body, "a=1&b=\xc3\xa9");
    ck_assert_uint_eq(cfg.body_len, 8);
    ck_assert_int_eq(cfg.body_is_json, 0);
    ck_assert_int_eq(cfg.expect_class, 4);
    ck_assert_int_eq(cfg.follow_redirects, 1);
    ck_assert_int_eq(cfg.tls_verify, 0);
    ck_assert_str_eq(cfg.ca_file, "/etc/ca.pem");
    ck_assert_uint_eq(cfg.output_limit, 100);
    http_config_free(&cfg);
}
END_TEST

/* The json field: any value, stored compact. */
static const struct {
    const char *json;
    const char *body;
} json_bodies[] = {
    { "{\"b\": [1, 2.5, null], \"a\": {\"c\": \"d\"}}", "{\"b\":[1,2.5,null],\"a\":{\"c\":\"d\"}}" },
    { "[]", "[]" },
    { "\"text\"", "\"text\"" },
    { "42", "42" },
    { "null", "null" },
    { "false", "false" },
};

START_TEST(test_job_config__http_json_body)
{
    struct job_config_error err;
    struct http_config cfg;
    char json[200];

    snprintf(json, sizeof(json), "{\"url\": \"http://h\", \"json\": %s}", json_bodies[_i].json);
    ck_assert_int_eq(job_config_http(json, &cfg, &err), 0);
    ck_assert_str_eq(cfg.body, json_bodies[_i].body);
    ck_assert_uint_eq(cfg.body_len, strlen(json_bodies[_i].body));
    ck_assert_int_eq(cfg.body_is_json, 1);
    http_config_free(&cfg);
}
END_TEST

START_TEST(test_job_config__http_empty_body_is_a_body)
{
    struct job_config_error err;
    struct http_config cfg;

    ck_assert_int_eq(job_config_http("{\"url\": \"http://h\", \"body\": \"\"}", &cfg, &err), 0);
    ck_assert_ptr_nonnull(cfg.body);
    ck_assert_uint_eq(cfg.body_len, 0);
    http_config_free(&cfg);
}
END_TEST

START_TEST(test_job_config__http_url_length_limit)
{
    struct job_config_error err;
    struct http_config cfg;
    char json[2200];
    size_t head = strlen("{\"url\": \"http://h/");

    /* 2048 bytes of URL pass, 2049 do not. */
    for (int extra = 0; extra <= 1; extra++) {
        size_t path = 2048 - strlen("http://h/") + (size_t)extra;
        memcpy(json, "{\"url\": \"http://h/", head);
        memset(json + head, 'a', path);
        memcpy(json + head + path, "\"}", 3);
        if (extra == 0) {
            ck_assert_int_eq(job_config_http(json, &cfg, &err), 0);
            ck_assert_uint_eq(strlen(cfg.url), 2048);
            http_config_free(&cfg);
        } else {
            ck_assert_int_eq(job_config_http(json, &cfg, &err), -1);
            ck_assert_str_eq(err.field, "url");
            ck_assert_str_eq(err.msg, "url must be at most 2048 bytes");
        }
    }
}
END_TEST

START_TEST(test_job_config__http_expect_codes)
{
    struct job_config_error err;
    struct http_config cfg;

    ck_assert_int_eq(job_config_http("{\"url\": \"http://h\", \"expect_status\": 204}", &cfg, &err),
                     0);
    ck_assert_int_eq(cfg.expect_class, 0);
    ck_assert_int_eq(cfg.n_expect, 1);
    ck_assert_int_eq(cfg.expect_codes[0], 204);
    http_config_free(&cfg);

    ck_assert_int_eq(
        job_config_http("{\"url\": \"http://h\", \"expect_status\": [200, 202, 404]}", &cfg, &err),
        0);
    ck_assert_int_eq(cfg.expect_class, 0);
    ck_assert_int_eq(cfg.n_expect, 3);
    ck_assert_int_eq(cfg.expect_codes[0], 200);
    ck_assert_int_eq(cfg.expect_codes[1], 202);
    ck_assert_int_eq(cfg.expect_codes[2], 404);
    http_config_free(&cfg);
}
END_TEST

START_TEST(test_job_config__http_expects_and_describe)
{
    struct http_config cfg;
    char buf[64];

    memset(&cfg, 0, sizeof(cfg));
    cfg.expect_class = 2;
    ck_assert_int_eq(http_config_expects(&cfg, 200), 1);
    ck_assert_int_eq(http_config_expects(&cfg, 204), 1);
    ck_assert_int_eq(http_config_expects(&cfg, 299), 1);
    ck_assert_int_eq(http_config_expects(&cfg, 199), 0);
    ck_assert_int_eq(http_config_expects(&cfg, 300), 0);
    ck_assert_int_eq(http_config_expects(&cfg, 0), 0);
    ck_assert_int_eq(http_config_expects(&cfg, -200), 0);
    http_config_describe_expect(&cfg, buf, sizeof(buf));
    ck_assert_str_eq(buf, "2xx");
    cfg.expect_class = 5;
    ck_assert_int_eq(http_config_expects(&cfg, 503), 1);
    ck_assert_int_eq(http_config_expects(&cfg, 200), 0);
    http_config_describe_expect(&cfg, buf, sizeof(buf));
    ck_assert_str_eq(buf, "5xx");

    cfg.expect_class = 0;
    cfg.expect_codes[0] = 200;
    cfg.expect_codes[1] = 204;
    cfg.n_expect = 2;
    ck_assert_int_eq(http_config_expects(&cfg, 200), 1);
    ck_assert_int_eq(http_config_expects(&cfg, 204), 1);
    ck_assert_int_eq(http_config_expects(&cfg, 201), 0);
    ck_assert_int_eq(http_config_expects(&cfg, 404), 0);
    http_config_describe_expect(&cfg, buf, sizeof(buf));
    ck_assert_str_eq(buf, "200, 204");
    /* A short buffer is cut, still terminated; size 0 is left alone. */
    http_config_describe_expect(&cfg, buf, 6);
    ck_assert_str_eq(buf, "200, ");
    buf[0] = 'z';
    http_config_describe_expect(&cfg, buf, 0);
    ck_assert_int_eq(buf[0], 'z');
    cfg.n_expect = 1;
    http_config_describe_expect(&cfg, buf, sizeof(buf));
    ck_assert_str_eq(buf, "200");
}
END_TEST

START_TEST(test_job_config__grpc_defaults)
{
    struct job_config_error err;
    struct grpc_config cfg;

    ck_assert_int_eq(
        job_config_grpc("{\"url\": \"http://h:50051\", \"method\": \"pkg.Svc/Do\"}", &cfg, &err), 0);
    ck_assert_str_eq(cfg.url, "http://h:50051");
    ck_assert_str_eq(cfg.method, "pkg.Svc/Do");
    ck_assert_ptr_null(cfg.message);
    ck_assert_uint_eq(cfg.message_len, 0);
    assert_list(cfg.metadata, NULL, 0);
    ck_assert_int_eq(cfg.tls_verify, 1);
    ck_assert_ptr_null(cfg.ca_file);
    ck_assert_uint_eq(cfg.output_limit, JOB_CONFIG_OUTPUT_DEFAULT);
    grpc_config_free(&cfg);
}
END_TEST

START_TEST(test_job_config__grpc_every_field)
{
    static const char *const metadata[] = { "authorization: Bearer x", "trace-bin: AAEC",
                                            "a.b_c-9: v" };
    struct job_config_error err;
    struct grpc_config cfg;

    ck_assert_int_eq(
        job_config_grpc("{\"url\": \"HTTPS://h:443//\", \"method\": \"/pkg.v1.Svc/Do_It\","
                        " \"message_base64\": \"CgVoZWxsbw==\", \"metadata\": {\"Authorization\":"
                        " \"Bearer x\", \"trace-bin\": \"AAEC\", \"A.b_C-9\": \"v\"},"
                        " \"tls_verify\": false, \"ca_file\": \"/ca.pem\", \"output_limit\": 7}",
                        &cfg, &err),
        0);
    ck_assert_str_eq(cfg.url, "https://h:443");
    ck_assert_str_eq(cfg.method, "pkg.v1.Svc/Do_It");
    ck_assert_uint_eq(cfg.message_len, 7);
    ck_assert_int_eq(memcmp(cfg.message, "\x0a\x05hello", 7), 0);
    assert_list(cfg.metadata, metadata, 3);
    ck_assert_int_eq(cfg.tls_verify, 0);
    ck_assert_str_eq(cfg.ca_file, "/ca.pem");
    ck_assert_uint_eq(cfg.output_limit, 7);
    grpc_config_free(&cfg);
}
END_TEST

START_TEST(test_job_config__grpc_message_forms)
{
    struct job_config_error err;
    struct grpc_config cfg;

    /* Without padding: the same bytes. */
    ck_assert_int_eq(job_config_grpc("{\"url\": \"http://h/\", \"method\": \"S/M\","
                                     " \"message_base64\": \"CgVoZWxsbw\"}",
                                     &cfg, &err),
                     0);
    ck_assert_str_eq(cfg.url, "http://h");
    ck_assert_uint_eq(cfg.message_len, 7);
    ck_assert_int_eq(memcmp(cfg.message, "\x0a\x05hello", 7), 0);
    grpc_config_free(&cfg);
    /* Empty: no message at all (an empty protobuf message is zero bytes). */
    ck_assert_int_eq(job_config_grpc("{\"url\": \"http://h\", \"method\": \"S/M\","
                                     " \"message_base64\": \"\"}",
                                     &cfg, &err),
                     0);
    ck_assert_ptr_null(cfg.message);
    ck_assert_uint_eq(cfg.message_len, 0);
    grpc_config_free(&cfg);
    /* Binary bytes, NUL included. */
    ck_assert_int_eq(job_config_grpc("{\"url\": \"http://h\", \"method\": \"S/M\","
                                     " \"message_base64\": \"AP8A\"}",
                                     &cfg, &err),
                     0);
    ck_assert_uint_eq(cfg.message_len, 3);
    ck_assert_int_eq(memcmp(cfg.message, "\x00\xff\x00", 3), 0);
    grpc_config_free(&cfg);
    /* A refused config is left empty. */
    ck_assert_int_eq(job_config_grpc("{\"url\": \"http://h\", \"method\": \"S/M\","
                                     " \"message_base64\": \"AP8A\", \"metadata\": 1}",
                                     &cfg, &err),
                     -1);
    ck_assert_ptr_null(cfg.message);
    ck_assert_ptr_null(cfg.url);
    ck_assert_str_eq(err.field, "metadata");
}
END_TEST

int
main(int argc, char **argv)
{
    Suite *s = suite_create("job_config");
    TCase *data = tcase_create("data");
    TCase *tc = tcase_create("job_config");

    casefile_load(&cases, argc, argv, "job_config_cases.txt", 5);
    tcase_add_loop_test(data, test_job_config__cases, 0, cases.count);
    suite_add_tcase(s, data);
    tcase_add_test(tc, test_job_config__shell_fields_and_defaults);
    tcase_add_test(tc, test_job_config__http_defaults);
    tcase_add_test(tc, test_job_config__http_every_field);
    tcase_add_loop_test(tc, test_job_config__http_json_body, 0, (int)TC_ARRAY_LEN(json_bodies));
    tcase_add_test(tc, test_job_config__http_empty_body_is_a_body);
    tcase_add_test(tc, test_job_config__http_url_length_limit);
    tcase_add_test(tc, test_job_config__http_expect_codes);
    tcase_add_test(tc, test_job_config__http_expects_and_describe);
    tcase_add_test(tc, test_job_config__grpc_defaults);
    tcase_add_test(tc, test_job_config__grpc_every_field);
    tcase_add_test(tc, test_job_config__grpc_message_forms);
    suite_add_tcase(s, tc);
    return tc_check_run(s);
}
