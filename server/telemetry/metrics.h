/* metrics — the registry of counters, gauges and histograms with labels.
 * Every metric keeps one shard per writer thread (worker i writes shard i, the
 * telemetry/main thread writes the last one). Threading rule: registration
 * and snapshots may run on any thread (registry lock); an update of shard k
 * may run ONLY on the thread that owns shard k, and it takes no lock and does
 * no atomic read-modify-write (relaxed load + store of its own cells). Series
 * creation takes the per-shard lock (owner vs. scraper) and, the first time a
 * label set is seen on that shard, the metric's label-table lock. See
 * server/telemetry/README.md for the full contract. */
#ifndef TYCHO_TELEMETRY_METRICS_H
#define TYCHO_TELEMETRY_METRICS_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    TYCHO_METRIC_COUNTER,
    TYCHO_METRIC_GAUGE,
    TYCHO_METRIC_HISTOGRAM,
} tycho_metric_type_t;

/* "counter", "gauge" or "histogram" (Prometheus' TYPE words). */
static inline const char *tycho_metric_type_name(tycho_metric_type_t t)
{
    switch (t) {
    case TYCHO_METRIC_COUNTER:
        return "counter";
    case TYCHO_METRIC_GAUGE:
        return "gauge";
    case TYCHO_METRIC_HISTOGRAM:
        return "histogram";
    }
    return "untyped"; /* not reached: the enum is covered */
}

/* How a gauge's shards merge at scrape time. SUM (default) fits gauges each
 * worker contributes a part of (connections open, requests in flight); LAST
 * returns the value of the most recent set on any shard (a setting every
 * worker reports, e.g. the route generation); it takes no inc. A gauge with a `worker` label
 * has one writer per series, so both modes give that writer's value. */
typedef enum {
    TYCHO_GAUGE_MERGE_SUM,
    TYCHO_GAUGE_MERGE_LAST,
} tycho_gauge_merge_t;

#define TYCHO_METRICS_MAX_LABELS 16
#define TYCHO_METRICS_MAX_BUCKETS 64
#define TYCHO_METRICS_MAX_NAME 200         /* bytes, metric and label names */
#define TYCHO_METRICS_MAX_LABEL_VALUE 1024 /* bytes; longer values are -E2BIG */
#define TYCHO_METRICS_DEFAULT_MAX_SERIES 1000
/* Every label of the overflow series carries this value; an update that
 * gives it to every label updates the overflow series (never a second
 * series of the same labels), without counting as a fold. */
#define TYCHO_METRICS_OVERFLOW_VALUE "__overflow__"
/* The registry's own counter of updates folded into an overflow series. */
#define TYCHO_METRICS_OVERFLOW_METRIC "tycho_metrics_overflow_total"

typedef struct tycho_metrics tycho_metrics_t; /* the registry */
typedef struct tycho_metric tycho_metric_t;   /* one family; lives as long as the registry */
typedef struct tycho_series tycho_series_t;   /* one label set on one shard */

typedef struct tycho_metric_opts {
    const char *name; /* [a-zA-Z_:][a-zA-Z0-9_:]* */
    const char *help; /* NULL or "" -> the name is used as help */
    tycho_metric_type_t type;
    const char *const *label_names; /* [a-zA-Z_][a-zA-Z0-9_]*, not "__*", not "le" (histograms) */
    size_t nlabels;
    const double
        *buckets; /* histograms: strictly increasing finite upper bounds (a trailing
                     +Inf is accepted and dropped); NULL -> TYCHO_METRICS_LATENCY_BUCKETS */
    size_t nbuckets;
    size_t max_series;         /* distinct label sets before folding; 0 -> registry default */
    tycho_gauge_merge_t merge; /* gauges only */
    /* Which load made the definition: a number that grows with each load and
     * is the same for every thread's definitions of one load (the Lua route
     * loads count 1, 2, ...); 0: never replaces and is never replaced —
     * tycho's own metrics. See tycho_metrics_register. */
    uint64_t stamp;
    /* 1: *out comes with a claim on it (see tycho_metric_release), taken
     * under the registry's lock, so that no release elsewhere can free it
     * first */
    int hold;
} tycho_metric_opts_t;

/* 0.005 .. 10 seconds, the usual request-latency buckets (11 bounds). */
extern const double TYCHO_METRICS_LATENCY_BUCKETS[];
extern const size_t TYCHO_METRICS_LATENCY_NBUCKETS;

/* A registry with nshards shards (workers + 1 is the usual count: the
 * telemetry/main thread writes the last). default_max_series 0 -> 1000.
 * Also registers TYCHO_METRICS_OVERFLOW_METRIC. NULL on ENOMEM/EINVAL. */
