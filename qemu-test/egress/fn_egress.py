# qemu-test/egress/fn_egress.py: the Python function of qemu-test/t/08-egress.t.
# It goes out the ordinary way (no proxy settings, the sandbox's default
# trust store) and says what happened; the request body picks what to do:
#   {"op": "urlopen", "url": U}                 urllib.request.urlopen(U)
#   {"op": "requests", "url": U}                requests.get(U) (the layer's)
#   {"op": "httpclient", "host": H, "port": P, "path": X}
#                                               http.client.HTTPSConnection
#   {"op": "inject", "host": H, "port": P, "path": X}
#                                               the same, sending its own
#                                               Authorization and Cookie
#   {"op": "resolve", "name": N}                socket.getaddrinfo(N)
#   {"op": "dnsraw", "name": N[, "tcp": true]}  an A query to 127.0.0.1:53
#                                               (over TCP: behind its length)
#   {"op": "connect", "target": "H:P"}          CONNECT through 127.0.0.1:3128
#   {"op": "hold", "n": N, "host": H, "port": P, "path": X}
#                                               N HTTPS connections open at
#                                               once, a GET on each: each
#                                               one's status or exception
#   {"op": "download", "url": U}                urllib.request.urlopen(U),
#                                               its body read in 1 MiB
#                                               pieces: length, SHA-256,
#                                               seconds (a diagnostic)
#   {"op": "resume", "host": H, "port": P, "path": X, "sni": S}
#                                               three TLS 1.2 connections to
#                                               H, each resuming the first
#                                               one's session, then that
#                                               session offered to H's
#                                               address under the SNI S:
#                                               each one's status and
#                                               whether it resumed
#   {"op": "upload", "url": U, "n": N}          a POST of N bytes of the
#                                               64 KiB pattern (bytes
#                                               0..255 over and over) to U:
#                                               its status, what U answered
#                                               and seconds
#   {"op": "handshakes", "url": U, "n": N}      N GETs of U in turn, each a
#                                               new connection: what the
#                                               upstream (s_server -www)
#                                               said of each handshake
import errno
import hashlib
import http.client
import os
import re
import socket
import ssl
import struct
import time
import urllib.error
import urllib.request


def why(e):
    """An exception as the test matches it: its class and errno name."""
    if isinstance(e, urllib.error.URLError) and isinstance(e.reason, BaseException):
        e = e.reason
    name = errno.errorcode.get(getattr(e, "errno", None) or 0, "")
    return {"error": e.__class__.__name__, "errno": name, "text": str(e)[:200]}


def urlopen(b):
    with urllib.request.urlopen(b["url"], timeout=30) as r:
        return {"status": r.status, "body": r.read().decode()}


def requests_get(b):
    import requests
    r = requests.get(b["url"], timeout=30)
    return {"status": r.status_code, "body": r.text}


def httpclient(b, headers=None):
    c = http.client.HTTPSConnection(b["host"], b["port"], timeout=30)
    c.request("GET", b["path"], headers=headers or {})
    r = c.getresponse()
    out = {"status": r.status, "body": r.read().decode()}
    c.close()
    return out


def inject(b):
    out = httpclient(b, {"Authorization": "Bearer fn-own-value", "Cookie": "session=fn-cookie"})
    out["env"] = dict(os.environ)
    return out


def hold(b):
    conns, out = [], []
    for i in range(b["n"]):
        c = http.client.HTTPSConnection(b["host"], b["port"], timeout=30)
        try:
            c.request("GET", "%s-%d" % (b["path"], i))
            r = c.getresponse()
            r.read()
            out.append(r.status)
        except Exception as e:
            out.append(e.__class__.__name__)
        conns.append(c)       # open until all were tried
    for c in conns:
        c.close()
    return {"out": out}


def resolve(b):
    return {"addrs": sorted({a[4][0] for a in socket.getaddrinfo(b["name"], 443, socket.AF_INET)})}


