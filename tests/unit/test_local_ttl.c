/* Unit tests for the DynamoDB TTL of the local executor and its sweep
 * (local_ddb.h): the ddb_items.ttl column written by every write path and
 * re-computed when a table's TTL attribute changes, the sweep's bounded
 * steps through the index, its cost not growing with the items that are
 * not due, and the upgrade of a layout-version-2 store (built here from
 * that version's schema) to the column. */
#include "tests/lib/local_env.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef local_env_t env_t;

#define ddb(e, op, ...) local_env_call((e), "DynamoDB_20120810", (op), __VA_ARGS__)
#define NOW_S (LOCAL_ENV_EPOCH_MS / 1000)

static int setup(void **state)
{
    *state = local_env_new("/tmp/tycho-ttl-XXXXXX", "", "", 1);
    return 0;
}

/* Table items: hash key id (S), a GSI on g (S), TTL on attr unless NULL. */
static void create_table(env_t *e, const char *attr)
{
    ddb(e, "CreateTable",
        "{\"TableName\":\"items\",\"AttributeDefinitions\":[{\"AttributeName\":\"id\","
        "\"AttributeType\":\"S\"},{\"AttributeName\":\"g\",\"AttributeType\":\"S\"}],"
        "\"KeySchema\":[{\"AttributeName\":\"id\",\"KeyType\":\"HASH\"}],"
        "\"GlobalSecondaryIndexes\":[{\"IndexName\":\"by-g\",\"KeySchema\":[{\"AttributeName\":"
        "\"g\",\"KeyType\":\"HASH\"}],\"Projection\":{\"ProjectionType\":\"ALL\"}}],"
        "\"BillingMode\":\"PAY_PER_REQUEST\"}");
    assert_int_equal(e->status, 200);
    if (!attr) return;
    ddb(e, "UpdateTimeToLive",
        "{\"TableName\":\"items\",\"TimeToLiveSpecification\":{\"Enabled\":true,"
        "\"AttributeName\":\"%s\"}}",
        attr);
    assert_int_equal(e->status, 200);
}

static void set_ttl(env_t *e, int enabled, const char *attr)
{
    ddb(e, "UpdateTimeToLive",
        "{\"TableName\":\"items\",\"TimeToLiveSpecification\":{\"Enabled\":%s,"
        "\"AttributeName\":\"%s\"}}",
        enabled ? "true" : "false", attr);
    assert_int_equal(e->status, 200);
}

/* n items "<prefix><i>" of table items through BatchWriteItem (25 a request),
 * each with g and the attributes in extra (",\"exp\":{...}" or ""). */
static void fill(env_t *e, const char *prefix, int n, const char *extra)
{
    for (int done = 0; done < n;) {
        char items[16384] = "";
        for (int i = 0; i < 25 && done < n; i++, done++)
            snprintf(
                items + strlen(items), sizeof items - strlen(items),
                "%s{\"PutRequest\":{\"Item\":{\"id\":{\"S\":\"%s%d\"},\"g\":{\"S\":\"x\"}%s}}}",
                i ? "," : "", prefix, done, extra);
        ddb(e, "BatchWriteItem", "{\"RequestItems\":{\"items\":[%s]}}", items);
        assert_int_equal(e->status, 200);
    }
}

/* Rows of table items whose id starts with prefix: items, and index rows. */
static long long rows(env_t *e, const char *prefix)
{
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT COUNT(*) FROM ddb_items WHERE tbl = 'items' AND json_extract(item, '$.id.S') "
             "LIKE '%s%%'",
             prefix);
    return local_env_scalar(e, sql);
}

static long long index_rows(env_t *e)
{
    return local_env_scalar(e, "SELECT COUNT(*) FROM ddb_index WHERE tbl = 'items'");
}

/* What reads see: Scan's Count of items whose id starts with prefix. */
static long long visible(env_t *e, const char *prefix)
{
    ddb(e, "Scan",
        "{\"TableName\":\"items\",\"Select\":\"COUNT\",\"FilterExpression\":\"begins_with(id, "
        ":p)\","
        "\"ExpressionAttributeValues\":{\":p\":{\"S\":\"%s\"}}}",
        prefix);
    assert_int_equal(e->status, 200);
    return (long long)cJSON_GetObjectItemCaseSensitive(e->body, "Count")->valuedouble;
}

