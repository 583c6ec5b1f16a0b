# tests/host/attest-checks.sh: GET /v1/attestation checks shared by host
# mode (tests/host/04-attestation.t) and QEMU (qemu-test/t/03-attestation.t).
# Needs NS, ADDR, PORT (see http-checks.sh), tests/host/tap.sh, jq, and
# DSHIELD (the host CLI, build/dshield).

# attest_get QUERY OUTFILE: prints the HTTP status, the body goes to OUTFILE.
attest_get() {
  inns curl -s --max-time 20 -o "$2" -w '%{http_code}' "http://$ADDR:$PORT/v1/attestation$1"
}

# attest_bad_nonce_checks: every malformed nonce is a 400 JSON error.
attest_bad_nonce_checks() {
  local f code q
  f=$(mktemp)
  for q in "" "?nonce=" "?nonce=abc" "?nonce=zz" "?nonce=$(printf '%066d' 0)" \
           "?nonce=00&nonce=11" "?n=00" "?nonce=00&x=1"; do
    code=$(attest_get "$q" "$f")
    check "bad nonce '${q:-(none)}' is 400" [ "$code" = 400 ]
    expect_match "  with a JSON bad_nonce error" "$(cat "$f")" '"error":\{"code":"bad_nonce","message":"[^"]+"'
  done
  code=$(attest_get "?nonce=$(printf '%064d' 0)" "$f")
  check "a 32-byte nonce is accepted (not 400)" [ "$code" != 400 ]
  rm -f "$f"
}

