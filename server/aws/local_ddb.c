/* local_ddb — see local_ddb.h. Shapes follow PROTOCOLS.md §8 (botocore's
 * dynamodb 2012-08-10 model); validation order and messages follow
 * dynalite 4.0.0 (PEERS.md item 1): request validation (types, expressions),
 * then the table lookup, then key checks, then the condition. */
#include "aws/local_ddb.h"
#include "aws/local_av.h"
#include "aws/local_expr.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_GSI 20
#define PAGE_BYTES (1024 * 1024)

typedef struct key_attr {
    char name[256];
    tycho_av_type_t type;
} key_attr_t;

enum { PROJ_ALL, PROJ_KEYS_ONLY, PROJ_INCLUDE };

typedef struct gsi {
    char name[256];
    key_attr_t hash, range;
    int has_range;
    int projection;
    const cJSON *nonkey; /* INCLUDE: array of names, borrowed from table def */
} gsi_t;

typedef struct table {
    char name[256];
    key_attr_t hash, range;
    int has_range;
    int ngsi;
    gsi_t gsi[MAX_GSI];
    char ttl_attr[256]; /* "" = TTL disabled */
    cJSON *def;         /* owned */
} table_t;

/* ---- errors ------------------------------------------------------------- */

static void verr(tycho_local_result_t *res, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void verr(tycho_local_result_t *res, const char *fmt, ...)
{
    char msg[900];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    tycho_local_error(res, 400, LT_DDB_VALIDATION, NULL, "%s", msg);
}

static void serr(tycho_local_result_t *res, const char *msg)
{
    tycho_local_error(res, 400, LT_SERIALIZATION, NULL, "%s", msg);
}

static void internal(tycho_local_store_t *s, tycho_local_result_t *res)
{
    tycho_local_db_error(s, res, 0, NULL);
}

static void not_found(tycho_local_result_t *res, const char *table)
{
    tycho_local_error(res, 400, LT_DDB_NOT_FOUND, NULL,
                      "Requested resource not found: Table: %s not found", table);
}

/* An item, key or start key from the request: its AttributeValues valid.
 * The messages are DynamoDB's own, with the "One or more parameter values
 * were invalid: " prefix where it has one (local_av.c). */
static int check_av_map(cJSON *m, tycho_local_result_t *res)
{
    tycho_av_err_t e;
    if (!tycho_av_validate_map(m, &e)) return 0;
    if (e.serialization)
        serr(res, e.msg);
    else
        verr(res, "%s", e.msg);
    return -1;
}

/* ---- request member helpers --------------------------------------------- */

/* Member types are checked like the service's deserializer: a wrong JSON
 * type is a SerializationException. Each returns -1 with res set on error. */
static int opt_str(const cJSON *req, const char *name, const char **out, tycho_local_result_t *res)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(req, name);
    *out = NULL;
    if (!v || cJSON_IsNull(v)) return 0;
    if (!cJSON_IsString(v)) {
        serr(res, cJSON_IsObject(v)  ? "Start of structure or map found where not expected."
                  : cJSON_IsArray(v) ? "Start of list found where not expected"
                                     : "Unexpected value type in payload");
        return -1;
    }
    *out = v->valuestring;
    return 0;
}

static int opt_bool(const cJSON *req, const char *name, int *out, tycho_local_result_t *res)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(req, name);
    if (!v || cJSON_IsNull(v)) return 0;
    if (!cJSON_IsBool(v)) {
        serr(res, "Unexpected token received from parser");
        return -1;
    }
    *out = cJSON_IsTrue(v);
    return 0;
}

static int opt_obj(const cJSON *req, const char *name, cJSON **out, tycho_local_result_t *res)
{
    cJSON *v = cJSON_GetObjectItemCaseSensitive(req, name);
    *out = NULL;
    if (!v || cJSON_IsNull(v)) return 0;
    if (!cJSON_IsObject(v)) {
        serr(res, cJSON_IsArray(v) ? "Start of list found where not expected"
                                   : "Unexpected value type in payload");
        return -1;
    }
    *out = v;
    return 0;
}

static int valid_name(const char *n, size_t min, size_t max)
{
    size_t len = strlen(n);
    if (len < min || len > max) return 0;
    for (size_t i = 0; i < len; i++)
        if (!isalnum((unsigned char)n[i]) && n[i] != '_' && n[i] != '.' && n[i] != '-') return 0;
    return 1;
}

/* A table or index name (v, NULL when absent) against DynamoDB's
 * constraints: 0, or -1 with a ValidationException listing every constraint
 * it fails, at member `where` ("tableName",
 * "globalSecondaryIndexes.1.member.indexName"), in dynalite's order. */
static int check_name(const char *v, const char *where, tycho_local_result_t *res)
{
    if (!v) {
        verr(res,
             "1 validation error detected: Value null at '%s' failed to satisfy constraint: "
             "Member must not be null",
             where);
        return -1;
    }
    size_t n = strlen(v);
    const char *why[3];
    int k = 0;
    if (!valid_name(v, 1, SIZE_MAX))
        why[k++] = "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+";
    if (n < 3) why[k++] = "Member must have length greater than or equal to 3";
    if (n > 255) why[k++] = "Member must have length less than or equal to 255";
    if (!k) return 0;
    char msg[800];
    size_t len =
        (size_t)snprintf(msg, sizeof msg, "%d validation error%s detected: ", k, k > 1 ? "s" : "");
    for (int i = 0; i < k && len < sizeof msg; i++)
        len += (size_t)snprintf(msg + len, sizeof msg - len,
                                "%sValue '%.*s%s' at '%s' failed to satisfy constraint: %s",
                                i ? "; " : "", n > 255 ? 64 : (int)n, v, n > 255 ? "..." : "",
                                where, why[i]);
    verr(res, "%s", msg);
    return -1;
}

static int table_name_arg(const cJSON *req, const char **out, tycho_local_result_t *res)
{
    if (opt_str(req, "TableName", out, res)) return -1;
    return check_name(*out, "tableName", res);
}

static const char *const LEGACY[] = {
    "Expected",   "AttributeUpdates", "KeyConditions",       "QueryFilter",
    "ScanFilter", "AttributesToGet",  "ConditionalOperator", NULL};

static int reject_legacy(const cJSON *req, tycho_local_result_t *res)
{
    for (int i = 0; LEGACY[i]; i++)
        if (cJSON_GetObjectItemCaseSensitive(req, LEGACY[i])) {
            verr(res,
                 "%s is not supported by the tycho local backend; use expressions "
                 "(ConditionExpression, UpdateExpression, KeyConditionExpression, "
                 "FilterExpression, ProjectionExpression)",
                 LEGACY[i]);
            return -1;
        }
    return 0;
}

/* ---- expressions for a request ------------------------------------------ */

typedef struct exprs {
    tycho_expr_ctx_t *ctx;
    tycho_expr_t *condition, *filter, *key_condition;
    tycho_expr_update_t *update;
    tycho_expr_paths_t *projection;
} exprs_t;

enum { E_COND = 1, E_UPDATE = 2, E_KEY = 4, E_FILTER = 8, E_PROJ = 16 };

/* Parses the expression members an operation accepts (mask). 0 or -1. */
static int parse_exprs(cJSON *req, unsigned mask, exprs_t *x, tycho_local_result_t *res)
{
    memset(x, 0, sizeof *x);
    static const struct {
        unsigned bit;
        const char *member;
    } members[] = {{E_UPDATE, "UpdateExpression"},
                   {E_COND, "ConditionExpression"},
                   {E_KEY, "KeyConditionExpression"},
                   {E_FILTER, "FilterExpression"},
                   {E_PROJ, "ProjectionExpression"}};
    const char *src[5] = {0};
    int any = 0, any_values = 0;
    for (int i = 0; i < 5; i++) {
        if (!(mask & members[i].bit)) continue;
        if (opt_str(req, members[i].member, &src[i], res)) return -1;
        any |= src[i] != NULL;
        any_values |= src[i] != NULL && members[i].bit != E_PROJ;
    }
    cJSON *names, *values;
    if (opt_obj(req, "ExpressionAttributeNames", &names, res)) return -1;
    if (mask == E_PROJ)
        values = NULL; /* GetItem/BatchGetItem take no values */
    else if (opt_obj(req, "ExpressionAttributeValues", &values, res))
        return -1;
    if (names && !any) {
        verr(res, "ExpressionAttributeNames can only be specified when using expressions");
        return -1;
    }
    if (values && !any_values) {
        verr(res, "ExpressionAttributeValues can only be specified when using expressions: %s",
             any ? "ProjectionExpression does not use values" : "no expression was given");
        return -1;
    }
    x->ctx = tycho_expr_ctx_new(names, values);
    if (!x->ctx) {
        tycho_local_error(res, 500, LT_DDB_INTERNAL, NULL, "out of memory");
        return -1;
    }
    if (tycho_expr_error(x->ctx)) {
        verr(res, "%s", tycho_expr_error(x->ctx));
        return -1;
    }
    if (src[0] && !(x->update = tycho_expr_parse_update(x->ctx, src[0]))) goto bad;
    if (src[1] &&
        !(x->condition = tycho_expr_parse_condition(x->ctx, "ConditionExpression", src[1])))
        goto bad;
    if (src[2] &&
        !(x->key_condition = tycho_expr_parse_condition(x->ctx, "KeyConditionExpression", src[2])))
        goto bad;
    if (src[3] && !(x->filter = tycho_expr_parse_condition(x->ctx, "FilterExpression", src[3])))
        goto bad;
    if (src[4] && !(x->projection = tycho_expr_parse_projection(x->ctx, src[4]))) goto bad;
    if (tycho_expr_check_unused(x->ctx)) goto bad;
    return 0;
bad:
    verr(res, "%s", tycho_expr_error(x->ctx) ? tycho_expr_error(x->ctx) : "invalid expression");
    return -1;
}

static void exprs_free(exprs_t *x)
{
    tycho_expr_ctx_free(x->ctx);
    x->ctx = NULL;
}

/* ---- tables ------------------------------------------------------------- */

static void table_free(table_t *t)
{
    cJSON_Delete(t->def);
    t->def = NULL;
}

static tycho_av_type_t attr_type(const cJSON *defs, const char *name)
{
    for (const cJSON *d = defs ? defs->child : NULL; d; d = d->next) {
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(d, "AttributeName");
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(d, "AttributeType");
        if (cJSON_IsString(n) && cJSON_IsString(t) && strcmp(n->valuestring, name) == 0)
            return tycho_av_type_from_name(t->valuestring);
    }
    return TYCHO_AV_INVALID;
}

static void decode_keys(const cJSON *schema, const cJSON *defs, key_attr_t *hash, key_attr_t *range,
                        int *has_range)
{
    *has_range = 0;
    for (const cJSON *k = schema ? schema->child : NULL; k; k = k->next) {
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(k, "AttributeName");
        const cJSON *kt = cJSON_GetObjectItemCaseSensitive(k, "KeyType");
        if (!cJSON_IsString(n) || !cJSON_IsString(kt)) continue;
        key_attr_t *dst = strcmp(kt->valuestring, "HASH") == 0 ? hash : range;
        if (dst == range) *has_range = 1;
        snprintf(dst->name, sizeof dst->name, "%s", n->valuestring);
        dst->type = attr_type(defs, n->valuestring);
    }
}

static void table_decode(table_t *t)
{
    const cJSON *defs = cJSON_GetObjectItemCaseSensitive(t->def, "AttributeDefinitions");
    decode_keys(cJSON_GetObjectItemCaseSensitive(t->def, "KeySchema"), defs, &t->hash, &t->range,
                &t->has_range);
    t->ngsi = 0;
    const cJSON *g = cJSON_GetObjectItemCaseSensitive(t->def, "GlobalSecondaryIndexes");
    for (const cJSON *i = g ? g->child : NULL; i && t->ngsi < MAX_GSI; i = i->next) {
        gsi_t *x = &t->gsi[t->ngsi++];
        memset(x, 0, sizeof *x);
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(i, "IndexName");
        snprintf(x->name, sizeof x->name, "%s", cJSON_IsString(n) ? n->valuestring : "");
        decode_keys(cJSON_GetObjectItemCaseSensitive(i, "KeySchema"), defs, &x->hash, &x->range,
                    &x->has_range);
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(i, "Projection");
        const cJSON *pt = cJSON_GetObjectItemCaseSensitive(p, "ProjectionType");
        x->projection = !cJSON_IsString(pt) || strcmp(pt->valuestring, "ALL") == 0 ? PROJ_ALL
                        : strcmp(pt->valuestring, "KEYS_ONLY") == 0                ? PROJ_KEYS_ONLY
                                                                                   : PROJ_INCLUDE;
        x->nonkey = cJSON_GetObjectItemCaseSensitive(p, "NonKeyAttributes");
    }
}

/* 1 found, 0 absent (res untouched), -1 store error (res set). */
static int table_load(tycho_local_store_t *s, const char *name, table_t *t,
                      tycho_local_result_t *res)
{
    memset(t, 0, sizeof *t);
    sqlite3_stmt *st;
    int found = tycho_local_find_row(s, "SELECT def, ttl_attr FROM ddb_tables WHERE name = ?", name,
                                     0, res, &st);
    if (found != 1) return found;
    snprintf(t->name, sizeof t->name, "%s", name);
    t->def = cJSON_Parse((const char *)sqlite3_column_text(st, 0));
    const char *ttl = (const char *)sqlite3_column_text(st, 1);
    snprintf(t->ttl_attr, sizeof t->ttl_attr, "%s", ttl ? ttl : "");
    sqlite3_reset(st);
    if (!t->def) {
        tycho_local_error(res, 500, LT_DDB_INTERNAL, NULL,
                          "local store: table %s has a corrupt definition", name);
        return -1;
    }
    table_decode(t);
    return 1;
}

/* Loads the table named by the request, ResourceNotFoundException if absent. */
static int request_table(tycho_local_store_t *s, const char *name, table_t *t,
                         tycho_local_result_t *res)
{
    int f = table_load(s, name, t, res);
    if (f == 0) not_found(res, name);
    return f == 1 ? 0 : -1;
}

/* Loads the table named by the request's TableName. 0, or -1 with res set. */
static int named_table(tycho_local_store_t *s, const cJSON *req, table_t *t,
                       tycho_local_result_t *res)
{
    const char *name;
    if (table_name_arg(req, &name, res)) return -1;
    return request_table(s, name, t, res);
}

static const gsi_t *find_gsi(const table_t *t, const char *name)
{
    for (int i = 0; i < t->ngsi; i++)
        if (strcmp(t->gsi[i].name, name) == 0) return &t->gsi[i];
    return NULL;
}

/* ---- keys and items ------------------------------------------------------ */

typedef struct item_key {
    tycho_buf_t pk, sk;
} item_key_t;

static void key_free(item_key_t *k)
{
    tycho_buf_free(&k->pk);
    tycho_buf_free(&k->sk);
}

