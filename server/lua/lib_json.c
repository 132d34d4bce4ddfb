/* tycho.json — JSON for Lua on cJSON (decoding) and a direct encoder.
 * Rules (docs/routes.md):
 * - json.null (a light userdata) stands for JSON null both ways.
 * - Decoded arrays carry the json.array metatable, so `[]` re-encodes as `[]`.
 * - Encoding a table: keys exactly 1..n (n >= 1) -> array; only string keys
 *   -> object; an empty table -> {} (use json.array({}) for []), or [] when
 *   marked json.array. Other key mixes (sparse arrays, numbers and strings, a
 *   string key in a marked table) are an error. NaN/inf, functions, userdata
 *   and nesting deeper than MAX_DEPTH (cycles) are errors. Integral numbers up
 *   to 2^53 print without a fraction. */
#include "lua/libs.h"

#include <cJSON.h>
#include <lauxlib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARRAY_MT "tycho.json.array"
#define MAX_DEPTH 128 /* levels of nesting */
#define STR(x) #x
#define XSTR(x) STR(x)
#define DEPTH_ERROR "nested deeper than " XSTR(MAX_DEPTH) " levels"

typedef struct enc {
    lua_State *L;
    tycho_buf_t *out;
    char *err;
    size_t errlen;
    int depth;
} enc_t;

static int enc_fail(enc_t *e, const char *what)
{
    if (e->err && e->errlen) snprintf(e->err, e->errlen, "%s", what);
    return -1;
}

/* A literal token: its length is known at compile time. */
#define PUT_LIT(b, lit) tycho_buf_append((b), (lit), sizeof(lit) - 1)

static int is_array_mt(lua_State *L, int idx)
{
    if (!lua_getmetatable(L, idx)) return 0;
    luaL_getmetatable(L, ARRAY_MT);
    int eq = lua_rawequal(L, -1, -2);
    lua_pop(L, 2);
    return eq;
}

static int enc_value(enc_t *e, int idx);

/* Checks every key of a table. Returns 0 with *n set (keys exactly 1..n: an
 * array; *n = 0 for string keys only: an object) or -1 with the error. A
 * table marked json.array must be an array: a string key in it is an error. */
static int check_keys(enc_t *e, int idx, int marked, size_t *n)
{
    lua_State *L = e->L;
    size_t count = 0, maxk = 0;
    int strings = 0, others = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1);
        count++;
        if (lua_type(L, -1) == LUA_TSTRING) {
            strings = 1;
        } else if (lua_type(L, -1) == LUA_TNUMBER) {
            double k = lua_tonumber(L, -1);
            if (k >= 1 && k == floor(k) && k < 1e15) {
                if ((size_t)k > maxk) maxk = (size_t)k;
            } else {
                others = 1;
            }
        } else {
            others = 1;
        }
    }
    *n = 0;
    if (others)
        return enc_fail(e, "cannot encode a table key that is not a string or a positive integer");
    if (strings && (maxk > 0 || marked))
        return enc_fail(e, "cannot encode a table mixing array items and string keys");
    if (!strings && maxk != count)
        return enc_fail(e, "cannot encode a sparse array (use json.null for holes)");
    *n = strings ? 0 : count;
    return 0;
}

/* Whether the key below the value on top of the stack is the number i. */
static int key_is_index(lua_State *L, size_t i)
{
    return lua_type(L, -2) == LUA_TNUMBER && lua_tonumber(L, -2) == (lua_Number)i;
}

/* A table whose first key (pushed, with its value) is not a string, or one
 * marked json.array: an array. Encoded in the same pass that reads its keys
 * while they come in order 1, 2, 3... (a table's array part does); at the
 * first key out of that order every key is checked and the rest is read by
 * index. As for an object, a value that fails may hide a key error further
 * on: the keys are then checked in full and a key error replaces the value's. */
