/* Outbound HTTP client against a loopback server (tests/aws/fake_http.py,
 * started here with /usr/bin/python3): concurrency, keep-alive reuse,
 * timeouts, size cap, refused and reset connections, cancel and close; https
 * through a CONNECT proxy (tests/lib/tls_connect_proxy.py). */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <unistd.h>

#include "net/http_client.h"

static pid_t server_pid;
static int server_port;
static uv_loop_t loop;

/* Starts a python3 helper (a path from the source root) with one argument
 * (or none: NULL); its stdout in *out. */
static pid_t spawn_python(const char *script, const char *arg, FILE **out)
{
    int fds[2];
    if (pipe(fds)) return -1;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        execl("/usr/bin/python3", "python3", script, arg, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    *out = fdopen(fds[0], "r");
    return pid;
}

static int start_server(void **state)
{
    (void)state;
    FILE *f = NULL;
    server_pid = spawn_python("tests/aws/fake_http.py", NULL, &f);
    if (!f || fscanf(f, "%d", &server_port) != 1) {
        fprintf(stderr, "fake_http.py did not start (run from the source root)\n");
        return -1;
    }
    fclose(f);
    uv_loop_init(&loop);
    return 0;
}

static int stop_server(void **state)
{
    (void)state;
    if (server_pid > 0) {
        kill(server_pid, SIGTERM);
        waitpid(server_pid, NULL, 0);
    }
    uv_run(&loop, UV_RUN_DEFAULT);
    return uv_loop_close(&loop) == 0 ? 0 : -1;
}

static char *url(const char *path)
{
    static char buf[8][256];
    static int i;
    char *b = buf[i++ % 8];
    snprintf(b, 256, "http://127.0.0.1:%d%s", server_port, path);
    return b;
}

typedef struct result {
    int done;
    int error;
    long status;
    char msg[256];
    char body[4096];
    size_t body_len;
    long new_connections;
    int body_truncated;
    char echo_header[16];
} result_t;

static int outstanding;

static void on_done(const tycho_http_response_t *res, void *ud)
{
    result_t *r = ud;
    r->done++;
    r->error = res->error;
    r->status = res->status;
    snprintf(r->msg, sizeof r->msg, "%s", res->error_message);
    r->body_len = res->body_len;
    if (res->body) snprintf(r->body, sizeof r->body, "%s", res->body);
    r->new_connections = res->new_connections;
    r->body_truncated = res->body_truncated;
    const char *h = tycho_http_response_header(res, "x-echo");
    snprintf(r->echo_header, sizeof r->echo_header, "%s", h ? h : "");
    if (--outstanding == 0) uv_stop(&loop);
}

static void run(void)
{
    if (outstanding > 0) uv_run(&loop, UV_RUN_DEFAULT);
}

static void close_client(tycho_http_client_t *c)
{
    tycho_http_client_close(c);
    uv_run(&loop, UV_RUN_DEFAULT); /* close callbacks */
}

static void get(tycho_http_client_t *c, const char *u, result_t *r, long timeout_ms,
                size_t max_bytes)
{
    tycho_http_request_t req = {0};
    req.url = u;
    req.timeout_ms = timeout_ms;
    req.max_response_bytes = max_bytes;
    outstanding++;
    assert_int_equal(tycho_http_request(c, &req, on_done, r, NULL), 0);
}

static long server_stat(tycho_http_client_t *c, const char *key)
{
    result_t r = {0};
    get(c, url("/stats"), &r, 0, 0);
    run();
    assert_int_equal(r.error, 0);
    const char *p = strstr(r.body, key);
    assert_non_null(p);
    return strtol(p + strlen(key) + 3, NULL, 10);
}

static void reset_stats(tycho_http_client_t *c)
{
    tycho_http_request_t req = {.method = "POST", .url = url("/reset-stats")};
    result_t r = {0};
    outstanding++;
    assert_int_equal(tycho_http_request(c, &req, on_done, &r, NULL), 0);
    run();
    assert_int_equal(r.status, 200);
}

static void test_post_echo_headers(void **state)
{
    (void)state;
    tycho_http_client_t *c = tycho_http_client_new(&loop, NULL);
    assert_non_null(c);
    tycho_http_header_t h[] = {{"Content-Type", "application/x-amz-json-1.0"},
                               {"X-Amz-Target", "AmazonSQS.SendMessage"}};
    tycho_http_request_t req = {.method = "POST",
                                .url = url("/echo"),
                                .headers = h,
                                .nheaders = 2,
                                .body = "{\"a\":1}",
                                .body_len = 7};
    result_t r = {0};
    outstanding++;
    assert_int_equal(tycho_http_request(c, &req, on_done, &r, NULL), 0);
    assert_int_equal(r.done, 0); /* never called back synchronously */
    run();
    assert_int_equal(r.done, 1);
    assert_int_equal(r.error, 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.echo_header, "yes");
    assert_non_null(strstr(r.body, "\"method\": \"POST\""));
    assert_non_null(strstr(r.body, "[\"X-Amz-Target\", \"AmazonSQS.SendMessage\"]"));
    assert_non_null(strstr(r.body, "[\"Content-Type\", \"application/x-amz-json-1.0\"]"));
    assert_non_null(strstr(r.body, "\"body\": \"{\\\"a\\\":1}\""));
    assert_null(strstr(r.body, "Expect"));

    /* PUT with an empty body (IMDS token style), a 503 is a status not an error */
    tycho_http_request_t put = {.method = "PUT", .url = url("/echo")};
    result_t r2 = {0}, r3 = {0};
    outstanding += 2;
    assert_int_equal(tycho_http_request(c, &put, on_done, &r2, NULL), 0);
    tycho_http_request_t s503 = {.url = url("/status?code=503")};
    assert_int_equal(tycho_http_request(c, &s503, on_done, &r3, NULL), 0);
    run();
    assert_non_null(strstr(r2.body, "\"method\": \"PUT\""));
    assert_non_null(strstr(r2.body, "[\"Content-Length\", \"0\"]"));
    assert_int_equal(r3.error, 0);
    assert_int_equal(r3.status, 503);

    /* header injection is refused up front */
    tycho_http_header_t bad[] = {{"X-A", "v\r\nX-Injected: 1"}};
    tycho_http_request_t inj = {.url = url("/echo"), .headers = bad, .nheaders = 1};
    assert_int_equal(tycho_http_request(c, &inj, on_done, &r, NULL), -EINVAL);
    /* so are a name that is not a token and the headers curl owns (framing,
     * connection): a caller's Content-Length would smuggle a request */
    static const tycho_http_header_t refused[] = {{"X A", "1"},
                                                  {"X-B:evil", "1"},
                                                  {"Content-Length", "5"},
                                                  {"Transfer-Encoding", "chunked"},
                                                  {"connection", "close"},
                                                  {"Upgrade", "h2c"}};
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++) {
        tycho_http_request_t bad_req = {.url = url("/echo"), .headers = &refused[i], .nheaders = 1};
        assert_int_equal(tycho_http_request(c, &bad_req, on_done, &r, NULL), -EINVAL);
    }
    close_client(c);
}

