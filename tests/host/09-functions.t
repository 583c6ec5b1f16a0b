#!/usr/bin/env bash
# Host mode, functions end to end: netd's routes (net/api_fn.c) with the
# real sandboxd and the runtime layers from `make layer-trees`
# (build/layers): the seed service's README quick start exactly as it is
# written (curl -d, no Content-Type), deploy / invoke / update / delete
# for python, node and native, tokens and their scopes, secrets visible
# only to the functions that declare them, each limit (time, memory,
# processes, output) refused with its code and followed by a successful
# invocation and a healthy /healthz, and netd and dshield-init never
# restarted by any of it. Receipts (docs/LOG.md): an invocation's
# X-DShield-Receipt verified by `dshield receipt verify` against its exact
# input and output bytes, the log key of /v1/attestation and the log
# itself (--url); a tampered output refused; an error's reply carries
# one too; and at the end `dshield log verify` of the whole log, with the
# function (deploy, update, delete) and invocation entries of each id.
#
# Skips when this tree has no sandboxd role (bin/dshield-init.c's role
# table) or build/layers is missing.
. "$(dirname "$0")/lib.sh" || { echo "Bail out! cannot load lib.sh"; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "1..0 # skip host tests need root (network namespaces)"; exit 0; }
grep -q 'ROLE_SANDBOXD' "$TOP/bin/dshield-init.c" 2>/dev/null ||
  { echo "1..0 # skip no sandboxd role in bin/dshield-init.c (the functions' role)"; exit 0; }
for l in python node native; do
  [ -d "$TOP/build/layers/$l" ] || { echo "1..0 # skip no build/layers/$l: run make layer-trees"; exit 0; }
done
command -v jq >/dev/null || bail "jq is needed"
command -v curl >/dev/null || bail "curl is needed"
[ ! -e /dev/tdx_guest ] || { echo "1..0 # skip this host has /dev/tdx_guest (the sim is never used there)"; exit 0; }
ECHO=$TOP/build/escape/fn_echo
[ -x "$ECHO" ] || bail "no $ECHO: run make first"
DSHIELD=${DSHIELD:-$TOP/build/dshield}
[ -x "$DSHIELD" ] || bail "no $DSHIELD: run make first"

# The example policy (its admin token is the public dshield-example-admin-token;
# public_invoke true, as the seed's README quick start needs); sandboxd
# gets it and the layer trees through init's host options.
host_start static --allow-sim --policy "$TOP/examples/policy.json" --layers "$TOP/build/layers"

sbx=
for _ in $(seq 50); do sbx=$(role_pid sandboxd); [ -n "$sbx" ] && break; sleep 0.1; done
check "sandboxd runs" [ -n "$sbx" ]
[ -n "$sbx" ] || { diag "init's log:"; sed 's/^/#   /' "$LOG"; bail "no sandboxd"; }
# it serves once its runtimes are probed (each interpreter run once)
for _ in $(seq 200); do grep -q 'init: sandboxd: serving' "$LOG" && break; sleep 0.1; done
expect_match "sandboxd serves python, node and native" "$(cat "$LOG")" \
  'init: sandboxd: serving \(0 functions; runtimes available: native node python; '
# No --cgroup here (the host's cgroup2 has no controllers to delegate):
# memory, cpu and pids cgroup limits cannot be enforced, and sandboxd
# must say so rather than pretend (the VM enforces them: qemu-test/t/05).
expect_match "host mode reports its cgroup limits as NOT enforced" "$(cat "$LOG")" \
  'init: sandboxd: serving \(.*limits NOT enforced\)'

netd0=$(netd_pid)
AUDITOR_URL=http://$ADDR:$PORT
ROOT_KEY=dshield-example-admin-token
b64() { base64 -w0 "$@"; }

