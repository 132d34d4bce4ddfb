#include "exporters/remote_write.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "exporters/export_arena.h"
#include "exporters/export_snappy.h"
#include "prw.pb-c.h"
#include "telemetry/prometheus_text.h"

typedef struct enc {
    const tycho_rw_options_t *o;
    size_t max;
    tycho_export_arena_t arena;
    Tycho__Prw__TimeSeries **series;
    size_t nseries, cap;
    tycho_buf_t raw, body;
    int compress; /* 0: one raw request into *raw_out */
    tycho_buf_t *raw_out;
    tycho_rw_emit_fn emit;
    void *ud;
} enc_t;

typedef struct pair {
    const char *name, *value;
} pair_t;

static int flush(enc_t *e)
{
    if (!e->nseries) return 0;
    if (e->arena.failed) return -ENOMEM;
    Tycho__Prw__WriteRequest req = TYCHO__PRW__WRITE_REQUEST__INIT;
    req.timeseries = e->series;
    req.n_timeseries = e->nseries;
    size_t size = tycho__prw__write_request__get_packed_size(&req);
    tycho_buf_t *dst = e->compress ? &e->raw : e->raw_out;
    if (e->compress) tycho_buf_reset(&e->raw);
    if (tycho_buf_reserve(dst, size + 1) != 0) return -ENOMEM;
    tycho__prw__write_request__pack(&req, (uint8_t *)dst->data + dst->len);
    dst->len += size;
    dst->data[dst->len] = 0;
    int rc = 0;
    if (e->compress) {
        tycho_buf_reset(&e->body);
        if ((rc = tycho_export_snappy(e->raw.data, e->raw.len, &e->body)) == 0)
            rc = e->emit(&e->body, e->nseries, e->ud);
    }
    e->nseries = 0;
    tycho_export_arena_free(&e->arena);
    return rc;
}

static double stale_marker(void)
{
    uint64_t bits = TYCHO_RW_STALE_NAN_BITS;
    double d;
    memcpy(&d, &bits, sizeof d);
    return d;
}

/* One series with one sample; labels sorted here. */
static int add(enc_t *e, pair_t *labels, size_t n, double value, int64_t ts)
{
    /* insertion sort: a handful of labels (strcmp compares as unsigned char) */
    for (size_t i = 1; i < n; i++) {
        pair_t p = labels[i];
        size_t j = i;
        while (j > 0 && strcmp(labels[j - 1].name, p.name) > 0) {
            labels[j] = labels[j - 1];
            j--;
        }
        labels[j] = p;
    }
    if (e->nseries == e->cap) {
        size_t ncap = e->cap ? e->cap * 2 : 256;
        void *p = realloc(e->series, ncap * sizeof *e->series);
        if (!p) return -ENOMEM;
        e->series = p;
        e->cap = ncap;
    }
    tycho_export_arena_t *a = &e->arena;
    Tycho__Prw__TimeSeries *ts_msg = tycho_export_arena_alloc(a, sizeof *ts_msg);
    Tycho__Prw__Sample *s = tycho_export_arena_alloc(a, sizeof *s);
    Tycho__Prw__Sample **sp = tycho_export_arena_alloc(a, sizeof *sp);
    Tycho__Prw__Label **lp = tycho_export_arena_array(a, n, sizeof *lp);
    if (!ts_msg || !s || !sp || !lp) return -ENOMEM;
    *ts_msg = (Tycho__Prw__TimeSeries)TYCHO__PRW__TIME_SERIES__INIT;
    *s = (Tycho__Prw__Sample)TYCHO__PRW__SAMPLE__INIT;
    s->value = e->o->stale ? stale_marker() : value;
    s->timestamp = ts;
    sp[0] = s;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (!labels[i].value || !*labels[i].value) continue; /* empty: leave out */
        Tycho__Prw__Label *l = tycho_export_arena_alloc(a, sizeof *l);
        if (!l) return -ENOMEM;
        *l = (Tycho__Prw__Label)TYCHO__PRW__LABEL__INIT;
        l->name = (char *)labels[i].name;
        l->value = tycho_export_arena_utf8(a, labels[i].value, strlen(labels[i].value));
        if (!l->value) return -ENOMEM;
        lp[k++] = l;
    }
    ts_msg->labels = lp;
    ts_msg->n_labels = k;
    ts_msg->samples = sp;
    ts_msg->n_samples = 1;
    e->series[e->nseries++] = ts_msg;
    if (e->compress && e->nseries >= e->max) return flush(e);
    return 0;
}

