# trajectory.gp — exact objective against optimisation step, one line per estimator.
#
#   gnuplot -c plots/trajectory.gp IN.csv OUT.png png
#   gnuplot -c plots/trajectory.gp IN.csv OUT.svg svg
#
# IN is a trajectory CSV written by `gradvar train` (columns problem, estimator, K, seed, step,
# objective, grad_norm, param_mean, prob_mean, f_evals, ftilde_evals, grad_evals, seconds, status,
# message), e.g. issue 5 experiment 3 (GenGS's synthetic experiment): minimise E(x − t)² over the
# log-rate of a Poisson with gengs (τ annealed), rloo, reinforce-ema and tokui-sato.
# One row of two panels per problem in the file; one line per trajectory, coloured by estimator
# (the legend gives the full estimator spec, plus K / seed when the file holds several).
#   left   the exact objective, linear axis, the whole run: how fast each estimator leaves the
#          start (50 in the example) and roughly where it settles; a dotted line marks the best
#          value seen in any run of the problem.
#   right  the gap to that best value, |objective − best over runs|, log axis. Why a second panel:
#          on the linear axis the late-phase differences between estimators (0.01–3 units above an
#          optimum of 7.75, next to a start of 50) are a few pixels, while the log of the gap shows
#          them as separate levels — the plateau each estimator's variance (and, for gengs, bias)
#          leaves at this learning rate — and shows the exponential convergence of an exact-sum
#          estimator (tokui-sato). The best value over runs stands in for the unknown optimum and
#          is named on the axis as such. Near the optimum the objective is quadratic in the
#          parameter, so a single record's gap dips towards 0 whenever the parameter crosses the
#          optimum: on a log axis these dips are spikes that hide the level. So the thick line is a
#          centred running mean of the gap over a few records (window in the legend), and the
#          single records are faint dots behind it. Gaps below 1e-6 × the largest gap of the panel
#          (converged; round-off) are drawn on a "≈ 0" level (the running mean) or left out (dots).
# Direction: if the runs mostly increase the objective (train --maximise), best = max and the gap
# is best − objective; the axis label says which.
# Rows whose status is not ok (error / nonfinite: the trajectory stopped; objective empty) are
# skipped; a trajectory that stopped gets a black × on its last good record.
# A summary-schema file (no numeric objective / step) or an empty file gives a placeholder figure,
# a note on stderr and exit status 0.
#
# Columns are found by header name. gnuplot 5.4 reads quoted fields containing commas
# ("gengs:M=40,anneal=0.002,tau=1,tau_min=0.1") correctly when a column is referenced by *number*
# as a label, but strcol() / column-by-name truncate them at the first comma; so problem and
# estimator are read through `with labels` tables, and the numbers through one numeric table.
#
# Other x axes: a wrapper sets these variables and `call`s this script (defaults: x = step).
#   TRAJ_X        "step", or a numeric column of cumulative cost ("f_evals"): x = that column, log
#                 axis in both panels; a record with no cost yet (the start, 0) is drawn at half the
#                 first positive value, on a tic named "start"; later records without a positive
#                 value are not drawn (counted in the subtitle). The running mean is still over
#                 records in step order.
#   TRAJ_XLABEL   the x axis label ("optimisation step"); TRAJ_TITLE ("optimisation trajectories");
#   TRAJ_NAME     the script named in notes on stderr
#   trajectory-cost.gp: TRAJ_X = "f_evals"

