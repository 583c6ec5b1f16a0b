#!/usr/bin/env bash
# Host mode, the API over attested TLS on 8443 (docs/TLS.md, "The attested
# API"): keyd's certificate served by netd with the handshake signed by
# keyd; the same routes and HTTP limits as on 8080; `dshield verify
# --tls-url` and `--tls-cert` against the quote's slot 3 (another
# certificate, a quote without the slot, the plain port all fail); clients
# holding TLS handshakes half-done block neither 8080 nor other TLS
# clients and are cut off; a restarted keyd serves the same key.
. "$(dirname "$0")/lib.sh" || { echo "Bail out! cannot load lib.sh"; exit 1; }
DSHIELD=${DSHIELD:-$TOP/build/dshield}
[ -x "$DSHIELD" ] || bail "no $DSHIELD: run make first"
command -v jq >/dev/null || bail "jq is needed"
command -v openssl >/dev/null || { echo "1..0 # skip openssl is needed (the test's own client)"; exit 0; }
[ ! -e /dev/tdx_guest ] || { echo "1..0 # skip this host has /dev/tdx_guest (the sim is never used there)"; exit 0; }

host_start static --allow-sim --header-timeout-ms 3000
TLS=8443
U="https://$ADDR:$TLS"
# netd opens 8443 once keyd's certificate arrived (after "ready")
for _ in $(seq 50); do grep -q "netd: API listening on port $TLS" "$LOG" && break; sleep 0.1; done
log=$(cat "$LOG")
expect_match "keyd makes the API TLS key" "$log" 'keyd: API TLS key: made \(SPKI SHA-256 [0-9a-f]{8}\.\.\., certificate [0-9]+ bytes\)'
expect_match "netd serves the API over TLS on 8443" "$log" "netd: API listening on port $TLS \\(TLS"

# the certificate as any client sees it
cert=$STATE/api.pem
inns sh -c "openssl s_client -connect $ADDR:$TLS </dev/null 2>/dev/null | openssl x509 -out '$cert'"
check "openssl s_client completes a handshake and gets a certificate" [ -s "$cert" ]
text=$(openssl x509 -in "$cert" -noout -text 2>&1)
expect_match "  self-signed for dshield-api.invalid" "$text" 'Issuer: CN *= *dshield-api\.invalid'
expect_match "  with that name as its dNSName" "$text" 'DNS:dshield-api\.invalid'
expect_match "  an ECDSA P-256 key" "$text" 'NIST CURVE: P-256'
expect_match "  valid until 9999" "$text" 'Not After : Dec 31 23:59:59 9999 GMT'
spki=$(openssl x509 -in "$cert" -pubkey -noout | openssl pkey -pubin -outform der | sha256sum | cut -d' ' -f1)
pin=$(openssl x509 -in "$cert" -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64)

nonce=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')
att=$STATE/att.json
code=$(inns curl -s --max-time 20 -o "$att" -w '%{http_code}' --pinnedpubkey "sha256//$pin" -k \
  "$U/v1/attestation?nonce=$nonce")
check "GET /v1/attestation over TLS (curl pinned to the key) is 200" [ "$code" = 200 ]
check "  its report_data_preimage names this key in api_tls_spki_sha256" \
  [ "$(jq -r .report_data_preimage.api_tls_spki_sha256 "$att")" = "$spki" ]

# curl validating the certificate as its own anchor, by its name
cc() { inns curl -s --max-time 5 --cacert "$cert" --resolve "dshield-api.invalid:$TLS:$ADDR" "$@"; }
out=$(cc -i "https://dshield-api.invalid:$TLS/healthz")
expect_match "curl --cacert (the certificate as anchor): GET /healthz is 200" "$out" '^HTTP/1\.1 200'
expect_match "  same body as on 8080" "$out" '\{"status":"ok"\}'
out=$(cc -i --http1.0 "https://dshield-api.invalid:$TLS/healthz")
expect_match "curl --http1.0 (ALPN http/1.0 alone): GET /healthz is 200, the connection closed" \
  "$(printf '%s' "$out" | tr -d '\r' | tr '\n' ' ')" '^HTTP/1\.1 200 .*Connection: close .*\{"status":"ok"\}'
