/* local_store — see local_store.h. */
#include "aws/local_store.h"
#include "aws/local_ddb.h"
#include "aws/local_sqs.h"
#include "core/config.h"
#include "core/durable_dir.h"
#include "core/units.h"
#include "core/utf8.h"

#include <ctype.h>
#include <errno.h>
#include <openssl/rand.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

/* Layout version 3. Messages keep their queue by name; items keep the
 * order-preserving key bytes of local_av.h so SQLite's memcmp BLOB order is
 * DynamoDB's key order, and their TTL (local_ddb.h) in ddb_items.ttl.
 * Version 1 had no sqs_messages.received_ms (the time of the receive that
 * made the current receipt handle, for SQS's 12-hour cap on a message's
 * visibility); upgrade_from_1 adds it. Version 2 had no ddb_items.ttl (its
 * sweep parsed every item of a table with TTL); upgrade_from_2 adds it.
 * SCHEMA runs after the upgrades, so what it creates may use the new
 * columns. */
#define LAYOUT_VERSION 3
static const char SCHEMA[] =
    "CREATE TABLE IF NOT EXISTS meta(k TEXT PRIMARY KEY, v TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS sqs_queues(name TEXT PRIMARY KEY, attrs TEXT NOT NULL,"
    " created_s INTEGER NOT NULL, modified_s INTEGER NOT NULL, purged_ms INTEGER NOT NULL DEFAULT "
    "0);"
    "CREATE TABLE IF NOT EXISTS sqs_messages(id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " queue TEXT NOT NULL, message_id TEXT NOT NULL, body TEXT NOT NULL, md5_body TEXT NOT NULL,"
    " attrs TEXT, md5_attrs TEXT, trace_header TEXT, group_id TEXT, dlq_source TEXT,"
    " sent_ms INTEGER NOT NULL, visible_ms INTEGER NOT NULL, expires_ms INTEGER NOT NULL,"
    " receive_count INTEGER NOT NULL DEFAULT 0, first_receive_ms INTEGER NOT NULL DEFAULT 0,"
    " receipt TEXT, received_ms INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX IF NOT EXISTS sqs_messages_ready ON sqs_messages(queue, visible_ms, id);"
    /* A receive takes a queue's visible messages oldest first: through this
     * index it reads them in id order and skips the ones in flight, where
     * the one above made it gather every visible message of the queue and
     * sort them, for each message it returned (a backlog of 100,000 made a
     * receive take 330 ms, bench/results/local_sqs_backlog.md). */
    "CREATE INDEX IF NOT EXISTS sqs_messages_order ON sqs_messages(queue, id, visible_ms);"
    /* The messages past their retention period, a queue's (read and
     * receive drop them first) and every queue's (the sweep). Both indexes
     * are created on open, so files written before them get them too. */
    "CREATE INDEX IF NOT EXISTS sqs_messages_expiry ON sqs_messages(queue, expires_ms);"
    "CREATE TABLE IF NOT EXISTS ddb_tables(name TEXT PRIMARY KEY, def TEXT NOT NULL, ttl_attr "
    "TEXT);"
    "CREATE TABLE IF NOT EXISTS ddb_items(tbl TEXT NOT NULL, pk BLOB NOT NULL, sk BLOB NOT NULL,"
    " item TEXT NOT NULL, size INTEGER NOT NULL, ttl REAL, PRIMARY KEY(tbl, pk, sk)) WITHOUT "
    "ROWID;"
    /* The sweep's way to the expired items of a table; only the items with
     * a TTL are in it. */
    "CREATE INDEX IF NOT EXISTS ddb_items_ttl ON ddb_items(tbl, ttl) WHERE ttl IS NOT NULL;"
    "CREATE TABLE IF NOT EXISTS ddb_index(tbl TEXT NOT NULL, idx TEXT NOT NULL, gpk BLOB NOT NULL,"
    " gsk BLOB NOT NULL, pk BLOB NOT NULL, sk BLOB NOT NULL,"
    " PRIMARY KEY(tbl, idx, gpk, gsk, pk, sk)) WITHOUT ROWID;"
    /* Every write of an item first deletes its index rows by (tbl, pk, sk),
     * which the primary key narrows to tbl alone: without this index each
     * PutItem, UpdateItem and DeleteItem read all of the table's index rows
     * (bench/soak_app.sh: the local thread's CPU grew with the table).
     * Created on open, so files written before it get it too. */
    "CREATE INDEX IF NOT EXISTS ddb_index_item ON ddb_index(tbl, pk, sk);"
    "INSERT OR IGNORE INTO meta(k, v) VALUES('schema', '3');";

