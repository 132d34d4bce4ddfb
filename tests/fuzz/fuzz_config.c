/* libFuzzer target for the config address and CIDR parsers (core/config.c):
 * TYCHO_LISTEN / TYCHO_ADMIN_LISTEN (tycho_config_parse_addr) and
 * TYCHO_TRUSTED_PROXIES (tycho_config_parse_cidrs), and the trusted-proxy
 * check that X-Forwarded-For handling runs on every request
 * (tycho_config_is_trusted_proxy). Checked (abort on failure):
 *  - a refused value has a message; an accepted address is a numeric IP with
 *    a port of digits only in 0..65535, and formats back to text that parses
 *    to the same address;
 *  - accepted CIDRs: at most 32, prefix lengths of digits only and in range,
 *    each range contains its own address, and the list formats back to text
 *    that parses to the same ranges;
 *  - is_trusted_proxy agrees with a bit-by-bit reference for any address.
 *
 * Input: byte 0 picks the mode (even: address; odd: CIDR list), then the
 * value; in CIDR mode a '\n' may follow, then an address to check.
 *
 * Built and run by tests/fuzz/run_fuzzer.sh config. */
#include "core/config.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_TARGET "config"
#include "tests/fuzz/fuzz_check.h"

static int all_digits(const char *s, size_t n)
{
    if (!n) return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9') return 0;
    return 1;
}

static void check_addr(const char *s)
{
    tycho_addr_t a;
    char err[256] = "";
    if (tycho_config_parse_addr(s, &a, err, sizeof err) != 0) {
        CHECK(err[0], "'%s' refused without a message", s);
        return;
    }
    unsigned char tmp[16];
    int v6 = inet_pton(AF_INET6, a.host, tmp) == 1;
    CHECK(v6 || inet_pton(AF_INET, a.host, tmp) == 1, "'%s': host '%s' is not numeric", s, a.host);
    CHECK(a.port >= 0 && a.port <= 65535, "'%s': port %d", s, a.port);
    /* the port is what follows the last ':' (or the whole value) */
    const char *colon = strrchr(s, ':');
    const char *port = colon ? colon + 1 : s;
    CHECK(all_digits(port, strlen(port)), "'%s' accepted with port text '%s'", s, port);
    char again[96];
    snprintf(again, sizeof again, v6 ? "[%s]:%d" : "%s:%d", a.host, a.port);
    tycho_addr_t b;
    CHECK(tycho_config_parse_addr(again, &b, err, sizeof err) == 0, "'%s' -> '%s' refused: %s", s,
          again, err);
    CHECK(strcmp(a.host, b.host) == 0 && a.port == b.port, "'%s' -> '%s' changed", s, again);
}

static int ref_trusted(const tycho_config_t *cfg, const char *ip)
{
    uint8_t a[16];
    struct in_addr a4;
    if (inet_pton(AF_INET, ip, &a4) == 1) {
        memset(a, 0, 10);
        a[10] = a[11] = 0xff;
        memcpy(a + 12, &a4, 4);
    } else if (inet_pton(AF_INET6, ip, a) != 1) {
        return 0;
    }
    for (int i = 0; i < cfg->ntrusted_proxies; i++) {
        const tycho_cidr_t *c = &cfg->trusted_proxies[i];
        int match = 1;
        for (int bit = 0; bit < c->prefix && match; bit++) {
            int mask = 0x80 >> (bit % 8);
            match = (a[bit / 8] & mask) == (c->addr[bit / 8] & mask);
        }
        if (match) return 1;
    }
    return 0;
}

static void format_cidr(const tycho_cidr_t *c, char *out, size_t cap)
{
    char host[INET6_ADDRSTRLEN];
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (memcmp(c->addr, mapped, 12) == 0 && c->prefix >= 96) {
        inet_ntop(AF_INET, c->addr + 12, host, sizeof host);
        snprintf(out, cap, "%s/%d", host, c->prefix - 96);
    } else {
        inet_ntop(AF_INET6, c->addr, host, sizeof host);
        snprintf(out, cap, "%s/%d", host, c->prefix);
    }
}

static void check_cidrs(const char *s, const char *ip)
{
    tycho_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    char err[512] = "";
    if (tycho_config_parse_cidrs(s, &cfg, err, sizeof err) != 0) {
        CHECK(err[0], "'%s' refused without a message", s);
        return;
    }
    CHECK(cfg.ntrusted_proxies >= 0 && cfg.ntrusted_proxies <= TYCHO_MAX_TRUSTED_PROXIES, "count");
    /* every prefix length in the text is digits only */
    for (const char *p = strchr(s, '/'); p; p = strchr(p + 1, '/')) {
        size_t n = strcspn(p + 1, ", ");
        CHECK(all_digits(p + 1, n), "'%s' accepted with prefix text '%.*s'", s, (int)n, p + 1);
    }
    tycho_config_t again;
    memset(&again, 0, sizeof again);
    char list[TYCHO_MAX_TRUSTED_PROXIES * 64] = "";
    size_t off = 0;
    for (int i = 0; i < cfg.ntrusted_proxies; i++) {
        const tycho_cidr_t *c = &cfg.trusted_proxies[i];
        CHECK(c->prefix >= 0 && c->prefix <= 128, "prefix %d", c->prefix);
        char one[64], host[INET6_ADDRSTRLEN];
        format_cidr(c, one, sizeof one);
        off += (size_t)snprintf(list + off, sizeof list - off, "%s%s", i ? "," : "", one);
        /* the range's own address is inside it */
        inet_ntop(AF_INET6, c->addr, host, sizeof host);
        CHECK(tycho_config_is_trusted_proxy(&cfg, host), "'%s': %s not trusted", s, host);
    }
    CHECK(tycho_config_parse_cidrs(list, &again, err, sizeof err) == 0, "'%s' -> '%s' refused: %s",
          s, list, err);
    CHECK(again.ntrusted_proxies == cfg.ntrusted_proxies, "'%s' -> '%s': count", s, list);
    for (int i = 0; i < cfg.ntrusted_proxies; i++)
        CHECK(again.trusted_proxies[i].prefix == cfg.trusted_proxies[i].prefix &&
                  memcmp(again.trusted_proxies[i].addr, cfg.trusted_proxies[i].addr, 16) == 0,
              "'%s' -> '%s': range %d changed", s, list, i);
    if (ip)
        CHECK(tycho_config_is_trusted_proxy(&cfg, ip) == ref_trusted(&cfg, ip),
              "'%s' contains '%s': %d, reference %d", s, ip,
              tycho_config_is_trusted_proxy(&cfg, ip), ref_trusted(&cfg, ip));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 4096) return 0;
    char *s = malloc(size);
    memcpy(s, data + 1, size - 1);
    s[size - 1] = 0;
    if (!(data[0] & 1)) {
        check_addr(s);
    } else {
        char *nl = strchr(s, '\n');
        if (nl) *nl = 0;
        check_cidrs(s, nl ? nl + 1 : NULL);
    }
    free(s);
    return 0;
}
