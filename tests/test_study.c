/* test_study: core/study.c and the pretraining hook studies share autoencoders with.
 *
 * - study_summarize_k on hand-made labellings with known answers: means and population
 *   stds, stability equal to kselect_stability, the chosen seed the one agreeing most
 *   with the others, consensus ACC 1 when a majority of seeds is right (relabelled),
 *   runs without labels counted in the means only, NAN skipped.
 * - cluster_fit_opts.pretrained: DEC hands over the autoencoder as pretraining ends,
 *   byte for byte the one ae_kmeans pretrains with the same seed (so self-training did
 *   not touch it), and a run from it (ae_buf) at another k gives exactly the labels of a
 *   run that pretrains itself: sharing the pretraining changes nothing but the time.
 * - study_criteria_of on blobs: the criteria favour the true k; sample size honoured.
 * - study_eta_s on hand-made runs: the work left (running ETAs, queued runs at the mean
 *   stage plus the mean pretraining when they pretrain) over the runs at a time; 0 when
 *   all are done, NAN when nothing is done to estimate from.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "blobs_testutil.h"
#include "check.h"
#include "cluster.h"
#include "data.h"
#include "kselect.h"
#include "study.h"

static void test_summary(void)
{
    enum { N = 12 };
    /* truth: 3 groups of 4; seeds 1 and 2 right up to relabelling, seed 3 merges two */
    int32_t truth[N] = {0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2};
    int32_t a[N] = {2, 2, 2, 2, 0, 0, 0, 0, 1, 1, 1, 1};
    int32_t b[N] = {1, 1, 1, 1, 2, 2, 2, 2, 0, 0, 0, 0};
    int32_t c[N] = {0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 2};
    study_run r[4];
    memset(r, 0, sizeof r);
    double acc[4] = {1.0, 1.0, 0.75, NAN}, sil[4] = {0.5, 0.7, 0.6, 0.9};
    const int32_t *lab[4] = {a, b, c, NULL};
    for (int i = 0; i < 4; i++) {
        r[i].seed = (uint64_t)i + 1;
        for (int s = 0; s < ST_COUNT; s++) r[i].stat[s] = NAN;
        r[i].stat[ST_ACC] = acc[i];
        r[i].stat[ST_SIL] = sil[i];
        r[i].stat[ST_CH] = 10.0 * (i + 1);
        r[i].stat[ST_DB] = 1.0;
        r[i].labels = lab[i];
    }
    study_k k;
    dc_err e = {0};
    CHECK_EQ_INT(study_summarize_k(3, r, 4, N, truth, &k, &e), 0);
    CHECK_EQ_INT(k.n_runs, 4);
    CHECK_NEAR(k.mean[ST_ACC], (1 + 1 + 0.75) / 3, 1e-12); /* the NAN run skipped */
    double m = 2.75 / 3, sd = sqrt((2 * (1 - m) * (1 - m) + (0.75 - m) * (0.75 - m)) / 3);
    CHECK_NEAR(k.std[ST_ACC], sd, 1e-12);
    CHECK_NEAR(k.mean[ST_SIL], (0.5 + 0.7 + 0.6 + 0.9) / 4, 1e-12);
    CHECK_NEAR(k.mean[ST_CH], 25.0, 1e-12);
    CHECK_NEAR(k.std[ST_DB], 0.0, 1e-12);
    CHECK(isnan(k.mean[ST_BIC]) && isnan(k.std[ST_BIC]));
    const int *ls[3] = {(const int *)a, (const int *)b, (const int *)c};
    double stab;
    CHECK_EQ_INT(kselect_stability(ls, 3, N, &stab, &e), 0);
    CHECK_NEAR(k.stability, stab, 1e-12);
    CHECK_NEAR(k.row.stability, stab, 1e-12);
    CHECK_MSG(k.chosen == 0, "chosen %d (a and b agree fully; a comes first)", k.chosen);
    CHECK(k.chosen_agreement > 0.5 && k.chosen_agreement < 1);
    CHECK_EQ_INT(k.best_sil, 3); /* silhouette 0.9, though it has no labels */
    CHECK_NEAR(k.consensus_acc, 1.0, 1e-12);
    CHECK_EQ_INT(k.row.k, 3);
    CHECK_NEAR(k.row.sil_best, 0.9, 1e-12);

    /* one run: chosen is it, no stability */
    CHECK_EQ_INT(study_summarize_k(3, r + 2, 1, N, truth, &k, &e), 0);
    CHECK_EQ_INT(k.chosen, 0);
    CHECK(isnan(k.stability) && isnan(k.chosen_agreement));
    CHECK_NEAR(k.consensus_acc, 0.75, 1e-12); /* c alone: 9 of 12 matched */
    /* no labels anywhere: chosen by silhouette; no truth: no consensus ACC */
    for (int i = 0; i < 4; i++) r[i].labels = NULL;
    CHECK_EQ_INT(study_summarize_k(3, r, 3, N, NULL, &k, &e), 0);
    CHECK_EQ_INT(k.chosen, 1);
    CHECK(isnan(k.consensus_acc));
    CHECK(study_summarize_k(3, r, 0, N, NULL, &k, &e) == DC_EINVAL);
}

