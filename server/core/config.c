#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#include "core/config.h"

#include "core/env_names.h"
#include "core/log.h"
#include "core/units.h"

#include <arpa/inet.h>
#include <sched.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

extern char **environ;

/* One table drives flags, environment variables, help and validation: each
 * setting is parsed by one function from text, whichever source it came
 * from, so `--listen X` and `TYCHO_LISTEN=X` can never disagree. */

struct setting;
typedef int (*parse_fn)(tycho_config_t *cfg, const struct setting *s, void *field,
                        const char *value, char *why, size_t wlen);

typedef struct setting {
    const char *flag; /* "--listen" */
    const char *env;  /* "TYCHO_LISTEN" */
    size_t offset;
    parse_fn parse;
    double min, max; /* for numbers */
    const char *help;
    int is_switch; /* a flag that takes no value (sets "off"/"on" per its help) */
    const char *switch_value;
} setting_t;

static void say(char *why, size_t wlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void say(char *why, size_t wlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, wlen, fmt, ap);
    va_end(ap);
}

static int parse_addr(const char *s, tycho_addr_t *out, char *err, size_t errlen)
{
    const char *host = "0.0.0.0", *port;
    size_t hostlen = 7;
    const char *colon = strrchr(s, ':');
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (!close || close[1] != ':') return say(err, errlen, "expected [ipv6]:port: %s", s), -1;
        host = s + 1;
        hostlen = (size_t)(close - s - 1);
        port = close + 2;
    } else if (colon) {
        if (colon != s) host = s, hostlen = (size_t)(colon - s);
        port = colon + 1;
    } else {
        port = s;
    }
    if (hostlen == 0 || hostlen >= sizeof out->host) return say(err, errlen, "bad host: %s", s), -1;
    char *end;
    errno = 0;
    long p = strtol(port, &end, 10);
    /* digits only (a '-' gets the range error): strtol alone also takes
     * leading blanks and '+' (": 80", ":+80") */
    if (!((*port >= '0' && *port <= '9') || *port == '-') || *end != '\0' || errno)
        return say(err, errlen, "bad port: %s", s), -1;
    if (p < 0 || p > 65535 || *port == '-')
        return say(err, errlen, "port out of range: %s", port), -1;
    memcpy(out->host, host, hostlen);
    out->host[hostlen] = '\0';
    if (strcmp(out->host, "localhost") == 0) strcpy(out->host, "127.0.0.1");
    unsigned char tmp[16];
    if (inet_pton(AF_INET, out->host, tmp) != 1 && inet_pton(AF_INET6, out->host, tmp) != 1)
        return say(err, errlen, "not a numeric IP address: %s", out->host), -1;
    out->port = (int)p;
    return 0;
}

int tycho_config_parse_addr(const char *s, tycho_addr_t *out, char *err, size_t errlen)
{
    if (parse_addr(s, out, err, errlen) == 0) return 0;
    /* an address without its port ("127.0.0.1", "::1") read as a bad port,
     * or as host ':' and port 1 */
    unsigned char tmp[16];
    if (inet_pton(AF_INET, s, tmp) == 1 || inet_pton(AF_INET6, s, tmp) == 1 ||
        strcmp(s, "localhost") == 0)
        say(err, errlen, "no port: %s (host:port, [ipv6]:port, :port or port)", s);
    return -1;
}

void tycho_config_format_addr(const char *host, int port, char *out, size_t n)
{
    snprintf(out, n, strchr(host, ':') ? "[%s]:%d" : "%s:%d", host, port);
}

int tycho_config_parse_cidrs(const char *s, tycho_config_t *cfg, char *err, size_t errlen)
{
    return tycho_cidr_parse_list(s, cfg->trusted_proxies, TYCHO_MAX_TRUSTED_PROXIES,
                                 &cfg->ntrusted_proxies, err, errlen);
}

int tycho_config_is_trusted_proxy(const tycho_config_t *cfg, const char *ip)
{
    return tycho_cidr_contains(cfg->trusted_proxies, cfg->ntrusted_proxies, ip);
}

/* --- field parsers ------------------------------------------------------ */

