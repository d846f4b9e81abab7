# basket.gp — variance of the basket estimators along a training trajectory.
#
#   gnuplot -c plots/basket.gp IN.basket.csv OUT.png png
#   gnuplot -c plots/basket.gp IN.basket.csv OUT.svg svg
#   gnuplot -c plots/basket-theta.gp IN.basket.csv OUT.png png     (x = θ instead of step)
#
# IN is a basket file written by `gradvar train --basket` (FILE.basket.csv: the summary schema of
# results/README.md with `step` filled in): at every recorded step of one trajectory, R frozen-point
# estimates of every basket estimator at the trajectory's current parameters.
#   y = var_mean, the mean over coordinates of the per-coordinate variance of one estimate (log10),
#       thin line through the records, a shaded band of ±1 standard error (var_mean_se) and a marker
#       on every few records (markers staggered between estimators so that they do not sit on
#       one another);
#   x = step (basket.gp), or prob_mean = the mean θ of the units at the point measured
#       (basket-theta.gp, for a sweep whose trajectory moves θ across (0, 1), e.g. from 0.1 to 0.9).
# One line per estimator, the same colour (and marker) in every panel. One panel per K when the
# file holds several K (e.g. basket files of several `train -K` runs concatenated), labelled
# "K = …" (basket.gp) or "n = …" (basket-theta.gp); the panels share the y axis so that the levels
# of different K compare directly. Rows with wrt=phi (a problem with outer parameters) get their
# own panels ("d/dφ (outer)"), as do the rows of different problems. The title is the problem.
# Only rows with status ok are drawn (the others are counted in the subtitle). A value below 1e-12 ×
# the largest of its panel (an estimator exact at this point, or round-off) is drawn as an open
# symbol on a "≈ 0" level below the others instead of at its value, and breaks the line.
# An empty / header-only file or one without the needed columns gives a placeholder figure.
#
# Columns are found by header name. gnuplot 5.4 reads quoted fields containing commas
# ("bernoulli-quadratic:p=0.1,preset=d1-t0.49") correctly when a column is referenced by *number*
# as a label, but strcol() / column-by-name truncate them at the first comma; so problem and
# estimator names are read through `with labels` tables, and the numbers through one numeric table.

if (!exists("BASKET_X")) { BASKET_X = "step" }
THETA = (BASKET_X eq "theta") ? 1 : 0
SCRIPT = THETA ? "basket-theta.gp" : "basket.gp"
if (ARGC < 2) {
    print sprintf("usage: gnuplot -c plots/%s IN.basket.csv OUT.(png|svg) [png|svg]", SCRIPT)
    exit status 2
}
IN  = ARG1
OUT = ARG2
KIND = (ARGC >= 3 && strlen(ARG3) > 0) ? ARG3 : (OUT[strlen(OUT)-3:] eq ".svg" ? "svg" : "png")
if (KIND ne "png" && KIND ne "svg") {
    print sprintf("%s: terminal kind must be png or svg (got '%s')", SCRIPT, KIND)
    exit status 2
}

# String to number. gnuplot 5.4's real("1e-05") fails ("Trailing characters") when the mantissa
# has no decimal point, and `with table` writes numbers with %g (1000000 -> "1e+06"): insert ".0".
epos(s) = strstrt(s, "e") > 0 ? strstrt(s, "e") : strstrt(s, "E")
tonum(s) = real((strstrt(s, ".") == 0 && epos(s) > 1 && strstrt(s, "n") == 0) ? s[1:epos(s)-1] . ".0" . s[epos(s):] : s)
isnan(x) = (x != x)
fmin(a, b) = isnan(a) ? b : (b < a ? b : a)
fmax(a, b) = isnan(a) ? b : (b > a ? b : a)

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
C_PROB = 0; C_EST = 0; C_K = 0; C_R = 0; C_STEP = 0; C_WRT = 0; C_PM = 0; C_VM = 0; C_VSE = 0; C_ST = 0
if (NROWS > 0) { stats IN every ::0::0 using (C_PROB = findcol("problem", 1), C_EST = findcol("estimator", 1), \
    C_K = findcol("K", 1), C_R = findcol("replicates", 1), C_STEP = findcol("step", 1), \
    C_WRT = findcol("wrt", 1), C_PM = findcol("prob_mean", 1), C_VM = findcol("var_mean", 1), \
    C_VSE = findcol("var_mean_se", 1), C_ST = findcol("status", 1), 0) nooutput }
