/* arsm.c — ARSM, augment-REINFORCE-swap-merge (Yin, Yue & Zhou 1905.01413), categorical units.
 *
 * One unit, logits l (C classes), pi = softmax(l).  Augment: varpi ~ Dirichlet(1_C) and
 * z = argmin_i (log varpi_i - l_i) ~ Cat(pi) (varpi = E / sum E with E_i ~ Exp(1): the exponential
 * race argmin_i E_i e^{-l_i}).  REINFORCE on the augmented variable: v = normalise(varpi e^{-l})
 * has density (C-1)! prod_i e^{l_i} / (sum_i e^{l_i} v_i)^C on the simplex and z = argmin_i v_i, so
 *     d/dl_c log p(v) = 1 - C e^{l_c} v_c / sum_i e^{l_i} v_i = 1 - C varpi_c  and
 *     dE f / dl_c = E[f(z) (1 - C varpi_c)]                                     (AR).
 * Swap: Dirichlet(1_C) is exchangeable, so swapping entries c and j of varpi (varpi^{c<->j}, whose
 * argmin is the pseudo-action z^{c<->j}) leaves its law unchanged and
 *     E[f(z)(1 - C varpi_c)] = E[f(z^{c<->j})(1 - C varpi_j)]   for every j;
 * averaging over j:  g_c = sum_j f(z^{c<->j}) (1/C - varpi_j)  is unbiased (ARS).
 * Merge: the baseline  b = sum_j fbar^j (1/C - varpi_j),  fbar^j = (1/C) sum_m f(z^{m<->j}),  equals
 * (1/C) sum_m g_m, whose mean is (1/C) sum_m dE f/dl_m = 0 (E f is invariant under l -> l + const),
 * so  g_c = sum_j [f(z^{c<->j}) - fbar^j] (1/C - varpi_j)  is unbiased (ARSM).
 * D independent units: one varpi_d per unit and the SAME swap (m, j) applied to every unit at once
 * (the joint law of (varpi_1..varpi_D) is invariant under a common permutation of the entries), giving
 * joint pseudo-actions z^{m<->j} and  g_{d,c} = sum_j [f(z^{c<->j}) - fbar^j] (1/C - varpi_{d,j}).
 * Units with different C (handled, not refused): the swap (m, j) acts on unit d only if m, j < C_d
 * (such a partial swap still preserves the joint law), and unit d sums j, m over 0..C_d-1 only, with
 * 1/C_d: the three steps above hold unit by unit.  C = 2 is ARSM's binary case.
 *
 * Computation of one draw.  Per unit: C uniforms (in class order, units in layout order),
 * E_i = -log u_i, a_i = log E_i, keys k_i = a_i - l_i (log varpi_i - l_i up to the common log sum E),
 * the three smallest keys (ties by index, as a first-index argmin).  Under the swap (m, j) unit d's
 * keys are k_i for i != m, j and a_j - l_m (class m), a_m - l_j (class j), so its argmin is the
 * smallest of the first of the three ranked classes not in {m, j} and those two: O(1) per unit and
 * swap.  A swap changes unit d only if this argmin differs from z_d, which needs either that it moves
 * z_d's class (C_d - 1 swaps) or that a new key beats k_{z_d}: a_j - l_m < k_{z_d}, so a_j - k_{z_d} <
 * max l — only swaps with such a candidate class are examined, O(C_d (1 + #candidates)) per unit
 * instead of C_d^2 / 2 (the candidates are few unless the logits spread widely; uniform logits have
 * none).  Each pseudo-action is stored as its list of changes (d, value) against z, and the lists are
 * deduplicated with a hash table (hash of the list, equality checked on the lists).  f is then
 * evaluated once per distinct pseudo-action: at most 1 + C(C-1)/2, and at most C for D = 1.  If
 * no swap changes anything, every f(z^{m<->j}) is f(z) and the estimate is exactly 0: f is not
 * evaluated at all (this happens often when pi is nearly degenerate).  Since sum_j (1/C - varpi_j)
 * = 0, f(z^{c<->j}) may be replaced by f(z^{c<->j}) - f(z): only pairs whose value differs from f(z)
 * enter the sums (O(#such pairs + C) per unit).
 * K >= 1 independent draws averaged.  Evaluations per estimate: K x (distinct pseudo-actions per
 * draw, or 0 when there is only one), data-dependent.  Unbiased. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "estimators/estimator.h"
#include "harness/rng.h"

typedef struct {
    int D, P;           /* units; swaps (m < j < max C) */
    double *a, *key, *A; /* n_params: log E, key, 1/C - varpi */
    int *top;           /* 3 per unit: classes of the three smallest keys (-1 if C = 2) */
    int *z, *zw;        /* sample (n_units), work vector for evaluations */
    int *pm, *pj;       /* swap p = j(j-1)/2 + m  ->  (m, j) */
    /* changes of the current draw: (swap, unit, value), then grouped by swap (stable) */
    int *ch_p, *ch_d, *ch_v, *gd, *gv;
    size_t n_ch, cap_ch;
    int *cnt, *pos;     /* P: changes of each swap; end of its list in gd/gv (pos - cnt = start) */
    int *touched, nt;   /* swaps with at least one change, in order of first change */
    int *rep;           /* P: distinct pseudo-action of each swap (0 = the sample z) */
    int *first;         /* distinct pseudo-action -> a swap that gives it (-1 for z) */
    double *fval;       /* f of each distinct pseudo-action */
    uint64_t *hash;     /* P */
    /* open-addressing table: slot -> distinct index, valid if stamp[slot] == gen */
    int *slot_rep;
    uint32_t *stamp, gen;
    size_t mask;
    int *nz;            /* swaps with f(z^{m<->j}) != f(z) */
    double *dz;         /* their f(z^{m<->j}) - f(z) */
    double *gc, *col;   /* max C: one unit's sum_j and column sums */
    int *J, *inJ;       /* max C: candidate classes of swaps without the sample's class */
} arsm_state_t;

