/* libs — the C modules the runtime provides to Lua (package.preload):
 * tycho.json, tycho.time, tycho.log, tycho.uuid, tycho.net, tycho._test... Each lib_*.c
 * implements one. Any thread that owns a state may call them for that state. */
#ifndef TYCHO_LUA_LIBS_H
#define TYCHO_LUA_LIBS_H

#include "core/buf.h"
#include "core/log.h"

#include <lua.h>
#include <stddef.h>

/* Registers every tycho C module in package.preload of L. */
void tycho_lua_open_libs(lua_State *L);

int luaopen_tycho_json(lua_State *L);
int luaopen_tycho_time(lua_State *L);
int luaopen_tycho_log(lua_State *L);
/* Makes L's writes to stdout info log lines (lib_log.c): print, io.write to
 * the default output when that is stdout, and the write method of a file on
 * stdout (io.stdout:write). For states that serve, whose stdout holds the
 * JSON log lines. Call after luaL_openlibs. */
void tycho_lua_stdout_to_log(lua_State *L);
int luaopen_tycho_uuid(lua_State *L);
int luaopen_tycho_test(lua_State *L);
int luaopen_tycho_http_core(lua_State *L); /* tycho._http (lib_http.c) */
int luaopen_tycho_aws_core(lua_State *L);  /* tycho._aws (lib_aws.c) */
int luaopen_tycho_all_c(lua_State *L);     /* tycho._all (lib_all.c) */
int luaopen_tycho_server(lua_State *L);
int luaopen_tycho_net(lua_State *L);

/* Encodes the value at idx as JSON into out. Raises no Lua error and
 * allocates no Lua object (safe outside a protected call). Returns 0, or -1
 * with err, which names where in the value the error is: "cannot encode a
 * value of type function (at .items[2])". */
int tycho_json_encode(lua_State *L, int idx, tycho_buf_t *out, char *err, size_t errlen);
/* Whether the value at idx is json.null (the light userdata holding NULL,
 * JSON null both ways). */
int tycho_json_is_null(lua_State *L, int idx);
/* Decodes JSON text and pushes the value. Must run inside a protected call (it
 * allocates). Returns 0, or -1 with err ("invalid JSON at line 1, column 9:
 * ...") and nothing pushed. */
int tycho_json_decode(lua_State *L, const char *s, size_t n, char *err, size_t errlen);

/* The log sink `tycho spec` installs: stderr, or the capture buffer of
 * tycho.test.capture_logs. */
void tycho_lua_test_log_sink(const char *line, size_t len, const tycho_log_meta_t *meta, void *ud);

/* 16 random bytes formatted as an RFC 9562 version 4 UUID (out: 37 bytes). */
void tycho_uuid_v4(char out[37]);

#endif
