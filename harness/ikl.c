/* ikl.c — group-wise log q, score and sampling of a factorised q, and the generic SMC target of an
 * inclusive-KL problem (harness/ikl.h). */
#include "harness/ikl.h"

#include <math.h>

double gv_ikl_log_q(const gv_point *pt, const gv_problem *p, int g, const int *z)
{
    const int U = p->group_units;
    const gv_unit *u = p->layout.units + (size_t)g * U;
    double l = 0;
    for (int i = 0; i < U; i++, u++) {
        const double *pr = pt->prob + u->param;
        if (u->kind == GV_UNIT_BERNOULLI) {
            const double eta = pt->eta[u->param];
            l += z[i] ? gv_log_sigmoid(eta) : gv_log_sigmoid(-eta);
        } else {
            l += log(pr[z[i]]);
        }
    }
    return l;
}

void gv_ikl_score_axpy(const gv_point *pt, const gv_problem *p, int g, const int *z, double w, double *grad)
{
    const int U = p->group_units;
    const gv_unit *u = p->layout.units + (size_t)g * U;
    for (int i = 0; i < U; i++, u++) {
        const double *pr = pt->prob + u->param;
        double *gr = grad + u->param;
        if (u->kind == GV_UNIT_BERNOULLI) {
            gr[0] += w * (z[i] ? pt->comp[u->param] : -pr[0]);
        } else {
            for (int c = 0; c < u->ncat; c++) gr[c] -= w * pr[c];
            gr[z[i]] += w;
        }
    }
}

void gv_ikl_sample_q(const gv_point *pt, const gv_problem *p, int g, gsl_rng *r, int *z)
{
    const int U = p->group_units;
    const gv_unit *u = p->layout.units + (size_t)g * U;
    for (int i = 0; i < U; i++, u++) {
        const double v = gsl_rng_uniform(r);
        if (u->kind == GV_UNIT_BERNOULLI) {
            z[i] = v < pt->prob[u->param];
        } else { /* inverse CDF; the last entry of a unit's table is 1 */
            const double *cdf = pt->cdf + u->param;
            int c = 0;
            while (c < u->ncat - 1 && v >= cdf[c]) c++;
            z[i] = c;
        }
    }
}

/* ---- the generic SMC target: the problem's hooks for one group */
typedef struct {
    const gv_problem *p;
    int g;
} ikl_ctx;

static double g_log_prior(void *c, const int *z)
{
    const ikl_ctx *a = c;
    return a->p->type->ikl->log_prior(a->p, a->g, z);
}
static double g_log_lik(void *c, const int *z)
{
    const ikl_ctx *a = c;
    return a->p->type->ikl->log_lik(a->p, a->g, z);
}
static void g_sample_prior(void *c, gsl_rng *r, int *z)
{
    const ikl_ctx *a = c;
    a->p->type->ikl->sample_prior(a->p, a->g, r, z);
}

size_t gv_ikl_smc_ctx_size(const gv_problem *p)
{
    const gv_ikl_hooks *h = p->type->ikl;
    return h && h->smc_target ? h->smc_ctx_size : sizeof(ikl_ctx);
}

int gv_ikl_smc_target(const gv_problem *p, int g, void *ctx, gv_smc_target *t)
{
    const gv_ikl_hooks *h = p->type->ikl;
    if (!h || g < 0 || g >= p->n_groups) return -1;
    if (h->smc_target) return h->smc_target(p, g, ctx, t);
    /* one kind of site per group: Bernoulli units (binary, ncat 2) or categorical units of one C */
    const gv_unit *u = p->layout.units + (size_t)g * p->group_units;
    const int ncat = u[0].kind == GV_UNIT_BERNOULLI ? 2 : u[0].kind == GV_UNIT_CATEGORICAL ? u[0].ncat : -1;
    for (int i = 1; i < p->group_units; i++)
        if (u[i].kind != u[0].kind || (u[i].kind == GV_UNIT_CATEGORICAL && u[i].ncat != ncat)) return -1;
    if (ncat < 2 || ncat > GV_SMC_MAXCAT) return -1;
    ikl_ctx *a = ctx;
    a->p = p, a->g = g;
    *t = (gv_smc_target){.D = p->group_units, .ncat = ncat, .ctx = a, .log_prior = g_log_prior,
                         .sample_prior = g_sample_prior, .log_lik = g_log_lik};
    return 0;
}
