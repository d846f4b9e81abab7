/* smc.h — likelihood-tempered sequential Monte Carlo over discrete latent vectors: binary z in {0,1}^D,
 * or categorical z in {0..C-1}^D (McNamara, Loper, Regier 2403.10610; issue #7): K particles from the
 * prior p(z), targets pi_tau(z) ∝ p(z) p(x|z)^tau with tau going from 0 to exactly 1, reweight /
 * resample / move with a pi_tau-invariant kernel, and the evidence estimate log Ẑ.  A reusable
 * harness component: the target is a set of callbacks, nothing here knows about problems or
 * estimators.
 *
 * Deterministic given the gsl_rng it is handed; no global state; a run touches only its target
 * (read-only through the callbacks), its options and its result, so samplers with separate rngs and
 * results may run in parallel (the callbacks must then be thread-safe: the sbn adapter's are). */
#ifndef GV_SMC_H
#define GV_SMC_H

#include <gsl/gsl_rng.h>

#include "harness/core.h"

/* Largest number of values per site of a categorical target. */
#define GV_SMC_MAXCAT 256

/* The tempered target.  D sites with ncat values each: ncat = 0 or 2 is binary (z_d in {0, 1}),
 * ncat = C in 3..GV_SMC_MAXCAT categorical (z_d in {0..C-1}).  log_prior, sample_prior and log_lik
 * are required.  Optional fast paths, with a per-particle cache of aux_dim doubles that the sampler
 * keeps (0: none); aux_init fills z's cache (after log_lik; not an evaluation):
 *  - single-bit flips (binary targets only): log_lik_flip returns log p(x | z with bit d flipped)
 *    given z, ll = log p(x | z) and z's cache (NULL if aux_dim = 0); aux_update turns z's cache into
 *    that of z with bit d flipped (called with z before the flip);
 *  - setting a site (any target): log_lik_set returns log p(x | z with site d set to v), v != z_d,
 *    given z, ll and z's cache; aux_set turns z's cache into that of z with site d set to v (called
 *    with z before the change).
 * A binary target may give either pair (the flip pair is used when both are given).  Without a fast
 * path the sampler changes the site and calls log_lik.  Either way one call is one log-likelihood
 * evaluation.  aux_dim > 0 needs aux_init and a cache update and a log-likelihood of the same
 * target kind (categorical: aux_set and log_lik_set). */
typedef struct gv_smc_target {
    int D;
    int ncat;                                                             /* 0 or 2: binary; C > 2: categorical */
    void *ctx;
    double (*log_prior)(void *ctx, const int *z);                        /* log p(z) */
    void (*sample_prior)(void *ctx, gsl_rng *r, int *z);                  /* z ~ p(z) */
    double (*log_lik)(void *ctx, const int *z);                           /* log p(x | z) */
    double (*log_lik_flip)(void *ctx, const int *z, int d, double ll, const double *aux); /* optional, binary */
    int aux_dim;
    void (*aux_init)(void *ctx, const int *z, double *aux);
    void (*aux_update)(void *ctx, const int *z, int d, double *aux);      /* binary */
    double (*log_lik_set)(void *ctx, const int *z, int d, int v, double ll, const double *aux); /* optional */
    void (*aux_set)(void *ctx, const int *z, int d, int v, double *aux);
} gv_smc_target;

/* Values per site of t: 2 for a binary target (ncat 0 or 2), else t->ncat. */
static inline int gv_smc_ncat(const gv_smc_target *t) { return t->ncat == 0 ? 2 : t->ncat; }

typedef enum { GV_SMC_ADAPTIVE = 0, GV_SMC_LINEAR = 1, GV_SMC_GEOMETRIC = 2 } gv_smc_schedule;
typedef enum { GV_SMC_SYSTEMATIC = 0, GV_SMC_MULTINOMIAL = 1 } gv_smc_resampling;
typedef enum { GV_SMC_GIBBS = 0, GV_SMC_METROPOLIS = 1 } gv_smc_kernel;
typedef enum { GV_SMC_WEIGHT_FIRST = 0, GV_SMC_MOVE_FIRST = 1 } gv_smc_order;

