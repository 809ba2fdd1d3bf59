# billwise: `make demo` runs the sample scenario through the CLI; `make test` installs what it needs
# and runs every check. Both work on a fresh clone.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
CARGO ?= cargo
BILLWISE := $(if $(CARGO_TARGET_DIR),$(CARGO_TARGET_DIR),target)/debug/billwise

.PHONY: all demo test lint fmt test-rust gen gen-check build bench help python-venv python-build test-python bench-python
.PHONY: fuzz fuzz-install fuzz-check

all: test

help:
	@echo "make demo       build the CLI and run the sample scenario"
	@echo "make test       format, lint, generated-file drift and every test"
	@echo "make gen        regenerate spec/schema, spec/errors.md, spec/machines"
	@echo "make bench      run the Rust benchmarks"
	@echo "make test-python  build the Python wheel into .venv and run its tests, mypy and stubtest"
	@echo "make bench-python preview_invoice from Python vs pure Python and GoRules ZEN (BENCH_ARGS=...)"
	@echo "make fuzz       run every cargo-fuzz target for FUZZ_SECONDS (default 600) on nightly"

build:
	$(CARGO) build --locked -p billwise-cli

demo: build
	@bash scripts/demo.sh $(BILLWISE)

fmt:
	$(CARGO) fmt --all

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --locked --workspace --all-targets -- -D warnings

gen:
	$(CARGO) run --locked -q -p billwise-conformance --bin billwise-gen

gen-check:
	$(CARGO) test --locked -q -p billwise-conformance --test conformance generated_files_match_the_committed_spec

test-rust:
	$(CARGO) test --locked --workspace

test: lint test-rust fuzz-check demo test-python
	@echo "make test: all suites passed"

bench:
	$(CARGO) bench --locked -p billwise-benches

# Python: a venv at .venv with pinned tools, the wheel built by maturin into dist/ and installed there.
# The tests run the release wheel, the artefact users install (and the one benchmarks will time);
# a debug build would not share the Rust test build either (maturin sets pyo3's extension-module).
VENV := .venv
VPY := $(VENV)/bin/python
PY_TOOLS := maturin==1.16.0 pytest==9.0.3 mypy==2.4.1 typing_extensions==4.15.0 pydantic==2.13.4

python-venv:
	@test -x $(VPY) || python3 -m venv $(VENV)
	@# .venv/.tools records what was installed: the pinned set is installed once, not on every run.
	@if [ "$$(cat $(VENV)/.tools 2>/dev/null)" != "$(PY_TOOLS)" ]; then \
		$(VPY) -m pip install -q --disable-pip-version-check $(PY_TOOLS) \
		&& echo "$(PY_TOOLS)" > $(VENV)/.tools; fi

python-build: python-venv
	rm -f dist/billwise-*.whl
	$(VENV)/bin/maturin build --locked --release -m bindings-python/Cargo.toml -o dist --interpreter $(VPY)
	$(VPY) -m pip install -q --disable-pip-version-check --force-reinstall --no-deps dist/billwise-*.whl

test-python: python-build
	cd bindings-python && ../$(VPY) -m pytest -q tests
	$(VPY) -m mypy --strict bindings-python/examples bindings-python/tests/typing_usage.py
	$(VPY) -m mypy.stubtest billwise --allowlist bindings-python/stubtest-allowlist.txt
	@echo "test-python: all Python checks passed"

# The Python benchmark: billwise vs a pure-Python Decimal implementation vs GoRules ZEN (zen-engine),
# on the same 100,000 and 1,000,000 time entries (benches/python/). BENCH_ARGS="--sizes 100000" for a
# quick run.
BENCH_TOOLS := zen-engine==2.1.3
BENCH_ARGS ?=

bench-python: python-build
	@if [ "$$(cat $(VENV)/.bench-tools 2>/dev/null)" != "$(BENCH_TOOLS)" ]; then \
		$(VPY) -m pip install -q --disable-pip-version-check $(BENCH_TOOLS) \
		&& echo "$(BENCH_TOOLS)" > $(VENV)/.bench-tools; fi
	$(VPY) benches/python/bench_preview.py $(BENCH_ARGS)

# Fuzzing (cargo-fuzz, nightly toolchain): not part of `make test`, it runs for a long time.
# Each target runs FUZZ_SECONDS from a corpus seeded with the spec cases; a crash is saved under
# fuzz/artifacts/<target>/ (replay it with `cargo +nightly fuzz run <target> <file>`) and becomes a
# case in spec/cases/ plus a fix. Sanitizers are off: the code is safe Rust, and speed finds more.
CARGO_FUZZ_VERSION := 0.13.2
FUZZ_TOOLCHAIN ?= nightly
FUZZ_SECONDS ?= 600
FUZZ_TARGETS ?= parse_documents preview_invoice reconcile engine_apply billing_differential
FUZZ_FLAGS ?= -timeout=10 -rss_limit_mb=4096

fuzz-install:
	@if [ "$$(cargo fuzz --version 2>/dev/null)" != "cargo-fuzz $(CARGO_FUZZ_VERSION)" ]; then \
		cargo install cargo-fuzz --version $(CARGO_FUZZ_VERSION) --locked; fi

fuzz: fuzz-install
	python3 fuzz/seed_corpus.py
	@for t in $(FUZZ_TARGETS); do \
		echo "fuzz: $$t for $(FUZZ_SECONDS) s"; \
		cargo +$(FUZZ_TOOLCHAIN) fuzz run --sanitizer none $$t -- -max_total_time=$(FUZZ_SECONDS) $(FUZZ_FLAGS) \
			|| { echo "fuzz: $$t found a crash (see fuzz/artifacts/$$t/)"; exit 1; }; \
	done
	@echo "fuzz: every target ran $(FUZZ_SECONDS) s without a crash"

# Part of `make test`: the fuzz targets still compile against the core, on stable and without
# building libFuzzer (nothing nightly), and fuzz/Cargo.lock is up to date.
fuzz-check:
	$(CARGO) check --locked --manifest-path fuzz/Cargo.toml --no-default-features --bins