/* A body is copied unless body_kept: the copied one may change right after
 * the call, the kept one is sent from the caller's bytes. */
static void test_body_copied_or_kept(void **state)
{
    (void)state;
    tycho_http_client_t *c = tycho_http_client_new(&loop, NULL);
    assert_non_null(c);
    char copied[] = "copied-1", kept[] = "kept-2";
    tycho_http_request_t a = {
        .method = "POST", .url = url("/echo"), .body = copied, .body_len = strlen(copied)};
    tycho_http_request_t b = {.method = "POST",
                              .url = url("/echo"),
                              .body = kept,
                              .body_len = strlen(kept),
                              .body_kept = 1};
    result_t ra = {0}, rb = {0};
    outstanding += 2;
    assert_int_equal(tycho_http_request(c, &a, on_done, &ra, NULL), 0);
    assert_int_equal(tycho_http_request(c, &b, on_done, &rb, NULL), 0);
    memset(copied, 'x', strlen(copied)); /* the request has its own copy */
    run();
    assert_int_equal(ra.status, 200);
    assert_int_equal(rb.status, 200);
    assert_non_null(strstr(ra.body, "\"body\": \"copied-1\""));
    assert_non_null(strstr(rb.body, "\"body\": \"kept-2\""));
    close_client(c);
}

