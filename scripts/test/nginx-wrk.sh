#!/bin/bash
# One measured run of NGINX under wrk, inside a network namespace of its own so that the TCP
# sysctls of this configuration apply to this run only and the host's are never touched.
# The namespace and NGINX are removed on every exit; wayfinder removes leftovers of a killed run.
set -euo pipefail

: "${WAYFINDER_BUILD_DIR:?run by wayfinder: WAYFINDER_BUILD_DIR is not set}"
: "${WAYFINDER_OUTPUT_DIR:?run by wayfinder: WAYFINDER_OUTPUT_DIR is not set}"
for tool in ip nginx wrk; do
  command -v "$tool" >/dev/null || { echo "nginx-wrk: $tool is not installed (apt-get install iproute2 nginx-light wrk)" >&2; exit 3; }
done
[ "$(id -u)" = 0 ] || { echo "nginx-wrk: network namespaces need root" >&2; exit 3; }

ns="${WAYFINDER_NETNS_PREFIX:-wf}-${WAYFINDER_CONFIG_ID:0:8}-${WAYFINDER_ITERATION:-0}-$$"
run_dir=$WAYFINDER_OUTPUT_DIR
nginx_pid=
cleanup() {
  [ -n "$nginx_pid" ] && kill "$nginx_pid" 2>/dev/null && wait "$nginx_pid" 2>/dev/null || true
  ip netns del "$ns" 2>/dev/null || true
  # The access log is measured, not kept: at full speed it grows by megabytes a second.
  [ -f "$run_dir/logs/access.log" ] && stat -c 'access log bytes: %s' "$run_dir/logs/access.log" && rm -f "$run_dir/logs/access.log"
  return 0
}
trap cleanup EXIT
trap 'exit 143' TERM INT

ip netns add "$ns"
in_ns() { ip netns exec "$ns" "$@"; }
in_ns ip link set lo up

cc=${TCP_CONGESTION_CONTROL:-cubic}
if ! grep -qw "$cc" /proc/sys/net/ipv4/tcp_available_congestion_control; then
  echo "nginx-wrk: congestion control '$cc' is not available in this kernel (available: $(cat /proc/sys/net/ipv4/tcp_available_congestion_control))" >&2
  exit 4
fi
# A namespace may only make the host's *allowed* controls its default (others give EPERM), so the
# control is set on the loopback route instead: it governs every connection of this run, and
# leaves the host's allowed list alone.
in_ns ip route replace local 127.0.0.1 dev lo table local proto kernel scope host src 127.0.0.1 congctl "$cc"
in_ns sysctl -qw \
  "net.ipv4.tcp_autocorking=${TCP_AUTOCORKING:-1}" \
  "net.ipv4.tcp_slow_start_after_idle=${TCP_SLOW_START_AFTER_IDLE:-1}" \
  "net.core.somaxconn=${SOMAXCONN:-4096}" \
  "net.ipv4.tcp_rmem=4096 131072 ${TCP_RMEM_MAX:-6291456}" \
  "net.ipv4.tcp_wmem=4096 16384 ${TCP_WMEM_MAX:-4194304}"

mkdir -p "$run_dir/logs" "$run_dir/tmp"
cores=${WAYFINDER_CORES:-0}
in_ns taskset -c "$cores" nginx -p "$run_dir/" -c "$WAYFINDER_BUILD_DIR/nginx.conf" -e "$run_dir/logs/error.log" &
nginx_pid=$!

# Ready when it accepts a connection (at most 5 s).
for _ in $(seq 50); do
  if in_ns bash -c 'exec 3<>/dev/tcp/127.0.0.1/8080' 2>/dev/null; then break; fi
  kill -0 "$nginx_pid" 2>/dev/null || { echo "nginx-wrk: nginx exited at start:" >&2; cat "$run_dir/logs/error.log" >&2; exit 5; }
  sleep 0.1
done

in_ns taskset -c "$cores" wrk --latency -t "${WRK_THREADS:-1}" -c "${WRK_CONNECTIONS:-32}" -d "${WRK_DURATION:-5}s" http://127.0.0.1:8080/index.html
