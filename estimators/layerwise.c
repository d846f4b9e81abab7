/* layerwise.c — the layer-wise driver: an estimator written for factorised Bernoulli units, run on a
 * hierarchical layout (core.h: edges parent -> child between Bernoulli units).
 *
 * Layers.  depth(i) = 0 for a unit without parents, else 1 + the largest depth of its parents;
 * layer l = the units of depth l (in unit order).  q(z) = prod_l q(z_l | z_<l), each factor a
 * factorised Bernoulli layer with logits l_i(z_<l) = eta_i + sum_{e into i} w_e z_parent(e), and each
 * parameter (a unit's bias, an edge's weight) belongs to exactly one layer's factor.  With
 * F_l(z_<=l) = E[f | z_<=l],
 *   d E f / d(parameters of layer l) = E_{z_<l} [ d/d(...) E_{z_l ~ q(. | z_<l)} F_l(z_<l, z_l) ]
 * (the score-function identity grouped by layer, F_l held fixed), and by the chain rule through
 * the logits: d/d eta_i = d/d l_i, d/d w_e = z_parent(e) d/d l_child(e).
 *
 * One estimate = sum over layers l of:
 *   1. z_<l drawn ancestrally from fresh uniforms (none for the top layer);
 *   2. the estimator's own code on a sub-problem: layout = the layer's units (factorised, unit j
 *      owns parameter j), point = logits l_i(z_<l), with
 *        f_l(b)   = f(z_<l, b, z_>l), z_>l drawn afresh from q(. | z_<l, b) at EVERY call (fresh
 *                   uniforms): E[f_l(b)] = F_l(z_<l, b);
 *        f~_l(y), grad f~_l(y) = the problem's f~ / grad f~ at (z_<l, y, zfix_>l), with zfix ONE
 *                   draw of (z_l, z_>l) given z_<l made before the estimator runs: a fixed
 *                   deterministic function of y during the estimate (f~'s argument on a
 *                   hierarchical layout: unit i's value at y[units[i].param], the edge slots 0;
 *                   grad f~ is read at the same slots);
 *      the estimator draws its K samples of z_l given this one z_<l (shared ancestor draw);
 *   3. its output g_l (per layer unit) chained to the full vector: bias_i += g_li, and each edge e
 *      into i gets g_li z_parent(e).
 * Unbiased when the estimator (flag `layerwise` in its type) is, on a factorised layout, (a) linear
 * in the f values it evaluates, with coefficients that depend on its own random numbers (and on f~,
 * the point and learned state) but not on the noise inside each f call, and (b) unbiased for ANY
 * fixed f~ it uses as a control variate.  Then, given z_<l, zfix and the estimator's own draws, the
 * mean over the descendants' noise is the estimator applied to the deterministic F_l, which is
 * unbiased for the layer-l term; averaging over z_<l gives the sum.  Learned state (double-cv's
 * alpha, rebar's c and lambda, relax's surrogate) is per layer (one estimator state per layer,
 * init on the layer's sub-problem), changes only in adapt and is fixed within an estimate.
 * Biased estimators (the relaxations) run the same way: a per-layer relaxation through f~_l.
 *
 * Cost: the estimator's evaluations on every layer (f on the full layout: each f_l call is one f
 * evaluation, the descendants' resampling is inside it; f~ and grad f~ likewise), so L times its
 * factorised cost for L layers; the ancestor and zfix draws are not evaluations.  Counted on the
 * caller's gv_eval (distinct-point tracking sees full points).
 * Random numbers: only from the generator handed to estimate, in a fixed order (per layer:
 * ancestors, zfix if f~ is needed, then the estimator, whose f calls draw the descendants), so the
 * same seed gives the same bits for any thread count.  adapt gets the layers' last sub-problems
 * (f~_l as during the estimate); an adapt may evaluate f~ but not f (it has no generator). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "estimators/estimator.h"
#include "harness/rng.h"

typedef struct lw_state lw_state;

typedef struct {
    lw_state *s;
    int n;              /* units in the layer */
    int *unit;          /* n: its units (full-layout indices, in unit order) */
    int *anc, n_anc;    /* units of depth < l, in unit order */
    int *desc, n_desc;  /* units of depth > l, in unit order */
    int *low, n_low;    /* units of depth >= l, in unit order (zfix) */
    gv_problem prob;    /* the sub-problem (its layout: n factorised Bernoulli units) */
    gv_point pt;        /* the layer's logits l_i(z_<l) */
    gv_eval ev;         /* what the estimator sees (work is counted on the caller's gv_eval) */
    void *state;        /* the estimator's state on this layer */
    int *z;             /* full: z_<l of the current estimate; f calls write z_l and z_>l */
    int *zfix;          /* full: z_<l and one draw of z_>=l given it (f~'s fixed descendants) */
    double *y, *gf;     /* full n_params: f~'s argument (zfix, the layer's slots replaced), grad f~ */
    double *eta, *g;    /* n: the layer's logits, the estimator's output */
} lw_layer;