/* The admin listener's host when its value gives a port alone: it serves
 * /-/reload and /metrics, so changing its port must not open it to every
 * interface (tycho_config_parse_addr's host for a port alone, 0.0.0.0). */
#define ADMIN_HOST "127.0.0.1"

static int p_addr(tycho_config_t *cfg, const struct setting *s, void *f, const char *v, char *why,
                  size_t wlen)
{
    (void)s;
    if (tycho_config_parse_addr(v, f, why, wlen) != 0) return -1;
    int port_alone = v[0] == ':' || (v[0] != '[' && !strchr(v, ':'));
    if (f == &cfg->admin_listen && port_alone) strcpy(cfg->admin_listen.host, ADMIN_HOST);
    return 0;
}

static int p_path(tycho_config_t *cfg, const struct setting *s, void *f, const char *v, char *why,
                  size_t wlen)
{
    (void)s;
    if (*v == '\0') return say(why, wlen, "empty path"), -1;
    if (strlen(v) >= 4096) return say(why, wlen, "path too long"), -1;
    strcpy(f, v);
    if (f == cfg->routes_dir) cfg->routes_explicit = 1;
    return 0;
}

static int p_bool(tycho_config_t *cfg, const struct setting *s, void *f, const char *v, char *why,
                  size_t wlen)
{
    (void)s;
    (void)cfg;
    if (tycho_parse_bool(v, f) != 0) return say(why, wlen, "expected on or off: %s", v), -1;
    return 0;
}

static int p_log_level(tycho_config_t *cfg, const struct setting *s, void *f, const char *v,
                       char *why, size_t wlen)
{
    (void)s;
    (void)cfg;
    tycho_log_level_t lvl;
    if (tycho_log_parse_level(v, &lvl) != 0)
        return say(why, wlen, "expected debug, info, warn or error: %s", v), -1;
    *(int *)f = (int)lvl;
    return 0;
}

static int p_cidrs(tycho_config_t *cfg, const struct setting *s, void *f, const char *v, char *why,
                   size_t wlen)
{
    (void)s;
    (void)f;
    return tycho_config_parse_cidrs(v, cfg, why, wlen);
}

static int p_backend(tycho_config_t *cfg, const struct setting *s, void *f, const char *v,
                     char *why, size_t wlen)
{
    (void)s;
    (void)cfg;
    if (strcmp(v, "local") != 0 && strcmp(v, "aws") != 0)
        return say(why, wlen, "expected local or aws: %s", v), -1;
    strcpy(f, v);
    return 0;
}

/* Numbers: the parser is chosen by field type; ranges come from the table. */
static int p_int(tycho_config_t *cfg, const struct setting *s, void *f, const char *v, char *why,
                 size_t wlen);
static int p_size(tycho_config_t *cfg, const struct setting *s, void *f, const char *v, char *why,
                  size_t wlen);
static int p_secs(tycho_config_t *cfg, const struct setting *s, void *f, const char *v, char *why,
                  size_t wlen);

#define OFF(field) offsetof(tycho_config_t, field)

