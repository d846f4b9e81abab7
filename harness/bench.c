/* bench.c — `gradvar bench [SUITE]`: run every entry of a suite file, write DIR/NAME.csv (+ .meta)
 * per entry and DIR/REPORT.md.  Suite format (line-oriented):
 *     # comment            blank lines and '#' lines are ignored
 *     NAME [figures=K1,K2] [train|smc] ARGS...
 *          NAME = [A-Za-z0-9_-]+, unique; ARGS = arguments of `gradvar run` (or of `gradvar train`
 *          after the word train, of `gradvar smc` after the word smc), without -o; figures= the
 *          figure kinds to draw (plots/KIND.gp; default var-vs-K,bias-var for run entries,
 *          trajectory for train entries, evidence for smc entries); a trailing backslash continues
 *          the line.
 * Every line is parsed and validated before anything runs.  Besides DIR/NAME.csv (+ .meta) and
 * DIR/REPORT.md, bench writes DIR/figures.mk: one make rule per (entry, figure), which
 * `make plots` includes. */
#include <ctype.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "harness/cli.h"

const char *const gv_figure_kinds[] = {"basket",   "basket-theta", "bias-var",   "budget",          "coord-var",
                                       "cosine",   "cost-sweep",   "evidence",   "learning",        "M-sweep",
                                       "tau-sweep", "trajectory",  "trajectory-cost", "trunc",       "var-vs-K", NULL};
/* The file a figure kind reads: the entry's CSV, its FILE.basket.csv (basket kinds), its
 * FILE.coord.csv (coord-var: a run entry with --per-coord) or its FILE.seeds.csv (learning: a train
 * entry over several seeds or on a problem with held-out sets). */
static const char *figure_input(const char *kind)
{
    return !strncmp(kind, "basket", 6) ? ".basket.csv" : !strcmp(kind, "coord-var") ? ".coord.csv"
           : !strcmp(kind, "learning") ? ".seeds.csv" : ".csv";
}
static const char *const run_figures[] = {"var-vs-K", "bias-var", NULL};
static const char *const train_figures[] = {"trajectory", NULL};
static const char *const smc_figures[] = {"evidence", NULL};

typedef struct {
    char name[128];
    int line;
    int train, smc;
    const char *figs[8];
    char figbuf[256];
    char *text;   /* owns the tokens */
    int argc;
    char *argv[256];
    char out[4096];
    gv_run_args args;
} entry_t;

static const char bench_usage[] =
    "usage: gradvar bench [SUITE] [--out DIR] [--seed S] [--threads N] [--no-timing] [--check] [-q]\n"
    "Runs each line of SUITE (default bench/default.suite): 'NAME [figures=..] [train|smc] <arguments>'\n"
    "(the arguments of gradvar run, or of gradvar train / gradvar smc after that word).\n"
    "Writes DIR/NAME.csv and DIR/NAME.meta per entry (default DIR = results) and DIR/REPORT.md.\n"
    "--seed overrides every entry's seed; figures are drawn by `make plots`.\n"
    "--check validates every line (names, options, figure kinds, data files) and runs nothing.\n";

