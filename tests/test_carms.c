/* test_carms.c — CARMS-I (carms) and CARMS-G (carms-gumbel), estimators/carms.c.
 * (Registry-wide unbiasedness, determinism and cost are in test_unbiased.c / test_determinism.c.)
 *
 *   orderings            C(C-1)/2 orderings for C in {2,3,4,5,10}, each a permutation, every unordered
 *                        pair (first, last) exactly once with first < last, and the same set as
 *                        CATALOGUE.md's literal roll construction (re-implemented here).
 *   joint/exact          gv_carms_joint against the catalogue's four-term formula
 *                        C(R,R') - C(L,R') - C(R,L') + C(L,L') averaged over this file's orderings
 *                        (|diff| <= 1e-13: each CDF value carries a few ulps of 1, the average keeps
 *                        that), exact symmetry, rows summing to pi (1e-12), q2(a,b) > 0 off the
 *                        diagonal, finite non-negative weights; with the independence copula
 *                        C(x,y) = xy the four-term formula gives q2 = pi pi^T and the weights are 1.
 *   joint/tiny           classes of mass 1e-8 and 1e-6 against 60-digit references: relative error
 *                        <= 100 eps / (smallest class mass) (the naive four-term formula is all rounding).
 *   joint/monte-carlo    the samples the carms estimator evaluates f on (a spy problem records them):
 *                        pair frequencies match q2 and class frequencies match pi (z-tests); the
 *                        same for carms-gumbel's class frequencies.
 *   identity/rloo        SAMPLE BY SAMPLE: independent draws (rloo's own gv_sample calls on an
 *                        identically seeded generator) with w = 1 (the independence joint's weights,
 *                        joint/exact), combined by gv_carms_combine (the estimator's own combination)
 *                        == rloo.
 *   identity/arms        SAMPLE BY SAMPLE: carms on C = 2 units == arms on the Bernoulli twin problem
 *                        (same non-separable f, eta = l_1 - l_0): g_{d,1} = -g_{d,0} = g_d^arms, with
 *                        the generators still in step afterwards.  This holds when pi_0 <= 1/2 on
 *                        every unit: C = 2 has one ordering [0, 1] (no draw for it), so class 0 takes
 *                        the copula's lower tail; ARMS always puts the minority value there.  For
 *                        pi_0 > 1/2 and n >= 3 the two are different couplings (joint/exact shows
 *                        q2(0,1) = pi_0 - C_n(pi_0,pi_0) != a - C_n(a,a), a = min(pi)), both unbiased.
 *   identity/disarm      SAMPLE BY SAMPLE: at n = 2 the copula is (1-v, v), radially symmetric, so
 *                        carms == disarm == arms for every pi.
 *   variance/toy         var_sum(carms) < var_sum(rloo) on categorical-linear:D=3,C=3,alpha=1,seed=1
 *                        at K = 2, 3, 4 (one-sided z on the difference, SEs from var_mean_se).
 *   clip                 clip=1 (the authors' weights): its exact expectation is
 *                        E g_j = sum_b q2(j,b) w(j,b) (m_j - m_b) on one unit (the pi_j sum_{a,b} term
 *                        vanishes by symmetry); the harness mean agrees with that prediction, the
 *                        prediction differs from the gradient, and bias_z_max detects it; clip=0 on
 *                        the same cell is consistent with the exact gradient.
 *   large_n              unbiased at n = 20 and n = 70 (the exact joint's second evaluation path) on
 *                        categorical-coupled, whose pairwise and triple terms couple the units.
 *   gumbel/consistency   carms-gumbel's bias comes from its Monte Carlo joint: detected at the default
 *                        mc = 100 (R = 5e4), not at mc = 1000 (R = 1e4).
 *   extreme              one class at 1 - 1e-6, logits +-700, C = 100 (and near-degenerate C = 100):
 *                        finite estimates and weight tables.
 *   cache                carms: tables are built once per unit and point (build counter), shared by
 *                        units with equal logits, rebuilt for the units whose logits change; after
 *                        moving the point an instance gives bit-identical estimates to a fresh one;
 *                        copy_learned hands tables on without a build.  carms-gumbel: a fresh table
 *                        per unit and estimate (shared by units with equal logits).
 *   options              bad option values, Bernoulli problems, C above the limit, the row note.
 *
 * Statistics.  Every z check belongs to one of six groups (carms joint, carms-gumbel marginals,
 * variance, clip consistency, gumbel consistency, large n), each given FAMILY_ALPHA / 6 and Bonferroni-split
 * over its checks (two-sided, except the one-sided variance comparison), so the file's family-wise
 * false-alarm rate is <= 1e-3.  Detection checks (clip=1, carms-gumbel at mc = 100 are biased) use
 * the same thresholds; their margins are printed.  Seeds fixed.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <gsl/gsl_cdf.h>
#include <gsl/gsl_errno.h>

#include "harness/engine.h"
#include "harness/exact.h"
#include "harness/rng.h"

#include "estimators/arms.h"
#include "estimators/carms.h"

#include "tests/testkit.h"

#define FAMILY_ALPHA 1e-3
#define N_GROUPS 6
#define SEED 777ULL

static double group_z(int n) { return gsl_cdf_ugaussian_Qinv(FAMILY_ALPHA / N_GROUPS / (2.0 * n)); }
static double group_z1(int n) { return gsl_cdf_ugaussian_Qinv(FAMILY_ALPHA / N_GROUPS / n); } /* one-sided */

/* ------------------------------------------------------------------ helpers */

typedef struct {
    const gv_estimator_type *t;
    void *st;
} driven;

static int drv_open(driven *d, const char *spec_text, const gv_problem *p, int K)
{
    char err[GV_ERRLEN];
    gv_spec spec;
    d->st = NULL;
    if (gv_spec_parse(spec_text, &spec, err) || !(d->t = gv_estimator_find(spec.name)))
        return print_error("no estimator %s\n", spec_text), -1;
    d->st = calloc(1, d->t->state_size ? d->t->state_size : 1);
    if (!d->st || d->t->init(d->st, &spec, p, K, err)) return print_error("%s init: %s\n", spec_text, err), -1;
    return 0;
}

static void drv_close(driven *d)
{
    if (d->st && d->t->free) d->t->free(d->st);
    free(d->st);
    d->st = NULL;
}

static int run_cell(const fixture *f, const char *est, int K, long R, uint64_t seed, int coords, gv_row *row)
{
    char err[GV_ERRLEN];
    gv_engine_opts o = {.R = R, .W = 0, .seed = seed, .rng = gv_rng_default(), .timing = 0};
    int rc = gv_run_cell(f->p, &f->pt, &f->ex, est, K, &o, coords, row, err);
    if (rc != GV_OK) return print_error("%s K=%d on %s: %s\n", est, K, f->p->spec, err), -1;
    return 0;
}

/* Softmax logits of pi (log pi). */
static void logits_of(int C, const double *pi, double *eta)
{
    for (int c = 0; c < C; c++) eta[c] = log(pi[c]);
}

/* ------------------------------------------------------------------ orderings (literal construction) */

/* CATALOGUE.md: for i in 0..C-1, j in 0..C-2: rows = roll(0..C-1, i), ordering = [rows[0]] +
 * roll(rows[1:], j); keep those with first < last.  numpy's roll(x, s)[k] = x[(k - s) mod len]. */
