/* gmm: full-covariance Gaussian mixture fitted by EM on float32 data, the last stage of
 * the `n2d` method (autoencoder -> UMAP of the codes -> Gaussian mixture; DESIGN.md 2).
 *
 * Model: p(x) = sum_j w_j N(x | mu_j, Sigma_j), k components in d dimensions (d small:
 * 2..64, typically 10). The peer is scikit-learn's GaussianMixture(covariance_type='full')
 * and the defaults are its own: n_init 5 here (scikit-learn: 1; one start sometimes stops
 * at a poor optimum), max_iter 100, tol 1e-3, reg_covar 1e-6, init from k-means labels.
 *
 * Each of n_init runs starts from one k-means++ run (kmeans_fit, n_init 1, seed drawn
 * from opts.seed), whose hard labels give the first M-step (weights, means, covariances
 * of the k groups). Then EM: the E-step computes log w_j + log N(x_i | mu_j, Sigma_j)
 * through each component's Cholesky factor L_j (Sigma_j = L_j L_j^T): y = (x - mu_j) L_j^-T,
 * for a block of rows and all components at once as one GEMM (rows, d) x (d, k d) with
 * the inverse factors (n d^2 k multiply-adds per pass; rows are centred on the mixture's
 * mean first, and when a component sits so far away relative to its spread that this
 * would lose digits, each component gets its own centring and GEMM), and
 * responsibilities by log-sum-exp (terms below e^-700 of a row's largest count as 0,
 * as in any double sum). The M-step accumulates the covariances centred on the previous means
 * (one pass over X per iteration, no cancellation) and adds reg_covar to every
 * covariance's diagonal, so none goes singular; should one still not factor in double
 * (reg_covar 0, or below rounding at the data's scale), jitter of 1e-10 trace/d, x100
 * up to 6 times, is added to it before giving up with DC_ENUMERIC. A run stops when
 * the mean log-likelihood per sample changes by less than tol between iterations
 * (scikit-learn's test, |change| < tol) or after max_iter iterations. The run whose
 * final model has the highest mean log-likelihood on X wins (scikit-learn compares the
 * bound of the last E-step, one M-step earlier; at convergence they differ by < tol).
 * EM is computed in double (the k-means start works in float, as kmeans does); X stays
 * float (n, d) and is converted per block.
 *
 * A component whose mass sum_i q_ij falls below GMM_DEAD_MASS (it lost all its points)
 * is kept, not re-seeded: its mean and covariance stay as they were and its weight
 * becomes (mass + 10 DBL_EPSILON) / normaliser, as scikit-learn's; it then takes
 * essentially no points. (Re-seeding would break the never-decreasing likelihood.)
 *
 *   gmm_opts o;  gmm_opts_default(&o);  o.seed = 1;
 *   gmm_result r;  dc_err e = {0};
 *   if (gmm_fit(X, n, d, 10, &o, &r, &e) == 0) { ... r.labels, r.resp, r.model ...; }
 *   gmm_result_free(&r);
 *
 * Threads: opts.n_threads splits the rows of every pass between that many threads,
 * whose partial sums are reduced in thread order: a result is bit-reproducible for a
 * given seed, n_threads and block_rows (other values only change rounding). OpenBLAS
 * threads come on top, as for kmeans. Calls share nothing and may run concurrently.
 *
 * Saved form: gmm_model_save writes a model into a flat double buffer of
 * gmm_model_saved_len(k, d) values, native byte order:
 *   [0] GMM_SAVE_MAGIC  [1] GMM_SAVE_VERSION  [2] k  [3] d
 *   [4 .. 4+k)          weights (k)
 *   then                means (k, d) row-major
 *   then                covariances (k, d, d) row-major, reg_covar included
 * gmm_model_load checks all of it and recomputes the Cholesky factors, with the same
 * code as the fit, so a loaded model predicts exactly like the saved one.
 */
#ifndef DC_GMM_H
#define DC_GMM_H

#include <stddef.h>
#include <stdint.h>

#include "dc_err.h"

#define GMM_SAVE_MAGIC 1196248369.0 /* "GMM1" as a big-endian uint32, exact in a double */
#define GMM_SAVE_VERSION 1.0
#define GMM_DEAD_MASS 1e-10         /* samples' worth of responsibility, see above */

/* Called after every EM iteration: init is the run (0..n_init-1), iter counts from 1,
 * mean_loglik is the mean log-likelihood per sample of the model that iteration's E-step
 * used (iteration 1: the model from the k-means labels). It never decreases within a run
 * (up to rounding). Return non-zero to stop: gmm_fit then returns DC_ECANCEL. Not called
 * during the k-means initialisation. */
typedef int (*gmm_progress_fn)(void *user, int init, int iter, double mean_loglik);

