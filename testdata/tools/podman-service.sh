#!/usr/bin/env bash
# Podman's Docker-compatible API for the docker backend's tests: installs Debian's
# podman if it is missing, gives its containers rlimits they can set in this sandbox,
# starts `podman system service` on a socket unless one already answers there, waits
# until it answers, and prints the DOCKER_HOST for it (unix:///...) as its last line.
# Idempotent: a second run finds everything in place and only prints the address.
#
#   DOCKER_HOST=$(testdata/tools/podman-service.sh | tail -n 1)
#
# As root the service is rootful, on /run/podman/podman.sock (what kgit's
# `--backend podman` looks for); otherwise rootless, on $XDG_RUNTIME_DIR/podman/podman.sock.
# KGIT_PODMAN_SOCKET overrides the socket's path.
set -euo pipefail

if [ "$(id -u)" = 0 ]; then
	sock="${KGIT_PODMAN_SOCKET:-/run/podman/podman.sock}"
	conf=/etc/containers/containers.conf
else
	sock="${KGIT_PODMAN_SOCKET:-${XDG_RUNTIME_DIR:-/run/user/$(id -u)}/podman/podman.sock}"
	conf="${XDG_CONFIG_HOME:-$HOME/.config}/containers/containers.conf"
fi
log="$(dirname "$sock")/podman-service.log"

if ! command -v podman >/dev/null; then
	echo "podman-service: installing podman" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >&2 && apt-get install -y -qq podman >&2
fi

# Podman's default rlimits cannot be set inside this sandbox ("error setting rlimit
# type 7: operation not permitted"): containers, through the CLI and the API alike,
# start once they ask for limits the sandbox allows.
if ! grep -qs '^[[:space:]]*default_ulimits' "$conf"; then
	mkdir -p "$(dirname "$conf")"
	if grep -qs '^[[:space:]]*\[containers\]' "$conf"; then
		sed -i '0,/^[[:space:]]*\[containers\]/s//[containers]\ndefault_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]/' "$conf"
	else
		printf '\n[containers]\ndefault_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]\n' >>"$conf"
	fi
	echo "podman-service: default_ulimits set in $conf" >&2
fi

# nproc counts every thread of root on the host, not the container's: 1024 (this
# script's first value) was passed while the process backend's tests ran beside
# Podman's, and containers failed to start ("write child: broken pipe"). 4096 is what
# runc accepts here (65536 is refused: "error setting rlimit type 6"). A service that
# read the old value is restarted.
restart=
if grep -qs 'nproc=1024:1024' "$conf"; then
	sed -i 's/nproc=1024:1024/nproc=4096:4096/' "$conf"
	restart=1
	echo "podman-service: nproc raised to 4096 in $conf" >&2
fi

answers() {
	if command -v curl >/dev/null; then
		curl -fsS --max-time 5 --unix-socket "$sock" http://d/_ping >/dev/null 2>&1
	else
		timeout 10 podman --remote --url "unix://$sock" version >/dev/null 2>&1
	fi
}

# A service started from a folder that is gone since (an earlier CI's clone) starts no
# container: conmon fails with "Failed to get working directory". Restart it.
for pid in $(pgrep -f "podman system service --time=0 unix://$sock" || true); do
	case "$(readlink "/proc/$pid/cwd" 2>/dev/null)" in *" (deleted)") restart=1 ;; esac
done

if [ -n "$restart" ] && answers; then
	pkill -f "podman system service --time=0 unix://$sock" || true
	for _ in $(seq 1 50); do answers || break; sleep 0.2; done
fi
if ! answers; then
	mkdir -p "$(dirname "$sock")"
	rm -f "$sock" # a socket left by a service that is gone
	echo "podman-service: starting podman system service on unix://$sock (log: $log)" >&2
	# detached, so that it outlives this script and the CI step that ran it
	# from /, so that it never depends on the folder it was started from
	env -C / setsid nohup podman system service --time=0 "unix://$sock" >>"$log" 2>&1 </dev/null &
	for _ in $(seq 1 150); do
		answers && break
		sleep 0.2
	done
	if ! answers; then
		echo "podman-service: the service does not answer on unix://$sock; its log:" >&2
		tail -n 20 "$log" >&2 || true
		exit 1
	fi
fi
echo "unix://$sock"
