# tests/host/lib.sh: host-mode test fixture, sourced by tests/host/*.t.
#
# host_start [dhcp|static] [extra dshield-init args]
#   creates a network namespace with a veth pair: "peer" (198.18.1.1/24,
#   the kernel's side, where curl and dnsmasq run) and "dut" (no address,
#   IPv6 off: the NIC that dshield-init --host drives through AF_PACKET),
#   starts dshield-init in host mode on it and waits for "ready http://".
#   Sets NS, ADDR (lwIP's address), PORT, STATE, INIT_PID, LOG.
#   DHCP_LEASE (default 1h) and DNSMASQ_EXTRA (an array of options) shape
#   dnsmasq in dhcp mode.
# host_stop: stops everything and removes the namespace (also on EXIT).
# inns, http_raw, http_api_checks: see tests/host/http-checks.sh.

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
INIT_BIN=${INIT_BIN:-$TOP/build/dshield-init}
PORT=8080
NS=
DNSMASQ_PID=
INIT_PID=

. "$TOP/tests/host/tap.sh" || { echo "Bail out! cannot load tap.sh"; exit 1; }
. "$TOP/tests/host/http-checks.sh" || { echo "Bail out! cannot load http-checks.sh"; exit 1; }


host_stop() {
  [ -n "$INIT_PID" ] && kill -TERM "$INIT_PID" 2>/dev/null && {
    for _ in $(seq 50); do kill -0 "$INIT_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$INIT_PID" 2>/dev/null; }
  [ -n "$DNSMASQ_PID" ] && kill "$DNSMASQ_PID" 2>/dev/null
  [ -n "$NS" ] && ip netns del "$NS" 2>/dev/null
  [ -n "${STATE:-}" ] && [ -z "${KEEP_STATE:-}" ] && rm -rf "$STATE"
  INIT_PID= DNSMASQ_PID= NS=
}

_host_topology() {
  ip netns add "$NS" && inns ip link set lo up &&
    inns ip link add peer type veth peer name dut &&
    inns ip addr add 198.18.1.1/24 dev peer && inns ip link set peer up
}

host_start() {
  local mode=${1:-static}; shift || true
  [ "$(id -u)" -eq 0 ] || { echo "1..0 # skip host tests need root (network namespaces)"; exit 0; }
  [ -x "$INIT_BIN" ] || bail "no $INIT_BIN: run make first"
  NS=dshield-host-$$-$RANDOM
  STATE=$(mktemp -d /tmp/dshield-host.XXXXXX)
  LOG=$STATE/init.log
  trap host_stop EXIT
  # Setup is asserted like any test: a failure is a "not ok" that says
  # what did not work, then a bail (nothing after it could mean anything).
  check "setup: namespace $NS with a veth pair (peer 198.18.1.1/24, dut)" \
    _host_topology || bail "cannot build the test network"
  local args=(--host --state "$STATE" --netif dut)
  if [ "$mode" = dhcp ]; then
    # exec: DNSMASQ_PID must be dnsmasq itself, not a subshell, to stop it.
    # --no-ping: no 3 s ICMP probe of an address before offering it.
    (exec ip netns exec "$NS" dnsmasq --keep-in-foreground --no-resolv --no-hosts --port=0 --no-ping \
      --interface=peer --bind-interfaces --dhcp-range=198.18.1.10,198.18.1.20,"${DHCP_LEASE:-1h}" \
      ${DNSMASQ_EXTRA[@]+"${DNSMASQ_EXTRA[@]}"} \
      --dhcp-leasefile="$STATE/leases" --pid-file="$STATE/dnsmasq.pid" \
      --log-facility="$STATE/dnsmasq.log" --log-dhcp) &
    DNSMASQ_PID=$!
  else
    args+=(--ip 198.18.1.2/24 --gw 198.18.1.1)
  fi
  # exec: $! must be dshield-init itself, not a bash subshell (bash does not
  # exec-optimise while an EXIT trap is set), or host_stop would signal the
  # subshell and leave dshield-init and its netns running.
  (exec ip netns exec "$NS" "$INIT_BIN" "${args[@]}" "$@" >"$LOG" 2>&1) &
  INIT_PID=$!
  local line
  for _ in $(seq 150); do
    # init's own line: roles' lines carry their role's tag (init/rolelog)
    line=$(grep -o 'dshield: init: ready http://[0-9.]*:[0-9]*/' "$LOG" | head -n 1)
    line=${line#dshield: init: }
    [ -n "$line" ] && break
    kill -0 "$INIT_PID" 2>/dev/null || break
    sleep 0.1
  done
  if [ -z "$line" ]; then
    nok "setup: dshield-init --host $mode $* reaches ready"
    diag "its log:"
    sed 's/^/#   /' "$LOG"
    bail "host mode did not start"
  fi
  ok "setup: dshield-init --host $mode $* reaches ready"
  ADDR=${line#ready http://}; ADDR=${ADDR%%:*}
  PORT=${line##*:}; PORT=${PORT%/}
}


# netd_pid: the pid of the running netd (child of our dshield-init).
netd_pid() { role_pid netd; }
# role_pid NAME: the pid of the running role NAME (a child of our dshield-init).
role_pid() { pgrep -P "$INIT_PID" -f "dshield-init $1\$" | head -n 1; }

# fn_netns PORT: /proc/PID/ns/net of one of dshield's processes (a
# function's worker) whose network namespace has a listener on PORT
# (netd's, for a port the function's rules name); empty when none.
fn_netns() {
  local p
  for p in $(ps -e -o pid=,ppid= | awk -v root="$INIT_PID" '{ kid[$2] = kid[$2] " " $1 }
      END { q[1] = root; n = 1; for (i = 1; i <= n; i++) { m = split(kid[q[i]], k, " ");
            for (j = 1; j <= m; j++) { q[++n] = k[j]; print k[j] } } }'); do
    [ -e "/proc/$p/ns/net" ] || continue
    nsenter --net="/proc/$p/ns/net" ss -ltnH "sport = :$1" 2>/dev/null | grep -q LISTEN || continue
    printf '/proc/%s/ns/net' "$p"
    return 0
  done
}
