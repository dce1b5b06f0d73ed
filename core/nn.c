#include "nn.h"

#include "dc_size.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define NN_AVX2 1 /* an 8-wide Adam for CPUs that have AVX2, picked at run time */
#endif

/* Hot element-wise loops are written so that -O2 vectorises them: every load is
 * unconditional (a ternary that loads only on one side is not if-converted). */
#if defined(__GNUC__) && !defined(__clang__)
#define NN_HOT __attribute__((optimize("O3")))
#else
#define NN_HOT
#endif

typedef struct layer {
    nn_block type;
    nn_act act; /* fused activation (dense/conv/convT) or the activation of an ACT block */
    float slope;
    int ih, iw, ic, oh, ow, oc; /* sample shapes in and out */
    int k, s, p, op;
    size_t woff, boff, nw, nb; /* offsets into params (floats) */
    float *out;                /* (max_batch, oh*ow*oc); alias of the input for RESHAPE */
    float *col;                /* conv: im2col of the input, kept for backward */
    int *idx;                  /* maxpool: argmax */
    const float *in;           /* input seen by the last forward */
} layer;

struct nn_net {
    int h, w, c, max_batch;
    int n, cap;
    layer *L;
    size_t nparams;
    float *params, *grads;
    float *own;       /* owned params+grads (nn_net_alloc), or NULL */
    float *scratch;   /* conv dcol / convT col, max over layers */
    float *g[2];      /* ping-pong activation gradients */
    int has_ws;
};

static size_t lin(const layer *l) { return (size_t)l->ih * l->iw * l->ic; }
static size_t lout(const layer *l) { return (size_t)l->oh * l->ow * l->oc; }

nn_net *nn_net_new(int h, int w, int c, int max_batch, dc_err *e)
{
    if (h <= 0 || w <= 0 || c <= 0 || max_batch <= 0) {
        dc_err_set(e, DC_EINVAL, "nn_net_new: bad input shape %dx%dx%d or max_batch %d", h, w,
                   c, max_batch);
        return NULL;
    }
    nn_net *net = calloc(1, sizeof *net);
    if (!net) {
        dc_err_set(e, DC_ENOMEM, "nn_net_new: out of memory");
        return NULL;
    }
    net->h = h;
    net->w = w;
    net->c = c;
    net->max_batch = max_batch;
    return net;
}

static void free_ws(nn_net *net)
{
    for (int i = 0; i < net->n; i++) {
        layer *l = &net->L[i];
        if (l->type != NN_B_RESHAPE) free(l->out);
        free(l->col);
        free(l->idx);
        l->out = l->col = NULL;
        l->idx = NULL;
    }
    free(net->scratch);
    free(net->g[0]);
    free(net->g[1]);
    net->scratch = net->g[0] = net->g[1] = NULL;
    net->has_ws = 0;
}

void nn_net_free(nn_net *net)
{
    if (!net) return;
    free_ws(net);
    free(net->L);
    free(net->own);
    free(net);
}

/* Appends a block whose input is the current output shape; fills ih/iw/ic. */
static layer *push(nn_net *net, nn_block type, dc_err *e)
{
    if (net->params || net->has_ws) {
        dc_err_set(e, DC_EINVAL, "nn_net: cannot add a block after the net is bound");
        return NULL;
    }
    if (net->n == net->cap) {
        int cap = net->cap ? 2 * net->cap : 8;
        layer *L = realloc(net->L, (size_t)cap * sizeof *L);
        if (!L) {
            dc_err_set(e, DC_ENOMEM, "nn_net: out of memory");
            return NULL;
        }
        net->L = L;
        net->cap = cap;
    }
    layer *l = &net->L[net->n];
    memset(l, 0, sizeof *l);
    l->type = type;
    if (net->n == 0) {
        l->ih = net->h;
        l->iw = net->w;
        l->ic = net->c;
    } else {
        layer *p = &net->L[net->n - 1];
        l->ih = p->oh;
        l->iw = p->ow;
        l->ic = p->oc;
    }
    return l;
}

static void add_params(nn_net *net, layer *l, size_t nw, size_t nb)
{
    l->woff = net->nparams;
    l->nw = nw;
    l->boff = net->nparams + nw;
    l->nb = nb;
    net->nparams += nw + nb;
}

int nn_net_add_dense(nn_net *net, int out, dc_err *e)
{
    size_t in, nw, total;
    if (out <= 0) return dc_err_set(e, DC_EINVAL, "nn_net_add_dense: bad size %d", out);
    if ((net->n > 0 ? (in = lout(&net->L[net->n - 1]), 0)
                    : dc_mul3_size(net->h, net->w, net->c, &in)) < 0 ||
        in > INT64_MAX || dc_mul_size((int64_t)in, out, &nw) < 0 ||
        dc_add_size(nw, (size_t)out, &total) < 0 || dc_add_size(total, net->nparams, &total) < 0)
        return dc_err_set(e, DC_EINVAL, "nn_net_add_dense: %d outputs overflow the size of "
                          "the parameters", out);
    layer *l = push(net, NN_B_DENSE, e);
    if (!l) return e ? e->code : DC_EINVAL;
    l->oh = l->ow = 1;
    l->oc = out;
    add_params(net, l, lin(l) * out, (size_t)out);
    net->n++;
    return 0;
}

