/* local_av — DynamoDB AttributeValue helpers for the local backend: exact
 * decimal numbers (38 significant digits, PROTOCOLS.md §8), base64,
 * AttributeValue validation/normalization, equality, ordering, item size and
 * an order-preserving binary encoding of key values for SQLite indexes.
 * Pure functions on cJSON trees; any thread may call them on data it owns. */
#ifndef TYCHO_LOCAL_AV_H
#define TYCHO_LOCAL_AV_H

#include "core/buf.h"

#include <cJSON.h>
#include <stddef.h>

#define TYCHO_DEC_MAX_DIGITS 38
#define TYCHO_DEC_MAX_EXP 126  /* magnitude < 10^126 (9.99..E+125) */
#define TYCHO_DEC_MIN_EXP -129 /* magnitude >= 10^-130 */
#define TYCHO_DEC_STRLEN 200   /* enough for any formatted number + NUL */
#define TYCHO_AV_MAX_DEPTH 32  /* DynamoDB's nesting limit */
#define TYCHO_AV_ITEM_MAX 409600

/* value = sign × 0.d[0]d[1]…d[nd-1] × 10^exp; zero has sign 0 and nd 0.
 * Digits hold 0..9 with d[0] != 0 and d[nd-1] != 0 (normalized). */
typedef struct tycho_dec {
    int sign;
    int exp;
    int nd;
    unsigned char d[TYCHO_DEC_MAX_DIGITS];
} tycho_dec_t;

/* Parses a DynamoDB number string. 0, or -1 with *why set to DynamoDB's
 * ValidationException message (static string). */
int tycho_dec_parse(const char *s, tycho_dec_t *out, const char **why);
/* Plain notation, leading/trailing zeros trimmed ("1E3" -> "1000"). */
void tycho_dec_format(const tycho_dec_t *v, char out[TYCHO_DEC_STRLEN]);
int tycho_dec_cmp(const tycho_dec_t *a, const tycho_dec_t *b); /* <0, 0, >0 */
/* out = a + b (or a - b when subtract). Exact; -1 with *why when the result
 * needs more than 38 significant digits or leaves the range (never rounds). */
int tycho_dec_add(const tycho_dec_t *a, const tycho_dec_t *b, int subtract, tycho_dec_t *out,
                  const char **why);
int tycho_dec_from_long(long long v, tycho_dec_t *out);
/* Order-preserving bytes (memcmp order == numeric order); returns length (<= 48). */
size_t tycho_dec_key(const tycho_dec_t *v, unsigned char out[48]);

/* Base64, RFC 4648 4: the standard alphabet, padded to a multiple of 4,
 * canonical (the unused bits before '=' zero, 3.5); no whitespace, no
 * URL-safe alphabet, no missing padding. decode: 0, or -1 when malformed
 * (then *out is NULL and *why, if why is not NULL, says what is wrong:
 * static text); *out is malloc'd (NUL-terminated for convenience). */
int tycho_b64_decode(const char *s, size_t n, unsigned char **out, size_t *outlen,
                     const char **why);
int tycho_b64_encode(tycho_buf_t *b, const unsigned char *p, size_t n);

typedef enum {
    TYCHO_AV_S,
    TYCHO_AV_N,
    TYCHO_AV_B,
    TYCHO_AV_BOOL,
    TYCHO_AV_NULL,
    TYCHO_AV_M,
    TYCHO_AV_L,
    TYCHO_AV_SS,
    TYCHO_AV_NS,
    TYCHO_AV_BS,
    TYCHO_AV_INVALID
} tycho_av_type_t;

/* Type of a (validated) AttributeValue: the name of its only member. */
tycho_av_type_t tycho_av_type(const cJSON *av);
const char *tycho_av_type_name(tycho_av_type_t t); /* "S", "NS", ... */
tycho_av_type_t tycho_av_type_from_name(const char *s);
/* The member holding the value ({"S":"x"} -> the "x" string item). */
cJSON *tycho_av_payload(const cJSON *av);

/* Validates an AttributeValue and normalizes it in place (numbers to their
 * canonical form). 0, or -1 with DynamoDB's message in why (static string or
 * written into whybuf). serialization is set to 1 when the error is a JSON
 * type mismatch (SerializationException) rather than a ValidationException. */
typedef struct tycho_av_err {
    int serialization;
    char msg[512];
} tycho_av_err_t;
int tycho_av_validate(cJSON *av, tycho_av_err_t *err);
/* Validates a map of name -> AttributeValue (an Item, Key or M payload). */
int tycho_av_validate_map(cJSON *map, tycho_av_err_t *err);

int tycho_av_equal(const cJSON *a, const cJSON *b); /* deep, sets unordered */
/* Orders two scalars of the same type (S, N, B). Returns 0 and sets *cmp, or
 * -1 when they are not comparable (different or non-scalar types). */
int tycho_av_compare(const cJSON *a, const cJSON *b, int *cmp);
/* DynamoDB item size in bytes (names + values, PROTOCOLS.md §8 "Limits"). */
size_t tycho_av_item_size(const cJSON *item);
size_t tycho_av_value_size(const cJSON *av);
/* Order-preserving key bytes for an S, N or B value (appended to out).
 * -1 for other types or malformed payloads. */
int tycho_av_key_bytes(const cJSON *av, tycho_buf_t *out);

#endif
