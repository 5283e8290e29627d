#!/usr/bin/env bash
# Installs what Hoody needs on a Debian 12 host, and nothing that is already there.
# Idempotent: a second run only checks. Called by `npm run up` and `npm test`.
set -euo pipefail

[ "$(id -u)" = 0 ] || { echo "setup-host: must run as root" >&2; exit 1; }

log() { printf '[setup] %s\n' "$*"; }

# --- apt sources: bookworm-backports carries btrfs-progs >= 6.7 (simple quotas) and incus; it comes
# from the mirror the machine's own sources already use.
codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
if [ "$codename" = bookworm ]; then bash "$(dirname "$0")/apt-backports.sh" /etc/apt "$codename"; fi

apt_updated=0
apt_update_once() {
  if [ "$apt_updated" = 0 ]; then
    log "apt-get update"
    apt-get update -qq
    apt_updated=1
  fi
}

missing=()
need_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed" || missing+=("$1"); }
# systemd: systemctl for the units `npm run up` installs where it is PID 1, systemd-analyze for the tests that verify them.
# duperemove: the host daemon's dedup (server/host/dedup.ts); util-linux brings ionice.
# caddy: TLS in front of the router and dashboard (npm run up starts our own instance when
# HOODY_DOMAIN is a public domain); libnss3-tools: certutil, for the e2e browser's trust store.
# conntrack: an erase deletes the tenant address's connection-tracking entries (server/host/erase.ts).
for p in lxc lxcfs nftables uidmap mmdebstrap busybox-static iproute2 build-essential python3 curl ca-certificates procps chromium systemd duperemove util-linux caddy libnss3-tools conntrack; do
  need_pkg "$p"
done
if [ ${#missing[@]} -gt 0 ]; then
  apt_update_once
  log "installing: ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Debian's caddy package enables caddy.service with a stock Caddyfile on :80. Hoody runs its own
# Caddy (generated config, state under $HOODY_DATA_DIR/caddy), which needs :80 and :443 itself.
if command -v systemctl >/dev/null && systemctl is-enabled caddy.service >/dev/null 2>&1; then
  log "disabling Debian's stock caddy.service (Hoody runs its own Caddy)"
  systemctl disable --now caddy.service >/dev/null 2>&1 || true
fi

# btrfs-progs: need >= 6.7 for `quota enable --simple`; take it from backports on bookworm.
btrfs_ok() {
  command -v btrfs >/dev/null || return 1
  local v; v=$(btrfs --version | sed -n 's/.*v\([0-9]*\)\.\([0-9]*\).*/\1 \2/p')
  set -- $v
  [ "${1:-0}" -gt 6 ] || { [ "${1:-0}" -eq 6 ] && [ "${2:-0}" -ge 7 ]; }
}
if ! btrfs_ok; then
  apt_update_once
  if [ "$codename" = bookworm ]; then
    log "installing btrfs-progs from bookworm-backports"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends -t bookworm-backports btrfs-progs
  else
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends btrfs-progs
  fi
fi

# Incus (HOODY_ENGINE=incus and `npm run test:incus`): the container-only daemon and the client from
# bookworm-backports. Not the `incus` metapackage (it pulls qemu); lxc/liblxc1 stay Debian's.
if ! dpkg-query -W -f='${Status}' incus-base 2>/dev/null | grep -q "install ok installed" || ! command -v incus >/dev/null; then
  apt_update_once
  log "installing incus-base and incus-client"
  if [ "$codename" = bookworm ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends -t bookworm-backports incus-base incus-client
  else
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends incus-base incus-client
  fi
fi

# Kernel modules the host engine uses (no-ops when built in or already loaded).
for m in btrfs loop veth bridge nf_tables nf_conntrack_bridge; do modprobe -q "$m" 2>/dev/null || true; done

# npm dependencies (the lock file pins them); skipped when node_modules is current.
cd "$(dirname "$0")/.."
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "npm ci"
  npm ci --no-audit --no-fund
fi
log "host ready"
