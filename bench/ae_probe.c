/* ae_probe: how clusterable an autoencoder's embedding is as pretraining goes on. Trains
 * the DEC (or DCEC) autoencoder on IDX/NPY/CSV files and, at chosen epochs, runs k-means
 * on the embedding and prints its ACC/NMI/ARI; optionally saves the autoencoder there
 * (the bytes `deepclust train --load-ae` takes), so DEC/IDEC can start from any budget.
 * For the recipe measurements in docs/quality.md.
 *
 *   ae_probe --data A.gz --labels A-l.gz [--data B.gz --labels B-l.gz] [--epochs 300]
 *            [--seed 1] [--opt adam|sgd] [--lr X] [--momentum 0.9] [--init glorot|varscale]
 *            [--batch 256] [--conv 0|1] [--probe 25,50,100] [--n-init 10] [--save P]
 *
 * --save P writes P-<epoch>.ae at every probe epoch. uint8 data is scaled to [0, 1].
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data.h"
#include "dc_blas.h"
#include "dc_time.h"
#include "kmeans.h"
#include "metrics.h"
#include "nn_ae.h"

enum { MAX_FILES = 4, MAX_PROBES = 64 };

typedef struct probe_ctx {
    nn_ae *ae;
    const dataset *ds;
    int probes[MAX_PROBES], nprobes, n_init;
    uint64_t seed;
    const char *save;
} probe_ctx;

static void probe(probe_ctx *p, int epoch)
{
    const dataset *ds = p->ds;
    size_t n = (size_t)ds->n;
    int e = p->ae->emb_dim;
    float *z = malloc(n * (size_t)e * sizeof *z);
    int32_t *pred = malloc(n * sizeof *pred);
    kmeans_opts o;
    kmeans_opts_default(&o);
    o.n_init = p->n_init;
    o.seed = p->seed;
    int bt = dc_blas_threads(); /* row threads with single-threaded sgemm, as cluster.c */
    o.n_threads = bt;
    dc_blas_set_threads(1);
    kmeans_result r = {0};
    metrics_scores ms;
    dc_err err = {0};
    double t0 = dc_now_s();
    if (z && pred && nn_ae_encode(p->ae, ds->x, n, z, &err) == 0 &&
        kmeans_fit(z, n, e, 10, &o, &r, &err) == 0) {
        for (size_t i = 0; i < n; i++) pred[i] = r.labels[i];
        if (ds->labels && metrics_all(pred, ds->labels, n, &ms, &err) == 0)
            printf("probe epoch %d: acc %.4f nmi %.4f ari %.4f inertia %.6g (%.1fs)\n", epoch,
                   ms.acc, ms.nmi, ms.ari, r.inertia, dc_now_s() - t0);
        else
            printf("probe epoch %d: inertia %.6g\n", epoch, r.inertia);
    } else {
        printf("probe epoch %d failed: %s\n", epoch, err.msg);
    }
    dc_blas_set_threads(bt);
    if (p->save) {
        char path[4096];
        void *buf = NULL;
        size_t len = 0;
        snprintf(path, sizeof path, "%s-%d.ae", p->save, epoch);
        FILE *f = NULL;
        if (nn_ae_save(p->ae, &buf, &len, &err) == 0 && (f = fopen(path, "wb")) &&
            fwrite(buf, 1, len, f) == len)
            printf("saved %s\n", path);
        else
            printf("could not save %s\n", path);
        if (f) fclose(f);
        free(buf);
    }
    kmeans_result_free(&r);
    free(z);
    free(pred);
}

static int on_epoch(void *ctx, int epoch, double loss, double elapsed)
{
    probe_ctx *p = ctx;
    printf("epoch %d loss %.6f t %.1fs\n", epoch, loss, elapsed);
    for (int i = 0; i < p->nprobes; i++)
        if (p->probes[i] == epoch) probe(p, epoch);
    fflush(stdout);
    return 0;
}

