/* nn: the cblas kernels (dense, conv, convT) against their naive references on random
 * shapes including stride, padding and output padding; im2col/col2im are adjoint. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "nn_ops.h"
#include "rng.h"

static float *rnd(size_t n, rng *r)
{
    float *a = malloc((n ? n : 1) * sizeof *a);
    for (size_t i = 0; i < n; i++) a[i] = (float)rng_normal(r);
    return a;
}

/* max |a-b| / max(1, max |b|) */
static double relmax(const float *a, const float *b, size_t n)
{
    double m = 0, s = 1;
    for (size_t i = 0; i < n; i++) {
        m = fmax(m, fabs((double)a[i] - b[i]));
        s = fmax(s, fabs((double)b[i]));
    }
    return m / s;
}

static int rint_(rng *r, int lo, int hi) { return lo + (int)rng_below(r, (uint64_t)(hi - lo + 1)); }

int main(void)
{
    rng r;
    rng_seed(&r, 2024);
    for (int t = 0; t < 20; t++) {
        int B = rint_(&r, 1, 5), IN = rint_(&r, 1, 70), OUT = rint_(&r, 1, 40);
        float *x = rnd((size_t)B * IN, &r), *w = rnd((size_t)IN * OUT, &r), *b = rnd(OUT, &r);
        float *o1 = malloc((size_t)B * OUT * sizeof *o1), *o2 = malloc((size_t)B * OUT * sizeof *o2);
        /* backward against loops: din += dout w^T, dw += x^T dout, db += colsum */
        {
            float *dout = rnd((size_t)B * OUT, &r), *din = rnd((size_t)B * IN, &r),
                  *dw = rnd((size_t)IN * OUT, &r), *db = rnd(OUT, &r);
            float *din2 = malloc((size_t)B * IN * sizeof *din2), *dw2 = malloc((size_t)IN * OUT * sizeof *dw2),
                  *db2 = malloc(OUT * sizeof *db2);
            for (int i = 0; i < B * IN; i++) {
                double s = din[i];
                for (int j = 0; j < OUT; j++) s += (double)dout[(i / IN) * OUT + j] * w[(i % IN) * OUT + j];
                din2[i] = (float)s;
            }
            for (int i = 0; i < IN * OUT; i++) {
                double s = dw[i];
                for (int q = 0; q < B; q++) s += (double)x[q * IN + i / OUT] * dout[q * OUT + i % OUT];
                dw2[i] = (float)s;
            }
            for (int j = 0; j < OUT; j++) {
                double s = db[j];
                for (int q = 0; q < B; q++) s += dout[q * OUT + j];
                db2[j] = (float)s;
            }
            nn_dense_backward(din, dw, db, dout, x, w, B, IN, OUT);
            double e1 = relmax(din, din2, (size_t)B * IN), e2 = relmax(dw, dw2, (size_t)IN * OUT),
                   e3 = relmax(db, db2, OUT);
            CHECK_MSG(e1 < 1e-5 && e2 < 1e-5 && e3 < 1e-5,
                      "dense backward B=%d IN=%d OUT=%d: rel diffs %.3e %.3e %.3e", B, IN, OUT, e1, e2, e3);
            free(dout), free(din), free(dw), free(db), free(din2), free(dw2), free(db2);
        }
        nn_dense_forward(o1, x, w, t % 2 ? b : NULL, B, IN, OUT);
        nn_dense_forward_naive(o2, x, w, t % 2 ? b : NULL, B, IN, OUT);
        double e = relmax(o1, o2, (size_t)B * OUT);
        CHECK_MSG(e < 1e-5, "dense B=%d IN=%d OUT=%d: rel diff expected < 1e-5, got %.3e", B, IN,
                  OUT, e);
        free(x), free(w), free(b), free(o1), free(o2);
    }
    for (int t = 0; t < 200; t++) {
        int B = rint_(&r, 1, 3), H = rint_(&r, 3, 12), W = rint_(&r, 3, 12), C = rint_(&r, 1, 4),
            OC = rint_(&r, 1, 6), K = rint_(&r, 1, 5), S = rint_(&r, 1, 3), P = rint_(&r, 0, K - 1);
        int OH = nn_conv_out(H, K, S, P), OW = nn_conv_out(W, K, S, P);
        if (OH <= 0 || OW <= 0) continue;
        size_t nin = (size_t)B * H * W * C, nout = (size_t)B * OH * OW * OC;
        float *x = rnd(nin, &r), *w = rnd((size_t)K * K * C * OC, &r), *b = rnd(OC, &r);
        float *col = malloc((size_t)B * OH * OW * K * K * C * sizeof *col);
        float *o1 = malloc(nout * sizeof *o1), *o2 = malloc(nout * sizeof *o2);
        nn_conv_forward(o1, col, x, w, b, B, H, W, C, OC, K, S, P);
        nn_conv_forward_naive(o2, x, w, b, B, H, W, C, OC, K, S, P);
        double e = relmax(o1, o2, nout);
        CHECK_MSG(e < 1e-5, "conv %dx%dx%d->%d K%d S%d P%d: rel diff expected < 1e-5, got %.3e",
                  H, W, C, OC, K, S, P, e);
        /* adjoint: <im2col(x), c> == <x, col2im(c)> */
        size_t ncol = (size_t)B * OH * OW * K * K * C;
        float *c = rnd(ncol, &r), *xa = calloc(nin, sizeof *xa);
        nn_im2col(col, x, B, H, W, C, K, S, P, OH, OW);
        nn_col2im(xa, c, B, H, W, C, K, S, P, OH, OW);
        double l = 0, rr = 0;
        for (size_t i = 0; i < ncol; i++) l += (double)col[i] * c[i];
        for (size_t i = 0; i < nin; i++) rr += (double)x[i] * xa[i];
        CHECK_MSG(fabs(l - rr) <= 1e-4 * (fabs(l) + 1), "im2col adjoint: %.9g vs %.9g", l, rr);
        free(x), free(w), free(b), free(col), free(o1), free(o2), free(c), free(xa);

        /* transposed conv with a valid output padding */
        int OP = rint_(&r, 0, S - 1);
        int TH = nn_convt_out(H, K, S, P, OP), TW = nn_convt_out(W, K, S, P, OP);
        if (TH <= 0 || TW <= 0) continue;
        size_t tout = (size_t)B * TH * TW * OC;
        x = rnd(nin, &r);
        w = rnd((size_t)C * K * K * OC, &r);
        b = rnd(OC, &r);
        col = malloc((size_t)B * H * W * K * K * OC * sizeof *col);
        o1 = malloc(tout * sizeof *o1);
        o2 = malloc(tout * sizeof *o2);
        nn_convt_forward(o1, col, x, w, b, B, H, W, C, OC, K, S, P, OP);
        nn_convt_forward_naive(o2, x, w, b, B, H, W, C, OC, K, S, P, OP);
        e = relmax(o1, o2, tout);
        CHECK_MSG(e < 1e-5,
                  "convT %dx%dx%d->%d K%d S%d P%d OP%d: rel diff expected < 1e-5, got %.3e", H,
                  W, C, OC, K, S, P, OP, e);
        free(x), free(w), free(b), free(col), free(o1), free(o2);
    }
    /* known values: 1x1 conv = dense per pixel; 3x3 box filter, pad 1 */
    {
        float x[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9}, w[9], o[9], col[81];
        for (int i = 0; i < 9; i++) w[i] = 1;
        nn_conv_forward(o, col, x, w, NULL, 1, 3, 3, 1, 1, 3, 1, 1);
        CHECK_NEAR(o[4], 45.0, 1e-5);
        CHECK_NEAR(o[0], 1 + 2 + 4 + 5, 1e-5);
        CHECK_NEAR(o[8], 5 + 6 + 8 + 9, 1e-5);
    }
    return CHECK_DONE();
}
