/* Unit tests for the SQS half of the local executor, driven through
 * tycho_local_exec with an injected clock: MD5 vectors (PROTOCOLS.md §7),
 * send/receive/delete, visibility expiry and redelivery, receipt handles,
 * delay, redrive to a DLQ, batches, purge, attributes, errors, config. */
#include "aws/local_sqs.h"
#include "tests/lib/local_env.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef local_env_t env_t;

static int setup(void **state)
{
    *state = local_env_new("/tmp/tycho-sqs-XXXXXX", "", "", 0);
    return 0;
}

/* Runs AmazonSQS.<op> with a printf-formatted body; keeps status, wait, body. */
#define SERVICE "AmazonSQS"
#define sqs(e, op, ...) local_env_call((e), SERVICE, (op), __VA_ARGS__)

static const char *str(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static const char *err_type(env_t *e)
{
    return str(e->body, "__type");
}

#define Q "http://localhost/000000000000/"
#define CORAL "com.amazon.coral.service#"
#define SQS "com.amazonaws.sqs#"

static const cJSON *first_msg(env_t *e)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(e->body, "Messages");
    return m ? m->child : NULL;
}

/* Checks the last answer is a batch result (200) with these counts of
 * Successful and Failed entries; returns Failed. */
static const cJSON *batch_result(env_t *e, int successful, int failed)
{
    assert_int_equal(e->status, 200);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(e->body, "Successful")),
                     successful);
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(e->body, "Failed");
    assert_int_equal(cJSON_GetArraySize(f), failed);
    return f;
}

static void test_md5_vectors(void **state)
{
    (void)state;
    char out[33];
    cJSON *a = cJSON_Parse(
        "{\"attribName1\":{\"DataType\":\"String\",\"StringValue\":\"attribValue 1\"}}");
    assert_int_equal(tycho_local_sqs_md5_attributes(a, out), 0);
    assert_string_equal(out, "19e27d4e946b072f3f58da80d94fd778");
    cJSON_Delete(a);
    /* "Hello binary world!" in base64 */
    a = cJSON_Parse("{\"binaryAttribute\":{\"DataType\":\"Binary\",\"BinaryValue\":"
                    "\"SGVsbG8gYmluYXJ5IHdvcmxkIQ==\"}}");
    assert_int_equal(tycho_local_sqs_md5_attributes(a, out), 0);
    assert_string_equal(out, "31a92b15d92f8db860eda32aceb656c3");
    cJSON_Delete(a);
    tycho_local_sqs_md5_hex("hello", 5, out);
    assert_string_equal(out, "5d41402abc4b2a76b9719d911017c592");
}

static void test_queue_lifecycle(void **state)
{
    env_t *e = *state;
    sqs(e, "CreateQueue", "{\"QueueName\":\"jobs\",\"Attributes\":{\"VisibilityTimeout\":\"10\"}}");
    assert_int_equal(e->status, 200);
    assert_string_equal(str(e->body, "QueueUrl"), Q "jobs");
    /* idempotent with the same attributes, an error with different ones */
    sqs(e, "CreateQueue", "{\"QueueName\":\"jobs\",\"Attributes\":{\"VisibilityTimeout\":\"10\"}}");
    assert_int_equal(e->status, 200);
    sqs(e, "CreateQueue", "{\"QueueName\":\"jobs\",\"Attributes\":{\"VisibilityTimeout\":\"11\"}}");
    assert_int_equal(e->status, 400);
    assert_string_equal(err_type(e), SQS "QueueNameExists");
    static const local_err_case_t create_errors[] = {
        {"CreateQueue", "{\"QueueName\":\"bad name\"}", CORAL "InvalidParameterValueException", ""},
        {"CreateQueue", "{\"QueueName\":\"q.fifo\",\"Attributes\":{\"FifoQueue\":\"true\"}}",
         SQS "UnsupportedOperation", ""},
        {"CreateQueue", "{\"QueueName\":\"x\",\"Attributes\":{\"Bogus\":\"1\"}}",
         CORAL "InvalidAttributeName", ""},
        {"CreateQueue", "{\"QueueName\":\"x\",\"Attributes\":{\"VisibilityTimeout\":\"43201\"}}",
         CORAL "InvalidParameterValueException", ""},
        {"CreateQueue",
         "{\"QueueName\":\"x\",\"Attributes\":{\"RedrivePolicy\":\"{\\\"deadLetterTargetArn\\\":"
         "\\\"arn:aws:sqs:us-east-1:000000000000:missing\\\",\\\"maxReceiveCount\\\":3}\"}}",
         CORAL "InvalidParameterValueException", ""},
    };
    local_env_expect_errs(e, SERVICE, create_errors, LOCAL_COUNT_OF(create_errors));
    sqs(e, "GetQueueUrl", "{\"QueueName\":\"jobs\"}");
    assert_string_equal(str(e->body, "QueueUrl"), Q "jobs");
    sqs(e, "GetQueueUrl", "{\"QueueName\":\"nope\"}");
    assert_int_equal(e->status, 400);
    assert_string_equal(err_type(e), SQS "QueueDoesNotExist");
    sqs(e, "SendMessage", "{\"QueueUrl\":\"" Q "nope\",\"MessageBody\":\"x\"}");
    assert_string_equal(err_type(e), SQS "QueueDoesNotExist");
    /* any host/account: the last path segment names the queue */
    sqs(e, "SendMessage",
        "{\"QueueUrl\":\"https://sqs.eu-west-1.amazonaws.com/123456789012/"
        "jobs\",\"MessageBody\":\"x\"}");
    assert_int_equal(e->status, 200);
    sqs(e, "CreateQueue", "{\"QueueName\":\"alpha\"}");
    sqs(e, "CreateQueue", "{\"QueueName\":\"beta\"}");
    sqs(e, "ListQueues", "{}");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(e->body, "QueueUrls")), 3);
    sqs(e, "ListQueues", "{\"QueueNamePrefix\":\"a\"}");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(e->body, "QueueUrls")), 1);
    sqs(e, "ListQueues", "{\"MaxResults\":2}");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(e->body, "QueueUrls")), 2);
    char token[128];
    snprintf(token, sizeof token, "%s", str(e->body, "NextToken"));
    sqs(e, "ListQueues", "{\"MaxResults\":2,\"NextToken\":\"%s\"}", token);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(e->body, "QueueUrls")), 1);
    assert_null(str(e->body, "NextToken"));
    sqs(e, "SetQueueAttributes",
        "{\"QueueUrl\":\"" Q "beta\",\"Attributes\":{\"DelaySeconds\":\"5\"}}");
    assert_int_equal(e->status, 200);
    sqs(e, "GetQueueAttributes",
        "{\"QueueUrl\":\"" Q "beta\",\"AttributeNames\":[\"DelaySeconds\",\"QueueArn\"]}");
    const cJSON *attrs = cJSON_GetObjectItemCaseSensitive(e->body, "Attributes");
    assert_string_equal(str(attrs, "DelaySeconds"), "5");
    assert_string_equal(str(attrs, "QueueArn"), "arn:aws:sqs:us-east-1:000000000000:beta");
    sqs(e, "GetQueueAttributes", "{\"QueueUrl\":\"" Q "beta\",\"AttributeNames\":[\"Nope\"]}");
    assert_string_equal(err_type(e), CORAL "InvalidAttributeName");
    sqs(e, "DeleteQueue", "{\"QueueUrl\":\"" Q "beta\"}");
    assert_int_equal(e->status, 200);
    static const local_err_case_t gone_errors[] = {
        {"GetQueueUrl", "{\"QueueName\":\"beta\"}", SQS "QueueDoesNotExist", ""},
        {"TagQueue", "{\"QueueUrl\":\"" Q "jobs\",\"Tags\":{}}", SQS "UnsupportedOperation", ""},
        {"Frobnicate", "{}", CORAL "UnknownOperationException", ""},
    };
    local_env_expect_errs(e, SERVICE, gone_errors, LOCAL_COUNT_OF(gone_errors));
}

