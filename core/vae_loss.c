/* vae_loss: the loss terms of the one-step VAE clustering model and their gradients
 * (see vae.h for the formulas). Plain functions over arrays; the small (B,L), (B,K)
 * tensors are handled in double, the reconstruction over float logits with double sums. */
#include <math.h>
#include <string.h>

#include "vae.h"

double vae_loss_rec(float *dlogit, const float *logit, const float *x, int B, size_t d,
                    int bce, double weight)
{
    size_t n = (size_t)B * d;
    double sum = 0, g = weight / B;
    for (size_t i = 0; i < n; i++) {
        double l = logit[i], t = x[i];
        double s = l >= 0 ? 1.0 / (1.0 + exp(-l)) : exp(l) / (1.0 + exp(l));
        if (bce) {
            sum += (l > 0 ? l : 0) - l * t + log1p(exp(-fabs(l)));
            if (dlogit) dlogit[i] = (float)(g * (s - t));
        } else {
            double r = t - s;
            sum += 0.5 * r * r;
            if (dlogit) dlogit[i] = (float)(g * (s - t) * s * (1 - s));
        }
    }
    return weight * sum / B;
}

double vae_loss_kl_z(double *dmu, double *dlv, double *dz, double *dp, double *dmuy,
                     double *kl, const double *mu, const double *lv, const double *z,
                     const double *p, const double *muy, int B, int L, int K, int mode)
{
    double total = 0, inv = 1.0 / B;
    const double *c = mode == VAE_KL_ANALYTIC ? mu : z; /* the point compared with mu_y */
    for (int b = 0; b < B; b++) {
        const double *cb = c + (size_t)b * L, *lvb = lv + (size_t)b * L, *pb = p + (size_t)b * K;
        /* the part of KL_by that does not depend on y */
        double base = 0;
        for (int l = 0; l < L; l++)
            base += mode == VAE_KL_ANALYTIC ? 0.5 * (-1.0 - lvb[l] + exp(lvb[l]))
                                            : -0.5 * lvb[l];
        double psum = 0;
        for (int y = 0; y < K; y++) {
            const double *m = muy + (size_t)y * L;
            double q = 0;
            for (int l = 0; l < L; l++) {
                double t = cb[l] - m[l];
                q += t * t;
            }
            double kby = base + 0.5 * q;
            if (kl) kl[(size_t)b * K + y] = kby;
            total += pb[y] * kby;
            psum += pb[y];
            if (dp) dp[(size_t)b * K + y] += kby * inv;
            double *dc = mode == VAE_KL_ANALYTIC ? dmu : dz;
            for (int l = 0; l < L; l++) {
                double t = (cb[l] - m[l]) * pb[y] * inv;
                if (dc) dc[(size_t)b * L + l] += t;
                if (dmuy) dmuy[(size_t)y * L + l] -= t;
            }
        }
        if (dlv)
            for (int l = 0; l < L; l++)
                dlv[(size_t)b * L + l] += (mode == VAE_KL_ANALYTIC ? 0.5 * (exp(lvb[l]) - 1.0)
                                                                   : -0.5) * psum * inv;
    }
    return total * inv;
}

void vae_softmax(double *p, const double *logit, int B, int K)
{
    for (int b = 0; b < B; b++) {
        const double *a = logit + (size_t)b * K;
        double *o = p + (size_t)b * K, mx = a[0], s = 0;
        for (int y = 1; y < K; y++)
            if (a[y] > mx) mx = a[y];
        for (int y = 0; y < K; y++) s += (o[y] = exp(a[y] - mx));
        for (int y = 0; y < K; y++) o[y] /= s;
    }
}

void vae_softmax_backward(double *dlogit, const double *dp, const double *p, int B, int K)
{
    for (int b = 0; b < B; b++) {
        const double *pb = p + (size_t)b * K, *gb = dp + (size_t)b * K;
        double dot = 0;
        for (int y = 0; y < K; y++) dot += pb[y] * gb[y];
        for (int y = 0; y < K; y++) dlogit[(size_t)b * K + y] += pb[y] * (gb[y] - dot);
    }
}

double vae_loss_kl_y(double *dlogit, const double *logit, int B, int K)
{
    double total = 0, inv = 1.0 / B, logk = log((double)K);
    for (int b = 0; b < B; b++) {
        const double *a = logit + (size_t)b * K;
        double mx = a[0], s = 0;
        for (int y = 1; y < K; y++)
            if (a[y] > mx) mx = a[y];
        for (int y = 0; y < K; y++) s += exp(a[y] - mx);
        double lse = mx + log(s), h = 0; /* h = sum p log p */
        for (int y = 0; y < K; y++) {
            double lp = a[y] - lse;
            h += exp(lp) * lp;
        }
        total += h + logk;
        if (dlogit)
            for (int y = 0; y < K; y++) {
                double lp = a[y] - lse;
                dlogit[(size_t)b * K + y] += exp(lp) * (lp - h) * inv;
            }
    }
    return total * inv;
}

void vae_reparam(double *z, const double *mu, const double *lv, const double *eps, size_t n)
{
    for (size_t i = 0; i < n; i++) z[i] = mu[i] + exp(0.5 * lv[i]) * (eps ? eps[i] : 0.0);
}

void vae_reparam_backward(double *dmu, double *dlv, const double *dz, const double *lv,
                          const double *eps, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (dmu) dmu[i] += dz[i];
        if (dlv && eps) dlv[i] += dz[i] * eps[i] * 0.5 * exp(0.5 * lv[i]);
    }
}
