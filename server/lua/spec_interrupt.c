#include "lua/spec_interrupt.h"

#include "lua/spec_block.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define MAX_SERVERS 64

static atomic_int taken;                /* the first signal, 0 before it */
static atomic_int nsignals;             /* how many came */
static atomic_int servers[MAX_SERVERS]; /* tracked pids, 0 = a free slot */
static uv_async_t wake;
static int started, announced;
static struct sigaction prev_int, prev_term;

static const char *signal_name(int sig)
{
    return sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : "a signal";
}

/* Async-signal-safe only: the first signal wakes the loop (on_wake does the
 * rest there); a second one cannot wait for the run, which may be the thing
 * stuck (a teardown that never ends, Lua code that never yields). */
static void on_signal(int sig)
{
    if (atomic_fetch_add(&nsignals, 1) == 0) {
        atomic_store(&taken, sig);
        uv_async_send(&wake);
        return;
    }
    static const char msg[] = "tycho spec: interrupted again: killing the servers "
                              "tycho.test.serve started, exiting now\n";
    ssize_t n = write(STDERR_FILENO, msg, sizeof msg - 1);
    (void)n;
    tycho_spec_interrupt_kill_servers();
    _exit(128 + sig);
}

void tycho_spec_interrupt_kill_servers(void)
{
    for (int i = 0; i < MAX_SERVERS; i++) {
        int pid = atomic_exchange(&servers[i], 0);
        if (pid > 0) kill(pid, SIGKILL);
    }
}

/* On the loop: the block being waited for fails as interrupted, which makes
 * the runner stop (lua/tycho/spec_runner.lua). With none waited for, the
 * runner sees tycho_spec_interrupt_signal at its next block. */
static void on_wake(uv_async_t *h)
{
    (void)h;
    int sig = atomic_load(&taken);
    if (!sig || announced) return;
    announced = 1;
    const char *name = signal_name(sig);
    double limit;
    char label[300], reason[64];
    snprintf(label, sizeof label, "%s", tycho_spec_block_running(&limit));
    snprintf(reason, sizeof reason, "interrupted by %s", name);
    int dropped = tycho_spec_block_interrupt(reason);
    fprintf(stderr,
            "tycho spec: %s%s%s: stopping the run (after_each, teardown and the stop of "
            "tycho.test.serve's servers run first; %s again stops at once)\n",
            name, dropped ? " during " : "", dropped ? label : "", name);
}

int tycho_spec_interrupt_start(uv_loop_t *loop)
{
    int rc = uv_async_init(loop, &wake, on_wake);
    if (rc != 0) return rc;
    uv_unref((uv_handle_t *)&wake); /* the run ends the loop, not this handle */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGINT, &sa, &prev_int) != 0 || sigaction(SIGTERM, &sa, &prev_term) != 0) {
        rc = uv_translate_sys_error(errno);
        sigaction(SIGINT, &prev_int, NULL);
        uv_close((uv_handle_t *)&wake, NULL);
        return rc;
    }
    started = 1;
    return 0;
}

void tycho_spec_interrupt_stop(void)
{
    if (!started) return;
    sigaction(SIGINT, &prev_int, NULL); /* first: no handler may wake a closing handle */
    sigaction(SIGTERM, &prev_term, NULL);
    uv_close((uv_handle_t *)&wake, NULL);
    started = 0;
}

int tycho_spec_interrupt_signal(void)
{
    return atomic_load(&taken);
}

const char *tycho_spec_interrupt_name(void)
{
    int sig = atomic_load(&taken);
    return sig ? signal_name(sig) : NULL;
}

int tycho_spec_interrupt_track(pid_t pid)
{
    for (int i = 0; i < MAX_SERVERS; i++) {
        int free_slot = 0;
        if (atomic_compare_exchange_strong(&servers[i], &free_slot, (int)pid)) return 0;
    }
    return -1;
}

void tycho_spec_interrupt_untrack(pid_t pid)
{
    for (int i = 0; i < MAX_SERVERS; i++) {
        int held = (int)pid;
        if (atomic_compare_exchange_strong(&servers[i], &held, 0)) return;
    }
}
