/* nn: networks built at run time from the kernels of nn_ops.h, with one contiguous
 * parameter buffer, optimizers, initialisers and serialisation.
 *
 * README-nn
 * ---------
 * Files: nn_ops.h (layer kernels + losses, raw pointers), nn.h (this: nets, optimizers,
 * init, save/load), nn_ae.h (the DEC and DCEC autoencoders and their training loop).
 *
 * A net is a stack of blocks over one sample shape (h,w,c) (flat vectors: 1,1,d), with
 * a workspace sized for max_batch samples:
 *
 *   nn_net *enc = nn_net_new(1, 1, 784, 256, &e);
 *   nn_net_add_dense(enc, 500, &e); nn_net_add_act(enc, NN_RELU, 0, &e);
 *   nn_net_add_dense(enc, 10, &e);
 *   nn_net_alloc(enc, &e);                      // owns its params and grads, zeroed
 *   rng r; rng_seed(&r, 1); nn_net_init(enc, NN_INIT_GLOROT_UNIFORM, &r);
 *   const float *z = nn_net_forward(enc, x, B); // (B,10), owned by the net
 *   nn_net_backward(enc, dz, dx_or_NULL, B);    // grads += ..., dx overwritten
 *   nn_optim_step(&opt, nn_net_params(enc), nn_net_grads(enc)); // also zeroes grads
 *
 * Composite models (AE = encoder + decoder, DEC = encoder + centroids, VAE = several
 * nets) keep ONE parameter buffer and ONE gradient buffer: ask each net its
 * nn_net_nparams(), allocate the sum (plus your own tensors, e.g. centroids), and
 * nn_net_bind() each net to its slice. The optimizer, a checkpoint (memcpy) and the
 * stored BLOB then see one flat array. Offsets of every tensor of a net are in its size
 * table (nn_net_tensor()).
 *
 * Rules:
 *   - An activation added right after a dense/conv/convT block is fused into it (bias +
 *     activation in one pass forward, activation derivative + bias gradient in one pass
 *     backward). Observable behaviour is the same as a separate block.
 *   - nn_net_forward keeps pointers to `in` and to its activations for the backward
 *     pass: `in` must stay valid and unchanged until nn_net_backward returns.
 *   - nn_net_backward ADDS into the parameter gradients and OVERWRITES din; it must
 *     follow a forward of the same net with the same B.
 *   - B <= max_batch always. Not thread-safe: one net per thread.
 *   - Images are NHWC; padding is symmetric (see nn_ops.h for the geometry).
 *   - nn_optim_step splits buffers of >= 512k floats over openblas_get_num_threads()
 *     pthreads (element-wise, so results do not depend on the thread count); GEMM
 *     results, and so training, are reproducible at a fixed OpenBLAS thread count.
 *
 * Performance note: on this VM OpenBLAS's CPU detection falls back to its SSE3
 * 'Prescott' kernels (3-4x slower sgemm); run with OPENBLAS_CORETYPE=SkylakeX (or
 * Haswell) in the environment. See docs/bench-ae.md.
 */
#ifndef DC_NN_H
#define DC_NN_H

#include <stddef.h>
#include <stdint.h>

#include "dc_err.h"
#include "nn_ops.h"
#include "rng.h"

typedef struct nn_net nn_net;

typedef enum nn_block {
    NN_B_DENSE = 1,
    NN_B_ACT = 2,
    NN_B_CONV = 3,
    NN_B_CONVT = 4,
    NN_B_MAXPOOL = 5,
    NN_B_RESHAPE = 6,
    NN_B_SOFTMAX = 7,
} nn_block;

/* ---- building ---- */
/* A new empty net taking samples of shape (h,w,c); NULL on error (message in e). */
nn_net *nn_net_new(int h, int w, int c, int max_batch, dc_err *e);
void nn_net_free(nn_net *net); /* NULL-safe; frees owned params too */

/* Each returns 0 or DC_EINVAL (bad size, or the net is already bound). */
int nn_net_add_dense(nn_net *net, int out, dc_err *e);          /* flattens its input */
int nn_net_add_act(nn_net *net, nn_act act, float slope, dc_err *e);
int nn_net_add_conv(nn_net *net, int out_c, int k, int stride, int pad, dc_err *e);
int nn_net_add_convt(nn_net *net, int out_c, int k, int stride, int pad, int out_pad,
                     dc_err *e);
int nn_net_add_maxpool(nn_net *net, int k, int stride, dc_err *e);
int nn_net_add_reshape(nn_net *net, int h, int w, int c, dc_err *e); /* same size */
int nn_net_add_flatten(nn_net *net, dc_err *e);                      /* -> (1,1,h*w*c) */
int nn_net_add_softmax(nn_net *net, dc_err *e);                      /* over the flat row */

/* ---- parameters ---- */
size_t nn_net_nparams(const nn_net *net); /* floats */
/* Points the net at caller-owned params/grads slices of nn_net_nparams() floats each
 * (the caller keeps ownership) and allocates the workspace. May be called again to
 * move the net to other buffers (contents are not copied; a buffer the net owned from
 * nn_net_alloc/nn_net_load is then freed: copy its params out first). */
