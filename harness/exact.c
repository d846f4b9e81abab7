/* exact.c — closed form or enumeration of the joint support, in log space. */
#include "harness/exact.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int gv_exact_alloc(gv_exact *ex, const gv_layout *L)
{
    memset(ex, 0, sizeof *ex);
    ex->grad = calloc((size_t)L->n_params, sizeof(double));
    ex->cond = calloc((size_t)L->n_cond, sizeof(double));
    if (!ex->grad || !ex->cond) {
        gv_exact_free(ex);
        return -1;
    }
    return 0;
}

void gv_exact_free(gv_exact *ex)
{
    if (!ex) return;
    free(ex->grad);
    free(ex->cond);
    free(ex->marg_grad);
    ex->grad = ex->cond = ex->marg_grad = NULL;
}

int gv_exact_marginal(const gv_problem *p, const double *phi, gv_exact *ex, char *err)
{
    const gv_ikl_hooks *h = p->type->ikl;
    if (!h || !h->exact_marginal || p->n_outer == 0) return 1;
    if (!ex->marg_grad && !(ex->marg_grad = malloc((size_t)p->n_outer * sizeof(double))))
        return gv_err(err, "out of memory"), -1;
    int rc = h->exact_marginal(p, phi, &ex->marg_value, ex->marg_grad, err);
    if (rc) free(ex->marg_grad), ex->marg_grad = NULL;
    return rc;
}

double gv_support_size(const gv_layout *L)
{
    double n = 1;
    for (int i = 0; i < L->n_units; i++) n *= L->units[i].ncat;
    return n;
}

void gv_exact_grad_from_cond(const gv_point *pt, const double *cond, double *grad)
{
    const gv_layout *L = pt->layout;
    for (int i = 0; i < L->n_units; i++) {
        const gv_unit *u = &L->units[i];
        const double *m = cond + u->cond, *p = pt->prob + u->param;
        if (u->kind == GV_UNIT_BERNOULLI) {
            grad[u->param] = p[0] * pt->comp[u->param] * (m[1] - m[0]);
        } else if (u->kind == GV_UNIT_COUNT) {
            /* sum_v p(v) s(v) (m_v - mbar) over the truncated support (tail <= GV_COUNT_TAIL) */
            double eta = pt->eta[u->param], W = 0, mbar = 0, g = 0;
            for (int v = 0; v < u->ncat; v++) {
                double w = exp(gv_count_logpmf(u, eta, v));
                W += w;
                mbar += w * m[v];
            }
            mbar /= W;
            for (int v = 0; v < u->ncat; v++)
                g += exp(gv_count_logpmf(u, eta, v)) * gv_count_score(u, eta, v) * (m[v] - mbar);
            grad[u->param] = g / W;
        } else {
            double mbar = 0;
            for (int c = 0; c < u->ncat; c++) mbar += p[c] * m[c];
            for (int j = 0; j < u->ncat; j++) grad[u->param + j] = p[j] * (m[j] - mbar);
        }
    }
}

/* probability of value v of unit u at pt */
static double unit_prob(const gv_point *pt, const gv_unit *u, int v)
{
    if (u->kind == GV_UNIT_BERNOULLI) return v ? pt->prob[u->param] : pt->comp[u->param];
    if (u->kind == GV_UNIT_COUNT) return exp(gv_count_logpmf(u, pt->eta[u->param], v));
    return pt->prob[u->param + v];
}

void gv_exact_separable(const gv_point *pt, const double *h, double c0, double *value, double *cond)
{
    const gv_layout *L = pt->layout;
    double total = c0;
    for (int i = 0; i < L->n_units; i++) {
        const gv_unit *u = &L->units[i];
        for (int v = 0; v < u->ncat; v++) total += unit_prob(pt, u, v) * h[u->cond + v];
    }
    for (int i = 0; i < L->n_units; i++) {
        const gv_unit *u = &L->units[i];
        double mi = 0;
        for (int v = 0; v < u->ncat; v++) mi += unit_prob(pt, u, v) * h[u->cond + v];
        for (int v = 0; v < u->ncat; v++) cond[u->cond + v] = total - mi + h[u->cond + v];
    }
    *value = total;
}

/* Enumeration.  States are visited in mixed-radix order (unit 0 fastest) in fixed-size chunks;
 * chunk sums are combined in chunk order, so the result does not depend on the thread count.
 * Weights are exp(log q(z) - log q_max), log q_max = sum of per-unit maxima: no underflow for
 * any state within e^-700 of the mode, and states below that contribute nothing measurable. */
#define CHUNK 16384L

