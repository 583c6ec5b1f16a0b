#!/usr/bin/env python3
# qemu-test/powercut.py: power cuts of the encrypted store that really lose
# what was not flushed (docs/STORE.md, "Power cuts"; qemu-test/t/09-powercut.t).
#
#   powercut.py serve SOCKET DISK JOURNAL
#       an NBD server (fixed newstyle; NBD_OPT_GO, INFO, EXPORT_NAME;
#       READ, WRITE with FUA, FLUSH, TRIM, DISC) on the unix socket SOCKET,
#       serving the raw file DISK, one request at a time, in order. Every
#       WRITE, TRIM and FLUSH is appended to JOURNAL (a record: type,
#       flags, length, sequence number, offset, then the data) before it
#       is answered, so the journal's size when an answer reaches the guest
#       says which records the guest could have seen completed.
#   powercut.py workload URL JOURNAL OUT ITERATIONS
#       (in the guest's namespace) deploys, updates and deletes functions,
#       puts secrets, invokes, fetches signed checkpoints, ITERATIONS times; for
#       every request, the journal's size when it was sent and when its
#       answer arrived, and the state it acknowledged: OUT (JSON).
#   powercut.py points JOURNAL OUT [--random N] [--least L] [--seed S]
#       the crash points: after every FLUSH and FUA write (one per run of
#       them with no write between: the same disk), N random points between
#       them (more when needed to reach L points in all), the last record,
#       and the liar (a negative control: the middle flushed state with
#       the last acknowledgements); OUT (JSON).
#   powercut.py check BASE JOURNAL POINTS OPS MANIFEST STORE_CRASH DSHIELD WORK OUT FINAL [KEEP [PIECE]]
#       each point's disk rebuilt as a power cut there may leave it: BASE,
#       every write before the point's last flush (and every FUA write up
#       to the point), and for a point between flushes a random subset of
#       the 4 KiB pieces written since (what a volatile cache may have
#       kept); then checked on the host (docs/STORE.md): one JSON line per
#       point in OUT; the last point must equal FINAL (the served disk
#       after the run: the journal holds every write). KEEP: point
#       numbers (comma-separated) whose rebuilt disk is kept as
#       WORK/point-N.img, to boot. PIECE: the unit a cut keeps or loses
#       (4096).
#   powercut.py tornsb BASE JOURNAL OUT [--first]
#       the last write over ext4's superblock (bytes 1024..2047 of the
#       dm-crypt area: two 512-byte sectors) cut after its first sector,
#       every write before it kept: a cut the virtio disk's 512-byte
#       sectors allow. --first: the first such write (a boot's mount).
import json, os, random, socket, struct, subprocess, sys, time, hashlib, base64, shutil
import urllib.request, urllib.error

REC = struct.Struct("<BBHIQQ")   # type, flags, 0, length, seq, offset
T_WRITE, T_FLUSH, T_TRIM = 1, 2, 3
F_FUA = 1
# What a cut keeps or loses as a unit of a write not yet flushed: 4096 by
# default (the host's page and a 4Kn or 512e disk's physical sector);
# --piece 512, the virtio disk's logical sector, tears ext4's superblock
# (docs/STORE.md, "Power cuts": a known limit, the tornsb case)
PIECE = 4096

# --- the NBD server ----------------------------------------------------------------------

NBD_MAGIC, IHAVEOPT, REPLY_MAGIC = b"NBDMAGIC", 0x49484156454F5054, 0x3e889045565a9
REQ_MAGIC, SIMPLE_REPLY = 0x25609513, 0x67446698
FLAG_FIXED_NEWSTYLE, FLAG_NO_ZEROES = 1, 2
OPT_EXPORT_NAME, OPT_ABORT, OPT_INFO, OPT_GO = 1, 2, 6, 7
REP_ACK, REP_INFO, REP_ERR_UNSUP = 1, 3, 0x80000001
TF = 1 | 4 | 8 | 32          # HAS_FLAGS, SEND_FLUSH, SEND_FUA, SEND_TRIM
CMD_READ, CMD_WRITE, CMD_DISC, CMD_FLUSH, CMD_TRIM = 0, 1, 2, 3, 4
CMD_FLAG_FUA = 1
EINVAL = 22

