# qemu-test/lib.sh: boot the dshield image in QEMU inside a private network
# namespace. Sourced by qemu-test/run and by the TAP tests qemu-test/t/*.t.
#
# The namespace holds a tap device (198.18.0.1/24, the guest's only link),
# dnsmasq for DHCP and DNS on it, and QEMU. Nothing is routed out of it:
# tests reach the guest with `ip netns exec "$QT_NS" ...`.
#
#   qt_setup [WORKDIR]       namespace + tap + dnsmasq; teardown on exit
#   qt_boot IMAGE_DIR [--append WORDS] [-- QEMU_ARGS...]   start QEMU (with
#                            IMAGE_DIR/layers.img as the layer disk unless
#                            QT_NO_LAYERS=1; with QT_DATA_DISK=FILE, a raw
#                            file, as the encrypted store's data disk, or
#                            QT_DATA_DRIVE=SPEC, a -drive spec without
#                            if/id, e.g. an NBD export; with
#                            QT_INSTANCE=HEX64, the instance id in fw_cfg)
#   qt_wait_ready TIMEOUT_S  wait for "ready http://" on the console
#   qt_console_tail [N]      last N console lines (default 30)
#   qt_teardown              kill QEMU and dnsmasq, delete the namespace
#
# QT_DNSMASQ_ARGS (an array, set before qt_setup): more dnsmasq options,
# e.g. --address=/NAME/ADDR for a test's names (qemu-test/t/08-egress.t).
#
# Variables set: QT_NS, QT_DIR, QT_CONSOLE, QT_QEMU_PID, QT_DNSMASQ_PID,
# QT_ADDR, QT_URL, QT_ACCEL, QT_BOOT_MS (start of QEMU to the ready line).
# Functions return non-zero with a message on stderr; none of them exits.

QT_HOST_ADDR=198.18.0.1
QT_PREFIX=24
QT_DHCP_RANGE=198.18.0.10,198.18.0.50,12h
QT_GUEST_MAC=52:54:00:12:34:56
QT_NS=${QT_NS:-}
QT_DIR=${QT_DIR:-}
QT_CONSOLE=
QT_QEMU_PID=
QT_DNSMASQ_PID=
QT_ADDR=
QT_URL=
QT_ACCEL=
QT_BOOT_MS=
QT_OWN_DIR=0
QT_START_NS=
# More dnsmasq options for a test's names (e.g. --address=/NAME/ADDR),
# set before qt_setup: qt_dnsmasq_start passes them on.
QT_DNSMASQ_ARGS=(${QT_DNSMASQ_ARGS[@]+"${QT_DNSMASQ_ARGS[@]}"})

qt_err() { echo "qemu-test: $*" >&2; }

qt_need() {
  local t
  for t in "$@"; do
    command -v "$t" >/dev/null 2>&1 || { qt_err "'$t' is missing (bash tools/host-deps)"; return 1; }
  done
}

# qt_ns_create: a namespace with a unique name, lo up, tap0 with the host
# address. QEMU opens tap0 from inside the namespace.
qt_ns_create() {
  [ "$(id -u)" -eq 0 ] || { qt_err "network namespaces need root"; return 1; }
  QT_NS=dshield-$$-$RANDOM
  ip netns add "$QT_NS" || { qt_err "ip netns add $QT_NS failed"; QT_NS=; return 1; }
  ip -n "$QT_NS" link set lo up &&
  ip netns exec "$QT_NS" ip tuntap add dev tap0 mode tap &&
  ip -n "$QT_NS" addr add "$QT_HOST_ADDR/$QT_PREFIX" dev tap0 &&
  ip -n "$QT_NS" link set tap0 up ||
    { qt_err "could not set up tap0 in $QT_NS"; return 1; }
}

# qt_dnsmasq_start: DHCP for the guest and DNS that answers test.internal
# (and its subdomains) with the host address; nothing is forwarded.
qt_dnsmasq_start() {
  local pidfile=$QT_DIR/dnsmasq.pid i
  # --no-ping: no 3 s ICMP probe of an address before offering it.
  ip netns exec "$QT_NS" dnsmasq --keep-in-foreground --no-resolv --no-hosts --no-ping \
    --interface=tap0 --bind-interfaces --except-interface=lo \
    --dhcp-range="$QT_DHCP_RANGE" --dhcp-leasefile="$QT_DIR/leases" \
    --address=/test.internal/"$QT_HOST_ADDR" ${QT_DNSMASQ_ARGS[@]+"${QT_DNSMASQ_ARGS[@]}"} \
    --log-facility="$QT_DIR/dnsmasq.log" --log-dhcp --pid-file="$pidfile" \
    </dev/null >>"$QT_DIR/dnsmasq.log" 2>&1 &
  QT_DNSMASQ_PID=$!
  for i in $(seq 50); do
    [ -s "$pidfile" ] && return 0
    kill -0 "$QT_DNSMASQ_PID" 2>/dev/null || break
    sleep 0.1
  done
  qt_err "dnsmasq did not start; its log:"
  tail -n 20 "$QT_DIR/dnsmasq.log" >&2
  return 1
}

