/* Unit tests of the HTTP/1.1 request parser glue (server/http/parser.c):
 * RFC 9112 framing, target forms, Host and Transfer-Encoding rules, the
 * smuggling vectors, limits, pipelining and Expect: 100-continue. Every case
 * is also replayed split at every byte boundary and one byte at a time,
 * through the same buffer handling as http/conn.c (tests/lib/http_feed.h):
 * the log must not depend on how the bytes arrived. */
#include "tests/lib/http_feed.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

static const tycho_http_limits_t LIMITS = {1024, 128, 64};

typedef struct pcase {
    const char *name;
    const char *in;
    size_t n;
    const char *log; /* expected http_feed log */
} pcase_t;

#define C(name, in, log)                                                                           \
    {                                                                                              \
        name, in, sizeof(in) - 1, log                                                              \
    }
#define HOST "Host: a\r\n"
#define GET "GET / HTTP/1.1\r\n" HOST
#define POST "POST / HTTP/1.1\r\n" HOST
#define REQ_GET "REQ GET / path=/ query= 1.1 ka=1\nH Host: a\n"
#define REQ_POST "REQ POST / path=/ query= 1.1 ka=1\nH Host: a\n"
#define CHUNKED "Transfer-Encoding: chunked\r\n"

static const pcase_t cases[] = {
    /* --- framing and pipelining (RFC 9112 2, 9.3) --- */
    C("simple", GET "\r\n", REQ_GET),
    C("pipelined three",
      "GET /a?b=1 HTTP/1.1\r\n" HOST "\r\nGET /c HTTP/1.1\r\n" HOST "\r\nPOST /d HTTP/1.1\r\n" HOST
      "Content-Length: 2\r\n\r\nhi",
      "REQ GET /a?b=1 path=/a query=b=1 1.1 ka=1\nH Host: a\n"
      "REQ GET /c path=/c query= 1.1 ka=1\nH Host: a\n"
      "REQ POST /d path=/d query= 1.1 ka=1\nH Host: a\nH Content-Length: 2\nB \"hi\"\n"),
    C("pipelined after a partial one", GET "\r\nGET /x HTTP/1.1\r\nHo", REQ_GET),
    C("empty line before request", "\r\n" GET "\r\n", REQ_GET),
    C("CL body then pipelined", GET "Content-Length:  2 \r\n\r\nab" GET "\r\n",
      REQ_GET "H Content-Length: 2\nB \"ab\"\n" REQ_GET),
    C("CL zero then pipelined", POST "Content-Length: 0\r\n\r\n" GET "\r\n",
      REQ_POST "H Content-Length: 0\n" REQ_GET),
    C("bare LF line ends", "GET / HTTP/1.1\nHost: a\n\n", "ERR 400\n"),
    /* llhttp takes a bare LF at these three places, tycho does not */
    C("bare LF after the request line", "GET / HTTP/1.1\n" HOST "\r\n", "ERR 400\n"),
    C("bare LF ending the header section", GET "\n" GET "\r\n", "ERR 400\n"),
    C("bare LF ending a request line without fields", "GET / HTTP/1.0\n\r\n", "ERR 400\n"),
    C("bare LF after an empty last value", GET "X:\r\n\n", "ERR 400\n"),
    C("HTTP/0.9 request line waits", "GET /\r\n", ""),
    C("double space in request line", "GET  / HTTP/1.1\r\n" HOST "\r\n", REQ_GET),
    C("trailing space after version", "GET / HTTP/1.1 \r\n" HOST "\r\n", "ERR 400\n"),
    C("space before first header", "GET / HTTP/1.1\r\n Host: a\r\n\r\n", "ERR 400\n"),

    /* --- versions and Connection (RFC 9112 2.3, 9.3) --- */
    C("HTTP/1.0 closes", "GET / HTTP/1.0\r\n\r\nGET /2 HTTP/1.0\r\n\r\n",
      "REQ GET / path=/ query= 1.0 ka=0\nCLOSE\n"),
    C("HTTP/1.0 keep-alive",
      "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /2 HTTP/1.0\r\n\r\n",
      "REQ GET / path=/ query= 1.0 ka=1\nH Connection: keep-alive\n"
      "REQ GET /2 path=/2 query= 1.0 ka=0\nCLOSE\n"),
    C("Connection close stops reading", GET "Connection: close\r\n\r\n" GET "\r\n",
      "REQ GET / path=/ query= 1.1 ka=0\nH Host: a\nH Connection: close\nCLOSE\n"),
    C("Connection tokens", GET "Connection: Keep-Alive, Close, x\r\n\r\n",
      "REQ GET / path=/ query= 1.1 ka=0\nH Host: a\nH Connection: Keep-Alive, Close, x\nCLOSE\n"),
    C("Upgrade is ignored", GET "Connection: Upgrade\r\nUpgrade: websocket\r\n\r\n" GET "\r\n",
      REQ_GET "H Connection: Upgrade\nH Upgrade: websocket\n" REQ_GET),
    C("HTTP/2.0", "GET / HTTP/2.0\r\n" HOST "\r\n", "ERR 505\n"),
    /* a higher minor version is served as HTTP/1.1 (RFC 9110 2.5): Host
     * required, keep-alive by default, Connection: close honoured */
    C("HTTP/1.2", "GET / HTTP/1.2\r\n" HOST "\r\n", "REQ GET / path=/ query= 1.1 ka=1\nH Host: a\n"),
    C("HTTP/1.9 without Host", "GET / HTTP/1.9\r\n\r\n", "ERR 400\n"),
    C("HTTP/1.2 Connection: close", "GET / HTTP/1.2\r\n" HOST "Connection: close\r\n\r\n" GET "\r\n",
      "REQ GET / path=/ query= 1.1 ka=0\nH Host: a\nH Connection: close\nCLOSE\n"),
    C("HTTP/1.2 chunked body", "POST / HTTP/1.2\r\n" HOST "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
      REQ_POST "H Transfer-Encoding: chunked\nB \"abc\"\n"),
    /* a well-formed version of another major one: 505, like 2.0 (it was 400) */
    C("HTTP/0.9 spelled out", "GET / HTTP/0.9\r\n" HOST "\r\n", "ERR 505\n"),
    C("HTTP/3.0", "GET / HTTP/3.0\r\n" HOST "\r\n", "ERR 505\n"),
    C("HTTP/9.1", "GET / HTTP/9.1\r\n" HOST "\r\n", "ERR 505\n"),
    C("HTTP/x.1", "GET / HTTP/x.1\r\n" HOST "\r\n", "ERR 400\n"),
    C("HTTP/3.x", "GET / HTTP/3.x\r\n" HOST "\r\n", "ERR 400\n"),
    C("lower-case version", "GET / http/1.1\r\n" HOST "\r\n", "ERR 400\n"),
    C("h2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "ERR 400\n"),

    /* --- methods --- */
    /* a well-formed method tycho does not know: 501 (RFC 9110 9.1) */
    C("lower-case method", "get / HTTP/1.1\r\n" HOST "\r\n", "ERR 501\n"),
    C("unknown method", "FOO / HTTP/1.1\r\n" HOST "\r\n", "ERR 501\n"),
    C("known method's prefix", "GETX / HTTP/1.1\r\n" HOST "\r\n", "ERR 501\n"),
    C("token punctuation in a method", "X-B!# / HTTP/1.1\r\n" HOST "\r\n", "ERR 501\n"),
    C("unknown method after a request", GET "\r\nFROB / HTTP/1.1\r\n" HOST "\r\n",
      REQ_GET "ERR 501\n"),
    /* not a token: 400 */
    C("control byte in a method", "G\x01T / HTTP/1.1\r\n" HOST "\r\n", "ERR 400\n"),
    C("method then CR", "FOO\r\n" HOST "\r\n", "ERR 400\n"),
    C("space before the method", " GET / HTTP/1.1\r\n" HOST "\r\n", "ERR 400\n"),
    C("tab after a method", "FOO\t/ HTTP/1.1\r\n" HOST "\r\n", "ERR 400\n"),
    C("HEAD", "HEAD / HTTP/1.1\r\n" HOST "\r\n", "REQ HEAD / path=/ query= 1.1 ka=1\nH Host: a\n"),
    C("CONNECT", "CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n", "ERR 501\n"),

    /* --- request-target forms (RFC 9112 3.2) --- */
    /* the target's authority replaces Host (RFC 9112 3.2.2) */
    C("absolute-form", "GET http://x.com/a?b HTTP/1.1\r\nHost: y\r\n\r\n",
      "REQ GET http://x.com/a?b path=/a query=b 1.1 ka=1\nH Host: x.com\n"),
    C("absolute-form without path", "GET http://x.com HTTP/1.1\r\nHost: x.com\r\n\r\n",
      "REQ GET http://x.com path=/ query= 1.1 ka=1\nH Host: x.com\n"),
    C("absolute-form https query only", "GET https://x.com:8443?q HTTP/1.1\r\nHost: x\r\n\r\n",
      "REQ GET https://x.com:8443?q path=/ query=q 1.1 ka=1\nH Host: x.com:8443\n"),
    C("absolute-form HTTP/1.0 without Host", "GET http://x.com/ HTTP/1.0\r\n\r\n",
      "REQ GET http://x.com/ path=/ query= 1.0 ka=0\nH Host: x.com\nCLOSE\n"),
    /* RFC 9110 4.2.4: userinfo in an http(s) URI is an error */
    C("absolute-form with userinfo", "GET http://u:p@evil/ok HTTP/1.1\r\n" HOST "\r\n",
      "ERR 400\n"),
    C("absolute-form with empty userinfo", "GET https://@x.com/ HTTP/1.1\r\n" HOST "\r\n",
      "ERR 400\n"),
    C("absolute-form with a port only", "GET http://:80/ HTTP/1.1\r\n" HOST "\r\n", "ERR 400\n"),
    C("absolute-form with a bad host", "GET http://a!b{/ HTTP/1.1\r\n" HOST "\r\n", "ERR 400\n"),
    C("absolute-form without host", "GET http:///a HTTP/1.1\r\n" HOST "\r\n", "ERR 400\n"),
    C("absolute-form with an unclosed bracket", "GET http://[::1/a HTTP/1.1\r\n" HOST "\r\n",
      "ERR 400\n"),
    C("absolute-form with a port not a number", "GET http://x.com:8o/a HTTP/1.1\r\n" HOST "\r\n",
      "ERR 400\n"),
    C("absolute-form with a v6 literal", "GET http://[::1]:8080/a HTTP/1.1\r\n" HOST "\r\n",
      "REQ GET http://[::1]:8080/a path=/a query= 1.1 ka=1\nH Host: [::1]:8080\n"),
    C("other scheme", "GET ftp://x/a HTTP/1.1\r\n" HOST "\r\n", "ERR 400\n"),
    C("asterisk-form OPTIONS", "OPTIONS * HTTP/1.1\r\n" HOST "\r\n",
      "REQ OPTIONS * path=* query= 1.1 ka=1\nH Host: a\n"),
    C("asterisk-form GET", "GET * HTTP/1.1\r\n" HOST "\r\n", "ERR 400\n"),
    C("query-only target", "GET ?x HTTP/1.1\r\n" HOST "\r\n", "ERR 400\n"),
    C("fragment", "GET /#f HTTP/1.1\r\n" HOST "\r\n", "ERR 400\n"),
    C("space in target", "GET /a b HTTP/1.1\r\n" HOST "\r\n", "ERR 400\n"),
    C("tab in target", "GET /a\tb HTTP/1.1\r\n" HOST "\r\n", "ERR 400\n"),
    C("NUL in target", "GET /\0 HTTP/1.1\r\n" HOST "\r\n", "ERR 400\n"),
    C("double slashes kept", "GET //a//b HTTP/1.1\r\n" HOST "\r\n",
      "REQ GET //a//b path=//a//b query= 1.1 ka=1\nH Host: a\n"),
    C("percent-encoding kept", "GET /a%20b?c=%41 HTTP/1.1\r\n" HOST "\r\n",
      "REQ GET /a%20b?c=%41 path=/a%20b query=c=%41 1.1 ka=1\nH Host: a\n"),

    /* --- Host (RFC 9112 3.2) --- */
    C("missing Host", "GET / HTTP/1.1\r\n\r\n", "ERR 400\n"),
    C("missing Host HTTP/1.0 is fine", "GET / HTTP/1.0\r\n\r\n",
      "REQ GET / path=/ query= 1.0 ka=0\nCLOSE\n"),
    C("duplicate Host", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", "ERR 400\n"),
    C("duplicate Host same value", "GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n", "ERR 400\n"),
    C("empty Host", "GET / HTTP/1.1\r\nHost:\r\n\r\n",
      "REQ GET / path=/ query= 1.1 ka=1\nH Host: \n"),
    C("Host with port and v6", "GET / HTTP/1.1\r\nHost: [::1]:80\r\n\r\n",
      "REQ GET / path=/ query= 1.1 ka=1\nH Host: [::1]:80\n"),
    C("Host with space", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", "ERR 400\n"),
    C("Host with slash", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", "ERR 400\n"),
    C("Host with at", "GET / HTTP/1.1\r\nHost: u@a\r\n\r\n", "ERR 400\n"),
    /* RFC 9110 7.2: uri-host [ ":" port ] */
    C("Host with an unclosed bracket", "GET / HTTP/1.1\r\nHost: [::1\r\n\r\n", "ERR 400\n"),
    C("Host with an empty literal", "GET / HTTP/1.1\r\nHost: []\r\n\r\n", "ERR 400\n"),
    C("Host with a name in brackets", "GET / HTTP/1.1\r\nHost: [a.com]\r\n\r\n", "ERR 400\n"),
    C("Host with text after a literal", "GET / HTTP/1.1\r\nHost: [::1]x\r\n\r\n", "ERR 400\n"),
    C("Host with two colons", "GET / HTTP/1.1\r\nHost: a:b:c\r\n\r\n", "ERR 400\n"),
    C("Host with a port not a number", "GET / HTTP/1.1\r\nHost: a:8o\r\n\r\n", "ERR 400\n"),
    C("Host with a list after the port", "GET / HTTP/1.1\r\nHost: a:80,b\r\n\r\n", "ERR 400\n"),
    C("Host with a bad escape", "GET / HTTP/1.1\r\nHost: a%2\r\n\r\n", "ERR 400\n"),
    C("Host with an escape and sub-delims",
      "GET / HTTP/1.1\r\nHost: a%2Db!$&'()*+,;=~:8080\r\n\r\n",
      "REQ GET / path=/ query= 1.1 ka=1\nH Host: a%2Db!$&'()*+,;=~:8080\n"),
    C("Host v4 with port", "GET / HTTP/1.1\r\nHost: 10.0.0.1:8080\r\n\r\n",
      "REQ GET / path=/ query= 1.1 ka=1\nH Host: 10.0.0.1:8080\n"),
    C("Host with a v4-mapped literal and an empty port",
      "GET / HTTP/1.1\r\nHost: [::ffff:10.0.0.1]:\r\n\r\n",
      "REQ GET / path=/ query= 1.1 ka=1\nH Host: [::ffff:10.0.0.1]:\n"),
    C("Host with an IPvFuture literal", "GET / HTTP/1.1\r\nHost: [v1.a-b:c]\r\n\r\n",
      "REQ GET / path=/ query= 1.1 ka=1\nH Host: [v1.a-b:c]\n"),

    /* --- header syntax (RFC 9110 5, RFC 9112 5) --- */
    C("whitespace before colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", "ERR 400\n"),
    C("tab before colon", GET "X\t: 1\r\n\r\n", "ERR 400\n"),
    C("no colon", GET "X\r\n\r\n", "ERR 400\n"),
    C("NUL in name", GET "X\0Y: 1\r\n\r\n", "ERR 400\n"),
    C("NUL in value", GET "X: a\0b\r\n\r\n", "ERR 400\n"),
    C("CR in value", GET "X: a\rb\r\n\r\n", "ERR 400\n"),
    C("LF in value", GET "X: a\nb\r\n\r\n", "ERR 400\n"),
    C("DEL in value",
      GET "X: a\x7f"
          "b\r\n\r\n",
      "ERR 400\n"),
    C("OWS trimmed", GET "X:  a b \t\r\n\r\n", REQ_GET "H X: a b\n"),
    C("empty value", GET "X:\r\n\r\n", REQ_GET "H X: \n"),
    C("obs-text value", GET "X: caf\xc3\xa9\r\n\r\n", REQ_GET "H X: caf\xc3\xa9\n"),
    C("obs-fold", GET "X: a\r\n b\r\n\r\n", "ERR 400\n"),
    C("obs-fold with tab", GET "X: a\r\n\tb\r\n\r\n", "ERR 400\n"),
    C("obs-fold after empty value", GET "X:\r\n b\r\n\r\n", "ERR 400\n"),
    C("obs-fold into Host", "GET / HTTP/1.1\r\nHost: a\r\n\tX: 1\r\n\r\n", "ERR 400\n"),
    C("empty field name", GET ": x\r\n\r\n", "ERR 400\n"),
    C("empty field name and value", GET ":\r\n\r\n", "ERR 400\n"),
    C("name case kept", GET "x-CUSTOM: v\r\n\r\n", REQ_GET "H x-CUSTOM: v\n"),

    /* --- Content-Length (RFC 9112 6.3) --- */
    C("GET with body", GET "Content-Length: 3\r\n\r\nabc",
      REQ_GET "H Content-Length: 3\nB \"abc\"\n"),
    C("duplicate CL", POST "Content-Length: 3\r\nContent-Length: 3\r\n\r\nabc", "ERR 400\n"),
    C("duplicate CL different", POST "Content-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
      "ERR 400\n"),
    C("CL list", POST "Content-Length: 1,1\r\n\r\nx", "ERR 400\n"),
    C("CL negative", POST "Content-Length: -1\r\n\r\n", "ERR 400\n"),
    C("CL plus sign", POST "Content-Length: +1\r\n\r\nx", "ERR 400\n"),
    C("CL hex", POST "Content-Length: 0x1\r\n\r\nx", "ERR 400\n"),
    C("CL empty", POST "Content-Length:\r\n\r\n", "ERR 400\n"),
    C("CL overflow", POST "Content-Length: 99999999999999999999999\r\n\r\n", "ERR 400\n"),
    C("CL over the limit", POST "Content-Length: 65\r\n\r\n", "ERR 413\n"),
    C("CL at the limit",
      POST "Content-Length: 64\r\n\r\n"
           "0123456789012345678901234567890123456789012345678901234567890123",
      REQ_POST "H Content-Length: 64\n"
               "B \"0123456789012345678901234567890123456789012345678901234567890123\"\n"),
    C("CL and TE", POST "Content-Length: 3\r\n" CHUNKED "\r\n3\r\nabc\r\n0\r\n\r\n", "ERR 400\n"),
    C("TE and CL", POST CHUNKED "Content-Length: 3\r\n\r\n3\r\nabc\r\n0\r\n\r\n", "ERR 400\n"),

    /* --- Transfer-Encoding (RFC 9112 6.1, 7) --- */
    C("chunked", POST CHUNKED "\r\n3\r\nabc\r\nA\r\n0123456789\r\n0\r\n\r\n",
      REQ_POST "H Transfer-Encoding: chunked\nB \"abc0123456789\"\n"),
    C("chunked upper-case coding", POST "Transfer-Encoding: Chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n",
      REQ_POST "H Transfer-Encoding: Chunked\nB \"x\"\n"),
    C("chunked empty body then pipelined", GET CHUNKED "\r\n0\r\n\r\n" GET "\r\n",
      REQ_GET "H Transfer-Encoding: chunked\n" REQ_GET),
    C("chunk extensions",
      POST CHUNKED "\r\nA;name=\"q v\";x\r\n0123456789\r\n1;a=b\r\nZ\r\n0;e\r\n\r\n",
      REQ_POST "H Transfer-Encoding: chunked\nB \"0123456789Z\"\n"),
    C("trailers are dropped", POST CHUNKED "\r\n3\r\nabc\r\n0\r\nX-T: 1\r\nY: 2\r\n\r\n" GET "\r\n",
      REQ_POST "H Transfer-Encoding: chunked\nB \"abc\"\n" REQ_GET),
    /* a trailer field line is checked as a header field line is */
    C("obs-fold in a trailer field", POST CHUNKED "\r\n0\r\nX: a\r\n b\r\n\r\n" GET "\r\n",
      "ERR 400\n"),
    C("obs-fold with tab in a trailer field",
      POST CHUNKED "\r\n0\r\nX: 1\r\n\tY: 2\r\n\r\n" GET "\r\n", "ERR 400\n"),
    C("obs-fold after an empty trailer value", POST CHUNKED "\r\n0\r\nX:\r\n b\r\n\r\n" GET "\r\n",
      "ERR 400\n"),
    C("obs-fold in a second trailer field",
      POST CHUNKED "\r\n1\r\nx\r\n0\r\nA: 1\r\nB: 2\r\n 3\r\n\r\n" GET "\r\n", "ERR 400\n"),
    C("empty trailer field name", POST CHUNKED "\r\n0\r\n: x\r\n\r\n" GET "\r\n", "ERR 400\n"),
    C("empty trailer field name and value", POST CHUNKED "\r\n0\r\nA: 1\r\n:\r\n\r\n" GET "\r\n",
      "ERR 400\n"),
    C("trailer field with an empty value", POST CHUNKED "\r\n0\r\nX:\r\nY: 1\r\n\r\n" GET "\r\n",
      REQ_POST "H Transfer-Encoding: chunked\n" REQ_GET),
    C("chunk size not hex", POST CHUNKED "\r\nzz\r\n", "ERR 400\n"),
    C("chunk size negative", POST CHUNKED "\r\n-1\r\n", "ERR 400\n"),
    C("chunk size overflow", POST CHUNKED "\r\nffffffffffffffffff\r\n", "ERR 400\n"),
    C("chunk size leading space", POST CHUNKED "\r\n 3\r\nabc\r\n0\r\n\r\n", "ERR 400\n"),
    C("chunk size trailing space", POST CHUNKED "\r\n3 \r\nabc\r\n0\r\n\r\n", "ERR 400\n"),
    C("chunk size bare LF", POST CHUNKED "\r\n3\nabc\r\n0\r\n\r\n", "ERR 400\n"),
    C("bare LF ending an empty trailer section", POST CHUNKED "\r\n0\r\n\n" GET "\r\n",
      "ERR 400\n"),
    C("bare LF ending the trailer section", POST CHUNKED "\r\n0\r\nX: y\r\n\n" GET "\r\n",
      "ERR 400\n"),
    C("chunk data too long", POST CHUNKED "\r\n3\r\nabcX\r\n0\r\n\r\n", "ERR 400\n"),
    C("chunked body over the limit", POST CHUNKED "\r\n41\r\n", "ERR 413\n"),
    C("chunks over the limit",
      POST CHUNKED "\r\n20\r\n01234567890123456789012345678901\r\n"
                   "20\r\n01234567890123456789012345678901\r\n1\r\n",
      "ERR 413\n"),
    C("TE in HTTP/1.0", "POST / HTTP/1.0\r\n" CHUNKED "\r\n0\r\n\r\n", "ERR 400\n"),
    C("chunked not final", POST "Transfer-Encoding: chunked, gzip\r\n\r\n", "ERR 400\n"),
    C("only gzip", POST "Transfer-Encoding: gzip\r\n\r\n", "ERR 400\n"),
    C("identity", POST "Transfer-Encoding: identity\r\n\r\n", "ERR 400\n"),
    C("unknown coding before chunked", POST "Transfer-Encoding: gzip, chunked\r\n\r\n",
      "ERR 501\n"),
    C("unknown coding in two fields", POST "Transfer-Encoding: gzip\r\n" CHUNKED "\r\n",
      "ERR 501\n"),
    C("chunked twice", POST CHUNKED CHUNKED "\r\n0\r\n\r\n", "ERR 400\n"),
    C("TE empty", POST "Transfer-Encoding:\r\n\r\n", "ERR 400\n"),
    C("TE only a comma", POST "Transfer-Encoding: ,\r\n\r\n", "ERR 400\n"),
    C("TE with a space in coding", POST "Transfer-Encoding: chun ked\r\n\r\n", "ERR 400\n"),

    /* --- Expect (RFC 9110 10.1.1) --- */
    C("100-continue", POST "Expect: 100-continue\r\nContent-Length: 2\r\n\r\nhi",
      "CONTINUE\n" REQ_POST "H Expect: 100-continue\nH Content-Length: 2\nB \"hi\"\n"),
    C("100-continue any case", POST "Expect: 100-Continue\r\nContent-Length: 1\r\n\r\nx",
      "CONTINUE\n" REQ_POST "H Expect: 100-Continue\nH Content-Length: 1\nB \"x\"\n"),
    C("100-continue chunked", POST "Expect: 100-continue\r\n" CHUNKED "\r\n1\r\nx\r\n0\r\n\r\n",
      "CONTINUE\n" REQ_POST "H Expect: 100-continue\nH Transfer-Encoding: chunked\nB \"x\"\n"),
    C("100-continue without body", GET "Expect: 100-continue\r\n\r\n",
      REQ_GET "H Expect: 100-continue\n"),
    C("100-continue HTTP/1.0",
      "POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\nx",
      "REQ POST / path=/ query= 1.0 ka=0\nH Expect: 100-continue\nH Content-Length: 1\nB "
      "\"x\"\nCLOSE\n"),
    C("100-continue too large", POST "Expect: 100-continue\r\nContent-Length: 100\r\n\r\n",
      "ERR 413\n"),
    C("unknown expectation", POST "Expect: foo\r\nContent-Length: 2\r\n\r\nhi", "ERR 417\n"),
    C("unknown expectation no body", GET "Expect: 200-ok\r\n\r\n", "ERR 417\n"),
    C("unknown expectation after 100-continue",
      POST "Expect: 100-continue\r\nExpect: foo\r\nContent-Length: 2\r\n\r\nhi", "ERR 417\n"),
};

static const char *feed_once(http_feed_t *f, const pcase_t *c)
{
    feed_init(f, &LIMITS);
    return feed_split(f, c->in, c->n, NULL, 0);
}

static void test_cases(void **state)
{
    (void)state;
    int bad = 0;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        http_feed_t f;
        const char *log = feed_once(&f, &cases[i]);
        if (strcmp(log, cases[i].log) != 0) {
            print_error("case '%s':\n--- expected\n%s--- got\n%s", cases[i].name, cases[i].log,
                        log);
            bad++;
        }
        feed_free(&f);
    }
    assert_int_equal(bad, 0);
}

/* The same bytes cut in two at every offset, and one byte at a time. */
static void test_split_invariance(void **state)
{
    (void)state;
    int bad = 0;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const pcase_t *c = &cases[i];
        for (size_t cut = 0; cut <= c->n; cut++) {
            http_feed_t f;
            feed_init(&f, &LIMITS);
            const char *log = feed_split(&f, c->in, c->n, &cut, 1);
            if (strcmp(log, c->log) != 0) {
                print_error("case '%s' cut at %zu:\n--- expected\n%s--- got\n%s", c->name, cut,
                            c->log, log);
                bad++;
            }
            feed_free(&f);
        }
        size_t *cuts = malloc(c->n * sizeof *cuts);
        for (size_t k = 0; k < c->n; k++)
            cuts[k] = k + 1;
        http_feed_t f;
        feed_init(&f, &LIMITS);
        const char *log = feed_split(&f, c->in, c->n, cuts, c->n);
        if (strcmp(log, c->log) != 0) {
            print_error("case '%s' byte by byte:\n--- expected\n%s--- got\n%s", c->name, c->log,
                        log);
            bad++;
        }
        feed_free(&f);
        free(cuts);
    }
    assert_int_equal(bad, 0);
}

/* --- limits ------------------------------------------------------------- */

static char *repeat(char ch, size_t n)
{
    char *s = malloc(n + 1);
    memset(s, ch, n);
    s[n] = '\0';
    return s;
}

/* Parses one request (one shot and byte by byte) and returns the first log line's status:
 * 0 for a request, else the error status. */
static int status_of(const tycho_http_limits_t *lim, const char *in, size_t n)
{
    int st[2];
    for (int mode = 0; mode < 2; mode++) {
        http_feed_t f;
        feed_init(&f, lim);
        size_t *cuts = malloc((n + 1) * sizeof *cuts);
        for (size_t k = 0; k < n; k++)
            cuts[k] = k + 1;
        const char *log = feed_split(&f, in, n, cuts, mode ? n : 0);
        st[mode] = strncmp(log, "ERR ", 4) == 0 ? atoi(log + 4) : strncmp(log, "REQ", 3) ? -1 : 0;
        feed_free(&f);
        free(cuts);
    }
    assert_int_equal(st[0], st[1]);
    return st[0];
}

static int status_fmt(const tycho_http_limits_t *lim, const char *fmt, ...)
{
    tycho_buf_t b = TYCHO_BUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    tycho_buf_vprintf(&b, fmt, ap);
    va_end(ap);
    int s = status_of(lim, b.data, b.len);
    tycho_buf_free(&b);
    return s;
}

static void test_uri_limit(void **state)
{
    (void)state;
    tycho_http_limits_t lim = {4096, 100, 64};
    char *p99 = repeat('a', 99), *p100 = repeat('a', 100);
    assert_int_equal(status_fmt(&lim, "GET /%s HTTP/1.1\r\nHost: a\r\n\r\n", p99), 0);    /* 100 */
    assert_int_equal(status_fmt(&lim, "GET /%s HTTP/1.1\r\nHost: a\r\n\r\n", p100), 414); /* 101 */
    /* the target limit is hit before the request line ends */
    assert_int_equal(status_fmt(&lim, "GET /%s", p100), 414);
    free(p99);
    free(p100);
}

static void test_header_limit(void **state)
{
    (void)state;
    tycho_http_limits_t lim = {256, 128, 64};
    /* "GET / HTTP/1.1\r\nHost: a\r\nX: " is 28 bytes; the section ends with the
     * empty line (4 more bytes) */
    char *v = repeat('v', 256 - 28 - 4), *v1 = repeat('v', 256 - 28 - 4 + 1);
    assert_int_equal(status_fmt(&lim, "GET / HTTP/1.1\r\nHost: a\r\nX: %s\r\n\r\n", v), 0);
    assert_int_equal(status_fmt(&lim, "GET / HTTP/1.1\r\nHost: a\r\nX: %s\r\n\r\n", v1), 431);
    /* many small fields */
    tycho_buf_t b = TYCHO_BUF_INIT;
    tycho_buf_puts(&b, "GET / HTTP/1.1\r\nHost: a\r\n");
    for (int i = 0; i < 40; i++)
        tycho_buf_printf(&b, "X-%02d: 1\r\n", i);
    tycho_buf_puts(&b, "\r\n");
    assert_int_equal(status_of(&lim, b.data, b.len), 431);
    tycho_buf_free(&b);
    /* whitespace llhttp skips without a callback counts too, however it arrives */
    /* an unknown method is read to its end only up to the limit */
    char *m = repeat('M', 300);
    assert_int_equal(status_fmt(&lim, "%s", m), 431);
    m[200] = '\0';
    assert_int_equal(status_fmt(&lim, "X%s / HTTP/1.1\r\nHost: a\r\n\r\n", m), 501);
    free(m);
    char *sp = repeat(' ', 300);
    assert_int_equal(status_fmt(&lim, "GET / HTTP/1.1\r\nHost: a\r\nX:%s\r\n\r\n", sp), 431);
    assert_int_equal(status_fmt(&lim, "GET / HTTP/1.1\r\nHost: a\r\nX:%sv\r\n\r\n", sp), 431);
    free(sp);
    /* a long name, and a long request line */
    assert_int_equal(status_fmt(&lim, "GET / HTTP/1.1\r\nHost: a\r\n%s: 1\r\n\r\n", v1), 431);
    lim.max_uri_bytes = 1000;
    char *t = repeat('t', 256 - 27); /* "GET /" + t + " HTTP/1.1\r\nHost: a\r\n\r\n" = 256 */
    assert_int_equal(status_fmt(&lim, "GET /%s HTTP/1.1\r\nHost: a\r\n\r\n", t), 0);
    assert_int_equal(status_fmt(&lim, "GET /%st HTTP/1.1\r\nHost: a\r\n\r\n", t), 431);
    free(t);
    free(v);
    free(v1);
}

static void test_header_count_limit(void **state)
{
    (void)state;
    tycho_http_limits_t lim = {65536, 128, 64};
    for (int n = TYCHO_MAX_HEADERS; n <= TYCHO_MAX_HEADERS + 1; n++) {
        tycho_buf_t b = TYCHO_BUF_INIT;
        tycho_buf_puts(&b, "GET / HTTP/1.1\r\nHost: a\r\n");
        for (int i = 1; i < n; i++)
            tycho_buf_printf(&b, "X-%03d: %d\r\n", i, i);
        tycho_buf_puts(&b, "\r\n");
        assert_int_equal(status_of(&lim, b.data, b.len), n == TYCHO_MAX_HEADERS ? 0 : 431);
        tycho_buf_free(&b);
    }
}

static void test_body_limit_zero(void **state)
{
    (void)state;
    tycho_http_limits_t lim = {1024, 128, 0};
    assert_int_equal(status_fmt(&lim, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n"),
                     0);
    assert_int_equal(status_fmt(&lim, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\nx"),
                     413);
    assert_int_equal(status_fmt(&lim, "POST / HTTP/1.1\r\nHost: a\r\n" CHUNKED "\r\n0\r\n\r\n"), 0);
    assert_int_equal(
        status_fmt(&lim, "POST / HTTP/1.1\r\nHost: a\r\n" CHUNKED "\r\n1\r\nx\r\n0\r\n\r\n"), 413);
}

/* 200 requests in one buffer, answered in order; the parser's copies are
 * reused from one request to the next. */
static void test_pipelining_many(void **state)
{
    (void)state;
    tycho_buf_t in = TYCHO_BUF_INIT, want = TYCHO_BUF_INIT;
    for (int i = 0; i < 200; i++) {
        if (i % 3 == 0) {
            tycho_buf_printf(&in, "GET /r%d?i=%d HTTP/1.1\r\nHost: h%d\r\n\r\n", i, i, i);
            tycho_buf_printf(&want,
                             "REQ GET /r%d?i=%d path=/r%d query=i=%d 1.1 ka=1\nH Host: h%d\n", i, i,
                             i, i, i);
        } else if (i % 3 == 1) {
            tycho_buf_printf(&in, "POST /r%d HTTP/1.1\r\nHost: h\r\nContent-Length: %d\r\n\r\n%0*d",
                             i, 5, 5, i);
            tycho_buf_printf(&want,
                             "REQ POST /r%d path=/r%d query= 1.1 ka=1\nH Host: h\n"
                             "H Content-Length: 5\nB \"%05d\"\n",
                             i, i, i);
        } else {
            tycho_buf_printf(
                &in, "PUT /r%d HTTP/1.1\r\nHost: h\r\n" CHUNKED "\r\n2\r\n%02d\r\n0\r\n\r\n", i,
                i % 100);
            tycho_buf_printf(&want,
                             "REQ PUT /r%d path=/r%d query= 1.1 ka=1\nH Host: h\n"
                             "H Transfer-Encoding: chunked\nB \"%02d\"\n",
                             i, i, i % 100);
        }
    }
    size_t cuts[] = {1, 100, 101, 4000, 4001, 4002};
    for (int mode = 0; mode < 2; mode++) {
        http_feed_t f;
        feed_init(&f, &LIMITS);
        const char *log = feed_split(&f, in.data, in.len, cuts, mode ? 6 : 0);
        assert_string_equal(log, want.data);
        assert_int_equal(f.nreq, 200);
        feed_free(&f);
    }
    tycho_buf_free(&in);
    tycho_buf_free(&want);
}

/* tycho_http_parser_whole_request (a drain's look at the requests a
 * connection already read): every case's every prefix is whole exactly when
 * a connection parsing it would come to an answer (a request or an error,
 * past a 100 Continue) rather than wait for more bytes. */
static void test_whole_request_prefixes(void **state)
{
    (void)state;
    int bad = 0;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const pcase_t *c = &cases[i];
        for (size_t k = 0; k <= c->n; k++) {
            http_feed_t f;
            feed_init(&f, &LIMITS);
            const char *log = feed_split(&f, c->in, k, NULL, 0);
            if (strncmp(log, "CONTINUE\n", 9) == 0) log += 9;
            int want = *log != '\0';
            int got = tycho_http_parser_whole_request(&LIMITS, c->in, 0, k);
            if (got != want) {
                print_error("case '%s', first %zu bytes: whole %d, the parser says %s", c->name, k,
                            got, *log ? log : "(waits)\n");
                bad++;
            }
            feed_free(&f);
        }
    }
    assert_int_equal(bad, 0);
}

/* From a request boundary inside a buffer of pipelined requests: the next
 * request is whole with its last byte, not one byte before; the bytes
 * before `from` do not count. */
static void test_whole_request_pipelined(void **state)
{
    (void)state;
    static const char *const reqs[] = {
        GET "\r\n",
        POST "Content-Length: 3\r\n\r\nabc",
        POST CHUNKED "\r\n2\r\nhi\r\n0\r\nX-T: 1\r\n\r\n",
        POST "Expect: 100-continue\r\nContent-Length: 2\r\n\r\nhi",
        "GET / HTTP/1.0\r\n\r\n",
    };
    size_t n = sizeof reqs / sizeof *reqs, at[sizeof reqs / sizeof *reqs + 1];
    tycho_buf_t in = TYCHO_BUF_INIT;
    for (size_t i = 0; i < n; i++) {
        at[i] = in.len;
        assert_int_equal(tycho_buf_puts(&in, reqs[i]), 0);
    }
    at[n] = in.len;
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(tycho_http_parser_whole_request(&LIMITS, in.data, at[i], at[i + 1]), 1);
        assert_int_equal(tycho_http_parser_whole_request(&LIMITS, in.data, at[i], in.len), 1);
        assert_int_equal(tycho_http_parser_whole_request(&LIMITS, in.data, at[i], at[i + 1] - 1),
                         0);
        assert_int_equal(tycho_http_parser_whole_request(&LIMITS, in.data, at[i], at[i]), 0);
    }
    tycho_buf_free(&in);
}

/* A partly received request must hold on to the bytes it started with: a
 * header section that arrives over several reads keeps its slices right even
 * when pipelined requests before it are compacted away. */
static void test_compaction_keeps_partial_header(void **state)
{
    (void)state;
    const char *in = "GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: b\r\nX-Long: "
                     "0123456789\r\nY: z\r\n\r\n";
    size_t n = strlen(in);
    for (size_t a = 1; a < n; a += 3) {
        for (size_t b = a + 1; b < n; b += 5) {
            size_t cuts[] = {a, b};
            http_feed_t f;
            feed_init(&f, &LIMITS);
            const char *log = feed_split(&f, in, n, cuts, 2);
            assert_string_equal(log, "REQ GET /1 path=/1 query= 1.1 ka=1\nH Host: a\n"
                                     "REQ GET /2 path=/2 query= 1.1 ka=1\nH Host: b\n"
                                     "H X-Long: 0123456789\nH Y: z\n");
            feed_free(&f);
        }
    }
}

/* Trailers after a body larger than the header limit: dropped, with their
 * own budget, wherever the reads were cut (the body before them is compacted
 * away by then). */
static void test_trailers(void **state)
{
    (void)state;
    tycho_http_limits_t lim = {256, 128, 4096};
    char *body = repeat('b', 1024), *big = repeat('t', 300);
    tycho_buf_t in = TYCHO_BUF_INIT;
    tycho_buf_printf(&in,
                     "POST / HTTP/1.1\r\nHost: a\r\n" CHUNKED "\r\n400\r\n%s\r\n0\r\n"
                     "X-T: 1\r\nY: 2\r\n\r\nGET /n HTTP/1.1\r\nHost: a\r\n\r\n",
                     body);
    assert_int_equal(status_of(&lim, in.data, in.len), 0);
    size_t cuts[] = {10, 80, 600, 1090, 1100, 1105};
    for (int mode = 0; mode < 2; mode++) {
        http_feed_t f;
        feed_init(&f, &lim);
        feed_split(&f, in.data, in.len, cuts, mode ? 6 : 0);
        assert_int_equal(f.nreq, 2);
        assert_non_null(strstr(f.log.data, "REQ GET /n path=/n"));
        assert_null(strstr(f.log.data, "X-T"));
        feed_free(&f);
    }
    tycho_buf_free(&in);
    /* a fold or an empty name is seen wherever the reads were cut, the
     * section's earlier bytes being kept until it ends */
    static const struct {
        const char *trailer, *reason;
    } bad[] = {{"X: a\r\n b", "obsolete line folding in a trailer field"},
               {"X:\r\n b", "obsolete line folding in a trailer field"},
               {": x", "empty trailer field name"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        tycho_buf_t b = TYCHO_BUF_INIT;
        tycho_buf_printf(
            &b, "POST / HTTP/1.1\r\nHost: a\r\n" CHUNKED "\r\n400\r\n%s\r\n0\r\n%s\r\n\r\n", body,
            bad[i].trailer);
        size_t trailer = b.len - strlen(bad[i].trailer) - 4;
        for (size_t cut = trailer; cut < b.len; cut++) {
            http_feed_t f;
            feed_init(&f, &lim);
            size_t cuts[] = {trailer - 3, cut};
            feed_split(&f, b.data, b.len, cuts, 2);
            assert_int_equal(f.parser.error_status, 400);
            assert_string_equal(f.parser.error_reason, bad[i].reason);
            feed_free(&f);
        }
        tycho_buf_free(&b);
    }
    assert_int_equal(status_fmt(&lim,
                                "POST / HTTP/1.1\r\nHost: a\r\n" CHUNKED
                                "\r\n400\r\n%s\r\n0\r\nX-T: %s\r\n\r\n",
                                body, big),
                     431);
    /* the budget counts the bytes read, not only the names and values
     * llhttp reports: empty fields and whitespace count too */
    char *fields = malloc(4 * 100 + 1), *blanks = repeat(' ', 300);
    for (int i = 0; i < 100; i++)
        memcpy(fields + 4 * i, "a:\r\n", 5);
    assert_int_equal(
        status_fmt(&lim, "POST / HTTP/1.1\r\nHost: a\r\n" CHUNKED "\r\n0\r\n%s\r\n", fields), 431);
    assert_int_equal(
        status_fmt(&lim, "POST / HTTP/1.1\r\nHost: a\r\n" CHUNKED "\r\n0\r\nX:%sv\r\n\r\n", blanks),
        431);
    /* a trailer section of exactly max_header_bytes ("X: " value CRLF CRLF) */
    assert_int_equal(
        status_fmt(&lim, "POST / HTTP/1.1\r\nHost: a\r\n" CHUNKED "\r\n0\r\nX: %.249s\r\n\r\n",
                   big),
        0);
    assert_int_equal(
        status_fmt(&lim, "POST / HTTP/1.1\r\nHost: a\r\n" CHUNKED "\r\n0\r\nX: %.250s\r\n\r\n",
                   big),
        431);
    free(fields);
    free(blanks);
    free(body);
    free(big);
}

/* Chunk extensions are dropped, all of a request's within max_header_bytes:
 * past it 413, however they are spread over chunks and reads. */
static void test_chunk_extensions(void **state)
{
    (void)state;
    tycho_http_limits_t lim = {256, 128, 4096};
    char *name = repeat('n', 200), *value = repeat('v', 300);
    const char *head = "POST / HTTP/1.1\r\nHost: a\r\n" CHUNKED "\r\n";
    assert_int_equal(status_fmt(&lim, "%s1;%s\r\nx\r\n0\r\n\r\n", head, name), 0);
    assert_int_equal(status_fmt(&lim, "%s1;a=%s\r\nx\r\n", head, value), 413);
    assert_int_equal(status_fmt(&lim, "%s1;%s\r\nx\r\n1;%s\r\ny\r\n", head, name, name), 413);
    assert_int_equal(status_fmt(&lim, "%s0;%s=\"%s\"\r\n\r\n", head, name, name), 413);
    char *semicolons = repeat(';', 300); /* empty names: each ';' counts */
    assert_int_equal(status_fmt(&lim, "%s1%s\r\nx\r\n", head, semicolons), 413);
    free(semicolons);
    /* the budget is per request */
    http_feed_t f;
    feed_init(&f, &lim);
    tycho_buf_t in = TYCHO_BUF_INIT;
    tycho_buf_printf(&in, "%s1;%s\r\nx\r\n0\r\n\r\n%s1;%s\r\ny\r\n0\r\n\r\n", head, name, head,
                     name);
    feed_split(&f, in.data, in.len, NULL, 0);
    assert_int_equal(f.nreq, 2);
    feed_free(&f);
    tycho_buf_reset(&in);
    /* and the answer says why */
    feed_init(&f, &lim);
    tycho_buf_printf(&in, "%s1;a=%s\r\nx\r\n", head, value);
    feed_split(&f, in.data, in.len, NULL, 0);
    assert_string_equal(f.parser.error_reason, "chunk extensions too large");
    feed_free(&f);
    tycho_buf_free(&in);
    free(name);
    free(value);
}

static void test_reason_and_slices(void **state)
{
    (void)state;
    http_feed_t f;
    feed_init(&f, &LIMITS);
    static const char in[] = "GET /a HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n";
    feed_split(&f, in, sizeof in - 1, NULL, 0);
    assert_int_equal(f.parser.error_status, 400);
    assert_string_equal(f.parser.error_reason, "duplicate Host header");
    feed_free(&f);

    feed_init(&f, &LIMITS);
    static const char te[] = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: br, chunked\r\n\r\n";
    feed_split(&f, te, sizeof te - 1, NULL, 0);
    assert_int_equal(f.parser.error_status, 501);
    assert_string_equal(f.parser.error_reason, "unsupported transfer coding");
    feed_free(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases),
        cmocka_unit_test(test_split_invariance),
        cmocka_unit_test(test_uri_limit),
        cmocka_unit_test(test_header_limit),
        cmocka_unit_test(test_header_count_limit),
        cmocka_unit_test(test_body_limit_zero),
        cmocka_unit_test(test_pipelining_many),
        cmocka_unit_test(test_whole_request_prefixes),
        cmocka_unit_test(test_whole_request_pipelined),
        cmocka_unit_test(test_compaction_keeps_partial_header),
        cmocka_unit_test(test_trailers),
        cmocka_unit_test(test_chunk_extensions),
        cmocka_unit_test(test_reason_and_slices),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
