/* DCEC on small generated images (16x16 discs in one of four quadrants, jittered, with
 * noise and a distracting stroke); the convolutional autoencoder plus
 * the IDEC loss must separate them. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "cluster.h"
#include "data.h"
#include "metrics.h"
#include "rng.h"

enum { H = 16, W = 16 };

/* Class c: a bright disc of radius 3 centred in quadrant c, jittered by up to 2 px, on a
 * noisy background, plus a faint random stroke shared by all classes. */
static void draw(float *img, int cls, rng *r)
{
    double cy = (cls / 2 ? 11.5 : 4.5) + 4.0 * rng_uniform(r) - 2.0;
    double cx = (cls % 2 ? 11.5 : 4.5) + 4.0 * rng_uniform(r) - 2.0;
    int row = (int)rng_below(r, H);
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            double d2 = (y - cy) * (y - cy) + (x - cx) * (x - cx);
            double v = 0.1 * rng_uniform(r) + (d2 <= 9.0 ? 0.9 : 0.0) + (y == row ? 0.3 : 0.0);
            img[y * W + x] = (float)(v > 1.0 ? 1.0 : v);
        }
}

static int show(void *ctx, const cluster_event *ev)
{
    (void)ctx;
    fprintf(stderr, "%s %d/%d loss %.5g acc %.4f changed %.4f\n", cluster_phase_name(ev->phase), ev->iter, ev->total,
            ev->loss, ev->acc, ev->label_change);
    return 0;
}

int main(void)
{
    dataset ds = {0};
    rng r;
    rng_seed(&r, 21);
    CHECK_EQ_INT(dataset_alloc(&ds, 480, H * W, 1, NULL), 0);
    ds.h = H, ds.w = W, ds.c = 1;
    for (int64_t i = 0; i < ds.n; i++) {
        ds.labels[i] = (int)(i % 4);
        draw(ds.x + i * H * W, ds.labels[i], &r);
    }
    cluster_spec s;
    cluster_spec_default(&s, CM_DCEC, 4);
    s.seed = 2;
    s.embed_dim = 8;
    s.pretrain_epochs = 25;
    s.batch = 32;
    s.n_init = 10;
    s.update_interval = 15;
    s.maxiter = 300;
    s.tol = 0; /* run every batch: few updates at this size */
    cluster_model *m = NULL;
    dc_err e = {0};
    int rc = cluster_fit(&m, &s, &ds, getenv("DC_VERBOSE") ? show : NULL, NULL, &e);
    CHECK_MSG(rc == 0, "dcec: %s", e.msg);
    if (m) {
        int32_t *lab = malloc(sizeof(int32_t) * ds.n);
        double acc = 0;
        cluster_predict(m, ds.x, ds.n, NULL, lab, NULL, &e);
        metrics_acc((const int *)lab, (const int *)ds.labels, (size_t)ds.n, &acc, NULL);
        CHECK_MIN(acc, 0.95, "dcec ACC");
        CHECK_EQ_INT(cluster_model_embed(m), 8);
        free(lab);
        cluster_model_free(m);
    }
    dataset_free(&ds);
    return CHECK_DONE();
}
