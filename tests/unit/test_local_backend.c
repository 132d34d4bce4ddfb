/* Unit tests for local_backend: the owner thread and its clients on two uv
 * loops in two threads. A long poll on one client is woken by a send from
 * another client on another thread; waits end at their deadline or on a
 * visibility expiry; cancel, close and stop are clean (run under ASan and
 * valgrind). */
#include "aws/local_backend.h"
#include "tests/lib/local_env.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct env {
    char dir[64];
    tycho_local_backend_t *b;
} env_t;

typedef struct reply {
    atomic_int done;
    int status;
    char body[4096];
    uint64_t at_ms;
} reply_t;

static void on_reply(int status, const char *body, size_t len, void *ud)
{
    reply_t *r = ud;
    r->status = status;
    snprintf(r->body, sizeof r->body, "%.*s", (int)len, body);
    r->at_ms = uv_hrtime() / 1000000;
    atomic_store(&r->done, 1);
}

static int setup(void **state)
{
    env_t *e = calloc(1, sizeof *e);
    tycho_local_config_t cfg;
    char err[512];
    local_tmpdir_make(e->dir, sizeof e->dir, "/tmp/tycho-backend-XXXXXX");
    tycho_local_config_init(&cfg);
    snprintf(cfg.queues, sizeof cfg.queues, "q;q2");
    if (tycho_local_backend_start(e->dir, &cfg, &e->b, err, sizeof err)) fail_msg("start: %s", err);
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    env_t *e = *state;
    tycho_local_backend_stop(e->b);
    local_tmpdir_remove(e->dir);
    free(e);
    return 0;
}

/* Runs one call to completion on loop (the calling thread's). */
static void call_sync(tycho_local_client_t *c, uv_loop_t *loop, const char *target,
                      const char *body, reply_t *r)
{
    memset(r, 0, sizeof *r);
    assert_non_null(tycho_local_client_call(c, target, body, strlen(body), on_reply, r));
    while (!atomic_load(&r->done))
        uv_run(loop, UV_RUN_ONCE);
}

static void closed_cb(void *ud)
{
    atomic_store((atomic_int *)ud, 1);
}

static void close_client(tycho_local_client_t *c, uv_loop_t *loop)
{
    atomic_int closed = 0;
    tycho_local_client_close(c, closed_cb, &closed);
    while (!atomic_load(&closed))
        uv_run(loop, UV_RUN_ONCE);
}

/* A client of e's backend on loop (this thread's), which it initialises. */
static tycho_local_client_t *open_client(env_t *e, uv_loop_t *loop)
{
    uv_loop_init(loop);
    return tycho_local_client_new(e->b, loop);
}

/* Runs what is left on the loop; it must then close cleanly. */
static void finish_loop(uv_loop_t *loop)
{
    uv_run(loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(loop), 0);
}

/* Starts a 20 s ReceiveMessage on the empty queue "q", answered into r. */
static tycho_local_call_t *start_long_poll(tycho_local_client_t *c, reply_t *r)
{
    const char *lp = "{\"QueueUrl\":\"http://localhost/000000000000/q\",\"WaitTimeSeconds\":20}";
    memset(r, 0, sizeof *r);
    tycho_local_call_t *call =
        tycho_local_client_call(c, "AmazonSQS.ReceiveMessage", lp, strlen(lp), on_reply, r);
    assert_non_null(call);
    return call;
}

typedef struct poller {
    tycho_local_backend_t *b;
    const char *body;
    reply_t reply;
    atomic_int started;
    uint64_t start_ms;
} poller_t;

/* Thread A: its own loop and client; one long poll, then close. */
static void poller_main(void *arg)
{
    poller_t *p = arg;
    uv_loop_t loop;
    uv_loop_init(&loop);
    tycho_local_client_t *c = tycho_local_client_new(p->b, &loop);
    p->start_ms = uv_hrtime() / 1000000;
    assert_non_null(tycho_local_client_call(c, "AmazonSQS.ReceiveMessage", p->body, strlen(p->body),
                                            on_reply, &p->reply));
    atomic_store(&p->started, 1);
    while (!atomic_load(&p->reply.done))
        uv_run(&loop, UV_RUN_ONCE);
    close_client(c, &loop);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop); /* no cmocka assert off the test's thread */
}

