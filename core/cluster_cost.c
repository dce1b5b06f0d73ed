/* cluster_cost: stage costs from flop counts and per-operation rates measured on the
 * reference machine (docs/eta.md has the runs they come from). */
#include "cluster_cost.h"

#include <math.h>
#include <string.h>

/* Rates (reference machine, 2 OpenBLAS threads). */
#define TRAIN_FLOPS_S 1.2e11 /* dense autoencoder training (MNIST: 11.5 s an epoch) */
#define KNN_PAIR_S 1.5e-9    /* exact kNN: selecting over one pair of points */
#define KNN_FLOPS_S 1.0e11   /* exact kNN: the distance GEMM */
#define GRAPH_EDGE_S 3e-7    /* fuzzy graph: one neighbour of one point */
#define SPECTRAL_EDGE_S 8.8e-6 /* spectral initialisation, per neighbour of a point */
#define LAYOUT_EDGE_S 1.1e-7 /* one layout epoch over one edge, 5 negative samples */
#define EM_UNIT_S 1e-10      /* one EM iteration: per sample x cluster x dim^2 */
#define EM_ITERS 30          /* typical EM iterations of one start */
#define KMEANS_ITERS 30      /* typical Lloyd iterations of one start */

/* Forward flops of one sample through the dense encoder and decoder (mirror images). */
static double dense_ae_flops(const cluster_spec *s, int d)
{
    double f = 0;
    int in = d;
    for (int i = 0; i < s->n_hidden; i++) {
        f += 2.0 * in * s->hidden[i];
        in = s->hidden[i];
    }
    return 2 * f;
}

/* One forward pass of the whole autoencoder per sample. A convolutional one (dcec, conv
 * vae) is charged as a dense one of the same input: only its stages' ratios are used. */
static double ae_flops(const cluster_spec *s, int d)
{
    if (s->method == CM_DCEC || s->n_hidden <= 0) {
        static const int conv_like[] = {500, 500, 2000};
        cluster_spec t = *s;
        t.n_hidden = 4;
        memcpy(t.hidden, conv_like, sizeof conv_like);
        t.hidden[3] = s->embed_dim > 0 ? s->embed_dim : 10;
        return dense_ae_flops(&t, d);
    }
    return dense_ae_flops(s, d);
}

static void n2d_cost(const cluster_spec *s, double n, int dim, cluster_cost *c)
{
    double nn = s->manifold_neighbors > 1 ? s->manifold_neighbors : 2;
    double ep = s->manifold_epochs > 0 ? s->manifold_epochs : n <= 10000 ? 500 : 200;
    double comp = s->manifold_components > 0 ? s->manifold_components : 2;
    double starts = s->gmm_n_init > 0 ? s->gmm_n_init : 1;
    c->manifold_s = n * n * (KNN_PAIR_S + 2.0 * dim / KNN_FLOPS_S) + n * nn * GRAPH_EDGE_S +
                    ep * n * nn * LAYOUT_EDGE_S;
    if (s->manifold_init == MANIFOLD_INIT_SPECTRAL) c->manifold_s += n * nn * SPECTRAL_EDGE_S;
    c->mixture_s = starts * EM_ITERS * n * s->k * comp * comp * EM_UNIT_S;
}

void cluster_cost_estimate(const cluster_spec *s, int64_t n64, int d, int pretrained,
                           cluster_cost *out)
{
    memset(out, 0, sizeof *out);
    if (!s || n64 <= 0 || d <= 0 || s->k <= 0) return;
    double n = (double)n64, f = ae_flops(s, d), enc = f / 2;
    int e = s->method == CM_VAE ? s->latent
            : s->n_hidden > 0  ? s->hidden[s->n_hidden - 1] : s->embed_dim;
    if (e <= 0) e = 10;
    int deep = s->method != CM_KMEANS && !(s->method == CM_N2D && s->n_hidden == 0) &&
               !(s->method == CM_VAE && s->pretrain_epochs <= 0);
    if (deep && !pretrained) out->pretrain_s = s->pretrain_epochs * n * 3 * f / TRAIN_FLOPS_S;
    double starts = s->n_init > 0 ? s->n_init : 1;
    double kmeans_s = starts * KMEANS_ITERS * n * s->k * 2.0 * (deep ? e : d) / KNN_FLOPS_S;
    switch (s->method) {
    case CM_KMEANS: out->init_s = kmeans_s; break;
    case CM_AE_KMEANS: out->init_s = n * enc / TRAIN_FLOPS_S + kmeans_s; break;
    case CM_DEC:
    case CM_IDEC:
    case CM_DCEC: {
        double step = s->method == CM_DEC ? 3 * enc : 3 * f; /* IDEC/DCEC train the decoder too */
        double updates = s->update_interval > 0 ? s->maxiter / s->update_interval + 1 : 1;
        out->init_s = n * enc / TRAIN_FLOPS_S + kmeans_s;
        out->cluster_s = ((double)s->maxiter * s->batch * step + updates * n * enc) / TRAIN_FLOPS_S;
        break;
    }
    case CM_VAE: out->cluster_s = s->vae_epochs * n * 3 * f / TRAIN_FLOPS_S; break;
    case CM_N2D:
        if (deep) out->init_s = n * enc / TRAIN_FLOPS_S;
        n2d_cost(s, n, deep ? e : d, out);
        break;
    default: break;
    }
    out->total_s = out->pretrain_s + out->init_s + out->cluster_s + out->manifold_s + out->mixture_s;
}