# api METHOD PATH [BODY] [TOKEN]: prints "STATUS BODY" (the body on one line).
api() {
  # (args in a local of its own: bash expands an array's words before the
  # other assignments of the same `local`)
  local m=$1 p=$2 body=${3-} tok=${4-$ROOT_KEY}
  local args=(-s --max-time 30 -o "$STATE/body" -w '%{http_code}' -X "$m")
  [ -n "$tok" ] && args+=(-H "Authorization: Bearer $tok")
  [ -n "$body" ] && args+=(-H 'Content-Type: application/json' --data-binary "$body")
  local code
  code=$(inns curl "${args[@]}" "$AUDITOR_URL$p")
  printf '%s %s' "$code" "$(tr '\n' ' ' < "$STATE/body")"
}
# The deployment body of function ID in RUNTIME from a code file; $4: extra JSON members.
deploy_body() { printf '{"id":"%s","runtime":"%s","code":"%s"%s}' "$1" "$2" "$(b64 "$3")" "${4:+,$4}"; }
healthy() { [ "$(api GET /healthz "" "")" = '200 {"status":"ok"}' ]; }

# --- the seed quick start, verbatim (its <base64> filled in) -----------------------
cat > "$STATE/my_func.py" <<'EOF'
import os
def handler(event):
    return {"statusCode": 200, "headers": {"X-Fn": "my-func"},
            "body": {"got": event["body"], "method": event["method"], "path": event["path"],
                     "has_auth": "authorization" in event["headers"]}}
EOF
code=$(b64 "$STATE/my_func.py")
out=$(inns curl -s -i -X POST $AUDITOR_URL/api/secrets \
  -H "Authorization: Bearer $ROOT_KEY" \
  -d '{"name": "API_KEY", "value": "sk-..."}')
expect_match "quick start 1: POST /api/secrets is 200" "$out" '^HTTP/1\.1 200'
expect_match "  the seed's shape: encryptedValue [ENCRYPTED], never the value" "$out" '"encryptedValue":"\[ENCRYPTED\]"'
check "  the value is not in the answer" bash -c "! grep -q 'sk-\.\.\.' <<< '$out'"
out=$(inns curl -s -i -X POST $AUDITOR_URL/api/functions \
  -H "Authorization: Bearer $ROOT_KEY" \
  -d '{"id": "my-func", "runtime": "python", "code": "'"$code"'", "handler": "handler"}')
expect_match "quick start 2: POST /api/functions is 201" "$out" '^HTTP/1\.1 201'
check "  the code is never returned" bash -c "! grep -q '$code' <<< '$out'"
out=$(inns curl -s -i -X POST $AUDITOR_URL/invoke/my-func -d '{"input": "data"}')
expect_match "quick start 3: POST /invoke/my-func is the function's 200" "$out" '^HTTP/1\.1 200'
expect_match "  its body: the parsed JSON, method, path" "$out" '"got": ?\{"input": ?"data"\}.*"method": ?"POST".*"path": ?"/invoke/my-func"'
expect_match "  its header" "$out" 'X-Fn: my-func'
expect_match "  X-DShield-Invocation-Id (a UUID v4)" "$out" 'X-DShield-Invocation-Id: [0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-'
expect_match "  X-DShield-Duration-Ms" "$out" 'X-DShield-Duration-Ms: [0-9]+'
out=$(inns curl -s -i $AUDITOR_URL/api/logs/my-func -H "Authorization: Bearer $ROOT_KEY")
expect_match "quick start 4: GET /api/logs/my-func is 200 (the seed answered 404)" "$out" '^HTTP/1\.1 200'
out=$(inns curl -s -i -X POST $AUDITOR_URL/invoke/my-func -H "Authorization: Bearer $ROOT_KEY" -d '{}')
expect_match "the caller's Authorization never reaches the function" "$out" '"has_auth": ?false'

# --- receipts: the reply's X-DShield-Receipt, verified -----------------------------
att=$STATE/att.json
check "GET /v1/attestation (the log key, sim)" \
  [ "$(inns curl -s --max-time 20 -o "$att" -w '%{http_code}' "$AUDITOR_URL/v1/attestation?nonce=09")" = 200 ]
