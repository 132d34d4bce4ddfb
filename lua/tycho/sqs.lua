-- tycho.sqs — Amazon SQS queues (docs/routes.md, "SQS"), on tycho.aws.call.
--
--   local sqs = require "tycho.sqs"
--   local q = sqs.queue(os.getenv "SQS_QUEUE_URL")   -- a URL, or a queue name
--   local id = q:send({ order = 42 }, { attributes = { kind = "order" }, delay = 5 })
--   for _, m in ipairs(q:receive { max = 10, wait = 20 }) do
--     handle(m:json()); q:delete(m)
--   end
--
-- Every call yields (long polls too) and raises an aws.Error on failure
-- (tycho.aws), an unknown option included; batches report each entry's
-- failure in their result instead (run_batches). Every call takes the
-- aws.CALL_OPTIONS (timeout, max_attempts) in its options table, which
-- also bound the GetQueueUrl of a queue given by name. Bodies are strings; a
-- table body is sent as JSON. Sends carry the current trace in the
-- AWSTraceHeader system attribute. MD5 digests of bodies and message
-- attributes are checked both ways: a received message whose digests do not
-- match is left on the queue, not handed out (sqs.reject).
local aws = require "tycho.aws"
local json = require "tycho.json"
local log = require "tycho.log"
local protect = require "tycho.protect"
local bit = require "bit"

local sqs = {}

local Queue = {}
Queue.__index = Queue

local Message = {}
Message.__index = Message

-- Decodes the body as JSON.
function Message:json() return json.decode(self.body) end

local url_cache = {} -- queue name -> URL (GetQueueUrl answers), per Lua state

-- Runs op with params; opts: the caller's options, whose aws.CALL_OPTIONS
-- are passed on (over the defaults of the aws.call options in into).
local function call(q, op, params, opts, into)
  into = aws.call_options(opts, into or {})
  into.queue_url = params.QueueUrl
  return aws.call("sqs", "AmazonSQS." .. op, params, into)
end

-- Checks opts against the option names known (every call's include the
-- aws.CALL_OPTIONS) and their values, before any request.
local function check_options(opts, known, op)
  aws.check_options(opts, known, "sqs", op)
end

local function fail(q, op, typ, msg)
  error(aws.error { type = typ, message = msg, service = "sqs", operation = op }, 3)
end

-- sqs.queue(url_or_name) -> Queue. A name is resolved with GetQueueUrl on
-- first use (and cached); q.name is always set.
function sqs.queue(url_or_name)
  if type(url_or_name) ~= "string" or url_or_name == "" then
    error("tycho.sqs.queue: expected a queue URL or name", 2)
  end
  local q = setmetatable({}, Queue)
  if url_or_name:match("^https?://") then
    q._url = url_or_name
    q.name = url_or_name:match("([^/]+)/*$")
  else
    q.name = url_or_name
  end
  return q
end

-- sqs.create_queue(name [, attributes] [, { timeout, max_attempts }]) -> Queue
-- (CreateQueue; idempotent with the same attributes).
-- attributes: { VisibilityTimeout = "30", ... }.
function sqs.create_queue(name, attributes, opts)
  check_options(opts, aws.CALL_OPTIONS, "CreateQueue")
  local params = { QueueName = name }
  if attributes and next(attributes) then
    params.Attributes = {}
    for k, v in pairs(attributes) do params.Attributes[k] = tostring(v) end
  end
  local res = aws.call("sqs", "AmazonSQS.CreateQueue", params, aws.call_options(opts, {}))
  url_cache[name] = res.QueueUrl
  return sqs.queue(res.QueueUrl)
end

-- The queue's URL (GetQueueUrl on first use for a queue given by name,
-- with the aws.CALL_OPTIONS of opts).
function Queue:url(opts)
  if self._url then return self._url end
  local u = url_cache[self.name]
  if not u then
    u = aws.call("sqs", "AmazonSQS.GetQueueUrl", { QueueName = self.name },
      aws.call_options(opts, {})).QueueUrl
    url_cache[self.name] = u
  end
  self._url = u
  return u
end

-- --- message attributes --------------------------------------------------------

local number_string = aws.number_string

local function attribute_number(name, v, op)
  if v ~= v or v == math.huge or v == -math.huge then
    fail(nil, op, "InvalidParameterValue", ("message attribute %s: NaN and infinity cannot be sent"):format(name))
  end
  return number_string(v)
end

