#!/usr/bin/env bash
# End to end: a static address from the kernel command line, and a bad
# command line that must end in a controlled poweroff with a message.
. "$(dirname "$0")/setup.sh" || { echo "Bail out! cannot load qemu-test/t/setup.sh"; exit 1; }

qt_start --append "dshield.ip=198.18.0.77/24 dshield.gw=198.18.0.1"
if qt_wait_ready "${QT_TIMEOUT:-180}"; then
  ok "guest with a static address boots ($QT_BOOT_MS ms)"
  expect_match "ready line names the static address" "$QT_ADDR" '^198\.18\.0\.77$'
  NS=$QT_NS ADDR=$QT_ADDR PORT=8080
  info=$(inns curl -s --max-time 10 "http://$ADDR:$PORT/v1/info")
  expect_match "/v1/info: static, not dhcp" "$info" '"ipv4":"198\.18\.0\.77","dhcp":false'
  expect_match "/v1/info: no kernel address on eth0" "$info" '"kernel_eth0_addresses":\[\]'
else
  nok "guest with a static address boots"
fi
qt_stop "$QT_QEMU_PID"; QT_QEMU_PID=

# A malformed dshield.* word: init refuses to guess, says why, powers off.
# This boot also goes without the layer disk: the layers are opened before
# the command line is read, and a missing disk must not stop the boot.
QT_NO_LAYERS=1
check "setup: QEMU starts with a bad dshield.ip, without the layer disk" qt_boot "$image" --append "dshield.ip=1.2.3" ||
  bail "QEMU did not start"
QT_NO_LAYERS=0
for _ in $(seq 1200); do kill -0 "$QT_QEMU_PID" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$QT_QEMU_PID" 2>/dev/null; then
  nok "QEMU exits (the guest powered off) after a bad command line"
  qt_console_tail 20
else
  ok "QEMU exits (the guest powered off) after a bad command line"
fi
console=$(tr -d '\r' < "$QT_CONSOLE")
expect_match "init names the bad word on the console" "$console" 'dshield\.ip'
expect_match "init says FATAL and powers off" "$console" 'FATAL'
expect_match "without the layer disk, native is unavailable with the reason" "$console" \
  'dshield: init: layers: native: UNAVAILABLE: no disk with serial dshield-layers'
expect_match "and the boot went on to the command line" "$console" 'layers: 0 of [1-8] available'
expect_match "the kernel powered down (no panic)" "$console" 'reboot: Power down'
if grep -q 'Kernel panic' <<<"$console"; then nok "no kernel panic (PID 1 never exited)"
else ok "no kernel panic (PID 1 never exited)"; fi

qt_teardown
done_testing
