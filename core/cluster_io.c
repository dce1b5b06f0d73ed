/* cluster_io: a cluster_model as one byte buffer.
 *
 * Layout (little-endian):
 *   "DCCM" | u32 version (3) | u32 nfields | nfields x f64 (spec and shape, in the
 *   order of fields() below; 48 up to version 2, 56 from version 3, the fields a file
 *   does not have read as 0) | u64 ae_len | ae_len bytes (nn_ae_save, or vae_save for
 *   the vae method; 0 for kmeans)
 *   | k*e float32 centroids | from version 2: u64 n2d_len | n2d_len bytes (0 but for
 *   n2d) | u64 FNV-1a of everything before it. Version 1 (no n2d slot) is still read.
 *
 * The n2d slot: u64 n, d, c (training points, code size, manifold components) | u64 umap
 * seed | N2D_NVALS x f64 (the umap options and fitted a, b, epochs, edges; n2d_vals()) |
 * n*d float32 training codes | n*c float32 embedding | u64 g | g x f64 the mixture
 * (gmm_model_save's layout).
 */
#include <assert.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cluster_internal.h"
#include "cluster_opts.h"
#include "dc_size.h"

/* Version 3 added 8 field slots (pretrain_noise, then room for 7 more, read as 0). */
enum { CM_VERSION = 3, NFIELDS_V2 = 48, NFIELDS = 56 };

static uint64_t fnv1a(const unsigned char *p, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 1099511628211ULL;
    return h;
}

/* Whether v, read from a buffer, converts to an integer type of size bytes (signed or
 * not) without undefined behaviour; any finite v fits a floating type. */
static int f64_fits(double v, int is_int, int is_unsigned, size_t size)
{
    if (!isfinite(v)) return 0;
    if (!is_int) return 1;
    if (is_unsigned) return v >= 0 && v < (size == 8 ? 18446744073709551616.0 : 4294967296.0);
    return size == 8 ? v >= -9223372036854775808.0 && v < 9223372036854775808.0
                     : v >= -2147483648.0 && v <= 2147483647.0;
}

/* One field x at v[i] of a field list (fields, n2d_vals): written as a double, or read
 * back when read, with bad set when the stored value does not fit x's type. */
#define IO(x)                                                                          \
    do {                                                                               \
        if (!read) v[i] = (double)(x);                                                 \
        else if (f64_fits(v[i], (__typeof__(x))0.5 == 0, (__typeof__(x))-1 > 0,        \
                          sizeof(x)))                                                  \
            x = (__typeof__(x))v[i];                                                   \
        else bad = 1;                                                                  \
        i++;                                                                           \
    } while (0)

/* Writes the fields of m into v (NFIELDS doubles), or reads them back when read. Reading
 * returns -1 (m partly filled) when a value is not finite or out of its field's range. */
static int fields(cluster_model *m, double *v, int read)
{
    cluster_spec *s = &m->spec;
    int i = 0, bad = 0;
    IO(s->method); IO(s->k); IO(s->seed); IO(m->d); IO(m->e); IO(m->k);
    IO(m->h); IO(m->w); IO(m->c); IO(s->n_hidden);
    for (int j = 0; j < CLUSTER_MAX_DIMS; j++) IO(s->hidden[j]);
    IO(s->embed_dim); IO(s->pretrain_epochs); IO(s->batch); IO(s->pretrain_opt);
    IO(s->pretrain_lr); IO(s->pretrain_momentum); IO(s->n_init); IO(s->kmeans_max_iter);
    IO(s->kmeans_tol); IO(s->alpha); IO(s->update_interval); IO(s->tol); IO(s->maxiter);
    IO(s->gamma); IO(s->cluster_opt); IO(s->cluster_lr); IO(s->cluster_momentum);
    IO(s->latent); IO(s->vae_epochs); IO(s->vae_conv); IO(s->vae_bce); IO(s->vae_rec_weight);
    IO(s->pretrain_init); IO(s->vae_lr); /* 0 in files written before these existed */
    IO(s->manifold_components); IO(s->manifold_neighbors); IO(s->manifold_min_dist);
    IO(s->manifold_epochs); IO(s->manifold_init); IO(s->gmm_n_init);
    assert(i == NFIELDS_V2);
    IO(s->pretrain_noise); /* version 3 */
    assert(i <= NFIELDS);
    for (; !read && i < NFIELDS; i++) v[i] = 0;
    return bad ? -1 : 0;
}

enum { N2D_NVALS = 21 };

/* The umap model's scalars into v (N2D_NVALS doubles), or back when read (-1: a value is
 * not finite or out of its field's range). */
