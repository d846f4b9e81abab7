# budget.gp — the variance of each estimator at an equal evaluation budget, as grouped bars.
#
#   gnuplot -c plots/budget.gp IN.csv OUT.png png
#   gnuplot -c plots/budget.gp IN.csv OUT.svg svg
#
# IN is a results CSV (schema: results/README.md). The bar height is
#   work_norm_var = var_mean × (f_evals + ftilde_evals + grad_evals),
# the variance per coordinate of one estimate times the evaluations it costs: the variance of an
# average of estimates that together spend a fixed number of evaluations (lower is better; an
# estimator that spends 2K evaluations per estimate is charged for them). Log10 y axis.
# One panel per (problem, wrt) — rows with wrt=phi (a problem's outer parameters) get their own
# panel, labelled "<problem> — d/dφ (outer)". Estimators along the x axis (rotated labels, in
# order of appearance), one group of bars each; one bar per K in {2, 4, 8} (only those present in
# the file), one colour per K (the same in every panel).
# Only rows with status ok are drawn: a row that is incompatible / error / nonfinite leaves a gap
# in its group, marked by a small grey ×. A value below 1e-12 × the largest of its panel (an exact
# estimator, or round-off) has no bar on a log axis: it is marked by a ringed dot at the axis.
# A bar's place in its group belongs to its K in every panel (a K missing from one panel leaves
# its place empty).
# Biased rows are hatched: bias_z_max above the Bonferroni threshold Φ⁻¹(1 − 0.001/(2N)), N = all
# coordinates of all rows of the file (the flag of REPORT.md, with the coordinates of a row taken
# as var_sum / var_mean, or its panel's value when that is undefined). A cheap biased estimator
# (e.g. gumbel-softmax: one ∇f̃ per sample) can have the lowest bar: the hatching says why it does
# not win.
# In a trajectory file (several values of `step`) only the last step is drawn.
# An empty / header-only file, one without the needed columns or without an ok row at K = 2, 4 or
# 8 gives a placeholder figure.
#
# Columns are found by header name. gnuplot 5.4 reads quoted fields containing commas
# ("bernoulli-coupled:D=10,seed=1") correctly when a column is referenced by *number* as a label,
# but strcol() / column-by-name truncate them at the first comma; so problem and estimator names
# are read through `with labels` tables, and the numbers through one numeric table.

