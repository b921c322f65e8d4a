#!/usr/bin/env bash
# A slim Debian bookworm image with Python 3, built locally (no public image registry needed):
# mmdebstrap writes the root filesystem, `docker import` makes it an image. It plays the part
# `python:3.11-slim` plays for users: the `build.base_image` of the generated Dockerfile.
#
# The tag carries a hash of this recipe, so an image already built from the same recipe is
# reused (nothing is downloaded or rebuilt); the last line printed is the tag.
#   bash scripts/base-image.sh
# Environment:
#   DOCKER_HOST              the engine (scripts/docker-services.sh prints it)
#   MLOPS_CI_DEBIAN_SOURCES  apt sources for the image: a deb822 file, a one-line "deb …" entry or a mirror URL
#                            (default: this machine's own apt sources, so the same mirror is used)
#   MLOPS_CI_BASE_REPO       image repository (default mlops-ci/base)
set -euo pipefail

suite=bookworm
# Only what the interpreter and compiled wheels (numpy, scipy: libstdc++) need: no apt, no pip
# (wheels are installed with pip run from its own wheel).
packages="python3-minimal,libpython3.11-stdlib,libstdc++6"
recipe_hash=$( { cat "$0"; echo "$suite $packages"; } | sha256sum | cut -c1-12)
repo="${MLOPS_CI_BASE_REPO:-mlops-ci/base}"
tag="$repo:py3.11-$suite-$recipe_hash"
log() { echo "base-image: $*" >&2; }

# One build at a time (two test workers may ask together); the second then finds the image.
lock_dir="${MLOPS_CI_CACHE:-$(cd "$(dirname "$0")/.." && pwd -P)/.cache/test-services}"  # this clone's, like its engine
mkdir -p "$lock_dir"
exec 9> "$lock_dir/.base-image.lock"
flock 9

if docker image inspect "$tag" >/dev/null 2>&1; then
  log "reusing $tag"
  echo "$tag"
  exit 0
fi

sources="${MLOPS_CI_DEBIAN_SOURCES:-}"
if [ -z "$sources" ]; then
  for candidate in /etc/apt/sources.list.d/debian.sources /etc/apt/sources.list; do
    if [ -s "$candidate" ] && grep -qE '^(deb |URIs:)' "$candidate"; then sources="$candidate"; break; fi
  done
fi
mirror_args=()
[ -n "$sources" ] && mirror_args=("$sources")
# Set up the merged /usr layout with mmdebstrap's hook rather than the usrmerge package, which
# would pull in perl (~50 MB) that nothing in the image uses.
hook_args=()
[ -d /usr/share/mmdebstrap/hooks/merged-usr ] && hook_args=(--hook-dir=/usr/share/mmdebstrap/hooks/merged-usr)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
log "building $tag with mmdebstrap (variant essential + $packages)"
start=$(date +%s)
mmdebstrap --quiet --variant=essential --include="$packages" --format=tar "${hook_args[@]}" \
  --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*' \
  --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
  --dpkgopt='path-exclude=/usr/share/locale/*' \
  --customize-hook='rm -rf "$1"/var/cache/apt/* "$1"/var/lib/apt/lists/* "$1"/var/log/*' \
  "$suite" "$work/rootfs.tar" "${mirror_args[@]}" > "$work/mmdebstrap.log" 2>&1 \
  || { tail -30 "$work/mmdebstrap.log" >&2; log "mmdebstrap failed"; exit 1; }
version=$(tar -xOf "$work/rootfs.tar" ./var/lib/dpkg/status \
  | awk '/^Package: python3.11-minimal$/{p=1} p&&/^Version:/&&!v{v=$2} END{print v}' | cut -d- -f1)
docker import \
  --change "ENV PATH=/usr/local/bin:/usr/bin:/bin PYTHON_VERSION=${version:-3.11}" \
  --change 'CMD ["python3"]' \
  --change "LABEL org.opencontainers.image.title=mlops-ci-base org.opencontainers.image.version=$recipe_hash" \
  "$work/rootfs.tar" "$tag" >/dev/null
log "built $tag in $(( $(date +%s) - start )) s"
echo "$tag"
