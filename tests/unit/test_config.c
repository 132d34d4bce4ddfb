/* Unit tests of `tycho serve` settings (server/core/config.c): defaults,
 * environment, flags (flags win), and one clear line naming the setting for
 * every bad value. */
#define _GNU_SOURCE /* sched_setaffinity, CPU_SET */
#include "core/config.h"

#include <sched.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

extern char **environ;

static void clear_env(void)
{
    for (int again = 1; again;) {
        again = 0;
        for (char **e = environ; *e; e++) {
            if (strncmp(*e, "TYCHO_", 6) == 0) {
                char name[128];
                size_t n = strcspn(*e, "=");
                if (n >= sizeof name) continue;
                memcpy(name, *e, n);
                name[n] = '\0';
                unsetenv(name);
                again = 1;
                break;
            }
        }
    }
}

static int setup(void **state)
{
    (void)state;
    clear_env();
    return 0;
}

/* Loads with argv = {"serve", args...}; returns the rc, fills cfg and err. */
static int load(tycho_config_t *cfg, char *err, size_t errlen, const char *const *args)
{
    char *argv[32] = {"serve"};
    int argc = 1;
    for (; args && args[argc - 1]; argc++)
        argv[argc] = (char *)args[argc - 1];
    err[0] = '\0';
    return tycho_config_load(cfg, argc, argv, err, errlen);
}

static void test_defaults(void **state)
{
    (void)state;
    tycho_config_t cfg;
    char err[512];
    assert_int_equal(load(&cfg, err, sizeof err, NULL), 0);
    assert_string_equal(cfg.listen.host, "0.0.0.0");
    assert_int_equal(cfg.listen.port, 8080);
    assert_string_equal(cfg.admin_listen.host, "127.0.0.1");
    assert_int_equal(cfg.admin_listen.port, 9090);
    assert_true(cfg.workers >= 1);
    assert_string_equal(cfg.routes_dir, "./routes");
    assert_int_equal(cfg.reload, 1);
    assert_int_equal(cfg.max_header_bytes, 16384);
    assert_int_equal(cfg.max_uri_bytes, 8192);
    assert_int_equal(cfg.max_body_bytes, 1 << 20);
    assert_int_equal(cfg.max_body_memory, 64 << 20);
    assert_true(cfg.keepalive_timeout > 60); /* above the ALB's idle timeout */
    assert_true(cfg.send_timeout == 60);
    assert_true(cfg.drain_timeout < 30); /* below ECS's stop timeout */
    assert_string_equal(cfg.aws_backend, "local");
}

static void test_env_and_flags(void **state)
{
    (void)state;
    tycho_config_t cfg;
    char err[512];
    setenv("TYCHO_LISTEN", "127.0.0.1:1234", 1);
    setenv("TYCHO_WORKERS", "3", 1);
    setenv("TYCHO_MAX_BODY_BYTES", "0", 1);
    setenv("TYCHO_HEADER_TIMEOUT", "2.5", 1);
    setenv("TYCHO_RELOAD", "off", 1);
    setenv("TYCHO_TRUSTED_PROXIES", "10.0.0.0/8, ::1", 1);
    assert_int_equal(load(&cfg, err, sizeof err, NULL), 0);
    assert_int_equal(cfg.listen.port, 1234);
    assert_int_equal(cfg.workers, 3);
    assert_int_equal(cfg.max_body_bytes, 0);
    assert_true(cfg.header_timeout == 2.5);
    assert_int_equal(cfg.reload, 0);
    assert_int_equal(cfg.ntrusted_proxies, 2);
    assert_true(tycho_config_is_trusted_proxy(&cfg, "10.1.2.3"));
    assert_true(tycho_config_is_trusted_proxy(&cfg, "::1"));
    assert_false(tycho_config_is_trusted_proxy(&cfg, "11.0.0.1"));
    assert_false(tycho_config_is_trusted_proxy(&cfg, "not an ip"));

    /* flags win over the environment, in both spellings */
    const char *args[] = {"--workers", "5", "--listen=[::1]:0", "--reload", "on", NULL};
    assert_int_equal(load(&cfg, err, sizeof err, args), 0);
    assert_int_equal(cfg.workers, 5);
    assert_string_equal(cfg.listen.host, "::1");
    assert_int_equal(cfg.listen.port, 0);
    assert_int_equal(cfg.reload, 1);
    assert_int_equal(cfg.max_body_bytes, 0); /* still from the environment */

    const char *sw[] = {"--no-reload", NULL};
    setenv("TYCHO_RELOAD", "on", 1);
    assert_int_equal(load(&cfg, err, sizeof err, sw), 0);
    assert_int_equal(cfg.reload, 0);

    const char *lh[] = {"--listen", "localhost:80", "--admin-listen", ":9999", NULL};
    assert_int_equal(load(&cfg, err, sizeof err, lh), 0);
    assert_string_equal(cfg.listen.host, "127.0.0.1");
    assert_string_equal(cfg.admin_listen.host, "127.0.0.1"); /* a port alone: loopback */
    assert_int_equal(cfg.admin_listen.port, 9999);
}

