#!/usr/bin/env bash
# Host mode, sandboxd: it runs confined as its row of the role table says
# (uid 0 keeping exactly its seven capabilities, no_new_privs, its seccomp
# filter, its own network and mount namespaces, a view of /state, the
# layers, the policy, /proc and five /dev nodes), has channels to keyd and
# logd, reads the policy init wrote, and is restarted after a kill. With
# real layer trees (DSHIELD_TEST_LAYERS, default build/layers from make
# layer-trees) it also runs python and node once each in a sandbox at start,
# from inside its own confinement, and must find both available.
. "$(dirname "$0")/lib.sh" || { echo "Bail out! cannot load lib.sh"; exit 1; }

status_field() { awk -v f="$2:" '$1 == f { $1 = ""; sub(/^ /, ""); print }' "/proc/$1/status"; }

real=${DSHIELD_TEST_LAYERS:-$TOP/build/layers}
layers=$(mktemp -d /tmp/dshield-layers.XXXXXX)
trap 'host_stop; rm -rf "$layers"' EXIT
if [ -x "$real/python/usr/bin/python3" ] && [ -x "$real/node/usr/bin/node" ] && [ -d "$real/native" ]; then
  use=$real want=0x7 names="native node python"
else
  use=$layers want=0x1 names="native"
  diag "no layer trees in $real (make layer-trees): only an empty native layer"
fi
check "setup: a layers directory with an (empty) native layer" mkdir "$layers/native"
host_start static --policy "$TOP/examples/policy.json" --layers "$use"
trap 'host_stop; rm -rf "$layers"' EXIT

sbx=
for _ in $(seq 50); do sbx=$(role_pid sandboxd); [ -n "$sbx" ] && break; sleep 0.1; done
check "sandboxd runs" [ -n "$sbx" ]
# it serves once its runtimes are probed (each interpreter run once)
for _ in $(seq 200); do grep -q 'init: sandboxd: serving' "$LOG" && break; sleep 0.1; done

# CHOWN 0, KILL 5, SETGID 6, SETUID 7, SETPCAP 8, NET_BIND_SERVICE 10, NET_ADMIN 12,
# NET_RAW 13, SYS_CHROOT 18, SYS_ADMIN 21
caps=00000000002435e1
check "sandboxd: uid 0" [ "$(status_field "$sbx" Uid)" = "0 0 0 0" ]
check "sandboxd: gid 0, no groups" [ "$(status_field "$sbx" Gid)" = "0 0 0 0" -a -z "$(status_field "$sbx" Groups)" ]
for f in CapPrm CapEff CapBnd; do
  check "sandboxd: $f is exactly its kept set ($caps; got $(status_field "$sbx" $f))" \
    [ "$(status_field "$sbx" $f)" = $caps ]
done
for f in CapInh CapAmb; do
  check "sandboxd: $f is empty" [ "$(status_field "$sbx" $f)" = 0000000000000000 ]
done
check "sandboxd: no_new_privs" [ "$(status_field "$sbx" NoNewPrivs)" = 1 ]
check "sandboxd: its descriptor limit is SANDBOXD_NOFILE (8192: every function's listeners)" \
  grep -Eq '^Max open files +8192 +8192 ' "/proc/$sbx/limits"
check "sandboxd: seccomp filter" [ "$(status_field "$sbx" Seccomp)" = 2 ]
check "sandboxd: its own network namespace" [ "$(readlink /proc/$sbx/ns/net)" != "$(readlink /proc/$INIT_PID/ns/net)" ]
check "sandboxd: its own mount namespace" [ "$(readlink /proc/$sbx/ns/mnt)" != "$(readlink /proc/$INIT_PID/ns/mnt)" ]
view=$(ls -A "/proc/$sbx/root" | tr '\n' ' ')
check "sandboxd: its root holds only its view (got: $view)" [ "$view" = "dev layers policy.json proc state store " ]
check "sandboxd: its /store is the host's STATE/sandboxd-store, apart from /state" \
  [ -d "$STATE/sandboxd-store/secrets" -a -d "$STATE/sandboxd-state/run" -a ! -e "$STATE/sandboxd-state/store" ]
devs=$(ls -A "/proc/$sbx/root/dev" | tr '\n' ' ')
check "sandboxd: /dev holds the five nodes a sandbox binds (got: $devs)" [ "$devs" = "full null random urandom zero " ]
check "sandboxd: the policy it reads is the one init wrote" \
  cmp -s "$STATE/policy.json" "/proc/$sbx/root/policy.json"
check "sandboxd: its view of the policy is read-only" \
  bash -c "! ( : >> /proc/$sbx/root/policy.json ) 2>/dev/null"
expect_match "sandboxd: serving, the policy accepted, runtimes available: $names" "$(cat "$LOG")" \
  "sandboxd: serving: 0 functions, runtimes available $want, limits NOT enforced, data quotas NOT enforced, secrets sealed: none \\(host mode\\)\$"
expect_match "init heard its status" "$(cat "$LOG")" "init: sandboxd: serving \(0 functions; runtimes available: $names; limits NOT enforced\)"
expect_match "keyd has a channel to it" "$(cat "$LOG")" 'sandboxd: channel to keyd #1'
expect_match "logd has a channel to it" "$(cat "$LOG")" 'logd: channel to sandboxd #1'

check "sandboxd is killed" kill -KILL "$sbx"
new=
for _ in $(seq 100); do new=$(role_pid sandboxd); [ -n "$new" ] && [ "$new" != "$sbx" ] && break; sleep 0.1; done
check "  init restarts it (new pid $new)" [ -n "$new" -a "$new" != "$sbx" ]
expect_match "  with backoff, said in the log" "$(cat "$LOG")" 'restarting sandboxd in [0-9]+ ms'
for _ in $(seq 50); do [ "$(grep -c 'logd: channel to sandboxd #' "$LOG")" -ge 2 ] && break; sleep 0.1; done
expect_match "  and logd gets a fresh channel to it" "$(cat "$LOG")" 'logd: channel to sandboxd #2'

done_testing
