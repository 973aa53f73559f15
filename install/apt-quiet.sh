# Sourced by the install scripts: `apt_install PKG...` installs Debian
# packages without letting them start system daemons of their own (a
# temporary policy-rc.d that refuses), updating the package lists only if a
# first attempt fails.
apt_install() {
  [ "$(id -u)" = 0 ] || { echo "installing $* needs root" >&2; return 1; }
  local policy=/usr/sbin/policy-rc.d had_policy=0 rc=0
  [ -e "$policy" ] && had_policy=1
  [ $had_policy = 1 ] || { printf '#!/bin/sh\nexit 101\n' > "$policy"; chmod +x "$policy"; }
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >/dev/null \
    || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >/dev/null; } \
    || rc=$?
  [ $had_policy = 1 ] || rm -f "$policy"
  return $rc
}
