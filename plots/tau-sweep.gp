# tau-sweep.gp — bias and variance of a relaxed (temperature) estimator against its temperature τ.
#
#   gnuplot -c plots/tau-sweep.gp IN.csv OUT.png png
#   gnuplot -c plots/tau-sweep.gp IN.csv OUT.svg svg
#
# IN is a results CSV (summary schema: results/README.md), e.g. issue 5 experiment 1: gengs and
# st-gengs at τ ∈ {0.05 … 5} for several truncations M, plus unbiased score-function estimators
# (reinforce, rloo, reinforce-optimal, tokui-sato) on count-quadratic:preset=poisson5.
# One row of two panels per problem in the file; x = τ parsed from the estimator spec ("tau=VALUE"),
# log axis. A *series* is the estimator spec with its tau option removed ("gengs:M=10"), plus K when
# the file holds several K; one colour per series, the same in every row.
#   left   bias2 = ‖ḡ − g*‖² − var_sum/R, the noise-corrected squared bias (unbiased for ‖E ĝ − g*‖²,
#          may be ≤ 0 when the bias is small). Its noise level is var_sum/R (for an unbiased
#          estimator its standard deviation is √2·var_sum/R in one coordinate), drawn per series as
#          a thin dotted line of the series' colour, the "detection floor". A bias2 that does not
#          exceed its floor (including every bias2 ≤ 0) is drawn as an open symbol *on* the floor:
#          "not distinguishable from 0 at this R", an upper bound, not a value.
#   right  work_norm_var = var_mean × evaluations per estimate (f + f̃ + ∇f̃, see harness/stats.c), the
#          variance at an equal evaluation budget, ±1 standard error (var_mean_se scaled alike).
#          Every row whose estimator has no tau option is a *reference* (the unbiased estimators,
#          and st, which has no temperature; its bias is in REPORT.md): a grey dashed horizontal line labelled with its name in the right margin (labels are spread apart
#          when lines are close, with a leader to their line). A reference with work_norm_var
#          numerically 0 (an exact method: tokui-sato on one unit) sits on a "≈ 0" level.
# The legend names the truncation actually used when the estimator's message says it differs
# from the spec (binomial(20) caps M at N + 1 = 21; M chosen from eps when M is absent).
# Rows whose status is incompatible/error are skipped; nonfinite rows are drawn and ringed.
# In a trajectory file (several values of `step`) only the last step is drawn.
#
# Columns are found by header name. gnuplot 5.4 reads quoted fields containing commas
# ("gengs:M=10,tau=0.05") correctly when a column is referenced by *number* as a label, but
# strcol() / column-by-name truncate them at the first comma; so problem, estimator and message
# are read through `with labels` tables, and the numbers through one numeric table.
# Unusable input (empty file, missing columns, no row with a tau) gives a placeholder figure,
# a note on stderr and exit status 0.
#
# Other sweeps: wrapper scripts set these variables and `call` this script (defaults: tau-sweep).
#   SWEEP_KEY     the estimator option swept ("tau"): x = its value, series = spec without it,
#                 rows without it are references (horizontal lines in the right panel)
#   SWEEP_XCOL    "" (x from SWEEP_KEY), or a numeric column name ("f_evals"): x = that column;
#                 then every usable row is a point (no references), the series key is the spec
#                 without SWEEP_KEY and without a pinned K (not split by K), and a series' points
#                 (over K and SWEEP_KEY) are joined in order of x and labelled with their K / key
#   SWEEP_RIGHT   "work_norm_var" (default) or "var_mean": the right panel's quantity (± SE)
#   SWEEP_GUIDE   1: a light dotted line ∝ 1/x through each series' first point (right panel)
#   SWEEP_XLABEL, SWEEP_XSYM (the swept quantity in texts: "τ"), SWEEP_TITLE, SWEEP_NAME (the
#                 script named in notes on stderr)
#   M-sweep.gp:   SWEEP_KEY = "M", SWEEP_RIGHT = "var_mean", SWEEP_GUIDE = 1
#   cost-sweep.gp: SWEEP_KEY = "M", SWEEP_XCOL = "f_evals", SWEEP_RIGHT = "var_mean"

if (!exists("SWEEP_KEY")) { SWEEP_KEY = "tau" }
if (!exists("SWEEP_XCOL")) { SWEEP_XCOL = "" }
if (!exists("SWEEP_RIGHT")) { SWEEP_RIGHT = "work_norm_var" }
if (!exists("SWEEP_GUIDE")) { SWEEP_GUIDE = 0 }
# rows of other gradients (wrt=phi / phi-marginal twins of a problem with outer parameters) are left
# out: one panel holds one gradient, the units' (eta); "" keeps every row
if (!exists("SWEEP_WRT")) { SWEEP_WRT = "eta" }
if (!exists("SWEEP_XLABEL")) { SWEEP_XLABEL = "Gumbel-Softmax temperature τ" }
if (!exists("SWEEP_XSYM")) { SWEEP_XSYM = "τ" }
if (!exists("SWEEP_TITLE")) { SWEEP_TITLE = "temperature sweep" }
if (!exists("SWEEP_NAME")) { SWEEP_NAME = ARG0 }
XFROMCOL = (strlen(SWEEP_XCOL) > 0) ? 1 : 0
RIGHTVM = (SWEEP_RIGHT eq "var_mean") ? 1 : 0
if (ARGC < 2) {
    print sprintf("usage: gnuplot -c %s IN.csv OUT.(png|svg) [png|svg]", SWEEP_NAME)
    exit status 2
}
IN  = ARG1
OUT = ARG2
KIND = (ARGC >= 3 && strlen(ARG3) > 0) ? ARG3 : (OUT[strlen(OUT)-3:] eq ".svg" ? "svg" : "png")
if (KIND ne "png" && KIND ne "svg") {
    print sprintf("%s: terminal kind must be png or svg (got '%s')", SWEEP_NAME, KIND)
    exit status 2
}

