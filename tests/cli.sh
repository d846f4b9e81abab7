#!/bin/sh
# End-to-end tests of the gradvar command line: exit codes, error messages, output files,
# determinism across thread counts, partial runs.  GRADVAR = path to the binary.
G=${GRADVAR:-./gradvar}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "  FAIL: $*"; }

# expect CODE PATTERN CMD... : exit status CODE and PATTERN (grep -E) somewhere in stdout+stderr
expect() {
    code=$1 pat=$2
    shift 2
    "$@" >"$T/out" 2>&1
    rc=$?
    if [ "$rc" -ne "$code" ]; then bad "'$*' exited $rc, expected $code: $(head -c 300 "$T/out")"; return; fi
    if [ -n "$pat" ] && ! grep -Eq -- "$pat" "$T/out"; then bad "'$*' output lacks /$pat/: $(head -c 300 "$T/out")"; return; fi
    ok
}

Q=bernoulli-quadratic:D=5,t=0.3,p=0.3
expect 0 "gradvar [0-9]" $G --version
expect 0 "usage" $G --help
for c in list exact run describe bench; do expect 0 "usage" $G $c --help; done
expect 2 "valid commands: bench, describe, exact, list, run" $G frobnicate
expect 2 "usage" $G
expect 0 "rloo.*unbiased" $G list estimators
expect 0 "bernoulli-quadratic" $G list problems
expect 2 "valid: estimators, problems" $G list things

# unknown names list the valid ones
expect 2 "unknown problem 'nope'; valid problems: .*bernoulli-quadratic" $G run -p nope -e rloo -K 2 -R 10
expect 2 "unknown estimator 'nope'; valid estimators: .*rloo" $G run -p $Q -e nope -K 2 -R 10
expect 2 "unknown estimator 'nope'" $G run -p $Q -e rloo,nope -K 2 -R 10
# unknown and malformed option keys name the key and the valid keys
expect 2 "unknown option 'Q' for problem 'bernoulli-quadratic'; valid options: preset, D, t, p, logit" $G run -p bernoulli-quadratic:Q=1 -e rloo -K 2 -R 10
expect 2 "unknown option 'tau' for estimator 'rloo'" $G run -p $Q -e rloo:tau=1 -K 2 -R 10
expect 2 "decay=2 .*must be in \[0, 1\]" $G run -p $Q -e reinforce-ema:decay=2 -K 2 -R 10
expect 2 "D=abc .*not an integer" $G run -p bernoulli-quadratic:D=abc -e rloo -K 2 -R 10
expect 2 "not key=value" $G run -p bernoulli-quadratic:D -e rloo -K 2 -R 10
expect 2 "p=0.5/x .*not a number" $G run -p bernoulli-quadratic:D=2,p=0.5/x -e rloo -K 2 -R 10
expect 2 "has 3 values; give 1 or D=2" $G run -p bernoulli-quadratic:D=2,p=0.1/0.2/0.3 -e rloo -K 2 -R 10
expect 2 "unknown preset 'x'; valid presets" $G exact -p bernoulli-quadratic:preset=x
expect 2 "row of unit 0 sums to" $G exact -p categorical-linear:D=1,C=2,p=0.5/0.6
expect 2 "-R 1: expected an integer" $G run -p $Q -e rloo -K 2 -R 1
expect 2 "-K 0" $G run -p $Q -e rloo -K 0 -R 10
expect 2 "unknown option" $G run -p $Q -e rloo -K 2 --frobnicate
expect 2 "unknown generator" $G run -p $Q -e rloo -K 2 -R 10 --rng nope
expect 2 "needs at least one estimator" $G run -p $Q

# incompatible: exit 2 for a single pair, a row with the reason otherwise
expect 2 "incompatible: rloo needs K >= 2 \(got K=1\)" $G run -p $Q -e rloo -K 1 -R 10
expect 0 "rloo,expectation,1,0,.*,incompatible,rloo needs K >= 2" $G run -p $Q -e rloo -K 1,2 -R 10 -q

# enumeration limit
expect 2 "1.049e\+06 joint states, above the enumeration limit 1000 .*--max-states" $G exact -p bernoulli-coupled:D=20 --max-states 1000
expect 0 "method,enumeration" $G exact -p bernoulli-coupled:D=8
expect 0 "check_enumeration_max_abs_diff" $G exact -p categorical-abs:D=3,C=4 --check
expect 0 "" $G run -p bernoulli-coupled:D=12 -p $Q -e rloo -K 2 -R 10 --max-states 100 -o "$T/lim.csv"
grep -q "error,\"exact reference: problem bernoulli-coupled:D=12 has 4096 joint states" "$T/lim.csv" && ok || bad "over-limit problem in a multi-problem run should give error rows"

# output files: CSV + meta, atomically (no temporary files left), header first
expect 0 "" $G run -p $Q -e reinforce,rloo -K 2,4 -R 300 -o "$T/a.csv" --per-coord -q
[ "$(head -1 "$T/a.csv" | cut -d, -f1-4)" = "problem,estimator,objective,K" ] && ok || bad "CSV header"
[ "$(wc -l <"$T/a.csv")" -eq 5 ] && ok || bad "expected 4 rows + header in a.csv"
grep -q "^status=complete" "$T/a.meta" && grep -q "^gsl_version=" "$T/a.meta" && grep -q "^seed=1" "$T/a.meta" && ok || bad "meta sidecar"
[ "$(wc -l <"$T/a.coord.csv")" -eq 21 ] && ok || bad "per-coordinate rows: 4 cells x 5 coordinates + header"
ls "$T" | grep -q tmp && bad "temporary file left behind" || ok

# determinism: same seed => byte-identical CSV for 1 and 2 threads (timing column left empty)
for th in 1 2; do
    $G run -p $Q -p categorical-linear:alpha=10 -p bernoulli-coupled:D=10 -e reinforce,reinforce-ema,reinforce-mean,reinforce-optimal,rloo \
        -K 1,3 -R 3000 --seed 42 --no-timing --threads $th -q -o "$T/det$th.csv" || bad "determinism run failed"
