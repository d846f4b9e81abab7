/* stats.c — accumulators and summaries.  Definitions are DESIGN.md's "Statistics". */
#include "harness/stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void gv_welford_merge(gv_welford *a, const gv_welford *b)
{
    if (b->n == 0) return;
    if (a->n == 0) {
        *a = *b;
        return;
    }
    double n = a->n + b->n, d = b->mean - a->mean;
    a->mean += d * (b->n / n);
    a->m2 += b->m2 + d * d * (a->n * b->n / n);
    a->n = n;
}

double gv_welford_var(const gv_welford *w) { return w->n >= 2 ? w->m2 / (w->n - 1) : NAN; }

int gv_vwelford_init(gv_vwelford *w, int P)
{
    w->P = P;
    w->n = 0;
    w->mean = calloc((size_t)P, sizeof(double));
    w->m2 = calloc((size_t)P, sizeof(double));
    if (!w->mean || !w->m2) {
        gv_vwelford_free(w);
        return -1;
    }
    return 0;
}

void gv_vwelford_free(gv_vwelford *w)
{
    free(w->mean);
    free(w->m2);
    w->mean = w->m2 = NULL;
}

void gv_vwelford_add(gv_vwelford *w, const double *x)
{
    w->n += 1;
    double inv = 1.0 / w->n;
    for (int p = 0; p < w->P; p++) {
        double d = x[p] - w->mean[p];
        w->mean[p] += d * inv;
        w->m2[p] += d * (x[p] - w->mean[p]);
    }
}

void gv_vwelford_merge(gv_vwelford *a, const gv_vwelford *b)
{
    if (b->n == 0) return;
    if (a->n == 0) {
        a->n = b->n;
        memcpy(a->mean, b->mean, (size_t)a->P * sizeof(double));
        memcpy(a->m2, b->m2, (size_t)a->P * sizeof(double));
        return;
    }
    double n = a->n + b->n, fb = b->n / n, fab = a->n * b->n / n;
    for (int p = 0; p < a->P; p++) {
        double d = b->mean[p] - a->mean[p];
        a->mean[p] += d * fb;
        a->m2[p] += b->m2[p] + d * d * fab;
    }
    a->n = n;
}

int gv_block_stats_init(gv_block_stats *b, int P)
{
    memset(b, 0, sizeof *b);
    return gv_vwelford_init(&b->coord, P);
}

void gv_block_stats_free(gv_block_stats *b) { gv_vwelford_free(&b->coord); }

void gv_block_stats_merge(gv_block_stats *a, const gv_block_stats *b)
{
    gv_vwelford_merge(&a->coord, &b->coord);
    gv_welford_merge(&a->sqerr, &b->sqerr);
    gv_welford_merge(&a->cosine, &b->cosine);
    gv_welford_merge(&a->dvar, &b->dvar);
    a->nonfinite += b->nonfinite;
    a->n_f += b->n_f;
    a->n_ftilde += b->n_ftilde;
    a->n_grad += b->n_grad;
    a->n_distinct += b->n_distinct;
    a->ns += b->ns;
}

void gv_block_stats_add(gv_block_stats *s, const double *G, int B, const double *gstar, double gstar_norm)
{
    int P = s->coord.P;
    gv_vwelford blk;
    if (gv_vwelford_init(&blk, P)) return;
    for (int r = 0; r < B; r++) {
        const double *g = G + (size_t)r * P;
        gv_vwelford_add(&blk, g);
        double se = 0, dot = 0, nn = 0;
        for (int p = 0; p < P; p++) {
            double e = g[p] - gstar[p];
            se += e * e;
            dot += g[p] * gstar[p];
            nn += g[p] * g[p];
        }
        gv_welford_add(&s->sqerr, se);
        if (gstar_norm > 0) gv_welford_add(&s->cosine, nn > 0 ? dot / (sqrt(nn) * gstar_norm) : 0.0);
    }
    /* Influence terms for the SE of var_mean: var_mean is asymptotically the mean of
     * psi_r = (1/P) sum_p (g_rp - mu_p)^2; centring at the block mean costs a factor (B-1)/B,
     * undone here so that E d_r = var_mean exactly. */
    if (B >= 2) {
        double scale = (double)B / (B - 1) / P;
        for (int r = 0; r < B; r++) {
            const double *g = G + (size_t)r * P;
            double d = 0;
            for (int p = 0; p < P; p++) {
                double e = g[p] - blk.mean[p];
                d += e * e;
            }
            gv_welford_add(&s->dvar, d * scale);
        }
    }
    gv_vwelford_merge(&s->coord, &blk);
    gv_vwelford_free(&blk);
}