static int ref_orderings(int C, int *out)
{
    int n = 0, *rows = malloc((size_t)C * sizeof *rows);
    for (int i = 0; i < C; i++)
        for (int j = 0; j < C - 1; j++) {
            for (int k = 0; k < C; k++) rows[k] = ((k - i) % C + C) % C;
            int *o = out + (size_t)n * C;
            o[0] = rows[0];
            for (int k = 0; k < C - 1; k++) o[1 + k] = rows[1 + (((k - j) % (C - 1)) + (C - 1)) % (C - 1)];
            if (o[0] < o[C - 1]) n++;
        }
    free(rows);
    return n;
}

static int cmp_ord_C;
static int cmp_ord(const void *a, const void *b) { return memcmp(a, b, (size_t)cmp_ord_C * sizeof(int)); }

static void test_orderings(void **unused)
{
    n_bad = 0;
    static const int Cs[] = {2, 3, 4, 5, 10};
    for (size_t t = 0; t < sizeof Cs / sizeof Cs[0]; t++) {
        const int C = Cs[t];
        const long M = gv_carms_n_orderings(C);
        CHECK(M == C * (C - 1) / 2, "C=%d: %ld orderings", C, M);
        int *mine = malloc((size_t)M * C * sizeof *mine), *ref = malloc((size_t)C * C * (C - 1) * sizeof *ref);
        int *pair = calloc((size_t)C * C, sizeof *pair);
        for (long k = 0; k < M; k++) {
            int *o = mine + (size_t)k * C, seen[16] = {0};
            gv_carms_ordering(C, k, o);
            int perm = 1;
            for (int p = 0; p < C; p++) perm &= o[p] >= 0 && o[p] < C && !seen[o[p]]++;
            CHECK(perm, "C=%d ordering %ld is not a permutation", C, k);
            CHECK(o[0] < o[C - 1], "C=%d ordering %ld: first %d >= last %d", C, k, o[0], o[C - 1]);
            if (perm) pair[o[0] * C + o[C - 1]]++;
        }
        for (int a = 0; a < C; a++)
            for (int b = a + 1; b < C; b++)
                CHECK(pair[a * C + b] == 1, "C=%d: pair {%d,%d} is (first,last) of %d orderings", C, a, b, pair[a * C + b]);
        int nr = ref_orderings(C, ref);
        CHECK(nr == M, "C=%d: the literal construction keeps %d orderings, carms has %ld", C, nr, M);
        if (nr == M) {
            cmp_ord_C = C;
            qsort(mine, (size_t)M, (size_t)C * sizeof(int), cmp_ord);
            qsort(ref, (size_t)M, (size_t)C * sizeof(int), cmp_ord);
            CHECK(!memcmp(mine, ref, (size_t)M * C * sizeof(int)), "C=%d: a different set of orderings", C);
        }
        print_message("  C=%-2d %3ld orderings, every pair (first,last) once, same set as the roll construction\n", C, M);
        free(mine), free(ref), free(pair);
    }
    END_CHECKS();
}

/* ------------------------------------------------------------------ exact joint */

typedef double (*cdf_fn)(const void *ctx, double x, double y);
static double cdf_dirichlet(const void *ctx, double x, double y) { return gv_arms_copula_cdf(*(const int *)ctx, x, y); }
static double cdf_indep(const void *ctx, double x, double y) { return x * y; }

/* The catalogue's four-term formula over the literal orderings, with L, R from running sums. */
static void ref_joint(int C, const double *pi, cdf_fn cdf, const void *ctx, double *q2)
{
    int *ord = malloc((size_t)C * C * (C - 1) * sizeof *ord);
    double *L = malloc((size_t)C * sizeof *L), *R = malloc((size_t)C * sizeof *R);
    const int M = ref_orderings(C, ord);
    memset(q2, 0, (size_t)C * C * sizeof *q2);
    for (int k = 0; k < M; k++) {
        const int *o = ord + (size_t)k * C;
        double s = 0;
        for (int p = 0; p < C; p++) L[o[p]] = s, s += pi[o[p]], R[o[p]] = p == C - 1 ? 1 : fmin(s, 1);
        for (int a = 0; a < C; a++)
            for (int b = 0; b < C; b++)
                q2[a * C + b] += cdf(ctx, R[a], R[b]) - cdf(ctx, L[a], R[b]) - cdf(ctx, R[a], L[b]) + cdf(ctx, L[a], L[b]);
    }
    for (int i = 0; i < C * C; i++) q2[i] /= M;
    free(ord), free(L), free(R);
}

typedef struct {
    int C;
    double pi[10];
} pi_case;

static const pi_case joint_cases[] = {
    {2, {0.3, 0.7}},
    {2, {0.5, 0.5}},
    {2, {0.8, 0.2}},
    {3, {0.0079577698212739117, 0.47112276431119438, 0.52091946586753168}}, /* the toy's first unit */
    {3, {1 / 3.0, 1 / 3.0, 1 / 3.0}},
    {4, {0.1, 0.2, 0.3, 0.4}},
    {5, {0.05, 0.1, 0.2, 0.3, 0.35}},
    {10, {1e-4, 0.02, 0.05, 0.08, 0.1, 0.1099, 0.12, 0.15, 0.17, 0.2}},
};
#define N_JOINT_CASES (sizeof joint_cases / sizeof joint_cases[0])
static const int joint_n[] = {2, 3, 4, 7, 20, 65, 70}; /* m = n - 1 = 64: last sum of powers; 69: expm1 form */
#define N_JOINT_N (sizeof joint_n / sizeof joint_n[0])

