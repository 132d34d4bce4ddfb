-- tycho.aws — the generic signed AWS JSON 1.0 call that tycho.sqs and
-- tycho.dynamodb are built on (docs/routes.md, "AWS").
--
--   local aws = require "tycho.aws"
--   local out = aws.call("dynamodb", "DynamoDB_20120810.DescribeTable", { TableName = "t" })
--
-- It yields until the call is done (retries included: the SDKs' standard
-- mode) and returns the decoded response. A failure raises an aws.Error:
--   err.type       AWS error code ("ThrottlingException") or "TransportError",
--                  "CredentialsError", "ConfigurationError", "MD5Mismatch", ...
--   err.message    one clear line; err.status (AWS's HTTP status, 0 if none);
--   err.retryable; err.request_id; err.attempts; err.service; err.operation;
--   err.details    the decoded error body, when there is one;
--   err.http_status what a handler answers if it lets the error escape
--                  (409 conditional check, 503 throttled, 504/502 transport
--                  and AWS 5xx, else 500).
--   err.server_fault true when the server's own credentials, signature,
--                  permissions or settings are at fault (CredentialsError,
--                  InvalidSignatureException, AccessDenied*...) or AWS was
--                  not reached (TransportError: names the endpoint): the message
--                  is for the log; an escaped error answers without it.
-- With TYCHO_AWS_BACKEND=local the same call runs on the embedded backend.
local core = require "tycho._aws"
local json = require "tycho.json"
local options = require "tycho.options"
local protect = require "tycho.protect"

local aws = {}

local Error = {}
Error.__index = Error
-- "DynamoDB.PutItem failed: <message>"; an error that does not know its
-- operation (aws.error, aws.check_options given none) says what it knows
-- rather than "?": "SQS call failed: ...", "AWS call failed: ...".
Error.__tostring = function(e)
  local service = e.service_name or e.service
  local what = service and e.operation and service .. "." .. e.operation
    or (service or "AWS") .. " call"
  local s = ("%s failed: %s"):format(what, e.message or e.type or "error")
  if (e.attempts or 0) > 1 then s = s .. (" (after %d attempts)"):format(e.attempts) end
  return s
end
aws.Error = Error

local DISPLAY = { sqs = "SQS", dynamodb = "DynamoDB" }

local CONFLICT = { ConditionalCheckFailedException = true, TransactionConflictException = true }
local TIMEOUT = { [-5] = true, [-6] = true } -- TYCHO_HTTP_E_CONNECT_TIMEOUT, _TIMEOUT

local function http_status(e)
  if CONFLICT[e.type] then return 409 end
  -- throttling as the C client retries it (one list: tycho_aws_is_throttling_code)
  if core.is_throttling(e.type) or e.quota_exhausted then return 503 end
  if e.type == "TransportError" then return TIMEOUT[e.transport_error] and 504 or 502 end
  if (e.status or 0) >= 500 then return 502 end
  return 500
end

-- Builds an aws.Error from fields (type and message at least).
function aws.error(fields)
  local e = setmetatable(fields, Error)
  e.status = e.status or 0
  e.retryable = e.retryable or false
  e.service_name = e.service_name or DISPLAY[e.service] or e.service
  e.http_status = e.http_status or http_status(e)
  if e.server_fault == nil then e.server_fault = core.is_server_fault(e.type) end
  return e
end

-- true when err is an aws.Error about the server itself, not the request
-- (err.server_fault; the list is the C client's).
function aws.is_server_fault(err)
  return aws.is_error(err) and err.server_fault == true
end

-- true when err is an aws.Error (of that type, when given).
function aws.is_error(err, typ)
  return getmetatable(err) == Error and (typ == nil or err.type == typ)
end

local function decode(body)
  if body == nil or body == "" then return {} end -- SQS may answer 200 with no body
  local ok, v = protect.pcall(json.decode, body)
  if ok and type(v) == "table" then return v end
  return nil
end

-- The options of aws.call (tycho.sqs and tycho.dynamodb pass the last three).
local OPTIONS = { "endpoint", "timeout", "max_attempts", "producer", "table", "queue_url" }
local STRING_OPTIONS = { "endpoint", "table", "queue_url" }

-- v as an argument error shows it: a string quoted, on one line and cut
-- short; anything else by its type.
local function shown(v)
  if type(v) ~= "string" then return type(v) end
  local s = v:sub(1, 64):gsub("[%c\128-\255\\\"]", function(c) return ("\\%d"):format(c:byte()) end)
  return '"' .. s .. (#v > 64 and '..."' or '"')
end

local function bad_argument(service, operation, fmt, ...)
  error(aws.error { type = "InvalidParameterValue", service = service, operation = operation,
    message = "tycho.aws.call: " .. fmt:format(...) }, 0)
end

-- Checks the values of the aws.CALL_OPTIONS in opts (a table): timeout
-- seconds over 0 and up to 3600 (0 is refused, not read as "the default":
-- leaving the option out is how to ask for that), max_attempts an integer from 1 to 50. Raises InvalidParameterValue.
local function check_call_values(opts, service, operation)
  local t = opts.timeout
  if t ~= nil and not (type(t) == "number" and t > 0 and t <= 3600) then
    bad_argument(service, operation, "opts.timeout must be seconds over 0 and up to 3600, got %s",
      type(t) == "number" and tostring(t) or shown(t))
  end
  local m = opts.max_attempts
  if m ~= nil and not (type(m) == "number" and m >= 1 and m <= 50 and m == math.floor(m)) then
    bad_argument(service, operation, "opts.max_attempts must be an integer from 1 to 50, got %s",
      type(m) == "number" and tostring(m) or shown(m))
  end
end

-- Checks aws.call's arguments before any request (docs/routes.md): service
-- a signing name, target an operation name, params a table or a JSON string,
-- opts known options of the right types. Raises InvalidParameterValue.
local function check_call(service, target, params, opts)
  if type(service) ~= "string" or not service:match("^[%w%-]+$") or #service > 63 then
    bad_argument(nil, nil, "service must be a signing name (letters, digits, '-'), got %s",
      shown(service))
  end
  if type(target) ~= "string" or not target:match("^[%w_.]+$") then
    bad_argument(service, nil, "target must be an operation name (Prefix.Operation: letters, "
      .. "digits, '_', '.'), got %s", shown(target))
  end
  local operation = target:match("[^.]+$")
  if params ~= nil and type(params) ~= "table" and type(params) ~= "string" then
    bad_argument(service, operation, "params must be a table or a JSON string, got %s", shown(params))
  end
  aws.check_options(opts, OPTIONS, service, operation)
  if opts == nil then return operation end
  for _, k in ipairs(STRING_OPTIONS) do
    if opts[k] ~= nil and type(opts[k]) ~= "string" then
      bad_argument(service, operation, "opts.%s must be a string, got %s", k, shown(opts[k]))
    end
  end
  if opts.producer ~= nil and type(opts.producer) ~= "boolean" then
    bad_argument(service, operation, "opts.producer must be a boolean, got %s", shown(opts.producer))
  end
  return operation
end

-- DynamoDB's "Requested resource not found" and SQS's "The specified queue
-- does not exist." name neither the table nor the queue, so a first run
-- against an emulator without them cannot tell which is missing: " (table
-- t)" or " (queue q)" for the message, or "" (the local backend's messages
-- name it already). A queue is named, not shown by its URL: an error's
-- message may reach the client, and a URL holds the account id.
local MISSING_QUEUE = { QueueDoesNotExist = true, ["AWS.SimpleQueueService.NonExistentQueue"] = true }
local function missing_resource(info, params, opts)
  local what
  if info.type == "ResourceNotFoundException" and opts and opts.table then
    what = "table " .. opts.table
  elseif MISSING_QUEUE[info.type] then
    local name = type(params) == "table" and params.QueueName
      or opts and opts.queue_url and opts.queue_url:match("([^/]+)/*$")
    what = name and "queue " .. name
  end
  if not what or info.message:find(what:match(" (.*)"), 1, true) then return "" end
  return " (" .. what .. ")"
end

-- call(service, target, params [, opts]) -> decoded response, or raises aws.Error.
-- opts: endpoint (URL), timeout (seconds per attempt, over 0; default 30),
-- max_attempts (1 = no retry; default the client's 3), producer (true for
-- sends: PRODUCER span + AWSTraceHeader), table / queue_url (span
-- attributes).
function aws.call(service, target, params, opts)
  local operation = check_call(service, target, params, opts)
  local ok, body, info = core.call(service, target, params, opts)
  if ok then
    local res = decode(body)
    if res then return res end
    error(aws.error { type = "SerializationError", service = service, operation = operation,
      message = "the response is not a JSON object: " .. body:sub(1, 120),
      request_id = info.request_id, attempts = info.attempts }, 2)
  end
  info.service = service
  info.operation = operation
  info.details = decode(body)
  if info.message == "" then info.message = info.type end
  info.message = info.message .. missing_resource(info, params, opts)
  error(aws.error(info), 2)
end

-- The shortest decimal form that reads back as the number n: how the SQS
-- and DynamoDB wire formats carry numbers (integers without an exponent).
function aws.number_string(n)
  if n == math.floor(n) and math.abs(n) < 2 ^ 53 then return ("%d"):format(n) end
  for p = 15, 17 do
    local s = ("%." .. p .. "g"):format(n)
    if tonumber(s) == n then return s end
  end
  return ("%.17g"):format(n)
end

-- Checks an options table (tycho.options): a key that is not in the list
-- known (or options that are not a table) raises an InvalidParameterValue
-- aws.Error of service/operation naming it, so a misspelt option fails
-- instead of being ignored; so does a bad value of an aws.CALL_OPTIONS
-- key (timeout, max_attempts: aws.call's own check, run here so that a
-- call refuses it before any request, a GetQueueUrl or a batch's first
-- request included).
function aws.check_options(opts, known, service, operation)
  local problem = options.problem(opts, known)
  if problem then
    error(aws.error { type = "InvalidParameterValue", service = service, operation = operation,
      message = problem }, 0)
  end
  if opts ~= nil then check_call_values(opts, service, operation) end
end

-- The options of aws.call a tycho.sqs or tycho.dynamodb call passes on
-- (a health check's short deadline without retries: { timeout = 2,
-- max_attempts = 1 }).
aws.CALL_OPTIONS = { "timeout", "max_attempts" }

-- into (a table of aws.call options) with the CALL_OPTIONS of opts (may be
-- nil): those set in opts replace into's (its defaults).
function aws.call_options(opts, into)
  for _, k in ipairs(aws.CALL_OPTIONS) do
    if opts and opts[k] ~= nil then into[k] = opts[k] end
  end
  return into
end

-- The pause before retry n (1, 2, ...) of work AWS left undone (a batch's
-- unprocessed entries): capped exponential backoff with full jitter, a
-- random time from 0 to min(cap, base * 2^(n-1)) seconds.
function aws.backoff(n, base, cap)
  return core.random() * math.min(cap, base * 2 ^ (n - 1))
end

-- Counts a received SQS message refused for its MD5 digests in
-- tycho_sqs_md5_mismatch_total{queue} (tycho.sqs's sqs.reject).
aws.count_md5_mismatch = core.md5_mismatch

-- "local" (embedded backend) or "aws".
aws.backend = core.backend
aws.md5 = core.md5
aws.b64encode = core.b64encode
aws.b64decode = core.b64decode

return aws
