/* manifold_io: the files around the manifold-stage comparison with umap-js
 * (bench/umap_vs_js.sh, docs/n2d.md "Against umap-js").
 *
 *   manifold_io codes --ae F.ae --data A [--labels A-l] [--data B --labels B-l] [--n N]
 *                     --out codes.npy [--labels-out labels.npy] [--raw-out x.npy]
 *   manifold_io score --embedding E.npy --labels labels.npy [--k K] [--seed S] [--n-init 5]
 *
 * codes: loads the data files (IDX, NPY, CSV, .gz; uint8 scaled to [0, 1], as `deepclust
 * train` does), concatenated in order, keeps the first N rows (default all; files past
 * the N-th row are not read), encodes them
 * with the autoencoder in F.ae (the bytes `deepclust train --save-ae` writes, nn_ae_save's
 * format) and writes the codes as float32 (N, code) and the labels as int32 (N,).
 * --raw-out writes the kept inputs themselves as float32 (N, d), already scaled: a subset
 * to train a small autoencoder on (`deepclust train --data x.npy ...`). Without --ae only
 * --raw-out and --labels-out are written.
 *
 * score: fits n2d's Gaussian mixture (full covariance, n_init 5, gmm.h's defaults; k =
 * largest label + 1 unless --k) to the embedding and prints ACC/NMI/ARI, the same code
 * and line as bench_umap's (bench_manifold.h), so both manifolds meet the same mixture.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_manifold.h"
#include "data.h"
#include "dc_blas.h"
#include "dc_time.h"
#include "nn_ae.h"

enum { MAX_FILES = 4 };

/* manifold_io codes ... (see the top) */
static int cmd_codes(int argc, char **argv)
{
    const char *data[MAX_FILES], *labels[MAX_FILES], *ae_path = NULL, *out = NULL,
               *labels_out = NULL, *raw_out = NULL;
    int nd = 0, nl = 0, rc = 1;
    size_t keep = 0;
    dataset all = {0}, part = {0};
    nn_ae *ae = NULL;
    void *ae_buf = NULL;
    size_t ae_len = 0;
    float *z = NULL;
    dc_err e = {0};
    for (int i = 2; i < argc; i++) {
        const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) {
            fprintf(stderr, "%s needs a value\n", k);
            return 2;
        }
        i++;
        if (!strcmp(k, "--data") && nd < MAX_FILES) data[nd++] = v;
        else if (!strcmp(k, "--labels") && nl < MAX_FILES) labels[nl++] = v;
        else if (!strcmp(k, "--ae")) ae_path = v;
        else if (!strcmp(k, "--n")) keep = strtoull(v, NULL, 10);
        else if (!strcmp(k, "--out")) out = v;
        else if (!strcmp(k, "--labels-out")) labels_out = v;
        else if (!strcmp(k, "--raw-out")) raw_out = v;
        else {
            fprintf(stderr, "codes: unknown option %s\n", k);
            return 2;
        }
    }
    if (nd < 1 || (nl && nl != nd) || (ae_path && !out) || (out && !ae_path) ||
        (labels_out && !nl) || (!out && !labels_out && !raw_out)) {
        fprintf(stderr, "usage: manifold_io codes [--ae F.ae --out codes.npy] --data F [--labels F] ... "
                        "[--n N] [--labels-out F] [--raw-out F] (see the source)\n");
        return 2;
    }
    for (int i = 0; i < nd; i++) {
        dataset *dst = i == 0 ? &all : &part;
        if (keep && all.n >= (int64_t)keep) break; /* the later files are not needed */
        if (dataset_load(dst, data[i], DATA_FMT_AUTO, NULL, &e) < 0 ||
            (nl && dataset_load_labels(dst, labels[i], DATA_FMT_AUTO, &e) < 0))
            goto fail;
        if (i > 0) {
            dataset cat = {0};
            if (dataset_concat(&cat, &all, &part, &e) < 0) goto fail;
            dataset_free(&all);
            dataset_free(&part);
            all = cat;
        }
    }
    size_t n = keep && keep < (size_t)all.n ? keep : (size_t)all.n;
    if (raw_out && bench_npy_f32(raw_out, all.x, n, all.d, &e) < 0) goto fail;
    if (labels_out && bench_npy_i32(labels_out, all.labels, n, &e) < 0) goto fail;
    if (ae_path) {
        if (data_read_file(ae_path, &ae_buf, &ae_len, &e) < 0 || nn_ae_load(&ae, ae_buf, ae_len, 256, &e) < 0)
            goto fail;
        if (ae->in_dim != (size_t)all.d) {
            dc_err_set(&e, DC_EINVAL, "%s takes %zu inputs a sample, the data has %d", ae_path,
                       ae->in_dim, all.d);
            goto fail;
        }
        if (!(z = malloc(n * (size_t)ae->emb_dim * sizeof *z))) {
            dc_err_set(&e, DC_ENOMEM, "out of memory");
            goto fail;
        }
        double t = dc_now_s();
        if (nn_ae_encode(ae, all.x, n, z, &e) < 0 || bench_npy_f32(out, z, n, ae->emb_dim, &e) < 0)
            goto fail;
        printf("codes: %zu x %d from %s (%zu x %d inputs, encoded in %.2f s) -> %s\n", n, ae->emb_dim,
               ae_path, n, all.d, dc_now_s() - t, out);
    }
    if (raw_out) printf("raw: %zu x %d -> %s\n", n, all.d, raw_out);
    if (labels_out) printf("labels: %zu -> %s\n", n, labels_out);
    rc = 0;
    goto out;
