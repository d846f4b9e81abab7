# cosine.gp — the IndeCateR convention (De Smet, Sansone & Zuidberg Dos Martires 2311.12569): how
# well one estimate points along the exact gradient.
#
#   gnuplot -c plots/cosine.gp IN.csv OUT.png png
#   gnuplot -c plots/cosine.gp IN.csv OUT.svg svg
#
# IN is a results CSV (summary schema, results/README.md). Two panels, one bar per row with status
# ok (label: estimator, K and the evaluations per estimate), log y axes:
#   left   1 − cos_mean: the mean of 1 − cos(ĝ, g*) over the replicates (0 = every estimate points
#          exactly along g*; 1 = orthogonal on average)
#   right  cos_var: the variance of cos(ĝ, g*) over the replicates
# A value at or below 1e-12 (an exact estimator: tokui-sato on a factorised objective) has no bar
# on a log axis; it is drawn as a ringed dot on the axis and labelled "≈ 0". One panel row per
# problem when the file holds several; the rows of a trajectory file (several steps) are not
# meant for this figure (the last step is drawn). Suite entries that use this figure give every
# estimator the same number of evaluations (pinned K, e.g. -e tokui-sato:K=1 -e rloo:K=25).
# An empty file, or one without the needed columns or an ok row, gives a placeholder (exit 0).
#
# Columns by header name; names through `with labels` tables (strcol() truncates quoted fields with
# commas in gnuplot 5.4).