static void test_joint_exact(void **unused)
{
    n_bad = 0;
    double worst_ref = 0, worst_row = 0;
    for (size_t c = 0; c < N_JOINT_CASES; c++) {
        const int C = joint_cases[c].C;
        const double *pi = joint_cases[c].pi;
        double q2[100], ref[100], w[100];
        for (size_t t = 0; t < N_JOINT_N; t++) {
            const int n = joint_n[t];
            assert_int_equal(gv_carms_joint(C, pi, n, q2), 0);
            ref_joint(C, pi, cdf_dirichlet, &n, ref);
            gv_carms_weights(C, pi, q2, 0, w);
            for (int a = 0; a < C; a++) {
                double row = 0;
                for (int b = 0; b < C; b++) {
                    const double v = q2[a * C + b], d = fabs(v - ref[a * C + b]);
                    row += v;
                    worst_ref = fmax(worst_ref, d);
                    CHECK(d <= 1e-13, "C=%d n=%d q2(%d,%d) = %.17g, four-term formula %.17g", C, n, a, b, v, ref[a * C + b]);
                    CHECK(v == q2[b * C + a], "C=%d n=%d: q2(%d,%d) != q2(%d,%d)", C, n, a, b, b, a);
                    if (a != b) CHECK(v > 0, "C=%d n=%d: q2(%d,%d) = %g is not positive", C, n, a, b, v);
                    CHECK(isfinite(w[a * C + b]) && w[a * C + b] >= 0, "C=%d n=%d: w(%d,%d) = %g", C, n, a, b, w[a * C + b]);
                }
                worst_row = fmax(worst_row, fabs(row - pi[a]));
                CHECK(fabs(row - pi[a]) <= 1e-12, "C=%d n=%d: row %d sums to %.17g, pi = %.17g", C, n, a, row, pi[a]);
            }
            if (C == 2) { /* against ARMS's q2(0,1) = P(b_k = 1, b_l = 0) = theta - J(theta), theta = pi_1 */
                const double th = pi[1];
                const double J = th < 0.5 ? gv_arms_copula_cdf(n, th, th) : 2 * th - 1 + gv_arms_copula_cdf(n, 1 - th, 1 - th);
                const double mine = q2[1], own = pi[0] - gv_arms_copula_cdf(n, pi[0], pi[0]);
                CHECK(fabs(mine - own) <= 1e-13, "C=2 n=%d: q2(0,1) = %.17g, pi_0 - C_n(pi_0,pi_0) = %.17g", n, mine, own);
                if (pi[0] <= 0.5 || n == 2)
                    CHECK(fabs(mine - (th - J)) <= 1e-13, "C=2 pi_0=%g n=%d: q2(0,1) = %.17g, arms theta - J = %.17g", pi[0],
                          n, mine, th - J);
                else { /* the documented difference: CARMS-I keeps class 0 (here the majority) in the lower tail */
                    CHECK(fabs(mine - (th - J)) > 1e-3, "C=2 pi_0=%g n=%d: expected q2(0,1) %.6f to differ from arms's %.6f",
                          pi[0], n, mine, th - J);
                    if (n == 4)
                        print_message("  C=2 pi_0 = %.1f n = 4: q2(0,1) = %.5f, arms theta - J = %.5f (different couplings)\n",
                                      pi[0], mine, th - J);
                }
            }
        }
        /* independence copula: q2 = pi pi^T (each of the four products and three sums rounds once: at most
         * ~8 ulps of 1 per ordering), so |w - 1| <= 8 eps / (pi_a pi_b) */
        ref_joint(C, pi, cdf_indep, NULL, ref);
        gv_carms_weights(C, pi, ref, 0, w);
        double wd = 0;
        for (int a = 0; a < C; a++)
            for (int b = 0; b < C; b++) {
                const double pp = pi[a] * pi[b], bound = 8 * 0x1p-52;
                CHECK(fabs(ref[a * C + b] - pp) <= bound, "C=%d independence: q2(%d,%d) = %.17g, pi_a pi_b = %.17g", C, a, b,
                      ref[a * C + b], pp);
                CHECK(fabs(w[a * C + b] - 1) <= bound / pp, "C=%d independence: w(%d,%d) = %.17g", C, a, b, w[a * C + b]);
                wd = fmax(wd, fabs(w[a * C + b] - 1) * pp);
            }
        if (C == 10) print_message("  independence copula, C=10: max |w - 1| pi_a pi_b = %.2e (bound %.2e)\n", wd, 8 * 0x1p-52);
    }
    print_message("  %zu pi x %zu n: max |q2 - four-term| %.2e, max |row sum - pi| %.2e\n", N_JOINT_CASES, N_JOINT_N,
                  worst_ref, worst_row);
    END_CHECKS();
}

/* Tiny classes, where the four-term formula is all rounding (q2 ~ 1e-17 against CDF values ~1): references
 * from the same formula in 60-digit arithmetic (mpmath, pi given as these doubles).  carms.c's
 * formulation keeps one cancellation of relative size ~eps / (class mass), so 1e-8 classes get ~1e-8. */
static const struct {
    int C, n;
    double pi[4], q2[16];
} tiny_cases[] = {
    {4, 3, {0.99999997, 1e-8, 1e-8, 1e-8},
     {0.99999994000180488343, 9.9993332816154209556e-9, 9.9992642443079910586e-9, 9.9995975509305697964e-9,
      9.9993332816154209556e-9, 3.3333333899534137674e-17, 4.9999583691203737597e-13, 1.6669583441251163092e-13,
      9.9992642443079910586e-9, 4.9999583691203737597e-13, 4.166666734073493086e-17, 2.357314285881624531e-13,
      9.9995975509305697964e-9, 1.6669583441251163092e-13, 2.357314285881624531e-13, 4.1666667323602388107e-17}},
    {3, 5, {0.999998, 0.000001, 0.000001},
     {0.99999600002333171706, 9.9998845917717630194e-7, 9.9998820915927686769e-7, 9.9998845917717630194e-7,
      5.000002499734137675e-13, 1.1040804736718423299e-11, 9.9998820915927686769e-7, 1.1040804736718423299e-11,
      7.5000031244668042881e-13}},
};

static void test_joint_tiny(void **unused)
{
    n_bad = 0;
    for (size_t t = 0; t < sizeof tiny_cases / sizeof tiny_cases[0]; t++) {
        const int C = tiny_cases[t].C, n = tiny_cases[t].n;
        double q2[16], worst = 0;
        assert_int_equal(gv_carms_joint(C, tiny_cases[t].pi, n, q2), 0);
        for (int i = 0; i < C * C; i++) {
            const double want = tiny_cases[t].q2[i], rel = fabs(q2[i] - want) / want;
            worst = fmax(worst, rel);
            /* smallest class mass 1e-8 (1e-6): relative error allowed 100 eps / 1e-8 ~ 2e-6 (2e-8) */
            CHECK(rel <= 100 * 0x1p-52 / tiny_cases[t].pi[1], "C=%d n=%d: q2[%d] = %.17g, 60-digit %.17g (rel %.2e)", C, n, i,
                  q2[i], want, rel);
        }
        print_message("  C=%d n=%d classes of %g: max relative error of q2 %.2e\n", C, n, tiny_cases[t].pi[1], worst);
    }
    END_CHECKS();
}

/* ------------------------------------------------------------------ the estimators' own samples */

/* (the spy problem that records the points f is evaluated at: tests/testkit.h) */

/* units of several sizes in one layout */
static const pi_case mc_units[] = {
    {3, {0.15, 0.35, 0.5}}, {4, {0.1, 0.2, 0.3, 0.4}}, {5, {0.05, 0.1, 0.2, 0.3, 0.35}}, {2, {0.3, 0.7}}};
#define MC_D ((int)(sizeof mc_units / sizeof mc_units[0]))
static const int mc_n[] = {3, 5};
#define MC_DRAWS 100000L
#define MC_MIN_EVENTS 100.0 /* z needs enough pair events for its normal approximation */