typedef struct bad {
    const char *env;   /* environment variable (flag derived from it) */
    const char *value; /* a bad value */
    const char *why;   /* expected text after "NAME: " (prefix match) */
} bad_t;

static const bad_t bads[] = {
    {"TYCHO_LISTEN", "127.0.0.1:99999", "port out of range: 99999"},
    {"TYCHO_LISTEN", "127.0.0.1:-1", "port out of range: -1"},
    {"TYCHO_LISTEN", "127.0.0.1:http", "bad port"},
    {"TYCHO_LISTEN", "127.0.0.1:", "bad port"},
    {"TYCHO_LISTEN", "example.com:80", "not a numeric IP address: example.com"},
    {"TYCHO_LISTEN", "[::1", "expected [ipv6]:port"},
    {"TYCHO_LISTEN", "[::1]80", "expected [ipv6]:port"},
    {"TYCHO_ADMIN_LISTEN", "1.2.3.4:70000", "port out of range: 70000"},
    {"TYCHO_WORKERS", "0", "out of range"},
    {"TYCHO_WORKERS", "257", "out of range"},
    {"TYCHO_WORKERS", "two", "not a whole number: two (decimal digits, e.g. 16)"},
    {"TYCHO_WORKERS", "1.5", "not a whole number: 1.5"},
    {"TYCHO_WORKERS", "2x", "not a whole number: 2x"},
    {"TYCHO_WORKERS", "2 x", "not a whole number: 2 x"},
    /* decimal only: strtod read these as 16, 10 and 16 */
    {"TYCHO_WORKERS", "0x10", "not a whole number: 0x10 (decimal digits, e.g. 16)"},
    {"TYCHO_WORKERS", "1e1", "not a whole number: 1e1"},
    {"TYCHO_WORKERS", "+16", "not a whole number: +16"},
    {"TYCHO_MAX_CONNECTIONS", "inf", "not a whole number: inf"},
    {"TYCHO_DRAIN_TIMEOUT", "0x10", "not a duration: 0x10 (seconds, or with a unit"},
    {"TYCHO_DRAIN_TIMEOUT", "1e1", "not a duration: 1e1"},
    {"TYCHO_HANDLER_TIMEOUT", "0x1p4s", "not a duration: 0x1p4s"},
    {"TYCHO_MAX_BODY_BYTES", "0x10", "not a size: 0x10"},
    {"TYCHO_MAX_BODY_BYTES", "1e3", "not a size: 1e3"},
    {"TYCHO_RELOAD", "maybe", "expected on or off: maybe"},
    {"TYCHO_ACCESS_LOG", "2", "expected on or off: 2"},
    {"TYCHO_LOG_LEVEL", "loud", "expected debug, info, warn or error: loud"},
    {"TYCHO_MAX_HEADER_BYTES", "100", "out of range [256, 1048576] bytes: 100"},
    {"TYCHO_MAX_HEADER_BYTES", "16q", "not a size: 16q (bytes, or with a unit"},
    {"TYCHO_MAX_HEADER_BYTES", "-1", "not a size: -1"},
    {"TYCHO_MAX_HEADER_BYTES", "2MiB", "out of range [256, 1048576] bytes: 2097152 (2MiB)"},
    {"TYCHO_MAX_URI_BYTES", "15", "out of range"},
    /* past the header limit (default 16384) it could never answer: 431 first */
    {"TYCHO_MAX_URI_BYTES", "32KiB",
     "32768 bytes can never be reached: the request line holding the target and the headers may "
     "take 16384 bytes in all (TYCHO_MAX_HEADER_BYTES), 431 past it"},
    {"TYCHO_MAX_URI_BYTES", "16384", "16384 bytes can never be reached"},
    {"TYCHO_MAX_BODY_BYTES", "-1", "not a size: -1"},
    {"TYCHO_MAX_BODY_BYTES", "1073741825", "out of range [0, 1073741824] bytes: 1073741825"},
    {"TYCHO_MAX_BODY_BYTES", "1.5", "not a size: 1.5"},
    {"TYCHO_MAX_BODY_MEMORY", "1KiB",
     "1024 bytes is less than one request body may take (TYCHO_MAX_BODY_BYTES, 1048576 bytes)"},
    {"TYCHO_MAX_CONNECTIONS", "0", "out of range"},
    {"TYCHO_HEADER_TIMEOUT", "0", "out of range [0.01, 3600] seconds: 0"},
    {"TYCHO_HEADER_TIMEOUT", "inf", "not a duration: inf (seconds, or with a unit"},
    {"TYCHO_HEADER_TIMEOUT", "nan", "not a duration: nan"},
    {"TYCHO_HEADER_TIMEOUT", "5ms", "out of range [0.01, 3600] seconds: 0.005 (5ms)"},
    {"TYCHO_HEADER_TIMEOUT", "10x", "not a duration: 10x"},
    {"TYCHO_HEADER_TIMEOUT", "2h", "out of range [0.01, 3600] seconds: 7200 (2h)"},
    {"TYCHO_BODY_TIMEOUT", "-5", "not a duration: -5"},
    {"TYCHO_KEEPALIVE_TIMEOUT", "0", "out of range"},
    {"TYCHO_SEND_TIMEOUT", "0", "out of range [0.01, 3600] seconds: 0"},
    {"TYCHO_SEND_TIMEOUT", "soon", "not a duration: soon"},
    {"TYCHO_DRAIN_TIMEOUT", "-1", "not a duration: -1"},
    {"TYCHO_DRAIN_TIMEOUT", "3601", "out of range [0, 3600] seconds: 3601"},
    {"TYCHO_DRAIN_TIMEOUT", "2h", "out of range [0, 3600] seconds: 7200 (2h)"},
    {"TYCHO_WORKERS", "300", "out of range [1, 256]: 300"},
    {"TYCHO_HANDLER_TIMEOUT", "0", "out of range"},
    {"TYCHO_LUA_MEMORY_LIMIT", "1000", "out of range"},
    {"TYCHO_LUA_MEMORY_LIMIT", "1.5GiB", "not a size: 1.5GiB"},
    {"TYCHO_LUA_DIR", "/nonexistent",
     "not tycho's Lua directory (no tycho/init.lua in it): /nonexistent"},
    {"TYCHO_LUA_DIR", "spec", "not tycho's Lua directory"},
    {"TYCHO_TRUSTED_PROXIES", "1.2.3.4/33", "bad prefix length in 1.2.3.4/33"},
    {"TYCHO_TRUSTED_PROXIES", "::1/129", "bad prefix length in ::1/129"},
    {"TYCHO_TRUSTED_PROXIES", "10.0.0.0/", "bad prefix length"},
    {"TYCHO_TRUSTED_PROXIES", "proxy.local", "not an IP address: proxy.local"},
    {"TYCHO_AWS_BACKEND", "s3", "expected local or aws: s3"},
};

