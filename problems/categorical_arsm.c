/* categorical_arsm.c — the ARSM toy (Yin, Yue & Zhou 1905.01413): one categorical unit with C classes
 * (C = 30 in the paper), f(z) = 0.5 + (z + 1)/(C R) for z in {0..C-1} (the paper's classes 1..C),
 * R = 30, logits 0 at the start (pi uniform) unless given.  The target values differ by only 1/(C R)
 * between neighbours, so the gradient is small against f's mean: a test of an estimator's relative
 * variance.  Exact (closed form): E f = sum_c pi_c f(c), E[f | z = v] = f(v).
 * f~(y) = sum_c y_c f(c) on the simplex (linear), grad f~ = (f(0), ..., f(C-1)). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "problems/common.h"
#include "harness/exact.h"

typedef struct {
    int C;
    double R;
    double *h; /* f(c), c = 0..C-1 */
} ka_state_t;

static const gv_optdoc ka_opts[] = {
    {"C", "30", "number of classes (>= 2)"},
    {"R", "30", "f(z) = 0.5 + (z + 1)/(C R)"},
    {"logit", NULL, "initial logits: 1 value (all classes) or C values, slash-separated (default 0)"},
    {"p", NULL, "initial probabilities instead: C values summing to 1, slash-separated"},
    {NULL, NULL, NULL}};

static void ka_free(void *v) { free(((ka_state_t *)v)->h); }

static int ka_init(gv_problem *p, const gv_spec *s, char *err)
{
    ka_state_t *st = p->state;
    long C;
    if (gv_opt_long(s, "C", 30, 2, 100000, &C, err) || gv_opt_double(s, "R", 30, 1e-9, 1e12, &st->R, err))
        return GV_EUSAGE;
    st->C = (int)C;
    if (gv_spec_get(s, "logit") && gv_spec_get(s, "p"))
        return gv_err(err, "problem '%s': give either p= or logit=, not both", s->name), GV_EUSAGE;
    st->h = malloc((size_t)C * sizeof(double));
    p->eta = malloc((size_t)C * sizeof(double));
    if (!st->h || !p->eta) return gv_err(err, "out of memory"), GV_EFAIL;
    for (int c = 0; c < st->C; c++) st->h[c] = 0.5 + (c + 1) / ((double)C * st->R);
    if (gv_layout_uniform(&p->layout, 1, GV_UNIT_CATEGORICAL, st->C)) return gv_err(err, "out of memory"), GV_EFAIL;
    if (gv_spec_get(s, "p")) return gv_categorical_logits(s, 1, st->C, 1.0, 0, p->eta, err);
    double *l = NULL;
    int n = 0, rc = gv_opt_dlist(s, "logit", -700, 700, &l, &n, err);
    if (rc) return rc;
    if (n && n != 1 && n != C) {
        free(l);
        return gv_err(err, "problem '%s': logit= has %d values; give 1 or C=%ld", s->name, n, C), GV_EUSAGE;
    }
    for (int c = 0; c < st->C; c++) p->eta[c] = n ? l[n == 1 ? 0 : c] : 0.0;
    free(l);
    return GV_OK;
}

static double ka_f(const void *v, const int *z)
{
    const ka_state_t *st = v;
    return 0.5 + (z[0] + 1) / ((double)st->C * st->R);
}

static double ka_ftilde(const void *v, const double *y)
{
    const ka_state_t *st = v;
    double s = 0;
    for (int c = 0; c < st->C; c++) s += st->h[c] * y[c];
    return s;
}

static void ka_grad(const void *v, const double *y, double *g)
{
    const ka_state_t *st = v;
    memcpy(g, st->h, (size_t)st->C * sizeof(double));
}

static int ka_exact(const gv_problem *p, const gv_point *pt, double *value, double *cond)
{
    const ka_state_t *st = p->state;
    gv_exact_separable(pt, st->h, 0.0, value, cond);
    return 0;
}

static void ka_describe(const gv_problem *p, FILE *out)
{
    const ka_state_t *st = p->state;
    fprintf(out, "f(z) = 0.5 + (z + 1)/(C R), C = %d, R = %g: f from %.6g to %.6g\n", st->C, st->R, st->h[0],
            st->h[st->C - 1]);
}

const gv_problem_type gv_prob_categorical_arsm = {
    .name = "categorical-arsm",
    .description = "one categorical unit, f(z) = 0.5 + (z+1)/(C R), C = R = 30 (ARSM toy)",
    .citation = "Yin, Yue & Zhou 1905.01413",
    .objective = GV_OBJ_EXPECTATION,
    .options = ka_opts,
    .state_size = sizeof(ka_state_t),
    .init = ka_init, .free = ka_free,
    .f = ka_f, .ftilde = ka_ftilde, .grad_ftilde = ka_grad,
    .exact = ka_exact,
    .describe = ka_describe,
};
