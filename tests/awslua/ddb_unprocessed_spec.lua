-- Run by tests/awslua/test_ddb_unprocessed.sh: t:batch_write and t:batch_get
-- against dynalite behind tests/aws/tamper_proxy.py (TAMPER_URL), which holds
-- back the last entries of a batch request and answers them as
-- UnprocessedItems / UnprocessedKeys, as DynamoDB does when a partition is
-- busy (dynalite never does).
local ddb = require "tycho.dynamodb"
local aws = require "tycho.aws"
local http = require "tycho.http"
local json = require "tycho.json"
local time = require "tycho.time"
local HERE = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$")
local create_active_table = dofile(HERE .. "/../../spec/fixtures/table.lua")
local PROXY = assert(os.getenv "TAMPER_URL")

local function proxy(what, settings)
  local status, _, body = http.post(PROXY .. "/__control/" .. what, settings or {})
  assert.equal(200, status)
  return json.decode(body)
end

-- the number of entries of each batch request the proxy saw, since the reset
local function request_sizes(op)
  local sizes = {}
  for _, r in ipairs(proxy("log").requests) do
    if r.target == "DynamoDB_20120810." .. op then sizes[#sizes + 1] = r.entries end
  end
  return sizes
end

local function items(from, to)
  local out = {}
  for i = from, to do out[#out + 1] = { pk = "k" .. i, n = i } end
  return out
end

local function keys(from, to)
  local out = {}
  for i = from, to do out[#out + 1] = { pk = "k" .. i } end
  return out
end

describe("batches and DynamoDB's unprocessed entries", function()
  local t
  setup(function()
    local name = "unprocessed-" .. require("tycho.uuid").v4():sub(1, 8)
    create_active_table {
      TableName = name, BillingMode = "PAY_PER_REQUEST",
      AttributeDefinitions = { { AttributeName = "pk", AttributeType = "S" } },
      KeySchema = { { AttributeName = "pk", KeyType = "HASH" } } }
    t = ddb.table(name)
  end)
  before_each(function() proxy("reset") end)

  it("sends unprocessed writes again until all are done", function()
    proxy("config", { defer = 10, defer_requests = 2 })
    t:batch_write { put = items(1, 30) }
    -- 25 (10 held back), those 10 (9 held back), those 9, then the last 5
    assert.same({ 25, 10, 9, 5 }, request_sizes("BatchWriteItem"))
    assert.equal(30, #t:batch_get(keys(1, 30)))
  end)

  it("reads unprocessed keys again, and decodes every item", function()
    proxy("config", { defer = 40, defer_requests = 1 })
    local got = t:batch_get(keys(1, 120))
    assert.same({ 100, 40, 20 }, request_sizes("BatchGetItem"))
    assert.equal(30, #got)
    table.sort(got, function(a, b) return a.n < b.n end)
    for i = 1, 30 do assert.same({ pk = "k" .. i, n = i }, got[i]) end
  end)

  it("raises UnprocessedItems with what stayed unprocessed after the retries", function()
    proxy("config", { defer = 3, defer_requests = -1 })
    local t0 = time.monotonic()
    local ok, err = pcall(t.batch_write, t, { put = items(31, 33), delete = keys(1, 2) }, { retries = 2 })
    local took = time.monotonic() - t0
    assert.is_false(ok)
    assert.is_true(aws.is_error(err, "UnprocessedItems"))
    assert.equal("BatchWriteItem", err.operation)
    assert.equal(503, err.http_status)
    assert.is_true(err.retryable)
    -- 5 sent, 3 held back; 3 sent, 2 held back; 2 sent, 1 held back
    assert.same({ 5, 3, 2 }, request_sizes("BatchWriteItem"))
    assert.equal("1 of 5 writes left unprocessed by DynamoDB after 2 retries (its throughput at "
      .. "the moment); err.unprocessed holds them", err.message)
    assert.same({ put = {}, delete = { { pk = "k2" } } }, err.unprocessed)
    assert.is_true(took < 1.5, "two backoffs of at most 0.1 and 0.2 s, took " .. took)
    proxy("reset")
    assert.is_nil(t:get { pk = "k1" })                        -- the writes that were done
    assert.equal(33, t:get({ pk = "k33" }).n)
    assert.same({ pk = "k2", n = 2 }, t:get { pk = "k2" })   -- the one left is still there
  end)

  it("raises UnprocessedKeys with the items read and the keys not read", function()
    proxy("config", { defer = 4, defer_requests = -1 })
    local ok, err = pcall(t.batch_get, t, keys(3, 12), { retries = 0 })
    assert.is_false(ok)
    assert.is_true(aws.is_error(err, "UnprocessedKeys"))
    assert.equal("BatchGetItem", err.operation)
    assert.same({ 10 }, request_sizes("BatchGetItem"))
    assert.equal(6, #err.items)
    assert.same(keys(9, 12), err.unprocessed)
  end)
end)