if (ARGC < 2) {
    print "usage: gnuplot -c plots/cosine.gp IN.csv OUT.(png|svg) [png|svg]"
    exit status 2
}
IN  = ARG1
OUT = ARG2
KIND = (ARGC >= 3 && strlen(ARG3) > 0) ? ARG3 : (OUT[strlen(OUT)-3:] eq ".svg" ? "svg" : "png")
if (KIND ne "png" && KIND ne "svg") {
    print sprintf("cosine.gp: terminal kind must be png or svg (got '%s')", KIND)
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
findcol(name, i) = (i > 200 || columnhead(i) eq "") ? 0 : (columnhead(i) eq name ? i : findcol(name, i+1))
C_PROB = 0; C_EST = 0; C_K = 0; C_STEP = 0; C_CM = 0; C_CV = 0; C_ST = 0; C_FE = 0; C_TE = 0; C_GE = 0
if (NROWS > 0) { stats IN every ::0::0 using (C_PROB = findcol("problem", 1), C_EST = findcol("estimator", 1), \
    C_K = findcol("K", 1), C_STEP = findcol("step", 1), C_CM = findcol("cos_mean", 1), C_CV = findcol("cos_var", 1), \
    C_ST = findcol("status", 1), C_FE = findcol("f_evals", 1), C_TE = findcol("ftilde_evals", 1), \
    C_GE = findcol("grad_evals", 1), 0) nooutput }

PLACEHOLDER = 'if (KIND eq "svg") { set term svg size 900,300 enhanced font FONT background "white" } ' . \
    'else { set term pngcairo size 900,300 enhanced font FONT }; ' . \
    'set output OUT; unset border; unset tics; unset key; set xrange [0:1]; set yrange [0:1]; ' . \
    'set label 1 sprintf("%s\n%s", IN, MSG) at graph 0.5, 0.5 center noenhanced; plot 2 notitle; unset output'
if (NROWS <= 0 || C_PROB == 0 || C_EST == 0 || C_K == 0 || C_CM == 0 || C_CV == 0 || C_ST == 0) {
    MSG = (NROWS <= 0) ? "no data rows (or file unreadable)" : "required columns missing (problem, estimator, K, cos_mean, cos_var, status)"
    if (NROWS > 0) { print sprintf("cosine.gp: %s: %s; placeholder figure written", IN, MSG) }
    eval PLACEHOLDER
    exit
}

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
plot IN using 0:(num(C_K)):(num(C_STEP)):(num(C_CM)):(num(C_CV)):(strcol(C_ST) eq "ok" ? 1 : 0):(num(C_FE) + num(C_TE) + num(C_GE)) with table
unset table
set autoscale

array PI[NROWS]; array EN[NROWS]; array UPR[NROWS]
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
STEPMAX = NaN
do for [i=1:|$NUM|] {
    L = $NUM[i]
    if (words(L) >= 7 && L[1:1] ne "#") { st = tonum(word(L, 3)); if (!isnan(st) && (isnan(STEPMAX) || st > STEPMAX)) { STEPMAX = st } }
}
# bars: panel-row p, slot, 1 - cos_mean, cos_var (0 = not drawable), and the bar labels
ZERO = 1e-12
array NSL[NP]; array LAB[NROWS]; array LP[NROWS]
do for [p=1:NP] { NSL[p] = 0 }
NB = 0
set print $BARS
do for [i=1:|$NUM|] {
    L = $NUM[i]
    if (words(L) >= 7 && L[1:1] ne "#") {
        r = int(tonum(word(L, 1))) + 1
        K = tonum(word(L, 2)); st = tonum(word(L, 3)); cm = tonum(word(L, 4)); cv = tonum(word(L, 5))
        ok = int(tonum(word(L, 6))); ev = tonum(word(L, 7))
        if (r >= 1 && r <= NROWS && PI[r] > 0 && ok && !isnan(cm) && (isnan(STEPMAX) || st == STEPMAX)) {
            p = PI[r]
            NSL[p] = NSL[p] + 1
            NB = NB + 1
            LAB[NB] = sprintf("%s\nK = %d, %.0f evals", EN[r], K, ev)
            LP[NB] = p
            b = 1 - cm
            print sprintf("%d %d %.10g %.10g %d", p, NSL[p], b > ZERO ? b : 0, (!isnan(cv) && cv > ZERO) ? cv : 0, NB)
        }
    }
}
unset print
if (NB == 0) {
    MSG = "no row with status ok and a cosine"
    print sprintf("cosine.gp: %s: %s; placeholder figure written", IN, MSG)
    eval PLACEHOLDER
    exit
}
set datafile separator whitespace
set datafile nocolumnheaders
NSMAX = 0
do for [p=1:NP] { NSMAX = (NSL[p] > NSMAX) ? NSL[p] : NSMAX }
PW = 90 + NSMAX * 115
W = 2 * PW + 60
W = (W < 900) ? 900 : W
PH = 330
H = 40 + NP * (PH + 40)
if (KIND eq "svg") { set term svg size W,H enhanced font FONT background "white" } \
else { set term pngcairo size W,H enhanced font FONT }
set output OUT
set multiplot
set logscale y 10
set format y "10^{%L}"
set grid ytics lc rgb "#dddddd"
set border 3 lc rgb "#555555"
set tics nomirror out
set style fill solid 0.8 border lc rgb "#333333"
unset key
sx(px) = px / real(W)
sy(px) = 1.0 - px / real(H)
array MET[2] = ["1 − mean cos(ĝ, g*)  (bias of the direction)", "variance of cos(ĝ, g*)"]
array MCOL[2] = [3, 4]
array BCOL[2] = ["#4292C6", "#E6550D"]
do for [p=1:NP] {
    # the y range of this row of panels: every drawable value of both metrics
    YLO = NaN; YHI = NaN
    do for [i=1:|$BARS|] {
        L = $BARS[i]
        if (int(word(L, 1)) == p) {
            do for [m=1:2] {
                v = real(word(L, MCOL[m]))
                if (v > 0) { YLO = (isnan(YLO) || v < YLO) ? v : YLO; YHI = (isnan(YHI) || v > YHI) ? v : YHI }
            }
        }
    }
    if (isnan(YLO)) { YLO = 1e-3; YHI = 1 }
    YB = YLO / 4.0; YT = YHI * 3.0
    TOP = 50 + (p - 1) * (PH + 40)
    do for [m=1:2] {
        unset label
        if (p == 1 && m == 1) { set label 1 sprintf("%s — IndeCateR convention: cosine of one estimate to the exact gradient", UPR[p]) at screen 0.5, sy(18) center font "sans,12" noenhanced }
        if (p > 1 && m == 1) { set label 1 UPR[p] at screen 0.5, sy(TOP - 14) center font "sans,11" noenhanced }
        set lmargin at screen sx(60 + (m - 1) * (PW + 30)); set rmargin at screen sx(60 + (m - 1) * (PW + 30) + PW - 20)
        set tmargin at screen sy(TOP + 20); set bmargin at screen sy(TOP + PH - 40)
        set title MET[m] noenhanced
        set xrange [0.4 : NSL[p] + 0.6]
        set yrange [YB : YT]
        XT = ""
        do for [b=1:NB] { if (LP[b] == p) { s = 0; do for [i=1:|$BARS|] { if (int(word($BARS[i], 5)) == b) { s = int(word($BARS[i], 2)) } }; \
            XT = XT . sprintf("%s\"%s\" %d", (strlen(XT) ? ", " : ""), LAB[b], s) } }
        eval sprintf("set xtics (%s) noenhanced scale 0 font 'sans,8'", XT)
        c = MCOL[m]
        plot $BARS using ($1 == p && column(c) > 0 ? $2 : NaN):(column(c)):($2 - 0.35):($2 + 0.35):(YB):(column(c)) with boxxyerror fc rgb BCOL[m], \
             $BARS using ($1 == p && column(c) > 0 ? $2 : NaN):(column(c) * 1.35):(sprintf("%.2g", column(c))) with labels font "sans,8", \
             $BARS using ($1 == p && column(c) == 0 ? $2 : NaN):(YB * 1.4) with points pt 6 ps 1.2 lc rgb "#333333", \
             $BARS using ($1 == p && column(c) == 0 ? $2 : NaN):(YB * 2.4):("≈ 0") with labels font "sans,8"
    }
}
unset multiplot
unset output
