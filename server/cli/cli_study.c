/* cli_study: `deepclust study`, a study in this process (docs/studies.md): for each seed,
 * one autoencoder pretraining (when the method has one) and every k's clustering stage
 * from it; then per k the mean and std over the seeds, the criteria without labels,
 * the stability, the seed chosen without labels, the consensus ACC, and the suggested
 * k (core/study.h, core/kselect.h). The table goes to stdout, then one JSON line.
 * --out-dir keeps every run's model and labels, per k the chosen seed's model, and the
 * JSON line as study.json. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "cli_util.h"
#include "cluster.h"
#include "cluster_driver.h"
#include "data.h"
#include "dc_time.h"
#include "kselect.h"
#include "study.h"

enum { MAX_FILES = 16, MAX_SEEDS = 20, MAX_KS = 30 };

typedef struct study_args {
    const char *data[MAX_FILES], *labels[MAX_FILES];
    const char *out_dir;   /* --out-dir or NULL */
    int nd, nl, quiet, threads;
    uint64_t seeds[MAX_SEEDS];
    int n_seeds;
    int ks[MAX_KS];
    int n_ks;
    data_opts dop;
    cli_spec_over over;
} study_args;

/* One (seed, k) run. */
typedef struct run_out {
    uint64_t seed;
    int k, pretrained;     /* pretrained: this run pretrained the autoencoder */
    double seconds, pretrain_s;
    study_run r;
    int32_t *labels;
} run_out;

typedef struct run_ctx {
    double pretrain_end;   /* elapsed_s of the last pretraining event */
    void *ae;              /* the autoencoder handed over at the end of pretraining */
    size_t ae_len;
    int quiet;
} run_ctx;

static void study_usage(FILE *f)
{
    fprintf(f,
            "usage: deepclust study --method M --data FILE [--labels FILE] --seeds 1,2,3\n"
            "                       --clusters A:B|K1,K2,... [training options of train]\n"
            "Runs the method for every seed and k: one autoencoder pretraining per seed (for\n"
            "methods with one: ae_kmeans dec idec dcec n2d vae-with-pretraining), every k's\n"
            "clustering stage from it. Prints per k the mean +- std over seeds of ACC/NMI/ARI\n"
            "(with labels) and of the criteria without labels (silhouette, Calinski-Harabasz,\n"
            "Davies-Bouldin on a sample of %d points of the embedding; n2d: BIC), the\n"
            "stability (mean ARI between seeds), the seed chosen without labels (highest mean\n"
            "ARI to the other seeds), the consensus labelling's ACC, and the suggested k.\n"
            "The last stdout line is one JSON object. --seeds: 1..%d distinct integers\n"
            "(default 0); --clusters: 1..%d values in 2..100. --quiet: no progress.\n"
            "The training options are train's (deepclust train --help), but --seed.\n"
            "--out-dir DIR (created if missing) keeps, as each run ends, its model\n"
            "(DIR/seedS-kK.model, for deepclust predict) and its labels on the data\n"
            "(DIR/seedS-kK.labels.npy, int32), each seed's pretrained autoencoder\n"
            "(DIR/seedS.ae, for train --load-ae), and at the end per k the chosen seed's\n"
            "model as DIR/kK-chosen.model (a hard link); last, the JSON line as\n"
            "DIR/study.json.\n",
            STUDY_SAMPLE, MAX_SEEDS, MAX_KS);
}

/* "1,2,3" into seeds; -1 (message printed) when not distinct integers >= 0. */
static int parse_seeds(const char *v, study_args *a)
{
    const char *p = v;
    while (*p) {
        char *end;
        errno = 0;
        unsigned long long x = strtoull(p, &end, 10);
        if (end == p || errno || *p == '-' || (*end && *end != ',') || a->n_seeds == MAX_SEEDS)
            return cli_usage_error("--seeds: expected 1..%d integers >= 0 separated by commas, "
                                   "got '%s'", MAX_SEEDS, v), -1;
        for (int i = 0; i < a->n_seeds; i++)
            if (a->seeds[i] == x) return cli_usage_error("--seeds: %llu twice", x), -1;
        a->seeds[a->n_seeds++] = x;
        p = *end ? end + 1 : end;
    }
    return a->n_seeds ? 0 : (cli_usage_error("--seeds: no seed in '%s'", v), -1);
}

