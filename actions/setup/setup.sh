#!/usr/bin/env bash
# mlops-ci setup: install the toolkit once per job into a cached virtualenv keyed by its version.
#
# Inputs arrive as environment variables (never by ${{ }} interpolation):
#   SETUP_INPUT_PYTHON     interpreter that creates the venv (default python3; 3.11+)
#   SETUP_INPUT_VERSION    toolkit version (default: the version of the source tree two levels up)
#   SETUP_INPUT_EXTRAS     pip extras (default all; "" for the core only)
#   SETUP_INPUT_CACHE_DIR  cache root (default ${RUNNER_TOOL_CACHE:-$HOME/.cache}/mlops-ci)
#   SETUP_INPUT_PIP_ARGS   extra pip arguments, split on whitespace, never printed
#   SETUP_INPUT_COMPILE_BYTECODE  auto (default: compile on self-hosted runners only, where the venv
#                          serves later jobs), true or false; the pip fallback always compiles, as pip does
# Not INPUT_*: runners expose a composite action's own inputs as INPUT_<NAME> to its steps, so the
# `version` input of actions/promote once leaked in here as the toolkit version to install.
# Tunables: MLOPS_CI_SETUP_LOCK_TIMEOUT (seconds to wait for another job's install, default 1200);
#   MLOPS_CI_SETUP_VERIFY=full hashes every file of a cached venv on reuse, not only those whose
#   inode or ctime changed since the manifest was written.
#   MLOPS_CI_SETUP_INSTALLER=auto|uv|pip: auto (default) installs with uv - pinned and hash-checked
#   by get-uv.sh, kept in <cache-dir>/.tools - and falls back to pip where uv cannot be had or fails;
# Progress: one line per phase of an install ([1/4] venv, [2/4] installer, [3/4] packages,
# [4/4] health check and seal), each with its time.
#
# Cache layout (one entry per toolkit version):
#   <cache-dir>/<version>/venv        the venv used by jobs: a symlink to venv-<stamp> below, or any
#                                     existing venv (a directory, or a symlink to one elsewhere - this
#                                     is how tests seed the cache with an already-installed venv)
#   <cache-dir>/<version>/venv-<stamp>  a venv built by this script; "venv" is switched to it by an
#                                     atomic rename once it is complete and passed the health check.
#                                     It is read-only (chmod -R a-w) and holds .mlops-ci-manifest:
#                                     every file with its sha256 (check_venv.py --write-manifest)
#   <cache-dir>/<version>/venv-<stamp>.manifest-sha256  the manifest's sha256, outside the venv; a
#                                     second copy is the manifest= line of venv-<stamp>/.mlops-ci-setup
#   <cache-dir>/<version>/.lock       flock(1) lock serialising installs of that version
# A venv is reused when
#   1. it is the venv that was built (security review F5): for a venv-<stamp> of this script, the
#      manifest matches both digests and every file, link and content of the venv matches the
#      manifest, with nothing added (check_venv.py --verify-manifest, run by the system Python, so
#      nothing of the venv runs before it passed). A venv-<stamp> without a manifest is rebuilt.
#      A venv seeded by hand (a directory, or a link to one elsewhere) has none: it is reused
#      unverified, and the log says so;
#   2. check_venv.py passes with its own interpreter (right mlops-ci version, Python version and
#      every requirement of mlops-ci[extras] installed) and bin/mlops-ci runs;
#   3. for an install from source, the venv was built from the same source (digest in .mlops-ci-setup).
# Anything else (modified, missing, half-installed, wrong version) is rebuilt; nothing outside
# <cache-dir>/<version> is ever modified or deleted. Hash checks detect a changed venv; what keeps
# jobs from changing it is ownership: on a shared runner the cache belongs to another user than the
# jobs (see docs/runners.md, "Runner hygiene").
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
src="$(cd "$here/../.." && pwd -P)"

log() { printf 'mlops-ci setup: %s\n' "$*"; }