void tycho_local_config_init(tycho_local_config_t *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    snprintf(cfg->queues, sizeof cfg->queues, "%s", TYCHO_LOCAL_DEFAULT_QUEUES);
    snprintf(cfg->tables, sizeof cfg->tables, "%s", TYCHO_LOCAL_DEFAULT_TABLES);
    cfg->auto_create_queues = 1;
    cfg->sync_full = 1;
    snprintf(cfg->region, sizeof cfg->region, "us-east-1");
    snprintf(cfg->account, sizeof cfg->account, "000000000000");
}

static int copy_env(const char *name, char *dst, size_t cap, char *err, size_t errlen)
{
    /* set but empty (or blanks) means an empty list, not the default */
    if (!getenv(name)) return 0;
    return tycho_config_env_trimmed(name, dst, cap, err, errlen) < 0 ? -1 : 0;
}

/* A variable that is one word (blanks around it dropped): 1 and the word in
 * w, 0 when unset or empty, -1 with err when longer than w. */
static int word_env(const char *name, char w[static 32], char *err, size_t errlen)
{
    return tycho_config_env_trimmed(name, w, 32, err, errlen);
}

/* An on/off variable (any spelling tycho_parse_bool takes). */
static int switch_env(const char *name, int *out, char *err, size_t errlen)
{
    char v[32];
    int set = word_env(name, v, err, errlen);
    if (set < 0) return -1;
    if (!set || tycho_parse_bool(v, out) == 0) return 0;
    snprintf(err, errlen, "%s: expected on or off, got \"%s\"", name, v);
    return -1;
}

/* A variable that is one of two words: *out 1 for on, 0 for off. */
static int choice_env(const char *name, const char *on, const char *off, int *out, char *err,
                      size_t errlen)
{
    char v[32];
    int set = word_env(name, v, err, errlen);
    if (set <= 0) return set;
    if (strcasecmp(v, on) == 0 || strcasecmp(v, off) == 0) return *out = strcasecmp(v, on) == 0, 0;
    snprintf(err, errlen, "%s: expected %s or %s, got \"%s\"", name, on, off, v);
    return -1;
}

/* Applies cfg's queues and tables to s, or with s NULL only checks them.
 * 0, or -1 with err naming the variable ("TYCHO_LOCAL_QUEUES: queue q: ..."). */
static int configure(tycho_local_store_t *s, const tycho_local_config_t *cfg, int64_t now_ms,
                     char *err, size_t errlen)
{
    char cerr[960];
    if (tycho_local_sqs_configure(s, cfg->queues, now_ms, cerr, sizeof cerr)) {
        snprintf(err, errlen, "TYCHO_LOCAL_QUEUES: %s", cerr);
        return -1;
    }
    if (tycho_local_ddb_configure(s, cfg->tables, now_ms, cerr, sizeof cerr)) {
        snprintf(err, errlen, "TYCHO_LOCAL_TABLES: %s", cerr);
        return -1;
    }
    return 0;
}

