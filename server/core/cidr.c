#include "core/cidr.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void say(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void say(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* Any address as IPv6, IPv4 as ::ffff:a.b.c.d. */
static int ip_to_mapped(const char *ip, uint8_t out[16], int *is_v4)
{
    struct in_addr a4;
    if (inet_pton(AF_INET, ip, &a4) == 1) {
        memset(out, 0, 10);
        out[10] = out[11] = 0xff;
        memcpy(out + 12, &a4, 4);
        *is_v4 = 1;
        return 0;
    }
    *is_v4 = 0;
    return inet_pton(AF_INET6, ip, out) == 1 ? 0 : -1;
}

/* One "addr[/len]" token (modified in place) into c. */
static int parse_one(char *tok, tycho_cidr_t *c, char *err, size_t errlen)
{
    char *slash = strchr(tok, '/');
    if (slash) *slash = '\0';
    int v4;
    if (ip_to_mapped(tok, c->addr, &v4) != 0)
        return say(err, errlen, "not an IP address: %s", tok), -1;
    int maxp = v4 ? 32 : 128, prefix = maxp;
    if (slash) {
        char *end;
        long p = strtol(slash + 1, &end, 10);
        if (slash[1] < '0' || slash[1] > '9' || *end || p < 0 || p > maxp)
            return say(err, errlen, "bad prefix length in %s/%s", tok, slash + 1), -1;
        prefix = (int)p;
    }
    c->prefix = v4 ? prefix + 96 : prefix;
    return 0;
}

int tycho_cidr_parse_list(const char *list, tycho_cidr_t *out, int max, int *n, char *err,
                          size_t errlen)
{
    char copy[2048];
    *n = 0;
    if (strlen(list) >= sizeof copy) return say(err, errlen, "list too long"), -1;
    strcpy(copy, list);
    char *save = NULL;
    for (char *tok = strtok_r(copy, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
        if (*n == max) return say(err, errlen, "more than %d ranges", max), -1;
        if (parse_one(tok, &out[*n], err, errlen) != 0) return -1;
        (*n)++;
    }
    return 0;
}

int tycho_cidr_contains(const tycho_cidr_t *v, int n, const char *ip)
{
    uint8_t a[16];
    int v4;
    if (ip_to_mapped(ip, a, &v4) != 0) return 0;
    for (int i = 0; i < n; i++) {
        const tycho_cidr_t *c = &v[i];
        int full = c->prefix / 8, rest = c->prefix % 8;
        if (memcmp(a, c->addr, (size_t)full) != 0) continue;
        if (rest && ((a[full] ^ c->addr[full]) & (0xff << (8 - rest)) & 0xff)) continue;
        return 1;
    }
    return 0;
}
