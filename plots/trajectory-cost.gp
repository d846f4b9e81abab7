# trajectory-cost.gp — trajectory.gp with x = the cumulative cost of the training estimator (the
# trajectory file's `f_evals` column: evaluations of f so far; for issue 7's inclusive-KL
# estimators, log-likelihood evaluations) instead of the step, log axis in both panels, so that
# estimators with different costs per step compare at an equal budget. The start (0 evaluations)
# is drawn on a tic named "start". See trajectory.gp for everything else.
#
#   gnuplot -c plots/trajectory-cost.gp IN.csv OUT.png png
#   gnuplot -c plots/trajectory-cost.gp IN.csv OUT.svg svg
#
# An empty file, a summary-schema file or one without f_evals gives a placeholder figure, a note on
# stderr and exit status 0. trajectory.gp is called from the directory of this script (ARG0), so
# this works from any working directory.
if (ARGC < 2) {
    print "usage: gnuplot -c plots/trajectory-cost.gp IN.csv OUT.(png|svg) [png|svg]"
    exit status 2
}
TRAJ_X = "f_evals"
TRAJ_XLABEL = "evaluations of f, cumulative"
TRAJ_TITLE = "optimisation trajectories at equal cost"
TRAJ_NAME = ARG0
TRAJ_DIR = (strstrt(ARG0, "/") > 0) ? ARG0[1:strlen(ARG0) - strlen("trajectory-cost.gp")] : ""
call TRAJ_DIR . "trajectory.gp" ARG1 ARG2 (ARGC >= 3 ? ARG3 : "")
