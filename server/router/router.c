#include "router/router.h"

#include "core/percent.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>
#include <string.h>

typedef struct entry {
    char method[TYCHO_ROUTER_MAX_METHOD + 1];
    size_t mlen;
    char *pattern;
    size_t nparams;
    char *param_names[TYCHO_ROUTER_MAX_PARAMS]; /* point into names_buf */
    size_t param_lens[TYCHO_ROUTER_MAX_PARAMS];
    char *names_buf;
    void *data;
    size_t seq;                 /* insertion order: 0 for the first route */
    struct entry *next_at_node; /* other methods on the same node */
    struct entry *next_all;     /* insertion order */
} entry_t;

typedef struct node {
    char *seg; /* static text of this node (static children only) */
    size_t n;
    struct node **statics;
    size_t nstatics, capstatics;
    struct node *param;
    struct node *wild;
    entry_t *entries;
} node_t;

struct tycho_router {
    node_t root;
    entry_t *first, *last;
    size_t count;
};

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* RFC 3986 pchar minus '%' (checked separately) */
static int is_pchar(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return 1;
    return c && strchr("-._~!$&'()*+,;=:@", c) != NULL;
}

static int is_hex(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int valid_name(const char *p, size_t n)
{
    if (n == 0 || n > 64) return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        int alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
        if (!alpha && !(i > 0 && c >= '0' && c <= '9')) return 0;
    }
    return 1;
}

int tycho_method_valid(const char *m, size_t n)
{
    if (n == 0 || n > TYCHO_ROUTER_MAX_METHOD) return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)m[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_')) return 0;
    }
    return 1;
}

/* What the pattern is written as: '/', escapes and pchars kept, any other
 * byte percent-encoded. */
static int written_as(unsigned char c)
{
    return c == '/' || c == '%' || is_pchar(c);
}

/* A byte a path cannot hold: the message shows the pattern as the route
 * author must type it (a raw "/café" is "/caf%C3%A9"). */
static int fail_character(const char *pat, size_t n, size_t segno, unsigned char c, char *err,
                          size_t errlen)
{
    tycho_buf_t enc = TYCHO_BUF_INIT;
    int rc = tycho_percent_encode(&enc, pat, n, written_as);
    fail(err, errlen,
         "segment %zu: character 0x%02x not allowed in a path (write the pattern "
         "percent-encoded: '%s')",
         segno, c, rc == 0 ? enc.data : "out of memory");
    tycho_buf_free(&enc);
    return -1;
}

int tycho_pattern_parse(const char *pat, size_t n, tycho_pattern_t *out, char *err, size_t errlen)
{
    out->nsegs = 0;
    out->nparams = 0;
    if (n == 0 || pat[0] != '/') return fail(err, errlen, "pattern must start with '/'");
    size_t i = 1;
    for (;;) {
        size_t start = i;
        while (i < n && pat[i] != '/')
            i++;
        const char *s = pat + start;
        size_t len = i - start;
        int last = (i >= n);
        size_t segno = out->nsegs + 1;
        if (out->nsegs == TYCHO_ROUTER_MAX_SEGMENTS)
            return fail(err, errlen, "more than %d segments", TYCHO_ROUTER_MAX_SEGMENTS);
        tycho_pattern_seg_t *seg = &out->segs[out->nsegs++];
        if (len > 0 && (s[0] == ':' || s[0] == '*')) {
            int wild = s[0] == '*';
            if (!valid_name(s + 1, len - 1))
                return fail(err, errlen,
                            "segment %zu: %s name must match [A-Za-z_][A-Za-z0-9_]* (got '%.*s')",
                            segno, wild ? "wildcard" : "parameter", (int)len, s);
            if (wild && !last)
                return fail(err, errlen, "segment %zu: wildcard '%.*s' must be the last segment",
                            segno, (int)len, s);
            if (out->nparams == TYCHO_ROUTER_MAX_PARAMS)
                return fail(err, errlen, "more than %d parameters", TYCHO_ROUTER_MAX_PARAMS);
            for (size_t k = 0; k + 1 < out->nsegs; k++) {
                const tycho_pattern_seg_t *o = &out->segs[k];
                if (o->kind != TYCHO_SEG_STATIC && o->n == len - 1 &&
                    memcmp(o->p, s + 1, len - 1) == 0)
                    return fail(err, errlen, "segment %zu: parameter name '%.*s' used twice", segno,
                                (int)(len - 1), s + 1);
            }
            seg->kind = wild ? TYCHO_SEG_WILD : TYCHO_SEG_PARAM;
            seg->p = s + 1;
            seg->n = len - 1;
            out->nparams++;
        } else {
            if (len == 0 && !last)
                return fail(err, errlen, "segment %zu: empty segment ('//')", segno);
            for (size_t k = 0; k < len; k++) {
                unsigned char c = (unsigned char)s[k];
                if (c == '%') {
                    if (k + 2 >= len)
                        return fail(err, errlen, "segment %zu: truncated percent-escape", segno);
                    if (!is_hex((unsigned char)s[k + 1]) || !is_hex((unsigned char)s[k + 2]))
                        return fail(err, errlen, "segment %zu: bad percent-escape", segno);
                    k += 2;
                } else if (!is_pchar(c)) {
                    return fail_character(pat, n, segno, c, err, errlen);
                }
            }
            seg->kind = TYCHO_SEG_STATIC;
            seg->p = s;
            seg->n = len;
        }
        if (last) break;
        i++; /* skip '/' */
    }
    return 0;
}