-- Lua attributes -> the wire form. A value is a string (String), a number
-- (Number), or { type = "Binary"|"String"|"Number"[.custom], value = ... }.
local function encode_attributes(attrs, op)
  if attrs == nil then return nil end
  if type(attrs) ~= "table" then fail(nil, op, "InvalidParameterValue", "attributes must be a table") end
  local out, n = {}, 0
  for name, v in pairs(attrs) do
    local t = type(v)
    if t == "string" then
      out[name] = { DataType = "String", StringValue = v }
    elseif t == "number" then
      out[name] = { DataType = "Number", StringValue = attribute_number(name, v, op) }
    elseif t == "table" and type(v.type) == "string" and v.value ~= nil then
      if v.type:match("^Binary") then
        out[name] = { DataType = v.type, BinaryValue = aws.b64encode(tostring(v.value)) }
      else
        local s = type(v.value) == "number" and attribute_number(name, v.value, op) or tostring(v.value)
        out[name] = { DataType = v.type, StringValue = s }
      end
    else
      fail(nil, op, "InvalidParameterValue",
        ("message attribute %s: expected a string, a number or { type = ..., value = ... }"):format(name))
    end
    n = n + 1
  end
  if n == 0 then return nil end
  return out
end

-- The wire form -> { name = value }, { name = DataType }.
local function decode_attributes(wire)
  local out, types = {}, {}
  for name, a in pairs(wire or {}) do
    local dt = a.DataType or "String"
    types[name] = dt
    if dt:match("^Binary") then
      out[name] = aws.b64decode(a.BinaryValue or "")
    elseif dt:match("^Number") then
      out[name] = tonumber(a.StringValue) or a.StringValue
    else
      out[name] = a.StringValue
    end
  end
  return out, types
end

local function u32(n)
  return string.char(bit.band(bit.rshift(n, 24), 255), bit.band(bit.rshift(n, 16), 255),
    bit.band(bit.rshift(n, 8), 255), bit.band(n, 255))
end

