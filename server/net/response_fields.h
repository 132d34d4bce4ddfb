/* response_fields — the header lines of an outbound exchange as libcurl hands
 * them to its header callback, one whole line at a time: the status line of
 * each response (interim 1xx ones first), its fields, the blank line ending
 * the block, then a chunked body's trailer fields (a proxy's answer to
 * CONNECT is not among them: CURLOPT_SUPPRESS_CONNECT_HEADERS). Keeps the final
 * response's fields (obs-fold lines joined, trailer fields left out) and
 * checks the ones that frame its body. Pure: no I/O; one per request, used
 * on the request's thread. */
#ifndef TYCHO_NET_RESPONSE_FIELDS_H
#define TYCHO_NET_RESPONSE_FIELDS_H

#include "core/buf.h"
#include "net/http_client.h"

#include <stddef.h>
#include <stdint.h>

/* every header line of the exchange (interim 1xx responses included): far
 * above what an API sends, and keeps a hostile peer from growing the store */
#define TYCHO_RESPONSE_FIELDS_MAX_BYTES (64u << 10)

typedef struct tycho_response_fields {
    size_t bytes;           /* header bytes taken so far, every block of the exchange */
    int status_next;        /* the next line is a status line */
    int interim;            /* the current block is a 1xx response's */
    int block_done;         /* the blank line ending the current block came */
    int has_length;         /* a Content-Length came in the current block */
    uint64_t length;        /* its value */
    int last_is_length;     /* the last field kept is a Content-Length */
    int too_large;          /* past TYCHO_RESPONSE_FIELDS_MAX_BYTES */
    int conflicting_length; /* two Content-Length values that differ */
    int invalid_length;     /* a Content-Length that is not a number (or is folded) */
    int spaced_framing;     /* Content-Length or Transfer-Encoding with whitespace
                               before its colon, which curl does not frame by */
    tycho_buf_t store;      /* "name\0value\0" pairs */
    size_t n;               /* pairs in store */
} tycho_response_fields_t;

void tycho_response_fields_init(tycho_response_fields_t *f);
void tycho_response_fields_free(tycho_response_fields_t *f);

/* Takes one line (its CRLF included; curl never passes one holding a NUL:
 * "Nul byte in header"). 0, or -1 when the exchange must stop: too_large or
 * one of the framing flags set (the response cannot be trusted), or out of
 * memory with none set. */
int tycho_response_fields_line(tycho_response_fields_t *f, const char *p, size_t len);

/* The final response's fields so far, f->n of them, pointing into f (valid
 * until the next line or free); malloc'd, NULL when none or out of memory. */
tycho_http_header_t *tycho_response_fields_list(const tycho_response_fields_t *f);

#endif
