#!/bin/bash
# Builds an unmodified Unikraft application for QEMU/KVM (x86_64) into the build directory.
#   unikraft.sh olddefconfig   resolve the .config wayfinder wrote (KCONFIG_CONFIG) with Unikraft's Kconfig
#   unikraft.sh                build the image into $WAYFINDER_BUILD_DIR/build, the root filesystem
#                              into $WAYFINDER_BUILD_DIR/rootfs.cpio (when the app has one), and for
#                              NGINX render nginx.conf from the NGINX_* parameters first
# Needs UK_ROOT (a Unikraft tree), UK_APP (the application: app-nginx, app-helloworld) and, when the
# application uses external libraries, UK_LIBS: the directory holding them (lib-musl, lib-lwip,
# lib-nginx ...), or a colon-separated list of library directories in the order to build them.
# Optional: UK_MAKE_ARGS, extra arguments for Unikraft's make, after ours (e.g. -j8, or
# LIBLWIP_ORIGIN_SHA256=...).
#
# Unikraft is driven the way its own app Makefiles drive it (make -C UK_ROOT A=app L=libs O=out
# C=config), but from here: those Makefiles use $(PWD), which is wayfinder's build directory, not the
# app, and their LIBS name libraries by short names (musl, lwip) that need not match the folders.
# Nothing is written outside the build directory and the work directory's archive cache.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

fail() { # status, message
  echo "unikraft: $2" >&2
  exit "$1"
}
need_dir() { # variable, what
  local v=${!1:-}
  [ -n "$v" ] || fail 2 "$1 is not set: point it at $2"
  [ -d "$v" ] || fail 2 "$1=$v is not a directory: point it at $2"
}
need_dir UK_ROOT "a Unikraft tree (git clone https://github.com/unikraft/unikraft)"
need_dir UK_APP "the application to build (e.g. a checkout of unikraft/app-nginx or app-helloworld)"
: "${WAYFINDER_BUILD_DIR:?run by wayfinder: WAYFINDER_BUILD_DIR is not set}"
root=$(realpath "$UK_ROOT")
app=$(realpath "$UK_APP")
[ -f "$root/Makefile" ] && [ -f "$root/Config.uk" ] && [ -d "$root/support/build" ] ||
  fail 2 "UK_ROOT=$UK_ROOT is not a Unikraft tree (no Makefile, Config.uk and support/build)"
[ -f "$app/Makefile.uk" ] || fail 2 "UK_APP=$UK_APP is not a Unikraft application (no Makefile.uk)"
out=$WAYFINDER_BUILD_DIR/build
config=${KCONFIG_CONFIG:-$WAYFINDER_BUILD_DIR/.config}

