local log = require "tycho.log"
return {
  { "GET", "/hello", function (req)
      log.info("hello", { q = req.query.q })
      return 200, { ok = true }
  end },
}
