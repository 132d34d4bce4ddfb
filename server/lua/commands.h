/* commands — the `tycho check` and `tycho spec` subcommands (Lua runtime).
 * Called from main on the main thread; each returns the process exit code. */
#ifndef TYCHO_LUA_COMMANDS_H
#define TYCHO_LUA_COMMANDS_H

int tycho_cmd_check(int argc, char **argv);
int tycho_cmd_spec(int argc, char **argv);

#endif