static void test_joint_monte_carlo(void **unused)
{
    n_bad = 0;
    /* checks: per n and unit, the C(C+1)/2 unordered cells and C marginals (carms), C marginals (gumbel) */
    int n_joint = 0, n_gum = 0;
    for (int u = 0; u < MC_D; u++) {
        const int C = mc_units[u].C;
        n_joint += (int)(sizeof mc_n / sizeof mc_n[0]) * (C * (C + 1) / 2 + C);
        n_gum += (int)(sizeof mc_n / sizeof mc_n[0]) * C;
    }
    const double zj = group_z(n_joint), zg = group_z(n_gum);
    double zmax_j = 0, zmax_g = 0;
    int skipped = 0;
    unsigned kinds[MC_D];
    int ncat[MC_D];
    for (int u = 0; u < MC_D; u++) kinds[u] = GV_UNIT_CATEGORICAL, ncat[u] = mc_units[u].C;
    for (int v = 0; v < 2; v++)
        for (size_t t = 0; t < sizeof mc_n / sizeof mc_n[0]; t++) {
            const int n = mc_n[t];
            spy_t spy = {.D = MC_D, .cap = n};
            gv_problem P = {.type = &spy_type, .state = &spy};
            assert_int_equal(gv_layout_init(&P.layout, MC_D, kinds, ncat), 0);
            const int NP = P.layout.n_params;
            double *eta = malloc((size_t)NP * sizeof *eta), *g = malloc((size_t)NP * sizeof *g);
            for (int u = 0; u < MC_D; u++) logits_of(mc_units[u].C, mc_units[u].pi, eta + P.layout.units[u].param);
            P.eta = eta;
            gv_point pt;
            assert_int_equal(gv_point_init(&pt, &P.layout, eta), 0);
            spy.log = malloc((size_t)n * MC_D * sizeof *spy.log);
            driven d;
            /* the samples' law does not depend on mc (only the weights do), and carms-gumbel draws a
             * fresh table per estimate: mc = 1 keeps this cheap */
            assert_int_equal(drv_open(&d, v == 0 ? "carms" : "carms-gumbel:mc=1", &P, n), 0);
            gsl_rng *r = gv_rng_new(gv_rng_default(), SEED + 10 * v + n);
            gv_eval ev = {.problem = &P, .pt = &pt};
            /* per unit: sums and sums of squares of the per-estimate pair and class frequencies */
            double *s_pair = calloc((size_t)MC_D * 25, sizeof(double)), *q_pair = calloc((size_t)MC_D * 25, sizeof(double));
            double *s_cls = calloc((size_t)MC_D * 5, sizeof(double)), *q_cls = calloc((size_t)MC_D * 5, sizeof(double));
            for (long e = 0; e < MC_DRAWS; e++) {
                spy.n_log = 0;
                memset(g, 0, (size_t)NP * sizeof *g);
                assert_int_equal(d.t->estimate(d.st, &ev, n, r, g), 0);
                if (spy.n_log != n) {
                    CHECK(0, "n=%d: %d evaluations of f", n, spy.n_log);
                    break;
                }
                for (int u = 0; u < MC_D; u++) {
                    const int C = mc_units[u].C;
                    int h[5] = {0};
                    for (int k = 0; k < n; k++) h[spy.log[(size_t)k * MC_D + u]]++;
                    for (int a = 0; a < C; a++) {
                        const double y = h[a] / (double)n;
                        s_cls[u * 5 + a] += y, q_cls[u * 5 + a] += y * y;
                        for (int b = a; b < C; b++) { /* unbiased for q2(a,b) (+ q2(b,a) off the diagonal) */
                            const double yp = (a == b ? h[a] * (h[a] - 1.0) : 2.0 * h[a] * h[b]) / (n * (n - 1.0));
                            s_pair[u * 25 + a * 5 + b] += yp, q_pair[u * 25 + a * 5 + b] += yp * yp;
                        }
                    }
                }
            }
            const double N = MC_DRAWS;
            for (int u = 0; u < MC_D; u++) {
                const int C = mc_units[u].C;
                const double *pi = mc_units[u].pi;
                double q2[25];
                assert_int_equal(gv_carms_joint(C, pi, n, q2), 0);
                for (int a = 0; a < C; a++) {
                    const double m = s_cls[u * 5 + a] / N, se = sqrt(fmax(0, q_cls[u * 5 + a] / N - m * m) / (N - 1));
                    const double z = se > 0 ? fabs(m - pi[a]) / se : INFINITY;
                    if (v == 0) zmax_j = fmax(zmax_j, z); else zmax_g = fmax(zmax_g, z);
                    CHECK(z < (v == 0 ? zj : zg), "%s n=%d unit %d: P(z = %d) %.5f +- %.5f, pi %.5f (z %.2f)",
                          v == 0 ? "carms" : "carms-gumbel", n, u, a, m, se, pi[a], z);
                    if (v == 1) continue;
                    for (int b = a; b < C; b++) {
                        const double want = a == b ? q2[a * C + a] : 2 * q2[a * C + b];
                        if (N * want * n * (n - 1) < MC_MIN_EVENTS) {
                            skipped++;
                            continue;
                        }
                        const double mp = s_pair[u * 25 + a * 5 + b] / N;
                        const double sp = sqrt(fmax(0, q_pair[u * 25 + a * 5 + b] / N - mp * mp) / (N - 1));
                        const double zp = sp > 0 ? fabs(mp - want) / sp : INFINITY;
                        zmax_j = fmax(zmax_j, zp);
                        CHECK(zp < zj, "carms n=%d unit %d (C=%d): pair {%d,%d} frequency %.6f +- %.6f, exact %.6f (z %.2f)", n, u,
                              C, a, b, mp, sp, want, zp);
                    }
                }
            }
            free(s_pair), free(q_pair), free(s_cls), free(q_cls);
            gsl_rng_free(r);
            drv_close(&d);
            free(spy.log), free(eta), free(g);
            gv_point_free(&pt);
            gv_layout_free(&P.layout);
        }
    print_message("  carms: %d z checks (%d rare cells skipped), largest z %.2f (thr %.2f); carms-gumbel marginals: "
                  "%d checks, largest z %.2f (thr %.2f)\n",
                  n_joint - skipped, skipped, zmax_j, zj, n_gum, zmax_g, zg);
    END_CHECKS();
}

/* ------------------------------------------------------------------ identity: w = 1 => rloo */

static const char *const rloo_problems[] = {
    "categorical-linear:D=3,C=3,seed=1",
    "categorical-abs:D=3,C=4,seed=2",
    "categorical-linear:D=2,C=10,seed=4",
};

static void test_identity_rloo(void **unused)
{
    n_bad = 0;
    static const int Ks[] = {2, 3, 5};
    for (size_t i = 0; i < sizeof rloo_problems / sizeof rloo_problems[0]; i++) {
        fixture f;
        assert_int_equal(fx_open(&f, rloo_problems[i]), 0);
        const gv_layout *L = &f.p->layout;
        const int P = L->n_params, D = L->n_units;
        /* w = 1: what independent draws give (joint/exact checks that the weights of the independence
         * joint are 1 up to rounding) */
        double **w = malloc((size_t)D * sizeof *w);
        for (int u = 0; u < D; u++) {
            const int C = L->units[u].ncat;
            w[u] = malloc((size_t)C * C * sizeof *w[u]);
            for (int q = 0; q < C * C; q++) w[u][q] = 1;
        }
        for (size_t t = 0; t < sizeof Ks / sizeof Ks[0]; t++) {
            const int K = Ks[t];
            driven rl;
            assert_int_equal(drv_open(&rl, "rloo", f.p, K), 0);
            gsl_rng *r1 = gv_rng_new(gv_rng_default(), SEED + i), *r2 = gv_rng_new(gv_rng_default(), SEED + i);
            gv_eval ev = {.problem = f.p, .pt = &f.pt, .exact = &f.ex};
            double *g1 = malloc((size_t)P * sizeof *g1), *g2 = malloc((size_t)P * sizeof *g2), fv[8], maxd = 0, fmaxabs = 0;
            int *z = malloc((size_t)K * D * sizeof *z);
            long nonzero = 0, N = 20000;
            for (long e = 0; e < N; e++) {
                memset(g1, 0, (size_t)P * sizeof *g1);
                memset(g2, 0, (size_t)P * sizeof *g2);
                assert_int_equal(rl.t->estimate(rl.st, &ev, K, r1, g1), 0);
                for (int k = 0; k < K; k++) { /* rloo's draws: K calls of gv_sample, then f */
                    gv_sample(&f.pt, r2, z + (size_t)k * D);
                    fv[k] = gv_problem_f(f.p, &f.pt, z + (size_t)k * D);
                    fmaxabs = fmax(fmaxabs, fabs(fv[k]));
                }
                gv_carms_combine(L, K, z, fv, (const double *const *)w, g2);
                for (int q = 0; q < P; q++) {
                    maxd = fmax(maxd, fabs(g1[q] - g2[q]));
                    nonzero += g1[q] != 0;
                }
            }
            /* both sides are sums of K^2 terms of size <= 2 max|f| / (K-1) each rounded once or twice */
            const double tol = 8 * K * K * 2 * fmaxabs * 0x1p-52;
            print_message("  %-38s K=%d: max |carms(w=1) - rloo| %.2e (tol %.1e), %ld nonzero coords\n", rloo_problems[i], K,
                          maxd, tol, nonzero);
            CHECK(maxd <= tol, "%s K=%d: differs from rloo by %.3g", rloo_problems[i], K, maxd);
            CHECK(nonzero > N, "%s K=%d: the identity is vacuous", rloo_problems[i], K);
            CHECK(gsl_rng_get(r1) == gsl_rng_get(r2), "%s K=%d: generators out of step", rloo_problems[i], K);
            free(g1), free(g2), free(z);
            gsl_rng_free(r1), gsl_rng_free(r2);
            drv_close(&rl);
        }
        for (int u = 0; u < D; u++) free(w[u]);
        free(w);
        fx_close(&f);
    }
    END_CHECKS();
}

