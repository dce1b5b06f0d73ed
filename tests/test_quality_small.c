/* Reduced-scale quality: the first 3,000 Fashion-MNIST test images (Debian package
 * dataset-fashion-mnist; skipped, exit 77, when it is not installed), k = 10. k-means,
 * AE + k-means and DEC with a small autoencoder must reach the ACC floors below, and
 * DEC's self-training must not lose accuracy against its own k-means start. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "cluster.h"
#include "data.h"
#include "metrics.h"

static const char *DIR_FM = "/usr/share/datasets/fashion-mnist";
enum { N = 3000 };
#define KM_FLOOR 0.44  /* measured 0.474 (seed 1) */
#define AE_FLOOR 0.50  /* measured 0.538 */
#define DEC_FLOOR 0.55 /* measured 0.583 */

static double kmeans_acc, last_acc;
static int on_event(void *ctx, const cluster_event *ev)
{
    (void)ctx;
    if (strcmp(ev->phase, "kmeans") == 0 && !isnan(ev->acc)) kmeans_acc = ev->acc;
    if (!isnan(ev->acc)) last_acc = ev->acc;
    if (getenv("DC_VERBOSE"))
        fprintf(stderr, "%s %d/%d loss %.5g acc %.4f\n", ev->phase, ev->iter, ev->total,
                ev->loss, ev->acc);
    return 0;
}

static double run(const dataset *ds, cluster_method meth, double floor)
{
    cluster_spec s;
    cluster_spec_default(&s, meth, 10);
    s.seed = 1;
    s.n_init = 10;
    s.n_hidden = 3, s.hidden[0] = 256, s.hidden[1] = 64, s.hidden[2] = 10;
    s.pretrain_epochs = 25;
    s.batch = 128;
    s.update_interval = 30;
    s.maxiter = 600;
    cluster_model *m = NULL;
    dc_err e = {0};
    kmeans_acc = last_acc = NAN;
    int rc = cluster_fit(&m, &s, ds, on_event, NULL, &e);
    CHECK_MSG(rc == 0, "%s: %s", cluster_method_name(meth), e.msg);
    double acc = -1;
    if (m) {
        int32_t *lab = malloc(sizeof(int32_t) * ds->n);
        cluster_predict(m, ds->x, ds->n, NULL, lab, NULL, &e);
        metrics_acc((const int *)lab, (const int *)ds->labels, (size_t)ds->n, &acc, NULL);
        free(lab);
        cluster_model_free(m);
    }
    printf("%-9s ACC %.4f (floor %.2f; its k-means start %.4f)\n", cluster_method_name(meth),
           acc, floor, kmeans_acc);
    CHECK_MSG(acc >= floor, "%s: ACC %.4f < %.2f", cluster_method_name(meth), acc, floor);
    return acc;
}

int main(void)
{
    char xi[512], yi[512];
    snprintf(xi, sizeof xi, "%s/t10k-images-idx3-ubyte.gz", DIR_FM);
    snprintf(yi, sizeof yi, "%s/t10k-labels-idx1-ubyte.gz", DIR_FM);
    if (access(xi, R_OK) != 0 || access(yi, R_OK) != 0) {
        printf("skipped: %s not found (install dataset-fashion-mnist)\n", xi);
        return 77;
    }
    dataset full = {0}, ds = {0};
    dc_err e = {0};
    if (dataset_load(&full, xi, DATA_FMT_AUTO, NULL, &e) < 0 ||
        dataset_load_labels(&full, yi, DATA_FMT_AUTO, &e) < 0) {
        fprintf(stderr, "%s\n", e.msg);
        return 1;
    }
    dataset_alloc(&ds, N, full.d, 1, NULL);
    memcpy(ds.x, full.x, sizeof(float) * N * full.d);
    memcpy(ds.labels, full.labels, sizeof(int32_t) * N);
    ds.h = full.h, ds.w = full.w, ds.c = full.c;
    dataset_free(&full);

    run(&ds, CM_KMEANS, KM_FLOOR);
    run(&ds, CM_AE_KMEANS, AE_FLOOR);
    double dec = run(&ds, CM_DEC, DEC_FLOOR);
    CHECK_MSG(dec >= kmeans_acc - 0.01, "DEC lost accuracy in self-training: %.4f -> %.4f",
              kmeans_acc, dec);
    dataset_free(&ds);
    return CHECK_DONE();
}
