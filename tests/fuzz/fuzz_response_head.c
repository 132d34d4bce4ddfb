/* libFuzzer target for a handler's headers on their way to the wire: the
 * names and values a route returns (Lua strings) go through
 * tycho_response_add_header (http/exchange.c, http/field.c), the head is
 * written by tycho_response_head (http/response_head.c), and what a client
 * reads of it is llhttp's reading (the parser Node and tycho use). Checked
 * (abort on failure):
 *  - add_header takes a field exactly when an oracle written here from
 *    RFC 9110 5.1, 5.5 does (a token name, a value without controls but HT)
 *    and the name is none the engine owns (framing, hop-by-hop, Date,
 *    Server, X-Request-Id), and says why when it refuses;
 *  - llhttp reads the head and the body as one whole response with the
 *    status given, and no byte left over: no value split the message;
 *  - the fields read are the engine's (Server, Date, Content-Length,
 *    Connection, X-Request-Id) and, in order, the handler's, each value as
 *    the handler gave it less the spaces and tabs at its ends; the body read
 *    is the body sent (none for HEAD and the statuses without content).
 *
 * Input: bytes 0..1 the status (100..599), byte 2 flags (bit 0: a HEAD
 * request, bit 1: keep-alive, bit 2: HTTP/1.0, bit 3: a HEAD route's answer
 * without a length), then "name:value" lines (LF) up to an empty line, then
 * the body.
 *
 * Built and run by tests/fuzz/run_fuzzer.sh response_head. */
#include "http/exchange.h"
#include "http/response_head.h"

#include <llhttp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define FUZZ_TARGET "response_head"
#include "tests/fuzz/fuzz_check.h"

#define MAX_FIELDS 64

typedef struct field {
    const char *name, *value;
    size_t nlen, vlen;
} field_t;

/* what llhttp read */
typedef struct reading {
    tycho_buf_t names[MAX_FIELDS + 8], values[MAX_FIELDS + 8];
    size_t n;
    tycho_buf_t body;
    int complete, head;
} reading_t;

/* llhttp may give a name or a value in pieces: they are appended until
 * the value is complete */
static int on_field(llhttp_t *p, const char *at, size_t len)
{
    reading_t *r = p->data;
    CHECK(r->n < MAX_FIELDS + 8, "more fields read than written");
    return tycho_buf_append(&r->names[r->n], at, len);
}

static int on_value(llhttp_t *p, const char *at, size_t len)
{
    reading_t *r = p->data;
    return tycho_buf_append(&r->values[r->n], at, len);
}

static int on_value_complete(llhttp_t *p)
{
    ((reading_t *)p->data)->n++;
    return 0;
}

static int on_headers_complete(llhttp_t *p)
{
    /* an answer to HEAD has no body, whatever it announces */
    return ((reading_t *)p->data)->head ? 1 : 0;
}

static int on_body(llhttp_t *p, const char *at, size_t len)
{
    return tycho_buf_append(&((reading_t *)p->data)->body, at, len);
}

static int on_complete(llhttp_t *p)
{
    ((reading_t *)p->data)->complete++;
    return 0;
}

