-- tycho.dynamodb — DynamoDB tables (docs/routes.md, "DynamoDB"), on tycho.aws.call.
--
--   local ddb = require "tycho.dynamodb"
--   local items = ddb.table(os.getenv "DYNAMODB_APP_TABLE")
--   items:put({ id = "1", n = 3, tags = ddb.set { "a", "b" } }, { condition = "attribute_not_exists(id)" })
--   local item = items:get { id = "1" }                 -- nil when absent
--   items:update({ id = "1" }, { set = { name = "x" }, add = { n = 1 }, return_values = "ALL_NEW" })
--   for page in items:query_pages { key_condition = "id = :id", values = { [":id"] = "1" } } do ... end
--
-- Lua values <-> AttributeValues: string S, boolean BOOL, json.null NULL,
-- table with string keys M, array (1..n, or json.array) L, number N,
-- ddb.number("…") N (exact decimal text), ddb.binary(s) B, ddb.set{…} SS/NS/BS.
-- An N that a Lua number holds exactly comes back as a number, any other as
-- ddb.number("…"). Calls yield and raise aws.Error (tycho.aws) on failure; a
-- failed condition raises type "ConditionalCheckFailedException" with
-- err.condition_failed = true (and err.item with return_old_on_failure). A
-- value that cannot be sent (NaN, a function, nesting past DynamoDB's 32
-- levels...) or an unknown option key raises type "InvalidParameterValue"
-- before any call, naming it. Every call's options also take aws.call's
-- timeout (seconds per attempt) and max_attempts (1: no retry).
local aws = require "tycho.aws"
local json = require "tycho.json"
local time = require "tycho.time"
local protect = require "tycho.protect"

local ddb = {}
local NULL = json.null
local ARRAY_MT = json.array_mt

-- --- numbers ---------------------------------------------------------------------

