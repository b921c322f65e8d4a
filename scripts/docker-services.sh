#!/usr/bin/env bash
# A Docker engine and an image registry for the tests, started idempotently:
#   - Debian's docker.io (dockerd, as root) with its own data-root under a cache directory;
#   - Debian's docker-registry (distribution v2) on 127.0.0.1:5000, storage under the same cache;
#   - mmdebstrap, used by scripts/base-image.sh to build the serving base image locally.
# Packages are installed only when missing. A daemon that already answers is reused, not restarted.
# PIDs of what this script starts are appended to $MLOPS_CI_TEST_PIDS (scripts/test.sh stops them).
# The last line printed is `DOCKER_HOST=unix://…` for the caller to export.
#   bash scripts/docker-services.sh
# Environment: MLOPS_CI_CACHE (default ~/.cache/mlops-ci), MLOPS_CI_REGISTRY_ADDR (default 127.0.0.1:5000).
set -euo pipefail

cache="${MLOPS_CI_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mlops-ci}"
registry_addr="${MLOPS_CI_REGISTRY_ADDR:-127.0.0.1:5000}"
state="$cache/docker"
sock="$state/docker.sock"
mkdir -p "$state"
log() { echo "docker-services: $*" >&2; }
record_pid() { [ -n "${MLOPS_CI_TEST_PIDS:-}" ] && echo "$1" >> "$MLOPS_CI_TEST_PIDS"; return 0; }

# One caller at a time (two pytest workers may ask together). The daemons must not inherit the
# lock descriptor (9>&- below), or they would hold the lock for as long as they run.
exec 9> "$state/.lock"
flock 9

if [ "$(id -u)" != 0 ]; then
  log "must run as root (dockerd needs it); run the tests as root or start the engine yourself and set DOCKER_HOST"
  exit 2
fi

missing=()
command -v dockerd >/dev/null || missing+=(docker.io)
command -v docker-registry >/dev/null || missing+=(docker-registry)
command -v mmdebstrap >/dev/null || missing+=(mmdebstrap)
if [ "${#missing[@]}" -gt 0 ]; then
  log "installing ${missing[*]} (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

engine_answers() {
  # The docker CLI may be newer than the engine; `version` negotiates, `info` is cheap.
  DOCKER_HOST="$1" timeout 10 docker info --format '{{.ServerVersion}}' >/dev/null 2>&1
}

host=""
if [ -n "${DOCKER_HOST:-}" ] && engine_answers "$DOCKER_HOST"; then
  host="$DOCKER_HOST"
elif engine_answers "unix://$sock"; then
  host="unix://$sock"
elif [ -S /var/run/docker.sock ] && engine_answers unix:///var/run/docker.sock; then
  host="unix:///var/run/docker.sock"
fi

if [ -z "$host" ]; then
  log "starting dockerd (data-root $state/data)"
  rm -f "$sock" "$state/dockerd.pid"
  # containerd keeps its sockets under exec-root: a short path (unix socket paths are limited to 108 bytes).
  exec_root="/run/mlops-ci-docker"
  setsid dockerd --data-root "$state/data" --exec-root "$exec_root" --pidfile "$state/dockerd.pid" \
    --host "unix://$sock" --insecure-registry "$registry_addr" --log-level warn \
    > "$state/dockerd.log" 2>&1 < /dev/null 9>&- &
  record_pid "$!"
  for _ in $(seq 1 120); do
    engine_answers "unix://$sock" && break
    if ! kill -0 "$!" 2>/dev/null; then
      log "dockerd exited:"; tail -20 "$state/dockerd.log" >&2; exit 1
    fi
    sleep 0.5
  done
  engine_answers "unix://$sock" || { log "dockerd did not answer in 60 s"; tail -20 "$state/dockerd.log" >&2; exit 1; }
  host="unix://$sock"
fi

registry_answers() { curl -fsS --max-time 3 "http://$registry_addr/v2/" >/dev/null 2>&1; }
if ! registry_answers; then
  log "starting docker-registry on $registry_addr"
  mkdir -p "$state/registry"
  cat > "$state/registry.yml" <<EOF
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $state/registry
  delete:
    enabled: true
http:
  addr: $registry_addr
EOF
  setsid docker-registry serve "$state/registry.yml" > "$state/registry.log" 2>&1 < /dev/null 9>&- &
  record_pid "$!"
  for _ in $(seq 1 60); do
    registry_answers && break
    sleep 0.25
  done
  registry_answers || { log "registry did not answer"; tail -20 "$state/registry.log" >&2; exit 1; }
fi

echo "DOCKER_HOST=$host"
