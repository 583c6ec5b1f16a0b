#!/usr/bin/env bash
# Host mode, the attested API on 8443 under hostile TLS clients
# (docs/NETWORK.md, "Overload" and "Memory"; docs/TLS.md, "Memory"):
# hundreds of connections holding half-done handshakes (a record header,
# a whole ClientHello), idle TLS sessions and slowloris inside TLS, from
# one address and from several (the TLS pool has 16 slots, 4 per address
# when full), while the plain pool is full too; then a SYN flood of 8443. A
# well-behaved TLS client and an 8080 client are served meanwhile, netd's
# memory stays under its bound, every hostile connection is evicted or
# times out, and no role restarts. Clients: tests/host/hostile.py.
. "$(dirname "$0")/lib.sh" || { echo "Bail out! cannot load lib.sh"; exit 1; }
. "$TOP/tests/host/hostile.sh" || bail "cannot load hostile.sh"
[ -x "$PY" ] || { echo "1..0 # skip no $PY"; exit 0; }
[ ! -e /dev/tdx_guest ] || { echo "1..0 # skip this host has /dev/tdx_guest (the sim is never used there)"; exit 0; }

TLS=8443
POOL=16                     # HTTP_TLS_MAX_CONNS (net/http_tls.h)
# The default header timeout (10 s) bounds handshakes and idle sessions:
# long enough that what the clients opened last still holds while the
# test's own clients are served.
host_start static --allow-sim --header-timeout-ms 10000 --idle-timeout-ms 10000
for _ in $(seq 100); do grep -q "netd: API listening on port $TLS" "$LOG" && break; sleep 0.1; done
expect_match "netd serves the API over TLS on $TLS" "$(cat "$LOG")" "netd: API listening on port $TLS \\(TLS"
NETD=$(netd_pid)
KEYD=$(role_pid keyd)
check "netd runs" [ -n "$NETD" ]
check "keyd runs" [ -n "$KEYD" ]
check "a second client address on the peer" inns ip addr add 198.18.1.3/24 dev peer
check "a third" inns ip addr add 198.18.1.4/24 dev peer

tls_get() { hostile tlsget "$ADDR" "$TLS" "${1:-/healthz}"; }
# opened_all NAME N: NAME opened its N connections, some still held when
# it said so (not all evicted or timed out yet), and at least half did
# their part before the server cut them off (a newer connection may evict
# one as soon as it is accepted: that is the pool's rule)
opened() { sed -n 's/^opened \([0-9]*\) held \([0-9]*\) .*/\1 \2/p' "$STATE/$1.out"; }
opened_all() {
  local o d; o=$(opened "$1")
  d=$(sed -n 's/^opened .* done \([0-9]*\)$/\1/p' "$STATE/$1.out")
  [ "${o% *}" = "$2" ] && [ "${o#* }" -ge 1 ] && [ "${d:-0}" -ge $(($2 / 2)) ]
}
# all_opened NAME N WHAT: the check that NAME opened its N connections
all_opened() {
  bg_wait "$1" '^opened' 80 >/dev/null
  check "$3 ($(grep '^opened' "$STATE/$1.out"))" opened_all "$1" "$2"
}
# closed_all NAME: after bg_say, the server closed every connection NAME held
closed_all() {
  local o c; o=$(opened "$1"); c=$(bg_wait "$1" '^closed' 70)
  diag "$1: opened/held ${o:-?}, ${c:-no answer}"
  [ -n "$o" ] && [ "$c" = "closed ${o% *}" ]
}
# hold_and_serve WHAT NAME...: while the clients NAME... hold what they
# opened, a well-behaved TLS client (from a fresh address and from one of
# theirs) and an 8080 client are served, and netd's memory is under its
# bound; then the server closes every connection they held (evicted or
# timed out).
hold_and_serve() {
  local what=$1 n; shift
  diag "held when they said so: $(held_total "$@") (the pool has $POOL slots)"
  expect_match "a well-behaved TLS client is served while $what hold" "$(tls_get)" '^status 200'
  expect_match "  and one from 198.18.1.3, a holding address" \
    "$(hostile tlsget "$ADDR" "$TLS" /v1/info 198.18.1.3)" '"version":'
  expect_match "  and an 8080 client" "$(fresh_get)" '^status 200'
  check "netd's memory under its bound ($what)" mem_ok
  for n in "$@"; do bg_say "$n"; done
  for n in "$@"; do
    check "the server closed every connection $n held (evicted or timed out)" closed_all "$n"
  done
  for n in "$@"; do bg_stop "$n"; done
}
held_total() {
  local t=0 n o
  for n in "$@"; do o=$(opened "$n"); t=$((t + ${o#* })); done
  echo "$t"
}

# --- 1. half-done handshakes, the plain pool full of idle connections ---------
bg_start plain idle "$ADDR" "$PORT" 200
expect_match "200 idle connections on $PORT" "$(bg_wait plain '^opened' 70)" '^opened 200$'
bg_start rec tlsrecord "$ADDR" "$TLS" 300 198.18.1.1
bg_start hello tlshello "$ADDR" "$TLS" 300 198.18.1.3,198.18.1.4
all_opened rec 300 "300 connections from 198.18.1.1 send a record header and stop"
all_opened hello 300 "300 from 198.18.1.3 and .4 send a whole ClientHello and never answer"
hold_and_serve "half-done handshakes" rec hello
bg_stop plain

# --- 2. idle TLS sessions and slowloris inside TLS; the plain pool pipelining --
bg_start pipe pipeline "$ADDR" "$PORT" 200 5
expect_match "200 clients pipeline on $PORT without reading" "$(bg_wait pipe '^pipelined' 120)" \
  '^pipelined [0-9]+ '
bg_start idle tlsidle "$ADDR" "$TLS" 200 198.18.1.1
bg_start slow tlsslow "$ADDR" "$TLS" 100 198.18.1.3,198.18.1.4
all_opened idle 200 "200 from 198.18.1.1 complete their handshake and go idle"
all_opened slow 100 "100 from 198.18.1.3 and .4 send most of a POST body, then a byte a second"
hold_and_serve "TLS sessions idle or slow" idle slow
bg_stop pipe

# --- 3. SYN flood from spoofed addresses on 8443 ----------------------------------
flood_served "$TLS" tls_get
check "netd's memory under its bound (SYN flood)" mem_ok
bg_stop flood

# --- afterwards ------------------------------------------------------------------
expect_match "TLS served once they are gone" "$(tls_get)" '^status 200'
expect_match "8080 too" "$(fresh_get)" '^status 200'
check "netd's memory under its bound at the end" mem_ok
check "netd was not restarted" [ "$(netd_pid)" = "$NETD" ]
check "keyd was not restarted" [ "$(role_pid keyd)" = "$KEYD" ]
no_restart() { ! grep -q 'restarting ' "$LOG"; }
check "no role was restarted (init's log)" no_restart
host_stop
done_testing
