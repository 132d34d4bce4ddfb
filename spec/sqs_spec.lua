-- tycho.sqs against whatever backend the run uses: the embedded local one
-- (TYCHO_AWS_BACKEND=local, the default) or real SQS over HTTP
-- (TYCHO_AWS_BACKEND=aws; tests/awslua/test_specs_parity.sh points it at
-- local-aws-sqs). Every assertion holds for both. Queues are created per run.
local sqs = require "tycho.sqs"
local aws = require "tycho.aws"
local json = require "tycho.json"
local time = require "tycho.time"

local run = require("tycho.uuid").v4():sub(1, 8)
local n = 0
local function new_queue(attributes)
  n = n + 1
  return sqs.create_queue(("spec-%s-%d"):format(run, n), attributes)
end

-- Receives (and deletes) until want messages came or 5 polls passed: their
-- bodies, sorted. (Counts in GetQueueAttributes lag on some emulators.)
local function drain(q, want)
  local got = {}
  for _ = 1, 5 do
    for _, m in ipairs(q:receive { max = 10, wait = 1 }) do
      got[#got + 1] = m.body
      q:delete(m)
    end
    if #got >= want then break end
  end
  table.sort(got)
  return got
end

local function catch(f, ...)
  local ok, err = pcall(f, ...)
  assert.is_false(ok, "expected an error")
  return err
end

describe("tycho.sqs", function()
  it("sends and receives a message with attributes (MD5s checked both ways)", function()
    local q = new_queue()
    local id, res = q:send("hello", { attributes = { kind = "greeting", n = 42, pi = 3.25,
      raw = { type = "Binary", value = "\0\1\2" }, custom = { type = "String.custom", value = "c" } } })
    assert.is_string(id)
    assert.equal(aws.md5("hello"), res.MD5OfMessageBody)
    assert.equal(sqs.md5_of_attributes({
      kind = { DataType = "String", StringValue = "greeting" },
      n = { DataType = "Number", StringValue = "42" },
      pi = { DataType = "Number", StringValue = "3.25" },
      raw = { DataType = "Binary", BinaryValue = aws.b64encode("\0\1\2") },
      custom = { DataType = "String.custom", StringValue = "c" },
    }), res.MD5OfMessageAttributes)
    local msgs = q:receive { max = 10, wait = 1 }
    assert.equal(1, #msgs)
    local m = msgs[1]
    assert.equal(id, m.id)
    assert.equal("hello", m.body)
    assert.is_string(m.receipt_handle)
    assert.equal(1, m.receive_count)
    assert.is_number(m.sent_at)
    assert.is_true(math.abs(m.sent_at - time.now()) < 60)
    assert.same({ kind = "greeting", n = 42, pi = 3.25, raw = "\0\1\2", custom = "c" }, m.message_attributes)
    assert.same({ kind = "String", n = "Number", pi = "Number", raw = "Binary", custom = "String.custom" },
      m.message_attribute_types)
    q:delete(m)
    assert.same({}, q:receive { wait = 0 })
  end)

  it("matches the AWS MD5 vectors for message attributes", function()
    assert.equal("19e27d4e946b072f3f58da80d94fd778",
      sqs.md5_of_attributes { attribName1 = { DataType = "String", StringValue = "attribValue 1" } })
    assert.equal("31a92b15d92f8db860eda32aceb656c3", sqs.md5_of_attributes {
      binaryAttribute = { DataType = "Binary", BinaryValue = aws.b64encode("Hello binary world!") } })
  end)

  it("writes numbers in the shortest form that reads back (aws.number_string)", function()
    assert.equal("12", aws.number_string(12))
    assert.equal("-3", aws.number_string(-3))
    assert.equal("0.1", aws.number_string(0.1))
    assert.equal("1e+300", aws.number_string(1e300))
    assert.equal("9007199254740992", aws.number_string(2 ^ 53))
    assert.equal(1 / 3, tonumber(aws.number_string(1 / 3)))
  end)

  it("sends a table as JSON and decodes it with msg:json()", function()
    local q = new_queue()
    q:send { order = 7, items = { "a", "b" } }
    local m = q:receive({ wait = 1 })[1]
    assert.same({ order = 7, items = { "a", "b" } }, m:json())
    q:delete(m.receipt_handle)
  end)

  it("long-polls: an empty receive with wait returns after the wait, yielding", function()
    local q = new_queue()
    local t0 = time.monotonic()
    local msgs = q:receive { wait = 1 }
    local dt = time.monotonic() - t0
    assert.same({}, msgs)
    assert.is_true(dt >= 0.9 and dt < 5, "waited " .. dt)
  end)

  it("reports partial batch failures instead of hiding them", function()
    local q = new_queue()
    local r = q:send_batch { "one", { body = "two", id = "second" }, { body = "three", delay = 901 }, "four" }
    assert.equal(3, #r.successful)
    assert.same({ 1, 2, 4 }, { r.successful[1].index, r.successful[2].index, r.successful[3].index })
    assert.equal("second", r.successful[2].id)
    assert.is_string(r.successful[1].message_id)
    assert.equal(1, #r.failed)
    assert.equal(3, r.failed[1].index)
    assert.equal("InvalidParameterValue", r.failed[1].code)
    assert.is_true(r.failed[1].sender_fault)
    local got = {}
    for _ = 1, 5 do
      for _, m in ipairs(q:receive { max = 10, wait = 1 }) do got[#got + 1] = m.body end
      if #got >= 3 then break end
    end
    table.sort(got)
    assert.same({ "four", "one", "two" }, got)
  end)

  it("sends more than 10 entries in batches of 10", function()
    local q = new_queue()
    local entries = {}
    for i = 1, 23 do entries[i] = "m" .. i end
    local r = q:send_batch(entries)
    assert.equal(23, #r.successful)
    assert.equal(0, #r.failed)
    assert.equal(23, r.successful[23].index)
  end)

  it("splits a batch by size too: a request carries at most SQS's 1 MiB of messages", function()
    local q = new_queue()
    local entries = {}
    for i = 1, 10 do
      -- 10 x 200 KB is over the batch limit; each entry alone is fine
      entries[i] = { body = ("%02d"):format(i) .. ("x"):rep(200000), attributes = { n = i } }
    end
    entries[11] = ("y"):rep(1048000) -- one big message after them goes alone
    local r = q:send_batch(entries)
    assert.equal(0, #r.failed, r.failed[1] and r.failed[1].message)
    assert.equal(11, #r.successful)
    for i, s in ipairs(r.successful) do assert.equal(i, s.index) end
    local got = drain(q, 11)
    assert.equal(11, #got)
    assert.equal("01", got[1]:sub(1, 2))
    assert.equal(1048000, #got[11])
  end)

  it("receives ten messages near the size limit whose bodies double on the wire (JSON escapes)", function()
    local q = new_queue()
    local body = ('"'):rep(1000000) -- each '"' is sent as \" in the JSON answer
    for i = 1, 10 do q:send(body) end
    local got = {}
    for _ = 1, 5 do
      for _, m in ipairs(q:receive { max = 10, wait = 1 }) do
        got[#got + 1] = m.body == body
        q:delete(m)
      end
      if #got == 10 then break end
    end
    assert.same({ true, true, true, true, true, true, true, true, true, true }, got)
  end)

  it("reports a request that fails as a whole per entry, after the requests already sent", function()
    local q = new_queue()
    local entries = {}
    for i = 1, 10 do entries[i] = "m" .. i end
    entries[11] = { id = "x", body = "1" }
    entries[12] = { id = "x", body = "2" }
    local r = q:send_batch(entries)
    assert.equal(10, #r.successful)
    assert.equal(10, r.successful[10].index)
    assert.equal(2, #r.failed)
    for k, f in ipairs(r.failed) do
      assert.equal(10 + k, f.index)
      assert.equal("x", f.id)
      assert.equal("BatchEntryIdsNotDistinct", f.code)
      assert.is_true(f.sender_fault)
      local err = f.error
      assert.is_true(aws.is_error(err, "BatchEntryIdsNotDistinct"))
      assert.equal(400, err.status)
      assert.is_false(err.retryable)
      assert.equal("SendMessageBatch", err.operation)
      assert.matches("BatchEntryIdsNotDistinct", f.message)
    end
    assert.equal(10, #drain(q, 10))
  end)

  it("reports an entry that fails the checks in failed and sends the others", function()
    local q = new_queue()
    local entries = {}
    for i = 1, 10 do entries[i] = "m" .. i end
    entries[11] = ""
    entries[12] = { n = 0 / 0 }
    entries[13] = { body = "x", attributes = { n = 1 / 0 } }
    entries[14] = { body = "x", delya = 5 }
    entries[15] = "last"
    local r = q:send_batch(entries)
    assert.equal(11, #r.successful)
    assert.equal(15, r.successful[11].index)
    local got = {}
    for _, f in ipairs(r.failed) do
      assert.equal("InvalidParameterValue", f.code)
      assert.is_true(f.sender_fault)
      assert.equal(tostring(f.index), f.id)
      got[#got + 1] = { f.index, f.message }
    end
    assert.same({
      { 11, "the message body must be a non-empty string or a table" },
      { 12, "the message body cannot be sent as JSON: cannot encode NaN or infinity (at .n)" },
      { 13, "message attribute n: NaN and infinity cannot be sent" },
      { 14, "unknown option 'delya' (body, id, attributes, delay, group_id, dedup_id)" },
    }, got)
    local want = { "last" }
    for i = 1, 10 do want[#want + 1] = "m" .. i end
    table.sort(want)
    assert.same(want, drain(q, 11))
  end)

  it("changes visibility: a message made visible again comes back with receive_count 2", function()
    local q = new_queue()
    q:send "again"
    local m = q:receive({ wait = 1, visibility = 30 })[1]
    assert.same({}, q:receive { wait = 0 })
    q:change_visibility(m, 0)
    local m2 = q:receive({ wait = 1 })[1]
    assert.equal(m.id, m2.id)
    assert.is_true(m2.receive_count >= 2) -- approximate: local-aws-sqs may count more
    q:delete(m2)
  end)

  it("deletes in batches and reports bad handles per entry", function()
    local q = new_queue()
    q:send_batch { "a", "b" }
    local msgs = {}
    for _ = 1, 5 do
      for _, m in ipairs(q:receive { max = 10, wait = 1 }) do msgs[#msgs + 1] = m end
      if #msgs >= 2 then break end
    end
    assert.equal(2, #msgs)
    local r = q:delete_batch { msgs[1], "not-a-receipt-handle", "", msgs[2].receipt_handle }
    assert.equal(2, #r.successful)
    assert.same({ 1, 4 }, { r.successful[1].index, r.successful[2].index })
    assert.equal(2, #r.failed)
    assert.equal(2, r.failed[1].index)
    assert.equal("ReceiptHandleIsInvalid", r.failed[1].code)
    assert.equal(3, r.failed[2].index)
    assert.equal("InvalidParameterValue", r.failed[2].code)
    assert.equal("expected a receipt handle or a received message", r.failed[2].message)
    local err = catch(q.delete, q, "not-a-receipt-handle")
    assert.is_true(aws.is_error(err, "ReceiptHandleIsInvalid"))
  end)

  it("reads queue attributes as numbers", function()
    local q = new_queue { VisibilityTimeout = 45 }
    q:send "x"
    q:send "y"
    local a
    for _ = 1, 40 do -- the count is approximate: it may lag the sends a little
      a = q:attributes { "ApproximateNumberOfMessages", "VisibilityTimeout" }
      if a.ApproximateNumberOfMessages == 2 then break end
      time.sleep(0.05)
    end
    assert.equal(2, a.ApproximateNumberOfMessages)
    assert.equal(45, a.VisibilityTimeout)
  end)

  it("redrives to the dead-letter queue after maxReceiveCount receives", function()
    local dlq = new_queue()
    local arn = dlq:attributes({ "QueueArn" }).QueueArn
    local q = new_queue { RedrivePolicy = json.encode { deadLetterTargetArn = arn, maxReceiveCount = "2" } }
    local id = q:send "poison"
    for i = 1, 2 do
      local m = q:receive({ wait = 1, visibility = 0 })[1]
      assert.equal(id, m.id)
      assert.equal(i, m.receive_count)
    end
    assert.same({}, q:receive { wait = 0 })
    local dead = dlq:receive({ wait = 1 })[1]
    assert.equal(id, dead.id)
    assert.equal("poison", dead.body)
  end)

  it("resolves a queue given by name", function()
    local q = new_queue()
    local byname = sqs.queue(q.name)
    assert.equal(q:url(), byname:url())
    byname:send "by name"
    assert.equal("by name", q:receive({ wait = 1 })[1].body)
  end)

  it("rejects bad arguments before calling AWS", function()
    local q = new_queue()
    assert.is_true(aws.is_error(catch(q.send, q, ""), "InvalidParameterValue"))
    assert.is_true(aws.is_error(catch(q.receive, q, { max = 11 }), "InvalidParameterValue"))
    assert.is_true(aws.is_error(catch(q.receive, q, { wait = 21 }), "InvalidParameterValue"))
    local err = catch(q.send, q, { n = 0 / 0 })
    assert.is_true(aws.is_error(err, "InvalidParameterValue"))
    assert.equal("SendMessage", err.operation)
    assert.equal("the message body cannot be sent as JSON: cannot encode NaN or infinity (at .n)", err.message)
    err = catch(q.send, q, "x", { attributes = { n = 1 / 0 } })
    assert.equal("message attribute n: NaN and infinity cannot be sent", err.message)
    err = catch(q.send, q, "x", { attributes = { n = { type = "Number.big", value = -1 / 0 } } })
    assert.equal("message attribute n: NaN and infinity cannot be sent", err.message)
    local deep = {}
    for _ = 1, 200 do deep = { deep } end
    assert.matches("nested deeper than 128 levels", catch(q.send, q, deep).message)
    assert.is_true(aws.is_error(catch(q.send_batch, q, "not a list"), "InvalidParameterValue"))
    err = catch(q.send, q, "x", { delya = 5 })
    assert.equal("unknown option 'delya' (attributes, delay, group_id, dedup_id, timeout, max_attempts)",
      err.message)
    assert.equal("SendMessage", err.operation)
    err = catch(q.receive, q, { maxx = 2 })
    assert.equal("unknown option 'maxx' (max, wait, visibility, attributes, timeout, max_attempts)",
      err.message)
    -- a timeout that would cut every empty long poll
    err = catch(q.receive, q, { wait = 20, timeout = 5 })
    assert.is_true(aws.is_error(err, "InvalidParameterValue"))
    assert.equal("ReceiveMessage", err.operation)
    assert.equal("timeout (5 s) must be longer than wait (20 s): the long poll holds the request "
      .. "for wait seconds", err.message)
    assert.equal("timeout (3 s) must be longer than wait (3 s): the long poll holds the request "
      .. "for wait seconds", catch(q.receive, q, { wait = 3, timeout = 3 }).message)
    assert.same({}, q:receive { wait = 1, timeout = 1.5 })
    err = catch(q.receive, q, { wait = 1, timeout = 0 }) -- not aws.call's default: refused
    assert.equal("tycho.aws.call: opts.timeout must be seconds over 0 and up to 3600, got 0", err.message)
    err = catch(q.attributes, q, nil, { timout = 2 })
    assert.equal("unknown option 'timout' (timeout, max_attempts)", err.message)
    assert.equal("GetQueueAttributes", err.operation)
    assert.has_error(function() sqs.queue(nil) end)
  end)

  it("takes aws.call's timeout and max_attempts in every call", function()
    local opts = { timeout = 5, max_attempts = 1 }
    local q = sqs.create_queue(("spec-%s-opts"):format(run), nil, opts)
    local byname = sqs.queue(q.name)
    assert.is_string(byname:send("one", { delay = 0, timeout = 5, max_attempts = 1 }))
    local r = byname:send_batch({ "two", "three" }, opts)
    assert.equal(2, #r.successful)
    local got = {}
    for _ = 1, 5 do
      for _, m in ipairs(q:receive { max = 10, wait = 1, timeout = 5, max_attempts = 1 }) do
        got[#got + 1] = m
      end
      if #got >= 3 then break end
    end
    assert.equal(3, #got)
    q:change_visibility(got[1], 30, opts)
    q:delete(got[1], opts)
    assert.equal(2, #q:delete_batch({ got[2], got[3] }, opts).successful)
    assert.is_table(q:attributes({ "QueueArn" }, opts))
  end)

  it("refuses a bad timeout or max_attempts in any call as aws.call does, before any request", function()
    local q = sqs.queue("spec-never-created-" .. run) -- a request would fail: QueueDoesNotExist
    local calls = {
      SendMessage = function(o) return q:send("x", o) end,
      SendMessageBatch = function(o) return q:send_batch({ "x" }, o) end,
      ReceiveMessage = function(o) return q:receive(o) end,
      DeleteMessage = function(o) return q:delete("handle", o) end,
      DeleteMessageBatch = function(o) return q:delete_batch({ "handle" }, o) end,
      ChangeMessageVisibility = function(o) return q:change_visibility("handle", 0, o) end,
      GetQueueAttributes = function(o) return q:attributes(nil, o) end,
      CreateQueue = function(o) return sqs.create_queue(q.name, nil, o) end,
    }
    local bad = {
      { { timeout = -1 }, "tycho.aws.call: opts.timeout must be seconds over 0 and up to 3600, got -1" },
      { { timeout = 0 }, "tycho.aws.call: opts.timeout must be seconds over 0 and up to 3600, got 0" },
      { { timeout = "2" }, 'tycho.aws.call: opts.timeout must be seconds over 0 and up to 3600, got "2"' },
      { { max_attempts = 0 }, "tycho.aws.call: opts.max_attempts must be an integer from 1 to 50, got 0" },
      { { max_attempts = 1.5 }, "tycho.aws.call: opts.max_attempts must be an integer from 1 to 50, got 1.5" },
    }
    for op, f in pairs(calls) do
      for _, b in ipairs(bad) do
        local err = catch(f, b[1])
        assert.is_true(aws.is_error(err, "InvalidParameterValue"), op .. ": " .. tostring(err))
        assert.equal(b[2], err.message)
        assert.equal(op, err.operation)
      end
    end
    local err = catch(q.delete, q, "handle", { timout = 1 })
    assert.equal("unknown option 'timout' (timeout, max_attempts)", err.message)
    err = catch(q.send_batch, q, { "x" }, { delay = 1 })
    assert.equal("unknown option 'delay' (timeout, max_attempts)", err.message)
  end)

  it("carries the service's own error types", function()
    local q = new_queue()
    local err = catch(aws.call, "sqs", "AmazonSQS.ReceiveMessage", { QueueUrl = q:url(), MaxNumberOfMessages = 11 })
    assert.is_true(aws.is_error(err))
    assert.equal(400, err.status)
    assert.is_false(err.retryable)
    assert.equal(500, err.http_status)
    assert.equal("sqs", err.service)
    assert.equal("ReceiveMessage", err.operation)
  end)
end)
