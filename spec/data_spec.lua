-- routes/data.lua: POST /save-data, GET /get-data/:id
local t = require "tycho.test"
local ddb = require "tycho.dynamodb"
local time = require "tycho.time"
local HERE = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "spec"
local app = dofile(HERE .. "/fixtures/app/helper.lua")

local ISO = "^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%d%.%d%d%dZ$"

describe("POST /save-data and GET /get-data/:id", function()
  setup(app.setup)
  teardown(app.teardown)
  before_each(function()
    app.reset()
    t.spans()
  end)

  it("stores the body as data with id, timestamp, user_id, created_at, ttl; get-data returns it", function()
    local ops = app.count("dynamodb_operations_total", { operation = "PutItem", status = "success" })
    local res = t.post("/save-data", { body = { user_id = "alice", score = 42, tags = { "a", "b" } } })
    assert.equal(201, res.status)
    assert.equal("Data saved", res.body.message)
    assert.matches("^%x+%-%x+%-%x+%-%x+%-%x+$", res.body.id)
    assert.matches(ISO, res.body.timestamp)
    assert.equal(ops + 1, app.count("dynamodb_operations_total", { operation = "PutItem", status = "success" }))
    local put = app.spans()["DynamoDB.PutItem"]
    assert.equal("CLIENT", put.kind)
    assert.same({ app.TABLE }, put.attributes["aws.dynamodb.table_names"]) -- string[]

    -- as stored, read with the table's own key
    local item = ddb.table(app.TABLE):get { id = res.body.id, timestamp = res.body.timestamp }
    assert.equal("alice", item.user_id)
    assert.equal(item.timestamp, item.created_at)
    assert.same({ user_id = "alice", score = 42, tags = { "a", "b" } }, item.data)
    assert.is_true(math.abs(item.ttl - (time.now() + 86400)) < 60)

    local got = t.get("/get-data/" .. res.body.id)
    assert.equal(200, got.status)
    assert.same(item, got.body.data)
  end)

  it("without a body, stores generated sample data", function()
    local res = t.post("/save-data")
    assert.equal(201, res.status)
    local item = t.get("/get-data/" .. res.body.id).body.data
    assert.matches("^user_%d+$", item.user_id)
    assert.equal("sample", item.data.action)
    assert.is_number(item.data.value)
  end)

  it("get-data returns the newest item saved under an id", function()
    local items = ddb.table(app.TABLE)
    local id = "spec-" .. require("tycho.uuid")()
    items:put { id = id, timestamp = "2026-01-01T00:00:00.000Z", v = 1 }
    items:put { id = id, timestamp = "2026-01-02T00:00:00.000Z", v = 2 }
    items:put { id = id, timestamp = "2025-12-31T00:00:00.000Z", v = 0 }
    local res = t.get("/get-data/" .. id)
    assert.equal(200, res.status)
    assert.equal(2, res.body.data.v)
    assert.equal("Query", app.spans()["DynamoDB.Query"].attributes["rpc.method"])
  end)

  it("get-data answers 404 for an id never saved, with the request id as the router's 404 has", function()
    local before = app.count("user_actions_total", { action = "get_data" })
    local res = t.get("/get-data/never-saved", { request_id = "rid-404" })
    assert.equal(404, res.status)
    assert.same({ error = "not found", request_id = "rid-404" }, res.body)
    assert.equal(before + 1, app.count("user_actions_total", { action = "get_data" }))
    assert.equal(404, t.get("/get-data/" .. ("x"):rep(3000)).status)
    -- a NUL: no id has one, and the local backend refuses it in a key
    res = t.get("/get-data/a%00b", { request_id = "rid-nul" })
    assert.equal(404, res.status)
    assert.same({ error = "not found", request_id = "rid-nul" }, res.body)
  end)

  it("answers 400 to bad bodies and 413 past MAX_PAYLOAD_BYTES, storing nothing", function()
    local before = app.count("dynamodb_operations_total", { operation = "PutItem", status = "success" })
    local invalid = t.post("/save-data", { body = '{"a":' })
    assert.equal(400, invalid.status)
    assert.equal("invalid JSON body: invalid JSON at line 1, column 6 (byte 6): unexpected end of input",
      invalid.body.error)
    assert.equal(400, t.post("/save-data", { body = "42" }).status)
    assert.equal(400, t.post("/save-data", { body = "[]" }).status)
    assert.equal(400, t.post("/save-data", { body = { user_id = 7 } }).status)
    assert.equal(400, t.post("/save-data", { body = { user_id = ("u"):rep(200) } }).status)
    app.configure { MAX_PAYLOAD_BYTES = 64 }
    assert.equal(413, t.post("/save-data", { body = { blob = ("x"):rep(100) } }).status)
    assert.equal(before, app.count("dynamodb_operations_total", { operation = "PutItem", status = "success" }))
  end)

  it("refuses MAX_PAYLOAD_BYTES=nan or 0x40 at load (nan passed the range check and lifted the limit)", function()
    for _, v in ipairs { "nan", "0x40" } do
      assert.error_matches(function() app.configure { MAX_PAYLOAD_BYTES = v } end,
        ("MAX_PAYLOAD_BYTES: not a decimal number (10, 0.5): %q"):format(v), 1, true)
    end
    app.reset()
    assert.equal(201, t.post("/save-data", { body = { blob = ("x"):rep(100) } }).status)
  end)

  it("reports a body whose decoding meets the Lua memory limit as out of memory, not as a bad body", function()
    local body = '{"a":[' .. ("0,"):rep(30000) .. '0]}' -- 60 KB: a table of 30,001 numbers
    local limits = { t.set_limits {} }
    collectgarbage()
    local before = t.stats()
    local refused = app.count("errors_total", { error_type = "validation" })
    t.set_limits { memory_limit = before.memory + 256 * 1024 }
    t.capture_logs()
    local res = t.post("/save-data", { body = body, headers = { ["content-type"] = "application/json" } })
    local logs = t.logs()
    t.set_limits { memory_limit = limits[2] }
    app.reset()
    assert.equal(500, res.status)
    assert.equal("handler error: Lua memory limit reached (TYCHO_LUA_MEMORY_LIMIT)", logs[1].msg)
    assert.equal(before.oom + 1, t.stats().oom)
    assert.equal(refused, app.count("errors_total", { error_type = "validation" }))
  end)

  it("refuses a MAX_PAYLOAD_BYTES with a fraction at load: a byte count is whole", function()
    assert.error_matches(function() app.configure { MAX_PAYLOAD_BYTES = "1000.5" } end,
      "environment variable MAX_PAYLOAD_BYTES: 1000.5 is not a whole number", 1, true)
    app.reset()
    assert.equal(201, t.post("/save-data", { body = { blob = ("x"):rep(100) } }).status)
  end)

  it("answers 400 to data nested deeper than 16 levels (DynamoDB's limit is 32)", function()
    local nested = function(n) return ('{"a":'):rep(n) .. "1" .. ("}"):rep(n) end
    local res = t.post("/save-data", { body = nested(17) })
    assert.equal(400, res.status)
    assert.equal(("a"):rep(16, ".") .. ": nested deeper than 16 levels", res.body.error)
    assert.equal(201, t.post("/save-data", { body = nested(16) }).status)
  end)

  it("answers 400 saying where a number too large for a double is, storing nothing", function()
    local before = app.count("dynamodb_operations_total", { operation = "PutItem", status = "success" })
    local validation = app.count("errors_total", { error_type = "validation" })
    local out_of_range = "invalid JSON body: number out of range at line 1, column %d (byte %d) near '%s'"
    for body, message in pairs {
      ['{"n": 1e400}'] = out_of_range:format(7, 7, "1e400}"),
      ['{"n": -1e400}'] = out_of_range:format(7, 7, "-1e400}"),
      ['{"a": {"b": [1, 2, {"c": 1e999}]}}'] = out_of_range:format(26, 26, "1e999}]}}"),
    } do
      local res = t.post("/save-data", { body = body, request_id = "rid-big" })
      assert.equal(400, res.status, body)
      assert.same({ error = message, request_id = "rid-big" }, res.body)
    end
    assert.equal(before, app.count("dynamodb_operations_total", { operation = "PutItem", status = "success" }))
    assert.equal(validation + 3, app.count("errors_total", { error_type = "validation" }))
  end)

  it("stores integers past 2^53 as the nearest double, as the README says", function()
    local res = t.post("/save-data", { body = '{"m": 9007199254740993, "s": "\\u00e9\\ud83d\\ude00"}' })
    assert.equal(201, res.status)
    local item = t.get("/get-data/" .. res.body.id).body.data
    assert.same({ m = 2 ^ 53, s = "\u{e9}\u{1f600}" }, item.data)
  end)

  -- counted as invalid (the client's data), not as a DynamoDB error
  it("answers 400 to a value tycho.dynamodb refuses before calling DynamoDB", function()
    local aws = require "tycho.aws"
    local store = require "_app.store"
    local function ops(status)
      return app.count("dynamodb_operations_total", { operation = "PutItem", status = status })
    end
    local invalid, errors = ops("invalid"), ops("error")
    local ok, err = store.save { user_id = "u", data = { n = 0 / 0 } }
    assert.is_false(ok)
    assert.is_true(aws.is_error(err, "InvalidParameterValue"))
    assert.equal(0, err.status) -- no request was sent
    assert.same({ invalid + 1, errors }, { ops("invalid"), ops("error") })
    local status, body = store.failure({ id = "rid-nan" }, err, "DynamoDB PutItem")
    assert.equal(400, status)
    assert.same({ error = "DynamoDB PutItem: the data was refused", type = "InvalidParameterValue",
                  message = "item.data.n: NaN and infinity cannot be stored", request_id = "rid-nan" }, body)
  end)

  -- counted as the client's mistake (validation), not as a DynamoDB fault
  it("answers 400 with DynamoDB's reason when it refuses the data", function()
    local validation = app.count("errors_total", { error_type = "validation" })
    local ddb_errors = app.count("errors_total", { error_type = "dynamodb_error" })
    local function ops(status)
      return app.count("dynamodb_operations_total", { operation = "PutItem", status = status })
    end
    local invalid, op_errors = ops("invalid"), ops("error")
    local res = t.post("/save-data", { body = '{"n": 1e127}', request_id = "rid-refused" })
    assert.equal(400, res.status)
    assert.equal(validation + 1, app.count("errors_total", { error_type = "validation" }))
    assert.equal(ddb_errors, app.count("errors_total", { error_type = "dynamodb_error" }))
    assert.same({ invalid + 1, op_errors }, { ops("invalid"), ops("error") })
    assert.equal("rid-refused", res.body.request_id)
    assert.equal("DynamoDB PutItem: the data was refused", res.body.error)
    assert.equal("ValidationException", res.body.type)
    assert.matches("Number overflow", res.body.message)
  end)

  it("answers 502 with the AWS error type when the table does not exist", function()
    app.configure { DYNAMODB_APP_TABLE = "app-spec-no-such-table" }
    local before = app.count("dynamodb_operations_total", { operation = "PutItem", status = "error" })
    local invalid = app.count("dynamodb_operations_total", { operation = "PutItem", status = "invalid" })
    local errors = app.count("errors_total", { error_type = "dynamodb_error" })
    local res = t.post("/save-data", { body = { a = 1 }, request_id = "rid-502" })
    assert.equal(502, res.status)
    assert.equal("DynamoDB PutItem failed", res.body.error)
    assert.equal("rid-502", res.body.request_id)
    assert.equal("ResourceNotFoundException", res.body.type)
    assert.equal(before + 1, app.count("dynamodb_operations_total", { operation = "PutItem", status = "error" }))
    assert.equal(invalid, app.count("dynamodb_operations_total", { operation = "PutItem", status = "invalid" }))
    assert.equal(errors + 1, app.count("errors_total", { error_type = "dynamodb_error" }))
    local got = t.get("/get-data/x")
    assert.equal(502, got.status)
    assert.equal("ResourceNotFoundException", got.body.type)
    assert.is_true(app.count("aws_service_duration_seconds", { service = "dynamodb", operation = "Query" }).count > 0)
  end)

  -- the local backend answers 503 when its disk is full (tests/local/test_disk_full.sh
  -- runs it on a real full filesystem)
  it("answers 503 naming the cause when the backend is unavailable", function()
    local aws = require "tycho.aws"
    local store = require "_app.store"
    local err = aws.error { type = "ServiceUnavailableException", status = 503, service = "dynamodb",
      operation = "PutItem", message = "ServiceUnavailableException: local store: storage full, "
        .. "no space left for the data directory (database or disk is full) (HTTP 503)" }
    local status, body = store.failure({ id = "rid-full" }, err, "DynamoDB PutItem")
    assert.equal(503, status)
    assert.equal("DynamoDB PutItem failed: service unavailable", body.error)
    assert.equal("ServiceUnavailableException", body.type)
    assert.matches("storage full", body.message)
    assert.equal("rid-full", body.request_id)
  end)

  -- the app answers as the runtime does for an escaped error (err.http_status)
  it("answers 503 with a Retry-After when throttled, 504 on a timeout, 502 on a refused connection", function()
    local aws = require "tycho.aws"
    local store = require "_app.store"
    local function answer(fields)
      fields.service, fields.operation = "dynamodb", "PutItem"
      fields.message = fields.message or fields.type
      local status, body, headers = store.failure({ id = "rid" }, aws.error(fields), "DynamoDB PutItem")
      return status, body, headers or {}
    end
    local status, body, headers = answer { type = "ThrottlingException", status = 400, retryable = true,
      attempts = 3 }
    assert.equal(503, status)
    assert.equal("DynamoDB PutItem failed: service unavailable", body.error)
    assert.equal("ThrottlingException", body.type)
    assert.equal("1", headers["Retry-After"])
    assert.equal(503, (answer { type = "ProvisionedThroughputExceededException", status = 400 }))
    assert.equal(503, (answer { type = "InternalServerError", status = 500, quota_exhausted = true }))
    status, body, headers = answer { type = "TransportError", transport_error = -6, message = "timeout" }
    assert.equal(504, status)
    assert.equal("DynamoDB PutItem failed: timeout", body.error)
    assert.is_nil(headers["Retry-After"])
    assert.equal(504, (answer { type = "TransportError", transport_error = -5 })) -- connect timeout
    status, body = answer { type = "TransportError", transport_error = -4 } -- refused
    assert.equal(502, status)
    assert.equal("DynamoDB PutItem failed", body.error)
    assert.equal(502, (answer { type = "InternalServerError", status = 500 }))
    assert.equal(502, (answer { type = "ResourceNotFoundException", status = 400 }))
  end)

  -- errors_total tells the client's mistakes from the backend's faults, and
  -- dynamodb_operations_total splits DynamoDB's the same way
  it("counts a refused call as validation, a throttled, slow or failed one as the service's error", function()
    local aws = require "tycho.aws"
    local metrics = require "_app.metrics"
    local function ops(status)
      return app.count("dynamodb_operations_total", { operation = "PutItem", status = status })
    end
    local function fail(service, fields)
      fields.service, fields.operation, fields.message = service, "Op", fields.type
      local err = aws.error(fields)
      local v = app.count("errors_total", { error_type = "validation" })
      local b = app.count("errors_total", { error_type = service .. "_error" })
      local i, e = ops("invalid"), ops("error")
      local ok, got = metrics.aws(service, "PutItem", function() error(err, 0) end)
      assert.is_false(ok)
      assert.equal(err, got)
      return app.count("errors_total", { error_type = "validation" }) - v,
        app.count("errors_total", { error_type = service .. "_error" }) - b, ops("invalid") - i, ops("error") - e
    end
    -- DynamoDB's refusal, tycho's own check before any request (status 0), SQS's
    local refused = { { "dynamodb", "ValidationException", 400 }, { "dynamodb", "InvalidParameterValue", 0 },
      { "sqs", "InvalidMessageContents", 400 }, { "sqs", "InvalidParameterValueException", 400 } }
    for _, r in ipairs(refused) do
      local v, b, i, e = fail(r[1], { type = r[2], status = r[3] })
      local counted = r[1] == "dynamodb" and 1 or 0 -- only DynamoDB's operations are counted
      assert.same({ 1, 0, counted, 0 }, { v, b, i, e }, r[2])
    end
    local faults = { { type = "ThrottlingException", status = 400, retryable = true },
      { type = "InternalServerError", status = 500 }, { type = "ResourceNotFoundException", status = 400 },
      { type = "TransportError", transport_error = -6 } }
    for _, service in ipairs { "dynamodb", "sqs" } do
      for _, f in ipairs(faults) do
        local v, b, i, e = fail(service, { type = f.type, status = f.status, retryable = f.retryable,
                                           transport_error = f.transport_error })
        local counted = service == "dynamodb" and 1 or 0
        assert.same({ 0, 1, 0, counted }, { v, b, i, e }, service .. " " .. f.type)
      end
    end
  end)

  -- the status an aws.Error maps to: throttling is the C client's list (the
  -- codes it retries as throttling), one list for both
  it("maps throttling codes to 503 and a conflict to 409, as the client classifies them", function()
    local aws = require "tycho.aws"
    for _, type in ipairs { "ThrottlingException", "ProvisionedThroughputExceededException",
                            "RequestLimitExceeded", "SlowDown", "TooManyRequestsException" } do
      assert.equal(503, aws.error { type = type, service = "sqs" }.http_status, type)
    end
    assert.equal(409, aws.error { type = "ConditionalCheckFailedException" }.http_status)
    assert.equal(500, aws.error { type = "ValidationException", status = 400 }.http_status)
    assert.equal(503, aws.error { type = "ValidationException", quota_exhausted = true }.http_status)
  end)

  -- what is wrong with the server's own credentials, signature, permissions
  -- or settings names internal endpoints, account ids and role ARNs: the
  -- operator reads it in the log, the client gets the type and the request
  -- id to quote
  it("keeps a server fault's message out of the body, logging it", function()
    local aws = require "tycho.aws"
    local store = require "_app.store"
    for _, type in ipairs { "CredentialsError", "ConfigurationError", "InvalidSignatureException",
                            "AccessDeniedException", "ExpiredTokenException" } do
      local err = aws.error { type = type, service = "dynamodb", operation = "PutItem",
        message = "container credentials endpoint http://169.254.170.2/v2/creds answered 403" }
      local status, body = store.failure({ id = "rid-creds" }, err, "DynamoDB PutItem")
      assert.equal(502, status)
      assert.same({ error = "DynamoDB PutItem failed", type = type, request_id = "rid-creds" }, body)
    end
  end)
end)
