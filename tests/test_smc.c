/* test_smc.c — likelihood-tempered SMC (harness/smc.c).
 *   invariance   the sbn adapter's log p(z) + log p(x|z) is gv_sbn_log_joint; D = 4 sbn point,
 *                tau in {0, 0.37, 1}: the exact 2^D x 2^D transition matrices of one systematic Gibbs
 *                sweep and of one Metropolis proposal (and of each single-site flip kernel), built
 *                from gv_smc_gibbs_p1 / gv_smc_mh_accept (the functions the kernels use), are
 *                stochastic and leave pi_tau ∝ p(z) p(x|z)^tau invariant to 1e-12; the
 *                flipped log-likelihoods they return are the recomputed ones (and the fast path of a
 *                target with log_lik_flip agrees with the fallback; the sbn adapter with and without its
 *                activation cache); gv_smc_move, the kernel as the
 *                sampler runs it, draws from those rows (per-cell z-test, 20000 draws per start state) and
 *                keeps the particle's log-likelihood and cache current
 *   unbiased     fixed schedules (linear, geometric), K = 8: z-test of mean(Ẑ)/p(x) - 1 over many
 *                runs, p(x) from gv_sbn_enumerate, for multinomial / systematic resampling and Gibbs /
 *                Metropolis kernels, resampling when ESS < K/2 or at every step (|z| < 4.5); the
 *                move-first ablation is biased (asserted z > 8 at T = 2 with Gibbs; T = 4 reported)
 *   marginals    posterior marginals: the Ẑ-weighted particle means over runs (consistent for fixed K)
 *                and the plain mean of the self-normalised estimates at K = 256 (adaptive) against
 *                gv_sbn_enumerate's post (|z| < 4.5)
 *   extreme      a target with log p(x|z) = -1e5 + sum a_d z_d (a_d down to -2e5): no NaN/inf in
 *                the weights, normalised log-weights below -1e4 appear and sum to 1, log Ẑ finite and
 *                unbiased against the closed form; and with log p(x|z) = -inf on half the states
 *   adaptive     tau[0] = 0, strictly increasing, tau[n] == 1.0 exactly, every step's conditional ESS
 *                = K/2 to 1e-9 except the last (>= K/2), the evaluation count, the particles' caches; a flat likelihood
 *                takes one step; the fixed schedules' tau values; bad options are refused
 *   determinism  the same seed gives the same bits; samplers run in parallel (OpenMP, one rng each)
 *                give the same bits as serially
 * Categorical sites (ncat = C > 2), on a 3-site x 3-value target with a non-factorised prior (a table
 * over the 27 states) and a non-separable likelihood (site terms + pair interactions):
 *   cat_invariance  the exact 27 x 27 matrices of each site's Gibbs update, of one systematic sweep and
 *                of one Metropolis proposal (uniform site, uniform other value), built from
 *                gv_smc_gibbs_probs / gv_smc_mh_accept_set, are stochastic and leave pi_tau invariant
 *                (tau in {0, 0.37, 1}, 1e-12), with the log_lik_set / aux_set fast path and without;
 *                the log-likelihoods they return are the recomputed ones; gv_smc_move draws from those
 *                rows (per-cell z-test, |z| < 5), counts C - 1 evaluations per Gibbs site and keeps the
 *                particle's log-likelihood and cache current
 *   cat_unbiased linear schedule, K = 8: z-test of mean(Ẑ)/Z - 1 over R runs (Gibbs / Metropolis,
 *                systematic / multinomial; |z| < 4.5) and the Ẑ-weighted posterior marginals of every
 *                (site, value) (|z| < 4.5), the evaluation count K + T K D (C - 1) of Gibbs; bad
 *                categorical targets are refused with a message */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <omp.h>

#include "harness/rng.h"
#include "harness/smc.h"
#include "problems/sbn.h"
#define GV_TESTKIT_NO_FIXTURE
#include "testkit.h"

/* An sbn problem with its point-n target and exact reference. */
typedef struct {
    gv_problem *p;
    gv_smc_sbn a;
    gv_smc_target t;
    gv_sbn_result ex;
} sbn_fx;

static int sbn_open(sbn_fx *f, const char *spec, int n, int fast)
{
    char err[GV_ERRLEN];
    memset(f, 0, sizeof *f);
    if (gv_problem_new(spec, &f->p, err)) return print_error("%s: %s\n", spec, err), -1;
    if (gv_smc_sbn_target(f->p, n, fast, &f->a, &f->t)) return -1;
    double eta[GV_SBN_MAXD] = {0};
    return gv_sbn_enumerate(f->p, n, eta, GV_SBN_GRAY, &f->ex);
}

static void bits(int s, int D, int *z)
{
    for (int d = 0; d < D; d++) z[d] = (s >> d) & 1;
}

/* The linear target: log p(z) = factorised Bernoulli(sigma(lg)), log p(x|z) = L0 + sum a_d z_d. */
typedef struct {
    int D;
    double lg[8], a[8], L0;
} lin_t;

static double lin_prior(void *v, const int *z)
{
    const lin_t *m = v;
    double s = 0;
    for (int d = 0; d < m->D; d++) s += z[d] ? -log1p(exp(-m->lg[d])) : -log1p(exp(m->lg[d]));
    return s;
}
static void lin_sample(void *v, gsl_rng *r, int *z)
{
    const lin_t *m = v;
    for (int d = 0; d < m->D; d++) z[d] = gv_uniform(r) < 1 / (1 + exp(-m->lg[d]));
}
static double lin_ll(void *v, const int *z)
{
    const lin_t *m = v;
    double s = m->L0;
    for (int d = 0; d < m->D; d++)
        if (z[d]) s += m->a[d]; /* (not z_d a_d: a_d may be -inf) */
    return s;
}
static double lin_flip(void *v, const int *z, int d, double ll, const double *aux)
{
    const lin_t *m = v;
    return z[d] ? ll - m->a[d] : ll + m->a[d];
}
/* Exact log p(x) and p(z_d = 1 | x). */
static double lin_exact(const lin_t *m, double *post)
{
    double lz = m->L0;
    for (int d = 0; d < m->D; d++) {
        const double l1 = -log1p(exp(-m->lg[d])) + m->a[d], l0 = -log1p(exp(m->lg[d]));
        const double mx = fmax(l0, l1), l = mx + log(exp(l0 - mx) + exp(l1 - mx));
        lz += l;
        if (post) post[d] = exp(l1 - l);
    }
    return lz;
}

/* ------------------------------------------------------------------ invariance */

/* max |pi T - pi| and max |row sum - 1| of an S x S matrix */
static void stationarity(const double *pi, const double *T, int S, double *e_inv, double *e_row)
{
    *e_inv = 0, *e_row = 0;
    for (int j = 0; j < S; j++) {
        double s = 0;
        for (int i = 0; i < S; i++) s += pi[i] * T[i * S + j];
        *e_inv = fmax(*e_inv, fabs(s - pi[j]));
    }
    for (int i = 0; i < S; i++) {
        double s = 0;
        for (int j = 0; j < S; j++) s += T[i * S + j];
        *e_row = fmax(*e_row, fabs(s - 1));
    }
}

