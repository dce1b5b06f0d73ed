/* cli_serve: `deepclust serve`: opens (and migrates) the database, starts the clustering
 * service (svc.h: recovery of interrupted jobs, the worker pool) and the HTTP daemon,
 * and waits for SIGINT/SIGTERM. Then it stops accepting (the daemon stops after the
 * requests in flight), asks running jobs to stop and puts them back in the queue (their
 * checkpoints kept), closes the database and exits 0. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api.h"
#include "cli.h"
#include "cli_stop.h"
#include "http.h"
#include "store.h"
#include "svc.h"

static const char serve_usage[] =
    "usage: deepclust serve [options]\n"
    "\n"
    "Runs the deepclust HTTP service until SIGINT or SIGTERM.\n"
    "\n"
    "options (environment variable in brackets; flags win):\n"
    "  --db, --store TARGET  where the state lives [DEEPCLUST_STORE or DEEPCLUST_DB]:\n"
    "                     a SQLite file (PATH or sqlite:PATH, created and migrated if\n"
    "                     needed; default ./deepclust.db), or a PostgreSQL database\n"
    "                     (postgresql://user:pass@host:5432/db) shared by any number of\n"
    "                     serve and `deepclust worker` processes (docs/deploy.md)\n"
    "  --host ADDR        address to listen on [DEEPCLUST_HOST] (default 127.0.0.1)\n"
    "  --port N           TCP port, 0 = any free port (printed at start)\n"
    "                     [DEEPCLUST_PORT] (default 8080)\n"
    "  --workers N        training worker threads [DEEPCLUST_WORKERS] (default 1);\n"
    "                     0 = an API-only node (other processes train)\n"
    "  --lease-s S        seconds a worker's claim on a job lasts unrenewed: a job whose\n"
    "                     worker died is taken over after it [DEEPCLUST_LEASE_S] (15)\n"
    "  --spool-dir DIR    PostgreSQL only: where uploads are spooled before they are\n"
    "                     stored [DEEPCLUST_SPOOL_DIR] (default $TMPDIR or /tmp)\n"
    "  --blas-threads N   OpenBLAS threads (default: cores / workers)\n"
    "  --max-upload-mb N  largest dataset upload, MiB [DEEPCLUST_MAX_UPLOAD_MB]\n"
    "                     (default 1024; larger bodies get 413 before they are read)\n"
    "  --model-cache N    trained models kept loaded for predict (default 8)\n"
    "  --checkpoint-s S   seconds between training checkpoints (default 30)\n"
    "  --http-threads N   HTTP connection threads (default 4)\n"
    "  --token TOKEN      require 'Authorization: Bearer TOKEN' on every route but\n"
    "                     /healthz [DEEPCLUST_TOKEN] (prefer the variable: flags show\n"
    "                     in ps); an empty token is an error\n"
    "  --no-access-log    do not log one line per request on stderr\n"
    "\n"
    "limits (refused with a 4xx naming the limit; counted in /metrics as\n"
    "deepclust_limit_refusals_total{limit=...}):\n"
    "  --max-model-params N  parameters of one job's model; larger specs get 422\n"
    "                     [DEEPCLUST_MAX_MODEL_PARAMS] (default 50000000)\n"
    "  --max-train-mb N   estimated training memory of one job, MiB; larger jobs get\n"
    "                     422 [DEEPCLUST_MAX_TRAIN_MB] (default 80% of RAM)\n"
    "  --max-dataset-mb N stored size of one dataset (n x d float32 + labels), MiB;\n"
    "                     larger uploads get 413 [DEEPCLUST_MAX_DATASET_MB] (default 1024)\n"
    "  --max-queued-jobs N  jobs waiting for a worker; more get 429\n"
    "                     [DEEPCLUST_MAX_QUEUED_JOBS] (default 100)\n"
    "  --max-uploads N    uploads in progress at once; more get 429\n"
    "                     [DEEPCLUST_MAX_UPLOADS] (default 4)\n"
    "  --max-body-mb N    predict request bodies, MiB (at most 64; job specs stay at\n"
    "                     64 KiB); larger get 413 [DEEPCLUST_MAX_BODY_MB] (default 64)\n"
    "  --disk-reserve-mb N  space kept in <db>.reserve and given up so that deletes work\n"
    "                     on a full disk; 0 = none [DEEPCLUST_DISK_RESERVE_MB] (default 8)\n"
    "connections and Host (against slow or greedy clients, and DNS rebinding):\n"
    "  --header-timeout-s S  a request's line and headers must arrive within S seconds\n"
    "                     of its start, else 408 and close [DEEPCLUST_HEADER_TIMEOUT_S]\n"
    "                     (default 10)\n"
    "  --body-timeout-s S  its body within S seconds of the headers\n"
    "                     [DEEPCLUST_BODY_TIMEOUT_S] (default 600: a 1 GiB upload at\n"
    "                     1.8 MB/s; raise it for larger uploads on slow links)\n"
    "  --max-conns N      open connections in all; more wait in the listen queue\n"
    "                     [DEEPCLUST_MAX_CONNS] (default 1000)\n"
    "  --max-conns-per-ip N  open connections from one client address; more are\n"
    "                     closed at once\n"
    "                     [DEEPCLUST_MAX_CONNS_PER_IP] (default 64; behind a reverse\n"
    "                     proxy every client has the proxy's address)\n"
    "  --allow-host NAME  without a token, requests are answered only when their Host\n"
    "                     is localhost, *.localhost, 127.x.x.x or [::1] (else 403);\n"
    "                     this adds NAME (repeatable; '*' = any Host)\n"
    "                     [DEEPCLUST_ALLOW_HOSTS, comma-separated]\n"
    "  -h, --help         this help\n";


/* ---- operator limits: one row per flag (name, variable, range, where it goes) ---- */

