/* libFuzzer target for what a request says about its client (http/
 * client_ip.c): the address from X-Forwarded-For, the scheme from
 * X-Forwarded-Proto and the host from X-Forwarded-Host when the peer is a
 * trusted proxy (TYCHO_TRUSTED_PROXIES), read on every request. Checked
 * (abort on failure), against an oracle written here from client_ip.h that
 * first gathers every entry of every line of a field:
 *  - the client address is the peer's (cut to TYCHO_CLIENT_IP_MAX - 1) unless
 *    the peer is trusted; then, reading the entries from the right, each
 *    valid IP literal replaces it until one that is not trusted, and the
 *    first empty, over-long or invalid entry stops the walk;
 *  - the scheme is "https" exactly when a trusted peer's last
 *    X-Forwarded-Proto entry is "https" (any case);
 *  - the host is a trusted peer's last X-Forwarded-Host entry when
 *    tycho_host_valid takes it, else the first Host, else empty;
 *  - how the proxies split a field into lines never matters (RFC 9110 5.3):
 *    each X-Forwarded-* field's lines joined into one line with ',' give
 *    the same three.
 *
 * Input: lines (LF). The first is TYCHO_TRUSTED_PROXIES (a refused list
 * means none), the second the peer's address, then header lines: byte 0
 * picks the name (modulo the list below), the rest is the value.
 *
 * Built and run by tests/fuzz/run_fuzzer.sh client_ip. */
#include "core/config.h"
#include "http/client_ip.h"
#include "http/host.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define FUZZ_TARGET "client_ip"
#include "tests/fuzz/fuzz_check.h"

#define MAX_HEADERS 32

static const char *const NAMES[] = {
    "X-Forwarded-For", "x-forwarded-for", "X-Forwarded-Proto", "X-Forwarded-Host", "Host",
    "X-Other"};
#define NNAMES (sizeof NAMES / sizeof NAMES[0])

typedef struct answer {
    char ip[TYCHO_CLIENT_IP_MAX];
    const char *scheme;
    tycho_slice_t host;
} answer_t;

static void ask(const tycho_config_t *cfg, const tycho_request_t *req, answer_t *a)
{
    memset(a->ip, 'x', sizeof a->ip);
    tycho_client_ip(cfg, req, a->ip);
    CHECK(memchr(a->ip, '\0', sizeof a->ip), "client address not NUL-terminated");
    a->scheme = tycho_client_scheme(cfg, req);
    a->host = tycho_client_host(cfg, req);
}

/* the oracle's list: every entry of every line called name, in order, trimmed */
typedef struct entries {
    tycho_slice_t e[MAX_HEADERS + 8192]; /* one more than the commas, at most */
    size_t n;
} entries_t;

static void gather(const tycho_request_t *req, const char *name, entries_t *out)
{
    out->n = 0;
    for (size_t i = 0; i < req->nheaders; i++) {
        const tycho_header_t *h = &req->headers[i];
        if (h->name.n != strlen(name) || strncasecmp(h->name.p, name, h->name.n) != 0) continue;
        const char *p = h->value.p, *end = p + h->value.n;
        for (;;) {
            const char *comma = memchr(p, ',', (size_t)(end - p));
            const char *e = comma ? comma : end, *a = p;
            while (a < e && (*a == ' ' || *a == '\t'))
                a++;
            while (e > a && (e[-1] == ' ' || e[-1] == '\t'))
                e--;
            out->e[out->n++] = (tycho_slice_t){a, (size_t)(e - a)};
            if (!comma) break;
            p = comma + 1;
        }
    }
}

