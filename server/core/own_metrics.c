#include "core/own_metrics.h"

#include "core/log.h"
#include "core/request_obs.h"

int tycho_own_metrics_ready(tycho_own_metrics_t *m, unsigned *shard)
{
    tycho_obs_t *o = tycho_obs_current();
    if (!o) return 0;
    *shard = tycho_obs_shard(o);
    tycho_metrics_t *r = tycho_obs_registry(o);
    if (m->registry == r) return m->ready;
    m->registry = r;
    m->ready = 1;
    for (size_t i = 0; i < m->n; i++) {
        char err[200];
        m->fams[i] = NULL;
        if (tycho_metrics_register(r, &m->defs[i], &m->fams[i], err, sizeof err) != 0 ||
            !m->fams[i]) {
            tycho_log_error("built-in metric not registered; its updates are lost",
                            LF_STR("metric", m->defs[i].name), LF_STR("error", err));
            m->ready = 0;
        }
    }
    return m->ready;
}