# Libraries, in an order that builds: Unikraft reads their Makefile.uk in L's order, and a library's
# headers are found only after the libraries before it (lwIP needs musl's types: musl first).
# The order the app's own Makefile gives (LIBS := .../musl:.../lwip:.../nginx) comes first, then
# C libraries, then the rest by name.
libs=()
if [ -n "${UK_LIBS:-}" ]; then
  if [[ $UK_LIBS == *:* ]]; then
    IFS=: read -r -a given <<< "$UK_LIBS"
    for d in "${given[@]}"; do
      [ -n "$d" ] || continue
      [ -f "$d/Makefile.uk" ] || fail 2 "UK_LIBS names $d, which is not a Unikraft library (no Makefile.uk)"
      libs+=("$(realpath "$d")")
    done
  elif [ -f "$UK_LIBS/Makefile.uk" ]; then
    libs=("$(realpath "$UK_LIBS")")
  else
    need_dir UK_LIBS "the directory of external libraries (lib-musl, lib-lwip, lib-nginx, ...)"
    found=()
    while IFS= read -r d; do found+=("$d"); done < <(find "$(realpath "$UK_LIBS")" -mindepth 2 -maxdepth 2 -name Makefile.uk -printf '%h\n' | LC_ALL=C sort)
    [ "${#found[@]}" -gt 0 ] || fail 2 "UK_LIBS=$UK_LIBS holds no library (no */Makefile.uk)"
    take() { # library folder name or short name; adds it once
      local want=$1 d
      for d in "${found[@]}"; do
        local b=${d##*/}
        if [ "$b" = "$want" ] || [ "$b" = "lib-$want" ] || [ "lib-$b" = "$want" ]; then
          [[ " ${libs[*]-} " == *" $d "* ]] || libs+=("$d")
        fi
      done
    }
    wanted=$(sed -n -E 's/^[[:space:]]*LIBS[[:space:]]*[:?+]?=[[:space:]]*//p' "$app/Makefile" 2>/dev/null | head -1 || true)
    IFS=: read -r -a named <<< "${wanted:-}"
    for n in "${named[@]}"; do
      n=${n##*/}
      [ -n "$n" ] && take "$n"
    done
    for n in musl newlib; do take "$n"; done
    for d in "${found[@]}"; do take "${d##*/}"; done
  fi
fi
L=$(IFS=:; echo "${libs[*]-}")

# Kconfig sees every library (a choice such as the TLSF allocator exists only when its library is
# there), but Unikraft downloads the archive of every library in L, enabled or not: the build gets
# only the libraries the resolved .config enables (their first LIB* symbol, e.g. CONFIG_LIBMUSL=y).
enabled_libs() {
  local d sym kept=()
  for d in "${libs[@]}"; do
    # lib-tlsf's is LIBTLSF (its first symbol, LIBTLSF_INCLUDED, only says the library is there).
    sym=$(sed -n -E 's/^[[:space:]]*(menu)?config[[:space:]]+(LIB[A-Za-z0-9_]+).*/\2/p' "$d/Config.uk" 2>/dev/null | grep -v '_INCLUDED$' | head -1 || true)
    if [ -z "$sym" ] || grep -q "^CONFIG_$sym=y" "$config"; then kept+=("$d"); fi
  done
  (IFS=:; echo "${kept[*]-}")
}

# Unikraft's make reads the environment: our variables of its names (UK_LIBS is its list of
# libraries) must not reach it. Downloads go through the archive cache (scripts/build/fetch-archive.sh).
read -r -a extra <<< "${UK_MAKE_ARGS:-}"
mk() {
  env -u UK_LIBS -u UK_ROOT -u UK_APP -u UK_BUILD -u LIBS \
    make -C "$root" A="$app" ${L:+L="$L"} O="$out" C="$config" WGET="$here/fetch-archive.sh" "$@" "${extra[@]}"
}

if [ "${1:-}" = olddefconfig ]; then
  mk olddefconfig
  exit 0
fi
[ -f "$config" ] || fail 2 "no .config at $config: wayfinder writes it (build.kconfig), or run olddefconfig first"
all=$L
L=$(enabled_libs)
echo "unikraft: libraries in this order: ${L:-none}${all:+ (of $all)}" >&2

# NGINX's configuration is part of the image's root filesystem: rendered per build.
if [ -d "$app/rootfs" ] || [ -d "$app/fs0" ]; then
  rootfs=$([ -d "$app/rootfs" ] && echo rootfs || echo fs0)
  rm -rf "${WAYFINDER_BUILD_DIR:?}/$rootfs"
  cp -a "$app/$rootfs" "$WAYFINDER_BUILD_DIR/$rootfs"
  if [ -n "${NGINX_WORKER_CONNECTIONS:-}" ]; then
    conf=$(find "$WAYFINDER_BUILD_DIR/$rootfs" -name nginx.conf | head -1)
    [ -n "$conf" ] || fail 2 "no nginx.conf under $app/$rootfs"
    # The access log goes to the in-memory filesystem: on, it grows until throughput collapses.
    log=$([ "${NGINX_ACCESS_LOG:-false}" = true ] && echo "access_log logs/access.log;" || echo "access_log off;")
    sed -i -E \
      -e "s/worker_connections[^;]*;/worker_connections ${NGINX_WORKER_CONNECTIONS};/" \
      -e "s/keepalive_timeout[^;]*;/keepalive_timeout ${NGINX_KEEPALIVE_TIMEOUT:-65};/" \
      -e "/access_log/d" \
      -e "s/(http[[:space:]]*\{)/\1\n    $log/" "$conf"
  fi
  command -v cpio >/dev/null || fail 2 "cpio is not installed: it makes the initrd from $app/$rootfs (apt-get install cpio)"
  # Unikraft's extraction makes each entry as it comes: a folder must come before what it holds.
  # Sorted paths do that (a prefix sorts first) and give the same archive every time.
  (cd "$WAYFINDER_BUILD_DIR/$rootfs" && find . -mindepth 1 -printf '%P\n' | LC_ALL=C sort |
    cpio -o -H newc -R 0:0 --reproducible --quiet) > "$WAYFINDER_BUILD_DIR/rootfs.cpio"
fi

jobs=$(nproc)
if [ -n "${WAYFINDER_CORES:-}" ]; then
  IFS=, read -r -a granted <<< "$WAYFINDER_CORES"
  jobs=${#granted[@]}
fi
rm -f "$WAYFINDER_BUILD_DIR/missing-archives.log"
errlog=$WAYFINDER_BUILD_DIR/make-errors.log
status=0
mk -j"$jobs" 2> >(tee "$errlog" >&2) || status=$?
wait
if [ "$status" -ne 0 ]; then
  # The last line is what a progress line shows: the cause, not make's "Error 2" echoes.
  if [ -s "$WAYFINDER_BUILD_DIR/missing-archives.log" ]; then
    fail 5 "$(head -1 "$WAYFINDER_BUILD_DIR/missing-archives.log")"
  fi
  bad=$(grep -m1 'checksum validation failed' "$errlog" || true)
  if [ -n "$bad" ]; then
    fail 5 "$bad: the archive's bytes are not the ones the library's Makefile.uk names (an archive made with git archive differs from the download's); put the original file in the archives folder, or accept yours with UK_MAKE_ARGS='LIB<NAME>_ORIGIN_SHA256=<its sha256>'"
  fi
  first=$(grep -m1 -E 'error:|Error [0-9]|No rule to make target|\*\*\*' "$errlog" || true)
  fail "$status" "make failed (status $status)${first:+: $first}"
fi
image=$(find "$out" -maxdepth 1 \( -name '*_qemu-x86_64' -o -name '*_kvm-x86_64' \) | grep -v '\.dbg$' | head -1 || true)
[ -n "$image" ] || fail 4 "the build made no *_qemu-x86_64 / *_kvm-x86_64 image in $out"
ln -sf "$image" "$WAYFINDER_BUILD_DIR/kernel"
stat -c 'image bytes: %s' "$image"
