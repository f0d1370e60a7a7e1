# The project's vocabulary. Every target works from a fresh clone (it installs what it needs
# through scripts/install-deps.sh) or says exactly what it needs.

CARGO ?= cargo

.PHONY: demo server test lint test-rust test-kotlin test-swift soak bench bench-sdk fuzz bench-peers bench-peers-quick lint-bench-peers fixtures bindings xcframework aar deps clean

## demo: two stores on disk edit offline, sync, converge and print their conflicts
demo:
	$(CARGO) run --quiet --release -p almanac-example-two-devices

## server: the sync server on 127.0.0.1:7700 with its data in ./server-data (see server/README.md)
server:
	$(CARGO) run --release -p almanac-server -- --data ./server-data

## test: formatting, lints, and every test (Rust, Kotlin on the JVM, Swift on Linux)
test: deps lint test-rust test-kotlin test-swift

deps:
	scripts/install-deps.sh

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

# The server's and client's suites also run on PostgreSQL: a throwaway cluster is started here
# (scripts/postgres.sh) unless ALMANAC_TEST_POSTGRES already names one (as under .ci/run); if it
# cannot start, those tests say they were skipped.
test-rust:
	@if [ -z "$$ALMANAC_TEST_POSTGRES" ] && line="$$(scripts/postgres.sh start)"; then \
		export "$$line"; started=1; fi; \
	$(CARGO) test --workspace; status=$$?; \
	if [ -n "$$started" ]; then scripts/postgres.sh stop; fi; exit $$status

test-kotlin:
	kotlin/scripts/test.sh

test-swift:
	swift/scripts/test.sh

## soak: the property tests with many more cases (release build): 30,000 on the in-memory
## engine (convergence and nothing lost), 1,500 on SQLite stores, 5,000 calendar rounds, 1,000
## protocol runs with interrupted syncs, restored backups and copied stores, 2,000 runs with
## retired devices, 3,000 garbage-collection runs
soak:
	PROPTEST_CASES=30000 $(CARGO) test --release -p almanac-core --test integration convergence::replicas
	PROPTEST_CASES=1500 $(CARGO) test --release -p almanac-core --test integration convergence::sqlite
	PROPTEST_CASES=5000 $(CARGO) test --release -p almanac-core --test integration calendar_property
	PROPTEST_CASES=1000 $(CARGO) test --release -p almanac-core --test integration sync::property
	PROPTEST_CASES=2000 $(CARGO) test --release -p almanac-core --test integration sync::retirement
	PROPTEST_CASES=3000 $(CARGO) test --release -p almanac-core --lib stability

## bench: the store, calendar and sync benchmarks, W9 (the SDKs' overhead, bench-sdk) and W10
## (the server under 1,000 live devices); figures are recorded in docs/benchmarks.md
bench: bench-sdk
	$(CARGO) bench -p almanac-core
	$(CARGO) build --release -p almanac-server
	# W10 on SQLite, then on a throwaway PostgreSQL (scripts/postgres.sh, stopped afterwards).
	env_line="$$(scripts/postgres.sh start)" && export "$$env_line" && ulimit -n 20000 && \
		$(CARGO) bench -p almanac-client --bench load; status=$$?; scripts/postgres.sh stop; exit $$status

## bench-sdk: W9, the W4 month view (10,000 events) from Swift and Kotlin against the same Rust
## call, release library, overhead in percent (scripts/bench-sdk.sh)
bench-sdk:
	scripts/bench-sdk.sh

## fuzz: the sync-frame fuzz targets for FUZZ_SECONDS each (nightly + cargo-fuzz); the corpus
## they grow in fuzz/corpus/ is replayed by `make test`
fuzz:
	scripts/fuzz.sh

## bench-peers: Almanac side by side with Automerge, Yrs and Loro (W1-W8, medians of 3 runs,
## same-run ratios); figures to target/bench-peers/results.json, the docs table from
## bench/scripts/table.py. bench/ is a separate workspace, so this is its only build.
BENCH_PEERS = $(CARGO) run --quiet --release --manifest-path bench/Cargo.toml --
BENCH_PEERS_OUT = $(CURDIR)/target/bench-peers/results.json

bench-peers: lint-bench-peers
	$(BENCH_PEERS) run --out $(BENCH_PEERS_OUT)

## bench-peers-quick: every workload of bench-peers once, W1 and W2 with fewer commits (a few minutes after the build)
bench-peers-quick: lint-bench-peers
	$(BENCH_PEERS) run --quick --out $(BENCH_PEERS_OUT)

lint-bench-peers:
	$(CARGO) fmt --manifest-path bench/Cargo.toml -- --check
	$(CARGO) clippy --release --manifest-path bench/Cargo.toml --all-targets -- -D warnings

## fixtures: write missing golden fixtures (never overwrites; a changed format needs a decision)
fixtures:
	ALMANAC_WRITE_FIXTURES=1 $(CARGO) test -p almanac-core --test integration fixtures
	$(CARGO) test -p almanac-core --test integration -- --ignored write_current_store_fixture

## bindings: generate the Swift and Kotlin sources into target/uniffi/
bindings:
	scripts/generate-bindings.sh swift
	scripts/generate-bindings.sh kotlin

## xcframework: the iOS XCFramework (needs macOS with Xcode)
xcframework:
	swift/scripts/build-xcframework.sh

## aar: the Android library (needs the Android SDK/NDK, cargo-ndk and Gradle)
aar:
	kotlin/scripts/build-aar.sh

clean:
	$(CARGO) clean
	rm -rf kotlin/target kotlin/benchmarks/target .build swift/.build swift/Benchmarks/.build
