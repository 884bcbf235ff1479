/* check_config.c - config sources, precedence and error messages. */
#include <autoconfig.h>

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "tc_check.h"

static char conf_path[] = "/tmp/tc-check-config.XXXXXX";

/* Write `text` to a fresh temporary file; its path is in conf_path. */
static void
write_conf(const char *text)
{
    int fd;
    FILE *fp;

    strcpy(conf_path, "/tmp/tc-check-config.XXXXXX");
    fd = mkstemp(conf_path);
    ck_assert_int_ge(fd, 0);
    fp = fdopen(fd, "w");
    ck_assert_ptr_nonnull(fp);
    fputs(text, fp);
    fclose(fp);
}

static void
clean_env(void)
{
    size_t n;
    const struct cfg_opt *opts = config_options(&n);

    unsetenv("TABLECRON_CONFIG");
    for (size_t i = 0; i < n; i++) {
        char name[64];
        size_t j = (size_t)snprintf(name, sizeof(name), "TABLECRON_");
        for (const char *p = opts[i].name; *p; p++)
            name[j++] = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
        name[j] = '\0';
        unsetenv(name);
    }
}

static void
setup(void)
{
    clean_env();
    /* Never read the machine's own /etc file during tests. */
    setenv("TABLECRON_CONFIG", "", 1);
}

static void
teardown(void)
{
    unlink(conf_path);
}

START_TEST(test_config__defaults)
{
    struct config cfg;
    struct config_error err;
    char *argv[] = { "migrate", NULL };
    int argc = 1;

    ck_assert_int_eq(config_load(&cfg, &argc, argv, &err), 0);
    ck_assert_str_eq(cfg.db, "");
    ck_assert_int_eq(cfg.log_level, LOG_INFO);
    ck_assert(cfg.lease_us == 30 * INT64_C(1000000));
    ck_assert_ptr_nonnull(strstr(cfg.migrations_dir, "/migrations"));
    ck_assert_ptr_null(cfg.config_file);
    ck_assert_int_eq(argc, 1);
    config_free(&cfg);
}
END_TEST

START_TEST(test_config__file_values)
{
    struct config cfg;
    struct config_error err;
    char *argv[] = { "--config", conf_path, "serve", NULL };
    int argc = 3;

    write_conf("# comment\n"
               "   ; another comment\n"
               "\n"
               "db = host=/tmp dbname=x password=a#b\n"
               "log_level=debug\n"
               "instance_id = \"  spaced \\\"name\\\" \"\n"
               "lease = 1m\n");
    ck_assert_int_eq(config_load(&cfg, &argc, argv, &err), 0);
    ck_assert_str_eq(cfg.db, "host=/tmp dbname=x password=a#b");
    ck_assert_int_eq(cfg.log_level, LOG_DEBUG);
    ck_assert_str_eq(cfg.instance_id, "  spaced \"name\" ");
    ck_assert(cfg.lease_us == 60 * INT64_C(1000000));
    ck_assert_str_eq(cfg.config_file, conf_path);
    ck_assert_int_eq(argc, 1);
    ck_assert_str_eq(argv[0], "serve");
    ck_assert_ptr_null(argv[1]);
    config_free(&cfg);
}
END_TEST

START_TEST(test_config__precedence)
{
    struct config cfg;
    struct config_error err;
    char *argv[] = { "serve", "--db=flagdb", "--lease", "9s", "--keep", "x", NULL };
    int argc = 6;

    write_conf("db = filedb\nlease = 5s\nlog_level = error\ninstance_id = fileid\n");
    setenv("TABLECRON_CONFIG", conf_path, 1);
    setenv("TABLECRON_DB", "envdb", 1);
    setenv("TABLECRON_LOG_LEVEL", "warn", 1);
    ck_assert_int_eq(config_load(&cfg, &argc, argv, &err), 0);
    ck_assert_str_eq(cfg.db, "flagdb");                /* flag > env > file */
    ck_assert_int_eq(cfg.log_level, LOG_WARN);         /* env > file */
    ck_assert_str_eq(cfg.instance_id, "fileid");       /* file > default */
    ck_assert(cfg.lease_us == 9 * INT64_C(1000000));   /* flag > file */
    /* Unknown flags stay for the command. */
    ck_assert_int_eq(argc, 3);
    ck_assert_str_eq(argv[0], "serve");
    ck_assert_str_eq(argv[1], "--keep");
    ck_assert_str_eq(argv[2], "x");
    config_free(&cfg);
}
END_TEST

