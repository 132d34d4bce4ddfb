/* local_store — the synchronous executor of the embedded local AWS backend:
 * one SQLite database (<dir>/local-aws.sqlite3) that executes the same AWS
 * JSON 1.0 requests tycho sends to SQS and DynamoDB and answers with the same
 * status codes, bodies and error __types (PROTOCOLS.md §7, §8; LOCAL.md).
 *
 * Durability: WAL with synchronous=FULL and one transaction per request, so
 * a response is produced only after its writes are fsynced; an acknowledged
 * write survives kill -9 and power loss.
 *
 * Threading: a store is used by one thread at a time (in tycho, the local
 * backend's owner thread, local_backend.h). Time comes from the caller
 * (now_ms, Unix epoch milliseconds) so tests can drive the clock. */
#ifndef TYCHO_LOCAL_STORE_H
#define TYCHO_LOCAL_STORE_H

#include <stddef.h>
#include <stdint.h>

#define TYCHO_LOCAL_DB_FILE "local-aws.sqlite3"
#define TYCHO_LOCAL_LOCK_FILE "local-aws.lock" /* one tycho a data dir (local_backend.c) */
#define TYCHO_LOCAL_DEFAULT_QUEUES "tycho-messages:dlq=tycho-messages-dlq:max_receive=3"
#define TYCHO_LOCAL_DEFAULT_TABLES                                                                 \
    "tycho-app-data:pk=id/S:sk=timestamp/S:gsi=user-index/user_id/S/created_at/S:ttl=ttl"

typedef struct tycho_local_config {
    char queues[4096];      /* TYCHO_LOCAL_QUEUES (syntax in LOCAL.md); default above */
    char tables[4096];      /* TYCHO_LOCAL_TABLES; default above */
    int auto_create_queues; /* TYCHO_LOCAL_AUTO_CREATE=on|off, default on */
    int sync_full;          /* TYCHO_LOCAL_SYNC=full|normal, default full */
    char region[32];        /* AWS_REGION, then AWS_DEFAULT_REGION, default us-east-1 */
    char account[16];       /* TYCHO_LOCAL_ACCOUNT, 12 digits, default 000000000000 */
} tycho_local_config_t;

typedef struct tycho_local_store tycho_local_store_t;

#define TYCHO_LOCAL_NAME_MAX 256

typedef struct tycho_local_result {
    int status; /* HTTP status: 200, 400, 403, 500, 503 (storage full) */
    char *body; /* malloc'd JSON, NUL-terminated; owned by the result */
    size_t len;
    /* SQS errors: the x-amzn-query-error header value ("Code;Sender"), else "". */
    char query_error[96];
    /* An empty ReceiveMessage that asked to wait (WaitTimeSeconds, or the
     * queue's ReceiveMessageWaitTimeSeconds): the caller may run the same
     * request again until now + wait_ms, whenever wait_queue gets a message. */
    int64_t wait_ms;
    char wait_queue[TYCHO_LOCAL_NAME_MAX];
    int64_t
        next_ready_ms; /* earliest time a hidden message of wait_queue becomes visible, 0 none */
    /* Queues in which this request made a message receivable, each with the
     * earliest time one becomes so (epoch ms): the request's now for a send
     * or a visibility of 0, later for a delay or a visibility timeout, so
     * that a poll already waiting on the queue can look again then. */
    int nnotify;
    struct {
        char queue[TYCHO_LOCAL_NAME_MAX];
        int64_t at_ms;
    } notify[2];
} tycho_local_result_t;

/* Defaults (above); then tycho_local_config_from_env reads the variables
 * and checks the queue and table specs (what needs no store: syntax, names,
 * ranges, repeated keys). 0, or -1 with a one-line message naming the
 * variable. */
void tycho_local_config_init(tycho_local_config_t *cfg);
int tycho_local_config_from_env(tycho_local_config_t *cfg, char *err, size_t errlen);