# String to number. gnuplot 5.4's real("1e-05") fails ("Trailing characters") when the mantissa
# has no decimal point, and `with table` writes numbers with %g (1000000 -> "1e+06"): insert ".0".
epos(s) = strstrt(s, "e") > 0 ? strstrt(s, "e") : strstrt(s, "E")
tonum(s) = real((strstrt(s, ".") == 0 && epos(s) > 1 && strstrt(s, "n") == 0) ? s[1:epos(s)-1] . ".0" . s[epos(s):] : s)

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
C_PROB = 0; C_EST = 0; C_K = 0; C_R = 0; C_STEP = 0; C_VM = 0; C_VSE = 0; C_VS = 0; C_B2 = 0
C_WNV = 0; C_ST = 0; C_MSG = 0; C_FE = 0; C_FTE = 0; C_GE = 0; C_X = 0; C_WRT = 0
if (NROWS > 0) { stats IN every ::0::0 using (C_PROB = findcol("problem", 1), C_EST = findcol("estimator", 1), \
    C_K = findcol("K", 1), C_R = findcol("replicates", 1), C_STEP = findcol("step", 1), \
    C_VM = findcol("var_mean", 1), C_VSE = findcol("var_mean_se", 1), C_VS = findcol("var_sum", 1), \
    C_B2 = findcol("bias2", 1), C_WNV = findcol("work_norm_var", 1), C_ST = findcol("status", 1), \
    C_MSG = findcol("message", 1), C_FE = findcol("f_evals", 1), C_FTE = findcol("ftilde_evals", 1), \
    C_GE = findcol("grad_evals", 1), C_X = XFROMCOL ? findcol(SWEEP_XCOL, 1) : 0, C_WRT = findcol("wrt", 1), 0) nooutput }

# ---- terminal -------------------------------------------------------------------------------
FONT = "sans,10"
W = 1000

# Draw a figure that only says why there is nothing to draw (a figure script must not fail the
# whole `make bench` because one suite entry produced no usable rows). Used via eval.
PLACEHOLDER = 'if (KIND eq "svg") { set term svg size W,300 enhanced font FONT background "white" } ' . \
    'else { set term pngcairo size W,300 enhanced font FONT }; ' . \
    'set output OUT; unset border; unset tics; unset key; set xrange [0:1]; set yrange [0:1]; ' . \
    'set label 1 sprintf("%s\n%s", IN, MSG) at graph 0.5, 0.5 center noenhanced; ' . \
    'plot 2 notitle; unset output'
if (NROWS <= 0 || C_PROB == 0 || C_EST == 0 || C_K == 0 || C_R == 0 || C_VM == 0 || C_VS == 0 || \
    C_B2 == 0 || (C_WNV == 0 && !RIGHTVM) || C_ST == 0 || (XFROMCOL && C_X == 0)) {
    MSG = (NROWS <= 0) ? "no data rows (or file unreadable)" : \
          sprintf("required columns missing (problem, estimator, K, replicates, var_mean, var_sum, bias2, %sstatus)", \
                  (RIGHTVM ? "" : "work_norm_var, ") . (XFROMCOL ? SWEEP_XCOL . ", " : ""))
    print sprintf("%s: %s: %s; placeholder figure written", SWEEP_NAME, IN, MSG)
    eval PLACEHOLDER
    exit
}

# ---- names: problem, estimator and message of every data row ---------------------------------
lastq(s, i) = (i < 1) ? 0 : (s[i:i] eq "\"" ? i : lastq(s, i-1))
quoted(s) = s[strstrt(s, "\"")+1 : lastq(s, strlen(s))-1]
isdata(s) = strlen(s) > 0 && s[1:1] ne "#" && strstrt(s, "\"") > 0

set xrange [-1:NROWS]
set yrange [-1:1]
set table $PNAMES
plot IN using 0:(0):C_PROB with labels
set table $ENAMES
plot IN using 0:(0):C_EST with labels
if (C_MSG > 0) {
    set table $MNAMES
    plot IN using 0:(0):C_MSG with labels
} else {
    set print $MNAMES
    unset print
}
unset table

array PI[NROWS]          # problem index of row r (1-based)
array EI[NROWS]          # estimator index of row r
array MSGR[NROWS]        # message of row r
array UP[NROWS]          # unique problem names in order of appearance
array UE[NROWS]          # unique estimator specs in order of appearance
do for [r=1:NROWS] { PI[r] = 0; EI[r] = 0; MSGR[r] = "" }
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
do for [i=1:|$MNAMES|] {
    L = $MNAMES[i]
    if (isdata(L)) { MSGR[int(tonum(word(L, 1))) + 1] = quoted(L) }
}

if (NP == 0 || NE == 0) {
    MSG = "no row has a problem and an estimator name"
    print sprintf("%s: %s: %s; placeholder figure written", SWEEP_NAME, IN, MSG)
    eval PLACEHOLDER
    exit
}

# ---- estimator specs: tau, series key --------------------------------------------------------
# position of option KEY in spec s (index of its first character), 0 if absent; an option starts
# after the ':' that ends the name or after a ','
optpos(s, key) = strstrt(s, ":" . key . "=") > 0 ? strstrt(s, ":" . key . "=") + 1 : \
                 (strstrt(s, "," . key . "=") > 0 ? strstrt(s, "," . key . "=") + 1 : 0)