/* "TYCHO_MAX_BODY_BYTES" -> "--max-body-bytes" */
static void flag_of(const char *env, char *out, size_t n)
{
    snprintf(out, n, "--%s", env + 6);
    for (char *p = out + 2; *p; p++) {
        if (*p == '_')
            *p = '-';
        else if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    }
}

static void expect_one_line(const char *err, const char *name, const char *why)
{
    char want[256];
    snprintf(want, sizeof want, "%s: %s", name, why);
    if (strncmp(err, want, strlen(want)) != 0) fail_msg("error %s\n   expected %s...", err, want);
    assert_null(strchr(err, '\n'));
}

static void test_bad_values(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof bads / sizeof *bads; i++) {
        const bad_t *b = &bads[i];
        tycho_config_t cfg;
        char err[512];
        clear_env();
        setenv(b->env, b->value, 1);
        if (load(&cfg, err, sizeof err, NULL) != -1) fail_msg("%s=%s accepted", b->env, b->value);
        expect_one_line(err, b->env, b->why);

        /* the same value as a flag is reported under the flag's name
         * (--x=value: one argument whatever the value holds) */
        clear_env();
        char flag[64], arg[128];
        flag_of(b->env, flag, sizeof flag);
        snprintf(arg, sizeof arg, "%s=%s", flag, b->value);
        const char *args[] = {arg, NULL};
        if (load(&cfg, err, sizeof err, args) != -1) fail_msg("%s %s accepted", flag, b->value);
        expect_one_line(err, flag, b->why);
    }
}

