/* serve — the main thread of `tycho serve`: config, sockets, workers, the
 * admin thread, signals, reloads and the graceful shutdown sequence. */
#include "core/serve.h"

#include "aws/host_label.h"
#include "aws/local_backend.h"
#include "aws/services.h"
#include "core/admin.h"
#include "core/app.h"
#include "core/config.h"
#include "core/lifecycle.h"
#include "core/telemetry_hub.h"
#include "core/log.h"
#include "core/precheck.h"
#include "core/stuck_runs.h"
#include "core/worker.h"
#include "http/listen_socket.h"
#include "lua/consumer.h"
#include "lua/gen.h"
#include "lua/watcher.h"
#include "net/http_client.h"

#include <malloc.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct serve {
    tycho_config_t cfg;
    const tycho_app_ops_t *ops;
    uv_loop_t *loop;
    tycho_worker_t *workers;
    int nworkers;
    tycho_admin_t *admin;
    tycho_hub_t *hub;
    tycho_local_backend_t *aws_local; /* TYCHO_AWS_BACKEND=local: the embedded backend */
    uv_signal_t sigterm, sigint, sighup;
    uv_timer_t drain_timer;
    uv_async_t events; /* workers and the admin thread post here */
    tycho_watcher_t *watcher;
    char lua_dir[4096]; /* resolved framework dir, watched */
    atomic_int reload_requested, workers_reloaded, workers_exited, admin_exited;
    atomic_int *worker_exited; /* [nworkers]: 1 once that worker's loop ended */
    tycho_precheck_t *precheck;
    /* a reload: the pre-check (its own thread), then every worker prepares,
     * then every worker commits (all prepared) or discards */
    enum { RELOAD_IDLE, RELOAD_CHECKING, RELOAD_PREPARING, RELOAD_SWITCHING } reload_phase;
    int reload_again, reload_pending, reload_ok;
    uint64_t reload_covers; /* POST /-/reload requests the running reload answers */
    char *reload_err;       /* why the workers discard (malloc'd) */
    int shutting_down, exited;
    int flushing; /* the workers ended, the admin thread flushes the telemetry */
    _Atomic uint64_t drain_started_ns; /* uv_hrtime() of the shutdown signal; 0 before */
    int stop_signal;                   /* the signal that started the shutdown */
    uint64_t stop_signal_seen_ns;      /* uv_hrtime() when on_signal last saw it */
    char public_addr[80], admin_addr[80];
} serve_t;

static void start_reload(serve_t *s);

static void post(serve_t *s, atomic_int *counter)
{
    atomic_fetch_add(counter, 1);
    uv_async_send(&s->events);
}

static void on_worker_reloaded(void *ud, tycho_worker_t *w)
{
    (void)w;
    serve_t *s = ud;
    post(s, &s->workers_reloaded);
}

static void on_worker_exit(void *ud, tycho_worker_t *w)
{
    serve_t *s = ud;
    atomic_store(&s->worker_exited[w->id], 1);
    post(s, &s->workers_exited);
}

static void admin_request_reload(void *ud)
{
    serve_t *s = ud;
    post(s, &s->reload_requested);
}

static int admin_metrics(void *ud, tycho_buf_t *out)
{
    serve_t *s = ud;
    return tycho_hub_render_metrics(s->hub, out);
}

static void admin_start(void *ud, uv_loop_t *loop)
{
    serve_t *s = ud;
    int rc = tycho_hub_start(s->hub, loop);
    if (rc != 0)
        tycho_log_error("telemetry thread failed to start", LF_STR("error", uv_strerror(rc)));
}

/* What is left of TYCHO_DRAIN_TIMEOUT since the shutdown signal (none when
 * the server stops without one: a failed start): the telemetry's final
 * flush gets it, or the hub's floor. */
static uint64_t drain_left_ms(const serve_t *s)
{
    uint64_t start = atomic_load(&s->drain_started_ns);
    if (!start) return 0;
    uint64_t limit = (uint64_t)(s->cfg.drain_timeout * 1000);
    uint64_t used = (uv_hrtime() - start) / 1000000;
    return used < limit ? limit - used : 0;
}