def dnsraw(b):
    q = struct.pack(">HHHHHH", 0x4242, 0x0100, 1, 0, 0, 0)
    for label in b["name"].split("."):
        q += bytes([len(label)]) + label.encode()
    q += b"\0" + struct.pack(">HH", 1, 1)
    if b.get("tcp"):
        s = socket.create_connection(("127.0.0.1", 53), timeout=10)
        s.sendall(struct.pack(">H", len(q)) + q)
        f = s.makefile("rb")
        d = f.read(struct.unpack(">H", f.read(2))[0])
    else:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(10)
        s.sendto(q, ("127.0.0.1", 53))
        d = s.recv(512)
    return {"id": struct.unpack(">H", d[:2])[0], "rcode": d[3] & 15,
            "ancount": struct.unpack(">H", d[6:8])[0]}


def connect(b):
    s = socket.create_connection(("127.0.0.1", 3128), timeout=30)
    s.sendall(("CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (b["target"], b["target"])).encode())
    got = b""
    while True:
        x = s.recv(4096)
        if not x:
            break
        got += x
    return {"reply": got.decode("latin-1")}


def download(b):
    h, n, t0 = hashlib.sha256(), 0, time.monotonic()
    with urllib.request.urlopen(b["url"], timeout=120) as r:
        while True:
            piece = r.read(1 << 20)
            if not piece:
                break
            h.update(piece)
            n += len(piece)
    return {"status": r.status, "n": n, "sha": h.hexdigest(), "secs": round(time.monotonic() - t0, 2)}


def get_once(ctx, host, port, path, session=None, sni=None):
    """One TLS connection to host:port (SNI sni or host), one GET of path:
    its status (0: no answer) and whether the session resumed; and the
    connection's session."""
    try:
        s = ctx.wrap_socket(socket.create_connection((host, port), timeout=15),
                            server_hostname=sni or host, session=session)
    except Exception as e:
        return dict(why(e), status=0, reused=False), None
    try:
        s.sendall(("GET %s HTTP/1.1\r\nHost: %s:%d\r\nConnection: close\r\n\r\n"
                   % (path, host, port)).encode())
        data = s.makefile("rb").read()     # to the end: Connection: close
        status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/1.1 ") else 0
        return {"status": status, "reused": s.session_reused}, s.session
    except Exception as e:
        return dict(why(e), status=0, reused=s.session_reused), None
    finally:
        s.close()


def resume(b):
    ctx = ssl.create_default_context()
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2    # netd speaks 1.2: session IDs
    out, sess = [], None
    for i in range(3):
        r, got = get_once(ctx, b["host"], b["port"], "%s-%d" % (b["path"], i), sess)
        out.append(r)
        sess = got or sess
    other, _ = get_once(ctx, b["host"], b["port"], b["path"] + "-other-sni", sess, sni=b["sni"])
    return {"out": out, "other": other}


def upload(b):
    n, t0 = b["n"], time.monotonic()
    body = (bytes(range(256)) * 256 * (n // 65536 + 1))[:n]
    req = urllib.request.Request(b["url"], data=body, method="POST")
    with urllib.request.urlopen(req, timeout=120) as r:
        return {"status": r.status, "answer": r.read().decode(),
                "secs": round(time.monotonic() - t0, 2)}


def handshakes(b):
    # n GETs of url in turn, each a new connection: what the upstream
    # (openssl s_server -www) said of each handshake, "New" or "Reused"
    out = []
    for _ in range(b["n"]):
        with urllib.request.urlopen(b["url"], timeout=30) as r:
            m = re.search(r"\n(New|Reused), TLSv", r.read().decode(errors="replace"))
            out.append(m.group(1) if m else "status %d, no word on the handshake" % r.status)
    return {"out": out}


OPS = {"urlopen": urlopen, "requests": requests_get, "handshakes": handshakes, "httpclient": httpclient, "inject": inject,
       "resolve": resolve, "dnsraw": dnsraw, "connect": connect, "hold": hold,
       "download": download, "upload": upload, "resume": resume}


def handler(request):
    b = request["body"]
    try:
        return OPS[b["op"]](b)
    except Exception as e:
        return why(e)
