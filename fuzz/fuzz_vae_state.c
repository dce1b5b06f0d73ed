/* fuzz_vae_state: the vae's training state ("VST2", and the older "VST1"; vae_state_load
 * in core/vae_state.c) on arbitrary bytes, loaded into the small vae of fuzz_specs.h,
 * which then resumes training from it and predicts, as a resumed vae job does.
 * A state that loads must train to the end or fail with a message; never crash. */
#include "fuzz_specs.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static dataset ds;
    if (!ds.x) fz_dataset(&ds);
    vae_cfg c;
    fz_vae_cfg(&c);
    vae *v = NULL;
    dc_err e = {0};
    float q[FZ_N * FZ_K];
    int32_t lab[FZ_N];
    FUZZ_CHECK(vae_new(&v, &c, &e) == 0, "vae_new: %s", e.msg);
    if (vae_state_load(v, data, size, &e) < 0) {
        FUZZ_CHECK(e.msg[0] != 0, "no message");
        goto out;
    }
    memset(&e, 0, sizeof e);
    if (vae_train(v, ds.x, FZ_N, NULL, NULL, NULL, &e) < 0) {
        FUZZ_CHECK(e.msg[0] != 0, "no message");
        goto out;
    }
    FUZZ_CHECK(vae_epochs_done(v) <= c.epochs, "%d epochs of %d", vae_epochs_done(v), c.epochs);
    memset(&e, 0, sizeof e);
    if (vae_predict(v, ds.x, FZ_N, q, lab, NULL, &e) == 0)
        for (int i = 0; i < FZ_N; i++)
            FUZZ_CHECK(lab[i] >= 0 && lab[i] < FZ_K, "label %d", lab[i]);
out:
    vae_free(v);
    return 0;
}
