/* test_variance.c — the harness's measured variance against exact variances.
 *
 * Exact per-coordinate variances come from two independent sources:
 *  (1) closed forms derived below for bernoulli-quadratic, and
 *  (2) enumeration written here (own sigmoid / softmax / scores, pairs of states for RLOO) for any
 *      small problem, including non-separable and categorical ones.
 * The two agree with each other on bernoulli-quadratic to 1e-12 (a deterministic check of the
 * derivations), and the harness's var_mean must agree with the exact value within z_thr of its
 * own var_mean_se (whose calibration test_stats.c checks by simulation).
 *
 * ---- Derivations (bernoulli-quadratic, every unit with the same theta) --------------------------
 * f(b) = (1/D) sum_j (b_j - t)^2.  On {0,1}: (b - t)^2 = t^2 + b (1 - 2t), so
 *     f(b) = t^2 + c sum_j b_j,   c = (1 - 2t)/D.
 * Scores s_j = b_j - theta; p = theta (1 - theta) = E s^2; E s^3 = p (1 - 2 theta);
 * E s^4 = p ((1-theta)^3 + theta^3) = p (1 - 3p).  g*_i = c p.  mu = E f = t^2 + c D theta,
 * f = mu + c S with S = sum_j s_j.
 *
 * REINFORCE with a constant baseline beta, K = 1:  g_i = (mu - beta + c S) s_i.
 *   E g_i^2 = (mu-beta)^2 p + 2 (mu-beta) c E[S s_i^2] + c^2 E[S^2 s_i^2]
 *           = (mu-beta)^2 p + 2 (mu-beta) c p (1-2theta) + c^2 [p (1-3p) + p^2 (D-1)]
 *   Var_i(beta) = E g_i^2 - c^2 p^2.                                  (K samples: divide by K)
 *   beta = 0 (reinforce); beta = mu (reinforce-mean): Var = c^2 p (1 + p (D - 5));
 *   the minimising beta* = mu + c (1 - 2 theta) (= (1-theta) m_1 + theta m_0, the library's
 *   reinforce-optimal), Var(beta*) = c^2 p^2 (D - 1), and Var(beta) = Var(beta*) + p (beta - beta*)^2.
 *   D = 1: reinforce Var = theta(1-theta)^2 f(1)^2 + (1-theta) theta^2 f(0)^2 - g*^2 (direct:
 *   g = f(b)(b - theta)); reinforce-mean Var = (1-2t)^2 p (1 - 2 theta)^2; reinforce-optimal
 *   Var = 0 — the estimate is the constant p (f(1) - f(0)) = g*.
 *
 * RLOO, K = 2: g = (1/(K-1)) sum_k (f_k - fbar) s_k = 1/2 (f_1 - f_2)(s_1 - s_2) (theta cancels):
 *   with d_j = b_1j - b_2j in {-1, 0, 1}, P(d = +-1) = p each: E d^2 = E d^4 = 2p, E d = E d^3 = 0,
 *   g_i = (c/2) d_i sum_j d_j = (c/2)(d_i^2 + d_i sum_{j!=i} d_j),
 *   E g_i^2 = (c^2/4)(2p + 2p * 2p (D-1)) = (c^2/2) p (1 + 2p (D-1)),
 *   Var_i = (c^2/2) p (1 + 2p(D-1)) - c^2 p^2 = (c^2/2) p (1 + 2p (D - 2)).
 *   This confirms the formula (c^2/2) p (1 + 2p(D-2)) given in the issue.
 * RLOO, any K >= 2: RLOO = (1/(K(K-1))) sum_{k<l} (f_k - f_l)(s_k - s_l) is the U-statistic of
 *   order 2 with kernel h(x, x') = 1/2 (f - f')(s - s') (the K = 2 estimator).  Hoeffding:
 *   Var = (2 / (K(K-1))) [2 (K-2) zeta1 + zeta2],  zeta2 = Var h (above),
 *   zeta1 = Var E[h | x].  E[h_i | b] = (c/2) [s_i S + p]  (using E[(b_i - b'_i)^2 | b_i] =
 *   s_i^2 + p), so zeta1 = (c^2/4)(E[s_i^2 S^2] - p^2) = (c^2/4) p (1 + p (D - 5)).
 * (These closed forms were also checked against brute-force enumeration of all K-tuples of
 * states for D = 3, K = 2..4, and are checked against (2) below.)
 *
 * ---- Statistics --------------------------------------------------------------------------------
 * Each z = |var_mean - V| / var_mean_se is ~ |N(0,1)| for large R.  All z tests of this file
 * form one family with false-alarm rate 1e-3: z_thr = Q^{-1}(1e-3 / (2 n)), n = number of tests
 * (about 4 for n ~ 25).
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

#include "tests/testkit.h"

#define FAMILY_ALPHA 1e-3
#define R_VAR 200000L
#define SEED 777ULL
static double z_thr;

/* ------------------------------------------------------------------ fixtures */

