# evidence.gp — is the tempered-SMC evidence estimate unbiased?  E[Ẑ]/p(x) against K.
#
#   gnuplot -c plots/evidence.gp IN.csv OUT.png png
#   gnuplot -c plots/evidence.gp IN.csv OUT.svg svg
#
# IN is a file written by `gradvar smc` (schema: results/README.md, "gradvar smc"): per (problem,
# data point, config, K) the mean over independent sampler runs of Ẑ/p(x) (ratio_mean) and its
# standard error (ratio_se).  One panel per problem, drawing its group=all rows (the mean over the
# problem's data points); a problem without such rows (a single data point) gets one panel per data
# point.  One series per sampler configuration (the same colour in every panel), error bars ± 2 SE,
# x = K on a log2 axis, a dashed line at 1 (unbiased).  y is linear unless the panel spans more than
# a factor 20 (then log10, lower error bars clipped at a tenth of the value).  Rows whose status is not
# ok are skipped.  An empty / header-only file or one without the needed columns gives a placeholder
# figure (exit 0).
#
# Columns are found by header name.  Problem and config specs may hold commas (quoted fields), which
# strcol() truncates, so they are read through `with labels` tables, as in var-vs-K.gp.

epos(s) = strstrt(s, "e") > 0 ? strstrt(s, "e") : strstrt(s, "E")
tonum(s) = real((strstrt(s, ".") == 0 && epos(s) > 1 && strstrt(s, "n") == 0) ? s[1:epos(s)-1] . ".0" . s[epos(s):] : s)
if (ARGC < 2) {
    print "usage: gnuplot -c plots/evidence.gp IN.csv OUT.(png|svg) [png|svg]"
    exit status 2
}
IN  = ARG1
OUT = ARG2
KIND = (ARGC >= 3 && strlen(ARG3) > 0) ? ARG3 : (OUT[strlen(OUT)-3:] eq ".svg" ? "svg" : "png")
if (KIND ne "png" && KIND ne "svg") {
    print sprintf("evidence.gp: terminal kind must be png or svg (got '%s')", KIND)
    exit status 2
}
isnan(x) = (x != x)
set datafile separator comma

NLINES = 0
set datafile nocolumnheaders
stats IN using (NLINES = NLINES + 1, 0) nooutput
set datafile columnheaders
NROWS = NLINES - 1

findcol(name, i) = (i > 200 || columnhead(i) eq "") ? 0 : (columnhead(i) eq name ? i : findcol(name, i+1))
C_PROB = 0; C_GRP = 0; C_CFG = 0; C_K = 0; C_RM = 0; C_RSE = 0; C_ST = 0; C_RUNS = 0
if (NROWS > 0) { stats IN every ::0::0 using (C_PROB = findcol("problem", 1), C_GRP = findcol("group", 1), \
    C_CFG = findcol("config", 1), C_K = findcol("K", 1), C_RM = findcol("ratio_mean", 1), \
    C_RSE = findcol("ratio_se", 1), C_ST = findcol("status", 1), C_RUNS = findcol("runs", 1), 0) nooutput }

FONT = "sans,10"
PLACEHOLDER = 'if (KIND eq "svg") { set term svg size 900,300 enhanced font FONT background "white" } ' . \
    'else { set term pngcairo size 900,300 enhanced font FONT }; ' . \
    'set output OUT; unset border; unset tics; unset key; set xrange [0:1]; set yrange [0:1]; ' . \
    'set label 1 sprintf("%s\n%s", IN, MSG) at graph 0.5, 0.5 center noenhanced; ' . \
    'plot 2 notitle; unset output'
if (NROWS <= 0 || C_PROB == 0 || C_GRP == 0 || C_CFG == 0 || C_K == 0 || C_RM == 0 || C_RSE == 0 || C_ST == 0) {
    MSG = (NROWS <= 0) ? "no data rows (or file unreadable)" : "required columns missing (problem, group, config, K, ratio_mean, ratio_se, status)"
    if (NROWS > 0) { print sprintf("evidence.gp: %s: %s; placeholder figure written", IN, MSG) }
    eval PLACEHOLDER
    exit
}

