/* gen_seeds: writes the binary seed corpora of the fuzz targets into DIR/<target>/:
 * small valid files of every data format (plain and gzip), models of every method,
 * checkpoints of every phase and vae states, each in the input layout its target reads
 * (selector bytes first; model and checkpoint buffers without their 8-byte checksum,
 * which the targets append). Deterministic. The text seeds (JSON specs, predict bodies,
 * request lines) are in fuzz/seeds/ instead.
 *
 *   gen_seeds DIR */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "fuzz_specs.h"
#include "iforest.h"

static const char *root;
static int failures;

static void put(const char *target, const char *name, const void *head, size_t hlen,
                const void *body, size_t blen)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", root, target);
    if (mkdir(path, 0755) < 0 && errno != EEXIST) {
        perror(path);
        failures++;
        return;
    }
    snprintf(path, sizeof path, "%s/%s/%s", root, target, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(head, 1, hlen, f) != hlen || (blen && fwrite(body, 1, blen, f) != blen) ||
        fclose(f) != 0) {
        perror(path);
        failures++;
    }
}

static unsigned char *gzip(const unsigned char *p, size_t n, size_t *out)
{
    uLongf cap = compressBound(n) + 32;
    unsigned char *z = malloc(cap);
    z_stream s = {0};
    if (!z || deflateInit2(&s, 6, Z_DEFLATED, 16 + 15, 8, Z_DEFAULT_STRATEGY) != Z_OK) abort();
    s.next_in = (unsigned char *)p, s.avail_in = (uInt)n;
    s.next_out = z, s.avail_out = (uInt)cap;
    if (deflate(&s, Z_FINISH) != Z_STREAM_END) abort();
    *out = s.total_out;
    deflateEnd(&s);
    return z;
}

/* A data seed: selector (format, mode), options byte, file; also gzip'd. */
static void data_seed(const char *name, int fmt, int mode, int opts, const void *file,
                      size_t n, int also_gz)
{
    unsigned char head[2] = {(unsigned char)(fmt + 5 * mode), (unsigned char)opts};
    put("fuzz_data", name, head, 2, file, n);
    if (also_gz) {
        size_t zn;
        unsigned char *z = gzip(file, n, &zn);
        char gzname[128];
        snprintf(gzname, sizeof gzname, "%s.gz", name);
        put("fuzz_data", gzname, head, 2, z, zn);
        free(z);
    }
}

static void data_seeds(void)
{
    /* IDX3 uint8 3x2x2 images; IDX1 labels; IDX2 big-endian int16 and float32 */
    static const unsigned char idx3[] = {0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0, 2,
                                         0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 255};
    static const unsigned char idx1[] = {0, 0, 8, 1, 0, 0, 0, 3, 1, 0, 2};
    static const unsigned char idx_i16[] = {0, 0, 0x0B, 2, 0, 0, 0, 2, 0, 0, 0, 2,
                                            0, 1, 0xff, 0xfe, 1, 0, 0, 7};
    static const unsigned char idx_f32[] = {0, 0, 0x0D, 2, 0, 0, 0, 1, 0, 0, 0, 2,
                                            0x3f, 0x80, 0, 0, 0xbf, 0, 0, 0};
    for (int mode = 0; mode < 3; mode++) {
        char name[64];
        snprintf(name, sizeof name, "idx3_u8_m%d", mode);
        data_seed(name, DATA_FMT_AUTO, mode, 0, idx3, sizeof idx3, 1);
        snprintf(name, sizeof name, "idx1_labels_m%d", mode);
        data_seed(name, mode == 1 ? DATA_FMT_IDX : DATA_FMT_AUTO, mode, 0, idx1, sizeof idx1, 1);
    }
    data_seed("idx2_i16", DATA_FMT_IDX, 0, 1, idx_i16, sizeof idx_i16, 0);
    data_seed("idx2_f32", DATA_FMT_AUTO, 2, 2, idx_f32, sizeof idx_f32, 0);

    /* NPY: float32 (2,3) C order; uint8 (2,2,2); float64 (3,) labels; big-endian int32 */
    const char *npy_hdr[] = {"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }",
                             "{'descr': '|u1', 'fortran_order': False, 'shape': (2, 2, 2), }",
                             "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }",
                             "{'descr': '>i4', 'fortran_order': False, 'shape': (1, 2), }"};
    const size_t npy_bytes[] = {24, 8, 24, 8};
    for (int i = 0; i < 4; i++) {
        unsigned char f[256] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0};
        size_t hl = strlen(npy_hdr[i]), padded = (10 + hl + 1 + 63) / 64 * 64 - 10;
        f[8] = (unsigned char)(padded & 0xff), f[9] = (unsigned char)(padded >> 8);
        memcpy(f + 10, npy_hdr[i], hl);
        memset(f + 10 + hl, ' ', padded - hl - 1);
        f[10 + padded - 1] = '\n';
        size_t off = 10 + padded;
        for (size_t b = 0; b < npy_bytes[i]; b++) f[off + b] = 0;
        if (i == 0 || i == 2) { /* 1.0 in the first value */
            if (i == 0) f[off + 2] = 0x80, f[off + 3] = 0x3f;
            else f[off + 6] = 0xf0, f[off + 7] = 0x3f;
        }
        char name[32];
        snprintf(name, sizeof name, "npy_%d", i);
        data_seed(name, i == 2 ? DATA_FMT_NPY : DATA_FMT_AUTO, i == 2 ? 1 : (i == 3 ? 2 : 0), 0,
                  f, off + npy_bytes[i], i == 0);
    }

    /* CSV: header + label column; plain numbers; labels only */
    static const char csv1[] = "a,b,label\n0.5,1e-3,1\n-2,3.25,0\n";
    static const char csv2[] = "1,2,3\n4,5,6\r\n7,8,9\n";
    static const char csv3[] = "3\n1\n0\n";
    data_seed("csv_header_label", DATA_FMT_CSV, 0, 0x10 | 0x20 /* has label, col -1 */, csv1,
              sizeof csv1 - 1, 1);
    data_seed("csv_plain", DATA_FMT_AUTO, 2, 0x08 /* header no */, csv2, sizeof csv2 - 1, 0);
    data_seed("csv_labels", DATA_FMT_CSV, 1, 0, csv3, sizeof csv3 - 1, 0);

    /* DCF32: 2 rows of 4 floats, image 2x2x1 */
    unsigned char dcf[32 + 8 * 4] = {'D', 'C', 'F', '3', '2', 0, 1, 0, 2};
    int32_t dims[4] = {4, 2, 2, 1};
    memcpy(dcf + 16, dims, 16);
    for (int i = 0; i < 8; i++) {
        float v = (float)i / 8;
        memcpy(dcf + 32 + 4 * i, &v, 4);
    }
    data_seed("dcf32", DATA_FMT_DCF32, 0, 1, dcf, sizeof dcf, 1);
    data_seed("dcf32_stream", DATA_FMT_AUTO, 2, 0, dcf, sizeof dcf, 0);
}