def recv_exact(c, n):
    b = bytearray()
    while len(b) < n:
        k = c.recv(n - len(b))
        if not k:
            raise EOFError
        b += k
    return bytes(b)

def write_all(fd, b):
    view = memoryview(b)
    while view:
        view = view[os.write(fd, view):]

class Server:
    def __init__(self, disk, journal):
        self.dfd = os.open(disk, os.O_RDWR)
        self.size = os.fstat(self.dfd).st_size
        self.jfd = os.open(journal, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND, 0o600)
        self.seq = 0

    def record(self, typ, flags, off, data, length):
        write_all(self.jfd, REC.pack(typ, flags, 0, length, self.seq, off) + data)
        self.seq += 1

    def handshake(self, c):
        c.sendall(NBD_MAGIC + struct.pack(">QH", IHAVEOPT, FLAG_FIXED_NEWSTYLE | FLAG_NO_ZEROES))
        cflags, = struct.unpack(">I", recv_exact(c, 4))
        while True:
            magic, opt, n = struct.unpack(">QII", recv_exact(c, 16))
            data = recv_exact(c, n)
            if magic != IHAVEOPT:
                raise EOFError
            rep = lambda t, d=b"": c.sendall(struct.pack(">QIII", REPLY_MAGIC, opt, t, len(d)) + d)
            if opt == OPT_EXPORT_NAME:
                c.sendall(struct.pack(">QH", self.size, TF) +
                          (b"" if cflags & FLAG_NO_ZEROES else bytes(124)))
                return
            if opt in (OPT_INFO, OPT_GO):
                rep(REP_INFO, struct.pack(">HQH", 0, self.size, TF))
                rep(REP_ACK)
                if opt == OPT_GO:
                    return
            elif opt == OPT_ABORT:
                rep(REP_ACK)
                raise EOFError
            else:
                rep(REP_ERR_UNSUP)

    def transmit(self, c):
        while True:
            magic, flags, typ, handle, off, n = struct.unpack(">IHHQQI", recv_exact(c, 28))
            if magic != REQ_MAGIC:
                return
            bad = off + n > self.size
            reply = lambda err, d=b"": c.sendall(struct.pack(">IIQ", SIMPLE_REPLY, err, handle) + d)
            if typ == CMD_READ:
                reply(EINVAL) if bad else reply(0, os.pread(self.dfd, n, off))
            elif typ == CMD_WRITE:
                data = recv_exact(c, n)
                if bad:
                    reply(EINVAL)
                    continue
                fua = F_FUA if flags & CMD_FLAG_FUA else 0
                self.record(T_WRITE, fua, off, data, n)
                os.pwrite(self.dfd, data, off)
                reply(0)
            elif typ == CMD_FLUSH:
                self.record(T_FLUSH, 0, 0, b"", 0)
                reply(0)
            elif typ == CMD_TRIM:
                if bad:
                    reply(EINVAL)
                    continue
                # a trimmed range reads back as zeros here; recorded as such
                self.record(T_TRIM, 0, off, b"", n)
                os.pwrite(self.dfd, bytes(n), off)
                reply(0)
            elif typ == CMD_DISC:
                return
            else:
                reply(EINVAL)

def serve(sock_path, disk, journal):
    s = Server(disk, journal)
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    if os.path.exists(sock_path):
        os.unlink(sock_path)
    srv.bind(sock_path)
    srv.listen(1)
    while True:
        c, _ = srv.accept()
        try:
            s.handshake(c)
            s.transmit(c)
        except (EOFError, ConnectionError):
            pass
        c.close()

# --- the journal ---------------------------------------------------------------------------

def read_journal(path):
    """[(type, flags, offset, length, data_pos, end_pos)], data read lazily."""
    recs = []
    with open(path, "rb") as f:
        pos = 0
        size = os.fstat(f.fileno()).st_size
        while pos + REC.size <= size:
            f.seek(pos)
            typ, flags, _, n, seq, off = REC.unpack(f.read(REC.size))
            dlen = n if typ == T_WRITE else 0
            end = pos + REC.size + dlen
            if end > size:
                break
            recs.append((typ, flags, off, n, pos + REC.size, end))
            pos = end
    return recs

# --- the workload -----------------------------------------------------------------------------