static void test_bad_arguments(void **state)
{
    (void)state;
    tycho_config_t cfg;
    char err[512];
    const char *unknown[] = {"--listn", "1", NULL};
    assert_int_equal(load(&cfg, err, sizeof err, unknown), -1);
    assert_string_equal(err, "unknown option: --listn (see tycho serve --help)");
    const char *positional[] = {"routes", NULL};
    assert_int_equal(load(&cfg, err, sizeof err, positional), -1);
    assert_string_equal(err, "unexpected argument: routes (tycho serve takes options only; a "
                             "routes folder is --routes routes)");
    /* a switch takes no value: --no-reload=on would turn reload off */
    const char *switch_value[] = {"--no-reload=on", NULL};
    assert_int_equal(load(&cfg, err, sizeof err, switch_value), -1);
    assert_string_equal(err,
                        "--no-reload: takes no value (--reload takes on or off): --no-reload=on");
    const char *missing[] = {"--workers", NULL};
    assert_int_equal(load(&cfg, err, sizeof err, missing), -1);
    assert_string_equal(err, "--workers: missing value");
}

/* A variable that is a slip for a setting's (TYCHO_WORKER) stops the load:
 * ignored, it would leave the setting at its default unseen. */
static void test_misspelt_variable(void **state)
{
    (void)state;
    tycho_config_t cfg;
    char err[512];
    setenv("TYCHO_WORKER", "2", 1);
    const char *args[] = {"--workers", "2", NULL};
    assert_int_equal(load(&cfg, err, sizeof err, args), -1);
    assert_string_equal(err,
                        "TYCHO_WORKER: tycho reads no such variable; did you mean TYCHO_WORKERS?");
    unsetenv("TYCHO_WORKER");
    setenv("TYCHO_MY_APP_SETTING", "x", 1); /* the app's own: no slip for any */
    assert_int_equal(load(&cfg, err, sizeof err, args), 0);
}

/* An empty (or blank) variable counts as unset, as env templating leaves
 * them; an empty flag value is still refused. */
static void test_empty_env_is_unset(void **state)
{
    (void)state;
    static const char *const vars[] = {
        "TYCHO_LISTEN", "TYCHO_WORKERS",       "TYCHO_ROUTES",         "TYCHO_DATA_DIR",
        "TYCHO_RELOAD", "TYCHO_DRAIN_TIMEOUT", "TYCHO_MAX_BODY_BYTES", "TYCHO_AWS_BACKEND"};
    tycho_config_t cfg, def;
    char err[512];
    assert_int_equal(load(&def, err, sizeof err, NULL), 0);
    for (size_t i = 0; i < sizeof vars / sizeof *vars; i++) {
        for (int blank = 0; blank < 2; blank++) {
            clear_env();
            setenv(vars[i], blank ? " \t" : "", 1);
            if (load(&cfg, err, sizeof err, NULL) != 0)
                fail_msg("%s=\"%s\" refused: %s", vars[i], blank ? " \t" : "", err);
        }
    }
    assert_int_equal(cfg.workers, def.workers);
    assert_int_equal(cfg.listen.port, 8080);
    assert_string_equal(cfg.routes_dir, "./routes");
    const char *empty_flag[] = {"--workers=", NULL};
    assert_int_equal(load(&cfg, err, sizeof err, empty_flag), -1);
    assert_string_equal(err, "--workers: not a whole number:  (decimal digits, e.g. 16)");
}

