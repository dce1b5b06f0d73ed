/* cluster_io: a cluster_model as one byte buffer.
 *
 * Layout (little-endian):
 *   "DCCM" | u32 version (1) | u32 nfields | nfields x f64 (spec and shape, in the
 *   order of fields() below) | u64 ae_len | ae_len bytes (nn_ae_save, or vae_save for
 *   the vae method; 0 for kmeans)
 *   | k*e float32 centroids | u64 FNV-1a of everything before it.
 */
#include <assert.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cluster_internal.h"

enum { CM_VERSION = 1, NFIELDS = 48 }; /* room for later fields, read as 0 */

static uint64_t fnv1a(const unsigned char *p, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 1099511628211ULL;
    return h;
}

/* A stored field read back into a field of type kind (0 int, 1 uint64_t, 2 double):
 * converting a double outside the type's range is undefined, so such files are refused. */
static int field_fits(double x, int kind)
{
    if (!isfinite(x)) return 0;
    if (kind == 0) return x > (double)INT_MIN - 1.0 && x < (double)INT_MAX + 1.0;
    if (kind == 1) return x > -1.0 && x < 18446744073709551616.0; /* 2^64 */
    return 1;
}

/* Writes the fields of m into v (NFIELDS doubles), or reads them back when read.
 * Returns the number of fields that did not fit their type (read; they are left 0). */
