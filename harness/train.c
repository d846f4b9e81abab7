/* train.c — trajectory mode (`gradvar train`): optimise eta with one estimator's gradients
 * (SGD, RMSprop, Adam; minimise, or maximise with --maximise), learned estimator state adapting
 * every step and schedules (temperature annealing) advancing; every N steps record the exact
 * objective and, optionally, a "gradient basket": R frozen-point estimates of each listed
 * estimator at the current parameters, so that all estimators are compared at the same points.
 * Several -e give independent trajectories (one stream each).
 * Output: FILE (trajectory rows, schema in results/README.md) and, with --basket, FILE's
 * .basket.csv (summary rows with `step`). */
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness/cli.h"
#include "harness/exact.h"
#include "harness/output.h"
#include "harness/rng.h"
#include "harness/stats.h"
#include <omp.h>

static const char train_usage[] =
    "usage: gradvar train -p SPEC -e EST[,EST...] [-K K] --steps N [--lr X] [--opt adam|sgd|rmsprop]\n"
    "                     [--maximise] [--every N] [--basket EST,...] [--basket-R R] [--seed S]\n"
    "                     [--basket-K K,...] [--until-prob X] [--model-lr X] [-o FILE.csv] [--max-states N]\n"
    "                     [--save-params FILE] [--threads N] [--no-timing] [-q]\n"
    "\n"
    "Optimises the problem's parameters (eta, or its outer parameters phi if it has them: the\n"
    "estimates are mapped by J^T) from its initial point with each estimator's own\n"
    "gradients (one independent trajectory per -e estimator; learned state adapts every step).\n"
    "Every N steps (and at the first and last step) it records the exact objective and, with\n"
    "--basket, R frozen-point estimates of every basket estimator at the current parameters.\n"
    "  --steps N      optimisation steps (required)\n"
    "  --lr X         learning rate (default 0.01)\n"
    "  --opt NAME     sgd | rmsprop (decay 0.99) | adam (0.9, 0.999) (default adam)\n"
    "  --maximise     ascend the objective (default: descend)\n"
    "  --every N      record every N steps (default 10)\n"
    "  --basket LIST  estimators measured at each recorded point (needs a single -e and K), or\n"
    "                 'self': every trajectory measures its own estimator along its own path\n"
    "  --basket-R R   replicates per basket measurement (default 1000)\n"
    "  --basket-K L   the K values of the basket (default: the training K); a basket estimator\n"
    "                 that cannot run at some K gives rows with status incompatible\n"
    "  --until-prob X stop (after recording) at the first step where the mean unit probability >= X\n"
    "  --seed S[,S...] master seed(s): one trajectory per (estimator, K, seed) (default 1)\n"
    "  --model-lr X   a problem with a model of its own (sbn: decoder and prior) trains it beside phi\n"
    "                 by its standard stochastic gradient from K fresh samples of q per step, with the\n"
    "                 same optimiser at learning rate X (default: --lr; 0 keeps the model fixed).\n"
    "                 A problem with minibatches (sbn train_n > N, binarise=dynamic) draws a new batch\n"
    "                 every step from a data stream of (seed, problem), the same for every estimator;\n"
    "                 a problem with held-out sets records their exact objective and log-likelihood\n"
    "  --save-params FILE  (one trajectory: one -e, K and seed) write the trained parameters in the\n"
    "                 problem's params format at the end (sbn: model and encoder; read back with\n"
    "                 sbn:params=FILE)\n"
    "  -K K[,K...]    samples per estimate (default 2): one trajectory per (estimator, K), or the\n"
    "                 estimator's own K if its spec pins one (-e arsm:K=1 -e rloo:K=30); an\n"
    "                 estimator that cannot run at some K gets a row with status incompatible\n"
    "                 there (with --basket: one K, also the basket's default)\n"
    "Output: FILE.csv trajectory rows (problem, estimator, K, seed, step, objective, grad_norm,\n"
    "param_mean, prob_mean, f_evals, ftilde_evals, grad_evals, seconds, train_value, train_logml,\n"
    "test_value, test_logml, status, message) and, with --basket, FILE.basket.csv in the summary\n"
    "schema of `run` with `step` filled in; with several seeds or held-out sets, FILE.seeds.csv:\n"
    "mean and s.d. over seeds per (estimator, K, step).\n";

const char *const gv_traj_columns[] = {"problem", "estimator", "K", "seed", "step", "objective", "grad_norm",
                                       "param_mean", "prob_mean", "f_evals", "ftilde_evals", "grad_evals",
                                       "seconds", "train_value", "train_logml", "test_value", "test_logml",
                                       "status", "message", NULL};

typedef struct {
    char estimator[GV_SPECLEN];
    int K;
    uint64_t seed;
    long step;
    double objective, grad_norm, param_mean, prob_mean, f_evals, ftilde_evals, grad_evals, seconds;
    double eval[4]; /* exact on the held-out sets: train value, train log p(x), test value, test log p(x) */
    const char *status;
    char message[GV_ERRLEN];
} traj_row;

enum { OPT_SGD, OPT_RMSPROP, OPT_ADAM };