static int cmp_int(const void *x, const void *y)
{
    return (*(const int *)x > *(const int *)y) - (*(const int *)x < *(const int *)y);
}

/* "5:15" or "3,5,8" into ks (increasing); -1 (message printed) otherwise. */
static int parse_ks(const char *v, study_args *a)
{
    int lo, hi;
    char tail;
    if (sscanf(v, "%d:%d%c", &lo, &hi, &tail) == 2) {
        if (lo < 2 || hi > 100 || hi < lo || hi - lo + 1 > MAX_KS)
            return cli_usage_error("--clusters %s: a range A:B with 2 <= A <= B <= 100, at "
                                   "most %d values", v, MAX_KS), -1;
        for (int k = lo; k <= hi; k++) a->ks[a->n_ks++] = k;
        return 0;
    }
    for (const char *p = v; *p;) {
        char *end;
        long k = strtol(p, &end, 10);
        if (end == p || (*end && *end != ',') || k < 2 || k > 100 || a->n_ks == MAX_KS)
            return cli_usage_error("--clusters: expected A:B or 1..%d values in 2..100 "
                                   "separated by commas, got '%s'", MAX_KS, v), -1;
        for (int i = 0; i < a->n_ks; i++)
            if (a->ks[i] == k) return cli_usage_error("--clusters: %ld twice", k), -1;
        a->ks[a->n_ks++] = (int)k;
        p = *end ? end + 1 : end;
    }
    qsort(a->ks, (size_t)a->n_ks, sizeof *a->ks, cmp_int);
    return a->n_ks ? 0 : (cli_usage_error("--clusters: no value in '%s'", v), -1);
}

static int study_parse(int argc, char **argv, study_args *a, int *done)
{
    const char *v;
    int m;
    *done = 1;
    for (int i = 1; i < argc; i++) {
        if (cli_is_help(argv[i])) {
            study_usage(stdout);
            return CLI_OK;
        } else if ((m = cli_files_flag(argc, argv, &i, a->data, &a->nd, a->labels, &a->nl,
                                       MAX_FILES))) {
            if (m < 0) return CLI_USAGE;
        } else if ((m = cli_flag(argc, argv, &i, "seeds", &v))) {
            if (m < 0 || parse_seeds(v, a) < 0) return CLI_USAGE;
        } else if ((m = cli_flag(argc, argv, &i, "clusters", &v))) {
            if (m < 0 || parse_ks(v, a) < 0) return CLI_USAGE;
        } else if ((m = cli_flag(argc, argv, &i, "out-dir", &v))) {
            if (m < 0) return CLI_USAGE;
            a->out_dir = v;
        } else if ((m = cli_flag(argc, argv, &i, "threads", &v))) {
            if (m < 0 || cli_int("threads", v, 1, 256, &a->threads) < 0) return CLI_USAGE;
        } else if ((m = cli_data_flag(argc, argv, &i, &a->dop)) != 0) {
            if (m < 0) return CLI_USAGE;
        } else if (strcmp(argv[i], "--seed") == 0 || strncmp(argv[i], "--seed=", 7) == 0) {
            return cli_usage_error("study: give the seeds with --seeds 1,2,3");
        } else if ((m = cli_spec_flag(argc, argv, &i, &a->over)) != 0) {
            if (m < 0) return CLI_USAGE;
        } else if (strcmp(argv[i], "--quiet") == 0) {
            a->quiet = 1;
        } else {
            return cli_usage_error("study: unknown argument '%s' (see deepclust study --help)",
                                   argv[i]);
        }
    }
    if (!a->over.val[COPT_METHOD] || !a->nd || !a->n_ks)
        return cli_usage_error("study needs --method, --data and --clusters (see --help)");
    if (a->nl && a->nl != a->nd)
        return cli_usage_error("give one --labels file per --data file (%d vs %d)", a->nl, a->nd);
    if (!a->n_seeds) a->seeds[0] = 0, a->n_seeds = 1;
    *done = 0;
    return CLI_OK;
}

