#!/usr/bin/env bash
# cluster.sh — a local Kubernetes control plane for trying and testing kgit: etcd,
# kube-apiserver, kube-controller-manager, kube-scheduler, and kwok as the node (pods become
# Running and Ready with no container runtime). Everything listens on 127.0.0.1 only.
set -euo pipefail

usage() {
	cat <<'EOF'
usage: cluster.sh up DIR           start a cluster whose state, logs and kubeconfig live in DIR;
                                   prints the kubeconfig path once the API server is ready and
                                   the node is Ready
       cluster.sh down DIR         stop every process "up DIR" started and remove its state
                                   (DIR/logs is kept, for post-mortems)
       cluster.sh kubeconfig DIR   print the kubeconfig path
       cluster.sh status DIR       show which processes run (exit 1 if any is missing)

  DIR/kubeconfig: cluster-admin (client certificate, group system:masters), server
  https://127.0.0.1:PORT, CA included. Logs: DIR/logs/*.log. Processes: DIR/run/*.pid.

environment:
  KGIT_CLUSTER_BIN        directory with etcd, kube-apiserver, kube-controller-manager,
                          kube-scheduler, kwok (default: the output of build.sh next to this
                          script, which builds them on first use: 15-40 min cold)
  KGIT_CLUSTER_CACHE      build cache root (see build.sh)
  KGIT_CLUSTER_API_PORT   kube-apiserver port (default: a free port)
  KGIT_CLUSTER_ETCD_PORT  etcd client port (default: a free port; peer port is a free one too)
  KGIT_CLUSTER_NODES      number of kwok nodes, named kwok-node-0.. (default 1)
  KGIT_CLUSTER_TIMEOUT    seconds to wait for readiness (default 60)

test hooks (see stages.yaml): a Pod (template) annotated  kgit.dev/kwok-pod: never-ready
runs but never becomes Ready; one labelled  pod-container-running-failed.stage.kwok.x-k8s.io: "true"
becomes Ready, then fails with exit code 1.
EOF
}

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
components=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok)

die() {
	echo "cluster.sh: $*" >&2
	exit 1
}

# port_in_use PORT: true if any TCP socket (v4 or v6) has PORT as its local port.
port_in_use() {
	local hex
	hex=$(printf '%04X' "$1")
	awk -v h=":$hex" 'FNR > 1 && substr($2, length($2) - 4) == h { found = 1 } END { exit !found }' \
		/proc/net/tcp /proc/net/tcp6 2>/dev/null
}

# free_port: a port in 20000-32767 (below the ephemeral range) that nothing uses and that this
# run has not handed out yet.
taken=" "
free_port() {
	local p i
	for i in $(seq 200); do
		p=$((20000 + RANDOM % 12768))
		[[ $taken == *" $p "* ]] && continue
		port_in_use "$p" && continue
		taken+="$p "
		echo "$p"
		return
	done
	die "no free port found"
}