static int sweep_step(env_t *e)
{
    char err[1024] = "";
    int rc = tycho_local_store_sweep(e->s, e->now, err, sizeof err);
    if (rc < 0) fail_msg("sweep step: %s", err);
    return rc;
}

/* Expired items go, TYCHO_LOCAL_SWEEP_BATCH a step with their index rows;
 * items without a TTL, with one that is not a Number, one in the future or
 * more than five years past stay, and so do their reads. Each write path
 * (BatchWriteItem, PutItem, UpdateItem) writes the item's TTL. */
static void test_sweep_in_batches(void **state)
{
    env_t *e = *state;
    char exp[64];
    create_table(e, "exp");
    snprintf(exp, sizeof exp, ",\"exp\":{\"N\":\"%lld\"}", (long long)NOW_S - 60);
    fill(e, "due", 1203, exp);
    snprintf(exp, sizeof exp, ",\"exp\":{\"N\":\"%lld.5\"}", (long long)NOW_S + 3600);
    fill(e, "later", 40, exp);
    fill(e, "none", 5, "");
    fill(e, "string", 5, ",\"exp\":{\"S\":\"1\"}");
    fill(e, "ancient", 5, ",\"exp\":{\"N\":\"1000\"}"); /* > 5 years past: ignored */
    fill(e, "other", 5, ",\"ttl\":{\"N\":\"1000000\"}");
    /* PutItem: expired; UpdateItem: a due item made to live (expired, it
     * reads as absent: the update makes a new item, without g), a later one
     * made due */
    ddb(e, "PutItem",
        "{\"TableName\":\"items\",\"Item\":{\"id\":{\"S\":\"due-put\"},\"exp\":{\"N\":\"%lld\"}}}",
        (long long)NOW_S - 1);
    assert_int_equal(e->status, 200);
    ddb(e, "UpdateItem",
        "{\"TableName\":\"items\",\"Key\":{\"id\":{\"S\":\"due0\"}},\"UpdateExpression\":\"SET exp "
        "= "
        ":e\",\"ExpressionAttributeValues\":{\":e\":{\"N\":\"%lld\"}}}",
        (long long)NOW_S + 60);
    assert_int_equal(e->status, 200);
    ddb(e, "UpdateItem",
        "{\"TableName\":\"items\",\"Key\":{\"id\":{\"S\":\"later0\"}},\"UpdateExpression\":\"SET "
        "exp = :e\",\"ExpressionAttributeValues\":{\":e\":{\"N\":\"%lld\"}}}",
        (long long)NOW_S);
    assert_int_equal(e->status, 200);
    assert_int_equal(rows(e, ""), 1264);
    assert_int_equal(visible(e, ""), 60); /* reads hide the expired already */

    /* 1203 - 1 + 1 + 1 due, TYCHO_LOCAL_SWEEP_BATCH a step, in as many
     * steps as that takes */
    const int due = 1204, batch = TYCHO_LOCAL_SWEEP_BATCH;
    assert_int_equal(sweep_step(e), 1);
    assert_int_equal(rows(e, ""), 1264 - batch);
    assert_int_equal(sweep_step(e), 1);
    assert_int_equal(rows(e, ""), 1264 - 2 * batch);
    assert_int_equal(local_env_sweep(e), (due - 2 * batch) / batch + 1);
    assert_int_equal(rows(e, "due"), 1);
    assert_int_equal(visible(e, "due0"), 1);
    assert_int_equal(rows(e, "later"), 39);
    assert_int_equal(visible(e, "later"), 39);
    static const char *const kept[] = {"none", "string", "ancient", "other"};
    for (size_t i = 0; i < LOCAL_COUNT_OF(kept); i++) {
        assert_int_equal(rows(e, kept[i]), 5);
        assert_int_equal(visible(e, kept[i]), 5);
    }
    assert_int_equal(rows(e, ""), 60);
    assert_int_equal(index_rows(e), 59); /* each survivor but due0 has its GSI row */
    assert_int_equal(local_env_sweep(e), 1);
    assert_int_equal(rows(e, ""), 60);
    /* an hour later the later ones go too (their TTL has a fraction) */
    e->now += 3600 * 1000LL;
    assert_int_equal(local_env_sweep(e), 1);
    assert_int_equal(rows(e, "later"), 39);
    e->now += 500;
    assert_int_equal(local_env_sweep(e), 1);
    assert_int_equal(rows(e, "later"), 0);
    assert_int_equal(rows(e, "due"), 0);
    assert_int_equal(rows(e, ""), 20);
}

