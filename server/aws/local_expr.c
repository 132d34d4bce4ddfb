/* local_expr — see local_expr.h. Grammar and checks follow the DynamoDB
 * developer guide "Expressions" chapter (comparison operator and function
 * reference, update expressions, reserved words); error wording follows
 * DynamoDB as reproduced by dynalite 4.0.0 (PEERS.md item 1). */
#include "aws/local_expr.h"
#include "aws/local_av.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- reserved words (DynamoDB developer guide, "Reserved words") ------- */

static const char *const RESERVED[] = {
    "ABORT",
    "ABSOLUTE",
    "ACTION",
    "ADD",
    "AFTER",
    "AGENT",
    "AGGREGATE",
    "ALL",
    "ALLOCATE",
    "ALTER",
    "ANALYZE",
    "AND",
    "ANY",
    "ARCHIVE",
    "ARE",
    "ARRAY",
    "AS",
    "ASC",
    "ASCII",
    "ASENSITIVE",
    "ASSERTION",
    "ASYMMETRIC",
    "AT",
    "ATOMIC",
    "ATTACH",
    "ATTRIBUTE",
    "AUTH",
    "AUTHORIZATION",
    "AUTHORIZE",
    "AUTO",
    "AVG",
    "BACK",
    "BACKUP",
    "BASE",
    "BATCH",
    "BEFORE",
    "BEGIN",
    "BETWEEN",
    "BIGINT",
    "BINARY",
    "BIT",
    "BLOB",
    "BLOCK",
    "BOOLEAN",
    "BOTH",
    "BREADTH",
    "BUCKET",
    "BULK",
    "BY",
    "BYTE",
    "CALL",
    "CALLED",
    "CALLING",
    "CAPACITY",
    "CASCADE",
    "CASCADED",
    "CASE",
    "CAST",
    "CATALOG",
    "CHAR",
    "CHARACTER",
    "CHECK",
    "CLASS",
    "CLOB",
    "CLOSE",
    "CLUSTER",
    "CLUSTERED",
    "CLUSTERING",
    "CLUSTERS",
    "COALESCE",
    "COLLATE",
    "COLLATION",
    "COLLECTION",
    "COLUMN",
    "COLUMNS",
    "COMBINE",
    "COMMENT",
    "COMMIT",
    "COMPACT",
    "COMPILE",
    "COMPRESS",
    "CONDITION",
    "CONFLICT",
    "CONNECT",
    "CONNECTION",
    "CONSISTENCY",
    "CONSISTENT",
    "CONSTRAINT",
    "CONSTRAINTS",
    "CONSTRUCTOR",
    "CONSUMED",
    "CONTINUE",
    "CONVERT",
    "COPY",
    "CORRESPONDING",
    "COUNT",
    "COUNTER",
    "CREATE",
    "CROSS",
    "CUBE",
    "CURRENT",
    "CURSOR",
    "CYCLE",
    "DATA",
    "DATABASE",
    "DATE",
    "DATETIME",
    "DAY",
    "DEALLOCATE",
    "DEC",
    "DECIMAL",
    "DECLARE",
    "DEFAULT",
    "DEFERRABLE",
    "DEFERRED",
    "DEFINE",
    "DEFINED",
    "DEFINITION",
    "DELETE",
    "DELIMITED",
    "DEPTH",
    "DEREF",
    "DESC",
    "DESCRIBE",
    "DESCRIPTOR",
    "DETACH",
    "DETERMINISTIC",
    "DIAGNOSTICS",
    "DIRECTORIES",
    "DISABLE",
    "DISCONNECT",
    "DISTINCT",
    "DISTRIBUTE",
    "DO",
    "DOMAIN",
    "DOUBLE",
    "DROP",
    "DUMP",
    "DURATION",
    "DYNAMIC",
    "EACH",
    "ELEMENT",
    "ELSE",
    "ELSEIF",
    "EMPTY",
    "ENABLE",
    "END",
    "EQUAL",
    "EQUALS",
    "ERROR",
    "ESCAPE",
    "ESCAPED",
    "EVAL",
    "EVALUATE",
    "EXCEEDED",
    "EXCEPT",
    "EXCEPTION",
    "EXCEPTIONS",
    "EXCLUSIVE",
    "EXEC",
    "EXECUTE",
    "EXISTS",
    "EXIT",
    "EXPLAIN",
    "EXPLODE",
    "EXPORT",
    "EXPRESSION",
    "EXTENDED",
    "EXTERNAL",
    "EXTRACT",
    "FAIL",
    "FALSE",
    "FAMILY",
    "FETCH",
    "FIELDS",
    "FILE",
    "FILTER",
    "FILTERING",
    "FINAL",
    "FINISH",
    "FIRST",
    "FIXED",
    "FLATTERN",
    "FLOAT",
    "FOR",
    "FORCE",
    "FOREIGN",
    "FORMAT",
    "FORWARD",
    "FOUND",
    "FREE",
    "FROM",
    "FULL",
    "FUNCTION",
    "FUNCTIONS",
    "GENERAL",
    "GENERATE",
    "GET",
    "GLOB",
    "GLOBAL",
    "GO",
    "GOTO",
    "GRANT",
    "GREATER",
    "GROUP",
    "GROUPING",
    "HANDLER",
    "HASH",
    "HAVE",
    "HAVING",
    "HEAP",
    "HIDDEN",
    "HOLD",
    "HOUR",
    "IDENTIFIED",
    "IDENTITY",
    "IF",
    "IGNORE",
    "IMMEDIATE",
    "IMPORT",
    "IN",
    "INCLUDING",
    "INCLUSIVE",
    "INCREMENT",
    "INCREMENTAL",
    "INDEX",
    "INDEXED",
    "INDEXES",
    "INDICATOR",
    "INFINITE",
    "INITIALLY",
    "INLINE",
    "INNER",
    "INNTER",
    "INOUT",
    "INPUT",
    "INSENSITIVE",
    "INSERT",
    "INSTEAD",
    "INT",
    "INTEGER",
    "INTERSECT",
    "INTERVAL",
    "INTO",
    "INVALIDATE",
    "IS",
    "ISOLATION",
    "ITEM",
    "ITEMS",
    "ITERATE",
    "JOIN",
    "KEY",
    "KEYS",
    "LAG",
    "LANGUAGE",
    "LARGE",
    "LAST",
    "LATERAL",
    "LEAD",
    "LEADING",
    "LEAVE",
    "LEFT",
    "LENGTH",
    "LESS",
    "LEVEL",
    "LIKE",
    "LIMIT",
    "LIMITED",
    "LINES",
    "LIST",
    "LOAD",
    "LOCAL",
    "LOCALTIME",
    "LOCALTIMESTAMP",
    "LOCATION",
    "LOCATOR",
    "LOCK",
    "LOCKS",
    "LOG",
    "LOGED",
    "LONG",
    "LOOP",
    "LOWER",
    "MAP",
    "MATCH",
    "MATERIALIZED",
    "MAX",
    "MAXLEN",
    "MEMBER",
    "MERGE",
    "METHOD",
    "METRICS",
    "MIN",
    "MINUS",
    "MINUTE",
    "MISSING",
    "MOD",
    "MODE",
    "MODIFIES",
    "MODIFY",
    "MODULE",
    "MONTH",
    "MULTI",
    "MULTISET",
    "NAME",
    "NAMES",
    "NATIONAL",
    "NATURAL",
    "NCHAR",
    "NCLOB",
    "NEW",
    "NEXT",
    "NO",
    "NONE",
    "NOT",
    "NULL",
    "NULLIF",
    "NUMBER",
    "NUMERIC",
    "OBJECT",
    "OF",
    "OFFLINE",
    "OFFSET",
    "OLD",
    "ON",
    "ONLINE",
    "ONLY",
    "OPAQUE",
    "OPEN",
    "OPERATOR",
    "OPTION",
    "OR",
    "ORDER",
    "ORDINALITY",
    "OTHER",
    "OTHERS",
    "OUT",
    "OUTER",
    "OUTPUT",
    "OVER",
    "OVERLAPS",
    "OVERRIDE",
    "OWNER",
    "PAD",
    "PARALLEL",
    "PARAMETER",
    "PARAMETERS",
    "PARTIAL",
    "PARTITION",
    "PARTITIONED",
    "PARTITIONS",
    "PATH",
    "PERCENT",
    "PERCENTILE",
    "PERMISSION",
    "PERMISSIONS",
    "PIPE",
    "PIPELINED",
    "PLAN",
    "POOL",
    "POSITION",
    "PRECISION",
    "PREPARE",
    "PRESERVE",
    "PRIMARY",
    "PRIOR",
    "PRIVATE",
    "PRIVILEGES",
    "PROCEDURE",
    "PROCESSED",
    "PROJECT",
    "PROJECTION",
    "PROPERTY",
    "PROVISIONING",
    "PUBLIC",
    "PUT",
    "QUERY",
    "QUIT",
    "QUORUM",
    "RAISE",
    "RANDOM",
    "RANGE",
    "RANK",
    "RAW",
    "READ",
    "READS",
    "REAL",
    "REBUILD",
    "RECORD",
    "RECURSIVE",
    "REDUCE",
    "REF",
    "REFERENCE",
    "REFERENCES",
    "REFERENCING",
    "REGEXP",
    "REGION",
    "REINDEX",
    "RELATIVE",
    "RELEASE",
    "REMAINDER",
    "RENAME",
    "REPEAT",
    "REPLACE",
    "REQUEST",
    "RESET",
    "RESIGNAL",
    "RESOURCE",
    "RESPONSE",
    "RESTORE",
    "RESTRICT",
    "RESULT",
    "RETURN",
    "RETURNING",
    "RETURNS",
    "REVERSE",
    "REVOKE",
    "RIGHT",
    "ROLE",
    "ROLES",
    "ROLLBACK",
    "ROLLUP",
    "ROUTINE",
    "ROW",
    "ROWS",
    "RULE",
    "RULES",
    "SAMPLE",
    "SATISFIES",
    "SAVE",
    "SAVEPOINT",
    "SCAN",
    "SCHEMA",
    "SCOPE",
    "SCROLL",
    "SEARCH",
    "SECOND",
    "SECTION",
    "SEGMENT",
    "SEGMENTS",
    "SELECT",
    "SELF",
    "SEMI",
    "SENSITIVE",
    "SEPARATE",
    "SEQUENCE",
    "SERIALIZABLE",
    "SESSION",
    "SET",
    "SETS",
    "SHARD",
    "SHARE",
    "SHARED",
    "SHORT",
    "SHOW",
    "SIGNAL",
    "SIMILAR",
    "SIZE",
    "SKEWED",
    "SMALLINT",
    "SNAPSHOT",
    "SOME",
    "SOURCE",
    "SPACE",
    "SPACES",
    "SPARSE",
    "SPECIFIC",
    "SPECIFICTYPE",
    "SPLIT",
    "SQL",
    "SQLCODE",
    "SQLERROR",
    "SQLEXCEPTION",
    "SQLSTATE",
    "SQLWARNING",
    "START",
    "STATE",
    "STATIC",
    "STATUS",
    "STORAGE",
    "STORE",
    "STORED",
    "STREAM",
    "STRING",
    "STRUCT",
    "STYLE",
    "SUB",
    "SUBMULTISET",
    "SUBPARTITION",
    "SUBSTRING",
    "SUBTYPE",
    "SUM",
    "SUPER",
    "SYMMETRIC",
    "SYNONYM",
    "SYSTEM",
    "TABLE",
    "TABLESAMPLE",
    "TEMP",
    "TEMPORARY",
    "TERMINATED",
    "TEXT",
    "THAN",
    "THEN",
    "THROUGHPUT",
    "TIME",
    "TIMESTAMP",
    "TIMEZONE",
    "TINYINT",
    "TO",
    "TOKEN",
    "TOTAL",
    "TOUCH",
    "TRAILING",
    "TRANSACTION",
    "TRANSFORM",
    "TRANSLATE",
    "TRANSLATION",
    "TREAT",
    "TRIGGER",
    "TRIM",
    "TRUE",
    "TRUNCATE",
    "TTL",
    "TUPLE",
    "TYPE",
    "UNDER",
    "UNDO",
    "UNION",
    "UNIQUE",
    "UNIT",
    "UNKNOWN",
    "UNLOGGED",
    "UNNEST",
    "UNPROCESSED",
    "UNSIGNED",
    "UNTIL",
    "UPDATE",
    "UPPER",
    "URL",
    "USAGE",
    "USE",
    "USER",
    "USERS",
    "USING",
    "UUID",
    "VACUUM",
    "VALUE",
    "VALUED",
    "VALUES",
    "VARCHAR",
    "VARIABLE",
    "VARIANCE",
    "VARINT",
    "VARYING",
    "VIEW",
    "VIEWS",
    "VIRTUAL",
    "VOID",
    "WAIT",
    "WHEN",
    "WHENEVER",
    "WHERE",
    "WHILE",
    "WINDOW",
    "WITH",
    "WITHIN",
    "WITHOUT",
    "WORK",
    "WRAPPED",
    "WRITE",
    "YEAR",
    "ZONE",
};