/* The spec of (seed, k); CLI_OK or CLI_USAGE. */
static int spec_of(const study_args *a, uint64_t seed, int k, cluster_spec *s)
{
    int meth = cluster_method_parse(a->over.val[COPT_METHOD]);
    if (meth < 0)
        return cli_usage_error("unknown method '%s' (kmeans ae_kmeans dec idec dcec vae n2d)",
                               a->over.val[COPT_METHOD]);
    cluster_spec_default(s, meth, k);
    if (cli_spec_over_apply(&a->over, s) < 0) return CLI_USAGE;
    s->k = k;
    s->seed = seed;
    return CLI_OK;
}

static int on_progress(void *ctx, const cluster_event *ev, double p, double eta)
{
    run_ctx *c = ctx;
    (void)eta;
    if (ev->phase == CP_PRETRAIN) c->pretrain_end = ev->elapsed_s;
    if (!c->quiet && (ev->phase != CP_PRETRAIN || ev->iter == ev->total))
        fprintf(stderr, "  [%s] %d/%d loss %.6g | %.1fs, %3.0f%%\n",
                cluster_phase_name(ev->phase), ev->iter, ev->total, ev->loss, ev->elapsed_s,
                100 * p);
    return 0;
}

static int on_pretrained(void *ctx, const void *ae, size_t len)
{
    run_ctx *c = ctx;
    free(c->ae);
    c->ae_len = 0;
    if (!(c->ae = malloc(len))) return 0; /* the other k then pretrain themselves */
    memcpy(c->ae, ae, len);
    c->ae_len = len;
    return 0;
}

/* DIR/NAME (NAME from fmt) into p[4096]; -1 (e set) when it does not fit. */
static int out_path(char p[4096], dc_err *e, const char *dir, const char *fmt, ...)
{
    char name[256];
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    if (w >= 0 && (size_t)w < sizeof name) w = snprintf(p, 4096, "%s/%s", dir, name);
    else w = -1;
    return w < 0 || w >= 4096 ? dc_err_set(e, DC_EINVAL, "--out-dir: path too long") : 0;
}

/* --out-dir: the run's model and labels, written as soon as it ends. */
static int keep_run(const char *dir, const cluster_model *m, const run_out *o, int64_t n,
                    dc_err *e)
{
    char p[4096];
    unsigned long long s = o->seed;
    if (out_path(p, e, dir, "seed%llu-k%d.model", s, o->k) < 0 || cli_save_model(m, p, e) < 0 ||
        out_path(p, e, dir, "seed%llu-k%d.labels.npy", s, o->k) < 0 ||
        cli_write_npy_i32(p, o->labels, n, e) < 0)
        return -1;
    return 0;
}

/* --out-dir: DIR/seedS.ae, the seed's autoencoder as pretraining left it (before any k's
   clustering stage changed it), for deepclust train --load-ae. */
static int keep_ae(const char *dir, uint64_t seed, const run_ctx *c, dc_err *e)
{
    char p[4096];
    if (out_path(p, e, dir, "seed%llu.ae", (unsigned long long)seed) < 0) return -1;
    return cli_write_file(p, c->ae, c->ae_len, e);
}

/* --out-dir: DIR/kK-chosen.model, a hard link to the chosen seed's model. */
static int link_chosen(const char *dir, uint64_t seed, int k, dc_err *e)
{
    char from[4096], to[4096];
    if (out_path(from, e, dir, "seed%llu-k%d.model", (unsigned long long)seed, k) < 0 ||
        out_path(to, e, dir, "k%d-chosen.model", k) < 0)
        return -1;
    if ((unlink(to) < 0 && errno != ENOENT) || link(from, to) < 0)
        return dc_err_set(e, DC_EIO, "%s: %s", to, strerror(errno));
    return 0;
}

/* --out-dir: the folder, created if missing; -1 (e set) when it is not a writable folder. */
static int make_out_dir(const char *dir, dc_err *e)
{
    struct stat st;
    if (mkdir(dir, 0777) < 0 && errno != EEXIST)
        return dc_err_set(e, DC_EIO, "--out-dir %s: %s", dir, strerror(errno));
    if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
        return dc_err_set(e, DC_EINVAL, "--out-dir %s: not a folder", dir);
    if (access(dir, W_OK) < 0)
        return dc_err_set(e, DC_EIO, "--out-dir %s: %s", dir, strerror(errno));
    return 0;
}