# attest_sim_checks MANIFEST_SHA256 OUTFILE [verify args...]: a fresh random
# nonce, a sim quote over REPORTDATA(nonce, manifest), which `dshield verify
# --allow-sim --report-data` accepts and plain `dshield verify` refuses.
attest_sim_checks() {
  local man=$1 f=$2 nonce code rd out rc; shift 2
  nonce=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')
  code=$(attest_get "?nonce=$nonce" "$f")
  check "GET /v1/attestation with a fresh nonce is 200" [ "$code" = 200 ]
  [ "$code" = 200 ] || { diag "body: $(head -c 400 "$f")"; return; }
  check "backend is sim" [ "$(jq -r .backend "$f")" = sim ]
  expect_match "the response warns it is simulated" "$(jq -r .warning "$f")" '^sim: '
  check "preimage nonce echoed" [ "$(jq -r .report_data_preimage.nonce "$f")" = "$nonce" ]
  check "preimage manifest_sha256 is the image manifest's" \
    [ "$(jq -r .report_data_preimage.manifest_sha256 "$f")" = "$man" ]
  local tk lk vkey b64
  tk=$(jq -r .report_data_preimage.api_tls_spki_sha256 "$f")
  expect_match "the quote binds the API TLS key (SHA-256 of its SPKI, slot 3)" "$tk" '^[0-9a-f]{64}$'
  lk=$(jq -r .report_data_preimage.log_key_sha256 "$f")
  vkey=$(jq -r .log_key "$f")
  expect_match "the quote binds a log key (SHA-256 of its SPKI)" "$lk" '^[0-9a-f]{64}$'
  expect_match "  given as a signed-note verifier key named for it" "$vkey" \
    "^dshield-log/${lk:0:16}\+[0-9a-f]{8}\+[A-Za-z0-9+/]+=*\$"
  b64=${vkey#*+}; b64=${b64#*+}
  check "  whose key (type 0x02, P-256 SPKI) hashes to log_key_sha256" \
    [ "$(printf '%s' "$b64" | base64 -d | tail -c +2 | sha256sum | cut -d' ' -f1)" = "$lk" ]
  check "event log has manifest then instance-id" \
    [ "$(jq -c '[.event_log[].name]' "$f")" = '["manifest","instance-id"]' ]
  check "manifest event payload is the manifest hash" \
    [ "$(jq -r '.event_log[0].payload' "$f")" = "$man" ]
  # logd has keyd sign its first checkpoint (the boot entry) as it starts:
  # once signed, every quote carries the last signed note (slot 5)
  local ck ckhex ckarg=()
  ck=$(jq -r .checkpoint "$f")
  ckhex=$(jq -r .report_data_preimage.checkpoint "$f")
  if [ "$ck" != null ]; then
    expect_match "the quote vouches for a checkpoint of the log key's origin" "$ck" \
      "^dshield-log/${lk:0:16}"$'\n'"[0-9]+"$'\n'
    check "  the preimage's checkpoint is its bytes" \
      [ "$(printf '%s\n' "$ck" | od -An -tx1 -v | tr -d ' \n')" = "$ckhex" ]
    ckarg=(--checkpoint "$ckhex")
  else
    check "no checkpoint signed yet: the slot is null too" [ "$ckhex" = null ]
  fi
  rd=$("$DSHIELD" reportdata --nonce "$nonce" --manifest-sha256 "$man" --api-tls-spki-sha256 "$tk" \
       --log-key-sha256 "$lk" "${ckarg[@]}")
  check "report_data is REPORTDATA(nonce, manifest, API TLS key, log key, checkpoint) as dshield reportdata computes it" \
    [ "$(jq -r .report_data "$f")" = "$rd" ]

  out=$("$DSHIELD" verify --allow-sim --no-collateral "$@" --report-data "$rd" "$f" 2>&1); rc=$?
  check "dshield verify --allow-sim --no-collateral --report-data passes" [ "$rc" -eq 0 ]
  [ "$rc" -eq 0 ] || printf '%s\n' "$out" | sed 's/^/#   /'
  expect_match "  the embedded event log replays to RTMR3" "$out" 'pass +event_log\.rtmr3 '
  expect_match "  it recomputes REPORTDATA from the preimage itself" "$out" 'pass +report_data\.preimage '
  expect_match "  and checks that the quote binds the log key" "$out" 'pass +log_key\.binding '
  [ "$ck" = null ] ||
    expect_match "  and the checkpoint, signed by it" "$out" 'pass +checkpoint\.binding '
  local t=$f.tampered
  jq -c ".report_data_preimage.log_key_sha256 = \"$(printf '%064d' 0)\"" "$f" > "$t"
  "$DSHIELD" verify --allow-sim --no-collateral "$t" >"$t.out" 2>&1
  check "a preimage naming another log key fails" [ $? -ne 0 ]
  expect_match "  naming report_data.preimage" "$(cat "$t.out")" 'fail +report_data\.preimage '
  jq -c '.log_key = "dshield-log/x+00000000+AjBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABB14YoELnT5CmXSJK2r9jw/y+mJc0dLQPrn2ZjGtwVwJwJkZLIGS7DAhjFWLMfgpOq29aiK2yNaqBK2xxPGWsC8="' "$f" > "$t"
  "$DSHIELD" verify --allow-sim --no-collateral "$t" >"$t.out" 2>&1
  check "another log_key than the one bound fails" [ $? -ne 0 ]
  expect_match "  naming log_key.binding" "$(cat "$t.out")" 'fail +log_key\.binding ' 
  out=$("$DSHIELD" verify --json --allow-sim --no-collateral "$@" --report-data "$rd" "$f" 2>&1)
  check "  --json: every check passed" [ "$(printf '%s' "$out" | jq -r .ok)" = true ]
  check "  --json: event_log.rtmr3 passed" \
    [ "$(printf '%s' "$out" | jq -r '.checks[] | select(.name=="event_log.rtmr3") | .result')" = pass ]
  out=$("$DSHIELD" verify --json "$f" 2>&1); rc=$?
  check "plain dshield verify refuses the sim quote" [ "$rc" -ne 0 ]
  check "  naming the quote.sim check" \
    [ "$(printf '%s' "$out" | jq -r '.checks[] | select(.name=="quote.sim") | .result')" = fail ]
  "$DSHIELD" verify --allow-sim --no-collateral --report-data "$(printf '%0128d' 0)" "$f" >/dev/null 2>&1
  check "a wrong expected REPORTDATA fails" [ $? -ne 0 ]
}
