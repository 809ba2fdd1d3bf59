# billwise: `make demo` runs the sample scenario through the CLI; `make test` installs what it needs
# and runs every check. Both work on a fresh clone.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
CARGO ?= cargo
BILLWISE := $(if $(CARGO_TARGET_DIR),$(CARGO_TARGET_DIR),target)/debug/billwise

.PHONY: all demo test test-all bench-store lint fmt test-rust gen gen-check build bench help python-venv python-build test-python bench-python
.PHONY: fuzz fuzz-install fuzz-check

all: test

help:
	@echo "make demo       build the CLI and run the sample scenario"
	@echo "make test       format, lint, generated-file drift and every test"
	@echo "make gen        regenerate spec/schema, spec/errors.md, spec/machines and the JS types and entry points"
	@echo "make bench      run the Rust benchmarks"
	@echo "make parity     every spec case through Rust, Python, Node and WebAssembly, compared byte for byte"
	@echo "make test-node  build the Node addon and run the JS suite on it"
	@echo "make test-wasm  build the WebAssembly package and run the JS suite and a browser test on it"
	@echo "make bench-node / make bench-wasm  previewInvoice in Node (addon / WebAssembly) vs decimal.js and ZEN"
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
	node js/scripts/gen.mjs

gen-check:
	$(CARGO) test --locked -q -p billwise-conformance --test conformance generated_files_match_the_committed_spec

test-rust:
	$(CARGO) test --locked --workspace

# Every suite, with a PostgreSQL server of its own for the store's tests (Debian's package, installed
# when missing, on a free loopback port, in a temporary data directory; stopped and removed after).
test:
	bash scripts/with-postgres.sh $(MAKE) --no-print-directory test-all

test-all: lint lint-wasm test-rust fuzz-check demo test-python test-node test-wasm parity
	@echo "make test: all suites passed"

bench:
	$(CARGO) bench --locked -p billwise-benches

# The store: envelopes per second into SQLite and into PostgreSQL with four workers (a server of
# its own, as `make test` starts one), the engine's own rate beside them.
bench-store:
	bash scripts/with-postgres.sh $(CARGO) bench --locked -p billwise-benches --bench store

# --- JavaScript: the Node addon (bindings-node, npm `billwise`) and the WebAssembly package
# (bindings-wasm, npm `billwise-wasm`). One JS suite (js/test) runs against both.

.PHONY: js-deps js-gen js-gen-check js-types node-build test-node wasm-tools lint-wasm wasm-build test-wasm browser-deps

TARGET_DIR := $(or $(CARGO_TARGET_DIR),target)
NODE_PLATFORM = $(shell node -p 'process.platform + "-" + process.arch')
NODE_ADDON = bindings-node/billwise.$(NODE_PLATFORM).node
NODE_LIB = $(TARGET_DIR)/release/$(if $(filter darwin-%,$(NODE_PLATFORM)),libbillwise_node.dylib,libbillwise_node.so)
WASM_BINDGEN_VERSION := $(shell sed -n 's/^wasm-bindgen = { version = "=\([0-9.]*\)".*/\1/p' bindings-wasm/Cargo.toml)
# The module is built with the nightly toolchain and a rebuilt standard library: std's
# `optimize_for_size` (small sort and formatting code instead of one large instantiation per
# type) and the `immediate-abort` panic strategy (a panic traps at once; the JS wrapper turns the
# trap into BILLWISE_INTERNAL and resets the module, as before). Together they cut the gzip size
# from about 430 KB to about 384 KB. The rules themselves are the same code as every other build.
WASM_TOOLCHAIN := nightly
# sha2's compact SHA-256 (a loop over the 64 rounds, not unrolled): about 7 KB smaller, 2.4 KB
# gzip, which pays for the billing request's hand-written time entry reader in the module. The
# audit chain hashes a few hundred bytes per event, so its speed does not show.
# `-Zfmt-debug=none`: `{:?}` formats nothing in the module (3.4 KB gzip). No answer or message of
# billwise's uses Debug formatting (serde's "invalid type: string ..." quotes the string with it,
# and billwise's message drops the string), and the parity gate compares every case's answer and
# error message with the native build's, byte for byte.
# `-Zlocation-detail=none`: a panic traps at once (`immediate-abort`), so the file, line and
# column a panic would report are never read (0.2 KB gzip).
WASM_SHA2_CFG := --cfg sha2_backend_soft=\"compact\" -Zfmt-debug=none -Zlocation-detail=none
WASM_TARGET_DIR = $(TARGET_DIR)/wasm
WASM_FILE = $(WASM_TARGET_DIR)/wasm32-unknown-unknown/release-wasm/billwise_wasm.wasm
WASM_PKG := bindings-wasm/pkg
WASM_OPT := js/node_modules/.bin/wasm-opt
# wasm-opt: -Oz, then the structured control flow rebuilt (--flatten --rereloop) and -Oz twice more,
# which shrinks the module by about 13 KB raw at the same speed (the WASM benchmark is unchanged within
# noise). --low-memory-unused lets constant offsets fold into loads and stores: the low 1 KB of
# memory is the deepest end of the 1 MB stack (the linker puts the stack first, static data from
# 1 MB). A folded access differs only where base + offset wrapped past 2^32 into that low 1 KB,
# which means the stack pointer already ran past 0: it now traps there, and a trap is reported
# as `BillwiseInternalError` and the module reset, as a stack overflow is.
WASM_OPT_FLAGS := -Oz --low-memory-unused --flatten --rereloop -Oz -Oz --strip-debug --strip-producers \
	--enable-bulk-memory --enable-sign-ext --enable-mutable-globals \
	--enable-nontrapping-float-to-int --enable-reference-types --enable-multivalue
