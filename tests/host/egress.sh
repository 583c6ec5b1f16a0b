# tests/host/egress.sh: what the egress tests (11-egress.t, 14-egress-more.t)
# share, sourced after lib.sh and host_start. TLSDIR must be set (a directory
# the test removes); the certificates are made there.

# egress_prereqs TOOL...: skips the test (TAP 1..0) where it cannot run
# (not root, no sandboxd role, no python layer, a real TDX host), bails
# without a TOOL.
egress_prereqs() {
  [ "$(id -u)" -eq 0 ] || { echo "1..0 # skip host tests need root (network namespaces)"; exit 0; }
  grep -q 'ROLE_SANDBOXD' "$TOP/bin/dshield-init.c" 2>/dev/null ||
    { echo "1..0 # skip no sandboxd role in bin/dshield-init.c (the functions' role)"; exit 0; }
  [ -d "$TOP/build/layers/python" ] || { echo "1..0 # skip no build/layers/python: run make layer-trees"; exit 0; }
  [ ! -e /dev/tdx_guest ] || { echo "1..0 # skip this host has /dev/tdx_guest (the sim is never used there)"; exit 0; }
  local c
  for c in "$@"; do command -v "$c" >/dev/null || bail "$c is needed"; done
}

# egress_files: POLICY (a file for the test's policy) and TLSDIR (for its
# certificates), and cleanup, which stops HTTPS_PID (the test's upstream,
# once set) and host mode and removes both.
egress_files() {
  POLICY=$(mktemp /tmp/dshield-egress-policy.XXXXXX)
  TLSDIR=$(mktemp -d /tmp/dshield-egress-tls.XXXXXX)
  HTTPS_PID=
}
cleanup() {
  [ -n "$HTTPS_PID" ] && kill "$HTTPS_PID" 2>/dev/null
  rm -f "$POLICY"; rm -rf "$TLSDIR"; host_stop
}

# mkca NAME CN: a P-256 CA, NAME.pem and NAME.key.
mkca() {
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=$2" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
    -keyout "$TLSDIR/$1.key" -out "$TLSDIR/$1.pem" 2>/dev/null
}
# mkleaf NAME CA DNSNAME: a server leaf for DNSNAME signed by CA.
mkleaf() {
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$3" \
    -keyout "$TLSDIR/$1.key" -out "$TLSDIR/$1.csr" 2>/dev/null &&
  printf 'subjectAltName=DNS:%s\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n' "$3" > "$TLSDIR/$1.ext" &&
  openssl x509 -req -in "$TLSDIR/$1.csr" -CA "$TLSDIR/$2.pem" -CAkey "$TLSDIR/$2.key" -CAcreateserial \
    -days 2 -extfile "$TLSDIR/$1.ext" -out "$TLSDIR/$1.pem" 2>/dev/null
}
# mkleaf_expired NAME CA DNSNAME: the same, valid only on 2020-01-01
# (openssl 3.0's x509 cannot date a certificate in the past; its ca can).
mkleaf_expired() {
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$3" \
    -keyout "$TLSDIR/$1.key" -out "$TLSDIR/$1.csr" 2>/dev/null || return 1
  mkdir -p "$TLSDIR/ca-$1" && : > "$TLSDIR/ca-$1/index" && echo 01 > "$TLSDIR/ca-$1/serial" &&
  cat > "$TLSDIR/ca-$1/conf" <<CONF
[ca]
default_ca = d
[d]
database = $TLSDIR/ca-$1/index
serial = $TLSDIR/ca-$1/serial
new_certs_dir = $TLSDIR/ca-$1
default_md = sha256
policy = p
copy_extensions = none
x509_extensions = x
[p]
commonName = supplied
[x]
subjectAltName = DNS:$3
extendedKeyUsage = serverAuth
basicConstraints = CA:FALSE
CONF
  openssl ca -batch -notext -config "$TLSDIR/ca-$1/conf" -cert "$TLSDIR/$2.pem" -keyfile "$TLSDIR/$2.key" \
    -startdate 20200101000000Z -enddate 20200102000000Z -in "$TLSDIR/$1.csr" -out "$TLSDIR/$1.pem" 2>/dev/null
}
# mkself NAME DNSNAME: a self-signed server certificate for DNSNAME (no CA).
mkself() {
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=$2" \
    -addext "subjectAltName=DNS:$2" -addext extendedKeyUsage=serverAuth \
    -keyout "$TLSDIR/$1.key" -out "$TLSDIR/$1.pem" 2>/dev/null
}
# spki NAME: the SHA-256 of NAME.pem's SubjectPublicKeyInfo (the log's spki).
spki() {
  openssl x509 -in "$TLSDIR/$1.pem" -pubkey -noout | openssl pkey -pubin -outform der | sha256sum | cut -d' ' -f1
}