# A workflow-command-safe error annotation (%, CR and LF escaped) and exit 1.
die() {
  local msg="$*"
  msg="${msg//'%'/'%25'}"
  msg="${msg//$'\r'/'%0D'}"
  msg="${msg//$'\n'/'%0A'}"
  printf '::error title=mlops-ci setup::%s\n' "$msg"
  exit 1
}

set_output() {
  if [ -n "${GITHUB_OUTPUT:-}" ]; then
    printf '%s=%s\n' "$1" "$2" >> "$GITHUB_OUTPUT"
  fi
}

# ---- inputs ---------------------------------------------------------------------------------
python_in="${SETUP_INPUT_PYTHON:-python3}"
python_bin="$(command -v -- "$python_in" || true)"
[ -n "$python_bin" ] || die "Python interpreter '$python_in' not found (input 'python')"
python_xy="$("$python_bin" -I -c 'import sys; print("%d.%d" % sys.version_info[:2])')" \
  || die "'$python_in' does not run"
"$python_bin" -I -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
  || die "mlops-ci needs Python 3.11 or newer; '$python_in' is Python $python_xy (input 'python')"

src_version=""
if [ -f "$src/pyproject.toml" ]; then
  src_version="$("$python_bin" -I -c '
import sys, tomllib
with open(sys.argv[1], "rb") as f:
    print(tomllib.load(f).get("project", {}).get("version", ""))
' "$src/pyproject.toml")" || src_version=""
fi
version="${SETUP_INPUT_VERSION:-$src_version}"
version="${version#v}"
[ -n "$version" ] || die "no version given and none found in $src/pyproject.toml (input 'version')"
[[ "$version" =~ ^[A-Za-z0-9][A-Za-z0-9.+!_-]*$ ]] || die "invalid version '$version' (input 'version')"

extras="${SETUP_INPUT_EXTRAS-all}"
extras="${extras//[[:space:]]/}"
[[ "$extras" =~ ^[A-Za-z0-9_.,-]*$ ]] || die "invalid extras '$extras' (input 'extras': comma-separated names)"

cache_dir="${SETUP_INPUT_CACHE_DIR:-}"
if [ -z "$cache_dir" ]; then
  cache_dir="${RUNNER_TOOL_CACHE:-$HOME/.cache}/mlops-ci"
