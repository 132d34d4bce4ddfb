#define _GNU_SOURCE
#include "lua/watcher.h"

#include "core/log.h"
#include "lua/route_set.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct watch {
    uv_fs_event_t h;
    char *path;
    struct tycho_watcher *w; /* NULL once stopped */
    int seen;                /* mark for the rescan */
    int dead;                /* the folder itself went away (IN_DELETE_SELF/IN_IGNORED) */
    int file;                /* a route file reached through a symbolic link */
    dev_t dev;               /* the folder watched: a folder deleted and created */
    ino_t ino;               /* again under the same name needs a new watch */
} watch_t;

struct tycho_watcher {
    uv_loop_t *loop;
    char **roots;
    size_t nroots;
    unsigned debounce_ms;
    void (*on_change)(void *ud);
    void *ud;
    uv_timer_t *timer;
    /* A root folder that does not exist has no watch, and its parent is not
     * watched: while one is missing, this looks for it every second. */
    uv_timer_t *poll;
    size_t roots_present; /* at the last rescan */
    watch_t **watches;
    size_t nwatches, cap;
};

static void on_event(uv_fs_event_t *h, const char *filename, int events, int status);

static void free_watch(uv_handle_t *h)
{
    watch_t *wt = h->data;
    free(wt->path);
    free(wt);
}

static void free_timer(uv_handle_t *h)
{
    free(h);
}

static watch_t *find(tycho_watcher_t *w, const char *path)
{
    for (size_t i = 0; i < w->nwatches; i++)
        if (strcmp(w->watches[i]->path, path) == 0) return w->watches[i];
    return NULL;
}

/* Drops the watch wt (a stale one: its folder was deleted or replaced). */
static void drop_watch(tycho_watcher_t *w, watch_t *wt)
{
    for (size_t i = 0; i < w->nwatches; i++)
        if (w->watches[i] == wt) w->watches[i] = w->watches[--w->nwatches];
    wt->w = NULL;
    uv_close((uv_handle_t *)&wt->h, free_watch);
}

/* Watches path (st: what it is now), renewing a watch of that name taken
 * for dead or left by another folder. The new watch starts before the old
 * one goes: when it cannot (the folder not readable: chmod 000, for any
 * user but root), a watch of the same folder is kept — it was taken for
 * dead on an event about the folder itself, which a chmod sends too (libuv
 * reports it as UV_RENAME, like a deletion), and may well be alive. Dropped,
 * the folder went unwatched for good: no edit reloaded, even once it was
 * readable again. Kept, still marked dead, it sees that chmod back and the
 * next rescan renews it. */
static void add_watch(tycho_watcher_t *w, const char *path, const struct stat *st)
{
    watch_t *old = find(w, path);
    int same = old && old->dev == st->st_dev && old->ino == st->st_ino;
    if (same && !old->dead) {
        old->seen = 1;
        return;
    }
    if (w->nwatches == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 16;
        watch_t **v = realloc(w->watches, cap * sizeof *v);
        if (!v) return;
        w->watches = v;
        w->cap = cap;
    }
    watch_t *wt = calloc(1, sizeof *wt);
    if (!wt || !(wt->path = strdup(path))) {
        free(wt);
        return;
    }
    uv_fs_event_init(w->loop, &wt->h);
    wt->h.data = wt;
    wt->w = w;
    wt->seen = 1;
    wt->file = !S_ISDIR(st->st_mode);
    wt->dev = st->st_dev;
    wt->ino = st->st_ino;
    int rc = uv_fs_event_start(&wt->h, on_event, path, 0);
    if (rc != 0) {
        tycho_log_warn("cannot watch folder for reload", LF_STR("path", path),
                       LF_STR("error", uv_strerror(rc)));
        uv_close((uv_handle_t *)&wt->h, free_watch);
        if (old && same)
            old->seen = 1; /* kept; renewed at a later rescan */
        else if (old)
            drop_watch(w, old);
        return;
    }
    if (old) drop_watch(w, old);
    w->watches[w->nwatches++] = wt;
}

/* Whether path is a symbolic link itself (not what it points at). */
static int is_link(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0 && S_ISLNK(st.st_mode);
}

/* Watches dir and every folder under it. A *.lua file that is a symbolic
 * link (to a shared file, a file of another checkout) is watched too: its
 * folder's watch sees the link change, never an edit of the file it points
 * at, while the loader reads that file. */
static void scan(tycho_watcher_t *w, const char *dir, const char *name, int depth)
{
    struct stat st;
    if (depth > 32 || stat(dir, &st) != 0) return;
    if (!S_ISDIR(st.st_mode)) {
        if (depth > 0 && S_ISREG(st.st_mode) &&
            tycho_route_set_kind(name, 0) != TYCHO_ROUTE_SET_NONE && is_link(dir))
            add_watch(w, dir, &st);
        return;
    }
    add_watch(w, dir, &st);
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (tycho_route_set_kind(e->d_name, 1) == TYCHO_ROUTE_SET_NONE) continue;
        char *p = NULL;
        if (asprintf(&p, "%s/%s", dir, e->d_name) < 0) continue;
        if (e->d_type == DT_DIR || e->d_type == DT_UNKNOWN || e->d_type == DT_LNK)
            scan(w, p, e->d_name, depth + 1);
        free(p);
    }
    closedir(d);
}

#define ROOT_POLL_MS 1000

static size_t roots_present(const tycho_watcher_t *w)
{
    size_t n = 0;
    struct stat st;
    for (size_t i = 0; i < w->nroots; i++)
        n += stat(w->roots[i], &st) == 0 && S_ISDIR(st.st_mode);
    return n;
}

