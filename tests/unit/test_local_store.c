/* Unit tests for local_store: request framing (target, JSON body), the
 * environment configuration, durability across close/reopen, an
 * acknowledged write surviving kill -9 of the process that made it, and a
 * full store answering 503 (tests/local/test_disk_full.sh fills a real
 * filesystem; here SQLite's max_page_count stands in for it), the start-up
 * errors of a damaged store or one of another layout version, and a new
 * data directory made durable (its parents' and its own entries fsynced). */
#include "tests/lib/fsync_spy.h"
#include "tests/lib/local_env.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct env {
    char dir[64];
} env_t;

static int setup(void **state)
{
    env_t *e = calloc(1, sizeof *e);
    local_tmpdir_make(e->dir, sizeof e->dir, "/tmp/tycho-store-XXXXXX");
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    env_t *e = *state;
    local_tmpdir_remove(e->dir);
    free(e);
    return 0;
}

static tycho_local_store_t *open_store(const char *dir)
{
    tycho_local_config_t cfg;
    tycho_local_store_t *s;
    char err[512];
    tycho_local_config_init(&cfg);
    if (tycho_local_store_open(dir, &cfg, LOCAL_ENV_EPOCH_MS, &s, err, sizeof err))
        fail_msg("open: %s", err);
    return s;
}

static int exec(tycho_local_store_t *s, const char *target, const char *body, size_t len, char *out,
                size_t outlen)
{
    tycho_local_result_t r;
    assert_int_equal(tycho_local_exec(s, target, body, len, LOCAL_ENV_EPOCH_MS, &r), 0);
    snprintf(out, outlen, "%s", r.body);
    int st = r.status;
    tycho_local_result_free(&r);
    return st;
}

static void test_framing(void **state)
{
    env_t *e = *state;
    tycho_local_store_t *s = open_store(e->dir);
    char out[1024];
    assert_int_equal(exec(s, "Kinesis_20131202.PutRecord", "{}", 2, out, sizeof out), 400);
    assert_non_null(strstr(out, "com.amazon.coral.service#UnknownOperationException"));
    assert_int_equal(exec(s, NULL, "{}", 2, out, sizeof out), 400);
    assert_non_null(strstr(out, "UnknownOperationException"));
    const char *bodies[] = {"{", "[]", "\"x\"", "{} x", "{\"a\":1,}"};
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        assert_int_equal(
            exec(s, "DynamoDB_20120810.ListTables", bodies[i], strlen(bodies[i]), out, sizeof out),
            400);
        assert_non_null(strstr(out, "com.amazon.coral.service#SerializationException"));
    }
    assert_int_equal(exec(s, "AmazonSQS.ListQueues", "{\"x\":\"\xff\"}", 9, out, sizeof out), 400);
    assert_non_null(strstr(out, "SerializationException"));
    /* empty body = empty request */
    assert_int_equal(exec(s, "DynamoDB_20120810.ListTables", "", 0, out, sizeof out), 200);
    assert_non_null(strstr(out, "tycho-app-data"));
    /* embedded NUL escapes are refused instead of truncated */
    const char *nul = "{\"TableName\":\"tycho-app-data\",\"Item\":{\"id\":{\"S\":\"a\\u0000b\"},"
                      "\"timestamp\":{\"S\":\"t\"}}}";
    assert_int_equal(exec(s, "DynamoDB_20120810.PutItem", nul, strlen(nul), out, sizeof out), 400);
    assert_non_null(strstr(out, "ValidationException"));
    const char *esc = "{\"TableName\":\"tycho-app-data\",\"Item\":{\"id\":{\"S\":\"a\\\\u0000b\"},"
                      "\"timestamp\":{\"S\":\"t\"}}}";
    assert_int_equal(exec(s, "DynamoDB_20120810.PutItem", esc, strlen(esc), out, sizeof out), 200);
    const char *snul = "{\"QueueUrl\":\"http://localhost/000000000000/"
                       "tycho-messages\",\"MessageBody\":\"a\\u0000\"}";
    assert_int_equal(exec(s, "AmazonSQS.SendMessage", snul, strlen(snul), out, sizeof out), 400);
    assert_non_null(strstr(out, "InvalidMessageContents"));
    tycho_local_store_close(s);
}

