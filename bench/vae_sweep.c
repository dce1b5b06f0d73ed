/* vae_sweep: trains the `vae` method on IDX image files with every vae_cfg option on the
 * command line, printing one line per epoch (loss terms, KL weight, ACC/NMI/ARI when
 * labels are given, seconds). For the recipe measurements in docs/vae.md.
 *
 *   vae_sweep --images A.gz [--images B.gz] --labels A-l.gz [--labels B-l.gz]
 *             [--n N] [--epochs E] [--seed S] [--conv 0|1] [--hidden 500,500]
 *             [--latent 20] [--batch 100] [--lr 1e-3] [--bce 0|1] [--rec-weight 2.5]
 *             [--cls-hidden 256] [--kl-mode 0|1] [--warmup E] [--warmup-kl W]
 *             [--init-muy 0|1] [--muy-lr-mult M] [--kl-ramp E] [--eval-every E]
 *             [--ae AE_FILE [--ae-n-init 20]]
 *
 * Several --images/--labels are concatenated in order (train then t10k gives the 70,000
 * MNIST images); --n keeps the first N rows. Every option not given keeps
 * vae_cfg_default's value. --ae starts from a pretrained autoencoder (the bytes of
 * `deepclust train --save-ae` or ae_probe --save) with vae_init_from_ae; the vae's
 * --hidden and --latent must match it. Exit status 0 on success.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data.h"
#include "kmeans.h"
#include "metrics.h"
#include "nn_ae.h"
#include "vae.h"

typedef struct sweep {
    vae *v;
    const float *x;
    const int32_t *labels;
    size_t n;
    int probe_at; /* epoch after which k-means on mu(x) is scored (0: never) */
} sweep;

/* ACC/NMI of k-means (10 inits) on mu(x): how clusterable the code is at this point. */
static void probe_kmeans(sweep *s, int epoch)
{
    int L = vae_latent(s->v), K = vae_k(s->v);
    float *z = malloc(s->n * (size_t)L * sizeof *z);
    int32_t *pred = malloc(s->n * sizeof *pred);
    kmeans_opts o;
    kmeans_opts_default(&o);
    o.n_init = 10;
    o.seed = 7;
    kmeans_result r = {0};
    metrics_scores ms;
    dc_err e = {0};
    if (z && pred && vae_predict(s->v, s->x, s->n, NULL, NULL, z, &e) == 0 &&
        kmeans_fit(z, s->n, L, K, &o, &r, &e) == 0) {
        for (size_t i = 0; i < s->n; i++) pred[i] = r.labels[i];
        if (metrics_all(pred, s->labels, s->n, &ms, &e) == 0)
            printf("probe after epoch %d: k-means on mu(x) acc %.4f nmi %.4f ari %.4f\n", epoch,
                   ms.acc, ms.nmi, ms.ari);
    } else {
        printf("probe failed: %s\n", e.msg);
    }
    kmeans_result_free(&r);
    free(z);
    free(pred);
}

static int on_epoch(void *ctx, const vae_epoch_info *ev)
{
    sweep *s = ctx;
    printf("epoch %3d/%d  rec %.4f  kl_z %.4f  kl_y %.4f  total %.4f  w %.3f  acc %.4f  "
           "nmi %.4f  ari %.4f  t %.1fs\n",
           ev->epoch, ev->epochs, ev->rec, ev->kl_z, ev->kl_y, ev->total, ev->kl_weight,
           ev->acc, ev->nmi, ev->ari, ev->elapsed_s);
    if (s->labels && ev->epoch == s->probe_at) probe_kmeans(s, ev->epoch);
    fflush(stdout);
    return 0;
}