static int enc_array(enc_t *e, int idx, int marked)
{
    lua_State *L = e->L;
    int rc = PUT_LIT(e->out, "[");
    size_t i = 0, n;
    do {
        if (!key_is_index(L, i + 1)) {
            lua_pop(L, 2);
            if (check_keys(e, idx, marked, &n) != 0) return -1;
            for (; i < n && rc == 0; i++) {
                if (i > 0) rc |= PUT_LIT(e->out, ",");
                lua_rawgeti(L, idx, (int)(i + 1));
                rc = rc ? rc : enc_value(e, lua_gettop(L));
                lua_pop(L, 1);
            }
            break;
        }
        if (i++ > 0) rc |= PUT_LIT(e->out, ",");
        rc = rc ? rc : enc_value(e, lua_gettop(L));
        lua_pop(L, 1);
        if (rc) {
            lua_pop(L, 1);
            break;
        }
    } while (lua_next(L, idx));
    if (rc == 0) return PUT_LIT(e->out, "]") ? -1 : 0;
    check_keys(e, idx, marked, &n); /* a key error replaces the value's */
    return -1;
}

/* A table whose first key (pushed, with its value) is a string: an object,
 * encoded in the same pass that checks its keys. A later key that is not a
 * string makes the table an error, and a value that fails may hide a key
 * error further on: either way the keys are checked in full, so a table gets
 * the error it would get had they been checked before any value. */
static int enc_object(enc_t *e, int idx)
{
    lua_State *L = e->L;
    int rc = PUT_LIT(e->out, "{"), first = 1;
    do {
        if (lua_type(L, -2) != LUA_TSTRING) {
            lua_pop(L, 2);
            rc = -1;
            break;
        }
        size_t kl;
        const char *k = lua_tolstring(L, -2, &kl);
        if (!first) rc |= PUT_LIT(e->out, ",");
        first = 0;
        rc |= tycho_buf_append_json_string(e->out, k, kl);
        rc |= PUT_LIT(e->out, ":");
        rc = rc ? rc : enc_value(e, lua_gettop(L));
        lua_pop(L, 1);
        if (rc) {
            lua_pop(L, 1);
            break;
        }
    } while (lua_next(L, idx));
    if (rc == 0) return PUT_LIT(e->out, "}") ? -1 : 0;
    size_t n;
    check_keys(e, idx, 0, &n); /* a key error replaces the value's */
    return -1;
}

/* An empty table is {} unless marked json.array; otherwise its first key
 * decides whether it is to be an object or an array. */
static int enc_table(enc_t *e, int idx)
{
    lua_State *L = e->L;
    if (++e->depth > MAX_DEPTH) return enc_fail(e, DEPTH_ERROR " (a cycle?)");
    int rc, marked = is_array_mt(L, idx);
    lua_pushnil(L);
    if (!lua_next(L, idx))
        rc = (marked ? PUT_LIT(e->out, "[]") : PUT_LIT(e->out, "{}")) ? -1 : 0;
    else if (!marked && lua_type(L, -2) == LUA_TSTRING)
        rc = enc_object(e, idx);
    else
        rc = enc_array(e, idx, marked);
    e->depth--;
    return rc;
}

static int enc_value(enc_t *e, int idx)
{
    lua_State *L = e->L;
    switch (lua_type(L, idx)) {
    case LUA_TNIL:
        return PUT_LIT(e->out, "null");
    case LUA_TBOOLEAN:
        return lua_toboolean(L, idx) ? PUT_LIT(e->out, "true") : PUT_LIT(e->out, "false");
    case LUA_TNUMBER: {
        double d = lua_tonumber(L, idx);
        if (isnan(d) || isinf(d)) return enc_fail(e, "cannot encode NaN or infinity");
        return tycho_buf_append_json_number(e->out, d);
    }
    case LUA_TSTRING: {
        size_t n;
        const char *s = lua_tolstring(L, idx, &n);
        return tycho_buf_append_json_string(e->out, s, n);
    }
    case LUA_TTABLE:
        return enc_table(e, idx);
    case LUA_TLIGHTUSERDATA:
        if (lua_touserdata(L, idx) == NULL) return PUT_LIT(e->out, "null");
        /* fall through */
    default: {
        char msg[80];
        snprintf(msg, sizeof msg, "cannot encode a value of type %s", luaL_typename(L, idx));
        return enc_fail(e, msg);
    }
    }
}

int tycho_json_encode(lua_State *L, int idx, tycho_buf_t *out, char *err, size_t errlen)
{
    if (idx < 0) idx = lua_gettop(L) + idx + 1;
    if (!lua_checkstack(L, MAX_DEPTH * 2 + 8)) {
        if (err && errlen) snprintf(err, errlen, "out of Lua stack");
        return -1;
    }
    enc_t e = {L, out, err, errlen, 0};
    int top = lua_gettop(L);
    int rc = enc_value(&e, idx);
    lua_settop(L, top);
    if (rc != 0 && err && errlen && !err[0]) snprintf(err, errlen, "out of memory");
    return rc ? -1 : 0;
}

