/* kselect: choosing the number of clusters and one labelling without labels.
 *
 * Criteria of a labelling of X (n, d) row-major float32 into k clusters (labels (n) in
 * 0..k-1; empty clusters are ignored, at least 2 must be non-empty):
 * - silhouette (scikit-learn `silhouette_score`, Euclidean) averaged over m sample
 *   points drawn without replacement with a seed (all n, in order, when m = 0 or m >= n).
 *   Each sample point's a(i) and b(i) are its mean distances to ALL n points, in double
 *   by plain loops: O(m n d) time, O(n + k) memory, no BLAS (so no kernel rounding).
 *   With m >= n it is scikit-learn's full score. Higher is better, in [-1, 1].
 * - Calinski-Harabasz (between / within dispersion ratio): higher is better.
 * - Davies-Bouldin (mean worst-neighbour similarity): lower is better.
 * - stability of several seeds' labellings of the same points: mean ARI over the pairs.
 *
 * kselect_suggest picks k from one row of criteria per k (kselect_row_from_fits makes a
 * row from the fits of that k's seeds: means, std, the best seed, stability) and says
 * why in a sentence. kselect_run does everything on raw points for a range of k:
 * k-means (core/kmeans.h) with several seeds per k, optionally the full-covariance
 * mixture (core/gmm.h) for its BIC, the criteria, and the suggestion. A caller with its
 * own fits (a study's DEC models, say) computes the criteria on its embedding, builds
 * the rows and calls kselect_suggest.
 *
 *   kselect_opts o;  kselect_opts_default(&o);  o.k_min = 2;  o.k_max = 15;
 *   kselect_row rows[14];  kselect_suggestion s;  dc_err e = {0};
 *   if (kselect_run(X, n, d, &o, rows, &s, &e) == 0) printf("k = %d: %s\n", s.k, s.reason);
 *
 * kselect_consensus merges several seeds' labellings of the same points (same k) into
 * one: each is aligned to a reference by the Hungarian method on the contingency table
 * and every point takes the label most labellings give it; each input's ARI to the
 * result says which seed is closest to the consensus.
 *
 * Everything is deterministic for given inputs and seeds. Functions return 0 or a
 * negative DC_E* code with a message in *e; caller owns every array it passes.
 */
#ifndef DC_KSELECT_H
#define DC_KSELECT_H

#include <stddef.h>
#include <stdint.h>

#include "dc_err.h"

/* Silhouette over a sample of m points (0: all) drawn with seed; *out in [-1, 1]. */
int kselect_silhouette(const float *X, size_t n, int d, const int *labels, int k, size_t m,
                       uint64_t seed, double *out, dc_err *e);
/* Calinski-Harabasz; 1 when every cluster is a single point repeated (as scikit-learn). */
int kselect_calinski_harabasz(const float *X, size_t n, int d, const int *labels, int k,
                              double *out, dc_err *e);
/* Davies-Bouldin; 0 when all clusters are points or all centroids coincide. */
int kselect_davies_bouldin(const float *X, size_t n, int d, const int *labels, int k,
                           double *out, dc_err *e);
/* Mean ARI over the L (L-1) / 2 pairs of labellings labels[0..L) (each (n)); L >= 2. */
int kselect_stability(const int *const *labels, int L, size_t n, double *out, dc_err *e);

/* The criteria of one fit (one seed at one k). bic is NAN without a mixture. */
typedef struct kselect_fit {
    double sil, ch, db, bic;
} kselect_fit;

/* The criteria for one k over its seeds' fits. A criterion that was not computed is NAN
 * (bic without a mixture, stability with one seed). */
typedef struct kselect_row {
    int k;
    int n_seeds;
    double sil, sil_std;      /* mean and population std over the seeds */
    double ch, ch_std;
    double db, db_std;
    double sil_best, ch_best; /* silhouette and CH of the seed with the best silhouette
                                 (the one a caller would serve); the rule uses these */
    double bic;               /* lowest BIC over the seeds' mixtures (lower is better) */
    double stability;         /* mean pairwise ARI between the seeds' labellings */
} kselect_row;

/* Fills *row for k from fits (1 <= n_fits <= 64). labels (n_fits pointers to (n) labellings)
 * is optional: with it and n_fits >= 2 the stability is computed, else it is NAN. */