fi
case "$cache_dir" in "~"/*) cache_dir="$HOME/${cache_dir#"~/"}" ;; esac

case "${SETUP_INPUT_COMPILE_BYTECODE:-auto}" in
  true) compile=1 ;;
  false) compile=0 ;;
  auto|"") compile=0; [ "${RUNNER_ENVIRONMENT:-}" != self-hosted ] || compile=1 ;;
  *) die "invalid compile-bytecode '${SETUP_INPUT_COMPILE_BYTECODE}' (input 'compile-bytecode': auto, true or false)" ;;
esac

pip_args=()
if [ -n "${SETUP_INPUT_PIP_ARGS:-}" ]; then
  read -r -a pip_args <<< "$SETUP_INPUT_PIP_ARGS"
fi

entry="$cache_dir/$version"
venv="$entry/venv"

# Installing from the action's own source tree: the version alone does not name the code (a tag
# such as @v1 moves to new commits before pyproject's version changes), so a venv this script
# built records a digest of the source and is rebuilt when the source differs.
src_digest=""
if [ "$version" = "$src_version" ]; then
  src_digest="$(cd "$src" && find pyproject.toml requirements.lock mlops_ci -type f \
                  ! -path '*/__pycache__/*' ! -name '*.pyc' 2>/dev/null | LC_ALL=C sort \
                | xargs -d '\n' sha256sum | sha256sum | cut -c1-16)"
fi

# ---- helpers --------------------------------------------------------------------------------
healthy() {  # healthy VENV [quiet [any-source]]: the venv exists, has the right toolkit and all its requirements
  local v="$1" why
  [ -x "$v/bin/python" ] || { [ -n "${2:-}" ] || log "no usable interpreter in $v"; return 1; }
  [ -x "$v/bin/mlops-ci" ] || { [ -n "${2:-}" ] || log "no mlops-ci command in $v"; return 1; }
  if ! why="$("$v/bin/python" -I "$here/check_venv.py" "$version" "$extras" "$python_xy" 2>&1)"; then
    [ -n "${2:-}" ] || log "cached venv $v is not usable: ${why//$'\n'/; }"
    return 1
  fi
  "$v/bin/mlops-ci" version >/dev/null 2>&1 \
    || { [ -n "${2:-}" ] || log "mlops-ci in $v does not run"; return 1; }
  # a venv built here from another source tree (a venv seeded by hand carries no record)
  if [ -n "$src_digest" ] && [ "${3:-}" != any-source ] && [ -f "$v/.mlops-ci-setup" ] \
     && ! grep -qx "source=$src_digest" "$v/.mlops-ci-setup"; then
    [ -n "${2:-}" ] || log "cached venv $v was built from other mlops-ci sources than $src"
    return 1
  fi
}

verified=""
unverified_noted=""
sealed() {  # sealed VENV [quiet]: VENV is the venv that was built - nothing changed, added or removed
  local v="$1" real parent name entry_real record_digest entry_digest why
  verified=""
  real="$(cd "$v" 2>/dev/null && pwd -P)" || return 1
  parent="${real%/*}"
  name="${real##*/}"
  if [ ! -e "$real/.mlops-ci-manifest" ] && [ ! -e "$parent/$name.manifest-sha256" ] \
     && ! grep -qs '^manifest=' "$real/.mlops-ci-setup"; then
    entry_real="$(cd "$entry" 2>/dev/null && pwd -P)" || entry_real=""
    if [ "$parent" = "$entry_real" ] && [[ "$name" == venv-* ]]; then
      [ -n "${2:-}" ] || log "cached venv $v has no manifest, though this action built it (removed, or" \
                             "built by a setup action older than manifests): rebuilding"
      return 1
    fi
    if [ "$unverified_noted" != "$real" ]; then
      log "cached venv $v has no manifest (it was not built by this action), so it cannot be verified"
      unverified_noted="$real"
    fi
    return 0
  fi
  record_digest="$(sed -n 's/^manifest=//p' "$real/.mlops-ci-setup" 2>/dev/null | head -n 1)" || true
  entry_digest="$(head -c 64 "$parent/$name.manifest-sha256" 2>/dev/null)" || true
  if ! why="$("$python_bin" -I "$here/check_venv.py" --verify-manifest "$real" "$record_digest" \
                "$entry_digest" 2>&1)"; then
    [ -n "${2:-}" ] || log "cached venv $v was modified after it was built (${why//$'\n'/; }): rebuilding"
    return 1
  fi
  verified="$why"
}

remove_tree() {  # remove_tree DIR: a venv this script built is read-only, so make it writable first
  local d="$1"
  if [ -d "$d" ] && [ ! -L "$d" ]; then
    chmod -R u+w -- "$d" 2>/dev/null || true
  fi
  rm -rf -- "$d" || log "could not remove $d"
  rm -f -- "$d.manifest-sha256" || true
  if [ -d "$d.uv-cache" ] && [ ! -L "$d.uv-cache" ]; then  # the uv cache it was installed from
    chmod -R u+w -- "$d.uv-cache" 2>/dev/null || true
    rm -rf -- "$d.uv-cache" || log "could not remove $d.uv-cache"
  fi
}