static void test_send_receive_delete(void **state)
{
    env_t *e = *state;
    sqs(e, "CreateQueue", "{\"QueueName\":\"jobs\"}");
    sqs(e, "SendMessage",
        "{\"QueueUrl\":\"" Q
        "jobs\",\"MessageBody\":\"hello\",\"MessageAttributes\":{\"attribName1\":{\"DataType\":"
        "\"String\",\"StringValue\":\"attribValue 1\"},"
        "\"bin\":{\"DataType\":\"Binary\",\"BinaryValue\":\"AAE=\"},\"n.x\":{\"DataType\":\"Number."
        "int\",\"StringValue\":\"12\"}},"
        "\"MessageSystemAttributes\":{\"AWSTraceHeader\":{\"DataType\":\"String\",\"StringValue\":"
        "\"Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1\"}}}");
    assert_int_equal(e->status, 200);
    assert_string_equal(str(e->body, "MD5OfMessageBody"), "5d41402abc4b2a76b9719d911017c592");
    assert_non_null(str(e->body, "MD5OfMessageAttributes"));
    assert_non_null(str(e->body, "MD5OfMessageSystemAttributes"));
    char mid[64];
    snprintf(mid, sizeof mid, "%s", str(e->body, "MessageId"));
    sqs(e, "ReceiveMessage",
        "{\"QueueUrl\":\"" Q "jobs\",\"MaxNumberOfMessages\":10,\"MessageSystemAttributeNames\":["
        "\"All\"],\"MessageAttributeNames\":[\"attrib.*\",\"n.*\"]}");
    const cJSON *m = first_msg(e);
    assert_non_null(m);
    assert_string_equal(str(m, "MessageId"), mid);
    assert_string_equal(str(m, "Body"), "hello");
    assert_string_equal(str(m, "MD5OfBody"), "5d41402abc4b2a76b9719d911017c592");
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(m, "Attributes");
    assert_string_equal(str(a, "ApproximateReceiveCount"), "1");
    assert_string_equal(str(a, "SentTimestamp"), "1700000000000");
    assert_string_equal(str(a, "ApproximateFirstReceiveTimestamp"), "1700000000000");
    assert_string_equal(str(a, "AWSTraceHeader"),
                        "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1");
    const cJSON *ma = cJSON_GetObjectItemCaseSensitive(m, "MessageAttributes");
    assert_int_equal(cJSON_GetArraySize(ma), 2); /* prefix.* selects attribName1 and n.x, not bin */
    assert_null(cJSON_GetObjectItemCaseSensitive(ma, "bin"));
    char h1[512];
    snprintf(h1, sizeof h1, "%s", str(m, "ReceiptHandle"));
    /* in flight: nothing more to receive, and an empty receive is {} */
    sqs(e, "ReceiveMessage", "{\"QueueUrl\":\"" Q "jobs\"}");
    assert_null(first_msg(e));
    assert_int_equal(cJSON_GetArraySize(e->body), 0);
    assert_int_equal(e->wait_ms, 0);
    sqs(e, "GetQueueAttributes", "{\"QueueUrl\":\"" Q "jobs\",\"AttributeNames\":[\"All\"]}");
    const cJSON *qa = cJSON_GetObjectItemCaseSensitive(e->body, "Attributes");
    assert_string_equal(str(qa, "ApproximateNumberOfMessages"), "0");
    assert_string_equal(str(qa, "ApproximateNumberOfMessagesNotVisible"), "1");
    /* visibility expires after the default 30 s: redelivered with a new handle */
    e->now += 30000;
    sqs(e, "ReceiveMessage",
        "{\"QueueUrl\":\"" Q "jobs\",\"AttributeNames\":[\"ApproximateReceiveCount\"]}");
    m = first_msg(e);
    assert_non_null(m);
    assert_string_equal(
        str(cJSON_GetObjectItemCaseSensitive(m, "Attributes"), "ApproximateReceiveCount"), "2");
    char h2[512];
    snprintf(h2, sizeof h2, "%s", str(m, "ReceiptHandle"));
    assert_string_not_equal(h1, h2);
    /* a stale handle succeeds but deletes nothing (SQS DeleteMessage docs) */
    sqs(e, "DeleteMessage", "{\"QueueUrl\":\"" Q "jobs\",\"ReceiptHandle\":\"%s\"}", h1);
    assert_int_equal(e->status, 200);
    sqs(e, "GetQueueAttributes",
        "{\"QueueUrl\":\"" Q
        "jobs\",\"AttributeNames\":[\"ApproximateNumberOfMessagesNotVisible\"]}");
    assert_string_equal(str(cJSON_GetObjectItemCaseSensitive(e->body, "Attributes"),
                            "ApproximateNumberOfMessagesNotVisible"),
                        "1");
    sqs(e, "DeleteMessage", "{\"QueueUrl\":\"" Q "jobs\",\"ReceiptHandle\":\"%s\"}", h2);
    assert_int_equal(e->status, 200);
    sqs(e, "DeleteMessage", "{\"QueueUrl\":\"" Q "jobs\",\"ReceiptHandle\":\"%s\"}",
        h2); /* twice: still 200 */
    assert_int_equal(e->status, 200);
    e->now += 60000;
    sqs(e, "ReceiveMessage", "{\"QueueUrl\":\"" Q "jobs\"}");
    assert_null(first_msg(e));
    sqs(e, "DeleteMessage", "{\"QueueUrl\":\"" Q "jobs\",\"ReceiptHandle\":\"garbage\"}");
    assert_string_equal(err_type(e), SQS "ReceiptHandleIsInvalid");
    sqs(e, "DeleteMessage", "{\"QueueUrl\":\"" Q "jobs\"}");
    assert_string_equal(err_type(e), CORAL "MissingRequiredParameterException");
}

static void test_validation(void **state)
{
    env_t *e = *state;
    sqs(e, "CreateQueue", "{\"QueueName\":\"v\",\"Attributes\":{\"MaximumMessageSize\":\"1024\"}}");
    static const local_err_case_t body_errors[] = {
        {"SendMessage", "{\"QueueUrl\":\"" Q "v\",\"MessageBody\":\"\"}",
         CORAL "MissingRequiredParameterException", ""},
        {"SendMessage", "{\"QueueUrl\":\"" Q "v\",\"MessageBody\":\"a\\u0001b\"}",
         SQS "InvalidMessageContents", ""},
        {"SendMessage", "{\"QueueUrl\":\"" Q "v\",\"MessageBody\":\"a\\uFFFFb\"}",
         SQS "InvalidMessageContents", ""},
    };
    local_env_expect_errs(e, SERVICE, body_errors, LOCAL_COUNT_OF(body_errors));
    sqs(e, "SendMessage",
        "{\"QueueUrl\":\"" Q "v\",\"MessageBody\":\"tab\\tnl\\n\\u00e9\\ud83d\\ude00\"}");
    assert_int_equal(e->status, 200);
    char big[1100];
    memset(big, 'x', 1025);
    big[1025] = '\0';
    sqs(e, "SendMessage", "{\"QueueUrl\":\"" Q "v\",\"MessageBody\":\"%s\"}", big);
    assert_string_equal(err_type(e), CORAL "InvalidParameterValueException");
    static const local_err_case_t send_errors[] = {
        {"SendMessage", "{\"QueueUrl\":\"" Q "v\",\"MessageBody\":\"x\",\"DelaySeconds\":901}",
         CORAL "InvalidParameterValueException", ""},
        {"SendMessage", "{\"QueueUrl\":\"" Q "v\",\"MessageBody\":\"x\",\"DelaySeconds\":\"x\"}",
         CORAL "SerializationException", "STRING_VALUE can not be converted to an Integer"},
        {"SendMessage", "{\"QueueUrl\":\"" Q "v\",\"MessageBody\":\"x\",\"DelaySeconds\":1.5}",
         CORAL "SerializationException", "NUMBER_VALUE can not be converted to an Integer"},
        /* an empty value, and a value in the other type's field */
        {"SendMessage",
         "{\"QueueUrl\":\"" Q
         "v\",\"MessageBody\":\"x\",\"MessageAttributes\":{\"a\":{\"DataType\":"
         "\"String\",\"StringValue\":\"\"}}}",
         CORAL "InvalidParameterValueException",
         "Message (user) attribute 'a' must contain a non-empty value of type 'String'."},
        {"SendMessage",
         "{\"QueueUrl\":\"" Q
         "v\",\"MessageBody\":\"x\",\"MessageAttributes\":{\"a\":{\"DataType\":"
         "\"String\",\"BinaryValue\":\"AAE=\"}}}",
         CORAL "InvalidParameterValueException",
         "Message (user) attribute 'a' with type 'String' must use field 'String'."},
        {"SendMessage",
         "{\"QueueUrl\":\"" Q "v\",\"MessageBody\":\"x\",\"MessageAttributes\":{\"AWS.x\":{"
         "\"DataType\":\"String\",\"StringValue\":\"v\"}}}",
         CORAL "InvalidParameterValueException", ""},
        {"SendMessage",
         "{\"QueueUrl\":\"" Q
         "v\",\"MessageBody\":\"x\",\"MessageAttributes\":{\"a\":{\"DataType\":"
         "\"Date\",\"StringValue\":\"v\"}}}",
         CORAL "InvalidParameterValueException", ""},
        {"SendMessage",
         "{\"QueueUrl\":\"" Q
         "v\",\"MessageBody\":\"x\",\"MessageAttributes\":{\"a\":{\"DataType\":"
         "\"Number\",\"StringValue\":\"abc\"}}}",
         CORAL "InvalidParameterValueException", ""},
        {"SendMessage",
         "{\"QueueUrl\":\"" Q "v\",\"MessageBody\":\"x\",\"MessageSystemAttributes\":{\"Other\":{"
         "\"DataType\":\"String\",\"StringValue\":\"v\"}}}",
         CORAL "InvalidParameterValueException", ""},
        {"SendMessage",
         "{\"QueueUrl\":\"" Q "v\",\"MessageBody\":\"x\",\"MessageDeduplicationId\":\"d\"}",
         CORAL "InvalidParameterValueException", ""},
    };
    local_env_expect_errs(e, SERVICE, send_errors, LOCAL_COUNT_OF(send_errors));
    static const local_err_case_t receive_errors[] = {
        {"ReceiveMessage", "{\"QueueUrl\":\"" Q "v\",\"MaxNumberOfMessages\":11}",
         CORAL "InvalidParameterValueException", ""},
        {"ReceiveMessage", "{\"QueueUrl\":\"" Q "v\",\"WaitTimeSeconds\":21}",
         CORAL "InvalidParameterValueException", ""},
        {"ReceiveMessage", "{\"QueueUrl\":\"" Q "v\",\"AttributeNames\":[\"Nope\"]}",
         CORAL "InvalidAttributeName", ""},
        {"ReceiveMessage", "{\"QueueUrl\":\"" Q "v\",\"MaxNumberOfMessages\":\"3\"}",
         CORAL "SerializationException", ""},
    };
    local_env_expect_errs(e, SERVICE, receive_errors, LOCAL_COUNT_OF(receive_errors));
}

