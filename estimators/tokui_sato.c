/* tokui_sato.c — the reparameterization trick for discrete variables (Tokui & Sato 1611.01239):
 * local marginalisation of each unit with every other unit held at its sampled value.
 *   Bernoulli   g_i = sigma'(eta_i) [f(z^{i<-1}) - f(z^{i<-0})]
 *   categorical g_ij = pi_ij (f(z^{i<-j}) - sum_c pi_ic f(z^{i<-c}))
 *   count       g_i = sum_{v<M} p(v) s(v) (f(z^{i<-v}) - fbar_i) / W, W = sum_{v<M} p(v), over the
 *               problem's support cap M (the exact reference's own truncation, whose neglected tail
 *               is <= 1e-12) or, with option eps > 0, the least M with P(X >= M) <= eps; the
 *               baseline fbar_i (the normalised p-weighted mean of the f values) is exact on the
 *               full support and shrinks the truncation error.  The neglected mass is reported in
 *               the row's message.
 * Averaged over K samples.  On these single-layer (factorised) problems there are no descendants
 * to re-simulate, so this is also LEG (1503.01494) and IndeCateR (2311.12569).
 * Hierarchical layouts (edges between Bernoulli units, core.h): z is drawn ancestrally from uniforms
 * u_1..u_D (z_i = 1[u_i < sigma(l_i(z))]); for each unit i, z_i is set to each value with every u
 * kept and the units after i redrawn from the same u (gv_sample_from_uniforms: exactly the
 * descendants of i change), and
 *   g_{bias i} = sigma'(l_i(z)) [f(z^{i<-1}) - f(z^{i<-0})],  g_{edge p->i} = the same times z_p.
 * Unbiased: given u_-i, E_{u_i}[f] is F(0) + sigma(l_i) (F(1) - F(0)) with l_i fixed by the
 * parents (which come before i), and l_i depends on eta only through the bias and the edges into i.
 * Evaluations per sample: 1 + sum_i (C_i - 1).  Unbiased (counts: up to the stated tail). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "estimators/estimator.h"
#include "harness/rng.h"

typedef struct {
    double eps;
    int *z;
    int *zf;        /* hierarchical: the flipped, re-simulated sample */
    double *u, *th; /* hierarchical: the sample's uniforms, theta_i(z), 1 - theta_i(z) */
    double *cth;
    double *fv;     /* f values of one unit's support */
    /* count units: p(v) and p(v) s(v) on the summed support, cached for the eta they were built at */
    double *cnt_eta;
    int *cnt_M;
    double **cnt_p, **cnt_ps;
    int n_units;
    double max_tail; /* largest neglected count tail seen (for the note) */
    int max_M;
} ts_state_t;

static const gv_optdoc ts_opts[] = {
    {"eps", "0", "count units: 0 = the problem's support cap; else sum until the neglected tail is <= eps"},
    {NULL, NULL, NULL}};

static int ts_init(void *v, const gv_spec *spec, const gv_problem *p, int K, char *err)
{
    ts_state_t *s = v;
    if (gv_opt_double(spec, "eps", 0, 0, 0.1, &s->eps, err)) return GV_EUSAGE;
    s->n_units = p->layout.n_units;
    s->z = malloc((size_t)s->n_units * sizeof(int));
    s->fv = malloc((size_t)(p->layout.max_ncat > 2 ? p->layout.max_ncat : 2) * sizeof(double)); /* categorical */
    if (!s->z || !s->fv) return gv_err(err, "out of memory"), GV_EFAIL;
    if (gv_layout_hierarchical(&p->layout)) {
        s->zf = malloc((size_t)s->n_units * sizeof(int));
        s->u = malloc((size_t)s->n_units * sizeof(double));
        s->th = malloc((size_t)s->n_units * sizeof(double));
        s->cth = malloc((size_t)s->n_units * sizeof(double));
        if (!s->zf || !s->u || !s->th || !s->cth) return gv_err(err, "out of memory"), GV_EFAIL;
    }
    if (p->layout.kinds & GV_UNIT_COUNT) {
        s->cnt_eta = malloc((size_t)s->n_units * sizeof(double));
        s->cnt_M = calloc((size_t)s->n_units, sizeof(int));
        s->cnt_p = calloc((size_t)s->n_units, sizeof(double *));
        s->cnt_ps = calloc((size_t)s->n_units, sizeof(double *));
        if (!s->cnt_eta || !s->cnt_M || !s->cnt_p || !s->cnt_ps) return gv_err(err, "out of memory"), GV_EFAIL;
        for (int i = 0; i < s->n_units; i++) s->cnt_eta[i] = NAN;
    }
    return GV_OK;
}

/* p(v) (normalised over the summed support) and p(v) s(v) for count unit i at eta. */
static int ts_count_table(ts_state_t *s, const gv_unit *u, int i, double eta)
{
    if (eta == s->cnt_eta[i]) return 0;
    int M = s->eps > 0 ? gv_count_support(u, eta, s->eps) : u->ncat;
    if (M < 1) return -1;
    if (M > s->cnt_M[i] || !s->cnt_p[i]) {
        free(s->cnt_p[i]), free(s->cnt_ps[i]);
        s->cnt_p[i] = malloc((size_t)M * sizeof(double));
        s->cnt_ps[i] = malloc((size_t)M * sizeof(double));
        if (!s->cnt_p[i] || !s->cnt_ps[i]) return -1;
    }
    double W = 0;
    for (int v = 0; v < M; v++) W += s->cnt_p[i][v] = exp(gv_count_logpmf(u, eta, v));
    for (int v = 0; v < M; v++) {
        s->cnt_p[i][v] /= W;
        s->cnt_ps[i][v] = s->cnt_p[i][v] * gv_count_score(u, eta, v);
    }
    s->cnt_M[i] = M;
    s->cnt_eta[i] = eta;
    double tail = gv_count_tail(u, eta, M);
    if (tail > s->max_tail) s->max_tail = tail;
    if (M > s->max_M) s->max_M = M;
    return 0;
}

