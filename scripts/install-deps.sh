#!/usr/bin/env bash
# Installs what `make test` needs and the machine may lack, using only package registries:
# Maven and a JDK for the Kotlin tests (Debian packages). Rust must already be installed
# (rustup). The Swift toolchain is provisioned on demand by scripts/swift-toolchain.sh.
# Quiet when everything is present.
set -euo pipefail

missing=()
command -v java >/dev/null 2>&1 || missing+=(openjdk-17-jdk-headless)
command -v mvn >/dev/null 2>&1 || missing+=(maven)
command -v cargo >/dev/null 2>&1 || { echo "install-deps: cargo not found; install Rust with rustup first" >&2; exit 1; }

if ((${#missing[@]})); then
    if [[ "$(id -u)" != "0" ]] || ! command -v apt-get >/dev/null 2>&1; then
        echo "install-deps: missing ${missing[*]}; install them with your package manager" >&2
        exit 1
    fi
    echo "install-deps: installing ${missing[*]}" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