int nn_net_add_act(nn_net *net, nn_act act, float slope, dc_err *e)
{
    if (act < NN_IDENTITY || act > NN_SIGMOID)
        return dc_err_set(e, DC_EINVAL, "nn_net_add_act: unknown activation %d", (int)act);
    if (act == NN_LEAKY_RELU && !(slope > 0))
        return dc_err_set(e, DC_EINVAL, "nn_net_add_act: leaky ReLU needs slope > 0");
    if (net->params || net->has_ws)
        return dc_err_set(e, DC_EINVAL, "nn_net: cannot add a block after the net is bound");
    if (net->n > 0) {
        layer *p = &net->L[net->n - 1];
        if ((p->type == NN_B_DENSE || p->type == NN_B_CONV || p->type == NN_B_CONVT) &&
            p->act == NN_IDENTITY) {
            p->act = act;
            p->slope = slope;
            return 0;
        }
    }
    if (act == NN_IDENTITY) return 0; /* a no-op block */
    layer *l = push(net, NN_B_ACT, e);
    if (!l) return e ? e->code : DC_EINVAL;
    l->oh = l->ih;
    l->ow = l->iw;
    l->oc = l->ic;
    l->act = act;
    l->slope = slope;
    net->n++;
    return 0;
}

int nn_net_add_conv(nn_net *net, int out_c, int k, int stride, int pad, dc_err *e)
{
    layer *l = push(net, NN_B_CONV, e);
    if (!l) return e ? e->code : DC_EINVAL;
    int oh = nn_conv_out(l->ih, k, stride, pad), ow = nn_conv_out(l->iw, k, stride, pad);
    if (out_c <= 0 || oh <= 0 || ow <= 0)
        return dc_err_set(e, DC_EINVAL,
                          "nn_net_add_conv: %d@%dx%d stride %d pad %d does not fit input %dx%dx%d",
                          out_c, k, k, stride, pad, l->ih, l->iw, l->ic);
    l->oh = oh;
    l->ow = ow;
    l->oc = out_c;
    l->k = k;
    l->s = stride;
    l->p = pad;
    add_params(net, l, (size_t)k * k * l->ic * out_c, (size_t)out_c);
    net->n++;
    return 0;
}

int nn_net_add_convt(nn_net *net, int out_c, int k, int stride, int pad, int out_pad,
                     dc_err *e)
{
    layer *l = push(net, NN_B_CONVT, e);
    if (!l) return e ? e->code : DC_EINVAL;
    int oh = nn_convt_out(l->ih, k, stride, pad, out_pad);
    int ow = nn_convt_out(l->iw, k, stride, pad, out_pad);
    if (out_c <= 0 || oh <= 0 || ow <= 0)
        return dc_err_set(e, DC_EINVAL,
                          "nn_net_add_convt: %d@%dx%d stride %d pad %d out_pad %d does not fit "
                          "input %dx%dx%d",
                          out_c, k, k, stride, pad, out_pad, l->ih, l->iw, l->ic);
    l->oh = oh;
    l->ow = ow;
    l->oc = out_c;
    l->k = k;
    l->s = stride;
    l->p = pad;
    l->op = out_pad;
    add_params(net, l, (size_t)l->ic * k * k * out_c, (size_t)out_c);
    net->n++;
    return 0;
}

int nn_net_add_maxpool(nn_net *net, int k, int stride, dc_err *e)
{
    layer *l = push(net, NN_B_MAXPOOL, e);
    if (!l) return e ? e->code : DC_EINVAL;
    if (k <= 0 || stride <= 0 || k > l->ih || k > l->iw)
        return dc_err_set(e, DC_EINVAL, "nn_net_add_maxpool: %dx%d stride %d on %dx%d", k, k,
                          stride, l->ih, l->iw);
    l->oh = (l->ih - k) / stride + 1;
    l->ow = (l->iw - k) / stride + 1;
    l->oc = l->ic;
    l->k = k;
    l->s = stride;
    net->n++;
    return 0;
}

int nn_net_add_reshape(nn_net *net, int h, int w, int c, dc_err *e)
{
    layer *l = push(net, NN_B_RESHAPE, e);
    if (!l) return e ? e->code : DC_EINVAL;
    if (h <= 0 || w <= 0 || c <= 0 || (size_t)h * w * c != lin(l))
        return dc_err_set(e, DC_EINVAL, "nn_net_add_reshape: %dx%dx%d from %dx%dx%d", h, w, c,
                          l->ih, l->iw, l->ic);
    l->oh = h;
    l->ow = w;
    l->oc = c;
    net->n++;
    return 0;
}

int nn_net_add_flatten(nn_net *net, dc_err *e)
{
    int h = net->n ? net->L[net->n - 1].oh : net->h, w = net->n ? net->L[net->n - 1].ow : net->w,
        c = net->n ? net->L[net->n - 1].oc : net->c;
    return nn_net_add_reshape(net, 1, 1, h * w * c, e);
}

int nn_net_add_softmax(nn_net *net, dc_err *e)
{
    layer *l = push(net, NN_B_SOFTMAX, e);
    if (!l) return e ? e->code : DC_EINVAL;
    l->oh = l->ih;
    l->ow = l->iw;
    l->oc = l->ic;
    net->n++;
    return 0;
}

