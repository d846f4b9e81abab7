# var-vs-K.gp — estimator variance against the number of samples K.
#
#   gnuplot -c plots/var-vs-K.gp IN.csv OUT.png png
#   gnuplot -c plots/var-vs-K.gp IN.csv OUT.svg svg
#
# IN is a results CSV (schema: results/README.md). One row of panels per problem (and wrt, below):
#   left   var_mean (mean over coordinates of the per-coordinate variance) ± var_mean_se;
#   right  work_norm_var = var_mean × evaluations per estimate (f + f̃ + ∇f̃), i.e. the variance at an
#          equal evaluation budget (an estimator that spends 2K evaluations per estimate is charged
#          for them).
# x = K on a log2 axis, y on a log10 axis, one line per estimator (same colour in every panel).
# Rows whose status is incompatible/error (empty statistics) are skipped; rows with status
# nonfinite are drawn (their statistics cover the finite replicates) and ringed in black.
# A value below 1e-12 × the largest of its panel (round-off of an exact estimator, or exactly 0)
# is drawn as an open symbol on a "≈ 0" level instead of at its value.
# In a trajectory file (several values of `step`) only the last step is drawn.
# A panel row is a (problem, wrt) pair: rows with wrt=phi (the gradient with respect to a problem's
# outer parameters φ, mapped by Jᵀ) get their own row of panels, labelled "<problem> — d/dφ (outer)",
# after the eta row of the same problem (labelled "<problem> — d/dη (units)" when both exist). A file
# without a wrt column, or with only eta rows, is drawn as one row per problem.
#
# Columns are found by header name. gnuplot 5.4 reads quoted fields containing commas
# ("bernoulli-quadratic:D=200,p=0.5") correctly when a column is referenced by *number* as a label,
# but strcol() / column-by-name truncate them at the first comma; so problem and estimator names
# are read through `with labels` tables, and the numbers through one numeric table.

# String to number. gnuplot 5.4's real("1e-05") fails ("Trailing characters") when the mantissa
# has no decimal point, and `with table` writes numbers with %g (1000000 -> "1e+06"): insert ".0".
epos(s) = strstrt(s, "e") > 0 ? strstrt(s, "e") : strstrt(s, "E")
tonum(s) = real((strstrt(s, ".") == 0 && epos(s) > 1 && strstrt(s, "n") == 0) ? s[1:epos(s)-1] . ".0" . s[epos(s):] : s)
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
C_PROB = 0; C_EST = 0; C_K = 0; C_VM = 0; C_ST = 0; C_WRT = 0
if (NROWS > 0) { stats IN every ::0::0 using (C_PROB = findcol("problem", 1), C_EST = findcol("estimator", 1), \
    C_K = findcol("K", 1), C_R = findcol("replicates", 1), C_STEP = findcol("step", 1), \
    C_FE = findcol("f_evals", 1), C_VM = findcol("var_mean", 1), C_VSE = findcol("var_mean_se", 1), \
    C_WNV = findcol("work_norm_var", 1), C_ST = findcol("status", 1), C_WRT = findcol("wrt", 1), 0) nooutput }

# ---- terminal -------------------------------------------------------------------------------
FONT = "sans,10"
W = 900

# Draw a figure that only says why there is nothing to draw (a figure script must not fail the
# whole `make bench` because one suite entry produced no usable rows). Used via eval.
PLACEHOLDER = 'if (KIND eq "svg") { set term svg size W,300 enhanced font FONT background "white" } ' . \
    'else { set term pngcairo size W,300 enhanced font FONT }; ' . \
    'set output OUT; unset border; unset tics; unset key; set xrange [0:1]; set yrange [0:1]; ' . \
    'set label 1 sprintf("%s\n%s", IN, MSG) at graph 0.5, 0.5 center noenhanced; ' . \
    'plot 2 notitle; unset output'
