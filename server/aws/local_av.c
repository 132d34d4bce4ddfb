/* local_av — see local_av.h. Number rules follow PROTOCOLS.md §8 and the
 * DynamoDB "Naming rules and data types" page: 38 significant digits,
 * magnitude in [1E-130, 1E+126), leading and trailing zeros not significant. */
#include "aws/local_av.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char NUM_BAD[] = "The parameter cannot be converted to a numeric value";
static const char NUM_DIGITS[] = "Attempting to store more than 38 significant digits in a Number";
static const char NUM_OVER[] =
    "Number overflow. Attempting to store a number with magnitude larger than supported range";
static const char NUM_UNDER[] =
    "Number underflow. Attempting to store a number with magnitude smaller than supported range";

/* ---- decimal ------------------------------------------------------------ */

/* Builds a normalized decimal from a digit run (values 0..9, most significant
 * first) whose first digit has weight 10^(top-1). */
static int dec_from_digits(int sign, const unsigned char *dig, int n, int top, tycho_dec_t *out,
                           const char **why)
{
    int first = 0, last = n - 1;
    while (first < n && dig[first] == 0)
        first++;
    memset(out, 0, sizeof *out);
    if (first == n) return 0; /* zero */
    while (dig[last] == 0)
        last--;
    int nd = last - first + 1;
    if (nd > TYCHO_DEC_MAX_DIGITS) {
        *why = NUM_DIGITS;
        return -1;
    }
    int exp = top - first;
    if (exp > TYCHO_DEC_MAX_EXP) {
        *why = NUM_OVER;
        return -1;
    }
    if (exp < TYCHO_DEC_MIN_EXP) {
        *why = NUM_UNDER;
        return -1;
    }
    out->sign = sign;
    out->exp = exp;
    out->nd = nd;
    memcpy(out->d, dig + first, (size_t)nd);
    return 0;
}

int tycho_dec_parse(const char *s, tycho_dec_t *out, const char **why)
{
    const char *p = s;
    int sign = 1;
    *why = NUM_BAD;
    if (*p == '+' || *p == '-') {
        sign = *p == '-' ? -1 : 1;
        p++;
    }
    /* Only significant digits are kept: leading zeros shift the exponent,
     * trailing zeros are counted and dropped, so any length parses. */
    unsigned char dig[TYCHO_DEC_MAX_DIGITS + 2];
    int nd = 0, ndigits = 0, seen_point = 0, top = 0, started = 0;
    long pending_zeros = 0, overflow = 0;
    for (; *p; p++) {
        if (*p >= '0' && *p <= '9') {
            int v = *p - '0';
            ndigits++;
            if (!seen_point) top++;
            if (!started) {
                if (v == 0) {
                    if (seen_point)
                        top--; /* 0.00x: each zero after the point lowers the exponent */
                    else
                        top--; /* leading integer zero carries no weight */
                    continue;
                }
                started = 1;
            }
            if (v == 0) {
                pending_zeros++;
                continue;
            }
            while (pending_zeros > 0) {
                if (nd < TYCHO_DEC_MAX_DIGITS + 1)
                    dig[nd++] = 0;
                else
                    overflow = 1;
                pending_zeros--;
            }
            if (nd < TYCHO_DEC_MAX_DIGITS + 1)
                dig[nd++] = (unsigned char)v;
            else
                overflow = 1;
        } else if (*p == '.' && !seen_point) {
            seen_point = 1;
        } else {
            break;
        }
    }
    if (ndigits == 0) return -1;
    long e = 0;
    if (*p == 'e' || *p == 'E') {
        int esign = 1, edigits = 0;
        p++;
        if (*p == '+' || *p == '-') {
            esign = *p == '-' ? -1 : 1;
            p++;
        }
        for (; *p >= '0' && *p <= '9'; p++) {
            if (e < 100000) e = e * 10 + (*p - '0');
            edigits++;
        }
        if (!edigits) return -1;
        e *= esign;
    }
    if (*p) return -1;
    if (!started) {
        memset(out, 0, sizeof *out);
        return 0;
    }
    if (overflow) {
        *why = NUM_DIGITS;
        return -1;
    }
    long t = (long)top + e;
    if (t > TYCHO_DEC_MAX_EXP) {
        *why = NUM_OVER;
        return -1;
    }
    if (t < TYCHO_DEC_MIN_EXP) {
        *why = NUM_UNDER;
        return -1;
    }
    return dec_from_digits(sign, dig, nd, (int)t, out, why);
}

