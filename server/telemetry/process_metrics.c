#include "telemetry/process_metrics.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

double tycho_process_cpu_seconds(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0) return -1;
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* Fields of /proc/self/stat, 1-based as in proc(5); field 2 (comm) may hold
 * spaces and parentheses, so parsing starts after the last ')'. */
static int read_stat_fields(unsigned long long *out, const int *fields, int n)
{
    char buf[1024];
    FILE *f = fopen("/proc/self/stat", "re");
    if (!f) return -1;
    size_t len = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[len] = 0;
    char *p = strrchr(buf, ')');
    if (!p) return -1;
    p++;
    int field = 2, want = 0;
    char *save = NULL;
    for (char *tok = strtok_r(p, " ", &save); tok && want < n; tok = strtok_r(NULL, " ", &save)) {
        field++;
        if (field == fields[want]) out[want++] = strtoull(tok, NULL, 10);
    }
    return want == n ? 0 : -1;
}

double tycho_process_resident_bytes(void)
{
    static const int fields[] = {24}; /* rss, pages */
    unsigned long long v;
    if (read_stat_fields(&v, fields, 1) != 0) return -1;
    return (double)v * (double)sysconf(_SC_PAGESIZE);
}

double tycho_process_virtual_bytes(void)
{
    static const int fields[] = {23}; /* vsize, bytes */
    unsigned long long v;
    if (read_stat_fields(&v, fields, 1) != 0) return -1;
    return (double)v;
}

double tycho_process_open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d) return -1;
    double n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.') n++;
    closedir(d);
    return n - 1; /* the directory stream's own descriptor */
}

double tycho_process_max_fds(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return -1;
    return (double)rl.rlim_cur; /* RLIM_INFINITY reads as 2^64-1, like client_golang */
}

double tycho_process_start_time(void)
{
    static const int fields[] = {22}; /* starttime, clock ticks after boot */
    unsigned long long ticks;
    if (read_stat_fields(&ticks, fields, 1) != 0) return -1;
    FILE *f = fopen("/proc/stat", "re");
    if (!f) return -1;
    char line[256];
    double btime = -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "btime ", 6) == 0) btime = strtod(line + 6, NULL);
    fclose(f);
    if (btime < 0) return -1;
    return btime + (double)ticks / (double)sysconf(_SC_CLK_TCK);
}

static double cb_cpu(void *ud)
{
    (void)ud;
    return tycho_process_cpu_seconds();
}
static double cb_rss(void *ud)
{
    (void)ud;
    return tycho_process_resident_bytes();
}
static double cb_vsz(void *ud)
{
    (void)ud;
    return tycho_process_virtual_bytes();
}
static double cb_fds(void *ud)
{
    (void)ud;
    return tycho_process_open_fds();
}
static double cb_maxfds(void *ud)
{
    (void)ud;
    return tycho_process_max_fds();
}
/* Read at each scrape, as the other readings are (client_golang does the
 * same): a value cached at registration would be state shared by every
 * registry, and one registration that could not read /proc (no descriptor
 * left) would spoil it for all of them. */
static double cb_start(void *ud)
{
    (void)ud;
    return tycho_process_start_time();
}

int tycho_process_metrics_register(tycho_metrics_t *reg, char *err, size_t errlen)
{
    static const struct {
        const char *name, *help;
        tycho_metric_type_t type;
        tycho_metric_value_fn fn;
    } defs[] = {
        {"process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
         TYCHO_METRIC_COUNTER, cb_cpu},
        {"process_resident_memory_bytes", "Resident memory size in bytes.", TYCHO_METRIC_GAUGE,
         cb_rss},
        {"process_virtual_memory_bytes", "Virtual memory size in bytes.", TYCHO_METRIC_GAUGE,
         cb_vsz},
        {"process_open_fds", "Number of open file descriptors.", TYCHO_METRIC_GAUGE, cb_fds},
        {"process_max_fds", "Maximum number of open file descriptors.", TYCHO_METRIC_GAUGE,
         cb_maxfds},
        {"process_start_time_seconds", "Start time of the process since unix epoch in seconds.",
         TYCHO_METRIC_GAUGE, cb_start},
    };
    for (size_t i = 0; i < sizeof defs / sizeof defs[0]; i++) {
        tycho_metric_opts_t o = {.name = defs[i].name, .help = defs[i].help, .type = defs[i].type};
        tycho_metric_t *m;
        int rc = tycho_metrics_register(reg, &o, &m, err, errlen);
        if (rc) return rc;
        rc = tycho_metric_set_callback(m, NULL, defs[i].fn, NULL);
        if (rc) {
            snprintf(err, errlen, "metric \"%s\": cannot set its callback", defs[i].name);
            return rc;
        }
    }
    return 0;
}