C_X = THETA ? C_PM : C_STEP

# ---- terminal -------------------------------------------------------------------------------
FONT = "sans,10"
W = 1000

# Draw a figure that only says why there is nothing to draw (a figure script must not fail the
# whole `make plots` because one entry produced no usable rows). Used via eval.
PLACEHOLDER = 'if (KIND eq "svg") { set term svg size W,300 enhanced font FONT background "white" } ' . \
    'else { set term pngcairo size W,300 enhanced font FONT }; ' . \
    'set output OUT; unset border; unset tics; unset key; set xrange [0:1]; set yrange [0:1]; ' . \
    'set label 1 sprintf("%s\n%s", IN, MSG) at graph 0.5, 0.5 center noenhanced; ' . \
    'plot 2 notitle; unset output'
XCOLNAME = THETA ? "prob_mean" : "step"
if (NROWS <= 0 || C_PROB == 0 || C_EST == 0 || C_K == 0 || C_VM == 0 || C_ST == 0 || C_X == 0) {
    MSG = (NROWS <= 0) ? "no data rows (or file unreadable)" : \
          sprintf("required columns missing (problem, estimator, K, %s, var_mean, status)", XCOLNAME)
    # a missing column is a schema violation: say so on stderr, but still draw the placeholder
    if (NROWS > 0) { print sprintf("%s: %s: %s; placeholder figure written", SCRIPT, IN, MSG) }
    eval PLACEHOLDER
    exit
}

# ---- names: problem and estimator of every data row; wrt ------------------------------------
lastq(s, i) = (i < 1) ? 0 : (s[i:i] eq "\"" ? i : lastq(s, i-1))
quoted(s) = s[strstrt(s, "\"")+1 : lastq(s, strlen(s))-1]
isdata(s) = strlen(s) > 0 && s[1:1] ne "#" && strstrt(s, "\"") > 0

set xrange [-1:NROWS]
set yrange [-1:1]
set table $PNAMES
plot IN using 0:(0):C_PROB with labels
set table $ENAMES
plot IN using 0:(0):C_EST with labels
# wrt of every row: 1 for phi (outer parameters), 0 for eta or no wrt column (wrt is never quoted)
if (C_WRT > 0) {
    set table $WRTAB
    plot IN using 0:(strcol(C_WRT) eq "phi" ? 1 : 0) with table
}
unset table

array PI[NROWS]; array EI[NROWS]; array WR[NROWS]
array UP[NROWS]; array UE[NROWS]
do for [r=1:NROWS] { PI[r] = 0; EI[r] = 0; WR[r] = 0 }
NP = 0
NE = 0
do for [i=1:|$PNAMES|] {
    L = $PNAMES[i]
    if (isdata(L)) {
        r = int(tonum(word(L, 1))) + 1
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
        r = int(tonum(word(L, 1))) + 1
        s = quoted(L)
        k = 0
        do for [j=1:NE] { if (UE[j] eq s) { k = j } }
        if (k == 0) { NE = NE + 1; UE[NE] = s; k = NE }
        EI[r] = k
    }
}
if (C_WRT > 0) {
    do for [i=1:|$WRTAB|] {
        L = $WRTAB[i]
        if (words(L) >= 2 && L[1:1] ne "#") {
            r = int(tonum(word(L, 1))) + 1
            if (r >= 1 && r <= NROWS) { WR[r] = int(tonum(word(L, 2))) }
        }
    }
}
if (NP == 0 || NE == 0) {
    MSG = "no row has a problem and an estimator name"
    print sprintf("%s: %s: %s; placeholder figure written", SCRIPT, IN, MSG)
    eval PLACEHOLDER
    exit
}