/* Sends one message with the attribute {"a":{"DataType":type,<field>:value}}
 * (value is JSON text, escapes included), or the system attribute
 * AWSTraceHeader when system. */
static void send_attribute(env_t *e, int system, const char *type, const char *value)
{
    sqs(e, "SendMessage",
        "{\"QueueUrl\":\"" Q "av\",\"MessageBody\":\"x\",\"%s\":{\"%s\":{\"DataType\":\"%s\","
        "\"%sValue\":\"%s\"}}}",
        system ? "MessageSystemAttributes" : "MessageAttributes", system ? "AWSTraceHeader" : "a",
        type, strncmp(type, "Binary", 6) == 0 ? "Binary" : "String", value);
}

/* Checks the last answer is a 400 of this __type whose message holds want. */
static void assert_error(env_t *e, const char *type, const char *want)
{
    assert_int_equal(e->status, 400);
    assert_string_equal(err_type(e), type);
    if (!strstr(str(e->body, "message"), want))
        fail_msg("message \"%s\" lacks \"%s\"", str(e->body, "message"), want);
}

/* A "\u0000" escape is reported where it sits, as SQS does for any other
 * character it refuses: InvalidMessageContents in a body (per entry in a
 * batch), InvalidParameterValue naming the attribute or the parameter
 * elsewhere; "\\u0000" is an escaped backslash, not a NUL. */
static void test_nul_characters(void **state)
{
    env_t *e = *state;
    sqs(e, "CreateQueue", "{\"QueueName\":\"av\"}");
    sqs(e, "SendMessage", "{\"QueueUrl\":\"" Q "av\",\"MessageBody\":\"a\\u0000b\"}");
    assert_error(e, SQS "InvalidMessageContents", "'#x0' was found in the message body");
    send_attribute(e, 0, "String", "a\\u0000");
    assert_error(e, CORAL "InvalidParameterValueException",
                 "'#x0' was found in the value of message (user) attribute 'a'");
    send_attribute(e, 1, "String", "Root=1\\u0000");
    assert_error(e, CORAL "InvalidParameterValueException",
                 "'#x0' was found in the value of message system attribute 'AWSTraceHeader'");
    sqs(e, "SendMessage",
        "{\"QueueUrl\":\"" Q "av\",\"MessageBody\":\"x\",\"MessageAttributes\":{\"a\":"
        "{\"DataType\":\"String\\u0000\",\"StringValue\":\"v\"}}}");
    assert_error(e, CORAL "InvalidParameterValueException",
                 "parameter MessageAttributes.a.DataType is invalid. Reason: Invalid binary "
                 "character '#x0'");
    sqs(e, "GetQueueUrl", "{\"QueueName\":\"av\\u0000\"}");
    assert_error(e, CORAL "InvalidParameterValueException", "parameter QueueName is invalid");
    sqs(e, "SendMessage", "{\"QueueUrl\":\"" Q "av\\u0000\",\"MessageBody\":\"x\"}");
    assert_error(e, CORAL "InvalidParameterValueException", "parameter QueueUrl is invalid");
    sqs(e, "SendMessage", "{\"QueueUrl\":\"" Q "av\",\"MessageBody\":\"x\",\"x\\u0000\":1}");
    assert_error(e, CORAL "InvalidParameterValueException", "found in a name in the request");
    sqs(e, "SendMessageBatch",
        "{\"QueueUrl\":\"" Q "av\",\"Entries\":[{\"Id\":\"a\",\"MessageBody\":\"x\"},"
        "{\"Id\":\"b\\u0000\",\"MessageBody\":\"x\"}]}");
    assert_error(e, CORAL "InvalidParameterValueException", "parameter Entries.2.Id is invalid");
    sqs(e, "SendMessageBatch",
        "{\"QueueUrl\":\"" Q "av\",\"Entries\":[{\"Id\":\"ok\",\"MessageBody\":\"x\"},"
        "{\"Id\":\"nul\",\"MessageBody\":\"\\u0000\"},{\"Id\":\"attr\",\"MessageBody\":\"x\","
        "\"MessageAttributes\":{\"n\":{\"DataType\":\"Number\",\"StringValue\":\"1\\u0000\"}}}]}");
    const cJSON *f = batch_result(e, 1, 2);
    assert_string_equal(str(f->child, "Id"), "nul");
    assert_string_equal(str(f->child, "Code"), "InvalidMessageContents");
    assert_non_null(strstr(str(f->child, "Message"), "'#x0' was found in the message body"));
    assert_string_equal(str(f->child->next, "Id"), "attr");
    assert_string_equal(str(f->child->next, "Code"), "InvalidParameterValue");
    assert_non_null(strstr(str(f->child->next, "Message"), "'#x0' was found in the value of "
                                                           "message (user) attribute 'n'"));
    sqs(e, "SendMessage", "{\"QueueUrl\":\"" Q "av\",\"MessageBody\":\"\\\\u0000\"}");
    assert_int_equal(e->status, 200);
    sqs(e, "ReceiveMessage", "{\"QueueUrl\":\"" Q "av\",\"MaxNumberOfMessages\":10}");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(e->body, "Messages")), 2);
}

/* Values real SQS refuses with InvalidParameterValue: Numbers outside its
 * decimal syntax, 38 digits or 10^-128..10^+126, and String values (of any
 * type but Binary) with a character a body may not hold; in SendMessage,
 * SendMessageBatch entries and the AWSTraceHeader system attribute. */