typedef struct {
    int K;                       /* particles (>= 1) */
    gv_smc_schedule schedule;    /* adaptive: each increment delta solves cESS(delta) = cess_target K
                                  * by bisection (the last one may give more); linear: tau_t = t/T;
                                  * geometric: tau_t = tau1^((T-t)/(T-1)), t = 1..T; tau_T = 1 exactly */
    int T;                       /* steps of a fixed schedule (>= 1) */
    double tau1;                 /* first tau > 0 of the geometric schedule (in (0, 1); default 1e-3) */
    double cess_target;          /* adaptive: conditional ESS / K to aim for (default 0.5) */
    double ess_threshold;        /* resample when ESS < ess_threshold K (default 0.5; 0 never, > 1 always) */
    gv_smc_resampling resampling;
    gv_smc_kernel kernel;        /* gibbs: systematic scan over the D sites (one sweep = D conditional
                                  * updates, each from pi_tau(z_d = v | z_-d) over all C values: C - 1
                                  * log-likelihood evaluations, D per sweep when binary); metropolis:
                                  * n_flips proposals, each a uniformly chosen site set to a uniformly
                                  * chosen other value (a bit flipped when binary), accepted with
                                  * min(1, pi(z')/pi(z)) (one evaluation each) */
    int moves;                   /* kernel applications (sweeps / rounds of n_flips) per step (default 1) */
    int n_flips;                 /* metropolis proposals per application (0: D) */
    gv_smc_order order;          /* weight-first (correct): reweight by delta * log p(x|z), resample,
                                  * move with a pi_{tau+delta}-invariant kernel; move-first (ablation of
                                  * the authors' code, biased): move with the pi_{tau+delta} kernel,
                                  * then reweight the moved particles, then resample */
    int max_steps;               /* adaptive: give up (error) after this many steps (default 100000) */
} gv_smc_options;

/* Defaults: adaptive, systematic resampling, Gibbs, one move per step, weight-first, thresholds 1/2. */
void gv_smc_options_default(gv_smc_options *o, int K);

/* The sampler's options as keys of a spec (`name:key=value,...`, harness/core.h), for the estimators
 * and commands that take them: GV_SMC_MOVE_OPTDOCS are the option-table rows of the keys every user of
 * the sampler shares (kernel, moves, flips, order, resampling); gv_smc_options_parse reads those and,
 * when present in s, schedule, T, tau1, cess and ess, over the values already in o (the defaults).
 * GV_OK, or GV_EUSAGE with the bad key, its value and the valid choices in err (flips without
 * kernel=metropolis is an error: a Gibbs sweep updates every site). */
#define GV_SMC_MOVE_OPTDOCS                                                                                  \
    {"kernel", "gibbs", "move kernel: gibbs (systematic scan) | metropolis (single-site proposals)"},       \
    {"moves", "1", "kernel applications per tempering step (0: none, importance sampling only)"},          \
    {"flips", "0", "metropolis proposals per application (0: one per latent unit)"},                       \
    {"order", "weight-first", "weight-first (correct) | move-first (the authors' order, a biased ablation)"}, \
    {"resampling", "systematic", "systematic | multinomial (when ESS < ess K)"}
int gv_smc_options_parse(const gv_spec *s, gv_smc_options *o, char *err);

typedef struct {
    int K, D, aux_dim;
    int *z;              /* K x D final particles (row k = particle k) */
    double *ll;          /* K: log p(x | z_k) */
    double *logw;        /* K: normalised log-weights (logsumexp = 0) */
    double log_z;        /* log Ẑ = sum over steps of log sum_k W_k exp(delta_t ll_k) (W normalised
                          * before the step): unbiased Ẑ for a fixed schedule, weight-first */
    int n_steps;         /* tempering steps */
    long n_loglik;       /* log-likelihood evaluations (log_lik, log_lik_flip and log_lik_set calls): #7's
                          * cost unit */
    int n_resample;      /* steps at which the particles were resampled */
    int collapsed;       /* 1 if at some step every weight became 0 (all log p(x|z_k) = -inf): Ẑ = 0,
                          * log_z = -inf; the run then went on with uniform weights to tau = 1 */
    double *tau;         /* n_steps + 1 values: tau[0] = 0 < tau[1] < ... < tau[n_steps] = 1 */
    double *cess;        /* n_steps: conditional ESS / K of each step's increment (move-first: of the
                          * moved particles, so not the adaptive target) */
    double *ess;         /* n_steps: ESS / K after reweighting (before any resampling) */
    int cap;             /* capacity of tau/cess/ess (grows) */
    double *aux;         /* K x aux_dim: the target's per-particle caches (NULL if aux_dim = 0) */
    /* private scratch */
    double *aux2;
    int *z2;
    double *ll2, *tmp;
    int *idx;
} gv_smc_result;

/* For K particles of target t (its D and aux_dim); 0, or -1 (out of memory, or t->ncat not 0 or
 * 2..GV_SMC_MAXCAT). */