/* Blanks around a value are trimmed, for every setting and source alike. */
static void test_blanks_trimmed(void **state)
{
    (void)state;
    tycho_config_t cfg;
    char err[512];
    setenv("TYCHO_WORKERS", " 2 ", 1);
    setenv("TYCHO_LISTEN", " 127.0.0.1:81\n", 1);
    setenv("TYCHO_DRAIN_TIMEOUT", "\t2s ", 1);
    assert_int_equal(load(&cfg, err, sizeof err, NULL), 0);
    assert_int_equal(cfg.workers, 2);
    assert_int_equal(cfg.listen.port, 81);
    assert_true(cfg.drain_timeout == 2);
    const char *flag[] = {"--workers", "3 ", NULL};
    assert_int_equal(load(&cfg, err, sizeof err, flag), 0);
    assert_int_equal(cfg.workers, 3);
}

/* The reader other modules use for their own TYCHO_* variables: the same
 * rules (blanks dropped, empty or blank is unset), too long refused. */
static void test_env_trimmed(void **state)
{
    (void)state;
    char buf[8], err[128] = "";
    setenv("TYCHO_X_TEST", " \ton \n", 1);
    assert_int_equal(tycho_config_env_trimmed("TYCHO_X_TEST", buf, sizeof buf, err, sizeof err), 1);
    assert_string_equal(buf, "on");
    setenv("TYCHO_X_TEST", " \t", 1);
    assert_int_equal(tycho_config_env_trimmed("TYCHO_X_TEST", buf, sizeof buf, err, sizeof err), 0);
    assert_string_equal(buf, "");
    setenv("TYCHO_X_TEST", "  1234567 ", 1);
    assert_int_equal(tycho_config_env_trimmed("TYCHO_X_TEST", buf, sizeof buf, err, sizeof err), 1);
    assert_string_equal(buf, "1234567");
    assert_string_equal(err, "");
    /* the one wording of "too long" for every caller */
    setenv("TYCHO_X_TEST", "12345678", 1);
    assert_int_equal(tycho_config_env_trimmed("TYCHO_X_TEST", buf, sizeof buf, err, sizeof err),
                     -1);
    assert_string_equal(err, "TYCHO_X_TEST: too long (at most 7 bytes)");
    assert_int_equal(tycho_config_env_trimmed("TYCHO_X_TEST", buf, sizeof buf, NULL, 0), -1);
    unsetenv("TYCHO_X_TEST");
    assert_int_equal(tycho_config_env_trimmed("TYCHO_X_TEST", buf, sizeof buf, err, sizeof err), 0);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_cpu_quota(void **state)
{
    (void)state;
    char path[] = "/tmp/tycho-cpu-max-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    static const struct {
        const char *text;
        int cpus;
    } cases[] = {{"max 100000\n", 0},   {"200000 100000\n", 2}, {"150000 100000\n", 2},
                 {"50000 100000\n", 1}, {"1000 100000\n", 1},   {"garbage\n", 0},
                 {"0 100000\n", 0},     {"100000 0\n", 0}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        write_file(path, cases[i].text);
        if (tycho_config_cpu_quota(path) != cases[i].cpus)
            fail_msg("cpu.max %s: %d CPUs, want %d", cases[i].text, tycho_config_cpu_quota(path),
                     cases[i].cpus);
    }
    assert_int_equal(tycho_config_cpu_quota("/nonexistent/cpu.max"), 0);
    /* a quota below the CPUs we may run on caps the default */
    write_file(path, "100000 100000\n");
    assert_int_equal(tycho_config_usable_cpus(path), 1);
    unlink(path);
}

