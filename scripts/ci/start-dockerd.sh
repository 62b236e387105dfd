#!/usr/bin/env bash
# Starts the Docker engine for Wayfinder's container jobs and waits until it answers.
# Idempotent: does nothing when a daemon already answers on the socket.
#
#   DOCKER_SOCKET   socket path (default /var/run/docker.sock; DOCKER_HOST=unix://... also read)
#   DOCKERD_LOG     dockerd's log file (default /var/log/wayfinder-dockerd.log)
#   DOCKERD_WAIT    seconds to wait for the daemon (default 60)
#   DOCKERD_DRIVER  storage driver to force (default: overlay2 when an overlay mount works here, else vfs)
#   DOCKERD_ROOT    where images and containers live (default /var/lib/docker)
#   DOCKERD_EXEC_ROOT, DOCKERD_PIDFILE  dockerd's state directory and pid file (defaults /var/run/docker, /var/run/docker.pid)
#
# Wayfinder's containers run with network none, host or a named Docker network, never on the
# default bridge, so the daemon is started without the bridge and without touching iptables or
# ip_forward (Docker would otherwise set the FORWARD policy to DROP and break the host's own
# namespaces and forwarding). Needs root.
set -euo pipefail

socket=${DOCKER_SOCKET:-}
if [[ -z $socket && ${DOCKER_HOST:-} == unix://* ]]; then socket=${DOCKER_HOST#unix://}; fi
socket=${socket:-/var/run/docker.sock}
log=${DOCKERD_LOG:-/var/log/wayfinder-dockerd.log}
wait_sec=${DOCKERD_WAIT:-60}

answers() { docker -H "unix://$socket" info >/dev/null 2>&1; }

if answers; then
  echo "start-dockerd: dockerd already answers on $socket"
  exit 0
fi
for tool in dockerd docker containerd runc; do
  command -v "$tool" >/dev/null || { echo "start-dockerd: $tool not found: apt-get install docker.io" >&2; exit 1; }
done
if [[ $(id -u) -ne 0 ]]; then
  echo "start-dockerd: dockerd is not answering on $socket and only root can start it" >&2
  exit 1
fi

data_root=${DOCKERD_ROOT:-/var/lib/docker}
exec_root=${DOCKERD_EXEC_ROOT:-/var/run/docker}
pidfile=${DOCKERD_PIDFILE:-/var/run/docker.pid}
mkdir -p "$data_root"

# overlay2 needs a kernel with overlayfs and a backing filesystem it accepts (not overlay itself,
# not some network filesystems): try a real overlay mount where the images would live.
overlay_works() {
  local t rc=1
  t=$(mktemp -d "$data_root/.overlay-probe.XXXXXX") || return 1
  mkdir -p "$t/lower" "$t/upper" "$t/work" "$t/merged"
  if mount -t overlay overlay -o "lowerdir=$t/lower,upperdir=$t/upper,workdir=$t/work" "$t/merged" 2>/dev/null; then
    umount "$t/merged" && rc=0
  fi
  rm -rf "$t"
  return $rc
}
driver=${DOCKERD_DRIVER:-}
if [[ -z $driver ]]; then
  if overlay_works; then driver=overlay2; else driver=vfs; fi
fi

# A stale pid file or socket from a killed daemon makes dockerd refuse to start.
if [[ -f $pidfile ]] && ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then rm -f "$pidfile"; fi
if [[ -S $socket ]] && ! answers; then rm -f "$socket"; fi
mkdir -p "$(dirname "$log")" "$(dirname "$socket")"

args=(--host "unix://$socket" --data-root "$data_root" --exec-root "$exec_root" --pidfile "$pidfile" --storage-driver "$driver" --bridge=none --iptables=false --ip-forward=false --ip-masq=false)
echo "start-dockerd: dockerd ${args[*]} (log $log)"
setsid nohup dockerd "${args[@]}" >>"$log" 2>&1 </dev/null &
pid=$!

for ((i = 0; i < wait_sec * 2; i++)); do
  if answers; then
    echo "start-dockerd: dockerd (pid $pid, storage driver $driver) answers on $socket"
    exit 0
  fi
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "start-dockerd: dockerd exited; the end of $log:" >&2
    tail -n 20 "$log" >&2
    exit 1
  fi
  sleep 0.5
done
echo "start-dockerd: dockerd did not answer on $socket within $wait_sec s; the end of $log:" >&2
tail -n 20 "$log" >&2
exit 1