TOKEN = os.environ.get("FN_ADMIN_TOKEN", "dshield-example-admin-token")

def code_of(fid, version):
    return (f"# {fid} version {version}\n"
            f"def handler(request):\n    return {{\"id\": \"{fid}\", \"version\": {version}}}\n").encode()

def workload(url, journal, out, iterations):
    jsize = lambda: os.stat(journal).st_size
    ops, checkpoints, failures = [], [], []

    def call(method, path, body=None, auth=True, timeout=120):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(url + path, data=data, method=method)
        if auth:
            req.add_header("Authorization", "Bearer " + TOKEN)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()
        except OSError as e:
            return 0, str(e).encode()

    def op(kind, key, state, method, path, body, ok_codes, version=None):
        start = jsize()
        st, resp = call(method, path, body)
        for _ in range(60):         # sandboxd still starting: 503 unavailable
            if st != 503:
                break
            time.sleep(1)
            start = jsize()
            st, resp = call(method, path, body)
        ack = jsize()
        acked = st in ok_codes
        ops.append({"kind": kind, "key": key, "state": state, "start": start,
                    "ack": ack if acked else None, "status": st, "version": version})
        if not acked:
            failures.append(f"{method} {path}: {st} {resp[:200]!r}")
        return acked

    def checkpoint():
        st, text = call("GET", "/v1/log/checkpoint?fresh=1", auth=False)
        ack = jsize()
        if st == 200:
            size = int(text.decode().split("\n")[1])
            checkpoints.append({"size": size, "text": text.decode(), "ack": ack})
        else:
            failures.append(f"checkpoint: {st}")

    st, att = call("GET", "/v1/attestation?nonce=" + os.urandom(32).hex(), auth=False)
    if st != 200:
        failures.append(f"attestation: {st}")
    ids = [f"pc-f{k}" for k in range(4)]   # then updates, and a delete every third round
    present, version = {}, {}
    i = 0
    while i < iterations:
        name = f"PC_S{i % 5}"           # from round 5 on, values overwritten
        value = f"v{i}-{os.urandom(6).hex()}"
        op("secret", name, value.encode().hex(), "POST", "/api/secrets",
           {"name": name, "value": value}, (200,))
        fid = ids[i % len(ids)]
        if not present.get(fid):
            version[fid] = i
            code = code_of(fid, i)
            body = {"id": fid, "runtime": "python", "handler": "handler",
                    "code": base64.b64encode(code).decode()}
            if op("function", fid, hashlib.sha256(code).hexdigest(), "POST", "/api/functions",
                  body, (200, 201), i):
                present[fid] = True
        elif i % 3 == 1:
            if op("function", fid, None, "DELETE", f"/api/functions/{fid}", None, (200, 204)):
                present[fid] = False
        else:
            version[fid] = i
            code = code_of(fid, i)
            body = {"id": fid, "runtime": "python", "handler": "handler",
                    "code": base64.b64encode(code).decode()}
            op("function", fid, hashlib.sha256(code).hexdigest(), "PUT", f"/api/functions/{fid}",
               body, (200,), i)
        if i % 8 == 3:
            st, resp = call("POST", f"/invoke/{fid}", {"n": i}, auth=False)
            if st != 200 and present.get(fid):
                failures.append(f"invoke {fid}: {st} {resp[:200]!r}")
        checkpoint()
        i += 1
    json.dump({"ops": ops, "checkpoints": checkpoints, "failures": failures,
               "attestation": att.decode(errors="replace"), "iterations": i,
               "versions": version}, open(out, "w"))
    print(f"{i} iterations, {len(ops)} operations, {len(checkpoints)} checkpoints, "
          f"{len(failures)} failures")
    for f in failures:
        print("failure:", f)
    return 0 if not failures else 1

# --- crash points and rebuilt disks ---------------------------------------------------------

