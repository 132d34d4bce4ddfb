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
    assert.equal("ok", res.body.checks.table.status)
  end)
end)
