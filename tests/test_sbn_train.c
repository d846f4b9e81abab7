/* test_sbn_train.c — what `train` needs of the sigmoid belief net (problems/sbn.c): the model's own
 * parameters, minibatches, dynamic binarisation and the exact held-out evaluation.
 *   model_grad    E_q[grad_theta f] (model_grad summed over every latent state, weighted by q) equals
 *                 central finite differences of the exact ELBO in theta = (b, W, c) (and b2, V on two
 *                 layers): the decoder and prior follow the ELBO's gradient
 *   model_setget  model_set(model_get) changes nothing (bit for bit); a changed theta changes f and
 *                 the exact reference
 *   batches       next_batch draws N distinct pool points, the same for the same stream; with fixed
 *                 binarisation they are rows of the pool; without train_n > N or dynamic it leaves
 *                 the batch alone; the first N pool rows are the frozen-point batch
 *   dynamic       dynamic binarisation: the mean of each pixel over many batches of one image is
 *                 its intensity (z-test, Bonferroni over the pixels), and the pixels do change
 *   evaluate      set 0 with train_n = N is the exact objective at the batch (one and two layers);
 *                 log p(x) >= ELBO on both sets; no test set -> 1; a new model changes the result
 *   errors        train_n < N, binarise=dynamic on synthetic data, test_n with split=test */
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

#include "harness/exact.h"
#include "harness/rng.h"
#include "problems/sbn.h"
#include "testkit.h"

/* The exact objective at the problem's own phi (through the current model and batch). */
static double exact_value(gv_problem *p)
{
    double *eta = malloc((size_t)p->layout.n_params * sizeof *eta);
    p->type->outer_map(p, p->phi, eta);
    const double v = tk_exact_value(p, eta);
    free(eta);
    assert_false(isnan(v));
    return v;
}

/* E_q[model_grad] by summing every latent state (weights q(z), hierarchical or not) against central
 * differences of the exact ELBO in theta. */
static void model_grad_case(const char *spec, int Qexp)
{
    char err[GV_ERRLEN];
    gv_problem *p;
    assert_int_equal(gv_problem_new(spec, &p, err), 0);
    const int Q = p->n_model, U = p->layout.n_units;
    CHECK(Q == Qexp, "%s: n_model %d, expected %d", spec, Q, Qexp);
    assert_true(U <= 16);
    double *th = malloc((size_t)Q * sizeof *th), *g = calloc((size_t)Q, sizeof *g), *t2 = malloc((size_t)Q * sizeof *t2);
    p->type->model_get(p, th);
    gv_point pt;
    gv_point_init(&pt, &p->layout, p->eta);
    int z[16];
    for (long s = 0; s < 1L << U; s++) {
        for (int i = 0; i < U; i++) z[i] = (int)(s >> i & 1);
        p->type->model_grad(p, &pt, z, exp(gv_log_q(&pt, z)), g);
    }
    double worst = 0;
    const double h = 1e-5;
    for (int k = 0; k < Q; k++) {
        memcpy(t2, th, (size_t)Q * sizeof *t2);
        t2[k] += h;
        p->type->model_set(p, t2);
        const double fp = exact_value(p);
        t2[k] -= 2 * h;
        p->type->model_set(p, t2);
        const double fm = exact_value(p), fd = (fp - fm) / (2 * h);
        /* central differences: truncation ~ h^2 f''' ~ 1e-10, rounding ~ 1e-16 |f| / h ~ 1e-10 */
        worst = fmax(worst, fabs(fd - g[k]));
        CHECK(fabs(fd - g[k]) < 1e-7, "%s theta[%d]: E_q[model_grad] %.12g, finite difference %.12g", spec, k, g[k], fd);
    }
    p->type->model_set(p, th);
    print_message("  %-44s d ELBO / d theta (%d coordinates): worst |E_q model_grad - central difference| = %.3g\n",
                  spec, Q, worst);
    gv_point_free(&pt);
    free(th), free(g), free(t2);
    gv_problem_free(p);
}

static void test_model_grad(void **unused)
{
    n_bad = 0;
    model_grad_case("sbn:D=3,P=4,N=2,enc_scale=0.7,seed=4", 3 + 3 * 4 + 4);
    /* two layers: theta also holds b2 (D2) and V (D x D2); 2 x (3 + 2) units, 12 edges */
    model_grad_case("sbn:D=3,D2=2,P=4,N=2,enc_scale=0.7,scale=0.8,seed=4", 3 + 3 * 4 + 4 + 2 + 3 * 2);
    END_CHECKS();
}