/* The pretrained hook: keeps a copy of what it is handed. */
typedef struct kept {
    void *buf;
    size_t len;
    int calls;
} kept;

static int keep(void *ctx, const void *buf, size_t len)
{
    kept *k = ctx;
    free(k->buf);
    k->buf = malloc(len);
    memcpy(k->buf, buf, len);
    k->len = len;
    k->calls++;
    return 0;
}

static int run(cluster_model **m, int method, int k, const dataset *ds, const kept *from,
               kept *to)
{
    cluster_spec s;
    dc_err e = {0};
    cluster_spec_default(&s, method, k);
    s.n_hidden = 2, s.hidden[0] = 16, s.hidden[1] = 4, s.embed_dim = 4;
    s.pretrain_epochs = 6, s.batch = 32, s.seed = 7, s.n_init = 5;
    s.maxiter = 60, s.update_interval = 20;
    cluster_fit_opts o = {0};
    if (from) o.ae_buf = from->buf, o.ae_len = from->len;
    if (to) o.pretrained = keep, o.pretrained_ctx = to;
    int rc = cluster_fit_ex(m, &s, ds, &o, &e);
    if (rc < 0) fprintf(stderr, "run: %s\n", e.msg);
    return rc;
}

static void test_hook(void)
{
    enum { N = 400, D = 8 };
    dataset ds = {0};
    dc_err e = {0};
    int truth[N];
    CHECK_EQ_INT(dataset_alloc(&ds, N, D, 0, &e), 0);
    float *X = blobs(N, D, 4, 20.0, 11, truth);
    memcpy(ds.x, X, sizeof *X * N * D);
    free(X);
    kept dec_ae = {0}, km_ae = {0};
    cluster_model *md = NULL, *mk = NULL, *m4 = NULL, *m4s = NULL;
    CHECK_EQ_INT(run(&md, CM_DEC, 3, &ds, NULL, &dec_ae), 0);
    CHECK_EQ_INT(run(&mk, CM_AE_KMEANS, 5, &ds, NULL, &km_ae), 0);
    CHECK_EQ_INT(dec_ae.calls, 1);
    CHECK(dec_ae.len > 0 && dec_ae.len == km_ae.len &&
          memcmp(dec_ae.buf, km_ae.buf, dec_ae.len) == 0);
    void *fin = NULL;
    size_t fin_len = 0;
    CHECK_EQ_INT(cluster_model_save_ae(md, &fin, &fin_len, &e), 0);
    CHECK_MSG(fin_len != dec_ae.len || memcmp(fin, dec_ae.buf, fin_len) != 0,
              "DEC's final autoencoder differs from the pretrained one handed over");
    free(fin);
    /* k = 4 from the k = 3 job's autoencoder == k = 4 pretraining itself */
    kept none = {0};
    CHECK_EQ_INT(run(&m4, CM_DEC, 4, &ds, &dec_ae, &none), 0);
    CHECK_EQ_INT(none.calls, 0); /* no pretraining, no hand-over */
    CHECK_EQ_INT(run(&m4s, CM_DEC, 4, &ds, NULL, NULL), 0);
    int32_t *l1 = malloc(sizeof *l1 * N), *l2 = malloc(sizeof *l2 * N);
    CHECK_EQ_INT(cluster_predict(m4, ds.x, N, NULL, l1, NULL, &e), 0);
    CHECK_EQ_INT(cluster_predict(m4s, ds.x, N, NULL, l2, NULL, &e), 0);
    CHECK_MSG(memcmp(l1, l2, sizeof *l1 * N) == 0, "shared pretraining gives the same labels");
    /* criteria: the sample size; on the data itself (kmeans) the full-sample silhouette is
       kselect's, and the true k scores best */
    study_criteria c4, c3;
    CHECK_EQ_INT(study_criteria_of(m4, &ds, NULL, 150, &c4, &e), 0);
    CHECK_EQ_INT((int)c4.sample, 150);
    CHECK(isfinite(c4.sil) && isfinite(c4.ch) && isfinite(c4.db) && isnan(c4.bic));
    cluster_model *q3 = NULL, *q4 = NULL;
    CHECK_EQ_INT(run(&q3, CM_KMEANS, 3, &ds, NULL, NULL), 0);
    CHECK_EQ_INT(run(&q4, CM_KMEANS, 4, &ds, NULL, NULL), 0);
    CHECK_EQ_INT(study_criteria_of(q3, &ds, NULL, 0, &c3, &e), 0);
    CHECK_EQ_INT(study_criteria_of(q4, &ds, NULL, 0, &c4, &e), 0);
    CHECK_EQ_INT((int)c3.sample, N);
    double sil, ch, db;
    CHECK_EQ_INT(cluster_predict(q4, ds.x, N, NULL, l1, NULL, &e), 0);
    CHECK_EQ_INT(kselect_silhouette(ds.x, N, D, (const int *)l1, 4, 0, 0, &sil, &e), 0);
    CHECK_EQ_INT(kselect_calinski_harabasz(ds.x, N, D, (const int *)l1, 4, &ch, &e), 0);
    CHECK_EQ_INT(kselect_davies_bouldin(ds.x, N, D, (const int *)l1, 4, &db, &e), 0);
    CHECK_NEAR(c4.sil, sil, 1e-12);
    CHECK_NEAR(c4.ch, ch, 1e-9 * ch);
    CHECK_NEAR(c4.db, db, 1e-12);
    CHECK_MSG(c4.sil > c3.sil && c4.ch > c3.ch, "k=4: sil %.3f ch %.1f, k=3: sil %.3f ch %.1f",
              c4.sil, c4.ch, c3.sil, c3.ch);
    cluster_model_free(q3), cluster_model_free(q4);
    CHECK(study_shares_ae(cluster_model_spec(md)) && !study_shares_ae(&(cluster_spec){.method = CM_KMEANS}));
    free(l1), free(l2);
    free(dec_ae.buf), free(km_ae.buf);
    cluster_model_free(md), cluster_model_free(mk), cluster_model_free(m4), cluster_model_free(m4s);
    dataset_free(&ds);
}

