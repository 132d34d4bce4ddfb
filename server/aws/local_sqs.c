/* local_sqs — see local_sqs.h. Request and response shapes follow the SQS
 * JSON 1.0 protocol (PROTOCOLS.md §7); validation rules and error __types
 * follow local-aws-sqs 2.0.2 (PEERS.md item 2), which mirrors SQS. Where SQS
 * documents a behaviour local-aws-sqs does not have, SQS wins and LOCAL.md
 * says so (stale receipt handles, purge timing). */
#include "aws/local_sqs.h"
#include "aws/local_av.h"

#include <ctype.h>
#include <math.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T_QUEUE_MISSING "com.amazonaws.sqs#QueueDoesNotExist"
#define T_INVALID_PARAM "com.amazon.coral.service#InvalidParameterValueException"
#define T_MISSING_PARAM "com.amazon.coral.service#MissingRequiredParameterException"
#define T_INVALID_ATTR "com.amazon.coral.service#InvalidAttributeName"
#define T_QUEUE_EXISTS "com.amazonaws.sqs#QueueNameExists"
#define T_RECEIPT "com.amazonaws.sqs#ReceiptHandleIsInvalid"
#define T_NOT_INFLIGHT "com.amazonaws.sqs#MessageNotInflight"
#define T_CONTENTS "com.amazonaws.sqs#InvalidMessageContents"
#define T_UNSUPPORTED "com.amazonaws.sqs#UnsupportedOperation"
#define T_PURGE "com.amazonaws.sqs#PurgeQueueInProgress"

#define DEFAULT_RETENTION_S 345600 /* MessageRetentionPeriod: 4 days */

#define Q_MISSING "AWS.SimpleQueueService.NonExistentQueue"

#define MAX_MESSAGE_SIZE 1048576
#define MAX_VISIBILITY_S 43200  /* VisibilityTimeout, and a receive's total invisibility */
#define SQS_NUMBER_MIN_EXP -128 /* smallest magnitude 10^-128 */
#define ALLOWED_CHARS "#x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF"

typedef struct queue {
    char name[81];
    int visibility;
    int delay;
    int retention;
    int wait;
    int max_size;
    int max_receive; /* 0: no redrive */
    char dlq[81];    /* redrive target queue name */
    cJSON *attrs;    /* stored attributes (strings), owned */
} queue_t;

static void queue_free(queue_t *q)
{
    cJSON_Delete(q->attrs);
    q->attrs = NULL;
}

static void internal(tycho_local_store_t *s, tycho_local_result_t *res)
{
    tycho_local_db_error(s, res, 1, NULL);
}

static void invalid(tycho_local_result_t *res, const char *fmt, const char *a, const char *b)
{
    tycho_local_error(res, 400, T_INVALID_PARAM, "InvalidParameterValue", fmt, a ? a : "",
                      b ? b : "");
}

static void missing(tycho_local_result_t *res, const char *param)
{
    tycho_local_error(res, 400, T_MISSING_PARAM, "MissingParameter",
                      "The request must contain the parameter %s.", param);
}

static void queue_missing(tycho_local_result_t *res)
{
    tycho_local_error(res, 400, T_QUEUE_MISSING, Q_MISSING, "The specified queue does not exist.");
}

/* ---- request helpers ---------------------------------------------------- */

/* The MalformedInput message for a JSON value v of the wrong type where
 * `want` ("an Integer") was expected: it names v's JSON type as SQS does. */
static void type_message(const cJSON *v, const char *want, char *msg, size_t msglen)
{
    const char *got = cJSON_IsString(v)   ? "STRING_VALUE"
                      : cJSON_IsNumber(v) ? "NUMBER_VALUE"
                      : cJSON_IsBool(v)   ? (cJSON_IsTrue(v) ? "TRUE_VALUE" : "FALSE_VALUE")
                      : cJSON_IsArray(v)  ? NULL
                      : cJSON_IsObject(v) ? NULL
                                          : "NULL_VALUE";
    if (!got)
        snprintf(msg, msglen, "Start of %s found where not expected",
                 cJSON_IsArray(v) ? "list" : "structure or map");
    else
        snprintf(msg, msglen, "%s can not be converted to %s", got, want);
}

static void type_error(tycho_local_result_t *res, const cJSON *v, const char *want)
{
    char msg[128];
    type_message(v, want, msg, sizeof msg);
    tycho_local_error(res, 400, LT_SERIALIZATION, "MalformedInput", "%s", msg);
}

/* Optional integer member: 1 present (value in *out), 0 absent, -1 error set. */
static int get_int(const cJSON *req, const char *name, long *out, tycho_local_result_t *res)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(req, name);
    if (!v || cJSON_IsNull(v)) return 0;
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) ||
        fabs(v->valuedouble) > 1e15) {
        type_error(res, v, "an Integer");
        return -1;
    }
    *out = (long)v->valuedouble;
    return 1;
}

/* Optional integer member within lo..hi, as get_int (*out unchanged when
 * absent). A value out of range is InvalidParameterValue "Value <n> for
 * parameter <name> is invalid. Reason: <reason>". */
static int get_int_in(const cJSON *req, const char *name, long lo, long hi, const char *reason,
                      long *out, tycho_local_result_t *res)
{
    long v;
    int r = get_int(req, name, &v, res);
    if (r > 0 && (v < lo || v > hi)) {
        tycho_local_error(res, 400, T_INVALID_PARAM, "InvalidParameterValue",
                          "Value %ld for parameter %s is invalid. Reason: %s", v, name, reason);
        return -1;
    }
    if (r > 0) *out = v;
    return r;
}

/* Optional string member: the string, NULL absent; *bad set on a type error. */
static const char *get_str(const cJSON *req, const char *name, tycho_local_result_t *res, int *bad)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(req, name);
    if (!v || cJSON_IsNull(v)) return NULL;
    if (!cJSON_IsString(v)) {
        type_error(res, v, "a String");
        *bad = 1;
        return NULL;
    }
    return v->valuestring;
}

static int valid_queue_name(const char *n)
{
    size_t len = strlen(n);
    if (len < 1 || len > 80) return 0;
    for (size_t i = 0; i < len; i++)
        if (!isalnum((unsigned char)n[i]) && n[i] != '-' && n[i] != '_') return 0;
    return 1;
}

/* The queue name a QueueUrl names: its last path segment (any host, any
 * account), or the whole string when it has no '/'. */
static void name_from_url(const char *url, char out[81])
{
    const char *end = url + strlen(url);
    while (end > url && end[-1] == '/')
        end--;
    const char *start = end;
    while (start > url && start[-1] != '/')
        start--;
    size_t n = (size_t)(end - start);
    if (n > 80) n = 0; /* too long to be a queue name: resolves to nothing */
    memcpy(out, start, n);
    out[n] = '\0';
}

static void queue_url(const tycho_local_store_t *s, const char *name, char *out, size_t n)
{
    snprintf(out, n, "http://localhost/%s/%s", s->account, name);
}

static void queue_arn(const tycho_local_store_t *s, const char *name, char *out, size_t n)
{
    snprintf(out, n, "arn:aws:sqs:%s:%s:%s", s->region, s->account, name);
}

/* ---- responses ---------------------------------------------------------- */

/* 200 with {}: the answer of the operations that return nothing. */
static void reply_empty(tycho_local_result_t *res)
{
    cJSON *out = cJSON_CreateObject();
    tycho_local_ok(res, out);
    cJSON_Delete(out);
}

static void reply_queue_url(const tycho_local_store_t *s, const char *name,
                            tycho_local_result_t *res)
{
    char url[256];
    queue_url(s, name, url, sizeof url);
    cJSON *out = cJSON_CreateObject();
    cJSON_AddStringToObject(out, "QueueUrl", url);
    tycho_local_ok(res, out);
    cJSON_Delete(out);
}

/* ---- queue records ------------------------------------------------------ */

static int attr_int(const cJSON *attrs, const char *name, int dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(attrs, name);
    return cJSON_IsString(v) ? atoi(v->valuestring) : dflt;
}

static void queue_decode(queue_t *q)
{
    q->visibility = attr_int(q->attrs, "VisibilityTimeout", 30);
    q->delay = attr_int(q->attrs, "DelaySeconds", 0);
    q->retention = attr_int(q->attrs, "MessageRetentionPeriod", DEFAULT_RETENTION_S);
    q->wait = attr_int(q->attrs, "ReceiveMessageWaitTimeSeconds", 0);
    q->max_size = attr_int(q->attrs, "MaximumMessageSize", MAX_MESSAGE_SIZE);
    q->max_receive = 0;
    q->dlq[0] = '\0';
    const cJSON *rp = cJSON_GetObjectItemCaseSensitive(q->attrs, "RedrivePolicy");
    if (cJSON_IsString(rp)) {
        cJSON *p = cJSON_Parse(rp->valuestring);
        const cJSON *arn = cJSON_GetObjectItemCaseSensitive(p, "deadLetterTargetArn");
        const cJSON *mrc = cJSON_GetObjectItemCaseSensitive(p, "maxReceiveCount");
        if (cJSON_IsString(arn) && cJSON_IsNumber(mrc)) {
            const char *c = strrchr(arn->valuestring, ':');
            snprintf(q->dlq, sizeof q->dlq, "%s", c ? c + 1 : arn->valuestring);
            q->max_receive = mrc->valueint;
        }
        cJSON_Delete(p);
    }
}

/* 1 found, 0 absent, -1 store error (res set). */
static int queue_load(tycho_local_store_t *s, const char *name, queue_t *q,
                      tycho_local_result_t *res)
{
    memset(q, 0, sizeof *q);
    sqlite3_stmt *st;
    int found =
        tycho_local_find_row(s, "SELECT attrs FROM sqs_queues WHERE name = ?", name, 1, res, &st);
    if (found != 1) return found;
    snprintf(q->name, sizeof q->name, "%s", name);
    q->attrs = cJSON_Parse((const char *)sqlite3_column_text(st, 0));
    if (!q->attrs) q->attrs = cJSON_CreateObject();
    sqlite3_reset(st);
    queue_decode(q);
    return 1;
}

/* Writes a queue's attributes (a new queue when insert). An existing
 * queue's messages then expire by its MessageRetentionPeriod as it is now,
 * counted from their send (SetQueueAttributes: a change "will impact
 * existing messages in the queue"); a moved message's send time is its
 * first queue's, as for a redrive. 0 or -1. */
static int queue_store(tycho_local_store_t *s, const char *name, const cJSON *attrs, int64_t now_ms,
                       int insert)
{
    char *json = cJSON_PrintUnformatted(attrs);
    if (!json) return -1;
    sqlite3_stmt *st =
        insert ? tycho_local_stmt(s, "INSERT INTO sqs_queues(name, attrs, created_s, modified_s) "
                                     "VALUES(?1, ?2, ?3, ?3)")
               : tycho_local_stmt(
                     s, "UPDATE sqs_queues SET attrs = ?2, modified_s = ?3 WHERE name = ?1");
    int rc = -1;
    if (st) {
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, json, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, now_ms / 1000);
        rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
        sqlite3_reset(st);
    }
    free(json);
    if (rc || insert) return rc;
    st = tycho_local_stmt(s, "UPDATE sqs_messages SET expires_ms = sent_ms + ?2 WHERE queue = ?1");
    if (!st) return -1;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(
        st, 2, (int64_t)attr_int(attrs, "MessageRetentionPeriod", DEFAULT_RETENTION_S) * 1000);
    rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
    sqlite3_reset(st);
    return rc;
}

static cJSON *default_attrs(void)
{
    cJSON *a = cJSON_CreateObject();
    if (!a) return NULL;
    cJSON_AddStringToObject(a, "VisibilityTimeout", "30");
    cJSON_AddStringToObject(a, "DelaySeconds", "0");
    cJSON_AddStringToObject(a, "MessageRetentionPeriod", "345600");
    cJSON_AddStringToObject(a, "ReceiveMessageWaitTimeSeconds", "0");
    cJSON_AddStringToObject(a, "MaximumMessageSize", "1048576");
    return a;
}

static int create_plain_queue(tycho_local_store_t *s, const char *name, int64_t now_ms)
{
    cJSON *a = default_attrs();
    int rc = a ? queue_store(s, name, a, now_ms, 1) : -1;
    cJSON_Delete(a);
    return rc;
}

/* Loads the queue called name into q, creating it first when it does not
 * exist and create is set. 1 found (free q with queue_free), 0 error set
 * (QueueDoesNotExist also for a string that cannot be a queue name); q holds
 * nothing to free then. */