static int n2d_vals(umap_model *u, double *v, int read)
{
    umap_opts *o = &u->opts;
    int i = 0, bad = 0;
    IO(o->n_components); IO(o->n_neighbors); IO(o->min_dist); IO(o->spread); IO(o->metric);
    IO(o->n_epochs); IO(o->learning_rate); IO(o->negative_sample_rate);
    IO(o->repulsion_strength); IO(o->a); IO(o->b); IO(o->init); IO(o->n_threads);
    IO(o->block_rows); IO(o->transform_epochs); IO(o->transform_batch);
    IO(u->a); IO(u->b); IO(u->n_epochs); IO(u->n_edges); IO(u->init_iters);
    assert(i == N2D_NVALS);
    return bad ? -1 : 0;
}
#undef IO

/* Bytes of the n2d slot of a model with n training points, code size d, c components
 * and k clusters; 0 if that overflows. */
static size_t n2d_bytes(size_t n, int d, int c, int k)
{
    size_t a, b, t = 4 * 8 + N2D_NVALS * 8 + 8, g = gmm_model_saved_len(k, c);
    if (!g || n > INT64_MAX || dc_mul3_size((int64_t)n, d, sizeof(float), &a) < 0 ||
        dc_mul3_size((int64_t)n, c, sizeof(float), &b) < 0 || dc_add_size(t, a, &t) < 0 ||
        dc_add_size(t, b, &t) < 0 || dc_mul_size((int64_t)g, 8, &a) < 0 ||
        dc_add_size(t, a, &t) < 0)
        return 0;
    return t;
}

static int n2d_write(cluster_model *m, unsigned char *w, dc_err *err)
{
    umap_model *u = m->umap;
    uint64_t hd[4] = {u->n, (uint64_t)u->d, (uint64_t)u->n_components, u->opts.seed};
    double v[N2D_NVALS];
    uint64_t g = gmm_model_saved_len(m->gmm->k, m->gmm->d);
    size_t nd = u->n * (size_t)u->d * sizeof(float), nc = u->n * (size_t)u->n_components * sizeof(float);
    n2d_vals(u, v, 0);
    memcpy(w, hd, sizeof hd), w += sizeof hd;
    memcpy(w, v, sizeof v), w += sizeof v;
    memcpy(w, u->data, nd), w += nd;
    memcpy(w, u->embedding, nc), w += nc;
    memcpy(w, &g, 8), w += 8;
    double *gb = malloc((size_t)g * sizeof *gb); /* w need not be aligned for doubles */
    if (!gb) return dc_err_set(err, DC_ENOMEM, "out of memory serialising the mixture");
    int rc = gmm_model_save(m->gmm, gb, (size_t)g, err);
    if (rc == 0) memcpy(w, gb, (size_t)g * sizeof *gb);
    free(gb);
    return rc;
}

static int all_finite(const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i])) return 0;
    return 1;
}

