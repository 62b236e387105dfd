#!/bin/bash
# One measured run of Demikernel's tcp-echo over catpowder (raw sockets) between two network
# namespaces joined by a veth pair, with random loss injected by nftables on the egress of both
# ends (catpowder's raw sockets see frames before any ingress hook, so loss must be on egress).
# The kernel's own stack holds no address on the veth, so it never answers catpowder's traffic.
# Prints the client's summary (parser: tcp-echo). Namespaces go on every exit.
set -euo pipefail

: "${WAYFINDER_BUILD_DIR:?run by wayfinder: WAYFINDER_BUILD_DIR is not set}"
: "${WAYFINDER_OUTPUT_DIR:?run by wayfinder: WAYFINDER_OUTPUT_DIR is not set}"
bin=${TCP_ECHO_BIN:-$WAYFINDER_BUILD_DIR/src/bin/examples/rust/tcp-echo.elf}
if [ ! -x "$bin" ]; then
  echo "demikernel-tcp-echo: no tcp-echo binary at $bin: the build must compile a Demikernel tree (set DEMIKERNEL_ROOT) or TCP_ECHO_BIN must name one" >&2
  exit 2
fi
for tool in ip nft taskset; do
  command -v "$tool" >/dev/null || { echo "demikernel-tcp-echo: $tool is not installed (apt-get install iproute2 nftables util-linux)" >&2; exit 3; }
done
[ "$(id -u)" = 0 ] || { echo "demikernel-tcp-echo: raw sockets and network namespaces need root" >&2; exit 3; }

loss=${LOSS_PERMILLE:-0}
. "$(dirname "$0")/netns-pair.sh"
netns_pair_names
run_dir=$WAYFINDER_OUTPUT_DIR
server_pid=
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null || true
  netns_pair_del
}
trap cleanup EXIT
trap 'exit 143' TERM INT

netns_pair_add 02:00:00:00:00:01 02:00:00:00:00:02
netns_pair_up
for ns in "$srv" "$cli"; do
  if [ "$loss" -gt 0 ]; then
    ip netns exec "$ns" nft -f - <<NFT
table netdev wayfinder_loss {
  chain egress {
    type filter hook egress device "eth0" priority 0;
    numgen random mod 1000 < $loss counter drop
  }
}
NFT
  fi
done

# The runtime YAML (CONFIG_PATH) of each side: its own address, the peer's in a static ARP table
# (which makes the three arp_* keys required). The interface's key is interface_name in release
# 1.5.12 and linux_interface_name on the dev branch after it; each reads its own and ignores the other.
config() { # ip mac
  if [ -n "${DEMIKERNEL_CONFIG_TEMPLATE:-}" ]; then
    sed -e "s/@IP@/$1/g" -e "s/@MAC@/$2/g" -e "s/@IFACE@/eth0/g" "$DEMIKERNEL_CONFIG_TEMPLATE"
    return
  fi
  cat <<YAML
demikernel:
  local_ipv4_addr: $1
  local_link_addr: "$2"
raw_socket:
  interface_name: eth0
  linux_interface_name: eth0
tcp_socket_options:
  nodelay: ${TCP_NODELAY:-true}
inetstack_config:
  mtu: ${MTU:-1500}
  mss: ${MSS:-1450}
  enable_jumbo_frames: false
  udp_checksum_offload: false
  tcp_checksum_offload: false
  arp_table:
    "02:00:00:00:00:01": "10.98.0.1"
    "02:00:00:00:00:02": "10.98.0.2"
  arp_request_retries: 2
  arp_request_timeout: 1
  arp_cache_ttl: 600
YAML
}
config 10.98.0.1 02:00:00:00:00:01 > "$run_dir/server.yaml"
config 10.98.0.2 02:00:00:00:00:02 > "$run_dir/client.yaml"

cores=${WAYFINDER_CORES:-0}
server_core=${cores%%,*}
client_core=${cores##*,}
export LIBOS=${LIBOS:-catpowder}
CONFIG_PATH="$run_dir/server.yaml" ip netns exec "$srv" taskset -c "$server_core" \
  "$bin" ${TCP_ECHO_SERVER_ARGS:---peer server --address 10.98.0.1:12345} > "$run_dir/server.log" 2>&1 &
server_pid=$!
sleep "${SERVER_START_SEC:-1}"
kill -0 "$server_pid" 2>/dev/null || { echo "demikernel-tcp-echo: the server exited at start:" >&2; tail -5 "$run_dir/server.log" >&2; exit 5; }

CONFIG_PATH="$run_dir/client.yaml" timeout "$(( ${DURATION_SEC:-10} + 30 ))" ip netns exec "$cli" taskset -c "$client_core" \
  "$bin" ${TCP_ECHO_CLIENT_ARGS:---peer client --address 10.98.0.1:12345 --bufsize ${BUFSIZE:-64} --nclients ${CONNECTIONS:-1} --run-mode ${RUN_MODE:-sequential} --log 1 --nrequests ${REQUESTS:-100000}}
