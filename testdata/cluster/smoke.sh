#!/usr/bin/env bash
# smoke.sh KUBECONFIG — check, with kubectl, that a cluster from cluster.sh behaves as kgit's
# tests need: a Deployment becomes available, a rolling update completes, a rollout to
# never-ready pods fails on its progress deadline, server-side apply and Leases work.
# Uses (and deletes) the namespace kgit-smoke.
set -euo pipefail
[[ $# -eq 1 ]] || {
	echo "usage: smoke.sh KUBECONFIG" >&2
	exit 2
}
export KUBECONFIG=$1
ns=kgit-smoke
k() { kubectl -n "$ns" "$@"; }
step() { echo "--- $*"; }
ms() { echo $((($(date +%s%N) - $1) / 1000000)) ms; }

deploy() { # name image replicas [pod annotations json]
	cat <<EOF
apiVersion: apps/v1
kind: Deployment
metadata: {name: $1, namespace: $ns}
spec:
  replicas: $3
  progressDeadlineSeconds: 5
  selector: {matchLabels: {app: $1}}
  template:
    metadata:
      labels: {app: $1}
      annotations: ${4:-{\}}
    spec:
      containers:
      - {name: main, image: $2}
EOF
}

kubectl version
kubectl get nodes -o wide
kubectl create namespace "$ns"

step "Deployment of 3 replicas: Running and Ready"
t=$(date +%s%N)
deploy web nginx:1.27 3 | kubectl apply -f -
k rollout status deploy/web --timeout=60s
echo "available after $(ms "$t")"
k get pods -l app=web -o wide
[[ $(k get pods -l app=web -o jsonpath='{range .items[*]}{.status.phase}/{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' | grep -c '^Running/True$') -eq 3 ]]

step "rolling update to a new image"
t=$(date +%s%N)
k set image deploy/web main=nginx:1.28
k rollout status deploy/web --timeout=60s
echo "rolled out after $(ms "$t")"
k get rs -l app=web
[[ $(k get pods -l app=web -o jsonpath='{range .items[*]}{.spec.containers[0].image}{"\n"}{end}' | sort -u) == nginx:1.28 ]]

step "rollout to pods annotated kgit.dev/kwok-pod: never-ready fails (progressDeadlineSeconds 5)"
deploy stuck nginx:1.27 2 '{kgit.dev/kwok-pod: never-ready}' | kubectl apply -f -
if out=$(k rollout status deploy/stuck --timeout=40s 2>&1); then
	echo "$out"
	echo "FAIL: rollout of never-ready pods succeeded" >&2
	exit 1
fi
echo "$out"
k get pods -l app=stuck
k get deploy stuck -o jsonpath='{range .status.conditions[*]}{.type}={.status} {.reason}{"\n"}{end}'
k get deploy stuck -o jsonpath='{.status.conditions[?(@.type=="Progressing")].reason}' | grep -qx ProgressDeadlineExceeded

step "a stuck rolling update of a good Deployment"
deploy web nginx:1.29 3 '{kgit.dev/kwok-pod: never-ready}' | kubectl apply -f -
if k rollout status deploy/web --timeout=40s; then
	echo "FAIL: rollout of never-ready pods succeeded" >&2
	exit 1
fi
k get pods -l app=web
k rollout undo deploy/web
k rollout status deploy/web --timeout=60s

step "server-side apply"
deploy ssa nginx:1.27 2 | kubectl apply --server-side --field-manager=kgit -f -
k rollout status deploy/ssa --timeout=60s
deploy ssa nginx:1.27 4 | kubectl apply --server-side --field-manager=kgit -f -
k rollout status deploy/ssa --timeout=60s
k get deploy ssa -o jsonpath='{.metadata.managedFields[*].manager}{"\n"}'
k scale deploy/ssa --replicas=1
k rollout status deploy/ssa --timeout=60s
[[ $(k get pods -l app=ssa --no-headers | wc -l) -eq 1 ]]

step "Lease (coordination.k8s.io)"
cat <<EOF | kubectl apply -f -
apiVersion: coordination.k8s.io/v1
kind: Lease
metadata: {name: kgit-lock, namespace: $ns}
spec: {holderIdentity: smoke, leaseDurationSeconds: 30}
EOF
k get lease kgit-lock -o jsonpath='{.spec.holderIdentity}{"\n"}'

step "cleanup"
kubectl delete namespace "$ns" --timeout=60s
echo "smoke: all checks passed"
