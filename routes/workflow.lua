-- GET|POST /workflow: in one trace, save an item (status "pending") and
-- send an SQS message referencing it. The consumer below receives the
-- message — its span continues the same trace — and marks the item
-- "processed": GET /get-data/<data_id> shows the workflow end to end.
local ddb = require "tycho.dynamodb"
local json = require "tycho.json"
local log = require "tycho.log"
local protect = require "tycho.protect"
local time = require "tycho.time"
local trace = require "tycho.trace"

local clock = require "_app.clock"
local config = require "_app.config"
local head = require "_app.head"
local input = require "_app.input"
local metrics = require "_app.metrics"
local store = require "_app.store"

-- A step in its own span; a failed step marks its span ERROR.
local function step(name, attrs, fn, ...)
  return trace.span("workflow." .. name, attrs, function(...)
    local ok, res = fn(...)
    if not ok then trace.current():record_error(tostring(res)) end
    return ok, res
  end, ...)
end

-- fields: the new item's (input.item_fields)
local function workflow(req, fields)
  local t0 = time.monotonic()
  fields.status = "pending"
  metrics.user_actions:inc { action = "workflow" }
  local steps = json.array()

  local ok, item = step("save_data", nil, store.save, fields)
  if not ok then return store.failure(req, item, "DynamoDB PutItem") end
  steps[#steps + 1] = "save_data"

  local message = { data_id = item.id, data_timestamp = item.timestamp, timestamp = clock.iso() }
  local sent, sqs_id = step("send_message", { ["app.data_id"] = item.id }, store.send, message, "workflow")
  if not sent then
    local status, body = store.failure(req, sqs_id, "SQS SendMessage")
    body.data_id, body.steps_completed = item.id, steps
    return status, body
  end
  steps[#steps + 1] = "send_message"

  log.info("workflow started", { data_id = item.id, sqs_message_id = sqs_id })
  return { message = "Workflow completed: data saved, message sent", data_id = item.id,
           workflow_time = clock.since(t0), timestamp = clock.iso(), steps_completed = steps }
end

-- The consumer: every message on the queue comes here. Workflow messages
-- mark their item processed; others are logged. An error, or a workflow
-- message without its item's key, leaves the message on the queue for
-- another try (after 3 receives, the dead-letter queue): none is lost.
local function consume(msg)
  local message_type = (msg.message_attributes or {}).MessageType
  metrics.sqs_received:inc { message_type = metrics.message_type(message_type) }
  if message_type ~= "workflow" then
    log.info("message consumed", { message_type = tostring(message_type) })
    return
  end
  local ok, body = protect.pcall(msg.json, msg)
  if not ok or type(body) ~= "table" or type(body.data_id) ~= "string"
     or type(body.data_timestamp) ~= "string" then
    metrics.errors:inc { error_type = "invalid_message" }
    log.warn("workflow message without data_id and data_timestamp: left for the dead-letter queue",
      { receive_count = msg.receive_count })
    -- no try will process it, but deleted it would be gone unread: failed,
    -- SQS's redrive moves it to the dead-letter queue, where it can be read
    return false
  end
  local key = { id = body.data_id, timestamp = body.data_timestamp }
  local updated, err = metrics.aws("dynamodb", "UpdateItem", store.items.update, store.items, key,
    { set = { status = "processed", processed_at = clock.iso() } },
    { condition = "#s = :pending", names = { s = "status" }, values = { pending = "pending" } })
  if not updated then
    if not ddb.is_condition_failed(err) then error(err, 0) end
    -- delivered twice, or the item expired: nothing left to do
    log.info("workflow item already processed or gone", { data_id = body.data_id })
    return
  end
  log.info("workflow processed", { data_id = body.data_id, receive_count = msg.receive_count })
end

local routes = {
  -- generated data; a body sent with the GET is not read (a GET's body means
  -- nothing in HTTP, and /openapi.json describes none)
  { "GET", "/workflow", function(req) return workflow(req, input.sample_fields()) end },
  { "HEAD", "/workflow", head.nothing_done }, -- saves and sends nothing
  -- optional body: the item's data, as for /save-data
  { "POST", "/workflow", function(req) return workflow(req, input.item_fields(req)) end },
}
if config.consumer then
  routes.consumers = {
    { queue = config.queue, handler = consume, concurrency = 4, visibility = 30, wait = config.consumer_wait },
  }
end
return routes