/* Reads the n2d slot p (len bytes) into m->umap and m->gmm, checking it against m. */
static int n2d_read(cluster_model *m, const unsigned char *p, size_t len, dc_err *err)
{
    uint64_t hd[4], g;
    double v[N2D_NVALS];
    int cd = m->ae ? m->ae->emb_dim : m->d, rc;
    if (len < sizeof hd + sizeof v)
        return dc_err_set(err, DC_EFORMAT, "model n2d data truncated (%zu bytes)", len);
    memcpy(hd, p, sizeof hd);
    memcpy(v, p + sizeof hd, sizeof v);
    if (hd[0] < 2 || hd[0] > INT32_MAX || hd[1] != (uint64_t)cd || hd[2] != (uint64_t)m->e ||
        n2d_bytes((size_t)hd[0], cd, m->e, m->k) != len)
        return dc_err_set(err, DC_EFORMAT, "model n2d data is inconsistent with its header "
                          "(%llu points of %llu -> %llu, %zu bytes)", (unsigned long long)hd[0],
                          (unsigned long long)hd[1], (unsigned long long)hd[2], len);
    if (!(m->umap = calloc(1, sizeof *m->umap)) || !(m->gmm = calloc(1, sizeof *m->gmm)))
        return dc_err_set(err, DC_ENOMEM, "out of memory");
    umap_model *u = m->umap;
    umap_opts_default(&u->opts);
    u->n = (size_t)hd[0], u->d = cd, u->n_components = m->e;
    u->opts.seed = hd[3];
    dc_err ue = {0};
    if (n2d_vals(u, v, 1) < 0 || u->opts.n_components != m->e ||
        umap_opts_check(&u->opts, u->n, cd, &ue) < 0 || !(u->a > 0) || !(u->b > 0) ||
        u->n_epochs < 1)
        return dc_err_set(err, DC_EFORMAT, "model n2d manifold options are invalid%s%s",
                          ue.msg[0] ? ": " : "", ue.msg);
    size_t nd = u->n * (size_t)cd, nc = u->n * (size_t)m->e; /* bounded by n2d_bytes */
    const unsigned char *r = p + sizeof hd + sizeof v;
    if (!(u->data = malloc(nd * sizeof(float))) || !(u->embedding = malloc(nc * sizeof(float))))
        return dc_err_set(err, DC_ENOMEM, "out of memory loading the manifold");
    memcpy(u->data, r, nd * sizeof(float)), r += nd * sizeof(float);
    memcpy(u->embedding, r, nc * sizeof(float)), r += nc * sizeof(float);
    if (!all_finite(u->data, nd) || !all_finite(u->embedding, nc))
        return dc_err_set(err, DC_EFORMAT, "model n2d manifold holds a non-finite value");
    memcpy(&g, r, 8), r += 8;
    double *gb = malloc((size_t)g * sizeof *gb); /* aligned copy; g bounded by n2d_bytes */
    if (!gb) return dc_err_set(err, DC_ENOMEM, "out of memory loading the mixture");
    memcpy(gb, r, (size_t)g * sizeof *gb);
    dc_err ge = {0};
    rc = gmm_model_load(m->gmm, gb, (size_t)g, &ge);
    free(gb);
    if (rc < 0) return dc_err_set(err, rc == DC_ENOMEM ? rc : DC_EFORMAT, "model mixture: %s", ge.msg);
    if (m->gmm->k != m->k || m->gmm->d != m->e)
        return dc_err_set(err, DC_EFORMAT, "model mixture is %d x %d, the header says %d x %d",
                          m->gmm->k, m->gmm->d, m->k, m->e);
    return 0;
}

int cluster_model_save(const cluster_model *mc, void **buf, size_t *len, dc_err *err)
{
    cluster_model *m = (cluster_model *)mc;
    void *ae = NULL;
    size_t ae_len = 0, mu_bytes = (size_t)m->k * m->e * sizeof(float);
    int rc = 0;
    *buf = NULL;
    *len = 0;
    if (m->ae && (rc = nn_ae_save(m->ae, &ae, &ae_len, err)) < 0) return rc;
    if (m->vae && (rc = vae_save(m->vae, &ae, &ae_len, err)) < 0) return rc;
    size_t n2d_len = 0, total = 4 + 4 + 4 + NFIELDS * 8 + 8 + ae_len + mu_bytes + 8 + 8;
    if (m->umap && (!m->gmm || !(n2d_len = n2d_bytes(m->umap->n, m->umap->d, m->e, m->k)) ||
                    dc_add_size(total, n2d_len, &total) < 0)) {
        free(ae);
        return dc_err_set(err, DC_EINVAL, "this n2d model is too large to serialise");
    }
    unsigned char *p = malloc(total), *w = p;
    if (!p) {
        free(ae);
        return dc_err_set(err, DC_ENOMEM, "out of memory serialising a model");
    }
    uint32_t ver = CM_VERSION, nf = NFIELDS;
    uint64_t al = ae_len;
    double v[NFIELDS];
    fields(m, v, 0);
    memcpy(w, "DCCM", 4), w += 4;
    memcpy(w, &ver, 4), w += 4;
    memcpy(w, &nf, 4), w += 4;
    memcpy(w, v, sizeof v), w += sizeof v;
    memcpy(w, &al, 8), w += 8;
    if (ae_len) memcpy(w, ae, ae_len), w += ae_len;
    memcpy(w, m->mu, mu_bytes), w += mu_bytes;
    uint64_t nl = n2d_len;
    memcpy(w, &nl, 8), w += 8;
    if (n2d_len && (rc = n2d_write(m, w, err)) < 0) {
        free(ae);
        free(p);
        return rc;
    }
    w += n2d_len;
    uint64_t h = fnv1a(p, (size_t)(w - p));
    memcpy(w, &h, 8);
    free(ae);
    *buf = p;
    *len = total;
    return 0;
}

