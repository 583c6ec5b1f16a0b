#!/usr/bin/env bash
# tests/runtimes.t: the Python and Node workers (runtimes/) against the
# host side of the function protocol (tests/frame_driver.c, which also
# puts every RESULT through lib/fn_result as netd does), with the host's
# python3 and node. Functions are under tests/runtimes/.
cd "$(dirname "$0")/.." || exit 1
. tests/host/tap.sh || { echo "Bail out! cannot load tap.sh"; exit 1; }
DRIVER=${FRAME_DRIVER:-build/tests/bin/frame_driver}
[ -x "$DRIVER" ] || bail "$DRIVER is not built (make)"
command -v python3 >/dev/null || bail "python3 is needed"
command -v node >/dev/null || bail "node is needed"
command -v jq >/dev/null || bail "jq is needed"
PY=(python3 -I -B runtimes/python/dshield_worker.py)
NODE=(node runtimes/node/dshield_worker.mjs)
FN=$PWD/tests/runtimes
T=$(mktemp -d) || bail "mktemp"
trap 'rm -rf "$T"' EXIT

# req KIND [BODY-JSON]: a seed-shaped request file ($T/req-KIND.json).
req() {
  jq -nc --arg kind "$1" --argjson body "${2:-{\"input\":\"data\"\}}" \
    '{id: "4b8e7c9a-0000-4000-8000-000000000001", functionId: "fn-test", method: "POST",
      path: "/invoke/fn-test", headers: {"content-type": "application/json", "x-test": "1"},
      body: $body, query: {kind: $kind}}' > "$T/req-$1.json"
  echo "$T/req-$1.json"
}

# req_nobody KIND: the same without a body ($T/req-KIND-nobody.json).
req_nobody() {
  jq -c 'del(.body)' "$(req "$1")" > "$T/req-$1-nobody.json" && echo "$T/req-$1-nobody.json"
}

# drive NAME STEP... -- COMMAND...: runs the driver; OUT is its output
# directory, EV its event lines.
drive() {
  OUT=$T/$1; shift
  mkdir -p "$OUT"
  EV=$("$DRIVER" -o "$OUT" -t 30 "$@" 2>"$OUT/driver.err")
  printf '%s\n' "$EV" > "$OUT/events"
}
# line N: the N-th event line.
line() { printf '%s\n' "$EV" | sed -n "$1p"; }
# same "name" GOT WANT
same() { if [ "$2" = "$3" ]; then ok "$1"; else nok "$1"; diag "got:  $2"; diag "want: $3"; fi; }

# echo_checks RT VERSION-RE: after "expect invoke echo invoke echo ping".
echo_checks() {
  same "$1: HELLO first, naming the runtime, its version, protocol 1" \
    "$(line 1 | cut -d' ' -f1,2) $(jq -c --arg rt "$1" --arg v "$2" '[.runtime == $rt, (.version|test($v)), .protocol]' "$OUT/0.json")" \
    '0 HELLO [true,true,1]'
  expect_match "$1: a statusCode result: RESULT with its status, as netd takes it" "$(line 2)" \
    '^1 RESULT [0-9]+ status=201 headers=3 ctype=-$'
  same "$1: the handler saw the seed's request shape" \
    "$(jq -c '.body.request | [.id, .functionId, .method, .path, .headers["x-test"], .body.input, .query.kind]' "$OUT/1.json")" \
    '["4b8e7c9a-0000-4000-8000-000000000001","fn-test","POST","/invoke/fn-test","1","data","echo"]'
  same "$1: header values: numbers and booleans as text (Express's String()), the function's Content-Type" \
    "$(tr -d '\r' < "$OUT/1.headers")" $'X-Count: 1\nX-Flag: true\nContent-Type: application/json'
  same "$1: module state persists (count 2 at the second call)" "$(jq .count "$OUT/2.body")" 2
  same "$1: PING between invocations: PONG" "$(line 4)" "3 PONG 0"
}
# plain_checks RT: after "expect invoke string invoke none|undefined invoke list".
plain_checks() {
  same "$1: a string is sent as it is" "$(cat "$OUT/1.body")" 'hello <b>world</b>'
  expect_match "$1: ... as text/html, as Express sent it" "$(line 2)" 'status=200 headers=0 ctype=text/html; charset=utf-8$'
  expect_match "$1: nothing returned: 200, no Content-Type" "$(line 3)" 'status=200 headers=0 ctype=-$'
  check "$1: ... and an empty body" [ -e "$OUT/2.body" -a ! -s "$OUT/2.body" ]
  same "$1: a list as JSON" "$(cat "$OUT/3.body")" '[1,"a",null]'
}
# body_checks RT NONE STR DICT: after "expect invoke bodytype (no body)
# invoke bodytype (a raw string)"; the type names of the runtime.
body_checks() {
  same "$1: a request without a body: no body member" "$(jq -c . "$OUT/1.body")" \
    "{\"present\":false,\"type\":\"$2\",\"body\":null}"
  same "$1: a body that was not JSON: the raw string" "$(jq -c . "$OUT/2.body")" \
    "{\"present\":true,\"type\":\"$3\",\"body\":\"a=b&c=d\"}"
}
# fds_check RT: after "expect invoke fds".
fds_check() {
  check "$1: a program the function starts does not hold the protocol socket (fd 3 is close-on-exec)" \
    jq -e '(.fds | length > 2) and (.proto | startswith("socket:[")) and (.proto as $p | .fds | index([$p]) == null)' \
    "$OUT/1.body"
}
# big_check RT: after "expect invoke $T/req-big.json".
big_check() {
  expect_match "$1: a 1 MiB body: RESULT" "$(line 2)" '^1 RESULT [0-9]+ status=200'
  check "$1: ... the body came back byte for byte" cmp -s "$OUT/1.body" "$T/big.txt"
}

