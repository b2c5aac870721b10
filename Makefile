# Parley's two commands: `make run` and `make test`. Everything they need is installed by the
# project's own files (cargo for Rust, npm and a Python venv for the client conformance suites).

.PHONY: run test test-suites test-rust test-conformance test-autobahn test-widget test-chaos test-cluster test-fuzz test-deb lint bench

run:
	cargo run --release -p parley -- serve

# The store's and the chat service's behaviour tests run on SQLite and on this PostgreSQL;
# scale-out tests run two nodes sharing this Redis. `make test` checks that both answer, starts
# throwaway ones when they do not (tests/with-services.sh), and otherwise skips those suites
# saying why; a single suite's target uses these defaults as they are.
ifndef PARLEY_SERVICES_CHECKED
export PARLEY_TEST_POSTGRES_URL ?= postgres://postgres@127.0.0.1/test
export PARLEY_TEST_REDIS_URL ?= redis://127.0.0.1:6379/
endif

test:
	PARLEY_SERVICES_CHECKED=1 tests/with-services.sh $(MAKE) --no-print-directory test-suites

test-suites: test-rust test-conformance test-autobahn test-widget test-chaos test-cluster test-fuzz test-deb

test-rust:
	@if cargo nextest --version >/dev/null 2>&1; then run="cargo nextest run"; else run="cargo test"; fi; \
	$$run --workspace --no-fail-fast || exit 1; \
	if [ -n "$$PARLEY_TEST_POSTGRES_URL" ]; then \
		PARLEY_CHAT_TEST_POSTGRES_URL=$$PARLEY_TEST_POSTGRES_URL $$run -p parley-chat --no-fail-fast; \
	else \
		echo "skipped: the chat suite on PostgreSQL (no PostgreSQL to test against)"; \
	fi

test-conformance:
	tests/conformance/run.sh

test-autobahn:
	tests/autobahn/run.sh

# Browser tests of the widget and the dashboard with Debian's chromium (installed by the script when missing).
test-widget:
	web/tests/run.sh

# Servers killed, Redis restarted and PostgreSQL connections cut while messages flow: nothing
# acknowledged may be lost or doubled (SQLite and PostgreSQL, one node and two).
test-chaos:
	tests/chaos/run.sh

# `parley serve` on two and three nodes sharing this PostgreSQL and Redis, with Chromium: a widget
# on one node and a dashboard on another chat live, revocations on a third close their sockets,
# bot jobs run once and rate limits hold across the nodes.
test-cluster:
	tests/cluster/run.sh

# Every fuzz target for FUZZ_SECONDS, replaying its checked-in corpus first (fuzz/README.md).
# The test gate mutates from a fixed seed, so a run is repeatable and a failure is a regression
# of this code, not luck; explore new inputs with FUZZ_SEED=0 (a random seed each run) and add
# what they find to fuzz/corpus.
FUZZ_SECONDS ?= 15
FUZZ_SEED ?= 1
test-fuzz:
	FUZZ_SEED=$(FUZZ_SEED) fuzz/run.sh $(FUZZ_SECONDS)

# Deployment (docs/deploy.md): the .deb built (one release build), installed with dpkg -i,
# started and purged (as root); three nodes on PostgreSQL and Redis behind nginx and Caddy with
# TLS, using that release binary; the deployment files' settings checked against the code.
test-deb:
	tests/deploy/check-names.sh
	packaging/test-deb.sh
	tests/deploy/run.sh

lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

bench:
	bench/run.sh
