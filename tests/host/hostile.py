#!/usr/bin/python3
"""tests/host/hostile.py: hostile clients for tests/host/05-hostile.t.

Runs inside the test's network namespace and talks only to the address it
is given. Every loop is bounded in count and in time. Results are printed
as "key value" lines for the shell test to check.

  hostile.py idle ADDR PORT N [SRC]
      opens N connections that never send a byte (from SRC if given),
      prints "opened K", then holds them until stdin closes.
  hostile.py keepalive ADDR PORT N SRC
      N keep-alive connections from SRC, each answers one GET /healthz;
      prints "ready K"; on a line on stdin asks again on each, prints
      "answered K"; exits when stdin closes.
  hostile.py pipeline ADDR PORT N SECONDS
      N clients write pipelined GET /healthz as fast as the server takes
      them for SECONDS, never reading; prints "pipelined K BYTES", then
      holds them until stdin closes.
  hostile.py get ADDR PORT PATH
      one GET on a new connection; prints "status CODE" and the body.
  hostile.py synflood ADDR PORT RATE SECONDS
      RATE SYNs per second for SECONDS from random addresses in
      10.0.0.0/8 (spoofed: raw socket, root); prints "sent K".

TLS clients (tests/host/15-hostile-tls.t). Each opens N connections
(from SRC, or from the addresses in SRC separated by commas, in turn),
prints "opened K held H done D" (K connected; H of them not closed by
the server yet; D did all they do below before the server cut them off),
holds them until a line arrives on stdin, then waits
up to 60 s for the server to close them (EOF or reset) and prints
"closed K" (how many it closed), then holds until stdin closes.

  hostile.py tlsrecord ADDR PORT N SRC
      sends the 5-byte header of a handshake record and nothing more.
  hostile.py tlshello ADDR PORT N SRC
      sends a whole ClientHello and never answers the server's flight.
  hostile.py tlsidle ADDR PORT N SRC
      completes the handshake, then sends nothing.
  hostile.py tlsslow ADDR PORT N SRC
      completes the handshake, sends a POST head and 60,000 of the 65,536
      body bytes it announces (the body buffer and the engine's input
      buffer filled), then one more byte a second (slowloris inside TLS).
  hostile.py tlsget ADDR PORT PATH [SRC]
      one GET over TLS (the server's certificate is not checked: the
      attested key is 13-api-tls.t's business); prints "status CODE".
"""
import os
import random
import select
import socket
import ssl
import struct
import sys
import time

# Generous: a loaded machine may be slow to run netd, and a connect that
# times out would count as a client netd shut out.
CONNECT_TIMEOUT = 15.0


def connect(addr, port, src=None):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if src:
        s.bind((src, 0))
    s.settimeout(CONNECT_TIMEOUT)
    try:
        s.connect((addr, port))
    except OSError:
        s.close()
        return None
    return s


def hold_until_stdin_closes(limit_s=120):
    """Blocks until stdin reaches EOF, or limit_s at most."""
    end = time.monotonic() + limit_s
    while time.monotonic() < end:
        r, _, _ = select.select([sys.stdin], [], [], 1.0)
        if r and not sys.stdin.readline():
            return


def read_response(s, timeout=5.0):
    """One response (headers + Content-Length body): (status, body) or (0, '')."""
    s.settimeout(timeout)
    data = b""
    end = time.monotonic() + timeout
    try:
        while time.monotonic() < end:
            head, sep, rest = data.partition(b"\r\n\r\n")
            if sep:
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    k, _, v = line.partition(b":")
                    if k.strip().lower() == b"content-length":
                        length = int(v.strip())
                if len(rest) >= length:
                    return int(head.split(b" ")[1]), rest[:length].decode(errors="replace")
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    except (OSError, ValueError, IndexError):
        pass
    return 0, ""


def request(path, close=False):
    conn = "Connection: close\r\n" if close else ""
    return ("GET %s HTTP/1.1\r\nHost: dut\r\n%s\r\n" % (path, conn)).encode()