int cluster_model_load(cluster_model **out, const void *buf, size_t len, dc_err *err)
{
    const unsigned char *p = buf;
    cluster_model *m = NULL;
    int rc = 0;
    uint32_t ver, nf;
    uint64_t al, h;
    *out = NULL;
    size_t head = 4 + 4 + 4 + NFIELDS_V2 * 8 + 8;
    if (len < head + 8 || memcmp(p, "DCCM", 4) != 0)
        return dc_err_set(err, DC_EFORMAT, "not a deepclust model (bad magic or too short: %zu bytes)", len);
    memcpy(&ver, p + 4, 4);
    memcpy(&nf, p + 8, 4);
    if (ver < 1 || ver > CM_VERSION || nf != (ver >= 3 ? NFIELDS : NFIELDS_V2))
        return dc_err_set(err, DC_EFORMAT, "model format version %u (%u fields) is not supported (want %d)",
                          ver, nf, CM_VERSION);
    head = 4 + 4 + 4 + (size_t)nf * 8 + 8;
    if (len < head + 8)
        return dc_err_set(err, DC_EFORMAT, "not a deepclust model (too short: %zu bytes)", len);
    memcpy(&h, p + len - 8, 8);
    if (fnv1a(p, len - 8) != h)
        return dc_err_set(err, DC_EFORMAT, "model checksum mismatch: the buffer is corrupt");
    if (!(m = calloc(1, sizeof *m))) return dc_err_set(err, DC_ENOMEM, "out of memory");
    double v[NFIELDS] = {0};
    memcpy(v, p + 12, (size_t)nf * 8);
    if (fields(m, v, 1) < 0) {
        rc = dc_err_set(err, DC_EFORMAT, "model header holds a value out of its field's range");
        goto out;
    }
    memcpy(&al, p + 12 + (size_t)nf * 8, 8);
    size_t mu_bytes = 0, total = 0;
    uint64_t nl = 0; /* n2d slot */
    if (ver >= 2) {
        size_t at;
        if (al > len || dc_mul3_size(m->k, m->e, sizeof(float), &mu_bytes) < 0 ||
            dc_add_size(head, (size_t)al, &at) < 0 || dc_add_size(at, mu_bytes, &at) < 0 ||
            dc_add_size(at, 16, &total) < 0 || total > len) {
            rc = dc_err_set(err, DC_EFORMAT, "model header is inconsistent with its size (%zu bytes)", len);
            goto out;
        }
        memcpy(&nl, p + at, 8);
        if (nl > len - total) {
            rc = dc_err_set(err, DC_EFORMAT, "model n2d slot (%llu bytes) runs past its end",
                            (unsigned long long)nl);
            goto out;
        }
        total = 0;
    }
    if (m->k < 1 || m->e < 1 || m->d < 1 || m->spec.method < 0 || m->spec.method >= CM_COUNT ||
        !cluster_opt_in_range(&cluster_opts[COPT_BATCH], m->spec.batch) ||
        al > len || dc_mul3_size(m->k, m->e, sizeof(float), &mu_bytes) < 0 ||
        dc_add_size(head, (size_t)al, &total) < 0 || dc_add_size(total, mu_bytes, &total) < 0 ||
        dc_add_size(total, 8, &total) < 0 || dc_add_size(total, ver >= 2 ? 8 : 0, &total) < 0 ||
        dc_add_size(total, (size_t)nl, &total) < 0 || total != len) {
        rc = dc_err_set(err, DC_EFORMAT, "model header is inconsistent with its size (%zu bytes)", len);
        goto out;
    }
    if (al && m->spec.method == CM_VAE) {
        if ((rc = vae_load(&m->vae, p + head, (size_t)al, err)) < 0) goto out;
    } else if (al && (rc = nn_ae_load(&m->ae, p + head, (size_t)al, m->spec.batch, err)) < 0) {
        /* the training batch: predictions then run in the same slices as the fitted
         * model's, and some OpenBLAS kernels (Haswell, Zen) round a row differently
         * with the number of rows of its GEMM */
        goto out;
    }
    if (!(m->mu = malloc(mu_bytes))) {
        rc = dc_err_set(err, DC_ENOMEM, "out of memory");
        goto out;
    }
    memcpy(m->mu, p + head + al, mu_bytes);
    int code = m->spec.method == CM_N2D ? m->spec.embed_dim : m->e; /* the ae's output */
    if ((m->ae && (m->ae->in_dim != (size_t)m->d || m->ae->emb_dim != code)) ||
        (m->vae && (vae_config(m->vae)->d != m->d || vae_latent(m->vae) != m->e ||
                    vae_k(m->vae) != m->k)) ||
        (m->spec.method != CM_KMEANS && m->spec.method != CM_N2D && !m->ae && !m->vae) ||
        (m->spec.method == CM_N2D && (m->vae || (m->spec.n_hidden > 0) != (m->ae != NULL) ||
                                      (!m->ae && code != m->d)))) {
        rc = dc_err_set(err, DC_EFORMAT, "model autoencoder shape does not match its header");
        goto out;
    }
    if ((m->spec.method == CM_N2D) != (nl > 0)) {
        rc = dc_err_set(err, DC_EFORMAT, "model n2d data %s", nl ? "in a model of another method"
                                                                 : "is missing");
        goto out;
    }
    if (nl && (rc = n2d_read(m, p + head + al + mu_bytes + 8, (size_t)nl, err)) < 0) goto out;
    /* k-means centroids live in the input space; an image shape must describe d */
    if ((m->spec.method == CM_KMEANS && (m->ae || m->vae || m->e != m->d)) ||
        !((m->h == 0 && m->w == 0 && m->c == 0) ||
          (m->h > 0 && m->w > 0 && m->c > 0 && (int64_t)m->h * m->w * m->c == m->d))) {
        rc = dc_err_set(err, DC_EFORMAT, "model shape is inconsistent: d %d, embedding %d, "
                        "image %dx%dx%d", m->d, m->e, m->h, m->w, m->c);
        goto out;
    }
out:
    if (rc < 0) cluster_model_free(m);
    else *out = m;
    return rc;
}