struct lw_state {
    const gv_estimator_type *inner;
    gv_estimator_type type; /* the inner type with the driver's hooks: e->type points here */
    char cost[96];
    const gv_layout *L;
    int n_layers, *depth;
    lw_layer *layer;
    gv_eval *outer;         /* the current estimate's counters */
    gsl_rng *r;             /* the current estimate's generator (NULL in adapt) */
    const gv_point *pt;     /* the full point */
};

const size_t gv_layerwise_state_size = sizeof(lw_state);

/* depth[i] of every unit (0 without parents); returns the number of layers. */
static int lw_depths(const gv_layout *L, int *d)
{
    int m = 0;
    for (int i = 0; i < L->n_units; i++) {
        d[i] = 0;
        for (int k = L->n_edges ? L->in_off[i] : 0; k < (L->n_edges ? L->in_off[i + 1] : 0); k++) {
            const int q = d[L->edges[L->in_edge[k]].parent] + 1;
            if (q > d[i]) d[i] = q;
        }
        if (d[i] > m) m = d[i];
    }
    return m + 1;
}

int gv_layout_layers(const gv_layout *L)
{
    int *d = malloc((size_t)L->n_units * sizeof *d);
    const int n = d ? lw_depths(L, d) : -1;
    free(d);
    return n;
}

/* ------------------------------------------------------------------ the sub-problem's hooks */

static double lw_f(const void *v, const gv_point *sub, const int *b)
{
    lw_layer *y = (lw_layer *)v; /* the object is not const: the hook's signature is */
    lw_state *s = y->s;
    if (!s->r) return NAN;       /* f outside an estimate (see the header) */
    for (int j = 0; j < y->n; j++) y->z[y->unit[j]] = b[j];
    for (int q = 0; q < y->n_desc; q++) {
        const int i = y->desc[q];
        y->z[i] = gv_uniform(s->r) < gv_unit_theta(s->pt, y->z, i);
    }
    return gv_eval_f(s->outer, y->z);
}

static void lw_place(lw_layer *y, const double *ys)
{
    const gv_unit *u = y->s->L->units;
    for (int j = 0; j < y->n; j++) y->y[u[y->unit[j]].param] = ys[j];
}

static double lw_ftilde(const void *v, const gv_point *sub, const double *ys)
{
    lw_layer *y = (lw_layer *)v;
    lw_place(y, ys);
    return gv_eval_ftilde(y->s->outer, y->y);
}

static void lw_grad(const void *v, const gv_point *sub, const double *ys, double *gs)
{
    lw_layer *y = (lw_layer *)v;
    const gv_unit *u = y->s->L->units;
    lw_place(y, ys);
    gv_eval_grad(y->s->outer, y->y, y->gf);
    for (int j = 0; j < y->n; j++) gs[j] = y->gf[u[y->unit[j]].param];
}

static const gv_problem_type lw_problem_type = {
    .name = "layer", .description = "one layer of a hierarchical layout (estimators/layerwise.c)",
    .objective = GV_OBJ_EXPECTATION, .f_at = lw_f, .ftilde_at = lw_ftilde, .grad_ftilde_at = lw_grad};

/* ------------------------------------------------------------------ the driver's hooks */

