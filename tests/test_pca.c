/* test_pca: core/pca.h against scikit-learn's PCA on a fixed 6 x 3 matrix (components,
 * variances scaled by (n-1)/n, transformed rows; printed by /usr/bin/python3 with
 * sklearn.decomposition.PCA(2) on the same float32 values in double), the projection of
 * other points (centroids) by the same map, and bad arguments; pca_fit_top (subspace
 * iteration) against pca_fit (Jacobi) on 600 x 60 rows with a decaying spectrum, and on
 * the small matrix. */
#include <math.h>
#include <stdlib.h>

#include "check.h"
#include "pca.h"

int main(void)
{
    const float X[6 * 3] = {1, 2, 0.5f, 2, 3.5f, 1, 3, 6.1f, 0, 4, 8, 2, 5, 9.7f, 1.5f, 6, 12.2f, 0.2f};
    const double comp[2][3] = {{0.43837836, 0.89855477, 0.02058493},
                               {0.06104382, -0.05261589, 0.99674732}};
    const double var[2] = {15.13743305, 0.50236054}, y01[2][2] = {{-5.52138792, -0.25938876},
                                                                   {-3.72488494, 0.22110488}};
    pca p = {0};
    dc_err e = {0};
    CHECK(pca_fit(&p, X, 6, 3, 2, &e) == 0);
    for (int t = 0; t < 2; t++) {
        for (int i = 0; i < 3; i++) CHECK_NEAR(p.W[i * 2 + t], comp[t][i], 1e-5);
        CHECK_NEAR(p.var[t], var[t], 1e-5);
    }
    float Y[6 * 2];
    CHECK(pca_transform(&p, X, 6, Y, &e) == 0);
    for (int r = 0; r < 2; r++)
        for (int t = 0; t < 2; t++) CHECK_NEAR(Y[r * 2 + t], y01[r][t], 1e-4);
    /* the mean of the points projects to the origin; the mean of rows 0 and 1 to the mean
     * of their projections (the map is affine) */
    float mid[2 * 3] = {3.5f, (2 + 3.5f + 6.1f + 8 + 9.7f + 12.2f) / 6, (0.5f + 1 + 0 + 2 + 1.5f + 0.2f) / 6,
                        1.5f, 2.75f, 0.75f};
    float Ym[2 * 2];
    CHECK(pca_transform(&p, mid, 2, Ym, &e) == 0);
    CHECK_NEAR(Ym[0], 0, 1e-5);
    CHECK_NEAR(Ym[1], 0, 1e-5);
    CHECK_NEAR(Ym[2], (Y[0] + Y[2]) / 2, 1e-5);
    CHECK_NEAR(Ym[3], (Y[1] + Y[3]) / 2, 1e-5);
    pca_free(&p);
    pca_free(&p); /* idempotent */
    CHECK(pca_fit(&p, X, 6, 3, 4, &e) == DC_EINVAL && !p.W);
    CHECK(pca_fit(&p, X, 0, 3, 2, &e) == DC_EINVAL);
    CHECK(pca_fit(&p, NULL, 6, 3, 2, &e) == DC_EINVAL);
    /* top components by subspace iteration = Jacobi's, up to sign conventions (both make
     * the largest |entry| positive) */
    CHECK(pca_fit_top(&p, X, 6, 3, 2, &e) == 0);
    for (int t = 0; t < 2; t++) {
        for (int i = 0; i < 3; i++) CHECK_NEAR(p.W[i * 2 + t], comp[t][i], 1e-5);
        CHECK_NEAR(p.var[t], var[t], 1e-5);
    }
    pca_free(&p);
    enum { N = 600, D = 60, C = 3 };
    float *big = malloc(sizeof *big * N * D);
    unsigned s = 12345;
    for (int i = 0; i < N * D; i++) { /* column j scaled by 0.8^j, plus a shared factor */
        s = s * 1103515245u + 12345u;
        double u = ((s >> 8) & 0xffff) / 65536.0 - 0.5;
        big[i] = (float)(u * pow(0.8, i % D) + (i % D >= 1 && i % D < 5 ? 0.3 * big[i - i % D] : 0));
    }
    pca a = {0}, b = {0};
    CHECK(pca_fit(&a, big, N, D, C, &e) == 0);
    CHECK(pca_fit_top(&b, big, N, D, C, &e) == 0);
    for (int t = 0; t < C; t++) {
        CHECK_NEAR(b.var[t], a.var[t], 1e-6 * a.var[0]);
        double dot = 0;
        for (int i = 0; i < D; i++) dot += (double)a.W[i * C + t] * b.W[i * C + t];
        CHECK_NEAR(dot, 1.0, 1e-4);
    }
    pca_free(&a);
    pca_free(&b);
    free(big);
    CHECK(pca_fit_top(&p, X, 6, 3, 4, &e) == DC_EINVAL && !p.W);
    return CHECK_DONE();
}