int cluster_model_save_ae(const cluster_model *m, void **buf, size_t *len, dc_err *err)
{
    if (!m->ae) return dc_err_set(err, DC_EINVAL, "this model has no autoencoder");
    return nn_ae_save(m->ae, buf, len, err);
}

/* ---- checkpoints -------------------------------------------------------------------
 * "DCCK" | u32 version | i32 phase, iter, updates, pad | i64 pos | u64 fingerprint of
 * (spec, shapes, n) | u64 t of opt, opt_mu | 8 x (u64 count, 4-byte values): ae params,
 * opt m, opt v, mu, opt_mu m, opt_mu v, targets p (n,k), labels (n, int32), and from
 * version 2 the vae's training state (vae_state_save, phase 3) | from version 3: u64
 * bytes, the n2d layout slot (phase 4, else 0 bytes) | u64 FNV-1a of everything before
 * it. Versions 1 (no vae slot) and 2 (no n2d slot) are still read; peek checks that the
 * slots tile the blob exactly.
 *
 * The n2d layout slot (phase 4: n2d's UMAP layout, iter = its epochs done; the ae params
 * ride in the first array as in every phase; umap_layout_state in umap.h):
 *   i32 epoch, n_epochs, init_iters, n_components, rng_has_spare, pad | u64 n, n_edges,
 *   graph_hash, rng[4], next_neg | f64 rng_spare | n x n_components float32 embedding.
 * No kNN, graph or per-edge state: a resume recomputes them. */
enum { CK_VERSION = 3, CK_ARRAYS = 9, CK_HEAD = 56, CK_LAYOUT_HEAD = 24 + 64 + 8 };

/* floats the vae state slot holds: its bytes rounded up */
static size_t vst_floats(size_t bytes) { return (bytes + sizeof(float) - 1) / sizeof(float); }

/* The version-2 fields and n, then the later fields only when one is not 0: a
 * checkpoint written before they existed still matches its spec. */
static uint64_t fingerprint(cluster_model *m, int64_t n)
{
    double v[NFIELDS + 1];
    int extra = 0;
    fields(m, v, 0);
    for (int i = NFIELDS_V2; i < NFIELDS; i++) extra |= v[i] != 0;
    memmove(v + NFIELDS_V2 + 1, v + NFIELDS_V2, (NFIELDS - NFIELDS_V2) * sizeof *v);
    v[NFIELDS_V2] = (double)n;
    return fnv1a((const unsigned char *)v, (extra ? NFIELDS + 1 : NFIELDS_V2 + 1) * sizeof *v);
}

