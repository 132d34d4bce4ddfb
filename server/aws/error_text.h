/* error_text — the text of an AWS error as tycho passes it on (to Lua, to a
 * log line, to a span): one line, with the secrets AWS echoes back redacted.
 * An InvalidSignatureException quotes the canonical request it expected,
 * X-Amz-Security-Token included; other errors may quote the Authorization
 * header (Credential=..., Signature=...) or a presigned query. Every message
 * built from an AWS (or credential endpoint) response body goes through
 * tycho_aws_scrub. Pure functions: any thread. */
#ifndef TYCHO_AWS_ERROR_TEXT_H
#define TYCHO_AWS_ERROR_TEXT_H

#include <stddef.h>

/* Copies in[0..n) to out (NUL-terminated, cut to outlen - 1 bytes) with the
 * value after every x-amz-security-token, signature and credential key
 * (followed by ':' or '=' and maybe blanks, any case) replaced by "***", and every run of
 * control characters (newlines...) as one space, trailing spaces dropped.
 * The cut comes after the redaction, so no part of a secret survives it.
 * Returns the length written. */
size_t tycho_aws_scrub(const char *in, size_t n, char *out, size_t outlen);

/* The code and message of an AWS JSON error answer (status not 2xx). code:
 * body's __type, else type_header (x-amzn-ErrorType, may be NULL), else the
 * body's "code", as tycho_aws_error_code cuts it, then scrubbed as the
 * message is (one line, secrets redacted); "ServiceError" (5xx) or
 * "ClientError" when none. msg: "<code>: <message, scrubbed> (HTTP <status>)"
 * from the body's "message" or "Message"; a body that is not JSON (a proxy's
 * answer) gives its first 160 bytes, scrubbed, and "..." when they are full. */
void tycho_aws_error_parse(const char *body, size_t len, const char *type_header, long status,
                           char *code, size_t codelen, char *msg, size_t msglen);

#endif
