#include "core/precheck.h"

#include "core/thread_name.h"

#include <pthread.h>
#include <stdlib.h>

/* One check, shared by its thread and the main thread until one lets go: the
 * main thread frees it after reading the result, or the thread frees it when
 * the main thread abandoned it (closed the precheck meanwhile). */
typedef struct job {
    tycho_config_t cfg;
    tycho_precheck_fn check;
    int rc;
    char *err;
    int finished, abandoned; /* under mu */
    uv_async_t *notify;      /* the precheck's; not used once abandoned */
} job_t;

struct tycho_precheck {
    uv_async_t async;
    job_t *job; /* the running (or finished, not yet reported) check */
    tycho_precheck_done_fn done;
    void *ud;
};

/* guards a job's finished/abandoned pair: the async handle is never sent to
 * after the main thread closed it */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static void free_job(job_t *j)
{
    free(j->err);
    free(j);
}

static void run(void *arg)
{
    job_t *j = arg;
    tycho_thread_name("tycho-check");
    char *err = NULL;
    int rc = j->check(&j->cfg, &err);
    pthread_mutex_lock(&mu);
    j->rc = rc;
    j->err = err;
    j->finished = 1;
    int abandoned = j->abandoned;
    if (!abandoned) uv_async_send(j->notify);
    pthread_mutex_unlock(&mu);
    if (abandoned) free_job(j);
}

static void on_async(uv_async_t *a)
{
    tycho_precheck_t *p = a->data;
    pthread_mutex_lock(&mu);
    job_t *j = p->job && p->job->finished ? p->job : NULL;
    pthread_mutex_unlock(&mu);
    if (!j) return;
    p->job = NULL; /* done may start the next check */
    p->done(p->ud, j->rc, j->err);
    free_job(j);
}

tycho_precheck_t *tycho_precheck_new(uv_loop_t *loop, tycho_precheck_done_fn done, void *ud)
{
    tycho_precheck_t *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->done = done;
    p->ud = ud;
    uv_async_init(loop, &p->async, on_async);
    p->async.data = p;
    return p;
}

int tycho_precheck_start(tycho_precheck_t *p, tycho_precheck_fn check, const tycho_config_t *cfg)
{
    if (p->job) return UV_EBUSY;
    job_t *j = calloc(1, sizeof *j);
    if (!j) return UV_ENOMEM;
    j->cfg = *cfg;
    j->check = check;
    j->notify = &p->async;
    uv_thread_t t;
    int rc = uv_thread_create(&t, run, j);
    if (rc != 0) {
        free(j);
        return rc;
    }
    pthread_detach(t); /* never joined: close may abandon it */
    p->job = j;
    return 0;
}

static void on_closed(uv_handle_t *h)
{
    free(h->data);
}

void tycho_precheck_close(tycho_precheck_t *p)
{
    if (!p) return;
    pthread_mutex_lock(&mu);
    job_t *j = p->job;
    int finished = j && j->finished;
    if (j && !finished) j->abandoned = 1;
    pthread_mutex_unlock(&mu);
    if (finished) free_job(j);
    uv_close((uv_handle_t *)&p->async, on_closed);
}