lock_fd=""
acquire_lock() {
  local timeout="${MLOPS_CI_SETUP_LOCK_TIMEOUT:-1200}"
  if ! mkdir -p "$entry" 2>/dev/null || [ ! -w "$entry" ]; then
    die "cannot install mlops-ci $version: $entry is not writable by $(id -un 2>/dev/null || id -u)" \
        "(a toolkit preinstalled read-only, e.g. in a runner image, serves only its own version and extras;" \
        "input 'cache-dir' picks another cache)"
  fi
  if command -v flock >/dev/null 2>&1; then
    exec {lock_fd}>>"$entry/.lock"
    if ! flock -n "$lock_fd"; then
      log "another job is installing mlops-ci $version; waiting up to ${timeout}s"
      flock -w "$timeout" "$lock_fd" || die "timed out after ${timeout}s waiting for $entry/.lock"
    fi
  else  # no flock(1) (e.g. macOS): an atomic mkdir, stale after the timeout
    local waited=0
    until mkdir "$entry/.lock.d" 2>/dev/null; do
      if [ "$waited" -ge "$timeout" ]; then
        log "removing a stale lock $entry/.lock.d"
        remove_tree "$entry/.lock.d"
        continue
      fi
      [ "$waited" -gt 0 ] || log "another job is installing mlops-ci $version; waiting up to ${timeout}s"
      sleep 2
      waited=$((waited + 2))
    done
    trap 'rm -rf "$entry/.lock.d"' EXIT
  fi
}

stage_source() {  # copy only what a build needs, so the build never writes into the checkout
  local dest="$1" item
  mkdir -p "$dest"
  # examples/: the bundled example ships inside the package (mlops_ci/examples links to it)
  for item in pyproject.toml setup.cfg setup.py MANIFEST.in README.md README.rst LICENSE LICENSE.txt \
              requirements.lock mlops-ci.schema.json mlops_ci examples; do
    [ -e "$src/$item" ] && cp -R "$src/$item" "$dest/"
  done
  find "$dest" -name __pycache__ -type d -prune -exec rm -rf {} +
}

