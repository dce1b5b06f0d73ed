#include "nn_ops.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

/* ---------------- activations ---------------- */

void nn_act_forward(float *out, const float *in, size_t n, nn_act act, float slope)
{
    switch (act) {
    case NN_IDENTITY:
        if (out != in) memmove(out, in, n * sizeof *out);
        break;
    case NN_RELU:
        for (size_t i = 0; i < n; i++) {
            float v = in[i];
            out[i] = v > 0 ? v : 0.0f;
        }
        break;
    case NN_LEAKY_RELU:
        for (size_t i = 0; i < n; i++) {
            float v = in[i];
            out[i] = v * (v > 0 ? 1.0f : slope);
        }
        break;
    case NN_SIGMOID:
        for (size_t i = 0; i < n; i++) out[i] = 1.0f / (1.0f + expf(-in[i]));
        break;
    }
}

void nn_act_backward(float *din, const float *dout, const float *y, size_t n, nn_act act,
                     float slope)
{
    switch (act) {
    case NN_IDENTITY:
        for (size_t i = 0; i < n; i++) din[i] += dout[i];
        break;
    case NN_RELU:
        for (size_t i = 0; i < n; i++) {
            float g = dout[i];
            din[i] += y[i] > 0 ? g : 0.0f;
        }
        break;
    case NN_LEAKY_RELU:
        for (size_t i = 0; i < n; i++) {
            float g = dout[i];
            din[i] += g * (y[i] > 0 ? 1.0f : slope);
        }
        break;
    case NN_SIGMOID:
        for (size_t i = 0; i < n; i++) din[i] += dout[i] * y[i] * (1.0f - y[i]);
        break;
    }
}

/* ---------------- softmax ---------------- */

void nn_softmax_forward(float *out, const float *in, int B, int K)
{
    for (int b = 0; b < B; b++) {
        const float *x = in + (size_t)b * K;
        float *y = out + (size_t)b * K;
        float mx = x[0];
        for (int k = 1; k < K; k++) mx = x[k] > mx ? x[k] : mx;
        double s = 0;
        for (int k = 0; k < K; k++) {
            y[k] = expf(x[k] - mx);
            s += y[k];
        }
        float inv = (float)(1.0 / s);
        for (int k = 0; k < K; k++) y[k] *= inv;
    }
}

void nn_softmax_backward(float *din, const float *dout, const float *y, int B, int K)
{
    for (int b = 0; b < B; b++) {
        const float *g = dout + (size_t)b * K, *p = y + (size_t)b * K;
        float *d = din + (size_t)b * K;
        double dot = 0;
        for (int k = 0; k < K; k++) dot += (double)g[k] * p[k];
        for (int k = 0; k < K; k++) d[k] += p[k] * (g[k] - (float)dot);
    }
}

/* ---------------- dense ---------------- */

static void add_bias_rows(float *out, const float *b, int rows, int cols)
{
    if (!b) return;
    for (int r = 0; r < rows; r++) {
        float *o = out + (size_t)r * cols;
        for (int j = 0; j < cols; j++) o[j] += b[j];
    }
}

static void sum_rows(float *db, const float *dout, int rows, int cols)
{
    if (!db) return;
    for (int r = 0; r < rows; r++) {
        const float *g = dout + (size_t)r * cols;
        for (int j = 0; j < cols; j++) db[j] += g[j];
    }
}

void nn_dense_forward(float *out, const float *in, const float *w, const float *b, int B,
                      int IN, int OUT)
{
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, OUT, IN, 1.0f, in, IN, w, OUT,
                0.0f, out, OUT);
    add_bias_rows(out, b, B, OUT);
}

void nn_dense_backward(float *din, float *dw, float *db, const float *dout, const float *in,
                       const float *w, int B, int IN, int OUT)
{
    /* dw (IN,OUT) += in^T (IN,B) @ dout (B,OUT) */
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, IN, OUT, B, 1.0f, in, IN, dout, OUT,
                1.0f, dw, OUT);
    sum_rows(db, dout, B, OUT);
    /* din (B,IN) += dout (B,OUT) @ w^T (OUT,IN) */
    if (din)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, IN, OUT, 1.0f, dout, OUT, w,
                    OUT, 1.0f, din, IN);
}

