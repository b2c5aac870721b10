# Parley's two commands: `make run` and `make test`. Everything they need is installed by the
# project's own files (cargo for Rust, npm and a Python venv for the client conformance suites).

.PHONY: run test test-rust test-conformance test-autobahn test-widget lint bench

run:
	cargo run --release -p parley -- serve

# The store's behaviour tests run on SQLite and on this PostgreSQL.
export PARLEY_TEST_POSTGRES_URL ?= postgres://postgres@127.0.0.1/test
# Scale-out tests run two nodes sharing this Redis.
export PARLEY_TEST_REDIS_URL ?= redis://127.0.0.1:6379/

test: test-rust test-conformance test-autobahn test-widget

test-rust:
	@if cargo nextest --version >/dev/null 2>&1; then \
		cargo nextest run --workspace --no-fail-fast && \
		PARLEY_CHAT_TEST_POSTGRES_URL=$(PARLEY_TEST_POSTGRES_URL) cargo nextest run -p parley-chat --no-fail-fast; \
	else \
		cargo test --workspace --no-fail-fast && \
		PARLEY_CHAT_TEST_POSTGRES_URL=$(PARLEY_TEST_POSTGRES_URL) cargo test -p parley-chat --no-fail-fast; \
	fi

test-conformance:
	tests/conformance/run.sh

test-autobahn:
	tests/autobahn/run.sh

# Browser tests with Debian's chromium (installed by the script when missing).
test-widget:
	widget/tests/run.sh

lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

bench:
	bench/run.sh
