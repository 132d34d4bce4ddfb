local json = require "tycho.json"

describe("tycho.json", function()
  -- the message of json.decode's error on text, without its "json.decode: "
  local function decode_error(text)
    local ok, err = pcall(json.decode, text)
    assert.is_false(ok, text)
    return (err:gsub("^json%.decode: ", ""))
  end

  it("round-trips values", function()
    local v = { a = 1, b = "two", c = { 1, 2, 3 }, d = true, e = { nested = { x = 1.5 } } }
    assert.same(v, json.decode(json.encode(v)))
  end)

  it("encodes integers without a fraction and floats exactly", function()
    assert.equal("[1,-2,0.1,1e+300,9007199254740991]", json.encode { 1, -2, 0.1, 1e300, 2 ^ 53 - 1 })
  end)

  it("keeps the sign of -0, a JSON number like any other, both ways", function()
    assert.equal("-0", json.encode(-0.0))
    assert.equal("[0,-0]", json.encode { 0, -0.0 })
    assert.equal("-0", json.encode(json.decode "-0"))
    assert.equal('{"a":-0}', json.encode(json.decode '{"a":-0.0}'))
    assert.equal(-math.huge, 1 / json.decode "-0")
  end)

  it("uses json.null both ways", function()
    assert.equal('{"a":null}', json.encode { a = json.null })
    local v = json.decode '{"a":null,"b":[1,null,3]}'
    assert.equal(json.null, v.a)
    assert.equal(json.null, v.b[2])
    assert.equal(3, #v.b)
  end)

  it("encodes an empty table as an object, json.array() as an array", function()
    assert.equal("{}", json.encode {})
    assert.equal("[]", json.encode(json.array()))
    assert.equal("[]", json.encode(json.array {}))
    assert.equal('{"items":[]}', json.encode { items = json.array() })
  end)

  it("keeps decoded arrays arrays, even empty ones", function()
    local v = json.decode '{"list":[],"obj":{}}'
    assert.is_true(json.is_array(v.list))
    assert.is_false(json.is_array(v.obj))
    assert.equal('[]', json.encode(v.list))
    assert.equal('{}', json.encode(v.obj))
  end)

  it("escapes strings and replaces invalid UTF-8", function()
    assert.equal([["a\"b\\c\nd\u0001"]], json.encode 'a"b\\c\nd\1')
    assert.equal('"caf\xc3\xa9"', json.encode "caf\xc3\xa9")
    assert.equal('"\xef\xbf\xbd"', json.encode "\xff")
    assert.equal("é", json.decode '"\\u00e9"')
  end)

  it("refuses what JSON cannot say", function()
    assert.has_error(function() json.encode { 1, 2, nil, 4, x = 1 } end)
    assert.error_matches(function() json.encode { [1] = 1, [3] = 3 } end, "sparse array")
    assert.error_matches(function() json.encode { 1, x = 2 } end, "mixing array items and string keys")
    assert.error_matches(function() json.encode { f = print } end, "cannot encode a value of type function")
    assert.error_matches(function() json.encode(0 / 0) end, "NaN")
    local cyc = {}
    cyc.self = cyc
    assert.error_matches(function() json.encode(cyc) end, "nested deeper than 128 levels %(a cycle%?%)")
  end)

  it("names where in the value an error is, from the outermost key in", function()
    local function err_of(v)
      local ok, err = pcall(json.encode, v)
      assert.is_false(ok)
      return (err:gsub("^.-json%.encode: ", ""))
    end
    assert.equal("cannot encode a value of type function (at .user.tags[3])",
      err_of { user = { tags = { "a", "b", print } } })
    assert.equal('cannot encode NaN or infinity (at ["odd key"].x)', err_of { ["odd key"] = { x = 0 / 0 } })
    assert.equal("cannot encode a table mixing array items and string keys (at .a.b)",
      err_of { a = { b = { 1, x = 2 } } })
    -- a table's own key error replaces the path of a value's error inside it
    local f = json.array { { print } }
    f.x = 1
    assert.equal("cannot encode a table mixing array items and string keys (at .outer)", err_of { outer = f })
    -- an array read by index (its items not in order in the table)
    local t = {}
    for i = 3, 1, -1 do t[i] = i end
    t[2] = print
    assert.equal("cannot encode a value of type function (at [2])", err_of(t))
    -- a long key shortened; a path too long keeps its innermost part
    assert.equal('cannot encode a value of type function (at ["' .. ("k"):rep(24) .. '..."])',
      err_of { [("k"):rep(50)] = print })
    local deep = print
    for _ = 1, 40 do deep = { level = deep } end
    assert.matches("^cannot encode a value of type function %(at %.%.%.[%.level]+%)$", err_of(deep))
    assert.is_true(#err_of(deep) < 160)
    -- the value itself: no path
    assert.equal("cannot encode a value of type function", err_of(print))
  end)

  it("names a sparse array's highest index, however large, instead of calling it no integer", function()
    assert.error_matches(function() json.encode { [1] = 1, [3] = 3 } end,
      "cannot encode a sparse array: index 3 with 2 items %(use json.null for holes%)")
    assert.error_matches(function() json.encode { [1] = 1, [1e15] = 2 } end,
      "sparse array: index 1000000000000000 with 2 items")
    assert.error_matches(function() json.encode { [2 ^ 53] = 1 } end, "sparse array: index 9007199254740992 with 1 items")
    assert.error_matches(function() json.encode { [1e300] = 1 } end, "sparse array: index 1e%+300 with 1 items")
    assert.error_matches(function() json.encode { a = 1, [2 ^ 53] = 2 } end, "mixing array items and string keys")
    for _, k in ipairs { 0, -1, 1.5, math.huge } do
      assert.error_matches(function() json.encode { [k] = 1 } end, "not a string or a positive integer")
    end
  end)

  it("refuses holes and string keys in a table marked as an array, as in any other", function()
    local sparse, mixing = "cannot encode a sparse array", "cannot encode a table mixing array items and string keys"
    local a = json.array {}
    a[1], a[3] = 1, 3
    assert.error_matches(function() json.encode(a) end, sparse)
    local b = json.decode "[1,2]"
    b.extra = "x"
    assert.error_matches(function() json.encode(b) end, mixing)
    local c = json.decode "[1,2,3,4]"
    c[4], c[2], c[6] = nil, nil, 6
    assert.error_matches(function() json.encode(c) end, sparse)
    local only_string = json.array()
    only_string.x = 1
    assert.error_matches(function() json.encode(only_string) end, mixing)
    assert.error_matches(function() json.encode { list = b } end, mixing)
    local bad_key = json.array { 1 }
    bad_key[true] = 1
    assert.error_matches(function() json.encode(bad_key) end, "not a string or a positive integer")
    -- a key error wins over a value's, whatever order they come in
    local f = json.array { print }
    f.x = 1
    assert.error_matches(function() json.encode(f) end, mixing)
  end)

  it("encodes arrays whose items are not in order in the table", function()
    local t = {}
    for i = 10, 1, -1 do t[i] = i end -- the hash part, in no particular order
    assert.equal("[1,2,3,4,5,6,7,8,9,10]", json.encode(t))
    assert.equal("[1,2,3,4,5,6,7,8,9,10]", json.encode(json.array(t)))
    local d = json.decode "[1,2,3]"
    d[4] = json.null
    assert.equal("[1,2,3,null]", json.encode(d))
    assert.equal("[[],[1]]", json.encode { json.array(), json.array { 1 } })
  end)

  it("checks a table's keys before its values, whatever order they come in", function()
    local bad_key = "not a string or a positive integer"
    local t = { a = 1, b = 2, c = 3, d = 4, e = 5 }
    t[true] = 1
    assert.error_matches(function() json.encode(t) end, bad_key)
    assert.error_matches(function() json.encode { a = print, b = 1, [2.5] = 1 } end, bad_key)
    assert.error_matches(function() json.encode { a = { b = print }, [true] = 1 } end, bad_key)
    assert.error_matches(function() json.encode { a = { b = print }, c = 1 } end, "type function")
    assert.error_matches(function() json.encode { a = { [true] = 1 }, [1] = 2 } end, "mixing")
    assert.equal('{"a":{"b":[1,{"c":"d"}]}}', json.encode { a = { b = { 1, { c = "d" } } } })
    assert.equal('[-0,-7,123456789012,9007199254740992]', json.encode { -0.0, -7, 123456789012, 2 ^ 53 })
  end)

  it("reports decode errors with line, column and what is there", function()
    assert.error_matches(function() json.decode '{"a": 1,\n "b": }' end,
      "json.decode: invalid JSON at line 2, column 7 %(byte 16%) near '}'")
    assert.error_matches(function() json.decode '{"a": ' end, "unexpected end of input")
    assert.error_matches(function() json.decode '{} x' end, "trailing characters after the JSON value at line 1, column 4")
    assert.error_matches(function() json.decode "" end, "invalid JSON")
  end)

  it("blames a text that ends early on its end, and a bad byte on that byte", function()
    local function message(text) return (decode_error(text):gsub("^invalid JSON ", "")) end
    local END = "at line 1, column %d (byte %d): unexpected end of input"
    for _, text in ipairs { '{"score":', '{"a":1', '{"score": ', '{"a":"abc', '{"a":"ab\\', '{"a":"\\u12',
                            '[1,', '{', '{"a"', '{"a":tru', '[-', '[1.', '[1e', '[1e+', '[[[]]', "   " } do
      assert.equal(END:format(#text + 1, #text + 1), message(text))
    end
    assert.equal("at line 2, column 5 (byte 11): unexpected end of input", message('{"a":\n [1,'))
    local near = "at line 1, column %d (byte %d) near '%s'"
    for text, at in pairs { ['[1,]'] = 4, ['{"a":1,}'] = 8, ['{"a" 1}'] = 6, ['{"a":"\\x"}'] = 8,
                            ['[-x]'] = 3, ['[trux]'] = 5, ['{1:2}'] = 2, ['[1}'] = 3, ['{"a":1]'] = 7 } do
      assert.equal(near:format(at, at, text:sub(at)), message(text))
    end
  end)

  it("decodes a \\u0000 escape into a NUL byte, in a value and in a key", function()
    local v = json.decode '{"user":"admin\\u0000x","k\\u0000":1}'
    assert.equal("admin\0x", v.user)
    assert.equal(1, v["k\0"])
    assert.equal('{"user":"admin\\u0000x"}', json.encode { user = v.user })
    assert.equal("a\\u0000b", json.decode '"a\\\\u0000b"') -- an escaped backslash, then text
    assert.error_matches(function() json.decode '{"user":"admin\\uzzzzx"}' end,
      "invalid \\u escape %(not 4 hex digits%) in a string at line 1, column 15")
    assert.error_matches(function() json.decode '["\\u12x4"]' end, "invalid \\u escape")
    assert.equal("\u{e9}", json.decode '"\\u00E9"')
  end)

  it("refuses what RFC 8259 does not allow", function()
    local message = decode_error
    local near = "invalid JSON at line 1, column %d (byte %d) near '%s'"
    for text, at in pairs { ["[01]"] = 3, ["[-01]"] = 4, ["[-.5]"] = 3, ["[1.e5]"] = 4, ["[1.]"] = 4,
                            ["[.5]"] = 2, ["[+1]"] = 2, ["[1e]"] = 4, ['["a\tb"]'] = 4,
                            ['["a\0b"]'] = 4, ['{"ad\0min":1}'] = 5, ['["\x1f"]'] = 3 } do
      text = text:gsub("\\0", "\0"):gsub("\\t", "\t"):gsub("\\x1f", "\31")
      assert.equal(near:format(at, at, text:sub(at):match "^[^%z]*"), message(text)) -- printed up to a NUL
    end
    assert.equal("invalid JSON at line 1, column 2 (byte 2) near '1'", message("01"))
    assert.equal("invalid JSON at line 1, column 2 (byte 2) near '.5'", message("-.5"))
    assert.equal("invalid JSON at line 1, column 3 (byte 3): unexpected end of input", message("1."))
    assert.equal("trailing characters after the JSON value at line 1, column 3 (byte 3) near ''", message("{}\0"))
    assert.equal("trailing characters after the JSON value at line 1, column 3 (byte 3) near ''", message("{}\0\0 "))
    assert.matches("lone UTF%-16 surrogate", message('"\\ud800x"'))
    assert.matches("lone UTF%-16 surrogate", message('"\\udc00"'))
    assert.equal("invalid \\u escape (a lone UTF-16 surrogate) in a string at line 1, column 2 (byte 2) near '\\ud800\"'",
      message('"\\ud800"')) -- the text ends right after it: not cut short
    assert.matches("unexpected end of input", message('"\\ud800'))
    assert.matches("unexpected end of input", message('"\\ud800\\'))
    assert.matches("lone UTF%-16 surrogate", message('"\\ud800\\n"'))
    assert.equal("\u{1F600}", json.decode '"\\ud83d\\ude00"')
    -- RFC 8259 8.1: UTF-8 text; the encoder would turn these bytes into U+FFFD
    local bad = "invalid UTF-8 in a string at line 1, column %d (byte %d) near '%s'"
    for text, at in pairs { ['["\xff"]'] = 3, ['"ab\xc3"'] = 4, ['"\xc0\x80"'] = 2,
                            ['"\xed\xa0\x80"'] = 2, ['{"k\xe9y":1}'] = 4, ['"\\n\xfe"'] = 4 } do
      assert.equal(bad:format(at, at, text:sub(at)), message(text))
    end
    assert.equal("caf\u{e9} \u{1F600}\n\u{e9}", json.decode '"caf\xc3\xa9 \xf0\x9f\x98\x80\\n\xc3\xa9"')
    assert.equal("\t/\"\\", json.decode '"\\t\\/\\"\\\\"')
  end)

  it("refuses a number past the range of a double instead of reading it as infinity", function()
    local message = decode_error
    assert.equal("number out of range at line 1, column 2 (byte 2) near '1e400]'", message("[1e400]"))
    assert.matches("number out of range at line 1, column 7", message('{"n": -1e400}'))
    assert.matches("number out of range", message("1" .. ("0"):rep(400)))
    assert.equal(0, json.decode "1e-400") -- too small is zero, as any parser rounds it
    assert.equal(1.7976931348623157e308, json.decode "1.7976931348623157e308")
    assert.equal(123456789012345678, json.decode "123456789012345678")
    assert.equal(0.1, json.decode "0.1")
    assert.equal(-0.0, json.decode "-0")
    assert.equal(1.5, json.decode("1.5" .. ("0"):rep(100))) -- longer than any copy buffer
  end)

  it("nests as deep as it encodes, 128 levels, and no deeper", function()
    local deep = ("["):rep(128) .. ("]"):rep(128)
    assert.equal(deep, json.encode(json.decode(deep)))
    assert.equal("nested deeper than 128 levels at line 1, column 129 (byte 129) near '[]]]]]]]]]]]'",
      decode_error("[" .. deep .. "]"))
    assert.matches("nested deeper than 128 levels", decode_error(('{"a":'):rep(129) .. "1" .. ("}"):rep(129)))
    local t = json.array()
    for _ = 2, 128 do t = json.array { t } end
    assert.equal(deep, json.encode(t))
    assert.matches("nested deeper than 128 levels", select(2, pcall(json.encode, { t })))
  end)

  it("decodes scalars at the top level", function()
    assert.equal(42, json.decode "42")
    assert.equal("s", json.decode '"s"')
    assert.equal(false, json.decode " false ")
  end)
end)
