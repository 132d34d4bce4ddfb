-- routes/messages.lua: POST /send-message, GET /receive-messages
local aws = require "tycho.aws"
local sqs = require "tycho.sqs"
local t = require "tycho.test"
local uuid = require "tycho.uuid"
local HERE = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "spec"
local app = dofile(HERE .. "/fixtures/app/helper.lua")

describe("POST /send-message", function()
  setup(app.setup)
  teardown(app.teardown)
  before_each(function()
    app.reset()
    app.drain(0)
    t.spans()
  end)

  it("without a body, sends a generated test message with its attributes and the trace", function()
    local before = app.count("sqs_messages_sent_total", { message_type = "test" })
    local res = t.post("/send-message", { peer_ip = "192.0.2.1" })
    assert.equal(202, res.status)
    assert.equal("Message sent", res.body.message)
    assert.is_string(res.body.message_id)
    assert.is_string(res.body.sqs_message_id)
    assert.is_string(res.body.timestamp)
    assert.equal(before + 1, app.count("sqs_messages_sent_total", { message_type = "test" }))

    local producer = app.spans()["SQS.SendMessage"]
    assert.equal("PRODUCER", producer.kind)
    local a = producer.attributes
    assert.equal("aws_sqs", a["messaging.system"])
    assert.equal("SendMessage", a["messaging.operation.name"])
    assert.equal("send", a["messaging.operation.type"])
    assert.equal(res.body.sqs_message_id, a["messaging.message.id"])
    assert.equal(app.queue:url(), a["aws.sqs.queue.url"])
    assert.equal(app.queue.name, a["messaging.destination.name"])
    local m = app.drain()[1]
    assert.equal(res.body.sqs_message_id, m.id)
    local body = m:json()
    assert.equal(res.body.message_id, body.id)
    assert.equal("tycho-sample-app", body.source)
    assert.equal("Test message from tycho", body.content)
    assert.equal("192.0.2.1", body.client_ip)
    assert.equal(res.body.timestamp, body.timestamp)
    assert.same({ MessageType = "test", Source = "tycho-sample-app" }, m.message_attributes)
    assert.matches("^Root=1%-" .. producer.trace_id:sub(1, 8) .. "%-" .. producer.trace_id:sub(9)
      .. ";Parent=" .. producer.span_id, m.trace_header)
  end)

  it("sends the body's content and attributes as a custom message", function()
    local before = app.count("sqs_messages_sent_total", { message_type = "custom" })
    local res = t.post("/send-message", { body = { content = { order = 7 }, attributes = { tenant = "a", n = 3 } } })
    assert.equal(202, res.status)
    assert.equal(before + 1, app.count("sqs_messages_sent_total", { message_type = "custom" }))
    local m = app.drain()[1]
    assert.same({ order = 7 }, m:json().content)
    assert.same({ MessageType = "custom", Source = "tycho-sample-app", tenant = "a", n = 3 },
      m.message_attributes)
  end)

  it("answers 400 to a body that is not JSON or not an object, and sends nothing", function()
    local before = app.count("errors_total", { error_type = "validation" })
    local res = t.post("/send-message", { body = "{nope", headers = { ["Content-Type"] = "application/json" } })
    assert.equal(400, res.status)
    assert.matches("invalid JSON", res.body.error)
    assert.equal(400, t.post("/send-message", { body = "[1, 2]" }).status)
    assert.equal(400, t.post("/send-message", { body = { attributes = { MessageType = "x" } } }).status)
    assert.equal(400, t.post("/send-message", { body = { attributes = { ["bad name"] = "x" } } }).status)
    assert.equal(400, t.post("/send-message", { body = { attributes = { a = true } } }).status)
    assert.equal(400, t.post("/send-message", { body = { attributes = "x" } }).status)
    -- too many: said without naming one of the (valid) attributes
    local nine = {}
    for i = 1, 9 do nine[string.char(96 + i)] = "v" end
    res = t.post("/send-message", { body = { attributes = nine } })
    assert.equal(400, res.status)
    assert.equal("at most 8 attributes, got 9", res.body.error)
    local rule = ": named with 1 to 64 letters, digits, _ and - (not MessageType, Source, AWS*, Amazon*), "
      .. "with a non-empty string or a number"
    assert.equal('attribute "bad name"' .. rule,
      t.post("/send-message", { body = { attributes = { ["bad name"] = "x" } } }).body.error)
    -- a name of valid characters, one too long: the message gives the limit
    local long = ("a"):rep(65)
    res = t.post("/send-message", { body = { attributes = { [long] = "x" } } })
    assert.equal(400, res.status)
    assert.equal('attribute "' .. long .. '"' .. rule, res.body.error)
    assert.equal(before + 9, app.count("errors_total", { error_type = "validation" }))
    assert.same({}, app.drain(0))
    assert.equal(202, t.post("/send-message", { body = { attributes = { [("a"):rep(64)] = "x" } } }).status)
    assert.equal(1, #app.drain(0))
  end)

  it("answers 400 naming the field to what cannot be sent as JSON, and sends nothing", function()
    local before = app.count("errors_total", { error_type = "validation" })
    local deep = ("["):rep(20) .. ("]"):rep(20)
    local out_of_range = "invalid JSON body: number out of range at line 1, column %d (byte %d) near '%s'"
    for body, message in pairs {
      ['{"content": 1e400}'] = out_of_range:format(13, 13, "1e400}"),
      ['{"content": {"a": [-1e400]}}'] = out_of_range:format(20, 20, "-1e400]}}"),
      ['{"attributes": {"n": 1e400}}'] = out_of_range:format(22, 22, "1e400}}"),
      ['{"content": ' .. deep .. '}'] = "content" .. ("[0]"):rep(15) .. ": nested deeper than 16 levels",
    } do
      local res = t.post("/send-message", { body = body, request_id = "rid-bad" })
      assert.equal(400, res.status, body)
      assert.same({ error = message, request_id = "rid-bad" }, res.body)
    end
    assert.equal(before + 4, app.count("errors_total", { error_type = "validation" }))
    assert.same({}, app.drain(0))
  end)

  -- SQS refuses U+FFFE and the like in a body; so does the local backend,
  -- not every peer the HTTP run of these specs uses: store.failure alone
  it("answers 400 when SQS refuses the message's characters", function()
    local aws = require "tycho.aws"
    local store = require "_app.store"
    local err = aws.error { type = "InvalidMessageContents", status = 400, service = "sqs",
      operation = "SendMessage", message = "InvalidMessageContents: Invalid binary character '#xFFFE' "
        .. "was found in the message body (HTTP 400)" }
    local status, body = store.failure({ id = "rid-fffe" }, err, "SQS SendMessage")
    assert.equal(400, status)
    assert.equal("SQS SendMessage: the data was refused", body.error)
    assert.equal("InvalidMessageContents", body.type)
  end)

  -- SQS's JSON protocol names this InvalidParameterValueException (the
  -- local backend and the peer alike): a client's data, not a backend failure
  -- counted as the client's mistake (validation), not as an SQS fault
  it("answers 400 when the message is longer than the queue takes, and sends nothing", function()
    local small = sqs.create_queue("app-spec-small-" .. uuid():sub(1, 8), { MaximumMessageSize = "1024" })
    app.configure { SQS_MESSAGE_QUEUE_URL = small:url() }
    local validation = app.count("errors_total", { error_type = "validation" })
    local sqs_errors = app.count("errors_total", { error_type = "sqs_error" })
    local res = t.post("/send-message", { body = { content = ("x"):rep(2000) }, request_id = "rid-long" })
    assert.equal(400, res.status)
    assert.equal(validation + 1, app.count("errors_total", { error_type = "validation" }))
    assert.equal(sqs_errors, app.count("errors_total", { error_type = "sqs_error" }))
    assert.equal("SQS SendMessage: the data was refused", res.body.error)
    assert.equal("InvalidParameterValueException", res.body.type)
    assert.matches("shorter than 1024 bytes", res.body.message, 1, true)
    assert.equal("rid-long", res.body.request_id)
    assert.equal(202, t.post("/send-message", { body = { content = "short" } }).status)
    assert.equal(1, #small:receive { max = 10, wait = 0 })
  end)

  it("answers 413 past MAX_PAYLOAD_BYTES", function()
    app.configure { MAX_PAYLOAD_BYTES = 100 }
    local res = t.post("/send-message", { body = { content = ("x"):rep(200) } })
    assert.equal(413, res.status)
    assert.equal(202, t.post("/send-message", { body = { content = "short" } }).status)
  end)

  it("answers 502 with the AWS error type when the queue does not exist", function()
    app.configure { SQS_MESSAGE_QUEUE_URL = "app-spec-no-such-queue!" }
    local before = app.count("errors_total", { error_type = "sqs_error" })
    local res = t.post("/send-message", { request_id = "rid-502" })
    assert.equal(502, res.status)
    assert.equal("SQS SendMessage failed", res.body.error)
    assert.equal("rid-502", res.body.request_id)
    assert.equal("QueueDoesNotExist", res.body.type)
    -- which queue (SQS's own message does not say), by name, not by its URL
    assert.is_truthy(res.body.message:find("(queue app-spec-no-such-queue!)", 1, true), res.body.message)
    assert.equal(before + 1, app.count("errors_total", { error_type = "sqs_error" }))
  end)
end)

describe("GET /receive-messages", function()
  setup(app.setup)
  teardown(app.teardown)
  before_each(function()
    app.reset()
    app.drain(0)
  end)

  it("receives what was sent, decodes JSON bodies, deletes what it returns", function()
    local sent = t.post("/send-message", { body = { content = "hello" } }).body
    app.queue:send("plain text, not JSON", { attributes = { MessageType = "other" } })
    local before = app.count("sqs_messages_received_total", { message_type = "custom" })
    t.spans()
    local res = t.get("/receive-messages?wait=1")
    assert.equal(200, res.status)
    local spans = app.spans()
    for op, typ in pairs { ReceiveMessage = "receive", DeleteMessageBatch = "settle" } do
      local a = spans["SQS." .. op].attributes
      assert.equal(op, a["messaging.operation.name"], op)
      assert.equal(typ, a["messaging.operation.type"], op)
      assert.equal(app.queue:url(), a["aws.sqs.queue.url"], op)
    end
    assert.is_string(res.body.timestamp)
    assert.equal("Received 2 message(s)", res.body.message)
    local by_id = {}
    for _, m in ipairs(res.body.messages) do by_id[m.message_id] = m end
    local custom = by_id[sent.sqs_message_id]
    assert.equal("hello", custom.body.content)
    assert.equal(sent.message_id, custom.body.id)
    assert.equal("custom", custom.attributes.MessageType)
    assert.equal(1, custom.receive_count)
    assert.is_string(custom.sent_at)
    local plain
    for id, m in pairs(by_id) do if id ~= sent.sqs_message_id then plain = m end end
    assert.equal("plain text, not JSON", plain.body)
    assert.equal(before + 1, app.count("sqs_messages_received_total", { message_type = "custom" }))
    -- deleted: nothing comes back, even after the visibility timeout
    assert.same({}, app.queue:receive { wait = 0, visibility = 0 })
    local empty = t.get("/receive-messages?wait=0")
    assert.equal(200, empty.status)
    assert.same({}, empty.body.messages)
    assert.equal("[]", empty.raw:match('"messages":(%[%])'))
  end)

  it("HEAD receives nothing: the messages stay for a GET", function()
    local sent = t.post("/send-message").body
    local before = app.count("user_actions_total", { action = "receive_messages" })
    local res = t.request("HEAD", "/receive-messages?wait=0")
    assert.equal(200, res.status)
    assert.equal("", res.raw)
    assert.matches("^application/json", res.headers["content-type"])
    assert.equal(before, app.count("user_actions_total", { action = "receive_messages" }))
    local got = t.get("/receive-messages?wait=1").body.messages
    assert.equal(1, #got)
    assert.equal(sent.sqs_message_id, got[1].message_id)
  end)

  it("shows Binary attributes losslessly, as base64 with their DataType", function()
    local bytes = "\0\1\2\255"
    local id = app.queue:send("x", { attributes = { bin = { type = "Binary", value = bytes },
      tagged = { type = "Binary.png", value = "\137PNG" }, text = "AAEC/w==", n = 7 } })
    local res = t.get("/receive-messages?wait=1")
    assert.equal(200, res.status)
    local m = res.body.messages[1]
    assert.equal(id, m.message_id)
    assert.same({ DataType = "Binary", BinaryValue = "AAEC/w==" }, m.attributes.bin)
    assert.equal(bytes, aws.b64decode(m.attributes.bin.BinaryValue))
    assert.same({ DataType = "Binary.png", BinaryValue = aws.b64encode("\137PNG") }, m.attributes.tagged)
    assert.equal("AAEC/w==", m.attributes.text) -- a String stays a string, even base64-like
    assert.equal(7, m.attributes.n)
    assert.is_true(m.deleted)
  end)

  -- The handler loaded in the spec's own state (app.load), with the real
  -- queue's delete_batch given one receipt handle SQS refuses.
  it("marks a message SQS did not delete, which comes back later", function()
    app.queue:send("kept")
    app.queue:send("gone")
    local receive
    for _, r in ipairs(app.load("messages.lua")) do
      if r[1] == "GET" and r[2] == "/receive-messages" then receive = r[3] end
    end
    local store = require "_app.store"
    local real = store.queue.delete_batch
    local kept_id
    store.queue.delete_batch = function(q, list)
      local handles = {}
      for i, m in ipairs(list) do handles[i] = m.receipt_handle end
      kept_id = list[1].id
      handles[1] = "not-a-receipt-handle"
      return real(q, handles)
    end
    t.capture_logs()
    local body = receive { id = "rid-kept", query = { wait = "1", max = "2" } }
    assert.equal(2, #body.messages)
    for _, m in ipairs(body.messages) do
      assert.equal(m.message_id ~= kept_id, m.deleted, m.message_id)
    end
    assert.equal("Received 2 message(s); 1 not deleted (delivered again after the visibility timeout)",
      body.message)
    local warned = app.logs("message not deleted (it will be delivered again)")
    assert.equal(1, #warned)
    assert.equal(kept_id, warned[1].message_id)
    assert.equal(1, app.logs("messages received")[1].not_deleted)
  end)

  it("takes at most ?max messages", function()
    for i = 1, 3 do app.queue:send("m" .. i) end
    local res = t.get("/receive-messages?max=2&wait=1")
    assert.is_true(#res.body.messages >= 1 and #res.body.messages <= 2)
    local rest = #app.drain()
    assert.equal(3, #res.body.messages + rest)
  end)

  it("long-polls ?wait seconds without blocking other requests", function()
    local time = require "tycho.time"
    local t0 = time.monotonic()
    local p = t.start("GET", "/receive-messages?wait=1")
    assert.equal(200, t.get("/health").status)
    assert.is_true(time.monotonic() - t0 < 0.5)
    local res = p:wait()
    assert.equal(200, res.status)
    assert.is_true(time.monotonic() - t0 >= 0.9)
  end)

  it("answers 400 to max or wait out of range", function()
    for _, q in ipairs { "max=0", "max=11", "max=x", "wait=21", "wait=-1", "max=1&max=2", "wait=1.5" } do
      local res = t.get("/receive-messages?" .. q)
      assert.equal(400, res.status, q)
      assert.is_string(res.body.error)
    end
  end)

  it("answers 502 with the AWS error type when the queue does not exist", function()
    app.configure { SQS_MESSAGE_QUEUE_URL = "app-spec-no-such-queue!" }
    local res = t.get("/receive-messages?wait=0")
    assert.equal(502, res.status)
    assert.equal("QueueDoesNotExist", res.body.type)
  end)
end)