static int enumerate(const gv_problem *p, const gv_point *pt, double nstates, const double *centre, gv_exact *ex,
                     char *err)
{
    const gv_layout *L = &p->layout;
    int D = L->n_units, NC = L->n_cond, NP = L->n_params;
    const int hier = gv_layout_hierarchical(L);
    double *lqv = malloc((size_t)NC * sizeof(double));
    if (!lqv) return gv_err(err, "out of memory"), GV_EFAIL;
    double lmax = 0;
    for (int i = 0; i < D; i++) {
        const gv_unit *u = &L->units[i];
        double m = -INFINITY;
        for (int v = 0; v < u->ncat; v++) {
            double pv = unit_prob(pt, u, v);
            double l;
            if (u->kind == GV_UNIT_BERNOULLI)
                l = gv_log_sigmoid(v ? pt->eta[u->param] : -pt->eta[u->param]);
            else if (u->kind == GV_UNIT_COUNT)
                l = gv_count_logpmf(u, pt->eta[u->param], v);
            else
                l = pv > 0 ? log(pv) : -INFINITY;
            lqv[u->cond + v] = l;
            if (l > m) m = l;
        }
        lmax += m;
    }
    long total = (long)nstates;
    long nchunk = (total + CHUNK - 1) / CHUNK;
    /* per chunk: W, S, then Wc[NC], Sc[NC]; with a centre: the gradient (NP), then W */
    size_t stride = centre ? (size_t)NP + 1 : 2 + 2 * (size_t)NC;
    double *acc = calloc((size_t)nchunk * stride, sizeof(double));
    if (!acc) {
        free(lqv);
        return gv_err(err, "out of memory for %ld enumeration chunks", nchunk), GV_EFAIL;
    }
    int failed = 0;
#pragma omp parallel
    {
        int *z = malloc((size_t)D * sizeof(int));
        if (!z) {
#pragma omp atomic write
            failed = 1;
        }
#pragma omp for schedule(dynamic, 1)
        for (long c = 0; c < nchunk; c++) {
            if (!z) continue;
            double *a = acc + (size_t)c * stride;
            long start = c * CHUNK, end = start + CHUNK < total ? start + CHUNK : total;
            long idx = start;
            for (int i = 0; i < D; i++) { /* decode the start index */
                z[i] = (int)(idx % L->units[i].ncat);
                idx /= L->units[i].ncat;
            }
            const int n0 = L->units[0].ncat, c0 = L->units[0].cond;
            double rest = 0;
            for (int i = 1; i < D; i++) rest += lqv[L->units[i].cond + z[i]];
            rest -= lmax;
            for (long s = start; s < end; s++) {
                /* hierarchical: q(z) itself (normalised: the mode's weight is >= 1 / nstates) */
                double w = hier ? exp(gv_log_q(pt, z)) : exp(rest + lqv[c0 + z[0]]);
                double f = gv_problem_f(p, pt, z);
                double wf = w * f;
                if (centre) { /* pass 2 of a hierarchical layout */
                    gv_score_axpy(pt, z, w * (f - *centre), a);
                    a[NP] += w;
                } else {
                    double *Wc = a + 2, *Sc = a + 2 + NC;
                    a[0] += w;
                    a[1] += wf;
                    for (int i = 0; i < D; i++) {
                        int k = L->units[i].cond + z[i];
                        Wc[k] += w;
                        Sc[k] += wf;
                    }
                }
                if (++z[0] == n0) { /* carry, then recompute the rest of log q exactly */
                    z[0] = 0;
                    for (int i = 1; i < D; i++) {
                        if (++z[i] < L->units[i].ncat) break;
                        z[i] = 0;
                    }
                    rest = -lmax;
                    for (int i = 1; i < D; i++) rest += lqv[L->units[i].cond + z[i]];
                }
            }
        }
        free(z);
    }
    if (failed) {
        free(acc);
        free(lqv);
        return gv_err(err, "out of memory"), GV_EFAIL;
    }
    if (centre) { /* chunk sums in chunk order */
        double Wt = 0;
        for (long c = 0; c < nchunk; c++) Wt += acc[(size_t)c * stride + NP];
        for (int q = 0; q < NP; q++) {
            double g = 0;
            for (long c = 0; c < nchunk; c++) g += acc[(size_t)c * stride + q];
            ex->grad[q] = g / Wt;
        }
        free(acc), free(lqv);
        return GV_OK;
    }
    double W = 0, S = 0;
    double *Wc = calloc((size_t)NC, sizeof(double)), *Sc = calloc((size_t)NC, sizeof(double));
    if (!Wc || !Sc) {
        free(Wc), free(Sc), free(acc), free(lqv);
        return gv_err(err, "out of memory"), GV_EFAIL;
    }
    for (long c = 0; c < nchunk; c++) {
        const double *a = acc + (size_t)c * stride;
        W += a[0];
        S += a[1];
        for (int k = 0; k < NC; k++) Wc[k] += a[2 + k], Sc[k] += a[2 + NC + k];
    }
    ex->value = S / W;
    /* a value whose every state underflows relative to the mode has probability < e^-700:
     * its conditional mean does not matter for the gradient; use E f */
    for (int k = 0; k < NC; k++) ex->cond[k] = Wc[k] > 0 ? Sc[k] / Wc[k] : ex->value;
    free(Wc), free(Sc), free(acc), free(lqv);
    ex->method = GV_EXACT_ENUM;
    ex->states = nstates;
    return GV_OK;
}

