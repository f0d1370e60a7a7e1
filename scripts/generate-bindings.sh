#!/usr/bin/env bash
# Builds the host cdylib and generates the Swift or Kotlin sources from it (UniFFI library mode).
# Usage: scripts/generate-bindings.sh swift|kotlin [out-dir]
# Prints nothing but errors; the generated files land in out-dir (default target/uniffi/<lang>).
# Honours CARGO_TARGET_DIR (the library is then read from $CARGO_TARGET_DIR/debug).
set -euo pipefail
lang="${1:?usage: generate-bindings.sh swift|kotlin [out-dir]}"
root="$(cd "$(dirname "$0")/.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
out="${2:-$root/target/uniffi/$lang}"
cd "$root"
cargo build --quiet -p almanac-ffi --lib
cargo build --quiet -p almanac-ffi --features cli --bin uniffi-bindgen
rm -rf "$out" && mkdir -p "$out"
case "$(uname -s)" in
    Darwin) library="$target/debug/libalmanac_ffi.dylib" ;;
    *) library="$target/debug/libalmanac_ffi.so" ;;
esac
"$target/debug/uniffi-bindgen" generate --library "$library" \
    --language "$lang" --out-dir "$out" --no-format >/dev/null