/* ------------------------------------------------------------------ identity: C = 2 => arms, n = 2 => disarm */

/* A non-separable f on D bits, evaluated on a Bernoulli layout (z = b) or a C = 2 layout (z = class). */
#define TW_D 5
static double twin_f(const void *v, const int *z)
{
    static const double c1[TW_D] = {0.7, -1.3, 0.4, 2.1, -0.6};
    double s = 0.25;
    for (int i = 0; i < TW_D; i++) s += c1[i] * z[i];
    for (int i = 0; i < TW_D; i++)
        for (int j = i + 1; j < TW_D; j++) s += 0.3 * (i - j + 2.5) * z[i] * z[j];
    return s + 1.7 * z[0] * z[2] * z[4] - 0.9 * z[1] * z[3] * z[4];
}
static const gv_problem_type twin_type = {.name = "twin", .objective = GV_OBJ_EXPECTATION, .f = twin_f};

typedef struct {
    gv_problem pb, pc;
    gv_point ptb, ptc;
    double etab[TW_D], etac[2 * TW_D];
} twin;

static void twin_open(twin *t, const double *theta)
{
    memset(t, 0, sizeof *t);
    t->pb.type = t->pc.type = &twin_type; /* twin_f has no state */
    assert_int_equal(gv_layout_uniform(&t->pb.layout, TW_D, GV_UNIT_BERNOULLI, 2), 0);
    assert_int_equal(gv_layout_uniform(&t->pc.layout, TW_D, GV_UNIT_CATEGORICAL, 2), 0);
    for (int d = 0; d < TW_D; d++) {
        t->etab[d] = log(theta[d]) - log1p(-theta[d]);
        t->etac[2 * d] = 0, t->etac[2 * d + 1] = t->etab[d];
    }
    t->pb.eta = t->etab, t->pc.eta = t->etac;
    assert_int_equal(gv_point_init(&t->ptb, &t->pb.layout, t->etab), 0);
    assert_int_equal(gv_point_init(&t->ptc, &t->pc.layout, t->etac), 0);
}

static void twin_close(twin *t)
{
    gv_point_free(&t->ptb), gv_point_free(&t->ptc);
    gv_layout_free(&t->pb.layout), gv_layout_free(&t->pc.layout);
}

/* carms on the C = 2 twin against `other` on the Bernoulli twin, sample by sample. */
static void twin_compare(const double *theta, const char *other, int n, const char *label)
{
    twin t;
    twin_open(&t, theta);
    driven a, b;
    assert_int_equal(drv_open(&a, "carms", &t.pc, n), 0);
    assert_int_equal(drv_open(&b, other, &t.pb, n), 0);
    gsl_rng *r1 = gv_rng_new(gv_rng_default(), SEED + 50 + n), *r2 = gv_rng_new(gv_rng_default(), SEED + 50 + n);
    gv_eval e1 = {.problem = &t.pc, .pt = &t.ptc}, e2 = {.problem = &t.pb, .pt = &t.ptb};
    double gc[2 * TW_D], gb[TW_D], maxd = 0;
    long nonzero = 0, N = 20000;
    for (long e = 0; e < N; e++) {
        memset(gc, 0, sizeof gc), memset(gb, 0, sizeof gb);
        assert_int_equal(a.t->estimate(a.st, &e1, n, r1, gc), 0);
        assert_int_equal(b.t->estimate(b.st, &e2, n, r2, gb), 0);
        for (int d = 0; d < TW_D; d++) {
            maxd = fmax(maxd, fmax(fabs(gc[2 * d + 1] - gb[d]), fabs(gc[2 * d] + gb[d])));
            nonzero += gb[d] != 0;
        }
    }
    /* |f| <= 8 here, weights <= 1 / (1 - J/a) <= ~4 for these theta: terms up to ~64, a few roundings each */
    const double tol = 1e-12;
    print_message("  %-34s n=%-2d carms vs %-6s: max |diff| %.2e over %ld estimates (%ld nonzero)\n", label, n, other, maxd,
                  N, nonzero);
    CHECK(maxd <= tol, "%s n=%d: carms differs from %s by %.3g", label, n, other, maxd);
    CHECK(nonzero > N, "%s n=%d: vacuous (%ld nonzero)", label, n, nonzero);
    CHECK(gsl_rng_get(r1) == gsl_rng_get(r2) && e1.n_f == e2.n_f, "%s n=%d: random numbers or evaluations out of step", label, n);
    gsl_rng_free(r1), gsl_rng_free(r2);
    drv_close(&a), drv_close(&b);
    twin_close(&t);
}

static void test_identity_arms(void **unused)
{
    n_bad = 0;
    static const double minority1[TW_D] = {0.5, 0.6, 0.75, 0.9, 0.99}; /* pi_0 = 1 - theta <= 1/2 */
    static const int ns[] = {3, 4, 7, 20};
    for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++) twin_compare(minority1, "arms", ns[i], "theta = .5 .6 .75 .9 .99");
    END_CHECKS();
}

static void test_identity_disarm(void **unused)
{
    n_bad = 0;
    static const double mixed[TW_D] = {0.1, 0.3, 0.5, 0.7, 0.95};
    static const double minority1[TW_D] = {0.5, 0.6, 0.75, 0.9, 0.99};
    twin_compare(mixed, "disarm", 2, "theta = .1 .3 .5 .7 .95");
    twin_compare(mixed, "arms", 2, "theta = .1 .3 .5 .7 .95");
    twin_compare(minority1, "disarm", 2, "theta = .5 .6 .75 .9 .99");
    END_CHECKS();
}

/* ------------------------------------------------------------------ variance on the CARMS toy */

#define TOY "categorical-linear:D=3,C=3,alpha=1,seed=1"
#define R_TOY 100000L

static void test_variance_toy(void **unused)
{
    n_bad = 0;
    static const int Ks[] = {2, 3, 4};
    const int nk = sizeof Ks / sizeof Ks[0];
    const double zt = group_z1(nk);
    fixture f;
    assert_int_equal(fx_open(&f, TOY), 0);
    const int P = f.p->layout.n_params;
    for (int t = 0; t < nk; t++) {
        gv_row rc, rr;
        assert_int_equal(run_cell(&f, "carms", Ks[t], R_TOY, SEED, 0, &rc), 0);
        assert_int_equal(run_cell(&f, "rloo", Ks[t], R_TOY, SEED, 0, &rr), 0);
        /* var_sum = P var_mean, so its SE is P var_mean_se; the two cells use different streams */
        const double se = P * sqrt(rc.s.var_mean_se * rc.s.var_mean_se + rr.s.var_mean_se * rr.s.var_mean_se);
        const double z = (rr.s.var_sum - rc.s.var_sum) / se;
        print_message("  K=%d: var_sum carms %.4f  rloo %.4f  ratio %.3f  (difference %.1f SE, thr %.2f)\n", Ks[t],
                      rc.s.var_sum, rr.s.var_sum, rc.s.var_sum / rr.s.var_sum, z, zt);
        CHECK(!strcmp(rc.status, "ok") && !strcmp(rr.status, "ok"), "K=%d: status %s / %s", Ks[t], rc.status, rr.status);
        CHECK(z > zt, "K=%d: var_sum carms %.5f is not below rloo %.5f by %.2f SE (%.2f)", Ks[t], rc.s.var_sum,
              rr.s.var_sum, zt, z);
        gv_row_free(&rc), gv_row_free(&rr);
    }
    fx_close(&f);
    END_CHECKS();
}