/* Hierarchical layouts (all-Bernoulli, with edges): the conditional means no longer give the
 * gradient, so enumerate twice: pass 1 E f and the conditional means, pass 2 the gradient
 * sum_z q(z) (f(z) - E f) score(z), centred on E f to limit cancellation. */
static int enumerate_hier(const gv_problem *p, const gv_point *pt, double nstates, gv_exact *ex, char *err)
{
    int rc = enumerate(p, pt, nstates, NULL, ex, err);
    const double Ef = ex->value;
    return rc ? rc : enumerate(p, pt, nstates, &Ef, ex, err);
}

static int exact_hier(const gv_problem *p, const gv_point *pt, double max_states, int force_enum, gv_exact *ex,
                      char *err)
{
    if (p->type->exact_grad && !force_enum) {
        if (p->type->exact_grad(p, pt, &ex->value, ex->cond, ex->grad))
            return gv_err(err, "exact reference of %s failed", p->spec), GV_EFAIL;
        ex->method = GV_EXACT_CLOSED;
        ex->states = 0;
        return GV_OK;
    }
    const double n = gv_support_size(&p->layout);
    if (!(n <= max_states))
        return gv_err(err, "problem %s has %.4g joint states, above the enumeration limit %.0f of its hierarchical layout "
                      "(raise it with --max-states N)", p->spec, n, max_states), GV_EUSAGE;
    return enumerate_hier(p, pt, n, ex, err);
}

int gv_exact_compute(const gv_problem *p, const gv_point *pt, double max_states, int force_enum,
                     gv_exact *ex, char *err)
{
    if (p->type->objective == GV_OBJ_INCLUSIVE_KL) { /* the problem's own enumeration of each posterior */
        if (p->type->exact_grad(p, pt, &ex->value, ex->cond, ex->grad))
            return gv_err(err, "exact reference of %s failed", p->spec), GV_EFAIL;
        ex->method = GV_EXACT_CLOSED;
        ex->states = 0;
        return GV_OK;
    }
    if (gv_layout_hierarchical(&p->layout)) return exact_hier(p, pt, max_states, force_enum, ex, err);
    /* count units: the truncated support must hold all but GV_COUNT_TAIL of the mass here */
    for (int i = 0; i < p->layout.n_units; i++) {
        const gv_unit *u = &p->layout.units[i];
        if (u->kind != GV_UNIT_COUNT) continue;
        double tail = gv_count_tail(u, pt->eta[u->param], u->ncat);
        if (!(tail <= GV_COUNT_TAIL)) {
            gv_err(err, "count unit %d (%s, mean %.4g) of %s: its support cap %d leaves tail mass %.3g > %g at this "
                   "parameter; raise the problem's support= option", i, gv_count_family_name(u->family),
                   gv_count_mean(u, pt->eta[u->param]), p->spec, u->ncat, tail, GV_COUNT_TAIL);
            return GV_EFAIL;
        }
    }
    if (p->type->exact && !force_enum) {
        int rc = p->type->exact(p, pt, &ex->value, ex->cond);
        if (rc) return gv_err(err, "closed-form exact reference of %s failed", p->spec), GV_EFAIL;
        ex->method = GV_EXACT_CLOSED;
        ex->states = 0;
    } else {
        double n = gv_support_size(&p->layout);
        if (!(n <= max_states)) {
            gv_err(err,
                   "problem %s has %.4g joint states, above the enumeration limit %.0f "
                   "(raise it with --max-states N, or use a problem with a closed-form reference)",
                   p->spec, n, max_states);
            return GV_EUSAGE;
        }
        int rc = enumerate(p, pt, n, NULL, ex, err);
        if (rc) return rc;
    }
    gv_exact_grad_from_cond(pt, ex->cond, ex->grad);
    return GV_OK;
}