# value string of the option starting at position q (up to the next ',')
optrest(s, q, key) = s[q + strlen(key) + 1:]
optval(s, key) = optpos(s, key) == 0 ? "" : \
    (strstrt(optrest(s, optpos(s, key), key), ",") > 0 ? \
     optrest(s, optpos(s, key), key)[1:strstrt(optrest(s, optpos(s, key), key), ",") - 1] : \
     optrest(s, optpos(s, key), key))
# s without option KEY
dropopt(s, key) = optpos(s, key) == 0 ? s : \
    (strstrt(s[optpos(s, key):], ",") > 0 ? \
     s[1:optpos(s, key) - 1] . s[optpos(s, key) + strstrt(s[optpos(s, key):], ","):] : \
     s[1:optpos(s, key) - 2])
isnan(x) = (x != x)

array TAU[NE]            # tau (SWEEP_KEY) of estimator e, NaN when it has none (an unbiased reference)
array SKEY[NE]           # its spec without tau (with SWEEP_XCOL: also without a pinned K)
do for [e=1:NE] {
    v = optval(UE[e], SWEEP_KEY)
    TAU[e] = strlen(v) > 0 ? tonum(v) : NaN
    if (strlen(v) > 0 && !(TAU[e] > 0)) { TAU[e] = NaN }
    SKEY[e] = dropopt(UE[e], SWEEP_KEY)
    if (XFROMCOL) { SKEY[e] = dropopt(SKEY[e], "K") }
}
# readable form of a spec: "gengs:M=10,tail=lump" -> "gengs  M=10, tail=lump"
pretty(s) = strstrt(s, ":") == 0 ? s : s[1:strstrt(s, ":") - 1] . "  " . commas(s[strstrt(s, ":") + 1:])
commas(s) = strstrt(s, ",") == 0 ? s : s[1:strstrt(s, ",") - 1] . ", " . commas(s[strstrt(s, ",") + 1:])
# SWEEP_XCOL: label of a point of series s, its SWEEP_KEY value and/or K (whichever the series varies over)
ptlab(K, m, s) = ((SHK[s] && m > 0) ? sprintf("%s=%g", SWEEP_KEY, m) : "") . \
                 (SMK[s] ? sprintf("%sK=%g", (SHK[s] && m > 0) ? " " : "", K) : "")

# ---- numbers: one table, NaN for empty fields -----------------------------------------------
num(c) = (c > 0 && valid(c)) ? column(c) : NaN
# status flag: 1 ok, 2 nonfinite (statistics over the finite replicates), 0 no statistics
stflag(s) = (s eq "ok") ? 1 : (s eq "nonfinite" ? 2 : 0)
wrtok(dummy) = (strlen(SWEEP_WRT) == 0 || C_WRT == 0) ? 1 : (strcol(C_WRT) eq SWEEP_WRT || strlen(strcol(C_WRT)) == 0)
set table $NUM
plot IN using 0:(num(C_K)):(num(C_R)):(num(C_STEP)):(num(C_VM)):(num(C_VSE)):(num(C_VS)):(num(C_B2)):(num(C_WNV)):(wrtok(0) ? stflag(strcol(C_ST)) : 0):(num(C_FE)):(num(C_FTE)):(num(C_GE)):(num(C_X)) with table
unset table
set autoscale

STEPMAX = NaN
do for [i=1:|$NUM|] {
    L = $NUM[i]
    if (words(L) >= 10) {
        st = tonum(word(L, 4))
        if (!isnan(st) && (isnan(STEPMAX) || st > STEPMAX)) { STEPMAX = st }
    }
}
fmin(a, b) = isnan(a) ? b : (b < a ? b : a)
fmax(a, b) = isnan(a) ? b : (b > a ? b : a)

# pass 1: which rows are usable, K values
array USE[NROWS]
do for [r=1:NROWS] { USE[r] = 0 }
KFIRST = NaN; MULTIK = 0; NSTEPS_DROPPED = 0; NSKIPPED = 0
do for [i=1:|$NUM|] {
    L = $NUM[i]
    if (words(L) >= 10) {
        r = int(tonum(word(L, 1))) + 1
        K = tonum(word(L, 2)); st = tonum(word(L, 4)); fl = int(tonum(word(L, 10)))
        laststep = isnan(STEPMAX) || (!isnan(st) && st == STEPMAX)
        if (!laststep) { NSTEPS_DROPPED = NSTEPS_DROPPED + 1 }
        if (r >= 1 && r <= NROWS && laststep) {
            if (fl > 0 && PI[r] > 0 && EI[r] > 0 && !isnan(K)) {
                USE[r] = 1
                if (isnan(KFIRST)) { KFIRST = K }
                if (K != KFIRST) { MULTIK = 1 }
            } else { NSKIPPED = NSKIPPED + 1 }
        }
    }
}