static int key_size_ok(const key_attr_t *ka, const cJSON *av, int is_hash,
                       tycho_local_result_t *res)
{
    if (ka->type == TYCHO_AV_N) return 0;
    tycho_buf_t b = TYCHO_BUF_INIT;
    tycho_av_key_bytes(av, &b);
    size_t n = b.len;
    tycho_buf_free(&b);
    if (n == 0) {
        verr(res,
             "One or more parameter values were invalid: The AttributeValue for a key attribute "
             "cannot contain an empty %s value. Key: %s",
             ka->type == TYCHO_AV_S ? "string" : "binary", ka->name);
        return -1;
    }
    if (is_hash && n > 2048) {
        verr(res, "One or more parameter values were invalid: Size of hashkey has exceeded the "
                  "maximum size limit of2048 bytes");
        return -1;
    }
    if (!is_hash && n > 1024) {
        verr(res, "One or more parameter values were invalid: Aggregated size of all range keys "
                  "has exceeded the size limit of 1024 bytes");
        return -1;
    }
    return 0;
}

/* Validates a Key member (exactly the table's key attributes) and computes
 * the key bytes. 0 or -1. */
static int key_from_key(const table_t *t, const cJSON *key, item_key_t *k,
                        tycho_local_result_t *res)
{
    memset(k, 0, sizeof *k);
    int want = 1 + t->has_range;
    const cJSON *h = cJSON_GetObjectItemCaseSensitive(key, t->hash.name);
    const cJSON *r = t->has_range ? cJSON_GetObjectItemCaseSensitive(key, t->range.name) : NULL;
    if (cJSON_GetArraySize(key) != want || !h || tycho_av_type(h) != t->hash.type ||
        (t->has_range && (!r || tycho_av_type(r) != t->range.type))) {
        verr(res, "The provided key element does not match the schema");
        return -1;
    }
    if (key_size_ok(&t->hash, h, 1, res) || (r && key_size_ok(&t->range, r, 0, res))) return -1;
    if (tycho_av_key_bytes(h, &k->pk) || (r && tycho_av_key_bytes(r, &k->sk))) {
        verr(res, "The provided key element does not match the schema");
        key_free(k);
        return -1;
    }
    if (!k->pk.data) tycho_buf_append(&k->pk, "", 0);
    if (!k->sk.data) tycho_buf_append(&k->sk, "", 0);
    return 0;
}

/* Validates the key attributes of a full item (PutItem) and GSI key types. */
static int key_from_item(const table_t *t, const cJSON *item, item_key_t *k,
                         tycho_local_result_t *res)
{
    memset(k, 0, sizeof *k);
    const key_attr_t *kas[2] = {&t->hash, t->has_range ? &t->range : NULL};
    for (int i = 0; i < 2 && kas[i]; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(item, kas[i]->name);
        if (!v) {
            verr(res, "One or more parameter values were invalid: Missing the key %s in the item",
                 kas[i]->name);
            goto fail;
        }
        if (tycho_av_type(v) != kas[i]->type) {
            verr(res,
                 "One or more parameter values were invalid: Type mismatch for key %s expected: %s "
                 "actual: %s",
                 kas[i]->name, tycho_av_type_name(kas[i]->type),
                 tycho_av_type_name(tycho_av_type(v)));
            goto fail;
        }
        if (key_size_ok(kas[i], v, i == 0, res)) goto fail;
        if (tycho_av_key_bytes(v, i == 0 ? &k->pk : &k->sk)) {
            verr(res, "The provided key element does not match the schema");
            goto fail;
        }
    }
    if (!k->pk.data) tycho_buf_append(&k->pk, "", 0);
    if (!k->sk.data) tycho_buf_append(&k->sk, "", 0);
    return 0;
fail:
    key_free(k);
    return -1;
}

static int check_index_keys(const table_t *t, const cJSON *item, tycho_local_result_t *res)
{
    for (int i = 0; i < t->ngsi; i++) {
        const gsi_t *g = &t->gsi[i];
        const key_attr_t *kas[2] = {&g->hash, g->has_range ? &g->range : NULL};
        for (int j = 0; j < 2 && kas[j]; j++) {
            const cJSON *v = cJSON_GetObjectItemCaseSensitive(item, kas[j]->name);
            if (!v) continue;
            if (tycho_av_type(v) != kas[j]->type) {
                verr(res,
                     "One or more parameter values were invalid: Type mismatch for Index Key %s "
                     "Expected: %s Actual: %s IndexName: %s",
                     kas[j]->name, tycho_av_type_name(kas[j]->type),
                     tycho_av_type_name(tycho_av_type(v)), g->name);
                return -1;
            }
            if (kas[j]->type != TYCHO_AV_N) {
                tycho_buf_t b = TYCHO_BUF_INIT;
                tycho_av_key_bytes(v, &b);
                size_t n = b.len;
                tycho_buf_free(&b);
                if (n == 0) {
                    verr(res,
                         "One or more parameter values are not valid. A value specified for a "
                         "secondary index key is not supported. The AttributeValue for a key "
                         "attribute cannot contain an empty %s value. IndexName: %s, IndexKey: %s",
                         kas[j]->type == TYCHO_AV_S ? "string" : "binary", g->name, kas[j]->name);
                    return -1;
                }
            }
        }
    }
    return 0;
}

/* The TTL an item carries under attribute attr: 1 and *ttl (epoch seconds)
 * when attr is a Number attribute of item, else 0 (absent, another type,
 * attr NULL or ""). The one reading of a TTL: reads (ttl_expired) and the
 * ddb_items.ttl column the sweep finds items by (item_put, the
 * tycho_ddb_ttl SQL function) agree by construction. */
static int item_ttl(const char *attr, const cJSON *item, double *ttl)
{
    if (!attr || !attr[0]) return 0;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(item, attr);
    if (tycho_av_type(v) != TYCHO_AV_N) return 0;
    *ttl = strtod(tycho_av_payload(v)->valuestring, NULL);
    return 1;
}

/* The TTLs that have passed at now_ms: [*lo, *hi] epoch seconds. DynamoDB
 * ignores TTL values more than five years in the past. */
static void ttl_window(int64_t now_ms, double *lo, double *hi)
{
    *hi = (double)now_ms / 1000.0;
    *lo = *hi - 5.0 * 365 * 86400;
}

static int ttl_expired(const table_t *t, const cJSON *item, int64_t now_ms)
{
    double ttl, lo, hi;
    if (!item_ttl(t->ttl_attr, item, &ttl)) return 0;
    ttl_window(now_ms, &lo, &hi);
    return ttl <= hi && ttl >= lo;
}

/* Reads an item by key; an item past its TTL reads as absent. Returns the
 * parsed item (caller frees) or NULL; *err set on store errors. */
static cJSON *item_get(tycho_local_store_t *s, const table_t *t, const item_key_t *k,
                       int64_t now_ms, int *err)
{
    *err = 0;
    sqlite3_stmt *st =
        tycho_local_stmt(s, "SELECT item FROM ddb_items WHERE tbl = ? AND pk = ? AND sk = ?");
    if (!st) {
        *err = 1;
        return NULL;
    }
    sqlite3_bind_text(st, 1, t->name, -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 2, k->pk.data, (int)k->pk.len, SQLITE_STATIC);
    sqlite3_bind_blob(st, 3, k->sk.data, (int)k->sk.len, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    cJSON *item = NULL;
    if (rc == SQLITE_ROW)
        item = cJSON_Parse((const char *)sqlite3_column_text(st, 0));
    else if (rc != SQLITE_DONE)
        *err = 1;
    sqlite3_reset(st);
    if (item && ttl_expired(t, item, now_ms)) {
        cJSON_Delete(item);
        item = NULL;
    }
    return item;
}

/* Deletes the index rows of item k of table tbl. 0 or -1. */
static int index_rows_delete(tycho_local_store_t *s, const char *tbl, const item_key_t *k)
{
    sqlite3_stmt *del =
        tycho_local_stmt(s, "DELETE FROM ddb_index WHERE tbl = ? AND pk = ? AND sk = ?");
    if (!del) return -1;
    sqlite3_bind_text(del, 1, tbl, -1, SQLITE_STATIC);
    sqlite3_bind_blob(del, 2, k->pk.data, (int)k->pk.len, SQLITE_STATIC);
    sqlite3_bind_blob(del, 3, k->sk.data, (int)k->sk.len, SQLITE_STATIC);
    int rc = sqlite3_step(del);
    sqlite3_reset(del);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* Replaces the index rows of item k by those of item (none when NULL). */
static int index_rows(tycho_local_store_t *s, const table_t *t, const item_key_t *k,
                      const cJSON *item)
{
    int rc = SQLITE_DONE;
    if (index_rows_delete(s, t->name, k)) return -1;
    if (!item) return 0;
    for (int i = 0; i < t->ngsi; i++) {
        const gsi_t *g = &t->gsi[i];
        const cJSON *h = cJSON_GetObjectItemCaseSensitive(item, g->hash.name);
        const cJSON *r =
            g->has_range ? cJSON_GetObjectItemCaseSensitive(item, g->range.name) : NULL;
        /* Sparse index: items without the index keys are not in it. */
        if (!h || tycho_av_type(h) != g->hash.type ||
            (g->has_range && (!r || tycho_av_type(r) != g->range.type)))
            continue;
        tycho_buf_t gpk = TYCHO_BUF_INIT, gsk = TYCHO_BUF_INIT;
        int bad = tycho_av_key_bytes(h, &gpk) || (r && tycho_av_key_bytes(r, &gsk));
        sqlite3_stmt *ins =
            bad ? NULL
                : tycho_local_stmt(s, "INSERT OR REPLACE INTO ddb_index(tbl, idx, gpk, gsk, pk, sk)"
                                      " VALUES(?, ?, ?, ?, ?, ?)");
        if (ins) {
            sqlite3_bind_text(ins, 1, t->name, -1, SQLITE_STATIC);
            sqlite3_bind_text(ins, 2, g->name, -1, SQLITE_STATIC);
            sqlite3_bind_blob(ins, 3, gpk.data ? gpk.data : "", (int)gpk.len, SQLITE_STATIC);
            sqlite3_bind_blob(ins, 4, gsk.data ? gsk.data : "", (int)gsk.len, SQLITE_STATIC);
            sqlite3_bind_blob(ins, 5, k->pk.data, (int)k->pk.len, SQLITE_STATIC);
            sqlite3_bind_blob(ins, 6, k->sk.data, (int)k->sk.len, SQLITE_STATIC);
            rc = sqlite3_step(ins);
            sqlite3_reset(ins);
        }
        tycho_buf_free(&gpk);
        tycho_buf_free(&gsk);
        if (!ins || rc != SQLITE_DONE) return -1;
    }
    return 0;
}

static int item_put(tycho_local_store_t *s, const table_t *t, const item_key_t *k,
                    const cJSON *item)
{
    char *json = cJSON_PrintUnformatted(item);
    if (!json) return -1;
    sqlite3_stmt *st = tycho_local_stmt(s, "INSERT OR REPLACE INTO ddb_items(tbl, pk, sk, item, "
                                           "size, ttl) VALUES(?, ?, ?, ?, ?, ?)");
    int rc = -1;
    if (st) {
        double ttl;
        sqlite3_bind_text(st, 1, t->name, -1, SQLITE_STATIC);
        sqlite3_bind_blob(st, 2, k->pk.data, (int)k->pk.len, SQLITE_STATIC);
        sqlite3_bind_blob(st, 3, k->sk.data, (int)k->sk.len, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, json, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 5, (sqlite3_int64)tycho_av_item_size(item));
        if (item_ttl(t->ttl_attr, item, &ttl)) sqlite3_bind_double(st, 6, ttl);
        rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
        sqlite3_reset(st);
    }
    free(json);
    return rc ? rc : index_rows(s, t, k, item);
}

/* Deletes item k of table tbl with its index rows. 0 or -1. */
static int row_delete(tycho_local_store_t *s, const char *tbl, const item_key_t *k)
{
    sqlite3_stmt *st =
        tycho_local_stmt(s, "DELETE FROM ddb_items WHERE tbl = ? AND pk = ? AND sk = ?");
    if (!st) return -1;
    sqlite3_bind_text(st, 1, tbl, -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 2, k->pk.data, (int)k->pk.len, SQLITE_STATIC);
    sqlite3_bind_blob(st, 3, k->sk.data, (int)k->sk.len, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? index_rows_delete(s, tbl, k) : -1;
}

static int item_delete(tycho_local_store_t *s, const table_t *t, const item_key_t *k)
{
    return row_delete(s, t->name, k);
}

/* ---- shared response pieces ---------------------------------------------- */

static int return_capacity(const cJSON *req, tycho_local_result_t *res, int *mode)
{
    const char *v;
    *mode = 0;
    if (opt_str(req, "ReturnConsumedCapacity", &v, res)) return -1;
    if (!v || strcmp(v, "NONE") == 0) return 0;
    if (strcmp(v, "TOTAL") == 0)
        *mode = 1;
    else if (strcmp(v, "INDEXES") == 0)
        *mode = 2;
    else {
        verr(res,
             "1 validation error detected: Value '%s' at 'returnConsumedCapacity' failed to "
             "satisfy constraint: Member must satisfy enum value set: [INDEXES, TOTAL, NONE]",
             v);
        return -1;
    }
    return 0;
}

static void add_capacity(cJSON *out, int mode, const char *table, double units)
{
    if (!mode) return;
    cJSON *c = cJSON_AddObjectToObject(out, "ConsumedCapacity");
    cJSON_AddStringToObject(c, "TableName", table);
    cJSON_AddNumberToObject(c, "CapacityUnits", units);
    if (mode == 2) {
        cJSON *tb = cJSON_AddObjectToObject(c, "Table");
        cJSON_AddNumberToObject(tb, "CapacityUnits", units);
    }
}

static double write_units(const cJSON *a, const cJSON *b)
{
    size_t x = a ? tycho_av_item_size(a) : 0, y = b ? tycho_av_item_size(b) : 0;
    size_t m = x > y ? x : y;
    double u = ceil((double)m / 1024.0);
    return u < 1 ? 1 : u;
}

static double read_units(size_t bytes, int consistent)
{
    double u = ceil((double)bytes / 4096.0);
    if (u < 1) u = 1;
    return consistent ? u : u / 2;
}

static int return_values_arg(const cJSON *req, int allow_update, const char **rv,
                             tycho_local_result_t *res)
{
    if (opt_str(req, "ReturnValues", rv, res)) return -1;
    if (!*rv || strcmp(*rv, "NONE") == 0 || strcmp(*rv, "ALL_OLD") == 0) return 0;
    if (allow_update && (strcmp(*rv, "UPDATED_OLD") == 0 || strcmp(*rv, "ALL_NEW") == 0 ||
                         strcmp(*rv, "UPDATED_NEW") == 0))
        return 0;
    if (!allow_update && (strcmp(*rv, "UPDATED_OLD") == 0 || strcmp(*rv, "ALL_NEW") == 0 ||
                          strcmp(*rv, "UPDATED_NEW") == 0)) {
        verr(res, "ReturnValues can only be ALL_OLD or NONE");
        return -1;
    }
    verr(res,
         "1 validation error detected: Value '%s' at 'returnValues' failed to satisfy constraint: "
         "Member must satisfy enum value set: [ALL_NEW, UPDATED_OLD, ALL_OLD, NONE, UPDATED_NEW]",
         *rv);
    return -1;
}

static int rvcf_arg(const cJSON *req, int *all_old, tycho_local_result_t *res)
{
    const char *v;
    *all_old = 0;
    if (opt_str(req, "ReturnValuesOnConditionCheckFailure", &v, res)) return -1;
    if (!v || strcmp(v, "NONE") == 0) return 0;
    if (strcmp(v, "ALL_OLD") == 0) {
        *all_old = 1;
        return 0;
    }
    verr(res,
         "1 validation error detected: Value '%s' at 'returnValuesOnConditionCheckFailure' failed "
         "to satisfy constraint: Member must satisfy enum value set: [ALL_OLD, NONE]",
         v);
    return -1;
}

/* Answers {"<member>": value}; takes value. */
static void answer_member(tycho_local_result_t *res, const char *member, cJSON *value)
{
    cJSON *out = cJSON_CreateObject();
    cJSON_AddItemToObject(out, member, value);
    tycho_local_ok(res, out);
    cJSON_Delete(out);
}

static void condition_failed(tycho_local_result_t *res, const cJSON *old, int all_old)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "__type", LT_DDB_CONDITION);
    cJSON_AddStringToObject(o, "message", "The conditional request failed");
    if (all_old && old) cJSON_AddItemToObject(o, "Item", cJSON_Duplicate(old, 1));
    tycho_local_ok(res, o);
    res->status = 400;
    cJSON_Delete(o);
}

/* ---- table description ------------------------------------------------- */

static long long scalar(tycho_local_store_t *s, const char *sql, const char *a, const char *b)
{
    sqlite3_stmt *st = tycho_local_stmt(s, sql);
    if (!st) return 0;
    sqlite3_bind_text(st, 1, a, -1, SQLITE_STATIC);
    if (b) sqlite3_bind_text(st, 2, b, -1, SQLITE_STATIC);
    long long n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    return n;
}

static void add_throughput(cJSON *o, const cJSON *pt)
{
    cJSON *p = cJSON_AddObjectToObject(o, "ProvisionedThroughput");
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(pt, "ReadCapacityUnits");
    const cJSON *w = cJSON_GetObjectItemCaseSensitive(pt, "WriteCapacityUnits");
    cJSON_AddNumberToObject(p, "NumberOfDecreasesToday", 0);
    cJSON_AddNumberToObject(p, "ReadCapacityUnits", cJSON_IsNumber(r) ? r->valuedouble : 0);
    cJSON_AddNumberToObject(p, "WriteCapacityUnits", cJSON_IsNumber(w) ? w->valuedouble : 0);
}

static cJSON *describe(tycho_local_store_t *s, const table_t *t, const char *status)
{
    cJSON *d = cJSON_CreateObject();
    const cJSON *def = t->def;
    char arn[600];
    snprintf(arn, sizeof arn, "arn:aws:dynamodb:%s:%s:table/%s", s->region, s->account, t->name);
    cJSON_AddItemToObject(
        d, "AttributeDefinitions",
        cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(def, "AttributeDefinitions"), 1));
    cJSON_AddStringToObject(d, "TableName", t->name);
    cJSON_AddItemToObject(d, "KeySchema",
                          cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(def, "KeySchema"), 1));
    cJSON_AddStringToObject(d, "TableStatus", status);
    const cJSON *created = cJSON_GetObjectItemCaseSensitive(def, "CreationDateTime");
    cJSON_AddNumberToObject(d, "CreationDateTime",
                            cJSON_IsNumber(created) ? created->valuedouble : 0);
    add_throughput(d, cJSON_GetObjectItemCaseSensitive(def, "ProvisionedThroughput"));
    cJSON_AddNumberToObject(
        d, "TableSizeBytes",
        (double)scalar(s, "SELECT COALESCE(SUM(size), 0) FROM ddb_items WHERE tbl = ?", t->name,
                       NULL));
    cJSON_AddNumberToObject(
        d, "ItemCount",
        (double)scalar(s, "SELECT COUNT(*) FROM ddb_items WHERE tbl = ?", t->name, NULL));
    cJSON_AddStringToObject(d, "TableArn", arn);
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(def, "TableId");
    cJSON_AddStringToObject(d, "TableId", cJSON_IsString(id) ? id->valuestring : "");
    const cJSON *bm = cJSON_GetObjectItemCaseSensitive(def, "BillingMode");
    if (cJSON_IsString(bm) && strcmp(bm->valuestring, "PAY_PER_REQUEST") == 0) {
        cJSON *b = cJSON_AddObjectToObject(d, "BillingModeSummary");
        cJSON_AddStringToObject(b, "BillingMode", "PAY_PER_REQUEST");
        cJSON_AddNumberToObject(b, "LastUpdateToPayPerRequestDateTime",
                                cJSON_IsNumber(created) ? created->valuedouble : 0);
    }
    const cJSON *g = cJSON_GetObjectItemCaseSensitive(def, "GlobalSecondaryIndexes");
    if (g && g->child && strcmp(status, "DELETING") != 0) {
        cJSON *arr = cJSON_AddArrayToObject(d, "GlobalSecondaryIndexes");
        for (const cJSON *i = g->child; i; i = i->next) {
            const cJSON *n = cJSON_GetObjectItemCaseSensitive(i, "IndexName");
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "IndexName", n->valuestring);
            cJSON_AddItemToObject(
                o, "KeySchema",
                cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(i, "KeySchema"), 1));
            cJSON_AddItemToObject(
                o, "Projection",
                cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(i, "Projection"), 1));
            cJSON_AddStringToObject(o, "IndexStatus", "ACTIVE");
            add_throughput(o, cJSON_GetObjectItemCaseSensitive(i, "ProvisionedThroughput"));
            cJSON_AddNumberToObject(o, "IndexSizeBytes", 0);
            cJSON_AddNumberToObject(
                o, "ItemCount",
                (double)scalar(s, "SELECT COUNT(*) FROM ddb_index WHERE tbl = ? AND idx = ?",
                               t->name, n->valuestring));
            char iarn[900];
            snprintf(iarn, sizeof iarn, "%s/index/%s", arn, n->valuestring);
            cJSON_AddStringToObject(o, "IndexArn", iarn);
            cJSON_AddItemToArray(arr, o);
        }
    }
    return d;
}

