# tests/host/kms.sh: starting `dshield kms` on 127.0.0.1 in a test, for the
# shell tests that talk to it (10-kms.t, 12-kms-keyd.t). Needs DSHIELD, T
# (the test's directory) and the PIDS array (killed by the test's cleanup).

# kms_start NAME ARGS...: starts dshield kms on an ephemeral port and waits
# until it prints its key; sets ADDR_<NAME>, KEY_<NAME>, PID_<NAME>.
kms_start() {
  local name=$1; shift
  "$DSHIELD" kms --listen 127.0.0.1:0 "$@" >"$T/$name.out" 2>"$T/$name.err" &
  local pid=$!
  PIDS+=("$pid")
  for _ in $(seq 100); do grep -q '^dshield kms: key ' "$T/$name.out" 2>/dev/null && break; sleep 0.05; done
  printf -v "PID_$name" '%s' "$pid"
  printf -v "ADDR_$name" '%s' "$(sed -n 's/^dshield kms: listening on //p' "$T/$name.out")"
  printf -v "KEY_$name" '%s' "$(sed -n 's/^dshield kms: key //p' "$T/$name.out")"
}
# kms_stop NAME: SIGTERM; STOP_RC is its exit status.
kms_stop() { local p="PID_$1"; kill "${!p}" 2>/dev/null; wait "${!p}" 2>/dev/null; STOP_RC=$?; }
# post ADDR PATH FILE OUT: POSTs FILE, prints the status; the body goes to OUT.
post() { curl -s -o "$4" -w '%{http_code}' --max-time 20 -X POST --data-binary @"$3" "http://$1$2"; }
