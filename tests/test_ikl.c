/* test_ikl.c — the inclusive-KL objective kind (issue #7) on sbn-posterior: the problem's exact
 * reference and hooks, and the harness's handling of the kind.
 *   direct_kl     KL(p(z | x_n) || q), the posterior marginals and log p(x_n) against a direct sum over
 *                 all z written here (log p(x, z) from gv_sbn_log_joint of the inner model)
 *   grad_fd       d KL / d eta = -(m - theta) and the phi-gradient (outer_vjp) against central finite
 *                 differences of the exact KL
 *   hooks         log_prior + log_lik = the sbn's log joint; the SMC target's fast flip path agrees
 *                 with log_lik; sample_prior's bit means match sigma(b); gv_ikl_log_q / score against
 *                 the point's own log q and finite differences
 *   marginal      the model-marginal objective (marginal=1): N E_p(x) KL against finite differences
 *                 in phi, and sleep's simulated score mean (sample_joint + score_phi, many draws)
 *                 against its gradient
 *   crossing      expectation estimators are incompatible with the inclusive-KL problem and the
 *                 message names both objective kinds; bad options fail with clear messages
 *   threads       the exact reference is bit-identical with 1 and 2 threads */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <gsl/gsl_errno.h>
#include <omp.h>

#include "harness/exact.h"
#include "harness/engine.h"
#include "harness/ikl.h"
#include "harness/rng.h"
#include "harness/smc.h"
#include "problems/sbn.h"
#include "testkit.h"

#define SPEC "sbn-posterior:D=5,P=7,N=3,scale=2,enc_scale=0.5,seed=4"

static const gv_problem *inner_sbn(const gv_problem *p)
{
    return *(gv_problem *const *)p->state; /* sp_state's first member is the inner sbn */
}

static void test_direct_kl(void **unused)
{
    n_bad = 0;
    fixture f;
    assert_int_equal(fx_open(&f, SPEC), 0);
    const gv_problem *p = f.p, *s = inner_sbn(p);
    const int D = p->group_units, N = p->n_groups;
    CHECK(N == 3 && D == 5 && p->layout.n_units == 15, "groups %d x %d", N, D);
    double total = 0;
    for (int n = 0; n < N; n++) {
        int z[8];
        double M = -INFINITY, lj[1 << 5];
        for (int s_ = 0; s_ < 1 << D; s_++) {
            for (int d = 0; d < D; d++) z[d] = s_ >> d & 1;
            lj[s_] = gv_sbn_log_joint(s, n, z);
            M = fmax(M, lj[s_]);
        }
        double L = 0, m[8] = {0}, kl = 0;
        for (int s_ = 0; s_ < 1 << D; s_++) L += exp(lj[s_] - M);
        const double logpx = M + log(L);
        for (int s_ = 0; s_ < 1 << D; s_++) {
            const double w = exp(lj[s_] - logpx);
            double lq = 0;
            for (int d = 0; d < D; d++) {
                z[d] = s_ >> d & 1;
                m[d] += z[d] * w;
                const double eta = f.pt.eta[n * D + d];
                lq += z[d] ? gv_log_sigmoid(eta) : gv_log_sigmoid(-eta);
            }
            kl += w * (lj[s_] - logpx - lq);
        }
        total += kl;
        const double lm = p->type->ikl->log_marginal(p, n);
        CHECK(fabs(lm - logpx) < 1e-12 * fabs(logpx), "point %d: log p(x) %.17g, direct %.17g", n, lm, logpx);
        for (int d = 0; d < D; d++) {
            const gv_unit *u = &p->layout.units[n * D + d];
            CHECK(fabs(f.ex.cond[u->cond + 1] - m[d]) < 1e-12 && fabs(f.ex.cond[u->cond] - (1 - m[d])) < 1e-12,
                  "point %d latent %d: posterior marginal %.17g, direct %.17g", n, d, f.ex.cond[u->cond + 1], m[d]);
            CHECK(fabs(f.ex.grad[u->param] + (m[d] - f.pt.prob[u->param])) < 1e-12, "gradient -(m - theta)");
        }
    }
    CHECK(fabs(f.ex.value - total) < 1e-11 * (1 + total), "KL %.17g, direct %.17g", f.ex.value, total);
    CHECK(f.ex.value > 0, "KL %.17g must be positive", f.ex.value);
    fx_close(&f);
    END_CHECKS();
}

