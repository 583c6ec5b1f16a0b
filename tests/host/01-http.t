#!/usr/bin/env bash
# Host mode, static address: netd's HTTP server over lwIP on a veth.
. "$(dirname "$0")/lib.sh"
host_start static --header-timeout-ms 1500 --idle-timeout-ms 2000

expect_match "ready line names the static address" "$ADDR" '^198\.18\.1\.2$'

out=$(inns curl -s -i --max-time 5 "http://$ADDR:$PORT/healthz")
expect_match "GET /healthz is 200" "$out" '^HTTP/1\.1 200'
expect_match "GET /healthz body" "$out" '\{"status":"ok"\}'
expect_match "JSON content type" "$out" '[Cc]ontent-[Tt]ype: application/json'

info=$(inns curl -s --max-time 5 "http://$ADDR:$PORT/v1/info")
expect_match "/v1/info has a version" "$info" '"version":"[0-9]+\.[0-9]+\.[0-9]+"'
expect_match "/v1/info: the kernel holds no address on the NIC" "$info" '"kernel_eth0_addresses":\[\]'
expect_match "/v1/info reports the address" "$info" '"ipv4":"198\.18\.1\.2"'
expect_match "/v1/info has boot timings" "$info" '"boot_ms":\{'

out=$(inns curl -s -i --max-time 5 "http://$ADDR:$PORT/no/such/path")
expect_match "unknown path is 404" "$out" '^HTTP/1\.1 404'
expect_match "404 is a JSON error" "$out" '"error":\{"code":"not_found","message":'

out=$(inns curl -s -i --max-time 5 -X POST "http://$ADDR:$PORT/healthz")
expect_match "POST /healthz is 405" "$out" '^HTTP/1\.1 405'

out=$(http_raw 'GARBAGE\r\n\r\n')
expect_match "malformed request line is 400" "$out" '^HTTP/1\.1 400'
expect_match "400 closes the connection" "$out" '[Cc]onnection: close'

out=$(http_raw 'POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n')
expect_match "Content-Length with Transfer-Encoding is 400" "$out" '^HTTP/1\.1 400'

out=$(http_raw 'GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n')
expect_match "two Content-Lengths are 400" "$out" '^HTTP/1\.1 400'

big=$(head -c 10000 /dev/zero | tr '\0' a)
out=$(http_raw "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: $big\r\n\r\n")
expect_match "oversized header is 431" "$out" '^HTTP/1\.1 431'

out=$(http_raw 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
n=$(printf '%s' "$out" | grep -o 'HTTP/1\.1 200' | wc -l)
check "keep-alive: two pipelined requests, two answers" [ "$n" -eq 2 ]

u="http://$ADDR:$PORT/healthz"
out=$(inns curl -s -w '%{num_connects} %{http_code}\n' --max-time 5 \
  -o /dev/null "$u" -o /dev/null "$u" -o /dev/null "$u" | tr '\n' ' ')
expect_match "keep-alive: curl reuses one connection for three requests" "$out" '^1 200 0 200 0 200 $'

urls=()
for i in $(seq 50); do urls+=(-o /dev/null "http://$ADDR:$PORT/healthz?i=$i"); done
codes=$(inns curl -s --parallel --parallel-immediate --parallel-max 50 --max-time 20 \
  -w '%{http_code}\n' "${urls[@]}" 2>/dev/null | sort | uniq -c | tr -s ' ')
expect_match "50 concurrent clients all get 200" "$codes" '^ ?50 200$'

# A slow client that never finishes its head is answered 408 and closed, and
# does not block another client meanwhile.
start=$(date +%s%N)
slow=$(http_raw 'GET /healthz HTTP/1.1\r\nHost: x\r\n' )
expect_match "unfinished request head times out with 408" "$slow" '^HTTP/1\.1 408'
out=$(inns curl -s --max-time 5 "http://$ADDR:$PORT/healthz")
expect_match "server still answers after the slow client" "$out" '"status":"ok"'

# netd is restarted by init after it dies, and serves again.
pid=$(netd_pid)
check "netd runs as its own process" [ -n "$pid" ]
if [ -n "$pid" ]; then
  kill -KILL "$pid"
  back=
  for _ in $(seq 100); do
    new=$(netd_pid)
    if [ -n "$new" ] && [ "$new" != "$pid" ] &&
       inns curl -s --max-time 1 "http://$ADDR:$PORT/healthz" | grep -q '"ok"'; then back=1; break; fi
    sleep 0.1
  done
  check "netd restarted after SIGKILL and serves /healthz again" [ -n "$back" ]
  expect_match "init logged the restart" "$(cat "$LOG")" 'netd.*(exited|killed|died|signal)'
fi

# netd's privileges: unprivileged uid, no capabilities, no_new_privs, seccomp.
pid=$(netd_pid)
if [ -n "$pid" ]; then
  st=$(cat /proc/$pid/status)
  expect_match "netd runs as a non-root uid" "$st" $'Uid:\t[1-9][0-9]*\t'
  expect_match "netd has no effective capabilities" "$st" $'CapEff:\t0000000000000000'
  expect_match "netd has no_new_privs" "$st" $'NoNewPrivs:\t1'
  expect_match "netd is under seccomp filtering" "$st" $'Seccomp:\t2'
  root=$(readlink /proc/$pid/root)
  check "netd is chrooted (root is not /)" [ "$root" != "/" ]
  check "netd is in its own network namespace" \
    [ "$(readlink /proc/$pid/ns/net)" != "$(readlink /proc/$INIT_PID/ns/net)" ]
fi

host_stop
done_testing
