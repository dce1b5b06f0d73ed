/* test_dc_size: the checked size arithmetic of core/dc_size.h at its edges (the values
 * the HTTP tests send: n*d just above SIZE_MAX/4, negative, zero, INT64_MAX), and the
 * callers that take file-derived sizes: a model buffer whose header would wrap its size
 * sum, or holds a value beyond its field's type, is refused (not a crash). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "cluster.h"
#include "data.h"
#include "dc_size.h"

static void test_mul(void)
{
    size_t r = 12345;
    CHECK_EQ_INT(dc_mul_size(0, INT64_MAX, &r), 0);
    CHECK_EQ_INT(r, 0);
    CHECK_EQ_INT(dc_mul_size(3, 4, &r), 0);
    CHECK_EQ_INT(r, 12);
    r = 7;
    CHECK_EQ_INT(dc_mul_size(-1, 4, &r), DC_EINVAL);
    CHECK_EQ_INT(r, 7); /* untouched on error */
    CHECK_EQ_INT(dc_mul_size(4, -1, &r), DC_EINVAL);
    CHECK_EQ_INT(dc_mul_size(INT64_MAX, 2, &r), 0); /* 2^64 - 2 fits size_t */
    CHECK(r == (size_t)INT64_MAX * 2);
    CHECK_EQ_INT(dc_mul_size(INT64_MAX, 3, &r), DC_EINVAL);
    CHECK_EQ_INT(dc_mul_size(INT64_MAX, INT64_MAX, &r), DC_EINVAL);

    /* the request that crashed the server: n = 2^62 + 1, d = 4, float32: n*d*4 is
     * 2^66 + 16, which wraps to 16 in 64 bits */
    int64_t n = ((int64_t)1 << 62) + 1;
    CHECK_EQ_INT(dc_mul3_size(n, 4, 4, &r), DC_EINVAL);
    CHECK((uint64_t)n * 4u * 4u == 16u); /* the unchecked product really is 16 */
    /* n*d just above SIZE_MAX/4, and exactly at it */
    int64_t q = (int64_t)(SIZE_MAX / 4);                  /* 2^62 - 1 */
    CHECK_EQ_INT(dc_mul3_size(q, 1, 4, &r), 0);
    CHECK(r == SIZE_MAX - 3);
    CHECK_EQ_INT(dc_mul3_size(q + 1, 1, 4, &r), DC_EINVAL);
    CHECK_EQ_INT(dc_mul3_size(((int64_t)1 << 60), 4, 4, &r), DC_EINVAL); /* wraps to 0 */
    CHECK_EQ_INT(dc_mul3_size(1, 1, -4, &r), DC_EINVAL);
    CHECK_EQ_INT(dc_mul3_size(0, INT64_MAX, 4, &r), 0);
    CHECK_EQ_INT(r, 0);
}

static void test_add(void)
{
    size_t r;
    int64_t s = 0;
    CHECK_EQ_INT(dc_add_size(SIZE_MAX - 1, 1, &r), 0);
    CHECK(r == SIZE_MAX);
    CHECK_EQ_INT(dc_add_size(SIZE_MAX, 1, &r), DC_EINVAL);
    CHECK_EQ_INT(dc_add_i64(INT64_MAX - 1000, 1000, &s), 0);
    CHECK(s == INT64_MAX);
    CHECK_EQ_INT(dc_add_i64(INT64_MAX, 1, &s), DC_EINVAL);
    CHECK_EQ_INT(dc_add_i64(INT64_MIN, -1, &s), DC_EINVAL);
    CHECK_EQ_INT(dc_add_i64(2147483647, 50, &s), 0); /* next_offset of the issue, in 64 bits */
    CHECK_EQ_INT(s, 2147483697LL);
    CHECK_EQ_INT(dc_mul_i64(-3, 4, &s), 0);
    CHECK_EQ_INT(s, -12);
    CHECK_EQ_INT(dc_mul_i64(INT64_MAX, -1, &s), 0);
    CHECK_EQ_INT(dc_mul_i64(INT64_MIN, -1, &s), DC_EINVAL);
    CHECK_EQ_INT(dc_mul_i64((int64_t)1 << 32, (int64_t)1 << 31, &s), DC_EINVAL);
}

