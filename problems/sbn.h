/* sbn.h — the pieces of problems/sbn.c that tests and benchmarks call directly: exact enumeration of
 * one data point's 2^D latent states (Gray-code incremental, or straightforward), the log joint, and
 * the model's parameters. */
#ifndef GV_SBN_H
#define GV_SBN_H

#include "problems/problem.h"

#define GV_SBN_MAXD 20

enum { GV_SBN_GRAY = 0, GV_SBN_DIRECT = 1 };

/* What enumerating data point n at encoder logits eta (D values) gives. */
typedef struct {
    double elbo;  /* E_q[log p(x_n, z) - log q(z | x_n)] */
    double logpx; /* log p(x_n) = log sum_z p(x_n, z) */
    double cond1[GV_SBN_MAXD], cond0[GV_SBN_MAXD]; /* E_q[f_n | z_d = 1], E_q[f_n | z_d = 0] */
    double post[GV_SBN_MAXD];                      /* p(z_d = 1 | x_n) */
    double post_lj;                                /* E_{p(z | x_n)}[log p(x_n, z)] (log p(x_n) minus it is
                                                    * the posterior's entropy) */
} gv_sbn_result;

/* method GV_SBN_GRAY: Gray-code order in blocks of 2^12 states (each flip updates W z + c in O(P),
 * a vectorised log-sigmoid; a block starts from an exact W z + c, so the result does not depend
 * on the number of threads); GV_SBN_DIRECT: natural order, W z + c recomputed for every state,
 * libm's log1p/exp.  Both run single-threaded; 0 or -1 (bad n). */
int gv_sbn_enumerate(const gv_problem *p, int n, const double *eta, int method, gv_sbn_result *r);

/* log p(x_n, z) for one latent state z (D values), straightforwardly (tests). */
double gv_sbn_log_joint(const gv_problem *p, int n, const int *z);

/* The model: D latents, P visible units, N data points; b (D), W (D x P, row d = latent d's
 * weights), c (P), data x (N x P, 0/1). */
typedef struct {
    int D, P, N;
    const double *b, *W, *c, *x;
    int M, T;            /* training pool and test set sizes (train_n, test_n) */
    const double *pool;  /* M x P pixel probabilities of the pool (synthetic: the 0/1 data) */
    const double *test;  /* T x P test set, binarised (NULL if T = 0) */
} gv_sbn_model;
int gv_sbn_get_model(const gv_problem *p, gv_sbn_model *m); /* 0, or -1 if p is not an sbn */

/* Sum over j < P of x_j a_j - softplus(a_j) = sum log Bernoulli(x_j; sigma(a_j)): the vectorised
 * kernel (softplus to ~1e-15 relative; a term's error is a few ulp of |a|, as with libm; finite
 * for |a| < 8e307), and the libm reference. */
double gv_sbn_loglik_fast(const double *a, const double *x, int P);  /* AVX2 where the CPU has it */
double gv_sbn_loglik_sse2(const double *a, const double *x, int P);  /* the 2-lane baseline: same bits */
double gv_sbn_loglik_libm(const double *a, const double *x, int P);

/* Two latent layers (option D2 > 0): U = D + D2 latents per data point (layer 1 first), the encoder
 * q(z1 | x) q(z2 | z1) a hierarchical layout (harness/core.h).  What enumerating data point n at the
 * point's full parameter vector eta (units' logits, then edge weights) gives: */
typedef struct {
    double elbo, logpx;
    double cond1[GV_SBN_MAXD], cond0[GV_SBN_MAXD]; /* E_q[f_n | z_u = v], u < U */
    double post[GV_SBN_MAXD];                      /* p(z_u = 1 | x_n) */
    double grad[GV_SBN_MAXD * (GV_SBN_MAXD + 1)];  /* d E_q f_n / d(logit of unit u) at u < U, then d/d(edge
                                                    * d -> k) at U + k D + d */
} gv_sbn2_result;
/* Nested enumeration (Gray code over z1, all z2 inside); 0, or -1 (bad n, one-layer net). */
int gv_sbn2_enumerate(const gv_problem *p, int n, const double *eta, gv_sbn2_result *r);
/* log p(x_n, z1, z2) for z = (z1, z2) (U values), straightforwardly (tests). */
double gv_sbn2_log_joint(const gv_problem *p, int n, const int *z);
/* The second layer: D2 (0: none), b2 (D2), V (D x D2, row d = latent d of layer 1); 0 or -1. */
int gv_sbn2_get_layer2(const gv_problem *p, int *D2, const double **b2, const double **V);

#endif
