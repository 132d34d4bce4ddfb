/* Unit tests for the DynamoDB half of the local executor, driven through
 * tycho_local_exec with an injected clock: tables, items, conditional
 * writes, update expressions, ReturnValues, Query/Scan (key conditions,
 * GSIs, filters, projections, pagination), batches, TTL, limits, errors. */
#include "tests/lib/local_env.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef local_env_t env_t;

static int setup(void **state)
{
    *state = local_env_new("/tmp/tycho-ddb-XXXXXX", "", "", 1);
    return 0;
}

/* Runs DynamoDB_20120810.<op> with a printf-formatted body; keeps status/body. */
#define SERVICE "DynamoDB_20120810"
#define ddb(e, op, ...) local_env_call((e), SERVICE, (op), __VA_ARGS__)

static const char *type_of(env_t *e)
{
    return local_env_str(e, "__type");
}

static const char *msg_of(env_t *e)
{
    return local_env_str(e, "message");
}

#define VALIDATION "com.amazon.coral.validate#ValidationException"
#define IN_USE "com.amazonaws.dynamodb.v20120810#ResourceInUseException"
#define NOT_FOUND "com.amazonaws.dynamodb.v20120810#ResourceNotFoundException"
#define COND_FAILED "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException"
#define SERIALIZATION "com.amazon.coral.service#SerializationException"
#define UNKNOWN_OP "com.amazon.coral.service#UnknownOperationException"
#define EXPECT_ERR(e, type, needle)                                                                \
    do {                                                                                           \
        assert_int_equal((e)->status, 400);                                                        \
        assert_string_equal(type_of(e), (type));                                                   \
        if (!strstr(msg_of(e), (needle)))                                                          \
            fail_msg("message '%s' lacks '%s'", msg_of(e), (needle));                              \
    } while (0)

/* Compact JSON of a member of the last response (caller frees). */
static char *member(env_t *e, const char *name)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(e->body, name);
    return m ? cJSON_PrintUnformatted(m) : strdup("(none)");
}

#define EXPECT_MEMBER(e, name, want)                                                               \
    do {                                                                                           \
        char *m_ = member((e), (name));                                                            \
        if (strcmp(m_, (want)) != 0) fail_msg("%s = %s, want %s", (name), m_, (want));             \
        free(m_);                                                                                  \
    } while (0)

static double num(env_t *e, const char *name)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(e->body, name);
    return cJSON_IsNumber(m) ? m->valuedouble : -1;
}

static const char APP_TABLE[] =
    "{\"TableName\":\"app\",\"AttributeDefinitions\":[{\"AttributeName\":\"id\",\"AttributeType\":"
    "\"S\"},"
    "{\"AttributeName\":\"ts\",\"AttributeType\":\"N\"},{\"AttributeName\":\"user\","
    "\"AttributeType\":\"S\"},"
    "{\"AttributeName\":\"created\",\"AttributeType\":\"S\"}],"
    "\"KeySchema\":[{\"AttributeName\":\"id\",\"KeyType\":\"HASH\"},{\"AttributeName\":\"ts\","
    "\"KeyType\":\"RANGE\"}],"
    "\"GlobalSecondaryIndexes\":[{\"IndexName\":\"by-user\",\"KeySchema\":[{\"AttributeName\":"
    "\"user\",\"KeyType\":\"HASH\"},"
    "{\"AttributeName\":\"created\",\"KeyType\":\"RANGE\"}],\"Projection\":{\"ProjectionType\":"
    "\"ALL\"}},"
    "{\"IndexName\":\"keys\",\"KeySchema\":[{\"AttributeName\":\"user\",\"KeyType\":\"HASH\"}],"
    "\"Projection\":{\"ProjectionType\":\"KEYS_ONLY\"}}],"
    "\"BillingMode\":\"PAY_PER_REQUEST\"}";

/* A GlobalSecondaryIndexes member named n, keyed on a. */
#define GSI_ON_A(n)                                                                                \
    "{\"IndexName\":\"" n "\",\"KeySchema\":[{\"AttributeName\":\"a\",\"KeyType\":\"HASH\"}],"     \
    "\"Projection\":{\"ProjectionType\":\"ALL\"}}"

