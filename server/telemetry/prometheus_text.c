#include "telemetry/prometheus_text.h"

#include "core/utf8.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

int tycho_prom_append_escaped(tycho_buf_t *out, const char *s, size_t n, int help)
{
    const unsigned char *u = (const unsigned char *)s;
    /* Worst case: every byte becomes 3 (U+FFFD) or 2 (an escape). */
    if (n > SIZE_MAX / 3 - 1 || tycho_buf_reserve(out, n * 3 + 1) != 0) return -ENOMEM;
    char *o = out->data + out->len;
    for (size_t i = 0; i < n;) {
        unsigned char c = u[i];
        if (c == '\\' || (c == '"' && !help)) {
            *o++ = '\\';
            *o++ = (char)c;
            i++;
        } else if (c == '\n') {
            *o++ = '\\';
            *o++ = 'n';
            i++;
        } else {
            size_t len = tycho_utf8_seq_len(u + i, n - i);
            if (len == 0) {
                *o++ = (char)0xEF, *o++ = (char)0xBF, *o++ = (char)0xBD;
                i++;
            } else {
                memcpy(o, u + i, len);
                o += len;
                i += len;
            }
        }
    }
    out->len = (size_t)(o - out->data);
    out->data[out->len] = '\0';
    return 0;
}

size_t tycho_prom_format_double(double v, char out[32])
{
    if (isnan(v)) return (size_t)snprintf(out, 32, "NaN");
    if (isinf(v)) return (size_t)snprintf(out, 32, v > 0 ? "+Inf" : "-Inf");
    return tycho_buf_number_text(out, v);
}

/* name{l1="v1",...[,le="x"]} value\n */
static int sample(tycho_buf_t *b, const char *name, const char *suffix,
                  const tycho_snapshot_family_t *f, const tycho_snapshot_series_t *s,
                  const char *le, double v)
{
    int rc = tycho_buf_puts(b, name);
    if (suffix) rc |= tycho_buf_puts(b, suffix);
    if (f->nlabels || le) {
        rc |= tycho_buf_append(b, "{", 1);
        for (size_t i = 0; i < f->nlabels; i++) {
            if (i) rc |= tycho_buf_append(b, ",", 1);
            rc |= tycho_buf_puts(b, f->label_names[i]);
            rc |= tycho_buf_append(b, "=\"", 2);
            const char *val = s->label_values[i];
            rc |= tycho_prom_append_escaped(b, val, strlen(val), 0);
            rc |= tycho_buf_append(b, "\"", 1);
        }
        if (le) {
            if (f->nlabels) rc |= tycho_buf_append(b, ",", 1);
            rc |= tycho_buf_printf(b, "le=\"%s\"", le);
        }
        rc |= tycho_buf_append(b, "}", 1);
    }
    char num[TYCHO_BUF_NUMBER_MAX];
    size_t n = tycho_prom_format_double(v, num);
    rc |= tycho_buf_append(b, " ", 1);
    rc |= tycho_buf_append(b, num, n);
    rc |= tycho_buf_append(b, "\n", 1);
    return rc ? -ENOMEM : 0;
}

static int family(tycho_buf_t *b, const tycho_snapshot_family_t *f)
{
    int rc = tycho_buf_printf(b, "# HELP %s ", f->name);
    rc |= tycho_prom_append_escaped(b, f->help, strlen(f->help), 1);
    rc |= tycho_buf_printf(b, "\n# TYPE %s %s\n", f->name, tycho_metric_type_name(f->type));
    if (rc) return -ENOMEM;
    for (size_t i = 0; i < f->nseries; i++) {
        const tycho_snapshot_series_t *s = &f->series[i];
        if (f->type != TYCHO_METRIC_HISTOGRAM) {
            if (sample(b, f->name, NULL, f, s, NULL, s->value)) return -ENOMEM;
            continue;
        }
        char le[TYCHO_BUF_NUMBER_MAX];
        for (size_t j = 0; j <= f->nbounds; j++) {
            if (j < f->nbounds)
                tycho_prom_format_double(f->bounds[j], le);
            else
                memcpy(le, "+Inf", 5);
            if (sample(b, f->name, "_bucket", f, s, le, (double)s->buckets[j])) return -ENOMEM;
        }
        if (sample(b, f->name, "_sum", f, s, NULL, s->sum) ||
            sample(b, f->name, "_count", f, s, NULL, (double)s->count))
            return -ENOMEM;
    }
    return 0;
}

int tycho_prom_render(const tycho_metrics_snapshot_t *snap, tycho_buf_t *out)
{
    for (size_t i = 0; i < snap->nfamilies; i++) {
        const tycho_snapshot_family_t *f = &snap->families[i];
        /* A family with no series yet still gets its HELP and TYPE (as
         * prometheus_client for Python does): a scrape lists every name
         * tycho exports, e.g. a labelled histogram before its first
         * observation, for tests/deploy/check_metric_names and for users. */
        if (family(out, f) != 0) return -ENOMEM;
    }
    return 0;
}