# alive NAME: the process recorded in run/NAME.pid exists and is still that binary.
alive() {
	local pidfile="$dir/run/$1.pid" pid exe
	[[ -f $pidfile ]] || return 1
	pid=$(<"$pidfile")
	[[ -n $pid && -d /proc/$pid ]] || return 1
	exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || return 1
	[[ ${exe##*/} == "$1" || ${exe##*/} == "$1 (deleted)" ]]
}

# start NAME ARGS...: start $bin/NAME in its own session, detached, logging to logs/NAME.log.
start() {
	local name=$1
	shift
	setsid "$bin/$name" "$@" </dev/null >>"$dir/logs/$name.log" 2>&1 &
	echo $! >"$dir/run/$name.pid"
}

# stop NAME: SIGTERM, then SIGKILL after 10 s.
stop() {
	local name=$1 pid i
	if alive "$name"; then
		pid=$(<"$dir/run/$name.pid")
		kill -TERM "$pid" 2>/dev/null || true
		for i in $(seq 100); do
			alive "$name" || break
			sleep 0.1
		done
		if alive "$name"; then
			echo "cluster.sh: $name (pid $pid) did not stop in 10 s; killing it" >&2
			kill -KILL "$pid" 2>/dev/null || true
			sleep 0.2
		fi
	fi
	rm -f "$dir/run/$name.pid"
}

stop_all() {
	local i
	for ((i = ${#components[@]} - 1; i >= 0; i--)); do
		stop "${components[i]}"
	done
}

# api PATH [curl args...]: a request to the API server as the admin.
api() {
	local path=$1
	shift
	curl -sS --max-time 5 --cacert "$dir/pki/ca.crt" --cert "$dir/pki/admin.crt" --key "$dir/pki/admin.key" \
		"$@" "https://127.0.0.1:$api_port$path"
}

# wait_for WHAT CMD...: retry CMD every 0.1 s until it succeeds or the deadline passes.
wait_for() {
	local what=$1
	shift
	until "$@" >/dev/null 2>&1; do
		if ((SECONDS >= deadline)); then
			echo "cluster.sh: timed out waiting for $what" >&2
			return 1
		fi
		for c in "${components[@]}"; do
			if [[ -f $dir/run/$c.pid ]] && ! alive "$c"; then
				echo "cluster.sh: $c exited while waiting for $what" >&2
				return 1
			fi
		done
		sleep 0.1
	done
}

fail_up() {
	echo "cluster.sh: start-up failed; stopping what was started. Last log lines:" >&2
	local c
	for c in "${components[@]}"; do
		[[ -f $dir/logs/$c.log ]] || continue
		echo "==> $dir/logs/$c.log <==" >&2
		tail -n 5 "$dir/logs/$c.log" | cut -c1-400 >&2
	done
	stop_all
	exit 1
}

# pki: a CA, the API server's serving certificate, the admin client certificate, and the
# service-account signing key. EC P-256 keys: fast to make.
make_pki() {
	local p="$dir/pki"
	mkdir -p "$p"
	(
		cd "$p"
		umask 077
		openssl ecparam -name prime256v1 -genkey -noout -out ca.key
		openssl req -x509 -new -key ca.key -sha256 -days 3650 -subj "/CN=kgit-local-ca" -out ca.crt
		openssl ecparam -name prime256v1 -genkey -noout -out apiserver.key
		openssl req -new -key apiserver.key -subj "/CN=kube-apiserver" -out apiserver.csr
		printf '%s\n' "subjectAltName=IP:127.0.0.1,IP:10.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local" \
			"extendedKeyUsage=serverAuth" "keyUsage=critical,digitalSignature,keyEncipherment" >apiserver.ext
		openssl x509 -req -in apiserver.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 -sha256 \
			-extfile apiserver.ext -out apiserver.crt
		openssl ecparam -name prime256v1 -genkey -noout -out admin.key
		openssl req -new -key admin.key -subj "/O=system:masters/CN=kgit-admin" -out admin.csr
		printf '%s\n' "extendedKeyUsage=clientAuth" "keyUsage=critical,digitalSignature,keyEncipherment" >admin.ext
		openssl x509 -req -in admin.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 -sha256 \
			-extfile admin.ext -out admin.crt
		# kwok serves the node's kubelet endpoint (exec, port-forward) on 127.0.0.1.
		openssl ecparam -name prime256v1 -genkey -noout -out kwok.key
		openssl req -new -key kwok.key -subj "/CN=kwok" -out kwok.csr
		printf '%s\n' "subjectAltName=IP:127.0.0.1,DNS:localhost" \
			"extendedKeyUsage=serverAuth" "keyUsage=critical,digitalSignature,keyEncipherment" >kwok.ext
		openssl x509 -req -in kwok.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 -sha256 \
			-extfile kwok.ext -out kwok.crt
		openssl ecparam -name prime256v1 -genkey -noout -out sa.key
		openssl ec -in sa.key -pubout -out sa.pub
		rm -f ./*.csr ./*.ext ca.srl
	) 2>"$dir/logs/openssl.log" || die "openssl failed, see $dir/logs/openssl.log"
}

write_kubeconfig() {
	local b64="base64 -w0"
	cat >"$dir/kubeconfig.tmp" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: kgit-local
  cluster:
    server: https://127.0.0.1:$api_port
    certificate-authority-data: $($b64 <"$dir/pki/ca.crt")
users:
- name: kgit-admin
  user:
    client-certificate-data: $($b64 <"$dir/pki/admin.crt")
    client-key-data: $($b64 <"$dir/pki/admin.key")
contexts:
- name: kgit-local
  context:
    cluster: kgit-local
    user: kgit-admin
    namespace: default
current-context: kgit-local
EOF
	chmod 600 "$dir/kubeconfig.tmp"
	mv "$dir/kubeconfig.tmp" "$dir/kubeconfig"
}

# mark WHAT: note how long start-up has taken so far.
mark() {
	local ms=$((($(date +%s%N) - t0ns) / 1000000))
	marks+=", $1 $((ms / 1000)).$(printf '%01d' $((ms % 1000 / 100))) s"
}

node_json() {
	cat <<EOF
{"apiVersion":"v1","kind":"Node","metadata":{"name":"$1",
 "annotations":{"kwok.x-k8s.io/node":"fake","node.alpha.kubernetes.io/ttl":"0"},
 "labels":{"kubernetes.io/hostname":"$1","kubernetes.io/os":"linux","kubernetes.io/arch":"amd64","type":"kwok"}},
 "status":{"capacity":{"cpu":"32","memory":"256Gi","pods":"110"},
           "allocatable":{"cpu":"32","memory":"256Gi","pods":"110"}}}
EOF
}

node_ready() {
	local out
	out=$(api "/api/v1/nodes/$1") || return 1
	out=${out//[[:space:]]/} # the API server indents its JSON for curl
	[[ $out == *'"type":"Ready","status":"True"'* ]]
}

cmd_up() {
	local c
	for c in "${components[@]}"; do
		alive "$c" && die "a cluster already runs in $dir ($c); run: $0 down $dir"
	done
	if [[ -n ${KGIT_CLUSTER_BIN:-} ]]; then
		bin=$KGIT_CLUSTER_BIN
	else
		bin=$("$here/build.sh") || die "build.sh failed"
	fi
	for c in "${components[@]}"; do
		[[ -x $bin/$c ]] || die "$bin/$c missing (run build.sh, or set KGIT_CLUSTER_BIN)"
	done

	t0ns=$(date +%s%N)
	marks=""
	deadline=$((SECONDS + ${KGIT_CLUSTER_TIMEOUT:-60}))
	rm -rf "$dir/run" "$dir/etcd" "$dir/pki" "$dir/state" "$dir/kubeconfig" "$dir/logs"
	mkdir -p "$dir/run" "$dir/logs" "$dir/state"
	make_pki

	api_port=${KGIT_CLUSTER_API_PORT:-$(free_port)}
	taken+="$api_port "
	local etcd_port=${KGIT_CLUSTER_ETCD_PORT:-$(free_port)}
	taken+="$etcd_port "
	local peer_port kcm_port sched_port kwok_port
	peer_port=$(free_port)
	kcm_port=$(free_port)
	sched_port=$(free_port)
	kwok_port=$(free_port)
	echo "$api_port" >"$dir/run/api-port"
	trap fail_up ERR INT TERM

	start etcd --name kgit --data-dir "$dir/etcd" \
		--listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
		--listen-peer-urls "http://127.0.0.1:$peer_port" --initial-advertise-peer-urls "http://127.0.0.1:$peer_port" \
		--initial-cluster "kgit=http://127.0.0.1:$peer_port" \
		--unsafe-no-fsync --quota-backend-bytes=$((2 * 1024 * 1024 * 1024)) --log-level=warn
	wait_for etcd curl -sf --max-time 2 "http://127.0.0.1:$etcd_port/health"
	mark etcd

	start kube-apiserver --etcd-servers="http://127.0.0.1:$etcd_port" \
		--bind-address=127.0.0.1 --advertise-address=127.0.0.1 --endpoint-reconciler-type=none \
		--secure-port="$api_port" --cert-dir="$dir/state/apiserver" \
		--tls-cert-file="$dir/pki/apiserver.crt" --tls-private-key-file="$dir/pki/apiserver.key" \
		--client-ca-file="$dir/pki/ca.crt" \
		--service-account-issuer=https://kubernetes.default.svc.cluster.local \
		--service-account-key-file="$dir/pki/sa.pub" --service-account-signing-key-file="$dir/pki/sa.key" \
		--authorization-mode=RBAC --allow-privileged=true \
		--kubelet-preferred-address-types=InternalIP --kubelet-certificate-authority="$dir/pki/ca.crt" \
		--service-cluster-ip-range=10.0.0.0/24 --profiling=false
	wait_for "kube-apiserver /readyz" api /readyz -f
	mark apiserver

	# Control-plane components use the admin identity: simplest, and not what kgit tests.
	local kc="$dir/state/admin.kubeconfig"
	write_kubeconfig
	cp "$dir/kubeconfig" "$kc"
	start kube-controller-manager --kubeconfig="$kc" --authentication-kubeconfig="$kc" --authorization-kubeconfig="$kc" \
		--bind-address=127.0.0.1 --secure-port="$kcm_port" --cert-dir="$dir/state/kcm" --leader-elect=false \
		--service-account-private-key-file="$dir/pki/sa.key" --root-ca-file="$dir/pki/ca.crt" \
		--cluster-signing-cert-file="$dir/pki/ca.crt" --cluster-signing-key-file="$dir/pki/ca.key" \
		--profiling=false
	start kube-scheduler --kubeconfig="$kc" --authentication-kubeconfig="$kc" --authorization-kubeconfig="$kc" \
		--bind-address=127.0.0.1 --secure-port="$sched_port" --cert-dir="$dir/state/scheduler" --leader-elect=false \
		--profiling=false
	# kwok is also the node's kubelet endpoint (127.0.0.1:kwok_port, the Node's InternalIP and
	# daemonEndpoints): the API server sends exec and port-forward there (kwok-debugging.yaml).
	# Every container's log is the same three lines, in the CRI log format the kubelet
	# reads (kwok's ClusterLogs: logs and logs -f answer from this file).
	local t0
	t0=$(date -u +%Y-%m-%dT%H:%M:%S)
	printf '%s.000000001Z stdout F kwok log line 1\n%s.000000002Z stderr F kwok log line 2\n%s.000000003Z stdout F kwok log line 3\n' \
		"$t0" "$t0" "$t0" >"$dir/state/container.log"
	printf 'apiVersion: kwok.x-k8s.io/v1alpha1\nkind: ClusterLogs\nmetadata: {name: every-container}\nspec:\n  logs:\n  - logsFile: %s\n' \
		"$dir/state/container.log" >"$dir/state/kwok-logs.yaml"
	start kwok --kubeconfig="$kc" --config="$here/stages.yaml" --config="$here/kwok-debugging.yaml" --config="$dir/state/kwok-logs.yaml" \
		--manage-all-nodes=true --node-lease-duration-seconds=40 --cidr=10.244.0.0/16 --node-ip=127.0.0.1 \
		--server-address="127.0.0.1:$kwok_port" --node-port="$kwok_port" \
		--tls-cert-file="$dir/pki/kwok.crt" --tls-private-key-file="$dir/pki/kwok.key"

	local n i
	n=${KGIT_CLUSTER_NODES:-1}
	for ((i = 0; i < n; i++)); do
		api /api/v1/nodes -f -o /dev/null -X POST -H 'Content-Type: application/json' -d "$(node_json "kwok-node-$i")"
	done
	for ((i = 0; i < n; i++)); do
		wait_for "node kwok-node-$i Ready" node_ready "kwok-node-$i"
	done
	mark node
	# Pods need the namespace's default ServiceAccount (ServiceAccount admission); KCM makes it.
	wait_for "serviceaccount default/default" api /api/v1/namespaces/default/serviceaccounts/default -f
	wait_for "kube-controller-manager /healthz" curl -skf --max-time 2 "https://127.0.0.1:$kcm_port/healthz"
	wait_for "kube-scheduler /healthz" curl -skf --max-time 2 "https://127.0.0.1:$sched_port/healthz"
	trap - ERR INT TERM
	mark all

	echo "cluster.sh: ready after${marks#,}: https://127.0.0.1:$api_port, $n node(s), logs in $dir/logs" >&2
	echo "cluster.sh: export KUBECONFIG=$dir/kubeconfig   # stop with: $0 down $dir" >&2
	echo "$dir/kubeconfig"
}

cmd_down() {
	[[ -d $dir ]] || return 0
	stop_all
	rm -rf "$dir/run" "$dir/etcd" "$dir/pki" "$dir/state" "$dir/kubeconfig"
}

cmd_status() {
	local c rc=0
	for c in "${components[@]}"; do
		if alive "$c"; then
			echo "$c running (pid $(<"$dir/run/$c.pid"))"
		else
			echo "$c not running"
			rc=1
		fi
	done
	[[ -f $dir/run/api-port ]] && echo "api server https://127.0.0.1:$(<"$dir/run/api-port")"
	return $rc
}

[[ $# -eq 2 ]] || {
	usage >&2
	exit 2
}
cmd=$1
if [[ $cmd == up ]]; then
	mkdir -p "$2" || die "cannot create directory $2"
elif [[ ! -d $2 && $cmd == down ]]; then
	exit 0
fi
dir=$(cd "$2" 2>/dev/null && pwd) || die "no directory $2"
case $cmd in
up) cmd_up ;;
down) cmd_down ;;
kubeconfig)
	[[ -f $dir/kubeconfig ]] || die "no kubeconfig in $dir (run: $0 up $dir)"
	echo "$dir/kubeconfig"
	;;
status) cmd_status ;;
*)
	usage >&2
	exit 2
	;;
esac
