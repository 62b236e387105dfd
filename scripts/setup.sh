#!/usr/bin/env bash
# Installs what Wayfinder and its shipped experiments and tests need on Debian/Ubuntu (as root),
# installs the npm dependencies and builds, and starts the services the tests use. Safe to re-run.
set -euo pipefail
cd "$(dirname "$0")/.."

# One list, used by the README's set-up and by .ci/run.
PACKAGES=(
  redis-server          # the embedded queue store (wayfinder starts its own redis-server child)
  nginx-light wrk       # experiments/linux-nginx*.yaml
  iproute2 nftables     # per-run network namespaces, loss injection
  util-linux procps     # taskset, setpriv, nsenter
  python3 make g++      # better-sqlite3's native build when no prebuilt binary fits
  docker.io             # jobs with `image:` run in containers (the Docker engine)
  busybox-static        # the tests' container images are made from it with `docker import`
  qemu-system-x86       # jobs with `vm:` boot a kernel
  kconfig-frontends     # Kconfig build parameters (kconfig-conf --olddefconfig)
  flex bison unzip cpio # experiments/unikraft-*.yaml: Unikraft's Kconfig, lwIP's zip, the initrd
  ccache                # builds that share sources reuse each other's objects (an NGINX-only change: minutes, not an hour)
  chromium              # `wayfinder report` renders PNG figures; the report test opens the page
  libxml2-utils         # xmllint: the regress test validates JUnit XML against its schema
  perl                  # Time::HiRes: the regress tests' sleeper workload times itself
)

if [ "$(id -u)" -ne 0 ]; then
  echo "setup: run as root (it installs Debian packages)" >&2
  exit 2
fi

# Packages whose services would start on install (nginx on :80, redis on :6379) stay stopped:
# wayfinder starts its own instances. A policy-rc.d of our own is removed afterwards.
policy=/usr/sbin/policy-rc.d
ours=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod +x "$policy" && ours=1
fi
trap '[ "$ours" = 1 ] && rm -f "$policy"' EXIT

export DEBIAN_FRONTEND=noninteractive
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm ci refuses this lock file on some npm versions (optional platform packages of msgpackr);
# npm install with the lock file present installs the same versions, and its `prepare` script
# builds dist/.
npm install --no-audit --no-fund --loglevel=error
# The reference dataplane and load generator (docs/control.md), compiled with -Werror into the
# per-user cache the tests and `wayfinder dynamic` use (rebuilt there when a source changes).
node -e "import('./dist/control/reference.js').then((m) => console.log('setup: built', Object.values(m.buildReference()).join(' ')))"
# Container jobs (and their tests) need a Docker engine that answers.
bash scripts/ci/start-dockerd.sh
echo "setup: done"
