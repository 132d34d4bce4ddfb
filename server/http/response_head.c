#include "http/response_head.h"

#include "http/date.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

/* The IANA HTTP Status Code Registry's descriptions (RFC 9110 15 and the
 * RFCs it cites). A status without one (306 and 418 are registered as
 * "(Unused)") gets an empty reason phrase, which RFC 9112 4 allows: clients
 * ignore it. */
const char *tycho_http_reason(int status)
{
    switch (status) {
    case 100:
        return "Continue";
    case 101:
        return "Switching Protocols";
    case 102:
        return "Processing";
    case 103:
        return "Early Hints";
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 202:
        return "Accepted";
    case 203:
        return "Non-Authoritative Information";
    case 204:
        return "No Content";
    case 205:
        return "Reset Content";
    case 206:
        return "Partial Content";
    case 207:
        return "Multi-Status";
    case 208:
        return "Already Reported";
    case 226:
        return "IM Used";
    case 300:
        return "Multiple Choices";
    case 301:
        return "Moved Permanently";
    case 302:
        return "Found";
    case 303:
        return "See Other";
    case 304:
        return "Not Modified";
    case 305:
        return "Use Proxy";
    case 307:
        return "Temporary Redirect";
    case 308:
        return "Permanent Redirect";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 402:
        return "Payment Required";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 406:
        return "Not Acceptable";
    case 407:
        return "Proxy Authentication Required";
    case 408:
        return "Request Timeout";
    case 409:
        return "Conflict";
    case 410:
        return "Gone";
    case 411:
        return "Length Required";
    case 412:
        return "Precondition Failed";
    case 413:
        return "Content Too Large";
    case 414:
        return "URI Too Long";
    case 415:
        return "Unsupported Media Type";
    case 416:
        return "Range Not Satisfiable";
    case 417:
        return "Expectation Failed";
    case 421:
        return "Misdirected Request";
    case 422:
        return "Unprocessable Content";
    case 423:
        return "Locked";
    case 424:
        return "Failed Dependency";
    case 425:
        return "Too Early";
    case 426:
        return "Upgrade Required";
    case 428:
        return "Precondition Required";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 451:
        return "Unavailable For Legal Reasons";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    case 505:
        return "HTTP Version Not Supported";
    case 506:
        return "Variant Also Negotiates";
    case 507:
        return "Insufficient Storage";
    case 508:
        return "Loop Detected";
    case 510:
        return "Not Extended";
    case 511:
        return "Network Authentication Required";
    default:
        return "";
    }
}

/* Appends n as decimal digits (no printf: this runs once per response). */
static char *put_uint(char *o, uint64_t n)
{
    char tmp[24];
    size_t i = sizeof tmp;
    do {
        tmp[--i] = (char)('0' + n % 10);
        n /= 10;
    } while (n);
    memcpy(o, tmp + i, sizeof tmp - i);
    return o + (sizeof tmp - i);
}

#define PUT(o, lit) (memcpy((o), (lit), sizeof(lit) - 1), (o) + sizeof(lit) - 1)

int tycho_http_status_has_content(int status)
{
    return !((status >= 100 && status < 200) || status == 204 || status == 205 || status == 304);
}

int tycho_response_sends_body(const tycho_response_t *res, const tycho_request_t *req)
{
    int is_head = req && req->method.n == 4 && memcmp(req->method.p, "HEAD", 4) == 0;
    return tycho_http_status_has_content(res->status) && !is_head;
}

/* RFC 9110 8.6: 1xx and 204 must not carry Content-Length; a 304's would
 * have to be the selected representation's, which tycho does not know; a
 * 205 must announce 0 (15.3.6) unless the connection closes. */
static char *put_content_length(char *o, const tycho_response_t *res)
{
    uint64_t n = res->body.len;
    if (res->status == 205)
        n = 0;
    else if (!tycho_http_status_has_content(res->status) || res->length == TYCHO_LENGTH_NONE)
        return o;
    else if (res->length == TYCHO_LENGTH_STATED)
        n = res->stated_length;
    o = PUT(o, "Content-Length: ");
    o = put_uint(o, n);
    return PUT(o, "\r\n");
}

int tycho_response_head(tycho_buf_t *out, const tycho_response_t *res, const tycho_request_t *req,
                        int keep_alive, int *send_body)
{
    int status = res->status;
    *send_body = tycho_response_sends_body(res, req);
    int minor = req ? req->http_minor : 1;
    const char *reason = tycho_http_reason(status);
    const char *id = req && req->request_id ? req->request_id : "";
    size_t reason_len = strlen(reason), id_len = strlen(id);

    /* the fixed parts below take at most 160 bytes besides reason, id and headers */
    size_t need = 160 + reason_len + id_len + res->header.len;
    if (tycho_buf_reserve(out, need) != 0) return -ENOMEM;
    char *start = out->data + out->len, *o = start;
    o = PUT(o, "HTTP/1.1 ");
    if (status < 100 || status > 999) status = 500; /* keep the status line well-formed */
    *o++ = (char)('0' + status / 100);
    *o++ = (char)('0' + status / 10 % 10);
    *o++ = (char)('0' + status % 10);
    *o++ = ' ';
    memcpy(o, reason, reason_len);
    o += reason_len;
    o = PUT(o, "\r\nServer: tycho\r\nDate: ");
    memcpy(o, tycho_http_date_now(), TYCHO_HTTP_DATE_LEN);
    o += TYCHO_HTTP_DATE_LEN;
    o = PUT(o, "\r\n");
    o = put_content_length(o, res);
    if (!keep_alive)
        o = PUT(o, "Connection: close\r\n");
    else if (minor == 0)
        o = PUT(o, "Connection: keep-alive\r\n");
    if (id_len) {
        o = PUT(o, "X-Request-Id: ");
        memcpy(o, id, id_len);
        o += id_len;
        o = PUT(o, "\r\n");
    }
    if (res->header.len) {
        memcpy(o, res->header.data, res->header.len);
        o += res->header.len;
    }
    o = PUT(o, "\r\n");
    out->len += (size_t)(o - start);
    out->data[out->len] = '\0';
    return 0;
}
