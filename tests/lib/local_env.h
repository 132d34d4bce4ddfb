/* local_env — a local store (aws/local_store.h) in a fresh temporary
 * directory, driven through tycho_local_exec with an injected clock, for the
 * executor's unit tests (tests/unit/test_local_ddb.c, test_local_sqs.c): each
 * call keeps the status, the long-poll wait and the parsed body of the last
 * answer. Also the temporary-directory pair the store and backend tests use.
 * Failures fail the running cmocka test. One env per test, one thread. */
#ifndef TYCHO_TEST_LOCAL_ENV_H
#define TYCHO_TEST_LOCAL_ENV_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "aws/local_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The injected clock's start (2023-11-14T22:13:20Z), in ms. */
#define LOCAL_ENV_EPOCH_MS 1700000000000LL

/* Creates a fresh directory from a mkdtemp template ("/tmp/tycho-x-XXXXXX")
 * into dir. */
static inline void local_tmpdir_make(char *dir, size_t size, const char *tmpl)
{
    snprintf(dir, size, "%s", tmpl);
    assert_non_null(mkdtemp(dir));
}

static inline void local_tmpdir_remove(const char *dir)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

typedef struct local_env {
    char dir[64];
    tycho_local_store_t *s; /* NULL while closed */
    int64_t now;            /* the clock every call and open sees */
    int status;             /* of the last call */
    int64_t wait_ms;        /* of the last call: how long a long poll may wait */
    cJSON *body;            /* of the last call, parsed; owned by the env */
} local_env_t;

/* Opens e->s on e->dir with these queue and table specs (the
 * TYCHO_LOCAL_QUEUES / TYCHO_LOCAL_TABLES syntax); -1 with the reason on
 * stderr. */
static inline int local_env_open(local_env_t *e, const char *queues, const char *tables,
                                 int auto_create_queues)
{
    tycho_local_config_t cfg;
    char err[512];
    tycho_local_config_init(&cfg);
    snprintf(cfg.queues, sizeof cfg.queues, "%s", queues);
    snprintf(cfg.tables, sizeof cfg.tables, "%s", tables);
    cfg.auto_create_queues = auto_create_queues;
    if (tycho_local_store_open(e->dir, &cfg, e->now, &e->s, err, sizeof err)) {
        fprintf(stderr, "open: %s\n", err);
        return -1;
    }
    return 0;
}

/* Asserts that opening a store on e->dir with these specs fails, returns no
 * store and says `needle` in its error. */
static inline void local_env_open_fails(local_env_t *e, const char *queues, const char *tables,
                                        const char *needle)
{
    tycho_local_config_t cfg;
    tycho_local_store_t *s = NULL;
    char err[512];
    tycho_local_config_init(&cfg);
    snprintf(cfg.queues, sizeof cfg.queues, "%s", queues);
    snprintf(cfg.tables, sizeof cfg.tables, "%s", tables);
    assert_int_equal(tycho_local_store_open(e->dir, &cfg, e->now, &s, err, sizeof err), -1);
    assert_null(s);
    if (!strstr(err, needle)) fail_msg("open error '%s' lacks '%s'", err, needle);
}

/* A new env in a fresh directory made from tmpl, its store open and its clock
 * at LOCAL_ENV_EPOCH_MS. */
static inline local_env_t *local_env_new(const char *tmpl, const char *queues, const char *tables,
                                         int auto_create_queues)
{
    local_env_t *e = calloc(1, sizeof *e);
    assert_non_null(e);
    local_tmpdir_make(e->dir, sizeof e->dir, tmpl);
    e->now = LOCAL_ENV_EPOCH_MS;
    assert_int_equal(local_env_open(e, queues, tables, auto_create_queues), 0);
    return e;
}

/* A cmocka teardown for a local_env_t in *state: closes, removes, frees. */
static inline int local_env_teardown(void **state)
{
    local_env_t *e = *state;
    cJSON_Delete(e->body);
    tycho_local_store_close(e->s);
    local_tmpdir_remove(e->dir);
    free(e);
    return 0;
}

/* Runs <service>.<op> (e.g. "AmazonSQS", "SendMessage") with a
 * printf-formatted JSON body at e->now; keeps status, wait and parsed body
 * (the test fails if the answer is not JSON) and returns the body. */
static inline cJSON *local_env_call(local_env_t *e, const char *service, const char *op,
                                    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static inline cJSON *local_env_call(local_env_t *e, const char *service, const char *op,
                                    const char *fmt, ...)
{
    char body[16384], target[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(body, sizeof body, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof body)
        fail_msg("%s: request body longer than %zu", op, sizeof body);
    snprintf(target, sizeof target, "%s.%s", service, op);
    tycho_local_result_t r;
    assert_int_equal(tycho_local_exec(e->s, target, body, strlen(body), e->now, &r), 0);
    cJSON_Delete(e->body);
    e->status = r.status;
    e->wait_ms = r.wait_ms;
    e->body = cJSON_Parse(r.body);
    if (!e->body) fail_msg("%s: unparsable response %s", op, r.body);
    tycho_local_result_free(&r);
    return e->body;
}

/* A string member of the last answer, or "" (e.g. "__type", "message"). */
static inline const char *local_env_str(const local_env_t *e, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(e->body, name);
    return cJSON_IsString(v) ? v->valuestring : "";
}

/* Runs a whole housekeeping sweep at e->now, step after step as the local
 * backend does (tycho_local_store_sweep); fails the test on an error.
 * Returns the number of steps. */
static inline int local_env_sweep(local_env_t *e)
{
    char err[1024] = "";
    int step = 0, rc;
    while ((rc = tycho_local_store_sweep(e->s, e->now, err, sizeof err)) == 1)
        step++;
    if (rc != 0) fail_msg("sweep step %d: %s", step, err);
    return step + 1;
}

/* One row's integer (or -1 when NULL) of a query on the store's file. */
static inline long long local_env_scalar(local_env_t *e, const char *sql)
{
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(e->s->db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    long long v = sqlite3_column_type(st, 0) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* SQLite VM steps the store's statements ran since the last call: the work
 * a request or a sweep did, counted rather than timed. */
static inline long long local_env_vm_steps(local_env_t *e)
{
    long long n = 0;
    for (int i = 0; i < e->s->nstmts; i++)
        n += sqlite3_stmt_status(e->s->stmts[i].stmt, SQLITE_STMTSTATUS_VM_STEP, 1);
    return n;
}

#define LOCAL_COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

/* A request that must fail: 400, this __type, a message containing needle
 * ("" for any message). */
typedef struct local_err_case {
    const char *op, *body, *type, *needle;
} local_err_case_t;

/* Runs <service>.<case op> for each case in order, each on the state the
 * previous ones left, and fails the test at the first that does not fail as
 * it says. */
static inline void local_env_expect_errs(local_env_t *e, const char *service,
                                         const local_err_case_t *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const local_err_case_t *c = &cases[i];
        local_env_call(e, service, c->op, "%s", c->body);
        const char *type = local_env_str(e, "__type"), *msg = local_env_str(e, "message");
        if (e->status != 400 || strcmp(type, c->type) != 0 || !strstr(msg, c->needle))
            fail_msg("case %zu, %s %s: got %d %s '%s', want 400 %s '...%s...'", i, c->op, c->body,
                     e->status, type, msg, c->type, c->needle);
    }
}

#endif