static int find_queue(tycho_local_store_t *s, const char *name, int create, int64_t now_ms,
                      queue_t *q, tycho_local_result_t *res)
{
    memset(q, 0, sizeof *q);
    int found = valid_queue_name(name) ? queue_load(s, name, q, res) : 0;
    if (!found && create && valid_queue_name(name)) {
        if (create_plain_queue(s, name, now_ms)) {
            internal(s, res);
            return 0;
        }
        found = queue_load(s, name, q, res);
    }
    if (found < 0) return 0;
    if (!found) {
        queue_missing(res);
        return 0;
    }
    return 1;
}

/* Loads the queue a request names by QueueUrl (see find_queue). */
static int request_queue(tycho_local_store_t *s, const cJSON *req, int create, int64_t now_ms,
                         queue_t *q, tycho_local_result_t *res)
{
    int bad = 0;
    const char *url = get_str(req, "QueueUrl", res, &bad);
    if (bad) return 0;
    if (!url || !*url) {
        missing(res, "QueueUrl");
        return 0;
    }
    char name[81];
    name_from_url(url, name);
    return find_queue(s, name, create, now_ms, q, res);
}

/* Runs a statement on one queue's rows: ?1 is the queue's name, ?2 (when the
 * statement has it) now_ms. 0, or -1 on a store error. */
