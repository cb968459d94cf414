#!/usr/bin/env bash
# Installs the real sops command (built from the Go module proxy) and age-keygen
# into ${KGIT_TOOLS_CACHE:-$HOME/.cache/kgit-tools}/bin, cached by version.
# The tests of manifest/sops find sops there (or on the PATH); with
# KGIT_REQUIRE_SOPS=1 they fail instead of skipping when it is absent.
# Prints the bin directory on its last line.
set -euo pipefail

SOPS_VERSION="${SOPS_VERSION:-v3.13.3}"
AGE_VERSION="${AGE_VERSION:-v1.3.2}"
cache="${KGIT_TOOLS_CACHE:-$HOME/.cache/kgit-tools}"
bin="$cache/bin"
stamp="$cache/sops-$SOPS_VERSION-age-$AGE_VERSION.ok"
mkdir -p "$bin"

if [[ ! -f "$stamp" || ! -x "$bin/sops" || ! -x "$bin/age-keygen" ]]; then
	# A module cache of its own would force a full download; the default one is shared.
	# Build outside any module so the project's go.mod is not touched.
	(cd "$cache" &&
		GOBIN="$bin" GOFLAGS=-mod=mod go install "github.com/getsops/sops/v3/cmd/sops@$SOPS_VERSION" &&
		GOBIN="$bin" GOFLAGS=-mod=mod go install "filippo.io/age/cmd/age-keygen@$AGE_VERSION")
	touch "$stamp"
fi
"$bin/sops" --version --disable-version-check >&2 || true
echo "$bin"