void tycho_dec_format(const tycho_dec_t *v, char out[TYCHO_DEC_STRLEN])
{
    char *o = out;
    if (v->nd == 0) {
        strcpy(out, "0");
        return;
    }
    if (v->sign < 0) *o++ = '-';
    if (v->exp <= 0) {
        *o++ = '0';
        *o++ = '.';
        for (int i = 0; i < -v->exp; i++)
            *o++ = '0';
        for (int i = 0; i < v->nd; i++)
            *o++ = (char)('0' + v->d[i]);
    } else if (v->exp >= v->nd) {
        for (int i = 0; i < v->nd; i++)
            *o++ = (char)('0' + v->d[i]);
        for (int i = v->nd; i < v->exp; i++)
            *o++ = '0';
    } else {
        for (int i = 0; i < v->nd; i++) {
            if (i == v->exp) *o++ = '.';
            *o++ = (char)('0' + v->d[i]);
        }
    }
    *o = '\0';
}

static int mag_cmp(const tycho_dec_t *a, const tycho_dec_t *b)
{
    if (a->exp != b->exp) return a->exp < b->exp ? -1 : 1;
    int n = a->nd < b->nd ? a->nd : b->nd;
    for (int i = 0; i < n; i++)
        if (a->d[i] != b->d[i]) return a->d[i] < b->d[i] ? -1 : 1;
    return a->nd == b->nd ? 0 : (a->nd < b->nd ? -1 : 1);
}

int tycho_dec_cmp(const tycho_dec_t *a, const tycho_dec_t *b)
{
    if (a->sign != b->sign) return a->sign < b->sign ? -1 : 1;
    if (a->sign == 0) return 0;
    int m = mag_cmp(a, b);
    return a->sign > 0 ? m : -m;
}

int tycho_dec_add(const tycho_dec_t *a, const tycho_dec_t *b, int subtract, tycho_dec_t *out,
                  const char **why)
{
    tycho_dec_t bb = *b;
    if (subtract) bb.sign = -bb.sign;
    if (a->sign == 0) {
        *out = bb;
        return 0;
    }
    if (bb.sign == 0) {
        *out = *a;
        return 0;
    }
    /* Fixed-point over [low, high): digit at column c has weight 10^(high-1-c). */
    int low_a = a->exp - a->nd, low_b = bb.exp - bb.nd;
    int low = low_a < low_b ? low_a : low_b;
    int high = (a->exp > bb.exp ? a->exp : bb.exp) + 1; /* one spare column for carry */
    int len = high - low;
    unsigned char x[400], y[400], r[400];
    if (len > (int)sizeof x) {
        *why = NUM_DIGITS;
        return -1;
    }
    memset(x, 0, (size_t)len);
    memset(y, 0, (size_t)len);
    for (int i = 0; i < a->nd; i++)
        x[high - a->exp + i] = a->d[i];
    for (int i = 0; i < bb.nd; i++)
        y[high - bb.exp + i] = bb.d[i];
    int sign;
    if (a->sign == bb.sign) {
        int carry = 0;
        for (int c = len - 1; c >= 0; c--) {
            int s = x[c] + y[c] + carry;
            r[c] = (unsigned char)(s % 10);
            carry = s / 10;
        }
        sign = a->sign;
    } else {
        int m = mag_cmp(a, &bb);
        if (m == 0) {
            memset(out, 0, sizeof *out);
            return 0;
        }
        const unsigned char *big = m > 0 ? x : y, *small = m > 0 ? y : x;
        int borrow = 0;
        for (int c = len - 1; c >= 0; c--) {
            int s = big[c] - small[c] - borrow;
            borrow = s < 0;
            r[c] = (unsigned char)(s < 0 ? s + 10 : s);
        }
        sign = m > 0 ? a->sign : bb.sign;
    }
    /* r[0] has weight 10^(high-1), so the run's "top" exponent is high. */
    int first = 0;
    while (first < len && r[first] == 0)
        first++;
    int last = len - 1;
    while (last > first && r[last] == 0)
        last--;
    if (last - first + 1 > TYCHO_DEC_MAX_DIGITS) {
        *why = NUM_DIGITS;
        return -1;
    }
    return dec_from_digits(sign, r, len, high, out, why);
}

