# v4lab — thin wrapper over CMake. `make demo` and `make test` are complete commands on a fresh
# Debian machine: each installs the dependencies and builds first.
BUILD_DIR  ?= build
BUILD_TYPE ?= Release
JOBS       ?= $(shell nproc)
CMAKE_FLAGS ?=
V4LAB      := $(BUILD_DIR)/bin/v4lab

.PHONY: all deps configure build demo test bench clean help

all: build

help:
	@echo "make demo   install deps, build, run the reduced main job (kernels, predict, validate, studies, sweep, tiny V4-Flash exec) -> v4lab.db + reports/<run-id>/"
	@echo "make test   install deps, build, run the Catch2 suite through ctest"
	@echo "make bench  benchmark matrix (measured vs predicted) -> bench.db + reports/bench/<run-id>/"
	@echo "make deps | build | clean   (BUILD_DIR=$(BUILD_DIR) BUILD_TYPE=$(BUILD_TYPE) CMAKE_FLAGS=...)"

deps:
	@scripts/install-deps.sh

configure: deps
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(CMAKE_FLAGS)

build: configure
	cmake --build $(BUILD_DIR) -j $(JOBS)

# The main job in reduced form (~1-2 min on 2 cores): kernels measured vs predicted, one whole-model
# prediction, the shipped validation points, the three studies, a small resumable sweep and a tiny
# V4-Flash executed end to end; each run is stored in v4lab.db, the studies and the quickstart run get
# an HTML report under reports/<run-id>/.
demo: build
	$(V4LAB) --db v4lab.db run scenarios/quickstart.toml
	$(V4LAB) --db v4lab.db predict --model v4-flash --hw h800 --batch 64 --context 32768
	$(V4LAB) --db v4lab.db validate
	$(V4LAB) --db v4lab.db study ucurve --scenario scenarios/study_ucurve.toml
	$(V4LAB) --db v4lab.db report latest --format html
	$(V4LAB) --db v4lab.db study topk
	$(V4LAB) --db v4lab.db report latest --format html
	$(V4LAB) --db v4lab.db study streams
	$(V4LAB) --db v4lab.db report latest --format html
	$(V4LAB) --db v4lab.db sweep scenarios/sweep_decode_batch.toml --resume
	$(V4LAB) --db v4lab.db report latest:sweep --format html
	$(V4LAB) --db v4lab.db plan --model v4-flash --hw h800 --context 8192 --target-tokens-per-s 50000 --tpot-ms 40 --ttft-ms 3000
	$(V4LAB) --db v4lab.db report latest:plan --format html
	$(V4LAB) --db v4lab.db exec --model v4-flash --scale tiny

test: build
	ctest --test-dir $(BUILD_DIR) --output-on-failure -j $(JOBS)

bench: build
	$(V4LAB) --db bench.db bench --report-dir reports/bench

clean:
	rm -rf $(BUILD_DIR)
