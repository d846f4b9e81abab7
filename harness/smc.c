/* smc.c — discrete likelihood-tempered SMC over binary or categorical sites (harness component; see
 * smc.h).
 *
 * Covers, of issue #7, the "Discrete tempered SMC (harness component, reusable)" item: particles from
 * the prior; adaptive schedule (conditional ESS = K/2 by bisection) or fixed (linear / geometric, for
 * an exactly unbiased Ẑ); reweight, resample (multinomial or systematic) when ESS < K/2, move with a
 * kernel invariant for the new tempered target (systematic-scan Gibbs, or n single-site Metropolis
 * flips; on categorical sites Gibbs over all C values of a site and Metropolis moves of one site to a
 * uniformly chosen other value); everything in log space; tau ends at exactly 1; order = move-first as the (biased) ablation
 * of the authors' move-then-weight code; the cost counted in log-likelihood evaluations; an adapter
 * from a one-layer sbn data point (with a per-particle activation cache: a flip costs O(P)).  Its
 * tests are tests/test_smc.c.  NOT covered here: the estimators of #7 (smc-naive, smc-wake-a/b/c,
 * smc-pimh, rws-*, sleep), the sbn-posterior / cluster-posterior problems, the harness's handling of
 * the inclusive-kl objective kind (exact reference, crossing), two-layer sbn targets.
 *
 * Conventions: W_k = exp(logw_k) are normalised before every step; a step from tau to tau' = tau +
 * delta multiplies particle k's weight by exp(delta ll_k) and log Ẑ gains log sum_k W_k exp(delta ll_k)
 * (the incremental mean weight; with resampling the W are uniform again, so the product over steps
 * is the usual unbiased estimate).  If every particle's weight becomes 0 (all log-likelihoods -inf),
 * Ẑ = 0 is the (unbiased) answer: log_z = -inf, collapsed = 1, and the run goes on with uniform
 * weights.  delta * ll is taken as 0 when delta = 0 and differences of equal log-values as 0, so -inf
 * log-likelihoods produce no NaN. */
#include "harness/smc.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/core.h"
#include "harness/rng.h"
#include "problems/sbn.h"

void gv_smc_options_default(gv_smc_options *o, int K)
{
    *o = (gv_smc_options){.K = K, .schedule = GV_SMC_ADAPTIVE, .T = 10, .tau1 = 1e-3, .cess_target = 0.5,
                          .ess_threshold = 0.5, .resampling = GV_SMC_SYSTEMATIC, .kernel = GV_SMC_GIBBS,
                          .moves = 1, .n_flips = 0, .order = GV_SMC_WEIGHT_FIRST, .max_steps = 100000};
}

int gv_smc_options_parse(const gv_spec *s, gv_smc_options *o, char *err)
{
    static const char *const schedules[] = {"adaptive", "linear", "geometric", NULL}; /* gv_smc_schedule order */
    static const char *const orders[] = {"weight-first", "move-first", NULL};
    static const char *const kernels[] = {"gibbs", "metropolis", NULL};
    static const char *const resamplings[] = {"systematic", "multinomial", NULL};
    long T, moves, flips;
    int schedule, order, kernel, resampling;
    if (gv_opt_choice(s, "schedule", schedules, (int)o->schedule, &schedule, err) ||
        gv_opt_long(s, "T", o->T, 1, 10000000, &T, err) ||
        gv_opt_double(s, "tau1", o->tau1, 1e-300, 1 - 1e-12, &o->tau1, err) ||
        gv_opt_double(s, "cess", o->cess_target, 0.01, 0.99, &o->cess_target, err) ||
        gv_opt_double(s, "ess", o->ess_threshold, 0, 2, &o->ess_threshold, err) ||
        gv_opt_long(s, "moves", o->moves, 0, 100000, &moves, err) ||
        gv_opt_long(s, "flips", o->n_flips, 0, 10000000, &flips, err) ||
        gv_opt_choice(s, "order", orders, (int)o->order, &order, err) ||
        gv_opt_choice(s, "kernel", kernels, (int)o->kernel, &kernel, err) ||
        gv_opt_choice(s, "resampling", resamplings, (int)o->resampling, &resampling, err))
        return GV_EUSAGE;
    if (gv_spec_get(s, "flips") && kernel != GV_SMC_METROPOLIS)
        return gv_err(err, "option flips=%s of '%s' needs kernel=metropolis (a Gibbs sweep updates every site)",
                      gv_spec_get(s, "flips"), s->name), GV_EUSAGE;
    o->schedule = (gv_smc_schedule)schedule, o->T = (int)T, o->moves = (int)moves, o->n_flips = (int)flips;
    o->order = (gv_smc_order)order, o->kernel = (gv_smc_kernel)kernel, o->resampling = (gv_smc_resampling)resampling;
    return GV_OK;
}