static int queue_exec(tycho_local_store_t *s, const char *sql, const char *queue, int64_t now_ms)
{
    sqlite3_stmt *st = tycho_local_stmt(s, sql);
    if (!st) return -1;
    sqlite3_bind_text(st, 1, queue, -1, SQLITE_STATIC);
    if (sqlite3_bind_parameter_count(st) >= 2) sqlite3_bind_int64(st, 2, now_ms);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* ---- queue attributes --------------------------------------------------- */

/* The attributes that hold a whole number, SQS's range for each, and the
 * TYCHO_LOCAL_QUEUES key that sets it (LOCAL.md "Queues"), if one does. */
static const struct int_attr {
    const char *name, *key, *unit;
    long lo, hi;
} INT_ATTRS[] = {
    {"DelaySeconds", "delay", "seconds", 0, 900},
    {"MaximumMessageSize", "max_size", "bytes", 1024, MAX_MESSAGE_SIZE},
    {"MessageRetentionPeriod", "retention", "seconds", 60, 1209600},
    {"ReceiveMessageWaitTimeSeconds", "wait", "seconds", 0, 20},
    {"VisibilityTimeout", "visibility", "seconds", 0, 43200},
    {"KmsDataKeyReusePeriodSeconds", NULL, "seconds", 60, 86400},
};

/* A RedrivePolicy's maxReceiveCount. */
#define MAX_RECEIVE_LO 1
#define MAX_RECEIVE_HI 1000

static const char *const SETTABLE[] = {"DelaySeconds",
                                       "MaximumMessageSize",
                                       "MessageRetentionPeriod",
                                       "ReceiveMessageWaitTimeSeconds",
                                       "VisibilityTimeout",
                                       "RedrivePolicy",
                                       "Policy",
                                       "RedriveAllowPolicy",
                                       "KmsMasterKeyId",
                                       "KmsDataKeyReusePeriodSeconds",
                                       "SqsManagedSseEnabled",
                                       NULL};

static int parse_uint_str(const char *v, long *out)
{
    if (!*v || strlen(v) > 9) return -1;
    for (const char *p = v; *p; p++)
        if (!isdigit((unsigned char)*p)) return -1;
    *out = atol(v);
    return 0;
}

static void bad_redrive(tycho_local_result_t *res, const char *v, const char *reason)
{
    tycho_local_error(res, 400, T_INVALID_PARAM, "InvalidParameterValue",
                      "Value %s for parameter RedrivePolicy is invalid. Reason: %s", v, reason);
}

/* Validates and normalizes a RedrivePolicy JSON string into out (a new
 * string). 0, or -1 with the error set. */
static int redrive_normalize(tycho_local_store_t *s, const char *v, int64_t now_ms, char **out,
                             tycho_local_result_t *res)
{
    cJSON *p = cJSON_Parse(v);
    const cJSON *arn = cJSON_GetObjectItemCaseSensitive(p, "deadLetterTargetArn");
    const cJSON *mrc = cJSON_GetObjectItemCaseSensitive(p, "maxReceiveCount");
    long max = -1;
    if (cJSON_IsNumber(mrc) && mrc->valuedouble == floor(mrc->valuedouble))
        max = tycho_local_long(mrc->valuedouble);
    else if (cJSON_IsString(mrc) && parse_uint_str(mrc->valuestring, &max))
        max = -1;
    *out = NULL;
    /* Reasons and their order are local-aws-sqs's. Both keys are
     * mandatory: the API reference gives maxReceiveCount a default of 10,
     * but SQS, like local-aws-sqs, refuses a policy without it. */
    if (!cJSON_IsObject(p) || (arn && !cJSON_IsString(arn))) {
        tycho_local_error(res, 400, T_INVALID_PARAM, "InvalidParameterValue",
                          "Invalid value for the parameter RedrivePolicy. Reason: Redrive policy "
                          "is not a valid JSON map.");
        goto done;
    }
    if (!mrc || !arn) {
        bad_redrive(res, v,
                    !mrc ? "Redrive policy does not contain mandatory attribute: maxReceiveCount."
                         : "Redrive policy does not contain mandatory attribute: "
                           "deadLetterTargetArn.");
        goto done;
    }
    if (max < MAX_RECEIVE_LO || max > MAX_RECEIVE_HI) {
        char *shown = cJSON_IsString(mrc) ? NULL : cJSON_PrintUnformatted(mrc);
        tycho_local_error(
            res, 400, T_INVALID_PARAM, "InvalidParameterValue",
            "Value %s for parameter RedrivePolicy is invalid. Reason: Invalid value for "
            "maxReceiveCount: %s, valid values are from %d to %d both inclusive.",
            v,
            shown                 ? shown
            : cJSON_IsString(mrc) ? mrc->valuestring
                                  : "?",
            MAX_RECEIVE_LO, MAX_RECEIVE_HI);
        cJSON_free(shown);
        goto done;
    }
    /* arn:<partition>:sqs:<region>:<account>:<name>: six parts, or it is
     * no fully qualified ARN */
    char parts[6][128];
    int np = 0;
    const char *c = arn->valuestring;
    while (np < 6) {
        const char *e = strchr(c, ':');
        if (!e) e = c + strlen(c);
        if ((size_t)(e - c) >= sizeof parts[0]) break;
        memcpy(parts[np], c, (size_t)(e - c));
        parts[np][e - c] = '\0';
        np++;
        if (!*e) break;
        c = e + 1;
        if (np == 6) np++; /* a seventh part */
    }
    if (np != 6 || strcmp(parts[0], "arn") != 0 || !parts[1][0]) {
        bad_redrive(res, v, "Dead-letter target ARN should be fully qualified ARN.");
        goto done;
    }
    /* SQS takes these two keys only (a misspelt key would otherwise be
     * dropped unseen); local-aws-sqs's reason, plus the key. */
    for (const cJSON *k = p->child; k; k = k->next)
        if (strcmp(k->string, "deadLetterTargetArn") != 0 &&
            strcmp(k->string, "maxReceiveCount") != 0) {
            tycho_local_error(res, 400, T_INVALID_PARAM, "InvalidParameterValue",
                              "Value %s for parameter RedrivePolicy is invalid. Reason: Only "
                              "following attributes are supported: [maxReceiveCount, "
                              "deadLetterTargetArn]. Unknown attribute: %s.",
                              v, k->string);
            goto done;
        }
    if (strcmp(parts[2], "sqs") != 0 || !valid_queue_name(parts[5])) {
        bad_redrive(res, v, "Only SQS queues are valid resources for deadLetterTargetArn.");
        goto done;
    }
    queue_t dlq;
    int found = queue_load(s, parts[5], &dlq, res);
    queue_free(&dlq);
    if (found < 0) goto done;
    if (!found && !s->auto_create_queues) {
        bad_redrive(res, v, "Dead letter target does not exist.");
        goto done;
    }
    if (!found && create_plain_queue(s, parts[5], now_ms)) {
        internal(s, res);
        goto done;
    }
    cJSON *n = cJSON_CreateObject();
    char norm_arn[256];
    snprintf(norm_arn, sizeof norm_arn, "%s", arn->valuestring);
    if (n && cJSON_AddStringToObject(n, "deadLetterTargetArn", norm_arn) &&
        cJSON_AddNumberToObject(n, "maxReceiveCount", (double)max))
        *out = cJSON_PrintUnformatted(n);
    cJSON_Delete(n);
    if (!*out) internal(s, res);
done:
    cJSON_Delete(p);
    return *out ? 0 : -1;
}

/* Applies an Attributes map onto attrs (validated). 0 or -1 with error set. */
static int apply_attributes(tycho_local_store_t *s, const char *qname, cJSON *attrs,
                            const cJSON *in, int64_t now_ms, tycho_local_result_t *res)
{
    if (!in) return 0;
    if (!cJSON_IsObject(in)) {
        type_error(res, in, "a Map");
        return -1;
    }
    for (const cJSON *a = in->child; a; a = a->next) {
        const char *k = a->string;
        if (!cJSON_IsString(a)) {
            type_error(res, a, "a String");
            return -1;
        }
        const char *v = a->valuestring;
        if (strcmp(k, "FifoQueue") == 0 || strcmp(k, "ContentBasedDeduplication") == 0 ||
            strcmp(k, "DeduplicationScope") == 0 || strcmp(k, "FifoThroughputLimit") == 0) {
            tycho_local_error(
                res, 400, T_UNSUPPORTED, "AWS.SimpleQueueService.UnsupportedOperation",
                "FIFO queues (attribute %s) are not supported by the tycho local backend", k);
            return -1;
        }
        int known = 0;
        for (int i = 0; SETTABLE[i]; i++)
            known |= strcmp(k, SETTABLE[i]) == 0;
        if (!known) {
            tycho_local_error(res, 400, T_INVALID_ATTR, "InvalidAttributeName",
                              "Unknown Attribute %s.", k);
            return -1;
        }
        for (size_t i = 0; i < sizeof INT_ATTRS / sizeof INT_ATTRS[0]; i++) {
            long n;
            if (strcmp(k, INT_ATTRS[i].name) != 0) continue;
            if (parse_uint_str(v, &n) || n < INT_ATTRS[i].lo || n > INT_ATTRS[i].hi) {
                invalid(res, "Invalid value for the parameter %s.%s", k, NULL);
                return -1;
            }
            char buf[16];
            snprintf(buf, sizeof buf, "%ld", n);
            cJSON_DeleteItemFromObjectCaseSensitive(attrs, k);
            cJSON_AddStringToObject(attrs, k, buf);
        }
        if (strcmp(k, "RedrivePolicy") == 0) {
            cJSON_DeleteItemFromObjectCaseSensitive(attrs, k);
            if (*v) { /* "" removes the policy, as in SQS */
                char *norm;
                if (redrive_normalize(s, v, now_ms, &norm, res)) return -1;
                cJSON *np = cJSON_Parse(norm);
                const cJSON *arn = cJSON_GetObjectItemCaseSensitive(np, "deadLetterTargetArn");
                const char *dname = arn ? strrchr(arn->valuestring, ':') : NULL;
                if (dname && strcmp(dname + 1, qname) == 0) {
                    free(norm);
                    cJSON_Delete(np);
                    bad_redrive(res, v, "Dead-letter target can't be the source queue.");
                    return -1;
                }
                cJSON_Delete(np);
                cJSON_AddStringToObject(attrs, k, norm);
                free(norm);
            }
        } else if (strcmp(k, "SqsManagedSseEnabled") == 0) {
            if (strcmp(v, "true") != 0 && strcmp(v, "false") != 0) {
                invalid(res, "Invalid value for the parameter %s.%s", k, NULL);
                return -1;
            }
            cJSON_DeleteItemFromObjectCaseSensitive(attrs, k);
            cJSON_AddStringToObject(attrs, k, v);
        } else if (strcmp(k, "Policy") == 0 || strcmp(k, "RedriveAllowPolicy") == 0 ||
                   strcmp(k, "KmsMasterKeyId") == 0) {
            /* Stored and returned; the local backend has no IAM or KMS. */
            cJSON_DeleteItemFromObjectCaseSensitive(attrs, k);
            if (*v) cJSON_AddStringToObject(attrs, k, v);
        }
    }
    return 0;
}

/* ---- MD5 ---------------------------------------------------------------- */

void tycho_local_sqs_md5_hex(const void *p, size_t n, char out[33])
{
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int dn = 0;
    EVP_Digest(p, n, d, &dn, EVP_md5(), NULL);
    for (unsigned i = 0; i < 16; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp((*(const cJSON *const *)a)->string, (*(const cJSON *const *)b)->string);
}

static int put_u32(tycho_buf_t *b, size_t n)
{
    unsigned char x[4] = {(unsigned char)(n >> 24), (unsigned char)(n >> 16),
                          (unsigned char)(n >> 8), (unsigned char)n};
    return tycho_buf_append(b, x, 4);
}

int tycho_local_sqs_md5_attributes(const cJSON *attrs, char out[33])
{
    int n = cJSON_GetArraySize(attrs), rc = -1;
    if (n <= 0) return -1;
    const cJSON **sorted = malloc(sizeof *sorted * (size_t)n);
    tycho_buf_t b = TYCHO_BUF_INIT;
    if (!sorted) return -1;
    int i = 0;
    for (const cJSON *c = attrs->child; c; c = c->next)
        sorted[i++] = c;
    qsort(sorted, (size_t)n, sizeof *sorted, cmp_names);
    for (i = 0; i < n; i++) {
        const cJSON *a = sorted[i];
        const cJSON *dt = cJSON_GetObjectItemCaseSensitive(a, "DataType");
        if (!cJSON_IsString(dt)) goto out;
        int binary = strncmp(dt->valuestring, "Binary", 6) == 0;
        const cJSON *v =
            cJSON_GetObjectItemCaseSensitive(a, binary ? "BinaryValue" : "StringValue");
        if (!cJSON_IsString(v)) goto out;
        if (put_u32(&b, strlen(a->string)) || tycho_buf_append(&b, a->string, strlen(a->string)) ||
            put_u32(&b, strlen(dt->valuestring)) ||
            tycho_buf_append(&b, dt->valuestring, strlen(dt->valuestring)) ||
            tycho_buf_append(&b, binary ? "\x02" : "\x01", 1))
            goto out;
        if (binary) {
            unsigned char *raw;
            size_t rn;
            if (tycho_b64_decode(v->valuestring, strlen(v->valuestring), &raw, &rn, NULL)) goto out;
            int e = put_u32(&b, rn) || tycho_buf_append(&b, raw, rn);
            free(raw);
            if (e) goto out;
        } else if (put_u32(&b, strlen(v->valuestring)) ||
                   tycho_buf_append(&b, v->valuestring, strlen(v->valuestring))) {
            goto out;
        }
    }
    tycho_local_sqs_md5_hex(b.data ? b.data : "", b.len, out);
    rc = 0;
out:
    tycho_buf_free(&b);
    free(sorted);
    return rc;
}

/* ---- message validation ------------------------------------------------- */

/* First codepoint outside SQS's allowed set, or -1 when the body is fine. */
static long bad_char(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned c = *p, cp, len;
        if (c < 0x80) {
            cp = c;
            len = 1;
        } else if ((c & 0xE0) == 0xC0) {
            cp = c & 0x1F;
            len = 2;
        } else if ((c & 0xF0) == 0xE0) {
            cp = c & 0x0F;
            len = 3;
        } else {
            cp = c & 0x07;
            len = 4;
        }
        for (unsigned k = 1; k < len && p[k]; k++)
            cp = cp << 6 | (p[k] & 0x3F);
        if (cp == TYCHO_LOCAL_NUL_MARK_CP) return 0; /* a "\u0000" escape (local_store.h) */
        if (!(cp == 0x9 || cp == 0xA || cp == 0xD || (cp >= 0x20 && cp <= 0xD7FF) ||
              (cp >= 0xE000 && cp <= 0xFFFD) || (cp >= 0x10000 && cp <= 0x10FFFF)))
            return (long)cp;
        p += len;
    }
    return -1;
}

/* A StringValue (of String, Number and custom types) takes the characters
 * a body takes. 0, or -1 with msg set. */
static int check_string_value(const char *v, const char *kind, const char *name, char *msg,
                              size_t msglen)
{
    long bc = bad_char(v);
    if (bc < 0) return 0;
    snprintf(msg, msglen,
             "Invalid binary character '#x%lX' was found in the value of message %s attribute "
             "'%s', the set of allowed characters is %s",
             bc, kind, name, ALLOWED_CHARS);
    return -1;
}

/* SQS numbers: decimal notation (no NaN, Infinity or hex), up to 38
 * significant digits, magnitude 10^-128 .. 10^+126. tycho_dec_parse checks
 * the syntax, the digits and DynamoDB's upper bound (below 10^126, so 1E126
 * itself is refused); the lower bound is SQS's own. 0, or -1 with msg set. */
static int check_number_value(const char *v, const char *kind, const char *name, char *msg,
                              size_t msglen)
{
    tycho_dec_t d;
    const char *why;
    if (tycho_dec_parse(v, &d, &why) == 0 && (d.nd == 0 || d.exp - 1 >= SQS_NUMBER_MIN_EXP))
        return 0;
    snprintf(msg, msglen,
             "Can't cast the value of message %s attribute '%s' to a number. A Number has up to "
             "38 significant digits and a magnitude from 10^-128 to 10^+126.",
             kind, name);
    return -1;
}

/* Validates a MessageAttributes (or MessageSystemAttributes when system)
 * map. Adds name+type+value bytes to *size. 0, or -1 with code/msg set. */
static int check_attributes(const cJSON *attrs, int system, size_t *size, const char **code,
                            char *msg, size_t msglen)
{
    const char *kind = system ? "system" : "(user)";
    *code = "InvalidParameterValue";
    if (!cJSON_IsObject(attrs)) {
        snprintf(msg, msglen, "Message%s attributes must be a map.", system ? " system" : "");
        return -1;
    }
    int n = cJSON_GetArraySize(attrs);
    if (n > 10) {
        snprintf(msg, msglen, "Number of message attributes [%d] exceeds the allowed maximum [10].",
                 n);
        return -1;
    }
    for (const cJSON *a = attrs->child; a; a = a->next) {
        const char *name = a->string;
        size_t nl = strlen(name);
        if (system && strcmp(name, "AWSTraceHeader") != 0) {
            snprintf(msg, msglen, "Message system attribute name '%s' is invalid.", name);
            return -1;
        }
        if (nl == 0) {
            snprintf(msg, msglen, "The request must contain non-empty message %s attribute names.",
                     kind);
            return -1;
        }
        if (nl > 256) {
            snprintf(msg, msglen, "Message %s attribute name must be shorter than 256 bytes.",
                     kind);
            return -1;
        }
        for (size_t i = 0; i < nl; i++)
            if (!isalnum((unsigned char)name[i]) && name[i] != '_' && name[i] != '-' &&
                name[i] != '.') {
                snprintf(msg, msglen, "Message %s attribute name '%s' contains invalid characters.",
                         kind, name);
                return -1;
            }
        if (strncasecmp(name, "AWS.", 4) == 0 || strncasecmp(name, "Amazon.", 7) == 0) {
            snprintf(msg, msglen,
                     "You can't use message attribute names beginning with 'AWS.' or 'Amazon'. "
                     "These strings are reserved for internal use.");
            return -1;
        }
        if (name[0] == '.' || name[nl - 1] == '.' || strstr(name, "..")) {
            snprintf(
                msg, msglen,
                "Message %s attribute name '%s' must not begin or end with '.' or contain '..'.",
                kind, name);
            return -1;
        }
        if (!cJSON_IsObject(a) || !a->child) {
            snprintf(
                msg, msglen,
                "The message %s attribute '%s' must contain a non-empty message attribute value.",
                kind, name);
            return -1;
        }
        const cJSON *dt = cJSON_GetObjectItemCaseSensitive(a, "DataType");
        const cJSON *sv = cJSON_GetObjectItemCaseSensitive(a, "StringValue");
        const cJSON *bv = cJSON_GetObjectItemCaseSensitive(a, "BinaryValue");
        if (cJSON_GetObjectItemCaseSensitive(a, "StringListValues") ||
            cJSON_GetObjectItemCaseSensitive(a, "BinaryListValues")) {
            *code = "AWS.SimpleQueueService.UnsupportedOperation";
            snprintf(msg, msglen,
                     "Message attribute list values in SendMessage operation are not supported.");
            return -1;
        }
        if (!cJSON_IsString(dt) || !dt->valuestring[0]) {
            snprintf(
                msg, msglen,
                "The message %s attribute '%s' must contain a non-empty message attribute type.",
                kind, name);
            return -1;
        }
        const char *t = dt->valuestring;
        int is_s = strncmp(t, "String", 6) == 0 && (t[6] == '\0' || t[6] == '.');
        int is_n = strncmp(t, "Number", 6) == 0 && (t[6] == '\0' || t[6] == '.');
        int is_b = strncmp(t, "Binary", 6) == 0 && (t[6] == '\0' || t[6] == '.');
        if (!is_s && !is_n && !is_b) {
            snprintf(msg, msglen,
                     "The type of message %s attribute '%s' is invalid. You must use only the "
                     "following supported type prefixes: Binary, Number, String.",
                     kind, name);
            return -1;
        }
        if (strlen(t) > 256) {
            snprintf(msg, msglen, "Message %s attribute type must be shorter than 256 bytes.",
                     kind);
            return -1;
        }
        if ((sv && bv) || cJSON_GetArraySize(a) > 2) {
            snprintf(msg, msglen, "Message %s attribute '%s' must have a single value.", kind,
                     name);
            return -1;
        }
        const cJSON *v = is_b ? bv : sv, *other = is_b ? sv : bv;
        if (!cJSON_IsString(v) || !v->valuestring[0]) {
            if (cJSON_IsString(other) && other->valuestring[0])
                snprintf(msg, msglen,
                         "Message %s attribute '%s' with type '%s' must use field '%s'.", kind,
                         name, t, is_b ? "Binary" : "String");
            else
                snprintf(msg, msglen,
                         "Message %s attribute '%s' must contain a non-empty value of type '%s'.",
                         kind, name, t);
            return -1;
        }
        if (system && !is_s) {
            snprintf(msg, msglen, "Message system attribute '%s' must be of type String.", name);
            return -1;
        }
        if (!is_b && check_string_value(v->valuestring, kind, name, msg, msglen)) return -1;
        if (is_n && check_number_value(v->valuestring, kind, name, msg, msglen)) return -1;
        if (is_b) {
            unsigned char *raw;
            size_t rn;
            if (tycho_b64_decode(v->valuestring, strlen(v->valuestring), &raw, &rn, NULL)) {
                snprintf(msg, msglen,
                         "Message %s attribute '%s' has an invalid base64 BinaryValue.", kind,
                         name);
                return -1;
            }
            free(raw);
        }
        if (!system) *size += nl + strlen(t) + strlen(v->valuestring);
    }
    return 0;
}

typedef struct send_in {
    const char *body;
    long delay;
    const cJSON *attrs;
    const cJSON *sys;
    const char *group;
} send_in_t;

/* Validates one message (SendMessage or a batch entry). 0, or -1 with
 * *code / msg / *type describing the failure. */
static int check_message(const queue_t *q, const cJSON *m, send_in_t *in, const char **code,
                         const char **type, char *msg, size_t msglen)
{
    memset(in, 0, sizeof *in);
    in->delay = -1;
    *type = T_INVALID_PARAM;
    *code = "InvalidParameterValue";
    const cJSON *body = cJSON_GetObjectItemCaseSensitive(m, "MessageBody");
    if (!body || cJSON_IsNull(body) || (cJSON_IsString(body) && !body->valuestring[0])) {
        *type = T_MISSING_PARAM;
        *code = "MissingParameter";
        snprintf(msg, msglen, "The request must contain the parameter MessageBody.");
        return -1;
    }
    if (!cJSON_IsString(body)) {
        *type = LT_SERIALIZATION;
        *code = "MalformedInput";
        snprintf(msg, msglen, "MessageBody must be a string");
        return -1;
    }
    in->body = body->valuestring;
    long bc = bad_char(in->body);
    if (bc >= 0) {
        *type = T_CONTENTS;
        *code = "InvalidMessageContents";
        snprintf(msg, msglen,
                 "Invalid binary character '#x%lX' was found in the message body, the set of "
                 "allowed characters is %s",
                 bc, ALLOWED_CHARS);
        return -1;
    }
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(m, "DelaySeconds");
    if (d && !cJSON_IsNull(d)) {
        if (!cJSON_IsNumber(d) || d->valuedouble != floor(d->valuedouble)) {
            *type = LT_SERIALIZATION;
            *code = "MalformedInput";
            type_message(d, "an Integer", msg, msglen);
            return -1;
        }
        if (d->valuedouble < 0 || d->valuedouble > 900) {
            snprintf(msg, msglen,
                     "Value %.0f for parameter DelaySeconds is invalid. Reason: DelaySeconds must "
                     "be >= 0 and <= 900.",
                     d->valuedouble);
            return -1;
        }
        in->delay = (long)d->valuedouble;
    }
    if (cJSON_GetObjectItemCaseSensitive(m, "MessageDeduplicationId")) {
        snprintf(msg, msglen,
                 "The request include parameter MessageDeduplicationId which is not valid for this "
                 "queue type");
        return -1;
    }
    const cJSON *g = cJSON_GetObjectItemCaseSensitive(m, "MessageGroupId");
    if (g && !cJSON_IsNull(g)) {
        size_t gl = cJSON_IsString(g) ? strlen(g->valuestring) : 0;
        int ok = gl >= 1 && gl <= 128;
        for (size_t i = 0; ok && i < gl; i++)
            ok = g->valuestring[i] > 0x20 && g->valuestring[i] < 0x7F;
        if (!ok) {
            snprintf(msg, msglen,
                     "Value for parameter MessageGroupId is invalid. Reason: MessageGroupId can "
                     "only include alphanumeric and punctuation characters. 1 to 128 in length.");
            return -1;
        }
        in->group = g->valuestring;
    }
    size_t size = strlen(in->body);
    in->attrs = cJSON_GetObjectItemCaseSensitive(m, "MessageAttributes");
    if (in->attrs && cJSON_IsNull(in->attrs)) in->attrs = NULL;
    if (in->attrs && !in->attrs->child) in->attrs = NULL; /* {} is the same as no attributes */
    if (in->attrs && check_attributes(in->attrs, 0, &size, code, msg, msglen)) return -1;
    in->sys = cJSON_GetObjectItemCaseSensitive(m, "MessageSystemAttributes");
    if (in->sys && (cJSON_IsNull(in->sys) || !in->sys->child)) in->sys = NULL;
    if (in->sys && check_attributes(in->sys, 1, &size, code, msg, msglen)) return -1;
    if (size > (size_t)q->max_size) {
        snprintf(
            msg, msglen,
            "One or more parameters are invalid. Reason: Message must be shorter than %d bytes.",
            q->max_size);
        return -1;
    }
    return 0;
}

/* Stores a validated message; fills the response fields into out. */
static int store_message(tycho_local_store_t *s, const queue_t *q, const send_in_t *in,
                         int64_t now_ms, cJSON *out, tycho_local_result_t *res)
{
    char mid[37], md5b[33], md5a[33], md5s[33];
    char *attrs_json = NULL;
    const char *trace = NULL;
    tycho_local_uuid(mid);
    tycho_local_sqs_md5_hex(in->body, strlen(in->body), md5b);
    if (in->attrs) {
        if (tycho_local_sqs_md5_attributes(in->attrs, md5a) ||
            !(attrs_json = cJSON_PrintUnformatted(in->attrs)))
            return -1;
    }
    if (in->sys) {
        const cJSON *th = cJSON_GetObjectItemCaseSensitive(in->sys, "AWSTraceHeader");
        trace = cJSON_GetObjectItemCaseSensitive(th, "StringValue")->valuestring;
        if (tycho_local_sqs_md5_attributes(in->sys, md5s)) {
            free(attrs_json);
            return -1;
        }
    }
    long delay = in->delay >= 0 ? in->delay : q->delay;
    sqlite3_stmt *st = tycho_local_stmt(
        s,
        "INSERT INTO sqs_messages(queue, message_id, body, md5_body, attrs, md5_attrs, "
        "trace_header, group_id,"
        " sent_ms, visible_ms, expires_ms) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)");
    if (!st) {
        free(attrs_json);
        internal(s, res);
        return -1;
    }
    sqlite3_bind_text(st, 1, q->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, mid, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, in->body, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, md5b, -1, SQLITE_STATIC);
    if (attrs_json) {
        sqlite3_bind_text(st, 5, attrs_json, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 6, md5a, -1, SQLITE_STATIC);
    }
    if (trace) sqlite3_bind_text(st, 7, trace, -1, SQLITE_STATIC);
    if (in->group) sqlite3_bind_text(st, 8, in->group, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 9, now_ms);
    sqlite3_bind_int64(st, 10, now_ms + delay * 1000);
    sqlite3_bind_int64(st, 11, now_ms + (int64_t)q->retention * 1000);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    free(attrs_json);
    if (rc != SQLITE_DONE) {
        internal(s, res);
        return -1;
    }
    tycho_local_notify(res, q->name, now_ms + delay * 1000);
    cJSON_AddStringToObject(out, "MD5OfMessageBody", md5b);
    if (in->attrs) cJSON_AddStringToObject(out, "MD5OfMessageAttributes", md5a);
    if (in->sys) cJSON_AddStringToObject(out, "MD5OfMessageSystemAttributes", md5s);
    cJSON_AddStringToObject(out, "MessageId", mid);
    return 0;
}

/* ---- receipt handles ---------------------------------------------------- */

/* Opaque to clients: base64("<row id>:<32 hex random>:<queue>"). The random
 * part changes on every receive, so an older handle is recognisably stale. */
static int make_receipt(const char *queue, sqlite3_int64 id, char token[33], tycho_buf_t *out)
{
    unsigned char r[16];
    char raw[160];
    if (tycho_local_random(r, sizeof r)) return -1;
    for (int i = 0; i < 16; i++)
        snprintf(token + 2 * i, 3, "%02x", r[i]);
    int n = snprintf(raw, sizeof raw, "%lld:%s:%s", (long long)id, token, queue);
    return tycho_b64_encode(out, (const unsigned char *)raw, (size_t)n);
}

typedef struct receipt {
    sqlite3_int64 id;
    char token[33];
    char queue[81];
} receipt_t;

static int parse_receipt(const char *h, receipt_t *r)
{
    unsigned char *raw;
    size_t n;
    if (!h || tycho_b64_decode(h, strlen(h), &raw, &n, NULL)) return -1;
    int ok = 0;
    char *p = (char *)raw, *c1 = strchr(p, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    if (c1 && c2 && c2 - c1 - 1 == 32 && strlen(c2 + 1) <= 80 && strlen(p) == n) {
        char *end;
        r->id = strtoll(p, &end, 10);
        memcpy(r->token, c1 + 1, 32);
        r->token[32] = '\0';
        snprintf(r->queue, sizeof r->queue, "%s", c2 + 1);
        ok = end == c1 && r->id > 0;
    }
    free(raw);
    return ok ? 0 : -1;
}

typedef struct msg_state {
    int exists; /* there, and within its retention period */
    int in_flight;
    int current;         /* token matches the latest receive */
    int64_t received_ms; /* when the latest receive was */
} msg_state_t;

static int message_state(tycho_local_store_t *s, const receipt_t *r, int64_t now_ms,
                         msg_state_t *ms)
{
    memset(ms, 0, sizeof *ms);
    /* A message past its retention period is gone, whether or not a sweep
     * (drop_expired, the store's timer) has deleted its row yet. */
    sqlite3_stmt *st =
        tycho_local_stmt(s, "SELECT receipt, visible_ms, receive_count, received_ms FROM "
                            "sqs_messages WHERE id = ?1 AND queue = ?2 AND expires_ms > ?3");
    if (!st) return -1;
    sqlite3_bind_int64(st, 1, r->id);
    sqlite3_bind_text(st, 2, r->queue, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, now_ms);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        const char *tok = (const char *)sqlite3_column_text(st, 0);
        ms->exists = 1;
        ms->current = tok && strcmp(tok, r->token) == 0;
        ms->in_flight = sqlite3_column_int64(st, 1) > now_ms && sqlite3_column_int(st, 2) > 0;
        ms->received_ms = sqlite3_column_int64(st, 3);
    }
    sqlite3_reset(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

/* A client error about one receipt handle: the single operation answers it
 * with 400, its batch lists it under Failed. */
typedef struct handle_error {
    const char *type;
    const char *code;
    char msg[700];
} handle_error_t;

/* ReceiptHandleIsInvalid for h. The message is cut at cut - 1 bytes (a long
 * garbage handle): DeleteMessage has always cut it at 600 bytes, the others
 * at sizeof e->msg. */
static void handle_invalid(handle_error_t *e, const char *h, size_t cut)
{
    e->type = T_RECEIPT;
    e->code = "ReceiptHandleIsInvalid";
    snprintf(e->msg, cut < sizeof e->msg ? cut : sizeof e->msg,
             "The input receipt handle \"%s\" is not a valid receipt handle.", h);
}

/* A handle refused for a reason: "Value <h> for parameter ReceiptHandle is
 * invalid. Reason: <reason>". */
static void handle_rejected(handle_error_t *e, const char *type, const char *code, const char *h,
                            const char *reason)
{
    e->type = type;
    e->code = code;
    snprintf(e->msg, sizeof e->msg, "Value %s for parameter ReceiptHandle is invalid. Reason: %s",
             h, reason);
}

/* Deletes by handle. 0 ok (including already deleted / stale handle, as SQS
 * answers success), 1 invalid handle (e set), -1 store error. */
static int delete_by_handle(tycho_local_store_t *s, const queue_t *q, const char *h,
                            handle_error_t *e)
{
    receipt_t r;
    if (parse_receipt(h, &r) || strcmp(r.queue, q->name) != 0) {
        handle_invalid(e, h, 600);
        return 1;
    }
    /* SQS: "you must provide the most recently received ReceiptHandle for the
     * message (otherwise, the request succeeds, but the message will not be
     * deleted)". So a stale handle deletes nothing and still succeeds. */
    sqlite3_stmt *st =
        tycho_local_stmt(s, "DELETE FROM sqs_messages WHERE id = ? AND queue = ? AND receipt = ?");
    if (!st) return -1;
    sqlite3_bind_int64(st, 1, r.id);
    sqlite3_bind_text(st, 2, r.queue, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, r.token, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* Changes visibility by handle. 0 ok, 1 client error (e set), -1 store
 * error. */
static int change_visibility(tycho_local_store_t *s, const queue_t *q, const char *h, long vt,
                             int64_t now_ms, handle_error_t *e, tycho_local_result_t *res)
{
    receipt_t r;
    msg_state_t ms;
    if (parse_receipt(h, &r) || strcmp(r.queue, q->name) != 0) {
        handle_invalid(e, h, sizeof e->msg);
        return 1;
    }
    if (message_state(s, &r, now_ms, &ms)) return -1;
    if (!ms.exists) {
        handle_invalid(e, h, sizeof e->msg);
        return 1;
    }
    if (!ms.in_flight) {
        handle_rejected(e, T_NOT_INFLIGHT, "AWS.SimpleQueueService.MessageNotInflight", h,
                        "Message does not exist or is not available for visibility timeout "
                        "change.");
        return 1;
    }
    if (!ms.current) {
        handle_rejected(e, T_INVALID_PARAM, "InvalidParameterValue", h,
                        "The receipt handle has expired.");
        return 1;
    }
    /* SQS keeps a message invisible for at most 12 hours counted from the
     * receive that returned the handle: an extension past that is refused
     * (the ChangeMessageVisibility reference), with this message. */
    if (now_ms + (int64_t)vt * 1000 - ms.received_ms > (int64_t)MAX_VISIBILITY_S * 1000) {
        e->type = T_INVALID_PARAM;
        e->code = "InvalidParameterValue";
        snprintf(e->msg, sizeof e->msg,
                 "Value %ld for parameter VisibilityTimeout is invalid. Reason: Total "
                 "VisibilityTimeout for the message is beyond the limit [%d seconds]",
                 vt, MAX_VISIBILITY_S);
        return 1;
    }
    sqlite3_stmt *st = tycho_local_stmt(s, "UPDATE sqs_messages SET visible_ms = ? WHERE id = ?");
    if (!st) return -1;
    sqlite3_bind_int64(st, 1, now_ms + (int64_t)vt * 1000);
    sqlite3_bind_int64(st, 2, r.id);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) return -1;
    tycho_local_notify(res, q->name, now_ms + (int64_t)vt * 1000);
    return 0;
}

/* ---- operations --------------------------------------------------------- */

static void op_create_queue(tycho_local_store_t *s, cJSON *req, int64_t now_ms,
                            tycho_local_result_t *res)
{
    int bad = 0;
    const char *name = get_str(req, "QueueName", res, &bad);
    if (bad) return;
    if (!name) {
        invalid(res,
                "Value for parameter QueueName is invalid. Reason: Must specify a queue name.%s%s",
                NULL, NULL);
        return;
    }
    if (strlen(name) > 5 && strcmp(name + strlen(name) - 5, ".fifo") == 0) {
        tycho_local_error(res, 400, T_UNSUPPORTED, "AWS.SimpleQueueService.UnsupportedOperation",
                          "FIFO queues are not supported by the tycho local backend");
        return;
    }
    if (!valid_queue_name(name)) {
        invalid(res,
                "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in "
                "length%s%s",
                NULL, NULL);
        return;
    }
    cJSON *attrs = default_attrs();
    queue_t q;
    if (!attrs) {
        internal(s, res);
        return;
    }
    if (apply_attributes(s, name, attrs, cJSON_GetObjectItemCaseSensitive(req, "Attributes"),
                         now_ms, res)) {
        cJSON_Delete(attrs);
        return;
    }
    int found = queue_load(s, name, &q, res);
    if (found < 0) {
        cJSON_Delete(attrs);
        return;
    }
    if (found) {
        /* SQS: same name and same attribute values returns the existing
         * queue; any difference is QueueNameExists. */
        const char *diff = NULL;
        for (int i = 0; SETTABLE[i] && !diff; i++) {
            const cJSON *a = cJSON_GetObjectItemCaseSensitive(attrs, SETTABLE[i]);
            const cJSON *b = cJSON_GetObjectItemCaseSensitive(q.attrs, SETTABLE[i]);
            if ((a == NULL) != (b == NULL) || (a && strcmp(a->valuestring, b->valuestring) != 0))
                diff = SETTABLE[i];
        }
        queue_free(&q);
        cJSON_Delete(attrs);
        if (diff) {
            tycho_local_error(
                res, 400, T_QUEUE_EXISTS, "QueueAlreadyExists",
                "A queue already exists with the same name and a different value for attribute %s",
                diff);
            return;
        }
    } else {
        int rc = queue_store(s, name, attrs, now_ms, 1);
        cJSON_Delete(attrs);
        if (rc) {
            internal(s, res);
            return;
        }
    }
    reply_queue_url(s, name, res);
}

static void op_get_queue_url(tycho_local_store_t *s, cJSON *req, int64_t now_ms,
                             tycho_local_result_t *res)
{
    int bad = 0;
    const char *name = get_str(req, "QueueName", res, &bad);
    if (bad) return;
    if (!name || !*name) {
        invalid(res,
                "Value for parameter QueueName is invalid. Reason: Must specify a queue name.%s%s",
                NULL, NULL);
        return;
    }
    queue_t q;
    if (!find_queue(s, name, s->auto_create_queues, now_ms, &q, res)) return;
    reply_queue_url(s, q.name, res);
    queue_free(&q);
}

static int drop_expired(tycho_local_store_t *s, const char *queue, int64_t now_ms)
{
    return queue_exec(s, "DELETE FROM sqs_messages WHERE queue = ?1 AND expires_ms <= ?2", queue,
                      now_ms);
}

static long long count_where(tycho_local_store_t *s, const char *sql, const char *queue,
                             int64_t now_ms)
{
    sqlite3_stmt *st = tycho_local_stmt(s, sql);
    if (!st) return -1;
    sqlite3_bind_text(st, 1, queue, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, now_ms);
    long long n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_reset(st);
    return n;
}

static const char *const READABLE[] = {"ApproximateNumberOfMessages",
                                       "ApproximateNumberOfMessagesNotVisible",
                                       "ApproximateNumberOfMessagesDelayed",
                                       "CreatedTimestamp",
                                       "LastModifiedTimestamp",
                                       "QueueArn",
                                       "VisibilityTimeout",
                                       "MaximumMessageSize",
                                       "MessageRetentionPeriod",
                                       "DelaySeconds",
                                       "ReceiveMessageWaitTimeSeconds",
                                       "RedrivePolicy",
                                       "Policy",
                                       "RedriveAllowPolicy",
                                       "KmsMasterKeyId",
                                       "KmsDataKeyReusePeriodSeconds",
                                       "SqsManagedSseEnabled",
                                       NULL};

static void op_get_queue_attributes(tycho_local_store_t *s, cJSON *req, queue_t *q, int64_t now_ms,
                                    tycho_local_result_t *res)
{
    const cJSON *names = cJSON_GetObjectItemCaseSensitive(req, "AttributeNames");
    cJSON *out = cJSON_CreateObject(), *attrs = NULL;
    int all = 0;
    if (names && !cJSON_IsNull(names)) {
        if (!cJSON_IsArray(names)) {
            type_error(res, names, "a List");
            goto done;
        }
        for (const cJSON *n = names->child; n; n = n->next) {
            if (!cJSON_IsString(n)) {
                type_error(res, n, "a String");
                goto done;
            }
            int known = strcmp(n->valuestring, "All") == 0;
            all |= known;
            for (int i = 0; READABLE[i] && !known; i++)
                known = strcmp(n->valuestring, READABLE[i]) == 0;
            if (!known && (strncmp(n->valuestring, "Fifo", 4) == 0 ||
                           strcmp(n->valuestring, "ContentBasedDeduplication") == 0 ||
                           strcmp(n->valuestring, "DeduplicationScope") == 0))
                known = 1; /* valid names that a standard queue does not have */
            if (!known) {
                tycho_local_error(res, 400, T_INVALID_ATTR, "InvalidAttributeName",
                                  "Unknown Attribute %s.", n->valuestring);
                goto done;
            }
        }
        if (drop_expired(s, q->name, now_ms)) {
            internal(s, res);
            goto done;
        }
        attrs = cJSON_AddObjectToObject(out, "Attributes");
        for (int i = 0; READABLE[i]; i++) {
            const char *k = READABLE[i];
            int want = all;
            for (const cJSON *n = names->child; n && !want; n = n->next)
                want = strcmp(n->valuestring, k) == 0;
            if (!want) continue;
            char buf[300];
            const char *v = NULL;
            long long c = -2;
            if (strcmp(k, "ApproximateNumberOfMessages") == 0)
                c = count_where(
                    s, "SELECT COUNT(*) FROM sqs_messages WHERE queue = ? AND visible_ms <= ?",
                    q->name, now_ms);
            else if (strcmp(k, "ApproximateNumberOfMessagesNotVisible") == 0)
                c = count_where(s,
                                "SELECT COUNT(*) FROM sqs_messages WHERE queue = ? AND visible_ms "
                                "> ? AND receive_count > 0",
                                q->name, now_ms);
            else if (strcmp(k, "ApproximateNumberOfMessagesDelayed") == 0)
                c = count_where(s,
                                "SELECT COUNT(*) FROM sqs_messages WHERE queue = ? AND visible_ms "
                                "> ? AND receive_count = 0",
                                q->name, now_ms);
            else if (strcmp(k, "CreatedTimestamp") == 0 || strcmp(k, "LastModifiedTimestamp") == 0)
                c = count_where(
                    s,
                    k[0] == 'C' ? "SELECT created_s FROM sqs_queues WHERE name = ? AND ?2 = ?2"
                                : "SELECT modified_s FROM sqs_queues WHERE name = ? AND ?2 = ?2",
                    q->name, now_ms);
            else if (strcmp(k, "QueueArn") == 0) {
                queue_arn(s, q->name, buf, sizeof buf);
                v = buf;
            } else if (strcmp(k, "SqsManagedSseEnabled") == 0) {
                const cJSON *a = cJSON_GetObjectItemCaseSensitive(q->attrs, k);
                v = cJSON_IsString(a) ? a->valuestring : "false"; /* nothing is encrypted locally */
            } else {
                const cJSON *a = cJSON_GetObjectItemCaseSensitive(q->attrs, k);
                v = cJSON_IsString(a) ? a->valuestring : NULL;
            }
            if (c == -1) {
                internal(s, res);
                goto done;
            }
            if (c >= 0) {
                snprintf(buf, sizeof buf, "%lld", c);
                v = buf;
            }
            if (v) cJSON_AddStringToObject(attrs, k, v);
        }
    }
    tycho_local_ok(res, out);
done:
    cJSON_Delete(out);
}

static void op_set_queue_attributes(tycho_local_store_t *s, cJSON *req, queue_t *q, int64_t now_ms,
                                    tycho_local_result_t *res)
{
    const cJSON *in = cJSON_GetObjectItemCaseSensitive(req, "Attributes");
    if (!in || !cJSON_IsObject(in) || !in->child) {
        missing(res, "Attribute.Name");
    } else if (!apply_attributes(s, q->name, q->attrs, in, now_ms, res)) {
        if (queue_store(s, q->name, q->attrs, now_ms, 0))
            internal(s, res);
        else
            reply_empty(res);
    }
}

static void op_delete_queue(tycho_local_store_t *s, cJSON *req, int64_t now_ms,
                            tycho_local_result_t *res)
{
    queue_t q;
    if (!request_queue(s, req, 0, now_ms, &q, res)) return; /* never auto-created */
    if (queue_exec(s, "DELETE FROM sqs_messages WHERE queue = ?1", q.name, now_ms) ||
        queue_exec(s, "DELETE FROM sqs_queues WHERE name = ?1", q.name, now_ms))
        internal(s, res);
    else
        reply_empty(res);
    queue_free(&q);
}

static void op_send_message(tycho_local_store_t *s, cJSON *req, queue_t *q, int64_t now_ms,
                            tycho_local_result_t *res)
{
    send_in_t in;
    const char *code, *type;
    char msg[512];
    if (check_message(q, req, &in, &code, &type, msg, sizeof msg)) {
        tycho_local_error(res, 400, type, code, "%s", msg);
    } else {
        cJSON *out = cJSON_CreateObject();
        if (out && !store_message(s, q, &in, now_ms, out, res))
            tycho_local_ok(res, out);
        else if (!res->body)
            internal(s, res);
        cJSON_Delete(out);
    }
}

static int valid_batch_id(const cJSON *id)
{
    if (!cJSON_IsString(id)) return 0;
    size_t n = strlen(id->valuestring);
    if (n < 1 || n > 80) return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)id->valuestring[i]) && id->valuestring[i] != '-' &&
            id->valuestring[i] != '_')
            return 0;
    return 1;
}

/* Common checks of a batch request, in local-aws-sqs's order (which is
 * SQS's): Entries present, 1 to 10 of them, each with an Id (missing:
 * "<what>.<n>.Id", the parameter's name in the SQS API reference) that is
 * a string of the allowed characters; only then are the Ids compared, and
 * the first entry whose Id comes again is named. what is the entry type
 * ("SendMessageBatchRequestEntry"). Returns the Entries array or NULL with
 * the error set. */
static const cJSON *batch_entries(const cJSON *req, const char *what, tycho_local_result_t *res)
{
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(req, "Entries");
    if (!e || cJSON_IsNull(e)) {
        missing(res, "Entries");
        return NULL;
    }
    if (!cJSON_IsArray(e)) {
        type_error(res, e, "a List");
        return NULL;
    }
    int n = cJSON_GetArraySize(e);
    if (n == 0) {
        tycho_local_error(res, 400, "com.amazonaws.sqs#EmptyBatchRequest",
                          "AWS.SimpleQueueService.EmptyBatchRequest",
                          "There should be at least one %s in the request.", what);
        return NULL;
    }
    if (n > 10) {
        tycho_local_error(res, 400, "com.amazonaws.sqs#TooManyEntriesInBatchRequest",
                          "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
                          "Maximum number of entries per request are 10. You have sent %d.", n);
        return NULL;
    }
    int i = 1;
    for (const cJSON *x = e->child; x; x = x->next, i++) {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(x, "Id");
        if (!cJSON_IsObject(x) || !id || cJSON_IsNull(id)) {
            tycho_local_error(res, 400, T_MISSING_PARAM, "MissingParameter",
                              "The request must contain the parameter %s.%d.Id.", what, i);
            return NULL;
        }
        if (cJSON_IsArray(id) || cJSON_IsObject(id)) {
            type_error(res, id, "a String");
            return NULL;
        }
        if (!valid_batch_id(id)) {
            tycho_local_error(res, 400, "com.amazonaws.sqs#InvalidBatchEntryId",
                              "AWS.SimpleQueueService.InvalidBatchEntryId",
                              "A batch entry id can only contain alphanumeric characters, hyphens "
                              "and underscores. It can be at most 80 letters long.");
            return NULL;
        }
    }
    for (const cJSON *x = e->child; x; x = x->next) {
        const char *id = cJSON_GetObjectItemCaseSensitive(x, "Id")->valuestring;
        for (const cJSON *y = x->next; y; y = y->next)
            if (strcmp(cJSON_GetObjectItemCaseSensitive(y, "Id")->valuestring, id) == 0) {
                tycho_local_error(res, 400, "com.amazonaws.sqs#BatchEntryIdsNotDistinct",
                                  "AWS.SimpleQueueService.BatchEntryIdsNotDistinct",
                                  "Id %s repeated.", id);
                return NULL;
            }
    }
    return e;
}

static void add_failed(cJSON *failed, const char *id, const char *code, const char *msg)
{
    cJSON *f = cJSON_CreateObject();
    cJSON_AddStringToObject(f, "Id", id);
    cJSON_AddBoolToObject(f, "SenderFault", 1);
    cJSON_AddStringToObject(f, "Code", code);
    cJSON_AddStringToObject(f, "Message", msg);
    cJSON_AddItemToArray(failed, f);
}

/* The bytes a SendMessageBatch counts against its 1 MiB limit: bodies,
 * attribute names and their string fields. */
static size_t batch_size(const cJSON *entries)
{
    size_t total = 0;
    for (const cJSON *x = entries->child; x; x = x->next) {
        const cJSON *b = cJSON_GetObjectItemCaseSensitive(x, "MessageBody");
        if (cJSON_IsString(b)) total += strlen(b->valuestring);
        const cJSON *a = cJSON_GetObjectItemCaseSensitive(x, "MessageAttributes");
        for (const cJSON *c = cJSON_IsObject(a) ? a->child : NULL; c; c = c->next) {
            total += strlen(c->string);
            for (const cJSON *f = c->child; f; f = f->next)
                if (cJSON_IsString(f)) total += strlen(f->valuestring);
        }
    }
    return total;
}

/* A new entry of a batch's Successful list: {"Id": id}. */
static cJSON *entry_result(const char *id)
{
    cJSON *e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "Id", id);
    return e;
}

