#!/usr/bin/env bash
# End to end: the runtime layers (docs/LAYERS.md). One boot of an image
# built here with four layers on one read-only disk:
#   native     a tree holding share/eio/blob (48 random blocks) and
#              share/eio/good (4): one byte of blob's block 40 flipped on
#              the disk, which init's boot check does not read (block 0,
#              the root directory): the layer is available, and a native
#              function (tests/escape/fn_eio.c) that reads blob gets EIO at
#              that block, twice, while another reads good whole, and
#              nothing of dshield restarts
#   test       a tree with a static binary as its entry: must mount and the
#              entry must read back with the manifest's SHA-256
#   corrupt    the same tree, one byte of the entry's second data block
#              flipped on the disk: reading it is EIO, layer unavailable
#   wrongroot  the same tree, another root hash in the manifest: block 0
#              does not verify, layer unavailable
# and the guest must still boot to its API.
. "$(dirname "$0")/setup.sh" || { echo "Bail out! cannot load qemu-test/t/setup.sh"; exit 1; }
. "$top/qemu-test/fn.sh" || bail "cannot load qemu-test/fn.sh"
command -v python3 >/dev/null || bail "python3 is needed"
command -v zstd >/dev/null || bail "zstd is needed"
command -v jq >/dev/null || bail "jq is needed"
for f in build/tools/mkcpio build/escape/fn_eio; do
  [ -x "$top/$f" ] || bail "no $f: run make"
done

work=$(mktemp -d "${TMPDIR:-/tmp}/dshield-layers.XXXXXX")
trap 'qt_teardown; rm -rf "$work"' EXIT
FN_DIR=$work/bodies
tree=$work/tree
probe=bin/probe
ntree=$work/native
blob=share/eio/blob   # 48 blocks; block 40 is flipped on the disk
good=share/eio/good   # 4 blocks, left alone
bad_block=40

setup_tree() {
  mkdir -p "$tree/bin" "$tree/etc" "$tree/lib" &&
  cp "$top/build/tools/mkcpio" "$tree/$probe" &&    # a static binary, several blocks
  printf 'layer test file\n' > "$tree/etc/hello" &&
  ln -s ../bin/probe "$tree/lib/probe-link"
}
check "setup: a test tree (static binary, file, symlink)" setup_tree || bail "no test tree"
check "setup: the entry has a second, whole data block" [ "$(stat -c %s "$tree/$probe")" -gt 8192 ]
# Random blocks: each is found on the disk by its content, once. Block 40
# is far past what a read of block 0 may bring in by readahead (at most
# 128 KiB), so only a function's read reaches it.
setup_native() {
  mkdir -p "$ntree/share/eio" &&
  head -c $((48 * 4096)) /dev/urandom > "$ntree/$blob" &&
  head -c $((4 * 4096)) /dev/urandom > "$ntree/$good" &&
  chmod -R a+rX,go-w "$ntree"
}
check "setup: a native tree with $blob (48 blocks) and $good (4 blocks)" setup_native ||
  bail "no native tree"

build() {
  LAYERS="native=$ntree test=$tree:$probe corrupt=$tree:$probe wrongroot=$tree:$probe" \
    "$top/image/build-image" "$work/image" > "$work/build.log" 2>&1
}
check "setup: image/build-image with the four layers" build || { cat "$work/build.log" >&2; bail "build failed"; }
img=$work/image
man=$img/manifest.json

# layer FIELD NAME: a number or string of layers[NAME] in the manifest.
layer() { jq -r --arg n "$2" ".layers[] | select(.name == \$n) | .$1" "$man"; }

