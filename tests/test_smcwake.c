/* test_smcwake.c — the SMC-Wake estimators (estimators/smc_wake.c) on sbn-posterior.
 *   bias_vs_M     smc-wake-a's noise-corrected bias2 (engine rows) falls from M = 1 to M = 16 by more than
 *                 4 standard errors; smc-naive (one sampler, it has no M) keeps a bias above 4 SE, equal to
 *                 smc-wake-a's at M = 1 within 4 SE (the same estimator there)
 *   same_draws    M = 1: naive, a, c and pimh give the same estimate bit for bit on the same stream, and it
 *                 is -sum_k W_k s(z_k) of a sampler run directly (gv_smc_run, gv_ikl_score_axpy) on that
 *                 stream; smc-wake-b with R = 2e5 is within 6 multinomial s.d. of (a) on every coordinate
 *   cost          f_evals per estimate = N M (K + T K moves D (C - 1)) (Gibbs) and N M (K + T K moves flips)
 *                 (Metropolis) on a fixed schedule, N (...) for smc-naive; on sbn-posterior (C = 2) and on
 *                 cluster-posterior (C = 3)
 *   trajectory    after schedule() and n estimates the pool holds n samplers (cap if set; 1 for naive and
 *                 pimh); the n-th trajectory estimate on one group equals a frozen-point estimate with M = n
 *                 on the same stream (same samplers, same sums); cap >= n changes nothing (to 1e-12);
 *                 copy_learned gives a state whose next estimate is the same bits; reset ends the trajectory
 *   extreme       P = 3000, scale = 10: log p(x | z) below -1e4 on most states (down to -2.4e4), the particles'
 *                 weights at the first steps span that; every estimator's estimates are finite (row ok,
 *                 nonfinite = 0)
 *   bad_options   M=0, kernel=hmc, R=0 for b, an unknown key, R for a: usage errors naming the valid choices */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "estimators/estimator.h"
#include "harness/engine.h"
#include "harness/ikl.h"
#include "harness/rng.h"
#include "harness/smc.h"
#include "tests/testkit.h"

static const char *const estimators[] = {"smc-naive", "smc-wake-a", "smc-wake-b", "smc-wake-c", "smc-pimh"};
#define N_EST 5

static gv_engine_opts eopts(long R, uint64_t seed)
{
    return (gv_engine_opts){.R = R, .W = 0, .seed = seed, .rng = gv_rng_default(), .timing = 1};
}

/* bias2 of a row with its standard error from the per-coordinate means and variances (delta method,
 * coordinates treated as independent): Var ||gbar - g*||^2 ~ sum_p 4 d_p^2 s_p^2 / R + 2 s_p^4 / R^2. */
static double bias2_se(const gv_row *row, int P)
{
    const double R = row->s.replicates;
    double v = 0;
    for (int q = 0; q < P; q++) {
        const double d = row->coord_mean[q] - row->coord_exact[q], s2 = row->coord_var[q];
        v += 4 * d * d * s2 / R + 2 * s2 * s2 / (R * R);
    }
    return sqrt(v);
}