# ---- numbers: one table, NaN for empty fields -----------------------------------------------
#   row  K  R  x  var_mean  var_mean_se  ok
num(c) = (c > 0 && valid(c)) ? column(c) : NaN
set table $NUM
plot IN using 0:(num(C_K)):(num(C_R)):(num(C_X)):(num(C_VM)):(num(C_VSE)):(strcol(C_ST) eq "ok" ? 1 : 0) with table
unset table
set autoscale

# pass 1: usable rows; panels = (problem, wrt, K) in that order of precedence, K ascending
array USE[NROWS]; array PAN[NROWS]
array PPB[NROWS]; array PPW[NROWS]; array PPK[NROWS]
do for [r=1:NROWS] { USE[r] = 0; PAN[r] = 0 }
NPAN = 0; NNOTOK = 0; NNOX = 0; RMIN = NaN; RMAX = NaN
do for [i=1:|$NUM|] {
    L = $NUM[i]
    if (words(L) >= 7) {
        r = int(tonum(word(L, 1))) + 1
        K = tonum(word(L, 2)); R = tonum(word(L, 3)); x = tonum(word(L, 4)); v = tonum(word(L, 5))
        ok = int(tonum(word(L, 7)))
        if (r >= 1 && r <= NROWS && PI[r] > 0 && EI[r] > 0) {
            if (!ok) { NNOTOK = NNOTOK + 1 } else {
            if (isnan(x) || isnan(K) || isnan(v) || v < 0) { NNOX = NNOX + 1 } else {
                USE[r] = 1
                k = 0
                do for [j=1:NPAN] { if (PPB[j] == PI[r] && PPW[j] == WR[r] && PPK[j] == K) { k = j } }
                if (k == 0) { NPAN = NPAN + 1; PPB[NPAN] = PI[r]; PPW[NPAN] = WR[r]; PPK[NPAN] = K }
                if (!isnan(R)) { RMIN = fmin(RMIN, R); RMAX = fmax(RMAX, R) }
            } }
        }
    }
}
if (NPAN == 0) {
    MSG = sprintf("no usable row: %d with status ok but without a numeric %s / var_mean%s, %d with status not ok", \
                  NNOX, XCOLNAME, (!THETA && NNOX > 0) ? " (a run file rather than a basket file?)" : "", NNOTOK)
    print sprintf("%s: %s: %s; placeholder figure written", SCRIPT, IN, MSG)
    eval PLACEHOLDER
    exit
}
# sort the panels by (problem, wrt, K)
pkey(j) = (PPB[j] * 2.0 + PPW[j]) * 1e9 + PPK[j]
do for [a=2:NPAN] {
    b = a
    while (b > 1 && pkey(b-1) > pkey(b)) {
        t = PPB[b]; PPB[b] = PPB[b-1]; PPB[b-1] = t
        t = PPW[b]; PPW[b] = PPW[b-1]; PPW[b-1] = t
        t = PPK[b]; PPK[b] = PPK[b-1]; PPK[b-1] = t
        b = b - 1
    }
}
findpan(pb, pw, K) = sum [j=1:NPAN] ((PPB[j] == pb && PPW[j] == pw && PPK[j] == K) ? j : 0)

# pass 2: panel of every usable row; largest value per panel (for the "numerically zero" test)
ZEROREL = 1e-12
array VMAX[NPAN]
do for [q=1:NPAN] { VMAX[q] = 0 }
do for [i=1:|$NUM|] {
    L = $NUM[i]
    if (words(L) >= 7) {
        r = int(tonum(word(L, 1))) + 1
        if (r >= 1 && r <= NROWS && USE[r]) {
            PAN[r] = findpan(PI[r], WR[r], tonum(word(L, 2)))
            VMAX[PAN[r]] = fmax(VMAX[PAN[r]], tonum(word(L, 5)))
        }
    }
}

