/* Unit tests for local_expr: condition/update/projection parsing (edge
 * cases and DynamoDB's error messages), evaluation, update application,
 * projection, and the fuzz entry point. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "aws/local_expr.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char NAMES[] = "{\"#a\":\"a\",\"#s\":\"status\",\"#dot\":\"x.y\",\"#m\":\"m\"}";
static const char VALUES[] =
    "{\":one\":{\"N\":\"1\"},\":two\":{\"N\":\"2\"},\":ten\":{\"N\":\"10\"},\":s\":{\"S\":\"ab\"},"
    "\":str\":{\"S\":\"S\"},"
    "\":bogus\":{\"S\":\"X\"},\":b\":{\"B\":\"AAE=\"},\":l\":{\"L\":[{\"S\":\"z\"}]},\":ss\":{"
    "\"SS\":[\"q\",\"r\"]},"
    "\":ns\":{\"NS\":[\"5\"]},\":t\":{\"BOOL\":true},\":m\":{\"M\":{\"k\":{\"S\":\"v\"}}}}";
static const char ITEM[] = "{\"a\":{\"N\":\"1\"},\"status\":{\"S\":\"abc\"},\"x.y\":{\"N\":\"3\"},"
                           "\"tags\":{\"SS\":[\"q\",\"w\"]},"
                           "\"nums\":{\"NS\":[\"5\",\"6\"]},\"l\":{\"L\":[{\"S\":\"z\"},{\"N\":"
                           "\"2\"},{\"M\":{\"c\":{\"S\":\"deep\"}}}]},"
                           "\"m\":{\"M\":{\"k\":{\"S\":\"v\"},\"n\":{\"M\":{\"x\":{\"N\":\"7\"}}}}}"
                           ",\"bin\":{\"B\":\"AAECAw==\"},\"nul\":{\"NULL\":true}}";

typedef struct fixture {
    cJSON *names, *values, *item;
    tycho_expr_ctx_t *ctx;
} fixture_t;

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    f->names = cJSON_Parse(NAMES);
    f->values = cJSON_Parse(VALUES);
    f->item = cJSON_Parse(ITEM);
    f->ctx = tycho_expr_ctx_new(f->names, f->values);
    assert_non_null(f->ctx);
    assert_null(tycho_expr_error(f->ctx));
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    tycho_expr_ctx_free(f->ctx);
    cJSON_Delete(f->names);
    cJSON_Delete(f->values);
    cJSON_Delete(f->item);
    free(f);
    return 0;
}

/* Evaluates a condition on a fresh context; -1 on parse error. */
static int cond(fixture_t *f, const char *expr)
{
    tycho_expr_ctx_t *ctx = tycho_expr_ctx_new(f->names, f->values);
    tycho_expr_t *e = tycho_expr_parse_condition(ctx, "ConditionExpression", expr);
    int r = e ? tycho_expr_eval(e, f->item) : -1;
    if (!e) printf("  parse error for '%s': %s\n", expr, tycho_expr_error(ctx));
    tycho_expr_ctx_free(ctx);
    return r;
}

/* The parse error of a condition, or "" (copied into a static buffer). */
static const char *cond_err(fixture_t *f, const char *expr)
{
    static char buf[800];
    tycho_expr_ctx_t *ctx = tycho_expr_ctx_new(f->names, f->values);
    tycho_expr_t *e = tycho_expr_parse_condition(ctx, "ConditionExpression", expr);
    snprintf(buf, sizeof buf, "%s", e ? "" : tycho_expr_error(ctx));
    tycho_expr_ctx_free(ctx);
    return buf;
}

#define ASSERT_ERR(f, expr, needle)                                                                \
    do {                                                                                           \
        const char *e_ = cond_err((f), (expr));                                                    \
        if (!strstr(e_, (needle))) fail_msg("'%s': error '%s' lacks '%s'", (expr), e_, (needle));  \
    } while (0)