static int cmp_word(const void *a, const void *b)
{
    return strcmp((const char *)a, *(const char *const *)b);
}

int tycho_expr_is_reserved(const char *word)
{
    char up[64];
    size_t n = strlen(word);
    if (n >= sizeof up) return 0;
    for (size_t i = 0; i <= n; i++)
        up[i] = (char)toupper((unsigned char)word[i]);
    return bsearch(up, RESERVED, sizeof RESERVED / sizeof RESERVED[0], sizeof RESERVED[0],
                   cmp_word) != NULL;
}

/* ---- context and arena --------------------------------------------------- */

typedef struct arena_block {
    struct arena_block *next;
    size_t used, cap;
    _Alignas(16) char data[];
} arena_block_t;

typedef enum {
    T_EOF,
    T_IDENT,
    T_NAMEREF,
    T_VALREF,
    T_NUM,
    T_LP,
    T_RP,
    T_LB,
    T_RB,
    T_COMMA,
    T_DOT,
    T_EQ,
    T_NE,
    T_LT,
    T_LE,
    T_GT,
    T_GE,
    T_PLUS,
    T_MINUS,
    T_BAD
} tok_type_t;

typedef struct tok {
    tok_type_t type;
    size_t start, len;
} tok_t;

struct tycho_expr_ctx {
    const cJSON *names;
    cJSON *values;
    arena_block_t *arena;
    const cJSON **used;
    size_t nused, capused;
    int has_err;
    char err[768];
    /* current parse */
    const char *src;
    size_t len, pos;
    const char *what;
    tok_t cur, prev;
    int ops, depth;
};

static void *arena_alloc(tycho_expr_ctx_t *ctx, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    arena_block_t *b = ctx->arena;
    if (!b || b->cap - b->used < n) {
        size_t cap = n > 4096 ? n : 4096;
        b = malloc(sizeof *b + cap);
        if (!b) return NULL;
        b->next = ctx->arena;
        b->used = 0;
        b->cap = cap;
        ctx->arena = b;
    }
    void *p = b->data + b->used;
    b->used += n;
    memset(p, 0, n);
    return p;
}

