#include "http/parser.h"
#include "http/host.h"
#include "http/token.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static tycho_http_parser_t *P(llhttp_t *ll)
{
    return ll->data;
}

#define BARE_LF "bare LF as a line end (CRLF expected)"

static int fail(tycho_http_parser_t *p, int status, const char *reason)
{
    if (!p->error_status) {
        p->error_status = status;
        p->error_reason = reason;
    }
    return -1;
}

/* Where the header or trailer section being read starts in the caller's
 * buffer (the header section's is the request's start). */
static size_t section_start(const tycho_http_parser_t *p)
{
    return p->in_trailer ? p->trailer_start : p->msg_start;
}

/* An error in the section being read, told in its own words. */
static int fail_in_section(tycho_http_parser_t *p, int status, const char *in_header,
                           const char *in_trailer)
{
    return fail(p, status, p->in_trailer ? in_trailer : in_header);
}

static int section_too_large(tycho_http_parser_t *p)
{
    return fail_in_section(p, 431, "request header section too large", "trailer section too large");
}

static int check_section_size(tycho_http_parser_t *p, const char *end)
{
    size_t pos = (size_t)(end - p->base);
    if (pos - section_start(p) > p->limits.max_header_bytes) return section_too_large(p);
    return 0;
}

static void extend(tycho_http_parser_t *p, span_off_t *s, const char *at, size_t len)
{
    if (s->len == 0) s->off = (size_t)(at - p->base);
    s->len += len;
}

static tycho_http_fields_t *take_fields(tycho_http_parser_t *p)
{
    return p->fields_pool ? tycho_block_pool_take(p->fields_pool) : malloc(sizeof *p->f);
}

static void release_fields(tycho_http_parser_t *p)
{
    if (p->fields_pool)
        tycho_block_pool_give(p->fields_pool, p->f);
    else
        free(p->f);
    p->f = NULL;
}

static int on_message_begin(llhttp_t *ll)
{
    tycho_http_parser_t *p = P(ll);
    if (!p->f && !(p->f = take_fields(p))) return fail(p, 503, "out of memory");
    p->in_message = 1;
    p->headers_done = 0;
    p->nheaders = 0;
    p->in_value = 0;
    p->method = p->url = (span_off_t){0, 0};
    p->expect_continue = 0;
    p->in_trailer = p->trailer_next = 0;
    p->chunk_ext_bytes = 0;
    tycho_buf_reset(&p->body);
    tycho_buf_reset(&p->head);
    return 0;
}

static int on_method(llhttp_t *ll, const char *at, size_t len)
{
    tycho_http_parser_t *p = P(ll);
    if (p->method.len == 0) p->msg_start = (size_t)(at - p->base);
    extend(p, &p->method, at, len);
    return check_section_size(p, at + len);
}

static int on_url(llhttp_t *ll, const char *at, size_t len)
{
    tycho_http_parser_t *p = P(ll);
    extend(p, &p->url, at, len);
    if (p->url.len > p->limits.max_uri_bytes) return fail(p, 414, "request-target too long");
    return check_section_size(p, at + len);
}

/* Chunk extensions (RFC 9112 7.1.1) are read and dropped. Without a bound a
 * client could send them until the body timeout; all of a request's share
 * the budget of its trailer section, max_header_bytes. llhttp reports names
 * and values in pieces, and each ';' and '=' as a name's or a value's end. */
static int count_chunk_ext(tycho_http_parser_t *p, size_t len)
{
    p->chunk_ext_bytes += len;
    if (p->chunk_ext_bytes > p->limits.max_header_bytes)
        return fail(p, 413, "chunk extensions too large");
    return 0;
}

static int on_chunk_ext_piece(llhttp_t *ll, const char *at, size_t len)
{
    (void)at;
    return count_chunk_ext(P(ll), len);
}

static int on_chunk_ext_delimiter(llhttp_t *ll)
{
    return count_chunk_ext(P(ll), 1);
}

/* The name and value of the field line being read (NULL before the header
 * section's first): the header section's last entry, or in the trailer
 * section, whose fields are dropped, the one kept for the checks. */
