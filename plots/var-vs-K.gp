# var-vs-K.gp — estimator variance against the number of samples K.
#
#   gnuplot -c plots/var-vs-K.gp IN.csv OUT.png png
#   gnuplot -c plots/var-vs-K.gp IN.csv OUT.svg svg
#
# IN is a results CSV (schema: results/README.md). One row of panels per problem in the file:
#   left   var_mean (mean over coordinates of the per-coordinate variance) ± var_mean_se;
#   right  work_norm_var = var_mean × f_evals per estimate, i.e. the variance at an equal budget of
#          f evaluations (an estimator that spends 2K evaluations per estimate is charged for them).
# x = K on a log2 axis, y on a log10 axis, one line per estimator (same colour in every panel).
# Rows whose status is incompatible/error (empty statistics) are skipped; rows with status
# nonfinite are drawn (their statistics cover the finite replicates) and ringed in black.
# In a trajectory file (several values of `step`) only the last step is drawn.
#
# Columns are found by header name. gnuplot 5.4 reads quoted fields containing commas
# ("bernoulli-quadratic:D=200,p=0.5") correctly when a column is referenced by *number* as a label,
# but strcol() / column-by-name truncate them at the first comma; so problem and estimator names
# are read through `with labels` tables, and the numbers through one numeric table.

if (ARGC < 2) {
    print "usage: gnuplot -c plots/var-vs-K.gp IN.csv OUT.(png|svg) [png|svg]"
    exit status 2
}
IN  = ARG1
OUT = ARG2
KIND = (ARGC >= 3 && strlen(ARG3) > 0) ? ARG3 : (OUT[strlen(OUT)-3:] eq ".svg" ? "svg" : "png")
if (KIND ne "png" && KIND ne "svg") {
    print sprintf("var-vs-K.gp: terminal kind must be png or svg (got '%s')", KIND)
    exit status 2
}

set datafile separator comma

# Count lines with the header read as data (an expression column is always valid, so a
# header-only file gives no "no valid points" warning).
NLINES = 0
set datafile nocolumnheaders
stats IN using (NLINES = NLINES + 1, 0) nooutput
set datafile columnheaders

# ---- column numbers by header name -----------------------------------------------------------
findcol(name, i) = (i > 200 || columnhead(i) eq "") ? 0 : (columnhead(i) eq name ? i : findcol(name, i+1))
NROWS = NLINES - 1
C_PROB = 0; C_EST = 0; C_K = 0; C_VM = 0; C_ST = 0
if (NROWS > 0) { stats IN every ::0::0 using (C_PROB = findcol("problem", 1), C_EST = findcol("estimator", 1), \
    C_K = findcol("K", 1), C_R = findcol("replicates", 1), C_STEP = findcol("step", 1), \
    C_FE = findcol("f_evals", 1), C_VM = findcol("var_mean", 1), C_VSE = findcol("var_mean_se", 1), \
    C_WNV = findcol("work_norm_var", 1), C_ST = findcol("status", 1), 0) nooutput }

# ---- terminal -------------------------------------------------------------------------------
FONT = "sans,10"
W = 900

# Draw a figure that only says why there is nothing to draw (a figure script must not fail the
# whole `make bench` because one suite entry produced no usable rows).
if (NROWS == 0 || C_PROB == 0 || C_EST == 0 || C_K == 0 || C_VM == 0 || C_ST == 0) {
    if (KIND eq "svg") { set term svg size W,300 dynamic enhanced font FONT background "white" } \
    else { set term pngcairo size W,300 enhanced font FONT }
    set output OUT
    unset border; unset tics; unset key
    set xrange [0:1]; set yrange [0:1]
    MSG = (NROWS == 0) ? "no data rows" : "required columns missing (problem, estimator, K, var_mean, status)"
    set label 1 sprintf("%s\n%s", IN, MSG) at graph 0.5, 0.5 center noenhanced
    plot 2 notitle
    unset output
    exit
}

# ---- names: problem and estimator of every data row ------------------------------------------
lastq(s, i) = (i < 1) ? 0 : (s[i:i] eq "\"" ? i : lastq(s, i-1))
quoted(s) = s[strstrt(s, "\"")+1 : lastq(s, strlen(s))-1]
isdata(s) = strlen(s) > 0 && s[1:1] ne "#" && strstrt(s, "\"") > 0

set xrange [-1:NROWS]
set yrange [-1:1]
set table $PNAMES
plot IN using 0:(0):C_PROB with labels
set table $ENAMES
plot IN using 0:(0):C_EST with labels
unset table

