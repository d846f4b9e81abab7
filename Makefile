# gradvar — one non-recursive Makefile (objects in build/, -MMD -MP dependencies).
# make            build ./gradvar
# make test       run every test (unit, statistical, end-to-end)
# make bench      run bench/default.suite, then draw figures and write results/REPORT.md
# make speed      speed benchmark (bench/speed)
# make plots      redraw figures from results/*.csv
# make deps       install build/test dependencies on Debian (apt-get, as root)
# make SANITIZER=address|undefined   instrumented build (objects go to build/<sanitizer>/)

CC      ?= cc
ARCH    ?= -march=x86-64-v2 -mtune=generic
OPT     ?= -O2
CSTD    := -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE
WARN    := -Wall -Wextra -Wshadow -Wno-unused-parameter -Wstrict-prototypes
CFLAGS  ?= $(OPT) $(ARCH) -g
OMP     := -fopenmp
LDLIBS  := -lgsl -lgslcblas -lcsv -lz -lm
GIT_HASH := $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)$(shell git diff --quiet HEAD 2>/dev/null || echo -dirty)
VERSION := 0.1.0

BUILD := build
.DEFAULT_GOAL := all
SANITIZER ?=
ifeq ($(SANITIZER),)
else ifeq ($(SANITIZER),address)
  CFLAGS += -fsanitize=address -fno-omit-frame-pointer
  LDFLAGS += -fsanitize=address
  BUILD := build/address
else ifeq ($(SANITIZER),undefined)
  CFLAGS += -fsanitize=undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
  LDFLAGS += -fsanitize=undefined
  BUILD := build/undefined
else
  $(error SANITIZER must be 'address' or 'undefined' (got '$(SANITIZER)'))
endif

ALL_CFLAGS = $(CSTD) $(WARN) $(CFLAGS) $(OMP) -I. -I$(BUILD)/gen \
  -DGV_VERSION='"$(VERSION)"' -DGV_CFLAGS='"$(strip $(CFLAGS))"'

# The git hash lives in a generated header that changes only when the hash does, so .meta files
# never carry a stale hash and an unchanged tree does not rebuild.
$(BUILD)/gen/gv_githash.h: FORCE
	@mkdir -p $(dir $@)
	@echo '#define GV_GIT_HASH "$(GIT_HASH)"' > $@.new
	@cmp -s $@.new $@ && rm -f $@.new || mv $@.new $@
$(BUILD)/harness/output.o $(BUILD)/harness/main.o $(BUILD)/harness/report.o: $(BUILD)/gen/gv_githash.h
.PHONY: FORCE
FORCE:

LIB_SRC := $(wildcard harness/*.c) $(wildcard estimators/*.c) $(wildcard problems/*.c)
LIB_SRC := $(filter-out harness/main.c,$(LIB_SRC))
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o)
MAIN_OBJ := $(BUILD)/harness/main.o
TEST_SRC := $(wildcard tests/test_*.c)
TEST_BIN := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
BENCH_OBJ := $(BUILD)/bench/speed.o

ifeq ($(SANITIZER),)
GRADVAR := gradvar
else
GRADVAR := $(BUILD)/gradvar
endif

.PHONY: all test bench speed plots deps clean
# test objects are intermediate in the pattern chain; keep them (and keep make quiet after the tests)
.SECONDARY: $(TEST_BIN:%=%.o) $(BENCH_OBJ)
all: $(GRADVAR)

$(GRADVAR): $(MAIN_OBJ) $(BUILD)/libgradvar.a
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/libgradvar.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/tests/%: $(BUILD)/tests/%.o $(BUILD)/libgradvar.a
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ -lcmocka $(LDLIBS)

$(BUILD)/bench/speed: $(BENCH_OBJ) $(BUILD)/libgradvar.a
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# Every test binary runs; the summary line counts them and the target fails if any failed.
test: $(GRADVAR) $(TEST_BIN)
	@GRADVAR=./$(GRADVAR) sh tests/run.sh $(TEST_BIN) tests/cli.sh

speed: $(BUILD)/bench/speed
	$(BUILD)/bench/speed

SUITE ?= bench/default.suite
# bench/speed's cost table (results/cost.csv) goes into REPORT.md, so it runs first.
bench: $(GRADVAR) $(BUILD)/bench/speed
	$(BUILD)/bench/speed --cost-csv results/cost.csv --cat-cost-csv results/cost-categorical.csv --sbn-cost-csv results/cost-sbn.csv
	./$(GRADVAR) bench $(SUITE) --out results
	$(MAKE) --no-print-directory plots

# Figures: `gradvar bench` writes results/figures.mk, one rule per (suite entry, figure kind) —
# plots/NAME-KIND.png|svg from results/NAME.csv with plots/KIND.gp (gnuplot -c SCRIPT IN OUT png|svg).
-include results/figures.mk
plots:
	@if [ -z "$(GV_FIGURES)" ]; then echo "make plots: no results/figures.mk yet; run make bench first"; \
	else $(MAKE) --no-print-directory $(GV_FIGURES); fi

DEB_PKGS := build-essential libgsl-dev libcsv-dev gnuplot-nox libcmocka-dev zlib1g-dev dataset-fashion-mnist
deps:
	@missing=""; for p in $(DEB_PKGS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  if [ "$$(id -u)" != 0 ]; then echo "make deps: must run as root to apt-get install:$$missing" >&2; exit 1; fi; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	else echo "make deps: all of $(DEB_PKGS) already installed"; fi

clean:
	rm -rf build gradvar

-include $(shell find build -name '*.d' 2>/dev/null)
