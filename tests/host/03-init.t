#!/usr/bin/env bash
# Host mode, init's side: command line, shutdown on SIGTERM and SIGINT,
# --no-seccomp, and that netd's confinement is what docs/INIT.md says.
. "$(dirname "$0")/lib.sh" || { echo "Bail out! cannot load lib.sh"; exit 1; }

bin=${INIT_BIN:-$TOP/build/dshield-init}

# --- command line (no root needed for these, but lib.sh's fixture is) ----------
out=$("$bin" --version); rc=$?
check "--version exits 0" [ "$rc" -eq 0 ]
expect_match "--version prints the version" "$out" '^dshield-init [0-9]+\.[0-9]+\.[0-9]+$'
"$bin" --help >/dev/null; check "--help exits 0" [ $? -eq 0 ]
"$bin" >/dev/null 2>&1; check "no arguments (not PID 1): exit 2" [ $? -eq 2 ]
"$bin" --host --bogus >/dev/null 2>&1; check "unknown option: exit 2" [ $? -eq 2 ]
"$bin" --host --state /nonexistent >/dev/null 2>&1
check "--host without --netif: exit 2" [ $? -eq 2 ]
err=$("$bin" --host --state /nonexistent --netif x --ip 10.0.0.1 2>&1); rc=$?
check "--ip without a prefix: exit 2" [ "$rc" -eq 2 ]
expect_match "the cmdline parser names the bad word" "$err" "dshield\.ip=10\.0\.0\.1"
"$bin" --host --state /nonexistent --netif x --ip '1.2.3.4/24 dshield.x=1' >/dev/null 2>&1
check "a value with a space cannot smuggle another word: exit 2" [ $? -eq 2 ]
"$bin" --host --state /nonexistent --netif x --http-port 0 >/dev/null 2>&1
check "--http-port 0: exit 2" [ $? -eq 2 ]

# --- SIGTERM: netd stopped, exit 0 ------------------------------------------------
host_start static
npid=$(netd_pid)
check "netd is running" [ -n "$npid" ]
st=$(cat /proc/"$npid"/status 2>/dev/null)
expect_match "netd uid is 100" "$st" $'Uid:\t100\t100\t100\t100'
expect_match "netd gid is 100" "$st" $'Gid:\t100\t100\t100\t100'
expect_match "netd has an empty bounding set" "$st" $'CapBnd:\t0000000000000000'
expect_match "netd is under seccomp filtering" "$st" $'Seccomp:\t2'
check "netd's root is the empty netd-root" [ "$(readlink /proc/"$npid"/root)" = "$STATE/netd-root" ]
check "netd-root is empty" [ -z "$(ls -A "$STATE/netd-root")" ]
expect_match "netd-root is 0555 root:root" "$(stat -c '%a %U:%G' "$STATE/netd-root")" '^555 root:root$'
fds=$(ls /proc/"$npid"/fd | sort -n | tr '\n' ' ')
expect_match "netd holds fds 0-3 from init plus its own (packet socket, epoll, timer)" "$fds" '^0 1 2 3 '
kill -TERM "$INIT_PID"
for _ in $(seq 50); do kill -0 "$INIT_PID" 2>/dev/null || break; sleep 0.1; done
wait "$INIT_PID"; rc=$?
check "SIGTERM: dshield-init exits 0" [ "$rc" -eq 0 ]
check "SIGTERM: netd is gone" [ ! -e /proc/"$npid" ]
expect_match "SIGTERM: shutdown logged" "$(cat "$LOG")" 'SIGTERM received: shutting down'
INIT_PID=
host_stop

# --- SIGINT, with --no-seccomp ------------------------------------------------------
host_start static --no-seccomp
npid=$(netd_pid)
expect_match "--no-seccomp: warning in init's log" "$(cat "$LOG")" 'WARNING: --no-seccomp'
expect_match "--no-seccomp: netd warns too" "$(cat "$LOG")" 'seccomp filter NOT installed'
st=$(cat /proc/"$npid"/status 2>/dev/null)
expect_match "--no-seccomp: netd has no filter" "$st" $'Seccomp:\t0'
expect_match "--no-seccomp: netd still has no_new_privs" "$st" $'NoNewPrivs:\t1'
expect_match "--no-seccomp: netd still unprivileged" "$st" $'CapEff:\t0000000000000000'
kill -INT "$INIT_PID"
for _ in $(seq 50); do kill -0 "$INIT_PID" 2>/dev/null || break; sleep 0.1; done
wait "$INIT_PID"; rc=$?
check "SIGINT: dshield-init exits 0" [ "$rc" -eq 0 ]
INIT_PID=
host_stop

done_testing
