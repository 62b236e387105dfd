# Sourced by test scripts (bash): two network namespaces joined by a veth pair, "eth0" at each end.
# Names derive from wayfinder's namespace prefix, the configuration, the iteration and the script's
# pid, so runs never share a namespace and wayfinder reaps those of a killed run by their prefix.
#   netns_pair_names          sets $srv and $cli
#   netns_pair_add [MAC MAC]  makes both, with the given MAC addresses if any, loopback up, one
#                             segment per packet (with TSO/GSO a drop would take a whole burst)
#   netns_pair_up             brings both eth0 up, once their addresses are set (up first, runs of
#                             the duplicate-ACK study now and then measured no request at all)
#   netns_pair_del            removes both, and with them their veth ends, qdiscs and nftables tables

netns_pair_names() {
  local base
  base="${WAYFINDER_NETNS_PREFIX:-wf}-$(printf %.6s "${WAYFINDER_CONFIG_ID:-run}")-${WAYFINDER_ITERATION:-0}-$$"
  srv="$base-s"
  cli="$base-c"
}

netns_pair_add() {
  ip netns add "$srv"
  ip netns add "$cli"
  # Created inside the namespaces: no name in the host's namespace that two runs could share.
  if [ $# -eq 2 ]; then
    ip -n "$srv" link add eth0 address "$1" type veth peer name eth0 address "$2" netns "$cli"
  else
    ip -n "$srv" link add eth0 type veth peer name eth0 netns "$cli"
  fi
  local ns
  for ns in "$srv" "$cli"; do
    ip -n "$ns" link set lo up
    ip -n "$ns" link set eth0 gso_max_segs 1
  done
}

netns_pair_up() {
  ip -n "$srv" link set eth0 up
  ip -n "$cli" link set eth0 up
}

netns_pair_del() {
  ip netns del "$srv" 2>/dev/null || true
  ip netns del "$cli" 2>/dev/null || true
}
