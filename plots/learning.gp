# learning.gp — training curves over seeds: exact held-out log-likelihood and gradient variance.
#
#   gnuplot -c plots/learning.gp IN.seeds.csv OUT.png png
#   gnuplot -c plots/learning.gp IN.seeds.csv OUT.svg svg
#
# IN is FILE.seeds.csv written by `gradvar train` with several seeds or on a problem with held-out
# sets (results/README.md): per (estimator, K) group and recorded step, the mean and s.d. over the
# seeds. E.g. issue 6's sigmoid-belief-net training: decoder and prior by their stochastic gradient,
# the encoder by each estimator, exact log p(x) of a test set every N steps.
#   left   test_logml_mean, the exact mean test log p(x) (if the file has none: train_logml, then
#          the objective), one line per estimator with a band of ± 1 s.d. over the seeds; the
#          dashed line of the same colour is the exact training-pool ELBO (train_value_mean), so the
#          gap between the two shows both the generalisation gap and the bound's slack.
#   right  var_mean_mean (log axis): the basket variance of the estimator's own gradient (the
#          phi-gradient, i.e. the encoder's, when the problem has outer parameters) at its own
#          trajectory's points, ± 1 s.d. over seeds; drawn only when the file has it
#          (`train --basket self`).
# One colour per group (estimator and K, the label column), the same in both panels.
# An empty / header-only file or one without the needed columns gives a placeholder (exit 0).
#
# Columns by header name. The label column never holds a comma (train writes ';' instead), so
# strcol() reads it whole.

if (ARGC < 2) {
    print "usage: gnuplot -c plots/learning.gp IN.seeds.csv OUT.(png|svg) [png|svg]"
    exit status 2
}
IN  = ARG1
OUT = ARG2
KIND = (ARGC >= 3 && strlen(ARG3) > 0) ? ARG3 : (OUT[strlen(OUT)-3:] eq ".svg" ? "svg" : "png")
if (KIND ne "png" && KIND ne "svg") {
    print sprintf("learning.gp: terminal kind must be png or svg (got '%s')", KIND)
    exit status 2
}
isnan(x) = (x != x)
set datafile separator comma
set datafile missing ""

NLINES = 0
set datafile nocolumnheaders
stats IN using (NLINES = NLINES + 1, 0) nooutput
set datafile columnheaders
NROWS = NLINES - 1

findcol(name, i) = (i > 200 || columnhead(i) eq "") ? 0 : (columnhead(i) eq name ? i : findcol(name, i+1))
C_G = 0; C_L = 0; C_STEP = 0; C_TL = 0; C_TLS = 0; C_TRL = 0; C_TRV = 0; C_OBJ = 0; C_OBJS = 0; C_V = 0; C_VS = 0; C_TRLS = 0
if (NROWS > 0) { stats IN every ::0::0 using (C_G = findcol("group", 1), C_L = findcol("label", 1), \
    C_STEP = findcol("step", 1), C_TL = findcol("test_logml_mean", 1), C_TLS = findcol("test_logml_sd", 1), \
    C_TRL = findcol("train_logml_mean", 1), C_TRLS = findcol("train_logml_sd", 1), \
    C_TRV = findcol("train_value_mean", 1), C_OBJ = findcol("objective_mean", 1), \
    C_OBJS = findcol("objective_sd", 1), C_V = findcol("var_mean", 1), C_VS = findcol("var_sd", 1), 0) nooutput }

FONT = "sans,10"
W = 1200
PLACEHOLDER = 'if (KIND eq "svg") { set term svg size W,300 enhanced font FONT background "white" } ' . \
    'else { set term pngcairo size W,300 enhanced font FONT }; ' . \
    'set output OUT; unset border; unset tics; unset key; set xrange [0:1]; set yrange [0:1]; ' . \
    'set label 1 sprintf("%s\n%s", IN, MSG) at graph 0.5, 0.5 center noenhanced; ' . \
    'plot 2 notitle; unset output'
if (NROWS <= 0 || C_G == 0 || C_L == 0 || C_STEP == 0 || C_OBJ == 0) {
    MSG = (NROWS <= 0) ? "no data rows (or file unreadable)" : "required columns missing (group, label, step, objective_mean)"
    if (NROWS > 0) { print sprintf("learning.gp: %s: %s; placeholder figure written", IN, MSG) }
    eval PLACEHOLDER
    exit
}

# which series the left panel shows: test log p(x) if any row has it, else train log p(x), else the objective
NT = 0; NTR = 0; NV = 0; NG = 0
stats IN using (NG = column(C_G) > NG ? column(C_G) : NG, \
    NT = NT + (C_TL > 0 && !isnan(column(C_TL)) ? 1 : 0), NTR = NTR + (C_TRL > 0 && !isnan(column(C_TRL)) ? 1 : 0), \
    NV = NV + (C_V > 0 && !isnan(column(C_V)) && column(C_V) > 0 ? 1 : 0), 0) nooutput
NG = int(NG)
CY = NT > 0 ? C_TL : (NTR > 0 ? C_TRL : C_OBJ)
CYS = NT > 0 ? C_TLS : (NTR > 0 ? C_TRLS : C_OBJS)
YLAB = NT > 0 ? "exact test log p(x) (mean over the test set)" : (NTR > 0 ? "exact training log p(x)" : "exact objective")
array LAB[NG > 0 ? NG : 1]
do for [g=1:NG] { LAB[g] = sprintf("group %d", g) }
stats IN using (LAB[int(column(C_G))] = strcol(C_L), 0) nooutput

sd0(x) = isnan(x) ? 0 : x
grp(g) = (int(column(C_G)) == g) ? 1 : NaN
PANELS = NV > 0 ? 2 : 1
if (KIND eq "svg") { set term svg size W,480 enhanced font FONT background "white" } else { set term pngcairo size W,480 enhanced font FONT }
set output OUT
set multiplot layout 1, PANELS title sprintf("%s — mean ± 1 s.d. over seeds", IN) noenhanced
set key bottom right font ",9" noenhanced
set grid
set xlabel "step"
set ylabel YLAB
set style fill transparent solid 0.15 noborder
plot for [g=1:NG] IN using (column(C_STEP)*grp(g)):(column(CY)-sd0(column(CYS))):(column(CY)+sd0(column(CYS))) \
         with filledcurves lc g notitle, \
     for [g=1:NG] IN using (column(C_STEP)*grp(g)):(column(CY)) with linespoints lc g pt 7 ps 0.5 lw 2 title LAB[g], \
     for [g=1:NG] IN using (column(C_STEP)*grp(g)):(C_TRV > 0 && NT > 0 ? column(C_TRV) : NaN) \
         with lines lc g dt 2 lw 1 notitle, \
     NaN with lines lc "gray" dt 2 title (C_TRV > 0 && NT > 0 ? "dashed: exact training-pool value (ELBO)" : "")
if (NV > 0) {
    set logscale y
    set format y "10^{%L}"
    set ylabel "variance of the estimator's own gradient (var\\_mean; encoder φ)" enhanced
    set key top right font ",9" noenhanced
    lo(v, s) = (v - sd0(s)) > 0 ? v - sd0(s) : v / 10
    plot for [g=1:NG] IN using (column(C_STEP)*grp(g)):(lo(column(C_V), column(C_VS))):(column(C_V)+sd0(column(C_VS))) \
             with filledcurves lc g notitle, \
         for [g=1:NG] IN using (column(C_STEP)*grp(g)):(column(C_V) > 0 ? column(C_V) : NaN) \
             with linespoints lc g pt 7 ps 0.5 lw 2 title LAB[g]
    unset logscale y
}
unset multiplot
unset output
