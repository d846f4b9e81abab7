/* core.c — layouts, the sampling distribution at a point, scores, option parsing, numerics. */
#include "harness/core.h"
#include "harness/rng.h"

#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void gv_err(char *err, const char *fmt, ...)
{
    if (!err) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, GV_ERRLEN, fmt, ap);
    va_end(ap);
}

/* ---------------------------------------------------------------- numerics */

double gv_sigmoid(double x)
{
    if (x >= 0) return 1.0 / (1.0 + exp(-x));
    double e = exp(x);
    return e / (1.0 + e);
}

double gv_log_sigmoid(double x)
{
    /* log sigma(x) = -log(1 + e^{-x}) = min(x,0) - log1p(e^{-|x|}) */
    return (x < 0 ? x : 0.0) - log1p(exp(-fabs(x)));
}

double gv_logsumexp(const double *x, int n)
{
    double m = -INFINITY;
    for (int i = 0; i < n; i++)
        if (x[i] > m) m = x[i];
    if (!isfinite(m)) return m;
    double s = 0;
    for (int i = 0; i < n; i++) s += exp(x[i] - m);
    return m + log(s);
}

/* ---------------------------------------------------------------- layouts */

int gv_layout_init_units(gv_layout *L, int n_units, const gv_unit *proto)
{
    memset(L, 0, sizeof *L);
    if (n_units < 1) return -1;
    L->units = calloc((size_t)n_units, sizeof *L->units);
    if (!L->units) return -1;
    L->n_units = n_units;
    for (int i = 0; i < n_units; i++) {
        gv_unit *u = &L->units[i];
        *u = proto[i];
        if (u->kind == GV_UNIT_BERNOULLI) u->ncat = 2;
        u->nparam = u->kind == GV_UNIT_CATEGORICAL ? u->ncat : 1;
        u->param = L->n_params;
        u->cond = L->n_cond;
        L->n_params += u->nparam;
        L->n_unit_params = L->n_params;
        L->n_cond += u->ncat;
        L->kinds |= u->kind;
        if (u->ncat > L->max_ncat) L->max_ncat = u->ncat;
    }
    return 0;
}

int gv_layout_init(gv_layout *L, int n_units, const unsigned *kind, const int *ncat)
{
    if (n_units < 1) return -1;
    gv_unit *p = calloc((size_t)n_units, sizeof *p);
    if (!p) return -1;
    for (int i = 0; i < n_units; i++) p[i].kind = kind[i], p[i].ncat = ncat[i];
    int rc = gv_layout_init_units(L, n_units, p);
    free(p);
    return rc;
}

int gv_layout_uniform(gv_layout *L, int n_units, unsigned kind, int ncat)
{
    if (n_units < 1) return -1;
    unsigned *k = malloc((size_t)n_units * sizeof *k);
    int *c = malloc((size_t)n_units * sizeof *c);
    int rc = -1;
    if (k && c) {
        for (int i = 0; i < n_units; i++) k[i] = kind, c[i] = ncat;
        rc = gv_layout_init(L, n_units, k, c);
    }
    free(k);
    free(c);
    return rc;
}

void gv_layout_free(gv_layout *L)
{
    if (!L) return;
    free(L->units);
    free(L->edges), free(L->in_off), free(L->in_edge), free(L->out_off), free(L->out_edge);
    memset(L, 0, sizeof *L);
}

/* CSR index of the edges by one endpoint (child: in-edges, parent: out-edges), in edge order. */
static int edge_index(const gv_layout *L, int by_child, int **off, int **idx)
{
    const int U = L->n_units, E = L->n_edges;
    *off = calloc((size_t)U + 1, sizeof **off);
    *idx = malloc((size_t)E * sizeof **idx);
    if (!*off || !*idx) return -1;
    for (int e = 0; e < E; e++) (*off)[(by_child ? L->edges[e].child : L->edges[e].parent) + 1]++;
    for (int i = 0; i < U; i++) (*off)[i + 1] += (*off)[i];
    int *fill = malloc((size_t)U * sizeof *fill);
    if (!fill) return -1;
    memcpy(fill, *off, (size_t)U * sizeof *fill);
    for (int e = 0; e < E; e++) (*idx)[fill[by_child ? L->edges[e].child : L->edges[e].parent]++] = e;
    free(fill);
    return 0;
}