static void admin_stop(void *ud)
{
    serve_t *s = ud;
    tycho_hub_stop(s->hub, drain_left_ms(s));
}

/* The admin thread's loop ended: the telemetry is flushed. */
static void admin_exit(void *ud)
{
    serve_t *s = ud;
    post(s, &s->admin_exited);
}

static void admin_status(void *ud, tycho_buf_t *out)
{
    serve_t *s = ud;
    tycho_hub_status_json(s->hub, out);
    tycho_buf_puts(out, ",\"listen\":");
    tycho_buf_append_json_string(out, s->public_addr, strlen(s->public_addr));
    tycho_buf_puts(out, ",\"worker_generations\":[");
    for (int i = 0; i < s->nworkers; i++)
        tycho_buf_printf(out, "%s%llu", i ? "," : "",
                         (unsigned long long)atomic_load(&s->workers[i].generation));
    tycho_buf_puts(out, "]");
    tycho_stuck_runs_json(out);
}

static void finish_reload(serve_t *s, int ok, const char *err)
{
    s->reload_phase = RELOAD_IDLE;
    tycho_lifecycle_record_reload(ok, err);
    uint64_t gen = atomic_load(&s->workers[0].generation);
    tycho_hub_record_reload(s->hub, ok, gen);
    if (ok) {
        /* every worker serves the new load now: its metric definitions
         * take effect together, and a metric none of its route files
         * defines leaves /metrics and the remote write (whose next push
         * ends its series). Only here: the Lua states that close at
         * shutdown drop nothing, so the final push still has every metric. */
        if (tycho_metrics_commit_load(tycho_hub_registry(s->hub), atomic_load(&s->workers[0].load),
                                      NULL) != 0)
            tycho_log_error("out of memory: the reload's metric definitions are not on /metrics",
                            LF_INT("generation", gen));
        tycho_lifecycle_set_generation(gen);
        tycho_log_info("routes reloaded", LF_INT("generation", gen));
    } else {
        /* what the discarded load defined never shows: /metrics is as before */
        tycho_metrics_rollback_load(tycho_hub_registry(s->hub));
        tycho_log_error("reload failed; previous routes keep serving", LF_STR("error", err),
                        LF_INT("generation", gen));
    }
    if (s->admin) tycho_admin_reload_done(s->admin, s->reload_covers, ok, gen, err);
    if (s->reload_again) {
        s->reload_again = 0;
        start_reload(s); /* refused if the shutdown began: its POSTs are answered */
    }
}

/* No reload once the shutdown began: a worker that drained has ended its
 * loop and would never load (the reload, and the POSTs waiting for it, would
 * hang until the exit). One under way stops before its workers switch (what
 * a worker prepared is dropped when it ends). Not a failed reload: nothing
 * is recorded; every POST /-/reload waiting is answered 503. */
static void refuse_reload(serve_t *s)
{
    s->reload_phase = RELOAD_IDLE;
    s->reload_again = 0;
    tycho_metrics_rollback_load(tycho_hub_registry(s->hub)); /* (none under way: nothing) */
    tycho_log_warn("shutting down: the routes are not reloaded");
    if (s->admin)
        tycho_admin_reload_done(s->admin, tycho_admin_reload_requests(s->admin),
                                TYCHO_ADMIN_RELOAD_REFUSED, atomic_load(&s->workers[0].generation),
                                "shutting down: the routes are not reloaded");
}

static void start_phase(serve_t *s, int phase)
{
    s->reload_phase = phase;
    s->reload_pending = s->nworkers;
    /* the prepared load's metric definitions wait for every worker's switch */
    if (phase == RELOAD_PREPARING)
        tycho_metrics_begin_load(tycho_hub_registry(s->hub), atomic_load(&s->workers[0].load));
    for (int i = 0; i < s->nworkers; i++) {
        if (phase == RELOAD_PREPARING)
            tycho_worker_prepare(&s->workers[i]);
        else
            tycho_worker_end_reload(&s->workers[i], s->reload_ok);
    }
}