static int fields(cluster_model *m, double *v, int read)
{
    cluster_spec *s = &m->spec;
    int i = 0, bad = 0;
#define IO(x)                                                                          \
    do {                                                                               \
        if (!read) v[i] = (double)(x);                                                 \
        else if (field_fits(v[i], _Generic((x), int: 0, uint64_t: 1, double: 2)))      \
            x = (__typeof__(x))v[i];                                                   \
        else bad++;                                                                    \
        i++;                                                                           \
    } while (0)
    IO(s->method); IO(s->k); IO(s->seed); IO(m->d); IO(m->e); IO(m->k);
    IO(m->h); IO(m->w); IO(m->c); IO(s->n_hidden);
    for (int j = 0; j < CLUSTER_MAX_DIMS; j++) IO(s->hidden[j]);
    IO(s->embed_dim); IO(s->pretrain_epochs); IO(s->batch); IO(s->pretrain_opt);
    IO(s->pretrain_lr); IO(s->pretrain_momentum); IO(s->n_init); IO(s->kmeans_max_iter);
    IO(s->kmeans_tol); IO(s->alpha); IO(s->update_interval); IO(s->tol); IO(s->maxiter);
    IO(s->gamma); IO(s->cluster_opt); IO(s->cluster_lr); IO(s->cluster_momentum);
    IO(s->latent); IO(s->vae_epochs); IO(s->vae_conv); IO(s->vae_bce); IO(s->vae_rec_weight);
    IO(s->pretrain_init); IO(s->vae_lr); /* 0 in files written before these existed */
#undef IO
    assert(i <= NFIELDS);
    for (; !read && i < NFIELDS; i++) v[i] = 0;
    return bad;
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
    size_t total = 4 + 4 + 4 + NFIELDS * 8 + 8 + ae_len + mu_bytes + 8;
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
    size_t head = 4 + 4 + 4 + NFIELDS * 8 + 8;
    if (len < head + 8 || memcmp(p, "DCCM", 4) != 0)
        return dc_err_set(err, DC_EFORMAT, "not a deepclust model (bad magic or too short: %zu bytes)", len);
    memcpy(&ver, p + 4, 4);
    memcpy(&nf, p + 8, 4);
    if (ver != CM_VERSION || nf != NFIELDS)
        return dc_err_set(err, DC_EFORMAT, "model format version %u (%u fields) is not supported (want %d)",
                          ver, nf, CM_VERSION);
    memcpy(&h, p + len - 8, 8);
    if (fnv1a(p, len - 8) != h)
        return dc_err_set(err, DC_EFORMAT, "model checksum mismatch: the buffer is corrupt");
    if (!(m = calloc(1, sizeof *m))) return dc_err_set(err, DC_ENOMEM, "out of memory");
    double v[NFIELDS];
    memcpy(v, p + 12, sizeof v);
    if (fields(m, v, 1)) {
        rc = dc_err_set(err, DC_EFORMAT, "model header has a field out of its type's range");
        goto out;
    }
    memcpy(&al, p + 12 + sizeof v, 8);
    size_t mu_bytes = (size_t)m->k * m->e * sizeof(float);
    if (m->k < 1 || m->e < 1 || m->d < 1 || m->spec.method < 0 || m->spec.method >= CM_COUNT ||
        al > len || mu_bytes > len || head + al + mu_bytes + 8 != len) {
        rc = dc_err_set(err, DC_EFORMAT, "model header is inconsistent with its size (%zu bytes)", len);
        goto out;
    }
    if (al && m->spec.method == CM_VAE) {
        if ((rc = vae_load(&m->vae, p + head, (size_t)al, err)) < 0) goto out;
    } else if (al && (rc = nn_ae_load(&m->ae, p + head, (size_t)al, 256, err)) < 0) {
        goto out;
    }
    if (!(m->mu = malloc(mu_bytes))) {
        rc = dc_err_set(err, DC_ENOMEM, "out of memory");
        goto out;
    }
    memcpy(m->mu, p + head + al, mu_bytes);
    if ((m->ae && (m->ae->in_dim != (size_t)m->d || m->ae->emb_dim != m->e)) ||
        (m->vae && (vae_config(m->vae)->d != m->d || vae_latent(m->vae) != m->e ||
                    vae_k(m->vae) != m->k)) ||
        (m->spec.method != CM_KMEANS && !m->ae && !m->vae)) {
        rc = dc_err_set(err, DC_EFORMAT, "model autoencoder shape does not match its header");
        goto out;
    }
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
 * version 2 the vae's training state (vae_state_save, phase 3) | u64 FNV-1a of everything
 * before it. Version 1 (no vae slot) is still read. */
enum { CK_VERSION = 2, CK_ARRAYS = 9 };

/* floats the vae state slot holds: its bytes rounded up */
static size_t vst_floats(size_t bytes) { return (bytes + sizeof(float) - 1) / sizeof(float); }

static uint64_t fingerprint(cluster_model *m, int64_t n)
{
    double v[NFIELDS + 1];
    fields(m, v, 0);
    v[NFIELDS] = (double)n;
    return fnv1a((const unsigned char *)v, sizeof v);
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
    size_t total = 4 + 4 + 16 + 8 + 8 + 16 + 8;
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
    if (c != (dst ? want : 0) || (uint64_t)(end - *r) < c * sizeof(float))
        return dc_err_set(err, DC_EINVAL, "checkpoint %s has %llu values, expected %zu", what,
                          (unsigned long long)c, dst ? want : 0);
    if (c) memcpy(dst, *r, c * sizeof(float));
    *r += c * sizeof(float);
    return 0;
}

int cluster__ckpt_peek(const void *buf, size_t len, cluster_ckpt *ck, dc_err *err)
{
    const unsigned char *p = buf;
    uint32_t ver;
    uint64_t h;
    int32_t hd[4];
    if (len < 64 || memcmp(p, "DCCK", 4) != 0)
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
    if (ck->phase < 1 || ck->phase > (ver >= 2 ? 3 : 2) || ck->iter < 0 || ck->updates < 0 ||
        ck->pos < 0)
        return dc_err_set(err, DC_EFORMAT, "checkpoint header is inconsistent");
    return 0;
}

int cluster__ckpt_restore(cluster_model *m, int64_t n, const void *buf, size_t len,
                          nn_optim *opt, nn_optim *opt_mu, float *tgt, int32_t *lab,
                          dc_err *err)
{
    const unsigned char *p = buf, *r = p + 32, *end = p + len - 8;
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
        if ((want ? c == 0 : c != 0) || (uint64_t)(end - r) < c * sizeof(float))
            return dc_err_set(err, DC_EINVAL, "checkpoint vae state has %llu values, expected %zu",
                              (unsigned long long)c, vst_floats(want));
        if (want && (rc = vae_state_load(m->vae, r, (size_t)c * sizeof(float), err)) < 0)
            return rc;
    }
    if (opt) opt->t = (long)t[0];
    if (opt_mu) opt_mu->t = (long)t[1];
    return 0;
}