static span_off_t *field_name(tycho_http_parser_t *p)
{
    if (p->in_trailer) return &p->trailer_name;
    return p->nheaders ? &p->f->name[p->nheaders - 1] : NULL;
}

static span_off_t *field_value(tycho_http_parser_t *p)
{
    return p->in_trailer ? &p->trailer_value : &p->f->value[p->nheaders - 1];
}

static int start_field(tycho_http_parser_t *p)
{
    p->in_value = 0;
    if (p->in_trailer) {
        p->trailer_name = p->trailer_value = (span_off_t){0, 0};
        return 0;
    }
    if (p->nheaders == TYCHO_MAX_HEADERS) return fail(p, 431, "too many header fields");
    p->f->name[p->nheaders] = p->f->value[p->nheaders] = (span_off_t){0, 0};
    p->nheaders++;
    return 0;
}

static int on_header_field(llhttp_t *ll, const char *at, size_t len)
{
    tycho_http_parser_t *p = P(ll);
    if ((!field_name(p) || p->in_value) && start_field(p) != 0) return -1;
    extend(p, field_name(p), at, len);
    return check_section_size(p, at + len);
}

/* llhttp reports a line starting with ':' as a field with an empty name. */
static int check_field_name(tycho_http_parser_t *p)
{
    const span_off_t *name = field_name(p);
    if (!name || name->len == 0)
        return fail_in_section(p, 400, "empty header field name", "empty trailer field name");
    return 0;
}

/* llhttp 8.1 accepts obs-fold even in strict mode: it reports the folded
 * line as a second, non-adjacent piece of the value (or, after an empty first
 * line, as a value preceded by CRLF and whitespace). RFC 9112 5.2 lets a
 * server reject it with 400, which closes the smuggling vector. */
static int is_obs_fold(tycho_http_parser_t *p, const span_off_t *v, const char *at)
{
    size_t pos = (size_t)(at - p->base);
    if (v->len) return pos != v->off + v->len;
    const char *b = at, *start = p->base + section_start(p);
    while (b > start && (b[-1] == ' ' || b[-1] == '\t'))
        b--;
    return b > start && b[-1] == '\n';
}

static int on_header_value(llhttp_t *ll, const char *at, size_t len)
{
    tycho_http_parser_t *p = P(ll);
    p->in_value = 1;
    if (check_field_name(p) != 0) return -1;
    span_off_t *v = field_value(p);
    if (len == 0) return 0; /* llhttp reports an empty value as an empty span, past its CRLF */
    if (is_obs_fold(p, v, at))
        return fail_in_section(p, 400, "obsolete line folding in a header field",
                               "obsolete line folding in a trailer field");
    extend(p, v, at, len);
    return check_section_size(p, at + len);
}

static int on_header_value_complete(llhttp_t *ll)
{
    tycho_http_parser_t *p = P(ll);
    p->in_value = 1; /* an empty value never calls on_header_value */
    return check_field_name(p);
}

static int slice_is(const tycho_slice_t *s, const char *lit)
{
    size_t n = strlen(lit);
    return s->n == n && strncasecmp(s->p, lit, n) == 0;
}

/* The fields that frame a request (RFC 9112 6, 9110 7.2, 10.1.1), found in
 * one pass: the first Host and Expect, and how many of each there are. */
typedef struct framing_fields {
    tycho_slice_t *host;
    const tycho_slice_t *expect;
    int hosts, expects, content_lengths, transfer_encodings;
} framing_fields_t;

static void scan_framing_fields(tycho_http_parser_t *p, framing_fields_t *ff)
{
    *ff = (framing_fields_t){0};
    for (size_t i = 0; i < p->nheaders; i++) {
        tycho_header_t *h = &p->f->headers[i];
        switch (h->name.n) {
        case 4:
            if (strncasecmp(h->name.p, "host", 4) == 0 && !ff->hosts++) ff->host = &h->value;
            break;
        case 6:
            if (strncasecmp(h->name.p, "expect", 6) == 0 && !ff->expects++) ff->expect = &h->value;
            break;
        case 14:
            if (strncasecmp(h->name.p, "content-length", 14) == 0) ff->content_lengths++;
            break;
        case 17:
            if (strncasecmp(h->name.p, "transfer-encoding", 17) == 0) ff->transfer_encodings++;
            break;
        }
    }
}