# ---- names: problem and config of every data row (row r = 1 + gnuplot's column 0) -----------
lastq(s, i) = (i < 1) ? 0 : (s[i:i] eq "\"" ? i : lastq(s, i-1))
quoted(s) = s[strstrt(s, "\"")+1 : lastq(s, strlen(s))-1]
isdata(s) = strlen(s) > 0 && s[1:1] ne "#" && strstrt(s, "\"") > 0
set xrange [-1:NROWS]
set yrange [-1:1]
set table $PNAMES
plot IN using 0:(0):C_PROB with labels
set table $CNAMES
plot IN using 0:(0):C_CFG with labels
# numbers: row, K, ratio, SE, ok?, group (-1 = all; NaN if neither a number nor "all"), runs
num(c) = (c > 0 && valid(c)) ? column(c) : NaN
grp(s) = s eq "all" ? -1 : (valid(C_GRP) ? column(C_GRP) : NaN)
set table $NUM
plot IN using 0:(num(C_K)):(num(C_RM)):(num(C_RSE)):(strcol(C_ST) eq "ok" ? 1 : 0):(grp(strcol(C_GRP))):(num(C_RUNS)) with table
unset table
set autoscale

array PI[NROWS]; array CI[NROWS]; array UPR[NROWS]; array UC[NROWS]
do for [r=1:NROWS] { PI[r] = 0; CI[r] = 0 }
NPR = 0; NC = 0
do for [i=1:|$PNAMES|] {
    L = $PNAMES[i]
    if (isdata(L)) {
        r = int(tonum(word(L, 1))) + 1; s = quoted(L); k = 0
        do for [j=1:NPR] { if (UPR[j] eq s) { k = j } }
        if (k == 0) { NPR = NPR + 1; UPR[NPR] = s; k = NPR }
        if (r >= 1 && r <= NROWS) { PI[r] = k }
    }
}
do for [i=1:|$CNAMES|] {
    L = $CNAMES[i]
    if (isdata(L)) {
        r = int(tonum(word(L, 1))) + 1; s = quoted(L); k = 0
        do for [j=1:NC] { if (UC[j] eq s) { k = j } }
        if (k == 0) { NC = NC + 1; UC[NC] = s; k = NC }
        if (r >= 1 && r <= NROWS) { CI[r] = k }
    }
}
if (NPR == 0 || NC == 0) {
    MSG = "no row has a problem and a config"
    eval PLACEHOLDER
    exit
}

# which problems have aggregate (group = all) rows
array HASALL[NPR]
do for [p=1:NPR] { HASALL[p] = 0 }
do for [i=1:|$NUM|] {
    L = $NUM[i]
    if (words(L) >= 7 && L[1:1] ne "#") {
        r = int(tonum(word(L, 1))) + 1
        if (tonum(word(L, 6)) == -1 && PI[r] > 0) { HASALL[PI[r]] = 1 }
    }
}

# panels: (problem, -1) for problems with aggregate rows, else (problem, group)
array PPR[NROWS]; array PGR[NROWS]; array PAN[NROWS]
do for [r=1:NROWS] { PAN[r] = 0 }
NP = 0; RMIN = NaN; RMAX = NaN; KMIN = NaN; KMAX = NaN
fmin(a, b) = isnan(a) ? b : (b < a ? b : a)
fmax(a, b) = isnan(a) ? b : (b > a ? b : a)
do for [i=1:|$NUM|] {
    L = $NUM[i]
    if (words(L) >= 7 && L[1:1] ne "#") {
        r = int(tonum(word(L, 1))) + 1
        K = tonum(word(L, 2)); v = tonum(word(L, 3)); ok = int(tonum(word(L, 5))); g = tonum(word(L, 6))
        q = PI[r]
        if (q > 0 && CI[r] > 0 && ok && K > 0 && !isnan(v) && !isnan(g) && (HASALL[q] ? g == -1 : g >= 0)) {
            k = 0
            do for [j=1:NP] { if (PPR[j] == q && PGR[j] == g) { k = j } }
            if (k == 0) { NP = NP + 1; PPR[NP] = q; PGR[NP] = g; k = NP }
            PAN[r] = k
            KMIN = fmin(KMIN, K); KMAX = fmax(KMAX, K)
            R = tonum(word(L, 7))
            if (!isnan(R)) { RMIN = fmin(RMIN, R); RMAX = fmax(RMAX, R) }
        }
    }
}
if (NP == 0) {
    MSG = "no plottable rows (every row has a status other than ok)"
    eval PLACEHOLDER
    exit
}