START_TEST(test_config__double_dash_stops)
{
    struct config cfg;
    struct config_error err;
    char *argv[] = { "cron", "--", "--db", "x", NULL };
    int argc = 4;

    ck_assert_int_eq(config_load(&cfg, &argc, argv, &err), 0);
    ck_assert_str_eq(cfg.db, "");
    ck_assert_int_eq(argc, 4);
    config_free(&cfg);
}
END_TEST

/* Each bad file gives one line naming the file, the line and the key. */
static const struct {
    const char *text;
    const char *want; /* after "PATH:" */
} bad_files[] = {
    { "db = x\nlese = 30s\n", "2: unknown key 'lese' (did you mean 'lease'?)" },
    { "lease = soon\n", "1: lease: " },
    { "lease = 1s\n", "1: lease: '1s' is out of range (3s to 1d)" },
    { "max_running = many\n", "1: max_running: 'many' is not a whole number" },
    { "batch = 0\n", "1: batch: '0' is out of range (1 to 10000)" },
    { "\n\nlog_level = loud\n", "3: log_level: unknown log level 'loud'" },
    { "just some words\n", "1: expected 'key = value', got 'just some words'" },
    { "instance_id = \"open\n", "1: instance_id: missing closing '\"'" },
    { "frobnicate = 1\n", "1: unknown key 'frobnicate'" },
};

START_TEST(test_config__bad_file)
{
    struct config cfg;
    struct config_error err;
    char *argv[] = { NULL };
    int argc = 0;
    char want[700];

    write_conf(bad_files[_i].text);
    setenv("TABLECRON_CONFIG", conf_path, 1);
    ck_assert_int_eq(config_load(&cfg, &argc, argv, &err), -1);
    snprintf(want, sizeof(want), "%s:%s", conf_path, bad_files[_i].want);
    ck_assert_msg(strncmp(err.msg, want, strlen(want)) == 0, "got '%s', want '%s...'", err.msg,
                  want);
    ck_assert_ptr_null(strchr(err.msg, '\n'));
    ck_assert_ptr_null(cfg.db);
}
END_TEST

START_TEST(test_config__bad_env_and_flag)
{
    struct config cfg;
    struct config_error err;
    char *argv[] = { "serve", "--lease", NULL };
    int argc = 2;

    setenv("TABLECRON_LOG_LEVEL", "chatty", 1);
    ck_assert_int_eq(config_load(&cfg, &argc, argv, &err), -1);
    /* The flag is checked first: it has no value. */
    ck_assert_str_eq(err.msg, "flag --lease needs a value");

    char *argv2[] = { "serve", NULL };
    argc = 1;
    ck_assert_int_eq(config_load(&cfg, &argc, argv2, &err), -1);
    ck_assert_msg(strstr(err.msg, "environment TABLECRON_LOG_LEVEL: log_level: unknown log level "
                                  "'chatty'") == err.msg, "got '%s'", err.msg);

    unsetenv("TABLECRON_LOG_LEVEL");
    char *argv3[] = { "serve", "--log-level=noisy", NULL };
    argc = 2;
    ck_assert_int_eq(config_load(&cfg, &argc, argv3, &err), -1);
    ck_assert_msg(strstr(err.msg, "flag --log-level: log_level: unknown") == err.msg, "got '%s'",
                  err.msg);
}
END_TEST