/* ---- CreateTable --------------------------------------------------------- */

static int check_key_schema(const cJSON *ks, const cJSON *defs, const char *where,
                            tycho_local_result_t *res)
{
    if (!cJSON_IsArray(ks)) {
        if (!ks)
            verr(res,
                 "1 validation error detected: Value null at '%skeySchema' failed to satisfy "
                 "constraint: Member must not be null",
                 where);
        else
            serr(res, "Unexpected value type in payload");
        return -1;
    }
    int n = cJSON_GetArraySize(ks);
    if (n < 1 || n > 2) {
        verr(res,
             "1 validation error detected: Value '[...]' at '%skeySchema' failed to satisfy "
             "constraint: Member must have length %s",
             where, n < 1 ? "greater than or equal to 1" : "less than or equal to 2");
        return -1;
    }
    int i = 0;
    for (const cJSON *k = ks->child; k; k = k->next, i++) {
        const cJSON *an = cJSON_GetObjectItemCaseSensitive(k, "AttributeName");
        const cJSON *kt = cJSON_GetObjectItemCaseSensitive(k, "KeyType");
        if (!cJSON_IsString(an) || !cJSON_IsString(kt) || !an->valuestring[0] ||
            strlen(an->valuestring) > 255) {
            verr(res,
                 "1 validation error detected: Value null at '%skeySchema.%d.member.attributeName' "
                 "failed to satisfy constraint: Member must not be null",
                 where, i + 1);
            return -1;
        }
        if (strcmp(kt->valuestring, "HASH") != 0 && strcmp(kt->valuestring, "RANGE") != 0) {
            verr(res,
                 "1 validation error detected: Value '%s' at '%skeySchema.%d.member.keyType' "
                 "failed to satisfy constraint: Member must satisfy enum value set: [HASH, RANGE]",
                 kt->valuestring, where, i + 1);
            return -1;
        }
        if (i == 0 && strcmp(kt->valuestring, "HASH") != 0) {
            verr(res, "Invalid KeySchema: The first KeySchemaElement is not a HASH key type");
            return -1;
        }
        if (i == 1 && strcmp(kt->valuestring, "RANGE") != 0) {
            verr(res, "Invalid KeySchema: The second KeySchemaElement is not a RANGE key type");
            return -1;
        }
        if (i == 1 &&
            strcmp(an->valuestring,
                   cJSON_GetObjectItemCaseSensitive(ks->child, "AttributeName")->valuestring) ==
                0) {
            verr(res,
                 "Both the Hash Key and the Range Key element in the KeySchema have the same name");
            return -1;
        }
        if (attr_type(defs, an->valuestring) == TYCHO_AV_INVALID) {
            verr(res,
                 "One or more parameter values were invalid: Some index key attributes are not "
                 "defined in AttributeDefinitions. Keys: [%s]",
                 an->valuestring);
            return -1;
        }
    }
    return 0;
}

static int check_throughput(const cJSON *pt, int provisioned, const char *what,
                            tycho_local_result_t *res)
{
    if (provisioned) {
        const cJSON *r = cJSON_GetObjectItemCaseSensitive(pt, "ReadCapacityUnits");
        const cJSON *w = cJSON_GetObjectItemCaseSensitive(pt, "WriteCapacityUnits");
        if (!cJSON_IsNumber(r) || !cJSON_IsNumber(w)) {
            verr(res,
                 "One or more parameter values were invalid: ReadCapacityUnits and "
                 "WriteCapacityUnits must both be specified when BillingMode is PROVISIONED%s",
                 what);
            return -1;
        }
        if (r->valuedouble < 1 || w->valuedouble < 1) {
            verr(res, "1 validation error detected: Value '0' at "
                      "'provisionedThroughput.readCapacityUnits' failed to satisfy constraint: "
                      "Member must have value greater than or equal to 1");
            return -1;
        }
    } else if (pt) {
        verr(res,
             "One or more parameter values were invalid: Neither ReadCapacityUnits nor "
             "WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST%s",
             what);
        return -1;
    }
    return 0;
}

/* Validates a CreateTable request and builds the stored definition. */
static cJSON *build_table_def(const cJSON *req, int64_t now_ms, tycho_local_result_t *res)
{
    const cJSON *defs = cJSON_GetObjectItemCaseSensitive(req, "AttributeDefinitions");
    const cJSON *ks = cJSON_GetObjectItemCaseSensitive(req, "KeySchema");
    const char *bm_s = NULL;
    if (opt_str(req, "BillingMode", &bm_s, res)) return NULL;
    if (bm_s && strcmp(bm_s, "PROVISIONED") != 0 && strcmp(bm_s, "PAY_PER_REQUEST") != 0) {
        verr(res,
             "1 validation error detected: Value '%s' at 'billingMode' failed to satisfy "
             "constraint: Member must satisfy enum value set: [PROVISIONED, PAY_PER_REQUEST]",
             bm_s);
        return NULL;
    }
    int provisioned = !bm_s || strcmp(bm_s, "PROVISIONED") == 0;
    if (!defs) {
        verr(res, "1 validation error detected: Value null at 'attributeDefinitions' failed to "
                  "satisfy constraint: Member must not be null");
        return NULL;
    }
    if (!cJSON_IsArray(defs)) {
        serr(res, "Unexpected value type in payload");
        return NULL;
    }
    for (const cJSON *d = defs->child; d; d = d->next) {
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(d, "AttributeName");
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(d, "AttributeType");
        if (!cJSON_IsString(n) || !cJSON_IsString(t)) {
            verr(res, "1 validation error detected: Value null at "
                      "'attributeDefinitions.member.attributeName' failed to satisfy constraint: "
                      "Member must not be null");
            return NULL;
        }
        tycho_av_type_t at = tycho_av_type_from_name(t->valuestring);
        if (at != TYCHO_AV_S && at != TYCHO_AV_N && at != TYCHO_AV_B) {
            verr(res,
                 "1 validation error detected: Value '%s' at "
                 "'attributeDefinitions.member.attributeType' failed to satisfy constraint: Member "
                 "must satisfy enum value set: [B, N, S]",
                 t->valuestring);
            return NULL;
        }
        for (const cJSON *e = defs->child; e != d; e = e->next)
            if (strcmp(cJSON_GetObjectItemCaseSensitive(e, "AttributeName")->valuestring,
                       n->valuestring) == 0) {
                verr(res, "Cannot have two attributes with the same name");
                return NULL;
            }
    }
    if (check_key_schema(ks, defs, "", res)) return NULL;
    if (cJSON_GetObjectItemCaseSensitive(req, "LocalSecondaryIndexes")) {
        verr(res, "LocalSecondaryIndexes are not supported by the tycho local backend");
        return NULL;
    }
    const cJSON *ss = cJSON_GetObjectItemCaseSensitive(req, "StreamSpecification");
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ss, "StreamEnabled"))) {
        verr(res, "DynamoDB Streams are not supported by the tycho local backend");
        return NULL;
    }
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(req, "DeletionProtectionEnabled"))) {
        verr(res, "DeletionProtectionEnabled is not supported by the tycho local backend");
        return NULL;
    }
    const cJSON *pt = cJSON_GetObjectItemCaseSensitive(req, "ProvisionedThroughput");
    if (check_throughput(pt, provisioned, "", res)) return NULL;
    const cJSON *gsis = cJSON_GetObjectItemCaseSensitive(req, "GlobalSecondaryIndexes");
    if (gsis && !cJSON_IsArray(gsis)) {
        serr(res, "Unexpected value type in payload");
        return NULL;
    }
    if (gsis && cJSON_GetArraySize(gsis) > MAX_GSI) {
        verr(res,
             "One or more parameter values were invalid: GlobalSecondaryIndex count exceeds the "
             "per-table limit of %d",
             MAX_GSI);
        return NULL;
    }
    int pos = 0;
    for (const cJSON *g = gsis ? gsis->child : NULL; g; g = g->next) {
        const char *n;
        char where[64];
        snprintf(where, sizeof where, "globalSecondaryIndexes.%d.member.indexName", ++pos);
        if (opt_str(g, "IndexName", &n, res) || check_name(n, where, res)) return NULL;
        for (const cJSON *h = gsis->child; h != g; h = h->next)
            if (strcmp(cJSON_GetObjectItemCaseSensitive(h, "IndexName")->valuestring, n) == 0) {
                verr(res, "One or more parameter values were invalid: Duplicate index name: %s", n);
                return NULL;
            }
        if (check_key_schema(cJSON_GetObjectItemCaseSensitive(g, "KeySchema"), defs,
                             "globalSecondaryIndexes.member.", res))
            return NULL;
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(g, "Projection");
        const cJSON *ptype = cJSON_GetObjectItemCaseSensitive(p, "ProjectionType");
        const cJSON *nk = cJSON_GetObjectItemCaseSensitive(p, "NonKeyAttributes");
        if (!p) {
            verr(res, "1 validation error detected: Value null at "
                      "'globalSecondaryIndexes.member.projection' failed to satisfy constraint: "
                      "Member must not be null");
            return NULL;
        }
        if (!cJSON_IsString(ptype) || (strcmp(ptype->valuestring, "ALL") != 0 &&
                                       strcmp(ptype->valuestring, "KEYS_ONLY") != 0 &&
                                       strcmp(ptype->valuestring, "INCLUDE") != 0)) {
            verr(res, "One or more parameter values were invalid: Unknown ProjectionType: %s",
                 cJSON_IsString(ptype) ? ptype->valuestring : "null");
            return NULL;
        }
        if (strcmp(ptype->valuestring, "INCLUDE") == 0 ? !cJSON_IsArray(nk) || !nk->child
                                                       : nk != NULL) {
            verr(res,
                 "One or more parameter values were invalid: ProjectionType is %s, but "
                 "NonKeyAttributes is %s",
                 ptype->valuestring, nk ? "specified" : "not specified");
            return NULL;
        }
        if (check_throughput(cJSON_GetObjectItemCaseSensitive(g, "ProvisionedThroughput"),
                             provisioned, " for index", res))
            return NULL;
    }
    /* Every attribute definition must be used by a key schema. */
    for (const cJSON *d = defs->child; d; d = d->next) {
        const char *n = cJSON_GetObjectItemCaseSensitive(d, "AttributeName")->valuestring;
        int used = 0;
        for (const cJSON *k = ks->child; k && !used; k = k->next)
            used =
                strcmp(cJSON_GetObjectItemCaseSensitive(k, "AttributeName")->valuestring, n) == 0;
        for (const cJSON *g = gsis ? gsis->child : NULL; g && !used; g = g->next)
            for (const cJSON *k = cJSON_GetObjectItemCaseSensitive(g, "KeySchema")->child;
                 k && !used; k = k->next)
                used = strcmp(cJSON_GetObjectItemCaseSensitive(k, "AttributeName")->valuestring,
                              n) == 0;
        if (!used) {
            verr(res,
                 "One or more parameter values were invalid: Number of attributes in KeySchema "
                 "does not exactly match number of attributes defined in AttributeDefinitions");
            return NULL;
        }
    }
    cJSON *def = cJSON_CreateObject();
    char id[37];
    tycho_local_uuid(id);
    cJSON_AddItemToObject(def, "AttributeDefinitions", cJSON_Duplicate(defs, 1));
    cJSON_AddItemToObject(def, "KeySchema", cJSON_Duplicate(ks, 1));
    cJSON_AddStringToObject(def, "BillingMode", provisioned ? "PROVISIONED" : "PAY_PER_REQUEST");
    if (pt) cJSON_AddItemToObject(def, "ProvisionedThroughput", cJSON_Duplicate(pt, 1));
    if (gsis && gsis->child) {
        cJSON *arr = cJSON_AddArrayToObject(def, "GlobalSecondaryIndexes");
        for (const cJSON *g = gsis->child; g; g = g->next) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddItemToObject(
                o, "IndexName",
                cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(g, "IndexName"), 1));
            cJSON_AddItemToObject(
                o, "KeySchema",
                cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(g, "KeySchema"), 1));
            cJSON_AddItemToObject(
                o, "Projection",
                cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(g, "Projection"), 1));
            const cJSON *gpt = cJSON_GetObjectItemCaseSensitive(g, "ProvisionedThroughput");
            if (gpt) cJSON_AddItemToObject(o, "ProvisionedThroughput", cJSON_Duplicate(gpt, 1));
            cJSON_AddItemToArray(arr, o);
        }
    }
    cJSON_AddNumberToObject(def, "CreationDateTime", (double)now_ms / 1000.0);
    cJSON_AddStringToObject(def, "TableId", id);
    return def;
}