tycho_metrics_t *tycho_metrics_new(unsigned nshards, size_t default_max_series);
/* Frees the registry and every metric, series and handle from it. No thread
 * may use it any more, and every snapshot must have been freed. */
void tycho_metrics_free(tycho_metrics_t *r);
unsigned tycho_metrics_nshards(const tycho_metrics_t *r);

/* Registers a family or returns the existing one when name, type, label
 * names (same order), buckets and merge mode match: re-registering on a Lua
 * reload is the normal case (a newer stamp's help text replaces the
 * family's; within one stamp the first is kept). A definition of
 * another shape replaces the family when its stamp is newer than every
 * definition of the family so far (a reload changed it): the old family is
 * retired — no longer in snapshots, its updates kept but unseen — until the
 * last claim on it is released (tycho_metric_release), or the registry is
 * freed. One from an older load (a generation still finishing)
 * gets the retired family of its own shape (made, retired, if there is
 * none), and so does one from a load older than tycho_metrics_drop_older's
 * when no family has the name. Anything else of another shape (stamp 0, the
 * same load) is a conflict. A definition whose samples would collide with
 * an older load's family (histogram x, gauge x_count) retires that family;
 * with a newer load's, it gets a retired family. A definition with a stamp
 * never gets a family first registered without one (tycho's own), whatever
 * its shape. Returns 0 and *out, or
 * -EINVAL (bad name/labels/buckets, or a conflict with an existing family) /
 * -ENOMEM with a one-line reason in err. Any thread. */
int tycho_metrics_register(tycho_metrics_t *r, const tycho_metric_opts_t *opts,
                           tycho_metric_t **out, char *err, size_t errlen);
/* Gives back a claim taken with the registration (tycho_metric_opts_t.hold;
 * a Lua metric object holds one on the family it updates): a retired
 * family is freed when its last claim is released, and must not be used
 * after that. Any thread. */
void tycho_metric_release(tycho_metric_t *m);
/* Drops the families no load since `stamp` defined: every family whose
 * newest definition has a stamp older than it (tycho's own, stamp 0, stay).
 * They leave snapshots at once, as a replaced family does (retired, freed
 * with their last claim), and a later definition from an older load gets a
 * retired family. For a reload that succeeded everywhere, with its load's
 * stamp: the metrics its route files no longer define go (serve does it
 * through tycho_metrics_commit_load, below). Returns how many
 * (one that cannot be moved for want of memory stays). Any thread. */
size_t tycho_metrics_drop_older(tycho_metrics_t *r, uint64_t stamp);
/* A reload's definitions as one change (tycho serve: the main thread, one
 * reload at a time). After begin_load, with the load every worker serves,
 * a definition from a newer load (the one the workers prepare) changes
 * nothing a snapshot shows: a new family, one that replaces a family of
 * another shape (and retires what its samples would collide with), and a
 * same-shape redefinition's help text wait. Such a definition is checked as
 * tycho_metrics_register says and gets the family it will update: the
 * serving family for its shape, else a new one kept aside. commit_load,
 * with that load's stamp once every worker switched to it, makes them all
 * take effect at once, then drops what the load left out
 * (tycho_metrics_drop_older; *dropped: how many, when not NULL); 0, or
 * -ENOMEM: nothing changed (as rollback). rollback_load (a reload that did
 * not switch every worker) forgets them: the families made for the load
 * are retired, freed with their last claim, and /metrics is as before the
 * reload. Outside begin/commit every definition takes effect at once. Any
 * thread. */
void tycho_metrics_begin_load(tycho_metrics_t *r, uint64_t serving);
int tycho_metrics_commit_load(tycho_metrics_t *r, uint64_t stamp, size_t *dropped);
void tycho_metrics_rollback_load(tycho_metrics_t *r);
/* Retired families not freed yet (tests, diagnostics). Any thread. */
size_t tycho_metrics_nretired(tycho_metrics_t *r);
/* The family of that name, or NULL. Any thread. */
tycho_metric_t *tycho_metrics_find(tycho_metrics_t *r, const char *name);

const char *tycho_metric_name(const tycho_metric_t *m);
tycho_metric_type_t tycho_metric_type(const tycho_metric_t *m);
size_t tycho_metric_nlabels(const tycho_metric_t *m);

/* Name validation (Prometheus data model). 1 valid, 0 not. */
int tycho_metrics_valid_name(const char *name);
int tycho_metrics_valid_label_name(const char *name); /* also rejects the reserved "__" prefix */

