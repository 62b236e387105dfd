#!/bin/bash
# Builds Demikernel's examples from the per-build copy of the tree that wayfinder made (the build's
# `source:`), after the `patch` parameters set their constants in it. Output: the tree's bin/.
set -euo pipefail

src=${WAYFINDER_SOURCE_DIR:-}
if [ -z "$src" ]; then
  echo "demikernel: no source tree: set DEMIKERNEL_ROOT to a Demikernel checkout at the release experiments/demikernel/knobs.yaml names (git clone https://github.com/microsoft/demikernel && git -C demikernel checkout db4b93853f22bfbff16cb19a3d8d3599cbdbb683, v1.5.12) and name it in the build's 'source:'" >&2
  exit 2
fi
[ -f "$src/Makefile" ] || { echo "demikernel: $src has no Makefile: DEMIKERNEL_ROOT must be the top of a Demikernel checkout" >&2; exit 2; }
command -v cargo >/dev/null || { echo "demikernel: cargo is not installed (Rust toolchain, see the tree's README)" >&2; exit 3; }

# Rebuilds reuse the dependencies compiled by earlier builds of this work directory.
export CARGO_TARGET_DIR=${DEMIKERNEL_TARGET_DIR:-$src/target}
make -C "$src" LIBOS="${LIBOS:-catpowder}" all-examples-rust -j"$(nproc)"
ls "$src"/bin/examples/rust/ >&2
echo "built LIBOS=${LIBOS:-catpowder} in $src"