typedef struct {
    const char *problem;
    char *estimators[64];
    int n_est;
    int est_K[64]; /* K pinned by the spec (NAME:K=k), 0 = every -K value */
    char *basket[64];
    int n_basket;
    int K[16], n_K; /* training K values: one trajectory per (estimator, K) */
    int opt, maximise, quiet, timing, threads;
    int basket_K[64], n_basket_K;
    int basket_self; /* --basket self: each trajectory measures its own estimator */
    long steps, every, basket_R, W;
    double lr, max_states, until_prob; /* until_prob: NAN = run all steps */
    double model_lr;                   /* NAN: = lr */
    const char *save_params;           /* --save-params FILE, or NULL */
    uint64_t seed;                     /* the first of seeds[] (the .meta seed) */
    uint64_t seeds[16];
    int n_seeds;
    const char *out;
} train_args;

static void train_args_free(train_args *a)
{
    for (int i = 0; i < a->n_est; i++) free(a->estimators[i]);
    for (int i = 0; i < a->n_basket; i++) free(a->basket[i]);
}

static int num_arg(const char *opt, const char *v, double lo, double hi, double *out, char *err)
{
    char *end;
    double x = strtod(v, &end);
    if (end == v || *end || !(x >= lo && x <= hi))
        return gv_err(err, "%s %s: expected a number in [%g, %g]", opt, v, lo, hi), GV_EUSAGE;
    *out = x;
    return GV_OK;
}

