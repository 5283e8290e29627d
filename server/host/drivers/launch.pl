#!/usr/bin/perl
# The launcher: a small process the daemon starts once, which starts each tenant's lxc-start in a
# mount namespace of its own (the launch namespace, launch.ts says why). Two things only a separate
# process can do cheaply:
# - fork small. A fork copies the forking process's page tables: the daemon's (300 MB with 10,000
#   tenants) took 6-7 ms of its one thread per spawn; this process's take a fraction of a ms.
# - unshare and set up a mount namespace, which needs a single-threaded process (the daemon is not).
# Written for perl-base (Essential on Debian): raw syscalls, no modules beyond strict.
#
# Protocol (stdin → stdout, one line each, fields split by NUL):
#   request:  ID NUL ARG NUL ARG ... LF, the ARGs being
#     [--ksm] [--path DIRS] [--carry PATH]... [--detach DIR]... [--shared PATH]... -- COMMAND ARGS...
#       --carry PATH   a mount of this tenant (ramdisk, share), cloned before the copy is cut down and
#                      attached at the same path in the launch namespace
#       --detach DIR   a parent of every tenant's mounts of one kind, detached in the launch namespace
#                      (its directories stay visible: it is a bind of itself); not a mount fails
#       --shared PATH  made a peer group of its own there (the tenant's /proc point: the start hook's
#                      mounts on it must propagate into the tenant's namespace)
#       --ksm          PR_SET_MEMORY_MERGE on the command, inherited by the tenant's processes
#       --path DIRS    the command's PATH (it is looked up on the launcher's own first)
#   answer:   ID NUL WAIT-STATUS NUL OUTPUT-IN-HEX LF (stdout and stderr, the first 1,900 bytes: an
#             answer stays under PIPE_BUF, so answers written at once by several handlers never mix)
# Each request is handled in a process of its own (many starts at once); a command still running
# after TIMEOUT seconds is killed. The launcher exits when the daemon closes its stdin.
# Usage: launch.pl --arch MACHINE (uname -m: the syscall numbers) [--timeout SECONDS] [--base-idle SECONDS]
#        [--base-max-age SECONDS]
use strict;

my %nr = (
  x86_64  => { mount => 165, umount2 => 166, unshare => 272, prctl => 157, setns => 308, statx => 332 },
  aarch64 => { mount => 40,  umount2 => 39,  unshare => 97,  prctl => 167, setns => 268, statx => 291 },
);
# The same on every architecture (numbered after the tables were unified).
my ($OPEN_TREE, $MOVE_MOUNT, $LISTMOUNT) = (428, 429, 458);
my ($LSMT_ROOT, $STATX_MNT_ID_UNIQUE, $STATX_MNT_ID_OFFSET, $LIST_BATCH) = (0xffffffffffffffff, 0x4000, 0x90, 4096);
my ($CLONE_NEWNS, $MS_REC, $MS_PRIVATE, $MS_SLAVE, $MS_SHARED, $MNT_DETACH) = (0x20000, 0x4000, 0x40000, 0x80000, 0x100000, 2);
my ($AT_FDCWD, $AT_SYMLINK_NOFOLLOW, $OPEN_TREE_CLONE, $OPEN_TREE_CLOEXEC, $MOVE_MOUNT_F_EMPTY_PATH) = (-100, 0x100, 1, 0x80000, 4);
my ($WNOHANG, $PR_SET_MEMORY_MERGE, $MAX_OUTPUT, $DRAIN_S) = (1, 67, 1900, 1);

# A base kept --base-idle seconds without a start is dropped (it holds copies of the host's mounts);
# one older than --base-max-age is made again at the next start.
my ($sys, $timeout, $base_idle, $base_max_age) = (undef, 60, 30, 10);
while (@ARGV) {
  my ($opt, $val) = splice(@ARGV, 0, 2);
  if ($opt eq '--arch') { $sys = $nr{$val} or die "launch.pl: no syscall numbers for $val\n"; }
  elsif ($opt eq '--timeout' && $val =~ /^\d+$/) { $timeout = $val; }
  elsif ($opt eq '--base-idle' && $val =~ /^\d+(\.\d+)?$/) { $base_idle = $val; }
  elsif ($opt eq '--base-max-age' && $val =~ /^\d+(\.\d+)?$/) { $base_max_age = $val; }
  else { die "launch.pl: unknown option $opt\n"; }
}
$sys or die "launch.pl: --arch is missing\n";

