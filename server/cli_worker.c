/* cli_worker: `deepclust worker`: training only, no HTTP. Opens the store (migrating it
 * if needed), starts N worker threads that claim jobs from the shared queue (queue.h:
 * leases, takeover of jobs whose worker died, cancels from any API node), and waits for
 * SIGINT/SIGTERM; then the running jobs stop and go back to the queue with their
 * checkpoints, and it exits 0. Any number of these may run against one PostgreSQL
 * database, beside `deepclust serve --workers 0` API nodes (docs/deploy.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_stop.h"
#include "queue.h"
#include "store.h"
#include "svc.h"

static const char worker_usage[] =
    "usage: deepclust worker [options]\n"
    "\n"
    "Runs training workers against a store until SIGINT or SIGTERM (running jobs then go\n"
    "back to the queue and resume from their checkpoints). Serves no HTTP: run API\n"
    "nodes with `deepclust serve --workers 0` against the same store.\n"
    "\n"
    "options (environment variable in brackets; flags win):\n"
    "  --db, --store TARGET  the store [DEEPCLUST_STORE or DEEPCLUST_DB]: a\n"
    "                     postgresql://user:pass@host/db URL shared with the API nodes,\n"
    "                     or a SQLite file (then only this machine's processes)\n"
    "  --workers N        worker threads [DEEPCLUST_WORKERS] (default 1)\n"
    "  --blas-threads N   OpenBLAS threads (default: cores / workers)\n"
    "  --lease-s S        seconds a claim lasts unrenewed [DEEPCLUST_LEASE_S] (15);\n"
    "                     renewed every S/4 (at most 0.5 s)\n"
    "  --checkpoint-s S   seconds between training checkpoints (default 30)\n";

int cli_worker(int argc, char **argv)
{
    const char *db = cli_env_or("DEEPCLUST_STORE", cli_env_or("DEEPCLUST_DB", NULL));
    const char *workers_s = cli_env_or("DEEPCLUST_WORKERS", "1");
    const char *lease_s = cli_env_or("DEEPCLUST_LEASE_S", "15");
    int workers = 1, blas_threads = 0, ckpt_s = 30, rc = CLI_FAIL;
    double lease = 15;
    svc_config sc = {0};
    svc *service = NULL;
    char shown[1024], name[96];
    dc_err e = {0};

    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        int m;
        if (cli_is_help(argv[i])) {
            fputs(worker_usage, stdout);
            return CLI_OK;
        } else if ((m = cli_flag(argc, argv, &i, "db", &v)) ||
                   (m = cli_flag(argc, argv, &i, "store", &v))) {
            if (m < 0) return CLI_USAGE;
            db = v;
        } else if ((m = cli_flag(argc, argv, &i, "workers", &v))) {
            if (m < 0) return CLI_USAGE;
            workers_s = v;
        } else if ((m = cli_flag(argc, argv, &i, "blas-threads", &v))) {
            if (m < 0 || cli_int("blas-threads", v, 1, 256, &blas_threads) < 0) return CLI_USAGE;
        } else if ((m = cli_flag(argc, argv, &i, "lease-s", &v))) {
            if (m < 0) return CLI_USAGE;
            lease_s = v;
        } else if ((m = cli_flag(argc, argv, &i, "checkpoint-s", &v))) {
            if (m < 0 || cli_int("checkpoint-s", v, 1, 86400, &ckpt_s) < 0) return CLI_USAGE;
        } else {
            fprintf(stderr, "deepclust worker: unknown argument '%s'\n%s", argv[i], worker_usage);
            return CLI_USAGE;
        }
    }
    if (!db || !*db) {
        fprintf(stderr, "deepclust worker: no store: give --store postgresql://... (or set "
                        "DEEPCLUST_STORE)\n");
        return CLI_USAGE;
    }
    if (cli_int("workers", workers_s, 1, 256, &workers) < 0 ||
        cli_seconds("lease-s", lease_s, &lease) < 0)
        return CLI_USAGE;
    store_redact(db, shown, sizeof shown);

    if (cli_stop_begin() < 0) return CLI_FAIL;

    sc.db_path = db, sc.workers = workers, sc.blas_threads = blas_threads;
    sc.ckpt_every_s = ckpt_s, sc.lease_s = lease, sc.no_http = 1;
    if (svc_open(&service, &sc, &e) < 0) {
        fprintf(stderr, "deepclust: %s\n", e.msg);
        goto out;
    }
    queue_worker_name(name, sizeof name, 0);
    name[strcspn(name, "/")] = 0;
    fprintf(stderr, "deepclust worker ready: %s, store %s, workers %d, lease %.3g s\n", name,
            shown, workers, lease);
    fflush(stderr);
    if (cli_stop_wait() < 0) goto out;
    rc = CLI_OK;
out:
    if (service) fprintf(stderr, "deepclust: stopping workers (running jobs go back to the queue)\n");
    svc_free(service);
    cli_stop_end();
    if (rc == CLI_OK) fprintf(stderr, "deepclust: stopped\n");
    return rc;
}