int tycho_local_config_from_env(tycho_local_config_t *cfg, char *err, size_t errlen)
{
    if (copy_env("TYCHO_LOCAL_QUEUES", cfg->queues, sizeof cfg->queues, err, errlen) ||
        copy_env("TYCHO_LOCAL_TABLES", cfg->tables, sizeof cfg->tables, err, errlen) ||
        configure(NULL, cfg, 0, err, errlen))
        return -1;
    if (switch_env("TYCHO_LOCAL_AUTO_CREATE", &cfg->auto_create_queues, err, errlen) ||
        choice_env("TYCHO_LOCAL_SYNC", "full", "normal", &cfg->sync_full, err, errlen))
        return -1;
    const char *region = getenv("AWS_REGION");
    const char *rname = "AWS_REGION";
    if (!region || !*region) {
        region = getenv("AWS_DEFAULT_REGION");
        rname = "AWS_DEFAULT_REGION";
    }
    if (region && *region) {
        size_t n = strlen(region);
        if (n >= sizeof cfg->region) {
            snprintf(err, errlen, "%s: too long", rname);
            return -1;
        }
        for (size_t i = 0; i < n; i++)
            if (!isalnum((unsigned char)region[i]) && region[i] != '-') {
                snprintf(err, errlen, "%s: not a region name: \"%s\"", rname, region);
                return -1;
            }
        memcpy(cfg->region, region, n + 1);
    }
    char acct[32];
    int set = word_env("TYCHO_LOCAL_ACCOUNT", acct, err, errlen);
    if (set < 0) return -1;
    if (set) {
        size_t n = strlen(acct);
        int ok = n == 12;
        for (size_t i = 0; ok && i < n; i++)
            ok = isdigit((unsigned char)acct[i]);
        if (!ok) {
            snprintf(err, errlen, "TYCHO_LOCAL_ACCOUNT: expected 12 digits, got \"%s\"", acct);
            return -1;
        }
        memcpy(cfg->account, acct, n + 1);
    }
    return 0;
}