int gv_smc_result_alloc(gv_smc_result *res, int K, const gv_smc_target *t)
{
    memset(res, 0, sizeof *res);
    const int D = t->D, A = t->aux_dim;
    if (K < 1 || D < 1 || A < 0 || t->ncat < 0 || t->ncat == 1 || t->ncat > GV_SMC_MAXCAT) return -1;
    res->K = K, res->D = D, res->aux_dim = A, res->cap = 64;
    res->z = malloc((size_t)K * D * sizeof *res->z);
    res->z2 = malloc((size_t)K * D * sizeof *res->z2);
    res->ll = malloc((size_t)K * sizeof *res->ll);
    res->ll2 = malloc((size_t)K * sizeof *res->ll2);
    res->logw = malloc((size_t)K * sizeof *res->logw);
    res->tmp = malloc((size_t)(2 * K + 1) * sizeof *res->tmp);
    res->idx = malloc((size_t)K * sizeof *res->idx);
    res->tau = malloc((size_t)res->cap * sizeof *res->tau);
    res->cess = malloc((size_t)res->cap * sizeof *res->cess);
    res->ess = malloc((size_t)res->cap * sizeof *res->ess);
    int bad = !res->z || !res->z2 || !res->ll || !res->ll2 || !res->logw || !res->tmp || !res->idx || !res->tau ||
              !res->cess || !res->ess;
    if (A > 0) {
        res->aux = malloc((size_t)K * A * sizeof *res->aux);
        res->aux2 = malloc((size_t)K * A * sizeof *res->aux2);
        bad |= !res->aux || !res->aux2;
    }
    if (bad) {
        gv_smc_result_free(res);
        return -1;
    }
    return 0;
}

void gv_smc_result_free(gv_smc_result *res)
{
    free(res->z), free(res->z2), free(res->ll), free(res->ll2), free(res->logw), free(res->tmp);
    free(res->idx), free(res->tau), free(res->cess), free(res->ess), free(res->aux), free(res->aux2);
    memset(res, 0, sizeof *res);
}


/* tau * (a - b) with the conventions above (no inf - inf, no 0 * inf). */
static inline double tdiff(double tau, double a, double b)
{
    if (a == b || tau == 0) return 0;
    return tau * (a - b);
}
static inline double tmul(double delta, double ll) { return delta == 0 ? 0 : delta * ll; }


/* log p(x | z with z_d = v), v != z_d (one evaluation): the target's fast path (flip for a binary
 * target that has one, else set), or the site changed and log_lik recomputed. */
static double ll_at(const gv_smc_target *t, int *z, int d, int v, double ll, const double *aux)
{
    if (t->log_lik_flip && t->ncat <= 2) return t->log_lik_flip(t->ctx, z, d, ll, aux);
    if (t->log_lik_set) return t->log_lik_set(t->ctx, z, d, v, ll, aux);
    const int u = z[d];
    z[d] = v;
    const double l = t->log_lik(t->ctx, z);
    z[d] = u;
    return l;
}

/* log pi_tau(z with z_d = v) - log pi_tau(z), given lv = log p(x | z with z_d = v). */
static double set_logratio(const gv_smc_target *t, double tau, int *z, int d, int v, double ll, double lv)
{
    const int u = z[d];
    const double lp0 = t->log_prior(t->ctx, z);
    z[d] = v;
    const double lp1 = t->log_prior(t->ctx, z);
    z[d] = u;
    return (lp1 == lp0 ? 0 : lp1 - lp0) + tdiff(tau, lv, ll);
}

