#!/usr/bin/env bash
# Serve GitHub Actions jobs from this (bare-metal GPU) machine with single-use runners:
#
#   wipe  ->  mlops-ci runner doctor  ->  mlops-ci runner jit  ->  ./run.sh --jitconfig ... as the job user  ->  repeat
#
# Each turn registers a fresh just-in-time runner that takes exactly one job and is then removed
# by GitHub. The doctor runs first: a box whose GPU or disk is broken registers nothing and retries
# later, instead of failing (or silently CPU-training) every job sent to it.
#
# Runner hygiene (security review F5, F6) - "ephemeral" means nothing a job wrote reaches the next:
#   - The loop runs as root; each job's run.sh runs as RUNNER_JOB_USER (setpriv), an unprivileged
#     user who cannot read the registration token: the token is read once, kept in this process's
#     memory and handed to `runner jit` only; RUNNER_TOKEN_FILE, CREDENTIALS_DIRECTORY and the
#     token variables are not in the job's environment, and the credential file is root's.
#   - Each job runs in a fresh copy of RUNNER_DIR in the job user's home; RUNNER_DIR itself, the
#     mlops-ci the loop runs and this script must not be modifiable by the job user (checked).
#   - Before every job (and when the loop ends) every process of the job user is killed, and the
#     job user's home (its runner copy and _work, ~/.gitconfig, pip config, user site-packages,
#     caches, ...) is emptied, as is everything the job user owns in /tmp, /var/tmp, /dev/shm and
#     in RUNNER_TOOL_CACHE. What root put in the tool cache (a read-only toolkit) stays.
#
# Settings (environment variables; a systemd EnvironmentFile works well - see mlops-ci-runner.service):
#   RUNNER_DIR            unpacked actions/runner release (contains run.sh), owned by root and not
#                         writable by the job user; never run in place, only copied    [required]
#   RUNNER_REPO           OWNER/NAME to serve, or
#   RUNNER_ORG            organization to serve                                   [exactly one of them]
#   RUNNER_JOB_USER       the unprivileged user jobs run as (default: runner); its home is wiped
#                         before every job, so it must hold nothing else
#   RUNNER_LABELS         labels of each runner (default: self-hosted,linux,x64,gpu)
#   RUNNER_GROUP_ID       runner group id (default: 1)
#   RUNNER_TOKEN_FILE     file with a token allowed to manage self-hosted runners, readable by root
#                         only; default: the MLOPS_CI_GITHUB_TOKEN variable. Given to `runner jit` only.
#   RUNNER_STATE_DIR      private scratch directory of root (default: $RUNNER_DIR/.mlops-ci-host)
#   RUNNER_TOOL_CACHE     the jobs' tool cache (default: the runner's _work/_tool, wiped with it);
#                         what the job user adds to it is wiped, what root installed stays
#   RUNNER_MIN_FREE_GB    free disk the doctor insists on (default: 20)
#   RUNNER_RETRY_SECONDS  pause after a failed doctor or registration (default: 60)
#   RUNNER_MAX_JOBS       stop after this many jobs; 0 = run until stopped (default: 0)
#   RUNNER_KEEP_WORK      1 = keep the last job's _work for debugging, moved to
#                         $RUNNER_STATE_DIR/last-work (root's; the next job never sees it) (default: 0)
#   MLOPS_CI              the mlops-ci executable, root-owned (default: mlops-ci)
# SIGTERM/SIGINT: the running job's runner is asked to stop, then the loop ends.
set -euo pipefail

