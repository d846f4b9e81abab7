# cost-sweep.gp — tau-sweep.gp with x = cost: bias and variance of one estimate against the
# evaluations per estimate (the `f_evals` column; for issue 7's inclusive-KL estimators the
# log-likelihood evaluations), so that estimators with different cost knobs compare at an equal
# cost: rws-wake over K, smc-* over the pool size M at a fixed K (or over both).
# See tau-sweep.gp for everything else.
#
#   gnuplot -c plots/cost-sweep.gp IN.csv OUT.png png
#   gnuplot -c plots/cost-sweep.gp IN.csv OUT.svg svg
#
# x = f_evals (log axis); a series is the estimator spec with its M option (and a pinned K) removed
# ("smc-wake-a:kernel=gibbs", "rws-wake"), not split by K: its points, over M and K, are joined in
# order of cost and labelled in the right panel with the M and / or K that the series varies.
# Every usable row is a point (no references); rows with f_evals empty or 0 are not drawn (counted
# in the subtitle).
#   left   bias2 with its noise floor var_sum/R, as in tau-sweep.gp;
#   right  var_mean ± var_mean_se (the cost is already on the x axis).
# Unusable input (empty file, missing columns, no row with f_evals > 0) gives a placeholder figure,
# a note on stderr and exit status 0.
#
# tau-sweep.gp is called from the directory of this script (ARG0), so this works from any working
# directory.
if (ARGC < 2) {
    print "usage: gnuplot -c plots/cost-sweep.gp IN.csv OUT.(png|svg) [png|svg]"
    exit status 2
}
SWEEP_KEY = "M"
SWEEP_XCOL = "f_evals"
SWEEP_RIGHT = "var_mean"
SWEEP_XLABEL = "cost: evaluations per estimate (f\\_evals)"
SWEEP_XSYM = "cost"
SWEEP_TITLE = "equal-cost comparison"
SWEEP_NAME = ARG0
SWEEP_DIR = (strstrt(ARG0, "/") > 0) ? ARG0[1:strlen(ARG0) - strlen("cost-sweep.gp")] : ""
call SWEEP_DIR . "tau-sweep.gp" ARG1 ARG2 (ARGC >= 3 ? ARG3 : "")
