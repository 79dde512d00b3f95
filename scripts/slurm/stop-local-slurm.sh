#!/usr/bin/env bash
# Stops the one-node cluster that start-local-slurm.sh started in DIR (default /tmp/hdmea-slurm):
# cancels its jobs, then ends slurmd, slurmctld and the cluster's own munged, each by the pid in its
# pid file in DIR (nothing else on the machine is signalled). Safe to run twice or on a half-started
# cluster. DIR itself is kept (logs, jobcomp.log); remove it when done.
set -uo pipefail

dir="${1:-/tmp/hdmea-slurm}"
dir="$(cd "$dir" 2>/dev/null && pwd || printf '%s' "$dir")"
say() { printf 'stop-local-slurm: %s\n' "$*" >&2; }

# The process in PIDFILE, if it is alive and is the NAME it should be (not a recycled pid).
pid_of() {
  local pidfile="$1" name="$2" pid
  [ -s "$pidfile" ] || return 1
  pid="$(cat "$pidfile")"
  [ -r "/proc/$pid/comm" ] && [ "$(cat "/proc/$pid/comm")" = "$name" ] || return 1
  printf '%s\n' "$pid"
}

# SIGTERM, then SIGKILL after 10 s.
stop() {
  local pidfile="$1" name="$2" pid
  pid="$(pid_of "$pidfile" "$name")" || return 0
  kill -TERM "$pid" 2>/dev/null
  for _ in $(seq 100); do
    kill -0 "$pid" 2>/dev/null || { say "stopped $name ($pid)"; return 0; }
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null
  say "killed $name ($pid): it did not stop within 10 s"
}

if [ -s "$dir/slurm.conf" ] && pid_of "$dir/slurmctld.pid" slurmctld >/dev/null; then
  export SLURM_CONF="$dir/slurm.conf"
  jobs="$(squeue -h -o %i 2>/dev/null | tr '\n' ' ')"
  if [ -n "${jobs// /}" ]; then
    say "cancelling jobs: $jobs"
    # shellcheck disable=SC2086
    scancel $jobs 2>/dev/null
    # Their processes end within KillWait (5 s) of the cancel; slurmd must still be up to end them.
    for _ in $(seq 150); do
      [ -z "$(squeue -h -o %i 2>/dev/null)" ] && break
      sleep 0.1
    done
  fi
fi
# Job processes that outlived their job: proctrack/linuxproc knows a job's processes by parentage
# only, and one whose parent died first escapes it (seen: Snakemake's job-step process, stuck after
# SIGTERM). Each has this cluster's SLURM_CONF and a SLURM_JOB_ID in its environment.
for environ in $(grep -lzxF "SLURM_CONF=$dir/slurm.conf" /proc/[0-9]*/environ 2>/dev/null); do
  pid="${environ#/proc/}"
  pid="${pid%/environ}"
  job="$(grep -az '^SLURM_JOB_ID=' "$environ" 2>/dev/null | tr -d '\0')" || continue
  name="$(cat "/proc/$pid/comm" 2>/dev/null)"
  kill -KILL "$pid" 2>/dev/null && say "killed ${name:-a process} ($pid), left behind by job ${job#SLURM_JOB_ID=}"
done
stop "$dir/slurmd.pid" slurmd
stop "$dir/slurmctld.pid" slurmctld
stop "$dir/munge/munged.pid" munged
exit 0
