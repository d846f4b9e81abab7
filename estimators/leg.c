/* leg.c — local expectation gradients (Titsias & Lazaro-Gredilla 1503.01494).
 * For the factor q(z_i | pa_i) of each unit i, the score-function gradient is marginalised
 * exactly over z_i given the sampled values of all other units, with z_i's conditional under q
 * given its Markov blanket mb_i (parents, children, children's other parents) as weights:
 *   g_i = sum_v q(z_i = v | z_mb_i) f(z^{i<-v}) grad_eta_i log q(z_i = v | pa_i),
 *   q(z_i = v | z_mb_i) proportional to q(v | pa_i) prod_{j in ch(i)} q(z_j | pa_j with z_i = v).
 * Descendants keep their sampled values (Tokui-Sato instead re-simulates them from the same
 * noise).  Averaged over K samples.  Unbiased: E_q[f grad log q(z_i | pa_i)] =
 * E_{z_-i ~ q}[sum_v q(z_i = v | z_-i) f(z^{i<-v}) grad log q(v | pa_i)], and q(z_i | z_-i) =
 * q(z_i | z_mb_i).
 * Every current problem has a factorised q (no parents, no children): the conditional is q_i
 * itself and the score the unit's score, so
 *   Bernoulli   g_i = theta_i (1-theta_i) [f(z^{i<-1}) - f(z^{i<-0})]
 *   categorical g_ij = pi_ij (f(z^{i<-j}) - sum_c pi_ic f(z^{i<-c})),
 * which is tokui-sato (and IndeCateR 2311.12569) exactly: tests/test_cv.c checks it draw by draw.
 * With the weights equal to q_i (the factorised case) sum_v q_i(v) grad log q_i(v) = 0, so any
 * constant may be subtracted from the f values; the f value at the sampled z is, which makes the
 * Bernoulli case an exact difference of two f values.
 * Hierarchical layouts (edges between Bernoulli units, core.h; sbn with two latent layers), where
 * they differ from tokui-sato: leg_estimate_hier, with the Markov-blanket weights
 *   w_v proportional to sigma(+-l_i(z)) prod_{children j} sigma(+-l_j(z^{i<-v})) (leg_blanket_hier),
 * and no subtraction (sum_v w_v s(v) is not 0 there, and f0 depends on z_i's descendants, so it is
 * not a valid baseline):  g_{bias i} = sum_v w_v f(z^{i<-v}) (v - theta_i(z)),  g_{edge p->i} = the
 * same times z_p.  A unit without children gets theta_i (1 - theta_i) (f(z^{i<-1}) - f(z^{i<-0})).
 * Evaluations per sample: 1 + sum_i (C_i - 1).  Unbiased.  Count units: use tokui-sato (its
 * truncated sum over the support with a tail bound). */
#include <stdlib.h>

#include "estimators/estimator.h"

typedef struct {
    int *z;
    double *fv, *w; /* one unit's f values and conditional weights */
    double *th, *cth; /* hierarchical: theta_i(z), 1 - theta_i(z) */
} leg_state_t;

static const gv_optdoc leg_opts[] = {{NULL, NULL, NULL}};

static int leg_init(void *v, const gv_spec *spec, const gv_problem *p, int K, char *err)
{
    leg_state_t *s = v;
    const int C = p->layout.max_ncat > 2 ? p->layout.max_ncat : 2;
    s->z = malloc((size_t)p->layout.n_units * sizeof(int));
    s->fv = malloc((size_t)C * sizeof(double));
    s->w = malloc((size_t)C * sizeof(double));
    if (!s->z || !s->fv || !s->w) return gv_err(err, "out of memory"), GV_EFAIL;
    if (gv_layout_hierarchical(&p->layout)) {
        s->th = malloc((size_t)p->layout.n_units * sizeof(double));
        s->cth = malloc((size_t)p->layout.n_units * sizeof(double));
        if (!s->th || !s->cth) return gv_err(err, "out of memory"), GV_EFAIL;
    }
    return GV_OK;
}

static void leg_free(void *v)
{
    leg_state_t *s = v;
    free(s->z);
    free(s->fv);
    free(s->w);
    free(s->th), free(s->cth);
}

/* w[v] = q(z_i = v | z_mb_i).  The layout describes independent units only (no parents), so the
 * Markov blanket is empty and the conditional is the unit's own distribution. */
static void leg_blanket_weights(const gv_point *pt, const gv_unit *u, const int *z, double *w)
{
    if (u->kind == GV_UNIT_BERNOULLI) {
        w[0] = pt->comp[u->param];
        w[1] = pt->prob[u->param];
    } else {
        for (int c = 0; c < u->ncat; c++) w[c] = pt->prob[u->param + c];
    }
}

/* Hierarchical: w[v] = q(z_i = v | z_mb_i) of Bernoulli unit i, from the log-weights
 * log sigma(+-l_i) + sum_{children j} log sigma(+-l_j(z^{i<-v})).  z[i] is restored. */
