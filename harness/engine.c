/* engine.c — frozen-point mode: warm up learned state (W estimates, adapt after each), freeze it,
 * then draw R i.i.d. estimates in blocks of GV_BLOCK, each block with its own RNG stream and its
 * own copy of the frozen state, in parallel; block statistics merge in block order. */
#include "harness/engine.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness/rng.h"

void gv_row_init(gv_row *row, const gv_problem *p, const char *est_spec, int K, uint64_t seed)
{
    memset(row, 0, sizeof *row);
    snprintf(row->problem, sizeof row->problem, "%s", p->spec);
    snprintf(row->estimator, sizeof row->estimator, "%s", est_spec);
    row->objective = p->type->objective == GV_OBJ_EXPECTATION ? "expectation" : "inclusive-kl";
    row->K = K;
    row->seed = seed;
    row->step = -1;
    row->P = p->layout.n_params;
    row->wrt = "eta";
    row->status = "error";
    gv_summary *s = &row->s;
    double nan = NAN;
    for (double *x = (double *)s; x < (double *)(s + 1); x++) *x = nan;
}

void gv_row_set_step(gv_row *row, long step, uint64_t seed)
{
    for (gv_row *w = row; w; w = w->outer) w->step = step, w->seed = seed;
}

void gv_row_free(gv_row *row)
{
    if (row->outer) {
        gv_row_free(row->outer);
        free(row->outer);
        row->outer = NULL;
    }
    free(row->coord_mean);
    free(row->coord_var);
    free(row->coord_exact);
    row->coord_mean = row->coord_var = row->coord_exact = NULL;
}

long gv_engine_blocks(long R) { return R <= GV_BLOCK ? 1 : (R + GV_BLOCK - 1) / GV_BLOCK; }

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void copy_learned(gv_estimator *dst, const gv_estimator *src)
{
    if (dst->type->copy_learned) dst->type->copy_learned(dst->state, src->state);
}

