#!/usr/bin/env bash
# Host mode, issue 11's "1000 concurrent proxied requests" (docs/EGRESS.md,
# "Capacity"): a deployed Python function opens 1000 (its limit,
# EGP_FN_CONN_MAX) HTTPS connections at once by name (originate rule,
# fake DNS, no proxy settings) and sends one request on each; the upstream
# holds every request until all of them have arrived and the test releases
# them (so they were really open at once, through netd), then answers each
# with its own path.
# - while the 1000 are held, the function's next connection is reset
#   (conn_limit), and another function's 24 connections are answered
#   while its 25th is reset (pool_full: 1024 in all);
# - once released, all 1000 are answered with their own bodies;
# - the verified log has each request's allow record, its answer's record
#   and its completion record (counted), and the two refusals;
# - netd's VmRSS / VmHWM idle and with the 1000 open, printed, and the
#   growth below what the pool can hold (docs/EGRESS.md: 1024 slots of
#   116 KiB, lwIP's 6 MiB heap).
# Skips as 11-egress.t does.
. "$(dirname "$0")/lib.sh" || { echo "Bail out! cannot load lib.sh"; exit 1; }
. "$(dirname "$0")/egress.sh" || { echo "Bail out! cannot load egress.sh"; exit 1; }
egress_prereqs jq curl dnsmasq python3 openssl
DSHIELD=${DSHIELD:-$TOP/build/dshield}
[ -x "$DSHIELD" ] || bail "no $DSHIELD: run make first"
N=1000   # EGP_FN_CONN_MAX

egress_files
jq '.egress = [{"host": "good.test", "ports": [9443], "addresses": ["10.77.0.0/24"],
                "purpose": "test: 1000 requests at once"}]' \
  "$TOP/examples/policy.json" > "$POLICY" || bail "cannot write the test policy"
mkca testca "dshield egress test CA" && mkleaf good testca good.test ||
  bail "cannot make the test CA and its certificate"

egress_host_start "$POLICY"

# TTL 0: lwIP does not keep the answer, so the burst asks again while up
# to 1000 connections want it (those asking while a query is out join it,
# up to 255, DNS_MAX_REQUESTS: the rest ask again, EGP_DNS_RETRY_MS)
(exec ip netns exec "$NS" dnsmasq --keep-in-foreground --no-resolv --no-hosts --address=/good.test/10.77.0.1 \
  --user=root --no-dhcp-interface=peer --listen-address=198.18.1.1 --bind-interfaces --port=53 \
  --local-ttl=0 --pid-file="$STATE/dns.pid") &
DNSMASQ_PID=$!
# The upstream (asyncio, TLS, keep-alive), every request logged (its path)
# before it is answered:
#   /c/...   held until N of them arrived and $STATE/release exists, then
#            200 {"path": ..., "held": how many were held at once}
#   else     200 {"path": ...} at once
# $STATE/held gets the number held once N arrived.
cat > "$STATE/https.py" <<'EOF'
import asyncio, json, os, resource, ssl, sys
d, log, n, state = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 8192), hard))
held = peak = 0
logf = open(log, "a", buffering=1)
async def released():
    while not os.path.exists(state + "/release"):
        await asyncio.sleep(0.05)
release = None
async def serve(r, w):
    global held, peak
    try:
        while True:
            head = await r.readuntil(b"\r\n\r\n")
            path = head.split(b" ", 2)[1].decode()
            logf.write(path + "\n")
            ans = {"path": path}
            if path.startswith("/c/"):
                held += 1
                peak = max(peak, held)
                if held == n:
                    with open(state + "/held.tmp", "w") as f:
                        f.write(str(held))
                    os.rename(state + "/held.tmp", state + "/held")
                await release
                held -= 1
                ans["held"] = peak
            body = json.dumps(ans).encode()
            w.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
                    % len(body) + body)
            await w.drain()
    except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
        pass
    finally:
        w.close()
async def main():
    global release
    release = asyncio.ensure_future(released())
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(d + "/good.pem", d + "/good.key")
    srv = await asyncio.start_server(serve, "10.77.0.1", 9443, ssl=ctx, backlog=2048)
    async with srv:
        await srv.serve_forever()
