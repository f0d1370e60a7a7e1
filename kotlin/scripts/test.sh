#!/usr/bin/env bash
# Runs the Kotlin/JVM tests: builds the host library, generates the UniFFI Kotlin sources, then
# `mvn test` in kotlin/. Extra arguments go to Maven (e.g. -Dmaven.repo.local=/tmp/m2).
# Exits non-zero if anything fails.
set -euo pipefail
kotlin="$(cd "$(dirname "$0")/.." && pwd)"
root="$(cd "$kotlin/.." && pwd)"

command -v cargo >/dev/null || { echo "kotlin/scripts/test.sh: cargo not found" >&2; exit 1; }
command -v mvn >/dev/null || { echo "kotlin/scripts/test.sh: mvn (Maven 3) not found; install it (apt-get install maven)" >&2; exit 1; }

# Into the pom's almanac.generated.dir default; this also builds ../target/debug/libalmanac_ffi.so.
"$root/scripts/generate-bindings.sh" kotlin "$kotlin/target/generated-sources/uniffi"

cd "$kotlin"
exec mvn -B --no-transfer-progress -Dstyle.color=never test "$@"
