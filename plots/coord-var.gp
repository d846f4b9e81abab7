# coord-var.gp — the variance of every coordinate of the gradient, per estimator and problem, as
# box-and-points (the CARMS paper's toy figure: Dimitriev & Zhou 2110.14002, Fig. 2).
#
#   gnuplot -c plots/coord-var.gp IN.coord.csv OUT.png png
#   gnuplot -c plots/coord-var.gp IN.coord.csv OUT.svg svg
#
# IN is the per-coordinate file of `gradvar run --per-coord` (columns problem, estimator, K, seed,
# step, wrt, coord, exact, mean, var, z; results/README.md). One group along x per problem (in the
# order of the file, e.g. the four Dirichlet concentrations of the CARMS toy), one box per
# (estimator, K) inside a group, one colour per (estimator, K). The y axis is the natural log of
# the per-coordinate variance of one estimate (the paper's axis). Every coordinate is a dot
# (spread sideways by its index so that they do not overlap); the box spans the quartiles, the
# whiskers the extremes, the thick bar is the median. Rows with wrt=phi are left out (the unit
# logits are what the figure compares); a coordinate whose variance is 0 cannot be drawn on a log
# axis and is counted in the subtitle. An empty file or one without the needed columns gives a
# placeholder figure (exit 0), so that one entry cannot fail `make plots`.
#
# Columns are found by header name. Problem and estimator specs may be quoted and contain commas;
# gnuplot 5.4's strcol() truncates those at the first comma, so they are read through `with labels`
# tables (which keep the whole field), and the numbers through one numeric table.

if (ARGC < 2) {
    print "usage: gnuplot -c plots/coord-var.gp IN.coord.csv OUT.(png|svg) [png|svg]"
    exit status 2
}
IN  = ARG1
OUT = ARG2
KIND = (ARGC >= 3 && strlen(ARG3) > 0) ? ARG3 : (OUT[strlen(OUT)-3:] eq ".svg" ? "svg" : "png")
if (KIND ne "png" && KIND ne "svg") {
    print sprintf("coord-var.gp: terminal kind must be png or svg (got '%s')", KIND)
    exit status 2
}
epos(s) = strstrt(s, "e") > 0 ? strstrt(s, "e") : strstrt(s, "E")
tonum(s) = real((strstrt(s, ".") == 0 && epos(s) > 1 && strstrt(s, "n") == 0) ? s[1:epos(s)-1] . ".0" . s[epos(s):] : s)
isnan(x) = (x != x)
FONT = "sans,10"

set datafile separator comma
NLINES = 0
set datafile nocolumnheaders
stats IN using (NLINES = NLINES + 1, 0) nooutput
set datafile columnheaders
NROWS = NLINES - 1
findcol(name, i) = (i > 60 || columnhead(i) eq "") ? 0 : (columnhead(i) eq name ? i : findcol(name, i+1))
C_PROB = 0; C_EST = 0; C_K = 0; C_WRT = 0; C_COORD = 0; C_VAR = 0
if (NROWS > 0) { stats IN every ::0::0 using (C_PROB = findcol("problem", 1), C_EST = findcol("estimator", 1), \
    C_K = findcol("K", 1), C_WRT = findcol("wrt", 1), C_COORD = findcol("coord", 1), C_VAR = findcol("var", 1), 0) nooutput }

PLACEHOLDER = 'if (KIND eq "svg") { set term svg size 900,300 enhanced font FONT background "white" } ' . \
    'else { set term pngcairo size 900,300 enhanced font FONT }; ' . \
    'set output OUT; unset border; unset tics; unset key; set xrange [0:1]; set yrange [0:1]; ' . \
    'set label 1 sprintf("%s\n%s", IN, MSG) at graph 0.5, 0.5 center noenhanced; plot 2 notitle; unset output'