asyncio.run(main())
EOF
(exec ip netns exec "$NS" python3 "$STATE/https.py" "$TLSDIR" "$STATE/https.log" "$N" "$STATE") &
HTTPS_PID=$!
check "setup: the upstream listens on 10.77.0.1:9443" wait_tcp 10.77.0.1 9443
check "sandboxd serves" wait_sandboxd
netd0=$(netd_pid)
check "netd's descriptor limit is NETD_NOFILE (6144), set by init" \
  grep -Eq '^Max open files +6144 +6144 ' "/proc/$netd0/limits"
AUDITOR_URL=http://$ADDR:$PORT

# --- the functions -------------------------------------------------------------------
cat > "$STATE/fn.py" <<'EOF'
import asyncio, http.client, json, socket, ssl

def many(b):                          # n connections at once, each asked once (fn-b)
    socks, tls, ok, errors = [], [], 0, {}
    ctx = ssl.create_default_context()
    def failed(stage, e):
        k = stage + ":" + e.__class__.__name__
        errors[k] = errors.get(k, 0) + 1
    for i in range(b["many"]):        # all connected first: netd counts them at accept
        try:
            socks.append(socket.create_connection(("good.test", 9443), timeout=15))
        except Exception as e:
            failed("connect", e)
    for i, s in enumerate(socks):
        try:
            t = ctx.wrap_socket(s, server_hostname="good.test")
            t.sendall(("GET /ok/%s-%d HTTP/1.1\r\nHost: good.test:9443\r\n\r\n" % (b["tag"], i)).encode())
            r = http.client.HTTPResponse(t)
            r.begin()
            ok += r.status == 200 and json.loads(r.read()) == {"path": "/ok/%s-%d" % (b["tag"], i)}
            tls.append(t)
        except Exception as e:
            failed("tls", e)
    for t in tls:
        t.close()
    return {"ok": ok, "errors": errors}

async def one(ctx, i, tag, st):
    """One connection, one request; its status and body."""
    w = None
    try:
        r, w = await asyncio.open_connection("good.test", 9443, ssl=ctx, server_hostname="good.test")
        st["open"] += 1
        w.write(("GET /c/%s-%d HTTP/1.1\r\nHost: good.test:9443\r\n\r\n" % (tag, i)).encode())
        await w.drain()
    except Exception as e:
        return ("connect", e.__class__.__name__)
    finally:
        st["started"] += 1
        if st["started"] == st["n"]:
            st["ready"].set()
    try:
        head = (await r.readuntil(b"\r\n\r\n")).decode()
        st["answered"] += 1
        status = int(head.split(" ", 2)[1])
        n = [int(l.split(":", 1)[1]) for l in head.split("\r\n") if l.lower().startswith("content-length:")]
        body = await r.readexactly(n[0]) if n else b""
        return (status, json.loads(body))
    except Exception as e:
        return ("answer", e.__class__.__name__)
    finally:
        # closed before the function returns: asyncio finishes a TLS
        # close (close_notify both ways) in its loop, and a socket whose
        # close is still pending when asyncio.run() ends stays open in
        # the warm worker, holding netd's connection to its idle timeout
        w.close()
        try:
            await asyncio.wait_for(w.wait_closed(), 15)
        except Exception:
            pass

async def extra(ctx):
    """One more connection while the n are open: its error, or what it got."""
    try:
        r, w = await asyncio.wait_for(asyncio.open_connection("good.test", 9443, ssl=ctx,
                                                              server_hostname="good.test"), 15)
        w.write(b"GET /extra HTTP/1.1\r\nHost: good.test:9443\r\n\r\n")
        got = await asyncio.wait_for(r.read(200), 15)
        w.close()
        return "answered: " + got.decode(errors="replace")[:40] if got else "eof"
    except Exception as e:
        return e.__class__.__name__