static void op_send_message_batch(tycho_local_store_t *s, cJSON *req, queue_t *q, int64_t now_ms,
                                  tycho_local_result_t *res)
{
    const cJSON *entries = batch_entries(req, "SendMessageBatchRequestEntry", res);
    if (!entries) return;
    size_t total = batch_size(entries);
    if (total > MAX_MESSAGE_SIZE) {
        tycho_local_error(
            res, 400, "com.amazonaws.sqs#BatchRequestTooLong",
            "AWS.SimpleQueueService.BatchRequestTooLong",
            "Batch requests cannot be longer than 1048576 bytes. You have sent %zu bytes.", total);
        return;
    }
    cJSON *out = cJSON_CreateObject();
    cJSON *ok = cJSON_AddArrayToObject(out, "Successful");
    cJSON *failed = cJSON_AddArrayToObject(out, "Failed");
    for (const cJSON *x = entries->child; x; x = x->next) {
        const char *id = cJSON_GetObjectItemCaseSensitive(x, "Id")->valuestring;
        send_in_t in;
        const char *code, *type;
        char msg[512];
        if (check_message(q, x, &in, &code, &type, msg, sizeof msg)) {
            add_failed(failed, id, code, msg);
            continue;
        }
        cJSON *e = entry_result(id);
        if (store_message(s, q, &in, now_ms, e, res)) {
            cJSON_Delete(e);
            if (!res->body) internal(s, res);
            goto done;
        }
        cJSON_AddItemToArray(ok, e);
    }
    tycho_local_ok(res, out);
done:
    cJSON_Delete(out);
}

