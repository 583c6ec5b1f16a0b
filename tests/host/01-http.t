#!/usr/bin/env bash
# Host mode, static address: netd's HTTP server over lwIP on a veth.
. "$(dirname "$0")/lib.sh" || { echo "Bail out! cannot load lib.sh"; exit 1; }
host_start static --header-timeout-ms 1500 --idle-timeout-ms 2000

expect_match "ready line names the static address" "$ADDR" '^198\.18\.1\.2$'

http_api_checks

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