/* ---------------- parameters and workspace ---------------- */

size_t nn_net_nparams(const nn_net *net) { return net->nparams; }
float *nn_net_params(nn_net *net) { return net->params; }
float *nn_net_grads(nn_net *net) { return net->grads; }
int nn_net_nlayers(const nn_net *net) { return net->n; }
int nn_net_max_batch(const nn_net *net) { return net->max_batch; }
size_t nn_net_in_size(const nn_net *net) { return (size_t)net->h * net->w * net->c; }

void nn_net_out_shape(const nn_net *net, int *h, int *w, int *c)
{
    const layer *l = net->n ? &net->L[net->n - 1] : NULL;
    *h = l ? l->oh : net->h;
    *w = l ? l->ow : net->w;
    *c = l ? l->oc : net->c;
}

size_t nn_net_out_size(const nn_net *net)
{
    int h, w, c;
    nn_net_out_shape(net, &h, &w, &c);
    return (size_t)h * w * c;
}

static int alloc_ws(nn_net *net, dc_err *e)
{
    size_t B = (size_t)net->max_batch, scratch = 0, gmax = nn_net_in_size(net);
    for (int i = 0; i < net->n; i++) {
        layer *l = &net->L[i];
        size_t o = lout(l) * B;
        if (lout(l) > gmax) gmax = lout(l);
        if (l->type != NN_B_RESHAPE && !(l->out = malloc(o * sizeof *l->out))) goto oom;
        if (l->type == NN_B_CONV) {
            size_t c = B * l->oh * l->ow * l->k * l->k * l->ic;
            if (!(l->col = malloc(c * sizeof *l->col))) goto oom;
            if (c > scratch) scratch = c;
        }
        if (l->type == NN_B_CONVT) {
            size_t c = B * l->ih * l->iw * l->k * l->k * l->oc;
            if (c > scratch) scratch = c;
        }
        if (l->type == NN_B_MAXPOOL && !(l->idx = malloc(o * sizeof *l->idx))) goto oom;
    }
    if (scratch && !(net->scratch = malloc(scratch * sizeof(float)))) goto oom;
    if (!(net->g[0] = malloc(gmax * B * sizeof(float)))) goto oom;
    if (!(net->g[1] = malloc(gmax * B * sizeof(float)))) goto oom;
    net->has_ws = 1;
    return 0;
oom:
    free_ws(net);
    return dc_err_set(e, DC_ENOMEM, "nn_net: out of memory for the workspace (max_batch %d)",
                      net->max_batch);
}

int nn_net_bind(nn_net *net, float *params, float *grads, dc_err *e)
{
    if (!params || !grads) return dc_err_set(e, DC_EINVAL, "nn_net_bind: NULL buffer");
    if (net->n == 0) return dc_err_set(e, DC_EINVAL, "nn_net_bind: the net has no blocks");
    if (!net->has_ws) {
        int rc = alloc_ws(net, e);
        if (rc) return rc;
    }
    if (net->own && params != net->own) { /* moved out of its own buffer: release it */
        free(net->own);
        net->own = NULL;
    }
    net->params = params;
    net->grads = grads;
    return 0;
}

int nn_net_alloc(nn_net *net, dc_err *e)
{
    size_t n = net->nparams ? net->nparams : 1;
    float *own = calloc(2 * n, sizeof *own);
    if (!own) return dc_err_set(e, DC_ENOMEM, "nn_net_alloc: out of memory (%zu params)", n);
    int rc = nn_net_bind(net, own, own + n, e);
    if (rc) {
        free(own);
        return rc;
    }
    net->own = own;
    return 0;
}

void nn_net_init(nn_net *net, nn_init init, rng *r)
{
    for (int i = 0; i < net->n; i++) {
        layer *l = &net->L[i];
        double fin, fout;
        if (l->type == NN_B_DENSE) {
            fin = (double)lin(l);
            fout = l->oc;
        } else if (l->type == NN_B_CONV) {
            fin = (double)l->k * l->k * l->ic;
            fout = (double)l->k * l->k * l->oc;
        } else if (l->type == NN_B_CONVT) {
            fin = (double)l->k * l->k * l->oc;
            fout = (double)l->k * l->k * l->ic;
        } else
            continue;
        double lim = init == NN_INIT_VARSCALE ? sqrt(1.0 / fin) : sqrt(6.0 / (fin + fout));
        float *w = net->params + l->woff;
        for (size_t j = 0; j < l->nw; j++) w[j] = (float)((2.0 * rng_uniform(r) - 1.0) * lim);
        memset(net->params + l->boff, 0, l->nb * sizeof(float));
    }
}

int nn_net_ntensors(const nn_net *net)
{
    int t = 0;
    for (int i = 0; i < net->n; i++) t += net->L[i].nw ? 2 : 0;
    return t;
}

nn_tensor nn_net_tensor(const nn_net *net, int i)
{
    nn_tensor t = {-1, 0, 0, 0, 0, 0};
    for (int j = 0; j < net->n; j++) {
        const layer *l = &net->L[j];
        if (!l->nw) continue;
        if (i < 2) {
            t.layer = j;
            t.is_bias = i;
            t.offset = i ? l->boff : l->woff;
            t.size = i ? l->nb : l->nw;
            t.rows = i ? 1 : (int)(l->nw / (l->type == NN_B_CONVT ? (size_t)l->k * l->k * l->oc
                                                                   : (size_t)l->oc));
            t.cols = i ? (int)l->nb : (int)(l->nw / (size_t)t.rows);
            return t;
        }
        i -= 2;
    }
    return t;
}

