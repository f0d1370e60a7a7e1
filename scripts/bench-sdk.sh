#!/usr/bin/env bash
# W9 (`make bench-sdk`, part of `make bench`): the W4 month view (10,000 events, June 2026)
# called from Rust, Swift and Kotlin on the same store, in release builds of libalmanac_ffi,
# and the SDKs' overhead over the Rust call in percent (target under 20 %).
#
#  1. cargo builds the release library and bindings/examples/w9, which writes the W4 store
#     once (target/bench-sdk/w9.almanac, rebuilt every run) and times the Rust calls;
#  2. Swift: the generated bindings are installed into swift/Sources as swift/scripts/test.sh
#     does, and swift/Benchmarks (a package depending on swift/) runs `swift run -c release`
#     against the release library, natively or in the Debian Swift root;
#  3. Kotlin: `mvn install` of kotlin/ (tests skipped: `make test-kotlin` runs them) and
#     kotlin/benchmarks on the JVM with the release library on jna.library.path.
# Each side prints the median of W9_RUNS calls (default 200) after a warm-up; the overhead is
# against the same Rust call (`core-zone`, see bindings/examples/w9.rs). Honours
# CARGO_TARGET_DIR. Figures are recorded in docs/benchmarks.md ("W9: the SDKs' overhead").
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd -P)"
target="${CARGO_TARGET_DIR:-$root/target}"
runs="${W9_RUNS:-200}"
# Inside the repository: the Swift root (a chroot) sees only the repository.
work="$root/target/bench-sdk"
mkdir -p "$work/lib"
cd "$root"

echo "bench-sdk: cargo build --release (libalmanac_ffi, the w9 example)" >&2
cargo build --quiet --release -p almanac-ffi --lib --example w9
cmp -s "$target/release/libalmanac_ffi.so" "$work/lib/libalmanac_ffi.so" 2>/dev/null \
    || cp "$target/release/libalmanac_ffi.so" "$work/lib/"
store="$work/w9.almanac"
rm -f "$store" "$store-wal" "$store-shm"
echo "bench-sdk: writing the W4 store (10,000 events)" >&2
"$target/release/examples/w9" populate "$store"
results="$work/results.txt"
"$target/release/examples/w9" time "$store" "$runs" | tee "$results"

echo "bench-sdk: Swift (swift/Benchmarks, release)" >&2
toolchain="$root/scripts/swift-toolchain.sh"
"$toolchain" ensure
gen="$(mktemp -d "${TMPDIR:-/tmp}/almanac-bench-gen.XXXXXX")"
trap 'rm -rf "$gen"' EXIT
"$root/scripts/generate-bindings.sh" swift "$gen"
install_generated() {
    mkdir -p "$(dirname "$2")"
    cmp -s "$1" "$2" 2>/dev/null || cp "$1" "$2"
}
install_generated "$gen/AlmanacFFI.swift" "$root/swift/Sources/AlmanacFFI/AlmanacFFI.swift"
install_generated "$gen/almanac_ffiFFI.h" "$root/swift/Sources/almanac_ffiFFI/almanac_ffiFFI.h"
install_generated "$gen/almanac_ffiFFI.modulemap" "$root/swift/Sources/almanac_ffiFFI/module.modulemap"
export LIBRARY_PATH="$work/lib${LIBRARY_PATH:+:$LIBRARY_PATH}"
export LD_LIBRARY_PATH="$work/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export ALMANAC_SWIFT_ENV="LIBRARY_PATH LD_LIBRARY_PATH"
link_flags=(-Xlinker -L -Xlinker "$work/lib" -Xlinker -rpath -Xlinker "$work/lib" -Xlinker -lalmanac_ffi)
"$toolchain" run "$root/swift/Benchmarks" swift build -c release "${link_flags[@]}" >&2
"$toolchain" run "$root/swift/Benchmarks" swift run -c release --skip-build "${link_flags[@]}" \
    AlmanacW9 "$store" "$runs" | tee -a "$results"

echo "bench-sdk: Kotlin (kotlin/benchmarks, JVM)" >&2
command -v mvn >/dev/null || { echo "bench-sdk: mvn (Maven 3) not found; install it (apt-get install maven)" >&2; exit 1; }
"$root/scripts/generate-bindings.sh" kotlin "$root/kotlin/target/generated-sources/uniffi"
mvn_flags=(-B --no-transfer-progress -q -Dstyle.color=never -Dalmanac.native.dir="$work/lib")
(cd "$root/kotlin" && mvn "${mvn_flags[@]}" -DskipTests install)
# Maven's exec output carries colour escapes even without a terminal: keep the result lines only.
(cd "$root/kotlin/benchmarks" && mvn "${mvn_flags[@]}" -Dw9.store="$store" -Dw9.runs="$runs" \
    package exec:exec) | sed 's/\x1b\[[0-9;]*m//g' | grep -E '^kotlin(-ffi)? [0-9.]+ [0-9]+$' | tee -a "$results"

# The overhead of each call over the same Rust call (`core-zone`: the core's query with the
# viewer zone resolved as the bindings resolve it), and over W4's own call (`core`).
awk '
    { ms[$1] = $2; count[$1] = $3; order[n++] = $1 }
    END {
        printf "\nW9, the W4 month view (%d occurrences), median of '"$runs"' warm calls:\n", count["core"]
        for (i = 0; i < n; i++) {
            k = order[i]
            if (count[k] != count["core"]) { printf "bench-sdk: %s read %d occurrences, not %d\n", k, count[k], count["core"]; bad = 1 }
            printf "  %-11s %8.2f ms   %+7.1f %% over the same Rust call   %+7.1f %% over W4 (core)\n", k, ms[k], (ms[k] / ms["core-zone"] - 1) * 100, (ms[k] / ms["core"] - 1) * 100
        }
        exit bad
    }' "$results"