/* Enabling TTL, disabling it and moving it to another attribute re-compute
 * the TTL of the items already there: the sweep follows the table's
 * attribute as reads do. So does a TTL given by TYCHO_LOCAL_TABLES to a
 * table that had none. */
static void test_attribute_changes(void **state)
{
    env_t *e = *state;
    char a[64], b[64];
    create_table(e, NULL);
    snprintf(a, sizeof a, ",\"a\":{\"N\":\"%lld\"}", (long long)NOW_S - 10);
    snprintf(b, sizeof b, ",\"b\":{\"N\":\"%lld\"}", (long long)NOW_S - 10);
    fill(e, "a", 3, a);
    fill(e, "b", 3, b);
    assert_int_equal(local_env_sweep(e), 1);
    assert_int_equal(rows(e, ""), 6); /* no TTL: nothing expires */
    assert_int_equal(local_env_scalar(e, "SELECT COUNT(ttl) FROM ddb_items"), 0);

    /* only the items whose TTL changes are written (and the table's row) */
    int before = sqlite3_total_changes(e->s->db);
    set_ttl(e, 1, "a");
    assert_int_equal(sqlite3_total_changes(e->s->db) - before, 3 + 1);
    assert_int_equal(visible(e, "a"), 0);
    assert_int_equal(local_env_sweep(e), 1);
    assert_int_equal(rows(e, "a"), 0);
    assert_int_equal(rows(e, "b"), 3);

    set_ttl(e, 0, "a");
    fill(e, "a", 3, a);
    assert_int_equal(visible(e, "a"), 3);
    assert_int_equal(local_env_sweep(e), 1);
    assert_int_equal(rows(e, "a"), 3);
    assert_int_equal(local_env_scalar(e, "SELECT COUNT(ttl) FROM ddb_items"), 0);

    fill(e, "c", 4, "");
    before = sqlite3_total_changes(e->s->db);
    set_ttl(e, 1, "b");
    assert_int_equal(sqlite3_total_changes(e->s->db) - before, 3 + 1);
    assert_int_equal(visible(e, "a"), 3);
    assert_int_equal(visible(e, "b"), 0);
    assert_int_equal(local_env_sweep(e), 1);
    assert_int_equal(rows(e, "a"), 3);
    assert_int_equal(rows(e, "b"), 0);

    /* TYCHO_LOCAL_TABLES sets a TTL on a table without one, at open */
    fill(e, "b", 2, b);
    before = sqlite3_total_changes(e->s->db);
    set_ttl(e, 0, "b");
    assert_int_equal(sqlite3_total_changes(e->s->db) - before, 2 + 1);
    fill(e, "b", 3, b);
    tycho_local_store_close(e->s);
    assert_int_equal(local_env_open(e, "", "items:pk=id/S:ttl=a", 1), 0);
    assert_int_equal(visible(e, "a"), 0);
    assert_int_equal(local_env_sweep(e), 1);
    assert_int_equal(rows(e, "a"), 0);
    assert_int_equal(rows(e, "b"), 3);
}

/* A sweep's work is that of the items due, not of the table: it finds them
 * through ddb_items_ttl (the sweep before it parsed every item). */
static void test_sweep_cost_flat(void **state)
{
    env_t *e = *state;
    char due[64], later[64];
    create_table(e, "exp");
    snprintf(due, sizeof due, ",\"exp\":{\"N\":\"%lld\"}", (long long)NOW_S + 30);
    snprintf(later, sizeof later, ",\"exp\":{\"N\":\"%lld\"}", (long long)NOW_S + 86400);
    fill(e, "later", 100, later);
    fill(e, "due", 50, due);
    e->now += 60 * 1000LL;
    local_env_vm_steps(e);
    assert_int_equal(local_env_sweep(e), 1);
    long long small = local_env_vm_steps(e);
    fill(e, "bulk", 4000, later);
    fill(e, "due", 50, due);
    local_env_vm_steps(e);
    assert_int_equal(local_env_sweep(e), 1);
    long long large = local_env_vm_steps(e);
    assert_int_equal(rows(e, "due"), 0);
    assert_int_equal(rows(e, ""), 4100);
    if (large > 2 * small)
        fail_msg("sweeping 50 items took %lld SQLite steps beside 100 items, %lld beside 4,100",
                 small, large);
}