tycho_router_t *tycho_router_new(void)
{
    return calloc(1, sizeof(tycho_router_t));
}

static void node_free(node_t *nd)
{
    for (size_t i = 0; i < nd->nstatics; i++) {
        node_free(nd->statics[i]);
        free(nd->statics[i]);
    }
    free(nd->statics);
    free(nd->seg);
    if (nd->param) node_free(nd->param), free(nd->param);
    if (nd->wild) node_free(nd->wild), free(nd->wild);
}

void tycho_router_free(tycho_router_t *r)
{
    if (!r) return;
    node_free(&r->root);
    for (entry_t *e = r->first, *next; e; e = next) {
        next = e->next_all;
        free(e->pattern);
        free(e->names_buf);
        free(e);
    }
    free(r);
}

static node_t *child(node_t *nd, const tycho_pattern_seg_t *seg)
{
    node_t **slot;
    if (seg->kind == TYCHO_SEG_PARAM) {
        slot = &nd->param;
    } else if (seg->kind == TYCHO_SEG_WILD) {
        slot = &nd->wild;
    } else {
        for (size_t i = 0; i < nd->nstatics; i++)
            if (nd->statics[i]->n == seg->n && memcmp(nd->statics[i]->seg, seg->p, seg->n) == 0)
                return nd->statics[i];
        if (nd->nstatics == nd->capstatics) {
            size_t cap = nd->capstatics ? nd->capstatics * 2 : 4;
            node_t **ns = realloc(nd->statics, cap * sizeof *ns);
            if (!ns) return NULL;
            nd->statics = ns;
            nd->capstatics = cap;
        }
        node_t *c = calloc(1, sizeof *c);
        if (!c) return NULL;
        c->seg = malloc(seg->n + 1);
        if (!c->seg) return free(c), NULL;
        memcpy(c->seg, seg->p, seg->n);
        c->seg[seg->n] = 0;
        c->n = seg->n;
        nd->statics[nd->nstatics++] = c;
        return c;
    }
    if (!*slot) *slot = calloc(1, sizeof(node_t));
    return *slot;
}

/* Adds the entry for a parsed pattern (its text points into the caller's
 * storage: what the tree keeps is copied). */
