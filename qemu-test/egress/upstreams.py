# qemu-test/egress/upstreams.py: the upstreams of qemu-test/t/08-egress.t, run
# in the test's namespace on ADDR (an RFC 1918 address the guest reaches
# through its gateway):
#   ADDR:8443, :9443  HTTPS as web.egress.test: answers a GET with JSON
#                     {"upstream", "path", "host"}; GET /bulk/N: N bytes
#                     of a 64 KiB pattern (bytes 0..255 over and over);
#                     POST /sink: JSON {"n", "sha"} of the body it read
#   ADDR:8444         HTTPS as api.egress.test: answers with what it got
#                     (without the Authorization value)
#   ADDR:7000         TCP echo: every byte back, its end after the client's
#   ADDR:8445         `openssl s_server -www` as web.egress.test: ends each
#                     connection after its answer, a status page that says
#                     whether the handshake resumed a session ("New, ..."
#                     or "Reused, ..."); ended with this process
# Each request or connection is one JSON line in DIR/upstreams.log.
#
#   PYTHONPATH=tests/host python3 upstreams.py ADDR DIR
#                                     (DIR holds web.pem/.key, api.pem/.key)
import ctypes
import hashlib
import http.server
import json
import signal
import socket
import socketserver
import ssl
import subprocess
import sys
import threading

from tlsupstream import answer_pattern   # tests/host (PYTHONPATH)

addr, d = sys.argv[1], sys.argv[2]
lock = threading.Lock()


def record(rec):
    with lock, open(d + "/upstreams.log", "a") as f:
        f.write(json.dumps(rec) + "\n")


class Web(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        port = self.server.server_address[1]
        record({"upstream": self.server.name, "port": port, "method": self.command,
                "path": self.path, "headers": self.headers.items()})
        if self.path.startswith("/bulk/"):
            return answer_pattern(self, int(self.path[len("/bulk/"):]))
        if self.server.name == "api":
            out = {"upstream": "api", "path": self.path,
                   "authorization": "Authorization" in self.headers,
                   "cookie": self.headers.get("Cookie")}
        else:
            out = {"upstream": self.server.name, "path": self.path, "host": self.headers.get("Host")}
        body = json.dumps(out).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        n, left, h = 0, int(self.headers.get("Content-Length", "0")), hashlib.sha256()
        while left > 0:
            piece = self.rfile.read(min(left, 1 << 20))
            if not piece:
                break
            h.update(piece)
            n += len(piece)
            left -= len(piece)
        record({"upstream": self.server.name, "port": self.server.server_address[1],
                "method": self.command, "path": self.path, "bytes": n})
        body = json.dumps({"n": n, "sha": h.hexdigest()}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


def https(port, name, cert):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(d + "/" + cert + ".pem", d + "/" + cert + ".key")
    srv = http.server.ThreadingHTTPServer((addr, port), Web)
    srv.daemon_threads = True
    srv.name = name
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()


class Echo(socketserver.BaseRequestHandler):
    def handle(self):
        s, data = self.request, b""
        while True:
            b = s.recv(65536)
            if not b:
                break
            data += b
            s.sendall(b)
        s.shutdown(socket.SHUT_WR)
        record({"upstream": "echo", "port": 7000, "data": data[:200].decode("latin-1"),
                "bytes": len(data), "peer": self.client_address[0]})


class EchoServer(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


https(8443, "web", "web")
https(9443, "web-9443", "web")
https(8444, "api", "api")
threading.Thread(target=EchoServer((addr, 7000), Echo).serve_forever, daemon=True).start()
subprocess.Popen(["openssl", "s_server", "-www", "-quiet", "-accept", addr + ":8445",
                  "-cert", d + "/web.pem", "-key", d + "/web.key"],
                 stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                 preexec_fn=lambda: ctypes.CDLL(None).prctl(1, signal.SIGTERM))  # PR_SET_PDEATHSIG
threading.Event().wait()
