#!/usr/bin/env bash
# Measures kgit's docker backend against docker compose on the same engine, in one run:
#   1. from nothing to 30 running containers of one image;
#   2. a rolling update of those 30 to a new image version.
# compose: `docker-compose up -d --scale web=30` (it returns once the containers are
# started; it has no readiness gate), then the same command with the new image (which
# recreates every container at once). kgit: `kgit sync --backend docker` of a Deployment
# of 30 replicas without probes (ready = running), then of the new image with
# maxSurge/maxUnavailable 25%, which keeps 23 of 30 available all along.
# engine: the least the engine itself allows, the same containers made with nothing but
# its API (curl on its socket, all 30 at once): create + start each; then for the update
# stop (grace 2 s) + remove each old one and create + start its replacement, all at once.
# tender: the RSS of each app's kgit-tender (the host process that probes and restarts its
# pods between kgit's commands), for a one-pod app (probed by HTTP every second) and for
# the 30-pod app, and per pod.
# Usage: bench/docker-vs-compose.sh [RUNS]   (median of RUNS, default 3)
set -euo pipefail
runs=${1:-3}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
export KGIT_STATE_DIR=$work/state KGIT_BACKEND=docker
sock=/var/run/docker.sock
case "${DOCKER_HOST:-}" in unix://*) sock=${DOCKER_HOST#unix://} ;; esac
export sock
engine() { # engine up VERSION | engine roll VERSION | engine down
  case $1 in
  up) seq 30 | xargs -P 30 -I{} sh -c 'curl -sf --unix-socket "$sock" -H "Content-Type: application/json" -X POST "http://e/containers/create?name=kgitbench-e$2-{}" -d "{\"Image\":\"kgit-bench/app:$2\",\"Cmd\":[\"sleep\"],\"StopTimeout\":2}" >/dev/null && curl -sf --unix-socket "$sock" -X POST "http://e/containers/kgitbench-e$2-{}/start"' _ {} "$2" ;;
  roll) seq 30 | xargs -P 30 -I{} sh -c 'curl -sf --unix-socket "$sock" -X POST "http://e/containers/kgitbench-e$3-{}/stop?t=2" && curl -sf --unix-socket "$sock" -X DELETE "http://e/containers/kgitbench-e$3-{}" && curl -sf --unix-socket "$sock" -H "Content-Type: application/json" -X POST "http://e/containers/create?name=kgitbench-e$2-{}" -d "{\"Image\":\"kgit-bench/app:$2\",\"Cmd\":[\"sleep\"],\"StopTimeout\":2}" >/dev/null && curl -sf --unix-socket "$sock" -X POST "http://e/containers/kgitbench-e$2-{}/start"' _ {} "$2" v1 ;;
  down) docker ps -aq --filter name=kgitbench-e | xargs -r docker rm -f >/dev/null ;;
  esac
}
cleanup() {
  engine down || true
  (cd "$work/compose" 2>/dev/null && docker-compose -p kgitbench down -t 1 >/dev/null 2>&1) || true
  "$work/kgit" down --repo "$work/repo" --app bench >/dev/null 2>&1 || true
  "$work/kgit" down --repo "$work/one" --app one >/dev/null 2>&1 || true
  docker rmi -f kgit-bench/app:v1 kgit-bench/app:v2 >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

echo "building kgit and the test image (FROM scratch, static test app)..." >&2
# kgit-tender beside kgit, as the README's `CGO_ENABLED=0 go build ./cmd/...` puts it: it tends the app's pods
(cd "$root" && CGO_ENABLED=0 go build -o "$work/" ./cmd/kgit ./cmd/kgit-tender && CGO_ENABLED=0 go build -o "$work/img/testapp" ./testdata/testapp)
for v in v1 v2; do
  printf 'FROM scratch\nCOPY testapp /testapp\nENV VERSION=%s\nENTRYPOINT ["/testapp"]\nCMD ["sleep"]\n' $v > "$work/img/Dockerfile"
  docker build -q -t kgit-bench/app:$v "$work/img" >/dev/null
done

mkdir -p "$work/repo" "$work/compose"
git -C "$work/repo" init -q -b main
manifest() {
  cat > "$work/repo/web.yaml" <<YAML
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 30
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 2
      containers:
      - {name: main, image: kgit-bench/app:$1, args: [sleep]}
YAML
  git -C "$work/repo" add web.yaml && git -C "$work/repo" -c user.name=b -c user.email=b@b commit -qm "$1"
  git -C "$work/repo" tag -f "$1" >/dev/null
}
manifest v1; manifest v2
compose() {
  printf 'services:\n  web:\n    image: kgit-bench/app:%s\n    command: [sleep]\n    stop_grace_period: 2s\n' "$1" > "$work/compose/docker-compose.yml"
}
now() { date +%s.%N; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
# running IMAGE: after each timed step (outside its time), exactly 30 containers of
# IMAGE must run on the engine, or the figure is not what it says: the step failed.
running() {
  local n
  n=$(docker ps -q --filter status=running --filter "ancestor=kgit-bench/app:$1" | wc -l)
  if ((n != 30)); then echo "expected 30 running containers of kgit-bench/app:$1, found $n" >&2; exit 1; fi
}

# tender_rss APP PODS: the RSS (KiB) of the app's tender (kgit-tender __tend APP), and per
# pod; a missing tender voids the run (it is what keeps probing the pods between syncs).
tender_rss() {
  local p
  p=$(pgrep -f "kgit-tender __tend $1\$" | head -1)
  [[ -n $p ]] || { echo "no kgit-tender for app $1" >&2; exit 1; }
  echo "tender_rss_$2 $(awk '/VmRSS/ {print $2}' "/proc/$p/status")" >> "$work/times"
}
# a one-pod app: the tender's whole cost falls on its one pod
manifest1() {
  mkdir -p "$work/one"; git -C "$work/one" init -q -b main
  printf 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: one}\nspec:\n  replicas: 1\n  selector: {matchLabels: {app: one}}\n  template:\n    metadata: {labels: {app: one}}\n    spec:\n      containers:\n      - name: main\n        image: kgit-bench/app:v1\n        args: [serve, ":8080"]\n        readinessProbe: {httpGet: {path: /healthz, port: 8080}, periodSeconds: 1}\n        livenessProbe: {httpGet: {path: /healthz, port: 8080}, periodSeconds: 1}\n' >"$work/one/one.yaml"
  git -C "$work/one" add . && git -C "$work/one" -c user.name=b -c user.email=b@b commit -qm one
}
manifest1

for i in $(seq "$runs"); do
  "$work/kgit" sync --repo "$work/one" --app one 2>/dev/null
  sleep 5 # a few probe periods of the tender's own
  tender_rss one 1
  "$work/kgit" down --repo "$work/one" --app one 2>/dev/null
  t0=$(now); "$work/kgit" sync --repo "$work/repo" --app bench --ref v1 2>/dev/null; t1=$(now)
  running v1
  t2=$(now); "$work/kgit" sync --repo "$work/repo" --app bench --ref v2 2>/dev/null; t3=$(now)
  running v2
  tender_rss bench 30
  "$work/kgit" down --repo "$work/repo" --app bench 2>/dev/null
  echo "kgit_up $(echo "$t1 - $t0" | bc)" >> "$work/times"
  echo "kgit_roll $(echo "$t3 - $t2" | bc)" >> "$work/times"

  cd "$work/compose"
  compose v1; t0=$(now); docker-compose -p kgitbench up -d --scale web=30 >/dev/null 2>&1; t1=$(now)
  running v1
  compose v2; t2=$(now); docker-compose -p kgitbench up -d --scale web=30 >/dev/null 2>&1; t3=$(now)
  running v2
  docker-compose -p kgitbench down -t 1 >/dev/null 2>&1 || true
  cd - >/dev/null
  echo "compose_up $(echo "$t1 - $t0" | bc)" >> "$work/times"
  echo "compose_roll $(echo "$t3 - $t2" | bc)" >> "$work/times"

  t0=$(now); engine up v1; t1=$(now)
  running v1
  t2=$(now); engine roll v2; t3=$(now)
  running v2
  engine down
  echo "engine_up $(echo "$t1 - $t0" | bc)" >> "$work/times"
  echo "engine_roll $(echo "$t3 - $t2" | bc)" >> "$work/times"
done
cat "$work/times" >&2 # each run's figures
for k in kgit_up compose_up engine_up kgit_roll compose_roll engine_roll; do
  printf '%-13s median of %d: %6.2f s\n' "$k" "$runs" "$(grep "^$k " "$work/times" | cut -d' ' -f2 | median)"
done
for n in 1 30; do
  r=$(grep "^tender_rss_$n " "$work/times" | cut -d' ' -f2 | median)
  printf 'kgit-tender of a %2d-pod app, median of %d: RSS %5d KiB, %5d KiB per pod\n' "$n" "$runs" "$r" "$((r / n))"
done
