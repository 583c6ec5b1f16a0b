#!/usr/bin/env bash
# End to end: the runtime layers (docs/LAYERS.md). One boot of an image
# built here with four layers on one read-only disk:
#   native     the empty tree (as in build/image)
#   test       a tree with a static binary as its entry: must mount and the
#              entry must read back with the manifest's SHA-256
#   corrupt    the same tree, one byte of the entry's second data block
#              flipped on the disk: reading it is EIO, layer unavailable
#   wrongroot  the same tree, another root hash in the manifest: block 0
#              does not verify, layer unavailable
# and the guest must still boot to its API.
. "$(dirname "$0")/setup.sh" || { echo "Bail out! cannot load qemu-test/t/setup.sh"; exit 1; }
command -v python3 >/dev/null || bail "python3 is needed"
command -v zstd >/dev/null || bail "zstd is needed"
[ -x "$top/build/tools/mkcpio" ] || bail "no build/tools/mkcpio: run make"

work=$(mktemp -d "${TMPDIR:-/tmp}/dshield-layers.XXXXXX")
trap 'qt_teardown; rm -rf "$work"' EXIT
tree=$work/tree
probe=bin/probe

setup_tree() {
  mkdir -p "$tree/bin" "$tree/etc" "$tree/lib" &&
  cp "$top/build/tools/mkcpio" "$tree/$probe" &&    # a static binary, several blocks
  printf 'layer test file\n' > "$tree/etc/hello" &&
  ln -s ../bin/probe "$tree/lib/probe-link"
}
check "setup: a test tree (static binary, file, symlink)" setup_tree || bail "no test tree"
check "setup: the entry has a second, whole data block" [ "$(stat -c %s "$tree/$probe")" -gt 8192 ]

build() {
  LAYERS="native= test=$tree:$probe corrupt=$tree:$probe wrongroot=$tree:$probe" \
    "$top/image/build-image" "$work/image" > "$work/build.log" 2>&1
}
check "setup: image/build-image with the four layers" build || { cat "$work/build.log" >&2; bail "build failed"; }
img=$work/image
man=$img/manifest.json

# layer FIELD NAME: a number or string of layers[NAME] in the manifest.
layer() { jq -r --arg n "$2" ".layers[] | select(.name == \$n) | .$1" "$man"; }

# Flip one byte of the entry's second block inside the corrupt layer's data
# range (found by content: the block is stored whole and block aligned).
corrupt() {
  python3 - "$img/layers.img" "$tree/$probe" "$(layer data_offset corrupt)" "$(layer data_blocks corrupt)" <<'EOF'
import sys
disk, probe, off, blocks = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
want = open(probe, 'rb').read()[4096:8192]
with open(disk, 'r+b') as f:
    f.seek(off)
    data = f.read(blocks * 4096)
    at = [i for i in range(0, len(data), 4096) if data[i:i + 4096] == want]
    if len(at) != 1:
        sys.exit("found the block %d times" % len(at))
    pos = off + at[0] + 100
    f.seek(pos)
    b = f.read(1)
    f.seek(pos)
    f.write(bytes([b[0] ^ 0x01]))
EOF
}
check "setup: one byte flipped in the corrupt layer's copy of the entry" corrupt

# Another root hash for wrongroot: the manifest is replaced by appending an
# uncompressed cpio holding the edited file (later archive entries win).
wrong_root() {
  local good bad
  good=$(layer root_hash wrongroot)
  bad=$(printf 'not the root' | sha256sum | cut -d' ' -f1)
  sed "s/\"root_hash\":\"$good\"/\"root_hash\":\"$bad\"/" "$man" > "$work/manifest.json" &&
  ! cmp -s "$man" "$work/manifest.json" &&
  printf 'dir etc 0755\ndir etc/dshield 0755\nfile etc/dshield/manifest.json 0644 %s\n' \
    "$work/manifest.json" > "$work/extra.spec" &&
  "$top/build/tools/mkcpio" -o "$work/extra.cpio" "$work/extra.spec" &&
  { zstd -dc "$img/initrd" && cat "$work/extra.cpio"; } > "$work/initrd" &&
  mv "$work/initrd" "$img/initrd"
}
check "setup: the manifest names another root hash for wrongroot" wrong_root

image=$img
qt_start_ready

expect_match "init finds the layer disk by its serial, read-only" "$console" \
  'dshield: init: layers: disk vd[a-z] \([0-9]+:[0-9]+, [0-9]+ bytes, read-only\)'
expect_match "native (empty tree) is mounted" "$console" \
  'layers: native: mounted /dev/dm-[0-9]+ on /run/layers/native \(erofs, ro,nodev,nosuid; .*\), 0 entries at its root'
expect_match "test is mounted, its root read (bin etc lib)" "$console" \
  'layers: test: mounted /dev/dm-[0-9]+ on /run/layers/test .*, 3 entries at its root'
expect_match "test's entry reads back with the manifest's SHA-256" "$console" \
  "layers: test: .*; entry $probe matches the manifest"
expect_match "corrupt: reading the entry is an I/O error, layer unavailable" "$console" \
  "layers: corrupt: UNAVAILABLE: entry $probe: read at byte [0-9]+: I/O error"
expect_match "the kernel names the corrupted data block (dm-verity)" "$console" \
  'device-mapper: verity: [0-9]+:[0-9]+: data block [0-9]+ is corrupted'
expect_match "wrongroot: block 0 does not verify, layer unavailable" "$console" \
  "layers: wrongroot: UNAVAILABLE: block 0 does not verify against the manifest's root hash"
expect_match "two of four layers available" "$console" 'layers: 2 of 4 available'
if grep -q 'layers: corrupt: mounted\|layers: wrongroot: mounted' <<<"$console"; then
  nok "no bad layer is left mounted"
else
  ok "no bad layer is left mounted"
fi
if grep -qE 'Kernel panic|Oops|BUG:|Call Trace' <<<"$console"; then nok "no kernel oops or trace"
else ok "no kernel oops or trace"; fi
health=$(inns curl -s --max-time 10 "http://$ADDR:$PORT/healthz")
expect_match "the API answers after the bad layers (boot went on)" "$health" '"status":"ok"'

# What init said, for the record (prove -v).
grep -E 'layers:|verity' <<<"$console" | sed 's/^/# /'
done_testing
