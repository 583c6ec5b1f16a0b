#!/usr/bin/env bash
# End to end: egress (docs/EGRESS.md) in a QEMU boot, one boot for every
# check. The image is build/image's programs and layers with a test policy
# whose extra_anchors hold a test CA (qemu-test/egress/build-image, cached in
# build/qemu-egress/). Upstreams run in the test's namespace on 10.77.0.1
# (qemu-test/egress/upstreams.py), which the guest reaches through its
# gateway 198.18.0.1 (the policy's `addresses` take RFC 1918 ranges only);
# dnsmasq there answers *.egress.test with it. Nothing leaves the namespace.
#   - Python (urllib.request and http.client), Node (fetch, https.get) and
#     a static musl function (tests/escape/fn_egress.c: getaddrinfo, TCP)
#     reach their upstreams by name with no proxy settings: the upstream's
#     answer through netd's leaf (TLS originate), the echo through a
#     passthrough rule; the sandbox's DNS answers over TCP as over UDP;
#   - refused: a name no rule allows (REFUSED by the sandbox's DNS, 403
#     no_rule through CONNECT, unresolvable for the native function), a
#     fake-range address the DNS never gave (reset, unknown_address), an
#     allowed host on another rule's port (reset, port_not_allowed) and on
#     a port no rule names (connection refused, and recorded from the
#     kernel's reset), IP literals (403
#     ip_literal through CONNECT, no route by address);
#   - strip and inject: the upstream gets netd's Authorization from the
#     operator's secret, never the function's own, and no Cookie; the
#     function never sees the secret;
#   - a function's limits.egress_conns (2): the third connection open at
#     once is refused (conn_limit), a later one goes;
#   - a 16 MiB download through TLS origination arrives whole (its
#     SHA-256), and netd took super-frames the guest's GRO made whole
#     (/v1/info link); a 16 MiB upload the same way arrives whole, netd's
#     segments sent merged into GSO frames;
#   - TLS sessions resume with netd, and a session offered under another
#     name's SNI is refused before its request goes anywhere; netd resumes
#     its own sessions with an upstream (`openssl s_server -www` on 8445,
#     which says so), each record with the key the full handshake checked;
#   - /v1/info and the console say the anchors include test anchors;
#   - `dshield log verify` of the VM's log passes, and its egress,
#     egress_refused and dns_refused records match what happened (host,
#     port, address, scheme, decision, reason, the upstream's SPKI).
. "$(dirname "$0")/setup.sh" || { echo "Bail out! cannot load qemu-test/t/setup.sh"; exit 1; }
. "$top/qemu-test/fn.sh" || bail "cannot load qemu-test/fn.sh"
for c in jq openssl python3; do command -v $c >/dev/null || bail "$c is needed"; done
for f in build/escape/fn_egress build/dshield build/image/manifest.json; do
  [ -e "$top/$f" ] || bail "no $f: run make && make image"
done
DSHIELD=$top/build/dshield
UP=10.77.0.1
eg=$top/qemu-test/egress

work=$(mktemp -d "${TMPDIR:-/tmp}/dshield-egress.XXXXXX") || bail "mktemp failed"
trap 'qt_teardown; rm -rf "$work"' EXIT
FN_DIR=$work/bodies

check "setup: the test image (build/qemu-egress: test policy, test CA as test anchors)" \
  bash -c "'$eg/build-image' > '$work/image-dir' 2> '$work/image.log'" ||
  { diag "$(tail -n 5 "$work/image.log")"; bail "no test image"; }
egimage=$(cat "$work/image-dir")
CA=$top/build/qemu-egress

# the upstreams' certificates, from the test CA (the image trusts it)
mkleaf() {  # NAME DNSNAME
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$2" \
    -keyout "$work/$1.key" -out "$work/$1.csr" 2>/dev/null &&
  printf 'subjectAltName=DNS:%s\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n' "$2" > "$work/$1.ext" &&
  openssl x509 -req -in "$work/$1.csr" -CA "$CA/testca.pem" -CAkey "$CA/testca.key" \
    -set_serial "0x$(openssl rand -hex 8)" -days 2 -extfile "$work/$1.ext" -out "$work/$1.pem" 2>/dev/null
}
check "setup: upstream certificates for web.egress.test and api.egress.test" \
  bash -c "$(declare -f mkleaf); work='$work' CA='$CA'; mkleaf web web.egress.test && mkleaf api api.egress.test"
