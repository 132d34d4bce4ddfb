-- POST /send-message and GET /receive-messages: the SQS queue
-- (SQS_MESSAGE_QUEUE_URL; locally the `tycho-messages` queue). The consumer
-- in workflow.lua reads the same queue, so it usually gets a message
-- before /receive-messages does (start with SQS_CONSUMER=off to receive
-- by hand).
local aws = require "tycho.aws"
local json = require "tycho.json"
local log = require "tycho.log"
local protect = require "tycho.protect"
local tycho = require "tycho"
local uuid = require "tycho.uuid"

local clock = require "_app.clock"
local head = require "_app.head"
local input = require "_app.input"
local metrics = require "_app.metrics"
local store = require "_app.store"

-- User message attributes: { name = "text" | number }, at most 8 (SQS
-- allows 10; MessageType and Source are the app's), names of at most 64
-- bytes.
local function refuse(message)
  metrics.errors:inc { error_type = "validation" }
  tycho.error(400, message)
end

local function check_attributes(attrs)
  if attrs == nil then return nil end
  if type(attrs) ~= "table" or json.is_array(attrs) then
    refuse("attributes must be an object of strings and numbers")
  end
  local n = 0
  for _ in pairs(attrs) do n = n + 1 end
  if n > 8 then refuse(("at most 8 attributes, got %d"):format(n)) end
  for k, v in pairs(attrs) do
    local ok_name = k:match("^[%w_%-]+$") and #k <= 64 and k ~= "MessageType" and k ~= "Source"
      and not k:lower():match("^aws") and not k:lower():match("^amazon")
    if not ok_name or (type(v) ~= "string" and type(v) ~= "number") or v == "" then
      refuse(("attribute %q: named with 1 to 64 letters, digits, _ and - (not MessageType, Source, "
        .. "AWS*, Amazon*), with a non-empty string or a number"):format(k))
    end
  end
  return attrs
end

-- A received message's attributes as JSON can carry them: strings and
-- numbers as they are, a Binary value (any bytes) as the AWS CLI shows it,
-- { DataType = "Binary", BinaryValue = base64 }.
local function shown_attributes(m)
  local out = {}
  for name, v in pairs(m.message_attributes or {}) do
    local data_type = m.message_attribute_types[name]
    out[name] = data_type:match("^Binary") and { DataType = data_type, BinaryValue = aws.b64encode(v) }
      or v
  end
  return out
end

return {
  -- optional body: { "content": any JSON value, "attributes": { "name": "value" } }
  { "POST", "/send-message", function(req)
      local body = input.json_object(req)
      local attributes = check_attributes(body and body.attributes)
      metrics.user_actions:inc { action = "send_message" }
      local message = {
        id = uuid(),
        timestamp = clock.iso(),
        source = "tycho-sample-app",
        content = "Test message from tycho",
        client_ip = req.client_ip,
      }
      if body and body.content ~= nil then message.content = body.content end
      local message_type = body and "custom" or "test"
      local ok, sqs_id = store.send(message, message_type, attributes)
      if not ok then return store.failure(req, sqs_id, "SQS SendMessage") end
      log.info("message sent", { message_id = message.id, sqs_message_id = sqs_id,
                                 message_type = message_type })
      return 202, { message = "Message sent", message_id = message.id, sqs_message_id = sqs_id,
                    timestamp = message.timestamp }
  end },

  -- ?max=1..10 (default 10) messages, long-polling up to ?wait=0..20 seconds (default 5)
  { "GET", "/receive-messages", function(req)
      local max = input.integer(req, "max", 10, 1, 10)
      local wait = input.integer(req, "wait", 5, 0, 20)
      metrics.user_actions:inc { action = "receive_messages" }
      local ok, received = metrics.aws("sqs", "ReceiveMessage", store.queue.receive, store.queue,
        { max = max, wait = wait })
      if not ok then return store.failure(req, received, "SQS ReceiveMessage") end

      local messages = json.array()
      for _, m in ipairs(received) do
        local is_json, body = protect.pcall(m.json, m)
        local attributes = shown_attributes(m)
        messages[#messages + 1] = {
          message_id = m.id,
          body = is_json and body or m.body, -- a body that is not JSON stays a string
          attributes = attributes,
          receive_count = m.receive_count,
          sent_at = m.sent_at and clock.iso(m.sent_at),
          deleted = true, -- false below when SQS kept it: it will be delivered again
        }
        metrics.sqs_received:inc { message_type = metrics.message_type(attributes.MessageType) }
      end
      local kept = 0
      if #received > 0 then
        local deleted, res = metrics.aws("sqs", "DeleteMessageBatch", store.queue.delete_batch,
          store.queue, received)
        if not deleted then return store.failure(req, res, "SQS DeleteMessageBatch") end
        for _, f in ipairs(res.failed) do
          messages[f.index].deleted = false
          log.warn("message not deleted (it will be delivered again)",
            { message_id = received[f.index].id, error = f.code })
        end
        kept = #res.failed
      end
      log.info("messages received", { count = #messages, not_deleted = kept })
      local text = ("Received %d message(s)"):format(#messages)
      if kept > 0 then
        text = text .. ("; %d not deleted (delivered again after the visibility timeout)"):format(kept)
      end
      return { message = text, messages = messages, timestamp = clock.iso() }
  end },
  -- receives nothing: a HEAD's answer has no body to show messages in
  { "HEAD", "/receive-messages", head.nothing_done },
}
