"""Raw-socket HTTP/1.1 conformance table against the real binary (RFC 9110,
RFC 9112): each row sends bytes (possibly in pieces, with pauses), expects a
list of response statuses in order, and whether the server then closes the
connection (closes=True) or keeps it usable (checked with one more request).
Run by test_http_conformance.sh with /usr/bin/python3."""
import concurrent.futures
import json
import os
import random
import re
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import tycho  # noqa: E402
from tycho import check  # noqa: E402

LIMITS = {
    "TYCHO_MAX_HEADER_BYTES": 4096,
    "TYCHO_MAX_URI_BYTES": 1024,
    "TYCHO_MAX_BODY_BYTES": 1024,
    "TYCHO_HEADER_TIMEOUT": 1,
    "TYCHO_BODY_TIMEOUT": 1,
    "TYCHO_KEEPALIVE_TIMEOUT": 2,
    "TYCHO_ACCESS_LOG": "off",
}
H = "Host: t\r\n"
GET = "GET / HTTP/1.1\r\n" + H
POST = "POST / HTTP/1.1\r\n" + H
ECHO = "POST /echo HTTP/1.1\r\n" + H
TE = "Transfer-Encoding: chunked\r\n"


class Row:
    def __init__(self, name, send, expect, closes, methods=None, check=None, timing=None):
        self.name = name
        self.send = send if isinstance(send, list) else [send]  # str/bytes pieces, floats = pauses
        self.expect = expect
        self.closes = closes
        self.methods = methods  # per response: "HEAD" reads without a body
        self.check = check  # fn(responses) -> None, raises Failure
        self.timing = timing  # (min, max) seconds from the last byte sent to the close


def many_headers(n):
    return GET + "".join("X-%03d: v\r\n" % i for i in range(n - 1)) + "\r\n"


def has_conn_close(rs):
    check(rs[-1].header("Connection") == "close", "last response lacks Connection: close: %r" % rs[-1].raw)


def keep_alive_10(rs):
    check(rs[0].header("Connection") == "keep-alive", "HTTP/1.0 keep-alive not echoed: %r" % rs[0].raw)


def head_like_get(rs):
    check(rs[0].body == b"" and int(rs[0].header("Content-Length")) > 0,
          "HEAD must announce the GET length and send no body: %r" % rs[0].raw)


def error_body(rs):
    r = rs[-1]
    doc = json.loads(r.body)
    check(doc.get("error") and doc.get("request_id") == r.header("X-Request-Id"),
          "error body must name the problem and the request id: %r" % r.body)
    check(r.header("Content-Type") == "application/json", "error Content-Type")


def error_is(want):
    def f(rs):
        got = json.loads(rs[-1].body).get("error")
        check(got == want, "error %r, want %r" % (got, want))
    return f


def body_is(want):
    def f(rs):
        check(rs[-1].body == want, "body %r, want %r" % (rs[-1].body, want))
    return f


def head_then_get(rs):
    check(rs[0].body == b"" and rs[0].header("Content-Length") == str(len(rs[1].body)),
          "HEAD announces the GET's length without a body: %r / %r" % (rs[0].raw, rs[1].body))


def bodiless_then_json(rs):
    check(rs[0].header("Content-Length") is None and rs[0].body == b"", "%d with a body: %r" % (rs[0].status, rs[0].raw))
    check(rs[1].body == b'{"ok":true}', "the next response is intact: %r" % rs[1].body)


def headers_are(**want):
    """The last response's headers: name (with _ for -) -> value, None = absent."""
    def f(rs):
        for k, v in want.items():
            got = rs[-1].header(k.replace("_", "-"))
            check(got == v, "%s: %r, want %r in %r" % (k, got, v, rs[-1].raw))
    return f


def no_content(**want):
    """A response without content: no body, no default Content-Type."""
    def f(rs):
        check(rs[0].body == b"", "%d with a body: %r" % (rs[0].status, rs[0].body))
        headers_are(Content_Type=None, **want)(rs[:1])
    return f


def json_is(**want):
    def f(rs):
        got = json.loads(rs[-1].body)
        check(got == want, "the route saw %r, want %r" % (got, want))
    return f


def id_echo(want):
    def f(rs):
        check(rs[0].header("X-Request-Id") == want, "X-Request-Id %r, want %r" % (rs[0].header("X-Request-Id"), want))
    return f


def id_replaced(rs):
    rid = rs[0].header("X-Request-Id") or ""
    check(re.fullmatch(r"[0-9a-f]{32}", rid), "invalid incoming X-Request-Id must be replaced: %r" % rid)