static int read_suite(const char *path, entry_t **out, int *n, char *err)
{
    FILE *f = fopen(path, "r");
    if (!f) return gv_err(err, "cannot open suite file %s", path), GV_EUSAGE;
    entry_t *E = NULL;
    int cap = 0, cnt = 0, lineno = 0, start = 0;
    char buf[8192], acc[16384];
    acc[0] = 0;
    int rc = GV_OK;
    while (fgets(buf, sizeof buf, f)) {
        lineno++;
        size_t l = strlen(buf);
        if (l == sizeof buf - 1 && buf[l - 1] != '\n') {
            rc = GV_EUSAGE;
            gv_err(err, "%s:%d: line too long", path, lineno);
            break;
        }
        while (l && isspace((unsigned char)buf[l - 1])) buf[--l] = 0;
        if (!acc[0]) start = lineno;
        int cont = l && buf[l - 1] == '\\';
        if (cont) buf[--l] = 0;
        if (strlen(acc) + l + 2 >= sizeof acc) {
            rc = GV_EUSAGE;
            gv_err(err, "%s:%d: entry too long", path, lineno);
            break;
        }
        strcat(acc, buf);
        strcat(acc, " ");
        if (cont) continue;
        char *s = acc;
        while (isspace((unsigned char)*s)) s++;
        if (!*s || *s == '#') {
            acc[0] = 0;
            continue;
        }
        if (cnt == cap) {
            cap = cap ? 2 * cap : 16;
            entry_t *ne = realloc(E, (size_t)cap * sizeof *E);
            if (!ne) {
                rc = GV_EFAIL;
                gv_err(err, "out of memory");
                break;
            }
            E = ne;
        }
        entry_t *e = &E[cnt];
        memset(e, 0, sizeof *e);
        e->line = start;
        e->text = strdup(s);
        cnt++;
        char *save = NULL;
        char *tok = strtok_r(e->text, " \t", &save);
        if (strlen(tok) >= sizeof e->name) {
            rc = GV_EUSAGE;
            gv_err(err, "%s:%d: entry name too long", path, start);
            break;
        }
        for (const char *c = tok; *c; c++)
            if (!isalnum((unsigned char)*c) && *c != '-' && *c != '_') {
                rc = GV_EUSAGE;
                gv_err(err, "%s:%d: entry name '%s' may contain only letters, digits, '-' and '_'", path, start,
                            tok);
                break;
            }
        if (rc) break;
        strcpy(e->name, tok);
        for (int k = 0; k < cnt - 1; k++)
            if (!strcmp(E[k].name, e->name)) {
                rc = GV_EUSAGE;
                gv_err(err, "%s:%d: entry name '%s' already used on line %d", path, start, e->name, E[k].line);
                break;
            }
        if (rc) break;
        tok = strtok_r(NULL, " \t", &save);
        if (tok && !strncmp(tok, "figures=", 8)) {
            snprintf(e->figbuf, sizeof e->figbuf, "%s", tok + 8);
            int nf = 0;
            char *fs = NULL;
            for (char *fk = strtok_r(e->figbuf, ",", &fs); fk; fk = strtok_r(NULL, ",", &fs)) {
                const char *known = NULL; /* point at the static name: E may be reallocated */
                for (int k = 0; gv_figure_kinds[k]; k++)
                    if (!strcmp(gv_figure_kinds[k], fk)) known = gv_figure_kinds[k];
                if (!known || nf == 7) {
                    rc = GV_EUSAGE;
                    if (known) {
                        gv_err(err, "%s:%d: at most 7 figure kinds per entry", path, start);
                    } else {
                        char kinds[256] = "";
                        for (int k = 0; gv_figure_kinds[k]; k++)
                            snprintf(kinds + strlen(kinds), sizeof kinds - strlen(kinds), "%s%s", k ? ", " : "",
                                     gv_figure_kinds[k]);
                        gv_err(err, "%s:%d: unknown figure kind '%s'; valid kinds: %s", path, start, fk, kinds);
                    }
                    break;
                }
                e->figs[nf++] = known;
            }
            if (rc) break;
            tok = strtok_r(NULL, " \t", &save);
        }
        if (tok && (!strcmp(tok, "train") || !strcmp(tok, "smc"))) {
            e->train = !strcmp(tok, "train"), e->smc = !e->train;
            tok = strtok_r(NULL, " \t", &save);
        }
        const char *const *defaults = e->train ? train_figures : e->smc ? smc_figures : run_figures;
        if (!e->figs[0])
            for (int k = 0; defaults[k]; k++) e->figs[k] = defaults[k];
        e->argv[e->argc++] = e->train ? "train" : e->smc ? "smc" : "run";
        for (; tok; tok = strtok_r(NULL, " \t", &save)) {
            if (e->argc >= 240) {
                rc = GV_EUSAGE;
                gv_err(err, "%s:%d: too many arguments", path, start);
                break;
            }
            if (!strcmp(tok, "-o") || !strncmp(tok, "--output", 8)) {
                rc = GV_EUSAGE;
                gv_err(err, "%s:%d: -o is set by bench (DIR/NAME.csv); remove it", path, start);
                break;
            }
            e->argv[e->argc++] = tok;
        }
        if (rc) break;
        acc[0] = 0;
    }
    fclose(f);
    if (!rc && cnt == 0) {
        rc = GV_EUSAGE;
        gv_err(err, "suite %s has no entries", path);
    }
    *out = E;
    *n = cnt;
    return rc;
}