static char *suffixed(tycho_export_arena_t *a, const char *name, const char *suffix)
{
    size_t n = strlen(name), s = strlen(suffix);
    char *p = tycho_export_arena_alloc(a, n + s + 1);
    if (!p) return NULL;
    memcpy(p, name, n);
    memcpy(p + n, suffix, s + 1);
    return p;
}

/* Fills the family's labels plus job/instance (unless the series has them)
 * into out; returns the count. The caller adds __name__ (and le). */
static size_t base_labels(const enc_t *e, const tycho_snapshot_family_t *f,
                          const tycho_snapshot_series_t *s, pair_t *out)
{
    size_t n = 0;
    int has_job = 0, has_instance = 0;
    for (size_t i = 0; i < f->nlabels; i++) {
        const char *v = s->label_values[i];
        if (!v || !*v) continue;
        if (strcmp(f->label_names[i], "job") == 0) has_job = 1;
        if (strcmp(f->label_names[i], "instance") == 0) has_instance = 1;
        out[n++] = (pair_t){f->label_names[i], v};
    }
    if (!has_job && e->o->job && *e->o->job) out[n++] = (pair_t){"job", e->o->job};
    if (!has_instance && e->o->instance && *e->o->instance)
        out[n++] = (pair_t){"instance", e->o->instance};
    return n;
}

static int encode(enc_t *e, const tycho_metrics_snapshot_t *snap)
{
    pair_t labels[TYCHO_METRICS_MAX_LABELS + 4];
    int64_t ts = snap->timestamp_ms;
    for (size_t fi = 0; fi < snap->nfamilies; fi++) {
        const tycho_snapshot_family_t *f = &snap->families[fi];
        for (size_t si = 0; si < f->nseries; si++) {
            const tycho_snapshot_series_t *s = &f->series[si];
            size_t n = base_labels(e, f, s, labels);
            int rc;
            if (f->type != TYCHO_METRIC_HISTOGRAM) {
                labels[n] = (pair_t){"__name__", f->name};
                if ((rc = add(e, labels, n + 1, s->value, ts))) return rc;
                continue;
            }
            /* The arena may be reset by a flush inside add(): names are made
             * again for each sample. */
            pair_t l2[TYCHO_METRICS_MAX_LABELS + 4];
            for (size_t b = 0; b <= f->nbounds; b++) {
                char le[32];
                if (b < f->nbounds)
                    tycho_prom_format_double(f->bounds[b], le);
                else
                    memcpy(le, "+Inf", 5);
                /* both live in the arena: the message is packed later */
                char *name = suffixed(&e->arena, f->name, "_bucket");
                char *lev = suffixed(&e->arena, le, "");
                if (!name || !lev) return -ENOMEM;
                memcpy(l2, labels, n * sizeof *l2);
                l2[n] = (pair_t){"__name__", name};
                l2[n + 1] = (pair_t){"le", lev};
                if ((rc = add(e, l2, n + 2, (double)s->buckets[b], ts))) return rc;
            }
            char *name = suffixed(&e->arena, f->name, "_sum");
            if (!name) return -ENOMEM;
            memcpy(l2, labels, n * sizeof *l2);
            l2[n] = (pair_t){"__name__", name};
            if ((rc = add(e, l2, n + 1, s->sum, ts))) return rc;
            if (!(name = suffixed(&e->arena, f->name, "_count"))) return -ENOMEM;
            memcpy(l2, labels, n * sizeof *l2);
            l2[n] = (pair_t){"__name__", name};
            if ((rc = add(e, l2, n + 1, (double)s->count, ts))) return rc;
        }
    }
    return flush(e);
}

int tycho_rw_encode(const tycho_metrics_snapshot_t *snap, const tycho_rw_options_t *o,
                    tycho_rw_emit_fn emit, void *ud)
{
    enc_t e = {.o = o,
               .max = o->max_samples ? o->max_samples : 2000,
               .compress = 1,
               .emit = emit,
               .ud = ud};
    int rc = encode(&e, snap);
    tycho_export_arena_free(&e.arena);
    free(e.series);
    tycho_buf_free(&e.raw);
    tycho_buf_free(&e.body);
    return rc;
}

int tycho_rw_encode_raw(const tycho_metrics_snapshot_t *snap, const tycho_rw_options_t *o,
                        tycho_buf_t *out)
{
    enc_t e = {.o = o, .max = (size_t)-1, .compress = 0, .raw_out = out};
    int rc = encode(&e, snap);
    tycho_export_arena_free(&e.arena);
    free(e.series);
    return rc;
}
