/* main.c — the gradvar command line: list, exact, run, train, smc, describe, bench. */
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_errno.h>

#include "gv_githash.h"
#include "harness/cli.h"
#include "harness/exact.h"
#include "harness/output.h"

static const char usage[] =
    "gradvar " GV_VERSION " — exact bias, variance and cost of gradient estimators for discrete variables\n"
    "\n"
    "usage: gradvar COMMAND [options]     (gradvar COMMAND --help for each)\n"
    "  list [estimators|problems]          names, objective kinds, unit kinds, needs, citations\n"
    "  exact -p SPEC                        exact objective and gradient (closed form or enumeration)\n"
    "  run -p SPEC -e EST,.. -K K,.. -R N   frozen-point replicates -> CSV summary rows\n"
    "  train -p SPEC -e EST,.. --steps N    optimise with each estimator; exact objective vs step\n"
    "  smc -p SPEC -K K,.. --config CFG     tempered-SMC evidence E[Z^]/p(x) on inclusive-KL problems\n"
    "  describe -p SPEC [--params OUT.csv]  a problem's options, layout and parameters\n"
    "  bench [SUITE] [--out DIR]            run a suite file -> DIR/*.csv, DIR/REPORT.md\n"
    "  --version, --help\n"
    "SPEC = name:key=value,key=value (list values slash-separated: p=0.5/0.3/0.2)\n";

static int cmd_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return 1;
    return 0;
}