def points(journal, out, nrandom, seed, least):
    """A flush point per run of FLUSH/FUA records with no plain write
    between them (one image), its end stretched to where the next plain
    write starts: a cut anywhere in there leaves the same disk, so the one
    with the most acknowledgements is the one to check. Then random points
    between flushes (at least `least` points in all), and the last."""
    recs = read_journal(journal)
    rng = random.Random(seed)
    pts = []
    durable = lambda r: r[0] == T_FLUSH or (r[0] == T_WRITE and r[1] & F_FUA)
    for i, r in enumerate(recs):
        nxt = recs[i + 1] if i + 1 < len(recs) else None
        if durable(r) and nxt is not None and not durable(nxt) and r[0] == T_FLUSH:
            pts.append({"index": i, "kind": "flush", "end": nxt[4] - REC.size})
        elif durable(r) and nxt is not None and not durable(nxt):
            pts.append({"index": i, "kind": "fua", "end": nxt[4] - REC.size})
    between = [i for i, r in enumerate(recs) if not durable(r)]
    want = max(nrandom, least - len(pts) - 1)
    for i in sorted(rng.sample(between, min(want, len(between)))):
        pts.append({"index": i, "kind": "between", "seed": rng.randrange(1 << 30),
                    "end": recs[i][5]})
    pts.append({"index": len(recs) - 1, "kind": "last", "end": recs[-1][5]})
    # the negative control: a disk that acknowledged flushes it did not
    # keep (the image of the middle flushed state, the acknowledgements of
    # the end): the checks must find acknowledged requests missing
    flushed = [p for p in pts if p["kind"] == "flush"]
    if flushed:
        pts.append({"index": flushed[len(flushed) // 2]["index"], "kind": "liar",
                    "end": recs[-1][5]})
    pts.sort(key=lambda p: (p["index"], p["kind"]))
    json.dump(pts, open(out, "w"))
    nflush = sum(1 for r in recs if r[0] == T_FLUSH)
    nfua = sum(1 for r in recs if r[0] == T_WRITE and r[1] & F_FUA)
    nw = sum(1 for r in recs if r[0] != T_FLUSH)
    nimg = sum(1 for p in pts if p["kind"] in ("flush", "fua"))
    pts_n = sum(1 for p in pts if p["kind"] != "liar")
    print(f"records {len(recs)} writes {nw} fua {nfua} flushes {nflush} "
          f"flush_images {nimg} points {pts_n} (and a liar)")

class Rebuilder:
    """Walks the points in order, keeping the durable image in memory."""
    def __init__(self, base, journal, piece=PIECE):
        self.piece = piece
        self.img = bytearray(open(base, "rb").read())
        self.jf = open(journal, "rb")
        self.recs = read_journal(journal)
        self.done = 0          # records applied to self.img (all before a flush)

    def data(self, r):
        if r[0] == T_TRIM:
            return bytes(r[3])
        self.jf.seek(r[4])
        return self.jf.read(r[3])

    def apply(self, img, r, keep=None):
        d = self.data(r)
        step = self.piece
        for k in range(0, len(d), step):
            if keep is None or keep():
                img[r[2] + k:r[2] + k + min(step, len(d) - k)] = d[k:k + step]

    def at(self, p):
        """The image at point p, and (end_pos, flush index)."""
        i = p["index"]
        last_flush = max((k for k in range(i + 1) if self.recs[k][0] == T_FLUSH), default=-1)
        while self.done < last_flush:
            r = self.recs[self.done]
            if r[0] != T_FLUSH:
                self.apply(self.img, r)
            self.done += 1
        tail = [r for r in self.recs[max(last_flush, self.done):i + 1] if r[0] != T_FLUSH]
        if p["kind"] == "last":
            img = bytearray(self.img)
            for r in tail:
                self.apply(img, r)
            return img
        rng = random.Random(p.get("seed", 0))
        if p["kind"] == "between" and tail:
            img = bytearray(self.img)
            for r in tail:
                fua = r[1] & F_FUA
                self.apply(img, r, None if fua else (lambda: rng.random() < 0.5))
            return img
        img = bytearray(self.img)
        for r in tail:             # a FUA point: the FUA writes up to it
            if r[1] & F_FUA:
                self.apply(img, r)
        return img

# --- the checks ---------------------------------------------------------------------------------

def allowed(ops_for_key, end):
    """States the key may show after a cut at journal byte end."""
    acked = [k for k, o in enumerate(ops_for_key) if o["ack"] is not None and o["ack"] <= end]
    a = acked[-1] if acked else -1
    ok = {ops_for_key[a]["state"] if a >= 0 else None}
    for o in ops_for_key[a + 1:]:
        if o["start"] < end:
            ok.add(o["state"])
    return ok, a >= 0

def run(cmd, **kw):
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)

