#!/usr/bin/env bash
# tycho's signed JSON 1.0 client against real peers: dynalite (DynamoDB) and
# local-aws-sqs (SQS), via tools/aws_call; awscli (/usr/bin/aws) then reads
# back what tycho wrote, and tycho reads what awscli wrote.
. "$(dirname "$0")/lib.sh"
tycho_start_dynalite || exit 1
tycho_start_local_sqs || exit 1
aws_clean_env
export AWS_ACCESS_KEY_ID=AKIDEXAMPLE AWS_SECRET_ACCESS_KEY=not-a-real-secret AWS_REGION=us-east-1
export AWS_ENDPOINT_URL_DYNAMODB="$DYNALITE_URL" AWS_ENDPOINT_URL_SQS="$LOCAL_SQS_URL" AWS_PAGER=""
CALL="$AWS_TOOLS/aws_call"
AWSCLI=/usr/bin/aws
[ -x "$AWSCLI" ] || { echo "FAIL: /usr/bin/aws missing (Debian awscli; scripts/setup installs it)"; exit 1; }

# --- DynamoDB ---------------------------------------------------------------
r=$("$CALL" dynamodb DynamoDB_20120810.CreateTable '{"TableName":"items","AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"S"},{"AttributeName":"sk","AttributeType":"S"}],"KeySchema":[{"AttributeName":"pk","KeyType":"HASH"},{"AttributeName":"sk","KeyType":"RANGE"}],"BillingMode":"PAY_PER_REQUEST"}')
check "ddb: CreateTable" [ "$(jget "$r" ok)" = True ]
check "ddb: table described" [ "$(jget "$r" body.TableDescription.TableName)" = items ]
check "ddb: table turns ACTIVE" tycho_table_wait_active "$DYNALITE_URL" items
item='{"pk":{"S":"user#1"},"sk":{"S":"a"},"n":{"N":"42"},"name":{"S":"ålice ☃"},"tags":{"SS":["x","y"]}}'
r=$("$CALL" dynamodb DynamoDB_20120810.PutItem "{\"TableName\":\"items\",\"Item\":$item}")
check "ddb: PutItem" [ "$(jget "$r" ok)" = True ]
r=$("$CALL" dynamodb DynamoDB_20120810.GetItem '{"TableName":"items","Key":{"pk":{"S":"user#1"},"sk":{"S":"a"}},"ConsistentRead":true}')
check "ddb: GetItem returns the item" [ "$(jget "$r" body.Item.name.S)" = "ålice ☃" ]
check "ddb: number attribute" [ "$(jget "$r" body.Item.n.N)" = 42 ]
check "ddb: request id reported" [ -n "$(jget "$r" request_id)" ]
r=$("$CALL" dynamodb DynamoDB_20120810.PutItem '{"TableName":"items","Item":{"pk":{"S":"user#1"},"sk":{"S":"a"}},"ConditionExpression":"attribute_not_exists(pk)"}')
check "ddb: conditional failure is a structured error" \
    [ "$(jget "$r" type)/$(jget "$r" status)/$(jget "$r" retryable)/$(jget "$r" attempts)" = "ConditionalCheckFailedException/400/False/1" ]
r=$("$CALL" dynamodb DynamoDB_20120810.GetItem '{"TableName":"missing-table","Key":{"pk":{"S":"x"}}}')
check "ddb: ResourceNotFoundException" [ "$(jget "$r" type)" = ResourceNotFoundException ]
out=$("$AWSCLI" dynamodb get-item --endpoint-url "$DYNALITE_URL" --table-name items \
    --key '{"pk":{"S":"user#1"},"sk":{"S":"a"}}' --output json 2>&1)
check "awscli reads the item tycho wrote" [ "$(jget "$out" Item.name.S)" = "ålice ☃" ]
"$AWSCLI" dynamodb put-item --endpoint-url "$DYNALITE_URL" --table-name items \
    --item '{"pk":{"S":"user#2"},"sk":{"S":"b"},"from":{"S":"awscli"}}' >/dev/null 2>&1
r=$("$CALL" dynamodb DynamoDB_20120810.GetItem '{"TableName":"items","Key":{"pk":{"S":"user#2"},"sk":{"S":"b"}}}')
check "tycho reads the item awscli wrote" [ "$(jget "$r" body.Item.from.S)" = awscli ]
r=$("$CALL" --concurrency 50 dynamodb DynamoDB_20120810.GetItem '{"TableName":"items","Key":{"pk":{"S":"user#1"},"sk":{"S":"a"}}}')
check "ddb: 50 concurrent GetItem all succeed (x-amz-crc32 checked)" \
    [ "$(grep -c '"ok":true' <<<"$r")" = 50 ]

# --- SQS --------------------------------------------------------------------
r=$("$CALL" sqs AmazonSQS.CreateQueue '{"QueueName":"jobs"}')
check "sqs: CreateQueue" [ "$(jget "$r" ok)" = True ]
qurl=$(jget "$r" body.QueueUrl)
check "sqs: queue URL" [ "$qurl" = "$LOCAL_SQS_URL/123456789012/jobs" ]
body='hello from tycho ☃'
r=$("$CALL" sqs AmazonSQS.SendMessage "{\"QueueUrl\":\"$qurl\",\"MessageBody\":\"$body\",\"MessageAttributes\":{\"attribName1\":{\"DataType\":\"String\",\"StringValue\":\"attribValue 1\"}}}")
check "sqs: SendMessage" [ "$(jget "$r" ok)" = True ]
check "sqs: MD5OfMessageBody" [ "$(jget "$r" body.MD5OfMessageBody)" = "$(printf '%s' "$body" | md5sum | cut -d' ' -f1)" ]
check "sqs: MD5OfMessageAttributes (PROTOCOLS.md vector)" [ "$(jget "$r" body.MD5OfMessageAttributes)" = 19e27d4e946b072f3f58da80d94fd778 ]
r=$("$CALL" --timeout-ms 10000 sqs AmazonSQS.ReceiveMessage "{\"QueueUrl\":\"$qurl\",\"WaitTimeSeconds\":2,\"MessageAttributeNames\":[\"All\"]}")
check "sqs: ReceiveMessage gets the body" [ "$(jget "$r" body.Messages.0.Body)" = "$body" ]
check "sqs: message attribute received" [ "$(jget "$r" body.Messages.0.MessageAttributes.attribName1.StringValue)" = "attribValue 1" ]
r=$("$CALL" sqs AmazonSQS.SendMessage "{\"QueueUrl\":\"$qurl\",\"MessageBody\":\"for awscli\"}")
out=$("$AWSCLI" sqs receive-message --endpoint-url "$LOCAL_SQS_URL" --queue-url "$qurl" \
    --wait-time-seconds 2 --output json 2>&1)
check "awscli receives the message tycho sent" [ "$(jget "$out" Messages.0.Body)" = "for awscli" ]
r=$("$CALL" sqs AmazonSQS.GetQueueUrl '{"QueueName":"does-not-exist"}')
check "sqs: QueueDoesNotExist is a structured error" \
    [ "$(jget "$r" type)/$(jget "$r" status)/$(jget "$r" retryable)" = "QueueDoesNotExist/400/False" ]
finish
