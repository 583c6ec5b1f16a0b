# tests/host/hostile.sh: helpers of the hostile-client tests (05-hostile.t,
# 15-hostile-tls.t), sourced after lib.sh and host_start. The clients are
# tests/host/hostile.py, bounded in count and time.
#
# hostile ARGS...            hostile.py ARGS in the test's namespace (90 s at most)
# bg_start NAME ARGS...      the same in the background, its stdin a pipe this
#                            shell holds (bg_say writes a line to it, bg_stop
#                            closes it: the client exits); output in $STATE/NAME.out
# bg_wait NAME REGEX SECONDS the line of NAME's output matching REGEX
# fresh_get [PATH]           one GET on a new connection to the plain port
# info                       /v1/info's body
# mem_ok                     netd's ($NETD) VmHWM is under MEM_BOUND_KB
# flood_served PORT GET...   1000 spoofed SYN/s for 10 s at PORT (client
#                            "flood": the caller bg_stops it); meanwhile
#                            GET... (printing "status CODE") is served once
#                            a second, 5 times of 5 (checked), and the
#                            flood sent its SYNs (checked)

MEM_BOUND_KB=32768          # docs/NETWORK.md, "Memory"
PY=/usr/bin/python3
HOSTILE="$TOP/tests/host/hostile.py"

hostile() { inns timeout 90 "$PY" "$HOSTILE" "$@"; }

declare -A BG_FD BG_PID
bg_start() {
  local name=$1 fd; shift
  mkfifo "$STATE/$name.in"
  hostile "$@" <"$STATE/$name.in" >"$STATE/$name.out" 2>&1 &
  BG_PID[$name]=$!
  exec {fd}>"$STATE/$name.in"
  BG_FD[$name]=$fd
}
bg_say() { echo "${2:-go}" >&"${BG_FD[$1]}"; }
bg_stop() {
  local fd=${BG_FD[$1]}
  exec {fd}>&-
  wait "${BG_PID[$1]}" 2>/dev/null
}
bg_wait() {
  local i
  for i in $(seq $(($3 * 10))); do
    grep -Em1 -- "$2" "$STATE/$1.out" && return 0
    kill -0 "${BG_PID[$1]}" 2>/dev/null || break
    sleep 0.1
  done
  grep -Em1 -- "$2" "$STATE/$1.out"
}
fresh_get() { hostile get "$ADDR" "$PORT" "${1:-/healthz}"; }
info() { fresh_get /v1/info | tail -n 1; }
vm_hwm_kb() { awk '/^VmHWM:/ { print $2 }' "/proc/$NETD/status"; }
vm_rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$NETD/status"; }
flood_served() {
  local port=$1 served=0 i out; shift
  bg_start flood synflood "$ADDR" "$port" 1000 10
  sleep 1
  for i in 1 2 3 4 5; do
    out=$("$@")
    [[ $out == "status 200"* ]] && served=$((served + 1))
    sleep 1
  done
  check "a real client ($1) is served 5 of 5 times during a 1000 SYN/s flood of $port ($served)" \
    [ "$served" -eq 5 ]
  expect_match "the flood sent its SYNs" "$(bg_wait flood '^sent' 30)" '^sent [0-9]{4,}$'
}
mem_ok() {
  local kb; kb=$(vm_hwm_kb)
  diag "netd VmHWM ${kb:-?} kB, VmRSS $(vm_rss_kb) kB (bound $MEM_BOUND_KB kB)"
  [ -n "$kb" ] && [ "$kb" -le "$MEM_BOUND_KB" ]
}