static void test_grad_fd(void **unused)
{
    n_bad = 0;
    fixture f;
    assert_int_equal(fx_open(&f, SPEC), 0);
    const gv_problem *p = f.p;
    const int P = p->layout.n_params, Q = p->n_outer;
    double *eta = malloc((size_t)P * sizeof *eta), *phi = malloc((size_t)Q * sizeof *phi);
    double *gphi = malloc((size_t)Q * sizeof *gphi);
    memcpy(eta, p->eta, (size_t)P * sizeof *eta);
    const double h = 1e-5;
    double worst = 0;
    for (int q = 0; q < P; q++) {
        eta[q] += h;
        double up = tk_exact_value(p, eta);
        eta[q] -= 2 * h;
        double dn = tk_exact_value(p, eta);
        eta[q] += h;
        worst = fmax(worst, fabs((up - dn) / (2 * h) - f.ex.grad[q]));
    }
    CHECK(worst < 1e-8, "eta: worst |FD - exact| = %.3g", worst);
    p->type->outer_vjp(p, f.ex.grad, gphi);
    memcpy(phi, p->phi, (size_t)Q * sizeof *phi);
    double wphi = 0;
    for (int k = 0; k < Q; k++) {
        phi[k] += h;
        p->type->outer_map(p, phi, eta);
        double up = tk_exact_value(p, eta);
        phi[k] -= 2 * h;
        p->type->outer_map(p, phi, eta);
        double dn = tk_exact_value(p, eta);
        phi[k] += h;
        wphi = fmax(wphi, fabs((up - dn) / (2 * h) - gphi[k]));
    }
    CHECK(wphi < 1e-8, "phi: worst |FD - exact| = %.3g", wphi);
    print_message("  grad_fd: eta worst %.2g (%d coords), phi worst %.2g (%d coords)\n", worst, P, wphi, Q);
    free(eta), free(phi), free(gphi);
    fx_close(&f);
    END_CHECKS();
}