static int train_parse(int argc, char **argv, train_args *a, char *err)
{
    memset(a, 0, sizeof *a);
    a->opt = OPT_ADAM;
    a->lr = 0.01;
    a->every = 10;
    a->basket_R = 1000;
    a->W = 1000;
    a->seed = 1;
    a->timing = 1;
    a->max_states = GV_DEFAULT_MAX_STATES;
    a->until_prob = NAN;
    a->model_lr = NAN;
    enum { O_STEPS = 256, O_LR, O_OPT, O_MAX, O_EVERY, O_BASKET, O_BR, O_SEED, O_MS, O_TH, O_NT, O_UNTIL, O_BK, O_MLR,
           O_SAVE, O_HELP };
    static const struct option lo[] = {
        {"problem", required_argument, 0, 'p'}, {"estimator", required_argument, 0, 'e'},
        {"steps", required_argument, 0, O_STEPS}, {"lr", required_argument, 0, O_LR},
        {"opt", required_argument, 0, O_OPT}, {"maximise", no_argument, 0, O_MAX},
        {"maximize", no_argument, 0, O_MAX}, {"every", required_argument, 0, O_EVERY},
        {"basket", required_argument, 0, O_BASKET}, {"basket-R", required_argument, 0, O_BR},
        {"seed", required_argument, 0, O_SEED}, {"max-states", required_argument, 0, O_MS},
        {"threads", required_argument, 0, O_TH}, {"no-timing", no_argument, 0, O_NT},
        {"until-prob", required_argument, 0, O_UNTIL}, {"basket-K", required_argument, 0, O_BK},
        {"model-lr", required_argument, 0, O_MLR}, {"save-params", required_argument, 0, O_SAVE},
        {"output", required_argument, 0, 'o'}, {"quiet", no_argument, 0, 'q'}, {"help", no_argument, 0, O_HELP},
        {0, 0, 0, 0}};
    optind = 1;
    opterr = 0;
    int c;
    double x;
    while ((c = getopt_long(argc, argv, ":p:e:K:W:o:qh", lo, NULL)) != -1) {
        switch (c) {
        case 'p':
            if (a->problem) return gv_err(err, "train takes one problem (-p given twice)"), GV_EUSAGE;
            a->problem = optarg;
            break;
        case 'e':
            if (gv_cli_estimators(optarg, a->estimators, &a->n_est, 64, err)) return GV_EUSAGE;
            break;
        case 'K':
            if (gv_cli_klist("-K", optarg, a->K, &a->n_K, 16, err)) return GV_EUSAGE;
            break;
        case 'W':
            if (num_arg("-W", optarg, 0, 1e9, &x, err)) return GV_EUSAGE;
            a->W = (long)x;
            break;
        case 'o': a->out = optarg; break;
        case 'q': a->quiet = 1; break;
        case O_STEPS:
            if (num_arg("--steps", optarg, 1, 1e9, &x, err)) return GV_EUSAGE;
            a->steps = (long)x;
            break;
        case O_LR:
            if (num_arg("--lr", optarg, 0, 1e6, &x, err)) return GV_EUSAGE;
            a->lr = x;
            break;
        case O_OPT:
            if (!strcmp(optarg, "sgd")) a->opt = OPT_SGD;
            else if (!strcmp(optarg, "rmsprop")) a->opt = OPT_RMSPROP;
            else if (!strcmp(optarg, "adam")) a->opt = OPT_ADAM;
            else return gv_err(err, "--opt %s: valid optimisers are sgd, rmsprop, adam", optarg), GV_EUSAGE;
            break;
        case O_MAX: a->maximise = 1; break;
        case O_EVERY:
            if (num_arg("--every", optarg, 1, 1e9, &x, err)) return GV_EUSAGE;
            a->every = (long)x;
            break;
        case O_BASKET:
            if (gv_cli_estimators(optarg, a->basket, &a->n_basket, 64, err)) return GV_EUSAGE;
            break;
        case O_BR:
            if (num_arg("--basket-R", optarg, 2, 1e9, &x, err)) return GV_EUSAGE;
            a->basket_R = (long)x;
            break;
        case O_SEED: {
            a->n_seeds = 0;
            const size_t sl = strlen(optarg);
            if (!sl || optarg[0] == ',' || optarg[sl - 1] == ',' || strstr(optarg, ",,"))
                return gv_err(err, "--seed %s: expected S or S1,S2,... (non-negative integers)", optarg), GV_EUSAGE;
            char buf[1024];
            snprintf(buf, sizeof buf, "%s", optarg);
            for (char *sv, *tok = strtok_r(buf, ",", &sv); tok; tok = strtok_r(NULL, ",", &sv)) {
                if (a->n_seeds == 16) return gv_err(err, "--seed %s: at most 16 seeds", optarg), GV_EUSAGE;
                if (gv_cli_seed(tok, &a->seeds[a->n_seeds], err)) return GV_EUSAGE;
                for (int i = 0; i < a->n_seeds; i++)
                    if (a->seeds[i] == a->seeds[a->n_seeds])
                        return gv_err(err, "--seed %s: seed %s is given twice", optarg, tok), GV_EUSAGE;
                a->n_seeds++;
            }
            if (!a->n_seeds) return gv_err(err, "--seed needs a value"), GV_EUSAGE;
            a->seed = a->seeds[0];
            break;
        }
        case O_SAVE: a->save_params = optarg; break;
        case O_MLR:
            if (num_arg("--model-lr", optarg, 0, 1e6, &a->model_lr, err)) return GV_EUSAGE;
            break;
        case O_MS:
            if (num_arg("--max-states", optarg, 1, 1e300, &a->max_states, err)) return GV_EUSAGE;
            break;
        case O_TH:
            if (num_arg("--threads", optarg, 1, 1024, &x, err)) return GV_EUSAGE;
            a->threads = (int)x;
            break;
        case O_NT: a->timing = 0; break;
        case O_BK:
            if (gv_cli_klist("--basket-K", optarg, a->basket_K, &a->n_basket_K, 64, err)) return GV_EUSAGE;
            break;
        case O_UNTIL:
            if (num_arg("--until-prob", optarg, 0, 1e300, &a->until_prob, err)) return GV_EUSAGE;
            break;
        case 'h':
        case O_HELP: return -2;
        case ':': return gv_err(err, "option %s needs a value", argv[optind - 1]), GV_EUSAGE;
        default: return gv_err(err, "unknown option '%s' (see gradvar train --help)", argv[optind - 1]), GV_EUSAGE;
        }
    }
    if (optind < argc) return gv_err(err, "unexpected argument '%s'", argv[optind]), GV_EUSAGE;
    if (!a->problem) return gv_err(err, "train needs a problem (-p SPEC)"), GV_EUSAGE;
    if (!a->n_est) return gv_err(err, "train needs at least one estimator (-e NAME)"), GV_EUSAGE;
    if (!a->steps) return gv_err(err, "train needs --steps N"), GV_EUSAGE;
    if (!a->n_K) a->K[a->n_K++] = 2;
    if (!a->n_seeds) a->seeds[a->n_seeds++] = a->seed;
    if (isnan(a->model_lr)) a->model_lr = a->lr;
    if (a->save_params && (a->n_est != 1 || a->n_seeds != 1 || (a->n_K != 1 && !a->est_K[0])))
        return gv_err(err, "--save-params needs a single trajectory (one -e, one K, one seed)"), GV_EUSAGE;
    for (int j = 0; j < a->n_est; j++)
        if (gv_cli_pinned_K(&a->estimators[j], &a->est_K[j], err)) return GV_EUSAGE;
    for (int i = 0; i < a->n_basket; i++)
        if (!strcmp(a->basket[i], "self")) {
            if (a->n_basket > 1) return gv_err(err, "--basket self cannot be mixed with estimator names"), GV_EUSAGE;
            a->basket_self = 1;
        }
    if (a->n_basket && !a->basket_self && a->n_K > 1)
        return gv_err(err, "--basket needs a single training K (got %d); use --basket-K for the basket's K values",
                      a->n_K), GV_EUSAGE;
    if (!a->n_basket_K && a->n_basket && !a->basket_self) a->basket_K[a->n_basket_K++] = a->K[0];
    else if (a->n_basket_K && !a->n_basket) return gv_err(err, "--basket-K needs --basket"), GV_EUSAGE;
    if (a->n_basket && !a->basket_self && a->n_est > 1)
        return gv_err(err, "--basket needs a single training estimator (got %d); run one train per estimator", a->n_est),
               GV_EUSAGE;
    return GV_OK;
}

#define put_field gv_csv_field

static int write_traj(FILE *f, const traj_row *rows, int n, const char *problem)
{
    for (int i = 0; gv_traj_columns[i]; i++) put_field(f, gv_traj_columns[i], !gv_traj_columns[i + 1]);
    for (int r = 0; r < n; r++) {
        const traj_row *t = &rows[r];
        char b[64];
        put_field(f, problem, 0);
        put_field(f, t->estimator, 0);
        snprintf(b, sizeof b, "%d", t->K), put_field(f, b, 0);
        snprintf(b, sizeof b, "%llu", (unsigned long long)t->seed), put_field(f, b, 0);
        snprintf(b, sizeof b, "%ld", t->step), put_field(f, b, 0);
        const double v[] = {t->objective, t->grad_norm, t->param_mean, t->prob_mean, t->f_evals, t->ftilde_evals,
                            t->grad_evals, t->seconds, t->eval[0], t->eval[1], t->eval[2], t->eval[3]};
        for (size_t k = 0; k < sizeof v / sizeof v[0]; k++) gv_fmt_num(b, sizeof b, v[k]), put_field(f, b, 0);
        put_field(f, t->status, 0);
        put_field(f, t->message, 1);
    }
    return ferror(f) ? -1 : 0;
}