/* Opens (creating) <dir>/local-aws.sqlite3 and applies the configured queues
 * and tables. 0, or -1 with a one-line message in err. */
int tycho_local_store_open(const char *dir, const tycho_local_config_t *cfg, int64_t now_ms,
                           tycho_local_store_t **out, char *err, size_t errlen);
void tycho_local_store_close(tycho_local_store_t *s);

/* Executes one request. target is the X-Amz-Target value
 * ("AmazonSQS.SendMessage", "DynamoDB_20120810.PutItem"). Always fills res
 * (errors included) and returns 0; -ENOMEM only if no response could be
 * built at all. Free with tycho_local_result_free. */
int tycho_local_exec(tycho_local_store_t *s, const char *target, const char *body, size_t len,
                     int64_t now_ms, tycho_local_result_t *res);
void tycho_local_result_free(tycho_local_result_t *res);

int64_t tycho_local_now_ms(void); /* wall clock, Unix epoch ms */

/* The layout version an older store was upgraded from when it was opened
 * (its items re-read then: the caller may say so), or 0. */
int tycho_local_store_upgraded_from(const tycho_local_store_t *s);

/* Items past their TTL a sweep step deletes at most: a step is one
 * transaction, and requests wait for it on the store's thread. Expired
 * items lie on pages of their own (keys are not in TTL order), so a step
 * writes and fsyncs about a page each: with 500 a step, a GetItem waited up
 * to 175 ms behind one, with 100 up to 90 ms (bench/results/local_ttl.md). */
#define TYCHO_LOCAL_SWEEP_BATCH 100
/* Messages past their retention period a sweep step deletes at most. They
 * were sent in id order with one period a queue, so they lie together on
 * few pages and a step's fsync is most of its cost: a step of 1,000 took
 * no longer than one of 100 (bench/results/local_sqs_backlog.md), in a
 * tenth of the transactions. */
#define TYCHO_LOCAL_SWEEP_MESSAGES 1000
/* Housekeeping, one step of a sweep a call, each its own transaction so
 * that requests can run between steps: every step deletes up to
 * TYCHO_LOCAL_SWEEP_MESSAGES SQS messages past their retention period and
 * up to TYCHO_LOCAL_SWEEP_BATCH items past their TTL, both found through
 * an index (reads already ignore both). 1: more may be due, call again
 * with the same now_ms; 0: the sweep is done; -1 with err "<path>:
 * <SQLite message>", followed by what to do when the file is damaged (as
 * in a request's error). */
int tycho_local_store_sweep(tycho_local_store_t *s, int64_t now_ms, char *err, size_t errlen);

/* ---- internal: shared by local_store.c, local_sqs.c, local_ddb.c only ---- */

#include <cJSON.h>
#include <sqlite3.h>

struct tycho_local_store {
    sqlite3 *db;
    char path[4200]; /* <dir>/local-aws.sqlite3, for messages */
    int auto_create_queues;
    int upgraded_from; /* tycho_local_store_upgraded_from */
    char region[32];
    char account[16];
    struct {
        const char *sql;
        sqlite3_stmt *stmt;
    } stmts[96];
    int nstmts;
};

/* Error __types (the prefix before '#' is what the real services send). */
#define LT_SERIALIZATION "com.amazon.coral.service#SerializationException"
#define LT_UNKNOWN_OP "com.amazon.coral.service#UnknownOperationException"
#define LT_DDB_VALIDATION "com.amazon.coral.validate#ValidationException"
#define LT_DDB_NOT_FOUND "com.amazonaws.dynamodb.v20120810#ResourceNotFoundException"
#define LT_DDB_IN_USE "com.amazonaws.dynamodb.v20120810#ResourceInUseException"
#define LT_DDB_CONDITION "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException"
#define LT_DDB_INTERNAL "com.amazonaws.dynamodb.v20120810#InternalServerError"
#define LT_SQS_INTERNAL "com.amazon.coral.service#InternalFailure"
/* 503: the store cannot take writes now (its filesystem is full). */
#define LT_UNAVAILABLE "com.amazon.coral.service#ServiceUnavailableException"