static void test_concurrent_and_reuse(void **state)
{
    (void)state;
    tycho_http_client_options_t o = {.max_host_connections = 8};
    tycho_http_client_t *c = tycho_http_client_new(&loop, &o);
    assert_non_null(c);
    reset_stats(c);
    enum { N = 100 };
    result_t *r = calloc(N, sizeof *r);
    for (int i = 0; i < N; i++)
        get(c, url("/delay?ms=20"), &r[i], 10000, 0);
    run();
    int ok = 0;
    for (int i = 0; i < N; i++)
        ok += r[i].done == 1 && r[i].error == 0 && r[i].status == 200;
    assert_int_equal(ok, N);
    long conns = server_stat(c, "connections");
    long reqs = server_stat(c, "requests");
    print_message("100 concurrent requests: server saw %ld connections, %ld requests\n", conns,
                  reqs);
    assert_true(conns <= 8);
    assert_true(reqs >= N);

    /* sequential requests reuse one connection */
    reset_stats(c);
    long fresh = 0;
    for (int i = 0; i < 20; i++) {
        result_t x = {0};
        get(c, url("/echo"), &x, 0, 0);
        run();
        assert_int_equal(x.status, 200);
        fresh += x.new_connections;
    }
    assert_int_equal(fresh, 0);
    assert_int_equal(server_stat(c, "connections"), 1);
    tycho_http_client_stats_t st;
    tycho_http_client_stats(c, &st);
    assert_int_equal(st.pending, 0);
    assert_true(st.connections_opened <= 9);
    free(r);
    close_client(c);
}

static void test_default_pool_reuse(void **state)
{
    (void)state;
    /* without a host limit: 5 waves of 10 concurrent requests open ~10 */
    tycho_http_client_t *c = tycho_http_client_new(&loop, NULL);
    reset_stats(c);
    result_t r[10];
    for (int wave = 0; wave < 5; wave++) {
        memset(r, 0, sizeof r);
        for (int i = 0; i < 10; i++)
            get(c, url("/delay?ms=10"), &r[i], 0, 0);
        run();
        for (int i = 0; i < 10; i++)
            assert_int_equal(r[i].status, 200);
    }
    long conns = server_stat(c, "connections");
    print_message("5 waves of 10: server saw %ld connections for 50 requests\n", conns);
    assert_true(conns <= 12);
    close_client(c);
}

static void test_timeout(void **state)
{
    (void)state;
    tycho_http_client_t *c = tycho_http_client_new(&loop, NULL);
    result_t r = {0};
    uint64_t t0 = uv_hrtime();
    get(c, url("/delay?ms=3000"), &r, 300, 0);
    run();
    double secs = (double)(uv_hrtime() - t0) / 1e9;
    assert_int_equal(r.error, TYCHO_HTTP_E_TIMEOUT);
    assert_int_equal(r.status, 0);
    assert_true(secs < 2.0);
    assert_non_null(strstr(r.msg, "timeout"));
    print_message("timeout: %s (%.2fs)\n", r.msg, secs);
    close_client(c);
}

static void test_size_cap(void **state)
{
    (void)state;
    tycho_http_client_t *c = tycho_http_client_new(&loop, NULL);
    result_t a = {0}, b = {0}, ok = {0}, exact = {0}, exact_chunked = {0}, over = {0};
    result_t hdr_ok = {0}, hdr_big = {0};
    get(c, url("/big?n=100000"), &a, 0, 1000);
    get(c, url("/big-chunked?n=100000"), &b, 0, 1000);
    get(c, url("/big?n=500"), &ok, 0, 1000);
    /* the cap is on the body: the headers around it do not count */
    get(c, url("/big?n=1000"), &exact, 0, 1000);
    get(c, url("/big-chunked?n=1000"), &exact_chunked, 0, 1000);
    get(c, url("/big-chunked?n=1001"), &over, 0, 1000);
    /* the headers have their own cap, 64 KiB */
    get(c, url("/big-header?n=60000"), &hdr_ok, 0, 10);
    get(c, url("/big-header?n=70000"), &hdr_big, 0, 0);
    run();
    assert_int_equal(a.error, TYCHO_HTTP_E_TOO_LARGE);
    assert_int_equal(b.error, TYCHO_HTTP_E_TOO_LARGE);
    assert_string_equal(a.msg, "response body too large: more than 1000 bytes");
    assert_string_equal(b.msg, "response body too large: more than 1000 bytes");
    assert_int_equal(ok.error, 0);
    assert_int_equal(ok.body_len, 500);
    assert_int_equal(exact.error, 0);
    assert_int_equal(exact.body_len, 1000);
    assert_int_equal(exact_chunked.error, 0);
    assert_int_equal(exact_chunked.body_len, 1000);
    assert_int_equal(over.error, TYCHO_HTTP_E_TOO_LARGE);
    assert_int_equal(hdr_ok.error, 0);
    assert_int_equal(hdr_ok.status, 200);
    assert_int_equal(hdr_big.error, TYCHO_HTTP_E_TOO_LARGE);
    assert_string_equal(hdr_big.msg, "response headers too large: more than 65536 bytes");
    close_client(c);
}