done
cmp -s "$T/det1.csv" "$T/det2.csv" && ok || bad "CSV differs between 1 and 2 threads"
OMP_NUM_THREADS=2 $G run -p $Q -e rloo -K 2 -R 3000 --seed 43 --no-timing -q >"$T/s2.csv"
OMP_NUM_THREADS=1 $G run -p $Q -e rloo -K 2 -R 3000 --seed 43 --no-timing -q >"$T/s1.csv"
cmp -s "$T/s1.csv" "$T/s2.csv" && ok || bad "stdout CSV differs between OMP_NUM_THREADS=1 and 2"
OMP_NUM_THREADS=1 $G run -p $Q -e rloo -K 2 -R 3000 --seed 44 --no-timing -q >"$T/s3.csv"
cmp -s "$T/s1.csv" "$T/s3.csv" && bad "different seeds gave identical output" || ok
# option order does not change the stream (canonical specs)
$G run -p bernoulli-quadratic:p=0.3,t=0.3,D=5 -e rloo -K 2 -R 3000 --seed 43 --no-timing -q >"$T/s4.csv"
cmp -s "$T/s1.csv" "$T/s4.csv" && ok || bad "option order changed the results"

# describe and --params
expect 0 "valid|options:" $G describe -p categorical-linear:D=2,C=3 --params "$T/params.csv"
[ "$(head -1 "$T/params.csv")" = "unit,class,coord,eta,prob" ] && [ "$(wc -l <"$T/params.csv")" -eq 7 ] && ok || bad "describe --params"

# suites: errors name file and line; a good suite writes CSVs and REPORT.md
printf '# c\nq1 -p %s -e rloo -K 2 -R 100\nq2 -p %s -e nope -K 2\n' "$Q" "$Q" >"$T/bad.suite"
expect 2 "bad.suite:3 \(q2\): unknown estimator 'nope'" $G bench "$T/bad.suite" --out "$T/r0"
[ -e "$T/r0/q1.csv" ] && bad "a suite with a bad line must not run anything" || ok
printf 'q1 -p %s -e rloo -K 2 -R 100\nq1 -p %s -e rloo -K 2\n' "$Q" "$Q" >"$T/dup.suite"
expect 2 "already used on line 1" $G bench "$T/dup.suite" --out "$T/r1"
printf 'q1 -p %s \\\n   -e rloo,reinforce -K 1,2 -R 200\n' "$Q" >"$T/good.suite"
expect 0 "" $G bench "$T/good.suite" --out "$T/r2" -q
[ -s "$T/r2/q1.csv" ] && [ -s "$T/r2/q1.meta" ] && grep -q "^## q1" "$T/r2/REPORT.md" && ok || bad "bench outputs"

printf 'th -p bernoulli-coupled:D=6 -e tokui-sato,reinforce-optimal -K 1,2 -R 2000\n' >"$T/th.suite"
expect 0 "" $G bench "$T/th.suite" --out "$T/r5" -q
[ "$(grep -c '^| `bernoulli-coupled:D=6` | [12] | .* | yes |$' "$T/r5/REPORT.md")" -eq 2 ] && ok || bad "Tokui-Sato theorem table in REPORT.md"

# partial runs keep finished rows: interrupt a run after its first cell
# (SIGTERM: a non-interactive shell starts background jobs with SIGINT ignored; timeout bounds
# the run if the signal is lost.)
# cells run in order: (K=2) takes milliseconds, (K=1000000) minutes
timeout 180 $G run -p $Q -e reinforce -K 2,1000000 -R 1000 -o "$T/part.csv" -q &
pid=$!
i=0
while [ ! -s "$T/part.meta" ] && [ $i -lt 900 ]; do sleep 0.1; i=$((i + 1)); done
kill -TERM $pid 2>/dev/null
wait $pid 2>/dev/null
[ "$(wc -l <"$T/part.csv")" -ge 2 ] && grep -q "^status=partial" "$T/part.meta" && ok || bad "partial run lost its finished rows"

# train: usage errors, output files, determinism
C=count-quadratic:preset=poisson5,rate=1,t=8,support=80
expect 0 "usage: gradvar train" $G train --help
expect 2 "needs --steps" $G train -p $C -e rloo
expect 2 "valid optimisers are sgd, rmsprop, adam" $G train -p $C -e rloo --steps 10 --opt lbfgs
expect 2 "unknown estimator 'nope'" $G train -p $C -e nope --steps 10
expect 2 "rloo needs K >= 2" $G train -p $C -e rloo -K 1 --steps 10
expect 2 "single training estimator" $G train -p $C -e rloo,tokui-sato --basket rloo --steps 10
expect 2 "gengs supports count units" $G train -p bernoulli-quadratic:D=3 -e gengs --steps 10
expect 0 "" $G train -p $C -e rloo,tokui-sato -e gengs:tau=1,M=30,anneal=0.01 -K 2 --steps 200 --lr 0.05 --every 50 -o "$T/tr.csv" -q --no-timing
[ "$(head -1 "$T/tr.csv")" = "problem,estimator,K,seed,step,objective,grad_norm,param_mean,prob_mean,f_evals,ftilde_evals,grad_evals,seconds,train_value,train_logml,test_value,test_logml,status,message" ] && ok || bad "trajectory header"
[ "$(grep -c ',ok,' "$T/tr.csv")" -eq 15 ] && ok || bad "3 trajectories x 5 recorded steps expected"
grep -q '^"count-quadratic.*",tokui-sato,2,1,200,7.75' "$T/tr.csv" && ok || bad "tokui-sato should reach the optimum 7.75 in 200 steps"
expect 0 "" $G train -p $C -e rloo -K 2 --steps 40 --every 20 --basket reinforce,tokui-sato --basket-R 100 -o "$T/tb.csv" -q --no-timing --threads 1
[ "$(wc -l <"$T/tb.basket.csv")" -eq 7 ] && ok || bad "basket: 3 recorded steps x 2 estimators + header"
mv "$T/tb.basket.csv" "$T/tb1.basket.csv"
$G train -p $C -e rloo -K 2 --steps 40 --every 20 --basket reinforce,tokui-sato --basket-R 100 -o "$T/tb.csv" -q --no-timing --threads 2
cmp -s "$T/tb.basket.csv" "$T/tb1.basket.csv" && ok || bad "basket differs between 1 and 2 threads"
printf 'x figures=nope -p %s -e rloo\n' "$Q" >"$T/f.suite"
expect 2 "unknown figure kind 'nope'; valid kinds" $G bench "$T/f.suite" --out "$T/r3"
expect 2 "unknown figure kind 'nope'; valid kinds" $G bench "$T/f.suite" --check
[ ! -e "$T/r3/REPORT.md" ] && ok || bad "bench: an invalid suite wrote a report"
expect 0 "bench/sbn-full.suite: 2 entries, all valid" $G bench bench/sbn-full.suite --check
printf 'x figures=learning -p %s -e rloo\n' "$Q" >"$T/l.suite"
expect 2 "figure learning needs a train entry" $G bench "$T/l.suite" --check
printf 'x figures=trajectory train -p %s -e rloo -K 2 --steps 20\n' "$C" >"$T/t.suite"
expect 0 "" $G bench "$T/t.suite" --out "$T/r4" -q
grep -q "plots/x-trajectory.png: $T/r4/x.csv plots/trajectory.gp" "$T/r4/figures.mk" && grep -q "^| rloo | 2 | 1 | 20 | 50 |" "$T/r4/REPORT.md" && ok || bad "train entry in a suite: figures.mk and report"