log() { printf '%s run-ephemeral: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2; }
die() { log "error: $*"; exit 2; }

[ "$(id -u)" = 0 ] || die "run-ephemeral.sh must run as root (uid $(id -u) now): it keeps the registration" \
  "token to itself and starts each job as the unprivileged RUNNER_JOB_USER; a loop running as the job's" \
  "own user would hand the token to every job (see docs/runners.md)"

runner_dir="${RUNNER_DIR:-}"
[ -n "$runner_dir" ] || die "RUNNER_DIR is not set (the directory of the unpacked actions/runner release)"
[ -x "$runner_dir/run.sh" ] || die "$runner_dir/run.sh not found or not executable"
runner_dir="$(realpath -e "$runner_dir")"
labels="${RUNNER_LABELS:-self-hosted,linux,x64,gpu}"
group="${RUNNER_GROUP_ID:-1}"
min_free="${RUNNER_MIN_FREE_GB:-20}"
retry="${RUNNER_RETRY_SECONDS:-60}"
max_jobs="${RUNNER_MAX_JOBS:-0}"
keep_work="${RUNNER_KEEP_WORK:-0}"
mlops_ci="${MLOPS_CI:-mlops-ci}"
state="$(realpath -m "${RUNNER_STATE_DIR:-$runner_dir/.mlops-ci-host}")"
job_user="${RUNNER_JOB_USER:-runner}"

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
for tool in setpriv ps; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool (util-linux, procps) is needed to start and stop jobs as $job_user"
done

# ---- the job user ------------------------------------------------------------------------------
passwd_entry="$(getent passwd "$job_user")" || die "RUNNER_JOB_USER '$job_user' does not exist (useradd --create-home $job_user)"
IFS=: read -r _ _ job_uid job_gid _ job_home job_shell <<< "$passwd_entry"
[ "$job_uid" != 0 ] || die "RUNNER_JOB_USER '$job_user' is root: jobs must run as an unprivileged user"
job_shell="${job_shell:-/bin/bash}"
case "$job_home" in
  /?*) ;;
  *) die "the home of $job_user is '$job_home': it is emptied before every job, so it must be a directory of its own" ;;
esac
[ ! -L "$job_home" ] || die "the home of $job_user ($job_home) is a symbolic link"
job_home="$(realpath -m "$job_home")"
[ -d "$(dirname "$job_home")" ] || die "the parent directory of $job_user's home $job_home does not exist"
job_run="$job_home/actions-runner"  # the job's copy of RUNNER_DIR
job_groups="$(id -G "$job_user")"

