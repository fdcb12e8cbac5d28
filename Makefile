# v4lab — thin wrapper over CMake. `make demo` and `make test` are complete commands on a fresh
# Debian machine: each installs the dependencies and builds first.
BUILD_DIR  ?= build
BUILD_TYPE ?= Release
JOBS       ?= $(shell nproc)
CMAKE_FLAGS ?=
V4LAB      := $(BUILD_DIR)/bin/v4lab

.PHONY: all deps configure build demo test bench clean help fuzz test-sanitize

all: build

help:
	@echo "make demo   install deps, build, run the reduced main job (kernels, predict, validate, studies, sweep, tiny V4-Flash exec) -> v4lab.db + reports/<run-id>/"
	@echo "make test   install deps, build, run the Catch2 suite through ctest"
	@echo "make bench  benchmark matrix (measured vs predicted) -> bench.db + reports/bench/<run-id>/"
	@echo "make fuzz   libFuzzer targets (clang, ASan+UBSan) in $(FUZZ_DIR), FUZZ_SECONDS=$(FUZZ_SECONDS) each (docs/fuzzing.md)"
	@echo "make test-sanitize   ASan+UBSan build in $(SAN_DIR), whole ctest suite (docs/sanitizers.md)"
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

# Fuzzing (docs/fuzzing.md): clang + libFuzzer + ASan/UBSan in a separate build dir; each target runs
# FUZZ_SECONDS over its seed corpus and saved regressions (new inputs go to $(FUZZ_DIR)/corpus/<target>,
# crashes to $(FUZZ_DIR)/artifacts/). Absolute paths: the cli target works in a private temporary
# directory (chdir), and libFuzzer reads the corpus files after the first inputs have run. Any finding stops the loop with a non-zero status.
FUZZ_DIR     ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= scenario npy kv_decode cli
FUZZ_FLAGS   ?= -timeout=20 -rss_limit_mb=2048 -print_final_stats=1
fuzz: deps
	cmake -S . -B $(FUZZ_DIR) -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1" -DV4LAB_CUDA=OFF -DV4LAB_GUI=OFF -DV4LAB_MPI=OFF -DV4LAB_FUZZ=ON -DV4LAB_SANITIZE=address,undefined $(CMAKE_FLAGS)
	cmake --build $(FUZZ_DIR) -j $(JOBS) --target fuzz_all
	@for t in $(FUZZ_TARGETS); do \
	  mkdir -p $(FUZZ_DIR)/corpus/$$t $(FUZZ_DIR)/artifacts && \
	  echo "== fuzz_$$t: $(FUZZ_SECONDS) s" && \
	  $(FUZZ_DIR)/bin/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) $(FUZZ_FLAGS) -artifact_prefix=$(abspath $(FUZZ_DIR))/artifacts/$$t- \
	    $(abspath $(FUZZ_DIR))/corpus/$$t $(CURDIR)/tests/fuzz/corpus/$$t $(CURDIR)/tests/fuzz/regressions/$$t || exit 1; \
	done

# Whole test suite under ASan + UBSan (docs/sanitizers.md): CUDA/GUI off, -O1 with line tables, leaks and
# UB fatal. CI runs it after `make test` (.ci/run).
SAN_DIR   ?= build-asan
SAN_FLAGS ?= -DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1" -DV4LAB_CUDA=OFF -DV4LAB_GUI=OFF \
             -DV4LAB_MPI=OFF -DV4LAB_SANITIZE=address,undefined
test-sanitize: deps
	cmake -S . -B $(SAN_DIR) $(SAN_FLAGS) $(CMAKE_FLAGS)
	cmake --build $(SAN_DIR) -j $(JOBS)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --test-dir $(SAN_DIR) --output-on-failure -j $(JOBS)

clean:
	rm -rf $(BUILD_DIR)
