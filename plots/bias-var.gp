# bias-var.gp — is an estimator biased, and how large is its bias next to its variance?
#
#   gnuplot -c plots/bias-var.gp IN.csv OUT.png png
#   gnuplot -c plots/bias-var.gp IN.csv OUT.svg svg
#
# IN is a results CSV (schema: results/README.md). One panel per problem in the file; one point per
# (estimator, K), coloured by estimator, labelled with K, joined in order of K:
#   x = var_sum   = trace of the covariance of one estimate, Σ_p Var[ĝ_p]   (log10 axis)
#   y = bias2_raw = ‖ḡ − g*‖², squared error of the mean of the R replicates (log10 axis)
# For an unbiased estimator E‖ḡ − g*‖² = var_sum / R exactly, so its points scatter around the
# grey line y = x/R (R from the replicates column). A biased estimator sits above it by
# ‖bias‖², which does not shrink with R; its distance above the line, in decades, shows how far
# the bias exceeds the Monte-Carlo noise of the measurement.
# The dashed line y = q·x/R, q = 10.83 (the 0.999 quantile of χ²₁), is a 99.9 % upper bound for an
# unbiased estimator whatever the covariance: with ḡ − g* ~ N(0, Σ/R), R‖ḡ − g*‖²/tr Σ is a convex
# combination of χ²₁ variables, whose tail beyond t ≥ 1.54 is largest when all weight sits on one
# (Székely & Bakirov 2003, "Extremal probabilities for Gaussian quadratic forms"). A point above
# the dashed line is biased at p < 0.001 (up to the CLT and the estimated var_sum).
#
# Why this figure rather than bars of bias_z_max against the Bonferroni threshold: the z-test only
# says *whether* a bias is detectable; this plot also says how large the squared bias is next to
# the variance (the trade-off that matters when the estimate drives SGD, cf. straight-through or
# Gumbel-softmax), and puts every estimator and K on one comparable scale. The z-test remains
# the pass/fail criterion of the test suite.
#
# Rows whose status is incompatible/error (empty statistics) are skipped; rows with status
# nonfinite are drawn (statistics over the finite replicates) and ringed in black. A value below
# 1e-12 × the largest of its panel (round-off of an exact estimator, or exactly 0) is drawn as an
# open symbol on a "≈ 0" level instead of at its value.
# In a trajectory file (several values of `step`) only the last step is drawn.
# A panel is a (problem, wrt) pair: rows with wrt=phi (the gradient with respect to a problem's outer
# parameters φ, mapped by Jᵀ) get their own panel, labelled "<problem> — d/dφ (outer)", after the eta
# panel of the same problem (labelled "<problem> — d/dη (units)" when both exist). A file without a
# wrt column, or with only eta rows, is drawn as one panel per problem.
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
    print "usage: gnuplot -c plots/bias-var.gp IN.csv OUT.(png|svg) [png|svg]"
    exit status 2
}
IN  = ARG1
OUT = ARG2
KIND = (ARGC >= 3 && strlen(ARG3) > 0) ? ARG3 : (OUT[strlen(OUT)-3:] eq ".svg" ? "svg" : "png")
if (KIND ne "png" && KIND ne "svg") {
    print sprintf("bias-var.gp: terminal kind must be png or svg (got '%s')", KIND)
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
C_PROB = 0; C_EST = 0; C_K = 0; C_VS = 0; C_B2 = 0; C_ST = 0; C_WRT = 0
if (NROWS > 0) { stats IN every ::0::0 using (C_PROB = findcol("problem", 1), C_EST = findcol("estimator", 1), \
    C_K = findcol("K", 1), C_R = findcol("replicates", 1), C_STEP = findcol("step", 1), \
    C_VS = findcol("var_sum", 1), C_B2 = findcol("bias2_raw", 1), C_ST = findcol("status", 1), C_WRT = findcol("wrt", 1), 0) nooutput }

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
if (NROWS <= 0 || C_PROB == 0 || C_EST == 0 || C_K == 0 || C_VS == 0 || C_B2 == 0 || C_ST == 0) {
    MSG = (NROWS <= 0) ? "no data rows (or file unreadable)" : "required columns missing (problem, estimator, K, var_sum, bias2_raw, status)"
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
plot IN using 0:(num(C_K)):(num(C_R)):(num(C_STEP)):(num(C_VS)):(num(C_B2)):(stflag(strcol(C_ST))) with table
unset table
set autoscale

isnan(x) = (x != x)
STEPMAX = NaN
do for [i=1:|$NUM|] {
    L = $NUM[i]
    if (words(L) >= 7) {
        st = tonum(word(L, 4))
        if (!isnan(st) && (isnan(STEPMAX) || st > STEPMAX)) { STEPMAX = st }
    }
}

# Keep a row when it has statistics, var_sum >= 0, bias2_raw >= 0, R > 0 and (trajectory files) the
# last step. A value below ZEROREL × the largest value of its panel is numerically zero (an
# estimator that is exact at this point leaves only round-off, 1e-36 next to 1e-4, or exactly 0):
# it is drawn as an open symbol on a "≈ 0" level one decade below the smallest real value
# instead of stretching the log axis over 30 empty decades. A zero-variance estimator with a real
# bias thus still lands far above the line y = x/R, and an exact one in the bottom-left corner.
ZEROREL = 1e-12
keeprow(fl, laststep, vs, b2, R, r) = fl > 0 && laststep && PI[r] > 0 && EI[r] > 0 && \
    !isnan(vs) && !isnan(b2) && vs >= 0 && b2 >= 0 && !isnan(R) && R > 0
NG = NP * NE
array CNT[NG]            # kept rows per group
array CNTR[NG]           # ... with both coordinates real (these are joined by the guide line)
do for [g=1:NG] { CNT[g] = 0; CNTR[g] = 0 }
array NNF[NP]            # nonfinite rows per problem
array NZ[NP]             # rows with a numerically-zero coordinate per problem
array NZX[NP]; array NZY[NP]
array RMINP[NP]; array RMAXP[NP]
array XMAXP[NP]; array YMAXP[NP]           # largest var_sum, bias2_raw (pass 1)
array XLOP[NP]; array XHIP[NP]; array YLOP[NP]   # range of the real values (pass 2)
do for [p=1:NP] { NNF[p] = 0; NZ[p] = 0; NZX[p] = 0; NZY[p] = 0; RMINP[p] = NaN; RMAXP[p] = NaN; \
    XMAXP[p] = 0; YMAXP[p] = 0; XLOP[p] = NaN; XHIP[p] = NaN; YLOP[p] = NaN }
fmin(a, b) = isnan(a) ? b : (b < a ? b : a)
fmax(a, b) = isnan(a) ? b : (b > a ? b : a)
NNONFINITE = 0; NSTEPS_DROPPED = 0; NZEROALL = 0

# pass 1: largest var_sum and bias2_raw per problem
do for [i=1:|$NUM|] {
    L = $NUM[i]
    if (words(L) >= 7) {
        r = int(tonum(word(L, 1))) + 1
        R = tonum(word(L, 3)); st = tonum(word(L, 4))
        vs = tonum(word(L, 5)); b2 = tonum(word(L, 6)); fl = int(tonum(word(L, 7)))
        laststep = isnan(STEPMAX) || (!isnan(st) && st == STEPMAX)
        if (!laststep) { NSTEPS_DROPPED = NSTEPS_DROPPED + 1 }
        if (keeprow(fl, laststep, vs, b2, R, r)) {
            q = PI[r]
            XMAXP[q] = fmax(XMAXP[q], vs); YMAXP[q] = fmax(YMAXP[q], b2)
        }
    }
}

# pass 2: kept rows, one line each
#   group  K  var_sum  bias2_raw  R  status_flag  x_is_real  y_is_real
set print $ROWS
do for [i=1:|$NUM|] {
    L = $NUM[i]
    if (words(L) >= 7) {
        r = int(tonum(word(L, 1))) + 1
        K = tonum(word(L, 2)); R = tonum(word(L, 3)); st = tonum(word(L, 4))
        vs = tonum(word(L, 5)); b2 = tonum(word(L, 6)); fl = int(tonum(word(L, 7)))
        laststep = isnan(STEPMAX) || (!isnan(st) && st == STEPMAX)
        if (keeprow(fl, laststep, vs, b2, R, r)) {
            q = PI[r]
            g = (q - 1) * NE + EI[r]
            xreal = vs > ZEROREL * XMAXP[q]
            yreal = b2 > ZEROREL * YMAXP[q]
            CNT[g] = CNT[g] + 1
            if (xreal && yreal) { CNTR[g] = CNTR[g] + 1 }
            if (!xreal || !yreal) { NZ[q] = NZ[q] + 1; NZEROALL = NZEROALL + 1 }
            if (!xreal) { NZX[q] = NZX[q] + 1 }
            if (!yreal) { NZY[q] = NZY[q] + 1 }
            if (xreal) { XLOP[q] = fmin(XLOP[q], vs); XHIP[q] = fmax(XHIP[q], vs) }
            if (yreal) { YLOP[q] = fmin(YLOP[q], b2) }
            RMINP[q] = fmin(RMINP[q], R); RMAXP[q] = fmax(RMAXP[q], R)
            if (fl == 2) { NNONFINITE = NNONFINITE + 1; NNF[q] = NNF[q] + 1 }
            print sprintf("%d %.10g %.10g %.10g %.10g %d %d %d", g, K, vs, b2, R, fl, xreal, yreal)
        }
    }
}
unset print
NKEPT = 0
do for [g=1:NG] { NKEPT = NKEPT + CNT[g] }

# x range and "≈ 0" levels per panel. XZ: one decade left of the smallest real var_sum;
# YZ: one decade below both the smallest real bias2_raw and the line y = x/R at the left edge.
array XZ[NP]; array YZ[NP]; array XL[NP]; array XR[NP]
do for [p=1:NP] {
    XZ[p] = isnan(XLOP[p]) ? 1 : XLOP[p] / 10.0
    XL[p] = (NZX[p] > 0 ? XZ[p] : (isnan(XLOP[p]) ? 1 : XLOP[p])) / 2.0
    XR[p] = (isnan(XHIP[p]) ? XZ[p] : XHIP[p]) * 2.0
    YZ[p] = fmin(YLOP[p], XL[p] / (isnan(RMAXP[p]) ? 1 : RMAXP[p])) / 10.0
}

# Rows with both coordinates numerically zero all sit on one spot: one point per group, labelled
# with the list of their K (ZK[g]); CNT1[g] counts rows with exactly one zero coordinate.
array ZK[NG]; array CNT1[NG]
do for [g=1:NG] { ZK[g] = ""; CNT1[g] = 0 }
do for [i=1:|$ROWS|] {
    L = $ROWS[i]
    g = int(tonum(word(L, 1)))
    nz = (word(L, 7) eq "0") + (word(L, 8) eq "0")
    if (nz == 2) { ZK[g] = ZK[g] . (strlen(ZK[g]) ? "," : "K=") . sprintf("%g", tonum(word(L, 2))) }
    if (nz == 1) { CNT1[g] = CNT1[g] + 1 }
}

# $DATA: one index block per group that has rows with both coordinates real (gnuplot does not
# count empty blocks, so no other group may get one); BLK[g] is the block number of group g.
array BLK[NG]
NBLK = 0
set print $DATA
do for [g=1:NG] {
    BLK[g] = -1
    if (CNTR[g] > 0) {
        BLK[g] = NBLK
        NBLK = NBLK + 1
        do for [i=1:|$ROWS|] {
            L = $ROWS[i]
            if (int(tonum(word(L, 1))) == g && word(L, 7) eq "1" && word(L, 8) eq "1") { print L }
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
# Pixel plan: title band, a grid of panels (1 column for one problem, 2 for more), key band.
MAXLEN = 0
NE_SHOWN = 0
array SHOWN[NE]
do for [e=1:NE] {
    SHOWN[e] = 0
    do for [p=1:NP] { if (CNT[(p-1)*NE + e] > 0) { SHOWN[e] = 1 } }
    if (SHOWN[e]) { NE_SHOWN = NE_SHOWN + 1; MAXLEN = (strlen(UE[e]) > MAXLEN) ? strlen(UE[e]) : MAXLEN }
}
NFTITLE = "nonfinite (some replicates excluded)"
ZTITLE = "open, on a ≈0 line: < 1e-12 × panel max"
if (NZEROALL > 0 && strlen(ZTITLE) > MAXLEN) { MAXLEN = strlen(ZTITLE) }
LINE1 = "unbiased: E‖ḡ−g*‖² = var_sum/R"
LINE2 = "99.9 % bound if unbiased: 10.83·var_sum/R"
if (NNONFINITE > 0 && strlen(NFTITLE) > MAXLEN) { MAXLEN = strlen(NFTITLE) }
if (strlen(LINE2) > MAXLEN) { MAXLEN = strlen(LINE2) }
KEYCOLS = int(800 / (MAXLEN * 7 + 70))
KEYCOLS = (KEYCOLS < 1) ? 1 : (KEYCOLS > 3 ? 3 : KEYCOLS)
NKEYENT = NE_SHOWN + 2 + (NNONFINITE > 0 ? 1 : 0) + (NZEROALL > 0 ? 1 : 0)
KEYROWS = (NKEYENT + KEYCOLS - 1) / KEYCOLS
TITLE_PX = 62
PCOLS = (NP > 1) ? 2 : 1
PROWS = (NP + PCOLS - 1) / PCOLS
PTITLE_PX = 26
PANEL_PX = (NP > 1) ? 330 : 400
XLAB_PX = 50
KEY_PX = 16 + 19 * KEYROWS
ROW_PX = PTITLE_PX + PANEL_PX + XLAB_PX
W = 900
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
    eval sprintf("set linetype %d lc rgb '%s' lw 1.2 pt %d ps %.2f dt %d", \
        e, COL[(e-1) % 12 + 1], PT[(e-1) % 8 + 1], 1.0 * PSCALE, ((e-1) / 12) % 4 + 1)
}
QCHI = invnorm(1 - 0.0005)**2      # 0.999 quantile of χ²₁ = 10.83
# plotted position of a kept row of $ROWS in panel p: its value, or the panel's "≈ 0" level
pxz(p) = column(7) == 1 ? column(3) : XZ[p]
pyz(p) = column(8) == 1 ? column(4) : YZ[p]

# ---- text -----------------------------------------------------------------------------------
STEPTXT = (isnan(STEPMAX) || NSTEPS_DROPPED == 0) ? "" : sprintf("; trajectory file: last step (%d) only", STEPMAX)
SUB = (NKEPT == 0) ? "" : sprintf("points labelled with K; unbiased estimators scatter about the solid line, points above the dashed one are biased%s", STEPTXT)
FIGTITLE = (NP == 1) ? UP[1] : (NPROB == 1 ? UPB[1] : sprintf("%s  (%d problems)", IN, NPROB))

set multiplot

set logscale x 10
set logscale y 10
set format x "10^{%L}"
set format y "10^{%L}"
set grid xtics ytics lc rgb "#dddddd" lw 1
set border 3 lc rgb "#555555"
set tics nomirror out scale 0.6
unset title
set xlabel "total variance of one estimate, var\\_sum = Σ_p Var[ĝ_p]" offset 0, 0.3
set ylabel "squared error of the mean, ‖ḡ − g*‖²  (bias2\\_raw)" offset 0.5, 0
set samples 50

PW = (PCOLS == 1) ? 780 : 345     # panel width in pixels
do for [p=1:NP] {
    pc = (p - 1) % PCOLS
    pr = (p - 1) / PCOLS
    LFT = (PCOLS == 1) ? 90 : 80 + pc * 450
    TOP = TITLE_PX + pr * ROW_PX + PTITLE_PX
    BOT = TOP + PANEL_PX
    NPTS = 0
    do for [e=1:NE] { NPTS = NPTS + CNT[(p-1)*NE + e] }

    unset label
    unset arrow
    if (p == 1) {
        set label 901 FIGTITLE at screen 0.5, sy(20) center font "sans,13" noenhanced
        set label 902 SUB at screen 0.5, sy(42) center font "sans,10" tc rgb "#444444"
    }
    RP = RMINP[p]
    RTXT = isnan(RP) ? "" : (RMINP[p] == RMAXP[p] ? sprintf("R = %d", RP) : sprintf("R = %d–%d", RMINP[p], RMAXP[p]))
    PTITLE = (NP > 1) ? UP[p] . (strlen(RTXT) ? "   (" . RTXT . ")" : "") : RTXT
    set label 903 PTITLE at screen sx(LFT + PW/2), sy(TOP - 9) center font "sans,10" noenhanced

    set lmargin at screen sx(LFT); set rmargin at screen sx(LFT + PW)
    set tmargin at screen sy(TOP); set bmargin at screen sy(BOT)
    unset key
    if (NPTS > 0) {
        # explicit x range so that the reference lines span the whole panel
        set xrange [XL[p] : XR[p]]; set yrange [*:*]
        # powers-of-ten labels need at least one decade; otherwise plain numbers
        set format x (log10(XR[p] / XL[p]) >= 1.2) ? "10^{%L}" : "%.2g"
        set tics nomirror out scale 0.6
        # reference lines for the smallest and (if R varies) largest R of this panel; drawn first
        # so that the points sit on top
        CMD = sprintf("x / %.10g with lines lw 1.5 lc rgb '#888888' notitle", RMINP[p])
        CMD = CMD . sprintf(", QCHI * x / %.10g with lines lw 1.2 dt 2 lc rgb '#888888' notitle", RMINP[p])
        if (RMAXP[p] != RMINP[p]) {
            CMD = CMD . sprintf(", x / %.10g with lines lw 1.5 lc rgb '#BBBBBB' notitle", RMAXP[p])
            CMD = CMD . sprintf(", QCHI * x / %.10g with lines lw 1.2 dt 2 lc rgb '#BBBBBB' notitle", RMAXP[p])
        }
        NZZ = 0
        do for [e=1:NE] {
            g = (p-1)*NE + e
            if (CNTR[g] > 0) {
                CMD = CMD . sprintf(", $DATA index %d using 3:4 with linespoints lt %d notitle", BLK[g], e)
                CMD = CMD . sprintf(", $DATA index %d using 3:4:(sprintf('%%g', $2)) with labels offset char 0.9, 0.55 font 'sans,8' tc lt %d notitle", BLK[g], e)
            }
            if (CNT1[g] > 0) {
                CMD = CMD . sprintf(", $ROWS using (column(1) == %d && column(7) + column(8) == 1 ? pxz(%d) : NaN):(pyz(%d)) with points lt %d pt %d notitle", \
                      g, p, p, e, PTO[(e-1) % 8 + 1])
                CMD = CMD . sprintf(", $ROWS using (column(1) == %d && column(7) + column(8) == 1 ? pxz(%d) : NaN):(pyz(%d)):(sprintf('%%g', $2)) with labels offset char 0.9, 0.55 font 'sans,8' tc lt %d notitle", \
                      g, p, p, e)
            }
            if (strlen(ZK[g]) > 0) {
                # one point for all of them; the labels of several such estimators are stacked
                CMD = CMD . sprintf(", $ROWS every ::0::0 using (XZ[%d]):(YZ[%d]) with points lt %d pt %d notitle", p, p, e, PTO[(e-1) % 8 + 1])
                CMD = CMD . sprintf(", $ROWS every ::0::0 using (XZ[%d]):(YZ[%d]):(ZK[%d]) with labels left offset char 0.9, %.2f font 'sans,8' tc lt %d notitle", \
                      p, p, g, 0.55 + 0.95 * NZZ, e)
                NZZ = NZZ + 1
            }
        }
        if (NNF[p] > 0) {
            CMD = CMD . sprintf(", $ROWS using (column(6) == 2 && int((column(1)-1) / NE) == %d ? pxz(%d) : NaN):(pyz(%d)) with points pt 6 ps 2*PSCALE lc rgb 'black' notitle", p-1, p, p)
        }
        # "≈ 0" levels: dotted line half a decade inside, label on the zero side
        if (NZX[p] > 0) {
            set arrow 907 from first XZ[p] * sqrt(10), graph 0 to first XZ[p] * sqrt(10), graph 1 nohead dt 3 lc rgb '#999999'
            set label 907 "≈ 0" at first XZ[p], graph 0.97 center font "sans,9" tc rgb "#666666"
        }
        if (NZY[p] > 0) {
            set arrow 908 from graph 0, first YZ[p] * sqrt(10) to graph 1, first YZ[p] * sqrt(10) nohead dt 3 lc rgb '#999999'
            set label 908 "≈ 0" at graph 0.99, first YZ[p] right font "sans,9" tc rgb "#666666"
        }
    } else {
        set xrange [1:10]; set yrange [1:10]
        unset tics
        set label 906 "no plottable rows (all cells incompatible / error)" at graph 0.5, 0.5 center noenhanced
        CMD = "NaN notitle"
    }
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
    CMD = CMD . ", NaN with points pt 6 ps 2*PSCALE lc rgb 'black' title NFTITLE"
}
if (NZEROALL > 0) {
    CMD = CMD . ", NaN with points pt 4 lc rgb '#666666' title ZTITLE"
}
if (NKEPT > 0) {
    CMD = CMD . ", NaN with lines lw 1.5 lc rgb '#888888' title LINE1, NaN with lines lw 1.2 dt 2 lc rgb '#888888' title LINE2"
}
if (strlen(CMD) == 0) { CMD = "NaN notitle"; unset key }
if (CMD[1:2] eq ", ") { CMD = CMD[3:] }
eval "plot " . CMD
unset multiplot
unset output