if (NROWS <= 0 || C_PROB == 0 || C_EST == 0 || C_K == 0 || C_VM == 0 || C_ST == 0) {
    MSG = (NROWS <= 0) ? "no data rows (or file unreadable)" : "required columns missing (problem, estimator, K, var_mean, status)"
    # a missing column is a schema violation: say so on stderr, but still draw the placeholder
    if (NROWS > 0) { print sprintf("%s: %s: %s", ARG0, IN, MSG) }
    eval PLACEHOLDER
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
# wrt of every row: 1 for phi (outer parameters), 2 for phi-marginal (the same phi-estimates against an
# inclusive-KL problem's model-marginal objective), 0 for eta or no wrt column (wrt is never quoted)
if (C_WRT > 0) {
    set table $WRTAB
    plot IN using 0:(strcol(C_WRT) eq "phi" ? 1 : (strcol(C_WRT) eq "phi-marginal" ? 2 : 0)) with table
}
unset table

array WR[NROWS]          # 1 if row r is a wrt=phi row
array PI[NROWS]          # panel index of row r (1-based): a (problem, wrt) pair
array EI[NROWS]          # estimator index of row r
array UP[NROWS]          # panel labels in order of appearance
array UPB[NROWS]         # ... the panel's problem name
array UPW[NROWS]         # ... and its wrt (1 = phi)
array UE[NROWS]          # unique estimator names in order of appearance
do for [r=1:NROWS] { PI[r] = 0; EI[r] = 0; WR[r] = 0 }
if (C_WRT > 0) {
    do for [i=1:|$WRTAB|] {
        L = $WRTAB[i]
        if (words(L) >= 2 && L[1:1] ne "#") {
            r = int(tonum(word(L, 1))) + 1
            if (r >= 1 && r <= NROWS) { WR[r] = int(tonum(word(L, 2))) }
        }
    }
}
NP = 0
NE = 0
do for [i=1:|$PNAMES|] {
    L = $PNAMES[i]
    if (isdata(L)) {
        r = int(tonum(word(L, 1))) + 1
        s = quoted(L)
        k = 0
        do for [j=1:NP] { if (UPB[j] eq s && UPW[j] == WR[r]) { k = j } }
        if (k == 0) { NP = NP + 1; UPB[NP] = s; UPW[NP] = WR[r]; k = NP }
        PI[r] = k
    }
}
# panel labels: the problem, plus which gradient when the problem has outer parameters
NPROB = 0
do for [p=1:NP] {
    first = 1; both = 0
    do for [j=1:NP] {
        if (UPB[j] eq UPB[p] && j < p) { first = 0 }
        if (UPB[j] eq UPB[p] && UPW[j] != UPW[p]) { both = 1 }
    }
    NPROB = NPROB + first
    UP[p] = UPB[p] . (UPW[p] == 2 ? " — d/dφ, marginal objective" : UPW[p] ? " — d/dφ (outer)" : (both ? " — d/dη (units)" : ""))
}
do for [i=1:|$ENAMES|] {
    L = $ENAMES[i]
    if (isdata(L)) {
        r = int(tonum(word(L, 1))) + 1
        s = quoted(L)
        k = 0
        do for [j=1:NE] { if (UE[j] eq s) { k = j } }
        if (k == 0) { NE = NE + 1; UE[NE] = s; k = NE }
        EI[r] = k
    }
}

if (NP == 0 || NE == 0) {
    MSG = "no row has a problem and an estimator name"
    eval PLACEHOLDER
    exit
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
        st = tonum(word(L, 4))
        if (!isnan(st) && (isnan(STEPMAX) || st > STEPMAX)) { STEPMAX = st }
    }
}

# Keep a row when it has statistics, K > 0, var_mean >= 0 and (trajectory files) the last step.
# A value below ZEROREL × the largest value of its panel is numerically zero (an estimator that is
# exact at this point, e.g. reinforce-optimal with one unit, leaves only round-off, 1e-36 next to
# 1e-4): it is not drawn at its value, which would stretch the log axis over 30 empty decades,
# but as an open symbol on a "≈ 0" level one decade below the smallest real value.
ZEROREL = 1e-12
keeprow(fl, laststep, K, v, r) = fl > 0 && laststep && K > 0 && !isnan(v) && v >= 0 && PI[r] > 0 && EI[r] > 0
NG = NP * NE
array CNTV[NG]; array CNTW[NG]; array ZVC[NG]; array ZWC[NG]
do for [g=1:NG] { CNTV[g] = 0; CNTW[g] = 0; ZVC[g] = 0; ZWC[g] = 0 }
array NNF[NP]
array VMAXP[NP]; array WMAXP[NP]
array VLOP[NP]; array VHIP[NP]; array WLOP[NP]; array WHIP[NP]
do for [p=1:NP] { NNF[p] = 0; VMAXP[p] = 0; WMAXP[p] = 0; VLOP[p] = NaN; VHIP[p] = NaN; WLOP[p] = NaN; WHIP[p] = NaN }
KMIN = NaN; KMAX = NaN; RMIN = NaN; RMAX = NaN; NNONFINITE = 0; NSTEPS_DROPPED = 0; NZERO = 0
fmin(a, b) = isnan(a) ? b : (b < a ? b : a)
fmax(a, b) = isnan(a) ? b : (b > a ? b : a)

