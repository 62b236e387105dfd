#!/bin/bash
# wrk against the unikernel NGINX that wayfinder booted for this run (a fresh VM each run: a
# long-lived unikernel can stall under load). The guest's port 80 is forwarded to 127.0.0.1.
set -euo pipefail

port=${WAYFINDER_VM_PORT_80:-}
[ -n "$port" ] || { echo "unikraft-wrk: no forwarded guest port 80: the test needs 'vm: { forward: [80] }'" >&2; exit 2; }
command -v wrk >/dev/null || { echo "unikraft-wrk: wrk is not installed (apt-get install wrk)" >&2; exit 3; }
# The load generator stays off the vCPU's core when the grant has more than one.
cores=${WAYFINDER_CORES:-0}
taskset -c "${cores##*,}" wrk --latency -t 1 -c "${WRK_CONNECTIONS:-30}" -d "${WRK_DURATION:-10}s" "http://127.0.0.1:$port/${WRK_PATH:-index.html}"
