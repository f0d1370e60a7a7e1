#!/usr/bin/env bash
# Provides a Swift toolchain for the Swift package in swift/.
#
# If `swift` is on PATH (a developer's Mac or Linux box), that one is used as is.
# Otherwise (Linux CI running as root, clean machine) a Debian trixie root made with
# `debootstrap --variant=minbase` is created once, Debian's `swiftlang` package (Swift 6)
# is installed inside it, and commands run there through chroot with the repository
# bind-mounted at its own path.
#
# Usage:
#   scripts/swift-toolchain.sh ensure                 # create/verify the toolchain (quiet when cached)
#   scripts/swift-toolchain.sh run <dir> <cmd...>     # run <cmd> with working directory <dir>
#                                                     # (<dir> must be inside the repository)
#   scripts/swift-toolchain.sh path                   # print the chroot path ("native" if none is used)
#
# Environment:
#   ALMANAC_CACHE_DIR      cache root (default /var/cache/almanac); the root lives in
#                          $ALMANAC_CACHE_DIR/swift-trixie, outside the repository
#   ALMANAC_SWIFT_ROOT     override the root directory itself
#   ALMANAC_DEBIAN_MIRROR  Debian mirror (default http://deb.debian.org/debian)
#   ALMANAC_SWIFT_CHROOT=1 use the chroot even if a native swift exists
#   ALMANAC_SWIFT_ENV      space-separated names of variables passed into the chroot
#                          (besides PATH/HOME/LANG/TERM, which are set by this script)
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cache_dir="${ALMANAC_CACHE_DIR:-/var/cache/almanac}"
root="${ALMANAC_SWIFT_ROOT:-$cache_dir/swift-trixie}"
mirror="${ALMANAC_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
suite="trixie"
# Bumping this (or the package list) forces a reinstall of an existing root.
marker_version="1"
packages=(swiftlang libc6-dev libstdc++-14-dev binutils gcc pkg-config ca-certificates)
marker="$root/.almanac-swift-toolchain-ok"
# Debian's swiftlang installs under /usr/libexec/swift; /usr/bin/swift is an absolute
# alternatives symlink, so check the real binary (it needs /proc mounted to run).
swift_bin="/usr/libexec/swift/bin/swift"
chroot_path="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

die() { echo "swift-toolchain: error: $*" >&2; exit 1; }
log() { echo "swift-toolchain: $*" >&2; }

use_native() {
    [[ "${ALMANAC_SWIFT_CHROOT:-0}" != "1" ]] && command -v swift >/dev/null 2>&1
}

marker_content() { echo "version=$marker_version suite=$suite packages=${packages[*]}"; }

root_is_complete() {
    [[ -f "$marker" ]] && [[ "$(cat "$marker")" == "$(marker_content)" ]] \
        && [[ -x "$root$swift_bin" ]]
}

need_root() {
    [[ "$(id -u)" == "0" ]] || die "no 'swift' on PATH, and the fallback Debian Swift root needs root \
(debootstrap, chroot, mount). Install Swift 6 (https://swift.org/install) or rerun as root."
    [[ "$(uname -s)" == "Linux" ]] || die "no 'swift' on PATH; the chroot fallback only works on Linux."
}