static void test_long_poll_woken_by_other_thread(void **state)
{
    env_t *e = *state;
    poller_t p;
    memset(&p, 0, sizeof p);
    p.b = e->b;
    p.body = "{\"QueueUrl\":\"http://localhost/000000000000/q\",\"WaitTimeSeconds\":10}";
    uv_thread_t t;
    assert_int_equal(uv_thread_create(&t, poller_main, &p), 0);
    while (!atomic_load(&p.started))
        usleep(1000);
    usleep(200000); /* the poll is waiting on the owner thread now */
    assert_false(atomic_load(&p.reply.done));
    uv_loop_t loop;
    tycho_local_client_t *c = open_client(e, &loop);
    reply_t r;
    call_sync(c, &loop, "AmazonSQS.SendMessage",
              "{\"QueueUrl\":\"http://localhost/000000000000/q\",\"MessageBody\":\"wake\"}", &r);
    assert_int_equal(r.status, 200);
    uv_thread_join(&t);
    assert_int_equal(p.reply.status, 200);
    assert_non_null(strstr(p.reply.body, "\"Body\":\"wake\""));
    uint64_t waited = p.reply.at_ms - p.start_ms;
    if (waited > 3000)
        fail_msg("long poll took %llu ms; it should wake on the send", (unsigned long long)waited);
    close_client(c, &loop);
    finish_loop(&loop);
}

static void test_long_poll_deadline_and_visibility(void **state)
{
    env_t *e = *state;
    uv_loop_t loop;
    tycho_local_client_t *c = open_client(e, &loop);
    reply_t r;
    uint64_t t0 = uv_hrtime() / 1000000;
    call_sync(c, &loop, "AmazonSQS.ReceiveMessage",
              "{\"QueueUrl\":\"http://localhost/000000000000/q2\",\"WaitTimeSeconds\":1}", &r);
    uint64_t took = r.at_ms - t0;
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "{}");
    assert_true(took >= 950 && took < 3000);
    /* a message hidden for 1 s wakes a waiting poll when it becomes visible */
    call_sync(c, &loop, "AmazonSQS.SendMessage",
              "{\"QueueUrl\":\"http://localhost/000000000000/q2\",\"MessageBody\":\"again\"}", &r);
    call_sync(c, &loop, "AmazonSQS.ReceiveMessage",
              "{\"QueueUrl\":\"http://localhost/000000000000/q2\",\"VisibilityTimeout\":1}", &r);
    assert_non_null(strstr(r.body, "again"));
    t0 = uv_hrtime() / 1000000;
    call_sync(c, &loop, "AmazonSQS.ReceiveMessage",
              "{\"QueueUrl\":\"http://localhost/000000000000/"
              "q2\",\"WaitTimeSeconds\":10,\"AttributeNames\":[\"All\"]}",
              &r);
    took = r.at_ms - t0;
    assert_non_null(strstr(r.body, "\"ApproximateReceiveCount\":\"2\""));
    assert_true(took < 3000);
    /* other requests are not blocked by a waiting poll */
    reply_t waiting;
    start_long_poll(c, &waiting);
    call_sync(c, &loop, "DynamoDB_20120810.ListTables", "{}", &r);
    assert_int_equal(r.status, 200);
    assert_false(atomic_load(&waiting.done));
    /* closing the client cancels the waiting poll: its callback never runs */
    close_client(c, &loop);
    assert_false(atomic_load(&waiting.done));
    finish_loop(&loop);
}

/* Waits for r (a call started earlier on loop); the milliseconds since t0. */
static uint64_t wait_reply(uv_loop_t *loop, reply_t *r, uint64_t t0)
{
    while (!atomic_load(&r->done))
        uv_run(loop, UV_RUN_ONCE);
    return r->at_ms - t0;
}

/* A poll that began before a message was hidden for a while (sent with a
 * delay, or its visibility changed to a few seconds) gets it when it becomes
 * visible, not at the poll's deadline. */