/* `taskset -c 0 tycho serve`: one usable CPU, one worker by default. */
static void test_workers_follow_affinity(void **state)
{
    (void)state;
    cpu_set_t saved, one;
    assert_int_equal(sched_getaffinity(0, sizeof saved, &saved), 0);
    CPU_ZERO(&one);
    for (int c = 0; c < CPU_SETSIZE; c++)
        if (CPU_ISSET(c, &saved)) {
            CPU_SET(c, &one);
            break;
        }
    assert_int_equal(sched_setaffinity(0, sizeof one, &one), 0);
    tycho_config_t cfg;
    tycho_config_defaults(&cfg);
    assert_int_equal(sched_setaffinity(0, sizeof saved, &saved), 0);
    assert_int_equal(cfg.workers, 1);
}

/* The URI limit is refused only when it was set past the header limit: a
 * header limit lowered under the default URI limit is the bound asked for. */
static void test_uri_limit_under_header_limit(void **state)
{
    (void)state;
    tycho_config_t cfg;
    char err[512];
    setenv("TYCHO_MAX_HEADER_BYTES", "4096", 1);
    assert_int_equal(load(&cfg, err, sizeof err, NULL), 0);
    assert_int_equal(cfg.max_uri_bytes, 8192);
    const char *raised[] = {"--max-header-bytes", "64KiB", "--max-uri-bytes", "32KiB", NULL};
    assert_int_equal(load(&cfg, err, sizeof err, raised), 0);
    assert_int_equal(cfg.max_uri_bytes, 32768);
    const char *over[] = {"--max-uri-bytes", "4096", NULL};
    assert_int_equal(load(&cfg, err, sizeof err, over), -1);
    expect_one_line(err, "--max-uri-bytes",
                    "4096 bytes can never be reached: the request line holding the target and "
                    "the headers may take 4096 bytes in all (TYCHO_MAX_HEADER_BYTES)");
}

static void test_admin_not_public(void **state)
{
    (void)state;
    tycho_config_t cfg;
    char err[512];
    static const char *const same[][2] = {
        {"127.0.0.1:8080", "127.0.0.1:8080"}, {"0.0.0.0:9090", "127.0.0.1:9090"},
        {"127.0.0.1:9090", "0.0.0.0:9090"},   {"[::]:7000", "127.0.0.1:7000"},
        {"localhost:7001", "127.0.0.1:7001"}, {"127.0.0.1:7002", "[::ffff:127.0.0.1]:7002"},
        {"127.0.0.1:7003", "[::0]:7003"},     {"[::1]:7004", "[0:0::1]:7004"},
        {"[::]:7005", "[::1]:7005"},          {"0.0.0.0:7006", "[::ffff:127.0.0.1]:7006"},
    };
    for (size_t i = 0; i < sizeof same / sizeof *same; i++) {
        const char *args[] = {"--listen", same[i][0], "--admin-listen", same[i][1], NULL};
        if (load(&cfg, err, sizeof err, args) != -1)
            fail_msg("admin %s accepted with public %s", same[i][1], same[i][0]);
        expect_one_line(err, "--admin-listen", "the admin listener must not share");
    }
    setenv("TYCHO_ADMIN_LISTEN", "127.0.0.1:8080", 1);
    const char *pub[] = {"--listen", "127.0.0.1:8080", NULL};
    assert_int_equal(load(&cfg, err, sizeof err, pub), -1);
    expect_one_line(err, "TYCHO_ADMIN_LISTEN", "the admin listener must not share");
    unsetenv("TYCHO_ADMIN_LISTEN");
    /* the default admin port with a public listener on all addresses */
    const char *dflt[] = {"--listen", ":9090", NULL};
    assert_int_equal(load(&cfg, err, sizeof err, dflt), -1);
    /* a port alone keeps the admin listener on loopback (the public one on
     * every address); a host given is taken as given */
    const char *alone[] = {"--listen", "8081", "--admin-listen", "9091", NULL};
    assert_int_equal(load(&cfg, err, sizeof err, alone), 0);
    assert_string_equal(cfg.listen.host, "0.0.0.0");
    assert_string_equal(cfg.admin_listen.host, "127.0.0.1");
    assert_int_equal(cfg.admin_listen.port, 9091);
    setenv("TYCHO_ADMIN_LISTEN", ":9092", 1);
    assert_int_equal(load(&cfg, err, sizeof err, NULL), 0);
    assert_string_equal(cfg.admin_listen.host, "127.0.0.1");
    assert_int_equal(cfg.admin_listen.port, 9092);
    setenv("TYCHO_ADMIN_LISTEN", "0.0.0.0:9093", 1);
    assert_int_equal(load(&cfg, err, sizeof err, NULL), 0);
    assert_string_equal(cfg.admin_listen.host, "0.0.0.0");
    setenv("TYCHO_ADMIN_LISTEN", "[::]:9094", 1);
    assert_int_equal(load(&cfg, err, sizeof err, NULL), 0);
    assert_string_equal(cfg.admin_listen.host, "::");
    unsetenv("TYCHO_ADMIN_LISTEN");
    /* different ports, or both ephemeral, are fine */
    const char *ok1[] = {"--listen", "127.0.0.1:8080", "--admin-listen", "127.0.0.1:8081", NULL};
    assert_int_equal(load(&cfg, err, sizeof err, ok1), 0);
    const char *ok2[] = {"--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", NULL};
    assert_int_equal(load(&cfg, err, sizeof err, ok2), 0);
    const char *ok3[] = {"--listen", "127.0.0.2:9090", NULL};
    assert_int_equal(load(&cfg, err, sizeof err, ok3), 0);
    /* 0.0.0.0 takes the IPv4 addresses only: Linux binds [::1]:P beside it */
    const char *v4any[] = {"--listen", "0.0.0.0:9095", "--admin-listen", "[::1]:9095", NULL};
    if (load(&cfg, err, sizeof err, v4any) != 0) fail_msg("refused: %s", err);
    const char *v6[] = {"--listen", "[2001:db8::1]:9096", "--admin-listen", "0.0.0.0:9096", NULL};
    if (load(&cfg, err, sizeof err, v6) != 0) fail_msg("refused: %s", err);
}

