#include "telemetry/metrics.h"

#include "core/fnv.h"
#include "core/log.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdalign.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CACHE_LINE 64

const double TYCHO_METRICS_LATENCY_BUCKETS[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                0.5,   1,    2.5,   5,    10};
const size_t TYCHO_METRICS_LATENCY_NBUCKETS =
    sizeof TYCHO_METRICS_LATENCY_BUCKETS / sizeof TYCHO_METRICS_LATENCY_BUCKETS[0];

/* An interned label set of one family: immutable once published, never freed
 * before the registry. idx orders series in snapshots. */
struct labelset {
    uint64_t hash;
    uint32_t idx;
    bool overflow;
    bool admitted;            /* counts against the cap (not the overflow or a callback-only set) */
    tycho_metric_value_fn fn; /* callback series; guarded by the metric lock */
    void *ud;
    const char *values[]; /* nlabels pointers; the strings follow in the same block */
};

/* One value cell set of one label set on one shard. Only the owner thread
 * stores into the cells; the scraper loads them. A histogram's cells change
 * together: seq is odd while an observation is half made (see
 * tycho_series_observe and read_histogram). */
struct tycho_series {
    _Atomic uint64_t value; /* double bits: counter/gauge value, histogram sum */
    _Atomic uint64_t stamp; /* gauges (LAST merge): CLOCK_MONOTONIC ns of the last write */
    _Atomic uint64_t seq;   /* histograms: observations begun + observations done */
    struct tycho_series *next;
    const struct labelset *ls;
    tycho_metric_t *metric;
    _Atomic uint64_t buckets[]; /* histogram: per-bucket (non-cumulative) counts, nbounds + 1 */
};

/* A family's view of one shard: the owner looks series up here without a
 * lock; it inserts (and the scraper walks) under the shard's lock. */
struct mshard {
    tycho_series_t **table; /* open addressing, power-of-two capacity */
    size_t tcap;
    size_t count;
    size_t admitted;          /* series of admitted label sets on this shard */
    tycho_series_t *head;     /* every series, for the scraper */
    tycho_series_t *overflow; /* the overflow series, once needed */
    /* updates folded on this shard: TYCHO_METRICS_OVERFLOW_METRIC's series
     * of this family is their sum, made by each snapshot, so that it goes
     * with the family (a dropped or replaced one's count means nothing
     * later) */
    _Atomic uint64_t overflow_hits;
};

struct tycho_metric {
    tycho_metrics_t *reg;
    char *name;
    char *help;
    tycho_metric_type_t type;
    tycho_gauge_merge_t merge;
    char **label_names;
    size_t nlabels;
    double *bounds;
    size_t nbounds;
    size_t max_series;
    uint64_t stamp; /* the newest load that defined it (tycho_metric_opts_t.stamp) */
    /* a load being committed (tycho_metrics_begin_load) defined it again in
     * its shape: the stamp and help text it takes at the commit (0, NULL:
     * none); registry lock */
    uint64_t pending_stamp;
    char *pending_help;
    bool staged;      /* made by that load, in the registry's staged list; registry lock */
    size_t holds;     /* claims (tycho_metric_opts_t.hold); registry lock */
    bool retired;     /* replaced: in the registry's retired list; registry lock */
    bool released;    /* retired, and its last claim released: freed once no
                         snapshot borrows its strings; registry lock */
    size_t borrowers; /* snapshots that hold it (its strings); registry lock */

    pthread_mutex_t lock;   /* the label table below */
    struct labelset **sets; /* by idx */
    size_t nsets, setcap;
    struct labelset **itab; /* open addressing on hash */
    size_t itcap;
    size_t admitted;         /* non-overflow, non-callback label sets */
    atomic_bool full;        /* admitted reached max_series */
    atomic_bool fold_logged; /* the line of its first folded label set was written */
    struct labelset *overflow_set;

    struct mshard *shards; /* nshards */
};

struct shard_lock {
    alignas(CACHE_LINE) pthread_mutex_t lock;
};

struct tycho_metrics {
    pthread_mutex_t lock; /* families, registration, snapshots */
    unsigned nshards;
    size_t default_max_series;
    struct shard_lock *shards;
    tycho_metric_t **families;
    size_t nfamilies, famcap;
    tycho_metric_t **retired; /* replaced by a newer definition: kept for their handles */
    size_t nretired, retcap;
    /* families of loads older than this were dropped (tycho_metrics_drop_older):
     * such a load's definitions get retired families from then on */
    uint64_t dropped_below;
    /* a load being committed (tycho_metrics_begin_load): definitions with a
     * stamp above `serving` are kept aside until commit or rollback */
    bool loading;
    uint64_t serving;
    tycho_metric_t **staged; /* its new families, in definition order */
    size_t nstaged, stagedcap;
    tycho_metric_t *overflow_metric;
};

/* --- small helpers ------------------------------------------------------ */

static void seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static inline uint64_t dbl_bits(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u;
}

static inline double bits_dbl(uint64_t u)
{
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

static uint64_t now_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static const char *val_or_empty(const char *const *values, size_t i)
{
    return values && values[i] ? values[i] : "";
}

/* FNV-1a over the values, each followed by 0xff (never in UTF-8). */
static uint64_t hash_values(const char *const *values, size_t n)
{
    uint64_t h = TYCHO_FNV_OFFSET;
    for (size_t i = 0; i < n; i++) {
        for (const unsigned char *p = (const unsigned char *)val_or_empty(values, i); *p; p++)
            h = tycho_fnv_byte(h, *p);
        h = tycho_fnv_byte(h, 0xff);
    }
    return h ? h : 1;
}

static bool values_equal(const struct labelset *ls, const char *const *values, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(ls->values[i], val_or_empty(values, i)) != 0) return false;
    return true;
}

static int check_values(const tycho_metric_t *m, const char *const *values)
{
    if (m->nlabels && !values) return -EINVAL;
    for (size_t i = 0; i < m->nlabels; i++)
        if (strlen(val_or_empty(values, i)) > TYCHO_METRICS_MAX_LABEL_VALUE) return -E2BIG;
    return 0;
}

/* --- validation --------------------------------------------------------- */

int tycho_metrics_valid_name(const char *name)
{
    if (!name || !*name || strlen(name) > TYCHO_METRICS_MAX_NAME) return 0;
    for (const char *p = name; *p; p++) {
        char c = *p;
        bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
        if (!alpha && !(p != name && c >= '0' && c <= '9')) return 0;
    }
    return 1;
}

