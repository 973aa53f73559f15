#!/usr/bin/env bash
# An sshd on 127.0.0.1 for trying sluice's SSH path (a "laptop" talking to
# the local Slurm cluster's "login node") and for the SSH tests. It has its
# own host key and a client key, accepts only that key, and a known_hosts
# file is written from the host key so strict host checking works without a
# prompt. Everything lives under one state directory. Idempotent.
#
# Usage: install/sshd-local.sh [stop]
#        SLUICE_SSHD_STATE=DIR SLUICE_SSHD_PORT=2222 install/sshd-local.sh
# Prints the environment to use (also written to $STATE/env.sh).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
state=${SLUICE_SSHD_STATE:-$repo/install/state/sshd}
port=${SLUICE_SSHD_PORT:-2222}
slurm_state=${SLUICE_SLURM_STATE:-$repo/install/state/slurm}
say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
. "$repo/install/apt-quiet.sh"
die() { printf 'sshd-local: %s\n' "$*" >&2; exit 1; }
pidfile=$state/sshd.pid

running() {
  local pid
  [ -s "$pidfile" ] || return 1
  pid=$(cat "$pidfile")
  [ -r "/proc/$pid/cmdline" ] && grep -q sshd "/proc/$pid/cmdline" 2>/dev/null \
    && ! grep -q '^State:[[:space:]]*Z' "/proc/$pid/status" 2>/dev/null
}

if [ "${1:-}" = stop ]; then
  if running; then
    pid=$(cat "$pidfile")
    # Its open sessions too (children of the listener), so clients see the
    # connection drop.
    pkill -P "$pid" 2>/dev/null || true
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do running || break; sleep 0.1; done
    echo "stopped sshd ($pid)"
  fi
  rm -f "$pidfile"
  exit 0
fi

if [ ! -x /usr/sbin/sshd ]; then
  say "installing openssh-server"
  apt_install openssh-server openssh-client || die "could not install openssh-server openssh-client"
fi

mkdir -p "$state"
chmod 0700 "$state"
[ -s "$state/host_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C sluice-test-host -f "$state/host_ed25519"
[ -s "$state/client_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C sluice-test-client -f "$state/client_ed25519"
cp "$state/client_ed25519.pub" "$state/authorized_keys"
chmod 0600 "$state/authorized_keys"
printf '[127.0.0.1]:%s %s\n' "$port" "$(cut -d' ' -f1,2 "$state/host_ed25519.pub")" > "$state/known_hosts"

user=$(id -un)
cat > "$state/sshd_config" <<EOF
# Written by install/sshd-local.sh: loopback only, this key only.
ListenAddress 127.0.0.1
Port $port
HostKey $state/host_ed25519
PidFile $pidfile
AuthorizedKeysFile $state/authorized_keys
AllowUsers $user
AuthenticationMethods publickey
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PermitRootLogin prohibit-password
Subsystem sftp internal-sftp
SetEnv SLURM_CONF=$slurm_state/slurm.conf
EOF

if ! running; then
  say "starting sshd on 127.0.0.1:$port"
  mkdir -p /run/sshd 2>/dev/null || true
  /usr/sbin/sshd -t -f "$state/sshd_config" || die "sshd rejects its config ($state/sshd_config)"
  setsid /usr/sbin/sshd -f "$state/sshd_config" -E "$state/sshd.log" </dev/null >/dev/null 2>&1 &
  for _ in $(seq 50); do running && break; sleep 0.1; done
  running || { tail -n 20 "$state/sshd.log" >&2 || true; die "sshd did not start"; }
fi

ssh_opts=(-i "$state/client_ed25519" -p "$port" -o BatchMode=yes -o IdentitiesOnly=yes
          -o UserKnownHostsFile="$state/known_hosts" -o StrictHostKeyChecking=yes)
ok=0
for _ in $(seq 30); do
  if ssh "${ssh_opts[@]}" "$user@127.0.0.1" true 2>/dev/null; then ok=1; break; fi
  sleep 0.2
done
[ $ok = 1 ] || { ssh "${ssh_opts[@]}" "$user@127.0.0.1" true || true; tail -n 20 "$state/sshd.log" >&2 || true; die "cannot log in with the client key"; }

cat > "$state/env.sh" <<EOF
export SLUICE_HOST=ssh://$user@127.0.0.1:$port
export SLUICE_IDENTITY=$state/client_ed25519
export SLUICE_KNOWN_HOSTS=$state/known_hosts
EOF
say "sshd is up on 127.0.0.1:$port (key login as $user)"
echo "Use it with:"
echo "  . $state/env.sh"
echo "  ssh ${ssh_opts[*]} $user@127.0.0.1"
echo "Stop it with: install/sshd-local.sh stop"