/* Where the last span of the header section ends in the caller's buffer
 * (the target's, or the last field's name or value): its line's end follows. */
static size_t head_end(const tycho_http_parser_t *p)
{
    size_t end = p->url.off + p->url.len;
    for (size_t i = 0; i < p->nheaders; i++) {
        size_t e = p->f->value[i].len ? p->f->value[i].off + p->f->value[i].len
                                      : p->f->name[i].off + p->f->name[i].len;
        if (e > end) end = e;
    }
    return end;
}

/* RFC 9112 2.2: lines end in CRLF. llhttp 8.1 refuses a bare LF after a
 * field value but takes one at the end of the request line and as the empty
 * line that ends the header section; a proxy in front that does not would
 * frame the stream differently (a request smuggled behind "\r\n\n"), so it
 * is a 400 there too. Reads the ends of the request line and of the last
 * line, and the empty line (all in the caller's buffer, up to fed_end). */
static int head_has_bare_lf(const tycho_http_parser_t *p, size_t end)
{
    const char *b = p->base;
    if (p->nheaders && b[p->f->name[0].off - 2] != '\r') return 1;
    const char *lf = memchr(b + end, '\n', p->fed_end - end);
    return !lf || lf[-1] != '\r' || lf[1] != '\r';
}

/* Copies the request line and header section out of the caller's buffer so
 * the caller may reuse it while the body arrives. */
static int copy_head(tycho_http_parser_t *p, size_t end)
{
    size_t start = p->msg_start;
    if (tycho_buf_append(&p->head, p->base + start, end - start) != 0)
        return fail(p, 503, "out of memory");
    const char *h = p->head.data;
    for (size_t i = 0; i < p->nheaders; i++) {
        tycho_slice_t v = {h + p->f->value[i].off - start, p->f->value[i].len};
        while (v.n && (v.p[v.n - 1] == ' ' || v.p[v.n - 1] == '\t'))
            v.n--;
        if (p->f->value[i].len == 0) v.p = "";
        p->f->headers[i].name = (tycho_slice_t){h + p->f->name[i].off - start, p->f->name[i].len};
        p->f->headers[i].value = v;
    }
    p->req.method = (tycho_slice_t){h + p->method.off - start, p->method.len};
    p->req.target = (tycho_slice_t){h + p->url.off - start, p->url.len};
    return 0;
}

/* RFC 9112 3.2: origin-form, absolute-form, asterisk-form (OPTIONS only);
 * authority-form is CONNECT's, which tycho does not implement. *authority
 * is an absolute-form target's host[:port], else empty. */
static int split_target(tycho_http_parser_t *p, tycho_slice_t *authority)
{
    tycho_request_t *r = &p->req;
    const char *t = r->target.p;
    size_t n = r->target.n;
    *authority = (tycho_slice_t){t, 0};
    if (p->ll.method == HTTP_CONNECT) return fail(p, 501, "CONNECT is not supported");
    if (n == 1 && t[0] == '*') {
        if (p->ll.method != HTTP_OPTIONS)
            return fail(p, 400, "asterisk-form target is only valid for OPTIONS");
        r->path = r->target;
        r->query = (tycho_slice_t){t + n, 0};
        return 0;
    }
    if (memchr(t, '#', n)) return fail(p, 400, "fragment in request-target");
    const char *path = t;
    if (t[0] != '/') {
        size_t skip = 0;
        if (n > 7 && strncasecmp(t, "http://", 7) == 0)
            skip = 7;
        else if (n > 8 && strncasecmp(t, "https://", 8) == 0)
            skip = 8;
        else
            return fail(p, 400, "invalid request-target");
        path = t + skip;
        while (path < t + n && *path != '/' && *path != '?')
            path++;
        *authority = (tycho_slice_t){t + skip, (size_t)(path - (t + skip))};
        if (authority->n == 0 || authority->p[0] == ':')
            return fail(p, 400, "absolute-form target without a host");
        /* RFC 9110 4.2.4: userinfo in an http(s) URI is an error */
        if (memchr(authority->p, '@', authority->n))
            return fail(p, 400, "userinfo in request-target");
        if (!tycho_host_valid(authority)) return fail(p, 400, "invalid host in request-target");
    }
    const char *end = t + n;
    const char *q = memchr(path, '?', (size_t)(end - path));
    const char *pend = q ? q : end;
    if (pend == path)
        r->path = (tycho_slice_t){"/", 1};
    else if (*path != '/')
        return fail(p, 400, "invalid request-target");
    else
        r->path = (tycho_slice_t){path, (size_t)(pend - path)};
    r->query = q ? (tycho_slice_t){q + 1, (size_t)(end - q - 1)} : (tycho_slice_t){end, 0};
    return 0;
}