int nn_net_bind(nn_net *net, float *params, float *grads, dc_err *e);
/* Convenience: allocates zeroed params and grads owned by the net, then binds. */
int nn_net_alloc(nn_net *net, dc_err *e);
float *nn_net_params(nn_net *net);
float *nn_net_grads(nn_net *net);

typedef enum nn_init {
    NN_INIT_GLOROT_UNIFORM = 0, /* U(+-sqrt(6/(fan_in+fan_out))), Keras default */
    NN_INIT_VARSCALE = 1,       /* VarianceScaling(1/3, fan_in, uniform): U(+-sqrt(1/fan_in)),
                                   DEC-keras */
} nn_init;
/* Initialises the weights of the bound net from r, biases to 0. As Keras: fan_in/fan_out
 * of a conv (C -> OC) are K*K*C and K*K*OC; of a convT (C -> OC) K*K*OC and K*K*C. */
void nn_net_init(nn_net *net, nn_init init, rng *r);

/* Size table: tensor i (0..nn_net_ntensors-1), each layer's weight then bias. */
typedef struct nn_tensor {
    int layer;     /* block index (after fusion) */
    int is_bias;
    size_t offset; /* floats from the start of the net's params */
    size_t size;   /* floats */
    int rows, cols; /* matrix shape: dense (IN,OUT); conv (K*K*C,OC); convT (C,K*K*OC); bias (1,OC) */
} nn_tensor;
int nn_net_ntensors(const nn_net *net);
nn_tensor nn_net_tensor(const nn_net *net, int i);

/* ---- shapes ---- */
int nn_net_nlayers(const nn_net *net);     /* blocks after fusion */
size_t nn_net_in_size(const nn_net *net);  /* floats per input sample */
size_t nn_net_out_size(const nn_net *net); /* floats per output sample */
void nn_net_out_shape(const nn_net *net, int *h, int *w, int *c);
int nn_net_max_batch(const nn_net *net);

/* ---- running ---- */
/* in (B, in_size) -> returns (B, out_size), the net's own buffer, valid until the next
 * forward. NULL if the net is not bound or B is out of range. */
const float *nn_net_forward(nn_net *net, const float *in, int B);
/* dout (B, out_size): gradient of the loss w.r.t. the last forward's output. Adds
 * into the param grads; writes din (B, in_size) unless NULL. Returns 0 or DC_EINVAL. */
int nn_net_backward(nn_net *net, const float *dout, float *din, int B);

/* ---- optimizers over one flat buffer ---- */
typedef enum nn_optim_kind { NN_OPT_ADAM = 0, NN_OPT_SGD = 1 } nn_optim_kind;
typedef struct nn_optim_cfg {
    nn_optim_kind kind;
    float lr;          /* Adam 1e-3, SGD 0.01 are the usual values */
    float momentum;    /* SGD: v = momentum*v - lr*g; p += v (Keras form) */
    float beta1, beta2, eps; /* Adam (0 = defaults 0.9, 0.999, 1e-7 as Keras) */
    long decay_every;  /* step decay: lr * decay_gamma^(floor(t/decay_every)), t = steps */
    float decay_gamma; /* taken; 0 or decay_every <= 0: constant lr */
} nn_optim_cfg;
/* Defaults for a kind: Adam lr 1e-3 or SGD lr 0.01 momentum 0.9, constant lr. */
nn_optim_cfg nn_optim_default(nn_optim_kind kind);

typedef struct nn_optim {
    nn_optim_cfg cfg;
    size_t n;
    long t;       /* steps taken */
    float *m, *v; /* state (n each; v unused by SGD) */
    int avx2;     /* Adam 8 floats at a time (same bits): the CPU has AVX2 and
                     DC_NO_AVX2 was not set when nn_optim_init ran */
} nn_optim;
int nn_optim_init(nn_optim *o, const nn_optim_cfg *cfg, size_t n, dc_err *e);
void nn_optim_free(nn_optim *o); /* NULL-safe, idempotent */
void nn_optim_reset(nn_optim *o); /* zero state, t = 0 */
float nn_optim_lr(const nn_optim *o); /* learning rate of the next step */
/* One update of params (n) from grads (n); grads are set to 0 in the same pass. */
void nn_optim_step(nn_optim *o, float *params, float *grads);

/* ---- serialisation ----
 * Format (little-endian): "DCNN" magic, u32 version (1), u32 header bytes, the header
 * (input shape, max_batch hint, block count, one record per block), u64 nparams, the
 * float32 params, u64 FNV-1a checksum of everything before it. */
size_t nn_net_serial_size(const nn_net *net);
/* Writes into buf (cap bytes, >= nn_net_serial_size); *used = bytes written. */
int nn_net_save(const nn_net *net, void *buf, size_t cap, size_t *used, dc_err *e);
/* Builds a new net from buf (len bytes) with its own params (alloc'd) and workspace for
 * max_batch samples; *used = bytes consumed, so nets can be stored back to back.
 * DC_EFORMAT with a message on a bad magic, version, header, size or checksum. */
int nn_net_load(nn_net **out, const void *buf, size_t len, size_t *used, int max_batch,
                dc_err *e);
/* Same spec (blocks and shapes) as another net? (1/0) */
int nn_net_same_spec(const nn_net *a, const nn_net *b);

#endif