static int valid_ip(const char *s)
{
    unsigned char buf[16];
    return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

static void oracle(const tycho_config_t *cfg, const tycho_request_t *req, answer_t *a)
{
    static entries_t l;
    int trusted = cfg->ntrusted_proxies > 0 && tycho_config_is_trusted_proxy(cfg, req->peer_ip);
    snprintf(a->ip, sizeof a->ip, "%s", req->peer_ip);
    gather(req, "X-Forwarded-For", &l);
    for (size_t i = l.n; trusted && i-- > 0;) {
        char ip[TYCHO_CLIENT_IP_MAX];
        if (l.e[i].n == 0 || l.e[i].n >= sizeof ip) break;
        memcpy(ip, l.e[i].p, l.e[i].n);
        ip[l.e[i].n] = '\0';
        if (!valid_ip(ip)) break;
        memcpy(a->ip, ip, sizeof ip);
        if (!tycho_config_is_trusted_proxy(cfg, ip)) break;
    }
    gather(req, "X-Forwarded-Proto", &l);
    a->scheme =
        trusted && l.n && l.e[l.n - 1].n == 5 && strncasecmp(l.e[l.n - 1].p, "https", 5) == 0
            ? "https"
            : "http";
    gather(req, "X-Forwarded-Host", &l);
    a->host = (tycho_slice_t){"", 0};
    if (trusted && l.n && l.e[l.n - 1].n && tycho_host_valid(&l.e[l.n - 1])) {
        a->host = l.e[l.n - 1];
        return;
    }
    for (size_t i = 0; i < req->nheaders; i++)
        if (req->headers[i].name.n == 4 && strncasecmp(req->headers[i].name.p, "Host", 4) == 0) {
            a->host = req->headers[i].value;
            return;
        }
}

static void same(const answer_t *got, const answer_t *want, const char *how)
{
    CHECK(strcmp(got->ip, want->ip) == 0, "%s: client '%s', want '%s'", how, got->ip, want->ip);
    CHECK(strcmp(got->scheme, want->scheme) == 0, "%s: scheme %s, want %s", how, got->scheme,
          want->scheme);
    CHECK(got->host.n == want->host.n && memcmp(got->host.p, want->host.p, got->host.n) == 0,
          "%s: host '%.*s', want '%.*s'", how, (int)got->host.n, got->host.p, (int)want->host.n,
          want->host.p);
}

/* The next line of [*p, end) (without its LF), or 0 at the end. */
static int next_line(const char **p, const char *end, tycho_slice_t *line)
{
    if (*p >= end) return 0;
    const char *nl = memchr(*p, '\n', (size_t)(end - *p));
    const char *e = nl ? nl : end;
    *line = (tycho_slice_t){*p, (size_t)(e - *p)};
    *p = nl ? nl + 1 : end;
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* a copy of exactly the input's size: a read past a value is an ASan report */
    char *in = malloc(size ? size : 1);
    memcpy(in, data, size);
    const char *p = in, *end = in + size;
    tycho_slice_t cidrs, peer;
    if (!next_line(&p, end, &cidrs) || !next_line(&p, end, &peer) ||
        memchr(cidrs.p, '\0', cidrs.n) || memchr(peer.p, '\0', peer.n)) {
        free(in);
        return 0;
    }
    static tycho_config_t cfg;
    tycho_config_defaults(&cfg);
    char *list = strndup(cidrs.p, cidrs.n), err[256];
    if (tycho_config_parse_cidrs(list, &cfg, err, sizeof err) != 0) cfg.ntrusted_proxies = 0;
    free(list);
    char *peer_ip = strndup(peer.p, peer.n);

    tycho_header_t h[MAX_HEADERS];
    size_t nh = 0;
    tycho_slice_t line;
    while (nh < MAX_HEADERS && next_line(&p, end, &line)) {
        if (!line.n) continue;
        const char *name = NAMES[(unsigned char)line.p[0] % NNAMES];
        h[nh++] = (tycho_header_t){{name, strlen(name)}, {line.p + 1, line.n - 1}};
    }
    tycho_request_t req = {.headers = h, .nheaders = nh, .peer_ip = peer_ip};
    answer_t got, want;
    ask(&cfg, &req, &got);
    oracle(&cfg, &req, &want);
    same(&got, &want, "as sent");

    /* each X-Forwarded-* field's lines as one line, joined with ',' where
     * the first was (Host is one line: a second is not part of a list) */
    tycho_header_t j[MAX_HEADERS];
    char *joined[MAX_HEADERS] = {0};
    size_t nj = 0;
    for (size_t i = 0; i < nh; i++) {
        size_t k = 0;
        while (k < nj && strcasecmp(j[k].name.p, h[i].name.p) != 0)
            k++;
        if (k == nj || strncasecmp(h[i].name.p, "X-Forwarded-", 12) != 0) {
            j[nj++] = h[i];
            continue;
        }
        size_t n = j[k].value.n + 1 + h[i].value.n;
        char *v = malloc(n);
        memcpy(v, j[k].value.p, j[k].value.n);
        v[j[k].value.n] = ',';
        memcpy(v + j[k].value.n + 1, h[i].value.p, h[i].value.n);
        free(joined[k]);
        joined[k] = v;
        j[k].value = (tycho_slice_t){v, n};
    }
    tycho_request_t one = {.headers = j, .nheaders = nj, .peer_ip = peer_ip};
    answer_t got_one;
    ask(&cfg, &one, &got_one);
    /* the host is compared by its bytes: it points into another request */
    same(&got_one, &got, "lines joined");

    for (size_t i = 0; i < nj; i++)
        free(joined[i]);
    free(peer_ip);
    free(in);
    return 0;
}