spki() { openssl x509 -in "$1" -pubkey -noout | openssl pkey -pubin -outform der | sha256sum | cut -d' ' -f1; }
WEB_SPKI=$(spki "$work/web.pem")

QT_DNSMASQ_ARGS=(--address=/egress.test/$UP)
qt_start_ready_image() {
  check "setup: test namespace with a tap device and dnsmasq" qt_setup ||
    bail "could not set up the test namespace"
  check "setup: $UP on the namespace's side (the guest's gateway routes to it)" \
    ip -n "$QT_NS" addr add "$UP/32" dev lo
  check "setup: QEMU starts on $egimage" qt_boot "$egimage" || bail "QEMU did not start"
}
qt_start_ready_image
(exec ip netns exec "$QT_NS" env PYTHONPATH="$top/tests/host" python3 "$eg/upstreams.py" "$UP" "$work") \
  2> "$work/upstreams.err" &
UPS_PID=$!
NS=$QT_NS
up=
for _ in $(seq 50); do
  inns bash -c "exec 3<>/dev/tcp/$UP/7000 && exec 4<>/dev/tcp/$UP/8445" 2>/dev/null && up=1 && break
  sleep 0.1
done
check "setup: the upstreams listen on $UP (8443, 8444, 8445, 9443, 7000)" [ -n "$up" ]
if qt_wait_ready "${QT_TIMEOUT:-180}"; then
  ok "guest boots to the ready line ($QT_ACCEL, $QT_BOOT_MS ms)"
else
  nok "guest boots to the ready line"; done_testing; exit 1
fi
ADDR=$QT_ADDR PORT=8080

# --- the functions ------------------------------------------------------------------
body=$(fn_deploy_body egress-py python "$eg/fn_egress.py" \
  '{"egress": ["web.egress.test", "api.egress.test", "echo.egress.test"]}') || bail "no body"
fn_api_starting 120 POST /v1/functions "$body"
expect "deploy egress-py (python; declares web, api, echo)" 201 '.id == "egress-py"'
body=$(fn_deploy_body egress-node node "$eg/fn_egress.mjs" '{"egress": ["web.egress.test"]}') || bail "no body"
fn_api POST /v1/functions "$body"
expect "deploy egress-node (node; declares web)" 201 '.id == "egress-node"'
body=$(fn_deploy_body egress-native native "$top/build/escape/fn_egress" \
  '{"egress": ["web.egress.test", "echo.egress.test"]}') || bail "no body"
fn_api POST /v1/functions "$body"
expect "deploy egress-native (build/escape/fn_egress; declares web, echo)" 201 '.id == "egress-native"'
body=$(fn_deploy_body egress-go native "$top/build/escape/fn_egress_go" \
  '{"egress": ["web.egress.test"]}') || bail "no body"
fn_api POST /v1/functions "$body"
expect "deploy egress-go (build/escape/fn_egress_go, a static Go binary; declares web)" 201 '.id == "egress-go"'

# --- the anchors: the image's and the test CA, marked -------------------------------
# (netd has the policy's extra_anchors once it has the policy from sandboxd,
# which a deployment needs: so after the deployments)
info=$(inns curl -s --max-time 30 "$QT_URL/v1/info")
expect_match "/v1/info: local CA, the anchors, one of them a test anchor" "$info" \
  '"tls_origination":\{"local_ca":true,"anchors":[0-9]+,"test_anchors":1,"reason":null\}'
console=$(tr -d '\r' < "$QT_CONSOLE")
expect_match "  and the console: init and netd say so" "$console" \
  "WARNING: the policy's extra_anchors: 1 CA certificates trusted as test anchors"
expect_match "  netd: trust anchors, of which 1 TEST ANCHORS" "$console" 'netd: trust anchors: [0-9]+, of which 1 TEST ANCHORS'

# invoke ID JSON: the function's answer in FN_STATUS, FN_BODY
invoke() {
  printf '%s' "$2" > "$FN_DIR/in.json"
  fn_call POST "/invoke/$1" "$FN_DIR/in.json" -D "$FN_DIR/headers"
  INV=$(sed -n 's/^x-dshield-invocation-id: //Ip' "$FN_DIR/headers" | tr -d '\r')
  diag "$1 $2: $FN_STATUS ${FN_BODY:0:300}"
}

