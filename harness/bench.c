/* bench.c — `gradvar bench [SUITE]`: run every entry of a suite file, write DIR/NAME.csv (+ .meta)
 * per entry and DIR/REPORT.md.  Suite format (line-oriented):
 *     # comment            blank lines and '#' lines are ignored
 *     NAME  ARGS...        NAME = [A-Za-z0-9_-]+, unique; ARGS = arguments of `gradvar run`
 *                          (without -o); a trailing backslash continues the line.
 * Every line is parsed and validated before anything runs. */
#include <ctype.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "harness/cli.h"

typedef struct {
    char name[128];
    int line;
    char *text;   /* owns the tokens */
    int argc;
    char *argv[256];
    char out[4096];
    gv_run_args args;
} entry_t;

static const char bench_usage[] =
    "usage: gradvar bench [SUITE] [--out DIR] [--seed S] [--threads N] [--no-timing] [-q]\n"
    "Runs each line of SUITE (default bench/default.suite): 'NAME  <gradvar run arguments>'.\n"
    "Writes DIR/NAME.csv and DIR/NAME.meta per entry (default DIR = results) and DIR/REPORT.md.\n"
    "--seed overrides every entry's seed; figures are drawn by `make plots`.\n";

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
        e->argv[e->argc++] = "run";
        while ((tok = strtok_r(NULL, " \t", &save))) {
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

int gv_cmd_bench(int argc, char **argv)
{
    static const struct option lo[] = {{"out", required_argument, 0, 'o'},   {"seed", required_argument, 0, 's'},
                                       {"threads", required_argument, 0, 't'}, {"no-timing", no_argument, 0, 'n'},
                                       {"quiet", no_argument, 0, 'q'},         {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
    const char *dir = "results", *seed = NULL, *threads = NULL;
    int notiming = 0, quiet = 0, c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":o:qh", lo, NULL)) != -1) {
        switch (c) {
        case 'o': dir = optarg; break;
        case 's': seed = optarg; break;
        case 't': threads = optarg; break;
        case 'n': notiming = 1; break;
        case 'q': quiet = 1; break;
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
    if (!rc) mkdir(dir, 0777); /* may exist already: checked next */
    struct stat st;
    if (!rc && (stat(dir, &st) || !S_ISDIR(st.st_mode))) {
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
        int prc = gv_run_parse(e->argc, e->argv, &e->args, perr);
        if (!prc) prc = gv_run_validate(&e->args, perr);
        if (prc) {
            rc = GV_EUSAGE;
            gv_err(err, "%s:%d (%s): %s", suite, e->line, e->name, prc == -2 ? "--help in a suite" : perr);
        }
    }
    gv_report_entry *rep = calloc((size_t)(n ? n : 1), sizeof *rep);
    gv_row **rows = calloc((size_t)(n ? n : 1), sizeof *rows);
    int *nrows = calloc((size_t)(n ? n : 1), sizeof *nrows);
    int done = 0;
    for (int i = 0; i < n && !rc; i++) {
        entry_t *e = &E[i];
        if (!quiet) fprintf(stderr, "gradvar bench: [%d/%d] %s\n", i + 1, n, e->name);
        char cmd[8192] = "gradvar";
        for (int k = 0; k < e->argc; k++) strncat(strncat(cmd, " ", sizeof cmd - strlen(cmd) - 1), e->argv[k], sizeof cmd - strlen(cmd) - 1);
        char xerr[GV_ERRLEN];
        int xrc = gv_run_exec(&e->args, cmd, &rows[i], &nrows[i], xerr);
        if (xrc) {
            rc = xrc;
            gv_err(err, "%s:%d (%s): %s", suite, e->line, e->name, xerr);
        }
        rep[i] = (gv_report_entry){.name = e->name, .rows = rows[i], .n = nrows[i], .R = e->args.R};
        done = i + 1;
    }
    if (done) { /* the report covers whatever finished */
        char rpath[4200], rerr[GV_ERRLEN];
        snprintf(rpath, sizeof rpath, "%s/REPORT.md", dir);
        if (gv_write_report(rpath, suite, rep, done, rerr)) {
            fprintf(stderr, "gradvar bench: %s\n", rerr);
            if (!rc) rc = GV_EFAIL;
        } else if (!quiet) {
            fprintf(stderr, "gradvar bench: wrote %d result files and %s\n", done, rpath);
        }
    }
    if (rc) fprintf(stderr, "gradvar bench: %s\n", err);
    for (int i = 0; i < n; i++) {
        if (rows[i]) gv_rows_free(rows[i], nrows[i]);
        gv_run_args_free(&E[i].args);
        free(E[i].text);
    }
    free(rows), free(nrows), free(rep), free(E);
    return rc;
}
