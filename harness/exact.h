/* exact.h — the exact reference: E f, the conditional means E[f | z_unit = v], and the gradient.
 *
 * Every exact gradient here follows from the conditional means, because the units are
 * independent under q:  Bernoulli  dE/deta = theta (1 - theta) (m_1 - m_0);
 * categorical dE/dl_j = pi_j (m_j - sum_c pi_c m_c).  This avoids the cancellation of
 * sum_z q(z) f(z) score(z) when theta is near 0 or 1.
 * Hierarchical layouts (edges, core.h) are the exception: there the gradient comes from the
 * problem's exact_grad hook, or else from enumerating sum_z q(z) (f(z) - E f) score(z) (two passes,
 * the second centred on E f); cond still holds E[f | z_unit = v] under the joint q. */
#ifndef GV_EXACT_H
#define GV_EXACT_H

#include "estimators/estimator.h"

#define GV_DEFAULT_MAX_STATES 4194304.0 /* 2^22 */

int gv_exact_alloc(gv_exact *ex, const gv_layout *L);
void gv_exact_free(gv_exact *ex);

/* Closed form if the problem has one (unless force_enum), else enumeration of the joint support
 * if it has at most max_states states; otherwise an error naming the size and the limit. */
int gv_exact_compute(const gv_problem *p, const gv_point *pt, double max_states, int force_enum,
                     gv_exact *ex, char *err);

/* Inclusive-KL problems with an exact model-marginal objective (gv_ikl_hooks.exact_marginal): fill
 * ex->marg_value and ex->marg_grad (n_outer, malloc'd here; gv_exact_free frees it) at outer parameters
 * phi.  0; 1 = not available (no hook, or the problem's options leave it out); -1 failed (err). */
int gv_exact_marginal(const gv_problem *p, const double *phi, gv_exact *ex, char *err);

/* Joint support size (as a double: it may overflow any integer). */
double gv_support_size(const gv_layout *L);

/* Fill grad from cond (the identities above). */
void gv_exact_grad_from_cond(const gv_point *pt, const double *cond, double *grad);

/* For separable f(z) = c0 + sum_i h_i(z_i) with h given as a table laid out like cond:
 * E f and the conditional means, in closed form. */
void gv_exact_separable(const gv_point *pt, const double *h, double c0, double *value, double *cond);

#endif
