/* cluster_io: model buffers whose checksum is right but whose header lies are refused
 * with DC_EFORMAT instead of loading (found by fuzz/fuzz_model): a header field out of
 * its C type's range (was an undefined double -> int conversion), a k-means model whose
 * embedding size differs from d (predict read past each sample), an image shape that
 * does not describe d. An untouched buffer still loads and predicts.
 * Format versions: version 3 holds 56 header fields (pretrain_noise is the 49th) and
 * round-trips it; a version-2 buffer (48 fields) still loads, with pretrain_noise 0 and
 * the same predictions; a version whose field count is not its own is refused. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "cluster.h"
#include "data.h"

enum { HEAD = 12, F_K = 1, F_D = 3, F_E = 4, F_MK = 5, F_H = 6, F_W = 7, F_C = 8, F_ALPHA = 27 };

static uint64_t fnv1a(const unsigned char *p, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 1099511628211ULL;
    return h;
}

/* A copy of buf with header field i set to v (and the checksum fixed); free() it. */
static unsigned char *patched(const unsigned char *buf, size_t len, const int *idx,
                              const double *val, int nf)
{
    unsigned char *p = malloc(len);
    memcpy(p, buf, len);
    for (int j = 0; j < nf; j++) memcpy(p + HEAD + 8 * idx[j], &val[j], 8);
    uint64_t h = fnv1a(p, len - 8);
    memcpy(p + len - 8, &h, 8);
    return p;
}

static void expect_refused(const unsigned char *buf, size_t len, const int *idx,
                           const double *val, int nf, const char *what, const char *msg_has)
{
    unsigned char *p = patched(buf, len, idx, val, nf);
    cluster_model *m = NULL;
    dc_err e = {0};
    int rc = cluster_model_load(&m, p, len, &e);
    CHECK_MSG(rc == DC_EFORMAT && m == NULL, "%s: expected DC_EFORMAT, got %d", what, rc);
    CHECK_MSG(strstr(e.msg, msg_has) != NULL, "%s: expected a message with '%s', got '%s'",
              what, msg_has, e.msg);
    cluster_model_free(m);
    free(p);
}

static void set_u32(unsigned char *p, uint32_t v) { memcpy(p, &v, 4); }

static void rechecksum(unsigned char *p, size_t len)
{
    uint64_t h = fnv1a(p, len - 8);
    memcpy(p + len - 8, &h, 8);
}

static void test_versions(cluster_model *m, const unsigned char *buf, size_t len,
                          const dataset *ds)
{
    dc_err e = {0};
    uint32_t ver, nf;
    memcpy(&ver, buf + 4, 4), memcpy(&nf, buf + 8, 4);
    CHECK(ver == 3 && nf == 56);
    /* pretrain_noise round-trips (a k-means fit keeps the spec it was given) */
    cluster_model *m2 = NULL, *mn = NULL;
    void *b2 = NULL;
    size_t l2 = 0;
    cluster_spec sp = *cluster_model_spec(m);
    sp.pretrain_noise = 0.25;
    CHECK_EQ_INT(cluster_fit(&mn, &sp, ds, NULL, NULL, &e), 0);
    CHECK_EQ_INT(cluster_model_save(mn, &b2, &l2, &e), 0);
    CHECK_EQ_INT(cluster_model_load(&m2, b2, l2, &e), 0);
    CHECK(m2 && cluster_model_spec(m2)->pretrain_noise == 0.25);
    cluster_model_free(m2), m2 = NULL;
    cluster_model_free(mn);
    free(b2);
    /* a version-2 buffer: 48 fields, the 8 later ones cut out */
    size_t cut = 8 * 8, l3 = len - cut;
    unsigned char *p = malloc(l3);
    memcpy(p, buf, 12 + 48 * 8);
    memcpy(p + 12 + 48 * 8, buf + 12 + 56 * 8, len - (12 + 56 * 8));
    set_u32(p + 4, 2), set_u32(p + 8, 48);
    rechecksum(p, l3);
    CHECK_EQ_INT(cluster_model_load(&m2, p, l3, &e), 0);
    int32_t a[8], b[8];
    CHECK_EQ_INT(cluster_predict(m, ds->x, 8, NULL, a, NULL, &e), 0);
    if (m2) {
        CHECK(cluster_model_spec(m2)->pretrain_noise == 0);
        CHECK_EQ_INT(cluster_predict(m2, ds->x, 8, NULL, b, NULL, &e), 0);
        CHECK(memcmp(a, b, sizeof a) == 0);
    }
    cluster_model_free(m2), m2 = NULL;
    /* the field count must be the version's own */
    set_u32(p + 4, 3);
    rechecksum(p, l3);
    CHECK_EQ_INT(cluster_model_load(&m2, p, l3, &e), DC_EFORMAT);
    free(p);
    p = malloc(len);
    memcpy(p, buf, len);
    set_u32(p + 4, 2);
    rechecksum(p, len);
    CHECK_EQ_INT(cluster_model_load(&m2, p, len, &e), DC_EFORMAT);
    free(p);
}

