/* nn: golden values from PyTorch (tests/fixtures/nn_torch.txt, made by
 * tests/fixtures/make_nn_torch.py): conv2d and conv_transpose2d (stride, padding, output
 * padding) in our NHWC layouts, and the losses with their gradients (BCE with logits, KL
 * as kl_div(log q, p, 'batchmean') = Keras kld, MSE). Tolerance 1e-5 relative to the
 * largest value (float32 kernels against float64 torch). */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "nn_ops.h"

#define MAXA 32

static struct {
    char name[32];
    int n;
    float *v;
} arr[MAXA];
static int narr;

static int load(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    while (narr < MAXA && fscanf(f, "%31s %d", arr[narr].name, &arr[narr].n) == 2) {
        arr[narr].v = malloc((size_t)arr[narr].n * sizeof(float));
        for (int i = 0; i < arr[narr].n; i++)
            if (fscanf(f, "%f", &arr[narr].v[i]) != 1) {
                fclose(f);
                return -1;
            }
        narr++;
    }
    fclose(f);
    return narr;
}

static const float *get(const char *name, int n)
{
    for (int i = 0; i < narr; i++)
        if (!strcmp(arr[i].name, name)) {
            CHECK_MSG(arr[i].n == n, "%s: expected %d values, fixture has %d", name, n, arr[i].n);
            return arr[i].n == n ? arr[i].v : NULL;
        }
    CHECK_MSG(0, "%s: missing from the fixture", name);
    return NULL;
}

static void near_all(const char *what, const float *got, const float *want, int n)
{
    double m = 0, s = 1e-30;
    int at = 0;
    for (int i = 0; i < n; i++) {
        if (fabs((double)got[i] - want[i]) > m) m = fabs((double)got[i] - want[i]), at = i;
        s = fmax(s, fabs((double)want[i]));
    }
    CHECK_MSG(m / s <= 1e-5, "%s: max rel diff %.3e at %d (expected %.9g, got %.9g)", what, m / s,
              at, want[at], got[at]);
}

int main(void)
{
    const char *src = getenv("DC_SRC");
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/fixtures/nn_torch.txt", src ? src : ".");
    if (load(path) < 0) {
        fprintf(stderr, "cannot read %s (set DC_SRC to the source dir)\n", path);
        return 1;
    }
    const float *sh = get("conv_shape", 8);
    if (sh) {
        int B = (int)sh[0], H = (int)sh[1], W = (int)sh[2], C = (int)sh[3], OC = (int)sh[4],
            K = (int)sh[5], S = (int)sh[6], P = (int)sh[7];
        int OH = nn_conv_out(H, K, S, P), OW = nn_conv_out(W, K, S, P);
        const float *x = get("conv_x", B * H * W * C), *w = get("conv_w", K * K * C * OC),
                    *b = get("conv_b", OC), *y = get("conv_y", B * OH * OW * OC);
        if (x && w && b && y) {
            float *o = malloc((size_t)B * OH * OW * OC * sizeof *o),
                  *col = malloc((size_t)B * OH * OW * K * K * C * sizeof *col);
            nn_conv_forward(o, col, x, w, b, B, H, W, C, OC, K, S, P);
            near_all("conv vs torch", o, y, B * OH * OW * OC);
            nn_conv_forward_naive(o, x, w, b, B, H, W, C, OC, K, S, P);
            near_all("conv naive vs torch", o, y, B * OH * OW * OC);
            free(o);
            free(col);
        }
    }
    sh = get("convt_shape", 9);
    if (sh) {
        int B = (int)sh[0], H = (int)sh[1], W = (int)sh[2], C = (int)sh[3], OC = (int)sh[4],
            K = (int)sh[5], S = (int)sh[6], P = (int)sh[7], OP = (int)sh[8];
        int OH = nn_convt_out(H, K, S, P, OP), OW = nn_convt_out(W, K, S, P, OP);
        const float *x = get("convt_x", B * H * W * C), *w = get("convt_w", C * K * K * OC),
                    *b = get("convt_b", OC), *y = get("convt_y", B * OH * OW * OC);
        if (x && w && b && y) {
            float *o = malloc((size_t)B * OH * OW * OC * sizeof *o),
                  *col = malloc((size_t)B * H * W * K * K * OC * sizeof *col);
            nn_convt_forward(o, col, x, w, b, B, H, W, C, OC, K, S, P, OP);
            near_all("convT vs torch", o, y, B * OH * OW * OC);
            nn_convt_forward_naive(o, x, w, b, B, H, W, C, OC, K, S, P, OP);
            near_all("convT naive vs torch", o, y, B * OH * OW * OC);
            free(o);
            free(col);
        }
    }
    float g[12];
    const float *a = get("bce_x", 12), *t = get("bce_t", 12), *l = get("bce_loss", 1),
                *gw = get("bce_grad", 12);
    if (a && t && l && gw) {
        double L = nn_bce_logits_loss(g, a, t, 12, 1.0f);
        CHECK_NEAR(L, l[0], 1e-6 * fabs(l[0]));
        near_all("bce grad vs torch", g, gw, 12);
    }
    const float *p = get("kl_p", 12), *q = get("kl_q", 12);
    l = get("kl_loss", 1);
    gw = get("kl_grad", 12);
    if (p && q && l && gw) {
        double L = nn_kl_loss(g, p, q, 3, 4, 1.0f);
        CHECK_NEAR(L, l[0], 1e-6 * fabs(l[0]));
        near_all("kl grad vs torch", g, gw, 12);
    }
    a = get("mse_x", 12);
    t = get("mse_t", 12);
    l = get("mse_loss", 1);
    gw = get("mse_grad", 12);
    if (a && t && l && gw) {
        double L = nn_mse_loss(g, a, t, 12, 1.0f);
        CHECK_NEAR(L, l[0], 1e-6 * fabs(l[0]));
        near_all("mse grad vs torch", g, gw, 12);
    }
    for (int i = 0; i < narr; i++) free(arr[i].v);
    return CHECK_DONE();
}
