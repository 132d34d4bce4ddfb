/* query_redact — a request's query string as telemetry may record it: the
 * value of each parameter that carries a credential in a signed URL
 * (AWSAccessKeyId, Signature, sig, X-Goog-Signature, X-Amz-Signature,
 * X-Amz-Credential, X-Amz-Security-Token), and the OAuth 2.0 bearer token
 * of RFC 6750's access_token parameter (names in any case, compared
 * percent-decoded as req.query reads them) becomes "REDACTED", as the
 * OpenTelemetry HTTP conventions ask of url.query. Pure functions; any
 * thread. */
#ifndef TYCHO_HTTP_QUERY_REDACT_H
#define TYCHO_HTTP_QUERY_REDACT_H

#include <stddef.h>

/* Whether q[0..n) has a parameter whose value must be redacted. */
int tycho_query_needs_redaction(const char *q, size_t n);
/* q with those values replaced: malloc'd and NUL-terminated, its length in
 * *outlen; NULL when out of memory. */
char *tycho_query_redact(const char *q, size_t n, size_t *outlen);

#endif