static void test_tables(void **state)
{
    env_t *e = *state;
    ddb(e, "CreateTable", "%s", APP_TABLE);
    assert_int_equal(e->status, 200);
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(e->body, "TableDescription");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(d, "TableStatus")->valuestring, "ACTIVE");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(d, "TableArn")->valuestring,
                        "arn:aws:dynamodb:us-east-1:000000000000:table/app");
    assert_int_equal(
        cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(d, "GlobalSecondaryIndexes")), 2);
    static const local_err_case_t create_errors[] = {
        {"CreateTable", APP_TABLE, IN_USE, "Table already exists: app"},
        {"CreateTable",
         "{\"TableName\":\"t1\",\"AttributeDefinitions\":[{\"AttributeName\":\"a\","
         "\"AttributeType\":\"S\"}],\"KeySchema\":[{\"AttributeName\":\"a\",\"KeyType\":\"HASH\"}],"
         "\"BillingMode\":\"PAY_PER_REQUEST\"}",
         VALIDATION, "length greater than or equal to 3"},
        {"CreateTable", "{\"TableName\":\"bad name\",\"AttributeDefinitions\":[],\"KeySchema\":[]}",
         VALIDATION, "regular expression pattern"},
        {"CreateTable",
         "{\"TableName\":\"tab\",\"AttributeDefinitions\":[{\"AttributeName\":\"a\","
         "\"AttributeType\":\"S\"},{\"AttributeName\":\"b\",\"AttributeType\":\"S\"}],"
         "\"KeySchema\":[{\"AttributeName\":\"a\",\"KeyType\":\"HASH\"}],\"BillingMode\":\"PAY_PER_"
         "REQUEST\"}",
         VALIDATION, "does not exactly match number of attributes defined"},
        {"CreateTable",
         "{\"TableName\":\"tab\",\"AttributeDefinitions\":[{\"AttributeName\":\"a\","
         "\"AttributeType\":\"S\"}],\"KeySchema\":[{\"AttributeName\":\"a\",\"KeyType\":\"RANGE\"}]"
         ",\"BillingMode\":\"PAY_PER_REQUEST\"}",
         VALIDATION, "first KeySchemaElement is not a HASH"},
        {"CreateTable",
         "{\"TableName\":\"tab\",\"AttributeDefinitions\":[{\"AttributeName\":\"a\","
         "\"AttributeType\":\"S\"}],\"KeySchema\":[{\"AttributeName\":\"a\",\"KeyType\":\"HASH\"}]"
         "}",
         VALIDATION, "must both be specified when BillingMode is PROVISIONED"},
        {"CreateTable",
         "{\"TableName\":\"tab\",\"AttributeDefinitions\":[{\"AttributeName\":\"a\","
         "\"AttributeType\":\"X\"}],\"KeySchema\":[{\"AttributeName\":\"a\",\"KeyType\":\"HASH\"}],"
         "\"BillingMode\":\"PAY_PER_REQUEST\"}",
         VALIDATION, "enum value set: [B, N, S]"},
        {"CreateTable",
         "{\"TableName\":\"tab\",\"AttributeDefinitions\":[{\"AttributeName\":\"a\","
         "\"AttributeType\":\"S\"},{\"AttributeName\":\"b\",\"AttributeType\":\"S\"}],"
         "\"KeySchema\":[{\"AttributeName\":\"a\",\"KeyType\":\"HASH\"}],\"LocalSecondaryIndexes\":"
         "[{\"IndexName\":\"lsi\",\"KeySchema\":[{\"AttributeName\":\"a\",\"KeyType\":\"HASH\"},{"
         "\"AttributeName\":\"b\",\"KeyType\":\"RANGE\"}],\"Projection\":{\"ProjectionType\":"
         "\"ALL\"}}],\"BillingMode\":\"PAY_PER_REQUEST\"}",
         VALIDATION, "not supported by the tycho local backend"},
        {"CreateTable", "{\"TableName\":\"\",\"AttributeDefinitions\":[],\"KeySchema\":[]}",
         VALIDATION,
         "2 validation errors detected: Value '' at 'tableName' failed to satisfy constraint: "
         "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+; Value '' at "
         "'tableName' failed to satisfy constraint: Member must have length greater than or "
         "equal to 3"},
        /* an index name: the value, its position and each constraint it fails */
        {"CreateTable",
         "{\"TableName\":\"tab\",\"AttributeDefinitions\":[{\"AttributeName\":\"a\","
         "\"AttributeType\":\"S\"}],\"KeySchema\":[{\"AttributeName\":\"a\",\"KeyType\":\"HASH\"}],"
         "\"GlobalSecondaryIndexes\":[" GSI_ON_A("ok1") "," GSI_ON_A(
             "gi") "],"
                   "\"BillingMode\":\"PAY_PER_REQUEST\"}",
         VALIDATION,
         "1 validation error detected: Value 'gi' at 'globalSecondaryIndexes.2.member.indexName' "
         "failed to satisfy constraint: Member must have length greater than or equal to 3"},
        {"CreateTable",
         "{\"TableName\":\"tab\",\"AttributeDefinitions\":[{\"AttributeName\":\"a\","
         "\"AttributeType\":\"S\"}],\"KeySchema\":[{\"AttributeName\":\"a\",\"KeyType\":\"HASH\"}],"
         "\"GlobalSecondaryIndexes\":[" GSI_ON_A("g!") "],\"BillingMode\":\"PAY_PER_REQUEST\"}",
         VALIDATION,
         "2 validation errors detected: Value 'g!' at 'globalSecondaryIndexes.1.member.indexName' "
         "failed to satisfy constraint: Member must satisfy regular expression pattern: "
         "[a-zA-Z0-9_.-]+; Value 'g!' at 'globalSecondaryIndexes.1.member.indexName' failed to "
         "satisfy constraint: Member must have length greater than or equal to 3"},
    };
    local_env_expect_errs(e, SERVICE, create_errors, LOCAL_COUNT_OF(create_errors));
    ddb(e, "CreateTable",
        "{\"TableName\":\"prov\",\"AttributeDefinitions\":[{\"AttributeName\":\"a\","
        "\"AttributeType\":\"B\"}],"
        "\"KeySchema\":[{\"AttributeName\":\"a\",\"KeyType\":\"HASH\"}],\"ProvisionedThroughput\":{"
        "\"ReadCapacityUnits\":5,\"WriteCapacityUnits\":5}}");
    assert_int_equal(e->status, 200);
    ddb(e, "ListTables", "{}");
    EXPECT_MEMBER(e, "TableNames", "[\"app\",\"prov\"]");
    ddb(e, "ListTables", "{\"Limit\":1}");
    EXPECT_MEMBER(e, "TableNames", "[\"app\"]");
    EXPECT_MEMBER(e, "LastEvaluatedTableName", "\"app\"");
    ddb(e, "ListTables", "{\"Limit\":1,\"ExclusiveStartTableName\":\"app\"}");
    EXPECT_MEMBER(e, "TableNames", "[\"prov\"]");
    EXPECT_MEMBER(e, "LastEvaluatedTableName", "(none)");
    /* out of long's range: a validation error, not an overflowing cast */
    static const local_err_case_t limit_errors[] = {
        {"ListTables", "{\"Limit\":1e49}", VALIDATION, "less than or equal to 100"},
        {"ListTables", "{\"Limit\":-1e49}", VALIDATION, "greater than or equal to 1"},
        {"Scan", "{\"TableName\":\"prov\",\"Segment\":1e49,\"TotalSegments\":-1e49}", VALIDATION,
         "Segment parameter is zero-based"},
    };
    local_env_expect_errs(e, SERVICE, limit_errors, LOCAL_COUNT_OF(limit_errors));
    ddb(e, "DescribeTable", "{\"TableName\":\"prov\"}");
    assert_int_equal(e->status, 200);
    ddb(e, "DeleteTable", "{\"TableName\":\"prov\"}");
    assert_string_equal(
        cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(e->body, "TableDescription"), "TableStatus")
            ->valuestring,
        "DELETING");
    static const local_err_case_t describe_errors[] = {
        {"DescribeTable", "{\"TableName\":\"prov\"}", NOT_FOUND, "Requested resource not found"},
        {"DescribeTable", "{}", VALIDATION, "Member must not be null"},
        {"DescribeTable", "{\"TableName\":5}", SERIALIZATION, ""},
        {"TransactWriteItems", "{}", VALIDATION, "not supported by the tycho local backend"},
        {"NoSuchThing", "{}", UNKNOWN_OP, ""},
    };
    local_env_expect_errs(e, SERVICE, describe_errors, LOCAL_COUNT_OF(describe_errors));
}