static void test_condition_eval(void **state)
{
    fixture_t *f = *state;
    assert_int_equal(cond(f, "a = :one"), 1);
    assert_int_equal(cond(f, "a <> :one"), 0);
    assert_int_equal(cond(f, "a < :two AND a >= :one"), 1);
    assert_int_equal(cond(f, "a > :two OR a <= :one"), 1);
    assert_int_equal(cond(f, "NOT a = :one"), 0);
    assert_int_equal(cond(f, "NOT (a = :one AND a = :two)"), 1);
    assert_int_equal(cond(f, "a BETWEEN :one AND :two"), 1);
    assert_int_equal(cond(f, "a IN (:two, :ten, :one)"), 1);
    assert_int_equal(cond(f, "a IN (:two)"), 0);
    assert_int_equal(cond(f, "attribute_exists(a) AND attribute_not_exists(zzz)"), 1);
    assert_int_equal(cond(f, "attribute_exists(m.n.x) AND attribute_not_exists(m.n.y)"), 1);
    assert_int_equal(cond(f, "attribute_type(#s, :str)"), 1);
    assert_int_equal(cond(f, "begins_with(#s, :s)"), 1);
    assert_int_equal(cond(f, "begins_with(bin, :b)"), 1);
    assert_int_equal(cond(f, "contains(#s, :s)"), 1);
    assert_int_equal(cond(f, "contains(tags, :s)"), 0);
    assert_int_equal(cond(f, "contains(nums, :ten)"), 0);
    assert_int_equal(cond(f, "contains(l, :s)"), 0);
    assert_int_equal(cond(f, "size(tags) = :two AND size(#s) > :two AND size(l) > :two"), 1);
    assert_int_equal(cond(f, "size(zzz) = :one"), 0);
    assert_int_equal(cond(f, "size(a) = :one"), 0); /* numbers have no size: false, not an error */
    assert_int_equal(cond(f, "l[2].c = :s OR l[0] = :s"), 0);
    assert_int_equal(cond(f, "attribute_exists(l[2].c)"), 1);
    assert_int_equal(cond(f, "#dot = :one"), 0);
    assert_int_equal(cond(f, "attribute_exists(#dot)"), 1); /* a name with a dot, not a path */
    assert_int_equal(cond(f, "attribute_exists(x.y)"), 0);  /* a path x -> y */
    assert_int_equal(cond(f, "#m.k = :s OR m.k <> :s"), 1);
    assert_int_equal(cond(f, "zzz <> :one"), 1); /* missing <> value is true */
    assert_int_equal(cond(f, "zzz = :one"), 0);
    assert_int_equal(cond(f, "a < :s"), 0); /* type mismatch compares false */
    assert_int_equal(cond(f, "m = :m"), 0);
    assert_int_equal(cond(f, "a = :one and A = :one"),
                     0); /* keywords are case-insensitive, names are not */
    assert_int_equal(cond(f, "(a = :one) AND ((a = :one) OR (a = :two))"), 1);
    assert_int_equal(cond(f, "nul = :t"), 0);
    assert_int_equal(cond(f, "attribute_type(nul, :bogus)"), -1);
}

static void test_condition_errors(void **state)
{
    fixture_t *f = *state;
    ASSERT_ERR(f, "", "The expression can not be empty");
    ASSERT_ERR(f, "status = :one", "reserved keyword; reserved keyword: status");
    ASSERT_ERR(f, "a = :nope",
               "attribute value used in expression is not defined; attribute value: :nope");
    ASSERT_ERR(f, "#nope = :one",
               "attribute name used in the document path is not defined; attribute name: #nope");
    ASSERT_ERR(f, "a = ", "Syntax error; token: \"<EOF>\"");
    ASSERT_ERR(f, "a = :one AND", "Syntax error");
    ASSERT_ERR(f, "a == :one", "Syntax error; token: \"=\"");
    ASSERT_ERR(f, "a = :one)", "Syntax error");
    ASSERT_ERR(f, "(a = :one", "Syntax error");
    ASSERT_ERR(f, "a[x] = :one", "Syntax error");
    ASSERT_ERR(f, "a = :one $", "Syntax error");
    ASSERT_ERR(f, "foo(a)", "Invalid function name; function: foo");
    ASSERT_ERR(f, "attribute_exists(a, a)", "Incorrect number of operands");
    ASSERT_ERR(f, "attribute_exists(:one)", "requires a document path");
    ASSERT_ERR(f, "begins_with(a, :one)", "operand type: N");
    ASSERT_ERR(f, "attribute_type(a, :one)", "Incorrect operand type");
    ASSERT_ERR(f, "attribute_type(a, :bogus)", "Invalid attribute type name found; type: X");
    ASSERT_ERR(f, "size(a)", "not allowed to be used this way");
    ASSERT_ERR(f, "attribute_exists(a) = :one", "not allowed to be used this way");
    ASSERT_ERR(f, "a = a", "must be distinct");
    ASSERT_ERR(f, "a BETWEEN :two AND :one",
               "upper bound to be greater than or equal to lower bound");
    ASSERT_ERR(f, "a BETWEEN :one AND :s", "same data type for lower and upper bounds");
    ASSERT_ERR(f, "((a = :one))", "redundant parentheses");
    ASSERT_ERR(f, "size(:one) = :one", "operand type: N");
    /* 301 operators */
    char big[4096] = "a = :one";
    for (int i = 0; i < 300; i++)
        strcat(big, " OR a = :one");
    ASSERT_ERR(f, big, "too many operators");
    char huge[5000];
    memset(huge, 'a', sizeof huge - 1);
    huge[sizeof huge - 1] = '\0';
    ASSERT_ERR(f, huge, "Expression size has exceeded");
    char deep[600] = "";
    for (int i = 0; i < 100; i++)
        strcat(deep, "NOT ");
    strcat(deep, "a = :one");
    ASSERT_ERR(f, deep, "too many nested");
}