typedef struct { const traj_row *rows; int n; const char *problem; } traj_ctx;
static int w_traj(FILE *f, const void *c)
{
    const traj_ctx *t = c;
    return write_traj(f, t->rows, t->n, t->problem);
}
typedef struct { const gv_row *rows; int n; } basket_ctx;
static int w_basket(FILE *f, const void *c)
{
    const basket_ctx *b = c;
    return gv_write_rows(f, b->rows, b->n);
}

static double mean_prob(const gv_point *pt)
{
    const int P = pt->layout->n_unit_params; /* the units' own parameters, not edge weights */
    double qm = 0;
    for (int q = 0; q < P; q++) qm += pt->prob[q];
    return qm / P;
}

/* Record the exact objective at pt into t; x (n_x) are the optimised parameters (eta, or the outer
 * phi, in which case the gradient reported is J^T grad_eta, computed into gx); 0 ok. */
static int record(traj_row *t, const gv_problem *p, const gv_point *pt, const double *x, int n_x, double *gx,
                  double max_states, gv_exact *ex)
{
    char err[GV_ERRLEN];
    double pm = 0;
    for (int q = 0; q < n_x; q++) pm += x[q];
    t->param_mean = pm / n_x;
    t->prob_mean = mean_prob(pt);
    if (gv_exact_compute(p, pt, max_states, 0, ex, err)) {
        t->status = "error";
        snprintf(t->message, sizeof t->message, "exact reference: %.480s", err);
        t->objective = t->grad_norm = NAN;
        return -1;
    }
    const double *gr = ex->grad;
    if (p->n_outer > 0) p->type->outer_vjp(p, ex->grad, gx), gr = gx;
    double gn = 0;
    for (int q = 0; q < n_x; q++) gn += gr[q] * gr[q];
    t->objective = ex->value;
    t->grad_norm = sqrt(gn);
    t->status = "ok";
    for (int set = 0; set < 2; set++) { /* the held-out sets, exactly, at the current phi */
        t->eval[2 * set] = t->eval[2 * set + 1] = NAN;
        if (!p->type->evaluate || p->n_outer == 0) continue;
        int e = p->type->evaluate(p, x, set, &t->eval[2 * set], &t->eval[2 * set + 1]);
        if (e < 0) {
            t->status = "error";
            snprintf(t->message, sizeof t->message, "exact evaluation of the %s set failed", set ? "test" : "training");
            return -1;
        }
        if (e > 0) t->eval[2 * set] = t->eval[2 * set + 1] = NAN;
    }
    return 0;
}

typedef struct {
    traj_row *rows;
    int n, cap;
    gv_row *basket;
    int nb, capb;
} train_out;

static traj_row *push_traj(train_out *o)
{
    if (o->n == o->cap) {
        int cap = o->cap ? 2 * o->cap : 64;
        traj_row *r = realloc(o->rows, (size_t)cap * sizeof *r);
        if (!r) return NULL;
        o->rows = r, o->cap = cap;
    }
    traj_row *t = &o->rows[o->n++];
    memset(t, 0, sizeof *t);
    return t;
}

/* A last row saying why a trajectory stopped early. */
static void end_row(train_out *o, const char *est, int K, uint64_t seed, long step, const char *status,
                    const char *why)
{
    traj_row *t = push_traj(o);
    if (!t) return;
    snprintf(t->estimator, sizeof t->estimator, "%s", est);
    t->K = K, t->seed = seed, t->step = step, t->status = status;
    t->objective = t->grad_norm = t->param_mean = t->prob_mean = t->seconds = NAN;
    for (int k = 0; k < 4; k++) t->eval[k] = NAN;
    snprintf(t->message, sizeof t->message, "%s at step %ld", why, step);
}

static gv_row *push_basket(train_out *o)
{
    if (o->nb == o->capb) {
        int cap = o->capb ? 2 * o->capb : 64;
        gv_row *r = realloc(o->basket, (size_t)cap * sizeof *r);
        if (!r) return NULL;
        o->basket = r, o->capb = cap;
    }
    return &o->basket[o->nb++];
}

/* FILE.seeds.csv: per (estimator, K) (group 1, 2, ... in first-seen order; label = "ESTIMATOR K=k"
 * with commas shown as ';') and per recorded step, the mean and s.d.
 * over seeds of the trajectory's exact values, and (--basket self) of its basket var_mean (the
 * phi-gradient's when the problem has outer parameters). */
/* NaN values are skipped (a trajectory without held-out sets, a failed basket row). */
static void mom_add(gv_welford *w, double v)
{
    if (!isnan(v)) gv_welford_add(w, v);
}
static void mom_put(FILE *f, const gv_welford *w, int last)
{
    gv_csv_num(f, w->n > 0 ? w->mean : NAN, 0);
    gv_csv_num(f, sqrt(gv_welford_var(w)), last); /* NAN (empty) for one seed */
}

