#!/usr/bin/env bash
# Host mode with DHCP from dnsmasq on the peer side.
. "$(dirname "$0")/lib.sh" || { echo "Bail out! cannot load lib.sh"; exit 1; }
host_start dhcp

expect_match "address comes from the DHCP range" "$ADDR" '^198\.18\.1\.(1[0-9]|20)$'
leases=$(cat "$STATE/leases" 2>/dev/null)
expect_match "dnsmasq recorded the lease" "$leases" "$ADDR"
out=$(inns curl -s --max-time 5 "http://$ADDR:$PORT/healthz")
expect_match "/healthz over the leased address" "$out" '"status":"ok"'
info=$(inns curl -s --max-time 5 "http://$ADDR:$PORT/v1/info")
expect_match "/v1/info says dhcp" "$info" '"dhcp":true'
expect_match "/v1/info: the kernel holds no address on the NIC" "$info" '"kernel_eth0_addresses":\[\]'
check "the kernel never got an address on dut" [ -z "$(inns ip -o addr show dev dut)" ]
host_stop
done_testing
