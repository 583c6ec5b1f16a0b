# tests/host/http-checks.sh: the API checks shared by host mode
# (tests/host/*.t) and QEMU (qemu-test/t/*.t). Needs NS (the namespace the
# client runs in), ADDR and PORT (the server), and tests/host/tap.sh.

inns() { ip netns exec "$NS" "$@"; }

# http_raw DATA: sends DATA (printf %b escapes) over one TCP connection and
# prints the whole reply (until the server closes, or 3 s).
http_raw() {
  inns timeout 5 bash -c '
    exec 3<>/dev/tcp/$1/$2 || exit 1
    printf "%b" "$3" >&3
    timeout 3 cat <&3' _ "$ADDR" "$PORT" "$1"
}

# http_api_checks: routes, errors, limits, keep-alive and concurrency.
http_api_checks() {
  local out info big n u urls codes i
  out=$(inns curl -s -i --max-time 5 "http://$ADDR:$PORT/healthz")
  expect_match "GET /healthz is 200" "$out" '^HTTP/1\.1 200'
  expect_match "GET /healthz body" "$out" '\{"status":"ok"\}'
  expect_match "JSON content type" "$out" '[Cc]ontent-[Tt]ype: application/json'

  info=$(inns curl -s --max-time 5 "http://$ADDR:$PORT/v1/info")
  expect_match "/v1/info has a version" "$info" '"version":"[0-9]+\.[0-9]+\.[0-9]+"'
  expect_match "/v1/info: the kernel holds no address on the NIC" "$info" '"kernel_eth0_addresses":\[\]'
  expect_match "/v1/info reports the address" "$info" "\"ipv4\":\"${ADDR//./\\.}\""
  expect_match "/v1/info has boot timings" "$info" '"boot_ms":\{'
  # init's IMSG_LAYERS_INFO arrived: a list ([] in host mode), not null
  expect_match "/v1/info lists the runtime layers" "$info" '"layers":\['

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

}