/* ---- models, checkpoints, vae states ------------------------------------------------ */

typedef struct ck_ctx {
    int sel, count;
} ck_ctx;

static int on_ckpt(void *ctx, const void *state, size_t len)
{
    ck_ctx *c = ctx;
    char name[64];
    unsigned char sel = (unsigned char)c->sel;
    snprintf(name, sizeof name, "%s_%02d", cluster_method_name(fz_methods[c->sel]), c->count++);
    if (len > 8) put("fuzz_ckpt", name, &sel, 1, state, len - 8);
    return 0;
}

static void model_seeds(const dataset *ds)
{
    static const cluster_method all[] = {CM_KMEANS, CM_AE_KMEANS, CM_DEC, CM_IDEC, CM_VAE};
    dc_err e = {0};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        cluster_spec s;
        cluster_model *m = NULL;
        fz_spec(&s, all[i]);
        ck_ctx cc = {0, 0};
        cluster_fit_opts o = {0};
        for (int j = 0; j < FZ_N_METHODS; j++)
            if (fz_methods[j] == all[i]) cc.sel = j, o.ckpt = on_ckpt, o.ckpt_ctx = &cc;
        if (cluster_fit_ex(&m, &s, ds, &o, &e) < 0) {
            fprintf(stderr, "gen_seeds: fit %s: %s\n", cluster_method_name(all[i]), e.msg);
            failures++;
            continue;
        }
        void *buf;
        size_t len;
        if (cluster_model_save(m, &buf, &len, &e) == 0) {
            put("fuzz_model", cluster_method_name(all[i]), buf, len - 8, NULL, 0);
            free(buf);
        } else {
            failures++;
        }
        cluster_model_free(m);
    }
}

static void vae_state_seeds(const dataset *ds)
{
    for (int ep = 0; ep < 3; ep++) { /* fresh, after one epoch, after two */
        vae_cfg c;
        vae *v = NULL;
        dc_err e = {0};
        fz_vae_cfg(&c);
        c.epochs = ep ? ep : 1;
        if (vae_new(&v, &c, &e) < 0 || (ep && vae_train(v, ds->x, FZ_N, NULL, NULL, NULL, &e) < 0)) {
            fprintf(stderr, "gen_seeds: vae: %s\n", e.msg);
            failures++;
            vae_free(v);
            continue;
        }
        size_t n = vae_state_size(v);
        unsigned char *st = malloc(n);
        if (!st) abort();
        vae_state_save(v, st);
        char name[32];
        snprintf(name, sizeof name, "vst2_ep%d", ep);
        put("fuzz_vae_state", name, st, n, NULL, 0);
        free(st);
        vae_free(v);
    }
}

static void iforest_seeds(const dataset *ds)
{
    for (int t = 1; t <= 3; t += 2) { /* 1 and 3 trees of up to 16 points */
        iforest_opts o;
        iforest_opts_default(&o);
        o.n_trees = t;
        o.subsample = 16;
        iforest *f = NULL;
        dc_err e = {0};
        if (iforest_fit(&f, ds->x, FZ_N, ds->d, &o, &e) < 0) {
            fprintf(stderr, "gen_seeds: iforest: %s\n", e.msg);
            failures++;
            continue;
        }
        size_t n = iforest_saved_len(f);
        double *b = malloc(n * sizeof *b);
        if (!b) abort();
        iforest_save(f, b, n, &e);
        char name[32];
        snprintf(name, sizeof name, "forest_%d", t);
        put("fuzz_iforest", name, b, n * sizeof *b, NULL, 0);
        free(b);
        iforest_free(f);
    }
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: gen_seeds DIR\n");
        return 2;
    }
    root = argv[1];
    if (mkdir(root, 0755) < 0 && errno != EEXIST) {
        perror(root);
        return 1;
    }
    dataset ds = {0};
    fz_dataset(&ds);
    data_seeds();
    model_seeds(&ds);
    vae_state_seeds(&ds);
    iforest_seeds(&ds);
    dataset_free(&ds);
    return failures ? 1 : 0;
}
