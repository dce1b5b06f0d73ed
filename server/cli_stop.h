/* cli_stop: how the long-running commands (serve, worker) wait for SIGINT/SIGTERM, and
 * read their environment defaults. A self-pipe: the handler writes the signal number,
 * the main thread reads it.
 *
 *   if (cli_stop_begin() < 0) ...;        // handlers in place (SIGPIPE ignored)
 *   ... start the service ...
 *   rc = cli_stop_wait();                 // 0 after "SIGTERM received, shutting down"
 *   ... stop the service ...
 *   cli_stop_end();                       // handlers restored, pipe closed */
#ifndef DC_CLI_STOP_H
#define DC_CLI_STOP_H

/* The environment variable name when set and not empty, else dflt. */
const char *cli_env_or(const char *name, const char *dflt);

/* 0, or -1 (printed) when the pipe cannot be made. */
int cli_stop_begin(void);
/* Blocks until SIGINT or SIGTERM: 0; -1 (printed) when waiting failed. */
int cli_stop_wait(void);
/* Idempotent; harmless without cli_stop_begin. */
void cli_stop_end(void);

#endif
