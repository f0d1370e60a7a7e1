#!/usr/bin/env bash
# Makes a Swift release an app adds by repository URL in Xcode (decision 0023):
#
#   swift/scripts/release.sh <version> <download-base-url>
#   e.g. swift/scripts/release.sh 0.2.0 https://github.com/almanac-dev/almanac/releases/download/0.2.0
#
#  1. swift/scripts/build-xcframework.sh (macOS + Xcode; elsewhere it stops with a clear message)
#     builds almanac_ffiFFI.xcframework.zip, its checksum and the generated AlmanacFFI.swift;
#  2. in a temporary worktree at HEAD, a release commit adds the generated AlmanacFFI.swift
#     (gitignored on main, so it is force-added here only) and sets the root Package.swift's
#     `releasedXCFramework` to the zip's URL and checksum;
#  3. the commit is tagged <version> (SwiftPM resolves semantic-version tags: "Up to Next
#     Major Version" from <version>). The branch you ran it from is not changed.
# Then upload the zip to <download-base-url>/almanac_ffiFFI.xcframework.zip and push the tag.
set -euo pipefail
die() { echo "release: error: $*" >&2; exit 1; }

version="${1:-}"
base="${2:-}"
[[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] \
    || die "usage: release.sh <version: MAJOR.MINOR.PATCH> <https download base URL>"
[[ "$base" == https://* ]] || die "the download base URL must be https:// (SwiftPM refuses others)"

swift_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
repo="$(cd "$swift_dir/.." && pwd -P)"
git -C "$repo" rev-parse -q --verify "refs/tags/$version" >/dev/null && die "tag $version exists"

out="$swift_dir/build"
"$swift_dir/scripts/build-xcframework.sh" "$out"
zip="$out/almanac_ffiFFI.xcframework.zip"
checksum="$(cat "$zip.checksum")"
[[ "$checksum" =~ ^[0-9a-f]{64}$ ]] || die "unexpected checksum '$checksum' in $zip.checksum"

tree="$(mktemp -d "${TMPDIR:-/tmp}/almanac-release.XXXXXX")"
trap 'git -C "$repo" worktree remove --force "$tree" >/dev/null 2>&1 || true' EXIT
git -C "$repo" worktree add --detach "$tree" HEAD >/dev/null
mkdir -p "$tree/swift/Sources/AlmanacFFI"
cp "$out/AlmanacFFI/AlmanacFFI.swift" "$tree/swift/Sources/AlmanacFFI/AlmanacFFI.swift"
url="$base/almanac_ffiFFI.xcframework.zip"
line='let releasedXCFramework: (url: String, checksum: String)? = nil'
grep -qxF "$line" "$tree/Package.swift" || die "Package.swift lacks the line: $line"
sed -i.bak "s|^let releasedXCFramework: (url: String, checksum: String)? = nil\$|let releasedXCFramework: (url: String, checksum: String)? = (url: \"$url\", checksum: \"$checksum\")|" \
    "$tree/Package.swift"
rm -f "$tree/Package.swift.bak"
git -C "$tree" add -f swift/Sources/AlmanacFFI/AlmanacFFI.swift Package.swift
git -C "$tree" commit -q -m "Release $version: the generated Swift bindings and the XCFramework's URL and checksum"
git -C "$tree" tag "$version"
echo "release: tagged $version ($(git -C "$repo" rev-parse --short "$version"))." >&2
echo "release: upload $zip to $url, then: git push origin $version" >&2