static const setting_t settings[] = {
    {"--listen", "TYCHO_LISTEN", OFF(listen), p_addr, 0, 0,
     "public listener address [0.0.0.0:8080]", 0, 0},
    {"--admin-listen", "TYCHO_ADMIN_LISTEN", OFF(admin_listen), p_addr, 0, 0,
     "admin listener (/metrics, /-/healthy, /-/ready, /-/status, /-/reload); a port alone stays on "
     "127.0.0.1 [127.0.0.1:9090]",
     0, 0},
    {"--workers", "TYCHO_WORKERS", OFF(workers), p_int, 1, 256,
     "worker threads [usable CPUs: affinity, cgroup quota]", 0, 0},
    {"--routes", "TYCHO_ROUTES", OFF(routes_dir), p_path, 0, 0, "routes directory [./routes]", 0,
     0},
    {"--lua-dir", "TYCHO_LUA_DIR", OFF(lua_dir), p_path, 0, 0,
     "framework Lua directory [lua/ of the source tree built from, else share/tycho/lua]", 0, 0},
    {"--data-dir", "TYCHO_DATA_DIR", OFF(data_dir), p_path, 0, 0, "local backend data [./.tycho]",
     0, 0},
    {"--reload", "TYCHO_RELOAD", OFF(reload), p_bool, 0, 0,
     "watch routes and reload on change [on]", 0, 0},
    {"--no-reload", NULL, OFF(reload), p_bool, 0, 0, "same as --reload off", 1, "off"},
    {"--log-level", "TYCHO_LOG_LEVEL", OFF(log_level), p_log_level, 0, 0,
     "debug|info|warn|error [info]", 0, 0},
    {"--access-log", "TYCHO_ACCESS_LOG", OFF(access_log), p_bool, 0, 0,
     "one log line per request [on]", 0, 0},
    {"--max-header-bytes", "TYCHO_MAX_HEADER_BYTES", OFF(max_header_bytes), p_size, 256, 1 << 20,
     "request line + headers limit, 431 past it [16384]", 0, 0},
    {"--max-uri-bytes", "TYCHO_MAX_URI_BYTES", OFF(max_uri_bytes), p_size, 16, 1 << 20,
     "request-target limit, 414 past it [8192]", 0, 0},
    {"--max-body-bytes", "TYCHO_MAX_BODY_BYTES", OFF(max_body_bytes), p_size, 0, 1 << 30,
     "request body limit, 413 past it [1048576]", 0, 0},
    {"--max-body-memory", "TYCHO_MAX_BODY_MEMORY", OFF(max_body_memory), p_size, 0, 1e12,
     "request bodies a worker holds at once (all connections), 503 past it [67108864]", 0, 0},
    {"--max-connections", "TYCHO_MAX_CONNECTIONS", OFF(max_connections), p_int, 1, 1000000,
     "open connections per worker; accepting pauses past it [4096]", 0, 0},
    {"--header-timeout", "TYCHO_HEADER_TIMEOUT", OFF(header_timeout), p_secs, 0.01, 3600,
     "seconds to receive the request headers, 408 past it [10]", 0, 0},
    {"--body-timeout", "TYCHO_BODY_TIMEOUT", OFF(body_timeout), p_secs, 0.01, 3600,
     "seconds to receive the request body, 408 past it [30]", 0, 0},
    {"--keepalive-timeout", "TYCHO_KEEPALIVE_TIMEOUT", OFF(keepalive_timeout), p_secs, 0.01, 86400,
     "idle keep-alive seconds; keep above the load balancer's idle timeout [75]", 0, 0},
    {"--send-timeout", "TYCHO_SEND_TIMEOUT", OFF(send_timeout), p_secs, 0.01, 3600,
     "seconds a response may make no write progress; the connection closes past it [60]", 0, 0},
    {"--drain-timeout", "TYCHO_DRAIN_TIMEOUT", OFF(drain_timeout), p_secs, 0, 3600,
     "seconds in-flight requests get on SIGTERM [25]", 0, 0},
    {"--handler-timeout", "TYCHO_HANDLER_TIMEOUT", OFF(handler_timeout), p_secs, 0.001, 3600,
     "seconds a Lua handler may take, 504 past it [30]", 0, 0},
    {"--load-timeout", "TYCHO_LOAD_TIMEOUT", OFF(load_timeout), p_secs, 0.001, 3600,
     "seconds loading the route files may take; the load fails past it [10]", 0, 0},
    {"--lua-memory-limit", "TYCHO_LUA_MEMORY_LIMIT", OFF(lua_memory_limit), p_size, 1 << 20, 1e12,
     "bytes of Lua heap per worker [268435456]", 0, 0},
    {"--trusted-proxies", "TYCHO_TRUSTED_PROXIES", OFF(trusted_proxies), p_cidrs, 0, 0,
     "CIDRs whose X-Forwarded-For is believed, comma-separated [none]", 0, 0},
    {"--aws-backend", "TYCHO_AWS_BACKEND", OFF(aws_backend), p_backend, 0, 0, "local|aws [local]",
     0, 0},
};

#define NSETTINGS (sizeof settings / sizeof *settings)
_Static_assert(NSETTINGS <= 64, "tycho_config_t.from_flag has a bit a setting");

/* unit: "seconds", "bytes" or "" (a plain count). The value as written is
 * shown too when it was not the plain number ("2h", "2MiB"). */
