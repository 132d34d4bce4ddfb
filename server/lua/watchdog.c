#define _GNU_SOURCE /* pthread_getname_np */
#include "lua/watchdog.h"

#include <errno.h>
#include <lauxlib.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>

#include "core/log.h"
#include "core/thread_name.h"

/* How long past its deadline a signalled run may go on before it counts as
 * stuck in code the hook cannot reach (the hook itself acts within
 * microseconds of the signal). */
#define STUCK_AFTER_NS (2 * 1000000000ull)

struct tycho_watchdog_slot {
    pthread_t thread;
    lua_State *volatile co;
    uint64_t deadline; /* accessed with __atomic */
    uint64_t fired_for;
    uint64_t reported_for; /* the deadline whose stuck run was logged */
    const char *raise;     /* enter_raising: the error the hook raises; NULL: yield */
    volatile sig_atomic_t hooked;
    volatile sig_atomic_t fired;
    tycho_watchdog_slot_t *next;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static tycho_watchdog_slot_t *slots;
static int nslots;
static pthread_t thread;
static int running;
static int sig_installed;
static __thread tycho_watchdog_slot_t *tls_slot;
static void (*stuck_fn)(double late_seconds); /* guarded by mu */
static atomic_int nstuck;                     /* the stuck runs the watchdog's last look found */

static int watchdog_signal(void)
{
    return SIGRTMIN + 6;
}

static void hook(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    tycho_watchdog_slot_t *s = tls_slot;
    if (!s || !s->co) {
        lua_sethook(L, NULL, 0, 0);
        return;
    }
    s->fired = 1;
    /* stay armed, for the fallback below */
    lua_sethook(L, hook, LUA_MASKCOUNT, 1000);
    /* A yield from a hook unwinds through pcall frames (LuaJIT), so the
     * handler cannot swallow it; the scheduler then abandons the coroutine.
     * Where a yield is impossible (inside a C call such as a table.sort
     * comparator, or a coroutine the handler created) this raises an error
     * instead, and the re-armed hook raises again if a pcall catches it. */
    if (L == s->co && !s->raise) lua_yield(L, 0);
    luaL_error(L, "%s",
               s->raise ? s->raise
                        : "handler timeout: ran past TYCHO_HANDLER_TIMEOUT without yielding");
}

static void on_signal(int sig)
{
    (void)sig;
    int saved = errno;
    tycho_watchdog_slot_t *s = tls_slot;
    if (s && s->co) {
        s->hooked = 1;
        lua_sethook(s->co, hook, LUA_MASKCALL | LUA_MASKRET | LUA_MASKCOUNT, 1);
    }
    errno = saved;
}

/* The worker cannot say it is stuck: the watchdog says it once per run,
 * naming the thread, so an operator sees why that worker stopped answering. */
static void report_stuck(tycho_watchdog_slot_t *s, uint64_t late_ns)
{
    if (stuck_fn) {
        stuck_fn((double)late_ns / 1e9);
        return;
    }
    char name[16] = "?";
    pthread_getname_np(s->thread, name, sizeof name);
    tycho_log_error("Lua code runs past its deadline and cannot be interrupted: a loop compiled "
                    "by the JIT blocks this worker (docs/routes.md, Limits)",
                    LF_STR("thread", name), LF_DBL("late_seconds", (double)late_ns / 1e9));
}

/* Whether the slot's run past deadline d was signalled and is still going
 * STUCK_AFTER_NS later. mu held. */
static int stuck(const tycho_watchdog_slot_t *s, uint64_t d, uint64_t now)
{
    return d && s->fired_for == d && now > d + STUCK_AFTER_NS;
}

static void *run(void *arg)
{
    (void)arg;
    tycho_thread_name("tycho-watchdog");
    pthread_mutex_lock(&mu);
    while (running) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 50 * 1000000L;
        if (ts.tv_nsec >= 1000000000L) ts.tv_sec++, ts.tv_nsec -= 1000000000L;
        pthread_cond_timedwait(&cv, &mu, &ts);
        uint64_t now = uv_hrtime();
        int n = 0;
        for (tycho_watchdog_slot_t *s = slots; s; s = s->next) {
            uint64_t d = __atomic_load_n(&s->deadline, __ATOMIC_ACQUIRE);
            if (d && now > d && s->fired_for != d) {
                s->fired_for = d;
                pthread_kill(s->thread, watchdog_signal());
            } else if (stuck(s, d, now)) {
                n++;
                if (s->reported_for != d) report_stuck(s, now - d);
                s->reported_for = d;
            }
        }
        atomic_store(&nstuck, n);
    }
    atomic_store(&nstuck, 0);
    pthread_mutex_unlock(&mu);
    return NULL;
}