int gv_layout_add_edges(gv_layout *L, int n, const int *parent, const int *child, char *err)
{
    if (L->n_edges) return gv_err(err, "layout already has edges"), -1;
    if (n < 1) return gv_err(err, "no edges to add"), -1;
    for (int i = 0; i < L->n_units; i++)
        if (L->units[i].kind != GV_UNIT_BERNOULLI)
            return gv_err(err, "hierarchical layouts are all-Bernoulli (unit %d is not)", i), -1;
    for (int e = 0; e < n; e++) {
        if (parent[e] < 0 || child[e] >= L->n_units || parent[e] >= child[e])
            return gv_err(err, "edge %d: %d -> %d is not parent < child within %d units", e, parent[e], child[e],
                          L->n_units), -1;
        for (int f = 0; f < e; f++)
            if (parent[f] == parent[e] && child[f] == child[e])
                return gv_err(err, "edge %d -> %d given twice", parent[e], child[e]), -1;
    }
    if (!(L->edges = malloc((size_t)n * sizeof *L->edges))) return gv_err(err, "out of memory"), -1;
    L->n_unit_params = L->n_params;
    for (int e = 0; e < n; e++) L->edges[e] = (gv_edge){parent[e], child[e], L->n_params + e};
    L->n_edges = n;
    L->n_params += n;
    if (edge_index(L, 1, &L->in_off, &L->in_edge) || edge_index(L, 0, &L->out_off, &L->out_edge))
        return gv_err(err, "out of memory"), -1;
    return 0;
}