static int insert(tycho_router_t *r, const char *method, size_t mlen, const char *pattern,
                  const tycho_pattern_t *pat, void *data, void **existing, char *err, size_t errlen)
{
    node_t *nd = &r->root;
    for (size_t i = 0; i < pat->nsegs; i++) {
        nd = child(nd, &pat->segs[i]);
        if (!nd) return fail(err, errlen, "out of memory");
    }
    for (entry_t *e = nd->entries; e; e = e->next_at_node) {
        if (strcmp(e->method, method) == 0) {
            if (existing) *existing = e->data;
            return TYCHO_ROUTER_CONFLICT;
        }
    }
    entry_t *e = calloc(1, sizeof *e);
    if (!e) return fail(err, errlen, "out of memory");
    memcpy(e->method, method, mlen + 1);
    e->mlen = mlen;
    e->pattern = strdup(pattern);
    size_t names = 0;
    for (size_t i = 0; i < pat->nsegs; i++)
        if (pat->segs[i].kind != TYCHO_SEG_STATIC) names += pat->segs[i].n + 1;
    e->names_buf = malloc(names + 1);
    if (!e->pattern || !e->names_buf) {
        free(e->pattern), free(e->names_buf), free(e);
        return fail(err, errlen, "out of memory");
    }
    char *w = e->names_buf;
    for (size_t i = 0; i < pat->nsegs; i++) {
        const tycho_pattern_seg_t *s = &pat->segs[i];
        if (s->kind == TYCHO_SEG_STATIC) continue;
        memcpy(w, s->p, s->n);
        w[s->n] = 0;
        e->param_names[e->nparams] = w;
        e->param_lens[e->nparams++] = s->n;
        w += s->n + 1;
    }
    e->data = data;
    e->seq = r->count;
    e->next_at_node = nd->entries;
    nd->entries = e;
    if (r->last)
        r->last->next_all = e;
    else
        r->first = e;
    r->last = e;
    r->count++;
    return 0;
}

int tycho_router_add(tycho_router_t *r, const char *method, const char *pattern, void *data,
                     void **existing, char *err, size_t errlen)
{
    size_t mlen = strlen(method);
    if (!tycho_method_valid(method, mlen))
        return fail(err, errlen,
                    "bad method '%s' (expected an upper-case token such as GET, at most %d "
                    "characters)",
                    method, TYCHO_ROUTER_MAX_METHOD);
    size_t plen = strlen(pattern);
    tycho_pattern_t pat;
    char perr[160];
    if (tycho_pattern_parse(pattern, plen, &pat, perr, sizeof perr) != 0)
        return fail(err, errlen, "bad pattern '%s': %s", pattern, perr);
    /* the tree holds the normalised form, as lookups compare (its escapes
     * are valid: the parse above checked them) */
    char *norm = malloc(plen + 1);
    if (!norm) return fail(err, errlen, "out of memory");
    size_t nlen = (size_t)tycho_percent_normalize(pattern, plen, norm);
    tycho_pattern_parse(norm, nlen, &pat, NULL, 0);
    int rc = insert(r, method, mlen, pattern, &pat, data, existing, err, errlen);
    free(norm);
    return rc;
}

size_t tycho_router_count(const tycho_router_t *r)
{
    return r->count;
}

/* --- lookup ---------------------------------------------------------------- */

typedef struct walk {
    const char *method;
    size_t mlen;
    int head;
    const char *path;
    size_t plen;
    size_t nvals;
    const char *vals[TYCHO_ROUTER_MAX_PARAMS];
    size_t vlens[TYCHO_ROUTER_MAX_PARAMS];
    /* allow mode: for each method of the routes matching the path, the first
     * such route declared */
    int allow;
    const entry_t *firsts[TYCHO_ROUTER_ALLOW_METHODS];
    size_t nfirsts;
} walk_t;

/* Allow mode: counts e's method, keeping the route that declared it first. */
static void allow_add(walk_t *w, const entry_t *e)
{
    for (size_t i = 0; i < w->nfirsts; i++) {
        if (strcmp(w->firsts[i]->method, e->method) != 0) continue;
        if (e->seq < w->firsts[i]->seq) w->firsts[i] = e;
        return;
    }
    if (w->nfirsts < TYCHO_ROUTER_ALLOW_METHODS) w->firsts[w->nfirsts++] = e;
}

static const entry_t *entry_for(const node_t *nd, const char *m, size_t mlen)
{
    for (const entry_t *e = nd->entries; e; e = e->next_at_node)
        if (e->mlen == mlen && memcmp(e->method, m, mlen) == 0) return e;
    return NULL;
}