static const gv_optdoc arsm_opts[] = {{NULL, NULL, NULL}};

static void arsm_free(void *v)
{
    arsm_state_t *s = v;
    free(s->a), free(s->key), free(s->A), free(s->top), free(s->z), free(s->zw), free(s->pm), free(s->pj);
    free(s->ch_p), free(s->ch_d), free(s->ch_v), free(s->gd), free(s->gv), free(s->cnt), free(s->pos);
    free(s->touched), free(s->rep);
    free(s->first), free(s->fval), free(s->hash), free(s->slot_rep), free(s->stamp), free(s->nz), free(s->dz);
    free(s->gc), free(s->col), free(s->J), free(s->inJ);
}

static int arsm_init(void *v, const gv_spec *spec, const gv_problem *p, int K, char *err)
{
    arsm_state_t *s = v;
    const gv_layout *L = &p->layout;
    const int C = L->max_ncat;
    if (C > 46341) return gv_err(err, "arsm: %d classes; C(C-1)/2 swaps must fit an int", C), GV_EUSAGE;
    s->D = L->n_units;
    s->P = C * (C - 1) / 2;
    const size_t n = (size_t)L->n_params, D = (size_t)s->D, P = (size_t)s->P;
    size_t tab = 4;
    while (tab < 2 * (P + 1)) tab <<= 1;
    s->mask = tab - 1;
    s->a = malloc(n * sizeof(double));
    s->key = malloc(n * sizeof(double));
    s->A = malloc(n * sizeof(double));
    s->top = malloc(3 * D * sizeof(int));
    s->z = malloc(D * sizeof(int));
    s->zw = malloc(D * sizeof(int));
    s->pm = malloc(P * sizeof(int) + 1);
    s->pj = malloc(P * sizeof(int) + 1);
    s->cnt = calloc(P + 1, sizeof(int));
    s->pos = malloc(P * sizeof(int) + 1);
    s->touched = malloc(P * sizeof(int) + 1);
    s->rep = malloc(P * sizeof(int) + 1);
    s->first = malloc((P + 1) * sizeof(int));
    s->fval = malloc((P + 1) * sizeof(double));
    s->hash = malloc(P * sizeof(uint64_t) + 1);
    s->slot_rep = malloc(tab * sizeof(int));
    s->stamp = calloc(tab, sizeof(uint32_t));
    s->nz = malloc(P * sizeof(int) + 1);
    s->dz = malloc(P * sizeof(double) + 1);
    s->gc = malloc((size_t)C * sizeof(double));
    s->col = malloc((size_t)C * sizeof(double));
    s->J = malloc((size_t)C * sizeof(int));
    s->inJ = malloc((size_t)C * sizeof(int));
    if (!s->a || !s->key || !s->A || !s->top || !s->z || !s->zw || !s->pm || !s->pj || !s->cnt || !s->pos || !s->touched || !s->rep ||
        !s->first || !s->fval || !s->hash || !s->slot_rep || !s->stamp || !s->nz || !s->dz || !s->gc || !s->col ||
        !s->J || !s->inJ)
        return gv_err(err, "out of memory"), GV_EFAIL;
    for (int j = 1, q = 0; j < C; j++)
        for (int m = 0; m < j; m++, q++) s->pm[q] = m, s->pj[q] = j;
    return GV_OK;
}

