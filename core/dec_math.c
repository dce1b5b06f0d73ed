#include "dec_math.h"

#include <math.h>
#include <stdlib.h>

static double sqdist(const float *a, const float *b, int e)
{
    double s = 0;
    for (int c = 0; c < e; c++) {
        double t = (double)a[c] - b[c];
        s += t * t;
    }
    return s;
}

void dec_soft_assign(float *q, const float *z, const float *mu, int64_t n, int e, int k,
                     double alpha)
{
    double pw = -(alpha + 1.0) / 2.0;
    for (int64_t i = 0; i < n; i++) {
        float *qi = q + i * k;
        double sum = 0, t[k > 0 ? k : 1];
        for (int j = 0; j < k; j++) {
            double d = sqdist(z + i * e, mu + (int64_t)j * e, e);
            t[j] = alpha == 1.0 ? 1.0 / (1.0 + d) : pow(1.0 + d / alpha, pw);
            sum += t[j];
        }
        for (int j = 0; j < k; j++) qi[j] = (float)(t[j] / sum);
    }
}

void dec_target_distribution(float *p, const float *q, int64_t n, int k)
{
    double *f = calloc((size_t)k, sizeof *f);
    if (!f) return;
    for (int64_t i = 0; i < n; i++)
        for (int j = 0; j < k; j++) f[j] += q[i * k + j];
    for (int64_t i = 0; i < n; i++) {
        double w[k], s = 0;
        for (int j = 0; j < k; j++) {
            double qq = q[i * k + j];
            w[j] = f[j] > 0 ? qq * qq / f[j] : 0;
            s += w[j];
        }
        for (int j = 0; j < k; j++) p[i * k + j] = (float)(s > 0 ? w[j] / s : 1.0 / k);
    }
    free(f);
}

double dec_kl(const float *p, const float *q, int64_t n, int k, double scale)
{
    double s = 0;
    for (int64_t i = 0; i < n * k; i++)
        if (p[i] > 0) s += p[i] * (log((double)p[i]) - log((double)q[i] > 1e-30 ? q[i] : 1e-30));
    return s * scale;
}

void dec_kl_backward(float *dz, float *dmu, const float *p, const float *q, const float *z,
                     const float *mu, int64_t n, int e, int k, double alpha, double scale)
{
    double c = (alpha + 1.0) / alpha * scale;
    for (int64_t i = 0; i < n; i++) {
        const float *zi = z + i * e;
        for (int j = 0; j < k; j++) {
            const float *mj = mu + (int64_t)j * e;
            double d = sqdist(zi, mj, e);
            double g = c * ((double)p[i * k + j] - q[i * k + j]) / (1.0 + d / alpha);
            for (int a = 0; a < e; a++) {
                double v = g * ((double)zi[a] - mj[a]);
                if (dz) dz[i * e + a] += (float)v;
                if (dmu) dmu[(int64_t)j * e + a] -= (float)v;
            }
        }
    }
}

void dec_argmax(int32_t *labels, const float *q, int64_t n, int k)
{
    for (int64_t i = 0; i < n; i++) {
        int best = 0;
        for (int j = 1; j < k; j++)
            if (q[i * k + j] > q[i * k + best]) best = j;
        labels[i] = best;
    }
}
