/* metrics registry: registration rules, updates, shard merge, cardinality. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "telemetry/metrics.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

/* Whether series i of f has these label values. */
static int series_is(const tycho_snapshot_family_t *f, size_t i, const char *const *values)
{
    for (size_t j = 0; j < f->nlabels; j++)
        if (strcmp(f->series[i].label_values[j], values[j]) != 0) return 0;
    return 1;
}

static const tycho_snapshot_series_t *find_series(const tycho_snapshot_family_t *f,
                                                  const char *const *values)
{
    for (size_t i = 0; i < f->nseries; i++)
        if (series_is(f, i, values)) return &f->series[i];
    return NULL;
}

static double value_of(tycho_metrics_t *r, const char *name, const char *const *values)
{
    tycho_metrics_snapshot_t *s = tycho_metrics_snapshot(r);
    assert_non_null(s);
    const tycho_snapshot_family_t *f = tycho_metrics_snapshot_find(s, name);
    assert_non_null(f);
    const tycho_snapshot_series_t *se = find_series(f, values);
    double v = se ? (f->type == TYCHO_METRIC_HISTOGRAM ? (double)se->count : se->value) : NAN;
    tycho_metrics_snapshot_free(s);
    return v;
}

static void test_register_idempotent(void **state)
{
    (void)state;
    tycho_metrics_t *r = tycho_metrics_new(2, 0);
    assert_non_null(r);
    const char *labels[] = {"method", "route"};
    tycho_metric_opts_t o = {.name = "http_requests_total",
                             .help = "Requests.",
                             .type = TYCHO_METRIC_COUNTER,
                             .label_names = labels,
                             .nlabels = 2};
    tycho_metric_t *a, *b;
    char err[256] = "";
    assert_int_equal(tycho_metrics_register(r, &o, &a, err, sizeof err), 0);
    /* A reload registers again: same family, and its series survive. */
    assert_int_equal(tycho_metric_inc(a, 0, (const char *[]){"GET", "/"}, 3), 0);
    o.help = "Changed help is ignored.";
    assert_int_equal(tycho_metrics_register(r, &o, &b, err, sizeof err), 0);
    assert_ptr_equal(a, b);
    assert_true(value_of(r, "http_requests_total", (const char *[]){"GET", "/"}) == 3);
    assert_ptr_equal(tycho_metrics_find(r, "http_requests_total"), a);
    assert_null(tycho_metrics_find(r, "nope"));

    /* Different type: a clear error. */
    o.type = TYCHO_METRIC_GAUGE;
    assert_int_equal(tycho_metrics_register(r, &o, &b, err, sizeof err), -EINVAL);
    assert_non_null(strstr(err, "already registered as counter with labels [method,route]"));
    assert_non_null(strstr(err, "gauge"));
    /* Different labels (set or order). */
    o.type = TYCHO_METRIC_COUNTER;
    const char *other[] = {"route", "method"};
    o.label_names = other;
    assert_int_equal(tycho_metrics_register(r, &o, &b, err, sizeof err), -EINVAL);
    assert_non_null(strstr(err, "[route,method]"));
    o.nlabels = 1;
    assert_int_equal(tycho_metrics_register(r, &o, &b, err, sizeof err), -EINVAL);

    /* Histograms: same buckets idempotent, other buckets an error. */
    double b1[] = {0.1, 1, 10};
    double b2[] = {0.1, 1};
    tycho_metric_opts_t h = {.name = "lat_seconds",
                             .help = "Latency.",
                             .type = TYCHO_METRIC_HISTOGRAM,
                             .buckets = b1,
                             .nbuckets = 3};
    tycho_metric_t *h1, *h2;
    assert_int_equal(tycho_metrics_register(r, &h, &h1, err, sizeof err), 0);
    assert_int_equal(tycho_metrics_register(r, &h, &h2, err, sizeof err), 0);
    assert_ptr_equal(h1, h2);
    h.buckets = b2;
    h.nbuckets = 2;
    assert_int_equal(tycho_metrics_register(r, &h, &h2, err, sizeof err), -EINVAL);
    assert_non_null(strstr(err, "buckets"));
    /* Gauge merge mode is part of the shape. */
    tycho_metric_opts_t g = {.name = "g", .help = "G.", .type = TYCHO_METRIC_GAUGE};
    assert_int_equal(tycho_metrics_register(r, &g, &h2, err, sizeof err), 0);
    g.merge = TYCHO_GAUGE_MERGE_LAST;
    assert_int_equal(tycho_metrics_register(r, &g, &h2, err, sizeof err), -EINVAL);
    tycho_metrics_free(r);
}

/* A claim on the family o names, taken with the registration, as a Lua
 * metric object takes one. */
static tycho_metric_t *claim(tycho_metrics_t *r, tycho_metric_opts_t o)
{
    o.hold = 1;
    tycho_metric_t *m = NULL;
    char err[256];
    assert_int_equal(tycho_metrics_register(r, &o, &m, err, sizeof err), 0);
    return m;
}

/* A reload that succeeded everywhere drops what its load did not define:
 * those families leave snapshots (the others keep their order and values),
 * a held one lives until released, tycho's own stay, and the previous
 * load, still finishing, defining one again gets a retired family. */