static void test_parse_addr(void **state)
{
    (void)state;
    tycho_addr_t a;
    char err[256];
    assert_int_equal(tycho_config_parse_addr("8081", &a, err, sizeof err), 0);
    assert_string_equal(a.host, "0.0.0.0");
    assert_int_equal(a.port, 8081);
    assert_int_equal(tycho_config_parse_addr("[fe80::1]:65535", &a, err, sizeof err), 0);
    assert_string_equal(a.host, "fe80::1");
    assert_int_equal(a.port, 65535);
    assert_int_equal(tycho_config_parse_addr("1.2.3.4:0", &a, err, sizeof err), 0);
    assert_int_equal(tycho_config_parse_addr("1.2.3.4:65536", &a, err, sizeof err), -1);
    assert_string_equal(err, "port out of range: 65536");
    assert_int_equal(tycho_config_parse_addr("1.2.3.4:99999999999999999999", &a, err, sizeof err),
                     -1);
    /* an address without its port says so (it read as a bad port, or
     * "::1" as host ':' and port 1); "::1:8080" is taken, as it was */
    static const char *const no_port[] = {"127.0.0.1", "::1", "::", "fe80::1", "localhost"};
    for (size_t i = 0; i < sizeof no_port / sizeof *no_port; i++) {
        char want[128];
        snprintf(want, sizeof want, "no port: %s (host:port, [ipv6]:port, :port or port)",
                 no_port[i]);
        assert_int_equal(tycho_config_parse_addr(no_port[i], &a, err, sizeof err), -1);
        assert_string_equal(err, want);
    }
    assert_int_equal(tycho_config_parse_addr("::1:8080", &a, err, sizeof err), 0);
    assert_string_equal(a.host, "::1");
    assert_int_equal(a.port, 8080);
    assert_int_equal(tycho_config_parse_addr("abc", &a, err, sizeof err), -1);
    assert_string_equal(err, "bad port: abc");
    char longhost[200];
    memset(longhost, '1', sizeof longhost - 4);
    strcpy(longhost + sizeof longhost - 4, ":80");
    assert_int_equal(tycho_config_parse_addr(longhost, &a, err, sizeof err), -1);
}

/* A flag's value replaces the variable's without the variable being read:
 * a bad one in the environment does not stop a command line that sets it. */