# The gzip size budget of the .wasm file, in bytes: 350 KB (issue 9). `make wasm-build` fails above
# it and prints the size.
WASM_GZIP_BUDGET := 358400

# The dev tools (typescript, binaryen's wasm-opt, playwright-core), from the committed lock file.
js-deps: js/node_modules/.package-lock.json
js/node_modules/.package-lock.json: js/package.json js/package-lock.json
	cd js && npm ci --no-audit --no-fund
	@touch $@

# Regenerates documents.d.ts, the shared wrapper and the entry points of both packages.
js-gen:
	node js/scripts/gen.mjs

js-gen-check:
	node js/scripts/gen.mjs --check

# The typed usage example compiles under `tsc --noEmit --strict` against both packages' types.
js-types: js-deps
	cd js && npx tsc -p types/tsconfig.json

# The addon is built in release: it is what `npm pack` ships, and the suite makes 100,000 calls.
node-build:
	$(CARGO) build --locked --release -p billwise-node
	cp $(NODE_LIB) $(NODE_ADDON)
	@# The symbol table is for debuggers, not for `require`: stripped, the addon is about half
	@# the size (the packed-tarball test checks it is stripped and reports its size).
	strip --strip-unneeded $(NODE_ADDON)

test-node: node-build js-deps js-gen-check js-types
	cd js && node --test --test-reporter=spec suite/

wasm-tools:
	@rustup toolchain list | grep -q '^$(WASM_TOOLCHAIN)' || rustup toolchain install $(WASM_TOOLCHAIN) --profile minimal
	@rustup +$(WASM_TOOLCHAIN) component list --installed | grep -qx rust-src || rustup component add rust-src --toolchain $(WASM_TOOLCHAIN)
	@rustup +$(WASM_TOOLCHAIN) component list --installed | grep -q '^clippy' || rustup component add clippy --toolchain $(WASM_TOOLCHAIN)
	@if [ "$$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $(WASM_BINDGEN_VERSION)" ]; then \
		echo "installing wasm-bindgen-cli $(WASM_BINDGEN_VERSION)"; \
		$(CARGO) install wasm-bindgen-cli --version $(WASM_BINDGEN_VERSION); \
	fi

# Clippy on the code only the WebAssembly build compiles (its `cfg(target_arch = "wasm32")`
# branches), with the toolchain and standard library the module is built with.
lint-wasm: wasm-tools
	$(CARGO) +$(WASM_TOOLCHAIN) clippy --locked --target wasm32-unknown-unknown --target-dir $(WASM_TARGET_DIR) \
		-p billwise-wasm -Z build-std=std,panic_abort -- -D warnings

