/* local_expr — DynamoDB expressions for the local backend: parser and
 * evaluator for condition/filter/key-condition expressions, update
 * expressions (SET with + - if_not_exists list_append, REMOVE, ADD, DELETE)
 * and projection expressions, with ExpressionAttributeNames/Values
 * (PROTOCOLS.md §8 "Expressions"). Error messages follow DynamoDB's wording.
 *
 * Memory: everything a parse returns lives in the context's arena and is
 * freed by tycho_expr_ctx_free; values are borrowed from the request's
 * ExpressionAttributeValues, which must outlive the context.
 * Threading: pure; any thread, one context per request. */
#ifndef TYCHO_LOCAL_EXPR_H
#define TYCHO_LOCAL_EXPR_H

#include <cJSON.h>
#include <stddef.h>
#include <stdint.h>

#define TYCHO_EXPR_MAX_LEN 4096 /* DynamoDB: 4 KB per expression */
#define TYCHO_EXPR_MAX_OPS 300  /* DynamoDB: 300 operators/functions */
#define TYCHO_EXPR_MAX_DEPTH 64 /* our recursion guard */

typedef struct tycho_expr_elem {
    const char *name; /* attribute name (placeholders resolved), or NULL for an index */
    long index;       /* list index when name == NULL */
} tycho_expr_elem_t;

typedef struct tycho_expr_path {
    int n;
    tycho_expr_elem_t *elems;
} tycho_expr_path_t;

typedef enum {
    TX_PATH,
    TX_VALUE,
    TX_SIZE,
    TX_EQ,
    TX_NE,
    TX_LT,
    TX_LE,
    TX_GT,
    TX_GE,
    TX_BETWEEN,
    TX_IN,
    TX_AND,
    TX_OR,
    TX_NOT,
    TX_EXISTS,
    TX_NOT_EXISTS,
    TX_TYPE,
    TX_BEGINS,
    TX_CONTAINS,
    TX_PLUS,
    TX_MINUS,
    TX_IF_NOT_EXISTS,
    TX_LIST_APPEND
} tycho_expr_kind_t;

typedef struct tycho_expr tycho_expr_t;
struct tycho_expr {
    tycho_expr_kind_t kind;
    int nargs;
    tycho_expr_t **args;
    tycho_expr_path_t path; /* TX_PATH */
    const cJSON *value;     /* TX_VALUE: an AttributeValue */
};

typedef enum { TX_SET, TX_REMOVE, TX_ADD, TX_DELETE } tycho_expr_action_kind_t;

typedef struct tycho_expr_action {
    tycho_expr_action_kind_t kind;
    tycho_expr_path_t path;
    tycho_expr_t *value; /* SET: value tree; ADD/DELETE: TX_VALUE; REMOVE: NULL */
} tycho_expr_action_t;

typedef struct tycho_expr_update {
    int n;
    tycho_expr_action_t *actions;
} tycho_expr_update_t;

typedef struct tycho_expr_paths {
    int n;
    tycho_expr_path_t *paths;
} tycho_expr_paths_t;

typedef struct tycho_expr_ctx tycho_expr_ctx_t;

/* Creates a context over the request's ExpressionAttributeNames and
 * ExpressionAttributeValues (either may be NULL). Checks their keys and
 * validates (and normalizes, in place) the values. Returns NULL on
 * allocation failure; on a bad map the context is
 * returned with tycho_expr_error() set. */
tycho_expr_ctx_t *tycho_expr_ctx_new(const cJSON *names, cJSON *values);
void tycho_expr_ctx_free(tycho_expr_ctx_t *ctx);
/* The first error (a DynamoDB ValidationException message), or NULL. */
const char *tycho_expr_error(const tycho_expr_ctx_t *ctx);

/* Parsers. what names the request member for messages ("ConditionExpression",
 * "FilterExpression", "KeyConditionExpression"). NULL on error. */
tycho_expr_t *tycho_expr_parse_condition(tycho_expr_ctx_t *ctx, const char *what, const char *s);
tycho_expr_update_t *tycho_expr_parse_update(tycho_expr_ctx_t *ctx, const char *s);
tycho_expr_paths_t *tycho_expr_parse_projection(tycho_expr_ctx_t *ctx, const char *s);
/* After all expressions of a request were parsed: -1 (error set) when a
 * name or value placeholder was never used, as DynamoDB requires. */
int tycho_expr_check_unused(tycho_expr_ctx_t *ctx);

/* Evaluation against an item ({name: AttributeValue}; NULL = no item). */
int tycho_expr_eval(const tycho_expr_t *e, const cJSON *item); /* 1 true, 0 false */
/* The AttributeValue a path names inside item, or NULL. */
const cJSON *tycho_expr_resolve(const tycho_expr_path_t *p, const cJSON *item);
/* Applies an update to item in place. 0, or -1 with DynamoDB's message. */
int tycho_expr_apply_update(const tycho_expr_update_t *u, cJSON *item, char *err, size_t errlen);
/* A new item holding only the given paths of item (DynamoDB projection:
 * nested maps kept, list elements compacted). NULL only on ENOMEM. */
cJSON *tycho_expr_project(const tycho_expr_paths_t *p, const cJSON *item);
/* The paths an update touches (for ReturnValues UPDATED_OLD/UPDATED_NEW);
 * out->paths must have room for u->n paths. */
void tycho_expr_update_paths(const tycho_expr_update_t *u, tycho_expr_paths_t *out);
/* "[a, b, [0]]"-style rendering used in DynamoDB messages. */
void tycho_expr_path_str(const tycho_expr_path_t *p, char *out, size_t outlen);
int tycho_expr_is_reserved(const char *word);

/* Fuzz entry point: parses data (any bytes) as each kind of expression with a
 * fixed set of placeholders and evaluates the results against a fixed item.
 * Never crashes, leaks or reads out of bounds; always returns 0. */
int tycho_expr_fuzz_one(const uint8_t *data, size_t size);

#endif