static int table_insert(tycho_local_store_t *s, const char *name, const cJSON *def)
{
    char *json = cJSON_PrintUnformatted(def);
    if (!json) return -1;
    sqlite3_stmt *st = tycho_local_stmt(s, "INSERT INTO ddb_tables(name, def) VALUES(?, ?)");
    int rc = -1;
    if (st) {
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, json, -1, SQLITE_STATIC);
        rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
        sqlite3_reset(st);
    }
    free(json);
    return rc;
}

static void op_create_table(tycho_local_store_t *s, cJSON *req, int64_t now_ms,
                            tycho_local_result_t *res)
{
    const char *name;
    if (table_name_arg(req, &name, res)) return;
    cJSON *def = build_table_def(req, now_ms, res);
    if (!def) return;
    table_t t;
    int f = table_load(s, name, &t, res);
    table_free(&t);
    if (f < 0) {
        cJSON_Delete(def);
        return;
    }
    if (f) {
        tycho_local_error(res, 400, LT_DDB_IN_USE, NULL, "Table already exists: %s", name);
        cJSON_Delete(def);
        return;
    }
    if (table_insert(s, name, def)) {
        cJSON_Delete(def);
        internal(s, res);
        return;
    }
    memset(&t, 0, sizeof t);
    snprintf(t.name, sizeof t.name, "%s", name);
    t.def = def;
    table_decode(&t);
    /* Created synchronously: the table is ACTIVE at once (AWS and dynalite
     * report CREATING first). */
    answer_member(res, "TableDescription", describe(s, &t, "ACTIVE"));
    table_free(&t);
}

static void op_describe_table(tycho_local_store_t *s, cJSON *req, int64_t now_ms,
                              tycho_local_result_t *res)
{
    (void)now_ms;
    table_t t;
    if (named_table(s, req, &t, res)) return;
    answer_member(res, "Table", describe(s, &t, "ACTIVE"));
    table_free(&t);
}

static void op_delete_table(tycho_local_store_t *s, cJSON *req, int64_t now_ms,
                            tycho_local_result_t *res)
{
    (void)now_ms;
    table_t t;
    if (named_table(s, req, &t, res)) return;
    cJSON *desc = describe(s, &t, "DELETING");
    static const char *const sqls[] = {"DELETE FROM ddb_items WHERE tbl = ?",
                                       "DELETE FROM ddb_index WHERE tbl = ?",
                                       "DELETE FROM ddb_tables WHERE name = ?"};
    for (int i = 0; i < 3; i++) {
        sqlite3_stmt *st = tycho_local_stmt(s, sqls[i]);
        int rc = SQLITE_ERROR;
        if (st) {
            sqlite3_bind_text(st, 1, t.name, -1, SQLITE_STATIC);
            rc = sqlite3_step(st);
            sqlite3_reset(st);
        }
        if (rc != SQLITE_DONE) {
            internal(s, res);
            cJSON_Delete(desc);
            table_free(&t);
            return;
        }
    }
    answer_member(res, "TableDescription", desc);
    table_free(&t);
}

static void op_list_tables(tycho_local_store_t *s, cJSON *req, int64_t now_ms,
                           tycho_local_result_t *res)
{
    (void)now_ms;
    const char *start;
    if (opt_str(req, "ExclusiveStartTableName", &start, res)) return;
    const cJSON *lim = cJSON_GetObjectItemCaseSensitive(req, "Limit");
    long limit = 100;
    if (lim && !cJSON_IsNull(lim)) {
        if (!cJSON_IsNumber(lim)) {
            serr(res, "Unexpected value type in payload");
            return;
        }
        limit = tycho_local_long(lim->valuedouble);
        if (limit < 1 || limit > 100) {
            verr(res,
                 "1 validation error detected: Value '%ld' at 'limit' failed to satisfy "
                 "constraint: Member must have value %s",
                 limit, limit < 1 ? "greater than or equal to 1" : "less than or equal to 100");
            return;
        }
    }
    sqlite3_stmt *st =
        tycho_local_stmt(s, "SELECT name FROM ddb_tables WHERE name > ? ORDER BY name LIMIT ?");
    if (!st) {
        internal(s, res);
        return;
    }
    sqlite3_bind_text(st, 1, start ? start : "", -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, limit + 1);
    cJSON *out = cJSON_CreateObject();
    cJSON *names = cJSON_AddArrayToObject(out, "TableNames");
    long n = 0;
    char last[256] = "";
    int more = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (n == limit) {
            more = 1;
            break;
        }
        const char *nm = (const char *)sqlite3_column_text(st, 0);
        cJSON_AddItemToArray(names, cJSON_CreateString(nm));
        snprintf(last, sizeof last, "%s", nm);
        n++;
    }
    sqlite3_reset(st);
    if (more) cJSON_AddStringToObject(out, "LastEvaluatedTableName", last);
    tycho_local_ok(res, out);
    cJSON_Delete(out);
}

/* ---- item operations ----------------------------------------------------- */

static int validate_item_member(cJSON *req, const char *member, cJSON **out,
                                tycho_local_result_t *res)
{
    cJSON *v = cJSON_GetObjectItemCaseSensitive(req, member);
    *out = NULL;
    if (!v || cJSON_IsNull(v)) {
        verr(res,
             "1 validation error detected: Value null at '%c%s' failed to satisfy constraint: "
             "Member must not be null",
             tolower((unsigned char)member[0]), member + 1);
        return -1;
    }
    if (check_av_map(v, res)) return -1;
    *out = v;
    return 0;
}

/* What PutItem, GetItem, DeleteItem and UpdateItem share: the request
 * members they read, the table, the item's key and the stored item. */
enum { ITEM_PUT, ITEM_GET, ITEM_DELETE, ITEM_UPDATE };

typedef struct item_op {
    cJSON *member;  /* Item (PutItem) or Key, borrowed from the request */
    const char *rv; /* ReturnValues; NULL if absent (and for GetItem) */
    int all_old;    /* ReturnValuesOnConditionCheckFailure is ALL_OLD */
    int consistent; /* GetItem's ConsistentRead */
    int cap;        /* ReturnConsumedCapacity mode */
    exprs_t x;
    table_t t;
    item_key_t k;
    cJSON *stored; /* the item before this request (item_op_read), NULL if none */
} item_op_t;

/* Validates the request in dynalite's order (members, expressions, table,
 * key) and loads the table. 0, or -1 with res set. Call item_op_end in
 * either case. */
static int item_op_begin(tycho_local_store_t *s, cJSON *req, int kind, item_op_t *op,
                         tycho_local_result_t *res)
{
    static const unsigned exprs_of[] = {[ITEM_PUT] = E_COND,
                                        [ITEM_GET] = E_PROJ,
                                        [ITEM_DELETE] = E_COND,
                                        [ITEM_UPDATE] = E_COND | E_UPDATE};
    const char *name;
    memset(op, 0, sizeof *op);
    if (table_name_arg(req, &name, res) || reject_legacy(req, res) ||
        validate_item_member(req, kind == ITEM_PUT ? "Item" : "Key", &op->member, res))
        return -1;
    if (kind == ITEM_GET) {
        if (opt_bool(req, "ConsistentRead", &op->consistent, res)) return -1;
    } else if (return_values_arg(req, kind == ITEM_UPDATE, &op->rv, res) ||
               rvcf_arg(req, &op->all_old, res)) {
        return -1;
    }
    if (return_capacity(req, res, &op->cap) || parse_exprs(req, exprs_of[kind], &op->x, res) ||
        request_table(s, name, &op->t, res))
        return -1;
    return kind == ITEM_PUT ? key_from_item(&op->t, op->member, &op->k, res)
                            : key_from_key(&op->t, op->member, &op->k, res);
}

/* Reads the stored item into op->stored and checks the ConditionExpression
 * against it. 0, or -1 with res set (store error, condition failed). */
static int item_op_read(tycho_local_store_t *s, item_op_t *op, int64_t now_ms,
                        tycho_local_result_t *res)
{
    int err;
    op->stored = item_get(s, &op->t, &op->k, now_ms, &err);
    if (err) {
        internal(s, res);
        return -1;
    }
    if (op->x.condition && !tycho_expr_eval(op->x.condition, op->stored)) {
        condition_failed(res, op->stored, op->all_old);
        return -1;
    }
    return 0;
}

static void item_op_end(item_op_t *op)
{
    cJSON_Delete(op->stored);
    key_free(&op->k);
    table_free(&op->t);
    exprs_free(&op->x);
}

/* The answer to a PutItem (item) or DeleteItem (NULL) that was written. */
static void answer_write(const item_op_t *op, const cJSON *item, tycho_local_result_t *res)
{
    cJSON *out = cJSON_CreateObject();
    if (op->stored && op->rv && strcmp(op->rv, "ALL_OLD") == 0)
        cJSON_AddItemToObject(out, "Attributes", cJSON_Duplicate(op->stored, 1));
    add_capacity(out, op->cap, op->t.name, write_units(op->stored, item));
    tycho_local_ok(res, out);
    cJSON_Delete(out);
}

static void op_put_item(tycho_local_store_t *s, cJSON *req, int64_t now_ms,
                        tycho_local_result_t *res)
{
    item_op_t op;
    if (item_op_begin(s, req, ITEM_PUT, &op, res) || check_index_keys(&op.t, op.member, res))
        goto done;
    if (tycho_av_item_size(op.member) > TYCHO_AV_ITEM_MAX) {
        verr(res, "Item size has exceeded the maximum allowed size");
        goto done;
    }
    if (item_op_read(s, &op, now_ms, res)) goto done;
    if (item_put(s, &op.t, &op.k, op.member))
        internal(s, res);
    else
        answer_write(&op, op.member, res);
done:
    item_op_end(&op);
}

static void op_get_item(tycho_local_store_t *s, cJSON *req, int64_t now_ms,
                        tycho_local_result_t *res)
{
    item_op_t op;
    if (item_op_begin(s, req, ITEM_GET, &op, res) || item_op_read(s, &op, now_ms, res)) goto done;
    cJSON *out = cJSON_CreateObject();
    const cJSON *item = op.stored;
    if (item)
        cJSON_AddItemToObject(out, "Item",
                              op.x.projection ? tycho_expr_project(op.x.projection, item)
                                              : cJSON_Duplicate(item, 1));
    add_capacity(out, op.cap, op.t.name,
                 read_units(item ? tycho_av_item_size(item) : 0, op.consistent));
    tycho_local_ok(res, out);
    cJSON_Delete(out);
done:
    item_op_end(&op);
}

static void op_delete_item(tycho_local_store_t *s, cJSON *req, int64_t now_ms,
                           tycho_local_result_t *res)
{
    item_op_t op;
    if (item_op_begin(s, req, ITEM_DELETE, &op, res) || item_op_read(s, &op, now_ms, res))
        goto done;
    if (item_delete(s, &op.t, &op.k))
        internal(s, res);
    else
        answer_write(&op, NULL, res);
done:
    item_op_end(&op);
}

/* An UpdateExpression may not set a key attribute, nor reach into an index
 * key with a document path. 0, or -1 with res set. */
static int update_spares_keys(const item_op_t *op, tycho_local_result_t *res)
{
    const table_t *t = &op->t;
    for (int i = 0; op->x.update && i < op->x.update->n; i++) {
        const tycho_expr_path_t *p = &op->x.update->actions[i].path;
        const char *head = p->elems[0].name;
        if (strcmp(head, t->hash.name) == 0 || (t->has_range && strcmp(head, t->range.name) == 0)) {
            if (p->n == 1)
                verr(res,
                     "One or more parameter values were invalid: Cannot update attribute %s. "
                     "This attribute is part of the key",
                     head);
            else
                verr(res,
                     "Key attributes must be scalars; list random access '[]' and map lookup "
                     "'.' are not allowed: Key: %s",
                     head);
            return -1;
        }
        for (int g = 0; g < t->ngsi && p->n > 1; g++)
            if (strcmp(head, t->gsi[g].hash.name) == 0 ||
                (t->gsi[g].has_range && strcmp(head, t->gsi[g].range.name) == 0)) {
                verr(res,
                     "Key attributes must be scalars; list random access '[]' and map lookup "
                     "'.' are not allowed: IndexKey: %s",
                     head);
                return -1;
            }
    }
    return 0;
}