printf '%s' '{"input": "receipt"}' > "$STATE/r.in"
code=$(inns curl -s --max-time 30 -D "$STATE/r.hdr" -o "$STATE/r.out" -w '%{http_code}' -X POST \
  -H 'Content-Type: application/json' --data-binary @"$STATE/r.in" "$AUDITOR_URL/invoke/my-func")
hdr_of() { sed -n "s/^$1: //Ip" "$STATE/r.hdr" | tr -d '\r'; }
rcpt=$(hdr_of X-DShield-Receipt) inv=$(hdr_of X-DShield-Invocation-Id) idx=$(hdr_of X-DShield-Log-Index)
check "an invocation: 200 with X-DShield-Receipt" [ "$code" = 200 -a -n "$rcpt" ]
check "  and X-DShield-Log-Index" bash -c "[[ '$idx' =~ ^[0-9]+\$ ]]"
printf '%s\n' "$rcpt" > "$STATE/r.receipt"   # RECEIPT is a file: the header's value
# the checkpoint that covers the entry is signed within a second: retry --url a little
for _ in $(seq 20); do
  out=$(inns "$DSHIELD" receipt verify "$STATE/r.receipt" --input "$STATE/r.in" --output "$STATE/r.out" \
    --attestation "$att" --allow-sim --no-collateral --url "$AUDITOR_URL" 2>&1); rc=$?
  [ "$rc" -eq 0 ] && break
  sleep 0.3
done
check "dshield receipt verify --input --output --attestation --url: exit 0" [ "$rc" -eq 0 ]
expect_match "  result: OK" "$out" 'result: OK'
expect_match "  the entry at the header's index is in the log" "$out" "log: entry $idx \\(invocation\\)"
[ "$rc" -eq 0 ] || diag "$out"
cp "$STATE/r.out" "$STATE/r.bad" && printf ' ' >> "$STATE/r.bad"
out=$(inns "$DSHIELD" receipt verify "$STATE/r.receipt" --input "$STATE/r.in" --output "$STATE/r.bad" \
  --attestation "$att" --allow-sim --no-collateral 2>&1); rc=$?
check "a tampered output file: exit 1" [ "$rc" -eq 1 ]
expect_match "  FAIL naming the output" "$out" 'FAIL: .*output'
out=$(inns "$DSHIELD" receipt verify "$STATE/r.receipt" --input "$STATE/r.out" --output "$STATE/r.out" \
  --attestation "$att" --allow-sim --no-collateral 2>&1); rc=$?
check "the output given as input: exit 1" [ "$rc" -eq 1 ]

expect_match "GET /health: the seed's shape" "$(api GET /health "" "")" '^200 \{"status":"healthy","uptime":[0-9]+\}'
expect_match "GET /functions: the public list" "$(api GET /functions "" "")" '^200 .*"id":"my-func"'

# --- python, node, native: deploy, invoke, update, delete --------------------------
cat > "$STATE/a.py" <<'EOF'
def handler(req):
    return {"lang": "python", "v": 1, "q": req["query"]}
EOF
cat > "$STATE/a2.py" <<'EOF'
def handler(req):
    return {"lang": "python", "v": 2}