static int run(fixture *f, const char *spec, int K, long R, uint64_t seed, gv_row *row)
{
    char err[GV_ERRLEN];
    gv_engine_opts o = eopts(R, seed);
    int rc = gv_run_cell(f->p, &f->pt, &f->ex, spec, K, &o, 1, row, err);
    if (rc || strcmp(row->status, "ok")) {
        print_error("%s K=%d: rc %d %s %s\n", spec, K, rc, rc ? err : row->status, rc ? "" : row->message);
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ bias vs M */

static void test_bias_vs_M(void **unused)
{
    n_bad = 0;
    fixture f;
    assert_int_equal(fx_open(&f, "sbn-posterior:D=6,P=12,N=1,scale=3,seed=1"), 0);
    const int K = 2, P = f.p->layout.n_params;
    struct { const char *spec; long R; double b2, se, ns; } c[3] = {
        {"smc-wake-a:M=1", 20000, 0, 0, 0}, {"smc-wake-a:M=16", 3000, 0, 0, 0}, {"smc-naive", 20000, 0, 0, 0}};
    for (int i = 0; i < 3; i++) {
        gv_row row;
        if (run(&f, c[i].spec, K, c[i].R, 11, &row)) {
            n_bad++;
            continue;
        }
        c[i].b2 = row.s.bias2, c[i].se = bias2_se(&row, P), c[i].ns = row.s.ns_per_estimate;
        print_message("  %-18s K=%d R=%-6ld bias2 %.4g +- %.2g  var_mean %.4g  f_evals %.1f  %.1f us/estimate\n",
                      c[i].spec, K, c[i].R, c[i].b2, c[i].se, row.s.var_mean, row.s.f_evals, c[i].ns / 1e3);
        gv_row_free(&row);
    }
    const double da = c[0].b2 - c[1].b2, sa = hypot(c[0].se, c[1].se);
    CHECK(da > 4 * sa && c[1].b2 < 0.1 * c[0].b2, "smc-wake-a: bias2 %.4g at M=1, %.4g at M=16 (SE of the difference %.2g)",
          c[0].b2, c[1].b2, sa);
    const double dn = c[2].b2 - c[0].b2, sn = hypot(c[2].se, c[0].se);
    CHECK(c[2].b2 > 4 * c[2].se && fabs(dn) < 4 * sn,
          "smc-naive: bias2 %.4g +- %.2g; smc-wake-a at M=1 %.4g (SE of the difference %.2g)", c[2].b2, c[2].se,
          c[0].b2, sn);
    fx_close(&f);
    END_CHECKS();
}

/* ------------------------------------------------------------------ same draws at M = 1 */

static gv_estimator *make(const char *text, const gv_problem *p, int K)
{
    gv_spec sp;
    char err[GV_ERRLEN];
    gv_estimator *e = NULL;
    if (gv_spec_parse(text, &sp, err) || gv_estimator_new(&sp, p, K, &e, err)) print_error("%s: %s\n", text, err);
    return e;
}

/* n estimates of e on a stream seeded with seed, into G (n x P). */
static void draws(gv_estimator *e, fixture *f, uint64_t seed, int n, double *G)
{
    const int P = f->p->layout.n_params;
    gsl_rng *r = gv_rng_new(gv_rng_default(), seed);
    gv_eval ev = {.problem = f->p, .pt = &f->pt, .phi = f->p->phi, .exact = &f->ex};
    for (int i = 0; i < n; i++) {
        memset(G + (size_t)i * P, 0, (size_t)P * sizeof *G);
        if (e->type->estimate(e->state, &ev, e->K, r, G + (size_t)i * P)) fail_msg("%s: estimate failed", e->spec);
    }
    gsl_rng_free(r);
}

static void test_same_draws(void **unused)
{
    n_bad = 0;
    fixture f;
    assert_int_equal(fx_open(&f, "sbn-posterior:D=6,P=12,N=3,scale=2,seed=4"), 0);
    const int K = 4, P = f.p->layout.n_params, n = 20, G = f.p->n_groups, U = f.p->group_units;
    double *ref = calloc((size_t)n * P, sizeof *ref), *got = calloc((size_t)n * P, sizeof *got);
    const char *same[] = {"smc-naive", "smc-wake-a:M=1", "smc-wake-c:M=1", "smc-pimh:M=1"};
    for (int i = 0; i < 4; i++) {
        gv_estimator *e = make(same[i], f.p, K);
        assert_non_null(e);
        draws(e, &f, 99, n, i ? got : ref);
        if (i) CHECK(!memcmp(ref, got, (size_t)n * P * sizeof *ref), "%s differs from smc-naive", same[i]);
        gv_estimator_free(e);
    }
    /* the same, computed directly: one sampler per group, in group order, on the same stream */
    gsl_rng *r = gv_rng_new(gv_rng_default(), 99);
    gv_smc_options o;
    gv_smc_options_default(&o, K);
    char *ctx = calloc((size_t)G, gv_ikl_smc_ctx_size(f.p));
    double maxd = 0;
    for (int i = 0; i < n; i++) {
        memset(got, 0, (size_t)P * sizeof *got);
        for (int g = 0; g < G; g++) {
            gv_smc_target t;
            gv_smc_result res;
            char err[GV_ERRLEN];
            assert_int_equal(gv_ikl_smc_target(f.p, g, ctx + (size_t)g * gv_ikl_smc_ctx_size(f.p), &t), 0);
            assert_int_equal(gv_smc_result_alloc(&res, K, &t), 0);
            assert_int_equal(gv_smc_run(&t, &o, r, &res, err), 0);
            for (int k = 0; k < K; k++) gv_ikl_score_axpy(&f.pt, f.p, g, res.z + (size_t)k * U, -exp(res.logw[k]), got);
            gv_smc_result_free(&res);
        }
        for (int q = 0; q < P; q++) maxd = fmax(maxd, fabs(got[q] - ref[(size_t)i * P + q]));
    }
    CHECK(maxd < 1e-12, "M = 1 estimate vs -sum_k W_k s(z_k) of a direct sampler run: max |diff| %.3g", maxd);
    gsl_rng_free(r);
    free(ctx);
    /* smc-wake-b, R = 2e5: resampling after its (single) sampler, so group 0's sampler is (a)'s (the
     * resampling draws shift the stream of the next groups) */
    gv_estimator *ea = make("smc-wake-a:M=1", f.p, K), *eb = make("smc-wake-b:M=1,R=200000", f.p, K);
    assert_non_null(ea), assert_non_null(eb);
    draws(ea, &f, 5, 1, ref);
    draws(eb, &f, 5, 1, got);
    double zmax = 0;
    const gv_unit *u0 = f.p->layout.units + U - 1; /* group 0's parameters: 0 .. its last unit's */
    for (int q = 0; q < u0->param + u0->nparam; q++) zmax = fmax(zmax, fabs(got[q] - ref[q]) / (0.5 / sqrt(200000.0)));
    print_message("  smc-wake-b R=2e5 vs smc-wake-a, M=1: max |diff| / (0.5/sqrt(R)) = %.3f\n", zmax);
    CHECK(zmax < 6, "smc-wake-b with R = 2e5 is %.2f multinomial s.d. from smc-wake-a", zmax);
    gv_estimator_free(ea), gv_estimator_free(eb);
    free(ref), free(got);
    fx_close(&f);
    END_CHECKS();
}

/* ------------------------------------------------------------------ cost */

static void test_cost(void **unused)
{
    n_bad = 0;
    /* Bernoulli sites (sbn-posterior: N = 2 groups of D = 5) and categorical ones (cluster-posterior:
     * X = 2 groups of 4 points with C = 3 classes: a Gibbs site update costs C - 1 evaluations) */
    static const struct { const char *spec; int G, D, C; } pr[] = {{"sbn-posterior:D=5,P=8,N=2,seed=2", 2, 5, 2},
                                                                    {"cluster-posterior:X=2,N=4,C=3", 2, 4, 3}};
    const int K = 3, M = 4, T = 3;
    for (int q = 0; q < 2; q++) {
        fixture f;
        assert_int_equal(fx_open(&f, pr[q].spec), 0);
        for (int i = 0; i < N_EST; i++)
            for (int metro = 0; metro < 2; metro++) {
                char spec[200];
                snprintf(spec, sizeof spec, "%s:%sschedule=linear,T=%d,moves=2%s", estimators[i], i ? "M=4," : "", T,
                         metro ? ",kernel=metropolis,flips=7" : "");
                gv_row row;
                if (run(&f, spec, K, 40, 1, &row)) {
                    n_bad++;
                    continue;
                }
                const double site = metro ? 7 : pr[q].D * (pr[q].C - 1.0);
                const double per = K + (double)T * K * 2 * site, want = pr[q].G * (i == 0 ? 1 : M) * per;
                CHECK(row.s.f_evals == want, "%s on %s: f_evals %g per estimate, expected %g", spec, pr[q].spec,
                      row.s.f_evals, want);
                gv_row_free(&row);
            }
        fx_close(&f);
    }
    END_CHECKS();
}

/* ------------------------------------------------------------------ trajectory */

static long pool_size(const gv_estimator *e, long *seen)
{
    char buf[GV_ERRLEN];
    e->type->note(e->state, buf, sizeof buf);
    const char *s = strstr(buf, "trajectory pool: ");
    long n = -1;
    *seen = -1;
    if (s && sscanf(s, "trajectory pool: %ld samplers stored per group of %ld run", &n, seen) != 2) n = -1;
    return n;
}

static void test_trajectory(void **unused)
{
    n_bad = 0;
    fixture f;
    assert_int_equal(fx_open(&f, "sbn-posterior:D=6,P=12,N=1,scale=2,seed=3"), 0);
    const int K = 4, P = f.p->layout.n_params, n = 7;
    double *a = calloc((size_t)n * P, sizeof *a), *b = calloc((size_t)n * P, sizeof *b);
    for (int i = 0; i < N_EST; i++) {
        for (int capped = 0; capped < 3; capped++) { /* cap = 0, 3, 50 */
            if (capped && (i == 0 || i == 4)) continue;
            char spec[100];
            snprintf(spec, sizeof spec, "%s%s", estimators[i], capped == 1 ? ":cap=3" : capped == 2 ? ":cap=50" : "");
            gv_estimator *e = make(spec, f.p, K), *c = make(spec, f.p, K);
            assert_non_null(e), assert_non_null(c);
            e->type->schedule(e->state, 0);
            gsl_rng *r = gv_rng_new(gv_rng_default(), 123);
            gv_eval ev = {.problem = f.p, .pt = &f.pt, .phi = f.p->phi, .exact = &f.ex};
            for (int s = 0; s < n; s++) {
                if (s) e->type->schedule(e->state, s);
                memset(a + (size_t)s * P, 0, (size_t)P * sizeof *a);
                assert_int_equal(e->type->estimate(e->state, &ev, K, r, a + (size_t)s * P), 0);
            }
            gsl_rng_free(r);
            long seen, stored = pool_size(e, &seen);
            const long want = i == 0 || i == 4 ? 1 : capped == 1 ? 3 : n;
            CHECK(stored == want && seen == n, "%s: pool %ld of %ld after %d steps, expected %ld of %d", spec, stored,
                  seen, n, want, n);
            if (capped != 1) { /* the n-th trajectory estimate = a frozen-point pool of n on the same stream */
                char fs[100];
                if (i) snprintf(fs, sizeof fs, "%s:M=%d", estimators[i], n);
                else snprintf(fs, sizeof fs, "%s", estimators[i]); /* naive: no pool */
                gv_estimator *fz = make(fs, f.p, K);
                assert_non_null(fz);
                if (i == 0) { /* naive runs one sampler per frozen estimate: its n-th trajectory step is the n-th draw */
                    draws(fz, &f, 123, n, b);
                } else {
                    draws(fz, &f, 123, 1, b + (size_t)(n - 1) * P);
                }
                double d = 0;
                for (int q = 0; q < P; q++) d = fmax(d, fabs(a[(size_t)(n - 1) * P + q] - b[(size_t)(n - 1) * P + q]));
                CHECK(d < 1e-12, "%s: step %d of the trajectory vs %s: max |diff| %.3g", spec, n, fs, d);
                gv_estimator_free(fz);
            }
            /* copy_learned: the copy's next estimate is the original's */
            c->type->copy_learned(c->state, e->state);
            long seen2, stored2 = pool_size(c, &seen2);
            CHECK(stored2 == stored && seen2 == seen, "%s: copy holds %ld of %ld, original %ld of %ld", spec, stored2,
                  seen2, stored, seen);
            draws(e, &f, 77, 1, a);
            draws(c, &f, 77, 1, b);
            CHECK(!memcmp(a, b, (size_t)P * sizeof *a), "%s: the copy's next estimate differs", spec);
            e->type->reset(e->state);
            CHECK(pool_size(e, &seen) == -1, "%s: reset leaves a trajectory pool", spec);
            gv_estimator_free(e), gv_estimator_free(c);
        }
    }
    free(a), free(b);
    fx_close(&f);
    END_CHECKS();
}

/* ------------------------------------------------------------------ extreme log-likelihoods */

static void test_extreme(void **unused)
{
    n_bad = 0;
    fixture f;
    assert_int_equal(fx_open(&f, "sbn-posterior:D=6,P=3000,N=2,scale=10,seed=5"), 0);
    /* the data are drawn from the model, so log p(x) is moderate, but most latent states (those the
     * prior proposes) have log p(x | z) far below -1e4 */
    const int U = f.p->group_units;
    int z[6];
    for (int g = 0; g < f.p->n_groups; g++) {
        double lo = INFINITY, hi = -INFINITY;
        int below = 0;
        for (int m = 0; m < 1 << U; m++) {
            for (int d = 0; d < U; d++) z[d] = m >> d & 1;
            const double ll = f.p->type->ikl->log_lik(f.p, g, z);
            lo = fmin(lo, ll), hi = fmax(hi, ll), below += ll < -1e4;
        }
        print_message("  group %d: log p(x) = %.6g, log p(x | z) from %.6g to %.6g, %d of %d states below -1e4\n", g,
                      f.p->type->ikl->log_marginal(f.p, g), lo, hi, below, 1 << U);
        CHECK(below >= (1 << U) / 4, "group %d: only %d states have log p(x | z) < -1e4", g, below);
    }
    for (int i = 0; i < N_EST; i++) {
        char spec[64];
        snprintf(spec, sizeof spec, "%s%s", estimators[i], i ? ":M=4" : ""); /* smc-naive has no M */
        gv_row row;
        if (run(&f, spec, 4, 30, 2, &row)) {
            n_bad++;
            continue;
        }
        CHECK(row.s.nonfinite == 0 && isfinite(row.s.var_mean) && isfinite(row.s.bias2),
              "%s: nonfinite %g, var_mean %g, bias2 %g", spec, row.s.nonfinite, row.s.var_mean, row.s.bias2);
        gv_row_free(&row);
    }
    fx_close(&f);
    END_CHECKS();
}

/* ------------------------------------------------------------------ bad options */

static void test_bad_options(void **unused)
{
    n_bad = 0;
    fixture f;
    assert_int_equal(fx_open(&f, "sbn-posterior:D=3,P=5,N=2"), 0);
    static const struct { const char *spec, *must[3]; } c[] = {
        {"smc-wake-a:M=0", {"M=0", "[1, "}},
        {"smc-wake-a:kernel=hmc", {"hmc", "gibbs", "metropolis"}},
        {"smc-pimh:schedule=cosine", {"adaptive", "linear", "geometric"}},
        {"smc-wake-c:order=random", {"weight-first", "move-first"}},
        {"smc-naive:resampling=residual", {"systematic", "multinomial"}},
        {"smc-wake-b:R=0", {"R=0", "[1, "}},
        {"smc-wake-a:foo=1", {"foo", "valid options", "kernel"}},
        {"smc-wake-a:R=5", {"'R'", "valid options", "cap"}},
        {"smc-naive:cap=5", {"'cap'", "valid options", "kernel"}},
        {"smc-naive:M=4", {"'M'", "valid options", "schedule"}},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        gv_spec sp;
        char err[GV_ERRLEN] = "";
        gv_estimator *e = NULL;
        int rc = gv_spec_parse(c[i].spec, &sp, err);
        if (!rc) rc = gv_estimator_new(&sp, f.p, 4, &e, err);
        CHECK(rc == GV_EUSAGE && !e, "%s: rc %d (expected a usage error)", c[i].spec, rc);
        for (int j = 0; j < 3 && c[i].must[j]; j++)
            CHECK(strstr(err, c[i].must[j]), "%s: message '%s' lacks '%s'", c[i].spec, err, c[i].must[j]);
        gv_estimator_free(e);
    }
    fx_close(&f);
    END_CHECKS();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bias_vs_M),  cmocka_unit_test(test_same_draws), cmocka_unit_test(test_cost),
        cmocka_unit_test(test_trajectory), cmocka_unit_test(test_extreme),    cmocka_unit_test(test_bad_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