/* ------------------------------------------------------------------ large n, interacting units */

/* The registry-wide test runs carms at K <= 4; the exact joint switches its evaluation of D(x, d)
 * above n - 1 = 64 (CARMS_HORNER_MAX).  Unbiasedness at n = 20 and n = 70 on categorical-coupled
 * (pairwise and triple interactions, units of 3, 4 and 2 classes): every unit's weights meet the
 * full f difference of all units. */
static void test_large_n(void **unused)
{
    n_bad = 0;
    fixture f;
    assert_int_equal(fx_open(&f, "categorical-coupled:D=3,C=3/4/2,seed=4"), 0);
    static const int Ks[] = {20, 70};
    const double zt = group_z(2 * f.p->layout.n_params);
    for (int t = 0; t < 2; t++) {
        gv_row row;
        assert_int_equal(run_cell(&f, "carms", Ks[t], 20000, SEED + 7, 0, &row), 0);
        print_message("  carms K=%d on %s: bias_z_max %.2f (thr %.2f), var_mean %.4g, %.3g distinct of %d points\n",
                      Ks[t], f.p->spec, row.s.bias_z_max, zt, row.s.var_mean, row.s.distinct_evals, Ks[t]);
        CHECK(!strcmp(row.status, "ok") && row.s.bias_z_max < zt, "carms K=%d: status %s, bias_z_max %.2f >= %.2f",
              Ks[t], row.status, row.s.bias_z_max, zt);
        gv_row_free(&row);
    }
    fx_close(&f);
    END_CHECKS();
}

/* ------------------------------------------------------------------ clip=1 */

#define CLIP_PROBLEM "categorical-linear:D=1,C=20,seed=1"
#define CLIP_K 2
#define R_CLIP 400000L

static void test_clip(void **unused)
{
    n_bad = 0;
    fixture f;
    assert_int_equal(fx_open(&f, CLIP_PROBLEM), 0);
    const int C = f.p->layout.units[0].ncat;
    const double *pi = f.pt.prob, *m = f.ex.cond; /* one unit: m_a = E[f | z = a] */
    double *q2 = malloc((size_t)C * C * sizeof *q2), *w = malloc((size_t)C * C * sizeof *w);
    double *pred[2];
    assert_int_equal(gv_carms_joint(C, pi, CLIP_K, q2), 0);
    for (int clip = 0; clip < 2; clip++) { /* E g_j = sum_b q2(j,b) w(j,b) (m_j - m_b) */
        pred[clip] = calloc((size_t)C, sizeof(double));
        gv_carms_weights(C, pi, q2, clip, w);
        for (int j = 0; j < C; j++)
            for (int b = 0; b < C; b++)
                if (b != j) pred[clip][j] += q2[j * C + b] * w[j * C + b] * (m[j] - m[b]);
    }
    double dpred = 0, gmax = 0;
    for (int j = 0; j < C; j++) dpred = fmax(dpred, fabs(pred[0][j] - f.ex.grad[j])), gmax = fmax(gmax, fabs(f.ex.grad[j]));
    CHECK(dpred <= 1e-12 * gmax, "clip=0: predicted mean differs from the exact gradient by %.3g (max |g| %.3g)", dpred, gmax);
    const double zt = group_z(2 * C);
    for (int clip = 0; clip < 2; clip++) {
        gv_row row;
        assert_int_equal(run_cell(&f, clip ? "carms:clip=1" : "carms", CLIP_K, R_CLIP, SEED + 7, 1, &row), 0);
        double zpred = 0, zbias = 0;
        for (int j = 0; j < C; j++) {
            const double se = sqrt(row.coord_var[j] / R_CLIP);
            zpred = fmax(zpred, fabs(row.coord_mean[j] - pred[clip][j]) / se);
            zbias = fmax(zbias, fabs(pred[clip][j] - f.ex.grad[j]) / se);
        }
        print_message("  clip=%d: harness mean vs predicted E g: max z %.2f (thr %.2f); predicted bias %.2f SE; "
                      "bias_z_max %.2f; message \"%s\"\n",
                      clip, zpred, zt, zbias, row.s.bias_z_max, row.message);
        CHECK(zpred < zt, "clip=%d: the mean is not the predicted expectation (max z %.2f)", clip, zpred);
        if (clip) {
            CHECK(zbias > zt && row.s.bias_z_max > zt, "clip=1: bias not detectable (predicted %.2f SE, bias_z_max %.2f)", zbias,
                  row.s.bias_z_max);
            CHECK(strstr(row.message, "clip=1: biased") != NULL, "clip=1: row message '%s'", row.message);
        } else {
            CHECK(row.s.bias_z_max < zt, "clip=0: bias_z_max %.2f", row.s.bias_z_max);
        }
        gv_row_free(&row);
    }
    free(pred[0]), free(pred[1]), free(q2), free(w);
    fx_close(&f);
    END_CHECKS();
}

/* ------------------------------------------------------------------ carms-gumbel: bias from the MC joint */

#define GUMBEL_PROBLEM "categorical-linear:D=2,C=3,seed=5"
#define R_GUMBEL 50000L

static void test_gumbel_consistency(void **unused)
{
    n_bad = 0;
    fixture f;
    assert_int_equal(fx_open(&f, GUMBEL_PROBLEM), 0);
    const double zt = group_z(f.p->layout.n_params);
    /* a fresh table per estimate: mc = 1000 costs 10x mc = 100 per estimate, so it gets R/5 (its bias,
     * ~10x smaller, would still be ~0.3 SE there if the bias shrinks like 1/mc; one that does not shrink
     * would show) */
    static const char *const specs[] = {"carms-gumbel", "carms-gumbel:mc=1000"};
    static const long Rs[] = {R_GUMBEL, R_GUMBEL / 5};
    double z[2];
    for (int i = 0; i < 2; i++) {
        gv_row row;
        assert_int_equal(run_cell(&f, specs[i], 2, Rs[i], 20240601ULL, 0, &row), 0);
        z[i] = row.s.bias_z_max;
        print_message("  %-22s K=2 on %s: bias_z_max %.2f (thr %.2f), var_mean %.4f\n", specs[i], GUMBEL_PROBLEM, z[i], zt,
                      row.s.var_mean);
        gv_row_free(&row);
    }
    CHECK(z[0] > zt, "carms-gumbel (mc=100): bias not detected (bias_z_max %.2f)", z[0]);
    CHECK(z[1] < zt, "carms-gumbel:mc=1000: bias_z_max %.2f, expected the MC joint's bias to be negligible", z[1]);
    fx_close(&f);
    END_CHECKS();
}

/* ------------------------------------------------------------------ extreme probabilities */