# outer parameters: bernoulli-shared gives a wrt=phi row after each wrt=eta row; phi's exact
# gradient is the sum of the units' (exact prints it)
expect 0 "^0,0,-0.04499999" $G exact -p bernoulli-shared
$G run -p bernoulli-shared -e rloo,tokui-sato -K 2 -R 200 -o "$T/sh.csv" -q --no-timing
[ "$(head -1 "$T/sh.csv" | cut -d, -f7-9)" = "step,wrt,prob_mean" ] && ok || bad "summary header: step,wrt,prob_mean"
[ "$(cut -d, -f8 "$T/sh.csv" | tr '\n' ' ')" = "wrt eta phi eta phi " ] && ok || bad "bernoulli-shared rows: eta then phi per cell"
grep -Eq '^bernoulli-shared,tokui-sato,expectation,2,200,1,,phi,0.5,8,0,0,[0-9.]+,,0.045,0,' "$T/sh.csv" && ok || bad "tokui-sato phi row (exact, zero variance)"
# distinct_evals: one f evaluation per estimate is one distinct point; tokui-sato's 4 points per
# sample are distinct within a sample, so between 4 and 8 of its 8 are distinct
[ "$(head -1 "$T/sh.csv" | cut -d, -f10-13)" = "f_evals,ftilde_evals,grad_evals,distinct_evals" ] && ok || bad "distinct_evals column"
$G run -p $Q -e reinforce -K 1 -R 100 --no-timing | grep -q ',1,0,0,1,,' && ok || bad "reinforce K=1: distinct_evals 1"
awk -F, '$2 == "tokui-sato" && !($13 >= 4 && $13 <= 8) { bad = 1 } END { exit bad }' "$T/sh.csv" && ok || bad "tokui-sato distinct_evals in [4, 8]"
$G train -p bernoulli-shared -e disarm -K 2 --steps 50 --every 50 --lr 0.1 -o "$T/shtr.csv" -q --no-timing
grep -q '^bernoulli-shared,disarm,2,1,50,' "$T/shtr.csv" && [ "$(cut -d, -f8 "$T/shtr.csv" | tail -1)" != "0" ] && ok || bad "train moves phi"
# --until-prob and --basket-K
$G train -p bernoulli-quadratic:preset=d1-t0.49,p=0.1 -e reinforce-optimal --maximise --opt sgd --lr 1 --steps 5000 \
    --until-prob 0.9 --every 500 -K 2 --basket rloo,arm --basket-K 2,3 --basket-R 50 -o "$T/ut.csv" -q --no-timing
