/* nn_ops: the neural-network kernels, llm.c style. Every block is a pair of plain
 * functions over raw float pointers, with the shapes in a comment. Nothing here
 * allocates; workspaces are passed in by the caller (normally an nn_net, see nn.h).
 *
 * Conventions (all functions):
 *   - row-major; B is the batch size; images are NHWC (batch, height, width, channel),
 *     so flattening an image is a no-op on memory (Keras channels_last order).
 *   - *_backward ADDS into its outputs (din, dw, db): zeroing is an explicit step
 *     (memset) done by the caller. din may be NULL when the input gradient is not
 *     needed (saves a GEMM).
 *   - fast kernels use cblas_sgemm; a *_naive reference sits beside each of them
 *     (dense, conv, convT) for the tests.
 *   - losses return the loss value (double) and WRITE (=, not +=) the gradient with
 *     respect to their prediction argument, scaled by gscale (use 1; IDEC's gamma can
 *     go here); the gradient pointer may be NULL.
 *
 * Geometry of the convolutions (square kernels, symmetric padding):
 *   conv : in (B,H,W,C) -> out (B,OH,OW,OC), OH = (H + 2P - K)/S + 1 (floor);
 *          weight (K,K,C,OC) = matrix (K*K*C, OC); bias (OC).
 *   convT: in (B,H,W,C) -> out (B,OH,OW,OC), OH = (H-1)*S - 2P + K + OP, 0 <= OP < S;
 *          weight (C, K,K,OC) = matrix (C, K*K*OC); bias (OC). It is the exact adjoint
 *          (transpose) of a conv (OH,OW,OC) -> (H,W,C) with the same K,S,P.
 */
#ifndef DC_NN_OPS_H
#define DC_NN_OPS_H

#include <stddef.h>

/* ---- activations (element-wise over n floats) ---- */
typedef enum nn_act {
    NN_IDENTITY = 0,
    NN_RELU = 1,
    NN_LEAKY_RELU = 2, /* y = x > 0 ? x : slope * x, slope > 0 */
    NN_SIGMOID = 3,
} nn_act;

/* out = f(in); out may equal in. */
void nn_act_forward(float *out, const float *in, size_t n, nn_act act, float slope);
/* din += dout * f'(.) computed from the forward OUTPUT y (ReLU: y > 0; leaky: y > 0;
 * sigmoid: y(1-y)). */
void nn_act_backward(float *din, const float *dout, const float *y, size_t n, nn_act act,
                     float slope);

/* ---- softmax over rows: in, out (B,K); out may equal in ---- */
void nn_softmax_forward(float *out, const float *in, int B, int K);
/* din += y * (dout - sum_k dout*y), y the forward output (B,K). */
void nn_softmax_backward(float *din, const float *dout, const float *y, int B, int K);

/* ---- dense: in (B,IN), w (IN,OUT), b (OUT) or NULL, out (B,OUT) ---- */
void nn_dense_forward(float *out, const float *in, const float *w, const float *b, int B,
                      int IN, int OUT);
/* din (B,IN) or NULL, dw (IN,OUT), db (OUT) or NULL; dout (B,OUT), in (B,IN). */
void nn_dense_backward(float *din, float *dw, float *db, const float *dout, const float *in,
                       const float *w, int B, int IN, int OUT);
void nn_dense_forward_naive(float *out, const float *in, const float *w, const float *b,
                            int B, int IN, int OUT);

/* ---- im2col / col2im, NHWC ----
 * col (B*OH*OW, K*K*C): row (b,oy,ox), column (ky,kx,c) = in[b, oy*S-P+ky, ox*S-P+kx, c]
 * (0 outside). col2im ADDS each column entry back into img (the adjoint). */
void nn_im2col(float *col, const float *img, int B, int H, int W, int C, int K, int S, int P,
               int OH, int OW);
void nn_col2im(float *img, const float *col, int B, int H, int W, int C, int K, int S, int P,
               int OH, int OW);

/* Output size helpers. */
int nn_conv_out(int H, int K, int S, int P);            /* (H+2P-K)/S+1, or <= 0 if bad */
int nn_convt_out(int H, int K, int S, int P, int OP);   /* (H-1)S-2P+K+OP */

/* ---- conv: in (B,H,W,C), w (K*K*C,OC), b (OC) or NULL, out (B,OH,OW,OC) ----
 * col: workspace (B*OH*OW, K*K*C), left holding im2col(in) for the backward pass. */
void nn_conv_forward(float *out, float *col, const float *in, const float *w, const float *b,
                     int B, int H, int W, int C, int OC, int K, int S, int P);
/* col: as left by the forward; dcol: workspace of the same size (used only if din);
 * din (B,H,W,C) or NULL; dw (K*K*C,OC); db (OC) or NULL. */
void nn_conv_backward(float *din, float *dw, float *db, float *dcol, const float *dout,
                      const float *col, const float *w, int B, int H, int W, int C, int OC,
                      int K, int S, int P);
void nn_conv_forward_naive(float *out, const float *in, const float *w, const float *b, int B,
                           int H, int W, int C, int OC, int K, int S, int P);

/* ---- transposed conv: in (B,H,W,C), w (C,K*K*OC), b (OC) or NULL, out (B,OH,OW,OC) ----
 * col: workspace (B*H*W, K*K*OC), free to reuse after the call. */
void nn_convt_forward(float *out, float *col, const float *in, const float *w, const float *b,
                      int B, int H, int W, int C, int OC, int K, int S, int P, int OP);
/* dcol: workspace (B*H*W, K*K*OC); din (B,H,W,C) or NULL; dw (C,K*K*OC); db (OC) or NULL;
 * in: the forward input. */
void nn_convt_backward(float *din, float *dw, float *db, float *dcol, const float *dout,
                       const float *in, const float *w, int B, int H, int W, int C, int OC,
                       int K, int S, int P, int OP);
void nn_convt_forward_naive(float *out, const float *in, const float *w, const float *b,
                            int B, int H, int W, int C, int OC, int K, int S, int P, int OP);

/* ---- max pooling, no padding: in (B,H,W,C) -> out (B,OH,OW,C), OH = (H-K)/S+1 ----
 * idx (B*OH*OW*C): flat index into in of each output's maximum (kept for backward). */
void nn_maxpool_forward(float *out, int *idx, const float *in, int B, int H, int W, int C,
                        int K, int S);
/* din[idx[i]] += dout[i] for the n = B*OH*OW*C outputs. */
void nn_maxpool_backward(float *din, const float *dout, const int *idx, size_t n);

/* ---- losses over n = B*D elements (means are over all n elements, as Keras 'mse') ---- */
/* MSE = mean((pred-target)^2); dpred = gscale * 2(pred-target)/n. */
double nn_mse_loss(float *dpred, const float *pred, const float *target, size_t n,
                   float gscale);
/* Binary cross-entropy ON LOGITS x (numerically stable; no sigmoid layer before it):
 * mean(max(x,0) - x*t + log1p(exp(-|x|))); dx = gscale * (sigmoid(x) - t)/n.
 * t in [0,1]. */
double nn_bce_logits_loss(float *dx, const float *x, const float *t, size_t n, float gscale);
/* KL(P||Q) for row-stochastic P, Q (B,K), averaged over rows (Keras 'kld'):
 * (1/B) sum_ij p_ij log(p_ij/q_ij) (terms with p_ij = 0 count 0);
 * dq = gscale * (-p/q)/B. q must be > 0. */
double nn_kl_loss(float *dq, const float *p, const float *q, int B, int K, float gscale);

#endif
