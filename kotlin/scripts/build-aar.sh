#!/usr/bin/env bash
# Builds the Android AAR (kotlin/android/build/outputs/aar/almanac-release.aar):
#   1. cargo ndk cross-compiles libalmanac_ffi.so (release) for arm64-v8a, armeabi-v7a, x86_64
#      into kotlin/android/src/main/jniLibs/<abi>/;
#   2. the UniFFI Kotlin sources are generated into kotlin/android/build/generated/uniffi;
#   3. `gradle assembleRelease` runs in kotlin/android/.
# Needs cargo-ndk, an Android NDK, the Android SDK, the rustup Android targets and Gradle. It checks
# for all of them first and stops with a list of what is missing; it never produces a partial AAR.
set -euo pipefail
kotlin="$(cd "$(dirname "$0")/.." && pwd)"
root="$(cd "$kotlin/.." && pwd)"
android="$kotlin/android"
abis=(arm64-v8a armeabi-v7a x86_64)
rust_targets=(aarch64-linux-android armv7-linux-androideabi x86_64-linux-android)

missing=()

sdk="${ANDROID_HOME:-${ANDROID_SDK_ROOT:-}}"
if [[ -z "$sdk" && -f "$android/local.properties" ]]; then
    sdk="$(sed -n 's/^sdk\.dir=//p' "$android/local.properties" | tail -n1)"
fi
if [[ -z "$sdk" || ! -d "$sdk" ]]; then
    missing+=("the Android SDK: set ANDROID_HOME (or sdk.dir in kotlin/android/local.properties)")
fi

ndk="${ANDROID_NDK_HOME:-${ANDROID_NDK_ROOT:-}}"
if [[ -z "$ndk" && -n "$sdk" && -d "$sdk/ndk" ]]; then
    ndk="$(find "$sdk/ndk" -mindepth 1 -maxdepth 1 -type d | sort -V | tail -n1)"
fi
if [[ -z "$ndk" || ! -f "$ndk/source.properties" ]]; then
    missing+=("an Android NDK: set ANDROID_NDK_HOME, or install one under \$ANDROID_HOME/ndk/ (sdkmanager 'ndk;<version>')")
fi

if ! cargo ndk --version >/dev/null 2>&1; then
    missing+=("cargo-ndk: cargo install cargo-ndk")
fi

if command -v rustup >/dev/null 2>&1; then
    installed="$(cd "$root" && rustup target list --installed)"
    for target in "${rust_targets[@]}"; do
        grep -qx "$target" <<<"$installed" || missing+=("the Rust target $target: rustup target add $target")
    done
fi

if [[ -x "$android/gradlew" ]]; then
    gradle=("$android/gradlew")
elif command -v gradle >/dev/null 2>&1; then
    gradle=(gradle)
else
    gradle=()
    missing+=("Gradle 8.13 or newer (on PATH, or a wrapper in kotlin/android/gradlew)")
fi

if ((${#missing[@]})); then
    {
        echo "build-aar.sh: cannot build the Android AAR; missing:"
        printf '  - %s\n' "${missing[@]}"
        echo "Nothing was built. (The JVM library is tested without these: kotlin/scripts/test.sh.)"
    } >&2
    exit 1
fi

export ANDROID_NDK_HOME="$ndk"
export ANDROID_HOME="$sdk"

cd "$root"
rm -rf "$android/src/main/jniLibs"
ndk_args=()
for abi in "${abis[@]}"; do ndk_args+=(-t "$abi"); done
cargo ndk "${ndk_args[@]}" -o "$android/src/main/jniLibs" build --release -p almanac-ffi

"$root/scripts/generate-bindings.sh" kotlin "$android/build/generated/uniffi"

cd "$android"
"${gradle[@]}" --no-daemon assembleRelease

aar="$android/build/outputs/aar/almanac-release.aar"
[[ -f "$aar" ]] || { echo "build-aar.sh: gradle finished but $aar is missing" >&2; exit 1; }
listing="$(jar tf "$aar" 2>/dev/null || unzip -Z1 "$aar")"
for abi in "${abis[@]}"; do
    grep -qx "jni/$abi/libalmanac_ffi.so" <<<"$listing" \
        || { echo "build-aar.sh: $aar lacks jni/$abi/libalmanac_ffi.so" >&2; exit 1; }
done
echo "$aar"