EOF
cat > "$STATE/a.mjs" <<'EOF'
export async function handler(req) { return { lang: "node", v: 1, body: req.body }; }
EOF
cat > "$STATE/a2.mjs" <<'EOF'
export async function handler(req) { return { statusCode: 202, headers: {}, body: { lang: "node", v: 2 } }; }
EOF
for rt in python node native; do
  case $rt in
    python) f1=$STATE/a.py f2=$STATE/a2.py ;;
    node) f1=$STATE/a.mjs f2=$STATE/a2.mjs ;;
    native) f1=$ECHO f2=$ECHO ;;
  esac
  id=fn-$rt
  expect_match "$rt: POST /v1/functions is 201" "$(api POST /v1/functions "$(deploy_body $id $rt "$f1")")" '^201 '
  expect_match "$rt: deploying it again is 409" "$(api POST /v1/functions "$(deploy_body $id $rt "$f1")")" '^409 '
  r=$(api POST "/v1/functions/$id/invoke?x=1" '{"a":1}')
  case $rt in
    python) expect_match "$rt: invoked" "$r" '^200 \{"lang": ?"python", ?"v": ?1, ?"q": ?\{"x": ?"1"\}\}' ;;
    node) expect_match "$rt: invoked" "$r" '^200 \{"lang":"node","v":1,"body":\{"a":1\}\}' ;;
    native) expect_match "$rt: invoked: stdin to stdout" "$r" '^200 echo:\{"a":1\}' ;;
  esac
  expect_match "$rt: GET shows it, never its code" "$(api GET /v1/functions/$id)" "^200 .*\"runtime\":\"$rt\""
  expect_match "$rt: PUT replaces it" "$(api PUT /v1/functions/$id "$(deploy_body $id $rt "$f2")")" '^200 '
  r=$(api POST "/v1/functions/$id/invoke" '{"a":2}')
  case $rt in
    python) expect_match "$rt: the new code answers" "$r" '^200 \{"lang": ?"python", ?"v": ?2\}' ;;
    node) expect_match "$rt: the new code answers (its own status)" "$r" '^202 \{"lang":"node","v":2\}' ;;
    native) expect_match "$rt: the new code answers" "$r" '^200 echo:\{"a":2\}' ;;
  esac
  expect_match "$rt: DELETE" "$(api DELETE /v1/functions/$id)" '^200 '
  expect_match "$rt: a deleted function is not invocable (404)" "$(api POST /v1/functions/$id/invoke '{}')" '^404 '
done
# warm reuse: the second invocation finds the worker the first one started
cat > "$STATE/count.py" <<'EOF'
n = 0
def handler(req):
    global n
    n += 1
    return {"calls": n}
EOF
cat > "$STATE/count.mjs" <<'EOF'
let n = 0;
export function handler(req) { n += 1; return { calls: n }; }
EOF
for rt in python node; do
  f=$STATE/count.py; [ $rt = node ] && f=$STATE/count.mjs
  expect_match "$rt: deploy a counter" "$(api POST /v1/functions "$(deploy_body count-$rt $rt "$f")")" '^201 '
  expect_match "$rt: first invocation (a new worker)" "$(api POST /v1/functions/count-$rt/invoke '{}')" '^200 \{"calls": ?1\}'
  expect_match "$rt: second invocation: the same warm worker" "$(api POST /v1/functions/count-$rt/invoke '{}')" '^200 \{"calls": ?2\}'
  expect_match "$rt: delete the counter" "$(api DELETE /v1/functions/count-$rt)" '^200 '
done
expect_match "deploy fn-nat (native)" "$(api POST /v1/functions "$(deploy_body fn-nat native "$ECHO")")" '^201 '
expect_match "native: a non-zero exit is 502 naming the status" "$(api POST /v1/functions/fn-nat/invoke 'exit 3')" \
  '^502 .*"code":"worker_crashed".*status 3'
out=$(inns curl -s -i --max-time 30 -X POST -H "Authorization: Bearer $ROOT_KEY" --data-binary 'exit 3' \
  "$AUDITOR_URL/v1/functions/fn-nat/invoke")
expect_match "  that error's reply carries its receipt too" "$out" $'X-DShield-Receipt: [A-Za-z0-9+/=]+\r'