# --- allowed, by name, no proxy settings ---------------------------------------------
invoke egress-py '{"op": "urlopen", "url": "https://web.egress.test:8443/py-urllib?x=1"}'
expect "python urllib.request.urlopen(https://web.egress.test:8443/...): 200, the upstream's body" 200 \
  '.status == 200 and (.body | fromjson | .upstream == "web" and .path == "/py-urllib?x=1" and .host == "web.egress.test:8443")'
INV_URLLIB=$INV
RCPT_URLLIB=$(sed -n 's/^x-dshield-receipt: //Ip' "$FN_DIR/headers" | tr -d '\r')
invoke egress-py '{"op": "requests", "url": "https://web.egress.test:8443/py-requests"}'
expect "python requests.get(https://web.egress.test:8443/...), the layer's requests: 200, the upstream's body" 200 \
  '.status == 200 and (.body | fromjson | .path == "/py-requests")'
invoke egress-py '{"op": "httpclient", "host": "web.egress.test", "port": 8443, "path": "/py-httpclient"}'
expect "python http.client.HTTPSConnection: 200, the upstream's body" 200 \
  '.status == 200 and (.body | fromjson | .path == "/py-httpclient")'
invoke egress-py '{"op": "resolve", "name": "web.egress.test"}'
expect "  the sandbox's DNS gives web.egress.test a fake address in 127.64.0.0/10" 200 \
  '.addrs | length == 1 and (.[0] | test("^127\\.(6[4-9]|[7-9][0-9]|1[01][0-9]|12[0-7])\\."))'
invoke egress-node '{"url": "https://web.egress.test:8443"}'
expect "node fetch(): 200, the upstream's body" 200 \
  '.fetch.status == 200 and (.fetch.body | fromjson | .path == "/node-fetch")'
expect "node https.get(): 200, netd's leaf from the local CA, the upstream's body" 200 \
  '.https.status == 200 and (.https.issuer | test("^dshield local CA [0-9a-f]{8}$")) and (.https.body | fromjson | .path == "/node-https")'
invoke egress-go '{"url": "https://web.egress.test:8443/go-get"}'
expect "Go net/http (static, its own resolver and TLS): 200 over TLS 1.2, http/1.1 by ALPN, netd's leaf, the upstream's body" 200 \
  '.status == [200] and .tls == "TLS 1.2" and .alpn == "http/1.1" and (.issuer | test("^dshield local CA [0-9a-f]{8}$")) and (.body | fromjson | .path == "/go-get")'
invoke egress-py '{"op": "dnsraw", "name": "web.egress.test", "tcp": true}'
expect "  and over TCP (RFC 7766): NOERROR, one address" 200 '.id == 16962 and .rcode == 0 and .ancount == 1'
invoke egress-native '{"host": "echo.egress.test", "port": "7000", "msg": "native-echo-1"}'
expect "native (static musl): getaddrinfo + TCP to the passthrough port: the echo" 200 \
  '.reply == "native-echo-1" and .sent == 13 and (.addr | startswith("127."))'

# --- refused ------------------------------------------------------------------------
invoke egress-py '{"op": "dnsraw", "name": "other.egress.test"}'
expect "a name no rule allows: the sandbox's DNS answers REFUSED (rcode 5)" 200 '.id == 16962 and .rcode == 5 and .ancount == 0'
invoke egress-py '{"op": "dnsraw", "name": "other.egress.test", "tcp": true}'
expect "  over TCP too" 200 '.id == 16962 and .rcode == 5 and .ancount == 0'
invoke egress-py '{"op": "urlopen", "url": "https://other.egress.test:8443/refused"}'
expect "  urlopen of it fails to resolve (gaierror)" 200 '.error == "gaierror"'
invoke egress-py '{"op": "connect", "target": "other.egress.test:8443"}'
expect "  CONNECT other.egress.test:8443 through 127.0.0.1:3128: 403 no_rule" 200 \
  '.reply | test("^HTTP/1.1 403 Forbidden") and test("no_rule")'
