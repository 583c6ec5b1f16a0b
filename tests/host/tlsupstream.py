# tests/host/tlsupstream.py: what the host tests' HTTPS upstreams share
# (11-egress.t's and 14-egress-more.t's, run in the test's namespace with
# PYTHONPATH naming this directory; qemu-test/egress/upstreams.py too): a
# JSON answer, a streamed one, and a threaded TLS server on one port; WebSocket frames (RFC 6455: the handshake's accept
# value, a frame read and written) for the echo upstream.
import base64
import hashlib
import http.server
import json
import os
import ssl
import struct
import threading


def answer_json(h, obj, status=200):
    """Answer the request h handles with obj as JSON (a Content-Length)."""
    body = json.dumps(obj).encode()
    h.send_response(status)
    h.send_header("Content-Type", "application/json")
    h.send_header("Content-Length", str(len(body)))
    h.end_headers()
    h.wfile.write(body)


PATTERN = bytes(range(256)) * 256   # a streamed answer's bytes, over and over


def answer_pattern(h, n):
    """Answer the request h handles with n bytes of PATTERN (a Content-Length)."""
    h.send_response(200)
    h.send_header("Content-Length", str(n))
    h.end_headers()
    while n > 0:
        k = min(n, len(PATTERN))
        h.wfile.write(PATTERN[:k])
        n -= k


def serve(addr, port, name, certdir, cert, handler, cls=http.server.ThreadingHTTPServer, tls13=False):
    """Serve handler over TLS on addr:port with certdir/cert.pem and .key,
    in a thread; the server's name is the handler's self.server.name."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(certdir + "/" + cert + ".pem", certdir + "/" + cert + ".key")
    if tls13:
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    srv = cls((addr, port), handler)
    srv.daemon_threads = True
    srv.name = name
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def ws_accept(key):
    """Sec-WebSocket-Accept for a Sec-WebSocket-Key (RFC 6455 4.2.2)."""
    guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
    return base64.b64encode(hashlib.sha1((key + guid).encode()).digest()).decode()


def ws_read(f):
    """One frame from the file f: (opcode, payload unmasked, bytes read),
    or None at the end."""
    h = f.read(2)
    if len(h) < 2:
        return None
    n, k = h[1] & 127, 2
    if n == 126:
        n, k = struct.unpack(">H", f.read(2))[0], 4
    elif n == 127:
        n, k = struct.unpack(">Q", f.read(8))[0], 10
    m = f.read(4) if h[1] & 128 else b""
    d = f.read(n)
    if m:
        d = (int.from_bytes(d, "big") ^ int.from_bytes((m * (n // 4 + 1))[:n], "big")).to_bytes(n, "big")
    return h[0] & 15, d, k + len(m) + n


def ws_frame(op, data, *_, mask=False):
    """A final frame of opcode op with data (a client's: masked)."""
    n = len(data)
    b1 = 128 if mask else 0
    h = bytes([0x80 | op]) + (bytes([b1 | n]) if n < 126 else
                              bytes([b1 | 126]) + struct.pack(">H", n) if n < 65536 else
                              bytes([b1 | 127]) + struct.pack(">Q", n))
    if not mask:
        return h + data
    m = os.urandom(4)
    return h + m + (int.from_bytes(data, "big") ^ int.from_bytes((m * (n // 4 + 1))[:n], "big")).to_bytes(n, "big")
