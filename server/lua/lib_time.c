/* tycho.time — now() (wall clock, seconds as a float), monotonic() (seconds
 * from an arbitrary origin), sleep(seconds) (yields the request on a libuv
 * timer; the worker serves other requests meanwhile). */
#include "lua/async.h"
#include "lua/libs.h"

#include <lauxlib.h>
#include <stdlib.h>
#include <time.h>

typedef struct sleep_op {
    tycho_lua_op_t op;
    uv_timer_t timer;
    double secs;
} sleep_op_t;

static void free_op(uv_handle_t *h)
{
    free(h->data);
}

static void sleep_done(uv_timer_t *timer)
{
    sleep_op_t *s = timer->data;
    tycho_lua_op_resume(&s->op, 0);
    uv_close((uv_handle_t *)&s->timer, free_op);
}

static void sleep_start(tycho_lua_op_t *op)
{
    sleep_op_t *s = (sleep_op_t *)op;
    uv_timer_init(tycho_lua_op_loop(op), &s->timer);
    s->timer.data = s;
    /* the loop's cached time is stale after a long callback: refresh it, or
     * the timer would fire early */
    uv_update_time(tycho_lua_op_loop(op));
    uv_timer_start(&s->timer, sleep_done, (uint64_t)(s->secs * 1000 + 0.5), 0);
}

static void sleep_cancel(tycho_lua_op_t *op)
{
    sleep_op_t *s = (sleep_op_t *)op;
    if (!op->started) {
        free(s);
        return;
    }
    uv_timer_stop(&s->timer);
    uv_close((uv_handle_t *)&s->timer, free_op);
}

static int l_sleep(lua_State *L)
{
    double secs = luaL_checknumber(L, 1);
    if (!(secs >= 0) || secs > 86400 * 365) return luaL_argerror(L, 1, "seconds out of range");
    sleep_op_t *s = calloc(1, sizeof *s);
    if (!s) return luaL_error(L, "out of memory");
    s->secs = secs;
    s->op.start = sleep_start;
    s->op.cancel = sleep_cancel;
    return tycho_lua_suspend(L, &s->op);
}

static int l_now(lua_State *L)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    lua_pushnumber(L, (double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
    return 1;
}

static int l_monotonic(lua_State *L)
{
    lua_pushnumber(L, (double)uv_hrtime() / 1e9);
    return 1;
}

int luaopen_tycho_time(lua_State *L)
{
    static const luaL_Reg fns[] = {
        {"now", l_now}, {"monotonic", l_monotonic}, {"sleep", l_sleep}, {NULL, NULL}};
    lua_newtable(L);
    luaL_register(L, NULL, fns);
    return 1;
}