static const char *const SYS_NAMES[] = {"SenderId",
                                        "SentTimestamp",
                                        "ApproximateReceiveCount",
                                        "ApproximateFirstReceiveTimestamp",
                                        "AWSTraceHeader",
                                        "DeadLetterQueueSourceArn",
                                        "MessageGroupId",
                                        "SequenceNumber",
                                        "MessageDeduplicationId",
                                        NULL};

/* Collects requested system attribute names into a bit set; -1 on error. */
static int sys_wanted(const cJSON *req, unsigned *mask, tycho_local_result_t *res)
{
    *mask = 0;
    const char *members[] = {"AttributeNames", "MessageSystemAttributeNames"};
    for (int m = 0; m < 2; m++) {
        const cJSON *l = cJSON_GetObjectItemCaseSensitive(req, members[m]);
        if (!l || cJSON_IsNull(l)) continue;
        if (!cJSON_IsArray(l)) {
            type_error(res, l, "a List");
            return -1;
        }
        for (const cJSON *n = l->child; n; n = n->next) {
            if (!cJSON_IsString(n)) {
                type_error(res, n, "a String");
                return -1;
            }
            if (strcmp(n->valuestring, "All") == 0) {
                *mask = ~0u;
                continue;
            }
            int found = 0;
            for (int i = 0; SYS_NAMES[i]; i++)
                if (strcmp(n->valuestring, SYS_NAMES[i]) == 0) {
                    *mask |= 1u << i;
                    found = 1;
                }
            /* Queue attribute names are accepted here too (the old API
             * shared one enum); they simply select nothing. */
            for (int i = 0; READABLE[i] && !found; i++)
                found = strcmp(n->valuestring, READABLE[i]) == 0;
            if (!found) {
                tycho_local_error(res, 400, T_INVALID_ATTR, "InvalidAttributeName",
                                  "Unknown Attribute %s.", n->valuestring);
                return -1;
            }
        }
    }
    return 0;
}