/* Run one cell; returns 0 and fills *s, or -1. */
static int measure(const fixture *f, const char *est, int K, long R, long W, gv_summary *s)
{
    char err[GV_ERRLEN];
    gv_engine_opts o = {.R = R, .W = W, .seed = SEED, .rng = gv_rng_default(), .timing = 0};
    gv_row row;
    int rc = gv_run_cell(f->p, &f->pt, &f->ex, est, K, &o, 0, &row, err);
    if (rc != GV_OK || strcmp(row.status, "ok")) {
        print_error("%s K=%d on %s: rc %d status %s %s\n", est, K, f->p->spec, rc, rc ? "-" : row.status,
                    rc ? err : row.message);
        if (rc == GV_OK) gv_row_free(&row);
        return -1;
    }
    *s = row.s;
    gv_row_free(&row);
    return 0;
}

/* ------------------------------------------------------------------ (1) closed forms */

typedef struct { int D; double t, theta; } bq_params;

/* var_mean of estimator `est` with K samples on bernoulli-quadratic (see the derivations);
 * every coordinate has the same variance, so var_mean = Var_i. */
static double bq_closed(const bq_params *q, const char *est, int K)
{
    const double D = q->D, th = q->theta, p = th * (1 - th), c = (1 - 2 * q->t) / D;
    const double mu = q->t * q->t + c * D * th;
    double beta;
    if (!strcmp(est, "rloo")) {
        double z2 = c * c / 2 * p * (1 + 2 * p * (D - 2)), z1 = c * c / 4 * p * (1 + p * (D - 5));
        return 2.0 / (K * (K - 1.0)) * (2 * (K - 2) * z1 + z2);
    }
    if (!strcmp(est, "reinforce")) beta = 0;
    else if (!strcmp(est, "reinforce-mean")) beta = mu;
    else if (!strcmp(est, "reinforce-optimal")) beta = mu + c * (1 - 2 * th);
    else return NAN;
    double Eg2 = (mu - beta) * (mu - beta) * p + 2 * (mu - beta) * c * p * (1 - 2 * th) +
                 c * c * (p * (1 - 3 * p) + p * p * (D - 1));
    return (Eg2 - c * c * p * p) / K;
}

/* ------------------------------------------------------------------ (2) enumeration */

typedef struct {
    int S, P;      /* states, coordinates */
    double *q;     /* S */
    double *f;     /* S */
    double *s;     /* S x P scores */
    double *g;     /* P exact gradient (naive sum) */
    double Ef;
} enum_t;

static void enum_build(const gv_problem *pb, enum_t *e)
{
    const gv_layout *L = &pb->layout;
    const int D = L->n_units, P = L->n_params;
    e->S = (int)gv_support_size(L);
    e->P = P;
    e->q = malloc((size_t)e->S * sizeof(double));
    e->f = malloc((size_t)e->S * sizeof(double));
    e->s = calloc((size_t)e->S * P, sizeof(double));
    e->g = calloc((size_t)P, sizeof(double));
    double *pr = malloc((size_t)L->n_cond * sizeof(double)); /* unit value probabilities */
    int *z = calloc((size_t)D, sizeof(int));
    assert_true(e->q && e->f && e->s && e->g && pr && z);
    for (int i = 0; i < D; i++) {
        const gv_unit *u = &L->units[i];
        const double *eta = pb->eta + u->param;
        if (u->kind == GV_UNIT_BERNOULLI) {
            pr[u->cond + 1] = 1 / (1 + exp(-eta[0]));
            pr[u->cond] = 1 / (1 + exp(eta[0]));
        } else {
            double m = -INFINITY, sum = 0;
            for (int c = 0; c < u->ncat; c++) m = fmax(m, eta[c]);
            for (int c = 0; c < u->ncat; c++) sum += pr[u->cond + c] = exp(eta[c] - m);
            for (int c = 0; c < u->ncat; c++) pr[u->cond + c] /= sum;
        }
    }
    e->Ef = 0;
    for (int k = 0; k < e->S; k++) {
        double qq = 1, *sk = e->s + (size_t)k * P;
        for (int i = 0; i < D; i++) {
            const gv_unit *u = &L->units[i];
            qq *= pr[u->cond + z[i]];
            if (u->kind == GV_UNIT_BERNOULLI) sk[u->param] = z[i] - pr[u->cond + 1];
            else
                for (int c = 0; c < u->ncat; c++) sk[u->param + c] = (c == z[i]) - pr[u->cond + c];
        }
        e->q[k] = qq;
        e->f[k] = pb->type->f(pb->state, z);
        e->Ef += qq * e->f[k];
        for (int j = 0; j < P; j++) e->g[j] += qq * e->f[k] * sk[j];
        for (int i = 0; i < D && ++z[i] == L->units[i].ncat; i++) z[i] = 0;
    }
    free(pr);
    free(z);
}