int64_t tycho_local_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int tycho_local_exec_sql(tycho_local_store_t *s, const char *sql)
{
    return sqlite3_exec(s->db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

sqlite3_stmt *tycho_local_stmt(tycho_local_store_t *s, const char *sql)
{
    for (int i = 0; i < s->nstmts; i++)
        if (s->stmts[i].sql == sql) {
            sqlite3_reset(s->stmts[i].stmt);
            sqlite3_clear_bindings(s->stmts[i].stmt);
            return s->stmts[i].stmt;
        }
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) return NULL;
    if (s->nstmts < (int)(sizeof s->stmts / sizeof s->stmts[0])) {
        s->stmts[s->nstmts].sql = sql;
        s->stmts[s->nstmts++].stmt = st;
        return st;
    }
    /* Cache full (a bug: every statement is a static string): fail loudly. */
    sqlite3_finalize(st);
    return NULL;
}

int tycho_local_find_row(tycho_local_store_t *s, const char *sql, const char *name, int sqs,
                         tycho_local_result_t *res, sqlite3_stmt **row)
{
    int rc = SQLITE_ERROR;
    *row = tycho_local_stmt(s, sql);
    if (*row) {
        sqlite3_bind_text(*row, 1, name, -1, SQLITE_STATIC);
        rc = sqlite3_step(*row);
    }
    if (rc == SQLITE_ROW) return 1;
    if (rc == SQLITE_DONE) return 0;
    tycho_local_db_error(s, res, sqs, NULL);
    return -1;
}

/* What to do about a store file SQLite cannot read, at start-up and (after
 * "stop tycho, then") while running. */
#define DAMAGED_ADVICE                                                                             \
    "restore it from a backup, or move it (with its -wal and -shm files) aside and tycho starts "  \
    "an empty store"

/* SQLite's error code says the store file is damaged (a bad page, or not a
 * database at all). */
static int damaged(int rc)
{
    rc &= 0xff;
    return rc == SQLITE_CORRUPT || rc == SQLITE_NOTADB;
}

/* Start-up failed on s->db: err gets "local backend: <path>: <what>" and,
 * when SQLite's error code tells, what to do about it. what is SQLite's
 * message unless given. */
static void open_error(tycho_local_store_t *s, const char *path, const char *what, char *err,
                       size_t errlen)
{
    int rc = sqlite3_errcode(s->db) & 0xff;
    const char *hint = "";
    if (damaged(rc) || rc == SQLITE_ERROR)
        hint = "; it is damaged or not a store of this tycho: " DAMAGED_ADVICE;
    else if (rc == SQLITE_FULL || (rc == SQLITE_IOERR && sqlite3_system_errno(s->db) == ENOSPC))
        hint = "; no space left on its file system: free some and start again";
    else if (rc == SQLITE_READONLY || rc == SQLITE_CANTOPEN || rc == SQLITE_PERM)
        hint = "; tycho must be able to read and write it and its directory";
    snprintf(err, errlen, "local backend: %s: %s%s", path, what ? what : sqlite3_errmsg(s->db),
             hint);
}

/* The layout version of the store (0 for a new file); one this tycho does
 * not read (other than LAYOUT_VERSION and the older ones it upgrades) is
 * refused before anything touches it. 0, or -1 with err. */
static int stored_version(tycho_local_store_t *s, const char *path, int *version, char *err,
                          size_t errlen)
{
    sqlite3_stmt *st;
    *version = 0;
    if (sqlite3_prepare_v2(s->db, "SELECT v FROM meta WHERE k = 'schema'", -1, &st, NULL) !=
        SQLITE_OK)
        return 0; /* no meta table: a new store */
    int rc = 0;
    const char *v = sqlite3_step(st) == SQLITE_ROW ? (const char *)sqlite3_column_text(st, 0) : "1";
    if (v && v[0] >= '1' && v[0] < '1' + LAYOUT_VERSION && !v[1]) {
        *version = v[0] - '0';
    } else {
        snprintf(err, errlen,
                 "local backend: %s: stored in layout version %s, this tycho reads version %d "
                 "(and upgrades versions 1 and 2): run the tycho that wrote it, or use another "
                 "TYCHO_DATA_DIR",
                 path, v ? v : "(none)", LAYOUT_VERSION);
        rc = -1;
    }
    sqlite3_finalize(st);
    return rc;
}

/* Version 1 -> 2, inside the start-up transaction: adds received_ms. A
 * message in flight at the upgrade counts its 12 hours from the upgrade
 * (version 1 did not keep when it was received). 0, or -1 (SQLite's error
 * on s->db). */
static int upgrade_from_1(tycho_local_store_t *s, int64_t now_ms)
{
    char sql[160];
    snprintf(sql, sizeof sql, "UPDATE sqs_messages SET received_ms = %lld WHERE receive_count > 0",
             (long long)now_ms);
    return tycho_local_exec_sql(s, "ALTER TABLE sqs_messages ADD COLUMN received_ms INTEGER NOT "
                                   "NULL DEFAULT 0") ||
                   tycho_local_exec_sql(s, sql) ||
                   tycho_local_exec_sql(s, "UPDATE meta SET v = '2' WHERE k = 'schema'")
               ? -1
               : 0;
}

/* Version 2 -> 3, inside the start-up transaction: adds ddb_items.ttl and
 * fills it from the items of the tables with TTL (each is read once; SCHEMA
 * then indexes it). 0, or -1 (SQLite's error on s->db). */
static int upgrade_from_2(tycho_local_store_t *s)
{
    return tycho_local_exec_sql(s, "ALTER TABLE ddb_items ADD COLUMN ttl REAL") ||
                   tycho_local_ddb_fill_ttl(s, NULL) ||
                   tycho_local_exec_sql(s, "UPDATE meta SET v = '3' WHERE k = 'schema'")
               ? -1
               : 0;
}

/* Brings a store of an older layout version to LAYOUT_VERSION and creates
 * what is missing (all of it in a new file), inside the start-up
 * transaction. 0, or -1 with err. */
static int upgrade_and_create(tycho_local_store_t *s, int version, int64_t now_ms, char *err,
                              size_t errlen)
{
    char *emsg = NULL;
    if ((version == 1 && upgrade_from_1(s, now_ms)) ||
        (version >= 1 && version <= 2 && upgrade_from_2(s))) {
        open_error(s, s->path, NULL, err, errlen);
        return -1;
    }
    if (sqlite3_exec(s->db, SCHEMA, NULL, NULL, &emsg) != SQLITE_OK) {
        open_error(s, s->path, emsg, err, errlen);
        sqlite3_free(emsg);
        return -1;
    }
    if (version && version < LAYOUT_VERSION) s->upgraded_from = version;
    return 0;
}

int tycho_local_store_upgraded_from(const tycho_local_store_t *s)
{
    return s->upgraded_from;
}

int tycho_local_store_open(const char *dir, const tycho_local_config_t *cfg, int64_t now_ms,
                           tycho_local_store_t **out, char *err, size_t errlen)
{
    char derr[4200];
    *out = NULL;
    if (tycho_durable_dir_create(dir, derr, sizeof derr) != 0) {
        snprintf(err, errlen, "local backend: data directory %s: %s", dir, derr);
        return -1;
    }
    tycho_local_store_t *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "local backend: out of memory");
        return -1;
    }
    char *path = s->path;
    snprintf(path, sizeof s->path, "%s/%s", dir, TYCHO_LOCAL_DB_FILE);
    s->auto_create_queues = cfg->auto_create_queues;
    snprintf(s->region, sizeof s->region, "%s", cfg->region);
    snprintf(s->account, sizeof s->account, "%s", cfg->account);
    if (sqlite3_open_v2(path, &s->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        snprintf(err, errlen, "local backend: cannot open %s: %s", path,
                 s->db ? sqlite3_errmsg(s->db) : "out of memory");
        goto fail;
    }
    sqlite3_busy_timeout(s->db, 5000);
    char *emsg = NULL;
    /* WAL + synchronous=FULL: every COMMIT fsyncs the WAL, so a request is
     * answered only once its writes are durable (kill -9 and power loss).
     * NORMAL (opt-in) survives kill -9 but may lose the last commits on power
     * loss. */
    const char *pragmas = cfg->sync_full ? "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                                         : "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;";
    if (sqlite3_exec(s->db, pragmas, NULL, NULL, &emsg) != SQLITE_OK ||
        sqlite3_exec(s->db, "PRAGMA foreign_keys=OFF; PRAGMA temp_store=MEMORY;", NULL, NULL,
                     &emsg) != SQLITE_OK) {
        open_error(s, path, emsg, err, errlen);
        sqlite3_free(emsg);
        goto fail;
    }
    int version;
    if (stored_version(s, path, &version, err, errlen)) goto fail;
    if (tycho_local_ddb_functions(s)) {
        open_error(s, path, NULL, err, errlen);
        goto fail;
    }
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, "PRAGMA journal_mode", -1, &st, NULL) == SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW &&
            strcasecmp((const char *)sqlite3_column_text(st, 0), "wal") != 0) {
            snprintf(err, errlen, "local backend: %s: the file system does not support WAL mode",
                     path);
            sqlite3_finalize(st);
            goto fail;
        }
        sqlite3_finalize(st);
    }
    if (tycho_local_exec_sql(s, "BEGIN IMMEDIATE")) {
        open_error(s, path, NULL, err, errlen);
        goto fail;
    }
    if (upgrade_and_create(s, version, now_ms, err, errlen) ||
        configure(s, cfg, now_ms, err, errlen)) {
        tycho_local_exec_sql(s, "ROLLBACK");
        goto fail;
    }
    if (tycho_local_exec_sql(s, "COMMIT")) {
        open_error(s, path, NULL, err, errlen);
        tycho_local_exec_sql(s, "ROLLBACK");
        goto fail;
    }
    /* The file's entry (and the -wal's, the lock's) in dir: SQLite fsyncs a
     * new WAL's directory, not a new database file's. */
    if (tycho_durable_dir_sync(dir, derr, sizeof derr) != 0) {
        snprintf(err, errlen, "local backend: %s", derr);
        goto fail;
    }
    *out = s;
    return 0;
