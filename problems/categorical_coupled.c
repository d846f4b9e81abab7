/* categorical_coupled.c — a seeded non-separable objective on D categorical units (the categorical
 * twin of bernoulli-coupled: separable toys such as categorical-linear and categorical-abs cannot
 * tell an estimator that handles interacting units wrongly from a correct one).
 *   f(z) = sum_d h_d[z_d] + sum_{d<e} J_de[z_d][z_e] + sum_t V_t[z_i][z_j][z_k]
 * with h ~ N(0,1), J ~ N(0, s^2) for every pair of units, and D triples of distinct units (D >= 3)
 * with V ~ N(0, s^2) (s = option scale).  Units may have different class counts (C=3/4/2).
 * f~(y) is the multilinear extension on the product of simplices (the same sums with y_d in place
 * of the one-hot e_{z_d}); it agrees with f at the vertices.  pi per unit ~ Dirichlet(alpha 1) with
 * the seed, or given (p=).  Exact by enumeration of the joint support (at most 2^22 states). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_randist.h>

#include "problems/common.h"

#define CC_MAXD 8
#define CC_MAXC 16

typedef struct {
    int D, T, C[CC_MAXD], off[CC_MAXD]; /* off: unit d's first class in the flat parameter vector */
    double *h;                          /* n_params */
    double *J[CC_MAXD][CC_MAXD];        /* d < e: C_d x C_e */
    int tri[CC_MAXD][3];
    double *V[CC_MAXD];                 /* C_i x C_j x C_k */
} cc_state_t;

static const gv_optdoc cc_opts[] = {
    {"D", "3", "number of categorical units (1..8)"},
    {"C", "3", "classes: one value for every unit, or D values (2..16), slash-separated"},
    {"seed", "1", "seed of the tables and of pi"},
    {"scale", "1", "standard deviation of the pairwise and triple tables"},
    {"alpha", "1", "Dirichlet concentration of pi per unit"},
    {"p", NULL, "probabilities instead: sum of C values, each unit's row summing to 1"},
    {NULL, NULL, NULL}};

static void cc_free(void *v)
{
    cc_state_t *st = v;
    free(st->h);
    for (int d = 0; d < CC_MAXD; d++) {
        free(st->V[d]);
        for (int e = 0; e < CC_MAXD; e++) free(st->J[d][e]);
    }
}

static int cc_init(gv_problem *p, const gv_spec *s, char *err)
{
    cc_state_t *st = p->state;
    long D, seed;
    double scale, alpha, *Cs = NULL;
    int nC = 0;
    if (gv_opt_long(s, "D", 3, 1, CC_MAXD, &D, err) || gv_opt_long(s, "seed", 1, 0, 2147483647L, &seed, err) ||
        gv_opt_double(s, "scale", 1, 0, 1e6, &scale, err) || gv_opt_double(s, "alpha", 1, 1e-3, 1e9, &alpha, err) ||
        gv_opt_dlist(s, "C", 2, CC_MAXC, &Cs, &nC, err))
        return GV_EUSAGE;
    if (nC > 1 && nC != D) {
        free(Cs);
        return gv_err(err, "problem %s: C= has %d values; give one, or D = %ld", s->name, nC, D), GV_EUSAGE;
    }
    st->D = (int)D;
    unsigned kinds[CC_MAXD];
    double states = 1;
    int P = 0;
    for (int d = 0; d < D; d++) {
        const double c = nC ? Cs[nC > 1 ? d : 0] : 3;
        if (c != floor(c)) {
            free(Cs);
            return gv_err(err, "problem %s: C=%g is not an integer", s->name, c), GV_EUSAGE;
        }
        st->C[d] = (int)c, st->off[d] = P, P += st->C[d], kinds[d] = GV_UNIT_CATEGORICAL, states *= c;
    }
    free(Cs);
    if (states > 4194304)
        return gv_err(err, "problem %s: %.0f joint states; at most 2^22 (exact enumeration)", s->name, states), GV_EUSAGE;
    if (gv_layout_init(&p->layout, st->D, kinds, st->C)) return gv_err(err, "out of memory"), GV_EFAIL;
    st->h = malloc((size_t)P * sizeof(double));
    p->eta = malloc((size_t)P * sizeof(double));
    gsl_rng *r = gv_problem_rng((unsigned long)seed, "categorical-coupled");
    if (!st->h || !p->eta || !r) return gsl_rng_free(r), gv_err(err, "out of memory"), GV_EFAIL;
    for (int q = 0; q < P; q++) st->h[q] = gsl_ran_gaussian(r, 1);
    for (int d = 0; d < D; d++)
        for (int e = d + 1; e < D; e++) {
            const int n = st->C[d] * st->C[e];
            if (!(st->J[d][e] = malloc((size_t)n * sizeof(double)))) return gsl_rng_free(r), gv_err(err, "out of memory"), GV_EFAIL;
            for (int k = 0; k < n; k++) st->J[d][e][k] = gsl_ran_gaussian(r, scale);
        }
    st->T = D >= 3 ? (int)D : 0;
    for (int t = 0; t < st->T; t++) {
        int *ix = st->tri[t];
        do {
            for (int k = 0; k < 3; k++) ix[k] = (int)gsl_rng_uniform_int(r, (unsigned long)D);
        } while (ix[0] == ix[1] || ix[1] == ix[2] || ix[0] == ix[2]);
        const int n = st->C[ix[0]] * st->C[ix[1]] * st->C[ix[2]];
        if (!(st->V[t] = malloc((size_t)n * sizeof(double)))) return gsl_rng_free(r), gv_err(err, "out of memory"), GV_EFAIL;
        for (int k = 0; k < n; k++) st->V[t][k] = gsl_ran_gaussian(r, scale);
    }
    gsl_rng_free(r);
    /* pi: given, or Dirichlet(alpha 1) per unit (units of different C drawn one by one) */
    int rc = GV_OK;
    int same = 1;
    for (int d = 1; d < D; d++) same &= st->C[d] == st->C[0];
    if (same || gv_spec_get(s, "p")) {
        if (!same) return gv_err(err, "problem %s: p= needs every unit to have the same C", s->name), GV_EUSAGE;
        rc = gv_categorical_logits(s, st->D, st->C[0], alpha, (unsigned long)seed, p->eta, err);
    } else {
        for (int d = 0; d < D && !rc; d++)
            rc = gv_categorical_logits(s, 1, st->C[d], alpha, (unsigned long)seed + 7919UL * (unsigned long)d,
                                       p->eta + st->off[d], err);
    }
    return rc;
}

