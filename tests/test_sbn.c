/* test_sbn.c — the sigmoid belief net problem (problems/sbn.c).
 *   kernel        the vectorised sum of log-sigmoids against libm, every P from 1 to 40 (the tail
 *                 paths) and logits up to +-800
 *   hand          D = 1, P = 1: log p(x) and the ELBO in closed form
 *   direct_sum    D <= 8: ELBO, log p(x), E[f | z_d = v] and posterior marginals of the Gray-code
 *                 enumeration and of the straightforward one against a direct sum over z written
 *                 here (log p(x, z) from gv_sbn_log_joint, log q from the point)
 *   gray_vs_direct  D = 14 (4 blocks of 2^12 states): the two enumerations agree to 1e-10
 *   threads       the exact reference is bit-identical with 1 and 2 threads (blocks merged in order;
 *                 one layer and two, the two-layer net being tested in test_sbn2.c)
 *   phi_fd        d ELBO / d phi (exact gradient mapped by J^T) against central finite differences
 *                 of the exact ELBO in phi
 *   f_at          f is log p(x, z) - log q(z | x) at the point; f~ agrees with f at the vertices
 *                 and its gradient with finite differences
 *   params        describe's parameter dump -> params= load -> dump is byte for byte the same, and
 *                 the loaded problem has the same exact reference
 *   fmnist        Fashion-MNIST (Debian dataset-fashion-mnist, installed by make deps): 14 x 14 and
 *                 7 x 7 binarised images load, with a plausible ink fraction, deterministically */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <gsl/gsl_errno.h>
#include <omp.h>

#include "harness/exact.h"
#include "harness/rng.h"
#include "problems/sbn.h"
#include "testkit.h"

static double sp(double a) { return fmax(a, 0) + log1p(exp(-fabs(a))); }

static void test_kernel(void **unused)
{
    n_bad = 0;
    gsl_rng *r = gv_rng_new(gv_rng_default(), 11);
    double a[64], x[64], worst = 0;
    for (int P = 1; P <= 40; P++)
        for (int rep = 0; rep < 200; rep++) {
            const double scale = rep < 100 ? 10 : 800; /* clamped region of the fast exp too */
            double mag = 0;
            for (int j = 0; j < P; j++) {
                a[j] = (2 * gsl_rng_uniform(r) - 1) * scale, x[j] = gsl_rng_uniform(r) < 0.5;
                mag += fabs(a[j]) + 1;
            }
            const double fast = gv_sbn_loglik_fast(a, x, P), ref = gv_sbn_loglik_libm(a, x, P);
            const double base = gv_sbn_loglik_sse2(a, x, P);
            CHECK(memcmp(&fast, &base, sizeof fast) == 0, "P=%d: the dispatched kernel %.17g and the 2-lane one %.17g "
                  "differ (results would depend on the CPU)", P, fast, base);
            const double rel = fabs(fast - ref) / mag;
            worst = fmax(worst, rel);
            CHECK(rel < 1e-15 * (1 + P), "P=%d: fast %.17g, libm %.17g", P, fast, ref);
        }
    /* single values: every a in a fine grid, P = 1 */
    double wr = 0;
    for (int i = -400000; i <= 400000; i++) {
        a[0] = i * 1e-4, x[0] = 0;
        const double f = -gv_sbn_loglik_fast(a, x, 1), g = sp(a[0]);
        wr = fmax(wr, fabs(f - g) / g);
    }
    CHECK(wr < 2e-15, "softplus relative error %.3g on [-40, 40]", wr);
    print_message("  fast log-likelihood: worst |fast - libm| / sum(|a| + 1) = %.3g; softplus relative error %.3g\n",
                  worst, wr);
    gsl_rng_free(r);
    END_CHECKS();
}

