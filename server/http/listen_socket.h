/* listen_socket — creates bound, listening-ready TCP sockets. The main thread
 * creates one per worker on the same address with SO_REUSEPORT (the kernel
 * spreads connections across workers) and hands each fd to its worker. The
 * first of them claims the port alone, so a port another process holds (even
 * with SO_REUSEPORT, as a second tycho would) is "Address already in use"
 * rather than shared with it. Main thread. */
#ifndef TYCHO_LISTEN_SOCKET_H
#define TYCHO_LISTEN_SOCKET_H

#include "core/config.h"

#include <stddef.h>

typedef enum {
    TYCHO_LISTEN_ALONE, /* the port is this socket's only */
    /* binds as ALONE does (fails if any socket holds the port), then lets
     * JOIN sockets share it: SO_REUSEPORT set after the bind */
    TYCHO_LISTEN_FIRST,
    TYCHO_LISTEN_JOIN, /* shares the port of a FIRST socket (SO_REUSEPORT) */
} tycho_listen_share_t;

/* Binds a non-blocking socket to addr (port 0 = ephemeral) and listens.
 * Returns the fd, or -1 with a message in err. *bound_port receives the
 * actual port. */
int tycho_listen_socket(const tycho_addr_t *addr, tycho_listen_share_t share, int *bound_port,
                        char *err, size_t errlen);

#endif
