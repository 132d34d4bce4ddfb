/* bench_listen — the listening socket of the bench's small C servers
 * (ceiling, sink): non-blocking, on 127.0.0.1:port (0: any free port),
 * SO_REUSEADDR, backlog 1024. Returns the fd and puts the bound port in
 * *bound; on failure it says why on stderr, naming who, and exits 1. */
#ifndef BENCH_LISTEN_H
#define BENCH_LISTEN_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static int bench_listen(const char *who, int port, int *bound)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int one = 1;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    socklen_t len = sizeof sa;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(fd, 1024) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) != 0) {
        fprintf(stderr, "%s: listen on 127.0.0.1:%d: %s\n", who, port, strerror(errno));
        exit(1);
    }
    *bound = ntohs(sa.sin_port);
    return fd;
}

#endif