static void test_long_poll_sees_message_hidden_after_it_began(void **state)
{
    env_t *e = *state;
    uv_loop_t loop;
    tycho_local_client_t *c = open_client(e, &loop);
    reply_t w, r;
    start_long_poll(c, &w);
    uint64_t t0 = uv_hrtime() / 1000000;
    call_sync(c, &loop, "AmazonSQS.SendMessage",
              "{\"QueueUrl\":\"http://localhost/000000000000/q\",\"MessageBody\":\"late\","
              "\"DelaySeconds\":1}",
              &r);
    assert_int_equal(r.status, 200);
    assert_false(atomic_load(&w.done));
    uint64_t took = wait_reply(&loop, &w, t0);
    assert_non_null(strstr(w.body, "\"Body\":\"late\""));
    if (took < 900 || took > 3000)
        fail_msg("a message delayed by 1 s reached the waiting poll after %llu ms",
                 (unsigned long long)took);

    /* the poll holds it for 30 s (the queue's default); another poll waits;
     * the holder gives it back in 1 s */
    char *h = strstr(w.body, "\"ReceiptHandle\":\"");
    assert_non_null(h);
    h += strlen("\"ReceiptHandle\":\"");
    char body[512];
    snprintf(body, sizeof body,
             "{\"QueueUrl\":\"http://localhost/000000000000/q\",\"ReceiptHandle\":\"%.*s\","
             "\"VisibilityTimeout\":1}",
             (int)(strchr(h, '"') - h), h);
    start_long_poll(c, &w);
    t0 = uv_hrtime() / 1000000;
    call_sync(c, &loop, "AmazonSQS.ChangeMessageVisibility", body, &r);
    assert_int_equal(r.status, 200);
    took = wait_reply(&loop, &w, t0);
    assert_non_null(strstr(w.body, "\"Body\":\"late\""));
    if (took < 900 || took > 3000)
        fail_msg("a message given back in 1 s reached the waiting poll after %llu ms",
                 (unsigned long long)took);
    close_client(c, &loop);
    finish_loop(&loop);
}

/* A waiting poll with VisibilityTimeout 0 that a send wakes: it takes the
 * message once (the message it leaves visible wakes the queue's waiters,
 * itself no more), answers once, and the other waiters stay linked. */
static void test_long_poll_visibility_zero_woken(void **state)
{
    env_t *e = *state;
    uv_loop_t loop;
    tycho_local_client_t *c = open_client(e, &loop);
    reply_t w0, other, r;
    const char *lp = "{\"QueueUrl\":\"http://localhost/000000000000/q\",\"WaitTimeSeconds\":10,"
                     "\"VisibilityTimeout\":0,\"AttributeNames\":[\"ApproximateReceiveCount\"]}";
    memset(&w0, 0, sizeof w0);
    assert_non_null(
        tycho_local_client_call(c, "AmazonSQS.ReceiveMessage", lp, strlen(lp), on_reply, &w0));
    const char *lp2 = "{\"QueueUrl\":\"http://localhost/000000000000/q2\",\"WaitTimeSeconds\":2}";
    memset(&other, 0, sizeof other);
    assert_non_null(
        tycho_local_client_call(c, "AmazonSQS.ReceiveMessage", lp2, strlen(lp2), on_reply, &other));
    call_sync(c, &loop, "AmazonSQS.SendMessage",
              "{\"QueueUrl\":\"http://localhost/000000000000/q\",\"MessageBody\":\"peek\"}", &r);
    uint64_t t0 = uv_hrtime() / 1000000;
    wait_reply(&loop, &w0, t0);
    assert_int_equal(w0.status, 200);
    assert_non_null(strstr(w0.body, "\"ApproximateReceiveCount\":\"1\""));
    /* the other queue's poll still ends at its deadline */
    call_sync(c, &loop, "AmazonSQS.SendMessage",
              "{\"QueueUrl\":\"http://localhost/000000000000/q2\",\"MessageBody\":\"x\"}", &r);
    wait_reply(&loop, &other, t0);
    assert_non_null(strstr(other.body, "\"Body\":\"x\""));
    close_client(c, &loop);
    finish_loop(&loop);
}

/* A receive that moves a message to the dead-letter queue and then waits,
 * finding nothing else, still wakes a poll waiting on the dead-letter
 * queue. */