/* ---------------- forward / backward ---------------- */

/* y (rows,cols) = act(y + b) in one pass. */
static NN_HOT void bias_act(float *y, const float *b, size_t rows, int cols, nn_act act,
                            float slope)
{
    for (size_t r = 0; r < rows; r++) {
        float *o = y + r * cols;
        switch (act) {
        case NN_IDENTITY:
            for (int j = 0; j < cols; j++) o[j] += b[j];
            break;
        case NN_RELU:
            for (int j = 0; j < cols; j++) {
                float v = o[j] + b[j];
                o[j] = v > 0 ? v : 0.0f;
            }
            break;
        case NN_LEAKY_RELU:
            for (int j = 0; j < cols; j++) {
                float v = o[j] + b[j];
                o[j] = v * (v > 0 ? 1.0f : slope);
            }
            break;
        case NN_SIGMOID:
            for (int j = 0; j < cols; j++) o[j] = 1.0f / (1.0f + expf(-(o[j] + b[j])));
            break;
        }
    }
}

/* dp = d * act'(y) and db += column sums of dp, in one pass. dp may equal d; with
 * NN_IDENTITY dp is not written (the caller uses d). */
static NN_HOT void act_grad_bias(float *dp, const float *d, const float *y, float *db,
                                 size_t rows, int cols, nn_act act, float slope)
{
    if (act == NN_IDENTITY) {
        for (size_t r = 0; r < rows; r++) {
            const float *g = d + r * cols;
            for (int j = 0; j < cols; j++) db[j] += g[j];
        }
        return;
    }
    for (size_t r = 0; r < rows; r++) {
        const float *g = d + r * cols, *yy = y + r * cols;
        float *o = dp + r * cols;
        switch (act) {
        case NN_IDENTITY:
            break;
        case NN_RELU:
            for (int j = 0; j < cols; j++) {
                float gv = g[j], v = yy[j] > 0 ? gv : 0.0f;
                o[j] = v;
                db[j] += v;
            }
            break;
        case NN_LEAKY_RELU:
            for (int j = 0; j < cols; j++) {
                float gv = g[j], v = gv * (yy[j] > 0 ? 1.0f : slope); /* no trapping mul in a branch */
                o[j] = v;
                db[j] += v;
            }
            break;
        case NN_SIGMOID:
            for (int j = 0; j < cols; j++) {
                float v = g[j] * yy[j] * (1.0f - yy[j]);
                o[j] = v;
                db[j] += v;
            }
            break;
        }
    }
}

const float *nn_net_forward(nn_net *net, const float *in, int B)
{
    if (!net->params || B <= 0 || B > net->max_batch || !in) return NULL;
    const float *x = in;
    for (int i = 0; i < net->n; i++) {
        layer *l = &net->L[i];
        const float *w = net->params + l->woff, *b = net->params + l->boff;
        l->in = x;
        switch (l->type) {
        case NN_B_DENSE:
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, l->oc, (int)lin(l), 1.0f,
                        x, (int)lin(l), w, l->oc, 0.0f, l->out, l->oc);
            bias_act(l->out, b, (size_t)B, l->oc, l->act, l->slope);
            break;
        case NN_B_CONV:
            nn_conv_forward(l->out, l->col, x, w, NULL, B, l->ih, l->iw, l->ic, l->oc, l->k,
                            l->s, l->p);
            bias_act(l->out, b, (size_t)B * l->oh * l->ow, l->oc, l->act, l->slope);
            break;
        case NN_B_CONVT:
            nn_convt_forward(l->out, net->scratch, x, w, NULL, B, l->ih, l->iw, l->ic, l->oc,
                             l->k, l->s, l->p, l->op);
            bias_act(l->out, b, (size_t)B * l->oh * l->ow, l->oc, l->act, l->slope);
            break;
        case NN_B_ACT:
            nn_act_forward(l->out, x, (size_t)B * lout(l), l->act, l->slope);
            break;
        case NN_B_SOFTMAX:
            nn_softmax_forward(l->out, x, B, (int)lout(l));
            break;
        case NN_B_MAXPOOL:
            nn_maxpool_forward(l->out, l->idx, x, B, l->ih, l->iw, l->ic, l->k, l->s);
            break;
        case NN_B_RESHAPE:
            l->out = (float *)x; /* alias: never written through */
            break;
        }
        x = l->out;
    }
    return x;
}