static void test_items(void **state)
{
    env_t *e = *state;
    ddb(e, "CreateTable", "%s", APP_TABLE);
    ddb(e, "PutItem",
        "{\"TableName\":\"app\",\"Item\":{\"id\":{\"S\":\"a\"},\"ts\":{\"N\":\"1.0\"},\"v\":{\"N\":"
        "\"007\"},\"l\":{\"L\":[]}}}");
    assert_int_equal(e->status, 200);
    EXPECT_MEMBER(e, "Attributes", "(none)");
    ddb(e, "GetItem",
        "{\"TableName\":\"app\",\"Key\":{\"id\":{\"S\":\"a\"},\"ts\":{\"N\":\"1\"}},"
        "\"ConsistentRead\":true}");
    EXPECT_MEMBER(
        e, "Item",
        "{\"id\":{\"S\":\"a\"},\"ts\":{\"N\":\"1\"},\"v\":{\"N\":\"7\"},\"l\":{\"L\":[]}}");
    ddb(e, "GetItem",
        "{\"TableName\":\"app\",\"Key\":{\"id\":{\"S\":\"a\"},\"ts\":{\"N\":\"2\"}}}");
    assert_int_equal(e->status, 200);
    assert_int_equal(cJSON_GetArraySize(e->body), 0);
    static const local_err_case_t key_errors[] = {
        {"GetItem", "{\"TableName\":\"app\",\"Key\":{\"id\":{\"S\":\"a\"}}}", VALIDATION,
         "The provided key element does not match the schema"},
        {"GetItem", "{\"TableName\":\"app\",\"Key\":{\"id\":{\"S\":\"a\"},\"ts\":{\"S\":\"1\"}}}",
         VALIDATION, "The provided key element does not match the schema"},
        {"GetItem",
         "{\"TableName\":\"app\",\"Key\":{\"id\":{\"S\":\"a\"},\"ts\":{\"N\":\"1\"},\"x\":{\"S\":"
         "\"\"}}}",
         VALIDATION, "The provided key element does not match the schema"},
        {"PutItem", "{\"TableName\":\"app\",\"Item\":{\"id\":{\"S\":\"\"},\"ts\":{\"N\":\"1\"}}}",
         VALIDATION, "cannot contain an empty string value. Key: id"},
        {"PutItem", "{\"TableName\":\"app\",\"Item\":{\"ts\":{\"N\":\"1\"}}}", VALIDATION,
         "Missing the key id in the item"},
        {"PutItem", "{\"TableName\":\"app\",\"Item\":{\"id\":{\"N\":\"1\"},\"ts\":{\"N\":\"1\"}}}",
         VALIDATION, "Type mismatch for key id expected: S actual: N"},
        {"PutItem",
         "{\"TableName\":\"app\",\"Item\":{\"id\":{\"S\":\"b\"},\"ts\":{\"N\":\"1\"},\"user\":{"
         "\"N\":\"1\"}}}",
         VALIDATION, "Type mismatch for Index Key user Expected: S Actual: N IndexName: by-user"},
        {"PutItem",
         "{\"TableName\":\"app\",\"Item\":{\"id\":{\"S\":\"b\"},\"ts\":{\"N\":\"1\"},\"n\":{\"N\":"
         "\"1e200\"}}}",
         VALIDATION, "Number overflow"},
        {"PutItem",
         "{\"TableName\":\"app\",\"Item\":{\"id\":{\"S\":\"b\"},\"ts\":{\"N\":\"1\"},\"s\":{\"SS\":"
         "[\"x\",\"x\"]}}}",
         VALIDATION, "duplicates"},
        {"PutItem", "{\"TableName\":\"nope\",\"Item\":{\"id\":{\"S\":\"b\"}}}", NOT_FOUND, ""},
        {"PutItem",
         "{\"TableName\":\"app\",\"Item\":{\"id\":{\"S\":\"b\"},\"ts\":{\"N\":\"1\"}},\"Expected\":"
         "{}}",
         VALIDATION, "Expected is not supported"},
        {"PutItem",
         "{\"TableName\":\"app\",\"Item\":{\"id\":{\"S\":\"b\"},\"ts\":{\"N\":\"1\"}},"
         "\"ReturnValues\":\"ALL_NEW\"}",
         VALIDATION, "ReturnValues can only be ALL_OLD or NONE"},
    };
    local_env_expect_errs(e, SERVICE, key_errors, LOCAL_COUNT_OF(key_errors));
    /* 400 KB limit */
    size_t n = 409600;
    char *big = malloc(n + 200);
    int k = snprintf(big, n + 200,
                     "{\"TableName\":\"app\",\"Item\":{\"id\":{\"S\":\"b\"},\"ts\":{\"N\":\"1\"},"
                     "\"blob\":{\"S\":\"");
    memset(big + k, 'x', n);
    strcpy(big + k + n, "\"}}}");
    tycho_local_result_t r;
    assert_int_equal(
        tycho_local_exec(e->s, "DynamoDB_20120810.PutItem", big, strlen(big), e->now, &r), 0);
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(r.body, "Item size has exceeded the maximum allowed size"));
    tycho_local_result_free(&r);
    free(big);
    /* conditions */
    ddb(e, "PutItem",
        "{\"TableName\":\"app\",\"Item\":{\"id\":{\"S\":\"a\"},\"ts\":{\"N\":\"1\"}},"
        "\"ConditionExpression\":\"attribute_not_exists(id)\"}");
    EXPECT_ERR(e, COND_FAILED, "The conditional request failed");
    EXPECT_MEMBER(e, "Item", "(none)");
    ddb(e, "PutItem",
        "{\"TableName\":\"app\",\"Item\":{\"id\":{\"S\":\"a\"},\"ts\":{\"N\":\"1\"}},"
        "\"ConditionExpression\":\"attribute_not_exists(id)\","
        "\"ReturnValuesOnConditionCheckFailure\":\"ALL_OLD\"}");
    EXPECT_MEMBER(
        e, "Item",
        "{\"id\":{\"S\":\"a\"},\"ts\":{\"N\":\"1\"},\"v\":{\"N\":\"7\"},\"l\":{\"L\":[]}}");
    ddb(e, "PutItem",
        "{\"TableName\":\"app\",\"Item\":{\"id\":{\"S\":\"a\"},\"ts\":{\"N\":\"1\"},\"v\":{\"N\":"
        "\"8\"}},\"ConditionExpression\":\"v = :seven\","
        "\"ExpressionAttributeValues\":{\":seven\":{\"N\":\"7.00\"}},\"ReturnValues\":\"ALL_"
        "OLD\"}");
    assert_int_equal(e->status, 200);
    EXPECT_MEMBER(
        e, "Attributes",
        "{\"id\":{\"S\":\"a\"},\"ts\":{\"N\":\"1\"},\"v\":{\"N\":\"7\"},\"l\":{\"L\":[]}}");
    static const local_err_case_t expression_errors[] = {
        {"PutItem",
         "{\"TableName\":\"app\",\"Item\":{\"id\":{\"S\":\"a\"},\"ts\":{\"N\":\"1\"}},"
         "\"ConditionExpression\":\"v = :x\"}",
         VALIDATION, "An expression attribute value used in expression is not defined"},
        {"PutItem",
         "{\"TableName\":\"app\",\"Item\":{\"id\":{\"S\":\"a\"},\"ts\":{\"N\":\"1\"}},"
         "\"ExpressionAttributeValues\":{\":x\":{\"N\":\"1\"}}}",
         VALIDATION, "ExpressionAttributeValues can only be specified when using expressions"},
        {"PutItem",
         "{\"TableName\":\"app\",\"Item\":{\"id\":{\"S\":\"a\"},\"ts\":{\"N\":\"1\"}},"
         "\"ConditionExpression\":\"v = "
         ":x\",\"ExpressionAttributeValues\":{\":x\":{\"N\":\"1\"},\":y\":{\"N\":\"1\"}}}",
         VALIDATION, "unused in expressions: keys: {:y}"},
    };
    local_env_expect_errs(e, SERVICE, expression_errors, LOCAL_COUNT_OF(expression_errors));
    /* delete */
    ddb(e, "DeleteItem",
        "{\"TableName\":\"app\",\"Key\":{\"id\":{\"S\":\"a\"},\"ts\":{\"N\":\"1\"}},"
        "\"ConditionExpression\":\"v > :x\","
        "\"ExpressionAttributeValues\":{\":x\":{\"N\":\"100\"}}}");
    assert_string_equal(type_of(e), COND_FAILED);
    ddb(e, "DeleteItem",
        "{\"TableName\":\"app\",\"Key\":{\"id\":{\"S\":\"a\"},\"ts\":{\"N\":\"1\"}},"
        "\"ReturnValues\":\"ALL_OLD\"}");
    EXPECT_MEMBER(e, "Attributes",
                  "{\"id\":{\"S\":\"a\"},\"ts\":{\"N\":\"1\"},\"v\":{\"N\":\"8\"}}");
    ddb(e, "DeleteItem",
        "{\"TableName\":\"app\",\"Key\":{\"id\":{\"S\":\"a\"},\"ts\":{\"N\":\"1\"}},"
        "\"ReturnValues\":\"ALL_OLD\"}");
    assert_int_equal(e->status, 200);
    EXPECT_MEMBER(e, "Attributes", "(none)");
}

/* The item test_update works on. */
#define UPDATE_KEY "\"Key\":{\"id\":{\"S\":\"u\"},\"ts\":{\"N\":\"5\"}}"