/* Next comma-separated token of a header value, OWS trimmed; 0 at the end. */
static int next_token(const tycho_slice_t *v, size_t *pos, tycho_slice_t *tok)
{
    while (*pos < v->n) {
        size_t b = *pos;
        while (b < v->n && v->p[b] != ',')
            b++;
        *tok = (tycho_slice_t){v->p + *pos, b - *pos};
        *pos = b + 1;
        while (tok->n && (*tok->p == ' ' || *tok->p == '\t'))
            tok->p++, tok->n--;
        while (tok->n && (tok->p[tok->n - 1] == ' ' || tok->p[tok->n - 1] == '\t'))
            tok->n--;
        if (tok->n) return 1;
    }
    return 0;
}

/* RFC 9112 6.1: chunked must be the final coding (else 400: the length
 * cannot be known); a coding tycho does not implement is 501. */
static int check_transfer_encoding(tycho_http_parser_t *p)
{
    int fields = 0, seen = 0, last_chunked = 0, chunked_not_final = 0, unknown = 0;
    for (size_t i = 0; i < p->nheaders; i++) {
        if (!slice_is(&p->f->headers[i].name, "transfer-encoding")) continue;
        if (p->ll.http_minor == 0) return fail(p, 400, "Transfer-Encoding in an HTTP/1.0 request");
        fields++;
        size_t pos = 0;
        tycho_slice_t tok;
        while (next_token(&p->f->headers[i].value, &pos, &tok)) {
            if (last_chunked) chunked_not_final = 1;
            last_chunked = slice_is(&tok, "chunked");
            unknown |= !last_chunked;
            seen = 1;
        }
    }
    if (!fields) return 0;
    /* an empty field would leave the framing to whoever reads it next */
    if (!seen) return fail(p, 400, "empty Transfer-Encoding");
    if (chunked_not_final || !last_chunked)
        return fail(p, 400, "chunked is not the final transfer coding");
    if (unknown) return fail(p, 501, "unsupported transfer coding");
    return 0;
}