int nn_net_backward(nn_net *net, const float *dout, float *din, int B)
{
    if (!net->params || B <= 0 || B > net->max_batch || !dout) return DC_EINVAL;
    const float *d = dout;
    int cur = -1; /* which g[] holds d, -1: the caller's dout */
    for (int i = net->n - 1; i >= 0; i--) {
        layer *l = &net->L[i];
        size_t nin = (size_t)B * lin(l), nout = (size_t)B * lout(l);
        int other = cur == 0 ? 1 : 0;
        if (l->type == NN_B_RESHAPE) {
            if (i == 0 && din) memcpy(din, d, nin * sizeof *din);
            continue; /* d passes through */
        }
        float *dst = NULL;
        if (i > 0)
            dst = net->g[other];
        else if (din)
            dst = din;
        /* the dense dX GEMM overwrites (beta 0); every other block adds into zeros */
        if (dst && l->type != NN_B_DENSE) memset(dst, 0, nin * sizeof *dst);
        const float *w = net->params + l->woff;
        float *dw = net->grads + l->woff, *db = net->grads + l->boff;
        switch (l->type) {
        case NN_B_DENSE:
        case NN_B_CONV:
        case NN_B_CONVT: {
            const float *dp = d;
            size_t rows = nout / (size_t)l->oc;
            if (l->act != NN_IDENTITY) {
                float *t = cur >= 0 ? net->g[cur] : net->g[0];
                act_grad_bias(t, d, l->out, db, rows, l->oc, l->act, l->slope);
                dp = t;
            } else
                act_grad_bias(NULL, d, l->out, db, rows, l->oc, NN_IDENTITY, 0);
            if (l->type == NN_B_DENSE) {
                int IN = (int)lin(l), OUT = l->oc;
                nn_dense_backward(NULL, dw, NULL, dp, l->in, w, B, IN, OUT);
                if (dst)
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, IN, OUT, 1.0f, dp,
                                OUT, w, OUT, 0.0f, dst, IN);
            }
            else if (l->type == NN_B_CONV)
                nn_conv_backward(dst, dw, NULL, net->scratch, dp, l->col, w, B, l->ih, l->iw,
                                 l->ic, l->oc, l->k, l->s, l->p);
            else
                nn_convt_backward(dst, dw, NULL, net->scratch, dp, l->in, w, B, l->ih, l->iw,
                                  l->ic, l->oc, l->k, l->s, l->p, l->op);
            break;
        }
        case NN_B_ACT:
            if (dst) nn_act_backward(dst, d, l->out, nout, l->act, l->slope);
            break;
        case NN_B_SOFTMAX:
            if (dst) nn_softmax_backward(dst, d, l->out, B, (int)lout(l));
            break;
        case NN_B_MAXPOOL:
            if (dst) nn_maxpool_backward(dst, d, l->idx, nout);
            break;
        case NN_B_RESHAPE:
            break;
        }
        d = dst;
        cur = other;
    }
    return 0;
}

/* ---------------- optimizers ---------------- */

nn_optim_cfg nn_optim_default(nn_optim_kind kind)
{
    nn_optim_cfg c = {0};
    c.kind = kind;
    if (kind == NN_OPT_SGD) {
        c.lr = 0.01f;
        c.momentum = 0.9f;
    } else {
        c.lr = 1e-3f;
        c.beta1 = 0.9f;
        c.beta2 = 0.999f;
        c.eps = 1e-7f;
    }
    return c;
}

int nn_optim_init(nn_optim *o, const nn_optim_cfg *cfg, size_t n, dc_err *e)
{
    memset(o, 0, sizeof *o);
    if (cfg->kind != NN_OPT_ADAM && cfg->kind != NN_OPT_SGD)
        return dc_err_set(e, DC_EINVAL, "nn_optim: unknown optimizer %d", (int)cfg->kind);
    if (!(cfg->lr > 0) || cfg->momentum < 0 || cfg->momentum >= 1)
        return dc_err_set(e, DC_EINVAL, "nn_optim: bad lr %g or momentum %g", cfg->lr,
                          cfg->momentum);
    o->cfg = *cfg;
    if (o->cfg.kind == NN_OPT_ADAM) {
        if (o->cfg.beta1 == 0) o->cfg.beta1 = 0.9f;
        if (o->cfg.beta2 == 0) o->cfg.beta2 = 0.999f;
        if (o->cfg.eps == 0) o->cfg.eps = 1e-7f;
    }
    o->n = n;
#ifdef NN_AVX2
    o->avx2 = __builtin_cpu_supports("avx2") && !getenv("DC_NO_AVX2");
#endif
    o->m = calloc(n ? n : 1, sizeof *o->m);
    if (o->cfg.kind == NN_OPT_ADAM) o->v = calloc(n ? n : 1, sizeof *o->v);
    if (!o->m || (o->cfg.kind == NN_OPT_ADAM && !o->v)) {
        nn_optim_free(o);
        return dc_err_set(e, DC_ENOMEM, "nn_optim: out of memory (%zu params)", n);
    }
    return 0;
}

void nn_optim_free(nn_optim *o)
{
    if (!o) return;
    free(o->m);
    free(o->v);
    o->m = o->v = NULL;
}

void nn_optim_reset(nn_optim *o)
{
    if (o->m) memset(o->m, 0, o->n * sizeof *o->m);
    if (o->v) memset(o->v, 0, o->n * sizeof *o->v);
    o->t = 0;
}

float nn_optim_lr(const nn_optim *o)
{
    float lr = o->cfg.lr;
    if (o->cfg.decay_every > 0 && o->cfg.decay_gamma > 0)
        lr *= powf(o->cfg.decay_gamma, (float)(o->t / o->cfg.decay_every));
    return lr;
}

