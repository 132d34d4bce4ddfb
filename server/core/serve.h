/* serve — the `tycho serve` subcommand: loads the config, starts the workers,
 * the admin listener and signal handling, and runs until shut down. Main
 * thread only. Returns the process exit code. */
#ifndef TYCHO_SERVE_H
#define TYCHO_SERVE_H

int tycho_cmd_serve(int argc, char **argv);

#endif