static int on_headers_complete(llhttp_t *ll)
{
    tycho_http_parser_t *p = P(ll);
    p->headers_done = 1;
    p->ll.upgrade = 0; /* tycho never switches protocols: Upgrade is ignored (RFC 9110 7.8) */
    if (ll->http_major != 1) return fail(p, 505, "HTTP version not supported");
    /* RFC 9110 2.5: a higher minor version of a major one tycho speaks is
     * read as the highest it speaks. HTTP/1.2 is HTTP/1.1 from here on: to
     * llhttp's keep-alive and framing rules, Host, Expect and the answer's
     * status line alike. */
    if (ll->http_minor > 1) ll->http_minor = 1;
    size_t end = head_end(p);
    if (head_has_bare_lf(p, end)) return fail(p, 400, BARE_LF);
    if (copy_head(p, end) != 0) return -1;
    p->req.headers = p->f->headers;
    p->req.nheaders = p->nheaders;
    p->req.http_minor = ll->http_minor;
    if (split_target(p, &p->authority) != 0) return -1;

    framing_fields_t ff;
    scan_framing_fields(p, &ff);
    if (ff.hosts > 1) return fail(p, 400, "duplicate Host header");
    if (ff.hosts == 0 && ll->http_minor == 1) return fail(p, 400, "missing Host header");
    if (ff.host && !tycho_host_valid(ff.host)) return fail(p, 400, "invalid Host header");
    /* RFC 9112 3.2.2: with an absolute-form target, the target's authority
     * is the request's host, whatever Host says (a client must send the
     * same), so routes and telemetry read one answer. An HTTP/1.0 request
     * may come without Host: the authority is added as its Host (the slot
     * past the last field is kept for it). */
    if (p->authority.n && ff.host)
        *ff.host = p->authority;
    else if (p->authority.n)
        p->f->headers[p->req.nheaders++] = (tycho_header_t){{"Host", 4}, p->authority};

    if (ff.content_lengths > 1) return fail(p, 400, "duplicate Content-Length");
    if (ff.content_lengths && ff.transfer_encodings)
        return fail(p, 400, "both Content-Length and Transfer-Encoding");
    if (ff.transfer_encodings && check_transfer_encoding(p) != 0) return -1;
    int has_body =
        (ll->flags & F_CHUNKED) || ((ll->flags & F_CONTENT_LENGTH) && ll->content_length > 0);
    if ((ll->flags & F_CONTENT_LENGTH) && ll->content_length > p->limits.max_body_bytes)
        return fail(p, 413, "request body too large");

    if (ff.expect) {
        /* a second field is a list (RFC 9110 5.3): tycho knows one expectation */
        if (ff.expects > 1 || !slice_is(ff.expect, "100-continue"))
            return fail(p, 417, "unsupported Expect");
        if (ll->http_minor == 1 && has_body) {
            p->expect_continue = 1;
            return HPE_PAUSED;
        }
    }
    return 0;
}

/* len more body bytes from the server's budget: 0, or -1 when the bodies
 * held at once would pass it. */
static int take_body_budget(tycho_http_parser_t *p, size_t len)
{
    tycho_http_body_budget_t *b = p->body_budget;
    if (!b) return 0;
    if (len > b->max - b->used) return -1;
    b->used += len;
    p->body_held += len;
    return 0;
}

/* Gives back what this parser's body took, when the body goes. */
static void release_body_budget(tycho_http_parser_t *p)
{
    if (p->body_budget) p->body_budget->used -= p->body_held;
    p->body_held = 0;
}

static int on_body(llhttp_t *ll, const char *at, size_t len)
{
    tycho_http_parser_t *p = P(ll);
    if (p->body.len + len > p->limits.max_body_bytes) return fail(p, 413, "request body too large");
    if (take_body_budget(p, len) != 0)
        return fail(p, 503,
                    "server busy: the request bodies in progress use TYCHO_MAX_BODY_MEMORY");
    if (tycho_buf_append(&p->body, at, len) != 0) return fail(p, 503, "out of memory");
    return 0;
}

/* A chunk that would take the body past the limit is refused when its size
 * line arrives, not after its data was read. */
static int on_chunk_header(llhttp_t *ll)
{
    tycho_http_parser_t *p = P(ll);
    if (ll->content_length > p->limits.max_body_bytes - p->body.len)
        return fail(p, 413, "request body too large");
    if (ll->content_length > 0) return 0;
    /* the last chunk: execute learns here where the trailer section starts */
    p->trailer_next = 1;
    return HPE_PAUSED;
}

static int on_message_complete(llhttp_t *ll)
{
    tycho_http_parser_t *p = P(ll);
    p->req.body = (tycho_slice_t){p->body.data ? p->body.data : "", p->body.len};
    p->keep_alive = llhttp_should_keep_alive(ll);
    p->in_message = 0;
    return HPE_PAUSED;
}

static const llhttp_settings_t settings = {
    .on_message_begin = on_message_begin,
    .on_method = on_method,
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_header_value_complete = on_header_value_complete,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_chunk_header = on_chunk_header,
    .on_chunk_extension_name = on_chunk_ext_piece,
    .on_chunk_extension_value = on_chunk_ext_piece,
    .on_chunk_extension_name_complete = on_chunk_ext_delimiter,
    .on_chunk_extension_value_complete = on_chunk_ext_delimiter,
    .on_message_complete = on_message_complete,
};