invoke egress-native '{"host": "other.egress.test", "port": "7000", "msg": "native-refused-2"}'
expect "  the native function cannot resolve it" 200 '.stage == "resolve"'
invoke egress-native '{"host": "127.127.255.254", "port": "8443", "msg": "native-unknown-4"}'
# (netd's reset can come before the function's connect() returns: when it
# was not scheduled between the handshake and the reset, connect says it)
RESET='.stage == "recv" or .stage == "send" or (.stage == "connect" and .error == "Connection reset by peer")'
expect "a fake-range address the sandbox's DNS never gave (127.127.255.254:8443): reset" 200 "$RESET"
invoke egress-py '{"op": "urlopen", "url": "https://web.egress.test:7000/wrong-port"}'
expect "an allowed host on another rule's port (7000): reset" 200 '.errno == "ECONNRESET" or .error == "ConnectionResetError" or .error == "RemoteDisconnected"'
invoke egress-native '{"host": "web.egress.test", "port": "7000", "msg": "native-wrongport-3"}'
expect "  the native function's connection too" 200 "$RESET"
invoke egress-py '{"op": "urlopen", "url": "https://web.egress.test:9443/no-listener"}'
expect "an allowed host on a port no rule names (9443): connection refused" 200 '.errno == "ECONNREFUSED"'
invoke egress-py '{"op": "connect", "target": "198.18.0.1:7000"}'
expect "an IP literal through CONNECT (198.18.0.1:7000): 403 ip_literal" 200 \
  '.reply | test("^HTTP/1.1 403 Forbidden") and test("ip_literal")'
invoke egress-py '{"op": "connect", "target": "3323068417:7000"}'
expect "  the same address as one decimal number: 403 ip_literal, read as 198.18.0.1" 200 \
  '.reply | test("^HTTP/1.1 403 Forbidden") and test("ip_literal: the address 198\\.18\\.0\\.1 ")'
invoke egress-py '{"op": "urlopen", "url": "https://10.77.0.1:8443/literal"}'
expect "  urlopen of https://10.77.0.1:8443/: no route out of the sandbox" 200 \
  '.errno == "ENETUNREACH" or .errno == "EHOSTUNREACH"'

# --- strip and inject --------------------------------------------------------------
KEY=egress-qemu-secret-5309
fn_api POST /api/secrets "" -H 'Content-Type: application/json' \
  --data-binary "{\"name\": \"EGRESS_TEST_KEY\", \"value\": \"Bearer $KEY\"}"
expect "the operator stores EGRESS_TEST_KEY" 200 '.name == "EGRESS_TEST_KEY"'
invoke egress-py '{"op": "inject", "host": "api.egress.test", "port": 8444, "path": "/v1/data"}'
expect "python GET https://api.egress.test:8444/v1/data with its own Authorization and Cookie: 200" 200 \
  '.status == 200 and (.body | fromjson | .path == "/v1/data" and .authorization == true and .cookie == null)'
printf '%s' "$FN_BODY" > "$work/inject.out"
check "  the secret is nowhere in the function's answer (its environment included)" \
  bash -c "! grep -q '$KEY' '$work/inject.out' && jq -e '.env | length > 0' '$work/inject.out' >/dev/null"
jq -c 'select(.upstream == "api")' "$work/upstreams.log" > "$work/api.log" 2>/dev/null
check "  the upstream got one request, with netd's Authorization once" \
  bash -c "[ \$(wc -l < '$work/api.log') = 1 ] && [ \"\$(jq -c '[.headers[] | select(.[0] | ascii_downcase == \"authorization\") | .[1]]' '$work/api.log')\" = '[\"Bearer $KEY\"]' ]"
check "  and neither the function's Authorization nor its Cookie" \
  bash -c "! grep -Eiq 'fn-own-value|cookie' '$work/api.log'"
invoke egress-py '{"op": "inject", "host": "api.egress.test", "port": 8444, "path": "/v2/data"}'
expect "  a path the rule does not allow (/v2/data): 403 path_not_allowed" 200 \
  '.status == 403 and (.body | fromjson | .error == "path_not_allowed")'