static int arsm_push(arsm_state_t *s, int p, int d, int v)
{
    if (s->n_ch == s->cap_ch) {
        size_t cap = s->cap_ch ? 2 * s->cap_ch : 1024;
        int *a = realloc(s->ch_p, cap * sizeof(int)), *b = a ? realloc(s->ch_d, cap * sizeof(int)) : NULL;
        if (a) s->ch_p = a;
        if (b) s->ch_d = b;
        int *c = b ? realloc(s->ch_v, cap * sizeof(int)) : NULL;
        if (c) s->ch_v = c;
        int *e = c ? realloc(s->gd, cap * sizeof(int)) : NULL;
        if (e) s->gd = e;
        int *f = e ? realloc(s->gv, cap * sizeof(int)) : NULL;
        if (f) s->gv = f;
        if (!f) return -1;
        s->cap_ch = cap;
    }
    s->ch_p[s->n_ch] = p, s->ch_d[s->n_ch] = d, s->ch_v[s->n_ch] = v;
    s->n_ch++;
    if (s->cnt[p]++ == 0) s->touched[s->nt++] = p;
    return 0;
}

/* (k, i) < (k', i') lexicographically: the first-index argmin order */
static inline int arsm_less(double k, int i, double k2, int i2) { return k < k2 || (k == k2 && i < i2); }

static inline uint64_t arsm_mix(uint64_t h)
{
    h ^= h >> 30, h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 27, h *= 0x94d049bb133111ebULL;
    return h ^ (h >> 31);
}

/* A touched swap p's change list is gd/gv[pos[p] - cnt[p] .. pos[p]). */
static inline int arsm_same(const arsm_state_t *s, int p, int q)
{
    const int n = s->cnt[p];
    if (s->cnt[q] != n) return 0;
    const int bp = s->pos[p] - n, bq = s->pos[q] - n;
    return !memcmp(s->gd + bp, s->gd + bq, (size_t)n * sizeof(int)) &&
           !memcmp(s->gv + bp, s->gv + bq, (size_t)n * sizeof(int));
}

/* One ARSM draw added to g with weight w; returns the number of distinct pseudo-actions, -1 on
 * out of memory. */