array PI[NROWS]          # problem index of row r (1-based)
array EI[NROWS]          # estimator index of row r
array UP[NROWS]          # unique problem names in order of appearance
array UE[NROWS]          # unique estimator names in order of appearance
NP = 0
NE = 0
do for [i=1:|$PNAMES|] {
    L = $PNAMES[i]
    if (isdata(L)) {
        r = int(real(word(L, 1))) + 1
        s = quoted(L)
        k = 0
        do for [j=1:NP] { if (UP[j] eq s) { k = j } }
        if (k == 0) { NP = NP + 1; UP[NP] = s; k = NP }
        PI[r] = k
    }
}
do for [i=1:|$ENAMES|] {
    L = $ENAMES[i]
    if (isdata(L)) {
        r = int(real(word(L, 1))) + 1
        s = quoted(L)
        k = 0
        do for [j=1:NE] { if (UE[j] eq s) { k = j } }
        if (k == 0) { NE = NE + 1; UE[NE] = s; k = NE }
        EI[r] = k
    }
}

# ---- numbers: one table, NaN for empty fields -----------------------------------------------
num(c) = (c > 0 && valid(c)) ? column(c) : NaN
# status flag: 1 ok, 2 nonfinite (statistics over the finite replicates), 0 no statistics
stflag(s) = (s eq "ok") ? 1 : (s eq "nonfinite" ? 2 : 0)
set table $NUM
plot IN using 0:(num(C_K)):(num(C_R)):(num(C_STEP)):(num(C_VM)):(num(C_VSE)):(num(C_WNV)):(num(C_FE)):(stflag(strcol(C_ST))) with table
unset table
set autoscale

isnan(x) = (x != x)
STEPMAX = NaN
do for [i=1:|$NUM|] {
    L = $NUM[i]
    if (words(L) >= 9) {
        st = real(word(L, 4))
        if (!isnan(st) && (isnan(STEPMAX) || st > STEPMAX)) { STEPMAX = st }
    }
}

# Keep a row when it has statistics, a positive K and var_mean, and (trajectory files) the last step.
# Regroup the kept rows into one datablock with one index block per (problem, estimator):
#   K  var_mean  var_lo  var_hi  work  work_lo  work_hi  status_flag
NG = NP * NE
array CNT[NG]
do for [g=1:NG] { CNT[g] = 0 }
array ROWG[NROWS]
do for [r=1:NROWS] { ROWG[r] = 0 }
array NNF[NP]
array VLOP[NP]; array VHIP[NP]; array WLOP[NP]; array WHIP[NP]
do for [p=1:NP] { NNF[p] = 0; VLOP[p] = NaN; VHIP[p] = NaN; WLOP[p] = NaN; WHIP[p] = NaN }
KMIN = NaN; KMAX = NaN; RMIN = NaN; RMAX = NaN; NNONFINITE = 0; NSTEPS_DROPPED = 0
fmin(a, b) = isnan(a) ? b : (b < a ? b : a)
fmax(a, b) = isnan(a) ? b : (b > a ? b : a)
set print $ROWS
do for [i=1:|$NUM|] {
    L = $NUM[i]
    if (words(L) >= 9) {
        r = int(real(word(L, 1))) + 1
        K = real(word(L, 2)); R = real(word(L, 3)); st = real(word(L, 4))
        v = real(word(L, 5)); se = real(word(L, 6)); w = real(word(L, 7)); fl = int(real(word(L, 9)))
        laststep = isnan(STEPMAX) || (!isnan(st) && st == STEPMAX)
        if (!laststep) { NSTEPS_DROPPED = NSTEPS_DROPPED + 1 }
        if (fl > 0 && laststep && K > 0 && !isnan(v) && v > 0 && PI[r] > 0 && EI[r] > 0) {
            g = (PI[r] - 1) * NE + EI[r]
            CNT[g] = CNT[g] + 1
            ROWG[r] = g
            if (isnan(se) || se < 0) { se = 0 }
            # a lower error bar at or below zero cannot be drawn on a log axis: clip it at v/100
            vlo = (v - se > v / 100.0) ? v - se : v / 100.0
            vhi = v + se
            # work_norm_var = var_mean × f_evals, so its standard error scales by the same factor
            if (!isnan(w) && w > 0) { wlo = vlo * w / v; whi = vhi * w / v } else { w = NaN; wlo = NaN; whi = NaN }
            print sprintf("%d %.10g %.10g %.10g %.10g %.10g %.10g %.10g %d", g, K, v, vlo, vhi, w, wlo, whi, fl)
            KMIN = fmin(KMIN, K); KMAX = fmax(KMAX, K)
            if (!isnan(R)) { RMIN = fmin(RMIN, R); RMAX = fmax(RMAX, R) }
            q = PI[r]
            VLOP[q] = fmin(VLOP[q], vlo); VHIP[q] = fmax(VHIP[q], vhi)
            if (!isnan(w)) { WLOP[q] = fmin(WLOP[q], wlo); WHIP[q] = fmax(WHIP[q], whi) }
            if (fl == 2) { NNONFINITE = NNONFINITE + 1; NNF[PI[r]] = NNF[PI[r]] + 1 }
        }
    }
}
unset print
NKEPT = 0
do for [g=1:NG] { NKEPT = NKEPT + CNT[g] }

