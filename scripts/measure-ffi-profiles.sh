#!/usr/bin/env bash
# Builds libalmanac_ffi for the host at opt-level 3, "s" and "z" (the rest of the release
# profile as in Cargo.toml) and prints, for each, the stripped library size and the month-view
# example's median. Each level gets its own target folder so the builds do not evict each
# other. Figures are recorded in docs/decisions/0020-sdk-surface.md.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
base="${1:-${CARGO_TARGET_DIR:-$root/target}/profiles}"
cd "$root"
for level in 3 s z; do
    dir="$base/opt-$level"
    CARGO_PROFILE_RELEASE_OPT_LEVEL="$level" CARGO_TARGET_DIR="$dir" \
        cargo build --quiet --release -p almanac-ffi --lib --example month_view
    lib="$dir/release/libalmanac_ffi.so"
    strip -o "$dir/libalmanac_ffi.stripped.so" "$lib"
    size=$(stat -c %s "$dir/libalmanac_ffi.stripped.so")
    timing=$("$dir/release/examples/month_view")
    printf 'opt-level %s: %s bytes stripped (%.2f MiB); %s\n' "$level" "$size" \
        "$(echo "$size / 1048576" | bc -l)" "$timing"
done