static void test_config_env(void **state)
{
    (void)state;
    tycho_local_config_t cfg;
    char err[256];
    tycho_local_config_init(&cfg);
    assert_string_equal(cfg.queues, TYCHO_LOCAL_DEFAULT_QUEUES);
    assert_string_equal(cfg.region, "us-east-1");
    setenv("TYCHO_LOCAL_QUEUES", "a;b", 1);
    setenv("TYCHO_LOCAL_TABLES", "", 1);
    setenv("TYCHO_LOCAL_AUTO_CREATE", "off", 1);
    setenv("TYCHO_LOCAL_SYNC", "normal", 1);
    setenv("AWS_REGION", "eu-west-2", 1);
    setenv("TYCHO_LOCAL_ACCOUNT", "123456789012", 1);
    assert_int_equal(tycho_local_config_from_env(&cfg, err, sizeof err), 0);
    assert_string_equal(cfg.queues, "a;b");
    assert_string_equal(cfg.tables, "");
    assert_int_equal(cfg.auto_create_queues, 0);
    assert_int_equal(cfg.sync_full, 0);
    assert_string_equal(cfg.region, "eu-west-2");
    assert_string_equal(cfg.account, "123456789012");
    setenv("TYCHO_LOCAL_AUTO_CREATE", "maybe", 1);
    assert_int_equal(tycho_local_config_from_env(&cfg, err, sizeof err), -1);
    assert_non_null(strstr(err, "TYCHO_LOCAL_AUTO_CREATE"));
    unsetenv("TYCHO_LOCAL_AUTO_CREATE");
    setenv("TYCHO_LOCAL_ACCOUNT", "12", 1);
    assert_int_equal(tycho_local_config_from_env(&cfg, err, sizeof err), -1);
    assert_non_null(strstr(err, "TYCHO_LOCAL_ACCOUNT"));
    unsetenv("TYCHO_LOCAL_ACCOUNT");
    setenv("AWS_REGION", "eu west", 1);
    assert_int_equal(tycho_local_config_from_env(&cfg, err, sizeof err), -1);
    assert_non_null(strstr(err, "AWS_REGION"));
    unsetenv("AWS_REGION");
    unsetenv("TYCHO_LOCAL_QUEUES");
    unsetenv("TYCHO_LOCAL_TABLES");
    unsetenv("TYCHO_LOCAL_SYNC");
}

/* A bad TYCHO_LOCAL_QUEUES / TYCHO_LOCAL_TABLES is refused while the
 * variables are read, before any store is opened: one line naming the
 * variable, the queue or table, the key as written and what it takes; a key
 * given twice is refused (gsi excepted). */
