# qemu-test/t/setup.sh: what every qemu-test/t/*.t starts with. Source it
#   . "$(dirname "$0")/setup.sh" [HELPER...]
# to load tests/host/tap.sh, tests/host/http-checks.sh, tests/host/HELPER.sh
# for each HELPER named, and qemu-test/lib.sh; to skip unless root; and to
# bail unless build/image is built. Sets top and image.
#
#   qt_start [--append WORDS] [-- QEMU_ARGS...]   namespace, then QEMU on
#                                                 build/image, or bail
#   qt_start_ready [QT_BOOT_ARGS...]              qt_start, then the ready
#                                                 line (TAP ok) or exit;
#                                                 sets NS ADDR PORT console
top=$(cd "$(dirname "$0")/../.." && pwd)
for _h in tap http-checks "$@"; do
  . "$top/tests/host/$_h.sh" || { echo "Bail out! cannot load tests/host/$_h.sh"; exit 1; }
done
unset _h
. "$top/qemu-test/lib.sh" || { echo "Bail out! cannot load qemu-test/lib.sh"; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "1..0 # skip QEMU tests need root (network namespaces)"; exit 0; }
image=$top/build/image
[ -f "$image/initrd" ] || bail "no build/image: run make image"

# Setup is asserted like any test: a failure is a "not ok" saying what did
# not work, then a bail.
qt_start() {
  check "setup: test namespace with a tap device and dnsmasq" qt_setup ||
    bail "could not set up the test namespace"
  check "setup: QEMU starts on $image${1:+ ($*)}" qt_boot "$image" "$@" || bail "QEMU did not start"
}

qt_start_ready() {
  qt_start "$@"
  if qt_wait_ready "${QT_TIMEOUT:-180}"; then
    ok "guest boots to the ready line ($QT_ACCEL, $QT_BOOT_MS ms)"
  else
    nok "guest boots to the ready line"; done_testing; exit 1
  fi
  NS=$QT_NS ADDR=$QT_ADDR PORT=8080
  console=$(tr -d '\r' < "$QT_CONSOLE")
}