# pass 1: largest var_mean and work_norm_var per problem
do for [i=1:|$NUM|] {
    L = $NUM[i]
    if (words(L) >= 9) {
        r = int(tonum(word(L, 1))) + 1
        K = tonum(word(L, 2)); st = tonum(word(L, 4)); v = tonum(word(L, 5)); w = tonum(word(L, 7))
        fl = int(tonum(word(L, 9)))
        laststep = isnan(STEPMAX) || (!isnan(st) && st == STEPMAX)
        if (!laststep) { NSTEPS_DROPPED = NSTEPS_DROPPED + 1 }
        if (keeprow(fl, laststep, K, v, r)) {
            q = PI[r]
            VMAXP[q] = fmax(VMAXP[q], v)
            if (!isnan(w)) { WMAXP[q] = fmax(WMAXP[q], w) }
        }
    }
}

# pass 2: one line per kept row (NaN where a value is numerically zero or missing)
#   group  K  var_mean  var_lo  var_hi  work  work_lo  work_hi  status_flag  var_is_zero  work_is_zero
set print $ROWS
do for [i=1:|$NUM|] {
    L = $NUM[i]
    if (words(L) >= 9) {
        r = int(tonum(word(L, 1))) + 1
        K = tonum(word(L, 2)); R = tonum(word(L, 3)); st = tonum(word(L, 4))
        v = tonum(word(L, 5)); se = tonum(word(L, 6)); w = tonum(word(L, 7)); fl = int(tonum(word(L, 9)))
        laststep = isnan(STEPMAX) || (!isnan(st) && st == STEPMAX)
        if (keeprow(fl, laststep, K, v, r)) {
            q = PI[r]
            g = (q - 1) * NE + EI[r]
            if (isnan(se) || se < 0) { se = 0 }
            vreal = v > ZEROREL * VMAXP[q]
            wreal = !isnan(w) && w > ZEROREL * WMAXP[q]
            if (vreal) {
                # a lower error bar at or below zero cannot be drawn on a log axis: clip it at v/100
                vlo = (v - se > v / 100.0) ? v - se : v / 100.0
                vhi = v + se
                CNTV[g] = CNTV[g] + 1
                VLOP[q] = fmin(VLOP[q], vlo); VHIP[q] = fmax(VHIP[q], vhi)
                if (fl == 2) { NNONFINITE = NNONFINITE + 1; NNF[q] = NNF[q] + 1 }
            } else {
                vlo = NaN; vhi = NaN; ZVC[g] = ZVC[g] + 1; NZERO = NZERO + 1
            }
            if (wreal) {
                # work_norm_var = var_mean × f_evals, so its standard error scales by the same factor
                wlo = vreal ? vlo * w / v : w; whi = vreal ? vhi * w / v : w
                CNTW[g] = CNTW[g] + 1
                WLOP[q] = fmin(WLOP[q], wlo); WHIP[q] = fmax(WHIP[q], whi)
            } else {
                if (!isnan(w)) { ZWC[g] = ZWC[g] + 1; NZERO = NZERO + 1 }
                wlo = NaN; whi = NaN
            }
            print sprintf("%d %.10g %.10g %.10g %.10g %.10g %.10g %.10g %d %d %d", g, K, \
                vreal ? v : NaN, vlo, vhi, wreal ? w : NaN, wlo, whi, fl, \
                !vreal, !wreal && !isnan(w))
            KMIN = fmin(KMIN, K); KMAX = fmax(KMAX, K)
            if (!isnan(R)) { RMIN = fmin(RMIN, R); RMAX = fmax(RMAX, R) }
        }
    }
}
unset print
array CNT[NG]
NKEPT = 0
do for [g=1:NG] { CNT[g] = CNTV[g] + CNTW[g] + ZVC[g] + ZWC[g]; NKEPT = NKEPT + CNT[g] }
# "≈ 0" level of each panel: one decade below its smallest real value
array ZPOSV[NP]; array ZPOSW[NP]
do for [p=1:NP] {
    ZPOSV[p] = isnan(VLOP[p]) ? 1 : VLOP[p] / 10.0
    ZPOSW[p] = isnan(WLOP[p]) ? 1 : WLOP[p] / 10.0
}