int kselect_row_from_fits(int k, const kselect_fit *fits, int n_fits, const int *const *labels,
                          size_t n, kselect_row *row, dc_err *e);

typedef struct kselect_suggestion {
    int k;            /* suggested number of clusters */
    int k_sil;        /* k of the best silhouette (sil_best) */
    int k_ch;         /* k of the best Calinski-Harabasz (ch_best) */
    int k_db;         /* k of the lowest mean Davies-Bouldin, 0 if none finite */
    int k_bic;        /* k of the lowest BIC, 0 when no row has one */
    int k_stab;       /* largest k whose stability is within 0.01 of the best, 0 if none */
    char reason[512]; /* one or two sentences for a person */
} kselect_suggestion;

/* The rule: start from k_sil, the k whose best seed has the highest silhouette. Among
 * that k and the larger ones whose silhouette is at least (1 - KSELECT_SIL_SLACK) of
 * the best, take the one with the highest Calinski-Harabasz.
 *
 * Why, from 160 generated cases (tests/test_kselect.c; 3..12 Gaussian clusters in 2, 5,
 * 10, 20 dimensions, separations 5, 7, 10, half with sizes 1:2:4; k-means, 3 seeds, k
 * searched in 2..15): silhouette alone rarely over-splits but often merges two close
 * clusters (right in 118 of 160); CH sees those splits, but in 20 dimensions with small
 * clusters it falls with k and picks too few (146). Letting CH move the choice only
 * upwards, and only to a k that silhouette finds almost as good, got 156 of 160, the
 * same for every slack from 0.15 to 0.30 (0.10: 155, 0.05: 149); on 80 cases not used
 * to choose it, 79. Also reported, not used: the lowest mean Davies-Bouldin (112 of
 * 160), the most stable k (largest within 0.01 of the best mean ARI between seeds: 143;
 * as a filter on the rule's candidates it changed nothing or cost a case), and BIC
 * (full covariance, one mixture per k: 24 of 40, all 10 in 2 dimensions right, but with
 * d >= 10 and ~1000 points its parameter count pushes it to too few clusters).
 *
 * Rows in any order; rows whose sil_best or ch_best is not finite are skipped (none
 * left: DC_EINVAL). Ties go to the smaller k. */
#define KSELECT_SIL_SLACK 0.20
int kselect_suggest(const kselect_row *rows, int n_rows, kselect_suggestion *out, dc_err *e);

typedef struct kselect_opts {
    int k_min, k_max;   /* range searched, 2 <= k_min <= k_max <= n - 1 (default 2..10) */
    int n_seeds;        /* k-means fits per k, 1..64, seeds seed, seed+1, ... (default 3) */
    uint64_t seed;      /* base seed (default 0) */
    int kmeans_n_init;  /* n_init of each k-means fit (default 10) */
    size_t sample;      /* silhouette sample size, 0 = all points (default 1000) */
    int use_gmm;        /* also fit the mixture once per k for its BIC (default 0) */
    int n_threads;      /* threads of k-means / mixture (default 1) */
} kselect_opts;

void kselect_opts_default(kselect_opts *o);

/* Fits and scores every k in k_min..k_max on X (n, d) and suggests one. rows
 * (k_max - k_min + 1) out, in increasing k; out optional. The silhouette sample is the
 * same for every k and seed, and its distances are computed once (O(m n d) plus
 * O(m n) per fit). */
int kselect_run(const float *X, size_t n, int d, const kselect_opts *o, kselect_row *rows,
                kselect_suggestion *out, dc_err *e);

/* Consensus of L >= 1 labellings labels[0..L) of the same n points, each in 0..k-1.
 * Reference: the labelling with the highest summed ARI to the others (the medoid; ties:
 * lowest index). Each labelling is mapped onto the reference's ids by the Hungarian
 * method (maximum overlap on the k x k contingency table), every point takes the most
 * voted id, then the alignment is redone against that vote until it stops changing
 * (at most 10 rounds). Ties between ids go to the reference's (then the previous
 * vote's) id for that point if it is among them, else to the smallest id.
 * consensus (n) out, ids in 0..k-1 in the reference's numbering. agreement (L) out,
 * optional: ARI of each input to the consensus. */
int kselect_consensus(const int *const *labels, int L, size_t n, int k, int *consensus,
                      double *agreement, dc_err *e);

#endif