out=$(inns curl -s --max-time 5 -k --pinnedpubkey "sha256//$pin" "$U/v1/info")
expect_match "curl --pinnedpubkey: /v1/info over TLS" "$out" '"version":"[0-9]+\.[0-9]+\.[0-9]+"'
inns curl -s --max-time 5 -k --pinnedpubkey "sha256//$(printf '%032d' 0 | base64)" "$U/healthz" >/dev/null
check "curl pinned to another key refuses the server (exit 90)" [ "$?" -eq 90 ]
out=$(cc -i "https://dshield-api.invalid:$TLS/no/such/path")
expect_match "unknown path over TLS is 404 with a JSON error" "$out" '"error":\{"code":"not_found"'
out=$(cc -i -X POST "https://dshield-api.invalid:$TLS/healthz")
expect_match "POST /healthz over TLS is 405" "$out" '^HTTP/1\.1 405'
big=$(head -c 10000 /dev/zero | tr '\0' a)
out=$(cc -i -H "X-Big: $big" "https://dshield-api.invalid:$TLS/healthz")
expect_match "an oversized header over TLS is 431 (the same HTTP core)" "$out" '^HTTP/1\.1 431'
long=$(head -c 3000 /dev/zero | tr '\0' a)
out=$(cc -i "https://dshield-api.invalid:$TLS/$long")
expect_match "a URL over 2048 bytes over TLS is 414" "$out" '^HTTP/1\.1 414'
u="https://dshield-api.invalid:$TLS/healthz"
out=$(cc -w '%{num_connects} %{http_code}\n' -o /dev/null "$u" -o /dev/null "$u" -o /dev/null "$u" | tr '\n' ' ')
expect_match "keep-alive over TLS: three requests, one connection" "$out" '^1 200 0 200 0 200 $'
codes=$(for i in $(seq 16); do cc -o /dev/null -w '%{http_code}\n' "$u" & done; wait)
check "16 concurrent TLS clients all get 200" [ "$(printf '%s\n' "$codes" | grep -c '^200$')" -eq 16 ]

# dshield verify against the quote's slot 3
out=$(inns "$DSHIELD" verify --allow-sim --no-collateral --tls-url "$U" "$att" 2>&1); rc=$?
check "dshield verify --tls-url $U passes" [ "$rc" -eq 0 ]
[ "$rc" -eq 0 ] || printf '%s\n' "$out" | sed 's/^/#   /'
expect_match "  check api_tls.binding passes, naming the key" "$out" "pass +api_tls\\.binding +the server's key SHA-256\\(SPKI\\) $spki equals"
out=$("$DSHIELD" verify --allow-sim --no-collateral --tls-cert "$cert" "$att" 2>&1)
check "dshield verify --tls-cert (the PEM the server showed) passes" [ "$?" -eq 0 ]
openssl x509 -in "$cert" -outform der -out "$STATE/api.der"
"$DSHIELD" verify --allow-sim --no-collateral --tls-cert "$STATE/api.der" "$att" >/dev/null 2>&1
check "  and in DER form" [ "$?" -eq 0 ]
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=dshield-api.invalid \
  -keyout "$STATE/other.key" -out "$STATE/other.pem" -days 1 2>/dev/null
out=$("$DSHIELD" verify --allow-sim --no-collateral --tls-cert "$STATE/other.pem" "$att" 2>&1); rc=$?
check "another certificate (same name, another key) fails: exit 1" [ "$rc" -eq 1 ]
expect_match "  api_tls.binding says the keys differ" "$out" 'fail +api_tls\.binding .*differs from'
out=$(inns "$DSHIELD" verify --allow-sim --no-collateral --tls-url "http://$ADDR:$PORT" "$att" 2>&1); rc=$?
check "an http:// URL is refused (exit 1)" [ "$rc" -eq 1 ]
out=$(inns "$DSHIELD" verify --allow-sim --no-collateral --tls-url "https://$ADDR:$PORT" "$att" 2>&1); rc=$?
check "the plain port as https:// fails (no TLS there): exit 1" [ "$rc" -eq 1 ]
expect_match "  api_tls.binding says no certificate came" "$out" 'fail +api_tls\.binding +no API certificate from'
out=$("$DSHIELD" verify --allow-sim --no-collateral --tls-cert "$STATE/missing.pem" "$att" 2>&1); rc=$?
check "a missing certificate file fails: exit 1" [ "$rc" -eq 1 ]
jq '.report_data_preimage.api_tls_spki_sha256 = null' "$att" > "$STATE/noslot.json"
out=$("$DSHIELD" verify --allow-sim --no-collateral --tls-cert "$cert" "$STATE/noslot.json" 2>&1); rc=$?
check "a quote answer without the slot fails: exit 1" [ "$rc" -eq 1 ]
expect_match "  saying the quote vouches for no API TLS key" "$out" 'fail +api_tls\.binding +the quote vouches for no API TLS key'
jq -r .quote "$att" | base64 -d > "$STATE/quote.bin"
out=$("$DSHIELD" verify --allow-sim --no-collateral --tls-cert "$cert" "$STATE/quote.bin" 2>&1); rc=$?
check "a bare quote (no preimage) with --tls-cert fails: exit 1" [ "$rc" -eq 1 ]
out=$("$DSHIELD" verify --tls-cert "$cert" --tls-url "$U" "$att" 2>&1); rc=$?
check "--tls-cert and --tls-url together are a usage error: exit 2" [ "$rc" -eq 2 ]