static void test_hand(void **unused)
{
    n_bad = 0;
    /* D = 1, P = 1: p(x) = sigma(b) Bern(x; sigma(c + W)) + sigma(-b) Bern(x; sigma(c)) */
    char path[] = "/tmp/gv_sbn_handXXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    const double b = 0.3, W = -1.2, c = 0.7, A = 0.4, a0 = -0.2;
    fprintf(f, "param,row,col,value\nb,0,0,%.17g\nW,0,0,%.17g\nc,0,0,%.17g\nA,0,0,%.17g\na,0,0,%.17g\n", b, W, c, A, a0);
    fclose(f);
    char spec[128];
    snprintf(spec, sizeof spec, "sbn:params=%s,N=3,seed=2", path);
    fixture fx;
    assert_int_equal(fx_open(&fx, spec), 0);
    gv_sbn_model m;
    assert_int_equal(gv_sbn_get_model(fx.p, &m), 0);
    for (int n = 0; n < m.N; n++) {
        const double x = m.x[n];
        const double l1 = x ? log(gv_sigmoid(c + W)) : log(gv_sigmoid(-(c + W))), l0 = x ? log(gv_sigmoid(c)) : log(gv_sigmoid(-c));
        const double j1 = log(gv_sigmoid(b)) + l1, j0 = log(gv_sigmoid(-b)) + l0;
        const double lpx = log(exp(j1) + exp(j0));
        const double eta = A * x + a0, th = gv_sigmoid(eta);
        const double elbo = th * (j1 - log(th)) + (1 - th) * (j0 - log(1 - th));
        gv_sbn_result r;
        assert_int_equal(gv_sbn_enumerate(fx.p, n, fx.pt.eta + n, GV_SBN_GRAY, &r), 0);
        CHECK(fabs(r.logpx - lpx) < 1e-14 && fabs(r.elbo - elbo) < 1e-14 &&
                  fabs(r.post[0] - exp(j1 - lpx)) < 1e-14 && fabs(r.cond1[0] - (j1 - log(th))) < 1e-14 &&
                  fabs(r.cond0[0] - (j0 - log(1 - th))) < 1e-14,
              "n=%d x=%g: log p(x) %.17g vs %.17g, ELBO %.17g vs %.17g", n, x, r.logpx, lpx, r.elbo, elbo);
        CHECK(fabs(fx.pt.eta[n] - eta) < 1e-15, "eta %.17g vs A x + a = %.17g", fx.pt.eta[n], eta);
    }
    fx_close(&fx);
    unlink(path);
    END_CHECKS();
}

/* ELBO, log p(x), E[f | z_d = v], posterior marginals of data point n by a direct sum over z. */
static void direct_sum(const gv_problem *p, int n, const double *eta, gv_sbn_result *r)
{
    gv_sbn_model m;
    gv_sbn_get_model(p, &m);
    const int D = m.D;
    int z[GV_SBN_MAXD];
    double W = 0, F = 0, W1[GV_SBN_MAXD] = {0}, F1[GV_SBN_MAXD] = {0}, F0[GV_SBN_MAXD] = {0}, W0[GV_SBN_MAXD] = {0};
    double lj[1 << 8], M = -INFINITY;
    for (long s = 0; s < 1L << D; s++) {
        double lq = 0;
        for (int d = 0; d < D; d++) {
            z[d] = (int)(s >> d & 1);
            lq += log(gv_sigmoid(z[d] ? eta[d] : -eta[d]));
        }
        const double l = gv_sbn_log_joint(p, n, z), q = exp(lq), f = l - lq;
        lj[s] = l, M = fmax(M, l);
        W += q, F += q * f;
        for (int d = 0; d < D; d++) {
            if (z[d]) W1[d] += q, F1[d] += q * f;
            else W0[d] += q, F0[d] += q * f;
        }
    }
    double L = 0, Lm[GV_SBN_MAXD] = {0};
    for (long s = 0; s < 1L << D; s++) {
        L += exp(lj[s] - M);
        for (int d = 0; d < D; d++) Lm[d] += (s >> d & 1) * exp(lj[s] - M);
    }
    r->elbo = F / W, r->logpx = M + log(L);
    for (int d = 0; d < D; d++) r->cond1[d] = F1[d] / W1[d], r->cond0[d] = F0[d] / W0[d], r->post[d] = Lm[d] / L;
}

