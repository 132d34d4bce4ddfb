#include "core/app.h"

#include <stdlib.h>

static void dispatch(void *ctx, tycho_exchange_t *x)
{
    (void)ctx;
    tycho_response_set_error(&x->res, 404, "not found", x->req.request_id);
    tycho_exchange_finish(x);
}

static void *create(uv_loop_t *loop, const tycho_config_t *cfg, int worker_id,
                    tycho_handler_t *handler, char **err)
{
    (void)loop, (void)cfg, (void)worker_id, (void)err;
    *handler = (tycho_handler_t){dispatch, NULL, NULL, NULL};
    return malloc(1); /* a non-NULL token */
}

static int prepare(void *app, char **err)
{
    (void)app, (void)err;
    return 0;
}

static uint64_t generation(void *app)
{
    (void)app;
    return 1;
}

const tycho_app_ops_t tycho_builtin_app = {
    .name = "builtin",
    .create = create,
    .prepare = prepare,
    .generation = generation,
    .destroy = free,
};