# --- Python ---------------------------------------------------------------------

drive py-echo expect invoke "$(req echo)" invoke "$(req echo)" ping invoke "$(req async)" invoke "$(req async)" \
  -- "${PY[@]}" --code "$FN/python/kinds.py"
echo_checks python '^3\.'
same "python: a coroutine is awaited; plain value: 200 and the value as JSON body" \
  "$(jq -c . "$OUT/4.body")" '{"count":3,"same_loop":true}'
expect_match "python: plain value as application/json" "$(line 5)" 'status=200 headers=0 ctype=application/json'
same "python: one event loop for the worker's life" "$(jq -c . "$OUT/5.body")" '{"count":4,"same_loop":true}'
same "python: print() reached stdout, in order, whatever it printed" \
  "$(grep -c '^stdout line of invocation [1-4]$' "$OUT/stdout")" 4
same "python: the function's stderr is the worker's" "$(grep -c '^stderr line' "$OUT/stderr")" 4
same "python: the host closing fd 3 ends the worker cleanly" "$(line 7)" "EXIT 0"

drive py-async expect invoke "$(req a '"one"')" invoke "$(req b '"two"')" -- "${PY[@]}" --code "$FN/python/asyncdef.py"
same "python: async def handler with an asyncio.Queue made in an earlier call" \
  "$(jq -c . "$OUT/2.body")" '["one","two"]'
expect_match "python: its statusCode" "$(line 3)" 'status=202'

drive py-plain expect invoke "$(req string)" invoke "$(req none)" invoke "$(req list)" \
  -- "${PY[@]}" --code "$FN/python/kinds.py"
plain_checks python

drive py-errors expect invoke "$(req raise)" invoke "$(req exit)" invoke "$(req nonjson)" invoke "$(req nan)" \
  invoke "$(req badstatus)" invoke "$(req badheader)" invoke "$(req inject)" invoke "$(req echo)" \
  -- "${PY[@]}" --code "$FN/python/kinds.py"
expect_match "python: an exception: ERROR" "$(line 2)" '^1 ERROR '
same "python: ... with its message" "$(jq -c . "$OUT/1.json")" '{"message":"boom from the handler"}'
check "python: ... the traceback went to stderr" grep -q 'Traceback (most recent call last)' "$OUT/stderr"
check "python: ... naming the line that raised" grep -q 'raise ValueError("boom from the handler")' "$OUT/stderr"
check "python: ... and not into the frame" bash -c "! grep -q Traceback '$OUT'/*.json"
expect_match "python: sys.exit() in the handler: ERROR, the worker lives on" "$(line 3)" '^2 ERROR '
same "python: a result that is not JSON: ERROR with a clear message" \
  "$(jq -r .message "$OUT/3.json")" "the result is not JSON: Object of type object is not JSON serializable"
expect_match "python: NaN is not JSON either" "$(jq -r .message "$OUT/4.json")" '^the result is not JSON: Out of range float'
same "python: a statusCode that is not an integer: ERROR" \
  "$(jq -r .message "$OUT/5.json")" "the result is invalid: statusCode must be an integer from 100 to 599, not '200'"
expect_match "python: a list as a header value: ERROR" "$(jq -r .message "$OUT/6.json")" "^the result is invalid: header 'X-A': the value must be"
expect_match "python: CR LF in a header value: the host refuses the RESULT" "$(line 8)" \
  '^7 RESULT [0-9]+ refused=a header value has a control byte$'
