/* health_cmd — `tycho health`: one HTTP GET against a running tycho, exit 0
 * on a 2xx answer and 1 otherwise. It is the container health check (the
 * image has no curl). Main thread; a blocking call is fine in a CLI. */
#ifndef TYCHO_HEALTH_CMD_H
#define TYCHO_HEALTH_CMD_H

int tycho_cmd_health(int argc, char **argv);

#endif