static double rel_diff(const gv_sbn_result *a, const gv_sbn_result *b, int D)
{
    double w = fabs(a->elbo - b->elbo) / (1 + fabs(b->elbo));
    w = fmax(w, fabs(a->logpx - b->logpx) / (1 + fabs(b->logpx)));
    for (int d = 0; d < D; d++) {
        w = fmax(w, fabs(a->cond1[d] - b->cond1[d]) / (1 + fabs(b->cond1[d])));
        w = fmax(w, fabs(a->cond0[d] - b->cond0[d]) / (1 + fabs(b->cond0[d])));
        w = fmax(w, fabs(a->post[d] - b->post[d]));
    }
    return w;
}

static void test_direct_sum(void **unused)
{
    n_bad = 0;
    static const char *const specs[] = {"sbn:D=1,P=1,N=2", "sbn:D=3,P=5,N=2,enc_scale=0.5", "sbn:D=6,P=9,N=3,scale=3,seed=4",
                                        "sbn:D=8,P=17,N=2,scale=2,enc_scale=2,seed=7"};
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++) {
        fixture fx;
        assert_int_equal(fx_open(&fx, specs[i]), 0);
        gv_sbn_model m;
        gv_sbn_get_model(fx.p, &m);
        double worst = 0;
        for (int n = 0; n < m.N; n++) {
            gv_sbn_result g, s, d;
            const double *eta = fx.pt.eta + n * m.D;
            assert_int_equal(gv_sbn_enumerate(fx.p, n, eta, GV_SBN_GRAY, &g), 0);
            assert_int_equal(gv_sbn_enumerate(fx.p, n, eta, GV_SBN_DIRECT, &s), 0);
            direct_sum(fx.p, n, eta, &d);
            worst = fmax(worst, fmax(rel_diff(&g, &d, m.D), rel_diff(&s, &d, m.D)));
        }
        /* the exact reference's objective is the mean ELBO */
        double mean = 0;
        for (int n = 0; n < m.N; n++) {
            gv_sbn_result d;
            direct_sum(fx.p, n, fx.pt.eta + n * m.D, &d);
            mean += d.elbo / m.N;
        }
        print_message("  %-40s Gray and straightforward vs direct sum: worst relative difference %.3g\n", specs[i], worst);
        CHECK(worst < 1e-12, "%s: enumeration differs from the direct sum by %.3g", specs[i], worst);
        CHECK(fabs(fx.ex.value - mean) < 1e-12 * (1 + fabs(mean)), "%s: exact value %.17g, direct mean ELBO %.17g",
              specs[i], fx.ex.value, mean);
        fx_close(&fx);
    }
    END_CHECKS();
}

static void test_gray_vs_direct(void **unused)
{
    n_bad = 0;
    fixture fx;
    assert_int_equal(fx_open(&fx, "sbn:D=14,P=50,N=2,scale=1.5,enc_scale=0.3,seed=3"), 0);
    gv_sbn_model m;
    gv_sbn_get_model(fx.p, &m);
    for (int n = 0; n < m.N; n++) {
        gv_sbn_result g, s;
        gv_sbn_enumerate(fx.p, n, fx.pt.eta + n * m.D, GV_SBN_GRAY, &g);
        gv_sbn_enumerate(fx.p, n, fx.pt.eta + n * m.D, GV_SBN_DIRECT, &s);
        const double w = rel_diff(&g, &s, m.D);
        print_message("  D=14 n=%d: log p(x) %.12g, ELBO %.12g; Gray vs straightforward %.3g\n", n, s.logpx, s.elbo, w);
        CHECK(w < 1e-10, "n=%d: Gray and straightforward enumerations differ by %.3g", n, w);
        CHECK(s.logpx >= s.elbo, "n=%d: ELBO %.17g above log p(x) %.17g", n, s.elbo, s.logpx);
    }
    fx_close(&fx);
    END_CHECKS();
}