/* One pass: m, v, p updated, g zeroed. The SSE2 body does exactly the scalar arithmetic
 * (same operations and order, IEEE sqrt), so results do not depend on the path taken. */
static NN_HOT void adam_loop(float *restrict p, float *restrict g, float *restrict m,
                             float *restrict v, size_t n, float b1, float b2, float a, float eps)
{
    float c1 = 1.0f - b1, c2 = 1.0f - b2;
    size_t i = 0;
#if defined(__SSE2__)
    const __m128 B1 = _mm_set1_ps(b1), B2 = _mm_set1_ps(b2), C1 = _mm_set1_ps(c1),
                 C2 = _mm_set1_ps(c2), A = _mm_set1_ps(a), E = _mm_set1_ps(eps),
                 Z = _mm_setzero_ps();
    for (; i + 4 <= n; i += 4) {
        __m128 gi = _mm_loadu_ps(g + i);
        __m128 mi = _mm_add_ps(_mm_mul_ps(B1, _mm_loadu_ps(m + i)), _mm_mul_ps(C1, gi));
        __m128 vi = _mm_add_ps(_mm_mul_ps(B2, _mm_loadu_ps(v + i)),
                               _mm_mul_ps(_mm_mul_ps(C2, gi), gi));
        _mm_storeu_ps(m + i, mi);
        _mm_storeu_ps(v + i, vi);
        __m128 up = _mm_div_ps(_mm_mul_ps(A, mi), _mm_add_ps(_mm_sqrt_ps(vi), E));
        _mm_storeu_ps(p + i, _mm_sub_ps(_mm_loadu_ps(p + i), up));
        _mm_storeu_ps(g + i, Z);
    }
#endif
    for (; i < n; i++) {
        float gi = g[i];
        float mi = b1 * m[i] + c1 * gi;
        float vi = b2 * v[i] + c2 * gi * gi;
        m[i] = mi;
        v[i] = vi;
        p[i] -= a * mi / (sqrtf(vi) + eps);
        g[i] = 0.0f;
    }
}

#ifdef NN_AVX2
/* adam_loop 8 floats at a time: the same operations in the same order (AVX2 alone does
 * not let the compiler fuse a multiply and an add), so the same bits. */
__attribute__((target("avx2"))) static void adam_loop_avx2(float *restrict p, float *restrict g,
                                                            float *restrict m, float *restrict v,
                                                            size_t n, float b1, float b2,
                                                            float a, float eps)
{
    const __m256 B1 = _mm256_set1_ps(b1), B2 = _mm256_set1_ps(b2),
                 C1 = _mm256_set1_ps(1.0f - b1), C2 = _mm256_set1_ps(1.0f - b2),
                 A = _mm256_set1_ps(a), E = _mm256_set1_ps(eps), Z = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 gi = _mm256_loadu_ps(g + i);
        __m256 mi = _mm256_add_ps(_mm256_mul_ps(B1, _mm256_loadu_ps(m + i)), _mm256_mul_ps(C1, gi));
        __m256 vi = _mm256_add_ps(_mm256_mul_ps(B2, _mm256_loadu_ps(v + i)),
                                  _mm256_mul_ps(_mm256_mul_ps(C2, gi), gi));
        _mm256_storeu_ps(m + i, mi);
        _mm256_storeu_ps(v + i, vi);
        __m256 up = _mm256_div_ps(_mm256_mul_ps(A, mi), _mm256_add_ps(_mm256_sqrt_ps(vi), E));
        _mm256_storeu_ps(p + i, _mm256_sub_ps(_mm256_loadu_ps(p + i), up));
        _mm256_storeu_ps(g + i, Z);
    }
    adam_loop(p + i, g + i, m + i, v + i, n - i, b1, b2, a, eps);
}
#endif

static NN_HOT void sgd_loop(float *restrict p, float *restrict g, float *restrict m, size_t n,
                            float mom, float lr)
{
    for (size_t i = 0; i < n; i++) {
        float vi = mom * m[i] - lr * g[i];
        m[i] = vi;
        p[i] += vi;
        g[i] = 0.0f;
    }
}

/* Large buffers are updated by as many threads as OpenBLAS uses (the update is
 * element-wise, so the split does not change any result). */
typedef struct optim_job {
    const nn_optim *o;
    float *p, *g, *m, *v;
    size_t n;
    float lr, a;
} optim_job;

static void optim_run(const optim_job *j)
{
    if (j->o->cfg.kind == NN_OPT_ADAM) {
#ifdef NN_AVX2
        if (j->o->avx2) {
            adam_loop_avx2(j->p, j->g, j->m, j->v, j->n, j->o->cfg.beta1, j->o->cfg.beta2,
                           j->a, j->o->cfg.eps);
            return;
        }
#endif
        adam_loop(j->p, j->g, j->m, j->v, j->n, j->o->cfg.beta1, j->o->cfg.beta2, j->a,
                  j->o->cfg.eps);
    }
    else
        sgd_loop(j->p, j->g, j->m, j->n, j->o->cfg.momentum, j->lr);
}

static void *optim_thread(void *arg)
{
    optim_run(arg);
    return NULL;
}

#define NN_OPT_PAR_MIN (1u << 18) /* floats per thread below which one thread is faster */
#define NN_OPT_MAX_THREADS 8

