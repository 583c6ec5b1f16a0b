#!/usr/bin/env bash
# The layer tools against independent implementations (docs/LAYERS.md):
#   mkerofs   -> erofs-utils' fsck.erofs (--extract) and dump.erofs, and the
#                kernel's erofs on a read-only loop device (root, a free
#                loop device and erofs in /proc/filesystems; skipped else)
#   mkverity  -> cryptsetup's veritysetup: same root hash, same hash area
#                bytes, `veritysetup verify` accepts, and refuses a flip
#   mklayers  -> each layer's ranges verify with veritysetup and extract
#                with fsck.erofs; same input, same bytes
cd "$(dirname "$0")/../.." || exit 1
TOP=$(pwd)
. tests/host/tap.sh || { echo "Bail out! cannot load tap.sh"; exit 1; }
B=$TOP/build/tools
for t in mkerofs mkverity mklayers; do [ -x "$B/$t" ] || bail "no $B/$t: run make"; done
for t in fsck.erofs dump.erofs veritysetup python3; do
  command -v "$t" >/dev/null || bail "$t is missing (bash tools/host-deps)"
done

w=$(mktemp -d "${TMPDIR:-/tmp}/dshield-layers-host.XXXXXX")
mnt=
wide_dir=
cleanup() { [ -n "$mnt" ] && umount "$mnt" 2>/dev/null; rm -rf "$w" ${wide_dir:+"$wide_dir"}; }
trap cleanup EXIT

# A tree with what runtime layers hold: nested directories, a directory of
# several blocks, files of 0, 1, 4095, 4096, 4097 and 300000 bytes, a
# static binary, symlinks (relative, absolute, dangling), odd names and
# modes (setuid, 0700 directory, 0600 file).
make_tree() {
  local t=$1 i
  mkdir -p "$t/usr/bin" "$t/usr/lib/x" "$t/etc" "$t/private" "$t/many" &&
  chmod 0700 "$t/private" &&
  : > "$t/etc/empty" &&
  printf x > "$t/etc/one" &&
  head -c 4095 /dev/urandom > "$t/etc/b4095" &&
  head -c 4096 /dev/urandom > "$t/etc/b4096" &&
  head -c 4097 /dev/urandom > "$t/etc/b4097" &&
  head -c 300000 /dev/urandom > "$t/usr/lib/x/big" &&
  cp "$B/mkcpio" "$t/usr/bin/tool" &&
  chmod 4755 "$t/usr/bin/tool" &&
  printf secret > "$t/private/key" && chmod 0600 "$t/private/key" &&
  ln -s tool "$t/usr/bin/tool-link" &&
  ln -s /usr/lib/x/big "$t/usr/bin/abs-link" &&
  ln -s nowhere "$t/etc/dangling" &&
  printf '%s\n' a > "$t/etc/-dash" && printf '%s\n' b > "$t/etc/+plus" &&
  printf '%s\n' c > "$t/etc/name with spaces" &&
  for i in $(seq 400); do printf '%s' "$i" > "$t/many/entry-$i"; done
}
check "setup: a test tree" make_tree "$w/tree" || bail "no tree"

# tree_list DIR: type, mode, size, link target and content hash of every
# entry, sorted; what must survive a round trip.
tree_list() {
  (cd "$1" && find . -mindepth 1 -printf '%p %y %m %s -> %l\n' | LC_ALL=C sort &&
    find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum)
}
# Directories' sizes are the file system's own: drop them.
tree_list_nodirsize() { tree_list "$1" | sed -E 's/ d ([0-7]+) [0-9]+ -> / d \1 - -> /'; }
# fsck.erofs --extract chowns after chmod, which clears a setuid bit: the
# kernel mount below checks that bit.
no_setuid() { sed -E 's/ f 4([0-7]{3}) / f \1 /'; }

# --- mkerofs against erofs-utils -----------------------------------------------
mkerofs() { "$B/mkerofs" "$@" >/dev/null; }
check "mkerofs writes an image" mkerofs -o "$w/t.img" "$w/tree"
check "fsck.erofs finds it consistent" fsck.erofs "$w/t.img"
check "fsck.erofs --extract" fsck.erofs --extract="$w/x" "$w/t.img"
chmod 0755 "$w/tree"   # the image's root is 0755 whatever the tree's top
check "the extracted tree is the input (types, modes, sizes, targets, contents)" \
  cmp -s <(tree_list_nodirsize "$w/tree" | no_setuid) <(tree_list_nodirsize "$w/x")
