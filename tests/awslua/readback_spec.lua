-- Written by tests/awslua/test_specs_parity.sh's HTTP run: tycho writes one
-- item of every kind to READBACK_TABLE (dynalite), then the script reads it
-- back with awscli (/usr/bin/aws) and compares.
local ddb = require "tycho.dynamodb"
local json = require "tycho.json"
local HERE = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$")
local create_active_table = dofile(HERE .. "/../../spec/fixtures/table.lua")

describe("readback", function()
  it("writes the item awscli reads back", function()
    local name = assert(os.getenv "READBACK_TABLE")
    create_active_table {
      TableName = name, BillingMode = "PAY_PER_REQUEST",
      AttributeDefinitions = { { AttributeName = "pk", AttributeType = "S" } },
      KeySchema = { { AttributeName = "pk", KeyType = "HASH" } } }
    ddb.table(name):put {
      pk = "readback", s = "héllo", n = 42, d = ddb.number("12345678901234567890.5"), b = true,
      null = json.null, l = { 1, "x" }, m = { k = "v" }, bin = ddb.binary("\0\1"), ss = ddb.set { "a" },
    }
  end)
end)
