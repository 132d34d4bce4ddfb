/* libFuzzer target for the whole reading of `tycho serve`'s settings
 * (core/config.c tycho_config_load): every TYCHO_* variable and every flag,
 * in any mix, including the check for misspelt variables (env_names.c)
 * and the cross-checks (listeners sharing a port...). fuzz_config and
 * fuzz_units check the value readers; this checks what is built on them.
 * Checked (abort on failure):
 *  - a refusal has a message; reading the same settings again gives the
 *    same verdict, message and configuration (no state kept between loads);
 *  - blanks around a value are not part of it: each variable's value and
 *    each --flag=value's value with spaces and tabs around it give the same
 *    verdict, and when accepted the same configuration.
 *
 * Input: lines. Byte 0 < 0x80 sets a variable (modulo the list below) to
 * the rest; else it adds a flag (modulo the list, one past it: the rest as
 * a bare argument) with the rest as "=value" when it starts with '=', as
 * the next argument when not empty.
 *
 * Built and run by tests/fuzz/run_fuzzer.sh config_load. */
#include "core/config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_TARGET "config_load"
#include "tests/fuzz/fuzz_check.h"

extern char **environ;

static const char *const VARS[] = {"TYCHO_ACCESS_LOG",
                                   "TYCHO_ADMIN_LISTEN",
                                   "TYCHO_AWS_BACKEND",
                                   "TYCHO_BODY_TIMEOUT",
                                   "TYCHO_DATA_DIR",
                                   "TYCHO_DRAIN_TIMEOUT",
                                   "TYCHO_HANDLER_TIMEOUT",
                                   "TYCHO_HEADER_TIMEOUT",
                                   "TYCHO_KEEPALIVE_TIMEOUT",
                                   "TYCHO_LISTEN",
                                   "TYCHO_LOAD_TIMEOUT",
                                   "TYCHO_LOG_LEVEL",
                                   "TYCHO_LUA_DIR",
                                   "TYCHO_LUA_MEMORY_LIMIT",
                                   "TYCHO_MAX_BODY_BYTES",
                                   "TYCHO_MAX_BODY_MEMORY",
                                   "TYCHO_MAX_CONNECTIONS",
                                   "TYCHO_MAX_HEADER_BYTES",
                                   "TYCHO_MAX_URI_BYTES",
                                   "TYCHO_RELOAD",
                                   "TYCHO_ROUTES",
                                   "TYCHO_SEND_TIMEOUT",
                                   "TYCHO_TRUSTED_PROXIES",
                                   "TYCHO_WORKERS",
                                   "TYCHO_WORKER" /* a slip: refused */,
                                   "TYCHO_APP_OWN" /* not tycho's */};
#define NVARS (sizeof VARS / sizeof VARS[0])

static const char *const FLAGS[] = {
    "--access-log",      "--admin-listen",     "--aws-backend",
    "--body-timeout",    "--data-dir",         "--drain-timeout",
    "--handler-timeout", "--header-timeout",   "--keepalive-timeout",
    "--listen",          "--load-timeout",     "--log-level",
    "--lua-dir",         "--lua-memory-limit", "--max-body-bytes",
    "--max-body-memory", "--max-connections",  "--max-header-bytes",
    "--max-uri-bytes",   "--no-reload",        "--reload",
    "--routes",          "--send-timeout",     "--trusted-proxies",
    "--workers"};
#define NFLAGS (sizeof FLAGS / sizeof FLAGS[0])
#define MAX_ARGS 64
#define PAD " \t "

typedef struct settings {
    const char *env[NVARS]; /* values, NULL when unset (point into the input copy) */
    size_t envlen[NVARS];
    char *argv[MAX_ARGS + 1];
    int argc;
    int eq_value[MAX_ARGS]; /* argv[i] is "--flag=value" */
} settings_t;

typedef struct outcome {
    int rc;
    char err[512];
    tycho_config_t cfg;
} outcome_t;

