/* vae gradients: central differences against the analytic gradients of every loss term
 * of the one-step VAE clustering model (core/vae.h).
 *
 *  - kernels, in double (h = 1e-6, relative error <= 1e-3, observed ~1e-8): the
 *    Gaussian-mixture KL kl_z (both modes) w.r.t. mu, logvar, z, the classifier logits
 *    (through the softmax) and mu_y; the categorical KL kl_y w.r.t. the logits; the
 *    reparameterisation path z = mu + exp(lv/2) eps composed with kl_z and a linear
 *    read-out of z (what the decoder and classifier see), w.r.t. mu and logvar; the
 *    reconstruction term (Gaussian and Bernoulli) w.r.t. float logits with its sums in
 *    double.
 *  - the whole model (float nets, sigmoid hidden units so the loss is smooth): every
 *    parameter (encoder, both heads, classifier, mu_y, decoder) against central
 *    differences of vae__batch_loss with fixed eps. Float forward passes limit the
 *    precision, so h = 1e-2 and relative error <= 1e-2 on components above 1e-3; a
 *    wiring mistake (a missing dz path, a wrong sign) gives errors of order 1.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "nn_ops.h"
#include "vae.h"

enum { B = 3, L = 4, K = 3 };

static double relerr(double a, double n)
{
    double s = fabs(a) > fabs(n) ? fabs(a) : fabs(n);
    return s < 1e-9 ? fabs(a - n) : fabs(a - n) / s;
}

/* kl_z + kl_y as a function of everything, the same composition as vae_train's. */
typedef struct st {
    double mu[B * L], lv[B * L], eps[B * L], logit[B * K], muy[K * L], readout[B * L];
    int mode, reparam; /* reparam: z = reparam(mu, lv, eps) and add readout . z */
    double z[B * L];   /* used as given when !reparam */
} st;

static double f_all(const st *s, st *g)
{
    double p[B * K], z[B * L], dp[B * K] = {0}, dz[B * L] = {0};
    if (s->reparam) vae_reparam(z, s->mu, s->lv, s->eps, B * L);
    else memcpy(z, s->z, sizeof z);
    vae_softmax(p, s->logit, B, K);
    double v = vae_loss_kl_z(g ? g->mu : NULL, g ? g->lv : NULL, g ? dz : NULL, g ? dp : NULL,
                             g ? g->muy : NULL, NULL, s->mu, s->lv, z, p, s->muy, B, L, K,
                             s->mode);
    v += vae_loss_kl_y(g ? g->logit : NULL, s->logit, B, K);
    if (s->reparam)
        for (int i = 0; i < B * L; i++) {
            v += s->readout[i] * z[i];
            dz[i] += s->readout[i];
        }
    if (g) {
        vae_softmax_backward(g->logit, dp, p, B, K);
        if (s->reparam) vae_reparam_backward(g->mu, g->lv, dz, s->lv, s->eps, B * L);
        else memcpy(g->z, dz, sizeof dz);
    }
    return v;
}

static void check_arr(const char *name, st *s, double *x, const double *ga, int n, double *worst)
{
    const double h = 1e-6;
    for (int i = 0; i < n; i++) {
        double old = x[i];
        x[i] = old + h;
        double fp = f_all(s, NULL);
        x[i] = old - h;
        double fm = f_all(s, NULL);
        x[i] = old;
        double num = (fp - fm) / (2 * h), r = relerr(ga[i], num);
        if (r > *worst) *worst = r;
        CHECK_MSG(r <= 1e-3, "%s[%d] (mode %d, reparam %d): analytic %.9g, numeric %.9g", name, i,
                  s->mode, s->reparam, ga[i], num);
    }
}

static void test_kernels(void)
{
    rng r;
    rng_seed(&r, 42);
    for (int mode = 0; mode < 2; mode++)
        for (int rep = 0; rep < 2; rep++) {
            st s, g;
            memset(&s, 0, sizeof s);
            memset(&g, 0, sizeof g);
            s.mode = mode;
            s.reparam = rep;
            for (int i = 0; i < B * L; i++) {
                s.mu[i] = rng_normal(&r);
                s.lv[i] = 0.5 * rng_normal(&r);
                s.eps[i] = rng_normal(&r);
                s.z[i] = rng_normal(&r);
                s.readout[i] = rng_normal(&r);
            }
            for (int i = 0; i < B * K; i++) s.logit[i] = 1.5 * rng_normal(&r);
            for (int i = 0; i < K * L; i++) s.muy[i] = rng_normal(&r);
            f_all(&s, &g);
            double worst = 0;
            if (mode == VAE_KL_ANALYTIC || rep) check_arr("mu", &s, s.mu, g.mu, B * L, &worst);
            check_arr("lv", &s, s.lv, g.lv, B * L, &worst);
            if (mode == VAE_KL_SAMPLED && !rep) check_arr("z", &s, s.z, g.z, B * L, &worst);
            check_arr("logit", &s, s.logit, g.logit, B * K, &worst);
            check_arr("mu_y", &s, s.muy, g.muy, K * L, &worst);
            printf("kernels mode %s%s: worst relative error %.2e\n",
                   mode ? "analytic" : "sampled", rep ? " + reparameterisation" : "", worst);
        }

    /* kl_y alone: 0 at a uniform p, log K at a one-hot limit */
    double flat[2 * K] = {0}, sharp[K] = {50, 0, 0};
    CHECK_NEAR(vae_loss_kl_y(NULL, flat, 2, K), 0.0, 1e-12);
    CHECK_NEAR(vae_loss_kl_y(NULL, sharp, 1, K), log((double)K), 1e-9);
    /* analytic KL against its closed form for one sample, one class, L = 1 */
    double mu = 0.7, lv = -0.4, muy = 0.2, p1 = 1, z = 0;
    double want = 0.5 * (-1 - lv + (mu - muy) * (mu - muy) + exp(lv));
    CHECK_NEAR(vae_loss_kl_z(NULL, NULL, NULL, NULL, NULL, NULL, &mu, &lv, &z, &p1, &muy, 1, 1, 1,
                             VAE_KL_ANALYTIC), want, 1e-12);
}