def cmd_idle(addr, port, n, src=None):
    socks = []
    end = time.monotonic() + 60
    for _ in range(int(n)):
        if time.monotonic() > end:
            break
        s = connect(addr, port, src)
        if s is not None:
            socks.append(s)
    print("opened %d" % len(socks), flush=True)
    hold_until_stdin_closes()


def cmd_keepalive(addr, port, n, src):
    socks = []
    for _ in range(int(n)):
        s = connect(addr, port, src)
        if s is None:
            continue
        try:
            s.sendall(request("/healthz"))
        except OSError:
            continue
        if read_response(s)[0] == 200:
            socks.append(s)
    print("ready %d" % len(socks), flush=True)
    if not sys.stdin.readline():
        return
    ok = 0
    for s in socks:
        try:
            s.sendall(request("/healthz"))
        except OSError:
            continue
        ok += read_response(s)[0] == 200
    print("answered %d" % ok, flush=True)
    hold_until_stdin_closes()


def cmd_pipeline(addr, port, n, seconds):
    socks = []
    failed = {}
    t0 = time.monotonic()
    burst = request("/healthz") * 64
    sent = 0
    for _ in range(int(n)):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(CONNECT_TIMEOUT)
        try:
            s.connect((addr, port))
        except OSError as e:
            s.close()
            why = e.__class__.__name__
            failed[why] = failed.get(why, 0) + 1
            continue
        # A small receive buffer: the server's responses back up at once.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.setblocking(False)
        socks.append(s)
        # its first requests at once: a client that waited for the others
        # to connect (slow on a loaded machine) would meet the server's
        # header timeout, a close that is not what this client tests
        try:
            sent += s.send(burst)
        except OSError:
            pass
    end = time.monotonic() + float(seconds)
    live = list(socks)
    while live and time.monotonic() < end:
        _, w, _ = select.select([], live, [], 0.2)
        for s in w:
            try:
                sent += s.send(burst)
            except BlockingIOError:
                pass
            except OSError:
                live.remove(s)   # reset by the server
    # the count and bytes first (the test reads them); then, for its
    # diagnostics, the connects that failed and how long connecting took
    print("pipelined %d %d connect_s=%.1f failed=%s" % (len(socks), sent, time.monotonic() - t0,
          ",".join("%s:%d" % kv for kv in sorted(failed.items())) or "none"), flush=True)
    hold_until_stdin_closes()


def cmd_get(addr, port, path):
    get_on(connect(addr, port), path)


def get_on(s, path):
    """GET path on s (None: the connection failed); prints the answer."""
    if s is None:
        print("status 0", flush=True)
        return
    try:
        s.sendall(request(path, close=True))
    except OSError:
        print("status 0", flush=True)
        return
    status, body = read_response(s)
    print("status %d" % status)
    print(body, flush=True)


def tls_context():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def client_hello(ctx):
    """The ClientHello a real client sends first, from an in-memory engine."""
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_hostname="dshield-api.invalid")
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return out.read()


def tls_connect(ctx, addr, port, src=None):
    s = connect(addr, port, src)
    if s is None:
        return None
    try:
        return ctx.wrap_socket(s, server_hostname="dshield-api.invalid")
    except OSError:
        s.close()
        return None


def server_closed(s):
    """True once the server closed or reset s (whatever it sent first is read)."""
    raw = s if not isinstance(s, ssl.SSLSocket) else socket.socket(fileno=os.dup(s.fileno()))
    try:
        raw.setblocking(False)
        for _ in range(64):
            if not raw.recv(65536):
                return True
    except BlockingIOError:
        return False
    except OSError:
        return True
    finally:
        if raw is not s:
            raw.close()
    return False


