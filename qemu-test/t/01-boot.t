#!/usr/bin/env bash
# End to end: boot build/image in QEMU with DHCP from dnsmasq, then the API.
. "$(dirname "$0")/setup.sh" || { echo "Bail out! cannot load qemu-test/t/setup.sh"; exit 1; }

qt_start_ready

expect_match "the address came from dnsmasq's range" "$ADDR" '^198\.18\.0\.([1-4][0-9]|50)$'
expect_match "dnsmasq leased it to the guest's MAC" "$(cat "$QT_DIR/leases")" "$QT_GUEST_MAC ${ADDR//./\\.} "
expect_match "init runs as PID 1" "$console" 'dshield: init: dshield-init .* starting as PID 1'
expect_match "virtio_net loaded from the manifest" "$console" 'dshield: init: modules: virtio_net: loaded'
# The image's layer disk (qemu-test attaches build/image/layers.img); the
# bad-layer cases are qemu-test/t/04-layers.t.
expect_match "the native runtime layer is mounted (dm-verity, EROFS)" "$console" \
  'dshield: init: layers: native: mounted /dev/dm-[0-9]+ on /run/layers/native \(erofs, ro,nodev,nosuid'
expect_match "every layer of the image is available" "$console" 'dshield: init: layers: ([0-9]+) of \1 available'
# Each layer with an entry (make image: python's usr/bin/python3.13, node's
# usr/bin/node) had it read through the mounted, verity-checked layer and
# compared with the manifest's SHA-256.
while read -r lname lentry; do
  [ -n "$lentry" ] || continue
  expect_match "layer $lname: mounted, its entry $lentry matches the manifest" "$console" \
    "dshield: init: layers: $lname: mounted /dev/dm-[0-9]+ on /run/layers/$lname .*; entry ${lentry//./\\.} matches the manifest"
done < <(jq -r '.layers[] | "\(.name) \(.entry.path // "")"' "$image/manifest.json")
for s in kernel.kptr_restrict=2 kernel.dmesg_restrict=1 kernel.unprivileged_bpf_disabled=1 \
         kernel.io_uring_disabled=2 vm.unprivileged_userfaultfd=0 kernel.perf_event_paranoid=3 \
         kernel.sysrq=0 fs.suid_dumpable=0 debug.exception-trace=0; do
  expect_match "sysctl $s applied" "$console" "dshield: init: boot: sysctl ${s//./\\.}\$"
done
expect_match "eth0 prepared without a kernel address" "$console" 'eth0: .*up, NOARP, IPv6 off, no kernel address'
expect_match "netd got its lease by DHCP" "$console" "dshield: netd: bound ${ADDR//./\\.}/.* \\(dhcp\\)"
if grep -qE 'Kernel panic|Oops|BUG:|Call Trace' <<<"$console"; then nok "no kernel oops or warning trace"
else ok "no kernel oops or warning trace"; fi

http_api_checks

info=$(inns curl -s --max-time 10 "http://$ADDR:$PORT/v1/info")
manifest_sha=$(sha256sum < "$image/manifest.json" | cut -d' ' -f1)
expect_match "/v1/info names the manifest's SHA-256" "$info" "\"manifest_sha256\":\"$manifest_sha\""
expect_match "/v1/info says dhcp" "$info" '"dhcp":true'
expect_match "/v1/info: not host mode" "$info" '"host_mode":false'
# /v1/info's layers (init's IMSG_LAYERS_INFO): the manifest's, in its
# order, each available without a reason.
want_layers=$(jq -c '[.layers[] | {name, available: true, reason: null}]' "$image/manifest.json")
got_layers=$(jq -c '.layers' <<<"$info" 2>/dev/null)
if [ -n "$want_layers" ] && [ "$got_layers" = "$want_layers" ]; then
  ok "/v1/info: every layer of the manifest, available ($got_layers)"
else
  nok "/v1/info: every layer of the manifest, available"
  diag "want $want_layers"; diag "got  $got_layers"
fi
# TLS origination's state: netd's per-boot local CA, and the image's trust
# anchors (Debian's ca-certificates, converted at build), which init opened
# for netd; no test anchors in a built image.
tls_ok() { jq -e '.tls_origination | .local_ca == true and .anchors > 100 and .test_anchors == 0 and .reason == null' <<<"$info" >/dev/null 2>&1; }
check "/v1/info: a local CA and the image's trust anchors ($(jq -c .tls_origination <<<"$info" 2>/dev/null))" tls_ok
for phase in kernel_to_init modules_loaded netd_up dhcp_bound ready; do
  expect_match "boot phase $phase is measured" "$info" "\"$phase\":[0-9]+"
done

# The kernel must not answer for lwIP's address: its ARP table in the
# namespace holds exactly one MAC for ADDR (the guest's), and ICMP echo is
# answered by lwIP, not by a second stack.
inns ping -c 1 -W 2 "$ADDR" >/dev/null 2>&1
neigh=$(inns ip neigh show "$ADDR")
expect_match "the guest answers ARP for its address with its own MAC" "$neigh" "lladdr $QT_GUEST_MAC"

qt_teardown
done_testing