# flip LAYER FILE BLOCK: flip one byte of FILE's block BLOCK (0-based)
# inside LAYER's data range, found by content (EROFS stores a file's whole
# blocks block aligned); prints that block's number within the layer,
# which is the number dm-verity names.
flip() {
  python3 - "$img/layers.img" "$2" "$3" "$(layer data_offset "$1")" "$(layer data_blocks "$1")" <<'EOF'
import sys
disk, path, nth, off, blocks = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
want = open(path, 'rb').read()[nth * 4096:(nth + 1) * 4096]
if len(want) != 4096:
    sys.exit("%s has no whole block %d" % (path, nth))
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
    print(at[0] // 4096)
EOF
}
corrupt() { flip corrupt "$tree/$probe" 1 >/dev/null; }
check "setup: one byte flipped in the corrupt layer's copy of the entry" corrupt
flip_native() { native_block=$(flip native "$ntree/$blob" "$bad_block") && [ -n "$native_block" ]; }
check "setup: one byte flipped in block $bad_block of the native layer's $blob" flip_native
diag "native layer block $native_block is $blob's block $bad_block"

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
expect_match "native is mounted (share at its root): the flipped block is not seen at boot" "$console" \
  'layers: native: mounted /dev/dm-[0-9]+ on /run/layers/native \(erofs, ro,nodev,nosuid; .*\), 1 entries at its root'
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

# --- a corrupted block only a function reads ----------------------------------

# dm-verity names the data device (layer-native-data, made just before
# layer-native: /dev/dm-N is native's verity device, dm-(N-1) its data).
native_dm=$(grep -m1 -oE 'layers: native: mounted /dev/dm-[0-9]+' <<<"$console" | grep -oE '[0-9]+$')
native_data_minor=$(( ${native_dm:-1} - 1 ))
native_err="device-mapper: verity: [0-9]+:$native_data_minor: data block $native_block is corrupted"
if grep -qE "$native_err" <<<"$console"; then
  nok "init's boot check did not read native's block $native_block"
else
  ok "init's boot check did not read native's block $native_block"
fi

mkdir -p "$FN_DIR" || bail "cannot make $FN_DIR"
printf '/%s' "$blob" > "$FN_DIR/blob.in"
printf '/%s' "$good" > "$FN_DIR/good.in"
printf 'direct:/%s' "$blob" > "$FN_DIR/blob-direct.in"

b=$(fn_deploy_body eio native "$top/build/escape/fn_eio") || bail "no deployment body"
fn_api_starting 120 POST /api/functions "$b"
expect "deploy build/escape/fn_eio as native function eio (201)" 201 '.id == "eio" and .runtime == "native"'
b=$(fn_deploy_body eio-good native "$top/build/escape/fn_eio") || bail "no deployment body"
fn_api POST /api/functions "$b"
expect "deploy it again as eio-good (201)" 201 '.id == "eio-good"'

# Buffered reads fail by page-cache folio, not by block: the readahead
# that brings block 40 in reads it in one folio with its neighbours (up to
# the 128 KiB readahead window, aligned: blocks 32-63 here), none of which
# becomes readable, so the first failing read is at the folio's start,
# between byte 131072 (block 32) and 163840 (block 40).
fn_call POST /invoke/eio "$FN_DIR/blob.in"
first=$FN_BODY
lo=$(( bad_block / 32 * 32 * 4096 )) hi=$(( bad_block * 4096 ))
expect "eio reads $blob: EIO (errno 5) at a block boundary between byte $lo and $hi, the bytes before read" 200 \
  ".path == \"/$blob\" and .direct == false and .errno == 5 and .read % 4096 == 0 and .read >= $lo and .read <= $hi"
at=$(jq -r .read <<<"$first" 2>/dev/null)
check "the console: dm-verity names native's data block $native_block as corrupted" \
  qt_wait_line "$QT_CONSOLE" "$native_err" 30
# The function's own stderr line, in its log stream (what a function's
# owner reads through the API; dshield itself cannot see the read fail).
fn_api GET /api/logs/eio
eio_line="fn_eio: /$blob: read at byte $at: I/O error"
if [ "$FN_STATUS" = 200 ] && [[ $FN_BODY == *"$eio_line"* ]]; then
  ok "eio's log stream (GET /api/logs/eio) has its line: $eio_line"
else
  nok "eio's log stream (GET /api/logs/eio) has its line: $eio_line"
  diag "got $FN_STATUS: ${FN_BODY:0:400}"
fi
fn_call POST /invoke/eio "$FN_DIR/blob.in"
check "eio again: the same answer, byte for byte (the block is checked on every read)" \
  [ "$FN_STATUS" = 200 -a "$FN_BODY" = "$first" ]
[ "$FN_BODY" = "$first" ] || diag "first: $first; now: $FN_BODY"
# Past the page cache (O_DIRECT), one read is one block: exactly the 40
# blocks before the corrupted one read.
fn_call POST /invoke/eio "$FN_DIR/blob-direct.in"
expect "eio reads $blob with O_DIRECT: EIO at exactly byte $hi (block $bad_block)" 200 \
  ".direct == true and .errno == 5 and .read == $hi"
fn_call POST /invoke/eio-good "$FN_DIR/good.in"
expect "eio-good reads $good whole (16384 bytes, errno 0)" 200 \
  ".path == \"/$good\" and .read == 16384 and .errno == 0"
fn_call POST /invoke/eio "$FN_DIR/good.in"
expect "eio reads $good whole too (the function is fine, one block is not)" 200 \
  ".read == 16384 and .errno == 0"
fn_call GET /healthz
expect "/healthz is ok after the corrupted reads" 200 '.status == "ok"'
fn_call GET /v1/info
expect "/v1/info still lists native, available" 200 \
  '[.layers[] | select(.name == "native" and .available == true)] | length == 1'

# --- nothing restarted -------------------------------------------------------

console=$(tr -d '\r' < "$QT_CONSOLE")
# init's supervisor (docs/INIT.md): "NAME (pid N) <how> after T ms" when a
# role ends, "restarting NAME in D ms", "NAME started (pid N, restart)".
role_lines=$(grep -E 'dshield: init: ([a-z]+ \(pid [0-9]+\) |restarting [a-z]+ in |[a-z]+ started \(pid [0-9]+, restart\))' <<<"$console")
if [ -z "$role_lines" ]; then ok "no role ended or restarted"
else nok "no role ended or restarted"; diag "$role_lines"; fi
check "init is PID 1 of this boot, once, never fatal" \
  bash -c '[ "$(grep -c "starting as PID 1" <<<"$1")" -eq 1 ] && ! grep -q FATAL <<<"$1"' _ "$console"
check "sandboxd started once" \
  [ "$(grep -cE 'dshield: init: sandboxd started \(pid [0-9]+' <<<"$console")" -eq 1 ]
if grep -qE 'Kernel panic|Oops|BUG:|Call Trace' <<<"$console"; then nok "no kernel oops or trace after the reads"
else ok "no kernel oops or trace after the reads"; fi

# What init and the kernel said, for the record (prove -v).
grep -E 'layers:|verity' <<<"$console" | sed 's/^/# /'
qt_teardown
done_testing
