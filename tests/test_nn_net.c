/* nn: nets sharing one parameter buffer, the size table, optimizers with known values,
 * initialiser ranges, save/load round trip and refusal of corrupted buffers. */
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "check.h"
#include "nn.h"
#include "nn_ae.h"

static nn_net *small_net(int max_batch)
{
    nn_net *n = nn_net_new(6, 6, 1, max_batch, NULL);
    nn_net_add_conv(n, 4, 3, 2, 1, NULL);
    nn_net_add_act(n, NN_LEAKY_RELU, 0.2f, NULL);
    nn_net_add_maxpool(n, 2, 1, NULL);
    nn_net_add_flatten(n, NULL);
    nn_net_add_dense(n, 7, NULL);
    nn_net_add_act(n, NN_SIGMOID, 0, NULL);
    nn_net_add_softmax(n, NULL);
    return n;
}

static void test_bind_and_table(void)
{
    dc_err e = {0};
    nn_net *a = nn_net_new(1, 1, 5, 4, &e), *b = nn_net_new(1, 1, 3, 4, &e);
    CHECK(nn_net_add_dense(a, 3, &e) == 0);
    CHECK(nn_net_add_act(a, NN_RELU, 0, &e) == 0);
    CHECK(nn_net_add_dense(b, 2, &e) == 0);
    CHECK_EQ_INT(nn_net_nparams(a), 5 * 3 + 3);
    CHECK_EQ_INT(nn_net_nparams(b), 3 * 2 + 2);
    CHECK_EQ_INT(nn_net_ntensors(a), 2);
    nn_tensor t = nn_net_tensor(a, 1);
    CHECK(t.is_bias && t.offset == 15 && t.size == 3);
    t = nn_net_tensor(a, 0);
    CHECK(t.rows == 5 && t.cols == 3 && t.offset == 0);
    /* one buffer for both nets plus 4 extra floats (e.g. centroids) */
    size_t n = nn_net_nparams(a) + nn_net_nparams(b) + 4;
    float *p = calloc(n, sizeof *p), *g = calloc(n, sizeof *g);
    CHECK(nn_net_bind(a, p, g, &e) == 0);
    CHECK(nn_net_bind(b, p + nn_net_nparams(a), g + nn_net_nparams(a), &e) == 0);
    CHECK(nn_net_add_dense(a, 2, &e) == DC_EINVAL); /* bound: frozen */
    for (size_t i = 0; i < n; i++) p[i] = 0.01f * (float)(i % 13) - 0.05f;
    float x[2 * 5] = {1, -2, 3, 0.5f, 1, 0, 1, 0, 1, 0}, dy[2 * 2] = {1, 0, 0, 1}, dz[2 * 3];
    const float *z = nn_net_forward(a, x, 2);
    const float *y = nn_net_forward(b, z, 2);
    CHECK(y != NULL);
    CHECK(nn_net_forward(a, x, 5) == NULL); /* > max_batch */
    CHECK(nn_net_backward(b, dy, dz, 2) == 0);
    CHECK(nn_net_backward(a, dz, NULL, 2) == 0);
    /* gradients landed in each net's slice; the extra tail stayed 0 */
    double sa = 0, sb = 0;
    for (size_t i = 0; i < nn_net_nparams(a); i++) sa += fabs(g[i]);
    for (size_t i = nn_net_nparams(a); i < n - 4; i++) sb += fabs(g[i]);
    CHECK(sa > 0 && sb > 0);
    CHECK(g[n - 1] == 0 && g[n - 4] == 0);
    nn_net_free(a);
    nn_net_free(b);
    free(p);
    free(g);
}