/* log p(x | z^d) (one evaluation), and log pi_tau(z^d) - log pi_tau(z) (binary). */
static double flip_logratio(const gv_smc_target *t, double tau, int *z, int d, double ll, const double *aux,
                            double *ll_flip)
{
    *ll_flip = ll_at(t, z, d, !z[d], ll, aux);
    return set_logratio(t, tau, z, d, !z[d], ll, *ll_flip);
}

double gv_smc_gibbs_p1(const gv_smc_target *t, double tau, int *z, int d, double ll, const double *aux,
                       double *ll_flip)
{
    const double lr = flip_logratio(t, tau, z, d, ll, aux, ll_flip);
    return z[d] ? gv_sigmoid(-lr) : gv_sigmoid(lr); /* P(z_d = 1) = pi(z_d=1) / (pi(z_d=0) + pi(z_d=1)) */
}

double gv_smc_mh_accept(const gv_smc_target *t, double tau, int *z, int d, double ll, const double *aux,
                        double *ll_flip)
{
    const double lr = flip_logratio(t, tau, z, d, ll, aux, ll_flip);
    return lr >= 0 ? 1 : exp(lr);
}

void gv_smc_gibbs_probs(const gv_smc_target *t, double tau, int *z, int d, double ll, const double *aux,
                        double *prob, double *ll_set)
{
    const int C = gv_smc_ncat(t), u = z[d];
    double lmax = -INFINITY;
    for (int v = 0; v < C; v++) {
        ll_set[v] = v == u ? ll : ll_at(t, z, d, v, ll, aux);
        if (ll_set[v] > lmax) lmax = ll_set[v];
    }
    /* log pi_tau(z_d = v | z_-d) + const = log p(z with v) + tau (ll_v - lmax): the shift keeps
     * log-likelihoods near -1e5 exact; all of them -inf: the prior's conditional (as tdiff does) */
    double pmax = -INFINITY;
    for (int v = 0; v < C; v++) {
        z[d] = v;
        prob[v] = t->log_prior(t->ctx, z) + (isfinite(lmax) ? tmul(tau, ll_set[v] - lmax) : 0);
        if (prob[v] > pmax) pmax = prob[v];
    }
    z[d] = u;
    if (!(pmax > -INFINITY)) { /* no value possible (cannot happen from a state of positive prior): stay */
        for (int v = 0; v < C; v++) prob[v] = v == u;
        return;
    }
    double s = 0;
    for (int v = 0; v < C; v++) s += prob[v] = exp(prob[v] - pmax);
    for (int v = 0; v < C; v++) prob[v] /= s;
}

double gv_smc_mh_accept_set(const gv_smc_target *t, double tau, int *z, int d, int v, double ll, const double *aux,
                            double *ll_set)
{
    *ll_set = ll_at(t, z, d, v, ll, aux);
    const double lr = set_logratio(t, tau, z, d, v, ll, *ll_set);
    return lr >= 0 ? 1 : exp(lr);
}

/* Set site d of the particle to v: its cache first (the update sees z before the change). */
static inline void set_site(const gv_smc_target *t, int *z, int d, int v, double *ll, double lv, double *aux)
{
    if (t->aux_dim > 0) {
        if (t->aux_update && t->ncat <= 2) t->aux_update(t->ctx, z, d, aux);
        else t->aux_set(t->ctx, z, d, v, aux);
    }
    z[d] = v, *ll = lv;
}

static inline int uniform_index(gsl_rng *r, int n)
{
    const int i = (int)(gv_uniform(r) * n);
    return i < n ? i : n - 1;
}

