# qemu-test/fn.sh: the function API of a booted guest, from the host
# through the test namespace. Sourced by qemu-test/run (the `make run`
# demo) and qemu-test/t/05-functions.t, after qemu-test/lib.sh (QT_NS,
# QT_URL).
#
#   fn_api METHOD PATH [BODY_FILE] [CURL_ARGS...]   as the admin; sets
#                       FN_STATUS (000 when curl failed) and FN_BODY
#   fn_call METHOD PATH [BODY_FILE] [CURL_ARGS...]  the same without a token
#   fn_api_starting SECONDS METHOD PATH ...         fn_api, retried while
#                       sandboxd is starting (503 unavailable)
#   fn_deploy_body ID RUNTIME FILE [JSON_EXTRA]     writes the seed shape's
#                       deployment body for FILE (base64) to $FN_DIR/ID.json
#                       and prints that path; JSON_EXTRA is merged in
#   expect NAME STATUS [JQ_FILTER]   one TAP test (tests/host/tap.sh's ok,
#                       nok, diag; jq): the last answer had STATUS and its
#                       body satisfies the filter
#
# FN_DIR: where request bodies are written (the caller's, e.g. under QT_DIR).
#
# The token is the example policy's development admin token (docs/POLICY.md:
# examples/policy.json stores its SHA-256); an image built with another
# policy needs FN_ADMIN_TOKEN set to its own.

FN_ADMIN_TOKEN=${FN_ADMIN_TOKEN:-dshield-example-admin-token}
FN_DIR=${FN_DIR:-}
FN_STATUS=
FN_BODY=
# Seconds one request may take: the first call of a python or node function
# starts its interpreter, which takes seconds under TCG.
FN_MAX_TIME=${FN_MAX_TIME:-120}

_fn_curl() {
  local auth=$1 method=$2 path=$3 body=${4:-} out
  shift 4 2>/dev/null || shift $#
  local args=(-sS --max-time "$FN_MAX_TIME" -X "$method" -w '\n%{http_code}')
  [ "$auth" = 1 ] && args+=(-H "Authorization: Bearer $FN_ADMIN_TOKEN")
  [ -n "$body" ] && args+=(-H 'Content-Type: application/json' --data-binary "@$body")
  out=$(ip netns exec "$QT_NS" curl "${args[@]}" "$@" "$QT_URL$path" 2>&1)
  FN_STATUS=${out##*$'\n'}
  FN_BODY=${out%$'\n'*}
  [ "$FN_BODY" != "$out" ] || FN_BODY=
  case $FN_STATUS in [0-9][0-9][0-9]) ;; *) FN_STATUS=000; FN_BODY=$out ;; esac
}
fn_api()  { _fn_curl 1 "$@"; }
fn_call() { _fn_curl 0 "$@"; }

# fn_api_starting SECONDS METHOD PATH [BODY_FILE] [CURL_ARGS...]: fn_api,
# again each second while the answer is 503 "unavailable" (sandboxd still
# starting: it runs each interpreter once before it serves, which takes
# seconds under TCG; netd says Retry-After: 1), for up to SECONDS.
fn_api_starting() {
  local until=$((SECONDS + $1)); shift
  while :; do
    fn_api "$@"
    [ "$FN_STATUS" = 503 ] && [[ $FN_BODY == *'"code":"unavailable"'* ]] &&
      [ "$SECONDS" -lt "$until" ] || return 0
    sleep 1
  done
}

fn_deploy_body() {
  local id=$1 runtime=$2 file=$3 extra=${4:-'{}'} out
  [ -n "$FN_DIR" ] || { echo "qemu-test: FN_DIR is not set" >&2; return 1; }
  mkdir -p "$FN_DIR" || return 1
  out=$FN_DIR/$id.json
  jq -cn --arg id "$id" --arg rt "$runtime" --rawfile code <(base64 -w0 "$file") \
    --argjson extra "$extra" \
    '{id: $id, runtime: $rt, code: $code, handler: "handler"} + $extra' > "$out" || return 1
  echo "$out"
}

expect() {
  local name=$1 want=$2 filter=${3:-}
  if [ "$FN_STATUS" = "$want" ] &&
     { [ -z "$filter" ] || jq -e "$filter" >/dev/null 2>&1 <<<"$FN_BODY"; }; then
    ok "$name"
  else
    nok "$name"
    diag "wanted $want${filter:+ with $filter}; got $FN_STATUS: ${FN_BODY:0:400}"
  fi
}