# series (estimators with a tau) and references (without), keyed by spec (+ K if K varies);
# indices are global over problems so that a series has the same colour in every row
array US[NROWS]          # series keys
array UR[NROWS]          # reference keys
array SEFF[NROWS]        # truncation actually used by series s (from the message), "" if as specified
array SOWN[NROWS]        # ... and its spec's own M
array SK0[NROWS]         # SWEEP_XCOL: the first K of series s, and whether it holds several K /
array SMK[NROWS]         # any row with the SWEEP_KEY option (for the point labels)
array SHK[NROWS]
NS = 0; NR = 0; NXBAD = 0
array SI[NROWS]; array RI[NROWS]
do for [r=1:NROWS] { SI[r] = 0; RI[r] = 0 }
do for [i=1:|$NUM|] {
    L = $NUM[i]
    if (words(L) >= 10) {
        r = int(tonum(word(L, 1))) + 1
        xc = (words(L) >= 14) ? tonum(word(L, 14)) : NaN
        if (XFROMCOL && r >= 1 && r <= NROWS && USE[r] && !(xc > 0 && xc < 1e300)) { USE[r] = 0; NXBAD = NXBAD + 1 }
        if (r >= 1 && r <= NROWS && USE[r]) {
            e = EI[r]
            K = tonum(word(L, 2))
            kk = (MULTIK && !XFROMCOL) ? sprintf(" K=%g", K) : ""
            if (isnan(TAU[e]) && !XFROMCOL) {
                s = UE[e] . kk
                k = 0
                do for [j=1:NR] { if (UR[j] eq s) { k = j } }
                if (k == 0) { NR = NR + 1; UR[NR] = s; k = NR }
                RI[r] = k
            } else {
                s = SKEY[e] . kk
                k = 0
                do for [j=1:NS] { if (US[j] eq s) { k = j } }
                if (k == 0) { NS = NS + 1; US[NS] = s; SEFF[NS] = ""; SOWN[NS] = optval(SKEY[e], "M"); k = NS; SK0[k] = K; SMK[k] = 0; SHK[k] = 0 }
                SI[r] = k
                if (K != SK0[k]) { SMK[k] = 1 }
                if (!isnan(TAU[e])) { SHK[k] = 1 }
                # "truncated to M=21 classes" in the message: the truncation actually used
                # (a gengs truncation; not when M itself is swept)
                q = (SWEEP_KEY eq "M") ? 0 : strstrt(MSGR[r], "truncated to M=")
                if (q > 0) {
                    m = word(MSGR[r][q + 15:], 1)
                    if (m ne SOWN[k]) { SEFF[k] = m }
                }
            }
        }
    }
}

if (NS == 0) {
    ART = (strstrt("aeiouAEFHILMNORSX", SWEEP_KEY[1:1]) > 0) ? "an" : "a"
    MSG = XFROMCOL ? sprintf("no usable row (all incompatible / error, or %s missing or not positive in %d row(s))", SWEEP_XCOL, NXBAD) : \
          (NR > 0) ? sprintf("no estimator with %s %s option (only %d unbiased reference row(s)); nothing to sweep", ART, SWEEP_KEY, NR) : \
                     sprintf("no usable row (all incompatible / error, or no estimator with %s %s option)", ART, SWEEP_KEY)
    print sprintf("%s: %s: %s; placeholder figure written", SWEEP_NAME, IN, MSG)
    eval PLACEHOLDER
    exit
}

# ---- per-row values --------------------------------------------------------------------------
# series rows: p s tau ypos detected floor work work_lo work_hi status K key
# (ypos = bias2 if it exceeds its floor var_sum/R, else the floor; NaN if not drawable; tau = x;
# work = the right panel's value, work_norm_var or var_mean (SWEEP_RIGHT); key = the SWEEP_KEY
# option's value, -1 if none: a NaN in a `with labels` column turns the label into "nan")
ZEROREL = 1e-12
rval(L) = RIGHTVM ? tonum(word(L, 5)) : tonum(word(L, 9))
array WMAXP[NP]
do for [p=1:NP] { WMAXP[p] = 0 }
do for [i=1:|$NUM|] {
    L = $NUM[i]
    if (words(L) >= 10) {
        r = int(tonum(word(L, 1))) + 1
        if (r >= 1 && r <= NROWS && USE[r]) {
            w = rval(L)
            if (!isnan(w) && w > 0) { WMAXP[PI[r]] = fmax(WMAXP[PI[r]], w) }
        }
    }
}
NG = NP * NS
array CNTB[NG]; array CNTW[NG]
array GX0[NG]; array GY0[NG]; array GX1[NG]     # first (smallest-x) drawn right-panel point, largest x
do for [g=1:NG] { CNTB[g] = 0; CNTW[g] = 0; GX0[g] = NaN; GY0[g] = NaN; GX1[g] = NaN }
array NNF[NP]; array NUND[NP]
array BLOP[NP]; array BHIP[NP]; array WLOP[NP]; array WHIP[NP]; array YPLOP[NP]; array FLMAX[NP]
do for [p=1:NP] { NNF[p] = 0; NUND[p] = 0; BLOP[p] = NaN; BHIP[p] = NaN; WLOP[p] = NaN; WHIP[p] = NaN; YPLOP[p] = NaN; FLMAX[p] = NaN }
RMIN = NaN; RMAX = NaN; TMIN = NaN; TMAX = NaN; NDROP = 0
# unique tau values, for sorting and tics
array UT[NROWS]
NT = 0
set print $ROWS
do for [i=1:|$NUM|] {
    L = $NUM[i]
    if (words(L) >= 10) {
        r = int(tonum(word(L, 1))) + 1
        if (r >= 1 && r <= NROWS && USE[r] && SI[r] > 0) {
            p = PI[r]; s = SI[r]; e = EI[r]; tau = XFROMCOL ? tonum(word(L, 14)) : TAU[e]
            R = tonum(word(L, 3)); vm = tonum(word(L, 5)); se = tonum(word(L, 6)); vs = tonum(word(L, 7))
            b2 = tonum(word(L, 8)); w = rval(L); fl = int(tonum(word(L, 10)))
            fl0 = (!isnan(vs) && vs >= 0 && !isnan(R) && R > 0) ? vs / R : NaN
            det = !isnan(b2) && (isnan(fl0) || b2 > fl0) && b2 > 0
            ypos = det ? b2 : ((!isnan(fl0) && fl0 > 0) ? fl0 : NaN)
            if (isnan(ypos)) { NDROP = NDROP + 1 }
            wreal = !isnan(w) && w > ZEROREL * WMAXP[p] && w > 0
            if (!wreal) { NDROP = NDROP + 1 }
            if (isnan(se) || se < 0 || isnan(vm) || vm <= 0) { se = 0; vm = 1 }
            wlo = wreal ? ((w - se * w / vm > w / 100.0) ? w - se * w / vm : w / 100.0) : NaN
            whi = wreal ? w + se * w / vm : NaN
            g = (p - 1) * NS + s
            if (!isnan(ypos)) {
                CNTB[g] = CNTB[g] + 1
                BLOP[p] = fmin(BLOP[p], ypos); BHIP[p] = fmax(BHIP[p], ypos); YPLOP[p] = fmin(YPLOP[p], ypos)
                if (!isnan(fl0) && fl0 > 0) { BLOP[p] = fmin(BLOP[p], fl0); BHIP[p] = fmax(BHIP[p], fl0); FLMAX[p] = fmax(FLMAX[p], fl0) }
                if (!det) { NUND[p] = NUND[p] + 1 }
            }
            if (wreal) {
                CNTW[g] = CNTW[g] + 1
                WLOP[p] = fmin(WLOP[p], wlo); WHIP[p] = fmax(WHIP[p], whi)
                if (isnan(GX0[g]) || tau < GX0[g]) { GX0[g] = tau; GY0[g] = w }
                GX1[g] = fmax(GX1[g], tau)
            }
            if (fl == 2) { NNF[p] = NNF[p] + 1 }
            print sprintf("%d %d %.10g %.10g %d %.10g %.10g %.10g %.10g %d %.10g %.10g", p, s, tau, ypos, det, \
                (!isnan(fl0) && fl0 > 0) ? fl0 : NaN, wreal ? w : NaN, wlo, whi, fl, tonum(word(L, 2)), isnan(TAU[e]) ? -1 : TAU[e])
            TMIN = fmin(TMIN, tau); TMAX = fmax(TMAX, tau)
            if (!isnan(R)) { RMIN = fmin(RMIN, R); RMAX = fmax(RMAX, R) }
            k = 0
            do for [j=1:NT] { if (abs(UT[j] - tau) <= 1e-9 * abs(tau)) { k = j } }
            if (k == 0) { NT = NT + 1; UT[NT] = tau }
        }
    }
}
unset print
# sort the unique taus (selection sort; a handful of values)
do for [a=1:NT] {
    do for [b=a+1:NT] { if (UT[b] < UT[a]) { t = UT[a]; UT[a] = UT[b]; UT[b] = t } }
}