static void test_flags_win_over_bad_env(void **state)
{
    (void)state;
    tycho_config_t cfg;
    char err[512];
    setenv("TYCHO_LISTEN", "127.0.0.1:99999", 1);
    setenv("TYCHO_RELOAD", "maybe", 1);
    setenv("TYCHO_LUA_DIR", "/nonexistent", 1);
    const char *args[] = {"--listen", "127.0.0.1:1", "--no-reload", "--lua-dir", "lua", NULL};
    assert_int_equal(load(&cfg, err, sizeof err, args), 0);
    assert_int_equal(cfg.listen.port, 1);
    assert_int_equal(cfg.reload, 0);
    assert_string_equal(tycho_config_source(&cfg, &cfg.listen), "--listen");
    assert_string_equal(tycho_config_source(&cfg, cfg.lua_dir), "--lua-dir");
    assert_string_equal(tycho_config_source(&cfg, &cfg.reload), "--no-reload");
    assert_string_equal(tycho_config_source(&cfg, cfg.routes_dir), "TYCHO_ROUTES");
    /* without the flags, the variables are read (and the bad one named) */
    assert_int_equal(load(&cfg, err, sizeof err, NULL), -1);
    expect_one_line(err, "TYCHO_LISTEN", "port out of range: 99999");
}

/* On/off settings stand alone on the command line; the word after one is
 * its value only when it is an on/off word. Durations and sizes take units. */
static void test_switches_and_units(void **state)
{
    (void)state;
    tycho_config_t cfg;
    char err[512];
    setenv("TYCHO_RELOAD", "off", 1);
    setenv("TYCHO_ACCESS_LOG", "no", 1);
    const char *alone[] = {"--reload", "--listen", "127.0.0.1:1", "--access-log", NULL};
    assert_int_equal(load(&cfg, err, sizeof err, alone), 0);
    assert_int_equal(cfg.reload, 1);
    assert_int_equal(cfg.access_log, 1);
    assert_int_equal(cfg.listen.port, 1);
    const char *words[] = {"--reload", "OFF", "--access-log", "false", NULL};
    assert_int_equal(load(&cfg, err, sizeof err, words), 0);
    assert_int_equal(cfg.reload, 0);
    assert_int_equal(cfg.access_log, 0);

    setenv("TYCHO_HEADER_TIMEOUT", "500ms", 1);
    setenv("TYCHO_LUA_MEMORY_LIMIT", "64MiB", 1);
    const char *units[] = {"--handler-timeout", "2m", "--max-body-bytes=2M", NULL};
    assert_int_equal(load(&cfg, err, sizeof err, units), 0);
    assert_true(cfg.header_timeout == 0.5);
    assert_true(cfg.handler_timeout == 120);
    assert_int_equal(cfg.lua_memory_limit, 64u << 20);
    assert_int_equal(cfg.max_body_bytes, 2u << 20);
    setenv("TYCHO_HEADER_TIMEOUT", "1.5", 1); /* a bare number: seconds */
    assert_int_equal(load(&cfg, err, sizeof err, NULL), 0);
    assert_true(cfg.header_timeout == 1.5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_defaults, setup),
        cmocka_unit_test(test_env_trimmed),
        cmocka_unit_test_setup(test_env_and_flags, setup),
        cmocka_unit_test_setup(test_bad_values, setup),
        cmocka_unit_test_setup(test_bad_arguments, setup),
        cmocka_unit_test_setup(test_misspelt_variable, setup),
        cmocka_unit_test_setup(test_empty_env_is_unset, setup),
        cmocka_unit_test_setup(test_blanks_trimmed, setup),
        cmocka_unit_test_setup(test_cpu_quota, setup),
        cmocka_unit_test_setup(test_workers_follow_affinity, setup),
        cmocka_unit_test_setup(test_uri_limit_under_header_limit, setup),
        cmocka_unit_test_setup(test_admin_not_public, setup),
        cmocka_unit_test_setup(test_parse_addr, setup),
        cmocka_unit_test_setup(test_flags_win_over_bad_env, setup),
        cmocka_unit_test_setup(test_switches_and_units, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
