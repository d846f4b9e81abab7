/* test_stats.c — the statistics of DESIGN.md "Statistics".
 *
 *  1. Welford accumulators (scalar and per-coordinate) against a two-pass computation in long
 *     double, for every way of cutting the data into consecutive blocks that are merged in order
 *     (Chan, Golub & LeVeque 1979), including empty blocks.
 *  2. gv_summarise on block statistics built from a hand-made matrix of estimates: every summary
 *     column recomputed here from its definition, independently of harness/stats.c.
 *  3. The standard error of var_mean checked by simulation: many independent runs of the real
 *     engine; the spread of var_mean across runs must match the mean reported var_mean_se.
 */
#include <math.h>
#include <omp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <gsl/gsl_errno.h>

#include "harness/engine.h"
#include "harness/exact.h"
#include "harness/rng.h"
#include "harness/stats.h"

/* Soft checks: report every failing case, free everything, then fail the test once. */
#include "tests/testkit.h"

static int close_rel(double a, double b, double rel)
{
    return fabs(a - b) <= rel * fmax(fabs(a), fabs(b)) || a == b;
}

/* ------------------------------------------------------------------ data */

/* Deterministic, skewed data with an offset: x_i = 100 + e_i^3 with e_i a fixed LCG-driven
 * uniform in (-1, 1), so the mean is far from 0 relative to the spread (a naive sum of squares
 * would lose digits; Welford must not). */
#define N_DATA 1000
static double data_x[N_DATA];
static double data_v[N_DATA][3];

static void make_data(void)
{
    unsigned long long s = 12345;
    for (int i = 0; i < N_DATA; i++) {
        double e[4];
        for (int k = 0; k < 4; k++) {
            s = s * 6364136223846793005ULL + 1442695040888963407ULL;
            e[k] = ((s >> 11) * 0x1.0p-53) * 2 - 1;
        }
        data_x[i] = 100 + e[0] * e[0] * e[0];
        data_v[i][0] = -50 + 3 * e[1];
        data_v[i][1] = 1e-3 * e[2] + 1e-3 * e[1];
        data_v[i][2] = 7 + (e[3] > 0.9 ? 40 : 0); /* rare large values: heavy right tail */
    }
}

/* two-pass mean and M2 in long double over x[lo..hi) with stride */
static void two_pass(const double *x, int lo, int hi, int stride, long double *mean, long double *m2)
{
    long double s = 0, q = 0;
    for (int i = lo; i < hi; i++) s += x[(size_t)i * stride];
    long double m = hi > lo ? s / (hi - lo) : 0;
    for (int i = lo; i < hi; i++) {
        long double d = x[(size_t)i * stride] - m;
        q += d * d;
    }
    *mean = m;
    *m2 = q;
}

/* Cut points used to split the data into consecutive blocks (merged in order). */
static const int cuts_a[] = {0, N_DATA};                        /* one block */
static const int cuts_b[] = {0, 0, N_DATA};                     /* empty first block */
static const int cuts_c[] = {0, N_DATA, N_DATA};                /* empty last block */
static const int cuts_d[] = {0, 1, N_DATA};                     /* 1 + rest */
static const int cuts_e[] = {0, N_DATA - 1, N_DATA};            /* rest + 1 */
static const int cuts_f[] = {0, 500, N_DATA};                   /* halves */
static const int cuts_g[] = {0, 7, 256, 257, 600, 999, N_DATA}; /* uneven blocks */
static const int cuts_h[] = {0, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233, 377, 610, 987, N_DATA};
static const struct {
    const char *name;
    const int *cuts;
    int n;
} splits[] = {
    {"one-block", cuts_a, 2}, {"empty-first", cuts_b, 3}, {"empty-last", cuts_c, 3},
    {"1+rest", cuts_d, 3},    {"rest+1", cuts_e, 3},      {"halves", cuts_f, 3},
    {"uneven", cuts_g, 7},    {"fibonacci", cuts_h, 16},
};
#define N_SPLITS (sizeof splits / sizeof splits[0])

/* Relative agreement demanded of a one-pass accumulator vs two-pass: the data have
 * mean/sd ~ 200 for data_x, so Welford's rounding error is a few hundred ulps at most. */
#define WELFORD_REL 1e-12