static void test_rec(void)
{
    enum { RB = 2, D = 5 };
    rng r;
    rng_seed(&r, 7);
    float lg[RB * D], x[RB * D], g[RB * D];
    for (int i = 0; i < RB * D; i++) {
        lg[i] = (float)(2 * rng_normal(&r));
        x[i] = (float)rng_uniform(&r);
    }
    for (int bce = 0; bce < 2; bce++) {
        double w = bce ? 1.0 : 2.5, worst = 0;
        vae_loss_rec(g, lg, x, RB, D, bce, w);
        for (int i = 0; i < RB * D; i++) {
            float old = lg[i];
            lg[i] = old + 1e-2f;
            float up = lg[i];
            double fp = vae_loss_rec(NULL, lg, x, RB, D, bce, w);
            lg[i] = old - 1e-2f;
            float dn = lg[i];
            double fm = vae_loss_rec(NULL, lg, x, RB, D, bce, w);
            lg[i] = old;
            double num = (fp - fm) / ((double)up - dn), re = relerr(g[i], num);
            if (re > worst) worst = re;
            CHECK_MSG(re <= 1e-3, "rec (bce %d) dlogit[%d]: analytic %.9g numeric %.9g", bce, i,
                      g[i], num);
        }
        printf("rec %s: worst relative error %.2e\n", bce ? "bernoulli" : "gaussian", worst);
    }
    /* Bernoulli value against nn_bce_logits_loss (a mean over elements) times D */
    double ours = vae_loss_rec(NULL, lg, x, RB, D, 1, 1.0);
    double ref = nn_bce_logits_loss(NULL, lg, x, RB * D, 1.0f) * D;
    CHECK_NEAR(ours, ref, 1e-5 * fabs(ref));
}

static void test_model(int mode)
{
    vae_cfg c;
    vae_cfg_default(&c, 6, K);
    c.n_hidden = 1;
    c.hidden[0] = 5;
    c.latent = L;
    c.cls_hidden = 4;
    c.act = NN_SIGMOID;
    c.batch = B;
    c.kl_mode = mode;
    c.seed = 3;
    vae *v = NULL;
    dc_err e = {0};
    CHECK_MSG(vae_new(&v, &c, &e) == 0, "%s", e.msg);
    if (!v) return;
    rng r;
    rng_seed(&r, 11);
    size_t np = vae_nparams(v);
    float *p = vae_params(v), *g = vae__grads(v);
    /* larger weights than the init and nonzero class means, so every path matters */
    for (size_t i = 0; i < np; i++) p[i] = (float)(0.6 * rng_normal(&r));
    float x[B * 6];
    double eps[B * L];
    for (int i = 0; i < B * 6; i++) x[i] = (float)rng_uniform(&r);
    for (int i = 0; i < B * L; i++) eps[i] = rng_normal(&r);
    memset(g, 0, np * sizeof *g);
    double t[4];
    CHECK(vae__batch_loss(v, x, B, eps, 1, t, &e) == 0);
    CHECK_NEAR(t[3], t[0] + t[1] + t[2], 1e-9);
    float *ga = malloc(np * sizeof *ga);
    memcpy(ga, g, np * sizeof *ga);
    int checked = 0, bad = 0;
    double worst = 0;
    for (size_t i = 0; i < np; i++) {
        float old = p[i];
        p[i] = old + 1e-2f;
        float up = p[i];
        double tp[4], tm[4];
        vae__batch_loss(v, x, B, eps, 0, tp, NULL);
        p[i] = old - 1e-2f;
        float dn = p[i];
        vae__batch_loss(v, x, B, eps, 0, tm, NULL);
        p[i] = old;
        double num = (tp[3] - tm[3]) / ((double)up - dn);
        if (fabs(num) < 1e-3 && fabs(ga[i]) < 1e-3) continue;
        checked++;
        double re = relerr(ga[i], num);
        if (re > worst) worst = re;
        if (re > 1e-2) {
            bad++;
            fprintf(stderr, "param %zu: analytic %.6g numeric %.6g\n", i, ga[i], num);
        }
    }
    printf("whole model (%s KL): %d of %zu params checked, worst relative error %.2e\n",
           mode ? "analytic" : "sampled", checked, np, worst);
    CHECK_MSG(bad == 0, "%d parameters with relative error > 1e-2", bad);
    CHECK_MSG(checked > (int)np / 2, "only %d of %zu gradients were large enough to check",
              checked, np);
    free(ga);
    vae_free(v);
}

int main(void)
{
    test_kernels();
    test_rec();
    test_model(VAE_KL_SAMPLED);
    test_model(VAE_KL_ANALYTIC);
    return CHECK_DONE();
}
