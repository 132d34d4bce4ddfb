# shellcheck shell=bash
# wait.sh — waiting for something to become true in test scripts, without
# assuming how long it takes (a loaded CI host can be slow). Source it:
#   . "$TYCHO_SRC/tests/lib/wait.sh"
#   wait_until 10 grep -q ready "$LOG"    # 0 as soon as the command succeeds

# wait_until SECONDS CMD...: runs CMD every 0.2 s until it succeeds (0), or
# SECONDS have passed (1). Only the last try's stderr is shown.
wait_until() {
    local i
    for ((i = 1; i < $1 * 5; i++)); do
        "${@:2}" 2>/dev/null && return 0
        sleep 0.2
    done
    "${@:2}"
}