[ "$(tail -1 "$T/ut.csv" | sed 's/^"[^"]*",//' | cut -d, -f4)" = "1329" ] && ok || bad "--until-prob 0.9 should stop at step 1329"
[ "$(grep -c ',arm,expectation,3,0,.*incompatible' "$T/ut.basket.csv")" -eq 4 ] && ok || bad "arm at K=3 gives incompatible basket rows"
[ "$(grep -c ',rloo,expectation,3,50,' "$T/ut.basket.csv")" -eq 4 ] && ok || bad "rloo at basket K=3 on 4 recorded steps"
expect 2 "--basket-K needs --basket" $G train -p $C -e rloo --steps 10 --basket-K 2,4
expect 2 "arm needs K" $G train -p $Q -e rloo --steps 10 --basket arm --basket-K 3
printf 'x figures=basket,basket-theta train -p %s -e rloo -K 2 --steps 20 --basket rloo --basket-R 20\n' "$C" >"$T/b.suite"
expect 0 "" $G bench "$T/b.suite" --out "$T/r5" -q
grep -q "plots/x-basket.png: $T/r5/x.basket.csv plots/basket.gp" "$T/r5/figures.mk" && grep -q "^| rloo | 2 | " "$T/r5/REPORT.md" \
    && grep -q "Gradient basket" "$T/r5/REPORT.md" && ok || bad "basket figure rules and basket table"

# an estimator spec may pin its K: one row at that K whatever -K says; the option leaves the spec
A=categorical-abs:D=2,C=3,seed=1
$G run -p $A -e tokui-sato:K=1 -e reinforce,rloo -K 5 -R 50 -o "$T/pin.csv" -q --no-timing
[ "$(grep -c '' "$T/pin.csv")" -eq 4 ] && grep -q ',tokui-sato,expectation,1,' "$T/pin.csv" \
    && grep -q ',rloo,expectation,5,' "$T/pin.csv" && ok || bad "pinned K: tokui-sato at K=1, the others at -K"
expect 2 "K=0: expected an integer" $G run -p $A -e tokui-sato:K=0 -R 10
expect 2 "K=x: expected an integer" $G train -p $A -e rloo:K=x --steps 5
# train with several K: one trajectory per (estimator, K); an incompatible pair is a status row
$G train -p $A -e rloo,tokui-sato -K 1,3 --steps 20 --every 10 -o "$T/mk.csv" -q --no-timing
grep -q ',rloo,1,1,0,.*,incompatible,rloo needs K >= 2' "$T/mk.csv" && [ "$(grep -c ',rloo,3,1,' "$T/mk.csv")" -eq 3 ] \
    && [ "$(grep -c ',tokui-sato,1,1,' "$T/mk.csv")" -eq 3 ] && [ "$(grep -c ',tokui-sato,3,1,' "$T/mk.csv")" -eq 3 ] \
    && ok || bad "train -K 1,3: trajectories per (estimator, K)"
expect 2 "single training K" $G train -p $A -e rloo -K 2,3 --steps 10 --basket reinforce
# --basket self: each trajectory measures its own estimator
$G train -p $A -e rloo,reinforce -K 2 --steps 20 --every 10 --basket self --basket-R 50 -o "$T/self.csv" -q --no-timing
[ "$(grep -c ',rloo,expectation,2,50,' "$T/self.basket.csv")" -eq 3 ] && [ "$(grep -c ',reinforce,expectation,2,50,' "$T/self.basket.csv")" -eq 3 ] \
    && ok || bad "--basket self: 3 rows per trajectory"
expect 2 "cannot be mixed" $G train -p $A -e rloo --steps 10 --basket self,reinforce
# figure kinds coord-var (needs --per-coord) and cosine: rules and report tables
printf 'cv figures=coord-var,cosine -p %s -e carms,rloo -K 3 -R 50 --per-coord\n' "$A" >"$T/cv.suite"
expect 0 "" $G bench "$T/cv.suite" --out "$T/r6" -q
grep -q "plots/cv-coord-var.png: $T/r6/cv.coord.csv plots/coord-var.gp" "$T/r6/figures.mk" \
    && grep -q "^Per-coordinate variance" "$T/r6/REPORT.md" && grep -q "^Cosine to the exact gradient" "$T/r6/REPORT.md" \
    && ok || bad "coord-var and cosine: figure rules and report tables"
printf 'cv figures=coord-var -p %s -e carms -K 3 -R 50\n' "$A" >"$T/cv2.suite"
expect 2 "coord-var needs a run entry with --per-coord" $G bench "$T/cv2.suite" --out "$T/r7" -q

# sbn: parameter dump and malformed parameter files, missing data
expect 0 "parameters written" $G describe -p sbn:D=3,P=4,N=2 --params "$T/sp.csv"
head -1 "$T/sp.csv" | grep -q '^param,row,col,value$' && [ "$(grep -c '' "$T/sp.csv")" -eq 35 ] && ok || bad "sbn params dump: header and 1+3+12+4+12+3 lines"
expect 0 "mean ELBO" $G describe -p "sbn:params=$T/sp.csv,N=2"
printf 'b,0,0,1\n' >"$T/bad1.csv"
expect 2 "expected the header param,row,col,value" $G exact -p "sbn:params=$T/bad1.csv"
grep -v '^W,1,2,' "$T/sp.csv" >"$T/bad2.csv"
expect 2 "W entry 6 \(row 1\) is missing" $G exact -p "sbn:params=$T/bad2.csv"
{ cat "$T/sp.csv"; echo "c,2,0,0.5"; } >"$T/bad3.csv"
expect 2 "c\[2\]\[0\] is given twice" $G exact -p "sbn:params=$T/bad3.csv"
sed 's/^c,1,0,.*/c,1,0,abc/' "$T/sp.csv" >"$T/bad4.csv"
expect 2 "bad4.csv:[0-9]+: expected c,ROW,COL,VALUE" $G exact -p "sbn:params=$T/bad4.csv"
sed 's/^b,0,0,/q,0,0,/' "$T/sp.csv" >"$T/bad5.csv"
expect 2 "unknown parameter 'q'; valid: b, W, c, A, a" $G exact -p "sbn:params=$T/bad5.csv"
expect 2 "cannot open params file" $G exact -p "sbn:params=$T/nope.csv"
sed 's/^b,1,0,.*/b,1,0,/' "$T/sp.csv" >"$T/bad6.csv"
expect 2 "bad6.csv:3: expected b,ROW,COL,VALUE" $G exact -p "sbn:params=$T/bad6.csv"
sed 's/^a,2,0,.*/a,2,0,1e308/' "$T/sp.csv" >"$T/bad7.csv"
expect 2 "\|VALUE\| <= 1e\+06" $G exact -p "sbn:params=$T/bad7.csv"
: >"$T/bad8.csv"
expect 2 "params file .*bad8.csv is empty" $G exact -p "sbn:params=$T/bad8.csv"
expect 2 "holds the encoder .*do not give enc_scale" $G exact -p "sbn:params=$T/sp.csv,enc_scale=1"
mkdir -p "$T/fm" && cp /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz "$T/fm/" 2>/dev/null
printf '\377\377\377\377\377\377\377\377' | dd of="$T/fm/t10k-images-idx3-ubyte.gz" bs=1 seek=2000000 conv=notrunc 2>/dev/null
expect 2 "is corrupt \(zlib error" $G exact -p "sbn:data=fashion-mnist,split=test,D=3,N=2,dir=$T/fm"
expect 2 "D, P and scale come from the params file" $G exact -p "sbn:params=$T/sp.csv,D=3"
expect 2 "cannot open $T/nodir/train-images-idx3-ubyte.gz.*dataset-fashion-mnist" $G exact -p "sbn:data=fashion-mnist,dir=$T/nodir"
expect 2 "size=9: valid sizes are 7 and 14" $G exact -p sbn:data=fashion-mnist,size=9
expect 2 "D=21 .*\[1, 20\]" $G exact -p sbn:D=21

# sbn training: model + encoder, minibatches with dynamic binarisation, held-out sets, several seeds
SB="sbn:data=fashion-mnist,size=7,D=4,N=5,train_n=30,test_n=20,binarise=dynamic,scale=0.1,enc_scale=0.01"
expect 0 "" $G train -p "$SB" -e rloo -e tokui-sato:K=1 -K 2 --steps 60 --every 30 --lr 0.01 --maximise --seed 1,2 \
    --basket self --basket-R 50 --no-timing --threads 1 -q -o "$T/st1.csv"
expect 0 "" $G train -p "$SB" -e rloo -e tokui-sato:K=1 -K 2 --steps 60 --every 30 --lr 0.01 --maximise --seed 1,2 \
    --basket self --basket-R 50 --no-timing --threads 2 -q -o "$T/st2.csv"
for f in .csv .seeds.csv .basket.csv; do
    cmp -s "$T/st1$f" "$T/st2$f" && ok || bad "sbn train: st1$f differs between 1 and 2 threads"
done
# every basket row, the phi-gradient's too, carries its step and seed (quoted fields dropped first)
sed 's/"[^"]*"/Q/g' "$T/st1.basket.csv" | awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
    $c["wrt"] == "phi" { n++; if ($c["step"] == "" || $c["seed"] == "") bad++ } END { exit !(n == 12 && !bad) }' && ok \
    || bad "sbn train basket: phi rows without step/seed (or not 2 x 2 x 3 of them)"
# 2 estimators x 2 seeds x 3 records, each with exact train and test values
[ "$(awk -F, 'NR > 1 && $NF == "" && $(NF-1) == "ok" && $(NF-2) != "" && $(NF-4) != ""' "$T/st1.csv" | wc -l)" -eq 12 ] && ok \
    || bad "sbn train: expected 12 ok rows with held-out values"
# the exact test log p(x) rises with training (rloo, seed 1: step 0 vs step 60)
# (fields counted from the right: the quoted problem spec holds commas)
awk -F, 'NR > 1 && $(NF-17) == "rloo" && $(NF-15) == 1 { v[$(NF-14)] = $(NF-2) } END { exit !(v[60] > v[0] + 1) }' "$T/st1.csv" && ok \
    || bad "sbn train: test log p(x) did not rise by 1 nat in 60 steps"
[ "$(grep -c '' "$T/st1.seeds.csv")" -eq 7 ] && head -1 "$T/st1.seeds.csv" | grep -q '^group,label,estimator,K,step,seeds,' && ok \
    || bad "sbn train: seeds file (header + 2 estimators x 3 steps)"
# a train suite entry over seeds: the learning figure's rule reads the seeds file, the report has the
# mean +- s.d. table (rloo's row: 2 seeds, a value with its s.d.), and the figure draws (and an empty
# seeds file gives a placeholder, exit 0)
printf 'sl figures=learning train -p %s -e rloo -K 2 --steps 20 --every 10 --lr 0.01 --maximise --seed 1,2 --basket self --basket-R 20\n' "$SB" >"$T/sl.suite"
expect 0 "" $G bench "$T/sl.suite" --out "$T/r7" -q
grep -q "plots/sl-learning.png: $T/r7/sl.seeds.csv plots/learning.gp" "$T/r7/figures.mk" \
    && grep -Eq '^\| rloo \| 2 \| 2 \| -?[0-9.]+ ± [0-9.e-]+ \|' "$T/r7/REPORT.md" && ok || bad "train suite over seeds: figures.mk rule and seeds table"
if command -v gnuplot >/dev/null; then
    gnuplot -c plots/learning.gp "$T/st1.seeds.csv" "$T/l.png" png 2>"$T/gp.err" && [ -s "$T/l.png" ] && [ ! -s "$T/gp.err" ] && ok \
        || bad "learning.gp on a seeds file: $(head -c 300 "$T/gp.err")"
    : >"$T/empty.seeds.csv"
    gnuplot -c plots/learning.gp "$T/empty.seeds.csv" "$T/l0.png" png 2>/dev/null && [ -s "$T/l0.png" ] && ok || bad "learning.gp placeholder"
fi
# --model-lr 0 keeps the model: the exact test log p(x) (a function of the model alone) stays, the test ELBO moves
expect 0 "" $G train -p "$SB" -e rloo -K 2 --steps 30 --every 30 --lr 0.01 --model-lr 0 --maximise --no-timing -q -o "$T/st3.csv"
awk -F, 'NR == 2 { a = $(NF-2); c = $(NF-3) } NR == 3 { b = $(NF-2); d = $(NF-3) } END { exit !(a == b && c != d) }' \
    "$T/st3.csv" && ok || bad "sbn train --model-lr 0: log p(x) must stay and the ELBO move"
expect 2 "train_n=4 is smaller than the batch N=5" $G train -p sbn:D=3,N=5,train_n=4 -e rloo --steps 2
expect 2 "binarise=dynamic needs data=fashion-mnist" $G train -p sbn:D=3,binarise=dynamic -e rloo --steps 2
expect 2 "test_n reads the Fashion-MNIST test file" $G exact -p sbn:data=fashion-mnist,D=3,split=test,test_n=5
expect 2 "seed 2 is given twice" $G train -p sbn:D=3 -e rloo --steps 2 --seed 2,2
expect 2 "expected S or S1,S2" $G train -p sbn:D=3 -e rloo --steps 2 --seed 1,,2
expect 2 "--model-lr x: expected a number" $G train -p sbn:D=3 -e rloo --steps 2 --model-lr x

# sbn with two latent layers: a hierarchical layout (edges); dump -> load; bad second layers;
# reinforce-optimal enumerates the joint for its baselines (refused above 2^16 states); the estimators
# for factorised layouts run layer by layer
S2=sbn:D=3,D2=2,P=4,N=2
expect 0 "hierarchical,12 edges; gradient from the problem's exact_grad" $G exact -p $S2 --check
expect 0 "check_enumeration_max_abs_diff,[0-9.e-]+" $G exact -p $S2 --check
expect 0 "^0,0,3,10,.*" $G exact -p $S2
expect 0 "hierarchical layout: 12 edges between latent units" $G describe -p $S2
expect 0 "exact reference: nested enumeration per data point" $G describe -p $S2 --params "$T/sp2.csv"
[ "$(grep -c "" "$T/sp2.csv")" -eq 51 ] && ok || bad "two-layer params dump: 35 one-layer lines + 6 V + 2 b2 + 6 B + 2 a2"
$G describe -p "sbn:params=$T/sp2.csv,N=2" --params "$T/sp2b.csv" >/dev/null 2>&1 && cmp -s "$T/sp2.csv" "$T/sp2b.csv" && ok || bad "two-layer params: dump -> load -> dump differs"
grep -v '^V,1,0,' "$T/sp2.csv" >"$T/bad9.csv"
expect 2 "V entry 2 \(row 1\) is missing" $G exact -p "sbn:params=$T/bad9.csv"
grep -v '^a2,' "$T/sp2.csv" >"$T/bad10.csv"
expect 2 "B must be D2 x D = 2 x 3 and a2 D2 long" $G exact -p "sbn:params=$T/bad10.csv"
expect 2 "D \+ D2 = 15 \+ 6 latents; at most 20" $G exact -p sbn:D=15,D2=6
expect 2 "incompatible: reinforce-optimal on a hierarchical layout enumerates the joint support .*2.097e\+06 joint states, above 65536" $G run -p sbn:D=4,D2=3,P=3,N=3 -e reinforce-optimal -K 2 -R 10
# the estimators for factorised layouts run layer by layer (estimators/layerwise.c): twice their f evaluations
expect 0 "disarm,expectation,2,.*,eta,.*,ok," $G run -p $S2 -e disarm -K 2 -R 20 -q
expect 0 "relax,expectation,2,.*,phi,.*,ok,\"layer 1: c=.*; layer 2: c=" $G run -p $S2 -e relax -K 2 -R 20 -W 5 -q
expect 0 "reinforce-optimal,expectation,2,.*,phi,.*,ok," $G run -p $S2 -e tokui-sato,reinforce-optimal -K 2 -R 20 -q
expect 0 "tokui-sato,expectation,2,.*,phi,.*,ok," $G run -p $S2 -e tokui-sato -K 2 -R 20 -q
# --save-params: the trained model and encoder, read back with params= (one and two layers)
expect 0 "" $G train -p "$SB" -e rloo -K 2 --steps 30 --every 30 --lr 0.01 --maximise --no-timing -q -o "$T/st5.csv" --save-params "$T/trained.csv"
expect 0 "" $G describe -p sbn:data=fashion-mnist,size=7,N=5,params="$T/trained.csv" --params "$T/trained2.csv"
cmp -s "$T/trained.csv" "$T/trained2.csv" && ok || bad "sbn train --save-params: load -> dump differs"
expect 0 "" $G describe -p "$SB" --params "$T/init.csv"
[ "$(grep -c '' "$T/init.csv")" -eq "$(grep -c '' "$T/trained.csv")" ] && ! cmp -s "$T/trained.csv" "$T/init.csv" && ok \
    || bad "sbn train --save-params: not the same parameters trained (initial dump equal or of another size)"
expect 2 "--save-params needs a single trajectory" $G train -p sbn:D=3 -e rloo --steps 2 --seed 1,2 --save-params "$T/x.csv"
expect 2 "--save-params: problem bernoulli-quadratic has no parameter file format" $G train -p $Q -e rloo --steps 2 --save-params "$T/x.csv"
# two layers: the model (b, W, c, b2, V) trains too, with held-out sets
expect 0 "" $G train -p sbn:D=3,D2=2,P=6,N=3,train_n=12,test_n=8,scale=0.3 -e tokui-sato:K=1 --steps 40 --every 20 --lr 0.02 \
    --maximise --no-timing -q -o "$T/st4.csv" --save-params "$T/trained4.csv"
awk -F, 'NR == 2 { a = $(NF-4) } END { exit !($(NF-1) == "ok" && $(NF-4) > a + 0.1) }' "$T/st4.csv" && ok \
    || bad "two-layer sbn train: the exact training-pool log p(x) did not rise by 0.1"
expect 0 "" $G describe -p sbn:N=3,params="$T/trained4.csv" --params "$T/trained5.csv"
cmp -s "$T/trained4.csv" "$T/trained5.csv" && ok || bad "two-layer sbn train --save-params: load -> dump differs"

# gradvar smc: the evidence of tempered SMC against the exact log p(x) on a tiny sbn-posterior
# (fixed seed: the z-scores below are fixed numbers, |z| < 4 has a false-alarm rate of 6e-5 each)
SP=sbn-posterior:D=4,P=8,N=2,scale=2
expect 0 "usage: gradvar smc" $G smc --help
expect 0 "" $G smc -p $SP -K 8 -R 1000 --config linear:T=4 --config linear:T=2,order=move-first -o "$T/ev1.csv" --no-timing --threads 1 -q
[ "$(head -1 "$T/ev1.csv")" = "problem,group,config,K,runs,seed,log_marginal,ratio_mean,ratio_se,ratio_z,log_ratio_mean,log_ratio_sd,collapsed,steps_mean,loglik_evals_mean,resample_mean,ns_per_run,status,message" ] \
    && ok || bad "smc header"
sed 's/"[^"]*"/Q/g' "$T/ev1.csv" >"$T/ev1q.csv"
# 2 configs x (2 data points + their aggregate); a fixed schedule, weight-first: unbiased
[ "$(grep -c ',ok,$' "$T/ev1q.csv")" -eq 6 ] && ok || bad "smc: 6 ok rows expected"
awk -F, '$3 == "linear:T=4" { n++; z = $10 < 0 ? -$10 : $10; if (z >= 4 || $17 != "" || $14 != 4 || $15 != 8 * (1 + 4 * 4)) bad = 1 }
    END { exit !(n == 3 && !bad) }' "$T/ev1q.csv" && ok || bad "smc linear weight-first: |z| < 4, 4 steps, K(1 + T D) evaluations, empty ns_per_run"
grep -q '^Q,all,linear:T=4,8,2000,1,' "$T/ev1q.csv" && ok || bad "smc: the aggregate row counts the runs of both data points"
# move-first at T = 2 (the authors' order) overestimates p(x): E[Z^]/p(x) clearly above 1
awk -F, '$2 == "all" && $3 == "Q" { found = 1; if (!($8 > 1.3 && $10 > 10)) bad = 1 } END { exit !(found && !bad) }' "$T/ev1q.csv" \
    && ok || bad "smc move-first T=2: ratio > 1.3 with z > 10 expected: $(grep '^Q,all,Q' "$T/ev1q.csv")"
$G smc -p $SP -K 8 -R 1000 --config linear:T=4 --config linear:T=2,order=move-first -o "$T/ev2.csv" --no-timing --threads 2 -q
cmp -s "$T/ev1.csv" "$T/ev2.csv" && ok || bad "smc CSV differs between 1 and 2 threads"
expect 0 "^\"sbn-posterior:D=4,N=1,P=8,seed=3\",0,\"geometric:T=3,flips=2,kernel=metropolis,tau1=0.01\",2,5,7,.*,ok,$" \
    $G smc -p sbn-posterior:D=4,P=8,N=1,seed=3 -K 2 -R 5 --seed 7 --config geometric:tau1=0.01,T=3,kernel=metropolis,flips=2 --no-timing
expect 2 "unknown option 'Tx' for schedule 'linear'; valid options: T, kernel, moves, flips, order, resampling, ess" \
    $G smc -p $SP -K 4 --config linear:Tx=3
expect 2 "unknown schedule 'cosine'; valid schedules: adaptive, linear, geometric" $G smc -p $SP -K 4 --config cosine:T=3
expect 2 "unknown option 'T' for schedule 'adaptive'" $G smc -p $SP -K 4 --config adaptive:T=3
expect 2 "order=sideways of 'linear': valid values are weight-first, move-first" $G smc -p $SP --config linear:order=sideways
expect 2 "flips=3 of 'linear' needs kernel=metropolis" $G smc -p $SP --config linear:flips=3
expect 2 "T=0 of 'linear': must be in \[1, 10000000\]" $G smc -p $SP --config linear:T=0
expect 2 "problem 'bernoulli-quadratic:D=5,p=0.3,t=0.3' has objective kind expectation; smc needs an inclusive-kl problem .*sbn-posterior" \
    $G smc -p $Q -K 4 --config linear
expect 2 "needs at least one --config" $G smc -p $SP -K 4
expect 2 "-R 1: expected an integer" $G smc -p $SP -R 1 --config adaptive
# an smc suite entry: validated by --check, run into DIR/NAME.csv with its evidence figure and a report table
printf 'ev figures=evidence smc -p %s -K 4,8 -R 50 --config linear:T=4 --config linear:T=2,order=move-first\nev2 smc -p %s -K 4 -R 20 --config adaptive\n' "$SP" "$SP" >"$T/ev.suite"
expect 0 "2 entries, all valid" $G bench "$T/ev.suite" --check
printf 'ev smc -p %s -K 4 --config linear:T=x\n' "$SP" >"$T/evbad.suite"
expect 2 "evbad.suite:1 \(ev\): --config linear:T=x: option T=x of 'linear': not an integer" $G bench "$T/evbad.suite" --check
printf 'ev figures=var-vs-K smc -p %s -K 4 --config linear\n' "$SP" >"$T/evbad2.suite"
expect 2 "figure var-vs-K cannot be drawn from an smc entry" $G bench "$T/evbad2.suite" --check
printf 'ev figures=evidence -p %s -e rloo\n' "$Q" >"$T/evbad3.suite"
expect 2 "figure evidence needs an smc entry" $G bench "$T/evbad3.suite" --check
expect 0 "" $G bench "$T/ev.suite" --out "$T/r9" -q --no-timing
grep -q "plots/ev-evidence.png: $T/r9/ev.csv plots/evidence.gp" "$T/r9/figures.mk" && grep -q "plots/ev2-evidence.svg: $T/r9/ev2.csv" "$T/r9/figures.mk" \
    && ok || bad "smc suite entry: figures.mk rules (default figure evidence)"
grep -Eq '^\| `sbn-posterior:D=4,N=2,P=8,scale=2` \| 2 \| `linear:T=2,order=move-first` \| 8 \| [0-9.]+ ± [0-9.e-]+ \| [0-9.]+ \| \*\*yes\*\* \| 2 of 2 \|' "$T/r9/REPORT.md" \
    && grep -Eq '^\| `sbn-posterior:D=4,N=2,P=8,scale=2` \| 2 \| `linear:T=4` \| 4 \| [0-9.]+ ± [0-9.e-]+ \| -?[0-9.]+ \| no \| 0 of 2 \|' "$T/r9/REPORT.md" \
    && ok || bad "smc suite entry: REPORT.md evidence table (move-first flagged, linear not): $(grep -m3 'linear' "$T/r9/REPORT.md")"
if command -v gnuplot >/dev/null; then
    gnuplot -c plots/evidence.gp "$T/r9/ev.csv" "$T/ev.png" png 2>"$T/gp.err" && [ -s "$T/ev.png" ] && [ ! -s "$T/gp.err" ] && ok \
        || bad "evidence.gp on an smc file: $(head -c 300 "$T/gp.err")"
    gnuplot -c plots/evidence.gp "$T/r9/ev.csv" "$T/ev.svg" svg 2>"$T/gp.err" && [ -s "$T/ev.svg" ] && [ ! -s "$T/gp.err" ] && ok \
        || bad "evidence.gp svg: $(head -c 300 "$T/gp.err")"
    : >"$T/empty.ev.csv"
    gnuplot -c plots/evidence.gp "$T/empty.ev.csv" "$T/ev0.png" png 2>/dev/null && [ -s "$T/ev0.png" ] && ok || bad "evidence.gp placeholder"
fi
# ---- figure kinds M-sweep, cost-sweep, trajectory-cost (plots/*.gp wrappers) ---- BEGIN ----
# Each draws a real figure (non-empty PNG, nothing on stderr) from a CSV and a placeholder (exit 0)
# from an empty file. The M option of issue 7's estimators is faked by renaming rloo rows at K = k
# to "smc-wake-a:M=k,kernel=gibbs" at K = 4 (the scripts only read the CSV); reinforce rows are
# the references (no M) of M-sweep and a series over K of cost-sweep.
if command -v gnuplot >/dev/null; then
    FG="$T/figs"
    mkdir -p "$FG"
    expect 0 "" $G run -p bernoulli-coupled:D=4 -e rloo,reinforce -K 2,4,8 -R 200 --seed 1 --no-timing -q -o "$FG/r.csv"
    sed -E 's/^([^,]*),rloo,expectation,([0-9]+),/\1,"smc-wake-a:M=\2,kernel=gibbs",expectation,4,/' "$FG/r.csv" >"$FG/m.csv"
    [ "$(grep -c '"smc-wake-a:M=[248],kernel=gibbs",expectation,4,' "$FG/m.csv")" -eq 3 ] && ok || bad "figure kinds: faking M rows failed"
    expect 0 "" $G train -p bernoulli-quadratic:preset=double-cv -e reinforce,rloo -K 2 --maximise --opt rmsprop --lr 0.01 \
        --steps 40 --every 10 --no-timing -q -o "$FG/tr.csv"
    : >"$FG/empty.csv"
    for kf in M-sweep:m.csv cost-sweep:m.csv trajectory-cost:tr.csv; do
        k=${kf%%:*} f=${kf#*:}
        for ext in png svg; do
            rm -f "$FG/$k.$ext"
            gnuplot -c plots/$k.gp "$FG/$f" "$FG/$k.$ext" $ext 2>"$FG/$k.err" && [ -s "$FG/$k.$ext" ] && [ ! -s "$FG/$k.err" ] && ok \
                || bad "$k.gp on $f ($ext): $(head -c 300 "$FG/$k.err")"
        done
        rm -f "$FG/$k-0.png"
        gnuplot -c plots/$k.gp "$FG/empty.csv" "$FG/$k-0.png" png 2>"$FG/$k-0.err" && [ -s "$FG/$k-0.png" ] \
            && grep -q "placeholder figure written" "$FG/$k-0.err" && ok || bad "$k.gp placeholder on an empty file"
    done
    # a summary file is not a trajectory, a trajectory is not a summary: placeholders, exit 0
    gnuplot -c plots/trajectory-cost.gp "$FG/m.csv" "$FG/x.png" png 2>"$FG/x.err" && grep -q "placeholder figure written" "$FG/x.err" \
        && ok || bad "trajectory-cost.gp placeholder on a summary file"
    gnuplot -c plots/M-sweep.gp "$FG/r.csv" "$FG/y.png" png 2>"$FG/y.err" && grep -q "no estimator with an M option" "$FG/y.err" \
        && ok || bad "M-sweep.gp placeholder on a file without M options"
fi
# ---- figure kinds M-sweep, cost-sweep, trajectory-cost ---- END ----

# ---- inclusive KL end to end: train, the phi-marginal rows, bias-var on them ---- BEGIN ----
# train on an inclusive-KL problem: sleep steps with its own phi-gradient, smc-wake-a keeps its pool across
# steps (one sampler per data point per step: 2 x (K + T K D) = 2 x (4 + 3 x 4 x 4) = 104 evaluations), rws-wake
# costs K per data point; every exact KL falls over 20 Adam steps
IK="$T/ikl"
mkdir -p "$IK"
expect 0 "" $G train -p sbn-posterior:D=4,P=6,N=2 -e sleep -e smc-wake-a:schedule=linear,T=3 -e rws-wake -K 4 --steps 20 \
    --every 10 --no-timing -q -o "$IK/t.csv"
for ef in 'sleep:0' '"smc-wake-a:T=3,schedule=linear":1040' 'rws-wake:80'; do
    e=${ef%:*} fe=${ef##*:}
    grep -q "^\"sbn-posterior:D=4,N=2,P=6\",$e,4,1,10,[^,]*,[^,]*,[^,]*,[^,]*,$fe," "$IK/t.csv" && ok \
        || bad "train on sbn-posterior: $e should have $fe log-likelihood evaluations after 10 steps"
    o0=$(grep "^\"sbn-posterior:D=4,N=2,P=6\",$e,4,1,0," "$IK/t.csv" | sed -E 's/^"[^"]*",("[^"]*"|[^,]*),4,1,0,([^,]*),.*/\2/')
    o2=$(grep "^\"sbn-posterior:D=4,N=2,P=6\",$e,4,1,20," "$IK/t.csv" | sed -E 's/^"[^"]*",("[^"]*"|[^,]*),4,1,20,([^,]*),.*/\2/')
    awk -v a="$o0" -v b="$o2" 'BEGIN { exit !(a > 0 && b > 0 && b < a) }' && ok \
        || bad "train on sbn-posterior: $e's exact KL should fall (step 0: '$o0', step 20: '$o2')"
done
# run with the model-marginal reference: a phi-marginal row per cell, sleep without an eta row
expect 0 "" $G run -p sbn-posterior:D=3,P=4,N=2,marginal=1 -e sleep,rws-wake -K 2,8 -R 300 --seed 1 --no-timing -q \
    -o "$IK/m.csv"
[ "$(grep -c ',phi-marginal,' "$IK/m.csv")" -eq 4 ] && [ "$(grep -c ',sleep,.*,eta,' "$IK/m.csv")" -eq 0 ] \
    && [ "$(grep -c ',rws-wake,.*,eta,' "$IK/m.csv")" -eq 2 ] && ok \
    || bad "sbn-posterior:marginal=1: expected 4 phi-marginal rows, no sleep eta row, 2 rws-wake eta rows"
if command -v gnuplot >/dev/null; then
    gnuplot -c plots/bias-var.gp "$IK/m.csv" "$IK/bv.png" png 2>"$IK/bv.err" && [ -s "$IK/bv.png" ] && [ ! -s "$IK/bv.err" ] \
        && ok || bad "bias-var.gp on phi-marginal rows: $(head -c 300 "$IK/bv.err")"
fi
# ---- inclusive KL end to end ---- END ----

echo "cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
