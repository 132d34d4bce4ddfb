# ports.sh — free loopback ports for tests. Source it from a test script:
#   . "$TYCHO_SRC/tests/lib/ports.sh"
#   port=$(tycho_free_port)            # a port nobody listens on right now
#   tycho_wait_port "$port" 10         # waits up to 10 s until 127.0.0.1:$port accepts
#   tycho_wait_ready "$admin" 15       # waits until tycho's admin /-/ready answers 200
# A free port can be taken by someone else before it is used; tests run with
# ctest -j2, so start the server right away and fail clearly if it did not bind.

# Prints a TCP port that is free on 127.0.0.1 (the kernel picks it).
tycho_free_port() {
    /usr/bin/python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

# tycho_wait_port PORT [TIMEOUT_SECONDS=10]: 0 once 127.0.0.1:PORT accepts a
# connection, 1 after the timeout.
tycho_wait_port() {
    local port=$1 timeout=${2:-10} i
    for ((i = 0; i < timeout * 20; i++)); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            return 0
        fi
        sleep 0.05
    done
    return 1
}

# tycho_wait_ready ADMIN_PORT [TIMEOUT_SECONDS=15]: 0 once tycho's admin
# listener answers /-/ready with 200 (every worker has loaded the routes and
# started its consumers and timers), 1 after the timeout. The public port
# accepts before that: tycho binds it first and the workers load afterwards.
tycho_wait_ready() {
    local port=$1 timeout=${2:-15} i
    for ((i = 0; i < timeout * 10; i++)); do
        curl -sf --max-time 2 -o /dev/null "http://127.0.0.1:$port/-/ready" && return 0
        sleep 0.1
    done
    return 1
}
