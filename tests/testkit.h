/* testkit.h — what every gradvar test file shares: the CHECK macro (collect failures, report them
 * all, fail the case once at END_CHECKS) and a fixture holding a problem at its initial point with
 * its exact reference.  Header-only so that each tests/test_*.c stays one self-contained binary. */
#ifndef GV_TESTKIT_H
#define GV_TESTKIT_H

#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "harness/exact.h"

static int n_bad;
#define CHECK(cond, ...)                                                      \
    do {                                                                      \
        if (!(cond)) {                                                        \
            n_bad++;                                                          \
            print_error("CHECK failed (%s:%d): %s\n  ", __FILE__, __LINE__, #cond); \
            print_error(__VA_ARGS__);                                         \
            print_error("\n");                                                \
        }                                                                     \
    } while (0)
#define END_CHECKS() assert_int_equal(n_bad, 0)

/* The problem list of the registry-wide tests (test_unbiased.c, test_determinism.c): small specs,
 * one or more per registered problem (both files check that every registered problem appears),
 * chosen to be generic: unequal theta / pi across units, non-separable f, several classes. */
#define GV_REGISTRY_SPECS { \
    "bernoulli-coupled:D=6,seed=3", \
    "bernoulli-quadratic:D=5,t=0.3,p=0.1/0.3/0.5/0.7/0.9", \
    "bernoulli-shared:p=0.3", \
    "categorical-abs:D=3,C=4,seed=2", \
    "categorical-arsm:C=6,logit=0.5/-0.3/0/1/-1/0.2", \
    "categorical-coupled:D=3,C=3/4/2,seed=2", \
    "categorical-linear:D=2,C=3,seed=5", \
    "cluster-posterior:X=2,N=3,C=3", /* inclusive-kl: expectation estimators are incompatible */ \
    /* count units, one spec per family, with a two-unit one.  Support caps are set just above \
     * what eta0 needs (P(X >= 30) = 2.8e-14 for Poisson(5); 3.9e-14 at 40 for NegBin(3, 0.6); \
     * 0.5^42 = 2.3e-13 for Geometric(0.5): all below GV_COUNT_TAIL = 1e-12) instead of the \
     * problem's default (tail <= 1e-12 at twice the mean: 60, 95, 97), because tokui-sato and \
     * reinforce-optimal sum the support, so their cost per estimate is proportional to the cap. \
     * The GenGS presets themselves are exercised by test_exact.c and test_count.c. */ \
    "count-quadratic:preset=poisson5,support=30", \
    "count-quadratic:family=negbin,r=3,q=0.6,D=2,t=1/4,support=40", \
    "count-quadratic:preset=binomial20", \
    "count-quadratic:family=geometric,q=0.5,f=sqrt,support=42", \
    /* the ELBO of a small sigmoid belief net: f contains log q (f_at), outer parameters phi; P odd \
     * exercises the tail of the vectorised log-sigmoid */ \
    "sbn:D=3,P=5,N=2,enc_scale=0.5", \
    /* two latent layers: a hierarchical layout (edges layer 1 -> layer 2); estimators that assume \
     * independent units are incompatible with it (skipped, as for unit kinds) */ \
    "sbn:D=3,D2=2,P=5,N=2,enc_scale=0.5", \
    /* inclusive KL: the posteriors of a small sbn given two data points (groups), amortised q */ \
    "sbn-posterior:D=3,P=5,N=2,enc_scale=0.5", \
}

/* A problem whose f records every point it is evaluated at (and returns 0): the samples an estimator
 * draws, for tests of their law. */
typedef struct {
    int D, n_log, cap;
    int *log; /* cap x D */
} spy_t;

static inline double spy_f(const void *v, const int *z)
{
    spy_t *s = (spy_t *)v; /* the object is not const: the hook's signature is */
    if (s->n_log < s->cap) memcpy(s->log + (size_t)s->n_log * s->D, z, (size_t)s->D * sizeof *z);
    s->n_log++;
    return 0;
}

static const gv_problem_type spy_type __attribute__((unused)) = {.name = "spy", .objective = GV_OBJ_EXPECTATION,
                                                                  .f = spy_f};

/* The exact objective of problem p at parameter eta (n_params); NAN if it cannot be computed. */
static inline __attribute__((unused)) double tk_exact_value(const gv_problem *p, const double *eta)
{
    char err[GV_ERRLEN];
    gv_point pt;
    gv_exact ex;
    double v = NAN;
    if (!gv_point_init(&pt, &p->layout, eta) && !gv_exact_alloc(&ex, &p->layout)) {
        if (!gv_exact_compute(p, &pt, GV_DEFAULT_MAX_STATES, 0, &ex, err)) v = ex.value;
        gv_exact_free(&ex);
    }
    gv_point_free(&pt);
    return v;
}

/* Write a problem's own parameter dump (describe --params) to path; 0 ok. */
static inline __attribute__((unused)) int tk_dump_params(const gv_problem *p, const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    int rc = p->type->dump_params(p, f);
    return fclose(f) || rc;
}

/* 1 if the two files exist and are byte for byte the same. */
static inline __attribute__((unused)) int tk_same_file(const char *a, const char *b)
{
    FILE *x = fopen(a, "r"), *y = fopen(b, "r");
    int same = x && y;
    while (same) {
        int c = fgetc(x), d = fgetc(y);
        if (c != d) same = 0;
        if (c == EOF || d == EOF) break;
    }
    if (x) fclose(x);
    if (y) fclose(y);
    return same;
}

#ifndef GV_TESTKIT_NO_FIXTURE /* files with a fixture of their own define this first */
typedef struct {
    gv_problem *p;
    gv_point pt;
    gv_exact ex;
} fixture;

/* Build SPEC at its initial parameters with its exact reference; 0 ok. */
static inline int fx_open(fixture *f, const char *spec)
{
    char err[GV_ERRLEN];
    memset(f, 0, sizeof *f);
    if (gv_problem_new(spec, &f->p, err)) return print_error("%s: %s\n", spec, err), -1;
    if (gv_point_init(&f->pt, &f->p->layout, f->p->eta) || gv_exact_alloc(&f->ex, &f->p->layout)) return -1;
    if (gv_exact_compute(f->p, &f->pt, GV_DEFAULT_MAX_STATES, 0, &f->ex, err))
        return print_error("%s: %s\n", spec, err), -1;
    return 0;
}

static inline void fx_close(fixture *f)
{
    gv_exact_free(&f->ex);
    gv_point_free(&f->pt);
    gv_problem_free(f->p);
    memset(f, 0, sizeof *f);
}
#endif

#endif