# references: their work_norm_var (var_mean) per problem (the last row wins if a key repeats)
NRG = NP * (NR > 0 ? NR : 1)
array RW[NRG]
array RZ[NRG]            # 1: numerically zero
array REV[NRG]           # evaluations per estimate (f + f~ + grad f~)
do for [g=1:NRG] { RW[g] = NaN; RZ[g] = 0; REV[g] = NaN }
array NREFP[NP]
do for [p=1:NP] { NREFP[p] = 0 }
do for [i=1:|$NUM|] {
    L = $NUM[i]
    if (words(L) >= 10) {
        r = int(tonum(word(L, 1))) + 1
        if (r >= 1 && r <= NROWS && USE[r] && RI[r] > 0) {
            p = PI[r]; g = (p - 1) * NR + RI[r]
            w = rval(L)
            if (!isnan(w) && w >= 0) {
                if (isnan(RW[g])) { NREFP[p] = NREFP[p] + 1 }
                RW[g] = w
                ev = (words(L) >= 13) ? tonum(word(L, 11)) + tonum(word(L, 12)) + tonum(word(L, 13)) : NaN
                REV[g] = ev
                RZ[g] = (w <= ZEROREL * WMAXP[p]) ? 1 : 0
                if (!RZ[g]) { WLOP[p] = fmin(WLOP[p], w); WHIP[p] = fmax(WHIP[p], w) }
            }
        }
    }
}

# $DATA: one index block per (problem, series) with points, sorted by tau; BLK[g] its number
array BLK[NG]
NBLK = 0
set print $DATA
do for [g=1:NG] {
    BLK[g] = -1
    if (CNTB[g] + CNTW[g] > 0) {
        BLK[g] = NBLK
        NBLK = NBLK + 1
        p = (g - 1) / NS + 1; s = (g - 1) % NS + 1
        do for [t=1:NT] {
            do for [i=1:|$ROWS|] {
                L = $ROWS[i]
                if (int(tonum(word(L, 1))) == p && int(tonum(word(L, 2))) == s && abs(tonum(word(L, 3)) - UT[t]) <= 1e-9 * abs(UT[t])) { print L }
            }
        }
        print ""
        print ""
    }
}
unset print

NKEPT = 0
do for [g=1:NG] { NKEPT = NKEPT + CNTB[g] + CNTW[g] }
if (NKEPT == 0) {
    MSG = sprintf("no drawable values (bias2 / %s missing or not positive in every %s row)", SWEEP_RIGHT, XFROMCOL ? "usable" : SWEEP_KEY)
    print sprintf("%s: %s: %s; placeholder figure written", SWEEP_NAME, IN, MSG)
    eval PLACEHOLDER
    exit
}

# everything below reads the whitespace-separated datablocks built above
set datafile separator whitespace
set datafile nocolumnheaders