int cluster__ckpt_save(cluster_model *m, int64_t n, const cluster_ckpt *ck, void **buf,
                       size_t *len, dc_err *err)
{
    float *vst = NULL; /* the vae state, padded to whole floats */
    size_t vst_n = 0;
    if (ck->phase == 3 && m->vae) {
        vst_n = vst_floats(vae_state_size(m->vae));
        if (!(vst = calloc(vst_n, sizeof *vst)))
            return dc_err_set(err, DC_ENOMEM, "out of memory for the vae state");
        vae_state_save(m->vae, vst);
    }
    const float *arr[CK_ARRAYS] = {m->ae ? m->ae->params : NULL, ck->opt ? ck->opt->m : NULL,
                                   ck->opt ? ck->opt->v : NULL, ck->phase == 2 ? m->mu : NULL,
                                   ck->opt_mu ? ck->opt_mu->m : NULL,
                                   ck->opt_mu ? ck->opt_mu->v : NULL, ck->p,
                                   (const float *)ck->lab, vst};
    uint64_t cnt[CK_ARRAYS] = {m->ae ? m->ae->nparams : 0, ck->opt ? ck->opt->n : 0,
                               ck->opt && ck->opt->v ? ck->opt->n : 0,
                               ck->phase == 2 ? (uint64_t)m->k * m->e : 0,
                               ck->opt_mu ? ck->opt_mu->n : 0,
                               ck->opt_mu && ck->opt_mu->v ? ck->opt_mu->n : 0,
                               ck->p ? (uint64_t)n * m->k : 0, ck->lab ? (uint64_t)n : 0,
                               vst_n};
    const umap_layout_state *ls = ck->phase == 4 ? ck->layout : NULL;
    uint64_t lbytes = ls ? CK_LAYOUT_HEAD + (uint64_t)ls->n * ls->n_components * sizeof(float) : 0;
    size_t total = CK_HEAD + 8 + 8 + lbytes;
    for (int i = 0; i < CK_ARRAYS; i++) total += 8 + cnt[i] * sizeof(float);
    unsigned char *p = malloc(total), *w = p;
    if (!p) {
        free(vst);
        return dc_err_set(err, DC_ENOMEM, "out of memory for a %zu-byte checkpoint", total);
    }
    uint32_t ver = CK_VERSION;
    int32_t hd[4] = {ck->phase, ck->iter, ck->updates, 0};
    int64_t pos = ck->pos;
    uint64_t fp = fingerprint(m, n), t[2] = {ck->opt ? (uint64_t)ck->opt->t : 0,
                                             ck->opt_mu ? (uint64_t)ck->opt_mu->t : 0};
    memcpy(w, "DCCK", 4), w += 4;
    memcpy(w, &ver, 4), w += 4;
    memcpy(w, hd, 16), w += 16;
    memcpy(w, &pos, 8), w += 8;
    memcpy(w, &fp, 8), w += 8;
    memcpy(w, t, 16), w += 16;
    for (int i = 0; i < CK_ARRAYS; i++) {
        memcpy(w, &cnt[i], 8), w += 8;
        if (cnt[i]) memcpy(w, arr[i], cnt[i] * sizeof(float)), w += cnt[i] * sizeof(float);
    }
    memcpy(w, &lbytes, 8), w += 8;
    if (ls) {
        int32_t li[6] = {ls->epoch, ls->n_epochs, ls->init_iters, ls->n_components,
                         ls->rng_has_spare, 0};
        uint64_t lu[8] = {ls->n, ls->n_edges, ls->graph_hash, ls->rng[0], ls->rng[1],
                          ls->rng[2], ls->rng[3], ls->next_neg};
        size_t eb = (size_t)(lbytes - CK_LAYOUT_HEAD);
        memcpy(w, li, sizeof li), w += sizeof li;
        memcpy(w, lu, sizeof lu), w += sizeof lu;
        memcpy(w, &ls->rng_spare, 8), w += 8;
        memcpy(w, ls->embedding, eb), w += eb;
    }
    uint64_t h = fnv1a(p, (size_t)(w - p));
    memcpy(w, &h, 8);
    free(vst);
    *buf = p;
    *len = total;
    return 0;
}

/* Copies one array from the blob into dst (cnt floats expected; dst NULL: must be 0). */
static int take(const unsigned char **r, const unsigned char *end, float *dst, size_t want,
                const char *what, dc_err *err)
{
    uint64_t c;
    if (end - *r < 8) return dc_err_set(err, DC_EFORMAT, "checkpoint truncated at %s", what);
    memcpy(&c, *r, 8);
    *r += 8;
    size_t bytes;
    if (c != (dst ? want : 0) || c > INT64_MAX || dc_mul_size((int64_t)c, sizeof(float), &bytes) < 0 ||
        (size_t)(end - *r) < bytes)
        return dc_err_set(err, DC_EINVAL, "checkpoint %s has %llu values, expected %zu", what,
                          (unsigned long long)c, dst ? want : 0);
    if (c) memcpy(dst, *r, c * sizeof(float));
    *r += c * sizeof(float);
    return 0;
}

/* Walks the slots after the header: each a u64 count of 4-byte values (of bytes for the
 * n2d slot), then the values; they must end exactly at the checksum. *layout, *layout_len
 * (optional): the n2d slot's bytes (0 before version 3). */