static void test_welford_scalar(void **unused)
{
    n_bad = 0;
    long double m, q;
    two_pass(data_x, 0, N_DATA, 1, &m, &q);
    for (size_t s = 0; s < N_SPLITS; s++) {
        gv_welford acc = {0, 0, 0};
        for (int b = 0; b + 1 < splits[s].n; b++) {
            gv_welford blk = {0, 0, 0};
            for (int i = splits[s].cuts[b]; i < splits[s].cuts[b + 1]; i++) gv_welford_add(&blk, data_x[i]);
            gv_welford_merge(&acc, &blk);
        }
        CHECK(acc.n == N_DATA, "split %s: n = %g", splits[s].name, acc.n);
        CHECK(close_rel(acc.mean, (double)m, WELFORD_REL), "split %s: mean %.17g vs two-pass %.17g",
              splits[s].name, acc.mean, (double)m);
        CHECK(close_rel(acc.m2, (double)q, WELFORD_REL), "split %s: M2 %.17g vs two-pass %.17g", splits[s].name,
              acc.m2, (double)q);
        CHECK(close_rel(gv_welford_var(&acc), (double)(q / (N_DATA - 1)), WELFORD_REL),
              "split %s: var %.17g vs two-pass %.17g", splits[s].name, gv_welford_var(&acc),
              (double)(q / (N_DATA - 1)));
    }
    /* variance is undefined below two observations */
    gv_welford one = {0, 0, 0};
    CHECK(isnan(gv_welford_var(&one)), "var of 0 observations should be NAN");
    gv_welford_add(&one, 3.0);
    CHECK(isnan(gv_welford_var(&one)), "var of 1 observation should be NAN");
    gv_welford_add(&one, 5.0);
    CHECK(gv_welford_var(&one) == 2.0, "var(3,5) = %g, expected 2", gv_welford_var(&one));
    END_CHECKS();
}

static void test_welford_vector(void **unused)
{
    n_bad = 0;
    const int P = 3;
    long double m[3], q[3];
    for (int p = 0; p < P; p++) two_pass(&data_v[0][p], 0, N_DATA, P, &m[p], &q[p]);
    for (size_t s = 0; s < N_SPLITS; s++) {
        gv_vwelford acc, blk;
        assert_int_equal(gv_vwelford_init(&acc, P), 0);
        for (int b = 0; b + 1 < splits[s].n; b++) {
            assert_int_equal(gv_vwelford_init(&blk, P), 0);
            for (int i = splits[s].cuts[b]; i < splits[s].cuts[b + 1]; i++) gv_vwelford_add(&blk, data_v[i]);
            gv_vwelford_merge(&acc, &blk);
            gv_vwelford_free(&blk);
        }
        CHECK(acc.n == N_DATA, "split %s: n = %g", splits[s].name, acc.n);
        for (int p = 0; p < P; p++) {
            CHECK(close_rel(acc.mean[p], (double)m[p], WELFORD_REL), "split %s coord %d: mean %.17g vs %.17g",
                  splits[s].name, p, acc.mean[p], (double)m[p]);
            CHECK(close_rel(acc.m2[p], (double)q[p], WELFORD_REL), "split %s coord %d: M2 %.17g vs %.17g",
                  splits[s].name, p, acc.m2[p], (double)q[p]);
        }
        gv_vwelford_free(&acc);
    }
    END_CHECKS();
}

/* ------------------------------------------------------------------ gv_summarise */

/* A hand-made set of R = 12 estimates of a P = 3 gradient, in two blocks (7 + 5) so that the
 * merge and the block-centred SE terms are exercised. */
#define SR 12
#define SP 3
static const double S_G[SR][SP] = {
    {0.9, -2.0, 0.31}, {1.4, -1.0, 0.29}, {0.2, -3.5, 0.30}, {1.1, 0.5, 0.35},
    {0.7, -2.2, 0.27}, {2.5, -1.9, 0.33}, {0.0, -2.8, 0.30}, {1.3, -0.4, 0.26},
    {0.8, -2.6, 0.34}, {1.9, -1.1, 0.31}, {0.4, -3.0, 0.28}, {1.0, -1.7, 0.32},
};
static const double S_GSTAR[SP] = {1.0, -1.5, 0.25};
static const int S_CUT = 7;

