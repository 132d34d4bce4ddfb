#include "http/query_redact.h"

#include "core/percent.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Signed URLs' credentials, and the OAuth 2.0 bearer token a client may
 * send as a query parameter (RFC 6750, section 2.3). */
static const char *const secret_names[] = {
    "AWSAccessKeyId",       "Signature",       "sig",
    "X-Goog-Signature",     "X-Amz-Signature", "X-Amz-Credential",
    "X-Amz-Security-Token", "access_token"};

#define REDACTED "REDACTED"

/* Whether the parameter p[0..n) ("name=value" or "name") names a secret
 * and has a value to hide. The name is compared decoded, as req.query reads
 * it (escapes, '+' a space): "Signatur%65" is the application's Signature. */
static int is_secret(const char *p, size_t n)
{
    const char *eq = memchr(p, '=', n);
    if (!eq) return 0;
    size_t klen = (size_t)(eq - p);
    /* an escape is 3 bytes for 1: a name longer than 3 times the longest
     * secret name cannot decode to one */
    char name[3 * sizeof "X-Amz-Security-Token"];
    if (klen > sizeof name) return 0;
    size_t dlen = (size_t)tycho_percent_decode(p, klen, name, TYCHO_PCT_PLUS_SPACE);
    for (size_t i = 0; i < sizeof secret_names / sizeof *secret_names; i++)
        if (strlen(secret_names[i]) == dlen && strncasecmp(name, secret_names[i], dlen) == 0)
            return 1;
    return 0;
}

/* Calls fn for each '&'-separated parameter of q; stops when fn returns
 * non-zero and returns that. */
static int each_param(const char *q, size_t n, int (*fn)(const char *p, size_t len, void *ud),
                      void *ud)
{
    const char *end = q + n;
    for (const char *p = q; p <= end;) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        size_t len = (size_t)((amp ? amp : end) - p);
        int rc = fn(p, len, ud);
        if (rc || !amp) return rc;
        p = amp + 1;
    }
    return 0;
}

static int found_secret(const char *p, size_t len, void *ud)
{
    (void)ud;
    return is_secret(p, len);
}

int tycho_query_needs_redaction(const char *q, size_t n)
{
    return n > 0 && each_param(q, n, found_secret, NULL);
}

struct out {
    char *buf;
    size_t len;
    int started; /* a parameter was written: the next one gets its '&' */
};

static int copy_param(const char *p, size_t len, void *ud)
{
    struct out *o = ud;
    if (o->started) o->buf[o->len++] = '&';
    o->started = 1;
    if (is_secret(p, len)) {
        size_t klen = (size_t)((const char *)memchr(p, '=', len) - p) + 1;
        memcpy(o->buf + o->len, p, klen);
        memcpy(o->buf + o->len + klen, REDACTED, sizeof REDACTED - 1);
        o->len += klen + sizeof REDACTED - 1;
    } else {
        memcpy(o->buf + o->len, p, len);
        o->len += len;
    }
    return 0;
}

char *tycho_query_redact(const char *q, size_t n, size_t *outlen)
{
    /* each parameter grows by at most "REDACTED" (its value may be empty) */
    size_t params = 1;
    for (size_t i = 0; i < n; i++)
        params += q[i] == '&';
    struct out o = {malloc(n + params * (sizeof REDACTED - 1) + 1), 0, 0};
    if (!o.buf) return NULL;
    each_param(q, n, copy_param, &o);
    o.buf[o.len] = '\0';
    *outlen = o.len;
    return o.buf;
}
