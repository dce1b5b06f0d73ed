/* deepclust: entry point; dispatches `deepclust <command> ...` through the command
 * table built from CLI_COMMANDS (cli.h). */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "dc_blas.h"
#include "store.h"

#define CLI_ROW_(name, summary) {#name, cli_##name, summary},
static const struct cli_cmd commands[] = {CLI_COMMANDS(CLI_ROW_)};
#undef CLI_ROW_
enum { N_COMMANDS = sizeof commands / sizeof commands[0] };

static void usage(FILE *f)
{
    fprintf(f, "usage: deepclust <command> [options]\n\ncommands:\n");
    for (int i = 0; i < N_COMMANDS; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "  %-10s %s\n", "help", "this list; `deepclust help <command>` for one");
    fprintf(f, "\n`deepclust <command> --help` describes a command's options.\n");
}

int cli_version(int argc, char **argv)
{
    if (argc > 1) {
        if (cli_is_help(argv[1])) {
            printf("usage: deepclust version\n\nPrints the version of deepclust and the "
                   "newest database schema it knows.\n");
            return CLI_OK;
        }
        fprintf(stderr, "deepclust version: unexpected argument '%s'\n", argv[1]);
        return CLI_USAGE;
    }
    printf("deepclust %s (schema %d)\n%s\ndenormals: %s\n", DC_VERSION, store_latest_version(),
           dc_blas_config(), dc_blas_flushes_denormals() ? "flushed to zero" : "kept");
    return CLI_OK;
}

int main(int argc, char **argv)
{
    const char *name = argc > 1 ? argv[1] : NULL;

    dc_blas_fix_coretype(argv); /* may re-execute with fast BLAS kernels */
    dc_blas_init_threads();  /* before any thread of ours: they all inherit it */
    if (!name) {
        usage(stderr);
        return CLI_USAGE;
    }
    if (strcmp(name, "help") == 0 || cli_is_help(name)) {
        if (argc > 2) { /* help <command> == <command> --help */
            for (int i = 0; i < N_COMMANDS; i++)
                if (strcmp(argv[2], commands[i].name) == 0) {
                    char *args[] = {argv[2], "--help", NULL};
                    return commands[i].fn(2, args);
                }
            fprintf(stderr, "deepclust: no command '%s'\n", argv[2]);
            return CLI_USAGE;
        }
        usage(stdout);
        return CLI_OK;
    }
    if (strcmp(name, "--version") == 0) name = "version";
    if (strcmp(name, "routes") == 0) return cli_routes(argc - 1, argv + 1); /* hidden */
    for (int i = 0; i < N_COMMANDS; i++)
        if (strcmp(name, commands[i].name) == 0) return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "deepclust: unknown command '%s'\n\n", name);
    usage(stderr);
    return CLI_USAGE;
}