void nn_optim_step(nn_optim *o, float *params, float *grads)
{
    float lr = nn_optim_lr(o);
    o->t++;
    double a = 0;
    if (o->cfg.kind == NN_OPT_ADAM) {
        /* Keras form: lr_t = lr sqrt(1-b2^t)/(1-b1^t); p -= lr_t m/(sqrt(v)+eps) */
        double t = (double)o->t;
        a = lr * sqrt(1.0 - pow(o->cfg.beta2, t)) / (1.0 - pow(o->cfg.beta1, t));
    }
    int nt = openblas_get_num_threads();
    if (nt > NN_OPT_MAX_THREADS) nt = NN_OPT_MAX_THREADS;
    if (nt < 1 || o->n < 2 * (size_t)NN_OPT_PAR_MIN) nt = 1;
    while (nt > 1 && o->n / (size_t)nt < NN_OPT_PAR_MIN) nt--;
    optim_job jobs[NN_OPT_MAX_THREADS];
    pthread_t th[NN_OPT_MAX_THREADS];
    int started[NN_OPT_MAX_THREADS] = {0};
    size_t chunk = (o->n / (size_t)nt + 15) & ~(size_t)15, off = 0;
    for (int i = 0; i < nt; i++) {
        size_t len = i == nt - 1 ? o->n - off : chunk;
        jobs[i] = (optim_job){o, params + off, grads + off, o->m + off,
                              o->v ? o->v + off : NULL, len, lr, (float)a};
        off += len;
    }
    for (int i = 1; i < nt; i++)
        started[i] = pthread_create(&th[i], NULL, optim_thread, &jobs[i]) == 0;
    optim_run(&jobs[0]);
    for (int i = 1; i < nt; i++) {
        if (started[i]) pthread_join(th[i], NULL);
        else optim_run(&jobs[i]); /* could not start a thread: do it here */
    }
}

/* ---------------- serialisation ---------------- */

#define NN_MAGIC "DCNN"
#define NN_VERSION 1u
#define NN_REC 11 /* u32 per block record */