static int lw_estimate(void *v, gv_eval *ev, int K, gsl_rng *r, double *g)
{
    lw_state *s = v;
    const gv_layout *L = s->L;
    const gv_point *pt = ev->pt;
    const int need_ft = (s->inner->needs & (GV_NEED_FTILDE | GV_NEED_GRAD_FTILDE)) != 0;
    s->outer = ev, s->r = r, s->pt = pt;
    for (int l = 0; l < s->n_layers; l++) {
        lw_layer *y = &s->layer[l];
        for (int q = 0; q < y->n_anc; q++) {
            const int i = y->anc[q];
            y->z[i] = gv_uniform(r) < gv_unit_theta(pt, y->z, i);
        }
        for (int j = 0; j < y->n; j++) y->eta[j] = gv_unit_logit(pt, y->z, y->unit[j]);
        gv_point_set(&y->pt, y->eta);
        if (need_ft) {
            for (int q = 0; q < y->n_anc; q++) y->zfix[y->anc[q]] = y->z[y->anc[q]];
            for (int q = 0; q < y->n_low; q++) {
                const int i = y->low[q];
                y->zfix[i] = gv_uniform(r) < gv_unit_theta(pt, y->zfix, i);
            }
            for (int i = 0; i < L->n_units; i++) y->y[L->units[i].param] = y->zfix[i];
        }
        memset(y->g, 0, (size_t)y->n * sizeof(double));
        int rc = s->inner->estimate(y->state, &y->ev, K, r, y->g);
        if (rc) return rc;
        for (int j = 0; j < y->n; j++) {
            const int i = y->unit[j];
            g[L->units[i].param] += y->g[j];
            for (int k = L->in_off[i]; k < L->in_off[i + 1]; k++) {
                const gv_edge *e = &L->edges[L->in_edge[k]];
                if (y->z[e->parent]) g[e->param] += y->g[j];
            }
        }
    }
    return 0;
}

static void lw_adapt(void *v, const gv_eval *ev)
{
    lw_state *s = v;
    gv_eval scratch = *ev; /* adapt's work is training: not counted in the row */
    scratch.track = NULL;
    s->outer = &scratch, s->r = NULL, s->pt = ev->pt;
    for (int l = 0; l < s->n_layers; l++) s->inner->adapt(s->layer[l].state, &s->layer[l].ev);
}

static void lw_copy(void *dst, const void *src)
{
    lw_state *d = dst;
    const lw_state *s = src;
    for (int l = 0; l < s->n_layers; l++) s->inner->copy_learned(d->layer[l].state, s->layer[l].state);
}

static void lw_reset(void *v)
{
    lw_state *s = v;
    for (int l = 0; l < s->n_layers; l++) s->inner->reset(s->layer[l].state);
}

static void lw_schedule(void *v, long step)
{
    lw_state *s = v;
    for (int l = 0; l < s->n_layers; l++) s->inner->schedule(s->layer[l].state, step);
}

static void lw_note(const void *v, char *buf, size_t len)
{
    const lw_state *s = v;
    char part[GV_ERRLEN];
    size_t at = 0;
    buf[0] = 0;
    for (int l = 0; l < s->n_layers && at < len; l++) {
        part[0] = 0;
        s->inner->note(s->layer[l].state, part, sizeof part);
        if (part[0]) at += (size_t)snprintf(buf + at, len - at, "%slayer %d: %s", at ? "; " : "", l + 1, part);
    }
}

static void lw_free(void *v)
{
    lw_state *s = v;
    for (int l = 0; s->layer && l < s->n_layers; l++) {
        lw_layer *y = &s->layer[l];
        if (y->state && s->inner->free) s->inner->free(y->state);
        free(y->state);
        gv_point_free(&y->pt);
        gv_layout_free(&y->prob.layout);
        free(y->unit), free(y->anc), free(y->desc), free(y->low);
        free(y->z), free(y->zfix), free(y->y), free(y->gf), free(y->eta), free(y->g);
    }
    free(s->layer);
    free(s->depth);
}

/* ------------------------------------------------------------------ init */