/* f~ at y (n_params; one-hot rows give f) and, if g != NULL, its gradient. */
static double cc_eval(const cc_state_t *st, const double *y, double *g)
{
    double s = 0;
    const int D = st->D;
    if (g) memset(g, 0, (size_t)(st->off[D - 1] + st->C[D - 1]) * sizeof *g);
    for (int d = 0; d < D; d++)
        for (int c = 0; c < st->C[d]; c++) {
            s += st->h[st->off[d] + c] * y[st->off[d] + c];
            if (g) g[st->off[d] + c] += st->h[st->off[d] + c];
        }
    for (int d = 0; d < D; d++)
        for (int e = d + 1; e < D; e++) {
            const double *J = st->J[d][e], *yd = y + st->off[d], *ye = y + st->off[e];
            for (int a = 0; a < st->C[d]; a++) {
                if (yd[a] == 0 && !g) continue;
                for (int b = 0; b < st->C[e]; b++) {
                    const double j = J[a * st->C[e] + b];
                    s += j * yd[a] * ye[b];
                    if (g) g[st->off[d] + a] += j * ye[b], g[st->off[e] + b] += j * yd[a];
                }
            }
        }
    for (int t = 0; t < st->T; t++) {
        const int i = st->tri[t][0], j = st->tri[t][1], k = st->tri[t][2];
        const int Cj = st->C[j], Ck = st->C[k];
        const double *yi = y + st->off[i], *yj = y + st->off[j], *yk = y + st->off[k], *V = st->V[t];
        for (int a = 0; a < st->C[i]; a++)
            for (int b = 0; b < Cj; b++)
                for (int c = 0; c < Ck; c++) {
                    const double v = V[(a * Cj + b) * Ck + c];
                    s += v * yi[a] * yj[b] * yk[c];
                    if (g) {
                        g[st->off[i] + a] += v * yj[b] * yk[c];
                        g[st->off[j] + b] += v * yi[a] * yk[c];
                        g[st->off[k] + c] += v * yi[a] * yj[b];
                    }
                }
    }
    return s;
}

static double cc_f(const void *v, const int *z)
{
    const cc_state_t *st = v;
    double s = 0;
    for (int d = 0; d < st->D; d++) s += st->h[st->off[d] + z[d]];
    for (int d = 0; d < st->D; d++)
        for (int e = d + 1; e < st->D; e++) s += st->J[d][e][z[d] * st->C[e] + z[e]];
    for (int t = 0; t < st->T; t++) {
        const int i = st->tri[t][0], j = st->tri[t][1], k = st->tri[t][2];
        s += st->V[t][(z[i] * st->C[j] + z[j]) * st->C[k] + z[k]];
    }
    return s;
}

static double cc_ftilde(const void *v, const double *y) { return cc_eval(v, y, NULL); }
static void cc_grad(const void *v, const double *y, double *g) { cc_eval(v, y, g); }

const gv_problem_type gv_prob_categorical_coupled = {
    .name = "categorical-coupled",
    .description = "seeded non-separable f on categorical units: linear, pairwise and triple tables",
    .citation = "gradvar (categorical twin of bernoulli-coupled)",
    .objective = GV_OBJ_EXPECTATION,
    .options = cc_opts,
    .state_size = sizeof(cc_state_t),
    .init = cc_init, .free = cc_free,
    .f = cc_f, .ftilde = cc_ftilde, .grad_ftilde = cc_grad,
};