# pass 3: one line per usable row
#   group  x  var_mean  band_lo  band_hi  is_zero      (group = (panel-1)*NE + estimator)
NG = NPAN * NE
array CNT[NG]; array CNTR[NG]
do for [g=1:NG] { CNT[g] = 0; CNTR[g] = 0 }
YLO = NaN; YHI = NaN; XMIN = NaN; XMAX = NaN; NZERO = 0
set print $ROWS
do for [i=1:|$NUM|] {
    L = $NUM[i]
    if (words(L) >= 7) {
        r = int(tonum(word(L, 1))) + 1
        if (r >= 1 && r <= NROWS && USE[r]) {
            q = PAN[r]
            g = (q - 1) * NE + EI[r]
            x = tonum(word(L, 4)); v = tonum(word(L, 5)); se = tonum(word(L, 6))
            if (isnan(se) || se < 0) { se = 0 }
            real_ = v > ZEROREL * VMAX[q]
            CNT[g] = CNT[g] + 1
            XMIN = fmin(XMIN, x); XMAX = fmax(XMAX, x)
            if (real_) {
                CNTR[g] = CNTR[g] + 1
                # a band edge at or below zero cannot be drawn on a log axis: clip it at v/10
                lo = (v - se > v / 10.0) ? v - se : v / 10.0
                hi = v + se
                YLO = fmin(YLO, (v - se > v / 3.0) ? v - se : v / 3.0); YHI = fmax(YHI, hi)
                print sprintf("%d %.10g %.10g %.10g %.10g 0", g, x, v, lo, hi)
            } else {
                NZERO = NZERO + 1
                print sprintf("%d %.10g NaN NaN NaN 1", g, x)
            }
        }
    }
}
unset print
if (isnan(YLO)) { YLO = 1; YHI = 10 }
if (YHI <= YLO * 1.5) { YLO = YLO / 2.0; YHI = YHI * 2.0 }
# "≈ 0" level: one decade below the smallest value drawn; estimators with numerically-zero
# records get sub-levels a little below one another so that their open symbols do not coincide
ZPOS = YLO / 10.0
array ZLEV[NE]
NZE = 0
do for [e=1:NE] {
    ZLEV[e] = ZPOS
    hz = 0
    do for [q=1:NPAN] { if (CNT[(q-1)*NE + e] > CNTR[(q-1)*NE + e]) { hz = 1 } }
    if (hz) { ZLEV[e] = ZPOS / 1.4**NZE; NZE = NZE + 1 }
}
YBOT = (NZERO > 0) ? ZPOS / 1.4**(NZE - 1) / 2.5 : YLO / 1.25
YTOP = YHI * 1.25

# $DATA: one index block per group with at least one real value, in file (= step) order; a
# numerically-zero record stays in the block as NaN so that the line and band break there.
# One pass distributes the rows into a datablock per group ($G1, $G2, ...; a scan of every row per
# group was quadratic: minutes for a basket recorded at every step), then the blocks are copied out.
array BLK[NG]
NBLK = 0
NREC = 0
do for [g=1:NG] { if (CNTR[g] > 0) { eval sprintf("set print $G%d", g) } }
do for [i=1:|$ROWS|] {
    L = $ROWS[i]
    g = int(tonum(word(L, 1)))
    if (g >= 1 && g <= NG && CNTR[g] > 0) {
        eval sprintf("set print $G%d append", g)
        print sprintf("%s %s %s %s", word(L, 2), word(L, 3), word(L, 4), word(L, 5))
    }
}
set print $DATA
do for [g=1:NG] {
    BLK[g] = -1
    if (CNTR[g] > 0) {
        BLK[g] = NBLK
        NBLK = NBLK + 1
        NREC = (CNT[g] > NREC) ? CNT[g] : NREC
        eval sprintf("NB_G = |$G%d|", g)
        do for [i=1:NB_G] { eval sprintf("print $G%d[%d]", g, i) }
        print ""
        print ""
    }
}
unset print

# everything below reads the whitespace-separated datablocks built above
set datafile separator whitespace
set datafile nocolumnheaders