static void test_long_poll_woken_by_redrive_of_waiting_receive(void **state)
{
    env_t *e = *state;
    uv_loop_t loop;
    tycho_local_client_t *c = open_client(e, &loop);
    reply_t dl, src, r;
    call_sync(c, &loop, "AmazonSQS.CreateQueue", "{\"QueueName\":\"dl\"}", &r);
    call_sync(
        c, &loop, "AmazonSQS.CreateQueue",
        "{\"QueueName\":\"src\",\"Attributes\":{\"RedrivePolicy\":\"{\\\"deadLetterTargetArn\\\":"
        "\\\"arn:aws:sqs:us-east-1:000000000000:dl\\\",\\\"maxReceiveCount\\\":1}\"}}",
        &r);
    assert_int_equal(r.status, 200);
    call_sync(c, &loop, "AmazonSQS.SendMessage",
              "{\"QueueUrl\":\"http://localhost/000000000000/src\",\"MessageBody\":\"poison\"}",
              &r);
    call_sync(c, &loop, "AmazonSQS.ReceiveMessage",
              "{\"QueueUrl\":\"http://localhost/000000000000/src\",\"VisibilityTimeout\":0}", &r);
    assert_non_null(strstr(r.body, "poison"));
    const char *dlp = "{\"QueueUrl\":\"http://localhost/000000000000/dl\",\"WaitTimeSeconds\":10}";
    memset(&dl, 0, sizeof dl);
    assert_non_null(
        tycho_local_client_call(c, "AmazonSQS.ReceiveMessage", dlp, strlen(dlp), on_reply, &dl));
    uint64_t t0 = uv_hrtime() / 1000000;
    /* the second receive moves it and waits for another message */
    const char *srcp =
        "{\"QueueUrl\":\"http://localhost/000000000000/src\",\"WaitTimeSeconds\":10}";
    memset(&src, 0, sizeof src);
    assert_non_null(
        tycho_local_client_call(c, "AmazonSQS.ReceiveMessage", srcp, strlen(srcp), on_reply, &src));
    uint64_t took = wait_reply(&loop, &dl, t0);
    assert_non_null(strstr(dl.body, "\"Body\":\"poison\""));
    if (took > 3000)
        fail_msg("the dead-letter queue's poll got the moved message after %llu ms",
                 (unsigned long long)took);
    assert_false(atomic_load(&src.done));
    close_client(c, &loop);
    finish_loop(&loop);
}

static void test_cancel(void **state)
{
    env_t *e = *state;
    uv_loop_t loop;
    tycho_local_client_t *c = open_client(e, &loop);
    reply_t a, r;
    tycho_local_call_cancel(start_long_poll(c, &a));
    /* the next call still works; the cancelled poll did not take the message */
    call_sync(c, &loop, "AmazonSQS.SendMessage",
              "{\"QueueUrl\":\"http://localhost/000000000000/q\",\"MessageBody\":\"kept\"}", &r);
    call_sync(c, &loop, "AmazonSQS.ReceiveMessage",
              "{\"QueueUrl\":\"http://localhost/000000000000/q\",\"WaitTimeSeconds\":1}", &r);
    assert_non_null(strstr(r.body, "kept"));
    assert_false(atomic_load(&a.done));
    call_sync(c, &loop, "AmazonSQS.Bogus", "{}", &r);
    assert_int_equal(r.status, 400);
    close_client(c, &loop);
    finish_loop(&loop);
}

static void test_stop_with_waiter_then_call(void **state)
{
    env_t *e = *state;
    uv_loop_t loop;
    tycho_local_client_t *c = open_client(e, &loop);
    reply_t w, r;
    start_long_poll(c, &w);
    usleep(100000);
    uint64_t t0 = uv_hrtime() / 1000000;
    tycho_local_backend_stop(e->b); /* ends the poll with its empty answer */
    e->b = NULL;
    while (!atomic_load(&w.done))
        uv_run(&loop, UV_RUN_ONCE);
    assert_int_equal(w.status, 200);
    assert_string_equal(w.body, "{}");
    assert_true(uv_hrtime() / 1000000 - t0 < 3000);
    /* after stop: a clean 503, still delivered asynchronously */
    call_sync(c, &loop, "AmazonSQS.ListQueues", "{}", &r);
    assert_int_equal(r.status, 503);
    assert_non_null(strstr(r.body, "ServiceUnavailable"));
    close_client(c, &loop); /* frees the backend's memory too */
    finish_loop(&loop);
}

/* Runs one SQS request straight on store s (a second connection to the
 * backend's file, which the backend does not see) at the wall clock. */
