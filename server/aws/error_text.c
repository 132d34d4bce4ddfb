/* Redaction of what AWS echoes back in error messages. The keys are those of
 * SigV4 (the canonical header x-amz-security-token, the Authorization
 * header's Credential= and Signature=, the presigned query's
 * X-Amz-Security-Token=, X-Amz-Credential=, X-Amz-Signature=). */
#include "aws/error_text.h"

#include <cJSON.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "aws/client.h"

static const char *const secret_keys[] = {"x-amz-security-token", "signature", "credential"};

/* Characters a redacted value is made of: base64 (session tokens), hex
 * (signatures), the credential scope's '/', and URL escapes. A quote, a
 * backslash (a JSON escape), a space, ',' or '&' ends it. */
static int value_char(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           strchr("+/=%_.~-", c) != NULL;
}

/* The length of the secret key at in[i] with its separator, 0 when none
 * starts there. */
static size_t secret_key_at(const char *in, size_t n, size_t i)
{
    for (size_t k = 0; k < sizeof secret_keys / sizeof secret_keys[0]; k++) {
        size_t kl = strlen(secret_keys[k]);
        if (n - i <= kl || strncasecmp(in + i, secret_keys[k], kl) != 0) continue;
        size_t j = i + kl;
        if (in[j] != ':' && in[j] != '=') continue;
        return kl + 1;
    }
    return 0;
}

typedef struct out {
    char *p;
    size_t len, cap; /* cap excludes the NUL */
} out_t;

static void put(out_t *o, const char *s, size_t n)
{
    size_t room = o->cap - o->len;
    if (n > room) n = room;
    memcpy(o->p + o->len, s, n);
    o->len += n;
}

size_t tycho_aws_scrub(const char *in, size_t n, char *out, size_t outlen)
{
    if (!outlen) return 0;
    out_t o = {out, 0, outlen - 1};
    size_t i = 0;
    while (i < n && o.len < o.cap) {
        unsigned char c = (unsigned char)in[i];
        size_t kl = secret_key_at(in, n, i);
        if (kl) {
            put(&o, in + i, kl);
            i += kl;
            /* blanks after the separator, as in an echoed header; a tab
             * shown as a space, as every other control character is */
            while (i < n && (in[i] == ' ' || in[i] == '\t')) {
                put(&o, " ", 1);
                i++;
            }
            size_t v = i;
            while (i < n && value_char((unsigned char)in[i]) && !secret_key_at(in, n, i))
                i++;
            if (i > v) put(&o, "***", 3);
        } else if (c < 0x20 || c == 0x7f) {
            while (i < n && ((unsigned char)in[i] < 0x20 || in[i] == 0x7f))
                i++;
            put(&o, " ", 1);
        } else {
            put(&o, in + i, 1);
            i++;
        }
    }
    while (o.len && out[o.len - 1] == ' ') /* a trailing newline */
        o.len--;
    out[o.len] = '\0';
    return o.len;
}

/* what a non-JSON error answer shows of itself */
#define NON_JSON_TEXT 160

static const char *json_string(const cJSON *j, const char *key)
{
    return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, key));
}

void tycho_aws_error_parse(const char *body, size_t len, const char *type_header, long status,
                           char *code, size_t codelen, char *msg, size_t msglen)
{
    cJSON *j = body && len ? cJSON_ParseWithLength(body, len) : NULL;
    const char *type = json_string(j, "__type");
    if (!type) type = type_header;
    if (!type) type = json_string(j, "code");
    /* the type is the peer's text as much as the message: one line,
     * redacted (a "\n" in __type was passed on as sent) */
    char raw[256];
    tycho_aws_error_code(type, raw, sizeof raw);
    tycho_aws_scrub(raw, strlen(raw), code, codelen);
    if (!code[0] && codelen)
        snprintf(code, codelen, "%s", status >= 500 ? "ServiceError" : "ClientError");
    const char *m = json_string(j, "message");
    if (!m) m = json_string(j, "Message");
    char text[1024];
    if (m) {
        tycho_aws_scrub(m, strlen(m), text, sizeof text);
    } else if (!j && len) {
        /* not JSON: a proxy's, load balancer's or VPC endpoint's own answer
         * ("upstream connect error...", an HTML page); its start says more
         * than nothing would */
        size_t k = tycho_aws_scrub(body, len, text, NON_JSON_TEXT + 1);
        if (k == NON_JSON_TEXT) memcpy(text + k, "...", 4);
    } else {
        snprintf(text, sizeof text, "no message");
    }
    snprintf(msg, msglen, "%s: %s (HTTP %ld)", code, text, status);
    cJSON_Delete(j);
}