static void enum_free(enum_t *e)
{
    free(e->q), free(e->f), free(e->s), free(e->g);
}

/* exact var_mean of a constant-baseline REINFORCE (baseline per coordinate) or RLOO */
static double enum_var_mean(const enum_t *e, const char *est, int K)
{
    const int S = e->S, P = e->P;
    double total = 0;
    for (int j = 0; j < P; j++) {
        double v;
        if (!strcmp(est, "rloo")) {
            /* zeta2 = E h^2 - g^2 over pairs; zeta1 = E (E[h|x])^2 - g^2 */
            double Eh2 = 0, Eh1sq = 0;
            for (int a = 0; a < S; a++) {
                double h1 = 0;
                for (int b = 0; b < S; b++) {
                    double h = 0.5 * (e->f[a] - e->f[b]) * (e->s[(size_t)a * P + j] - e->s[(size_t)b * P + j]);
                    Eh2 += e->q[a] * e->q[b] * h * h;
                    h1 += e->q[b] * h;
                }
                Eh1sq += e->q[a] * h1 * h1;
            }
            double g2 = e->g[j] * e->g[j];
            v = 2.0 / (K * (K - 1.0)) * (2 * (K - 2) * (Eh1sq - g2) + (Eh2 - g2));
        } else {
            double beta;
            if (!strcmp(est, "reinforce")) beta = 0;
            else if (!strcmp(est, "reinforce-mean")) beta = e->Ef;
            else if (!strcmp(est, "reinforce-optimal")) { /* E[f s^2] / E[s^2], summed here */
                double a = 0, b = 0;
                for (int k = 0; k < S; k++) {
                    double sk = e->s[(size_t)k * P + j];
                    a += e->q[k] * e->f[k] * sk * sk;
                    b += e->q[k] * sk * sk;
                }
                beta = a / b;
            } else return NAN;
            double Eg2 = 0;
            for (int k = 0; k < S; k++) {
                double x = (e->f[k] - beta) * e->s[(size_t)k * P + j];
                Eg2 += e->q[k] * x * x;
            }
            v = (Eg2 - e->g[j] * e->g[j]) / K;
        }
        total += v;
    }
    return total / P;
}

/* ------------------------------------------------------------------ cases */

typedef struct {
    const char *problem;
    const char *estimator;
    int K;
    int closed; /* 1: bernoulli-quadratic closed form (q below), 0: enumeration */
    bq_params q;
} var_case;

#define BQ10 "bernoulli-quadratic:D=10,t=0.3,p=0.3"
#define BQ1 "bernoulli-quadratic:D=1,t=0.45,p=0.3"
static const var_case var_cases[] = {
    /* (a) RLOO on the D = 10 toy: K = 2 is the formula, K = 3, 4 the U-statistic form */
    {BQ10, "rloo", 2, 1, {10, 0.3, 0.3}},
    {BQ10, "rloo", 3, 1, {10, 0.3, 0.3}},
    {BQ10, "rloo", 4, 1, {10, 0.3, 0.3}},
    /* (b) REINFORCE in 1-D */
    {BQ1, "reinforce", 1, 1, {1, 0.45, 0.3}},
    {BQ1, "reinforce", 3, 1, {1, 0.45, 0.3}},
    /* (c) constant baselines in 1-D and in D = 10 (optimal in 1-D has zero variance: separate test) */
    {BQ1, "reinforce-mean", 1, 1, {1, 0.45, 0.3}},
    {BQ10, "reinforce", 1, 1, {10, 0.3, 0.3}},
    {BQ10, "reinforce-mean", 1, 1, {10, 0.3, 0.3}},
    {BQ10, "reinforce-optimal", 1, 1, {10, 0.3, 0.3}},
    {BQ10, "reinforce-optimal", 2, 1, {10, 0.3, 0.3}},
    /* (d) enumeration: non-separable and categorical problems */
    {"bernoulli-coupled:D=6,seed=3", "reinforce", 1, 0, {0}},
    {"bernoulli-coupled:D=6,seed=3", "reinforce-mean", 2, 0, {0}},
    {"bernoulli-coupled:D=6,seed=3", "reinforce-optimal", 1, 0, {0}},
    {"bernoulli-coupled:D=6,seed=3", "rloo", 2, 0, {0}},
    {"bernoulli-coupled:D=6,seed=3", "rloo", 4, 0, {0}},
    {"categorical-abs:D=3,C=4,seed=2", "reinforce", 1, 0, {0}},
    {"categorical-abs:D=3,C=4,seed=2", "reinforce-optimal", 1, 0, {0}},
    {"categorical-abs:D=3,C=4,seed=2", "rloo", 3, 0, {0}},
    {"categorical-linear:D=2,C=3,seed=5", "reinforce-mean", 1, 0, {0}},
    {"categorical-linear:D=2,C=3,seed=5", "reinforce-optimal", 2, 0, {0}},
    {"categorical-linear:D=2,C=3,seed=5", "rloo", 2, 0, {0}},
};
#define N_VAR_CASES (sizeof var_cases / sizeof var_cases[0])