static void test_drop_older(void **state)
{
    (void)state;
    tycho_metrics_t *r = tycho_metrics_new(2, 0);
    assert_non_null(r);
    char err[256] = "";
    tycho_metric_t *own, *kept, *gone, *held, *again;
    tycho_metric_opts_t own_o = {.name = "own_total", .type = TYCHO_METRIC_COUNTER};
    tycho_metric_opts_t kept_o = {.name = "kept_total", .type = TYCHO_METRIC_COUNTER, .stamp = 1};
    tycho_metric_opts_t gone_o = {.name = "gone", .type = TYCHO_METRIC_GAUGE, .stamp = 1};
    tycho_metric_opts_t held_o = {.name = "held", .type = TYCHO_METRIC_GAUGE, .stamp = 1};
    assert_int_equal(tycho_metrics_register(r, &own_o, &own, err, sizeof err), 0);
    assert_int_equal(tycho_metrics_register(r, &gone_o, &gone, err, sizeof err), 0);
    assert_int_equal(tycho_metrics_register(r, &kept_o, &kept, err, sizeof err), 0);
    held = claim(r, held_o);
    assert_int_equal(tycho_metric_set(gone, 0, NULL, 42), 0);
    assert_int_equal(tycho_metric_set(held, 0, NULL, 7), 0);
    assert_int_equal(tycho_metric_inc(kept, 0, NULL, 3), 0);
    assert_int_equal(tycho_metric_inc(own, 0, NULL, 1), 0);
    tycho_metrics_snapshot_t *before = tycho_metrics_snapshot(r); /* borrows "gone" */
    assert_non_null(before);

    /* load 2 defines kept_total only, then it is committed everywhere */
    kept_o.stamp = 2;
    assert_int_equal(tycho_metrics_register(r, &kept_o, &again, err, sizeof err), 0);
    assert_ptr_equal(again, kept);
    assert_int_equal(tycho_metrics_drop_older(r, 2), 2);
    assert_int_equal(tycho_metrics_drop_older(r, 2), 0); /* nothing left to drop */
    tycho_metrics_snapshot_t *s = tycho_metrics_snapshot(r);
    assert_non_null(s);
    assert_null(tycho_metrics_snapshot_find(s, "gone"));
    assert_null(tycho_metrics_snapshot_find(s, "held"));
    assert_non_null(tycho_metrics_snapshot_find(s, "own_total"));
    assert_non_null(tycho_metrics_snapshot_find(s, TYCHO_METRICS_OVERFLOW_METRIC));
    size_t at = 0;
    while (strcmp(s->families[at].name, "own_total") != 0)
        at++;
    assert_string_equal(s->families[at + 1].name, "kept_total"); /* "gone" was between */
    tycho_metrics_snapshot_free(s);
    assert_true(value_of(r, "kept_total", NULL) == 3);
    assert_true(value_of(r, "own_total", NULL) == 1);
    assert_null(tycho_metrics_find(r, "gone"));
    /* "gone" waits for the snapshot that borrows it, "held" for its claim */
    assert_int_equal(tycho_metrics_nretired(r), 2);
    assert_string_equal(tycho_metrics_snapshot_find(before, "gone")->name, "gone");
    tycho_metrics_snapshot_free(before);
    assert_int_equal(tycho_metrics_nretired(r), 1);
    /* load 1, still finishing: its updates go to the retired family, unseen,
     * and a definition of it again gets a retired family, not a new one */
    assert_int_equal(tycho_metric_set(held, 1, NULL, 8), 0);
    held_o.hold = 0;
    assert_int_equal(tycho_metrics_register(r, &held_o, &again, err, sizeof err), 0);
    assert_ptr_equal(again, held);
    gone_o.type = TYCHO_METRIC_COUNTER; /* a shape never seen: retired from the start */
    assert_int_equal(tycho_metrics_register(r, &gone_o, &again, err, sizeof err), 0);
    assert_int_equal(tycho_metric_inc(again, 0, NULL, 1), 0);
    assert_null(tycho_metrics_find(r, "gone"));
    assert_null(tycho_metrics_find(r, "held"));
    tycho_metric_release(held);
    /* load 2 (the one serving) defining "gone" later: a family again, from 0 */
    gone_o.stamp = 2;
    assert_int_equal(tycho_metrics_register(r, &gone_o, &again, err, sizeof err), 0);
    assert_ptr_equal(tycho_metrics_find(r, "gone"), again);
    assert_true(value_of(r, "gone", NULL) == 0); /* not the retired 42 */
    assert_int_equal(tycho_metric_inc(again, 0, NULL, 2), 0);
    assert_true(value_of(r, "gone", NULL) == 2);
    tycho_metrics_free(r); /* the retired ones too (ASan, valgrind) */
}

/* The help text of family `name` in a snapshot (copied into buf), or "". */
static const char *help_of(tycho_metrics_t *r, const char *name, char *buf, size_t n)
{
    tycho_metrics_snapshot_t *s = tycho_metrics_snapshot(r);
    assert_non_null(s);
    const tycho_snapshot_family_t *f = tycho_metrics_snapshot_find(s, name);
    snprintf(buf, n, "%s", f ? f->help : "");
    tycho_metrics_snapshot_free(s);
    return buf;
}

/* A reload's definitions between begin_load and its end: a rollback leaves
 * every snapshot as before (a redefined shape, an edited help, a new name, a
 * collision, the load's own conflicts all undone; the serving families keep
 * counting), a commit applies them at once. */
static void test_load_window(void **state)
{
    (void)state;
    tycho_metrics_t *r = tycho_metrics_new(2, 0);
    assert_non_null(r);
    char err[256] = "", help[64];
    static const char *const a[] = {"a"}, *const ab[] = {"a", "b"};
    tycho_metric_opts_t visits = {.name = "visits_total",
                                  .help = "Visits.",
                                  .type = TYCHO_METRIC_COUNTER,
                                  .label_names = a,
                                  .nlabels = 1,
                                  .stamp = 1};
    tycho_metric_opts_t depth = {
        .name = "depth", .help = "Depth.", .type = TYCHO_METRIC_GAUGE, .stamp = 1};
    tycho_metric_opts_t work = {.name = "work", .type = TYCHO_METRIC_HISTOGRAM, .stamp = 1};
    tycho_metric_t *v1 = claim(r, visits), *d1 = claim(r, depth), *w1 = claim(r, work);
    assert_int_equal(tycho_metric_inc(v1, 0, (const char *[]){"x"}, 5), 0);
    assert_int_equal(tycho_metric_set(d1, 0, NULL, 3), 0);

    for (int round = 0; round < 2; round++) { /* 0: rolled back, 1: committed */
        uint64_t load = 2 + (uint64_t)round;
        tycho_metrics_begin_load(r, 1);
        tycho_metric_opts_t v2 = visits, d2 = depth;
        tycho_metric_opts_t n2 = {.name = "new_total", .type = TYCHO_METRIC_COUNTER};
        tycho_metric_opts_t c2 = {.name = "work_count", .type = TYCHO_METRIC_COUNTER};
        v2.label_names = ab, v2.nlabels = 2, v2.help = "Visits by b.";
        d2.help = "Depth, edited.";
        v2.stamp = d2.stamp = n2.stamp = c2.stamp = load;
        tycho_metric_t *v = claim(r, v2), *d = claim(r, d2), *n = claim(r, n2), *c = claim(r, c2);
        assert_ptr_not_equal(v, v1);
        assert_ptr_equal(d, d1);              /* the same shape: the serving family, its values */
        tycho_metric_t *again = claim(r, v2); /* again, as another worker's load */
        assert_ptr_equal(again, v);
        tycho_metric_release(again);
        /* the load's own conflicts show at once */
        tycho_metric_opts_t bad = v2;
        bad.nlabels = 1;
        assert_int_equal(tycho_metrics_register(r, &bad, &again, err, sizeof err), -EINVAL);
        assert_non_null(strstr(err, "already registered as counter with labels [a,b]"));
        bad = d2, bad.type = TYCHO_METRIC_COUNTER;
        assert_int_equal(tycho_metrics_register(r, &bad, &again, err, sizeof err), -EINVAL);
        bad = work, bad.stamp = load; /* its samples would collide with work_count */
        assert_int_equal(tycho_metrics_register(r, &bad, &again, err, sizeof err), -EINVAL);
        assert_non_null(strstr(err, "collide with counter \"work_count\""));
        assert_int_equal(tycho_metric_inc(c, 0, NULL, 1), 0);
        assert_int_equal(tycho_metric_inc(n, 1, NULL, 2), 0);
        /* nothing shows yet; the serving load defines and counts as before */
        assert_ptr_equal(tycho_metrics_find(r, "visits_total"), v1);
        assert_null(tycho_metrics_find(r, "new_total"));
        assert_null(tycho_metrics_find(r, "work_count"));
        assert_ptr_equal(tycho_metrics_find(r, "work"), w1);
        assert_string_equal(help_of(r, "depth", help, sizeof help), "Depth.");
        assert_int_equal(tycho_metrics_register(r, &visits, &again, err, sizeof err), 0);
        assert_ptr_equal(again, v1);
        assert_int_equal(tycho_metric_inc(v1, 1, (const char *[]){"x"}, 1), 0);
        assert_true(value_of(r, "visits_total", (const char *[]){"x"}) == 6 + round);
        if (round == 0) {
            size_t retired = tycho_metrics_nretired(r);
            tycho_metrics_rollback_load(r);
            tycho_metrics_rollback_load(r); /* none under way: nothing */
            assert_ptr_equal(tycho_metrics_find(r, "visits_total"), v1);
            assert_null(tycho_metrics_find(r, "new_total"));
            assert_null(tycho_metrics_find(r, "work_count"));
            assert_ptr_equal(tycho_metrics_find(r, "work"), w1);
            assert_string_equal(help_of(r, "depth", help, sizeof help), "Depth.");
            /* the load's new families wait for their claims, then go */
            assert_int_equal(tycho_metrics_nretired(r), retired + 3);
            tycho_metric_release(v);
            tycho_metric_release(n);
            tycho_metric_release(c);
            tycho_metric_release(d);
            assert_int_equal(tycho_metrics_nretired(r), retired);
        } else {
            size_t dropped = 99;
            assert_int_equal(tycho_metrics_commit_load(r, load, &dropped), 0);
            assert_int_equal(dropped, 0); /* work: retired by work_count, not dropped */
            assert_ptr_equal(tycho_metrics_find(r, "visits_total"), v);
            assert_true(isnan(value_of(r, "visits_total", (const char *[]){"x", "y"})));
            assert_true(value_of(r, "new_total", NULL) == 2);
            assert_true(value_of(r, "work_count", NULL) == 1);
            assert_null(tycho_metrics_find(r, "work"));
            assert_string_equal(help_of(r, "depth", help, sizeof help), "Depth, edited.");
            assert_true(value_of(r, "depth", NULL) == 3);
            tycho_metric_release(v);
            tycho_metric_release(n);
            tycho_metric_release(c);
            tycho_metric_release(d);
        }
    }
    tycho_metric_release(v1); /* retired by the commit: freed now */
    tycho_metric_release(d1);
    tycho_metric_release(w1);
    assert_int_equal(tycho_metrics_nretired(r), 0);
    tycho_metrics_free(r);
}