static int check_range(const setting_t *s, double d, const char *v, const char *unit, char *why,
                       size_t wlen)
{
    if (d >= s->min && d <= s->max) return 0;
    char num[64], given[80] = "";
    snprintf(num, sizeof num, "%.15g", d);
    if (strcmp(num, v) != 0) snprintf(given, sizeof given, " (%.64s)", v);
    say(why, wlen, "out of range [%.15g, %.15g]%s%s: %s%s", s->min, s->max, *unit ? " " : "", unit,
        num, given);
    return -1;
}

static int p_int(tycho_config_t *cfg, const struct setting *s, void *f, const char *v, char *why,
                 size_t wlen)
{
    (void)cfg;
    double d;
    const char *end = tycho_parse_decimal(v, &d);
    if (!end || *end || d != floor(d))
        return say(why, wlen, "not a whole number: %s (decimal digits, e.g. 16)", v), -1;
    if (check_range(s, d, v, "", why, wlen)) return -1;
    *(int *)f = (int)d;
    return 0;
}

static int p_size(tycho_config_t *cfg, const struct setting *s, void *f, const char *v, char *why,
                  size_t wlen)
{
    (void)cfg;
    size_t n;
    if (tycho_parse_size(v, &n) != 0)
        return say(why, wlen, "not a size: %s (bytes, or with a unit: 64KiB, 256MiB, 1GiB)", v), -1;
    if (check_range(s, (double)n, v, "bytes", why, wlen)) return -1;
    *(size_t *)f = n;
    return 0;
}

static int p_secs(tycho_config_t *cfg, const struct setting *s, void *f, const char *v, char *why,
                  size_t wlen)
{
    (void)cfg;
    uint64_t ms;
    if (tycho_parse_duration_ms(v, 1000, &ms) != 0)
        return say(why, wlen, "not a duration: %s (seconds, or with a unit: 500ms, 2s, 1m)", v), -1;
    double d = (double)ms / 1000;
    if (check_range(s, d, v, "seconds", why, wlen)) return -1;
    *(double *)f = d;
    return 0;
}

int tycho_config_cpu_quota(const char *cpu_max)
{
    FILE *f = fopen(cpu_max, "r");
    if (!f) return 0;
    char quota[32];
    double period = 0;
    int fields = fscanf(f, "%31s %lf", quota, &period);
    fclose(f);
    char *end;
    double q = fields == 2 ? strtod(quota, &end) : 0;
    if (fields != 2 || *end || !(q > 0) || !(period > 0)) return 0; /* "max": no quota */
    double cpus = ceil(q / period);
    return cpus < INT_MAX ? (int)cpus : 0;
}

int tycho_config_usable_cpus(const char *cpu_max)
{
    cpu_set_t set;
    long n = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set)
                                                         : sysconf(_SC_NPROCESSORS_ONLN);
    int quota = tycho_config_cpu_quota(cpu_max);
    if (quota > 0 && quota < n) n = quota;
    return n > 0 ? (int)n : 1;
}

void tycho_config_defaults(tycho_config_t *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    tycho_config_parse_addr("0.0.0.0:8080", &cfg->listen, NULL, 0);
    tycho_config_parse_addr(ADMIN_HOST ":9090", &cfg->admin_listen, NULL, 0);
    cfg->workers = tycho_config_usable_cpus(TYCHO_CGROUP_CPU_MAX);
    strcpy(cfg->routes_dir, "./routes");
    strcpy(cfg->data_dir, "./.tycho");
    cfg->reload = 1;
    cfg->log_level = TYCHO_LOG_INFO;
    cfg->access_log = 1;
    cfg->max_header_bytes = 16384;
    cfg->max_uri_bytes = 8192;
    cfg->max_body_bytes = 1 << 20;
    cfg->max_body_memory = (size_t)64 << 20;
    cfg->max_connections = 4096;
    cfg->header_timeout = 10;
    cfg->body_timeout = 30;
    cfg->keepalive_timeout = 75;
    cfg->send_timeout = 60;
    cfg->drain_timeout = 25;
    cfg->handler_timeout = 30;
    cfg->load_timeout = 10;
    cfg->lua_memory_limit = (size_t)256 << 20;
    strcpy(cfg->aws_backend, "local");
}

