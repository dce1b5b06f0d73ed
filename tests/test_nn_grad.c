/* nn: central-difference gradient checks for every block (through one-block and
 * composite nets, so the fused bias+activation paths are covered too) and every loss.
 *
 * For a net f and a fixed random r, L(x, theta) = sum r . f(x) is accumulated in double;
 * its analytic gradient is nn_net_backward(dout = r). Each input coordinate and up to
 * 200 parameter coordinates are perturbed by +-eps (the step actually taken in float is
 * used as the denominator). Error measure: max |analytic - numeric| / max |analytic| over
 * the checked coordinates, must be <= 1e-3.
 * Kinks: for piecewise-linear nets (ReLU, LeakyReLU, maxpool) a coordinate whose second
 * difference shows a slope change (a kink within eps) is skipped and counted; at most
 * 25% may be skipped. Standalone ReLU/LeakyReLU inputs within 2 eps of 0 are moved away
 * from it, and maxpool inputs are distinct values spaced 0.05 apart (eps = 0.01).
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "nn.h"

#define TOL 1e-3

static void fill_normal(float *a, size_t n, rng *r, float scale)
{
    for (size_t i = 0; i < n; i++) a[i] = (float)(rng_normal(r) * scale);
}

static double lossf(nn_net *net, const float *x, const float *r, int B)
{
    const float *o = nn_net_forward(net, x, B);
    size_t n = (size_t)B * nn_net_out_size(net);
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)r[i] * o[i];
    return s;
}

typedef struct gc {
    double maxerr, maxa;
    int checked, skipped;
} gc;

/* Perturbs v[i] (an input or a parameter) and accumulates the comparison in g. For a net
 * with kinks (ReLU, max pooling) a step that seems to straddle one is retried at 1/8 the
 * size (smooth curvature shrinks with the step, a kink inside it does not); a coordinate
 * is skipped only if the small step straddles one too. */
static void probe(gc *g, nn_net *net, float *x, const float *r, int B, float *v, size_t i,
                  double analytic, float eps, int kinky, double gmax)
{
    float v0 = v[i];
    double num = 0;
    int ok = 0;
    for (int attempt = 0; attempt < (kinky ? 2 : 1) && !ok; attempt++, eps /= 8) {
        float vp = v0 + eps, vm = v0 - eps;
        v[i] = vp;
        double lp = lossf(net, x, r, B);
        v[i] = vm;
        double lm = lossf(net, x, r, B);
        v[i] = v0;
        num = (lp - lm) / ((double)vp - (double)vm);
        ok = 1;
        if (kinky) {
            double l0 = lossf(net, x, r, B);
            /* a kink inside the step bends the difference quotient by about c2/step;
               treat the step as straddling one when that could exceed 2e-4 of the
               largest gradient */
            double c2 = fabs(lp - 2 * l0 + lm) / ((double)vp - (double)vm);
            ok = c2 <= 2e-4 * gmax;
        }
    }
    if (!ok) {
        g->skipped++;
        return;
    }
    double err = fabs(num - analytic);
    if (err > g->maxerr) g->maxerr = err;
    if (fabs(analytic) > g->maxa) g->maxa = fabs(analytic);
    g->checked++;
}