# ---- panel labels -----------------------------------------------------------------------------
# the problem only when there are several; the gradient only when the file has phi rows
ANYPHI = 0
do for [q=1:NPAN] { ANYPHI = ANYPHI + PPW[q] }
array PLAB[NPAN]
do for [q=1:NPAN] {
    PLAB[q] = sprintf("%s = %g", THETA ? "n" : "K", PPK[q])
    if (ANYPHI > 0) { PLAB[q] = PLAB[q] . (PPW[q] ? "  —  d/dφ (outer)" : "  —  d/dη (units)") }
    if (NP > 1) { PLAB[q] = UP[PPB[q]] . "   " . PLAB[q] }
}

# ---- layout ---------------------------------------------------------------------------------
array SHOWN[NE]
NE_SHOWN = 0; MAXLEN = 0
do for [e=1:NE] {
    SHOWN[e] = 0
    do for [q=1:NPAN] { if (CNT[(q-1)*NE + e] > 0) { SHOWN[e] = 1 } }
    if (SHOWN[e]) { NE_SHOWN = NE_SHOWN + 1; MAXLEN = (strlen(UE[e]) > MAXLEN) ? strlen(UE[e]) : MAXLEN }
}
T_BAND = "shaded: ±1 standard error"
T_ZERO = "open, on the ≈0 line: < 1e-12 × panel max"
NKEYENT = NE_SHOWN + 1 + (NZERO > 0)
MAXLEN = (strlen(T_BAND) > MAXLEN) ? strlen(T_BAND) : MAXLEN
if (NZERO > 0) { MAXLEN = (strlen(T_ZERO) > MAXLEN) ? strlen(T_ZERO) : MAXLEN }
# gnuplot sizes key columns by the longest title (in bytes); about 7 px a byte at this font
KEYCOLS = int((W - 40) / ((MAXLEN + 8) * 7.5))
KEYCOLS = (KEYCOLS < 1) ? 1 : (KEYCOLS > 4 ? 4 : KEYCOLS)
KEYROWS = (NKEYENT + KEYCOLS - 1) / KEYCOLS
# one row of panels per (problem, wrt) when that gives at most 4 columns, else a 2- or 3-column grid
NKD = 0; NGRP = 0
do for [q=1:NPAN] { if (q == 1 || PPB[q] != PPB[q-1] || PPW[q] != PPW[q-1]) { NGRP = NGRP + 1 } }
array KSEEN[NPAN]
do for [q=1:NPAN] {
    seen = 0
    do for [j=1:NKD] { if (KSEEN[j] == PPK[q]) { seen = 1 } }
    if (!seen) { NKD = NKD + 1; KSEEN[NKD] = PPK[q] }
}
PCOLS = (NPAN == 1) ? 1 : (NPAN <= 4 ? 2 : 3)
if (NGRP > 1 && NKD > 1 && NKD <= 4 && NGRP * NKD == NPAN) { PCOLS = NKD }
PROWS = (NPAN + PCOLS - 1) / PCOLS
W = (PCOLS == 1) ? 900 : 1000
TITLE_PX = 62
PTITLE_PX = 26
PANEL_PX = (PCOLS == 1) ? 400 : (PCOLS == 2 ? 320 : 270)
XLAB_PX = 50
ROW_PX = PTITLE_PX + PANEL_PX + XLAB_PX
LEFT_PX = 88
GAP_PX = (PCOLS == 1) ? 0 : 62
PW = (W - LEFT_PX - 24 - (PCOLS - 1) * GAP_PX) / PCOLS
# the key goes into the empty cells of the last row of panels when it fits there (one column),
# otherwise into a band at the bottom
NSLOT = PROWS * PCOLS - NPAN
SLOT_L = LEFT_PX + (PCOLS - NSLOT) * (PW + GAP_PX) - GAP_PX / 2
SLOT_T = TITLE_PX + (PROWS - 1) * ROW_PX + PTITLE_PX
KEYINSLOT = (NSLOT > 0 && (MAXLEN + 8) * 7.5 + 20 < W - 8 - SLOT_L && 19 * NKEYENT + 24 < PANEL_PX) ? 1 : 0
KEY_PX = KEYINSLOT ? 0 : 16 + 19 * KEYROWS
H = TITLE_PX + PROWS * ROW_PX + KEY_PX
H = (H < 400) ? 400 : H