static void put32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static void put64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static uint32_t get32(const unsigned char *p)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) v |= (uint32_t)p[i] << (8 * i);
    return v;
}
static uint64_t get64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}
static uint64_t fnv1a(const unsigned char *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}
static uint32_t fbits(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}
static float bitsf(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static size_t header_bytes(const nn_net *net) { return 20 + (size_t)NN_REC * 4 * net->n; }

size_t nn_net_serial_size(const nn_net *net)
{
    return 12 + header_bytes(net) + 8 + 4 * net->nparams + 8;
}

int nn_net_save(const nn_net *net, void *buf, size_t cap, size_t *used, dc_err *e)
{
    size_t need = nn_net_serial_size(net);
    if (!net->params) return dc_err_set(e, DC_EINVAL, "nn_net_save: the net is not bound");
    if (cap < need)
        return dc_err_set(e, DC_EINVAL, "nn_net_save: buffer of %zu bytes, need %zu", cap, need);
    unsigned char *p = buf, *q = p;
    memcpy(q, NN_MAGIC, 4);
    put32(q + 4, NN_VERSION);
    put32(q + 8, (uint32_t)header_bytes(net));
    q += 12;
    uint32_t hd[5] = {(uint32_t)net->h, (uint32_t)net->w, (uint32_t)net->c,
                      (uint32_t)net->max_batch, (uint32_t)net->n};
    for (int i = 0; i < 5; i++, q += 4) put32(q, hd[i]);
    for (int i = 0; i < net->n; i++) {
        const layer *l = &net->L[i];
        uint32_t r[NN_REC] = {(uint32_t)l->type, (uint32_t)l->act, fbits(l->slope),
                              (uint32_t)l->oh, (uint32_t)l->ow, (uint32_t)l->oc,
                              (uint32_t)l->k, (uint32_t)l->s, (uint32_t)l->p,
                              (uint32_t)l->op, 0};
        for (int j = 0; j < NN_REC; j++, q += 4) put32(q, r[j]);
    }
    put64(q, (uint64_t)net->nparams);
    q += 8;
    for (size_t i = 0; i < net->nparams; i++, q += 4) put32(q, fbits(net->params[i]));
    put64(q, fnv1a(p, (size_t)(q - p)));
    q += 8;
    if (used) *used = (size_t)(q - p);
    return 0;
}

int nn_net_load(nn_net **out, const void *buf, size_t len, size_t *used, int max_batch,
                dc_err *e)
{
    const unsigned char *p = buf, *q;
    nn_net *net = NULL;
    int rc = 0;
    *out = NULL;
    if (len < 12 || memcmp(p, NN_MAGIC, 4) != 0) {
        rc = dc_err_set(e, DC_EFORMAT, "nn_net_load: not a deepclust network (bad magic)");
        goto out;
    }
    if (get32(p + 4) != NN_VERSION) {
        rc = dc_err_set(e, DC_EFORMAT, "nn_net_load: format version %u, this build reads %u",
                        get32(p + 4), NN_VERSION);
        goto out;
    }
    size_t hb = get32(p + 8);
    if (hb < 20 || hb > len - 12 || (hb - 20) % (NN_REC * 4) != 0) {
        rc = dc_err_set(e, DC_EFORMAT, "nn_net_load: bad header size %zu (buffer %zu bytes)",
                        hb, len);
        goto out;
    }
    q = p + 12;
    uint32_t h = get32(q), w = get32(q + 4), c = get32(q + 8), nl = get32(q + 16);
    q += 20;
    size_t hwc;
    if (nl == 0 || nl != (hb - 20) / (NN_REC * 4) || h == 0 || w == 0 || c == 0 || h > 1u << 20 ||
        w > 1u << 20 || c > 1u << 20 || dc_mul3_size(h, w, c, &hwc) < 0 || hwc > INT32_MAX) {
        rc = dc_err_set(e, DC_EFORMAT, "nn_net_load: inconsistent header (%ux%ux%u, %u blocks)",
                        h, w, c, nl);
        goto out;
    }
    net = nn_net_new((int)h, (int)w, (int)c, max_batch, e);
    if (!net) {
        rc = e ? e->code : DC_EINVAL;
        goto out;
    }
    for (uint32_t i = 0; i < nl; i++, q += NN_REC * 4) {
        uint32_t r[NN_REC];
        for (int j = 0; j < NN_REC; j++) r[j] = get32(q + 4 * j);
        int oc = (int)r[5], k = (int)r[6], s = (int)r[7], pd = (int)r[8], op = (int)r[9];
        nn_act act = (nn_act)r[1];
        float slope = bitsf(r[2]);
        if (r[5] > 1u << 24 || r[6] > 4096 || r[7] > 4096 || r[8] > 4096 || r[9] > 4096 ||
            r[1] > NN_SIGMOID) {
            rc = dc_err_set(e, DC_EFORMAT, "nn_net_load: block %u has out-of-range fields", i);
            goto out;
        }
        int n0 = net->n;
        switch (r[0]) {
        case NN_B_DENSE: rc = nn_net_add_dense(net, oc, e); break;
        case NN_B_CONV: rc = nn_net_add_conv(net, oc, k, s, pd, e); break;
        case NN_B_CONVT: rc = nn_net_add_convt(net, oc, k, s, pd, op, e); break;
        case NN_B_MAXPOOL: rc = nn_net_add_maxpool(net, k, s, e); break;
        case NN_B_RESHAPE: rc = nn_net_add_reshape(net, (int)r[3], (int)r[4], oc, e); break;
        case NN_B_SOFTMAX: rc = nn_net_add_softmax(net, e); break;
        case NN_B_ACT: rc = nn_net_add_act(net, act, slope, e); break;
        default: rc = DC_EFORMAT;
        }
        if (!rc && (r[0] == NN_B_DENSE || r[0] == NN_B_CONV || r[0] == NN_B_CONVT) &&
            act != NN_IDENTITY)
            rc = nn_net_add_act(net, act, slope, e);
        if (rc || net->n != n0 + 1) {
            rc = dc_err_set(e, DC_EFORMAT, "nn_net_load: block %u (type %u) is invalid", i, r[0]);
            goto out;
        }
        layer *l = &net->L[net->n - 1];
        if ((uint32_t)l->oh != r[3] || (uint32_t)l->ow != r[4] || (uint32_t)l->oc != r[5]) {
            rc = dc_err_set(e, DC_EFORMAT,
                            "nn_net_load: block %u: stored output %ux%ux%u, rebuilt %dx%dx%d", i,
                            r[3], r[4], r[5], l->oh, l->ow, l->oc);
            goto out;
        }
    }
    size_t rest = len - (size_t)(q - p);
    if (rest < 8 || get64(q) != (uint64_t)net->nparams) {
        rc = dc_err_set(e, DC_EFORMAT, "nn_net_load: stored %llu parameters, the spec needs %zu",
                        rest < 8 ? 0ULL : (unsigned long long)get64(q), net->nparams);
        goto out;
    }
    if (rest < 16 || net->nparams > (rest - 16) / 4) { /* 4 * nparams could wrap */
        rc = dc_err_set(e, DC_EFORMAT, "nn_net_load: truncated: %zu bytes, need %zu", len,
                        (size_t)(q - p) + 16 + 4 * net->nparams);
        goto out;
    }
    q += 8;
    const unsigned char *sum = q + 4 * net->nparams;
    if (get64(sum) != fnv1a(p, (size_t)(sum - p))) {
        rc = dc_err_set(e, DC_EFORMAT, "nn_net_load: checksum mismatch (corrupted buffer)");
        goto out;
    }
    if ((rc = nn_net_alloc(net, e))) goto out;
    for (size_t i = 0; i < net->nparams; i++) net->params[i] = bitsf(get32(q + 4 * i));
    if (used) *used = (size_t)(sum + 8 - p);
    *out = net;
    net = NULL;
out:
    nn_net_free(net);
    return rc;
}

int nn_net_same_spec(const nn_net *a, const nn_net *b)
{
    if (a->h != b->h || a->w != b->w || a->c != b->c || a->n != b->n) return 0;
    for (int i = 0; i < a->n; i++) {
        const layer *x = &a->L[i], *y = &b->L[i];
        if (x->type != y->type || x->act != y->act || x->slope != y->slope || x->oh != y->oh ||
            x->ow != y->ow || x->oc != y->oc || x->k != y->k || x->s != y->s || x->p != y->p ||
            x->op != y->op)
            return 0;
    }
    return 1;
}