/* --- decoding ----------------------------------------------------------------- */

static void push_item(lua_State *L, const cJSON *it, int depth)
{
    if (depth > 1000) luaL_error(L, "JSON nested too deep");
    luaL_checkstack(L, 4, "JSON nested too deep");
    if (cJSON_IsNull(it)) {
        lua_pushlightuserdata(L, NULL);
    } else if (cJSON_IsFalse(it)) {
        lua_pushboolean(L, 0);
    } else if (cJSON_IsTrue(it)) {
        lua_pushboolean(L, 1);
    } else if (cJSON_IsNumber(it)) {
        lua_pushnumber(L, it->valuedouble);
    } else if (cJSON_IsString(it)) {
        lua_pushstring(L, it->valuestring);
    } else if (cJSON_IsArray(it)) {
        lua_createtable(L, cJSON_GetArraySize(it), 0);
        int i = 1;
        for (const cJSON *c = it->child; c; c = c->next) {
            push_item(L, c, depth + 1);
            lua_rawseti(L, -2, i++);
        }
        luaL_getmetatable(L, ARRAY_MT);
        lua_setmetatable(L, -2);
    } else if (cJSON_IsObject(it)) {
        lua_createtable(L, 0, cJSON_GetArraySize(it));
        for (const cJSON *c = it->child; c; c = c->next) {
            lua_pushstring(L, c->string);
            push_item(L, c, depth + 1);
            lua_rawset(L, -3);
        }
    } else {
        lua_pushnil(L);
    }
}

static int box_gc(lua_State *L)
{
    cJSON **box = lua_touserdata(L, 1);
    if (box && *box) cJSON_Delete(*box), *box = NULL;
    return 0;
}

/* --- where a text stops being JSON ---------------------------------------------
 * cJSON's error pointer is where it gave up, not always where the text went
 * wrong: a text that ends early is blamed on its last byte ('{"a":1' -> '1')
 * and a bad or unterminated string on its first character. On a failed parse,
 * first_bad_byte walks the text by the grammar of RFC 8259 (section 2-7) to
 * find the first byte no JSON text can have there. */

enum { SCAN_DEPTH = 1024 };   /* above cJSON's CJSON_NESTING_LIMIT (1000) */
#define SCAN_END ((size_t)-1) /* the text is a complete JSON value */

static int is_blank(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static int is_hex(unsigned char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* The token scanners start at the token's first byte and return 0 with *i past
 * the token, or -1 with *i at the first bad byte (n when the text ends in
 * the middle of the token). */

static int scan_string(const unsigned char *s, size_t n, size_t *i)
{
    size_t k = *i + 1;
    for (;;) {
        if (k >= n) break;
        unsigned char c = s[k];
        if (c == '"') {
            *i = k + 1;
            return 0;
        }
        if (c < 0x20) break;
        if (c != '\\') {
            k++;
            continue;
        }
        if (++k >= n) break;
        if (s[k] != 'u') {
            if (!strchr("\"\\/bfnrt", s[k]) || s[k] == 0) break;
            k++;
            continue;
        }
        for (int h = 0; h < 4; h++)
            if (++k >= n || !is_hex(s[k])) goto bad;
        k++;
    }
bad:
    *i = k < n ? k : n;
    return -1;
}

static size_t skip_digits(const unsigned char *s, size_t n, size_t k)
{
    while (k < n && is_digit(s[k]))
        k++;
    return k;
}

/* -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
static int scan_number(const unsigned char *s, size_t n, size_t *i)
{
    size_t k = *i;
    if (s[k] == '-') k++;
    if (k < n && s[k] == '0')
        k++;
    else if (k < n && is_digit(s[k]))
        k = skip_digits(s, n, k);
    else
        goto bad;
    if (k < n && s[k] == '.') {
        if (++k >= n || !is_digit(s[k])) goto bad;
        k = skip_digits(s, n, k);
    }
    if (k < n && (s[k] == 'e' || s[k] == 'E')) {
        if (++k < n && (s[k] == '+' || s[k] == '-')) k++;
        if (k >= n || !is_digit(s[k])) goto bad;
        k = skip_digits(s, n, k);
    }
    *i = k;
    return 0;
bad:
    *i = k < n ? k : n;
    return -1;
}

static int scan_literal(const unsigned char *s, size_t n, size_t *i, const char *lit)
{
    size_t k = *i;
    for (; *lit; lit++, k++) {
        if (k >= n || s[k] != (unsigned char)*lit) {
            *i = k < n ? k : n;
            return -1;
        }
    }
    *i = k;
    return 0;
}

static int scan_scalar(const unsigned char *s, size_t n, size_t *i)
{
    switch (s[*i]) {
    case '"':
        return scan_string(s, n, i);
    case 't':
        return scan_literal(s, n, i, "true");
    case 'f':
        return scan_literal(s, n, i, "false");
    case 'n':
        return scan_literal(s, n, i, "null");
    default:
        if (s[*i] == '-' || is_digit(s[*i])) return scan_number(s, n, i);
        return -1; /* *i is the bad byte */
    }
}

