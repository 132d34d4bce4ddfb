/* watcher — watches directory trees (the routes dir and the lua dir, every
 * subfolder included) and calls on_change once a burst of edits has been
 * quiet for debounce_ms. libuv's fs watcher is not recursive on Linux: one
 * inotify watch per folder, and the tree is rescanned after each burst so
 * folders created later are watched too. Only events on entries of the
 * route set count (route_set.h: *.lua files and folders, whatever their
 * name, not hidden ones nor editor temporaries), judged by what the entry is.
 * A route file that is a symbolic link has a watch of its own on the file it
 * points at. Each root is looked at every second: its appearance (it was
 * missing: not created yet, deleted or moved away) counts as an edit, and so
 * does its name leading to another folder (a symbolic link switched).
 * Runs on the loop's thread (the main thread in tycho serve). */
#ifndef TYCHO_LUA_WATCHER_H
#define TYCHO_LUA_WATCHER_H

#include <stddef.h>
#include <uv.h>

typedef struct tycho_watcher tycho_watcher_t;

/* Starts watching; dirs that do not exist are watched once they appear. NULL
 * on out of memory. */
tycho_watcher_t *tycho_watcher_start(uv_loop_t *loop, const char *const *dirs, size_t ndirs,
                                     unsigned debounce_ms, void (*on_change)(void *ud), void *ud);
/* Stops and frees (its handles finish closing on the next loop iteration). */
void tycho_watcher_stop(tycho_watcher_t *w);
/* Number of folders (and linked route files) currently watched (tests). */
size_t tycho_watcher_count(const tycho_watcher_t *w);

#endif