/* The layout version 2 wrote (tycho before the TTL column): its schema as it
 * was, to build such a store in the test. */
static const char V2_SCHEMA[] =
    "CREATE TABLE meta(k TEXT PRIMARY KEY, v TEXT NOT NULL);"
    "CREATE TABLE sqs_queues(name TEXT PRIMARY KEY, attrs TEXT NOT NULL,"
    " created_s INTEGER NOT NULL, modified_s INTEGER NOT NULL, purged_ms INTEGER NOT NULL DEFAULT "
    "0);"
    "CREATE TABLE sqs_messages(id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " queue TEXT NOT NULL, message_id TEXT NOT NULL, body TEXT NOT NULL, md5_body TEXT NOT NULL,"
    " attrs TEXT, md5_attrs TEXT, trace_header TEXT, group_id TEXT, dlq_source TEXT,"
    " sent_ms INTEGER NOT NULL, visible_ms INTEGER NOT NULL, expires_ms INTEGER NOT NULL,"
    " receive_count INTEGER NOT NULL DEFAULT 0, first_receive_ms INTEGER NOT NULL DEFAULT 0,"
    " receipt TEXT, received_ms INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX sqs_messages_ready ON sqs_messages(queue, visible_ms, id);"
    "CREATE TABLE ddb_tables(name TEXT PRIMARY KEY, def TEXT NOT NULL, ttl_attr TEXT);"
    "CREATE TABLE ddb_items(tbl TEXT NOT NULL, pk BLOB NOT NULL, sk BLOB NOT NULL,"
    " item TEXT NOT NULL, size INTEGER NOT NULL, PRIMARY KEY(tbl, pk, sk)) WITHOUT ROWID;"
    "CREATE TABLE ddb_index(tbl TEXT NOT NULL, idx TEXT NOT NULL, gpk BLOB NOT NULL,"
    " gsk BLOB NOT NULL, pk BLOB NOT NULL, sk BLOB NOT NULL,"
    " PRIMARY KEY(tbl, idx, gpk, gsk, pk, sk)) WITHOUT ROWID;"
    "CREATE INDEX ddb_index_item ON ddb_index(tbl, pk, sk);"
    "INSERT INTO meta(k, v) VALUES('schema', '2');";

/* Copies the rows of the store in src (closed) into a new version-2 store
 * in dst: the store the tycho before the TTL column would have written. */
static void write_v2_store(const char *src, const char *dst)
{
    char path[128], sql[512];
    sqlite3 *db;
    snprintf(path, sizeof path, "%s/%s", dst, TYCHO_LOCAL_DB_FILE);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    char *emsg = NULL;
    snprintf(sql, sizeof sql,
             "PRAGMA journal_mode=WAL; ATTACH '%s/%s' AS src;"
             "INSERT INTO sqs_queues SELECT * FROM src.sqs_queues;"
             "INSERT INTO sqs_messages SELECT * FROM src.sqs_messages;"
             "INSERT INTO ddb_tables SELECT * FROM src.ddb_tables;",
             src, TYCHO_LOCAL_DB_FILE);
    if (sqlite3_exec(db, V2_SCHEMA, NULL, NULL, &emsg) != SQLITE_OK ||
        sqlite3_exec(db, sql, NULL, NULL, &emsg) != SQLITE_OK ||
        sqlite3_exec(db,
                     "INSERT INTO ddb_items SELECT tbl, pk, sk, item, size FROM src.ddb_items;"
                     "INSERT INTO ddb_index SELECT * FROM src.ddb_index; DETACH src;",
                     NULL, NULL, &emsg) != SQLITE_OK)
        fail_msg("building the version-2 store: %s", emsg);
    sqlite3_close(db);
}

/* A store of layout version 2 is upgraded when opened: every item kept as
 * it was, their TTL column filled from their table's attribute, and the
 * sweep then deletes the expired ones through the index. Once: the next
 * open finds version 3. */