void nn_dense_forward_naive(float *out, const float *in, const float *w, const float *b,
                            int B, int IN, int OUT)
{
    for (int r = 0; r < B; r++)
        for (int j = 0; j < OUT; j++) {
            double s = b ? b[j] : 0.0;
            for (int i = 0; i < IN; i++) s += (double)in[(size_t)r * IN + i] * w[(size_t)i * OUT + j];
            out[(size_t)r * OUT + j] = (float)s;
        }
}

/* ---------------- im2col ---------------- */

int nn_conv_out(int H, int K, int S, int P)
{
    if (K <= 0 || S <= 0 || P < 0 || H + 2 * P < K) return 0;
    return (H + 2 * P - K) / S + 1;
}

int nn_convt_out(int H, int K, int S, int P, int OP)
{
    if (K <= 0 || S <= 0 || P < 0 || OP < 0 || OP >= S) return 0;
    return (H - 1) * S - 2 * P + K + OP;
}

/* The kernel columns kx in [*k0, *k1) of output column ox land inside the image row
 * (0 <= ox*S-P+kx < W); they are contiguous there, so one copy per kernel row. */
static void kx_span(int ox, int K, int S, int P, int W, int *k0, int *k1)
{
    int x0 = ox * S - P;
    *k0 = x0 < 0 ? (-x0 < K ? -x0 : K) : 0;
    *k1 = W - x0 < K ? W - x0 : K;
    if (*k1 < *k0) *k1 = *k0;
}

void nn_im2col(float *col, const float *img, int B, int H, int W, int C, int K, int S, int P,
               int OH, int OW)
{
    size_t rowlen = (size_t)K * K * C;
    for (int b = 0; b < B; b++)
        for (int oy = 0; oy < OH; oy++)
            for (int ox = 0; ox < OW; ox++) {
                float *row = col + (((size_t)b * OH + oy) * OW + ox) * rowlen;
                int k0, k1;
                kx_span(ox, K, S, P, W, &k0, &k1);
                for (int ky = 0; ky < K; ky++) {
                    int iy = oy * S - P + ky;
                    float *dst = row + (size_t)ky * K * C;
                    if (iy < 0 || iy >= H || k0 == k1) {
                        memset(dst, 0, (size_t)K * C * sizeof *dst);
                        continue;
                    }
                    const float *src = img + (((size_t)b * H + iy) * W + (ox * S - P + k0)) * C;
                    if (k0 > 0) memset(dst, 0, (size_t)k0 * C * sizeof *dst);
                    memcpy(dst + (size_t)k0 * C, src, (size_t)(k1 - k0) * C * sizeof *dst);
                    if (k1 < K) memset(dst + (size_t)k1 * C, 0, (size_t)(K - k1) * C * sizeof *dst);
                }
            }
}

void nn_col2im(float *img, const float *col, int B, int H, int W, int C, int K, int S, int P,
               int OH, int OW)
{
    size_t rowlen = (size_t)K * K * C;
    for (int b = 0; b < B; b++)
        for (int oy = 0; oy < OH; oy++)
            for (int ox = 0; ox < OW; ox++) {
                const float *row = col + (((size_t)b * OH + oy) * OW + ox) * rowlen;
                int k0, k1;
                kx_span(ox, K, S, P, W, &k0, &k1);
                size_t len = (size_t)(k1 - k0) * C;
                if (len == 0) continue;
                for (int ky = 0; ky < K; ky++) {
                    int iy = oy * S - P + ky;
                    if (iy < 0 || iy >= H) continue;
                    /* each image value gets one addition per (oy, ox, ky): same order as
                       pixel by pixel */
                    float *restrict d = img + (((size_t)b * H + iy) * W + (ox * S - P + k0)) * C;
                    const float *restrict s = row + ((size_t)ky * K + k0) * C;
                    for (size_t i = 0; i < len; i++) d[i] += s[i];
                }
            }
}

/* ---------------- conv ---------------- */