static void test_config_env_specs(void **state)
{
    (void)state;
    static const struct {
        const char *var, *value, *want;
    } cases[] = {
        {"TYCHO_LOCAL_QUEUES", "q1:visibility=99999",
         "TYCHO_LOCAL_QUEUES: queue q1: visibility=99999: out of range (0-43200 seconds)"},
        {"TYCHO_LOCAL_QUEUES", "q1:delay=901",
         "TYCHO_LOCAL_QUEUES: queue q1: delay=901: out of range (0-900 seconds)"},
        {"TYCHO_LOCAL_QUEUES", "q1:retention=59",
         "TYCHO_LOCAL_QUEUES: queue q1: retention=59: out of range (60-1209600 seconds)"},
        {"TYCHO_LOCAL_QUEUES", "q1:wait=1e1",
         "TYCHO_LOCAL_QUEUES: queue q1: wait=1e1: not a whole number (0-20 seconds)"},
        {"TYCHO_LOCAL_QUEUES", "q1:max_size=99999999999",
         "TYCHO_LOCAL_QUEUES: queue q1: max_size=99999999999: out of range (1024-1048576 bytes)"},
        {"TYCHO_LOCAL_QUEUES", "q1:dlq=d:max_receive=0",
         "TYCHO_LOCAL_QUEUES: queue q1: max_receive=0: out of range (1-1000 receives)"},
        {"TYCHO_LOCAL_QUEUES", "q1:dlq=a b",
         "TYCHO_LOCAL_QUEUES: queue q1: dlq=a b: not a queue name (1-80 of A-Z a-z 0-9 - _)"},
        {"TYCHO_LOCAL_QUEUES", "q1:colour=red",
         "TYCHO_LOCAL_QUEUES: queue q1: colour=red: unknown key (visibility, delay, retention, "
         "wait, max_size, dlq, max_receive)"},
        {"TYCHO_LOCAL_QUEUES", "ok;q1:visibility=5:visibility=6",
         "TYCHO_LOCAL_QUEUES: queue q1: visibility=6: visibility is given twice (once per queue)"},
        {"TYCHO_LOCAL_QUEUES", "q1:visibility",
         "TYCHO_LOCAL_QUEUES: queue q1: option \"visibility\" is not key=value"},
        {"TYCHO_LOCAL_TABLES", "tt2:pk=id:ttl=ttl:ttl=other",
         "TYCHO_LOCAL_TABLES: table tt2: ttl=other: ttl is given twice (once per table)"},
        {"TYCHO_LOCAL_TABLES", "tt2:pk=id:pk=other",
         "TYCHO_LOCAL_TABLES: table tt2: pk=other: pk is given twice (once per table)"},
        {"TYCHO_LOCAL_TABLES", "tt2:pk=id/X",
         "TYCHO_LOCAL_TABLES: table tt2: pk=id/X: expected attr or attr/T with T in S, N, B"},
        {"TYCHO_LOCAL_TABLES", "tt2:pk=id:gsi=ix/a/S",
         "TYCHO_LOCAL_TABLES: table tt2: gsi=ix/a/S: expected index/attr/T[/attr/T], the index "
         "named with 3-255 of A-Z a-z 0-9 _ . -, T in S, N, B"},
        {"TYCHO_LOCAL_TABLES", "tt2:pk=id:ttl=",
         "TYCHO_LOCAL_TABLES: table tt2: ttl=: expected an attribute name (1-255 bytes)"},
        {"TYCHO_LOCAL_TABLES", "tt2:sk=s",
         "TYCHO_LOCAL_TABLES: table tt2: pk=attr[/T] is required"},
        {"TYCHO_LOCAL_TABLES", "tt2:pk=id:gsi=idx/a/S:gsi=idx/b/S",
         "TYCHO_LOCAL_TABLES: table tt2: One or more parameter values were invalid: Duplicate "
         "index name: idx"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tycho_local_config_t cfg;
        char err[512] = "";
        tycho_local_config_init(&cfg);
        setenv(cases[i].var, cases[i].value, 1);
        if (tycho_local_config_from_env(&cfg, err, sizeof err) != -1 ||
            strcmp(err, cases[i].want) != 0)
            fail_msg("%s=%s: got '%s', want '%s'", cases[i].var, cases[i].value, err,
                     cases[i].want);
        unsetenv(cases[i].var);
    }
    /* gsi may come more than once */
    tycho_local_config_t cfg;
    char err[512];
    tycho_local_config_init(&cfg);
    setenv("TYCHO_LOCAL_TABLES", "tt2:pk=id:gsi=idx1/a/S:gsi=idx2/b/N/c/S", 1);
    assert_int_equal(tycho_local_config_from_env(&cfg, err, sizeof err), 0);
    unsetenv("TYCHO_LOCAL_TABLES");
}

/* Blanks around a value are dropped; an empty switch or account is unset
 * (the default stays), an empty list means none. */
static void test_config_env_blanks(void **state)
{
    (void)state;
    tycho_local_config_t cfg;
    char err[256];
    tycho_local_config_init(&cfg);
    setenv("TYCHO_LOCAL_QUEUES", " a;b\t", 1);
    setenv("TYCHO_LOCAL_TABLES", "  ", 1);
    setenv("TYCHO_LOCAL_AUTO_CREATE", "", 1);
    setenv("TYCHO_LOCAL_SYNC", " normal ", 1);
    setenv("TYCHO_LOCAL_ACCOUNT", " ", 1);
    assert_int_equal(tycho_local_config_from_env(&cfg, err, sizeof err), 0);
    assert_string_equal(cfg.queues, "a;b");
    assert_string_equal(cfg.tables, "");
    assert_int_equal(cfg.auto_create_queues, 1);
    assert_int_equal(cfg.sync_full, 0);
    assert_string_equal(cfg.account, "000000000000");
    setenv("TYCHO_LOCAL_ACCOUNT", " 123456789012\n", 1);
    assert_int_equal(tycho_local_config_from_env(&cfg, err, sizeof err), 0);
    assert_string_equal(cfg.account, "123456789012");
    setenv("TYCHO_LOCAL_SYNC", "fullfullfullfullfullfullfullfullfull", 1);
    assert_int_equal(tycho_local_config_from_env(&cfg, err, sizeof err), -1);
    assert_string_equal(err, "TYCHO_LOCAL_SYNC: too long (at most 31 bytes)");
    unsetenv("TYCHO_LOCAL_QUEUES");
    unsetenv("TYCHO_LOCAL_TABLES");
    unsetenv("TYCHO_LOCAL_AUTO_CREATE");
    unsetenv("TYCHO_LOCAL_SYNC");
    unsetenv("TYCHO_LOCAL_ACCOUNT");
}

static void test_reopen(void **state)
{
    env_t *e = *state;
    tycho_local_store_t *s = open_store(e->dir);
    char out[2048];
    const char *put = "{\"TableName\":\"tycho-app-data\",\"Item\":{\"id\":{\"S\":\"k\"},"
                      "\"timestamp\":{\"S\":\"1\"},\"n\":{\"N\":\"42\"}}}";
    const char *send = "{\"QueueUrl\":\"http://localhost/000000000000/"
                       "tycho-messages\",\"MessageBody\":\"persist me\"}";
    assert_int_equal(exec(s, "DynamoDB_20120810.PutItem", put, strlen(put), out, sizeof out), 200);
    assert_int_equal(exec(s, "AmazonSQS.SendMessage", send, strlen(send), out, sizeof out), 200);
    tycho_local_store_close(s);
    s = open_store(e->dir);
    const char *get = "{\"TableName\":\"tycho-app-data\",\"Key\":{\"id\":{\"S\":\"k\"},"
                      "\"timestamp\":{\"S\":\"1\"}}}";
    assert_int_equal(exec(s, "DynamoDB_20120810.GetItem", get, strlen(get), out, sizeof out), 200);
    assert_non_null(strstr(out, "\"42\""));
    const char *recv = "{\"QueueUrl\":\"http://localhost/000000000000/tycho-messages\"}";
    assert_int_equal(exec(s, "AmazonSQS.ReceiveMessage", recv, strlen(recv), out, sizeof out), 200);
    assert_non_null(strstr(out, "persist me"));
    tycho_local_store_close(s);
}

static void test_kill9_after_ack(void **state)
{
    env_t *e = *state;
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* Child: acknowledge each write to the parent, then hang until killed. */
        close(fds[0]);
        tycho_local_store_t *s = open_store(e->dir);
        for (int i = 0; i < 20; i++) {
            char body[256], out[512];
            snprintf(body, sizeof body,
                     "{\"TableName\":\"tycho-app-data\",\"Item\":{\"id\":{\"S\":\"k%d\"},"
                     "\"timestamp\":{\"S\":\"1\"}}}",
                     i);
            if (exec(s, "DynamoDB_20120810.PutItem", body, strlen(body), out, sizeof out) != 200)
                _exit(3);
            if (write(fds[1], "a", 1) != 1) _exit(4);
        }
        for (;;)
            pause();
    }
    close(fds[1]);
    char buf[20];
    size_t got = 0;
    while (got < sizeof buf) {
        ssize_t n = read(fds[0], buf + got, sizeof buf - got);
        assert_true(n > 0);
        got += (size_t)n;
    }
    kill(pid, SIGKILL); /* no close, no checkpoint: only the fsynced WAL remains */
    int status;
    waitpid(pid, &status, 0);
    close(fds[0]);
    tycho_local_store_t *s = open_store(e->dir);
    char out[512];
    const char *scan = "{\"TableName\":\"tycho-app-data\",\"Select\":\"COUNT\"}";
    assert_int_equal(exec(s, "DynamoDB_20120810.Scan", scan, strlen(scan), out, sizeof out), 200);
    assert_non_null(strstr(out, "\"Count\":20"));
    tycho_local_store_close(s);
}