def check(argv):
    (base, journal, pts_file, ops_file, manifest, tool, dshield, work, out, final) = argv[:10]
    keep = set(int(x) for x in argv[10].split(",")) if len(argv) > 10 and argv[10] else set()
    piece = int(argv[11]) if len(argv) > 11 else PIECE
    pts = json.load(open(pts_file))
    wl = json.load(open(ops_file))
    by_key = {}
    for o in wl["ops"]:
        by_key.setdefault((o["kind"], o["key"]), []).append(o)
    att = os.path.join(work, "att.json")
    open(att, "w").write(wl["attestation"])
    rb = Rebuilder(base, journal, piece)
    res = open(out, "w")
    disk, plain = os.path.join(work, "pt.img"), os.path.join(work, "plain.img")
    for n, p in enumerate(pts):
        t0 = time.monotonic()
        img = rb.at(p)
        end = p["end"]
        with open(disk, "wb") as f:
            f.write(img)
        if p["kind"] == "last" and final:
            same = hashlib.sha256(img).digest() == hashlib.sha256(open(final, "rb").read()).digest()
            facts_last = {"same_as_served": same}
        else:
            facts_last = {}
        if n in keep:
            shutil.copyfile(disk, os.path.join(work, f"point-{n}.img"))
        fails = []
        acked_any = any(o["ack"] is not None and o["ack"] <= end for o in wl["ops"])
        cps = [c for c in wl["checkpoints"] if c["ack"] <= end]
        m = max(cps, key=lambda c: c["size"]) if cps else None
        r = run([tool, "open", manifest, disk, plain])
        facts = {"header": "ok", **facts_last}
        if facts_last and not facts_last["same_as_served"]:
            fails.append("the last point rebuilt differs from the disk the server wrote")
        if r.returncode == 3:
            facts["header"] = "blank"
            if acked_any or m:
                fails.append("header blank although requests were acknowledged")
        elif r.returncode != 0:
            facts["header"] = "refused"
            fails.append("header: " + r.stdout.strip())
        else:
            r = run(["e2fsck", "-E", "journal_only", "-p", plain])
            facts["replay"] = r.returncode
            if r.returncode not in (0, 1):
                fails.append(f"e2fsck journal replay: exit {r.returncode}: {r.stdout[-300:]}")
            # what a boot-time fsck -p may fix on its own after an
            # unclean shutdown (e2fsprogs' PREEN_OK problems); anything
            # else is exit 4, "UNEXPECTED INCONSISTENCY"
            r = run(["e2fsck", "-fp", plain])
            facts["preen"] = r.returncode
            facts["preen_said"] = sorted(set(
                l.split(": ", 1)[1] for l in r.stdout.splitlines()
                if ": " in l and "files (" not in l))
            if r.returncode not in (0, 1):
                fails.append(f"e2fsck -fp: exit {r.returncode}: {r.stdout[-600:]}")
            r = run(["e2fsck", "-fn", plain])
            facts["fsck"] = r.returncode
            if r.returncode != 0:
                fails.append(f"e2fsck -fn after the replay and preen: exit {r.returncode}: "
                             f"{r.stdout[-600:]}")
            dump = os.path.join(work, "dump")
            shutil.rmtree(dump, ignore_errors=True)
            os.mkdir(dump)
            r = run(["debugfs", "-R", "ls -p /", plain])
            top = r.stdout
            for d in ("logd-state", "sandboxd-store"):
                if f"/{d}/" in top:
                    r = run(["debugfs", "-R", f"rdump /{d} {dump}", plain])
            has = {d: os.path.isdir(os.path.join(dump, d)) for d in ("logd-state", "sandboxd-store")}
            if not all(has.values()):
                if acked_any or m:
                    fails.append(f"no role directories on the store ({has}) although "
                                 "requests were acknowledged")
            else:
                tiles = os.path.join(work, "tiles")
                shutil.rmtree(tiles, ignore_errors=True)
                cmd = [tool, "state", manifest, disk, dump]
                if m:
                    cmd += [tiles, str(m["size"])]
                r = run(cmd)
                seen = {}
                log_n = None
                for line in r.stdout.splitlines():
                    w = line.split(" ")
                    if w[0] == "function":
                        seen[("function", w[1])] = w[2]
                    elif w[0] == "secret":
                        seen[("secret", w[1])] = w[2]
                    elif w[0] == "log":
                        log_n = int(w[1])
                        facts["log"] = log_n
                        facts["torn"] = int(w[2])
                    elif w[0] == "bad":
                        fails.append(line)
                    elif w[0] == "recovered":
                        facts["recovered"] = facts.get("recovered", 0) + 1
                if r.returncode != 0 and not any(f.startswith("bad") for f in fails):
                    fails.append("store_crash state: " + r.stdout[-300:])
                for key, ol in by_key.items():
                    ok, _ = allowed(ol, end)
                    if seen.get(key) not in ok:
                        fails.append(f"{key[0]} {key[1]}: on the disk {seen.get(key)}, "
                                     f"acknowledged or in flight {sorted(map(str, ok))}")
                for key in seen:
                    if key not in by_key:
                        fails.append(f"{key[0]} {key[1]}: on the disk, never written")
                if m:
                    facts["acked_log"] = m["size"]
                    if log_n is None or log_n < m["size"]:
                        fails.append(f"log: {log_n} entries, {m['size']} acknowledged")
                    elif os.path.isdir(tiles):
                        open(os.path.join(tiles, "checkpoint"), "w").write(m["text"])
                        r = run([dshield, "log", "verify", tiles, "--attestation", att,
                                 "--allow-sim", "--no-collateral"])
                        if r.returncode != 0:
                            fails.append("dshield log verify: " + r.stdout[-600:])
                facts["functions"] = {k[1]: v for k, v in seen.items() if k[0] == "function"}
                facts["secrets"] = sorted(k[1] for k in seen if k[0] == "secret")
        facts["ms"] = int((time.monotonic() - t0) * 1000)
        res.write(json.dumps({"n": n, "index": p["index"], "kind": p["kind"], "end": end,
                              "acked": sum(1 for o in wl["ops"] if o["ack"] is not None
                                           and o["ack"] <= end),
                              "facts": facts, "fails": fails}) + "\n")
        res.flush()
    return 0

