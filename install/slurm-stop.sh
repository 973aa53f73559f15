#!/usr/bin/env bash
# Stops what install/slurm-local.sh started, by its pid files (each pid's
# command line is checked first; nothing is stopped by name).
# Usage: install/slurm-stop.sh   (SLUICE_SLURM_STATE=DIR as for slurm-local.sh)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
state=${SLUICE_SLURM_STATE:-$repo/install/state/slurm}

stop() { # pidfile expected-command
  local pidfile=$1 cmd=$2 pid
  [ -s "$pidfile" ] || return 0
  pid=$(cat "$pidfile")
  if [ -r "/proc/$pid/cmdline" ] && grep -q "$cmd" "/proc/$pid/cmdline" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do
      [ -r "/proc/$pid/status" ] || break
      # a zombie waiting for PID 1 to reap it has stopped
      grep -q '^State:[[:space:]]*Z' "/proc/$pid/status" 2>/dev/null && break
      sleep 0.1
    done
    if [ -r "/proc/$pid/status" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$pid/status"; then
      kill -9 "$pid" 2>/dev/null || true
    fi
    echo "stopped $cmd ($pid)"
  fi
  rm -f "$pidfile"
}

stop "$state/run/slurmd.pid" slurmd
stop "$state/run/slurmctld.pid" slurmctld
stop "$state/run/slurmdbd.pid" slurmdbd
stop "$state/run/mariadbd.pid" mariadbd
stop "$state/run/munged.pid" munged
