#!/usr/bin/env bash
# Serve GitHub Actions jobs from this (bare-metal GPU) machine with single-use runners:
#
#   mlops-ci runner doctor  ->  mlops-ci runner jit  ->  ./run.sh --jitconfig ...  ->  wipe _work  ->  repeat
#
# Each turn registers a fresh just-in-time runner that takes exactly one job and is then removed
# by GitHub, so no job inherits another job's files, credentials or runner registration. The doctor
# runs first: a box whose GPU or disk is broken registers nothing and retries later, instead of
# failing (or silently CPU-training) every job sent to it.
#
# Settings (environment variables; a systemd EnvironmentFile works well - see mlops-ci-runner.service):
#   RUNNER_DIR            unpacked actions/runner release (contains run.sh)               [required]
#   RUNNER_REPO           OWNER/NAME to serve, or
#   RUNNER_ORG            organization to serve                                   [exactly one of them]
#   RUNNER_LABELS         labels of each runner (default: self-hosted,linux,x64,gpu)
#   RUNNER_GROUP_ID       runner group id (default: 1)
#   RUNNER_TOKEN_FILE     file with a token allowed to manage self-hosted runners; default: the
#                         MLOPS_CI_GITHUB_TOKEN variable. It is given to `runner jit` only.
#   RUNNER_STATE_DIR      private scratch directory (default: $RUNNER_DIR/.mlops-ci-host)
#   RUNNER_MIN_FREE_GB    free disk the doctor insists on (default: 20)
#   RUNNER_RETRY_SECONDS  pause after a failed doctor or registration (default: 60)
#   RUNNER_MAX_JOBS       stop after this many jobs; 0 = run until stopped (default: 0)
#   RUNNER_KEEP_WORK      1 = keep $RUNNER_DIR/_work between jobs (default: 0, wiped)
#   MLOPS_CI              the mlops-ci executable (default: mlops-ci)
# SIGTERM/SIGINT: the running job's runner is asked to stop, then the loop ends.
set -euo pipefail

log() { printf '%s run-ephemeral: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2; }
die() { log "error: $*"; exit 2; }

runner_dir="${RUNNER_DIR:-}"
[ -n "$runner_dir" ] || die "RUNNER_DIR is not set (the directory of the unpacked actions/runner release)"
[ -x "$runner_dir/run.sh" ] || die "$runner_dir/run.sh not found or not executable"
labels="${RUNNER_LABELS:-self-hosted,linux,x64,gpu}"
group="${RUNNER_GROUP_ID:-1}"
min_free="${RUNNER_MIN_FREE_GB:-20}"
retry="${RUNNER_RETRY_SECONDS:-60}"
max_jobs="${RUNNER_MAX_JOBS:-0}"
keep_work="${RUNNER_KEEP_WORK:-0}"
mlops_ci="${MLOPS_CI:-mlops-ci}"
state="${RUNNER_STATE_DIR:-$runner_dir/.mlops-ci-host}"

scope=()
if [ -n "${RUNNER_REPO:-}" ] && [ -n "${RUNNER_ORG:-}" ]; then
  die "set RUNNER_REPO or RUNNER_ORG, not both"
elif [ -n "${RUNNER_REPO:-}" ]; then
  scope=(--repo "$RUNNER_REPO")
elif [ -n "${RUNNER_ORG:-}" ]; then
  scope=(--org "$RUNNER_ORG")
else
  die "set RUNNER_REPO (owner/name) or RUNNER_ORG"
fi
for number in "$group" "$retry" "$max_jobs"; do
  [[ "$number" =~ ^[0-9]+$ ]] || die "'$number' is not a whole number (RUNNER_GROUP_ID, RUNNER_RETRY_SECONDS, RUNNER_MAX_JOBS)"
done

token="${MLOPS_CI_GITHUB_TOKEN:-}"
if [ -n "${RUNNER_TOKEN_FILE:-}" ]; then
  [ -r "$RUNNER_TOKEN_FILE" ] || die "RUNNER_TOKEN_FILE $RUNNER_TOKEN_FILE is not readable"
  token="$(tr -d '[:space:]' < "$RUNNER_TOKEN_FILE")"
fi
[ -n "$token" ] || die "no token: set RUNNER_TOKEN_FILE or MLOPS_CI_GITHUB_TOKEN"
# Nothing started from here on sees the token except `runner jit`.
unset MLOPS_CI_GITHUB_TOKEN GITHUB_TOKEN GH_TOKEN

umask 077
mkdir -p "$state"
config="$state/jitconfig"

stop=0
child=""
on_signal() {
  stop=1
  if [ -n "$child" ]; then
    log "stopping: asking the runner (pid $child) to finish"
    kill -TERM "$child" 2>/dev/null || true
  fi
}
trap on_signal TERM INT
trap 'rm -f "$config"' EXIT

pause() {  # an interruptible sleep
  sleep "$retry" &
  child=$!
  wait "$child" || true
  child=""
}

jobs_done=0
while [ "$stop" -eq 0 ]; do
  if ! MLOPS_CI_OUT_DIR="$state/doctor" "$mlops_ci" runner doctor --project-dir "$runner_dir" \
       --labels "$labels" --min-free-gb "$min_free" > "$state/doctor.json" 2> "$state/doctor.log"; then
    log "runner doctor failed; not taking jobs for ${retry}s: $(tail -n 2 "$state/doctor.log" | tr '\n' ' ')"
    pause
    continue
  fi

  rm -f "$config"
  if ! MLOPS_CI_GITHUB_TOKEN="$token" "$mlops_ci" runner jit --labels "$labels" "${scope[@]}" \
       --runner-group-id "$group" --output "$config"; then
    log "could not register a runner; retrying in ${retry}s"
    pause
    continue
  fi
  jitconfig="$(cat "$config")"
  rm -f "$config"

  log "runner registered; waiting for a job"
  (cd "$runner_dir" && exec ./run.sh --jitconfig "$jitconfig") &
  child=$!
  unset jitconfig
  status=0
  # wait returns early (status > 128) when a signal arrives; wait again for the runner to finish.
  wait "$child" || status=$?
  while kill -0 "$child" 2>/dev/null; do
    status=0
    wait "$child" || status=$?
  done
  child=""
  jobs_done=$((jobs_done + 1))
  log "runner exited with status $status after job $jobs_done"

  if [ "$keep_work" != 1 ] && [ -d "$runner_dir/_work" ]; then
    rm -rf "${runner_dir:?}/_work"
  fi
  if [ "$max_jobs" -gt 0 ] && [ "$jobs_done" -ge "$max_jobs" ]; then
    log "served $jobs_done job(s) (RUNNER_MAX_JOBS); stopping"
    break
  fi
done