static void test_update(void **state)
{
    env_t *e = *state;
    ddb(e, "CreateTable", "%s", APP_TABLE);
    const char *key = UPDATE_KEY;
    /* creates the item */
    ddb(e, "UpdateItem",
        "{\"TableName\":\"app\",%s,\"UpdateExpression\":\"SET #c = if_not_exists(#c, :zero) + "
        ":one, tags = :tags\","
        "\"ExpressionAttributeNames\":{\"#c\":\"count\"},\"ExpressionAttributeValues\":{\":zero\":{"
        "\"N\":\"0\"},\":one\":{\"N\":\"1\"},"
        "\":tags\":{\"SS\":[\"a\"]}},\"ReturnValues\":\"ALL_NEW\"}",
        key);
    assert_int_equal(e->status, 200);
    EXPECT_MEMBER(e, "Attributes",
                  "{\"id\":{\"S\":\"u\"},\"ts\":{\"N\":\"5\"},\"count\":{\"N\":\"1\"},\"tags\":{"
                  "\"SS\":[\"a\"]}}");
    ddb(e, "UpdateItem",
        "{\"TableName\":\"app\",%s,\"UpdateExpression\":\"ADD #c :big, tags "
        ":more\",\"ExpressionAttributeNames\":{\"#c\":\"count\"},"
        "\"ExpressionAttributeValues\":{\":big\":{\"N\":\"0.1\"},\":more\":{\"SS\":[\"b\"]}},"
        "\"ReturnValues\":\"UPDATED_NEW\"}",
        key);
    EXPECT_MEMBER(e, "Attributes", "{\"count\":{\"N\":\"1.1\"},\"tags\":{\"SS\":[\"a\",\"b\"]}}");
    ddb(e, "UpdateItem",
        "{\"TableName\":\"app\",%s,\"UpdateExpression\":\"REMOVE tags SET m = "
        ":m\",\"ExpressionAttributeValues\":{\":m\":{\"M\":{\"x\":{\"L\":[{\"N\":\"1\"}]}}}},"
        "\"ReturnValues\":\"UPDATED_OLD\"}",
        key);
    EXPECT_MEMBER(e, "Attributes", "{\"tags\":{\"SS\":[\"a\",\"b\"]}}");
    ddb(e, "UpdateItem",
        "{\"TableName\":\"app\",%s,\"UpdateExpression\":\"SET m.x[0] = :two, m.y = "
        ":two\",\"ExpressionAttributeValues\":{\":two\":{\"N\":\"2\"}},"
        "\"ReturnValues\":\"UPDATED_NEW\"}",
        key);
    EXPECT_MEMBER(e, "Attributes",
                  "{\"m\":{\"M\":{\"x\":{\"L\":[{\"N\":\"2\"}]},\"y\":{\"N\":\"2\"}}}}");
    ddb(e, "UpdateItem",
        "{\"TableName\":\"app\",%s,\"UpdateExpression\":\"SET #c = #c + "
        ":one\",\"ConditionExpression\":\"#c > :one\","
        "\"ExpressionAttributeNames\":{\"#c\":\"count\"},\"ExpressionAttributeValues\":{\":one\":{"
        "\"N\":\"1\"}},\"ReturnValues\":\"ALL_OLD\"}",
        key);
    assert_int_equal(e->status, 200);
    ddb(e, "GetItem",
        "{\"TableName\":\"app\",%s,\"ProjectionExpression\":\"#c, "
        "m.x\",\"ExpressionAttributeNames\":{\"#c\":\"count\"}}",
        key);
    EXPECT_MEMBER(e, "Item",
                  "{\"count\":{\"N\":\"2.1\"},\"m\":{\"M\":{\"x\":{\"L\":[{\"N\":\"2\"}]}}}}");
    /* errors */
    static const local_err_case_t update_errors[] = {
        {"UpdateItem",
         "{\"TableName\":\"app\"," UPDATE_KEY ",\"UpdateExpression\":\"SET id = "
         ":v\",\"ExpressionAttributeValues\":{\":v\":{\"S\":\"x\"}}}",
         VALIDATION, "Cannot update attribute id. This attribute is part of the key"},
        {"UpdateItem",
         "{\"TableName\":\"app\"," UPDATE_KEY ",\"UpdateExpression\":\"SET #u = "
         ":v\",\"ExpressionAttributeNames\":{\"#u\":\"user\"},\"ExpressionAttributeValues\":{\":"
         "v\":{\"N\":\"1\"}}}",
         VALIDATION, "Type mismatch for Index Key user"},
        {"UpdateItem",
         "{\"TableName\":\"app\"," UPDATE_KEY ",\"UpdateExpression\":\"SET q = nothere + "
         ":v\",\"ExpressionAttributeValues\":{\":v\":{\"N\":\"1\"}}}",
         VALIDATION, "refers to an attribute that does not exist"},
    };
    local_env_expect_errs(e, SERVICE, update_errors, LOCAL_COUNT_OF(update_errors));
    ddb(e, "UpdateItem",
        "{\"TableName\":\"app\",%s,\"UpdateExpression\":\"SET q = "
        ":v\",\"ConditionExpression\":\"attribute_not_exists(id)\","
        "\"ExpressionAttributeValues\":{\":v\":{\"N\":\"1\"}},"
        "\"ReturnValuesOnConditionCheckFailure\":\"ALL_OLD\"}",
        key);
    assert_string_equal(type_of(e), COND_FAILED);
    assert_non_null(cJSON_GetObjectItemCaseSensitive(e->body, "Item"));
    static const local_err_case_t update_option_errors[] = {
        {"UpdateItem",
         "{\"TableName\":\"app\"," UPDATE_KEY ",\"UpdateExpression\":\"SET q = "
         ":v\",\"ExpressionAttributeValues\":{\":v\":{\"N\":\"1\"}},\"ReturnValues\":\"BOGUS\"}",
         VALIDATION, "enum value set"},
        {"UpdateItem",
         "{\"TableName\":\"app\"," UPDATE_KEY ",\"UpdateExpression\":\"SET timestamp = "
         ":v\",\"ExpressionAttributeValues\":{\":v\":{\"N\":\"1\"}}}",
         VALIDATION, "reserved keyword: timestamp"},
        {"UpdateItem", "{\"TableName\":\"app\"," UPDATE_KEY ",\"AttributeUpdates\":{}}", VALIDATION,
         "AttributeUpdates is not supported"},
    };
    local_env_expect_errs(e, SERVICE, update_option_errors, LOCAL_COUNT_OF(update_option_errors));
    /* decimal overflow is an error, never a rounded value */
    ddb(e, "UpdateItem",
        "{\"TableName\":\"app\",%s,\"UpdateExpression\":\"SET big = "
        ":b\",\"ExpressionAttributeValues\":{\":b\":{\"N\":"
        "\"12345678901234567890123456789012345678\"}}}",
        key);
    ddb(e, "UpdateItem",
        "{\"TableName\":\"app\",%s,\"UpdateExpression\":\"ADD big "
        ":f\",\"ExpressionAttributeValues\":{\":f\":{\"N\":\"0.5\"}}}",
        key);
    EXPECT_ERR(e, VALIDATION, "38 significant digits");
}

static void put(env_t *e, const char *id, const char *ts, const char *user, const char *created,
                const char *extra)
{
    char attrs[512] = "";
    if (user)
        snprintf(attrs, sizeof attrs, ",\"user\":{\"S\":\"%s\"},\"created\":{\"S\":\"%s\"}", user,
                 created);
    ddb(e, "PutItem",
        "{\"TableName\":\"app\",\"Item\":{\"id\":{\"S\":\"%s\"},\"ts\":{\"N\":\"%s\"}%s%s}}", id,
        ts, attrs, extra ? extra : "");
    assert_int_equal(e->status, 200);
}

static char *sks(env_t *e)
{
    /* the ts values of Items, comma separated */
    static char out[512];
    out[0] = '\0';
    const cJSON *items = cJSON_GetObjectItemCaseSensitive(e->body, "Items");
    for (const cJSON *i = items ? items->child : NULL; i; i = i->next) {
        const cJSON *ts =
            cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(i, "ts"), "N");
        snprintf(out + strlen(out), sizeof out - strlen(out), "%s%s", out[0] ? "," : "",
                 ts ? ts->valuestring : "?");
    }
    return out;
}

/* test_query's partition ":p" = "p", an object left open for more values. */
#define P_VALUES "\"ExpressionAttributeValues\":{\":p\":{\"S\":\"p\"}"