/* A newer load's definition whose samples would collide with a family of
 * an older load (a histogram x replaced by a counter x_count) retires that
 * family: the new load left it out. The same load, or tycho's own, is a
 * conflict still; the older load, still finishing, gets a retired family. */
static void test_collision_with_older_load(void **state)
{
    (void)state;
    tycho_metrics_t *r = tycho_metrics_new(1, 0);
    assert_non_null(r);
    char err[256] = "";
    tycho_metric_t *hist, *count, *again;
    tycho_metric_opts_t h = {.name = "work", .type = TYCHO_METRIC_HISTOGRAM, .stamp = 1};
    tycho_metric_opts_t c = {.name = "work_count", .type = TYCHO_METRIC_COUNTER, .stamp = 1};
    assert_int_equal(tycho_metrics_register(r, &h, &hist, err, sizeof err), 0);
    assert_int_equal(tycho_metric_observe(hist, 0, NULL, 0.5), 0);
    assert_int_equal(tycho_metrics_register(r, &c, &count, err, sizeof err), -EINVAL);
    assert_non_null(strstr(err, "its samples would collide with histogram \"work\""));
    c.stamp = 2;
    assert_int_equal(tycho_metrics_register(r, &c, &count, err, sizeof err), 0);
    assert_null(tycho_metrics_find(r, "work"));
    assert_ptr_equal(tycho_metrics_find(r, "work_count"), count);
    assert_int_equal(tycho_metric_inc(count, 0, NULL, 1), 0);
    assert_true(value_of(r, "work_count", NULL) == 1);
    /* load 1 again (still finishing): a retired histogram, unseen */
    assert_int_equal(tycho_metrics_register(r, &h, &again, err, sizeof err), 0);
    assert_int_equal(tycho_metric_observe(again, 0, NULL, 0.5), 0);
    assert_ptr_equal(tycho_metrics_find(r, "work_count"), count);
    assert_null(tycho_metrics_find(r, "work"));
    /* tycho's own are never moved aside */
    tycho_metric_opts_t own = {.name = "own", .type = TYCHO_METRIC_HISTOGRAM};
    tycho_metric_opts_t lua = {.name = "own_sum", .type = TYCHO_METRIC_GAUGE, .stamp = 3};
    assert_int_equal(tycho_metrics_register(r, &own, &again, err, sizeof err), 0);
    assert_int_equal(tycho_metrics_register(r, &lua, &again, err, sizeof err), -EINVAL);
    assert_non_null(tycho_metrics_find(r, "own"));
    tycho_metrics_free(r);
}

/* A reload that changes a metric: a newer stamp replaces the family (in
 * its place in the exposition), the same or no stamp is a conflict, an older
 * one (a generation still finishing) gets the retired family of its shape. */