-- sign .. significant digits .. "e" .. exponent, or nil when s is not a decimal
local function canonical(s)
  if type(s) ~= "string" then return nil end
  local mant, exp = s:match("^(.-)[eE]([+-]?%d+)$")
  if not mant then mant, exp = s, "0" end
  local sign, int, frac = mant:match("^([+-]?)(%d*)%.?(%d*)$")
  if not sign or (int == "" and frac == "") then return nil end
  local digits = (int .. frac):gsub("^0+", "")
  if digits == "" then return "0" end
  local e = tonumber(exp) - #frac
  local stripped = digits:gsub("0+$", "")
  e = e + (#digits - #stripped)
  return (sign == "-" and "-" or "") .. stripped .. "e" .. e
end

local number_string = aws.number_string

local Number = {}
Number.__index = Number
Number.__tostring = function(x) return x.value end
Number.__eq = function(a, b) return canonical(a.value) == canonical(b.value) end
function Number:tonumber() return tonumber(self.value) end

-- ddb.number("12345678901234567890.5"): a DynamoDB number kept as its exact
-- decimal text (up to 38 significant digits).
function ddb.number(s)
  if type(s) == "number" then s = number_string(s) end
  if not canonical(s) then error(("tycho.dynamodb.number: not a decimal number: %q"):format(tostring(s)), 2) end
  return setmetatable({ value = s }, Number)
end
function ddb.is_number(v) return getmetatable(v) == Number end

local function decode_number(s)
  local x = tonumber(s)
  if x and x == x and math.abs(x) ~= math.huge and canonical(number_string(x)) == canonical(s) then
    return x
  end
  return setmetatable({ value = s }, Number)
end

-- --- binary and sets ---------------------------------------------------------------

local Binary = {}
Binary.__index = Binary
Binary.__tostring = function(x) return x.value end
Binary.__eq = function(a, b) return a.value == b.value end

-- ddb.binary(bytes): a B value (b.value holds the bytes)
function ddb.binary(s)
  if type(s) ~= "string" then error("tycho.dynamodb.binary: expected a string of bytes", 2) end
  return setmetatable({ value = s }, Binary)
end
function ddb.is_binary(v) return getmetatable(v) == Binary end

local SET_MT = { SS = { __set = "SS" }, NS = { __set = "NS" }, BS = { __set = "BS" } }

local function set_kind(list)
  local kind
  for _, v in ipairs(list) do
    local k = type(v) == "string" and "SS" or (type(v) == "number" or getmetatable(v) == Number) and "NS"
      or getmetatable(v) == Binary and "BS" or nil
    if not k or (kind and kind ~= k) then return nil end
    kind = k
  end
  return kind
end

-- ddb.set{ ... }: a string, number or binary set (from its elements; not empty).
-- The set is an array of its elements; ddb.set_type(s) -> "SS"|"NS"|"BS".
function ddb.set(list, kind)
  if type(list) ~= "table" or #list == 0 then error("tycho.dynamodb.set: expected a non-empty list", 2) end
  kind = kind or set_kind(list)
  if not SET_MT[kind] then
    error("tycho.dynamodb.set: elements must be all strings, all numbers or all binary values", 2)
  end
  local s = {}
  for i, v in ipairs(list) do s[i] = v end
  return setmetatable(s, SET_MT[kind])
end
function ddb.set_type(v)
  local mt = getmetatable(v)
  return mt and type(mt) == "table" and mt.__set or nil
end
function ddb.is_set(v) return ddb.set_type(v) ~= nil end

-- --- marshalling -----------------------------------------------------------------------

-- An argument check failed before any call: the aws.Error of docs/routes.md
-- ("Errors"). call() names the operation.
local function invalid(fmt, ...)
  error(aws.error { type = "InvalidParameterValue", service = "dynamodb", message = fmt:format(...) }, 0)
end

local MAX_DEPTH = 32 -- DynamoDB's nesting limit (top-level attributes are level 0)

local function number_av(v, path)
  if v ~= v or v == math.huge or v == -math.huge then
    invalid("%s: NaN and infinity cannot be stored", path)
  end
  return number_string(v)
end

local to_av

local function map_av(t, path, depth)
  local m = {}
  for k, v in pairs(t) do
    if type(k) ~= "string" then invalid("%s: a map key must be a string (got %s)", path, type(k)) end
    m[k] = to_av(v, path .. "." .. k, depth)
  end
  return m
end

to_av = function(v, path, depth)
  if depth > MAX_DEPTH then invalid("%s: nested deeper than %d levels", path, MAX_DEPTH) end
  local t = type(v)
  if t == "string" then return { S = v } end
  if t == "boolean" then return { BOOL = v } end
  if t == "number" then return { N = number_av(v, path) } end
  if v == NULL then return { NULL = true } end
  if t ~= "table" then invalid("%s: cannot store a %s", path, t) end
  local mt = getmetatable(v)
  if mt == Number then return { N = v.value } end
  if mt == Binary then return { B = aws.b64encode(v.value) } end
  local kind = ddb.set_type(v)
  if kind then
    local out = {}
    for i, e in ipairs(v) do
      out[i] = kind == "SS" and e or kind == "BS" and aws.b64encode(e.value)
        or (type(e) == "number" and number_av(e, path) or e.value)
    end
    return { [kind] = out }
  end
  local n, count, strings = #v, 0, false
  for k in pairs(v) do
    count = count + 1
    if type(k) == "string" then strings = true end
  end
  if mt == ARRAY_MT or (count > 0 and not strings and count == n) then
    local l = {}
    for i = 1, n do l[i] = to_av(v[i], path .. "[" .. i .. "]", depth + 1) end
    return { L = json.array(l) }
  end
  if count > 0 and (not strings or n > 0) then
    invalid("%s: a table must be a list (keys 1..n) or a map (string keys)", path)
  end
  return { M = map_av(v, path, depth + 1) }
end

local from_av

local function from_map(m)
  local out = {}
  for k, av in pairs(m) do out[k] = from_av(av) end
  return out
end

from_av = function(av)
  if av.S ~= nil then return av.S end
  if av.N ~= nil then return decode_number(av.N) end
  if av.BOOL ~= nil then return av.BOOL end
  if av.NULL ~= nil then return NULL end
  if av.M ~= nil then return from_map(av.M) end
  if av.L ~= nil then
    local l = {}
    for i, e in ipairs(av.L) do l[i] = from_av(e) end
    return json.array(l)
  end
  if av.B ~= nil then return ddb.binary(aws.b64decode(av.B) or "") end
  if av.SS then return ddb.set(av.SS, "SS") end
  if av.NS then
    local l = {}
    for i, s in ipairs(av.NS) do l[i] = decode_number(s) end
    return ddb.set(l, "NS")
  end
  if av.BS then
    local l = {}
    for i, s in ipairs(av.BS) do l[i] = ddb.binary(aws.b64decode(s) or "") end
    return ddb.set(l, "BS")
  end
  error("tycho.dynamodb: unknown AttributeValue " .. json.encode(av), 0)
end

-- ddb.marshal(item) -> { name = AttributeValue }; ddb.unmarshal(avmap) -> item
function ddb.marshal(item)
  if type(item) ~= "table" or getmetatable(item) then invalid("an item or key must be a table of attributes") end
  return map_av(item, "item", 0)
end
function ddb.unmarshal(m)
  if m == nil then return nil end
  return from_map(m)
end
ddb.to_attribute_value = function(v) return to_av(v, "value", 0) end
ddb.from_attribute_value = from_av

-- --- requests ----------------------------------------------------------------------------

local Table = {}
Table.__index = Table

function ddb.table(name)
  if type(name) ~= "string" or name == "" then error("tycho.dynamodb.table: expected a table name", 2) end
  return setmetatable({ name = name }, Table)
end

-- Runs an operation on the parameters build(...) returns, with the
-- aws.CALL_OPTIONS of the options table it returns after them. An argument
-- error raised while building them gets the operation's name; a failed
-- condition gets condition_failed (and item). A memory error goes on as one.
local function call(t, op, build, ...)
  local built, params, opts = protect.pcall(build, ...)
  if not built then
    if aws.is_error(params) then params.operation = op end
    error(params, 0)
  end
  local ok, res = protect.pcall(aws.call, "dynamodb", "DynamoDB_20120810." .. op, params,
    aws.call_options(opts, { table = t.name }))
  if ok then return res end
  if aws.is_error(res, "ConditionalCheckFailedException") then
    res.condition_failed = true
    if res.details and res.details.Item then res.item = ddb.unmarshal(res.details.Item) end
  end
  error(res, 0)
end

local function prefixed(k, p) return k:sub(1, 1) == p and k or p .. k end

-- Fills ExpressionAttributeNames/Values from user names/values (keys with or
-- without their '#'/':') and generated ones.
local function add_expr_attrs(params, names, values, gen_names, gen_values)
  local n, v = {}, {}
  for k, x in pairs(names or {}) do n[prefixed(k, "#")] = x end
  for k, x in pairs(gen_names or {}) do n[k] = x end
  for k, x in pairs(values or {}) do v[prefixed(k, ":")] = to_av(x, "values." .. k, 0) end
  for k, x in pairs(gen_values or {}) do v[k] = x end
  if next(n) then params.ExpressionAttributeNames = n end
  if next(v) then params.ExpressionAttributeValues = v end
end

local function projection(p, gen_names)
  if p == nil or type(p) == "string" then return p end
  local parts = {}
  for i, name in ipairs(p) do
    gen_names["#p" .. i] = name
    parts[i] = "#p" .. i
  end
  return table.concat(parts, ", ")
end

local function sorted_keys(t)
  local ks = {}
  for k in pairs(t or {}) do ks[#ks + 1] = k end
  table.sort(ks)
  return ks
end

-- PutItem / DeleteItem parameters: the item or key (member), a condition,
-- what to return.
local WRITE_OPTIONS = { "condition", "names", "values", "return_values", "return_old_on_failure",
  unpack(aws.CALL_OPTIONS) }

local function write_params(self, member, value, opts)
  aws.check_options(opts, WRITE_OPTIONS, "dynamodb")
  opts = opts or {}
  local p = { TableName = self.name, [member] = ddb.marshal(value), ConditionExpression = opts.condition,
    ReturnValues = opts.return_values,
    ReturnValuesOnConditionCheckFailure = opts.return_old_on_failure and "ALL_OLD" or nil }
  add_expr_attrs(p, opts.names, opts.values)
  return p, opts
end

-- t:put(item [, { condition, names, values, return_values = "ALL_OLD", return_old_on_failure }])
-- -> the old item with return_values = "ALL_OLD", else nil
function Table:put(item, opts)
  return ddb.unmarshal(call(self, "PutItem", write_params, self, "Item", item, opts).Attributes)
end

local function get_params(self, key, opts)
  aws.check_options(opts, { "consistent", "projection", "names", unpack(aws.CALL_OPTIONS) }, "dynamodb")
  opts = opts or {}
  local gen = {}
  local p = { TableName = self.name, Key = ddb.marshal(key), ConsistentRead = opts.consistent,
    ProjectionExpression = projection(opts.projection, gen) }
  add_expr_attrs(p, opts.names, nil, gen)
  return p, opts
end

-- t:get(key [, { consistent, projection = "a, #b" | { "a", "b" }, names }]) -> item or nil
function Table:get(key, opts)
  return ddb.unmarshal(call(self, "GetItem", get_params, self, key, opts).Item)
end

-- t:delete(key [, { condition, names, values, return_values = "ALL_OLD", return_old_on_failure }])
function Table:delete(key, opts)
  return ddb.unmarshal(call(self, "DeleteItem", write_params, self, "Key", key, opts).Attributes)
end

-- The UpdateItem parameters of t:update (below).
local UPDATE_SPEC = { "set", "add", "remove", "delete", unpack(WRITE_OPTIONS) }

local function update_params(self, key, spec, opts)
  aws.check_options(opts, WRITE_OPTIONS, "dynamodb")
  opts = opts or {}
  local expr
  local gen_names, gen_values = {}, {}
  if type(spec) == "string" then
    expr = spec
  elseif type(spec) == "table" then
    aws.check_options(spec, UPDATE_SPEC, "dynamodb")
    local i = 0
    local function ph(name, value)
      i = i + 1
      gen_names["#u" .. i] = name
      if value ~= nil then gen_values[":u" .. i] = to_av(value, name, 0) end
      return "#u" .. i, ":u" .. i
    end
    local clauses = {}
    local set = {}
    for _, k in ipairs(sorted_keys(spec.set)) do
      local n, v = ph(k, spec.set[k])
      set[#set + 1] = n .. " = " .. v
    end
    if #set > 0 then clauses[#clauses + 1] = "SET " .. table.concat(set, ", ") end
    local add = {}
    for _, k in ipairs(sorted_keys(spec.add)) do
      local n, v = ph(k, spec.add[k])
      add[#add + 1] = n .. " " .. v
    end
    if #add > 0 then clauses[#clauses + 1] = "ADD " .. table.concat(add, ", ") end
    local remove = {}
    for _, k in ipairs(spec.remove or {}) do remove[#remove + 1] = (ph(k)) end
    if #remove > 0 then clauses[#clauses + 1] = "REMOVE " .. table.concat(remove, ", ") end
    local del = {}
    for _, k in ipairs(sorted_keys(spec.delete)) do
      local n, v = ph(k, spec.delete[k])
      del[#del + 1] = n .. " " .. v
    end
    if #del > 0 then clauses[#clauses + 1] = "DELETE " .. table.concat(del, ", ") end
    if #clauses == 0 then invalid("update: nothing to set, add, remove or delete") end
    expr = table.concat(clauses, " ")
    for _, f in ipairs(WRITE_OPTIONS) do
      if opts[f] == nil then opts[f] = spec[f] end
    end
  else
    invalid("update(key, spec): spec must be an update expression or a table")
  end
  local p = { TableName = self.name, Key = ddb.marshal(key), UpdateExpression = expr,
    ConditionExpression = opts.condition, ReturnValues = opts.return_values,
    ReturnValuesOnConditionCheckFailure = opts.return_old_on_failure and "ALL_OLD" or nil }
  add_expr_attrs(p, opts.names, opts.values, gen_names, gen_values)
  return p, opts
end

-- t:update(key, spec [, opts])
--   spec: "SET #n = :v ..." (a raw UpdateExpression; names/values in opts), or
--         { set = { attr = value }, add = { attr = number_or_set },
--           remove = { "attr", ... }, delete = { attr = set } } — attribute
--         names are used literally (placeholders are generated).
--   opts (or the same fields in a spec table): condition, names, values,
--         return_values ("ALL_NEW", "UPDATED_NEW", "ALL_OLD", "UPDATED_OLD"), return_old_on_failure
-- -> the attributes asked for with return_values, else nil
function Table:update(key, spec, opts)
  return ddb.unmarshal(call(self, "UpdateItem", update_params, self, key, spec, opts).Attributes)
end

local function page_of(res)
  local items = {}
  for i, it in ipairs(res.Items or {}) do items[i] = ddb.unmarshal(it) end
  return { items = json.array(items), count = res.Count or #items, scanned_count = res.ScannedCount,
    last_key = ddb.unmarshal(res.LastEvaluatedKey) }
end

local SEARCH_OPTIONS = {
  Query = { "key_condition", "key", "values", "names", "index", "filter", "limit", "forward",
    "start_key", "projection", "consistent", "select", unpack(aws.CALL_OPTIONS) },
  Scan = { "filter", "values", "names", "index", "limit", "start_key", "projection", "consistent",
    "select", "segment", "total_segments", unpack(aws.CALL_OPTIONS) },
}

local function search_params(t, q, op)
  aws.check_options(q, SEARCH_OPTIONS[op], "dynamodb")
  local gen_names, gen_values = {}, {}
  local p = { TableName = t.name, IndexName = q.index, FilterExpression = q.filter, Limit = q.limit,
    ConsistentRead = q.consistent, Select = q.select,
    ProjectionExpression = projection(q.projection, gen_names),
    Segment = q.segment, TotalSegments = q.total_segments }
  if q.start_key then p.ExclusiveStartKey = ddb.marshal(q.start_key) end
  if op == "Query" then
    local kc = q.key_condition
    if kc == nil and type(q.key) == "table" then
      local parts = {}
      for i, k in ipairs(sorted_keys(q.key)) do
        gen_names["#k" .. i] = k
        gen_values[":k" .. i] = to_av(q.key[k], "key." .. k, 0)
        parts[#parts + 1] = "#k" .. i .. " = :k" .. i
      end
      kc = table.concat(parts, " AND ")
    end
    if type(kc) ~= "string" or kc == "" then
      invalid("query needs key_condition (an expression) or key = { pk = value }")
    end
    p.KeyConditionExpression = kc
    if q.forward ~= nil then p.ScanIndexForward = q.forward and true or false end
  end
  add_expr_attrs(p, q.names, q.values, gen_names, gen_values)
  return p, q
end

-- t:query{ key_condition = "pk = :p AND begins_with(sk, :s)" | key = { pk = v },
--          values, names, index, filter, limit, forward = false, start_key,
--          projection, consistent, select }
-- -> one page: { items, count, scanned_count, last_key (nil on the last page) }
function Table:query(q)
  return page_of(call(self, "Query", search_params, self, q or {}, "Query"))
end

-- t:scan{ filter, values, names, index, limit, start_key, projection, consistent, select,
--         segment, total_segments (a parallel scan: this segment 0..total_segments-1) } -> one page
function Table:scan(q)
  return page_of(call(self, "Scan", search_params, self, q or {}, "Scan"))
end

local function pages(t, q, fn)
  local start, done = q.start_key, false
  return function()
    if done then return nil end
    local qq = {}
    for k, v in pairs(q) do qq[k] = v end
    qq.start_key = start
    local page = fn(t, qq)
    start = page.last_key
    done = start == nil
    return page
  end
end

-- for page in t:query_pages{ ... } do ... end: every page, following last_key
function Table:query_pages(q) return pages(self, q or {}, Table.query) end
function Table:scan_pages(q) return pages(self, q or {}, Table.scan) end

-- --- batches ---------------------------------------------------------------------------

-- DynamoDB's limits of one request: 25 writes (BatchWriteItem), 100 keys
-- (BatchGetItem).
local WRITES_PER_REQUEST, KEYS_PER_REQUEST = 25, 100
-- What DynamoDB leaves unprocessed (its throughput, at the moment) is sent
-- again after aws.backoff(n, BACKOFF_BASE, BACKOFF_CAP): from 0.1 s, doubling,
-- at most 2 s, jittered; up to opts.retries times per request (default 5).
local BACKOFF_BASE, BACKOFF_CAP, DEFAULT_RETRIES, MAX_RETRIES = 0.1, 2, 5, 20

local function batch_retries(opts)
  local r = opts.retries
  if r == nil then return DEFAULT_RETRIES end
  if type(r) ~= "number" or r < 0 or r > MAX_RETRIES or r ~= math.floor(r) then
    invalid("retries must be an integer from 0 to %d", MAX_RETRIES)
  end
  return r
end

-- The entries not done: chunk's, then entries[from..].
local function not_done(chunk, entries, from)
  local out = {}
  for _, e in ipairs(chunk) do out[#out + 1] = e end
  for k = from, #entries do out[#out + 1] = entries[k] end
  return out
end

-- Sends entries (the wire form) in requests of at most b.per, each built by
-- b.params(t, chunk); b.got(res) takes what a request did, b.left(res, t)
-- lists the entries it left unprocessed, which are sent again
-- (aws.backoff) up to `retries` times. A request that fails, or entries
-- still unprocessed after the retries (an aws.Error of type
-- b.unprocessed_type), raise after b.fail(err, list) has put on err every
-- entry not done (that request's and the later ones').
local function run_batch(t, b, entries, opts, retries)
  local function build(params) return params, opts end
  for first = 1, #entries, b.per do
    local chunk = {}
    for k = first, math.min(first + b.per - 1, #entries) do chunk[#chunk + 1] = entries[k] end
    local later = first + b.per
    for n = 1, retries + 1 do
      local ok, res = protect.pcall(call, t, b.op, build, b.params(t, chunk))
      if not ok then
        if not aws.is_error(res) then error(res, 0) end
        b.fail(res, not_done(chunk, entries, later))
        error(res, 0)
      end
      b.got(res)
      chunk = b.left(res, t)
      if #chunk == 0 then break end
      if n == retries + 1 then
        local left = not_done(chunk, entries, later)
        local err = aws.error { type = b.unprocessed_type, service = "dynamodb", operation = b.op,
          retryable = true, http_status = 503,
          message = ("%d of %d %s left unprocessed by DynamoDB after %d retries (its throughput "
            .. "at the moment); err.unprocessed holds them"):format(#left, #entries, b.what, retries) }
        b.fail(err, left)
        error(err, 0)
      end
      time.sleep(aws.backoff(n, BACKOFF_BASE, BACKOFF_CAP))
    end
  end
end

-- fn(...)'s two results; an argument error it raises gets op's name.
local function prepare(op, fn, ...)
  local ok, x, y = protect.pcall(fn, ...)
  if ok then return x, y end
  if aws.is_error(x) then x.operation = op end
  error(x, 0)
end

-- ddb.marshal(value); an argument error names where the value was (put[3]).
local function marshal_at(value, where)
  local ok, m = protect.pcall(ddb.marshal, value)
  if ok then return m end
  if aws.is_error(m) then m.message = where .. ": " .. m.message end
  error(m, 0)
end

local BATCH_WRITE_OPTIONS = { "retries", unpack(aws.CALL_OPTIONS) }

local function write_entries(writes, opts)
  if type(writes) ~= "table" or getmetatable(writes) then
    invalid("batch_write: expected { put = { items }, delete = { keys } }")
  end
  aws.check_options(writes, { "put", "delete" }, "dynamodb")
  local out = {}
  for i, item in ipairs(writes.put or {}) do
    out[#out + 1] = { PutRequest = { Item = marshal_at(item, ("put[%d]"):format(i)) } }
  end
  for i, key in ipairs(writes.delete or {}) do
    out[#out + 1] = { DeleteRequest = { Key = marshal_at(key, ("delete[%d]"):format(i)) } }
  end
  return out, batch_retries(opts)
end

local WRITE_BATCH = {
  op = "BatchWriteItem", per = WRITES_PER_REQUEST, what = "writes", unprocessed_type = "UnprocessedItems",
  params = function(t, chunk) return { RequestItems = { [t.name] = json.array(chunk) } } end,
  got = function() end,
  left = function(res, t) return (res.UnprocessedItems or {})[t.name] or {} end,
  fail = function(err, left)
    local u = { put = json.array {}, delete = json.array {} }
    for _, e in ipairs(left) do
      if e.PutRequest then u.put[#u.put + 1] = ddb.unmarshal(e.PutRequest.Item)
      else u.delete[#u.delete + 1] = ddb.unmarshal(e.DeleteRequest.Key) end
    end
    err.unprocessed = u
  end,
}

-- t:batch_write({ put = { item, ... }, delete = { key, ... } } [, { retries, timeout, max_attempts }])
-- BatchWriteItem in requests of 25, unprocessed writes sent again (see
-- run_batch). Every item and key is checked before the first request. On
-- failure the aws.Error has err.unprocessed = { put = { items }, delete =
-- { keys } }: the writes not done (the others were), type
-- "UnprocessedItems" when DynamoDB kept leaving some, else the request's own.
function Table:batch_write(writes, opts)
  aws.check_options(opts, BATCH_WRITE_OPTIONS, "dynamodb", "BatchWriteItem")
  opts = opts or {}
  local entries, retries = prepare("BatchWriteItem", write_entries, writes, opts)
  run_batch(self, WRITE_BATCH, entries, opts, retries)
end

local BATCH_GET_OPTIONS = { "consistent", "projection", "names", "retries", unpack(aws.CALL_OPTIONS) }

-- The keys' wire form, and the request's other parameters.
local function get_entries(keys, opts)
  if type(keys) ~= "table" or getmetatable(keys) then invalid("batch_get: expected a list of keys") end
  local out = {}
  for i, key in ipairs(keys) do out[i] = marshal_at(key, ("keys[%d]"):format(i)) end
  local gen = {}
  local extra = { ConsistentRead = opts.consistent, ProjectionExpression = projection(opts.projection, gen) }
  add_expr_attrs(extra, opts.names, nil, gen)
  return out, extra
end

-- t:batch_get({ key, ... } [, { consistent, projection, names, retries, timeout, max_attempts }])
-- -> the items found, decoded as t:get decodes them, in no particular order
-- (DynamoDB's; a key without an item has none). BatchGetItem in requests of
-- 100 keys, unprocessed keys sent again (see run_batch). On failure the
-- aws.Error has err.items (those read) and err.unprocessed (the keys not
-- read), type "UnprocessedKeys" when DynamoDB kept leaving some.
function Table:batch_get(keys, opts)
  aws.check_options(opts, BATCH_GET_OPTIONS, "dynamodb", "BatchGetItem")
  opts = opts or {}
  local wire, extra = prepare("BatchGetItem", get_entries, keys, opts)
  local retries = prepare("BatchGetItem", batch_retries, opts)
  local items = json.array {}
  run_batch(self, {
    op = "BatchGetItem", per = KEYS_PER_REQUEST, what = "keys", unprocessed_type = "UnprocessedKeys",
    params = function(t, chunk)
      local r = { Keys = json.array(chunk) }
      for k, v in pairs(extra) do r[k] = v end
      return { RequestItems = { [t.name] = r } }
    end,
    got = function(res)
      for _, it in ipairs((res.Responses or {})[self.name] or {}) do items[#items + 1] = ddb.unmarshal(it) end
    end,
    left = function(res, t)
      local u = (res.UnprocessedKeys or {})[t.name]
      return u and u.Keys or {}
    end,
    fail = function(err, left)
      local u = json.array {}
      for _, k in ipairs(left) do u[#u + 1] = ddb.unmarshal(k) end
      err.unprocessed, err.items = u, items
    end,
  }, wire, opts, retries)
  return items
end

-- ddb.plain(value): a copy fit for tycho.json (a handler's response):
-- ddb.number -> its decimal string, ddb.binary -> base64 text, sets -> arrays;
-- everything else as it is.
function ddb.plain(v)
  if type(v) ~= "table" then return v end
  local mt = getmetatable(v)
  if mt == Number then return v.value end
  if mt == Binary then return aws.b64encode(v.value) end
  local out = {}
  for k, x in pairs(v) do out[k] = ddb.plain(x) end
  if ddb.set_type(v) or mt == ARRAY_MT then return json.array(out) end
  return out
end

-- true when err is a failed ConditionExpression
function ddb.is_condition_failed(err) return aws.is_error(err, "ConditionalCheckFailedException") end

ddb.Table = Table
ddb.null = NULL
return ddb
