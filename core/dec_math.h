/* dec_math: the clustering layer of DEC/IDEC/DCEC as plain functions over arrays.
 *
 *   q_ij = t_ij / sum_j' t_ij',  t_ij = (1 + |z_i - mu_j|^2 / alpha)^(-(alpha+1)/2)
 *   p_ij = (q_ij^2 / f_j) / sum_j' (q_ij'^2 / f_j'),  f_j = sum_i q_ij
 *   L    = scale * sum_i sum_j p_ij log(p_ij / q_ij)       (P held fixed)
 *
 * Shapes: z (n,e), mu (k,e), q and p (n,k); all row-major float32. Sums in double.
 */
#ifndef DC_DEC_MATH_H
#define DC_DEC_MATH_H

#include <stdint.h>

/* q (n,k) from embeddings z (n,e) and centroids mu (k,e). */
void dec_soft_assign(float *q, const float *z, const float *mu, int64_t n, int e, int k,
                     double alpha);

/* p (n,k) from q (n,k); p may alias nothing. f_j is taken over these n rows. */
void dec_target_distribution(float *p, const float *q, int64_t n, int k);

/* KL(P||Q) summed over rows, times scale. */
double dec_kl(const float *p, const float *q, int64_t n, int k, double scale);

/* Adds scale * dKL/dz into dz (n,e) and scale * dKL/dmu into dmu (k,e) (either may be
 * NULL). q must be dec_soft_assign(z, mu). */
void dec_kl_backward(float *dz, float *dmu, const float *p, const float *q, const float *z,
                     const float *mu, int64_t n, int e, int k, double alpha, double scale);

/* Hard labels: argmax_j q_ij. */
void dec_argmax(int32_t *labels, const float *q, int64_t n, int k);

#endif