static void test_unused_and_maps(void **state)
{
    (void)state;
    cJSON *names = cJSON_Parse("{\"#a\":\"a\",\"#b\":\"b\"}");
    cJSON *values = cJSON_Parse("{\":v\":{\"N\":\"1\"},\":w\":{\"N\":\"2\"}}");
    tycho_expr_ctx_t *ctx = tycho_expr_ctx_new(names, values);
    assert_non_null(tycho_expr_parse_condition(ctx, "ConditionExpression", "#a = :v"));
    assert_int_equal(tycho_expr_check_unused(ctx), -1);
    assert_string_equal(
        tycho_expr_error(ctx),
        "Value provided in ExpressionAttributeNames unused in expressions: keys: {#b}");
    tycho_expr_ctx_free(ctx);
    cJSON *badk = cJSON_Parse("{\"a\":\"a\"}");
    ctx = tycho_expr_ctx_new(badk, NULL);
    assert_non_null(strstr(tycho_expr_error(ctx), "ExpressionAttributeNames contains invalid key"));
    tycho_expr_ctx_free(ctx);
    cJSON *badv = cJSON_Parse("{\":v\":{\"N\":\"x\"}}");
    ctx = tycho_expr_ctx_new(NULL, badv);
    assert_non_null(
        strstr(tycho_expr_error(ctx), "ExpressionAttributeValues contains invalid value"));
    tycho_expr_ctx_free(ctx);
    cJSON *empty = cJSON_Parse("{}");
    ctx = tycho_expr_ctx_new(empty, NULL);
    assert_string_equal(tycho_expr_error(ctx), "ExpressionAttributeNames must not be empty");
    tycho_expr_ctx_free(ctx);
    assert_true(tycho_expr_is_reserved("Timestamp"));
    assert_true(tycho_expr_is_reserved("ttl"));
    assert_false(tycho_expr_is_reserved("user_id"));
    cJSON_Delete(names);
    cJSON_Delete(values);
    cJSON_Delete(badk);
    cJSON_Delete(badv);
    cJSON_Delete(empty);
}

/* Applies an update to a copy of ITEM and returns the new item as JSON
 * (or "ERR: <message>"); the caller frees. */
static char *update(fixture_t *f, const char *expr)
{
    tycho_expr_ctx_t *ctx = tycho_expr_ctx_new(f->names, f->values);
    tycho_expr_update_t *u = tycho_expr_parse_update(ctx, expr);
    char *out;
    if (!u) {
        out = malloc(900);
        snprintf(out, 900, "PARSE: %s", tycho_expr_error(ctx));
    } else {
        cJSON *item = cJSON_Duplicate(f->item, 1);
        char err[300];
        if (tycho_expr_apply_update(u, item, err, sizeof err)) {
            out = malloc(400);
            snprintf(out, 400, "ERR: %s", err);
        } else {
            out = cJSON_PrintUnformatted(item);
        }
        cJSON_Delete(item);
    }
    tycho_expr_ctx_free(ctx);
    return out;
}

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

/* An expression and what running it must give. */
typedef struct expr_case {
    const char *expr, *want;
} expr_case_t;

/* Runs each case's expression through run (update or project); the result
 * must equal want when whole is set, else contain it. */