/* prefix, 60000 copies of c, suffix: a request too large to fit in the pages
 * the store already has. */
static const char *big_body(char *buf, size_t cap, const char *prefix, char c, const char *suffix)
{
    int n = snprintf(buf, cap, "%s", prefix);
    memset(buf + n, c, 60000);
    snprintf(buf + n + 60000, cap - (size_t)n - 60000, "%s", suffix);
    return buf;
}

static void test_storage_full(void **state)
{
    env_t *e = *state;
    tycho_local_store_t *s = open_store(e->dir);
    char out[2048], big[80000];
    const char *put = "{\"TableName\":\"tycho-app-data\",\"Item\":{\"id\":{\"S\":\"k\"},"
                      "\"timestamp\":{\"S\":\"1\"}}}";
    const char *put_big = "{\"TableName\":\"tycho-app-data\",\"Item\":{\"id\":{\"S\":\"big\"},"
                          "\"timestamp\":{\"S\":\"1\"},\"v\":{\"S\":\"";
    assert_int_equal(exec(s, "DynamoDB_20120810.PutItem", put, strlen(put), out, sizeof out), 200);
    /* the store may not grow by a single page from now on (SQLite keeps the
     * limit at the current size when asked for less) */
    assert_int_equal(sqlite3_exec(s->db, "PRAGMA max_page_count = 1", NULL, NULL, NULL), SQLITE_OK);
    big_body(big, sizeof big, put_big, 'x', "\"}}}");
    assert_int_equal(exec(s, "DynamoDB_20120810.PutItem", big, strlen(big), out, sizeof out), 503);
    assert_non_null(strstr(out, "\"com.amazon.coral.service#ServiceUnavailableException\""));
    assert_non_null(strstr(out, "storage full"));

    big_body(big, sizeof big,
             "{\"QueueUrl\":\"http://localhost/000000000000/tycho-messages\",\"MessageBody\":\"",
             'y', "\"}");
    tycho_local_result_t r;
    assert_int_equal(
        tycho_local_exec(s, "AmazonSQS.SendMessage", big, strlen(big), LOCAL_ENV_EPOCH_MS, &r), 0);
    assert_int_equal(r.status, 503);
    assert_string_equal(r.query_error, "ServiceUnavailable;Receiver");
    assert_non_null(strstr(r.body, "storage full"));
    tycho_local_result_free(&r);

    /* reads keep working; the failed writes left nothing behind */
    const char *get = "{\"TableName\":\"tycho-app-data\",\"Key\":{\"id\":{\"S\":\"k\"},"
                      "\"timestamp\":{\"S\":\"1\"}}}";
    assert_int_equal(exec(s, "DynamoDB_20120810.GetItem", get, strlen(get), out, sizeof out), 200);
    assert_non_null(strstr(out, "\"Item\""));
    assert_int_equal(sqlite3_exec(s->db, "PRAGMA max_page_count = 1000000", NULL, NULL, NULL),
                     SQLITE_OK);
    const char *recv = "{\"QueueUrl\":\"http://localhost/000000000000/tycho-messages\"}";
    assert_int_equal(exec(s, "AmazonSQS.ReceiveMessage", recv, strlen(recv), out, sizeof out), 200);
    assert_null(strstr(out, "yyyy"));
    /* room again: the same write succeeds */
    big_body(big, sizeof big, put_big, 'x', "\"}}}");
    assert_int_equal(exec(s, "DynamoDB_20120810.PutItem", big, strlen(big), out, sizeof out), 200);
    tycho_local_store_close(s);
}