static void test_model_setget(void **unused)
{
    n_bad = 0;
    char err[GV_ERRLEN];
    gv_problem *p;
    assert_int_equal(gv_problem_new("sbn:D=4,P=6,N=3,seed=2", &p, err), 0);
    const int Q = p->n_model;
    double *th = malloc((size_t)Q * sizeof *th), *t2 = malloc((size_t)Q * sizeof *t2);
    const double v0 = exact_value(p);
    p->type->model_get(p, th);
    p->type->model_set(p, th);
    const double v1 = exact_value(p);
    CHECK(!memcmp(&v0, &v1, sizeof v0), "model_set(model_get) changed the ELBO: %.17g -> %.17g", v0, v1);
    memcpy(t2, th, (size_t)Q * sizeof *t2);
    t2[0] += 0.5;     /* b_0: the prior (and softplus(b) in the normaliser) */
    t2[Q - 1] -= 0.5; /* c_{P-1} */
    p->type->model_set(p, t2);
    const double v2 = exact_value(p);
    CHECK(fabs(v2 - v0) > 1e-3, "a new theta left the ELBO at %.17g", v2);
    p->type->model_set(p, th);
    const double v3 = exact_value(p);
    CHECK(!memcmp(&v0, &v3, sizeof v0), "reinstalling theta gave %.17g, not %.17g", v3, v0);
    free(th), free(t2);
    gv_problem_free(p);
    END_CHECKS();
}

static void test_batches(void **unused)
{
    n_bad = 0;
    char err[GV_ERRLEN];
    gv_problem *p, *q, *f;
    /* fixed binarisation: the batch is made of pool rows; the frozen-point batch = the first N rows */
    assert_int_equal(gv_problem_new("sbn:D=3,P=16,N=4,train_n=12,seed=3", &p, err), 0);
    assert_int_equal(gv_problem_new("sbn:D=3,P=16,N=12,seed=3", &q, err), 0); /* its x = the whole pool */
    gv_sbn_model mp, mq;
    gv_sbn_get_model(p, &mp), gv_sbn_get_model(q, &mq);
    CHECK(!memcmp(mp.x, mq.x, 4 * 16 * sizeof *mp.x), "the frozen-point batch is not the pool's first N rows");
    gsl_rng *r1 = gv_rng_new(gv_rng_default(), 7), *r2 = gv_rng_new(gv_rng_default(), 7);
    double first[64];
    int differs = 0;
    for (int rep = 0; rep < 50; rep++) {
        assert_int_equal(p->type->next_batch(p, r1), 0);
        gv_sbn_get_model(p, &mp);
        int rows[4];
        for (int n = 0; n < 4; n++) {
            rows[n] = -1;
            for (int m = 0; m < 12; m++) {
                if (memcmp(mp.x + n * 16, mq.x + m * 16, 16 * sizeof *mp.x)) continue;
                rows[n] = m;
                break;
            }
            CHECK(rows[n] >= 0, "rep %d: batch row %d is not a row of the pool", rep, n);
        }
        /* distinct points (the seeded pool has no duplicate rows at P = 16 for this seed: checked) */
        for (int n = 0; n < 4; n++)
            for (int m = 0; m < n; m++) CHECK(rows[n] != rows[m], "rep %d: pool row %d drawn twice", rep, rows[n]);
        if (rep == 0) memcpy(first, mp.x, sizeof first);
        else differs |= memcmp(first, mp.x, sizeof first) != 0;
    }
    CHECK(differs, "50 batches were all the same");
    for (int m = 0; m < 12; m++)
        for (int k = 0; k < m; k++)
            CHECK(memcmp(mq.x + m * 16, mq.x + k * 16, 16 * sizeof *mq.x), "pool rows %d and %d coincide: pick another seed",
                  m, k);
    /* the same stream gives the same batches */
    gv_problem *p2, *p3;
    assert_int_equal(gv_problem_new("sbn:D=3,P=16,N=4,train_n=12,seed=3", &p2, err), 0);
    assert_int_equal(gv_problem_new("sbn:D=3,P=16,N=4,train_n=12,seed=3", &p3, err), 0);
    gsl_rng_free(r1), gsl_rng_free(r2);
    r1 = gv_rng_new(gv_rng_default(), 9), r2 = gv_rng_new(gv_rng_default(), 9);
    for (int rep = 0; rep < 5; rep++) {
        p2->type->next_batch(p2, r1), p3->type->next_batch(p3, r2);
        gv_sbn_model a, b;
        gv_sbn_get_model(p2, &a), gv_sbn_get_model(p3, &b);
        CHECK(!memcmp(a.x, b.x, 4 * 16 * sizeof *a.x), "batch %d differs between two problems on the same stream", rep);
    }
    gv_problem_free(p3);
    /* not batched: next_batch leaves x alone */
    assert_int_equal(gv_problem_new("sbn:D=3,P=16,N=4,seed=3", &f, err), 0);
    gv_sbn_model mf;
    gv_sbn_get_model(f, &mf);
    double keep[64];
    memcpy(keep, mf.x, sizeof keep);
    f->type->next_batch(f, r1);
    CHECK(!memcmp(keep, mf.x, sizeof keep), "next_batch changed an unbatched problem's data");
    gsl_rng_free(r1), gsl_rng_free(r2);
    gv_problem_free(p), gv_problem_free(p2), gv_problem_free(q), gv_problem_free(f);
    END_CHECKS();
}