if (KIND eq "svg") { set term svg size W,H enhanced font FONT background "white" } \
else { set term pngcairo size W,H enhanced font FONT }
set output OUT

# the svg terminal draws points about 1.4 times larger than pngcairo at the same size
PSCALE = (KIND eq "svg") ? 0.7 : 1.0

# screen coordinates from pixels (y measured from the top)
sx(px) = px / real(W)
sy(px) = 1.0 - px / real(H)

# ---- styles: one colour + point type per estimator (same assignment as var-vs-K.gp) ----------
array COL[12] = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", \
                 "#000000", "#8C564B", "#7F7F7F", "#BCBD22", "#9467BD", "#F0E442"]
array PT[8] = [7, 5, 9, 11, 13, 15, 4, 6]
array PTO[8] = [6, 4, 8, 10, 12, 14, 4, 6]      # open version of PT, for numerically-zero values
do for [e=1:NE] {
    eval sprintf("set linetype %d lc rgb '%s' lw 1.5 pt %d ps %.2f dt %d", \
        e, COL[(e-1) % 12 + 1], PT[(e-1) % 8 + 1], 0.85 * PSCALE, ((e-1) / 12) % 4 + 1)
}
# a marker every PIV records, staggered by estimator
PIV = int(NREC / 8)
PIV = (PIV < 1) ? 1 : PIV

# ---- text -----------------------------------------------------------------------------------
RTXT = isnan(RMIN) ? "" : (RMIN == RMAX ? sprintf("R = %d replicates", RMIN) \
                                         : sprintf("R = %d–%d replicates", RMIN, RMAX))
SKIPTXT = (NNOTOK > 0) ? sprintf("; %d row(s) not ok skipped", NNOTOK) : ""
SKIPTXT = SKIPTXT . ((NNOX > 0) ? sprintf("; %d row(s) without %s skipped", NNOX, XCOLNAME) : "")
if (NNOX > 0) { print sprintf("%s: %s: %d row(s) with status ok but without a numeric %s / var_mean skipped", SCRIPT, IN, NNOX, XCOLNAME) }
SUB = sprintf("variance of one estimate at the trajectory's current point; %s per point%s", RTXT, SKIPTXT)
FIGTITLE = (NP == 1) ? UP[1] : sprintf("%s  (%d problems)", IN, NP)
XLABEL = THETA ? (PCOLS >= 3 ? "θ (prob\\_mean)" : "θ at the point measured (prob\\_mean, mean over units)") : "optimisation step"

if (THETA) {
    XPAD = (XMAX > XMIN) ? 0.02 * (XMAX - XMIN) : 0.05
    XL = XMIN - XPAD; XR = XMAX + XPAD
} else {
    XL = XMIN; XR = (XMAX > XMIN) ? XMAX : XMIN + 1
}

set multiplot

set logscale y 10
set grid xtics ytics mytics lc rgb "#dddddd" lw 1, lc rgb "#eeeeee" lw 0.5
set border 3 lc rgb "#555555"
set tics nomirror out scale 0.6
set format y (log10(YTOP / YBOT) >= 1.2) ? "10^{%L}" : "%.2g"
set format x "%g"
set xlabel XLABEL offset 0, 0.3
unset title
unset key
set xrange [XL:XR]
set yrange [YBOT:YTOP]

