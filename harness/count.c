/* count.c — count units: log-pmf, score, tail mass, truncation level and sampling for the
 * Poisson (eta = log rate), binomial(N), geometric (failures before the first success) and
 * negative binomial(r) (eta = logit of the success probability q) families.
 * Log-pmfs use lgamma and log-sigmoids so that they stay finite for rates up to 1e4, N up to 1e4
 * and q in [1e-6, 1 - 1e-6]; derivatives (CATALOGUE.md "Log-pmf derivatives"):
 *   Poisson k - lambda;  binomial k - N q;  geometric (1 - q) - k q;  negbin r (1 - q) - k q. */
#include <math.h>
#include <gsl/gsl_cdf.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_sf_gamma.h>

/* log Gamma via GSL: thread-safe (libm's lgamma writes the global signgam) */
#define lgamma gsl_sf_lngamma

#include "harness/core.h"

const char *gv_count_family_name(int family)
{
    switch (family) {
    case GV_POISSON: return "poisson";
    case GV_BINOMIAL: return "binomial";
    case GV_GEOMETRIC: return "geometric";
    case GV_NEGBIN: return "negbin";
    }
    return "?";
}

double gv_count_logpmf(const gv_unit *u, double eta, double k)
{
    if (k < 0) return -INFINITY;
    const double lq = gv_log_sigmoid(eta), l1q = gv_log_sigmoid(-eta);
    switch (u->family) {
    case GV_POISSON: return k * eta - exp(eta) - lgamma(k + 1);
    case GV_BINOMIAL:
        if (k > u->shape) return -INFINITY;
        return lgamma(u->shape + 1) - lgamma(k + 1) - lgamma(u->shape - k + 1) + k * lq + (u->shape - k) * l1q;
    case GV_GEOMETRIC: return lq + k * l1q;
    case GV_NEGBIN: return lgamma(k + u->shape) - lgamma(u->shape) - lgamma(k + 1) + u->shape * lq + k * l1q;
    }
    return NAN;
}

double gv_count_score(const gv_unit *u, double eta, double k)
{
    const double q = gv_sigmoid(eta), q1 = gv_sigmoid(-eta);
    switch (u->family) {
    case GV_POISSON: return k - exp(eta);
    case GV_BINOMIAL: return k - u->shape * q;
    case GV_GEOMETRIC: return q1 - k * q;
    case GV_NEGBIN: return u->shape * q1 - k * q;
    }
    return NAN;
}

double gv_count_mean(const gv_unit *u, double eta)
{
    switch (u->family) {
    case GV_POISSON: return exp(eta);
    case GV_BINOMIAL: return u->shape * gv_sigmoid(eta);
    case GV_GEOMETRIC: return exp(-eta);          /* (1-q)/q */
    case GV_NEGBIN: return u->shape * exp(-eta);  /* r(1-q)/q */
    }
    return NAN;
}

double gv_count_tail(const gv_unit *u, double eta, int M)
{
    if (M <= 0) return 1.0;
    const double q = gv_sigmoid(eta);
    switch (u->family) {
    case GV_POISSON: return gsl_cdf_poisson_Q((unsigned)(M - 1), exp(eta));
    case GV_BINOMIAL: return M > u->shape ? 0.0 : gsl_cdf_binomial_Q((unsigned)(M - 1), q, (unsigned)u->shape);
    case GV_GEOMETRIC: return exp(M * gv_log_sigmoid(-eta)); /* (1-q)^M */
    case GV_NEGBIN: return gsl_cdf_negative_binomial_Q((unsigned)(M - 1), q, u->shape);
    }
    return NAN;
}

int gv_count_support(const gv_unit *u, double eta, double eps)
{
    if (u->family == GV_BINOMIAL && eps <= 0) return (int)u->shape + 1;
    /* the tail is decreasing in M: bracket by doubling from the mean, then bisect */
    int lo = 0, hi = (int)fmin(2e9, 2 * gv_count_mean(u, eta) + 16);
    while (gv_count_tail(u, eta, hi) > eps) {
        if (hi >= 1000000000) return -1;
        lo = hi;
        hi *= 2;
    }
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (gv_count_tail(u, eta, mid) > eps) lo = mid + 1;
        else hi = mid;
    }
    return lo < 1 ? 1 : lo;
}

int gv_count_sample(const gv_unit *u, double eta, gsl_rng *r)
{
    switch (u->family) {
    case GV_POISSON: return (int)gsl_ran_poisson(r, exp(eta));
    case GV_BINOMIAL: return (int)gsl_ran_binomial(r, gv_sigmoid(eta), (unsigned)u->shape);
    case GV_GEOMETRIC: return (int)gsl_ran_geometric(r, gv_sigmoid(eta)) - 1; /* GSL counts trials */
    case GV_NEGBIN: return (int)gsl_ran_negative_binomial(r, gv_sigmoid(eta), u->shape);
    }
    return 0;
}