# $DATA: one index block per non-empty group (gnuplot does not count empty blocks, so an empty
# group must not get one); BLK[g] is the block number of group g.
array BLK[NG]
NBLK = 0
set print $DATA
do for [g=1:NG] {
    BLK[g] = -1
    if (CNT[g] > 0) {
        BLK[g] = NBLK
        NBLK = NBLK + 1
        do for [i=1:|$ROWS|] {
            L = $ROWS[i]
            if (int(real(word(L, 1))) == g) { print L }
        }
        print ""
        print ""
    }
}
unset print

# everything below reads the whitespace-separated datablocks built above
set datafile separator whitespace
set datafile nocolumnheaders

# ---- layout ---------------------------------------------------------------------------------
# Pixel plan: title band, NP rows of two panels, key band at the bottom.
MAXLEN = 0
NE_SHOWN = 0
array SHOWN[NE]
do for [e=1:NE] {
    SHOWN[e] = 0
    do for [p=1:NP] { if (CNT[(p-1)*NE + e] > 0) { SHOWN[e] = 1 } }
    if (SHOWN[e]) { NE_SHOWN = NE_SHOWN + 1; MAXLEN = (strlen(UE[e]) > MAXLEN) ? strlen(UE[e]) : MAXLEN }
}
KEYCOLS = int(800 / (MAXLEN * 7 + 70))
KEYCOLS = (KEYCOLS < 1) ? 1 : (KEYCOLS > 3 ? 3 : KEYCOLS)
NKEYENT = NE_SHOWN + (NNONFINITE > 0 ? 1 : 0)
KEYROWS = (NKEYENT + KEYCOLS - 1) / KEYCOLS
KEYROWS = (KEYROWS < 1) ? 1 : KEYROWS
TITLE_PX = 62
ROWTITLE_PX = (NP > 1) ? 48 : 30
PANEL_PX = 360
XLAB_PX = 48
KEY_PX = 16 + 19 * KEYROWS
ROW_PX = ROWTITLE_PX + PANEL_PX + XLAB_PX
H = TITLE_PX + NP * ROW_PX + KEY_PX
H = (H < 400) ? 400 : H

if (KIND eq "svg") { set term svg size W,H dynamic enhanced font FONT background "white" } \
else { set term pngcairo size W,H enhanced font FONT }
set output OUT

# screen coordinates from pixels (y measured from the top)
sx(px) = px / real(W)
sy(px) = 1.0 - px / real(H)

# ---- styles: one colour + point type per estimator (Okabe–Ito first, then more) -----------
array COL[12] = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", \
                 "#000000", "#8C564B", "#7F7F7F", "#BCBD22", "#9467BD", "#F0E442"]
array PT[8] = [7, 5, 9, 11, 13, 15, 4, 6]
do for [e=1:NE] {
    eval sprintf("set linetype %d lc rgb '%s' lw 1.6 pt %d ps 0.9 dt %d", \
        e, COL[(e-1) % 12 + 1], PT[(e-1) % 8 + 1], ((e-1) / 12) % 4 + 1)
}

# ---- text -----------------------------------------------------------------------------------
RTXT = isnan(RMIN) ? "" : (RMIN == RMAX ? sprintf("R = %d replicates per point", RMIN) \
                                         : sprintf("R = %d–%d replicates per point", RMIN, RMAX))
STEPTXT = (isnan(STEPMAX) || NSTEPS_DROPPED == 0) ? "" : sprintf("; trajectory file: last step (%d) only", STEPMAX)
SUB = sprintf("%s; error bars ±1 standard error%s", RTXT, STEPTXT)
FIGTITLE = (NP == 1) ? UP[1] : sprintf("%s  (%d problems)", IN, NP)

set multiplot
set label 901 FIGTITLE at screen 0.5, sy(20) center font "sans,13" noenhanced
set label 902 SUB at screen 0.5, sy(42) center font "sans,10" tc rgb "#444444" noenhanced

set logscale x 2
set format x "%g"
set logscale y 10
set grid xtics ytics mytics lc rgb "#dddddd" lw 1, lc rgb "#eeeeee" lw 0.5
set border 3 lc rgb "#555555"
set tics nomirror out scale 0.6
set xlabel "K (samples per estimate)" offset 0, 0.3
unset title
set style data yerrorlines
set bars 0.6

decades(lo, hi) = log10(hi) - log10(lo)
yfmt(lo, hi) = decades(lo, hi) >= 1.2 ? "10^{%L}" : "%.2g"

XLO = isnan(KMIN) ? 0.7 : KMIN / 1.35
XHI = isnan(KMAX) ? 1.4 : KMAX * 1.35
if (XLO >= XHI / 1.9) { XLO = XLO / 1.5; XHI = XHI * 1.5 }