static void leg_blanket_hier(const gv_point *pt, int i, int *z, double *w)
{
    const gv_layout *L = pt->layout;
    const int zi = z[i];
    const double li = gv_unit_logit(pt, z, i);
    double lw[2];
    for (int v = 0; v < 2; v++) {
        z[i] = v;
        lw[v] = gv_log_sigmoid(v ? li : -li);
        for (int k = L->out_off[i]; k < L->out_off[i + 1]; k++) {
            const int j = L->edges[L->out_edge[k]].child;
            const double lj = gv_unit_logit(pt, z, j);
            lw[v] += gv_log_sigmoid(z[j] ? lj : -lj);
        }
    }
    z[i] = zi;
    w[1] = gv_sigmoid(lw[1] - lw[0]);
    w[0] = gv_sigmoid(lw[0] - lw[1]);
}

static int leg_estimate_hier(leg_state_t *s, gv_eval *ev, int K, gsl_rng *r, double *g)
{
    const gv_point *pt = ev->pt;
    const gv_layout *L = pt->layout;
    const double invK = 1.0 / K;
    int *z = s->z;
    double *w = s->w;
    for (int k = 0; k < K; k++) {
        gv_sample(pt, r, z);
        gv_hier_theta(pt, z, s->th, s->cth);
        const double f0 = gv_eval_f(ev, z);
        for (int i = 0; i < L->n_units; i++) {
            const int zi = z[i];
            z[i] = 1 - zi; /* descendants keep their sampled values */
            const double fo = gv_eval_f(ev, z);
            z[i] = zi;
            const double f1 = zi ? f0 : fo, fz = zi ? fo : f0;
            double gi;
            if (L->out_off[i] == L->out_off[i + 1]) { /* no children: the weights are q_i, a difference */
                gi = s->th[i] * s->cth[i] * (f1 - fz);
            } else {
                leg_blanket_hier(pt, i, z, w);
                gi = w[1] * f1 * s->cth[i] - w[0] * fz * s->th[i]; /* sum_v w_v f_v (v - theta_i) */
            }
            gi *= invK;
            g[L->units[i].param] += gi;
            for (int e = L->in_off[i]; e < L->in_off[i + 1]; e++) {
                const gv_edge *ed = &L->edges[L->in_edge[e]];
                if (z[ed->parent]) g[ed->param] += gi;
            }
        }
    }
    return 0;
}

static int leg_estimate(void *v, gv_eval *ev, int K, gsl_rng *r, double *g)
{
    leg_state_t *s = v;
    const gv_point *pt = ev->pt;
    const gv_layout *L = pt->layout;
    const double invK = 1.0 / K;
    int *z = s->z;
    double *fv = s->fv, *w = s->w;
    if (L->n_edges) return leg_estimate_hier(s, ev, K, r, g);
    for (int k = 0; k < K; k++) {
        gv_sample(pt, r, z);
        const double f0 = gv_eval_f(ev, z);
        for (int i = 0; i < L->n_units; i++) {
            const gv_unit *u = &L->units[i];
            const int zi = z[i], C = u->ncat;
            for (int c = 0; c < C; c++) { /* descendants (none here) keep their sampled values */
                if (c == zi) fv[c] = f0;
                else {
                    z[i] = c;
                    fv[c] = gv_eval_f(ev, z);
                }
            }
            z[i] = zi;
            leg_blanket_weights(pt, u, z, w);
            double *gi = g + u->param;
            if (u->kind == GV_UNIT_BERNOULLI) {
                /* score: 1 - theta at v = 1, -theta at v = 0 */
                gi[0] += invK * (w[1] * pt->comp[u->param] * (fv[1] - f0) - w[0] * pt->prob[u->param] * (fv[0] - f0));
            } else {
                /* score_j(v) = 1[v = j] - pi_j:  g_j = w_j (f_j - f0) - pi_j sum_v w_v (f_v - f0) */
                const double *pi = pt->prob + u->param;
                double S = 0;
                for (int c = 0; c < C; c++) S += w[c] * (fv[c] - f0);
                for (int j = 0; j < C; j++) gi[j] += invK * (w[j] * (fv[j] - f0) - pi[j] * S);
            }
        }
    }
    return 0;
}

const gv_estimator_type gv_est_leg = {
    .name = "leg",
    .description = "local expectation gradients: exact sum over each unit given its Markov blanket (= tokui-sato on independent units)",
    .citation = "Titsias & Lazaro-Gredilla 1503.01494",
    .objective = GV_OBJ_EXPECTATION,
    .units = GV_UNIT_BERNOULLI | GV_UNIT_CATEGORICAL,
    .needs = GV_NEED_F,
    .min_K = 1, .K_multiple = 1, .biased = 0, .cost = "K(1+sum(C_i-1))", .hierarchical = 1,
    .options = leg_opts,
    .state_size = sizeof(leg_state_t),
    .init = leg_init, .free = leg_free, .estimate = leg_estimate,
};
