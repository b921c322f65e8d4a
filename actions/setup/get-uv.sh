#!/usr/bin/env bash
# Print the path of the pinned uv (uv-requirements.txt beside this script), installing it first
# when needed. uv installs the locked toolkit in seconds where pip takes minutes on a 2-core runner;
# this script is how actions/setup and scripts/bootstrap.sh get it without trusting anything that
# was not pinned:
#   - the wheel comes from the package index through pip with --require-hashes (the wheel's sha256
#     is carried in uv-requirements.txt);
#   - the binary it holds must have a sha256 listed in uv-binaries.sha256, checked again every time
#     a kept copy is reused (a kept binary someone replaced is not run, it is reinstalled).
#
#   get-uv.sh STORE WORK PYTHON [PYTHON...] [-- PIP_ARGS...]
# STORE   directory that keeps uv between runs as STORE/uv-<version>/uv; empty, or not writable:
#         nothing is kept
# WORK    an existing scratch directory of the caller's (the download goes there; the caller removes it)
# PYTHON  interpreters whose pip may install the wheel, tried in order (the first with a pip wins)
# PIP_ARGS  extra arguments for that pip (e.g. --index-url of a mirror)
# Exit 0 with the path on stdout; exit 1 with the reason on stderr when uv cannot be had here
# (no pip, no wheel for this platform, index unreachable): the caller then installs with pip.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
[ "$#" -ge 3 ] || { echo "usage: get-uv.sh STORE WORK PYTHON [PYTHON...] [-- PIP_ARGS...]" >&2; exit 2; }
store="$1" work="$2"
shift 2
pythons=()
while [ "$#" -gt 0 ] && [ "$1" != -- ]; do pythons+=("$1"); shift; done
[ "$#" -gt 0 ] && shift  # the --
pip_args=("$@")

requirements="$here/uv-requirements.txt"
binaries="$here/uv-binaries.sha256"
version="$(sed -n 's/^uv==\([0-9][0-9A-Za-z.]*\).*/\1/p' "$requirements" | head -n 1)"
[ -n "$version" ] || { echo "no uv version pinned in $requirements" >&2; exit 1; }

sha256() {
  if command -v sha256sum >/dev/null 2>&1; then sha256sum "$1" | cut -c1-64
  else shasum -a 256 "$1" | cut -c1-64; fi
}
pinned() {  # pinned BINARY: its sha256 is one of the carried ones, and it is the version pinned
  local digest
  [ -f "$1" ] && [ ! -L "$1" ] || return 1
  digest="$(sha256 "$1")" || return 1
  grep -q "^$digest  uv-$version " "$binaries" || return 1
  local said
  said="$("$1" --version 2>/dev/null)" || return 1
  [ "$said" = "uv $version" ] || [[ "$said" == "uv $version "* ]]
}

kept=""
if [ -n "$store" ]; then
  kept="$store/uv-$version/uv"
  if pinned "$kept"; then
    echo "$kept"
    exit 0
  fi
  [ ! -e "$kept" ] || echo "the kept $kept is not the pinned uv $version: installing it again" >&2
fi

installed=""
why="no Python among ${pythons[*]} has pip"
for python in "${pythons[@]}"; do
  "$python" -m pip --version >/dev/null 2>&1 || continue
  rm -rf "$work/uv"
  if "$python" -m pip install --disable-pip-version-check --no-input --quiet --require-hashes \
       --only-binary :all: --no-deps --target "$work/uv" ${pip_args[@]+"${pip_args[@]}"} \
       -r "$requirements" > "$work/get-uv.log" 2>&1; then
    installed="$work/uv/bin/uv"
    break
  fi
  why="pip could not install the pinned uv $version: $(grep -E '^ERROR' "$work/get-uv.log" | head -n 2 | tr '\n' ' ')"
done
[ -n "$installed" ] || { echo "$why" >&2; exit 1; }
pinned "$installed" || { echo "the uv binary in the hash-checked wheel is not listed in $binaries" >&2; exit 1; }

if [ -n "$kept" ] && mkdir -p "${kept%/*}" 2>/dev/null && cp "$installed" "$kept.$$" 2>/dev/null \
   && chmod 555 "$kept.$$" && mv -f "$kept.$$" "$kept" 2>/dev/null; then
  echo "$kept"
else
  rm -f "$kept.$$" 2>/dev/null || true
  echo "$installed"
fi