static void test_hooks(void **unused)
{
    n_bad = 0;
    fixture f;
    assert_int_equal(fx_open(&f, SPEC), 0);
    const gv_problem *p = f.p, *s = inner_sbn(p);
    const gv_ikl_hooks *h = p->type->ikl;
    const int D = p->group_units;
    gsl_rng *r = gv_rng_new(gv_rng_default(), 5);
    int z[8];
    double worst = 0;
    for (int n = 0; n < p->n_groups; n++)
        for (int t = 0; t < 32; t++) {
            for (int d = 0; d < D; d++) z[d] = gsl_rng_uniform(r) < 0.5;
            const double a = h->log_prior(p, n, z) + h->log_lik(p, n, z), b = gv_sbn_log_joint(s, n, z);
            worst = fmax(worst, fabs(a - b) / (1 + fabs(b)));
        }
    CHECK(worst < 1e-13, "log_prior + log_lik vs the sbn's log joint: worst relative %.3g", worst);
    /* SMC target: the fast path equals log_lik */
    void *ctx = malloc(gv_ikl_smc_ctx_size(p));
    gv_smc_target t;
    CHECK(gv_ikl_smc_target(p, 1, ctx, &t) == 0 && t.D == D, "smc target");
    double aux[64];
    double wf = 0;
    for (int k = 0; k < 50; k++) {
        for (int d = 0; d < D; d++) z[d] = gsl_rng_uniform(r) < 0.5;
        const double ll = t.log_lik(t.ctx, z);
        CHECK(fabs(ll - h->log_lik(p, 1, z)) < 1e-12 * (1 + fabs(ll)), "target log_lik");
        if (t.log_lik_flip) {
            t.aux_init(t.ctx, z, aux);
            const int d = k % D;
            const double lf = t.log_lik_flip(t.ctx, z, d, ll, aux);
            z[d] ^= 1;
            wf = fmax(wf, fabs(lf - h->log_lik(p, 1, z)) / (1 + fabs(lf)));
        }
    }
    CHECK(t.log_lik_flip && wf < 1e-12, "flip fast path: worst relative %.3g", wf);
    free(ctx);
    /* sample_prior: bit means */
    gv_sbn_model m;
    gv_sbn_get_model(s, &m);
    const int S = 40000;
    double cnt[8] = {0};
    for (int i = 0; i < S; i++) {
        h->sample_prior(p, 0, r, z);
        for (int d = 0; d < D; d++) cnt[d] += z[d];
    }
    double zmax = 0;
    for (int d = 0; d < D; d++) {
        const double th = gv_sigmoid(m.b[d]);
        zmax = fmax(zmax, fabs(cnt[d] / S - th) / sqrt(th * (1 - th) / S));
    }
    CHECK(zmax < 4.4, "sample_prior bit means: max z %.2f", zmax); /* Bonferroni over 5 bits at 1e-4 */
    /* group log q and score: the score is the eta-gradient of gv_ikl_log_q */
    double g[64] = {0}, e2[64], ws = 0;
    for (int d = 0; d < D; d++) z[d] = d & 1;
    gv_ikl_score_axpy(&f.pt, p, 2, z, 1.0, g);
    gv_point q2;
    gv_point_init(&q2, &p->layout, p->eta);
    for (int k = 0; k < p->layout.n_params; k++) {
        memcpy(e2, p->eta, (size_t)p->layout.n_params * sizeof *e2);
        e2[k] += 1e-6;
        gv_point_set(&q2, e2);
        const double up = gv_ikl_log_q(&q2, p, 2, z);
        e2[k] -= 2e-6;
        gv_point_set(&q2, e2);
        const double dn = gv_ikl_log_q(&q2, p, 2, z);
        ws = fmax(ws, fabs((up - dn) / 2e-6 - g[k]));
    }
    CHECK(ws < 1e-8, "group score vs FD of group log q: %.3g", ws);
    gv_point_free(&q2);
    gsl_rng_free(r);
    fx_close(&f);
    END_CHECKS();
}