/* x_init: NULL -> N(0,1) inputs. */
static void check_net(const char *name, nn_net *net, int B, float eps, int kinky,
                      const float *x_init, uint64_t seed)
{
    rng rg;
    rng_seed(&rg, seed);
    dc_err e = {0};
    int rc = nn_net_alloc(net, &e);
    CHECK_MSG(rc == 0, "%s: alloc: %s", name, e.msg);
    if (rc) return;
    nn_net_init(net, NN_INIT_GLOROT_UNIFORM, &rg);
    size_t np = nn_net_nparams(net), nin = (size_t)B * nn_net_in_size(net),
           nout = (size_t)B * nn_net_out_size(net);
    float *p = nn_net_params(net), *gr = nn_net_grads(net);
    /* non-zero biases so that the bias path matters */
    for (int t = 0; t < nn_net_ntensors(net); t++) {
        nn_tensor tt = nn_net_tensor(net, t);
        if (tt.is_bias) fill_normal(p + tt.offset, tt.size, &rg, 0.3f);
    }
    float *x = malloc(nin * sizeof *x), *r = malloc(nout * sizeof *r),
          *dx = malloc(nin * sizeof *dx), *ga = malloc((np ? np : 1) * sizeof *ga);
    if (x_init) memcpy(x, x_init, nin * sizeof *x);
    else fill_normal(x, nin, &rg, 1.0f);
    fill_normal(r, nout, &rg, 1.0f);
    memset(gr, 0, np * sizeof *gr);
    nn_net_forward(net, x, B);
    CHECK(nn_net_backward(net, r, dx, B) == 0);
    memcpy(ga, gr, np * sizeof *ga);

    gc gi = {0}, gp = {0};
    double gxm = 0, gpm = 0;
    for (size_t i = 0; i < nin; i++) gxm = fmax(gxm, fabs(dx[i]));
    for (size_t i = 0; i < np; i++) gpm = fmax(gpm, fabs(ga[i]));
    for (size_t i = 0; i < nin; i++) probe(&gi, net, x, r, B, x, i, dx[i], eps, kinky, gxm);
    size_t stride = np > 200 ? np / 200 : 1;
    for (size_t i = 0; i < np; i += stride)
        probe(&gp, net, x, r, B, p, i, ga[i], eps, kinky, gpm);
    double ri = gi.maxerr / (gi.maxa > 0 ? gi.maxa : 1), rp = gp.maxerr / (gp.maxa > 0 ? gp.maxa : 1);
    printf("%-28s input: rel %.2e (%d checked, %d skipped)  params: rel %.2e (%d, %d)\n", name,
           ri, gi.checked, gi.skipped, rp, gp.checked, gp.skipped);
    CHECK_MSG(ri <= TOL, "%s: input grad rel error expected <= %g, got %.3e", name, TOL, ri);
    CHECK_MSG(gi.maxa > 0, "%s: input gradient is all zero", name);
    CHECK_MSG(gi.skipped * 4 <= gi.checked + gi.skipped, "%s: %d of %d input coords skipped",
              name, gi.skipped, gi.checked + gi.skipped);
    if (np) {
        CHECK_MSG(rp <= TOL, "%s: param grad rel error expected <= %g, got %.3e", name, TOL, rp);
        CHECK_MSG(gp.maxa > 0, "%s: param gradient is all zero", name);
        CHECK_MSG(gp.skipped * 4 <= gp.checked + gp.skipped, "%s: %d of %d param coords skipped",
                  name, gp.skipped, gp.checked + gp.skipped);
    }
    free(x);
    free(r);
    free(dx);
    free(ga);
}

static nn_net *mk(int h, int w, int c, int B)
{
    return nn_net_new(h, w, c, B, NULL);
}