/* DIR/figures.mk: explicit make rules, one per (entry, figure kind), PNG and SVG. */
static int write_figures_mk(const char *dir, const entry_t *E, int n, char *err)
{
    char path[4200], tmp[4300];
    snprintf(path, sizeof path, "%s/figures.mk", dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) return gv_err(err, "cannot write %s", tmp), GV_EFAIL;
    fprintf(f, "# generated by gradvar bench: figures of the last suite run (included by `make plots`)\n");
    for (int i = 0; i < n; i++)
        for (int k = 0; E[i].figs[k]; k++)
            for (int t = 0; t < 2; t++) {
                const char *ext = t ? "svg" : "png";
                const char *in = figure_input(E[i].figs[k]);
                fprintf(f, "GV_FIGURES += plots/%s-%s.%s\nplots/%s-%s.%s: %s/%s%s plots/%s.gp\n"
                           "\tgnuplot -c plots/%s.gp %s/%s%s $@ %s\n",
                        E[i].name, E[i].figs[k], ext, E[i].name, E[i].figs[k], ext, dir, E[i].name, in,
                        E[i].figs[k], E[i].figs[k], dir, E[i].name, in, ext);
            }
    int bad = ferror(f);
    if (fclose(f) || bad || rename(tmp, path)) return gv_err(err, "cannot write %s", path), GV_EFAIL;
    return GV_OK;
}

