/* deepclust: entry point; dispatches subcommands. */
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "version") == 0) {
        printf("deepclust %s\n", DC_VERSION);
        return 0;
    }
    fprintf(stderr, "usage: deepclust <version>\n");
    return 2;
}
