-- tycho.metrics: definitions, updates through real requests, the registry's
-- rules surfacing as Lua errors, and the cardinality cap.
local t = require "tycho.test"
local metrics = require "tycho.metrics"

local HERE = debug.getinfo(1, "S").source:match "^@(.*)/[^/]*$" or "."
local telemetry = dofile(HERE .. "/fixtures/serve.lua")("telemetry")
local folder = dofile(HERE .. "/fixtures/folder.lua")
local FIXTURES = telemetry.dir

local function value(name, labels)
  return metrics.value(name, labels) or 0
end

local function errmsg(fn, ...)
  local ok, err = pcall(fn, ...)
  assert.is_false(ok, "expected an error")
  return tostring(err)
end

describe("tycho.metrics", function()
  setup(telemetry.setup)
  teardown(telemetry.teardown)

  describe("updates from route handlers", function()
    it("counts each request once, per label value", function()
      local v0 = value("spec_visits_total", { action = "visit" })
      local b0 = value("spec_visits_total", { action = "buy" })
      assert.equal(204, t.post("/metrics/visit/visit").status)
      assert.equal(204, t.post("/metrics/visit/visit").status)
      assert.equal(204, t.post("/metrics/visit/buy").status)
      assert.equal(v0 + 2, value("spec_visits_total", { action = "visit" }))
      assert.equal(b0 + 1, value("spec_visits_total", { action = "buy" }))
    end)

    it("observes into histogram buckets", function()
      local h0 = metrics.value("spec_work_seconds", { kind = "fast" })
      local c0, s0 = h0 and h0.count or 0, h0 and h0.sum or 0
      local b0 = h0 and h0.buckets or { 0, 0, 0, inf = 0 }
      t.post("/metrics/work/fast/0.05")
      t.post("/metrics/work/fast/0.7")
      t.post("/metrics/work/fast/3")
      local h = metrics.value("spec_work_seconds", { kind = "fast" })
      assert.equal(c0 + 3, h.count)
      assert.near(s0 + 3.75, h.sum, 1e-9)
      assert.equal(b0[1] + 1, h.buckets[1]) -- le 0.1
      assert.equal(b0[2] + 1, h.buckets[2]) -- le 0.5 (cumulative)
      assert.equal(b0[3] + 2, h.buckets[3]) -- le 1
      assert.equal(b0.inf + 3, h.buckets.inf)
    end)

    it("sets and adds to a gauge", function()
      t.put("/metrics/depth/12")
      assert.equal(12, value("spec_queue_depth"))
      t.post("/metrics/depth/add/-5")
      assert.equal(7, value("spec_queue_depth"))
    end)

    it("counts the request in the built-in HTTP metrics too", function()
      local labels = { method = "POST", route = "/metrics/visit/:action", status = "204" }
      local n0 = value("tycho_http_requests_total", labels)
      t.post("/metrics/visit/x")
      assert.equal(n0 + 1, value("tycho_http_requests_total", labels))
    end)
  end)

  describe("registration", function()
    it("returns the same metric when registered again, in a handler or after a reload", function()
      assert.is_true(t.get("/metrics/same").body.same)
      local a = metrics.counter("spec_again_total", "Again.", { "k" })
      local b = metrics.counter("spec_again_total", "Again.", { "k" })
      assert.is_true(rawequal(a, b))
      local before = value("spec_visits_total", { action = "reload" })
      t.post("/metrics/visit/reload")
      assert(t.reload())
      t.post("/metrics/visit/reload")
      assert.equal(before + 2, value("spec_visits_total", { action = "reload" }))
    end)

    it("refuses a conflicting definition with the registry's message", function()
      metrics.counter("spec_conflict_total", "A counter.", { "a" })
      local e = errmsg(metrics.counter, "spec_conflict_total", "A counter.", { "b" })
      assert.matches('metric "spec_conflict_total": already registered as counter with labels %[a%]', e)
      e = errmsg(metrics.gauge, "spec_conflict_total", "A gauge.", { "a" })
      assert.matches("cannot register it as gauge", e)
      metrics.gauge("spec_conflict_merge", "A gauge.", { "a" })
      e = errmsg(metrics.gauge, "spec_conflict_merge", "A gauge.", { "a" }, { merge = "last" })
      assert.matches('already registered as gauge with labels [a] and merge "sum"; '
        .. 'cannot register it as gauge with labels [a] and merge "last"', e, 1, true)
      metrics.histogram("spec_conflict_seconds", nil, nil, { 1, 2 })
      e = errmsg(metrics.histogram, "spec_conflict_seconds", nil, nil, { 1, 3 })
      assert.matches("buckets", e)
    end)

    it("takes a reload's new definition of a metric, counting from 0", function()
      assert.equal(204, t.post("/metrics/visit/changed").status)
      assert.is_true(value("spec_visits_total", { action = "changed" }) >= 1)
      local dir = folder.new { ["changed.lua"] = [[
local depth = require("tycho.metrics").gauge("spec_visits_total", "Now a gauge.", { "action", "who" })
return { { "PUT", "/changed/:n", function(req)
  depth:set({ action = "changed", who = "spec" }, tonumber(req.params.n))
  return 204
end } }
]] }
      local gen, err = t.use_routes(dir)
      folder.remove(dir)
      assert.is_not_nil(gen, err)
      assert.equal(204, t.put("/changed/7").status)
      assert.equal(7, metrics.value("spec_visits_total", { action = "changed", who = "spec" }))
      assert(t.use_routes(FIXTURES)) -- and back: a counter again, from 0
      assert.equal(FIXTURES, t.routes_dir())
      assert.is_nil(metrics.value("spec_visits_total", { action = "changed" }))
      assert.equal(204, t.post("/metrics/visit/changed").status)
      assert.equal(1, metrics.value("spec_visits_total", { action = "changed" }))
    end)

    it("fails a reload that defines a metric twice, and the old routes keep serving", function()
      local twice = 'require("tycho.metrics").counter("spec_twice_total", "Twice.", { "%s" })\nreturn {}\n'
      local dir = folder.new { ["a.lua"] = twice:format "a", ["b.lua"] = twice:format "b" }
      local gen, err = t.use_routes(dir)
      folder.remove(dir)
      assert.is_nil(gen)
      assert.matches('metric "spec_twice_total": already registered as counter with labels %[', err)
      assert.equal(FIXTURES, t.routes_dir())
      assert.equal(204, t.post("/metrics/visit/still").status)
    end)

    it("rejects bad names, labels and buckets", function()
      assert.matches("invalid name", errmsg(metrics.counter, "bad-name"))
      assert.matches("label", errmsg(metrics.counter, "spec_bad_label_total", "", { "bad-label" }))
      assert.matches("label", errmsg(metrics.counter, "spec_bad_label2_total", "", { 1 }))
      assert.matches("bucket", errmsg(metrics.histogram, "spec_bad_buckets", "", nil, { 2, 1 }))
      assert.matches("reserved", errmsg(metrics.counter, "tycho_mine_total"))
      assert.matches("reserved", errmsg(metrics.counter, "tycho_metrics_overflow_total"))
      -- a histogram "tycho" would expose tycho_bucket, tycho_sum and tycho_count
      assert.matches("tycho_bucket, tycho_sum and tycho_count, names reserved",
        errmsg(metrics.histogram, "tycho", "h"), 1, true)
      metrics.counter("tycho", "Not tycho_ itself.") -- a counter or gauge "tycho" is its own name
      assert.matches('merge must be "sum" or "last"',
        errmsg(metrics.gauge, "spec_bad_merge", "", nil, { merge = "max" }))
    end)

    it("refuses a NUL byte or invalid UTF-8 in a name, a help text or a label name", function()
      -- the registry keeps C strings: "Visits.\0secret" would be "Visits." unseen
      assert.equal([[metric "spec_nul_help_total": the help text holds a NUL byte]],
        errmsg(metrics.counter, "spec_nul_help_total", "Visits.\0secret"))
      assert.equal([[metric "spec_bad_help_total": the help text is not valid UTF-8]],
        errmsg(metrics.counter, "spec_bad_help_total", "Visits \255"))
      assert.equal([[metric "spec_nul": the name holds a NUL byte]],
        errmsg(metrics.gauge, "spec_nul\0_gauge", "h"))
      assert.equal([[metric "spec_nul_label_total": label name #2 holds a NUL byte]],
        errmsg(metrics.counter, "spec_nul_label_total", "h", { "a", "b\0c" }))
      assert.is_nil(metrics.value("spec_nul_help_total"))
      assert.is_nil(metrics.value("spec_nul"))
      assert.is_nil(metrics.value("spec_nul_label_total", { a = "x", b = "y" }))
      -- a label key "a\0b" is not label "a": an unknown label, not dropped unseen
      local c = metrics.counter("spec_nul_key_total", "h", { "a" })
      assert.matches('unknown label "a"', errmsg(c.inc, c, { a = "x", ["a\0b"] = "y" }), 1, true)
      c:inc { a = "x" }
      assert.equal(1, value("spec_nul_key_total", { a = "x" }))
      assert.is_nil(metrics.value("spec_nul_key_total", { a = "x\0y" }))
      assert.is_nil(metrics.value("spec_nul_key_total\0", { a = "x" }))
    end)

    it("refuses unknown or inapplicable options, and label names that are not a list", function()
      assert.equal([[metric "spec_opt_total": counter options: unknown option 'merge' (it takes none)]],
        errmsg(metrics.counter, "spec_opt_total", "h", nil, { merge = "last" }))
      assert.equal([[metric "spec_opt_gauge": gauge options: unknown option 'mrege' (merge)]],
        errmsg(metrics.gauge, "spec_opt_gauge", "h", nil, { mrege = "last" }))
      assert.equal([[metric "spec_opt_hist": too many arguments (name, help, label_names, buckets)]],
        errmsg(metrics.histogram, "spec_opt_hist", "h", nil, { 1, 2 }, { merge = "last" }))
      assert.equal([[metric "spec_opt_labels_total": label names must be a list of strings ({ "a", "b" }), ]]
        .. [[got a table with key "action"]],
        errmsg(metrics.counter, "spec_opt_labels_total", "h", { action = "visit" }))
      assert.matches("label names must be a list of strings .* got a table with key 3",
        errmsg(metrics.counter, "spec_opt_labels2_total", "h", { "a", [3] = "c" }))
      -- buckets given as options (the gauge's are a table too), or with a stray key
      assert.equal([[metric "spec_opt_buckets": buckets must be a list of numbers ({ 0.1, 0.5, 1 }), ]]
        .. [[got a table with key "buckets"]],
        errmsg(metrics.histogram, "spec_opt_buckets", "h", nil, { buckets = { 0.1, 1 } }))
      assert.matches('buckets must be a list of numbers .* got a table with key "max"',
        errmsg(metrics.histogram, "spec_opt_buckets2", "h", nil, { 0.1, 1, max = 10 }))
      -- what applies still passes
      metrics.counter("spec_opt_ok_total", "h", { "a" }, {})
      metrics.gauge("spec_opt_ok", "h", nil, { merge = "last" })
    end)

    it("refuses the names of tycho's own metrics, whatever their prefix", function()
      local before = value("process_open_fds")
      assert.is_true(before > 0)
      for _, def in ipairs {
        { metrics.counter, "process_cpu_seconds_total", "Forged." },
        { metrics.gauge, "process_open_fds", "Forged." },
        { metrics.counter, "aws_requests_total", "Forged.", { "service", "operation", "outcome" } },
        { metrics.histogram, "aws_request_duration_seconds", "Forged.", { "service", "operation" } },
        { metrics.counter, "tycho_metrics_overflow_total", "Forged.", { "metric" } },
      } do
        local e = errmsg(def[1], def[2], def[3], def[4])
        assert.matches(def[2], e, 1, true)
        assert.matches("tycho's own metrics", e, 1, true)
      end
      assert.is_nil(metrics.value("aws_requests_total", { service = "sqs", operation = "Forged", outcome = "success" }))
    end)

    it("refuses job and instance as label names: the scraper and the remote write set them", function()
      local e = errmsg(metrics.counter, "spec_job_total", "", { "job" })
      assert.matches('metric "spec_job_total": label "job" is reserved', e, 1, true)
      assert.matches("TYCHO_REMOTE_WRITE_JOB", e, 1, true)
      e = errmsg(metrics.gauge, "spec_instance", "", { "a", "instance" })
      assert.matches('label "instance" is reserved', e, 1, true)
      e = errmsg(metrics.histogram, "spec_job_seconds", "", { "job" })
      assert.matches('label "job" is reserved', e, 1, true)
      metrics.counter("spec_exported_job_total", "", { "exported_job", "jobs" }) -- other names are fine
    end)

    it("holds the documented limits: 16 labels, 64 buckets, 200-byte names, 1024-byte values", function()
      local labels, bounds = {}, {}
      for i = 1, 17 do labels[i] = "l" .. i end
      for i = 1, 65 do bounds[i] = i end
      assert.matches("at most 16 labels", errmsg(metrics.counter, "spec_many_labels_total", "", labels))
      labels[17] = nil
      metrics.counter("spec_many_labels_total", "", labels)
      assert.matches("1 to 64 buckets", errmsg(metrics.histogram, "spec_many_buckets", "", nil, bounds))
      bounds[65] = math.huge -- a trailing +Inf is no bound of its own: 64 buckets still
      metrics.histogram("spec_many_buckets_inf", "", nil, bounds)
      assert.equal(64, #metrics.value("spec_many_buckets_inf").buckets)
      bounds[65] = nil
      metrics.histogram("spec_many_buckets", "", nil, bounds)
      assert.matches("1 to 64 buckets", errmsg(metrics.histogram, "spec_inf_bucket", "", nil, { math.huge }))
      local name = "spec_" .. string.rep("n", 195)
      metrics.gauge(name, "")
      assert.matches("at most 200 bytes", errmsg(metrics.gauge, name .. "n", ""))
      assert.matches("at most 200 bytes", errmsg(metrics.gauge, "spec_long_label", "", { string.rep("l", 201) }))
      local c = metrics.counter("spec_long_value_total", "", { "v" })
      c:inc { v = string.rep("v", 1024) }
      assert.matches('label "v" is longer than 1024 bytes (1025)',
        errmsg(c.inc, c, { v = string.rep("v", 1025) }), 1, true)
      local c2 = metrics.counter("spec_long_value2_total", "", { "a", "b" })
      assert.matches('label "b" is longer than 1024 bytes (2000)',
        errmsg(c2.inc, c2, { a = "x", b = string.rep("v", 2000) }), 1, true)
    end)

    it("is checked by tycho check, outside any worker", function()
      local exe = t.exe()
      local ok = os.execute(("%q check %q >/dev/null 2>&1"):format(exe, FIXTURES))
      assert.is_true(ok == 0 or ok == true)
      local p = io.popen(("%q check %q 2>&1; echo rc=$?"):format(exe, HERE .. "/fixtures/telemetry_conflict"))
      local out = p:read "*a"
      p:close()
      assert.matches('already registered as counter with labels %[a%]', out)
      assert.matches("rc=1", out)
    end)
  end)

  describe("labels", function()
    local c = metrics.counter("spec_labels_total", "Labels.", { "method", "code" })
    metrics.gauge("spec_unlabelled_value", "No labels, never set.")
    local g = metrics.gauge("spec_labels_gauge", "Labels.", { "pool" })
    local h = metrics.histogram("spec_labels_seconds", "Labels.", { "op" })

    it("takes label values as strings or numbers", function()
      c:inc { method = "GET", code = 200 }
      c:inc({ method = "GET", code = "200" }, 2)
      assert.equal(3, value("spec_labels_total", { method = "GET", code = "200" }))
    end)

    it("writes a number label in its shortest exact form: equal numbers, one series", function()
      local ids = metrics.counter("spec_number_labels_total", "Number labels.", { "id" })
      ids:inc { id = 123456789012345 }
      ids:inc { id = 123456789012346 }
      ids:inc({ id = "123456789012346" }, 2)
      ids:inc { id = -0.0 }
      ids:inc { id = 0 }
      ids:inc { id = 0.1 }
      ids:inc { id = 1e300 }
      assert.equal(1, value("spec_number_labels_total", { id = "123456789012345" }))
      assert.equal(3, value("spec_number_labels_total", { id = 123456789012346 }))
      assert.equal(2, value("spec_number_labels_total", { id = "0" }))
      assert.equal(0, value("spec_number_labels_total", { id = "-0" }))
      assert.equal(1, value("spec_number_labels_total", { id = "0.1" }))
      assert.equal(1, value("spec_number_labels_total", { id = "1e+300" }))
      assert.matches('label "id" must be a finite number, not NaN', errmsg(ids.inc, ids, { id = 0 / 0 }))
      assert.matches('label "id" must be a finite number, not an infinity', errmsg(ids.inc, ids, { id = 1 / 0 }))
      assert.equal(0, value("spec_number_labels_total", { id = 0 / 0 }))
    end)

    it("value() returns one nil for a metric or series that is not there", function()
      assert.equal(nil, metrics.value("spec_absent_metric", {}))
      assert.equal(1, select("#", metrics.value("spec_absent_metric", {})))
      assert.equal(1, select("#", metrics.value("spec_labels_total", { method = "NONE", code = 1 })))
    end)

    it("names a missing label", function()
      assert.matches('missing label "code"', errmsg(c.inc, c, { method = "GET" }))
      assert.equal([[tycho.metrics.value: "spec_labels_total" needs label "code"]],
        errmsg(metrics.value, "spec_labels_total", { method = "GET" }):match "tycho.metrics.value.*")
    end)

    it("value() says what a label value of the wrong type is, not that it is missing", function()
      assert.equal([[tycho.metrics.value: "spec_labels_total": label "code" must be a string or a number, not a boolean]],
        errmsg(metrics.value, "spec_labels_total", { method = "GET", code = true }):match "tycho.metrics.value.*")
      assert.matches('label "method" must be a string or a number, not a table',
        errmsg(metrics.value, "spec_labels_total", { method = {}, code = 1 }), 1, true)
    end)

    it("value() names a label the metric does not have, as an update does", function()
      c:inc { method = "PUT", code = 201 }
      assert.equal([[tycho.metrics.value: "spec_labels_total": unknown label "cdoe" (labels: method, code)]],
        errmsg(metrics.value, "spec_labels_total", { method = "PUT", code = 201, cdoe = 500 })
          :match "tycho.metrics.value.*")
      assert.matches('unknown label "(a number key)"',
        errmsg(metrics.value, "spec_labels_total", { method = "PUT", code = 201, 1 }), 1, true)
      assert.matches('"spec_unlabelled_value": unknown label "a" (labels: none)',
        errmsg(metrics.value, "spec_unlabelled_value", { a = 1 }), 1, true)
      assert.equal(1, metrics.value("spec_labels_total", { method = "PUT", code = 201 }))
      assert.equal(0, metrics.value("spec_unlabelled_value", {}))
      assert.equal(0, metrics.value("spec_unlabelled_value"))
    end)

    it("refuses a label value with a NUL byte or invalid UTF-8, naming the label", function()
      -- "\255" and "\254" would both be exposed as U+FFFD: two identical series
      assert.matches('label "code" is not valid UTF%-8', errmsg(c.inc, c, { method = "GET", code = "\255" }))
      assert.matches('label "method" is not valid UTF%-8', errmsg(c.inc, c, { method = "\254", code = 1 }, 5))
      assert.matches('label "code" is not valid UTF%-8', errmsg(c.inc, c, { method = "GET", code = "\237\160\128" }))
      assert.matches('label "code" holds a NUL byte', errmsg(c.inc, c, { method = "GET", code = "a\0b" }))
      c:inc { method = "GET", code = "é✓" }
      assert.equal(1, value("spec_labels_total", { method = "GET", code = "é✓" }))
    end)

    it("names an unknown label", function()
      assert.matches('unknown label "colour"', errmsg(c.inc, c, { method = "GET", code = 1, colour = "x" }))
    end)

    it("wants labels first, as a table", function()
      assert.matches("labels come first", errmsg(h.observe, h, 0.1, { op = "x" }))
      assert.matches("needs its labels", errmsg(c.inc, c))
      assert.matches("must be a string or a number", errmsg(g.set, g, { pool = {} }, 1))
    end)

    it("rejects what a metric type cannot do", function()
      assert.matches("a counter only goes up", errmsg(c.inc, c, { method = "a", code = 1 }, -1))
      assert.matches("set needs a number", errmsg(g.set, g, { pool = "a" }))
      assert.matches("must be finite", errmsg(h.observe, h, { op = "x" }, 0 / 0))
      assert.matches('has no method "set"', errmsg(function() return c.set end))
      assert.matches("expected a number", errmsg(g.add, g, { pool = "a" }, "1"))
    end)

    it("refuses a non-finite amount or value, naming the metric and the value", function()
      local fin = metrics.counter("spec_finite_total", "Finite.")
      local gauge = metrics.gauge("spec_finite_level", "Finite.")
      local hist = metrics.histogram("spec_finite_seconds", "Finite.", nil, { 1 })
      local function refused(want, fn, ...)
        local msg = errmsg(fn, ...)
        assert.is_truthy(msg:find(want, 1, true), msg)
      end
      local up = 'metric "spec_finite_total": a counter only goes up (inc by a finite amount >= 0, got '
      refused(up .. "+Inf)", fin.inc, fin, math.huge)
      refused(up .. "NaN)", fin.inc, fin, 0 / 0)
      refused(up .. "-1)", fin.inc, fin, -1)
      refused('metric "spec_finite_level": set: the value must be finite, got NaN', gauge.set, gauge, 0 / 0)
      refused('metric "spec_finite_level": add: the value must be finite, got -Inf', gauge.add, gauge, -math.huge)
      refused('metric "spec_finite_level": inc: the value must be finite, got +Inf', gauge.inc, gauge, math.huge)
      refused('metric "spec_finite_level": dec: the value must be finite, got NaN', gauge.dec, gauge, 0 / 0)
      refused('metric "spec_finite_seconds": observe: the value must be finite, got +Inf', hist.observe, hist,
        math.huge)
      refused('metric "spec_finite_seconds": observe: the value must be finite, got NaN', hist.observe, hist, 0 / 0)
      assert.equal(0, value("spec_finite_total"))
      assert.equal(0, value("spec_finite_level"))
      assert.equal(0, metrics.value("spec_finite_seconds").count)
    end)

    it("refuses an update that would take the value past the largest number, leaving it unchanged", function()
      local big = metrics.counter("spec_huge_total", "Huge.")
      big:inc(1e308)
      local msg = errmsg(big.inc, big, 1e308)
      assert.is_truthy(msg:find('metric "spec_huge_total": inc(1e+308) would make the value +Inf: '
        .. "refused, the metric is unchanged", 1, true), msg)
      assert.equal(1e308, value("spec_huge_total"))
      big:inc(1) -- still counting: 1e308 + 1 rounds to 1e308
      assert.equal(1e308, value("spec_huge_total"))

      local level = metrics.gauge("spec_huge_level", "Huge.")
      level:set(-1e308)
      msg = errmsg(level.dec, level, 1e308)
      assert.is_truthy(msg:find('dec(1e+308) would make the value -Inf', 1, true), msg)
      msg = errmsg(level.add, level, -1e308)
      assert.is_truthy(msg:find('add(-1e+308) would make the value -Inf', 1, true), msg)
      level:add(1e308)
      assert.equal(0, value("spec_huge_level"))

      local hist = metrics.histogram("spec_huge_seconds", "Huge.", nil, { 1 })
      hist:observe(1.5e308)
      msg = errmsg(hist.observe, hist, 1e308)
      assert.is_truthy(msg:find('metric "spec_huge_seconds": observe(1e+308) would make the sum +Inf: '
        .. "refused, the metric is unchanged", 1, true), msg)
      local h = metrics.value("spec_huge_seconds")
      assert.equal(1, h.count)
      assert.equal(1.5e308, h.sum)
      assert.equal(1, h.buckets.inf)
    end)

    it("says the labels are a table given first when a label value comes alone", function()
      -- c:inc("visit") for c:inc({ action = "visit" })
      local msg = errmsg(c.inc, c, "GET")
      assert.is_truthy(msg:find(': inc: expected a number, got a string: m:inc({ labels }, value) '
        .. "(the labels are a table, given first)", 1, true), msg)
      msg = errmsg(g.set, g, { pool = "a" }, "3") -- labels given: the value is what is wrong
      local want = ": set: expected a number, got a string: m:set({ labels }, value)"
      assert.equal(want, msg:sub(-#want))
    end)

    it("refuses inc, add and dec on a gauge merged by \"last\": each worker would add to its own value", function()
      local last = metrics.gauge("spec_last_setting", "A setting.", nil, { merge = "last" })
      last:set(10)
      for _, method in ipairs { "inc", "add", "dec" } do
        assert.matches('merge = "last" takes only set, not ' .. method, errmsg(last[method], last, 1))
      end
      assert.equal(10, value("spec_last_setting"))
    end)

    it("works without labels", function()
      local u = metrics.gauge("spec_unlabelled", "No labels.")
      u:set(5)
      u:inc()
      u:dec(2)
      u:add(0.5)
      assert.equal(4.5, value("spec_unlabelled"))
      assert.matches('unknown label "x"', errmsg(u.set, u, { x = 1 }, 1))
      -- nil labels are no labels: the value after them counts
      u:inc(nil, 2)
      u:dec(nil, 0.5)
      assert.equal(6, value("spec_unlabelled"))
    end)

    it("refuses arguments past the value rather than dropping them", function()
      local u = metrics.gauge("spec_unlabelled", "No labels.")
      assert.matches("inc: too many arguments: m:inc%(value%)", errmsg(u.inc, u, 1, 2))
      assert.matches("too many arguments", errmsg(u.set, u, nil, 1, 2))
      assert.matches("too many arguments: m:observe%({ labels }, value%)",
        errmsg(h.observe, h, { op = "x" }, 0.1, 0.2))
      assert.equal(6, value("spec_unlabelled"))
    end)
  end)

  it("holds the cardinality cap with 100k distinct label values", function()
    local c = metrics.counter("spec_cardinality_total", "One label value per update.", { "id" })
    collectgarbage "collect"
    local heap0 = collectgarbage "count"
    for i = 1, 100000 do
      c:inc { id = tostring(i) }
    end
    collectgarbage "collect"
    local grown_kb = collectgarbage "count" - heap0
    -- the first 1000 label sets are admitted; the rest fold into __overflow__
    assert.equal(1, value("spec_cardinality_total", { id = "1" }))
    assert.equal(1, value("spec_cardinality_total", { id = "1000" }))
    assert.is_nil(metrics.value("spec_cardinality_total", { id = "1001" }))
    assert.equal(99000, value("spec_cardinality_total", { id = "__overflow__" }))
    assert.equal(99000, value("tycho_metrics_overflow_total", { metric = "spec_cardinality_total" }))
    -- the Lua side caches at most 1024 resolved series per metric
    assert.is_true(grown_kb < 1024, ("Lua heap grew by %d KiB"):format(grown_kb))
  end)

  it("counts every folded update, also of label sets updated again", function()
    -- 1100 label sets, three times over: the last 100 fold each time, and the
    -- 24 of them that would fit the Lua cache (1024 - 1000) must not skip the count
    local c = metrics.counter("spec_refold_total", "Folded again and again.", { "id" })
    for round = 1, 3 do
      for i = 1, 1100 do
        c:inc { id = "v" .. i }
      end
      assert.equal(100 * round, value("spec_refold_total", { id = "__overflow__" }))
      assert.equal(100 * round, value("tycho_metrics_overflow_total", { metric = "spec_refold_total" }))
    end
    assert.equal(3, value("spec_refold_total", { id = "v1000" }))
  end)

  it("logs one warning naming the metric when it first folds a label set", function()
    local c = metrics.counter("spec_fold_log_total", "Folds, logged once.", { "id" })
    t.capture_logs()
    for round = 1, 2 do
      for i = 1, 1010 do
        c:inc { id = "f" .. i }
      end
    end
    local logs = t.logs()
    t.capture_logs(false)
    local warned = {}
    for _, rec in ipairs(logs) do
      if type(rec) == "table" and rec.metric == "spec_fold_log_total" then warned[#warned + 1] = rec end
    end
    assert.equal(20, value("tycho_metrics_overflow_total", { metric = "spec_fold_log_total" }))
    assert.equal(1, #warned, "one line for 20 folded updates")
    assert.equal("warn", warned[1].level)
    assert.matches("label set cap", warned[1].msg)
    assert.equal(1000, warned[1].max_series)
    assert.equal("__overflow__", warned[1].overflow_value)
  end)
end)