void nn_conv_forward(float *out, float *col, const float *in, const float *w, const float *b,
                     int B, int H, int W, int C, int OC, int K, int S, int P)
{
    int OH = nn_conv_out(H, K, S, P), OW = nn_conv_out(W, K, S, P);
    int M = B * OH * OW, KK = K * K * C;
    nn_im2col(col, in, B, H, W, C, K, S, P, OH, OW);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, OC, KK, 1.0f, col, KK, w, OC,
                0.0f, out, OC);
    add_bias_rows(out, b, M, OC);
}

void nn_conv_backward(float *din, float *dw, float *db, float *dcol, const float *dout,
                      const float *col, const float *w, int B, int H, int W, int C, int OC,
                      int K, int S, int P)
{
    int OH = nn_conv_out(H, K, S, P), OW = nn_conv_out(W, K, S, P);
    int M = B * OH * OW, KK = K * K * C;
    /* dw (KK,OC) += col^T (KK,M) @ dout (M,OC) */
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, KK, OC, M, 1.0f, col, KK, dout, OC,
                1.0f, dw, OC);
    sum_rows(db, dout, M, OC);
    if (din) {
        /* dcol (M,KK) = dout (M,OC) @ w^T (OC,KK) */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, KK, OC, 1.0f, dout, OC, w, OC,
                    0.0f, dcol, KK);
        nn_col2im(din, dcol, B, H, W, C, K, S, P, OH, OW);
    }
}

void nn_conv_forward_naive(float *out, const float *in, const float *w, const float *b, int B,
                           int H, int W, int C, int OC, int K, int S, int P)
{
    int OH = nn_conv_out(H, K, S, P), OW = nn_conv_out(W, K, S, P);
    for (int n = 0; n < B; n++)
        for (int oy = 0; oy < OH; oy++)
            for (int ox = 0; ox < OW; ox++)
                for (int o = 0; o < OC; o++) {
                    double s = b ? b[o] : 0.0;
                    for (int ky = 0; ky < K; ky++)
                        for (int kx = 0; kx < K; kx++) {
                            int iy = oy * S - P + ky, ix = ox * S - P + kx;
                            if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
                            for (int c = 0; c < C; c++)
                                s += (double)in[(((size_t)n * H + iy) * W + ix) * C + c] *
                                     w[(((size_t)ky * K + kx) * C + c) * OC + o];
                        }
                    out[(((size_t)n * OH + oy) * OW + ox) * OC + o] = (float)s;
                }
}

/* ---------------- transposed conv ---------------- */

void nn_convt_forward(float *out, float *col, const float *in, const float *w, const float *b,
                      int B, int H, int W, int C, int OC, int K, int S, int P, int OP)
{
    int OH = nn_convt_out(H, K, S, P, OP), OW = nn_convt_out(W, K, S, P, OP);
    int M = B * H * W, KK = K * K * OC;
    /* col (M,KK) = in (M,C) @ w (C,KK), then scatter-add into out */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, KK, C, 1.0f, in, C, w, KK, 0.0f,
                col, KK);
    memset(out, 0, (size_t)B * OH * OW * OC * sizeof *out);
    nn_col2im(out, col, B, OH, OW, OC, K, S, P, H, W);
    add_bias_rows(out, b, B * OH * OW, OC);
}

void nn_convt_backward(float *din, float *dw, float *db, float *dcol, const float *dout,
                       const float *in, const float *w, int B, int H, int W, int C, int OC,
                       int K, int S, int P, int OP)
{
    int OH = nn_convt_out(H, K, S, P, OP), OW = nn_convt_out(W, K, S, P, OP);
    int M = B * H * W, KK = K * K * OC;
    nn_im2col(dcol, dout, B, OH, OW, OC, K, S, P, H, W);
    /* dw (C,KK) += in^T (C,M) @ dcol (M,KK) */
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, C, KK, M, 1.0f, in, C, dcol, KK, 1.0f,
                dw, KK);
    sum_rows(db, dout, B * OH * OW, OC);
    /* din (M,C) += dcol (M,KK) @ w^T (KK,C) */
    if (din)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, C, KK, 1.0f, dcol, KK, w, KK,
                    1.0f, din, C);
}