int gv_smc_result_alloc(gv_smc_result *res, int K, const gv_smc_target *t);
void gv_smc_result_free(gv_smc_result *res);

/* n indices (in increasing order) drawn from K particles with normalised log-weights logw: multinomial
 * (i.i.d. draws, by n sorted uniforms) or systematic (one uniform); the sampler's resampling step, also
 * for estimators that store a resampled subset.  Scratch: c (K values) and, multinomial, e (n + 1). */
void gv_smc_draw(const double *logw, int K, int n, gv_smc_resampling how, gsl_rng *r, double *c, double *e, int *idx);

/* One sampler run into res (allocated for o->K and t->D).  0; -1 with a message in err (bad
 * options, out of memory, adaptive schedule not reaching 1 in max_steps, a NaN or +inf log-likelihood).
 * log-likelihoods may be -inf (impossible states). */
int gv_smc_run(const gv_smc_target *t, const gv_smc_options *o, gsl_rng *r, gv_smc_result *res, char *err);

/* The kernels' transition probabilities at pi_tau, the very functions the sampler's kernels use
 * (tests build exact transition matrices from them).  z is modified and restored; ll = log p(x|z);
 * aux = z's cache (NULL if t->aux_dim = 0).
 * Binary targets (*ll_flip receives log p(x | z with bit d flipped): one evaluation):
 * gv_smc_gibbs_p1: P(z_d = 1 | z_-d) under pi_tau.
 * gv_smc_mh_accept: min(1, pi_tau(z^d) / pi_tau(z)), the acceptance probability of flipping bit d.
 * (A Metropolis proposal picks d uniformly among D.)
 * Any target (binary too), C = gv_smc_ncat(t) values per site:
 * gv_smc_gibbs_probs: prob[v] = pi_tau(z_d = v | z_-d) for v = 0..C-1, the Gibbs update of site d,
 *   and ll_set[v] = log p(x | z with z_d = v) (ll_set[z_d] = ll; C - 1 evaluations).  prob and
 *   ll_set hold C doubles.
 * gv_smc_mh_accept_set: min(1, pi_tau(z with z_d = v) / pi_tau(z)), v != z_d, the acceptance
 *   probability of the proposal "site d to value v"; *ll_set = log p(x | z with z_d = v) (one
 *   evaluation).  (A Metropolis proposal picks d uniformly among D and v uniformly among the C - 1
 *   other values: a symmetric proposal.) */
double gv_smc_gibbs_p1(const gv_smc_target *t, double tau, int *z, int d, double ll, const double *aux,
                       double *ll_flip);
double gv_smc_mh_accept(const gv_smc_target *t, double tau, int *z, int d, double ll, const double *aux,
                        double *ll_flip);
void gv_smc_gibbs_probs(const gv_smc_target *t, double tau, int *z, int d, double ll, const double *aux,
                        double *prob, double *ll_set);
double gv_smc_mh_accept_set(const gv_smc_target *t, double tau, int *z, int d, int v, double ll, const double *aux,
                            double *ll_set);

/* One application of o's kernel (o->kernel, o->n_flips; not o->moves) at pi_tau to the particle
 * (z, *ll, aux): *ll = log p(x | z) and aux = z's cache (NULL if t->aux_dim = 0) on entry and exit;
 * returns the log-likelihood evaluations used.  The sampler's move step calls this o->moves times per
 * particle. */
long gv_smc_move(const gv_smc_target *t, const gv_smc_options *o, double tau, gsl_rng *r, int *z, double *ll,
                 double *aux);

/* An sbn data point as a target: one-layer net, prior logits b, p(x|z) = Bernoulli(sigma(W z + c))
 * of the point's x.  The adapter holds pointers into the model (which must outlive it). */
typedef struct {
    int D, P;
    const double *b, *W, *c, *x; /* x: the point's P values */
    double spb;                  /* sum_d softplus(b_d) */
} gv_smc_sbn;
/* The adapter's fast path: each particle caches its activations W z + c (aux_dim = P), so a flip
 * costs O(P) instead of O(D P). */
struct gv_problem; /* problems/problem.h */
/* Fill a (context) and t (callbacks, t->ctx = a) for data point n of sbn problem p; 0, or -1 (not
 * a one-layer sbn, bad n, P too large).  fast = 0 leaves the fast path out (log_lik recomputed). */
int gv_smc_sbn_target(const struct gv_problem *p, int n, int fast, gv_smc_sbn *a, gv_smc_target *t);

#endif
