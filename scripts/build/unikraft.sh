#!/bin/bash
# Builds a Unikraft application for QEMU/KVM (x86_64) into the build directory.
#   unikraft.sh olddefconfig   resolve the .config wayfinder wrote (KCONFIG_CONFIG) with Unikraft's Kconfig
#   unikraft.sh                build the image into $WAYFINDER_BUILD_DIR/build, the root filesystem
#                              into $WAYFINDER_BUILD_DIR/rootfs.cpio (when the app has one), and for
#                              NGINX render nginx.conf from the NGINX_* parameters first
# Needs UK_ROOT (a Unikraft tree), UK_APP (the application: app-nginx, app-helloworld) and, when the
# application uses external libraries, UK_LIBS (the directory holding lib-lwip, lib-nginx ...).
set -euo pipefail

need_dir() { # variable, what
  local v=${!1:-}
  if [ -z "$v" ]; then
    echo "unikraft: $1 is not set: point it at $2" >&2
    exit 2
  fi
  [ -d "$v" ] || { echo "unikraft: $1=$v is not a directory: point it at $2" >&2; exit 2; }
}
need_dir UK_ROOT "a Unikraft tree (git clone https://github.com/unikraft/unikraft)"
need_dir UK_APP "the application to build (e.g. a checkout of unikraft/app-nginx or app-helloworld)"
[ -n "${UK_LIBS:-}" ] && need_dir UK_LIBS "the directory of external libraries (lib-lwip, lib-nginx, ...)"
: "${WAYFINDER_BUILD_DIR:?run by wayfinder: WAYFINDER_BUILD_DIR is not set}"
config=${KCONFIG_CONFIG:-$WAYFINDER_BUILD_DIR/.config}
libs=()
if [ -n "${UK_LIBS:-}" ]; then
  # Unikraft's LIBS= lists every external library the application's Makefile does not name itself.
  libs=(LIBS="$(find "$UK_LIBS" -mindepth 1 -maxdepth 1 -type d -name 'lib-*' | sort | paste -sd: -)")
fi
mk() { make -C "$UK_APP" UK_ROOT="$UK_ROOT" ${UK_LIBS:+UK_LIBS="$UK_LIBS"} "${libs[@]}" O="$WAYFINDER_BUILD_DIR/build" C="$config" "$@"; }

if [ "${1:-}" = olddefconfig ]; then
  mk olddefconfig
  exit 0
fi

# NGINX's configuration is part of the image's root filesystem: rendered per build.
if [ -d "$UK_APP/rootfs" ] || [ -d "$UK_APP/fs0" ]; then
  root=$([ -d "$UK_APP/rootfs" ] && echo rootfs || echo fs0)
  rm -rf "$WAYFINDER_BUILD_DIR/$root"
  cp -a "$UK_APP/$root" "$WAYFINDER_BUILD_DIR/$root"
  if [ -n "${NGINX_WORKER_CONNECTIONS:-}" ]; then
    conf=$(find "$WAYFINDER_BUILD_DIR/$root" -name nginx.conf | head -1)
    [ -n "$conf" ] || { echo "unikraft: no nginx.conf under $UK_APP/$root" >&2; exit 2; }
    # The access log goes to the in-memory filesystem: on, it grows until throughput collapses.
    log=$([ "${NGINX_ACCESS_LOG:-false}" = true ] && echo "access_log logs/access.log;" || echo "access_log off;")
    sed -i -E \
      -e "s/worker_connections[^;]*;/worker_connections ${NGINX_WORKER_CONNECTIONS};/" \
      -e "s/keepalive_timeout[^;]*;/keepalive_timeout ${NGINX_KEEPALIVE_TIMEOUT:-65};/" \
      -e "/access_log/d" \
      -e "s/(http[[:space:]]*\{)/\1\n    $log/" "$conf"
  fi
  if command -v cpio >/dev/null; then
    (cd "$WAYFINDER_BUILD_DIR/$root" && find . -depth -print | cpio -o -H newc --quiet) > "$WAYFINDER_BUILD_DIR/rootfs.cpio"
  fi
fi
mk -j"$(nproc)"
image=$(find "$WAYFINDER_BUILD_DIR/build" -maxdepth 1 -name '*_qemu-x86_64' -o -maxdepth 1 -name '*_kvm-x86_64' | grep -v '\.dbg$' | head -1)
[ -n "$image" ] || { echo "unikraft: the build made no *_qemu-x86_64 / *_kvm-x86_64 image in $WAYFINDER_BUILD_DIR/build" >&2; exit 4; }
ln -sf "$image" "$WAYFINDER_BUILD_DIR/kernel"
stat -c 'image bytes: %s' "$image"
