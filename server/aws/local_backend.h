/* local_backend — the owner of the embedded local AWS backend: one thread
 * with its own uv loop and the only SQLite connection (local_store.h).
 * Workers talk to it through clients: a request is posted to the owner
 * thread, executed there, and its completion comes back through a uv_async
 * on the worker's own loop. SQLite work never runs on a worker loop.
 *
 * Long polls: an empty ReceiveMessage with WaitTimeSeconds waits on the
 * owner thread (a timer per waiter) without blocking other requests, and is
 * woken at once when a SendMessage, a ChangeMessageVisibility to 0, a redrive
 * or a visibility expiry makes a message available in its queue — whichever
 * worker caused it, and whenever the message was delayed or hidden.
 *
 * Threading: tycho_local_backend_start/stop on one thread (main); a client is
 * created, used and closed on the thread that runs its loop. Callbacks always
 * run later on that loop, never inside the call that started them. */
#ifndef TYCHO_LOCAL_BACKEND_H
#define TYCHO_LOCAL_BACKEND_H

#include "aws/local_store.h"

#include <stddef.h>
#include <uv.h>

typedef struct tycho_local_backend tycho_local_backend_t;
typedef struct tycho_local_client tycho_local_client_t;
typedef struct tycho_local_call tycho_local_call_t;

/* A finished request: the HTTP status and JSON body the real service would
 * have sent (body valid only during the callback). After the backend was
 * stopped, calls complete with 503 and a ServiceUnavailable body. */
typedef void (*tycho_local_cb)(int status, const char *body, size_t len, void *ud);

/* Locks dir (flock on <dir>/local-aws.lock, held until stop: one tycho a
 * data directory), opens <dir>/local-aws.sqlite3 on a new owner thread and
 * applies cfg. 0, or -1 with a one-line message in err (nothing left
 * running): "in use by another tycho (pid N)" when another process holds dir. */
int tycho_local_backend_start(const char *dir, const tycho_local_config_t *cfg,
                              tycho_local_backend_t **out, char *err, size_t errlen);
/* Stops accepting work, executes the requests already posted, ends waiting
 * long polls early with an empty answer (without receiving for them again,
 * even when a message became available: nothing is hidden for a caller
 * that is going away), closes SQLite and joins the thread. Clients stay valid until closed (new
 * calls then fail with 503); the backend's memory goes with the last client. Drops b. */
void tycho_local_backend_stop(tycho_local_backend_t *b);

/* A client for the thread that runs loop (it owns a uv_async there, so the
 * loop stays alive until the client is closed). NULL on ENOMEM. */
tycho_local_client_t *tycho_local_client_new(tycho_local_backend_t *b, uv_loop_t *loop);
/* Posts a request (target and body are copied). cb runs later on the
 * client's loop exactly once, unless the call is cancelled first. Returns a
 * handle valid until cb runs or cancel is called; NULL on ENOMEM or after
 * tycho_local_client_close (then cb never runs). */
tycho_local_call_t *tycho_local_client_call(tycho_local_client_t *c, const char *target,
                                            const char *body, size_t len, tycho_local_cb cb,
                                            void *ud);
/* The caller went away: cb will not run and the handle must not be used
 * again. A request already executed keeps its effect (as with a dropped
 * HTTP connection); a waiting long poll ends without receiving. */
void tycho_local_call_cancel(tycho_local_call_t *call);
/* Cancels the client's pending calls and closes its uv_async once the owner
 * thread has handed them all back; on_closed (may be NULL) then runs on the
 * loop. The client must not be used after this call. */
void tycho_local_client_close(tycho_local_client_t *c, void (*on_closed)(void *ud), void *ud);

#endif