long gv_smc_move(const gv_smc_target *t, const gv_smc_options *o, double tau, gsl_rng *r, int *z, double *ll,
                 double *aux)
{
    const int D = t->D, C = gv_smc_ncat(t);
    long n = 0;
    if (C == 2) { /* binary: one evaluation per site (Gibbs) or proposal (Metropolis) */
        if (o->kernel == GV_SMC_GIBBS) {
            for (int d = 0; d < D; d++) {
                double llf;
                const double p1 = gv_smc_gibbs_p1(t, tau, z, d, *ll, aux, &llf);
                n++;
                const int v = gv_uniform(r) < p1;
                if (v != z[d]) set_site(t, z, d, v, ll, llf, aux);
            }
        } else {
            const int nf = o->n_flips > 0 ? o->n_flips : D;
            for (int i = 0; i < nf; i++) {
                const int d = uniform_index(r, D);
                double llf;
                const double acc = gv_smc_mh_accept(t, tau, z, d, *ll, aux, &llf);
                n++;
                if (gv_uniform(r) < acc) set_site(t, z, d, !z[d], ll, llf, aux);
            }
        }
        return n;
    }
    if (o->kernel == GV_SMC_GIBBS) {
        double prob[GV_SMC_MAXCAT], lv[GV_SMC_MAXCAT];
        for (int d = 0; d < D; d++) {
            gv_smc_gibbs_probs(t, tau, z, d, *ll, aux, prob, lv);
            n += C - 1;
            const double u = gv_uniform(r);
            double c = prob[0];
            int v = 0;
            while (v < C - 1 && u >= c) c += prob[++v]; /* inverse CDF; the last value takes the rest */
            if (v != z[d]) set_site(t, z, d, v, ll, lv[v], aux);
        }
    } else {
        const int nf = o->n_flips > 0 ? o->n_flips : D;
        for (int i = 0; i < nf; i++) {
            const int d = uniform_index(r, D);
            int v = uniform_index(r, C - 1);
            if (v >= z[d]) v++; /* uniform over the C - 1 values other than z_d */
            double lv;
            const double acc = gv_smc_mh_accept_set(t, tau, z, d, v, *ll, aux, &lv);
            n++;
            if (gv_uniform(r) < acc) set_site(t, z, d, v, ll, lv, aux);
        }
    }
    return n;
}

static void move_all(const gv_smc_target *t, const gv_smc_options *o, double tau, gsl_rng *r, gv_smc_result *res)
{
    const int K = res->K, D = res->D, A = res->aux_dim;
    for (int k = 0; k < K; k++)
        for (int m = 0; m < o->moves; m++)
            res->n_loglik += gv_smc_move(t, o, tau, r, res->z + (size_t)k * D, res->ll + k,
                                         A ? res->aux + (size_t)k * A : NULL);
}

/* Conditional ESS / K of the increment delta: (sum W w)^2 / sum W w^2, w = exp(delta ll). */
static double cess_frac(const gv_smc_result *res, double delta, double *a)
{
    const int K = res->K;
    double lmax = -INFINITY; /* invariant to a shift of ll: shift by the largest, so 2 l1 - l2 does not cancel */
    for (int k = 0; k < K; k++)
        if (res->ll[k] > lmax) lmax = res->ll[k];
    if (!isfinite(lmax)) return 1; /* every weight 0 whatever delta: nothing to adapt to */
    for (int k = 0; k < K; k++) a[k] = res->logw[k] + tmul(delta, res->ll[k] - lmax);
    const double l1 = gv_logsumexp(a, K);
    for (int k = 0; k < K; k++) a[k] = res->logw[k] + tmul(2 * delta, res->ll[k] - lmax);
    const double l2 = gv_logsumexp(a, K);
    if (!isfinite(l1) || !isfinite(l2)) return 0;
    return exp(2 * l1 - l2);
}

/* Adaptive increment: the largest-found delta in (0, 1 - tau] with cESS(delta) / K ~ target. */
static double adaptive_delta(const gv_smc_result *res, double tau, double target, double *a)
{
    const double room = 1 - tau;
    if (cess_frac(res, room, a) >= target) return room;
    double lo = 0, hi = room;
    for (int it = 0; it < 200; it++) {
        const double mid = 0.5 * (lo + hi);
        if (mid <= lo || mid >= hi) break;
        const double f = cess_frac(res, mid, a) - target;
        if (fabs(f) < 1e-12) return mid;
        if (f > 0) lo = mid;
        else hi = mid;
    }
    return lo > 0 ? lo : hi;
}