# --- tokens and scopes -------------------------------------------------------------
r=$(api POST /v1/tokens '{"name":"reader","scopes":["functions:read"]}')
expect_match "POST /v1/tokens is 201 with the token, once" "$r" '^201 .*"token":"dshield_[0-9a-f]{64}"'
tok=$(sed -E 's/^[0-9]+ //' <<< "$r" | jq -r .token)
tid=$(sed -E 's/^[0-9]+ //' <<< "$r" | jq -r .id)
expect_match "  it reads functions" "$(api GET /v1/functions "" "$tok")" '^200 '
expect_match "  it cannot deploy (403)" "$(api POST /v1/functions "$(deploy_body x python "$STATE/a.py")" "$tok")" '^403 '
expect_match "  it cannot read secrets (403)" "$(api GET /v1/secrets "" "$tok")" '^403 '
expect_match "no token: 401" "$(api GET /v1/functions "" "")" '^401 '
expect_match "a wrong token: 401" "$(api GET /v1/functions "" dshield_0000000000000000000000000000000000000000000000000000000000000000)" '^401 '
expect_match "GET /v1/tokens lists it without its hash" "$(api GET /v1/tokens)" "^200 .*\"id\":\"$tid\""
check "  and without the token" bash -c "! grep -q '$tok' <<< '$(api GET /v1/tokens)'"
expect_match "DELETE /v1/tokens/$tid" "$(api DELETE /v1/tokens/$tid)" '^200 '
expect_match "  the token no longer works (401)" "$(api GET /v1/functions "" "$tok")" '^401 '
r=$(api POST /api/keys '{"name":"seed","permissions":["functions:invoke"]}')
expect_match "POST /api/keys: 201, the seed's shape" "$r" '^201 '
jq_true() { jq -e "$1" >/dev/null <<< "$2"; }
check "  {id, name, key, permissions}" jq_true '(.key | test("^dshield_[0-9a-f]{64}$")) and .permissions == ["functions:invoke"] and (.id | length) == 16 and .name == "seed"' "${r#* }"

# --- secrets only for the functions that declare them -------------------------------
cat > "$STATE/env.py" <<'EOF'
import os
def handler(req):
    return {"API_KEY": os.environ.get("API_KEY"), "HOME_ROOT_KEY": os.environ.get("ROOT_KEY")}
EOF
expect_match "deploy with-secret (declares API_KEY)" \
  "$(api POST /v1/functions "$(deploy_body with-secret python "$STATE/env.py" '"secrets":["API_KEY"]')")" '^201 '
expect_match "deploy without-secret" "$(api POST /v1/functions "$(deploy_body without-secret python "$STATE/env.py")")" '^201 '
expect_match "a function that declares API_KEY sees it" "$(api POST /v1/functions/with-secret/invoke '{}')" '"API_KEY": ?"sk-\.\.\."'
expect_match "one that does not, does not" "$(api POST /v1/functions/without-secret/invoke '{}')" '"API_KEY": ?null'
expect_match "GET /api/secrets: names and dates only" "$(api GET /api/secrets)" '^200 .*API_KEY'
check "  never the value" bash -c "! grep -q 'sk-\.\.\.' <<< '$(api GET /api/secrets)'"
# the policy allows 8 functions: make room for the limits' ones
for f in with-secret without-secret fn-nat; do
  expect_match "DELETE $f" "$(api DELETE /v1/functions/$f)" '^200 \{"deleted":true\}'
done

# --- limits, each followed by a good invocation and a healthy /healthz ---------------
cat > "$STATE/ok.py" <<'EOF'
def handler(req):
    return {"ok": True}
EOF
expect_match "deploy ok" "$(api POST /v1/functions "$(deploy_body ok python "$STATE/ok.py")")" '^201 '
after_limit() {
  expect_match "  then an invocation succeeds" "$(api POST /v1/functions/ok/invoke '{}')" '^200 \{"ok": ?true\}'
  check "  and /healthz is 200" healthy
}
cat > "$STATE/slow.py" <<'EOF'
import time
def handler(req):
    time.sleep(30)
EOF
expect_match "deploy slow" "$(api POST /v1/functions "$(deploy_body slow python "$STATE/slow.py" '"limits":{"timeout_ms":1000}')")" '^201 '
expect_match "time: 504 timeout, the seed's message" "$(api POST /v1/functions/slow/invoke '{}')" \
  '^504 .*"code":"timeout".*Function timed out after 1000ms'
