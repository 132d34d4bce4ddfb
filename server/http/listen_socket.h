/* listen_socket — creates bound, listening-ready TCP sockets. The main thread
 * creates one per worker on the same address with SO_REUSEPORT (the kernel
 * spreads connections across workers) and hands each fd to its worker. */
#ifndef TYCHO_LISTEN_SOCKET_H
#define TYCHO_LISTEN_SOCKET_H

#include "core/config.h"

#include <stddef.h>

/* Binds a non-blocking socket to addr (port 0 = ephemeral). With reuseport,
 * further sockets may bind the same port. Returns the fd, or -1 with a
 * message in err. *bound_port receives the actual port. */
int tycho_listen_socket(const tycho_addr_t *addr, int reuseport, int *bound_port, char *err,
                        size_t errlen);

#endif