static void test_summarise_definitions(void **unused)
{
    n_bad = 0;
    const double nf_per = 3.0, nonfinite = 2.0; /* work per attempted estimate; excluded estimates */
    double gnorm = 0;
    for (int p = 0; p < SP; p++) gnorm += S_GSTAR[p] * S_GSTAR[p];
    gnorm = sqrt(gnorm);

    gv_block_stats a, b;
    assert_int_equal(gv_block_stats_init(&a, SP), 0);
    assert_int_equal(gv_block_stats_init(&b, SP), 0);
    gv_block_stats_add(&a, &S_G[0][0], S_CUT, S_GSTAR, gnorm);
    gv_block_stats_add(&b, &S_G[S_CUT][0], SR - S_CUT, S_GSTAR, gnorm);
    /* the work counters are filled by the engine; set them as it would */
    a.n_f = nf_per * (S_CUT + nonfinite);
    a.nonfinite = nonfinite;
    b.n_f = nf_per * (SR - S_CUT);
    a.ns = 1000, b.ns = 500;
    gv_block_stats_merge(&a, &b);
    gv_summary s;
    gv_summarise(&a, S_GSTAR, SP, &s);

    /* independent computation from the definitions */
    double mean[SP] = {0}, var[SP] = {0};
    for (int p = 0; p < SP; p++) {
        for (int r = 0; r < SR; r++) mean[p] += S_G[r][p];
        mean[p] /= SR;
        for (int r = 0; r < SR; r++) var[p] += (S_G[r][p] - mean[p]) * (S_G[r][p] - mean[p]);
        var[p] /= SR - 1;
    }
    double var_sum = 0, var_max = 0, b2raw = 0, zmax = 0, snr = 0;
    for (int p = 0; p < SP; p++) {
        var_sum += var[p];
        var_max = fmax(var_max, var[p]);
        double d = mean[p] - S_GSTAR[p];
        b2raw += d * d;
        zmax = fmax(zmax, fabs(d) / sqrt(var[p] / SR));
        snr += fabs(mean[p]) / sqrt(var[p]);
    }
    snr /= SP;
    double var_mean = var_sum / SP;
    double mse = 0, cm = 0, cq = 0;
    double cosv[SR];
    for (int r = 0; r < SR; r++) {
        double e2 = 0, dot = 0, nn = 0;
        for (int p = 0; p < SP; p++) {
            e2 += (S_G[r][p] - S_GSTAR[p]) * (S_G[r][p] - S_GSTAR[p]);
            dot += S_G[r][p] * S_GSTAR[p];
            nn += S_G[r][p] * S_G[r][p];
        }
        mse += e2 / SR;
        cosv[r] = dot / (sqrt(nn) * gnorm);
        cm += cosv[r] / SR;
    }
    for (int r = 0; r < SR; r++) cq += (cosv[r] - cm) * (cosv[r] - cm) / (SR - 1);
    /* SE of var_mean: influence terms d_r = (1/P)||g_r - block mean||^2 * B/(B-1) (stats.h),
     * SE = sd(d)/sqrt(R). */
    double dr[SR], dm = 0, dq = 0;
    for (int blk = 0; blk < 2; blk++) {
        int lo = blk ? S_CUT : 0, hi = blk ? SR : S_CUT, B = hi - lo;
        double bm[SP] = {0};
        for (int p = 0; p < SP; p++) {
            for (int r = lo; r < hi; r++) bm[p] += S_G[r][p];
            bm[p] /= B;
        }
        for (int r = lo; r < hi; r++) {
            double d = 0;
            for (int p = 0; p < SP; p++) d += (S_G[r][p] - bm[p]) * (S_G[r][p] - bm[p]);
            dr[r] = d / SP * B / (B - 1);
        }
    }
    for (int r = 0; r < SR; r++) dm += dr[r] / SR;
    for (int r = 0; r < SR; r++) dq += (dr[r] - dm) * (dr[r] - dm) / (SR - 1);
    double se = sqrt(dq / SR);
    double f_evals = nf_per; /* n_f / (R + nonfinite) */

    const double rel = 1e-12;
    struct { const char *name; double got, want; } cols[] = {
        {"replicates", s.replicates, SR},
        {"nonfinite", s.nonfinite, nonfinite},
        {"exact_norm", s.exact_norm, gnorm},
        {"f_evals", s.f_evals, f_evals},
        {"ftilde_evals", s.ftilde_evals, 0},
        {"grad_evals", s.grad_evals, 0},
        {"ns_per_estimate", s.ns_per_estimate, 1500.0 / (SR + nonfinite)},
        {"var_mean", s.var_mean, var_mean},
        {"var_mean_se", s.var_mean_se, se},
        {"var_sum", s.var_sum, var_sum},
        {"var_max", s.var_max, var_max},
        {"log10_var_mean", s.log10_var_mean, log10(var_mean)},
        {"bias2_raw", s.bias2_raw, b2raw},
        {"bias2", s.bias2, b2raw - var_sum / SR},
        {"bias_z_max", s.bias_z_max, zmax},
        {"mse", s.mse, mse},
        {"cos_mean", s.cos_mean, cm},
        {"cos_var", s.cos_var, cq},
        {"snr", s.snr, snr},
        {"work_norm_var", s.work_norm_var, var_mean * f_evals},
    };
    for (size_t i = 0; i < sizeof cols / sizeof cols[0]; i++)
        CHECK(close_rel(cols[i].got, cols[i].want, rel), "%s = %.17g, definition gives %.17g", cols[i].name,
              cols[i].got, cols[i].want);
    gv_block_stats_free(&a);
    gv_block_stats_free(&b);
    END_CHECKS();
}