int tycho_dec_from_long(long long v, tycho_dec_t *out)
{
    char tmp[32];
    const char *why;
    snprintf(tmp, sizeof tmp, "%lld", v);
    return tycho_dec_parse(tmp, out, &why);
}

size_t tycho_dec_key(const tycho_dec_t *v, unsigned char out[48])
{
    size_t n = 0;
    if (v->sign == 0) {
        out[n++] = 0x80;
        return n;
    }
    unsigned e = (unsigned)(v->exp + 1000);
    if (v->sign > 0) {
        out[n++] = 0x81;
        out[n++] = (unsigned char)(e >> 8);
        out[n++] = (unsigned char)e;
        for (int i = 0; i < v->nd; i++)
            out[n++] = (unsigned char)('0' + v->d[i]);
    } else {
        /* Larger magnitude sorts first; complemented digits plus a high
         * terminator make a shorter digit run (smaller magnitude) sort after
         * its extensions. */
        unsigned ne = 0xFFFFu - e;
        out[n++] = 0x7F;
        out[n++] = (unsigned char)(ne >> 8);
        out[n++] = (unsigned char)ne;
        for (int i = 0; i < v->nd; i++)
            out[n++] = (unsigned char)('9' - v->d[i]);
        out[n++] = 0xFF;
    }
    return n;
}

/* ---- base64 ------------------------------------------------------------- */