static void test_optim(void)
{
    dc_err e = {0};
    nn_optim o;
    /* SGD momentum 0.9 lr 0.1, constant gradient 1: v1 = -0.1, p1 = 0.9; v2 = -0.19, p2 = 0.71 */
    nn_optim_cfg c = nn_optim_default(NN_OPT_SGD);
    c.lr = 0.1f;
    CHECK(nn_optim_init(&o, &c, 2, &e) == 0);
    float p[2] = {1, 1}, g[2] = {1, -1};
    nn_optim_step(&o, p, g);
    CHECK_NEAR(p[0], 0.9, 1e-6);
    CHECK_NEAR(g[0], 0.0, 0); /* zeroed */
    g[0] = 1, g[1] = -1;
    nn_optim_step(&o, p, g);
    CHECK_NEAR(p[0], 0.71, 1e-6);
    CHECK_NEAR(p[1], 1.29, 1e-6);
    nn_optim_free(&o);
    /* Adam: the first step moves by lr * g/(|g| + eps') ~ lr */
    c = nn_optim_default(NN_OPT_ADAM);
    CHECK(nn_optim_init(&o, &c, 2, &e) == 0);
    p[0] = p[1] = 0;
    g[0] = 3, g[1] = -0.002f;
    nn_optim_step(&o, p, g);
    CHECK_NEAR(p[0], -1e-3, 1e-7);
    /* Keras form with eps 1e-7 added to sqrt(v) = sqrt(0.001)*|g| */
    double a1 = 1e-3 * sqrt(1 - 0.999) / (1 - 0.9), m1 = 0.1 * -0.002, v1 = 0.001 * 0.002 * 0.002;
    CHECK_NEAR(p[1], -a1 * m1 / (sqrt(v1) + 1e-7), 1e-8);
    nn_optim_free(&o);
    /* step decay: lr 1, gamma 0.5 every 2 steps */
    c = nn_optim_default(NN_OPT_SGD);
    c.lr = 1;
    c.momentum = 0;
    c.decay_every = 2;
    c.decay_gamma = 0.5f;
    CHECK(nn_optim_init(&o, &c, 1, &e) == 0);
    float q = 0, h;
    for (int i = 0; i < 5; i++) {
        h = 1;
        nn_optim_step(&o, &q, &h);
    }
    CHECK_NEAR(q, -(1 + 1 + 0.5 + 0.5 + 0.25), 1e-6);
    CHECK_NEAR(nn_optim_lr(&o), 0.25, 1e-7);
    nn_optim_free(&o);
    c.lr = -1;
    CHECK(nn_optim_init(&o, &c, 1, &e) == DC_EINVAL);
}

/* The big-buffer path (AVX2 or SSE body, scalar tail, split over 2 threads) gives bit for
 * bit the plain scalar Keras-form Adam; run with and without DC_NO_AVX2. */
static void test_adam_big(void)
{
    size_t n = 1100003;
    float *p = malloc(n * sizeof *p), *g = malloc(n * sizeof *g), *rp = malloc(n * sizeof *rp),
          *rm = calloc(n, sizeof *rm), *rv = calloc(n, sizeof *rv);
    rng r;
    rng_seed(&r, 5);
    for (size_t i = 0; i < n; i++) rp[i] = p[i] = (float)rng_normal(&r);
    nn_optim o;
    nn_optim_cfg c = nn_optim_default(NN_OPT_ADAM);
    CHECK(nn_optim_init(&o, &c, n, NULL) == 0);
    printf("test_adam_big: %s body\n", o.avx2 ? "AVX2" : "SSE2");
    openblas_set_num_threads(2);
    int same = 1, zeroed = 1;
    for (int t = 1; t <= 3; t++) {
        float a = (float)((double)1e-3f * sqrt(1.0 - pow(0.999f, t)) / (1.0 - pow(0.9f, t)));
        for (size_t i = 0; i < n; i++) {
            g[i] = (float)((i % 1000) - 500) * 1e-3f * (float)t;
            float gi = g[i];
            float mi = 0.9f * rm[i] + (1.0f - 0.9f) * gi;
            float vi = 0.999f * rv[i] + (1.0f - 0.999f) * gi * gi;
            rm[i] = mi;
            rv[i] = vi;
            rp[i] -= a * mi / (sqrtf(vi) + 1e-7f);
        }
        nn_optim_step(&o, p, g);
        for (size_t i = 0; i < n; i++) {
            same &= p[i] == rp[i];
            zeroed &= g[i] == 0.0f;
        }
    }
    CHECK_MSG(same, "big-buffer Adam differs from the scalar reference");
    CHECK(zeroed);
    openblas_set_num_threads(1);
    nn_optim_free(&o);
    free(p), free(g), free(rp), free(rm), free(rv);
}

static void test_init(void)
{
    nn_net *n = nn_net_new(1, 1, 100, 1, NULL);
    nn_net_add_dense(n, 50, NULL);
    CHECK(nn_net_alloc(n, NULL) == 0);
    rng r;
    rng_seed(&r, 3);
    const nn_init kinds[2] = {NN_INIT_GLOROT_UNIFORM, NN_INIT_VARSCALE};
    const double lims[2] = {sqrt(6.0 / 150), sqrt(1.0 / 100)};
    for (int k = 0; k < 2; k++) {
        nn_net_init(n, kinds[k], &r);
        float *p = nn_net_params(n);
        double mx = 0, s2 = 0;
        for (int i = 0; i < 5000; i++) {
            mx = fmax(mx, fabs(p[i]));
            s2 += (double)p[i] * p[i];
        }
        CHECK(mx <= lims[k]);
        CHECK(mx > 0.98 * lims[k]);
        CHECK_NEAR(s2 / 5000, lims[k] * lims[k] / 3, 0.1 * lims[k] * lims[k] / 3); /* U var */
        CHECK(p[5000] == 0 && p[5049] == 0); /* biases */
    }
    nn_net_free(n);
}