void tycho_http_parser_init(tycho_http_parser_t *p, const tycho_http_limits_t *limits)
{
    memset(p, 0, sizeof *p);
    p->limits = *limits;
    llhttp_init(&p->ll, HTTP_REQUEST, &settings);
    /* llhttp would refuse every version but 0.9, 1.0, 1.1 and 2.0 as
     * malformed; with LENIENT_VERSION (8.1 has the flag, not its setter) it
     * still wants "HTTP/" and one digit, a dot, one digit, and leaves the
     * judging to on_headers_complete: 1.x served, any other major 505. */
    p->ll.lenient_flags |= LENIENT_VERSION;
    p->ll.data = p;
}

void tycho_http_parser_free(tycho_http_parser_t *p)
{
    release_fields(p);
    release_body_budget(p);
    tycho_buf_free(&p->head);
    tycho_buf_free(&p->body);
}

/* llhttp stops at the first byte of a method it does not know (what it
 * matched before is a known method's prefix: letters). If the token goes on
 * to a space, the request is well formed with a method tycho does not
 * implement: 501 (RFC 9110 9.1); anything else is a 400. The token may end in
 * a later read: until then the parser reads it here, bounded by the header
 * limit, so the verdict does not depend on where reads were cut. */
static tycho_parse_result_t judge_method(tycho_http_parser_t *p, const char *base, size_t at,
                                         size_t from, size_t len, size_t *consumed)
{
    p->judging_method = 1;
    size_t i = at;
    while (i < len && tycho_http_is_tchar((unsigned char)base[i]) &&
           p->method_token_len < p->limits.max_header_bytes) {
        i++;
        p->method_token_len++;
    }
    *consumed = i - from;
    if (i == len && p->method_token_len < p->limits.max_header_bytes) return TYCHO_PARSE_MORE;
    if (i == len || p->method_token_len >= p->limits.max_header_bytes)
        fail(p, 431, "request header section too large");
    else if (base[i] == ' ' && p->method_token_len > 0)
        fail(p, 501, "method not implemented");
    else
        fail(p, 400, "invalid method");
    return TYCHO_PARSE_ERROR;
}

/* How many of the n bytes at pos llhttp may be given now. While a header
 * section is incomplete, llhttp never gets more than the bytes the limit
 * still allows: it skips some bytes without a callback (OWS, CRLF, an empty
 * trailer field), so checking in callbacks alone would let a partial section
 * grow the caller's buffer without bound, and would make the verdict depend
 * on where reads were cut. The trailer section (RFC 9112 7.1.2) is counted
 * the same way, in bytes read, against its own max_header_bytes (the body
 * before it is not part of the head): its fields are checked, then dropped. */
static size_t feed_room(const tycho_http_parser_t *p, size_t pos, size_t n)
{
    size_t room = n;
    if (!p->in_message || tycho_http_parser_mid_section(p)) {
        size_t start = p->in_message ? section_start(p) : pos;
        room = start + p->limits.max_header_bytes - pos;
    }
    return n < room ? n : room;
}

/* Whether the header or trailer section being read has used its budget
 * without ending (after execute gave llhttp all feed_room allowed). */
static int section_full(const tycho_http_parser_t *p, size_t pos)
{
    return tycho_http_parser_mid_section(p) && pos - section_start(p) >= p->limits.max_header_bytes;
}

/* The trailer section's last two bytes so far, n more read at s: an empty
 * trailer section is CRLF, a longer one ends in CRLF CRLF; llhttp takes a
 * bare LF for that last CRLF (head_has_bare_lf says why that is a 400). */
static void keep_trailer_tail(tycho_http_parser_t *p, const char *s, size_t n)
{
    if (n >= 2)
        p->trailer_tail[0] = s[n - 2];
    else if (n == 1)
        p->trailer_tail[0] = p->trailer_tail[1];
    if (n) p->trailer_tail[1] = s[n - 1];
}

