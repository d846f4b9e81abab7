/* test_determinism.c — same seed => byte-identical results for any thread count (DESIGN.md
 * "Randomness": one stream per (problem, estimator, K, block), block statistics merged in block
 * order; enumeration chunks summed in chunk order).
 *
 * Every registered estimator x a list of problems covering the registry x K in {1..4} where
 * compatible, run with 1, 2 and 3 OpenMP threads (3 oversubscribes a 2-core machine, which
 * shuffles the order in which blocks finish): the summary (every double except
 * ns_per_estimate), the per-coordinate rows, status and message must be identical bit for bit.
 * R = 3000 is 12 blocks with uneven boundaries; W = 500 warm-up estimates exercise estimators
 * with learned state (reinforce-ema).  The exact reference by enumeration is compared the same way
 * (Bernoulli, categorical and count layouts).
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

#include "tests/testkit.h"

static const char *const problem_specs[] = GV_REGISTRY_SPECS;
#define N_PROBLEMS (sizeof problem_specs / sizeof problem_specs[0])
static const int threads[] = {1, 2, 3};
#define N_THREADS (sizeof threads / sizeof threads[0])

static fixture fx[N_PROBLEMS];

static int group_setup(void **unused)
{
    char err[GV_ERRLEN];
    for (size_t i = 0; i < N_PROBLEMS; i++) {
        fixture *f = &fx[i];
        if (gv_problem_new(problem_specs[i], &f->p, err) || gv_point_init(&f->pt, &f->p->layout, f->p->eta) ||
            gv_exact_alloc(&f->ex, &f->p->layout) ||
            gv_exact_compute(f->p, &f->pt, GV_DEFAULT_MAX_STATES, 0, &f->ex, err)) {
            print_error("%s: %s\n", problem_specs[i], err);
            return -1;
        }
    }
    return 0;
}

static int group_teardown(void **unused)
{
    for (size_t i = 0; i < N_PROBLEMS; i++) {
        gv_exact_free(&fx[i].ex);
        gv_point_free(&fx[i].pt);
        gv_problem_free(fx[i].p);
    }
    omp_set_num_threads(omp_get_num_procs());
    return 0;
}

static void test_registry_covered(void **unused)
{
    n_bad = 0;
    for (const gv_problem_type *const *t = gv_problem_types; *t; t++) {
        int found = 0;
        for (size_t i = 0; i < N_PROBLEMS; i++) found |= fx[i].p->type == *t;
        CHECK(found, "registered problem '%s' is not in test_determinism.c's list", (*t)->name);
    }
    END_CHECKS();
}

static int same_row(const gv_row *a, const gv_row *b)
{
    gv_summary x = a->s, y = b->s;
    x.ns_per_estimate = y.ns_per_estimate = 0;
    if (memcmp(&x, &y, sizeof x) || strcmp(a->status, b->status) || strcmp(a->message, b->message) || a->P != b->P)
        return 0;
    size_t n = (size_t)a->P * sizeof(double);
    return a->P == 0 || (a->coord_mean && b->coord_mean && !memcmp(a->coord_mean, b->coord_mean, n) &&
                         !memcmp(a->coord_var, b->coord_var, n) && !memcmp(a->coord_exact, b->coord_exact, n));
}

static int n_adaptive_cells;

static void test_thread_count(void **state)
{
    n_bad = 0;
    const gv_estimator_type *t = *state;
    char err[GV_ERRLEN], msg[GV_ERRLEN];
    int cells = 0;
    for (size_t i = 0; i < N_PROBLEMS; i++)
        for (int K = 1; K <= 4; K++) {
            if (gv_estimator_compatible(t, fx[i].p, K, msg)) continue;
            gv_engine_opts o = {.R = 3000, .W = 500, .seed = 99, .rng = gv_rng_default(), .timing = 1};
            gv_row rows[N_THREADS];
            int rc[N_THREADS];
            for (size_t n = 0; n < N_THREADS; n++) {
                omp_set_num_threads(threads[n]);
                rc[n] = gv_run_cell(fx[i].p, &fx[i].pt, &fx[i].ex, t->name, K, &o, 1, &rows[n], err);
            }
            cells++;
            if (t->adapt) n_adaptive_cells++;
            CHECK(rc[0] == GV_OK && !strcmp(rows[0].status, "ok"), "%s on %s K=%d: %s", t->name, problem_specs[i], K,
                  rc[0] == GV_OK ? rows[0].message : err);
            for (size_t n = 1; n < N_THREADS; n++) {
                CHECK(rc[n] == rc[0], "%s on %s K=%d: rc %d with %d threads, %d with 1", t->name, problem_specs[i], K,
                      rc[n], threads[n], rc[0]);
                if (rc[n] == GV_OK && rc[0] == GV_OK)
                    CHECK(same_row(&rows[0], &rows[n]),
                          "%s on %s K=%d: %d threads give a different row (var_mean %.17g vs %.17g)", t->name,
                          problem_specs[i], K, threads[n], rows[n].s.var_mean, rows[0].s.var_mean);
            }
            for (size_t n = 0; n < N_THREADS; n++)
                if (rc[n] == GV_OK) gv_row_free(&rows[n]);
        }
    CHECK(cells > 0, "%s: no compatible cell in the list", t->name);
    END_CHECKS();
}

/* runs after the per-estimator tests: a learned-state estimator must have been among them */
static void test_adaptive_covered(void **unused)
{
    n_bad = 0;
    int any = 0;
    for (const gv_estimator_type *const *t = gv_estimator_types; *t; t++) any |= (*t)->adapt != NULL;
    CHECK(!any || n_adaptive_cells > 0, "registered estimators learn state, but none was run with warm-up");
    CHECK(gv_estimator_find("reinforce-ema") == NULL || n_adaptive_cells > 0, "reinforce-ema not exercised");
    END_CHECKS();
}

