/* study: what a study (one method on one dataset, several seeds x several k) computes
 * beyond its runs, shared by `deepclust study` and the service's studies.
 *
 * - study_shares_ae: whether a spec pretrains an autoencoder that does not depend on k,
 *   so that one pretraining per seed serves every k (cluster_fit_opts.pretrained hands
 *   it over, ae_buf takes it back).
 * - study_criteria_of: the criteria of one fitted model that need no labels, on a
 *   sample of its training set: silhouette, Calinski-Harabasz and Davies-Bouldin of the
 *   sample's embedding (cluster_predict's z) under its predicted labels (kselect.h), and
 *   for n2d the mixture's mean log-likelihood per sample and BIC, from the run's last
 *   event (the mixture's final fit on all n).
 * - study_summarize_k: one k over its seeds' runs: mean and std of every figure, the
 *   stability (mean ARI between the seeds' labellings), the seed chosen without labels,
 *   the consensus labelling (kselect_consensus) and its ACC when truth is given, and the
 *   kselect_row that kselect_suggest takes.
 *
 *   study_criteria c;  study_criteria_of(model, &ds, &drive.last, STUDY_SAMPLE, &c, &e);
 *   ...
 *   study_k rows[K];  for each k: study_summarize_k(runs_of_k, S, n, truth, &rows[i], &e);
 *   kselect_row kr[K]; ... kr[i] = rows[i].row;  kselect_suggest(kr, K, &sug, &e);
 *
 * The seed chosen without labels (STUDY_CHOOSE_AGREEMENT) is the one whose labelling
 * agrees most with the others': the highest mean ARI to the other seeds (the medoid of
 * the labellings; with one seed, that seed). Also reported: the seed with the best
 * silhouette. Returns 0 or a negative DC_E* code with a message in *e.
 */
#ifndef DC_STUDY_H
#define DC_STUDY_H

#include <stddef.h>
#include <stdint.h>

#include "cluster.h"
#include "dc_err.h"
#include "kselect.h"

struct dataset;

enum { STUDY_SAMPLE = 2000 };             /* points the criteria are computed on */
#define STUDY_SAMPLE_SEED 0x5eedULL       /* the same sample for every seed and k */

/* 1 when s pretrains an autoencoder (ae_kmeans, dec, idec, dcec, n2d with one, a dense
 * vae with pretraining): the pretraining is the same for every k. */
int study_shares_ae(const cluster_spec *s);

/* Criteria without labels of one run; NAN where not computed (fewer than 2 clusters in
 * the sample, no mixture). */
typedef struct study_criteria {
    double sil, ch, db;  /* on the sample */
    double loglik, bic;  /* n2d: mean log-likelihood per sample, BIC (lower is better) */
    int64_t sample;      /* points used */
} study_criteria;

/* The criteria of model m on a sample of `sample` points of ds (all when n <= sample;
 * drawn with STUDY_SAMPLE_SEED). last: the run's last event (n2d's mixture), or NULL. */
int study_criteria_of(const cluster_model *m, const struct dataset *ds,
                      const cluster_event *last, size_t sample, study_criteria *out,
                      dc_err *e);

/* The figures averaged over seeds, in this order (names: study_stat_name). */
enum { ST_ACC, ST_NMI, ST_ARI, ST_SIL, ST_CH, ST_DB, ST_BIC, ST_LOGLIK, ST_COUNT };
const char *study_stat_name(int i); /* "acc", "nmi", "ari", "silhouette", ... */

/* One finished run of a k (input). */
typedef struct study_run {
    uint64_t seed;
    double stat[ST_COUNT];   /* acc, nmi, ari (NAN without labels), then the criteria */
    const int32_t *labels;   /* (n) its labels on the training set, or NULL if unknown */
} study_run;

typedef struct study_k {
    int k;
    int n_runs;
    double mean[ST_COUNT], std[ST_COUNT]; /* over the runs where finite (population std);
                                             NAN when none */
    double stability;        /* mean ARI over pairs of runs with labels; NAN below 2 */
    int chosen;              /* run chosen without labels (agreement), -1 = none */
    double chosen_agreement; /* its mean ARI to the others (NAN with one labelling) */
    int best_sil;            /* run with the best silhouette, -1 = none */
    double consensus_acc;    /* ACC of the consensus labelling, NAN without truth */
    kselect_row row;         /* for kselect_suggest (stability included) */
} study_k;

/* Summarizes the n_runs (1..64) runs of k. truth (n) optional. Runs without labels
 * count in the means but not in stability, choice or consensus (chosen falls back to
 * the best silhouette when no run has labels). */
int study_summarize_k(int k, const study_run *runs, int n_runs, size_t n,
                      const int32_t *truth, study_k *out, dc_err *e);

/* The time left of a study, from what its finished runs took. Each of its runs is
 * done (seconds, of which pretrain_s pretraining; 0 when it reused its seed's
 * autoencoder), running (eta_s from its progress, NAN when not known yet) or queued
 * (pretrains: 1 when it will pretrain its own autoencoder). The work left is every
 * running run's ETA, and every queued run (and a running one without an ETA) at the
 * done runs' mean clustering stage plus, when it pretrains, their mean pretraining;
 * the time left is that work over `parallel` runs at a time (1 or more). 0 when
 * nothing is left; NAN when a run left has nothing to be estimated from (no run done). */
typedef enum { STUDY_RUN_DONE, STUDY_RUN_RUNNING, STUDY_RUN_QUEUED } study_run_state;
typedef struct study_eta_run {
    study_run_state state;
    double seconds, pretrain_s; /* done */
    double eta_s;               /* running */
    int pretrains;              /* queued or running without an ETA */
} study_eta_run;
double study_eta_s(const study_eta_run *runs, int n_runs, int parallel);

#endif
