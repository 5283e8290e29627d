#!/usr/bin/env bash
# Hoody "starter" template recipe.
#
# Usage: build.sh <target-rootfs-dir>
#
# Builds a small Debian bookworm (minbase) root filesystem with python3
# (incl. the sqlite3 module: libpython3.11-stdlib -> libsqlite3-0) into
# <target-rootfs-dir>, which must exist and be empty (normally a fresh BTRFS
# subvolume), then installs the starter app at /opt/hoody-app/app.py.
#
# Container init command:  /usr/bin/python3 /opt/hoody-app/app.py
#
# Progress is printed to stdout as "progress: <0-100> <stage>" lines;
# mmdebstrap's own log goes to stderr.
#
# Environment (optional):
#   HOODY_DEBIAN_MIRROR   default http://deb.debian.org/debian
#   HOODY_DEBIAN_SUITE    default bookworm
#
# Requires root (mmdebstrap --mode=root).
set -euo pipefail

progress() { printf 'progress: %s %s\n' "$1" "$2"; }
die() { printf 'build.sh: error: %s\n' "$*" >&2; exit 1; }

[ $# -eq 1 ] || { echo "usage: $0 <target-rootfs-dir>" >&2; exit 2; }

TARGET=$1
HERE=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)
APP_SRC="$HERE/app.py"
MIRROR=${HOODY_DEBIAN_MIRROR:-http://deb.debian.org/debian}
SUITE=${HOODY_DEBIAN_SUITE:-bookworm}

[ "$(id -u)" -eq 0 ] || die "must run as root"
command -v mmdebstrap >/dev/null || die "mmdebstrap not found"
[ -f "$APP_SRC" ] || die "missing $APP_SRC"
[ -d "$TARGET" ] || die "target $TARGET is not a directory"
[ -z "$(ls -A "$TARGET")" ] || die "target $TARGET is not empty"
TARGET=$(readlink -f "$TARGET")

progress 0 start
start=$(date +%s)

# Merged-/usr the debootstrap way (symlinks + usr-is-merged). Without this
# hook apt resolves init-system-helpers' "usrmerge | usr-is-merged" to
# usrmerge, which drags in full perl (~50 MB).
MERGED_USR_HOOK=/usr/share/mmdebstrap/hooks/merged-usr
[ -d "$MERGED_USR_HOOK" ] || die "missing $MERGED_USR_HOOK (mmdebstrap >= 1.1 needed)"

# mmdebstrap sends hook stdout to stderr (stdout is reserved for tarball
# output), so hooks print "progress: ..." lines and the filter below moves
# them to our stdout; everything else stays on stderr.
# Hook stages, in order: setup -> (apt update, download, extract essential)
# -> extract -> (install essential) -> essential -> (install --include
# packages) -> customize.
route_progress() {
	local line
	while IFS= read -r line || [ -n "$line" ]; do
		case $line in
		progress:\ *) printf '%s\n' "$line" ;;
		*) printf '%s\n' "$line" >&2 ;;
		esac
	done
}

{
	mmdebstrap \
		--mode=root \
		--variant=minbase \
		--format=directory \
		--include=python3 \
		--hook-dir="$MERGED_USR_HOOK" \
		--aptopt='Acquire::Languages "none"' \
		--aptopt='APT::Install-Recommends "false"' \
		--aptopt='APT::Install-Suggests "false"' \
		--dpkgopt='path-exclude=/usr/share/doc/*' \
		--dpkgopt='path-include=/usr/share/doc/*/copyright' \
		--dpkgopt='path-exclude=/usr/share/man/*' \
		--dpkgopt='path-exclude=/usr/share/info/*' \
		--dpkgopt='path-exclude=/usr/share/locale/*' \
		--dpkgopt='path-include=/usr/share/locale/locale.alias' \
		--dpkgopt='path-exclude=/usr/share/lintian/*' \
		--dpkgopt='path-exclude=/usr/share/linda/*' \
		--setup-hook='echo "progress: 10 downloading"' \
		--extract-hook='echo "progress: 40 extracted"' \
		--essential-hook='echo "progress: 60 essential-installed"' \
		--customize-hook='echo "progress: 80 packages-installed"' \
		--customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/* "$1"/var/cache/debconf/*-old "$1"/var/lib/dpkg/*-old "$1"/var/log/*.log "$1"/var/log/apt/*' \
		--customize-hook='find "$1"/usr/share/doc -mindepth 1 ! -name copyright ! -type d -delete 2>/dev/null || true' \
		--customize-hook='find "$1"/usr/share/doc -mindepth 1 -type d -empty -delete 2>/dev/null || true' \
		--customize-hook='rm -rf "$1"/usr/share/man/* "$1"/usr/share/info/*' \
		--customize-hook='echo "progress: 85 cleaned"' \
		"$SUITE" "$TARGET" "$MIRROR" 2>&1 >&3 3>&- | route_progress
} 3>&1

progress 90 installing-app
install -d -m 0755 "$TARGET/opt/hoody-app"
install -m 0644 "$APP_SRC" "$TARGET/opt/hoody-app/app.py"
# /data: persistent tenant state (SQLite); /ramdisk: mount point for a tmpfs.
install -d -m 0755 "$TARGET/data" "$TARGET/ramdisk"
# Placeholder; the container runtime sets the real hostname.
echo "hoody-tenant" > "$TARGET/etc/hostname"
printf '127.0.0.1\tlocalhost hoody-tenant\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' > "$TARGET/etc/hosts"
# Don't ship the build host's resolver config.
rm -f "$TARGET/etc/resolv.conf"
: > "$TARGET/etc/resolv.conf"

# Sanity check: the interpreter and the modules the app needs work in the rootfs.
chroot "$TARGET" /usr/bin/python3 -c 'import sqlite3, socketserver, json; sqlite3.connect(":memory:").execute("pragma journal_mode=wal")' \
	|| die "python3/sqlite3 sanity check failed in $TARGET"
chroot "$TARGET" /usr/bin/python3 -m py_compile /opt/hoody-app/app.py \
	|| die "app.py does not compile in $TARGET"
rm -rf "$TARGET/opt/hoody-app/__pycache__"

progress 100 "done-in-$(( $(date +%s) - start ))s"
