#!/usr/bin/env bash
# Builds almanac_ffiFFI.xcframework (static libalmanac_ffi for iOS devices, the iOS simulator
# and macOS) plus the generated Swift bindings, for consumption from Xcode / SwiftPM on Apple
# platforms, and zips it with its SwiftPM checksum for a remote binaryTarget. Needs macOS with
# Xcode (xcodebuild, lipo) and rustup.
#
# Output (default swift/build/):
#   almanac_ffiFFI.xcframework      static libraries + almanac_ffiFFI.h + module.modulemap; the
#                                   name is the root Package.swift's binaryTarget's (SwiftPM
#                                   requires the two to match)
#   almanac_ffiFFI.xcframework.zip  the same, zipped, for a release (swift/scripts/release.sh)
#   almanac_ffiFFI.xcframework.zip.checksum  `swift package compute-checksum` of the zip
#   AlmanacFFI/AlmanacFFI.swift     the generated Swift bindings (module AlmanacFFI)
# Usage: swift/scripts/build-xcframework.sh [out-dir]
set -euo pipefail

die() { echo "build-xcframework: error: $*" >&2; exit 1; }

command -v xcodebuild >/dev/null 2>&1 \
    || die "xcodebuild not found. Building the XCFramework needs macOS with Xcode installed \
(xcode-select --install is not enough). On Linux, use swift/scripts/test.sh instead."
command -v lipo >/dev/null 2>&1 || die "lipo not found (it ships with Xcode)."
command -v cargo >/dev/null 2>&1 || die "cargo not found (install Rust with rustup)."
command -v rustup >/dev/null 2>&1 || die "rustup not found (needed to add the Apple targets)."

swift_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
repo="$(cd "$swift_dir/.." && pwd -P)"
out="${1:-$swift_dir/build}"
mkdir -p "$out"
out="$(cd "$out" && pwd -P)"
lib="libalmanac_ffi.a"
ios_targets=(aarch64-apple-ios)
sim_targets=(aarch64-apple-ios-sim x86_64-apple-ios)
mac_targets=(aarch64-apple-darwin x86_64-apple-darwin)

cd "$repo"
rustup target add "${ios_targets[@]}" "${sim_targets[@]}" "${mac_targets[@]}" >/dev/null
for target in "${ios_targets[@]}" "${sim_targets[@]}" "${mac_targets[@]}"; do
    echo "build-xcframework: cargo build --release --target $target" >&2
    cargo build --quiet --release -p almanac-ffi --lib --target "$target"
done

# Library-mode generation from the host's (macOS) dylib: the metadata is the same on every target.
host="$(rustc -vV | sed -n 's/^host: //p')"
cargo build --quiet --release -p almanac-ffi --features cli --bin uniffi-bindgen
gen="$(mktemp -d)"
trap 'rm -rf "$gen"' EXIT
./target/release/uniffi-bindgen generate --library "target/$host/release/libalmanac_ffi.dylib" \
    --language swift --out-dir "$gen" >/dev/null
mkdir -p "$gen/headers"
cp "$gen/almanac_ffiFFI.h" "$gen/headers/"
cp "$gen/almanac_ffiFFI.modulemap" "$gen/headers/module.modulemap"

# One library per platform: fat (lipo) archives for the simulator and macOS.
fat() {
    local name="$1"; shift
    local -a inputs=()
    local t
    for t in "$@"; do inputs+=("target/$t/release/$lib"); done
    mkdir -p "$gen/$name"
    lipo -create "${inputs[@]}" -output "$gen/$name/$lib"
    echo "$gen/$name/$lib"
}
ios_lib="target/${ios_targets[0]}/release/$lib"
sim_lib="$(fat ios-simulator "${sim_targets[@]}")"
mac_lib="$(fat macos "${mac_targets[@]}")"

framework="almanac_ffiFFI.xcframework"
rm -rf "${out:?}/$framework" "$out/$framework.zip"
xcodebuild -create-xcframework \
    -library "$ios_lib" -headers "$gen/headers" \
    -library "$sim_lib" -headers "$gen/headers" \
    -library "$mac_lib" -headers "$gen/headers" \
    -output "$out/$framework" >/dev/null
mkdir -p "$out/AlmanacFFI"
cp "$gen"/*.swift "$out/AlmanacFFI/"
# The zip holds the .xcframework folder at its top level, as SwiftPM expects; ditto keeps the
# symlinks and permissions inside it.
(cd "$out" && ditto -c -k --sequesterRsrc --keepParent "$framework" "$framework.zip")
swift package compute-checksum "$out/$framework.zip" >"$out/$framework.zip.checksum"
echo "build-xcframework: wrote $out/$framework, $out/$framework.zip (checksum \
$(cat "$out/$framework.zip.checksum")) and $out/AlmanacFFI/" >&2