# --- a function's connection limit --------------------------------------------------
# limits.egress_conns 2: a third connection open at once is reset as netd
# takes it (an egress_refused record says why); once the function closed
# them, a new one goes again
body=$(fn_deploy_body egress-conns python "$eg/fn_egress.py" \
  '{"egress": ["web.egress.test"], "limits": {"egress_conns": 2}}') || bail "no body"
fn_api POST /v1/functions "$body"
expect "deploy egress-conns (python; declares web; limits.egress_conns 2)" 201 '.id == "egress-conns"'
invoke egress-conns '{"op": "hold", "n": 3, "host": "web.egress.test", "port": 8443, "path": "/conns"}'
expect "  three connections open at once: two answered 200, the third refused" 200 \
  '[.out[0], .out[1], (.out[2] | type)] == [200, 200, "string"]'
invoke egress-conns '{"op": "hold", "n": 1, "host": "web.egress.test", "port": 8443, "path": "/conns-again"}'
expect "  after they closed, a new one is answered again" 200 '.out == [200]'

# --- what the upstreams saw ---------------------------------------------------------
check "the upstreams never saw a refused request or connection" \
  bash -c "! grep -Eq 'refused|wrong-port|no-listener|literal|native-refused|native-wrongport|native-unknown|/v2/data|\"web-9443\"' '$work/upstreams.log'"
check "web saw egress-conns' GETs on the two connections it allowed and on the later one, not the third's" \
  [ "$(jq -r 'select(.upstream == "web" and (.path | startswith("/conns"))) | .path' "$work/upstreams.log" | sort | tr '\n' ' ')" = \
    "/conns-0 /conns-1 /conns-again-0 " ]
check "the echo saw the native function's bytes, from the guest ($QT_ADDR)" \
  bash -c "jq -se 'any(.[]; .upstream == \"echo\" and .data == \"native-echo-1\" and .peer == \"$QT_ADDR\")' '$work/upstreams.log' >/dev/null"

# netd's own sessions with an upstream (docs/TLS.md, "Resumption toward
# upstreams"): s_server ends each connection after its answer, so each GET
# is a new upstream connection; the first a full handshake, the next two
# resume its session
up0=$(inns curl -s --max-time 30 "$QT_URL/v1/info" | jq -c '.egress.upstream_tls')
invoke egress-conns '{"op": "handshakes", "url": "https://web.egress.test:8445/handshakes", "n": 3}'
expect "three connections in turn to s_server (web.egress.test:8445): New, then Reused twice" 200 \
  '.out == ["New", "Reused", "Reused"]'
check "  /v1/info counts netd's upstream handshakes: 1 full, 2 resumed" \
  [ "$(inns curl -s --max-time 30 "$QT_URL/v1/info" | jq --argjson u0 "$up0" '"\(.egress.upstream_tls.full - $u0.full) \(.egress.upstream_tls.resumed - $u0.resumed)"')" = '"1 2"' ]

# --- the log -------------------------------------------------------------------------
att=$work/att.json
check "GET /v1/attestation" \
  [ "$(inns curl -s --max-time 60 -o "$att" -w '%{http_code}' "$QT_URL/v1/attestation?nonce=08")" = 200 ]
inns curl -s --max-time 30 "$QT_URL/v1/log/checkpoint?fresh=1" > /dev/null
out=$(inns "$DSHIELD" log verify "$QT_URL" --attestation "$att" --allow-sim --no-collateral --json 2>"$work/verify.err"); rc=$?
printf '%s' "$out" > "$work/log.json"
check "dshield log verify of the VM's log: exit 0, ok" [ "$rc" -eq 0 -a "$(jq .ok "$work/log.json" 2>/dev/null)" = true ]
[ "$rc" -eq 0 ] || diag "$(head -c 600 "$work/verify.err")"
# n FILTER: how many log entries pass FILTER
n() { jq "[.entries[] | select(. != null) | $1] | length" "$work/log.json"; }
check "the three answers of s_server (web.egress.test:8445): each record with web's key, resumed or not" \
  [ "$(jq -r '[.entries[] | select(. != null and .type == "egress" and .function == "egress-conns" and .port == 8445 and (.reason | startswith("response "))) | .spki] | (length), (unique | .[])' "$work/log.json" | tr '\n' ' ')" = "3 $WEB_SPKI " ]
