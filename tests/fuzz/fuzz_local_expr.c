/* libFuzzer target for the local DynamoDB backend's expression parser and
 * evaluator (aws/local_expr.c) and the AttributeValue layer under it
 * (aws/local_av.c): what a client controls in a DynamoDB request body.
 *
 * Input: byte 0 picks the mode, the rest is its text.
 *  0  tycho_expr_fuzz_one: the expression as condition, update and projection
 *     with the module's fixed placeholders and item.
 *  1  lines: ExpressionAttributeNames JSON, ExpressionAttributeValues JSON,
 *     an item JSON, then the expression. Checked: an update that succeeds
 *     leaves an item that still validates (no empty set, no bad number, depth
 *     and size computable); a projection of a valid item is a valid item.
 *  2  lines: two DynamoDB numbers. Checked: parse(format(x)) == x; compare
 *     agrees with the order-preserving key bytes; an exact sum minus the
 *     second operand is the first again.
 *  3  bytes: base64 encode then decode is the identity; decoding the text
 *     as base64 never reads past it.
 * Everything runs under ASan/UBSan and LeakSanitizer (the context's arena
 * and every cJSON tree must be freed).
 *
 * Built and run by tests/fuzz/run_fuzzer.sh local_expr. */
#include "aws/local_av.h"
#include "aws/local_expr.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_TARGET "local_expr"
#include "tests/fuzz/fuzz_check.h"

static char *dup_n(const char *s, size_t n)
{
    char *c = malloc(n + 1);
    memcpy(c, s, n);
    c[n] = 0;
    return c;
}

/* Splits at the first n-1 newlines into NUL-terminated copies; the last part
 * is the rest. */
static size_t split(const char *s, size_t len, char **parts, size_t n)
{
    size_t k = 0, pos = 0;
    while (k < n) {
        const char *nl = k + 1 < n ? memchr(s + pos, '\n', len - pos) : NULL;
        size_t l = nl ? (size_t)(nl - (s + pos)) : len - pos;
        parts[k++] = dup_n(s + pos, l);
        if (!nl) break;
        pos += l + 1;
    }
    return k;
}

static void check_item(cJSON *item, const char *what, const char *expr)
{
    tycho_av_err_t err;
    char *txt = cJSON_PrintUnformatted(item);
    CHECK(tycho_av_validate_map(item, &err) == 0, "%s of '%s' left an invalid item (%s): %s", what,
          expr, err.msg, txt ? txt : "?");
    (void)tycho_av_item_size(item);
    free(txt);
}

static void mode_request(const char *s, size_t n)
{
    char *parts[4] = {NULL, NULL, NULL, NULL};
    size_t np = split(s, n, parts, 4);
    if (np < 4) goto out;
    cJSON *names = cJSON_Parse(parts[0]), *values = cJSON_Parse(parts[1]);
    cJSON *item = cJSON_Parse(parts[2]);
    tycho_av_err_t err;
    if (item && (!cJSON_IsObject(item) || tycho_av_validate_map(item, &err) != 0)) {
        cJSON_Delete(item);
        item = NULL;
    }
    const char *expr = parts[3];
    for (int kind = 0; kind < 3; kind++) {
        cJSON *v = values ? cJSON_Duplicate(values, 1) : NULL;
        tycho_expr_ctx_t *ctx = tycho_expr_ctx_new(names, v);
        if (!ctx) {
            cJSON_Delete(v);
            continue;
        }
        if (!tycho_expr_error(ctx)) {
            if (kind == 0) {
                tycho_expr_t *e = tycho_expr_parse_condition(ctx, "ConditionExpression", expr);
                CHECK(e || tycho_expr_error(ctx), "condition failed without a message");
                if (e) {
                    int r = tycho_expr_eval(e, item);
                    CHECK(r == 0 || r == 1, "eval returned %d", r);
                }
            } else if (kind == 1) {
                tycho_expr_update_t *u = tycho_expr_parse_update(ctx, expr);
                CHECK(u || tycho_expr_error(ctx), "update failed without a message");
                if (u && item) {
                    cJSON *copy = cJSON_Duplicate(item, 1);
                    char msg[512] = "";
                    if (tycho_expr_apply_update(u, copy, msg, sizeof msg) == 0)
                        check_item(copy, "update", expr);
                    else
                        CHECK(msg[0], "update refused without a message");
                    cJSON_Delete(copy);
                    tycho_expr_paths_t paths;
                    paths.paths = calloc((size_t)u->n + 1, sizeof *paths.paths);
                    tycho_expr_update_paths(u, &paths);
                    CHECK(paths.n <= u->n, "update paths");
                    cJSON_Delete(tycho_expr_project(&paths, item));
                    free(paths.paths);
                }
            } else {
                tycho_expr_paths_t *p = tycho_expr_parse_projection(ctx, expr);
                CHECK(p || tycho_expr_error(ctx), "projection failed without a message");
                if (p && item) {
                    cJSON *proj = tycho_expr_project(p, item);
                    CHECK(proj, "projection returned NULL");
                    check_item(proj, "projection", expr);
                    cJSON_Delete(proj);
                }
            }
            (void)tycho_expr_check_unused(ctx);
        }
        tycho_expr_ctx_free(ctx);
        cJSON_Delete(v);
    }
    cJSON_Delete(names);
    cJSON_Delete(values);
    cJSON_Delete(item);
out:
    for (size_t i = 0; i < np; i++)
        free(parts[i]);
}