int main(int argc, char **argv)
{
    const char *data[MAX_FILES], *labels[MAX_FILES];
    int nd = 0, nl = 0, conv = 0, rc = 1;
    probe_ctx p = {.n_init = 10, .seed = 1};
    nn_train_cfg tc = nn_train_default();
    nn_init init = NN_INIT_GLOROT_UNIFORM;
    int lr_set = 0;
    double lr = 0, momentum = 0.9;
    dataset all = {0}, part = {0};
    nn_ae *ae = NULL;
    dc_err e = {0};
    dc_blas_fix_coretype(argv); /* may re-exec with fast kernels */
    dc_blas_init_threads();
    for (int i = 1; i < argc; i++) {
        const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) {
            fprintf(stderr, "%s needs a value\n", k);
            return 2;
        }
        i++;
        if (!strcmp(k, "--data") && nd < MAX_FILES) data[nd++] = v;
        else if (!strcmp(k, "--labels") && nl < MAX_FILES) labels[nl++] = v;
        else if (!strcmp(k, "--epochs")) tc.epochs = atoi(v);
        else if (!strcmp(k, "--seed")) p.seed = strtoull(v, NULL, 10);
        else if (!strcmp(k, "--opt")) tc.opt = nn_optim_default(strcmp(v, "sgd") ? NN_OPT_ADAM : NN_OPT_SGD);
        else if (!strcmp(k, "--lr")) lr = atof(v), lr_set = 1;
        else if (!strcmp(k, "--momentum")) momentum = atof(v);
        else if (!strcmp(k, "--init")) init = strcmp(v, "varscale") ? NN_INIT_GLOROT_UNIFORM : NN_INIT_VARSCALE;
        else if (!strcmp(k, "--batch")) tc.batch = atoi(v);
        else if (!strcmp(k, "--conv")) conv = atoi(v);
        else if (!strcmp(k, "--n-init")) p.n_init = atoi(v);
        else if (!strcmp(k, "--save")) p.save = v;
        else if (!strcmp(k, "--probe")) {
            for (const char *s = v; *s && p.nprobes < MAX_PROBES;) {
                p.probes[p.nprobes++] = atoi(s);
                if (!(s = strchr(s, ','))) break;
                s++;
            }
        } else {
            fprintf(stderr, "unknown option %s\n", k);
            return 2;
        }
    }
    if (nd < 1 || (nl && nl != nd)) {
        fprintf(stderr, "usage: ae_probe --data F [--labels F] ... (see the source)\n");
        return 2;
    }
    if (lr_set) tc.opt.lr = (float)lr;
    tc.opt.momentum = (float)momentum;
    tc.seed = p.seed;
    for (int i = 0; i < nd; i++) {
        dataset *dst = i == 0 ? &all : &part;
        if (dataset_load(dst, data[i], DATA_FMT_AUTO, NULL, &e) < 0 ||
            (nl && dataset_load_labels(dst, labels[i], DATA_FMT_AUTO, &e) < 0)) {
            fprintf(stderr, "%s\n", e.msg);
            goto out;
        }
        if (i > 0) {
            dataset cat = {0};
            if (dataset_concat(&cat, &all, &part, &e) < 0) {
                fprintf(stderr, "%s\n", e.msg);
                goto out;
            }
            dataset_free(&all);
            dataset_free(&part);
            all = cat;
        }
    }
    if (conv) {
        rc = nn_ae_new_conv(&ae, all.h, all.w, all.c ? all.c : 1, NULL, 10, init, p.seed,
                            tc.batch, &e);
    } else {
        int dims[] = {all.d, 500, 500, 2000, 10};
        rc = nn_ae_new_fc(&ae, dims, 5, NN_RELU, 0, init, p.seed, tc.batch, &e);
    }
    if (rc < 0) {
        fprintf(stderr, "%s\n", e.msg);
        rc = 1;
        goto out;
    }
    printf("n %lld d %d conv %d epochs %d batch %d opt %s lr %g momentum %g init %s seed %llu "
           "(%s, %d threads)\n",
           (long long)all.n, all.d, conv, tc.epochs, tc.batch,
           tc.opt.kind == NN_OPT_SGD ? "sgd" : "adam", tc.opt.lr, tc.opt.momentum,
           init == NN_INIT_VARSCALE ? "varscale" : "glorot", (unsigned long long)p.seed,
           dc_blas_config(), dc_blas_threads());
    p.ae = ae;
    p.ds = &all;
    tc.cb = on_epoch;
    tc.ctx = &p;
    if (nn_ae_train(ae, all.x, (size_t)all.n, &tc, NULL, &e) < 0) {
        fprintf(stderr, "%s\n", e.msg);
        rc = 1;
        goto out;
    }
    rc = 0;
out:
    nn_ae_free(ae);
    dataset_free(&all);
    dataset_free(&part);
    return rc;
}
