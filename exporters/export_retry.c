#include "exporters/export_retry.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

tycho_export_verdict_t tycho_export_classify(tycho_export_proto_t proto, int transport_error,
                                             long status)
{
    if (transport_error) return TYCHO_EXPORT_RETRY;
    if (status >= 200 && status < 300) return TYCHO_EXPORT_DONE;
    switch (proto) {
    case TYCHO_EXPORT_PROTO_OTLP:
        /* OTLP/HTTP "Retryable Response Codes". */
        if (status == 429 || status == 502 || status == 503 || status == 504)
            return TYCHO_EXPORT_RETRY;
        return TYCHO_EXPORT_REJECT;
    case TYCHO_EXPORT_PROTO_PRW:
        /* Remote write 1.0: 5xx MUST be retried, 429 MAY be, other 4xx MUST NOT. */
        if (status >= 500 && status < 600) return TYCHO_EXPORT_RETRY;
        if (status == 429) return TYCHO_EXPORT_RETRY;
        return TYCHO_EXPORT_REJECT;
    case TYCHO_EXPORT_PROTO_LOKI:
        /* promtail: "Only retry 429s, 500s and connection-level errors." */
        if (status == 429 || (status >= 500 && status < 600)) return TYCHO_EXPORT_RETRY;
        return TYCHO_EXPORT_REJECT;
    }
    return TYCHO_EXPORT_REJECT;
}

static int month_of(const char *m)
{
    static const char names[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    for (int i = 0; i < 12; i++)
        if (strncmp(names + 3 * i, m, 3) == 0) return i;
    return -1;
}

/* Reads n digits. */
static int digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i])) return -1;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return 0;
}

static int hms(const char **p, struct tm *tm)
{
    if (digits(p, 2, &tm->tm_hour) || *(*p)++ != ':' || digits(p, 2, &tm->tm_min) ||
        *(*p)++ != ':' || digits(p, 2, &tm->tm_sec))
        return -1;
    return 0;
}

static int http_date(const char *s, int64_t *out)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *comma = strchr(s, ',');
    const char *p;
    if (comma && comma - s == 3) {
        /* IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT */
        p = comma + 1;
        if (*p++ != ' ' || digits(&p, 2, &tm.tm_mday) || *p++ != ' ') return -1;
        if ((tm.tm_mon = month_of(p)) < 0) return -1;
        p += 3;
        if (*p++ != ' ' || digits(&p, 4, &tm.tm_year) || *p++ != ' ' || hms(&p, &tm)) return -1;
        tm.tm_year -= 1900;
        if (strcmp(p, " GMT") != 0) return -1;
    } else if (comma) {
        /* RFC 850: Sunday, 06-Nov-94 08:49:37 GMT */
        p = comma + 1;
        if (*p++ != ' ' || digits(&p, 2, &tm.tm_mday) || *p++ != '-') return -1;
        if ((tm.tm_mon = month_of(p)) < 0) return -1;
        p += 3;
        if (*p++ != '-' || digits(&p, 2, &tm.tm_year) || *p++ != ' ' || hms(&p, &tm)) return -1;
        if (tm.tm_year < 70) tm.tm_year += 100;
        if (strcmp(p, " GMT") != 0) return -1;
    } else {
        /* asctime: Sun Nov  6 08:49:37 1994 */
        if (strlen(s) < 24) return -1;
        p = s + 4;
        if ((tm.tm_mon = month_of(p)) < 0) return -1;
        p += 4;
        if (*p == ' ') {
            p++;
            if (digits(&p, 1, &tm.tm_mday)) return -1;
        } else if (digits(&p, 2, &tm.tm_mday)) {
            return -1;
        }
        if (*p++ != ' ' || hms(&p, &tm) || *p++ != ' ' || digits(&p, 4, &tm.tm_year) || *p)
            return -1;
        tm.tm_year -= 1900;
    }
    if (tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
        return -1;
    time_t t = timegm(&tm);
    if (t == (time_t)-1) return -1;
    *out = (int64_t)t;
    return 0;
}

int tycho_export_parse_retry_after(const char *value, int64_t now_s, uint64_t *ms)
{
    if (!value) return -1;
    while (*value == ' ' || *value == '\t')
        value++;
    size_t n = strlen(value);
    while (n && (value[n - 1] == ' ' || value[n - 1] == '\t'))
        n--;
    if (!n || n > 64) return -1;
    char buf[65];
    memcpy(buf, value, n);
    buf[n] = 0;
    int all_digits = 1;
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)buf[i])) all_digits = 0;
    if (all_digits) {
        if (n > 9) n = 9, buf[9] = 0; /* more than ~31 years: clamped by the caller anyway */
        *ms = (uint64_t)strtoull(buf, NULL, 10) * 1000;
        return 0;
    }
    int64_t t;
    if (http_date(buf, &t) != 0) return -1;
    *ms = t > now_s ? (uint64_t)(t - now_s) * 1000 : 0;
    return 0;
}

uint64_t tycho_export_backoff_ms(const tycho_export_retry_t *r, unsigned retry, uint64_t rnd)
{
    uint64_t base = r->backoff_min_ms ? r->backoff_min_ms : 1;
    for (unsigned i = 1; i < retry && base < r->backoff_max_ms; i++)
        base *= 2;
    if (base > r->backoff_max_ms) base = r->backoff_max_ms;
    uint64_t half = base / 2;
    return base - half + (half ? rnd % (half + 1) : 0);
}