static void test_upgrade_from_2(void **state)
{
    env_t *e = *state;
    char due[64], later[64], v2dir[64];
    create_table(e, "exp");
    snprintf(due, sizeof due, ",\"exp\":{\"N\":\"%lld\"}", (long long)NOW_S - 10);
    snprintf(later, sizeof later, ",\"exp\":{\"N\":\"%lld\"}", (long long)NOW_S + 3600);
    fill(e, "due", 30, due);
    fill(e, "later", 20, later);
    fill(e, "none", 10, "");
    ddb(e, "CreateTable",
        "{\"TableName\":\"plain\",\"AttributeDefinitions\":[{\"AttributeName\":\"id\","
        "\"AttributeType\":\"S\"}],\"KeySchema\":[{\"AttributeName\":\"id\",\"KeyType\":"
        "\"HASH\"}],\"BillingMode\":\"PAY_PER_REQUEST\"}");
    ddb(e, "PutItem", "{\"TableName\":\"plain\",\"Item\":{\"id\":{\"S\":\"p\"}%s}}", due);
    assert_int_equal(e->status, 200);
    local_env_call(e, "AmazonSQS", "CreateQueue", "{\"QueueName\":\"q\"}");
    local_env_call(e, "AmazonSQS", "SendMessage",
                   "{\"QueueUrl\":\"http://localhost/000000000000/q\",\"MessageBody\":\"kept\"}");
    assert_int_equal(e->status, 200);
    tycho_local_store_close(e->s);
    e->s = NULL;

    local_tmpdir_make(v2dir, sizeof v2dir, "/tmp/tycho-ttl-v2-XXXXXX");
    write_v2_store(e->dir, v2dir);
    char orig_dir[64];
    snprintf(orig_dir, sizeof orig_dir, "%s", e->dir);
    snprintf(e->dir, sizeof e->dir, "%s", v2dir);
    assert_int_equal(local_env_open(e, "", "", 1), 0);
    assert_int_equal(tycho_local_store_upgraded_from(e->s), 2);
    assert_int_equal(local_env_scalar(e, "SELECT v FROM meta WHERE k = 'schema'"), 3);
    assert_int_equal(local_env_scalar(e, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'ddb_items_ttl'"),
                     1);

    /* every item as it was, byte for byte */
    char attach[256];
    snprintf(attach, sizeof attach, "ATTACH '%s/%s' AS old", orig_dir, TYCHO_LOCAL_DB_FILE);
    assert_int_equal(sqlite3_exec(e->s->db, attach, NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(local_env_scalar(e, "SELECT COUNT(*) FROM ddb_items"), 61);
    assert_int_equal(local_env_scalar(e, "SELECT COUNT(*) FROM (SELECT tbl, pk, sk, item, size FROM "
                               "ddb_items EXCEPT SELECT tbl, pk, sk, item, size FROM "
                               "old.ddb_items)"),
                     0);
    /* and the column as the current code writes it */
    assert_int_equal(local_env_scalar(e, "SELECT COUNT(*) FROM ddb_items i JOIN old.ddb_items o USING "
                               "(tbl, pk, sk) WHERE i.ttl IS o.ttl"),
                     61);
    assert_int_equal(local_env_scalar(e, "SELECT COUNT(ttl) FROM ddb_items"), 50);
    assert_int_equal(sqlite3_exec(e->s->db, "DETACH old", NULL, NULL, NULL), SQLITE_OK);

    assert_int_equal(local_env_sweep(e), 1);
    assert_int_equal(rows(e, "due"), 0);
    assert_int_equal(rows(e, "later"), 20);
    assert_int_equal(rows(e, "none"), 10);
    assert_int_equal(local_env_scalar(e, "SELECT COUNT(*) FROM ddb_items WHERE tbl = 'plain'"), 1);
    assert_int_equal(index_rows(e), 30);
    local_env_call(e, "AmazonSQS", "ReceiveMessage",
                   "{\"QueueUrl\":\"http://localhost/000000000000/q\"}");
    assert_int_equal(e->status, 200);
    const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(e->body, "Messages");
    assert_int_equal(cJSON_GetArraySize(msgs), 1);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(msgs->child, "Body")->valuestring, "kept");

    tycho_local_store_close(e->s);
    assert_int_equal(local_env_open(e, "", "", 1), 0);
    assert_int_equal(tycho_local_store_upgraded_from(e->s), 0);
    local_tmpdir_remove(orig_dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sweep_in_batches, setup, local_env_teardown),
        cmocka_unit_test_setup_teardown(test_attribute_changes, setup, local_env_teardown),
        cmocka_unit_test_setup_teardown(test_sweep_cost_flat, setup, local_env_teardown),
        cmocka_unit_test_setup_teardown(test_upgrade_from_2, setup, local_env_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