# Hostile: 40 clients each send 5 bytes of a ClientHello and hold. The
# plain API and a real TLS client are served meanwhile; the server cuts
# the half-done handshakes off after the header timeout (3 s here), or
# sooner: the TLS pool holds 16, 4 per address (docs/NETWORK.md), so most
# are evicted or refused at once. None may be left to the 15 s timeout.
holders=()
for i in $(seq 40); do
  ( inns timeout 15 bash -c 'exec 3<>/dev/tcp/$1/$2 || { echo refused; exit 0; }
      printf "\x16\x03\x01\x00\xc8" >&3
      cat <&3 >/dev/null; echo closed' _ "$ADDR" "$TLS" 2>/dev/null
    echo "rc $?" ) > "$STATE/hold.$i" &
  holders+=($!)
done
sleep 0.5
out=$(inns curl -s --max-time 5 "http://$ADDR:$PORT/healthz")
expect_match "while 40 TLS handshakes are held half-done, 8080 answers" "$out" '"status":"ok"'
out=$(cc "https://dshield-api.invalid:$TLS/healthz")
expect_match "  and a TLS client completes its handshake and gets its answer" "$out" '"status":"ok"'
wait "${holders[@]}"
check "every held half-done handshake was ended by the server, closed or refused (none by the 15 s timeout)" \
  [ "$(cat "$STATE"/hold.* | grep -cE '^(closed|refused)$')" -eq 40 -a "$(cat "$STATE"/hold.* | grep -c '^rc 0$')" -eq 40 ]
diag "held handshakes: $(cat "$STATE"/hold.* | grep -c '^closed$') closed, $(cat "$STATE"/hold.* | grep -c '^refused$') refused at connect"
out=$(cc "https://dshield-api.invalid:$TLS/healthz")
expect_match "TLS still served afterwards" "$out" '"status":"ok"'
info=$(inns curl -s --max-time 5 "http://$ADDR:$PORT/v1/info")
diag "/v1/info https: $(printf '%s' "$info" | jq -c .https)"
check "/v1/info counts the TLS pool: handshakes completed, the held ones timed out or evicted" \
  jq -e '.https.tls.handshakes >= 3 and .https.tls.sign_asked >= .https.tls.handshakes and
         (.https.tls.timed_out + .https.evicted.busy + .https.evicted.idle + .https.refused.per_address +
          .https.refused.pool_full) > 0 and .http.memory != null and .https.memory == null' <<<"$info"

# A restarted keyd: the same key, handed to netd on the new channel.
kpid=$(role_pid keyd)
check "keyd runs" [ -n "$kpid" ]
kill -KILL "$kpid"
for _ in $(seq 100); do grep -q 'API TLS key: reloaded' "$LOG" && break; sleep 0.1; done
expect_match "a restarted keyd reloads the API TLS key" "$(cat "$LOG")" 'keyd: API TLS key: reloaded'
out=""
for _ in $(seq 50); do
  out=$(inns curl -s --max-time 5 -k --pinnedpubkey "sha256//$pin" "$U/healthz") && break
  sleep 0.1
done
expect_match "  TLS is served with the same key afterwards" "$out" '"status":"ok"'
check "netd was not restarted" [ "$(grep -c 'netd: API listening on port 8080' "$LOG")" -eq 1 ]
host_stop
done_testing