static void ts_free(void *v)
{
    ts_state_t *s = v;
    free(s->z);
    free(s->fv);
    free(s->zf), free(s->u), free(s->th), free(s->cth);
    for (int i = 0; s->cnt_p && i < s->n_units; i++) free(s->cnt_p[i]), free(s->cnt_ps[i]);
    free(s->cnt_eta), free(s->cnt_M), free(s->cnt_p), free(s->cnt_ps);
}

/* Hierarchical layouts (all-Bernoulli): flip each unit, re-simulate its descendants with the same
 * uniforms (see the header). */
static int ts_estimate_hier(ts_state_t *s, gv_eval *ev, int K, gsl_rng *r, double *g)
{
    const gv_point *pt = ev->pt;
    const gv_layout *L = pt->layout;
    const int D = L->n_units;
    const double invK = 1.0 / K;
    int *z = s->z, *zf = s->zf;
    for (int k = 0; k < K; k++) {
        for (int i = 0; i < D; i++) s->u[i] = gv_uniform(r);
        gv_sample_from_uniforms(pt, s->u, 0, z);
        gv_hier_theta(pt, z, s->th, s->cth);
        const double f0 = gv_eval_f(ev, z);
        for (int i = 0; i < D; i++) {
            memcpy(zf, z, (size_t)i * sizeof *zf);
            zf[i] = 1 - z[i];
            gv_sample_from_uniforms(pt, s->u, i + 1, zf);
            const double fo = gv_eval_f(ev, zf), d = z[i] ? f0 - fo : fo - f0; /* f(z^{i<-1}) - f(z^{i<-0}) */
            const double gi = invK * s->th[i] * s->cth[i] * d;
            g[L->units[i].param] += gi;
            for (int e = L->in_off[i]; e < L->in_off[i + 1]; e++) {
                const gv_edge *ed = &L->edges[L->in_edge[e]];
                if (z[ed->parent]) g[ed->param] += gi;
            }
        }
    }
    return 0;
}

static int ts_estimate(void *v, gv_eval *ev, int K, gsl_rng *r, double *g)
{
    ts_state_t *s = v;
    const gv_point *pt = ev->pt;
    const gv_layout *L = pt->layout;
    const double invK = 1.0 / K;
    int *z = s->z;
    if (L->n_edges) return ts_estimate_hier(s, ev, K, r, g);
    for (int k = 0; k < K; k++) {
        gv_sample(pt, r, z);
        const double f0 = gv_eval_f(ev, z);
        for (int i = 0; i < L->n_units; i++) {
            const gv_unit *u = &L->units[i];
            const int zi = z[i];
            double *gi = g + u->param;
            if (u->kind == GV_UNIT_BERNOULLI) {
                z[i] = 1 - zi;
                double fo = gv_eval_f(ev, z);
                z[i] = zi;
                double f1 = zi ? f0 : fo, fz = zi ? fo : f0;
                gi[0] += invK * pt->prob[u->param] * pt->comp[u->param] * (f1 - fz);
            } else if (u->kind == GV_UNIT_CATEGORICAL) {
                const double *pi = pt->prob + u->param;
                double fbar = 0;
                for (int c = 0; c < u->ncat; c++) {
                    if (c == zi) s->fv[c] = f0;
                    else {
                        z[i] = c;
                        s->fv[c] = gv_eval_f(ev, z);
                    }
                    fbar += pi[c] * s->fv[c];
                }
                z[i] = zi;
                for (int j = 0; j < u->ncat; j++) gi[j] += invK * pi[j] * (s->fv[j] - fbar);
            } else { /* count: sum_v p s (f - fbar), p normalised over the summed support */
                if (ts_count_table(s, u, i, pt->eta[u->param])) return -1;
                const int M = s->cnt_M[i];
                const double *pv = s->cnt_p[i], *ps = s->cnt_ps[i];
                double fbar = 0, acc = 0, S = 0;
                for (int c = 0; c < M; c++) {
                    double fc;
                    if (c == zi) fc = f0;
                    else {
                        z[i] = c;
                        fc = gv_eval_f(ev, z);
                    }
                    fbar += pv[c] * fc;
                    acc += ps[c] * fc;
                    S += ps[c];
                }
                z[i] = zi;
                gi[0] += invK * (acc - fbar * S);
            }
        }
    }
    return 0;
}

static void ts_note(const void *v, char *buf, size_t len)
{
    const ts_state_t *s = v;
    if (s->max_M > 0)
        snprintf(buf, len, "count units summed over values < %d; neglected tail mass <= %.3g", s->max_M, s->max_tail);
}

const gv_estimator_type gv_est_tokui_sato = {
    .name = "tokui-sato",
    .description = "local marginalisation of each unit with common random numbers (= LEG, IndeCateR on independent units)",
    .citation = "Tokui & Sato 1611.01239",
    .objective = GV_OBJ_EXPECTATION,
    .units = GV_UNIT_BERNOULLI | GV_UNIT_CATEGORICAL | GV_UNIT_COUNT,
    .needs = GV_NEED_F,
    .min_K = 1, .K_multiple = 1, .biased = 0, .cost = "K(1+sum(C_i-1))", .hierarchical = 1,
    .options = ts_opts,
    .state_size = sizeof(ts_state_t),
    .init = ts_init, .free = ts_free, .estimate = ts_estimate, .note = ts_note,
};
