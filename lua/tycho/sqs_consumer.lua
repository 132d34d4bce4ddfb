-- Internal: runs one received SQS message through a consumer's handler
-- (server/lua/consumer.c starts a task on run() per message). The handler
-- gets a tycho.sqs message (msg.body, msg:json(), msg.attributes,
-- msg.message_attributes, msg.receive_count, msg.queue); an error or a
-- `return false` leaves the message for redelivery.
local json = require "tycho.json"
local sqs = require "tycho.sqs"

local M = {}

function M.run(handler, raw, url)
  local m, problem = sqs.message(json.decode(raw), sqs.queue(url))
  if not m then error("SQS message rejected: " .. problem, 0) end
  return handler(m) ~= false
end

return M
