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

local aws = {}

local Error = {}
Error.__index = Error
Error.__tostring = function(e)
  local s = ("%s.%s failed: %s"):format(e.service_name or e.service or "?", e.operation or "?",
    e.message or e.type or "error")
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
  local ok, v = pcall(json.decode, body)
  if ok and type(v) == "table" then return v end
  return nil
end

-- call(service, target, params [, opts]) -> decoded response, or raises aws.Error.
-- opts: endpoint (URL), timeout (seconds per attempt), max_attempts (1 = no
-- retry; default the client's 3), producer (true for sends: PRODUCER span +
-- AWSTraceHeader), table / queue_url (span attributes).
function aws.call(service, target, params, opts)
  if type(service) ~= "string" or type(target) ~= "string" then
    error("tycho.aws.call(service, target, params): service and target must be strings", 2)
  end
  local ok, body, info = core.call(service, target, params, opts)
  local operation = target:match("[^.]+$")
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
-- instead of being ignored.
function aws.check_options(opts, known, service, operation)
  local problem = options.problem(opts, known)
  if problem then
    error(aws.error { type = "InvalidParameterValue", service = service, operation = operation,
      message = problem }, 0)
  end
end

-- The options of aws.call a tycho.sqs or tycho.dynamodb call passes on
-- (a health check's short deadline without retries: { timeout = 2,
-- max_attempts = 1 }).
aws.CALL_OPTIONS = { "timeout", "max_attempts" }

-- into (a table of aws.call options) with the CALL_OPTIONS of opts (may be nil).
function aws.call_options(opts, into)
  for _, k in ipairs(aws.CALL_OPTIONS) do into[k] = opts and opts[k] end
  return into
end

-- "local" (embedded backend) or "aws".
aws.backend = core.backend
aws.md5 = core.md5
aws.b64encode = core.b64encode
aws.b64decode = core.b64decode

return aws