static void test_threads(void **unused)
{
    n_bad = 0;
    char err[GV_ERRLEN];
    /* one layer, and two layers (the nested enumeration: 4 blocks of z1 per data point) */
    static const char *const specs[] = {"sbn:D=14,P=20,N=3", "sbn:D=8,D2=6,P=20,N=3"};
    for (int i = 0; i < 2; i++) {
        gv_problem *p;
        assert_int_equal(gv_problem_new(specs[i], &p, err), 0);
        gv_point pt;
        gv_exact e1, e2;
        assert_int_equal(gv_point_init(&pt, &p->layout, p->eta), 0);
        assert_int_equal(gv_exact_alloc(&e1, &p->layout), 0);
        assert_int_equal(gv_exact_alloc(&e2, &p->layout), 0);
        omp_set_num_threads(1);
        assert_int_equal(gv_exact_compute(p, &pt, GV_DEFAULT_MAX_STATES, 0, &e1, err), 0);
        omp_set_num_threads(2);
        assert_int_equal(gv_exact_compute(p, &pt, GV_DEFAULT_MAX_STATES, 0, &e2, err), 0);
        CHECK(e1.value == e2.value && !memcmp(e1.grad, e2.grad, (size_t)p->layout.n_params * sizeof(double)) &&
                  !memcmp(e1.cond, e2.cond, (size_t)p->layout.n_cond * sizeof(double)),
              "%s: exact reference differs between 1 and 2 threads (%.17g vs %.17g)", specs[i], e1.value, e2.value);
        gv_exact_free(&e1), gv_exact_free(&e2);
        gv_point_free(&pt);
        gv_problem_free(p);
    }
    END_CHECKS();
}

static double exact_at_phi(gv_problem *p, const double *phi)
{
    double *eta = malloc((size_t)p->layout.n_params * sizeof *eta);
    p->type->outer_map(p, phi, eta);
    const double v = tk_exact_value(p, eta);
    free(eta);
    return v;
}

static void test_phi_fd(void **unused)
{
    n_bad = 0;
    fixture fx;
    assert_int_equal(fx_open(&fx, "sbn:D=5,P=7,N=3,enc_scale=0.8,seed=5"), 0);
    const int Q = fx.p->n_outer;
    double *g = malloc((size_t)Q * sizeof *g), *phi = malloc((size_t)Q * sizeof *phi);
    fx.p->type->outer_vjp(fx.p, fx.ex.grad, g);
    double worst = 0;
    const double h = 1e-5;
    for (int k = 0; k < Q; k++) {
        memcpy(phi, fx.p->phi, (size_t)Q * sizeof *phi);
        phi[k] += h;
        const double fp = exact_at_phi(fx.p, phi);
        phi[k] -= 2 * h;
        const double fm = exact_at_phi(fx.p, phi), fd = (fp - fm) / (2 * h);
        /* central differences: truncation ~ h^2 f''' ~ 1e-10, rounding ~ 1e-16 |f| / h ~ 1e-10 */
        const double e = fabs(fd - g[k]);
        worst = fmax(worst, e);
        CHECK(e < 1e-7, "phi[%d]: exact %.12g, finite difference %.12g", k, g[k], fd);
    }
    print_message("  d ELBO / d phi (%d coordinates): worst |exact - central difference| = %.3g\n", Q, worst);
    free(g), free(phi);
    fx_close(&fx);
    END_CHECKS();
}

static void test_f_at(void **unused)
{
    n_bad = 0;
    fixture fx;
    assert_int_equal(fx_open(&fx, "sbn:D=4,P=6,N=2,enc_scale=1"), 0);
    gv_sbn_model m;
    gv_sbn_get_model(fx.p, &m);
    const int NP = fx.p->layout.n_params;
    int z[8];
    double y[8], gr[8];
    gsl_rng *r = gv_rng_new(gv_rng_default(), 3);
    for (int rep = 0; rep < 50; rep++) {
        double want = 0;
        for (int n = 0; n < m.N; n++) {
            double lq = 0;
            for (int d = 0; d < m.D; d++) {
                const int q = n * m.D + d;
                z[q] = gsl_rng_uniform(r) < 0.5, y[q] = z[q];
                lq += log(gv_sigmoid(z[q] ? fx.pt.eta[q] : -fx.pt.eta[q]));
            }
            want += (gv_sbn_log_joint(fx.p, n, z + n * m.D) - lq) / m.N;
        }
        const double f = gv_problem_f(fx.p, &fx.pt, z), ft = gv_problem_ftilde(fx.p, &fx.pt, y);
        CHECK(fabs(f - want) < 1e-13 && fabs(ft - want) < 1e-13, "f %.17g, f~ %.17g, log p - log q %.17g", f, ft, want);
    }
    double worst = 0;
    for (int rep = 0; rep < 20; rep++) {
        for (int q = 0; q < NP; q++) y[q] = gsl_rng_uniform(r);
        gv_problem_grad_ftilde(fx.p, &fx.pt, y, gr);
        for (int q = 0; q < NP; q++) {
            const double h = 1e-6, y0 = y[q];
            y[q] = y0 + h;
            const double fp = gv_problem_ftilde(fx.p, &fx.pt, y);
            y[q] = y0 - h;
            const double fm = gv_problem_ftilde(fx.p, &fx.pt, y);
            y[q] = y0;
            worst = fmax(worst, fabs((fp - fm) / (2 * h) - gr[q]));
        }
    }
    CHECK(worst < 1e-7, "grad f~ vs central differences: %.3g", worst);
    print_message("  f = log p(x,z) - log q(z|x) at the point; grad f~ vs finite differences %.3g\n", worst);
    gsl_rng_free(r);
    fx_close(&fx);
    END_CHECKS();
}