/* UpdateItem's Attributes for its ReturnValues; NULL when there are none. */
static cJSON *updated_attributes(const item_op_t *op, const cJSON *item)
{
    const cJSON *old = op->stored;
    cJSON *attrs = NULL;
    if (!op->rv || strcmp(op->rv, "NONE") == 0) return NULL;
    if (strcmp(op->rv, "ALL_OLD") == 0)
        attrs = old ? cJSON_Duplicate(old, 1) : NULL;
    else if (strcmp(op->rv, "ALL_NEW") == 0)
        attrs = cJSON_Duplicate(item, 1);
    else if (op->x.update) {
        tycho_expr_paths_t paths;
        paths.paths = calloc((size_t)op->x.update->n, sizeof *paths.paths);
        if (paths.paths) {
            tycho_expr_update_paths(op->x.update, &paths);
            const cJSON *src = strcmp(op->rv, "UPDATED_OLD") == 0 ? old : item;
            attrs = src ? tycho_expr_project(&paths, src) : NULL;
            free(paths.paths);
        }
    }
    if (attrs && !attrs->child) {
        cJSON_Delete(attrs);
        attrs = NULL;
    }
    return attrs;
}

static void op_update_item(tycho_local_store_t *s, cJSON *req, int64_t now_ms,
                           tycho_local_result_t *res)
{
    item_op_t op;
    cJSON *item = NULL;
    char why[300];
    if (item_op_begin(s, req, ITEM_UPDATE, &op, res) || update_spares_keys(&op, res) ||
        item_op_read(s, &op, now_ms, res))
        goto done;
    item = op.stored ? cJSON_Duplicate(op.stored, 1) : cJSON_Duplicate(op.member, 1);
    if (!item) {
        internal(s, res);
        goto done;
    }
    if (op.x.update && tycho_expr_apply_update(op.x.update, item, why, sizeof why)) {
        verr(res, "%s", why);
        goto done;
    }
    if (check_index_keys(&op.t, item, res)) goto done;
    if (tycho_av_item_size(item) > TYCHO_AV_ITEM_MAX) {
        verr(res, "Item size to update has exceeded the maximum allowed size");
        goto done;
    }
    if (item_put(s, &op.t, &op.k, item)) {
        internal(s, res);
        goto done;
    }
    cJSON *out = cJSON_CreateObject();
    cJSON *attrs = updated_attributes(&op, item);
    if (attrs) cJSON_AddItemToObject(out, "Attributes", attrs);
    add_capacity(out, op.cap, op.t.name, write_units(op.stored, item));
    tycho_local_ok(res, out);
    cJSON_Delete(out);
done:
    cJSON_Delete(item);
    item_op_end(&op);
}

/* ---- Query and Scan ------------------------------------------------------ */

typedef struct key_cond {
    tycho_expr_kind_t kind; /* TX_EQ, TX_LT, ..., TX_BETWEEN, TX_BEGINS */
    const char *attr;
    const cJSON *v1, *v2;
} key_cond_t;

static tycho_expr_kind_t flip(tycho_expr_kind_t k)
{
    switch (k) {
    case TX_LT:
        return TX_GT;
    case TX_LE:
        return TX_GE;
    case TX_GT:
        return TX_LT;
    case TX_GE:
        return TX_LE;
    default:
        return k;
    }
}

static int one_key_cond(const tycho_expr_t *e, key_cond_t *kc, tycho_local_result_t *res)
{
    const char *pre = "Invalid KeyConditionExpression: ";
    switch (e->kind) {
    case TX_OR:
    case TX_NOT:
    case TX_IN:
    case TX_NE:
        verr(res, "%sInvalid operator used in KeyConditionExpression: %s", pre,
             e->kind == TX_OR    ? "OR"
             : e->kind == TX_NOT ? "NOT"
             : e->kind == TX_IN  ? "IN"
                                 : "<>");
        return -1;
    case TX_EXISTS:
    case TX_NOT_EXISTS:
    case TX_TYPE:
    case TX_CONTAINS:
        verr(res, "%sInvalid operator used in KeyConditionExpression: %s", pre,
             e->kind == TX_EXISTS       ? "attribute_exists"
             : e->kind == TX_NOT_EXISTS ? "attribute_not_exists"
             : e->kind == TX_TYPE       ? "attribute_type"
                                        : "contains");
        return -1;
    default:
        break;
    }
    memset(kc, 0, sizeof *kc);
    kc->kind = e->kind;
    int npaths = 0;
    for (int i = 0; i < e->nargs; i++) {
        const tycho_expr_t *a = e->args[i];
        if (a->kind == TX_SIZE) {
            verr(res, "%sKeyConditionExpressions cannot contain nested operations", pre);
            return -1;
        }
        if (a->kind == TX_PATH) {
            if (npaths++) {
                verr(res,
                     "%sInvalid condition in KeyConditionExpression: Multiple attribute names used "
                     "in one condition",
                     pre);
                return -1;
            }
            if (a->path.n > 1) {
                verr(res, "%sKeyConditionExpressions cannot have conditions on nested attributes",
                     pre);
                return -1;
            }
            if (i != 0 && (e->kind == TX_BETWEEN || e->kind == TX_BEGINS)) {
                verr(res,
                     "%sInvalid condition in KeyConditionExpression: %s operator must have the key "
                     "attribute as its first operand",
                     pre, e->kind == TX_BETWEEN ? "BETWEEN" : "begins_with");
                return -1;
            }
            if (i != 0) kc->kind = flip(e->kind);
            kc->attr = a->path.elems[0].name;
        }
    }
    if (!npaths) {
        verr(res, "%sInvalid condition in KeyConditionExpression: No key attribute specified", pre);
        return -1;
    }
    int v = 0;
    for (int i = 0; i < e->nargs; i++)
        if (e->args[i]->kind == TX_VALUE) {
            if (v++ == 0)
                kc->v1 = e->args[i]->value;
            else
                kc->v2 = e->args[i]->value;
        }
    return 0;
}

typedef struct key_plan {
    key_cond_t hash;
    key_cond_t range;
    int has_range;
} key_plan_t;

static int plan_key_condition(const tycho_expr_t *e, const key_attr_t *hash,
                              const key_attr_t *range, int has_range, key_plan_t *plan,
                              tycho_local_result_t *res)
{
    key_cond_t conds[2];
    int n = 0;
    memset(plan, 0, sizeof *plan);
    if (e->kind == TX_AND) {
        if (e->args[0]->kind == TX_AND || e->args[1]->kind == TX_AND) {
            verr(res, "Invalid KeyConditionExpression: KeyConditionExpressions must only contain "
                      "one condition per key");
            return -1;
        }
        if (one_key_cond(e->args[0], &conds[0], res) || one_key_cond(e->args[1], &conds[1], res))
            return -1;
        n = 2;
        if (strcmp(conds[0].attr, conds[1].attr) == 0) {
            verr(res, "Invalid KeyConditionExpression: KeyConditionExpressions must only contain "
                      "one condition per key");
            return -1;
        }
    } else {
        if (one_key_cond(e, &conds[0], res)) return -1;
        n = 1;
    }
    int have_hash = 0;
    for (int i = 0; i < n; i++) {
        if (strcmp(conds[i].attr, hash->name) == 0) {
            if (conds[i].kind != TX_EQ) {
                verr(res, "Query key condition not supported");
                return -1;
            }
            plan->hash = conds[i];
            have_hash = 1;
        } else if (has_range && strcmp(conds[i].attr, range->name) == 0) {
            plan->range = conds[i];
            plan->has_range = 1;
        } else {
            verr(res, "Query condition missed key schema element: %s",
                 has_range && have_hash ? range->name : hash->name);
            return -1;
        }
    }
    if (!have_hash) {
        verr(res, "Query condition missed key schema element: %s", hash->name);
        return -1;
    }
    if (tycho_av_type(plan->hash.v1) != hash->type ||
        (plan->has_range && (tycho_av_type(plan->range.v1) != range->type ||
                             (plan->range.v2 && tycho_av_type(plan->range.v2) != range->type)))) {
        verr(res, "One or more parameter values were invalid: Condition parameter type does not "
                  "match schema type");
        return -1;
    }
    if (plan->has_range && plan->range.kind == TX_BEGINS && range->type == TYCHO_AV_N) {
        verr(res, "Invalid KeyConditionExpression: Incorrect operand type for operator or "
                  "function; operator or function: begins_with, operand type: N");
        return -1;
    }
    return 0;
}

static void collect_heads(const tycho_expr_t *e, const char **heads, int *n, int cap)
{
    if (!e) return;
    if (e->kind == TX_PATH && *n < cap) heads[(*n)++] = e->path.elems[0].name;
    for (int i = 0; i < e->nargs; i++)
        collect_heads(e->args[i], heads, n, cap);
}

/* Adds an item's key attributes (table + index) to a LastEvaluatedKey. */
static cJSON *last_key(const table_t *t, const gsi_t *g, const cJSON *item)
{
    cJSON *k = cJSON_CreateObject();
    const key_attr_t *kas[4] = {&t->hash, t->has_range ? &t->range : NULL, g ? &g->hash : NULL,
                                g && g->has_range ? &g->range : NULL};
    for (int i = 0; i < 4; i++) {
        if (!kas[i] || cJSON_GetObjectItemCaseSensitive(k, kas[i]->name)) continue;
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(item, kas[i]->name);
        if (v) cJSON_AddItemToObject(k, kas[i]->name, cJSON_Duplicate(v, 1));
    }
    return k;
}

/* The item as a read sees it (takes item): on a GSI with a KEYS_ONLY or
 * INCLUDE projection, the keys and NonKeyAttributes only. As on AWS, a
 * FilterExpression or ProjectionExpression of a GSI read finds the other
 * attributes absent, and the read is sized by the index entry. */
static cJSON *as_read(const table_t *t, const gsi_t *g, cJSON *item)
{
    if (!g || g->projection == PROJ_ALL) return item;
    cJSON *o = last_key(t, g, item);
    if (g->projection == PROJ_INCLUDE)
        for (const cJSON *n = g->nonkey ? g->nonkey->child : NULL; n; n = n->next) {
            const cJSON *v =
                cJSON_IsString(n) ? cJSON_GetObjectItemCaseSensitive(item, n->valuestring) : NULL;
            if (v && !cJSON_GetObjectItemCaseSensitive(o, n->valuestring))
                cJSON_AddItemToObject(o, n->valuestring, cJSON_Duplicate(v, 1));
        }
    cJSON_Delete(item);
    return o;
}

typedef struct read_opts {
    const char *table;
    const char *index;
    long limit; /* 0: none */
    int forward;
    int select; /* 0 ALL_ATTRIBUTES, 1 ALL_PROJECTED, 2 SPECIFIC, 3 COUNT */
    int consistent;
    int cap;
    cJSON *esk;
    long segment, total_segments;
} read_opts_t;

static int read_opts_parse(cJSON *req, int query, const exprs_t *x, read_opts_t *o,
                           tycho_local_result_t *res)
{
    memset(o, 0, sizeof *o);
    o->forward = 1;
    const char *sel;
    if (table_name_arg(req, &o->table, res) || opt_str(req, "IndexName", &o->index, res) ||
        opt_str(req, "Select", &sel, res) || opt_bool(req, "ConsistentRead", &o->consistent, res) ||
        return_capacity(req, res, &o->cap) || opt_obj(req, "ExclusiveStartKey", &o->esk, res))
        return -1;
    if (query && opt_bool(req, "ScanIndexForward", &o->forward, res)) return -1;
    const cJSON *lim = cJSON_GetObjectItemCaseSensitive(req, "Limit");
    if (lim && !cJSON_IsNull(lim)) {
        if (!cJSON_IsNumber(lim)) {
            serr(res, "Unexpected value type in payload");
            return -1;
        }
        if (lim->valuedouble < 1) {
            verr(res,
                 "1 validation error detected: Value '%.0f' at 'limit' failed to satisfy "
                 "constraint: Member must have value greater than or equal to 1",
                 lim->valuedouble);
            return -1;
        }
        o->limit = lim->valuedouble > 1e9 ? 1000000000L : tycho_local_long(lim->valuedouble);
    }
    if (!query) {
        const cJSON *seg = cJSON_GetObjectItemCaseSensitive(req, "Segment");
        const cJSON *tot = cJSON_GetObjectItemCaseSensitive(req, "TotalSegments");
        if ((seg != NULL) != (tot != NULL)) {
            verr(res, "The TotalSegments parameter is required but was not present in the request "
                      "when Segment parameter is present");
            return -1;
        }
        if (seg) {
            if (!cJSON_IsNumber(seg) || !cJSON_IsNumber(tot)) {
                serr(res, "Unexpected value type in payload");
                return -1;
            }
            o->segment = tycho_local_long(seg->valuedouble);
            o->total_segments = tycho_local_long(tot->valuedouble);
            if (o->total_segments < 1 || o->total_segments > 1000000 || o->segment < 0 ||
                o->segment >= o->total_segments) {
                verr(res,
                     "The Segment parameter is zero-based and must be less than parameter "
                     "TotalSegments: Segment: %ld is out of bounds for TotalSegments: %ld",
                     o->segment, o->total_segments);
                return -1;
            }
        }
    }
    if (o->esk && check_av_map(o->esk, res)) return -1;
    if (o->index && check_name(o->index, "indexName", res)) return -1;
    o->select = o->index ? 1 : 0;
    if (x->projection) o->select = 2;
    if (sel) {
        static const char *const names[] = {"ALL_ATTRIBUTES", "ALL_PROJECTED_ATTRIBUTES",
                                            "SPECIFIC_ATTRIBUTES", "COUNT"};
        int found = -1;
        for (int i = 0; i < 4; i++)
            if (strcmp(sel, names[i]) == 0) found = i;
        if (found < 0) {
            verr(res,
                 "1 validation error detected: Value '%s' at 'select' failed to satisfy "
                 "constraint: Member must satisfy enum value set: [SPECIFIC_ATTRIBUTES, COUNT, "
                 "ALL_ATTRIBUTES, ALL_PROJECTED_ATTRIBUTES]",
                 sel);
            return -1;
        }
        if (x->projection && found != 2) {
            verr(res, "Cannot specify the ProjectionExpression when choosing to get %s", sel);
            return -1;
        }
        if (found == 2 && !x->projection) {
            verr(res, "One or more parameter values were invalid: Select type SPECIFIC_ATTRIBUTES "
                      "requires ProjectionExpression");
            return -1;
        }
        if (found == 1 && !o->index) {
            verr(res, "One or more parameter values were invalid: Select type "
                      "ALL_PROJECTED_ATTRIBUTES is supported only for index queries");
            return -1;
        }
        o->select = found;
    }
    return 0;
}

/* A hash of the partition key bytes, for parallel Scan segments. */
static unsigned long segment_of(const void *p, int n, long total)
{
    const unsigned char *b = p;
    unsigned long h = 1469598103u;
    for (int i = 0; i < n; i++)
        h = (h ^ b[i]) * 16777619u;
    return h % (unsigned long)total;
}

