-- routes/health.lua: GET /health (the ALB health check) and ?deep=1
local t = require "tycho.test"
local HERE = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "spec"
local app = dofile(HERE .. "/fixtures/app/helper.lua")

describe("GET /health", function()
  setup(app.setup)
  teardown(app.teardown)
  before_each(app.reset)

  it("answers healthy with the timestamp and the route generation, without calling AWS", function()
    t.spans()
    local res = t.get("/health")
    assert.equal(200, res.status)
    assert.equal("healthy", res.body.status)
    assert.is_string(res.body.timestamp)
    assert.is_true(res.body.generation >= 1) -- tycho.server.generation()
    assert.is_nil(res.body.checks)
    local spans = t.spans()
    assert.equal(1, #spans) -- the server span only
  end)

  it("?deep=1 checks the queue, the dead-letter queue and the table", function()
    t.spans()
    local res = t.get("/health?deep=1")
    assert.equal(200, res.status)
    assert.equal("healthy", res.body.status)
    local c = res.body.checks
    assert.equal("ok", c.queue.status)
    assert.is_number(c.queue.messages) -- approximate: SQS counts eventually
    assert.equal("ok", c.dead_letter_queue.status)
    assert.equal(0, c.dead_letter_queue.messages)
    assert.equal("ok", c.table.status)
    assert.is_number(c.table.duration_seconds)
    local spans = app.spans()
    assert.is_table(spans["SQS.GetQueueAttributes"])
    assert.is_table(spans["DynamoDB.GetItem"])
  end)

  it("?deep=1 answers 503 and names the failing check when the table is missing", function()
    app.configure { DYNAMODB_APP_TABLE = "app-spec-no-such-table" }
    local before = app.count("dynamodb_operations_total", { operation = "GetItem", status = "error" })
    local res = t.get("/health?deep=1")
    assert.equal(503, res.status)
    assert.equal("unhealthy", res.body.status)
    assert.equal("ok", res.body.checks.queue.status)
    assert.equal("error", res.body.checks.table.status)
    assert.equal("ResourceNotFoundException", res.body.checks.table.error)
    -- which table (DynamoDB's own message does not say)
    assert.is_truthy(res.body.checks.table.message:find("app-spec-no-such-table", 1, true),
      res.body.checks.table.message)
    assert.equal(before + 1, app.count("dynamodb_operations_total", { operation = "GetItem", status = "error" }))
    -- the shallow check the ALB uses is not affected
    assert.equal(200, t.get("/health").status)
  end)

  it("?deep=1 answers 503 when the queue does not exist", function()
    app.configure { SQS_MESSAGE_QUEUE_URL = "app-spec-no-such-queue!" }
    local res = t.get("/health?deep=1")
    assert.equal(503, res.status)
    assert.equal("error", res.body.checks.queue.status)
    assert.equal("QueueDoesNotExist", res.body.checks.queue.error)
    assert.is_truthy(res.body.checks.queue.message:find("(queue app-spec-no-such-queue!)", 1, true),
      res.body.checks.queue.message)
    assert.equal("ok", res.body.checks.table.status)
  end)
end)

describe("GET /health?deep=1 from outside", function()
  setup(app.setup)
  teardown(app.teardown)
  before_each(app.reset)

  it("runs for loopback, private and unique-local clients", function()
    for _, ip in ipairs { "127.0.0.1", "10.1.2.3", "172.16.0.9", "172.31.255.1", "192.168.1.1",
                          "::1", "fd12:3456::1", "::ffff:10.0.0.7" } do
      local res = t.get("/health?deep=1", { peer_ip = ip })
      assert.equal(200, res.status, ip)
      assert.is_table(res.body.checks, ip)
    end
  end)

  it("answers 403 to any other client, without calling AWS", function()
    for _, ip in ipairs { "203.0.113.9", "172.32.0.1", "172.15.0.1", "192.169.0.1", "11.0.0.1",
                          "2001:db8::1", "fe80::1", "::ffff:8.8.8.8" } do
      t.spans()
      local res = t.get("/health?deep=1", { peer_ip = ip })
      assert.equal(403, res.status, ip)
      assert.matches("inside the network", res.body.error, 1, true)
      assert.equal(1, #t.spans(), ip) -- the server span only: no AWS call
    end
    -- the shallow check answers everyone
    assert.equal(200, t.get("/health", { peer_ip = "203.0.113.9" }).status)
  end)

  it("judges the client a trusted proxy forwards for, not the proxy", function()
    t.set_limits { trusted_proxies = "10.0.0.0/8" }
    local via = function(client)
      return t.get("/health?deep=1", { peer_ip = "10.0.0.2", headers = { ["X-Forwarded-For"] = client } })
    end
    assert.equal(403, via("198.51.100.4").status)
    assert.equal(200, via("192.168.7.7").status)
    t.set_limits { trusted_proxies = "" }
  end)
end)
