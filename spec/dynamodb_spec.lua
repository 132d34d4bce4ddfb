-- tycho.dynamodb against whatever backend the run uses: the embedded local
-- one (TYCHO_AWS_BACKEND=local, the default) or DynamoDB over HTTP
-- (TYCHO_AWS_BACKEND=aws; tests/awslua/test_specs_parity.sh points it at
-- dynalite). Every assertion holds for both. Tables are created per run.
local ddb = require "tycho.dynamodb"
local aws = require "tycho.aws"
local json = require "tycho.json"

local HERE = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "spec"
local create_active_table = dofile(HERE .. "/fixtures/table.lua")

local run = require("tycho.uuid").v4():sub(1, 8)

local function create_table(name)
  create_active_table {
    TableName = name, BillingMode = "PAY_PER_REQUEST",
    AttributeDefinitions = { { AttributeName = "pk", AttributeType = "S" },
                             { AttributeName = "sk", AttributeType = "N" } },
    KeySchema = { { AttributeName = "pk", KeyType = "HASH" }, { AttributeName = "sk", KeyType = "RANGE" } },
  }
  return ddb.table(name)
end

local function catch(f, ...)
  local ok, err = pcall(f, ...)
  assert.is_false(ok, "expected an error")
  return err
end

describe("tycho.dynamodb", function()
  local t
  setup(function() t = create_table("spec-" .. run) end)

  it("round-trips every kind of value", function()
    local item = {
      pk = "types", sk = 1,
      s = "text", empty = "", yes = true, no = false, nothing = json.null,
      int = 42, neg = -7, max_exact = 9007199254740992, frac = 0.1, small = -0.5, sci = 1.5e-7,
      big = ddb.number("12345678901234567890.123456789"),
      beyond = ddb.number("9007199254740993"),
      bin = ddb.binary("\0\1\255"),
      map = { a = 1, nested = { deep = { "x", { y = true } } } },
      list = { 1, "two", false, json.null, { three = 3 } },
      empty_list = json.array {},
      empty_map = {},
      ss = ddb.set { "a", "b" }, ns = ddb.set { 1, 2.5 }, bs = ddb.set { ddb.binary("\1"), ddb.binary("\2") },
    }
    t:put(item)
    local got = t:get { pk = "types", sk = 1 }
    assert.equal("text", got.s)
    assert.equal("", got.empty)
    assert.is_true(got.yes)
    assert.is_false(got.no)
    assert.equal(json.null, got.nothing)
    assert.equal(42, got.int)
    assert.equal(-7, got.neg)
    assert.equal(9007199254740992, got.max_exact)
    assert.equal(0.1, got.frac)
    assert.equal(-0.5, got.small)
    assert.equal(1.5e-7, got.sci)
    assert.is_true(ddb.is_number(got.big))
    assert.equal("12345678901234567890.123456789", tostring(got.big))
    assert.is_true(ddb.is_number(got.beyond))
    assert.equal("9007199254740993", tostring(got.beyond))
    assert.equal(ddb.number("9007199254740993"), got.beyond)
    assert.is_true(ddb.is_binary(got.bin))
    assert.equal("\0\1\255", got.bin.value)
    assert.same({ a = 1, nested = { deep = { "x", { y = true } } } }, got.map)
    assert.same({ 1, "two", false, json.null, { three = 3 } }, got.list)
    assert.is_true(json.is_array(got.list))
    assert.equal("[]", json.encode(got.empty_list))
    assert.equal("{}", json.encode(got.empty_map))
    assert.equal("SS", ddb.set_type(got.ss))
    local ss = { got.ss[1], got.ss[2] }
    table.sort(ss)
    assert.same({ "a", "b" }, ss)
    assert.equal("NS", ddb.set_type(got.ns))
    local ns = { got.ns[1], got.ns[2] }
    table.sort(ns)
    assert.same({ 1, 2.5 }, ns)
    assert.equal("BS", ddb.set_type(got.bs))
    assert.equal(2, #got.bs)
    -- ddb.plain: JSON-ready
    local plain = ddb.plain(got)
    assert.equal("12345678901234567890.123456789", plain.big)
    assert.equal(aws.b64encode("\0\1\255"), plain.bin)
    assert.equal(2, #plain.ss)
    assert.is_string(json.encode(plain))
    assert.matches('"beyond":"9007199254740993"', json.encode(plain))
    -- what was written comes back the same, AttributeValue for AttributeValue
    local before, after = ddb.marshal(item), ddb.marshal(got)
    for _, k in ipairs { "s", "int", "frac", "big", "beyond", "bin", "map", "list" } do
      assert.same(before[k], after[k])
    end
  end)

  it("returns nil for a missing item, and projects attributes", function()
    assert.is_nil(t:get { pk = "missing", sk = 0 })
    t:put { pk = "proj", sk = 1, a = 1, b = 2, name = "reserved word" }
    local got = t:get({ pk = "proj", sk = 1 }, { consistent = true, projection = { "a", "name" } })
    assert.same({ a = 1, name = "reserved word" }, got)
  end)

  it("raises a distinct, catchable error when a condition fails", function()
    t:put { pk = "cond", sk = 1, v = 1 }
    local err = catch(t.put, t, { pk = "cond", sk = 1, v = 2 }, { condition = "attribute_not_exists(pk)" })
    assert.is_true(ddb.is_condition_failed(err))
    assert.is_true(err.condition_failed)
    assert.equal("ConditionalCheckFailedException", err.type)
    assert.equal(400, err.status)
    assert.is_false(err.retryable)
    assert.equal(409, err.http_status)
    assert.equal(1, t:get({ pk = "cond", sk = 1 }).v)
    -- with names and values
    t:put({ pk = "cond", sk = 1, v = 3 }, { condition = "#v = :old", names = { ["#v"] = "v" }, values = { old = 1 } })
    assert.equal(3, t:get({ pk = "cond", sk = 1 }).v)
    local err2 = catch(t.delete, t, { pk = "cond", sk = 1 }, { condition = "v = :x", values = { [":x"] = 99 } })
    assert.is_true(ddb.is_condition_failed(err2))
  end)

  it("returns the old item on put and delete with return_values", function()
    assert.is_nil(t:put({ pk = "old", sk = 1, v = "first" }, { return_values = "ALL_OLD" }))
    assert.same({ pk = "old", sk = 1, v = "first" }, t:put({ pk = "old", sk = 1, v = "second" }, { return_values = "ALL_OLD" }))
    assert.same({ pk = "old", sk = 1, v = "second" }, t:delete({ pk = "old", sk = 1 }, { return_values = "ALL_OLD" }))
    assert.is_nil(t:get { pk = "old", sk = 1 })
    assert.is_nil(t:delete { pk = "old", sk = 1 })
  end)

  it("updates with set, add, remove and delete", function()
    t:put { pk = "upd", sk = 1, gone = "x", tags = ddb.set { "a", "b", "c" } }
    local new = t:update({ pk = "upd", sk = 1 }, {
      set = { name = "n", ["with space"] = true }, add = { count = 5 }, remove = { "gone" },
      delete = { tags = ddb.set { "b" } }, return_values = "ALL_NEW" })
    assert.equal("n", new.name)
    assert.is_true(new["with space"])
    assert.equal(5, new.count)
    assert.is_nil(new.gone)
    local tags = { new.tags[1], new.tags[2] }
    table.sort(tags)
    assert.same({ "a", "c" }, tags)
    local upd = t:update({ pk = "upd", sk = 1 }, { add = { count = 2 } }, { return_values = "UPDATED_NEW" })
    assert.same({ count = 7 }, upd)
    assert.is_nil(t:update({ pk = "upd", sk = 1 }, { set = { name = "m" } }))
  end)

  it("updates with a raw expression and a condition", function()
    t:put { pk = "raw", sk = 1, n = 1 }
    local r = t:update({ pk = "raw", sk = 1 }, "SET #n = #n + :inc, #s = :s",
      { names = { n = "n", s = "status" }, values = { inc = 10, s = "done", max = 5 },
        condition = "#n < :max", return_values = "ALL_NEW" })
    assert.same({ pk = "raw", sk = 1, n = 11, status = "done" }, r)
    local err = catch(t.update, t, { pk = "raw", sk = 1 }, "SET #n = :v",
      { names = { n = "n" }, values = { v = 0, max = 5 }, condition = "#n < :max" })
    assert.is_true(ddb.is_condition_failed(err))
  end)

  it("queries with key conditions, order, filters and pages", function()
    for i = 1, 7 do t:put { pk = "q", sk = i, odd = i % 2 == 1 } end
    local page = t:query { key_condition = "pk = :p AND sk BETWEEN :a AND :b", values = { p = "q", a = 2, b = 5 } }
    assert.equal(4, page.count)
    assert.same({ 2, 3, 4, 5 }, { page.items[1].sk, page.items[2].sk, page.items[3].sk, page.items[4].sk })
    assert.is_nil(page.last_key)
    local desc = t:query { key = { pk = "q" }, forward = false, limit = 2 }
    assert.same({ 7, 6 }, { desc.items[1].sk, desc.items[2].sk })
    assert.same({ pk = "q", sk = 6 }, desc.last_key)
    local nextp = t:query { key = { pk = "q" }, forward = false, limit = 2, start_key = desc.last_key }
    assert.same({ 5, 4 }, { nextp.items[1].sk, nextp.items[2].sk })
    local odd = t:query { key_condition = "pk = :p", filter = "odd = :t", values = { p = "q", t = true } }
    assert.equal(4, #odd.items)
    local seen, pages = {}, 0
    for p in t:query_pages { key_condition = "pk = :p", values = { p = "q" }, limit = 3 } do
      pages = pages + 1
      for _, it in ipairs(p.items) do seen[#seen + 1] = it.sk end
    end
    assert.same({ 1, 2, 3, 4, 5, 6, 7 }, seen)
    assert.is_true(pages >= 3)
  end)

  it("scans in parallel segments", function()
    for i = 1, 12 do t:put { pk = "seg" .. i, sk = 1 } end
    local all = 0
    for p in t:scan_pages {} do all = all + p.count end
    local sum, max = 0, 0
    for s = 0, 2 do
      local n = 0
      for p in t:scan_pages { segment = s, total_segments = 3 } do n = n + p.count end
      sum, max = sum + n, math.max(max, n)
    end
    assert.equal(all, sum)
    assert.is_true(max < all, "a segment holds only part of the table")
  end)

  it("encodes an empty page's items as a JSON array", function()
    local page = t:query { key = { pk = "nothing-here" } }
    assert.equal(0, page.count)
    assert.equal("[]", json.encode(page.items))
    assert.equal("[]", json.encode(t:scan { filter = "pk = :p", values = { p = "nothing-here" } }.items))
  end)

  it("refuses an unknown option, naming it", function()
    local function unknown(message, op, f, ...)
      local err = catch(f, ...)
      assert.is_true(aws.is_error(err, "InvalidParameterValue"), tostring(err))
      assert.equal(message, err.message)
      assert.equal(op, err.operation)
    end
    local key = { pk = "opt", sk = 1 }
    unknown("unknown option 'consistant' (consistent, projection, names, timeout, max_attempts)", "GetItem", t.get, t, key,
      { consistant = true })
    local write = "(condition, names, values, return_values, return_old_on_failure, timeout, max_attempts)"
    unknown("unknown option 'conditon' " .. write, "PutItem", t.put, t, key, { conditon = "attribute_exists(pk)" })
    unknown("unknown option 'return_value' " .. write, "DeleteItem", t.delete, t, key, { return_value = "ALL_OLD" })
    unknown("unknown option 'value' " .. write, "UpdateItem", t.update, t, key, "SET v = :v", { value = { v = 1 } })
    unknown("unknown option 'sett' (set, add, remove, delete, condition, names, values, return_values, "
      .. "return_old_on_failure, timeout, max_attempts)", "UpdateItem", t.update, t, key, { sett = { v = 1 } })
    unknown("unknown option 'segment' (key_condition, key, values, names, index, filter, limit, forward, "
      .. "start_key, projection, consistent, select, timeout, max_attempts)", "Query", t.query, t, { key = { pk = "opt" }, segment = 0 })
    unknown("unknown option 'total_segment' (filter, values, names, index, limit, start_key, projection, "
      .. "consistent, select, segment, total_segments, timeout, max_attempts)", "Scan", t.scan, t, { segment = 0, total_segment = 2 })
    assert.is_nil(t:get(key)) -- nothing was written
  end)

  it("refuses values DynamoDB cannot hold, before calling it, with InvalidParameterValue", function()
    local function refused(message, f, ...)
      local err = catch(f, ...)
      assert.is_true(aws.is_error(err, "InvalidParameterValue"), tostring(err))
      assert.equal("dynamodb", err.service)
      assert.equal(message, err.message)
      return err
    end
    local err = refused("item.v: NaN and infinity cannot be stored", t.put, t, { pk = "bad", sk = 1, v = 0 / 0 })
    assert.equal("PutItem", err.operation)
    assert.equal("DynamoDB.PutItem failed: item.v: NaN and infinity cannot be stored", tostring(err))
    refused("item.v.n[2]: NaN and infinity cannot be stored", t.put, t, { pk = "bad", sk = 1, v = { n = { 1, 1 / 0 } } })
    refused("item.v: a table must be a list (keys 1..n) or a map (string keys)", t.put, t,
      { pk = "bad", sk = 1, v = { 1, 2, x = 3 } })
    refused("item.v: cannot store a function", t.put, t, { pk = "bad", sk = 1, v = function() end })
    refused("item: a map key must be a string (got boolean)", t.put, t, { pk = "bad", sk = 1, [true] = 1 })
    refused("value: NaN and infinity cannot be stored", ddb.to_attribute_value, ddb.set { 1, -1 / 0 })
    local deep = { x = 1 }
    for _ = 1, 32 do deep = { a = deep } end -- item.v at level 0, x at 33
    local derr = refused("item.v" .. (".a"):rep(32) .. ".x: nested deeper than 32 levels", t.put, t,
      { pk = "bad", sk = 1, v = deep })
    assert.equal("PutItem", derr.operation)
    deep.a = deep -- a cycle
    refused("item.v" .. (".a"):rep(33) .. ": nested deeper than 32 levels", t.put, t, { pk = "bad", sk = 1, v = deep })
    refused("values.x: NaN and infinity cannot be stored", t.update, t, { pk = "bad", sk = 1 }, "SET v = :x",
      { values = { x = 0 / 0 } })
    assert.equal("UpdateItem", refused("update: nothing to set, add, remove or delete", t.update, t,
      { pk = "bad", sk = 1 }, {}).operation)
    assert.equal("Query", refused("query needs key_condition (an expression) or key = { pk = value }",
      t.query, t, {}).operation)
    assert.is_nil(t:get { pk = "bad", sk = 1 }) -- nothing was stored
    local ok_deep = { x = 1 }
    for _ = 1, 31 do ok_deep = { a = ok_deep } end -- x at level 32: DynamoDB's limit
    t:put { pk = "deep", sk = 1, v = ok_deep }
    assert.same(ok_deep, t:get({ pk = "deep", sk = 1 }).v)
    assert.has_error(function() ddb.number("12abc") end)
    assert.has_error(function() ddb.set {} end)
    assert.has_error(function() ddb.set { "a", 1 } end)
  end)

  it("writes and reads batches larger than one request, puts and deletes", function()
    local items, keys = {}, {}
    for i = 1, 60 do
      items[i] = { pk = "batch", sk = i, n = i * 2, tags = ddb.set { "t" .. i }, big = ddb.number("12345678901234567890") }
      keys[i] = { pk = "batch", sk = i }
    end
    t:batch_write { put = items }                     -- 3 requests: 25, 25, 10
    keys[61] = { pk = "batch", sk = 999 }             -- no such item
    local got = t:batch_get(keys)                     -- 1 request of 61 keys
    assert.equal(60, #got)
    assert.is_true(json.is_array(got))
    table.sort(got, function(a, b) return a.sk < b.sk end)
    for i = 1, 60 do
      assert.equal(i, got[i].sk)
      assert.equal(i * 2, got[i].n)
      assert.equal("SS", ddb.set_type(got[i].tags))
      assert.equal(ddb.number("12345678901234567890"), got[i].big)
    end
    local more = {}
    for i = 1, 150 do more[i] = { pk = "batch", sk = i } end
    assert.equal(60, #t:batch_get(more))             -- 2 requests: 100, 50
    local deletes = {}
    for i = 1, 30 do deletes[i] = { pk = "batch", sk = i } end
    t:batch_write { put = { { pk = "batch", sk = 100, n = 1 } }, delete = deletes }
    local left = t:batch_get(more, { projection = { "sk" }, consistent = true })
    assert.equal(31, #left)
    for _, it in ipairs(left) do
      assert.is_nil(it.n)
      assert.is_true(it.sk > 30)
    end
    assert.same({}, t:batch_get({}))
    t:batch_write {}
  end)

  it("refuses bad batch arguments before any request", function()
    local err = catch(t.batch_write, t, { put = { { pk = "b", sk = 1 }, { pk = "b", sk = 2, v = 0 / 0 } } })
    assert.is_true(aws.is_error(err, "InvalidParameterValue"))
    assert.equal("BatchWriteItem", err.operation)
    assert.equal("put[2]: item.v: NaN and infinity cannot be stored", err.message)
    assert.is_nil(t:get { pk = "b", sk = 1 })         -- nothing was written
    err = catch(t.batch_write, t, { puts = {} })
    assert.matches("unknown option 'puts'", err.message)
    err = catch(t.batch_write, t, { put = {} }, { retries = 21 })
    assert.equal("retries must be an integer from 0 to 20", err.message)
    err = catch(t.batch_get, t, { { pk = "b", sk = 1 }, "nope" })
    assert.equal("BatchGetItem", err.operation)
    assert.equal("keys[2]: an item or key must be a table of attributes", err.message)
    err = catch(t.batch_get, t, {}, { consistant = true })
    assert.matches("unknown option 'consistant'", err.message)
  end)

  it("raises the service's error of a batch request with what was not done", function()
    local items = {}
    for i = 1, 30 do items[i] = { pk = "dup", sk = i } end
    items[28] = { pk = "dup", sk = 27 }               -- a duplicate key in the second request
    local err = catch(t.batch_write, t, { put = items })
    assert.is_true(aws.is_error(err, "ValidationException"))
    assert.equal("BatchWriteItem", err.operation)
    assert.equal(5, #err.unprocessed.put)             -- the second request's
    assert.equal(26, err.unprocessed.put[1].sk)
    assert.equal(0, #err.unprocessed.delete)
    local keys = {}
    for i = 1, 30 do keys[i] = { pk = "dup", sk = i } end
    assert.equal(25, #t:batch_get(keys))              -- the first request's were written
  end)

  it("carries the service's errors as structured errors", function()
    local missing = ddb.table("spec-missing-" .. run)
    local err = catch(missing.get, missing, { pk = "x", sk = 1 })
    assert.is_true(aws.is_error(err, "ResourceNotFoundException"))
    assert.equal(400, err.status)
    assert.is_false(err.retryable)
    assert.equal("dynamodb", err.service)
    assert.equal("GetItem", err.operation)
    assert.matches("DynamoDB.GetItem failed", tostring(err))
    assert.is_truthy(err.message:find("spec-missing-" .. run, 1, true), err.message) -- which table
    local verr = catch(t.put, t, { pk = "" , sk = 1 })
    assert.is_true(aws.is_error(verr, "ValidationException"))
  end)
end)
