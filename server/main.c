/* tycho — command-line entry point: dispatches to the subcommands. */
#include "core/health_cmd.h"
#include "core/serve.h"
#include "lua/commands.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

static int cmd_version(int argc, char **argv)
{
    if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        printf("usage: tycho version\n\nPrints tycho's version.\n");
        return 0;
    }
    if (argc > 1) {
        fprintf(stderr, "tycho version: unknown argument '%s' (it takes none)\n", argv[1]);
        return 2;
    }
    printf("tycho %s\n", TYCHO_VERSION);
    return 0;
}

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} commands[] = {
    {"serve", tycho_cmd_serve, "serve the routes over HTTP (the default deployment mode)"},
    {"check", tycho_cmd_check, "load every route file without serving; non-zero exit on any error"},
    {"spec", tycho_cmd_spec, "run busted specs inside the tycho runtime"},
    {"health", tycho_cmd_health,
     "exit 0 when a running tycho answers its health URL (container checks)"},
    {"version", cmd_version, "print the version"},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: tycho <command> [options]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\n`tycho <command> --help` describes each command's options.\n");
}

/* A process started with stdin, stdout or stderr closed would hand that
 * number to the next file it opens — a listening socket, say — and what it
 * writes to stderr would go there. /dev/null takes each closed one instead:
 * open returns the lowest free number, and the ones below are open. */
static void reserve_std_fds(void)
{
    for (int fd = 0; fd <= 2; fd++)
        if (fcntl(fd, F_GETFD) == -1 && errno == EBADF) (void)open("/dev/null", O_RDWR);
}

int main(int argc, char **argv)
{
    reserve_std_fds();
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0 || strcmp(name, "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(name, "--version") == 0) return cmd_version(0, NULL);
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        if (strcmp(name, commands[i].name) == 0) return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "tycho: unknown command '%s'\n\n", name);
    usage(stderr);
    return 2;
}