/* A coordinate that never varies: its z is 0 if it sits on the exact value and enormous if it
 * is off by far more than rounding (the SE is floored at GV_FP_RESOLUTION x the coordinate's
 * magnitude, so "enormous" is ~ 0.1 / (1e-12 x 0.9) here; we ask for > 1e6); it does not enter
 * snr (|mean|/0). */
static void test_summarise_constant_coordinate(void **unused)
{
    n_bad = 0;
    const double G[4][2] = {{1, 0.5}, {2, 0.5}, {3, 0.5}, {6, 0.5}};
    for (int on_target = 0; on_target < 2; on_target++) {
        const double gstar[2] = {3.0, on_target ? 0.5 : 0.4};
        double gn = sqrt(gstar[0] * gstar[0] + gstar[1] * gstar[1]);
        gv_block_stats st;
        assert_int_equal(gv_block_stats_init(&st, 2), 0);
        gv_block_stats_add(&st, &G[0][0], 4, gstar, gn);
        gv_summary s;
        gv_summarise(&st, gstar, 2, &s);
        /* coordinate 0: mean 3 = g*, var = (4+1+0+9)/3 */
        CHECK(close_rel(s.var_sum, 14.0 / 3, 1e-14), "var_sum = %.17g", s.var_sum);
        CHECK(close_rel(s.snr, 3.0 / sqrt(14.0 / 3), 1e-14), "snr = %.17g (constant coordinate must be skipped)",
              s.snr);
        if (on_target)
            CHECK(s.bias_z_max == 0, "on target: bias_z_max = %g, expected 0", s.bias_z_max);
        else
            CHECK(s.bias_z_max > 1e6, "off target by 0.1 with zero variance: bias_z_max = %g, expected huge",
                  s.bias_z_max);
        gv_block_stats_free(&st);
    }
    /* fewer than two estimates: every statistic that needs a variance is NAN */
    gv_block_stats st;
    assert_int_equal(gv_block_stats_init(&st, 2), 0);
    const double gstar[2] = {1, 1};
    gv_block_stats_add(&st, &G[0][0], 1, gstar, sqrt(2.0));
    gv_summary s;
    gv_summarise(&st, gstar, 2, &s);
    CHECK(isnan(s.var_mean) && isnan(s.bias_z_max) && isnan(s.var_mean_se) && isnan(s.mse),
          "R = 1: var_mean %g bias_z_max %g se %g mse %g should be NAN", s.var_mean, s.bias_z_max,
          s.var_mean_se, s.mse);
    gv_block_stats_free(&st);
    END_CHECKS();
}

/* ------------------------------------------------------------------ SE of var_mean by simulation */

/* M independent runs (master seeds 1000..1000+M-1) of R replicates each.  Let v_m be the
 * var_mean of run m and se_m its reported var_mean_se.  If the SE is right, mean(se_m)/sd(v_m) -> 1.
 *
 * Tolerance, derived before looking at any output:
 *  - sd(v) is a sample sd from M values.  For a sample sd S of M values with kurtosis kappa,
 *    Var(S)/sigma^2 ~ (kappa - 1)/(4(M - 1)), i.e. relative sd 1/sqrt(2(M-1)) for Gaussian
 *    values (kappa = 3).  var_mean is an average over R nearly independent terms, so across runs
 *    it is close to Gaussian; we use the sample kurtosis of the v_m (never below 3) to be safe
 *    with heavy-tailed estimators.
 *  - mean(se) has relative sd  sd(se_m) / (mean(se_m) sqrt(M)), measured from the runs.
 *  - Deterministic O(1/R) effects (the square root of an unbiased variance is biased low by about
 *    (kurt-1)/(8R); the delta-method linearisation of var_mean; block centring, O(1/B)) are
 *    covered by an allowance of 10/R.
 *  Assert |ratio - 1| < 4 sqrt((kappa-1)/(4(M-1)) + (sd(se)/mean(se))^2/M) + 10/R: a 4-sigma
 *  band, two-sided false-alarm probability ~6e-5 per case. */
typedef struct {
    const char *problem;
    const char *estimator;
    int K;
    long R; /* also exercises how R is cut into blocks (GV_BLOCK = 256) */
} se_case;

