/* arms.h — copula helpers of estimators/arms.c, shared with the tests (and with the categorical
 * CARMS estimators to come, which use the same Dirichlet copula and bivariate CDF). */
#ifndef GV_ARMS_H
#define GV_ARMS_H

#include <gsl/gsl_rng.h>

/* Bivariate standard normal CDF P(X <= h, Y <= k) with correlation rho (Drezner-Wesolowsky/Genz). */
double gv_bvn_cdf(double h, double k, double rho);
/* Bivariate CDF of the n-dimensional Dirichlet copula: max(0, x^{1/(n-1)} + y^{1/(n-1)} - 1)^{n-1}. */
double gv_arms_copula_cdf(int n, double x, double y);
/* Draw u_1..u_n from the Dirichlet copula (uniform marginals, jointly antithetic). */
void gv_arms_dirichlet_copula(int n, gsl_rng *r, double *u);
/* The same draw as -log u_k (the same uniforms; no pow): exponential-race keys for CARMS-G. */
void gv_arms_dirichlet_copula_neglog(int n, gsl_rng *r, double *e);

#endif