#define BLANKS " \t\r\n"

const char *tycho_config_getenv(const char *name)
{
    const char *v = getenv(name);
    return v && v[strspn(v, BLANKS)] ? v : NULL;
}

/* Blanks around a value are not part of it (an env template or a quoted
 * shell word leaves them): " 2 " is 2 for every setting, "2x" is refused.
 * Moves *value past the leading blanks; returns the length without the
 * trailing ones. */
static size_t trim(const char **value)
{
    *value += strspn(*value, BLANKS);
    size_t n = strlen(*value);
    while (n > 0 && strchr(BLANKS, (*value)[n - 1]))
        n--;
    return n;
}

int tycho_config_env_trimmed(const char *name, char *buf, size_t cap, char *err, size_t errlen)
{
    const char *v = tycho_config_getenv(name);
    buf[0] = 0;
    if (!v) return 0;
    size_t n = trim(&v);
    if (n >= cap) {
        snprintf(err, errlen, "%s: too long (at most %zu bytes)", name, cap - 1);
        return -1;
    }
    memcpy(buf, v, n);
    buf[n] = 0;
    return 1;
}

static int apply(tycho_config_t *cfg, const setting_t *s, const char *source, const char *value,
                 char *err, size_t errlen)
{
    size_t n = trim(&value);
    char *v = strndup(value, n), why[512];
    if (!v) return snprintf(err, errlen, "out of memory"), -1;
    int rc = s->parse(cfg, s, (char *)cfg + s->offset, v, why, sizeof why);
    if (rc != 0) snprintf(err, errlen, "%s: %s", source, why);
    free(v);
    return rc;
}

/* host (numeric: tycho_config_parse_addr checked it) as the 16 bytes of an
 * IPv6 address, IPv4 in its IPv4-mapped form (::ffff:a.b.c.d), which is how
 * a dual-stack socket binds it: one address has one key, however spelled. */
static void addr_key(const char *host, unsigned char key[16])
{
    memset(key, 0, 16);
    if (inet_pton(AF_INET, host, key + 12) == 1)
        key[10] = key[11] = 0xff;
    else
        inet_pton(AF_INET6, host, key);
}

static const unsigned char any6[16], any4[16] = {[10] = 0xff, [11] = 0xff};

/* Whether key is an IPv4 address (in its IPv4-mapped form). */
static int is_v4(const unsigned char key[16])
{
    return !memcmp(key, any4, 12);
}

/* Whether a socket bound to `wide` takes the address `key` of its port too:
 * :: does every address (the sockets are dual-stack: IPV6_V6ONLY is left
 * at Linux's default, off), 0.0.0.0 every IPv4 address and no IPv6 one
 * (Linux binds 0.0.0.0:P and [::1]:P side by side). */
static int covers(const unsigned char wide[16], const unsigned char key[16])
{
    return !memcmp(wide, any6, 16) || (!memcmp(wide, any4, 16) && is_v4(key));
}

/* Whether two listeners would share a port: the same address, or one on
 * the other's address through a wildcard (covers). Compared by value, not
 * by text: "::ffff:127.0.0.1" is 127.0.0.1 and "::0" is "::". */
static int same_addr(const tycho_addr_t *a, const tycho_addr_t *b)
{
    if (a->port != b->port || a->port == 0) return 0;
    unsigned char ka[16], kb[16];
    addr_key(a->host, ka);
    addr_key(b->host, kb);
    return covers(ka, kb) || covers(kb, ka) || memcmp(ka, kb, 16) == 0;
}

static uint64_t setting_bit(const setting_t *s);

/* Whether the command line or the environment set field's value (not left
 * at its default). */
static int setting_given(const tycho_config_t *cfg, const void *field)
{
    size_t off = (size_t)((const char *)field - (const char *)cfg);
    for (size_t i = 0; i < NSETTINGS; i++) {
        if (settings[i].offset != off) continue;
        if (cfg->from_flag & setting_bit(&settings[i])) return 1;
        if (settings[i].env && tycho_config_getenv(settings[i].env)) return 1;
    }
    return 0;
}

