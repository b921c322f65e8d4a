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
  command -v npm >/dev/null || { echo "test-deps: npm is required (Debian package 'npm')" >&2; exit 2; }
  echo "test-deps: installing GitHub API descriptions (npm ci)"
  npm ci --prefix "$npm_dir" --no-audit --no-fund --loglevel=error 2>&1 | grep -v 'Unknown user config' || true
  [ -d "$npm_dir/node_modules/@octokit/openapi" ] || { echo "test-deps: npm ci failed" >&2; exit 1; }
  echo "$want" > "$stamp"
fi