void nn_convt_forward_naive(float *out, const float *in, const float *w, const float *b,
                            int B, int H, int W, int C, int OC, int K, int S, int P, int OP)
{
    int OH = nn_convt_out(H, K, S, P, OP), OW = nn_convt_out(W, K, S, P, OP);
    for (size_t i = 0; i < (size_t)B * OH * OW; i++)
        for (int o = 0; o < OC; o++) out[i * OC + o] = b ? b[o] : 0.0f;
    /* every input pixel (iy,ix) scatters w[c,ky,kx,:] to output (iy*S-P+ky, ix*S-P+kx) */
    for (int n = 0; n < B; n++)
        for (int iy = 0; iy < H; iy++)
            for (int ix = 0; ix < W; ix++)
                for (int ky = 0; ky < K; ky++)
                    for (int kx = 0; kx < K; kx++) {
                        int oy = iy * S - P + ky, ox = ix * S - P + kx;
                        if (oy < 0 || oy >= OH || ox < 0 || ox >= OW) continue;
                        for (int o = 0; o < OC; o++) {
                            double s = 0;
                            for (int c = 0; c < C; c++)
                                s += (double)in[(((size_t)n * H + iy) * W + ix) * C + c] *
                                     w[(size_t)c * K * K * OC + ((size_t)ky * K + kx) * OC + o];
                            out[(((size_t)n * OH + oy) * OW + ox) * OC + o] += (float)s;
                        }
                    }
}

/* ---------------- max pooling ---------------- */

void nn_maxpool_forward(float *out, int *idx, const float *in, int B, int H, int W, int C,
                        int K, int S)
{
    int OH = (H - K) / S + 1, OW = (W - K) / S + 1;
    for (int n = 0; n < B; n++)
        for (int oy = 0; oy < OH; oy++)
            for (int ox = 0; ox < OW; ox++)
                for (int c = 0; c < C; c++) {
                    size_t best = (((size_t)n * H + oy * S) * W + ox * S) * C + c;
                    for (int ky = 0; ky < K; ky++)
                        for (int kx = 0; kx < K; kx++) {
                            size_t j = (((size_t)n * H + oy * S + ky) * W + ox * S + kx) * C + c;
                            if (in[j] > in[best]) best = j;
                        }
                    size_t o = (((size_t)n * OH + oy) * OW + ox) * C + c;
                    out[o] = in[best];
                    idx[o] = (int)best;
                }
}

void nn_maxpool_backward(float *din, const float *dout, const int *idx, size_t n)
{
    for (size_t i = 0; i < n; i++) din[idx[i]] += dout[i];
}

/* ---------------- losses ---------------- */

double nn_mse_loss(float *dpred, const float *pred, const float *target, size_t n,
                   float gscale)
{
    double s = 0;
    float g = gscale * 2.0f / (float)n;
    for (size_t i = 0; i < n; i++) {
        float d = pred[i] - target[i];
        s += (double)d * d;
        if (dpred) dpred[i] = g * d;
    }
    return s / (double)n;
}

double nn_bce_logits_loss(float *dx, const float *x, const float *t, size_t n, float gscale)
{
    double s = 0;
    float g = gscale / (float)n;
    for (size_t i = 0; i < n; i++) {
        float v = x[i], a = fabsf(v), e = expf(-a);
        s += (double)(v > 0 ? v : 0) - (double)v * t[i] + log1p((double)e);
        if (dx) {
            float sig = v >= 0 ? 1.0f / (1.0f + e) : e / (1.0f + e);
            dx[i] = g * (sig - t[i]);
        }
    }
    return s / (double)n;
}

double nn_kl_loss(float *dq, const float *p, const float *q, int B, int K, float gscale)
{
    double s = 0;
    float g = gscale / (float)B;
    for (size_t i = 0; i < (size_t)B * K; i++) {
        if (p[i] > 0) s += (double)p[i] * log((double)p[i] / (double)q[i]);
        if (dq) dq[i] = -g * p[i] / q[i];
    }
    return s / B;
}