static void test_dynamic(void **unused)
{
    n_bad = 0;
    char err[GV_ERRLEN];
    gv_problem *p;
    /* one image (N = train_n = 1), 7 x 7: each pixel's mean over B batches against its intensity */
    assert_int_equal(gv_problem_new("sbn:data=fashion-mnist,size=7,D=2,N=1,binarise=dynamic,offset=3", &p, err), 0);
    gv_sbn_model m;
    gv_sbn_get_model(p, &m);
    const int B = 4000, P = 49;
    double mean[49] = {0}, fixed[49], pi[49];
    memcpy(fixed, m.x, sizeof fixed);
    memcpy(pi, m.pool, sizeof pi);
    gsl_rng *r = gv_rng_new(gv_rng_default(), 21);
    int changed = 0;
    for (int b = 0; b < B; b++) {
        p->type->next_batch(p, r);
        gv_sbn_get_model(p, &m);
        for (int j = 0; j < P; j++) mean[j] += m.x[j] / B, changed |= m.x[j] != fixed[j];
    }
    /* the mean of B Bernoulli(pi_j) draws: z = (mean - pi) / sqrt(pi (1 - pi) / B), Bonferroni over the pixels */
    const double thr = gsl_cdf_ugaussian_Qinv(0.001 / (2.0 * P));
    double zmax = 0;
    int gray = 0;
    for (int j = 0; j < P; j++) {
        CHECK(pi[j] >= 0 && pi[j] <= 1, "pixel %d: intensity %g", j, pi[j]);
        const double v = pi[j] * (1 - pi[j]) / B;
        if (v <= 0) {
            CHECK(mean[j] == pi[j] && fixed[j] == pi[j], "pixel %d: intensity %g, dynamic mean %g, fixed %g", j, pi[j],
                  mean[j], fixed[j]);
            continue;
        }
        gray++;
        const double z = fabs(mean[j] - pi[j]) / sqrt(v);
        zmax = fmax(zmax, z);
        CHECK(z < thr, "pixel %d: intensity %.4f, mean of %d dynamic binarisations %.4f (z = %.2f > %.2f)", j, pi[j], B,
              mean[j], z, thr);
    }
    print_message("  dynamic binarisation: %d of %d pixels gray, max z of the pixel means %.2f (threshold %.2f)\n",
                  gray, P, zmax, thr);
    CHECK(changed, "dynamic binarisation never changed a pixel");
    CHECK(gray >= 10, "only %d gray pixels: the image is not averaged down", gray);
    gsl_rng_free(r);
    gv_problem_free(p);
    END_CHECKS();
}