def tornsb(base, journal, out, first=False):
    rb = Rebuilder(base, journal)
    img = rb.img
    # the data offset from the last header write (sector 0), else 2048
    data_off = 2048
    for r in rb.recs:
        if r[0] == T_WRITE and r[2] == 0 and r[3] >= 96:
            data_off = struct.unpack_from("<Q", rb.data(r), 88)[0]
    lo = data_off * 512 + 1024
    over = [i for i, r in enumerate(rb.recs)
            if r[0] != T_FLUSH and r[2] <= lo and r[2] + r[3] >= lo + 1024]
    last = (over[0] if first else over[-1]) if over else None
    if last is None:
        print("no write covers the superblock", file=sys.stderr)
        return 1
    for r in rb.recs[:last]:
        if r[0] != T_FLUSH:
            rb.apply(img, r)
    r = rb.recs[last]
    d = rb.data(r)
    k = lo - r[2]
    img[lo:lo + 512] = d[k:k + 512]
    open(out, "wb").write(img)
    print(f"record {last} of {len(rb.recs)}: {r[3]} bytes at {r[2]}, kept the superblock's first sector")
    return 0

def main(argv):
    if len(argv) in (5, 6) and argv[1] == "tornsb" and argv[5:] in ([], ["--first"]):
        return tornsb(argv[2], argv[3], argv[4], argv[5:] == ["--first"])
    if len(argv) == 5 and argv[1] == "serve":
        serve(argv[2], argv[3], argv[4])
        return 0
    if len(argv) == 6 and argv[1] == "workload":
        return workload(argv[2], argv[3], argv[4], int(argv[5]))
    if len(argv) >= 4 and argv[1] == "points":
        opt = lambda k, d: int(argv[argv.index(k) + 1]) if k in argv else d
        points(argv[2], argv[3], opt("--random", 40), opt("--seed", 1), opt("--least", 100))
        return 0
    if len(argv) >= 12 and argv[1] == "check":
        return check(argv[2:])
    print("usage: see the head of qemu-test/powercut.py", file=sys.stderr)
    return 2

if __name__ == "__main__":
    sys.exit(main(sys.argv))
