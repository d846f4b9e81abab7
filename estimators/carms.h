/* carms.h — the pieces of estimators/carms.c that the tests check against references: the
 * category orderings, the exact pairwise joint of the CARMS-I sampler, the importance weights,
 * the estimate from given joint samples, and a counter of weight-table builds (the cache). */
#ifndef GV_CARMS_H
#define GV_CARMS_H

#include "harness/core.h"

/* Number of orderings C(C-1)/2 (C >= 2). */
long gv_carms_n_orderings(int C);
/* The k-th ordering (0 <= k < C(C-1)/2) of the classes 0..C-1: position -> class.  Every unordered
 * pair {a, b} is (first, last) of exactly one ordering, with first < last. */
void gv_carms_ordering(int C, long k, int *ord);
/* Right ends R of the classes laid out on [0,1] in the order ord: cum[p] = pi_ord[0] + .. +
 * pi_ord[p] (capped at 1), cum[C-1] = 1; position p is the interval (cum[p-1], cum[p]]. */
void gv_carms_bounds(int C, const double *pi, const int *ord, double *cum);
/* Exact pairwise joint q2(a,b) = P(z_i = a, z_j = b), i != j, of the CARMS-I sampler with the
 * n-dimensional Dirichlet copula, averaged over the orderings; C x C row-major, symmetric.
 * 0, or -1 when out of memory. */
int gv_carms_joint(int C, const double *pi, int n, double *q2);
/* Weights w(a,b) = pi_a pi_b / q2(a,b) (clip = 0; 0 where q2 <= 0, a pair that is never drawn), or
 * the authors' clip(( pi_a pi_b + 1e-3) / (q2 + 1e-3), 0.01, 10) (clip = 1).  C x C. */
void gv_carms_weights(int C, const double *pi, const double *q2, int clip, double *w);
/* g += the CARMS estimate from n joint samples z (n x n_units, sample-major), their f values and
 * per-unit weight tables w[i] (C_i x C_i): for each unit,
 *   g_unit = 1/(n(n-1)) sum_i sum_{j != i} w(z_i,z_j) (f_i - f_j) (e_{z_i} - pi). */
void gv_carms_combine(const gv_layout *L, int n, const int *z, const double *f, const double *const *w,
                      double *g);
/* Weight tables computed so far by an estimator state of type carms or carms-gumbel (tables copied
 * from a unit with the same logits are not counted). */
long gv_carms_builds(const void *state);

#endif