static void on_quiet(uv_timer_t *t);

/* Whether a root's name now leads to another folder than the one watched:
 * a symbolic link on its path switched to another release (ln -sfn), whose
 * own folder sees nothing of it. */
static int root_switched(tycho_watcher_t *w)
{
    struct stat st;
    for (size_t i = 0; i < w->nroots; i++) {
        watch_t *wt = find(w, w->roots[i]);
        if (wt && stat(w->roots[i], &st) == 0 && S_ISDIR(st.st_mode) &&
            (wt->dev != st.st_dev || wt->ino != st.st_ino))
            return 1;
    }
    return 0;
}

/* A root folder appeared (created, moved back) or was switched: an edit
 * like any other. */
static void on_poll(uv_timer_t *t)
{
    tycho_watcher_t *w = t->data;
    if (roots_present(w) > w->roots_present || root_switched(w))
        uv_timer_start(w->timer, on_quiet, w->debounce_ms, 0);
}

/* Watches every folder that exists now, drops watches of vanished ones. */
static void rescan(tycho_watcher_t *w)
{
    for (size_t i = 0; i < w->nwatches; i++)
        w->watches[i]->seen = 0;
    for (size_t i = 0; i < w->nroots; i++)
        scan(w, w->roots[i], w->roots[i], 0);
    size_t k = 0;
    for (size_t i = 0; i < w->nwatches; i++) {
        watch_t *wt = w->watches[i];
        if (wt->seen) {
            w->watches[k++] = wt;
        } else {
            wt->w = NULL;
            uv_close((uv_handle_t *)&wt->h, free_watch);
        }
    }
    w->nwatches = k;
    w->roots_present = roots_present(w);
    if (w->nroots) uv_timer_start(w->poll, on_poll, ROOT_POLL_MS, ROOT_POLL_MS);
}

static void on_quiet(uv_timer_t *t)
{
    tycho_watcher_t *w = t->data;
    rescan(w);
    w->on_change(w->ud);
}

/* Whether an event on the entry `name` of the watched folder wt may change
 * the route set (route_set.h), judged by what the entry is: a folder, or a
 * *.lua file. An entry gone by now counts if it was a *.lua file or a folder
 * watched until now (deleted, or moved away). Any event on a linked route
 * file counts; its watch is renewed by the rescan, since the file may have
 * been replaced (an editor saving by rename) under a reused inode number.
 * libuv names events about the watched folder itself (deleted, its watch
 * gone) with the folder's own name; a child of that name is told apart by
 * existing. The folder may already be back (and even reuse the inode
 * number), so only this event says the watch is dead. */
static int counts(tycho_watcher_t *w, watch_t *wt, const char *name)
{
    if (wt->file) return wt->dead = 1;
    char *child = NULL;
    if (asprintf(&child, "%s/%s", wt->path, name) < 0) return 1;
    struct stat st;
    int exists = stat(child, &st) == 0;
    int is_dir = exists ? S_ISDIR(st.st_mode) : find(w, child) != NULL;
    free(child);
    const char *base = strrchr(wt->path, '/');
    if (!exists && strcmp(name, base ? base + 1 : wt->path) == 0) {
        wt->dead = 1;
        return 1;
    }
    return tycho_route_set_kind(name, is_dir) != TYCHO_ROUTE_SET_NONE;
}

static void on_event(uv_fs_event_t *h, const char *filename, int events, int status)
{
    (void)events;
    watch_t *wt = h->data;
    tycho_watcher_t *w = wt->w;
    if (!w || status != 0 || (filename && !counts(w, wt, filename))) return;
    uv_timer_start(w->timer, on_quiet, w->debounce_ms, 0);
}

tycho_watcher_t *tycho_watcher_start(uv_loop_t *loop, const char *const *dirs, size_t ndirs,
                                     unsigned debounce_ms, void (*on_change)(void *ud), void *ud)
{
    tycho_watcher_t *w = calloc(1, sizeof *w);
    if (!w) return NULL;
    w->loop = loop;
    w->debounce_ms = debounce_ms;
    w->on_change = on_change;
    w->ud = ud;
    w->roots = calloc(ndirs ? ndirs : 1, sizeof *w->roots);
    w->timer = malloc(sizeof *w->timer);
    w->poll = malloc(sizeof *w->poll);
    if (!w->roots || !w->timer || !w->poll) {
        free(w->roots);
        free(w->timer);
        free(w->poll);
        free(w);
        return NULL;
    }
    for (size_t i = 0; i < ndirs; i++)
        if (dirs[i] && dirs[i][0] && (w->roots[w->nroots] = strdup(dirs[i]))) w->nroots++;
    uv_timer_init(loop, w->timer);
    w->timer->data = w;
    uv_timer_init(loop, w->poll);
    w->poll->data = w;
    rescan(w);
    return w;
}

void tycho_watcher_stop(tycho_watcher_t *w)
{
    if (!w) return;
    for (size_t i = 0; i < w->nwatches; i++) {
        w->watches[i]->w = NULL;
        uv_close((uv_handle_t *)&w->watches[i]->h, free_watch);
    }
    uv_close((uv_handle_t *)w->timer, free_timer);
    uv_close((uv_handle_t *)w->poll, free_timer);
    for (size_t i = 0; i < w->nroots; i++)
        free(w->roots[i]);
    free(w->roots);
    free(w->watches);
    free(w);
}

size_t tycho_watcher_count(const tycho_watcher_t *w)
{
    return w->nwatches;
}