# qt_stop PID NAME: SIGTERM, up to 5 s, then SIGKILL. Only our own children.
qt_stop() {
  local pid=$1 i
  [ -n "$pid" ] || return 0
  kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
  kill "$pid" 2>/dev/null
  for i in $(seq 50); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  return 0
}

qt_teardown() {
  local pid
  qt_stop "$QT_QEMU_PID"; QT_QEMU_PID=
  qt_stop "$QT_DNSMASQ_PID"; QT_DNSMASQ_PID=
  if [ -n "$QT_NS" ]; then
    # Anything still inside was started by us (the namespace is ours).
    for pid in $(ip netns pids "$QT_NS" 2>/dev/null); do
      kill -9 "$pid" 2>/dev/null
    done
    ip netns del "$QT_NS" 2>/dev/null || qt_err "could not delete namespace $QT_NS"
    QT_NS=
  fi
  if [ "$QT_OWN_DIR" = 1 ] && [ -n "$QT_DIR" ] && [ "${QT_KEEP_DIR:-0}" != 1 ]; then
    rm -rf "$QT_DIR"
  fi
}

# qt_setup [WORKDIR]: everything but QEMU. Installs an EXIT trap that
# tears down unless the caller has one already (which must then call
# qt_teardown itself, and keeps its own cleanup), and INT/TERM traps that
# tear down and exit (running the EXIT trap too).
qt_setup() {
  qt_need ip dnsmasq qemu-system-x86_64 || return 1
  if [ -n "${1:-}" ]; then
    QT_DIR=$1; mkdir -p "$QT_DIR" || return 1
  else
    QT_DIR=$(mktemp -d "${TMPDIR:-/tmp}/dshield-qemu.XXXXXX") || return 1
    QT_OWN_DIR=1
  fi
  QT_DIR=$(cd "$QT_DIR" && pwd)
  [ -n "$(trap -p EXIT)" ] || trap 'qt_teardown' EXIT
  trap 'qt_teardown; exit 130' INT
  trap 'qt_teardown; exit 143' TERM
  qt_ns_create && qt_dnsmasq_start
}

# qt_accel: KVM only where it can run a guest: /dev/kvm usable and the CPU
# shows VMX/SVM. Some sandboxes offer a /dev/kvm that fails on real guests
# (seen here: no vmx/svm in cpuinfo, "KVM internal error" while booting).
# DSHIELD_ACCEL=kvm|tcg overrides.
qt_accel() {
  case ${DSHIELD_ACCEL:-auto} in
  kvm|tcg) echo "$DSHIELD_ACCEL"; return ;;
  auto) ;;
  *) qt_err "DSHIELD_ACCEL must be kvm, tcg or auto"; return 1 ;;
  esac
  if [ -r /dev/kvm ] && [ -w /dev/kvm ] && grep -qwE 'vmx|svm' /proc/cpuinfo; then
    echo kvm
  else
    echo tcg
  fi
}

qt_now_ms() { local t; t=$(date +%s%N); echo $((t / 1000000)); }

# qt_boot IMAGE_DIR [--append WORDS] [-- QEMU_ARGS...]
qt_boot() {
  local img=$1; shift
  local extra_append='' accel_args
  if [ "${1:-}" = --append ]; then extra_append=" $2"; shift 2; fi
  [ "${1:-}" = -- ] && shift
  local f
  for f in vmlinuz initrd cmdline; do
    [ -f "$img/$f" ] || { qt_err "$img/$f is missing (make image)"; return 1; }
  done
  QT_ACCEL=$(qt_accel) || return 1
  if [ "$QT_ACCEL" = kvm ]; then
    accel_args=(-accel kvm -cpu host)
  else
    # -cpu max: RDRAND/RDSEED, so the guest kernel's CRNG is ready at once
    # (as on TDX hardware) and getrandom() does not stall the boot.
    accel_args=(-accel tcg -cpu max)
  fi
  # The sim attestation backend takes MRTD/RTMR0-2 from this blob (what
  # a TD's firmware would have measured); without it they are zeros.
  local fwcfg=()
  [ -f "$img/measurements.json" ] &&
    fwcfg=(-fw_cfg name=opt/dshield/measurements,file="$img/measurements.json")
  # The runtime layer disk (docs/LAYERS.md): read-only virtio, found by
  # the guest through its serial. QT_NO_LAYERS=1: boot without it.
  local layers=()
  [ -f "$img/layers.img" ] && [ "${QT_NO_LAYERS:-0}" != 1 ] &&
    layers=(-drive "file=$img/layers.img,if=none,id=layers,format=raw,readonly=on"
            -device virtio-blk-pci,drive=layers,serial=dshield-layers)
  # The encrypted store's data disk (docs/STORE.md): writable virtio, found
  # by the guest through its serial; the instance id it expects, in fw_cfg.
  local data=()
  [ -n "${QT_DATA_DISK:-}" ] &&
    data=(-drive "file=$QT_DATA_DISK,if=none,id=data,format=raw,cache=none,aio=threads"
          -device virtio-blk-pci,drive=data,serial=dshield-data)
  # QT_DATA_DRIVE: any other block backend, e.g. qemu-test/powercut.py's
  # recording NBD server ("file=nbd+unix:///?socket=PATH,format=raw").
  [ -z "${QT_DATA_DISK:-}" ] && [ -n "${QT_DATA_DRIVE:-}" ] &&
    data=(-drive "$QT_DATA_DRIVE,if=none,id=data"
          -device virtio-blk-pci,drive=data,serial=dshield-data)
  [ -n "${QT_INSTANCE:-}" ] &&
    data+=(-fw_cfg "name=opt/dshield/instance,string=$QT_INSTANCE")
  QT_CONSOLE=$QT_DIR/console.log
  : > "$QT_CONSOLE"
  QT_START_NS=$(qt_now_ms)
  ip netns exec "$QT_NS" qemu-system-x86_64 "${accel_args[@]}" \
    -machine q35 -m 512M -smp 1 -nographic -no-reboot \
    -kernel "$img/vmlinuz" -initrd "$img/initrd" \
    -append "$(cat "$img/cmdline")$extra_append" \
    -serial file:"$QT_CONSOLE" -monitor none \
    -netdev tap,id=n0,ifname=tap0,script=no,downscript=no \
    -device virtio-net-pci,netdev=n0,mac="$QT_GUEST_MAC" \
    "${fwcfg[@]}" "${layers[@]}" "${data[@]}" "$@" </dev/null >"$QT_DIR/qemu.log" 2>&1 &
  QT_QEMU_PID=$!
}