fail:
    tycho_local_store_close(s);
    return -1;
}

void tycho_local_store_close(tycho_local_store_t *s)
{
    if (!s) return;
    for (int i = 0; i < s->nstmts; i++)
        sqlite3_finalize(s->stmts[i].stmt);
    if (s->db) {
        /* Fold the WAL back into the database so the file is self-contained. */
        sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
        sqlite3_close(s->db);
    }
    free(s);
}

/* The SQLite call that just failed on s->db (call it before ROLLBACK, which
 * resets the error): "[context: ]<SQLite message>", preceded by "<path>: "
 * when name_file or the file is damaged; for a damaged file followed by what
 * to do about it; a path longer than 640 bytes is shown cut, so that the
 * message and the advice fit the callers' 1 KiB. */
static void describe_failure(tycho_local_store_t *s, const char *context, int name_file, char *out,
                             size_t outlen)
{
    int bad = damaged(sqlite3_errcode(s->db));
    const char *file = name_file || bad ? s->path : "";
    const char *hint = bad ? "; it is damaged: stop tycho, then " DAMAGED_ADVICE : "";
    snprintf(out, outlen, "%.640s%s%s%s%s%s", file, *file ? ": " : "", context ? context : "",
             context ? ": " : "", sqlite3_errmsg(s->db), hint);
}