# $DATA: one index block per non-empty group (gnuplot does not count empty blocks, so an empty
# group must not get one); BLK[g] is the block number of group g.
array BLK[NG]
NBLK = 0
set print $DATA
do for [g=1:NG] {
    BLK[g] = -1
    if (CNTV[g] + CNTW[g] > 0) {
        BLK[g] = NBLK
        NBLK = NBLK + 1
        do for [i=1:|$ROWS|] {
            L = $ROWS[i]
            if (int(tonum(word(L, 1))) == g) { print L }
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
NFTITLE = "nonfinite (some replicates excluded)"
ZTITLE = "open, on the ≈0 line: < 1e-12 × panel max"
if (NNONFINITE > 0 && strlen(NFTITLE) > MAXLEN) { MAXLEN = strlen(NFTITLE) }
if (NZERO > 0 && strlen(ZTITLE) > MAXLEN) { MAXLEN = strlen(ZTITLE) }
KEYCOLS = int(800 / (MAXLEN * 7 + 70))
KEYCOLS = (KEYCOLS < 1) ? 1 : (KEYCOLS > 3 ? 3 : KEYCOLS)
NKEYENT = NE_SHOWN + (NNONFINITE > 0 ? 1 : 0) + (NZERO > 0 ? 1 : 0)
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

if (KIND eq "svg") { set term svg size W,H enhanced font FONT background "white" } \
else { set term pngcairo size W,H enhanced font FONT }
set output OUT

# the svg terminal draws points about 1.4 times larger than pngcairo at the same size
PSCALE = (KIND eq "svg") ? 0.7 : 1.0

# screen coordinates from pixels (y measured from the top)
sx(px) = px / real(W)
sy(px) = 1.0 - px / real(H)

# ---- styles: one colour + point type per estimator (Okabe–Ito first, then more) -----------
array COL[12] = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", \
                 "#000000", "#8C564B", "#7F7F7F", "#BCBD22", "#9467BD", "#F0E442"]
array PT[8] = [7, 5, 9, 11, 13, 15, 4, 6]
array PTO[8] = [6, 4, 8, 10, 12, 14, 4, 6]      # open version of PT, for numerically-zero values
do for [e=1:NE] {
    eval sprintf("set linetype %d lc rgb '%s' lw 1.6 pt %d ps %.2f dt %d", \
        e, COL[(e-1) % 12 + 1], PT[(e-1) % 8 + 1], 0.9 * PSCALE, ((e-1) / 12) % 4 + 1)
}

# ---- text -----------------------------------------------------------------------------------
RTXT = isnan(RMIN) ? "" : (RMIN == RMAX ? sprintf("R = %d replicates per point", RMIN) \
                                         : sprintf("R = %d–%d replicates per point", RMIN, RMAX))
STEPTXT = (isnan(STEPMAX) || NSTEPS_DROPPED == 0) ? "" : sprintf("; trajectory file: last step (%d) only", STEPMAX)
SUB = (NKEPT == 0) ? "" : sprintf("%s; error bars ±1 standard error%s", RTXT, STEPTXT)
FIGTITLE = (NP == 1) ? UP[1] : (NPROB == 1 ? UPB[1] : sprintf("%s  (%d problems)", IN, NPROB))

set multiplot

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

# the "≈ 0" level: a label at its left end and a dotted line half a decade above it
ZEROLEVEL(z) = sprintf("set label 907 '≈ 0' at graph 0.01, first %.10g left offset 0.3, 0 font 'sans,9' tc rgb '#666666'; ", z) . \
               sprintf("set arrow 907 from graph 0, first %.10g to graph 1, first %.10g nohead dt 3 lc rgb '#999999'", z * sqrt(10), z * sqrt(10))
decades(lo, hi) = log10(hi) - log10(lo)
yfmt(lo, hi) = decades(lo, hi) >= 1.2 ? "10^{%L}" : "%.2g"

# with numerically-zero points, leave room at the left for the "≈ 0" label
XLO = isnan(KMIN) ? 0.7 : KMIN / (NZERO > 0 ? 2.2 : 1.35)
XHI = isnan(KMAX) ? 1.4 : KMAX * 1.35
if (XLO >= XHI / 1.9) { XLO = XLO / 1.5; XHI = XHI * 1.5 }
# tics at KMIN, 2 KMIN, 4 KMIN, ... (every other power of two when K spans more than 2^8)
XSTEP = (!isnan(KMIN) && KMAX / KMIN > 256) ? 4 : 2
XT0 = isnan(KMIN) ? 1 : KMIN

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
    set label 905 "variance × evaluations (equal evaluation budget)" at screen sx((L2+R2)/2), sy(TOP - 8) center font "sans,10"
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
        set tics nomirror out scale 0.6
        set xtics XT0, XSTEP
    } else {
        set yrange [1:10]; unset tics
    }
    set ylabel "variance per coordinate\n(mean over coordinates)" offset 0.5, 0
    unset key
    unset arrow
    CMD = ""
    NZP = 0
    do for [e=1:NE] {
        g = (p-1)*NE + e
        if (CNTV[g] > 0) {
            CMD = CMD . sprintf("%s$DATA index %d using 2:3:4:5 lt %d notitle", (strlen(CMD) ? ", " : ""), BLK[g], e)
        }
        if (ZVC[g] > 0) {
            NZP = NZP + ZVC[g]
            CMD = CMD . sprintf("%s$ROWS using (column(1) == %d && column(10) == 1 ? column(2) : NaN):(ZPOSV[%d]) with points lt %d pt %d notitle", \
                  (strlen(CMD) ? ", " : ""), g, p, e, PTO[(e-1) % 8 + 1])
        }
    }
    if (NZP > 0) { eval ZEROLEVEL(ZPOSV[p]) }
    if (NNF[p] > 0) {
        CMD = CMD . sprintf(", $ROWS using (column(9) == 2 && int((column(1)-1) / NE) == %d ? column(2) : NaN):3 with points pt 6 ps 1.8*PSCALE lc rgb 'black' notitle", p-1)
    }
    if (strlen(CMD) == 0) { CMD = "NaN notitle" }
    eval "plot " . CMD

    # -- right panel: work_norm_var ------------------------------------------------------------
    unset label
    unset key
    unset arrow
    set lmargin at screen sx(L2); set rmargin at screen sx(R2)
    CMD = ""
    NZP = 0
    do for [e=1:NE] {
        g = (p-1)*NE + e
        if (CNTW[g] > 0) {
            CMD = CMD . sprintf("%s$DATA index %d using 2:6:7:8 lt %d notitle", (strlen(CMD) ? ", " : ""), BLK[g], e)
        }
        if (ZWC[g] > 0) {
            NZP = NZP + ZWC[g]
            CMD = CMD . sprintf("%s$ROWS using (column(1) == %d && column(11) == 1 ? column(2) : NaN):(ZPOSW[%d]) with points lt %d pt %d notitle", \
                  (strlen(CMD) ? ", " : ""), g, p, e, PTO[(e-1) % 8 + 1])
        }
    }
    if (strlen(CMD) > 0) {
        set yrange [*:*]
        set format y yfmt(WLOP[p], WHIP[p])
        set tics nomirror out scale 0.6
        set xtics XT0, XSTEP
        if (NZP > 0) { eval ZEROLEVEL(ZPOSW[p]) }
    } else {
        set yrange [1:10]; unset tics
        set label 906 (NPTS > 0 ? "work_norm_var not available" : "no plottable rows") at graph 0.5, 0.5 center noenhanced
        CMD = "NaN notitle"
    }
    set ylabel "variance × evaluations per estimate\n(work\\_norm\\_var)" offset 0.5, 0
    eval "plot " . CMD
}

# ---- key: a frameless full-width panel in the bottom band ------------------------------------
unset label
unset arrow
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
    CMD = CMD . ", NaN with points pt 6 ps 1.8*PSCALE lc rgb 'black' title NFTITLE"
}
if (NZERO > 0) {
    CMD = CMD . ", NaN with points pt 4 lc rgb '#666666' title ZTITLE"
}
if (strlen(CMD) == 0) { CMD = "NaN notitle"; unset key }
eval "plot " . CMD
unset multiplot
unset output