# The base: the host's namespace minus the parents to detach, made once and copied by each start
# (setns + unshare) for as long as the host's table outside those parents is what it was when the
# base was made. A copy of the host's holds every tenant's ramdisk and share (2,070 mounts with 1,000
# running): copying it and detaching them took 11-19 ms a start; the base holds a few dozen.
my ($base, $base_key, $base_made) = (undef, '', 0);

$SIG{CHLD} = 'IGNORE';
my ($pending, $eof) = ('', 0);
until ($eof && index($pending, "\n") < 0) {
  my $nl = index($pending, "\n");
  if ($nl < 0) {
    my $bits = '';
    vec($bits, fileno(STDIN), 1) = 1;
    if (!select(my $rb = $bits, undef, undef, defined $base ? $base_idle : undef)) {
      ($base, $base_key) = (undef, '');
      next;
    }
    my $n = sysread(STDIN, $pending, 65536, length $pending);
    $eof = 1 unless $n;
    next;
  }
  my $line = substr($pending, 0, $nl);
  $pending = substr($pending, $nl + 1);
  my ($id, @args) = split /\0/, $line, -1;
  next unless defined $id && length $id;
  # (Options end at '--': what follows is the command's.)
  my ($end) = grep { $args[$_] eq '--' } 0 .. $#args;
  my @detach = map { $args[$_ + 1] } grep { $args[$_] eq '--detach' } 0 .. ($end // @args) - 2;
  my $key = host_key(@detach);
  $key = defined $key ? join("\0", @detach, $key) : undef;
  # Also made again when older than --base-max-age: the key sees mounts made and unmounted, not a
  # mount moved or its flags or propagation changed on the host (an operator's remount).
  if (!defined $key) { ($base, $base_key) = (undef, ''); }
  elsif ($key ne $base_key || (defined $base && time() - $base_made > $base_max_age)) {
    # A base that could not be made is not tried again for the same key: those starts copy the host's.
    ($base, $base_key, $base_made) = (make_base(@detach), $key, time());
  }
  my $pid = fork();
  if (!defined $pid) { answer($id, 255 << 8, "launch.pl: fork: $!\n"); next; }
  if ($pid == 0) { handle($id, $base, @args); exit 0; }
}
exit 0;

# What identifies the host's mounts outside the parents: their count and the sum of their ids
# (listmount's 64-bit ids, never reused; a new mount's is above every existing one). Any mount made
# or unmounted outside the parents since changes it: with as many gone as added, the added ids'
# sum is larger. (A mount moved out of a parent would not: nothing moves one.) Reading the table
# instead (/proc/self/mountinfo) took 15 ms at 2,030 mounts, more than the copy it would save; these
# calls take a fraction of a ms. Undef where the kernel has no listmount (before 6.8): no base then.
sub host_key {
  my ($n, $sum) = listed($LSMT_ROOT);
  for my $dir (@_) {
    last unless defined $n;
    my $buf = "\0" x 256;
    return undef unless syscall($sys->{statx}, $AT_FDCWD, $dir, 0, $STATX_MNT_ID_UNIQUE, $buf) == 0 && unpack("L", $buf) & $STATX_MNT_ID_UNIQUE;
    my ($below, $below_sum) = listed(unpack("Q", substr($buf, $STATX_MNT_ID_OFFSET, 8)));
    return undef unless defined $below;
    ($n, $sum) = ($n - $below, $sum - $below_sum);
  }
  return defined $n ? "$n $sum" : undef;
}

# How many mounts are below mount ID (the root: all), and the sum of their ids.
sub listed {
  my ($id) = @_;
  my ($n, $sum, $after) = (0, 0, 0);
  while (1) {
    my $buf = "\0" x (8 * $LIST_BATCH);
    my $got = syscall($LISTMOUNT, pack("LLQQ", 24, 0, $id, $after), $buf, $LIST_BATCH, 0);
    return () if $got < 0;
    ($n, $sum) = ($n + $got, $sum + unpack("%64Q$got", $buf));
    return ($n, $sum) if $got < $LIST_BATCH;
    $after = unpack("Q", substr($buf, 8 * ($got - 1), 8));
  }
}

# A base namespace with the parents detached, held by an fd (the process that made it is gone);
# undef when it cannot be made (then a start makes its namespace from the host's, and says why).
sub make_base {
  my @detach = @_;
  pipe(my $ready_r, my $ready_w) or return undef;
  pipe(my $hold_r, my $hold_w) or return undef;
  my $pid = fork();
  return undef unless defined $pid;
  if ($pid == 0) {
    close $ready_r;
    close $hold_w;
    my $root = "/";
    syscall($sys->{unshare}, $CLONE_NEWNS) == 0 or exit 1;
    syscall($sys->{mount}, 0, $root, 0, $MS_REC | $MS_SLAVE, 0) == 0 or exit 1;
    for my $dir (@detach) { syscall($sys->{umount2}, $dir, $MNT_DETACH) == 0 or exit 1; }
    syswrite($ready_w, "k");
    # Until the launcher has opened the namespace and closed its end (or died).
    sysread($hold_r, my $never, 1);
    exit 0;
  }
  close $ready_w;
  close $hold_r;
  my $ns;
  if (sysread($ready_r, my $ok, 1) == 1) { undef $ns unless open($ns, '<', "/proc/$pid/ns/mnt"); }
  close $hold_w;
  return $ns;
}

sub answer {
  my ($id, $status, $output) = @_;
  syswrite(STDOUT, join("\0", $id, $status, unpack("H*", substr($output, 0, $MAX_OUTPUT))) . "\n");
}

# Runs one request in a child and answers with its status and output.
sub handle {
  my ($id, $base, @args) = @_;
  $SIG{CHLD} = 'DEFAULT';
  pipe(my $r, my $w) or return answer($id, 255 << 8, "launch.pl: pipe: $!\n");
  my $child = fork();
  return answer($id, 255 << 8, "launch.pl: fork: $!\n") unless defined $child;
  if ($child == 0) {
    close $r;
    open(STDIN, '<', '/dev/null');
    open(STDOUT, '>&', $w);
    open(STDERR, '>&', $w);
    launch($base, @args);
  }
  # Only the command's process needs the base: this one may wait for it up to TIMEOUT.
  close $base if $base;
  close $w;
  local $SIG{ALRM} = sub { kill 'KILL', $child };
  alarm $timeout;
  # Read until the child has exited and the pipe is drained (whatever it left running, e.g. LXC's
  # monitor, is not waited for should it keep the pipe open).
  my ($output, $status, $eof, $exited, $bits) = ('', undef, 0, 0, '');
  vec($bits, fileno($r), 1) = 1;
  until ($eof && defined $status) {
    if (!$eof) {
      my $ready = select(my $rb = $bits, undef, undef, defined $status ? 0 : 0.05);
      if ($ready > 0) {
        my $n = sysread($r, my $buf, 4096);
        if ($n) { $output .= $buf if length($output) < $MAX_OUTPUT; }
        elsif (defined $n) { $eof = 1; }
      }
      # Nothing left to read once the child has exited, or a second passed since: what holds the
      # pipe now (a process the command left behind) is not waited for.
      $eof = 1 if defined $status && ($ready == 0 || time() > $exited + $DRAIN_S);
    }
    if (!defined $status) {
      if ($eof) { waitpid($child, 0); $status = $?; }
      elsif (waitpid($child, $WNOHANG) == $child) { $status = $?; $exited = time(); }
    }
  }
  alarm 0;
  answer($id, $status, $output);
}

# In the request's child: builds the launch namespace, then execs the command.
sub launch {
  my $base = shift;
  my (@carry, @detach, @shared, $ksm, $path);
  while (@_ && $_[0] ne '--') {
    my $opt = shift;
    if ($opt eq '--ksm') { $ksm = 1; next; }
    my $val = shift;
    if ($opt eq '--path') {
      defined $val && $val =~ m{^(/[^:]*)?(:/[^:]*)*$} or fail("launch.pl: --path takes absolute directories\n");
      $path = $val;
      next;
    }
    defined $val && $val =~ m{^/} or fail("launch.pl: $opt needs an absolute path\n");
    if ($opt eq '--carry') { push @carry, $val; }
    elsif ($opt eq '--detach') { push @detach, $val; }
    elsif ($opt eq '--shared') { push @shared, $val; }
    else { fail("launch.pl: unknown option $opt\n"); }
  }
  shift;
  @_ or fail("launch.pl: nothing to run\n");
  # (perl's syscall passes a string as a pointer to its buffer, which must be a variable's own.)
  my ($root, $empty) = ("/", "");
  # Clones of this tenant's mounts, taken in the host's namespace (a path is not followed past a symlink).
  my @clones = map {
    my $path = "$_";
    my $fd = syscall($OPEN_TREE, $AT_FDCWD, $path, $OPEN_TREE_CLONE | $OPEN_TREE_CLOEXEC | $AT_SYMLINK_NOFOLLOW);
    $fd >= 0 or fail("launch.pl: open_tree $path: $!\n");
    [$fd, $path];
  } @carry;
  # From the base when there is one: a copy of it (it is a slave of the host's already, its parents
  # detached).
  if ($base) { syscall($sys->{setns}, fileno($base), $CLONE_NEWNS) == 0 or fail("launch.pl: setns: $!\n"); }
  syscall($sys->{unshare}, $CLONE_NEWNS) == 0 or fail("launch.pl: unshare: $!\n");
  # A slave of the host's: nothing done here reaches the host, and what the host unmounts later (a
  # disk, a pool) goes from here too, instead of staying alive as long as this tenant runs. (The
  # parents below are private on the host: no tenant's mount propagates here.)
  syscall($sys->{mount}, 0, $root, 0, $MS_REC | $MS_SLAVE, 0) == 0 or fail("launch.pl: slave /: $!\n");
  for my $dir ($base ? () : @detach) {
    next if syscall($sys->{umount2}, $dir, $MNT_DETACH) == 0;
    # Not a mount: the daemon makes each one at its start (launch.ts), so only an operator's unmount
    # since; then this namespace would keep every tenant's mounts below it while its tenant runs.
    fail("launch.pl: detach $dir: $!\n");
  }
  for my $c (@clones) {
    my ($fd, $path) = @$c;
    # (The fd closes at exec.)
    syscall($MOVE_MOUNT, $fd, $empty, $AT_FDCWD, $path, $MOVE_MOUNT_F_EMPTY_PATH) == 0 or fail("launch.pl: attach $path: $!\n");
  }
  for my $p (@shared) {
    # Out of the host's peer group (a clone is in it), then a peer group of its own.
    syscall($sys->{mount}, 0, $p, 0, $MS_PRIVATE, 0) == 0 or fail("launch.pl: private $p: $!\n");
    syscall($sys->{mount}, 0, $p, 0, $MS_SHARED, 0) == 0 or fail("launch.pl: shared $p: $!\n");
  }
  # Where the kernel has no PR_SET_MEMORY_MERGE, the tenant runs without KSM (as before this launcher).
  syscall($sys->{prctl}, $PR_SET_MEMORY_MERGE, 1, 0, 0, 0) if $ksm;
  # The command's PATH when asked (set after the command itself was looked up on the launcher's).
  my $program = $_[0];
  if (defined $path) {
    if ($program !~ m{/}) {
      ($program) = grep { -f $_ && -x _ } map { "$_/$_[0]" } grep { m{^/} } split /:/, ($ENV{PATH} // '');
      defined $program or fail("launch.pl: $_[0] is not on the PATH\n");
    }
    $ENV{PATH} = $path;
  }
  exec { $program } @_ or fail("launch.pl: exec $_[0]: $!\n");
}

# A failed request: its message, and 255 (die's status would be the last errno).
sub fail {
  print STDERR @_;
  exit 255;
}
