#include "telemetry/sampler.h"
#include "core/units.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define RANDOM_BITS 56
#define MAX_THRESHOLD (1ull << RANDOM_BITS) /* ratio 0: nothing is >= 2^56 */

static const struct {
    const char *name;
    tycho_sampler_kind_t kind;
} names[] = {
    {"always_on", TYCHO_SAMPLER_ALWAYS_ON},
    {"always_off", TYCHO_SAMPLER_ALWAYS_OFF},
    {"traceidratio", TYCHO_SAMPLER_TRACEIDRATIO},
    {"parentbased_always_on", TYCHO_SAMPLER_PARENTBASED_ALWAYS_ON},
    {"parentbased_always_off", TYCHO_SAMPLER_PARENTBASED_ALWAYS_OFF},
    {"parentbased_traceidratio", TYCHO_SAMPLER_PARENTBASED_TRACEIDRATIO},
};

uint64_t tycho_sampler_ratio_threshold(double ratio)
{
    if (!(ratio > 0)) return MAX_THRESHOLD;
    if (ratio >= 1) return 0;
    /* Rejection threshold T = (1 - p) * 2^56, rounded so that p is never
     * rounded up (the OTel consistent-probability convention). */
    double t = ceil((1.0 - ratio) * (double)MAX_THRESHOLD);
    if (t >= (double)MAX_THRESHOLD) return MAX_THRESHOLD - 1;
    return (uint64_t)t;
}

int tycho_sampler_ratio_decide(uint64_t threshold, const uint8_t trace_id[16])
{
    uint64_t r = 0;
    for (int i = 9; i < 16; i++)
        r = r << 8 | trace_id[i];
    return r >= threshold;
}

/* "one of always_on, always_off, ..." into out: what a bad name is told. */
static void known_names(char *out, size_t cap)
{
    size_t off = (size_t)snprintf(out, cap, "one of");
    for (size_t i = 0; i < sizeof names / sizeof names[0] && off < cap; i++)
        off += (size_t)snprintf(out + off, cap - off, "%s %s", i ? "," : "", names[i].name);
}

int tycho_sampler_configure(tycho_sampler_t *s, const char *name, const char *arg, char *msg,
                            size_t msglen)
{
    if (msg && msglen) msg[0] = 0;
    s->kind = TYCHO_SAMPLER_PARENTBASED_ALWAYS_ON;
    s->ratio = 1.0;
    s->threshold = 0;
    if (name && *name) {
        size_t i;
        for (i = 0; i < sizeof names / sizeof names[0]; i++)
            if (strcasecmp(name, names[i].name) == 0) break;
        if (i == sizeof names / sizeof names[0]) {
            int unsupported = strcasecmp(name, "jaeger_remote") == 0 ||
                              strcasecmp(name, "parentbased_jaeger_remote") == 0 ||
                              strcasecmp(name, "xray") == 0;
            if (msg) {
                char known[160];
                known_names(known, sizeof known);
                snprintf(msg, msglen,
                         unsupported ? "OTEL_TRACES_SAMPLER: %s is not supported by tycho (%s)"
                                     : "OTEL_TRACES_SAMPLER: unknown sampler: %s (%s)",
                         name, known);
            }
            return unsupported ? -ENOTSUP : -EINVAL;
        }
        s->kind = names[i].kind;
    }
    if (s->kind != TYCHO_SAMPLER_TRACEIDRATIO && s->kind != TYCHO_SAMPLER_PARENTBASED_TRACEIDRATIO)
        return 0;
    if (!arg || !*arg) return 0;
    double r;
    const char *end = tycho_parse_decimal(arg, &r);
    while (end && *end == ' ')
        end++;
    if (!end || *end || !(r >= 0 && r <= 1)) {
        if (msg)
            snprintf(msg, msglen,
                     "OTEL_TRACES_SAMPLER_ARG: not a probability from 0 to 1 (a decimal number: "
                     "0.25): %s (using 1.0)",
                     arg);
        return 1;
    }
    s->ratio = r;
    s->threshold = tycho_sampler_ratio_threshold(r);
    return 0;
}

int tycho_sampler_from_env(tycho_sampler_t *s, char *msg, size_t msglen)
{
    return tycho_sampler_configure(s, getenv("OTEL_TRACES_SAMPLER"),
                                   getenv("OTEL_TRACES_SAMPLER_ARG"), msg, msglen);
}

const char *tycho_sampler_name(const tycho_sampler_t *s)
{
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (names[i].kind == s->kind) return names[i].name;
    return "?";
}

int tycho_sampler_should_sample(const tycho_sampler_t *s, const uint8_t trace_id[16],
                                tycho_parent_state_t parent)
{
    switch (s->kind) {
    case TYCHO_SAMPLER_ALWAYS_ON:
        return 1;
    case TYCHO_SAMPLER_ALWAYS_OFF:
        return 0;
    case TYCHO_SAMPLER_TRACEIDRATIO:
        return tycho_sampler_ratio_decide(s->threshold, trace_id);
    default:
        break;
    }
    /* Parent-based: a parent's decision is followed (sampled -> always_on,
     * not sampled -> always_off, for remote and local parents alike). */
    if (parent == TYCHO_PARENT_SAMPLED) return 1;
    if (parent == TYCHO_PARENT_NOT_SAMPLED) return 0;
    switch (s->kind) {
    case TYCHO_SAMPLER_PARENTBASED_ALWAYS_ON:
        return 1;
    case TYCHO_SAMPLER_PARENTBASED_ALWAYS_OFF:
        return 0;
    default:
        return tycho_sampler_ratio_decide(s->threshold, trace_id);
    }
}
