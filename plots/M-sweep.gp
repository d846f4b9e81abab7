# M-sweep.gp — tau-sweep.gp with the pool size M swept instead of the temperature: bias and
# variance of an estimator with an `M` option (issue 7's inclusive-KL estimators, e.g.
# smc-wake-a:M=16,kernel=gibbs, smc-naive:M=64) against M. See tau-sweep.gp for everything else.
#
#   gnuplot -c plots/M-sweep.gp IN.csv OUT.png png
#   gnuplot -c plots/M-sweep.gp IN.csv OUT.svg svg
#
# x = M parsed from the estimator spec ("M=VALUE"), log axis, tics at the values; a series is the
# spec with M removed (plus K when the file holds several K); rows without an M option (rws-wake,
# or any other estimator) are references: grey dashed horizontal lines in the right panel.
#   left   bias2 with its noise floor var_sum/R, as in tau-sweep.gp;
#   right  var_mean ± var_mean_se (not work_norm_var: the question is whether the variance of one
#          estimate falls as 1/M), with a light dotted guide ∝ 1/M through each series' first
#          (smallest-M) point, drawn over the series' M range.
# Unusable input (empty file, missing columns, no row with an M option) gives a placeholder figure,
# a note on stderr and exit status 0.
#
# tau-sweep.gp is called from the directory of this script (ARG0), so this works from any working
# directory.
if (ARGC < 2) {
    print "usage: gnuplot -c plots/M-sweep.gp IN.csv OUT.(png|svg) [png|svg]"
    exit status 2
}
SWEEP_KEY = "M"
SWEEP_RIGHT = "var_mean"
SWEEP_GUIDE = 1
SWEEP_XLABEL = "pool size M"
SWEEP_XSYM = "M"
SWEEP_TITLE = "pool-size sweep"
SWEEP_NAME = ARG0
SWEEP_DIR = (strstrt(ARG0, "/") > 0) ? ARG0[1:strlen(ARG0) - strlen("M-sweep.gp")] : ""
call SWEEP_DIR . "tau-sweep.gp" ARG1 ARG2 (ARGC >= 3 ? ARG3 : "")