void gv_evtrack_add(gv_evtrack *t, const int *z, int n_units)
{
    if (t->n == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 64;
        uint64_t *h = realloc(t->h, cap * sizeof *h);
        if (!h) return; /* untracked: distinct_evals then undercounts; only under memory exhaustion */
        t->h = h, t->cap = cap;
    }
    uint64_t x = 0x9e3779b97f4a7c15ULL ^ (uint64_t)n_units;
    for (int i = 0; i < n_units; i++) { /* multiply-xorshift per value; collisions ~ n^2 / 2^64 */
        x = (x ^ (uint64_t)(uint32_t)z[i]) * 0xff51afd7ed558ccdULL;
        x ^= x >> 32;
    }
    t->h[t->n++] = x;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

size_t gv_evtrack_distinct(gv_evtrack *t)
{
    size_t n = t->n, d = 0;
    if (n > 1) qsort(t->h, n, sizeof *t->h, cmp_u64);
    for (size_t i = 0; i < n; i++) d += i == 0 || t->h[i] != t->h[i - 1];
    t->n = 0;
    return d;
}

static double gv_norm(const double *x, int n)
{
    double s = 0;
    for (int i = 0; i < n; i++) s += x[i] * x[i];
    return sqrt(s);
}

/* Merge the blocks (in block order) into bs[0] and fill the row's statistics and status. */
static void finish_row(gv_row *row, gv_block_stats *bs, long nb, const double *gstar, const gv_engine_opts *o,
                       const char *note, int want_coords)
{
    const int P = row->P;
    for (long b = 1; b < nb; b++) gv_block_stats_merge(&bs[0], &bs[b]);
    gv_summarise(&bs[0], gstar, P, &row->s);
    if (!o->timing) row->s.ns_per_estimate = NAN;
    if (row->s.nonfinite > 0) {
        row->status = "nonfinite";
        snprintf(row->message, sizeof row->message, "%.0f of %ld estimates were not finite and are excluded",
                 row->s.nonfinite, o->R);
    } else {
        row->status = "ok";
        snprintf(row->message, sizeof row->message, "%s", note);
    }
    if (row->s.replicates < 2) {
        row->status = "error";
        snprintf(row->message, sizeof row->message, "fewer than 2 finite estimates");
    }
    if (!want_coords) return;
    row->coord_mean = malloc((size_t)P * sizeof(double));
    row->coord_var = malloc((size_t)P * sizeof(double));
    row->coord_exact = malloc((size_t)P * sizeof(double));
    if (!row->coord_mean || !row->coord_var || !row->coord_exact) {
        free(row->coord_mean), free(row->coord_var), free(row->coord_exact);
        row->coord_mean = row->coord_var = row->coord_exact = NULL;
        return;
    }
    double R = bs[0].coord.n;
    for (int q = 0; q < P; q++) {
        row->coord_mean[q] = bs[0].coord.mean[q];
        row->coord_var[q] = R >= 2 ? bs[0].coord.m2[q] / (R - 1) : NAN;
        row->coord_exact[q] = gstar[q];
    }
}

int gv_run_cell(const gv_problem *p, const gv_point *pt, const gv_exact *ex, const char *est_spec,
                int K, const gv_engine_opts *o, int want_coords, gv_row *row, char *msg)
{
    gv_spec es;
    int rc = gv_spec_parse(est_spec, &es, msg);
    if (rc) return rc;
    char canon[GV_SPECLEN];
    gv_spec_canonical(&es, canon, sizeof canon);
    gv_row_init(row, p, canon, K, o->seed);
    /* over the units' own parameters (edge weights of a hierarchical layout are not probabilities) */
    for (int q = 0; q < p->layout.n_unit_params; q++) row->prob_mean += pt->prob[q] / p->layout.n_unit_params;

    gv_estimator *warm = NULL;
    rc = gv_estimator_new(&es, p, K, &warm, msg);
    if (rc == GV_EUSAGE) return rc;
    if (rc) { /* incompatible: a row, not a crash */
        row->status = "incompatible";
        snprintf(row->message, sizeof row->message, "%s", msg);
        return GV_OK;
    }
    /* The estimate's coordinates: eta (n_params), or phi (n_outer) for an estimator that estimates the
     * outer parameters' gradient directly (wrt_phi: sleep).  Twins in row->outer: the phi-gradient mapped
     * through outer_vjp (problems with outer parameters), then the model-marginal phi-reference of an
     * inclusive-KL problem that has one (wrt=phi-marginal). */
    const int wphi = warm->type->wrt_phi, Q = p->n_outer;
    const int P = wphi ? Q : p->layout.n_params;
    const int QO = Q && !wphi ? Q : 0, QM = ex->marg_grad ? Q : 0;
    if (wphi) row->wrt = "phi", row->P = P;
    gv_eval ev0 = {.problem = p, .pt = pt, .phi = p->phi, .exact = ex};

    /* Warm-up: W estimates with adapt after each.  An estimator without learned state but with
     * copy_learned (caches that are a function of the point, e.g. CARMS-I's weight tables) gets one
     * estimate, so that every block starts from the filled cache instead of rebuilding it. */
    const long W = warm->type->adapt ? o->W : warm->type->copy_learned ? 1 : 0;
    if (W > 0) {
        gsl_rng *r = gv_rng_new(o->rng, gv_stream_seed(o->seed, p->spec, canon, K, 0, GV_STREAM_WARMUP));
        double *g = malloc((size_t)P * sizeof(double));
        if (!r || !g) {
            gsl_rng_free(r), free(g), gv_estimator_free(warm);
            snprintf(row->message, sizeof row->message, "out of memory");
            return GV_OK;
        }
        gv_eval evw = ev0; /* warm-up work is not counted in the row */
        for (long w = 0; w < W; w++) {
            memset(g, 0, (size_t)P * sizeof(double));
            warm->type->estimate(warm->state, &evw, K, r, g);
            if (warm->type->adapt) warm->type->adapt(warm->state, &evw);
        }
        gsl_rng_free(r);
        free(g);
    }

    const long nb = gv_engine_blocks(o->R);
    gv_block_stats *bs = calloc((size_t)nb, sizeof *bs), *bo = QO ? calloc((size_t)nb, sizeof *bo) : NULL;
    gv_block_stats *bm = QM ? calloc((size_t)nb, sizeof *bm) : NULL;
    int *bfail = calloc((size_t)nb, sizeof *bfail);
    double *ophi = Q ? malloc((size_t)Q * sizeof(double)) : NULL; /* exact phi-gradient */
    if (!bs || !bfail || (QO && !bo) || (QM && !bm) || (Q && !ophi)) {
        free(bs), free(bo), free(bm), free(bfail), free(ophi), gv_estimator_free(warm);
        snprintf(row->message, sizeof row->message, "out of memory");
        return GV_OK;
    }
    if (Q) p->type->outer_vjp(p, ex->grad, ophi);
    const double *gmain = wphi ? ophi : ex->grad;
    long done = 0;
    char note[GV_ERRLEN] = ""; /* the estimator's remark (same for every block at a frozen point) */
#pragma omp parallel for schedule(dynamic, 1)
    for (long b = 0; b < nb; b++) {
        long r0 = o->R * b / nb, r1 = o->R * (b + 1) / nb;
        int B = (int)(r1 - r0);
        char bmsg[GV_ERRLEN];
        gv_estimator *e = NULL;
        gsl_rng *r = gv_rng_new(o->rng, gv_stream_seed(o->seed, p->spec, canon, K, b, GV_STREAM_REPLICATE));
        double *G = malloc((size_t)B * P * sizeof(double));
        double *GO = QO ? malloc((size_t)B * Q * sizeof(double)) : NULL;
        if (gv_block_stats_init(&bs[b], P) || (QO && (gv_block_stats_init(&bo[b], Q) || !GO)) ||
            (QM && gv_block_stats_init(&bm[b], Q)) || !r || !G || gv_estimator_new(&es, p, K, &e, bmsg)) {
            bfail[b] = 1;
        } else {
            copy_learned(e, warm);
            gv_evtrack tr = {0};
            gv_eval ev = ev0;
            ev.track = &tr;
            int n = 0;
            double t0 = now_ns(), nd = 0;
            for (int i = 0; i < B; i++) {
                double *g = G + (size_t)n * P;
                memset(g, 0, (size_t)P * sizeof(double));
                if (e->type->estimate(e->state, &ev, K, r, g)) {
                    bfail[b] = 2;
                    break;
                }
                nd += (double)gv_evtrack_distinct(&tr);
                int finite = 1;
                for (int q = 0; q < P; q++) finite &= isfinite(g[q]) != 0;
                if (finite) n++;
                else bs[b].nonfinite++;
            }
            bs[b].ns = now_ns() - t0;
            bs[b].n_f = (double)ev.n_f;
            bs[b].n_ftilde = (double)ev.n_ftilde;
            bs[b].n_grad = (double)ev.n_grad;
            /* inclusive-KL estimators evaluate log p(x | z) inside the SMC sampler's callbacks, not
             * through gv_eval_f: their distinct points are not tracked (NaN: an empty column) */
            bs[b].n_distinct = p->type->objective == GV_OBJ_INCLUSIVE_KL ? NAN : nd;
            free(tr.h);
            gv_block_stats_add(&bs[b], G, n, gmain, gv_norm(gmain, P));
            gv_block_stats *twin[2] = {QO ? &bo[b] : NULL, QM ? &bm[b] : NULL};
            if (QO)
                for (int i = 0; i < n; i++) p->type->outer_vjp(p, G + (size_t)i * P, GO + (size_t)i * Q);
            for (int t = 0; t < 2; t++) {
                gv_block_stats *w = twin[t];
                if (!w) continue;
                w->nonfinite = bs[b].nonfinite, w->ns = bs[b].ns;
                w->n_f = bs[b].n_f, w->n_ftilde = bs[b].n_ftilde, w->n_grad = bs[b].n_grad;
                w->n_distinct = bs[b].n_distinct;
                const double *gs = t == 0 ? ophi : ex->marg_grad;
                gv_block_stats_add(w, wphi ? G : GO, n, gs, gv_norm(gs, Q));
            }
        }
        if (b == 0 && e && e->type->note) e->type->note(e->state, note, sizeof note);
        gv_estimator_free(e);
        free(G);
        free(GO);
        gsl_rng_free(r);
        if (o->progress) {
#pragma omp critical(gv_progress)
            o->progress(o->progress_ctx, ++done);
        }
    }
    gv_estimator_free(warm);

    int fail = 0;
    for (long b = 0; b < nb; b++)
        if (bfail[b]) fail = bfail[b];
    if (fail) {
        snprintf(row->message, sizeof row->message,
                 fail == 2 ? "the estimator reported a failure" : "out of memory");
    } else {
        finish_row(row, bs, nb, gmain, o, note, want_coords);
        gv_row *last = row;
        for (int t = 0; t < 2; t++) {
            gv_block_stats *w = t == 0 ? bo : bm;
            if (!w || !(last->outer = malloc(sizeof *last->outer))) continue;
            gv_row *ro = last->outer;
            *ro = *row;
            ro->wrt = t == 0 ? "phi" : "phi-marginal";
            ro->P = Q;
            ro->outer = NULL;
            ro->coord_mean = ro->coord_var = ro->coord_exact = NULL;
            finish_row(ro, w, nb, t == 0 ? ophi : ex->marg_grad, o, note, want_coords);
            last = ro;
        }
    }
    for (long b = 0; b < nb; b++) {
        gv_block_stats_free(&bs[b]);
        if (QO) gv_block_stats_free(&bo[b]);
        if (QM) gv_block_stats_free(&bm[b]);
    }
    free(bs);
    free(bo);
    free(bm);
    free(bfail);
    free(ophi);
    return GV_OK;
}