# ---- layout ---------------------------------------------------------------------------------
array SHOWN[NS]
array STITLE[NS]
NS_SHOWN = 0
MAXLEN = 0
do for [s=1:NS] {
    SHOWN[s] = 0
    do for [p=1:NP] { if (CNTB[(p-1)*NS + s] + CNTW[(p-1)*NS + s] > 0) { SHOWN[s] = 1 } }
    STITLE[s] = pretty(US[s]) . (strlen(SEFF[s]) ? sprintf("  (M used: %s)", SEFF[s]) : "")
    if (SHOWN[s]) { NS_SHOWN = NS_SHOWN + 1; MAXLEN = (strlen(STITLE[s]) > MAXLEN) ? strlen(STITLE[s]) : MAXLEN }
}
NUNDALL = 0; NNFALL = 0; NREFALL = 0
do for [p=1:NP] { NUNDALL = NUNDALL + NUND[p]; NNFALL = NNFALL + NNF[p]; NREFALL = NREFALL + NREFP[p] }
# SWEEP_GUIDE: a 1/x guide for every group with drawn right-panel points at two or more x
NGUIDE = 0
if (SWEEP_GUIDE) { do for [g=1:NG] { if (CNTW[g] > 0 && GX1[g] > GX0[g]) { NGUIDE = NGUIDE + 1 } } }
T_FLOOR = (NGUIDE > 0) ? "dotted, left: noise floor var\\_sum/R of the series" : "dotted: noise floor var\\_sum/R of the series"
T_UND = "open: bias2 ≤ floor (drawn on it)"
T_REF = sprintf("dashed: estimators without %s (references)", SWEEP_XSYM)
T_NF = "nonfinite (some replicates excluded)"
T_GUIDE = sprintf("dotted, right: ∝ 1/%s through the series' first point", SWEEP_XSYM)
NKEYENT = NS_SHOWN + 1 + (NUNDALL > 0) + (NREFALL > 0) + (NNFALL > 0) + (NGUIDE > 0)
MAXLEN = (MAXLEN < 42) ? 42 : MAXLEN
KEYCOLS = int(900 / (MAXLEN * 7 + 70))
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

# the svg terminal draws points about 1.4 times larger than pngcairo at the same size
PSCALE = (KIND eq "svg") ? 0.7 : 1.0

sx(px) = px / real(W)
sy(px) = 1.0 - px / real(H)

# ---- styles: one colour + point type per series (Okabe–Ito palette, as in var-vs-K.gp) ------
array COL[12] = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", \
                 "#000000", "#8C564B", "#7F7F7F", "#BCBD22", "#9467BD", "#F0E442"]
# only filled point types: an open symbol means "bias not detectable" here
array PT[8] = [7, 5, 9, 11, 13, 15, 7, 5]
array PTO[8] = [6, 4, 8, 10, 12, 14, 6, 4]      # open version of PT
do for [s=1:NS] {
    eval sprintf("set linetype %d lc rgb '%s' lw 1.6 pt %d ps %.2f dt %d", \
        s, COL[(s-1) % 12 + 1], PT[(s-1) % 8 + 1], 0.9 * PSCALE, ((s-1) / 12) % 4 + 1)
}
REFCOL = "#666666"

# ---- text -----------------------------------------------------------------------------------
RTXT = isnan(RMIN) ? "" : (RMIN == RMAX ? sprintf("R = %d replicates per point", RMIN) \
                                         : sprintf("R = %d–%d replicates per point", RMIN, RMAX))
KTXT = (!MULTIK && !isnan(KFIRST)) ? sprintf(", K = %g samples per estimate", KFIRST) : ""
STEPTXT = (isnan(STEPMAX) || NSTEPS_DROPPED == 0) ? "" : sprintf("; trajectory file: last step (%d) only", STEPMAX)
STEPTXT = STEPTXT . (NDROP > 0 ? sprintf("; %d missing / non-positive value(s) not drawn", NDROP) : "")
esc(s) = strstrt(s, "_") == 0 ? s : s[1:strstrt(s, "_") - 1] . "\\_" . esc(s[strstrt(s, "_") + 1:])
STEPTXT = STEPTXT . ((XFROMCOL && NXBAD > 0) ? sprintf("; %d row(s) with %s 0 / empty not drawn", NXBAD, esc(SWEEP_XCOL)) : "")
SUB = sprintf("%s%s; squared bias and variance %s %s%s", RTXT, KTXT, \
              RIGHTVM ? "vs" : "at an equal evaluation budget against", SWEEP_XSYM, STEPTXT)
FIGTITLE = SWEEP_TITLE . ":  " . ((NP == 1) ? UP[1] : sprintf("%s  (%d problems)", IN, NP))

decades(lo, hi) = log10(hi) - log10(lo)
yfmt(lo, hi) = decades(lo, hi) >= 1.2 ? "10^{%L}" : "%.2g"
# Tics of a log axis TAX on [TLO, THI]: powers of ten when it spans ≥ 2.5 decades; otherwise
# mantissas 1, 2, 5 (or 1 … 9 when that gives < 3 tics): below a decade gnuplot would label no
# tic at all, and below 2.5 decades only one or two.
array TMANT[9] = [1, 2, 5, 3, 4, 6, 7, 8, 9]
LOGTICS = 'TL = ""; TC = 0; TE0 = floor(log10(TLO)); TE1 = ceil(log10(THI)); ' . \
  'do for [TNM in "3 9"] { if (TC < 3) { TL = ""; TC = 0; ' . \
  'do for [te=TE0:TE1] { do for [tm=1:int(TNM)] { tv = TMANT[tm] * 10.0**te; ' . \
  'if (tv >= TLO && tv <= THI) { TL = TL . sprintf("%s\"%g\" %.10g", (TC ? ", " : ""), tv, tv); TC = TC + 1 } } } } }; ' . \
  'if (decades(TLO, THI) >= 2.5 || TC < 2) { eval "set " . TAX . "tics autofreq"; eval "set format " . TAX . " \"" . yfmt(TLO, THI) . "\"" } ' . \
  'else { eval "set format " . TAX . " \"%g\""; eval "set " . TAX . "tics (" . TL . ")" }'