static int validate(const tycho_config_t *cfg, char *err, size_t errlen)
{
    if (same_addr(&cfg->listen, &cfg->admin_listen)) {
        char admin[80], pub[80];
        tycho_config_format_addr(cfg->admin_listen.host, cfg->admin_listen.port, admin,
                                 sizeof admin);
        tycho_config_format_addr(cfg->listen.host, cfg->listen.port, pub, sizeof pub);
        snprintf(err, errlen,
                 "%s: the admin listener must not share the public address %s (%s: %s)",
                 tycho_config_source(cfg, &cfg->admin_listen), admin,
                 tycho_config_source(cfg, &cfg->listen), pub);
        return -1;
    }
    if (cfg->max_body_memory < cfg->max_body_bytes) {
        snprintf(err, errlen,
                 "%s: %zu bytes is less than one request body may take (%s, %zu bytes): raise it "
                 "or lower the body limit",
                 tycho_config_source(cfg, &cfg->max_body_memory), cfg->max_body_memory,
                 tycho_config_source(cfg, &cfg->max_body_bytes), cfg->max_body_bytes);
        return -1;
    }
    /* the request-target is part of the request line, which the header
     * limit counts: a URI limit at or past it is never the one that
     * answers (431 comes first). Refused only when it was set: a header
     * limit lowered under the default URI limit bounds URIs as asked. */
    if (cfg->max_uri_bytes >= cfg->max_header_bytes && setting_given(cfg, &cfg->max_uri_bytes)) {
        snprintf(err, errlen,
                 "%s: %zu bytes can never be reached: the request line holding the target and "
                 "the headers may take %zu bytes in all (%s), 431 past it; make it less, or "
                 "raise that limit",
                 tycho_config_source(cfg, &cfg->max_uri_bytes), cfg->max_uri_bytes,
                 cfg->max_header_bytes, tycho_config_source(cfg, &cfg->max_header_bytes));
        return -1;
    }
    if (cfg->lua_dir[0])
        return tycho_config_check_lua_dir(cfg->lua_dir, tycho_config_source(cfg, cfg->lua_dir), err,
                                          errlen);
    return 0;
}

int tycho_config_check_lua_dir(const char *dir, const char *source, char *err, size_t errlen)
{
    char mod[4200];
    struct stat st;
    snprintf(mod, sizeof mod, "%s/tycho/init.lua", dir);
    if (stat(mod, &st) == 0 && S_ISREG(st.st_mode)) return 0;
    snprintf(err, errlen, "%s: not tycho's Lua directory (no tycho/init.lua in it): %s", source,
             dir);
    return -1;
}

/* s's variable over cfg, when it is set (and not empty). */
static int env_apply(tycho_config_t *cfg, const setting_t *s, char *err, size_t errlen)
{
    const char *v = s->env ? tycho_config_getenv(s->env) : NULL;
    return v ? apply(cfg, s, s->env, v, err, errlen) : 0;
}

int tycho_config_from_env(tycho_config_t *cfg, const void *field, char *err, size_t errlen)
{
    size_t off = (size_t)((const char *)field - (const char *)cfg);
    for (size_t i = 0; i < NSETTINGS; i++)
        if (settings[i].offset == off && env_apply(cfg, &settings[i], err, errlen) != 0) return -1;
    return 0;
}

/* The setting a command-line argument names ("--x" or "--x=value"). */
static const setting_t *flag_setting(const char *arg)
{
    const char *eq = strchr(arg, '=');
    size_t flen = eq ? (size_t)(eq - arg) : strlen(arg);
    for (size_t i = 0; i < NSETTINGS; i++)
        if (strlen(settings[i].flag) == flen && strncmp(settings[i].flag, arg, flen) == 0)
            return &settings[i];
    return NULL;
}

/* The value of the flag at argv[*a] (advancing *a past a separate one). An
 * on/off setting may stand alone ("--reload"): it then means on, and the
 * next argument is its value unless it is another option (serve takes no
 * other arguments, so "--reload maybe" is a bad value, not a stray word). */
