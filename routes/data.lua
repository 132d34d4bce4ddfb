-- POST /save-data and GET /get-data/:id: items in the DynamoDB table
-- (DYNAMODB_APP_TABLE; locally `tycho-app-data`), partition key `id`, sort
-- key `timestamp`. An item expires a day after it was saved (TTL).
local log = require "tycho.log"
local tycho = require "tycho"

local input = require "_app.input"
local metrics = require "_app.metrics"
local store = require "_app.store"

return {
  -- optional body: any JSON object, stored as `data` (a `user_id` in it, a
  -- string of 1 to 128 bytes, also becomes the item's user_id; any other is
  -- a 400); without one, sample data
  { "POST", "/save-data", function(req)
      local fields = input.item_fields(req)
      metrics.user_actions:inc { action = "save_data" }
      local ok, item = store.save(fields)
      if not ok then return store.failure(req, item, "DynamoDB PutItem") end
      log.info("data saved", { id = item.id, user_id = item.user_id })
      return 201, { message = "Data saved", id = item.id, timestamp = item.timestamp }
  end },

  -- the newest item saved under :id
  { "GET", "/get-data/:id", function(req)
      local id = req.params.id
      -- longer than any DynamoDB key, or holding a NUL (no id the app gives
      -- has one; the local backend refuses it in a key, which would be a 400)
      if #id > 2048 or id:find("\0", 1, true) then tycho.error(404, "not found") end
      metrics.user_actions:inc { action = "get_data" }
      local ok, item = store.latest(id)
      if not ok then return store.failure(req, item, "DynamoDB Query") end
      if not item then tycho.error(404, "not found") end
      return { data = item }
  end },
}