static char *arena_strndup(tycho_expr_ctx_t *ctx, const char *s, size_t n)
{
    char *p = arena_alloc(ctx, n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

static void set_err_raw(tycho_expr_ctx_t *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void set_err_raw(tycho_expr_ctx_t *ctx, const char *fmt, ...)
{
    if (ctx->has_err) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ctx->err, sizeof ctx->err, fmt, ap);
    va_end(ap);
    ctx->has_err = 1;
}

/* An error inside an expression: "Invalid <what>: <detail>". */
static void set_err(tycho_expr_ctx_t *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void set_err(tycho_expr_ctx_t *ctx, const char *fmt, ...)
{
    if (ctx->has_err) return;
    char detail[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    set_err_raw(ctx, "Invalid %s: %s", ctx->what, detail);
}

static void oom(tycho_expr_ctx_t *ctx)
{
    set_err_raw(ctx, "out of memory");
}

/* Room for element n in arr, an arena array of *cap elements of size bytes:
 * arr itself while n < *cap, else a copy twice as large (*cap updated; the
 * old block stays in the arena). NULL on ENOMEM (error set). */
static void *arena_room(tycho_expr_ctx_t *ctx, void *arr, int n, int *cap, size_t size)
{
    if (n < *cap) return arr;
    void *grown = arena_alloc(ctx, size * (size_t)*cap * 2);
    if (!grown) {
        oom(ctx);
        return NULL;
    }
    memcpy(grown, arr, size * (size_t)*cap);
    *cap *= 2;
    return grown;
}

const char *tycho_expr_error(const tycho_expr_ctx_t *ctx)
{
    return ctx && ctx->has_err ? ctx->err : NULL;
}

static int key_ok(const char *k, char sigil)
{
    if (k[0] != sigil || !k[1]) return 0;
    for (const char *p = k + 1; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '_') return 0;
    return 1;
}

tycho_expr_ctx_t *tycho_expr_ctx_new(const cJSON *names, cJSON *values)
{
    tycho_expr_ctx_t *ctx = calloc(1, sizeof *ctx);
    if (!ctx) return NULL;
    ctx->names = names;
    ctx->values = values;
    if (names) {
        if (!cJSON_IsObject(names)) {
            set_err_raw(ctx, "ExpressionAttributeNames must be a map");
            return ctx;
        }
        if (!names->child) set_err_raw(ctx, "ExpressionAttributeNames must not be empty");
        for (const cJSON *c = names->child; c && !ctx->has_err; c = c->next) {
            if (!key_ok(c->string, '#'))
                set_err_raw(
                    ctx, "ExpressionAttributeNames contains invalid key: Syntax error; key: \"%s\"",
                    c->string);
            else if (!cJSON_IsString(c))
                set_err_raw(ctx, "ExpressionAttributeNames contains invalid value for key %s",
                            c->string);
            else if (!c->valuestring[0])
                set_err_raw(ctx,
                            "ExpressionAttributeNames contains invalid value: Empty attribute name "
                            "for key %s",
                            c->string);
        }
    }
    if (values && !ctx->has_err) {
        if (!cJSON_IsObject(values)) {
            set_err_raw(ctx, "ExpressionAttributeValues must be a map");
            return ctx;
        }
        if (!values->child) set_err_raw(ctx, "ExpressionAttributeValues must not be empty");
        for (cJSON *c = values->child; c && !ctx->has_err; c = c->next) {
            tycho_av_err_t e;
            if (!key_ok(c->string, ':'))
                set_err_raw(
                    ctx,
                    "ExpressionAttributeValues contains invalid key: Syntax error; key: \"%s\"",
                    c->string);
            else if (tycho_av_validate(c, &e))
                set_err_raw(ctx, "ExpressionAttributeValues contains invalid value: %s for key %s",
                            e.msg, c->string);
        }
    }
    return ctx;
}

void tycho_expr_ctx_free(tycho_expr_ctx_t *ctx)
{
    if (!ctx) return;
    while (ctx->arena) {
        arena_block_t *n = ctx->arena->next;
        free(ctx->arena);
        ctx->arena = n;
    }
    free(ctx->used);
    free(ctx);
}

static void mark_used(tycho_expr_ctx_t *ctx, const cJSON *item)
{
    for (size_t i = 0; i < ctx->nused; i++)
        if (ctx->used[i] == item) return;
    if (ctx->nused == ctx->capused) {
        size_t cap = ctx->capused ? ctx->capused * 2 : 16;
        const cJSON **u = realloc(ctx->used, cap * sizeof *u);
        if (!u) {
            oom(ctx);
            return;
        }
        ctx->used = u;
        ctx->capused = cap;
    }
    ctx->used[ctx->nused++] = item;
}

static int check_unused_map(tycho_expr_ctx_t *ctx, const cJSON *map, const char *what)
{
    char keys[512];
    size_t k = 0;
    keys[0] = '\0';
    for (const cJSON *c = map ? map->child : NULL; c; c = c->next) {
        int found = 0;
        for (size_t i = 0; i < ctx->nused && !found; i++)
            found = ctx->used[i] == c;
        if (!found && k < sizeof keys - 1)
            k += (size_t)snprintf(keys + k, sizeof keys - k, "%s%s", k ? ", " : "", c->string);
    }
    if (keys[0]) {
        set_err_raw(ctx, "Value provided in %s unused in expressions: keys: {%s}", what, keys);
        return -1;
    }
    return 0;
}

int tycho_expr_check_unused(tycho_expr_ctx_t *ctx)
{
    if (ctx->has_err) return -1;
    if (check_unused_map(ctx, ctx->names, "ExpressionAttributeNames")) return -1;
    return check_unused_map(ctx, ctx->values, "ExpressionAttributeValues");
}

/* ---- tokenizer ---------------------------------------------------------- */

static int is_word(int c)
{
    return isalnum(c) || c == '_';
}

/* Steps *q over c when c is the character there (two-character operators). */
static int then_char(const tycho_expr_ctx_t *ctx, size_t *q, char c)
{
    if (*q >= ctx->len || ctx->src[*q] != c) return 0;
    (*q)++;
    return 1;
}

static void next(tycho_expr_ctx_t *ctx)
{
    const char *s = ctx->src;
    size_t p = ctx->pos;
    ctx->prev = ctx->cur;
    while (p < ctx->len && (s[p] == ' ' || s[p] == '\t' || s[p] == '\r' || s[p] == '\n'))
        p++;
    tok_t t = {T_EOF, p, 0};
    if (p >= ctx->len) {
        ctx->cur = t;
        ctx->pos = p;
        return;
    }
    unsigned char c = (unsigned char)s[p];
    size_t q = p + 1;
    if (isalpha(c) || c == '_') {
        while (q < ctx->len && is_word((unsigned char)s[q]))
            q++;
        t.type = T_IDENT;
    } else if (c == '#' || c == ':') {
        while (q < ctx->len && is_word((unsigned char)s[q]))
            q++;
        t.type = q == p + 1 ? T_BAD : (c == '#' ? T_NAMEREF : T_VALREF);
    } else if (isdigit(c)) {
        while (q < ctx->len && isdigit((unsigned char)s[q]))
            q++;
        t.type = T_NUM;
    } else {
        switch (c) {
        case '(':
            t.type = T_LP;
            break;
        case ')':
            t.type = T_RP;
            break;
        case '[':
            t.type = T_LB;
            break;
        case ']':
            t.type = T_RB;
            break;
        case ',':
            t.type = T_COMMA;
            break;
        case '.':
            t.type = T_DOT;
            break;
        case '=':
            t.type = T_EQ;
            break;
        case '+':
            t.type = T_PLUS;
            break;
        case '-':
            t.type = T_MINUS;
            break;
        case '<':
            t.type = then_char(ctx, &q, '=') ? T_LE : then_char(ctx, &q, '>') ? T_NE : T_LT;
            break;
        case '>':
            t.type = then_char(ctx, &q, '=') ? T_GE : T_GT;
            break;
        default:
            /* One UTF-8 sequence, so messages quote whole characters. */
            while (q < ctx->len && ((unsigned char)s[q] & 0xC0) == 0x80)
                q++;
            t.type = T_BAD;
        }
    }
    t.len = q - p;
    ctx->cur = t;
    ctx->pos = q;
}

static int tok_is_kw(const tycho_expr_ctx_t *ctx, const tok_t *t, const char *kw)
{
    size_t n = strlen(kw);
    return t->type == T_IDENT && t->len == n && strncasecmp(ctx->src + t->start, kw, n) == 0;
}

static int is_kw(const tycho_expr_ctx_t *ctx, const char *kw)
{
    return tok_is_kw(ctx, &ctx->cur, kw);
}

static void syntax_error(tycho_expr_ctx_t *ctx)
{
    char tokbuf[64], near[96];
    const tok_t *t = &ctx->cur;
    if (t->type == T_EOF)
        snprintf(tokbuf, sizeof tokbuf, "<EOF>");
    else
        snprintf(tokbuf, sizeof tokbuf, "%.*s", (int)(t->len > 40 ? 40 : t->len),
                 ctx->src + t->start);
    size_t from = ctx->prev.type == T_EOF && ctx->prev.len == 0 && ctx->prev.start == 0
                      ? t->start
                      : ctx->prev.start;
    if (from > t->start) from = t->start;
    size_t to = t->start + t->len;
    if (to - from > 60) from = to - 60;
    snprintf(near, sizeof near, "%.*s", (int)(to - from), ctx->src + from);
    set_err(ctx, "Syntax error; token: \"%s\", near: \"%s\"", tokbuf, near);
}

static int expect(tycho_expr_ctx_t *ctx, tok_type_t type)
{
    if (ctx->cur.type != type) {
        syntax_error(ctx);
        return -1;
    }
    next(ctx);
    return 0;
}

/* Starts parsing s as the request member what, on its first token. -1 when
 * the context already holds an error or s is empty or too long (error set). */
static int begin(tycho_expr_ctx_t *ctx, const char *what, const char *s)
{
    if (ctx->has_err) return -1;
    ctx->what = what;
    ctx->src = s;
    ctx->len = strlen(s);
    ctx->pos = 0;
    ctx->ops = 0;
    ctx->depth = 0;
    memset(&ctx->cur, 0, sizeof ctx->cur);
    memset(&ctx->prev, 0, sizeof ctx->prev);
    if (ctx->len == 0) {
        set_err(ctx, "The expression can not be empty;");
        return -1;
    }
    if (ctx->len > TYCHO_EXPR_MAX_LEN) {
        set_err(ctx, "Expression size has exceeded the maximum allowed size; expression size: %zu",
                ctx->len);
        return -1;
    }
    next(ctx);
    return 0;
}

static int count_op(tycho_expr_ctx_t *ctx)
{
    if (++ctx->ops > TYCHO_EXPR_MAX_OPS) {
        set_err(ctx, "The expression contains too many operators; operator count: %d", ctx->ops);
        return -1;
    }
    return 0;
}

/* ---- paths -------------------------------------------------------------- */

/* The entry of map (names or values) that placeholder token t names, marked
 * used; NULL with the error "<undefined><key>" when map has no such key. */
static const cJSON *placeholder(tycho_expr_ctx_t *ctx, const cJSON *map, const tok_t *t,
                                const char *undefined)
{
    char key[256];
    snprintf(key, sizeof key, "%.*s", (int)(t->len > 250 ? 250 : t->len), ctx->src + t->start);
    const cJSON *item = map ? cJSON_GetObjectItemCaseSensitive(map, key) : NULL;
    if (!item) {
        set_err(ctx, "%s%s", undefined, key);
        return NULL;
    }
    mark_used(ctx, item);
    return item;
}

/* Every name found is a string: tycho_expr_ctx_new refuses any other value
 * and no parse starts on a context with an error. */
static const char *resolve_name(tycho_expr_ctx_t *ctx, const tok_t *t)
{
    const cJSON *item = placeholder(ctx, ctx->names, t,
                                    "An expression attribute name used in the document path is not "
                                    "defined; attribute name: ");
    return item ? item->valuestring : NULL;
}

static const cJSON *resolve_value(tycho_expr_ctx_t *ctx, const tok_t *t)
{
    return placeholder(ctx, ctx->values, t,
                       "An expression attribute value used in expression is not defined; "
                       "attribute value: ");
}

static const char *path_name(tycho_expr_ctx_t *ctx)
{
    tok_t t = ctx->cur;
    if (t.type == T_NAMEREF) {
        next(ctx);
        return resolve_name(ctx, &t);
    }
    if (t.type == T_IDENT) {
        char *w = arena_strndup(ctx, ctx->src + t.start, t.len);
        if (!w) {
            oom(ctx);
            return NULL;
        }
        if (tycho_expr_is_reserved(w)) {
            set_err(ctx, "Attribute name is a reserved keyword; reserved keyword: %s", w);
            return NULL;
        }
        next(ctx);
        return w;
    }
    syntax_error(ctx);
    return NULL;
}

static int parse_path(tycho_expr_ctx_t *ctx, tycho_expr_path_t *out)
{
    tycho_expr_elem_t tmp[64];
    int n = 0;
    const char *first = path_name(ctx);
    if (!first) return -1;
    tmp[n].name = first;
    tmp[n++].index = -1;
    for (;;) {
        if (ctx->cur.type == T_DOT) {
            next(ctx);
            const char *nm = path_name(ctx);
            if (!nm) return -1;
            if (n == (int)(sizeof tmp / sizeof tmp[0])) goto too_deep;
            tmp[n].name = nm;
            tmp[n++].index = -1;
        } else if (ctx->cur.type == T_LB) {
            next(ctx);
            if (ctx->cur.type != T_NUM) {
                syntax_error(ctx);
                return -1;
            }
            long v = 0;
            for (size_t i = 0; i < ctx->cur.len; i++) {
                v = v * 10 + (ctx->src[ctx->cur.start + i] - '0');
                if (v > INT_MAX) {
                    set_err(ctx, "List index is too large");
                    return -1;
                }
            }
            next(ctx);
            if (expect(ctx, T_RB)) return -1;
            if (n == (int)(sizeof tmp / sizeof tmp[0])) goto too_deep;
            tmp[n].name = NULL;
            tmp[n++].index = v;
        } else {
            break;
        }
    }
    out->n = n;
    out->elems = arena_alloc(ctx, sizeof(tycho_expr_elem_t) * (size_t)n);
    if (!out->elems) {
        oom(ctx);
        return -1;
    }
    memcpy(out->elems, tmp, sizeof(tycho_expr_elem_t) * (size_t)n);
    return 0;
too_deep:
    set_err(ctx, "The document path has too many nesting levels; nesting levels: %d", n + 1);
    return -1;
}

void tycho_expr_path_str(const tycho_expr_path_t *p, char *out, size_t outlen)
{
    size_t k = 0;
    k += (size_t)snprintf(out + k, outlen - k, "[");
    for (int i = 0; i < p->n && k < outlen; i++) {
        if (p->elems[i].name)
            k += (size_t)snprintf(out + k, outlen - k, "%s%s", i ? ", " : "", p->elems[i].name);
        else
            k += (size_t)snprintf(out + k, outlen - k, "%s[%ld]", i ? ", " : "", p->elems[i].index);
    }
    if (k < outlen) snprintf(out + k, outlen - k, "]");
}

static int path_eq(const tycho_expr_path_t *a, const tycho_expr_path_t *b)
{
    if (a->n != b->n) return 0;
    for (int i = 0; i < a->n; i++) {
        const tycho_expr_elem_t *x = &a->elems[i], *y = &b->elems[i];
        if ((x->name == NULL) != (y->name == NULL)) return 0;
        if (x->name ? strcmp(x->name, y->name) != 0 : x->index != y->index) return 0;
    }
    return 1;
}

/* 0 disjoint, 1 overlap (one a prefix of the other), 2 conflict. */
static int path_relation(const tycho_expr_path_t *a, const tycho_expr_path_t *b)
{
    int n = a->n < b->n ? a->n : b->n;
    for (int i = 0; i < n; i++) {
        const tycho_expr_elem_t *x = &a->elems[i], *y = &b->elems[i];
        if ((x->name == NULL) != (y->name == NULL)) return 2;
        if (x->name ? strcmp(x->name, y->name) != 0 : x->index != y->index) return 0;
    }
    return 1;
}

static int check_overlaps(tycho_expr_ctx_t *ctx, const tycho_expr_path_t *paths, size_t stride,
                          int n)
{
    for (int i = 0; i < n; i++)
        for (int j = 0; j < i; j++) {
            const tycho_expr_path_t *a = (const void *)((const char *)paths + stride * (size_t)j);
            const tycho_expr_path_t *b = (const void *)((const char *)paths + stride * (size_t)i);
            int r = path_relation(a, b);
            if (r) {
                char sa[256], sb[256];
                tycho_expr_path_str(a, sa, sizeof sa);
                tycho_expr_path_str(b, sb, sizeof sb);
                set_err(ctx,
                        "Two document paths %s with each other; must remove or rewrite one of "
                        "these paths; path one: %s, path two: %s",
                        r == 1 ? "overlap" : "conflict", sa, sb);
                return -1;
            }
        }
    return 0;
}

/* ---- condition parser --------------------------------------------------- */

/* A node of kind k over nargs operands, copied from args (NULL when nargs is
 * 0). NULL on ENOMEM (error set). */
static tycho_expr_t *node(tycho_expr_ctx_t *ctx, tycho_expr_kind_t k, int nargs,
                          tycho_expr_t *const *args)
{
    tycho_expr_t *e = arena_alloc(ctx, sizeof *e);
    if (!e) {
        oom(ctx);
        return NULL;
    }
    e->kind = k;
    e->nargs = nargs;
    if (nargs) {
        e->args = arena_alloc(ctx, sizeof(tycho_expr_t *) * (size_t)nargs);
        if (!e->args) {
            oom(ctx);
            return NULL;
        }
        memcpy(e->args, args, sizeof(tycho_expr_t *) * (size_t)nargs);
    }
    return e;
}

/* Counts the operator under the cursor against TYCHO_EXPR_MAX_OPS and steps
 * over it. */
static int take_op(tycho_expr_ctx_t *ctx)
{
    if (count_op(ctx)) return -1;
    next(ctx);
    return 0;
}

static int is_bool_fn(const tycho_expr_t *e)
{
    return e->kind == TX_EXISTS || e->kind == TX_NOT_EXISTS || e->kind == TX_TYPE ||
           e->kind == TX_BEGINS || e->kind == TX_CONTAINS;
}

/* How DynamoDB's messages name each operator and function. */
static const char *const KIND_NAMES[] = {
    [TX_EQ] = "=",
    [TX_NE] = "<>",
    [TX_LT] = "<",
    [TX_LE] = "<=",
    [TX_GT] = ">",
    [TX_GE] = ">=",
    [TX_BETWEEN] = "BETWEEN",
    [TX_IN] = "IN",
    [TX_PLUS] = "+",
    [TX_MINUS] = "-",
    [TX_EXISTS] = "attribute_exists",
    [TX_NOT_EXISTS] = "attribute_not_exists",
    [TX_TYPE] = "attribute_type",
    [TX_BEGINS] = "begins_with",
    [TX_CONTAINS] = "contains",
    [TX_SIZE] = "size",
    [TX_IF_NOT_EXISTS] = "if_not_exists",
    [TX_LIST_APPEND] = "list_append",
};

static const char *kind_name(tycho_expr_kind_t k)
{
    const char *name = (size_t)k < sizeof KIND_NAMES / sizeof KIND_NAMES[0] ? KIND_NAMES[k] : NULL;
    return name ? name : "?";
}

static tycho_av_type_t literal_type(const tycho_expr_t *e)
{
    return e->kind == TX_VALUE ? tycho_av_type(e->value) : TYCHO_AV_INVALID;
}

static void fn_not_allowed(tycho_expr_ctx_t *ctx, tycho_expr_kind_t fn)
{
    set_err(ctx, "The function is not allowed to be used this way in an expression; function: %s",
            kind_name(fn));
}

static void bad_operand_type(tycho_expr_ctx_t *ctx, tycho_expr_kind_t k, const char *type)
{
    set_err(ctx,
            "Incorrect operand type for operator or function; operator or function: %s, operand "
            "type: %s",
            kind_name(k), type);
}

static void wrong_arity(tycho_expr_ctx_t *ctx, tycho_expr_kind_t fn, int n)
{
    set_err(ctx,
            "Incorrect number of operands for operator or function; operator or function: %s, "
            "number of operands: %d",
            kind_name(fn), n);
}

static int misused(tycho_expr_ctx_t *ctx, const tycho_expr_t *e)
{
    if (e && (is_bool_fn(e) || e->kind == TX_IF_NOT_EXISTS || e->kind == TX_LIST_APPEND)) {
        fn_not_allowed(ctx, e->kind);
        return -1;
    }
    return 0;
}

static int require_path(tycho_expr_ctx_t *ctx, tycho_expr_kind_t fn, const tycho_expr_t *arg)
{
    if (arg->kind != TX_PATH) {
        set_err(ctx, "Operator or function requires a document path; operator or function: %s",
                kind_name(fn));
        return -1;
    }
    return 0;
}

#define AV_BIT(t) (1u << (t))

/* -1 (error set) when one of the n operands of k is a literal whose type is
 * not in allowed, a mask of AV_BIT()s. Paths are checked at evaluation. */
static int check_literals(tycho_expr_ctx_t *ctx, tycho_expr_kind_t k, tycho_expr_t *const *args,
                          int n, unsigned allowed)
{
    for (int i = 0; i < n; i++) {
        tycho_av_type_t t = literal_type(args[i]);
        if (t != TYCHO_AV_INVALID && !(allowed & AV_BIT(t))) {
            bad_operand_type(ctx, k, tycho_av_type_name(t));
            return -1;
        }
    }
    return 0;
}

static int check_distinct(tycho_expr_ctx_t *ctx, tycho_expr_kind_t k, const tycho_expr_t *a,
                          const tycho_expr_t *b)
{
    if (a->kind == TX_PATH && b->kind == TX_PATH && path_eq(&a->path, &b->path)) {
        char s[256];
        tycho_expr_path_str(&a->path, s, sizeof s);
        set_err(ctx,
                "The first operand must be distinct from the remaining operands for this operator "
                "or function; operator: %s, first operand: %s",
                kind_name(k), s);
        return -1;
    }
    return 0;
}

/* A function call is a name directly followed by '(' (whitespace allowed). */
static int at_call(const tycho_expr_ctx_t *ctx)
{
    if (ctx->cur.type != T_IDENT) return 0;
    size_t p = ctx->pos;
    while (p < ctx->len && isspace((unsigned char)ctx->src[p]))
        p++;
    return p < ctx->len && ctx->src[p] == '(';
}

/* Which of the n functions in fns the call under the cursor names (names
 * are case-sensitive); TX_PATH (error set) for any other name. */
static tycho_expr_kind_t function_named(tycho_expr_ctx_t *ctx, const tycho_expr_kind_t *fns,
                                        size_t n)
{
    const tok_t *t = &ctx->cur;
    for (size_t i = 0; i < n; i++) {
        const char *name = kind_name(fns[i]);
        if (t->len == strlen(name) && strncmp(ctx->src + t->start, name, t->len) == 0)
            return fns[i];
    }
    set_err(ctx, "Invalid function name; function: %.*s", (int)(t->len > 64 ? 64 : t->len),
            ctx->src + t->start);
    return TX_PATH;
}

/* The arguments of the call to fn under the cursor, "name ( a, b, ... )",
 * each read by operand; the first nargs land in args. 0, or -1 (error set)
 * when one does not parse or there are not exactly nargs (reading stops at
 * the ninth). */
static int p_call_args(tycho_expr_ctx_t *ctx, tycho_expr_kind_t fn, int nargs,
                       tycho_expr_t *(*operand)(tycho_expr_ctx_t *), tycho_expr_t **args)
{
    int n = 0;
    next(ctx); /* name */
    next(ctx); /* ( */
    if (ctx->cur.type != T_RP) {
        for (;;) {
            tycho_expr_t *a = operand(ctx);
            if (!a) return -1;
            if (n == 8) {
                wrong_arity(ctx, fn, n + 1);
                return -1;
            }
            if (n < nargs) args[n] = a;
            n++;
            if (ctx->cur.type != T_COMMA) break;
            next(ctx);
        }
    }
    if (expect(ctx, T_RP)) return -1;
    if (n != nargs) {
        wrong_arity(ctx, fn, n);
        return -1;
    }
    return 0;
}

/* A :value placeholder. */
static tycho_expr_t *p_value(tycho_expr_ctx_t *ctx)
{
    tok_t t = ctx->cur;
    if (t.type != T_VALREF) {
        syntax_error(ctx);
        return NULL;
    }
    next(ctx);
    tycho_expr_t *e = node(ctx, TX_VALUE, 0, NULL);
    if (!e || !(e->value = resolve_value(ctx, &t))) return NULL;
    return e;
}

/* A document path or a :value placeholder: an operand that is not a call. */
static tycho_expr_t *p_path_or_value(tycho_expr_ctx_t *ctx)
{
    if (ctx->cur.type == T_IDENT || ctx->cur.type == T_NAMEREF) {
        tycho_expr_t *e = node(ctx, TX_PATH, 0, NULL);
        if (!e || parse_path(ctx, &e->path)) return NULL;
        return e;
    }
    return p_value(ctx);
}

static tycho_expr_t *p_operand(tycho_expr_ctx_t *ctx);

/* An argument of a condition function: a path or a value, not a call. */
static tycho_expr_t *p_function_arg(tycho_expr_ctx_t *ctx)
{
    tycho_expr_t *a = p_operand(ctx);
    if (a && a->kind != TX_PATH && a->kind != TX_VALUE) {
        fn_not_allowed(ctx, a->kind);
        return NULL;
    }
    return a;
}

static tycho_expr_t *p_function(tycho_expr_ctx_t *ctx)
{
    static const tycho_expr_kind_t fns[] = {TX_EXISTS, TX_NOT_EXISTS, TX_TYPE,
                                            TX_BEGINS, TX_CONTAINS,   TX_SIZE};
    tycho_expr_kind_t k = function_named(ctx, fns, sizeof fns / sizeof fns[0]);
    if (k == TX_PATH || count_op(ctx)) return NULL;
    int nargs = k == TX_EXISTS || k == TX_NOT_EXISTS || k == TX_SIZE ? 1 : 2;
    tycho_expr_t *args[2];
    if (p_call_args(ctx, k, nargs, p_function_arg, args)) return NULL;
    tycho_expr_t *e = node(ctx, k, nargs, args);
    if (!e || (nargs == 2 && check_distinct(ctx, k, args[0], args[1]))) return NULL;
    switch (k) {
    case TX_EXISTS:
    case TX_NOT_EXISTS:
        if (require_path(ctx, k, args[0])) return NULL;
        break;
    case TX_TYPE: {
        tycho_av_type_t t = literal_type(args[1]);
        if (t != TYCHO_AV_S) {
            bad_operand_type(ctx, k,
                             t == TYCHO_AV_INVALID ? "{NS,SS,L,BS,N,M,B,BOOL,NULL,S}"
                                                   : tycho_av_type_name(t));
            return NULL;
        }
        const char *tn = tycho_av_payload(args[1]->value)->valuestring;
        if (tycho_av_type_from_name(tn) == TYCHO_AV_INVALID) {
            set_err(ctx,
                    "Invalid attribute type name found; type: %s, valid types: "
                    "{B,NULL,SS,BOOL,L,BS,N,NS,S,M}",
                    tn);
            return NULL;
        }
        break;
    }
    case TX_BEGINS:
        if (check_literals(ctx, k, args, 2, AV_BIT(TYCHO_AV_S) | AV_BIT(TYCHO_AV_B))) return NULL;
        break;
    case TX_SIZE:
        if (check_literals(ctx, k, args, 1,
                           ~(AV_BIT(TYCHO_AV_N) | AV_BIT(TYCHO_AV_BOOL) | AV_BIT(TYCHO_AV_NULL))))
            return NULL;
        break;
    default:
        break;
    }
    return e;
}

static tycho_expr_t *p_operand(tycho_expr_ctx_t *ctx)
{
    if (at_call(ctx)) return p_function(ctx);
    if (is_kw(ctx, "AND") || is_kw(ctx, "OR") || is_kw(ctx, "NOT") || is_kw(ctx, "BETWEEN") ||
        is_kw(ctx, "IN")) {
        syntax_error(ctx);
        return NULL;
    }
    return p_path_or_value(ctx);
}

/* An operand right of a comparator: no boolean or update function there. */
static tycho_expr_t *p_compared(tycho_expr_ctx_t *ctx)
{
    tycho_expr_t *e = p_operand(ctx);
    return e && !misused(ctx, e) ? e : NULL;
}

static tycho_expr_kind_t comparator(tok_type_t t)
{
    switch (t) {
    case T_EQ:
        return TX_EQ;
    case T_NE:
        return TX_NE;
    case T_LT:
        return TX_LT;
    case T_LE:
        return TX_LE;
    case T_GT:
        return TX_GT;
    case T_GE:
        return TX_GE;
    default:
        return TX_PATH; /* none */
    }
}

/* Literal bounds must have one type and be in order. */
static int check_bounds(tycho_expr_ctx_t *ctx, const tycho_expr_t *lo, const tycho_expr_t *hi)
{
    if (lo->kind != TX_VALUE || hi->kind != TX_VALUE) return 0;
    tycho_av_type_t tl = literal_type(lo), th = literal_type(hi);
    char bl[300], bh[300];
    const cJSON *pl = tycho_av_payload(lo->value), *ph = tycho_av_payload(hi->value);
    snprintf(bl, sizeof bl, "{%s:%s}", tycho_av_type_name(tl),
             cJSON_IsString(pl) ? pl->valuestring : "...");
    snprintf(bh, sizeof bh, "{%s:%s}", tycho_av_type_name(th),
             cJSON_IsString(ph) ? ph->valuestring : "...");
    int c;
    if (tl != th) {
        set_err(ctx,
                "The BETWEEN operator requires same data type for lower and upper bounds; "
                "lower bound operand: AttributeValue: %s, upper bound operand: "
                "AttributeValue: %s",
                bl, bh);
        return -1;
    }
    if (tycho_av_compare(lo->value, hi->value, &c) == 0 && c > 0) {
        set_err(ctx,
                "The BETWEEN operator requires upper bound to be greater than or equal to "
                "lower bound; lower bound operand: AttributeValue: %s, upper bound "
                "operand: AttributeValue: %s",
                bl, bh);
        return -1;
    }
    return 0;
}

/* "a BETWEEN lo AND hi", the cursor on BETWEEN. */
static tycho_expr_t *p_between(tycho_expr_ctx_t *ctx, tycho_expr_t *a)
{
    if (take_op(ctx)) return NULL;
    tycho_expr_t *lo = p_compared(ctx);
    if (!lo) return NULL;
    if (!is_kw(ctx, "AND")) {
        syntax_error(ctx);
        return NULL;
    }
    next(ctx);
    tycho_expr_t *hi = p_compared(ctx);
    if (!hi || check_bounds(ctx, lo, hi)) return NULL;
    return node(ctx, TX_BETWEEN, 3, (tycho_expr_t *[]){a, lo, hi});
}

/* "a IN (v1, ...)" with at most 100 values, the cursor on IN. */
static tycho_expr_t *p_in(tycho_expr_ctx_t *ctx, tycho_expr_t *a)
{
    if (take_op(ctx) || expect(ctx, T_LP)) return NULL;
    tycho_expr_t *list[101];
    int n = 0;
    list[n++] = a;
    for (;;) {
        tycho_expr_t *v = p_compared(ctx);
        if (!v) return NULL;
        if (n == 101) {
            set_err(ctx,
                    "The IN operator is provided with too many operands; number of operands: %d",
                    n);
            return NULL;
        }
        list[n++] = v;
        if (ctx->cur.type != T_COMMA) break;
        next(ctx);
    }
    if (expect(ctx, T_RP)) return NULL;
    return node(ctx, TX_IN, n, list);
}

static tycho_expr_t *p_or(tycho_expr_ctx_t *ctx);

static tycho_expr_t *p_comparison(tycho_expr_ctx_t *ctx)
{
    tycho_expr_t *a = p_operand(ctx);
    if (!a) return NULL;
    tycho_expr_kind_t k = comparator(ctx->cur.type);
    int between = is_kw(ctx, "BETWEEN"), in = is_kw(ctx, "IN");
    if (is_bool_fn(a)) {
        if (k != TX_PATH || between || in) {
            misused(ctx, a);
            return NULL;
        }
        return a;
    }
    if (k != TX_PATH) {
        if (take_op(ctx)) return NULL;
        tycho_expr_t *b = p_compared(ctx);
        if (!b || check_distinct(ctx, k, a, b)) return NULL;
        return node(ctx, k, 2, (tycho_expr_t *[]){a, b});
    }
    if (between) return p_between(ctx, a);
    if (in) return p_in(ctx, a);
    if (a->kind == TX_SIZE) {
        fn_not_allowed(ctx, TX_SIZE);
        return NULL;
    }
    syntax_error(ctx);
    return NULL;
}

static tycho_expr_t *p_primary(tycho_expr_ctx_t *ctx)
{
    if (ctx->cur.type == T_LP) {
        if (++ctx->depth > TYCHO_EXPR_MAX_DEPTH) {
            set_err(ctx, "The expression has too many nested parentheses");
            return NULL;
        }
        next(ctx);
        int doubled = ctx->cur.type == T_LP;
        size_t inner_start = ctx->cur.start;
        tycho_expr_t *e = p_or(ctx);
        if (!e || expect(ctx, T_RP)) return NULL;
        /* "((x))" — DynamoDB rejects parentheses that group nothing new. */
        if (doubled && ctx->prev.type == T_RP && ctx->src[inner_start] == '(') {
            size_t close = ctx->prev.start;
            size_t q = close;
            while (q > inner_start && isspace((unsigned char)ctx->src[q - 1]))
                q--;
            if (q > inner_start && ctx->src[q - 1] == ')') {
                /* the inner group spans exactly [inner_start, q) when depth matches */
                int d = 0, whole = 1;
                for (size_t i = inner_start; i < q; i++) {
                    if (ctx->src[i] == '(')
                        d++;
                    else if (ctx->src[i] == ')' && --d == 0 && i != q - 1)
                        whole = 0;
                }
                if (whole) {
                    set_err(ctx, "The expression has redundant parentheses;");
                    return NULL;
                }
            }
        }
        ctx->depth--;
        return e;
    }
    return p_comparison(ctx);
}

static tycho_expr_t *p_not(tycho_expr_ctx_t *ctx)
{
    if (is_kw(ctx, "NOT")) {
        if (++ctx->depth > TYCHO_EXPR_MAX_DEPTH) {
            set_err(ctx, "The expression has too many nested NOT operators");
            return NULL;
        }
        if (take_op(ctx)) return NULL;
        tycho_expr_t *inner = p_not(ctx);
        if (!inner) return NULL;
        ctx->depth--;
        return node(ctx, TX_NOT, 1, &inner);
    }
    return p_primary(ctx);
}

/* operand (kw operand)*, grouped from the left into nodes of kind k. */
static tycho_expr_t *p_chain(tycho_expr_ctx_t *ctx, const char *kw, tycho_expr_kind_t k,
                             tycho_expr_t *(*operand)(tycho_expr_ctx_t *))
{
    tycho_expr_t *left = operand(ctx);
    while (left && is_kw(ctx, kw)) {
        if (take_op(ctx)) return NULL;
        tycho_expr_t *right = operand(ctx);
        if (!right) return NULL;
        left = node(ctx, k, 2, (tycho_expr_t *[]){left, right});
    }
    return left;
}

static tycho_expr_t *p_and(tycho_expr_ctx_t *ctx)
{
    return p_chain(ctx, "AND", TX_AND, p_not);
}

static tycho_expr_t *p_or(tycho_expr_ctx_t *ctx)
{
    return p_chain(ctx, "OR", TX_OR, p_and);
}

tycho_expr_t *tycho_expr_parse_condition(tycho_expr_ctx_t *ctx, const char *what, const char *s)
{
    if (begin(ctx, what, s)) return NULL;
    tycho_expr_t *e = p_or(ctx);
    if (e && ctx->cur.type != T_EOF) syntax_error(ctx);
    return ctx->has_err ? NULL : e;
}

/* ---- update parser ------------------------------------------------------ */

static tycho_expr_t *p_set_operand(tycho_expr_ctx_t *ctx)
{
    static const tycho_expr_kind_t fns[] = {TX_IF_NOT_EXISTS, TX_LIST_APPEND};
    if (!at_call(ctx)) return p_path_or_value(ctx);
    tycho_expr_kind_t k = function_named(ctx, fns, sizeof fns / sizeof fns[0]);
    if (k == TX_PATH || count_op(ctx)) return NULL;
    if (++ctx->depth > TYCHO_EXPR_MAX_DEPTH) {
        set_err(ctx, "The expression has too many nested functions");
        return NULL;
    }
    tycho_expr_t *args[2];
    if (p_call_args(ctx, k, 2, p_set_operand, args)) return NULL;
    ctx->depth--;
    if (k == TX_IF_NOT_EXISTS && require_path(ctx, k, args[0])) return NULL;
    if (k == TX_LIST_APPEND && check_literals(ctx, k, args, 2, AV_BIT(TYCHO_AV_L))) return NULL;
    return node(ctx, k, 2, args);
}

static tycho_expr_t *p_set_value(tycho_expr_ctx_t *ctx)
{
    tycho_expr_t *a = p_set_operand(ctx);
    if (!a || (ctx->cur.type != T_PLUS && ctx->cur.type != T_MINUS)) return a;
    tycho_expr_kind_t k = ctx->cur.type == T_PLUS ? TX_PLUS : TX_MINUS;
    if (take_op(ctx)) return NULL;
    tycho_expr_t *b = p_set_operand(ctx);
    if (!b) return NULL;
    tycho_expr_t *args[2] = {a, b};
    if (check_literals(ctx, k, args, 2, AV_BIT(TYCHO_AV_N))) return NULL;
    return node(ctx, k, 2, args);
}

/* How DynamoDB names a type in ADD/DELETE messages: scalars spelt out, sets
 * by their AttributeValue key. */
static const char *type_word(tycho_av_type_t t)
{
    static const char *const words[] = {
        [TYCHO_AV_S] = "STRING",  [TYCHO_AV_N] = "NUMBER",     [TYCHO_AV_B] = "BINARY",
        [TYCHO_AV_NULL] = "NULL", [TYCHO_AV_BOOL] = "BOOLEAN", [TYCHO_AV_L] = "LIST",
        [TYCHO_AV_M] = "MAP",
    };
    const char *w = (size_t)t < sizeof words / sizeof words[0] ? words[t] : NULL;
    return w ? w : tycho_av_type_name(t);
}

tycho_expr_update_t *tycho_expr_parse_update(tycho_expr_ctx_t *ctx, const char *s)
{
    if (begin(ctx, "UpdateExpression", s)) return NULL;
    tycho_expr_update_t *u = arena_alloc(ctx, sizeof *u);
    int cap = 16, seen[4] = {0, 0, 0, 0};
    if (!u || !(u->actions = arena_alloc(ctx, sizeof(tycho_expr_action_t) * (size_t)cap))) {
        oom(ctx);
        return NULL;
    }
    static const char *const kws[] = {"SET", "REMOVE", "ADD", "DELETE"};
    while (ctx->cur.type != T_EOF && !ctx->has_err) {
        int k = -1;
        for (int i = 0; i < 4; i++)
            if (is_kw(ctx, kws[i])) k = i;
        if (k < 0) {
            syntax_error(ctx);
            break;
        }
        if (seen[k]++) {
            set_err(ctx, "The \"%s\" section can only be used once in an update expression;",
                    kws[k]);
            break;
        }
        next(ctx);
        for (;;) {
            if (!(u->actions = arena_room(ctx, u->actions, u->n, &cap, sizeof *u->actions)) ||
                count_op(ctx))
                return NULL;
            tycho_expr_action_t *a = &u->actions[u->n];
            a->kind = (tycho_expr_action_kind_t)k;
            if (parse_path(ctx, &a->path)) return NULL;
            if (k == TX_SET) {
                if (expect(ctx, T_EQ)) return NULL;
                if (!(a->value = p_set_value(ctx))) return NULL;
            } else if (k == TX_ADD || k == TX_DELETE) {
                if (!(a->value = p_value(ctx))) return NULL;
                tycho_av_type_t vt = tycho_av_type(a->value->value);
                int ok = vt == TYCHO_AV_SS || vt == TYCHO_AV_NS || vt == TYCHO_AV_BS ||
                         (k == TX_ADD && vt == TYCHO_AV_N);
                if (!ok) {
                    set_err(ctx,
                            "Incorrect operand type for operator or function; operator: %s, "
                            "operand type: %s",
                            kws[k], type_word(vt));
                    return NULL;
                }
            }
            u->n++;
            if (ctx->cur.type != T_COMMA) break;
            next(ctx);
        }
    }
    if (ctx->has_err) return NULL;
    if (check_overlaps(ctx, &u->actions[0].path, sizeof(tycho_expr_action_t), u->n)) return NULL;
    return u;
}

/* ---- projection parser -------------------------------------------------- */

tycho_expr_paths_t *tycho_expr_parse_projection(tycho_expr_ctx_t *ctx, const char *s)
{
    if (begin(ctx, "ProjectionExpression", s)) return NULL;
    tycho_expr_paths_t *p = arena_alloc(ctx, sizeof *p);
    int cap = 16;
    if (!p || !(p->paths = arena_alloc(ctx, sizeof(tycho_expr_path_t) * (size_t)cap))) {
        oom(ctx);
        return NULL;
    }
    for (;;) {
        if (!(p->paths = arena_room(ctx, p->paths, p->n, &cap, sizeof *p->paths)) ||
            count_op(ctx) || parse_path(ctx, &p->paths[p->n]))
            return NULL;
        p->n++;
        if (ctx->cur.type != T_COMMA) break;
        next(ctx);
    }
    if (ctx->cur.type != T_EOF) {
        syntax_error(ctx);
        return NULL;
    }
    if (check_overlaps(ctx, p->paths, sizeof(tycho_expr_path_t), p->n)) return NULL;
    return p;
}

/* ---- evaluation --------------------------------------------------------- */

const cJSON *tycho_expr_resolve(const tycho_expr_path_t *p, const cJSON *item)
{
    if (!item || p->n == 0 || !p->elems[0].name) return NULL;
    const cJSON *cur = cJSON_GetObjectItemCaseSensitive(item, p->elems[0].name);
    for (int i = 1; cur && i < p->n; i++) {
        tycho_av_type_t t = tycho_av_type(cur);
        const cJSON *pay = tycho_av_payload(cur);
        if (p->elems[i].name)
            cur = t == TYCHO_AV_M ? cJSON_GetObjectItemCaseSensitive(pay, p->elems[i].name) : NULL;
        else
            cur = t == TYCHO_AV_L ? cJSON_GetArrayItem(pay, (int)p->elems[i].index) : NULL;
    }
    return cur;
}

typedef struct operand {
    const cJSON *av; /* NULL: missing */
    cJSON *owned;    /* computed value (size) */
} operand_t;

static void operand_eval(const tycho_expr_t *e, const cJSON *item, operand_t *o)
{
    o->av = NULL;
    o->owned = NULL;
    if (e->kind == TX_VALUE) {
        o->av = e->value;
    } else if (e->kind == TX_PATH) {
        o->av = tycho_expr_resolve(&e->path, item);
    } else if (e->kind == TX_SIZE) {
        operand_t in;
        operand_eval(e->args[0], item, &in);
        if (!in.av) return;
        const cJSON *p = tycho_av_payload(in.av);
        long long n = -1;
        switch (tycho_av_type(in.av)) {
        case TYCHO_AV_S:
            n = (long long)strlen(p->valuestring);
            break;
        case TYCHO_AV_B: {
            unsigned char *raw;
            size_t len;
            if (!tycho_b64_decode(p->valuestring, strlen(p->valuestring), &raw, &len, NULL)) {
                n = (long long)len;
                free(raw);
            }
            break;
        }
        case TYCHO_AV_SS:
        case TYCHO_AV_NS:
        case TYCHO_AV_BS:
        case TYCHO_AV_L:
        case TYCHO_AV_M:
            n = cJSON_GetArraySize(p);
            break;
        default:
            break;
        }
        if (n < 0) return;
        char buf[32];
        snprintf(buf, sizeof buf, "%lld", n);
        o->owned = cJSON_CreateObject();
        if (o->owned && cJSON_AddStringToObject(o->owned, "N", buf)) o->av = o->owned;
    }
}

static int bytes_prefix(const cJSON *hay, const cJSON *needle, tycho_av_type_t t, int anywhere)
{
    const char *h = tycho_av_payload(hay)->valuestring, *n = tycho_av_payload(needle)->valuestring;
    if (t == TYCHO_AV_S) {
        if (!anywhere) return strncmp(h, n, strlen(n)) == 0;
        return strstr(h, n) != NULL;
    }
    unsigned char *rh, *rn;
    size_t lh, ln;
    int r = 0;
    if (tycho_b64_decode(h, strlen(h), &rh, &lh, NULL)) return 0;
    if (tycho_b64_decode(n, strlen(n), &rn, &ln, NULL)) {
        free(rh);
        return 0;
    }
    if (ln <= lh) {
        if (!anywhere)
            r = memcmp(rh, rn, ln) == 0;
        else
            for (size_t i = 0; i + ln <= lh && !r; i++)
                r = memcmp(rh + i, rn, ln) == 0;
    }
    free(rh);
    free(rn);
    return r;
}

static int eval_contains(const cJSON *hay, const cJSON *needle)
{
    tycho_av_type_t th = tycho_av_type(hay), tn = tycho_av_type(needle);
    const cJSON *ph = tycho_av_payload(hay);
    switch (th) {
    case TYCHO_AV_S:
        return tn == TYCHO_AV_S && bytes_prefix(hay, needle, TYCHO_AV_S, 1);
    case TYCHO_AV_B:
        return tn == TYCHO_AV_B && bytes_prefix(hay, needle, TYCHO_AV_B, 1);
    case TYCHO_AV_SS:
    case TYCHO_AV_NS:
    case TYCHO_AV_BS: {
        tycho_av_type_t et = th == TYCHO_AV_SS   ? TYCHO_AV_S
                             : th == TYCHO_AV_NS ? TYCHO_AV_N
                                                 : TYCHO_AV_B;
        if (tn != et) return 0;
        for (const cJSON *c = ph->child; c; c = c->next) {
            cJSON tmp_av, tmp_val = *c;
            memset(&tmp_av, 0, sizeof tmp_av);
            tmp_av.type = cJSON_Object;
            tmp_val.next = tmp_val.prev = NULL;
            tmp_val.string = (char *)tycho_av_type_name(et);
            tmp_av.child = &tmp_val;
            if (tycho_av_equal(&tmp_av, needle)) return 1;
        }
        return 0;
    }
    case TYCHO_AV_L:
        for (const cJSON *c = ph->child; c; c = c->next)
            if (tycho_av_equal(c, needle)) return 1;
        return 0;
    default:
        return 0;
    }
}

int tycho_expr_eval(const tycho_expr_t *e, const cJSON *item)
{
    switch (e->kind) {
    case TX_AND:
        return tycho_expr_eval(e->args[0], item) && tycho_expr_eval(e->args[1], item);
    case TX_OR:
        return tycho_expr_eval(e->args[0], item) || tycho_expr_eval(e->args[1], item);
    case TX_NOT:
        return !tycho_expr_eval(e->args[0], item);
    default:
        break;
    }
    operand_t ops[3];
    int n = e->kind == TX_IN ? 1 : (e->nargs < 3 ? e->nargs : 3);
    for (int i = 0; i < n; i++)
        operand_eval(e->args[i], item, &ops[i]);
    int r = 0, c, c2;
    const cJSON *a = n > 0 ? ops[0].av : NULL, *b = n > 1 ? ops[1].av : NULL;
    switch (e->kind) {
    case TX_EQ:
        r = a && b && tycho_av_equal(a, b);
        break;
    case TX_NE:
        r = !(a && b && tycho_av_equal(a, b)) && (a || b);
        break;
    case TX_LT:
        r = a && b && !tycho_av_compare(a, b, &c) && c < 0;
        break;
    case TX_LE:
        r = a && b && !tycho_av_compare(a, b, &c) && c <= 0;
        break;
    case TX_GT:
        r = a && b && !tycho_av_compare(a, b, &c) && c > 0;
        break;
    case TX_GE:
        r = a && b && !tycho_av_compare(a, b, &c) && c >= 0;
        break;
    case TX_BETWEEN:
        r = a && b && ops[2].av && !tycho_av_compare(a, b, &c) &&
            !tycho_av_compare(a, ops[2].av, &c2) && c >= 0 && c2 <= 0;
        break;
    case TX_IN:
        if (a)
            for (int i = 1; i < e->nargs && !r; i++) {
                operand_t o;
                operand_eval(e->args[i], item, &o);
                r = o.av && tycho_av_equal(a, o.av);
                cJSON_Delete(o.owned);
            }
        break;
    case TX_EXISTS:
        r = a != NULL;
        break;
    case TX_NOT_EXISTS:
        r = a == NULL;
        break;
    case TX_TYPE:
        r = a && b && tycho_av_type(b) == TYCHO_AV_S &&
            strcmp(tycho_av_type_name(tycho_av_type(a)), tycho_av_payload(b)->valuestring) == 0;
        break;
    case TX_BEGINS: {
        tycho_av_type_t ta = tycho_av_type(a), tb = tycho_av_type(b);
        r = a && b && ta == tb && (ta == TYCHO_AV_S || ta == TYCHO_AV_B) &&
            bytes_prefix(a, b, ta, 0);
        break;
    }
    case TX_CONTAINS:
        r = a && b && eval_contains(a, b);
        break;
    default:
        r = 0;
    }
    for (int i = 0; i < n; i++)
        cJSON_Delete(ops[i].owned);
    return r;
}

/* ---- update application ------------------------------------------------- */

static const char ERR_TYPE[] = "An operand in the update expression has an incorrect data type";
static const char ERR_MISSING[] =
    "The provided expression refers to an attribute that does not exist in the item";
static const char ERR_PATH[] =
    "The document path provided in the update expression is invalid for update";

/* A copy of the AttributeValue v, or NULL with *why set. */
static cJSON *copy_av(const cJSON *v, const char **why)
{
    cJSON *d = cJSON_Duplicate(v, 1);
    if (!d) *why = "out of memory";
    return d;
}

/* x + y (x - y when negate) of two N AttributeValues, formatted into out.
 * 0, or -1 with *why set. */
static int number_sum(const cJSON *x, const cJSON *y, int negate, char out[TYCHO_DEC_STRLEN],
                      const char **why)
{
    tycho_dec_t dx, dy, dr;
    if (tycho_dec_parse(tycho_av_payload(x)->valuestring, &dx, why) ||
        tycho_dec_parse(tycho_av_payload(y)->valuestring, &dy, why) ||
        tycho_dec_add(&dx, &dy, negate, &dr, why))
        return -1;
    tycho_dec_format(&dr, out);
    return 0;
}

static cJSON *set_value(const tycho_expr_t *e, const cJSON *item, const char **why);

/* Both operands of e as new AttributeValues: 0, or -1 with *why set and
 * nothing left owned. */
static int set_operands(const tycho_expr_t *e, const cJSON *item, const char **why, cJSON **x,
                        cJSON **y)
{
    if (!(*x = set_value(e->args[0], item, why))) return -1;
    if (!(*y = set_value(e->args[1], item, why))) {
        cJSON_Delete(*x);
        return -1;
    }
    return 0;
}

/* TX_PLUS / TX_MINUS. */
static cJSON *set_sum(const tycho_expr_t *e, const cJSON *item, const char **why)
{
    cJSON *x, *y, *r = NULL;
    char buf[TYCHO_DEC_STRLEN];
    if (set_operands(e, item, why, &x, &y)) return NULL;
    if (tycho_av_type(x) != TYCHO_AV_N || tycho_av_type(y) != TYCHO_AV_N) {
        *why = ERR_TYPE;
    } else if (!number_sum(x, y, e->kind == TX_MINUS, buf, why)) {
        r = cJSON_CreateObject();
        if (!r || !cJSON_AddStringToObject(r, "N", buf)) {
            cJSON_Delete(r);
            r = NULL;
            *why = "out of memory";
        }
    }
    cJSON_Delete(x);
    cJSON_Delete(y);
    return r;
}

/* TX_LIST_APPEND: y's elements moved to the end of x. */
static cJSON *set_append(const tycho_expr_t *e, const cJSON *item, const char **why)
{
    cJSON *x, *y;
    if (set_operands(e, item, why, &x, &y)) return NULL;
    if (tycho_av_type(x) != TYCHO_AV_L || tycho_av_type(y) != TYCHO_AV_L) {
        *why = ERR_TYPE;
        cJSON_Delete(x);
        x = NULL;
    } else {
        cJSON *lx = tycho_av_payload(x), *ly = tycho_av_payload(y);
        while (ly->child) {
            cJSON *c = cJSON_DetachItemViaPointer(ly, ly->child);
            cJSON_AddItemToArray(lx, c);
        }
    }
    cJSON_Delete(y);
    return x;
}

/* Evaluates a SET value against the item as it was before the update.
 * Returns a new AttributeValue or NULL with *why set. */
static cJSON *set_value(const tycho_expr_t *e, const cJSON *item, const char **why)
{
    switch (e->kind) {
    case TX_VALUE:
        return copy_av(e->value, why);
    case TX_PATH: {
        const cJSON *v = tycho_expr_resolve(&e->path, item);
        if (!v) {
            *why = ERR_MISSING;
            return NULL;
        }
        return copy_av(v, why);
    }
    case TX_IF_NOT_EXISTS: {
        const cJSON *v = tycho_expr_resolve(&e->args[0]->path, item);
        return v ? copy_av(v, why) : set_value(e->args[1], item, why);
    }
    case TX_PLUS:
    case TX_MINUS:
        return set_sum(e, item, why);
    case TX_LIST_APPEND:
        return set_append(e, item, why);
    default:
        *why = ERR_TYPE;
        return NULL;
    }
}

/* The container that holds the last element of p: an item/M payload object,
 * or an L payload array. NULL when the parent path does not exist or has the
 * wrong type for the last element. */
static cJSON *parent_container(const tycho_expr_path_t *p, cJSON *item)
{
    cJSON *cont = item;
    for (int i = 0; i < p->n - 1; i++) {
        const tycho_expr_elem_t *el = &p->elems[i];
        cJSON *child =
            el->name
                ? (cJSON_IsObject(cont) ? cJSON_GetObjectItemCaseSensitive(cont, el->name) : NULL)
                : (cJSON_IsArray(cont) ? cJSON_GetArrayItem(cont, (int)el->index) : NULL);
        if (!child) return NULL;
        const tycho_expr_elem_t *nx = &p->elems[i + 1];
        tycho_av_type_t t = tycho_av_type(child);
        if ((nx->name && t != TYCHO_AV_M) || (!nx->name && t != TYCHO_AV_L)) return NULL;
        cont = tycho_av_payload(child);
    }
    const tycho_expr_elem_t *last = &p->elems[p->n - 1];
    if ((last->name && !cJSON_IsObject(cont)) || (!last->name && !cJSON_IsArray(cont))) return NULL;
    return cont;
}

static cJSON *container_get(cJSON *cont, const tycho_expr_elem_t *el)
{
    return el->name ? cJSON_GetObjectItemCaseSensitive(cont, el->name)
                    : cJSON_GetArrayItem(cont, (int)el->index);
}

static int container_set(cJSON *cont, const tycho_expr_elem_t *el, cJSON *v)
{
    if (el->name) {
        if (cJSON_GetObjectItemCaseSensitive(cont, el->name))
            return cJSON_ReplaceItemInObjectCaseSensitive(cont, el->name, v) ? 0 : -1;
        return cJSON_AddItemToObject(cont, el->name, v) ? 0 : -1;
    }
    if (el->index < cJSON_GetArraySize(cont))
        return cJSON_ReplaceItemInArray(cont, (int)el->index, v) ? 0 : -1;
    return cJSON_AddItemToArray(cont, v) ? 0 : -1; /* past the end: appended */
}

static int cmp_remove_desc(const void *a, const void *b)
{
    const tycho_expr_action_t *x = *(const tycho_expr_action_t *const *)a,
                              *y = *(const tycho_expr_action_t *const *)b;
    long ix = x->path.elems[x->path.n - 1].index, iy = y->path.elems[y->path.n - 1].index;
    return ix < iy ? 1 : ix > iy ? -1 : 0;
}

static int set_op(cJSON *existing, const cJSON *val, int add)
{
    /* existing and val are sets of one type; existing is modified. */
    tycho_av_type_t t = tycho_av_type(existing);
    tycho_av_type_t et = t == TYCHO_AV_SS ? TYCHO_AV_S : t == TYCHO_AV_NS ? TYCHO_AV_N : TYCHO_AV_B;
    cJSON *es = tycho_av_payload(existing);
    const cJSON *vs = tycho_av_payload(val);
    for (const cJSON *v = vs->child; v; v = v->next) {
        cJSON *found = NULL;
        for (cJSON *x = es->child; x && !found; x = x->next) {
            cJSON a1 = *x, a2 = *v, w1, w2;
            memset(&w1, 0, sizeof w1);
            memset(&w2, 0, sizeof w2);
            a1.next = a1.prev = a2.next = a2.prev = NULL;
            a1.string = a2.string = (char *)tycho_av_type_name(et);
            w1.type = w2.type = cJSON_Object;
            w1.child = &a1;
            w2.child = &a2;
            if (tycho_av_equal(&w1, &w2)) found = x;
        }
        if (add && !found) {
            cJSON *c = cJSON_CreateString(v->valuestring);
            if (!c) return -1;
            cJSON_AddItemToArray(es, c);
        } else if (!add && found) {
            cJSON_Delete(cJSON_DetachItemViaPointer(es, found));
        }
    }
    return 0;
}

int tycho_expr_apply_update(const tycho_expr_update_t *u, cJSON *item, char *err, size_t errlen)
{
    const char *why = NULL;
    int rc = -1;
    cJSON **vals = calloc((size_t)(u->n ? u->n : 1), sizeof *vals);
    const tycho_expr_action_t **removes = calloc((size_t)(u->n ? u->n : 1), sizeof *removes);
    int nremoves = 0;
    if (!vals || !removes) {
        why = "out of memory";
        goto out;
    }
    /* All SET values see the item as it was before this update. */
    for (int i = 0; i < u->n; i++)
        if (u->actions[i].kind == TX_SET && !(vals[i] = set_value(u->actions[i].value, item, &why)))
            goto out;
    for (int i = 0; i < u->n; i++) {
        const tycho_expr_action_t *a = &u->actions[i];
        const tycho_expr_elem_t *last = &a->path.elems[a->path.n - 1];
        cJSON *cont = parent_container(&a->path, item);
        if (!cont) {
            why = ERR_PATH;
            goto out;
        }
        cJSON *existing = container_get(cont, last);
        switch (a->kind) {
        case TX_SET:
            if (container_set(cont, last, vals[i])) {
                why = "out of memory";
                goto out;
            }
            vals[i] = NULL;
            break;
        case TX_REMOVE:
            if (!last->name) {
                removes[nremoves++] = a; /* list removals last, highest index first */
            } else if (existing) {
                cJSON_Delete(cJSON_DetachItemViaPointer(cont, existing));
            }
            break;
        case TX_ADD: {
            const cJSON *v = a->value->value;
            tycho_av_type_t vt = tycho_av_type(v);
            if (!existing) {
                cJSON *d = cJSON_Duplicate(v, 1);
                if (!d || container_set(cont, last, d)) {
                    cJSON_Delete(d);
                    why = "out of memory";
                    goto out;
                }
            } else if (tycho_av_type(existing) != vt) {
                why = ERR_TYPE;
                goto out;
            } else if (vt == TYCHO_AV_N) {
                char buf[TYCHO_DEC_STRLEN];
                if (number_sum(existing, v, 0, buf, &why)) goto out;
                cJSON *n = cJSON_CreateString(buf);
                if (!n || !cJSON_ReplaceItemInObjectCaseSensitive(existing, "N", n)) {
                    cJSON_Delete(n);
                    why = "out of memory";
                    goto out;
                }
            } else if (set_op(existing, v, 1)) {
                why = "out of memory";
                goto out;
            }
            break;
        }
        case TX_DELETE: {
            const cJSON *v = a->value->value;
            if (!existing) break;
            if (tycho_av_type(existing) != tycho_av_type(v)) {
                why = ERR_TYPE;
                goto out;
            }
            if (set_op(existing, v, 0)) {
                why = "out of memory";
                goto out;
            }
            if (!tycho_av_payload(existing)->child)
                cJSON_Delete(cJSON_DetachItemViaPointer(cont, existing));
            break;
        }
        }
    }
    qsort(removes, (size_t)nremoves, sizeof *removes, cmp_remove_desc);
    for (int i = 0; i < nremoves; i++) {
        const tycho_expr_action_t *a = removes[i];
        cJSON *cont = parent_container(&a->path, item);
        cJSON *existing = cont ? container_get(cont, &a->path.elems[a->path.n - 1]) : NULL;
        if (existing) cJSON_Delete(cJSON_DetachItemViaPointer(cont, existing));
    }
    rc = 0;
out:
    if (rc && err) snprintf(err, errlen, "%s", why ? why : "update failed");
    if (vals)
        for (int i = 0; i < u->n; i++)
            cJSON_Delete(vals[i]);
    free(vals);
    free(removes);
    return rc;
}

void tycho_expr_update_paths(const tycho_expr_update_t *u, tycho_expr_paths_t *out)
{
    /* Actions and paths are laid out differently; callers get a view. */
    out->n = 0;
    for (int i = 0; i < u->n; i++)
        out->paths[out->n++] = u->actions[i].path;
}

/* ---- projection --------------------------------------------------------- */

static void squash_nulls(cJSON *v)
{
    for (cJSON *c = v ? v->child : NULL; c;) {
        cJSON *nx = c->next;
        if (cJSON_IsNull(c))
            cJSON_Delete(cJSON_DetachItemViaPointer(v, c));
        else
            squash_nulls(c);
        c = nx;
    }
}

cJSON *tycho_expr_project(const tycho_expr_paths_t *p, const cJSON *item)
{
    cJSON *out = cJSON_CreateObject();
    if (!out) return NULL;
    for (int i = 0; i < p->n; i++) {
        const tycho_expr_path_t *path = &p->paths[i];
        const cJSON *v = tycho_expr_resolve(path, item);
        if (!v) continue;
        /* Build containers along the path; list positions keep their index
         * with JSON-null placeholders that are squashed at the end. */
        cJSON *cont = out;
        for (int j = 0; j < path->n; j++) {
            const tycho_expr_elem_t *el = &path->elems[j];
            int lastj = j == path->n - 1;
            cJSON *slot = el->name ? cJSON_GetObjectItemCaseSensitive(cont, el->name)
                                   : (el->index < cJSON_GetArraySize(cont)
                                          ? cJSON_GetArrayItem(cont, (int)el->index)
                                          : NULL);
            if (slot && cJSON_IsNull(slot)) slot = NULL;
            cJSON *nv;
            if (lastj) {
                nv = cJSON_Duplicate(v, 1);
            } else if (slot) {
                cont = tycho_av_payload(slot);
                continue;
            } else {
                nv = cJSON_CreateObject();
                if (nv && !(path->elems[j + 1].name ? cJSON_AddObjectToObject(nv, "M")
                                                    : cJSON_AddArrayToObject(nv, "L"))) {
                    cJSON_Delete(nv);
                    nv = NULL;
                }
            }
            if (!nv) goto fail;
            if (el->name) {
                cJSON_AddItemToObject(cont, el->name, nv);
            } else {
                while (cJSON_GetArraySize(cont) < el->index) {
                    cJSON *pad = cJSON_CreateNull();
                    if (!pad) {
                        cJSON_Delete(nv);
                        goto fail;
                    }
                    cJSON_AddItemToArray(cont, pad);
                }
                if (el->index < cJSON_GetArraySize(cont))
                    cJSON_ReplaceItemInArray(cont, (int)el->index, nv);
                else
                    cJSON_AddItemToArray(cont, nv);
            }
            if (!lastj) cont = tycho_av_payload(nv);
        }
    }
    squash_nulls(out);
    return out;
fail:
    cJSON_Delete(out);
    return NULL;
}

/* ---- fuzz entry ---------------------------------------------------------- */

int tycho_expr_fuzz_one(const uint8_t *data, size_t size)
{
    static const char names_json[] =
        "{\"#a\":\"a\",\"#b\":\"b.c\",\"#l\":\"l\",\"#t\":\"timestamp\"}";
    static const char values_json[] =
        "{\":s\":{\"S\":\"x\"},\":n\":{\"N\":\"1.5\"},\":b\":{\"B\":\"AAE=\"},\":l\":{\"L\":[{"
        "\"N\":\"1\"}]},"
        "\":ss\":{\"SS\":[\"x\",\"y\"]},\":ns\":{\"NS\":[\"1\",\"2\"]},\":t\":{\"S\":\"N\"},\":m\":"
        "{\"M\":{\"k\":{\"S\":\"v\"}}}}";
    static const char item_json[] = "{\"a\":{\"N\":\"3\"},\"b.c\":{\"S\":\"xyz\"},\"l\":{\"L\":[{"
                                    "\"N\":\"1\"},{\"M\":{\"q\":{\"S\":\"r\"}}}]},"
                                    "\"m\":{\"M\":{\"k\":{\"SS\":[\"x\"]}}},\"s\":{\"NS\":[\"1\"]},"
                                    "\"timestamp\":{\"S\":\"2020\"}}";
    char *s = malloc(size + 1);
    if (!s) return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    for (int kind = 0; kind < 3; kind++) {
        cJSON *names = cJSON_Parse(names_json), *values = cJSON_Parse(values_json),
              *item = cJSON_Parse(item_json);
        tycho_expr_ctx_t *ctx = names && values && item ? tycho_expr_ctx_new(names, values) : NULL;
        if (ctx) {
            if (kind == 0) {
                tycho_expr_t *e = tycho_expr_parse_condition(ctx, "ConditionExpression", s);
                if (e) (void)tycho_expr_eval(e, item);
            } else if (kind == 1) {
                tycho_expr_update_t *u = tycho_expr_parse_update(ctx, s);
                if (u) {
                    char err[256];
                    (void)tycho_expr_apply_update(u, item, err, sizeof err);
                }
            } else {
                tycho_expr_paths_t *p = tycho_expr_parse_projection(ctx, s);
                if (p) cJSON_Delete(tycho_expr_project(p, item));
            }
            (void)tycho_expr_check_unused(ctx);
        }
        tycho_expr_ctx_free(ctx);
        cJSON_Delete(names);
        cJSON_Delete(values);
        cJSON_Delete(item);
    }
    free(s);
    return 0;
}