const char *gv_unit_kind_names(unsigned kinds, char *buf, size_t len)
{
    buf[0] = 0;
    static const struct { unsigned k; const char *n; } names[] = {
        {GV_UNIT_BERNOULLI, "bernoulli"}, {GV_UNIT_CATEGORICAL, "categorical"}, {GV_UNIT_COUNT, "count"}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (kinds & names[i].k) {
            if (buf[0]) strncat(buf, "/", len - strlen(buf) - 1);
            strncat(buf, names[i].n, len - strlen(buf) - 1);
        }
    return buf;
}

/* ---------------------------------------------------------------- the point */

int gv_point_init(gv_point *pt, const gv_layout *L, const double *eta)
{
    memset(pt, 0, sizeof *pt);
    size_t n = (size_t)L->n_params;
    pt->layout = L;
    pt->eta = malloc(n * sizeof(double));
    pt->prob = malloc(n * sizeof(double));
    pt->comp = malloc(n * sizeof(double));
    pt->cdf = malloc(n * sizeof(double));
    if (!pt->eta || !pt->prob || !pt->comp || !pt->cdf) {
        gv_point_free(pt);
        return -1;
    }
    gv_point_set(pt, eta);
    return 0;
}

void gv_point_set(gv_point *pt, const double *eta)
{
    const gv_layout *L = pt->layout;
    memcpy(pt->eta, eta, (size_t)L->n_params * sizeof(double));
    for (int e = 0; e < L->n_edges; e++) { /* sigma(+-w): finite placeholders, not probabilities (core.h) */
        const int q = L->edges[e].param;
        pt->prob[q] = pt->cdf[q] = gv_sigmoid(eta[q]);
        pt->comp[q] = gv_sigmoid(-eta[q]);
    }
    for (int i = 0; i < L->n_units; i++) {
        const gv_unit *u = &L->units[i];
        const double *e = eta + u->param;
        double *p = pt->prob + u->param, *c = pt->comp + u->param, *F = pt->cdf + u->param;
        if (u->kind == GV_UNIT_BERNOULLI) {
            p[0] = gv_sigmoid(e[0]);
            c[0] = gv_sigmoid(-e[0]);
            F[0] = p[0];
        } else if (u->kind == GV_UNIT_COUNT) { /* rate, or success probability q */
            p[0] = u->family == GV_POISSON ? exp(e[0]) : gv_sigmoid(e[0]);
            c[0] = u->family == GV_POISSON ? 0.0 : gv_sigmoid(-e[0]);
            F[0] = 0;
        } else { /* categorical: stable softmax; 1 - pi_j as the sum of the others */
            int C = u->ncat;
            double m = -INFINITY, s = 0;
            for (int j = 0; j < C; j++)
                if (e[j] > m) m = e[j];
            for (int j = 0; j < C; j++) s += (p[j] = exp(e[j] - m));
            for (int j = 0; j < C; j++) p[j] /= s;
            double acc = 0;
            for (int j = 0; j < C; j++) F[j] = (acc += p[j]);
            F[C - 1] = 1.0;
            for (int j = 0; j < C; j++) {
                double o = 0;
                for (int k = 0; k < C; k++)
                    if (k != j) o += p[k];
                c[j] = o;
            }
        }
    }
}

void gv_point_free(gv_point *pt)
{
    if (!pt) return;
    free(pt->eta);
    free(pt->prob);
    free(pt->comp);
    free(pt->cdf);
    memset(pt, 0, sizeof *pt);
}

double gv_unit_logit(const gv_point *pt, const int *z, int i)
{
    const gv_layout *L = pt->layout;
    double l = pt->eta[L->units[i].param];
    if (!L->n_edges) return l;
    for (int k = L->in_off[i]; k < L->in_off[i + 1]; k++) {
        const gv_edge *e = &L->edges[L->in_edge[k]];
        if (z[e->parent]) l += pt->eta[e->param];
    }
    return l;
}

void gv_hier_theta(const gv_point *pt, const int *z, double *theta, double *comp)
{
    const gv_layout *L = pt->layout;
    for (int i = 0; i < L->n_units; i++) {
        if (!L->n_edges || L->in_off[i] == L->in_off[i + 1]) { /* no parents: the point's own values */
            theta[i] = pt->prob[L->units[i].param];
            if (comp) comp[i] = pt->comp[L->units[i].param];
            continue;
        }
        const double l = gv_unit_logit(pt, z, i);
        theta[i] = gv_sigmoid(l);
        if (comp) comp[i] = gv_sigmoid(-l);
    }
}

double gv_unit_theta(const gv_point *pt, const int *z, int i)
{
    const gv_layout *L = pt->layout;
    return L->n_edges && L->in_off[i] < L->in_off[i + 1] ? gv_sigmoid(gv_unit_logit(pt, z, i))
                                                         : pt->prob[L->units[i].param];
}

void gv_sample_from_uniforms(const gv_point *pt, const double *u, int from, int *z)
{
    const gv_layout *L = pt->layout;
    for (int i = from; i < L->n_units; i++) z[i] = u[i] < gv_unit_theta(pt, z, i);
}

/* Ancestral sampling: uniforms in unit order, each unit's theta given its sampled parents. */
static void sample_hier(const gv_point *pt, gsl_rng *r, int *z)
{
    const gv_layout *L = pt->layout;
    for (int i = 0; i < L->n_units; i++) {
        const double v = gv_uniform(r);
        z[i] = v < gv_unit_theta(pt, z, i);
    }
}

void gv_sample(const gv_point *pt, gsl_rng *r, int *z)
{
    const gv_layout *L = pt->layout;
    if (L->n_edges) {
        sample_hier(pt, r, z);
        return;
    }
    if (L->kinds == GV_UNIT_BERNOULLI) { /* fast path: every parameter is a theta */
        const double *th = pt->prob;
        for (int i = 0; i < L->n_units; i++) z[i] = gv_uniform(r) < th[i];
        return;
    }
    for (int i = 0; i < L->n_units; i++) {
        const gv_unit *u = &L->units[i];
        double v = u->kind == GV_UNIT_COUNT ? 0 : gv_uniform(r);
        if (u->kind == GV_UNIT_BERNOULLI) {
            z[i] = v < pt->prob[u->param];
        } else if (u->kind == GV_UNIT_COUNT) {
            z[i] = gv_count_sample(u, pt->eta[u->param], r);
        } else {
            const double *F = pt->cdf + u->param;
            int lo = 0, hi = u->ncat - 1; /* first j with v < F[j]; F[C-1] = 1 > v */
            if (u->ncat <= 16) {
                while (v >= F[lo]) lo++;
            } else {
                while (lo < hi) {
                    int mid = (lo + hi) >> 1;
                    if (v < F[mid]) hi = mid; else lo = mid + 1;
                }
            }
            z[i] = lo;
        }
    }
}

/* Hierarchical score: s_i = z_i - sigma(l_i(z)) (as sigma(-l) or -sigma(l), no cancellation) on
 * the unit's bias, s_i z_parent on each edge into i. */
static void score_hier(const gv_point *pt, const int *z, double w, double *g)
{
    const gv_layout *L = pt->layout;
    for (int i = 0; i < L->n_units; i++) {
        const int has_pa = L->in_off[i] < L->in_off[i + 1];
        const double l = has_pa ? gv_unit_logit(pt, z, i) : pt->eta[L->units[i].param];
        const double si = z[i] ? gv_sigmoid(-l) : -gv_sigmoid(l);
        g[L->units[i].param] += w * si;
        for (int k = L->in_off[i]; k < L->in_off[i + 1]; k++) {
            const gv_edge *e = &L->edges[L->in_edge[k]];
            if (z[e->parent]) g[e->param] += w * si;
        }
    }
}

void gv_score_axpy(const gv_point *pt, const int *z, double w, double *g)
{
    const gv_layout *L = pt->layout;
    if (L->n_edges) {
        score_hier(pt, z, w, g);
        return;
    }
    if (L->kinds == GV_UNIT_BERNOULLI) {
        const double *th = pt->prob, *cm = pt->comp;
        /* b (1 - theta) - (1 - b) theta, exact for b in {0,1} and branch-free: a branch on b
         * mispredicts half the time at theta = 1/2 and used to cost more than the sampling */
        for (int i = 0; i < L->n_units; i++) {
            double b = z[i];
            g[i] += w * (b * cm[i] - (1.0 - b) * th[i]);
        }
        return;
    }
    for (int i = 0; i < L->n_units; i++) {
        const gv_unit *u = &L->units[i];
        const double *p = pt->prob + u->param;
        double *gi = g + u->param;
        if (u->kind == GV_UNIT_BERNOULLI) {
            gi[0] += w * (z[i] ? pt->comp[u->param] : -p[0]);
        } else if (u->kind == GV_UNIT_COUNT) {
            gi[0] += w * gv_count_score(u, pt->eta[u->param], z[i]);
        } else {
            /* score_j = 1[z = j] - pi_j; at j = z it is 1 - pi_z, kept exact via comp */
            int zi = z[i];
            for (int j = 0; j < u->ncat; j++)
                if (j != zi) gi[j] -= w * p[j];
            gi[zi] += w * pt->comp[u->param + zi];
        }
    }
}

double gv_log_q(const gv_point *pt, const int *z)
{
    const gv_layout *L = pt->layout;
    double s = 0;
    if (L->n_edges) { /* all-Bernoulli: sum_i log sigma(+-l_i(z)) */
        for (int i = 0; i < L->n_units; i++) {
            const double l = gv_unit_logit(pt, z, i);
            s += gv_log_sigmoid(z[i] ? l : -l);
        }
        return s;
    }
    for (int i = 0; i < L->n_units; i++) {
        const gv_unit *u = &L->units[i];
        const double *e = pt->eta + u->param;
        if (u->kind == GV_UNIT_BERNOULLI) {
            s += gv_log_sigmoid(z[i] ? e[0] : -e[0]);
        } else if (u->kind == GV_UNIT_COUNT) {
            s += gv_count_logpmf(u, e[0], z[i]);
        } else {
            s += e[z[i]] - gv_logsumexp(e, u->ncat);
        }
    }
    return s;
}

/* ---------------------------------------------------------------- options */

static char *trim(char *s)
{
    while (isspace((unsigned char)*s)) s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1])) *--e = 0;
    return s;
}