check "  their completion records: a full handshake, then two that say they resumed a session" \
  [ "$(jq -r '[.entries[] | select(. != null and .type == "egress" and .function == "egress-conns" and .port == 8445 and (.reason | startswith("completed: "))) | .reason | test("; the upstream.s TLS resumed a session whose full handshake checked its key [0-9]+ s before$")] | map(tostring) | join(" ")' "$work/log.json")" = "false true true" ]
web_allow='select(.type == "egress" and .decision == "allow" and .host == "web.egress.test" and .port == 8443 and .scheme == "tls" and .addr == "'$UP'" and .rule == "web.egress.test" and (.reason | startswith("originate: ") and test("test anchors")))'
check "egress allow records for web.egress.test:8443 (tls, $UP, rule, test anchors): python 3, node 2, go 1" \
  [ "$(n "$web_allow | select(.function == \"egress-py\")")$(n "$web_allow | select(.function == \"egress-node\")")$(n "$web_allow | select(.function == \"egress-go\")")" = 321 ]
check "  their completion records carry the upstream's SPKI SHA-256 and bytes both ways" \
  [ "$(n 'select(.type == "egress" and .function != "egress-conns" and .host == "web.egress.test" and (.reason | startswith("completed")) and .spki == "'$WEB_SPKI'" and .bytes_up > 0 and .bytes_down > 0)')" = 6 ]
check "egress allow record for the native echo (passthrough: tcp, $UP, not verified), and its completion (13 bytes each way)" \
  [ "$(n 'select(.type == "egress" and .function == "egress-native" and .host == "echo.egress.test" and .port == 7000 and .scheme == "tcp" and .addr == "'$UP'" and .decision == "allow" and .reason == "passthrough: the destination'"'"'s identity is not verified")')$(n 'select(.type == "egress" and .function == "egress-native" and .host == "echo.egress.test" and (.reason | startswith("completed")) and .bytes_up == 13 and .bytes_down == 13)')" = 11 ]
# Each request's record: a connection's first request is in its allow
# record (method, path), a later one in a "request N" record; every answer
# in a "response N" record with its status (docs/EGRESS.md "HTTP requests").
check "an answer record (GET, the path, status 200) for each request that went to web.egress.test" \
  [ "$(jq -c '[.entries[] | select(. != null and .type == "egress" and .function != "egress-conns" and .host == "web.egress.test" and (.reason | startswith("response ")) and .status == 200) | [.function, .method, .path]] | sort' "$work/log.json")" = \
    '[["egress-go","GET","/go-get"],["egress-node","GET","/node-fetch"],["egress-node","GET","/node-https"],["egress-py","GET","/py-httpclient"],["egress-py","GET","/py-requests"],["egress-py","GET","/py-urllib?x=1"]]' ]
# netd names the invocation in flight when the connection came (one at a
# time here: the test invokes in turn; docs/EGRESS.md "Which invocation").
check "the urllib request's records name its invocation (X-DShield-Invocation-Id ${INV_URLLIB:-missing})" \
  [ -n "$INV_URLLIB" -a "$(n 'select(.type == "egress" and .path == "/py-urllib?x=1" and .invocation == "'"$INV_URLLIB"'")')" -ge 2 ]
# its receipt lists those records (the ones logged before its invocation
# entry) and the entry, each proven in the VM's log
printf '%s\n' "$RCPT_URLLIB" > "$work/urllib.receipt"
out=$(inns "$DSHIELD" receipt verify "$work/urllib.receipt" --attestation "$att" --allow-sim \
  --no-collateral --url "$QT_URL" 2>&1); rc=$?
check "  its receipt (X-DShield-Receipt): dshield receipt verify --url, exit 0" [ "$rc" -eq 0 ]
[ "$rc" -eq 0 ] || diag "$out"
expect_match "  listing its egress records before its entry" "$out" 'receipt: ([2-9]|1[0-6]) record\(s\)'
expect_match "  each proven in the VM's log" "$out" 'log: entry [0-9]+ \(egress\) is in the log'
check "a request record for api.egress.test: GET /v1/data (the allow record or a request N), and its answer's" \
  [ "$(n 'select(.type == "egress" and .function == "egress-py" and .host == "api.egress.test" and .method == "GET" and .path == "/v1/data" and (.reason | startswith("request ") or startswith("originate: ")))')" = 1 \
    -a "$(n 'select(.type == "egress" and .function == "egress-py" and .host == "api.egress.test" and .path == "/v1/data" and (.reason | startswith("response ")) and .status != null)')" = 1 ]
check "dns_refused for other.egress.test (egress-py's raw queries, UDP and TCP, and urlopen, the native getaddrinfo)" \
  [ "$(n 'select(.type == "dns_refused" and .function == "egress-py" and .qname == "other.egress.test" and .qtype == 1)')" -ge 3 -a \
    "$(n 'select(.type == "dns_refused" and .function == "egress-native" and .qname == "other.egress.test")')" -ge 1 ]
refused() { n "select(.type == \"egress_refused\" and .decision == \"deny\" and $1)"; }
check "egress_refused no_rule: CONNECT other.egress.test:8443" \
  [ "$(refused '.function == "egress-py" and .host == "other.egress.test" and .port == 8443 and (.reason | startswith("no_rule"))')" = 1 ]
check "egress_refused port_not_allowed: web.egress.test:7000, python and native" \
  [ "$(refused '.host == "web.egress.test" and .port == 7000 and (.reason | startswith("port_not_allowed"))')" = 2 ]
check "egress_refused unknown_address: the native function's 127.127.255.254:8443" \
  [ "$(refused '.function == "egress-native" and .port == 8443 and (.reason | startswith("unknown_address"))')" = 1 ]
check "egress_refused ip_literal: 198.18.0.1:7000, dotted and decimal" \
  [ "$(refused '.function == "egress-py" and .port == 7000 and (.reason | startswith("ip_literal: the address 198.18.0.1 "))')" = 2 ]
check "egress_refused path_not_allowed: GET /v2/data" \
  [ "$(refused '.host == "api.egress.test" and .method == "GET" and .path == "/v2/data" and (.reason | startswith("path_not_allowed"))')" = 1 ]
check "egress-conns: its three allowed connections' records, and one egress_refused conn_limit for the third at once" \
  [ "$(n 'select(.type == "egress" and .function == "egress-conns" and .port == 8443 and .decision == "allow" and (.reason | startswith("originate: ")))')$(refused '.function == "egress-conns" and .reason == "conn_limit: the function has 2 connections open already (limits.egress_conns)"')" = 31 ]
check "nothing was let through to 9443 (no listener: no allow record)" \
  [ "$(n 'select(.type == "egress" and .port == 9443)')" = 0 ]
check "  and the kernel's refusal of web.egress.test:9443 is recorded from its reset: egress_refused port_not_allowed" \
  [ "$(refused '.function == "egress-py" and .host == "web.egress.test" and .port == 9443 and .scheme == "tcp" and (.reason | startswith("port_not_allowed")) and (.reason | endswith("; the function'"'"'s kernel refused the connection (nothing listens on that port in its namespace)"))')" = 1 ]