static void store_call(tycho_local_store_t *s, const char *op, const char *body, reply_t *r)
{
    char target[64];
    tycho_local_result_t res;
    snprintf(target, sizeof target, "AmazonSQS.%s", op);
    assert_int_equal(tycho_local_exec(s, target, body, strlen(body), tycho_local_now_ms(), &res),
                     0);
    r->status = res.status;
    snprintf(r->body, sizeof r->body, "%s", res.body);
    tycho_local_result_free(&res);
}

/* Stop answers a waiting poll at once with {} and receives nothing for it,
 * even with a message available that the poll was never woken for (sent
 * through another connection): the message is still visible afterwards,
 * never received. */
static void test_stop_receives_nothing_for_waiters(void **state)
{
    env_t *e = *state;
    uv_loop_t loop;
    tycho_local_client_t *c = open_client(e, &loop);
    reply_t w, r;
    start_long_poll(c, &w);
    /* answered in order: the poll is waiting once this is back */
    call_sync(c, &loop, "AmazonSQS.ListQueues", "{}", &r);
    assert_false(atomic_load(&w.done));
    tycho_local_config_t cfg;
    tycho_local_store_t *other;
    char err[512];
    tycho_local_config_init(&cfg);
    cfg.queues[0] = cfg.tables[0] = '\0';
    if (tycho_local_store_open(e->dir, &cfg, tycho_local_now_ms(), &other, err, sizeof err))
        fail_msg("second connection: %s", err);
    store_call(other, "SendMessage",
               "{\"QueueUrl\":\"http://localhost/000000000000/q\",\"MessageBody\":\"unseen\"}", &r);
    assert_int_equal(r.status, 200);
    uint64_t t0 = uv_hrtime() / 1000000;
    tycho_local_backend_stop(e->b);
    e->b = NULL;
    while (!atomic_load(&w.done))
        uv_run(&loop, UV_RUN_ONCE);
    assert_int_equal(w.status, 200);
    assert_string_equal(w.body, "{}");
    assert_true(w.at_ms - t0 < 3000); /* not at the poll's 20 s deadline */
    store_call(other, "ReceiveMessage",
               "{\"QueueUrl\":\"http://localhost/000000000000/q\","
               "\"AttributeNames\":[\"ApproximateReceiveCount\"]}",
               &r);
    assert_non_null(strstr(r.body, "\"Body\":\"unseen\""));
    assert_non_null(strstr(r.body, "\"ApproximateReceiveCount\":\"1\""));
    tycho_local_store_close(other);
    close_client(c, &loop);
    finish_loop(&loop);
}

static void test_start_error(void **state)
{
    (void)state;
    tycho_local_config_t cfg;
    tycho_local_backend_t *b = NULL;
    char err[512];
    char dir[64];
    /* a folder of its own: a store another tycho left in a shared one
     * (another layout version, say) would fail the start first */
    local_tmpdir_make(dir, sizeof dir, "/tmp/tycho-backend-XXXXXX");
    tycho_local_config_init(&cfg);
    snprintf(cfg.queues, sizeof cfg.queues, "bad name");
    assert_int_equal(tycho_local_backend_start(dir, &cfg, &b, err, sizeof err), -1);
    assert_null(b);
    local_tmpdir_remove(dir);
    assert_non_null(strstr(err, "TYCHO_LOCAL_QUEUES"));
    tycho_local_config_init(&cfg);
    assert_int_equal(tycho_local_backend_start("/proc/nonexistent/dir", &cfg, &b, err, sizeof err),
                     -1);
    assert_non_null(strstr(err, "local backend"));
}

static int noop_teardown(void **state)
{
    env_t *e = *state;
    if (e->b) tycho_local_backend_stop(e->b);
    local_tmpdir_remove(e->dir);
    free(e);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_long_poll_woken_by_other_thread, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_poll_deadline_and_visibility, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_poll_sees_message_hidden_after_it_began, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_long_poll_visibility_zero_woken, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_poll_woken_by_redrive_of_waiting_receive, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop_with_waiter_then_call, setup, noop_teardown),
        cmocka_unit_test_setup_teardown(test_stop_receives_nothing_for_waiters, setup,
                                        noop_teardown),
        cmocka_unit_test(test_start_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