static void test_query(void **state)
{
    env_t *e = *state;
    ddb(e, "CreateTable", "%s", APP_TABLE);
    /* numeric sort keys sort numerically, not as strings */
    const char *tss[] = {"10", "9", "-1", "2.5", "100", "0.001"};
    for (int i = 0; i < 6; i++)
        put(e, "p", tss[i], i % 2 ? "alice" : "bob", i % 2 ? "2024-01-0" : "2023-12-3",
            i == 4 ? ",\"flag\":{\"BOOL\":true}" : NULL);
    put(e, "other", "1", NULL, NULL, NULL);
    const char *p = P_VALUES;
    ddb(e, "Query", "{\"TableName\":\"app\",\"KeyConditionExpression\":\"id = :p\",%s}}", p);
    assert_string_equal(sks(e), "-1,0.001,2.5,9,10,100");
    assert_int_equal((int)num(e, "Count"), 6);
    assert_int_equal((int)num(e, "ScannedCount"), 6);
    /* each key condition: the sort keys it returns, in order */
    static const struct {
        const char *body, *sks;
    } conditions[] = {
        {"{\"TableName\":\"app\",\"KeyConditionExpression\":\"id = "
         ":p\",\"ScanIndexForward\":false," P_VALUES "}}",
         "100,10,9,2.5,0.001,-1"},
        {"{\"TableName\":\"app\",\"KeyConditionExpression\":\"id = :p AND ts BETWEEN :a AND "
         ":b\"," P_VALUES ",\":a\":{\"N\":\"0\"},\":b\":{\"N\":\"10\"}}}",
         "0.001,2.5,9,10"},
        {"{\"TableName\":\"app\",\"KeyConditionExpression\":\":a < ts AND id = :p\"," P_VALUES
         ",\":a\":{\"N\":\"9\"}}}",
         "10,100"},
        {"{\"TableName\":\"app\",\"KeyConditionExpression\":\"id = :p AND ts <= :a\"," P_VALUES
         ",\":a\":{\"N\":\"2.5\"}}}",
         "-1,0.001,2.5"},
        {"{\"TableName\":\"app\",\"KeyConditionExpression\":\"id = :p AND ts = :a\"," P_VALUES
         ",\":a\":{\"N\":\"9.0\"}}}",
         "9"},
    };
    for (size_t i = 0; i < LOCAL_COUNT_OF(conditions); i++) {
        ddb(e, "Query", "%s", conditions[i].body);
        assert_string_equal(sks(e), conditions[i].sks);
    }
    /* filter: ScannedCount counts before the filter */
    ddb(e, "Query",
        "{\"TableName\":\"app\",\"KeyConditionExpression\":\"id = "
        ":p\",\"FilterExpression\":\"attribute_exists(flag)\",%s}}",
        p);
    assert_string_equal(sks(e), "100");
    assert_int_equal((int)num(e, "Count"), 1);
    assert_int_equal((int)num(e, "ScannedCount"), 6);
    ddb(e, "Query",
        "{\"TableName\":\"app\",\"KeyConditionExpression\":\"id = :p\",\"Select\":\"COUNT\",%s}}",
        p);
    EXPECT_MEMBER(e, "Items", "(none)");
    assert_int_equal((int)num(e, "Count"), 6);
    ddb(e, "Query",
        "{\"TableName\":\"app\",\"KeyConditionExpression\":\"id = "
        ":p\",\"ProjectionExpression\":\"ts\",\"Limit\":1,%s}}",
        p);
    EXPECT_MEMBER(e, "Items", "[{\"ts\":{\"N\":\"-1\"}}]");
    /* pagination: Limit + LastEvaluatedKey / ExclusiveStartKey walks every item once */
    char seen[256] = "";
    char esk[512] = "";
    for (int page = 0; page < 10; page++) {
        ddb(e, "Query",
            "{\"TableName\":\"app\",\"KeyConditionExpression\":\"id = :p\",\"Limit\":4%s%s,%s}}",
            esk[0] ? ",\"ExclusiveStartKey\":" : "", esk, p);
        snprintf(seen + strlen(seen), sizeof seen - strlen(seen), "%s%s",
                 seen[0] && sks(e)[0] ? "," : "", sks(e));
        const cJSON *lek = cJSON_GetObjectItemCaseSensitive(e->body, "LastEvaluatedKey");
        if (!lek) break;
        char *s = cJSON_PrintUnformatted(lek);
        snprintf(esk, sizeof esk, "%s", s);
        free(s);
    }
    assert_string_equal(seen, "-1,0.001,2.5,9,10,100");
    /* GSI: by user, sorted by created, then table key */
    ddb(e, "Query",
        "{\"TableName\":\"app\",\"IndexName\":\"by-user\",\"KeyConditionExpression\":\"#u = :u AND "
        "begins_with(created, :c)\","
        "\"ExpressionAttributeNames\":{\"#u\":\"user\"},\"ExpressionAttributeValues\":{\":u\":{"
        "\"S\":\"alice\"},\":c\":{\"S\":\"2024\"}}}");
    assert_int_equal(e->status, 200);
    assert_string_equal(sks(e), "0.001,2.5,9"); /* same created: table key order */
    ddb(e, "Query",
        "{\"TableName\":\"app\",\"IndexName\":\"by-user\",\"KeyConditionExpression\":\"#u = "
        ":u\",\"Limit\":2,"
        "\"ExpressionAttributeNames\":{\"#u\":\"user\"},\"ExpressionAttributeValues\":{\":u\":{"
        "\"S\":\"alice\"}}}");
    char *lek = member(e, "LastEvaluatedKey");
    assert_string_equal(lek, "{\"id\":{\"S\":\"p\"},\"ts\":{\"N\":\"2.5\"},\"user\":{\"S\":"
                             "\"alice\"},\"created\":{\"S\":\"2024-01-0\"}}");
    ddb(e, "Query",
        "{\"TableName\":\"app\",\"IndexName\":\"by-user\",\"KeyConditionExpression\":\"#u = "
        ":u\",\"ExclusiveStartKey\":%s,"
        "\"ExpressionAttributeNames\":{\"#u\":\"user\"},\"ExpressionAttributeValues\":{\":u\":{"
        "\"S\":\"alice\"}}}",
        lek);
    free(lek);
    assert_string_equal(sks(e), "9");
    /* KEYS_ONLY index returns only keys */
    ddb(e, "Query",
        "{\"TableName\":\"app\",\"IndexName\":\"keys\",\"KeyConditionExpression\":\"#u = "
        ":u\",\"Limit\":1,"
        "\"ExpressionAttributeNames\":{\"#u\":\"user\"},\"ExpressionAttributeValues\":{\":u\":{"
        "\"S\":\"bob\"}}}");
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(e->body, "Items")->child;
    assert_int_equal(cJSON_GetArraySize(it), 3);
    assert_null(cJSON_GetObjectItemCaseSensitive(it, "created"));
    static const local_err_case_t query_errors[] = {
        {"Query",
         "{\"TableName\":\"app\",\"IndexName\":\"keys\",\"Select\":\"ALL_ATTRIBUTES\","
         "\"KeyConditionExpression\":\"#u = "
         ":u\",\"ExpressionAttributeNames\":{\"#u\":\"user\"},\"ExpressionAttributeValues\":{\":"
         "u\":{\"S\":\"bob\"}}}",
         VALIDATION, "projection type is not ALL"},
        /* errors */
        {"Query",
         "{\"TableName\":\"app\",\"KeyConditionExpression\":\"ts = "
         ":a\",\"ExpressionAttributeValues\":{\":a\":{\"N\":\"1\"}}}",
         VALIDATION, "Query condition missed key schema element: id"},
        {"Query",
         "{\"TableName\":\"app\",\"KeyConditionExpression\":\"id = :p OR id = :p\"," P_VALUES "}}",
         VALIDATION, "Invalid operator used in KeyConditionExpression: OR"},
        {"Query",
         "{\"TableName\":\"app\",\"KeyConditionExpression\":\"id = :p AND begins_with(ts, "
         ":a)\"," P_VALUES ",\":a\":{\"N\":\"1\"}}}",
         VALIDATION, "begins_with"},
        {"Query",
         "{\"TableName\":\"app\",\"KeyConditionExpression\":\"id = "
         ":a\",\"ExpressionAttributeValues\":{\":a\":{\"N\":\"1\"}}}",
         VALIDATION, "Condition parameter type does not match schema type"},
        {"Query",
         "{\"TableName\":\"app\",\"KeyConditionExpression\":\"id = :p\",\"FilterExpression\":\"ts "
         "> :a\"," P_VALUES ",\":a\":{\"N\":\"1\"}}}",
         VALIDATION,
         "Filter Expression can only contain non-primary key attributes: Primary key attribute: "
         "ts"},
        {"Query",
         "{\"TableName\":\"app\",\"IndexName\":\"nope\",\"KeyConditionExpression\":\"id = "
         ":p\"," P_VALUES "}}",
         VALIDATION, "The table does not have the specified index: nope"},
        {"Query",
         "{\"TableName\":\"app\",\"IndexName\":\"by-user\",\"ConsistentRead\":true,"
         "\"KeyConditionExpression\":\"id = :p\"," P_VALUES "}}",
         VALIDATION, "Consistent reads are not supported on global secondary indexes"},
        {"Query", "{\"TableName\":\"app\"," P_VALUES "}}", VALIDATION,
         "ExpressionAttributeValues can only be specified"},
        {"Query",
         "{\"TableName\":\"app\",\"KeyConditionExpression\":\"id = "
         ":p\",\"ExclusiveStartKey\":{\"id\":{\"S\":\"p\"}}," P_VALUES "}}",
         VALIDATION, "The provided starting key is invalid"},
        {"Query",
         "{\"TableName\":\"app\",\"KeyConditionExpression\":\"id = :p\",\"Limit\":0," P_VALUES "}}",
         VALIDATION, "greater than or equal to 1"},
    };
    local_env_expect_errs(e, SERVICE, query_errors, LOCAL_COUNT_OF(query_errors));
}

/* A table whose GSIs project less than the item: "keys" (KEYS_ONLY) and
 * "inc" (INCLUDE v), both on g. */
static const char PROJ_TABLE[] =
    "{\"TableName\":\"proj\",\"BillingMode\":\"PAY_PER_REQUEST\","
    "\"AttributeDefinitions\":[{\"AttributeName\":\"pk\",\"AttributeType\":\"S\"},"
    "{\"AttributeName\":\"g\",\"AttributeType\":\"S\"}],"
    "\"KeySchema\":[{\"AttributeName\":\"pk\",\"KeyType\":\"HASH\"}],"
    "\"GlobalSecondaryIndexes\":["
    "{\"IndexName\":\"keys\",\"KeySchema\":[{\"AttributeName\":\"g\",\"KeyType\":\"HASH\"}],"
    "\"Projection\":{\"ProjectionType\":\"KEYS_ONLY\"}},"
    "{\"IndexName\":\"inc\",\"KeySchema\":[{\"AttributeName\":\"g\",\"KeyType\":\"HASH\"}],"
    "\"Projection\":{\"ProjectionType\":\"INCLUDE\",\"NonKeyAttributes\":[\"v\"]}}]}";