static void needs_str(unsigned needs, char *buf, size_t len)
{
    buf[0] = 0;
    static const struct { unsigned n; const char *s; } names[] = {
        {GV_NEED_F, "f"}, {GV_NEED_FTILDE, "ftilde"}, {GV_NEED_GRAD_FTILDE, "grad-ftilde"}, {GV_NEED_EXACT, "exact"}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (needs & names[i].n) {
            if (buf[0]) strncat(buf, "+", len - strlen(buf) - 1);
            strncat(buf, names[i].s, len - strlen(buf) - 1);
        }
}

int gv_cmd_list(int argc, char **argv)
{
    if (cmd_help(argc, argv)) {
        puts("usage: gradvar list [estimators|problems]\nPrints every registered estimator and/or problem.");
        return GV_OK;
    }
    int est = 1, prob = 1;
    if (argc > 2) return fprintf(stderr, "gradvar list: too many arguments\n"), GV_EUSAGE;
    if (argc == 2) {
        if (!strcmp(argv[1], "estimators")) prob = 0;
        else if (!strcmp(argv[1], "problems")) est = 0;
        else return fprintf(stderr, "gradvar list: unknown list '%s'; valid: estimators, problems\n", argv[1]), GV_EUSAGE;
    }
    char u[64], n[64];
    if (est) {
        printf("ESTIMATORS\n%-18s %-11s %-27s %-24s %-8s %-9s %-16s %s\n", "name", "objective", "units", "needs",
               "K", "bias", "evals", "citation");
        for (const gv_estimator_type *const *t = gv_estimator_types; *t; t++) {
            const gv_estimator_type *e = *t;
            char k[32];
            if (e->K_multiple > 1) snprintf(k, sizeof k, ">=%d,%%%d", e->min_K, e->K_multiple);
            else snprintf(k, sizeof k, ">=%d", e->min_K);
            needs_str(e->needs, n, sizeof n);
            printf("%-18s %-11s %-27s %-24s %-8s %-9s %-16s %s\n", e->name,
                   e->objective == GV_OBJ_EXPECTATION ? "expectation" : "incl-kl",
                   gv_unit_kind_names(e->units, u, sizeof u), n, k, e->biased ? "biased" : "unbiased", e->cost,
                   e->citation);
        }
    }
    if (est && prob) putchar('\n');
    if (prob) {
        printf("PROBLEMS\n%-20s %-11s %-9s %-6s %s\n", "name", "objective", "exact", "ftilde", "citation");
        for (const gv_problem_type *const *t = gv_problem_types; *t; t++) {
            const gv_problem_type *p = *t;
            printf("%-20s %-11s %-9s %-6s %s\n", p->name,
                   p->objective == GV_OBJ_EXPECTATION ? "expectation" : "incl-kl",
                   p->exact || p->objective == GV_OBJ_INCLUSIVE_KL ? (p->exact_label ? p->exact_label : "closed") : "enumerate",
                   p->ftilde || p->ftilde_at ? "yes" : "no", p->citation);
        }
    }
    return GV_OK;
}

/* Shared -p / --max-states / --params parsing for exact and describe. */
static int parse_problem_args(int argc, char **argv, const char **spec, double *max_states, const char **params,
                              int *check, const char *cmd)
{
    static const struct option lo[] = {{"problem", required_argument, 0, 'p'},
                                       {"max-states", required_argument, 0, 'm'},
                                       {"params", required_argument, 0, 'P'},
                                       {"check", no_argument, 0, 'c'},
                                       {0, 0, 0, 0}};
    optind = 1;
    opterr = 0;
    int c;
    *spec = NULL;
    while ((c = getopt_long(argc, argv, ":p:", lo, NULL)) != -1) {
        switch (c) {
        case 'p': *spec = optarg; break;
        case 'm': {
            char *end;
            *max_states = strtod(optarg, &end);
            if (end == optarg || *end || !(*max_states >= 1) || !isfinite(*max_states))
                return fprintf(stderr, "gradvar %s: --max-states %s: expected a positive number\n", cmd, optarg), GV_EUSAGE;
            break;
        }
        case 'P':
            if (!params) return fprintf(stderr, "gradvar %s: unknown option --params\n", cmd), GV_EUSAGE;
            *params = optarg;
            break;
        case 'c':
            if (!check) return fprintf(stderr, "gradvar %s: unknown option --check\n", cmd), GV_EUSAGE;
            *check = 1;
            break;
        case ':': return fprintf(stderr, "gradvar %s: option %s needs a value\n", cmd, argv[optind - 1]), GV_EUSAGE;
        default: return fprintf(stderr, "gradvar %s: unknown option '%s' (see --help)\n", cmd, argv[optind - 1]), GV_EUSAGE;
        }
    }
    if (optind < argc) return fprintf(stderr, "gradvar %s: unexpected argument '%s'\n", cmd, argv[optind]), GV_EUSAGE;
    if (!*spec) return fprintf(stderr, "gradvar %s: needs -p SPEC (see gradvar list problems)\n", cmd), GV_EUSAGE;
    return GV_OK;
}

/* The states the exact reference sums over: the joint support, or, for an inclusive-KL problem, each
 * group's posterior support times the number of groups (the groups are enumerated one by one). */
static double states_enumerated(const gv_problem *p)
{
    if (p->type->objective != GV_OBJ_INCLUSIVE_KL || p->n_groups < 1) return gv_support_size(&p->layout);
    double n = 1;
    for (int i = 0; i < p->group_units; i++) n *= p->layout.units[i].ncat;
    return n * p->n_groups;
}

int gv_cmd_exact(int argc, char **argv)
{
    if (cmd_help(argc, argv)) {
        puts("usage: gradvar exact -p SPEC [--max-states N] [--check]\n"
             "Prints E f and dE f/d eta per coordinate (closed form if the problem has one, else\n"
             "enumeration of the joint support, limit --max-states, default 4194304).  --check also\n"
             "enumerates a closed-form problem and prints the largest difference.");
        return GV_OK;
    }
    const char *spec;
    double max_states = GV_DEFAULT_MAX_STATES;
    int check = 0;
    if (parse_problem_args(argc, argv, &spec, &max_states, NULL, &check, "exact")) return GV_EUSAGE;
    char err[GV_ERRLEN];
    gv_problem *p;
    int rc = gv_problem_new(spec, &p, err);
    if (rc) return fprintf(stderr, "gradvar exact: %s\n", err), rc;
    gv_point pt;
    gv_exact ex, ex2;
    if (gv_point_init(&pt, &p->layout, p->eta) || gv_exact_alloc(&ex, &p->layout) || gv_exact_alloc(&ex2, &p->layout)) {
        fprintf(stderr, "gradvar exact: out of memory\n");
        return GV_EFAIL;
    }
    rc = gv_exact_compute(p, &pt, max_states, 0, &ex, err);
    if (!rc) {
        printf("problem,%s\nmethod,%s\nstates,%.0f\nobjective,%.17g\n", p->spec,
               ex.method != GV_EXACT_CLOSED ? "enumeration"
               : p->type->exact_label        ? p->type->exact_label
                                             : "closed-form",
               states_enumerated(p), ex.value);
        if (gv_layout_hierarchical(&p->layout))
            printf("hierarchical,%d edges; gradient %s\n", p->layout.n_edges,
                   ex.method == GV_EXACT_CLOSED ? "from the problem's exact_grad"
                                                : "by enumeration of sum_z q(z) (f(z) - E f) d log q(z) / d eta");
        if (check && p->type->objective == GV_OBJ_INCLUSIVE_KL) { /* one reference only: nothing to compare */
            printf("check_enumeration,n/a (an inclusive-KL problem's exact reference is its own enumeration of each "
                   "posterior; tests/test_ikl.c and test_cluster.c check it against direct sums)\n");
        } else if (check && ex.method == GV_EXACT_CLOSED) {
            rc = gv_exact_compute(p, &pt, max_states, 1, &ex2, err);
            if (!rc) {
                double dmax = fabs(ex.value - ex2.value);
                for (int q = 0; q < p->layout.n_params; q++)
                    if (fabs(ex.grad[q] - ex2.grad[q]) > dmax) dmax = fabs(ex.grad[q] - ex2.grad[q]);
                printf("check_enumeration_max_abs_diff,%.3g\n", dmax);
            }
        }
        printf("\nunit,class,coord,eta,prob,grad\n");
        for (int i = 0; i < p->layout.n_units; i++) {
            const gv_unit *u = &p->layout.units[i];
            for (int j = 0; j < u->nparam; j++) {
                int q = u->param + j;
                printf("%d,%d,%d,%.17g,%.17g,%.17g\n", i, u->kind == GV_UNIT_BERNOULLI ? 1 : j, q, pt.eta[q],
                       pt.prob[q], ex.grad[q]);
            }
        }
        if (p->layout.n_edges > 0) { /* the edge weights of a hierarchical layout */
            printf("\nedge,parent,child,coord,weight,grad\n");
            for (int e = 0; e < p->layout.n_edges; e++) {
                const gv_edge *ed = &p->layout.edges[e];
                printf("%d,%d,%d,%d,%.17g,%.17g\n", e, ed->parent, ed->child, ed->param, pt.eta[ed->param],
                       ex.grad[ed->param]);
            }
        }
        if (p->type->objective == GV_OBJ_INCLUSIVE_KL) { /* the posteriors: log p(x_g) and marginals m */
            printf("\ngroup,log_marginal\n");
            for (int g = 0; g < p->n_groups; g++) printf("%d,%.17g\n", g, p->type->ikl->log_marginal(p, g));
            printf("\nunit,class,posterior\n");
            for (int i = 0; i < p->layout.n_units; i++) {
                const gv_unit *u = &p->layout.units[i];
                for (int v = u->kind == GV_UNIT_BERNOULLI ? 1 : 0; v < u->ncat; v++)
                    printf("%d,%d,%.17g\n", i, v, ex.cond[u->cond + v]);
            }
            char merr[GV_ERRLEN] = "";
            int mr = gv_exact_marginal(p, p->phi, &ex, merr);
            if (mr == 0) {
                printf("\nmodel_marginal_objective,%.17g\nouter,phi,marginal_grad\n", ex.marg_value);
                for (int k = 0; k < p->n_outer; k++) printf("%d,%.17g,%.17g\n", k, p->phi[k], ex.marg_grad[k]);
            } else if (mr < 0) {
                fprintf(stderr, "gradvar exact: model-marginal reference: %s\n", merr);
                rc = GV_EFAIL;
            }
        }
        if (p->n_outer > 0) { /* the outer parameters' gradient J^T g_eta */
            double *gphi = malloc((size_t)p->n_outer * sizeof(double));
            if (gphi) {
                p->type->outer_vjp(p, ex.grad, gphi);
                printf("\nouter,phi,grad\n");
                for (int k = 0; k < p->n_outer; k++) printf("%d,%.17g,%.17g\n", k, p->phi[k], gphi[k]);
                free(gphi);
            }
        }
    } else {
        fprintf(stderr, "gradvar exact: %s\n", err);
    }
    gv_exact_free(&ex);
    gv_exact_free(&ex2);
    gv_point_free(&pt);
    gv_problem_free(p);
    return rc;
}

int gv_cmd_describe(int argc, char **argv)
{
    if (cmd_help(argc, argv)) {
        puts("usage: gradvar describe -p SPEC [--params OUT.csv]\n"
             "Prints the problem's description, citation, options (with defaults), presets and layout;\n"
             "--params writes its parameters as CSV: unit,class,coord,eta,prob, or the problem's own\n"
             "format where it has one (sbn: param,row,col,value, which sbn:params=FILE reads back).");
        return GV_OK;
    }
    const char *spec, *params = NULL;
    double ms = 0;
    if (parse_problem_args(argc, argv, &spec, &ms, &params, NULL, "describe")) return GV_EUSAGE;
    char err[GV_ERRLEN];
    gv_problem *p;
    int rc = gv_problem_new(spec, &p, err);
    if (rc) return fprintf(stderr, "gradvar describe: %s\n", err), rc;
    const gv_problem_type *t = p->type;
    char u[64];
    printf("%s\n  %s\n  citation: %s\n  objective: %s\n", p->spec, t->description, t->citation,
           t->objective == GV_OBJ_EXPECTATION ? "expectation" : "inclusive-kl");
    printf("  options:\n");
    for (int i = 0; t->options[i].key; i++)
        printf("    %-8s %-10s %s\n", t->options[i].key, t->options[i].def ? t->options[i].def : "-", t->options[i].help);
    if (t->presets) printf("  presets: %s\n", t->presets);
    printf("  layout: %d %s units, %d parameters, %.4g joint states\n", p->layout.n_units,
           gv_unit_kind_names(p->layout.kinds, u, sizeof u), p->layout.n_params, gv_support_size(&p->layout));
    if (p->n_outer > 0)
        printf("  outer parameters: %d (eta = eta(phi); rows with wrt=phi report d/dphi = J^T d/deta)\n", p->n_outer);
    if (gv_layout_hierarchical(&p->layout))
        printf("  hierarchical layout: %d edges between latent units (their weights are parameters %d..%d); exact "
               "reference: %s; continuous extension f~: not on hierarchical layouts\n", p->layout.n_edges,
               p->layout.n_unit_params, p->layout.n_params - 1,
               t->exact_grad ? "the problem's own value and gradient" : "enumeration of sum q (f - E f) grad log q");
    else {
        const int own = t->exact || t->objective == GV_OBJ_INCLUSIVE_KL; /* inclusive KL: exact_grad */
        printf("  exact reference: %s%s%s; continuous extension f~: %s\n",
               !own ? "enumeration" : t->exact_label ? "the problem's own (" : "closed form",
               own && t->exact_label ? t->exact_label : "", own && t->exact_label ? ")" : "",
               gv_problem_has_ftilde(p) ? "yes" : "no");
        if (t->objective == GV_OBJ_INCLUSIVE_KL)
            printf("  inclusive KL: %d groups (data points) of %d latent units; cost unit: log p(x | z) evaluations\n",
                   p->n_groups, p->group_units);
    }
    if (t->describe) {
        printf("  ");
        t->describe(p, stdout);
    }
    if (params) {
        gv_point pt;
        FILE *f = fopen(params, "w");
        if (!f || gv_point_init(&pt, &p->layout, p->eta)) {
            fprintf(stderr, "gradvar describe: cannot write %s\n", params);
            if (f) fclose(f);
            gv_problem_free(p);
            return GV_EFAIL;
        }
        if (t->dump_params) {
            if (t->dump_params(p, f)) rc = GV_EFAIL;
        } else {
        fprintf(f, "unit,class,coord,eta,prob\n");
        for (int i = 0; i < p->layout.n_units; i++) {
            const gv_unit *un = &p->layout.units[i];
            for (int j = 0; j < un->nparam; j++) {
                int q = un->param + j;
                fprintf(f, "%d,%d,%d,%.17g,%.17g\n", i, un->kind == GV_UNIT_BERNOULLI ? 1 : j, q, pt.eta[q], pt.prob[q]);
            }
        }
        }
        gv_point_free(&pt);
        if (fclose(f)) rc = GV_EFAIL;
        printf("  parameters written to %s\n", params);
    }
    gv_problem_free(p);
    return rc;
}

int main(int argc, char **argv)
{
    gsl_set_error_handler_off();
    char err[GV_ERRLEN];
    if (gv_estimator_registry_check(err) || gv_problem_registry_check(err)) {
        fprintf(stderr, "gradvar: %s\n", err);
        return GV_EFAIL;
    }
    if (argc < 2) {
        fputs(usage, stderr);
        return GV_EUSAGE;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) return fputs(usage, stdout), GV_OK;
    if (!strcmp(cmd, "--version")) return printf("gradvar %s (%s)\n", GV_VERSION, GV_GIT_HASH), GV_OK;
    static const struct { const char *name; int (*fn)(int, char **); } cmds[] = {
        {"bench", gv_cmd_bench}, {"describe", gv_cmd_describe}, {"exact", gv_cmd_exact},
        {"list", gv_cmd_list},   {"run", gv_cmd_run},     {"smc", gv_cmd_smc},
        {"train", gv_cmd_train}};
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        if (!strcmp(cmds[i].name, cmd)) return cmds[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "gradvar: unknown command '%s'; valid commands: bench, describe, exact, list, run, smc, train\n", cmd);
    return GV_EUSAGE;
}