START_TEST(test_config__missing_file)
{
    struct config cfg;
    struct config_error err;
    char *argv[] = { "--config", "/nonexistent/tablecron.conf", NULL };
    int argc = 2;

    ck_assert_int_eq(config_load(&cfg, &argc, argv, &err), -1);
    ck_assert_str_eq(err.msg, "/nonexistent/tablecron.conf: cannot open config file: "
                              "No such file or directory");
}
END_TEST

START_TEST(test_config__reload_keeps_flags_and_survives_errors)
{
    struct config cfg;
    struct config_error err;
    char *argv[] = { "--config", conf_path, "--log-level", "error", "serve", NULL };
    int argc = 5;
    FILE *fp;

    write_conf("log_level = debug\nlease = 10s\n");
    ck_assert_int_eq(config_load(&cfg, &argc, argv, &err), 0);
    ck_assert_int_eq(cfg.log_level, LOG_ERROR);

    fp = fopen(conf_path, "w");
    fputs("log_level = debug\nlease = 20s\n", fp);
    fclose(fp);
    ck_assert_int_eq(config_reload(&cfg, &err), 0);
    ck_assert(cfg.lease_us == 20 * INT64_C(1000000)); /* file change seen */
    ck_assert_int_eq(cfg.log_level, LOG_ERROR);       /* the flag still wins */

    fp = fopen(conf_path, "w");
    fputs("lease = forever\n", fp);
    fclose(fp);
    ck_assert_int_eq(config_reload(&cfg, &err), -1);
    ck_assert(cfg.lease_us == 20 * INT64_C(1000000)); /* old config kept */
    ck_assert_ptr_nonnull(strstr(err.msg, ":1: lease:"));
    config_free(&cfg);
}
END_TEST

START_TEST(test_config__sample_file_loads)
{
    struct config cfg;
    struct config_error err;
    char path[4096];
    const char *srcdir = getenv("srcdir");
    char *argv[] = { NULL };
    int argc = 0;

    snprintf(path, sizeof(path), "%s/etc/tablecron.conf", srcdir != NULL ? srcdir : ".");
    setenv("TABLECRON_CONFIG", path, 1);
    ck_assert_msg(config_load(&cfg, &argc, argv, &err) == 0, "%s", err.msg);
    config_free(&cfg);
}
END_TEST

/* The option table is the only list of options: each must be documented in
 * the sample file (as a commented "#key =" line with its default). */
START_TEST(test_config__sample_documents_every_option)
{
    char path[4096], line[1024];
    const char *srcdir = getenv("srcdir");
    size_t n;
    const struct cfg_opt *opts = config_options(&n);

    snprintf(path, sizeof(path), "%s/etc/tablecron.conf", srcdir != NULL ? srcdir : ".");
    for (size_t i = 0; i < n; i++) {
        FILE *fp = fopen(path, "r");
        char want[128];
        int found = 0;

        ck_assert_msg(fp != NULL, "cannot open %s", path);
        snprintf(want, sizeof(want), "#%s =", opts[i].name);
        while (fgets(line, sizeof(line), fp) != NULL)
            found |= strncmp(line, want, strlen(want)) == 0;
        fclose(fp);
        ck_assert_msg(found, "option '%s' is missing from etc/tablecron.conf", opts[i].name);
    }
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("config");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_config__defaults);
    tcase_add_test(tc, test_config__file_values);
    tcase_add_test(tc, test_config__precedence);
    tcase_add_test(tc, test_config__double_dash_stops);
    tcase_add_loop_test(tc, test_config__bad_file, 0, (int)TC_ARRAY_LEN(bad_files));
    tcase_add_test(tc, test_config__bad_env_and_flag);
    tcase_add_test(tc, test_config__missing_file);
    tcase_add_test(tc, test_config__reload_keeps_flags_and_survives_errors);
    tcase_add_test(tc, test_config__sample_file_loads);
    tcase_add_test(tc, test_config__sample_documents_every_option);
    suite_add_tcase(s, tc);
    return tc_check_run(s);
}
