#!/bin/bash
# One measured run of the duplicate-ACK study on Linux: NGINX in one network namespace, wrk in
# another, joined by a veth pair that loses packets at random. The TCP sysctls of the configuration
# are set in both namespaces (they are per namespace), so the host's own are never touched.
# Loss: netem on both veth ends when the kernel has it, else an nftables ingress rule on both ends
# (`numgen random mod 1000 < N drop`). Both drop where the sender cannot see it, as a wire would.
# Both namespaces, NGINX and the rules go on every exit; wayfinder reaps the namespaces of a killed run.
set -euo pipefail

: "${WAYFINDER_OUTPUT_DIR:?run by wayfinder: WAYFINDER_OUTPUT_DIR is not set}"
for tool in ip nginx wrk nft taskset; do
  command -v "$tool" >/dev/null || { echo "dupack-wrk: $tool is not installed (apt-get install iproute2 nginx-light wrk nftables util-linux)" >&2; exit 3; }
done
[ "$(id -u)" = 0 ] || { echo "dupack-wrk: network namespaces need root" >&2; exit 3; }

loss=${LOSS_PERMILLE:-0}
# both: each direction loses packets; data: only the server's data to the client (requests and
# ACKs get through, so every loss is one the sender's loss recovery must repair).
direction=${LOSS_DIRECTION:-both}
case $direction in both | data) ;; *) echo "dupack-wrk: LOSS_DIRECTION must be both or data, got '$direction'" >&2; exit 2 ;; esac
case $loss in '' | *[!0-9]*) echo "dupack-wrk: LOSS_PERMILLE must be an integer 0..1000, got '$loss'" >&2; exit 2 ;; esac
[ "$loss" -le 1000 ] || { echo "dupack-wrk: LOSS_PERMILLE must be at most 1000, got $loss" >&2; exit 2; }
cc=${TCP_CONGESTION_CONTROL:-cubic}
if ! grep -qw "$cc" /proc/sys/net/ipv4/tcp_available_congestion_control; then
  echo "dupack-wrk: congestion control '$cc' is not available in this kernel (available: $(cat /proc/sys/net/ipv4/tcp_available_congestion_control))" >&2
  exit 4
fi

. "$(dirname "$0")/netns-pair.sh"
netns_pair_names
run_dir=$WAYFINDER_OUTPUT_DIR
nginx_pid=
cleanup() {
  [ -n "$nginx_pid" ] && kill "$nginx_pid" 2>/dev/null && wait "$nginx_pid" 2>/dev/null || true
  netns_pair_del
}
trap cleanup EXIT
trap 'exit 143' TERM INT

netns_pair_add
ip -n "$srv" addr add 10.99.0.1/24 dev eth0
ip -n "$cli" addr add 10.99.0.2/24 dev eth0
netns_pair_up
for ns in "$srv" "$cli"; do
  ip netns exec "$ns" sysctl -qw \
    "net.ipv4.tcp_reordering=${TCP_REORDERING:-3}" \
    "net.ipv4.tcp_recovery=${TCP_RECOVERY:-1}" \
    "net.ipv4.tcp_early_retrans=${TCP_EARLY_RETRANS:-3}"
done
# The control goes on the routes (a namespace may only make the host's allowed ones its default).
ip -n "$srv" route replace 10.99.0.0/24 dev eth0 proto kernel scope link src 10.99.0.1 congctl "$cc"
ip -n "$cli" route replace 10.99.0.0/24 dev eth0 proto kernel scope link src 10.99.0.2 congctl "$cc"

how=none
# netem drops on a sender's egress, nftables on a receiver's ingress: name the ends for each.
if [ "$direction" = both ]; then senders=("$srv" "$cli"); receivers=("$cli" "$srv"); else senders=("$srv"); receivers=("$cli"); fi
if [ "$loss" -gt 0 ]; then
  pct=$(awk -v l="$loss" 'BEGIN { printf "%.1f", l / 10 }')
  if tc -n "${senders[0]}" qdisc add dev eth0 root netem loss "$pct%" 2>/dev/null; then
    for ns in "${senders[@]:1}"; do tc -n "$ns" qdisc add dev eth0 root netem loss "$pct%"; done
    how=netem
  else
    for ns in "${receivers[@]}"; do
      ip netns exec "$ns" nft -f - <<NFT
table netdev wayfinder_loss {
  chain ingress {
    type filter hook ingress device "eth0" priority 0;
    numgen random mod 1000 < $loss counter drop
  }
}
NFT
    done
    how=nftables
  fi
fi
echo "loss: $loss/1000 ($direction) by $how; reordering ${TCP_REORDERING:-3} recovery ${TCP_RECOVERY:-1} early_retrans ${TCP_EARLY_RETRANS:-3} cc $cc"

mkdir -p "$run_dir/logs" "$run_dir/tmp" "$run_dir/html"
# A response of many segments, so that a lost one can be repaired by duplicate ACKs at all.
head -c "$(( ${RESPONSE_KB:-64} * 1024 ))" /dev/zero | tr '\0' 'w' > "$run_dir/html/index.html"
cat > "$run_dir/nginx.conf" <<CONF
daemon off;
master_process on;
worker_processes 1;
pid logs/nginx.pid;
error_log logs/error.log warn;
events { worker_connections 1024; }
http {
    sendfile on;
    access_log off;
    keepalive_timeout 75;
    keepalive_requests 1000000;
    default_type text/html;
    client_body_temp_path tmp/body;
    proxy_temp_path tmp/proxy;
    fastcgi_temp_path tmp/fastcgi;
    uwsgi_temp_path tmp/uwsgi;
    scgi_temp_path tmp/scgi;
    server {
        listen 10.99.0.1:8080 backlog=4096;
        root $run_dir/html;
        location / { }
    }
}
CONF

cores=${WAYFINDER_CORES:-0}
server_core=${cores%%,*}
client_core=${cores##*,}
ip netns exec "$srv" taskset -c "$server_core" nginx -p "$run_dir/" -c "$run_dir/nginx.conf" -e "$run_dir/logs/error.log" &
nginx_pid=$!
for _ in $(seq 50); do
  if ip netns exec "$cli" bash -c 'exec 3<>/dev/tcp/10.99.0.1/8080' 2>/dev/null; then break; fi
  kill -0 "$nginx_pid" 2>/dev/null || { echo "dupack-wrk: nginx exited at start:" >&2; cat "$run_dir/logs/error.log" >&2; exit 5; }
  sleep 0.1
done

ip netns exec "$cli" taskset -c "$client_core" wrk --latency -t 1 -c "${CONNECTIONS:-1}" -d "${WRK_DURATION:-5}s" \
  --timeout "${WRK_TIMEOUT:-10}s" http://10.99.0.1:8080/index.html
# What the loss did to the server's TCP: retransmissions by kind, from the server namespace's counters.
ip netns exec "$srv" nstat -asz TcpRetransSegs TcpExtTCPFastRetrans TcpExtTCPLossProbes TcpExtTCPTimeouts 2>/dev/null |
  awk '/^Tcp/ { print "tcp " $1 ": " $2 }' || true