/* One run: the fit (from ae when given), its scores, criteria and labels. */
static int run_one(const study_args *a, const dataset *ds, uint64_t seed, int k, run_ctx *c,
                   const void *ae, size_t ae_len, run_out *o, dc_err *e)
{
    cluster_spec s;
    cluster_model *m = NULL;
    study_criteria cr;
    int rc;
    if ((rc = spec_of(a, seed, k, &s)) != CLI_OK)
        return dc_err_set(e, DC_EINVAL, "bad training options");
    c->pretrain_end = 0;
    cluster_drive d = {.spec = &s, .ds = ds, .ae_buf = ae, .ae_len = ae_len,
                       .progress = on_progress, .ctx = c,
                       .pretrained = ae ? NULL : on_pretrained, .pretrained_ctx = c};
    memset(o, 0, sizeof *o);
    o->seed = seed, o->k = k;
    if ((rc = cluster_drive_run(&d, &m, e)) < 0) goto out;
    if ((rc = study_criteria_of(m, ds, &d.last, STUDY_SAMPLE, &cr, e)) < 0) goto out;
    o->pretrained = !ae && study_shares_ae(&s);
    o->seconds = d.last.elapsed_s;
    o->pretrain_s = o->pretrained ? c->pretrain_end : 0;
    o->r.seed = seed;
    o->r.stat[ST_ACC] = d.train.acc, o->r.stat[ST_NMI] = d.train.nmi;
    o->r.stat[ST_ARI] = d.train.ari;
    o->r.stat[ST_SIL] = cr.sil, o->r.stat[ST_CH] = cr.ch, o->r.stat[ST_DB] = cr.db;
    o->r.stat[ST_BIC] = cr.bic, o->r.stat[ST_LOGLIK] = cr.loglik;
    o->labels = d.labels; /* ours now */
    d.labels = NULL;
    o->r.labels = o->labels;
    if (a->out_dir) rc = keep_run(a->out_dir, m, o, ds->n, e);
    if (rc == 0 && a->out_dir && o->pretrained && c->ae) rc = keep_ae(a->out_dir, seed, c, e);
out:
    cluster_drive_free(&d);
    cluster_model_free(m);
    return rc;
}

static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') fprintf(f, "\\%c", *s);
        else if ((unsigned char)*s < 0x20) fprintf(f, "\\u%04x", *s);
        else fputc(*s, f);
    }
    fputc('"', f);
}

static void json_num(FILE *f, double v) { isfinite(v) ? fprintf(f, "%.9g", v) : fprintf(f, "null"); }

static void print_ms(double m, double s) { isfinite(m) ? printf(" %7.4f±%-6.4f", m, s) : printf(" %14s", "-"); }

static int count_pretrained(const run_out *runs, int nr)
{
    int pre = 0;
    for (int i = 0; i < nr; i++) pre += runs[i].pretrained;
    return pre;
}

/* The table, to stdout. */
static void report_table(const study_args *a, const dataset *ds, const run_out *runs, int nr,
                         const study_k *sum, const kselect_suggestion *sug, int suggested,
                         double seconds)
{
    printf("%3s %4s", "k", "runs");
    for (int s = ds->labels ? ST_ACC : ST_SIL; s <= ST_DB; s++)
        printf(" %14.14s", study_stat_name(s));
    printf(" %9s %6s %9s\n", "stability", "chosen", "cons.acc");
    for (int i = 0; i < a->n_ks; i++) {
        const study_k *k = &sum[i];
        printf("%3d %4d", k->k, k->n_runs);
        for (int s = ds->labels ? ST_ACC : ST_SIL; s <= ST_DB; s++) print_ms(k->mean[s], k->std[s]);
        isfinite(k->stability) ? printf(" %9.4f", k->stability) : printf(" %9s", "-");
        k->chosen >= 0 ? printf(" %6llu", (unsigned long long)a->seeds[k->chosen]) : printf(" %6s", "-");
        isfinite(k->consensus_acc) ? printf(" %9.4f\n", k->consensus_acc) : printf(" %9s\n", "-");
    }
    if (suggested) printf("suggested k = %d: %s\n", sug->k, sug->reason);
    printf("%d pretraining(s), %d runs, %.1fs\n", count_pretrained(runs, nr), nr, seconds);
}