now() { printf '%s\n' "${EPOCHREALTIME:-$SECONDS}" | tr , .; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f s", b - a }'; }

# One line per phase of an install: `[n/4] what (time)`.
phase() { log "[$1/4] $2"; }

# uv (pinned, hash-checked: get-uv.sh) installs the locked set in seconds; pip is the fallback where
# uv cannot be had (no wheel for this platform, no pip to fetch it) or fails (e.g. an index that only
# pip's own configuration names). MLOPS_CI_SETUP_INSTALLER=pip|uv forces one (default: auto).
install_with_uv() {  # install_with_uv NEWDIR TMP SPEC...: 0 when uv installed everything
  local new="$1" tmp="$2" started uv store count
  shift 2
  started="$(now)"
  store=""
  mkdir -p "$cache_dir/.tools" 2>/dev/null && [ -w "$cache_dir/.tools" ] && store="$cache_dir/.tools"
  if ! uv="$(bash "$here/get-uv.sh" "$store" "$tmp" "$python_bin" -- ${pip_args[@]+"${pip_args[@]}"} \
               2> "$tmp/get-uv.err")"; then
    log "uv is not available here ($(tr '\n' ' ' < "$tmp/get-uv.err")): installing with pip"
    return 1
  fi
  phase 2 "uv $("$uv" --version | cut -d' ' -f2) ready, hash-checked ($(since "$started"))"
  started="$(now)"
  # No config from the working directory (a pull request's pyproject.toml or uv.toml must not pick
  # the index the toolkit comes from); the index of pip's environment variables is honoured.
  # uv's cache is this venv's own, NEWDIR.uv-cache beside it, removed with it: files are hard-linked
  # from it (twice as fast as copies here), so they share inodes with nothing but that cache
  # (removing the cache now would change every file's ctime after it was sealed, and take ~10 s
  # on a busy disk), and nothing a job could have written into a shared cache gets in.
  # Bytecode (input compile-bytecode): by default compiled where the venv is reused by later jobs (a
  # self-hosted runner), not where it serves one job (GitHub-hosted, local): compiling costs ~45 s on
  # 2 cores; without it every process compiles what it imports (the sealed venv caches nothing):
  # the demo took 48-51 s instead of 20-37 s (benchmarks/README.md, "Set-up and the quickstart").
  if ! (cd "$tmp" && env UV_NO_CONFIG=1 UV_LINK_MODE=hardlink UV_PYTHON_DOWNLOADS=never UV_NO_PROGRESS=1 \
          UV_COMPILE_BYTECODE="$compile" \
          UV_CACHE_DIR="$new.uv-cache" \
          ${PIP_INDEX_URL:+UV_INDEX_URL="${UV_INDEX_URL:-$PIP_INDEX_URL}"} \
          ${PIP_EXTRA_INDEX_URL:+UV_EXTRA_INDEX_URL="${UV_EXTRA_INDEX_URL:-$PIP_EXTRA_INDEX_URL}"} \
          "$uv" pip install --python "$new/bin/python" ${constraint[@]+"${constraint[@]}"} \
          ${pip_args[@]+"${pip_args[@]}"} "$@" pip) > "$tmp/install.log" 2>&1; then
    echo "::group::uv pip install output"
    tail -n 200 "$tmp/install.log" || true
    echo "::endgroup::"
    log "uv pip install failed (output above): trying pip"
    return 1
  fi
  count="$(sed -n 's/^Installed \([0-9]*\) package.*/\1/p' "$tmp/install.log" | tail -n 1)"
  phase 3 "installed ${count:-the} packages with uv$([ "$compile" = 1 ] && echo ", bytecode compiled") ($(since "$started"))"
}

install_with_pip() {  # install_with_pip NEWDIR TMP SPEC...
  local new="$1" tmp="$2" started
  shift 2
  started="$(now)"
  if ! "$new/bin/python" -m pip --version >/dev/null 2>&1; then
    "$new/bin/python" -m ensurepip --default-pip > "$tmp/ensurepip.log" 2>&1 \
      || { cat "$tmp/ensurepip.log"; remove_tree "$new"; rm -rf "$tmp"; die "'$python_in' -m ensurepip failed"; }
  fi
  phase 2 "pip $("$new/bin/python" -m pip --version | cut -d' ' -f2) ready ($(since "$started"))"
  started="$(now)"
  if ! "$new/bin/python" -m pip install --disable-pip-version-check --no-input \
       ${constraint[@]+"${constraint[@]}"} ${pip_args[@]+"${pip_args[@]}"} "$@" > "$tmp/pip.log" 2>&1; then
    echo "::group::pip install output"
    grep -v "is ignored: it is neither a file nor a directory" "$tmp/pip.log" | tail -n 200 || true
    echo "::endgroup::"
    remove_tree "$new"
    rm -rf "$tmp"
    die "pip install of mlops-ci $version failed (output above)"
  fi
  phase 3 "installed with pip ($(since "$started"))"
}

install_venv() {  # install_venv NEWDIR
  local new="$1" tmp spec started installer="${MLOPS_CI_SETUP_INSTALLER:-auto}"
  local constraint=()
  case "$installer" in auto|uv|pip) ;; *) die "MLOPS_CI_SETUP_INSTALLER must be auto, uv or pip, not '$installer'" ;; esac
  tmp="$(mktemp -d "${RUNNER_TEMP:-${TMPDIR:-/tmp}}/mlops-ci-setup.XXXXXX")"
  if [ "$version" = "$src_version" ]; then
    stage_source "$tmp/src"
    spec="$tmp/src"
    [ -z "$extras" ] || spec="${spec}[${extras}]"
    [ ! -f "$tmp/src/requirements.lock" ] || constraint=(-c "$tmp/src/requirements.lock")
    log "installing mlops-ci $version${extras:+[$extras]} from $src into $new"
  else
    spec="mlops-ci"
    [ -z "$extras" ] || spec="${spec}[${extras}]"
    spec="$spec==$version"
    log "installing mlops-ci $version${extras:+[$extras]} from the package index into $new"
  fi
  started="$(now)"
  # Without pip: uv installs its own pinned pip (the toolkit needs one to download wheels for images);
  # the pip path bootstraps one with ensurepip.
  "$python_bin" -m venv "$new" --without-pip || { rm -rf "$tmp"; die "'$python_in' -m venv failed"; }
  phase 1 "virtualenv created with Python $python_xy ($(since "$started"))"
  if [ "$installer" = pip ] || ! install_with_uv "$new" "$tmp" "$spec"; then
    [ "$installer" != uv ] || { remove_tree "$new"; rm -rf "$tmp"; die "uv install of mlops-ci $version failed (MLOPS_CI_SETUP_INSTALLER=uv)"; }
    remove_tree "$new.uv-cache"
    if [ -n "$(ls -A "$new/lib/python$python_xy/site-packages" 2>/dev/null)" ]; then  # what uv left half-done
      remove_tree "$new"
      "$python_bin" -m venv "$new" --without-pip || { rm -rf "$tmp"; die "'$python_in' -m venv failed"; }
    fi
    install_with_pip "$new" "$tmp" "$spec"
  fi
  rm -rf "$tmp"
  started="$(now)"
  # The sealed venv never writes bytecode, whoever runs it: a job running as root would otherwise
  # add __pycache__/*.pyc to it (read-only does not stop root), and the next setup would find the
  # venv modified and rebuild it.
  printf 'import sys; sys.dont_write_bytecode = True\n' \
    > "$new/lib/python$python_xy/site-packages/00-mlops-ci-no-bytecode.pth"
  printf 'version=%s\nextras=%s\npython=%s\nsource=%s\ninstalled=%s\n' \
    "$version" "$extras" "$python_xy" "$src_digest" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" > "$new/.mlops-ci-setup"
  healthy "$new" || { remove_tree "$new"; die "the freshly installed venv failed its health check (see above)"; }
  seal "$new"
  phase 4 "checked and sealed: read-only, every file's sha256 in its manifest ($(since "$started"))"
}

