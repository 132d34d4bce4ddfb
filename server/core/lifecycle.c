#include "core/lifecycle.h"

#include "core/log.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static atomic_int g_draining, g_serving;
static _Atomic uint64_t g_generation = 1;
static _Atomic uint64_t g_reload_ok, g_reload_failed;
static double g_start_time;
/* The last reload's time and error: written by main, read by the admin thread. */
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static char *g_last_error;
static int64_t g_last_reload_ns;

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void tycho_lifecycle_init(void)
{
    g_start_time = (double)now_ns() / 1e9;
}

double tycho_lifecycle_start_time(void)
{
    return g_start_time;
}

void tycho_lifecycle_set_serving(void)
{
    atomic_store(&g_serving, 1);
}

int tycho_lifecycle_serving(void)
{
    return atomic_load_explicit(&g_serving, memory_order_relaxed);
}

void tycho_lifecycle_set_draining(void)
{
    atomic_store(&g_draining, 1);
}

int tycho_lifecycle_draining(void)
{
    return atomic_load_explicit(&g_draining, memory_order_relaxed);
}

void tycho_lifecycle_set_generation(uint64_t generation)
{
    atomic_store(&g_generation, generation);
}

uint64_t tycho_lifecycle_generation(void)
{
    return atomic_load_explicit(&g_generation, memory_order_relaxed);
}

void tycho_lifecycle_record_reload(int ok, const char *err)
{
    atomic_fetch_add(ok ? &g_reload_ok : &g_reload_failed, 1);
    pthread_mutex_lock(&g_lock);
    free(g_last_error);
    g_last_error = (!ok && err) ? strdup(err) : NULL;
    g_last_reload_ns = now_ns();
    pthread_mutex_unlock(&g_lock);
}

void tycho_lifecycle_reload_counts(uint64_t *ok, uint64_t *failed)
{
    *ok = atomic_load(&g_reload_ok);
    *failed = atomic_load(&g_reload_failed);
}

void tycho_lifecycle_status_json(tycho_buf_t *out)
{
    tycho_buf_printf(
        out, "\"generation\":%llu,\"draining\":%s,\"reloads\":{\"success\":%llu,\"failure\":%llu}",
        (unsigned long long)tycho_lifecycle_generation(),
        tycho_lifecycle_draining() ? "true" : "false",
        (unsigned long long)atomic_load(&g_reload_ok),
        (unsigned long long)atomic_load(&g_reload_failed));
    pthread_mutex_lock(&g_lock);
    if (g_last_reload_ns) {
        char when[31];
        tycho_log_format_time(when, g_last_reload_ns);
        tycho_buf_printf(out, ",\"last_reload\":\"%s\"", when);
    } else {
        tycho_buf_puts(out, ",\"last_reload\":null");
    }
    tycho_buf_puts(out, ",\"last_error\":");
    if (g_last_error)
        tycho_buf_append_json_string(out, g_last_error, strlen(g_last_error));
    else
        tycho_buf_puts(out, "null");
    pthread_mutex_unlock(&g_lock);
}