if (NROWS <= 0 || C_PROB == 0 || C_EST == 0 || C_K == 0 || C_COORD == 0 || C_VAR == 0) {
    MSG = (NROWS <= 0) ? "no data rows (or file unreadable)" : "required columns missing (problem, estimator, K, coord, var)"
    if (NROWS > 0) { print sprintf("coord-var.gp: %s: %s; placeholder figure written", IN, MSG) }
    eval PLACEHOLDER
    exit
}

# ---- names of every data row ----------------------------------------------------------------
lastq(s, i) = (i < 1) ? 0 : (s[i:i] eq "\"" ? i : lastq(s, i-1))
quoted(s) = s[strstrt(s, "\"")+1 : lastq(s, strlen(s))-1]
isdata(s) = strlen(s) > 0 && s[1:1] ne "#" && strstrt(s, "\"") > 0
set xrange [-1:NROWS]
set yrange [-1:1]
set table $PNAMES
plot IN using 0:(0):C_PROB with labels
set table $ENAMES
plot IN using 0:(0):C_EST with labels
num(c) = (c > 0 && valid(c)) ? column(c) : NaN
set table $NUM
plot IN using 0:(num(C_K)):(num(C_COORD)):(num(C_VAR)):((C_WRT > 0 && strcol(C_WRT) eq "phi") ? 1 : 0) with table
unset table
set autoscale

array PI[NROWS]; array EN[NROWS]; array UPR[NROWS]; array UEN[NROWS]
do for [r=1:NROWS] { PI[r] = 0; EN[r] = "" }
NP = 0
do for [i=1:|$PNAMES|] {
    L = $PNAMES[i]
    if (isdata(L)) {
        r = int(tonum(word(L, 1))) + 1
        s = quoted(L)
        k = 0
        do for [j=1:NP] { if (UPR[j] eq s) { k = j } }
        if (k == 0) { NP = NP + 1; UPR[NP] = s; k = NP }
        if (r >= 1 && r <= NROWS) { PI[r] = k }
    }
}
do for [i=1:|$ENAMES|] {
    L = $ENAMES[i]
    if (isdata(L)) {
        r = int(tonum(word(L, 1))) + 1
        if (r >= 1 && r <= NROWS) { EN[r] = quoted(L) }
    }
}
# series = (estimator, K), in order of appearance
array SI[NROWS]; array SNAME[NROWS]
NS = 0
NZERO = 0
set print $PTS
do for [i=1:|$NUM|] {
    L = $NUM[i]
    if (words(L) >= 5 && L[1:1] ne "#") {
        r = int(tonum(word(L, 1))) + 1
        K = tonum(word(L, 2)); c = tonum(word(L, 3)); v = tonum(word(L, 4)); phi = int(tonum(word(L, 5)))
        if (r >= 1 && r <= NROWS && PI[r] > 0 && strlen(EN[r]) > 0 && !phi && !isnan(K) && !isnan(v)) {
            nm = sprintf("%s, K = %d", EN[r], K)
            k = 0
            do for [j=1:NS] { if (SNAME[j] eq nm) { k = j } }
            if (k == 0) { NS = NS + 1; SNAME[NS] = nm; k = NS }
            if (v > 0) { print sprintf("%d %d %d %.10g", PI[r], k, int(c), log(v)) } else { NZERO = NZERO + 1 }
        }
    }
}
unset print
if (NS == 0 || |$PTS| == 0) {
    MSG = "no coordinate with a positive variance"
    print sprintf("coord-var.gp: %s: %s; placeholder figure written", IN, MSG)
    eval PLACEHOLDER
    exit
}
# the largest coordinate index (for the sideways spread of the dots)
CMAX = 0
do for [i=1:|$PTS|] { c = int(word($PTS[i], 3)); CMAX = (c > CMAX) ? c : CMAX }