static int lw_layer_init(lw_state *s, int l, const gv_spec *spec, const gv_problem *p, int K, char *msg)
{
    const gv_layout *L = s->L;
    const int U = L->n_units;
    lw_layer *y = &s->layer[l];
    y->s = s;
    y->unit = malloc((size_t)U * sizeof(int));
    y->anc = malloc((size_t)U * sizeof(int));
    y->desc = malloc((size_t)U * sizeof(int));
    y->low = malloc((size_t)U * sizeof(int));
    y->z = calloc((size_t)U, sizeof(int));
    y->zfix = calloc((size_t)U, sizeof(int));
    y->y = calloc((size_t)L->n_params, sizeof(double));
    y->gf = calloc((size_t)L->n_params, sizeof(double));
    if (!y->unit || !y->anc || !y->desc || !y->low || !y->z || !y->zfix || !y->y || !y->gf)
        return gv_err(msg, "out of memory"), GV_EFAIL;
    for (int i = 0; i < U; i++) {
        const int d = s->depth[i];
        if (d == l) y->unit[y->n++] = i;
        if (d < l) y->anc[y->n_anc++] = i;
        if (d > l) y->desc[y->n_desc++] = i;
        if (d >= l) y->low[y->n_low++] = i;
    }
    y->eta = malloc((size_t)y->n * sizeof(double));
    y->g = calloc((size_t)y->n, sizeof(double));
    if (!y->eta || !y->g || gv_layout_uniform(&y->prob.layout, y->n, GV_UNIT_BERNOULLI, 2))
        return gv_err(msg, "out of memory"), GV_EFAIL;
    for (int j = 0; j < y->n; j++) y->eta[j] = p->eta[L->units[y->unit[j]].param]; /* logits at z_<l = 0 */
    if (gv_point_init(&y->pt, &y->prob.layout, y->eta)) return gv_err(msg, "out of memory"), GV_EFAIL;
    y->prob.type = &lw_problem_type;
    y->prob.state = y;
    y->prob.eta = y->eta;
    snprintf(y->prob.spec, sizeof y->prob.spec, "%s", p->spec);
    y->ev = (gv_eval){.problem = &y->prob, .pt = &y->pt};
    const gv_estimator_type *t = s->inner;
    if (!(y->state = calloc(1, t->state_size ? t->state_size : 1))) return gv_err(msg, "out of memory"), GV_EFAIL;
    return t->init(y->state, spec, &y->prob, K, msg);
}

int gv_layerwise_init(gv_estimator *e, const gv_spec *spec, const gv_problem *p, int K, char *msg)
{
    lw_state *s = e->state;
    const gv_estimator_type *t = e->type;
    s->inner = t;
    s->type = *t;
    s->type.state_size = sizeof(lw_state);
    s->type.free = lw_free;
    s->type.reset = t->reset ? lw_reset : NULL;
    s->type.copy_learned = t->copy_learned ? lw_copy : NULL;
    s->type.estimate = lw_estimate;
    s->type.adapt = t->adapt ? lw_adapt : NULL;
    s->type.schedule = t->schedule ? lw_schedule : NULL;
    s->type.note = t->note ? lw_note : NULL;
    e->type = &s->type;
    const gv_layout *L = s->L = &p->layout;
    if (L->kinds != GV_UNIT_BERNOULLI) return gv_err(msg, "%s: the layer-wise driver needs Bernoulli units", t->name), GV_EFAIL;
    if (!(s->depth = malloc((size_t)L->n_units * sizeof(int)))) return gv_err(msg, "out of memory"), GV_EFAIL;
    const int n_layers = lw_depths(L, s->depth);
    snprintf(s->cost, sizeof s->cost, "%s per layer, %d layers", t->cost, n_layers);
    s->type.cost = s->cost;
    if (!(s->layer = calloc((size_t)n_layers, sizeof *s->layer))) return gv_err(msg, "out of memory"), GV_EFAIL;
    s->n_layers = n_layers;
    for (int l = 0; l < s->n_layers; l++) {
        int rc = lw_layer_init(s, l, spec, p, K, msg);
        if (rc) return rc;
    }
    return GV_OK;
}