static void test_marginal(void **unused)
{
    n_bad = 0;
    char err[GV_ERRLEN];
    fixture f;
    assert_int_equal(fx_open(&f, "sbn-posterior:D=3,P=4,N=2,scale=1.5,enc_scale=0.5,marginal=1"), 0);
    const gv_problem *p = f.p;
    const int Q = p->n_outer;
    double v, *g = malloc((size_t)Q * sizeof *g), *g2 = malloc((size_t)Q * sizeof *g2);
    double *phi = malloc((size_t)Q * sizeof *phi);
    CHECK(p->type->ikl->exact_marginal(p, p->phi, &v, g, err) == 0, "%s", err);
    memcpy(phi, p->phi, (size_t)Q * sizeof *phi);
    double worst = 0;
    for (int k = 0; k < Q; k++) {
        double up, dn;
        phi[k] += 1e-5;
        p->type->ikl->exact_marginal(p, phi, &up, g2, err);
        phi[k] -= 2e-5;
        p->type->ikl->exact_marginal(p, phi, &dn, g2, err);
        phi[k] += 1e-5;
        worst = fmax(worst, fabs((up - dn) / 2e-5 - g[k]));
    }
    CHECK(worst < 1e-8, "model-marginal gradient vs FD: %.3g", worst);
    /* sleep's score mean: -N E_{p(z,x)} score_phi -> the marginal gradient */
    gsl_rng *r = gv_rng_new(gv_rng_default(), 9);
    const long S = 200000;
    double *sum = calloc((size_t)Q, sizeof *sum), *sq = calloc((size_t)Q, sizeof *sq), *one = malloc((size_t)Q * sizeof *one);
    int z[8];
    double x[8];
    for (long i = 0; i < S; i++) {
        memset(one, 0, (size_t)Q * sizeof *one);
        p->type->ikl->sample_joint(p, r, z, x);
        p->type->ikl->score_phi(p, p->phi, x, z, -(double)p->n_groups, one);
        for (int k = 0; k < Q; k++) sum[k] += one[k], sq[k] += one[k] * one[k];
    }
    double zmax = 0;
    for (int k = 0; k < Q; k++) {
        const double mean = sum[k] / S, var = (sq[k] - S * mean * mean) / (S - 1);
        if (var > 0) zmax = fmax(zmax, fabs(mean - g[k]) / sqrt(var / S));
    }
    CHECK(zmax < 4.0, "simulated sleep score vs the exact marginal gradient: max z %.2f over %d coords", zmax, Q);
    print_message("  marginal: objective %.6g, FD worst %.2g, sleep-score max z %.2f (%d coords, S = %ld)\n", v, worst,
                  zmax, Q, S);
    /* the engine's third row */
    CHECK(gv_exact_marginal(p, p->phi, &f.ex, err) == 0 && f.ex.marg_grad, "gv_exact_marginal: %s", err);
    free(g), free(g2), free(phi), free(sum), free(sq), free(one);
    gsl_rng_free(r);
    fx_close(&f);
    gv_problem *big;
    CHECK(gv_problem_new("sbn-posterior:D=8,P=16,marginal=1", &big, err) == GV_EUSAGE && strstr(err, "P + D <= 20"),
          "marginal=1 with P + D = 24: %s", err);
    END_CHECKS();
}

static void test_crossing(void **unused)
{
    n_bad = 0;
    char err[GV_ERRLEN];
    fixture f;
    assert_int_equal(fx_open(&f, SPEC), 0);
    const gv_estimator_type *t = gv_estimator_find("rloo");
    CHECK(gv_estimator_compatible(t, f.p, 2, err) == -1 && strstr(err, "inclusive-kl") && strstr(err, "expectation"),
          "rloo on sbn-posterior: %s", err);
    gv_row row;
    gv_engine_opts o = {.R = 10, .seed = 1, .rng = gv_rng_default()};
    CHECK(gv_run_cell(f.p, &f.pt, &f.ex, "reinforce", 2, &o, 0, &row, err) == GV_OK && !strcmp(row.status, "incompatible"),
          "reinforce row status %s", row.status);
    gv_row_free(&row);
    fx_close(&f);
    gv_problem *p;
    CHECK(gv_problem_new("sbn-posterior:preset=hard", &p, err) == GV_EUSAGE && strstr(err, "multimodal"), "%s", err);
    CHECK(gv_problem_new("sbn-posterior:Z=1", &p, err) == GV_EUSAGE && strstr(err, "marginal"), "%s", err);
    CHECK(gv_problem_new("sbn-posterior:D=21", &p, err) != GV_OK, "D = 21 accepted");
    END_CHECKS();
}

static void test_threads(void **unused)
{
    n_bad = 0;
    fixture a, b;
    omp_set_num_threads(1);
    assert_int_equal(fx_open(&a, "sbn-posterior:preset=multimodal,N=3"), 0);
    omp_set_num_threads(2);
    assert_int_equal(fx_open(&b, "sbn-posterior:preset=multimodal,N=3"), 0);
    CHECK(a.ex.value == b.ex.value && !memcmp(a.ex.grad, b.ex.grad, (size_t)a.p->layout.n_params * sizeof(double)),
          "1 vs 2 threads: KL %.17g vs %.17g", a.ex.value, b.ex.value);
    fx_close(&a);
    fx_close(&b);
    END_CHECKS();
}

int main(void)
{
    gsl_set_error_handler_off();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_direct_kl), cmocka_unit_test(test_grad_fd),  cmocka_unit_test(test_hooks),
        cmocka_unit_test(test_marginal),  cmocka_unit_test(test_crossing), cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
