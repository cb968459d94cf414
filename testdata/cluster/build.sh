#!/usr/bin/env bash
# build.sh — build the local Kubernetes control plane binaries (etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler, kwok) from the Go module proxy into a cache
# directory keyed by their versions, and print that bin directory on stdout.
#
#   testdata/cluster/build.sh            # build if needed, print the bin dir
#   BIN=$(testdata/cluster/build.sh)
#
# Cache: ${KGIT_CLUSTER_CACHE:-$HOME/.cache/kgit-cluster}/<key>/bin, where <key> names the
# versions pinned in k8s/go.mod and kwok/go.mod. When every binary is there this does
# nothing (well under a second). A cold build takes 15-40 minutes on 2 cores (37 min measured on a busy machine) and needs
# about 4 GB for the Go build and module caches (left in their default places, so a
# rebuild after a cache wipe of only the binaries is a relink).
#
# Progress goes to stderr; stdout carries only the bin directory.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# modver MODFILE MODULE: the version MODFILE requires for MODULE.
modver() {
	awk -v m="$2" '($1 == m || ($1 == "require" && $2 == m)) { print $NF; exit }' "$1"
}

k8s_version=$(modver "$here/k8s/go.mod" k8s.io/kubernetes)
etcd_version=$(modver "$here/k8s/go.mod" go.etcd.io/etcd/server/v3)
kwok_version=$(modver "$here/kwok/go.mod" sigs.k8s.io/kwok)
if [[ -z $k8s_version || -z $etcd_version || -z $kwok_version ]]; then
	echo "build.sh: cannot read versions from $here/k8s/go.mod and $here/kwok/go.mod" >&2
	exit 1
fi

key="${k8s_version}-etcd${etcd_version#v}-kwok${kwok_version#v}"
cache=${KGIT_CLUSTER_CACHE:-$HOME/.cache/kgit-cluster}
dest="$cache/$key"
bin="$dest/bin"
binaries=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok)

have_all() {
	local b
	for b in "${binaries[@]}"; do
		[[ -x $bin/$b ]] || return 1
	done
}

if have_all; then
	echo "$bin"
	exit 0
fi

mkdir -p "$dest"
# One build at a time per cache entry (it takes ~3 GB of memory and both cores).
exec 9>"$dest/.lock"
if ! flock -n 9; then
	echo "build.sh: another build of $key is running; waiting for it" >&2
	flock 9
fi
if have_all; then
	echo "$bin"
	exit 0
fi

# Never let a go.work above us, or GOFLAGS from the caller, change what is built.
export GOWORK=off GOFLAGS=-mod=readonly GOTOOLCHAIN=${GOTOOLCHAIN:-local}

tmp="$dest/bin.tmp.$$"
rm -rf "$tmp"
mkdir -p "$tmp"
trap 'rm -rf "$tmp"' EXIT

# Without these the servers report v0.0.0-master+$Format:%H$ and kubectl refuses the version.
minor=${k8s_version#v1.}
minor=${minor%%.*}
ldflags="-s -w"
for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
	ldflags+=" -X $p.gitVersion=$k8s_version -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean"
done

start=$SECONDS
echo "build.sh: building $key into $bin (cold: 15-40 min on 2 cores)" >&2
(
	cd "$here/k8s"
	go build -trimpath -ldflags "$ldflags" -o "$tmp/" \
		k8s.io/kubernetes/cmd/kube-apiserver \
		k8s.io/kubernetes/cmd/kube-controller-manager \
		k8s.io/kubernetes/cmd/kube-scheduler \
		go.etcd.io/etcd/server/v3
)
mv "$tmp/server" "$tmp/etcd" # -o DIR/ names the etcd binary after its package, "server"
echo "build.sh: control plane built in $((SECONDS - start)) s" >&2
(
	cd "$here/kwok"
	go build -trimpath -ldflags "-s -w" -o "$tmp/kwok" sigs.k8s.io/kwok/cmd/kwok
)
echo "build.sh: kwok built, $((SECONDS - start)) s in all" >&2

# Keep kwok's own default stages next to the binaries, for reference (cluster.sh uses the
# committed stages.yaml, which is built from these).
kwokdir=$(cd "$here/kwok" && go list -m -f '{{.Dir}}' sigs.k8s.io/kwok)
mkdir -p "$tmp/../kwok-stages.tmp.$$"
cp -r "$kwokdir/kustomize/stage/." "$tmp/../kwok-stages.tmp.$$/"
chmod -R u+w "$tmp/../kwok-stages.tmp.$$"
rm -rf "$dest/kwok-stages"
mv "$tmp/../kwok-stages.tmp.$$" "$dest/kwok-stages"

rm -rf "$bin"
mv "$tmp" "$bin"
trap - EXIT
"$bin/kube-apiserver" --version >&2
"$bin/etcd" --version | head -1 >&2
echo "$bin"
