/* export_sender — delivers one batch at a time to one target: POST with the
 * fixed headers of its protocol, SigV4 when the target is signed (fresh
 * credentials and date on every attempt), and retries per the protocol's
 * rules (export_retry.h): Retry-After honoured (clamped), otherwise capped
 * exponential backoff with jitter, at most max_retries retries and never
 * past the batch's give-up time or the shutdown deadline. Success is the
 * status (any 2xx); of a response body only the start is read. It keeps the
 * target's health for the status page and logs state changes, not every
 * failure. Threading: the telemetry loop's thread only. */
#ifndef TYCHO_EXPORTERS_EXPORT_SENDER_H
#define TYCHO_EXPORTERS_EXPORT_SENDER_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "aws/credentials.h"
#include "core/buf.h"
#include "exporters/export_config.h"
#include "exporters/export_retry.h"
#include "net/http_client.h"

typedef struct tycho_export_sender tycho_export_sender_t;

typedef enum {
    TYCHO_EXPORT_SENT,     /* 2xx */
    TYCHO_EXPORT_REJECTED, /* a status the protocol says never to retry */
    TYCHO_EXPORT_FAILED,   /* transient errors past the retry bound or the give-up time */
    TYCHO_EXPORT_ABORTED,  /* tycho_export_sender_abort (shutdown) */
} tycho_export_outcome_t;

typedef struct tycho_export_result {
    tycho_export_outcome_t outcome;
    int64_t rejected;  /* OTLP partial success: items the receiver refused (SENT only) */
    unsigned attempts; /* requests made for this batch */
} tycho_export_result_t;

typedef void (*tycho_export_done_fn)(tycho_export_sender_t *s, const tycho_export_result_t *r,
                                     void *ud);

typedef struct tycho_export_sender_opts {
    const char *name; /* "traces", "metrics", "logs": log lines and status */
    tycho_export_proto_t proto;
    const tycho_export_target_t *target; /* borrowed; outlives the sender */
    const tycho_export_retry_t *retry;   /* borrowed */
    const char *content_type;
    const char *content_encoding; /* NULL = none */
    uv_loop_t *loop;
    tycho_http_client_t *http;
    tycho_aws_creds_provider_t *creds; /* required when target->sigv4_service[0] */
    tycho_export_done_fn done;
    void *ud;
} tycho_export_sender_opts_t;

/* NULL on ENOMEM. */
tycho_export_sender_t *tycho_export_sender_new(const tycho_export_sender_opts_t *o);

/* Largest buffer whose memory the exporters keep for reuse from one batch
 * to the next (request bodies, encoding scratch). */
#define TYCHO_EXPORT_BUF_KEEP (4u << 20)
/* Empties b for the next batch, or frees it when it grew past
 * TYCHO_EXPORT_BUF_KEEP. */
void tycho_export_buf_recycle(tycho_buf_t *b);

/* Starts delivering body. Its memory is taken, and body gets the memory of
 * the previous batch back, emptied, to encode the next one into (nothing
 * when there was none or it was over TYCHO_EXPORT_BUF_KEEP): no allocation
 * per batch in the steady state. give_up_at:
 * uv_now() time after which no further attempt starts, 0 = only the retry
 * count bounds it. 0, or -EBUSY while a batch is in flight. done runs later,
 * exactly once per batch, on the loop. */
int tycho_export_sender_send(tycho_export_sender_t *s, tycho_buf_t *body, uint64_t give_up_at);
int tycho_export_sender_busy(const tycho_export_sender_t *s);

/* Shutdown: no attempt starts after deadline (uv_now() time) and requests
 * are cut short at it. A batch waiting out a retry delay is tried again at
 * once (from the loop), and its further retries back off afresh from
 * TYCHO_EXPORT_BACKOFF_MIN while the deadline allows. */
void tycho_export_sender_set_deadline(tycho_export_sender_t *s, uint64_t deadline);
/* Abandons the batch in flight (request cancelled, retry timer stopped):
 * done runs before this returns, with ABORTED. No-op when idle. */
void tycho_export_sender_abort(tycho_export_sender_t *s);

/* Appends the target's health as JSON members (no braces): "requests",
 * "retries", "last_success", "last_error", "last_error_time". */
void tycho_export_sender_status_json(const tycho_export_sender_t *s, tycho_buf_t *out);

/* Aborts and closes the timer; closed(ud) runs once it has closed (on the
 * loop). The status stays readable until tycho_export_sender_free. */
void tycho_export_sender_close(tycho_export_sender_t *s, void (*closed)(void *ud), void *ud);
/* After closed() ran (or if the loop never ran the sender). */
void tycho_export_sender_free(tycho_export_sender_t *s);

#endif
