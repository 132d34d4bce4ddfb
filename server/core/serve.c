#include "core/serve.h"

#include <stdio.h>

int tycho_cmd_serve(int argc, char **argv)
{
    (void)argc, (void)argv;
    fprintf(stderr, "tycho serve: not built yet\n");
    return 2;
}
