-- String arrays on spans, for test_otlp_arrays.sh (its own routes: not
-- loaded by the other tests or bench/exporters_ir.sh): a DynamoDB call on the
-- local backend (its default table) and arrays of strings set from Lua.
local ddb = require "tycho.dynamodb"
local trace = require "tycho.trace"

return {
  { "GET", "/ddb", function()
      trace.current():set_attribute("app.tags", { "a", "", "c\u{e9}" })
      trace.current():set_attribute("app.none", {})
      local item = ddb.table("tycho-app-data"):get { id = "absent", timestamp = "0" }
      return 200, { found = item ~= nil }
  end },
}
