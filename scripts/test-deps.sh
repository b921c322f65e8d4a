#!/usr/bin/env bash
# Test-only dependencies that are not Python packages, installed idempotently:
#   - GitHub's official API descriptions (npm, pinned in tests/npm/package-lock.json),
#     against which the fake GitHub server and the event fixtures are validated.
set -euo pipefail
cd "$(dirname "$0")/.."

npm_dir=tests/npm
stamp="$npm_dir/node_modules/.installed"
want=$(sha256sum "$npm_dir/package-lock.json" | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  if ! command -v npm >/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      echo "test-deps: installing Debian's npm"
      apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null
    fi
    command -v npm >/dev/null || { echo "test-deps: npm is required (Debian package 'npm'; run as root to install it)" >&2; exit 2; }
  fi
  echo "test-deps: installing GitHub API descriptions (npm ci)"
  npm ci --prefix "$npm_dir" --no-audit --no-fund --loglevel=error 2>&1 | grep -v 'Unknown user config' || true
  [ -d "$npm_dir/node_modules/@octokit/openapi" ] || { echo "test-deps: npm ci failed" >&2; exit 1; }
  echo "$want" > "$stamp"
fi
