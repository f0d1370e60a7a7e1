#!/usr/bin/env bash
# Runs the Kotlin/JVM tests and the consumer check:
#   1. builds the host library and generates the UniFFI Kotlin sources (scripts/generate-bindings.sh);
#   2. builds almanac-server, which the loopback sync tests start;
#   3. `mvn install` in kotlin/: compiles, runs the JUnit tests, installs dev.almanac:almanac;
#   4. builds and runs examples/kotlin-consumer, a separate Maven project that depends on the
#      installed artifact (the README's "Use from Kotlin" code).
# Extra arguments go to both Maven runs (e.g. -Dmaven.repo.local=/tmp/m2). Honours
# CARGO_TARGET_DIR. Exits non-zero if anything fails.
set -euo pipefail
kotlin="$(cd "$(dirname "$0")/.." && pwd)"
root="$(cd "$kotlin/.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"

command -v cargo >/dev/null || { echo "kotlin/scripts/test.sh: cargo not found" >&2; exit 1; }
command -v mvn >/dev/null || { echo "kotlin/scripts/test.sh: mvn (Maven 3) not found; install it (apt-get install maven)" >&2; exit 1; }

# Into the pom's almanac.generated.dir default; this also builds $target/debug/libalmanac_ffi.so.
"$root/scripts/generate-bindings.sh" kotlin "$kotlin/target/generated-sources/uniffi"
(cd "$root" && cargo build --quiet -p almanac-server)

mvn_flags=(-B --no-transfer-progress -Dstyle.color=never -Dalmanac.native.dir="$target/debug")
(cd "$kotlin" && mvn "${mvn_flags[@]}" install "$@")

echo "kotlin/scripts/test.sh: consumer check (examples/kotlin-consumer)" >&2
# The README's "Use from Kotlin" block must be the consumer's Main.kt, verbatim.
main="$root/examples/kotlin-consumer/src/main/kotlin/Main.kt"
readme_block="$(awk '/<!-- kotlin-consumer:/ {found=1; next} found && /^```kotlin$/ {inside=1; next} inside && /^```$/ {exit} inside {print}' "$root/README.md")"
if [[ "$readme_block" != "$(cat "$main")" ]]; then
    echo "kotlin/scripts/test.sh: README.md's \"Use from Kotlin\" code differs from $main" >&2
    diff <(printf '%s\n' "$readme_block") "$main" >&2 || true
    exit 1
fi
cd "$root/examples/kotlin-consumer"
mvn "${mvn_flags[@]}" -q package exec:exec "$@"