# Unmounts everything under $1 (deepest first). Used by traps and before (re)installing.
unmount_under() {
    local base="$1" m
    [[ -r /proc/self/mountinfo ]] || return 0
    # Field 5 of mountinfo is the mount point; sort reverse so children go first.
    while read -r m; do
        umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
    done < <(awk -v b="$base" '$5 == b || index($5, b "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r)
}

install_host_debootstrap() {
    command -v debootstrap >/dev/null 2>&1 && return 0
    command -v apt-get >/dev/null 2>&1 || die "debootstrap is missing and apt-get is unavailable to install it."
    log "installing debootstrap on the host (apt-get)"
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null 2>&1; then
        apt-get update -qq >/dev/null 2>&1 || die "apt-get update failed on the host."
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null \
            || die "could not install debootstrap on the host."
    fi
}

chroot_apt() {
    chroot "$root" /usr/bin/env -i PATH="$chroot_path" HOME=/root LANG=C.UTF-8 \
        DEBIAN_FRONTEND=noninteractive "$@"
}

create_root() {
    need_root
    install_host_debootstrap
    local lock="$cache_dir/.swift-trixie.lock"
    mkdir -p "$cache_dir"
    exec 9>"$lock"
    flock 9
    # Another process may have finished the install while we waited for the lock.
    if root_is_complete; then exec 9>&-; return 0; fi

    local start=$SECONDS logf="$cache_dir/swift-trixie-install.log"
    log "creating the Debian $suite Swift root in $root (one-time, ~2 min; log: $logf)"
    unmount_under "$root"
    rm -rf --one-file-system "$root"
    mkdir -p "$root"
    : >"$logf"
    if ! debootstrap --variant=minbase "$suite" "$root" "$mirror" >>"$logf" 2>&1; then
        tail -n 20 "$logf" >&2
        die "debootstrap $suite from $mirror failed (see $logf)."
    fi
    # debootstrap leaves the mirror in sources.list; make it explicit for later apt runs.
    echo "deb $mirror $suite main" >"$root/etc/apt/sources.list"
    # Keep daemons from starting inside the root during package installs.
    printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
    chmod +x "$root/usr/sbin/policy-rc.d"

    mount -t proc proc "$root/proc"
    trap 'unmount_under "$root"' EXIT
    if ! { chroot_apt apt-get update -qq \
           && chroot_apt apt-get install -y -qq --no-install-recommends "${packages[@]}"; } >>"$logf" 2>&1; then
        tail -n 20 "$logf" >&2
        die "installing ${packages[*]} inside the $suite root failed (see $logf)."
    fi
    chroot_apt apt-get clean >>"$logf" 2>&1 || true
    local version
    if ! version="$(chroot_apt swift --version 2>&1)"; then
        echo "$version" >&2
        die "swiftlang installed but 'swift --version' fails inside $root."
    fi
    unmount_under "$root"
    trap - EXIT
    marker_content >"$marker"
    exec 9>&-
    log "Swift root ready in $((SECONDS - start))s: $(head -n 1 <<<"$version")"
}

ensure() {
    if use_native; then return 0; fi
    root_is_complete || create_root
}

# Runs "$@" inside the root, working directory $1 (a directory inside the repository).
# Mounts live in a private mount namespace when possible, and are unmounted on exit anyway.
run_in_root() {
    local dir="$1"; shift
    mnt_repo="$root$repo"   # global: the EXIT trap runs after this function returns
    cleanup() {
        local p
        for p in "$mnt_repo" "$root/dev/pts" "$root/dev/shm" "$root/dev" "$root/proc"; do
            if mountpoint -q "$p" 2>/dev/null; then umount "$p" 2>/dev/null || umount -l "$p" 2>/dev/null || true; fi
        done
    }
    trap cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    mkdir -p "$mnt_repo"
    mount --bind "$repo" "$mnt_repo"
    mount -t proc proc "$root/proc"
    mount --bind /dev "$root/dev"
    if [[ -d /dev/pts ]] && [[ -d "$root/dev/pts" ]]; then mount --bind /dev/pts "$root/dev/pts" 2>/dev/null || true; fi
    if [[ -d /dev/shm ]] && [[ -d "$root/dev/shm" ]]; then mount --bind /dev/shm "$root/dev/shm" 2>/dev/null || true; fi

    local -a envs=(PATH="$chroot_path" HOME=/root LANG=C.UTF-8 TERM="${TERM:-dumb}" TMPDIR=/tmp)
    local name
    for name in ${ALMANAC_SWIFT_ENV:-}; do
        if [[ -n "${!name+x}" ]]; then envs+=("$name=${!name}"); fi
    done
    local rc=0
    chroot "$root" /usr/bin/env -i "${envs[@]}" /bin/sh -c 'cd "$1" && shift && exec "$@"' sh "$dir" "$@" || rc=$?
    return "$rc"
}

run() {
    [[ $# -ge 2 ]] || die "usage: $0 run <dir-inside-repo> <cmd...>"
    local dir
    dir="$(cd "$1" 2>/dev/null && pwd -P)" || die "no such directory: $1"
    shift
    if use_native; then
        cd "$dir" && exec "$@"
    fi
    case "$dir/" in "$repo/"*) ;; *) die "directory $dir is not inside the repository $repo";; esac
    ensure
    need_root
    if [[ "${ALMANAC_IN_MOUNT_NS:-}" != "1" ]] && command -v unshare >/dev/null 2>&1 \
        && unshare --mount --propagation private true 2>/dev/null; then
        # A private mount namespace: the mounts vanish with the process even if it is killed hard.
        ALMANAC_IN_MOUNT_NS=1 exec unshare --mount --propagation private "$0" run "$dir" "$@"
    fi
    run_in_root "$dir" "$@"
}

cmd="${1:-ensure}"
[[ $# -gt 0 ]] && shift
case "$cmd" in
    ensure) ensure ;;
    run) run "$@" ;;
    path) if use_native; then echo native; else echo "$root"; fi ;;
    -h|--help|help) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//' ;;
    *) die "unknown subcommand '$cmd' (expected ensure, run, path)" ;;
esac