static void test_redefine_on_reload(void **state)
{
    (void)state;
    tycho_metrics_t *r = tycho_metrics_new(2, 0);
    assert_non_null(r);
    char err[256] = "";
    tycho_metric_t *first, *x, *v1, *v2, *again;
    tycho_metric_opts_t before = {.name = "a_total", .type = TYCHO_METRIC_COUNTER};
    assert_int_equal(tycho_metrics_register(r, &before, &first, err, sizeof err), 0);
    const char *one[] = {"action"}, *two[] = {"action", "user"};
    tycho_metric_opts_t o = {.name = "x_total",
                             .help = "X.",
                             .type = TYCHO_METRIC_COUNTER,
                             .label_names = one,
                             .nlabels = 1,
                             .stamp = 100};
    assert_int_equal(tycho_metrics_register(r, &o, &v1, err, sizeof err), 0);
    tycho_metric_opts_t after = {.name = "z_total", .type = TYCHO_METRIC_COUNTER};
    assert_int_equal(tycho_metrics_register(r, &after, &x, err, sizeof err), 0);
    assert_int_equal(tycho_metric_inc(v1, 0, (const char *[]){"visit"}, 2), 0);

    /* the same load (or another worker's copy of it) with other labels: a conflict */
    o.label_names = two;
    o.nlabels = 2;
    assert_int_equal(tycho_metrics_register(r, &o, &x, err, sizeof err), -EINVAL);
    assert_non_null(strstr(err, "already registered as counter with labels [action]"));
    o.stamp = 0;
    assert_int_equal(tycho_metrics_register(r, &o, &x, err, sizeof err), -EINVAL);

    /* a newer load: a new family in the old one's place, counting from 0 */
    o.stamp = 200;
    o.help = "X, by user.";
    assert_int_equal(tycho_metrics_register(r, &o, &v2, err, sizeof err), 0);
    assert_ptr_not_equal(v1, v2);
    assert_ptr_equal(tycho_metrics_find(r, "x_total"), v2);
    assert_int_equal(tycho_metric_nlabels(v2), 2);
    assert_int_equal(tycho_metric_inc(v2, 1, (const char *[]){"visit", "ann"}, 1), 0);
    /* a handle to the retired family still works; nobody sees its counts */
    assert_int_equal(tycho_metric_inc(v1, 0, (const char *[]){"visit"}, 5), 0);
    tycho_metrics_snapshot_t *s = tycho_metrics_snapshot(r);
    assert_non_null(s);
    size_t seen = 0, at = 0;
    for (size_t i = 0; i < s->nfamilies; i++) {
        if (strcmp(s->families[i].name, "x_total") != 0) continue;
        seen++;
        at = i;
        assert_int_equal(s->families[i].nlabels, 2);
        assert_string_equal(s->families[i].help, "X, by user.");
        assert_int_equal(s->families[i].nseries, 1);
        assert_true(s->families[i].series[0].value == 1);
    }
    assert_int_equal(seen, 1);
    assert_string_equal(s->families[at - 1].name, "a_total"); /* where it was */
    assert_string_equal(s->families[at + 1].name, "z_total");
    tycho_metrics_snapshot_free(s);
    /* the newer load's other workers get the new family */
    o.stamp = 201;
    assert_int_equal(tycho_metrics_register(r, &o, &again, err, sizeof err), 0);
    assert_ptr_equal(again, v2);

    /* the older load, still finishing, defining its own shape: the retired family */
    o.label_names = one;
    o.nlabels = 1;
    o.stamp = 150;
    assert_int_equal(tycho_metrics_register(r, &o, &again, err, sizeof err), 0);
    assert_ptr_equal(again, v1);
    assert_ptr_equal(tycho_metrics_find(r, "x_total"), v2);
    /* an older load of a shape never registered (its metric was only bound
     * at its first update): a family retired from the start */
    o.type = TYCHO_METRIC_GAUGE;
    tycho_metric_t *late, *late2;
    assert_int_equal(tycho_metrics_register(r, &o, &late, err, sizeof err), 0);
    assert_int_equal(tycho_metric_type(late), TYCHO_METRIC_GAUGE);
    assert_int_equal(tycho_metric_set(late, 0, (const char *[]){"x"}, 3), 0);
    assert_int_equal(tycho_metrics_register(r, &o, &late2, err, sizeof err), 0);
    assert_ptr_equal(late, late2);
    assert_ptr_equal(tycho_metrics_find(r, "x_total"), v2);
    assert_true(isnan(value_of(r, "x_total", (const char *[]){"x", "ann"})));
    /* tycho's own families (stamp 0) are never replaced */
    before.stamp = 300;
    before.label_names = one;
    before.nlabels = 1;
    assert_int_equal(tycho_metrics_register(r, &before, &again, err, sizeof err), -EINVAL);
    assert_ptr_equal(tycho_metrics_find(r, "a_total"), first);
    /* ... nor joined by a stamped definition, even of their very shape */
    before.nlabels = 0;
    before.label_names = NULL;
    assert_int_equal(tycho_metrics_register(r, &before, &again, err, sizeof err), -EINVAL);
    assert_non_null(strstr(err, "\"a_total\": the name is one of tycho's own metrics"));

    /* a newer load's help text replaces the family's, an older or the same
     * load's does not */
    tycho_metric_opts_t hp = {.name = "help_total", .help = "Old.", .stamp = 500};
    tycho_metric_t *hf;
    assert_int_equal(tycho_metrics_register(r, &hp, &hf, err, sizeof err), 0);
    hp.help = "New.";
    hp.stamp = 501;
    assert_int_equal(tycho_metrics_register(r, &hp, &again, err, sizeof err), 0);
    assert_ptr_equal(again, hf);
    hp.help = "Same load.";
    assert_int_equal(tycho_metrics_register(r, &hp, &again, err, sizeof err), 0);
    hp.help = "Older.";
    hp.stamp = 500;
    assert_int_equal(tycho_metrics_register(r, &hp, &again, err, sizeof err), 0);
    tycho_metrics_snapshot_t *hs = tycho_metrics_snapshot(r);
    assert_non_null(hs);
    assert_string_equal(tycho_metrics_snapshot_find(hs, "help_total")->help, "New.");
    tycho_metrics_snapshot_free(hs);

    /* retired families live while a handle holds them */
    assert_int_equal(tycho_metrics_nretired(r), 2); /* v1 and late */
    tycho_metric_opts_t o2 = o;                     /* v2's definition */
    o2.type = TYCHO_METRIC_COUNTER;
    o2.label_names = two;
    o2.nlabels = 2;
    o2.stamp = 201;
    assert_ptr_equal(claim(r, o2), v2);
    assert_ptr_equal(claim(r, o), late); /* the older load's */
    tycho_metric_release(late);          /* its last claim: freed */
    assert_int_equal(tycho_metrics_nretired(r), 1);

    /* a reload back to the first shape: a new family again */
    tycho_metrics_snapshot_t *taken = tycho_metrics_snapshot(r); /* v2 in it */
    assert_non_null(taken);
    o.type = TYCHO_METRIC_COUNTER;
    o.stamp = 400;
    assert_int_equal(tycho_metrics_register(r, &o, &again, err, sizeof err), 0);
    assert_ptr_not_equal(again, v1);
    assert_ptr_not_equal(again, v2);
    assert_true(isnan(value_of(r, "x_total", (const char *[]){"visit"}))); /* not the retired 7 */
    /* v2, retired now, is held: kept until released */
    assert_int_equal(tycho_metrics_nretired(r), 2);
    assert_int_equal(tycho_metric_inc(v2, 0, (const char *[]){"visit", "bob"}, 1), 0);
    tycho_metric_release(v2);
    /* ... and while a snapshot taken before borrows its strings */
    assert_int_equal(tycho_metrics_nretired(r), 2);
    const tycho_snapshot_family_t *f = tycho_metrics_snapshot_find(taken, "x_total");
    assert_non_null(f);
    assert_int_equal(f->nlabels, 2);
    assert_string_equal(f->label_names[1], "user");
    assert_string_equal(f->series[0].label_values[1], "ann");
    tycho_metrics_snapshot_free(taken);
    assert_int_equal(tycho_metrics_nretired(r), 1);
    assert_ptr_equal(claim(r, o), again); /* the current family: a release does not free it */
    tycho_metric_release(again);
    assert_ptr_equal(tycho_metrics_find(r, "x_total"), again);
    assert_int_equal(tycho_metric_inc(again, 0, (const char *[]){"visit"}, 1), 0);
    assert_true(value_of(r, "x_total", (const char *[]){"visit"}) == 1);
    /* a registration can come with its claim (taken under the lock) */
    tycho_metric_opts_t h = {
        .name = "h_total", .type = TYCHO_METRIC_COUNTER, .stamp = 10, .hold = 1};
    tycho_metric_t *h1, *h2;
    assert_int_equal(tycho_metrics_register(r, &h, &h1, err, sizeof err), 0);
    h.label_names = one;
    h.nlabels = 1;
    h.stamp = 20;
    assert_int_equal(tycho_metrics_register(r, &h, &h2, err, sizeof err), 0);
    size_t held = tycho_metrics_nretired(r);
    tycho_metric_release(h1);
    assert_int_equal(tycho_metrics_nretired(r), held - 1);
    tycho_metric_release(h2); /* current: stays */
    assert_ptr_equal(tycho_metrics_find(r, "h_total"), h2);
    tycho_metrics_free(r); /* frees the retired families too (ASan, valgrind) */
}

