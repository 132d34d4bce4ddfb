/* local_sqs — the SQS half of the local executor (local_store.h): queues,
 * messages, visibility timeouts, receipt handles, delays, redrive to a
 * dead-letter queue, and the MD5 digests SQS returns (PROTOCOLS.md §7).
 * Called by local_store.c inside the request's transaction; same thread. */
#ifndef TYCHO_LOCAL_SQS_H
#define TYCHO_LOCAL_SQS_H

#include "aws/local_store.h"

#include <cJSON.h>

/* Executes AmazonSQS.<op> with the parsed request body; marked_nul: the
 * body had "\u0000" escapes, parsed as TYCHO_LOCAL_NUL_MARK. */
void tycho_local_sqs_exec(tycho_local_store_t *s, const char *op, cJSON *req, int marked_nul,
                          int64_t now_ms, tycho_local_result_t *res);
/* Creates or updates the queues of a TYCHO_LOCAL_QUEUES spec (LOCAL.md); s
 * NULL only checks the spec. 0, or -1 with err naming the queue, the key as
 * written and what it takes ("queue q: visibility=99999: out of range
 * (0-43200 seconds)"). */
int tycho_local_sqs_configure(tycho_local_store_t *s, const char *spec, int64_t now_ms, char *err,
                              size_t errlen);
/* MD5OfMessageAttributes of a MessageAttributes map (PROTOCOLS.md §7 "MD5
 * checks"): 0 and 32 hex digits + NUL in out, or -1 for a malformed map. */
int tycho_local_sqs_md5_attributes(const cJSON *attrs, char out[33]);
void tycho_local_sqs_md5_hex(const void *p, size_t n, char out[33]);

#endif
