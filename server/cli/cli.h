/* cli: the subcommands of the deepclust executable and a small flag parser they share.
 *
 * main.c dispatches `deepclust <command> [args]` through CLI_COMMANDS below. A command
 * is a function `int cli_<name>(int argc, char **argv)` (argv[0] is the command name)
 * returning the process exit status; it prints its own usage on --help. To add one,
 * write cli_<name>() in server/cli/cli_<name>.c (server/cli_<name>.c when it needs
 * the service or HTTP layers) and add ONE line to CLI_COMMANDS:
 *
 *     X(train, "train a clustering model from a data file")
 *
 * Flags are parsed with cli_flag(), which accepts "--name value" and "--name=value":
 *
 *   for (int i = 1; i < argc; i++) {
 *       const char *v;
 *       int m;
 *       if ((m = cli_flag(argc, argv, &i, "port", &v))) { if (m < 0) return 2; port = v; }
 *       else ...
 *   }
 */
#ifndef DC_CLI_H
#define DC_CLI_H

/* X(name, one-line summary), in the order `deepclust help` lists them. */
#define CLI_COMMANDS(X)                                         \
    X(serve, "run the HTTP service (REST API, job workers)")   \
    X(worker, "run training workers only, against a shared store")   \
    X(train, "train a clustering model on data files (all methods)")  \
    X(study, "several seeds and k in one run: spread, chosen seed, suggested k") \
    X(predict, "soft cluster assignments of new samples from a saved model") \
    X(generate, "draw samples of one cluster from a vae model as a PNG grid") \
    X(version, "print the version and the schema it knows")

#define CLI_DECLARE_(name, summary) int cli_##name(int argc, char **argv);
CLI_COMMANDS(CLI_DECLARE_)
#undef CLI_DECLARE_

/* Hidden (not listed by `deepclust help`): `deepclust routes --json` prints the HTTP
 * route table, methods, patterns and query parameters (cli_routes.c; for the tests). */
int cli_routes(int argc, char **argv);

struct cli_cmd {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *summary;
};

/* Exit statuses: 0 ok, 1 runtime failure, 2 usage error. */
enum { CLI_OK = 0, CLI_FAIL = 1, CLI_USAGE = 2 };

/* If argv[*i] is "--name" (then the value is argv[*i + 1], and *i advances past it) or
 * "--name=value", sets *value and returns 1. Returns 0 when argv[*i] is another flag,
 * and -1 (after printing a message) when "--name" comes without a value. */
int cli_flag(int argc, char **argv, int *i, const char *name, const char **value);

/* True when argv[i] is "-h" or "--help". */
int cli_is_help(const char *arg);

/* Parses a whole decimal int in [lo, hi]; prints "deepclust: --flag: ..." and returns -1
 * when it is not one. */
int cli_int(const char *flag, const char *s, int lo, int hi, int *out);

/* Parses a number of seconds in [0.1, 86400] (e.g. "15", "2.5"); prints and returns -1
 * otherwise. */
int cli_seconds(const char *flag, const char *s, double *out);

#endif
