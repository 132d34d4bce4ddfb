-- The app's API as an OpenAPI 3.1 document, served at GET /openapi.json and
-- browsed at GET /docs (routes/docs.lua), as the FastAPI original offered.
-- Written by hand next to the routes: spec/docs_spec.lua fails when a route
-- is missing here, when an operation here is no route, or when an operation
-- answers a status this document does not list.
local json = require "tycho.json"
local server = require "tycho.server"

local config = require "_app.config"

local function object(properties, required)
  return { type = "object", properties = properties, required = json.array(required or {}) }
end

local function text(description, extra)
  local s = extra or {}
  s.type, s.description = "string", description
  return s
end

local TIME = text("when it happened, RFC 3339 UTC with milliseconds", { format = "date-time" })

local function json_reply(description, schema)
  return { description = description, content = { ["application/json"] = { schema = schema } } }
end

local function error_members()
  return {
    error = text("what went wrong"),
    request_id = text("the request's X-Request-Id, to find its log lines"),
    type = text("the AWS error type, when a backend call failed"),
    message = text("the AWS error message, when a backend call failed (absent when the server "
      .. "itself is at fault: its AWS credentials, permissions or settings, or AWS not reached)"),
  }
end

local ERROR = object(error_members(), { "error" })

-- A workflow's failure: when the item was saved and the message could not
-- be sent, the answer also names the item and the steps done.
local WORKFLOW_ERROR = object(error_members(), { "error" })
WORKFLOW_ERROR.properties.data_id = text("when the item was saved but the message not sent: "
  .. "the item's id (it stays pending)")
WORKFLOW_ERROR.properties.steps_completed = { type = "array", items = { type = "string" },
  description = "with data_id: the steps done before the failure" }

local function failure(description, schema)
  return json_reply(description, schema or ERROR)
end

-- What makes a body a 400 (routes/_app/input.lua), whatever the route.
local BAD_BODY = "a body that is not a JSON object, or has a number too large for a double (1e400; "
  .. "the message says where) or nesting deeper than 16 levels (the message names the field)"

-- The answers of a route that reads a JSON body and calls the backend.
-- opts: body (the route reads one), validation (what else is a 400), error
-- (the schema of the error answers, ERROR when absent).
local function with_failures(responses, opts)
  opts = opts or {}
  local schema = opts.error
  if opts.body then
    responses["400"] = failure(BAD_BODY .. "; " .. (opts.validation or "the backend refused the data"), schema)
    responses["413"] = failure(("a body larger than %d bytes (MAX_PAYLOAD_BYTES)")
      :format(config.max_payload))
  elseif opts.validation then
    responses["400"] = failure(opts.validation, schema)
  end
  responses["502"] = failure("the AWS call failed (an AWS error, a refused or reset connection)", schema)
  responses["503"] = failure("the AWS service throttled the app (after its retries) or was unavailable; "
    .. "a Retry-After header says when to try again", schema)
  responses["504"] = failure("the AWS service did not answer in time", schema)
  return responses
end

-- The HEAD of a GET that does something (routes/_app/head.lua): it does nothing.
local function head_op(what)
  return {
    summary = "The GET's status and type, without its body and without " .. what,
    responses = { ["200"] = { description = "nothing done: no body (Content-Type application/json)" } },
  }
end

local function query(name, description, schema, example)
  return { name = name, ["in"] = "query", required = false, description = description,
           schema = schema, example = example }
end

local ANY_OBJECT = { type = "object", description = "any JSON object" }

local ITEM_BODY = {
  required = false,
  description = "the item's data, stored as `data` (a `user_id` in it, which must be a string of 1 to "
    .. "128 bytes, also becomes the item's user_id); without a body, generated sample data",
  content = { ["application/json"] = { schema = ANY_OBJECT } },
}

-- What else makes an item's body a 400 (input.item_fields, the backend).
local ITEM_REFUSED = "a user_id that is not a string of 1 to 128 bytes, or data the backend refused"

local SAVED = object({
  message = text("\"Data saved\""),
  id = text("the new item's id (a UUID)"),
  timestamp = TIME,
}, { "message", "id", "timestamp" })