/* Every worker prepared: all switch, or, if one failed, none does. The
 * error is the first failed worker's (the others logged theirs). */
static void on_prepared(serve_t *s)
{
    s->reload_ok = 1;
    free(s->reload_err);
    s->reload_err = NULL;
    for (int i = 0; i < s->nworkers && s->reload_ok; i++) {
        tycho_worker_t *w = &s->workers[i];
        if (atomic_load(&w->reload_rc) == 0) continue;
        s->reload_ok = 0;
        s->reload_err = tycho_lua_strdupf("worker %d: %s", w->id,
                                          w->reload_err ? w->reload_err : "reload failed");
    }
    start_phase(s, RELOAD_SWITCHING);
}

static void on_workers_reloaded(serve_t *s, int n)
{
    if (s->reload_phase != RELOAD_PREPARING && s->reload_phase != RELOAD_SWITCHING) return;
    s->reload_pending -= n;
    if (s->reload_pending > 0) return;
    if (s->reload_phase == RELOAD_PREPARING && s->shutting_down)
        refuse_reload(s);
    else if (s->reload_phase == RELOAD_PREPARING)
        on_prepared(s);
    else
        finish_reload(s, s->reload_ok, s->reload_ok ? NULL : s->reload_err);
}

static void on_checked(void *ud, int rc, const char *err)
{
    serve_t *s = ud;
    if (rc != 0)
        finish_reload(s, 0, err ? err : "reload check failed");
    else if (s->shutting_down)
        refuse_reload(s);
    else
        start_phase(s, RELOAD_PREPARING);
}

/* All or nothing: the pre-check loads everything in a scratch state, off the
 * main loop (signals keep working while route files load); only when that
 * works does every worker load (prepare), and only when every one did do
 * they switch. */
static void start_reload(serve_t *s)
{
    if (s->reload_phase != RELOAD_IDLE) {
        s->reload_again = 1;
        return;
    }
    if (s->shutting_down) {
        refuse_reload(s);
        return;
    }
    s->reload_covers = s->admin ? tycho_admin_reload_requests(s->admin) : 0;
    if (!s->ops->check) {
        start_phase(s, RELOAD_PREPARING);
        return;
    }
    s->reload_phase = RELOAD_CHECKING;
    int rc = tycho_precheck_start(s->precheck, s->ops->check, &s->cfg);
    if (rc != 0) {
        char *err = tycho_lua_strdupf("cannot start the reload check: %s", uv_strerror(rc));
        finish_reload(s, 0, err ? err : "cannot start the reload check");
        free(err);
    }
}

static void on_files_changed(void *ud)
{
    serve_t *s = ud;
    tycho_log_info("route files changed: reloading");
    start_reload(s);
}

/* Watches the routes and the framework Lua dir (every subfolder). */
static void start_watcher(serve_t *s)
{
    if (!s->cfg.reload) return;
    tycho_lua_resolve_lua_dir(&s->cfg, s->lua_dir, sizeof s->lua_dir);
    const char *dirs[] = {s->cfg.routes_dir, s->lua_dir};
    s->watcher = tycho_watcher_start(s->loop, dirs, 2, 150, on_files_changed, s);
    if (!s->watcher)
        tycho_log_warn("cannot watch the route files; reload with SIGHUP or POST /-/reload");
}

static void stop_everything(serve_t *s)
{
    if (s->watcher) tycho_watcher_stop(s->watcher);
    s->watcher = NULL;
    tycho_precheck_close(s->precheck); /* a load still running is abandoned */
    s->precheck = NULL;
    uv_close((uv_handle_t *)&s->events, NULL);
    uv_close((uv_handle_t *)&s->drain_timer, NULL);
    uv_close((uv_handle_t *)&s->sigterm, NULL);
    uv_close((uv_handle_t *)&s->sigint, NULL);
    uv_close((uv_handle_t *)&s->sighup, NULL);
}

