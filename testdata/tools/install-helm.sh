#!/usr/bin/env bash
# Installs the helm command that manifest/render runs for Helm charts ("helm template"),
# built from the Go module proxy, into a cache outside the repository:
#   ${KGIT_TOOLS_CACHE:-$HOME/.cache/kgit-tools}/bin/helm
# It does nothing when that helm is already there at the pinned version. Prints the
# bin folder on stdout, so a caller can do: PATH="$(testdata/tools/install-helm.sh):$PATH"
set -euo pipefail
version="${KGIT_HELM_VERSION:-v4.3.2}"
cache="${KGIT_TOOLS_CACHE:-$HOME/.cache/kgit-tools}"
bin="$cache/bin"
stamp="$cache/helm.version"
if [ -x "$bin/helm" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$version" ]; then
	echo "$bin"
	exit 0
fi
mkdir -p "$bin"
echo "install-helm: building helm.sh/helm/v4/cmd/helm@$version into $bin" >&2
# GOFLAGS from the caller (e.g. kgit's build tags) are not helm's business.
GOFLAGS=-buildvcs=false CGO_ENABLED=0 GOBIN="$bin" go install -ldflags='-s -w' "helm.sh/helm/v4/cmd/helm@$version" >&2
echo "$version" >"$stamp"
echo "$bin"