static void test_serial(void)
{
    dc_err e = {0};
    nn_net *a = small_net(3);
    CHECK(nn_net_alloc(a, &e) == 0);
    rng r;
    rng_seed(&r, 11);
    nn_net_init(a, NN_INIT_GLOROT_UNIFORM, &r);
    nn_net_params(a)[nn_net_nparams(a) - 1] = 0.25f; /* a non-zero bias */
    size_t cap = nn_net_serial_size(a), used = 0;
    unsigned char *buf = malloc(cap + 16);
    CHECK(nn_net_save(a, buf, cap - 1, &used, &e) == DC_EINVAL);
    CHECK(nn_net_save(a, buf, cap, &used, &e) == 0);
    CHECK_EQ_INT(used, cap);

    nn_net *b = NULL;
    size_t got = 0;
    int rc = nn_net_load(&b, buf, used, &got, 5, &e);
    CHECK_MSG(rc == 0, "load: %s", e.msg);
    if (!rc) {
        CHECK_EQ_INT(got, used);
        CHECK(nn_net_same_spec(a, b));
        CHECK(memcmp(nn_net_params(a), nn_net_params(b), nn_net_nparams(a) * sizeof(float)) == 0);
        float x[2 * 36];
        for (int i = 0; i < 72; i++) x[i] = (float)rng_normal(&r);
        float ya[14];
        memcpy(ya, nn_net_forward(a, x, 2), sizeof ya);
        const float *yb = nn_net_forward(b, x, 2);
        CHECK(memcmp(ya, yb, sizeof ya) == 0);
    }
    nn_net_free(b);

    /* corruptions: each must be refused with DC_EFORMAT and a message */
    struct {
        const char *what;
        size_t off;
        unsigned char val;
        size_t len;
    } bad[] = {
        {"magic", 0, 'X', used},
        {"version", 4, 9, used},
        {"header size", 8, 0xff, used},
        {"block count", 12 + 16, 9, used},
        {"block type", 12 + 20, 42, used},
        {"conv kernel", 12 + 20 + 24, 9, used},
        {"a parameter byte", used - 20, 0x5a, used},
        {"checksum", used - 3, 0x11, used},
        {"truncation", 0, 0, used - 1},
        {"empty", 0, 0, 0},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        unsigned char *c = malloc(used);
        memcpy(c, buf, used);
        if (bad[i].len == used) c[bad[i].off] ^= bad[i].val ? bad[i].val : 1;
        nn_net *z = NULL;
        dc_err ee = {0};
        rc = nn_net_load(&z, c, bad[i].len, NULL, 2, &ee);
        CHECK_MSG(rc == DC_EFORMAT, "corrupted %s: expected DC_EFORMAT, got %d", bad[i].what, rc);
        CHECK_MSG(z == NULL && ee.msg[0], "corrupted %s: no net and a message", bad[i].what);
        printf("refused %-18s: %s\n", bad[i].what, ee.msg);
        nn_net_free(z);
        free(c);
    }
    free(buf);
    nn_net_free(a);

    /* autoencoder round trip: one shared buffer again, same encodings */
    nn_ae *ae = NULL, *ae2 = NULL;
    int dims[] = {12, 8, 3};
    CHECK(nn_ae_new_fc(&ae, dims, 3, NN_RELU, 0, NN_INIT_VARSCALE, 5, 4, &e) == 0);
    void *ab = NULL;
    size_t alen = 0;
    CHECK(nn_ae_save(ae, &ab, &alen, &e) == 0);
    rc = nn_ae_load(&ae2, ab, alen, 4, &e);
    CHECK_MSG(rc == 0, "ae load: %s", e.msg);
    if (!rc) {
        CHECK_EQ_INT(ae2->nparams, ae->nparams);
        CHECK(memcmp(ae->params, ae2->params, ae->nparams * sizeof(float)) == 0);
        CHECK(nn_net_params(ae2->dec) == ae2->params + ae2->enc_nparams);
        float x[12 * 5], z1[3 * 5], z2[3 * 5];
        for (int i = 0; i < 60; i++) x[i] = (float)(i % 7) - 3;
        nn_ae_encode(ae, x, 5, z1, &e);
        nn_ae_encode(ae2, x, 5, z2, &e);
        CHECK(memcmp(z1, z2, sizeof z1) == 0);
    }
    ((unsigned char *)ab)[alen / 2] ^= 1;
    nn_ae_free(ae2);
    ae2 = NULL;
    CHECK(nn_ae_load(&ae2, ab, alen, 4, &e) == DC_EFORMAT);
    CHECK(ae2 == NULL);
    free(ab);
    nn_ae_free(ae);
}

int main(void)
{
    test_bind_and_table();
    test_optim();
    test_adam_big();
    setenv("DC_NO_AVX2", "1", 1); /* the SSE2 body too, on a CPU that has AVX2 */
    test_adam_big();
    unsetenv("DC_NO_AVX2");
    test_init();
    test_serial();
    return CHECK_DONE();
}
