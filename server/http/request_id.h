/* request_id — the id every request carries: an incoming X-Request-Id when it
 * is acceptable (1..128 printable ASCII characters, no spaces, no '"' or
 * '\\': so an id is JSON string text as it is), else a new 32-hex-digit id
 * from core/prng (per thread, seeded by the kernel CSPRNG). */
#ifndef TYCHO_HTTP_REQUEST_ID_H
#define TYCHO_HTTP_REQUEST_ID_H

#include "http/exchange.h"

#define TYCHO_REQUEST_ID_MAX 128

/* 1 if v is acceptable as a request id. */
int tycho_request_id_valid(const tycho_slice_t *v);
/* Writes the id for this request into out (NUL-terminated). */
void tycho_request_id_assign(const tycho_request_t *req, char out[TYCHO_REQUEST_ID_MAX + 1]);

#endif