typedef struct limit_opt {
    const char *flag;  /* without "--" */
    const char *env;
    long long lo, hi;
    const char *value; /* the text given (env, then flag), or NULL = default */
} limit_opt;

enum { LIM_PARAMS, LIM_TRAIN_MB, LIM_DATASET_MB, LIM_QUEUED, LIM_UPLOADS, LIM_BODY_MB,
       LIM_RESERVE_MB, LIM_COUNT };

static void limits_init(limit_opt *l)
{
    static const limit_opt rows[LIM_COUNT] = {
        {"max-model-params", "DEEPCLUST_MAX_MODEL_PARAMS", 1, 1LL << 40, NULL},
        {"max-train-mb", "DEEPCLUST_MAX_TRAIN_MB", 1, 1LL << 30, NULL},
        {"max-dataset-mb", "DEEPCLUST_MAX_DATASET_MB", 1, 1LL << 30, NULL},
        {"max-queued-jobs", "DEEPCLUST_MAX_QUEUED_JOBS", 1, 1000000, NULL},
        {"max-uploads", "DEEPCLUST_MAX_UPLOADS", 1, 1024, NULL},
        {"max-body-mb", "DEEPCLUST_MAX_BODY_MB", 1, 64, NULL},
        {"disk-reserve-mb", "DEEPCLUST_DISK_RESERVE_MB", 0, 1 << 20, NULL},
    };
    for (int i = 0; i < LIM_COUNT; i++) {
        l[i] = rows[i];
        l[i].value = cli_env_or(l[i].env, NULL);
    }
}

/* 1 when argv[*i] is a limit flag (value recorded), 0 not one, -1 usage error. */
static int limits_flag(limit_opt *l, int argc, char **argv, int *i)
{
    for (int k = 0; k < LIM_COUNT; k++) {
        const char *v = NULL;
        int m = cli_flag(argc, argv, i, l[k].flag, &v);
        if (m < 0) return -1;
        if (m) {
            l[k].value = v;
            return 1;
        }
    }
    return 0;
}

enum { MAX_ALLOW_HOSTS = 32 };