/* open_store's error for dir, "" when it opens. */
static const char *open_error_of(const char *dir, char *err, size_t errlen)
{
    tycho_local_config_t cfg;
    tycho_local_store_t *s;
    tycho_local_config_init(&cfg);
    err[0] = '\0';
    if (tycho_local_store_open(dir, &cfg, LOCAL_ENV_EPOCH_MS, &s, err, errlen) == 0)
        tycho_local_store_close(s);
    return err;
}

/* A damaged file is named with what to do; a store of another layout
 * version is refused before anything uses it. */
static void test_open_errors(void **state)
{
    env_t *e = *state;
    char path[128], err[1024], want[512];
    snprintf(path, sizeof path, "%s/%s", e->dir, TYCHO_LOCAL_DB_FILE);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    for (int i = 0; i < 8192; i++)
        fputc("garbage!"[i % 8], f);
    fclose(f);
    snprintf(want, sizeof want,
             "local backend: %s: file is not a database; it is damaged or not a store of this "
             "tycho: restore it from a backup, or move it (with its -wal and -shm files) aside "
             "and tycho starts an empty store",
             path);
    assert_string_equal(open_error_of(e->dir, err, sizeof err), want);

    unlink(path);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db,
                                  "CREATE TABLE meta(k TEXT PRIMARY KEY, v TEXT NOT NULL);"
                                  "INSERT INTO meta VALUES('schema', '4')",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    snprintf(want, sizeof want,
             "local backend: %s: stored in layout version 4, this tycho reads version 3 (and "
             "upgrades versions 1 and 2): run the tycho that wrote it, or use another "
             "TYCHO_DATA_DIR",
             path);
    assert_string_equal(open_error_of(e->dir, err, sizeof err), want);
}