typedef struct { const train_out *o; int self; } seeds_ctx;
static int w_seeds(FILE *f, const void *c)
{
    const seeds_ctx *sc = c;
    const train_out *o = sc->o;
    static const char *const cols[] = {"group", "label", "estimator", "K", "step", "seeds", "objective_mean", "objective_sd",
                                       "train_value_mean", "train_value_sd", "train_logml_mean", "train_logml_sd",
                                       "test_value_mean", "test_value_sd", "test_logml_mean", "test_logml_sd",
                                       "var_mean", "var_sd", NULL};
    for (int i = 0; cols[i]; i++) gv_csv_field(f, cols[i], !cols[i + 1]);
    char *done = calloc((size_t)o->n + 1, 1);
    if (!done) return -1;
    int group = 0;
    for (int i = 0; i < o->n; i++) {
        const traj_row *t = &o->rows[i];
        if (done[i] || strcmp(t->status, "ok")) continue;
        int first_of_group = 1;
        for (int h = 0; h < i && first_of_group; h++)
            if (!strcmp(o->rows[h].status, "ok") && o->rows[h].K == t->K && !strcmp(o->rows[h].estimator, t->estimator))
                first_of_group = 0;
        if (first_of_group) group++;
        gv_welford m[6] = {{0}};
        for (int j = i; j < o->n; j++) {
            const traj_row *u = &o->rows[j];
            if (done[j] || strcmp(u->status, "ok") || u->K != t->K || u->step != t->step || strcmp(u->estimator, t->estimator))
                continue;
            done[j] = 1;
            mom_add(&m[0], u->objective);
            for (int q = 0; q < 4; q++) mom_add(&m[1 + q], u->eval[q]);
            for (int b = 0; sc->self && b < o->nb; b++) {
                const gv_row *w = &o->basket[b];
                if (w->seed == u->seed && w->step == u->step && w->K == u->K && !strcmp(w->estimator, u->estimator) &&
                    !strcmp(w->status, "ok"))
                    mom_add(&m[5], w->outer ? w->outer->s.var_mean : w->s.var_mean);
            }
        }
        char b[64];
        snprintf(b, sizeof b, "%d", group), gv_csv_field(f, b, 0);
        char lab[GV_SPECLEN + 32]; /* for figures: no commas, so never quoted */
        snprintf(lab, sizeof lab, "%s K=%d", t->estimator, t->K);
        for (char *q = lab; *q; q++) if (*q == ',') *q = ';';
        gv_csv_field(f, lab, 0);
        gv_csv_field(f, t->estimator, 0);
        snprintf(b, sizeof b, "%d", t->K), gv_csv_field(f, b, 0);
        snprintf(b, sizeof b, "%ld", t->step), gv_csv_field(f, b, 0);
        snprintf(b, sizeof b, "%.0f", m[0].n), gv_csv_field(f, b, 0);
        for (int q = 0; q < 6; q++) mom_put(f, &m[q], q == 5);
    }
    free(done);
    return ferror(f) ? -1 : 0;
}

static int save_all(const train_args *a, const gv_problem *p, const train_out *o, const gv_meta *meta, char *err)
{
    if (!a->out) return GV_OK;
    traj_ctx tc = {o->rows, o->n, p->spec};
    int rc = gv_atomic_write(a->out, w_traj, &tc, err);
    if (!rc && a->n_basket) {
        char bp[4200];
        gv_sibling_path(a->out, ".basket.csv", bp, sizeof bp);
        basket_ctx bc = {o->basket, o->nb};
        rc = gv_atomic_write(bp, w_basket, &bc, err);
    }
    if (!rc && (a->n_seeds > 1 || p->type->evaluate)) {
        char sp[4200];
        gv_sibling_path(a->out, ".seeds.csv", sp, sizeof sp);
        seeds_ctx sc = {o, a->basket_self};
        rc = gv_atomic_write(sp, w_seeds, &sc, err);
    }
    if (!rc) rc = gv_save_meta(a->out, meta, err);
    return rc;
}

/* The optimiser's step for one parameter: m1, m2 its moments, b1t/b2t = beta^t. */
static int w_params(FILE *f, const void *c)
{
    const gv_problem *p = c;
    return p->type->dump_params(p, f);
}

#define ADAM_B1 0.9
#define ADAM_B2 0.999

static double opt_step(int opt, double g, double *m1, double *m2, double b1t, double b2t)
{
    const double b1 = ADAM_B1, b2 = ADAM_B2, rho = 0.99, tiny = 1e-8;
    switch (opt) {
    case OPT_SGD: return g;
    case OPT_RMSPROP:
        *m2 = rho * *m2 + (1 - rho) * g * g;
        return g / (sqrt(*m2) + tiny);
    default: /* Adam with bias correction */
        *m1 = b1 * *m1 + (1 - b1) * g;
        *m2 = b2 * *m2 + (1 - b2) * g * g;
        return (*m1 / (1 - b1t)) / (sqrt(*m2 / (1 - b2t)) + tiny);
    }
}

/* One trajectory of estimator spec `es_text` at K samples per estimate from master seed `seed`.
 * theta0: the problem's initial model parameters (n_model), reinstalled first. */