static int arsm_draw(arsm_state_t *s, gv_eval *ev, gsl_rng *r, double w, double *g)
{
    const gv_layout *L = ev->pt->layout;
    const double *eta = ev->pt->eta;
    const int D = s->D;
    /* augment: varpi, keys, ranking, the sample z */
    for (int d = 0; d < D; d++) {
        const gv_unit *u = &L->units[d];
        const int o = u->param, C = u->ncat;
        double sum = 0;
        int t0 = -1, t1 = -1, t2 = -1;
        for (int i = 0; i < C; i++) {
            double uu = gv_uniform(r), E = -log(uu > 0 ? uu : 0x1.0p-54);
            sum += s->A[o + i] = E;
            double k = s->key[o + i] = (s->a[o + i] = log(E)) - eta[o + i];
            if (t0 < 0 || arsm_less(k, i, s->key[o + t0], t0)) t2 = t1, t1 = t0, t0 = i;
            else if (t1 < 0 || arsm_less(k, i, s->key[o + t1], t1)) t2 = t1, t1 = i;
            else if (t2 < 0 || arsm_less(k, i, s->key[o + t2], t2)) t2 = i;
        }
        const double iC = 1.0 / C, is = 1.0 / sum;
        for (int i = 0; i < C; i++) s->A[o + i] = iC - s->A[o + i] * is;
        s->top[3 * d] = t0, s->top[3 * d + 1] = t1, s->top[3 * d + 2] = t2;
        s->z[d] = t0;
    }
    /* swap: each unit's changes (any order within a unit; units in order) */
    for (int t = 0; t < s->nt; t++) s->cnt[s->touched[t]] = 0;
    s->n_ch = 0, s->nt = 0;
    for (int d = 0; d < D; d++) {
        const gv_unit *u = &L->units[d];
        const int o = u->param, C = u->ncat;
        const double *a = s->a + o, *l = eta + o, *k = s->key + o;
        const int t0 = s->top[3 * d], t1 = s->top[3 * d + 1], t2 = s->top[3 * d + 2];
        const double k0 = k[t0];
        /* swaps (t0, j): t0 leaves; the argmin is the best of the next ranked class and the two new keys */
        for (int jj = 0; jj < C; jj++) {
            if (jj == t0) continue;
            const int m = jj < t0 ? jj : t0, j = jj < t0 ? t0 : jj;
            const double km = a[j] - l[m], kj = a[m] - l[j]; /* new keys of classes m and j */
            int rest = t1 == jj ? t2 : t1;
            double bk = rest >= 0 ? k[rest] : INFINITY;
            int best = rest;
            if (best < 0 || arsm_less(km, m, bk, best)) best = m, bk = km;
            if (arsm_less(kj, j, bk, best)) best = j;
            if (best != t0 && arsm_push(s, j * (j - 1) / 2 + m, d, best)) return -1;
        }
        /* swaps (m, j) without t0 change z_d only if a new key beats k0: a_j - l_m < k0 (or a_m - l_j),
         * so one of the two classes has a_i - k0 < l_m <= max l.  Those candidates are few unless the
         * logits spread widely; the test is widened by a rounding margin (it only selects work: every
         * decision is the exact comparison below). */
        double lmax = -INFINITY;
        for (int i = 0; i < C; i++) lmax = l[i] > lmax ? l[i] : lmax;
        int nJ = 0;
        for (int i = 0; i < C; i++) {
            const double al = a[i] - k0;
            s->inJ[i] = i != t0 && al <= lmax + 1e-12 * (1 + fabs(a[i]) + fabs(k0) + fabs(lmax));
            if (s->inJ[i]) s->J[nJ++] = i;
        }
        for (int q = 0; q < nJ; q++) {
            const int i = s->J[q];
            for (int mm = 0; mm < C; mm++) {
                if (mm == t0 || mm == i || (s->inJ[mm] && mm < i)) continue; /* each pair once */
                const int m = mm < i ? mm : i, j = mm < i ? i : mm;
                const double km = a[j] - l[m], kj = a[m] - l[j];
                if (!arsm_less(km, m, k0, t0) && !arsm_less(kj, j, k0, t0)) continue;
                if (arsm_push(s, j * (j - 1) / 2 + m, d, arsm_less(km, m, kj, j) ? m : j)) return -1;
            }
        }
    }
    int nd = 1; /* distinct pseudo-actions; 0 is the sample itself */
    s->first[0] = -1;
    if (s->n_ch == 0) return 1; /* every pseudo-action is z: the estimate is 0, f is not needed */
    /* group the changes by swap (counting sort, stable: units stay in order in each list) */
    for (int t = 0, at = 0; t < s->nt; t++) at = s->pos[s->touched[t]] = at + s->cnt[s->touched[t]];
    for (size_t c = s->n_ch; c-- > 0;) { /* backwards, so that pos[p] ends at the start of p's list ... */
        int at = --s->pos[s->ch_p[c]];
        s->gd[at] = s->ch_d[c], s->gv[at] = s->ch_v[c];
    }
    for (int t = 0; t < s->nt; t++) s->pos[s->touched[t]] += s->cnt[s->touched[t]]; /* ... then its end */
    /* merge: deduplicate the lists (untouched swaps give z itself) */
    if (++s->gen == 0) { /* stamps wrapped: clear */
        memset(s->stamp, 0, (s->mask + 1) * sizeof(uint32_t));
        s->gen = 1;
    }
    const int Cmax = L->max_ncat;
    for (int t = 0; t < s->nt; t++) {
        const int p = s->touched[t], e = s->pos[p], b = e - s->cnt[p];
        uint64_t h = 0x9e3779b97f4a7c15ULL;
        for (int c = b; c < e; c++) h = arsm_mix(h ^ ((uint64_t)s->gd[c] * (uint64_t)Cmax + (uint64_t)s->gv[c]));
        size_t at = (size_t)h & s->mask;
        for (;;) {
            if (s->stamp[at] != s->gen) { /* new pseudo-action */
                s->stamp[at] = s->gen, s->slot_rep[at] = nd;
                s->hash[p] = h, s->first[nd] = p, s->rep[p] = nd++;
                break;
            }
            const int q = s->first[s->slot_rep[at]];
            if (s->hash[q] == h && arsm_same(s, p, q)) {
                s->hash[p] = h, s->rep[p] = s->slot_rep[at];
                break;
            }
            at = (at + 1) & s->mask;
        }
    }
    /* f once per distinct pseudo-action */
    memcpy(s->zw, s->z, (size_t)D * sizeof(int));
    const double f0 = s->fval[0] = gv_eval_f(ev, s->zw);
    for (int k = 1; k < nd; k++) {
        const int p = s->first[k], e = s->pos[p], b = e - s->cnt[p];
        for (int c = b; c < e; c++) s->zw[s->gd[c]] = s->gv[c];
        s->fval[k] = gv_eval_f(ev, s->zw);
        for (int c = b; c < e; c++) s->zw[s->gd[c]] = s->z[s->gd[c]];
    }
    int nnz = 0;
    for (int t = 0; t < s->nt; t++) {
        const int p = s->touched[t];
        const double df = s->fval[s->rep[p]] - f0;
        if (df != 0) s->nz[nnz] = p, s->dz[nnz++] = df;
    }
    /* g_{d,c} = sum_j (F[c][j] - f0) A_j - (1/C) sum_j col_j A_j,  col_j = sum_m (F[m][j] - f0) */
    for (int d = 0; d < D; d++) {
        const gv_unit *u = &L->units[d];
        const int o = u->param, C = u->ncat, Pd = C * (C - 1) / 2;
        const double *A = s->A + o;
        for (int c = 0; c < C; c++) s->gc[c] = s->col[c] = 0;
        for (int t = 0; t < nnz; t++) {
            const int p = s->nz[t], m = s->pm[p], j = s->pj[p];
            if (p >= Pd) continue; /* a swap that does not act on unit d (m or j >= C_d) */
            const double df = s->dz[t];
            s->gc[m] += df * A[j], s->gc[j] += df * A[m];
            s->col[m] += df, s->col[j] += df;
        }
        double b = 0;
        for (int c = 0; c < C; c++) b += s->col[c] * A[c];
        b /= C;
        for (int c = 0; c < C; c++) g[o + c] += w * (s->gc[c] - b);
    }
    return nd;
}

static int arsm_estimate(void *v, gv_eval *ev, int K, gsl_rng *r, double *g)
{
    arsm_state_t *s = v;
    const double w = 1.0 / K;
    for (int k = 0; k < K; k++)
        if (arsm_draw(s, ev, r, w, g) < 0) return -1;
    return 0;
}

const gv_estimator_type gv_est_arsm = {
    .name = "arsm",
    .description = "augment-REINFORCE-swap-merge: sum_j [f(z^{c<->j}) - fbar^j](1/C - varpi_j), varpi ~ Dirichlet(1)",
    .citation = "Yin, Yue & Zhou 1905.01413",
    .objective = GV_OBJ_EXPECTATION,
    .units = GV_UNIT_CATEGORICAL,
    .needs = GV_NEED_F,
    .min_K = 1, .K_multiple = 1, .biased = 0,
    .cost = "K x distinct pseudo-actions per draw, 0 if only one (<= K(1+C(C-1)/2))",
    .options = arsm_opts,
    .state_size = sizeof(arsm_state_t),
    .init = arsm_init, .free = arsm_free, .estimate = arsm_estimate,
};