/* Query or Scan (op) on index idx of PROJ_TABLE with more members (a filter,
 * a projection, values): the items it answers, compact. */
static void read_index(env_t *e, const char *op, const char *idx, const char *more,
                       const char *want_items)
{
    ddb(e, op, "{\"TableName\":\"proj\",\"IndexName\":\"%s\"%s%s}", idx,
        strcmp(op, "Query") == 0 ? ",\"KeyConditionExpression\":\"g = :g\"" : "", more);
    if (e->status != 200) fail_msg("%s %s %s: %d %s", op, idx, more, e->status, msg_of(e));
    char *got = member(e, "Items");
    if (strcmp(got, want_items) != 0)
        fail_msg("%s %s %s: Items = %s, want %s", op, idx, more, got, want_items);
    free(got);
}

/* A GSI read filters and projects the item as the index holds it: the
 * attributes not projected into it are absent (AWS), not read from the
 * table item. */
static void test_gsi_reads_see_index_projection(void **state)
{
    env_t *e = *state;
    ddb(e, "CreateTable", "%s", PROJ_TABLE);
    assert_int_equal(e->status, 200);
    for (int i = 1; i <= 2; i++) {
        ddb(e, "PutItem",
            "{\"TableName\":\"proj\",\"Item\":{\"pk\":{\"S\":\"k%d\"},\"g\":{\"S\":\"G\"},\"v\":{"
            "\"N\":\"%d\"},\"secret\":{\"S\":\"s%d\"}}}",
            i, i, i);
        assert_int_equal(e->status, 200);
    }
#define VALS(extra) ",\"ExpressionAttributeValues\":{\":g\":{\"S\":\"G\"}" extra "}"
#define S1 ",\":s\":{\"S\":\"s1\"}"
#define V1 ",\":v\":{\"N\":\"1\"}"
    static const char *const ops[] = {"Query", "Scan"};
    for (int i = 0; i < 2; i++) {
        /* Scan has no key condition: its values must all be used */
        int q = i == 0;
        char vals_s[160], vals_v[160], vals[96];
        snprintf(vals_s, sizeof vals_s, "%s",
                 q ? VALS(S1) : ",\"ExpressionAttributeValues\":{\":s\":{\"S\":\"s1\"}}");
        snprintf(vals_v, sizeof vals_v, "%s",
                 q ? VALS(V1) : ",\"ExpressionAttributeValues\":{\":v\":{\"N\":\"1\"}}");
        snprintf(vals, sizeof vals, "%s", q ? VALS("") : "");
        char more[320];
        snprintf(more, sizeof more, ",\"FilterExpression\":\"secret = :s\"%s", vals_s);
        read_index(e, ops[i], "keys", more, "[]");
        read_index(e, ops[i], "inc", more, "[]");
        snprintf(more, sizeof more, ",\"FilterExpression\":\"attribute_not_exists(secret)\"%s",
                 vals);
        read_index(e, ops[i], "keys", more,
                   "[{\"pk\":{\"S\":\"k1\"},\"g\":{\"S\":\"G\"}},"
                   "{\"pk\":{\"S\":\"k2\"},\"g\":{\"S\":\"G\"}}]");
        snprintf(more, sizeof more, ",\"FilterExpression\":\"v = :v\"%s", vals_v);
        read_index(e, ops[i], "keys", more, "[]");
        read_index(e, ops[i], "inc", more,
                   "[{\"pk\":{\"S\":\"k1\"},\"g\":{\"S\":\"G\"},\"v\":{\"N\":\"1\"}}]");
        snprintf(more, sizeof more, ",\"ProjectionExpression\":\"pk, v, secret\"%s", vals);
        read_index(e, ops[i], "keys", more, "[{\"pk\":{\"S\":\"k1\"}},{\"pk\":{\"S\":\"k2\"}}]");
        read_index(e, ops[i], "inc", more,
                   "[{\"pk\":{\"S\":\"k1\"},\"v\":{\"N\":\"1\"}},"
                   "{\"pk\":{\"S\":\"k2\"},\"v\":{\"N\":\"2\"}}]");
    }
#undef VALS
#undef S1
#undef V1
}

/* A Query's ExclusiveStartKey outside its key condition is refused, as by
 * DynamoDB (dynalite's checks and messages), on the table and on a GSI. */
static void test_query_start_key_bounds(void **state)
{
    env_t *e = *state;
    ddb(e, "CreateTable", "%s", APP_TABLE);
#define ESK(id, ts) ",\"ExclusiveStartKey\":{\"id\":{\"S\":\"" id "\"},\"ts\":{\"N\":\"" ts "\"}"
#define GESK(id, ts, user, created)                                                                \
    ESK(id, ts) ",\"user\":{\"S\":\"" user "\"},\"created\":{\"S\":\"" created "\"}}"
#define Q(cond, esk, vals)                                                                         \
    "{\"TableName\":\"app\",\"KeyConditionExpression\":\"" cond "\"" esk                           \
    ",\"ExpressionAttributeValues\":{\":p\":{\"S\":\"p\"}" vals "}}"
#define GQ(cond, esk, vals)                                                                        \
    "{\"TableName\":\"app\",\"IndexName\":\"by-user\",\"KeyConditionExpression\":\"#u = :u" cond   \
    "\"" esk ",\"ExpressionAttributeNames\":{\"#u\":\"user\"},"                                    \
    "\"ExpressionAttributeValues\":{\":u\":{\"S\":\"alice\"}" vals "}}"
    static const char OUTSIDE[] =
        "The provided starting key is outside query boundaries based on provided conditions";
    static const char PREDICATE[] =
        "The provided starting key does not match the range key predicate";
    static const local_err_case_t cases[] = {
        {"Query", Q("id = :p", ESK("q", "1") "}", ""), VALIDATION, OUTSIDE},
        {"Query", GQ("", GESK("p", "1", "bob", "2024"), ""), VALIDATION, OUTSIDE},
        {"Query", Q("id = :p AND ts > :a", ESK("p", "5") "}", ",\":a\":{\"N\":\"5\"}"), VALIDATION,
         PREDICATE},
        {"Query", Q("id = :p AND ts <= :a", ESK("p", "6") "}", ",\":a\":{\"N\":\"5\"}"), VALIDATION,
         PREDICATE},
        {"Query",
         Q("id = :p AND ts BETWEEN :a AND :b", ESK("p", "11") "}",
           ",\":a\":{\"N\":\"1\"},\":b\":{\"N\":\"10\"}"),
         VALIDATION, PREDICATE},
        {"Query",
         GQ(" AND begins_with(created, :c)", GESK("p", "1", "alice", "2023-01"),
            ",\":c\":{\"S\":\"2024\"}"),
         VALIDATION, PREDICATE},
        {"Query", Q("id = :p AND ts > :a", ESK("q", "6") "}", ",\":a\":{\"N\":\"5\"}"), VALIDATION,
         "The query can return at most one row and cannot be restarted"},
    };
    local_env_expect_errs(e, SERVICE, cases, LOCAL_COUNT_OF(cases));
    /* inside the bounds: an ordinary next page */
    put(e, "p", "7", "alice", "2024-02", NULL);
    ddb(e, "Query", Q("id = :p AND ts > :a", ESK("p", "6") "}", ",\":a\":{\"N\":\"5\"}"));
    assert_string_equal(sks(e), "7");
    ddb(e, "Query",
        GQ(" AND begins_with(created, :c)", GESK("p", "1", "alice", "2024-01"),
           ",\":c\":{\"S\":\"2024\"}"));
    assert_string_equal(sks(e), "7");
#undef ESK
#undef GESK
#undef Q
#undef GQ
}