static void test_evaluate(void **unused)
{
    n_bad = 0;
    char err[GV_ERRLEN];
    gv_problem *p, *t;
    assert_int_equal(gv_problem_new("sbn:D=5,P=9,N=6,enc_scale=0.5,seed=8", &p, err), 0);
    double v, l;
    assert_int_equal(p->type->evaluate(p, p->phi, 0, &v, &l), 0);
    const double ex = exact_value(p);
    CHECK(fabs(v - ex) <= 1e-12 * fabs(ex), "training pool = batch: evaluate %.17g, exact %.17g", v, ex);
    CHECK(l >= v, "log p(x) %.10g below the ELBO %.10g", l, v);
    CHECK(p->type->evaluate(p, p->phi, 1, &v, &l) == 1, "no test set: evaluate(set 1) must return 1");
    /* a pool and a test set */
    assert_int_equal(gv_problem_new("sbn:D=5,P=9,N=6,train_n=40,test_n=30,enc_scale=0.5,seed=8", &t, err), 0);
    double v0, l0, v1, l1;
    assert_int_equal(t->type->evaluate(t, t->phi, 0, &v0, &l0), 0);
    assert_int_equal(t->type->evaluate(t, t->phi, 1, &v1, &l1), 0);
    CHECK(l0 >= v0 && l1 >= v1, "log p(x) below the ELBO: train %g < %g or test %g < %g", l0, v0, l1, v1);
    CHECK(fabs(l0 - l1) > 1e-9, "train and test log p(x) coincide (%.17g): the test set is not separate", l0);
    /* and the model matters */
    const int Q = t->n_model;
    double *th = malloc((size_t)Q * sizeof *th);
    t->type->model_get(t, th);
    th[Q - 1] += 1;
    t->type->model_set(t, th);
    double v2, l2;
    assert_int_equal(t->type->evaluate(t, t->phi, 1, &v2, &l2), 0);
    CHECK(fabs(l2 - l1) > 1e-6, "a new model left the test log p(x) at %.17g", l2);
    print_message("  evaluate: pool ELBO %.6f, log p(x) %.6f; test ELBO %.6f, log p(x) %.6f\n", v0, l0, v1, l1);
    free(th);
    gv_problem_free(p), gv_problem_free(t);
    /* two layers: the pool = the batch gives the exact objective; a pool and a test set */
    assert_int_equal(gv_problem_new("sbn:D=4,D2=2,P=9,N=5,enc_scale=0.5,seed=8", &p, err), 0);
    assert_int_equal(p->type->evaluate(p, p->phi, 0, &v, &l), 0);
    const double ex2 = exact_value(p);
    CHECK(fabs(v - ex2) <= 1e-12 * fabs(ex2), "two layers, pool = batch: evaluate %.17g, exact %.17g", v, ex2);
    CHECK(l >= v, "two layers: log p(x) %.10g below the ELBO %.10g", l, v);
    assert_int_equal(gv_problem_new("sbn:D=4,D2=2,P=9,N=5,train_n=20,test_n=15,enc_scale=0.5,seed=8", &t, err), 0);
    assert_int_equal(t->type->evaluate(t, t->phi, 1, &v1, &l1), 0);
    CHECK(l1 >= v1 && isfinite(l1), "two layers: test log p(x) %g, ELBO %g", l1, v1);
    gv_problem_free(p), gv_problem_free(t);
    END_CHECKS();
}

static void test_errors(void **unused)
{
    n_bad = 0;
    static const struct { const char *spec, *needle; } bad[] = {
        {"sbn:D=3,N=5,train_n=4", "train_n=4 is smaller than the batch N=5"},
        {"sbn:D=3,binarise=dynamic", "binarise=dynamic needs data=fashion-mnist"},
        {"sbn:D=3,binarise=sometimes", "binarise"},
        {"sbn:data=fashion-mnist,D=3,split=test,test_n=5", "test_n reads the Fashion-MNIST test file"},
        {"sbn:data=fashion-mnist,D=3,train_n=70000", "needs 70000 images"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char err[GV_ERRLEN] = "";
        gv_problem *p = NULL;
        const int rc = gv_problem_new(bad[i].spec, &p, err);
        CHECK(rc == GV_EUSAGE, "%s: rc %d (%s)", bad[i].spec, rc, err);
        CHECK(strstr(err, bad[i].needle) != NULL, "%s: message '%s' lacks '%s'", bad[i].spec, err, bad[i].needle);
        gv_problem_free(p);
    }
    END_CHECKS();
}

int main(void)
{
    gsl_set_error_handler_off();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_model_grad), cmocka_unit_test(test_model_setget), cmocka_unit_test(test_batches),
        cmocka_unit_test(test_dynamic),    cmocka_unit_test(test_evaluate),     cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