/* One site d of a sweep: pi-invariance (and stochastic rows) of the site's Gibbs matrix Td and Metropolis
 * matrix Md, then T <- T Td (the sweep, site 0 first) and M += Md / D (a Metropolis step: uniform site).
 * S states; tmp holds S x S.  Returns the worst error seen. */
static double site_step(const char *what, double tau, int d, int D, const double *pi, int S, const double *Td,
                        const double *Md, double *T, double *M, double *tmp)
{
    double e_inv, e_row, worst;
    stationarity(pi, Td, S, &e_inv, &e_row);
    worst = fmax(e_inv, e_row);
    CHECK(e_inv < 1e-12 && e_row < 1e-12, "%s tau=%g: Gibbs site %d: |pi T - pi| = %.3g, rows %.3g", what, tau, d,
          e_inv, e_row);
    stationarity(pi, Md, S, &e_inv, &e_row);
    worst = fmax(worst, fmax(e_inv, e_row));
    CHECK(e_inv < 1e-12 && e_row < 1e-12, "%s tau=%g: Metropolis site %d: |pi M - pi| = %.3g, rows %.3g", what, tau,
          d, e_inv, e_row);
    for (int i = 0; i < S; i++)
        for (int j = 0; j < S; j++) {
            double a = 0;
            for (int k = 0; k < S; k++) a += T[i * S + k] * Td[k * S + j];
            tmp[i * S + j] = a;
        }
    memcpy(T, tmp, (size_t)S * S * sizeof *T);
    for (int i = 0; i < S * S; i++) M[i] += Md[i] / D;
    return worst;
}

/* The whole sweep T and the Metropolis step M: pi-invariant, stochastic rows. */
static double sweep_step(const char *what, double tau, const double *pi, int S, const double *T, const double *M)
{
    double e_inv, e_row, worst;
    stationarity(pi, T, S, &e_inv, &e_row);
    worst = fmax(e_inv, e_row);
    CHECK(e_inv < 1e-12 && e_row < 1e-12, "%s tau=%g: Gibbs sweep |pi T - pi| = %.3g, rows %.3g", what, tau, e_inv,
          e_row);
    stationarity(pi, M, S, &e_inv, &e_row);
    worst = fmax(worst, fmax(e_inv, e_row));
    CHECK(e_inv < 1e-12 && e_row < 1e-12, "%s tau=%g: Metropolis |pi M - pi| = %.3g, rows %.3g", what, tau, e_inv,
          e_row);
    return worst;
}

static double check_kernels(const gv_smc_target *t, double tau, const char *what, double *T_out, double *M_out)
{
    const int D = t->D, S = 1 << D;
    double ll[16], lpi[16] = {0}, pi[16], T[256], Td[256], M[256], Md[256], tmp[256];
    int z[8];
    const int A = t->aux_dim; /* each state's cache, if the target has one */
    double *aux = A ? malloc((size_t)S * A * sizeof *aux) : NULL;
    for (int s = 0; s < S; s++) {
        bits(s, D, z), ll[s] = t->log_lik(t->ctx, z), lpi[s] = t->log_prior(t->ctx, z) + tau * ll[s];
        if (A) t->aux_init(t->ctx, z, aux + s * A);
    }
    const double lz = gv_logsumexp(lpi, S);
    for (int s = 0; s < S; s++) pi[s] = exp(lpi[s] - lz);
    double worst = 0, fl = 0;
    /* Gibbs: T = T_0 T_1 ... T_{D-1} (site 0 first) */
    for (int i = 0; i < S * S; i++) T[i] = (i % (S + 1)) == 0;
    memset(M, 0, sizeof M);
    for (int d = 0; d < D; d++) {
        memset(Td, 0, sizeof Td), memset(Md, 0, sizeof Md);
        for (int s = 0; s < S; s++) {
            double llf;
            bits(s, D, z);
            const double p1 = gv_smc_gibbs_p1(t, tau, z, d, ll[s], A ? aux + s * A : NULL, &llf);
            fl = fmax(fl, fabs(llf - ll[s ^ (1 << d)]));
            Td[s * S + (s | (1 << d))] += p1;
            Td[s * S + (s & ~(1 << d))] += 1 - p1;
            const double acc = gv_smc_mh_accept(t, tau, z, d, ll[s], A ? aux + s * A : NULL, &llf);
            fl = fmax(fl, fabs(llf - ll[s ^ (1 << d)]));
            Md[s * S + (s ^ (1 << d))] += acc;
            Md[s * S + s] += 1 - acc;
            for (int k = 0; k < D; k++) CHECK(z[k] == ((s >> k) & 1), "%s: z not restored", what);
        }
        worst = fmax(worst, site_step(what, tau, d, D, pi, S, Td, Md, T, M, tmp));
    }
    worst = fmax(worst, sweep_step(what, tau, pi, S, T, M));
    /* the sweep moves something: it is not the identity (a kernel that never moves is invariant too) */
    double off = 0;
    for (int s = 0; s < S; s++) off += 1 - T[s * S + s];
    CHECK(off > 0.1, "%s: Gibbs sweep barely moves (%g)", what, off);
    CHECK(fl < 1e-9, "%s: flipped log-likelihood off by %.3g", what, fl);
    free(aux);
    if (T_out) memcpy(T_out, T, (size_t)S * S * sizeof *T);
    if (M_out) memcpy(M_out, M, (size_t)S * S * sizeof *M);
    return worst;
}

