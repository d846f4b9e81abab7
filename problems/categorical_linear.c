/* categorical_linear.c — the CARMS toy (Dimitriev & Zhou 2110.14002): D categorical units with
 * C classes, f(z) = sum_d F[d][z_d], default F[d][c] = C (dC + c + 1), pi per unit drawn from
 * Dirichlet(alpha 1) with a seed, or given.
 * Exact: dE/dl_{d,j} = pi_{dj} (F[d][j] - sum_c pi_{dc} F[d][c]).
 * f~(y) = sum_{d,c} F[d][c] y_{dc} on the product of simplices (linear).
 * Presets carms-a1, carms-a10, carms-a100, carms-a1000: the CARMS toy's four settings, D = 3,
 * C = 3, default F, pi per unit ~ Dirichlet(alpha 1) with alpha = 1, 10, 100, 1000 drawn with the
 * fixed seed 1 (options given override; a spec without preset= is unchanged). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "problems/common.h"
#include "harness/exact.h"

typedef struct {
    int D, C;
    double *F; /* D x C */
} cl_state_t;

static const gv_optdoc cl_opts[] = {
    {"preset", NULL, "carms-a1 | carms-a10 | carms-a100 | carms-a1000 (D = C = 3, alpha = 1..1000, seed 1)"},
    {"D", "3", "number of categorical units"},
    {"C", "3", "classes per unit (>= 2)"},
    {"alpha", "1", "Dirichlet concentration for pi (CARMS toy: 1, 10, 100, 1000)"},
    {"seed", "1", "seed for the Dirichlet draw"},
    {"p", NULL, "probabilities instead: C values (every unit) or D*C values, slash-separated"},
    {"F", NULL, "table F: D*C values row-major, slash-separated (default C(dC+c+1))"},
    {NULL, NULL, NULL}};

static void cl_free(void *v) { free(((cl_state_t *)v)->F); }

static int cl_init(gv_problem *p, const gv_spec *s, char *err)
{
    cl_state_t *st = p->state;
    long D, C, seed;
    double alpha, alpha0 = 1;
    const char *pre = gv_spec_get(s, "preset");
    if (pre) { /* D = 3, C = 3, seed = 1 are the defaults already */
        static const char *const names[] = {"carms-a1", "carms-a10", "carms-a100", "carms-a1000"};
        static const double alphas[] = {1, 10, 100, 1000};
        int k = 0;
        while (k < 4 && strcmp(pre, names[k])) k++;
        if (k == 4)
            return gv_err(err, "problem %s: unknown preset '%s'; valid presets: carms-a1, carms-a10, carms-a100, "
                               "carms-a1000", s->name, pre), GV_EUSAGE;
        alpha0 = alphas[k];
    }
    if (gv_opt_long(s, "D", 3, 1, 100000, &D, err) || gv_opt_long(s, "C", 3, 2, 100000, &C, err) ||
        gv_opt_double(s, "alpha", alpha0, 1e-3, 1e9, &alpha, err) ||
        gv_opt_long(s, "seed", 1, 0, 2147483647L, &seed, err))
        return GV_EUSAGE;
    st->D = (int)D;
    st->C = (int)C;
    double *F = NULL;
    int nF = 0;
    int rc = gv_opt_dlist(s, "F", -1e300, 1e300, &F, &nF, err);
    if (rc) return rc;
    if (nF && nF != D * C) {
        free(F);
        return gv_err(err, "problem %s: F= has %d values; it needs D*C = %ld", s->name, nF, D * C), GV_EUSAGE;
    }
    if (!F) {
        if (!(F = malloc((size_t)(D * C) * sizeof(double)))) return gv_err(err, "out of memory"), GV_EFAIL;
        for (long d = 0; d < D; d++)
            for (long c = 0; c < C; c++) F[d * C + c] = (double)C * (d * C + c + 1);
    }
    st->F = F;
    if (gv_layout_uniform(&p->layout, st->D, GV_UNIT_CATEGORICAL, st->C)) return gv_err(err, "out of memory"), GV_EFAIL;
    if (!(p->eta = malloc((size_t)(D * C) * sizeof(double)))) return gv_err(err, "out of memory"), GV_EFAIL;
    return gv_categorical_logits(s, st->D, st->C, alpha, (unsigned long)seed, p->eta, err);
}

static double cl_f(const void *v, const int *z)
{
    const cl_state_t *st = v;
    double s = 0;
    for (int d = 0; d < st->D; d++) s += st->F[d * st->C + z[d]];
    return s;
}

static double cl_ftilde(const void *v, const double *y)
{
    const cl_state_t *st = v;
    double s = 0;
    for (int k = 0; k < st->D * st->C; k++) s += st->F[k] * y[k];
    return s;
}

static void cl_grad(const void *v, const double *y, double *g)
{
    const cl_state_t *st = v;
    for (int k = 0; k < st->D * st->C; k++) g[k] = st->F[k];
}

static int cl_exact(const gv_problem *p, const gv_point *pt, double *value, double *cond)
{
    const cl_state_t *st = p->state;
    gv_exact_separable(pt, st->F, 0.0, value, cond); /* F is laid out like cond */
    return 0;
}

static void cl_describe(const gv_problem *p, FILE *out)
{
    const cl_state_t *st = p->state;
    fprintf(out, "f(z) = sum_d F[d][z_d]; F (rows = units):\n");
    for (int d = 0; d < st->D && d < 20; d++) {
        fprintf(out, "  ");
        for (int c = 0; c < st->C && c < 20; c++) fprintf(out, " %g", st->F[d * st->C + c]);
        fprintf(out, st->C > 20 ? " ...\n" : "\n");
    }
}

const gv_problem_type gv_prob_categorical_linear = {
    .name = "categorical-linear",
    .description = "f(z) = sum_d F[d][z_d] on D categorical units (CARMS toy), pi ~ Dirichlet(alpha)",
    .citation = "Dimitriev & Zhou 2110.14002",
    .objective = GV_OBJ_EXPECTATION,
    .options = cl_opts,
    .presets = "carms-a1, carms-a10, carms-a100, carms-a1000",
    .state_size = sizeof(cl_state_t),
    .init = cl_init, .free = cl_free,
    .f = cl_f, .ftilde = cl_ftilde, .grad_ftilde = cl_grad,
    .exact = cl_exact,
    .describe = cl_describe,
};