static void test_blocks(void)
{
    rng rg;
    rng_seed(&rg, 7);
    nn_net *n;
    dc_err e = {0};

    /* dense, linear */
    n = mk(1, 1, 7, 3);
    CHECK(nn_net_add_dense(n, 5, &e) == 0);
    check_net("dense", n, 3, 1e-2f, 0, NULL, 1);
    nn_net_free(n);

    /* standalone activations, inputs kept 2 eps away from the kink */
    float xk[3 * 9];
    for (int i = 0; i < 27; i++) {
        float v = (float)rng_normal(&rg);
        xk[i] = fabsf(v) < 0.02f ? (v < 0 ? -0.05f : 0.05f) : v;
    }
    const nn_act acts[3] = {NN_RELU, NN_LEAKY_RELU, NN_SIGMOID};
    const char *names[3] = {"relu", "leaky_relu", "sigmoid"};
    for (int a = 0; a < 3; a++) {
        n = mk(1, 1, 9, 3);
        CHECK(nn_net_add_act(n, acts[a], 0.1f, &e) == 0);
        CHECK_EQ_INT(nn_net_nlayers(n), 1);
        check_net(names[a], n, 3, acts[a] == NN_SIGMOID ? 1e-3f : 1e-2f, 0, xk, 2);
        nn_net_free(n);
    }

    /* fused dense + activation */
    const char *fnames[3] = {"dense+relu", "dense+leaky", "dense+sigmoid"};
    for (int a = 0; a < 3; a++) {
        n = mk(1, 1, 6, 4);
        CHECK(nn_net_add_dense(n, 8, &e) == 0);
        CHECK(nn_net_add_act(n, acts[a], 0.2f, &e) == 0);
        CHECK_EQ_INT(nn_net_nlayers(n), 1); /* fused */
        check_net(fnames[a], n, 4, acts[a] == NN_SIGMOID ? 1e-3f : 1e-2f, acts[a] != NN_SIGMOID,
                  NULL, 3);
        nn_net_free(n);
    }

    /* softmax */
    n = mk(1, 1, 6, 3);
    CHECK(nn_net_add_softmax(n, &e) == 0);
    check_net("softmax", n, 3, 1e-3f, 0, NULL, 4);
    nn_net_free(n);

    /* conv with stride and padding, linear and fused ReLU */
    n = mk(7, 6, 3, 2);
    CHECK(nn_net_add_conv(n, 4, 3, 2, 1, &e) == 0);
    check_net("conv 3x3 s2 p1", n, 2, 1e-2f, 0, NULL, 5);
    nn_net_free(n);
    n = mk(9, 9, 2, 2);
    CHECK(nn_net_add_conv(n, 3, 5, 2, 2, &e) == 0);
    CHECK(nn_net_add_act(n, NN_RELU, 0, &e) == 0);
    check_net("conv 5x5 s2 p2 + relu", n, 2, 2e-3f, 1, NULL, 6);
    nn_net_free(n);
    n = mk(5, 5, 2, 2);
    CHECK(nn_net_add_conv(n, 3, 2, 1, 0, &e) == 0);
    check_net("conv 2x2 s1 p0", n, 2, 1e-2f, 0, NULL, 7);
    nn_net_free(n);

    /* transposed conv with output padding */
    n = mk(3, 3, 4, 2);
    CHECK(nn_net_add_convt(n, 2, 5, 2, 2, 1, &e) == 0);
    check_net("convT 5x5 s2 p2 op1", n, 2, 1e-2f, 0, NULL, 8);
    nn_net_free(n);
    n = mk(3, 4, 3, 2);
    CHECK(nn_net_add_convt(n, 2, 3, 2, 0, 0, &e) == 0);
    CHECK(nn_net_add_act(n, NN_LEAKY_RELU, 0.1f, &e) == 0);
    check_net("convT 3x3 s2 p0 + leaky", n, 2, 1e-2f, 1, NULL, 9);
    nn_net_free(n);

    /* max pooling on distinct, well separated values */
    {
        int B = 2, N = 6 * 6 * 2 * B;
        float xp[6 * 6 * 2 * 2];
        int perm[6 * 6 * 2 * 2];
        for (int i = 0; i < N; i++) perm[i] = i;
        rng_shuffle(&rg, perm, (size_t)N);
        for (int i = 0; i < N; i++) xp[i] = 0.05f * (float)(perm[i] - N / 2);
        n = mk(6, 6, 2, B);
        CHECK(nn_net_add_maxpool(n, 2, 2, &e) == 0);
        check_net("maxpool 2x2 s2", n, B, 1e-2f, 0, xp, 10);
        nn_net_free(n);
        n = mk(6, 6, 2, B);
        CHECK(nn_net_add_maxpool(n, 3, 1, &e) == 0); /* overlapping windows */
        check_net("maxpool 3x3 s1", n, B, 1e-2f, 0, xp, 11);
        nn_net_free(n);
    }

    /* composite: conv+relu -> maxpool -> flatten -> dense+leaky -> dense -> reshape ->
       dense -> softmax: exercises the ping-pong gradient buffers. (A sigmoid before the
       softmax shrank the input gradients 16x, to where float rounding of the loss is as
       large as the kinks' threshold: the skips then depended on the BLAS kernel. Sigmoid
       has its own checks above.) */
    n = mk(8, 8, 2, 3);
    CHECK(nn_net_add_conv(n, 3, 3, 1, 1, &e) == 0);
    CHECK(nn_net_add_act(n, NN_RELU, 0, &e) == 0);
    CHECK(nn_net_add_maxpool(n, 2, 2, &e) == 0);
    CHECK(nn_net_add_flatten(n, &e) == 0);
    CHECK(nn_net_add_dense(n, 10, &e) == 0);
    CHECK(nn_net_add_act(n, NN_LEAKY_RELU, 0.1f, &e) == 0);
    CHECK(nn_net_add_dense(n, 6, &e) == 0);
    CHECK(nn_net_add_reshape(n, 2, 3, 1, &e) == 0);
    CHECK(nn_net_add_dense(n, 5, &e) == 0);
    CHECK(nn_net_add_softmax(n, &e) == 0);
    check_net("composite", n, 3, 1e-2f, 1, NULL, 12);
    nn_net_free(n);

    /* decoder-like: dense+relu -> reshape -> convT+relu -> convT */
    n = mk(1, 1, 4, 2);
    CHECK(nn_net_add_dense(n, 3 * 3 * 4, &e) == 0);
    CHECK(nn_net_add_act(n, NN_RELU, 0, &e) == 0);
    CHECK(nn_net_add_reshape(n, 3, 3, 4, &e) == 0);
    CHECK(nn_net_add_convt(n, 3, 3, 2, 0, 0, &e) == 0);
    CHECK(nn_net_add_act(n, NN_RELU, 0, &e) == 0);
    CHECK(nn_net_add_convt(n, 1, 5, 2, 2, 1, &e) == 0);
    int oh, ow, oc;
    nn_net_out_shape(n, &oh, &ow, &oc);
    CHECK_EQ_INT(oh, 14);
    CHECK_EQ_INT(ow, 14);
    check_net("decoder dense/convT", n, 2, 1e-2f, 1, NULL, 13);
    nn_net_free(n);
}