static void on_events(uv_async_t *a)
{
    serve_t *s = a->data;
    if (atomic_exchange(&s->reload_requested, 0)) start_reload(s);
    int reloaded = atomic_exchange(&s->workers_reloaded, 0);
    if (reloaded) on_workers_reloaded(s, reloaded);
    s->exited += atomic_exchange(&s->workers_exited, 0);
    if (!s->shutting_down || s->exited < s->nworkers) return;
    /* Every worker has ended: the telemetry's final flush runs on the admin
     * thread while this loop keeps handling signals (a second one cuts the
     * flush short, on_signal); the loop ends once that thread has. */
    if (!s->flushing) {
        s->flushing = 1;
        uv_timer_stop(&s->drain_timer);
        tycho_admin_stop_begin(s->admin);
    }
    if (atomic_exchange(&s->admin_exited, 0)) stop_everything(s);
}

/* Lines the shutdown could not write to stdout (nobody read it) are
 * counted on stderr, if that takes them. */
static void report_lost_lines(void)
{
    uint64_t lost = tycho_log_lines_lost();
    if (lost)
        tycho_log_write_stderr(TYCHO_LOG_WARN,
                               "log lines lost at shutdown: stdout did not take them",
                               &LF_INT("lines", lost), 1);
}

/* How long an aborted worker gets to end its loop before the process exits
 * without it. */
#define STUCK_GRACE_MS 1000

/* A worker that did not end its loop STUCK_GRACE_MS after it was aborted
 * never will (a loop the JIT compiled does not see the abort, nor the
 * watchdog's hook): it cannot be joined, so the process logs it, flushes the
 * log (the admin thread's sink) and exits without it. */
static void on_stuck_grace(uv_timer_t *t)
{
    serve_t *s = t->data;
    int stuck = 0;
    for (int i = 0; i < s->nworkers; i++) {
        if (atomic_load(&s->worker_exited[i])) continue;
        tycho_log_error("worker did not stop after the drain timeout; exiting without it",
                        LF_INT("worker", i), LF_DBL("drain_timeout_s", s->cfg.drain_timeout),
                        LF_DBL("grace_s", STUCK_GRACE_MS / 1000.0));
        stuck++;
    }
    if (!stuck) return; /* all ended: stop_everything runs */
    tycho_log_error("exiting with stuck workers", LF_INT("stuck_workers", stuck),
                    LF_INT("exit_code", TYCHO_EXIT_STUCK_WORKER));
    tycho_admin_stop(s->admin);
    report_lost_lines();
    _exit(TYCHO_EXIT_STUCK_WORKER);
}

/* Each worker still draining logs what it closes (worker.c). */
static void on_drain_timeout(uv_timer_t *t)
{
    serve_t *s = t->data;
    for (int i = 0; i < s->nworkers; i++)
        tycho_worker_abort(&s->workers[i]);
    uv_timer_start(t, on_stuck_grace, STUCK_GRACE_MS, 0);
}

/* How long the last words of a second signal may wait for stderr. */
#define LAST_WORDS_MS 100
/* How long a second signal waits for the telemetry thread to give up what
 * it holds and say so (tycho_hub_cut). */
#define CUT_WAIT_MS 500
/* The shutdown signal seen again within this is the same request to stop,
 * not an operator's second: timeout(1) (and kill 0) sends it to the process
 * and then to its process group, microseconds apart, and signals that came
 * while the routes loaded are seen back to back. Two Ctrl-C are further
 * apart than this. */
#define REPEAT_NS (100 * 1000000ull)