sb=$(dump.erofs -s "$w/t.img" 2>&1)
expect_match "dump.erofs: the magic" "$sb" 'magic number: +0xE0F5E1E2'
expect_match "dump.erofs: metadata from block 0, root nid 36" "$sb" 'inode metadata start block: +0'
expect_match "dump.erofs: root nid 36" "$sb" 'root nid: +36'
expect_match "dump.erofs: created at time 0 (SOURCE_DATE_EPOCH unset)" "$sb" 'created: +Thu Jan  1 00:00:00 1970'
expect_match "dump.erofs: no features" "$sb" 'features: *$'
st=$(dump.erofs --path=/usr/bin/tool "$w/t.img" 2>&1)
expect_match "dump.erofs: the binary is owned by 0:0" "$st" 'Uid: 0 +Gid: 0 '
expect_match "dump.erofs: its tail is inline (FLAT_INLINE)" "$st" 'Layout: 2 '
expect_match "dump.erofs: its size" "$st" "Size: $(stat -c %s "$w/tree/usr/bin/tool") " 

# Same input, same bytes; another tree with the same content made in
# another order, with other times and another umask: same bytes too.
check "a second run: the same bytes" \
  bash -c '"$1" -o "$2" "$3" >/dev/null && cmp -s "$2" "$4"' _ "$B/mkerofs" "$w/t2.img" "$w/tree" "$w/t.img"
copy_other() {
  (umask 077 && mkdir "$w/tree2" && cd "$w/tree" &&
   find . -mindepth 1 -depth -print | LC_ALL=C sort -r |
     cpio -pdm --quiet "$w/tree2" 2>/dev/null) &&
  find "$w/tree2" -exec touch -h -d '2001-02-03 04:05:06' {} + &&
  chmod 0700 "$w/tree2"
}
check "setup: a copy of the tree (reverse order, umask 077, other times)" copy_other
check "the copy gives the same bytes" \
  bash -c '"$1" -o "$2" "$3" >/dev/null && cmp -s "$2" "$4"' _ "$B/mkerofs" "$w/t3.img" "$w/tree2" "$w/t.img"
check "SOURCE_DATE_EPOCH changes the time, nothing else" \
  bash -c 'SOURCE_DATE_EPOCH=1700000000 "$1" -o "$2" "$3" >/dev/null &&
           [ "$(cmp -l "$2" "$4" | wc -l)" -ge 1 ] && ! cmp -l "$2" "$4" | awk "\$1 < 1049 || \$1 > 1056 { bad = 1 } END { exit !bad }"' \
  _ "$B/mkerofs" "$w/t4.img" "$w/tree" "$w/t.img"
mkfifo "$w/fifo-tree-fifo" 2>/dev/null; mkdir "$w/fifo-tree" && mv "$w/fifo-tree-fifo" "$w/fifo-tree/p"
out=$("$B/mkerofs" -o "$w/bad.img" "$w/fifo-tree" 2>&1); rc=$?
check "a FIFO in the tree: mkerofs fails" [ "$rc" -eq 1 ]
expect_match "naming it" "$out" 'fifo-tree/p: not a regular file, directory or symlink'
check "and leaves no image" [ ! -e "$w/bad.img" ]

# More links than a compact inode holds: the extended form (64 bytes).
# 65534 directories are made and removed in a second on tmpfs, in tens of
# seconds on some disks: /dev/shm when it is tmpfs.
wide_dir=$w/wide
if [ "$(stat -f -c %T /dev/shm 2>/dev/null)" = tmpfs ]; then
  wide_dir=$(mktemp -d /dev/shm/dshield-wide.XXXXXX)
fi
wide() { mkdir -p "$wide_dir/w" && (cd "$wide_dir/w" && seq 65534 | xargs mkdir) &&
         mkerofs -o "$w/wide.img" "$wide_dir" && rm -rf "$wide_dir"; }
check "setup: a directory of 65534 subdirectories" wide
check "fsck.erofs accepts it" fsck.erofs "$w/wide.img"
st=$(dump.erofs --path=/w "$w/wide.img" 2>&1)
expect_match "dump.erofs: 65536 links" "$st" 'Links: 65536 '
expect_match "dump.erofs: an extended inode" "$st" 'Inode size: 64 '

# The kernel's reader, where this machine allows a loop mount.
if [ "$(id -u)" -eq 0 ] && grep -qw erofs /proc/filesystems && losetup -f >/dev/null 2>&1; then
  mnt=$w/mnt; mkdir "$mnt"
  if mount -t erofs -o ro,loop "$w/t.img" "$mnt" 2>"$w/mount.err"; then
    ok "the kernel mounts the image (erofs, loop, ro)"
    check "the mounted tree is the input (setuid bit included)" \
      cmp -s <(tree_list_nodirsize "$w/tree") <(tree_list_nodirsize "$mnt")
    check "owners are 0:0 everywhere" [ -z "$(find "$mnt" ! -uid 0 -o ! -gid 0)" ]
    umount "$mnt"; mnt=
    mnt=$w/mnt
    if mount -t erofs -o ro,loop "$w/wide.img" "$mnt" 2>"$w/mount.err"; then
      check "the kernel reads the extended inode: 65536 links" [ "$(stat -c %h "$mnt/w")" -eq 65536 ]
      check "and its 65534 entries" [ "$(ls "$mnt/w" | wc -l)" -eq 65534 ]
      umount "$mnt"
    else
      nok "the kernel mounts the wide image"; diag "$(cat "$w/mount.err")"
    fi
    mnt=
  else
    nok "the kernel mounts the image (erofs, loop, ro)"; diag "$(cat "$w/mount.err")"
  fi