# /v1/info's egress counters, read after the log: what ended
# connections moved is summed from the same completion records (a
# connection that ends between the two reads only adds to the counters)
info=$(inns curl -s --max-time 30 "$QT_URL/v1/info")
sum() { jq "[.entries[] | select(. != null and .type == \"egress\" and (.reason | startswith(\"completed\"))) | .$1] | add // 0" "$work/log.json"; }
up=$(sum bytes_up) down=$(sum bytes_down)
info_has() { jq -e "$@" <<<"$info" >/dev/null; }
check "/v1/info egress: bytes up and down at least the completion records' sums ($up, $down), which are not 0" \
  info_has --argjson up "$up" --argjson down "$down" \
    '.egress.bytes.up >= $up and .egress.bytes.down >= $down and $up > 0 and $down > 0'
check "  connections accepted at least the allow and refused records, refused at least the refused records (the proxy's: not DNS over TCP's, not the kernel's)" \
  info_has --argjson allow "$(n 'select(.type == "egress" and .decision == "allow" and (.reason | startswith("originate: ") or startswith("passthrough")))')" \
    --argjson refused "$(n 'select(.type == "egress_refused" and (.reason | startswith("dns_tcp") | not) and (.reason | test("the function.s kernel refused") | not))')" \
    '.egress.accepted >= $allow + $refused and .egress.refused.total >= $refused and $refused > 0 and .egress.relayed >= 5'
