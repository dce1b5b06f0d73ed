/* fuzz_model: model files (cluster_model_load in core/cluster_io.c, and through it
 * nn_ae_load and vae_load) on arbitrary bytes, then the calls the service makes on a
 * loaded model: predict (q, labels, embeddings), reconstruct, generate.
 *
 * Input: a model buffer without its last 8 bytes; the target appends the FNV-1a
 * checksum (fuzz_with_fnv), so that the bytes before it are what gets fuzzed. A model
 * that loads must give labels in [0, k) and read no more than the n*d floats given. */
#include <stdlib.h>

#include "cluster.h"
#include "fuzz_util.h"

enum { ROWS = 3, MAX_D = 1 << 20 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t len;
    unsigned char *buf = fuzz_with_fnv(data, size, &len);
    cluster_model *m = NULL;
    float *x = NULL, *q = NULL, *z = NULL, *rec = NULL;
    int32_t lab[ROWS];
    dc_err e = {0};
    int rc = cluster_model_load(&m, buf, len, &e);
    if (rc < 0) {
        FUZZ_CHECK(m == NULL && e.msg[0], "rc %d", rc);
        goto out;
    }
    int d = cluster_model_dim(m), k = cluster_model_k(m), em = cluster_model_embed(m);
    FUZZ_CHECK(d >= 1 && k >= 1 && em >= 1, "d %d k %d embed %d", d, k, em);
    if (d > MAX_D || em > MAX_D || k > MAX_D) goto out; /* a valid but huge model */
    /* exactly n*d floats, so that ASan sees any read past them */
    x = malloc((size_t)ROWS * d * sizeof *x);
    q = malloc((size_t)ROWS * k * sizeof *q);
    z = malloc((size_t)ROWS * em * sizeof *z);
    rec = malloc((size_t)ROWS * d * sizeof *rec);
    FUZZ_CHECK(x && q && z && rec, "out of memory");
    for (size_t i = 0; i < (size_t)ROWS * d; i++) x[i] = (float)(i % 7) / 7.0f;
    memset(&e, 0, sizeof e);
    if (cluster_predict(m, x, ROWS, q, lab, z, &e) == 0) {
        for (int i = 0; i < ROWS; i++)
            FUZZ_CHECK(lab[i] >= 0 && lab[i] < k, "label %d of %d clusters", lab[i], k);
    }
    memset(&e, 0, sizeof e);
    cluster_reconstruct(m, x, ROWS, rec, &e);
    if (cluster_model_spec(m)->method == CM_VAE) {
        memset(&e, 0, sizeof e);
        cluster_generate(m, 0, ROWS, 1, rec, &e);
    }
    /* what loads must save again */
    void *sbuf = NULL;
    size_t slen = 0;
    memset(&e, 0, sizeof e);
    FUZZ_CHECK(cluster_model_save(m, &sbuf, &slen, &e) == 0, "save failed: %s", e.msg);
    free(sbuf);
out:
    cluster_model_free(m);
    free(x);
    free(q);
    free(z);
    free(rec);
    free(buf);
    return 0;
}
