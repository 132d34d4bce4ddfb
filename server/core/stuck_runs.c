#include "core/stuck_runs.h"

#include "lua/watchdog.h"

#include <stdio.h>
#include <string.h>

#define LISTED_MAX 64

static double count_stuck(void *ud)
{
    (void)ud;
    return tycho_watchdog_stuck_count();
}

int tycho_stuck_runs_register(tycho_metrics_t *reg, char *err, size_t errlen)
{
    tycho_metric_opts_t o = {
        .name = "tycho_lua_stuck_runs",
        .help = "Lua runs past their deadline that the watchdog cannot interrupt (a loop the JIT "
                "compiled); each blocks its worker",
        .type = TYCHO_METRIC_GAUGE};
    tycho_metric_t *m;
    int rc = tycho_metrics_register(reg, &o, &m, err, errlen);
    if (rc) return rc;
    rc = tycho_metric_set_callback(m, NULL, count_stuck, NULL);
    if (rc) snprintf(err, errlen, "metric \"%s\": cannot set its callback", o.name);
    return rc;
}

void tycho_stuck_runs_json(tycho_buf_t *out)
{
    tycho_watchdog_stuck_t runs[LISTED_MAX];
    int n = tycho_watchdog_stuck(runs, LISTED_MAX);
    tycho_buf_puts(out, ",\"stuck_runs\":[");
    for (int i = 0; i < n && i < LISTED_MAX; i++) {
        tycho_buf_puts(out, i ? ",{\"thread\":" : "{\"thread\":");
        tycho_buf_append_json_string(out, runs[i].thread, strlen(runs[i].thread));
        tycho_buf_printf(out, ",\"late_seconds\":%.1f}", runs[i].late_seconds);
    }
    tycho_buf_puts(out, "]");
}
