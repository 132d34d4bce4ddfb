/* tycho.json — JSON for Lua: a direct encoder and a strict RFC 8259 decoder.
 * Rules (docs/routes.md):
 * - json.null (a light userdata) stands for JSON null both ways.
 * - Decoded arrays carry the json.array metatable, so `[]` re-encodes as `[]`.
 * - Encoding a table: keys exactly 1..n (n >= 1) -> array; only string keys
 *   -> object; an empty table -> {} (use json.array({}) for []), or [] when
 *   marked json.array. Other key mixes (sparse arrays, numbers and strings, a
 *   string key in a marked table) are an error. NaN/inf, functions, userdata
 *   and nesting deeper than MAX_DEPTH (cycles) are errors. Integral numbers up
 *   to 2^53 print without a fraction; -0 keeps its sign.
 * - Decoding: strings keep NUL bytes ("\u0000"); invalid UTF-8, a number past
 *   the range of a double and nesting deeper than MAX_DEPTH are errors. */
#include "lua/libs.h"

#include "core/utf8.h"

#include <ctype.h>
#include <lauxlib.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARRAY_MT "tycho.json.array"
#define MAX_DEPTH 128 /* levels of nesting, encoding and decoding alike */
#define STR(x) #x
#define XSTR(x) STR(x)
#define DEPTH_ERROR "nested deeper than " XSTR(MAX_DEPTH) " levels"

typedef struct enc {
    lua_State *L;
    tycho_buf_t *out;
    char *err;
    size_t errlen;
    int depth;
    /* where the error is: ".user.tags[3]", built from the innermost key out
     * as the tables unwind (path_key); cut: the outer keys did not fit */
    char path[96];
    int cut;
} enc_t;

int tycho_json_is_null(lua_State *L, int idx)
{
    return lua_type(L, idx) == LUA_TLIGHTUSERDATA && !lua_touserdata(L, idx);
}