static const char *flag_value(const setting_t *s, int argc, char **argv, int *a)
{
    const char *eq = strchr(argv[*a], '=');
    if (s->is_switch) return s->switch_value;
    if (eq) return eq + 1;
    if (s->parse == p_bool && (*a + 1 >= argc || argv[*a + 1][0] == '-')) return "on";
    return *a + 1 < argc ? argv[++*a] : NULL;
}

/* The flag that takes a value for the setting switch s sets (--reload for
 * --no-reload). */
static const char *valued_flag(const setting_t *sw)
{
    for (size_t i = 0; i < NSETTINGS; i++)
        if (settings[i].offset == sw->offset && !settings[i].is_switch) return settings[i].flag;
    return sw->flag;
}

static uint64_t setting_bit(const setting_t *s)
{
    return 1ull << (s - settings);
}

/* Whether a flag for the same field as s (e.g. --no-reload for --reload)
 * was given. */
static int field_given(uint64_t given, const setting_t *s)
{
    for (size_t i = 0; i < NSETTINGS; i++)
        if ((given & setting_bit(&settings[i])) && settings[i].offset == s->offset) return 1;
    return 0;
}

const char *tycho_config_source(const tycho_config_t *cfg, const void *field)
{
    size_t off = (size_t)((const char *)field - (const char *)cfg);
    const char *env = NULL;
    for (size_t i = 0; i < NSETTINGS; i++) {
        if (settings[i].offset != off) continue;
        if (cfg->from_flag & setting_bit(&settings[i])) return settings[i].flag;
        if (!env) env = settings[i].env;
    }
    return env ? env : "?";
}

int tycho_config_load(tycho_config_t *cfg, int argc, char **argv, char *err, size_t errlen)
{
    tycho_config_defaults(cfg);
    /* Flags win: the command line is read first for which settings it sets,
     * the environment then fills in only the others, and the flags are
     * applied last, in order. */
    const setting_t **flags = calloc(argc > 0 ? (size_t)argc : 1, sizeof *flags);
    const char **values = calloc(argc > 0 ? (size_t)argc : 1, sizeof *values);
    int n = 0, rc = -1;
    if (!flags || !values) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    /* a misspelt variable would leave its setting at the default unseen */
    if (tycho_env_check_names(environ, err, errlen) != 0) goto out;
    for (int a = 1; a < argc; a++, n++) {
        if (!(flags[n] = flag_setting(argv[a])) && argv[a][0] != '-') {
            /* `tycho check routes` takes the folder so; serve takes options only */
            snprintf(err, errlen,
                     "unexpected argument: %s (tycho serve takes options only; a routes folder "
                     "is --routes %s)",
                     argv[a], argv[a]);
            goto out;
        }
        if (!flags[n]) {
            snprintf(err, errlen, "unknown option: %s (see tycho serve --help)", argv[a]);
            goto out;
        }
        if (flags[n]->is_switch && strchr(argv[a], '=')) {
            /* --no-reload=on would read as reload on, yet turn it off */
            snprintf(err, errlen, "%s: takes no value (%s takes on or off): %s", flags[n]->flag,
                     valued_flag(flags[n]), argv[a]);
            goto out;
        }
        if (!(values[n] = flag_value(flags[n], argc, argv, &a))) {
            snprintf(err, errlen, "%s: missing value", flags[n]->flag);
            goto out;
        }
        cfg->from_flag |= setting_bit(flags[n]);
    }
    for (size_t i = 0; i < NSETTINGS; i++)
        if (!field_given(cfg->from_flag, &settings[i]) &&
            env_apply(cfg, &settings[i], err, errlen) != 0)
            goto out;
    for (int i = 0; i < n; i++)
        if (apply(cfg, flags[i], flags[i]->flag, values[i], err, errlen) != 0) goto out;
    rc = validate(cfg, err, errlen);
out:
    free(flags);
    free(values);
    return rc;
}

void tycho_config_print_help(void)
{
    printf("usage: tycho serve [options]\n\n"
           "Every option can also be set by the environment variable shown; flags win.\n\n");
    for (size_t i = 0; i < NSETTINGS; i++) {
        const setting_t *s = &settings[i];
        char left[96];
        snprintf(left, sizeof left, "%s%s%s", s->flag, s->env ? "  " : "", s->env ? s->env : "");
        printf("  %-46s %s\n", left, s->help);
    }
}