ROWS = [
    # --- framing, pipelining, keep-alive (RFC 9112 2, 9) ---
    Row("simple GET", GET + "\r\n", [404], False, check=error_body),
    Row("HEAD has no body", "HEAD / HTTP/1.1\r\n" + H + "\r\n", [404], False, methods=["HEAD"], check=head_like_get),
    Row("pipelined three in one write", (GET + "\r\n") * 3, [404] * 3, False),
    Row("pipelined GET HEAD GET", GET + "\r\nHEAD /h HTTP/1.1\r\n" + H + "\r\n" + GET + "\r\n", [404] * 3, False,
        methods=[None, "HEAD", None]),
    Row("pipelined fifty", (GET + "\r\n") * 50, [404] * 50, False),
    Row("pipelined with bodies", (POST + "Content-Length: 3\r\n\r\nabc") * 2 + POST + TE + "\r\n2\r\nhi\r\n0\r\n\r\n",
        [404] * 3, False),
    Row("pipelined bad second", GET + "\r\nGET / HTTP/1.1\r\nHost : t\r\n\r\n" + GET + "\r\n", [404, 400], True,
        check=has_conn_close),
    Row("pipelined in pieces", [GET[:7], 0.05, GET[7:] + "\r\nGE", 0.05, "T / HTTP/1.1\r\n" + H + "\r\n"], [404, 404], False),
    Row("leading empty line", "\r\n" + GET + "\r\n", [404], False),
    Row("HTTP/1.0 closes", "GET / HTTP/1.0\r\n\r\n", [404], True, check=has_conn_close),
    Row("HTTP/1.0 keep-alive", "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", [404], False, check=keep_alive_10),
    Row("Connection: close", GET + "Connection: close\r\n\r\n", [404], True, check=has_conn_close),
    Row("Connection tokens with close", GET + "Connection: foo, Close\r\n\r\n", [404], True),
    Row("Connection: keep-alive 1.1", GET + "Connection: keep-alive\r\n\r\n", [404], False),
    Row("nothing after Connection: close", GET + "Connection: close\r\n\r\n" + GET + "\r\n", [404], True),
    Row("Upgrade ignored", GET + "Connection: Upgrade\r\nUpgrade: websocket\r\n\r\n", [404], False),
    Row("bare LF line ends", "GET / HTTP/1.1\nHost: t\n\n", [400], True, check=error_body),
    Row("half-close after request", [GET + "\r\n", "SHUT_WR"], [404], True),
    Row("half-close during a slow handler", ["GET /sleep/100 HTTP/1.1\r\n" + H + "\r\n", "SHUT_WR"], [200], True,
        check=has_conn_close),
    Row("half-close after pipelined requests", ["GET /sleep/50 HTTP/1.1\r\n" + H + "\r\n" + GET + "\r\n" +
                                               "GET /json HTTP/1.1\r\n" + H + "\r\n", "SHUT_WR"],
        [200, 404, 200], True, check=has_conn_close),
    Row("half-close with a partial request left", ["GET /sleep/50 HTTP/1.1\r\n" + H + "\r\nGET /json HT", "SHUT_WR"],
        [200], True),
    # --- request-target (RFC 9112 3.2) ---
    Row("absolute-form", "GET http://example.com/a?b=1 HTTP/1.1\r\nHost: example.com\r\n\r\n", [404], False),
    Row("absolute-form https port", "GET https://e.com:8443/p HTTP/1.1\r\nHost: x\r\n\r\n", [404], False),
    Row("absolute-form without path", "GET http://e.com HTTP/1.1\r\nHost: e.com\r\n\r\n", [404], False),
    Row("absolute-form without host", "GET http:///a HTTP/1.1\r\n" + H + "\r\n", [400], True),
    Row("absolute-form other scheme", "GET ftp://e.com/a HTTP/1.1\r\n" + H + "\r\n", [400], True),
    Row("absolute-form with userinfo", "GET http://u:p@evil/ok HTTP/1.1\r\n" + H + "\r\n", [400], True,
        check=error_body),
    Row("absolute-form with a port only", "GET http://:80/ok HTTP/1.1\r\n" + H + "\r\n", [400], True),
    Row("absolute-form authority is the host", "GET http://e.com:8080/request HTTP/1.1\r\nHost: other\r\n\r\n",
        [200], False, check=lambda rs: check(json.loads(rs[0].body)["host"] == "e.com:8080",
                                             "the route saw %r" % rs[0].body)),
    # HTTP/1.0 may come without Host: the target's authority becomes it, also
    # after the hundred fields a request may carry
    Row("absolute-form HTTP/1.0 without Host", "GET http://e.com:8080/request HTTP/1.0\r\n\r\n",
        [200], True, check=lambda rs: check(json.loads(rs[0].body)["host"] == "e.com:8080",
                                            "the route saw %r" % rs[0].body)),
    Row("absolute-form HTTP/1.0 with a hundred fields",
        "GET http://e.com/request HTTP/1.0\r\n" + "".join("X-%03d: v\r\n" % i for i in range(100)) + "\r\n",
        [200], True, check=lambda rs: check(json.loads(rs[0].body)["host"] == "e.com",
                                            "the route saw %r" % rs[0].body)),
    Row("asterisk-form OPTIONS", "OPTIONS * HTTP/1.1\r\n" + H + "\r\n", [204], False,
        check=no_content(Allow="GET, HEAD, POST, OPTIONS")),
    Row("asterisk-form GET", "GET * HTTP/1.1\r\n" + H + "\r\n", [400], True,
        check=error_is("asterisk-form target is only valid for OPTIONS")),
    # the errors of these request lines are tycho.test's too (spec/test_spec.lua)
    Row("fragment in target", "GET /a#b HTTP/1.1\r\n" + H + "\r\n", [400], True,
        check=error_is("fragment in request-target")),
    Row("space in target", "GET /a b HTTP/1.1\r\n" + H + "\r\n", [400], True,
        check=error_is("Expected HTTP/")),
    Row("raw non-ASCII in target", b"GET /caf\xc3\xa9 HTTP/1.1\r\n" + H.encode() + b"\r\n", [400], True,
        check=error_is("Invalid char in url path")),
    Row("control byte in target", "GET /a\x01b HTTP/1.1\r\n" + H + "\r\n", [400], True,
        check=error_is("Invalid char in url path")),
    Row("target too long", "GET /" + "a" * 1100 + " HTTP/1.1\r\n" + H + "\r\n", [414], True, check=error_body),
    Row("target at the limit", "GET /" + "a" * 1023 + " HTTP/1.1\r\n" + H + "\r\n", [404], False),
    # --- paths are matched normalised (RFC 3986 6.2.2); req.path is as sent ---
    Row("escaped unreserved is the character", "GET /users/%6De HTTP/1.1\r\n" + H + "\r\n", [200], False,
        check=json_is(route="/users/me", path="/users/%6De")),
    Row("escaped tilde", "GET /%7eecho HTTP/1.1\r\n" + H + "\r\n", [200], False,
        check=json_is(route="/~echo", path="/%7eecho")),
    Row("escaped slash stays in its segment", "GET /users/%61%2F%62 HTTP/1.1\r\n" + H + "\r\n", [200], False,
        check=json_is(route="/users/:id", path="/users/%61%2F%62", id="a/b")),
    Row("invalid escape", "GET /users/%zz HTTP/1.1\r\n" + H + "\r\n", [400], False, check=error_body),
    Row("cut-off escape", "GET /users/% HTTP/1.1\r\n" + H + "\r\n", [400], False, check=error_body),
    # the query decodes as WHATWG's application/x-www-form-urlencoded parser does:
    # '+' is a space, a '%' without two hex digits after it stays as it is
    Row("invalid escapes in the query are kept", "GET /query?q=%zz&p=100%&h=%4&s=a+b%2B&%zz=%41 HTTP/1.1\r\n"
        + H + "\r\n", [200], False,
        check=json_is(query={"q": "%zz", "p": "100%", "h": "%4", "s": "a b+", "%zz": "A"})),
    # --- Host (RFC 9112 3.2) ---
    Row("missing Host", "GET / HTTP/1.1\r\n\r\n", [400], True, check=error_body),
    Row("missing Host HTTP/1.0", "GET / HTTP/1.0\r\n\r\n", [404], True),
    Row("duplicate Host", "GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", [400], True),
    Row("Host with a space", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", [400], True),
    Row("Host with userinfo", "GET / HTTP/1.1\r\nHost: u@a\r\n\r\n", [400], True),
    Row("Host with an unclosed bracket", "GET / HTTP/1.1\r\nHost: [::1\r\n\r\n", [400], True,
        check=error_is("invalid Host header")),
    Row("Host with a list after the port", "GET / HTTP/1.1\r\nHost: t:80,evil.com\r\n\r\n", [400], True,
        check=error_is("invalid Host header")),
    Row("absolute-form with an unclosed bracket", "GET http://[::1/ok HTTP/1.1\r\n" + H + "\r\n", [400], True,
        check=error_is("invalid host in request-target")),
    Row("empty Host", "GET / HTTP/1.1\r\nHost:\r\n\r\n", [404], False),
    Row("Host IPv6 with port", "GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n", [404], False),
    # --- header syntax (RFC 9112 5) ---
    Row("whitespace before colon", "GET / HTTP/1.1\r\nHost : t\r\n\r\n", [400], True),
    Row("obs-fold", GET + "X: a\r\n b\r\n\r\n", [400], True),
    Row("obs-fold with tab", GET + "X: a\r\n\tb\r\n\r\n", [400], True),
    Row("obs-fold after empty value", GET + "X:\r\n b\r\n\r\n", [400], True),
    Row("NUL in value", GET + "X: a\0b\r\n\r\n", [400], True),
    Row("CR in value", GET + "X: a\rb\r\n\r\n", [400], True),
    Row("LF in value", GET + "X: a\nb: c\r\n\r\n", [400], True),
    Row("NUL in name", GET + "X\0: a\r\n\r\n", [400], True),
    Row("empty field name", GET + ": a\r\n\r\n", [400], True),
    Row("no colon", GET + "X\r\n\r\n", [400], True),
    Row("header section too large", GET + "X: " + "v" * 4100 + "\r\n\r\n", [431], True, check=error_body),
    Row("header section of spaces", GET + "X:" + " " * 5000 + "v\r\n\r\n", [431], True),
    Row("too many fields", many_headers(101), [431], True),
    Row("hundred fields", many_headers(100), [404], False),
    # --- methods and versions ---
    Row("lower-case method", "get / HTTP/1.1\r\n" + H + "\r\n", [501], True,
        check=error_is("method not implemented")),
    Row("unknown method", "FROB / HTTP/1.1\r\n" + H + "\r\n", [501], True),
    Row("control byte in a method", "GE\x01T / HTTP/1.1\r\n" + H + "\r\n", [400], True),
    Row("CONNECT", "CONNECT t:443 HTTP/1.1\r\nHost: t:443\r\n\r\n", [501], True),
    Row("HTTP/2.0 request line", "GET / HTTP/2.0\r\n" + H + "\r\n", [505], True),
    # a higher minor version is answered as HTTP/1.1 (RFC 9110 2.5; the
    # reader checks the status line says HTTP/1.1), keep-alive included
    Row("HTTP/1.2 served as 1.1", ("GET / HTTP/1.2\r\n" + H + "\r\n") * 2, [404, 404], False, check=error_body),
    Row("HTTP/1.9 without Host", "GET / HTTP/1.9\r\n\r\n", [400], True, check=error_is("missing Host header")),
    Row("HTTP/3.0 request line", "GET / HTTP/3.0\r\n" + H + "\r\n", [505], True,
        check=error_is("HTTP version not supported")),
    Row("h2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", [400], True,
        check=error_is("HTTP/2 connection preface: tycho speaks HTTP/1.1 only")),
    Row("lower-case version", "GET / http/1.1\r\n" + H + "\r\n", [400], True),
    # --- Content-Length (RFC 9112 6.3) ---
    Row("bare LF ending the header section, pipelined", GET + "\nGET /json HTTP/1.1\r\n" + H + "\r\n", [400], True,
        check=error_is("bare LF as a line end (CRLF expected)")),
    Row("bare LF after the request line", "GET / HTTP/1.1\n" + H + "\r\n", [400], True),
    Row("CL body", POST + "Content-Length: 5\r\n\r\nhello", [404], False),
    Row("CL body in pieces", [POST + "Content-Length: 5\r\n\r\nhe", 0.05, "llo"], [404], False),
    Row("CL and TE", POST + "Content-Length: 4\r\n" + TE + "\r\n0\r\n\r\n", [400], True),
    Row("TE and CL", POST + TE + "Content-Length: 4\r\n\r\n0\r\n\r\n", [400], True),
    Row("duplicate CL", POST + "Content-Length: 3\r\nContent-Length: 3\r\n\r\nabc", [400], True),
    Row("conflicting CL", POST + "Content-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", [400], True),
    Row("CL list", POST + "Content-Length: 3, 3\r\n\r\nabc", [400], True),
    Row("CL not a number", POST + "Content-Length: 3a\r\n\r\nabc", [400], True),
    Row("CL negative", POST + "Content-Length: -1\r\n\r\n", [400], True),
    Row("body too large", POST + "Content-Length: 1025\r\n\r\n", [413], True, check=error_body),
    Row("body at the limit", POST + "Content-Length: 1024\r\n\r\n" + "b" * 1024, [404], False),
    # --- chunked (RFC 9112 7) ---
    Row("chunked", POST + TE + "\r\n5\r\nhello\r\n0\r\n\r\n", [404], False),
    Row("chunk extensions", POST + TE + "\r\n5;c=\"d e\";a=b\r\nhello\r\n3;x\r\nabc\r\n0;e\r\n\r\n", [404], False),
    # llhttp 8.1 rejects an extension that follows a token-valued one (a known
    # limitation of that version; rejecting is safe, the client gets 400)
    Row("chunk extension after a token value", POST + TE + "\r\n5;a=b;c=d\r\nhello\r\n0\r\n\r\n", [400], True),
    Row("chunk extensions too large", POST + TE + "\r\n1;a=" + "x" * 5000 + "\r\n", [413], True,
        check=has_conn_close),
    Row("chunk extensions too large over chunks", POST + TE + "\r\n" + ("1;a=" + "x" * 1000 + "\r\nz\r\n") * 5,
        [413], True, check=has_conn_close),
    Row("chunked trailers", POST + TE + "\r\n5\r\nhello\r\n0\r\nX-Trailer: 1\r\nY: 2\r\n\r\n", [404], False),
    # the trailer budget (TYCHO_MAX_HEADER_BYTES) counts the bytes read, not
    # only the names and values: empty fields and whitespace count too
    Row("trailer of many short fields", POST + TE + "\r\n0\r\n" + "a:\r\n" * 2000, [431], True,
        check=error_is("trailer section too large")),
    Row("trailer of many short fields in pieces", [POST + TE + "\r\n0\r\n", 0.05] + ["a:\r\n" * 300, 0.02] * 5, [431],
        True, check=error_is("trailer section too large")),
    Row("trailer of whitespace", POST + TE + "\r\n0\r\nX:" + " " * 5000 + "v\r\n\r\n", [431], True,
        check=error_is("trailer section too large")),
    # llhttp takes a bare LF as the empty line that ends a section: a proxy
    # that does not would frame what follows differently (RFC 9112 2.2)
    Row("bare LF ending the trailer section, pipelined", POST + TE + "\r\n0\r\n\nGET /json HTTP/1.1\r\n" + H + "\r\n",
        [400], True, check=error_is("bare LF as a line end (CRLF expected)")),
    Row("bare LF after a trailer field", POST + TE + "\r\n0\r\nX: y\r\n\n", [400], True),
    # a trailer field line follows the header section's rules (RFC 9112 5.2,
    # 7.1.2), however the reads cut it
    Row("obs-fold in a trailer field", POST + TE + "\r\n5\r\nhello\r\n0\r\nX: a\r\n b\r\n\r\n", [400], True,
        check=error_is("obsolete line folding in a trailer field")),
    Row("obs-fold with tab in a trailer field, in pieces",
        [POST + TE + "\r\n5\r\nhello\r\n0\r\nX: a\r\n", 0.05, "\tb\r\n\r\n"], [400], True,
        check=error_is("obsolete line folding in a trailer field")),
    Row("obs-fold after an empty trailer value, in pieces", [POST + TE + "\r\n0\r\nX:\r\n", 0.05, " b\r\n\r\n"],
        [400], True, check=error_is("obsolete line folding in a trailer field")),
    Row("empty trailer field name", POST + TE + "\r\n5\r\nhello\r\n0\r\nA: 1\r\n: x\r\n\r\n", [400], True,
        check=error_is("empty trailer field name")),
    Row("trailer fields, one with an empty value", POST + TE + "\r\n5\r\nhello\r\n0\r\nX:\r\nY: 2\r\n\r\n", [404],
        False),
    Row("trailer within the budget", POST + TE + "\r\n0\r\n" + "a:\r\n" * 1000 + "\r\n", [404], False),
    Row("chunked in pieces", [POST + TE + "\r\n5\r", 0.05, "\nhel", 0.05, "lo\r\n0\r\n", 0.05, "\r\n"], [404], False),
    Row("chunk size not hex", POST + TE + "\r\nzz\r\nhello\r\n0\r\n\r\n", [400], True),
    Row("chunk size overflow", POST + TE + "\r\nfffffffffffffffff1\r\n", [400], True),
    Row("chunk size negative", POST + TE + "\r\n-5\r\nhello\r\n0\r\n\r\n", [400], True),
    Row("chunk size with space", POST + TE + "\r\n5 \r\nhello\r\n0\r\n\r\n", [400], True),
    Row("chunk data too long", POST + TE + "\r\n3\r\nhello\r\n0\r\n\r\n", [400], True),
    Row("chunked body too large", POST + TE + "\r\n401\r\n", [413], True),
    Row("TE in HTTP/1.0", "POST / HTTP/1.0\r\n" + TE + "\r\n0\r\n\r\n", [400], True),
    Row("chunked not final", POST + "Transfer-Encoding: chunked, gzip\r\n\r\n", [400], True),
    Row("unknown coding", POST + "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", [501], True),
    Row("identity coding", POST + "Transfer-Encoding: identity\r\n\r\n", [400], True),
    Row("empty Transfer-Encoding", POST + "Transfer-Encoding:\r\n\r\n", [400], True),
    Row("chunked twice", POST + TE + TE + "\r\n0\r\n\r\n", [400], True),
    # --- Expect (RFC 9110 10.1.1) ---
    Row("100-continue", [ECHO + "Expect: 100-continue\r\nContent-Length: 5\r\n\r\n", "WAIT100", "hello"], [100, 200],
        False, check=body_is(b"hello")),
    Row("100-continue chunked", [ECHO + "Expect: 100-continue\r\n" + TE + "\r\n", "WAIT100", "5\r\nhello\r\n0\r\n\r\n"],
        [100, 200], False, check=body_is(b"hello")),
    Row("100-continue body sent at once", ECHO + "Expect: 100-continue\r\nContent-Length: 5\r\n\r\nhello", [100, 200],
        False, check=body_is(b"hello")),
    # a final status known from the head goes at once, without 100 and
    # without reading the body; the connection closes (the body is never
    # framed, so nothing in it can pass for a request)
    Row("100-continue to no route", POST + "Expect: 100-continue\r\nContent-Length: 5\r\n\r\n", [404], True,
        check=has_conn_close),
    Row("100-continue to no route, body sent anyway",
        POST + "Expect: 100-continue\r\nContent-Length: 44\r\n\r\nGET /json HTTP/1.1\r\nHost: t\r\n\r\n" + "x" * 13,
        [404], True, check=has_conn_close),
    Row("100-continue to a wrong method", "POST /json HTTP/1.1\r\n" + H + "Expect: 100-continue\r\n" + TE + "\r\n",
        [405], True, check=lambda rs: check(rs[0].header("Allow") and rs[0].header("Connection") == "close",
                                            "405 without Allow or Connection: close: %r" % rs[0].raw)),
    Row("100-continue too large", POST + "Expect: 100-continue\r\nContent-Length: 5000\r\n\r\n", [413], True),
    Row("100-continue without body", GET + "Expect: 100-continue\r\n\r\n", [404], False),
    Row("100-continue in HTTP/1.0", "POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\nx", [404], True),
    Row("unknown expectation", POST + "Expect: 200-ok\r\nContent-Length: 1\r\n\r\nx", [417], True),
    Row("unknown expectation in a second field", ECHO + "Expect: 100-continue\r\nExpect: 200-ok\r\nContent-Length: 1\r\n\r\nx",
        [417], True),
    # --- responses from Lua handlers: bodies, HEAD, 204, 304, order ---
    Row("JSON body", "GET /json HTTP/1.1\r\n" + H + "\r\n", [200], False, check=body_is(b'{"ok":true}')),
    Row("HEAD of a route", "HEAD /json HTTP/1.1\r\n" + H + "\r\n" + "GET /json HTTP/1.1\r\n" + H + "\r\n",
        [200, 200], False, methods=["HEAD", None], check=head_then_get),
    Row("204 has no body", "GET /status/204 HTTP/1.1\r\n" + H + "\r\n" + "GET /json HTTP/1.1\r\n" + H + "\r\n",
        [204, 200], False, check=bodiless_then_json),
    Row("304 has no body", "GET /status/304 HTTP/1.1\r\n" + H + "\r\n" + "GET /json HTTP/1.1\r\n" + H + "\r\n",
        [304, 200], False, check=bodiless_then_json),
    Row("HEAD of a 204", "HEAD /status/204 HTTP/1.1\r\n" + H + "\r\n", [204], False, methods=["HEAD"]),
    Row("return nil is return", "GET /return-nil HTTP/1.1\r\n" + H + "\r\n", [204], False,
        check=no_content(Content_Length=None)),
    Row("return nil with headers", "GET /return-nil-headers HTTP/1.1\r\n" + H + "\r\n", [204], False,
        check=no_content(X_A="1")),
    Row("return nil, err fails", "GET /return-nil-err HTTP/1.1\r\n" + H + "\r\n", [500], False, check=error_body),
    Row("304 gets no default Content-Type", "GET /no-content/304 HTTP/1.1\r\n" + H + "\r\n", [304], False,
        check=no_content(ETag='"x"', Content_Length=None)),
    Row("204 gets no default Content-Type", "GET /no-content/204?json HTTP/1.1\r\n" + H + "\r\n", [204], False,
        check=no_content(Content_Length=None)),
    Row("205 has no content", "GET /no-content/205 HTTP/1.1\r\n" + H + "\r\n", [205], False,
        check=no_content(Content_Length="0")),
    Row("HEAD route without a length", "HEAD /head HTTP/1.1\r\n" + H + "\r\n", [200], False, methods=["HEAD"],
        check=headers_are(Content_Length=None, X_H="1", Content_Type=None)),
    Row("HEAD route states its length", "HEAD /head-stated HTTP/1.1\r\n" + H + "\r\n", [200], False,
        methods=["HEAD"], check=headers_are(Content_Length="8")),
    Row("HEAD route with a bad length", "HEAD /head-bad-length HTTP/1.1\r\n" + H + "\r\n", [500], False,
        methods=["HEAD"]),
    Row("HEAD route length not the body's", "HEAD /head-wrong-length HTTP/1.1\r\n" + H + "\r\n", [500], False,
        methods=["HEAD"]),
    Row("GET route cannot state a length", "GET /get-length HTTP/1.1\r\n" + H + "\r\n", [500], False),
    Row("any final status", "GET /status/418 HTTP/1.1\r\n" + H + "\r\n", [418], False, check=body_is(b"body of 418")),
    Row("handler 1xx is not final", "GET /status/101 HTTP/1.1\r\n" + H + "\r\n", [500], False),
    Row("handler 100 is not final", "GET /status/100 HTTP/1.1\r\n" + H + "\r\n", [500], False),
    Row("pipelined behind a slow handler", "GET /sleep/150 HTTP/1.1\r\n" + H + "\r\n" + "GET /json HTTP/1.1\r\n" + H +
        "\r\n", [200, 200], False, check=lambda rs: check(b"slept_ms" in rs[0].body and rs[1].body == b'{"ok":true}',
                                                       "responses out of order: %r" % rs)),
    Row("echo CL body", "POST /echo HTTP/1.1\r\n" + H + "Content-Length: 5\r\n\r\nhello", [200], False,
        check=body_is(b"hello")),
    Row("echo chunked body", "POST /echo HTTP/1.1\r\n" + H + TE + "\r\n3\r\nhel\r\n2;x=1\r\nlo\r\n0\r\nT: v\r\n\r\n",
        [200], False, check=body_is(b"hello")),
    Row("echo binary body", b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n\r\n\0\r\n\xff", [200], False,
        check=body_is(b"\0\r\n\xff")),
    Row("echo after 100-continue", ["POST /echo HTTP/1.1\r\n" + H + "Expect: 100-continue\r\nContent-Length: 2\r\n\r\n",
                                    "WAIT100", "ok"], [100, 200], False, check=body_is(b"ok")),
    Row("wrong method on a route", "DELETE /json HTTP/1.1\r\n" + H + "\r\n", [405], False),
    # --- request id ---
    Row("request id echoed", GET + "X-Request-Id: abc-123_XYZ.9\r\n\r\n", [404], False, check=id_echo("abc-123_XYZ.9")),
    Row("request id with space replaced", GET + "X-Request-Id: a b\r\n\r\n", [404], False, check=id_replaced),
    Row("request id oversized replaced", GET + "X-Request-Id: " + "r" * 129 + "\r\n\r\n", [404], False, check=id_replaced),
    Row("request id 128 kept", GET + "X-Request-Id: " + "r" * 128 + "\r\n\r\n", [404], False, check=id_echo("r" * 128)),
    Row("request id with quote replaced", GET + "X-Request-Id: a\"b\r\n\r\n", [404], False, check=id_replaced),
    # --- timeouts (header 1 s, body 1 s, keep-alive 2 s) ---
    Row("header timeout", "GET / HTTP/1.1\r\nHo", [408], True, timing=(0.8, 3.0)),
    Row("slow header trickle", ["GET / HT", 0.4, "TP/1.1\r\n", 0.4, "Host: t\r\n"], [408], True,
        timing=(0.0, 1.5)),
    # a new connection's header timeout runs from the accept: a late first
    # byte does not start a second one (it closed 1 s after that byte)
    Row("header timeout from the accept", [0.7, "GET / HT"], [408], True, timing=(0.0, 0.7)),
    Row("body timeout", POST + "Content-Length: 10\r\n\r\nabc", [408], True, timing=(0.8, 3.0)),
    Row("chunked body timeout", POST + TE + "\r\n5\r\nhe", [408], True, timing=(0.8, 3.0)),
    Row("body timeout after 100-continue", [ECHO + "Expect: 100-continue\r\nContent-Length: 10\r\n\r\n", "WAIT100"],
        [100, 408], True, timing=(0.8, 3.0)),
    Row("idle keep-alive closed", GET + "\r\n", [404], "idle", timing=(1.8, 4.0)),
    Row("silent connection closed", "", [], True, timing=(0.8, 3.0)),
]


def run_row(addr, row):
    c = tycho.Conn(addr)
    rs = []
    try:
        exp = list(row.expect)
        for piece in row.send:
            if isinstance(piece, float):
                time.sleep(piece)
            elif piece == "SHUT_WR":
                c.sock.shutdown(1)
            elif piece == "WAIT100":
                r = c.read_response()
                check(r is not None and r.status == 100, "expected 100 Continue before the body, got %r" % r)
                rs.append(r)
                exp.pop(0)
            elif piece:
                c.send(piece)
        sent_at = time.time()
        for i in range(len(exp)):
            k = len(rs)
            head = row.methods is not None and row.methods[k] == "HEAD"
            r = c.read_response(head=head)
            check(r is not None, "connection closed after %d responses, expected %s" % (k, row.expect))
            rs.append(r)
        got = [r.status for r in rs]
        check(got == row.expect, "statuses %s, expected %s" % (got, row.expect))
        for r in rs:
            if r.status >= 200:
                check(r.header("Date") and r.header("Server") == "tycho" and r.header("X-Request-Id"),
                      "Date, Server and X-Request-Id on every response: %r" % r.raw)
        if row.check:
            row.check(rs)
        if row.closes:
            check(c.wait_closed(4.0), "the server kept the connection open (buffered: %r)" % c.buf[:100])
            if row.timing:
                dt = time.time() - sent_at
                check(row.timing[0] <= dt <= row.timing[1] * tycho.SLOW,
                      "closed after %.2fs, expected %.1f..%.1fs" % (dt, row.timing[0], row.timing[1]))
        else:
            c.send(GET + "\r\n")
            r = c.read_response()
            check(r is not None and r.status == 404, "connection not usable afterwards: %r" % r)
            check(not c.buf, "unexpected bytes after the last response: %r" % c.buf[:100])
    finally:
        c.close()


def pipeline_rows():
    """Rows whose bytes can be concatenated into one pipelined stream: one
    piece, no pauses, no timeouts."""
    out = []
    for row in ROWS:
        if len(row.send) != 1 or not isinstance(row.send[0], (str, bytes)) or row.timing:
            continue
        if not row.send[0] or row.closes == "idle" or "half-close" in row.name or "slow" in row.name:
            continue
        if len(row.send[0]) > 1200:  # keep the streams short
            continue
        out.append(row)
    return out


def run_random_pipelines(addr, rng, rounds):
    """Random sequences of rows sent as one stream cut at random points with
    small pauses: the statuses must be the rows' statuses in order, up to and
    including the first row that closes the connection."""
    rows = pipeline_rows()
    keep = [r for r in rows if not r.closes]
    closing = [r for r in rows if r.closes]
    for i in range(rounds):
        seq = [rng.choice(keep) for _ in range(rng.randint(1, 6))]
        if rng.random() < 0.5:
            seq.append(rng.choice(closing))
        data = b"".join(r.send[0].encode("latin-1") if isinstance(r.send[0], str) else r.send[0] for r in seq)
        want, methods = [], []
        for r in seq:
            want += r.expect
            methods += r.methods or [None] * len(r.expect)
        cuts = sorted(rng.sample(range(1, len(data)), min(len(data) - 1, rng.randint(0, 8))))
        c = tycho.Conn(addr)
        try:
            at = 0
            for cut in cuts + [len(data)]:
                c.send(data[at:cut])
                at = cut
                if rng.random() < 0.3:
                    time.sleep(0.002)
            got = []
            for k in range(len(want)):
                r = c.read_response(head=methods[k] == "HEAD")
                check(r is not None, "round %d: closed after %d of %d responses" % (i, k, len(want)))
                got.append(r.status)
            check(got == want, "round %d (%s): statuses %s, expected %s" % (i, [r.name for r in seq], got, want))
            if seq[-1].closes:
                check(c.wait_closed(4.0), "round %d: not closed after %s" % (i, seq[-1].name))
            else:
                c.send(GET + "\r\n")
                r = c.read_response()
                check(r is not None and r.status == 404, "round %d: connection not usable afterwards" % i)
        finally:
            c.close()


def main():
    with tycho.Server(env=LIMITS, workers=2) as srv:
        failures = []
        with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
            futs = {pool.submit(run_row, srv.public, row): row for row in ROWS}
            for f in concurrent.futures.as_completed(futs):
                row = futs[f]
                try:
                    f.result()
                except (tycho.Failure, OSError, ValueError) as e:
                    failures.append("%s: %s" % (row.name, e))
        seed = int(os.environ.get("CONFORMANCE_SEED", int(time.time())))
        print("random pipelines: seed %d (CONFORMANCE_SEED reproduces)" % seed)
        with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
            futs = [pool.submit(run_random_pipelines, srv.public, random.Random(seed + k), 50) for k in range(4)]
            for f in futs:
                try:
                    f.result()
                except (tycho.Failure, OSError, ValueError) as e:
                    failures.append("random pipelines: %s" % e)
        for f in failures:
            print("FAIL row %s" % f)
        check(srv.proc.poll() is None, "tycho died during the table")
        rc = srv.stop()
        check(rc == 0, "exit code %s after SIGTERM" % rc)
        print("%d rows, %d failed" % (len(ROWS), len(failures)))
        check(not failures, "%d of %d rows failed" % (len(failures), len(ROWS)))


if __name__ == "__main__":
    tycho.run_main(main)