static void test_scan_and_batches(void **state)
{
    env_t *e = *state;
    ddb(e, "CreateTable", "%s", APP_TABLE);
    char items[4096] = "";
    for (int i = 0; i < 25; i++)
        snprintf(items + strlen(items), sizeof items - strlen(items),
                 "%s{\"PutRequest\":{\"Item\":{\"id\":{\"S\":\"k%02d\"},\"ts\":{\"N\":\"%d\"},"
                 "\"odd\":{\"BOOL\":%s}}}}",
                 i ? "," : "", i, i, i % 2 ? "true" : "false");
    ddb(e, "BatchWriteItem", "{\"RequestItems\":{\"app\":[%s]}}", items);
    assert_int_equal(e->status, 200);
    EXPECT_MEMBER(e, "UnprocessedItems", "{}");
    ddb(e, "Scan",
        "{\"TableName\":\"app\",\"FilterExpression\":\"odd = "
        ":t\",\"ExpressionAttributeValues\":{\":t\":{\"BOOL\":true}}}");
    assert_int_equal((int)num(e, "Count"), 12);
    assert_int_equal((int)num(e, "ScannedCount"), 25);
    int total = 0, pages = 0;
    char esk[512] = "";
    for (;;) {
        ddb(e, "Scan", "{\"TableName\":\"app\",\"Limit\":10%s%s}",
            esk[0] ? ",\"ExclusiveStartKey\":" : "", esk);
        total += (int)num(e, "Count");
        pages++;
        const cJSON *lek = cJSON_GetObjectItemCaseSensitive(e->body, "LastEvaluatedKey");
        if (!lek) break;
        char *s = cJSON_PrintUnformatted(lek);
        snprintf(esk, sizeof esk, "%s", s);
        free(s);
    }
    assert_int_equal(total, 25);
    assert_int_equal(pages, 3);
    int seg_total = 0;
    for (int seg = 0; seg < 3; seg++) {
        ddb(e, "Scan",
            "{\"TableName\":\"app\",\"Segment\":%d,\"TotalSegments\":3,\"Select\":\"COUNT\"}", seg);
        seg_total += (int)num(e, "Count");
    }
    assert_int_equal(seg_total, 25);
    ddb(e, "BatchWriteItem",
        "{\"RequestItems\":{\"app\":[%s,{\"DeleteRequest\":{\"Key\":{\"id\":{\"S\":\"k00\"},\"ts\":"
        "{\"N\":\"0\"}}}}]}}",
        items);
    EXPECT_ERR(e, VALIDATION, "Too many items requested for the BatchWriteItem call");
    ddb(e, "BatchWriteItem",
        "{\"RequestItems\":{\"app\":[{\"DeleteRequest\":{\"Key\":{\"id\":{\"S\":\"k00\"},\"ts\":{"
        "\"N\":\"0\"}}}},"
        "{\"DeleteRequest\":{\"Key\":{\"id\":{\"S\":\"k00\"},\"ts\":{\"N\":\"0\"}}}}]}}");
    EXPECT_ERR(e, VALIDATION, "Provided list of item keys contains duplicates");
    ddb(e, "BatchWriteItem",
        "{\"RequestItems\":{\"app\":[{\"DeleteRequest\":{\"Key\":{\"id\":{\"S\":\"k00\"},\"ts\":{"
        "\"N\":\"0\"}}}}],"
        "\"nope\":[{\"DeleteRequest\":{\"Key\":{\"id\":{\"S\":\"x\"}}}}]}}");
    assert_string_equal(type_of(e), NOT_FOUND);
    /* the failed batch wrote nothing */
    ddb(e, "GetItem",
        "{\"TableName\":\"app\",\"Key\":{\"id\":{\"S\":\"k00\"},\"ts\":{\"N\":\"0\"}}}");
    assert_non_null(cJSON_GetObjectItemCaseSensitive(e->body, "Item"));
    ddb(e, "BatchGetItem",
        "{\"RequestItems\":{\"app\":{\"Keys\":[{\"id\":{\"S\":\"k01\"},\"ts\":{\"N\":\"1\"}},{"
        "\"id\":{\"S\":\"k02\"},\"ts\":{\"N\":\"2\"}},"
        "{\"id\":{\"S\":\"zz\"},\"ts\":{\"N\":\"2\"}}],\"ProjectionExpression\":\"id\"}}}");
    assert_int_equal(e->status, 200);
    const cJSON *resp = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(e->body, "Responses"), "app");
    assert_int_equal(cJSON_GetArraySize(resp), 2);
    assert_int_equal(cJSON_GetArraySize(resp->child), 1);
    EXPECT_MEMBER(e, "UnprocessedKeys", "{}");
    ddb(e, "BatchGetItem",
        "{\"RequestItems\":{\"app\":{\"Keys\":[{\"id\":{\"S\":\"k01\"},\"ts\":{\"N\":\"1\"}},{"
        "\"id\":{\"S\":\"k01\"},\"ts\":{\"N\":\"1.0\"}}]}}}");
    EXPECT_ERR(e, VALIDATION, "duplicates");
}

static void test_ttl(void **state)
{
    env_t *e = *state;
    ddb(e, "CreateTable", "%s", APP_TABLE);
    ddb(e, "DescribeTimeToLive", "{\"TableName\":\"app\"}");
    EXPECT_MEMBER(e, "TimeToLiveDescription", "{\"TimeToLiveStatus\":\"DISABLED\"}");
    ddb(e, "UpdateTimeToLive",
        "{\"TableName\":\"app\",\"TimeToLiveSpecification\":{\"Enabled\":true,\"AttributeName\":"
        "\"ttl\"}}");
    EXPECT_MEMBER(e, "TimeToLiveSpecification", "{\"Enabled\":true,\"AttributeName\":\"ttl\"}");
    ddb(e, "UpdateTimeToLive",
        "{\"TableName\":\"app\",\"TimeToLiveSpecification\":{\"Enabled\":true,\"AttributeName\":"
        "\"ttl\"}}");
    EXPECT_ERR(e, VALIDATION, "TimeToLive is already enabled");
    /* a name that was given, but empty or too long, is named as given */
    ddb(e, "UpdateTimeToLive",
        "{\"TableName\":\"app\",\"TimeToLiveSpecification\":{\"Enabled\":false,"
        "\"AttributeName\":\"\"}}");
    EXPECT_ERR(e, VALIDATION,
               "1 validation error detected: Value '' at 'timeToLiveSpecification.attributeName' "
               "failed to satisfy constraint: Member must have length greater than or equal to 1");
    char longname[300];
    memset(longname, 'x', 256);
    longname[256] = '\0';
    ddb(e, "UpdateTimeToLive",
        "{\"TableName\":\"app\",\"TimeToLiveSpecification\":{\"Enabled\":true,"
        "\"AttributeName\":\"%s\"}}",
        longname);
    EXPECT_ERR(e, VALIDATION,
               "at 'timeToLiveSpecification.attributeName' failed to satisfy constraint: Member "
               "must have length less than or equal to 255");
    ddb(e, "UpdateTimeToLive",
        "{\"TableName\":\"app\",\"TimeToLiveSpecification\":{\"Enabled\":true,"
        "\"AttributeName\":7}}");
    assert_int_equal(e->status, 400);
    assert_string_equal(type_of(e), SERIALIZATION);
    ddb(e, "UpdateTimeToLive",
        "{\"TableName\":\"app\",\"TimeToLiveSpecification\":{\"Enabled\":true}}");
    EXPECT_ERR(e, VALIDATION,
               "Value null at 'timeToLiveSpecification.attributeName' failed to satisfy "
               "constraint: Member must not be null");
    ddb(e, "DescribeTimeToLive", "{\"TableName\":\"app\"}");
    EXPECT_MEMBER(e, "TimeToLiveDescription",
                  "{\"TimeToLiveStatus\":\"ENABLED\",\"AttributeName\":\"ttl\"}");
    int64_t now_s = e->now / 1000;
    put(e, "t", "1", NULL, NULL, ",\"ttl\":{\"N\":\"1700000010\"}");
    put(e, "t", "2", NULL, NULL, ",\"ttl\":{\"N\":\"1800000000\"}");
    put(e, "t", "3", NULL, NULL, ",\"ttl\":{\"S\":\"1\"}"); /* not a number: never expires */
    put(e, "t", "4", NULL, NULL,
        ",\"ttl\":{\"N\":\"1000\"}"); /* > 5 years in the past: ignored, as AWS does */
    (void)now_s;
    const char *q = "{\"TableName\":\"app\",\"KeyConditionExpression\":\"id = "
                    ":p\",\"ExpressionAttributeValues\":{\":p\":{\"S\":\"t\"}}}";
    ddb(e, "Query", "%s", q);
    assert_string_equal(sks(e), "1,2,3,4");
    e->now += 11000;
    ddb(e, "Query", "%s", q);
    assert_string_equal(sks(e), "2,3,4");
    ddb(e, "GetItem",
        "{\"TableName\":\"app\",\"Key\":{\"id\":{\"S\":\"t\"},\"ts\":{\"N\":\"1\"}}}");
    EXPECT_MEMBER(e, "Item", "(none)");
    /* an expired item is gone for conditions too */
    ddb(e, "PutItem",
        "{\"TableName\":\"app\",\"Item\":{\"id\":{\"S\":\"t\"},\"ts\":{\"N\":\"1\"}},"
        "\"ConditionExpression\":\"attribute_not_exists(id)\"}");
    assert_int_equal(e->status, 200);
    e->now += 200000000000LL;
    assert_int_equal(local_env_sweep(e), 1);
    ddb(e, "Scan", "{\"TableName\":\"app\",\"Select\":\"COUNT\"}");
    assert_int_equal((int)num(e, "Count"), 3);
    ddb(e, "UpdateTimeToLive",
        "{\"TableName\":\"app\",\"TimeToLiveSpecification\":{\"Enabled\":false,\"AttributeName\":"
        "\"other\"}}");
    EXPECT_ERR(e, VALIDATION, "does not match");
    ddb(e, "UpdateTimeToLive",
        "{\"TableName\":\"app\",\"TimeToLiveSpecification\":{\"Enabled\":false,\"AttributeName\":"
        "\"ttl\"}}");
    assert_int_equal(e->status, 200);
}