seal() {  # seal NEWDIR: read-only, with its manifest inside, its digest in .mlops-ci-setup and in the entry
  local new="$1" digest
  chmod -R a-w "$new"
  chmod u+w "$new" "$new/.mlops-ci-setup"  # the manifest is written after the chmod: it changes ctimes
  digest="$("$python_bin" -I "$here/check_venv.py" --write-manifest "$new")" \
    || { remove_tree "$new"; die "could not write the manifest of $new"; }
  printf 'manifest=%s\n' "$digest" >> "$new/.mlops-ci-setup"
  printf '%s\n' "$digest" > "$new.manifest-sha256"
  chmod a-w "$new" "$new/.mlops-ci-setup" "$new.manifest-sha256"
}

switch_to() {  # atomically point $venv at NEWDIR (a sibling directory)
  local new="$1" old_target="" tmp_link="$entry/.venv.$$.tmp"
  if [ -L "$venv" ]; then
    old_target="$(readlink "$venv")"
  elif [ -e "$venv" ]; then  # a broken real directory: no job can be using it successfully
    remove_tree "$venv"
  fi
  ln -sfn "$(basename "$new")" "$tmp_link"
  # rename(2) replaces the link itself, atomically (portable, unlike mv -T)
  "$python_bin" -I -c 'import os, sys; os.replace(sys.argv[1], sys.argv[2])' "$tmp_link" "$venv"
  # Remove the replaced venv only when it is ours (venv-* in this entry) and it was broken or modified.
  case "$old_target" in
    # built from other sources is not broken: a job pinned to that commit may be using it right now
    venv-*) if [ -d "$entry/$old_target" ] && ! { sealed "$entry/$old_target" quiet \
                                                    && healthy "$entry/$old_target" quiet any-source; }; then
              remove_tree "${entry:?}/$old_target"
            fi ;;
  esac
}