int main(void)
{
    /* a k-means model: k 2, d 4 (so 2 x 4 centroid floats) */
    dataset ds = {0};
    dataset_alloc(&ds, 8, 4, 0, NULL);
    for (int i = 0; i < 32; i++) ds.x[i] = (float)((i / 4) % 2) + 0.01f * (float)i;
    cluster_spec s;
    cluster_spec_default(&s, CM_KMEANS, 2);
    s.n_init = 1;
    cluster_model *m = NULL;
    dc_err e = {0};
    CHECK_EQ_INT(cluster_fit(&m, &s, &ds, NULL, NULL, &e), 0);
    void *vbuf = NULL;
    size_t len = 0;
    CHECK_EQ_INT(cluster_model_save(m, &vbuf, &len, &e), 0);
    const unsigned char *buf = vbuf;

    /* control: re-checksummed but unchanged, it loads and predicts */
    {
        int idx[] = {F_K};
        double val[] = {2};
        unsigned char *p = patched(buf, len, idx, val, 1);
        cluster_model *m2 = NULL;
        CHECK_EQ_INT(cluster_model_load(&m2, p, len, &e), 0);
        int32_t lab[8];
        if (m2) CHECK_EQ_INT(cluster_predict(m2, ds.x, 8, NULL, lab, NULL, &e), 0);
        cluster_model_free(m2);
        free(p);
    }
    /* 1 cluster of 8 floats: the same 8 centroid floats, but e 8 != d 4 */
    {
        int idx[] = {F_K, F_MK, F_E};
        double val[] = {1, 1, 8};
        expect_refused(buf, len, idx, val, 3, "kmeans e != d", "inconsistent");
    }
    {
        int idx[] = {F_K};
        double val[] = {1e300};
        expect_refused(buf, len, idx, val, 1, "k = 1e300", "out of its field's range");
    }
    {
        int idx[] = {F_D};
        double val[] = {NAN};
        expect_refused(buf, len, idx, val, 1, "d = NaN", "out of its field's range");
    }
    {
        int idx[] = {F_ALPHA};
        double val[] = {INFINITY};
        expect_refused(buf, len, idx, val, 1, "alpha = inf", "out of its field's range");
    }
    {
        int idx[] = {F_H, F_W, F_C};
        double val[] = {2, 3, 1};
        expect_refused(buf, len, idx, val, 3, "image 2x3x1 for d 4", "inconsistent");
    }
    {
        int idx[] = {F_H, F_W, F_C};
        double val[] = {2, 2, 0};
        expect_refused(buf, len, idx, val, 3, "image 2x2x0", "inconsistent");
    }
    test_versions(m, buf, len, &ds);
    free(vbuf);
    cluster_model_free(m);
    dataset_free(&ds);
    return CHECK_DONE();
}