expect_match "python: after all of that the worker still answers" "$(line 9)" '^8 RESULT .* status=201'
same "python: ... with its state intact (8 invocations)" "$(jq .count "$OUT/8.body")" 8

drive py-body expect invoke "$(req_nobody bodytype)" invoke "$(req bodytype '"a=b&c=d"')" \
  -- "${PY[@]}" --code "$FN/python/kinds.py"
body_checks python NoneType str

drive py-fds expect invoke "$(req fds)" -- "${PY[@]}" --code "$FN/python/kinds.py"
fds_check python

drive py-close expect invoke "$(req closefd)" invoke "$(req echo)" -- "${PY[@]}" --code "$FN/python/kinds.py"
same "python: the function closes fd 3: the host sees EOF, no hang" "$(line 2)" "EOF"
same "python: ... and the worker exits 71" "$(line 3)" "EXIT 71"
check "python: ... saying why on stderr" grep -q 'the function closed or replaced fd 3' "$OUT/stderr"

drive py-reopen expect invoke "$(req reopen)" -- "${PY[@]}" --code "$FN/python/kinds.py"
same "python: fd 3 closed and reused for a file: EOF, not a frame into the file" "$(line 2) $(line 3)" "EOF EXIT 71"

drive py-garbage expect invoke "$(req garbage)" -- "${PY[@]}" --code "$FN/python/kinds.py"
same "python: garbage written to fd 3 (a length over the bound): refused at its header" "$(line 2)" "BAD EMSGSIZE"
expect_match "python: ... the worker ends when the host closes" "$(line 3)" '^EXIT '
drive py-badtype expect invoke "$(req badtype)" -- "${PY[@]}" --code "$FN/python/kinds.py"
same "python: a frame of an unknown type on fd 3: refused" "$(line 2)" "BAD EPROTO"

drive py-syntax expect -- "${PY[@]}" --code "$FN/python/syntax.py"
same "python: a syntax error: LOAD_ERROR" "$(line 1 | cut -d' ' -f1,2)" "0 LOAD_ERROR"
expect_match "python: ... naming it" "$(jq -r .message "$OUT/0.json")" '^SyntaxError: .*\(line 1\)$'
same "python: ... and the worker exits 1" "$(line 2)" "EXIT 1"
drive py-nohandler expect -- "${PY[@]}" --code "$FN/python/nohandler.py"
same "python: no attribute 'handler': LOAD_ERROR" \
  "$(jq -r .message "$OUT/0.json")" "AttributeError: the module has no attribute 'handler'"
drive py-main expect invoke "$(req x)" -- "${PY[@]}" --code "$FN/python/nohandler.py" --handler main
same "python: --handler names another attribute" "$(jq -c . "$OUT/1.body")" '{"named":"main"}'
drive py-missing expect -- "${PY[@]}" --code "$T/no-such-file.py"
expect_match "python: a missing code file: LOAD_ERROR" "$(jq -r .message "$OUT/0.json")" '^FileNotFoundError'

