/* libFuzzer target for the whole local AWS executor (aws/local_store.c with
 * local_sqs, local_ddb, local_expr, local_av): arbitrary JSON 1.0 request
 * bodies for every SQS and DynamoDB operation, in sequences, against a real
 * SQLite store in a temporary directory (synchronous=NORMAL: durability is
 * not what is fuzzed). The store is reset to its configured queues and
 * tables before every input so an input replays the same way.
 *
 * Checked (abort on failure): every request gets a response whose body is a
 * JSON object; errors carry a __type; no 500 (an internal error is a bug when
 * the only cause is the request); and ASan/UBSan/LeakSanitizer stay quiet.
 *
 * Input: lines; in each, byte 0 picks the operation (modulo the list below),
 * the rest is the body. Clock: 1700000000 s, plus 1 s per request.
 *
 * Built and run by tests/fuzz/run_fuzzer.sh local_store. */
#include "aws/local_ddb.h"
#include "aws/local_sqs.h"
#include "aws/local_store.h"

#include <cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FUZZ_TARGET "local store"
#include "tests/fuzz/fuzz_check.h"

#define MAX_REQUESTS 16
#define NOW_MS 1700000000000LL

static const char *const TARGETS[] = {
    "AmazonSQS.CreateQueue",
    "AmazonSQS.GetQueueUrl",
    "AmazonSQS.GetQueueAttributes",
    "AmazonSQS.SetQueueAttributes",
    "AmazonSQS.DeleteQueue",
    "AmazonSQS.ListQueues",
    "AmazonSQS.SendMessage",
    "AmazonSQS.SendMessageBatch",
    "AmazonSQS.ReceiveMessage",
    "AmazonSQS.DeleteMessage",
    "AmazonSQS.DeleteMessageBatch",
    "AmazonSQS.ChangeMessageVisibility",
    "AmazonSQS.ChangeMessageVisibilityBatch",
    "AmazonSQS.PurgeQueue",
    "DynamoDB_20120810.CreateTable",
    "DynamoDB_20120810.DescribeTable",
    "DynamoDB_20120810.DeleteTable",
    "DynamoDB_20120810.ListTables",
    "DynamoDB_20120810.PutItem",
    "DynamoDB_20120810.GetItem",
    "DynamoDB_20120810.DeleteItem",
    "DynamoDB_20120810.UpdateItem",
    "DynamoDB_20120810.Query",
    "DynamoDB_20120810.Scan",
    "DynamoDB_20120810.BatchWriteItem",
    "DynamoDB_20120810.BatchGetItem",
    "DynamoDB_20120810.UpdateTimeToLive",
    "DynamoDB_20120810.DescribeTimeToLive",
    "AmazonSQS.NoSuchOperation",
    "Kinesis_20131202.PutRecord",
};
#define NTARGETS (sizeof TARGETS / sizeof TARGETS[0])

static tycho_local_store_t *S;
static tycho_local_config_t CFG;
static char DIR_[64];

static void cleanup(void)
{
    tycho_local_store_close(S);
    char p[128];
    const char *files[] = {"local-aws.sqlite3", "local-aws.sqlite3-wal", "local-aws.sqlite3-shm"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s/%s", DIR_, files[i]);
        unlink(p);
    }
    rmdir(DIR_);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    const char *tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(DIR_, sizeof DIR_, "%s/tycho-fuzz-store-XXXXXX", tmp);
    if (!mkdtemp(DIR_)) abort();
    tycho_local_config_init(&CFG);
    CFG.sync_full = 0;
    /* two queues with a redrive, the reference app's table and a plain one */
    snprintf(CFG.queues, sizeof CFG.queues, "%s;q2:visibility=0:delay=1",
             TYCHO_LOCAL_DEFAULT_QUEUES);
    snprintf(CFG.tables, sizeof CFG.tables, "%s;tab2:pk=k/N", TYCHO_LOCAL_DEFAULT_TABLES);
    char err[512];
    if (tycho_local_store_open(DIR_, &CFG, NOW_MS, &S, err, sizeof err) != 0) {
        fprintf(stderr, "fuzz_local_store: %s\n", err);
        abort();
    }
    atexit(cleanup);
    return 0;
}

static void reset(void)
{
    char err[512];
    CHECK(tycho_local_exec_sql(S, "BEGIN IMMEDIATE") == 0, "begin");
    CHECK(tycho_local_exec_sql(S, "DELETE FROM sqs_messages; DELETE FROM sqs_queues;"
                                  "DELETE FROM ddb_items; DELETE FROM ddb_index;"
                                  "DELETE FROM ddb_tables; DELETE FROM sqlite_sequence;") == 0,
          "delete");
    CHECK(tycho_local_sqs_configure(S, CFG.queues, NOW_MS, err, sizeof err) == 0, "%s", err);
    CHECK(tycho_local_ddb_configure(S, CFG.tables, NOW_MS, err, sizeof err) == 0, "%s", err);
    CHECK(tycho_local_exec_sql(S, "COMMIT") == 0, "commit");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    reset();
    const char *in = (const char *)data;
    size_t pos = 0;
    for (int i = 0; i < MAX_REQUESTS && pos < size; i++) {
        const char *nl = memchr(in + pos, '\n', size - pos);
        size_t len = nl ? (size_t)(nl - (in + pos)) : size - pos;
        const char *line = in + pos;
        pos += len + 1;
        if (len == 0) continue;
        const char *target = TARGETS[(unsigned char)line[0] % NTARGETS];
        /* an exact-size copy: a read past the body is an ASan report */
        size_t blen = len - 1;
        char *body = malloc(blen ? blen : 1);
        memcpy(body, line + 1, blen);
        tycho_local_result_t res;
        int rc = tycho_local_exec(S, target, body, blen, NOW_MS + i * 1000, &res);
        CHECK(rc == 0 && res.body, "%s: no response (rc %d)", target, rc);
        CHECK(res.status == 200 || res.status == 400 || res.status == 403 || res.status == 404 ||
                  res.status == 413,
              "%s %.*s -> %d %s", target, (int)blen, body, res.status, res.body);
        CHECK(strlen(res.body) == res.len, "%s: body length", target);
        cJSON *j = cJSON_ParseWithLength(res.body, res.len);
        CHECK(j && cJSON_IsObject(j), "%s: response is not a JSON object: %s", target, res.body);
        if (res.status != 200)
            CHECK(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(j, "__type")),
                  "%s: error without __type: %s", target, res.body);
        cJSON_Delete(j);
        tycho_local_result_free(&res);
        free(body);
    }
    char err[512];
    int step = 0, swept = 0;
    if (size && data[0] == 0xff) {
        while ((swept = tycho_local_store_sweep(S, NOW_MS + 86400000LL * 30, err, sizeof err)) ==
               1)
            step++;
        CHECK(swept == 0, "sweep step %d: %s", step, err);
    }
    return 0;
}