static void test_validation(void **state)
{
    (void)state;
    assert_true(tycho_metrics_valid_name("a"));
    assert_true(tycho_metrics_valid_name("_a:b_c9"));
    assert_true(tycho_metrics_valid_name(":x"));
    assert_false(tycho_metrics_valid_name(""));
    assert_false(tycho_metrics_valid_name("9a"));
    assert_false(tycho_metrics_valid_name("a-b"));
    assert_false(tycho_metrics_valid_name("a b"));
    assert_false(tycho_metrics_valid_name("é"));
    assert_false(tycho_metrics_valid_name(NULL));
    assert_true(tycho_metrics_valid_label_name("route"));
    assert_true(tycho_metrics_valid_label_name("_x"));
    assert_false(tycho_metrics_valid_label_name("__name__"));
    assert_false(tycho_metrics_valid_label_name("__x"));
    assert_false(tycho_metrics_valid_label_name("a:b"));
    assert_false(tycho_metrics_valid_label_name("1a"));
    assert_false(tycho_metrics_valid_label_name(""));

    tycho_metrics_t *r = tycho_metrics_new(1, 0);
    tycho_metric_t *m;
    char err[256];
    tycho_metric_opts_t o = {.name = "bad-name", .type = TYCHO_METRIC_COUNTER};
    assert_int_equal(tycho_metrics_register(r, &o, &m, err, sizeof err), -EINVAL);
    assert_non_null(strstr(err, "invalid name"));
    o.name = "ok_total";
    o.label_names = (const char *[]){"__reserved"};
    o.nlabels = 1;
    assert_int_equal(tycho_metrics_register(r, &o, &m, err, sizeof err), -EINVAL);
    assert_non_null(strstr(err, "invalid label name \"__reserved\""));
    o.label_names = (const char *[]){"a", "a"};
    o.nlabels = 2;
    assert_int_equal(tycho_metrics_register(r, &o, &m, err, sizeof err), -EINVAL);
    assert_non_null(strstr(err, "duplicate label"));
    /* le is reserved for histograms only. */
    o.label_names = (const char *[]){"le"};
    o.nlabels = 1;
    assert_int_equal(tycho_metrics_register(r, &o, &m, err, sizeof err), 0);
    tycho_metric_opts_t h = {.name = "h_seconds",
                             .type = TYCHO_METRIC_HISTOGRAM,
                             .label_names = (const char *[]){"le"},
                             .nlabels = 1};
    assert_int_equal(tycho_metrics_register(r, &h, &m, err, sizeof err), -EINVAL);
    assert_non_null(strstr(err, "reserved"));
    /* Buckets: increasing, finite; a trailing +Inf is fine. */
    h.nlabels = 0;
    h.buckets = (double[]){1, 1};
    h.nbuckets = 2;
    assert_int_equal(tycho_metrics_register(r, &h, &m, err, sizeof err), -EINVAL);
    h.buckets = (double[]){1, NAN};
    assert_int_equal(tycho_metrics_register(r, &h, &m, err, sizeof err), -EINVAL);
    h.buckets = (double[]){1, INFINITY};
    assert_int_equal(tycho_metrics_register(r, &h, &m, err, sizeof err), 0);
    /* Histogram sample names collide with other families. */
    tycho_metric_opts_t c = {.name = "h_seconds_count", .type = TYCHO_METRIC_GAUGE};
    assert_int_equal(tycho_metrics_register(r, &c, &m, err, sizeof err), -EINVAL);
    assert_non_null(strstr(err, "collide"));
    c.name = "h_seconds_bucket_x";
    assert_int_equal(tycho_metrics_register(r, &c, &m, err, sizeof err), 0);
    tycho_metric_opts_t h2 = {.name = "ok", .type = TYCHO_METRIC_HISTOGRAM};
    tycho_metric_opts_t g2 = {.name = "ok_sum", .type = TYCHO_METRIC_GAUGE};
    assert_int_equal(tycho_metrics_register(r, &g2, &m, err, sizeof err), 0);
    assert_int_equal(tycho_metrics_register(r, &h2, &m, err, sizeof err), -EINVAL);
    tycho_metrics_free(r);
}

static void test_updates(void **state)
{
    (void)state;
    tycho_metrics_t *r = tycho_metrics_new(3, 0);
    char err[256];
    tycho_metric_t *c, *g, *h, *plain;
    const char *l[] = {"k"};
    tycho_metric_opts_t o = {
        .name = "c_total", .type = TYCHO_METRIC_COUNTER, .label_names = l, .nlabels = 1};
    assert_int_equal(tycho_metrics_register(r, &o, &c, err, sizeof err), 0);
    o = (tycho_metric_opts_t){
        .name = "g", .type = TYCHO_METRIC_GAUGE, .label_names = l, .nlabels = 1};
    assert_int_equal(tycho_metrics_register(r, &o, &g, err, sizeof err), 0);
    o = (tycho_metric_opts_t){.name = "h_seconds",
                              .type = TYCHO_METRIC_HISTOGRAM,
                              .buckets = (double[]){1, 2},
                              .nbuckets = 2};
    assert_int_equal(tycho_metrics_register(r, &o, &h, err, sizeof err), 0);
    o = (tycho_metric_opts_t){.name = "plain_total", .type = TYCHO_METRIC_COUNTER};
    assert_int_equal(tycho_metrics_register(r, &o, &plain, err, sizeof err), 0);

    const char *a[] = {"a"};
    assert_int_equal(tycho_metric_inc(c, 0, a, 1), 0);
    assert_int_equal(tycho_metric_inc(c, 1, a, 2.5), 0);
    assert_int_equal(tycho_metric_inc(c, 2, (const char *[]){NULL}, 1), 0); /* NULL = "" */
    assert_int_equal(tycho_metric_inc(c, 0, a, -1), -EINVAL);
    assert_int_equal(tycho_metric_inc(c, 0, a, NAN), -EINVAL);
    assert_int_equal(tycho_metric_inc(c, 3, a, 1), -EINVAL); /* no such shard */
    assert_int_equal(tycho_metric_set(c, 0, a, 1), -EINVAL);
    assert_int_equal(tycho_metric_observe(c, 0, a, 1), -EINVAL);
    char big[TYCHO_METRICS_MAX_LABEL_VALUE + 2];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = 0;
    assert_int_equal(tycho_metric_inc(c, 0, (const char *[]){big}, 1), -E2BIG);

    assert_int_equal(tycho_metric_set(g, 0, a, 5), 0);
    assert_int_equal(tycho_metric_inc(g, 1, a, -2), 0); /* gauges add any value */
    assert_int_equal(tycho_metric_observe(h, 0, NULL, 0.5), 0);
    assert_int_equal(tycho_metric_observe(h, 1, NULL, 1), 0); /* le is inclusive */
    assert_int_equal(tycho_metric_observe(h, 1, NULL, 1.5), 0);
    assert_int_equal(tycho_metric_observe(h, 2, NULL, 100), 0);
    assert_int_equal(tycho_metric_observe(h, 2, NULL, INFINITY), -EINVAL);

    tycho_metrics_snapshot_t *s = tycho_metrics_snapshot(r);
    const tycho_snapshot_family_t *f = tycho_metrics_snapshot_find(s, "c_total");
    assert_int_equal(f->nseries, 2);
    assert_true(find_series(f, a)->value == 3.5);
    assert_true(find_series(f, (const char *[]){""})->value == 1);
    f = tycho_metrics_snapshot_find(s, "g");
    assert_true(find_series(f, a)->value == 3);
    f = tycho_metrics_snapshot_find(s, "h_seconds");
    assert_int_equal(f->nseries, 1);
    assert_int_equal(f->nbounds, 2);
    assert_int_equal(f->series[0].buckets[0], 2); /* 0.5, 1 */
    assert_int_equal(f->series[0].buckets[1], 3); /* + 1.5 */
    assert_int_equal(f->series[0].buckets[2], 4); /* + 100 (+Inf) */
    assert_int_equal(f->series[0].count, 4);
    assert_true(f->series[0].sum == 103);
    /* An unlabelled family shows 0 before any update. */
    f = tycho_metrics_snapshot_find(s, "plain_total");
    assert_int_equal(f->nseries, 1);
    assert_true(f->series[0].value == 0);
    tycho_metrics_snapshot_free(s);

    /* Pre-resolved handles: zero lookups, same cells. */
    int rc = 0;
    tycho_series_t *se = tycho_metric_series(c, 1, a, &rc);
    assert_non_null(se);
    assert_int_equal(tycho_series_inc(se, 10), 0);
    assert_true(tycho_series_value(se) == 12.5);
    assert_ptr_equal(tycho_metric_series(c, 1, a, NULL), se);
    assert_int_equal(tycho_series_set(se, 1), -EINVAL);
    assert_int_equal(tycho_series_observe(se, 1), -EINVAL);
    assert_true(value_of(r, "c_total", a) == 13.5);
    tycho_series_t *hs = tycho_metric_series(h, 0, NULL, NULL);
    assert_int_equal(tycho_series_observe(hs, 0.1), 0);
    assert_true(tycho_series_value(hs) == 2);
    tycho_metrics_free(r);
}

