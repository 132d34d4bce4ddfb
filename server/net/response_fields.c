#include "net/response_fields.h"

#include "http/field.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void tycho_response_fields_init(tycho_response_fields_t *f)
{
    memset(f, 0, sizeof *f);
    f->status_next = 1;
}

void tycho_response_fields_free(tycho_response_fields_t *f)
{
    tycho_buf_free(&f->store);
    f->n = 0;
}

static int is_space(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}

/* An obs-fold line (RFC 9112 5.2: it starts with a space or a tab) continues
 * the value before it: appended to it after one space (none after an empty
 * value: a value has no whitespace at its ends). 0, or -ENOMEM. */
static int fold_into_last(tycho_response_fields_t *f, const char *v, const char *end)
{
    while (v < end && is_space(*v))
        v++;
    if (!f->n || v == end) return 0;
    int empty = f->store.data[f->store.len - 2] == '\0'; /* the name's NUL just before */
    f->store.len--;                                      /* the last value's NUL */
    if ((!empty && tycho_buf_append(&f->store, " ", 1)) ||
        tycho_buf_append(&f->store, v, (size_t)(end - v)) || tycho_buf_append(&f->store, "", 1))
        return -ENOMEM;
    return 0;
}

/* The value of a Content-Length field: 1*DIGIT, or a list of one number
 * repeated ("2, 2", which RFC 9110 8.6 lets a recipient take as 2). 0, -1
 * when it is not a number ("1e3", "-1", "": curl would read the digits
 * before the junk and cut the body there) or -2 for a list of numbers that
 * differ ("2, 3"). */
static int parse_length(const char *v, const char *end, uint64_t *out)
{
    int have = 0;
    while (v < end) {
        uint64_t n = 0;
        const char *d = v;
        for (; v < end && *v >= '0' && *v <= '9'; v++)
            if (__builtin_mul_overflow(n, 10, &n) ||
                __builtin_add_overflow(n, (uint64_t)(*v - '0'), &n))
                return -1;
        if (v == d) return -1;
        if (have && n != *out) return -2;
        *out = n;
        have = 1;
        while (v < end && (*v == ' ' || *v == '\t'))
            v++;
        if (v == end) break;
        if (*v++ != ',') return -1;
        while (v < end && (*v == ' ' || *v == '\t'))
            v++;
        if (v == end) return -1;
    }
    return have ? 0 : -1;
}

/* Takes the Content-Length value v..end of the current block; 0, or -1 with
 * invalid_length or conflicting_length set (RFC 9112 6.3: such a response
 * cannot be framed, the connection must not be reused). Repeated equal
 * values are allowed. */
static int check_length(tycho_response_fields_t *f, const char *v, const char *end)
{
    uint64_t n = 0;
    int rc = parse_length(v, end, &n);
    if (rc == -1) f->invalid_length = 1;
    if (rc == -2 || (rc == 0 && f->has_length && n != f->length)) f->conflicting_length = 1;
    if (f->invalid_length || f->conflicting_length) return -1;
    f->has_length = 1;
    f->length = n;
    return 0;
}

/* A status line opens a block: the first line of the exchange, or the first
 * after an interim (1xx) response's block. Anywhere else a line starting
 * with "HTTP/" is a field line to curl, so it is one here too: taken for a
 * new response, it would drop the fields before it and the Content-Length
 * they framed the body by. (tycho's client follows no redirect, answers no
 * auth challenge and has curl keep a proxy's answer to CONNECT to itself:
 * only a 1xx is followed by another response.) */
static void start_block(tycho_response_fields_t *f, const char *p, size_t len)
{
    tycho_buf_reset(&f->store);
    f->n = 0;
    f->block_done = 0;
    f->has_length = 0;
    f->length = 0;
    f->last_is_length = 0;
    f->status_next = 0;
    /* "HTTP/1.1 100 Continue": the code is the 3 digits after the first space */
    const char *sp = memchr(p, ' ', len);
    f->interim = sp && (size_t)(sp - p) + 1 < len && sp[1] == '1';
}

int tycho_response_fields_line(tycho_response_fields_t *f, const char *p, size_t len)
{
    if (len > TYCHO_RESPONSE_FIELDS_MAX_BYTES - f->bytes) {
        f->too_large = 1;
        return -1;
    }
    f->bytes += len;
    if (f->status_next) {
        start_block(f, p, len);
        return 0;
    }
    const char *end = p + len;
    while (end > p && is_space(end[-1]))
        end--;
    if (end == p) { /* the blank line */
        f->block_done = 1;
        f->status_next = f->interim;
        return 0;
    }
    /* trailer fields (RFC 9110 6.5) are not headers of the response */
    if (f->block_done) return 0;
    if (*p == ' ' || *p == '\t') {
        /* a folded Content-Length is not the number it was checked as */
        if (f->last_is_length) return f->invalid_length = 1, -1;
        return fold_into_last(f, p, end) ? -1 : 0;
    }
    const char *colon = memchr(p, ':', (size_t)(end - p));
    if (!colon) return 0; /* not a field: junk */
    size_t nl = (size_t)(colon - p), sent = nl;
    /* RFC 9112 5.1: whitespace before the colon is no part of the name (a
     * proxy removes it); the caller gets "x-a" for "X-A : 1" */
    while (nl > 0 && (p[nl - 1] == ' ' || p[nl - 1] == '\t'))
        nl--;
    if (nl == 0) return 0; /* no name */
    if (nl != sent && (tycho_http_field_name_is(p, nl, "content-length") ||
                       tycho_http_field_name_is(p, nl, "transfer-encoding"))) {
        /* curl took it for another field and framed the body without it:
         * a body its own header contradicts */
        f->spaced_framing = 1;
        return -1;
    }
    const char *v = colon + 1;
    while (v < end && is_space(*v))
        v++;
    if (tycho_buf_append(&f->store, p, nl) || tycho_buf_append(&f->store, "", 1) ||
        tycho_buf_append(&f->store, v, (size_t)(end - v)) || tycho_buf_append(&f->store, "", 1))
        return -1;
    f->n++;
    f->last_is_length = tycho_http_field_name_is(p, nl, "content-length");
    if (f->last_is_length) return check_length(f, v, end);
    return 0;
}

tycho_http_header_t *tycho_response_fields_list(const tycho_response_fields_t *f)
{
    if (!f->n) return NULL;
    tycho_http_header_t *hv = calloc(f->n, sizeof *hv);
    if (!hv) return NULL;
    const char *p = f->store.data;
    for (size_t i = 0; i < f->n; i++) {
        hv[i].name = p;
        p += strlen(p) + 1;
        hv[i].value = p;
        p += strlen(p) + 1;
    }
    return hv;
}
