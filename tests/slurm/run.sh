#!/usr/bin/env bash
# npm run test:slurm: starts a one-node Slurm cluster (scripts/slurm/start-local-slurm.sh), runs
# tests/slurm/*.test.ts against it (the workflow with workflow/profiles/slurm, for real) and stops the
# cluster again, also when a test fails or the run is interrupted.
# Needs root and Debian's slurmctld, slurmd and munge (.ci/run installs them). Not root: skipped,
# loudly. Root without the packages: fails, naming them.
set -euo pipefail
cd "$(dirname "$0")/../.."

if [ "$(id -u)" -ne 0 ]; then
  cat >&2 <<'EOF'

########################################################################################
##  SKIPPED: the Slurm test (tests/slurm) was NOT run: it needs root to start slurmd.  ##
##  Run `npm run test:slurm` as root (CI does, in .ci/run), after                      ##
##  `apt-get install -y slurmctld slurmd munge`.                                       ##
########################################################################################

EOF
  exit 0
fi

dir="$(mktemp -d /tmp/hdmea-slurm-test-XXXXXX)"
status=0
finish() {
  status=$?
  if [ "$status" -ne 0 ] && [ -s "$dir/slurmctld.log" ]; then
    echo "--- last lines of $dir/slurmctld.log and slurmd.log" >&2
    tail -n 30 "$dir/slurmctld.log" "$dir/slurmd.log" >&2 || true
  fi
  scripts/slurm/stop-local-slurm.sh "$dir" || true
  rm -rf "$dir"
  exit "$status"
}
trap finish EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# (Assigned first: a failed start then stops the script, which eval "$(…)" would not.)
exports="$(scripts/slurm/start-local-slurm.sh "$dir")"
eval "$exports"
export SLURM_CONF SLURM_LOCAL_DIR="$dir"
npx vitest run --config tests/slurm/vitest.config.ts