/* Deletes up to TYCHO_LOCAL_SWEEP_MESSAGES messages past their retention
 * period, found queue by queue through sqs_messages_expiry (CROSS JOIN
 * keeps the queues outside: SQLite would otherwise read the whole index).
 * How many, or -1 (SQLite's error on s->db). */
static int sweep_messages(tycho_local_store_t *s, int64_t now_ms)
{
    sqlite3_stmt *st = tycho_local_stmt(
        s, "DELETE FROM sqs_messages WHERE id IN (SELECT m.id FROM sqs_queues q CROSS JOIN "
           "sqs_messages m ON m.queue = q.name AND m.expires_ms <= ?1 LIMIT ?2)");
    if (!st) return -1;
    sqlite3_bind_int64(st, 1, now_ms);
    sqlite3_bind_int(st, 2, TYCHO_LOCAL_SWEEP_MESSAGES);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? sqlite3_changes(s->db) : -1;
}

int tycho_local_store_sweep(tycho_local_store_t *s, int64_t now_ms, char *err, size_t errlen)
{
    if (tycho_local_exec_sql(s, "BEGIN IMMEDIATE")) {
        describe_failure(s, NULL, 1, err, errlen);
        return -1;
    }
    int messages = sweep_messages(s, now_ms);
    int items = messages >= 0 ? tycho_local_ddb_sweep(s, now_ms, TYCHO_LOCAL_SWEEP_BATCH) : -1;
    if (items >= 0 && tycho_local_exec_sql(s, "COMMIT") == 0)
        return messages == TYCHO_LOCAL_SWEEP_MESSAGES || items == TYCHO_LOCAL_SWEEP_BATCH;
    describe_failure(s, NULL, 1, err, errlen);
    tycho_local_exec_sql(s, "ROLLBACK");
    return -1;
}

/* ---- responses ---------------------------------------------------------- */

static void set_body(tycho_local_result_t *res, char *body)
{
    free(res->body);
    res->body = body;
    res->len = body ? strlen(body) : 0;
}

void tycho_local_error(tycho_local_result_t *res, int status, const char *type,
                       const char *query_code, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    res->status = status;
    res->wait_ms = 0;
    res->nnotify = 0;
    snprintf(res->query_error, sizeof res->query_error, "%s%s", query_code ? query_code : "",
             query_code ? (status >= 500 ? ";Receiver" : ";Sender") : "");
    cJSON *o = cJSON_CreateObject();
    if (o && cJSON_AddStringToObject(o, "__type", type) &&
        cJSON_AddStringToObject(o, "message", msg))
        set_body(res, cJSON_PrintUnformatted(o));
    else
        set_body(res, NULL);
    cJSON_Delete(o);
}

void tycho_local_db_error(tycho_local_store_t *s, tycho_local_result_t *res, int sqs,
                          const char *context)
{
    int rc = sqlite3_errcode(s->db);
    /* SQLite reports ENOSPC on a write as SQLITE_FULL; on an fsync, a
     * truncate or a -shm extension it is an SQLITE_IOERR_* whose system
     * errno says ENOSPC. */
    int full = (rc & 0xff) == SQLITE_FULL ||
               ((rc & 0xff) == SQLITE_IOERR && sqlite3_system_errno(s->db) == ENOSPC);
    char what[1024];
    describe_failure(s, context, 0, what, sizeof what);
    if (full)
        tycho_local_error(res, 503, LT_UNAVAILABLE, sqs ? "ServiceUnavailable" : NULL,
                          "local store: storage full, no space left for the data directory "
                          "(%s); the write was not made",
                          what);
    else
        tycho_local_error(res, 500, sqs ? LT_SQS_INTERNAL : LT_DDB_INTERNAL,
                          sqs ? "InternalFailure" : NULL, "local store: %s", what);
}

void tycho_local_ok(tycho_local_result_t *res, const cJSON *obj)
{
    res->status = 200;
    res->query_error[0] = '\0';
    set_body(res, cJSON_PrintUnformatted(obj));
    if (!res->body) tycho_local_error(res, 500, LT_SQS_INTERNAL, NULL, "out of memory");
}

