-- Internal: runs one received SQS message through a consumer's handler
-- (server/lua/consumer.c starts a task on run() per message). The handler
-- gets a tycho.sqs message (msg.body, msg:json(), msg.attributes,
-- msg.message_attributes, msg.receive_count, msg.queue); an error or a
-- `return false` leaves the message for redelivery. A message whose MD5
-- digests do not match does not reach the handler: sqs.reject reports it
-- (the consumer's queue name, name) and run returns false, "rejected",
-- which the consumer tells from a handler's failure.
local json = require "tycho.json"
local sqs = require "tycho.sqs"

local M = {}

function M.run(handler, raw, url, name)
  local wire = json.decode(raw)
  local m, problem = sqs.message(wire, sqs.queue(url))
  if not m then
    sqs.reject(wire, name, problem)
    return false, "rejected"
  end
  return handler(m) ~= false
end

return M