static int sign_of(int c)
{
    return (c > 0) - (c < 0);
}

static void mode_numbers(const char *s, size_t n)
{
    char *parts[2] = {NULL, NULL};
    size_t np = split(s, n, parts, 2);
    tycho_dec_t d[2];
    int ok[2] = {0, 0};
    for (size_t i = 0; i < np; i++) {
        const char *why = NULL;
        ok[i] = tycho_dec_parse(parts[i], &d[i], &why) == 0;
        if (!ok[i]) {
            CHECK(why && why[0], "number refused without a message");
            continue;
        }
        CHECK(d[i].nd <= TYCHO_DEC_MAX_DIGITS &&
                  (d[i].nd == 0 || (d[i].d[0] && d[i].d[d[i].nd - 1])),
              "'%s' not normalised", parts[i]);
        char txt[TYCHO_DEC_STRLEN];
        tycho_dec_format(&d[i], txt);
        tycho_dec_t again;
        CHECK(tycho_dec_parse(txt, &again, &why) == 0, "'%s' formatted as '%s', refused: %s",
              parts[i], txt, why);
        CHECK(tycho_dec_cmp(&again, &d[i]) == 0 && again.nd == d[i].nd && again.exp == d[i].exp,
              "'%s' -> '%s' changed the value", parts[i], txt);
        char txt2[TYCHO_DEC_STRLEN];
        tycho_dec_format(&again, txt2);
        CHECK(strcmp(txt, txt2) == 0, "format not stable: '%s' vs '%s'", txt, txt2);
    }
    if (ok[0] && ok[1]) {
        unsigned char ka[48], kb[48];
        size_t la = tycho_dec_key(&d[0], ka), lb = tycho_dec_key(&d[1], kb);
        CHECK(la <= 48 && lb <= 48, "key length");
        int km = memcmp(ka, kb, la < lb ? la : lb);
        if (!km) km = la < lb ? -1 : la > lb;
        int c = tycho_dec_cmp(&d[0], &d[1]);
        CHECK(sign_of(c) == sign_of(km), "'%s' vs '%s': cmp %d, key order %d", parts[0], parts[1],
              c, km);
        CHECK(sign_of(tycho_dec_cmp(&d[1], &d[0])) == -sign_of(c), "cmp not antisymmetric");
        tycho_dec_t sum, back;
        const char *why = NULL;
        if (tycho_dec_add(&d[0], &d[1], 0, &sum, &why) == 0) {
            CHECK(sum.nd <= TYCHO_DEC_MAX_DIGITS, "sum digits");
            if (tycho_dec_add(&sum, &d[1], 1, &back, &why) == 0) {
                char a[TYCHO_DEC_STRLEN], b[TYCHO_DEC_STRLEN];
                tycho_dec_format(&d[0], a);
                tycho_dec_format(&back, b);
                CHECK(tycho_dec_cmp(&back, &d[0]) == 0, "(%s + %s) - %s = %s", parts[0], parts[1],
                      parts[1], b);
            }
        } else {
            CHECK(why && why[0], "add refused without a message");
        }
    }
    for (size_t i = 0; i < np; i++)
        free(parts[i]);
}

static void mode_base64(const char *s, size_t n)
{
    tycho_buf_t b = TYCHO_BUF_INIT;
    CHECK(tycho_b64_encode(&b, (const unsigned char *)s, n) == 0, "encode");
    unsigned char *dec = NULL;
    size_t dl = 0;
    CHECK(tycho_b64_decode(b.data ? b.data : "", b.len, &dec, &dl, NULL) == 0,
          "own output refused");
    CHECK(dl == n && memcmp(dec, s, n) == 0, "base64 round trip");
    free(dec);
    tycho_buf_free(&b);
    /* the raw text as base64: exactly n bytes, no NUL after them */
    char *copy = malloc(n ? n : 1);
    memcpy(copy, s, n);
    dec = NULL;
    if (tycho_b64_decode(copy, n, &dec, &dl, NULL) == 0) {
        tycho_buf_t again = TYCHO_BUF_INIT;
        CHECK(tycho_b64_encode(&again, dec, dl) == 0, "re-encode");
        CHECK(again.len == n && memcmp(again.data, copy, n) == 0,
              "accepted base64 is not canonical: '%.*s' -> '%.*s'", (int)n, copy, (int)again.len,
              again.data);
        tycho_buf_free(&again);
    } else {
        CHECK(dec == NULL, "decode failed but left a buffer");
    }
    free(dec);
    free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    const char *s = (const char *)data + 1;
    size_t n = size - 1;
    switch (data[0] & 3) {
    case 0:
        tycho_expr_fuzz_one((const uint8_t *)s, n);
        break;
    case 1:
        mode_request(s, n);
        break;
    case 2:
        mode_numbers(s, n);
        break;
    default:
        mode_base64(s, n);
        break;
    }
    return 0;
}