static void test_config_tables(void **state)
{
    env_t *e = *state;
    tycho_local_store_close(e->s);
    assert_int_equal(local_env_open(e, "",
                                    TYCHO_LOCAL_DEFAULT_TABLES
                                    ";small:pk=k/N;two:sk=s/N:pk=p:gsi=gs1/a/S:gsi=gs2/b/B",
                                    1),
                     0);
    /* sk written first, two gsi */
    ddb(e, "DescribeTable", "{\"TableName\":\"two\"}");
    const cJSON *two = cJSON_GetObjectItemCaseSensitive(e->body, "Table");
    char *two_ks = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(two, "KeySchema"));
    assert_string_equal(two_ks, "[{\"AttributeName\":\"p\",\"KeyType\":\"HASH\"},"
                                "{\"AttributeName\":\"s\",\"KeyType\":\"RANGE\"}]");
    free(two_ks);
    assert_int_equal(
        cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(two, "GlobalSecondaryIndexes")), 2);
    ddb(e, "DescribeTable", "{\"TableName\":\"tycho-app-data\"}");
    assert_int_equal(e->status, 200);
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(e->body, "Table");
    char *ks = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(t, "KeySchema"));
    assert_string_equal(ks, "[{\"AttributeName\":\"id\",\"KeyType\":\"HASH\"},{\"AttributeName\":"
                            "\"timestamp\",\"KeyType\":\"RANGE\"}]");
    free(ks);
    const cJSON *g = cJSON_GetObjectItemCaseSensitive(t, "GlobalSecondaryIndexes")->child;
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(g, "IndexName")->valuestring,
                        "user-index");
    ddb(e, "DescribeTimeToLive", "{\"TableName\":\"tycho-app-data\"}");
    EXPECT_MEMBER(e, "TimeToLiveDescription",
                  "{\"TimeToLiveStatus\":\"ENABLED\",\"AttributeName\":\"ttl\"}");
    ddb(e, "PutItem", "{\"TableName\":\"small\",\"Item\":{\"k\":{\"N\":\"1\"}}}");
    assert_int_equal(e->status, 200);
    tycho_local_store_close(e->s);
    e->s = NULL;
    /* reopening with a different key schema for an existing table fails */
    local_env_open_fails(e, "", "small:pk=k/S",
                         "TYCHO_LOCAL_TABLES: table small: stored with keys pk=k/N, configured "
                         "with pk=k/S; to keep its items, configure pk=k/N; to start it anew as "
                         "configured, delete the table (DeleteTable) or use another "
                         "TYCHO_DATA_DIR");
    local_env_open_fails(e, "", "small:pk=k/N:sk=ts/S",
                         "table small: stored with keys pk=k/N, configured with pk=k/N:sk=ts/S");
    const char *bad[] = {"ab:pk=x",           "tab",
                         "tab:pk=x/Q",        "tab:pk=x:gsi=ix",
                         "tab:pk=x:foo=1",    "tab:pk=x:ttl=a:ttl=b",
                         "tab:pk=x:sk=a:sk=b"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        local_env_open_fails(e, "", bad[i], "TYCHO_LOCAL_TABLES");
    assert_int_equal(local_env_open(e, "", "", 1), 0);
}

/* SQLite VM steps the store's statements ran since the last call. */
static long long vm_steps(tycho_local_store_t *s)
{
    long long n = 0;
    for (int i = 0; i < s->nstmts; i++)
        n += sqlite3_stmt_status(s->stmts[i].stmt, SQLITE_STMTSTATUS_VM_STEP, 1);
    return n;
}

/* n items in both GSIs of APP_TABLE, ids "f<first>"..., 25 a BatchWriteItem. */
static void fill(env_t *e, int first, int n)
{
    for (int done = 0; done < n;) {
        char items[8192] = "";
        for (int i = 0; i < 25 && done < n; i++, done++)
            snprintf(items + strlen(items), sizeof items - strlen(items),
                     "%s{\"PutRequest\":{\"Item\":{\"id\":{\"S\":\"f%d\"},\"ts\":{\"N\":\"1\"},"
                     "\"user\":{\"S\":\"u%d\"},\"created\":{\"S\":\"2024\"}}}}",
                     i ? "," : "", first + done, (first + done) % 7);
        ddb(e, "BatchWriteItem", "{\"RequestItems\":{\"app\":[%s]}}", items);
        assert_int_equal(e->status, 200);
    }
}

/* VM steps of 20 items each put, updated (a GSI key changed) and deleted. */
static long long write_steps(env_t *e, const char *prefix)
{
    vm_steps(e->s);
    for (int i = 0; i < 20; i++) {
        char id[32];
        snprintf(id, sizeof id, "%s%d", prefix, i);
        put(e, id, "1", "alice", "2024-01", NULL);
        ddb(e, "UpdateItem",
            "{\"TableName\":\"app\",\"Key\":{\"id\":{\"S\":\"%s\"},\"ts\":{\"N\":\"1\"}},"
            "\"UpdateExpression\":\"SET created = :c\",\"ExpressionAttributeValues\":{\":c\":{"
            "\"S\":\"2024-02\"}}}",
            id);
        assert_int_equal(e->status, 200);
        ddb(e, "DeleteItem",
            "{\"TableName\":\"app\",\"Key\":{\"id\":{\"S\":\"%s\"},\"ts\":{\"N\":\"1\"}}}", id);
        assert_int_equal(e->status, 200);
    }
    return vm_steps(e->s);
}

/* A write's work does not grow with the table: each write replaces the
 * item's index rows, found by its key (the ddb_index_item index); without
 * that index every write read all of the table's index rows, and the
 * local backend's CPU grew with the table (bench/soak_app.sh, 30k items). */
static void test_write_cost_flat(void **state)
{
    env_t *e = *state;
    ddb(e, "CreateTable", "%s", APP_TABLE);
    fill(e, 0, 100);
    long long small = write_steps(e, "a");
    fill(e, 100, 4000);
    long long large = write_steps(e, "b");
    ddb(e, "Scan", "{\"TableName\":\"app\",\"Select\":\"COUNT\"}");
    assert_int_equal((int)num(e, "Count"), 4100);
    if (large > 2 * small)
        fail_msg("60 writes took %lld SQLite steps beside 100 items, %lld beside 4,100", small,
                 large);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_tables, setup, local_env_teardown),
        cmocka_unit_test_setup_teardown(test_items, setup, local_env_teardown),
        cmocka_unit_test_setup_teardown(test_update, setup, local_env_teardown),
        cmocka_unit_test_setup_teardown(test_query, setup, local_env_teardown),
        cmocka_unit_test_setup_teardown(test_gsi_reads_see_index_projection, setup,
                                        local_env_teardown),
        cmocka_unit_test_setup_teardown(test_query_start_key_bounds, setup, local_env_teardown),
        cmocka_unit_test_setup_teardown(test_scan_and_batches, setup, local_env_teardown),
        cmocka_unit_test_setup_teardown(test_ttl, setup, local_env_teardown),
        cmocka_unit_test_setup_teardown(test_write_cost_flat, setup, local_env_teardown),
        cmocka_unit_test_setup_teardown(test_config_tables, setup, local_env_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