/* --- updates, keyed: label values in the order of the family's label names
 * (NULL values count as ""). Only on the thread owning `shard`. Return 0,
 * -EINVAL (wrong type, bad shard, negative counter increment, a non-finite
 * amount, value or observation, inc of a LAST gauge), -ERANGE (the shard's
 * value, or a histogram's sum, would no longer be finite: nothing changed;
 * the sum over the shards a snapshot makes may still overflow), -E2BIG
 * (value too long) or -ENOMEM. A new label set past the
 * cap is folded into the overflow series and counted; it is not an error
 * (the family's first fold writes one warning line). */
int tycho_metric_inc(tycho_metric_t *m, unsigned shard, const char *const *values, double v);
int tycho_metric_set(tycho_metric_t *m, unsigned shard, const char *const *values, double v);
int tycho_metric_observe(tycho_metric_t *m, unsigned shard, const char *const *values, double v);

/* --- updates through a pre-resolved series: no lookup at all. The handle
 * belongs to `shard` and may be used only on its owner thread; it stays valid
 * for the registry's lifetime. NULL on error (errno-style code in *rc if
 * non-NULL). A handle resolved past the cap is the overflow series. */
tycho_series_t *tycho_metric_series(tycho_metric_t *m, unsigned shard, const char *const *values,
                                    int *rc);
/* inc: counters (v >= 0) and gauges merged by SUM (any v, i.e. "add"; a
 * LAST gauge takes only set); set: gauges; observe: histograms. 0,
 * -EINVAL or -ERANGE, as the keyed updates above. */
int tycho_series_inc(tycho_series_t *s, double v);
int tycho_series_set(tycho_series_t *s, double v);
int tycho_series_observe(tycho_series_t *s, double v);
/* 1 when s is its metric's overflow series (a handle resolved past the
 * cap): a caller keeping handles must resolve such a label set again on each
 * update, so that every folded update is counted. */
int tycho_series_is_overflow(const tycho_series_t *s);
/* The value of this shard's cell (counter/gauge) or the observation count
 * (histogram). Owner thread, or any thread for an approximate read. */
double tycho_series_value(const tycho_series_t *s);

/* --- callback series: the value is computed on the scraping thread by
 * fn(ud), e.g. process metrics or a queue depth, and added to whatever the
 * shards hold for the same label set (normally nothing). For counters and
 * gauges.
 * Registering again for the same label values replaces fn/ud. fn runs with
 * the registry lock held: it must not call into the registry. Callback
 * series do not count against the cardinality cap. Any thread. */
typedef double (*tycho_metric_value_fn)(void *ud);
int tycho_metric_set_callback(tycho_metric_t *m, const char *const *values,
                              tycho_metric_value_fn fn, void *ud);

/* --- snapshots: a merged, self-contained copy for exposition and exporters.
 * Names, label names and label values are borrowed from the registry
 * (immutable, valid until tycho_metrics_free; a retired family is not
 * freed while a snapshot holds it); help texts (which a reload may change)
 * and numbers are copied. */
typedef struct tycho_snapshot_series {
    const char *const *label_values; /* nlabels, aligned with the family's label_names */
    double value;                    /* counter / gauge */
    const uint64_t *buckets;         /* histogram: cumulative counts, nbounds + 1 (last = +Inf) */
    double sum;                      /* histogram */
    uint64_t count;                  /* histogram: == buckets[nbounds] */
} tycho_snapshot_series_t;

typedef struct tycho_snapshot_family {
    const char *name;
    const char *help;
    tycho_metric_type_t type;
    const char *const *label_names;
    size_t nlabels;
    const double *bounds; /* histogram upper bounds, without +Inf */
    size_t nbounds;
    tycho_snapshot_series_t *series; /* in label-set creation order */
    size_t nseries;
    void *internal_; /* private to metrics.c */
    void *family_;   /* private to metrics.c */
} tycho_snapshot_family_t;

typedef struct tycho_metrics_snapshot {
    tycho_snapshot_family_t *families; /* in registration order */
    size_t nfamilies;
    int64_t timestamp_ms; /* wall clock when taken */
    void *registry_;      /* private to metrics.c */
} tycho_metrics_snapshot_t;

/* Merges every shard (counters and histograms summed, gauges per their merge
 * mode) and runs the callbacks. A histogram series' buckets, count and sum
 * are of the same observations, even while its owner observes (it may wait
 * for an observation half made, never the owner for it). Any thread; the telemetry thread normally.
 * Blocks registration and series creation (not updates) while it runs.
 * Returns NULL on ENOMEM. Free with tycho_metrics_snapshot_free. */
tycho_metrics_snapshot_t *tycho_metrics_snapshot(tycho_metrics_t *r);
void tycho_metrics_snapshot_free(tycho_metrics_snapshot_t *s);
/* The family of that name in a snapshot, or NULL (a linear scan). */
const tycho_snapshot_family_t *tycho_metrics_snapshot_find(const tycho_metrics_snapshot_t *s,
                                                           const char *name);

#endif