static const se_case se_cases[] = {
    /* f nearly constant: each coordinate of an estimate takes two values (very non-Gaussian) */
    {"bernoulli-quadratic:D=4,p=0.3", "reinforce", 1, 512},
    /* non-separable f, heavier tails, correlated coordinates; 3 uneven blocks */
    {"bernoulli-coupled:D=6,seed=3", "rloo", 2, 700},
    /* categorical scores, coordinates negatively correlated within a unit; 2 blocks of 150 */
    {"categorical-abs:D=3,C=4,seed=2", "reinforce", 1, 300},
};

static void test_se_by_simulation(void **state)
{
    n_bad = 0;
    const se_case *c = *state;
    const int M = 2000;
    const long R = c->R;
    char err[GV_ERRLEN];
    gv_problem *p = NULL;
    assert_int_equal(gv_problem_new(c->problem, &p, err), GV_OK);
    gv_point pt;
    gv_exact ex;
    assert_int_equal(gv_point_init(&pt, &p->layout, p->eta), 0);
    assert_int_equal(gv_exact_alloc(&ex, &p->layout), 0);
    assert_int_equal(gv_exact_compute(p, &pt, GV_DEFAULT_MAX_STATES, 0, &ex, err), GV_OK);
    double *v = malloc((size_t)M * sizeof *v);
    assert_non_null(v);
    /* Thousands of tiny runs: one thread avoids OpenMP barrier spinning when the machine is
     * loaded; results do not depend on the thread count (test_determinism.c). */
    int threads = omp_get_max_threads();
    omp_set_num_threads(1);
    gv_welford vw = {0, 0, 0}, se = {0, 0, 0};
    int not_ok = 0, n = 0;
    for (int m = 0; m < M; m++) {
        gv_engine_opts o = {.R = R, .W = 0, .seed = 1000 + (uint64_t)m, .rng = gv_rng_default(), .timing = 0};
        gv_row row;
        int rc = gv_run_cell(p, &pt, &ex, c->estimator, c->K, &o, 0, &row, err);
        if (rc != GV_OK || strcmp(row.status, "ok")) not_ok++;
        else {
            v[n++] = row.s.var_mean;
            gv_welford_add(&vw, row.s.var_mean);
            gv_welford_add(&se, row.s.var_mean_se);
        }
        gv_row_free(&row);
    }
    omp_set_num_threads(threads);
    CHECK(not_ok == 0, "%d of %d runs did not finish with status ok", not_ok, M);
    double sd_v = sqrt(gv_welford_var(&vw)), m4 = 0;
    for (int i = 0; i < n; i++) m4 += pow(v[i] - vw.mean, 4) / n;
    double kurt = fmax(3.0, m4 / (sd_v * sd_v * sd_v * sd_v));
    double mean_se = se.mean, sd_se = sqrt(gv_welford_var(&se));
    double ratio = mean_se / sd_v;
    double rel = sqrt((kurt - 1) / (4.0 * (M - 1)) + (sd_se / mean_se) * (sd_se / mean_se) / M);
    double tol = 4 * rel + 10.0 / R;
    print_message("  %s / %s K=%d: M=%d R=%ld  sd(var_mean)=%.4g (kurtosis %.2f)  mean(var_mean_se)=%.4g  "
                  "ratio=%.4f  tol=%.4f\n",
                  c->problem, c->estimator, c->K, M, R, sd_v, m4 / pow(sd_v, 4), mean_se, ratio, tol);
    CHECK(fabs(ratio - 1) < tol, "var_mean_se / empirical sd = %.4f, outside 1 +- %.4f", ratio, tol);
    free(v);
    gv_exact_free(&ex);
    gv_point_free(&pt);
    gv_problem_free(p);
    END_CHECKS();
}

int main(void)
{
    gsl_set_error_handler_off();
    make_data();
    struct CMUnitTest tests[3 + 1 + sizeof se_cases / sizeof se_cases[0]];
    size_t n = 0;
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_welford_scalar);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_welford_vector);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_summarise_definitions);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_summarise_constant_coordinate);
    static char names[sizeof se_cases / sizeof se_cases[0]][160];
    for (size_t i = 0; i < sizeof se_cases / sizeof se_cases[0]; i++) {
        snprintf(names[i], sizeof names[i], "se_by_simulation/%s/%s/K=%d", se_cases[i].estimator,
                 se_cases[i].problem, se_cases[i].K);
        tests[n++] = (struct CMUnitTest){names[i], test_se_by_simulation, NULL, NULL, (void *)&se_cases[i]};
    }
    return _cmocka_run_group_tests("stats", tests, n, NULL, NULL);
}