int tycho_metrics_valid_label_name(const char *name)
{
    if (!name || !*name || strlen(name) > TYCHO_METRICS_MAX_NAME) return 0;
    if (name[0] == '_' && name[1] == '_') return 0;
    for (const char *p = name; *p; p++) {
        char c = *p;
        bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
        if (!alpha && !(p != name && c >= '0' && c <= '9')) return 0;
    }
    return 1;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* Sample names a family puts on the wire collide with another family's? A
 * histogram "x" owns x_bucket, x_sum and x_count. */
static bool names_collide(const char *a, tycho_metric_type_t ta, const char *b,
                          tycho_metric_type_t tb)
{
    static const char *const hsuffix[] = {"_bucket", "_sum", "_count"};
    if (ta == TYCHO_METRIC_HISTOGRAM) {
        size_t n = strlen(a);
        for (size_t i = 0; i < 3; i++)
            if (ends_with(b, hsuffix[i]) && strlen(b) == n + strlen(hsuffix[i]) &&
                strncmp(a, b, n) == 0)
                return true;
    }
    if (tb == TYCHO_METRIC_HISTOGRAM) return names_collide(b, tb, a, TYCHO_METRIC_COUNTER);
    return false;
}

static void describe_labels(char *out, size_t outlen, const char *const *names, size_t n)
{
    size_t off = 0;
    out[0] = 0;
    off += (size_t)snprintf(out + off, outlen - off, "[");
    for (size_t i = 0; i < n && off < outlen; i++)
        off += (size_t)snprintf(out + off, outlen - off, "%s%s", i ? "," : "", names[i]);
    if (off < outlen) snprintf(out + off, outlen - off, "]");
}

/* --- registry ----------------------------------------------------------- */

tycho_metrics_t *tycho_metrics_new(unsigned nshards, size_t default_max_series)
{
    if (nshards == 0 || nshards > 4096) return NULL;
    tycho_metrics_t *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    r->nshards = nshards;
    r->default_max_series =
        default_max_series ? default_max_series : TYCHO_METRICS_DEFAULT_MAX_SERIES;
    pthread_mutex_init(&r->lock, NULL);
    if (posix_memalign((void **)&r->shards, CACHE_LINE, nshards * sizeof *r->shards) != 0) {
        r->shards = NULL;
        goto err;
    }
    for (unsigned i = 0; i < nshards; i++)
        pthread_mutex_init(&r->shards[i].lock, NULL);

    static const char *const labels[] = {"metric"};
    tycho_metric_opts_t o = {
        .name = TYCHO_METRICS_OVERFLOW_METRIC,
        .help = "Updates folded into a metric's overflow series because the metric reached its "
                "series cap.",
        .type = TYCHO_METRIC_COUNTER,
        .label_names = labels,
        .nlabels = 1,
        .max_series = 100000,
    };
    if (tycho_metrics_register(r, &o, &r->overflow_metric, NULL, 0) != 0) goto err;
    return r;
err:
    tycho_metrics_free(r);
    return NULL;
}

unsigned tycho_metrics_nshards(const tycho_metrics_t *r)
{
    return r->nshards;
}

static void metric_free(tycho_metric_t *m, unsigned nshards)
{
    if (!m) return;
    if (m->shards) {
        for (unsigned k = 0; k < nshards; k++) {
            tycho_series_t *s = m->shards[k].head;
            while (s) {
                tycho_series_t *next = s->next;
                free(s);
                s = next;
            }
            free(m->shards[k].table);
        }
        free(m->shards);
    }
    for (size_t i = 0; i < m->nsets; i++)
        free(m->sets[i]);
    free(m->sets);
    free(m->itab);
    for (size_t i = 0; i < m->nlabels; i++)
        free(m->label_names[i]);
    free(m->label_names);
    free(m->bounds);
    free(m->name);
    free(m->help);
    free(m->pending_help);
    pthread_mutex_destroy(&m->lock);
    free(m);
}

void tycho_metrics_free(tycho_metrics_t *r)
{
    if (!r) return;
    for (size_t i = 0; i < r->nfamilies; i++)
        metric_free(r->families[i], r->nshards);
    free(r->families);
    for (size_t i = 0; i < r->nretired; i++)
        metric_free(r->retired[i], r->nshards);
    free(r->retired);
    for (size_t i = 0; i < r->nstaged; i++)
        metric_free(r->staged[i], r->nshards);
    free(r->staged);
    if (r->shards) {
        for (unsigned i = 0; i < r->nshards; i++)
            pthread_mutex_destroy(&r->shards[i].lock);
        free(r->shards);
    }
    pthread_mutex_destroy(&r->lock);
    free(r);
}

static tycho_metric_t *find_locked(tycho_metrics_t *r, const char *name)
{
    for (size_t i = 0; i < r->nfamilies; i++)
        if (strcmp(r->families[i]->name, name) == 0) return r->families[i];
    return NULL;
}

tycho_metric_t *tycho_metrics_find(tycho_metrics_t *r, const char *name)
{
    pthread_mutex_lock(&r->lock);
    tycho_metric_t *m = find_locked(r, name);
    pthread_mutex_unlock(&r->lock);
    return m;
}

const char *tycho_metric_name(const tycho_metric_t *m)
{
    return m->name;
}

tycho_metric_type_t tycho_metric_type(const tycho_metric_t *m)
{
    return m->type;
}

size_t tycho_metric_nlabels(const tycho_metric_t *m)
{
    return m->nlabels;
}

/* Bounds as they will be stored: the given ones minus a trailing +Inf. */
static int validate_opts(const tycho_metric_opts_t *o, const double **bounds, size_t *nbounds,
                         char *err, size_t errlen)
{
    if (!tycho_metrics_valid_name(o->name)) {
        seterr(err, errlen,
               "metric \"%s\": invalid name (want [a-zA-Z_:][a-zA-Z0-9_:]*, at most %d bytes)",
               o->name ? o->name : "(null)", TYCHO_METRICS_MAX_NAME);
        return -EINVAL;
    }
    if (o->type != TYCHO_METRIC_COUNTER && o->type != TYCHO_METRIC_GAUGE &&
        o->type != TYCHO_METRIC_HISTOGRAM) {
        seterr(err, errlen, "metric \"%s\": unknown type %d", o->name, (int)o->type);
        return -EINVAL;
    }
    if (o->nlabels > TYCHO_METRICS_MAX_LABELS || (o->nlabels && !o->label_names)) {
        seterr(err, errlen, "metric \"%s\": at most %d labels", o->name, TYCHO_METRICS_MAX_LABELS);
        return -EINVAL;
    }
    for (size_t i = 0; i < o->nlabels; i++) {
        const char *l = o->label_names[i];
        if (!tycho_metrics_valid_label_name(l)) {
            seterr(err, errlen,
                   "metric \"%s\": invalid label name \"%s\" (want [a-zA-Z_][a-zA-Z0-9_]*, "
                   "not starting with __, at most %d bytes)",
                   o->name, l ? l : "(null)", TYCHO_METRICS_MAX_NAME);
            return -EINVAL;
        }
        if (o->type == TYCHO_METRIC_HISTOGRAM && strcmp(l, "le") == 0) {
            seterr(err, errlen, "metric \"%s\": label \"le\" is reserved for histogram buckets",
                   o->name);
            return -EINVAL;
        }
        for (size_t j = 0; j < i; j++)
            if (strcmp(l, o->label_names[j]) == 0) {
                seterr(err, errlen, "metric \"%s\": duplicate label name \"%s\"", o->name, l);
                return -EINVAL;
            }
    }
    *bounds = NULL;
    *nbounds = 0;
    if (o->type == TYCHO_METRIC_HISTOGRAM) {
        const double *b = o->buckets ? o->buckets : TYCHO_METRICS_LATENCY_BUCKETS;
        size_t n = o->buckets ? o->nbuckets : TYCHO_METRICS_LATENCY_NBUCKETS;
        if (n > 0 && isinf(b[n - 1]) && b[n - 1] > 0) n--;
        if (n == 0 || n > TYCHO_METRICS_MAX_BUCKETS) {
            seterr(err, errlen, "metric \"%s\": a histogram needs 1 to %d bucket bounds", o->name,
                   TYCHO_METRICS_MAX_BUCKETS);
            return -EINVAL;
        }
        for (size_t i = 0; i < n; i++) {
            if (!isfinite(b[i]) || (i > 0 && !(b[i] > b[i - 1]))) {
                seterr(err, errlen,
                       "metric \"%s\": bucket bounds must be finite and strictly increasing",
                       o->name);
                return -EINVAL;
            }
        }
        *bounds = b;
        *nbounds = n;
    }
    return 0;
}

static bool same_shape(const tycho_metric_t *m, const tycho_metric_opts_t *o, const double *bounds,
                       size_t nbounds)
{
    if (m->type != o->type || m->nlabels != o->nlabels) return false;
    for (size_t i = 0; i < m->nlabels; i++)
        if (strcmp(m->label_names[i], o->label_names[i]) != 0) return false;
    if (m->type == TYCHO_METRIC_HISTOGRAM) {
        if (m->nbounds != nbounds) return false;
        for (size_t i = 0; i < nbounds; i++)
            if (m->bounds[i] != bounds[i]) return false;
    }
    if (m->type == TYCHO_METRIC_GAUGE && m->merge != o->merge) return false;
    return true;
}

static struct labelset *labelset_new(const tycho_metric_t *m, const char *const *values,
                                     uint64_t hash)
{
    size_t bytes = sizeof(struct labelset) + m->nlabels * sizeof(char *);
    for (size_t i = 0; i < m->nlabels; i++)
        bytes += strlen(val_or_empty(values, i)) + 1;
    struct labelset *ls = calloc(1, bytes);
    if (!ls) return NULL;
    ls->hash = hash;
    char *p = (char *)ls + sizeof(struct labelset) + m->nlabels * sizeof(char *);
    for (size_t i = 0; i < m->nlabels; i++) {
        const char *v = val_or_empty(values, i);
        size_t n = strlen(v) + 1;
        memcpy(p, v, n);
        ls->values[i] = p;
        p += n;
    }
    return ls;
}

/* Adds ls to the label table. Metric lock held. */
static int intern_add(tycho_metric_t *m, struct labelset *ls)
{
    if (m->nsets == m->setcap) {
        size_t ncap = m->setcap ? m->setcap * 2 : 8;
        struct labelset **n = realloc(m->sets, ncap * sizeof *n);
        if (!n) return -ENOMEM;
        m->sets = n;
        m->setcap = ncap;
    }
    if ((m->nsets + 1) * 2 > m->itcap) {
        size_t ncap = m->itcap ? m->itcap * 2 : 16;
        struct labelset **t = calloc(ncap, sizeof *t);
        if (!t) return -ENOMEM;
        for (size_t i = 0; i < m->nsets; i++) {
            size_t j = m->sets[i]->hash & (ncap - 1);
            while (t[j])
                j = (j + 1) & (ncap - 1);
            t[j] = m->sets[i];
        }
        free(m->itab);
        m->itab = t;
        m->itcap = ncap;
    }
    ls->idx = (uint32_t)m->nsets;
    m->sets[m->nsets++] = ls;
    size_t j = ls->hash & (m->itcap - 1);
    while (m->itab[j])
        j = (j + 1) & (m->itcap - 1);
    m->itab[j] = ls;
    return 0;
}

/* Metric lock held. */
static struct labelset *intern_find(tycho_metric_t *m, const char *const *values, uint64_t hash)
{
    if (!m->itcap) return NULL;
    for (size_t j = hash & (m->itcap - 1); m->itab[j]; j = (j + 1) & (m->itcap - 1)) {
        struct labelset *ls = m->itab[j];
        if (ls->hash == hash && !ls->overflow && values_equal(ls, values, m->nlabels)) return ls;
    }
    return NULL;
}

/* The help text o gives a family. */
static const char *help_of(const tycho_metric_opts_t *o)
{
    return o->help && *o->help ? o->help : o->name;
}

/* A new family of o's shape, not yet in the registry; NULL on ENOMEM. */
static tycho_metric_t *metric_new(tycho_metrics_t *r, const tycho_metric_opts_t *o,
                                  const double *bounds, size_t nbounds)
{
    tycho_metric_t *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    pthread_mutex_init(&m->lock, NULL);
    m->reg = r;
    m->type = o->type;
    m->merge = o->merge == TYCHO_GAUGE_MERGE_LAST ? TYCHO_GAUGE_MERGE_LAST : TYCHO_GAUGE_MERGE_SUM;
    m->max_series = o->max_series ? o->max_series : r->default_max_series;
    m->stamp = o->stamp;
    m->name = strdup(o->name);
    m->help = strdup(help_of(o));
    m->nlabels = o->nlabels;
    m->label_names = calloc(o->nlabels + 1, sizeof *m->label_names);
    m->shards = calloc(r->nshards, sizeof *m->shards);
    if (!m->name || !m->help || !m->label_names || !m->shards) goto fail;
    for (size_t i = 0; i < o->nlabels; i++)
        if (!(m->label_names[i] = strdup(o->label_names[i]))) goto fail;
    if (nbounds) {
        m->bounds = malloc(nbounds * sizeof *m->bounds);
        if (!m->bounds) goto fail;
        memcpy(m->bounds, bounds, nbounds * sizeof *bounds);
        m->nbounds = nbounds;
    }
    if (m->nlabels == 0) {
        /* An unlabelled family always exports its one series, 0 before any update. */
        struct labelset *ls = labelset_new(m, NULL, hash_values(NULL, 0));
        if (!ls || intern_add(m, ls) != 0) {
            free(ls);
            goto fail;
        }
        ls->admitted = true;
        m->admitted = 1;
    }
    return m;
fail:
    metric_free(m, r->nshards);
    return NULL;
}

/* Room for one more pointer in *v (n used of *cap). 0 or -ENOMEM. */
static int reserve_one(tycho_metric_t ***v, size_t n, size_t *cap)
{
    if (n < *cap) return 0;
    size_t ncap = *cap ? *cap * 2 : 32;
    tycho_metric_t **nv = realloc(*v, ncap * sizeof *nv);
    if (!nv) return -ENOMEM;
    *v = nv;
    *cap = ncap;
    return 0;
}

/* The retired family named o->name of o's shape, or NULL. */
static tycho_metric_t *retired_match(tycho_metrics_t *r, const tycho_metric_opts_t *o,
                                     const double *bounds, size_t nbounds)
{
    for (size_t i = 0; i < r->nretired; i++) {
        tycho_metric_t *m = r->retired[i];
        if (strcmp(m->name, o->name) == 0 && same_shape(m, o, bounds, nbounds)) return m;
    }
    return NULL;
}

/* What a definition has besides its type and labels, for conflict(): a
 * histogram's buckets (which, or these), a gauge's merge mode. */
static const char *shape_extra(tycho_metric_type_t type, tycho_gauge_merge_t merge,
                               const char *buckets)
{
    if (type == TYCHO_METRIC_HISTOGRAM) return buckets;
    if (type != TYCHO_METRIC_GAUGE) return "";
    return merge == TYCHO_GAUGE_MERGE_LAST ? " and merge \"last\"" : " and merge \"sum\"";
}

static void conflict(char *err, size_t errlen, const tycho_metric_t *m,
                     const tycho_metric_opts_t *o)
{
    char have[512], want[512];
    describe_labels(have, sizeof have, (const char *const *)m->label_names, m->nlabels);
    describe_labels(want, sizeof want, o->label_names, o->nlabels);
    seterr(err, errlen,
           "metric \"%s\": already registered as %s with labels %s%s; cannot register it as "
           "%s with labels %s%s",
           o->name, tycho_metric_type_name(m->type), have,
           shape_extra(m->type, m->merge, " and its buckets"), tycho_metric_type_name(o->type),
           want, shape_extra(o->type, o->merge, " and these buckets"));
}

/* Stamp a is a later load than stamp b (0: neither is ordered). */
static bool newer(uint64_t a, uint64_t b)
{
    return a && b && a > b;
}

/* Registry lock held. Frees m, a retired family nothing refers to any
 * more: no claim, no snapshot. */
static void free_retired(tycho_metrics_t *r, tycho_metric_t *m)
{
    for (size_t i = 0; i < r->nretired; i++)
        if (r->retired[i] == m) {
            r->retired[i] = r->retired[--r->nretired];
            break;
        }
    metric_free(m, r->nshards);
}

/* Registry lock held, room for one more in r->retired. Puts m, which no
 * snapshot will take any more, in the retired list; frees it at once when
 * nothing refers to it. */
static void retire(tycho_metrics_t *r, tycho_metric_t *m)
{
    m->retired = true;
    r->retired[r->nretired++] = m;
    if (!m->holds) {
        m->released = true;
        if (!m->borrowers) free_retired(r, m);
    }
}

/* Registry lock held. Takes m out of the families (the exposition keeps the
 * others' order) into the retired list; freed at once when nothing refers
 * to it. 0, or -ENOMEM: m stays. */
static int retire_family(tycho_metrics_t *r, size_t i)
{
    tycho_metric_t *m = r->families[i];
    if (reserve_one(&r->retired, r->nretired, &r->retcap) != 0) return -ENOMEM;
    memmove(&r->families[i], &r->families[i + 1], (r->nfamilies - i - 1) * sizeof *r->families);
    r->nfamilies--;
    retire(r, m);
    return 0;
}

static int nomem(char *err, size_t errlen, const tycho_metric_opts_t *o)
{
    seterr(err, errlen, "metric \"%s\": out of memory", o->name);
    return -ENOMEM;
}

/* 0 when o's samples would not collide with another family's (old, which o
 * replaces, aside); 1 when they would with a newer load's (o's load is
 * still finishing: it gets a retired family); else -EINVAL and why in err.
 * A family of an older load that o's would collide with is retired first:
 * o's load left it out (it would have its stamp otherwise), as when a
 * histogram x is replaced by a counter x_count. */
static int check_collisions(tycho_metrics_t *r, const tycho_metric_opts_t *o,
                            const tycho_metric_t *old, char *err, size_t errlen)
{
    int older = 0;
    for (size_t i = 0; i < r->nfamilies; i++) {
        tycho_metric_t *f = r->families[i];
        if (f == old || !names_collide(o->name, o->type, f->name, f->type)) continue;
        if (newer(f->stamp, o->stamp)) {
            older = 1;
        } else if (!newer(o->stamp, f->stamp)) {
            seterr(err, errlen, "metric \"%s\": its samples would collide with %s \"%s\"", o->name,
                   tycho_metric_type_name(f->type), f->name);
            return -EINVAL;
        }
    }
    if (older) return 1;
    for (size_t i = 0; i < r->nfamilies;) {
        tycho_metric_t *f = r->families[i];
        if (f != old && names_collide(o->name, o->type, f->name, f->type)) {
            if (retire_family(r, i) != 0) return nomem(err, errlen, o);
            continue;
        }
        i++;
    }
    return 0;
}

/* Registry lock held. For a definition from a load older than the
 * family's (a generation still finishing its requests): the retired family
 * of its shape, made (retired from the start) when there is none. */
static int register_retired(tycho_metrics_t *r, const tycho_metric_opts_t *o, const double *bounds,
                            size_t nbounds, tycho_metric_t **out, char *err, size_t errlen)
{
    *out = retired_match(r, o, bounds, nbounds);
    if (*out) return 0;
    if (reserve_one(&r->retired, r->nretired, &r->retcap) != 0 ||
        !(*out = metric_new(r, o, bounds, nbounds))) {
        return nomem(err, errlen, o);
    }
    (*out)->retired = true;
    r->retired[r->nretired++] = *out;
    return 0;
}

/* Registry lock held. old, of o's shape, as o's newer load defines it: its
 * help text is that load's (an edited HELP shows after a reload). */
static int take_newer(tycho_metric_t *old, const tycho_metric_opts_t *o, tycho_metric_t **out,
                      char *err, size_t errlen)
{
    if (strcmp(old->help, help_of(o)) != 0) {
        char *help = strdup(help_of(o));
        if (!help) return nomem(err, errlen, o);
        free(old->help);
        old->help = help;
    }
    old->stamp = o->stamp;
    *out = old;
    return 0;
}

/* Registry lock held. The family o names as it stands, replaced when o is
 * a newer definition (see tycho_metrics_register), or a new one. A family
 * first registered without a stamp is tycho's own: a stamped definition
 * (a route load's) may not take its name, even with its very shape. */
static int register_locked(tycho_metrics_t *r, const tycho_metric_opts_t *o, const double *bounds,
                           size_t nbounds, tycho_metric_t **out, char *err, size_t errlen)
{
    tycho_metric_t *old = find_locked(r, o->name);
    if (old && !old->stamp && o->stamp) { /* whatever its shape: no adding to tycho's counts */
        seterr(err, errlen, "metric \"%s\": the name is one of tycho's own metrics; choose another",
               o->name);
        return -EINVAL;
    }
    if (old && same_shape(old, o, bounds, nbounds)) {
        if (newer(o->stamp, old->stamp)) return take_newer(old, o, out, err, errlen);
        *out = old;
        return 0;
    }
    /* a newer load replaced it, or every load since its own left it out */
    if ((old && newer(old->stamp, o->stamp)) || (!old && newer(r->dropped_below, o->stamp)))
        return register_retired(r, o, bounds, nbounds, out, err, errlen);
    if (old && !newer(o->stamp, old->stamp)) {
        conflict(err, errlen, old, o);
        return -EINVAL;
    }
    int rc = check_collisions(r, o, old, err, errlen);
    if (rc == 1) return register_retired(r, o, bounds, nbounds, out, err, errlen);
    if (rc) return rc;
    tycho_metric_t *m = NULL;
    if (reserve_one(&r->families, r->nfamilies, &r->famcap) != 0 ||
        (old && reserve_one(&r->retired, r->nretired, &r->retcap) != 0) ||
        !(m = metric_new(r, o, bounds, nbounds)))
        return nomem(err, errlen, o);
    if (old) { /* in its place, so the exposition keeps its order */
        for (size_t i = 0; i < r->nfamilies; i++)
            if (r->families[i] == old) r->families[i] = m;
        old->retired = true;
        r->retired[r->nretired++] = old;
    } else {
        r->families[r->nfamilies++] = m;
    }
    *out = m;
    return 0;
}

/* --- a load's definitions, committed together -------------------------- */

static tycho_metric_t *staged_find(tycho_metrics_t *r, const char *name)
{
    for (size_t i = 0; i < r->nstaged; i++)
        if (strcmp(r->staged[i]->name, name) == 0) return r->staged[i];
    return NULL;
}

/* Registry lock held. -EINVAL (why in err) when o's samples would collide
 * with a family o's load keeps at its commit (one it defined, or tycho's
 * own); 0 otherwise: an older load's family in the way is retired by the
 * commit (o's load left it out), as check_collisions does at once. old:
 * the family of o's name, which o keeps or replaces. */
static int staged_collisions(tycho_metrics_t *r, const tycho_metric_opts_t *o,
                             const tycho_metric_t *old, char *err, size_t errlen)
{
    for (size_t i = 0; i < r->nfamilies + r->nstaged; i++) {
        const tycho_metric_t *f = i < r->nfamilies ? r->families[i] : r->staged[i - r->nfamilies];
        bool kept = f->staged || !f->stamp || f->pending_stamp == o->stamp;
        if (f == old || !kept || !names_collide(o->name, o->type, f->name, f->type)) continue;
        seterr(err, errlen, "metric \"%s\": its samples would collide with %s \"%s\"", o->name,
               tycho_metric_type_name(f->type), f->name);
        return -EINVAL;
    }
    return 0;
}

/* Registry lock held. A definition of the load being committed: the same
 * rules as register_locked (o is newer than every family), but what it
 * changes waits for tycho_metrics_commit_load. A family of o's shape keeps
 * serving updates as it is (its help text and stamp wait); one of another
 * shape is a new family kept aside, which the commit puts in its place. */
static int register_staged(tycho_metrics_t *r, const tycho_metric_opts_t *o, const double *bounds,
                           size_t nbounds, tycho_metric_t **out, char *err, size_t errlen)
{
    tycho_metric_t *st = staged_find(r, o->name);
    if (st) { /* this load defined it already, in another shape than the family's */
        if (!same_shape(st, o, bounds, nbounds)) {
            conflict(err, errlen, st, o);
            return -EINVAL;
        }
        *out = st;
        return 0;
    }
    tycho_metric_t *old = find_locked(r, o->name);
    if (old && !old->stamp) {
        seterr(err, errlen, "metric \"%s\": the name is one of tycho's own metrics; choose another",
               o->name);
        return -EINVAL;
    }
    bool same = old && same_shape(old, o, bounds, nbounds);
    if (old && old->pending_stamp == o->stamp) { /* this load defined it already, in its shape */
        if (!same) {
            conflict(err, errlen, old, o);
            return -EINVAL;
        }
        *out = old;
        return 0;
    }
    int rc = staged_collisions(r, o, old, err, errlen);
    if (rc) return rc;
    if (same) {
        char *help = strdup(help_of(o));
        if (!help) return nomem(err, errlen, o);
        free(old->pending_help);
        old->pending_help = help;
        old->pending_stamp = o->stamp;
        *out = old;
        return 0;
    }
    tycho_metric_t *m = NULL;
    if (reserve_one(&r->staged, r->nstaged, &r->stagedcap) != 0 ||
        !(m = metric_new(r, o, bounds, nbounds)))
        return nomem(err, errlen, o);
    m->staged = true;
    r->staged[r->nstaged++] = m;
    *out = m;
    return 0;
}

/* Registry lock held. Room for n more pointers in *v. */
static int reserve_n(tycho_metric_t ***v, size_t used, size_t *cap, size_t n)
{
    if (used + n <= *cap) return 0;
    size_t ncap = used + n;
    tycho_metric_t **nv = realloc(*v, ncap * sizeof *nv);
    if (!nv) return -ENOMEM;
    *v = nv;
    *cap = ncap;
    return 0;
}

/* Registry lock held. Forgets what the load being committed defined. */
static void rollback_locked(tycho_metrics_t *r)
{
    for (size_t i = 0; i < r->nfamilies; i++) {
        tycho_metric_t *f = r->families[i];
        free(f->pending_help);
        f->pending_help = NULL;
        f->pending_stamp = 0;
    }
    for (size_t i = 0; i < r->nstaged; i++) {
        tycho_metric_t *m = r->staged[i];
        m->staged = false;
        if (reserve_one(&r->retired, r->nretired, &r->retcap) == 0) {
            retire(r, m);
        } else if (!m->holds) {
            metric_free(m, r->nshards);
        } else { /* freed with its last claim all the same (free_retired) */
            m->retired = m->released = true;
        }
    }
    r->nstaged = 0;
    r->loading = false;
}

/* Registry lock held. Retires every family no load since `stamp` defined. */
static size_t drop_older_locked(tycho_metrics_t *r, uint64_t stamp)
{
    size_t n = 0;
    if (stamp > r->dropped_below) r->dropped_below = stamp;
    for (size_t i = 0; i < r->nfamilies;) {
        tycho_metric_t *m = r->families[i];
        if (newer(stamp, m->stamp) && retire_family(r, i) == 0) {
            n++;
            continue;
        }
        i++;
    }
    return n;
}

void tycho_metrics_begin_load(tycho_metrics_t *r, uint64_t serving)
{
    pthread_mutex_lock(&r->lock);
    if (r->loading) rollback_locked(r);
    r->loading = true;
    r->serving = serving;
    pthread_mutex_unlock(&r->lock);
}

void tycho_metrics_rollback_load(tycho_metrics_t *r)
{
    pthread_mutex_lock(&r->lock);
    if (r->loading) rollback_locked(r);
    pthread_mutex_unlock(&r->lock);
}

/* Room first, so that the load's definitions take effect together: every
 * staged family enters the families, and at most every family and staged
 * one is retired. */
int tycho_metrics_commit_load(tycho_metrics_t *r, uint64_t stamp, size_t *dropped)
{
    pthread_mutex_lock(&r->lock);
    size_t n = r->nfamilies + r->nstaged;
    if (r->loading && (reserve_n(&r->families, r->nfamilies, &r->famcap, r->nstaged) != 0 ||
                       reserve_n(&r->retired, r->nretired, &r->retcap, n) != 0)) {
        rollback_locked(r);
        pthread_mutex_unlock(&r->lock);
        return -ENOMEM;
    }
    for (size_t i = 0; r->loading && i < r->nfamilies; i++) {
        tycho_metric_t *f = r->families[i];
        if (!f->pending_stamp) continue;
        free(f->help);
        f->help = f->pending_help;
        f->stamp = f->pending_stamp;
        f->pending_help = NULL;
        f->pending_stamp = 0;
    }
    for (size_t k = 0; r->loading && k < r->nstaged; k++) {
        tycho_metric_t *m = r->staged[k];
        m->staged = false;
        tycho_metric_t *old = find_locked(r, m->name);
        size_t i = 0;
        while (old && r->families[i] != old)
            i++;
        r->families[old ? i : r->nfamilies++] = m; /* in old's place: the order stays */
        if (old) retire(r, old);
        /* an older load's family its samples would collide with (registered
         * meanwhile by a generation still serving) */
        for (i = 0; i < r->nfamilies;) {
            tycho_metric_t *f = r->families[i];
            if (f != m && f->stamp && newer(m->stamp, f->stamp) &&
                names_collide(m->name, m->type, f->name, f->type)) {
                memmove(&r->families[i], &r->families[i + 1],
                        (r->nfamilies - i - 1) * sizeof *r->families);
                r->nfamilies--;
                retire(r, f);
                continue;
            }
            i++;
        }
    }
    r->nstaged = 0;
    r->loading = false;
    size_t d = drop_older_locked(r, stamp);
    if (dropped) *dropped = d;
    pthread_mutex_unlock(&r->lock);
    return 0;
}

void tycho_metric_release(tycho_metric_t *m)
{
    tycho_metrics_t *r = m->reg;
    pthread_mutex_lock(&r->lock);
    if (m->holds) m->holds--;
    if (m->retired && !m->holds) {
        m->released = true;
        if (!m->borrowers) free_retired(r, m);
    }
    pthread_mutex_unlock(&r->lock);
}

size_t tycho_metrics_drop_older(tycho_metrics_t *r, uint64_t stamp)
{
    pthread_mutex_lock(&r->lock);
    size_t n = drop_older_locked(r, stamp);
    pthread_mutex_unlock(&r->lock);
    return n;
}

size_t tycho_metrics_nretired(tycho_metrics_t *r)
{
    pthread_mutex_lock(&r->lock);
    size_t n = r->nretired;
    pthread_mutex_unlock(&r->lock);
    return n;
}

int tycho_metrics_register(tycho_metrics_t *r, const tycho_metric_opts_t *o, tycho_metric_t **out,
                           char *err, size_t errlen)
{
    const double *bounds;
    size_t nbounds;
    int rc = validate_opts(o, &bounds, &nbounds, err, errlen);
    if (rc) return rc;
    pthread_mutex_lock(&r->lock);
    if (r->loading && o->stamp > r->serving)
        rc = register_staged(r, o, bounds, nbounds, out, err, errlen);
    else
        rc = register_locked(r, o, bounds, nbounds, out, err, errlen);
    if (rc == 0 && o->hold) (*out)->holds++;
    pthread_mutex_unlock(&r->lock);
    return rc;
}

/* --- series lookup and creation ---------------------------------------- */

static tycho_series_t *shard_find(const struct mshard *ms, const char *const *values, size_t n,
                                  uint64_t hash)
{
    if (!ms->tcap) return NULL;
    for (size_t j = hash & (ms->tcap - 1); ms->table[j]; j = (j + 1) & (ms->tcap - 1)) {
        tycho_series_t *s = ms->table[j];
        if (s->ls->hash == hash && !s->ls->overflow && values_equal(s->ls, values, n)) return s;
    }
    return NULL;
}

static tycho_series_t *series_alloc(tycho_metric_t *m, const struct labelset *ls)
{
    size_t nb = m->type == TYCHO_METRIC_HISTOGRAM ? m->nbounds + 1 : 0;
    size_t bytes = sizeof(tycho_series_t) + nb * sizeof(_Atomic uint64_t);
    bytes = (bytes + CACHE_LINE - 1) / CACHE_LINE * CACHE_LINE;
    void *p;
    /* Cache-line aligned so two shards' cells never share a line. */
    if (posix_memalign(&p, CACHE_LINE, bytes) != 0) return NULL;
    memset(p, 0, bytes);
    tycho_series_t *s = p;
    atomic_init(&s->value, dbl_bits(0.0));
    atomic_init(&s->stamp, 0);
    atomic_init(&s->seq, 0);
    for (size_t i = 0; i < nb; i++)
        atomic_init(&s->buckets[i], 0);
    s->ls = ls;
    s->metric = m;
    return s;
}

/* Inserts a new series for ls into this shard (owner thread). */
static tycho_series_t *shard_insert(tycho_metric_t *m, unsigned shard, const struct labelset *ls)
{
    struct mshard *ms = &m->shards[shard];
    tycho_series_t *s = series_alloc(m, ls);
    if (!s) return NULL;
    pthread_mutex_t *lock = &m->reg->shards[shard].lock;
    pthread_mutex_lock(lock);
    if (!ls->overflow && (ms->count + 1) * 2 > ms->tcap) {
        size_t ncap = ms->tcap ? ms->tcap * 2 : 8;
        tycho_series_t **t = calloc(ncap, sizeof *t);
        if (!t) {
            pthread_mutex_unlock(lock);
            free(s);
            return NULL;
        }
        for (size_t i = 0; i < ms->tcap; i++) {
            tycho_series_t *e = ms->table[i];
            if (!e) continue;
            size_t j = e->ls->hash & (ncap - 1);
            while (t[j])
                j = (j + 1) & (ncap - 1);
            t[j] = e;
        }
        free(ms->table);
        ms->table = t;
        ms->tcap = ncap;
    }
    if (ls->overflow) {
        ms->overflow = s;
    } else {
        size_t j = ls->hash & (ms->tcap - 1);
        while (ms->table[j])
            j = (j + 1) & (ms->tcap - 1);
        ms->table[j] = s;
        ms->count++;
        if (ls->admitted) ms->admitted++;
    }
    s->next = ms->head;
    ms->head = s;
    pthread_mutex_unlock(lock);
    return s;
}

static inline void cell_inc_u64(_Atomic uint64_t *cell, memory_order order);

/* Owner thread of the shard: a relaxed load + store, as every cell. */
static void count_overflow(tycho_metric_t *m, unsigned shard)
{
    cell_inc_u64(&m->shards[shard].overflow_hits, memory_order_relaxed);
}

static tycho_series_t *overflow_series(tycho_metric_t *m, unsigned shard)
{
    struct mshard *ms = &m->shards[shard];
    if (ms->overflow) return ms->overflow;
    pthread_mutex_lock(&m->lock);
    if (!m->overflow_set) {
        const char *vals[TYCHO_METRICS_MAX_LABELS];
        for (size_t i = 0; i < m->nlabels; i++)
            vals[i] = TYCHO_METRICS_OVERFLOW_VALUE;
        struct labelset *ls = labelset_new(m, vals, hash_values(vals, m->nlabels));
        if (ls) {
            ls->overflow = true;
            if (intern_add(m, ls) == 0)
                m->overflow_set = ls;
            else
                free(ls);
        }
    }
    struct labelset *ls = m->overflow_set;
    pthread_mutex_unlock(&m->lock);
    return ls ? shard_insert(m, shard, ls) : NULL;
}

/* The first label set m folds: one warning line, so that whoever reads the
 * logs learns that updates of new label sets lose their labels from now on
 * (tycho_metrics_overflow_total goes on counting every one). Once per
 * family: a reload's new definition is a new family. */
static void log_first_fold(tycho_metric_t *m)
{
    if (atomic_exchange_explicit(&m->fold_logged, true, memory_order_relaxed)) return;
    tycho_log_warn("metric reached its label set cap: new label sets go to its overflow series",
                   LF_STR("metric", m->name), LF_INT("max_series", m->max_series),
                   LF_STR("overflow_value", TYCHO_METRICS_OVERFLOW_VALUE));
}

/* Whether values are the overflow series' own: every label __overflow__. */
static bool names_overflow(const tycho_metric_t *m, const char *const *values)
{
    for (size_t i = 0; i < m->nlabels; i++)
        if (strcmp(val_or_empty(values, i), TYCHO_METRICS_OVERFLOW_VALUE) != 0) return false;
    return m->nlabels > 0;
}

/* Slow path: the label set is not on this shard yet. */
static tycho_series_t *series_create(tycho_metric_t *m, unsigned shard, const char *const *values,
                                     uint64_t hash, bool *folded)
{
    struct mshard *ms = &m->shards[shard];
    *folded = false;
    /* an update naming the overflow labels joins that series, not a second
     * one of the same labels (the exposition would repeat them) */
    if (names_overflow(m, values)) return overflow_series(m, shard);
    /* Once the family is full its admitted sets are frozen: a shard that
     * already holds all of them knows without a lock that this set is new. */
    if (atomic_load_explicit(&m->full, memory_order_acquire) && ms->admitted >= m->max_series) {
        *folded = true;
        return overflow_series(m, shard);
    }
    pthread_mutex_lock(&m->lock);
    struct labelset *ls = intern_find(m, values, hash);
    if (!ls) {
        if (m->admitted >= m->max_series) {
            atomic_store_explicit(&m->full, true, memory_order_release);
            pthread_mutex_unlock(&m->lock);
            *folded = true;
            return overflow_series(m, shard);
        }
        ls = labelset_new(m, values, hash);
        if (!ls || intern_add(m, ls) != 0) {
            free(ls);
            pthread_mutex_unlock(&m->lock);
            return NULL;
        }
        ls->admitted = true;
        if (++m->admitted >= m->max_series)
            atomic_store_explicit(&m->full, true, memory_order_release);
    }
    pthread_mutex_unlock(&m->lock);
    return shard_insert(m, shard, ls);
}

static tycho_series_t *lookup(tycho_metric_t *m, unsigned shard, const char *const *values, int *rc,
                              bool count_folds)
{
    if (shard >= m->reg->nshards) {
        *rc = -EINVAL;
        return NULL;
    }
    int vrc = check_values(m, values);
    if (vrc) {
        *rc = vrc;
        return NULL;
    }
    uint64_t hash = hash_values(values, m->nlabels);
    tycho_series_t *s = shard_find(&m->shards[shard], values, m->nlabels, hash);
    if (s) return s;
    bool folded;
    s = series_create(m, shard, values, hash, &folded);
    if (!s) {
        *rc = -ENOMEM;
        return NULL;
    }
    if (folded && count_folds) {
        count_overflow(m, shard);
        log_first_fold(m);
    }
    return s;
}

tycho_series_t *tycho_metric_series(tycho_metric_t *m, unsigned shard, const char *const *values,
                                    int *rc)
{
    int dummy = 0;
    return lookup(m, shard, values, rc ? rc : &dummy, true);
}

/* --- updates ------------------------------------------------------------- */

/* Single writer per cell: a relaxed load + a store, no read-modify-write.
 * order: relaxed, or release for a histogram's cells (read_histogram). */
static inline void cell_add(_Atomic uint64_t *cell, double v, memory_order order)
{
    double cur = bits_dbl(atomic_load_explicit(cell, memory_order_relaxed));
    atomic_store_explicit(cell, dbl_bits(cur + v), order);
}

/* Whether adding v to the cell keeps it finite (the owner's own read). */
static inline bool cell_add_finite(_Atomic uint64_t *cell, double v)
{
    return isfinite(bits_dbl(atomic_load_explicit(cell, memory_order_relaxed)) + v);
}

static inline void cell_inc_u64(_Atomic uint64_t *cell, memory_order order)
{
    uint64_t cur = atomic_load_explicit(cell, memory_order_relaxed);
    atomic_store_explicit(cell, cur + 1, order);
}

/* Counters go up by a finite amount; gauges merged by SUM take any amount.
 * A LAST gauge takes only set: each shard would add to its own value, and
 * the scrape would show that shard's sum, not the last value set plus v. */
static bool inc_allowed(const tycho_metric_t *m, double v)
{
    if (!isfinite(v)) return false;
    if (m->type == TYCHO_METRIC_COUNTER) return v >= 0;
    return m->type == TYCHO_METRIC_GAUGE && m->merge == TYCHO_GAUGE_MERGE_SUM;
}

int tycho_series_inc(tycho_series_t *s, double v)
{
    if (!inc_allowed(s->metric, v)) return -EINVAL;
    if (!cell_add_finite(&s->value, v)) return -ERANGE;
    cell_add(&s->value, v, memory_order_relaxed);
    return 0;
}

int tycho_series_set(tycho_series_t *s, double v)
{
    tycho_metric_t *m = s->metric;
    if (m->type != TYCHO_METRIC_GAUGE || !isfinite(v)) return -EINVAL;
    atomic_store_explicit(&s->value, dbl_bits(v), memory_order_relaxed);
    if (m->merge == TYCHO_GAUGE_MERGE_LAST)
        atomic_store_explicit(&s->stamp, now_mono_ns(), memory_order_relaxed);
    return 0;
}

int tycho_series_observe(tycho_series_t *s, double v)
{
    tycho_metric_t *m = s->metric;
    if (m->type != TYCHO_METRIC_HISTOGRAM || !isfinite(v)) return -EINVAL;
    size_t i = 0;
    while (i < m->nbounds && v > m->bounds[i])
        i++; /* le: v <= bound */
    if (!cell_add_finite(&s->value, v)) return -ERANGE;
    /* A sequence lock the reader retries on, with no read-modify-write: seq
     * odd, then the cells, each a release store (a reader that sees one of
     * them sees seq odd after it), then seq even again (release: a reader
     * that sees it sees both cells). On x86 every one is a plain store. */
    uint64_t q = atomic_load_explicit(&s->seq, memory_order_relaxed);
    atomic_store_explicit(&s->seq, q + 1, memory_order_relaxed);
    cell_inc_u64(&s->buckets[i], memory_order_release);
    cell_add(&s->value, v, memory_order_release);
    atomic_store_explicit(&s->seq, q + 2, memory_order_release);
    return 0;
}

int tycho_series_is_overflow(const tycho_series_t *s)
{
    return s->ls->overflow;
}

double tycho_series_value(const tycho_series_t *s)
{
    tycho_metric_t *m = s->metric;
    if (m->type == TYCHO_METRIC_HISTOGRAM) {
        uint64_t n = 0;
        for (size_t i = 0; i <= m->nbounds; i++)
            n += atomic_load_explicit(&((tycho_series_t *)s)->buckets[i], memory_order_relaxed);
        return (double)n;
    }
    return bits_dbl(atomic_load_explicit(&((tycho_series_t *)s)->value, memory_order_relaxed));
}

int tycho_metric_inc(tycho_metric_t *m, unsigned shard, const char *const *values, double v)
{
    if (!inc_allowed(m, v)) return -EINVAL;
    int rc = 0;
    tycho_series_t *s = lookup(m, shard, values, &rc, true);
    return s ? tycho_series_inc(s, v) : rc;
}

int tycho_metric_set(tycho_metric_t *m, unsigned shard, const char *const *values, double v)
{
    if (m->type != TYCHO_METRIC_GAUGE || !isfinite(v)) return -EINVAL;
    int rc = 0;
    tycho_series_t *s = lookup(m, shard, values, &rc, true);
    return s ? tycho_series_set(s, v) : rc;
}

int tycho_metric_observe(tycho_metric_t *m, unsigned shard, const char *const *values, double v)
{
    if (m->type != TYCHO_METRIC_HISTOGRAM || !isfinite(v)) return -EINVAL;
    int rc = 0;
    tycho_series_t *s = lookup(m, shard, values, &rc, true);
    return s ? tycho_series_observe(s, v) : rc;
}

int tycho_metric_set_callback(tycho_metric_t *m, const char *const *values,
                              tycho_metric_value_fn fn, void *ud)
{
    if (m->type == TYCHO_METRIC_HISTOGRAM || !fn) return -EINVAL;
    int rc = check_values(m, values);
    if (rc) return rc;
    uint64_t hash = hash_values(values, m->nlabels);
    /* The registry lock orders us against snapshots, which call fn. */
    pthread_mutex_lock(&m->reg->lock);
    pthread_mutex_lock(&m->lock);
    struct labelset *ls = intern_find(m, values, hash);
    if (!ls) {
        ls = labelset_new(m, values, hash);
        if (!ls || intern_add(m, ls) != 0) {
            free(ls);
            rc = -ENOMEM;
            goto out;
        }
    }
    ls->fn = fn;
    ls->ud = ud;
out:
    pthread_mutex_unlock(&m->lock);
    pthread_mutex_unlock(&m->reg->lock);
    return rc;
}

/* --- snapshots ----------------------------------------------------------- */

struct acc {
    double value;
    uint64_t stamp;
    bool seen;
};

/* A whole observation count of a histogram series s of nb cells: adds its
 * buckets to b and returns its sum, both of the same observations, however
 * its owner is observing meanwhile. The owner never waits: this retries
 * while an observation is half made or one was made during the read
 * (tycho_series_observe). Acquire loads, so that a cell seen from an
 * observation makes its seq store seen too, and the last seq load cannot
 * come before the cells'. */
static double read_histogram(tycho_series_t *s, size_t nb, uint64_t *b)
{
    uint64_t cells[TYCHO_METRICS_MAX_BUCKETS + 1];
    double sum;
    for (unsigned tries = 0;; tries++) {
        /* the owner was stopped mid-observation: let it run on this core */
        if (tries >= 64) sched_yield();
        uint64_t q = atomic_load_explicit(&s->seq, memory_order_acquire);
        if (q & 1) continue;
        sum = bits_dbl(atomic_load_explicit(&s->value, memory_order_acquire));
        for (size_t i = 0; i < nb; i++)
            cells[i] = atomic_load_explicit(&s->buckets[i], memory_order_acquire);
        if (atomic_load_explicit(&s->seq, memory_order_relaxed) == q) break;
    }
    for (size_t i = 0; i < nb; i++)
        b[i] += cells[i];
    return sum;
}

static int snapshot_family(tycho_metrics_t *r, tycho_metric_t *m, tycho_snapshot_family_t *f)
{
    f->name = m->name;
    f->type = m->type;
    f->label_names = (const char *const *)m->label_names;
    f->nlabels = m->nlabels;
    f->bounds = m->bounds;
    f->nbounds = m->nbounds;

    pthread_mutex_lock(&m->lock);
    size_t n = m->nsets;
    struct labelset **sets = n ? malloc(n * sizeof *sets) : NULL;
    if (n && !sets) {
        pthread_mutex_unlock(&m->lock);
        return -ENOMEM;
    }
    if (n) memcpy(sets, m->sets, n * sizeof *sets);
    pthread_mutex_unlock(&m->lock);

    size_t nb = m->type == TYCHO_METRIC_HISTOGRAM ? m->nbounds + 1 : 0;
    struct acc *acc = calloc(n ? n : 1, sizeof *acc);
    uint64_t *buckets = nb ? calloc(n ? n * nb : 1, sizeof *buckets) : NULL;
    f->series = calloc(n ? n : 1, sizeof *f->series);
    if (!acc || (nb && !buckets) || !f->series) {
        free(sets);
        free(acc);
        free(buckets);
        free(f->series);
        f->series = NULL;
        return -ENOMEM;
    }

    for (unsigned k = 0; k < r->nshards; k++) {
        pthread_mutex_lock(&r->shards[k].lock);
        for (tycho_series_t *s = m->shards[k].head; s; s = s->next) {
            uint32_t idx = s->ls->idx;
            if (idx >= n) continue; /* created after we copied the table */
            struct acc *a = &acc[idx];
            double v = nb ? read_histogram(s, nb, &buckets[idx * nb])
                          : bits_dbl(atomic_load_explicit(&s->value, memory_order_relaxed));
            if (m->type == TYCHO_METRIC_GAUGE && m->merge == TYCHO_GAUGE_MERGE_LAST) {
                uint64_t st = atomic_load_explicit(&s->stamp, memory_order_relaxed);
                if (!a->seen || st >= a->stamp) {
                    a->value = v;
                    a->stamp = st;
                }
            } else {
                a->value += v;
            }
            a->seen = true;
        }
        pthread_mutex_unlock(&r->shards[k].lock);
    }

    size_t out = 0;
    for (size_t i = 0; i < n; i++) {
        struct labelset *ls = sets[i];
        /* An overflow set only shows once used. */
        if (ls->overflow && !acc[i].seen) continue;
        tycho_snapshot_series_t *s = &f->series[out++];
        s->label_values = ls->values;
        if (ls->fn) {
            s->value = acc[i].value + ls->fn(ls->ud);
        } else if (nb) {
            uint64_t *b = &buckets[i * nb];
            for (size_t j = 1; j < nb; j++)
                b[j] += b[j - 1];
            s->buckets = b;
            s->count = b[nb - 1];
            s->sum = acc[i].value;
        } else {
            s->value = acc[i].value;
        }
    }
    f->nseries = out;
    f->internal_ = buckets; /* freed with the snapshot */
    free(sets);
    free(acc);
    return 0;
}

/* Registry lock held. TYCHO_METRICS_OVERFLOW_METRIC as f: one series per
 * family in the snapshot's view (r->families) that folded an update, its
 * label value that family's name (borrowed like every name: the snapshot
 * holds each family). Its own label sets, never updated, are replaced. */
static int snapshot_overflow(tycho_metrics_t *r, tycho_snapshot_family_t *f)
{
    size_t n = r->nfamilies;
    const char **names = calloc(n ? n : 1, sizeof *names);
    tycho_snapshot_series_t *series = calloc(n ? n : 1, sizeof *series);
    if (!names || !series) {
        free(names);
        free(series);
        return -ENOMEM;
    }
    size_t out = 0;
    for (size_t i = 0; i < n; i++) {
        const tycho_metric_t *m = r->families[i];
        uint64_t hits = 0;
        for (unsigned k = 0; k < r->nshards; k++)
            hits += atomic_load_explicit(&m->shards[k].overflow_hits, memory_order_relaxed);
        if (!hits) continue;
        names[out] = m->name;
        series[out].label_values = &names[out];
        series[out].value = (double)hits;
        out++;
    }
    free(f->series);
    free(f->internal_);
    f->series = series;
    f->nseries = out;
    f->internal_ = names; /* freed with the snapshot */
    return 0;
}

tycho_metrics_snapshot_t *tycho_metrics_snapshot(tycho_metrics_t *r)
{
    tycho_metrics_snapshot_t *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    s->timestamp_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;

    pthread_mutex_lock(&r->lock);
    s->registry_ = r;
    s->families = calloc(r->nfamilies ? r->nfamilies : 1, sizeof *s->families);
    if (!s->families) goto fail;
    for (size_t i = 0; i < r->nfamilies; i++) {
        if (snapshot_family(r, r->families[i], &s->families[i]) != 0) goto fail;
        if (r->families[i] == r->overflow_metric && snapshot_overflow(r, &s->families[i]) != 0) {
            free(s->families[i].internal_);
            free(s->families[i].series);
            goto fail;
        }
        s->families[i].family_ = r->families[i];
        r->families[i]->borrowers++;
        s->nfamilies++;
        /* a copy: a reload may change the family's help (register_locked) */
        if (!(s->families[i].help = strdup(r->families[i]->help))) goto fail;
    }
    pthread_mutex_unlock(&r->lock);
    return s;
fail:
    pthread_mutex_unlock(&r->lock);
    tycho_metrics_snapshot_free(s);
    return NULL;
}

void tycho_metrics_snapshot_free(tycho_metrics_snapshot_t *s)
{
    if (!s) return;
    tycho_metrics_t *r = s->registry_;
    if (r) {
        pthread_mutex_lock(&r->lock);
        for (size_t i = 0; i < s->nfamilies; i++) {
            tycho_metric_t *m = s->families[i].family_;
            if (m && !--m->borrowers && m->released) free_retired(r, m);
        }
        pthread_mutex_unlock(&r->lock);
    }
    for (size_t i = 0; i < s->nfamilies; i++) {
        tycho_snapshot_family_t *f = &s->families[i];
        free(f->internal_);
        free(f->series);
        free((char *)f->help);
    }
    free(s->families);
    free(s);
}

const tycho_snapshot_family_t *tycho_metrics_snapshot_find(const tycho_metrics_snapshot_t *s,
                                                           const char *name)
{
    for (size_t i = 0; i < s->nfamilies; i++)
        if (strcmp(s->families[i].name, name) == 0) return &s->families[i];
    return NULL;
}