# ---- boxes: quartiles, extremes and median of every (problem, series) -------------------------
GW = 0.8             # width of a group on the x axis (groups at 1, 2, ...)
BW = GW / NS         # one box per series
xbox(p, s) = p - GW / 2 + (s - 0.5) * BW
set datafile separator whitespace
set datafile nocolumnheaders
set print $BOX
do for [p=1:NP] {
    do for [s=1:NS] {
        N = 0
        do for [i=1:|$PTS|] { L = $PTS[i]; if (int(word(L, 1)) == p && int(word(L, 2)) == s) { N = N + 1 } }
        if (N > 0) {
            stats $PTS using (($1 == p && $2 == s) ? $4 : NaN) nooutput
            print sprintf("%d %d %.10g %.10g %.10g %.10g %.10g %.10g %d", p, s, xbox(p, s), STATS_min, \
                          STATS_lo_quartile, STATS_median, STATS_up_quartile, STATS_max, N)
        }
    }
}
unset print
stats $PTS using 4 nooutput
YLO = STATS_min; YHI = STATS_max
PAD = (YHI - YLO) * 0.08 + 0.2

# ---- figure -----------------------------------------------------------------------------------
W = 300 + NP * (60 + NS * 34)
W = (W < 900) ? 900 : W
H = 520
if (KIND eq "svg") { set term svg size W,H enhanced font FONT background "white" } \
else { set term pngcairo size W,H enhanced font FONT }
set output OUT
array COL[8] = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442"]
col(s) = COL[(s - 1) % 8 + 1]
SUB = "one dot per coordinate; box: quartiles, whiskers: extremes, bar: median"
if (NZERO > 0) { SUB = SUB . sprintf("; %d coordinate(s) with variance 0 not drawn", NZERO) }
# tic labels: the problems' options when every problem has the same name (given in the title)
pname(s) = strstrt(s, ":") > 0 ? s[1:strstrt(s, ":")-1] : s
popts(s) = strstrt(s, ":") > 0 ? s[strstrt(s, ":")+1:] : s
SAME = 1
do for [p=2:NP] { if (pname(UPR[p]) ne pname(UPR[1])) { SAME = 0 } }
array TIC[NP]
do for [p=1:NP] { TIC[p] = (SAME && NP > 1) ? popts(UPR[p]) : UPR[p] }
HEAD = (SAME && NP > 1) ? sprintf("%s  (%s)", pname(UPR[1]), IN) : IN
set title sprintf("%s\n%s", HEAD, SUB) noenhanced
set ylabel "ln(variance of the coordinate)  [natural log]"
set xrange [0.5 : NP + 0.5]
set yrange [YLO - PAD : YHI + PAD]
XT = ""
do for [p=1:NP] { XT = XT . sprintf("%s\"%s\" %d", (strlen(XT) ? ", " : ""), TIC[p], p) }
eval sprintf("set xtics (%s) noenhanced scale 0", XT)
set grid ytics lc rgb "#dddddd"
set border 3 lc rgb "#555555"
set tics nomirror out
set key outside right top vertical noenhanced
set style fill solid 0.25 border
do for [p=1:NP-1] { set arrow p from first p + 0.5, graph 0 to first p + 0.5, graph 1 nohead lc rgb "#cccccc" back }
JIT(c, s) = xbox(0, s) + (CMAX > 0 ? (c / real(CMAX) - 0.5) * 0.6 * BW : 0)
plot for [s=1:NS] $BOX using ($2 == s ? $3 : NaN):5:4:8:7:(0.8 * BW) with candlesticks whiskerbars lc rgb col(s) lw 1.2 notitle, \
     for [s=1:NS] $BOX using ($2 == s ? $3 : NaN):6:6:6:6:(0.8 * BW) with candlesticks lc rgb col(s) lw 3 notitle, \
     for [s=1:NS] $PTS using ($2 == s ? $1 + JIT($3, s) : NaN):4 with points pt 7 ps 0.55 lc rgb col(s) title SNAME[s]
unset output
