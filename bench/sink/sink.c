/* An HTTP/1.1 sink for export bodies: the cheapest receiver this machine can
 * run, so that a benchmark charges the server for its own exporters and not
 * for the receiver's parsing (in production the receivers are elsewhere).
 *
 * One thread, edge-triggered epoll. Each request's head is read up to its
 * "\r\n\r\n", its Content-Length body is read and thrown away, and the answer
 * is a fixed "200, no body". Transfer-Encoding (chunked) is not supported: 501
 * and the connection closed; a head over 16 KiB: 431 and closed. SIGTERM or
 * SIGINT prints "requests N bytes M rejected R" (bodies only) and exits 0.
 *
 *   sink PORT      (127.0.0.1:PORT; 0: any free port; prints "PORT n" first)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../lib/listen.h"

enum { MAX_EVENTS = 64, READ_SIZE = 256 * 1024, HEAD_MAX = 16384, MAX_FD = 4096 };

static const char OK[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
static const char TOO_BIG[] = "HTTP/1.1 431 Request Header Fields Too Large\r\n"
                              "Content-Length: 0\r\nConnection: close\r\n\r\n";
static const char NO_TE[] = "HTTP/1.1 501 Not Implemented\r\n"
                            "Content-Length: 0\r\nConnection: close\r\n\r\n";

/* A connection: the head read so far, or how much body is still to come. */
typedef struct {
    char head[HEAD_MAX];
    size_t head_len;
    unsigned long long body_left;
    int in_body;
} conn_t;

typedef struct {
    conn_t *conns[MAX_FD];
    char buf[READ_SIZE];
    unsigned long long requests, bytes, rejected;
} sink_t;

/* The value of header name (lowercase, with its ':') in head[0..n), or NULL. */
static const char *header(const char *head, size_t n, const char *name)
{
    size_t nl = strlen(name);
    for (const char *p = memchr(head, '\n', n); p && (size_t)(p - head) + 1 + nl < n;
         p = memchr(p + 1, '\n', n - (size_t)(p + 1 - head)))
        if (strncasecmp(p + 1, name, nl) == 0) return p + 1 + nl;
    return NULL;
}

static int send_all(int fd, const char *p, size_t n)
{
    return send(fd, p, n, MSG_NOSIGNAL) == (ssize_t)n ? 0 : -1;
}

/* Takes what of p[0..n) belongs to the head; once the head is whole, sets up
 * its body. Returns the bytes used, or -1 after answering an error. */
static ssize_t take_head(sink_t *s, int fd, conn_t *c, const char *p, size_t n)
{
    size_t room = HEAD_MAX - c->head_len, k = n < room ? n : room;
    memcpy(c->head + c->head_len, p, k);
    size_t from = c->head_len >= 3 ? c->head_len - 3 : 0;
    c->head_len += k;
    char *end = memmem(c->head + from, c->head_len - from, "\r\n\r\n", 4);
    if (!end) {
        if (c->head_len < HEAD_MAX) return (ssize_t)k;
        s->rejected++;
        send_all(fd, TOO_BIG, sizeof TOO_BIG - 1);
        return -1;
    }
    size_t head_n = (size_t)(end + 4 - c->head), used = head_n - (c->head_len - k);
    if (header(c->head, head_n, "transfer-encoding:")) {
        s->rejected++;
        send_all(fd, NO_TE, sizeof NO_TE - 1);
        return -1;
    }
    const char *cl = header(c->head, head_n, "content-length:");
    c->body_left = cl ? strtoull(cl, NULL, 10) : 0;
    c->in_body = 1;
    c->head_len = 0;
    return (ssize_t)used;
}

/* Consumes p[0..n): heads, bodies, an answer after each body. 0, or -1 to close. */
static int consume(sink_t *s, int fd, conn_t *c, const char *p, size_t n)
{
    while (n > 0 || (c->in_body && c->body_left == 0)) {
        if (!c->in_body) {
            ssize_t used = take_head(s, fd, c, p, n);
            if (used < 0) return -1;
            p += used;
            n -= (size_t)used;
            continue;
        }
        size_t k = c->body_left < n ? (size_t)c->body_left : n;
        c->body_left -= k;
        s->bytes += k;
        p += k;
        n -= k;
        if (c->body_left == 0) {
            c->in_body = 0;
            s->requests++;
            if (send_all(fd, OK, sizeof OK - 1) != 0) return -1;
        }
    }
    return 0;
}

/* Reads until EAGAIN; 0 when the connection is to be closed. */
static int serve(sink_t *s, int fd)
{
    for (;;) {
        ssize_t n = recv(fd, s->buf, sizeof s->buf, 0);
        if (n == 0) return 0;
        if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK;
        if (consume(s, fd, s->conns[fd], s->buf, (size_t)n) != 0) return 0;
    }
}

static void accept_all(sink_t *s, int ep, int lfd)
{
    int c;
    while ((c = accept4(lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
        if (c >= MAX_FD || !(s->conns[c] = calloc(1, sizeof(conn_t)))) {
            close(c);
            continue;
        }
        struct epoll_event ev = {.events = EPOLLIN | EPOLLET | EPOLLRDHUP, .data.fd = c};
        epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev);
    }
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: sink PORT\n");
        return 2;
    }
    sink_t *s = calloc(1, sizeof *s);
    if (!s) return 1;
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    sigprocmask(SIG_BLOCK, &sigs, NULL);
    int sfd = signalfd(-1, &sigs, SFD_NONBLOCK);
    int port;
    int lfd = bench_listen("sink", atoi(argv[1]), &port);
    printf("PORT %d\n", port);
    fflush(stdout);
    int ep = epoll_create1(0);
    struct epoll_event lev = {.events = EPOLLIN, .data.fd = lfd};
    struct epoll_event sev = {.events = EPOLLIN, .data.fd = sfd};
    if (sfd < 0 || ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &lev) != 0 ||
        epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &sev) != 0) {
        fprintf(stderr, "sink: epoll/signalfd: %s\n", strerror(errno));
        return 1;
    }
    struct epoll_event events[MAX_EVENTS];
    for (;;) {
        int n = epoll_wait(ep, events, MAX_EVENTS, -1);
        for (int i = 0; i < n; i++) {
            int fd = events[i].data.fd;
            if (fd == sfd) {
                printf("requests %llu bytes %llu rejected %llu\n", s->requests, s->bytes,
                       s->rejected);
                return 0;
            }
            if (fd == lfd) {
                accept_all(s, ep, lfd);
            } else if (!serve(s, fd)) {
                free(s->conns[fd]);
                s->conns[fd] = NULL;
                close(fd);
            }
        }
    }
}