static void test_params(void **unused)
{
    n_bad = 0;
    char p1[] = "/tmp/gv_sbn_p1XXXXXX", p2[] = "/tmp/gv_sbn_p2XXXXXX";
    close(mkstemp(p1)), close(mkstemp(p2));
    fixture a, b;
    assert_int_equal(fx_open(&a, "sbn:D=5,P=9,N=3,seed=8,scale=2,enc_scale=0.7"), 0);
    assert_int_equal(tk_dump_params(a.p, p1), 0);
    char spec[128];
    snprintf(spec, sizeof spec, "sbn:params=%s,N=3,seed=8", p1);
    assert_int_equal(fx_open(&b, spec), 0);
    assert_int_equal(tk_dump_params(b.p, p2), 0);
    CHECK(tk_same_file(p1, p2), "dump -> load -> dump is not byte-identical (%s, %s)", p1, p2);
    /* the data are drawn from the loaded model with the same seed: the same exact reference */
    CHECK(a.ex.value == b.ex.value && !memcmp(a.ex.grad, b.ex.grad, (size_t)a.p->layout.n_params * sizeof(double)),
          "loaded problem: exact %.17g vs %.17g", b.ex.value, a.ex.value);
    fx_close(&a), fx_close(&b);
    unlink(p1), unlink(p2);
    END_CHECKS();
}

static void test_fmnist(void **unused)
{
    n_bad = 0;
    static const char *const specs[] = {"sbn:data=fashion-mnist,D=4,N=20", "sbn:data=fashion-mnist,size=7,D=4,N=20,split=test,offset=100"};
    static const int Ps[] = {196, 49};
    for (int i = 0; i < 2; i++) {
        fixture a, b;
        assert_int_equal(fx_open(&a, specs[i]), 0); /* fails here if make deps did not install the dataset */
        assert_int_equal(fx_open(&b, specs[i]), 0);
        gv_sbn_model m, mb;
        gv_sbn_get_model(a.p, &m), gv_sbn_get_model(b.p, &mb);
        double ink = 0;
        for (int k = 0; k < m.N * m.P; k++) ink += m.x[k] / (m.N * m.P);
        print_message("  %-58s P=%d, ink fraction %.3f\n", specs[i], m.P, ink);
        CHECK(m.P == Ps[i], "%s: P = %d", specs[i], m.P);
        CHECK(ink > 0.2 && ink < 0.7, "%s: fraction of black pixels %.3f", specs[i], ink);
        CHECK(!memcmp(m.x, mb.x, (size_t)m.N * m.P * sizeof *m.x), "%s: binarisation is not deterministic", specs[i]);
        fx_close(&a), fx_close(&b);
    }
    END_CHECKS();
}

int main(void)
{
    gsl_set_error_handler_off();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kernel),      cmocka_unit_test(test_hand),   cmocka_unit_test(test_direct_sum),
        cmocka_unit_test(test_gray_vs_direct), cmocka_unit_test(test_threads), cmocka_unit_test(test_phi_fd),
        cmocka_unit_test(test_f_at),        cmocka_unit_test(test_params), cmocka_unit_test(test_fmnist),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