# wait_tcp ADDR PORT: true once the test's namespace reaches ADDR:PORT (5 s).
wait_tcp() {
  local _
  for _ in $(seq 50); do inns bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null && return 0; sleep 0.1; done
  return 1
}

# api METHOD PATH [BODY]: the management API as the admin, from the test's
# namespace; prints "CODE BODY" (the body's newlines as spaces). Needs
# AUDITOR_URL; API_MAX_TIME (seconds, default 40) bounds the call.
ROOT_KEY=dshield-example-admin-token
api() {
  local m=$1 p=$2 body=${3-}
  local out; out=$(mktemp "$STATE/api.XXXXXX")
  local args=(-s --max-time "${API_MAX_TIME:-40}" -o "$out" -w '%{http_code}' -X "$m" -H "Authorization: Bearer $ROOT_KEY")
  [ -n "$body" ] && args+=(-H 'Content-Type: application/json' --data-binary "$body")
  local code
  code=$(inns curl "${args[@]}" "$AUDITOR_URL$p")
  printf '%s %s' "$code" "$(tr '\n' ' ' < "$out")"
  rm -f "$out"
}
b64() { base64 -w0 "$@"; }

# in_sandbox_net NSFILE CA CMD...: CMD in that network namespace, in a
# private mount namespace where /etc/resolv.conf says 127.0.0.1 (netd's
# DNS) and the CA bundle is CA (the sandbox's), no proxy variables: a
# host program as a function would run it.
in_sandbox_net() {
  local ns=$1 ca=$2; shift 2
  printf 'nameserver 127.0.0.1\n' > "$STATE/resolv.sandbox"
  env -u http_proxy -u https_proxy -u HTTP_PROXY -u HTTPS_PROXY -u all_proxy -u ALL_PROXY \
    nsenter --net="$ns" unshare -m sh -c 'mount --bind "$0" /etc/resolv.conf &&
      mount --bind "$1" /etc/ssl/certs/ca-certificates.crt && shift && exec "$@"' \
    "$STATE/resolv.sandbox" "$ca" "$@"
}

# wait_sandboxd: sandboxd's pid once it serves (10 s).
wait_sandboxd() {
  local _
  for _ in $(seq 200); do grep -q 'init: sandboxd: serving' "$LOG" && break; sleep 0.1; done
  grep -q 'init: sandboxd: serving' "$LOG"
}

# log_json FILE: a fresh checkpoint, then the verified log as JSON in FILE;
# true when dshield log verify said ok.
log_json() {
  api GET '/v1/log/checkpoint?fresh=1' | grep -q '^200 ' || return 1
  inns curl -s --max-time 20 -o "$STATE/att.json" "$AUDITOR_URL/v1/attestation?nonce=11" || return 1
  inns "$DSHIELD" log verify "$AUDITOR_URL" --attestation "$STATE/att.json" --allow-sim --no-collateral \
    --json > "$1" 2>/dev/null && [ "$(jq .ok "$1")" = true ]
}

# egress_host_start POLICY: dshield-init in host mode with POLICY, to which
# the test CA ($TLSDIR/testca.pem, made by the caller) is added as the
# policy's extra_anchors (the test anchors netd trusts beside none: host
# mode has no --anchors here), and the test's resolver (198.18.1.1); the
# caller's cleanup on EXIT; 10.77.0.1/24 on the test's side of the veth
# pair, for the upstreams.
egress_host_start() {
  local der
  der=$(openssl x509 -in "$TLSDIR/testca.pem" -outform DER | base64 -w0) && [ -n "$der" ] &&
    jq --arg a "$der" '.extra_anchors = [$a]' "$1" > "$TLSDIR/policy-anchored.json" ||
    bail "cannot add the test CA to $1 as its extra_anchors"
  host_start static --allow-sim --policy "$TLSDIR/policy-anchored.json" --layers "$TOP/build/layers" \
    --dns 198.18.1.1
  trap cleanup EXIT
  check "setup: 10.77.0.1/24 on the test's side of the veth pair" inns ip addr add 10.77.0.1/24 dev peer
}

# rec FN TYPE JQ-FILTER: how many of FN's records of TYPE in $STATE/log.json
# (log_json's) pass the filter
rec() {
  jq "[.entries[] | select(. != null and .function == \"$1\" and .type == \"$2\") $3] | length" "$STATE/log.json"
}