int gv_spec_parse(const char *text, gv_spec *s, char *err)
{
    memset(s, 0, sizeof *s);
    if (!text || !*text) {
        gv_err(err, "empty specification");
        return GV_EUSAGE;
    }
    if (strlen(text) >= sizeof s->buf) {
        gv_err(err, "specification too long (%zu characters, limit %zu)", strlen(text), sizeof s->buf - 1);
        return GV_EUSAGE;
    }
    strcpy(s->buf, text);
    char *colon = strchr(s->buf, ':');
    if (colon) *colon = 0;
    char *name = trim(s->buf);
    if (!*name || strlen(name) >= sizeof s->name) {
        gv_err(err, "bad name in '%s'", text);
        return GV_EUSAGE;
    }
    strcpy(s->name, name);
    if (!colon) return GV_OK;
    char *rest = colon + 1;
    if (!*trim(rest)) return GV_OK;
    for (char *tok = rest; tok;) {
        char *comma = strchr(tok, ',');
        if (comma) *comma = 0;
        char *eq = strchr(tok, '=');
        if (!eq) {
            gv_err(err, "option '%s' in '%s' is not key=value", trim(tok), text);
            return GV_EUSAGE;
        }
        *eq = 0;
        char *k = trim(tok), *v = trim(eq + 1);
        if (!*k || !*v) {
            gv_err(err, "option '%s=%s' in '%s' needs a key and a value", k, v, text);
            return GV_EUSAGE;
        }
        for (int i = 0; i < s->n; i++)
            if (!strcmp(s->key[i], k)) {
                gv_err(err, "option '%s' given twice in '%s'", k, text);
                return GV_EUSAGE;
            }
        if (s->n == GV_MAXOPT) {
            gv_err(err, "too many options in '%s'", text);
            return GV_EUSAGE;
        }
        s->key[s->n] = k;
        s->val[s->n] = v;
        s->n++;
        tok = comma ? comma + 1 : NULL;
    }
    return GV_OK;
}