static void clear_env(void)
{
    for (;;) { /* every TYCHO_* variable, the fuzzer's own environment's too */
        char **e = environ;
        while (*e && strncmp(*e, "TYCHO_", 6) != 0)
            e++;
        if (!*e) return;
        char name[256];
        size_t n = strcspn(*e, "=");
        snprintf(name, sizeof name, "%.*s", (int)(n < 255 ? n : 255), *e);
        unsetenv(name);
    }
}

static char *padded(const char *p, size_t n, int pad)
{
    char *s = malloc(n + 2 * sizeof PAD);
    sprintf(s, "%s%.*s%s", pad ? PAD : "", (int)n, p, pad ? PAD : "");
    return s;
}

static void load(const settings_t *st, int pad, outcome_t *out)
{
    clear_env();
    for (size_t i = 0; i < NVARS; i++) {
        if (!st->env[i]) continue;
        char *v = padded(st->env[i], st->envlen[i], pad);
        setenv(VARS[i], v, 1);
        free(v);
    }
    char *argv[MAX_ARGS + 1];
    for (int i = 0; i < st->argc; i++) {
        const char *eq = st->eq_value[i] ? strchr(st->argv[i], '=') : NULL;
        if (eq && pad) {
            size_t head = (size_t)(eq + 1 - st->argv[i]);
            argv[i] = malloc(strlen(st->argv[i]) + 2 * sizeof PAD);
            sprintf(argv[i], "%.*s%s%s%s", (int)head, st->argv[i], PAD, eq + 1, PAD);
        } else {
            argv[i] = strdup(st->argv[i]);
        }
    }
    argv[st->argc] = NULL;
    memset(out, 0, sizeof *out);
    out->rc = tycho_config_load(&out->cfg, st->argc, argv, out->err, sizeof out->err);
    CHECK(out->rc == 0 || out->rc == -1, "rc %d", out->rc);
    CHECK(out->rc == 0 || out->err[0], "refused without a message");
    for (int i = 0; i < st->argc; i++)
        free(argv[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* the environment holds C strings: a NUL ends the input */
    size = strnlen((const char *)data, size);
    char *in = malloc(size + 1);
    memcpy(in, data, size);
    in[size] = '\0';
    static settings_t st;
    memset(&st, 0, sizeof st);
    st.argv[st.argc++] = strdup("serve");
    for (char *p = in, *end = in + size; p < end;) {
        char *nl = memchr(p, '\n', (size_t)(end - p)), *le = nl ? nl : end;
        *le = '\0';
        unsigned char pick = (unsigned char)*p;
        char *rest = *p ? p + 1 : p;
        if (*p && pick < 0x80) {
            st.env[pick % NVARS] = rest;
            st.envlen[pick % NVARS] = strlen(rest);
        } else if (*p && st.argc + 2 <= MAX_ARGS) {
            size_t f = (pick & 0x7f) % (NFLAGS + 1);
            if (f == NFLAGS) {
                st.argv[st.argc++] = strdup(rest);
            } else if (*rest == '=') {
                st.eq_value[st.argc] = 1;
                st.argv[st.argc] = malloc(strlen(FLAGS[f]) + strlen(rest) + 1);
                sprintf(st.argv[st.argc++], "%s%s", FLAGS[f], rest);
            } else {
                st.argv[st.argc++] = strdup(FLAGS[f]);
                if (*rest) st.argv[st.argc++] = strdup(rest);
            }
        }
        p = le + 1;
    }

    static outcome_t first, again, pad;
    load(&st, 0, &first);
    load(&st, 0, &again);
    CHECK(first.rc == again.rc && strcmp(first.err, again.err) == 0 &&
              (first.rc || memcmp(&first.cfg, &again.cfg, sizeof first.cfg) == 0),
          "a second load differs: rc %d '%s', then rc %d '%s'", first.rc, first.err, again.rc,
          again.err);
    load(&st, 1, &pad);
    CHECK(first.rc == pad.rc, "blanks around the values changed the verdict: '%s', then '%s'",
          first.err, pad.err);
    CHECK(first.rc || memcmp(&first.cfg, &pad.cfg, sizeof first.cfg) == 0,
          "blanks around the values changed the configuration");

    for (int i = 0; i < st.argc; i++)
        free(st.argv[i]);
    free(in);
    clear_env();
    return 0;
}