static void test_invariance(void **unused)
{
    n_bad = 0;
    sbn_fx f;
    assert_int_equal(sbn_open(&f, "sbn:D=4,P=6,N=2,scale=2,seed=3", 1, 1), 0);
    double worst = 0;
    const double taus[] = {0, 0.37, 1};
    double T[256], M[256], aj = 0;
    for (int s = 0; s < 16; s++) { /* the adapter is the problem's model */
        int z[4];
        bits(s, 4, z);
        aj = fmax(aj, fabs(f.t.log_prior(f.t.ctx, z) + f.t.log_lik(f.t.ctx, z) - gv_sbn_log_joint(f.p, 1, z)));
    }
    CHECK(aj < 1e-12, "sbn adapter: log p(z) + log p(x|z) differs from gv_sbn_log_joint by %.3g", aj);
    for (int i = 0; i < 3; i++) worst = fmax(worst, check_kernels(&f.t, taus[i], "sbn", T, M));
    {   /* the adapter without its cache (log_lik recomputed for every flip) */
        gv_smc_sbn a0;
        gv_smc_target t0;
        assert_int_equal(gv_smc_sbn_target(f.p, 1, 0, &a0, &t0), 0);
        CHECK(t0.aux_dim == 0 && !t0.log_lik_flip && f.t.aux_dim == 6, "fast = 0 / 1 targets");
        worst = fmax(worst, check_kernels(&t0, 0.37, "sbn, no cache", NULL, NULL));
    }
    /* the kernels as the sampler runs them (gv_smc_move) draw from these rows: T and M at tau = 1 */
    {
        const int D = f.t.D, S = 1 << D, N = 20000;
        gsl_rng *r = gv_rng_new(gv_rng_default(), 77);
        double zmax = 0;
        for (int k = 0; k < 2; k++) {
            gv_smc_options o;
            gv_smc_options_default(&o, 1);
            o.kernel = k ? GV_SMC_METROPOLIS : GV_SMC_GIBBS, o.n_flips = 1;
            const double *P = k ? M : T;
            for (int s0 = 0; s0 < S; s0++) {
                long cnt[16] = {0};
                int z[8];
                double aux[64], fresh[64];
                assert_true(f.t.aux_dim > 0 && f.t.aux_dim <= 64);
                for (int i = 0; i < N; i++) {
                    bits(s0, D, z);
                    double ll = f.t.log_lik(f.t.ctx, z);
                    f.t.aux_init(f.t.ctx, z, aux);
                    const long ne = gv_smc_move(&f.t, &o, 1.0, r, z, &ll, aux);
                    int s = 0;
                    for (int d = 0; d < D; d++) s |= z[d] << d;
                    CHECK(ne == (k ? 1 : D), "evaluations %ld", ne);
                    CHECK(fabs(ll - f.t.log_lik(f.t.ctx, z)) < 1e-12, "tracked log-likelihood is stale");
                    f.t.aux_init(f.t.ctx, z, fresh);
                    for (int j = 0; j < f.t.aux_dim; j++)
                        CHECK(fabs(aux[j] - fresh[j]) < 1e-12, "tracked cache is stale at %d: %g vs %g", j, aux[j], fresh[j]);
                    cnt[s]++;
                }
                for (int s = 0; s < S; s++) {
                    const double p = P[s0 * S + s];
                    if (p == 0) {
                        CHECK(cnt[s] == 0, "%s: %d -> %d has probability 0, drawn %ld times", k ? "mh" : "gibbs", s0, s,
                              cnt[s]);
                        continue;
                    }
                    const double zc = (cnt[s] - N * p) / sqrt(N * p * (1 - p) + 1e-300);
                    if (p < 1) zmax = fmax(zmax, fabs(zc));
                    CHECK(fabs(zc) < 5 || p == 1, "%s: %d -> %d: %ld draws, expected %.1f (z = %.2f)", k ? "mh" : "gibbs",
                          s0, s, cnt[s], N * p, zc);
                }
            }
        }
        print_message("  gv_smc_move draws from the enumerated rows: worst |z| = %.2f over 2 x %d x %d cells\n", zmax, S,
                      S);
        gsl_rng_free(r);
    }
    /* the fast path (log_lik_flip) of the linear target, and its fallback */
    lin_t m = {.D = 3, .lg = {0.3, -1, 2}, .a = {1.5, -2, 0.7}, .L0 = -3};
    gv_smc_target t = {.D = 3, .ctx = &m, .log_prior = lin_prior, .sample_prior = lin_sample, .log_lik = lin_ll,
                       .log_lik_flip = lin_flip};
    worst = fmax(worst, check_kernels(&t, 0.37, "linear, fast flip", NULL, NULL));
    t.log_lik_flip = NULL;
    worst = fmax(worst, check_kernels(&t, 0.37, "linear, fallback", NULL, NULL));
    print_message("  kernel invariance: worst |pi T - pi| or |row sum - 1| = %.3g\n", worst);
    gv_problem_free(f.p);
    END_CHECKS();
}

/* ------------------------------------------------------------------ unbiasedness */

/* R runs; mean and standard error of exp(log Ẑ - lz); marg (D, may be NULL): the Ẑ-weighted particle
 * means, zm their z against post (if given).  Returns the z of mean Ẑ/p(x) - 1. */
static double run_many(const gv_smc_target *t, const gv_smc_options *o, int R, uint64_t seed, double lz,
                       const double *post, double *zm_worst, double *mean_out, double *resample_frac)
{
    const int D = t->D;
    gv_smc_result res;
    assert_int_equal(gv_smc_result_alloc(&res, o->K, t), 0);
    gsl_rng *r = gv_rng_new(gv_rng_default(), seed);
    char err[GV_ERRLEN];
    double s = 0, s2 = 0, *ratio = malloc((size_t)R * sizeof *ratio), *m = malloc((size_t)R * D * sizeof *m);
    long nres = 0;
    for (int i = 0; i < R; i++) {
        if (gv_smc_run(t, o, r, &res, err)) fail_msg("%s", err);
        const double q = exp(res.log_z - lz);
        ratio[i] = q, s += q, s2 += q * q;
        nres += res.n_resample > 0;
        for (int d = 0; d < D; d++) {
            double md = 0;
            for (int k = 0; k < o->K; k++) md += exp(res.logw[k]) * res.z[(size_t)k * D + d];
            m[(size_t)i * D + d] = md;
        }
    }
    const double mean = s / R, var = (s2 - R * mean * mean) / (R - 1), zz = (mean - 1) / sqrt(var / R);
    if (mean_out) *mean_out = mean;
    if (resample_frac) *resample_frac = (double)nres / R;
    if (post && zm_worst) {
        *zm_worst = 0;
        for (int d = 0; d < D; d++) { /* ratio estimator sum q m / sum q, delta-method s.e. */
            double num = 0;
            for (int i = 0; i < R; i++) num += ratio[i] * m[(size_t)i * D + d];
            const double est = num / s;
            double e2 = 0;
            for (int i = 0; i < R; i++) e2 += pow(ratio[i] * (m[(size_t)i * D + d] - est), 2);
            const double se = sqrt(e2) / s, zd = (est - post[d]) / se;
            if (fabs(zd) > fabs(*zm_worst)) *zm_worst = zd;
        }
    }
    free(ratio), free(m);
    gsl_rng_free(r);
    gv_smc_result_free(&res);
    return zz;
}