/* An update that would take a shard's value (a histogram's sum) past the
 * largest double is refused and changes nothing; so is a non-finite set. */
static void test_updates_stay_finite(void **state)
{
    (void)state;
    tycho_metrics_t *r = tycho_metrics_new(2, 0);
    tycho_metric_t *c, *g, *h;
    tycho_metric_opts_t o = {.name = "big_total", .type = TYCHO_METRIC_COUNTER};
    assert_int_equal(tycho_metrics_register(r, &o, &c, NULL, 0), 0);
    o = (tycho_metric_opts_t){.name = "big", .type = TYCHO_METRIC_GAUGE};
    assert_int_equal(tycho_metrics_register(r, &o, &g, NULL, 0), 0);
    o = (tycho_metric_opts_t){.name = "big_seconds", .type = TYCHO_METRIC_HISTOGRAM};
    assert_int_equal(tycho_metrics_register(r, &o, &h, NULL, 0), 0);

    assert_int_equal(tycho_metric_inc(c, 0, NULL, 1e308), 0);
    assert_int_equal(tycho_metric_inc(c, 0, NULL, 1e308), -ERANGE);
    assert_int_equal(tycho_metric_inc(c, 0, NULL, INFINITY), -EINVAL);
    assert_true(value_of(r, "big_total", NULL) == 1e308);

    assert_int_equal(tycho_metric_set(g, 0, NULL, -1e308), 0);
    assert_int_equal(tycho_metric_inc(g, 0, NULL, -1e308), -ERANGE);
    assert_int_equal(tycho_metric_inc(g, 0, NULL, NAN), -EINVAL);
    assert_int_equal(tycho_metric_set(g, 0, NULL, NAN), -EINVAL);
    tycho_series_t *gs = tycho_metric_series(g, 0, NULL, NULL);
    assert_int_equal(tycho_series_set(gs, -INFINITY), -EINVAL);
    assert_true(value_of(r, "big", NULL) == -1e308);

    tycho_series_t *hs = tycho_metric_series(h, 0, NULL, NULL);
    assert_int_equal(tycho_series_observe(hs, 1e308), 0);
    assert_int_equal(tycho_series_observe(hs, 1e308), -ERANGE);
    assert_int_equal(tycho_metric_observe(h, 0, NULL, 1e308), -ERANGE);
    tycho_metrics_snapshot_t *s = tycho_metrics_snapshot(r);
    const tycho_snapshot_series_t *se = &tycho_metrics_snapshot_find(s, "big_seconds")->series[0];
    assert_int_equal(se->count, 1);
    assert_true(se->sum == 1e308);
    tycho_metrics_snapshot_free(s);
    tycho_metrics_free(r);
}

static void test_gauge_merge_modes(void **state)
{
    (void)state;
    tycho_metrics_t *r = tycho_metrics_new(2, 0);
    tycho_metric_t *sum, *last;
    tycho_metric_opts_t o = {.name = "inflight", .type = TYCHO_METRIC_GAUGE};
    assert_int_equal(tycho_metrics_register(r, &o, &sum, NULL, 0), 0);
    o = (tycho_metric_opts_t){
        .name = "generation", .type = TYCHO_METRIC_GAUGE, .merge = TYCHO_GAUGE_MERGE_LAST};
    assert_int_equal(tycho_metrics_register(r, &o, &last, NULL, 0), 0);
    tycho_metric_set(sum, 0, NULL, 3);
    tycho_metric_set(sum, 1, NULL, 4);
    tycho_metric_set(last, 0, NULL, 7);
    tycho_metric_set(last, 1, NULL, 8);
    assert_true(value_of(r, "inflight", NULL) == 7);
    assert_true(value_of(r, "generation", NULL) == 8);
    tycho_metric_set(last, 0, NULL, 9);
    assert_true(value_of(r, "generation", NULL) == 9);
    /* A LAST gauge takes no inc: shard 1 adding 1 to its own 8 would show
     * 9 as "the last value", not the 9 + 1 that was meant. */
    assert_int_equal(tycho_metric_inc(last, 1, NULL, 1), -EINVAL);
    assert_int_equal(tycho_series_inc(tycho_metric_series(last, 1, NULL, NULL), 1), -EINVAL);
    assert_true(value_of(r, "generation", NULL) == 9);
    assert_int_equal(tycho_metric_inc(sum, 1, NULL, -1), 0);
    assert_true(value_of(r, "inflight", NULL) == 6);
    tycho_metrics_free(r);
}

static double cb_value = 41;
static double cb(void *ud)
{
    return *(double *)ud;
}
static double cb2(void *ud)
{
    (void)ud;
    return 100;
}

static void test_callbacks(void **state)
{
    (void)state;
    tycho_metrics_t *r = tycho_metrics_new(1, 0);
    tycho_metric_t *m, *h;
    const char *l[] = {"signal"};
    tycho_metric_opts_t o = {
        .name = "depth", .type = TYCHO_METRIC_GAUGE, .label_names = l, .nlabels = 1};
    assert_int_equal(tycho_metrics_register(r, &o, &m, NULL, 0), 0);
    assert_int_equal(tycho_metric_set_callback(m, (const char *[]){"spans"}, cb, &cb_value), 0);
    assert_true(value_of(r, "depth", (const char *[]){"spans"}) == 41);
    cb_value = 42;
    assert_true(value_of(r, "depth", (const char *[]){"spans"}) == 42);
    /* Again for the same labels: replaced, not duplicated. */
    assert_int_equal(tycho_metric_set_callback(m, (const char *[]){"spans"}, cb2, NULL), 0);
    tycho_metrics_snapshot_t *s = tycho_metrics_snapshot(r);
    assert_int_equal(tycho_metrics_snapshot_find(s, "depth")->nseries, 1);
    tycho_metrics_snapshot_free(s);
    assert_true(value_of(r, "depth", (const char *[]){"spans"}) == 100);
    /* Shard values for the same label set add up with the callback. */
    tycho_metric_inc(m, 0, (const char *[]){"spans"}, 5);
    assert_true(value_of(r, "depth", (const char *[]){"spans"}) == 105);
    tycho_metric_opts_t ho = {.name = "hh", .type = TYCHO_METRIC_HISTOGRAM};
    assert_int_equal(tycho_metrics_register(r, &ho, &h, NULL, 0), 0);
    assert_int_equal(tycho_metric_set_callback(h, NULL, cb2, NULL), -EINVAL);
    tycho_metrics_free(r);
}