static void test_attribute_values(void **state)
{
    env_t *e = *state;
    sqs(e, "CreateQueue", "{\"QueueName\":\"av\"}");
    static const char *bad_numbers[] = {
        "nan",
        "NaN",
        "inf",
        "-Infinity",
        "0x10",
        "1e999",
        "1e308x",
        "1.5e-300",
        "1e-129",
        "1e126",
        "12345678901234567890123456789012345678901234",
        " 1",
        "1 ",
        "1e",
        ".",
        "--1",
    };
    for (size_t i = 0; i < LOCAL_COUNT_OF(bad_numbers); i++) {
        send_attribute(e, 0, i % 2 ? "Number.custom" : "Number", bad_numbers[i]);
        if (e->status != 400 || strcmp(err_type(e), CORAL "InvalidParameterValueException") != 0)
            fail_msg("Number '%s': got %d %s", bad_numbers[i], e->status, err_type(e));
        assert_non_null(strstr(str(e->body, "message"), "attribute 'a' to a number"));
    }
    static const char *good_numbers[] = {
        "0",
        "-0",
        "+1",
        "-1.5",
        ".5",
        "5.",
        "1E+3",
        "1e-128",
        "-9.99e125",
        "12345678901234567890123456789012345678",
        "1000000000000000000000000000000000000000000",
    };
    for (size_t i = 0; i < LOCAL_COUNT_OF(good_numbers); i++) {
        send_attribute(e, 0, "Number", good_numbers[i]);
        if (e->status != 200) fail_msg("Number '%s': got %d", good_numbers[i], e->status);
    }
    static const struct {
        int system;
        const char *type, *value;
    } bad_strings[] = {
        {0, "String", "a\\u0001"}, {0, "String.custom", "\\u0002"}, {0, "String", "\\uFFFE"},
        {0, "Number", "1\\u0008"}, {1, "String", "Root=1\\u001f"},
    };
    for (size_t i = 0; i < LOCAL_COUNT_OF(bad_strings); i++) {
        send_attribute(e, bad_strings[i].system, bad_strings[i].type, bad_strings[i].value);
        if (e->status != 400 || strcmp(err_type(e), CORAL "InvalidParameterValueException") != 0)
            fail_msg("%s '%s': got %d %s", bad_strings[i].type, bad_strings[i].value, e->status,
                     err_type(e));
        assert_non_null(strstr(str(e->body, "message"), "Invalid binary character"));
    }
    send_attribute(e, 0, "String", "tab\\tnl\\n\\u00e9\\ud83d\\ude00");
    assert_int_equal(e->status, 200);
    send_attribute(e, 0, "Binary", "AAE=");
    assert_int_equal(e->status, 200);
    sqs(e, "SendMessageBatch",
        "{\"QueueUrl\":\"" Q "av\",\"Entries\":[{\"Id\":\"n\",\"MessageBody\":\"x\","
        "\"MessageAttributes\":{\"a\":{\"DataType\":\"Number\",\"StringValue\":\"inf\"}}},"
        "{\"Id\":\"s\",\"MessageBody\":\"x\",\"MessageAttributes\":{\"a\":{\"DataType\":"
        "\"String\",\"StringValue\":\"\\u0001\"}}},{\"Id\":\"ok\",\"MessageBody\":\"x\"}]}");
    const cJSON *failed = batch_result(e, 1, 2);
    for (const cJSON *f = failed->child; f; f = f->next)
        assert_string_equal(str(f, "Code"), "InvalidParameterValue");
}

static void test_delay_and_visibility(void **state)
{
    env_t *e = *state;
    sqs(e, "CreateQueue", "{\"QueueName\":\"d\",\"Attributes\":{\"DelaySeconds\":\"2\"}}");
    sqs(e, "SendMessage", "{\"QueueUrl\":\"" Q "d\",\"MessageBody\":\"queue delay\"}");
    sqs(e, "SendMessage",
        "{\"QueueUrl\":\"" Q "d\",\"MessageBody\":\"no delay\",\"DelaySeconds\":0}");
    sqs(e, "SendMessage",
        "{\"QueueUrl\":\"" Q "d\",\"MessageBody\":\"long delay\",\"DelaySeconds\":10}");
    sqs(e, "GetQueueAttributes", "{\"QueueUrl\":\"" Q "d\",\"AttributeNames\":[\"All\"]}");
    const cJSON *qa = cJSON_GetObjectItemCaseSensitive(e->body, "Attributes");
    assert_string_equal(str(qa, "ApproximateNumberOfMessages"), "1");
    assert_string_equal(str(qa, "ApproximateNumberOfMessagesDelayed"), "2");
    sqs(e, "ReceiveMessage",
        "{\"QueueUrl\":\"" Q "d\",\"MaxNumberOfMessages\":10,\"VisibilityTimeout\":5}");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(e->body, "Messages")), 1);
    assert_string_equal(str(first_msg(e), "Body"), "no delay");
    char h[512];
    snprintf(h, sizeof h, "%s", str(first_msg(e), "ReceiptHandle"));
    /* an empty long poll reports how long it may wait */
    sqs(e, "ReceiveMessage", "{\"QueueUrl\":\"" Q "d\",\"WaitTimeSeconds\":3}");
    assert_null(first_msg(e));
    assert_int_equal(e->wait_ms, 3000);
    e->now += 2000;
    sqs(e, "ReceiveMessage", "{\"QueueUrl\":\"" Q "d\",\"MaxNumberOfMessages\":10}");
    assert_string_equal(str(first_msg(e), "Body"), "queue delay");
    /* ChangeMessageVisibility to 0 makes the first message visible again */
    sqs(e, "ChangeMessageVisibility",
        "{\"QueueUrl\":\"" Q "d\",\"ReceiptHandle\":\"%s\",\"VisibilityTimeout\":0}", h);
    assert_int_equal(e->status, 200);
    sqs(e, "ReceiveMessage", "{\"QueueUrl\":\"" Q "d\",\"VisibilityTimeout\":100}");
    assert_string_equal(str(first_msg(e), "Body"), "no delay");
    char h2[512];
    snprintf(h2, sizeof h2, "%s", str(first_msg(e), "ReceiptHandle"));
    /* the old handle has expired now */
    sqs(e, "ChangeMessageVisibility",
        "{\"QueueUrl\":\"" Q "d\",\"ReceiptHandle\":\"%s\",\"VisibilityTimeout\":10}", h);
    assert_string_equal(err_type(e), CORAL "InvalidParameterValueException");
    sqs(e, "ChangeMessageVisibility",
        "{\"QueueUrl\":\"" Q "d\",\"ReceiptHandle\":\"%s\",\"VisibilityTimeout\":43201}", h2);
    assert_string_equal(err_type(e), CORAL "InvalidParameterValueException");
    /* extending keeps it hidden past the original timeout */
    sqs(e, "ChangeMessageVisibility",
        "{\"QueueUrl\":\"" Q "d\",\"ReceiptHandle\":\"%s\",\"VisibilityTimeout\":1000}", h2);
    e->now += 200000;
    sqs(e, "ReceiveMessage", "{\"QueueUrl\":\"" Q "d\",\"MaxNumberOfMessages\":10}");
    cJSON *msgs = cJSON_GetObjectItemCaseSensitive(e->body, "Messages");
    assert_int_equal(cJSON_GetArraySize(msgs), 2); /* queue delay (redelivered) + long delay */
    e->now += 2000000;
    sqs(e, "ChangeMessageVisibility",
        "{\"QueueUrl\":\"" Q "d\",\"ReceiptHandle\":\"%s\",\"VisibilityTimeout\":5}", h2);
    assert_string_equal(err_type(e), SQS "MessageNotInflight");
}

/* SQS keeps a message invisible for at most 12 hours from the receive that
 * returned its handle: a ChangeMessageVisibility (single or batch) past
 * that is refused; a new receive starts a new 12 hours. */
static void test_visibility_cap(void **state)
{
    env_t *e = *state;
    const int64_t t0 = e->now;
    char h[512];
    sqs(e, "CreateQueue", "{\"QueueName\":\"cap\"}");
    sqs(e, "SendMessage", "{\"QueueUrl\":\"" Q "cap\",\"MessageBody\":\"long job\"}");
    sqs(e, "ReceiveMessage", "{\"QueueUrl\":\"" Q "cap\",\"VisibilityTimeout\":60}");
    snprintf(h, sizeof h, "%s", str(first_msg(e), "ReceiptHandle"));
#define CHANGE(vt)                                                                                 \
    sqs(e, "ChangeMessageVisibility",                                                              \
        "{\"QueueUrl\":\"" Q "cap\",\"ReceiptHandle\":\"%s\",\"VisibilityTimeout\":%d}", h, (vt))
    CHANGE(43200); /* 12 hours from the receive, exactly */
    assert_int_equal(e->status, 200);
    e->now += 1;
    CHANGE(43200);
    assert_int_equal(e->status, 400);
    assert_string_equal(err_type(e), CORAL "InvalidParameterValueException");
    assert_string_equal(local_env_str(e, "message"),
                        "Value 43200 for parameter VisibilityTimeout is invalid. Reason: Total "
                        "VisibilityTimeout for the message is beyond the limit [43200 seconds]");
    e->now = t0 + 43000 * 1000LL;
    CHANGE(200);
    assert_int_equal(e->status, 200);
    CHANGE(201);
    assert_int_equal(e->status, 400);
    sqs(e, "ChangeMessageVisibilityBatch",
        "{\"QueueUrl\":\"" Q "cap\",\"Entries\":[{\"Id\":\"ok\",\"ReceiptHandle\":\"%s\","
        "\"VisibilityTimeout\":200},{\"Id\":\"long\",\"ReceiptHandle\":\"%s\","
        "\"VisibilityTimeout\":201}]}",
        h, h);
    const cJSON *f = batch_result(e, 1, 1);
    assert_string_equal(str(f->child, "Id"), "long");
    assert_string_equal(str(f->child, "Code"), "InvalidParameterValue");
    assert_non_null(strstr(str(f->child, "Message"), "beyond the limit [43200 seconds]"));
    /* visible again at the cap; the next receive has 12 hours of its own */
    e->now = t0 + 43200 * 1000LL;
    sqs(e, "ReceiveMessage", "{\"QueueUrl\":\"" Q "cap\",\"VisibilityTimeout\":1}");
    snprintf(h, sizeof h, "%s", str(first_msg(e), "ReceiptHandle"));
    e->now += 500;
    CHANGE(43199);
    assert_int_equal(e->status, 200);
    CHANGE(43200);
    assert_int_equal(e->status, 400);
#undef CHANGE
}

