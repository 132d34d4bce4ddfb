-- The app's data: items in the DynamoDB table (partition key `id`, sort key
-- `timestamp`) and messages on the SQS queue, shared by the route files.
-- Each call is timed and counted in the business metrics and returns
-- ok, result — or false, an aws.Error (see store.failure).
local aws = require "tycho.aws"
local log = require "tycho.log"
local ddb = require "tycho.dynamodb"
local sqs = require "tycho.sqs"
local time = require "tycho.time"
local uuid = require "tycho.uuid"

local config = require "_app.config"
local clock = require "_app.clock"
local metrics = require "_app.metrics"
local refusal = require "_app.refusal"

local store = {
  items = ddb.table(config.table),
  queue = sqs.queue(config.queue),
}

-- Saves a new item; returns true, item or false, err.
--   fields: user_id, data, and any extra attributes (status...)
function store.save(fields)
  local now = time.now()
  local item = {
    id = uuid(),
    timestamp = clock.iso(now),
    created_at = clock.iso(now),
    ttl = math.floor(now) + config.ttl_seconds,
  }
  for k, v in pairs(fields) do item[k] = v end
  local ok, err = metrics.aws("dynamodb", "PutItem", store.items.put, store.items, item)
  if not ok then return false, err end
  return true, item
end

-- The newest item saved under id (nil when there is none); true, item or false, err.
function store.latest(id)
  local ok, page = metrics.aws("dynamodb", "Query", store.items.query, store.items,
    { key = { id = id }, forward = false, limit = 1 })
  if not ok then return false, page end
  return true, page.items[1]
end

-- Sends body (a table, sent as JSON) with the MessageType and Source
-- message attributes (plus `attributes`); tycho.sqs adds the trace
-- (AWSTraceHeader). Returns true, the SQS message id, or false, err.
function store.send(body, message_type, attributes)
  local attrs = { MessageType = message_type, Source = "tycho-sample-app" }
  for k, v in pairs(attributes or {}) do attrs[k] = v end
  local ok, id = metrics.aws("sqs", "SendMessage", store.queue.send, store.queue, body,
    { attributes = attrs })
  if not ok then return false, id end
  metrics.sqs_sent:inc { message_type = message_type }
  return true, id
end

-- What a client may read of err's message: nil for an error about this
-- server rather than the request (its AWS credentials, signature,
-- permissions, configuration, or AWS not reached: aws.is_server_fault), whose
-- message names internal endpoints, account ids and role ARNs. That message is logged
-- instead (with the request's ids) as what failed.
function store.public_message(err, what)
  if not aws.is_server_fault(err) then return err.message end
  log.error(what .. " failed", { type = err.type, error = err.message })
  return nil
end

-- Seconds a client is asked to wait before trying again after a 503.
local RETRY_AFTER = "1"

-- The answer to request req when a backend call failed, following
-- err.http_status as the runtime answers an escaped error: 503 with a
-- Retry-After when the backend throttled us (after the retries) or answered
-- 503, unavailable for now (the local backend does when its disk is full:
-- the message says "storage full"); 504 when it did not answer in time; else
-- 502 with the AWS error type (the backend failed us, not the client) — or
-- 400 when the client's data was refused (the data the app stores and sends
-- is the client's: _app/refusal.lua). The body carries the request id, as
-- the router's errors do, and the error's message unless it is about the
-- server itself (store.public_message). Anything that is not an AWS error is
-- a bug in the app: raise it again (500, and a traceback in the log).
function store.failure(req, err, what)
  if not aws.is_error(err) then error(err, 0) end
  local status, summary, headers = 502, what .. " failed", nil
  if refusal.is_refusal(err) then
    status, summary = 400, what .. ": the data was refused"
  elseif err.http_status == 503 or err.status == 503 then
    status, summary = 503, what .. " failed: service unavailable"
    headers = { ["Retry-After"] = RETRY_AFTER }
  elseif err.http_status == 504 then
    status, summary = 504, what .. " failed: timeout"
  end
  return status, { error = summary, type = err.type, message = store.public_message(err, what),
                   request_id = req.id }, headers
end

return store