# 1 MiB of text, every byte value JSON must escape among it.
python3 -c '
import json, sys
s = "".join(chr(c) for c in range(1, 128)) + "é€😀"
big = (s * (1048576 // len(s) + 1))[:1048576]
open(sys.argv[1], "w").write(big)
print(json.dumps(big))' "$T/big.txt" > "$T/big.json" || bail "cannot make the big body"
req big '"placeholder"' >/dev/null
jq -c --slurpfile big "$T/big.json" '.body = $big[0]' "$T/req-big.json" > "$T/req-big.tmp" &&
  mv "$T/req-big.tmp" "$T/req-big.json" || bail "cannot make the big request"
drive py-big expect invoke "$T/req-big.json" -- "${PY[@]}" --code "$FN/python/kinds.py"
big_check python

# --- Node -------------------------------------------------------------------------

drive node-echo expect invoke "$(req echo)" invoke "$(req echo)" ping invoke "$(req sync)" \
  -- "${NODE[@]}" --code "$FN/node/kinds.mjs"
echo_checks node '^[0-9]+\.'
same "node: a plain number: 200 and its JSON" "$(cat "$OUT/4.body")" 3
same "node: console.log reached stdout, in order" "$(grep -c '^stdout line of invocation [1-3]$' "$OUT/stdout")" 3
same "node: console.error reached stderr" "$(grep -c '^stderr line' "$OUT/stderr")" 3
same "node: the host closing fd 3 ends the worker cleanly" "$(line 6)" "EXIT 0"

drive node-plain expect invoke "$(req string)" invoke "$(req undefined)" invoke "$(req list)" \
  -- "${NODE[@]}" --code "$FN/node/kinds.mjs"
plain_checks node

drive node-errors expect invoke "$(req raise)" invoke "$(req throwstring)" invoke "$(req uncaught)" \
  invoke "$(req unhandled)" invoke "$(req bigint)" invoke "$(req circular)" invoke "$(req badstatus)" \
  invoke "$(req echo)" -- "${NODE[@]}" --code "$FN/node/kinds.mjs"
same "node: a thrown Error: ERROR with its message" "$(jq -c . "$OUT/1.json")" '{"message":"boom from the handler"}'
check "node: ... its stack went to stderr" grep -q 'at handler .*kinds.mjs' "$OUT/stderr"
check "node: ... and not into the frame" bash -c "! grep -q 'kinds.mjs' '$OUT'/*.json"
same "node: a thrown string: ERROR with it" "$(jq -c . "$OUT/2.json")" '{"message":"a string thrown"}'
same "node: an exception thrown in a timer: ERROR for that invocation" \
  "$(jq -c . "$OUT/3.json")" '{"message":"thrown in a timer"}'
same "node: an unhandled rejection: ERROR for that invocation" \
  "$(jq -c . "$OUT/4.json")" '{"message":"a stray rejection"}'
expect_match "node: a BigInt result: ERROR, not JSON" "$(jq -r .message "$OUT/5.json")" '^the result is not JSON: .*BigInt'
expect_match "node: a circular result: ERROR" "$(jq -r .message "$OUT/6.json")" '^the result is not JSON: .*circular'
same "node: statusCode 200.5: ERROR" "$(jq -r .message "$OUT/7.json")" \
  "the result is invalid: statusCode must be an integer from 100 to 599, not 200.5"
expect_match "node: the worker survived all of it" "$(line 9)" '^8 RESULT .* status=201'
same "node: ... with its state (8 invocations)" "$(jq .count "$OUT/8.body")" 8

drive node-body expect invoke "$(req_nobody bodytype)" invoke "$(req bodytype '"a=b&c=d"')" \
  -- "${NODE[@]}" --code "$FN/node/kinds.mjs"
body_checks node undefined string

drive node-fds expect invoke "$(req fds)" -- "${NODE[@]}" --code "$FN/node/kinds.mjs"
fds_check node

drive node-close expect invoke "$(req closefd)" -- "${NODE[@]}" --code "$FN/node/kinds.mjs"
same "node: the function closes fd 3: EOF, no hang, exit 71" "$(line 2) $(line 3)" "EOF EXIT 71"
drive node-garbage expect invoke "$(req garbage)" -- "${NODE[@]}" --code "$FN/node/kinds.mjs"
same "node: garbage written to fd 3: refused at its header" "$(line 2)" "BAD EMSGSIZE"

# Module systems: the file's extension decides, a .js file is CommonJS
# unless only an ES module parses. The code directory is read-only here
# (a copy, chmod a-w) and stays untouched.
cp -r "$FN/node" "$T/code" && chmod -R a-w "$T/code"
fingerprint() { (cd "$T/code" && ls -A && sha256sum -- *); }
before=$(fingerprint)
mkdir "$T/tmp"   # the workers' TMPDIR here: where an ES module's copy goes
for f in exports.js:exports module_exports.js:module.exports esm.js:esm tla.js:esm-tla default.mjs:default plain.cjs:cjs; do
  TMPDIR=$T/tmp drive "node-${f%%:*}" expect invoke "$(req x)" invoke "$(req x)" -- "${NODE[@]}" --code "$T/code/${f%%:*}"
  same "node: ${f%%:*} loads as ${f##*:} and answers twice" \
    "$(line 1 | cut -d' ' -f2) $(jq -r .style "$OUT/1.body") $(jq -r '.style' "$OUT/2.body")" \
    "HELLO ${f##*:} ${f##*:}"
done
same "node: the ES modules' private copies are gone once loaded" "$(ls -A "$T/tmp")" ""
same "node: CommonJS state persists" "$(jq .count "$T/node-exports.js/2.body")" 2
same "node: a handler returning a promise (module.exports, async): awaited" \
  "$(jq -c . "$T/node-module_exports.js/2.body")" '{"style":"module.exports","count":2,"eol":true}'
same "node: an ES module with top-level await in a .js file ran from its private .mjs copy" \
  "$(jq -r .meta "$T/node-tla.js/1.body")" "function.mjs"
same "node: default[handler] gets the request" "$(jq -r .path "$T/node-default.mjs/1.body")" "/invoke/fn-test"
same "node: the code directory is unchanged" "$(fingerprint)" "$before"

drive node-syntax expect -- "${NODE[@]}" --code "$FN/node/syntax.js"
same "node: a syntax error: LOAD_ERROR, exit 1" "$(line 1 | cut -d' ' -f2) $(line 2)" "LOAD_ERROR EXIT 1"
expect_match "node: ... with both readings' reasons" "$(jq -r .message "$OUT/0.json")" \
  '^SyntaxError: as CommonJS: .*; as an ES module: '
drive node-nohandler expect -- "${NODE[@]}" --code "$FN/node/nohandler.js"
same "node: no handler export: LOAD_ERROR" "$(jq -r .message "$OUT/0.json")" \
  "TypeError: the module exports no function named 'handler'"
drive node-main expect invoke "$(req x)" -- "${NODE[@]}" --code "$FN/node/nohandler.js" --handler main
same "node: --handler names another export" "$(cat "$OUT/1.body")" 1
drive node-throws expect -- "${NODE[@]}" --code "$FN/node/throws.js"
same "node: a module that throws at load: LOAD_ERROR" "$(jq -r .message "$OUT/0.json")" \
  "Error: the module throws at load"

drive node-big expect invoke "$T/req-big.json" -- "${NODE[@]}" --code "$FN/node/kinds.mjs"
big_check node

drive py-surrogate expect invoke "$(req surrogate)" invoke "$(req surrogatebody)" -- "${PY[@]}" --code "$FN/python/kinds.py"
same "python: an exception message with a lone surrogate: still UTF-8 in the ERROR" \
  "$(line 2 | cut -d' ' -f2,4) $(jq -r .message "$OUT/1.json")" 'ERROR message=33 bytes \udcff from surrogateescape'
expect_match "python: a string body with a lone surrogate: ERROR, not a RESULT the host refuses" \
  "$(line 3 | cut -d' ' -f2) $(jq -r .message "$OUT/2.json")" \
  "^ERROR the result is not JSON: 'utf-8' codec can't encode character '.ud800' .*surrogates not allowed$"
drive node-surrogate expect invoke "$(req surrogate)" invoke "$(req surrogatebody)" -- "${NODE[@]}" --code "$FN/node/kinds.mjs"
same "node: ... and in Node (U+FFFD)" "$(line 2 | cut -d' ' -f2,4) $(jq -r .message "$OUT/1.json")" \
  $'ERROR message=20 a lone \uFFFD surrogate'
same "node: a string body with a lone surrogate: ERROR" "$(line 3 | cut -d' ' -f2) $(jq -r .message "$OUT/2.json")" \
  "ERROR the result is invalid: the body string has a lone surrogate"

# --- the host's own checks ----------------------------------------------------------

drive host-hostile expect garbage 00000001ff -- "${PY[@]}" --code "$FN/python/kinds.py"
expect_match "a worker sent a type it must not get: it exits 70" "$(line 2) $(line 3)" '^EOF EXIT 70$'
check "... saying so on stderr" grep -q 'out of protocol: frame type 255' "$OUT/stderr"
drive host-hostile-node expect garbage 00000001ff -- "${NODE[@]}" --code "$FN/node/kinds.mjs"
expect_match "the Node worker too" "$(line 2) $(line 3)" '^EOF EXIT 70$'
drive host-toolong expect garbage 0090000003 -- "${PY[@]}" --code "$FN/python/kinds.py"
same "an INVOKE longer than 8 MiB: the Python worker exits 70 before reading it" "$(line 2) $(line 3)" "EOF EXIT 70"
drive host-toolong-node expect garbage 0090000003 -- "${NODE[@]}" --code "$FN/node/kinds.mjs"
same "the Node worker too" "$(line 2) $(line 3)" "EOF EXIT 70"
drive host-nofd expect -- sh -c 'exec 3>&-; exec python3 runtimes/python/dshield_worker.py'
same "a worker started without fd 3 exits 70 at once" "$(line 1) $(line 2)" "EOF EXIT 70"

all=$(cat "$T"/*/events)
check "every ERROR and LOAD_ERROR of this file had a message the host takes" \
  [ "$(printf '%s\n' "$all" | grep -cE '^[0-9]+ (LOAD_)?ERROR [0-9]+ message=[0-9]+$')" -gt 20 -a \
    -z "$(printf '%s\n' "$all" | grep -E '^[0-9]+ (LOAD_)?ERROR' | grep -v ' message=')" ]

done_testing
