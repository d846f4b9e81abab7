/* bernoulli_quadratic.c — f(b) = (1/D) sum_i (b_i - t)^2, the standard binary toy.
 * Exact (closed form): dE/deta_i = theta_i (1 - theta_i) (1 - 2t) / D.
 * f~(y) = (1/D) sum (y_i - t)^2 on [0,1]^D, grad f~ = 2 (y - t) / D.
 * Presets: the literature's settings (ARM 1807.11143: D = 1, t in {0.45, 0.49, 0.499};
 * double control variates 2111.05300: D = 200, t = 0.499, eta0 = 0). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "problems/common.h"
#include "harness/exact.h"

typedef struct {
    int D;
    double t, f1, f0; /* (1-t)^2/D and t^2/D: f = n1 f1 + (D - n1) f0 */
} bq_state_t;

static const gv_optdoc bq_opts[] = {
    {"preset", NULL, "d1-t0.45 | d1-t0.49 | d1-t0.499 | double-cv (D=200, t=0.499); options given override"},
    {"D", "200", "number of Bernoulli units"},
    {"t", "0.499", "target t"},
    {"p", "0.5", "theta of every unit: one value or D slash-separated values in (0,1)"},
    {"logit", NULL, "logits instead of p: one value or D values"},
    {NULL, NULL, NULL}};

static const struct { const char *name; int D; double t; } bq_presets[] = {
    {"d1-t0.45", 1, 0.45}, {"d1-t0.49", 1, 0.49}, {"d1-t0.499", 1, 0.499}, {"double-cv", 200, 0.499}};

static int bq_init(gv_problem *p, const gv_spec *s, char *err)
{
    bq_state_t *st = p->state;
    long D = 200;
    double t = 0.499;
    const char *pre = gv_spec_get(s, "preset");
    if (pre) {
        size_t i, n = sizeof bq_presets / sizeof bq_presets[0];
        for (i = 0; i < n && strcmp(bq_presets[i].name, pre); i++) {}
        if (i == n)
            return gv_err(err, "problem %s: unknown preset '%s'; valid presets: d1-t0.45, d1-t0.49, d1-t0.499, double-cv",
                          s->name, pre), GV_EUSAGE;
        D = bq_presets[i].D;
        t = bq_presets[i].t;
    }
    if (gv_opt_long(s, "D", D, 1, 1000000, &D, err) || gv_opt_double(s, "t", t, -1e6, 1e6, &t, err))
        return GV_EUSAGE;
    st->D = (int)D;
    st->t = t;
    st->f1 = (1 - t) * (1 - t) / D;
    st->f0 = t * t / D;
    if (gv_layout_uniform(&p->layout, st->D, GV_UNIT_BERNOULLI, 2)) return gv_err(err, "out of memory"), GV_EFAIL;
    if (!(p->eta = malloc((size_t)D * sizeof(double)))) return gv_err(err, "out of memory"), GV_EFAIL;
    return gv_bernoulli_logits(s, st->D, 0.5, p->eta, err);
}

static double bq_f(const void *v, const int *z)
{
    const bq_state_t *st = v;
    int n1 = 0;
    for (int i = 0; i < st->D; i++) n1 += z[i];
    return n1 * st->f1 + (st->D - n1) * st->f0;
}

static double bq_ftilde(const void *v, const double *y)
{
    const bq_state_t *st = v;
    double s = 0;
    for (int i = 0; i < st->D; i++) s += (y[i] - st->t) * (y[i] - st->t);
    return s / st->D;
}

static void bq_grad(const void *v, const double *y, double *g)
{
    const bq_state_t *st = v;
    for (int i = 0; i < st->D; i++) g[i] = 2 * (y[i] - st->t) / st->D;
}

static int bq_exact(const gv_problem *p, const gv_point *pt, double *value, double *cond)
{
    const bq_state_t *st = p->state;
    double *h = malloc((size_t)p->layout.n_cond * sizeof(double));
    if (!h) return -1;
    for (int i = 0; i < st->D; i++) h[2 * i] = st->f0, h[2 * i + 1] = st->f1;
    gv_exact_separable(pt, h, 0.0, value, cond);
    free(h);
    return 0;
}

static void bq_describe(const gv_problem *p, FILE *out)
{
    const bq_state_t *st = p->state;
    fprintf(out, "f(b) = (1/%d) sum_i (b_i - %g)^2; exact dE/deta_i = theta_i(1-theta_i)(1-2t)/D\n", st->D, st->t);
}

const gv_problem_type gv_prob_bernoulli_quadratic = {
    .name = "bernoulli-quadratic",
    .description = "f(b) = (1/D) sum (b_i - t)^2 on D independent Bernoulli units (separable toy)",
    .citation = "Yin & Zhou 1807.11143 (ARM toy); Titsias & Shi 2111.05300 (D=200)",
    .objective = GV_OBJ_EXPECTATION,
    .options = bq_opts,
    .presets = "d1-t0.45, d1-t0.49, d1-t0.499, double-cv",
    .state_size = sizeof(bq_state_t),
    .init = bq_init,
    .f = bq_f, .ftilde = bq_ftilde, .grad_ftilde = bq_grad,
    .exact = bq_exact,
    .describe = bq_describe,
};