static void drive_finite(const char *est, const gv_problem *p, const gv_point *pt, int K, long N, const char *label)
{
    driven d;
    assert_int_equal(drv_open(&d, est, p, K), 0);
    gsl_rng *r = gv_rng_new(gv_rng_default(), SEED + 99 + K);
    gv_eval ev = {.problem = p, .pt = pt};
    const int P = p->layout.n_params;
    double *g = malloc((size_t)P * sizeof *g);
    long bad = 0;
    for (long e = 0; e < N; e++) {
        memset(g, 0, (size_t)P * sizeof *g);
        assert_int_equal(d.t->estimate(d.st, &ev, K, r, g), 0);
        for (int q = 0; q < P; q++) bad += !isfinite(g[q]);
    }
    print_message("  %-16s K=%d %-44s %ld estimates, %ld non-finite coordinates\n", est, K, label, N, bad);
    CHECK(bad == 0, "%s K=%d %s: %ld non-finite coordinates", est, K, label, bad);
    free(g);
    gsl_rng_free(r);
    drv_close(&d);
}

static void check_tables(int C, const double *pi, int n, const char *label)
{
    double *q2 = malloc((size_t)C * C * sizeof *q2), *w = malloc((size_t)C * C * sizeof *w);
    assert_int_equal(gv_carms_joint(C, pi, n, q2), 0);
    for (int clip = 0; clip < 2; clip++) {
        gv_carms_weights(C, pi, q2, clip, w);
        long bad = 0;
        for (int i = 0; i < C * C; i++) bad += !(isfinite(q2[i]) && q2[i] >= 0 && isfinite(w[i]) && w[i] >= 0);
        CHECK(bad == 0, "%s n=%d clip=%d: %ld bad table entries", label, n, clip, bad);
    }
    double worst = 0;
    for (int a = 0; a < C; a++) {
        double s = 0;
        for (int b = 0; b < C; b++) s += q2[a * C + b];
        worst = fmax(worst, fabs(s - pi[a]));
    }
    CHECK(worst <= 1e-12, "%s n=%d: row sums off pi by %.3g", label, n, worst);
    free(q2), free(w);
}

static void test_extreme(void **unused)
{
    n_bad = 0;
    static const char *const ests[] = {"carms", "carms:clip=1", "carms-gumbel"};
    /* one class at 1 - 1e-6 (two units), through the harness */
    fixture f;
    assert_int_equal(fx_open(&f, "categorical-linear:D=3,C=3,p=0.999999/0.0000005/0.0000005/0.0000005/0.999999/0.0000005/"
                                 "0.2/0.3/0.5"), 0);
    static const int Ks[] = {2, 3, 6};
    for (size_t e = 0; e < sizeof ests / sizeof ests[0]; e++)
        for (size_t k = 0; k < sizeof Ks / sizeof Ks[0]; k++) {
            gv_row row;
            assert_int_equal(run_cell(&f, ests[e], Ks[k], 20000, SEED, 0, &row), 0);
            CHECK(!strcmp(row.status, "ok") && row.s.nonfinite == 0, "%s K=%d pi = 1 - 1e-6: status %s, %g non-finite",
                  ests[e], Ks[k], row.status, row.s.nonfinite);
            gv_row_free(&row);
        }
    for (int u = 0; u < 2; u++) check_tables(3, f.pt.prob + 3 * u, 3, "pi = 1 - 1e-6");
    /* logits +-700 and +-50: pi = (1, 1e-304, 0) and (1, 2e-22, 4e-44) */
    double eta[9] = {700, 0, -700, 50, 0, -50, 0.3, -0.2, 0.1};
    gv_point pt;
    assert_int_equal(gv_point_init(&pt, &f.p->layout, eta), 0);
    for (size_t e = 0; e < sizeof ests / sizeof ests[0]; e++) drive_finite(ests[e], f.p, &pt, 3, 20000, "logits +-700, +-50");
    check_tables(3, pt.prob, 4, "logits +-700");
    check_tables(3, pt.prob + 3, 4, "logits +-50");
    gv_point_free(&pt);
    fx_close(&f);
    /* C = 100: Dirichlet(1) pi, and one class at 1 - 1e-6 with the rest 1e-6/99 each */
    assert_int_equal(fx_open(&f, "categorical-linear:D=2,C=100,seed=3"), 0);
    const int C = 100;
    double *eta2 = malloc(2 * C * sizeof *eta2);
    memcpy(eta2, f.p->eta, 2 * C * sizeof *eta2);
    eta2[0] = log1p(-1e-6);
    for (int c = 1; c < C; c++) eta2[c] = log(1e-6 / (C - 1));
    assert_int_equal(gv_point_init(&pt, &f.p->layout, eta2), 0);
    /* carms-gumbel at C = 100: mc = 10 (a fresh table per estimate; most pairs never drawn: w = 1) */
    static const char *const ests100[] = {"carms", "carms:clip=1", "carms-gumbel:mc=10"};
    for (size_t e = 0; e < sizeof ests100 / sizeof ests100[0]; e++)
        drive_finite(ests100[e], f.p, &pt, 3, 3000, "C=100, 1-1e-6 and Dirichlet(1)");
    drive_finite("carms", f.p, &pt, 5, 3000, "C=100, 1-1e-6 and Dirichlet(1)");
    check_tables(C, pt.prob, 3, "C=100 near-degenerate");
    check_tables(C, pt.prob + C, 3, "C=100 Dirichlet(1)");
    gv_point_free(&pt);
    free(eta2);
    fx_close(&f);
    END_CHECKS();
}

/* ------------------------------------------------------------------ the weight-table cache */