static int ckpt_walk(const unsigned char *p, size_t len, uint32_t ver,
                     const unsigned char **layout, uint64_t *layout_len, dc_err *err)
{
    const unsigned char *r = p + CK_HEAD, *end = p + len - 8;
    int slots = ver >= 3 ? CK_ARRAYS + 1 : ver == 2 ? CK_ARRAYS : CK_ARRAYS - 1;
    if (layout) *layout = NULL, *layout_len = 0;
    for (int i = 0; i < slots; i++) {
        uint64_t c;
        size_t unit = i == CK_ARRAYS ? 1 : sizeof(float);
        if (end - r < 8) return dc_err_set(err, DC_EFORMAT, "checkpoint truncated (slot %d)", i);
        memcpy(&c, r, 8);
        r += 8;
        if (c > (uint64_t)(end - r) / unit)
            return dc_err_set(err, DC_EFORMAT, "checkpoint slot %d (%llu values) runs past its end",
                              i, (unsigned long long)c);
        if (i == CK_ARRAYS && layout) *layout = r, *layout_len = c;
        r += c * unit;
    }
    if (r != end)
        return dc_err_set(err, DC_EFORMAT, "checkpoint has %td bytes past its last slot", end - r);
    return 0;
}

int cluster__ckpt_peek(const void *buf, size_t len, cluster_ckpt *ck, dc_err *err)
{
    const unsigned char *p = buf, *lay;
    uint32_t ver;
    uint64_t h, lay_len;
    int32_t hd[4];
    int rc;
    if (!buf || len < 64 || memcmp(p, "DCCK", 4) != 0)
        return dc_err_set(err, DC_EFORMAT, "not a deepclust checkpoint");
    memcpy(&ver, p + 4, 4);
    memcpy(&h, p + len - 8, 8);
    if (ver < 1 || ver > CK_VERSION)
        return dc_err_set(err, DC_EFORMAT, "checkpoint version %u unsupported", ver);
    if (fnv1a(p, len - 8) != h) return dc_err_set(err, DC_EFORMAT, "checkpoint checksum mismatch");
    memcpy(hd, p + 8, 16);
    memset(ck, 0, sizeof *ck);
    ck->phase = hd[0], ck->iter = hd[1], ck->updates = hd[2];
    memcpy(&ck->pos, p + 24, 8);
    if (ck->phase < 1 || ck->phase > (ver >= 3 ? 4 : ver == 2 ? 3 : 2) || ck->iter < 0 ||
        ck->updates < 0 || ck->pos < 0)
        return dc_err_set(err, DC_EFORMAT, "checkpoint header is inconsistent");
    if ((rc = ckpt_walk(p, len, ver, &lay, &lay_len, err)) < 0) return rc;
    if ((ck->phase == 4) != (lay_len > 0))
        return dc_err_set(err, DC_EFORMAT, "checkpoint %s", lay_len ? "holds a layout outside "
                          "phase 4" : "of phase 4 has no layout");
    return 0;
}

int cluster__ckpt_layout(cluster_model *m, int64_t n, const void *buf, size_t len,
                         umap_layout_state *st, dc_err *err)
{
    const unsigned char *lay;
    uint64_t lay_len, lu[8];
    int32_t li[6];
    uint32_t ver;
    cluster_ckpt ck;
    int rc = cluster__ckpt_peek(buf, len, &ck, err);
    memset(st, 0, sizeof *st);
    if (rc < 0) return rc;
    memcpy(&ver, (const unsigned char *)buf + 4, 4);
    if (ck.phase != 4) return dc_err_set(err, DC_EINVAL, "checkpoint is not from a layout (phase %d)", ck.phase);
    uint64_t fp;
    memcpy(&fp, (const unsigned char *)buf + 32, 8);
    if (fp != fingerprint(m, n))
        return dc_err_set(err, DC_EINVAL, "checkpoint belongs to another spec or dataset");
    if ((rc = ckpt_walk(buf, len, ver, &lay, &lay_len, err)) < 0) return rc;
    int c = m->spec.manifold_components;
    if (lay_len < CK_LAYOUT_HEAD)
        return dc_err_set(err, DC_EFORMAT, "checkpoint layout truncated (%llu bytes)",
                          (unsigned long long)lay_len);
    memcpy(li, lay, sizeof li);
    memcpy(lu, lay + sizeof li, sizeof lu);
    memcpy(&st->rng_spare, lay + sizeof li + sizeof lu, 8);
    st->epoch = li[0], st->n_epochs = li[1], st->init_iters = li[2], st->n_components = li[3];
    st->rng_has_spare = li[4];
    st->n = (size_t)lu[0], st->n_edges = (size_t)lu[1], st->graph_hash = lu[2];
    memcpy(st->rng, lu + 3, sizeof st->rng);
    st->next_neg = lu[7];
    if (lu[0] != (uint64_t)n || li[3] != c || lay_len != CK_LAYOUT_HEAD + (uint64_t)n * c * sizeof(float) ||
        li[1] < 1 || li[0] < 0 || li[0] > li[1] || li[0] != ck.iter || li[2] < 0 ||
        (li[4] != 0 && li[4] != 1) || lu[7] >= (uint64_t)n || !isfinite(st->rng_spare) ||
        (lu[3] | lu[4] | lu[5] | lu[6]) == 0)
        return dc_err_set(err, DC_EFORMAT, "checkpoint layout is inconsistent (%llu x %d, epoch "
                          "%d of %d, %llu bytes)", (unsigned long long)lu[0], li[3], li[0], li[1],
                          (unsigned long long)lay_len);
    size_t eb = (size_t)lay_len - CK_LAYOUT_HEAD;
    if (!(st->embedding = malloc(eb ? eb : 1)))
        return dc_err_set(err, DC_ENOMEM, "out of memory for the checkpoint's layout");
    memcpy(st->embedding, lay + CK_LAYOUT_HEAD, eb);
    if (!all_finite(st->embedding, (size_t)n * c)) {
        free(st->embedding);
        st->embedding = NULL;
        return dc_err_set(err, DC_EFORMAT, "checkpoint layout holds a non-finite value");
    }
    return 0;
}