/* A power cut must not take a new data directory's entry, or its database
 * file's, although SQLite committed: the parent of each directory created
 * and the data directory (after the file's creation) are fsynced. */
static void test_new_dir_durable(void **state)
{
    env_t *e = *state;
    char dir[128], mid[128], err[512], want[512];
    snprintf(dir, sizeof dir, "%s/one", e->dir);
    fsync_spy_reset();
    tycho_local_store_close(open_store(dir));
    assert_true(fsync_spy_synced(e->dir));
    assert_true(fsync_spy_synced(dir));
    /* and its missing parents */
    snprintf(mid, sizeof mid, "%s/new", e->dir);
    snprintf(dir, sizeof dir, "%s/new/data", e->dir);
    fsync_spy_reset();
    tycho_local_store_close(open_store(dir));
    assert_true(fsync_spy_synced(e->dir));
    assert_true(fsync_spy_synced(mid));
    assert_true(fsync_spy_synced(dir));

    /* a path that cannot be a directory is reported with why */
    snprintf(dir, sizeof dir, "%s/new/data/%s/sub", e->dir, TYCHO_LOCAL_DB_FILE);
    snprintf(want, sizeof want,
             "local backend: data directory %s: cannot create it: Not a directory", dir);
    assert_string_equal(open_error_of(dir, err, sizeof err), want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_framing, setup, teardown),
        cmocka_unit_test(test_config_env),
        cmocka_unit_test(test_config_env_specs),
        cmocka_unit_test(test_config_env_blanks),
        cmocka_unit_test_setup_teardown(test_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kill9_after_ack, setup, teardown),
        cmocka_unit_test_setup_teardown(test_storage_full, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_new_dir_durable, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
