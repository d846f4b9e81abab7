/* ikl.h — helpers for inclusive-KL estimators and problems (objective kind `inclusive-kl`, issue #7;
 * the contract is gv_ikl_hooks in problems/problem.h).
 *
 * Group g of an inclusive-KL problem is units g U .. g U + U - 1 (U = p->group_units) of its layout;
 * q is factorised over them (Bernoulli or categorical units), so one group's log q and score are
 * sums over its units.  z below is always one group's U values. */
#ifndef GV_IKL_H
#define GV_IKL_H

#include "harness/smc.h"
#include "problems/problem.h"

/* log q(z_g) at pt. */
double gv_ikl_log_q(const gv_point *pt, const gv_problem *p, int g, const int *z);
/* g += w * d log q(z_g) / d eta (group g's parameters only: Bernoulli z - theta, categorical onehot - pi). */
void gv_ikl_score_axpy(const gv_point *pt, const gv_problem *p, int g, const int *z, double w, double *grad);
/* z_g ~ q at pt. */
void gv_ikl_sample_q(const gv_point *pt, const gv_problem *p, int g, gsl_rng *r, int *z);

/* A tempered-SMC target (harness/smc.h) for group g: the problem's own (gv_ikl_hooks.smc_target, with
 * its fast path) or a generic one built from log_prior / log_lik / sample_prior.  ctx must hold
 * gv_ikl_smc_ctx_size(p) bytes and outlive t.  0 or -1. */
size_t gv_ikl_smc_ctx_size(const gv_problem *p);
int gv_ikl_smc_target(const gv_problem *p, int g, void *ctx, gv_smc_target *t);

#endif