local WORKFLOW = object({
  message = text("what was done"),
  data_id = text("the saved item's id: GET /get-data/{id} shows it pending, then processed"),
  workflow_time = { type = "number", description = "seconds the two steps took" },
  timestamp = TIME,
  steps_completed = { type = "array", items = { type = "string" } },
}, { "message", "data_id", "steps_completed" })

local function workflow_op(summary, with_body)
  return {
    summary = summary,
    description = "In one trace: saves an item (status pending) to DynamoDB, then sends an SQS "
      .. "message naming it; the queue's consumer marks the item processed.",
    requestBody = with_body and ITEM_BODY or nil,
    responses = with_failures({ ["200"] = json_reply("both steps done", WORKFLOW) },
      { body = with_body, validation = with_body and ITEM_REFUSED or "the backend refused the data",
        error = WORKFLOW_ERROR }),
  }
end

local function document()
  return {
    openapi = "3.1.0",
    info = {
      title = "tycho reference app",
      version = server.version, -- the app ships with tycho, as one
      description = "The observability sample service: structured logs, metrics, traces, "
        .. "health checks and an SQS + DynamoDB workflow. Every answer carries an "
        .. "X-Request-Id header; errors are JSON objects with an `error` member.",
    },
    paths = {
      ["/"] = { get = {
        summary = "Landing endpoint: a log line, a metric, a JSON answer",
        responses = { ["200"] = json_reply("a greeting", object({
          message = text("\"Hello from tycho!\""), visit_time = TIME }, { "message", "visit_time" })) },
      } },
      ["/health"] = { get = {
        summary = "Health check (the load balancer's)",
        description = "200 while serving, 503 once draining after SIGTERM, and 503 while a worker "
          .. "is stuck in a loop the watchdog cannot interrupt (stuck_runs: how many; the task "
          .. "should be replaced). With deep=1 it also "
          .. "checks the queue, the dead-letter queue and the table, and answers 503 when one fails, "
          .. "with every check's result; it answers 403 to a client outside the network. Each check's call has a 2 s deadline and no retry: a "
          .. "backend that hangs fails its check (\"timeout after 2s\") and the answer comes within "
          .. "seconds.",
        parameters = json.array { query("deep", "1 or true: check the AWS backend too",
          { type = "string", enum = json.array { "1", "true" } }, "1") },
        responses = {
          ["200"] = json_reply("healthy", object({
            status = text("healthy"), timestamp = TIME,
            generation = { type = "integer", description = "the route generation (1, then +1 a reload)" },
            checks = { type = "object", description = "with deep=1: each check's status and duration "
              .. "(and, failed, its error type and message)" },
          }, { "status", "timestamp" })),
          ["403"] = failure("deep=1 from a client outside the network: only loopback, private and "
            .. "unique-local addresses (the client a trusted proxy forwards for) may run the deep check"),
          ["503"] = json_reply("draining, a worker stuck, or a deep check failed", object({
            status = text("draining, stuck or unhealthy"), timestamp = TIME,
            stuck_runs = { type = "integer", description = "with stuck: the runs stuck, each "
              .. "blocking its worker" },
            checks = { type = "object" } }, { "status" })),
        },
      } },
      ["/test-telemetry"] = { get = {
        summary = "Exercises logs, metrics and traces (a child span with an event)",
        description = ("A share of the requests (SIMULATED_ERROR_RATE, now %g) records a simulated "
          .. "error on its span and still answers 200."):format(config.error_rate),
        responses = { ["200"] = json_reply("done", object({
          message = text("\"Telemetry test completed\""), timestamp = TIME,
          response_time = { type = "number", description = "seconds" },
          telemetry_enabled = { type = "boolean", description = "whether this request's trace is sampled" },
          trace_id = text("this request's trace id (32 hex digits)"),
        }, { "message", "trace_id" })) },
      } },
      ["/send-message"] = { post = {
        summary = "Sends a message to the SQS queue",
        requestBody = {
          required = false,
          description = "without a body, a test message",
          content = { ["application/json"] = { schema = object({
            content = { description = "any JSON value: the message's content" },
            attributes = { type = "object", maxProperties = 8,
              description = "message attributes: names of 1 to 64 letters, digits, _ and - (not "
                .. "MessageType or Source, nor starting with AWS or Amazon in any case), "
                .. "values non-empty strings or numbers",
              propertyNames = { pattern = "^[A-Za-z0-9_-]{1,64}$" },
              additionalProperties = { type = json.array { "string", "number" } } },
          }) } },
        },
        responses = with_failures({ ["202"] = json_reply("sent", object({
          message = text("\"Message sent\""), message_id = text("the app's id of the message"),
          sqs_message_id = text("SQS's id of the message"), timestamp = TIME,
        }, { "message", "message_id", "sqs_message_id" })) },
          { body = true, validation = "attributes that break the rules above, or SQS refused the message" }),
      } },
      ["/receive-messages"] = { get = {
        summary = "Receives (and deletes) messages from the SQS queue",
        description = "The queue's consumer usually takes messages first; start with "
          .. "SQS_CONSUMER=off to receive them here.",
        parameters = json.array {
          query("max", "how many messages at most",
            { type = "integer", minimum = 1, maximum = 10, default = 10 }),
          query("wait", "seconds to long-poll",
            { type = "integer", minimum = 0, maximum = 20, default = 5 }, 0),
        },
        responses = with_failures({ ["200"] = json_reply("the messages received", object({
          message = text("how many were received"), timestamp = TIME,
          messages = { type = "array", items = object({
            message_id = text("SQS's id"), body = { description = "the body: JSON decoded, else a string" },
            attributes = { type = "object", description = "the message attributes: a String as a "
              .. "string, a Number as a number, a Binary (any bytes) as the AWS CLI shows it, "
              .. "{\"DataType\": \"Binary\", \"BinaryValue\": base64}",
              additionalProperties = { oneOf = json.array {
                { type = "string" }, { type = "number" },
                object({ DataType = text("Binary, or Binary.<custom type>"),
                         BinaryValue = text("the bytes, base64") }, { "DataType", "BinaryValue" }) } } },
            receive_count = { type = "integer" }, sent_at = TIME,
            deleted = { type = "boolean", description = "false when SQS did not delete it: "
              .. "it will be delivered again after the visibility timeout" },
          }) },
        }, { "message", "messages" })) }, { validation = "max or wait out of range" }),
      }, head = head_op("receiving (or deleting) any message") },
      ["/save-data"] = { post = {
        summary = "Saves an item to the DynamoDB table (it expires after a day)",
        requestBody = ITEM_BODY,
        responses = with_failures({ ["201"] = json_reply("saved", SAVED) },
          { body = true, validation = ITEM_REFUSED }),
      } },
      ["/get-data/{id}"] = { get = {
        summary = "The newest item saved under an id",
        parameters = json.array { { name = "id", ["in"] = "path", required = true,
          description = "an id from POST /save-data or /workflow", schema = { type = "string" } } },
        responses = with_failures({
          ["200"] = json_reply("found", object({ data = ANY_OBJECT }, { "data" })),
          ["404"] = failure("no item with that id"),
        }),
      } },
      ["/workflow"] = {
        get = workflow_op("Workflow with generated data: save an item, send a message", false),
        head = head_op("saving or sending anything"),
        post = workflow_op("Workflow with the body's data: save an item, send a message", true),
      },
      ["/openapi.json"] = { get = {
        summary = "This document",
        responses = { ["200"] = json_reply("the OpenAPI 3.1 document", { type = "object" }) },
      } },
      ["/docs"] = { get = {
        summary = "A page to read and try the API (its own script and style sheet only)",
        responses = { ["200"] = { description = "an HTML page",
          content = { ["text/html"] = { schema = { type = "string" } } } } },
      } },
      ["/docs/app.js"] = { get = {
        summary = "The script of the /docs page",
        responses = { ["200"] = { description = "JavaScript",
          content = { ["text/javascript"] = { schema = { type = "string" } } } } },
      } },
      ["/docs/app.css"] = { get = {
        summary = "The style sheet of the /docs page",
        responses = { ["200"] = { description = "CSS",
          content = { ["text/css"] = { schema = { type = "string" } } } } },
      } },
    },
  }
end

return { document = document }