/* A store of layout version 1 (no receive time) is upgraded when opened: a
 * message in flight then counts its 12 hours from the upgrade. */
static void test_layout_1_upgraded(void **state)
{
    env_t *e = *state;
    char h[512], path[128];
    sqs(e, "CreateQueue", "{\"QueueName\":\"old\"}");
    sqs(e, "SendMessage", "{\"QueueUrl\":\"" Q "old\",\"MessageBody\":\"in flight\"}");
    sqs(e, "SendMessage", "{\"QueueUrl\":\"" Q "old\",\"MessageBody\":\"waiting\"}");
    sqs(e, "ReceiveMessage", "{\"QueueUrl\":\"" Q "old\",\"VisibilityTimeout\":3600}");
    snprintf(h, sizeof h, "%s", str(first_msg(e), "ReceiptHandle"));
    tycho_local_store_close(e->s);
    e->s = NULL;
    /* make it the layout tycho wrote before received_ms */
    snprintf(path, sizeof path, "%s/%s", e->dir, TYCHO_LOCAL_DB_FILE);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db,
                                  "ALTER TABLE sqs_messages DROP COLUMN received_ms;"
                                  "DROP INDEX ddb_items_ttl;" /* and before the TTL column */
                                  "ALTER TABLE ddb_items DROP COLUMN ttl;"
                                  "UPDATE meta SET v = '1' WHERE k = 'schema'",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    e->now += 600 * 1000LL; /* upgraded 10 minutes after the receive */
    const int64_t upgraded = e->now;
    assert_int_equal(local_env_open(e, "", "", 0), 0);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT (SELECT v FROM meta WHERE k = 'schema'),"
                                        " group_concat(body || '=' || received_ms, ',')"
                                        " FROM (SELECT * FROM sqs_messages ORDER BY id)",
                                        -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    char want[128];
    snprintf(want, sizeof want, "in flight=%lld,waiting=0", (long long)upgraded);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "3");
    assert_string_equal((const char *)sqlite3_column_text(st, 1), want);
    sqlite3_finalize(st);
    sqlite3_close(db);
    sqs(e, "ChangeMessageVisibility",
        "{\"QueueUrl\":\"" Q "old\",\"ReceiptHandle\":\"%s\",\"VisibilityTimeout\":43200}", h);
    assert_int_equal(e->status, 200);
    e->now += 1;
    sqs(e, "ChangeMessageVisibility",
        "{\"QueueUrl\":\"" Q "old\",\"ReceiptHandle\":\"%s\",\"VisibilityTimeout\":43200}", h);
    assert_int_equal(e->status, 400);
}

static void test_redrive(void **state)
{
    env_t *e = *state;
    sqs(e, "CreateQueue", "{\"QueueName\":\"jobs-dlq\"}");
    sqs(e, "CreateQueue",
        "{\"QueueName\":\"jobs\",\"Attributes\":{\"VisibilityTimeout\":\"1\",\"RedrivePolicy\":"
        "\"{\\\"deadLetterTargetArn\\\":\\\"arn:aws:sqs:us-east-1:000000000000:jobs-dlq\\\","
        "\\\"maxReceiveCount\\\":\\\"2\\\"}\"}}");
    assert_int_equal(e->status, 200);
    sqs(e, "GetQueueAttributes",
        "{\"QueueUrl\":\"" Q "jobs\",\"AttributeNames\":[\"RedrivePolicy\"]}");
    assert_string_equal(
        str(cJSON_GetObjectItemCaseSensitive(e->body, "Attributes"), "RedrivePolicy"),
        "{\"deadLetterTargetArn\":\"arn:aws:sqs:us-east-1:000000000000:jobs-dlq\","
        "\"maxReceiveCount\":2}");
    sqs(e, "SendMessage", "{\"QueueUrl\":\"" Q "jobs\",\"MessageBody\":\"poison\"}");
    for (int i = 1; i <= 2; i++) {
        sqs(e, "ReceiveMessage",
            "{\"QueueUrl\":\"" Q "jobs\",\"AttributeNames\":[\"ApproximateReceiveCount\"]}");
        assert_non_null(first_msg(e));
        e->now += 1000;
    }
    /* the third receive would exceed maxReceiveCount: moved instead */
    tycho_local_result_t r;
    const char *body = "{\"QueueUrl\":\"" Q "jobs\"}";
    assert_int_equal(
        tycho_local_exec(e->s, "AmazonSQS.ReceiveMessage", body, strlen(body), e->now, &r), 0);
    assert_string_equal(r.body, "{}");
    assert_int_equal(r.nnotify, 1);
    assert_string_equal(r.notify[0].queue, "jobs-dlq");
    assert_true(r.notify[0].at_ms == e->now);
    tycho_local_result_free(&r);
    sqs(e, "ReceiveMessage", "{\"QueueUrl\":\"" Q "jobs-dlq\",\"AttributeNames\":[\"All\"]}");
    const cJSON *m = first_msg(e);
    assert_non_null(m);
    assert_string_equal(str(m, "Body"), "poison");
    assert_string_equal(
        str(cJSON_GetObjectItemCaseSensitive(m, "Attributes"), "DeadLetterQueueSourceArn"),
        "arn:aws:sqs:us-east-1:000000000000:jobs");
    sqs(e, "CreateQueue",
        "{\"QueueName\":\"self\",\"Attributes\":{\"RedrivePolicy\":\"{\\\"deadLetterTargetArn\\\":"
        "\\\"arn:aws:sqs:us-east-1:000000000000:jobs\\\",\\\"maxReceiveCount\\\":0}\"}}");
    assert_string_equal(err_type(e), CORAL "InvalidParameterValueException");
    if (!strstr(local_env_str(e, "message"), "Invalid value for maxReceiveCount: 0, valid values"))
        fail_msg("message: %s", local_env_str(e, "message"));
        /* each reason as local-aws-sqs words it */
#define RP(policy) "{\"QueueName\":\"x\",\"Attributes\":{\"RedrivePolicy\":\"" policy "\"}}"
    static const local_err_case_t reasons[] = {
        {"CreateQueue", RP("{nope"), CORAL "InvalidParameterValueException",
         "Invalid value for the parameter RedrivePolicy. Reason: Redrive policy is not a valid "
         "JSON map."},
        {"CreateQueue", RP("{\\\"maxReceiveCount\\\":2}"), CORAL "InvalidParameterValueException",
         "Value {\"maxReceiveCount\":2} for parameter RedrivePolicy is invalid. Reason: Redrive "
         "policy does not contain mandatory attribute: deadLetterTargetArn."},
        /* no default of 10: SQS and local-aws-sqs refuse it, and name it
         * before a missing deadLetterTargetArn */
        {"CreateQueue",
         RP("{\\\"deadLetterTargetArn\\\":\\\"arn:aws:sqs:us-east-1:000000000000:jobs-dlq\\\"}"),
         CORAL "InvalidParameterValueException",
         "Value {\"deadLetterTargetArn\":\"arn:aws:sqs:us-east-1:000000000000:jobs-dlq\"} for "
         "parameter RedrivePolicy is invalid. Reason: Redrive policy does not contain mandatory "
         "attribute: maxReceiveCount."},
        {"CreateQueue", RP("{}"), CORAL "InvalidParameterValueException",
         "Value {} for parameter RedrivePolicy is invalid. Reason: Redrive policy does not "
         "contain mandatory attribute: maxReceiveCount."},
        {"CreateQueue",
         RP("{\\\"deadLetterTargetArn\\\":\\\"arn:aws:sqs:us-east-1:000000000000\\\","
            "\\\"maxReceiveCount\\\":2}"),
         CORAL "InvalidParameterValueException",
         "Reason: Dead-letter target ARN should be fully qualified ARN."},
        {"CreateQueue",
         RP("{\\\"deadLetterTargetArn\\\":\\\"arn:aws:sqs:us-east-1:000000000000:jobs-dlq:x\\\","
            "\\\"maxReceiveCount\\\":2}"),
         CORAL "InvalidParameterValueException",
         "Reason: Dead-letter target ARN should be fully qualified ARN."},
        {"CreateQueue",
         RP("{\\\"deadLetterTargetArn\\\":\\\"arn:aws:sns:us-east-1:000000000000:topic\\\","
            "\\\"maxReceiveCount\\\":2}"),
         CORAL "InvalidParameterValueException",
         "Reason: Only SQS queues are valid resources for deadLetterTargetArn."},
        {"CreateQueue",
         RP("{\\\"deadLetterTargetArn\\\":\\\"arn:aws:sqs:us-east-1:000000000000:nowhere\\\","
            "\\\"maxReceiveCount\\\":2}"),
         CORAL "InvalidParameterValueException", "Reason: Dead letter target does not exist."},
    };
#undef RP
    local_env_expect_errs(e, SERVICE, reasons, LOCAL_COUNT_OF(reasons));
    /* a key SQS does not take is refused by name, on create and on set;
     * the policy in place stays */
    const char *extra = "{\\\"deadLetterTargetArn\\\":\\\"arn:aws:sqs:us-east-1:000000000000:"
                        "jobs-dlq\\\",\\\"maxReceiveCount\\\":5,\\\"maxRecieveCount\\\":7}";
    sqs(e, "CreateQueue", "{\"QueueName\":\"typo\",\"Attributes\":{\"RedrivePolicy\":\"%s\"}}",
        extra);
    assert_int_equal(e->status, 400);
    assert_string_equal(err_type(e), CORAL "InvalidParameterValueException");
    assert_string_equal(local_env_str(e, "message"),
                        "Value {\"deadLetterTargetArn\":\"arn:aws:sqs:us-east-1:000000000000:jobs-"
                        "dlq\",\"maxReceiveCount\":5,\"maxRecieveCount\":7} for parameter "
                        "RedrivePolicy is invalid. Reason: Only following attributes are "
                        "supported: [maxReceiveCount, deadLetterTargetArn]. Unknown attribute: "
                        "maxRecieveCount.");
    sqs(e, "GetQueueUrl", "{\"QueueName\":\"typo\"}");
    assert_string_equal(err_type(e), SQS "QueueDoesNotExist");
    sqs(e, "SetQueueAttributes",
        "{\"QueueUrl\":\"" Q "jobs\",\"Attributes\":{\"RedrivePolicy\":\"%s\"}}", extra);
    assert_int_equal(e->status, 400);
    assert_non_null(strstr(local_env_str(e, "message"), "Unknown attribute: maxRecieveCount."));
    sqs(e, "GetQueueAttributes",
        "{\"QueueUrl\":\"" Q "jobs\",\"AttributeNames\":[\"RedrivePolicy\"]}");
    assert_non_null(
        strstr(str(cJSON_GetObjectItemCaseSensitive(e->body, "Attributes"), "RedrivePolicy"),
               "\"maxReceiveCount\":2}"));
}

