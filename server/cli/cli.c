/* cli: flag parsing shared by the subcommands; see cli.h. */
#include "cli.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cli_flag(int argc, char **argv, int *i, const char *name, const char **value)
{
    const char *a = argv[*i];
    size_t n = strlen(name);

    if (strncmp(a, "--", 2) != 0 || strncmp(a + 2, name, n) != 0) return 0;
    if (a[2 + n] == '=') {
        *value = a + 3 + n;
        return 1;
    }
    if (a[2 + n] != 0) return 0;
    if (*i + 1 >= argc) {
        fprintf(stderr, "deepclust: --%s needs a value\n", name);
        return -1;
    }
    *value = argv[++*i];
    return 1;
}

int cli_is_help(const char *arg)
{
    return strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0;
}

int cli_int(const char *flag, const char *s, int lo, int hi, int *out)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) {
        fprintf(stderr, "deepclust: --%s: expected an integer in %d..%d, got '%s'\n", flag,
                lo, hi, s);
        return -1;
    }
    *out = (int)v;
    return 0;
}

int cli_seconds(const char *flag, const char *s, double *out)
{
    char *end;
    double v;
    errno = 0;
    v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= 0.1 && v <= 86400)) {
        fprintf(stderr, "deepclust: --%s: expected seconds in 0.1..86400, got '%s'\n", flag, s);
        return -1;
    }
    *out = v;
    return 0;
}
