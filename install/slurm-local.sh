#!/usr/bin/env bash
# A real single-node Slurm cluster on 127.0.0.1, for trying the slurm backend
# on one machine and for the Slurm tests. Debian's slurm-wlm and munge, no
# systemd: the daemons run in the background with everything (configs, keys,
# spool, logs, pid files) under one state directory. Idempotent: daemons that
# are already up are left alone. Stop them with install/slurm-stop.sh.
#
# Usage: install/slurm-local.sh            (state in install/state/slurm)
#        SLUICE_SLURM_STATE=DIR install/slurm-local.sh
# Prints the environment to use (also written to $STATE/env.sh).
# Accounting: slurmdbd on a private MariaDB (127.0.0.1:3307, datadir in the
# state directory), so `sacct` works; finished jobs are also in jobcomp.txt.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
state=${SLUICE_SLURM_STATE:-$repo/install/state/slurm}
say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
. "$repo/install/apt-quiet.sh"
die() { printf 'slurm-local: %s\n' "$*" >&2; exit 1; }

# --- packages -----------------------------------------------------------------
missing=()
for cmd in slurmctld slurmd sbatch munged slurmdbd mariadbd mariadb-install-db; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("$cmd")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing slurmctld slurmd slurm-client munge slurmdbd mariadb-server"
  apt_install slurmctld slurmd slurm-client munge slurmdbd mariadb-server || die "could not install slurmctld slurmd slurm-client munge slurmdbd mariadb-server"
fi

mkdir -p "$state"/{log,spool/ctld,spool/d,run}
conf=$state/slurm.conf
export SLURM_CONF=$conf

alive() { # pidfile expected-command
  local pid
  [ -s "$1" ] || return 1
  pid=$(cat "$1")
  [ -r "/proc/$pid/cmdline" ] || return 1
  grep -q "$2" "/proc/$pid/cmdline" 2>/dev/null || return 1
  # PID 1 here reaps slowly: a zombie counts as stopped.
  ! grep -q '^State:[[:space:]]*Z' "/proc/$pid/status" 2>/dev/null
}

start_daemon() { # log command...
  local log=$1; shift
  # New session, no inherited descriptors: a daemon holding the caller's pipe
  # would make CI wait forever.
  setsid "$@" </dev/null >>"$log" 2>&1 &
}

