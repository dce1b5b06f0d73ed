/* cli_train: `deepclust train` and `deepclust predict`, the methods of core/cluster.h
 * from the command line. Progress goes to stderr; with --json the last line of stdout
 * is one JSON object with the run's figures. */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cli_ckpt.h"
#include "cli_util.h"
#include "cluster.h"
#include "cluster_driver.h"
#include "data.h"
#include "dc_time.h"
#include "metrics.h"

enum { MAX_FILES = 16, MAX_EPOCHS_KEPT = 100000 };

/* What `deepclust train` was asked to do. */
typedef struct train_args {
    const char *data[MAX_FILES], *labels[MAX_FILES], *method, *save, *save_ae, *load_ae, *ckpt;
    int nd, nl, json, threads, ckpt_s, quiet;
    data_opts dop;
    cli_spec_over over;
} train_args;

typedef struct train_state {
    double offset; /* seconds of training before this process (resumed runs) */
    double last_pretrain_elapsed;
    double *epoch_s;
    int n_epochs;
    double pretrain_end, kmeans_end;
    cluster_event last; /* last event with metrics */
    int have_last, quiet;
    /* --checkpoint */
    const char *ckpt_path;
    cli_ckpt_hdr hdr;     /* as loaded (resumes, seconds) */
    double t0;            /* clock at the start of the run */
    dc_err ckpt_err;
    int ckpt_failed;
} train_state;

static atomic_int stop_flag;
static void on_signal(int sig)
{
    (void)sig;
    atomic_store(&stop_flag, 1);
}

/* cluster_ckpt_store.save: the state with the run's times, atomically over the file */
static int on_ckpt(void *ctx, const void *state, size_t len)
{
    train_state *st = ctx;
    cli_ckpt_hdr h = {.resumes = st->hdr.resumes,
                      .seconds = st->offset + (dc_now_s() - st->t0),
                      .pretrain_end_s = st->pretrain_end,
                      .kmeans_end_s = st->kmeans_end};
    if (cli_ckpt_write(st->ckpt_path, &h, state, len, &st->ckpt_err) < 0) {
        st->ckpt_failed = 1;
        return 1;
    }
    return 0;
}

/* cluster_ckpt_store.load: the file's state and the times of the processes before. */
static int on_ckpt_load(void *ctx, void **buf, size_t *len, dc_err *e)
{
    train_state *st = ctx;
    int r = cli_ckpt_read(st->ckpt_path, &st->hdr, buf, len, e);
    if (r == 1) {
        st->offset = st->last_pretrain_elapsed = st->hdr.seconds;
        st->pretrain_end = st->hdr.pretrain_end_s;
        st->kmeans_end = st->hdr.kmeans_end_s;
        st->hdr.resumes++;
        if (!st->quiet)
            fprintf(stderr, "resuming from %s (%.1fs of training so far, resume %u)\n",
                    st->ckpt_path, st->hdr.seconds, st->hdr.resumes);
    }
    st->t0 = dc_now_s();
    return r;
}

static void fmt_eta(char *buf, size_t n, double s)
{
    if (!isfinite(s) || s < 0) snprintf(buf, n, "?");
    else if (s < 120) snprintf(buf, n, "%.0fs", s);
    else if (s < 7200) snprintf(buf, n, "%.1fm", s / 60);
    else snprintf(buf, n, "%.1fh", s / 3600);
}

