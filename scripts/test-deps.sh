#!/usr/bin/env bash
# Test-only dependencies that are not Python packages, installed idempotently:
#   - GitHub's official API descriptions (npm, pinned in tests/npm/package-lock.json),
#     against which the fake GitHub server and the event fixtures are validated;
#   - mermaid 11 and 12 and github-markdown-css (npm, same lock file) and Debian's chromium
#     (+ an emoji font), with which tests/render/ renders reports as GitHub shows them.
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
  echo "test-deps: installing GitHub API descriptions, mermaid and github-markdown-css (npm ci)"
  npm ci --prefix "$npm_dir" --no-audit --no-fund --loglevel=error 2>&1 | grep -v 'Unknown user config' || true
  for pkg in @octokit/openapi mermaid mermaid12 github-markdown-css; do
    [ -d "$npm_dir/node_modules/$pkg" ] || { echo "test-deps: npm ci failed ($pkg missing)" >&2; exit 1; }
  done
  echo "$want" > "$stamp"
fi

# Headless Chromium for tests/render/ (Debian's build: the test never downloads a browser).
emoji_font=/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf
if ! command -v chromium >/dev/null || [ ! -f "$emoji_font" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "test-deps: installing Debian's chromium and fonts-noto-color-emoji"
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium \
      fonts-noto-color-emoji >/dev/null
  fi
  command -v chromium >/dev/null || { echo "test-deps: chromium is required (Debian package 'chromium'; run as root to install it)" >&2; exit 2; }
fi
