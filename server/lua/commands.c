#include "lua/commands.h"

#include <stdio.h>

/* Placeholder until the Lua runtime lands. */
int tycho_cmd_check(int argc, char **argv)
{
    (void)argc, (void)argv;
    fprintf(stderr, "tycho check: not available yet (Lua runtime not built)\n");
    return 2;
}

int tycho_cmd_spec(int argc, char **argv)
{
    (void)argc, (void)argv;
    fprintf(stderr, "tycho spec: not available yet (Lua runtime not built)\n");
    return 2;
}
