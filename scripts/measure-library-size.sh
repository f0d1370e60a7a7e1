#!/usr/bin/env bash
# The stripped size of libalmanac_ffi (release profile) for x86_64 Linux and aarch64 Linux.
# Not part of `make test` (a second full release build); figures go to docs/benchmarks.md.
#
# The aarch64 build needs the Rust target and a C cross compiler (SQLite and ring are C):
# this script adds the target with rustup and installs Debian's gcc-aarch64-linux-gnu and
# binutils-aarch64-linux-gnu with apt-get when they are missing (root only; otherwise it says
# what to install). Android (aarch64-linux-android) is not built: it needs the NDK's clang and
# sysroot, which `make aar` (cargo-ndk) uses and this machine does not have.
#
# Usage: scripts/measure-library-size.sh          (honours CARGO_TARGET_DIR)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
target_dir="${CARGO_TARGET_DIR:-$root/target}"
cross_target=aarch64-unknown-linux-gnu
cd "$root"

if ! command -v aarch64-linux-gnu-gcc >/dev/null 2>&1 || ! command -v aarch64-linux-gnu-strip >/dev/null 2>&1; then
    if [[ "$(id -u)" != "0" ]] || ! command -v apt-get >/dev/null 2>&1; then
        echo "measure-library-size: install gcc-aarch64-linux-gnu and binutils-aarch64-linux-gnu first" >&2
        exit 1
    fi
    echo "measure-library-size: installing gcc-aarch64-linux-gnu (apt-get)" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        gcc-aarch64-linux-gnu binutils-aarch64-linux-gnu libc6-dev-arm64-cross >/dev/null
fi
rustup target list --installed | grep -qx "$cross_target" || rustup target add "$cross_target"

echo "measure-library-size: cargo build --release (x86_64-unknown-linux-gnu)" >&2
cargo build --quiet --release -p almanac-ffi --lib
echo "measure-library-size: cargo build --release --target $cross_target" >&2
CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc \
    CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc \
    AR_aarch64_unknown_linux_gnu=aarch64-linux-gnu-ar \
    cargo build --quiet --release -p almanac-ffi --lib --target "$cross_target"

# The release profile already strips symbols; strip again with each target's own strip so the
# figure is what an app would ship whatever the profile says.
out="$target_dir/library-size"
mkdir -p "$out"
report() {
    local name="$1" lib="$2" strip="$3"
    "$strip" -o "$out/$name.so" "$lib"
    local size
    size=$(stat -c %s "$out/$name.so")
    printf '%-28s %10d bytes (%.2f MiB)   %s\n' "$name" "$size" "$(echo "$size / 1048576" | bc -l)" \
        "$(file -b "$out/$name.so" | cut -d, -f1-2)"
}
report x86_64-unknown-linux-gnu "$target_dir/release/libalmanac_ffi.so" strip
report "$cross_target" "$target_dir/$cross_target/release/libalmanac_ffi.so" aarch64-linux-gnu-strip