after_limit
# memory.max is a cgroup limit: not enforced here (reported above), so a
# 400 MiB allocation would succeed; qemu-test/t/05-functions.t checks it.
ok "memory: 500 out_of_memory # skip host mode enforces no cgroup limit (limits NOT enforced, checked above)"
cat > "$STATE/forky.py" <<'EOF'
import os, time
def handler(req):
    n = 0
    for _ in range(64):
        if os.fork() == 0:
            time.sleep(5)
            os._exit(0)
        n += 1
    return n
EOF
expect_match "deploy forky" "$(api POST /v1/functions "$(deploy_body forky python "$STATE/forky.py" '"limits":{"pids":4}')")" '^201 '
expect_match "processes: refused (pids_exhausted, or the fork's error)" "$(api POST /v1/functions/forky/invoke '{}')" \
  '^500 .*"code":"(pids_exhausted|function_error)"'
after_limit
cat > "$STATE/loud.py" <<'EOF'
def handler(req):
    return "x" * 10000
EOF
expect_match "deploy loud" "$(api POST /v1/functions "$(deploy_body loud python "$STATE/loud.py" '"limits":{"output_kb":1}')")" '^201 '
expect_match "output: 502 output_too_large" "$(api POST /v1/functions/loud/invoke '{}')" '^502 .*"code":"output_too_large"'
after_limit
# a body over the deployment limit: refused at once, before it is read
n=$((45 * 1024 * 1024))
out=$(inns curl -s -i --max-time 30 -X POST -H "Authorization: Bearer $ROOT_KEY" \
  -H "Content-Length: $n" --data-binary @/dev/null "$AUDITOR_URL/v1/functions" 2>/dev/null)
expect_match "a 45 MiB deployment body: 413 body_too_large" "$out" '^HTTP/1\.1 413'
after_limit

# --- egress: DNS inside a function's namespace (docs/EGRESS.md) -------------------
# Only lo there: netd answers 127.0.0.1:53 through the listener sandboxd
# made in the namespace. A name a rule the function declared allows gets a
# fake address of 127.64.0.0/10; anything else is REFUSED and logged. A
# connection under the example's originate rule is reset (this run gives
# init no trust anchors: no_anchors) and logged; tests/host/11-egress.t
# carries passthrough and originate ones.
cat > "$STATE/resolve.py" <<'EOF'
import errno, socket
def handler(req):
    out = {}
    for name in ("api.example.com", "API.Example.COM", "x.storage.example.net", "evil.example"):
        try:
            out[name] = socket.gethostbyname(name)
        except OSError as e:
            out[name] = "error %s" % e.__class__.__name__
    try:
        s = socket.create_connection(("api.example.com", 443), timeout=10)
        got = s.recv(1)
        out["connect"] = "read %r" % got
    except OSError as e:
        out["connect"] = "error %s" % errno.errorcode.get(e.errno, e.__class__.__name__)
    return out
EOF
expect_match "deploy egress-py (declares api.example.com)" \
  "$(api POST /v1/functions "$(deploy_body egress-py python "$STATE/resolve.py" '"egress":["api.example.com"]')")" '^201 '
expect_match "deploy no-egress-py (declares nothing)" \
  "$(api POST /v1/functions "$(deploy_body no-egress-py python "$STATE/resolve.py")")" '^201 '
out=$(api POST /v1/functions/egress-py/invoke '{}')
diag "egress-py: $out"
expect_match "a declared name resolves to a fake address (127.64/10)" "$out" \
  '"api\.example\.com": ?"127\.(6[4-9]|[7-9][0-9]|1[01][0-9]|12[0-7])\.[0-9]+\.[0-9]+"'