static void test_unbiased(void **unused)
{
    n_bad = 0;
    sbn_fx f;
    assert_int_equal(sbn_open(&f, "sbn:D=4,P=12,N=2,scale=1.5,seed=5", 0, 1), 0);
    const int R = 6000;
    double worst = 0, wm = 0;
    /* thr: resample when ESS < thr K (0.5: the default, adaptive resampling; 2: at every step) */
    struct { gv_smc_schedule sch; int T; gv_smc_resampling rs; gv_smc_kernel k; double thr; int K; } cf[] = {
        {GV_SMC_LINEAR, 4, GV_SMC_MULTINOMIAL, GV_SMC_GIBBS, 0.5, 8},
        {GV_SMC_LINEAR, 4, GV_SMC_SYSTEMATIC, GV_SMC_GIBBS, 0.5, 8},
        {GV_SMC_LINEAR, 4, GV_SMC_MULTINOMIAL, GV_SMC_METROPOLIS, 0.5, 8},
        {GV_SMC_LINEAR, 4, GV_SMC_SYSTEMATIC, GV_SMC_METROPOLIS, 0.5, 8},
        {GV_SMC_GEOMETRIC, 5, GV_SMC_SYSTEMATIC, GV_SMC_GIBBS, 0.5, 8},
        {GV_SMC_GEOMETRIC, 5, GV_SMC_MULTINOMIAL, GV_SMC_METROPOLIS, 0.5, 8},
        {GV_SMC_LINEAR, 4, GV_SMC_MULTINOMIAL, GV_SMC_GIBBS, 2, 8},
        {GV_SMC_LINEAR, 4, GV_SMC_SYSTEMATIC, GV_SMC_METROPOLIS, 2, 8},
        /* K = 1: annealed importance sampling (no resampling possible), unbiased too */
        {GV_SMC_LINEAR, 4, GV_SMC_SYSTEMATIC, GV_SMC_GIBBS, 0.5, 1},
    };
    for (size_t c = 0; c < sizeof cf / sizeof *cf; c++) {
        gv_smc_options o;
        gv_smc_options_default(&o, cf[c].K);
        o.schedule = cf[c].sch, o.T = cf[c].T, o.tau1 = 0.05, o.resampling = cf[c].rs, o.kernel = cf[c].k;
        o.ess_threshold = cf[c].thr;
        double zm, mean, fr;
        const double z = run_many(&f.t, &o, R, 100 + c, f.ex.logpx, f.ex.post, &zm, &mean, &fr);
        print_message("  K=%d %s T=%d %s%s %s: E[Z^]/p(x) = %.4f, z = %+.2f (resampled in %.0f%% of runs); "
                      "Z^-weighted marginals worst z = %+.2f\n",
                      o.K, o.schedule == GV_SMC_LINEAR ? "linear" : "geometric", o.T,
                      o.resampling == GV_SMC_SYSTEMATIC ? "systematic" : "multinomial",
                      o.ess_threshold > 1 ? " (every step)" : "",
                      o.kernel == GV_SMC_GIBBS ? "gibbs" : "metropolis", mean, z, 100 * fr, zm);
        CHECK(fabs(z) < 4.5, "config %zu: E[Z^]/p(x) - 1 z = %.2f", c, z);
        CHECK(fabs(zm) < 4.5, "config %zu: Z^-weighted posterior marginal z = %.2f", c, zm);
        CHECK(fr > 0.15 || cf[c].K == 1, "config %zu: resampling too rare (%g) for the test to exercise it", c, fr);
        worst = fmax(worst, fabs(z)), wm = fmax(wm, fabs(zm));
    }
    /* move-first: measurably biased (one step, a strong kernel moving toward pi_1 before weighting) */
    double zb = 0, mb = 0;
    {
        gv_smc_options o;
        gv_smc_options_default(&o, 8);
        o.schedule = GV_SMC_LINEAR, o.T = 2, o.order = GV_SMC_MOVE_FIRST;
        zb = run_many(&f.t, &o, 2000, 7, f.ex.logpx, NULL, NULL, &mb, NULL);
        print_message("  move-first linear T=2 gibbs: E[Z^]/p(x) = %.4f, z = %+.1f (biased, as expected)\n", mb, zb);
        CHECK(zb > 8, "move-first bias not detected: z = %.2f", zb);
        /* the configurations of the unbiased table, for the record (reported, not asserted) */
        for (int k = 0; k < 2; k++) {
            o.T = 4, o.kernel = k ? GV_SMC_METROPOLIS : GV_SMC_GIBBS;
            const double zk = run_many(&f.t, &o, 2000, 8 + k, f.ex.logpx, NULL, NULL, &mb, NULL);
            print_message("  move-first linear T=4 %s: E[Z^]/p(x) = %.4f, z = %+.1f\n", k ? "metropolis" : "gibbs", mb,
                          zk);
        }
    }
    print_message("  unbiased: worst |z| = %.2f (Ẑ), %.2f (marginals) over %zu configs x %d runs\n", worst, wm,
                  sizeof cf / sizeof *cf, R);
    gv_problem_free(f.p);
    END_CHECKS();
}

/* ------------------------------------------------------------------ marginals (self-normalised, adaptive) */

static void test_marginals(void **unused)
{
    n_bad = 0;
    sbn_fx f;
    assert_int_equal(sbn_open(&f, "sbn:D=4,P=8,N=2,scale=1.5,seed=5", 1, 1), 0);
    const int R = 300, K = 256, D = f.t.D;
    gv_smc_options o;
    gv_smc_options_default(&o, K);
    gv_smc_result res;
    assert_int_equal(gv_smc_result_alloc(&res, K, &f.t), 0);
    gsl_rng *r = gv_rng_new(gv_rng_default(), 21);
    char err[GV_ERRLEN];
    double s[GV_SBN_MAXD] = {0}, s2[GV_SBN_MAXD] = {0}, worst = 0;
    long steps = 0, evals = 0;
    for (int i = 0; i < R; i++) {
        if (gv_smc_run(&f.t, &o, r, &res, err)) fail_msg("%s", err);
        steps += res.n_steps, evals += res.n_loglik;
        for (int d = 0; d < D; d++) {
            double md = 0;
            for (int k = 0; k < K; k++) md += exp(res.logw[k]) * res.z[(size_t)k * D + d];
            s[d] += md, s2[d] += md * md;
        }
    }
    for (int d = 0; d < D; d++) {
        const double mean = s[d] / R, se = sqrt((s2[d] - R * mean * mean) / (R - 1) / R), z = (mean - f.ex.post[d]) / se;
        CHECK(fabs(z) < 4.5, "d=%d: marginal %.5f +- %.5f, exact %.5f (z = %.2f)", d, mean, se, f.ex.post[d], z);
        if (fabs(z) > fabs(worst)) worst = z;
    }
    print_message("  adaptive K=%d: self-normalised marginals worst z = %+.2f; %.1f steps, %.0f evaluations per run\n",
                  K, worst, (double)steps / R, (double)evals / R);
    gsl_rng_free(r);
    gv_smc_result_free(&res);
    gv_problem_free(f.p);
    END_CHECKS();
}

/* ------------------------------------------------------------------ extreme log-weights */