static int attr_name_wanted(const cJSON *names, const char *name)
{
    for (const cJSON *n = names ? names->child : NULL; n; n = n->next) {
        if (!cJSON_IsString(n)) continue;
        const char *w = n->valuestring;
        size_t wl = strlen(w);
        if (strcmp(w, "All") == 0 || strcmp(w, ".*") == 0 || strcmp(w, name) == 0) return 1;
        /* "prefix.*" selects names starting with prefix (as local-aws-sqs
         * does; SQS documents "bar.*" as "starting with the prefix bar"). */
        if (wl >= 2 && strcmp(w + wl - 2, ".*") == 0 && strncmp(name, w, wl - 2) == 0) return 1;
    }
    return 0;
}

static void op_receive_message(tycho_local_store_t *s, cJSON *req, queue_t *q, int64_t now_ms,
                               tycho_local_result_t *res)
{
    cJSON *out = NULL;
    queue_t dlq;
    memset(&dlq, 0, sizeof dlq);
    long max = 1, wait = q->wait, vt = q->visibility;
    if (get_int_in(req, "MaxNumberOfMessages", 1, 10, "Must be between 1 and 10, if provided.",
                   &max, res) < 0 ||
        get_int_in(req, "WaitTimeSeconds", 0, 20, "Must be >= 0 and <= 20, if provided.", &wait,
                   res) < 0 ||
        get_int_in(req, "VisibilityTimeout", 0, 43200, "Must be >= 0 and <= 43200, if provided.",
                   &vt, res) < 0)
        goto done;
    unsigned mask;
    if (sys_wanted(req, &mask, res)) goto done;
    const cJSON *mnames = cJSON_GetObjectItemCaseSensitive(req, "MessageAttributeNames");
    if (mnames && !cJSON_IsNull(mnames) && !cJSON_IsArray(mnames)) {
        type_error(res, mnames, "a List");
        goto done;
    }
    if (drop_expired(s, q->name, now_ms)) {
        internal(s, res);
        goto done;
    }
    int have_dlq = 0;
    if (q->max_receive > 0 && q->dlq[0]) {
        have_dlq = queue_load(s, q->dlq, &dlq, res);
        if (have_dlq < 0) goto done;
    }
    out = cJSON_CreateObject();
    cJSON *msgs = NULL;
    sqlite3_int64 after = 0;
    int got = 0;
    char src_arn[300];
    queue_arn(s, q->name, src_arn, sizeof src_arn);
    while (got < max) {
        sqlite3_stmt *st = tycho_local_stmt(
            s, "SELECT id, message_id, body, md5_body, attrs, trace_header, group_id, dlq_source, "
               "sent_ms,"
               " receive_count, first_receive_ms, expires_ms FROM sqs_messages"
               " WHERE queue = ?1 AND visible_ms <= ?2 AND id > ?3 ORDER BY id LIMIT 1");
        if (!st) {
            internal(s, res);
            goto done;
        }
        sqlite3_bind_text(st, 1, q->name, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, now_ms);
        sqlite3_bind_int64(st, 3, after);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_DONE) {
            sqlite3_reset(st);
            break;
        }
        if (rc != SQLITE_ROW) {
            internal(s, res);
            goto done;
        }
        sqlite3_int64 id = sqlite3_column_int64(st, 0);
        int count = sqlite3_column_int(st, 9);
        after = id;
        if (have_dlq > 0 && count >= q->max_receive) {
            /* Redrive: the receive that would exceed maxReceiveCount moves
             * the message to the dead-letter queue instead (§7 "Redrive"). */
            sqlite3_int64 sent = sqlite3_column_int64(st, 8);
            sqlite3_reset(st);
            sqlite3_stmt *mv = tycho_local_stmt(
                s, "UPDATE sqs_messages SET queue = ?1, receive_count = 0, first_receive_ms = 0, "
                   "receipt = NULL, received_ms = 0,"
                   " visible_ms = ?2, dlq_source = ?3, expires_ms = ?4 WHERE id = ?5");
            if (!mv) {
                internal(s, res);
                goto done;
            }
            sqlite3_bind_text(mv, 1, dlq.name, -1, SQLITE_STATIC);
            sqlite3_bind_int64(mv, 2, now_ms);
            sqlite3_bind_text(mv, 3, src_arn, -1, SQLITE_STATIC);
            sqlite3_bind_int64(mv, 4, sent + (int64_t)dlq.retention * 1000);
            sqlite3_bind_int64(mv, 5, id);
            rc = sqlite3_step(mv);
            sqlite3_reset(mv);
            if (rc != SQLITE_DONE) {
                internal(s, res);
                goto done;
            }
            tycho_local_notify(res, dlq.name, now_ms);
            continue;
        }
        cJSON *m = cJSON_CreateObject();
        if (!msgs) msgs = cJSON_AddArrayToObject(out, "Messages");
        cJSON_AddItemToArray(msgs, m);
        cJSON_AddStringToObject(m, "MessageId", (const char *)sqlite3_column_text(st, 1));
        char token[33];
        tycho_buf_t h = TYCHO_BUF_INIT;
        if (make_receipt(q->name, id, token, &h)) {
            tycho_buf_free(&h);
            sqlite3_reset(st);
            internal(s, res);
            goto done;
        }
        cJSON_AddStringToObject(m, "ReceiptHandle", h.data);
        tycho_buf_free(&h);
        cJSON_AddStringToObject(m, "MD5OfBody", (const char *)sqlite3_column_text(st, 3));
        cJSON_AddStringToObject(m, "Body", (const char *)sqlite3_column_text(st, 2));
        int64_t first = sqlite3_column_int64(st, 10);
        if (first == 0) first = now_ms;
        if (mask) {
            cJSON *a = cJSON_CreateObject();
            char b[32];
            for (int i = 0; SYS_NAMES[i]; i++) {
                if (!(mask & (1u << i))) continue;
                const char *v = NULL;
                switch (i) {
                case 0:
                    v = s->account;
                    break;
                case 1:
                    snprintf(b, sizeof b, "%lld", (long long)sqlite3_column_int64(st, 8));
                    v = b;
                    break;
                case 2:
                    snprintf(b, sizeof b, "%d", count + 1);
                    v = b;
                    break;
                case 3:
                    snprintf(b, sizeof b, "%lld", (long long)first);
                    v = b;
                    break;
                case 4:
                    v = (const char *)sqlite3_column_text(st, 5);
                    break;
                case 5:
                    v = (const char *)sqlite3_column_text(st, 7);
                    break;
                case 6:
                    v = (const char *)sqlite3_column_text(st, 6);
                    break;
                default:
                    break;
                }
                if (v) cJSON_AddStringToObject(a, SYS_NAMES[i], v);
            }
            if (a->child)
                cJSON_AddItemToObject(m, "Attributes", a);
            else
                cJSON_Delete(a);
        }
        const char *attrs_json = (const char *)sqlite3_column_text(st, 4);
        if (attrs_json && mnames && cJSON_IsArray(mnames)) {
            cJSON *all = cJSON_Parse(attrs_json), *sel = cJSON_CreateObject();
            for (cJSON *c = all ? all->child : NULL; c; c = c->next)
                if (attr_name_wanted(mnames, c->string))
                    cJSON_AddItemToObject(sel, c->string, cJSON_Duplicate(c, 1));
            char md5[33];
            if (sel->child && !tycho_local_sqs_md5_attributes(sel, md5)) {
                cJSON_AddStringToObject(m, "MD5OfMessageAttributes", md5);
                cJSON_AddItemToObject(m, "MessageAttributes", sel);
            } else {
                cJSON_Delete(sel);
            }
            cJSON_Delete(all);
        }
        sqlite3_reset(st);
        sqlite3_stmt *up = tycho_local_stmt(
            s, "UPDATE sqs_messages SET receive_count = receive_count + 1,"
               " first_receive_ms = ?1, visible_ms = ?2, receipt = ?3, received_ms = ?5"
               " WHERE id = ?4");
        if (!up) {
            internal(s, res);
            goto done;
        }
        sqlite3_bind_int64(up, 1, first);
        sqlite3_bind_int64(up, 2, now_ms + (int64_t)vt * 1000);
        sqlite3_bind_text(up, 3, token, -1, SQLITE_STATIC);
        sqlite3_bind_int64(up, 4, id);
        sqlite3_bind_int64(up, 5, now_ms);
        rc = sqlite3_step(up);
        sqlite3_reset(up);
        if (rc != SQLITE_DONE) {
            internal(s, res);
            goto done;
        }
        tycho_local_notify(res, q->name, now_ms + (int64_t)vt * 1000);
        got++;
    }
    tycho_local_ok(res, out);
    if (got == 0 && wait > 0 && res->status == 200) {
        res->wait_ms = (int64_t)wait * 1000;
        snprintf(res->wait_queue, sizeof res->wait_queue, "%s", q->name);
        long long next = count_where(s,
                                     "SELECT COALESCE(MIN(visible_ms), 0) FROM sqs_messages WHERE "
                                     "queue = ? AND visible_ms > ?",
                                     q->name, now_ms);
        res->next_ready_ms = next > 0 ? next : 0;
    }
