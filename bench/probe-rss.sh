#!/usr/bin/env bash
# Prints the RSS and PSS (KiB) per pod of 10 pods supervised by SUPERVISOR (a
# kgit-supervisor binary: this tree's, or another commit's as the peer), each serving
# testapp with a readiness probe (grpc|http) every second, 10 s after a sync.
# Usage: KGIT=path/to/kgit TESTAPP=path/to/testapp bench/probe-rss.sh SUPERVISOR grpc|http
set -euo pipefail
sup=$1 probe=$2
work=$(mktemp -d)
export KGIT_STATE_DIR=$work/state KGIT_PROCESS_ROOT=$work/root KGIT_SUPERVISOR=$sup
mkdir -p "$work/repo"
if [[ $probe == grpc ]]; then p='grpc: {port: 8080}'; else p='httpGet: {path: /healthz, port: 8080}'; fi
cat > "$work/repo/web.yaml" <<YAML
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 10
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: main
        image: example.com/web:1
        command: [$TESTAPP, serve, "\$(POD_IP):8080"]
        readinessProbe: {$p, periodSeconds: 1}
YAML
git -C "$work/repo" init -q -b main && git -C "$work/repo" add . && git -C "$work/repo" -c user.name=b -c user.email=b@b commit -qm x
$KGIT sync --repo "$work/repo" --app rss >/dev/null 2>&1
sleep 10
rss=0 pss=0 n=0
for p in $(pgrep -f "__supervise --root $work/root"); do
  rss=$((rss + $(awk '/VmRSS/ {print $2}' /proc/$p/status)))
  pss=$((pss + $(awk '/^Pss:/ {print $2}' /proc/$p/smaps_rollup)))
  n=$((n + 1))
done
$KGIT down --repo "$work/repo" --app rss >/dev/null 2>&1
rm -rf "$work"
echo "$((rss / n)) $((pss / n)) $n"
