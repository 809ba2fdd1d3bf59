# billwise: `make demo` runs the sample scenario through the CLI; `make test` installs what it needs
# and runs every check. Both work on a fresh clone.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
CARGO ?= cargo
BILLWISE := $(if $(CARGO_TARGET_DIR),$(CARGO_TARGET_DIR),target)/debug/billwise

.PHONY: all demo test lint fmt test-rust gen gen-check build bench help

all: test

help:
	@echo "make demo       build the CLI and run the sample scenario"
	@echo "make test       format, lint, generated-file drift and every test"
	@echo "make gen        regenerate spec/schema, spec/errors.md, spec/machines"
	@echo "make bench      run the Rust benchmarks"

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

test: lint test-rust demo
	@echo "make test: all suites passed"

bench:
	$(CARGO) bench --locked -p billwise-benches