if (!exists("TRAJ_X")) { TRAJ_X = "step" }
if (!exists("TRAJ_XLABEL")) { TRAJ_XLABEL = "optimisation step" }
if (!exists("TRAJ_TITLE")) { TRAJ_TITLE = "optimisation trajectories" }
if (!exists("TRAJ_NAME")) { TRAJ_NAME = ARG0 }
COSTX = (TRAJ_X ne "step") ? 1 : 0
if (ARGC < 2) {
    print sprintf("usage: gnuplot -c %s IN.csv OUT.(png|svg) [png|svg]", TRAJ_NAME)
    exit status 2
}
IN  = ARG1
OUT = ARG2
KIND = (ARGC >= 3 && strlen(ARG3) > 0) ? ARG3 : (OUT[strlen(OUT)-3:] eq ".svg" ? "svg" : "png")
if (KIND ne "png" && KIND ne "svg") {
    print sprintf("%s: terminal kind must be png or svg (got '%s')", TRAJ_NAME, KIND)
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
C_PROB = 0; C_EST = 0; C_K = 0; C_SEED = 0; C_STEP = 0; C_OBJ = 0; C_ST = 0; C_X = 0
if (NROWS > 0) { stats IN every ::0::0 using (C_PROB = findcol("problem", 1), C_EST = findcol("estimator", 1), \
    C_K = findcol("K", 1), C_SEED = findcol("seed", 1), C_STEP = findcol("step", 1), \
    C_OBJ = findcol("objective", 1), C_ST = findcol("status", 1), C_X = COSTX ? findcol(TRAJ_X, 1) : 0, 0) nooutput }

# ---- terminal -------------------------------------------------------------------------------
FONT = "sans,10"
W = 1000

# Draw a figure that only says why there is nothing to draw. Used via eval.
PLACEHOLDER = 'if (KIND eq "svg") { set term svg size W,300 enhanced font FONT background "white" } ' . \
    'else { set term pngcairo size W,300 enhanced font FONT }; ' . \
    'set output OUT; unset border; unset tics; unset key; set xrange [0:1]; set yrange [0:1]; ' . \
    'set label 1 sprintf("%s\n%s", IN, MSG) at graph 0.5, 0.5 center noenhanced; ' . \
    'plot 2 notitle; unset output'
if (NROWS <= 0 || C_PROB == 0 || C_EST == 0 || C_STEP == 0 || C_OBJ == 0 || (COSTX && C_X == 0)) {
    MSG = (NROWS <= 0) ? "no data rows (or file unreadable)" : \
          sprintf("required columns missing (problem, estimator, step, objective%s)", COSTX ? ", " . TRAJ_X : "")
    print sprintf("%s: %s: %s; placeholder figure written", TRAJ_NAME, IN, MSG)
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
unset table

array PI[NROWS]; array EI[NROWS]
array UP[NROWS]; array UE[NROWS]
do for [r=1:NROWS] { PI[r] = 0; EI[r] = 0 }
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
if (NP == 0 || NE == 0) {
    MSG = "no row has a problem and an estimator name"
    print sprintf("%s: %s: %s; placeholder figure written", TRAJ_NAME, IN, MSG)
    eval PLACEHOLDER
    exit
}

# ---- numbers: one table, NaN for empty fields -----------------------------------------------
num(c) = (c > 0 && valid(c)) ? column(c) : NaN
# status: 1 ok (or no status column), 0 anything else
stflag(c) = (c == 0) ? 1 : (strcol(c) eq "ok" ? 1 : 0)
set table $NUM
plot IN using 0:(num(C_K)):(num(C_SEED)):(num(C_STEP)):(num(C_OBJ)):(stflag(C_ST)):(num(C_X)) with table
unset table
set autoscale

# pass 1: usable rows (ok, step and objective finite); K and seed values
array USE[NROWS]; array BAD[NROWS]
do for [r=1:NROWS] { USE[r] = 0; BAD[r] = 0 }
KFIRST = NaN; MULTIK = 0; SFIRST = NaN; MULTIS = 0; NBAD = 0; NBADST = 0
do for [i=1:|$NUM|] {
    L = $NUM[i]
    if (words(L) >= 6) {
        r = int(tonum(word(L, 1))) + 1
        K = tonum(word(L, 2)); sd = tonum(word(L, 3)); st = tonum(word(L, 4)); ob = tonum(word(L, 5))
        fl = int(tonum(word(L, 6)))
        if (r >= 1 && r <= NROWS && PI[r] > 0 && EI[r] > 0) {
            if (fl == 1 && !isnan(st) && !isnan(ob) && abs(ob) < 1e300) {
                USE[r] = 1
                if (!isnan(K)) { if (isnan(KFIRST)) { KFIRST = K }; if (K != KFIRST) { MULTIK = 1 } }
                if (!isnan(sd)) { if (isnan(SFIRST)) { SFIRST = sd }; if (sd != SFIRST) { MULTIS = 1 } }
            } else { BAD[r] = 1; NBAD = NBAD + 1; NBADST = NBADST + (fl != 1) }
        }
    }
}

# series: estimator (+ K, + seed when they vary); global indices, so colours agree across rows
array US[NROWS]; array SI[NROWS]
do for [r=1:NROWS] { SI[r] = 0 }
NS = 0
do for [i=1:|$NUM|] {
    L = $NUM[i]
    if (words(L) >= 6) {
        r = int(tonum(word(L, 1))) + 1
        if (r >= 1 && r <= NROWS && (USE[r] || BAD[r])) {
            K = tonum(word(L, 2)); sd = tonum(word(L, 3))
            s = UE[EI[r]] . (MULTIK ? sprintf("  K=%g", K) : "") . (MULTIS ? sprintf("  seed %g", sd) : "")
            k = 0
            do for [j=1:NS] { if (US[j] eq s) { k = j } }
            if (k == 0) { NS = NS + 1; US[NS] = s; k = NS }
            SI[r] = k
        }
    }
}
NUSE = 0
do for [r=1:NROWS] { NUSE = NUSE + USE[r] }
if (NUSE == 0) {
    MSG = (NBADST > 0) ? sprintf("no usable trajectory record (%d row(s) with status not ok, %d without a numeric step / objective)", NBADST, NBAD - NBADST) : \
                         sprintf("no trajectory record with a numeric step and objective in %d row(s) (a summary-schema file?)", NBAD)
    print sprintf("%s: %s: %s; placeholder figure written", TRAJ_NAME, IN, MSG)
    eval PLACEHOLDER
    exit
}

# ---- per group (problem, series): records in step order --------------------------------------
NG = NP * NS
array CNT[NG]; array STOP[NG]
array FIRSTV[NG]; array LASTV[NG]; array FIRSTS[NG]; array LASTS[NG]
do for [g=1:NG] { CNT[g] = 0; STOP[g] = 0; FIRSTV[g] = NaN; LASTV[g] = NaN; FIRSTS[g] = NaN; LASTS[g] = NaN }
array OMIN[NP]; array OMAX[NP]
do for [p=1:NP] { OMIN[p] = NaN; OMAX[p] = NaN }
SMIN = NaN; SMAX = NaN; XMIN = NaN; XMAX = NaN; NXDROP = 0; NXNONE = 0
esc(s) = strstrt(s, "_") == 0 ? s : s[1:strstrt(s, "_") - 1] . "\\_" . esc(s[strstrt(s, "_") + 1:])
# TRAJ_X: a trajectory whose cost never becomes positive (an estimator that evaluates only f~ has
# f_evals 0 throughout) has no place on the log axis at all, not even its start
array GXPOS[NG]; array GHAS[NG]
do for [g=1:NG] { GXPOS[g] = 1; GHAS[g] = 0 }
if (COSTX) {
    do for [g=1:NG] { GXPOS[g] = 0 }
    do for [i=1:|$NUM|] {
        L = $NUM[i]
        r = int(tonum(word(L, 1))) + 1
        if (words(L) >= 7 && r >= 1 && r <= NROWS && SI[r] > 0 && USE[r]) {
            xv = tonum(word(L, 7))
            GHAS[(PI[r] - 1) * NS + SI[r]] = 1
            if (xv > 0 && xv < 1e300) { GXPOS[(PI[r] - 1) * NS + SI[r]] = 1 }
        }
    }
    do for [g=1:NG] { if (GHAS[g] && !GXPOS[g]) { NXNONE = NXNONE + 1 } }
}
set print $ROWS
do for [i=1:|$NUM|] {
    L = $NUM[i]
    if (words(L) >= 6) {
        r = int(tonum(word(L, 1))) + 1
        if (r >= 1 && r <= NROWS && SI[r] > 0) {
            p = PI[r]; g = (p - 1) * NS + SI[r]
            st = tonum(word(L, 4))
            # TRAJ_X: x = the cost column; 0 only at the start, otherwise not drawable on a log axis
            xv = COSTX ? ((words(L) >= 7) ? tonum(word(L, 7)) : NaN) : st
            if (USE[r] && COSTX && GXPOS[g] && !(xv > 0 && xv < 1e300) && !(xv == 0 && st <= 0)) { NXDROP = NXDROP + 1 }
            if (USE[r] && (!COSTX || GXPOS[g] && (xv > 0 && xv < 1e300 || xv == 0 && st <= 0))) {
                ob = tonum(word(L, 5))
                CNT[g] = CNT[g] + 1
                if (isnan(FIRSTS[g]) || st < FIRSTS[g]) { FIRSTS[g] = st; FIRSTV[g] = ob }
                if (isnan(LASTS[g]) || st >= LASTS[g]) { LASTS[g] = st; LASTV[g] = ob }
                OMIN[p] = fmin(OMIN[p], ob); OMAX[p] = fmax(OMAX[p], ob)
                SMIN = fmin(SMIN, st); SMAX = fmax(SMAX, st)
                XMIN = fmin(XMIN, xv); XMAX = fmax(XMAX, xv)
                print sprintf("%d %.10g %.12g %.10g", g, st, ob, xv)
            } else { if (!USE[r]) { STOP[g] = 1 } }
        }
    }
}
unset print
NDRAWN = 0
do for [g=1:NG] { NDRAWN = NDRAWN + CNT[g] }
if (NDRAWN == 0) {
    MSG = sprintf("no trajectory with %s > 0 (%d trajectory(ies) with no %s at all)", TRAJ_X, NXNONE, TRAJ_X)
    print sprintf("%s: %s: %s; placeholder figure written", TRAJ_NAME, IN, MSG)
    eval PLACEHOLDER
    exit
}

# direction: minimisation unless most trajectories end above where they started
NUP = 0; NDOWN = 0
do for [g=1:NG] {
    if (CNT[g] >= 2) { if (LASTV[g] > FIRSTV[g]) { NUP = NUP + 1 } else { if (LASTV[g] < FIRSTV[g]) { NDOWN = NDOWN + 1 } } }
}
MAXIMISE = (NUP > NDOWN) ? 1 : 0
array BEST[NP]; array GMAX[NP]; array FLOOR[NP]; array ZPOS[NP]
do for [p=1:NP] {
    BEST[p] = MAXIMISE ? OMAX[p] : OMIN[p]
    GMAX[p] = OMAX[p] - OMIN[p]
    FLOOR[p] = 1e-6 * GMAX[p]
}

# running mean: centred window of 2 HW + 1 records (narrower at the ends)
NREC = 0
do for [g=1:NG] { NREC = (CNT[g] > NREC) ? CNT[g] : NREC }
HW = int(NREC / 20)
HW = (HW < 1) ? 1 : (HW > 50 ? 50 : HW)
DSTEP = (NREC > 1) ? (SMAX - SMIN) / (NREC - 1) : 1

# $DATA: one block per group, sorted by step:
#   step  objective  gap_dot (NaN if ≤ floor)  gap_mean_pos  gap_mean_is_zero
array BLK[NG]
NBLK = 0
NZERO = 0
array GLO[NP]; array GHI[NP]
do for [p=1:NP] { GLO[p] = NaN; GHI[p] = NaN }
set print $DATA
do for [g=1:NG] {
    BLK[g] = -1
    if (CNT[g] > 0) {
        n = CNT[g]
        p = (g - 1) / NS + 1
        array AS[n]; array AO[n]; array AX[n]
        m = 0
        do for [i=1:|$ROWS|] {
            L = $ROWS[i]
            if (int(tonum(word(L, 1))) == g) { m = m + 1; AS[m] = tonum(word(L, 2)); AO[m] = tonum(word(L, 3)); AX[m] = tonum(word(L, 4)) }
        }
        # insertion sort by step (a no-op for the usual file order)
        do for [a=2:n] {
            b = a
            while (b > 1 && AS[b-1] > AS[b]) {
                t = AS[b]; AS[b] = AS[b-1]; AS[b-1] = t
                t = AO[b]; AO[b] = AO[b-1]; AO[b-1] = t
                t = AX[b]; AX[b] = AX[b-1]; AX[b-1] = t
                b = b - 1
            }
        }
        BLK[g] = NBLK
        NBLK = NBLK + 1
        do for [a=1:n] {
            gap = MAXIMISE ? BEST[p] - AO[a] : AO[a] - BEST[p]
            acc = 0; c = 0
            # symmetric window, narrowed at the ends so that it stays centred on the record
            hw = (a - 1 < HW) ? a - 1 : HW
            hw = (n - a < hw) ? n - a : hw
            do for [b=a-hw:a+hw] {
                acc = acc + (MAXIMISE ? BEST[p] - AO[b] : AO[b] - BEST[p]); c = c + 1
            }
            gm = acc / c
            gz = (gm <= FLOOR[p]) ? 1 : 0
            if (gz) { NZERO = NZERO + 1 } else { GLO[p] = fmin(GLO[p], gm); GHI[p] = fmax(GHI[p], gm) }
            if (gap > FLOOR[p]) { GLO[p] = fmin(GLO[p], gap); GHI[p] = fmax(GHI[p], gap) }
            print sprintf("%.10g %.12g %.10g %.10g %d", AX[a], AO[a], gap > FLOOR[p] ? gap : NaN, gm, gz)
        }
        print ""
        print ""
    }
}
unset print
do for [p=1:NP] {
    # the "≈ 0" level: one decade below the floor (and below every drawn gap)
    ZPOS[p] = fmin(FLOOR[p], GLO[p]) / 10.0
    if (!(ZPOS[p] > 0)) { ZPOS[p] = isnan(GLO[p]) ? 1e-6 : GLO[p] / 10.0 }
    if (!(ZPOS[p] > 0)) { ZPOS[p] = 1e-6 }
}
gpos(p) = column(5) == 1 ? ZPOS[p] : column(4)

# everything below reads the whitespace-separated datablocks built above
set datafile separator whitespace
set datafile nocolumnheaders

# ---- layout ---------------------------------------------------------------------------------
array SHOWN[NS]
NS_SHOWN = 0; MAXLEN = 0; NSTOP = 0
do for [s=1:NS] {
    SHOWN[s] = 0
    do for [p=1:NP] {
        if (CNT[(p-1)*NS + s] > 0) { SHOWN[s] = 1 }
        if (CNT[(p-1)*NS + s] > 0 && STOP[(p-1)*NS + s]) { NSTOP = NSTOP + 1 }
    }
    if (SHOWN[s]) { NS_SHOWN = NS_SHOWN + 1; MAXLEN = (strlen(US[s]) > MAXLEN) ? strlen(US[s]) : MAXLEN }
}
T_MEAN = sprintf("gap, thick: running mean of %d records (%g steps)", 2 * HW + 1, (2 * HW + 1) * DSTEP)
T_DOT = "gap, dots: single records"
T_STOP = "×: trajectory stopped (status not ok)"
T_ZERO = "dotted ≈ 0 level: gap ≤ 1e-6 × largest"
NKEYENT = NS_SHOWN + 2 + (NSTOP > 0) + (NZERO > 0)
do for [t in "T_MEAN T_DOT T_STOP T_ZERO"] { MAXLEN = (strlen(value(t)) > MAXLEN) ? strlen(value(t)) : MAXLEN }
# gnuplot sizes key columns by the longest title (in bytes); about 8 px a byte at this font
KEYCOLS = int((W - 16) / ((MAXLEN + 8) * 8.0))
KEYCOLS = (KEYCOLS < 1) ? 1 : (KEYCOLS > 3 ? 3 : KEYCOLS)
KEYROWS = (NKEYENT + KEYCOLS - 1) / KEYCOLS
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
PSCALE = (KIND eq "svg") ? 0.7 : 1.0
sx(px) = px / real(W)
sy(px) = 1.0 - px / real(H)

# ---- styles: one colour per series (Okabe–Ito palette, as in var-vs-K.gp) --------------------
array COL[12] = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", \
                 "#000000", "#8C564B", "#7F7F7F", "#BCBD22", "#9467BD", "#F0E442"]
do for [s=1:NS] {
    eval sprintf("set linetype %d lc rgb '%s' lw 1.5 dt %d", s, COL[(s-1) % 12 + 1], ((s-1) / 12) % 4 + 1)
}
# faint version of a colour for the single-record dots (alpha channel: #AARRGGBB, FF = transparent)
faint(c) = "#C0" . c[2:7]

# ---- text -----------------------------------------------------------------------------------
KTXT = (!MULTIK && !isnan(KFIRST)) ? sprintf("K = %g samples per estimate", KFIRST) : "K varies (see legend)"
STXT = (!MULTIS && !isnan(SFIRST)) ? sprintf(", seed %g", SFIRST) : ""
BADTXT = (NBAD > 0) ? sprintf("; %d record(s) with status not ok skipped", NBAD) : ""
BADTXT = BADTXT . ((NXDROP > 0) ? sprintf("; %d record(s) without %s > 0 not drawn", NXDROP, esc(TRAJ_X)) : "") . \
    ((NXNONE > 0) ? sprintf("; %d trajectory(ies) with no %s at all not drawn", NXNONE, esc(TRAJ_X)) : "")
SUB = sprintf("%s%s; %s%s", KTXT, STXT, (NREC > 1 ? sprintf("exact objective recorded every ≈ %g steps", DSTEP) : "one record per run"), BADTXT)
FIGTITLE = TRAJ_TITLE . ":  " . ((NP == 1) ? UP[1] : sprintf("%s  (%d problems)", IN, NP))
GAPLABEL = MAXIMISE ? "max over runs − objective" : "objective − min over runs"

decades(lo, hi) = log10(hi) - log10(lo)
yfmt(lo, hi) = decades(lo, hi) >= 1.2 ? "10^{%L}" : "%.2g"

XLO = XMIN; XHI = (XMAX > XMIN) ? XMAX : XMIN + 1
# Left panel: log step axis when the run spans more than a decade of steps (the first descent
# takes a few percent of the run and would be a vertical line on a linear axis); records at
# step ≤ 0 (the start) are drawn at X0, half the first positive step, on a tic named "start".
SPOS = NaN
do for [i=1:|$ROWS|] { st = tonum(word($ROWS[i], 4)); if (st > 0) { SPOS = fmin(SPOS, st) } }
# (TRAJ_X: always log, in both panels)
LOGX = (!isnan(SPOS) && (COSTX || XMAX / SPOS >= 10)) ? 1 : 0
XU = (COSTX && LOGX) ? "(xl($1))" : "1"
X0 = LOGX ? SPOS / 2.0 : XLO
# (TRAJ_X: half a decade below the decade under the first positive cost, clear of the decade tics)
if (COSTX && LOGX) { X0 = 10.0**(floor(log10(SPOS)) - 0.5) }
XLEFT = (COSTX && LOGX) ? X0 / 1.25 : X0
xl(st) = (LOGX && st <= 0) ? X0 : st

set multiplot
set grid xtics ytics lc rgb "#dddddd" lw 1
set border 3 lc rgb "#555555"
set tics nomirror out scale 0.6
set xlabel TRAJ_XLABEL offset 0, 0.3
unset title
set xrange [XLO:XHI]

L1 = 80; R1 = 460; L2 = 560; R2 = 940
do for [p=1:NP] {
    TOP = TITLE_PX + (p-1) * ROW_PX + ROWTITLE_PX
    BOT = TOP + PANEL_PX
    unset label
    unset arrow
    unset key
    if (p == 1) {
        set label 901 FIGTITLE at screen 0.5, sy(20) center font "sans,13" noenhanced
        set label 902 SUB at screen 0.5, sy(42) center font "sans,10" tc rgb "#444444"
    }
    if (NP > 1) {
        set label 903 UP[p] at screen 0.5, sy(TOP - 30) center font "sans,11" noenhanced
    }
    set label 904 sprintf("exact objective  (dotted: best seen, %.6g)", BEST[p]) at screen sx((L1+R1)/2), sy(TOP - 8) center font "sans,10"
    set label 905 "gap to the best value seen (log)" at screen sx((L2+R2)/2), sy(TOP - 8) center font "sans,10"
    set tmargin at screen sy(TOP); set bmargin at screen sy(BOT)

    # -- left: objective, linear ---------------------------------------------------------------
    set lmargin at screen sx(L1); set rmargin at screen sx(R1)
    unset logscale y
    if (LOGX) {
        set logscale x 10
        set xrange [XLEFT : XHI * 1.05]
        set format x "%g"
        set xtics autofreq
        set xtics add ("start" X0)
        set xlabel TRAJ_XLABEL . " (log)" offset 0, 0.3
    }
    set format y "%g"
    set ytics autofreq
    SPAN = (OMAX[p] > OMIN[p]) ? OMAX[p] - OMIN[p] : (abs(OMAX[p]) > 0 ? abs(OMAX[p]) * 0.1 : 1)
    set yrange [OMIN[p] - 0.04 * SPAN : OMAX[p] + 0.04 * SPAN]
    set ylabel "objective (exact expectation)" offset 0.5, 0
    set arrow 910 from graph 0, first BEST[p] to graph 1, first BEST[p] nohead dt 3 lc rgb "#555555" lw 1.2 front
    CMD = ""
    do for [s=1:NS] {
        g = (p-1)*NS + s
        if (CNT[g] > 0) {
            CMD = CMD . sprintf("%s$DATA index %d using (xl($1)):2 with %s lt %d notitle", (strlen(CMD) ? ", " : ""), BLK[g], \
                CNT[g] == 1 ? "points pt 7 ps 0.8" : "lines", s)
            if (STOP[g]) {
                CMD = CMD . sprintf(", $DATA index %d every ::%d::%d using (xl($1)):2 with points pt 2 ps 1.8*PSCALE lw 2 lc rgb 'black' notitle", BLK[g], CNT[g]-1, CNT[g]-1)
            }
        }
    }
    eval "plot " . CMD
    unset arrow 910
    unset label 901; unset label 902; unset label 903; unset label 904; unset label 905

    # -- right: gap, log ------------------------------------------------------------------------
    set lmargin at screen sx(L2); set rmargin at screen sx(R2)
    if (!(COSTX && LOGX)) {
        unset logscale x
        set xrange [XLO:XHI]
        set xtics autofreq
        set xlabel TRAJ_XLABEL offset 0, 0.3
    }
    YLO = (NZERO > 0 ? ZPOS[p] : (isnan(GLO[p]) ? ZPOS[p] : GLO[p])) / 2.0
    YHI = (isnan(GHI[p]) ? 1 : GHI[p]) * 2.0
    # the range first: switching to log while the left panel's (possibly negative) range is set warns
    set yrange [YLO:YHI]
    set logscale y 10
    set format y yfmt(YLO, YHI)
    set ytics autofreq
    set ylabel GAPLABEL offset 0.5, 0
    CMD = ""
    do for [s=1:NS] {
        g = (p-1)*NS + s
        if (CNT[g] > 0) {
            CMD = CMD . sprintf("%s$DATA index %d using %s:3 with points pt 7 ps %.2f lc rgb '%s' notitle", (strlen(CMD) ? ", " : ""), \
                BLK[g], XU, 0.35 * PSCALE, faint(COL[(s-1) % 12 + 1]))
        }
    }
    do for [s=1:NS] {
        g = (p-1)*NS + s
        if (CNT[g] > 0) {
            CMD = CMD . sprintf(", $DATA index %d using %s:(gpos(%d)) with %s lt %d lw 2.2 notitle", BLK[g], XU, p, \
                CNT[g] == 1 ? "points pt 7 ps 0.8" : "lines", s)
            if (STOP[g]) {
                CMD = CMD . sprintf(", $DATA index %d every ::%d::%d using %s:(gpos(%d)) with points pt 2 ps 1.8*PSCALE lw 2 lc rgb 'black' notitle", BLK[g], CNT[g]-1, CNT[g]-1, XU, p)
            }
        }
    }
    if (NZERO > 0) {
        set label 907 "≈ 0" at graph 0.01, first ZPOS[p] left offset 0.3, 0.6 font "sans,9" tc rgb "#666666"
        set arrow 907 from graph 0, first ZPOS[p] * sqrt(10) to graph 1, first ZPOS[p] * sqrt(10) nohead dt 3 lc rgb "#999999"
    }
    eval "plot " . CMD
    unset label 907
    unset arrow 907
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
    box lc rgb "#bbbbbb"
CMD = ""
do for [s=1:NS] {
    if (SHOWN[s]) {
        CMD = CMD . sprintf("%sNaN lt %d with lines title US[%d] noenhanced", (strlen(CMD) ? ", " : ""), s, s)
    }
}
CMD = CMD . ", NaN with lines lw 2.2 lc rgb '#444444' title T_MEAN"
CMD = CMD . ", NaN with points pt 7 ps 0.5 lc rgb '#A0444444' title T_DOT"
if (NZERO > 0) { CMD = CMD . ", NaN with lines dt 3 lc rgb '#999999' title T_ZERO" }
if (NSTOP > 0) { CMD = CMD . ", NaN with points pt 2 ps 1.5 lw 2 lc rgb 'black' title T_STOP" }
eval "plot " . CMD
unset multiplot
unset output
