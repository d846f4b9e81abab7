/* count_quadratic.c — count-variable targets of the generalized Gumbel-Softmax paper (Joo et al.,
 * 2003.01847): D independent count units (Poisson, binomial(N), geometric, negative binomial(r))
 * and f(x) = sum_i g(x_i) with g one of
 *   quadratic (x - t_i)^2 (default),  linear 7x - 3,  square (x + 1)^2,  sqrt sqrt(x + 1).
 * f~ is the same formula on the reals (x >= 0).  Separable, so the exact reference is a closed
 * form summed over each unit's truncated support 0..M-1 (M = support cap; the neglected tail is
 * checked to be <= 1e-12 at every parameter the reference is asked for).
 * Presets (the paper's synthetic targets, t = 6): poisson5, binomial20 (N = 20, q = 0.3),
 * geometric (q = 0.2), negbin3 (r = 3, q = 0.4). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "problems/common.h"
#include "harness/exact.h"

/* The largest automatic support cap (values); an exact reference sums cap x units values. */
#define GV_COUNT_MAX_SUPPORT 10000000

enum { G_QUADRATIC, G_LINEAR, G_SQUARE, G_SQRT };
static const char *const cq_fnames[] = {"quadratic", "linear", "square", "sqrt", NULL};
static const char *const cq_families[] = {"poisson", "binomial", "geometric", "negbin", NULL};

typedef struct {
    int D, g;
    double *t;
} cq_state_t;

static const gv_optdoc cq_opts[] = {
    {"preset", NULL, "poisson5 | binomial20 | geometric | negbin3 (options given override)"},
    {"family", "poisson", "poisson | binomial | geometric | negbin"},
    {"D", "1", "number of count units"},
    {"rate", "5", "Poisson rate (eta = log rate), in [1e-3, 1e4]"},
    {"q", "0.3", "success probability of binomial / geometric / negbin (eta = logit q)"},
    {"N", "20", "binomial trials (1..10000)"},
    {"r", "3", "negative-binomial shape r > 0"},
    {"t", "6", "target of f = (x - t)^2: one value or D values"},
    {"f", "quadratic", "quadratic (x-t)^2 | linear 7x-3 | square (x+1)^2 | sqrt sqrt(x+1)"},
    {"support", NULL, "support cap M of the exact reference (default: tail <= 1e-12 at twice the mean)"},
    {NULL, NULL, NULL}};

static void cq_free(void *v) { free(((cq_state_t *)v)->t); }

static int cq_init(gv_problem *p, const gv_spec *s, char *err)
{
    cq_state_t *st = p->state;
    int fam = 0;
    double rate = 5, q = 0.3, r = 3;
    long N = 20, D, cap = 0;
    const char *pre = gv_spec_get(s, "preset");
    if (pre) {
        if (!strcmp(pre, "poisson5")) fam = 0, rate = 5;
        else if (!strcmp(pre, "binomial20")) fam = 1, N = 20, q = 0.3;
        else if (!strcmp(pre, "geometric")) fam = 2, q = 0.2;
        else if (!strcmp(pre, "negbin3")) fam = 3, r = 3, q = 0.4;
        else return gv_err(err, "problem %s: unknown preset '%s'; valid presets: poisson5, binomial20, geometric, negbin3",
                           s->name, pre), GV_EUSAGE;
    }
    if (gv_opt_choice(s, "family", cq_families, fam, &fam, err) || gv_opt_long(s, "D", 1, 1, 64, &D, err) ||
        gv_opt_double(s, "rate", rate, 1e-3, 1e4, &rate, err) || gv_opt_double(s, "q", q, 1e-6, 1 - 1e-6, &q, err) ||
        gv_opt_long(s, "N", N, 1, 10000, &N, err) || gv_opt_double(s, "r", r, 1e-3, 1e4, &r, err) ||
        gv_opt_choice(s, "f", cq_fnames, G_QUADRATIC, &st->g, err) ||
        gv_opt_long(s, "support", 0, 1, 100000000L, &cap, err))
        return GV_EUSAGE;
    st->D = (int)D;
    double *t = NULL;
    int nt = 0;
    int rc = gv_opt_dlist(s, "t", -1e9, 1e9, &t, &nt, err);
    if (rc) return rc;
    if (nt && nt != 1 && nt != D) {
        free(t);
        return gv_err(err, "problem %s: t= has %d values; give 1 or D=%ld", s->name, nt, D), GV_EUSAGE;
    }
    st->t = malloc((size_t)D * sizeof(double));
    p->eta = malloc((size_t)D * sizeof(double));
    gv_unit *proto = calloc((size_t)D, sizeof *proto);
    if (!st->t || !p->eta || !proto) {
        free(t), free(proto);
        return gv_err(err, "out of memory"), GV_EFAIL;
    }
    for (long i = 0; i < D; i++) st->t[i] = nt ? t[nt == 1 ? 0 : i] : 6.0;
    free(t);
    double eta = fam == 0 ? log(rate) : log(q) - log1p(-q);
    for (long i = 0; i < D; i++) {
        proto[i].kind = GV_UNIT_COUNT;
        proto[i].family = fam + 1;
        proto[i].shape = fam == 1 ? (double)N : fam == 3 ? r : 0;
        p->eta[i] = eta;
        if (cap) {
            proto[i].ncat = (int)cap;
        } else { /* room for the parameter to move (trajectories): twice the mean */
            double wide = fam == 0 ? log(2 * rate + 10) : log(q / 2) - log1p(-q / 2);
            proto[i].ncat = fam == 1 ? (int)N + 1 : gv_count_support(&proto[i], wide, GV_COUNT_TAIL);
            if (proto[i].ncat < 1 || proto[i].ncat > GV_COUNT_MAX_SUPPORT) {
                double mean = gv_count_mean(&proto[i], eta);
                free(proto);
                return gv_err(err, "problem %s: a %s unit with mean %.4g needs a support cap above %d values for an "
                              "exact reference (tail <= 1e-12); use a smaller mean or give support=M",
                              s->name, cq_families[fam], mean, GV_COUNT_MAX_SUPPORT), GV_EUSAGE;
            }
        }
    }
    rc = gv_layout_init_units(&p->layout, st->D, proto);
    free(proto);
    return rc ? (gv_err(err, "out of memory"), GV_EFAIL) : GV_OK;
}