static void on_signal(uv_signal_t *h, int signum)
{
    serve_t *s = h->data;
    if (signum == SIGHUP) {
        if (!s->shutting_down) tycho_log_info("SIGHUP: reloading routes");
        start_reload(s);
        return;
    }
    if (s->shutting_down && signum == s->stop_signal &&
        uv_hrtime() - s->stop_signal_seen_ns < REPEAT_NS) {
        s->stop_signal_seen_ns = uv_hrtime();
        tycho_log_info("the same signal again at once: one request to stop, draining goes on",
                       LF_INT("signal", signum));
        return;
    }
    if (s->shutting_down) {
        /* written now, not queued in the log sink's ring that _exit drops */
        tycho_log_bound_writes(LAST_WORDS_MS);
        tycho_log_write_stderr(TYCHO_LOG_WARN, "second signal: exiting now",
                               &LF_INT("signal", signum), 1);
        /* what the exporters still hold is lost: counted and said, as at
         * the flush's deadline, before the exit */
        tycho_hub_cut(s->hub, CUT_WAIT_MS);
        _exit(1);
    }
    s->shutting_down = 1;
    s->stop_signal = signum;
    s->stop_signal_seen_ns = uv_hrtime();
    atomic_store(&s->drain_started_ns, s->stop_signal_seen_ns);
    tycho_lifecycle_set_draining();
    /* the lines written once the log sink is gone ("stopped") must not hold
     * the exit past the drain timeout when nobody reads stdout */
    tycho_log_bound_writes((unsigned)(s->cfg.drain_timeout * 1000));
    if (s->watcher) tycho_watcher_stop(s->watcher);
    s->watcher = NULL;
    tycho_log_info("shutting down: draining connections", LF_INT("signal", signum),
                   LF_DBL("drain_timeout_s", s->cfg.drain_timeout));
    for (int i = 0; i < s->nworkers; i++)
        tycho_worker_drain(&s->workers[i]);
    uv_timer_start(&s->drain_timer, on_drain_timeout, (uint64_t)(s->cfg.drain_timeout * 1000), 0);
}

/* Binds every socket before any thread starts, so a bad address fails fast. */
static int open_sockets(serve_t *s, int *fds, int *admin_fd)
{
    char err[256];
    int port = s->cfg.listen.port;
    tycho_addr_t addr = s->cfg.listen;
    for (int i = 0; i < s->nworkers; i++) {
        fds[i] = tycho_listen_socket(&addr, i ? TYCHO_LISTEN_JOIN : TYCHO_LISTEN_FIRST, &port, err,
                                     sizeof err);
        if (fds[i] < 0) {
            fprintf(stderr, "tycho: %s: %s\n", tycho_config_source(&s->cfg, &s->cfg.listen), err);
            return -1;
        }
        addr.port = port; /* an ephemeral port: every worker binds the one the first got */
    }
    tycho_config_format_addr(s->cfg.listen.host, port, s->public_addr, sizeof s->public_addr);
    tycho_hub_set_listen_port(s->hub, port);
    int aport;
    *admin_fd =
        tycho_listen_socket(&s->cfg.admin_listen, TYCHO_LISTEN_ALONE, &aport, err, sizeof err);
    if (*admin_fd < 0) {
        fprintf(stderr, "tycho: %s: %s\n", tycho_config_source(&s->cfg, &s->cfg.admin_listen), err);
        return -1;
    }
    if (aport == port && strcmp(s->cfg.admin_listen.host, s->cfg.listen.host) == 0) {
        fprintf(stderr, "tycho: %s: must not be the public listener\n",
                tycho_config_source(&s->cfg, &s->cfg.admin_listen));
        return -1;
    }
    tycho_config_format_addr(s->cfg.admin_listen.host, aport, s->admin_addr, sizeof s->admin_addr);
    return 0;
}