typedef struct gmm_opts {
    int n_init;               /* independent runs, best final log-likelihood kept (default 5) */
    int max_iter;             /* EM iterations per run (default 100) */
    double tol;               /* stop when |mean log-likelihood change| < tol (default 1e-3) */
    double reg_covar;         /* added to each covariance's diagonal (default 1e-6), >= 0 */
    uint64_t seed;            /* rng seed (default 0) */
    int n_threads;            /* threads for the passes over X, 1..256 (default 1) */
    int block_rows;           /* rows per block in a pass (default 1024; lowered so that a
                                 block's (rows, k d) GEMM output stays within 2 MB) */
    const struct gmm_model *init; /* optional borrowed starting model (same k and d,
                                     positive weights, covs positive definite; chol is
                                     recomputed): one run from it, n_init and k-means
                                     ignored (NULL) */
    gmm_progress_fn progress; /* optional (NULL) */
    void *progress_user;
} gmm_opts;

/* One contiguous allocation (buf) holds the four arrays. */
typedef struct gmm_model {
    int k, d;
    double *weights; /* (k), positive, sum 1 */
    double *means;   /* (k, d) row-major */
    double *covs;    /* (k, d, d) symmetric positive definite, reg_covar included */
    double *chol;    /* (k, d, d) lower-triangular L_j, covs_j = L_j L_j^T (upper part 0) */
    double *buf;     /* owned; free with gmm_model_free */
} gmm_model;

typedef struct gmm_result {
    gmm_model model;    /* the winning run's final parameters; owned */
    double *resp;       /* (n, k) responsibilities q_ij of the final model, rows sum to 1; owned */
    int *labels;        /* (n) argmax_j q_ij (ties: lowest j); owned */
    double loglik;      /* mean log-likelihood per sample of the final model on X (nats) */
    double lower_bound; /* mean log-likelihood of the last E-step of that run (scikit-learn's
                           lower_bound_, one M-step before the final model) */
    double bic;         /* -2 loglik n + p ln n, p = k-1 + k d + k d(d+1)/2; lower is better */
    int n_iter;         /* EM iterations of the winning run */
    int converged;      /* 1 if it stopped on tol, 0 if on max_iter */
    int best_init;      /* which run won (0-based) */
    size_t n;
} gmm_result;

void gmm_opts_default(gmm_opts *o);

/* Fits a k-component mixture to X (n, d) row-major, borrowed. Requires 1 <= k <= n <=
 * INT_MAX, d >= 1, n_init >= 1, max_iter >= 1, tol finite >= 0, reg_covar finite >= 0,
 * 1 <= n_threads <= 256, block_rows >= 1, sizes n*k and k*d*d representable; else
 * DC_EINVAL with a message naming the option and its range. NaN/Inf in X, or a
 * non-finite likelihood during EM, gives DC_ENUMERIC. On success *res owns its arrays;
 * on failure (and on DC_ECANCEL) it is zeroed and nothing is leaked. */
int gmm_fit(const float *X, size_t n, int d, int k, const gmm_opts *o, gmm_result *res, dc_err *e);
void gmm_result_free(gmm_result *res); /* NULL and zeroed results are fine */

/* Allocates a zeroed model (k, d) (chol too). 0, DC_EINVAL or DC_ENOMEM; *m zeroed on failure. */
int gmm_model_alloc(gmm_model *m, int k, int d, dc_err *e);
void gmm_model_free(gmm_model *m); /* NULL and zeroed models are fine */
/* Deep copy of src into *dst (allocated here). */
int gmm_model_copy(gmm_model *dst, const gmm_model *src, dc_err *e);
/* Recomputes chol from covs (after setting covs by hand). DC_ENUMERIC if a covariance
 * is not positive definite. */
int gmm_model_factor(gmm_model *m, dc_err *e);

/* For new samples X (n, d): resp (n, k) out, optional: responsibilities; labels (n) out,
 * optional: argmax; loglik out, optional: mean log-likelihood per sample (n >= 1).
 * The same code as the fit's E-step (one thread, blocks of 1024 rows): on the training
 * data with n_threads 1 and the default block_rows it gives the fit's resp and labels
 * bit for bit. DC_ENUMERIC for NaN/Inf in X. */
int gmm_predict(const gmm_model *m, const float *X, size_t n, double *resp, int *labels,
                double *loglik, dc_err *e);

/* Naive reference for gmm_predict, for tests: explicit inverse and determinant of each
 * covariance (Gauss-Jordan with partial pivoting, double) and the direct formula
 * -0.5 (d ln 2pi + ln det Sigma + (x-mu)^T Sigma^-1 (x-mu)) per sample and component. */
int gmm_predict_naive(const gmm_model *m, const float *X, size_t n, double *resp, int *labels,
                      double *loglik, dc_err *e);

/* Saved form (layout above). gmm_model_saved_len returns 0 if k or d is out of range
 * or the length overflows. save: DC_EINVAL if len is not exactly that length. load
 * allocates *m; DC_EFORMAT (with what is wrong) for a bad magic, version, size, a
 * non-finite value, weights not positive or not summing to 1 (within 1e-9), or a
 * covariance that is not symmetric positive definite. */
size_t gmm_model_saved_len(int k, int d);
int gmm_model_save(const gmm_model *m, double *buf, size_t len, dc_err *e);
int gmm_model_load(gmm_model *m, const double *buf, size_t len, dc_err *e);

#endif