static void test_extreme(void **unused)
{
    n_bad = 0;
    lin_t m = {.D = 4, .lg = {0.3, -1, 2, 0}, .a = {-2e5, 3, -1, -5e4}, .L0 = -1e5};
    gv_smc_target t = {.D = 4, .ctx = &m, .log_prior = lin_prior, .sample_prior = lin_sample, .log_lik = lin_ll,
                       .log_lik_flip = lin_flip};
    double post[8];
    const double lz = lin_exact(&m, post);
    char err[GV_ERRLEN];
    /* one step, no resampling: the final log-weights are the normalised log-likelihoods */
    gv_smc_options o;
    gv_smc_options_default(&o, 200);
    o.schedule = GV_SMC_LINEAR, o.T = 1, o.ess_threshold = 0, o.moves = 0;
    gv_smc_result res;
    assert_int_equal(gv_smc_result_alloc(&res, 200, &t), 0);
    gsl_rng *r = gv_rng_new(gv_rng_default(), 5);
    assert_int_equal(gv_smc_run(&t, &o, r, &res, err), 0);
    double mn = 0;
    int bad = 0;
    for (int k = 0; k < 200; k++)
        bad += !isfinite(res.logw[k]) && !(res.logw[k] == -INFINITY), mn = fmin(mn, res.logw[k]);
    CHECK(bad == 0, "%d NaN/inf log-weights", bad);
    CHECK(mn < -1e4, "smallest log-weight %g (the case should have some below -1e4)", mn);
    CHECK(fabs(gv_logsumexp(res.logw, 200)) < 1e-12, "log-weights not normalised: %g", gv_logsumexp(res.logw, 200));
    CHECK(isfinite(res.log_z) && fabs(res.log_z - lz) < 1, "log Z^ %.6f, exact %.6f", res.log_z, lz);
    /* tempered runs (adaptive, and linear T = 10 for unbiasedness) */
    double worst = 0;
    /* The adaptive schedule's Ẑ is biased, O(1/K): measured here with 20000 runs at K = 4, 16, 64:
     * E[Z^]/p(x) = 0.932, 1.036, 1.011 (+-0.011, 0.004, 0.002); so the adaptive case runs at K = 64
     * with a tolerance of 0.05 (not a z-test). */
    for (int c = 0; c < 3; c++) {
        const int KK = c == 0 ? 64 : 16;
        gv_smc_options_default(&o, KK);
        o.kernel = c == 2 ? GV_SMC_METROPOLIS : GV_SMC_GIBBS;
        if (c > 0) o.schedule = GV_SMC_LINEAR, o.T = 10;
        gv_smc_result rr;
        assert_int_equal(gv_smc_result_alloc(&rr, KK, &t), 0);
        const int R = 2000;
        double s = 0, s2 = 0, m0 = 0;
        int nonfinite = 0;
        for (int i = 0; i < R; i++) {
            if (gv_smc_run(&t, &o, r, &rr, err)) fail_msg("%s", err);
            nonfinite += !isfinite(rr.log_z);
            for (int k = 0; k < KK; k++) nonfinite += isnan(rr.logw[k]) || rr.logw[k] > 1e-12;
            const double q = exp(rr.log_z - lz);
            s += q, s2 += q * q;
            for (int k = 0; k < KK; k++) m0 += exp(rr.logw[k]) * rr.z[(size_t)k * 4] / R;
        }
        const double mean = s / R, z = (mean - 1) / sqrt((s2 - R * mean * mean) / (R - 1) / R);
        CHECK(nonfinite == 0, "case %d: %d non-finite values", c, nonfinite);
        CHECK(m0 < 1e-300, "case %d: z_0 = 1 has posterior e^-2e5, got weight %g", c, m0);
        if (c > 0) CHECK(fabs(z) < 4.5, "case %d: E[Z^]/p(x) = %.4f, z = %.2f", c, mean, z);
        else CHECK(fabs(mean - 1) < 0.05, "adaptive: E[Z^]/p(x) = %.4f", mean);
        print_message("  log p(x|z) ~ -1e5 (a down to -2e5), %s: E[Z^]/p(x) = %.4f (z = %+.2f), log p(x) = %.6f\n",
                      c == 0 ? "adaptive gibbs K=64" : c == 1 ? "linear T=10 gibbs K=16" : "linear T=10 metropolis K=16",
                      mean, z, lz);
        if (c > 0) worst = fmax(worst, fabs(z));
        gv_smc_result_free(&rr);
    }
    /* impossible states: log p(x|z) = -inf whenever z_0 = 1 (-inf log-weights, no NaN) */
    {
        lin_t mi = {.D = 3, .lg = {1, -0.5, 0.2}, .a = {-INFINITY, 2, -1}, .L0 = -3e4};
        gv_smc_target ti = {.D = 3, .ctx = &mi, .log_prior = lin_prior, .sample_prior = lin_sample, .log_lik = lin_ll};
        const double lzi = lin_exact(&mi, NULL);
        for (int c = 0; c < 4; c++) {
            gv_smc_options_default(&o, 16);
            o.kernel = c % 2 ? GV_SMC_METROPOLIS : GV_SMC_GIBBS;
            o.resampling = c / 2 ? GV_SMC_MULTINOMIAL : GV_SMC_SYSTEMATIC;
            o.schedule = GV_SMC_LINEAR, o.T = 3;
            gv_smc_result rr;
            assert_int_equal(gv_smc_result_alloc(&rr, 16, &ti), 0);
            const int R = 2000;
            double s = 0, s2 = 0, m0 = 0;
            int nan = 0, ncol = 0;
            for (int i = 0; i < R; i++) {
                if (gv_smc_run(&ti, &o, r, &rr, err)) fail_msg("%s", err);
                nan += isnan(rr.log_z) || rr.tau[rr.n_steps] != 1.0 || (rr.collapsed && rr.log_z != -INFINITY);
                ncol += rr.collapsed;
                for (int k = 0; k < 16; k++) nan += isnan(rr.logw[k]), m0 += exp(rr.logw[k]) * rr.z[(size_t)k * 3];
                const double q = exp(rr.log_z - lzi);
                s += q, s2 += q * q;
            }
            const double mean = s / R, z = (mean - 1) / sqrt((s2 - R * mean * mean) / (R - 1) / R);
            CHECK(nan == 0 && m0 == 0, "-inf case %d: %d NaN, weight %g on impossible states", c, nan, m0);
            CHECK(fabs(z) < 4.5, "-inf case %d: E[Z^]/p(x) = %.4f, z = %.2f", c, mean, z);
            CHECK(ncol > 0, "-inf case %d: no run had every particle impossible (expected 0.73^16 R = %.0f)", c,
                  pow(1 / (1 + exp(-1.0)), 16) * R);
            if (c == 0)
                print_message("  -inf log-likelihoods: %d of %d runs collapsed (Z^ = 0), E[Z^]/p(x) = %.4f (z = %+.2f)\n",
                              ncol, R, mean, z);
            worst = fmax(worst, fabs(z));
            gv_smc_result_free(&rr);
        }
    }
    print_message("  extreme cases: worst |z| of E[Z^]/p(x) - 1 (fixed schedules, with -inf log-likelihoods) = %.2f\n",
                  worst);
    gsl_rng_free(r);
    gv_smc_result_free(&res);
    END_CHECKS();
}

/* ------------------------------------------------------------------ adaptive schedule */