static int start_workers(serve_t *s, int *fds)
{
    for (int i = 0; i < s->nworkers; i++) {
        tycho_worker_t *w = &s->workers[i];
        w->id = i;
        w->cfg = &s->cfg;
        w->ops = s->ops;
        w->fd = fds[i];
        w->on_reloaded = on_worker_reloaded;
        w->on_exit = on_worker_exit;
        w->ud = s;
        w->hub = s->hub;
        w->aws_local = s->aws_local;
        char *err = NULL;
        if (tycho_worker_start(w, &err) != 0) {
            tycho_log_error("worker failed to start", LF_INT("worker", i),
                            LF_STR("error", err ? err : "?"));
            fprintf(stderr, "tycho: %s\n", err ? err : "worker failed to start");
            free(err);
            for (int j = 0; j < i; j++)
                tycho_worker_abort(&s->workers[j]);
            for (int j = 0; j < i; j++)
                tycho_worker_join(&s->workers[j]);
            return -1;
        }
    }
    return 0;
}

/* An explicitly configured routes dir must exist; the default ./routes may
 * be absent (then nothing but 404s is served, and the admin listener). */
static int check_routes_dir(tycho_config_t *cfg)
{
    struct stat st;
    if (stat(cfg->routes_dir, &st) == 0 && S_ISDIR(st.st_mode)) return 0;
    if (!cfg->routes_explicit) {
        tycho_log_warn("no routes directory: serving no routes", LF_STR("routes", cfg->routes_dir));
        cfg->routes_optional = 1;
        return 0;
    }
    fprintf(stderr, "tycho: %s: not a directory: %s\n", tycho_config_source(cfg, cfg->routes_dir),
            cfg->routes_dir);
    return -1;
}

/* Installed before anything slow (the workers load the routes): a signal
 * that comes during start-up waits in the loop, and once every worker
 * serves, the loop runs it: a SIGTERM then drains and exits as always. */
static void install_signals(serve_t *s)
{
    uv_signal_t *sigs[] = {&s->sigterm, &s->sigint, &s->sighup};
    int signums[] = {SIGTERM, SIGINT, SIGHUP};
    for (int i = 0; i < 3; i++) {
        uv_signal_init(s->loop, sigs[i]);
        sigs[i]->data = s;
        uv_signal_start(sigs[i], on_signal, signums[i]);
    }
}

static int has_flag(int argc, char **argv, const char *flag)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], flag) == 0) return 1;
    return 0;
}

