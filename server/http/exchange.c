#include "http/exchange.h"
#include "http/field.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

const char *const tycho_http_cut_reasons[TYCHO_HTTP_CUT_NREASONS] = {
    "client_closed", "send_timeout", "drain_timeout"};

const tycho_slice_t *tycho_request_header(const tycho_request_t *req, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < req->nheaders; i++) {
        const tycho_header_t *h = &req->headers[i];
        if (h->name.n == n && strncasecmp(h->name.p, name, n) == 0) return &h->value;
    }
    return NULL;
}

int tycho_response_add_header(tycho_response_t *res, const char *name, size_t nlen,
                              const char *value, size_t vlen, const char **why)
{
    /* the engine writes these itself (response_head.c) */
    static const char *const own[] = {"date", "server", "x-request-id"};
    const char *dummy;
    if (!why) why = &dummy;
    if ((*why = tycho_http_field_invalid(name, nlen, value, vlen)) ||
        (*why = tycho_http_field_connection_owned(name, nlen)))
        return -EINVAL;
    for (size_t i = 0; i < sizeof own / sizeof *own; i++)
        if (tycho_http_field_name_is(name, nlen, own[i]))
            return *why = "header is set by the server and cannot be set by a handler", -EINVAL;
    if (tycho_buf_reserve(&res->header, nlen + vlen + 4) != 0)
        return *why = "out of memory", -ENOMEM;
    tycho_buf_append(&res->header, name, nlen);
    tycho_buf_append(&res->header, ": ", 2);
    tycho_buf_append(&res->header, value, vlen);
    tycho_buf_append(&res->header, "\r\n", 2);
    if (tycho_http_field_name_is(name, nlen, "content-type")) res->has_content_type = 1;
    return 0;
}

int tycho_response_add_own_content_type(tycho_response_t *res, const char *value, size_t vlen)
{
    static const char name[] = "Content-Type: ";
    const size_t nlen = sizeof name - 1;
    if (tycho_buf_reserve(&res->header, nlen + vlen + 2) != 0) return -ENOMEM;
    char *o = res->header.data + res->header.len;
    memcpy(o, name, nlen);
    memcpy(o + nlen, value, vlen);
    memcpy(o + nlen + vlen, "\r\n", 2);
    res->header.len += nlen + vlen + 2;
    res->header.data[res->header.len] = '\0';
    res->has_content_type = 1;
    return 0;
}

int tycho_response_set_body(tycho_response_t *res, const void *p, size_t n)
{
    tycho_buf_reset(&res->body);
    return tycho_buf_append(&res->body, p, n);
}

int tycho_response_set_error(tycho_response_t *res, int status, const char *msg,
                             const char *request_id)
{
    return tycho_response_set_error_n(res, status, msg, strlen(msg), request_id);
}

int tycho_response_set_error_n(tycho_response_t *res, int status, const char *msg, size_t len,
                               const char *request_id)
{
    tycho_response_reset(res);
    res->status = status;
    tycho_buf_t *b = &res->body;
    int rc = tycho_buf_puts(b, "{\"error\":");
    rc |= tycho_buf_append_json_string(b, msg, len);
    if (request_id && *request_id) {
        rc |= tycho_buf_puts(b, ",\"request_id\":");
        rc |= tycho_buf_append_json_string(b, request_id, strlen(request_id));
    }
    rc |= tycho_buf_puts(b, "}");
    rc |= tycho_response_add_header(res, "Content-Type", 12, "application/json", 16, NULL);
    return rc ? -ENOMEM : 0;
}

void tycho_response_reset(tycho_response_t *res)
{
    res->status = 200;
    tycho_buf_reset(&res->header);
    tycho_buf_reset(&res->body);
    res->length = TYCHO_LENGTH_BODY;
    res->stated_length = 0;
    res->has_content_type = 0;
}

void tycho_response_free(tycho_response_t *res)
{
    tycho_buf_free(&res->header);
    tycho_buf_free(&res->body);
}

void tycho_exchange_finish(tycho_exchange_t *x)
{
    if (x->finished) return;
    x->finished = 1;
    if (x->on_finish) x->on_finish(x);
}