static void test_adaptive(void **unused)
{
    n_bad = 0;
    sbn_fx f;
    assert_int_equal(sbn_open(&f, "sbn:D=12,P=60,N=2,scale=3,seed=9", 0, 1), 0);
    char err[GV_ERRLEN];
    gsl_rng *r = gv_rng_new(gv_rng_default(), 3);
    int total = 0;
    double worst = 0;
    for (int kind = 0; kind < 2; kind++)
        for (int rep = 0; rep < 20; rep++) {
            const int K = rep % 2 ? 64 : 100;
            gv_smc_options o;
            gv_smc_options_default(&o, K);
            o.kernel = kind ? GV_SMC_METROPOLIS : GV_SMC_GIBBS;
            o.resampling = rep % 3 ? GV_SMC_SYSTEMATIC : GV_SMC_MULTINOMIAL;
            gv_smc_result res;
            assert_int_equal(gv_smc_result_alloc(&res, K, &f.t), 0);
            if (gv_smc_run(&f.t, &o, r, &res, err)) fail_msg("%s", err);
            const int n = res.n_steps;
            CHECK(res.tau[0] == 0 && res.tau[n] == 1.0, "tau from %.17g to %.17g", res.tau[0], res.tau[n]);
            CHECK(n > 2, "only %d steps: the likelihood should be informative enough for several", n);
            for (int i = 0; i < n; i++) {
                CHECK(res.tau[i + 1] > res.tau[i], "tau not increasing at %d: %.17g %.17g", i, res.tau[i],
                      res.tau[i + 1]);
                if (i < n - 1) {
                    CHECK(fabs(res.cess[i] - 0.5) < 1e-9, "step %d: cESS/K = %.12f", i, res.cess[i]);
                    worst = fmax(worst, fabs(res.cess[i] - 0.5));
                } else
                    CHECK(res.cess[i] >= 0.5 - 1e-9, "last step: cESS/K = %.12f", res.cess[i]);
            }
            CHECK(res.n_loglik == (long)K + (long)n * K * f.t.D, "evaluations %ld, expected K + steps K D = %ld",
                  res.n_loglik, (long)K + (long)n * K * f.t.D);
            double drift = 0, fresh[60]; /* the caches after flips and resamplings still match their particles */
            for (int k = 0; k < K; k++) {
                f.t.aux_init(f.t.ctx, res.z + (size_t)k * f.t.D, fresh);
                for (int j = 0; j < f.t.aux_dim; j++) drift = fmax(drift, fabs(fresh[j] - res.aux[(size_t)k * f.t.aux_dim + j]));
                drift = fmax(drift, fabs(res.ll[k] - f.t.log_lik(f.t.ctx, res.z + (size_t)k * f.t.D)));
            }
            CHECK(drift < 1e-10, "cached activations / log-likelihoods drifted by %.3g", drift);
            total += n;
            gv_smc_result_free(&res);
        }
    /* a flat likelihood: one step straight to tau = 1, cESS = K, log Z^ = the constant */
    {
        lin_t m = {.D = 3, .lg = {0.3, -1, 2}, .a = {0, 0, 0}, .L0 = -1234.5};
        gv_smc_target t = {.D = 3, .ctx = &m, .log_prior = lin_prior, .sample_prior = lin_sample, .log_lik = lin_ll};
        gv_smc_options o;
        gv_smc_options_default(&o, 10);
        gv_smc_result res;
        assert_int_equal(gv_smc_result_alloc(&res, 10, &t), 0);
        assert_int_equal(gv_smc_run(&t, &o, r, &res, err), 0);
        CHECK(res.n_steps == 1 && res.tau[1] == 1.0 && res.cess[0] == 1 && res.n_resample == 0,
              "flat: %d steps, tau %.17g, cESS/K %.17g, %d resamplings", res.n_steps, res.tau[1], res.cess[0],
              res.n_resample);
        CHECK(res.log_z == -1234.5, "flat: log Z^ = %.17g", res.log_z);
        /* the fixed schedules' tau: linear t/T, geometric tau1^((T-t)/(T-1)); the last exactly 1 */
        for (int g = 0; g < 2; g++) {
            gv_smc_options_default(&o, 10);
            o.schedule = g ? GV_SMC_GEOMETRIC : GV_SMC_LINEAR, o.T = 7, o.tau1 = 1e-4;
            assert_int_equal(gv_smc_run(&t, &o, r, &res, err), 0);
            CHECK(res.n_steps == 7 && res.tau[0] == 0 && res.tau[7] == 1.0, "%s: %d steps, last tau %.17g",
                  g ? "geometric" : "linear", res.n_steps, res.tau[res.n_steps]);
            for (int i = 1; i < 7; i++) {
                const double want = g ? pow(1e-4, (7.0 - i) / 6) : i / 7.0;
                CHECK(fabs(res.tau[i] - want) < 1e-14 * want, "%s tau[%d] = %.17g, want %.17g",
                      g ? "geometric" : "linear", i, res.tau[i], want);
            }
        }
        gv_smc_options_default(&o, 10);
        /* bad options are refused with a message */
        o.cess_target = 1;
        CHECK(gv_smc_run(&t, &o, r, &res, err) == -1 && strstr(err, "cess_target"), "cess_target = 1 accepted");
        gv_smc_options_default(&o, 11);
        CHECK(gv_smc_run(&t, &o, r, &res, err) == -1 && strstr(err, "allocated"), "K mismatch accepted");
        gv_smc_options_default(&o, 10);
        o.schedule = GV_SMC_LINEAR, o.T = 0;
        CHECK(gv_smc_run(&t, &o, r, &res, err) == -1, "T = 0 accepted");
        gv_smc_result_free(&res);
    }
    print_message("  adaptive: %.1f steps per run on average, worst |cESS/K - 1/2| = %.3g (last step excluded)\n",
                  total / 40.0, worst);
    gsl_rng_free(r);
    gv_problem_free(f.p);
    END_CHECKS();
}

/* ------------------------------------------------------------------ determinism, threads */

static void test_determinism(void **unused)
{
    n_bad = 0;
    sbn_fx f;
    assert_int_equal(sbn_open(&f, "sbn:D=5,P=10,N=1,scale=1.5,seed=2", 0, 1), 0);
    enum { NR = 8, K = 32 };
    double serial[NR], par[NR];
    for (int pass = 0; pass < 2; pass++) {
        int fails = 0;
#pragma omp parallel for num_threads(pass ? 2 : 1) schedule(static, 1) reduction(+ : fails)
        for (int i = 0; i < NR; i++) {
            gv_smc_options o;
            gv_smc_options_default(&o, K);
            o.kernel = i % 2 ? GV_SMC_METROPOLIS : GV_SMC_GIBBS;
            gv_smc_result res;
            char err[GV_ERRLEN];
            gsl_rng *r = gv_rng_new(gv_rng_default(), 1000 + i);
            if (gv_smc_result_alloc(&res, K, &f.t) || gv_smc_run(&f.t, &o, r, &res, err)) fails++;
            else (pass ? par : serial)[i] = res.log_z + res.logw[3] + res.z[5];
            gv_smc_result_free(&res);
            gsl_rng_free(r);
        }
        CHECK(fails == 0, "%d runs failed", fails);
    }
    CHECK(memcmp(serial, par, sizeof serial) == 0, "results differ between 1 and 2 threads");
    gv_problem_free(f.p);
    END_CHECKS();
}


/* ------------------------------------------------------------------ categorical sites */

/* 3 sites x 3 values: log p(z) = a table over the 27 states (sampled by inverse CDF over it);
 * log p(x|z) = L0 + sum_d A[d][z_d] + B01 [z_0 = z_1] + B12 [z_1 = z_2] + E z_0 z_2 (non-separable).
 * The cache (aux_dim = 1) holds the separable part sum_d A[d][z_d]. */
enum { CD = 3, CC = 3, CS = 27 };
typedef struct {
    double lp[CS], A[CD][CC], B01, B12, E, L0;
} cat_t;

