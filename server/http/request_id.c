#include "http/request_id.h"

#include "core/prng.h"

#include <string.h>

int tycho_request_id_valid(const tycho_slice_t *v)
{
    if (v->n == 0 || v->n > TYCHO_REQUEST_ID_MAX) return 0;
    for (size_t i = 0; i < v->n; i++) {
        unsigned char c = (unsigned char)v->p[i];
        if (c <= 0x20 || c >= 0x7F || c == '"' || c == '\\') return 0;
    }
    return 1;
}

void tycho_request_id_assign(const tycho_request_t *req, char out[TYCHO_REQUEST_ID_MAX + 1])
{
    static const char hex[] = "0123456789abcdef";
    const tycho_slice_t *in = tycho_request_header(req, "x-request-id");
    if (in && tycho_request_id_valid(in)) {
        memcpy(out, in->p, in->n);
        out[in->n] = '\0';
        return;
    }
    /* 32 hex digits straight from two 64-bit draws, a nibble each */
    for (int half = 0; half < 2; half++) {
        uint64_t r = tycho_prng_next();
        for (int i = 0; i < 16; i++, r >>= 4)
            out[16 * half + i] = hex[r & 15];
    }
    out[32] = '\0';
}
