/* DEC clustering layer: q rows sum to 1, P sharpens Q, and the KL gradient w.r.t. z and
 * mu matches central differences (computed in double on a float model). */
#include "check.h"
#include "dec_math.h"
#include "rng.h"

#include <stdlib.h>

#define N 7
#define E 4
#define K 3

static double loss_at(const float *p, float *z, float *mu, double alpha)
{
    float q[N * K];
    dec_soft_assign(q, z, mu, N, E, K, alpha);
    return dec_kl(p, q, N, K, 1.0 / N);
}

static void grad_check(double alpha)
{
    rng r;
    rng_seed(&r, 7);
    float z[N * E], mu[K * E], q[N * K], p[N * K], dz[N * E] = {0}, dmu[K * E] = {0};
    for (int i = 0; i < N * E; i++) z[i] = (float)rng_normal(&r);
    for (int i = 0; i < K * E; i++) mu[i] = (float)rng_normal(&r);
    dec_soft_assign(q, z, mu, N, E, K, alpha);
    dec_target_distribution(p, q, N, K);
    dec_kl_backward(dz, dmu, p, q, z, mu, N, E, K, alpha, 1.0 / N);
    double worst = 0;
    for (int which = 0; which < 2; which++) {
        float *v = which ? mu : z, *g = which ? dmu : dz;
        int cnt = which ? K * E : N * E;
        for (int i = 0; i < cnt; i++) {
            float keep = v[i];
            double h = 1e-2;
            v[i] = keep + (float)h;
            double lp = loss_at(p, z, mu, alpha);
            v[i] = keep - (float)h;
            double lm = loss_at(p, z, mu, alpha);
            v[i] = keep;
            double num = (lp - lm) / (2 * h), rel = fabs(num - g[i]) / fmax(1e-4, fabs(num) + fabs(g[i]));
            if (rel > worst) worst = rel;
        }
    }
    CHECK_MSG(worst < 1e-3, "alpha %g: worst relative error %g", alpha, worst);
}

int main(void)
{
    float z[6] = {0, 0, 0.1f, 0, 5, 5}, mu[4] = {0, 0, 5, 5}, q[6], p[6];
    dec_soft_assign(q, z, mu, 3, 2, 2, 1.0);
    for (int i = 0; i < 3; i++) CHECK_NEAR(q[2 * i] + q[2 * i + 1], 1.0, 1e-6);
    CHECK_NEAR(q[0], 1.0 / (1.0 + 1.0 / 51.0), 1e-6); /* t = 1 and 1/(1+50) */
    dec_target_distribution(p, q, 3, 2);
    CHECK(p[0] > q[0]); /* sharpened towards the confident cluster */
    CHECK(p[5] > q[5]);
    int32_t lab[3];
    dec_argmax(lab, q, 3, 2);
    CHECK_EQ_INT(lab[0], 0);
    CHECK_EQ_INT(lab[2], 1);
    CHECK_NEAR(dec_kl(q, q, 3, 2, 1.0), 0.0, 1e-7);
    grad_check(1.0);
    grad_check(2.5);
    return CHECK_DONE();
}
