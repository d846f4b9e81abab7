/* registry.c — the estimator table (alphabetical, NULL-terminated) and the generic lifecycle.
 * Adding an estimator: one new file defining `const gv_estimator_type gv_est_NAME`, one row. */
#include "estimators/estimator.h"

#include <stdlib.h>
#include <string.h>

extern const gv_estimator_type gv_est_arsm; /* arsm.c */
extern const gv_estimator_type gv_est_carms, gv_est_carms_gumbel; /* carms.c */
extern const gv_estimator_type gv_est_gengs, gv_est_reinforce, gv_est_reinforce_ema, gv_est_reinforce_mean,
    gv_est_reinforce_optimal, gv_est_rloo, gv_est_st_gengs, gv_est_tokui_sato;
extern const gv_estimator_type gv_est_gumbel_rao, gv_est_gumbel_softmax, gv_est_rebar, gv_est_relax, gv_est_st,
    gv_est_st_gumbel; /* relaxed.c, rebar.c */
extern const gv_estimator_type gv_est_double_cv, gv_est_leg, gv_est_muprop; /* double_cv.c, leg.c, muprop.c */
extern const gv_estimator_type gv_est_ar, gv_est_arm, gv_est_arms, gv_est_arms_normal,
    gv_est_disarm; /* ar.c, arm.c, arms.c, disarm.c */
extern const gv_estimator_type gv_est_rws_defensive, gv_est_rws_wake, gv_est_sleep; /* rws.c */
extern const gv_estimator_type gv_est_smc_naive, gv_est_smc_pimh, gv_est_smc_wake_a, gv_est_smc_wake_b,
    gv_est_smc_wake_c; /* smc_wake.c */

const gv_estimator_type *const gv_estimator_types[] = {
    &gv_est_ar,
    &gv_est_arm,
    &gv_est_arms,
    &gv_est_arms_normal,
    &gv_est_arsm,
    &gv_est_carms,
    &gv_est_carms_gumbel,
    &gv_est_disarm,
    &gv_est_double_cv,
    &gv_est_gengs,
    &gv_est_gumbel_rao,
    &gv_est_gumbel_softmax,
    &gv_est_leg,
    &gv_est_muprop,
    &gv_est_rebar,
    &gv_est_reinforce,
    &gv_est_reinforce_ema,
    &gv_est_reinforce_mean,
    &gv_est_reinforce_optimal,
    &gv_est_relax,
    &gv_est_rloo,
    &gv_est_rws_defensive,
    &gv_est_rws_wake,
    &gv_est_sleep,
    &gv_est_smc_naive,
    &gv_est_smc_pimh,
    &gv_est_smc_wake_a,
    &gv_est_smc_wake_b,
    &gv_est_smc_wake_c,
    &gv_est_st,
    &gv_est_st_gengs,
    &gv_est_st_gumbel,
    &gv_est_tokui_sato,
    NULL,
};

const gv_estimator_type *gv_estimator_find(const char *name)
{
    for (const gv_estimator_type *const *t = gv_estimator_types; *t; t++)
        if (!strcmp((*t)->name, name)) return *t;
    return NULL;
}

int gv_estimator_registry_check(char *err)
{
    for (const gv_estimator_type *const *t = gv_estimator_types; *t; t++) {
        const gv_estimator_type *e = *t;
        if (!e->name || !e->description || !e->citation || !e->init || !e->estimate || !e->cost ||
            e->min_K < 1 || e->K_multiple < 1 || !e->units || !e->objective ||
            (e->wrt_phi && e->objective != GV_OBJ_INCLUSIVE_KL))
            return gv_err(err, "estimator registry: entry '%s' lacks a required field or hook",
                          e->name ? e->name : "(unnamed)"), GV_EFAIL;
        if (e->hierarchical && e->layerwise)
            return gv_err(err, "estimator registry: '%s' is both hierarchical and layerwise", e->name), GV_EFAIL;
        if (e->layerwise && !(e->units & GV_UNIT_BERNOULLI))
            return gv_err(err, "estimator registry: '%s' is layerwise but has no Bernoulli units", e->name), GV_EFAIL;
        if (e->adapt && !e->copy_learned)
            return gv_err(err, "estimator registry: '%s' adapts but cannot copy its learned state", e->name),
                   GV_EFAIL;
        if (t != gv_estimator_types && strcmp(t[-1]->name, e->name) >= 0)
            return gv_err(err, "estimator registry: '%s' and '%s' are duplicated or out of order",
                          t[-1]->name, e->name), GV_EFAIL;
    }
    return GV_OK;
}

static void valid_names(char *buf, size_t len)
{
    buf[0] = 0;
    for (const gv_estimator_type *const *t = gv_estimator_types; *t; t++) {
        if (t != gv_estimator_types) strncat(buf, ", ", len - strlen(buf) - 1);
        strncat(buf, (*t)->name, len - strlen(buf) - 1);
    }
}