def hold_tls(socks, done, trickle=False):
    """The protocol of the tls* commands (above), bounded in time."""
    held = sum(not server_closed(s) for s in socks)
    print("opened %d held %d done %d" % (len(socks), held, done), flush=True)
    end = time.monotonic() + 120
    while time.monotonic() < end:
        r, _, _ = select.select([sys.stdin], [], [], 1.0)
        if r:
            if not sys.stdin.readline():
                return
            break
        if trickle:
            for s in socks:
                try:
                    s.send(b"a")
                except (OSError, ValueError):
                    pass
    closed = set()
    end = time.monotonic() + 60
    while len(closed) < len(socks) and time.monotonic() < end:
        for i, s in enumerate(socks):
            if i not in closed and server_closed(s):
                closed.add(i)
        time.sleep(0.5)
    print("closed %d" % len(closed), flush=True)
    hold_until_stdin_closes()


def sources(src):
    return src.split(",") if src else [None]


def cmd_tls(mode, addr, port, n, src):
    ctx = tls_context()
    hello = client_hello(ctx) if mode == "hello" else b"\x16\x03\x01\x00\xc8"
    srcs = sources(src)
    socks = []
    done = 0
    end = time.monotonic() + 60
    for i in range(int(n)):
        if time.monotonic() > end:
            break
        s = connect(addr, port, srcs[i % len(srcs)])
        if s is None:
            continue
        # from here the server may cut it off at any moment (evicted for
        # a newer one): it still counts, and must be seen closed
        socks.append(s)
        try:
            if mode in ("record", "hello"):
                s.sendall(hello)
            else:
                s = socks[-1] = ctx.wrap_socket(s, server_hostname="dshield-api.invalid",
                                                do_handshake_on_connect=False)
                s.do_handshake()
                if mode == "slow":
                    s.sendall(b"POST /healthz HTTP/1.1\r\nHost: dut\r\n"
                              b"Content-Length: 65536\r\n\r\n" + b"a" * 60000)
            done += 1
        except OSError:
            pass
    hold_tls(socks, done, trickle=mode == "slow")


def cmd_tlsget(addr, port, path, src=None):
    get_on(tls_connect(tls_context(), addr, port, src), path)


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def syn(src, dst, sport, dport):
    seq = random.getrandbits(32)
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, 0, 5 << 4, 0x02, 64240, 0, 0)
    pseudo = struct.pack("!4s4sBBH", src, dst, 0, socket.IPPROTO_TCP, len(tcp))
    tcp = tcp[:16] + struct.pack("!H", checksum(pseudo + tcp)) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), random.getrandbits(16), 0,
                     64, socket.IPPROTO_TCP, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    return ip + tcp


def cmd_synflood(addr, port, rate, seconds):
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    dst = socket.inet_aton(addr)
    rate, seconds = int(rate), float(seconds)
    total = int(rate * seconds)
    start = time.monotonic()
    sent = 0
    while sent < total and time.monotonic() - start < seconds + 5:
        due = int((time.monotonic() - start) * rate) + 1
        while sent < min(due, total):
            src = struct.pack("!BBBB", 10, random.randrange(256), random.randrange(256),
                              random.randrange(1, 255))
            try:
                s.sendto(syn(src, dst, random.randrange(1024, 65536), int(port)), (addr, 0))
                sent += 1
            except OSError:
                break
        time.sleep(0.005)
    print("sent %d" % sent, flush=True)


def main(argv):
    cmds = {"idle": cmd_idle, "keepalive": cmd_keepalive, "pipeline": cmd_pipeline,
            "get": cmd_get, "synflood": cmd_synflood, "tlsget": cmd_tlsget}
    for mode in ("record", "hello", "idle", "slow"):
        cmds["tls" + mode] = (lambda m: lambda *a: cmd_tls(m, *a))(mode)
    if len(argv) < 4 or argv[1] not in cmds:
        sys.stderr.write(__doc__)
        return 2
    args = argv[2:]
    args[1] = int(args[1])
    cmds[argv[1]](*args)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