static void valid_keys(const gv_optdoc *docs, char *buf, size_t len)
{
    buf[0] = 0;
    for (int i = 0; docs && docs[i].key; i++) {
        if (i) strncat(buf, ", ", len - strlen(buf) - 1);
        strncat(buf, docs[i].key, len - strlen(buf) - 1);
    }
    if (!buf[0]) snprintf(buf, len, "(none: it takes no options)");
}

int gv_spec_check(const gv_spec *s, const gv_optdoc *docs, const char *what, char *err)
{
    for (int i = 0; i < s->n; i++) {
        int ok = 0;
        for (int j = 0; docs && docs[j].key; j++)
            if (!strcmp(docs[j].key, s->key[i])) ok = 1;
        if (!ok) {
            char keys[400];
            valid_keys(docs, keys, sizeof keys);
            gv_err(err, "unknown option '%s' for %s '%s'; valid options: %s", s->key[i], what, s->name, keys);
            return GV_EUSAGE;
        }
    }
    return GV_OK;
}

void gv_spec_canonical(const gv_spec *s, char *out, size_t len)
{
    int order[GV_MAXOPT];
    for (int i = 0; i < s->n; i++) order[i] = i;
    for (int i = 1; i < s->n; i++) /* insertion sort by key: few options */
        for (int j = i; j > 0 && strcmp(s->key[order[j - 1]], s->key[order[j]]) > 0; j--) {
            int t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
    snprintf(out, len, "%s", s->name);
    for (int i = 0; i < s->n; i++) {
        size_t l = strlen(out);
        snprintf(out + l, len - l, "%c%s=%s", i ? ',' : ':', s->key[order[i]], s->val[order[i]]);
    }
}

const char *gv_spec_get(const gv_spec *s, const char *key)
{
    for (int i = 0; i < s->n; i++)
        if (!strcmp(s->key[i], key)) return s->val[i];
    return NULL;
}

static int parse_double(const char *v, double *out)
{
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    if (end == v || *end || errno == ERANGE || !isfinite(x)) return -1;
    *out = x;
    return 0;
}

int gv_opt_long(const gv_spec *s, const char *key, long def, long lo, long hi, long *out, char *err)
{
    const char *v = gv_spec_get(s, key);
    if (!v) {
        *out = def;
        return GV_OK;
    }
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (end == v || *end || errno) {
        gv_err(err, "option %s=%s of '%s': not an integer", key, v, s->name);
        return GV_EUSAGE;
    }
    if (x < lo || x > hi) {
        gv_err(err, "option %s=%s of '%s': must be in [%ld, %ld]", key, v, s->name, lo, hi);
        return GV_EUSAGE;
    }
    *out = x;
    return GV_OK;
}

int gv_opt_double(const gv_spec *s, const char *key, double def, double lo, double hi, double *out,
                  char *err)
{
    const char *v = gv_spec_get(s, key);
    if (!v) {
        *out = def;
        return GV_OK;
    }
    double x;
    if (parse_double(v, &x)) {
        gv_err(err, "option %s=%s of '%s': not a finite number", key, v, s->name);
        return GV_EUSAGE;
    }
    if (x < lo || x > hi) {
        gv_err(err, "option %s=%s of '%s': must be in [%g, %g]", key, v, s->name, lo, hi);
        return GV_EUSAGE;
    }
    *out = x;
    return GV_OK;
}

int gv_opt_dlist(const gv_spec *s, const char *key, double lo, double hi, double **out, int *n,
                 char *err)
{
    *out = NULL;
    *n = 0;
    const char *v = gv_spec_get(s, key);
    if (!v) return GV_OK;
    int cap = 1;
    for (const char *c = v; *c; c++) cap += *c == '/';
    double *a = malloc((size_t)cap * sizeof *a);
    char *copy = strdup(v);
    if (!a || !copy) {
        free(a);
        free(copy);
        gv_err(err, "out of memory");
        return GV_EFAIL;
    }
    int k = 0;
    for (char *save = NULL, *t = strtok_r(copy, "/", &save); t; t = strtok_r(NULL, "/", &save)) {
        if (parse_double(trim(t), &a[k]) || a[k] < lo || a[k] > hi) {
            gv_err(err, "option %s=%s of '%s': item '%s' is not a number in [%g, %g] (lists are slash-separated)",
                   key, v, s->name, t, lo, hi);
            free(a);
            free(copy);
            return GV_EUSAGE;
        }
        k++;
    }
    free(copy);
    if (k != cap) {
        gv_err(err, "option %s=%s of '%s': empty list item", key, v, s->name);
        free(a);
        return GV_EUSAGE;
    }
    *out = a;
    *n = k;
    return GV_OK;
}

int gv_opt_choice(const gv_spec *s, const char *key, const char *const *choices, int def, int *out,
                  char *err)
{
    const char *v = gv_spec_get(s, key);
    if (!v) {
        *out = def;
        return GV_OK;
    }
    for (int i = 0; choices[i]; i++)
        if (!strcmp(choices[i], v)) {
            *out = i;
            return GV_OK;
        }
    char buf[300] = "";
    for (int i = 0; choices[i]; i++) {
        if (i) strncat(buf, ", ", sizeof buf - strlen(buf) - 1);
        strncat(buf, choices[i], sizeof buf - strlen(buf) - 1);
    }
    gv_err(err, "option %s=%s of '%s': valid values are %s", key, v, s->name, buf);
    return GV_EUSAGE;
}