void tycho_local_notify(tycho_local_result_t *res, const char *queue, int64_t at_ms)
{
    for (int i = 0; i < res->nnotify; i++)
        if (strcmp(res->notify[i].queue, queue) == 0) {
            if (at_ms < res->notify[i].at_ms) res->notify[i].at_ms = at_ms;
            return;
        }
    if (res->nnotify < 2) {
        snprintf(res->notify[res->nnotify].queue, sizeof res->notify[0].queue, "%s", queue);
        res->notify[res->nnotify++].at_ms = at_ms;
    }
}

int tycho_local_random(unsigned char *p, size_t n)
{
    return RAND_bytes(p, (int)n) == 1 ? 0 : -1;
}

void tycho_local_uuid(char out[37])
{
    unsigned char b[16];
    if (tycho_local_random(b, sizeof b)) memset(b, 0, sizeof b);
    b[6] = (unsigned char)((b[6] & 0x0F) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3F) | 0x80);
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
             b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
             b[14], b[15]);
}

static char *trim(char *p)
{
    while (isspace((unsigned char)*p))
        p++;
    char *e = p + strlen(p);
    while (e > p && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return p;
}

/* Adds "key=value" (opt, cut in place) to e. 0, or -1 with err. */
static int spec_add_option(tycho_local_spec_entry_t *e, char *opt, const char *what,
                           const char *repeatable, char *err, size_t errlen)
{
    char *eq = strchr(opt, '=');
    if (!eq) {
        snprintf(err, errlen, "%s %s: option \"%s\" is not key=value", what, e->name, opt);
        return -1;
    }
    *eq = '\0';
    for (int i = 0; i < e->nopts; i++)
        if (strcmp(e->opts[i].key, opt) == 0 && !(repeatable && strcmp(opt, repeatable) == 0)) {
            snprintf(err, errlen, "%s %s: %s=%s: %s is given twice (once per %s)", what, e->name,
                     opt, eq + 1, opt, what);
            return -1;
        }
    if (e->nopts == TYCHO_LOCAL_SPEC_MAX_OPTS) {
        snprintf(err, errlen, "%s %s: more than %d options", what, e->name,
                 TYCHO_LOCAL_SPEC_MAX_OPTS);
        return -1;
    }
    e->opts[e->nopts].key = opt;
    e->opts[e->nopts].value = eq + 1;
    e->nopts++;
    return 0;
}

int tycho_local_spec_next(char **rest, const char *what, const char *repeatable,
                          tycho_local_spec_entry_t *e, char *err, size_t errlen)
{
    char *entry;
    do {
        entry = strsep(rest, ";");
        if (!entry) return 0;
        entry = trim(entry);
    } while (!*entry);
    e->name = strsep(&entry, ":");
    e->nopts = 0;
    for (char *opt; (opt = strsep(&entry, ":"));)
        if (*opt && spec_add_option(e, opt, what, repeatable, err, errlen)) return -1;
    return 1;
}

long tycho_local_long(double v)
{
    if (!(v > -1e15)) return (long)-1e15; /* NaN too */
    return v < 1e15 ? (long)v : (long)1e15;
}

void tycho_local_result_free(tycho_local_result_t *res)
{
    if (!res) return;
    free(res->body);
    res->body = NULL;
    res->len = 0;
}

/* ---- exec --------------------------------------------------------------- */

/* The offset of the first "\u0000" escape in p[0..n), or n when none. */
static size_t nul_escape_at(const char *p, size_t n)
{
    for (size_t i = 0; i + 5 < n; i++) {
        if (p[i] != '\\') continue;
        if (p[i + 1] == 'u' && memcmp(p + i + 2, "0000", 4) == 0) return i;
        i++; /* skip the escaped character ("\\" included) */
    }
    return n;
}

/* A malloc'd copy of p[0..n) with each "\u0000" escape replaced by
 * TYCHO_LOCAL_NUL_MARK (shorter, so it fits); *outlen is its length. NULL
 * when out of memory. */
static char *mark_nul_escapes(const char *p, size_t n, size_t *outlen)
{
    char *out = malloc(n + 1);
    if (!out) return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        size_t at = i + nul_escape_at(p + i, n - i);
        memcpy(out + o, p + i, at - i);
        o += at - i;
        if (at == n) break;
        memcpy(out + o, TYCHO_LOCAL_NUL_MARK, sizeof TYCHO_LOCAL_NUL_MARK - 1);
        o += sizeof TYCHO_LOCAL_NUL_MARK - 1;
        i = at + 6;
    }
    out[o] = '\0';
    *outlen = o;
    return out;
}

