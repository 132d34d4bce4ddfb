-- routes/workflow.lua: GET|POST /workflow and the queue's consumer
local t = require "tycho.test"
local ddb = require "tycho.dynamodb"
local json = require "tycho.json"
local time = require "tycho.time"
local aws = require "tycho.aws"
local HERE = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "spec"
local app = dofile(HERE .. "/fixtures/app/helper.lua")

-- The workflow message referencing data_id, received (and deleted) from the run's queue.
local function message_for(data_id)
  for _, m in ipairs(app.drain()) do
    local ok, body = pcall(m.json, m)
    if ok and type(body) == "table" and body.data_id == data_id then return m end
  end
end

describe("/workflow", function()
  setup(app.setup)
  teardown(app.teardown)
  before_each(function()
    app.reset()
    app.drain(0)
    t.spans()
  end)

  it("saves a pending item and sends a message referencing it, in one trace", function()
    local before = app.count("user_actions_total", { action = "workflow" })
    local sent = app.count("sqs_messages_sent_total", { message_type = "workflow" })
    local res = t.get("/workflow")
    assert.equal(200, res.status)
    assert.equal("Workflow completed: data saved, message sent", res.body.message)
    assert.same({ "save_data", "send_message" }, res.body.steps_completed)
    assert.is_number(res.body.workflow_time)
    assert.is_string(res.body.timestamp)
    assert.equal(before + 1, app.count("user_actions_total", { action = "workflow" }))
    assert.equal(sent + 1, app.count("sqs_messages_sent_total", { message_type = "workflow" }))

    local s = app.spans()
    local server = s["GET /workflow"]
    assert.equal(server.span_id, s["workflow.save_data"].parent_span_id)
    assert.equal(server.span_id, s["workflow.send_message"].parent_span_id)
    assert.equal(s["workflow.save_data"].span_id, s["DynamoDB.PutItem"].parent_span_id)
    assert.equal(s["workflow.send_message"].span_id, s["SQS.SendMessage"].parent_span_id)
    assert.equal(res.body.data_id, s["workflow.send_message"].attributes["app.data_id"])
    for _, sp in pairs(s) do assert.equal(server.trace_id, sp.trace_id) end

    local item = t.get("/get-data/" .. res.body.data_id).body.data
    assert.equal("pending", item.status)
    local m = message_for(res.body.data_id)
    assert.is_table(m, "the workflow message is on the queue")
    assert.equal("workflow", m.message_attributes.MessageType)
    assert.equal(item.timestamp, m:json().data_timestamp)
    assert.matches(";Parent=" .. s["SQS.SendMessage"].span_id, m.trace_header, 1, true)
  end)

  it("GET saves generated data and reads no body, as /openapi.json describes it", function()
    local res = t.get("/workflow", { body = '{"user_id": "zed", "order": 1}' })
    assert.equal(200, res.status)
    local item = t.get("/get-data/" .. res.body.data_id).body.data
    assert.equal("sample", item.data.action)
    assert.matches("^user_%d+$", item.user_id)
    assert.equal(200, t.get("/workflow", { body = "{" }).status)
    assert.equal(200, t.get("/workflow", { body = ("x"):rep(70000) }).status)
  end)

  it("HEAD saves and sends nothing", function()
    local before = app.count("user_actions_total", { action = "workflow" })
    local sent = app.count("sqs_messages_sent_total", { message_type = "workflow" })
    local res = t.request("HEAD", "/workflow")
    assert.equal(200, res.status)
    assert.equal("", res.raw)
    assert.equal(before, app.count("user_actions_total", { action = "workflow" }))
    assert.equal(sent, app.count("sqs_messages_sent_total", { message_type = "workflow" }))
    assert.same({}, app.drain(0))
  end)

  it("POST stores the body as the item's data; bad JSON is a 400 and does nothing", function()
    local res = t.post("/workflow", { body = { user_id = "bob", order = 12 } })
    assert.equal(200, res.status)
    local item = t.get("/get-data/" .. res.body.data_id).body.data
    assert.equal("bob", item.user_id)
    assert.equal(12, item.data.order)
    local bad = t.post("/workflow", { body = "{" })
    assert.equal(400, bad.status)
    assert.equal(1, #app.drain())
  end)

  it("POST answers 400 to a number too large or data nested too deep, saying where, doing nothing", function()
    local before = app.count("dynamodb_operations_total", { operation = "PutItem", status = "success" })
    local res = t.post("/workflow", { body = '{"n": 1e400}' })
    assert.equal(400, res.status)
    assert.equal("invalid JSON body: number out of range at line 1, column 7 (byte 7) near '1e400}'", res.body.error)
    res = t.post("/workflow", { body = ('{"a":'):rep(17) .. "1" .. ("}"):rep(17) })
    assert.equal(400, res.status)
    assert.equal(("a"):rep(16, ".") .. ": nested deeper than 16 levels", res.body.error)
    assert.equal(before, app.count("dynamodb_operations_total", { operation = "PutItem", status = "success" }))
    assert.same({}, app.drain(0))
  end)

  it("the consumer marks the item processed; get-data shows it", function()
    local res = t.get("/workflow")
    local m = message_for(res.body.data_id)
    local consume = app.consumer()
    local received = app.count("sqs_messages_received_total", { message_type = "workflow" })
    local updates = app.count("dynamodb_operations_total", { operation = "UpdateItem", status = "success" })
    consume(m)
    assert.equal(received + 1, app.count("sqs_messages_received_total", { message_type = "workflow" }))
    assert.equal(updates + 1, app.count("dynamodb_operations_total", { operation = "UpdateItem", status = "success" }))
    local item = t.get("/get-data/" .. res.body.data_id).body.data
    assert.equal("processed", item.status)
    assert.is_string(item.processed_at)
    assert.equal(1, #app.logs("workflow processed"))

    -- delivered again: the conditional update fails, which is not an error
    local errors = app.count("errors_total", { error_type = "dynamodb_error" })
    local skipped = app.count("dynamodb_operations_total", { operation = "UpdateItem", status = "condition_failed" })
    consume(m)
    assert.equal(skipped + 1, app.count("dynamodb_operations_total", { operation = "UpdateItem", status = "condition_failed" }))
    assert.equal(errors, app.count("errors_total", { error_type = "dynamodb_error" }))
    assert.equal(item.processed_at, t.get("/get-data/" .. res.body.data_id).body.data.processed_at)
  end)

  -- a handler returning false fails its message, which SQS delivers again
  -- and, after maxReceiveCount deliveries, moves to the dead-letter queue
  it("the consumer logs other messages and fails workflow messages without a key, for the DLQ", function()
    local consume = app.consumer()
    local sent = t.post("/send-message").body.sqs_message_id
    app.queue:send({ nothing = true }, { attributes = { MessageType = "workflow" } })
    local invalid = app.count("errors_total", { error_type = "invalid_message" })
    local msgs = app.drain()
    assert.equal(2, #msgs)
    for _, m in ipairs(msgs) do
      local ok, result = pcall(consume, m)
      assert.is_true(ok, tostring(result)) -- raises nothing: a warning, not a traceback
      if m.id == sent then
        assert.is_not_false(result) -- handled: deleted
      else
        assert.is_false(result) -- failed: kept, then dead-lettered
      end
    end
    assert.equal(1, #app.logs("message consumed"))
    assert.equal(1, #app.logs("workflow message without data_id and data_timestamp: left for the dead-letter queue"))
    assert.equal(invalid + 1, app.count("errors_total", { error_type = "invalid_message" }))
  end)

  it("declares the consumer of the queue unless SQS_CONSUMER=off", function()
    local c = app.load("workflow.lua").consumers[1]
    assert.equal(app.queue:url(), c.queue)
    assert.equal(20, c.wait)
    app.configure { SQS_CONSUMER_WAIT = "1" }
    assert.equal(1, app.load("workflow.lua").consumers[1].wait)
    app.configure { SQS_CONSUMER = "off" }
    assert.is_nil(app.load("workflow.lua").consumers)
  end)

  it("refuses an SQS_CONSUMER_WAIT past SQS's 0-20 s or with a fraction at load", function()
    assert.error_matches(function() app.configure { SQS_CONSUMER_WAIT = "21" } end,
      "environment variable SQS_CONSUMER_WAIT: 21 is out of range (0 to 20 seconds)", 1, true)
    assert.error_matches(function() app.configure { SQS_CONSUMER_WAIT = "1.5" } end,
      "environment variable SQS_CONSUMER_WAIT: 1.5 is not a whole number", 1, true)
    app.reset()
  end)

  it("the consumer raises when the table fails, so the message is retried", function()
    local res = t.get("/workflow")
    local m = message_for(res.body.data_id)
    app.configure { DYNAMODB_APP_TABLE = "app-spec-no-such-table" }
    local consume = app.consumer()
    local ok, err = pcall(consume, m)
    assert.is_false(ok)
    assert.is_true(aws.is_error(err, "ResourceNotFoundException"))
  end)

  it("answers 502 naming the completed steps when the message cannot be sent", function()
    app.configure { SQS_MESSAGE_QUEUE_URL = "app-spec-no-such-queue!" }
    local res = t.get("/workflow", { request_id = "rid-wf" })
    assert.equal(502, res.status)
    assert.equal("QueueDoesNotExist", res.body.type)
    assert.equal("rid-wf", res.body.request_id)
    assert.same({ "save_data" }, res.body.steps_completed)
    local s = app.spans()
    assert.equal("ERROR", s["workflow.send_message"].status)
    assert.equal("pending", ddb.table(app.TABLE):query({ key = { id = res.body.data_id } }).items[1].status)
  end)

  it("answers 400 when DynamoDB refuses the data, sending nothing", function()
    local res = t.post("/workflow", { body = '{"n": 1e127}' })
    assert.equal(400, res.status)
    assert.equal("ValidationException", res.body.type)
    assert.same({}, app.drain(0))
  end)

  it("answers 502 when the table does not exist, sending nothing", function()
    app.configure { DYNAMODB_APP_TABLE = "app-spec-no-such-table" }
    local res = t.get("/workflow")
    assert.equal(502, res.status)
    assert.equal("ResourceNotFoundException", res.body.type)
    assert.same({}, app.drain(0))
  end)
end)

-- The same under `tycho serve`, where the consumer runs by itself.
describe("/workflow under tycho serve", function()
  setup(app.setup)
  teardown(app.teardown)

  local function curl(url)
    local p = assert(io.popen(("curl -s --max-time 10 %q"):format(url)))
    local out = p:read "*a"
    p:close()
    local ok, v = pcall(json.decode, out)
    return ok and v or out
  end

  local function spans_in(file)
    local out = {}
    local f = io.open(file)
    for line in f:lines() do
      local ok, rec = pcall(json.decode, line)
      if ok and type(rec) == "table" and rec.kind then out[#out + 1] = rec end
    end
    f:close()
    return out
  end

  it("goes end to end: pending, consumed, processed, and the consumer span continues the trace", function()
    local dir = os.tmpname()
    os.remove(dir)
    -- a 1 s long poll: local-aws-sqs holds one for 10 messages until its wait
    -- is over, even when fewer are there (SQS answers as soon as there is
    -- one), so the default 20 s would make the message wait up to 20 s
    local env = { TYCHO_TRACES_STDOUT = "1", TYCHO_ACCESS_LOG = "off", SQS_CONSUMER_WAIT = "1" }
    if aws.backend() == "local" then -- a store of its own, with the default queue and table
      env.SQS_MESSAGE_QUEUE_URL, env.SQS_DEAD_LETTER_QUEUE_URL = "tycho-messages", "tycho-messages-dlq"
      env.DYNAMODB_APP_TABLE = "tycho-app-data"
    end
    local srv = t.serve { routes = app.ROUTES, env = env, args = { "--data-dir", dir } }
    local ok, err = pcall(function()
      local res = curl(srv.url "/workflow")
      assert.is_string(res.data_id, tostring(res))
      local item
      local deadline = time.monotonic() + 30
      repeat
        time.sleep(0.1)
        item = curl(srv.url("/get-data/" .. res.data_id)).data
      until (item and item.status == "processed") or time.monotonic() > deadline
      assert.equal("processed", item.status)

      local producer, consumer
      deadline = time.monotonic() + 5
      repeat
        time.sleep(0.1)
        for _, s in ipairs(spans_in(srv.log)) do
          if s.name == "SQS.SendMessage" and s.kind == "PRODUCER" then producer = s end
          if s.kind == "CONSUMER" then consumer = s end
        end
      until consumer or time.monotonic() > deadline
      assert.is_table(producer)
      assert.is_table(consumer, "a CONSUMER span")
      assert.equal(producer.trace_id, consumer.trace_id)
      assert.equal(producer.span_id, consumer.parent_span_id)
    end)
    local log = ""
    if not ok then -- the server's last lines say why
      local f = io.open(srv.log)
      log = f and f:read("*a"):sub(-3000) or ""
      if f then f:close() end
    end
    srv:stop()
    os.execute(("rm -rf %q"):format(dir))
    assert(ok, tostring(err) .. "\n--- tycho serve's output:\n" .. log)
  end)
end)