L1 = 78; R1 = 430; L2 = 540; R2 = 885
do for [p=1:NP] {
    TOP = TITLE_PX + (p-1) * ROW_PX + ROWTITLE_PX
    BOT = TOP + PANEL_PX
    # which groups of this problem have points
    NPTS = 0
    do for [e=1:NE] { NPTS = NPTS + CNT[(p-1)*NE + e] }

    unset label
    if (p == 1) {
        set label 901 FIGTITLE at screen 0.5, sy(20) center font "sans,13" noenhanced
        set label 902 SUB at screen 0.5, sy(42) center font "sans,10" tc rgb "#444444" noenhanced
    }
    if (NP > 1) {
        set label 903 UP[p] at screen 0.5, sy(TOP - 30) center font "sans,11" noenhanced
    }
    set label 904 "variance of one estimate" at screen sx((L1+R1)/2), sy(TOP - 8) center font "sans,10"
    set label 905 "variance × f-evaluations (equal evaluation budget)" at screen sx((L2+R2)/2), sy(TOP - 8) center font "sans,10"
    if (NPTS == 0) {
        set label 906 "no plottable rows (all cells incompatible / error)" at graph 0.5, 0.5 center noenhanced
    }

    # -- left panel: var_mean ------------------------------------------------------------------
    set lmargin at screen sx(L1); set rmargin at screen sx(R1)
    set tmargin at screen sy(TOP); set bmargin at screen sy(BOT)
    set xrange [XLO:XHI]
    if (NPTS > 0) {
        set yrange [*:*]
        set format y yfmt(VLOP[p], VHIP[p])
    } else {
        set yrange [1:10]; set format y ""
    }
    set ylabel "variance per coordinate\n(mean over coordinates)" offset 0.5, 0
    unset key
    CMD = ""
    do for [e=1:NE] {
        g = (p-1)*NE + e
        if (CNT[g] > 0) {
            CMD = CMD . sprintf("%s$DATA index %d using 2:3:4:5 lt %d notitle", (strlen(CMD) ? ", " : ""), BLK[g], e)
        }
    }
    if (NNF[p] > 0) {
        CMD = CMD . sprintf(", $ROWS using (column(9) == 2 && int((column(1)-1) / NE) == %d ? column(2) : NaN):3 with points pt 6 ps 1.8 lc rgb 'black' notitle", p-1)
    }
    if (strlen(CMD) == 0) { CMD = "NaN notitle" }
    eval "plot " . CMD

    # -- right panel: work_norm_var ------------------------------------------------------------
    unset label
    unset key
    set lmargin at screen sx(L2); set rmargin at screen sx(R2)
    NW = 0
    CMD = ""
    do for [e=1:NE] {
        g = (p-1)*NE + e
        if (CNT[g] > 0) {
            CMD = CMD . sprintf("%s$DATA index %d using 2:6:7:8 lt %d notitle", (strlen(CMD) ? ", " : ""), BLK[g], e)
        }
    }
    if (NPTS > 0 && !isnan(WLOP[p])) {
        set yrange [*:*]
        set format y yfmt(WLOP[p], WHIP[p])
    } else {
        set yrange [1:10]; set format y ""
        set label 906 (NPTS > 0 ? "work_norm_var not available" : "no plottable rows") at graph 0.5, 0.5 center noenhanced
        CMD = ""
    }
    set ylabel "variance × f-evals per estimate\n(work\\_norm\\_var)" offset 0.5, 0
    if (strlen(CMD) == 0) { CMD = "NaN notitle" }
    eval "plot " . CMD
}

# ---- key: a frameless full-width panel in the bottom band ------------------------------------
unset label
unset logscale
unset grid
unset border
unset tics
unset xlabel
unset ylabel
set lmargin at screen sx(8); set rmargin at screen sx(W - 8)
set tmargin at screen sy(H - KEY_PX + 4); set bmargin at screen sy(H - 4)
set xrange [0:1]; set yrange [0:1]
set key inside center center horizontal maxcols KEYCOLS reverse Left samplen 2.5 width 1 spacing 1.1 \
    noenhanced box lc rgb "#bbbbbb"
CMD = ""
do for [e=1:NE] {
    if (SHOWN[e]) {
        CMD = CMD . sprintf("%sNaN lt %d with linespoints title UE[%d]", (strlen(CMD) ? ", " : ""), e, e)
    }
}
if (NNONFINITE > 0) {
    CMD = CMD . ", NaN with points pt 6 ps 1.8 lc rgb 'black' title 'status nonfinite (non-finite replicates excluded)'"
}
if (strlen(CMD) == 0) { CMD = "NaN notitle" }
eval "plot " . CMD
unset multiplot
unset output
