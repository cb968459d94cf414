#!/usr/bin/env bash
# Measures kgit against what a user could use instead, in one run on this machine.
#   noop N     no-op sync of a repository of N Deployments (replicas 0), process backend,
#              against `git ls-tree -r HEAD | git cat-file --batch` reading the same blobs:
#              a cron sync (the previous no-op left its verdict in the state directory),
#              and the same without the verdict (a full pass: the first no-op after a
#              change, or a lost state directory)
#   scale      0 -> 100 running pods, against a shell starting 100 detached processes
#              (each in its own session, stdio closed) and waiting until all 100 run;
#              and the supervisors' memory (RSS, PSS) per pod, kgit-supervisor's and
#              kgit's own binary's; the machine's CPU use with the 100 idle pods
#   ingress    the ingress controller idle (an Ingress, a Service, one pod that sleeps):
#              its CPU time against an idle pod's supervisor's, in the same windows of
#              10 s (as "scale" measures idle pods), and its memory
#   idle       the CPU that waiting costs: 20 idle pods (sleep) and 20 CronJobs waiting
#              for their time (@yearly), in one app, each group's CPU time (utime +
#              stime of its processes, from /proc) over the same 60 s windows: a
#              CronJob's scheduler against an idle pod's supervisor, per process; and
#              the schedulers' memory (RSS, PSS)
#   roll       a 100-replica 25%/25% rolling update, readiness by an exec probe every
#              second (the pods and probes of BenchmarkRollingUpdate100), each round
#              from nothing (sync v1, timed sync v2, down), against bench/rollpeer: one
#              process that starts the same containers, runs the same probes and does
#              the Deployment controller's arithmetic, and nothing else (what a rollout
#              of these pods costs this machine); and the floor the probe timings allow
#   git        first sync of a repository of 10,000 commits (file:// URL) against
#              `git clone --bare` (kgit fetching with the git command line, and with
#              go-git); a sync after one new commit against `git fetch`
# Usage: bench/perf.sh [RUNS [SECTION...]]   (median of RUNS, default 5; sections: noop
# scale ingress idle roll git, default all)
set -euo pipefail
runs=${1:-5}
sections=${*:2}
sections=${sections:-noop scale ingress idle roll git}
want() { [[ " $sections " == *" $1 "* ]]; }
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
export KGIT_STATE_DIR=$work/state KGIT_PROCESS_ROOT=$work/root
trap '"$work/kgit" down --repo "$work/roll" --app roll >/dev/null 2>&1 || true; "$work/kgit" down --repo "$work/scale" --app scale >/dev/null 2>&1 || true; "$work/kgit" down --repo "$work/ing" --app ing >/dev/null 2>&1 || true; "$work/kgit" down --repo "$work/idle" --app idle >/dev/null 2>&1 || true; peer_stop; rm -rf "$work"' EXIT
# kgit and kgit-supervisor side by side, as the README's `CGO_ENABLED=0 go build ./cmd/...` puts them
(cd "$root" && CGO_ENABLED=0 go build -o "$work/" ./cmd/kgit ./cmd/kgit-supervisor ./bench/rollpeer)
now() { date +%s.%N; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
# elapsed CMD...: the seconds CMD takes. A command that fails is said on stderr and
# voids every figure (report refuses to print one): a peer that fails at once must
# never pass for a fast one.
elapsed() {
  local t0 t1 rc=0
  t0=$(now); "$@" >/dev/null 2>"$work/elapsed.err" || rc=$?; t1=$(now)
  if ((rc != 0)); then
    { echo "FAILED (exit $rc): $*"; tail -5 "$work/elapsed.err"; } >&2
    touch "$work/failed"
  fi
  echo "$t1 - $t0" | bc
}
diff_ok() { "$@" || [[ $? == 1 ]]; } # kgit diff: exit 1 means differences, not failure
peak() { /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -1; } # KiB
report() {
  if [[ -e $work/failed ]]; then echo "a command failed (above): no figure for \"$1\"" >&2; exit 1; fi
  printf '%-44s %9s   %-40s %9s   ratio %s\n' "$1" "$2" "$3" "$4" "$(echo "scale=2; $2 / $4" | bc)"
}
git_commit() { git -C "$1" add -A && git -C "$1" -c user.name=b -c user.email=b@b commit -qm "$2"; }

# The peer of "0 -> 100 running pods": a shell starts 100 detached processes (each in a
# session of its own, stdio closed, as a pod's supervisor is) and waits until all 100
# run: until each has exec'd sleep (before that it is a copy of this shell), as kgit's
# sync waits until its 100 pods run. Its PIDs go to peer.pids for peer_stop. (It used
# to run `sh -c "exec -a ..."`: sh is dash here, which has no `exec -a`, so every
# process failed at once and nothing was started.)
peer_spawn() {
  local pids=() p c n deadline=$((SECONDS + 60))
  for _ in $(seq 100); do
    setsid sleep 3600 </dev/null >/dev/null 2>&1 &
    pids+=($!)
  done
  printf '%s\n' "${pids[@]}" >"$work/peer.pids"
  while :; do
    n=0
    for p in "${pids[@]}"; do # read is a builtin: polling forks nothing
      c=; read -r c <"/proc/$p/comm" 2>/dev/null || true
      [[ $c == sleep ]] && n=$((n + 1))
    done
    ((n == 100)) && return 0
    ((SECONDS < deadline)) || { echo "peer: $n of 100 processes running after 60 s" >&2; return 1; }
  done
}
# peer_stop kills the peer's processes, and only them, and waits until they are gone.
peer_stop() {
  [[ -s $work/peer.pids ]] || return 0
  local p
  kill $(cat "$work/peer.pids") 2>/dev/null || true
  for p in $(cat "$work/peer.pids"); do
    while [[ -e /proc/$p ]] && [[ $(awk '{print $3}' "/proc/$p/stat" 2>/dev/null) != Z ]]; do sleep 0.01; done
  done
  : >"$work/peer.pids"
}

sleepers() { # FILE N: a Deployment of N idle pods (sleep)
  cat > "$1" <<YAML
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: $2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 1
      containers: [{name: main, image: example.com/web:1, command: [sleep, "3600"]}]
YAML
}

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
  "$work/kgit" sync --repo "$work/noop$n" --app noop$n >/dev/null 2>&1 # the no-op that leaves the verdict
  # the peer must read every blob: count them once
  blobs=$(git -C "$work/noop$n" ls-tree -r HEAD | awk '{print $3}' | git -C "$work/noop$n" cat-file --batch-check | grep -c ' blob ')
  ((blobs == n)) || { echo "peer: $blobs blobs, want $n" >&2; exit 1; }
  ks=(); fs=(); gs=() # kgit and its peer alternate, so that load falls on both alike
  for i in $(seq "$runs"); do
    ks+=("$(elapsed "$work/kgit" sync --repo "$work/noop$n" --app noop$n)")
    gs+=("$(elapsed bash -o pipefail -c "git -C $work/noop$n ls-tree -r HEAD | awk '{print \$3}' | git -C $work/noop$n cat-file --batch")")
    rm -rf "$work/state/steady"
    fs+=("$(elapsed "$work/kgit" sync --repo "$work/noop$n" --app noop$n)")
  done
  g=$(printf '%s\n' "${gs[@]}" | median)
  report "no-op sync, $n Deployments (s)" "$(printf '%s\n' "${ks[@]}" | median)" "git ls-tree | cat-file --batch (s)" "$g"
  report "  the same without the verdict (s)" "$(printf '%s\n' "${fs[@]}" | median)" "git ls-tree | cat-file --batch (s)" "$g"
  echo "  kgit peak RSS: $(( $(peak "$work/kgit" sync --repo "$work/noop$n" --app noop$n) / 1024 )) MB (with the verdict)," \
    "$(( $(rm -rf "$work/state/steady"; peak "$work/kgit" sync --repo "$work/noop$n" --app noop$n) / 1024 )) MB (without)"
done

if want scale; then
mkdir -p "$work/scale"; git -C "$work/scale" init -q -b main
scale_manifest() {
  sleepers "$work/scale/web.yaml" "$1"
  git -C "$work/scale" add . && git_commit "$work/scale" "$1"
}
ks=(); ss=()
for i in $(seq "$runs"); do
  scale_manifest 0; "$work/kgit" sync --repo "$work/scale" --app scale >/dev/null 2>&1
  scale_manifest 100; ks+=("$(elapsed "$work/kgit" sync --repo "$work/scale" --app scale)")
  ss+=("$(elapsed peer_spawn)")
  peer_stop
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
# the same pods probed over gRPC (grpc.health.v1 over HTTP/2, kgit's own client)
sed -i 's|httpGet: {path: /healthz, port: 8080}|grpc: {port: 8080}|' "$work/scale/web.yaml"
git_commit "$work/scale" grpc
"$work/kgit" sync --repo "$work/scale" --app scale >/dev/null 2>&1
sleep 5
supervisor_memory "kgit-supervisor, grpc probes every second"
"$work/kgit" down --repo "$work/scale" --app scale >/dev/null 2>&1
fi

if want ingress; then
mkdir -p "$work/ing"; git -C "$work/ing" init -q -b main
cat > "$work/ing/app.yaml" <<YAML
apiVersion: apps/v1
kind: Deployment
metadata: {name: idle}
spec:
  replicas: 1
  selector: {matchLabels: {app: idle}}
  template:
    metadata: {labels: {app: idle}}
    spec:
      terminationGracePeriodSeconds: 1
      containers: [{name: main, image: example.com/idle:1, command: [sleep, "3600"]}]
---
apiVersion: v1
kind: Service
metadata: {name: idle}
spec:
  selector: {app: idle}
  ports: [{port: 80}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: idle}
spec:
  defaultBackend: {service: {name: idle, port: {number: 80}}}
YAML
git_commit "$work/ing" ingress
KGIT_INGRESS_ADDR=127.0.0.1:0 "$work/kgit" sync --repo "$work/ing" --app ing >/dev/null 2>&1
ctl=$(pgrep -f "__ingress $work/root/ingress"); sup=$(pgrep -f "__supervise --root $work/root" | head -1); prx=$(pgrep -f "__proxy --root $work/root" | head -1)
# time on a CPU of every thread of a process, in µs (/proc/PID/schedstat is the main
# thread's only, and a Go program's timers run on the others)
ticks() { cat /proc/"$1"/task/*/schedstat | awk '{s += $1} END {print int(s / 1000)}'; }
ic=(); sc=(); pc=()
for i in $(seq "$runs"); do # the three over the same 10 s, so load falls on all alike
  c0=$(ticks "$ctl"); s0=$(ticks "$sup"); p0=$(ticks "$prx"); sleep 10
  ic+=($(( $(ticks "$ctl") - c0 ))); sc+=($(( $(ticks "$sup") - s0 ))); pc+=($(( $(ticks "$prx") - p0 )))
done
echo "  idle CPU over 10 s (median of $runs, µs): ingress controller $(printf '%s\n' "${ic[@]}" | median), a pod's supervisor $(printf '%s\n' "${sc[@]}" | median), the Service's proxy $(printf '%s\n' "${pc[@]}" | median)"
echo "  ingress controller memory: RSS $(awk '/VmRSS/ {print $2}' /proc/$ctl/status) KiB (anonymous $(awk '/RssAnon/ {print $2}' /proc/$ctl/status) KiB), PSS $(awk '/^Pss:/ {print $2}' /proc/$ctl/smaps_rollup) KiB"
"$work/kgit" down --repo "$work/ing" --app ing >/dev/null 2>&1
fi

if want idle; then
mkdir -p "$work/idle"; git -C "$work/idle" init -q -b main
sleepers "$work/idle/web.yaml" 20
for i in $(seq 0 19); do
  cat > "$work/idle/cron-$i.yaml" <<YAML
apiVersion: batch/v1
kind: CronJob
metadata: {name: cron-$i}
spec:
  schedule: "@yearly"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers: [{name: main, image: example.com/job:1, command: ["true"]}]
YAML
done
git_commit "$work/idle" idle
"$work/kgit" sync --repo "$work/idle" --app idle >/dev/null 2>&1
cpu_ticks() { # PATTERN: the CPU ticks (utime + stime) of the processes whose command line has it
  local t=0 p
  for p in $(pgrep -f "$1"); do t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done
  echo $t
}
hz=$(getconf CLK_TCK); sup=(); sch=()
for i in $(seq "$runs"); do # both groups over the same window: load falls on both alike
  s0=$(cpu_ticks "__supervise --root $work/root"); c0=$(cpu_ticks "__cron --backend process $work/root")
  sleep 60
  s1=$(cpu_ticks "__supervise --root $work/root"); c1=$(cpu_ticks "__cron --backend process $work/root")
  sup+=("$(echo "scale=3; ($s1 - $s0) * 1000 / $hz / 20" | bc)") # ms per process per minute
  sch+=("$(echo "scale=3; ($c1 - $c0) * 1000 / $hz / 20" | bc)")
done
echo "idle CPU, ms per process per minute (20 of each, $runs windows of 60 s):"
echo "  a CronJob's scheduler waiting: $(printf '%s\n' "${sch[@]}" | median)   an idle pod's supervisor: $(printf '%s\n' "${sup[@]}" | median)"
echo "  windows: schedulers ${sch[*]}; supervisors ${sup[*]}"
rss=0; pss=0; n=0 # the schedulers' memory, as supervisor_memory gives the supervisors'
for p in $(pgrep -f "__cron --backend process $work/root"); do
  rss=$((rss + $(awk '/VmRSS/ {print $2}' /proc/$p/status))); pss=$((pss + $(awk '/^Pss:/ {print $2}' /proc/$p/smaps_rollup))); n=$((n + 1))
done
echo "  a CronJob's scheduler (kgit's own binary) over $n: RSS $((rss / n)) KiB, PSS $((pss / n)) KiB"
"$work/kgit" down --repo "$work/idle" --app idle >/dev/null 2>&1
fi

if want roll; then
mkdir -p "$work/roll" "$work/roll-pods"; git -C "$work/roll" init -q -b main
roll_manifest() { # VERSION: BenchmarkRollingUpdate100's Deployment
  cat > "$work/roll/web.yaml" <<YAML
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 100
  progressDeadlineSeconds: 600
  strategy:
    rollingUpdate: {maxSurge: 25%, maxUnavailable: 25%}
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 2
      containers:
      - name: main
        image: example.com/web:$1
        workingDir: $work/roll-pods
        command: ["sh", "-c", "sleep 0.2; touch \$(POD_NAME).ready; exec sleep 3600"]
        readinessProbe:
          exec:
            command: [sh, -c, "test -f \$(POD_NAME).ready"]
          periodSeconds: 1
YAML
  git_commit "$work/roll" "$1" && git -C "$work/roll" tag "$1"
}
roll_manifest v1; roll_manifest v2
# peer_roll: the peer's rollout, in seconds (it prints them; its setup is not timed)
peer_roll() {
  local out
  if ! out=$("$work/rollpeer" -n 100 -dir "$work/roll-pods" 2>"$work/elapsed.err"); then
    { echo "FAILED: rollpeer"; tail -5 "$work/elapsed.err"; } >&2
    touch "$work/failed"
  fi
  echo "${out:-0}"
}
ks=(); ps=()
for i in $(seq "$runs"); do # each round from nothing, kgit and the peer alike
  "$work/kgit" sync --repo "$work/roll" --app roll --ref v1 >/dev/null 2>&1
  ks+=("$(elapsed "$work/kgit" sync --repo "$work/roll" --app roll --ref v2)")
  n=$(ls "$work/root/pods" | grep -c web) || true
  ((n == 100)) || { echo "kgit left $n pods, want 100" >&2; touch "$work/failed"; }
  "$work/kgit" down --repo "$work/roll" --app roll >/dev/null 2>&1
  rm -f "$work/roll-pods"/*.ready
  ps+=("$(peer_roll)")
done
report "100-replica rolling update (s)" "$(printf '%s\n' "${ks[@]}" | median)" "rollpeer: same pods and probes (s)" "$(printf '%s\n' "${ps[@]}" | median)"
echo "  the least the probe timings allow: 2.0 s (two waves of 50 pods, each ready at its second probe); kgit / that: $(echo "scale=2; $(printf '%s\n' "${ks[@]}" | median) / 2" | bc)"
echo "  rounds: kgit ${ks[*]}; rollpeer ${ps[*]}"
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
  kl+=("$(KGIT_GIT=go-git elapsed diff_ok "$work/kgit" diff --repo "$url" --app hist)")
  rm -rf "$work/state/git"
  kc+=("$(elapsed diff_ok "$work/kgit" diff --repo "$url" --app hist)")
  gc+=("$(elapsed git clone -q --bare "$url" "$work/bare.git")")
  # the image only: `s/app:[0-9]*/` also hit the labels ({app: a} -> {app:x1 a}), so
  # kgit read an invalid commit and exited 3 before diffing, unseen behind >/dev/null
  (cd "$work/hist" && sed -i "s|example.com/app:[^\"]*|example.com/app:x$i|" app.yaml && git_commit . "next $i")
  kf+=("$(elapsed diff_ok "$work/kgit" diff --repo "$url" --app hist)")
  gf+=("$(elapsed git -C "$work/bare.git" fetch -q origin '+refs/heads/*:refs/heads/*')")
done
report "first sync of 10,000 commits (diff, s)" "$(printf '%s\n' "${kc[@]}" | median)" "git clone --bare (s)" "$(printf '%s\n' "${gc[@]}" | median)"
report "  the same with KGIT_GIT=go-git (s)" "$(printf '%s\n' "${kl[@]}" | median)" "git clone --bare (s)" "$(printf '%s\n' "${gc[@]}" | median)"
report "sync after one new commit (diff, s)" "$(printf '%s\n' "${kf[@]}" | median)" "git fetch (s)" "$(printf '%s\n' "${gf[@]}" | median)"
