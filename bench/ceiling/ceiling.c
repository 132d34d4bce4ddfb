/* The fastest answer this machine's loopback allows: a yardstick, not a server.
 *
 * One thread, edge-triggered epoll, recv/send. Every "\r\n\r\n" read answers a
 * fixed 200 with {"ok":true} (the bytes of the bench route's answer, Date
 * frozen at start-up); no parsing, no routing, no allocation after accept.
 * bench/ceiling.sh runs it beside tycho and OpenResty under the same wrk: what
 * it reaches is the most any HTTP server can serve in that setup, so a ratio
 * to OpenResty above the ceiling's own is out of reach there.
 *
 *   ceiling PORT     (listens on 127.0.0.1:PORT, runs until killed)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../lib/listen.h"

enum { MAX_EVENTS = 256, READ_SIZE = 16384, MAX_FD = 65536 };

/* Everything the one thread owns. */
typedef struct {
    char answer[256];
    size_t answer_len;
    char buf[READ_SIZE];
    unsigned tails[MAX_FD]; /* per fd: the "\r\n\r\n" scan state */
} yard_t;

static void build_answer(yard_t *y)
{
    char date[64];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    y->answer_len = (size_t)snprintf(y->answer, sizeof y->answer,
                                     "HTTP/1.1 200 OK\r\nServer: ceiling\r\nDate: %s\r\n"
                                     "Content-Type: application/json\r\nContent-Length: 11\r\n\r\n"
                                     "{\"ok\":true}",
                                     date);
}

/* Counts the request ends in what was read; a "\r\n\r\n" split across two reads
 * is caught by carrying the last three bytes' state in *tail. */
static int count_requests(const char *p, ssize_t n, unsigned *tail)
{
    int found = 0;
    unsigned state = *tail;
    for (ssize_t i = 0; i < n; i++) {
        if (p[i] == '\r')
            state = (state == 2) ? 3 : 1;
        else if (p[i] == '\n' && (state == 1 || state == 3)) {
            if (state == 3) {
                found++;
                state = 0;
            } else
                state = 2;
        } else
            state = 0;
    }
    *tail = state;
    return found;
}

/* Reads until EAGAIN and answers every complete request; 0 when the peer is gone. */
static int serve(yard_t *y, int fd)
{
    for (;;) {
        ssize_t n = recv(fd, y->buf, sizeof y->buf, 0);
        if (n == 0) return 0;
        if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK;
        for (int k = count_requests(y->buf, n, &y->tails[fd]); k > 0; k--)
            if (send(fd, y->answer, y->answer_len, MSG_NOSIGNAL) != (ssize_t)y->answer_len)
                return 0;
        if (n < (ssize_t)sizeof y->buf) return 1;
    }
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: ceiling PORT\n");
        return 2;
    }
    yard_t *y = calloc(1, sizeof *y);
    if (!y) return 1;
    build_answer(y);
    int port;
    int lfd = bench_listen("ceiling", atoi(argv[1]), &port);
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = (uint64_t)lfd << 32};
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
    struct epoll_event events[MAX_EVENTS];
    for (;;) {
        int n = epoll_wait(ep, events, MAX_EVENTS, -1);
        for (int i = 0; i < n; i++) {
            int fd = (int)(events[i].data.u64 >> 32);
            if (fd == lfd) {
                int c;
                while ((c = accept4(lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                    int one = 1;
                    if (c >= MAX_FD) {
                        close(c);
                        continue;
                    }
                    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    y->tails[c] = 0;
                    struct epoll_event cev = {.events = EPOLLIN | EPOLLET | EPOLLRDHUP,
                                              .data.u64 = (uint64_t)c << 32};
                    epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev);
                }
            } else if (!serve(y, fd)) {
                close(fd);
            }
        }
    }
}