-- MD5OfMessageAttributes over the wire form (PROTOCOLS.md section 7).
local function md5_of_attributes(wire)
  local names = {}
  for k in pairs(wire) do names[#names + 1] = k end
  table.sort(names)
  local parts = {}
  for _, name in ipairs(names) do
    local a = wire[name]
    parts[#parts + 1] = u32(#name) .. name .. u32(#a.DataType) .. a.DataType
    if a.BinaryValue then
      local raw = aws.b64decode(a.BinaryValue) or ""
      parts[#parts + 1] = "\2" .. u32(#raw) .. raw
    else
      parts[#parts + 1] = "\1" .. u32(#a.StringValue) .. a.StringValue
    end
  end
  return aws.md5(table.concat(parts))
end
sqs.md5_of_attributes = md5_of_attributes

local function body_string(body, op)
  if type(body) == "table" then
    local ok, text = protect.pcall(json.encode, body)
    if not ok then
      fail(nil, op, "InvalidParameterValue",
        "the message body cannot be sent as JSON: " .. tostring(text):gsub("^json%.encode: ", ""))
    end
    body = text
  end
  if type(body) ~= "string" or body == "" then
    fail(nil, op, "InvalidParameterValue", "the message body must be a non-empty string or a table")
  end
  return body
end

-- Checks the digests SQS computed over what it stored. nil or a reason.
local function md5_problem(sent_body, wire_attrs, md5_body, md5_attrs)
  if md5_body and md5_body ~= aws.md5(sent_body) then
    return "MD5OfMessageBody does not match the body sent"
  end
  if wire_attrs and md5_attrs and md5_attrs ~= md5_of_attributes(wire_attrs) then
    return "MD5OfMessageAttributes does not match the attributes sent"
  end
  return nil
end

-- --- sending -----------------------------------------------------------------------

local MESSAGE_OPTIONS = { "attributes", "delay", "group_id", "dedup_id" }
local SEND_OPTIONS = { unpack(MESSAGE_OPTIONS) }
for _, k in ipairs(aws.CALL_OPTIONS) do SEND_OPTIONS[#SEND_OPTIONS + 1] = k end
local BATCH_ENTRY = { "body", "id", unpack(MESSAGE_OPTIONS) }

-- The SendMessage parameters of body and opts (whose keys are in known).
local function send_params(body, opts, op, known)
  check_options(opts, known or SEND_OPTIONS, op)
  opts = opts or {}
  return {
    MessageBody = body_string(body, op),
    DelaySeconds = opts.delay,
    MessageAttributes = encode_attributes(opts.attributes, op),
    MessageGroupId = opts.group_id,
    MessageDeduplicationId = opts.dedup_id,
  }
end

-- q:send(body [, { attributes, delay, group_id, dedup_id, timeout, max_attempts }])
-- -> message id, response
function Queue:send(body, opts)
  local p = send_params(body, opts, "SendMessage")
  p.QueueUrl = self:url(opts)
  local res = call(self, "SendMessage", p, opts, { producer = true })
  local problem = md5_problem(p.MessageBody, p.MessageAttributes, res.MD5OfMessageBody,
    res.MD5OfMessageAttributes)
  if problem then fail(self, "SendMessage", "MD5Mismatch", problem) end
  return res.MessageId, res
end

-- A `failed` record for the entry (id, index) that err (an aws.Error) kept
-- from being done. sender_fault: the request itself was wrong (a check
-- before the call, or a 4xx that is not throttling).
local function failure(id, index, err)
  local sender = not err.retryable and
    ((err.status == 0 and err.type == "InvalidParameterValue") or (err.status >= 400 and err.status < 500))
  return { id = id, index = index, code = err.type, message = err.message, sender_fault = sender,
    error = err }
end

-- SQS's limits of one batch request: 10 entries, and the sizes of their
-- messages (body, attribute names, types and values) 1 MiB in all.
local BATCH_ENTRIES, BATCH_BYTES = 10, 1048576

-- Runs a batch operation (op) over list in requests of up to BATCH_ENTRIES
-- entries and, when b.size tells an entry's size, BATCH_BYTES (an entry
-- larger than that goes alone, for SQS to judge), and reports every entry in
-- `successful` or `failed`, never raising after a request was sent: an
-- entry that b.entry(item, i) refuses (an aws.Error) is failed at once and
-- the others go; a request that fails as a whole (transport error,
-- throttling after the retries) fails each of its entries with that error,
-- and the requests before it stay reported. b.entry returns the request
-- entry with its Id; b.done(s, entry) turns a Successful answer into the
-- record to keep, or nil and a problem. A non-aws error (a bug), a
-- Cancelled call or a memory error is raised. opts: the aws.CALL_OPTIONS
-- of every request.
local function run_batches(q, op, list, b, opts)
  if type(list) ~= "table" then fail(q, op, "InvalidParameterValue", "expected a list of entries") end
  check_options(opts, aws.CALL_OPTIONS, op)
  local out = { successful = json.array {}, failed = json.array {} }
  local url = #list > 0 and q:url(opts)
  local function refused(err)
    if not aws.is_error(err) or err.type == "Cancelled" then error(err, 0) end
    return err
  end
  local entries, at, index, bytes -- at[k]: entries[k]'s position in list
  local function send()
    if #entries == 0 then return end
    local ok, res = protect.pcall(call, q, op, { QueueUrl = url, Entries = entries }, opts,
      { producer = b.producer })
    if not ok then
      refused(res)
      for k, e in ipairs(entries) do out.failed[#out.failed + 1] = failure(e.Id, at[k], res) end
      return
    end
    local by_id = {}
    for _, e in ipairs(entries) do by_id[e.Id] = e end
    for _, s in ipairs(res.Successful or {}) do
      local rec, problem = b.done(s, by_id[s.Id])
      if rec then
        rec.id, rec.index = s.Id, index[s.Id]
        out.successful[#out.successful + 1] = rec
      else
        out.failed[#out.failed + 1] = { id = s.Id, index = index[s.Id], code = "MD5Mismatch",
          message = problem, sender_fault = false }
      end
    end
    for _, f in ipairs(res.Failed or {}) do
      out.failed[#out.failed + 1] = { id = f.Id, index = index[f.Id], code = f.Code,
        message = f.Message, sender_fault = f.SenderFault == true }
    end
  end
  local function start() entries, at, index, bytes = {}, {}, {}, 0 end
  start()
  for i = 1, #list do
    local ok, e = protect.pcall(b.entry, list[i], i)
    if ok then
      local size = b.size and b.size(e) or 0
      if #entries == BATCH_ENTRIES or (#entries > 0 and bytes + size > BATCH_BYTES) then
        send()
        start()
      end
      at[#entries + 1] = i
      entries[#entries + 1] = e
      index[e.Id] = index[e.Id] or i
      bytes = bytes + size
    else
      out.failed[#out.failed + 1] = failure(b.id(list[i], i), i, refused(e))
    end
  end
  send()
  table.sort(out.successful, function(a, b2) return (a.index or 0) < (b2.index or 0) end)
  table.sort(out.failed, function(a, b2) return (a.index or 0) < (b2.index or 0) end)
  return out
end

-- The size SQS counts for a SendMessage entry (wire form): its body and
-- its attributes' names, types and values (a binary value as its base64
-- text, which is longer than the bytes SQS counts: a batch never overflows).
local function message_size(p)
  local n = #p.MessageBody
  for name, a in pairs(p.MessageAttributes or {}) do
    n = n + #name + #a.DataType + #(a.StringValue or a.BinaryValue or "")
  end
  return n
end

-- A send_batch entry as a table: a body, or { body, id, ... }.
local function batch_entry(e)
  if type(e) ~= "table" or e.body == nil then return { body = e } end
  return e
end

-- The Id of entry e at position i: its own id, or its position.
local function batch_id(e, i)
  e = batch_entry(e)
  return e.id ~= nil and tostring(e.id) or tostring(i)
end

local SEND_BATCH = {
  producer = true,
  id = batch_id,
  size = message_size,
  entry = function(e, i)
    local t = batch_entry(e)
    local p = send_params(t.body, t, "SendMessageBatch", BATCH_ENTRY)
    p.Id = batch_id(e, i)
    return p
  end,
  done = function(s, p)
    local problem = p and md5_problem(p.MessageBody, p.MessageAttributes, s.MD5OfMessageBody,
      s.MD5OfMessageAttributes)
    if problem then return nil, problem end
    return { message_id = s.MessageId }
  end,
}

-- q:send_batch(entries [, { timeout, max_attempts }])
--   -> { successful = { {id, index, message_id} },
--        failed = { {id, index, code, message, sender_fault [, error]} } }
-- entries: bodies, or { body, id, attributes, delay, group_id, dedup_id }.
-- Sent 10 per request, and at most 1 MiB of messages per request; every
-- entry is in `successful` or `failed` (see
-- run_batches): an entry that fails the checks or a request that fails as
-- a whole does not raise after other entries were sent.
function Queue:send_batch(entries, opts)
  return run_batches(self, "SendMessageBatch", entries, SEND_BATCH, opts)
end

-- --- receiving ----------------------------------------------------------------------

local function check_range(op, name, v, lo, hi)
  if v ~= nil and (type(v) ~= "number" or v < lo or v > hi or v ~= math.floor(v)) then
    fail(nil, op, "InvalidParameterValue", ("%s must be an integer from %d to %d"):format(name, lo, hi))
  end
end

-- Turns a received SQS message into a tycho message object. nil + a reason
-- when its MD5 digests do not match.
function sqs.message(m, queue)
  if m.MD5OfBody and m.MD5OfBody ~= aws.md5(m.Body or "") then
    return nil, "MD5OfBody does not match the body received"
  end
  if m.MessageAttributes and next(m.MessageAttributes) and m.MD5OfMessageAttributes and
     m.MD5OfMessageAttributes ~= md5_of_attributes(m.MessageAttributes) then
    return nil, "MD5OfMessageAttributes does not match the attributes received"
  end
  local attrs = m.Attributes or {}
  local values, types = decode_attributes(m.MessageAttributes)
  return setmetatable({
    id = m.MessageId,
    body = m.Body,
    receipt_handle = m.ReceiptHandle,
    attributes = attrs,
    message_attributes = values,
    message_attribute_types = types,
    receive_count = tonumber(attrs.ApproximateReceiveCount),
    sent_at = tonumber(attrs.SentTimestamp) and tonumber(attrs.SentTimestamp) / 1000,
    trace_header = attrs.AWSTraceHeader,
    queue = queue,
  }, Message)
end

-- A received message m (the wire form) whose digests do not match
-- (sqs.message's problem) is not handed out, and not deleted: it comes back
-- after its visibility timeout (and with a redrive policy ends in the
-- dead-letter queue), while the other messages of the receive are handled.
-- One warning names it by its id, never its body; the counter
-- tycho_sqs_md5_mismatch_total{queue = queue_name} counts it.
function sqs.reject(m, queue_name, problem)
  log.warn("sqs: received message rejected, left on the queue: its MD5 digest does not match", {
    queue = queue_name, message_id = tostring(m.MessageId), problem = problem,
    receive_count = tonumber((m.Attributes or {}).ApproximateReceiveCount) })
  aws.count_md5_mismatch(queue_name)
end

local RECEIVE_OPTIONS = { "max", "wait", "visibility", "attributes", unpack(aws.CALL_OPTIONS) }

-- A timeout not longer than the long poll's wait would cut every empty
-- receive (a TransportError after timeout seconds): refused before any
-- request. (A timeout of 0 or less was refused by check_options.)
local function check_receive_timeout(timeout, wait)
  if timeout and timeout <= wait then
    fail(nil, "ReceiveMessage", "InvalidParameterValue", ("timeout (%g s) must be longer than wait "
      .. "(%g s): the long poll holds the request for wait seconds"):format(timeout, wait))
  end
end

-- q:receive{ max = 1..10, wait = 0..20 (long poll), visibility = seconds,
--            attributes = { "All" } (system attribute names),
--            timeout (per attempt, longer than wait; default wait + 10),
--            max_attempts } -> { messages } (without a message whose digests
--            do not match: sqs.reject)
function Queue:receive(opts)
  check_options(opts, RECEIVE_OPTIONS, "ReceiveMessage")
  opts = opts or {}
  check_range("ReceiveMessage", "max", opts.max, 1, 10)
  check_range("ReceiveMessage", "wait", opts.wait, 0, 20)
  check_range("ReceiveMessage", "visibility", opts.visibility, 0, 43200)
  local wait = opts.wait or 0
  check_receive_timeout(opts.timeout, wait)
  local res = call(self, "ReceiveMessage", {
    QueueUrl = self:url(opts),
    MaxNumberOfMessages = opts.max or 1,
    WaitTimeSeconds = wait,
    VisibilityTimeout = opts.visibility,
    AttributeNames = json.array(opts.attributes or { "All" }),
    MessageAttributeNames = json.array { "All" },
  }, opts, { timeout = wait + 10 })
  local out = {}
  for _, m in ipairs(res.Messages or {}) do
    local msg, problem = sqs.message(m, self)
    if msg then out[#out + 1] = msg else sqs.reject(m, self.name, problem) end
  end
  return out
end

local function handle_of(h, op)
  if type(h) == "table" then h = h.receipt_handle end
  if type(h) ~= "string" or h == "" then
    fail(nil, op, "InvalidParameterValue", "expected a receipt handle or a received message")
  end
  return h
end

-- q:delete(message_or_handle [, { timeout, max_attempts }])
function Queue:delete(h, opts)
  check_options(opts, aws.CALL_OPTIONS, "DeleteMessage")
  local handle = handle_of(h, "DeleteMessage")
  call(self, "DeleteMessage", { QueueUrl = self:url(opts), ReceiptHandle = handle }, opts)
end

local DELETE_BATCH = {
  id = function(_, i) return tostring(i) end,
  entry = function(h, i)
    return { Id = tostring(i), ReceiptHandle = handle_of(h, "DeleteMessageBatch") }
  end,
  done = function() return {} end,
}

-- q:delete_batch(messages_or_handles [, { timeout, max_attempts }])
--   -> { successful = { {id, index} },
--        failed = { {id, index, code, message, sender_fault [, error]} } }, as send_batch
function Queue:delete_batch(list, opts)
  return run_batches(self, "DeleteMessageBatch", list, DELETE_BATCH, opts)
end

-- q:change_visibility(message_or_handle, seconds [, { timeout, max_attempts }])
function Queue:change_visibility(h, seconds, opts)
  check_options(opts, aws.CALL_OPTIONS, "ChangeMessageVisibility")
  check_range("ChangeMessageVisibility", "seconds", seconds, 0, 43200)
  local handle = handle_of(h, "ChangeMessageVisibility")
  call(self, "ChangeMessageVisibility", { QueueUrl = self:url(opts), ReceiptHandle = handle,
    VisibilityTimeout = seconds }, opts)
end

-- q:attributes([names] [, { timeout, max_attempts }]) -> { ApproximateNumberOfMessages = 3, ... }
-- (numbers where SQS sends digits; RedrivePolicy and the like stay strings)
function Queue:attributes(names, opts)
  check_options(opts, aws.CALL_OPTIONS, "GetQueueAttributes")
  if type(names) == "string" then names = { names } end
  local res = call(self, "GetQueueAttributes", { QueueUrl = self:url(opts),
    AttributeNames = json.array(names or { "All" }) }, opts)
  local out = {}
  for k, v in pairs(res.Attributes or {}) do
    out[k] = (type(v) == "string" and v:match("^%-?%d+$")) and tonumber(v) or v
  end
  return out
end

sqs.Queue = Queue
sqs.Message = Message
return sqs