else
  ok "# skip loop mount: needs root, a loop device and erofs in /proc/filesystems"
fi

# --- mkverity against veritysetup --------------------------------------------------
for n in 1 2 128 129 1000; do
  head -c $((n * 4096)) /dev/urandom > "$w/d$n"
  salt=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
  mine=$("$B/mkverity" -s "$salt" "$w/d$n" "$w/h$n.mine" | awk '{ print $2 }')
  theirs=$(veritysetup format --no-superblock --salt "$salt" "$w/d$n" "$w/h$n.vs" | awk '/^Root hash/ { print $3 }')
  check "$n blocks: the root hash is veritysetup's" [ -n "$mine" -a "$mine" = "$theirs" ]
  check "$n blocks: the hash area is veritysetup's, byte for byte" cmp -s "$w/h$n.mine" "$w/h$n.vs"
  check "$n blocks: veritysetup verify accepts it" \
    veritysetup verify --no-superblock --salt "$salt" "$w/d$n" "$w/h$n.mine" "$mine"
done
printf '\x01' | dd of="$w/d1000" bs=1 seek=$((500 * 4096 + 7)) conv=notrunc status=none
if veritysetup verify --no-superblock --salt "$salt" "$w/d1000" "$w/h1000.mine" "$mine" >/dev/null 2>&1; then
  nok "a flipped data byte: veritysetup verify refuses"
else
  ok "a flipped data byte: veritysetup verify refuses"
fi

# --- mklayers: the disk -------------------------------------------------------------------
mkdir "$w/empty"
lines=$("$B/mklayers" -o "$w/layers.img" native="$w/empty" test="$w/tree:usr/bin/tool" 2>&1); rc=$?
check "mklayers writes a disk of two layers" [ "$rc" -eq 0 ]
expect_match "one line per layer" "$lines" '^layer native erofs 0 1 4096 0 [0-9a-f]{64} [0-9a-f]{64}'
expect_match "the entry's SHA-256" "$lines" "usr/bin/tool $(sha256sum < "$w/tree/usr/bin/tool" | cut -d' ' -f1)\$"
verify_layer() {
  local name doff dblk hoff hblk root salt
  read -r _ name _ doff dblk hoff hblk root salt _ <<<"$1"
  dd if="$w/layers.img" of="$w/$name.data" bs=4096 skip=$((doff / 4096)) count="$dblk" status=none &&
  veritysetup verify --no-superblock --salt "$salt" --data-blocks "$dblk" --hash-offset "$hoff" \
    "$w/$name.data" "$w/layers.img" "$root" &&
  fsck.erofs "$w/$name.data" >/dev/null
}
while read -r line; do
  check "layer $(cut -d' ' -f2 <<<"$line"): veritysetup verifies it in place, fsck.erofs accepts it" \
    verify_layer "$line"
done <<<"$lines"
total=$(awk '{ e = $6 + $7 * 4096; if (e > m) m = e } END { print m }' <<<"$lines")
check "the disk ends where the last hash tree ends ($total bytes)" [ "$(stat -c %s "$w/layers.img")" -eq "$total" ]
salt_of() { awk -v n="$1" '$2 == n { print $9 }' <<<"$lines"; }
want_salt=$(python3 -c '
import hashlib, sys
img = open(sys.argv[1], "rb").read()
print(hashlib.sha256(b"dshield-layer-salt-v1\0" + b"test\0" + hashlib.sha256(img).digest()).hexdigest())' "$w/test.data")
check "the salt is SHA-256(tag, name, SHA-256(image)) (docs/LAYERS.md)" [ "$(salt_of test)" = "$want_salt" ]
check "mklayers again: the same disk" \
  bash -c '"$1" -o "$2" native="$3" test="$4" >/dev/null && cmp -s "$2" "$5"' \
  _ "$B/mklayers" "$w/layers2.img" "$w/empty" "$w/tree:usr/bin/tool" "$w/layers.img"
"$B/mklayers" -o "$w/l3.img" Bad="$w/empty" >/dev/null 2>&1
check "an upper-case layer name is refused" [ $? -eq 2 ]
"$B/mklayers" -o "$w/l3.img" a="$w/empty" a="$w/empty" >/dev/null 2>&1
check "a layer given twice is refused" [ $? -eq 2 ]
"$B/mklayers" -o "$w/l3.img" a="$w/tree:../etc/one" >/dev/null 2>&1
check "an entry with '..' is refused" [ $? -eq 2 ]
"$B/mklayers" -o "$w/l3.img" a="$w/tree:usr/bin/tool-link" >/dev/null 2>&1
check "an entry that is a symlink is refused" [ $? -eq 1 ]
check "a failed mklayers leaves no disk" [ ! -e "$w/l3.img" ]

done_testing