/* Whether a sort key value v satisfies a sort key condition. */
static int range_matches(const key_cond_t *c, const cJSON *v)
{
    int c1 = 0, c2 = 0;
    if (c->kind == TX_BEGINS) {
        tycho_buf_t a = TYCHO_BUF_INIT, b = TYCHO_BUF_INIT;
        int ok = !tycho_av_key_bytes(v, &a) && !tycho_av_key_bytes(c->v1, &b) && a.len >= b.len &&
                 (b.len == 0 || memcmp(a.data, b.data, b.len) == 0);
        tycho_buf_free(&a);
        tycho_buf_free(&b);
        return ok;
    }
    if (tycho_av_compare(v, c->v1, &c1) || (c->v2 && tycho_av_compare(v, c->v2, &c2))) return 0;
    switch (c->kind) {
    case TX_EQ:
        return c1 == 0;
    case TX_LT:
        return c1 < 0;
    case TX_LE:
        return c1 <= 0;
    case TX_GT:
        return c1 > 0;
    case TX_GE:
        return c1 >= 0;
    case TX_BETWEEN:
        return c1 >= 0 && c2 <= 0;
    default:
        return 0;
    }
}

/* A Query's ExclusiveStartKey must lie within its key condition: hash and
 * range are the start key's values for the queried (table or index) key.
 * The checks, their order and messages are dynalite's, which follow
 * DynamoDB's. 0, or -1 with the error set. */
static int start_key_in_bounds(const key_plan_t *plan, const cJSON *hash, const cJSON *range,
                               tycho_local_result_t *res)
{
    int cmp = 1;
    int same_hash = !tycho_av_compare(hash, plan->hash.v1, &cmp) && cmp == 0;
    if (!plan->has_range) {
        if (same_hash) return 0;
        verr(res, "The provided starting key is outside query boundaries based on provided "
                  "conditions");
        return -1;
    }
    if (!range_matches(&plan->range, range)) {
        verr(res, "The provided starting key does not match the range key predicate");
        return -1;
    }
    if (!same_hash) {
        verr(res, "The query can return at most one row and cannot be restarted");
        return -1;
    }
    return 0;
}

/* Runs a Query (plan != NULL) or Scan over the table or an index. */
static void run_read(tycho_local_store_t *s, const table_t *t, const gsi_t *g,
                     const key_plan_t *plan, const read_opts_t *o, const exprs_t *x, int64_t now_ms,
                     tycho_local_result_t *res)
{
    char sql[700];
    size_t n = 0;
    item_key_t esk = {TYCHO_BUF_INIT, TYCHO_BUF_INIT};
    tycho_buf_t egpk = TYCHO_BUF_INIT, egsk = TYCHO_BUF_INIT, hv = TYCHO_BUF_INIT,
                r1 = TYCHO_BUF_INIT, r2 = TYCHO_BUF_INIT;
    sqlite3_stmt *st = NULL;
    cJSON *out = NULL;
    /* Columns: 0 item, 1 pk, 2 sk. */
    if (!g)
        n += (size_t)snprintf(sql + n, sizeof sql - n,
                              "SELECT i.item, i.pk, i.sk FROM ddb_items i WHERE i.tbl = ?1");
    else
        n += (size_t)snprintf(sql + n, sizeof sql - n,
                              "SELECT i.item, i.pk, i.sk FROM ddb_index x JOIN ddb_items i ON "
                              "i.tbl = x.tbl AND i.pk = x.pk"
                              " AND i.sk = x.sk WHERE x.tbl = ?1 AND x.idx = ?2");
    const char *P = g ? "x.gpk" : "i.pk", *S = g ? "x.gsk" : "i.sk";
    if (plan) {
        tycho_av_key_bytes(plan->hash.v1, &hv);
        n += (size_t)snprintf(sql + n, sizeof sql - n, " AND %s = ?3", P);
        if (plan->has_range) {
            tycho_av_key_bytes(plan->range.v1, &r1);
            if (plan->range.v2) tycho_av_key_bytes(plan->range.v2, &r2);
            const char *op = NULL;
            switch (plan->range.kind) {
            case TX_EQ:
                op = "=";
                break;
            case TX_LT:
                op = "<";
                break;
            case TX_LE:
                op = "<=";
                break;
            case TX_GT:
                op = ">";
                break;
            case TX_GE:
                op = ">=";
                break;
            default:
                break;
            }
            if (op)
                n += (size_t)snprintf(sql + n, sizeof sql - n, " AND %s %s ?4", S, op);
            else if (plan->range.kind == TX_BETWEEN)
                n += (size_t)snprintf(sql + n, sizeof sql - n, " AND %s >= ?4 AND %s <= ?5", S, S);
            else /* begins_with on S/B: byte prefix */
                n += (size_t)snprintf(sql + n, sizeof sql - n,
                                      " AND substr(%s, 1, length(?4)) = ?4", S);
        }
    }
    if (o->esk) {
        /* The start key must hold exactly the table keys (+ index keys). */
        int want = 1 + t->has_range;
        if (g) {
            want += strcmp(g->hash.name, t->hash.name) != 0 &&
                    !(t->has_range && strcmp(g->hash.name, t->range.name) == 0);
            if (g->has_range)
                want += strcmp(g->range.name, t->hash.name) != 0 &&
                        !(t->has_range && strcmp(g->range.name, t->range.name) == 0);
        }
        const cJSON *eh = cJSON_GetObjectItemCaseSensitive(o->esk, t->hash.name);
        const cJSON *er =
            t->has_range ? cJSON_GetObjectItemCaseSensitive(o->esk, t->range.name) : NULL;
        const cJSON *gh = g ? cJSON_GetObjectItemCaseSensitive(o->esk, g->hash.name) : NULL;
        const cJSON *gr =
            g && g->has_range ? cJSON_GetObjectItemCaseSensitive(o->esk, g->range.name) : NULL;
        if (cJSON_GetArraySize(o->esk) != want || !eh || tycho_av_type(eh) != t->hash.type ||
            (t->has_range && (!er || tycho_av_type(er) != t->range.type)) ||
            (g && (!gh || tycho_av_type(gh) != g->hash.type)) ||
            (g && g->has_range && (!gr || tycho_av_type(gr) != g->range.type))) {
            verr(res, "The provided starting key is invalid: The provided key element does not "
                      "match the schema");
            goto out;
        }
        if (plan && start_key_in_bounds(plan, g ? gh : eh, g ? gr : er, res)) goto out;
        tycho_av_key_bytes(eh, &esk.pk);
        if (er) tycho_av_key_bytes(er, &esk.sk);
        if (gh) tycho_av_key_bytes(gh, &egpk);
        if (gr) tycho_av_key_bytes(gr, &egsk);
        const char *cmp = o->forward ? ">" : "<";
        if (!g && plan)
            n += (size_t)snprintf(sql + n, sizeof sql - n, " AND i.sk %s ?6", cmp);
        else if (!g)
            n += (size_t)snprintf(sql + n, sizeof sql - n, " AND (i.pk, i.sk) %s (?7, ?6)", cmp);
        else if (plan)
            n += (size_t)snprintf(sql + n, sizeof sql - n,
                                  " AND (x.gsk, x.pk, x.sk) %s (?8, ?7, ?6)", cmp);
        else
            n += (size_t)snprintf(sql + n, sizeof sql - n,
                                  " AND (x.gpk, x.gsk, x.pk, x.sk) %s (?9, ?8, ?7, ?6)", cmp);
    }
    const char *dir = o->forward ? "ASC" : "DESC";
    if (!g && plan)
        n += (size_t)snprintf(sql + n, sizeof sql - n, " ORDER BY i.sk %s", dir);
    else if (!g)
        n += (size_t)snprintf(sql + n, sizeof sql - n, " ORDER BY i.pk, i.sk");
    else if (plan)
        n += (size_t)snprintf(sql + n, sizeof sql - n, " ORDER BY x.gsk %s, x.pk %s, x.sk %s", dir,
                              dir, dir);
    else
        n += (size_t)snprintf(sql + n, sizeof sql - n, " ORDER BY x.gpk, x.gsk, x.pk, x.sk");
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
        internal(s, res);
        goto out;
    }
    sqlite3_bind_text(st, 1, t->name, -1, SQLITE_STATIC);
    if (g) sqlite3_bind_text(st, 2, g->name, -1, SQLITE_STATIC);
    if (plan) {
        sqlite3_bind_blob(st, 3, hv.data ? hv.data : "", (int)hv.len, SQLITE_STATIC);
        if (plan->has_range) {
            sqlite3_bind_blob(st, 4, r1.data ? r1.data : "", (int)r1.len, SQLITE_STATIC);
            if (plan->range.v2)
                sqlite3_bind_blob(st, 5, r2.data ? r2.data : "", (int)r2.len, SQLITE_STATIC);
        }
    }
    if (o->esk) {
        sqlite3_bind_blob(st, 6, esk.sk.data ? esk.sk.data : "", (int)esk.sk.len, SQLITE_STATIC);
        sqlite3_bind_blob(st, 7, esk.pk.data ? esk.pk.data : "", (int)esk.pk.len, SQLITE_STATIC);
        sqlite3_bind_blob(st, 8, egsk.data ? egsk.data : "", (int)egsk.len, SQLITE_STATIC);
        sqlite3_bind_blob(st, 9, egpk.data ? egpk.data : "", (int)egpk.len, SQLITE_STATIC);
    }
    out = cJSON_CreateObject();
    cJSON *items = o->select == 3 ? NULL : cJSON_CreateArray();
    long scanned = 0, count = 0;
    size_t bytes = 0;
    cJSON *lek = NULL;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (o->total_segments && segment_of(sqlite3_column_blob(st, 1), sqlite3_column_bytes(st, 1),
                                            o->total_segments) != (unsigned long)o->segment)
            continue;
        cJSON *item = cJSON_Parse((const char *)sqlite3_column_text(st, 0));
        if (!item) continue;
        if (ttl_expired(t, item, now_ms)) {
            cJSON_Delete(item);
            continue;
        }
        scanned++;
        item = as_read(t, g, item);
        bytes += tycho_av_item_size(item);
        int keep = !x->filter || tycho_expr_eval(x->filter, item);
        if (keep) {
            count++;
            if (items)
                cJSON_AddItemToArray(items, x->projection ? tycho_expr_project(x->projection, item)
                                                          : cJSON_Duplicate(item, 1));
        }
        if ((o->limit && scanned >= o->limit) || bytes >= PAGE_BYTES) {
            lek = last_key(t, g, item);
            cJSON_Delete(item);
            break;
        }
        cJSON_Delete(item);
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        cJSON_Delete(items);
        cJSON_Delete(lek);
        internal(s, res);
        goto out;
    }
    if (items) cJSON_AddItemToObject(out, "Items", items);
    cJSON_AddNumberToObject(out, "Count", (double)count);
    cJSON_AddNumberToObject(out, "ScannedCount", (double)scanned);
    if (lek) cJSON_AddItemToObject(out, "LastEvaluatedKey", lek);
    add_capacity(out, o->cap, t->name, read_units(bytes, o->consistent));
    tycho_local_ok(res, out);
out:
    sqlite3_finalize(st);
    cJSON_Delete(out);
    key_free(&esk);
    tycho_buf_free(&egpk);
    tycho_buf_free(&egsk);
    tycho_buf_free(&hv);
    tycho_buf_free(&r1);
    tycho_buf_free(&r2);
}

static int index_checks(const table_t *t, const read_opts_t *o, const gsi_t **g,
                        tycho_local_result_t *res)
{
    *g = NULL;
    if (!o->index) return 0;
    *g = find_gsi(t, o->index);
    if (!*g) {
        verr(res, "The table does not have the specified index: %s", o->index);
        return -1;
    }
    if (o->consistent) {
        verr(res, "Consistent reads are not supported on global secondary indexes");
        return -1;
    }
    if (o->select == 0 && (*g)->projection != PROJ_ALL) {
        verr(res,
             "One or more parameter values were invalid: Select type ALL_ATTRIBUTES is not "
             "supported for global secondary index %s because its projection type is not ALL",
             o->index);
        return -1;
    }
    return 0;
}

static void op_query(tycho_local_store_t *s, cJSON *req, int64_t now_ms, tycho_local_result_t *res)
{
    exprs_t x;
    read_opts_t o;
    table_t t;
    memset(&x, 0, sizeof x);
    if (reject_legacy(req, res) || parse_exprs(req, E_KEY | E_FILTER | E_PROJ, &x, res) ||
        read_opts_parse(req, 1, &x, &o, res))
        goto out0;
    if (!x.key_condition) {
        verr(res, "Either the KeyConditions or KeyConditionExpression parameter must be specified "
                  "in the request.");
        goto out0;
    }
    if (request_table(s, o.table, &t, res)) goto out0;
    const gsi_t *g;
    key_plan_t plan;
    if (index_checks(&t, &o, &g, res)) goto out1;
    if (plan_key_condition(x.key_condition, g ? &g->hash : &t.hash, g ? &g->range : &t.range,
                           g ? g->has_range : t.has_range, &plan, res))
        goto out1;
    if (x.filter) {
        const char *heads[TYCHO_EXPR_MAX_OPS * 3];
        int nh = 0;
        collect_heads(x.filter, heads, &nh, (int)(sizeof heads / sizeof heads[0]));
        const char *keys[2] = {g ? g->hash.name : t.hash.name,
                               (g ? g->has_range : t.has_range) ? (g ? g->range.name : t.range.name)
                                                                : NULL};
        for (int i = 0; i < nh; i++)
            for (int j = 0; j < 2; j++)
                if (keys[j] && strcmp(heads[i], keys[j]) == 0) {
                    verr(res,
                         "Filter Expression can only contain non-primary key attributes: Primary "
                         "key attribute: %s",
                         keys[j]);
                    goto out1;
                }
    }
    run_read(s, &t, g, &plan, &o, &x, now_ms, res);
out1:
    table_free(&t);
out0:
    exprs_free(&x);
}

static void op_scan(tycho_local_store_t *s, cJSON *req, int64_t now_ms, tycho_local_result_t *res)
{
    exprs_t x;
    read_opts_t o;
    table_t t;
    memset(&x, 0, sizeof x);
    if (reject_legacy(req, res) || parse_exprs(req, E_FILTER | E_PROJ, &x, res) ||
        read_opts_parse(req, 0, &x, &o, res))
        goto out0;
    if (request_table(s, o.table, &t, res)) goto out0;
    const gsi_t *g;
    if (!index_checks(&t, &o, &g, res)) run_read(s, &t, g, NULL, &o, &x, now_ms, res);
    table_free(&t);
out0:
    exprs_free(&x);
}

/* ---- batch operations --------------------------------------------------- */

static int key_seen(tycho_buf_t *seen, const char *table, const item_key_t *k)
{
    /* Entries: table NUL pk-len pk sk-len sk; linear scan (<= 100 keys). */
    tycho_buf_t e = TYCHO_BUF_INIT;
    size_t tl = strlen(table) + 1;
    uint32_t pl = (uint32_t)k->pk.len, sl = (uint32_t)k->sk.len;
    tycho_buf_append(&e, table, tl);
    tycho_buf_append(&e, &pl, 4);
    tycho_buf_append(&e, k->pk.data, pl);
    tycho_buf_append(&e, &sl, 4);
    tycho_buf_append(&e, k->sk.data, sl);
    int found = 0;
    size_t off = 0;
    while (off + 4 <= seen->len && !found) {
        uint32_t len;
        memcpy(&len, seen->data + off, 4);
        found = len == e.len && memcmp(seen->data + off + 4, e.data, len) == 0;
        off += 4 + len;
    }
    if (!found) {
        uint32_t len = (uint32_t)e.len;
        tycho_buf_append(seen, &len, 4);
        tycho_buf_append(seen, e.data, e.len);
    }
    tycho_buf_free(&e);
    return found;
}

/* RequestItems (a non-empty map of table names) and ReturnConsumedCapacity
 * of a batch operation. 0, or -1 with res set. */