/* Enumeration with 1, 2, 3 threads: identical value, conditional means and gradient. */
static void test_enumeration_threads(void **unused)
{
    n_bad = 0;
    /* the count one: 60^3 = 216000 states, 14 chunks, forced enumeration of a closed-form problem */
    const char *specs[] = {"bernoulli-coupled:D=16,seed=2", "categorical-abs:preset=d12c3",
                           "count-quadratic:preset=poisson5,D=3,t=2/6/9"};
    char err[GV_ERRLEN];
    for (size_t s = 0; s < sizeof specs / sizeof specs[0]; s++) {
        gv_problem *p;
        assert_int_equal(gv_problem_new(specs[s], &p, err), GV_OK);
        gv_point pt;
        assert_int_equal(gv_point_init(&pt, &p->layout, p->eta), 0);
        gv_exact ex[N_THREADS];
        for (size_t n = 0; n < N_THREADS; n++) {
            assert_int_equal(gv_exact_alloc(&ex[n], &p->layout), 0);
            omp_set_num_threads(threads[n]);
            CHECK(gv_exact_compute(p, &pt, GV_DEFAULT_MAX_STATES, 1, &ex[n], err) == GV_OK, "%s: %s", specs[s], err);
        }
        for (size_t n = 1; n < N_THREADS; n++) {
            CHECK(!memcmp(&ex[n].value, &ex[0].value, sizeof(double)) &&
                      !memcmp(ex[n].cond, ex[0].cond, (size_t)p->layout.n_cond * sizeof(double)) &&
                      !memcmp(ex[n].grad, ex[0].grad, (size_t)p->layout.n_params * sizeof(double)),
                  "%s: enumeration with %d threads differs (value %.17g vs %.17g)", specs[s], threads[n], ex[n].value,
                  ex[0].value);
        }
        for (size_t n = 0; n < N_THREADS; n++) gv_exact_free(&ex[n]);
        gv_point_free(&pt);
        gv_problem_free(p);
    }
    END_CHECKS();
}

int main(void)
{
    gsl_set_error_handler_off();
    size_t n_est = 0;
    while (gv_estimator_types[n_est]) n_est++;
    struct CMUnitTest *tests = calloc(n_est + 3, sizeof *tests);
    char(*names)[128] = calloc(n_est, sizeof *names);
    if (!tests || !names) return 1;
    size_t n = 0;
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_registry_covered);
    for (size_t e = 0; e < n_est; e++) {
        snprintf(names[e], sizeof names[e], "threads/%s", gv_estimator_types[e]->name);
        tests[n++] = (struct CMUnitTest){names[e], test_thread_count, NULL, NULL, (void *)gv_estimator_types[e]};
    }
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_adaptive_covered);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_enumeration_threads);
    int rc = _cmocka_run_group_tests("determinism", tests, n, group_setup, group_teardown);
    free(tests);
    free(names);
    return rc;
}
