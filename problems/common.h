/* common.h — option helpers shared by problem files (parameters of the units). */
#ifndef GV_PROBLEMS_COMMON_H
#define GV_PROBLEMS_COMMON_H

#include "problems/problem.h"

/* Bernoulli logits for D units from options `logit` (one value or D values) or `p` (theta, one
 * value or D values, in (0,1)); neither given: p_default.  eta must hold D doubles. */
int gv_bernoulli_logits(const gv_spec *s, int D, double p_default, double *eta, char *err);

/* Categorical logits for D units of C classes from option `p` (C or D*C probabilities,
 * slash-separated, each unit's row summing to 1) or else pi ~ Dirichlet(alpha 1) drawn with
 * `seed`.  eta must hold D*C doubles (log pi). */
int gv_categorical_logits(const gv_spec *s, int D, int C, double alpha, unsigned long seed, double *eta,
                          char *err);

/* A seeded generator for building problem instances (independent of the run's streams). */
gsl_rng *gv_problem_rng(unsigned long seed, const char *problem_name);

#endif