int cluster__ckpt_restore(cluster_model *m, int64_t n, const void *buf, size_t len,
                          nn_optim *opt, nn_optim *opt_mu, float *tgt, int32_t *lab,
                          dc_err *err)
{
    const unsigned char *p = buf, *r = p + 32, *end = p + len - 8; /* peek: len >= 64 */
    uint64_t fp, t[2];
    cluster_ckpt ck;
    int rc = cluster__ckpt_peek(buf, len, &ck, err);
    if (rc < 0) return rc;
    memcpy(&fp, r, 8), r += 8;
    memcpy(t, r, 16), r += 16;
    if (fp != fingerprint(m, n))
        return dc_err_set(err, DC_EINVAL, "checkpoint belongs to another spec or dataset");
    if ((rc = take(&r, end, m->ae ? m->ae->params : NULL, m->ae ? m->ae->nparams : 0, "params", err)) < 0 ||
        (rc = take(&r, end, opt ? opt->m : NULL, opt ? opt->n : 0, "optimizer m", err)) < 0 ||
        (rc = take(&r, end, opt ? opt->v : NULL, opt ? opt->n : 0, "optimizer v", err)) < 0 ||
        (rc = take(&r, end, ck.phase == 2 ? m->mu : NULL, (size_t)m->k * m->e, "centroids", err)) < 0 ||
        (rc = take(&r, end, opt_mu ? opt_mu->m : NULL, opt_mu ? opt_mu->n : 0, "centroid optimizer m", err)) < 0 ||
        (rc = take(&r, end, opt_mu ? opt_mu->v : NULL, opt_mu ? opt_mu->n : 0, "centroid optimizer v", err)) < 0 ||
        (rc = take(&r, end, ck.phase == 2 ? tgt : NULL, (size_t)n * m->k, "targets", err)) < 0 ||
        (rc = take(&r, end, ck.phase == 2 ? (float *)lab : NULL, (size_t)n, "labels", err)) < 0)
        return rc;
    uint32_t ver;
    memcpy(&ver, p + 4, 4);
    if (ver >= 2) { /* the vae state: phase 3 only, into m->vae */
        uint64_t c;
        if (end - r < 8) return dc_err_set(err, DC_EFORMAT, "checkpoint truncated at the vae state");
        memcpy(&c, r, 8);
        r += 8;
        /* its size is vae_state_load's to check: an older state is smaller */
        size_t want = ck.phase == 3 && m->vae ? vae_state_size(m->vae) : 0;
        size_t bytes;
        if ((want ? c == 0 : c != 0) || c > INT64_MAX ||
            dc_mul_size((int64_t)c, sizeof(float), &bytes) < 0 || (size_t)(end - r) < bytes)
            return dc_err_set(err, DC_EINVAL, "checkpoint vae state has %llu values, expected %zu",
                              (unsigned long long)c, vst_floats(want));
        if (want && (rc = vae_state_load(m->vae, r, bytes, err)) < 0)
            return rc;
    }
    if (opt) opt->t = (long)t[0];
    if (opt_mu) opt_mu->t = (long)t[1];
    return 0;
}