tail_logs() {
  for f in "$state"/log/*.log; do
    [ -e "$f" ] || continue
    echo "--- $f" >&2; tail -n 20 "$f" >&2
  done
}

# --- munge ----------------------------------------------------------------------
key=$state/munge.key
if [ ! -s "$key" ]; then
  dd if=/dev/urandom of="$key" bs=1024 count=1 status=none
  chmod 0400 "$key"
fi
if ! alive "$state/run/munged.pid" munged; then
  say "starting munged"
  rm -f "$state/run/munge.socket.2"
  start_daemon "$state/log/munged-start.log" munged --force --origin=127.0.0.1 --key-file="$key" \
    --socket="$state/run/munge.socket.2" --pid-file="$state/run/munged.pid" \
    --seed-file="$state/munge.seed" --log-file="$state/log/munged.log"
  for _ in $(seq 50); do [ -S "$state/run/munge.socket.2" ] && break; sleep 0.1; done
  [ -S "$state/run/munge.socket.2" ] || { tail_logs; die "munged did not start"; }
fi

# --- slurm.conf -------------------------------------------------------------------
host=$(hostname -s)
node_line=$(slurmd -C 2>/dev/null | head -n1)
cpus=$(sed -n 's/.*CPUs=\([0-9]*\).*/\1/p' <<<"$node_line"); cpus=${cpus:-$(nproc)}
mem=$(sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p' <<<"$node_line"); mem=${mem:-1024}
mem=$((mem * 95 / 100))
if [ -d /sys/fs/cgroup/memory ] && [ -d /sys/fs/cgroup/cpuset ]; then
  # cgroup v1: memory limits are enforced, an element over --mem is OUT_OF_MEMORY.
  accounting="ProctrackType=proctrack/cgroup
TaskPlugin=task/cgroup
JobAcctGatherType=jobacct_gather/cgroup"
  cat > "$state/cgroup.conf" <<EOF
CgroupPlugin=cgroup/v1
CgroupAutomount=no
ConstrainRAMSpace=yes
ConstrainSwapSpace=yes
EOF
else
  accounting="ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherParams=OverMemoryKill"
fi
cat > "$conf.new" <<EOF
# Written by install/slurm-local.sh: one node on 127.0.0.1.
ClusterName=sluice
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$state/run/munge.socket.2
CommunicationParameters=NoCtldInAddrAny,NoInAddrAny
StateSaveLocation=$state/spool/ctld
SlurmdSpoolDir=$state/spool/d
SlurmctldPidFile=$state/run/slurmctld.pid
SlurmdPidFile=$state/run/slurmd.pid
SlurmctldLogFile=$state/log/slurmctld.log
SlurmdLogFile=$state/log/slurmd.log
MailProg=/bin/true
ReturnToService=2
KillWait=5
MinJobAge=300
MaxArraySize=10001
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=256
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0,bf_interval=5
$accounting
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=127.0.0.1
AccountingStoragePort=6819
AccountingStoragePass=$state/run/munge.socket.2
JobCompType=jobcomp/filetxt
JobCompLoc=$state/jobcomp.txt
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:8
EOF
if ! cmp -s "$conf.new" "$conf"; then
  mv "$conf.new" "$conf"
  changed=1
else
  rm -f "$conf.new"
  changed=0
fi

# --- MariaDB and slurmdbd (accounting: sacct) ----------------------------------------
db=$state/mysql
dbsock=$state/run/mysqld.sock
if [ ! -d "$db/mysql" ]; then
  say "initialising MariaDB in $db"
  mariadb-install-db --no-defaults --datadir="$db" --user="$(id -un)" \
    --auth-root-authentication-method=socket --skip-test-db >"$state/log/mariadb-install.log" 2>&1 \
    || { tail -n 20 "$state/log/mariadb-install.log" >&2; die "mariadb-install-db failed"; }
fi
if ! alive "$state/run/mariadbd.pid" mariadbd; then
  say "starting MariaDB on 127.0.0.1:3307"
  rm -f "$dbsock"
  start_daemon "$state/log/mariadb-start.log" mariadbd --no-defaults --datadir="$db" --socket="$dbsock" \
    --port=3307 --bind-address=127.0.0.1 --user="$(id -un)" --pid-file="$state/run/mariadbd.pid" \
    --log-error="$state/log/mariadb.log" --skip-name-resolve
  for _ in $(seq 150); do [ -S "$dbsock" ] && break; sleep 0.2; done
  [ -S "$dbsock" ] || { tail_logs; die "MariaDB did not start within 30 s"; }
fi
mariadb --no-defaults --socket="$dbsock" -uroot -e "CREATE DATABASE IF NOT EXISTS slurm_acct_db;
  CREATE USER IF NOT EXISTS 'slurm'@'127.0.0.1' IDENTIFIED BY 'sluice-local';
  GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1'; FLUSH PRIVILEGES;" \
  || die "cannot create the accounting database"
cat > "$state/slurmdbd.conf" <<EOF
# Written by install/slurm-local.sh.
AuthType=auth/munge
AuthInfo=socket=$state/run/munge.socket.2
DbdAddr=127.0.0.1
DbdHost=$host
DbdPort=6819
SlurmUser=root
PidFile=$state/run/slurmdbd.pid
LogFile=$state/log/slurmdbd.log
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=3307
StorageUser=slurm
StoragePass=sluice-local
StorageLoc=slurm_acct_db
CommunicationParameters=NoInAddrAny
EOF
chmod 0600 "$state/slurmdbd.conf"
if ! alive "$state/run/slurmdbd.pid" slurmdbd; then
  say "starting slurmdbd"
  start_daemon "$state/log/slurmdbd-start.log" slurmdbd
fi
for _ in $(seq 150); do sacctmgr -n list cluster >/dev/null 2>&1 && break; sleep 0.2; done
sacctmgr -n list cluster >/dev/null 2>&1 || { tail_logs; die "slurmdbd did not answer within 30 s"; }
sacctmgr -n list cluster format=cluster 2>/dev/null | grep -qw sluice \
  || sacctmgr -i add cluster sluice >/dev/null

# --- slurmctld, slurmd ---------------------------------------------------------------
if alive "$state/run/slurmctld.pid" slurmctld && [ "$changed" = 1 ]; then
  scontrol reconfigure >/dev/null 2>&1 || true
fi
if ! alive "$state/run/slurmctld.pid" slurmctld; then
  say "starting slurmctld"
  start_daemon "$state/log/slurmctld-start.log" slurmctld -f "$conf"
fi
for _ in $(seq 150); do scontrol ping 2>/dev/null | grep -q 'is UP' && break; sleep 0.2; done
scontrol ping 2>/dev/null | grep -q 'is UP' || { tail_logs; die "slurmctld did not come up within 30 s"; }

if ! alive "$state/run/slurmd.pid" slurmd; then
  say "starting slurmd"
  start_daemon "$state/log/slurmd-start.log" slurmd -f "$conf"
fi
resumed=0
for _ in $(seq 300); do
  st=$(sinfo -h -N -o %T 2>/dev/null | head -n1)
  case "$st" in
    idle|mixed|allocated) break ;;
    drain*|down*)
      if [ $resumed = 0 ]; then scontrol update NodeName="$host" State=RESUME >/dev/null 2>&1 || true; resumed=1; fi ;;
  esac
  sleep 0.2
done
case "$(sinfo -h -N -o %T 2>/dev/null | head -n1)" in
  idle|mixed|allocated) ;;
  *) tail_logs; die "the node did not become idle within 60 s (state: $(sinfo -h -N -o %T 2>&1 | head -n1))" ;;
esac

printf 'export SLURM_CONF=%q\n' "$conf" > "$state/env.sh"
say "Slurm is up: node $host ($cpus CPUs, $mem MB), partition debug"
echo "Use it with:"
echo "  . $state/env.sh      # sets SLURM_CONF; every Slurm command needs it"
echo "  sinfo; sbatch --wrap 'hostname'"
echo "Stop it with: install/slurm-stop.sh"