/* Returns the entry found (match mode) or NULL; in allow mode collects every
 * terminal entry of every node matching the path and always returns NULL. */
static const entry_t *walk(walk_t *w, const node_t *nd, size_t pos)
{
    if (pos > w->plen) {
        /* the whole path is consumed: nd is a candidate terminal */
        if (w->allow) {
            for (const entry_t *e = nd->entries; e; e = e->next_at_node)
                allow_add(w, e);
            return NULL;
        }
        const entry_t *e = entry_for(nd, w->method, w->mlen);
        if (!e && w->head) e = entry_for(nd, "GET", 3);
        return e;
    }
    size_t end = pos;
    while (end < w->plen && w->path[end] != '/')
        end++;
    const char *s = w->path + pos;
    size_t n = end - pos;
    for (size_t i = 0; i < nd->nstatics; i++) {
        const node_t *c = nd->statics[i];
        if (c->n == n && memcmp(c->seg, s, n) == 0) {
            const entry_t *e = walk(w, c, end + 1);
            if (e) return e;
        }
    }
    if (nd->param && n > 0 && w->nvals < TYCHO_ROUTER_MAX_PARAMS) {
        w->vals[w->nvals] = s;
        w->vlens[w->nvals++] = n;
        const entry_t *e = walk(w, nd->param, end + 1);
        if (e) return e;
        w->nvals--;
    }
    if (nd->wild && w->nvals < TYCHO_ROUTER_MAX_PARAMS) {
        w->vals[w->nvals] = s;
        w->vlens[w->nvals++] = w->plen - pos;
        const entry_t *e = walk(w, nd->wild, w->plen + 1);
        if (e) return e;
        w->nvals--;
    }
    return NULL;
}

/* A path as the tree compares it: the request's own bytes when it has no
 * '%' (most paths: one memchr), else its normalised copy. */
typedef struct lookup_path {
    const char *p;
    size_t n;
    char *copy;
} lookup_path_t;

/* 0, TYCHO_ROUTE_BAD_PATH or -1 (out of memory). */
static int lookup_path_init(lookup_path_t *lp, const char *path, size_t plen)
{
    *lp = (lookup_path_t){path, plen, NULL};
    if (!memchr(path, '%', plen)) return 0;
    lp->copy = malloc(plen);
    if (!lp->copy) return -1;
    ssize_t n = tycho_percent_normalize(path, plen, lp->copy);
    if (n < 0) {
        free(lp->copy);
        return TYCHO_ROUTE_BAD_PATH;
    }
    lp->p = lp->copy;
    lp->n = (size_t)n;
    return 0;
}

/* Where in the request's path the segment boundary at offset off of its
 * normalised form lies: normalising keeps every '/', so counting them finds
 * it. A boundary is a segment's start (after a '/'), its end (at a '/') or
 * the end of the path. */
static size_t raw_offset(const lookup_path_t *lp, const char *path, size_t plen, size_t off)
{
    if (!lp->copy) return off; /* the path itself */
    if (off >= lp->n) return plen;
    size_t slashes = 0;
    for (size_t i = 0; i < off; i++)
        slashes += lp->p[i] == '/';
    int at_end = lp->p[off] == '/';
    if (at_end) slashes++;
    size_t i = 0;
    for (size_t seen = 0; i < plen; i++)
        if (path[i] == '/' && ++seen == slashes) break;
    return at_end ? i : i + 1;
}

/* The asterisk-form target (RFC 9110 9.3.7): the server as a whole. */
static int is_asterisk(const char *path, size_t plen)
{
    return plen == 1 && path[0] == '*';
}