/* The estimators declaring `hierarchical` (layerwise = 0) or `layerwise` (1), comma-separated. */
static void names_with(int layerwise, char *buf, size_t len)
{
    buf[0] = 0;
    for (const gv_estimator_type *const *t = gv_estimator_types; *t; t++)
        if (layerwise ? (*t)->layerwise : (*t)->hierarchical) {
            if (buf[0]) strncat(buf, ", ", len - strlen(buf) - 1);
            strncat(buf, (*t)->name, len - strlen(buf) - 1);
        }
}

int gv_estimator_compatible(const gv_estimator_type *t, const gv_problem *p, int K, char *msg)
{
    char a[64], b[64];
    if (t->objective != p->type->objective) {
        static const char *const kind[] = {"?", "expectation", "inclusive-kl"};
        return gv_err(msg, "%s estimates the %s objective; problem %s has objective kind %s", t->name,
                      kind[t->objective == GV_OBJ_INCLUSIVE_KL ? 2 : 1], p->type->name,
                      kind[p->type->objective == GV_OBJ_INCLUSIVE_KL ? 2 : 1]), -1;
    }
    if (t->wrt_phi && (p->n_outer == 0 || !p->type->ikl || !p->type->ikl->sample_joint || p->x_dim < 1))
        return gv_err(msg, "%s estimates a gradient in the outer parameters phi of an amortised q(z | x) from simulated "
                      "data; problem %s has no amortised encoder it can simulate for", t->name, p->type->name), -1;
    if ((p->layout.kinds & ~t->units) != 0)
        return gv_err(msg, "%s supports %s units; problem %s has %s units", t->name,
                      gv_unit_kind_names(t->units, a, sizeof a), p->type->name,
                      gv_unit_kind_names(p->layout.kinds, b, sizeof b)), -1;
    if (gv_layout_hierarchical(&p->layout) && !t->hierarchical && !t->layerwise) {
        char nat[240], lw[240];
        names_with(0, nat, sizeof nat);
        names_with(1, lw, sizeof lw);
        return gv_err(msg, "%s assumes independent units (neither hierarchical nor checked for the layer-wise driver), "
                      "but problem %s has a hierarchical layout (%d edges between latent units); estimators for "
                      "hierarchical layouts: %s; layer by layer: %s", t->name, p->type->name, p->layout.n_edges, nat, lw),
               -1;
    }
    if ((t->needs & GV_NEED_FTILDE) && !gv_problem_has_ftilde(p))
        return gv_err(msg, "%s needs a continuous extension f~, which problem %s does not provide", t->name,
                      p->type->name), -1;
    if ((t->needs & GV_NEED_GRAD_FTILDE) && !gv_problem_has_grad_ftilde(p))
        return gv_err(msg, "%s needs the gradient of f~, which problem %s does not provide", t->name,
                      p->type->name), -1;
    if (K < t->min_K)
        return gv_err(msg, "%s needs K >= %d (got K=%d)", t->name, t->min_K, K), -1;
    if (K % t->K_multiple)
        return gv_err(msg, "%s needs K to be a multiple of %d (got K=%d)", t->name, t->K_multiple, K), -1;
    return 0;
}

int gv_estimator_new(const gv_spec *spec, const gv_problem *p, int K, gv_estimator **out, char *msg)
{
    *out = NULL;
    const gv_estimator_type *t = gv_estimator_find(spec->name);
    if (!t) {
        char names[1024];
        valid_names(names, sizeof names);
        gv_err(msg, "unknown estimator '%s'; valid estimators: %s", spec->name, names);
        return GV_EUSAGE;
    }
    if (gv_spec_check(spec, t->options, "estimator", msg)) return GV_EUSAGE;
    if (gv_estimator_compatible(t, p, K, msg)) return -1;
    /* a hierarchical layout and an estimator for factorised ones: the layer-wise driver (layerwise.c) */
    const int lw = gv_layout_hierarchical(&p->layout) && !t->hierarchical;
    const size_t size = lw ? gv_layerwise_state_size : t->state_size ? t->state_size : 1;
    gv_estimator *e = calloc(1, sizeof *e);
    if (!e || !(e->state = calloc(1, size))) {
        free(e);
        gv_err(msg, "out of memory");
        return GV_EFAIL;
    }
    e->type = t;
    e->K = K;
    gv_spec_canonical(spec, e->spec, sizeof e->spec);
    int rc = lw ? gv_layerwise_init(e, spec, p, K, msg) : t->init(e->state, spec, p, K, msg);
    if (rc) {
        if (e->type->free) e->type->free(e->state);
        free(e->state);
        free(e);
        return rc == GV_EUSAGE ? GV_EUSAGE : GV_EFAIL;
    }
    *out = e;
    return GV_OK;
}

void gv_estimator_free(gv_estimator *e)
{
    if (!e) return;
    if (e->type->free) e->type->free(e->state);
    free(e->state);
    free(e);
}
