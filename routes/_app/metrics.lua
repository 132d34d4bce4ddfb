-- The app's business metrics (the names the Grafana dashboards query; see
-- grafana/dashboards/tycho-aws.json). Labels take a handful of values each:
-- never put ids or raw input in a label.
local metrics = require "tycho.metrics"
local time = require "tycho.time"
local aws = require "tycho.aws"
local protect = require "tycho.protect"

local refusal = require "_app.refusal"

local M = {
  user_actions = metrics.counter("user_actions_total", "User actions, by action.", { "action" }),
  errors = metrics.counter("errors_total", "Application errors, by type.", { "error_type" }),
  sqs_sent = metrics.counter("sqs_messages_sent_total", "Messages sent to SQS.", { "message_type" }),
  sqs_received = metrics.counter("sqs_messages_received_total", "Messages received from SQS.",
    { "message_type" }),
  dynamodb_ops = metrics.counter("dynamodb_operations_total",
    "DynamoDB operations, by result: success, condition_failed, invalid (the data was refused, "
      .. "by tycho before any request or by DynamoDB), error (a backend fault).",
    { "operation", "status" }),
  aws_duration = metrics.histogram("aws_service_duration_seconds",
    "AWS calls as the app sees them (retries included).", { "service", "operation" }),
}

-- Every label value the app uses. Each series starts at 0, so dashboards
-- and rate() see it before its first event.
local LABELS = {
  { M.user_actions, "action",
    { "visit", "test_telemetry", "send_message", "receive_messages", "save_data", "get_data", "workflow" } },
  { M.errors, "error_type", { "simulated", "validation", "sqs_error", "dynamodb_error", "invalid_message" } },
  { M.sqs_sent, "message_type", { "test", "custom", "workflow" } },
  { M.sqs_received, "message_type", { "test", "custom", "workflow", "other" } },
}
for _, l in ipairs(LABELS) do
  for _, v in ipairs(l[3]) do l[1]:inc({ [l[2]] = v }, 0) end
end
for _, op in ipairs { "PutItem", "Query", "UpdateItem", "GetItem" } do
  for _, status in ipairs { "success", "condition_failed", "invalid", "error" } do
    M.dynamodb_ops:inc({ operation = op, status = status }, 0)
  end
end

local MESSAGE_TYPES = { test = true, custom = true, workflow = true }

-- A message_type label value: one of the app's types, or "other".
function M.message_type(v)
  return MESSAGE_TYPES[v] and v or "other"
end

-- M.aws("dynamodb", "PutItem", fn, ...) runs fn(...) and records its duration
-- (and, for DynamoDB, the operation's result). Returns pcall's results:
-- true, fn's results — or false, the error (a memory error is raised
-- again, as one: tycho.protect). A failed condition is an
-- answer, not an error: it is not counted in errors_total. The client's data
-- refused — by tycho's checks before any request (InvalidParameterValue) or
-- by the backend (_app/refusal.lua) — is status "invalid" and error_type
-- "validation" (the client's mistake); any other failure is status "error"
-- and error_type "<service>_error" (a backend fault): the two counters split
-- failures the same way.
function M.aws(service, operation, fn, ...)
  local t0 = time.monotonic()
  local ok, a, b = protect.pcall(fn, ...)
  M.aws_duration:observe({ service = service, operation = operation }, time.monotonic() - t0)
  local status = ok and "success" or aws.is_error(a, "ConditionalCheckFailedException")
    and "condition_failed" or refusal.is_refusal(a) and "invalid" or "error"
  if service == "dynamodb" then M.dynamodb_ops:inc { operation = operation, status = status } end
  if status == "invalid" then
    M.errors:inc { error_type = "validation" }
  elseif status == "error" then
    M.errors:inc { error_type = service .. "_error" }
  end
  return ok, a, b
end

return M