do for [q=1:NPAN] {
    pc = (q - 1) % PCOLS
    pr = (q - 1) / PCOLS
    LFT = LEFT_PX + pc * (PW + GAP_PX)
    TOP = TITLE_PX + pr * ROW_PX + PTITLE_PX
    BOT = TOP + PANEL_PX

    unset label
    unset arrow
    if (q == 1) {
        set label 901 FIGTITLE at screen 0.5, sy(20) center font "sans,13" noenhanced
        set label 902 SUB at screen 0.5, sy(42) center font "sans,10" tc rgb "#444444" noenhanced
    }
    set label 903 PLAB[q] at screen sx(LFT + PW/2), sy(TOP - 10) center font "sans,11" noenhanced
    if (pc == 0) {
        set ylabel "variance per coordinate (var\\_mean)" offset 0.5, 0
    } else {
        unset ylabel
    }
    set lmargin at screen sx(LFT); set rmargin at screen sx(LFT + PW)
    set tmargin at screen sy(TOP); set bmargin at screen sy(BOT)

    CMD = ""
    NZP = 0
    # bands first, then lines, then markers, so that no band covers a line
    do for [e=1:NE] {
        g = (q-1)*NE + e
        if (CNTR[g] > 0) {
            CMD = CMD . sprintf("%s$DATA index %d using 1:3:4 with filledcurves fc rgb '%s' fs transparent solid 0.13 noborder notitle", \
                  (strlen(CMD) ? ", " : ""), BLK[g], COL[(e-1) % 12 + 1])
        }
    }
    do for [e=1:NE] {
        g = (q-1)*NE + e
        if (CNTR[g] > 0) {
            CMD = CMD . sprintf(", $DATA index %d using 1:2 with lines lt %d notitle", BLK[g], e)
            CMD = CMD . sprintf(", $DATA index %d every %d::%d using 1:2 with points lt %d notitle", \
                  BLK[g], PIV, (e - 1) % PIV, e)
        }
        if (CNT[g] > CNTR[g]) {
            NZP = NZP + 1
            CMD = CMD . sprintf("%s$ROWS using (column(1) == %d && column(6) == 1 ? column(2) : NaN):(ZLEV[%d]) with points lt %d pt %d notitle", \
                  (strlen(CMD) ? ", " : ""), g, e, e, PTO[(e-1) % 8 + 1])
        }
    }
    if (NZERO > 0) {
        set label 907 "≈ 0" at graph 0.01, first ZPOS left offset 0.3, 0.7 font "sans,9" tc rgb "#666666"
        set arrow 907 from graph 0, first ZPOS * sqrt(3) to graph 1, first ZPOS * sqrt(3) nohead dt 3 lc rgb "#999999"
    }
    if (strlen(CMD) == 0) { CMD = "NaN notitle" }
    if (CMD[1:2] eq ", ") { CMD = CMD[3:] }
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
if (KEYINSLOT) {
    set lmargin at screen sx(SLOT_L); set rmargin at screen sx(W - 8)
    set tmargin at screen sy(SLOT_T); set bmargin at screen sy(SLOT_T + PANEL_PX)
    set key inside center center vertical maxrows NKEYENT reverse Left samplen 2.5 width 1 spacing 1.1 \
        noenhanced box lc rgb "#bbbbbb"
} else {
    set lmargin at screen sx(8); set rmargin at screen sx(W - 8)
    set tmargin at screen sy(H - KEY_PX + 4); set bmargin at screen sy(H - 4)
    set key inside center center horizontal maxcols KEYCOLS reverse Left samplen 2.5 width 1 spacing 1.1 \
        noenhanced box lc rgb "#bbbbbb"
}
set xrange [0:1]; set yrange [0:1]
CMD = ""
do for [e=1:NE] {
    if (SHOWN[e]) {
        CMD = CMD . sprintf("%sNaN lt %d with linespoints title UE[%d]", (strlen(CMD) ? ", " : ""), e, e)
    }
}
CMD = CMD . ", NaN with filledcurves y1=0 fc rgb '#888888' fs transparent solid 0.3 noborder title T_BAND"
if (NZERO > 0) {
    CMD = CMD . ", NaN with points pt 6 lc rgb '#666666' title T_ZERO"
}
if (CMD[1:2] eq ", ") { CMD = CMD[3:] }
eval "plot " . CMD
unset multiplot
unset output