diag "/v1/info egress: $(jq -c .egress <<<"$info")"

# --- a download through TLS origination (after the log's checks: its
# records are not counted there) ---------------------------------------------------
BULK=$((16 << 20))
want_sha=$(python3 -c 'import hashlib, sys; n = int(sys.argv[1]); print(hashlib.sha256((bytes(range(256)) * 256 * (n // 65536 + 1))[:n]).hexdigest())' "$BULK")
invoke egress-conns "{\"op\": \"download\", \"url\": \"https://web.egress.test:8443/bulk/$BULK\"}"
expect "a $((BULK >> 20)) MiB download from web.egress.test: every byte, in order" 200 \
  ".status == 200 and .n == $BULK and .sha == \"$want_sha\""
link=$(inns curl -s --max-time 30 "$QT_URL/v1/info" | jq -c .link)
diag "/v1/info link after it: $link"
check "  the guest kernel's GRO merged its segments, and netd took such super-frames whole" \
  jq -e '.super_frames.whole > 0' <<<"$link"
# an upload the same way: netd sends lwIP's segments to the upstream
# merged into GSO frames (docs/NETWORK.md, "Transmit"), which virtio-net
# passes to the host whole or the guest kernel cuts
gso0=$(jq -r '.tx_gso_frames' <<<"$link")
invoke egress-conns "{\"op\": \"upload\", \"url\": \"https://web.egress.test:8443/sink\", \"n\": $BULK}"
expect "a $((BULK >> 20)) MiB upload to web.egress.test: every byte, in order" 200 \
  ".status == 200 and (.answer | fromjson | .n == $BULK and .sha == \"$want_sha\")"
link=$(inns curl -s --max-time 30 "$QT_URL/v1/info" | jq -c .link)
diag "/v1/info link after it: $link"
check "  netd sent its segments merged into GSO frames" \
  jq -e --argjson g0 "$gso0" '.tx_gso_frames > $g0 and .dropped.tx == 0' <<<"$link"
# TLS session resumption with netd (docs/TLS.md, "Session resumption"):
# the second and third connections resume the first one's session; the
# same session offered on a connection to web.egress.test's address under
# the SNI api.egress.test is refused when the handshake ends, before its
# request is read
resumed0=$(inns curl -s --max-time 30 "$QT_URL/v1/info" | jq '.egress.tls_resumed')
invoke egress-conns '{"op": "resume", "host": "web.egress.test", "port": 8443, "path": "/resume", "sni": "api.egress.test"}'
expect "three TLS 1.2 connections to web.egress.test, each 200: the first a full handshake, the next two resumed" 200 \
  '[.out[] | "\(.status) \(.reused)"] == ["200 false", "200 true", "200 true"]'
expect "  the session offered under the SNI api.egress.test: no answer" 200 '.other.status == 0'
check "  and that request reached no upstream" bash -c "! grep -q 'resume-other-sni' '$work/upstreams.log'"
check "  /v1/info counts the two resumed" \
  [ "$(inns curl -s --max-time 30 "$QT_URL/v1/info" | jq --argjson r0 "$resumed0" '.egress.tls_resumed - $r0')" = 2 ]
diag "one record: $(jq -c '[.entries[] | select(. != null and .type == "egress")][0]' "$work/log.json")"
diag "egress records: $(jq -c '[.entries[] | select(. != null and (.type == "egress" or .type == "egress_refused" or .type == "dns_refused")) | {type, function, host, qname, port, method, path, scheme, addr, decision, reason: (.reason // "" | .[0:40])}]' "$work/log.json" | head -c 3000)"

console=$(tr -d '\r' < "$QT_CONSOLE")
if grep -qE 'Kernel panic|Oops|BUG:|Call Trace' <<<"$console"; then nok "no kernel oops or trace"
else ok "no kernel oops or trace"; fi
check "init was never fatal; netd started once" \
  bash -c "! grep -q FATAL <<<\"\$1\" && [ \$(grep -cE 'dshield: init: netd started \\(pid' <<<\"\$1\") = 1 ]" _ "$console"
kill "$UPS_PID" 2>/dev/null
qt_teardown
done_testing