static int trajectory(const train_args *a, gv_problem *p, const char *es_text, int K, uint64_t seed,
                      const double *theta0, train_out *o, const gv_meta *meta, char *err)
{
    const int P = p->layout.n_params, outer = p->n_outer > 0, NX = outer ? p->n_outer : P;
    const int NM = theta0 && a->model_lr > 0 ? p->n_model : 0; /* model parameters trained here */
    gv_spec es;
    gv_estimator *e = NULL;
    int rc = gv_spec_parse(es_text, &es, err);
    if (!rc) rc = gv_estimator_new(&es, p, K, &e, err);
    if (rc < 0 && a->n_K > 1) { /* this K only: the row says why, the others run */
        char canon[GV_SPECLEN];
        gv_spec_canonical(&es, canon, sizeof canon);
        end_row(o, canon, K, seed, 0, "incompatible", err);
        return GV_OK;
    }
    if (rc) return rc < 0 ? GV_EUSAGE : rc;
    if (theta0) p->type->model_set(p, theta0);
    gv_point pt;
    gv_exact ex;
    /* x: the optimised parameters (eta itself, or phi with eta = eta(phi)); gx: the step's gradient in x;
     * th / gth / n1 / n2: the model's parameters, gradient and moments */
    /* an estimator of the phi-gradient itself (wrt_phi: sleep) writes NX values, not P */
    const int wphi = e->type->wrt_phi, PG = wphi ? NX : P;
    double *eta = malloc((size_t)P * sizeof(double)), *g = malloc((size_t)PG * sizeof(double));
    double *x = malloc((size_t)NX * sizeof(double)), *gx = malloc((size_t)NX * sizeof(double));
    double *m1 = calloc((size_t)NX, sizeof(double)), *m2 = calloc((size_t)NX, sizeof(double));
    double *th = malloc((size_t)(NM + 1) * sizeof(double)), *gth = malloc((size_t)(NM + 1) * sizeof(double));
    double *n1 = calloc((size_t)(NM + 1), sizeof(double)), *n2 = calloc((size_t)(NM + 1), sizeof(double));
    int *zs = malloc((size_t)p->layout.n_units * sizeof(int));
    gsl_rng *r = gv_rng_new(gv_rng_default(), gv_stream_seed(seed, p->spec, e->spec, K, 0, GV_STREAM_TRAIN));
    /* the batches: one stream per (seed, problem), so every estimator sees the same data */
    gsl_rng *rd = gv_rng_new(gv_rng_default(), gv_stream_seed(seed, p->spec, "", 0, 0, GV_STREAM_DATA));
    int ok = eta && g && x && gx && m1 && m2 && th && gth && n1 && n2 && zs && r && rd;
    if (ok && gv_point_init(&pt, &p->layout, p->eta)) ok = 0;
    else if (ok && gv_exact_alloc(&ex, &p->layout)) gv_point_free(&pt), ok = 0;
    if (!ok) {
        free(eta), free(g), free(x), free(gx), free(m1), free(m2), free(th), free(gth), free(n1), free(n2), free(zs);
        gsl_rng_free(r), gsl_rng_free(rd), gv_estimator_free(e);
        return gv_err(err, "out of memory"), GV_EFAIL;
    }
    memcpy(eta, p->eta, (size_t)P * sizeof(double));
    memcpy(x, outer ? p->phi : p->eta, (size_t)NX * sizeof(double));
    if (NM) memcpy(th, theta0, (size_t)NM * sizeof(double));
    gv_eval ev = {.problem = p, .pt = &pt, .phi = outer ? x : NULL, .exact = &ex};
    const double sign = a->maximise ? 1.0 : -1.0;
    double t0 = gv_now_s(), last_save = t0, b1t = 1, b2t = 1;
    rc = GV_OK;
    if (p->type->next_batch) { /* the first batch */
        if (p->type->next_batch(p, rd)) rc = GV_EFAIL, gv_err(err, "%s: drawing a batch failed", p->spec);
        if (outer) p->type->outer_map(p, x, eta);
        gv_point_set(&pt, eta);
    }
    for (long step = 0; !rc; step++) {
        int recorded = 0, last = step == a->steps || mean_prob(&pt) >= a->until_prob;
        if (step % a->every == 0 || last) { /* exact objective (+ basket) at this point */
            traj_row *t = push_traj(o);
            if (!t) { rc = GV_EFAIL; gv_err(err, "out of memory"); break; }
            snprintf(t->estimator, sizeof t->estimator, "%s", e->spec);
            t->K = K;
            t->seed = seed;
            t->step = step;
            t->f_evals = (double)ev.n_f, t->ftilde_evals = (double)ev.n_ftilde, t->grad_evals = (double)ev.n_grad;
            t->seconds = a->timing ? gv_now_s() - t0 : NAN;
            if (record(t, p, &pt, x, NX, gx, a->max_states, &ex)) break; /* the row says why; the run goes on */
            recorded = 1;
            /* basket self: this trajectory's own estimator, at --basket-K or the trajectory's K */
            const int nbk = a->n_basket_K ? a->n_basket_K : 1;
            for (int bk = 0; bk < a->n_basket * nbk && !rc; bk++) {
                const int b = bk / nbk, bK = a->n_basket_K ? a->basket_K[bk % nbk] : K;
                const char *bname = a->basket_self ? es_text : a->basket[b];
                gv_row *row = push_basket(o);
                if (!row) { rc = GV_EFAIL; gv_err(err, "out of memory"); break; }
                gv_engine_opts eo = {.R = a->basket_R, .W = a->W, .seed = gv_hash_mix(seed, (uint64_t)step),
                                     .rng = gv_rng_default(), .timing = a->timing};
                char msg[GV_ERRLEN];
                if (gv_run_cell(p, &pt, &ex, bname, bK, &eo, 0, row, msg)) {
                    o->nb--;
                    rc = GV_EUSAGE;
                    gv_err(err, "%s", msg);
                    break;
                }
                gv_row_set_step(row, step, seed);
            }
        }
        if (rc || last) break;
        /* checkpoint: at most once a second (rewriting a growing file at every record of a long
         * run is quadratic); the trajectory's end always saves (gv_train_run) */
        if (recorded && a->out && gv_now_s() - last_save >= 1.0) {
            if (save_all(a, p, o, meta, err)) { rc = GV_EFAIL; break; }
            last_save = gv_now_s();
        }
        if (e->type->schedule) e->type->schedule(e->state, step);
        memset(g, 0, (size_t)PG * sizeof(double));
        if (e->type->estimate(e->state, &ev, K, r, g)) {
            end_row(o, e->spec, K, seed, step, "error", "the estimator failed");
            break;
        }
        int finite = 1;
        for (int q = 0; q < PG; q++) finite &= isfinite(g[q]) != 0;
        if (NM) { /* the model's stochastic gradient from K fresh samples of q at this point */
            memset(gth, 0, (size_t)NM * sizeof(double));
            for (int k = 0; k < K; k++) {
                gv_sample(&pt, r, zs);
                p->type->model_grad(p, &pt, zs, 1.0 / K, gth);
            }
            for (int q = 0; q < NM; q++) finite &= isfinite(gth[q]) != 0;
        }
        if (!finite) {
            end_row(o, e->spec, K, seed, step, "nonfinite", "non-finite gradient estimate; trajectory stopped");
            break;
        }
        if (e->type->adapt) e->type->adapt(e->state, &ev);
        if (outer && !wphi) p->type->outer_vjp(p, g, gx);
        else memcpy(gx, g, (size_t)NX * sizeof(double));
        b1t *= ADAM_B1, b2t *= ADAM_B2;
        for (int q = 0; q < NX; q++) x[q] += sign * a->lr * opt_step(a->opt, gx[q], &m1[q], &m2[q], b1t, b2t);
        if (NM) {
            for (int q = 0; q < NM; q++) th[q] += sign * a->model_lr * opt_step(a->opt, gth[q], &n1[q], &n2[q], b1t, b2t);
            p->type->model_set(p, th);
        }
        if (p->type->next_batch && p->type->next_batch(p, rd)) {
            rc = GV_EFAIL, gv_err(err, "%s: drawing a batch failed", p->spec);
            break;
        }
        if (outer) p->type->outer_map(p, x, eta);
        else memcpy(eta, x, (size_t)P * sizeof(double));
        gv_point_set(&pt, eta);
    }
    if (!rc && a->save_params) { /* the trained model (installed) and phi */
        double *keep = p->phi;
        if (outer) p->phi = x;
        rc = gv_atomic_write(a->save_params, w_params, p, err);
        p->phi = keep;
    }
    gv_exact_free(&ex);
    gv_point_free(&pt);
    free(eta), free(g), free(x), free(gx), free(m1), free(m2), free(th), free(gth), free(n1), free(n2), free(zs);
    gsl_rng_free(r), gsl_rng_free(rd);
    gv_estimator_free(e);
    return rc;
}