collect_garbage() {  # our venv-* dirs not in use: unfinished builds now, replaced ones after a day
  local d current=""
  [ -L "$venv" ] && current="$(readlink "$venv")"
  for d in "$entry"/venv-*; do
    if [ -f "$d" ] && [[ "$d" == *.manifest-sha256 ]]; then  # the digest of a venv that is gone
      [ -d "${d%.manifest-sha256}" ] || rm -f -- "$d"
      continue
    fi
    if [[ "$d" == *.uv-cache ]]; then  # goes with its venv
      [ -d "${d%.uv-cache}" ] || remove_tree "${d%.uv-cache}"
      continue
    fi
    [ -d "$d" ] || continue
    [ "$(basename "$d")" != "$current" ] || continue
    if [ ! -f "$d/.mlops-ci-setup" ] || [ -n "$(find "$d" -maxdepth 0 -mmin +1440)" ]; then
      remove_tree "$d"
    fi
  done
}

# ---- once per job ----------------------------------------------------------------------------
cache_hit=true
if [ "${MLOPS_CI_SETUP_VERSION:-}" = "$version" ] && [ -n "${MLOPS_CI_SETUP_VENV:-}" ] \
   && sealed "$MLOPS_CI_SETUP_VENV" quiet && healthy "$MLOPS_CI_SETUP_VENV" quiet; then
  log "mlops-ci $version is already set up in this job ($MLOPS_CI_SETUP_VENV)"
  real="$MLOPS_CI_SETUP_VENV"
  set_output version "$version"
  set_output python-path "$real/bin/python"
  set_output venv-path "$real"
  set_output cache-hit true
  exit 0
fi

# ---- reuse or install ------------------------------------------------------------------------
# sealed before healthy: nothing of a modified venv runs (healthy runs its python and mlops-ci)
if sealed "$venv" quiet && healthy "$venv" quiet; then
  log "cache-hit=true: reusing $venv${verified:+ ($verified)}"
else
  acquire_lock
  if [ -e "$venv" ] && sealed "$venv" && healthy "$venv"; then  # another job finished the install while we waited
    log "cache-hit=true: reusing $venv${verified:+ ($verified)}"
  else
    cache_hit=false
    if [ -e "$venv" ] || [ -L "$venv" ]; then
      log "cache-hit=false: reinstalling mlops-ci $version (the cached venv is broken or incomplete, or was modified)"
    else
      log "cache-hit=false: installing mlops-ci $version (nothing cached in $entry)"
    fi
    new="$entry/venv-$(date -u +%Y%m%d%H%M%S)-$$"
    started="$(now)"
    install_venv "$new"
    switch_to "$new"
    log "installed in $(since "$started")"
  fi
  collect_garbage
fi

real="$(cd "$venv" && pwd -P)"  # pin this job to the resolved venv, even if "venv" is switched later

if [ -n "${GITHUB_PATH:-}" ]; then
  echo "$real/bin" >> "$GITHUB_PATH"
fi
if [ -n "${GITHUB_ENV:-}" ]; then  # lets a later setup step in the same job return at once
  {
    echo "MLOPS_CI_SETUP_VERSION=$version"
    echo "MLOPS_CI_SETUP_VENV=$real"
  } >> "$GITHUB_ENV"
fi
set_output version "$version"
set_output python-path "$real/bin/python"
set_output venv-path "$real"
set_output cache-hit "$cache_hit"

echo "::group::mlops-ci version --all"
versions="$("$real/bin/mlops-ci" version --all)"
printf '%s\n' "$versions"
echo "::endgroup::"

if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
  {
    if [ "$cache_hit" = true ]; then how="reused from the cache"; else how="installed"; fi
    printf '### mlops-ci %s\n\n' "$version"
    printf 'Toolkit %s (<code>%s</code>), Python %s.\n\n' "$how" "$real" "$python_xy"
    printf '<details><summary>Versions</summary>\n\n| component | version |\n|---|---|\n'
    while read -r name ver; do
      [ -n "$name" ] && printf '| %s | %s |\n' "$name" "$ver"
    done <<< "$versions"
    printf '\n</details>\n'
  } >> "$GITHUB_STEP_SUMMARY"
fi