/* The JSON object, on one line, to f. */
static void report_json(FILE *f, const study_args *a, const dataset *ds, const run_out *runs,
                        int nr, const study_k *sum, const kselect_suggestion *sug,
                        int suggested, double seconds)
{
    fprintf(f, "{\"method\":");
    json_str(f, a->over.val[COPT_METHOD]);
    fprintf(f, ",\"n\":%lld,\"d\":%d,\"pretrainings\":%d,\"seconds\":", (long long)ds->n, ds->d,
            count_pretrained(runs, nr));
    json_num(f, seconds);
    fprintf(f, ",\"runs\":[");
    for (int i = 0; i < nr; i++) {
        fprintf(f, "%s{\"seed\":%llu,\"k\":%d,\"pretrained\":%s,\"seconds\":", i ? "," : "",
                (unsigned long long)runs[i].seed, runs[i].k, runs[i].pretrained ? "true" : "false");
        json_num(f, runs[i].seconds);
        fprintf(f, ",\"pretrain_seconds\":");
        json_num(f, runs[i].pretrain_s);
        for (int s = 0; s < ST_COUNT; s++) {
            fprintf(f, ",\"%s\":", study_stat_name(s));
            json_num(f, runs[i].r.stat[s]);
        }
        fprintf(f, "}");
    }
    fprintf(f, "],\"per_k\":[");
    for (int i = 0; i < a->n_ks; i++) {
        const study_k *k = &sum[i];
        fprintf(f, "%s{\"k\":%d,\"runs\":%d", i ? "," : "", k->k, k->n_runs);
        for (int s = 0; s < ST_COUNT; s++) {
            fprintf(f, ",\"%s\":{\"mean\":", study_stat_name(s));
            json_num(f, k->mean[s]);
            fprintf(f, ",\"std\":");
            json_num(f, k->std[s]);
            fprintf(f, "}");
        }
        fprintf(f, ",\"stability\":");
        json_num(f, k->stability);
        if (k->chosen >= 0) fprintf(f, ",\"chosen_seed\":%llu", (unsigned long long)a->seeds[k->chosen]);
        else fprintf(f, ",\"chosen_seed\":null");
        fprintf(f, ",\"consensus_acc\":");
        json_num(f, k->consensus_acc);
        fprintf(f, "}");
    }
    fprintf(f, "],\"suggestion\":");
    if (suggested) {
        fprintf(f, "{\"k\":%d,\"reason\":", sug->k);
        json_str(f, sug->reason);
        fprintf(f, "}");
    } else {
        fprintf(f, "null");
    }
    fprintf(f, "}\n");
}

/* The JSON line, rendered once: to stdout, and with --out-dir to DIR/study.json
 * (cli_write_file: never left half written). */
static int emit_json(const study_args *a, const dataset *ds, const run_out *runs, int nr,
                     const study_k *sum, const kselect_suggestion *sug, int suggested,
                     double seconds, dc_err *e)
{
    char *buf = NULL, path[4096];
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return dc_err_set(e, DC_ENOMEM, "out of memory");
    report_json(f, a, ds, runs, nr, sum, sug, suggested, seconds);
    int rc = fclose(f) != 0 ? dc_err_set(e, DC_ENOMEM, "out of memory") : 0;
    if (rc == 0) {
        fwrite(buf, 1, len, stdout);
        fflush(stdout);
        if (a->out_dir && (rc = out_path(path, e, a->out_dir, "study.json")) == 0)
            rc = cli_write_file(path, buf, len, e);
    }
    free(buf);
    return rc;
}

