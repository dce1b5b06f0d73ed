/* fuzz_iforest: the isolation forest's saved form (core/iforest.c, iforest_load) on
 * arbitrary bytes read as doubles. A forest that loads must score points of its
 * dimension (finite, NaN and huge values) into (0, 1], save back to the same doubles,
 * and load again; anything else is refused with a message. Never crash. */
#include <math.h>
#include <string.h>

#include "fuzz_util.h"
#include "iforest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t len = size / sizeof(double);
    double *buf = malloc((len ? len : 1) * sizeof *buf);
    if (!buf) return 0;
    if (len) memcpy(buf, data, len * sizeof *buf);
    iforest *f = NULL, *g = NULL;
    dc_err e = {0};
    if (iforest_load(&f, buf, len, &e) < 0) {
        FUZZ_CHECK(!f && e.msg[0] != 0, "refused without a message");
        goto out;
    }
    int d = iforest_dim(f);
    if (d <= 4096) {
        float x[4 * 4096];
        double s[4];
        for (int i = 0; i < 4 * d; i++)
            x[i] = i % 7 == 3 ? NAN : i % 5 == 1 ? 1e30f : (float)(i % 11) - 5;
        FUZZ_CHECK(iforest_score(f, x, 4, s, &e) == 0, "score: %s", e.msg);
        for (int i = 0; i < 4; i++) FUZZ_CHECK(s[i] > 0 && s[i] <= 1, "score %g", s[i]);
    }
    FUZZ_CHECK(iforest_saved_len(f) == len, "saved length %zu, loaded %zu",
               iforest_saved_len(f), len);
    double *back = malloc(len * sizeof *back);
    if (back) {
        FUZZ_CHECK(iforest_save(f, back, len, &e) == 0, "save: %s", e.msg);
        FUZZ_CHECK(iforest_load(&g, back, len, &e) == 0, "reload: %s", e.msg);
        free(back);
    }
out:
    iforest_free(f);
    iforest_free(g);
    free(buf);
    return 0;
}