void gv_summarise(const gv_block_stats *s, const double *gstar, int P, gv_summary *o)
{
    double R = s->coord.n;
    memset(o, 0, sizeof *o);
    o->replicates = R;
    o->nonfinite = s->nonfinite;
    double tot = R + s->nonfinite;
    double en = 0;
    for (int p = 0; p < P; p++) en += gstar[p] * gstar[p];
    o->exact_norm = sqrt(en);
    o->f_evals = tot > 0 ? s->n_f / tot : NAN;
    o->ftilde_evals = tot > 0 ? s->n_ftilde / tot : NAN;
    o->grad_evals = tot > 0 ? s->n_grad / tot : NAN;
    o->distinct_evals = tot > 0 ? s->n_distinct / tot : NAN;
    o->ns_per_estimate = tot > 0 ? s->ns / tot : NAN;
    if (R < 2) {
        o->var_mean = o->var_mean_se = o->var_sum = o->var_max = o->log10_var_mean = NAN;
        o->bias2 = o->bias2_raw = o->bias_z_max = o->mse = o->cos_mean = o->cos_var = NAN;
        o->snr = o->work_norm_var = NAN;
        return;
    }
    double vsum = 0, vmax = 0, b2 = 0, zmax = 0, snr = 0;
    int nsnr = 0;
    for (int p = 0; p < P; p++) {
        double v = s->coord.m2[p] / (R - 1);
        if (v < 0) v = 0;
        vsum += v;
        if (v > vmax) vmax = v;
        double d = s->coord.mean[p] - gstar[p];
        b2 += d * d;
        double sd = sqrt(v), z;
        /* Floating-point floor: estimates and the exact value are each computed to ~1e-16
         * relative; an estimator with (near) zero variance - e.g. the optimal baseline in 1-D -
         * must not be flagged for rounding.  The SE is never taken below GV_FP_RESOLUTION times
         * the coordinate's magnitude. */
        double mag = fabs(gstar[p]) + sqrt(v + s->coord.mean[p] * s->coord.mean[p]);
        double se = sqrt(v / R + GV_FP_RESOLUTION * GV_FP_RESOLUTION * mag * mag);
        if (se > 0) z = fabs(d) / se;
        else z = d == 0 ? 0 : INFINITY;
        if (sd > 0) {
            snr += fabs(s->coord.mean[p]) / sd;
            nsnr++;
        }
        if (z > zmax) zmax = z;
    }
    o->var_sum = vsum;
    o->var_mean = vsum / P;
    o->var_max = vmax;
    o->log10_var_mean = o->var_mean > 0 ? log10(o->var_mean) : NAN;
    o->var_mean_se = s->dvar.n >= 2 ? sqrt(gv_welford_var(&s->dvar) / s->dvar.n) : NAN;
    o->bias2_raw = b2;
    o->bias2 = b2 - vsum / R;
    o->bias_z_max = zmax;
    o->mse = s->sqerr.mean;
    o->cos_mean = s->cosine.n > 0 ? s->cosine.mean : NAN;
    o->cos_var = s->cosine.n >= 2 ? gv_welford_var(&s->cosine) : NAN;
    o->snr = nsnr ? snr / nsnr : NAN;
    /* variance at an equal evaluation budget: f, f~ and grad f~ evaluations all count as one
     * (relaxations evaluate no f at all, so var x f_evals alone would call them free) */
    o->work_norm_var = o->var_mean * (o->f_evals + o->ftilde_evals + o->grad_evals);
}