static inline double cq_g(const cq_state_t *st, int i, double x)
{
    switch (st->g) {
    case G_LINEAR: return 7 * x - 3;
    case G_SQUARE: return (x + 1) * (x + 1);
    case G_SQRT: return sqrt(x + 1);
    }
    return (x - st->t[i]) * (x - st->t[i]);
}

static inline double cq_dg(const cq_state_t *st, int i, double x)
{
    switch (st->g) {
    case G_LINEAR: return 7;
    case G_SQUARE: return 2 * (x + 1);
    case G_SQRT: return 0.5 / sqrt(x + 1);
    }
    return 2 * (x - st->t[i]);
}

static double cq_f(const void *v, const int *z)
{
    const cq_state_t *st = v;
    double s = 0;
    for (int i = 0; i < st->D; i++) s += cq_g(st, i, z[i]);
    return s;
}

static double cq_ftilde(const void *v, const double *y)
{
    const cq_state_t *st = v;
    double s = 0;
    for (int i = 0; i < st->D; i++) s += cq_g(st, i, y[i]);
    return s;
}

static void cq_grad(const void *v, const double *y, double *g)
{
    const cq_state_t *st = v;
    for (int i = 0; i < st->D; i++) g[i] = cq_dg(st, i, y[i]);
}

static int cq_exact(const gv_problem *p, const gv_point *pt, double *value, double *cond)
{
    const cq_state_t *st = p->state;
    double *h = malloc((size_t)p->layout.n_cond * sizeof(double));
    if (!h) return -1;
    for (int i = 0; i < st->D; i++) {
        const gv_unit *u = &p->layout.units[i];
        for (int k = 0; k < u->ncat; k++) h[u->cond + k] = cq_g(st, i, k);
    }
    gv_exact_separable(pt, h, 0.0, value, cond);
    free(h);
    return 0;
}

static void cq_describe(const gv_problem *p, FILE *out)
{
    const cq_state_t *st = p->state;
    const gv_unit *u = &p->layout.units[0];
    fprintf(out, "%d %s unit(s)", st->D, gv_count_family_name(u->family));
    if (u->family == GV_BINOMIAL) fprintf(out, " N=%g", u->shape);
    if (u->family == GV_NEGBIN) fprintf(out, " r=%g", u->shape);
    fprintf(out, ", mean %.6g, support cap %d (tail %.3g); f = sum g(x_i), g = %s", gv_count_mean(u, p->eta[0]), u->ncat,
            gv_count_tail(u, p->eta[0], u->ncat), cq_fnames[st->g]);
    if (st->g == G_QUADRATIC) fprintf(out, ", t_1 = %g", st->t[0]);
    fprintf(out, "\n");
}

const gv_problem_type gv_prob_count_quadratic = {
    .name = "count-quadratic",
    .description = "f(x) = sum (x_i - t)^2 (or 7x-3, (x+1)^2, sqrt(x+1)) on Poisson / binomial / geometric / negbin units",
    .citation = "Joo, Kim, Shin, Yang & Moon 2003.01847 (GenGS synthetic targets)",
    .objective = GV_OBJ_EXPECTATION,
    .options = cq_opts,
    .presets = "poisson5, binomial20, geometric, negbin3",
    .state_size = sizeof(cq_state_t),
    .init = cq_init, .free = cq_free,
    .f = cq_f, .ftilde = cq_ftilde, .grad_ftilde = cq_grad,
    .exact = cq_exact,
    .describe = cq_describe,
};