static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int b64v(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

static int b64_bad(unsigned char *o, const char **why, const char *text)
{
    free(o);
    if (why) *why = text;
    return -1;
}

int tycho_b64_decode(const char *s, size_t n, unsigned char **out, size_t *outlen, const char **why)
{
    *out = NULL;
    *outlen = 0;
    if (n % 4 != 0) return b64_bad(NULL, why, "length not a multiple of 4 (padding missing?)");
    unsigned char *o = malloc(n / 4 * 3 + 1);
    if (!o) return b64_bad(NULL, why, "out of memory");
    size_t k = 0;
    for (size_t i = 0; i < n; i += 4) {
        int v[4], pad = 0;
        for (int j = 0; j < 4; j++) {
            unsigned char c = (unsigned char)s[i + (size_t)j];
            if (c == '=' && i + 4 == n && j >= 2) {
                v[j] = 0;
                pad++;
                continue;
            }
            if (pad) return b64_bad(o, why, "data after '=' padding");
            if (c == '=') return b64_bad(o, why, "'=' padding before the last 2 characters");
            v[j] = b64v(c);
            if (v[j] < 0) return b64_bad(o, why, "a character outside A-Z a-z 0-9 + / =");
        }
        unsigned triple = (unsigned)(v[0] << 18 | v[1] << 12 | v[2] << 6 | v[3]);
        /* Unused bits of the last character must be zero (canonical form,
         * RFC 4648 3.5): "QR==" and "QQ==" would be the same byte. */
        if ((pad == 1 && (v[2] & 3)) || (pad == 2 && (v[1] & 15)))
            return b64_bad(o, why, "non-zero unused bits before the padding (not canonical)");
        o[k++] = (unsigned char)(triple >> 16);
        if (pad < 2) o[k++] = (unsigned char)(triple >> 8);
        if (pad < 1) o[k++] = (unsigned char)triple;
    }
    o[k] = 0;
    *out = o;
    *outlen = k;
    return 0;
}

int tycho_b64_encode(tycho_buf_t *b, const unsigned char *p, size_t n)
{
    if (tycho_buf_reserve(b, (n + 2) / 3 * 4 + 1)) return -1;
    char *o = b->data + b->len;
    size_t i = 0;
    for (; i + 2 < n; i += 3) {
        unsigned t = (unsigned)(p[i] << 16 | p[i + 1] << 8 | p[i + 2]);
        *o++ = B64[t >> 18 & 63];
        *o++ = B64[t >> 12 & 63];
        *o++ = B64[t >> 6 & 63];
        *o++ = B64[t & 63];
    }
    if (i < n) {
        unsigned t = (unsigned)(p[i] << 16 | (i + 1 < n ? p[i + 1] << 8 : 0));
        *o++ = B64[t >> 18 & 63];
        *o++ = B64[t >> 12 & 63];
        *o++ = i + 1 < n ? B64[t >> 6 & 63] : '=';
        *o++ = '=';
    }
    b->len = (size_t)(o - b->data);
    b->data[b->len] = '\0';
    return 0;
}

/* ---- AttributeValue ----------------------------------------------------- */

static const char *const TYPE_NAMES[] = {"S", "N", "B", "BOOL", "NULL", "M", "L", "SS", "NS", "BS"};

const char *tycho_av_type_name(tycho_av_type_t t)
{
    return t < TYCHO_AV_INVALID ? TYPE_NAMES[t] : "?";
}

tycho_av_type_t tycho_av_type_from_name(const char *s)
{
    for (int i = 0; i < (int)TYCHO_AV_INVALID; i++)
        if (strcmp(s, TYPE_NAMES[i]) == 0) return (tycho_av_type_t)i;
    return TYCHO_AV_INVALID;
}

tycho_av_type_t tycho_av_type(const cJSON *av)
{
    if (!av || !cJSON_IsObject(av) || !av->child || !av->child->string) return TYCHO_AV_INVALID;
    return tycho_av_type_from_name(av->child->string);
}

cJSON *tycho_av_payload(const cJSON *av)
{
    return av ? av->child : NULL;
}

static int fail(tycho_av_err_t *err, int ser, const char *fmt, const char *arg)
{
    err->serialization = ser;
    snprintf(err->msg, sizeof err->msg, fmt, arg ? arg : "");
    return -1;
}

static int validate_number_item(cJSON *it, tycho_av_err_t *err)
{
    tycho_dec_t d;
    const char *why;
    if (!cJSON_IsString(it))
        return fail(err, 1, "NUMBER_VALUE cannot be converted to String", NULL);
    if (tycho_dec_parse(it->valuestring, &d, &why)) {
        /* DynamoDB names the text it could not read (not an empty one). */
        if (why == NUM_BAD && it->valuestring[0])
            return fail(err, 0, "The parameter cannot be converted to a numeric value: %s",
                        it->valuestring);
        return fail(err, 0, "%s", why);
    }
    char buf[TYCHO_DEC_STRLEN];
    tycho_dec_format(&d, buf);
    if (strcmp(buf, it->valuestring) != 0) {
        char *copy = strdup(buf);
        if (!copy) return fail(err, 0, "out of memory", NULL);
        free(it->valuestring);
        it->valuestring = copy;
    }
    return 0;
}

static int validate_binary_item(const cJSON *it, tycho_av_err_t *err)
{
    unsigned char *raw;
    size_t n;
    if (!cJSON_IsString(it)) return fail(err, 1, "Unexpected value type in payload", NULL);
    if (tycho_b64_decode(it->valuestring, strlen(it->valuestring), &raw, &n, NULL))
        return fail(err, 1, "Base64 encoded value is malformed: %s", it->valuestring);
    free(raw);
    return 0;
}

static int set_has_dup(const cJSON *arr, tycho_av_type_t t)
{
    /* Sets are at most a few hundred elements in practice; quadratic is fine
     * and keeps numeric equality exact (numbers are normalized first). */
    for (const cJSON *a = arr->child; a; a = a->next)
        for (const cJSON *b = a->next; b; b = b->next) {
            (void)t;
            if (strcmp(a->valuestring, b->valuestring) == 0) return 1;
        }
    return 0;
}

/* DynamoDB's three wordings of a set with a duplicate: the elements of an
 * SS or a BS (as sent, between brackets), none for an NS. */
static int set_dup_error(const cJSON *set, tycho_av_type_t t, tycho_av_err_t *err)
{
    err->serialization = 0;
    if (t == TYCHO_AV_NS) {
        snprintf(err->msg, sizeof err->msg, "Input collection contains duplicates");
        return -1;
    }
    size_t n = (size_t)snprintf(err->msg, sizeof err->msg,
                                "One or more parameter values were invalid: Input collection [");
    for (const cJSON *c = set->child; c && n < sizeof err->msg; c = c->next)
        n += (size_t)snprintf(err->msg + n, sizeof err->msg - n, "%s%s",
                              c == set->child ? "" : ", ", c->valuestring);
    if (n < sizeof err->msg)
        snprintf(err->msg + n, sizeof err->msg - n, "]%scontains duplicates.",
                 t == TYCHO_AV_BS ? "of type BS " : " ");
    return -1;
}

static int validate_depth(cJSON *av, tycho_av_err_t *err, int depth);

static int validate_map_depth(cJSON *map, tycho_av_err_t *err, int depth)
{
    if (!cJSON_IsObject(map)) return fail(err, 1, "Start of list found where not expected", NULL);
    for (cJSON *c = map->child; c; c = c->next) {
        for (cJSON *d = map->child; d != c; d = d->next)
            if (strcmp(c->string, d->string) == 0)
                return fail(err, 0, "Duplicate attribute name in map: %s", c->string);
        if (validate_depth(c, err, depth)) return -1;
    }
    return 0;
}

static int validate_depth(cJSON *av, tycho_av_err_t *err, int depth)
{
    if (depth > TYCHO_AV_MAX_DEPTH)
        return fail(err, 0, "Nesting Levels have exceeded supported limits", NULL);
    if (!cJSON_IsObject(av)) return fail(err, 1, "Unexpected value type in payload", NULL);
    int n = cJSON_GetArraySize(av);
    if (n == 0)
        return fail(err, 0,
                    "Supplied AttributeValue is empty, must contain exactly one of the supported "
                    "datatypes",
                    NULL);
    if (n > 1)
        return fail(err, 0,
                    "Supplied AttributeValue has more than one datatypes set, must contain exactly "
                    "one of the supported datatypes",
                    NULL);
    cJSON *v = av->child;
    tycho_av_type_t t = tycho_av_type_from_name(v->string);
    switch (t) {
    case TYCHO_AV_S:
        if (!cJSON_IsString(v)) return fail(err, 1, "Unexpected value type in payload", NULL);
        return 0;
    case TYCHO_AV_N:
        return validate_number_item(v, err);
    case TYCHO_AV_B:
        return validate_binary_item(v, err);
    case TYCHO_AV_BOOL:
        if (!cJSON_IsBool(v)) return fail(err, 1, "Unexpected value type in payload", NULL);
        return 0;
    case TYCHO_AV_NULL:
        if (!cJSON_IsBool(v)) return fail(err, 1, "Unexpected value type in payload", NULL);
        if (!cJSON_IsTrue(v))
            return fail(err, 0,
                        "One or more parameter values were invalid: Null attribute value types "
                        "must have the value of true",
                        NULL);
        return 0;
    case TYCHO_AV_M:
        return validate_map_depth(v, err, depth + 1);
    case TYCHO_AV_L:
        if (!cJSON_IsArray(v)) return fail(err, 1, "Unexpected value type in payload", NULL);
        for (cJSON *c = v->child; c; c = c->next)
            if (validate_depth(c, err, depth + 1)) return -1;
        return 0;
    case TYCHO_AV_SS:
    case TYCHO_AV_NS:
    case TYCHO_AV_BS:
        if (!cJSON_IsArray(v)) return fail(err, 1, "Unexpected value type in payload", NULL);
        if (!v->child)
            return fail(err, 0, "One or more parameter values were invalid: %s",
                        t == TYCHO_AV_SS   ? "An string set  may not be empty"
                        : t == TYCHO_AV_NS ? "An number set  may not be empty"
                                           : "Binary sets should not be empty");
        for (cJSON *c = v->child; c; c = c->next) {
            if (!cJSON_IsString(c)) return fail(err, 1, "Unexpected value type in payload", NULL);
            if (t == TYCHO_AV_NS && validate_number_item(c, err)) return -1;
            if (t == TYCHO_AV_BS && validate_binary_item(c, err)) return -1;
        }
        if (set_has_dup(v, t)) return set_dup_error(v, t, err);
        return 0;
    default:
        return fail(
            err, 0,
            "Supplied AttributeValue has an unknown datatype (%s), must contain exactly one "
            "of the supported datatypes",
            v->string);
    }
}

int tycho_av_validate(cJSON *av, tycho_av_err_t *err)
{
    return validate_depth(av, err, 1);
}

int tycho_av_validate_map(cJSON *map, tycho_av_err_t *err)
{
    return validate_map_depth(map, err, 0);
}

static int bytes_of(const cJSON *s, tycho_av_type_t t, unsigned char **raw, size_t *n)
{
    if (t == TYCHO_AV_B)
        return tycho_b64_decode(s->valuestring, strlen(s->valuestring), raw, n, NULL);
    *raw = NULL;
    *n = strlen(s->valuestring);
    return 0;
}

static int scalar_cmp(tycho_av_type_t t, const cJSON *a, const cJSON *b)
{
    if (t == TYCHO_AV_N) {
        tycho_dec_t x, y;
        const char *why;
        if (tycho_dec_parse(a->valuestring, &x, &why) || tycho_dec_parse(b->valuestring, &y, &why))
            return strcmp(a->valuestring, b->valuestring);
        return tycho_dec_cmp(&x, &y);
    }
    if (t == TYCHO_AV_B) {
        unsigned char *ra, *rb;
        size_t na, nb;
        bytes_of(a, t, &ra, &na);
        bytes_of(b, t, &rb, &nb);
        int c = 0;
        if (ra && rb) {
            c = memcmp(ra, rb, na < nb ? na : nb);
            if (!c) c = na == nb ? 0 : (na < nb ? -1 : 1);
        }
        free(ra);
        free(rb);
        return c;
    }
    /* S: UTF-8 byte order is DynamoDB's order for strings. */
    int c = strcmp(a->valuestring, b->valuestring);
    return c < 0 ? -1 : c > 0;
}

static int set_contains(tycho_av_type_t t, const cJSON *set, const cJSON *elem)
{
    for (const cJSON *c = set->child; c; c = c->next)
        if (scalar_cmp(t == TYCHO_AV_NS   ? TYCHO_AV_N
                       : t == TYCHO_AV_BS ? TYCHO_AV_B
                                          : TYCHO_AV_S,
                       c, elem) == 0)
            return 1;
    return 0;
}

int tycho_av_equal(const cJSON *a, const cJSON *b)
{
    tycho_av_type_t ta = tycho_av_type(a), tb = tycho_av_type(b);
    if (ta != tb || ta == TYCHO_AV_INVALID) return 0;
    const cJSON *pa = a->child, *pb = b->child;
    switch (ta) {
    case TYCHO_AV_S:
    case TYCHO_AV_N:
    case TYCHO_AV_B:
        return scalar_cmp(ta, pa, pb) == 0;
    case TYCHO_AV_BOOL:
    case TYCHO_AV_NULL:
        return cJSON_IsTrue(pa) == cJSON_IsTrue(pb);
    case TYCHO_AV_L: {
        const cJSON *x = pa->child, *y = pb->child;
        for (; x && y; x = x->next, y = y->next)
            if (!tycho_av_equal(x, y)) return 0;
        return !x && !y;
    }
    case TYCHO_AV_M: {
        if (cJSON_GetArraySize(pa) != cJSON_GetArraySize(pb)) return 0;
        for (const cJSON *x = pa->child; x; x = x->next) {
            const cJSON *y = cJSON_GetObjectItemCaseSensitive(pb, x->string);
            if (!y || !tycho_av_equal(x, y)) return 0;
        }
        return 1;
    }
    case TYCHO_AV_SS:
    case TYCHO_AV_NS:
    case TYCHO_AV_BS:
        if (cJSON_GetArraySize(pa) != cJSON_GetArraySize(pb)) return 0;
        for (const cJSON *x = pa->child; x; x = x->next)
            if (!set_contains(ta, pb, x)) return 0;
        return 1;
    default:
        return 0;
    }
}

int tycho_av_compare(const cJSON *a, const cJSON *b, int *cmp)
{
    tycho_av_type_t ta = tycho_av_type(a), tb = tycho_av_type(b);
    if (ta != tb || (ta != TYCHO_AV_S && ta != TYCHO_AV_N && ta != TYCHO_AV_B)) return -1;
    *cmp = scalar_cmp(ta, a->child, b->child);
    return 0;
}

static size_t number_size(const char *s)
{
    tycho_dec_t d;
    const char *why;
    if (tycho_dec_parse(s, &d, &why) || d.nd == 0) return 1;
    /* About one byte per two significant digits, plus one (§8 "Limits"). */
    return (size_t)(d.nd + 1) / 2 + 1;
}

size_t tycho_av_value_size(const cJSON *av)
{
    tycho_av_type_t t = tycho_av_type(av);
    const cJSON *p = av ? av->child : NULL;
    size_t n = 0;
    switch (t) {
    case TYCHO_AV_S:
        return strlen(p->valuestring);
    case TYCHO_AV_N:
        return number_size(p->valuestring);
    case TYCHO_AV_B:
        return strlen(p->valuestring) / 4 * 3; /* close enough: padding ignored */
    case TYCHO_AV_BOOL:
    case TYCHO_AV_NULL:
        return 1;
    case TYCHO_AV_SS:
        for (const cJSON *c = p->child; c; c = c->next)
            n += strlen(c->valuestring);
        return n;
    case TYCHO_AV_BS:
        for (const cJSON *c = p->child; c; c = c->next)
            n += strlen(c->valuestring) / 4 * 3;
        return n;
    case TYCHO_AV_NS:
        for (const cJSON *c = p->child; c; c = c->next)
            n += number_size(c->valuestring);
        return n;
    case TYCHO_AV_L:
        n = 3;
        for (const cJSON *c = p->child; c; c = c->next)
            n += 1 + tycho_av_value_size(c);
        return n;
    case TYCHO_AV_M:
        n = 3;
        for (const cJSON *c = p->child; c; c = c->next)
            n += 1 + strlen(c->string) + tycho_av_value_size(c);
        return n;
    default:
        return 0;
    }
}

size_t tycho_av_item_size(const cJSON *item)
{
    size_t n = 0;
    for (const cJSON *c = item ? item->child : NULL; c; c = c->next)
        n += strlen(c->string) + tycho_av_value_size(c);
    return n;
}

int tycho_av_key_bytes(const cJSON *av, tycho_buf_t *out)
{
    tycho_av_type_t t = tycho_av_type(av);
    const cJSON *p = av ? av->child : NULL;
    if (!p || !cJSON_IsString(p)) return -1;
    if (t == TYCHO_AV_S)
        return tycho_buf_append(out, p->valuestring, strlen(p->valuestring)) ? -1 : 0;
    if (t == TYCHO_AV_B) {
        unsigned char *raw;
        size_t n;
        if (tycho_b64_decode(p->valuestring, strlen(p->valuestring), &raw, &n, NULL)) return -1;
        int rc = tycho_buf_append(out, raw, n) ? -1 : 0;
        free(raw);
        return rc;
    }
    if (t == TYCHO_AV_N) {
        tycho_dec_t d;
        const char *why;
        unsigned char k[48];
        if (tycho_dec_parse(p->valuestring, &d, &why)) return -1;
        size_t n = tycho_dec_key(&d, k);
        return tycho_buf_append(out, k, n) ? -1 : 0;
    }
    return -1;
}
