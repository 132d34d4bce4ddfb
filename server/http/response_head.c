#include "http/response_head.h"

#include "http/date.h"

#include <errno.h>
#include <string.h>

const char *tycho_http_reason(int status)
{
    switch (status) {
    case 100:
        return "Continue";
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 202:
        return "Accepted";
    case 204:
        return "No Content";
    case 206:
        return "Partial Content";
    case 301:
        return "Moved Permanently";
    case 302:
        return "Found";
    case 303:
        return "See Other";
    case 304:
        return "Not Modified";
    case 307:
        return "Temporary Redirect";
    case 308:
        return "Permanent Redirect";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
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
    case 417:
        return "Expectation Failed";
    case 422:
        return "Unprocessable Content";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
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
    default:
        return "Unknown";
    }
}

int tycho_response_head(tycho_buf_t *out, const tycho_response_t *res, const tycho_request_t *req,
                        int keep_alive, int *send_body)
{
    int status = res->status;
    int bodyless = (status >= 100 && status < 200) || status == 204 || status == 304;
    int is_head = req && req->method.n == 4 && memcmp(req->method.p, "HEAD", 4) == 0;
    *send_body = !bodyless && !is_head;
    int minor = req ? req->http_minor : 1;

    int rc = tycho_buf_reserve(out, 160 + res->header.len);
    if (rc) return rc;
    rc |= tycho_buf_printf(out, "HTTP/1.1 %d %s\r\nServer: tycho\r\nDate: %s\r\n", status,
                           tycho_http_reason(status), tycho_http_date_now());
    if (!bodyless) rc |= tycho_buf_printf(out, "Content-Length: %zu\r\n", res->body.len);
    if (!keep_alive)
        rc |= tycho_buf_puts(out, "Connection: close\r\n");
    else if (minor == 0)
        rc |= tycho_buf_puts(out, "Connection: keep-alive\r\n");
    if (req && req->request_id && *req->request_id)
        rc |= tycho_buf_printf(out, "X-Request-Id: %s\r\n", req->request_id);
    if (res->header.len) rc |= tycho_buf_append(out, res->header.data, res->header.len);
    rc |= tycho_buf_append(out, "\r\n", 2);
    return rc ? -ENOMEM : 0;
}