/* What LOCAL.md says of redrive beyond the move itself: the dead-letter
 * queue's retention counts from the original send; the moved message's old
 * handle is gone; without its dead-letter queue a policy moves nothing; a
 * configuration that drops dlq= keeps the stored policy. */
static void test_redrive_details(void **state)
{
    env_t *e = *state;
    char h[512];
    tycho_local_store_close(e->s);
    e->s = NULL;
    assert_int_equal(
        local_env_open(e, "src:visibility=1:dlq=dead:max_receive=1;dead:retention=60", "", 0), 0);
    sqs(e, "SendMessage", "{\"QueueUrl\":\"" Q "src\",\"MessageBody\":\"m\"}");
    e->now += 50000; /* sent 50 s before its first receive */
    sqs(e, "ReceiveMessage", "{\"QueueUrl\":\"" Q "src\"}");
    snprintf(h, sizeof h, "%s", str(first_msg(e), "ReceiptHandle"));
    e->now += 1000;
    sqs(e, "ReceiveMessage", "{\"QueueUrl\":\"" Q "src\"}"); /* moves it */
    assert_null(first_msg(e));
    sqs(e, "ChangeMessageVisibility",
        "{\"QueueUrl\":\"" Q "src\",\"ReceiptHandle\":\"%s\",\"VisibilityTimeout\":5}", h);
    assert_string_equal(err_type(e), SQS "ReceiptHandleIsInvalid");
    sqs(e, "ReceiveMessage",
        "{\"QueueUrl\":\"" Q "dead\",\"VisibilityTimeout\":0,\"AttributeNames\":[\"All\"]}");
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(first_msg(e), "Attributes");
    assert_string_equal(str(a, "ApproximateReceiveCount"), "1");
    e->now += 9000; /* 60 s after the send, not after the move */
    sqs(e, "ReceiveMessage", "{\"QueueUrl\":\"" Q "dead\"}");
    assert_null(first_msg(e));
    /* the dead-letter queue deleted: messages are delivered, not moved */
    sqs(e, "DeleteQueue", "{\"QueueUrl\":\"" Q "dead\"}");
    sqs(e, "SendMessage", "{\"QueueUrl\":\"" Q "src\",\"MessageBody\":\"kept\"}");
    for (int i = 1; i <= 3; i++) {
        sqs(e, "ReceiveMessage",
            "{\"QueueUrl\":\"" Q "src\",\"AttributeNames\":[\"ApproximateReceiveCount\"]}");
        char want[8];
        snprintf(want, sizeof want, "%d", i);
        assert_string_equal(str(cJSON_GetObjectItemCaseSensitive(first_msg(e), "Attributes"),
                                "ApproximateReceiveCount"),
                            want);
        e->now += 1000;
    }
    /* dlq= dropped from the configuration: the stored policy stays */
    tycho_local_store_close(e->s);
    e->s = NULL;
    assert_int_equal(local_env_open(e, "src:visibility=1", "", 0), 0);
    sqs(e, "GetQueueAttributes",
        "{\"QueueUrl\":\"" Q "src\",\"AttributeNames\":[\"RedrivePolicy\"]}");
    assert_non_null(
        strstr(str(cJSON_GetObjectItemCaseSensitive(e->body, "Attributes"), "RedrivePolicy"),
               ":dead\",\"maxReceiveCount\":1}"));
}