/* A saved kmeans model, then its header edited (and its checksum redone): the load must
 * refuse values that would wrap the size sum or do not fit their field. */
static uint64_t fnv1a(const unsigned char *p, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 1099511628211ULL;
    return h;
}

static void test_model_header(void)
{
    dataset ds = {0};
    cluster_spec s;
    cluster_model *m = NULL, *m2 = NULL;
    void *buf = NULL;
    size_t len = 0;
    dc_err e = {0};

    CHECK_EQ_INT(dataset_alloc(&ds, 20, 3, 0, &e), 0);
    for (int i = 0; i < 60; i++) ds.x[i] = (float)((i * 7) % 11) + (float)(i / 30) * 20;
    cluster_spec_default(&s, CM_KMEANS, 2);
    CHECK_EQ_INT(cluster_fit(&m, &s, &ds, NULL, NULL, &e), 0);
    if (!m) goto out;
    CHECK_EQ_INT(cluster_model_save(m, &buf, &len, &e), 0);
    CHECK_EQ_INT(cluster_model_load(&m2, buf, len, &e), 0); /* the unedited buffer loads */
    cluster_model_free(m2);
    m2 = NULL;

    /* fields are doubles from byte 12 on: k is field 1 (method 0, k 1, seed 2, d 3, e 4,
     * m->k 5) */
    unsigned char *p = buf;
    const struct { int field; double v; const char *what; } bad[] = {
        {5, 4611686018427387904.0, "k = 2^62 (k*e*4 wraps)"},
        {5, 1e300, "k beyond int"},
        {4, -1.0, "e negative"},
        {3, NAN, "d NaN"},
        {1, 3e9, "spec k beyond int"},
        {2, -5.0, "seed negative (uint64 field)"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        unsigned char *c = malloc(len);
        memcpy(c, p, len);
        memcpy(c + 12 + 8 * bad[i].field, &bad[i].v, 8);
        uint64_t h = fnv1a(c, len - 8);
        memcpy(c + len - 8, &h, 8);
        int rc = cluster_model_load(&m2, c, len, &e);
        CHECK_MSG(rc == DC_EFORMAT && !m2, "%s: expected DC_EFORMAT, got %d (%s)", bad[i].what,
                  rc, e.msg);
        cluster_model_free(m2);
        m2 = NULL;
        free(c);
    }
out:
    free(buf);
    cluster_model_free(m);
    dataset_free(&ds);
}

/* cluster_spec_check against a dataset: an autoencoder or a target matrix too large for
 * memory is refused with the field named, before any allocation. */
static void test_spec_sizes(void)
{
    cluster_spec s;
    dc_err e = {0};
    dataset big = {.n = 70000, .d = 784};
    cluster_spec_default(&s, CM_DEC, 10);
    CHECK_EQ_INT(cluster_spec_check(&s, &big, &e), 0); /* the paper's MNIST network fits */
    s.n_hidden = 3;
    s.hidden[0] = s.hidden[1] = 100000, s.hidden[2] = 10;
    s.embed_dim = 10;
    CHECK_EQ_INT(cluster_spec_check(&s, &big, &e), DC_EINVAL);
    CHECK_MSG(strncmp(e.msg, "hidden", 6) == 0, "message names hidden: %s", e.msg);
    cluster_spec_default(&s, CM_DEC, 10000);
    dataset many = {.n = 200000000, .d = 2};
    CHECK_EQ_INT(cluster_spec_check(&s, &many, &e), DC_EINVAL);
    CHECK_MSG(strncmp(e.msg, "k ", 2) == 0, "message names k: %s", e.msg);
    cluster_spec_default(&s, CM_KMEANS, 10000); /* k-means keeps no n x k matrix */
    CHECK_EQ_INT(cluster_spec_check(&s, &many, &e), 0);
}

int main(void)
{
    test_mul();
    test_add();
    test_model_header();
    test_spec_sizes();
    return CHECK_DONE();
}