/* truncate_response: a longer body is cut, not an error; the status stands */
static void test_truncate_response(void **state)
{
    (void)state;
    tycho_http_client_t *c = tycho_http_client_new(&loop, NULL);
    result_t big = {0}, chunked = {0}, exact = {0};
    const char *paths[] = {"/big?n=100000", "/big-chunked?n=100000", "/big?n=1000"};
    result_t *rs[] = {&big, &chunked, &exact};
    for (int i = 0; i < 3; i++) {
        tycho_http_request_t req = {
            .url = url(paths[i]), .max_response_bytes = 1000, .truncate_response = 1};
        outstanding++;
        assert_int_equal(tycho_http_request(c, &req, on_done, rs[i], NULL), 0);
    }
    run();
    for (int i = 0; i < 2; i++) {
        assert_int_equal(rs[i]->error, 0);
        assert_int_equal(rs[i]->status, 200);
        assert_int_equal(rs[i]->body_len, 1000);
        assert_true(rs[i]->body_truncated);
    }
    assert_int_equal(exact.error, 0);
    assert_int_equal(exact.body_len, 1000);
    assert_false(exact.body_truncated);
    close_client(c);
}

static void test_refused_and_reset(void **state)
{
    (void)state;
    /* a port nobody listens on: bind one, note it, close it */
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof a), 0);
    getsockname(s, (struct sockaddr *)&a, &len);
    close(s);
    char u[64];
    snprintf(u, sizeof u, "http://127.0.0.1:%d/", ntohs(a.sin_port));

    tycho_http_client_t *c = tycho_http_client_new(&loop, NULL);
    result_t refused = {0}, reset = {0}, closed = {0}, badurl = {0};
    get(c, u, &refused, 0, 0);
    get(c, url("/reset"), &reset, 0, 0);
    get(c, url("/close"), &closed, 0, 0);
    get(c, "ftp://127.0.0.1/", &badurl, 0, 0);
    run();
    assert_int_equal(refused.error, TYCHO_HTTP_E_CONNECT);
    assert_non_null(strstr(refused.msg, "connection refused"));
    assert_int_equal(reset.error, TYCHO_HTTP_E_CONNECTION);
    assert_int_equal(closed.error, TYCHO_HTTP_E_CONNECTION);
    assert_int_equal(badurl.error, TYCHO_HTTP_E_INVALID);
    print_message("refused: %s\nreset: %s\nclosed: %s\n", refused.msg, reset.msg, closed.msg);
    /* the client still works afterwards */
    result_t after = {0};
    get(c, url("/echo"), &after, 0, 0);
    run();
    assert_int_equal(after.status, 200);
    close_client(c);
}

static void test_cancel_and_close(void **state)
{
    (void)state;
    tycho_http_client_t *c = tycho_http_client_new(&loop, NULL);
    result_t cancelled = {0}, kept = {0};
    tycho_http_req_t *h = NULL;
    tycho_http_request_t req = {.url = url("/delay?ms=300")};
    assert_int_equal(tycho_http_request(c, &req, on_done, &cancelled, &h), 0);
    get(c, url("/delay?ms=400"), &kept, 0, 0);
    tycho_http_cancel(h);
    run();
    assert_int_equal(cancelled.done, 0);
    assert_int_equal(kept.done, 1);
    assert_int_equal(kept.status, 200);

    /* close with a request in flight: its callback runs with CANCELLED */
    result_t pending = {0};
    get(c, url("/delay?ms=2000"), &pending, 0, 0);
    uv_run(&loop, UV_RUN_NOWAIT);
    tycho_http_client_close(c);
    assert_int_equal(pending.done, 1);
    assert_int_equal(pending.error, TYCHO_HTTP_E_CANCELLED);
    uv_run(&loop, UV_RUN_DEFAULT);
}

static tycho_http_client_t *close_me;
static void close_in_callback(const tycho_http_response_t *res, void *ud)
{
    on_done(res, ud);
    tycho_http_client_close(close_me);
}

