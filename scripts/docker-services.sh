#!/usr/bin/env bash
# A Docker engine and an image registry for the tests, of this clone's own, started idempotently:
#   - Debian's docker.io (dockerd, as root) with everything of its own: data-root, exec-root, pidfile
#     and socket under this clone's .cache/, a bridge of its own (not docker0) on an address range of
#     its own, and its own range for the networks the tests create;
#   - Debian's docker-registry (distribution v2) on a port of its own, storage under the same .cache/;
#   - mmdebstrap, used by scripts/base-image.sh to build the serving base image locally.
# It never talks to an engine or registry it did not start (the host's /var/run/docker.sock, a
# DOCKER_HOST of the caller, a registry already on the port): it reuses only its own, found by its
# socket and pidfiles; a port or address range held by anything else is skipped for the next free one.
# Packages are installed only when missing. PIDs of what this script starts are appended to
# $MLOPS_CI_TEST_PIDS (scripts/test.sh stops them). The bridge stays when the engine stops (like
# docker0); the next run reuses it.
# Prints KEY=VALUE lines; the last one is `DOCKER_HOST=unix://…` for the caller to export, before it
# `MLOPS_CI_REGISTRY_ADDR=127.0.0.1:<port>`.
#   bash scripts/docker-services.sh
# Environment: MLOPS_CI_CACHE (default: <this clone>/.cache/test-services), MLOPS_CI_REGISTRY_ADDR
# (default: 127.0.0.1 and a port derived from the clone's path, 15000-15999, first free one).
set -euo pipefail

clone="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cache="${MLOPS_CI_CACHE:-$clone/.cache/test-services}"
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
  log "must run as root (dockerd needs it): run the tests as root (scripts/test.sh)"
  exit 2
fi

missing=()
command -v dockerd >/dev/null || missing+=(docker.io)
command -v docker-registry >/dev/null || missing+=(docker-registry)
command -v mmdebstrap >/dev/null || missing+=(mmdebstrap)
command -v ip >/dev/null || missing+=(iproute2)
if [ "${#missing[@]}" -gt 0 ]; then
  log "installing ${missing[*]} (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# What is this clone's: a number from its path picks the bridge name, the address ranges and the port.
seed=$(( 16#$(printf '%s' "$clone" | sha256sum | cut -c1-6) ))
bridge="mlci$(printf '%s' "$clone" | sha256sum | cut -c1-8)"   # at most 15 characters (IFNAMSIZ)

engine_answers() { DOCKER_HOST="unix://$sock" timeout 10 docker info --format '{{.ServerVersion}}' >/dev/null 2>&1; }
ours_running() {  # ours_running PIDFILE NAME: the process of that pidfile is alive and is NAME
  local pid
  pid="$(cat "$1" 2>/dev/null)" || return 1
  [ -n "$pid" ] && [ -r "/proc/$pid/comm" ] && [ "$(cat "/proc/$pid/comm")" = "$2" ]
}
in_use() {  # in_use CIDR: a route of the host (other than our bridge's) already covers that range
  ip -4 route show to match "${1%/*}" 2>/dev/null | grep -v "dev $bridge " | grep -qv '^default'
}

# ---- the bridge and the address ranges ---------------------------------------------------------
if ! ip link show "$bridge" >/dev/null 2>&1; then
  slot=$(( seed % 250 ))
  for _ in $(seq 1 250); do
    subnet="10.213.$slot.0/24"
    pool="10.214.$slot.0/24"
    in_use "$subnet" || in_use "$pool" || break
    slot=$(( (slot + 1) % 250 ))
  done
  log "creating bridge $bridge on ${subnet%.0/24}.1/24"
  ip link add name "$bridge" type bridge
  ip addr add "${subnet%.0/24}.1/24" dev "$bridge"
fi
ip link set "$bridge" up
bridge_ip="$(ip -4 -o addr show dev "$bridge" | awk '{print $4; exit}')"
[ -n "$bridge_ip" ] || { log "bridge $bridge has no IPv4 address"; exit 1; }
slot="$(echo "$bridge_ip" | cut -d. -f3)"
pool="10.214.$slot.0/24"   # user-defined networks (a deploy's own network): /28s out of it

# ---- the engine --------------------------------------------------------------------------------
if ! engine_answers; then
  if ours_running "$state/dockerd.pid" dockerd; then
    log "our dockerd ($(cat "$state/dockerd.pid")) does not answer: stopping it"
    kill "$(cat "$state/dockerd.pid")" 2>/dev/null || true
    sleep 2
  fi
  log "starting dockerd (data-root $state/data, bridge $bridge $bridge_ip, networks from $pool)"
  rm -f "$sock" "$state/dockerd.pid"
  # containerd keeps its sockets under exec-root: a short path (unix socket paths are limited to 108 bytes).
  exec_root="/run/mlops-ci-docker-$(printf '%s' "$clone" | sha256sum | cut -c1-8)"
  setsid dockerd --data-root "$state/data" --exec-root "$exec_root" --pidfile "$state/dockerd.pid" \
    --host "unix://$sock" --bridge "$bridge" --default-address-pool "base=$pool,size=28" \
    --log-level warn > "$state/dockerd.log" 2>&1 < /dev/null 9>&- &
  record_pid "$!"
  for _ in $(seq 1 120); do
    engine_answers && break
    if ! kill -0 "$!" 2>/dev/null; then
      log "dockerd exited:"; tail -20 "$state/dockerd.log" >&2; exit 1
    fi
    sleep 0.5
  done
  engine_answers || { log "dockerd did not answer in 60 s"; tail -20 "$state/dockerd.log" >&2; exit 1; }
fi

# ---- the registry ------------------------------------------------------------------------------
registry_answers() { curl -fsS --max-time 3 "http://$1/v2/" >/dev/null 2>&1; }
port_taken() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
registry_addr=""
if ours_running "$state/registry.pid" docker-registry && [ -s "$state/registry.addr" ] \
   && registry_answers "$(cat "$state/registry.addr")"; then
  registry_addr="$(cat "$state/registry.addr")"
  if [ -n "${MLOPS_CI_REGISTRY_ADDR:-}" ] && [ "$MLOPS_CI_REGISTRY_ADDR" != "$registry_addr" ]; then
    kill "$(cat "$state/registry.pid")" 2>/dev/null || true  # ours, on another address than asked
    sleep 1
    registry_addr=""
  fi
fi
if [ -z "$registry_addr" ]; then
  if [ -n "${MLOPS_CI_REGISTRY_ADDR:-}" ]; then
    registry_addr="$MLOPS_CI_REGISTRY_ADDR"
    if port_taken "${registry_addr##*:}"; then
      log "MLOPS_CI_REGISTRY_ADDR=$registry_addr: something else already listens there (not reused)"
      exit 1
    fi
  else
    port=$(( 15000 + seed % 1000 ))
    for _ in $(seq 1 1000); do
      port_taken "$port" || break
      port=$(( 15000 + (port - 15000 + 1) % 1000 ))
    done
    registry_addr="127.0.0.1:$port"
  fi
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
  pid=$!
  record_pid "$pid"
  echo "$pid" > "$state/registry.pid"
  echo "$registry_addr" > "$state/registry.addr"
  for _ in $(seq 1 60); do
    registry_answers "$registry_addr" && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.25
  done
  registry_answers "$registry_addr" || { log "registry did not answer"; tail -20 "$state/registry.log" >&2; exit 1; }
fi

echo "MLOPS_CI_REGISTRY_ADDR=$registry_addr"
echo "DOCKER_HOST=unix://$sock"
