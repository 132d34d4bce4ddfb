/* config — every setting of `tycho serve`: defaults, then TYCHO_* environment
 * variables, then command-line flags (flags win). Loaded and validated once on
 * the main thread before any worker starts; read-only afterwards, so any
 * thread may read it. A bad setting is reported as one line naming where
 * its value came from: "TYCHO_LISTEN: port out of range: 99999", or
 * "--listen: ..." when the flag gave it (a flag's variable is not read). */
#ifndef TYCHO_CONFIG_H
#define TYCHO_CONFIG_H

#include "core/cidr.h"

#include <stddef.h>
#include <stdint.h>

typedef struct tycho_addr {
    char host[64]; /* numeric IPv4/IPv6 or "localhost" */
    int port;      /* 0 = ephemeral */
} tycho_addr_t;

#define TYCHO_MAX_TRUSTED_PROXIES 32

typedef struct tycho_config {
    tycho_addr_t listen;       /* --listen / TYCHO_LISTEN, default 0.0.0.0:8080 */
    tycho_addr_t admin_listen; /* --admin-listen / TYCHO_ADMIN_LISTEN, default 127.0.0.1:9090 */
    int workers;               /* --workers / TYCHO_WORKERS, default: usable CPUs */
    char routes_dir[4096];     /* --routes / TYCHO_ROUTES, default ./routes */
    int routes_explicit;       /* set by --routes or TYCHO_ROUTES */
    int routes_optional;       /* serve no routes (the default dir is missing) */
    char lua_dir[4096];        /* --lua-dir / TYCHO_LUA_DIR, default: the lua/ shipped with tycho */
    char data_dir[4096];       /* --data-dir / TYCHO_DATA_DIR, default ./.tycho */
    int reload;                /* --no-reload / TYCHO_RELOAD=on|off, default on */
    int log_level;             /* TYCHO_LOG_LEVEL, tycho_log_level_t */
    int access_log;            /* TYCHO_ACCESS_LOG=on|off, default on */

    /* HTTP limits */
    size_t max_header_bytes;  /* TYCHO_MAX_HEADER_BYTES, default 16384 -> 431 */
    size_t max_uri_bytes;     /* TYCHO_MAX_URI_BYTES, default 8192 -> 414 */
    size_t max_body_bytes;    /* TYCHO_MAX_BODY_BYTES, default 1 MiB -> 413 */
    size_t max_body_memory;   /* TYCHO_MAX_BODY_MEMORY: bodies a worker holds, 64 MiB -> 503 */
    int max_connections;      /* TYCHO_MAX_CONNECTIONS per worker, default 4096 */
    double header_timeout;    /* TYCHO_HEADER_TIMEOUT seconds, default 10 -> 408 */
    double body_timeout;      /* TYCHO_BODY_TIMEOUT seconds, default 30 -> 408 */
    double keepalive_timeout; /* TYCHO_KEEPALIVE_TIMEOUT seconds, default 75 (> ALB's 60) */
    double send_timeout;      /* TYCHO_SEND_TIMEOUT seconds without write progress, default 60 */
    double drain_timeout;     /* TYCHO_DRAIN_TIMEOUT seconds, default 25 (< ECS's 30) */

    /* Lua runtime */
    double handler_timeout;  /* TYCHO_HANDLER_TIMEOUT seconds, default 30 -> 504 */
    double load_timeout;     /* TYCHO_LOAD_TIMEOUT seconds, default 10: a (re)load fails past it */
    size_t lua_memory_limit; /* TYCHO_LUA_MEMORY_LIMIT bytes per worker, default 256 MiB */
    tycho_cidr_t trusted_proxies[TYCHO_MAX_TRUSTED_PROXIES]; /* TYCHO_TRUSTED_PROXIES, CIDRs */
    int ntrusted_proxies;

    /* AWS */
    char aws_backend[16]; /* TYCHO_AWS_BACKEND=local|aws, default local */

    uint64_t from_flag; /* settings the command line set (tycho_config_source) */
} tycho_config_t;

/* Fills defaults, then the environment, then argv (flags of `serve`).
 * Returns 0, or -1 with a one-line message in err (size errlen); a TYCHO_*
 * variable that is a slip for one tycho reads (TYCHO_WORKER: env_names.h)
 * is such an error too. */
int tycho_config_load(tycho_config_t *cfg, int argc, char **argv, char *err, size_t errlen);
void tycho_config_defaults(tycho_config_t *cfg);
/* Parses "host:port" / "[v6]:port" / ":port" / "port". 0 or -1 with err. */
int tycho_config_parse_addr(const char *s, tycho_addr_t *out, char *err, size_t errlen);
/* Writes host and port as they are typed: "127.0.0.1:8080", "[::1]:8080". */
void tycho_config_format_addr(const char *host, int port, char *out, size_t n);
/* Parses a comma-separated CIDR list into cfg->trusted_proxies. */
int tycho_config_parse_cidrs(const char *s, tycho_config_t *cfg, char *err, size_t errlen);
/* 1 if the textual IP address is inside one of the trusted proxy ranges. */
int tycho_config_is_trusted_proxy(const tycho_config_t *cfg, const char *ip);
void tycho_config_print_help(void);
/* getenv for TYCHO_* settings: NULL when the variable is unset, empty or
 * only blanks (env templating in ECS or compose leaves empty values). */
const char *tycho_config_getenv(const char *name);
/* A TYCHO_* variable's value without the blanks around it, copied into buf
 * (cap bytes): 1 when it is set, 0 when it is unset, empty or only blanks
 * (buf ""), -1 when the trimmed value does not fit in buf, with
 * "NAME: too long (at most cap-1 bytes)" in err (errlen bytes; 0: none). */
int tycho_config_env_trimmed(const char *name, char *buf, size_t cap, char *err, size_t errlen);

/* Applies the variable of one setting (field: a member of cfg, e.g.
 * &cfg->listen) over cfg, by the rules tycho_config_load reads it with; for
 * commands that need one setting of the server they talk to (`tycho
 * health`). 0, or -1 with "TYCHO_LISTEN: ..." in err. */
int tycho_config_from_env(tycho_config_t *cfg, const void *field, char *err, size_t errlen);

#define TYCHO_CGROUP_CPU_MAX "/sys/fs/cgroup/cpu.max"
/* The CPUs a cgroup v2 cpu.max file ("200000 100000") allows, rounded up
 * (at least 1); 0 when it sets no quota ("max ...") or cannot be read. */
int tycho_config_cpu_quota(const char *cpu_max);
/* The default worker count: the CPUs in this thread's affinity mask
 * (taskset, cpusets), capped by cpu_max's quota (docker --cpus); at least 1. */
int tycho_config_usable_cpus(const char *cpu_max);
/* Where the value of a setting came from, for messages about it: its flag
 * ("--routes") when the command line set it, else its variable
 * ("TYCHO_ROUTES"). field: a member of cfg, e.g. &cfg->listen. */
const char *tycho_config_source(const tycho_config_t *cfg, const void *field);
/* 0 when dir holds tycho's Lua modules (tycho/init.lua), else -1 with
 * "<source>: not tycho's Lua directory ...: <dir>" in err. */
int tycho_config_check_lua_dir(const char *dir, const char *source, char *err, size_t errlen);

#endif