inside() {  # inside PATH DIR: PATH is DIR or below it
  case "$1/" in "$2"/*) return 0 ;; esac
  return 1
}

mlops_ci_path="$(command -v -- "$mlops_ci")" || die "MLOPS_CI '$mlops_ci' not found"
mlops_ci_path="$(realpath -e "$mlops_ci_path")"
mlops_ci_tree="$mlops_ci_path"  # a console script: its whole virtualenv is what runs as root
if [ -f "$(dirname "$mlops_ci_path")/../pyvenv.cfg" ]; then
  mlops_ci_tree="$(realpath -e "$(dirname "$mlops_ci_path")/..")"
fi
self="$(realpath -e "${BASH_SOURCE[0]}")"
for what in "RUNNER_DIR:$runner_dir" "RUNNER_STATE_DIR:$state" "MLOPS_CI:$mlops_ci_tree" "this script:$self"; do
  ! inside "${what#*:}" "$job_home" || die "${what%%:*} (${what#*:}) is inside the job user's home $job_home, which is emptied before every job"
done

# Could the job user change this path (or one of its parent directories)? Owned by it, or writable
# by others / one of its groups (a sticky directory such as /tmp excepted: entries there can only
# be renamed or removed by their owner). Prints the first such path.
job_writable=(! -type l \( -uid "$job_uid" -o \( -perm -0002 ! \( -type d -perm -1000 \) \))
for gid in $job_groups; do
  job_writable+=(-o \( -gid "$gid" -perm -0020 ! \( -type d -perm -1000 \) \))
done
job_writable+=(\))
job_can_modify() {
  local path="$1" dir found
  found="$(find "$path" -xdev "${job_writable[@]}" -print -quit 2>/dev/null)" || true
  dir="$path"
  while [ -z "$found" ] && [ "$dir" != / ]; do
    dir="$(dirname "$dir")"
    found="$(find "$dir" -maxdepth 0 "${job_writable[@]}" -print -quit 2>/dev/null)" || true
  done
  printf '%s' "$found"
}
for what in "RUNNER_DIR:$runner_dir" "MLOPS_CI:$mlops_ci_tree" "this script:$self"; do
  offender="$(job_can_modify "${what#*:}")"
  [ -z "$offender" ] || die "the job user $job_user can modify $offender (${what%%:*}): whatever a job changes" \
    "there would run in the next job, or as root; make it root-owned and writable by root only"
done

as_job() { setpriv --reuid="$job_uid" --regid="$job_gid" --init-groups -- "$@"; }

# ---- the token: read once, kept in memory, never in the job's environment -----------------------
token="${MLOPS_CI_GITHUB_TOKEN:-}"
if [ -n "${RUNNER_TOKEN_FILE:-}" ]; then
  [ -r "$RUNNER_TOKEN_FILE" ] || die "RUNNER_TOKEN_FILE $RUNNER_TOKEN_FILE is not readable"
  ! as_job test -r "$RUNNER_TOKEN_FILE" || die "RUNNER_TOKEN_FILE $RUNNER_TOKEN_FILE is readable by the job user" \
    "$job_user: make it root's alone (chmod 600; as a systemd credential, run the unit as User=root)"
  token="$(tr -d '[:space:]' < "$RUNNER_TOKEN_FILE")"
fi
[ -n "$token" ] || die "no token: set RUNNER_TOKEN_FILE or MLOPS_CI_GITHUB_TOKEN"
# Nothing started from here on sees the token, or where it is, except `runner jit`.
unset MLOPS_CI_GITHUB_TOKEN GITHUB_TOKEN GH_TOKEN RUNNER_TOKEN_FILE CREDENTIALS_DIRECTORY XDG_RUNTIME_DIR

umask 077
mkdir -p "$state"
chown 0:0 "$state"
chmod 0700 "$state"
config="$state/jitconfig"

# ---- between jobs ------------------------------------------------------------------------------
job_processes_left() {  # any process of the job user that is not a zombie?
  ps -U "$job_uid" -o stat= 2>/dev/null | awk '$1 !~ /^Z/ { live = 1 } END { exit !live }'
}

kill_job_processes() {  # kill(-1) as the job user reaches every process of that user and nothing else
  local round
  for round in 1 2 3 4 5; do
    as_job bash -c 'kill -KILL -1' 2>/dev/null || true
    sleep 0.1
    job_processes_left || return 0
  done
  log "warning: processes of $job_user outlived SIGKILL x$round: $(ps -U "$job_uid" -o pid=,stat=,comm= | tr '\n' ' ')"
}

wipe() {  # nothing the last job wrote survives: processes, home, its files in shared places
  local places=(/tmp /var/tmp /dev/shm) dir
  kill_job_processes
  if [ "$keep_work" = 1 ] && [ ! -L "$job_run" ] && [ -d "$job_run/_work" ] && [ ! -L "$job_run/_work" ]; then
    rm -rf "${state:?}/last-work"
    mv "$job_run/_work" "$state/last-work"
    chown -R -h 0:0 "$state/last-work"
    log "kept the last job's _work in $state/last-work (RUNNER_KEEP_WORK=1)"
  fi
  if [ -d "$job_home" ]; then
    find "$job_home" -mindepth 1 -maxdepth 1 -exec rm -rf -- {} +
  fi
  for dir in "${RUNNER_TOOL_CACHE:-}" "${RUNNER_TOOLSDIRECTORY:-}" "${AGENT_TOOLSDIRECTORY:-}"; do
    if [ -n "$dir" ] && [ -d "$dir" ]; then places+=("$dir"); fi
  done
  find "${places[@]}" -xdev -mindepth 1 \( -path "$state" -o -path "$runner_dir" \) -prune \
    -o -uid "$job_uid" -prune -exec rm -rf -- {} + 2>/dev/null || true
}

prepare() {  # an empty home holding a fresh copy of RUNNER_DIR, the job user's
  local item name
  mkdir -p "$job_home"
  chown "$job_uid:$job_gid" "$job_home"
  chmod 0700 "$job_home"
  mkdir "$job_run"
  for item in "$runner_dir"/* "$runner_dir"/.[!.]*; do
    [ -e "$item" ] || [ -L "$item" ] || continue
    name="${item##*/}"
    case "$name" in
      # the job's own, the loop's, and a configured (non-JIT) runner's credentials
      _work|_diag|.runner|.credentials|.credentials_rsaparams) continue ;;
    esac
    [ "$item" != "$state" ] || continue
    cp -a -- "$item" "$job_run/"
  done
  chown -R -h "$job_uid:$job_gid" "$job_run"
}

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
  wipe
  prepare
  if ! MLOPS_CI_OUT_DIR="$state/doctor" "$mlops_ci" runner doctor --project-dir "$job_run" \
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

  log "runner registered; waiting for a job (run as $job_user)"
  (cd "$job_run" && umask 022 \
     && exec env HOME="$job_home" USER="$job_user" LOGNAME="$job_user" SHELL="$job_shell" \
          setpriv --reuid="$job_uid" --regid="$job_gid" --init-groups -- ./run.sh --jitconfig "$jitconfig") &
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

  if [ "$max_jobs" -gt 0 ] && [ "$jobs_done" -ge "$max_jobs" ]; then
    log "served $jobs_done job(s) (RUNNER_MAX_JOBS); stopping"
    break
  fi
done
wipe