/* --- concurrency: one writer per shard, a scraper in parallel ------------- */

#define WRITERS 4
#define ITER 200000
static const char *const keys[] = {"a", "b", "c", "d", "e", "f", "g", "h"};

struct writer_arg {
    tycho_metric_t *c, *h, *g;
    unsigned shard;
};

static void *writer(void *p)
{
    struct writer_arg *a = p;
    tycho_series_t *fixed = tycho_metric_series(a->c, a->shard, (const char *[]){"fixed"}, NULL);
    for (int i = 0; i < ITER; i++) {
        const char *v[] = {keys[i % 8]};
        tycho_metric_inc(a->c, a->shard, v, 1);
        tycho_series_inc(fixed, 2);
        tycho_metric_observe(a->h, a->shard, NULL, (i % 4) * 0.5);
        tycho_metric_set(a->g, a->shard, NULL, (double)i);
    }
    return NULL;
}

static atomic_int scraping_done;

static void *scraper(void *p)
{
    tycho_metrics_t *r = p;
    double last = 0;
    int snaps = 0;
    while (!atomic_load(&scraping_done) || snaps < 3) {
        tycho_metrics_snapshot_t *s = tycho_metrics_snapshot(r);
        const tycho_snapshot_family_t *f = tycho_metrics_snapshot_find(s, "work_total");
        double total = 0;
        for (size_t i = 0; i < f->nseries; i++)
            total += f->series[i].value;
        /* Counters only grow, even while being merged mid-update. */
        if (total < last) fail_msg("counter went backwards: %f < %f", total, last);
        last = total;
        const tycho_snapshot_family_t *h = tycho_metrics_snapshot_find(s, "work_seconds");
        if (h->series[0].buckets[h->nbounds] != h->series[0].count)
            fail_msg("count != +Inf bucket");
        tycho_metrics_snapshot_free(s);
        snaps++;
    }
    return NULL;
}

static void test_shard_merge_threads(void **state)
{
    (void)state;
    tycho_metrics_t *r = tycho_metrics_new(WRITERS + 1, 0);
    tycho_metric_t *c, *h, *g;
    const char *l[] = {"key"};
    tycho_metric_opts_t o = {
        .name = "work_total", .type = TYCHO_METRIC_COUNTER, .label_names = l, .nlabels = 1};
    assert_int_equal(tycho_metrics_register(r, &o, &c, NULL, 0), 0);
    o = (tycho_metric_opts_t){.name = "work_seconds",
                              .type = TYCHO_METRIC_HISTOGRAM,
                              .buckets = (double[]){0.25, 0.75},
                              .nbuckets = 2};
    assert_int_equal(tycho_metrics_register(r, &o, &h, NULL, 0), 0);
    o = (tycho_metric_opts_t){
        .name = "last_i", .type = TYCHO_METRIC_GAUGE, .merge = TYCHO_GAUGE_MERGE_LAST};
    assert_int_equal(tycho_metrics_register(r, &o, &g, NULL, 0), 0);

    pthread_t th[WRITERS], sc;
    struct writer_arg args[WRITERS];
    atomic_store(&scraping_done, 0);
    pthread_create(&sc, NULL, scraper, r);
    for (unsigned i = 0; i < WRITERS; i++) {
        args[i] = (struct writer_arg){c, h, g, i};
        pthread_create(&th[i], NULL, writer, &args[i]);
    }
    for (unsigned i = 0; i < WRITERS; i++)
        pthread_join(th[i], NULL);
    atomic_store(&scraping_done, 1);
    pthread_join(sc, NULL);

    tycho_metrics_snapshot_t *s = tycho_metrics_snapshot(r);
    const tycho_snapshot_family_t *f = tycho_metrics_snapshot_find(s, "work_total");
    assert_int_equal(f->nseries, 9);
    for (int k = 0; k < 8; k++)
        assert_true(find_series(f, (const char *[]){keys[k]})->value == WRITERS * ITER / 8);
    assert_true(find_series(f, (const char *[]){"fixed"})->value == 2.0 * WRITERS * ITER);
    f = tycho_metrics_snapshot_find(s, "work_seconds");
    assert_int_equal(f->series[0].count, WRITERS * ITER);
    assert_int_equal(f->series[0].buckets[0], WRITERS * ITER / 4); /* 0 */
    assert_int_equal(f->series[0].buckets[1], WRITERS * ITER / 2); /* + 0.5 */
    assert_true(f->series[0].sum == WRITERS * (ITER / 4) * (0.5 + 1.0 + 1.5));
    f = tycho_metrics_snapshot_find(s, "last_i");
    assert_true(f->series[0].value == ITER - 1);
    tycho_metrics_snapshot_free(s);
    tycho_metrics_free(r);
}

/* --- cardinality cap --------------------------------------------------------- */

static void test_cardinality_cap(void **state)
{
    (void)state;
    tycho_metrics_t *r = tycho_metrics_new(2, 1000);
    tycho_metric_t *m, *small;
    const char *l[] = {"user", "route"};
    tycho_metric_opts_t o = {
        .name = "by_user_total", .type = TYCHO_METRIC_COUNTER, .label_names = l, .nlabels = 2};
    assert_int_equal(tycho_metrics_register(r, &o, &m, NULL, 0), 0);
    o = (tycho_metric_opts_t){.name = "small",
                              .type = TYCHO_METRIC_GAUGE,
                              .label_names = l,
                              .nlabels = 1,
                              .max_series = 3};
    assert_int_equal(tycho_metrics_register(r, &o, &small, NULL, 0), 0);

    char v[32];
    for (int i = 0; i < 100000; i++) {
        snprintf(v, sizeof v, "u%d", i);
        assert_int_equal(tycho_metric_inc(m, (unsigned)(i & 1), (const char *[]){v, "/x"}, 1), 0);
    }
    /* Admitted label sets keep counting on both shards. */
    assert_int_equal(tycho_metric_inc(m, 1, (const char *[]){"u0", "/x"}, 1), 0);
    tycho_metrics_snapshot_t *s = tycho_metrics_snapshot(r);
    const tycho_snapshot_family_t *f = tycho_metrics_snapshot_find(s, "by_user_total");
    assert_int_equal(f->nseries, 1001); /* the cap, plus the overflow series */
    const tycho_snapshot_series_t *of = find_series(
        f, (const char *[]){TYCHO_METRICS_OVERFLOW_VALUE, TYCHO_METRICS_OVERFLOW_VALUE});
    assert_non_null(of);
    assert_true(of->value == 99000);
    assert_true(find_series(f, (const char *[]){"u0", "/x"})->value == 2);
    double total = 0;
    for (size_t i = 0; i < f->nseries; i++)
        total += f->series[i].value;
    assert_true(total == 100001); /* nothing lost, only folded */
    const tycho_snapshot_family_t *ov =
        tycho_metrics_snapshot_find(s, TYCHO_METRICS_OVERFLOW_METRIC);
    assert_true(find_series(ov, (const char *[]){"by_user_total"})->value == 99000);
    tycho_metrics_snapshot_free(s);

    /* Resolving a handle past the cap yields the overflow series. */
    tycho_metric_set(small, 0, (const char *[]){"a"}, 1);
    tycho_metric_set(small, 0, (const char *[]){"b"}, 1);
    tycho_metric_set(small, 1, (const char *[]){"c"}, 1);
    tycho_series_t *x = tycho_metric_series(small, 1, (const char *[]){"d"}, NULL);
    tycho_series_t *y = tycho_metric_series(small, 1, (const char *[]){"e"}, NULL);
    assert_non_null(x);
    assert_ptr_equal(x, y);
    /* Shard 1 has not seen "a" yet but it is admitted: a real series. */
    assert_ptr_not_equal(tycho_metric_series(small, 1, (const char *[]){"a"}, NULL), x);
    assert_true(value_of(r, TYCHO_METRICS_OVERFLOW_METRIC, (const char *[]){"small"}) == 2);
    tycho_metrics_free(r);
}

