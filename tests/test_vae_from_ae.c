/* vae_init_from_ae: a vae started from a pretrained autoencoder and k-means on its codes
 * (vae.h). Checks each step of the initialisation on 4 generated blobs in 20-D: the codes
 * are the autoencoder's divided by one scale s, clusters then have unit rms spread per
 * dimension, mu_y are the cluster means, the classifier reproduces the k-means partition,
 * the decoder reconstructs; training afterwards keeps the clusters; mismatched shapes are
 * refused.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "metrics.h"
#include "nn_ae.h"
#include "vae.h"

enum { NB = 4, PER = 100, N = NB * PER, D = 20, H = 64, L = 8 };

#include "vae_testutil.h"

static vae_cfg cfg_for_ae(void)
{
    vae_cfg c;
    vae_cfg_default(&c, D, NB);
    c.n_hidden = 1;
    c.hidden[0] = H;
    c.latent = L;
    c.cls_hidden = 32;
    c.batch = 25;
    c.rec_weight = 50;
    c.eval_every = 0;
    c.warmup_epochs = 0;
    c.kl_ramp_epochs = 0;
    c.epochs = 20;
    c.seed = 5;
    return c;
}

static double acc_of(const int32_t *pred, const int32_t *y)
{
    metrics_scores ms;
    return metrics_all(pred, y, N, &ms, NULL) == 0 ? ms.acc : -1;
}

int main(void)
{
    float *x = malloc(sizeof(float) * N * D), *zae = malloc(sizeof(float) * N * L),
          *zv = malloc(sizeof(float) * N * L), *xr = malloc(sizeof(float) * N * D);
    int32_t *y = malloc(sizeof(int32_t) * N), *km = malloc(sizeof(int32_t) * N),
            *pred = malloc(sizeof(int32_t) * N);
    double inertia = NAN;
    blobs(x, y, 21);
    dc_err e = {0};

    /* a small pretrained autoencoder 20-64-8 */
    nn_ae *ae = NULL;
    int dims[] = {D, H, L};
    CHECK_MSG(nn_ae_new_fc(&ae, dims, 3, NN_RELU, 0, NN_INIT_GLOROT_UNIFORM, 7, 25, &e) == 0,
              "%s", e.msg);
    nn_train_cfg tc = nn_train_default();
    tc.epochs = 60;
    tc.batch = 25;
    tc.seed = 7;
    double ae_loss = 0;
    CHECK_MSG(nn_ae_train(ae, x, N, &tc, &ae_loss, &e) == 0, "%s", e.msg);
    CHECK(nn_ae_encode(ae, x, N, zae, &e) == 0);

    vae_cfg c = cfg_for_ae();
    vae *v = NULL;
    CHECK_MSG(vae_new(&v, &c, &e) == 0, "%s", e.msg);
    CHECK_MSG(vae_init_from_ae(v, ae, x, N, 5, 3, km, &inertia, &e) == 0, "%s", e.msg);

    /* 1. codes = autoencoder codes / s for one scalar s */
    CHECK(vae_predict(v, x, N, NULL, pred, zv, &e) == 0);
    double num = 0, den = 0, zmax = 0;
    for (int i = 0; i < N * L; i++) num += (double)zae[i] * zv[i], den += (double)zv[i] * zv[i];
    double s = num / den, worst = 0;
    for (int i = 0; i < N * L; i++) {
        worst = fmax(worst, fabs(zae[i] - s * zv[i]));
        zmax = fmax(zmax, fabs(zae[i]));
    }
    CHECK_MSG(s > 0 && worst <= 1e-4 * zmax, "codes are not the AE's / s: s %g, worst %g of %g",
              s, worst, zmax);

    /* 2. unit rms spread around the k-means clusters; 3. mu_y = the cluster means */
    double mean[NB * L] = {0}, cnt[NB] = {0}, ss = 0;
    for (int i = 0; i < N; i++) {
        cnt[km[i]]++;
        for (int l = 0; l < L; l++) mean[km[i] * L + l] += zv[i * L + l];
    }
    for (int j = 0; j < NB; j++)
        for (int l = 0; l < L; l++) mean[j * L + l] /= cnt[j] > 0 ? cnt[j] : 1;
    for (int i = 0; i < N; i++)
        for (int l = 0; l < L; l++) {
            double u = zv[i * L + l] - mean[km[i] * L + l];
            ss += u * u;
        }
    double rms = sqrt(ss / (N * L));
    CHECK_MSG(fabs(rms - 1) < 1e-3, "rms spread per dimension expected 1, got %.6f", rms);
    /* the reported inertia is that of the raw codes: ss * s^2 */
    CHECK_MSG(isfinite(inertia) && fabs(inertia - ss * s * s) <= 1e-3 * inertia,
              "inertia %g, expected %g", inertia, ss * s * s);
    const float *muy = vae_class_means(v);
    double mdiff = 0;
    for (int i = 0; i < NB * L; i++) mdiff = fmax(mdiff, fabs(muy[i] - mean[i]));
    CHECK_MSG(mdiff < 1e-3, "mu_y differ from the cluster means by %g", mdiff);

    /* 4. the classifier gives the k-means partition */
    int agree = 0;
    for (int i = 0; i < N; i++) agree += pred[i] == km[i];
    CHECK_MSG(agree >= N * 99 / 100, "classifier agrees with k-means on %d of %d", agree, N);
    CHECK_MIN(acc_of(km, y), 0.99, "k-means on the AE codes ACC");

    /* 5. the decoder reconstructs (well below the variance of x) */
    CHECK(vae_reconstruct(v, x, N, xr, &e) == 0);
    double xm[D] = {0}, var = 0, err = 0;
    for (int i = 0; i < N; i++)
        for (int t = 0; t < D; t++) xm[t] += x[i * D + t] / N;
    for (int i = 0; i < N * D; i++) {
        var += (x[i] - xm[i % D]) * (x[i] - xm[i % D]);
        err += (x[i] - xr[i]) * (x[i] - xr[i]);
    }
    CHECK_MSG(err < 0.2 * var, "reconstruction error %.4g vs variance %.4g", err, var);

    /* 6. training from there keeps the clusters */
    CHECK_MSG(vae_train(v, x, N, y, NULL, NULL, &e) == 0, "%s", e.msg);
    CHECK(vae_predict(v, x, N, NULL, pred, NULL, &e) == 0);
    CHECK_MIN(acc_of(pred, y), 0.99, "vae from the AE, after training ACC");
    vae_free(v);
    v = NULL;

    /* mismatched shapes are refused */
    vae_cfg bad = cfg_for_ae();
    bad.hidden[0] = H / 2;
    CHECK(vae_new(&v, &bad, &e) == 0);
    CHECK_EQ_INT(vae_init_from_ae(v, ae, x, N, 2, 3, NULL, NULL, &e), DC_EINVAL);
    CHECK_MSG(strstr(e.msg, "tensor") != NULL, "message: %s", e.msg);
    vae_free(v);
    v = NULL;
    bad = cfg_for_ae();
    bad.latent = L + 1;
    CHECK(vae_new(&v, &bad, &e) == 0);
    CHECK_EQ_INT(vae_init_from_ae(v, ae, x, N, 2, 3, NULL, NULL, &e), DC_EINVAL);
    CHECK_MSG(strstr(e.msg, "pretrained start") != NULL, "message: %s", e.msg);
    vae_free(v);

    nn_ae_free(ae);
    free(x), free(zae), free(zv), free(xr), free(y), free(km), free(pred);
    return CHECK_DONE();
}