static void expect_results(fixture_t *f, char *(*run)(fixture_t *, const char *),
                           const expr_case_t *cases, size_t n, int whole)
{
    for (size_t i = 0; i < n; i++) {
        char *r = run(f, cases[i].expr);
        int ok = whole ? strcmp(r, cases[i].want) == 0 : strstr(r, cases[i].want) != NULL;
        char got[1024]; /* r freed before a failure, which does not return */
        snprintf(got, sizeof got, "%s", r);
        free(r);
        if (!ok)
            fail_msg("'%s' gave '%s', want %s '%s'", cases[i].expr, got,
                     whole ? "exactly" : "something with", cases[i].want);
    }
}

static const cJSON *attr_of(const char *json, const char *path, cJSON **keep)
{
    *keep = cJSON_Parse(json);
    return cJSON_GetObjectItemCaseSensitive(*keep, path);
}

#define ASSERT_ATTR(json, name, want)                                                              \
    do {                                                                                           \
        cJSON *k_;                                                                                 \
        const cJSON *a_ = attr_of((json), (name), &k_);                                            \
        char *s_ = a_ ? cJSON_PrintUnformatted(a_) : strdup("(missing)");                          \
        if (strcmp(s_, (want)) != 0)                                                               \
            fail_msg("%s = %s, want %s (item %s)", (name), s_, (want), (json));                    \
        free(s_);                                                                                  \
        cJSON_Delete(k_);                                                                          \
    } while (0)

static void test_update_apply(void **state)
{
    fixture_t *f = *state;
    char *r = update(
        f, "SET a = a + :ten, b = :s, c = if_not_exists(c, :one), d = if_not_exists(a, :two)");
    ASSERT_ATTR(r, "a", "{\"N\":\"11\"}");
    ASSERT_ATTR(r, "b", "{\"S\":\"ab\"}");
    ASSERT_ATTR(r, "c", "{\"N\":\"1\"}");
    ASSERT_ATTR(r, "d", "{\"N\":\"1\"}"); /* values see the item before the update */
    free(r);
    r = update(f, "SET l = list_append(l, :l), m.n.x = :two REMOVE tags, nul");
    ASSERT_ATTR(
        r, "l",
        "{\"L\":[{\"S\":\"z\"},{\"N\":\"2\"},{\"M\":{\"c\":{\"S\":\"deep\"}}},{\"S\":\"z\"}]}");
    ASSERT_ATTR(r, "tags", "(missing)");
    ASSERT_ATTR(r, "nul", "(missing)");
    ASSERT_ATTR(r, "m", "{\"M\":{\"k\":{\"S\":\"v\"},\"n\":{\"M\":{\"x\":{\"N\":\"2\"}}}}}");
    free(r);
    r = update(f, "SET l[1] = :s, l[9] = :one");
    ASSERT_ATTR(
        r, "l",
        "{\"L\":[{\"S\":\"z\"},{\"S\":\"ab\"},{\"M\":{\"c\":{\"S\":\"deep\"}}},{\"N\":\"1\"}]}");
    free(r);
    r = update(f, "REMOVE l[0], l[2]");
    ASSERT_ATTR(r, "l", "{\"L\":[{\"N\":\"2\"}]}");
    free(r);
    r = update(f, "ADD a :ten, tags :ss, newn :two DELETE nums :ns");
    ASSERT_ATTR(r, "a", "{\"N\":\"11\"}");
    ASSERT_ATTR(r, "tags", "{\"SS\":[\"q\",\"w\",\"r\"]}");
    ASSERT_ATTR(r, "newn", "{\"N\":\"2\"}");
    ASSERT_ATTR(r, "nums", "{\"NS\":[\"6\"]}");
    free(r);
    r = update(f, "DELETE tags :ss");
    ASSERT_ATTR(r, "tags", "{\"SS\":[\"w\"]}");
    free(r);
    r = update(f, "set #a = :s remove zz"); /* keywords are case-insensitive */
    ASSERT_ATTR(r, "a", "{\"S\":\"ab\"}");
    free(r);
    /* runtime errors */
    static const expr_case_t update_runtime_errors[] = {
        {"SET q = zzz + :one",
         "ERR: The provided expression refers to an attribute that does not exist in the item"},
        {"SET q = #s + :one",
         "ERR: An operand in the update expression has an incorrect data type"},
        {"SET zz.y = :one",
         "ERR: The document path provided in the update expression is invalid for update"},
        {"ADD #s :one", "ERR: An operand in the update expression has an incorrect data type"},
        {"SET l = list_append(a, :l)",
         "ERR: An operand in the update expression has an incorrect data type"},
    };
    expect_results(f, update, update_runtime_errors, COUNT_OF(update_runtime_errors), 1);
    /* parse errors */
    static const expr_case_t update_parse_errors[] = {
        {"SET a = :one SET b = :two", "The \"SET\" section can only be used once"},
        {"SET a = :one REMOVE a", "Two document paths overlap"},
        {"SET m.k = :one REMOVE m[0]", "Two document paths conflict"},
        {"ADD a :s", "operator: ADD, operand type: STRING"},
        {"DELETE tags :one", "operator: DELETE, operand type: NUMBER"},
        {"SET a = :one + :s", "operand type: S"},
        {"SET a = nope(b)", "Invalid function name; function: nope"},
        {"SET a = if_not_exists(:one, :two)", "requires a document path"},
        {"SET a = :one,", "Syntax error"},
        {"UPDATE a = :one", "Syntax error"},
        {"SET a = :one + :one + :one", "Syntax error"},
    };
    expect_results(f, update, update_parse_errors, COUNT_OF(update_parse_errors), 0);
}