static void summarise(const train_out *o, gv_traj_summary **out, int *n)
{
    *out = NULL;
    *n = 0;
    gv_traj_summary *s = calloc((size_t)(o->n + o->nb + 1), sizeof *s);
    if (!s) return;
    int k = -1;
    for (int i = 0; i < o->n; i++) {
        const traj_row *t = &o->rows[i];
        if (k < 0 || strcmp(s[k].estimator, t->estimator) || s[k].K != t->K || s[k].seed != t->seed) {
            k++;
            snprintf(s[k].estimator, sizeof s[k].estimator, "%s", t->estimator);
            s[k].K = t->K;
            s[k].seed = t->seed;
            for (int q = 0; q < 4; q++) s[k].eval[q] = NAN;
            s[k].first = t->objective;
            s[k].best = INFINITY, s[k].worst = -INFINITY;
            s[k].status = "ok";
            s[k].message[0] = 0;
        }
        s[k].last_step = t->step;
        if (!strcmp(t->status, "ok")) {
            s[k].final = t->objective;
            if (t->objective < s[k].best) s[k].best = t->objective;
            if (t->objective > s[k].worst) s[k].worst = t->objective;
            if (t->step > 0) s[k].evals_per_step = (t->f_evals + t->ftilde_evals + t->grad_evals) / t->step;
            for (int q = 0; q < 4; q++) s[k].eval[q] = t->eval[q];
        } else {
            s[k].status = t->status;
            snprintf(s[k].message, sizeof s[k].message, "%s", t->message);
        }
    }
    const int nt = k + 1; /* basket summaries follow, one per (estimator, K) in first-seen order */
    for (int i = 0; i < o->nb; i++) {
        const gv_row *b = &o->basket[i];
        int j;
        for (j = nt; j <= k && (strcmp(s[j].estimator, b->estimator) || s[j].K != b->K || s[j].seed != b->seed); j++) {}
        if (j > k) {
            k = j;
            s[j].basket = 1;
            snprintf(s[j].estimator, sizeof s[j].estimator, "%s", b->estimator);
            s[j].K = b->K;
            s[j].seed = b->seed;
            for (int q = 0; q < 4; q++) s[j].eval[q] = NAN;
            s[j].first = b->s.var_mean;
            s[j].best = INFINITY, s[j].worst = -INFINITY;
            s[j].status = b->status;
            snprintf(s[j].message, sizeof s[j].message, "%s", strcmp(b->status, "ok") ? b->message : "");
        }
        s[j].last_step = b->step;
        s[j].final = b->s.var_mean;
        s[j].outer_final = b->outer ? b->outer->s.var_mean : NAN;
        s[j].evals_per_step = b->s.f_evals;
        if (b->s.var_mean < s[j].best) s[j].best = b->s.var_mean;
        if (b->s.var_mean > s[j].worst) s[j].worst = b->s.var_mean;
    }
    *out = s;
    *n = k + 1;
}