int main(int argc, char **argv)
{
    const char *imgs[4], *labs[4];
    int ni = 0, nl = 0, rc = 1, ae_n_init = 20;
    const char *ae_path = NULL;
    nn_ae *ae = NULL;
    long nmax = 0;
    vae_cfg c;
    vae_cfg_default(&c, 784, 10);
    dataset all = {0}, ds[4] = {{0}};
    vae *v = NULL;
    dc_err e = {0};
    for (int i = 1; i < argc; i++) {
        const char *k = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (!val) {
            fprintf(stderr, "%s needs a value\n", k);
            return 2;
        }
        i++;
        if (!strcmp(k, "--images") && ni < 4) imgs[ni++] = val;
        else if (!strcmp(k, "--labels") && nl < 4) labs[nl++] = val;
        else if (!strcmp(k, "--n")) nmax = atol(val);
        else if (!strcmp(k, "--epochs")) c.epochs = atoi(val);
        else if (!strcmp(k, "--seed")) c.seed = strtoull(val, NULL, 10);
        else if (!strcmp(k, "--conv")) c.conv = atoi(val);
        else if (!strcmp(k, "--latent")) c.latent = atoi(val);
        else if (!strcmp(k, "--batch")) c.batch = atoi(val);
        else if (!strcmp(k, "--lr")) c.lr = strtof(val, NULL);
        else if (!strcmp(k, "--bce")) c.bce = atoi(val);
        else if (!strcmp(k, "--rec-weight")) c.rec_weight = strtof(val, NULL);
        else if (!strcmp(k, "--cls-hidden")) c.cls_hidden = atoi(val);
        else if (!strcmp(k, "--kl-mode")) c.kl_mode = atoi(val);
        else if (!strcmp(k, "--warmup")) c.warmup_epochs = atoi(val);
        else if (!strcmp(k, "--warmup-kl")) c.warmup_kl = strtof(val, NULL);
        else if (!strcmp(k, "--init-muy")) c.init_muy = atoi(val);
        else if (!strcmp(k, "--muy-lr-mult")) c.muy_lr_mult = strtof(val, NULL);
        else if (!strcmp(k, "--kl-ramp")) c.kl_ramp_epochs = atoi(val);
        else if (!strcmp(k, "--eval-every")) c.eval_every = atoi(val);
        else if (!strcmp(k, "--ae")) ae_path = val;
        else if (!strcmp(k, "--ae-n-init")) ae_n_init = atoi(val);
        else if (!strcmp(k, "--hidden")) {
            c.n_hidden = 0;
            for (const char *p = val; *p && c.n_hidden < VAE_MAX_HIDDEN;) {
                c.hidden[c.n_hidden++] = atoi(p);
                p = strchr(p, ',');
                if (!p) break;
                p++;
            }
        } else {
            fprintf(stderr, "unknown option %s\n", k);
            return 2;
        }
    }
    if (ni < 1 || (nl && nl != ni)) {
        fprintf(stderr, "usage: vae_sweep --images F [--labels F] ... (see the source)\n");
        return 2;
    }
    int64_t n = 0;
    for (int i = 0; i < ni; i++) {
        if (dataset_load(&ds[i], imgs[i], DATA_FMT_AUTO, NULL, &e) < 0 ||
            (nl && dataset_load_labels(&ds[i], labs[i], DATA_FMT_AUTO, &e) < 0)) {
            fprintf(stderr, "%s\n", e.msg);
            goto out;
        }
        n += ds[i].n;
    }
    if (nmax > 0 && nmax < n) n = nmax;
    if (dataset_alloc(&all, n, ds[0].d, nl > 0, &e) < 0) {
        fprintf(stderr, "%s\n", e.msg);
        goto out;
    }
    int64_t at = 0;
    for (int i = 0; i < ni && at < n; i++) {
        int64_t take = ds[i].n < n - at ? ds[i].n : n - at;
        memcpy(all.x + at * all.d, ds[i].x, (size_t)(take * all.d) * sizeof(float));
        if (nl) memcpy(all.labels + at, ds[i].labels, (size_t)take * sizeof(int32_t));
        at += take;
    }
    c.d = all.d;
    if (c.conv) c.h = ds[0].h, c.w = ds[0].w, c.c = ds[0].c ? ds[0].c : 1;
    printf("n %lld d %d conv %d hidden %d (%d,%d) latent %d batch %d lr %g bce %d rec_w %g "
           "cls %d kl_mode %d warmup %d warmup_kl %g init_muy %d muy_lr_mult %g kl_ramp %d "
           "seed %llu\n",
           (long long)n, c.d, c.conv, c.n_hidden, c.hidden[0], c.hidden[1], c.latent, c.batch,
           c.lr, c.bce, c.rec_weight, c.cls_hidden, c.kl_mode, c.warmup_epochs, c.warmup_kl,
           c.init_muy, c.muy_lr_mult, c.kl_ramp_epochs, (unsigned long long)c.seed);
    sweep sw = {0};
    if (vae_new(&v, &c, &e) == 0) {
        sw = (sweep){v, all.x, nl ? all.labels : NULL, (size_t)n, c.warmup_epochs};
    }
    if (v && ae_path) {
        FILE *f = fopen(ae_path, "rb");
        static char buf[64 << 20];
        size_t len = f ? fread(buf, 1, sizeof buf, f) : 0;
        if (f) fclose(f);
        int32_t *km = malloc((size_t)n * sizeof *km);
        metrics_scores ms;
        if (!len || !km || nn_ae_load(&ae, buf, len, c.batch, &e) < 0 ||
            vae_init_from_ae(v, ae, all.x, (size_t)n, ae_n_init, c.seed, km, NULL, &e) < 0) {
            fprintf(stderr, "%s: %s\n", ae_path, len ? e.msg : "cannot read");
            free(km);
            goto out;
        }
        if (nl && metrics_all(km, all.labels, (size_t)n, &ms, &e) == 0)
            printf("start from %s: k-means acc %.4f nmi %.4f ari %.4f\n", ae_path, ms.acc,
                   ms.nmi, ms.ari);
        if (nl && vae_predict(v, all.x, (size_t)n, NULL, km, NULL, &e) == 0 &&
            metrics_all(km, all.labels, (size_t)n, &ms, &e) == 0)
            printf("after init: classifier acc %.4f nmi %.4f ari %.4f\n", ms.acc, ms.nmi, ms.ari);
        free(km);
        fflush(stdout);
    }
    if (!v || vae_train(v, all.x, (size_t)n, nl ? all.labels : NULL, on_epoch, &sw, &e) < 0) {
        fprintf(stderr, "%s\n", e.msg);
        goto out;
    }
    rc = 0;
out:
    vae_free(v);
    nn_ae_free(ae);
    dataset_free(&all);
    for (int i = 0; i < ni; i++) dataset_free(&ds[i]);
    return rc;
}