static double fixed_tau(const gv_smc_options *o, int t)
{
    if (t >= o->T) return 1.0;
    if (o->schedule == GV_SMC_LINEAR) return (double)t / o->T;
    return exp(log(o->tau1) * (double)(o->T - t) / (o->T - 1)); /* t = 1: tau1 */
}

void gv_smc_draw(const double *logw, int K, int n, gv_smc_resampling how, gsl_rng *r, double *c, double *e, int *idx)
{
    double s = 0;
    for (int k = 0; k < K; k++) s += exp(logw[k]), c[k] = s; /* cumulative weights */
    int j = 0;
    if (how == GV_SMC_SYSTEMATIC) {
        const double u0 = gv_uniform(r);
        for (int i = 0; i < n; i++) {
            const double u = (i + u0) / n * s;
            while (j < K - 1 && c[j] <= u) j++;
            idx[i] = j;
        }
    } else { /* n sorted uniforms: cumulative sums of n + 1 exponentials, E_1 + .. + E_i over the total */
        double tot = 0;
        for (int i = 0; i <= n; i++) e[i] = -log1p(-gv_uniform(r)), tot += e[i];
        double cu = 0;
        for (int i = 0; i < n; i++) {
            cu += e[i];
            const double u = cu / tot * s;
            while (j < K - 1 && c[j] <= u) j++;
            idx[i] = j;
        }
    }
}

static void resample(const gv_smc_options *o, gsl_rng *r, gv_smc_result *res)
{
    const int K = res->K, D = res->D;
    gv_smc_draw(res->logw, K, K, o->resampling, r, res->tmp, res->tmp + K, res->idx);
    for (int i = 0; i < K; i++) {
        const int k = res->idx[i];
        memcpy(res->z2 + (size_t)i * D, res->z + (size_t)k * D, (size_t)D * sizeof *res->z);
        res->ll2[i] = res->ll[k];
        if (res->aux_dim)
            memcpy(res->aux2 + (size_t)i * res->aux_dim, res->aux + (size_t)k * res->aux_dim,
                   (size_t)res->aux_dim * sizeof *res->aux);
    }
    double *at = res->aux;
    res->aux = res->aux2, res->aux2 = at;
    int *zt = res->z;
    res->z = res->z2, res->z2 = zt;
    double *lt = res->ll;
    res->ll = res->ll2, res->ll2 = lt;
    const double lk = -log((double)K);
    for (int k = 0; k < K; k++) res->logw[k] = lk;
}

static int grow(gv_smc_result *res, int need)
{
    if (need <= res->cap) return 0;
    int cap = res->cap;
    while (cap < need) cap *= 2;
    double *a = realloc(res->tau, (size_t)cap * sizeof *a);
    if (!a) return -1;
    res->tau = a;
    a = realloc(res->cess, (size_t)cap * sizeof *a);
    if (!a) return -1;
    res->cess = a;
    a = realloc(res->ess, (size_t)cap * sizeof *a);
    if (!a) return -1;
    res->ess = a;
    res->cap = cap;
    return 0;
}