/* What an SQS request's "\u0000" escapes become before parsing (cJSON keeps
 * strings NUL-terminated): U+D800 as UTF-8 bytes. Nothing else decodes to
 * it, since tycho_local_exec refuses surrogates in the raw body (RFC 3629)
 * and cJSON refuses a lone surrogate escape; local_sqs.c reports it as
 * '#x0' where it sits. */
#define TYCHO_LOCAL_NUL_MARK "\xED\xA0\x80"
#define TYCHO_LOCAL_NUL_MARK_CP 0xD800

/* A prepared statement for a static SQL string, cached per store, reset and
 * with bindings cleared. NULL on error (sqlite3_errmsg has details). */
sqlite3_stmt *tycho_local_stmt(tycho_local_store_t *s, const char *sql);
/* Sets an error response: HTTP status, __type, optional query-error code. */
void tycho_local_error(tycho_local_result_t *res, int status, const char *type,
                       const char *query_code, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* Serializes obj as the response body (status 200); obj stays the caller's. */
void tycho_local_ok(tycho_local_result_t *res, const cJSON *obj);
/* Sets the error response for the SQLite call that just failed on s->db:
 * 503 ServiceUnavailableException naming "storage full" when the data
 * directory's filesystem is full (SQLITE_FULL, or an I/O error with ENOSPC),
 * else 500 with the service's internal error. context prefixes the SQLite
 * message ("commit failed"), or NULL; a damaged file is named, with what to
 * do about it. Call it before ROLLBACK (which resets the error). */
void tycho_local_db_error(tycho_local_store_t *s, tycho_local_result_t *res, int sqs,
                          const char *context);
/* Records that a message of queue becomes receivable at at_ms (see
 * tycho_local_result_t.notify; the earliest time a queue is kept). */
void tycho_local_notify(tycho_local_result_t *res, const char *queue, int64_t at_ms);
int tycho_local_random(unsigned char *p, size_t n);
void tycho_local_uuid(char out[37]);
/* A JSON number as a long, saturated to +-1e15 (a request's 1e49 must not
 * overflow the cast); range checks then see an out-of-range value. */
long tycho_local_long(double v);
/* The TYCHO_LOCAL_QUEUES / TYCHO_LOCAL_TABLES syntax: entries separated by
 * ';' (blanks around one dropped, empty ones skipped), each
 * "name(:key=value)*". tycho_local_spec_next cuts the next entry out of *rest
 * (a writable copy, changed in place): 1 with *e filled, 0 at the end, or -1
 * with err ("queue q: ttl=x: ttl is given twice") when an option is not
 * key=value or a key other than the one named repeatable comes twice. what
 * names an entry in messages ("queue", "table"). */
#define TYCHO_LOCAL_SPEC_MAX_OPTS 32
typedef struct tycho_local_spec_entry {
    char *name;
    int nopts;
    struct {
        char *key, *value;
    } opts[TYCHO_LOCAL_SPEC_MAX_OPTS];
} tycho_local_spec_entry_t;
int tycho_local_spec_next(char **rest, const char *what, const char *repeatable,
                          tycho_local_spec_entry_t *e, char *err, size_t errlen);

/* Runs a statement that returns no rows. 0 or -1. */
int tycho_local_exec_sql(tycho_local_store_t *s, const char *sql);
/* Steps sql (a static string, as for tycho_local_stmt), a SELECT of at most
 * one row that binds name as its one parameter. 1: *row stands on the row
 * (read its columns, then sqlite3_reset it); 0: no such row; -1: store error,
 * res set by tycho_local_db_error(s, res, sqs, NULL). */
int tycho_local_find_row(tycho_local_store_t *s, const char *sql, const char *name, int sqs,
                         tycho_local_result_t *res, sqlite3_stmt **row);

#endif
