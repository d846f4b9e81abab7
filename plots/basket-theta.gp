# basket-theta.gp — basket.gp with x = θ (prob_mean, the mean unit probability at the point
# measured) instead of the step: the variance of every basket estimator as a training trajectory
# sweeps θ across (0, 1), one panel per K labelled "n = K". See basket.gp for everything else.
#
#   gnuplot -c plots/basket-theta.gp IN.basket.csv OUT.png png
#   gnuplot -c plots/basket-theta.gp IN.basket.csv OUT.svg svg
#
# basket.gp is called from the directory of this script (ARG0), so this works from any working
# directory.
if (ARGC < 2) {
    print "usage: gnuplot -c plots/basket-theta.gp IN.basket.csv OUT.(png|svg) [png|svg]"
    exit status 2
}
BASKET_X = "theta"
BASKET_DIR = (strstrt(ARG0, "/") > 0) ? ARG0[1:strlen(ARG0) - strlen("basket-theta.gp")] : ""
call BASKET_DIR . "basket.gp" ARG1 ARG2 (ARGC >= 3 ? ARG3 : "")
