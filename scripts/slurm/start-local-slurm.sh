#!/usr/bin/env bash
# Starts a one-node Slurm cluster on this machine (Debian's slurmctld, slurmd and munge packages),
# for trying workflow/profiles/slurm and for tests/slurm (npm run test:slurm):
#
#   sudo apt-get install -y slurmctld slurmd munge
#   eval "$(sudo scripts/slurm/start-local-slurm.sh /tmp/hdmea-slurm)"   # prints: export SLURM_CONF=…
#   sinfo; sbatch --wrap hostname; …
#   sudo scripts/slurm/stop-local-slurm.sh /tmp/hdmea-slurm
#
# Everything lives in DIR (default /tmp/hdmea-slurm): slurm.conf (from slurm.conf.in beside this
# script), state, logs, pid files and a MUNGE daemon with its own key and socket, so a Slurm or MUNGE
# already set up on the machine is neither used nor changed; clients find this cluster through
# SLURM_CONF. Settings: SLURM_LOCAL_CPUS (2), SLURM_LOCAL_MEM_MB (the machine's memory less 1 GB),
# SLURM_LOCAL_CTLD_PORT (6817), SLURM_LOCAL_SLURMD_PORT (6818).
# Needs root: slurmd starts every job as its user. Exit codes: 0 started, 1 failed (the daemons
# already started are stopped again), 2 not root or a package missing.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
dir="${1:-/tmp/hdmea-slurm}"

say() { printf 'start-local-slurm: %s\n' "$*" >&2; }

if [ "$(id -u)" -ne 0 ]; then
  say "needs root (slurmd starts jobs as their users); run it with sudo or as root"
  exit 2
fi
missing=()
for command in munged mungekey slurmctld slurmd sinfo scontrol sbatch; do
  command -v "$command" >/dev/null || missing+=("$command")
done
if [ "${#missing[@]}" -gt 0 ]; then
  say "not installed: ${missing[*]}; run: apt-get install -y slurmctld slurmd munge"
  exit 2
fi
for pidfile in "$dir/slurmctld.pid" "$dir/slurmd.pid" "$dir/munge/munged.pid"; do
  if [ -s "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    say "a cluster is already running in $dir ($(basename "$pidfile" .pid) is pid $(cat "$pidfile")); stop it first: $here/stop-local-slurm.sh $dir"
    exit 1
  fi
done

mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"
chmod 755 "$dir"
mkdir -p "$dir/state" "$dir/spool" "$dir/munge"
# Readable by all (a user's sbatch talks to the socket in it); the key itself is root's alone.
chmod 755 "$dir/munge"
rm -f "$dir/jobcomp.log"

cpus="${SLURM_LOCAL_CPUS:-2}"
mem_mb="${SLURM_LOCAL_MEM_MB:-$(awk '/^MemTotal:/ { print int($2 / 1024) - 1024 }' /proc/meminfo)}"
sed -e "s|@DIR@|$dir|g" -e "s|@CPUS@|$cpus|g" -e "s|@MEM_MB@|$mem_mb|g" \
  -e "s|@CTLD_PORT@|${SLURM_LOCAL_CTLD_PORT:-6817}|g" -e "s|@SLURMD_PORT@|${SLURM_LOCAL_SLURMD_PORT:-6818}|g" \
  "$here/slurm.conf.in" >"$dir/slurm.conf"
export SLURM_CONF="$dir/slurm.conf"

# On any failure from here on, stop what was started, with the logs that say why.
started_ok=0
on_exit() {
  if [ "$started_ok" -ne 1 ]; then
    for log in "$dir/munge/munged.log" "$dir/slurmctld.log" "$dir/slurmd.log"; do
      [ -s "$log" ] && { say "--- last lines of $log"; tail -n 20 "$log" >&2; }
    done
    "$here/stop-local-slurm.sh" "$dir" >&2 || true
  fi
}
trap on_exit EXIT

# MUNGE, private to this cluster: its own key and socket (slurm.conf's AuthInfo points at it).
[ -s "$dir/munge/munge.key" ] || mungekey --create --keyfile="$dir/munge/munge.key"
chmod 600 "$dir/munge/munge.key"
munged --force --key-file="$dir/munge/munge.key" --socket="$dir/munge/munge.socket" \
  --pid-file="$dir/munge/munged.pid" --log-file="$dir/munge/munged.log" --seed-file="$dir/munge/munged.seed"

# -c: a fresh controller state (job ids from 1); -N: this node's name in slurm.conf.
slurmctld -c -f "$SLURM_CONF"
slurmd -f "$SLURM_CONF" -N localhost

# Ready when the node has registered and is idle (a bound, not a guess: 30 s at most).
for _ in $(seq 150); do
  state="$(scontrol show node localhost 2>/dev/null | sed -n 's/.*State=\([A-Z+_]*\).*/\1/p' | head -n 1)"
  [ "$state" = IDLE ] && break
  sleep 0.2
done
if [ "$state" != IDLE ]; then
  say "the node did not become idle within 30 s (state: ${state:-unknown})"
  exit 1
fi
started_ok=1
say "one-node cluster up in $dir: $cpus CPUs, $mem_mb MB (sinfo, squeue, sbatch need SLURM_CONF=$SLURM_CONF)"
printf 'export SLURM_CONF=%q\n' "$SLURM_CONF"