static int tchar(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

static int oracle_takes(const field_t *f)
{
    static const char *const owned[] = {
        "content-length", "transfer-encoding", "connection", "keep-alive", "upgrade",     "te",
        "trailer",        "proxy-connection",  "date",       "server",     "x-request-id"};
    if (!f->nlen) return 0;
    for (size_t i = 0; i < f->nlen; i++)
        if (!tchar((unsigned char)f->name[i])) return 0;
    for (size_t i = 0; i < f->vlen; i++) {
        unsigned char c = (unsigned char)f->value[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f) return 0;
    }
    for (size_t i = 0; i < sizeof owned / sizeof *owned; i++)
        if (strlen(owned[i]) == f->nlen && strncasecmp(owned[i], f->name, f->nlen) == 0) return 0;
    return 1;
}

static int engine_field(const tycho_buf_t *name)
{
    static const char *const engine[] = {"Server", "Date", "Content-Length", "Connection",
                                         "X-Request-Id"};
    for (size_t i = 0; i < sizeof engine / sizeof *engine; i++)
        if (name->len == strlen(engine[i]) && memcmp(name->data, engine[i], name->len) == 0)
            return 1;
    return 0;
}

static void trim(const char **p, size_t *n)
{
    while (*n && (**p == ' ' || **p == '\t'))
        ++*p, --*n;
    while (*n && ((*p)[*n - 1] == ' ' || (*p)[*n - 1] == '\t'))
        --*n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3) return 0;
    int status = 100 + (data[0] | data[1] << 8) % 500, flags = data[2];
    const char *p = (const char *)data + 3, *end = (const char *)data + size;
    field_t taken[MAX_FIELDS];
    size_t ntaken = 0;
    tycho_response_t res = {.status = status};
    tycho_request_t req = {.method =
                               flags & 1 ? (tycho_slice_t){"HEAD", 4} : (tycho_slice_t){"GET", 3},
                           .http_minor = flags & 4 ? 0 : 1,
                           .request_id = "0123456789abcdef0123456789abcdef"};
    if ((flags & 9) == 9) res.length = TYCHO_LENGTH_NONE;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p)), *le = nl ? nl : end;
        if (le == p) { /* the empty line: the rest is the body */
            p = nl + 1;
            break;
        }
        const char *colon = memchr(p, ':', (size_t)(le - p));
        field_t f = {p, colon ? colon + 1 : le, colon ? (size_t)(colon - p) : (size_t)(le - p),
                     colon ? (size_t)(le - colon - 1) : 0};
        const char *why = NULL;
        int rc = tycho_response_add_header(&res, f.name, f.nlen, f.value, f.vlen, &why);
        int want = oracle_takes(&f);
        CHECK((rc == 0) == want && (rc == 0 || why), "'%.*s: %.*s': rc %d (%s), oracle %s",
              (int)f.nlen, f.name, (int)f.vlen, f.value, rc, why ? why : "-",
              want ? "takes it" : "refuses it");
        if (rc == 0 && ntaken < MAX_FIELDS) taken[ntaken++] = f;
        if (ntaken == MAX_FIELDS) break;
        p = nl ? nl + 1 : end;
    }
    if (p > end) p = end;
    CHECK(tycho_response_set_body(&res, p, (size_t)(end - p)) == 0, "set_body failed");

    tycho_buf_t wire = TYCHO_BUF_INIT;
    int send_body = 0;
    CHECK(tycho_response_head(&wire, &res, &req, flags & 2, &send_body) == 0, "head failed");
    size_t head_len = wire.len;
    if (send_body) tycho_buf_append(&wire, res.body.data, res.body.len);

    static reading_t r;
    memset(&r, 0, sizeof r);
    r.head = flags & 1;
    llhttp_settings_t s;
    llhttp_settings_init(&s);
    s.on_header_field = on_field;
    s.on_header_value = on_value;
    s.on_header_value_complete = on_value_complete;
    s.on_headers_complete = on_headers_complete;
    s.on_body = on_body;
    s.on_message_complete = on_complete;
    llhttp_t parser;
    llhttp_init(&parser, HTTP_RESPONSE, &s);
    parser.data = &r;
    llhttp_errno_t e = llhttp_execute(&parser, wire.data, wire.len);
    if (e == HPE_OK) e = llhttp_finish(&parser);
    CHECK(e == HPE_OK, "llhttp: %s (%s) reading:\n%.*s", llhttp_errno_name(e),
          llhttp_get_error_reason(&parser), (int)head_len, wire.data);
    CHECK(r.complete == 1, "llhttp read %d responses in:\n%.*s", r.complete, (int)head_len,
          wire.data);
    CHECK(parser.status_code == status, "status %d read as %d", status, parser.status_code);

    size_t k = 0;
    for (size_t i = 0; i < r.n; i++) {
        if (k < ntaken && r.names[i].len == taken[k].nlen &&
            memcmp(r.names[i].data, taken[k].name, taken[k].nlen) == 0) {
            const char *v = taken[k].value;
            size_t vn = taken[k].vlen;
            const char *got = r.values[i].data ? r.values[i].data : "";
            size_t gn = r.values[i].len;
            trim(&v, &vn);
            trim(&got, &gn);
            CHECK(gn == vn && memcmp(got, v, vn) == 0, "'%.*s': value '%.*s' read as '%.*s'",
                  (int)taken[k].nlen, taken[k].name, (int)vn, v, (int)gn, got);
            k++;
        } else {
            CHECK(engine_field(&r.names[i]), "a field '%.*s' nobody wrote (handler field %zu next)",
                  (int)r.names[i].len, r.names[i].data, k);
        }
    }
    CHECK(k == ntaken, "%zu of the handler's %zu fields read", k, ntaken);
    size_t want_body = send_body ? res.body.len : 0;
    CHECK(r.body.len == want_body && (!want_body || !memcmp(r.body.data, res.body.data, want_body)),
          "body of %zu bytes read as %zu", want_body, r.body.len);

    for (size_t i = 0; i < MAX_FIELDS + 8; i++) {
        tycho_buf_free(&r.names[i]);
        tycho_buf_free(&r.values[i]);
    }
    tycho_buf_free(&r.body);
    tycho_buf_free(&wire);
    tycho_response_free(&res);
    return 0;
}