/* How many series of family name have these label values. */
static size_t series_named(tycho_metrics_t *r, const char *name, const char *const *values)
{
    tycho_metrics_snapshot_t *s = tycho_metrics_snapshot(r);
    const tycho_snapshot_family_t *f = tycho_metrics_snapshot_find(s, name);
    size_t n = 0;
    for (size_t i = 0; f && i < f->nseries; i++)
        n += (size_t)series_is(f, i, values);
    tycho_metrics_snapshot_free(s);
    return n;
}

/* A label set whose every value is __overflow__, named by an update, is the
 * overflow series itself: one series in the exposition, not two of the same
 * labels (a duplicate a scrape refuses). It takes no slot of the cap, and
 * only folds count as overflows. */
static void test_overflow_labels_named(void **state)
{
    (void)state;
    tycho_metrics_t *r = tycho_metrics_new(2, 1000);
    tycho_metric_t *m;
    const char *l[] = {"a", "b"};
    tycho_metric_opts_t o = {.name = "named_total",
                             .type = TYCHO_METRIC_COUNTER,
                             .label_names = l,
                             .nlabels = 2,
                             .max_series = 2};
    assert_int_equal(tycho_metrics_register(r, &o, &m, NULL, 0), 0);
    const char *ov = TYCHO_METRICS_OVERFLOW_VALUE;
    assert_int_equal(tycho_metric_inc(m, 0, (const char *[]){ov, ov}, 7), 0);
    assert_int_equal(tycho_metric_inc(m, 0, (const char *[]){ov, "x"}, 1), 0); /* a real set */
    assert_int_equal(tycho_metric_inc(m, 1, (const char *[]){"y", "y"}, 1), 0);
    assert_int_equal(tycho_metric_inc(m, 1, (const char *[]){"z", "z"}, 1), 0); /* folded */
    assert_int_equal(tycho_metric_inc(m, 1, (const char *[]){ov, ov}, 1), 0);
    assert_int_equal(series_named(r, "named_total", (const char *[]){ov, ov}), 1);
    assert_true(value_of(r, "named_total", (const char *[]){ov, ov}) == 9);
    assert_true(value_of(r, "named_total", (const char *[]){ov, "x"}) == 1);
    assert_true(value_of(r, "named_total", (const char *[]){"y", "y"}) == 1);
    assert_true(value_of(r, TYCHO_METRICS_OVERFLOW_METRIC, (const char *[]){"named_total"}) == 1);
    tycho_metrics_free(r);
}

/* tycho_metrics_overflow_total's series of a family goes with the family:
 * a replaced or dropped family's count leaves snapshots (a held one still
 * folds, unseen), a redefinition of the same shape keeps it, and a new
 * family of that name counts from 0. */
static void test_overflow_series_follows_family(void **state)
{
    (void)state;
    tycho_metrics_t *r = tycho_metrics_new(2, 1000);
    assert_non_null(r);
    char err[256];
    const char *l[] = {"a"}, *l2[] = {"a", "b"};
    tycho_metric_opts_t ids = {.name = "ids_total",
                               .type = TYCHO_METRIC_COUNTER,
                               .label_names = l,
                               .nlabels = 1,
                               .max_series = 1,
                               .stamp = 1};
    tycho_metric_opts_t kept = ids;
    kept.name = "kept_total";
    tycho_metric_t *m = claim(r, ids), *k = claim(r, kept), *again;
    for (unsigned shard = 0; shard < 2; shard++) {
        assert_int_equal(tycho_metric_inc(m, shard, (const char *[]){"x"}, 1), 0);
        assert_int_equal(tycho_metric_inc(m, shard, (const char *[]){"y"}, 1), 0); /* folded */
        assert_int_equal(tycho_metric_inc(k, shard, (const char *[]){"x"}, 1), 0);
        assert_int_equal(tycho_metric_inc(k, shard, (const char *[]){"z"}, 1), 0); /* folded */
    }
    const char *ov_ids[] = {"ids_total"}, *ov_kept[] = {"kept_total"};
    assert_true(value_of(r, TYCHO_METRICS_OVERFLOW_METRIC, ov_ids) == 2);
    assert_true(value_of(r, TYCHO_METRICS_OVERFLOW_METRIC, ov_kept) == 2);

    /* load 2: ids_total with other labels, kept_total as it was */
    ids.stamp = kept.stamp = 2;
    ids.label_names = l2, ids.nlabels = 2;
    assert_int_equal(tycho_metrics_register(r, &kept, &again, err, sizeof err), 0);
    tycho_metric_t *m2 = claim(r, ids);
    assert_int_equal(tycho_metrics_drop_older(r, 2), 0);
    assert_true(isnan(value_of(r, TYCHO_METRICS_OVERFLOW_METRIC, ov_ids)));
    assert_true(value_of(r, TYCHO_METRICS_OVERFLOW_METRIC, ov_kept) == 2);
    assert_int_equal(tycho_metric_inc(m, 0, (const char *[]){"w"}, 1), 0); /* retired: unseen */
    assert_true(isnan(value_of(r, TYCHO_METRICS_OVERFLOW_METRIC, ov_ids)));
    assert_int_equal(tycho_metric_inc(m2, 1, (const char *[]){"x", "1"}, 1), 0);
    assert_int_equal(tycho_metric_inc(m2, 1, (const char *[]){"x", "2"}, 1), 0); /* folded */
    assert_true(value_of(r, TYCHO_METRICS_OVERFLOW_METRIC, ov_ids) == 1);

    /* load 3 defines kept_total only: ids_total and its count go */
    kept.stamp = 3;
    assert_int_equal(tycho_metrics_register(r, &kept, &again, err, sizeof err), 0);
    assert_int_equal(tycho_metrics_drop_older(r, 3), 1);
    assert_true(isnan(value_of(r, TYCHO_METRICS_OVERFLOW_METRIC, ov_ids)));
    assert_true(value_of(r, TYCHO_METRICS_OVERFLOW_METRIC, ov_kept) == 2);
    tycho_metric_release(m);
    tycho_metric_release(m2);
    tycho_metric_release(k);
    tycho_metrics_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_register_idempotent),
        cmocka_unit_test(test_redefine_on_reload),
        cmocka_unit_test(test_drop_older),
        cmocka_unit_test(test_load_window),
        cmocka_unit_test(test_collision_with_older_load),
        cmocka_unit_test(test_validation),
        cmocka_unit_test(test_updates),
        cmocka_unit_test(test_updates_stay_finite),
        cmocka_unit_test(test_gauge_merge_modes),
        cmocka_unit_test(test_callbacks),
        cmocka_unit_test(test_shard_merge_threads),
        cmocka_unit_test(test_cardinality_cap),
        cmocka_unit_test(test_overflow_labels_named),
        cmocka_unit_test(test_overflow_series_follows_family),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