name_addr=$(sed -n 's/.*"api\.example\.com": *"\([0-9.]*\)".*/\1/p' <<<"$out")
expect_match "  the same address in any case" "$out" "\"API\\.Example\\.COM\": ?\"${name_addr//./\\.}\""
expect_match "a rule the function did not declare: refused" "$out" '"x\.storage\.example\.net": ?"error '
expect_match "a name no rule allows: refused" "$out" '"evil\.example": ?"error '
expect_match "a connection to the declared host is reset (an originate rule)" "$out" \
  '"connect": ?"error (ECONNRESET|ECONNREFUSED|EPIPE)'
out=$(api POST /v1/functions/no-egress-py/invoke '{}')
expect_match "a function that declared nothing resolves nothing" "$out" \
  '"api\.example\.com": ?"error .*"evil\.example": ?"error '

# --- the whole log verifies, with the functions' and invocations' entries ----------
# (a checkpoint signed now covers the entries of the last second too)
expect_match "a fresh checkpoint" "$(api GET '/v1/log/checkpoint?fresh=1' "" "")" '^200 '
out=$(inns "$DSHIELD" log verify "$AUDITOR_URL" --attestation "$att" --allow-sim --no-collateral \
  --json 2>/dev/null); rc=$?
check "dshield log verify $AUDITOR_URL: exit 0, ok" \
  [ "$rc" -eq 0 -a "$(printf '%s' "$out" | jq .ok 2>/dev/null)" = true ]
printf '%s' "$out" > "$STATE/log.json"
# ops ID: the function entries' ops of ID, in log order
ops() { jq -r --arg id "$1" '[.entries[] | select(. != null and .type == "function" and .id == $id) | .op] | join(",")' "$STATE/log.json"; }
invs() { jq -r --arg id "$1" '[.entries[] | select(. != null and .type == "invocation" and .function == $id)] | length' "$STATE/log.json"; }
for rt in python node native; do
  check "fn-$rt: function entries deploy,update,delete" [ "$(ops fn-$rt)" = deploy,update,delete ]
  check "fn-$rt: its two invocations' entries" [ "$(invs fn-$rt)" = 2 ]
done
check "my-func: a deploy entry" [ "$(ops my-func)" = deploy ]
check "my-func: the receipt's invocation entry, by its id" \
  [ "$(jq --arg i "$inv" '[.entries[] | select(. != null and .type == "invocation" and .invocation == $i and .function == "my-func" and .status == 200)] | length' "$STATE/log.json")" = 1 ]
entries() { jq --arg t "$1" --arg f "$2" "[.entries[] | select(. != null and .type == \$t and .function == \$f) $3] | length" "$STATE/log.json"; }
check "egress-py: dns_refused entries for evil.example and x.storage.example.net" \
  [ "$(entries dns_refused egress-py '| select(.qname == "evil.example" or .qname == "x.storage.example.net")')" -ge 2 ]
check "egress-py: no dns_refused entry for its declared name" \
  [ "$(entries dns_refused egress-py '| select(.qname == "api.example.com")')" = 0 ]
check "egress-py: an egress_refused entry for port 443, decision deny" \
  [ "$(entries egress_refused egress-py '| select(.port == 443 and .decision == "deny")')" -ge 1 ]
check "no-egress-py: dns_refused for api.example.com" \
  [ "$(entries dns_refused no-egress-py '| select(.qname == "api.example.com")')" -ge 1 ]
check "slow: its timeout has an invocation entry (504)" \
  [ "$(jq '[.entries[] | select(. != null and .type == "invocation" and .function == "slow" and .status == 504)] | length' "$STATE/log.json")" = 1 ]

# --- nothing was restarted --------------------------------------------------------
check "netd was never restarted (pid $netd0)" [ "$(netd_pid)" = "$netd0" ]
check "dshield-init (pid $INIT_PID) still runs" kill -0 "$INIT_PID"
check "sandboxd was never restarted (pid $sbx)" [ "$(role_pid sandboxd)" = "$sbx" ]
check "init logged no role's death" bash -c "! grep -Eq 'killed by signal|exited with status' '$LOG'"
host_stop
done_testing