if (ARGC < 2) {
    print "usage: gnuplot -c plots/budget.gp IN.csv OUT.(png|svg) [png|svg]"
    exit status 2
}
IN  = ARG1
OUT = ARG2
KIND = (ARGC >= 3 && strlen(ARG3) > 0) ? ARG3 : (OUT[strlen(OUT)-3:] eq ".svg" ? "svg" : "png")
if (KIND ne "png" && KIND ne "svg") {
    print sprintf("budget.gp: terminal kind must be png or svg (got '%s')", KIND)
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
C_PROB = 0; C_EST = 0; C_K = 0; C_R = 0; C_STEP = 0; C_WRT = 0; C_VM = 0; C_VS = 0; C_WNV = 0
C_BZ = 0; C_ST = 0
if (NROWS > 0) { stats IN every ::0::0 using (C_PROB = findcol("problem", 1), C_EST = findcol("estimator", 1), \
    C_K = findcol("K", 1), C_R = findcol("replicates", 1), C_STEP = findcol("step", 1), \
    C_WRT = findcol("wrt", 1), C_VM = findcol("var_mean", 1), C_VS = findcol("var_sum", 1), \
    C_WNV = findcol("work_norm_var", 1), C_BZ = findcol("bias_z_max", 1), C_ST = findcol("status", 1), 0) nooutput }

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
if (NROWS <= 0 || C_PROB == 0 || C_EST == 0 || C_K == 0 || C_WNV == 0 || C_ST == 0) {
    MSG = (NROWS <= 0) ? "no data rows (or file unreadable)" : "required columns missing (problem, estimator, K, work_norm_var, status)"
    # a missing column is a schema violation: say so on stderr, but still draw the placeholder
    if (NROWS > 0) { print sprintf("budget.gp: %s: %s; placeholder figure written", IN, MSG) }
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
# wrt of every row: 1 for phi (outer parameters), 2 for phi-marginal (the same phi-estimates against an
# inclusive-KL problem's model-marginal objective), 0 for eta or no wrt column (wrt is never quoted)
if (C_WRT > 0) {
    set table $WRTAB
    plot IN using 0:(strcol(C_WRT) eq "phi" ? 1 : (strcol(C_WRT) eq "phi-marginal" ? 2 : 0)) with table
}
unset table

array WR[NROWS]          # 1 if row r is a wrt=phi row
array PI[NROWS]          # panel index of row r: a (problem, wrt) pair
array EI[NROWS]          # estimator index of row r
array UPB[NROWS]; array UPW[NROWS]; array UP[NROWS]   # panel: problem, wrt, label
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
    print sprintf("budget.gp: %s: %s; placeholder figure written", IN, MSG)
    eval PLACEHOLDER
    exit
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

# ---- numbers: one table, NaN for empty fields -----------------------------------------------
#   row  K  R  step  var_mean  var_sum  work_norm_var  bias_z_max  ok
num(c) = (c > 0 && valid(c)) ? column(c) : NaN
set table $NUM
plot IN using 0:(num(C_K)):(num(C_R)):(num(C_STEP)):(num(C_VM)):(num(C_VS)):(num(C_WNV)):(num(C_BZ)):(strcol(C_ST) eq "ok" ? 1 : 0) with table
unset table
set autoscale

# the K values drawn, and their bar colours (light to dark: larger K, darker bar)
array KS[3] = [2, 4, 8]
array KCOL[3] = ["#9ECAE1", "#4292C6", "#08306B"]
array KHAS[3]
do for [k=1:3] { KHAS[k] = 0 }
kidx(K) = (K == 2) ? 1 : (K == 4 ? 2 : (K == 8 ? 3 : 0))

# pass 1: last step; coordinates per panel (var_sum / var_mean); the family size N
STEPMAX = NaN
array PP[NP]
do for [p=1:NP] { PP[p] = 0 }
do for [i=1:|$NUM|] {
    L = $NUM[i]
    if (words(L) >= 9) {
        r = int(tonum(word(L, 1))) + 1
        st = tonum(word(L, 4)); vm = tonum(word(L, 5)); vs = tonum(word(L, 6))
        if (!isnan(st) && (isnan(STEPMAX) || st > STEPMAX)) { STEPMAX = st }
        if (r >= 1 && r <= NROWS && PI[r] > 0 && !isnan(vm) && !isnan(vs) && vm > 0) {
            PP[PI[r]] = fmax(PP[PI[r]], int(vs / vm + 0.5))
        }
    }
}
NCOORD = 0
NSTEPS_DROPPED = 0
do for [i=1:|$NUM|] {
    L = $NUM[i]
    if (words(L) >= 9) {
        r = int(tonum(word(L, 1))) + 1
        st = tonum(word(L, 4)); vm = tonum(word(L, 5)); vs = tonum(word(L, 6))
        laststep = isnan(STEPMAX) || (!isnan(st) && st == STEPMAX)
        if (!laststep) { NSTEPS_DROPPED = NSTEPS_DROPPED + 1 }
        if (r >= 1 && r <= NROWS && PI[r] > 0 && laststep) {
            P = (!isnan(vm) && !isnan(vs) && vm > 0) ? int(vs / vm + 0.5) : PP[PI[r]]
            NCOORD = NCOORD + ((P > 0) ? P : 1)
        }
    }
}
ZTHR = (NCOORD > 0) ? invnorm(1 - 0.001 / (2.0 * NCOORD)) : NaN

# pass 2: the cells drawn (K in {2,4,8}, last step); slots of every panel
#   EP[(p-1)*NE + e]: estimator e has a row at K in {2,4,8} in panel p (ok or not)
NG = NP * NE
array EP[NG]
do for [g=1:NG] { EP[g] = 0 }
array WMAX[NP]
do for [p=1:NP] { WMAX[p] = 0 }
NOK = 0; NNOTOK = 0
do for [i=1:|$NUM|] {
    L = $NUM[i]
    if (words(L) >= 9) {
        r = int(tonum(word(L, 1))) + 1
        K = tonum(word(L, 2)); st = tonum(word(L, 4)); w = tonum(word(L, 7)); ok = int(tonum(word(L, 9)))
        laststep = isnan(STEPMAX) || (!isnan(st) && st == STEPMAX)
        k = isnan(K) ? 0 : kidx(K)
        if (r >= 1 && r <= NROWS && PI[r] > 0 && EI[r] > 0 && laststep && k > 0) {
            EP[(PI[r] - 1) * NE + EI[r]] = 1
            if (ok && !isnan(w) && w >= 0) {
                KHAS[k] = 1; NOK = NOK + 1
                WMAX[PI[r]] = fmax(WMAX[PI[r]], w)
            } else { NNOTOK = NNOTOK + 1 }
        }
    }
}
if (NOK == 0) {
    MSG = (NNOTOK > 0) ? sprintf("no row with status ok and a work_norm_var at K = 2, 4 or 8 (%d row(s) not ok)", NNOTOK) : \
                         "no row at K = 2, 4 or 8"
    print sprintf("budget.gp: %s: %s; placeholder figure written", IN, MSG)
    eval PLACEHOLDER
    exit
}
# K present: their order in a group
NK = 0
array KPOS[3]
do for [k=1:3] { KPOS[k] = 0; if (KHAS[k]) { NK = NK + 1; KPOS[k] = NK } }
# slot (x position) of every estimator in every panel
array SLOT[NG]
array NSLOTP[NP]
NSMAX = 0
do for [p=1:NP] {
    n = 0
    do for [e=1:NE] { g = (p-1)*NE + e; SLOT[g] = 0; if (EP[g]) { n = n + 1; SLOT[g] = n } }
    NSLOTP[p] = n
    NSMAX = (n > NSMAX) ? n : NSMAX
}

# pass 3: one line per bar (or mark)
#   panel  k  x  work  xlo  xhi  kind  biased
#   kind: 1 bar, 2 numerically zero (open circle on the axis), 3 no result (grey ×)
BW = 0.8 / NK
array YLO[NP]; array YHI[NP]
do for [p=1:NP] { YLO[p] = NaN; YHI[p] = NaN }
array CNTB[NP * 3]; array CNTZ[NP * 3]; array CNTX[NP]; array CNTH[NP]
do for [j=1:NP*3] { CNTB[j] = 0; CNTZ[j] = 0 }
do for [p=1:NP] { CNTX[p] = 0; CNTH[p] = 0 }
ZEROREL = 1e-12
NBIASED = 0; NZERO = 0; NMISS = 0
set print $BARS
do for [i=1:|$NUM|] {
    L = $NUM[i]
    if (words(L) >= 9) {
        r = int(tonum(word(L, 1))) + 1
        K = tonum(word(L, 2)); st = tonum(word(L, 4)); w = tonum(word(L, 7)); bz = tonum(word(L, 8))
        ok = int(tonum(word(L, 9)))
        laststep = isnan(STEPMAX) || (!isnan(st) && st == STEPMAX)
        k = isnan(K) ? 0 : kidx(K)
        if (r >= 1 && r <= NROWS && PI[r] > 0 && EI[r] > 0 && laststep && k > 0) {
            p = PI[r]
            g = (p - 1) * NE + EI[r]
            kp = KPOS[k]
            x = SLOT[g] + (kp - (NK + 1) / 2.0) * BW
            if (ok && !isnan(w) && w >= 0) {
                biased = (!isnan(bz) && !isnan(ZTHR) && bz > ZTHR) ? 1 : 0
                if (w > ZEROREL * WMAX[p]) {
                    kind = 1; CNTB[(p-1)*3 + k] = CNTB[(p-1)*3 + k] + 1
                    YLO[p] = fmin(YLO[p], w); YHI[p] = fmax(YHI[p], w)
                    if (biased) { CNTH[p] = CNTH[p] + 1; NBIASED = NBIASED + 1 }
                } else {
                    kind = 2; CNTZ[(p-1)*3 + k] = CNTZ[(p-1)*3 + k] + 1; NZERO = NZERO + 1; biased = 0
                }
            } else {
                kind = 3; biased = 0; CNTX[p] = CNTX[p] + 1; NMISS = NMISS + 1
            }
            print sprintf("%d %d %.10g %.10g %.10g %.10g %d %d", p, k, x, (kind == 1) ? w : 0, \
                          x - 0.46 * BW, x + 0.46 * BW, kind, biased)
        }
    }
}
unset print
# y range per panel: the bars, plus room below for the base and the marks
array YBOT[NP]; array YTOP[NP]
do for [p=1:NP] {
    if (isnan(YLO[p])) { YLO[p] = 1; YHI[p] = 10 }
    YBOT[p] = YLO[p] / 2.5
    YTOP[p] = YHI[p] * 1.6
    if (YTOP[p] / YBOT[p] < 10) { m = sqrt(10 / (YTOP[p] / YBOT[p])); YBOT[p] = YBOT[p] / m; YTOP[p] = YTOP[p] * m }
}

# everything below reads the whitespace-separated datablock built above
set datafile separator whitespace
set datafile nocolumnheaders

# ---- layout ---------------------------------------------------------------------------------
MAXLEN = 0
do for [p=1:NP] { do for [e=1:NE] { if (EP[(p-1)*NE + e]) { MAXLEN = (strlen(UE[e]) > MAXLEN) ? strlen(UE[e]) : MAXLEN } } }
# estimator labels rotated by 40°: about 6.3 px a character along the text
ROT = 40
XLAB_PX = int(MAXLEN * 6.3 * sin(ROT * pi / 180) + 44)
SLOT_PX = (NSMAX * NK <= 12) ? 80 : (NK == 1 ? 30 : 22 * NK)
W = 110 + 30 + NSMAX * SLOT_PX
W = (W < 900) ? 900 : W
# the first label reaches left of its slot by its length × cos(ROT)
FIRSTLEN = 0
do for [p=1:NP] { do for [e=1:NE] { if (SLOT[(p-1)*NE + e] == 1) { FIRSTLEN = (strlen(UE[e]) > FIRSTLEN) ? strlen(UE[e]) : FIRSTLEN } } }
LEFT_PX = 95
PW = W - LEFT_PX - 30
if (FIRSTLEN * 6.3 * cos(ROT * pi / 180) - PW / (2.0 * NSMAX) + 10 > LEFT_PX) {
    LEFT_PX = int(FIRSTLEN * 6.3 * cos(ROT * pi / 180) - PW / (2.0 * NSMAX) + 10)
    PW = W - LEFT_PX - 30
}
T_BIAS = (isnan(ZTHR) ? "biased" : sprintf("biased (z_max > %.2f)", ZTHR))
T_ZERO = "≈ 0 (< 1e-12 × max)"
T_MISS = "no result (not ok)"
TITLE_PX = (isnan(STEPMAX) || NSTEPS_DROPPED == 0) ? 62 : 78
PTITLE_PX = 28
PANEL_PX = 300
KEY_PX = 40
ROW_PX = PTITLE_PX + PANEL_PX + XLAB_PX
H = TITLE_PX + NP * ROW_PX + KEY_PX
H = (H < 400) ? 400 : H

if (KIND eq "svg") { set term svg size W,H enhanced font FONT background "white" } \
else { set term pngcairo size W,H enhanced font FONT }
set output OUT
PSCALE = (KIND eq "svg") ? 0.7 : 1.0

# screen coordinates from pixels (y measured from the top)
sx(px) = px / real(W)
sy(px) = 1.0 - px / real(H)

# ---- text -----------------------------------------------------------------------------------
STEPTXT = (isnan(STEPMAX) || NSTEPS_DROPPED == 0) ? "" : sprintf("file with several steps: the last step (%d) only", STEPMAX)
SUB = "var_mean × (f_evals + ftilde_evals + grad_evals): the variance at an equal evaluation budget, lower is better"
FIGTITLE = (NP == 1) ? UP[1] : (NPROB == 1 ? UPB[1] : sprintf("%s  (%d problems)", IN, NPROB))

set multiplot

set logscale y 10
set grid ytics mytics lc rgb "#dddddd" lw 1, lc rgb "#eeeeee" lw 0.5
set border 3 lc rgb "#555555"
set tics nomirror out scale 0.6
unset xlabel
unset title
unset key
unset ylabel

do for [p=1:NP] {
    TOP = TITLE_PX + (p - 1) * ROW_PX + PTITLE_PX
    BOT = TOP + PANEL_PX
    unset label
    unset arrow
    if (p == 1) {
        set label 901 FIGTITLE at screen 0.5, sy(20) center font "sans,13" noenhanced
        set label 902 SUB at screen 0.5, sy(42) center font "sans,10" tc rgb "#444444" noenhanced
        if (strlen(STEPTXT) > 0) { set label 905 STEPTXT at screen 0.5, sy(58) center font "sans,10" tc rgb "#444444" noenhanced }
    }
    if (NP > 1) {
        set label 903 UP[p] at screen sx(LEFT_PX + PW / 2), sy(TOP - 12) center font "sans,11" noenhanced
    }
    # the y label at a fixed place: gnuplot underestimates the width of enhanced tic labels (10^{-3})
    set label 904 "variance × evaluations\n(work\\_norm\\_var)" at screen sx(16), sy(TOP + PANEL_PX / 2) center rotate by 90
    set lmargin at screen sx(LEFT_PX); set rmargin at screen sx(LEFT_PX + PW)
    set tmargin at screen sy(TOP); set bmargin at screen sy(BOT)
    set xrange [0.45 : NSLOTP[p] + 0.55]
    set yrange [YBOT[p] : YTOP[p]]
    # y tics: powers of ten over a wide range; 1-2-5 steps (plain numbers) over a narrow one
    if (log10(YTOP[p] / YBOT[p]) >= 3) {
        set ytics autofreq
        set format y "10^{%L}"
    } else {
        YT = ""
        do for [d=floor(log10(YBOT[p])):ceil(log10(YTOP[p]))] {
            do for [m in "1 2 5"] {
                v = real(m) * 10.0**d
                # plain numbers between 0.001 and 10^4, else m·10^d (enhanced text)
                lab = (d >= -3 && d <= 3) ? sprintf("%g", v) : ((m eq "1") ? sprintf("10^{%d}", d) : sprintf("%s·10^{%d}", m, d))
                if (v >= YBOT[p] && v <= YTOP[p]) { YT = YT . sprintf("%s\"%s\" %.10g", (strlen(YT) ? ", " : ""), lab, v) }
            }
        }
        eval sprintf("set ytics (%s)", YT)
        set mytics default
    }
    # estimator names as x tics; separators between the groups
    XT = ""
    do for [e=1:NE] {
        g = (p-1)*NE + e
        if (SLOT[g] > 0) { XT = XT . sprintf("%s\"%s\" %d", (strlen(XT) ? ", " : ""), UE[e], SLOT[g]) }
    }
    eval sprintf("set xtics (%s) noenhanced rotate by %d right scale 0 offset 0.5, 0", XT, ROT)
    do for [j=1:NSLOTP[p]-1] {
        set arrow (100 + j) from first j + 0.5, graph 0 to first j + 0.5, graph 1 nohead lc rgb "#eeeeee" lw 1 back
    }
    BASE = YBOT[p]
    CMD = ""
    do for [k=1:3] {
        j = (p-1)*3 + k
        if (CNTB[j] > 0) {
            CMD = CMD . sprintf("%s$BARS using ($1 == %d && $2 == %d && $7 == 1 ? $3 : NaN):4:5:6:(BASE):4 with boxxyerror fs solid 1.0 border lc rgb '#333333' fc rgb '%s' notitle", \
                  (strlen(CMD) ? ", " : ""), p, k, KCOL[k])
        }
    }
    if (CNTH[p] > 0) {
        CMD = CMD . sprintf(", $BARS using ($1 == %d && $7 == 1 && $8 == 1 ? $3 : NaN):4:5:6:(BASE):4 with boxxyerror fs transparent pattern 5 noborder fc rgb '#D55E00' notitle", p)
    }
    do for [k=1:3] {
        j = (p-1)*3 + k
        if (CNTZ[j] > 0) {
            CMD = CMD . sprintf("%s$BARS using ($1 == %d && $2 == %d && $7 == 2 ? $3 : NaN):(BASE * 1.25) with points pt 7 ps %.2f lc rgb '%s' notitle", \
                  (strlen(CMD) ? ", " : ""), p, k, 1.1 * PSCALE, KCOL[k])
            CMD = CMD . sprintf(", $BARS using ($1 == %d && $2 == %d && $7 == 2 ? $3 : NaN):(BASE * 1.25) with points pt 6 ps %.2f lc rgb '#333333' notitle", \
                  p, k, 1.1 * PSCALE)
        }
    }
    if (CNTX[p] > 0) {
        CMD = CMD . sprintf("%s$BARS using ($1 == %d && $7 == 3 ? $3 : NaN):(BASE * 1.25) with points pt 2 ps %.2f lc rgb '#888888' notitle", \
              (strlen(CMD) ? ", " : ""), p, 1.0 * PSCALE)
    }
    if (strlen(CMD) == 0) {
        set label 906 "no bar: no ok row of this panel at K = 2, 4 or 8" at graph 0.5, 0.5 center noenhanced
        CMD = "NaN notitle"
    }
    if (CMD[1:2] eq ", ") { CMD = CMD[3:] }
    eval "plot " . CMD
}

# ---- key: one line of entries, centred in the bottom band -------------------------------------
# Drawn with objects and labels rather than `set key`, which gives every column the width of the
# longest title and so spreads four short entries over the whole figure.
unset label
unset arrow
unset object
unset logscale
unset grid
unset border
unset tics
unset xlabel
unset ylabel
# entries: kind (1 bar, 2 hatched bar, 3 point), colour, point type, title
array KT[6]; array KK[6]; array KC[6]; array KP[6]
NKEYENT = 0
do for [k=1:3] {
    if (KHAS[k]) { NKEYENT = NKEYENT + 1; KK[NKEYENT] = 1; KC[NKEYENT] = KCOL[k]; KP[NKEYENT] = 0; KT[NKEYENT] = sprintf("K = %d", KS[k]) }
}
if (NBIASED > 0) { NKEYENT = NKEYENT + 1; KK[NKEYENT] = 2; KC[NKEYENT] = "#D55E00"; KP[NKEYENT] = 0; KT[NKEYENT] = T_BIAS }
if (NZERO > 0) { NKEYENT = NKEYENT + 1; KK[NKEYENT] = 3; KC[NKEYENT] = "#333333"; KP[NKEYENT] = 6; KT[NKEYENT] = T_ZERO }
if (NMISS > 0) { NKEYENT = NKEYENT + 1; KK[NKEYENT] = 3; KC[NKEYENT] = "#888888"; KP[NKEYENT] = 2; KT[NKEYENT] = T_MISS }
# about 6.8 px a character at this font (bytes: a multi-byte character overestimates, harmlessly)
KEYW(j) = 18 + 6 + 6.8 * strlen(KT[j]) + 26
KW = 16
do for [j=1:NKEYENT] { KW = KW + KEYW(j) }
KX = (W - KW) / 2.0 + 8
KY = H - KEY_PX / 2.0
set object 1 rect from screen sx((W - KW) / 2.0), sy(KY - 11) to screen sx((W + KW) / 2.0), sy(KY + 11) \
    fs empty border lc rgb "#bbbbbb" lw 1 front
do for [j=1:NKEYENT] {
    if (KK[j] == 1 || KK[j] == 2) {
        set object (10 + j) rect from screen sx(KX), sy(KY - 6) to screen sx(KX + 18), sy(KY + 6) fc rgb (KK[j] == 1 ? KC[j] : "white") \
            fs solid 1.0 border lc rgb "#333333" lw 1 front
        if (KK[j] == 2) {
            set object (20 + j) rect from screen sx(KX), sy(KY - 6) to screen sx(KX + 18), sy(KY + 6) fc rgb KC[j] \
                fs transparent pattern 5 border lc rgb "#333333" lw 1 front
        }
    } else {
        set label (40 + j) "" at screen sx(KX + 9), sy(KY) point pt KP[j] ps PSCALE lc rgb KC[j] front
    }
    set label (60 + j) KT[j] at screen sx(KX + 24), sy(KY) left noenhanced front
    KX = KX + KEYW(j)
}
set lmargin at screen sx(8); set rmargin at screen sx(W - 8)
set tmargin at screen sy(H - KEY_PX + 4); set bmargin at screen sy(H - 4)
set xrange [0:1]; set yrange [0:1]
unset key
plot NaN notitle
unset multiplot
unset output
