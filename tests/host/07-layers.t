#!/usr/bin/env bash
# Runtime layer trees (image/mklayer-tree, runtimes/*/recipe,
# runtimes/README.md): each layer built twice, in different places and under
# different umasks, gives the same bytes; the trees hold only root-owned
# files, directories and links with the fixed mtime, no setuid bit, no
# device node; every ELF finds its libraries in its own tree; and python and
# node run inside their tree as the sandbox will run them: an unprivileged
# uid in a tmpfs root with the layer bind-mounted read-only, the code
# read-only, a fresh /proc, a few device nodes and an /etc holding a CA
# bundle (here a test CA; the host's glibc is never used).
TOP=$(cd "$(dirname "$0")/../.." && pwd)
. "$TOP/tests/host/tap.sh" || { echo "Bail out! cannot load tap.sh"; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "1..0 # skip needs root (chroot, mount namespaces)"; exit 0; }
for t in unshare chroot readelf openssl ip dpkg-deb tar sha256sum; do
  command -v "$t" >/dev/null || bail "$t is needed (make host-deps)"
done

tmp=$(mktemp -d /tmp/dshield-layers.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
mk=$TOP/image/mklayer-tree
layers=(native python node)

# --- two builds, one manifest -------------------------------------------------------

for l in "${layers[@]}"; do
  check "$l: builds" bash -c "'$mk' $l '$tmp/a/$l' >/dev/null"
  check "$l: builds again from another directory, umask 077, TZ and locale changed" \
    bash -c "umask 077; cd /; TZ=Pacific/Kiritimati LC_ALL=C.UTF-8 '$mk' $l '$tmp/b/deeper/path/$l' >/dev/null"
  check "$l: the two manifests are byte-identical" cmp -s "$tmp/a/$l.manifest" "$tmp/b/deeper/path/$l.manifest"
  # Independent of the manifest writer: the trees as tar streams (names,
  # modes, owners, mtimes, link targets, contents), sorted.
  check "$l: the two trees are identical (sorted tar of each)" [ \
    "$(tar -C "$tmp/a/$l" --sort=name --numeric-owner -cf - . | sha256sum)" = \
    "$(tar -C "$tmp/b/deeper/path/$l" --sort=name --numeric-owner -cf - . | sha256sum)" ]
  check "$l: the manifest lists every entry" [ \
    "$(wc -l < "$tmp/a/$l.manifest")" -eq "$(find "$tmp/a/$l" -mindepth 1 | wc -l)" ]
  check "$l: every file's SHA-256 in the manifest holds" bash -c \
    "cd '$tmp/a/$l' && awk '\$2 == \"f\" { print \$6 \"  \" \$1 }' '$tmp/a/$l.manifest' | sha256sum -c --quiet"
  diag "$l: $(find "$tmp/a/$l" -mindepth 1 | wc -l) entries, $(du -sb "$tmp/a/$l" | cut -f1) bytes (du -sb), manifest sha256 $(sha256sum < "$tmp/a/$l.manifest" | cut -c1-16)…"
done

# --- recipes and packages the builder refuses ------------------------------------

# refuse WHAT RECIPE REGEX [ENV...]: building RECIPE fails (exit 1) with a
# message matching REGEX and leaves no tree behind.
refuse() {
  local what=$1 text=$2 want=$3 err rc; shift 3
  rm -rf "$tmp/rt"; mkdir -p "$tmp/rt/bad"; printf '%s\n' "$text" > "$tmp/rt/bad/recipe"
  err=$(env "$@" RUNTIMES_DIR="$tmp/rt" "$mk" bad "$tmp/bad" 2>&1); rc=$?
  check "refused: $what (exit 1)" [ "$rc" -eq 1 ]
  expect_match "  and says why" "$err" "$want"
  check "  and leaves no tree (nor a work area)" [ -z "$(cd "$tmp" && ls -d bad bad.* 2>/dev/null)" ]
}
refuse "a dependency neither taken nor omitted" 'deb zlib1g' \
  "zlib1g Depends 'libc6 \(>= 2\.14\)': no deb of the recipe provides it"
refuse "an omit without its reason" $'deb zlib1g\nomit libc6' 'omit NAME REASON \(the reason is required\)'
refuse "an omit nothing depends on" $'deb libc6\ndeb libgcc-s1\nomit gcc-14-base doc only\nomit debconf stale' \
  'omit debconf: nothing in the recipe depends on it'
refuse "a path that leaves the tree" 'link ../escape x' "bad path '\.\./escape'"
refuse "a link over an existing path" $'dir etc 0755\nlink etc x' 'link etc: the path is taken'
refuse "an unknown verb" 'copy a b' "unknown verb 'copy'"
refuse "a package that is not pinned" 'deb python3' 'package python3: no deb row in packages.lock'
# A cache whose zlib1g has one byte changed: image/fetch refuses it (and
# moves it aside) before anything is unpacked.
mkdir -p "$tmp/cache"
while read -r n f; do cp "$f" "$tmp/cache/"; done < <("$TOP/image/fetch" --debs libc6 libgcc-s1 zlib1g)
z=$(ls "$tmp/cache"/zlib1g_*.deb)
printf '\x00' | dd of="$z" bs=1 seek=2000 conv=notrunc status=none
refuse "a cached .deb whose SHA-256 is not the pinned one" \
  $'deb libc6\ndeb libgcc-s1\nomit gcc-14-base doc only\ndeb zlib1g' \
  'package zlib1g .*: SHA-256 mismatch' DSHIELD_CACHE="$tmp/cache"
check "  the bad file was moved aside" [ -f "$z.bad" ]
check "  and is not in the cache under its name" [ ! -e "$z" ]

# The normalisation itself, on a recipe that asks for setuid/setgid modes.
rm -rf "$tmp/rt"; mkdir -p "$tmp/rt/odd"; echo x > "$tmp/rt/odd/x"
printf 'file usr/bin/su 4755 odd/x\nfile usr/bin/sg 2711 odd/x\n' > "$tmp/rt/odd/recipe"
check "a recipe asking for setuid and setgid files builds" \
  bash -c "umask 077; RUNTIMES_DIR='$tmp/rt' '$mk' odd '$tmp/odd' >/dev/null"
expect_match "  setuid and setgid bits are cleared, parents made 0755, mtime 0" \
  "$(cd "$tmp/odd" && stat -c '%n %a %U %Y' usr/bin/su usr/bin/sg usr usr/bin | tr '\n' ' ')" \
  '^usr/bin/su 755 root 0 usr/bin/sg 711 root 0 usr 755 root 0 usr/bin 755 root 0 $'

# --- what the trees may not hold ---------------------------------------------------

for l in "${layers[@]}"; do
  t=$tmp/a/$l
  check "$l: no setuid or setgid file" [ -z "$(find "$t" -perm /6000)" ]
  check "$l: only files, directories and links (no device node, fifo, socket)" \
    [ -z "$(find "$t" ! -type f ! -type d ! -type l)" ]
  check "$l: everything owned by 0:0" [ -z "$(find "$t" \( ! -uid 0 -o ! -gid 0 \))" ]
  check "$l: every mtime is SOURCE_DATE_EPOCH (0)" [ "$(find "$t" -printf '%T@\n' | sort -u)" = 0.0000000000 ]
  check "$l: no group- or world-writable entry but links" [ -z "$(find "$t" ! -type l -perm /022)" ]
  check "$l: no documentation, manuals, translations or lintian data" [ -z "$(cd "$t" &&
    find usr/share/doc usr/share/man usr/share/info usr/share/locale usr/share/lintian 2>/dev/null)" ]
done

# --- libraries and links resolve inside each tree ----------------------------------

# elf_gaps TREE: one line per NEEDED library no directory of the tree's
# dynamic linker holds, and per ELF interpreter the tree lacks.
elf_gaps() {
  local t=$1 f lib interp
  while IFS= read -r -d '' f; do
    [ "$(head -c 4 "$f" | od -An -c | tr -d ' ')" = '177ELF' ] || continue
    interp=$(readelf -l "$f" 2>/dev/null | sed -n 's/.*Requesting program interpreter: \(.*\)]/\1/p')
    [ -z "$interp" ] || [ -e "$t$interp" ] || echo "${f#"$t"/}: interpreter $interp"
    for lib in $(readelf -d "$f" 2>/dev/null | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
      [ -e "$t/usr/lib/x86_64-linux-gnu/$lib" ] || echo "${f#"$t"/}: $lib"
    done
  done < <(find "$t" -type f -print0)
}
for l in python node; do
  gaps=$(elf_gaps "$tmp/a/$l")
  check "$l: every ELF's interpreter and NEEDED libraries are in the tree" [ -z "$gaps" ]
  [ -z "$gaps" ] || printf '%s\n' "$gaps" | head -n 20 | sed 's/^/#   /'
done

# Links that leave the tree on purpose: trust anchors the sandbox's /etc provides.
for l in python node; do
  t=$tmp/a/$l
  dangling=$(cd "$t" && find . -type l -printf '%P\n' | sort | while read -r p; do
    tgt=$(readlink "$p"); case $tgt in /*) abs=$t$tgt ;; *) abs=$t/$(dirname "$p")/$tgt ;; esac
    [ -e "$abs" ] || echo "$p"; done | tr '\n' ' ')
  expect_match "$l: the only dangling links are the CA paths the sandbox fills" "$dangling" \
    '^usr/lib/ssl/cert\.pem usr/lib/ssl/certs $'
done
expect_match "python: python3 is python3.13" "$(readlink "$tmp/a/python/usr/bin/python3")" '^python3\.13$'
expect_match "python: /etc/localtime is UTC" "$(readlink "$tmp/a/python/etc/localtime")" '^/usr/share/zoneinfo/Etc/UTC$'
check "python: no /bin/sh (nothing in the layer is a shell)" [ ! -e "$tmp/a/python/usr/bin/sh" ]
check "node: no /bin/sh" [ ! -e "$tmp/a/node/usr/bin/sh" ]
check "python: the stdlib is byte-compiled (json)" [ -f "$tmp/a/python/usr/lib/python3.13/json/__pycache__/__init__.cpython-313.pyc" ]

# --- running inside the trees ----------------------------------------------------------

# A test CA and a leaf for localhost / 127.0.0.1, signed by it.
pki=$tmp/pki
mkdir -p "$pki"
check "test CA and leaf certificate made" bash -c "cd '$pki' &&
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.crt \
    -subj /CN=dshield-layers-test-ca -days 2 \
    -addext 'basicConstraints=critical,CA:TRUE' -addext 'keyUsage=critical,keyCertSign,cRLSign' 2>/dev/null &&
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout leaf.key -out leaf.csr \
    -subj /CN=localhost 2>/dev/null &&
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n' > leaf.ext &&
  openssl x509 -req -in leaf.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -extfile leaf.ext -out leaf.crt 2>/dev/null &&
  chmod 0644 leaf.key"

# sandbox LAYER CMD...: CMD as uid/gid 65534 in a fresh mount, network and
# PID namespace whose root is a tmpfs holding the layer's directories
# (read-only binds), its top-level links, /code (read-only, $tmp/code),
# /tmp, /proc, /dev/{null,zero,urandom} and a copy of the layer's /etc with
# the test CA as /etc/ssl/certs/ca-certificates.crt. The network namespace
# has only lo. Output: CMD's stdout and stderr.
code=$tmp/code
mkdir -p "$code" "$tmp/root"
cp "$pki/leaf.key" "$pki/leaf.crt" "$code/"
sandbox() {
  local layer=$tmp/a/$1; shift
  env -i PATH=/usr/sbin:/usr/bin HOME=/tmp unshare --mount --net --pid --fork --propagation private -- \
    bash -c '
    set -e
    layer=$1 code=$2 ca=$3 r=$4; shift 4
    ip link set lo up
    mount -t tmpfs -o mode=0755 tmpfs "$r"
    for e in "$layer"/*; do
      n=${e##*/}
      if [ -L "$e" ]; then cp -P "$e" "$r/$n"
      elif [ "$n" = etc ]; then
        cp -a "$e" "$r/etc"
        mkdir -p "$r/etc/ssl/certs"; cp "$ca" "$r/etc/ssl/certs/ca-certificates.crt"
      else mkdir "$r/$n"; mount --bind "$e" "$r/$n"; mount -o remount,bind,ro "$r/$n"; fi
    done
    mkdir "$r/code" "$r/tmp" "$r/proc" "$r/dev"
    chmod 1777 "$r/tmp"
    mount --bind "$code" "$r/code"; mount -o remount,bind,ro "$r/code"
    mount -t proc proc "$r/proc"
    for d in null zero urandom; do : > "$r/dev/$d"; mount --bind "/dev/$d" "$r/dev/$d"; done
    cd "$r"
    exec chroot --userspec=65534:65534 "$r" "$@"' _ "$layer" "$code" "$pki/ca.crt" "$tmp/root" "$@" 2>&1
}

# --- python ---

out=$(sandbox python /usr/bin/python3 -c 'import ssl, json, asyncio, hashlib, urllib.request, base64; print(ssl.OPENSSL_VERSION)')
expect_match "python: ssl, json, asyncio, hashlib, urllib.request, base64 import; OpenSSL 3.5" "$out" '^OpenSSL 3\.5\.[0-9]+ '
out=$(sandbox python /usr/bin/python3 -c 'import os, sys; print(tuple(sys.version_info[:2]), os.getuid())')
expect_match "python: it is 3.13 and runs as uid 65534" "$out" '^\(3, 13\) 65534$'

cat > "$code/handler.py" <<'EOF'
import asyncio

async def handler(request):
    await asyncio.sleep(0)
    return {"statusCode": 200, "body": request["x"] * 2}
EOF
out=$(sandbox python /usr/bin/python3 -c 'import sys, asyncio; sys.path.insert(0, "/code"); import handler; print(asyncio.run(handler.handler({"x": 21})))')
expect_match "python: a module's asyncio coroutine handler runs" "$out" "^\{'statusCode': 200, 'body': 42\}$"

out=$(sandbox python /usr/bin/python3 -c '
import bz2, lzma, zlib, sqlite3, ctypes, decimal, uuid, zoneinfo, datetime, xml.parsers.expat, dbm, readline, curses, mimetypes, socket
db = sqlite3.connect(":memory:"); db.execute("create table t(x)"); db.execute("insert into t values (7)")
paris = datetime.datetime(2026, 7, 1, tzinfo=zoneinfo.ZoneInfo("Europe/Paris")).utcoffset()
print(db.execute("select x from t").fetchone()[0], bz2.decompress(bz2.compress(b"a")) == b"a",
      lzma.decompress(lzma.compress(b"a")) == b"a", paris, mimetypes.guess_type("a.json")[0],
      socket.getservbyname("https"), ctypes.sizeof(ctypes.c_void_p), str(uuid.uuid4())[14])')
expect_match "python: sqlite3, bz2, lzma, zoneinfo (tzdata), mimetypes (media-types), services (netbase), ctypes, uuid" \
  "$out" '^7 True True 2:00:00 application/json 443 8 4$'

out=$(sandbox python /usr/bin/python3 -v -c 'import json' 2>&1 | grep -c 'matches /usr/lib/python3.13/json/__init__.py')
check "python: imports use the layer's .pyc (nothing compiled at run time)" [ "$out" = 1 ]

cat > "$code/tls_check.py" <<'EOF'
import http.server, ssl, threading, urllib.request

class Ok(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.send_header("Content-Length", "2"); self.end_headers()
        self.wfile.write(b"ok")
    def log_message(self, *args):
        pass

srv = http.server.HTTPServer(("127.0.0.1", 0), Ok)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain("/code/leaf.crt", "/code/leaf.key")
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
threading.Thread(target=srv.handle_request, daemon=True).start()
# The default context: trust anchors from OpenSSL's default paths.
url = "https://localhost:%d/" % srv.server_address[1]
print(urllib.request.urlopen(url, timeout=20).read().decode())
EOF
out=$(sandbox python /usr/bin/python3 /code/tls_check.py)
expect_match "python: https to localhost (/etc/hosts) verifies against the CA bundle at /etc/ssl/certs/ca-certificates.crt" "$out" '^ok$'
# requests (Debian's, in the layer): its certifi names the same bundle
sed -i 's/^threading.Thread(target=srv.handle_request, daemon=True)/threading.Thread(target=lambda: [srv.handle_request() for _ in range(2)], daemon=True)/' "$code/tls_check.py"
cat >> "$code/tls_check.py" <<'EOF'
import certifi, requests
r = requests.get(url, timeout=20)
print(r.status_code, r.text, certifi.where(), requests.__version__)
EOF
out=$(sandbox python /usr/bin/python3 /code/tls_check.py)
expect_match "python: requests imports and verifies the same way (certifi names /etc/ssl/certs/ca-certificates.crt)" \
  "$out" '^200 ok /etc/ssl/certs/ca-certificates.crt 2\.[0-9]+\.[0-9]+$'
out=$(sandbox python /usr/bin/python3 -v -c 'import requests' 2>&1 | grep -c 'matches /usr/lib/python3/dist-packages/requests/__init__.py')
check "python: requests from the layer's .pyc too" [ "$out" = 1 ]

out=$(sandbox python /usr/bin/python3 -c '
import subprocess
try:
    subprocess.run("true", shell=True)
    print("ran")
except FileNotFoundError as e:
    print("no shell:", e.filename)')
expect_match "python: without /bin/sh, subprocess(shell=True) fails with FileNotFoundError" "$out" '^no shell: /bin/sh$'

# --- node ---

out=$(sandbox node /usr/bin/node -e 'require("https"); console.log(process.versions.node)')
expect_match "node: require(\"https\") and the version (20.19.2)" "$out" '^20\.19\.2$'

cat > "$code/lib.mjs" <<'EOF'
export async function handler(request) {
  await null;
  return { statusCode: 200, body: request.x * 2 };
}
EOF
cat > "$code/legacy.cjs" <<'EOF'
exports.named = "from-cjs";
EOF
cat > "$code/main.mjs" <<'EOF'
import { handler } from "./lib.mjs";
import { named } from "./legacy.cjs";
console.log(JSON.stringify(await handler({ x: 21 })), named);
EOF
out=$(sandbox node /usr/bin/node /code/main.mjs)
expect_match "node: ESM import of a .mjs, and a named import from CommonJS (cjs-module-lexer)" "$out" \
  '^\{"statusCode":200,"body":42\} from-cjs$'

out=$(sandbox node /usr/bin/node -e 'console.log(typeof fetch, new Request("https://example.test/a").url,
  new Intl.DateTimeFormat("fr-FR", { timeZone: "Europe/Paris", month: "long" }).format(Date.UTC(2026, 6, 1)), process.getuid())')
expect_match "node: fetch and Request (undici), full ICU, uid 65534" "$out" '^function https://example\.test/a juillet 65534$'

cat > "$code/tls_check.mjs" <<'EOF'
import https from "node:https";
import fs from "node:fs";
const srv = https.createServer({ key: fs.readFileSync("/code/leaf.key"), cert: fs.readFileSync("/code/leaf.crt") },
  (req, res) => res.end("ok"));
srv.listen(0, "127.0.0.1", () => {
  https.get(`https://127.0.0.1:${srv.address().port}/`, (res) => {
    res.setEncoding("utf8");
    let body = "";
    res.on("data", (d) => { body += d; });
    res.on("end", () => { console.log(body); srv.close(); });
  }).on("error", (e) => { console.log(e.code); srv.close(); });
});
EOF
# Debian builds node with --openssl-use-def-ca-store: OpenSSL's default
# paths are its trust store unless --use-bundled-ca asks for the roots
# compiled into it.
out=$(sandbox node /usr/bin/node /code/tls_check.mjs)
expect_match "node: https verifies against /etc/ssl/certs/ca-certificates.crt (OpenSSL's store is the default)" "$out" '^ok$'
out=$(sandbox node /usr/bin/node --use-bundled-ca /code/tls_check.mjs)
expect_match "node --use-bundled-ca: its compiled-in roots only, the test CA is refused" "$out" \
  '^(UNABLE_TO_GET_ISSUER_CERT_LOCALLY|UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN)$'

out=$(sandbox node /usr/bin/node -e 'try { require("child_process").execSync("true"); console.log("ran") } catch (e) { console.log(e.code) }')
expect_match "node: without /bin/sh, child_process.execSync fails (ENOENT)" "$out" '^ENOENT$'

# --- native ---

check "native: the layer is /etc only" [ "$(cd "$tmp/a/native" && find . -mindepth 1 -maxdepth 1 | sort | tr '\n' ' ')" = "./etc " ]

done_testing
