/* test_cluster_cost: the stage cost estimates behind progress and the ETA
 * (core/cluster_cost.h): the shares of the runs the ETA got wrong before, the figures
 * measured in docs/eta.md, and that a real run's progress follows the estimate. */
#include <math.h>
#include <stdlib.h>

#include "check.h"
#include "cluster.h"
#include "cluster_cost.h"
#include "data.h"
#include "rng.h"

static double pre_share(const cluster_cost *c)
{
    return (c->pretrain_s + c->init_s) / c->total_s;
}

static void shares(void)
{
    cluster_spec s;
    cluster_cost c;
    /* the README's 3-epoch dec job on MNIST: ETA 22 s at 17 s, ran 9 min 45 s, because
       pretraining was counted as 60% of the run; self-training to maxiter dominates */
    cluster_spec_default(&s, CM_DEC, 10);
    s.pretrain_epochs = 3;
    cluster_cost_estimate(&s, 70000, 784, 0, &c);
    CHECK_MSG(pre_share(&c) > 0.01 && pre_share(&c) < 0.1, "dec 3 epochs: %.3f", pre_share(&c));
    CHECK_MSG(c.total_s > 300 && c.total_s < 1500, "dec 3 epochs total %.0f s", c.total_s);
    /* n2d, 20 epochs on MNIST-70k: pretraining 229.1 s of 278.8 s (docs/n2d.md) = 0.82 */
    cluster_spec_default(&s, CM_N2D, 10);
    s.pretrain_epochs = 20;
    cluster_cost_estimate(&s, 70000, 784, 0, &c);
    CHECK_MSG(pre_share(&c) > 0.7 && pre_share(&c) < 0.9, "n2d 20 epochs: %.3f", pre_share(&c));
    CHECK(c.manifold_s > c.mixture_s);
    /* a pretrained autoencoder: no pretraining stage */
    cluster_cost_estimate(&s, 70000, 784, 1, &c);
    CHECK(c.pretrain_s == 0 && c.manifold_s > 0);
    /* more pretraining epochs, a larger share; more maxiter, a smaller one */
    cluster_spec_default(&s, CM_IDEC, 10);
    cluster_cost a, b;
    s.pretrain_epochs = 10;
    cluster_cost_estimate(&s, 10000, 784, 0, &a);
    s.pretrain_epochs = 100;
    cluster_cost_estimate(&s, 10000, 784, 0, &b);
    CHECK(pre_share(&b) > pre_share(&a));
    s.maxiter *= 4;
    cluster_cost_estimate(&s, 10000, 784, 0, &a);
    CHECK(pre_share(&a) < pre_share(&b));
    /* k-means alone: one stage; degenerate sizes: zeros, no NaN */
    cluster_spec_default(&s, CM_KMEANS, 10);
    cluster_cost_estimate(&s, 1000, 10, 0, &c);
    CHECK(c.total_s > 0 && c.total_s == c.init_s);
    cluster_cost_estimate(&s, 0, 10, 0, &c);
    CHECK(c.total_s == 0);
    for (int m = 0; m < CM_COUNT; m++) {
        cluster_spec_default(&s, (cluster_method)m, 10);
        cluster_cost_estimate(&s, 5000, 784, 0, &c);
        CHECK_MSG(isfinite(c.total_s) && c.total_s > 0, "%s: total %g", cluster_method_name(m),
                  c.total_s);
    }
}

/* A small dec run: its progress at the first self-training event is the estimated share
 * of pretraining and k-means, and progress never goes back. */
static double first_cluster_progress = -1, last_progress;
static int went_back;
static int on_event(void *ctx, const cluster_event *ev)
{
    (void)ctx;
    if (ev->progress < last_progress - 1e-12) went_back++;
    last_progress = ev->progress;
    if (ev->phase == CP_CLUSTER && first_cluster_progress < 0) first_cluster_progress = ev->progress;
    return 0;
}

static void run_follows_estimate(void)
{
    dataset ds = {0};
    dc_err e = {0};
    CHECK_EQ_INT(dataset_alloc(&ds, 400, 16, 0, &e), 0);
    rng r;
    rng_seed(&r, 5);
    for (int64_t i = 0; i < ds.n; i++)
        for (int j = 0; j < ds.d; j++)
            ds.x[i * ds.d + j] = (float)((i % 4 == j % 4 ? 1.0 : 0.0) + 0.1 * rng_normal(&r));
    cluster_spec s;
    cluster_spec_default(&s, CM_DEC, 4);
    s.n_hidden = 2, s.hidden[0] = 32, s.hidden[1] = 4;
    s.pretrain_epochs = 3, s.batch = 50, s.maxiter = 200, s.update_interval = 20, s.tol = 0;
    cluster_model *m = NULL;
    CHECK_EQ_INT(cluster_fit(&m, &s, &ds, on_event, NULL, &e), 0);
    cluster_cost c;
    cluster_cost_estimate(&s, ds.n, ds.d, 0, &c);
    CHECK_MSG(fabs(first_cluster_progress - pre_share(&c)) < 1e-9, "first cluster event at %.4f, "
              "estimated share %.4f", first_cluster_progress, pre_share(&c));
    CHECK_EQ_INT(went_back, 0);
    CHECK_NEAR(last_progress, 1.0, 1e-9);
    cluster_model_free(m);
    dataset_free(&ds);
}

int main(void)
{
    shares();
    run_follows_estimate();
    return CHECK_DONE();
}