static tycho_parse_result_t stop_section_too_large(tycho_http_parser_t *p, size_t pos, size_t from,
                                                   size_t *consumed)
{
    *consumed = pos - from;
    section_too_large(p);
    return TYCHO_PARSE_ERROR;
}

tycho_parse_result_t tycho_http_parser_execute(tycho_http_parser_t *p, const char *base,
                                               size_t from, size_t len, size_t *consumed)
{
    if (p->judging_method) return judge_method(p, base, from, from, len, consumed);
    if (llhttp_get_errno(&p->ll) == HPE_PAUSED) llhttp_resume(&p->ll);
    p->base = base;
    size_t pos = from;
    llhttp_errno_t e = HPE_OK;
    while (pos < len && e == HPE_OK) {
        size_t n = feed_room(p, pos, len - pos);
        if (n == 0) return stop_section_too_large(p, pos, from, consumed); /* max_header_bytes 0 */
        p->fed_end = pos + n;
        e = llhttp_execute(&p->ll, base + pos, n);
        if (e == HPE_PAUSED && p->trailer_next) { /* on_chunk_header: the last chunk */
            p->trailer_next = 0;
            p->in_trailer = 1;
            p->in_value = 1; /* the next field line starts a field */
            p->trailer_tail[0] = p->trailer_tail[1] = 0;
            pos = (size_t)(llhttp_get_error_pos(&p->ll) - base);
            p->trailer_start = pos;
            llhttp_resume(&p->ll);
            e = HPE_OK;
            continue;
        }
        if (e != HPE_OK) break;
        if (p->in_trailer) keep_trailer_tail(p, base + pos, n);
        pos += n;
        if (section_full(p, pos)) return stop_section_too_large(p, pos, from, consumed);
    }
    if (e == HPE_OK) {
        *consumed = len - from;
        return TYCHO_PARSE_MORE;
    }
    const char *err_at = llhttp_get_error_pos(&p->ll);
    *consumed = err_at ? (size_t)(err_at - base) - from : pos - from;
    if (e == HPE_PAUSED) {
        if (p->in_message && p->expect_continue) {
            p->expect_continue = 0;
            return TYCHO_PARSE_HEADERS_CONTINUE;
        }
        if (p->in_trailer) { /* it ended the message */
            keep_trailer_tail(p, base + pos, (size_t)(err_at - (base + pos)));
            if (p->trailer_tail[0] != '\r') {
                fail(p, 400, BARE_LF);
                return TYCHO_PARSE_ERROR;
            }
        }
        return TYCHO_PARSE_REQUEST;
    }
    if (!p->error_status && e == HPE_INVALID_METHOD && err_at)
        return judge_method(p, base, (size_t)(err_at - base), from, len, consumed);
    /* llhttp stops at the HTTP/2 connection preface (RFC 9113 3.4) with its
     * own "Pause on PRI/Upgrade": the client is told what it met instead */
    if (!p->error_status && e == HPE_PAUSED_H2_UPGRADE)
        fail(p, 400, "HTTP/2 connection preface: tycho speaks HTTP/1.1 only");
    if (!p->error_status) {
        p->error_status = 400;
        p->error_reason = llhttp_get_error_reason(&p->ll);
        if (!p->error_reason) p->error_reason = llhttp_errno_name(e);
    }
    return TYCHO_PARSE_ERROR;
}

int tycho_http_parser_mid_section(const tycho_http_parser_t *p)
{
    /* judging a rejected method needs none of the bytes already read */
    return p->in_message && (!p->headers_done || p->in_trailer) && !p->judging_method;
}

size_t tycho_http_parser_section_start(const tycho_http_parser_t *p)
{
    return section_start(p);
}

static void shift_span(span_off_t *s, size_t shift)
{
    if (s->len) s->off -= shift;
}