/* One progress line (p and eta from the run driver); times since the run's first start. */
static int on_event(void *ctx, const cluster_event *ev0, double p, double eta_s)
{
    train_state *st = ctx;
    cluster_event e1 = *ev0, *ev = &e1;
    e1.elapsed_s += st->offset;
    if (ev->phase == CP_PRETRAIN) {
        if (st->n_epochs < MAX_EPOCHS_KEPT)
            st->epoch_s[st->n_epochs++] = ev->elapsed_s - st->last_pretrain_elapsed;
        st->last_pretrain_elapsed = ev->elapsed_s;
        st->pretrain_end = ev->elapsed_s;
    } else if (ev->phase == CP_KMEANS) {
        st->kmeans_end = ev->elapsed_s;
    }
    if (!isnan(ev->acc) || !st->have_last || ev->phase != CP_PRETRAIN) {
        st->last = *ev;
        st->have_last = 1;
    }
    if (st->quiet) return 0;
    char eta[32], line[512];
    fmt_eta(eta, sizeof eta, eta_s);
    int o = snprintf(line, sizeof line, "[%s] %d/%d loss %.6g", cluster_phase_name(ev->phase),
                     ev->iter, ev->total, ev->loss);
    if (!isnan(ev->label_change))
        o += snprintf(line + o, sizeof line - o, " changed %.4f", ev->label_change);
    if (!isnan(ev->acc))
        o += snprintf(line + o, sizeof line - o, " acc %.4f nmi %.4f ari %.4f", ev->acc, ev->nmi,
                      ev->ari);
    snprintf(line + o, sizeof line - o, " | %.1fs, %3.0f%%, eta %s", ev->elapsed_s, 100 * p, eta);
    fprintf(stderr, "%s\n", line);
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void json_num(FILE *f, const char *key, double v, int comma)
{
    if (isfinite(v)) fprintf(f, "\"%s\":%.6g%s", key, v, comma ? "," : "");
    else fprintf(f, "\"%s\":null%s", key, comma ? "," : "");
}

static void train_usage(FILE *f)
{
    fprintf(f,
            "usage: deepclust train --method M --data FILE [--data FILE ...] --clusters K\n"
            "                       [--labels FILE ...] [options]\n"
            "Methods: kmeans ae_kmeans dec idec dcec vae n2d. Repeated --data/--labels files are\n"
            "concatenated in order (MNIST train + test = 70,000 samples). Labels are only used\n"
            "to report ACC/NMI/ARI.\n\n"
            "Options of the method (default in parentheses; a method's own after it):\n");
    cli_spec_help(f);
    fprintf(f,
            "\nData and run:\n"
            "  --scale auto|none|255  input scaling (auto: uint8 data / 255)\n"
            "  --csv-label-col I      CSV column holding labels (negative: from the end)\n"
            "  --save-model F         write the trained model\n"
            "  --save-ae F, --load-ae F   save / reuse a pretrained autoencoder\n"
            "  --threads N            OpenBLAS threads (default: OPENBLAS_NUM_THREADS or all)\n"
            "  --checkpoint F         keep the run's state in F (every --checkpoint-s seconds,\n"
            "                         60, and at phase ends); SIGINT/SIGTERM save it and stop;\n"
            "                         the same command again continues from F; F is removed\n"
            "                         when the run completes\n"
            "  --json                 last stdout line: one JSON object of results\n"
            "  --quiet                no progress lines\n");
}

/* The flags into a; CLI_OK, or the exit status to return now (--help, a usage error). */
static int train_parse(int argc, char **argv, train_args *a, int *done)
{
    const char *v;
    int m;
    *done = 1;
    for (int i = 1; i < argc; i++) {
        if (cli_is_help(argv[i])) {
            train_usage(stdout);
            return CLI_OK;
        } else if (strcmp(argv[i], "--options-json") == 0) { /* hidden: for the tests */
            cli_spec_dump_json(stdout);
            return CLI_OK;
        } else if ((m = cli_files_flag(argc, argv, &i, a->data, &a->nd, a->labels, &a->nl,
                                       MAX_FILES))) {
            if (m < 0) return CLI_USAGE;
        } else if ((m = cli_flag(argc, argv, &i, "save-model", &v))) {
            if (m < 0) return CLI_USAGE;
            a->save = v;
        } else if ((m = cli_flag(argc, argv, &i, "save-ae", &v))) {
            if (m < 0) return CLI_USAGE;
            a->save_ae = v;
        } else if ((m = cli_flag(argc, argv, &i, "load-ae", &v))) {
            if (m < 0) return CLI_USAGE;
            a->load_ae = v;
        } else if ((m = cli_flag(argc, argv, &i, "checkpoint", &v))) {
            if (m < 0) return CLI_USAGE;
            a->ckpt = v;
        } else if ((m = cli_flag(argc, argv, &i, "checkpoint-s", &v))) {
            if (m < 0 || cli_int("checkpoint-s", v, 1, 86400, &a->ckpt_s) < 0) return CLI_USAGE;
        } else if ((m = cli_flag(argc, argv, &i, "threads", &v))) {
            if (m < 0 || cli_int("threads", v, 1, 256, &a->threads) < 0) return CLI_USAGE;
        } else if ((m = cli_data_flag(argc, argv, &i, &a->dop)) != 0) {
            if (m < 0) return CLI_USAGE;
        } else if ((m = cli_spec_flag(argc, argv, &i, &a->over)) != 0) {
            if (m < 0) return CLI_USAGE;
        } else if (strcmp(argv[i], "--json") == 0) {
            a->json = 1;
        } else if (strcmp(argv[i], "--quiet") == 0) {
            a->quiet = 1;
        } else {
            return cli_usage_error("train: unknown argument '%s' (see deepclust train --help)",
                                   argv[i]);
        }
    }
    *done = 0;
    return CLI_OK;
}

/* The spec the flags ask for, and what they may not ask together; CLI_OK or CLI_USAGE. */
static int train_spec(train_args *a, cluster_spec *s)
{
    a->method = a->over.val[COPT_METHOD];
    if (!a->method || !a->nd || !a->over.val[COPT_K])
        return cli_usage_error("train needs --method, --data and --clusters (see --help)");
    if (cli_spec_over_one(&a->over, COPT_K, s) < 0) return CLI_USAGE;
    int meth = cluster_method_parse(a->method), k = s->k;
    if (meth < 0)
        return cli_usage_error("unknown method '%s' (kmeans ae_kmeans dec idec dcec vae n2d)",
                               a->method);
    if (a->nl && a->nl != a->nd)
        return cli_usage_error("give one --labels file per --data file (%d vs %d)", a->nl, a->nd);
    if (a->save_ae && (meth == CM_KMEANS || meth == CM_VAE))
        return cli_usage_error("--save-ae: a %s model keeps no autoencoder (save one with "
                               "--method ae_kmeans --save-ae, then --load-ae it)", a->method);
    if (a->load_ae && meth == CM_KMEANS)
        return cli_usage_error("--load-ae: kmeans uses no autoencoder");
    cluster_spec_default(s, meth, k);
    if (cli_spec_over_apply(&a->over, s) < 0) return CLI_USAGE;
    if ((a->save_ae || a->load_ae) && s->method == CM_N2D && s->n_hidden == 0)
        return cli_usage_error("--%s: n2d with --hidden none uses no autoencoder",
                               a->save_ae ? "save-ae" : "load-ae");
    return CLI_OK;
}

/* Why the run stopped, for a person. */
static void train_fail_message(const train_args *a, const train_state *st, int resumed,
                               const dc_err *e)
{
    if (st->ckpt_failed)
        fprintf(stderr, "deepclust: train: cannot write the checkpoint: %s\n", st->ckpt_err.msg);
    else if (a->ckpt && atomic_load(&stop_flag) && e->code == DC_ECANCEL && access(a->ckpt, F_OK) == 0)
        fprintf(stderr, "deepclust: train: stopped (%s); run the same command to continue "
                        "from its last checkpoint in %s\n", e->msg, a->ckpt);
    else if (a->ckpt && atomic_load(&stop_flag) && e->code == DC_ECANCEL)
        fprintf(stderr, "deepclust: train: stopped (%s) before the first checkpoint; "
                        "nothing was saved\n", e->msg);
    else if (resumed && e->code == DC_EINVAL)
        fprintf(stderr, "deepclust: train: %s does not fit this run: %s (delete it to "
                        "start over)\n", a->ckpt, e->msg);
    else
        fprintf(stderr, "deepclust: train: %s\n", e->msg);
}

/* --save-model and --save-ae. */
static int train_save(const train_args *a, const cluster_model *model, dc_err *e)
{
    if (a->save && cli_save_model(model, a->save, e) < 0) return -1;
    if (!a->save_ae) return 0;
    void *b = NULL;
    size_t bl = 0;
    int rc = cluster_model_save_ae(model, &b, &bl, e);
    if (rc == 0) rc = cli_write_file(a->save_ae, b, bl, e);
    free(b);
    return rc;
}

/* The done line on stderr and, with --json, the results as the last line of stdout. */
static void train_report(const train_args *a, const cluster_spec *s, train_state *st,
                         const dataset *ds, const cluster_model *model, metrics_scores sc)
{
    double seconds = st->last.elapsed_s, med = NAN;
    if (st->n_epochs) {
        qsort(st->epoch_s, (size_t)st->n_epochs, sizeof(double), cmp_double);
        med = st->epoch_s[st->n_epochs / 2];
    }
    if (!a->quiet) {
        fprintf(stderr, "done: %s k=%d n=%lld in %.1fs", a->method, s->k, (long long)ds->n, seconds);
        if (ds->labels) fprintf(stderr, ": acc %.4f nmi %.4f ari %.4f", sc.acc, sc.nmi, sc.ari);
        fprintf(stderr, "\n");
    }
    if (!a->json) return;
    printf("{\"method\":\"%s\",\"n\":%lld,\"d\":%d,\"k\":%d,\"seed\":%llu,", a->method,
           (long long)ds->n, ds->d, s->k, (unsigned long long)s->seed);
    json_num(stdout, "acc", sc.acc, 1);
    json_num(stdout, "nmi", sc.nmi, 1);
    json_num(stdout, "ari", sc.ari, 1);
    json_num(stdout, "seconds", seconds, 1);
    const cluster_spec *rs = cluster_model_spec(model); /* the recipe as resolved */
    int own_ae = s->method != CM_KMEANS && !a->load_ae && !(s->method == CM_N2D && !s->n_hidden);
    json_num(stdout, "pretrain_seconds", own_ae ? st->pretrain_end : 0, 1);
    /* epochs of the whole run (also those before a resume); the median is over the
       epochs this process timed (none when it resumed after pretraining) */
    json_num(stdout, "pretrain_epochs", own_ae ? rs->pretrain_epochs : 0, 1);
    json_num(stdout, "epoch_seconds", med, 1);
    json_num(stdout, "epochs_timed", st->n_epochs, 1);
    json_num(stdout, "cluster_seconds", seconds - st->kmeans_end, 1);
    json_num(stdout, "last_label_change", st->last.label_change, 1);
    printf("\"resumes\":%u,", st->hdr.resumes);
    const char *init = rs->pretrain_init == INIT_VARSCALE ? "varscale" : "glorot";
    char noise[48] = "";
    if (rs->pretrain_noise > 0) snprintf(noise, sizeof noise, " noise %g", rs->pretrain_noise);
    if (!own_ae)
        printf("\"pretrain_recipe\":null}\n");
    else if (rs->pretrain_opt == OPT_SGD)
        printf("\"pretrain_recipe\":\"sgd lr %g momentum %g init %s%s\"}\n", rs->pretrain_lr,
               rs->pretrain_momentum, init, noise);
    else
        printf("\"pretrain_recipe\":\"adam lr %g init %s%s\"}\n", rs->pretrain_lr, init, noise);
    fflush(stdout);
}

/* --checkpoint F: the file as the run's checkpoint store; SIGINT/SIGTERM stop the run. */
static void train_ckpt_setup(const train_args *a, train_state *st, cluster_ckpt_store *store,
                             cluster_drive *d)
{
    st->ckpt_path = a->ckpt;
    *store = (cluster_ckpt_store){.ctx = st, .load = on_ckpt_load, .save = on_ckpt};
    d->store = store;
    d->ckpt_every_s = a->ckpt_s;
    d->stop = &stop_flag;
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

int cli_train(int argc, char **argv)
{
    train_args a = {.ckpt_s = 60};
    train_state st = {0};
    cluster_spec s;
    cluster_ckpt_store store;
    dataset ds = {0};
    cluster_model *model = NULL;
    void *ae_buf = NULL;
    size_t ae_len = 0;
    dc_err e = {0};
    int done, rc = CLI_FAIL;

    cluster_spec_default(&s, CM_KMEANS, 1);
    cli_spec_over_init(&a.over);
    if ((rc = train_parse(argc, argv, &a, &done)) != CLI_OK || done) return rc;
    if ((rc = train_spec(&a, &s)) != CLI_OK) return rc;
    rc = CLI_FAIL;
    st.quiet = a.quiet;
    if (a.threads) cli_set_blas_threads(a.threads);
    if (cli_load_data(&ds, a.data, a.labels, a.nd, a.nl, &a.dop, &e) < 0) {
        fprintf(stderr, "deepclust: %s\n", e.msg);
        goto out;
    }
    if (!a.quiet)
        fprintf(stderr, "data: %lld samples x %d features%s\n", (long long)ds.n, ds.d,
                ds.labels ? ", with labels" : "");
    if (a.load_ae && data_read_file(a.load_ae, &ae_buf, &ae_len, &e) < 0) {
        fprintf(stderr, "deepclust: %s\n", e.msg);
        goto out;
    }
    if (!(st.epoch_s = malloc(sizeof(double) * MAX_EPOCHS_KEPT))) goto out;
    cluster_drive d = {.spec = &s, .ds = &ds, .ae_buf = ae_buf, .ae_len = ae_len,
                       .progress = on_event, .ctx = &st};
    if (a.ckpt) train_ckpt_setup(&a, &st, &store, &d);
    st.t0 = dc_now_s();
    if (cluster_drive_run(&d, &model, &e) < 0) {
        train_fail_message(&a, &st, d.resumed, &e);
        cluster_drive_free(&d);
        goto out;
    }
    metrics_scores sc = d.train;
    cluster_drive_free(&d);
    if (train_save(&a, model, &e) < 0) {
        fprintf(stderr, "deepclust: %s\n", e.msg);
        goto out;
    }
    train_report(&a, &s, &st, &ds, model, sc);
    if (a.ckpt && remove(a.ckpt) != 0 && errno != ENOENT && !a.quiet)
        fprintf(stderr, "deepclust: note: could not remove the checkpoint %s\n", a.ckpt);
    rc = CLI_OK;
out:
    free(st.epoch_s);
    free(ae_buf);
    cluster_model_free(model);
    dataset_free(&ds);
    return rc;
}

static void predict_usage(FILE *f)
{
    fprintf(f, "usage: deepclust predict --model F --data FILE [--data FILE ...] --out q.npy\n"
               "                         [--labels FILE ...] [--labels-out L.npy] [--embed-out Z.npy]\n"
               "Writes the soft assignments q (n x k, float32 NPY); with --labels prints ACC/NMI/ARI.\n");
}

int cli_predict(int argc, char **argv)
{
    const char *data[MAX_FILES], *labels[MAX_FILES], *model_path = NULL, *out = NULL;
    const char *lab_out = NULL, *z_out = NULL, *v;
    int nd = 0, nl = 0, m, rc = CLI_FAIL;
    data_opts dop = {0};
    dataset ds = {0};
    cluster_model *model = NULL;
    void *buf = NULL;
    size_t len = 0;
    float *q = NULL, *z = NULL;
    int32_t *lab = NULL;
    dc_err e = {0};
    for (int i = 1; i < argc; i++) {
        if (cli_is_help(argv[i])) {
            predict_usage(stdout);
            return CLI_OK;
        } else if ((m = cli_flag(argc, argv, &i, "model", &v))) {
            if (m < 0) return CLI_USAGE;
            model_path = v;
        } else if ((m = cli_files_flag(argc, argv, &i, data, &nd, labels, &nl, MAX_FILES))) {
            if (m < 0) return CLI_USAGE;
        } else if ((m = cli_flag(argc, argv, &i, "out", &v))) {
            if (m < 0) return CLI_USAGE;
            out = v;
        } else if ((m = cli_flag(argc, argv, &i, "labels-out", &v))) {
            if (m < 0) return CLI_USAGE;
            lab_out = v;
        } else if ((m = cli_flag(argc, argv, &i, "embed-out", &v))) {
            if (m < 0) return CLI_USAGE;
            z_out = v;
        } else if ((m = cli_data_flag(argc, argv, &i, &dop)) != 0) {
            if (m < 0) return CLI_USAGE;
        } else {
            return cli_usage_error("predict: unknown argument '%s' (see deepclust predict --help)",
                                   argv[i]);
        }
    }
    if (!model_path || !nd || !out)
        return cli_usage_error("predict needs --model, --data and --out (see --help)");
    if (nl && nl != nd)
        return cli_usage_error("give one --labels file per --data file (%d vs %d)", nl, nd);
    if (data_read_file(model_path, &buf, &len, &e) < 0 ||
        cluster_model_load(&model, buf, len, &e) < 0 ||
        cli_load_data(&ds, data, labels, nd, nl, &dop, &e) < 0)
        goto fail;
    int k = cluster_model_k(model), emb = cluster_model_embed(model);
    if (ds.d != cluster_model_dim(model)) {
        dc_err_set(&e, DC_EINVAL, "the model takes %d features per sample, the data has %d",
                   cluster_model_dim(model), ds.d);
        goto fail;
    }
    q = malloc(sizeof(float) * ds.n * k);
    lab = malloc(sizeof(int32_t) * ds.n);
    if (z_out) z = malloc(sizeof(float) * ds.n * emb);
    if (!q || !lab || (z_out && !z)) {
        dc_err_set(&e, DC_ENOMEM, "out of memory");
        goto fail;
    }
    if (cluster_predict(model, ds.x, ds.n, q, lab, z, &e) < 0 ||
        cli_write_npy_f32(out, q, ds.n, k, &e) < 0 ||
        (lab_out && cli_write_npy_i32(lab_out, lab, ds.n, &e) < 0) ||
        (z_out && cli_write_npy_f32(z_out, z, ds.n, emb, &e) < 0))
        goto fail;
    if (ds.labels) {
        metrics_scores sc;
        if (metrics_all((const int *)lab, (const int *)ds.labels, (size_t)ds.n, &sc, &e) < 0) goto fail;
        printf("acc %.4f nmi %.4f ari %.4f (n=%lld)\n", sc.acc, sc.nmi, sc.ari, (long long)ds.n);
    }
    rc = CLI_OK;
    goto out;
fail:
    fprintf(stderr, "deepclust: predict: %s\n", e.msg);
out:
    free(buf), free(q), free(z), free(lab);
    cluster_model_free(model);
    dataset_free(&ds);
    return rc;
}