int cli_study(int argc, char **argv)
{
    study_args a = {0};
    dataset ds = {0};
    run_out *runs = NULL;
    study_k *sum = NULL;
    run_ctx c = {0};
    dc_err e = {0};
    int done, nr = 0, rc;

    cli_spec_over_init(&a.over);
    if ((rc = study_parse(argc, argv, &a, &done)) != CLI_OK || done) return rc;
    cluster_spec s0;
    if ((rc = spec_of(&a, a.seeds[0], a.ks[0], &s0)) != CLI_OK) return rc;
    rc = CLI_FAIL;
    c.quiet = a.quiet;
    if (a.threads) cli_set_blas_threads(a.threads);
    if (a.out_dir && make_out_dir(a.out_dir, &e) < 0) goto fail;
    if (cli_load_data(&ds, a.data, a.labels, a.nd, a.nl, &a.dop, &e) < 0) goto fail;
    runs = calloc((size_t)a.n_seeds * a.n_ks, sizeof *runs);
    sum = calloc((size_t)a.n_ks, sizeof *sum);
    if (!runs || !sum) {
        dc_err_set(&e, DC_ENOMEM, "out of memory");
        goto fail;
    }
    double t0 = dc_now_s();
    int total = a.n_seeds * a.n_ks;
    study_eta_run eta[MAX_SEEDS * MAX_KS];
    for (int i = 0; i < a.n_seeds; i++) {
        free(c.ae);
        c.ae = NULL, c.ae_len = 0;
        for (int j = 0; j < a.n_ks; j++) {
            run_out *o = &runs[i * a.n_ks + j];
            if (!a.quiet)
                fprintf(stderr, "seed %llu, k %d%s\n", (unsigned long long)a.seeds[i], a.ks[j],
                        c.ae ? ": from the seed's autoencoder" : "");
            if (run_one(&a, &ds, a.seeds[i], a.ks[j], &c, c.ae, c.ae_len, o, &e) < 0) goto fail;
            nr++;
            if (!a.quiet)
                fprintf(stderr, "seed %llu, k %d: %.2fs (pretraining %.2fs), silhouette %.4f%s",
                        (unsigned long long)a.seeds[i], a.ks[j], o->seconds, o->pretrain_s,
                        o->r.stat[ST_SIL], ds.labels ? "" : "\n");
            if (!a.quiet && ds.labels) fprintf(stderr, ", acc %.4f\n", o->r.stat[ST_ACC]);
            /* ETA: the pretrainings still to come at the mean pretraining time, every run
               left at the mean clustering stage (shared: one pretraining per seed) */
            eta[nr - 1] = (study_eta_run){STUDY_RUN_DONE, o->seconds, o->pretrain_s, 0, 0};
            for (int r = nr; r < total; r++)
                eta[r] = (study_eta_run){.state = STUDY_RUN_QUEUED,
                                         .pretrains = !c.ae || r % a.n_ks == 0};
            double left_s = study_eta_s(eta, total, 1);
            if (!a.quiet)
                fprintf(stderr, "study: run %d/%d done, %.0fs elapsed, about %.0fs left\n", nr,
                        total, dc_now_s() - t0, left_s);
        }
    }
    for (int j = 0; j < a.n_ks; j++) {
        study_run r[MAX_SEEDS];
        for (int i = 0; i < a.n_seeds; i++) r[i] = runs[i * a.n_ks + j].r;
        if (study_summarize_k(a.ks[j], r, a.n_seeds, (size_t)ds.n, ds.labels, &sum[j], &e) < 0)
            goto fail;
        if (a.out_dir && sum[j].chosen >= 0 &&
            link_chosen(a.out_dir, a.seeds[sum[j].chosen], a.ks[j], &e) < 0)
            goto fail;
    }
    kselect_row rows[MAX_KS];
    kselect_suggestion sug;
    dc_err se = {0};
    for (int j = 0; j < a.n_ks; j++) rows[j] = sum[j].row;
    int suggested = kselect_suggest(rows, a.n_ks, &sug, &se) == 0;
    double seconds = dc_now_s() - t0;
    report_table(&a, &ds, runs, nr, sum, &sug, suggested, seconds);
    if (emit_json(&a, &ds, runs, nr, sum, &sug, suggested, seconds, &e) < 0) goto fail;
    rc = CLI_OK;
    goto out;
fail:
    fprintf(stderr, "deepclust: study: %s\n", e.msg);
out:
    for (int i = 0; runs && i < a.n_seeds * a.n_ks; i++) free(runs[i].labels);
    free(runs), free(sum), free(c.ae);
    dataset_free(&ds);
    return rc;
}
