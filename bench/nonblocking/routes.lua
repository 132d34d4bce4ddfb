-- bench/nonblocking.sh: /slow-aws waits 200 ms on a loopback "slow AWS"
-- endpoint through tycho.aws (signed call, retries, span, metrics);
-- /slow-http does the same through tycho.http; /health answers at once.
local aws = require "tycho.aws"
local http = require "tycho.http"
local SLOW = os.getenv "SLOW_URL"

return {
  { "GET", "/health", function() return 200, { ok = true } end },
  { "GET", "/slow-aws", function()
      local r = aws.call("dynamodb", "DynamoDB_20120810.GetItem", { TableName = "t", Key = { id = { S = "slow" } } })
      return 200, r
  end },
  { "GET", "/slow-http", function()
      local status, _, body = http.request { url = SLOW .. "/", timeout = 10 }
      return status or 502, body or ""
  end },
}