qt_console_tail() {
  local n=${1:-30} panic
  panic=$(grep -m1 -oE '(Kernel panic|BUG:|Oops).*' "$QT_CONSOLE" 2>/dev/null | tr -d '\r')
  [ -z "$panic" ] || echo "qemu-test: the console says: $panic" >&2
  echo "--- last $n console lines ($QT_CONSOLE)" >&2
  # Firmware writes terminal escapes to the serial port: drop them.
  tail -n "$n" "$QT_CONSOLE" | sed 's/\x1b\[[0-9;?]*[A-Za-z]//g; s/\x1b.//g' | tr -d '\r' >&2
  if [ -s "$QT_DIR/qemu.log" ]; then
    echo "--- qemu says" >&2
    tail -n 10 "$QT_DIR/qemu.log" >&2
  fi
  echo "---" >&2
}

# qt_wait_line FILE REGEX TIMEOUT_S [PID]: 0 when a line matches, 1 on
# timeout, 2 when PID exits first.
qt_wait_line() {
  local file=$1 re=$2 timeout=$3 pid=${4:-} deadline
  deadline=$(( $(qt_now_ms) + timeout * 1000 ))
  while :; do
    grep -qE -- "$re" "$file" 2>/dev/null && return 0
    if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
      grep -qE -- "$re" "$file" 2>/dev/null && return 0
      return 2
    fi
    [ "$(qt_now_ms)" -lt "$deadline" ] || return 1
    sleep 0.2
  done
}

# qt_wait_ready TIMEOUT_S: the guest prints "ready http://ADDR:PORT" once
# its API listens. Sets QT_ADDR, QT_URL and QT_BOOT_MS.
qt_wait_ready() {
  local timeout=$1 rc line
  qt_wait_line "$QT_CONSOLE" 'dshield: init: ready http://' "$timeout" "$QT_QEMU_PID"
  rc=$?
  case $rc in
  0) ;;
  1) qt_err "no 'ready http://' on the console after ${timeout}s ($QT_ACCEL)"
     qt_console_tail 30; return 1 ;;
  *) wait "$QT_QEMU_PID" 2>/dev/null; QT_QEMU_PID=
     qt_err "QEMU exited before the guest was ready (kernel panic or poweroff)"
     qt_console_tail 30; return 1 ;;
  esac
  QT_BOOT_MS=$(( $(qt_now_ms) - QT_START_NS ))
  line=$(grep -m1 -oE 'dshield: init: ready http://[^ /]+' "$QT_CONSOLE" | tr -d '\r')
  line=${line#dshield: init: }
  QT_URL=${line#ready }
  QT_ADDR=${QT_URL#http://}
  QT_ADDR=${QT_ADDR%:*}
  if [ -z "$QT_ADDR" ] || [ "$QT_ADDR" = 0.0.0.0 ]; then
    # The console did not name the address: ask the DHCP server.
    QT_ADDR=$(awk -v mac="$QT_GUEST_MAC" '$2 == mac { print $3; exit }' "$QT_DIR/leases" 2>/dev/null)
    QT_URL=http://$QT_ADDR:${line##*:}
  fi
  [ -n "$QT_ADDR" ] || { qt_err "ready line without an address: $line"; return 1; }
}
