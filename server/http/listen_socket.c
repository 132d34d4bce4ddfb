#include "http/listen_socket.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int set_reuseport(int fd, char *err, size_t errlen)
{
    int one = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) == 0) return 0;
    snprintf(err, errlen, "SO_REUSEPORT: %s", strerror(errno));
    return -1;
}

int tycho_listen_socket(const tycho_addr_t *addr, tycho_listen_share_t share, int *bound_port,
                        char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    socklen_t sslen;
    memset(&ss, 0, sizeof ss);
    struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, addr->host, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)addr->port);
        sslen = sizeof *a4;
    } else if (inet_pton(AF_INET6, addr->host, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)addr->port);
        sslen = sizeof *a6;
    } else {
        snprintf(err, errlen, "not a numeric address: %s", addr->host);
        return -1;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "socket: %s", strerror(errno));
        return -1;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (share == TYCHO_LISTEN_JOIN && set_reuseport(fd, err, errlen) != 0) {
        close(fd);
        return -1;
    }
    char shown[80];
    tycho_config_format_addr(addr->host, addr->port, shown, sizeof shown);
    if (bind(fd, (struct sockaddr *)&ss, sslen) != 0) {
        snprintf(err, errlen, "cannot bind %s: %s", shown, strerror(errno));
        close(fd);
        return -1;
    }
    /* Linux checks a bind against the SO_REUSEPORT of the sockets already
     * bound as they are then: set after this bind, it lets our JOIN sockets
     * share the port, while a process binding it first without the option
     * (another tycho) still finds it taken. */
    if (share == TYCHO_LISTEN_FIRST && set_reuseport(fd, err, errlen) != 0) {
        close(fd);
        return -1;
    }
    /* listen() now, so connections queue in every worker's socket from the start */
    if (listen(fd, 1024) != 0) {
        snprintf(err, errlen, "listen %s: %s", shown, strerror(errno));
        close(fd);
        return -1;
    }
    sslen = sizeof ss;
    getsockname(fd, (struct sockaddr *)&ss, &sslen);
    *bound_port = ntohs(ss.ss_family == AF_INET ? a4->sin_port : a6->sin6_port);
    return fd;
}