async def burst(b):
    n, tag = b["n"], b["tag"]
    ctx = ssl.create_default_context()
    st = {"n": n, "open": 0, "started": 0, "answered": 0, "ready": asyncio.Event()}
    tasks = [asyncio.ensure_future(one(ctx, i, tag, st)) for i in range(n)]
    await st["ready"].wait()          # each connected and asked, or failed
    opened, before = st["open"], st["answered"]
    refused = await extra(ctx)
    res = await asyncio.gather(*tasks)
    ok, errors = 0, {}
    for i, x in enumerate(res):
        if x == (200, {"path": "/c/%s-%d" % (tag, i), "held": n}):
            ok += 1
        else:
            k = str(x)[:80]
            errors[k] = errors.get(k, 0) + 1
    return {"ok": ok, "open": opened, "answered_before_extra": before, "extra": refused,
            "errors": errors}

async def quick(b):
    """b["quick"] connections at once, each one request answered at once."""
    ctx = ssl.create_default_context()
    async def get(i):
        w = None
        try:
            r, w = await asyncio.open_connection("good.test", 9443, ssl=ctx, server_hostname="good.test")
            w.write(("GET /ok/%s-%d HTTP/1.1\r\nHost: good.test:9443\r\n\r\n" % (b["tag"], i)).encode())
            head = (await r.readuntil(b"\r\n\r\n")).decode()
            n = [int(l.split(":", 1)[1]) for l in head.split("\r\n") if l.lower().startswith("content-length:")]
            body = json.loads(await r.readexactly(n[0]))
            return head.startswith("HTTP/1.1 200 ") and body == {"path": "/ok/%s-%d" % (b["tag"], i)}
        except Exception as e:
            return e.__class__.__name__
        finally:
            if w is not None:
                w.close()
                try:
                    await asyncio.wait_for(w.wait_closed(), 15)
                except Exception:
                    pass
    res = await asyncio.gather(*[get(i) for i in range(b["quick"])])
    return {"ok": sum(x is True for x in res), "errors": sorted(set(str(x) for x in res if x is not True))}

def handler(req):
    b = req["body"]
    if "many" in b:
        return many(b)
    if "quick" in b:
        return asyncio.run(quick(b))
    return asyncio.run(burst(b))
EOF
LIMITS='"limits":{"timeout_ms":60000,"cpu_millicores":2000,"memory_mb":512}'
for f in fn-a fn-b; do
  expect_match "deploy $f (declares good.test)" \
    "$(api POST /v1/functions "{\"id\":\"$f\",\"runtime\":\"python\",\"code\":\"$(b64 "$STATE/fn.py")\",\"egress\":[\"good.test\"],$LIMITS}")" '^201 '
done
call() { api POST "/v1/functions/$2/invoke" "$1"; }
out=$(call '{"many":1,"tag":"warm"}' fn-b)
expect_match "fn-b: one request answered (the warm-up)" "$out" '"ok": ?1, ?"errors": ?\{\}'

# --- 64 at once: the lookups of one name share its query ---------------------------
# Each of the 64 connections asks lwIP for good.test (TTL 0: nothing kept);
# those that ask while its query is out join it (DNS_MAX_REQUESTS, 255), so
# none finds lwIP without room and waits to ask again (docs/EGRESS.md,
# "New connections' tails": with 16, some waited half a second).
dns_busy() { api GET /v1/info | sed 's/^[0-9]* //' | jq '.egress.dns_busy'; }
busy0=$(dns_busy)
out=$(call '{"quick":64,"tag":"q"}' fn-b)
expect_match "fn-b: 64 connections at once, each answered with its own path" "$out" \
  '"ok": ?64, ?"errors": ?\[\]'
busy1=$(dns_busy)
no_busy() { [ -n "$busy0" ] && [ "$busy0" = "$busy1" ]; }
check "  no lookup found lwIP without room (egress.dns_busy $busy0 -> $busy1)" no_busy