static void test_cache(void **unused)
{
    n_bad = 0;
    static const char *const ests[] = {"carms", "carms-gumbel"};
    for (int v = 0; v < 2; v++) {
        fixture f, same;
        assert_int_equal(fx_open(&f, "categorical-linear:D=3,C=4,seed=1"), 0);
        assert_int_equal(fx_open(&same, "categorical-linear:D=3,C=4,p=0.1/0.2/0.3/0.4"), 0);
        const int P = f.p->layout.n_params, K = 3;
        double g[12], g2[12];
        driven a, b;
        assert_int_equal(drv_open(&a, ests[v], f.p, K), 0);
        gsl_rng *r = gv_rng_new(gv_rng_default(), SEED + 300 + v);
        gv_eval ev = {.problem = f.p, .pt = &f.pt};
        for (int e = 0; e < 1000; e++) a.t->estimate(a.st, &ev, K, r, memset(g, 0, sizeof g));
        /* carms: one table per unit and point; carms-gumbel: a fresh one per unit and estimate */
        CHECK(gv_carms_builds(a.st) == (v ? 3000 : 3), "%s: %ld table builds for 3 units at one point, 1000 estimates",
              ests[v], gv_carms_builds(a.st));
        /* equal logits on every unit: one build, two copies */
        assert_int_equal(drv_open(&b, ests[v], same.p, K), 0);
        gv_eval evs = {.problem = same.p, .pt = &same.pt};
        for (int e = 0; e < 100; e++) b.t->estimate(b.st, &evs, K, r, memset(g, 0, sizeof g));
        CHECK(gv_carms_builds(b.st) == (v ? 100 : 1), "%s: %ld builds for 3 units with equal logits, 100 estimates",
              ests[v], gv_carms_builds(b.st));
        drv_close(&b);
        /* move unit 1 only: one rebuild; then the instance agrees bit for bit with a fresh one */
        double *eta = malloc((size_t)P * sizeof *eta);
        memcpy(eta, f.p->eta, (size_t)P * sizeof *eta);
        eta[5] += 0.7, eta[6] -= 0.3;
        gv_point p2;
        assert_int_equal(gv_point_init(&p2, &f.p->layout, eta), 0);
        gv_eval ev2 = {.problem = f.p, .pt = &p2};
        assert_int_equal(drv_open(&b, ests[v], f.p, K), 0);
        gsl_rng *r1 = gv_rng_new(gv_rng_default(), SEED + 310), *r2 = gv_rng_new(gv_rng_default(), SEED + 310);
        long diff = 0;
        for (int e = 0; e < 500; e++) {
            a.t->estimate(a.st, &ev2, K, r1, memset(g, 0, sizeof g));
            b.t->estimate(b.st, &ev2, K, r2, memset(g2, 0, sizeof g2));
            diff += memcmp(g, g2, sizeof g) != 0;
        }
        CHECK(gv_carms_builds(a.st) == (v ? 4500 : 4), "%s: %ld builds after moving one unit", ests[v],
              gv_carms_builds(a.st));
        if (v == 0) /* carms-gumbel's moved table comes from a different draw of its own stream: compare carms only */
            CHECK(diff == 0, "carms: %ld of 500 estimates differ from a fresh instance after the point moved", diff);
        /* back to the first point: a fresh instance again agrees (carms) */
        driven c;
        assert_int_equal(drv_open(&c, ests[v], f.p, K), 0);
        diff = 0;
        for (int e = 0; e < 500; e++) {
            a.t->estimate(a.st, &ev, K, r1, memset(g, 0, sizeof g));
            c.t->estimate(c.st, &ev, K, r2, memset(g2, 0, sizeof g2));
            diff += memcmp(g, g2, sizeof g) != 0;
        }
        if (v == 0) CHECK(diff == 0, "carms: %ld of 500 estimates differ from a fresh instance back at the first point", diff);
        print_message("  %-12s builds: %s%s\n", ests[v], v ? "3 per estimate (1 for equal logits)" :
                      "3 at one point, 1 for equal logits, +1 after moving one unit",
                      v == 0 ? "; bit-identical to fresh instances after each move" : "");
        /* carms-gumbel: same seed => the same table and estimates */
        if (v == 1) {
            driven x, y;
            assert_int_equal(drv_open(&x, ests[v], f.p, K), 0);
            assert_int_equal(drv_open(&y, ests[v], f.p, K), 0);
            gsl_rng *s1 = gv_rng_new(gv_rng_default(), 5), *s2 = gv_rng_new(gv_rng_default(), 5);
            diff = 0;
            for (int e = 0; e < 300; e++) {
                x.t->estimate(x.st, &ev, K, s1, memset(g, 0, sizeof g));
                y.t->estimate(y.st, &ev, K, s2, memset(g2, 0, sizeof g2));
                diff += memcmp(g, g2, sizeof g) != 0;
            }
            CHECK(diff == 0, "carms-gumbel: same seed, %ld of 300 estimates differ", diff);
            gsl_rng_free(s1), gsl_rng_free(s2);
            drv_close(&x), drv_close(&y);
        }
        drv_close(&c);
        /* carms: copy_learned hands a built table on (same estimates, no build); carms-gumbel has none */
        if (v == 0) {
            driven h;
            assert_int_equal(drv_open(&h, ests[v], f.p, K), 0);
            CHECK(a.t->copy_learned != NULL, "carms: no copy_learned");
            if (a.t->copy_learned) a.t->copy_learned(h.st, a.st); /* a is at the first point again */
            assert_int_equal(drv_open(&c, ests[v], f.p, K), 0);
            diff = 0;
            for (int e = 0; e < 200; e++) {
                h.t->estimate(h.st, &ev, K, r1, memset(g, 0, sizeof g));
                c.t->estimate(c.st, &ev, K, r2, memset(g2, 0, sizeof g2));
                diff += memcmp(g, g2, sizeof g) != 0;
            }
            CHECK(gv_carms_builds(h.st) == 0 && diff == 0, "carms copy_learned: %ld builds, %ld of 200 estimates differ",
                  gv_carms_builds(h.st), diff);
            drv_close(&h), drv_close(&c);
        } else
            CHECK(a.t->copy_learned == NULL, "carms-gumbel: blocks should keep independent tables");
        gsl_rng_free(r), gsl_rng_free(r1), gsl_rng_free(r2);
        drv_close(&a), drv_close(&b);
        gv_point_free(&p2);
        free(eta);
        fx_close(&f), fx_close(&same);
    }
    END_CHECKS();
}

/* ------------------------------------------------------------------ options and compatibility */

static void test_options(void **unused)
{
    n_bad = 0;
    char msg[GV_ERRLEN];
    fixture f, b, big;
    assert_int_equal(fx_open(&f, "categorical-linear:D=2,C=3,seed=5"), 0);
    assert_int_equal(fx_open(&b, "bernoulli-quadratic:D=3,t=0.3"), 0);
    assert_int_equal(fx_open(&big, "categorical-linear:D=1,C=201"), 0);
    static const char *const bad[] = {"carms:clip=2", "carms:mc=10", "carms-gumbel:mc=0", "carms-gumbel:clip=-1", "carms:copula=x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        gv_spec s;
        gv_estimator *e = NULL;
        int rc = gv_spec_parse(bad[i], &s, msg);
        if (!rc) rc = gv_estimator_new(&s, f.p, 3, &e, msg);
        CHECK(rc == GV_EUSAGE, "%s: rc %d (expected a usage error): %s", bad[i], rc, msg);
        gv_estimator_free(e);
    }
    static const char *const good[] = {"carms", "carms:clip=1", "carms-gumbel", "carms-gumbel:mc=10,clip=1"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        gv_spec s;
        gv_estimator *e = NULL;
        int rc = gv_spec_parse(good[i], &s, msg);
        if (!rc) rc = gv_estimator_new(&s, f.p, 2, &e, msg);
        CHECK(rc == GV_OK, "%s: rc %d: %s", good[i], rc, msg);
        gv_estimator_free(e);
        gv_estimator *e2 = NULL;
        if (!gv_spec_parse(good[i], &s, msg)) rc = gv_estimator_new(&s, b.p, 2, &e2, msg);
        CHECK(rc == -1, "%s on Bernoulli units: rc %d (expected incompatible)", good[i], rc);
        gv_estimator_free(e2);
    }
    gv_row row;
    assert_int_equal(run_cell(&big, "carms", 3, 10, SEED, 0, &row), 0);
    print_message("  carms at C=201: status %s, \"%s\"\n", row.status, row.message);
    CHECK(!strcmp(row.status, "incompatible") && strstr(row.message, "O(C^4)"), "C=201: status %s, %s", row.status, row.message);
    gv_row_free(&row);
    assert_int_equal(run_cell(&f, "carms-gumbel", 3, 300, SEED, 0, &row), 0);
    CHECK(strstr(row.message, "mc=100") && strstr(row.message, "biased"), "carms-gumbel note: '%s'", row.message);
    gv_row_free(&row);
    fx_close(&f), fx_close(&b), fx_close(&big);
    END_CHECKS();
}

/* ------------------------------------------------------------------ main */

int main(void)
{
    gsl_set_error_handler_off();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_orderings),
        cmocka_unit_test(test_joint_exact),
        cmocka_unit_test(test_joint_tiny),
        cmocka_unit_test(test_joint_monte_carlo),
        cmocka_unit_test(test_identity_rloo),
        cmocka_unit_test(test_identity_arms),
        cmocka_unit_test(test_identity_disarm),
        cmocka_unit_test(test_variance_toy),
        cmocka_unit_test(test_large_n),
        cmocka_unit_test(test_clip),
        cmocka_unit_test(test_gumbel_consistency),
        cmocka_unit_test(test_extreme),
        cmocka_unit_test(test_cache),
        cmocka_unit_test(test_options),
    };
    return cmocka_run_group_tests_name("carms", tests, NULL, NULL);
}