static int batch_args(cJSON *req, cJSON **ri, int *cap, tycho_local_result_t *res)
{
    if (opt_obj(req, "RequestItems", ri, res) || return_capacity(req, res, cap)) return -1;
    if (!*ri || !(*ri)->child) {
        verr(res, "1 validation error detected: Value null at 'requestItems' failed to satisfy "
                  "constraint: Member must have length greater than or equal to 1");
        return -1;
    }
    return 0;
}

/* One table's entry in a batch's ConsumedCapacity (caps NULL: not asked). */
static void add_table_capacity(cJSON *caps, const char *table, double units)
{
    if (!caps) return;
    cJSON *c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "TableName", table);
    cJSON_AddNumberToObject(c, "CapacityUnits", units);
    cJSON_AddItemToArray(caps, c);
}

static void op_batch_write(tycho_local_store_t *s, cJSON *req, int64_t now_ms,
                           tycho_local_result_t *res)
{
    (void)now_ms;
    cJSON *ri;
    int cap;
    if (batch_args(req, &ri, &cap, res)) return;
    int total = 0;
    for (cJSON *tb = ri->child; tb; tb = tb->next) {
        if (!cJSON_IsArray(tb) || !tb->child) {
            verr(res,
                 "1 validation error detected: Value at 'requestItems.%s.member' failed to satisfy "
                 "constraint: Member must have length greater than or equal to 1",
                 tb->string);
            return;
        }
        if (!valid_name(tb->string, 3, 255)) {
            verr(res,
                 "1 validation error detected: Value '%s' at 'requestItems' failed to satisfy "
                 "constraint: Map keys must satisfy constraint: [Member must have length greater "
                 "than or equal to 3, Member must satisfy regular expression pattern: "
                 "[a-zA-Z0-9_.-]+]",
                 tb->string);
            return;
        }
        for (cJSON *w = tb->child; w; w = w->next) {
            total++;
            cJSON *put = cJSON_GetObjectItemCaseSensitive(w, "PutRequest");
            cJSON *del = cJSON_GetObjectItemCaseSensitive(w, "DeleteRequest");
            if ((put != NULL) == (del != NULL)) {
                verr(res, "Supplied AttributeValue has more than one datatypes set, must contain "
                          "exactly one of the supported datatypes");
                return;
            }
            cJSON *m = put ? cJSON_GetObjectItemCaseSensitive(put, "Item")
                           : cJSON_GetObjectItemCaseSensitive(del, "Key");
            if (!m) {
                verr(res,
                     "1 validation error detected: Value null at 'requestItems.%s.member.%s' "
                     "failed to satisfy constraint: Member must not be null",
                     tb->string, put ? "putRequest.item" : "deleteRequest.key");
                return;
            }
            if (check_av_map(m, res)) return;
        }
    }
    if (total > 25) {
        verr(res, "Too many items requested for the BatchWriteItem call");
        return;
    }
    tycho_buf_t seen = TYCHO_BUF_INIT;
    cJSON *caps = cap ? cJSON_CreateArray() : NULL;
    for (cJSON *tb = ri->child; tb; tb = tb->next) {
        table_t t;
        if (request_table(s, tb->string, &t, res)) goto fail;
        double units = 0;
        for (cJSON *w = tb->child; w; w = w->next) {
            cJSON *put = cJSON_GetObjectItemCaseSensitive(w, "PutRequest");
            cJSON *m = put ? cJSON_GetObjectItemCaseSensitive(put, "Item")
                           : cJSON_GetObjectItemCaseSensitive(
                                 cJSON_GetObjectItemCaseSensitive(w, "DeleteRequest"), "Key");
            item_key_t k;
            if ((put ? key_from_item(&t, m, &k, res) : key_from_key(&t, m, &k, res))) {
                table_free(&t);
                goto fail;
            }
            if (key_seen(&seen, t.name, &k)) {
                verr(res, "Provided list of item keys contains duplicates");
                key_free(&k);
                table_free(&t);
                goto fail;
            }
            int bad = 0;
            if (put && check_index_keys(&t, m, res))
                bad = 1;
            else if (put && tycho_av_item_size(m) > TYCHO_AV_ITEM_MAX) {
                verr(res, "Item size has exceeded the maximum allowed size");
                bad = 1;
            } else if (put ? item_put(s, &t, &k, m) : item_delete(s, &t, &k)) {
                internal(s, res);
                bad = 1;
            }
            units += write_units(put ? m : NULL, NULL);
            key_free(&k);
            if (bad) {
                table_free(&t);
                goto fail;
            }
        }
        add_table_capacity(caps, t.name, units);
        table_free(&t);
    }
    cJSON *out = cJSON_CreateObject();
    cJSON_AddObjectToObject(out, "UnprocessedItems");
    if (caps) {
        cJSON_AddItemToObject(out, "ConsumedCapacity", caps);
        caps = NULL;
    }
    tycho_local_ok(res, out);
    cJSON_Delete(out);
fail:
    cJSON_Delete(caps);
    tycho_buf_free(&seen);
}

static void op_batch_get(tycho_local_store_t *s, cJSON *req, int64_t now_ms,
                         tycho_local_result_t *res)
{
    cJSON *ri;
    int cap;
    if (batch_args(req, &ri, &cap, res)) return;
    int total = 0;
    for (cJSON *tb = ri->child; tb; tb = tb->next) {
        const cJSON *keys = cJSON_GetObjectItemCaseSensitive(tb, "Keys");
        if (!cJSON_IsObject(tb) || !cJSON_IsArray(keys) || !keys->child) {
            verr(res,
                 "1 validation error detected: Value at 'requestItems.%s.member.keys' failed to "
                 "satisfy constraint: Member must have length greater than or equal to 1",
                 tb->string);
            return;
        }
        if (reject_legacy(tb, res)) return;
        for (cJSON *k = keys->child; k; k = k->next) {
            total++;
            if (check_av_map(k, res)) return;
        }
    }
    if (total > 100) {
        verr(res, "Too many items requested for the BatchGetItem call");
        return;
    }
    tycho_buf_t seen = TYCHO_BUF_INIT;
    cJSON *out = cJSON_CreateObject();
    cJSON *resp = cJSON_AddObjectToObject(out, "Responses");
    cJSON *caps = cap ? cJSON_AddArrayToObject(out, "ConsumedCapacity") : NULL;
    for (cJSON *tb = ri->child; tb; tb = tb->next) {
        exprs_t x;
        table_t t;
        int consistent = 0;
        memset(&x, 0, sizeof x);
        if (opt_bool(tb, "ConsistentRead", &consistent, res) || parse_exprs(tb, E_PROJ, &x, res)) {
            exprs_free(&x); /* a failed parse keeps its context */
            goto fail;
        }
        if (request_table(s, tb->string, &t, res)) {
            exprs_free(&x);
            goto fail;
        }
        cJSON *arr = cJSON_AddArrayToObject(resp, tb->string);
        size_t bytes = 0;
        int bad = 0;
        for (cJSON *kj = cJSON_GetObjectItemCaseSensitive(tb, "Keys")->child; kj && !bad;
             kj = kj->next) {
            item_key_t k;
            if (key_from_key(&t, kj, &k, res)) {
                bad = 1;
                break;
            }
            if (key_seen(&seen, t.name, &k)) {
                verr(res, "Provided list of item keys contains duplicates");
                key_free(&k);
                bad = 1;
                break;
            }
            int err;
            cJSON *item = item_get(s, &t, &k, now_ms, &err);
            if (err) {
                internal(s, res);
                bad = 1;
            } else if (item) {
                bytes += tycho_av_item_size(item);
                cJSON_AddItemToArray(arr, x.projection ? tycho_expr_project(x.projection, item)
                                                       : cJSON_Duplicate(item, 1));
            }
            cJSON_Delete(item);
            key_free(&k);
        }
        if (!bad) add_table_capacity(caps, t.name, read_units(bytes, consistent));
        table_free(&t);
        exprs_free(&x);
        if (bad) goto fail;
    }
    cJSON_AddObjectToObject(out, "UnprocessedKeys");
    tycho_local_ok(res, out);
fail:
    cJSON_Delete(out);
    tycho_buf_free(&seen);
}

/* ---- TTL ------------------------------------------------------------------ */

/* tycho_ddb_ttl(item, attr): item_ttl as SQL, NULL when the item has none;
 * what tycho_local_ddb_fill_ttl sets ddb_items.ttl with. An item that does
 * not parse has none (as its reads find nothing). */
static void sql_item_ttl(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    const char *attr = (const char *)sqlite3_value_text(argv[1]);
    const char *json = (const char *)sqlite3_value_text(argv[0]);
    double ttl;
    cJSON *item = attr && json ? cJSON_Parse(json) : NULL;
    if (item && item_ttl(attr, item, &ttl))
        sqlite3_result_double(ctx, ttl);
    else
        sqlite3_result_null(ctx);
    cJSON_Delete(item);
}

int tycho_local_ddb_functions(tycho_local_store_t *s)
{
    return sqlite3_create_function(s->db, "tycho_ddb_ttl", 2,
                                   SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_DIRECTONLY, NULL,
                                   sql_item_ttl, NULL, NULL) == SQLITE_OK
               ? 0
               : -1;
}

