/* consumer — SQS consumers declared by route files (docs/routes.md,
 * "Consumers"):
 *
 *   return {
 *     { "GET", "/x", handler },
 *     consumers = {
 *       { queue = "tycho-messages",        -- a queue URL or name
 *         handler = function (msg) ... end, -- error or `return false`: retry later
 *         batch = 10, concurrency = 4, visibility = 30, wait = 20,
 *         timeout = 30, retry_delay = 5 },
 *     },
 *   }
 *
 * Each worker long-polls each declared queue with its share of
 * `concurrency` (the total per process, split across workers; a worker whose
 * share is 0 does not poll that queue). Every message runs the handler in
 * its own coroutine (a scheduler task) with the producer's trace continued
 * from AWSTraceHeader (a CONSUMER span, parented on and linked to the
 * producer's span). Success deletes the message (batched
 * DeleteMessageBatch); an error leaves it for SQS to deliver again (after
 * `retry_delay` if set, else after the visibility timeout), so after
 * maxReceiveCount failures SQS's redrive moves it to the DLQ. While a handler
 * runs, the message's visibility is extended every visibility/2 seconds.
 * A reload rebinds the queues to the new generation's handlers (messages
 * already running finish on the old ones); a queue no longer declared stops
 * polling. Drain (SIGTERM): polling stops, in-flight messages finish and
 * their deletes are sent, then the done callback runs. Worker 0 polls each
 * queue's depth (and its DLQ's) every TYCHO_SQS_DEPTH_INTERVAL seconds.
 *
 * Metrics: tycho_sqs_consumer_received_total{queue},
 * tycho_sqs_consumer_processed_total{queue}, tycho_sqs_consumer_failed_total{queue},
 * tycho_sqs_consumer_handler_duration_seconds{queue}, tycho_sqs_queue_depth{queue}.
 * Worker thread only. */
#ifndef TYCHO_LUA_CONSUMER_H
#define TYCHO_LUA_CONSUMER_H

#include "core/config.h"
#include "lua/gen.h"
#include "lua/scheduler.h"

#include <lua.h>
#include <uv.h>

typedef struct tycho_consumers tycho_consumers_t;

/* Checks the consumers' settings (TYCHO_SQS_DEPTH_INTERVAL: seconds > 0).
 * 0, or -1 with one line naming the variable in err. Main thread, at start. */
int tycho_consumers_check_env(char *err, size_t errlen);

/* Loader: the `consumers` value of a route file is at idx of g->L; checks it
 * and records each consumer in the generation's registry. 0, or -1 with
 * *err ("routes/jobs.lua:12: consumers[1]: queue is required": the line of
 * the entry's handler when it is a function of that file, else none). */
int tycho_lua_consumers_read(tycho_lua_gen_t *g, const char *file, int idx, char **err);
/* Calls fn for each consumer g declares (queue, "file:line"), in no set
 * order. The strings live while g does. */
void tycho_lua_consumers_each(tycho_lua_gen_t *g,
                              void (*fn)(void *ud, const char *queue, const char *where), void *ud);
/* Number of consumers the generation declares. */
int tycho_lua_consumers_count(tycho_lua_gen_t *g);

/* A worker's consumers, on the runtime's loop and scheduler; they call AWS
 * through the thread's services (aws/services.h). NULL when there are no
 * services on this thread. current_gen returns the generation new messages
 * run on. */
tycho_consumers_t *tycho_consumers_new(uv_loop_t *loop, tycho_lua_sched_t *sched,
                                       const tycho_config_t *cfg, int worker_id,
                                       tycho_lua_gen_t *(*current_gen)(void *ud), void *ud);
/* (Re)binds to g's declarations: starts, updates or stops pollers. */
void tycho_consumers_bind(tycho_consumers_t *c, tycho_lua_gen_t *g);
/* Stops polling; done(ud) runs (later, on the loop) once in-flight messages
 * finished and their deletes were sent. */
void tycho_consumers_drain(tycho_consumers_t *c, void (*done)(void *ud), void *ud);
/* Cancels everything (running handlers included: their messages come back
 * after the visibility timeout) and frees; handles close on the loop. */
void tycho_consumers_free(tycho_consumers_t *c);

typedef struct tycho_consumers_stats {
    int queues, polling, inflight;
    unsigned long long received, processed, failed, deleted;
    unsigned long long not_deleted; /* handled, deletes given up: they come back */
} tycho_consumers_stats_t;
void tycho_consumers_stats(const tycho_consumers_t *c, tycho_consumers_stats_t *out);

#endif