int gv_smc_run(const gv_smc_target *t, const gv_smc_options *o, gsl_rng *r, gv_smc_result *res, char *err)
{
    const int K = o->K, D = t->D;
    if (!t->log_prior || !t->sample_prior || !t->log_lik)
        return snprintf(err, GV_ERRLEN, "smc: target needs log_prior, sample_prior and log_lik"), -1;
    if (t->ncat < 0 || t->ncat == 1 || t->ncat > GV_SMC_MAXCAT)
        return snprintf(err, GV_ERRLEN, "smc: ncat=%d; valid: 0 or 2 (binary sites), 3..%d (categorical)", t->ncat,
                        GV_SMC_MAXCAT), -1;
    const int C = gv_smc_ncat(t);
    if (C > 2 && (t->log_lik_flip || t->aux_update))
        return snprintf(err, GV_ERRLEN, "smc: log_lik_flip / aux_update are bit flips; a categorical target (ncat=%d) "
                        "gives log_lik_set / aux_set", C), -1;
    if (t->aux_dim > 0 && (!t->aux_init || (C > 2 ? !t->aux_set || !t->log_lik_set
                                                   : !(t->aux_update && t->log_lik_flip) && !(t->aux_set && t->log_lik_set))))
        return snprintf(err, GV_ERRLEN, "smc: a target with a cache needs aux_init and aux_update with log_lik_flip "
                        "(binary) or aux_set with log_lik_set"), -1;
    if (K != res->K || D != res->D || t->aux_dim != res->aux_dim)
        return snprintf(err, GV_ERRLEN, "smc: result allocated for K=%d, D=%d, aux_dim=%d, run has %d, %d, %d", res->K,
                        res->D, res->aux_dim, K, D, t->aux_dim), -1;
    if (o->schedule != GV_SMC_ADAPTIVE && o->T < 1) return snprintf(err, GV_ERRLEN, "smc: T must be >= 1"), -1;
    if (o->schedule == GV_SMC_GEOMETRIC && !(o->tau1 > 0 && o->tau1 < 1))
        return snprintf(err, GV_ERRLEN, "smc: tau1 must be in (0, 1)"), -1;
    if (o->schedule == GV_SMC_ADAPTIVE && !(o->cess_target > 0 && o->cess_target < 1))
        return snprintf(err, GV_ERRLEN, "smc: cess_target must be in (0, 1)"), -1;
    if (o->moves < 0) return snprintf(err, GV_ERRLEN, "smc: moves must be >= 0"), -1;
    res->n_steps = 0, res->n_loglik = 0, res->n_resample = 0, res->collapsed = 0, res->log_z = 0, res->tau[0] = 0;
    const double lk = -log((double)K);
    for (int k = 0; k < K; k++) {
        int *z = res->z + (size_t)k * D;
        t->sample_prior(t->ctx, r, z);
        for (int d = 0; d < D; d++)
            if (z[d] < 0 || z[d] >= C)
                return snprintf(err, GV_ERRLEN, "smc: sample_prior gave z[%d] = %d, outside 0..%d", d, z[d], C - 1), -1;
        res->ll[k] = t->log_lik(t->ctx, z);
        if (t->aux_dim) t->aux_init(t->ctx, z, res->aux + (size_t)k * t->aux_dim);
        res->logw[k] = lk;
    }
    res->n_loglik += K;
    double tau = 0;
    while (tau < 1) {
        const int step = res->n_steps + 1;
        if (o->schedule == GV_SMC_ADAPTIVE && step > o->max_steps)
            return snprintf(err, GV_ERRLEN, "smc: adaptive schedule at tau=%.17g after %d steps", tau, o->max_steps), -1;
        if (grow(res, step + 1)) return snprintf(err, GV_ERRLEN, "smc: out of memory"), -1;
        for (int k = 0; k < K; k++)
            if (isnan(res->ll[k]) || res->ll[k] == INFINITY)
                return snprintf(err, GV_ERRLEN, "smc: log-likelihood %g", res->ll[k]), -1;
        double tau_new;
        if (o->schedule == GV_SMC_ADAPTIVE) {
            const double delta = adaptive_delta(res, tau, o->cess_target, res->tmp);
            tau_new = delta >= 1 - tau ? 1.0 : tau + delta;
            if (!(tau_new > tau))
                return snprintf(err, GV_ERRLEN, "smc: adaptive increment underflows at tau=%.17g", tau), -1;
        } else {
            tau_new = fixed_tau(o, step);
        }
        const double delta = tau_new == 1.0 ? 1 - tau : tau_new - tau;
        if (o->order == GV_SMC_MOVE_FIRST) move_all(t, o, tau_new, r, res);
        res->cess[step - 1] = cess_frac(res, delta, res->tmp);
        double *a = res->tmp, lmax = -INFINITY; /* shift by the largest log-likelihood: exact normalisation */
        for (int k = 0; k < K; k++)
            if (res->ll[k] > lmax) lmax = res->ll[k];
        if (!isfinite(lmax)) lmax = 0;
        for (int k = 0; k < K; k++) a[k] = res->logw[k] + tmul(delta, res->ll[k] - lmax);
        const double lsh = gv_logsumexp(a, K), linc = lsh + tmul(delta, lmax);
        double ess = 1;
        if (linc == -INFINITY) { /* every particle impossible: Ẑ = 0 (a legitimate outcome); go on, uniform weights */
            res->log_z = -INFINITY, res->collapsed = 1;
            for (int k = 0; k < K; k++) res->logw[k] = lk;
        } else {
            res->log_z += linc;
            double s2 = 0;
            for (int k = 0; k < K; k++) {
                res->logw[k] = a[k] - lsh;
                s2 += exp(2 * res->logw[k]);
            }
            ess = 1 / s2 / K;
        }
        res->ess[step - 1] = ess;
        tau = tau_new;
        res->tau[step] = tau;
        res->n_steps = step;
        if (ess < o->ess_threshold) resample(o, r, res), res->n_resample++;
        if (o->order == GV_SMC_WEIGHT_FIRST) move_all(t, o, tau, r, res);
    }
    return 0;
}