int tycho_watchdog_stuck(tycho_watchdog_stuck_t *out, int max)
{
    int n = 0;
    pthread_mutex_lock(&mu);
    uint64_t now = uv_hrtime();
    for (tycho_watchdog_slot_t *s = slots; s; s = s->next) {
        uint64_t d = __atomic_load_n(&s->deadline, __ATOMIC_ACQUIRE);
        if (!stuck(s, d, now)) continue;
        if (n < max) {
            snprintf(out[n].thread, sizeof out[n].thread, "?");
            pthread_getname_np(s->thread, out[n].thread, sizeof out[n].thread);
            out[n].late_seconds = (double)(now - d) / 1e9;
        }
        n++;
    }
    pthread_mutex_unlock(&mu);
    return n;
}

int tycho_watchdog_stuck_count(void)
{
    return atomic_load(&nstuck);
}

void tycho_watchdog_on_stuck(void (*fn)(double late_seconds))
{
    pthread_mutex_lock(&mu);
    stuck_fn = fn;
    pthread_mutex_unlock(&mu);
}

tycho_watchdog_slot_t *tycho_watchdog_register(void)
{
    tycho_watchdog_slot_t *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->thread = pthread_self();
    pthread_mutex_lock(&mu);
    if (!sig_installed) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_signal;
        sa.sa_flags = SA_RESTART;
        sigemptyset(&sa.sa_mask);
        sigaction(watchdog_signal(), &sa, NULL);
        sig_installed = 1;
    }
    if (!running) {
        /* the watchdog thread must never take the signal itself */
        sigset_t all, old;
        sigfillset(&all);
        pthread_sigmask(SIG_BLOCK, &all, &old);
        running = pthread_create(&thread, NULL, run, NULL) == 0;
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (!running) {
            pthread_mutex_unlock(&mu);
            free(s);
            return NULL;
        }
    }
    s->next = slots;
    slots = s;
    nslots++;
    pthread_mutex_unlock(&mu);
    tls_slot = s;
    return s;
}

void tycho_watchdog_unregister(tycho_watchdog_slot_t *s)
{
    if (!s) return;
    int join = 0;
    pthread_mutex_lock(&mu);
    for (tycho_watchdog_slot_t **p = &slots; *p; p = &(*p)->next)
        if (*p == s) {
            *p = s->next;
            break;
        }
    if (--nslots == 0 && running) {
        running = 0;
        join = 1;
        pthread_cond_signal(&cv);
    }
    pthread_mutex_unlock(&mu);
    if (join) pthread_join(thread, NULL);
    if (tls_slot == s) tls_slot = NULL;
    free(s);
}

uint64_t tycho_watchdog_enter(tycho_watchdog_slot_t *s, lua_State *co, uint64_t deadline_ns)
{
    uint64_t prev = __atomic_load_n(&s->deadline, __ATOMIC_RELAXED);
    s->co = co;
    __atomic_store_n(&s->deadline, deadline_ns, __ATOMIC_RELEASE);
    return prev;
}

uint64_t tycho_watchdog_enter_raising(tycho_watchdog_slot_t *s, lua_State *L, uint64_t deadline_ns,
                                      const char *msg, lua_State **prev_co)
{
    *prev_co = s->co;
    s->raise = msg; /* before co: the signal handler may run between the two */
    return tycho_watchdog_enter(s, L, deadline_ns);
}

int tycho_watchdog_leave(tycho_watchdog_slot_t *s, lua_State *prev_co, uint64_t prev_deadline)
{
    lua_State *co = s->co;
    s->co = prev_co; /* the signal handler now sees the outer run, or nothing */
    s->raise = NULL;
    __atomic_store_n(&s->deadline, prev_deadline, __ATOMIC_RELEASE);
    int fired = s->fired;
    s->fired = 0;
    if (s->hooked) {
        s->hooked = 0;
        if (co) lua_sethook(co, NULL, 0, 0);
    }
    return fired;
}