wasm-build: wasm-tools js-deps
	RUSTFLAGS="-Zunstable-options -Cpanic=immediate-abort $(WASM_SHA2_CFG)" $(CARGO) +$(WASM_TOOLCHAIN) build --locked \
		--profile release-wasm --target wasm32-unknown-unknown --target-dir $(WASM_TARGET_DIR) -p billwise-wasm \
		-Z build-std=std,panic_abort -Z build-std-features=optimize_for_size
	rm -rf $(WASM_PKG) && mkdir -p $(WASM_PKG)
	wasm-bindgen --target nodejs --no-typescript --experimental-reset-state-function --out-dir $(WASM_PKG)/node $(WASM_FILE)
	wasm-bindgen --target web --no-typescript --experimental-reset-state-function --out-dir $(WASM_PKG)/web $(WASM_FILE)
	@# Both targets get the same module; optimise it once when it is byte-identical (it is with 0.2.130).
	if cmp -s $(WASM_PKG)/node/billwise_wasm_bg.wasm $(WASM_PKG)/web/billwise_wasm_bg.wasm; then \
		$(WASM_OPT) $(WASM_OPT_FLAGS) $(WASM_PKG)/web/billwise_wasm_bg.wasm -o $(WASM_PKG)/web/billwise_wasm_bg.wasm; \
		cp $(WASM_PKG)/web/billwise_wasm_bg.wasm $(WASM_PKG)/node/billwise_wasm_bg.wasm; \
	else \
		for d in node web; do $(WASM_OPT) $(WASM_OPT_FLAGS) $(WASM_PKG)/$$d/billwise_wasm_bg.wasm -o $(WASM_PKG)/$$d/billwise_wasm_bg.wasm; done; \
	fi
	cp bindings-wasm/js/*.cjs bindings-wasm/js/*.mjs bindings-wasm/js/*.d.ts bindings-wasm/js/package.json bindings-wasm/README.md LICENSE $(WASM_PKG)/
	node js/scripts/wasm-size.mjs $(WASM_PKG)/web/billwise_wasm_bg.wasm $(WASM_GZIP_BUDGET)

# Headless Chromium for the browser test (Debian's package), installed only when missing.
browser-deps:
	@if [ ! -x /usr/bin/chromium ]; then \
		apt-get update && apt-get install -y --no-install-recommends chromium; \
	fi

test-wasm: wasm-build js-deps js-gen-check browser-deps
	cd js && BILLWISE_TEST_WASM=1 node --test --test-reporter=spec suite/
	cd js && node --test --test-reporter=spec browser/

# --- JS benchmarks: previewInvoice over 100,000 and 1,000,000 entries, from objects and from JSON
# text, against a decimal.js implementation and GoRules ZEN (js/bench). Their npm dependencies are
# installed here only. `npm install` with the committed lock (ZEN's optional platform packages keep
# `npm ci` from accepting that lock; the install leaves it unchanged).

.PHONY: bench-deps bench-node bench-wasm
BENCH_SIZES ?= 100000,1000000
WASM_BENCH_SIZES ?= 100000

bench-deps: js/bench/node_modules/.package-lock.json
js/bench/node_modules/.package-lock.json: js/bench/package.json js/bench/package-lock.json
	cd js/bench && npm install --no-audit --no-fund
	@touch $@

bench-node: node-build bench-deps
	cd js/bench && node --max-old-space-size=12000 bench.mjs native $(BENCH_SIZES)

bench-wasm: wasm-build bench-deps
	cd js/bench && node --max-old-space-size=12000 bench.mjs wasm $(WASM_BENCH_SIZES)
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

# --- Parity: every spec case through Rust, Python, the Node addon and the WebAssembly build on the
# same request bytes; the answers are compared byte for byte and with each case's expectation.
.PHONY: parity
PARITY_DIR = $(TARGET_DIR)/parity

parity: python-build node-build wasm-build
	@mkdir -p $(PARITY_DIR)
	$(CARGO) run --locked -q -p billwise-conformance --bin billwise-parity -- $(PARITY_DIR)
	$(VPY) scripts/parity/run_python.py $(PARITY_DIR)
	node scripts/parity/run_js.cjs native $(PARITY_DIR)
	node scripts/parity/run_js.cjs wasm $(PARITY_DIR)
	python3 scripts/parity/compare.py $(PARITY_DIR) rust python native wasm