int gv_cmd_bench(int argc, char **argv)
{
    static const struct option lo[] = {{"out", required_argument, 0, 'o'},   {"seed", required_argument, 0, 's'},
                                       {"threads", required_argument, 0, 't'}, {"no-timing", no_argument, 0, 'n'},
                                       {"quiet", no_argument, 0, 'q'},         {"help", no_argument, 0, 'h'},
                                       {"check", no_argument, 0, 'c'},         {0, 0, 0, 0}};
    const char *dir = "results", *seed = NULL, *threads = NULL;
    int notiming = 0, quiet = 0, check = 0, c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":o:qh", lo, NULL)) != -1) {
        switch (c) {
        case 'o': dir = optarg; break;
        case 's': seed = optarg; break;
        case 't': threads = optarg; break;
        case 'n': notiming = 1; break;
        case 'q': quiet = 1; break;
        case 'c': check = 1; break;
        case 'h': return fputs(bench_usage, stdout), GV_OK;
        case ':': return fprintf(stderr, "gradvar bench: option %s needs a value\n", argv[optind - 1]), GV_EUSAGE;
        default: return fprintf(stderr, "gradvar bench: unknown option '%s'\n%s", argv[optind - 1], bench_usage), GV_EUSAGE;
        }
    }
    if (argc - optind > 1) return fprintf(stderr, "gradvar bench: only one suite file, got '%s' too\n", argv[optind + 1]), GV_EUSAGE;
    const char *suite = optind < argc ? argv[optind] : "bench/default.suite";
    char err[GV_ERRLEN];
    entry_t *E = NULL;
    int n = 0;
    int rc = read_suite(suite, &E, &n, err);
    if (!rc && !check) mkdir(dir, 0777); /* may exist already: checked next */
    struct stat st;
    if (!rc && !check && (stat(dir, &st) || !S_ISDIR(st.st_mode))) {
        rc = GV_EFAIL;
        gv_err(err, "output directory %s cannot be created", dir);
    }
    for (int i = 0; i < n && !rc; i++) { /* validate everything first */
        entry_t *e = &E[i];
        snprintf(e->out, sizeof e->out, "%s/%s.csv", dir, e->name);
        e->argv[e->argc++] = "-o";
        e->argv[e->argc++] = e->out;
        if (seed) e->argv[e->argc++] = "--seed", e->argv[e->argc++] = (char *)seed;
        if (threads) e->argv[e->argc++] = "--threads", e->argv[e->argc++] = (char *)threads;
        if (notiming) e->argv[e->argc++] = "--no-timing";
        if (quiet) e->argv[e->argc++] = "-q";
        char perr[GV_ERRLEN];
        int prc;
        if (e->train) {
            prc = gv_train_run(e->argc, e->argv, 1, NULL, NULL, perr);
        } else if (e->smc) {
            prc = gv_smc_main(e->argc, e->argv, 1, NULL, NULL, perr);
        } else {
            prc = gv_run_parse(e->argc, e->argv, &e->args, perr);
            if (!prc) prc = gv_run_validate(&e->args, perr);
        }
        for (int k = 0; !prc && e->figs[k]; k++)
            if (!strcmp(e->figs[k], "coord-var") && (e->train || !e->args.per_coord)) {
                prc = GV_EUSAGE;
                snprintf(perr, sizeof perr, "figure coord-var needs a run entry with --per-coord (it reads %s.coord.csv)",
                         e->name);
            } else if (!strcmp(e->figs[k], "learning") && !e->train) {
                prc = GV_EUSAGE;
                snprintf(perr, sizeof perr, "figure learning needs a train entry (it reads %s.seeds.csv)", e->name);
            } else if ((strcmp(e->figs[k], "evidence") == 0) != e->smc) {
                prc = GV_EUSAGE;
                snprintf(perr, sizeof perr, e->smc ? "figure %s cannot be drawn from an smc entry (its kind: evidence)"
                                                   : "figure %s needs an smc entry (the word smc before the arguments)",
                         e->figs[k]);
            }
        if (prc) {
            rc = GV_EUSAGE;
            gv_err(err, "%s:%d (%s): %s", suite, e->line, e->name, prc == -2 ? "--help in a suite" : perr);
        }
    }
    if (check) {
        if (rc) fprintf(stderr, "gradvar bench: %s\n", err);
        else printf("%s: %d entries, all valid\n", suite, n);
        for (int i = 0; i < n; i++) gv_run_args_free(&E[i].args), free(E[i].text);
        free(E);
        return rc;
    }
    gv_report_entry *rep = calloc((size_t)(n ? n : 1), sizeof *rep);
    gv_row **rows = calloc((size_t)(n ? n : 1), sizeof *rows);
    int *nrows = calloc((size_t)(n ? n : 1), sizeof *nrows);
    gv_traj_summary **trajs = calloc((size_t)(n ? n : 1), sizeof *trajs);
    int *ntrajs = calloc((size_t)(n ? n : 1), sizeof *ntrajs);
    gv_smc_row **smcs = calloc((size_t)(n ? n : 1), sizeof *smcs);
    int *nsmcs = calloc((size_t)(n ? n : 1), sizeof *nsmcs);
    int done = 0;
    for (int i = 0; i < n && !rc; i++) {
        entry_t *e = &E[i];
        if (!quiet) fprintf(stderr, "gradvar bench: [%d/%d] %s\n", i + 1, n, e->name);
        char cmd[8192] = "gradvar";
        for (int k = 0; k < e->argc; k++) strncat(strncat(cmd, " ", sizeof cmd - strlen(cmd) - 1), e->argv[k], sizeof cmd - strlen(cmd) - 1);
        char xerr[GV_ERRLEN];
        int xrc;
        if (e->train) xrc = gv_train_run(e->argc, e->argv, 0, &trajs[i], &ntrajs[i], xerr);
        else if (e->smc) xrc = gv_smc_main(e->argc, e->argv, 0, &smcs[i], &nsmcs[i], xerr);
        else xrc = gv_run_exec(&e->args, cmd, &rows[i], &nrows[i], xerr);
        if (xrc) {
            rc = xrc;
            gv_err(err, "%s:%d (%s): %s", suite, e->line, e->name, xerr);
        }
        rep[i] = (gv_report_entry){.name = e->name, .rows = rows[i], .n = nrows[i], .R = e->args.R,
                                   .traj = trajs[i], .ntraj = ntrajs[i], .figures = e->figs,
                                   .smc = smcs[i], .nsmc = nsmcs[i]};
        done = i + 1;
    }
    if (done) { /* the report covers whatever finished */
        char rpath[4200], rerr[GV_ERRLEN];
        snprintf(rpath, sizeof rpath, "%s/REPORT.md", dir);
        if (write_figures_mk(dir, E, done, rerr) || gv_write_report(rpath, suite, rep, done, rerr)) {
            fprintf(stderr, "gradvar bench: %s\n", rerr);
            if (!rc) rc = GV_EFAIL;
        } else if (!quiet) {
            fprintf(stderr, "gradvar bench: wrote %d result files and %s\n", done, rpath);
        }
    }
    if (rc) fprintf(stderr, "gradvar bench: %s\n", err);
    for (int i = 0; i < n; i++) {
        if (rows[i]) gv_rows_free(rows[i], nrows[i]);
        free(trajs[i]);
        free(smcs[i]);
        gv_run_args_free(&E[i].args);
        free(E[i].text);
    }
    free(rows), free(nrows), free(trajs), free(ntrajs), free(smcs), free(nsmcs), free(rep), free(E);
    return rc;
}