int tycho_local_ddb_fill_ttl(tycho_local_store_t *s, const char *table)
{
    /* Only the rows whose TTL changes are written (SQLite would rewrite
     * every row it matches): disabling TTL, or enabling it on an attribute
     * few items have, writes few rows. tycho_ddb_ttl returns NULL without
     * parsing when the attribute is NULL. */
    sqlite3_stmt *st =
        table ? tycho_local_stmt(s, "WITH a(attr) AS (SELECT ttl_attr FROM ddb_tables WHERE name "
                                    "= ?1) UPDATE ddb_items SET ttl = tycho_ddb_ttl(item, (SELECT "
                                    "attr FROM a)) WHERE tbl = ?1 AND ttl IS NOT "
                                    "tycho_ddb_ttl(item, (SELECT attr FROM a))")
              : tycho_local_stmt(s, "UPDATE ddb_items SET ttl = tycho_ddb_ttl(item, (SELECT "
                                    "ttl_attr FROM ddb_tables WHERE name = ddb_items.tbl)) WHERE "
                                    "tbl IN (SELECT name FROM ddb_tables WHERE ttl_attr IS NOT "
                                    "NULL) AND ttl IS NOT tycho_ddb_ttl(item, (SELECT ttl_attr "
                                    "FROM ddb_tables WHERE name = ddb_items.tbl))");
    if (!st) return -1;
    if (table) sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* Sets (attr NULL: clears) table's TTL attribute and the TTL of each of its
 * items under it: reads every item of the table once. 0, or -1 (SQLite's
 * error on s->db). */
static int set_ttl_attr(tycho_local_store_t *s, const char *table, const char *attr)
{
    sqlite3_stmt *st = tycho_local_stmt(s, "UPDATE ddb_tables SET ttl_attr = ? WHERE name = ?");
    if (!st) return -1;
    if (attr) sqlite3_bind_text(st, 1, attr, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, table, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? tycho_local_ddb_fill_ttl(s, table) : -1;
}

static void op_update_ttl(tycho_local_store_t *s, cJSON *req, int64_t now_ms,
                          tycho_local_result_t *res)
{
    (void)now_ms;
    const char *name;
    cJSON *spec;
    table_t t;
    if (table_name_arg(req, &name, res) || opt_obj(req, "TimeToLiveSpecification", &spec, res))
        return;
    if (!spec) {
        verr(res, "1 validation error detected: Value null at 'timeToLiveSpecification' failed to "
                  "satisfy constraint: Member must not be null");
        return;
    }
    const char *attr;
    int enable = -1; /* absent */
    if (opt_bool(spec, "Enabled", &enable, res) || opt_str(spec, "AttributeName", &attr, res))
        return;
    if (enable < 0 || !attr) {
        verr(res,
             "1 validation error detected: Value null at 'timeToLiveSpecification.%s' failed to "
             "satisfy constraint: Member must not be null",
             enable >= 0 ? "attributeName" : "enabled");
        return;
    }
    size_t attr_len = strlen(attr);
    if (attr_len < 1 || attr_len > 255) {
        verr(res,
             "1 validation error detected: Value '%.*s%s' at "
             "'timeToLiveSpecification.attributeName' failed to satisfy constraint: Member must "
             "have length %s",
             attr_len > 255 ? 64 : (int)attr_len, attr, attr_len > 255 ? "..." : "",
             attr_len ? "less than or equal to 255" : "greater than or equal to 1");
        return;
    }
    if (request_table(s, name, &t, res)) return;
    if (enable && t.ttl_attr[0]) {
        verr(res, "TimeToLive is already enabled");
    } else if (!enable && !t.ttl_attr[0]) {
        verr(res, "TimeToLive is already disabled");
    } else if (!enable && strcmp(t.ttl_attr, attr) != 0) {
        verr(res, "The TimeToLive attribute name %s does not match the enabled attribute name %s",
             attr, t.ttl_attr);
    } else {
        if (set_ttl_attr(s, name, enable ? attr : NULL)) {
            internal(s, res);
        } else {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddBoolToObject(o, "Enabled", enable);
            cJSON_AddStringToObject(o, "AttributeName", attr);
            answer_member(res, "TimeToLiveSpecification", o);
        }
    }
    table_free(&t);
}

static void op_describe_ttl(tycho_local_store_t *s, cJSON *req, int64_t now_ms,
                            tycho_local_result_t *res)
{
    (void)now_ms;
    table_t t;
    if (named_table(s, req, &t, res)) return;
    cJSON *d = cJSON_CreateObject();
    cJSON_AddStringToObject(d, "TimeToLiveStatus", t.ttl_attr[0] ? "ENABLED" : "DISABLED");
    if (t.ttl_attr[0]) cJSON_AddStringToObject(d, "AttributeName", t.ttl_attr);
    answer_member(res, "TimeToLiveDescription", d);
    table_free(&t);
}

/* ---- dispatch ----------------------------------------------------------- */

typedef void (*ddb_op_fn)(tycho_local_store_t *, cJSON *, int64_t, tycho_local_result_t *);

void tycho_local_ddb_exec(tycho_local_store_t *s, const char *op, cJSON *req, int64_t now_ms,
                          tycho_local_result_t *res)
{
    static const struct {
        const char *name;
        ddb_op_fn fn;
    } ops[] = {{"CreateTable", op_create_table},
               {"DescribeTable", op_describe_table},
               {"DeleteTable", op_delete_table},
               {"ListTables", op_list_tables},
               {"PutItem", op_put_item},
               {"GetItem", op_get_item},
               {"DeleteItem", op_delete_item},
               {"UpdateItem", op_update_item},
               {"Query", op_query},
               {"Scan", op_scan},
               {"BatchWriteItem", op_batch_write},
               {"BatchGetItem", op_batch_get},
               {"UpdateTimeToLive", op_update_ttl},
               {"DescribeTimeToLive", op_describe_ttl}};
    static const char *const known[] = {"BatchExecuteStatement",
                                        "CreateBackup",
                                        "CreateGlobalTable",
                                        "DeleteBackup",
                                        "DeleteResourcePolicy",
                                        "DescribeBackup",
                                        "DescribeContinuousBackups",
                                        "DescribeContributorInsights",
                                        "DescribeEndpoints",
                                        "DescribeExport",
                                        "DescribeGlobalTable",
                                        "DescribeGlobalTableSettings",
                                        "DescribeImport",
                                        "DescribeKinesisStreamingDestination",
                                        "DescribeLimits",
                                        "DescribeTableReplicaAutoScaling",
                                        "DisableKinesisStreamingDestination",
                                        "EnableKinesisStreamingDestination",
                                        "ExecuteStatement",
                                        "ExecuteTransaction",
                                        "ExportTableToPointInTime",
                                        "GetResourcePolicy",
                                        "ImportTable",
                                        "ListBackups",
                                        "ListContributorInsights",
                                        "ListExports",
                                        "ListGlobalTables",
                                        "ListImports",
                                        "ListTagsOfResource",
                                        "PutResourcePolicy",
                                        "RestoreTableFromBackup",
                                        "RestoreTableToPointInTime",
                                        "TagResource",
                                        "TransactGetItems",
                                        "TransactWriteItems",
                                        "UntagResource",
                                        "UpdateContinuousBackups",
                                        "UpdateContributorInsights",
                                        "UpdateGlobalTable",
                                        "UpdateGlobalTableSettings",
                                        "UpdateKinesisStreamingDestination",
                                        "UpdateTable",
                                        "UpdateTableReplicaAutoScaling",
                                        NULL};
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        if (strcmp(op, ops[i].name) == 0) {
            ops[i].fn(s, req, now_ms, res);
            if (!res->body)
                tycho_local_error(res, 500, LT_DDB_INTERNAL, NULL, "local store: out of memory");
            return;
        }
    for (int i = 0; known[i]; i++)
        if (strcmp(op, known[i]) == 0) {
            verr(res, "%s is not supported by the tycho local backend", op);
            return;
        }
    tycho_local_error(res, 400, LT_UNKNOWN_OP, NULL, "Unknown operation DynamoDB_20120810.%s", op);
}

/* An expired item the sweep deletes. */
typedef struct due {
    char tbl[TYCHO_LOCAL_NAME_MAX];
    item_key_t k;
} due_t;

int tycho_local_ddb_sweep(tycho_local_store_t *s, int64_t now_ms, int max)
{
    /* Through ddb_items_ttl, the items of each table with TTL whose TTL is in
     * the window; collected first, deleted after, so no row changes under
     * the open cursor. CROSS JOIN keeps the tables as the outer loop: SQLite
     * (no ANALYZE statistics) would otherwise scan the whole index and look
     * up each entry's table. */
    sqlite3_stmt *st = tycho_local_stmt(
        s, "SELECT i.tbl, i.pk, i.sk FROM ddb_tables t CROSS JOIN ddb_items i ON i.tbl = t.name"
           " WHERE t.ttl_attr IS NOT NULL AND i.ttl >= ?1 AND i.ttl <= ?2 LIMIT ?3");
    due_t *due = max > 0 ? calloc((size_t)max, sizeof *due) : NULL;
    if (!st || !due) {
        free(due);
        return -1;
    }
    double lo, hi;
    ttl_window(now_ms, &lo, &hi);
    sqlite3_bind_double(st, 1, lo);
    sqlite3_bind_double(st, 2, hi);
    sqlite3_bind_int(st, 3, max);
    int n = 0, rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW && n < max) {
        due_t *d = &due[n++];
        snprintf(d->tbl, sizeof d->tbl, "%s", (const char *)sqlite3_column_text(st, 0));
        if (tycho_buf_append(&d->k.pk, sqlite3_column_blob(st, 1),
                             (size_t)sqlite3_column_bytes(st, 1)) ||
            tycho_buf_append(&d->k.sk, sqlite3_column_blob(st, 2),
                             (size_t)sqlite3_column_bytes(st, 2))) {
            rc = SQLITE_NOMEM;
            break;
        }
    }
    sqlite3_reset(st);
    int out = rc == SQLITE_DONE || rc == SQLITE_ROW ? n : -1;
    for (int i = 0; i < n; i++) {
        if (out >= 0 && row_delete(s, due[i].tbl, &due[i].k)) out = -1;
        key_free(&due[i].k);
    }
    free(due);
    return out;
}

/* ---- configuration ------------------------------------------------------ */

static int parse_attr_type(char *spec, char **name, const char **type)
{
    /* "name" or "name/T" */
    char *slash = strchr(spec, '/');
    *name = spec;
    *type = "S";
    if (slash) {
        *slash = '\0';
        *type = slash + 1;
    }
    return **name && (strcmp(*type, "S") == 0 || strcmp(*type, "N") == 0 || strcmp(*type, "B") == 0)
               ? 0
               : -1;
}

static void add_def(cJSON *defs, const char *name, const char *type)
{
    for (const cJSON *d = defs->child; d; d = d->next)
        if (strcmp(cJSON_GetObjectItemCaseSensitive(d, "AttributeName")->valuestring, name) == 0)
            return;
    cJSON *d = cJSON_CreateObject();
    cJSON_AddStringToObject(d, "AttributeName", name);
    cJSON_AddStringToObject(d, "AttributeType", type);
    cJSON_AddItemToArray(defs, d);
}

static void add_key(cJSON *ks, const char *name, const char *kt)
{
    cJSON *k = cJSON_CreateObject();
    cJSON_AddStringToObject(k, "AttributeName", name);
    cJSON_AddStringToObject(k, "KeyType", kt);
    cJSON_AddItemToArray(ks, k);
}

/* One entry of TYCHO_LOCAL_TABLES, checked:
 * table := name ':pk=' attr['/'T] [':sk=' attr['/'T]]
 *          (':gsi=' index '/' attr '/' T ['/' attr '/' T])* [':ttl=' attr]
 * with T one of S, N, B (default S); each key once but gsi. Example (the
 * default):
 *   tycho-app-data:pk=id/S:sk=timestamp/S:gsi=user-index/user_id/S/created_at/S:ttl=ttl */
typedef struct table_conf {
    const char *name, *ttl; /* ttl NULL: none */
    cJSON *req;             /* the CreateTable request the entry makes */
    cJSON *def;             /* the table definition built from it */
} table_conf_t;

/* gsi=index/attr/T[/attr/T] (v cut in place): adds the index to c->req. 0,
 * or -1 when v is not one. */
static int table_conf_gsi(table_conf_t *c, char *v)
{
    char *parts[5] = {0}, *save = NULL;
    int np = 0;
    for (char *p = strtok_r(v, "/", &save); p && np < 5; p = strtok_r(NULL, "/", &save))
        parts[np++] = p;
    if ((np != 3 && np != 5) || !valid_name(parts[0], 3, 255) ||
        tycho_av_type_from_name(parts[2]) > TYCHO_AV_B ||
        (np == 5 && tycho_av_type_from_name(parts[4]) > TYCHO_AV_B))
        return -1;
    cJSON *gsis = cJSON_GetObjectItemCaseSensitive(c->req, "GlobalSecondaryIndexes");
    if (!gsis) gsis = cJSON_AddArrayToObject(c->req, "GlobalSecondaryIndexes");
    cJSON *defs = cJSON_GetObjectItemCaseSensitive(c->req, "AttributeDefinitions");
    cJSON *g = cJSON_CreateObject();
    cJSON_AddStringToObject(g, "IndexName", parts[0]);
    cJSON *gks = cJSON_AddArrayToObject(g, "KeySchema");
    add_key(gks, parts[1], "HASH");
    add_def(defs, parts[1], parts[2]);
    if (np == 5) {
        add_key(gks, parts[3], "RANGE");
        add_def(defs, parts[3], parts[4]);
    }
    cJSON_AddStringToObject(cJSON_AddObjectToObject(g, "Projection"), "ProjectionType", "ALL");
    cJSON_AddItemToArray(gsis, g);
    return 0;
}

/* pk=attr[/T] or sk=attr[/T] (v cut in place): adds the key to c->req. 0,
 * or -1 when v is not one. */
static int table_conf_key(table_conf_t *c, const char *k, char *v)
{
    char *an;
    const char *at;
    if (parse_attr_type(v, &an, &at)) return -1;
    add_def(cJSON_GetObjectItemCaseSensitive(c->req, "AttributeDefinitions"), an, at);
    cJSON *ks = cJSON_GetObjectItemCaseSensitive(c->req, "KeySchema");
    add_key(ks, an, k[0] == 'p' ? "HASH" : "RANGE");
    if (k[0] == 'p' && cJSON_GetArraySize(ks) == 2) /* sk came first: HASH goes first */
        cJSON_AddItemToArray(ks, cJSON_DetachItemFromArray(ks, 0));
    return 0;
}

/* Reads one key=value into c. 0, or -1 with err naming the option as
 * written and what it takes. */
static int table_conf_option(table_conf_t *c, const char *k, char *v, char *err, size_t errlen)
{
    char written[300];
    snprintf(written, sizeof written, "%s=%s", k, v); /* before v is cut */
    const char *want;
    if (strcmp(k, "pk") == 0 || strcmp(k, "sk") == 0) {
        if (table_conf_key(c, k, v) == 0) return 0;
        want = "expected attr or attr/T with T in S, N, B";
    } else if (strcmp(k, "gsi") == 0) {
        if (table_conf_gsi(c, v) == 0) return 0;
        want = "expected index/attr/T[/attr/T], the index named with 3-255 of A-Z a-z 0-9 _ . "
               "-, T in S, N, B";
    } else if (strcmp(k, "ttl") == 0) {
        c->ttl = v;
        if (*v && strlen(v) <= 255) return 0;
        want = "expected an attribute name (1-255 bytes)";
    } else {
        want = "unknown key (pk, sk, gsi, ttl)";
    }
    snprintf(err, errlen, "table %s: %s: %s", c->name, written, want);
    return -1;
}

/* Checks entry e into c (c->req and c->def are the caller's to delete, even
 * on error), CreateTable's own checks included; now_ms is the creation time
 * c->def gets. 0, or -1 with err. */
static int table_conf_parse(const tycho_local_spec_entry_t *e, int64_t now_ms, table_conf_t *c,
                            char *err, size_t errlen)
{
    memset(c, 0, sizeof *c);
    c->name = e->name;
    if (!valid_name(e->name, 3, 255)) {
        snprintf(err, errlen, "invalid table name \"%s\" (3-255 of A-Z a-z 0-9 _ . -)", e->name);
        return -1;
    }
    c->req = cJSON_CreateObject();
    if (!c->req || !cJSON_AddArrayToObject(c->req, "AttributeDefinitions") ||
        !cJSON_AddArrayToObject(c->req, "KeySchema") ||
        !cJSON_AddStringToObject(c->req, "TableName", c->name) ||
        !cJSON_AddStringToObject(c->req, "BillingMode", "PAY_PER_REQUEST")) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int have_pk = 0;
    for (int i = 0; i < e->nopts; i++) {
        if (table_conf_option(c, e->opts[i].key, e->opts[i].value, err, errlen)) return -1;
        have_pk |= strcmp(e->opts[i].key, "pk") == 0;
    }
    if (!have_pk) {
        snprintf(err, errlen, "table %s: pk=attr[/T] is required", c->name);
        return -1;
    }
    tycho_local_result_t tmp;
    memset(&tmp, 0, sizeof tmp);
    c->def = build_table_def(c->req, now_ms, &tmp);
    if (!c->def) {
        cJSON *body = tmp.body ? cJSON_Parse(tmp.body) : NULL;
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(body, "message");
        snprintf(err, errlen, "table %s: %s", c->name,
                 cJSON_IsString(m) ? m->valuestring : "out of memory");
        cJSON_Delete(body);
    }
    tycho_local_result_free(&tmp);
    return c->def ? 0 : -1;
}

/* t's keys as TYCHO_LOCAL_TABLES writes them: "pk=id/S[:sk=ts/S]". */
static void key_spec(const table_t *t, char *out, size_t n)
{
    int k = snprintf(out, n, "pk=%s/%s", t->hash.name, tycho_av_type_name(t->hash.type));
    if (t->has_range && k > 0 && (size_t)k < n)
        snprintf(out + k, n - (size_t)k, ":sk=%s/%s", t->range.name,
                 tycho_av_type_name(t->range.type));
}

/* An existing table must have c's keys. 0, or -1 with err naming the
 * table, both key schemas and the ways out. */
static int table_conf_same_keys(const table_conf_t *c, const table_t *t, char *err, size_t errlen)
{
    table_t want;
    memset(&want, 0, sizeof want);
    want.def = cJSON_Duplicate(c->req, 1);
    table_decode(&want);
    int same = strcmp(want.hash.name, t->hash.name) == 0 && want.hash.type == t->hash.type &&
               want.has_range == t->has_range &&
               (!want.has_range ||
                (strcmp(want.range.name, t->range.name) == 0 && want.range.type == t->range.type));
    char stored[600], configured[600];
    key_spec(t, stored, sizeof stored);
    key_spec(&want, configured, sizeof configured);
    table_free(&want);
    if (same) return 0;
    snprintf(err, errlen,
             "table %s: stored with keys %s, configured with %s; to keep its items, configure "
             "%s; to start it anew as configured, delete the table (DeleteTable) or use another "
             "TYCHO_DATA_DIR",
             c->name, stored, configured, stored);
    return -1;
}

/* Sets the TTL attribute of table c. 0, or -1 with err. */
static int table_conf_ttl(tycho_local_store_t *s, const table_conf_t *c, char *err, size_t errlen)
{
    int rc = set_ttl_attr(s, c->name, c->ttl);
    if (rc) snprintf(err, errlen, "table %s: %s", c->name, sqlite3_errmsg(s->db));
    return rc;
}

/* Creates table c unless it exists (then its keys must match) and sets its
 * TTL attribute unless it has one. 0, or -1 with err. */
static int table_conf_apply(tycho_local_store_t *s, const table_conf_t *c, char *err, size_t errlen)
{
    tycho_local_result_t tmp;
    table_t t;
    memset(&tmp, 0, sizeof tmp);
    int f = table_load(s, c->name, &t, &tmp);
    int rc = 0;
    if (f < 0) {
        snprintf(err, errlen, "table %s: %s", c->name, sqlite3_errmsg(s->db));
        rc = -1;
    } else if (f) {
        rc = table_conf_same_keys(c, &t, err, errlen);
    } else {
        if (table_insert(s, c->name, c->def)) {
            snprintf(err, errlen, "table %s: %s", c->name, sqlite3_errmsg(s->db));
            rc = -1;
        }
    }
    if (!rc && c->ttl && (f == 0 || !t.ttl_attr[0])) rc = table_conf_ttl(s, c, err, errlen);
    table_free(&t);
    tycho_local_result_free(&tmp);
    return rc;
}

int tycho_local_ddb_configure(tycho_local_store_t *s, const char *spec, int64_t now_ms, char *err,
                              size_t errlen)
{
    char *copy = strdup(spec ? spec : ""), *rest = copy;
    if (!copy) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    tycho_local_spec_entry_t e;
    int more = 0, rc = 0;
    while (!rc && (more = tycho_local_spec_next(&rest, "table", "gsi", &e, err, errlen)) > 0) {
        table_conf_t c;
        rc = table_conf_parse(&e, now_ms, &c, err, errlen);
        if (!rc && s) rc = table_conf_apply(s, &c, err, errlen);
        cJSON_Delete(c.req);
        cJSON_Delete(c.def);
    }
    free(copy);
    return rc || more < 0 ? -1 : 0;
}