# x: tau on a log axis, tics at the swept values when there are few
XLO = TMIN / 1.5; XHI = TMAX * 1.5
if (TMAX / TMIN < 2) { XLO = TMIN / 2.5; XHI = TMAX * 2.5 }
XTICS = ""
# (x from a column: continuous values, e.g. mean evaluations; ordinary log tics, set per row below)
if (NT <= 10 && !XFROMCOL) {
    # a value closer than ~25 px to the previous labelled one gets an unlabelled tic
    XLAST = NaN
    do for [t=1:NT] {
        lab = (isnan(XLAST) || log10(UT[t] / XLAST) >= 0.07 * log10(XHI / XLO)) ? 1 : 0
        XTICS = XTICS . sprintf("%s\"%s\" %.10g", (t > 1 ? ", " : ""), lab ? sprintf("%g", UT[t]) : "", UT[t])
        if (lab) { XLAST = UT[t] }
    }
}

set multiplot

set logscale x 10
set logscale y 10
set grid xtics ytics lc rgb "#dddddd" lw 1
set border 3 lc rgb "#555555"
set tics nomirror out scale 0.6
set xlabel SWEEP_XLABEL offset 0, 0.3
unset title
set bars 0.6

L1 = 80; R1 = 440; L2 = 540; R2 = 850
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
    set label 904 "squared bias (noise-corrected)" at screen sx((L1+R1)/2), sy(TOP - 8) center font "sans,10"
    set label 905 (RIGHTVM ? "variance of one estimate (± standard error)" : "variance × evaluations per estimate (equal budget)") at screen sx((L2+R2)/2), sy(TOP - 8) center font "sans,10"

    set tmargin at screen sy(TOP); set bmargin at screen sy(BOT)
    set xrange [XLO:XHI]
    if (strlen(XTICS) > 0) { eval "set xtics (" . XTICS . ")" } else { set xtics autofreq; set format x "%g" }
    if (XFROMCOL) { TLO = XLO; THI = XHI; TAX = "x"; eval LOGTICS }

    # -- left panel: bias2 ---------------------------------------------------------------------
    set lmargin at screen sx(L1); set rmargin at screen sx(R1)
    set ylabel "‖E ĝ − g*‖²  (bias2 = ‖ḡ − g*‖² − var\\_sum/R)" offset 0.5, 0
    CMD = ""
    do for [s=1:NS] {
        g = (p-1)*NS + s
        if (CNTB[g] > 0) {
            b = BLK[g]
            CMD = CMD . sprintf("%s$DATA index %d using 3:6 with lines lt %d lw 1 dt 3 notitle", (strlen(CMD) ? ", " : ""), b, s)
            CMD = CMD . sprintf(", $DATA index %d using 3:4 with lines lt %d notitle", b, s)
            CMD = CMD . sprintf(", $DATA index %d using 3:($5 == 1 ? $4 : NaN) with points lt %d notitle", b, s)
            # open symbol: a white disc under it hides the line through it
            CMD = CMD . sprintf(", $DATA index %d using 3:($5 == 0 ? $4 : NaN) with points pt %d ps %.2f lc rgb 'white' notitle", b, PT[(s-1) % 8 + 1], 1.0 * PSCALE)
            CMD = CMD . sprintf(", $DATA index %d using 3:($5 == 0 ? $4 : NaN) with points lt %d pt %d lw 1.3 notitle", b, s, PTO[(s-1) % 8 + 1])
            if (NNF[p] > 0) {
                CMD = CMD . sprintf(", $DATA index %d using 3:($10 == 2 ? $4 : NaN) with points pt 6 ps 1.8*PSCALE lc rgb 'black' notitle", b)
            }
        }
    }
    if (strlen(CMD) > 0) {
        # floors far below every point are cut at two decades below the lowest point; when
        # all of them are that far below, the panel ends under the points and says so
        FLOUT = !isnan(FLMAX[p]) && FLMAX[p] < YPLOP[p] / 100.0
        BY0 = FLOUT ? YPLOP[p] / 3.0 : fmax(BLOP[p], YPLOP[p] / 100.0) / 2; BY1 = BHIP[p] * 2
        if (FLOUT) {
            set label 908 sprintf("noise floors var\\_sum/R ≤ %.2g: far below this panel", FLMAX[p]) \
                at graph 0.98, graph 0.04 right font "sans,9" tc rgb "#555555"
        }
        set yrange [BY0 : BY1]
        TLO = BY0; THI = BY1; TAX = "y"; eval LOGTICS
        set tics nomirror out scale 0.6
    } else {
        set yrange [1:10]; unset ytics
        set label 906 "no bias2 values" at graph 0.5, 0.5 center
        CMD = "NaN notitle"
    }
    eval "plot " . CMD
    unset label
    set ytics

    # -- right panel: work_norm_var, unbiased references ---------------------------------------
    set lmargin at screen sx(L2); set rmargin at screen sx(R2)
    set ylabel (RIGHTVM ? "var\\_mean  (mean over coordinates of the variance)" : "var\\_mean × evaluations per estimate  (work\\_norm\\_var)") offset 0.5, 0
    # y range over series and non-zero references; the "≈ 0" level one decade below
    NZREF = 0
    do for [j=1:NR] { if (!isnan(RW[(p-1)*NR + j]) && RZ[(p-1)*NR + j]) { NZREF = NZREF + 1 } }
    WLO = isnan(WLOP[p]) ? 1 : WLOP[p]; WHI = isnan(WHIP[p]) ? 10 : WHIP[p]
    ZPOS = WLO / 10.0
    YLO = (NZREF > 0 ? ZPOS : WLO) / 2.0; YHI = WHI * 2.0
    set yrange [YLO:YHI]
    TLO = YLO; THI = YHI; TAX = "y"; eval LOGTICS
    CMD = ""
    do for [s=1:NS] {
        g = (p-1)*NS + s
        if (CNTW[g] > 0) {
            b = BLK[g]
            if (SWEEP_GUIDE && GX1[g] > GX0[g]) {
                CMD = CMD . sprintf("%s(x >= %.10g && x <= %.10g ? %.10g / x : NaN) with lines lt %d lw 1 dt 3 notitle", \
                    (strlen(CMD) ? ", " : ""), GX0[g] / (1 + 1e-9), GX1[g] * (1 + 1e-9), GY0[g] * GX0[g], s)
            }
            CMD = CMD . sprintf("%s$DATA index %d using 3:7:8:9 with yerrorlines lt %d notitle", (strlen(CMD) ? ", " : ""), b, s)
            if (NNF[p] > 0) {
                CMD = CMD . sprintf(", $DATA index %d using 3:($10 == 2 ? $7 : NaN) with points pt 6 ps 1.8*PSCALE lc rgb 'black' notitle", b)
            }
            if (XFROMCOL && (SMK[s] || SHK[s])) {
                CMD = CMD . sprintf(", $DATA index %d using 3:7:(ptlab($11, $12, %d)) with labels offset 0, 0.85 font 'sans,7' tc lt %d notitle", b, s, s)
            }
        }
    }
    # reference lines, and their labels in the right margin: sorted by value, then pushed up
    # so that neighbours are at least GAP pixels apart (with a leader when a label moved)
    if (NREFP[p] > 0) {
        array RV[NR]; array RJ[NR]
        n = 0
        do for [j=1:NR] {
            g = (p-1)*NR + j
            if (!isnan(RW[g])) { n = n + 1; RV[n] = RZ[g] ? ZPOS : RW[g]; RJ[n] = j }
        }
        do for [a=1:n] {
            do for [b=a+1:n] { if (RV[b] < RV[a]) { t = RV[a]; RV[a] = RV[b]; RV[b] = t; t = RJ[a]; RJ[a] = RJ[b]; RJ[b] = t } }
        }
        ypx(v) = BOT - (log10(v) - log10(YLO)) / (log10(YHI) - log10(YLO)) * PANEL_PX
        GAP = 13
        array LY[n]
        do for [a=1:n] {
            LY[a] = ypx(RV[a])
            # a two-line label (an exact reference) needs more room above it
            if (a > 1 && LY[a] > LY[a-1] - GAP * (1 + 0.6 * RZ[(p-1)*NR + RJ[a-1]])) { LY[a] = LY[a-1] - GAP * (1 + 0.6 * RZ[(p-1)*NR + RJ[a-1]]) }
        }
        # if the stack ran over the top, push it back down from the top
        if (n > 0 && LY[n] < TOP + 5) {
            LY[n] = TOP + 5
            do for [a=n-1:1:-1] { if (LY[a] < LY[a+1] + GAP) { LY[a] = LY[a+1] + GAP } }
        }
        do for [a=1:n] {
            g = (p-1)*NR + RJ[a]
            CMD = CMD . sprintf("%s%.10g with lines lc rgb REFCOL lw 1.3 dt 2 notitle", (strlen(CMD) ? ", " : ""), RV[a])
            nm = UR[RJ[a]] . (RZ[g] ? (isnan(REV[g]) ? " = 0" : sprintf(" = 0\n(%g evaluations)", REV[g])) : "")
            eval sprintf("set label %d nm at screen sx(R2 + 14), sy(LY[a]) left font 'sans,9' tc rgb '#333333' noenhanced", 920 + a)
            eval sprintf("set arrow %d from screen sx(R2), sy(ypx(RV[a])) to screen sx(R2 + 12), sy(LY[a]) nohead lc rgb '#999999' lw 1", 920 + a)
        }
    }
    if (NZREF > 0) {
        set label 907 "≈ 0" at graph 0.01, first ZPOS left offset 0.3, 0.6 font "sans,9" tc rgb "#666666"
    }
    if (strlen(CMD) == 0) {
        set label 906 (RIGHTVM ? "no var\\_mean values" : "no work\\_norm\\_var values") at graph 0.5, 0.5 center
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
    box lc rgb "#bbbbbb"
CMD = ""
do for [s=1:NS] {
    if (SHOWN[s]) {
        CMD = CMD . sprintf("%sNaN lt %d with linespoints title STITLE[%d] noenhanced", (strlen(CMD) ? ", " : ""), s, s)
    }
}
CMD = CMD . ", NaN with lines lc rgb '#444444' lw 1 dt 3 title T_FLOOR"
if (NUNDALL > 0) { CMD = CMD . ", NaN with points pt 6 lw 1.3 lc rgb '#444444' title T_UND" }
if (NREFALL > 0) { CMD = CMD . ", NaN with lines lc rgb REFCOL lw 1.3 dt 2 title T_REF" }
if (NGUIDE > 0) { CMD = CMD . ", NaN with lines lc rgb '#444444' lw 1 dt 3 title T_GUIDE" }
if (NNFALL > 0) { CMD = CMD . ", NaN with points pt 6 ps 1.8*PSCALE lc rgb 'black' title T_NF" }
eval "plot " . CMD
unset multiplot
unset output