done:
    queue_free(&dlq);
    cJSON_Delete(out);
}

/* The request's ReceiptHandle, or NULL with the error set. */
static const char *request_handle(const cJSON *req, tycho_local_result_t *res)
{
    int bad = 0;
    const char *h = get_str(req, "ReceiptHandle", res, &bad);
    if (bad) return NULL;
    if (!h || !*h) {
        missing(res, "ReceiptHandle");
        return NULL;
    }
    return h;
}

/* Answers DeleteMessage / ChangeMessageVisibility from the outcome of its
 * handle: rc 0 done, 1 client error e, -1 store error. */
static void reply_handle(tycho_local_store_t *s, int rc, const handle_error_t *e,
                         tycho_local_result_t *res)
{
    if (rc < 0)
        internal(s, res);
    else if (rc > 0)
        tycho_local_error(res, 400, e->type, e->code, "%s", e->msg);
    else
        reply_empty(res);
}

/* One entry of DeleteMessageBatch / ChangeMessageVisibilityBatch, whose
 * ReceiptHandle is h: 0 done, 1 failed (e set), -1 store error. */
typedef int (*handle_entry_fn)(tycho_local_store_t *s, const queue_t *q, const cJSON *entry,
                               const char *h, int64_t now_ms, handle_error_t *e,
                               tycho_local_result_t *res);

/* Runs fn on each entry of a receipt-handle batch and answers Successful and
 * Failed, or the first store error. */
static void handle_batch(tycho_local_store_t *s, const cJSON *req, const queue_t *q,
                         const char *what, handle_entry_fn fn, int64_t now_ms,
                         tycho_local_result_t *res)
{
    const cJSON *entries = batch_entries(req, what, res);
    if (!entries) return;
    cJSON *out = cJSON_CreateObject();
    cJSON *ok = cJSON_AddArrayToObject(out, "Successful");
    cJSON *failed = cJSON_AddArrayToObject(out, "Failed");
    int rc = 0;
    for (const cJSON *x = entries->child; x && rc >= 0; x = x->next) {
        const char *id = cJSON_GetObjectItemCaseSensitive(x, "Id")->valuestring;
        const cJSON *h = cJSON_GetObjectItemCaseSensitive(x, "ReceiptHandle");
        handle_error_t e;
        if (!cJSON_IsString(h) || !h->valuestring[0]) {
            add_failed(failed, id, "MissingParameter",
                       "The request must contain the parameter ReceiptHandle.");
            continue;
        }
        rc = fn(s, q, x, h->valuestring, now_ms, &e, res);
        if (rc > 0)
            add_failed(failed, id, e.code, e.msg);
        else if (rc == 0)
            cJSON_AddItemToArray(ok, entry_result(id));
    }
    if (rc < 0)
        internal(s, res);
    else
        tycho_local_ok(res, out);
    cJSON_Delete(out);
}

static void op_delete_message(tycho_local_store_t *s, cJSON *req, queue_t *q, int64_t now_ms,
                              tycho_local_result_t *res)
{
    (void)now_ms;
    handle_error_t e;
    const char *h = request_handle(req, res);
    if (h) reply_handle(s, delete_by_handle(s, q, h, &e), &e, res);
}

static int delete_entry(tycho_local_store_t *s, const queue_t *q, const cJSON *entry, const char *h,
                        int64_t now_ms, handle_error_t *e, tycho_local_result_t *res)
{
    (void)entry;
    (void)now_ms;
    (void)res;
    return delete_by_handle(s, q, h, e);
}

static void op_delete_message_batch(tycho_local_store_t *s, cJSON *req, queue_t *q, int64_t now_ms,
                                    tycho_local_result_t *res)
{
    handle_batch(s, req, q, "DeleteMessageBatchRequestEntry", delete_entry, now_ms, res);
}

static void op_change_visibility(tycho_local_store_t *s, cJSON *req, queue_t *q, int64_t now_ms,
                                 tycho_local_result_t *res)
{
    handle_error_t e;
    long vt = 0;
    const char *h = request_handle(req, res);
    int r =
        h ? get_int_in(req, "VisibilityTimeout", 0, 43200, "Must be between 0 and 43200.", &vt, res)
          : -1;
    if (r == 0)
        missing(res, "VisibilityTimeout");
    else if (r > 0)
        reply_handle(s, change_visibility(s, q, h, vt, now_ms, &e, res), &e, res);
}

static int visibility_entry(tycho_local_store_t *s, const queue_t *q, const cJSON *entry,
                            const char *h, int64_t now_ms, handle_error_t *e,
                            tycho_local_result_t *res)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(entry, "VisibilityTimeout");
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) || v->valuedouble < 0 ||
        v->valuedouble > 43200) {
        e->type = T_INVALID_PARAM;
        e->code = "InvalidParameterValue";
        snprintf(e->msg, sizeof e->msg,
                 "Value for parameter VisibilityTimeout is invalid. Reason: VisibilityTimeout "
                 "must be an integer between 0 and 43200.");
        return 1;
    }
    return change_visibility(s, q, h, (long)v->valuedouble, now_ms, e, res);
}

static void op_change_visibility_batch(tycho_local_store_t *s, cJSON *req, queue_t *q,
                                       int64_t now_ms, tycho_local_result_t *res)
{
    handle_batch(s, req, q, "ChangeMessageVisibilityBatchRequestEntry", visibility_entry, now_ms,
                 res);
}

static void op_purge_queue(tycho_local_store_t *s, cJSON *req, queue_t *q, int64_t now_ms,
                           tycho_local_result_t *res)
{
    (void)req;
    /* SQS allows one purge per queue every 60 seconds. */
    long long last = count_where(s, "SELECT purged_ms FROM sqs_queues WHERE name = ? AND ?2 = ?2",
                                 q->name, now_ms);
    if (last < 0) {
        internal(s, res);
    } else if (last > 0 && now_ms - last < 60000) {
        tycho_local_error(res, 403, T_PURGE, "AWS.SimpleQueueService.PurgeQueueInProgress",
                          "Only one PurgeQueue operation on %s is allowed every 60 seconds.",
                          q->name);
    } else {
        if (queue_exec(s, "DELETE FROM sqs_messages WHERE queue = ?1", q->name, now_ms) ||
            queue_exec(s, "UPDATE sqs_queues SET purged_ms = ?2 WHERE name = ?1", q->name, now_ms))
            internal(s, res);
        else
            reply_empty(res);
    }
}

static void op_list_queues(tycho_local_store_t *s, cJSON *req, int64_t now_ms,
                           tycho_local_result_t *res)
{
    (void)now_ms;
    int bad = 0, r;
    long max = 0;
    const char *prefix = get_str(req, "QueueNamePrefix", res, &bad);
    const char *token = bad ? NULL : get_str(req, "NextToken", res, &bad);
    if (bad || (r = get_int(req, "MaxResults", &max, res)) < 0) return;
    if (r && (max < 1 || max > 1000)) {
        invalid(res,
                "Value for parameter MaxResults is invalid. Reason: MaxResults must be an integer "
                "between 1 and 1000.%s%s",
                NULL, NULL);
        return;
    }
    if (token && !r) {
        invalid(res,
                "MaxResults is a mandatory parameter when you provide a value for NextToken.%s%s",
                NULL, NULL);
        return;
    }
    char after[81] = "";
    if (token) {
        unsigned char *raw;
        size_t n;
        if (tycho_b64_decode(token, strlen(token), &raw, &n, NULL) || n > 80) {
            free(raw);
            invalid(res, "Invalid NextToken value.%s%s", NULL, NULL);
            return;
        }
        memcpy(after, raw, n);
        after[n] = '\0';
        free(raw);
    }
    long limit = r ? max : 1000;
    sqlite3_stmt *st = tycho_local_stmt(
        s, "SELECT name FROM sqs_queues WHERE name > ?1 AND substr(name, 1, length(?2)) = ?2"
           " ORDER BY name LIMIT ?3");
    if (!st) {
        internal(s, res);
        return;
    }
    sqlite3_bind_text(st, 1, after, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, prefix ? prefix : "", -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, limit + 1);
    cJSON *out = cJSON_CreateObject();
    cJSON *urls = cJSON_AddArrayToObject(out, "QueueUrls");
    long n = 0;
    char last[81] = "";
    int more = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(st, 0);
        if (n == limit) {
            more = 1;
            break;
        }
        char url[256];
        queue_url(s, name, url, sizeof url);
        cJSON_AddItemToArray(urls, cJSON_CreateString(url));
        snprintf(last, sizeof last, "%s", name);
        n++;
    }
    sqlite3_reset(st);
    if (more && r) {
        tycho_buf_t t = TYCHO_BUF_INIT;
        tycho_b64_encode(&t, (const unsigned char *)last, strlen(last));
        cJSON_AddStringToObject(out, "NextToken", t.data ? t.data : "");
        tycho_buf_free(&t);
    }
    tycho_local_ok(res, out);
    cJSON_Delete(out);
}

typedef void (*sqs_op_fn)(tycho_local_store_t *, cJSON *, int64_t, tycho_local_result_t *);
/* An operation on the queue its QueueUrl names: tycho_local_sqs_exec loads
 * it (creating it when auto-creation is on) and frees it. */
typedef void (*sqs_queue_op_fn)(tycho_local_store_t *, cJSON *, queue_t *, int64_t,
                                tycho_local_result_t *);

/* ---- NUL characters ----------------------------------------------------- */

static int named(const cJSON *v, const char *name)
{
    return v->string && strcmp(v->string, name) == 0;
}

/* Whether chain[0..depth] (a parameter, then the keys or array elements down
 * to a string) is where SendMessage's checks report a bad character
 * themselves: the body (InvalidMessageContents) or an attribute's
 * StringValue (InvalidParameterValue naming the attribute). */
static int message_place(const cJSON *const *chain, int depth)
{
    if (depth == 0) return named(chain[0], "MessageBody");
    return depth == 2 &&
           (named(chain[0], "MessageAttributes") || named(chain[0], "MessageSystemAttributes")) &&
           named(chain[2], "StringValue");
}

static int checked_place(const char *op, const cJSON *const *chain, int depth)
{
    if (strcmp(op, "SendMessage") == 0) return message_place(chain, depth);
    return strcmp(op, "SendMessageBatch") == 0 && depth >= 2 && named(chain[0], "Entries") &&
           cJSON_IsArray(chain[0]) && message_place(chain + 2, depth - 2);
}

