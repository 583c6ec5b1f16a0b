# tests/host/tlsupstream.py: what the host tests' HTTPS upstreams share
# (11-egress.t's and 14-egress-more.t's, run in the test's namespace with
# PYTHONPATH naming this directory): a JSON answer and a threaded TLS
# server on one port.
import http.server
import json
import ssl
import threading


def answer_json(h, obj, status=200):
    """Answer the request h handles with obj as JSON (a Content-Length)."""
    body = json.dumps(obj).encode()
    h.send_response(status)
    h.send_header("Content-Type", "application/json")
    h.send_header("Content-Length", str(len(body)))
    h.end_headers()
    h.wfile.write(body)


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
