# tests/bench/wrk.sh: wrk's figures as JSON, sourced by tests/bench/run-bench
# and tests/bench/egress-bench.
#
#   wrk_json OUT CMD...   runs CMD (a wrk with --latency, however it is
#                         entered into its namespace) with its output in
#                         OUT; prints {"requests_per_s","p50_us","p99_us"}
#                         (zeros when wrk printed none)

# to_us VALUE: wrk's "12.34us", "1.2ms" or "2s" in microseconds
to_us() { awk -v v="$1" 'BEGIN {
  n = v + 0; u = v; sub(/^[0-9.]+/, "", u);
  if (u == "us") f = 1; else if (u == "ms") f = 1000; else if (u == "s") f = 1000000; else f = 1;
  printf "%.1f", n * f }'; }

wrk_json() {
  local out=$1; shift
  "$@" > "$out" 2>&1
  local rps p50 p99
  rps=$(awk '/^Requests\/sec:/ {print $2}' "$out")
  p50=$(awk '$1 == "50%" {print $2}' "$out")
  p99=$(awk '$1 == "99%" {print $2}' "$out")
  printf '{"requests_per_s":%s,"p50_us":%s,"p99_us":%s}' "${rps:-0}" "$(to_us "${p50:-0}")" "$(to_us "${p99:-0}")"
}
