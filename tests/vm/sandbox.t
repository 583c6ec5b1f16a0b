#!/usr/bin/env bash
# tests/vm/sandbox.t: runs build/tests/test_sandbox as root inside a QEMU
# guest with the image's kernel and a minimal initramfs, so that the cgroup
# v2 limits (memory.max, pids.max), which the host's cgroup2 cannot enforce,
# are exercised for real. Prints the test's TAP; exits with its status.
#
#   tests/vm/sandbox.t [BUILD_DIR]     (default build; needs build/image/vmlinuz)
#   SANDBOX_VM_CONSOLE=FILE keeps the whole console output in FILE
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 2
b=${1:-build}
for f in "$b/image/vmlinuz" "$b/tests/test_sandbox" "$b/escape/probe" "$b/escape/vminit" "$b/tools/mkcpio"; do
  [ -e "$f" ] || { echo "Bail out! $f missing (make -j2 && make image)"; exit 2; }
done
dir=$(mktemp -d) || exit 2
trap 'rm -rf "$dir"' EXIT
cat > "$dir/spec" <<SPEC
dir dev 0755
nod dev/console 0600 c 5 1
dir proc 0555
dir sys 0555
dir tmp 1777
dir t 0755
dir t/tests 0755
dir t/escape 0755
file init 0755 $b/escape/vminit
file t/tests/test_sandbox 0755 $b/tests/test_sandbox
file t/escape/probe 0755 $b/escape/probe
SPEC
"$b/tools/mkcpio" -o "$dir/initrd" "$dir/spec" || exit 2
accel=(-accel tcg -cpu max)
timeout 900 qemu-system-x86_64 "${accel[@]}" -machine q35 -m 512M -smp 1 -nographic -no-reboot \
  -kernel "$b/image/vmlinuz" -initrd "$dir/initrd" \
  -append "console=ttyS0 panic=-1 quiet loglevel=0 rdinit=/init" > "$dir/console" 2>&1
[ -n "${SANDBOX_VM_CONSOLE:-}" ] && cp "$dir/console" "$SANDBOX_VM_CONSOLE"
# the firmware leaves terminal escapes on the first line
# The firmware's and the kernel's output may share a line with the first
# TAP line (a terminal reset, "Booting from ROM..." without a newline):
# escape sequences are removed and TAP lines are taken wherever they start.
tr -d '\r' < "$dir/console" | sed -E 's/\x1b(\[[?=0-9;]*[A-Za-z]|[()][A-Z0-9]|c)//g' |
  grep -aoE '(not ok|ok) [0-9]+( .*)?$|^1\.\.[0-9]+.*$|^#.*$|Bail out!.*$|^vminit:.*$' | grep -v '^vminit: test'
st=$(tr -d '\r' < "$dir/console" | sed -n 's/^vminit: test_sandbox status \([0-9-]*\).*/\1/p')
[ "$st" = 0 ] || { echo "# console tail:"; tail -n 30 "$dir/console" | sed 's/^/#   /'; exit 1; }
