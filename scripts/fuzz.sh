#!/usr/bin/env bash
# `make fuzz`: runs the sync-frame fuzz targets (fuzz/) for FUZZ_SECONDS each (default 60),
# growing the corpus under fuzz/corpus/, which `make test` replays as regression tests
# (core/tests/integration/fuzz_corpus.rs). Commit new corpus files the run keeps, and a
# crashing input (fuzz/artifacts/) as a corpus file once the bug is fixed.
# Needs a nightly toolchain (libFuzzer's instrumentation) and cargo-fuzz, installed from
# crates.io here when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${FUZZ_SECONDS:-60}"
if ! rustup run nightly rustc --version >/dev/null 2>&1; then
    echo "fuzz: needs the nightly toolchain: rustup toolchain install nightly" >&2
    exit 1
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz: installing cargo-fuzz from crates.io" >&2
    cargo install cargo-fuzz --locked
fi
cd fuzz
for target in frame frame_payload; do
    echo "fuzz: $target for ${seconds}s"
    cargo +nightly fuzz run -O "$target" "corpus/$target" -- -max_total_time="$seconds" -max_len=65536
done
