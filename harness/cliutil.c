/* cliutil.c — small pieces shared by the subcommands (run, train, bench). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness/cli.h"

int gv_cli_estimators(const char *arg, char **dst, int *n, int cap, char *err)
{
    /* with ':' the argument is one estimator with options; else a comma-separated list of names */
    if (strchr(arg, ':')) {
        if (*n >= cap) return gv_err(err, "too many estimators (limit %d)", cap), GV_EUSAGE;
        if (!(dst[*n] = strdup(arg))) return gv_err(err, "out of memory"), GV_EFAIL;
        (*n)++;
        return GV_OK;
    }
    char *copy = strdup(arg), *save = NULL;
    if (!copy) return gv_err(err, "out of memory"), GV_EFAIL;
    for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (*n >= cap) {
            free(copy);
            return gv_err(err, "too many estimators (limit %d)", cap), GV_EUSAGE;
        }
        dst[(*n)++] = strdup(t);
    }
    free(copy);
    return GV_OK;
}

int gv_cli_pinned_K(char **spec, int *K, char *err)
{
    gv_spec s;
    *K = 0;
    if (gv_spec_parse(*spec, &s, err)) return GV_EUSAGE;
    int i = 0;
    while (i < s.n && strcmp(s.key[i], "K")) i++;
    if (i == s.n) return GV_OK;
    char *end;
    long x = strtol(s.val[i], &end, 10);
    if (end == s.val[i] || *end || x < 1 || x > 1000000)
        return gv_err(err, "estimator %s: K=%s: expected an integer in [1, 1000000]", *spec, s.val[i]), GV_EUSAGE;
    s.key[i] = s.key[s.n - 1], s.val[i] = s.val[s.n - 1], s.n--;
    char canon[GV_SPECLEN], *d;
    gv_spec_canonical(&s, canon, sizeof canon);
    if (!(d = strdup(canon))) return gv_err(err, "out of memory"), GV_EFAIL;
    free(*spec);
    *spec = d;
    *K = (int)x;
    return GV_OK;
}

int gv_cli_klist(const char *opt, const char *arg, int *K, int *n, int cap, char *err)
{
    char *copy = strdup(arg), *save = NULL;
    if (!copy) return gv_err(err, "out of memory"), GV_EFAIL;
    for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        char *end;
        long x = strtol(t, &end, 10);
        if (*n >= cap || end == t || *end || x < 1 || x > 1000000) {
            if (*n >= cap) gv_err(err, "%s: too many K values (limit %d)", opt, cap);
            else gv_err(err, "%s %s: expected an integer in [1, 1000000]", opt, t);
            free(copy);
            return GV_EUSAGE;
        }
        K[(*n)++] = (int)x;
    }
    free(copy);
    return GV_OK;
}

int gv_cli_seed(const char *arg, uint64_t *seed, char *err)
{
    char *end;
    unsigned long long s = strtoull(arg, &end, 10);
    if (end == arg || *end || arg[0] == '-') return gv_err(err, "--seed %s: expected a non-negative integer", arg), GV_EUSAGE;
    *seed = s;
    return GV_OK;
}

char *gv_cli_join(int argc, char **argv)
{
    size_t len = 16;
    for (int i = 0; i < argc; i++) len += strlen(argv[i]) + 1;
    char *s = malloc(len);
    if (!s) return NULL;
    strcpy(s, "gradvar");
    for (int i = 0; i < argc; i++) strcat(strcat(s, " "), argv[i]);
    return s;
}

double gv_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}