static int enc_fail(enc_t *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int enc_fail(enc_t *e, const char *fmt, ...)
{
    if (e->err && e->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(e->err, e->errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* The error is in the value under the key at kidx (a string or an array
 * index) of the table being unwound: ".name", ["odd key"] or [3] goes in
 * front of the path. */
static void path_key(enc_t *e, int kidx)
{
    lua_State *L = e->L;
    char seg[48];
    if (lua_type(L, kidx) == LUA_TNUMBER) {
        snprintf(seg, sizeof seg, "[%.0f]", lua_tonumber(L, kidx));
    } else {
        size_t n, i = 0;
        const char *k = lua_tolstring(L, kidx, &n);
        int plain = n > 0 && n <= 40 && !isdigit((unsigned char)k[0]);
        for (; plain && i < n; i++)
            plain = isalnum((unsigned char)k[i]) || k[i] == '_';
        if (plain)
            snprintf(seg, sizeof seg, ".%s", k);
        else
            snprintf(seg, sizeof seg, "[\"%.*s%s\"]", n > 24 ? 24 : (int)n, k, n > 24 ? "..." : "");
    }
    size_t have = strlen(e->path), add = strlen(seg);
    if (e->cut || have + add >= sizeof e->path) {
        e->cut = 1;
        return;
    }
    memmove(e->path + add, e->path, have + 1);
    memcpy(e->path, seg, add);
}

/* The table being unwound has an error of its own (check_keys): the path of
 * a value's error inside it no longer applies. */
static void path_clear(enc_t *e)
{
    e->path[0] = '\0';
    e->cut = 0;
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
 * table marked json.array must be an array: a string key in it is an error.
 * Any positive integer is an array index, however large: an index past the
 * number of keys (1e15, 2^53) makes the array sparse, and the error says so. */
static int check_keys(enc_t *e, int idx, int marked, size_t *n)
{
    lua_State *L = e->L;
    size_t count = 0;
    double maxk = 0;
    int strings = 0, others = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1);
        count++;
        if (lua_type(L, -1) == LUA_TSTRING) {
            strings = 1;
        } else if (lua_type(L, -1) == LUA_TNUMBER) {
            double k = lua_tonumber(L, -1);
            if (k >= 1 && k == floor(k) && isfinite(k)) {
                if (k > maxk) maxk = k;
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
    if (!strings && maxk != (double)count) {
        char index[TYCHO_BUF_NUMBER_MAX];
        tycho_buf_number_text(index, maxk);
        return enc_fail(e,
                        "cannot encode a sparse array: index %s with %zu items (use json.null "
                        "for holes)",
                        index, count);
    }
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
                lua_pushnumber(L, (lua_Number)(i + 1));
                lua_rawgeti(L, idx, (int)(i + 1));
                rc = rc ? rc : enc_value(e, lua_gettop(L));
                if (rc) path_key(e, -2);
                lua_pop(L, 2);
            }
            break;
        }
        if (i++ > 0) rc |= PUT_LIT(e->out, ",");
        rc = rc ? rc : enc_value(e, lua_gettop(L));
        if (rc) path_key(e, -2);
        lua_pop(L, 1);
        if (rc) {
            lua_pop(L, 1);
            break;
        }
    } while (lua_next(L, idx));
    if (rc == 0) return PUT_LIT(e->out, "]") ? -1 : 0;
    if (check_keys(e, idx, marked, &n) != 0) path_clear(e); /* a key error replaces the value's */
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
        if (rc) path_key(e, -2);
        lua_pop(L, 1);
        if (rc) {
            lua_pop(L, 1);
            break;
        }
    } while (lua_next(L, idx));
    if (rc == 0) return PUT_LIT(e->out, "}") ? -1 : 0;
    size_t n;
    if (check_keys(e, idx, 0, &n) != 0) path_clear(e); /* a key error replaces the value's */
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
        if (tycho_json_is_null(L, idx)) return PUT_LIT(e->out, "null");
        /* fall through */
    default:
        return enc_fail(e, "cannot encode a value of type %s", luaL_typename(L, idx));
    }
}

int tycho_json_encode(lua_State *L, int idx, tycho_buf_t *out, char *err, size_t errlen)
{
    if (idx < 0) idx = lua_gettop(L) + idx + 1;
    if (!lua_checkstack(L, MAX_DEPTH * 2 + 8)) {
        if (err && errlen) snprintf(err, errlen, "out of Lua stack");
        return -1;
    }
    enc_t e = {.L = L, .out = out, .err = err, .errlen = errlen};
    int top = lua_gettop(L);
    int rc = enc_value(&e, idx);
    lua_settop(L, top);
    if (rc == 0) return 0;
    if (err && errlen && !err[0]) snprintf(err, errlen, "out of memory");
    size_t have = err && errlen ? strlen(err) : 0;
    if (e.path[0] && have + 1 < errlen)
        snprintf(err + have, errlen - have, " (at %s%s)", e.cut ? "..." : "", e.path);
    return -1;
}

/* --- decoding -----------------------------------------------------------------
 * A recursive-descent parser of the grammar of RFC 8259 (sections 2-7) that
 * pushes Lua values as it reads: strings keep their length (so "\u0000" is a
 * NUL byte in a Lua string), numbers must fit a double, nesting stops at
 * MAX_DEPTH. It stops at the first byte no JSON text can have there and says
 * where. It holds no C allocation, so a Lua error (the memory limit) raised
 * while it pushes cannot leak anything. */

typedef struct dec {
    lua_State *L;
    const unsigned char *s;
    size_t n;
    size_t i;         /* the next byte to read; where it went wrong on error */
    int depth;        /* of '[' and '{' around i */
    int array_mt;     /* stack index of the json.array metatable */
    const char *what; /* the error, at i */
} dec_t;

static int is_blank(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

/* Fails at byte at (n: the text ended too early) with what, or "invalid JSON". */
static int dec_fail(dec_t *d, size_t at, const char *what)
{
    d->i = at < d->n ? at : d->n;
    d->what = what ? what : "invalid JSON";
    return -1;
}

static void skip_blanks(dec_t *d)
{
    while (d->i < d->n && is_blank(d->s[d->i]))
        d->i++;
}

/* The value of the hex digit c, or -1. */
static int hex_value(unsigned char c)
{
    if (is_digit(c)) return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* The \uXXXX escape at k (its backslash): 0 with *cp, or -1. */
static int read_u_escape(dec_t *d, size_t k, unsigned *cp)
{
    *cp = 0;
    for (size_t h = k + 2; h < k + 6; h++) {
        if (h >= d->n) return dec_fail(d, d->n, NULL);
        int v = hex_value(d->s[h]);
        if (v < 0) return dec_fail(d, k, "invalid \\u escape (not 4 hex digits) in a string");
        *cp = *cp << 4 | (unsigned)v;
    }
    return 0;
}

static void add_utf8(luaL_Buffer *b, unsigned cp)
{
    if (cp < 0x80) {
        luaL_addchar(b, (char)cp);
    } else if (cp < 0x800) {
        luaL_addchar(b, (char)(0xc0 | cp >> 6));
        luaL_addchar(b, (char)(0x80 | (cp & 0x3f)));
    } else if (cp < 0x10000) {
        luaL_addchar(b, (char)(0xe0 | cp >> 12));
        luaL_addchar(b, (char)(0x80 | (cp >> 6 & 0x3f)));
        luaL_addchar(b, (char)(0x80 | (cp & 0x3f)));
    } else {
        luaL_addchar(b, (char)(0xf0 | cp >> 18));
        luaL_addchar(b, (char)(0x80 | (cp >> 12 & 0x3f)));
        luaL_addchar(b, (char)(0x80 | (cp >> 6 & 0x3f)));
        luaL_addchar(b, (char)(0x80 | (cp & 0x3f)));
    }
}

/* The escape at *k (its backslash) added to b; *k moves past it. A UTF-16
 * surrogate must come as a pair (RFC 8259 section 7): a lone one has no
 * UTF-8 form. */
static int add_escape(dec_t *d, size_t *k, luaL_Buffer *b)
{
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    const char *lone = "invalid \\u escape (a lone UTF-16 surrogate) in a string";
    size_t at = *k;
    if (at + 1 >= d->n) return dec_fail(d, d->n, NULL);
    unsigned char c = d->s[at + 1];
    const char *simple = c ? strchr(from, c) : NULL;
    if (simple) {
        luaL_addchar(b, to[simple - from]);
        *k = at + 2;
        return 0;
    }
    if (c != 'u') return dec_fail(d, at + 1, NULL);
    unsigned cp, low;
    if (read_u_escape(d, at, &cp) != 0) return -1;
    *k = at + 6;
    if (cp >= 0xdc00 && cp <= 0xdfff) return dec_fail(d, at, lone);
    if (cp >= 0xd800 && cp <= 0xdbff) {
        /* '"\ud800"' ends the text right after: lone, not cut short */
        if (*k < d->n && d->s[*k] != '\\') return dec_fail(d, at, lone);
        if (*k + 1 >= d->n) return dec_fail(d, d->n, NULL);
        if (d->s[*k + 1] != 'u') return dec_fail(d, at, lone);
        if (read_u_escape(d, *k, &low) != 0) return -1;
        if (low < 0xdc00 || low > 0xdfff) return dec_fail(d, at, lone);
        cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
        *k += 6;
    }
    add_utf8(b, cp);
    return 0;
}

/* Moves *k past the run of bytes a string holds as they are (no quote,
 * escape or control character), or fails at its first byte that is not
 * UTF-8 (RFC 8259 section 8.1): a handler never gets bytes the encoder
 * would turn into U+FFFD. */
static int plain_run(dec_t *d, size_t *k)
{
    const unsigned char *s = d->s;
    while (*k < d->n && s[*k] != '"' && s[*k] != '\\' && s[*k] >= 0x20) {
        size_t len = s[*k] < 0x80 ? 1 : tycho_utf8_seq_len(s + *k, d->n - *k);
        if (len == 0) return dec_fail(d, *k, "invalid UTF-8 in a string");
        *k += len;
    }
    return 0;
}

/* The string at d->i (its opening quote), pushed. Bytes up to the first
 * escape are pushed as they are; after one, the string is built in a
 * luaL_Buffer (which only uses the stack above it). */
static int dec_string(dec_t *d)
{
    const unsigned char *s = d->s;
    size_t start = d->i + 1, k = start;
    if (plain_run(d, &k) != 0) return -1;
    if (k < d->n && s[k] == '"') {
        lua_pushlstring(d->L, (const char *)s + start, k - start);
        d->i = k + 1;
        return 0;
    }
    luaL_Buffer b;
    luaL_checkstack(d->L, LUA_MINSTACK, "JSON string"); /* the buffer's pieces */
    luaL_buffinit(d->L, &b);
    luaL_addlstring(&b, (const char *)s + start, k - start);
    while (k < d->n && s[k] != '"') {
        if (s[k] < 0x20) return dec_fail(d, k, NULL); /* must be escaped */
        if (s[k] == '\\') {
            if (add_escape(d, &k, &b) != 0) return -1;
        } else {
            size_t from = k;
            if (plain_run(d, &k) != 0) return -1;
            luaL_addlstring(&b, (const char *)s + from, k - from);
        }
    }
    if (k >= d->n) return dec_fail(d, d->n, NULL);
    luaL_pushresult(&b);
    d->i = k + 1;
    return 0;
}

static size_t skip_digits(const unsigned char *s, size_t n, size_t k)
{
    while (k < n && is_digit(s[k]))
        k++;
    return k;
}

/* The end of the number at d->i: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
 * and whether it is an integer (neither fraction nor exponent), or -1 with the
 * error at the first byte that cannot continue it. */
static int scan_number(dec_t *d, size_t *end, int *integer)
{
    const unsigned char *s = d->s;
    size_t n = d->n, k = d->i;
    if (s[k] == '-') k++;
    if (k >= n || !is_digit(s[k])) return dec_fail(d, k, NULL);
    k = s[k] == '0' ? k + 1 : skip_digits(s, n, k);
    if (k < n && is_digit(s[k])) return dec_fail(d, k, NULL); /* a leading zero */
    *integer = !(k < n && (s[k] == '.' || s[k] == 'e' || s[k] == 'E'));
    if (k < n && s[k] == '.') {
        if (++k >= n || !is_digit(s[k])) return dec_fail(d, k, NULL);
        k = skip_digits(s, n, k);
    }
    if (k < n && (s[k] == 'e' || s[k] == 'E')) {
        if (++k < n && (s[k] == '+' || s[k] == '-')) k++;
        if (k >= n || !is_digit(s[k])) return dec_fail(d, k, NULL);
        k = skip_digits(s, n, k);
    }
    *end = k;
    return 0;
}

/* The number at d->i, pushed. Up to 15 digits without a fraction or an
 * exponent are exact as they are summed; others go through strtod, on a
 * NUL-terminated copy (the text may not be one). */
static int dec_number(dec_t *d)
{
    size_t end;
    int integer;
    if (scan_number(d, &end, &integer) != 0) return -1;
    const char *t = (const char *)d->s + d->i;
    size_t len = end - d->i;
    int neg = t[0] == '-';
    double v = 0;
    if (integer && len - (size_t)neg <= 15) {
        for (size_t k = (size_t)neg; k < len; k++)
            v = v * 10 + (t[k] - '0');
        v = neg ? -v : v;
    } else if (len < 64) {
        char copy[64];
        memcpy(copy, t, len);
        copy[len] = 0;
        v = strtod(copy, NULL);
    } else {
        lua_pushlstring(d->L, t, len);
        v = strtod(lua_tostring(d->L, -1), NULL);
        lua_pop(d->L, 1);
    }
    if (isinf(v)) return dec_fail(d, d->i, "number out of range");
    lua_pushnumber(d->L, v);
    d->i = end;
    return 0;
}

/* The literal lit at d->i, or the error at its first wrong byte. */
static int dec_literal(dec_t *d, const char *lit)
{
    size_t k = d->i;
    for (; *lit; lit++, k++)
        if (k >= d->n || d->s[k] != (unsigned char)*lit) return dec_fail(d, k, NULL);
    d->i = k;
    return 0;
}

static int dec_value(dec_t *d);

/* After an item of an array or object: 0 with d->i past the ',' (another
 * item follows), 1 past the closing bracket, or -1. */
static int dec_next_item(dec_t *d, unsigned char close)
{
    skip_blanks(d);
    if (d->i >= d->n) return dec_fail(d, d->n, NULL);
    unsigned char c = d->s[d->i++];
    if (c == ',') return 0;
    if (c == close) return 1;
    return dec_fail(d, d->i - 1, NULL);
}

/* Past the opening bracket at d->i: 1 when close follows (an empty array or
 * object, d->i past it), else 0. */
static int dec_empty(dec_t *d, unsigned char close)
{
    d->i++;
    skip_blanks(d);
    if (d->i >= d->n || d->s[d->i] != close) return 0;
    d->i++;
    return 1;
}

/* The array at d->i (its '['), pushed with the json.array metatable. */
static int dec_array(dec_t *d)
{
    lua_State *L = d->L;
    lua_newtable(L);
    lua_pushvalue(L, d->array_mt);
    lua_setmetatable(L, -2);
    if (dec_empty(d, ']')) return 0;
    int rc = 0;
    for (int k = 1; rc == 0; k++) {
        if (dec_value(d) != 0) return -1;
        lua_rawseti(L, -2, k);
        rc = dec_next_item(d, ']');
    }
    return rc < 0 ? -1 : 0;
}

/* The object at d->i (its '{'), pushed. A key seen twice keeps its last
 * value. */
static int dec_object(dec_t *d)
{
    lua_State *L = d->L;
    lua_newtable(L);
    if (dec_empty(d, '}')) return 0;
    int rc = 0;
    while (rc == 0) {
        skip_blanks(d);
        if (d->i >= d->n || d->s[d->i] != '"') return dec_fail(d, d->i, NULL);
        if (dec_string(d) != 0) return -1;
        skip_blanks(d);
        if (d->i >= d->n || d->s[d->i] != ':') return dec_fail(d, d->i, NULL);
        d->i++;
        if (dec_value(d) != 0) return -1;
        lua_rawset(L, -3);
        rc = dec_next_item(d, '}');
    }
    return rc < 0 ? -1 : 0;
}

static int dec_nested(dec_t *d, int (*dec)(dec_t *))
{
    if (++d->depth > MAX_DEPTH) return dec_fail(d, d->i, DEPTH_ERROR);
    luaL_checkstack(d->L, 4, "JSON nesting");
    int rc = dec(d);
    d->depth--;
    return rc;
}

/* The value at d->i (blanks first), pushed. */
static int dec_value(dec_t *d)
{
    skip_blanks(d);
    if (d->i >= d->n) return dec_fail(d, d->n, NULL);
    switch (d->s[d->i]) {
    case '{':
        return dec_nested(d, dec_object);
    case '[':
        return dec_nested(d, dec_array);
    case '"':
        return dec_string(d);
    case 't':
        return dec_literal(d, "true") ? -1 : (lua_pushboolean(d->L, 1), 0);
    case 'f':
        return dec_literal(d, "false") ? -1 : (lua_pushboolean(d->L, 0), 0);
    case 'n':
        return dec_literal(d, "null") ? -1 : (lua_pushlightuserdata(d->L, NULL), 0);
    default:
        if (d->s[d->i] == '-' || is_digit(d->s[d->i])) return dec_number(d);
        return dec_fail(d, d->i, NULL);
    }
}

static void where(const char *s, size_t n, size_t off, char *err, size_t errlen, const char *what)
{
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

int tycho_json_decode(lua_State *L, const char *s, size_t n, char *err, size_t errlen)
{
    int top = lua_gettop(L);
    luaL_checkstack(L, 8, "JSON decoding");
    luaL_getmetatable(L, ARRAY_MT);
    dec_t d = {L, (const unsigned char *)s, n, 0, 0, top + 1, NULL};
    if (dec_value(&d) == 0) {
        skip_blanks(&d);
        if (d.i >= n) {
            lua_remove(L, top + 1);
            return 0;
        }
        dec_fail(&d, d.i, "trailing characters after the JSON value");
    }
    lua_settop(L, top);
    where(s, n, d.i, err, errlen, d.what);
    return -1;
}

/* json.encode writes into one buffer per state, upvalue 1 of encode (a
 * userdata whose __gc frees it when the state closes). The buffer is
 * malloc'd, not Lua memory, and pushing the text as a string may fail with
 * a memory error (the Lua memory limit), which unwinds past l_encode: a
 * buffer of l_encode's own would leak then, this one stays the state's.
 * tycho_json_encode calls no Lua code, so no other encode can run while one
 * uses it. Past ENCODE_KEEP bytes it is not kept for the next call. */
#define ENCODE_BUF_MT "tycho.json.encode_buffer"
#define ENCODE_KEEP (64 * 1024)

static int encode_buf_gc(lua_State *L)
{
    tycho_buf_free(lua_touserdata(L, 1));
    return 0;
}

static int l_encode(lua_State *L)
{
    luaL_checkany(L, 1);
    tycho_buf_t *b = lua_touserdata(L, lua_upvalueindex(1));
    char err[256] = "";
    int rc = tycho_json_encode(L, 1, b, err, sizeof err);
    if (rc == 0) lua_pushlstring(L, b->data ? b->data : "", b->len);
    if (b->cap > ENCODE_KEEP)
        tycho_buf_free(b);
    else
        tycho_buf_reset(b);
    if (rc != 0) return luaL_error(L, "json.encode: %s", err);
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
    static const luaL_Reg fns[] = {
        {"decode", l_decode}, {"array", l_array}, {"is_array", l_is_array}, {NULL, NULL}};
    lua_newtable(L);
    luaL_register(L, NULL, fns);
    tycho_buf_t *b = lua_newuserdata(L, sizeof *b);
    *b = (tycho_buf_t)TYCHO_BUF_INIT;
    if (luaL_newmetatable(L, ENCODE_BUF_MT)) {
        lua_pushcfunction(L, encode_buf_gc);
        lua_setfield(L, -2, "__gc");
    }
    lua_setmetatable(L, -2);
    lua_pushcclosure(L, l_encode, 1);
    lua_setfield(L, -2, "encode");
    lua_pushlightuserdata(L, NULL);
    lua_setfield(L, -2, "null");
    luaL_getmetatable(L, ARRAY_MT);
    lua_setfield(L, -2, "array_mt");
    return 1;
}
