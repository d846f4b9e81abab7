/* registry.c — the problem table (alphabetical, NULL-terminated) and the generic lifecycle.
 * Adding a problem: one new file defining `const gv_problem_type gv_prob_NAME`, one row. */
#include "problems/problem.h"

#include <stdlib.h>
#include <string.h>

extern const gv_problem_type gv_prob_bernoulli_coupled, gv_prob_bernoulli_quadratic, gv_prob_bernoulli_shared,
    gv_prob_categorical_abs, gv_prob_categorical_arsm, gv_prob_categorical_coupled, gv_prob_categorical_linear,
    gv_prob_cluster_posterior, gv_prob_count_quadratic, gv_prob_sbn, gv_prob_sbn_posterior;

const gv_problem_type *const gv_problem_types[] = {
    &gv_prob_bernoulli_coupled,
    &gv_prob_bernoulli_quadratic,
    &gv_prob_bernoulli_shared,
    &gv_prob_categorical_abs,
    &gv_prob_categorical_arsm,
    &gv_prob_categorical_coupled,
    &gv_prob_categorical_linear,
    &gv_prob_cluster_posterior,
    &gv_prob_count_quadratic,
    &gv_prob_sbn,
    &gv_prob_sbn_posterior,
    NULL,
};

const gv_problem_type *gv_problem_find(const char *name)
{
    for (const gv_problem_type *const *t = gv_problem_types; *t; t++)
        if (!strcmp((*t)->name, name)) return *t;
    return NULL;
}

int gv_problem_registry_check(char *err)
{
    for (const gv_problem_type *const *t = gv_problem_types; *t; t++) {
        const gv_problem_type *e = *t;
        const int ikl = e->objective == GV_OBJ_INCLUSIVE_KL;
        if (!e->name || !e->description || !e->citation || !e->init || !e->objective ||
            (ikl ? e->f || e->f_at : !e->f == !e->f_at))
            return gv_err(err, "problem registry: entry '%s' lacks a required field or hook (or gives both f and f_at, "
                          "or f on an inclusive-KL problem)", e->name ? e->name : "(unnamed)"), GV_EFAIL;
        if (ikl != (e->ikl != NULL) ||
            (ikl && (!e->exact_grad || !e->ikl->log_prior || !e->ikl->log_lik || !e->ikl->sample_prior ||
                     !e->ikl->log_marginal || (e->ikl->smc_target && !e->ikl->smc_ctx_size) ||
                     !e->ikl->sample_joint != !e->ikl->score_phi)))
            return gv_err(err, "problem registry: '%s': an inclusive-KL problem needs exact_grad and the ikl hooks "
                          "log_prior, log_lik, sample_prior, log_marginal (and sample_joint with score_phi, or neither); "
                          "other problems must not have them", e->name), GV_EFAIL;
        if (!e->ftilde != !e->grad_ftilde || !e->ftilde_at != !e->grad_ftilde_at || (e->ftilde && e->ftilde_at))
            return gv_err(err, "problem registry: '%s' must give both f~ and its gradient (plain or _at), or neither",
                          e->name), GV_EFAIL;
        if (t != gv_problem_types && strcmp(t[-1]->name, e->name) >= 0)
            return gv_err(err, "problem registry: '%s' and '%s' are duplicated or out of order", t[-1]->name,
                          e->name), GV_EFAIL;
    }
    return GV_OK;
}

int gv_problem_new(const char *spec_text, gv_problem **out, char *err)
{
    *out = NULL;
    gv_spec spec;
    int rc = gv_spec_parse(spec_text, &spec, err);
    if (rc) return rc;
    const gv_problem_type *t = gv_problem_find(spec.name);
    if (!t) {
        char names[1024] = "";
        for (const gv_problem_type *const *q = gv_problem_types; *q; q++) {
            if (q != gv_problem_types) strncat(names, ", ", sizeof names - strlen(names) - 1);
            strncat(names, (*q)->name, sizeof names - strlen(names) - 1);
        }
        gv_err(err, "unknown problem '%s'; valid problems: %s", spec.name, names);
        return GV_EUSAGE;
    }
    if (gv_spec_check(&spec, t->options, "problem", err)) return GV_EUSAGE;
    gv_problem *p = calloc(1, sizeof *p);
    if (!p || !(p->state = calloc(1, t->state_size ? t->state_size : 1))) {
        free(p);
        return gv_err(err, "out of memory"), GV_EFAIL;
    }
    p->type = t;
    gv_spec_canonical(&spec, p->spec, sizeof p->spec);
    rc = t->init(p, &spec, err);
    if (!rc && p->n_outer > 0 && (!p->phi || !t->outer_map || !t->outer_vjp))
        rc = GV_EFAIL, gv_err(err, "problem '%s' declares outer parameters without phi0, outer_map and outer_vjp",
                              t->name);
    if (!rc && p->n_model > 0 && (!t->model_get || !t->model_set || !t->model_grad))
        rc = GV_EFAIL, gv_err(err, "problem '%s' declares model parameters without model_get, model_set and model_grad",
                              t->name);
    if (rc) {
        gv_problem_free(p);
        return rc == GV_EUSAGE ? GV_EUSAGE : GV_EFAIL;
    }
    return *out = p, GV_OK;
}

void gv_problem_free(gv_problem *p)
{
    if (!p) return;
    if (p->type && p->type->free) p->type->free(p->state);
    free(p->state);
    gv_layout_free(&p->layout);
    free(p->eta);
    free(p->phi);
    free(p);
}
