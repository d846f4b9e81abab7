/* testkit.h — what every gradvar test file shares: the CHECK macro (collect failures, report them
 * all, fail the case once at END_CHECKS) and a fixture holding a problem at its initial point with
 * its exact reference.  Header-only so that each tests/test_*.c stays one self-contained binary. */
#ifndef GV_TESTKIT_H
#define GV_TESTKIT_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
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
}
#endif

#endif
