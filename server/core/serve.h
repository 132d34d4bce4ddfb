/* serve — the `tycho serve` subcommand: loads the config, starts the workers,
 * the admin listener and signal handling, and runs until shut down. Main
 * thread only. Returns the process exit code. */
#ifndef TYCHO_SERVE_H
#define TYCHO_SERVE_H

/* The exit code when a worker did not stop within the drain timeout and a
 * short grace (stuck in code nothing can interrupt): the process logs which
 * and exits without it. */
#define TYCHO_EXIT_STUCK_WORKER 3

int tycho_cmd_serve(int argc, char **argv);

#endif