/* The offset of the first byte of text that cannot continue a JSON text; n
 * when every byte can (the text ended too early); SCAN_END when the text is
 * a complete JSON value (cJSON refused it for a limit of its own: nesting
 * deeper than 1000, a lone UTF-16 surrogate in a \u escape). */
static size_t first_bad_byte(const char *text, size_t n)
{
    const unsigned char *s = (const unsigned char *)text;
    char open[SCAN_DEPTH]; /* the '{' and '[' around the current position */
    size_t depth = 0, i = 0;
    enum { VALUE, VALUE_OR_CLOSE, KEY, KEY_OR_CLOSE, COLON, AFTER_VALUE } want = VALUE;
    for (;;) {
        while (i < n && is_blank(s[i]))
            i++;
        if (i >= n) return want == AFTER_VALUE && depth == 0 ? SCAN_END : n;
        unsigned char c = s[i];
        char close = depth ? (open[depth - 1] == '{' ? '}' : ']') : 0;
        if ((want == VALUE_OR_CLOSE || want == KEY_OR_CLOSE) && c == close) {
            depth--, i++;
            want = AFTER_VALUE;
        } else if (want == VALUE || want == VALUE_OR_CLOSE) {
            if (c == '{' || c == '[') {
                if (depth == SCAN_DEPTH) return i;
                open[depth++] = (char)c;
                i++;
                want = c == '{' ? KEY_OR_CLOSE : VALUE_OR_CLOSE;
            } else {
                if (scan_scalar(s, n, &i) != 0) return i;
                want = AFTER_VALUE;
            }
        } else if (want == KEY || want == KEY_OR_CLOSE) {
            if (c != '"' || scan_string(s, n, &i) != 0) return i;
            want = COLON;
        } else if (want == COLON) {
            if (c != ':') return i;
            i++;
            want = VALUE;
        } else { /* AFTER_VALUE */
            if (depth && c == close) {
                depth--;
            } else if (c == ',' && depth) {
                want = open[depth - 1] == '{' ? KEY : VALUE;
            } else {
                return i;
            }
            i++;
        }
    }
}

static void where(const char *s, size_t n, const char *at, char *err, size_t errlen,
                  const char *what)
{
    size_t off = at && at >= s && at <= s + n ? (size_t)(at - s) : n;
    size_t line = 1, col = 1;
    for (size_t i = 0; i < off; i++) {
        if (s[i] == '\n')
            line++, col = 1;
        else
            col++;
    }
    if (off >= n)
        snprintf(err, errlen, "%s at line %zu, column %zu (byte %zu): unexpected end of input",
                 what, line, col, off + 1);
    else
        snprintf(err, errlen, "%s at line %zu, column %zu (byte %zu) near '%.*s'", what, line, col,
                 off + 1, (int)(n - off < 12 ? n - off : 12), s + off);
}

/* cJSON keeps strings NUL-terminated without a length, so a "\u0000" escape
 * would silently cut a string (or key) short: "a\u0000b" -> "a"; and it reads
 * a \u escape whose four characters are not all hex digits as \u0000 too
 * ("a\uzzzzb" -> "a"). Such a text is refused instead: returns the escape
 * (and *why), or NULL. Runs on text cJSON accepted, where a backslash can
 * only be inside a string and "\\" is skipped as one escape. */