# $DATA: one index block per non-empty (panel, config); BLK = its block number
#   K  ratio  lo  hi      (lo, hi = ratio ∓ 2 SE; lo clipped at ratio/10 on log axes, below)
NG = NP * NC
array BLK[NG]; array YLO[NP]; array YHI[NP]; array YPOS[NP]
do for [p=1:NP] { YLO[p] = NaN; YHI[p] = NaN; YPOS[p] = NaN }
do for [i=1:|$NUM|] {
    L = $NUM[i]
    if (words(L) >= 7 && L[1:1] ne "#") {
        r = int(tonum(word(L, 1))) + 1
        if (PAN[r] > 0) {
            p = PAN[r]; v = tonum(word(L, 3)); se = tonum(word(L, 4)); se = isnan(se) ? 0 : se
            YLO[p] = fmin(YLO[p], v - 2 * se); YHI[p] = fmax(YHI[p], v + 2 * se)
            if (v > 0) { YPOS[p] = fmin(YPOS[p], v) }
        }
    }
}
# a log axis when the panel spans more than a factor 20 (1 is always in view)
array LOGY[NP]
do for [p=1:NP] {
    YHI[p] = fmax(YHI[p], 1.0); YLO[p] = fmin(YLO[p], 1.0)
    LOGY[p] = (!isnan(YPOS[p]) && YHI[p] / fmin(YPOS[p], 1.0) > 20) ? 1 : 0
}
NBLK = 0
set print $DATA
do for [p=1:NP] {
    do for [c=1:NC] {
        g = (p - 1) * NC + c
        BLK[g] = -1
        n = 0
        do for [i=1:|$NUM|] {
            L = $NUM[i]
            if (words(L) >= 7 && L[1:1] ne "#") {
                r = int(tonum(word(L, 1))) + 1
                if (PAN[r] == p && CI[r] == c) {
                    K = tonum(word(L, 2)); v = tonum(word(L, 3)); se = tonum(word(L, 4)); se = isnan(se) ? 0 : se
                    lo = v - 2 * se
                    if (LOGY[p] && lo <= v / 10.0) { lo = v / 10.0 }
                    print sprintf("%.10g %.10g %.10g %.10g", K, v, lo, v + 2 * se)
                    n = n + 1
                }
            }
        }
        if (n > 0) { print ""; print ""; BLK[g] = NBLK; NBLK = NBLK + 1 }
    }
}
unset print

set datafile separator whitespace
set datafile nocolumnheaders

# ---- layout: two panels per row -------------------------------------------------------------
NCOL = (NP >= 2) ? 2 : 1
NROWP = (NP + NCOL - 1) / NCOL
W = 560 * NCOL
H = 70 + 430 * NROWP
if (KIND eq "svg") { set term svg size W,H enhanced font FONT background "white" } \
else { set term pngcairo size W,H enhanced font FONT }
set output OUT
PSCALE = (KIND eq "svg") ? 0.7 : 1.0
array COL[8] = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#8C564B"]
array PT[8] = [7, 5, 9, 11, 13, 15, 4, 6]
do for [c=1:NC] {
    eval sprintf("set linetype %d lc rgb '%s' lw 1.6 pt %d ps %.2f dt %d", c, COL[(c-1) % 8 + 1], PT[(c-1) % 8 + 1], \
        0.9 * PSCALE, ((c-1) / 8) % 4 + 1)
}
# runs behind a plotted point (the mean panels' rows sum the runs of every data point)
RTXT = isnan(RMIN) ? "" : (RMIN == RMAX ? sprintf("%d sampler runs behind each point", RMIN) : sprintf("%d–%d sampler runs behind each point", RMIN, RMAX))
set multiplot layout NROWP, NCOL title sprintf("%s — E[Ẑ]/p(x) of tempered SMC, ± 2 standard errors; %s", IN, RTXT) noenhanced font "sans,11"
set logscale x 2
set format x "%g"
set xrange [KMIN / 1.4 : KMAX * 1.4]
set xtics KMIN, ((KMAX / KMIN > 256) ? 4 : 2)
set xlabel "K (particles)" offset 0, 0.4
set ylabel "E[Ẑ] / p(x)   (mean over runs)"
set grid xtics ytics lc rgb "#dddddd"
set border 3 lc rgb "#555555"
set tics nomirror out scale 0.6
set key below font ",8" noenhanced maxcols 2 spacing 1.1 samplen 2 height 1.5
set bars 0.6
do for [p=1:NP] {
    PNAME = UPR[PPR[p]] . (PGR[p] == -1 ? "  (mean over its data points)" : sprintf("  (data point %d)", PGR[p]))
    set title PNAME noenhanced font "sans,10"
    if (LOGY[p]) { set logscale y 10; set format y "%g"; set yrange [*:*] } \
    else { unset logscale y; set format y "%g"; set yrange [*:*] }
    CMD = ""
    do for [c=1:NC] {
        g = (p - 1) * NC + c
        if (BLK[g] >= 0) {
            CMD = CMD . sprintf("%s$DATA index %d using 1:2:3:4 with yerrorlines lt %d title UC[%d]", (strlen(CMD) ? ", " : ""), BLK[g], c, c)
        }
    }
    CMD = CMD . ", 1 with lines dt 2 lw 1.2 lc rgb '#444444' title 'unbiased: E[Ẑ] = p(x)'"
    eval "plot " . CMD
}
unset multiplot
unset output
