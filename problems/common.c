/* common.c — option helpers shared by problem files. */
#include "problems/common.h"

#include <math.h>
#include <stdlib.h>
#include <gsl/gsl_randist.h>

#include "harness/rng.h"

gsl_rng *gv_problem_rng(unsigned long seed, const char *problem_name)
{
    return gv_rng_new(gv_rng_xoshiro256ss, gv_stream_seed(seed, problem_name, "", 0, 0, GV_STREAM_PROBLEM));
}

int gv_bernoulli_logits(const gv_spec *s, int D, double p_default, double *eta, char *err)
{
    double *v = NULL;
    int n = 0, rc;
    if (gv_spec_get(s, "logit") && gv_spec_get(s, "p"))
        return gv_err(err, "problem '%s': give either p= or logit=, not both", s->name), GV_EUSAGE;
    int use_logit = gv_spec_get(s, "logit") != NULL;
    if (use_logit)
        rc = gv_opt_dlist(s, "logit", -700, 700, &v, &n, err);
    else
        rc = gv_opt_dlist(s, "p", 0, 1, &v, &n, err);
    if (rc) return rc;
    if (n && n != 1 && n != D) {
        free(v);
        return gv_err(err, "problem '%s': %s= has %d values; give 1 or D=%d", s->name, use_logit ? "logit" : "p",
                      n, D), GV_EUSAGE;
    }
    for (int i = 0; i < D; i++) {
        if (use_logit) {
            eta[i] = v[n == 1 ? 0 : i];
        } else {
            double p = n ? v[n == 1 ? 0 : i] : p_default;
            if (!(p > 0 && p < 1)) {
                free(v);
                return gv_err(err, "problem '%s': p=%g must be strictly inside (0,1) (use logit= for extremes)",
                              s->name, p), GV_EUSAGE;
            }
            eta[i] = log(p) - log1p(-p);
        }
    }
    free(v);
    return GV_OK;
}

int gv_categorical_logits(const gv_spec *s, int D, int C, double alpha, unsigned long seed, double *eta,
                          char *err)
{
    double *v = NULL;
    int n = 0;
    int rc = gv_opt_dlist(s, "p", 0, 1, &v, &n, err);
    if (rc) return rc;
    if (n) {
        if (n != C && n != D * C) {
            free(v);
            return gv_err(err, "problem '%s': p= has %d values; give C=%d (shared by every unit) or D*C=%d", s->name,
                          n, C, D * C), GV_EUSAGE;
        }
        for (int d = 0; d < D; d++) {
            const double *row = v + (n == C ? 0 : d * C);
            double sum = 0;
            for (int c = 0; c < C; c++) sum += row[c];
            if (fabs(sum - 1) > 1e-9) {
                free(v);
                return gv_err(err, "problem '%s': p= row of unit %d sums to %.12g, not 1", s->name, d, sum), GV_EUSAGE;
            }
            for (int c = 0; c < C; c++) {
                if (!(row[c] > 0)) {
                    free(v);
                    return gv_err(err, "problem '%s': p= gives class %d of unit %d probability 0; every class needs p > 0",
                                  s->name, c, d), GV_EUSAGE;
                }
                eta[d * C + c] = log(row[c]);
            }
        }
        free(v);
        return GV_OK;
    }
    gsl_rng *r = gv_problem_rng(seed, s->name);
    if (!r) return gv_err(err, "out of memory"), GV_EFAIL;
    double *a = malloc((size_t)C * sizeof *a), *pi = malloc((size_t)C * sizeof *pi);
    if (!a || !pi) {
        free(a), free(pi), gsl_rng_free(r);
        return gv_err(err, "out of memory"), GV_EFAIL;
    }
    for (int c = 0; c < C; c++) a[c] = alpha;
    for (int d = 0; d < D; d++) {
        /* tiny alpha can underflow a class to 0: floor it so that every logit is finite */
        gsl_ran_dirichlet(r, (size_t)C, a, pi);
        double sum = 0;
        for (int c = 0; c < C; c++) {
            if (pi[c] < 1e-300) pi[c] = 1e-300;
            sum += pi[c];
        }
        for (int c = 0; c < C; c++) eta[d * C + c] = log(pi[c] / sum);
    }
    free(a), free(pi), gsl_rng_free(r);
    return GV_OK;
}
