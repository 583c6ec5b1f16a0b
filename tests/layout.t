#!/usr/bin/env bash
# tests/layout.t: the folders show the architecture (docs/ARCHITECTURE.md):
# no include edge between roles except through the neutral protocol
# headers of proto/, pure code in crypto/, and only bin/dshield-init.c
# knows every role.
cd "$(dirname "$0")/.." || exit 1
. tests/host/tap.sh || { echo "Bail out! cannot load tap.sh"; exit 1; }

# includes DIR: "file: folder" for every #include "folder/..." under DIR.
includes() {
  grep -rHo '^#include "[a-z_]*/' "$1" --include='*.c' --include='*.h' |
    sed 's/:#include "/: /; s/\/$//'
}
# edges DIR TARGETS...: the include lines of DIR into any of TARGETS.
edges() {
  local dir=$1; shift
  includes "$dir" | grep -E ": ($(IFS='|'; echo "$*"))\$"
}
no_edges() {
  local name=$1 out; shift
  out=$(edges "$@")
  if [ -z "$out" ]; then ok "$name"; else nok "$name"; printf '#   %s\n' $out; fi
}

check "the folders exist" [ -d init -a -d net -a -d keyd -a -d logd -a -d sandboxd -a -d crypto -a -d lib -a -d proto -a -d fs ]
check "the scan finds includes at all (positive control)" [ -n "$(edges net lib)" ]
no_edges "init/ includes no other role (net/, keyd/, logd/, sandboxd/)" init net keyd logd sandboxd
no_edges "net/ includes no other role (init/, keyd/, logd/, sandboxd/)" net init keyd logd sandboxd
no_edges "keyd/ includes no other role (init/, net/, logd/, sandboxd/)" keyd init net logd sandboxd
no_edges "logd/ includes no other role (init/, net/, keyd/, sandboxd/)" logd init net keyd sandboxd cli bin
no_edges "sandboxd/ includes no other role (init/, net/, keyd/, logd/)" sandboxd init net keyd logd cli bin
no_edges "crypto/ includes no role and no CLI" crypto init net keyd logd sandboxd cli bin
no_edges "lib/ includes only lib/" lib init net keyd logd sandboxd crypto cli bin proto
no_edges "proto/ includes only proto/" proto init net keyd logd sandboxd crypto cli bin lib
no_edges "cli/ includes no guest role (the HTTP core it serves with is lib/http.h)" cli init net keyd logd sandboxd bin
no_edges "fs/ (device-mapper, layers, store) includes only fs/ and lib/" fs init net keyd logd sandboxd crypto cli bin proto
check "tls/ has code (positive control for the next line)" [ -n "$(edges tls tls)" ]
no_edges "tls/ includes only tls/, crypto/ and lib/" tls init net keyd logd sandboxd cli bin proto fs
for d in net keyd logd sandboxd cli; do no_edges "$d/ includes no fs/ (init sets up devices)" "$d" fs; done
out=$(grep -rlE '#include "(net|keyd|logd|sandboxd)/' --include='*.c' --include='*.h' init net keyd logd sandboxd lib crypto cli proto bin |
  xargs -r grep -lE '#include "init/' | grep -v '^bin/dshield-init.c$')
check "only bin/dshield-init.c includes init/ and a role's headers together (got: $out)" [ -z "$out" ]
out=$(grep -nE '\b(open|openat|ioctl|mkdir|rmdir)[[:space:]]*\(' crypto/*.c | grep -v 'ccel_open')
check "nothing in crypto/ opens a file or a device (got: $out)" [ -z "$out" ]
done_testing