int tycho_cmd_serve(int argc, char **argv)
{
    if (has_flag(argc, argv, "--help") || has_flag(argc, argv, "-h")) {
        tycho_config_print_help();
        return 0;
    }
    serve_t *s = calloc(1, sizeof *s);
    char err[1280]; /* a local backend message names the data dir, a table and its keys */
    if (!s) return 1;
    if (tycho_config_load(&s->cfg, argc, argv, err, sizeof err) != 0) {
        fprintf(stderr, "tycho: %s\n", err);
        free(s);
        return 2;
    }
    s->loop = uv_default_loop();
    install_signals(s);
    tycho_log_set_level((tycho_log_level_t)s->cfg.log_level);
    tycho_lifecycle_init();
    signal(SIGPIPE, SIG_IGN);
#ifdef M_MMAP_THRESHOLD
    /* glibc raises its mmap threshold (up to 32 MB) each time a large block
     * is freed, so later request bodies and read buffers are carved from the
     * heap and stay with the process, fragmented: +10-20 MB after a few
     * rounds of 1 MB bodies (tests/abuse/test_huge_requests.sh). Pinning the
     * default 128 KB keeps big buffers in mappings that free returns. */
    mallopt(M_MMAP_THRESHOLD, 128 * 1024);
#endif
    /* libcurl, and OpenSSL under it, set up here before any thread starts:
     * curl_global_init is not thread-safe, and left to the first request it
     * would run (2M+ instructions) on whichever worker or the telemetry
     * thread got there first. */
    if (tycho_http_global_init() != 0) {
        fprintf(stderr, "tycho: libcurl's global initialisation failed\n");
        free(s);
        return 1;
    }
    s->ops = &tycho_lua_app;
    if (check_routes_dir(&s->cfg) != 0) {
        free(s);
        return 2;
    }
    s->nworkers = s->cfg.workers;
    s->hub = tycho_hub_new(&s->cfg, s->nworkers, err, sizeof err);
    if (s->hub && tycho_stuck_runs_register(tycho_hub_registry(s->hub), err, sizeof err) != 0) {
        tycho_hub_free(s->hub);
        s->hub = NULL;
    }
    if (!s->hub) {
        fprintf(stderr, "tycho: %s\n", err);
        free(s);
        return 2;
    }
    s->workers = calloc((size_t)s->nworkers, sizeof *s->workers);
    s->worker_exited = calloc((size_t)s->nworkers, sizeof *s->worker_exited);
    int *fds = calloc((size_t)s->nworkers, sizeof *fds);
    int admin_fd = -1, rc = 1;
    if (!s->workers || !s->worker_exited || !fds || open_sockets(s, fds, &admin_fd) != 0) goto out;
    /* the local AWS backend's owner thread runs before any worker and stops
     * after the last one (and its services) has gone; with the aws backend,
     * its settings are checked here rather than at each worker's first call */
    size_t max_hosts;
    if (tycho_consumers_check_env(err, sizeof err) != 0 ||
        tycho_host_labels_max_from_env(&max_hosts, err, sizeof err) != 0 ||
        tycho_aws_check_settings(&s->cfg, err, sizeof err) != 0 ||
        tycho_aws_local_start(&s->cfg, &s->aws_local, err, sizeof err) != 0) {
        fprintf(stderr, "tycho: %s\n", err);
        rc = 2;
        goto out;
    }

    uv_async_init(s->loop, &s->events, on_events);
    s->events.data = s;
    uv_timer_init(s->loop, &s->drain_timer);
    s->drain_timer.data = s;
    s->precheck = tycho_precheck_new(s->loop, on_checked, s);
    if (!s->precheck) goto out;
    /* The admin (telemetry) thread first: it installs the log sink and the
     * span drain before any worker can log or finish a span. Its reload
     * requests reach the main loop, which runs only once workers are up. */
    char *aerr = NULL;
    s->admin =
        tycho_admin_start(&s->cfg, admin_fd,
                          (tycho_admin_hooks_t){admin_request_reload, admin_status, admin_metrics,
                                                admin_start, admin_stop, admin_exit, s},
                          &aerr);
    if (!s->admin) {
        fprintf(stderr, "tycho: admin listener: %s\n", aerr ? aerr : "failed");
        free(aerr);
        goto out;
    }
    /* Watching starts before the workers load the routes: an edit made while
     * they start (each reads the folder in turn) then reloads them all once
     * the loop runs, so no edit is missed and no two workers keep serving
     * different route sets. */
    start_watcher(s);
    if (start_workers(s, fds) != 0) {
        if (s->watcher) tycho_watcher_stop(s->watcher);
        tycho_admin_stop(s->admin);
        goto out;
    }
    tycho_lifecycle_set_serving();
    tycho_lifecycle_set_generation(atomic_load(&s->workers[0].generation));
    tycho_hub_routes_started(s->hub, atomic_load(&s->workers[0].generation));
    tycho_log_info("listening", LF_STR("public", s->public_addr), LF_STR("admin", s->admin_addr),
                   LF_INT("workers", s->nworkers), LF_STR("app", s->ops->name),
                   LF_STR("routes", s->cfg.routes_dir), LF_STR("aws_backend", s->cfg.aws_backend),
                   LF_STR("version", TYCHO_VERSION));

    uv_run(s->loop, UV_RUN_DEFAULT);

    for (int i = 0; i < s->nworkers; i++)
        tycho_worker_join(&s->workers[i]);
    tycho_admin_stop(s->admin);
    uv_loop_close(s->loop);
    tycho_log_info("stopped");
    report_lost_lines();
    rc = 0;
out:
    if (s->aws_local) tycho_local_backend_stop(s->aws_local);
    tycho_hub_free(s->hub);
    free(s->reload_err);
    free(fds);
    free(s->worker_exited);
    free(s->workers);
    free(s);
    return rc;
}
