-- Written by tests/awslua/test_specs_parity.sh's HTTP run: tycho writes one
-- item of every kind to READBACK_TABLE (dynalite), then the script reads it
-- back with awscli (/usr/bin/aws) and compares.
local ddb = require "tycho.dynamodb"
local aws = require "tycho.aws"
local json = require "tycho.json"
local time = require "tycho.time"

describe("readback", function()
  it("writes the item awscli reads back", function()
    local name = assert(os.getenv "READBACK_TABLE")
    aws.call("dynamodb", "DynamoDB_20120810.CreateTable", {
      TableName = name, BillingMode = "PAY_PER_REQUEST",
      AttributeDefinitions = { { AttributeName = "pk", AttributeType = "S" } },
      KeySchema = { { AttributeName = "pk", KeyType = "HASH" } } })
    while aws.call("dynamodb", "DynamoDB_20120810.DescribeTable", { TableName = name }).Table.TableStatus ~= "ACTIVE" do
      time.sleep(0.05)
    end
    ddb.table(name):put {
      pk = "readback", s = "héllo", n = 42, d = ddb.number("12345678901234567890.5"), b = true,
      null = json.null, l = { 1, "x" }, m = { k = "v" }, bin = ddb.binary("\0\1"), ss = ddb.set { "a" },
    }
  end)
end)