fail:
    fprintf(stderr, "manifold_io codes: %s\n", e.msg);
out:
    nn_ae_free(ae);
    free(ae_buf);
    free(z);
    dataset_free(&all);
    dataset_free(&part);
    return rc;
}

/* manifold_io score --embedding E.npy --labels L.npy [--k K] [--seed S] [--n-init N] */
static int cmd_score(int argc, char **argv)
{
    const char *emb_path = NULL, *lab_path = NULL;
    int k = 0, n_init = 5, rc = 1;
    uint64_t seed = 0;
    dataset ds = {0};
    int *lab = NULL;
    dc_err e = {0};
    for (int i = 2; i < argc; i++) {
        const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) {
            fprintf(stderr, "%s needs a value\n", o);
            return 2;
        }
        i++;
        if (!strcmp(o, "--embedding")) emb_path = v;
        else if (!strcmp(o, "--labels")) lab_path = v;
        else if (!strcmp(o, "--k")) k = atoi(v);
        else if (!strcmp(o, "--seed")) seed = strtoull(v, NULL, 10);
        else if (!strcmp(o, "--n-init")) n_init = atoi(v);
        else {
            fprintf(stderr, "score: unknown option %s\n", o);
            return 2;
        }
    }
    if (!emb_path || !lab_path) {
        fprintf(stderr, "usage: manifold_io score --embedding E.npy --labels L.npy [--k K] [--seed S] [--n-init N]\n");
        return 2;
    }
    if (dataset_load(&ds, emb_path, DATA_FMT_AUTO, NULL, &e) < 0 ||
        dataset_load_labels(&ds, lab_path, DATA_FMT_AUTO, &e) < 0)
        goto fail;
    size_t n = (size_t)ds.n;
    if (!(lab = malloc(n * sizeof *lab))) {
        dc_err_set(&e, DC_ENOMEM, "out of memory");
        goto fail;
    }
    int kmax = 0;
    for (size_t i = 0; i < n; i++) {
        lab[i] = ds.labels[i];
        if (lab[i] + 1 > kmax) kmax = lab[i] + 1;
    }
    if (k <= 0) k = kmax;
    printf("score: %s, %zu x %d\n", emb_path, n, ds.d);
    if (bench_gmm_score(ds.x, n, ds.d, lab, k, n_init, seed, &e) < 0) goto fail;
    rc = 0;
    goto out;
fail:
    fprintf(stderr, "manifold_io score: %s\n", e.msg);
out:
    free(lab);
    dataset_free(&ds);
    return rc;
}

int main(int argc, char **argv)
{
    dc_blas_fix_coretype(argv); /* may re-exec with fast kernels */
    dc_blas_init_threads();
    if (argc >= 2 && !strcmp(argv[1], "codes")) return cmd_codes(argc, argv);
    if (argc >= 2 && !strcmp(argv[1], "score")) return cmd_score(argc, argv);
    fprintf(stderr, "usage: manifold_io codes|score ... (see the source)\n");
    return 2;
}
