/* metrics: how well a clustering matches known labels, as the deep-clustering field
 * reports it.
 *
 * - ACC: best one-to-one matching of clusters to classes (Hungarian algorithm on the
 *   confusion matrix), matched samples / n. k != c is allowed: the matrix is treated as
 *   padded to square with zeros, so unmatched clusters or classes count as errors.
 * - NMI: mutual information normalised by the arithmetic mean of the two entropies
 *   (scikit-learn >= 0.22 `normalized_mutual_info_score` default).
 * - ARI: adjusted Rand index (scikit-learn `adjusted_rand_score`).
 *
 * Labels are int arrays of arbitrary non-negative ids (e.g. {3, 17, 3}); they are
 * remapped to 0..k-1 / 0..c-1 in increasing id order. Edge cases follow scikit-learn:
 * both labelings with a single group -> NMI 1 and ARI 1; mutual information 0 -> NMI 0.
 * n = 0 or a negative id is DC_EINVAL. All arithmetic is in double (pair counts in
 * 64-bit integers).
 *
 *   metrics_scores s;
 *   if (metrics_all(pred, truth, n, &s, &e) == 0) printf("acc %.4f\n", s.acc);
 *
 * metrics_hungarian() is the rectangular assignment solver behind ACC, exposed for reuse.
 */
#ifndef DC_METRICS_H
#define DC_METRICS_H

#include <stddef.h>

#include "dc_err.h"

/* Confusion (contingency) matrix between predicted clusters and true classes. */
typedef struct metrics_confusion {
    int k;          /* distinct predicted ids (rows) */
    int c;          /* distinct true ids (columns) */
    long *counts;   /* (k, c) row-major: counts[i*c + j] = #{pred = pred_ids[i], truth = true_ids[j]}; owned */
    int *pred_ids;  /* (k) original predicted id of each row, increasing; owned */
    int *true_ids;  /* (c) original true id of each column, increasing; owned */
    size_t n;       /* number of samples */
} metrics_confusion;

typedef struct metrics_scores {
    double acc, nmi, ari;
} metrics_scores;

/* Builds the confusion matrix of pred (n) against truth (n). On success *cm owns its
 * arrays (free with metrics_confusion_free); on failure *cm is zeroed. */
int metrics_confusion_build(const int *pred, const int *truth, size_t n, metrics_confusion *cm,
                            dc_err *e);
void metrics_confusion_free(metrics_confusion *cm); /* NULL and zeroed structs are fine */

/* Minimum-cost assignment on cost (rows, cols) row-major, any rows/cols >= 1.
 * assign (rows): assign[r] = column given to row r, or -1 when rows > cols and row r
 * is left out. Exactly min(rows, cols) pairs are made, each column at most once, and
 * the sum of their costs is minimal. Costs must be finite. To maximise, negate. */
int metrics_hungarian(const double *cost, int rows, int cols, int *assign, dc_err *e);

/* ACC / NMI / ARI from a confusion matrix (cm->n > 0). metrics_acc_cm also gives, when
 * assign is not NULL, assign (cm->k): the column (class index) matched to each cluster
 * row, or -1 for a cluster left unmatched (k > c). It can fail only on allocation. */
int metrics_acc_cm(const metrics_confusion *cm, double *acc, int *assign, dc_err *e);
double metrics_nmi_cm(const metrics_confusion *cm);
double metrics_ari_cm(const metrics_confusion *cm);

/* Convenience: each builds the confusion matrix and fills *out. */
int metrics_acc(const int *pred, const int *truth, size_t n, double *out, dc_err *e);
int metrics_nmi(const int *pred, const int *truth, size_t n, double *out, dc_err *e);
int metrics_ari(const int *pred, const int *truth, size_t n, double *out, dc_err *e);
int metrics_all(const int *pred, const int *truth, size_t n, metrics_scores *out, dc_err *e);

#endif