static int cat_index(const int *z) { return z[0] + CC * (z[1] + CC * z[2]); }
static void cat_state(int s, int *z)
{
    for (int d = 0; d < CD; d++) z[d] = s % CC, s /= CC;
}
static double cat_prior(void *v, const int *z) { return ((const cat_t *)v)->lp[cat_index(z)]; }
static void cat_sample(void *v, gsl_rng *r, int *z)
{
    const cat_t *m = v;
    const double u = gv_uniform(r);
    double c = 0;
    int s = 0;
    for (; s < CS - 1; s++)
        if (u < (c += exp(m->lp[s]))) break;
    cat_state(s, z);
}
static double cat_pairs(const cat_t *m, const int *z)
{
    return m->B01 * (z[0] == z[1]) + m->B12 * (z[1] == z[2]) + m->E * z[0] * z[2];
}
static double cat_sep(const cat_t *m, const int *z)
{
    double s = 0;
    for (int d = 0; d < CD; d++) s += m->A[d][z[d]];
    return s;
}
static double cat_ll(void *v, const int *z)
{
    const cat_t *m = v;
    return m->L0 + cat_sep(m, z) + cat_pairs(m, z);
}
static void cat_aux_init(void *v, const int *z, double *aux) { aux[0] = cat_sep(v, z); }
static void cat_aux_set(void *v, const int *z, int d, int val, double *aux)
{
    const cat_t *m = v;
    aux[0] += m->A[d][val] - m->A[d][z[d]];
}
static double cat_ll_set(void *v, const int *z, int d, int val, double ll, const double *aux)
{
    const cat_t *m = v;
    int w[CD];
    memcpy(w, z, sizeof w);
    w[d] = val;
    return m->L0 + aux[0] + m->A[d][val] - m->A[d][z[d]] + cat_pairs(m, w);
}
/* the model: prior table normalised, a likelihood scale that makes the posterior far from the prior */
static void cat_build(cat_t *m, double scale)
{
    for (int s = 0; s < CS; s++) m->lp[s] = 0.8 * sin(1.7 * s + 0.3) + 0.3 * cos(5.1 * s);
    const double lz = gv_logsumexp(m->lp, CS);
    for (int s = 0; s < CS; s++) m->lp[s] -= lz;
    for (int d = 0; d < CD; d++)
        for (int c = 0; c < CC; c++) m->A[d][c] = scale * sin(2.3 * d + 1.1 * c + 0.5);
    m->B01 = 0.9 * scale, m->B12 = -0.7 * scale, m->E = 0.35 * scale, m->L0 = -2.5;
}
/* exact log Z = log sum p(z) p(x|z) and posterior marginals post[d][v] */
static double cat_exact(const cat_t *m, double post[CD][CC])
{
    double l[CS];
    int z[CD];
    for (int s = 0; s < CS; s++) cat_state(s, z), l[s] = m->lp[s] + cat_ll((void *)m, z);
    const double lz = gv_logsumexp(l, CS);
    memset(post, 0, sizeof(double) * CD * CC);
    for (int s = 0; s < CS; s++) {
        cat_state(s, z);
        for (int d = 0; d < CD; d++) post[d][z[d]] += exp(l[s] - lz);
    }
    return lz;
}
static gv_smc_target cat_target(cat_t *m, int fast)
{
    gv_smc_target t = {.D = CD, .ncat = CC, .ctx = m, .log_prior = cat_prior, .sample_prior = cat_sample,
                       .log_lik = cat_ll};
    if (fast) t.log_lik_set = cat_ll_set, t.aux_dim = 1, t.aux_init = cat_aux_init, t.aux_set = cat_aux_set;
    return t;
}

/* Exact matrices of one Gibbs sweep (T) and one Metropolis proposal (M) at pi_tau; checks. */
static double check_cat_kernels(const gv_smc_target *t, double tau, const char *what, double *T, double *M)
{
    double ll[CS], lpi[CS], pi[CS], aux[CS], Td[CS * CS], Md[CS * CS], tmp[CS * CS];
    int z[CD];
    for (int s = 0; s < CS; s++) {
        cat_state(s, z), ll[s] = t->log_lik(t->ctx, z), lpi[s] = t->log_prior(t->ctx, z) + tau * ll[s];
        if (t->aux_dim) t->aux_init(t->ctx, z, aux + s);
    }
    const double lz = gv_logsumexp(lpi, CS);
    for (int s = 0; s < CS; s++) pi[s] = exp(lpi[s] - lz);
    double worst = 0, fl = 0;
    for (int i = 0; i < CS * CS; i++) T[i] = (i % (CS + 1)) == 0, M[i] = 0;
    for (int d = 0; d < CD; d++) {
        memset(Td, 0, sizeof Td), memset(Md, 0, sizeof Md);
        for (int s = 0; s < CS; s++) {
            double prob[CC], lv[CC];
            cat_state(s, z);
            const double *ax = t->aux_dim ? aux + s : NULL;
            gv_smc_gibbs_probs(t, tau, z, d, ll[s], ax, prob, lv);
            for (int v = 0; v < CC; v++) {
                int w[CD];
                cat_state(s, w), w[d] = v;
                const int s2 = cat_index(w);
                fl = fmax(fl, fabs(lv[v] - ll[s2]));
                Td[s * CS + s2] += prob[v];
                if (v == z[d]) continue;
                double l1;
                const double acc = gv_smc_mh_accept_set(t, tau, z, d, v, ll[s], ax, &l1);
                fl = fmax(fl, fabs(l1 - ll[s2]));
                Md[s * CS + s2] += acc / (CC - 1);
                Md[s * CS + s] += (1 - acc) / (CC - 1);
            }
            CHECK(cat_index(z) == s, "%s: z not restored", what);
        }
        worst = fmax(worst, site_step(what, tau, d, CD, pi, CS, Td, Md, T, M, tmp));
    }
    worst = fmax(worst, sweep_step(what, tau, pi, CS, T, M));
    double off = 0, moff = 0;
    for (int s = 0; s < CS; s++) off += 1 - T[s * CS + s], moff += 1 - M[s * CS + s];
    CHECK(off > 1 && moff > 1, "%s: kernels barely move (Gibbs %g, Metropolis %g off the diagonal)", what, off, moff);
    CHECK(fl < 1e-12, "%s: set-site log-likelihood off by %.3g", what, fl);
    return worst;
}

static void test_cat_invariance(void **unused)
{
    n_bad = 0;
    cat_t m;
    cat_build(&m, 1.5);
    double worst = 0, T[CS * CS], M[CS * CS];
    const double taus[] = {0, 0.37, 1};
    for (int fast = 0; fast < 2; fast++) {
        const gv_smc_target t = cat_target(&m, fast);
        for (int i = 0; i < 3; i++)
            worst = fmax(worst, check_cat_kernels(&t, taus[i], fast ? "categorical, fast" : "categorical, fallback", T, M));
    }
    /* gv_smc_move, the kernels as the sampler runs them, draws from the rows at tau = 1 (T, M of the
     * fast target: the last ones built) */
    const gv_smc_target t = cat_target(&m, 1);
    const int N = 4000;
    gsl_rng *r = gv_rng_new(gv_rng_default(), 91);
    double zmax = 0;
    for (int k = 0; k < 2; k++) {
        gv_smc_options o;
        gv_smc_options_default(&o, 1);
        o.kernel = k ? GV_SMC_METROPOLIS : GV_SMC_GIBBS, o.n_flips = 1;
        const double *P = k ? M : T;
        for (int s0 = 0; s0 < CS; s0++) {
            long cnt[CS] = {0};
            for (int i = 0; i < N; i++) {
                int z[CD];
                double aux;
                cat_state(s0, z);
                double ll = t.log_lik(t.ctx, z);
                t.aux_init(t.ctx, z, &aux);
                const long ne = gv_smc_move(&t, &o, 1.0, r, z, &ll, &aux);
                CHECK(ne == (k ? 1 : CD * (CC - 1)), "%s: %ld evaluations", k ? "mh" : "gibbs", ne);
                CHECK(fabs(ll - t.log_lik(t.ctx, z)) < 1e-12, "tracked log-likelihood is stale");
                CHECK(fabs(aux - cat_sep(&m, z)) < 1e-12, "tracked cache is stale");
                cnt[cat_index(z)]++;
            }
            for (int s = 0; s < CS; s++) {
                const double p = P[s0 * CS + s];
                if (p == 0) {
                    CHECK(cnt[s] == 0, "%s: %d -> %d has probability 0, drawn %ld times", k ? "mh" : "gibbs", s0, s,
                          cnt[s]);
                    continue;
                }
                const double zc = (cnt[s] - N * p) / sqrt(N * p * (1 - p) + 1e-300);
                if (p < 1) zmax = fmax(zmax, fabs(zc));
                CHECK(fabs(zc) < 5 || p == 1, "%s: %d -> %d: %ld draws, expected %.1f (z = %.2f)", k ? "mh" : "gibbs",
                      s0, s, cnt[s], N * p, zc);
            }
        }
    }
    gsl_rng_free(r);
    print_message("  categorical (3 sites x 3 values) kernel invariance: worst |pi T - pi| or |row sum - 1| = %.3g; "
                  "gv_smc_move draws from the rows: worst |z| = %.2f over 2 x %d x %d cells\n", worst, zmax, CS, CS);
    END_CHECKS();
}