/* Splits a comma-separated DEEPCLUST_ALLOW_HOSTS into list (pointers into buf). */
static int split_hosts(char *buf, const char **list, int *n)
{
    for (char *save = NULL, *tok = strtok_r(buf, ", ", &save); tok;
         tok = strtok_r(NULL, ", ", &save)) {
        if (*n == MAX_ALLOW_HOSTS) return -1;
        list[(*n)++] = tok;
    }
    return 0;
}

/* cli_int for 64-bit values. */
static int cli_ll(const char *flag, const char *s, long long lo, long long hi, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) {
        fprintf(stderr, "deepclust: --%s: expected an integer in %lld..%lld, got '%s'\n", flag,
                lo, hi, s);
        return -1;
    }
    *out = v;
    return 0;
}

/* The values (defaults where none was given) into cfg and ctx; -1 on a bad value. */
static int limits_apply(const limit_opt *l, svc_config *cfg, api_ctx *ctx)
{
    long long v[LIM_COUNT];
    long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
    long long ram_mb = pages > 0 && psize > 0 ? (long long)pages * psize >> 20 : 4096;
    const long long dflt[LIM_COUNT] = {50000000, ram_mb * 8 / 10, 1024, 100, 4, 64, 8};
    for (int k = 0; k < LIM_COUNT; k++) {
        v[k] = dflt[k];
        if (l[k].value && cli_ll(l[k].flag, l[k].value, l[k].lo, l[k].hi, &v[k]) < 0) return -1;
    }
    cfg->max_model_params = v[LIM_PARAMS];
    cfg->max_train_bytes = v[LIM_TRAIN_MB] << 20;
    cfg->max_dataset_bytes = v[LIM_DATASET_MB] << 20;
    cfg->max_queued_jobs = (int)v[LIM_QUEUED];
    cfg->max_uploads = (int)v[LIM_UPLOADS];
    cfg->disk_reserve_bytes = v[LIM_RESERVE_MB] << 20;
    ctx->max_body = (size_t)v[LIM_BODY_MB] << 20;
    return 0;
}

