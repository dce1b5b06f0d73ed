/* fuzz_ckpt: cluster checkpoints ("DCCK", core/cluster_io.c cluster__ckpt_peek/restore,
 * and through a phase-3 blob the vae's training state, vae_state_load) on arbitrary
 * bytes, given to cluster_fit_ex as opts.resume exactly as the service's workers do
 * after a restart, on the tiny dataset and specs of fuzz_specs.h.
 *
 * Input: byte 0 picks the spec (fz_methods[b0 % 3]: dec, idec, vae); the rest is a
 * checkpoint without its last 8 bytes, which the target appends (the FNV-1a checksum).
 * A resumed fit must finish with a model or fail with a message; never crash. */
#include "fuzz_specs.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static dataset ds;
    if (!ds.x) fz_dataset(&ds);
    if (size < 1) return 0;
    cluster_spec s;
    fz_spec(&s, fz_methods[data[0] % FZ_N_METHODS]);
    size_t len;
    unsigned char *blob = fuzz_with_fnv(data + 1, size - 1, &len);
    cluster_fit_opts o = {.resume = blob, .resume_len = len};
    cluster_model *m = NULL;
    dc_err e = {0};
    int rc = cluster_fit_ex(&m, &s, &ds, &o, &e);
    if (rc < 0) FUZZ_CHECK(m == NULL && e.msg[0], "rc %d without a message", rc);
    else FUZZ_CHECK(m != NULL && cluster_model_k(m) == FZ_K, "no model");
    cluster_model_free(m);
    free(blob);
    return 0;
}