/* Loss gradients against central differences of the double loss. */
typedef double (*lossfn)(float *g, const float *a, const float *b, size_t n, int B, int K);
static double mse_w(float *g, const float *a, const float *b, size_t n, int B, int K)
{
    return nn_mse_loss(g, a, b, n, 0.7f) * 0.7;
}
static double bce_w(float *g, const float *a, const float *b, size_t n, int B, int K)
{
    return nn_bce_logits_loss(g, a, b, n, 1.0f);
}
static double kl_w(float *g, const float *q, const float *p, size_t n, int B, int K)
{
    return nn_kl_loss(g, p, q, B, K, 1.0f);
}

static void check_loss(const char *name, lossfn f, float *a, const float *b, int B, int K,
                       float eps)
{
    size_t n = (size_t)B * K;
    float *g = malloc(n * sizeof *g);
    f(g, a, b, n, B, K);
    double maxerr = 0, maxa = 0;
    for (size_t i = 0; i < n; i++) {
        float v0 = a[i], vp = v0 + eps, vm = v0 - eps;
        a[i] = vp;
        double lp = f(NULL, a, b, n, B, K);
        a[i] = vm;
        double lm = f(NULL, a, b, n, B, K);
        a[i] = v0;
        double num = (lp - lm) / ((double)vp - (double)vm);
        if (fabs(num - g[i]) > maxerr) maxerr = fabs(num - g[i]);
        if (fabs(g[i]) > maxa) maxa = fabs(g[i]);
    }
    double rel = maxerr / maxa;
    printf("%-28s rel %.2e\n", name, rel);
    CHECK_MSG(rel <= TOL, "%s: grad rel error expected <= %g, got %.3e", name, TOL, rel);
    free(g);
}

static void test_losses(void)
{
    rng rg;
    rng_seed(&rg, 99);
    enum { B = 4, K = 5 };
    float a[B * K], t[B * K], p[B * K], q[B * K];
    fill_normal(a, B * K, &rg, 1.0f);
    fill_normal(t, B * K, &rg, 1.0f);
    check_loss("mse", mse_w, a, t, B, K, 1e-3f);
    /* logits incl. large ones (stability), targets in [0,1] */
    for (int i = 0; i < B * K; i++) {
        a[i] = (float)(rng_normal(&rg) * 4);
        t[i] = (float)rng_uniform(&rg);
    }
    a[0] = 30.0f;
    a[1] = -30.0f;
    check_loss("bce_logits", bce_w, a, t, B, K, 1e-3f);
    /* stable at extreme logits: finite loss, exact gradient limits */
    float xl[2] = {200.0f, -200.0f}, tl[2] = {0.0f, 1.0f}, gl[2];
    double L = nn_bce_logits_loss(gl, xl, tl, 2, 1.0f);
    CHECK_NEAR(L, 200.0, 1e-6);
    CHECK_NEAR(gl[0], 0.5, 1e-7);
    CHECK_NEAR(gl[1], -0.5, 1e-7);
    /* KL: row-stochastic P (with a zero) and Q */
    for (int b = 0; b < B; b++) {
        double sp = 0, sq = 0;
        for (int k = 0; k < K; k++) {
            p[b * K + k] = (float)rng_uniform(&rg) + 0.05f;
            q[b * K + k] = (float)rng_uniform(&rg) + 0.05f;
            sp += p[b * K + k];
            sq += q[b * K + k];
        }
        for (int k = 0; k < K; k++) {
            p[b * K + k] /= (float)sp;
            q[b * K + k] /= (float)sq;
        }
    }
    p[3] = 0;
    check_loss("kl(p||q) wrt q", kl_w, q, p, B, K, 1e-4f);
    CHECK_NEAR(nn_kl_loss(NULL, q, q, B, K, 1.0f), 0.0, 1e-6);
    CHECK(nn_kl_loss(NULL, p, q, B, K, 1.0f) > 0.01);
}

int main(void)
{
    test_blocks();
    test_losses();
    return CHECK_DONE();
}