int cli_serve(int argc, char **argv)
{
    const char *db = cli_env_or("DEEPCLUST_STORE", cli_env_or("DEEPCLUST_DB", "./deepclust.db"));
    const char *lease_s = cli_env_or("DEEPCLUST_LEASE_S", "15");
    const char *spool = cli_env_or("DEEPCLUST_SPOOL_DIR", NULL);
    char shown[1024];
    const char *host = cli_env_or("DEEPCLUST_HOST", "127.0.0.1");
    const char *port_s = cli_env_or("DEEPCLUST_PORT", "8080");
    const char *token = getenv("DEEPCLUST_TOKEN"); /* set but empty is an error */
    const char *workers_s = cli_env_or("DEEPCLUST_WORKERS", "1");
    const char *upload_s = cli_env_or("DEEPCLUST_MAX_UPLOAD_MB", "1024");
    int port = 0, workers = 1, http_threads = 4, access_log = 1, rc = CLI_FAIL;
    int blas_threads = 0, max_upload_mb = 1024, model_cache = 8, ckpt_s = 30;
    svc *service = NULL;
    http_server *http = NULL;
    store *st = NULL;
    api_ctx ctx = {0};
    svc_config sc = {0};
    limit_opt limits[LIM_COUNT];
    dc_err e = {0};
    /* connection limits, deadlines and the Host guard (http.h) */
    const char *hdr_to_s = cli_env_or("DEEPCLUST_HEADER_TIMEOUT_S", "10");
    const char *body_to_s = cli_env_or("DEEPCLUST_BODY_TIMEOUT_S", "600");
    const char *conns_s = cli_env_or("DEEPCLUST_MAX_CONNS", "1000");
    const char *per_ip_s = cli_env_or("DEEPCLUST_MAX_CONNS_PER_IP", "64");
    const char *allow[MAX_ALLOW_HOSTS];
    int n_allow = 0, hdr_to = 0, body_to = 0, max_conns = 0, per_ip = 0;
    char *allow_env = NULL;

    limits_init(limits);

    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        int m;
        if (cli_is_help(argv[i])) {
            fputs(serve_usage, stdout);
            return CLI_OK;
        } else if ((m = cli_flag(argc, argv, &i, "db", &v)) ||
                   (m = cli_flag(argc, argv, &i, "store", &v))) {
            if (m < 0) return CLI_USAGE;
            db = v;
        } else if ((m = cli_flag(argc, argv, &i, "lease-s", &v))) {
            if (m < 0) return CLI_USAGE;
            lease_s = v;
        } else if ((m = cli_flag(argc, argv, &i, "spool-dir", &v))) {
            if (m < 0) return CLI_USAGE;
            spool = v;
        } else if ((m = cli_flag(argc, argv, &i, "host", &v))) {
            if (m < 0) return CLI_USAGE;
            host = v;
        } else if ((m = cli_flag(argc, argv, &i, "port", &v))) {
            if (m < 0) return CLI_USAGE;
            port_s = v;
        } else if ((m = cli_flag(argc, argv, &i, "workers", &v))) {
            if (m < 0) return CLI_USAGE;
            workers_s = v;
        } else if ((m = cli_flag(argc, argv, &i, "blas-threads", &v))) {
            if (m < 0 || cli_int("blas-threads", v, 1, 256, &blas_threads) < 0) return CLI_USAGE;
        } else if ((m = cli_flag(argc, argv, &i, "max-upload-mb", &v))) {
            if (m < 0) return CLI_USAGE;
            upload_s = v;
        } else if ((m = cli_flag(argc, argv, &i, "model-cache", &v))) {
            if (m < 0 || cli_int("model-cache", v, 1, 4096, &model_cache) < 0) return CLI_USAGE;
        } else if ((m = cli_flag(argc, argv, &i, "checkpoint-s", &v))) {
            if (m < 0 || cli_int("checkpoint-s", v, 1, 86400, &ckpt_s) < 0) return CLI_USAGE;
        } else if ((m = cli_flag(argc, argv, &i, "http-threads", &v))) {
            if (m < 0 || cli_int("http-threads", v, 1, 256, &http_threads) < 0)
                return CLI_USAGE;
        } else if ((m = cli_flag(argc, argv, &i, "token", &v))) {
            if (m < 0) return CLI_USAGE;
            token = v;
        } else if ((m = limits_flag(limits, argc, argv, &i))) {
            if (m < 0) return CLI_USAGE;
        } else if ((m = cli_flag(argc, argv, &i, "header-timeout-s", &v))) {
            if (m < 0) return CLI_USAGE;
            hdr_to_s = v;
        } else if ((m = cli_flag(argc, argv, &i, "body-timeout-s", &v))) {
            if (m < 0) return CLI_USAGE;
            body_to_s = v;
        } else if ((m = cli_flag(argc, argv, &i, "max-conns", &v))) {
            if (m < 0) return CLI_USAGE;
            conns_s = v;
        } else if ((m = cli_flag(argc, argv, &i, "max-conns-per-ip", &v))) {
            if (m < 0) return CLI_USAGE;
            per_ip_s = v;
        } else if ((m = cli_flag(argc, argv, &i, "allow-host", &v))) {
            if (m < 0) return CLI_USAGE;
            if (!*v || n_allow == MAX_ALLOW_HOSTS) {
                fprintf(stderr, "deepclust serve: --allow-host: %s\n",
                        *v ? "more than 32 names" : "empty name");
                return CLI_USAGE;
            }
            allow[n_allow++] = v;
        } else if (strcmp(argv[i], "--no-access-log") == 0) {
            access_log = 0;
        } else {
            fprintf(stderr, "deepclust serve: unknown argument '%s'\n%s", argv[i], serve_usage);
            return CLI_USAGE;
        }
    }
    if (cli_int("port", port_s, 0, 65535, &port) < 0 ||
        cli_int("workers", workers_s, 0, 256, &workers) < 0 ||
        cli_int("max-upload-mb", upload_s, 1, 1 << 20, &max_upload_mb) < 0 ||
        limits_apply(limits, &sc, &ctx) < 0)
        return CLI_USAGE;
    if (!*db) {
        fprintf(stderr, "deepclust serve: --db is empty\n");
        return CLI_USAGE;
    }
    double lease = 0;
    if (cli_seconds("lease-s", lease_s, &lease) < 0) return CLI_USAGE;
    store_redact(db, shown, sizeof shown);
    if (cli_int("header-timeout-s", hdr_to_s, 1, 3600, &hdr_to) < 0 ||
        cli_int("body-timeout-s", body_to_s, 1, 86400, &body_to) < 0 ||
        cli_int("max-conns", conns_s, 1, 1000000, &max_conns) < 0 ||
        cli_int("max-conns-per-ip", per_ip_s, 1, 1000000, &per_ip) < 0)
        return CLI_USAGE;
    if (token && !*token) {
        fprintf(stderr, "deepclust serve: the token is empty (--token '' or DEEPCLUST_TOKEN=''): "
                        "give a non-empty token, or none at all to serve without one\n");
        return CLI_USAGE;
    }
    if (!n_allow && getenv("DEEPCLUST_ALLOW_HOSTS")) { /* flags win */
        if (!(allow_env = strdup(getenv("DEEPCLUST_ALLOW_HOSTS")))) return CLI_FAIL;
        if (split_hosts(allow_env, allow, &n_allow) < 0) {
            fprintf(stderr, "deepclust serve: DEEPCLUST_ALLOW_HOSTS: more than %d names\n",
                    MAX_ALLOW_HOSTS);
            free(allow_env);
            return CLI_USAGE;
        }
    }

    if (svc_store_open(&st, db, &e) < 0) {
        fprintf(stderr, "deepclust: %s\n", e.msg);
        goto out;
    }
    ctx.version = DC_VERSION;
    ctx.db_path = db;
    ctx.schema_version = store_schema_version(st);
    ctx.token = token;
    ctx.workers = workers;
    ctx.started = dc_now_s();
    ctx.metrics = api_metrics_new(api_route_count());
    ctx.max_upload = (size_t)max_upload_mb << 20;
    if (!ctx.metrics) {
        fprintf(stderr, "deepclust: out of memory\n");
        goto out;
    }
    sc.db_path = db, sc.workers = workers, sc.blas_threads = blas_threads;
    sc.lease_s = lease, sc.spool_dir = spool;
    sc.model_cache = model_cache, sc.ckpt_every_s = ckpt_s;
    if (svc_open(&service, &sc, &e) < 0) {
        fprintf(stderr, "deepclust: %s\n", e.msg);
        goto out;
    }
    ctx.server = service;

    /* Signals before the daemon, so that an early SIGTERM is not lost. */
    if (cli_stop_begin() < 0) goto out;

    http_config hc = {.host = host, .port = port, .threads = http_threads,
                      .access_log = access_log, .header_timeout_s = hdr_to,
                      .body_timeout_s = body_to, .max_conns = max_conns,
                      .max_conns_per_ip = per_ip, .allow_hosts = allow, .n_allow_hosts = n_allow};
    if (http_start(&http, &hc, &ctx, &e) < 0) {
        fprintf(stderr, "deepclust: %s\n", e.msg);
        goto out;
    }
    const char *h = http_host(http);
    int v6 = strchr(h, ':') != NULL;
    fprintf(stderr, "deepclust listening on http://%s%s%s:%d (db %s, schema %d, workers %d%s)\n",
            v6 ? "[" : "", h, v6 ? "]" : "", http_port(http), shown, ctx.schema_version, workers,
            ctx.token ? ", token required"
            : n_allow ? ", no token: loopback and --allow-host Host names only"
                      : ", no token: loopback Host names only");
    fflush(stderr);

    if (cli_stop_wait() < 0) goto out;
    rc = CLI_OK;
out:
    http_stop(http); /* stops accepting, waits for the requests in flight */
    if (service) fprintf(stderr, "deepclust: stopping workers (running jobs go back to the queue)\n");
    svc_free(service); /* running jobs stop and are requeued */
    store_close(st);
    api_metrics_free(ctx.metrics);
    free(allow_env);
    cli_stop_end();
    if (rc == CLI_OK) fprintf(stderr, "deepclust: stopped\n");
    return rc;
}
