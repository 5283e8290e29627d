#!/bin/busybox sh
# LXC start-host hook (host root, in the launch mount namespace lxc-start runs in (launch.ts), after
# the tenant's namespaces exist and before its init runs): builds the tenant's /proc outside it, writes
# the tenant's user.* kernel shares into its user namespace through it, and attaches it at the tenant's
# propagation point, from where it propagates into the tenant's namespace (procfs.ts says why). Then
# it detaches, from the launch namespace (which LXC's monitor keeps while the tenant runs), that copy,
# the point, its scratch mount and the tenant's carried ramdisk and shares.
# Usage: tenant-proc.hook.sh <point> <lxcfs dir or -> [user.KEY=VALUE ...]
# Run by busybox's sh (busybox-static, installed by setup), which runs its own static mount, mkdir
# and nsenter applets, far cheaper to start than util-linux's dynamically linked
# tools: the hook's ~25 commands are on every start's critical path (measured: create → running
# 112 → 93 ms median).
set -eu
point="$1"; lxcfs="$2"; shift 2
# A private scratch mount: nothing built here propagates anywhere until it is attached at the point.
stage="$point.stage"
mkdir -p "$stage"
mount -t tmpfs -o size=16k,mode=700 hoody-stage "$stage"
mount --make-private "$stage"
mkdir "$stage/proc" "$stage/sys" "$stage/net"
# A procfs of the tenant's pid namespace (nsenter --pid forks into it), mounted in the host's namespace.
nsenter --target "$LXC_PID" --pid -- mount -t proc -o nosuid,nodev,noexec proc "$stage/proc"
# The shares: written from inside the tenant's user namespace, whose sysctls /proc/sys/user shows
# there, by names relative to that directory of the procfs just mounted: the host's /proc/sys/user
# holds an entry per name for every running tenant's user namespace, all in one dcache hash chain a
# lookup walks (10 ms a start with 1,000 tenants running, against 1.7 ms with none); a new procfs has
# only its own. The host's root opens the directory, which the tenant's root could not reach here.
if [ $# -gt 0 ]; then
  cd "$stage/proc/sys/user"
  nsenter --target "$LXC_PID" --user -- sh -euc 'for kv; do
  key="${kv%%=*}"; key="${key#user.}"
  case "$key" in */*|"") echo "tenant-proc.hook: bad share $kv" >&2; exit 2;; esac
  echo "${kv#*=}" > "$key"
done' tenant-shares "$@"
  cd /
fi
if [ "$lxcfs" != - ]; then
  for f in meminfo cpuinfo uptime loadavg stat diskstats swaps slabinfo; do
    if [ -e "$lxcfs/proc/$f" ]; then mount --bind "$lxcfs/proc/$f" "$stage/proc/$f"; fi
  done
fi
# An empty boot line, and a boot id of the tenant's own, new at every start (as LXC gives one). Both
# files live on the scratch tmpfs, so the tenant's mountinfo names no host path.
: > "$stage/cmdline"
mount --bind "$stage/cmdline" "$stage/proc/cmdline"
# Remounts name the mount twice: given one, busybox looks it up in the whole mount table.
mount -o remount,bind,ro "$stage/proc/cmdline" "$stage/proc/cmdline"
cat /proc/sys/kernel/random/uuid > "$stage/boot_id"
mount --bind "$stage/boot_id" "$stage/proc/sys/kernel/random/boot_id"
mount -o remount,bind,ro "$stage/proc/sys/kernel/random/boot_id" "$stage/proc/sys/kernel/random/boot_id"
# The whole tree in one copy: inside, every mount below its top arrives locked.
mount --rbind "$stage/proc" "$point"
# proc:mixed's read-only /proc/sys with its net part writable, each attached on its own: inside it is
# the top of its propagation, so the tenant's root may unmount it as under LXC's proc:mixed (the
# user.* shares in /proc/sys stay guarded by the missing CAP_SYS_RESOURCE), but not make it writable.
mount --rbind "$point/sys" "$stage/sys"
mount -o remount,bind,ro "$stage/sys" "$stage/sys"
mount --move "$stage/sys" "$point/sys"
mount --rbind "$point/sys/net" "$stage/net"
mount -o remount,bind,rw "$stage/net" "$stage/net"
mount --move "$stage/net" "$point/sys/net"
# Made private here, so that the detach of this copy does not propagate into the tenant (whose /proc
# came from it). Then one umount for all (each command is a process on every start's path): the copy,
# the point's own tmpfs below it, the stage, and the ramdisk and shares launch.pl carried here for
# LXC to bind (LXC runs this hook after its setup: the tenant's binds are made), so that LXC's
# monitor keeps none of the tenant's data. The ramdisk's gate comes before the path below it: where
# an older version mounted the ramdisk at the gate, the path below is inside the tenant's tmpfs (a
# symlink there must not be followed). A path that is no mount here is refused and ignored.
mount --make-rprivate "$point"
data="${point%/proc/*}"
umount -l "$point" "$point" "$stage" "$data/ramdisk/$LXC_NAME" "$data/ramdisk/$LXC_NAME/fs" "$data/shares/$LXC_NAME"/* 2>/dev/null || true