static void test_close_from_callback(void **state)
{
    (void)state;
    close_me = tycho_http_client_new(&loop, NULL);
    result_t first = {0}, second = {0};
    tycho_http_request_t req = {.url = url("/echo")};
    outstanding += 2;
    assert_int_equal(tycho_http_request(close_me, &req, close_in_callback, &first, NULL), 0);
    tycho_http_request_t slow = {.url = url("/delay?ms=1000")};
    assert_int_equal(tycho_http_request(close_me, &slow, on_done, &second, NULL), 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(first.status, 200);
    assert_int_equal(second.error, TYCHO_HTTP_E_CANCELLED);
    assert_int_equal(outstanding, 0);
}

typedef struct seen {
    long status;
    char body[16], real[16], proxy_agent[64], alpn[16];
} seen_t;

static void on_seen(const tycho_http_response_t *res, void *ud)
{
    seen_t *r = ud;
    const char *real = tycho_http_response_header(res, "x-real");
    const char *agent = tycho_http_response_header(res, "proxy-agent");
    const char *alpn = tycho_http_response_header(res, "x-alpn");
    r->status = res->error ? -res->error : res->status;
    snprintf(r->body, sizeof r->body, "%s", res->body ? res->body : "");
    snprintf(r->real, sizeof r->real, "%s", real ? real : "");
    snprintf(r->proxy_agent, sizeof r->proxy_agent, "%s", agent ? agent : "");
    snprintf(r->alpn, sizeof r->alpn, "%s", alpn ? alpn : "");
    if (--outstanding == 0) uv_stop(&loop);
}

/* One GET of https://localhost/<path> from tests/lib/tls_connect_proxy.py
 * (a TLS server offering ALPN h2 first): through it as a CONNECT proxy
 * (https_proxy), or straight to it when direct. */
static void get_from_tls_peer(int direct, seen_t *r)
{
    FILE *f = NULL;
    int port = 0;
    char cert[512] = "";
    pid_t pid = spawn_python("tests/lib/tls_connect_proxy.py", direct ? "--direct" : NULL, &f);
    assert_true(f && fscanf(f, "%d %511s", &port, cert) == 2);
    fclose(f);
    char proxy[64], target[64];
    snprintf(proxy, sizeof proxy, "http://127.0.0.1:%d", port);
    if (direct)
        snprintf(target, sizeof target, "https://localhost:%d/direct", port);
    else
        snprintf(target, sizeof target, "https://localhost/through");
    if (!direct) setenv("https_proxy", proxy, 1);
    unsetenv("no_proxy");
    unsetenv("NO_PROXY");
    tycho_http_client_options_t opts = {.ca_file = cert};
    tycho_http_client_t *c = tycho_http_client_new(&loop, &opts);
    tycho_http_request_t req = {.url = target};
    outstanding++;
    assert_int_equal(tycho_http_request(c, &req, on_seen, r, NULL), 0);
    run();
    unsetenv("https_proxy");
    close_client(c);
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
}

/* https through a proxy (https_proxy): curl hands the header callback the
 * proxy's answer to CONNECT before the response. Its fields are no part of
 * the response, and the response's status line that follows is no trailer:
 * the response's own fields must come through. */
static void test_https_through_connect_proxy(void **state)
{
    (void)state;
    seen_t r = {0};
    get_from_tls_peer(0, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "ok");
    assert_string_equal(r.real, "1");
    assert_string_equal(r.proxy_agent, "");
    assert_string_equal(r.alpn, "http/1.1");
}

/* The client speaks HTTP/1.1 only (response_fields reads HTTP/1.x): offered
 * h2 by a TLS peer (ALPN), it takes http/1.1 (curl with nghttp2 would take
 * h2 unless told). */
static void test_https_refuses_h2(void **state)
{
    (void)state;
    seen_t r = {0};
    get_from_tls_peer(1, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "ok");
    assert_string_equal(r.alpn, "http/1.1");
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_post_echo_headers),
        cmocka_unit_test(test_body_copied_or_kept),
        cmocka_unit_test(test_concurrent_and_reuse),
        cmocka_unit_test(test_default_pool_reuse),
        cmocka_unit_test(test_timeout),
        cmocka_unit_test(test_size_cap),
        cmocka_unit_test(test_truncate_response),
        cmocka_unit_test(test_refused_and_reset),
        cmocka_unit_test(test_cancel_and_close),
        cmocka_unit_test(test_close_from_callback),
        cmocka_unit_test(test_https_through_connect_proxy),
        cmocka_unit_test(test_https_refuses_h2),
    };
    return cmocka_run_group_tests(tests, start_server, stop_server);
}