# --- N at once ---------------------------------------------------------------------
kib() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$(netd_pid)/status"; }
rss0=$(kib VmRSS) hwm0=$(kib VmHWM)
( API_MAX_TIME=70 call "{\"n\":$N,\"tag\":\"a\"}" fn-a > "$STATE/burst.out" ) &
inv=$!
for _ in $(seq 600); do [ -e "$STATE/held" ] && break; sleep 0.1; done
check "the upstream holds $N requests of fn-a at once" [ "$(cat "$STATE/held" 2>/dev/null)" = "$N" ]
rss1=$(kib VmRSS)
# the pool's other 24, while fn-a holds its 1000: another function's
out=$(API_MAX_TIME=40 call '{"many":25,"tag":"b"}' fn-b)
diag "fn-b with fn-a's $N open: $out"
expect_match "  fn-b meanwhile: 24 connections answered, its 25th reset (the pool's 1024 in use)" "$out" \
  '"ok": ?24, ?"errors": ?\{"tls:[A-Za-z]+": ?1\}'
touch "$STATE/release"
wait "$inv"
out=$(cat "$STATE/burst.out")
hwm1=$(kib VmHWM)
diag "fn-a: $out"
expect_match "all $N answered, each with its own path, after all were held" "$out" \
  "^200 \\{\"ok\": ?$N, ?\"open\": ?$N, ?\"answered_before_extra\": ?0, ?"
expect_match "  the $((N + 1))th connection, made while the $N were open, was reset" "$out" \
  '"extra": ?"(ConnectionResetError|SSL[A-Za-z]*Error|IncompleteReadError|BrokenPipeError|ConnectionAbortedError)"'
# (each check one command: a `check ... && ...` would test only its first)
seen_once() { [ "$(grep -c '^/c/a-' "$STATE/https.log")" = "$N" ] && ! grep -q '^/extra' "$STATE/https.log"; }
check "  the upstream saw each request once, and no other of fn-a" seen_once
per=$(( (rss1 - rss0) * 1000 / N ))
diag "netd VmRSS: $rss0 kB idle, $rss1 kB with $N open ($((per / 1000)).$(printf '%03d' $((per % 1000))) KiB a connection); VmHWM $hwm0 kB before, $hwm1 kB after"
# The pool is 1024 slots of sizeof(struct egp_conn) (116 KiB), touched
# only when used; lwIP's heap (MEM_SIZE, 6 MiB) and pools are the rest.
bound=$(( 1024 * 116 + 6 * 1024 ))
hwm_bounded() { [ -n "$hwm0" ] && [ -n "$hwm1" ] && [ $((hwm1 - hwm0)) -lt "$bound" ]; }
check "  netd's VmHWM grew by less than the pool and lwIP's heap ($((hwm1 - hwm0)) < $bound kB)" hwm_bounded

# --- the log ------------------------------------------------------------------------
A='| select(.host == "good.test" and (.path // "" | startswith("/c/a-")))'
# the completion records follow the function's closes (best effort, after
# the answers): the log is read again until they are all in (20 s)
done_log() {
  local _
  for _ in $(seq 20); do
    log_json "$STATE/log.json" || return 1
    [ "$(rec fn-a egress "$A | select(.reason | startswith(\"completed\"))")" = "$N" ] && return 0
    sleep 1
  done
  return 0
}
check "the verified log (dshield log verify: ok)" done_log
check "fn-a: $N allow records (the request, before its first byte)" \
  [ "$(rec fn-a egress "$A | select(.decision == \"allow\" and (.reason | startswith(\"originate\")))")" = "$N" ]
check "fn-a: $N answer records, status 200" \
  [ "$(rec fn-a egress "$A | select(.status == 200 and .reason == \"response 1: completed\")")" = "$N" ]
check "fn-a: $N completion records" \
  [ "$(rec fn-a egress "$A | select(.reason | startswith(\"completed\"))")" = "$N" ]
check "fn-a: one refusal, conn_limit: the function has 1000 connections open already (limits.egress_conns)" \
  [ "$(rec fn-a egress_refused '')$(rec fn-a egress_refused '| select(.reason == "conn_limit: the function has 1000 connections open already (limits.egress_conns)")')" = 11 ]
check "fn-b: one refusal, pool_full" \
  [ "$(rec fn-b egress_refused '')$(rec fn-b egress_refused '| select(.reason | startswith("pool_full: "))')" = 11 ]
check "netd was never restarted (pid $netd0)" [ "$(netd_pid)" = "$netd0" ]
cleanup
trap - EXIT
done_testing
