#!/usr/bin/env bash
# Builds and tests the Swift package against the Rust library, on Linux or macOS.
#
#  1. scripts/generate-bindings.sh swift: cargo builds target/debug/libalmanac_ffi.* on the
#     host and uniffi-bindgen generates the Swift bindings, header and modulemap;
#  2. the generated files are copied into the package's (gitignored) generated-source folders;
#  3. `swift build` and `swift test` run on the package manifest at the repository root
#     (Package.swift, the one an app adds by URL), linking libalmanac_ffi from target/debug. Without a
#     native `swift`, they run in the Debian Swift root of scripts/swift-toolchain.sh (made on
#     first use; needs root).
#
# Extra arguments are passed to `swift test` (e.g. --filter SyncTests).
# Exits non-zero if any step or test fails.
set -euo pipefail

swift_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
repo="$(cd "$swift_dir/.." && pwd -P)"
toolchain="$repo/scripts/swift-toolchain.sh"
lib_dir="$repo/target/debug"

# The toolchain first: on a clean machine this is the slow, root-only step, and it fails
# with a clear message before any Rust is built.
"$toolchain" ensure

gen_dir="$(mktemp -d "${TMPDIR:-/tmp}/almanac-swift-gen.XXXXXX")"
trap 'rm -rf "$gen_dir"' EXIT
echo "test.sh: generating Swift bindings (cargo build + uniffi-bindgen)" >&2
"$repo/scripts/generate-bindings.sh" swift "$gen_dir"
# generate-bindings.sh builds into $CARGO_TARGET_DIR when set; the Swift root only sees the
# repository, so the library is copied into its target/debug.
built="${CARGO_TARGET_DIR:-$repo/target}/debug/libalmanac_ffi.so"
if [[ "$(uname -s)" != Darwin && "$built" != "$lib_dir/libalmanac_ffi.so" ]]; then
    mkdir -p "$lib_dir" && cp "$built" "$lib_dir/"
fi
# The sync tests start the real server on loopback; it is copied beside the library for the
# same reason (cmp first: an unchanged binary keeps its timestamp).
echo "test.sh: cargo build -p almanac-server" >&2
(cd "$repo" && cargo build --quiet -p almanac-server)
server_built="${CARGO_TARGET_DIR:-$repo/target}/debug/almanac-server"
if [[ "$server_built" != "$lib_dir/almanac-server" ]]; then
    mkdir -p "$lib_dir"
    cmp -s "$server_built" "$lib_dir/almanac-server" 2>/dev/null || cp "$server_built" "$lib_dir/"
fi
export ALMANAC_SERVER_BIN="$lib_dir/almanac-server"

shopt -s nullglob
swift_files=("$gen_dir"/*.swift)
shopt -u nullglob
if [[ ${#swift_files[@]} -ne 1 ]]; then
    echo "test.sh: error: expected exactly one generated .swift file in $gen_dir, found ${#swift_files[@]}" >&2
    exit 1
fi
for f in almanac_ffiFFI.h almanac_ffiFFI.modulemap; do
    [[ -f "$gen_dir/$f" ]] || { echo "test.sh: error: uniffi-bindgen did not produce $f" >&2; exit 1; }
done

# Copy only what changed, so SwiftPM's incremental build stays warm.
install_generated() {
    local src="$1" dst="$2"
    mkdir -p "$(dirname "$dst")"
    cmp -s "$src" "$dst" 2>/dev/null || cp "$src" "$dst"
}
install_generated "${swift_files[0]}" "$swift_dir/Sources/AlmanacFFI/AlmanacFFI.swift"
install_generated "$gen_dir/almanac_ffiFFI.h" "$swift_dir/Sources/almanac_ffiFFI/almanac_ffiFFI.h"
# A SwiftPM system-library target reads its module map from module.modulemap.
install_generated "$gen_dir/almanac_ffiFFI.modulemap" "$swift_dir/Sources/almanac_ffiFFI/module.modulemap"

# Link libalmanac_ffi from target/debug and find it at run time (rpath + LD_LIBRARY_PATH).
export LIBRARY_PATH="$lib_dir${LIBRARY_PATH:+:$LIBRARY_PATH}"
export LD_LIBRARY_PATH="$lib_dir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export ALMANAC_SWIFT_ENV="LIBRARY_PATH LD_LIBRARY_PATH ALMANAC_SERVER_BIN"
link_flags=(-Xlinker -L -Xlinker "$lib_dir" -Xlinker -rpath -Xlinker "$lib_dir" -Xlinker -lalmanac_ffi)

echo "test.sh: swift build" >&2
"$toolchain" run "$repo" swift build "${link_flags[@]}"
echo "test.sh: swift test" >&2
# The tests are XCTest; without this flag Swift Testing adds a "0 tests passed" summary.
"$toolchain" run "$repo" swift test --disable-swift-testing "${link_flags[@]}" "$@"

# The consumer check: a separate package depending on this one by path, running the README's
# "Use from Swift" code (which must be its main.swift, verbatim). Skipped when a filter was
# given, so `test.sh --filter X` stays quick.
if [[ $# -eq 0 ]]; then
    consumer="$repo/examples/swift-consumer"
    main="$consumer/Sources/AlmanacConsumer/main.swift"
    readme_block="$(awk '/<!-- swift-consumer:/ {found=1; next} found && /^```swift$/ {inside=1; next} inside && /^```$/ {exit} inside {print}' "$repo/README.md")"
    if [[ "$readme_block" != "$(cat "$main")" ]]; then
        echo "test.sh: README.md's \"Use from Swift\" code differs from $main" >&2
        diff <(printf '%s\n' "$readme_block") "$main" >&2 || true
        exit 1
    fi
    echo "test.sh: consumer check (examples/swift-consumer)" >&2
    "$toolchain" run "$consumer" swift run "${link_flags[@]}" AlmanacConsumer
fi