/* ------------------------------------------------------------------ the sbn adapter */

static double sbn_log_prior(void *v, const int *z)
{
    const gv_smc_sbn *a = v;
    double s = -a->spb;
    for (int d = 0; d < a->D; d++)
        if (z[d]) s += a->b[d];
    return s;
}

static void sbn_sample_prior(void *v, gsl_rng *r, int *z)
{
    const gv_smc_sbn *a = v;
    for (int d = 0; d < a->D; d++) z[d] = gv_uniform(r) < gv_sigmoid(a->b[d]);
}

#define SMC_SBN_MAXP 4096
/* the cache: activations W z + c */
static void sbn_aux_init(void *v, const int *z, double *act)
{
    const gv_smc_sbn *a = v;
    memcpy(act, a->c, (size_t)a->P * sizeof *act);
    for (int d = 0; d < a->D; d++)
        if (z[d])
            for (int j = 0; j < a->P; j++) act[j] += a->W[(size_t)d * a->P + j];
}

static double sbn_log_lik(void *v, const int *z)
{
    const gv_smc_sbn *a = v;
    double act[SMC_SBN_MAXP];
    sbn_aux_init(v, z, act);
    return gv_sbn_loglik_fast(act, a->x, a->P);
}

static void sbn_aux_update(void *v, const int *z, int d, double *act)
{
    const gv_smc_sbn *a = v;
    const double *w = a->W + (size_t)d * a->P, sg = z[d] ? -1 : 1;
    for (int j = 0; j < a->P; j++) act[j] += sg * w[j];
}

static double sbn_log_lik_flip(void *v, const int *z, int d, double ll, const double *act)
{
    const gv_smc_sbn *a = v;
    double f[SMC_SBN_MAXP];
    const double *w = a->W + (size_t)d * a->P, sg = z[d] ? -1 : 1;
    for (int j = 0; j < a->P; j++) f[j] = act[j] + sg * w[j];
    return gv_sbn_loglik_fast(f, a->x, a->P);
}

int gv_smc_sbn_target(const struct gv_problem *p, int n, int fast, gv_smc_sbn *a, gv_smc_target *t)
{
    gv_sbn_model m;
    int D2;
    const double *b2, *V;
    if (gv_sbn_get_model(p, &m) || gv_sbn2_get_layer2(p, &D2, &b2, &V) || D2 > 0) return -1;
    if (n < 0 || n >= m.N || m.P > SMC_SBN_MAXP) return -1;
    *a = (gv_smc_sbn){.D = m.D, .P = m.P, .b = m.b, .W = m.W, .c = m.c, .x = m.x + (size_t)n * m.P};
    for (int d = 0; d < m.D; d++) a->spb -= gv_log_sigmoid(-m.b[d]); /* softplus(b_d) */
    *t = (gv_smc_target){.D = m.D, .ctx = a, .log_prior = sbn_log_prior, .sample_prior = sbn_sample_prior,
                         .log_lik = sbn_log_lik};
    if (fast) t->log_lik_flip = sbn_log_lik_flip, t->aux_dim = m.P, t->aux_init = sbn_aux_init, t->aux_update = sbn_aux_update;
    return 0;
}