static void test_eta(void)
{
    /* done: 100 s with 80 s pretraining, 30 s reusing an autoencoder -> stage mean
       (20 + 30) / 2 = 25 s, pretraining mean 80 s */
    study_eta_run r[6] = {
        {.state = STUDY_RUN_DONE, .seconds = 100, .pretrain_s = 80},
        {.state = STUDY_RUN_DONE, .seconds = 30},
        {.state = STUDY_RUN_RUNNING, .eta_s = 12},
        {.state = STUDY_RUN_QUEUED, .pretrains = 1},
        {.state = STUDY_RUN_QUEUED},
        {.state = STUDY_RUN_RUNNING, .eta_s = NAN, .pretrains = 0}, /* no ETA yet: a stage */
    };
    /* 12 + (25 + 80) + 25 + 25 = 167 */
    CHECK(fabs(study_eta_s(r, 6, 1) - 167) < 1e-9);
    CHECK(fabs(study_eta_s(r, 6, 2) - 83.5) < 1e-9);
    CHECK(fabs(study_eta_s(r, 6, 0) - 167) < 1e-9); /* parallel below 1 counts as 1 */
    CHECK(study_eta_s(r, 2, 1) == 0);                /* all done */
    CHECK(fabs(study_eta_s(r, 3, 1) - 12) < 1e-9);   /* only a running ETA left */
    /* nothing done: no estimate for a queued run, but a running ETA alone is one */
    CHECK(isnan(study_eta_s(r + 2, 2, 1)));
    CHECK(fabs(study_eta_s(r + 2, 1, 1) - 12) < 1e-9);
    /* no pretraining seen (kmeans): a queued run that "pretrains" costs a stage only */
    study_eta_run k[2] = {{.state = STUDY_RUN_DONE, .seconds = 4},
                          {.state = STUDY_RUN_QUEUED, .pretrains = 1}};
    CHECK(fabs(study_eta_s(k, 2, 1) - 4) < 1e-9);
    CHECK(study_eta_s(NULL, 0, 1) == 0);
}

int main(void)
{
    test_eta();
    test_summary();
    test_hook();
    return CHECK_DONE();
}