#define NUL_DEPTH 8 /* deeper than any checked place */

typedef struct nul_walk {
    const char *op;
    const cJSON *chain[NUL_DEPTH];
    char path[256]; /* "Entries.1.Id": the parameter named in the error */
} nul_walk_t;

/* Finds a TYCHO_LOCAL_NUL_MARK in v (at depth, -1 for the request itself;
 * its path is w->path[0..plen)) that no per-field check reports: 1 with
 * the error set, else 0. */
static int nul_misplaced(nul_walk_t *w, const cJSON *v, int depth, size_t plen,
                         tycho_local_result_t *res)
{
    if (depth >= 0 && depth < NUL_DEPTH) w->chain[depth] = v;
    if (cJSON_IsString(v) && strstr(v->valuestring, TYCHO_LOCAL_NUL_MARK) &&
        !(depth < NUL_DEPTH && checked_place(w->op, w->chain, depth))) {
        invalid(res,
                "Value for parameter %s is invalid. Reason: Invalid binary character '#x0' was "
                "found, the set of allowed characters is %s",
                w->path, ALLOWED_CHARS);
        return 1;
    }
    int i = 1;
    for (const cJSON *c = v->child; c; c = c->next, i++) {
        if (c->string && strstr(c->string, TYCHO_LOCAL_NUL_MARK)) {
            invalid(res, "Invalid binary character '#x0' was found in a name in %s%s",
                    depth >= 0 ? "parameter " : "the request", w->path);
            return 1;
        }
        const char *sep = depth >= 0 ? "." : "";
        int n = c->string ? snprintf(w->path + plen, sizeof w->path - plen, "%s%s", sep, c->string)
                          : snprintf(w->path + plen, sizeof w->path - plen, "%s%d", sep, i);
        size_t clen = n < 0 ? plen : plen + (size_t)n;
        if (clen >= sizeof w->path) clen = sizeof w->path - 1; /* cut, still named */
        if (nul_misplaced(w, c, depth + 1, clen, res)) return 1;
        w->path[plen] = '\0';
    }
    return 0;
}

static void run_queue_op(tycho_local_store_t *s, sqs_queue_op_fn fn, cJSON *req, int64_t now_ms,
                         tycho_local_result_t *res)
{
    queue_t q;
    if (!request_queue(s, req, s->auto_create_queues, now_ms, &q, res)) return;
    fn(s, req, &q, now_ms, res);
    queue_free(&q);
}

void tycho_local_sqs_exec(tycho_local_store_t *s, const char *op, cJSON *req, int marked_nul,
                          int64_t now_ms, tycho_local_result_t *res)
{
    static const struct {
        const char *name;
        sqs_op_fn fn;             /* or: */
        sqs_queue_op_fn queue_fn; /* an operation on the queue of its QueueUrl */
    } ops[] = {{"CreateQueue", op_create_queue, NULL},
               {"GetQueueUrl", op_get_queue_url, NULL},
               {"GetQueueAttributes", NULL, op_get_queue_attributes},
               {"SetQueueAttributes", NULL, op_set_queue_attributes},
               {"DeleteQueue", op_delete_queue, NULL},
               {"ListQueues", op_list_queues, NULL},
               {"SendMessage", NULL, op_send_message},
               {"SendMessageBatch", NULL, op_send_message_batch},
               {"ReceiveMessage", NULL, op_receive_message},
               {"DeleteMessage", NULL, op_delete_message},
               {"DeleteMessageBatch", NULL, op_delete_message_batch},
               {"ChangeMessageVisibility", NULL, op_change_visibility},
               {"ChangeMessageVisibilityBatch", NULL, op_change_visibility_batch},
               {"PurgeQueue", NULL, op_purge_queue}};
    static const char *const unsupported[] = {"AddPermission",
                                              "RemovePermission",
                                              "TagQueue",
                                              "UntagQueue",
                                              "ListQueueTags",
                                              "ListDeadLetterSourceQueues",
                                              "StartMessageMoveTask",
                                              "CancelMessageMoveTask",
                                              "ListMessageMoveTasks",
                                              NULL};
    nul_walk_t w = {.op = op};
    if (marked_nul && nul_misplaced(&w, req, -1, 0, res)) return;
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        if (strcmp(op, ops[i].name) == 0) {
            if (ops[i].fn)
                ops[i].fn(s, req, now_ms, res);
            else
                run_queue_op(s, ops[i].queue_fn, req, now_ms, res);
            if (!res->body)
                tycho_local_error(res, 500, LT_SQS_INTERNAL, "InternalFailure",
                                  "local store: out of memory");
            return;
        }
    for (int i = 0; unsupported[i]; i++)
        if (strcmp(op, unsupported[i]) == 0) {
            tycho_local_error(res, 400, T_UNSUPPORTED,
                              "AWS.SimpleQueueService.UnsupportedOperation",
                              "%s is not supported by the tycho local backend", op);
            return;
        }
    tycho_local_error(res, 400, LT_UNKNOWN_OP, NULL, "Unknown operation AmazonSQS.%s", op);
}

/* ---- configuration ------------------------------------------------------ */

/* One entry of TYCHO_LOCAL_QUEUES, checked: queue := name (':' key '=' value)*
 * with the keys of INT_ATTRS, dlq and max_receive. */
typedef struct queue_conf {
    const char *name, *dlq, *max_receive;
    cJSON *attrs; /* the attributes the keys set, as CreateQueue takes them */
} queue_conf_t;

/* key=value of queue q must be a whole number in lo..hi. 0, or -1 with err
 * ("queue q: visibility=99999: out of range (0-43200 seconds)"). */
static int conf_number(const char *q, const char *k, const char *v, long lo, long hi,
                       const char *unit, char *err, size_t errlen)
{
    long n;
    if (parse_uint_str(v, &n) == 0 && n >= lo && n <= hi) return 0;
    int digits = *v && strspn(v, "0123456789") == strlen(v);
    snprintf(err, errlen, "queue %s: %s=%s: %s (%ld-%ld %s)", q, k, v,
             digits ? "out of range" : "not a whole number", lo, hi, unit);
    return -1;
}

/* Reads one key=value into c. 0, or -1 with err. */
static int queue_conf_option(queue_conf_t *c, const char *k, const char *v, char *err,
                             size_t errlen)
{
    for (size_t i = 0; i < sizeof INT_ATTRS / sizeof INT_ATTRS[0]; i++) {
        const struct int_attr *a = &INT_ATTRS[i];
        if (!a->key || strcmp(k, a->key) != 0) continue;
        if (conf_number(c->name, k, v, a->lo, a->hi, a->unit, err, errlen)) return -1;
        cJSON_AddStringToObject(c->attrs, a->name, v);
        return 0;
    }
    if (strcmp(k, "max_receive") == 0) {
        c->max_receive = v;
        return conf_number(c->name, k, v, MAX_RECEIVE_LO, MAX_RECEIVE_HI, "receives", err, errlen);
    }
    if (strcmp(k, "dlq") == 0) {
        c->dlq = v;
        if (valid_queue_name(v)) return 0;
        snprintf(err, errlen, "queue %s: dlq=%s: not a queue name (1-80 of A-Z a-z 0-9 - _)",
                 c->name, v);
        return -1;
    }
    snprintf(err, errlen,
             "queue %s: %s=%s: unknown key (visibility, delay, retention, wait, max_size, dlq, "
             "max_receive)",
             c->name, k, v);
    return -1;
}

/* Checks entry e into c; c->attrs is the caller's to delete, even on error.
 * 0, or -1 with err. */
static int queue_conf_parse(const tycho_local_spec_entry_t *e, queue_conf_t *c, char *err,
                            size_t errlen)
{
    memset(c, 0, sizeof *c);
    c->name = e->name;
    c->max_receive = "3";
    if (!valid_queue_name(e->name)) {
        snprintf(err, errlen, "invalid queue name \"%s\" (1-80 of A-Z a-z 0-9 - _)", e->name);
        return -1;
    }
    c->attrs = cJSON_CreateObject();
    if (!c->attrs) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    const char *max_receive = NULL; /* as written */
    for (int i = 0; i < e->nopts; i++) {
        if (queue_conf_option(c, e->opts[i].key, e->opts[i].value, err, errlen)) return -1;
        if (strcmp(e->opts[i].key, "max_receive") == 0) max_receive = e->opts[i].value;
    }
    /* maxReceiveCount is part of a RedrivePolicy, which SQS accepts only
     * with its deadLetterTargetArn: there is no count without a target. */
    if (max_receive && !c->dlq) {
        snprintf(err, errlen,
                 "queue %s: max_receive=%s needs dlq=<queue> (the dead-letter queue messages "
                 "move to after max_receive receives; without dlq, no message ever moves)",
                 c->name, max_receive);
        return -1;
    }
    return 0;
}

/* Creates c's dead-letter queue if missing and adds the RedrivePolicy to
 * c->attrs. 0, or -1 with err. */
static int queue_conf_dlq(tycho_local_store_t *s, const queue_conf_t *c, int64_t now_ms, char *err,
                          size_t errlen)
{
    queue_t d;
    tycho_local_result_t tmp;
    memset(&tmp, 0, sizeof tmp);
    int f = queue_load(s, c->dlq, &d, &tmp);
    queue_free(&d);
    tycho_local_result_free(&tmp);
    if (f < 0 || (!f && create_plain_queue(s, c->dlq, now_ms))) {
        snprintf(err, errlen, "queue %s: cannot create dlq %s: %s", c->name, c->dlq,
                 sqlite3_errmsg(s->db));
        return -1;
    }
    char policy[512];
    snprintf(policy, sizeof policy,
             "{\"deadLetterTargetArn\":\"arn:aws:sqs:%s:%s:%s\",\"maxReceiveCount\":\"%s\"}",
             s->region, s->account, c->dlq, c->max_receive);
    cJSON_AddStringToObject(c->attrs, "RedrivePolicy", policy);
    return 0;
}

/* Creates queue c, or (re)applies its attributes to the queue of that name:
 * the configuration is declarative, messages are kept. A queue that already
 * has them is not written: a restart changes nothing (LastModifiedTimestamp
 * stays) and needs no free space (LOCAL.md, a full disk). 0, or -1 with err. */
static int queue_conf_apply(tycho_local_store_t *s, const queue_conf_t *c, int64_t now_ms,
                            char *err, size_t errlen)
{
    tycho_local_result_t tmp;
    queue_t cur;
    memset(&tmp, 0, sizeof tmp);
    int f = queue_load(s, c->name, &cur, &tmp);
    cJSON *attrs = f > 0 ? cJSON_Duplicate(cur.attrs, 1) : default_attrs();
    int rc = -1;
    if (f < 0 || !attrs) {
        snprintf(err, errlen, "queue %s: %s", c->name, sqlite3_errmsg(s->db));
    } else if (apply_attributes(s, c->name, attrs, c->attrs, now_ms, &tmp)) {
        cJSON *body = tmp.body ? cJSON_Parse(tmp.body) : NULL;
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(body, "message");
        snprintf(err, errlen, "queue %s: %s", c->name,
                 cJSON_IsString(m) ? m->valuestring : "invalid attribute");
        cJSON_Delete(body);
    } else if (f > 0 && cJSON_Compare(attrs, cur.attrs, 1)) {
        rc = 0;
    } else if (queue_store(s, c->name, attrs, now_ms, f == 0)) {
        snprintf(err, errlen, "queue %s: %s", c->name, sqlite3_errmsg(s->db));
    } else {
        rc = 0;
    }
    queue_free(&cur);
    cJSON_Delete(attrs);
    tycho_local_result_free(&tmp);
    return rc;
}

int tycho_local_sqs_configure(tycho_local_store_t *s, const char *spec, int64_t now_ms, char *err,
                              size_t errlen)
{
    char *copy = strdup(spec ? spec : ""), *rest = copy;
    if (!copy) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    tycho_local_spec_entry_t e;
    int more = 0, rc = 0;
    while (!rc && (more = tycho_local_spec_next(&rest, "queue", NULL, &e, err, errlen)) > 0) {
        queue_conf_t c;
        rc = queue_conf_parse(&e, &c, err, errlen);
        if (!rc && s && c.dlq) rc = queue_conf_dlq(s, &c, now_ms, err, errlen);
        if (!rc && s) rc = queue_conf_apply(s, &c, now_ms, err, errlen);
        cJSON_Delete(c.attrs);
    }
    free(copy);
    return rc || more < 0 ? -1 : 0;
}
