/* bernoulli_coupled.c — a seeded non-separable objective on D <= 20 bits.
 *   m(b) = sum_i a_i b_i + sum_{i<j} Q_ij b_i b_j + sum_{t=(i,j,k)} V_t b_i b_j b_k
 *   f(b) = m(b) + kappa m(b)^2
 * with a_i ~ N(0,1), Q_ij ~ N(0, s^2), D random triples with V_t ~ N(0, s^2) (s = option scale),
 * kappa = 0.5 / D.  The square couples every unit with every other: separable toys hide the
 * differences between estimators; this one does not.  f~(y) is the same formula on [0,1]^D
 * (smooth; it agrees with f on the vertices).  No closed form: exact by enumeration. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_randist.h>

#include "problems/common.h"

typedef struct {
    int D, T;
    double kappa;
    double *a, *Q; /* Q: D x D symmetric, zero diagonal */
    int (*tri)[3];
    double *V;
} bc_state_t;

static const gv_optdoc bc_opts[] = {
    {"D", "10", "number of Bernoulli units (1..20)"},
    {"seed", "1", "seed of the coefficients (and of the default logits)"},
    {"scale", "1", "standard deviation of the pairwise and triple coefficients"},
    {"p", NULL, "theta: one value or D values in (0,1); default logits ~ N(0,1) from seed"},
    {"logit", NULL, "logits instead of p: one value or D values"},
    {NULL, NULL, NULL}};

static void bc_free(void *v)
{
    bc_state_t *st = v;
    free(st->a);
    free(st->Q);
    free(st->tri);
    free(st->V);
}

static int bc_init(gv_problem *p, const gv_spec *s, char *err)
{
    bc_state_t *st = p->state;
    long D, seed;
    double scale;
    if (gv_opt_long(s, "D", 10, 1, 20, &D, err) || gv_opt_long(s, "seed", 1, 0, 2147483647L, &seed, err) ||
        gv_opt_double(s, "scale", 1.0, 0, 1e6, &scale, err))
        return GV_EUSAGE;
    st->D = (int)D;
    st->T = D >= 3 ? (int)D : 0;
    st->kappa = 0.5 / D;
    st->a = malloc((size_t)D * sizeof(double));
    st->Q = calloc((size_t)(D * D), sizeof(double));
    st->tri = malloc((size_t)(st->T ? st->T : 1) * sizeof *st->tri);
    st->V = malloc((size_t)(st->T ? st->T : 1) * sizeof(double));
    p->eta = malloc((size_t)D * sizeof(double));
    if (!st->a || !st->Q || !st->tri || !st->V || !p->eta) return gv_err(err, "out of memory"), GV_EFAIL;
    gsl_rng *r = gv_problem_rng((unsigned long)seed, "bernoulli-coupled");
    if (!r) return gv_err(err, "out of memory"), GV_EFAIL;
    for (int i = 0; i < D; i++) st->a[i] = gsl_ran_gaussian(r, 1.0);
    for (int i = 0; i < D; i++)
        for (int j = i + 1; j < D; j++) st->Q[i * D + j] = st->Q[j * D + i] = gsl_ran_gaussian(r, scale);
    for (int t = 0; t < st->T; t++) {
        int idx[3];
        do { /* three distinct units, sorted */
            for (int k = 0; k < 3; k++) idx[k] = (int)gsl_rng_uniform_int(r, (unsigned long)D);
        } while (idx[0] == idx[1] || idx[1] == idx[2] || idx[0] == idx[2]);
        for (int k = 0; k < 3; k++) st->tri[t][k] = idx[k];
        st->V[t] = gsl_ran_gaussian(r, scale);
    }
    double *eta0 = malloc((size_t)D * sizeof(double));
    if (!eta0) return gsl_rng_free(r), gv_err(err, "out of memory"), GV_EFAIL;
    for (int i = 0; i < D; i++) eta0[i] = gsl_ran_gaussian(r, 1.0);
    gsl_rng_free(r);
    if (gv_layout_uniform(&p->layout, st->D, GV_UNIT_BERNOULLI, 2)) return free(eta0), gv_err(err, "out of memory"), GV_EFAIL;
    int rc = GV_OK;
    if (gv_spec_get(s, "p") || gv_spec_get(s, "logit"))
        rc = gv_bernoulli_logits(s, st->D, 0.5, p->eta, err);
    else
        memcpy(p->eta, eta0, (size_t)D * sizeof(double));
    free(eta0);
    return rc;
}

/* m(y) for y on the vertices or in the cube */
static double bc_m(const bc_state_t *st, const double *y)
{
    const int D = st->D;
    double m = 0;
    for (int i = 0; i < D; i++) {
        double qi = 0;
        const double *Qi = st->Q + (size_t)i * D;
        for (int j = i + 1; j < D; j++) qi += Qi[j] * y[j];
        m += y[i] * (st->a[i] + qi);
    }
    for (int t = 0; t < st->T; t++) m += st->V[t] * y[st->tri[t][0]] * y[st->tri[t][1]] * y[st->tri[t][2]];
    return m;
}

static double bc_f(const void *v, const int *z)
{
    const bc_state_t *st = v;
    double y[20];
    for (int i = 0; i < st->D; i++) y[i] = z[i];
    double m = bc_m(st, y);
    return m + st->kappa * m * m;
}

static double bc_ftilde(const void *v, const double *y)
{
    const bc_state_t *st = v;
    double m = bc_m(st, y);
    return m + st->kappa * m * m;
}

static void bc_grad(const void *v, const double *y, double *g)
{
    const bc_state_t *st = v;
    const int D = st->D;
    for (int i = 0; i < D; i++) {
        double s = st->a[i];
        const double *Qi = st->Q + (size_t)i * D;
        for (int j = 0; j < D; j++) s += Qi[j] * y[j];
        g[i] = s;
    }
    for (int t = 0; t < st->T; t++) {
        const int *k = st->tri[t];
        g[k[0]] += st->V[t] * y[k[1]] * y[k[2]];
        g[k[1]] += st->V[t] * y[k[0]] * y[k[2]];
        g[k[2]] += st->V[t] * y[k[0]] * y[k[1]];
    }
    double scale = 1 + 2 * st->kappa * bc_m(st, y);
    for (int i = 0; i < D; i++) g[i] *= scale;
}

static void bc_describe(const gv_problem *p, FILE *out)
{
    const bc_state_t *st = p->state;
    fprintf(out, "f(b) = m(b) + %g m(b)^2, m = linear + %d pairwise + %d triple terms; exact by enumeration of 2^%d states\n",
            st->kappa, st->D * (st->D - 1) / 2, st->T, st->D);
}

const gv_problem_type gv_prob_bernoulli_coupled = {
    .name = "bernoulli-coupled",
    .description = "seeded non-separable f on D <= 20 bits (pairwise + triple terms, squared), smooth f~",
    .citation = "gradvar (non-separable test bed; cf. Tucker et al. 1703.07370 on separable toys)",
    .objective = GV_OBJ_EXPECTATION,
    .options = bc_opts,
    .state_size = sizeof(bc_state_t),
    .init = bc_init, .free = bc_free,
    .f = bc_f, .ftilde = bc_ftilde, .grad_ftilde = bc_grad,
    .describe = bc_describe,
};