void tycho_http_parser_shift(tycho_http_parser_t *p, size_t shift)
{
    if (p->in_trailer) { /* the header section was copied out */
        p->trailer_start -= shift;
        shift_span(&p->trailer_name, shift);
        shift_span(&p->trailer_value, shift);
        return;
    }
    p->msg_start -= shift;
    shift_span(&p->method, shift);
    shift_span(&p->url, shift);
    for (size_t i = 0; p->f && i < p->nheaders; i++) {
        shift_span(&p->f->name[i], shift);
        shift_span(&p->f->value[i], shift);
    }
}

void tycho_http_parser_next(tycho_http_parser_t *p)
{
    release_fields(p);
    p->nheaders = 0;
    p->headers_done = 0;
    p->in_message = 0;
    p->in_trailer = 0;
    /* Freed, not kept for the next request: an idle keep-alive connection
     * would otherwise hold its largest body so far (up to max_body_bytes)
     * until it closes, 1 MiB a connection by default. */
    tycho_buf_free(&p->body);
    release_body_budget(p);
    tycho_buf_reset(&p->head);
    memset(&p->req, 0, sizeof p->req);
    p->authority = (tycho_slice_t){0};
}

int tycho_http_parser_whole_request(const tycho_http_limits_t *limits, const char *base,
                                    size_t from, size_t len)
{
    tycho_http_parser_t p;
    tycho_http_parser_init(&p, limits);
    tycho_parse_result_t r = TYCHO_PARSE_HEADERS_CONTINUE;
    while (r == TYCHO_PARSE_HEADERS_CONTINUE && from < len) {
        size_t used = 0;
        r = tycho_http_parser_execute(&p, base, from, len, &used);
        from += used;
    }
    tycho_http_parser_free(&p);
    return r == TYCHO_PARSE_REQUEST || r == TYCHO_PARSE_ERROR;
}

static int slice_eq(const tycho_slice_t *a, const tycho_slice_t *b)
{
    return a->n == b->n && memcmp(a->p, b->p, a->n) == 0;
}

/* s, a slice of parsed (the parser's copy of line's target) or a static
 * string, as the same bytes of line->target. */
static tycho_slice_t in_target(const tycho_request_line_t *line, const tycho_slice_t *parsed,
                               tycho_slice_t s)
{
    if (s.p < parsed->p || s.p > parsed->p + parsed->n) return s;
    return (tycho_slice_t){line->target.p + (s.p - parsed->p), s.n};
}

/* The request line goes through a parser of its own, as the first request of
 * a connection would: the verdict is the server's by construction. The Host
 * field only completes the head (HTTP/1.1 requires one). */
int tycho_http_parser_check_request_line(const tycho_http_limits_t *limits,
                                         tycho_request_line_t *line)
{
    static const char rest[] = " HTTP/1.1\r\nHost: tycho.test\r\n\r\n";
    tycho_buf_t head = TYCHO_BUF_INIT;
    if (tycho_buf_append(&head, line->method.p, line->method.n) != 0 ||
        tycho_buf_append(&head, " ", 1) != 0 ||
        tycho_buf_append(&head, line->target.p, line->target.n) != 0 ||
        tycho_buf_append(&head, rest, sizeof rest - 1) != 0) {
        tycho_buf_free(&head);
        return -ENOMEM;
    }
    tycho_http_parser_t p;
    tycho_http_parser_init(&p, limits);
    size_t consumed;
    tycho_parse_result_t r = tycho_http_parser_execute(&p, head.data, 0, head.len, &consumed);
    int rc = 0;
    line->status = 0;
    line->reason = NULL;
    line->authority = (tycho_slice_t){line->target.p, 0};
    if (r == TYCHO_PARSE_ERROR) {
        line->status = p.error_status;
        line->reason = p.error_reason;
    } else if (r != TYCHO_PARSE_REQUEST || !slice_eq(&p.req.method, &line->method) ||
               !slice_eq(&p.req.target, &line->target)) {
        rc = -EINVAL; /* CR or LF in the target: not one request line */
    } else {
        line->path = in_target(line, &p.req.target, p.req.path);
        line->query = in_target(line, &p.req.target, p.req.query);
        line->authority = in_target(line, &p.req.target, p.authority);
    }
    tycho_http_parser_free(&p);
    tycho_buf_free(&head);
    return rc;
}