static void test_cat_unbiased(void **unused)
{
    n_bad = 0;
    cat_t m;
    cat_build(&m, 2.0);
    double post[CD][CC];
    const double lz = cat_exact(&m, post);
    const int R = 4000, K = 8, T = 3;
    struct { gv_smc_kernel k; gv_smc_resampling rs; int fast; } cf[] = {
        {GV_SMC_GIBBS, GV_SMC_SYSTEMATIC, 1},
        {GV_SMC_GIBBS, GV_SMC_MULTINOMIAL, 0},
        {GV_SMC_METROPOLIS, GV_SMC_SYSTEMATIC, 1},
        {GV_SMC_METROPOLIS, GV_SMC_MULTINOMIAL, 1},
    };
    char err[GV_ERRLEN];
    double worst = 0, wm = 0;
    for (size_t c = 0; c < sizeof cf / sizeof *cf; c++) {
        const gv_smc_target tc = cat_target(&m, cf[c].fast);
        gv_smc_options o;
        gv_smc_options_default(&o, K);
        o.schedule = GV_SMC_LINEAR, o.T = T, o.kernel = cf[c].k, o.resampling = cf[c].rs;
        gv_smc_result res;
        assert_int_equal(gv_smc_result_alloc(&res, K, &tc), 0);
        gsl_rng *r = gv_rng_new(gv_rng_default(), 300 + c);
        double *q = malloc((size_t)R * sizeof *q), *mk = malloc((size_t)R * CD * CC * sizeof *mk), s = 0, s2 = 0;
        long nres = 0, evals_bad = 0;
        for (int i = 0; i < R; i++) {
            if (gv_smc_run(&tc, &o, r, &res, err)) fail_msg("%s", err);
            q[i] = exp(res.log_z - lz), s += q[i], s2 += q[i] * q[i];
            nres += res.n_resample > 0;
            if (o.kernel == GV_SMC_GIBBS && res.n_loglik != (long)K + (long)T * K * CD * (CC - 1)) evals_bad++;
            double *mi = mk + (size_t)i * CD * CC;
            memset(mi, 0, CD * CC * sizeof *mi);
            for (int k = 0; k < K; k++)
                for (int d = 0; d < CD; d++) mi[d * CC + res.z[(size_t)k * CD + d]] += exp(res.logw[k]);
        }
        const double mean = s / R, z = (mean - 1) / sqrt((s2 - R * mean * mean) / (R - 1) / R);
        double zm = 0;
        for (int j = 0; j < CD * CC; j++) { /* ratio estimator sum q m / sum q, delta-method s.e. */
            double num = 0, e2 = 0;
            for (int i = 0; i < R; i++) num += q[i] * mk[(size_t)i * CD * CC + j];
            const double est = num / s;
            for (int i = 0; i < R; i++) e2 += pow(q[i] * (mk[(size_t)i * CD * CC + j] - est), 2);
            const double zj = (est - post[j / CC][j % CC]) / (sqrt(e2) / s);
            if (fabs(zj) > fabs(zm)) zm = zj;
        }
        print_message("  categorical K=%d linear T=%d %s %s%s: E[Z^]/Z = %.4f, z = %+.2f (resampled in %.0f%% of "
                      "runs); Z^-weighted marginals worst z = %+.2f\n", K, T,
                      o.resampling == GV_SMC_SYSTEMATIC ? "systematic" : "multinomial",
                      o.kernel == GV_SMC_GIBBS ? "gibbs" : "metropolis", cf[c].fast ? "" : " (no fast path)", mean, z,
                      100.0 * nres / R, zm);
        CHECK(fabs(z) < 4.5, "config %zu: E[Z^]/Z - 1 z = %.2f", c, z);
        CHECK(fabs(zm) < 4.5, "config %zu: posterior marginal z = %.2f", c, zm);
        CHECK(nres > R / 10, "config %zu: resampling too rare (%ld of %d runs) to exercise it", c, nres, R);
        CHECK(evals_bad == 0, "config %zu: %ld runs with an evaluation count other than K + T K D (C-1)", c, evals_bad);
        worst = fmax(worst, fabs(z)), wm = fmax(wm, fabs(zm));
        free(q), free(mk);
        gsl_rng_free(r);
        gv_smc_result_free(&res);
    }
    print_message("  categorical unbiased: worst |z| = %.2f (Z^), %.2f (marginals, %d per config) over %zu configs x %d "
                  "runs\n", worst, wm, CD * CC, sizeof cf / sizeof *cf, R);
    /* bad categorical targets are refused */
    {
        gv_smc_options o;
        gv_smc_options_default(&o, 4);
        gv_smc_result res;
        gsl_rng *r = gv_rng_new(gv_rng_default(), 5);
        gv_smc_target tb = cat_target(&m, 1);
        assert_int_equal(gv_smc_result_alloc(&res, 4, &tb), 0);
        tb.ncat = 1;
        CHECK(gv_smc_run(&tb, &o, r, &res, err) == -1 && strstr(err, "ncat"), "ncat = 1 accepted");
        tb = cat_target(&m, 1), tb.log_lik_flip = lin_flip;
        CHECK(gv_smc_run(&tb, &o, r, &res, err) == -1 && strstr(err, "log_lik_set"), "flip on a categorical target");
        tb = cat_target(&m, 1), tb.aux_set = NULL;
        CHECK(gv_smc_run(&tb, &o, r, &res, err) == -1 && strstr(err, "cache"), "cache without aux_set accepted");
        tb = cat_target(&m, 1), tb.ncat = 2; /* the prior samples values up to 2: outside a binary target */
        int refused = 0;
        for (int i = 0; i < 20 && !refused; i++) refused = gv_smc_run(&tb, &o, r, &res, err) == -1 && strstr(err, "outside");
        CHECK(refused, "values outside 0..ncat-1 from sample_prior accepted");
        gv_smc_target big = cat_target(&m, 0);
        big.ncat = GV_SMC_MAXCAT + 1;
        gv_smc_result r2;
        CHECK(gv_smc_result_alloc(&r2, 4, &big) == -1, "ncat above GV_SMC_MAXCAT allocated");
        gsl_rng_free(r);
        gv_smc_result_free(&res);
    }
    END_CHECKS();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_invariance), cmocka_unit_test(test_unbiased), cmocka_unit_test(test_marginals),
        cmocka_unit_test(test_extreme),    cmocka_unit_test(test_adaptive), cmocka_unit_test(test_determinism),
        cmocka_unit_test(test_cat_invariance), cmocka_unit_test(test_cat_unbiased),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