static char *project(fixture_t *f, const char *expr)
{
    tycho_expr_ctx_t *ctx = tycho_expr_ctx_new(f->names, f->values);
    tycho_expr_paths_t *p = tycho_expr_parse_projection(ctx, expr);
    char *out;
    if (!p) {
        out = strdup(tycho_expr_error(ctx));
    } else {
        cJSON *r = tycho_expr_project(p, f->item);
        out = cJSON_PrintUnformatted(r);
        cJSON_Delete(r);
    }
    tycho_expr_ctx_free(ctx);
    return out;
}

static void test_projection(void **state)
{
    fixture_t *f = *state;
    char *r = project(f, "a, m.n.x, l[2].c, l[0], zzz, #dot");
    assert_string_equal(
        r, "{\"a\":{\"N\":\"1\"},\"m\":{\"M\":{\"n\":{\"M\":{\"x\":{\"N\":\"7\"}}}}},"
           "\"l\":{\"L\":[{\"S\":\"z\"},{\"M\":{\"c\":{\"S\":\"deep\"}}}]},\"x.y\":{\"N\":\"3\"}}");
    free(r);
    static const expr_case_t projection_errors[] = {
        {"a, a", "Two document paths overlap"},
        {"m, m.k", "overlap"},
        {"status", "reserved keyword"},
        {"a,", "Syntax error"},
    };
    expect_results(f, project, projection_errors, COUNT_OF(projection_errors), 0);
}

static void test_fuzz_entry(void **state)
{
    (void)state;
    const char *inputs[] = {"",
                            "(",
                            ")",
                            "a[",
                            "a[99999999999999999999]",
                            "#",
                            ":",
                            "NOT",
                            "SET",
                            "SET a = ",
                            "a = :s AND (b = :n OR NOT c IN (:s, :n))",
                            "SET a = list_append(if_not_exists(#l, :l), :l)",
                            "REMOVE l[1], l[0] ADD #a :ns DELETE m.k :ss",
                            "size(#b) BETWEEN :n AND :n",
                            "\xff\xfe\x00\x01",
                            "a.b.c.d.e.f[1][2][3]",
                            "contains(l, :m) OR attribute_type(a, :t)"};
    for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++)
        assert_int_equal(
            tycho_expr_fuzz_one((const uint8_t *)inputs[i], i == 14 ? 4 : strlen(inputs[i])), 0);
    /* random bytes drawn from the expression alphabet */
    const char alpha[] = "ab#:()[],.=<>+- 0123NOTANDORINBETWEENsize setREMOVEADDDELETE";
    unsigned seed = 12345;
    char buf[128];
    for (int round = 0; round < 3000; round++) {
        size_t n = (size_t)(rand_r(&seed) % 100);
        for (size_t i = 0; i < n; i++)
            buf[i] = alpha[rand_r(&seed) % (sizeof alpha - 1)];
        assert_int_equal(tycho_expr_fuzz_one((const uint8_t *)buf, n), 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_condition_eval, setup, teardown),
        cmocka_unit_test_setup_teardown(test_condition_errors, setup, teardown),
        cmocka_unit_test(test_unused_and_maps),
        cmocka_unit_test_setup_teardown(test_update_apply, setup, teardown),
        cmocka_unit_test_setup_teardown(test_projection, setup, teardown),
        cmocka_unit_test(test_fuzz_entry),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
