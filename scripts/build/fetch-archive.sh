#!/bin/bash
# A wget stand-in for build systems that download source archives (Unikraft's `fetch` rule calls
# `$(WGET) ... -O DEST URL`): it answers from the work directory's archive cache, fills the cache
# once per archive (from the folder the user named, else from the network), and when it cannot, says
# which file and URL are missing and where to put the file.
#   fetch-archive.sh [wget options] -O DEST URL
# Environment (wayfinder sets both for builds):
#   WAYFINDER_ARCHIVES       the cache: <workdir>/archives, shared by every build of the work directory
#   WAYFINDER_ARCHIVES_FROM  a folder of archives to take them from first (build.archives); offline hosts
# An archive is found in that folder under its file name (the URL's last part) or under
# <host>/<path> as in the cache. The cache keeps the URL's host and path, so two projects' `v1.0.zip` differ.
set -uo pipefail

dest='' url=''
while [ $# -gt 0 ]; do
  case "$1" in
    -O) dest=$2; shift 2 ;;
    -O*) dest=${1#-O}; shift ;;
    --output-document=*) dest=${1#*=}; shift ;;
    -*) shift ;;
    *) url=$1; shift ;;
  esac
done
if [ -z "$dest" ] || [ -z "$url" ]; then
  echo "fetch-archive: usage: fetch-archive.sh [wget options] -O DEST URL" >&2
  exit 2
fi

bare=${url%%[?#]*}
name=${bare##*/}
rel=${bare#*://}          # host/path: the cache's name for it
rel=${rel//..\//}
cache=${WAYFINDER_ARCHIVES:-}
from=${WAYFINDER_ARCHIVES_FROM:-}

# Puts the file in place under a temporary name first: two builds filling the same entry at once
# both end with a whole file.
place() { # source, target
  mkdir -p "$(dirname "$2")" || return 1
  local tmp="$2.part.$$"
  cp -f "$1" "$tmp" && mv -f "$tmp" "$2" || { rm -f "$tmp"; return 1; }
}

deliver() { # cached file
  mkdir -p "$(dirname "$dest")" && { ln -f "$1" "$dest" 2>/dev/null || cp -f "$1" "$dest"; }
}

if [ -n "$cache" ] && [ -s "$cache/$rel" ]; then
  echo "fetch-archive: $name from the archive cache $cache" >&2
  deliver "$cache/$rel"
  exit $?
fi

if [ -n "$from" ]; then
  for f in "$from/$name" "$from/$rel"; do
    if [ -s "$f" ]; then
      echo "fetch-archive: $name from $f${cache:+, into the archive cache $cache}" >&2
      if [ -n "$cache" ]; then
        place "$f" "$cache/$rel" && deliver "$cache/$rel"
      else
        place "$f" "$dest"
      fi
      exit $?
    fi
  done
fi

target=${cache:+$cache/$rel}
target=${target:-$dest}
mkdir -p "$(dirname "$target")"
tmp="$target.part.$$"
why=''
if command -v wget >/dev/null; then
  why=$(wget -nv --timeout=30 --tries=2 -O "$tmp" "$url" 2>&1) && [ -s "$tmp" ] && ok=1 || ok=0
elif command -v curl >/dev/null; then
  why=$(curl -fsSL --connect-timeout 30 --retry 1 -o "$tmp" "$url" 2>&1) && [ -s "$tmp" ] && ok=1 || ok=0
else
  why='neither wget nor curl is installed'
  ok=0
fi
if [ "$ok" = 1 ]; then
  echo "fetch-archive: $name downloaded from $url${cache:+ into the archive cache $cache}" >&2
  mv -f "$tmp" "$target"
  [ "$target" = "$dest" ] || deliver "$target"
  exit $?
fi
rm -f "$tmp"

where="the archive cache ${cache:-(none: WAYFINDER_ARCHIVES is not set)}"
[ -n "$from" ] && where="$where, nor in $from (build.archives)"
why=${why//$'\n'/ }
msg="missing source archive $name: not in $where, and downloading $url failed: ${why:-the download tool exited non-zero}"
hint="put $name (the file at $url) in ${from:-a folder} and name that folder in the experiment's build.archives (or WAYFINDER_ARCHIVES_FROM)"
echo "fetch-archive: $msg" >&2
echo "fetch-archive: $hint" >&2
# The caller may ignore our status (Unikraft's rule runs `wget ... || rm DEST`): leave the reason
# where the build script finds it.
if [ -n "${WAYFINDER_BUILD_DIR:-}" ] && [ -d "$WAYFINDER_BUILD_DIR" ]; then
  echo "$msg; $hint" >> "$WAYFINDER_BUILD_DIR/missing-archives.log"
fi
exit 1