int tycho_router_match(const tycho_router_t *r, const char *method, size_t mlen, const char *path,
                       size_t plen, tycho_route_match_t *m)
{
    if (is_asterisk(path, plen)) return TYCHO_ROUTE_METHOD_NOT_ALLOWED;
    if (plen == 0 || path[0] != '/') return TYCHO_ROUTE_NOT_FOUND;
    lookup_path_t lp;
    int rc = lookup_path_init(&lp, path, plen);
    if (rc != 0) return rc;
    walk_t w;
    w.method = method;
    w.mlen = mlen;
    w.head = (mlen == 4 && memcmp(method, "HEAD", 4) == 0);
    w.path = lp.p;
    w.plen = lp.n;
    w.nvals = 0;
    w.allow = 0;
    w.nfirsts = 0;
    const entry_t *e = walk(&w, &r->root, 1);
    if (e) {
        m->data = e->data;
        m->pattern = e->pattern;
        m->method = e->method;
        m->nparams = e->nparams;
        for (size_t i = 0; i < e->nparams; i++) {
            /* values point into the request's path, which outlives lp */
            size_t start = (size_t)(w.vals[i] - lp.p);
            size_t from = raw_offset(&lp, path, plen, start);
            m->params[i].name = e->param_names[i];
            m->params[i].nlen = e->param_lens[i];
            m->params[i].value = path + from;
            m->params[i].vlen = raw_offset(&lp, path, plen, start + w.vlens[i]) - from;
        }
        rc = TYCHO_ROUTE_FOUND;
    } else {
        w.allow = 1;
        w.nvals = 0;
        walk(&w, &r->root, 1);
        rc = w.nfirsts ? TYCHO_ROUTE_METHOD_NOT_ALLOWED : TYCHO_ROUTE_NOT_FOUND;
    }
    free(lp.copy);
    return rc;
}

static int by_seq(const void *a, const void *b)
{
    size_t x = (*(const entry_t *const *)a)->seq, y = (*(const entry_t *const *)b)->seq;
    return (x > y) - (x < y);
}

static void add_method(const char **list, size_t *n, const char *m)
{
    for (size_t i = 0; i < *n; i++)
        if (strcmp(list[i], m) == 0) return;
    list[(*n)++] = m;
}

/* Appends ", m" (or m first) to out when it fits whole: a method is never
 * cut. Returns the new length. */
static size_t append_method(char *out, size_t outlen, size_t off, const char *m)
{
    const char *sep = off ? ", " : "";
    size_t k = strlen(sep) + strlen(m);
    if (off + k >= outlen) return off;
    snprintf(out + off, outlen - off, "%s%s", sep, m);
    return off + k;
}

size_t tycho_router_allow(const tycho_router_t *r, const char *path, size_t plen, char *out,
                          size_t outlen)
{
    if (outlen) out[0] = 0;
    int all = is_asterisk(path, plen);
    walk_t w;
    memset(&w, 0, sizeof w);
    w.allow = 1;
    if (all) {
        for (const entry_t *e = r->first; e; e = e->next_all)
            allow_add(&w, e);
    } else {
        lookup_path_t lp;
        if (plen == 0 || path[0] != '/' || lookup_path_init(&lp, path, plen) != 0) return 0;
        w.path = lp.p;
        w.plen = lp.n;
        walk(&w, &r->root, 1);
        free(lp.copy);
    }
    if (!w.nfirsts && !all) return 0;
    /* in declaration order, so the header is stable across reloads */
    qsort(w.firsts, w.nfirsts, sizeof *w.firsts, by_seq);
    const char *list[TYCHO_ROUTER_ALLOW_METHODS + 2]; /* + HEAD, OPTIONS */
    size_t n = 0, options = 0;                        /* OPTIONS goes last, declared or not */
    for (size_t i = 0; i < w.nfirsts; i++) {
        const char *m = w.firsts[i]->method;
        if (strcmp(m, "OPTIONS") == 0) {
            options = 1;
            continue;
        }
        add_method(list, &n, m);
        if (strcmp(m, "GET") == 0) add_method(list, &n, "HEAD");
    }
    size_t distinct = n + options;
    add_method(list, &n, "OPTIONS");
    size_t off = 0;
    for (size_t i = 0; i < n; i++)
        off = append_method(out, outlen, off, list[i]);
    return distinct;
}

void tycho_router_foreach(const tycho_router_t *r,
                          void (*fn)(void *ud, const char *method, const char *pattern, void *data),
                          void *ud)
{
    for (const entry_t *e = r->first; e; e = e->next_all)
        fn(ud, e->method, e->pattern, e->data);
}