int gv_train_run(int argc, char **argv, int validate_only, gv_traj_summary **sum, int *nsum, char *err)
{
    train_args a;
    if (sum) *sum = NULL, *nsum = 0;
    int rc = train_parse(argc, argv, &a, err);
    if (rc) {
        train_args_free(&a);
        return rc;
    }
    if (a.threads) omp_set_num_threads(a.threads);
    gv_problem *p = NULL;
    rc = gv_problem_new(a.problem, &p, err);
    if (!rc && a.save_params && !p->type->dump_params)
        rc = GV_EUSAGE, gv_err(err, "--save-params: problem %s has no parameter file format", p->type->name);
    /* every name, option and K rule is checked before any trajectory runs */
    for (int i = 0; i < a.n_est + (a.basket_self ? 0 : a.n_basket) && !rc; i++) {
        gv_spec es;
        gv_estimator *e = NULL;
        const char *txt = i < a.n_est ? a.estimators[i] : a.basket[i - a.n_est];
        rc = gv_spec_parse(txt, &es, err);
        int basket = i >= a.n_est, pin = basket ? 0 : a.est_K[i], nk = basket ? a.n_basket_K : pin ? 1 : a.n_K;
        int ok = 0, rk = 0;
        for (int k = 0; k < nk && !rc; k++) { /* every estimator must run at one of its K values at least */
            rk = gv_estimator_new(&es, p, basket ? a.basket_K[k] : pin ? pin : a.K[k], &e, err);
            gv_estimator_free(e), e = NULL;
            if (rk == GV_OK) ok = 1;
            else if (rk > 0) rc = rk;
        }
        if (!rc && !ok) rc = GV_EUSAGE; /* incompatible with this problem or every K (err says why) */
        gv_estimator_free(e);
    }
    if (validate_only || rc) {
        gv_problem_free(p);
        train_args_free(&a);
        return rc;
    }
    char *cmd = gv_cli_join(argc, argv);
    train_out o = {0};
    gv_meta meta = {.seed = a.seed, .rng = gv_rng_default()->name, .command = cmd, .R = a.basket_R, .W = a.W,
                    .cells_total = 0};
    for (int i = 0; i < a.n_est; i++) meta.cells_total += (a.est_K[i] ? 1 : a.n_K) * a.n_seeds;
    double *theta0 = NULL; /* the model's initial parameters, reinstalled for every trajectory */
    if (p->n_model > 0 && !(theta0 = malloc((size_t)p->n_model * sizeof *theta0)))
        rc = GV_EFAIL, gv_err(err, "out of memory");
    if (theta0) p->type->model_get(p, theta0);
    for (int i = 0; i < a.n_est && !rc; i++)
        for (int k = 0; k < (a.est_K[i] ? 1 : a.n_K) && !rc; k++)
            for (int sd = 0; sd < a.n_seeds && !rc; sd++) {
                rc = trajectory(&a, p, a.estimators[i], a.est_K[i] ? a.est_K[i] : a.K[k], a.seeds[sd], theta0, &o,
                                &meta, err);
                meta.cells_done++;
                if (!rc && a.out) rc = save_all(&a, p, &o, &meta, err);
            }
    if (theta0) p->type->model_set(p, theta0);
    free(theta0);
    if (!a.out && o.n) {
        write_traj(stdout, o.rows, o.n, p->spec);
        if (a.n_basket) gv_write_rows(stdout, o.basket, o.nb);
    }
    if (sum) summarise(&o, sum, nsum);
    for (int i = 0; i < o.nb; i++) gv_row_free(&o.basket[i]);
    free(o.basket);
    free(o.rows);
    free(cmd);
    gv_problem_free(p);
    train_args_free(&a);
    return rc;
}

int gv_cmd_train(int argc, char **argv)
{
    char err[GV_ERRLEN];
    int rc = gv_train_run(argc, argv, 0, NULL, NULL, err);
    if (rc == -2) return fputs(train_usage, stdout), GV_OK;
    if (rc) fprintf(stderr, "gradvar train: %s\n", err);
    return rc;
}
