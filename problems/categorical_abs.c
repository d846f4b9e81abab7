/* categorical_abs.c — the IndeCateR toy (De Smet, Sansone & Zuidberg Dos Martires 2311.12569):
 * D categorical units with values 0..C-1, f(X) = sum_i |X_i - a_i|, a drawn once from the model.
 * Logits ~ N(0,1) from the seed (or given).  Separable, so the exact reference is closed form:
 * E[f | X_i = v] = E f - E|X_i - a_i| + |v - a_i|.  f~(y) = sum_{i,c} y_ic |c - a_i| on simplices.
 * Presets: d12c3, d6c10, d3c100 (the paper's three settings). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_randist.h>

#include "problems/common.h"
#include "harness/exact.h"

typedef struct {
    int D, C;
    int *a;
    double *h; /* D x C table |c - a_i| */
} ca_state_t;

static const gv_optdoc ca_opts[] = {
    {"preset", NULL, "d12c3 | d6c10 | d3c100 (sets D and C; options given override)"},
    {"D", "12", "number of categorical units"},
    {"C", "3", "classes per unit (>= 2)"},
    {"seed", "1", "seed of the logits (N(0,1)) and of the targets a (drawn from the model)"},
    {"p", NULL, "probabilities instead of seeded logits: C or D*C values, slash-separated"},
    {NULL, NULL, NULL}};

static void ca_free(void *v)
{
    ca_state_t *st = v;
    free(st->a);
    free(st->h);
}

static int ca_init(gv_problem *p, const gv_spec *s, char *err)
{
    ca_state_t *st = p->state;
    long D = 12, C = 3, seed;
    const char *pre = gv_spec_get(s, "preset");
    if (pre) {
        if (!strcmp(pre, "d12c3")) D = 12, C = 3;
        else if (!strcmp(pre, "d6c10")) D = 6, C = 10;
        else if (!strcmp(pre, "d3c100")) D = 3, C = 100;
        else return gv_err(err, "problem %s: unknown preset '%s'; valid presets: d12c3, d6c10, d3c100", s->name, pre),
                    GV_EUSAGE;
    }
    if (gv_opt_long(s, "D", D, 1, 100000, &D, err) || gv_opt_long(s, "C", C, 2, 100000, &C, err) ||
        gv_opt_long(s, "seed", 1, 0, 2147483647L, &seed, err))
        return GV_EUSAGE;
    st->D = (int)D;
    st->C = (int)C;
    st->a = malloc((size_t)D * sizeof(int));
    st->h = malloc((size_t)(D * C) * sizeof(double));
    p->eta = malloc((size_t)(D * C) * sizeof(double));
    if (!st->a || !st->h || !p->eta) return gv_err(err, "out of memory"), GV_EFAIL;
    if (gv_layout_uniform(&p->layout, st->D, GV_UNIT_CATEGORICAL, st->C)) return gv_err(err, "out of memory"), GV_EFAIL;
    gsl_rng *r = gv_problem_rng((unsigned long)seed, "categorical-abs");
    if (!r) return gv_err(err, "out of memory"), GV_EFAIL;
    int rc = GV_OK;
    if (gv_spec_get(s, "p")) {
        rc = gv_categorical_logits(s, st->D, st->C, 1.0, (unsigned long)seed, p->eta, err);
    } else {
        for (long k = 0; k < D * C; k++) p->eta[k] = gsl_ran_gaussian(r, 1.0);
    }
    if (rc == GV_OK) { /* a_i ~ the model itself, once */
        gv_point pt;
        if (gv_point_init(&pt, &p->layout, p->eta)) rc = GV_EFAIL, gv_err(err, "out of memory");
        else {
            gv_sample(&pt, r, st->a);
            gv_point_free(&pt);
            for (long i = 0; i < D; i++)
                for (long c = 0; c < C; c++) st->h[i * C + c] = fabs((double)(c - st->a[i]));
        }
    }
    gsl_rng_free(r);
    return rc;
}

static double ca_f(const void *v, const int *z)
{
    const ca_state_t *st = v;
    int s = 0;
    for (int i = 0; i < st->D; i++) s += abs(z[i] - st->a[i]);
    return s;
}

static double ca_ftilde(const void *v, const double *y)
{
    const ca_state_t *st = v;
    double s = 0;
    for (int k = 0; k < st->D * st->C; k++) s += st->h[k] * y[k];
    return s;
}

static void ca_grad(const void *v, const double *y, double *g)
{
    const ca_state_t *st = v;
    memcpy(g, st->h, (size_t)(st->D * st->C) * sizeof(double));
}

static int ca_exact(const gv_problem *p, const gv_point *pt, double *value, double *cond)
{
    const ca_state_t *st = p->state;
    gv_exact_separable(pt, st->h, 0.0, value, cond);
    return 0;
}

static void ca_describe(const gv_problem *p, FILE *out)
{
    const ca_state_t *st = p->state;
    fprintf(out, "f(X) = sum_i |X_i - a_i|, a =");
    for (int i = 0; i < st->D && i < 50; i++) fprintf(out, " %d", st->a[i]);
    fprintf(out, "\n");
}

const gv_problem_type gv_prob_categorical_abs = {
    .name = "categorical-abs",
    .description = "f(X) = sum |X_i - a_i| on D categorical units, a drawn from the model (IndeCateR toy)",
    .citation = "De Smet, Sansone & Zuidberg Dos Martires 2311.12569",
    .objective = GV_OBJ_EXPECTATION,
    .options = ca_opts,
    .presets = "d12c3, d6c10, d3c100",
    .state_size = sizeof(ca_state_t),
    .init = ca_init, .free = ca_free,
    .f = ca_f, .ftilde = ca_ftilde, .grad_ftilde = ca_grad,
    .exact = ca_exact,
    .describe = ca_describe,
};
