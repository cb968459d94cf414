#!/usr/bin/env bash
# Measures kgit against what a user could use instead, in one run on this machine.
#   noop N     no-op sync of a repository of N Deployments (replicas 0), process backend,
#              against `git ls-tree -r HEAD | git cat-file --batch` reading the same blobs
#   scale      0 -> 100 running pods, against a shell starting 100 detached processes;
#              and the supervisors' memory (RSS, PSS) per pod, kgit-supervisor's and
#              kgit's own binary's; the machine's CPU use with the 100 idle pods
#   git        first sync of a repository of 10,000 commits (file:// URL) against
#              `git clone --bare` (kgit fetching with the git command line, and with
#              go-git); a sync after one new commit against `git fetch`
# Usage: bench/perf.sh [RUNS [SECTION...]]   (median of RUNS, default 5; sections: noop
# scale git, default all)
set -euo pipefail
runs=${1:-5}
sections=${*:2}
sections=${sections:-noop scale git}
want() { [[ " $sections " == *" $1 "* ]]; }
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
export KGIT_STATE_DIR=$work/state KGIT_PROCESS_ROOT=$work/root
trap '"$work/kgit" down --repo "$work/scale" --app scale >/dev/null 2>&1 || true; pkill -f "kgit-bench-sleep" || true; rm -rf "$work"' EXIT
# kgit and kgit-supervisor side by side, as `go install ./cmd/...` puts them
(cd "$root" && go build -o "$work/" ./cmd/kgit ./cmd/kgit-supervisor)
now() { date +%s.%N; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
elapsed() { local t0; t0=$(now); "$@" >/dev/null 2>&1; echo "$(now) - $t0" | bc; }
peak() { /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -1; } # KiB
report() { printf '%-44s %9s   %-40s %9s   ratio %s\n' "$1" "$2" "$3" "$4" "$(echo "scale=2; $2 / $4" | bc)"; }
git_commit() { git -C "$1" add -A && git -C "$1" -c user.name=b -c user.email=b@b commit -qm "$2"; }

deployments() { # DIR N
  mkdir -p "$1"; git -C "$1" init -q -b main
  for i in $(seq 0 $(($2 - 1))); do
    cat > "$1/app-$i.yaml" <<YAML
apiVersion: apps/v1
kind: Deployment
metadata: {name: app-$i}
spec:
  replicas: 0
  selector: {matchLabels: {app: app-$i}}
  template:
    metadata: {labels: {app: app-$i}}
    spec:
      containers: [{name: main, image: "example.com/app:$i", command: [sleep, "3600"]}]
YAML
  done
  git -C "$1" add . && git_commit "$1" "$2 deployments"
}

want noop && for n in 100 1000 10000; do
  deployments "$work/noop$n" $n
  "$work/kgit" sync --repo "$work/noop$n" --app noop$n --timeout 10m >/dev/null 2>&1
  k=$(for i in $(seq "$runs"); do elapsed "$work/kgit" sync --repo "$work/noop$n" --app noop$n; done | median)
  g=$(for i in $(seq "$runs"); do elapsed sh -c "git -C $work/noop$n ls-tree -r HEAD | awk '{print \$3}' | git -C $work/noop$n cat-file --batch"; done | median)
  report "no-op sync, $n Deployments (s)" "$k" "git ls-tree | cat-file --batch (s)" "$g"
  echo "  kgit peak RSS: $(( $(peak "$work/kgit" sync --repo "$work/noop$n" --app noop$n) / 1024 )) MB"
done

if want scale; then
mkdir -p "$work/scale"; git -C "$work/scale" init -q -b main
scale_manifest() {
  cat > "$work/scale/web.yaml" <<YAML
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: $1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 1
      containers: [{name: main, image: example.com/web:1, command: [sleep, "3600"]}]
YAML
  git -C "$work/scale" add . && git_commit "$work/scale" "$1"
}
ks=(); ss=()
for i in $(seq "$runs"); do
  scale_manifest 0; "$work/kgit" sync --repo "$work/scale" --app scale >/dev/null 2>&1
  scale_manifest 100; ks+=("$(elapsed "$work/kgit" sync --repo "$work/scale" --app scale)")
  ss+=("$(elapsed sh -c 'for i in $(seq 100); do setsid sh -c "exec -a kgit-bench-sleep sleep 3600" </dev/null >/dev/null 2>&1 & done; wait')")
  pkill -f kgit-bench-sleep || true
done
report "scale 0 -> 100 running pods (s)" "$(printf '%s\n' "${ks[@]}" | median)" "shell: 100 detached processes (s)" "$(printf '%s\n' "${ss[@]}" | median)"
supervisor_memory() { # LABEL: the RSS and PSS of the running supervisors, per pod
  local rss=0 pss=0 n=0 p
  for p in $(pgrep -f "__supervise --root $work/root"); do
    rss=$((rss + $(awk '/VmRSS/ {print $2}' /proc/$p/status)))
    pss=$((pss + $(awk '/^Pss:/ {print $2}' /proc/$p/smaps_rollup)))
    n=$((n + 1))
  done
  echo "  $1 per pod over $n pods: RSS $((rss / n)) KiB, PSS $((pss / n)) KiB"
}
supervisor_memory "kgit-supervisor"
busy() { awk '/^cpu / {print $2+$3+$4+$7+$8, $5+$6}' /proc/stat; }
b0=$(busy); sleep 10; b1=$(busy)
echo "$b0 $b1" | awk '{w=$3-$1; i=$4-$2; printf "  100 idle pods: the machine %.1f%% busy over 10 s\n", 100*w/(w+i)}'
# the same pods supervised by kgit's own binary (no kgit-supervisor beside it)
"$work/kgit" down --repo "$work/scale" --app scale >/dev/null 2>&1
KGIT_SUPERVISOR=$work/kgit "$work/kgit" sync --repo "$work/scale" --app scale >/dev/null 2>&1
supervisor_memory "kgit's own binary as the supervisor"
"$work/kgit" down --repo "$work/scale" --app scale >/dev/null 2>&1
# pods that serve HTTP and are probed every second (httpGet readiness and liveness)
(cd "$root/testdata/testapp" && CGO_ENABLED=0 go build -o "$work/testapp" .)
cat > "$work/scale/web.yaml" <<YAML
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 50
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: main
        image: example.com/web:1
        command: [$work/testapp, serve, "\$(POD_IP):8080"]
        readinessProbe: {httpGet: {path: /healthz, port: 8080}, periodSeconds: 1}
        livenessProbe: {httpGet: {path: /healthz, port: 8080}, periodSeconds: 1}
YAML
git_commit "$work/scale" probed
"$work/kgit" sync --repo "$work/scale" --app scale >/dev/null 2>&1
sleep 5 # a few probe periods
supervisor_memory "kgit-supervisor, httpGet probes every second"
"$work/kgit" down --repo "$work/scale" --app scale >/dev/null 2>&1
fi

want git || exit 0
mkdir -p "$work/hist"; git -C "$work/hist" init -q -b main
{ # 10,000 commits, each changing the image of one Deployment, through fast-import
  for i in $(seq 1 10000); do
    printf 'commit refs/heads/main\ncommitter b <b@b> %d +0000\ndata <<EOF\ncommit %d\nEOF\n' $((1700000000 + i)) $i
    printf 'M 100644 inline app.yaml\ndata <<EOF\n'
    printf 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: app}\nspec:\n  replicas: 0\n  selector: {matchLabels: {app: a}}\n  template:\n    metadata: {labels: {app: a}}\n    spec: {containers: [{name: main, image: "example.com/app:%d", command: [sleep, "1"]}]}\n' $i
    printf 'EOF\n'
  done
} | git -C "$work/hist" fast-import --quiet
git -C "$work/hist" reset -q --hard main
url="file://$work/hist"
kc=(); kl=(); gc=(); kf=(); gf=()
for i in $(seq "$runs"); do
  rm -rf "$work/state/git" "$work/bare.git"
  kl+=("$(KGIT_GIT=go-git elapsed "$work/kgit" diff --repo "$url" --app hist)")
  rm -rf "$work/state/git"
  kc+=("$(elapsed "$work/kgit" diff --repo "$url" --app hist)")
  gc+=("$(elapsed git clone -q --bare "$url" "$work/bare.git")")
  (cd "$work/hist" && sed -i "s/app:[0-9]*/app:x$i/" app.yaml && git_commit . "next $i")
  kf+=("$(elapsed "$work/kgit" diff --repo "$url" --app hist)")
  gf+=("$(elapsed git -C "$work/bare.git" fetch -q origin '+refs/heads/*:refs/heads/*')")
done
report "first sync of 10,000 commits (diff, s)" "$(printf '%s\n' "${kc[@]}" | median)" "git clone --bare (s)" "$(printf '%s\n' "${gc[@]}" | median)"
report "  the same with KGIT_GIT=go-git (s)" "$(printf '%s\n' "${kl[@]}" | median)" "git clone --bare (s)" "$(printf '%s\n' "${gc[@]}" | median)"
report "sync after one new commit (diff, s)" "$(printf '%s\n' "${kf[@]}" | median)" "git fetch (s)" "$(printf '%s\n' "${gf[@]}" | median)"