static void test_batches_and_purge(void **state)
{
    env_t *e = *state;
    sqs(e, "CreateQueue", "{\"QueueName\":\"b\"}");
    sqs(e, "SendMessageBatch",
        "{\"QueueUrl\":\"" Q "b\",\"Entries\":[{\"Id\":\"1\",\"MessageBody\":\"one\"},"
        "{\"Id\":\"2\",\"MessageBody\":\"\"},{\"Id\":\"3\",\"MessageBody\":\"three\","
        "\"DelaySeconds\":1000}]}");
    const cJSON *failed = batch_result(e, 1, 2);
    assert_string_equal(str(failed->child, "Id"), "2");
    assert_string_equal(str(failed->child, "Code"), "MissingParameter");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(failed->child, "SenderFault")));
    static const local_err_case_t batch_errors[] = {
        {"SendMessageBatch", "{\"QueueUrl\":\"" Q "b\",\"Entries\":[]}", SQS "EmptyBatchRequest",
         ""},
        {"SendMessageBatch",
         "{\"QueueUrl\":\"" Q "b\",\"Entries\":[{\"Id\":\"1\",\"MessageBody\":\"a\"},{\"Id\":\"1\","
         "\"MessageBody\":\"b\"}]}",
         SQS "BatchEntryIdsNotDistinct", ""},
        {"SendMessageBatch",
         "{\"QueueUrl\":\"" Q "b\",\"Entries\":[{\"Id\":\"a b\",\"MessageBody\":\"a\"}]}",
         SQS "InvalidBatchEntryId",
         "A batch entry id can only contain alphanumeric characters, hyphens and underscores. It "
         "can be at most 80 letters long."},
        {"SendMessageBatch",
         "{\"QueueUrl\":\"" Q "b\",\"Entries\":[{\"Id\":\"\",\"MessageBody\":\"a\"}]}",
         SQS "InvalidBatchEntryId", "alphanumeric"},
        /* the missing Id is named by entry, as local-aws-sqs and the SQS
         * API reference name it */
        {"SendMessageBatch",
         "{\"QueueUrl\":\"" Q "b\",\"Entries\":[{\"Id\":\"a\",\"MessageBody\":\"a\"},"
         "{\"MessageBody\":\"b\"}]}",
         CORAL "MissingRequiredParameterException",
         "The request must contain the parameter SendMessageBatchRequestEntry.2.Id."},
        {"DeleteMessageBatch",
         "{\"QueueUrl\":\"" Q "b\",\"Entries\":[{\"Id\":null,\"ReceiptHandle\":\"h\"}]}",
         CORAL "MissingRequiredParameterException",
         "The request must contain the parameter DeleteMessageBatchRequestEntry.1.Id."},
        {"SendMessageBatch",
         "{\"QueueUrl\":\"" Q "b\",\"Entries\":[{\"Id\":[\"a\"],\"MessageBody\":\"a\"}]}",
         LT_SERIALIZATION, "Start of list found where not expected"},
        /* every Id is checked before any two are compared */
        {"SendMessageBatch",
         "{\"QueueUrl\":\"" Q "b\",\"Entries\":[{\"Id\":\"a\",\"MessageBody\":\"a\"},"
         "{\"Id\":\"a\",\"MessageBody\":\"b\"},{\"Id\":\"c!\",\"MessageBody\":\"c\"}]}",
         SQS "InvalidBatchEntryId", ""},
        /* the first entry whose Id comes again is named */
        {"ChangeMessageVisibilityBatch",
         "{\"QueueUrl\":\"" Q "b\",\"Entries\":[{\"Id\":\"a\",\"ReceiptHandle\":\"h\"},"
         "{\"Id\":\"b\",\"ReceiptHandle\":\"h\"},{\"Id\":\"b\",\"ReceiptHandle\":\"h\"},"
         "{\"Id\":\"a\",\"ReceiptHandle\":\"h\"}]}",
         SQS "BatchEntryIdsNotDistinct", "Id a repeated."},
    };
    local_env_expect_errs(e, SERVICE, batch_errors, LOCAL_COUNT_OF(batch_errors));
    char entries[4096] = "";
    for (int i = 0; i < 11; i++)
        snprintf(entries + strlen(entries), sizeof entries - strlen(entries),
                 "%s{\"Id\":\"m%d\",\"MessageBody\":\"x\"}", i ? "," : "", i);
    sqs(e, "SendMessageBatch", "{\"QueueUrl\":\"" Q "b\",\"Entries\":[%s]}", entries);
    assert_string_equal(err_type(e), SQS "TooManyEntriesInBatchRequest");
    sqs(e, "SendMessageBatch",
        "{\"QueueUrl\":\"" Q "b\",\"Entries\":[{\"Id\":\"x\",\"MessageBody\":\"two\"}]}");
    sqs(e, "ReceiveMessage", "{\"QueueUrl\":\"" Q "b\",\"MaxNumberOfMessages\":10}");
    const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(e->body, "Messages");
    assert_int_equal(cJSON_GetArraySize(msgs), 2);
    char del[2048];
    snprintf(del, sizeof del,
             "{\"Id\":\"a\",\"ReceiptHandle\":\"%s\"},{\"Id\":\"b\",\"ReceiptHandle\":\"bogus\"}",
             str(msgs->child, "ReceiptHandle"));
    char vis[2048];
    snprintf(vis, sizeof vis,
             "{\"Id\":\"a\",\"ReceiptHandle\":\"%s\",\"VisibilityTimeout\":0},{\"Id\":\"b\","
             "\"ReceiptHandle\":\"bogus\",\"VisibilityTimeout\":0}",
             str(msgs->child->next, "ReceiptHandle"));
    sqs(e, "ChangeMessageVisibilityBatch", "{\"QueueUrl\":\"" Q "b\",\"Entries\":[%s]}", vis);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(e->body, "Successful")),
                     1);
    assert_string_equal(str(cJSON_GetObjectItemCaseSensitive(e->body, "Failed")->child, "Code"),
                        "ReceiptHandleIsInvalid");
    sqs(e, "DeleteMessageBatch", "{\"QueueUrl\":\"" Q "b\",\"Entries\":[%s]}", del);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(e->body, "Successful")),
                     1);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(e->body, "Failed")), 1);
    sqs(e, "ReceiveMessage", "{\"QueueUrl\":\"" Q "b\"}");
    assert_string_equal(str(first_msg(e), "Body"), "two");
    sqs(e, "PurgeQueue", "{\"QueueUrl\":\"" Q "b\"}");
    assert_int_equal(e->status, 200);
    sqs(e, "PurgeQueue", "{\"QueueUrl\":\"" Q "b\"}");
    assert_int_equal(e->status, 403);
    assert_string_equal(err_type(e), SQS "PurgeQueueInProgress");
    e->now += 2000000;
    sqs(e, "ReceiveMessage", "{\"QueueUrl\":\"" Q "b\",\"MaxNumberOfMessages\":10}");
    assert_null(first_msg(e)); /* the delayed "three" went too */
}

static void test_retention(void **state)
{
    env_t *e = *state;
    sqs(e, "CreateQueue",
        "{\"QueueName\":\"r\",\"Attributes\":{\"MessageRetentionPeriod\":\"60\"}}");
    sqs(e, "SendMessage", "{\"QueueUrl\":\"" Q "r\",\"MessageBody\":\"old\"}");
    e->now += 61000;
    sqs(e, "ReceiveMessage", "{\"QueueUrl\":\"" Q "r\"}");
    assert_null(first_msg(e));

    /* A new retention period applies to the messages already in the queue
     * (SetQueueAttributes: a period reduced below their age expires them):
     * lengthened, a message outlives the old period... */
    sqs(e, "SendMessage", "{\"QueueUrl\":\"" Q "r\",\"MessageBody\":\"kept\"}");
    e->now += 30000;
    sqs(e, "SetQueueAttributes",
        "{\"QueueUrl\":\"" Q "r\",\"Attributes\":{\"MessageRetentionPeriod\":\"3600\"}}");
    assert_int_equal(e->status, 200);
    e->now += 60000;
    sqs(e, "ReceiveMessage", "{\"QueueUrl\":\"" Q "r\",\"VisibilityTimeout\":0}");
    assert_non_null(first_msg(e));
    assert_string_equal(str(first_msg(e), "Body"), "kept");
    /* ... and shortened below its age (90 s), it expires at once */
    sqs(e, "SetQueueAttributes",
        "{\"QueueUrl\":\"" Q "r\",\"Attributes\":{\"MessageRetentionPeriod\":\"60\"}}");
    sqs(e, "GetQueueAttributes",
        "{\"QueueUrl\":\"" Q "r\",\"AttributeNames\":[\"ApproximateNumberOfMessages\"]}");
    assert_string_equal(
        str(cJSON_GetObjectItemCaseSensitive(e->body, "Attributes"), "ApproximateNumberOfMessages"),
        "0");
    sqs(e, "ReceiveMessage", "{\"QueueUrl\":\"" Q "r\"}");
    assert_null(first_msg(e));

    /* A message in flight past its retention period is gone before any
     * receive sweeps it: its handle changes no visibility, as the handle of
     * a deleted message (local-aws-sqs drops it at that moment). */
    char h[512], body[1024];
    sqs(e, "SendMessage", "{\"QueueUrl\":\"" Q "r\",\"MessageBody\":\"late\"}");
    int64_t sent = e->now;
    sqs(e, "ReceiveMessage", "{\"QueueUrl\":\"" Q "r\",\"VisibilityTimeout\":600}");
    snprintf(h, sizeof h, "%s", str(first_msg(e), "ReceiptHandle"));
    e->now = sent + 59999;
    sqs(e, "ChangeMessageVisibility",
        "{\"QueueUrl\":\"" Q "r\",\"ReceiptHandle\":\"%s\",\"VisibilityTimeout\":600}", h);
    assert_int_equal(e->status, 200);
    e->now = sent + 60000;
    sqs(e, "ChangeMessageVisibility",
        "{\"QueueUrl\":\"" Q "r\",\"ReceiptHandle\":\"%s\",\"VisibilityTimeout\":600}", h);
    assert_int_equal(e->status, 400);
    assert_string_equal(err_type(e), SQS "ReceiptHandleIsInvalid");
    snprintf(body, sizeof body, "The input receipt handle \"%s\" is not a valid receipt handle.",
             h);
    assert_string_equal(local_env_str(e, "message"), body);
    sqs(e, "ChangeMessageVisibilityBatch",
        "{\"QueueUrl\":\"" Q "r\",\"Entries\":[{\"Id\":\"x\",\"ReceiptHandle\":\"%s\","
        "\"VisibilityTimeout\":0}]}",
        h);
    const cJSON *f = batch_result(e, 0, 1);
    assert_string_equal(str(f->child, "Code"), "ReceiptHandleIsInvalid");
    assert_string_equal(str(f->child, "Message"), body);
}

