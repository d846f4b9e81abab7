/* muprop.c — MuProp (Gu, Levine, Sutskever & Mnih 1511.05176): a first-order Taylor expansion
 * of the continuous extension f~ around the mean x(theta) as control variate, with its mean added
 * back analytically.  x(z) is the embedding f~ is defined on (b for a Bernoulli unit, the one-hot
 * e_z for a categorical one), so x(z) - E x = s(z), the score in the natural parameters:
 *   g = (1/K) sum_k [f(z_k) - f~(xbar) - grad f~(xbar)^T s(z_k)] s(z_k) + F grad f~(xbar),
 *   xbar = theta (pi),  F = E[s s^T] = diag theta(1-theta) (Bernoulli), diag pi - pi pi^T per unit.
 * Bernoulli units: exactly the CATALOGUE formula, correction grad f~(theta) . theta(1-theta).
 * Unbiased: f~(xbar) is a constant baseline, and E[(v^T s) s] = F v for any fixed v.
 * Cost: K evaluations of f, plus one f~ and one grad f~ (both at xbar) per estimate.
 * The control variate removes the part of f that is linear in x; what is left is the Taylor
 * remainder, whose mean E f - f~(xbar) is not removed (on bernoulli-quadratic it is
 * (1/D) sum_i theta_i(1-theta_i), so MuProp beats plain REINFORCE only by the (theta - t)^2 part of
 * E f: see tests/test_cv.c). */
#include <stdlib.h>

#include "estimators/estimator.h"

typedef struct {
    int *z;
    double *gt; /* grad f~(xbar) */
} mp_state_t;

static const gv_optdoc mp_opts[] = {{NULL, NULL, NULL}};

static int mp_init(void *v, const gv_spec *spec, const gv_problem *p, int K, char *err)
{
    mp_state_t *s = v;
    s->z = malloc((size_t)p->layout.n_units * sizeof(int));
    s->gt = malloc((size_t)p->layout.n_params * sizeof(double));
    if (!s->z || !s->gt) return gv_err(err, "out of memory"), GV_EFAIL;
    return GV_OK;
}

static void mp_free(void *v)
{
    mp_state_t *s = v;
    free(s->z);
    free(s->gt);
}

/* u^T s(z) for Bernoulli and categorical units (1 - p taken from comp, as gv_score_axpy does). */
static double mp_score_dot(const gv_point *pt, const int *z, const double *u)
{
    const gv_layout *L = pt->layout;
    double acc = 0;
    if (L->kinds == GV_UNIT_BERNOULLI) { /* branch-free: a branch on b mispredicts at theta ~ 1/2 */
        const double *th = pt->prob, *cm = pt->comp;
        for (int i = 0; i < L->n_units; i++) {
            double b = z[i];
            acc += u[i] * (b * cm[i] - (1.0 - b) * th[i]);
        }
        return acc;
    }
    for (int i = 0; i < L->n_units; i++) {
        const gv_unit *un = &L->units[i];
        const double *p = pt->prob + un->param, *ui = u + un->param;
        if (un->kind == GV_UNIT_BERNOULLI) {
            acc += ui[0] * (z[i] ? pt->comp[un->param] : -p[0]);
        } else {
            const int zi = z[i];
            double s = ui[zi] * pt->comp[un->param + zi];
            for (int j = 0; j < un->ncat; j++)
                if (j != zi) s -= ui[j] * p[j];
            acc += s;
        }
    }
    return acc;
}

/* g += F u, F = E[s s^T]: theta(1-theta) u (Bernoulli), pi_j (u_j - sum_c pi_c u_c) (categorical). */
static void mp_fisher_add(const gv_point *pt, const double *u, double *g)
{
    const gv_layout *L = pt->layout;
    for (int i = 0; i < L->n_units; i++) {
        const gv_unit *un = &L->units[i];
        const double *p = pt->prob + un->param, *ui = u + un->param;
        double *gi = g + un->param;
        if (un->kind == GV_UNIT_BERNOULLI) {
            gi[0] += p[0] * pt->comp[un->param] * ui[0];
        } else {
            double m = 0;
            for (int c = 0; c < un->ncat; c++) m += p[c] * ui[c];
            for (int j = 0; j < un->ncat; j++) gi[j] += p[j] * (ui[j] - m);
        }
    }
}

static int mp_estimate(void *v, gv_eval *ev, int K, gsl_rng *r, double *g)
{
    mp_state_t *s = v;
    const gv_point *pt = ev->pt;
    const double invK = 1.0 / K;
    /* the mean embedding E x(z) is the point's probability vector (theta, or pi per unit) */
    const double ft = gv_eval_ftilde(ev, pt->prob);
    gv_eval_grad(ev, pt->prob, s->gt);
    for (int k = 0; k < K; k++) {
        gv_sample(pt, r, s->z);
        double f = gv_eval_f(ev, s->z);
        gv_score_axpy(pt, s->z, (f - ft - mp_score_dot(pt, s->z, s->gt)) * invK, g);
    }
    mp_fisher_add(pt, s->gt, g);
    return 0;
}

const gv_estimator_type gv_est_muprop = {
    .name = "muprop",
    .description = "score function with a first-order Taylor control variate of f~ at the mean (+ its mean)",
    .citation = "Gu, Levine, Sutskever & Mnih 1511.05176",
    .objective = GV_OBJ_EXPECTATION,
    .units = GV_UNIT_BERNOULLI | GV_UNIT_CATEGORICAL,
    .needs = GV_NEED_F | GV_NEED_FTILDE | GV_NEED_GRAD_FTILDE,
    .min_K = 1, .K_multiple = 1, .biased = 0, .cost = "K", .layerwise = 1,
    .options = mp_opts,
    .state_size = sizeof(mp_state_t),
    .init = mp_init, .free = mp_free, .estimate = mp_estimate,
};