/* The JSON object a request body holds, or NULL with the error response
 * set. An SQS request's "\u0000" escapes come back as TYCHO_LOCAL_NUL_MARK
 * (local_sqs.c reports them where they sit; *marked_nul says there are
 * some); DynamoDB refuses them here. */
static cJSON *parse_request(const char *body, size_t len, int sqs, int *marked_nul,
                            tycho_local_result_t *res)
{
    if (len == 0) {
        cJSON *req = cJSON_CreateObject(); /* an empty body is an empty request */
        if (!req)
            tycho_local_error(res, 500, sqs ? LT_SQS_INTERNAL : LT_DDB_INTERNAL, NULL,
                              "out of memory");
        return req;
    }
    if (!tycho_utf8_valid(body, len, 1)) {
        tycho_local_error(res, 400, LT_SERIALIZATION, NULL, "Request body is not valid UTF-8");
        return NULL;
    }
    char *marked = NULL;
    int has_nul = nul_escape_at(body, len) < len;
    *marked_nul = has_nul && sqs;
    if (has_nul && sqs) {
        if (!(marked = mark_nul_escapes(body, len, &len))) {
            tycho_local_error(res, 500, LT_SQS_INTERNAL, NULL, "out of memory");
            return NULL;
        }
        body = marked;
    }
    const char *end = NULL;
    cJSON *req = cJSON_ParseWithLengthOpts(body, len, &end, 0);
    if (req) {
        while (end && end < body + len &&
               (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n'))
            end++;
        if (end != body + len || !cJSON_IsObject(req)) {
            cJSON_Delete(req);
            req = NULL;
        }
    }
    free(marked);
    if (!req) {
        tycho_local_error(
            res, 400, LT_SERIALIZATION, NULL,
            "Start of structure or map expected: the request body is not a JSON object");
    } else if (has_nul && !sqs) {
        tycho_local_error(
            res, 400, LT_DDB_VALIDATION, NULL,
            "U+0000 characters in strings are not supported by the tycho local backend");
        cJSON_Delete(req);
        req = NULL;
    }
    return req;
}

int tycho_local_exec(tycho_local_store_t *s, const char *target, const char *body, size_t len,
                     int64_t now_ms, tycho_local_result_t *res)
{
    memset(res, 0, sizeof *res);
    int sqs;
    const char *op;
    if (target && strncmp(target, "AmazonSQS.", 10) == 0) {
        sqs = 1;
        op = target + 10;
    } else if (target && strncmp(target, "DynamoDB_20120810.", 18) == 0) {
        sqs = 0;
        op = target + 18;
    } else {
        tycho_local_error(res, 400, LT_UNKNOWN_OP, NULL, "Unknown operation: %s",
                          target ? target : "(no X-Amz-Target)");
        return res->body ? 0 : -ENOMEM;
    }
    int marked_nul = 0;
    cJSON *req = parse_request(body, len, sqs, &marked_nul, res);
    if (!req) return res->body ? 0 : -ENOMEM;
    if (tycho_local_exec_sql(s, "BEGIN IMMEDIATE")) {
        tycho_local_db_error(s, res, sqs, NULL);
        cJSON_Delete(req);
        return res->body ? 0 : -ENOMEM;
    }
    if (sqs)
        tycho_local_sqs_exec(s, op, req, marked_nul, now_ms, res);
    else
        tycho_local_ddb_exec(s, op, req, now_ms, res);
    if (res->status == 200) {
        if (tycho_local_exec_sql(s, "COMMIT")) {
            tycho_local_db_error(s, res, sqs, "commit failed");
            tycho_local_exec_sql(s, "ROLLBACK");
        }
    } else {
        tycho_local_exec_sql(s, "ROLLBACK");
    }
    cJSON_Delete(req);
    return res->body ? 0 : -ENOMEM;
}
