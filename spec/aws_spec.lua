-- tycho.aws.call's argument checks: a bad service name, target, params or
-- option raises an InvalidParameterValue aws.Error naming it, before any
-- request (docs/routes.md, "tycho.aws"), as tycho.sqs and tycho.dynamodb do.
local aws = require "tycho.aws"

local LIST = "DynamoDB_20120810.ListTables"

local function refused(...)
  local ok, err = pcall(aws.call, ...)
  assert.is_false(ok, "expected an error")
  assert.is_true(aws.is_error(err, "InvalidParameterValue"), tostring(err))
  assert.equal(0, err.status)
  assert.is_nil(err.attempts) -- no request made
  return err
end

describe("tycho.aws.call arguments", function()
  it("names a service that is not a signing name (not the region)", function()
    local err = refused("dyn amo", LIST, {})
    assert.equal("tycho.aws.call: service must be a signing name (letters, digits, '-'), got \"dyn amo\"",
      err.message)
    refused(nil, LIST, {})
  end)

  it("refuses a target that is not an operation name, shown on one line", function()
    local err = refused("dynamodb", "A\r\nB", {})
    assert.equal("tycho.aws.call: target must be an operation name (Prefix.Operation: letters, digits, "
      .. "'_', '.'), got \"A\\13\\10B\"", err.message)
    refused("dynamodb", "", {})
    refused("dynamodb", 5, {})
  end)

  it("refuses params that are neither a table nor a JSON string", function()
    local err = refused("dynamodb", LIST, 5)
    assert.equal("tycho.aws.call: params must be a table or a JSON string, got number", err.message)
    assert.equal("ListTables", err.operation)
  end)

  it("refuses a timeout out of range or not a number, 0 included", function()
    for _, t in ipairs { 0, -1, -0.0001, 3601, 0 / 0, "5" } do
      local err = refused("dynamodb", LIST, {}, { timeout = t })
      assert.matches("^tycho.aws.call: opts.timeout must be seconds over 0 and up to 3600, got ", err.message)
    end
    assert.equal("tycho.aws.call: opts.timeout must be seconds over 0 and up to 3600, got 0",
      refused("dynamodb", LIST, {}, { timeout = 0 }).message)
  end)

  it("refuses an unknown option, and options of the wrong type", function()
    local err = refused("dynamodb", LIST, {}, { timout = 1 })
    assert.equal("unknown option 'timout' (endpoint, timeout, max_attempts, producer, table, queue_url)",
      err.message)
    refused("dynamodb", LIST, {}, "opts")
    assert.equal("tycho.aws.call: opts.endpoint must be a string, got number",
      refused("dynamodb", LIST, {}, { endpoint = 5 }).message)
    refused("dynamodb", LIST, {}, { producer = "yes" })
    for _, m in ipairs { 0, 51, 1.5, "2" } do
      assert.matches("^tycho.aws.call: opts.max_attempts must be an integer from 1 to 50, got ",
        refused("dynamodb", LIST, {}, { max_attempts = m }).message)
    end
  end)
end)

describe("aws.Error's text", function()
  it("names the call, or what it knows of it, never '?'", function()
    assert.equal("DynamoDB.PutItem failed: m", tostring(aws.error {
      type = "ThrottlingException", message = "m", service = "dynamodb", operation = "PutItem" }))
    assert.equal("SQS.SendMessage failed: m (after 3 attempts)", tostring(aws.error {
      type = "ThrottlingException", message = "m", service = "sqs", operation = "SendMessage", attempts = 3 }))
    assert.equal("SQS call failed: no", tostring(aws.error { type = "X", message = "no", service = "sqs" }))
    assert.equal("AWS call failed: no", tostring(aws.error { type = "X", message = "no" }))
    assert.equal("AWS call failed: X", tostring(aws.error { type = "X" }))
    local ok, err = pcall(aws.check_options, { timout = 1 }, { "timeout" }, "sqs")
    assert.is_false(ok)
    assert.equal("SQS call failed: unknown option 'timout' (timeout)", tostring(err))
  end)
end)

describe("tycho.aws base64", function()
  it("round-trips every byte", function()
    local all = {}
    for i = 0, 255 do all[#all + 1] = string.char(i) end
    all = table.concat(all)
    for n = 0, 5 do
      local s = all:sub(1, 250 + n)
      assert.equal(s, aws.b64decode(aws.b64encode(s)))
    end
    assert.equal("AAEC/w==", aws.b64encode("\0\1\2\255"))
    assert.equal("", aws.b64decode(""))
  end)

  it("refuses anything but padded standard base64, saying why (RFC 4648 4)", function()
    for text, why in pairs({
      ["aGVsbG8"] = "length not a multiple of 4 (padding missing?)",
      ["aGVs\nbG8="] = "length not a multiple of 4 (padding missing?)",
      ["aGV\nbG8="] = "a character outside A-Z a-z 0-9 + / =",
      ["aGV-bG8_"] = "a character outside A-Z a-z 0-9 + / =",
      ["aG=sbG8="] = "'=' padding before the last 2 characters",
      ["aGVsbG=8"] = "data after '=' padding",
      ["aGVsbG9="] = "non-zero unused bits before the padding (not canonical)",
    }) do
      local bytes, err = aws.b64decode(text)
      assert.is_nil(bytes, text)
      assert.equal("bad base64: " .. why, err)
    end
  end)
end)