/* The orderings checked (see test_baseline_ordering): 2 problems x 3 comparisons. */
#define N_ORDER_TESTS 6

static void test_closed_equals_enumeration(void **unused)
{
    n_bad = 0;
    for (size_t i = 0; i < N_VAR_CASES; i++) {
        const var_case *c = &var_cases[i];
        if (!c->closed) continue;
        fixture f;
        assert_int_equal(fx_open(&f, c->problem), 0);
        enum_t e;
        enum_build(f.p, &e);
        double a = bq_closed(&c->q, c->estimator, c->K), b = enum_var_mean(&e, c->estimator, c->K);
        CHECK(fabs(a - b) <= 1e-12 * fabs(b), "%s %s K=%d: closed form %.17g, enumeration %.17g", c->problem,
              c->estimator, c->K, a, b);
        enum_free(&e);
        fx_close(&f);
    }
    END_CHECKS();
}

static void test_variance_case(void **state)
{
    n_bad = 0;
    const var_case *c = *state;
    fixture f;
    assert_int_equal(fx_open(&f, c->problem), 0);
    double V;
    if (c->closed) V = bq_closed(&c->q, c->estimator, c->K);
    else {
        enum_t e;
        enum_build(f.p, &e);
        V = enum_var_mean(&e, c->estimator, c->K);
        enum_free(&e);
    }
    gv_summary s;
    int rc = measure(&f, c->estimator, c->K, R_VAR, 0, &s);
    CHECK(rc == 0, "run failed");
    if (!rc) {
        double z = fabs(s.var_mean - V) / s.var_mean_se;
        print_message("  %-36s %-18s K=%d exact %.6g  measured %.6g +- %.2g  z %.2f (thr %.2f)\n", c->problem,
                      c->estimator, c->K, V, s.var_mean, s.var_mean_se, z, z_thr);
        CHECK(z < z_thr, "%s %s K=%d: var_mean %.6g +- %.3g, exact %.6g: z = %.2f >= %.2f", c->problem, c->estimator,
              c->K, s.var_mean, s.var_mean_se, V, z, z_thr);
    }
    fx_close(&f);
    END_CHECKS();
}

/* reinforce-optimal in 1-D: (f(b) - beta*) (b - theta) = p (f(1) - f(0)) for both b, so every
 * estimate equals g* up to rounding: variance ~ 0, and the unbiasedness z must not flag rounding. */
static void test_optimal_1d_zero_variance(void **unused)
{
    n_bad = 0;
    fixture f;
    assert_int_equal(fx_open(&f, BQ1), 0);
    const double g = f.ex.grad[0];
    for (int K = 1; K <= 2; K++) {
        gv_summary s;
        if (measure(&f, "reinforce-optimal", K, 20000, 0, &s)) {
            CHECK(0, "run failed");
            continue;
        }
        print_message("  reinforce-optimal 1-D K=%d: var_mean %.3g  bias2_raw %.3g  bias_z_max %.3g  (g* %.6g)\n", K,
                      s.var_mean, s.bias2_raw, s.bias_z_max, g);
        CHECK(s.var_mean <= 1e-20 * g * g, "K=%d: var_mean %.3g, expected 0 up to rounding", K, s.var_mean);
        CHECK(s.bias2_raw <= 1e-20 * g * g, "K=%d: mean off g* by sqrt(%.3g)", K, s.bias2_raw);
        CHECK(s.bias_z_max < z_thr, "K=%d: rounding flagged as bias: bias_z_max %.3g", K, s.bias_z_max);
    }
    fx_close(&f);
    END_CHECKS();
}

