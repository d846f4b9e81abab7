/* bernoulli_shared.c — D Bernoulli units sharing one logit (Liu, Regier, Tripuraneni, Jordan &
 * McAuliffe 1810.04777 "Rao-Blackwellized stochastic gradients"; Kool, van Hoof & Welling's toy):
 * f(b) = sum_i (b_i - t_i)^2, t = (0.6, 0.51, 0.48) by default, b_i ~ Bernoulli(sigma(phi)).
 * The estimators see D independent units with logits eta_i; the one outer parameter phi ties them,
 * eta_i = phi, so d/dphi = sum_i d/deta_i (the vector-Jacobian product the harness applies to every
 * estimate and to the exact gradient).  Exact by enumeration (2^D states, D <= 20).
 * Note: dE/dphi = theta(1-theta) sum_i (1 - 2 t_i) — with the default targets sum t_i = 1.59 > D/2,
 * so the minimum is at theta -> 1 and the gradient is small (-0.045 at theta = 1/2): the estimators
 * must resolve a small signal against per-unit noise of order 1. */
#include <math.h>
#include <stdlib.h>

#include "problems/common.h"

#define BS_MAXD 20

typedef struct {
    int D;
    double t[BS_MAXD];
} bs_state_t;

static const gv_optdoc bs_opts[] = {
    {"t", "0.6/0.51/0.48", "targets t_1/.../t_D (D = their number, at most 20)"},
    {"p", "0.5", "theta = sigma(phi) of the shared logit, in (0,1)"},
    {"logit", NULL, "the shared logit phi instead of p"},
    {NULL, NULL, NULL}};

static int bs_init(gv_problem *p, const gv_spec *s, char *err)
{
    bs_state_t *st = p->state;
    double *t = NULL;
    int n = 0;
    if (gv_opt_dlist(s, "t", -1e6, 1e6, &t, &n, err)) return GV_EUSAGE;
    if (n > BS_MAXD) {
        free(t);
        return gv_err(err, "problem %s: t= has %d targets; at most %d units (exact enumeration)", s->name, n,
                      BS_MAXD), GV_EUSAGE;
    }
    if (n == 0) st->D = 3, st->t[0] = 0.6, st->t[1] = 0.51, st->t[2] = 0.48;
    else {
        st->D = n;
        for (int i = 0; i < n; i++) st->t[i] = t[i];
    }
    free(t);
    double phi;
    if (gv_bernoulli_logits(s, 1, 0.5, &phi, err)) return GV_EUSAGE;
    if (gv_layout_uniform(&p->layout, st->D, GV_UNIT_BERNOULLI, 2)) return gv_err(err, "out of memory"), GV_EFAIL;
    p->n_outer = 1;
    if (!(p->eta = malloc((size_t)st->D * sizeof(double))) || !(p->phi = malloc(sizeof(double))))
        return gv_err(err, "out of memory"), GV_EFAIL;
    p->phi[0] = phi;
    p->type->outer_map(p, p->phi, p->eta);
    return GV_OK;
}

static double bs_f(const void *v, const int *z)
{
    const bs_state_t *st = v;
    double s = 0;
    for (int i = 0; i < st->D; i++) s += (z[i] - st->t[i]) * (z[i] - st->t[i]);
    return s;
}

static double bs_ftilde(const void *v, const double *y)
{
    const bs_state_t *st = v;
    double s = 0;
    for (int i = 0; i < st->D; i++) s += (y[i] - st->t[i]) * (y[i] - st->t[i]);
    return s;
}

static void bs_grad(const void *v, const double *y, double *g)
{
    const bs_state_t *st = v;
    for (int i = 0; i < st->D; i++) g[i] = 2 * (y[i] - st->t[i]);
}

static void bs_map(const gv_problem *p, const double *phi, double *eta)
{
    for (int i = 0; i < p->layout.n_params; i++) eta[i] = phi[0];
}

static void bs_vjp(const gv_problem *p, const double *geta, double *gphi)
{
    double s = 0;
    for (int i = 0; i < p->layout.n_params; i++) s += geta[i];
    gphi[0] = s;
}

static void bs_describe(const gv_problem *p, FILE *out)
{
    const bs_state_t *st = p->state;
    fprintf(out, "f(b) = sum_i (b_i - t_i)^2, t =");
    for (int i = 0; i < st->D; i++) fprintf(out, " %g", st->t[i]);
    fprintf(out, "; %d units share the logit phi = %g (theta = %g); d/dphi = sum_i d/deta_i\n", st->D,
            p->phi[0], gv_sigmoid(p->phi[0]));
}

const gv_problem_type gv_prob_bernoulli_shared = {
    .name = "bernoulli-shared",
    .description = "f(b) = sum (b_i - t_i)^2, D = 3 units sharing one logit phi (outer parameter)",
    .citation = "Liu et al. 1810.04777; Kool, van Hoof & Welling 2019 (shared-logit toy)",
    .objective = GV_OBJ_EXPECTATION,
    .options = bs_opts,
    .state_size = sizeof(bs_state_t),
    .init = bs_init,
    .f = bs_f, .ftilde = bs_ftilde, .grad_ftilde = bs_grad,
    .outer_map = bs_map, .outer_vjp = bs_vjp,
    .describe = bs_describe,
};