static const char *bad_escape(const char *s, size_t n, const char **why)
{
    for (size_t i = 0; i + 5 < n; i++) {
        if (s[i] != '\\') continue;
        const unsigned char *h = (const unsigned char *)s + i + 2;
        if (s[i + 1] == 'u' && !(is_hex(h[0]) && is_hex(h[1]) && is_hex(h[2]) && is_hex(h[3]))) {
            *why = "invalid \\u escape (not 4 hex digits) in a string";
            return s + i;
        }
        if (s[i + 1] == 'u' && memcmp(h, "0000", 4) == 0) {
            *why = "unsupported \\u0000 (NUL) in a string";
            return s + i;
        }
        i++;
    }
    return NULL;
}

int tycho_json_decode(lua_State *L, const char *s, size_t n, char *err, size_t errlen)
{
    /* the tree is boxed in a userdata with __gc so a Lua error (memory limit)
     * while converting it cannot leak it */
    cJSON **box = lua_newuserdata(L, sizeof *box);
    *box = NULL;
    lua_createtable(L, 0, 1);
    lua_pushcfunction(L, box_gc);
    lua_setfield(L, -2, "__gc");
    lua_setmetatable(L, -2);
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(s, n, &end, 0);
    if (!root) {
        lua_pop(L, 1);
        size_t bad = first_bad_byte(s, n);
        where(s, n, bad == SCAN_END ? end : s + bad, err, errlen, "invalid JSON");
        return -1;
    }
    *box = root;
    while (end && end < s + n && (is_blank((unsigned char)*end) || *end == 0))
        end++;
    if (end && end < s + n) {
        cJSON_Delete(root);
        *box = NULL;
        lua_pop(L, 1);
        where(s, n, end, err, errlen, "trailing characters after the JSON value");
        return -1;
    }
    const char *why, *escape = bad_escape(s, n, &why);
    if (escape) {
        cJSON_Delete(root);
        *box = NULL;
        lua_pop(L, 1);
        where(s, n, escape, err, errlen, why);
        return -1;
    }
    push_item(L, root, 0);
    cJSON_Delete(root);
    *box = NULL;
    lua_remove(L, -2);
    return 0;
}

static int l_encode(lua_State *L)
{
    luaL_checkany(L, 1);
    tycho_buf_t b = TYCHO_BUF_INIT;
    char err[160] = "";
    if (tycho_json_encode(L, 1, &b, err, sizeof err) != 0) {
        tycho_buf_free(&b);
        return luaL_error(L, "json.encode: %s", err);
    }
    lua_pushlstring(L, b.data ? b.data : "", b.len);
    tycho_buf_free(&b);
    return 1;
}

static int l_decode(lua_State *L)
{
    size_t n;
    const char *s = luaL_checklstring(L, 1, &n);
    char err[200];
    if (tycho_json_decode(L, s, n, err, sizeof err) != 0)
        return luaL_error(L, "json.decode: %s", err);
    return 1;
}

static int l_array(lua_State *L)
{
    if (lua_isnoneornil(L, 1)) {
        lua_settop(L, 0);
        lua_newtable(L);
    }
    luaL_checktype(L, 1, LUA_TTABLE);
    luaL_getmetatable(L, ARRAY_MT);
    lua_setmetatable(L, 1);
    lua_settop(L, 1);
    return 1;
}

static int l_is_array(lua_State *L)
{
    lua_pushboolean(L, lua_istable(L, 1) && is_array_mt(L, 1));
    return 1;
}

int luaopen_tycho_json(lua_State *L)
{
    luaL_newmetatable(L, ARRAY_MT);
    lua_pushliteral(L, "array");
    lua_setfield(L, -2, "__jsontype");
    lua_pop(L, 1);
    static const luaL_Reg fns[] = {{"encode", l_encode},
                                   {"decode", l_decode},
                                   {"array", l_array},
                                   {"is_array", l_is_array},
                                   {NULL, NULL}};
    lua_newtable(L);
    luaL_register(L, NULL, fns);
    lua_pushlightuserdata(L, NULL);
    lua_setfield(L, -2, "null");
    luaL_getmetatable(L, ARRAY_MT);
    lua_setfield(L, -2, "array_mt");
    return 1;
}