/* Among constant baselines the per-coordinate optimal one has the least variance in every
 * coordinate (Var(beta) = Var(beta*) + E[s^2] (beta - beta*)^2), hence the least var_mean.
 * Checked one-sidedly for every other constant-baseline estimator (reinforce-ema's learned c is
 * a constant after warm-up): v_opt - v_x < z_thr * sqrt(se_opt^2 + se_x^2).  Where the exact gap
 * is large against the SEs (> 2 z_thr combined SEs) the strict order must also be observed:
 * v_x - v_opt > 0. */
static void test_baseline_ordering(void **unused)
{
    n_bad = 0;
    const char *probs[] = {BQ10, "bernoulli-coupled:D=6,seed=3"};
    const char *others[] = {"reinforce", "reinforce-mean", "reinforce-ema"};
    int n_tests = 0;
    for (size_t i = 0; i < 2; i++) {
        fixture f;
        assert_int_equal(fx_open(&f, probs[i]), 0);
        enum_t e;
        enum_build(f.p, &e);
        gv_summary so;
        if (measure(&f, "reinforce-optimal", 1, R_VAR, 0, &so)) {
            CHECK(0, "run failed");
            enum_free(&e);
            fx_close(&f);
            continue;
        }
        double Vo = enum_var_mean(&e, "reinforce-optimal", 1);
        for (size_t k = 0; k < 3; k++) {
            gv_summary sx;
            if (measure(&f, others[k], 1, R_VAR, 1000, &sx)) {
                CHECK(0, "run failed");
                continue;
            }
            n_tests++;
            double se = sqrt(so.var_mean_se * so.var_mean_se + sx.var_mean_se * sx.var_mean_se);
            double Vx = enum_var_mean(&e, others[k], 1); /* NAN for the learned baseline */
            print_message("  %-36s reinforce-optimal %.6g  <=  %-15s %.6g  (exact %.6g vs %.6g; z of gap %.1f)\n",
                          probs[i], so.var_mean, others[k], sx.var_mean, Vo, Vx, (sx.var_mean - so.var_mean) / se);
            CHECK((so.var_mean - sx.var_mean) / se < z_thr, "%s: reinforce-optimal var_mean %.6g > %s %.6g by %.1f SE",
                  probs[i], so.var_mean, others[k], sx.var_mean, (so.var_mean - sx.var_mean) / se);
            if (!isnan(Vx) && Vx - Vo > 2 * z_thr * se)
                CHECK(sx.var_mean > so.var_mean, "%s: exact gap %.3g (%.1f SE) not observed: %s %.6g vs optimal %.6g",
                      probs[i], Vx - Vo, (Vx - Vo) / se, others[k], sx.var_mean, so.var_mean);
        }
        enum_free(&e);
        fx_close(&f);
    }
    CHECK(n_tests == N_ORDER_TESTS, "ran %d ordering tests, the threshold assumed %d", n_tests, N_ORDER_TESTS);
    END_CHECKS();
}

int main(void)
{
    gsl_set_error_handler_off();
    /* family: every var case, the zero-variance test's 2 z checks, and the ordering tests */
    double n_tests = N_VAR_CASES + 2 + N_ORDER_TESTS;
    z_thr = gsl_cdf_ugaussian_Qinv(FAMILY_ALPHA / (2 * n_tests));
    print_message("variance family: %.0f z tests, threshold z_thr = Q^-1(%.0e / (2 * %.0f)) = %.3f; R = %ld\n",
                  n_tests, FAMILY_ALPHA, n_tests, z_thr, R_VAR);
    struct CMUnitTest tests[3 + N_VAR_CASES];
    static char names[N_VAR_CASES][160];
    size_t n = 0;
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_closed_equals_enumeration);
    for (size_t i = 0; i < N_VAR_CASES; i++) {
        snprintf(names[i], sizeof names[i], "variance/%s/%s/K=%d", var_cases[i].estimator, var_cases[i].problem,
                 var_cases[i].K);
        tests[n++] = (struct CMUnitTest){names[i], test_variance_case, NULL, NULL, (void *)&var_cases[i]};
    }
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_optimal_1d_zero_variance);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_baseline_ordering);
    return _cmocka_run_group_tests("variance", tests, n, NULL, NULL);
}