static void test_config_and_auto_create(void **state)
{
    env_t *e = *state;
    tycho_local_store_close(e->s);
    /* the reference app's default */
    assert_int_equal(
        local_env_open(e, TYCHO_LOCAL_DEFAULT_QUEUES ";other:visibility=5:wait=2", "", 1), 0);
    sqs(e, "GetQueueAttributes",
        "{\"QueueUrl\":\"" Q
        "tycho-messages\",\"AttributeNames\":[\"RedrivePolicy\",\"VisibilityTimeout\"]}");
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(e->body, "Attributes");
    assert_string_equal(str(a, "RedrivePolicy"),
                        "{\"deadLetterTargetArn\":\"arn:aws:sqs:us-east-1:000000000000:tycho-"
                        "messages-dlq\",\"maxReceiveCount\":3}");
    assert_string_equal(str(a, "VisibilityTimeout"), "30");
    sqs(e, "GetQueueUrl", "{\"QueueName\":\"tycho-messages-dlq\"}");
    assert_int_equal(e->status, 200);
    sqs(e, "ReceiveMessage", "{\"QueueUrl\":\"" Q "other\"}");
    assert_int_equal(e->wait_ms, 2000); /* the queue's ReceiveMessageWaitTimeSeconds */
    /* auto-create on first use */
    sqs(e, "SendMessage", "{\"QueueUrl\":\"" Q "fresh\",\"MessageBody\":\"x\"}");
    assert_int_equal(e->status, 200);
    sqs(e, "GetQueueUrl", "{\"QueueName\":\"fresh2\"}");
    assert_int_equal(e->status, 200);
    tycho_local_store_close(e->s);
    e->s = NULL;
    static const char *bad[][2] = {
        {"bad name", "TYCHO_LOCAL_QUEUES: invalid queue name \"bad name\""},
        {"q:visibility", "TYCHO_LOCAL_QUEUES: queue q: option \"visibility\" is not key=value"},
        {"q:colour=red", "TYCHO_LOCAL_QUEUES: queue q: colour=red: unknown key"},
        {"q:visibility=99999",
         "TYCHO_LOCAL_QUEUES: queue q: visibility=99999: out of range (0-43200 seconds)"},
        {"q:dlq=bad name", "TYCHO_LOCAL_QUEUES: queue q: dlq=bad name: not a queue name"},
        {"q:wait=1:wait=2", "TYCHO_LOCAL_QUEUES: queue q: wait=2: wait is given twice"},
        {"ok:max_receive=2:dlq=ok-dlq;q:visibility=5:max_receive=3",
         "TYCHO_LOCAL_QUEUES: queue q: max_receive=3 needs dlq=<queue> (the dead-letter queue "
         "messages move to after max_receive receives; without dlq, no message ever moves)"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        local_env_open_fails(e, bad[i][0], "", bad[i][1]);
    assert_int_equal(local_env_open(e, "", "", 0), 0);
}

/* n messages "<prefix><i>" to queue q, 10 a SendMessageBatch. */
static void fill(env_t *e, const char *q, const char *prefix, int n)
{
    for (int done = 0; done < n;) {
        char entries[2048] = "";
        for (int i = 0; i < 10 && done < n; i++, done++)
            snprintf(entries + strlen(entries), sizeof entries - strlen(entries),
                     "%s{\"Id\":\"%d\",\"MessageBody\":\"%s%d\"}", i ? "," : "", i, prefix,
                     done);
        sqs(e, "SendMessageBatch", "{\"QueueUrl\":\"" Q "%s\",\"Entries\":[%s]}", q, entries);
        assert_int_equal(e->status, 200);
    }
}

/* SQLite steps a receive of 10 messages (kept in flight) from queue q took. */
static long long receive_cost(env_t *e, const char *q)
{
    local_env_vm_steps(e);
    sqs(e, "ReceiveMessage",
        "{\"QueueUrl\":\"" Q "%s\",\"MaxNumberOfMessages\":10,\"VisibilityTimeout\":600}", q);
    long long n = local_env_vm_steps(e);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(e->body, "Messages")), 10);
    return n;
}

/* A receive's work is that of the messages it returns and of the ones in
 * flight ahead of them, not of the queue's backlog: it reads the queue in
 * id order through sqs_messages_order (it used to gather and sort every
 * visible message for each one it returned: 330 ms a receive at 100,000). */
static void test_receive_cost_flat(void **state)
{
    env_t *e = *state;
    sqs(e, "CreateQueue", "{\"QueueName\":\"small\"}");
    sqs(e, "CreateQueue", "{\"QueueName\":\"big\"}");
    fill(e, "small", "s", 40);
    fill(e, "big", "b", 4000);
    long long small = receive_cost(e, "small"), big = receive_cost(e, "big");
    if (big > 2 * small)
        fail_msg("a receive took %lld SQLite steps from 40 messages, %lld from 4,000", small, big);
    /* the oldest come first, after the ones in flight */
    long long again = receive_cost(e, "big");
    assert_string_equal(str(first_msg(e), "Body"), "b10");
    if (again > 2 * small)
        fail_msg("a receive behind 10 in flight took %lld SQLite steps, %lld first", again, small);
}

/* The sweep deletes the messages past their retention period
 * TYCHO_LOCAL_SWEEP_MESSAGES a step, found queue by queue through
 * sqs_messages_expiry: its work does not grow with the messages not due
 * (the sweep before it read every message of the store in one step). */
static void test_sweep_messages(void **state)
{
    env_t *e = *state;
    sqs(e, "CreateQueue",
        "{\"QueueName\":\"short\",\"Attributes\":{\"MessageRetentionPeriod\":\"60\"}}");
    sqs(e, "CreateQueue", "{\"QueueName\":\"long\"}");
    fill(e, "short", "old", 2 * TYCHO_LOCAL_SWEEP_MESSAGES + 30);
    fill(e, "long", "keep", 50);
    e->now += 61000;
    fill(e, "short", "new", 20);
    assert_int_equal(local_env_sweep(e), 3); /* 1000, 1000, then 30 and done */
    assert_int_equal(
        local_env_scalar(e, "SELECT COUNT(*) FROM sqs_messages WHERE body LIKE 'old%'"), 0);
    assert_int_equal(local_env_scalar(e, "SELECT COUNT(*) FROM sqs_messages"), 70);

    local_env_vm_steps(e);
    assert_int_equal(local_env_sweep(e), 1);
    long long few = local_env_vm_steps(e);
    fill(e, "long", "more", 4000);
    local_env_vm_steps(e);
    assert_int_equal(local_env_sweep(e), 1);
    long long many = local_env_vm_steps(e);
    if (many > 2 * few)
        fail_msg("a sweep with nothing due took %lld SQLite steps beside 70 messages, %lld beside "
                 "4,070",
                 few, many);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_md5_vectors),
        cmocka_unit_test_setup_teardown(test_queue_lifecycle, setup, local_env_teardown),
        cmocka_unit_test_setup_teardown(test_send_receive_delete, setup, local_env_teardown),
        cmocka_unit_test_setup_teardown(test_validation, setup, local_env_teardown),
        cmocka_unit_test_setup_teardown(test_attribute_values, setup, local_env_teardown),
        cmocka_unit_test_setup_teardown(test_nul_characters, setup, local_env_teardown),
        cmocka_unit_test_setup_teardown(test_delay_and_visibility, setup, local_env_teardown),
        cmocka_unit_test_setup_teardown(test_visibility_cap, setup, local_env_teardown),
        cmocka_unit_test_setup_teardown(test_layout_1_upgraded, setup, local_env_teardown),
        cmocka_unit_test_setup_teardown(test_redrive, setup, local_env_teardown),
        cmocka_unit_test_setup_teardown(test_redrive_details, setup, local_env_teardown),
        cmocka_unit_test_setup_teardown(test_batches_and_purge, setup, local_env_teardown),
        cmocka_unit_test_setup_teardown(test_retention, setup, local_env_teardown),
        cmocka_unit_test_setup_teardown(test_receive_cost_flat, setup, local_env_teardown),
        cmocka_unit_test_setup_teardown(test_sweep_messages, setup, local_env_teardown),
        cmocka_unit_test_setup_teardown(test_config_and_auto_create, setup, local_env_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
