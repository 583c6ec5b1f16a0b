// qemu-test/egress/fn_egress.mjs: the Node function of qemu-test/t/08-egress.t
// and tests/host/11-egress.t.
// fetch() and https.get() of the URL in the body, no proxy settings: Node's
// own roots plus NODE_EXTRA_CA_CERTS (the sandbox's local CA); and, when the
// body asks for it, https.get over a CONNECT on netd's proxy 127.0.0.1:3128
// (Node 20 reads no HTTPS_PROXY, so the CONNECT is made here).
import http from "node:http";
import https from "node:https";
import tls from "node:tls";

function tunneled(url, path) {
  const u = new URL(url);
  const port = u.port || "443";
  return new Promise((resolve) => {
    const c = http.request({ host: "127.0.0.1", port: 3128, method: "CONNECT",
                             path: u.hostname + ":" + port });
    c.on("connect", (res, socket) => {
      if (res.statusCode !== 200) return resolve({ connect: res.statusCode });
      https.get({ host: u.hostname, port, path,
                  createConnection: () => tls.connect({ socket, servername: u.hostname }) }, (r) => {
        let b = "";
        r.on("data", (d) => { b += d; });
        r.on("end", () => resolve({ status: r.statusCode, body: b }));
      }).on("error", (e) => resolve({ error: String(e) }));
    });
    c.on("error", (e) => resolve({ error: String(e) }));
    c.end();
  });
}

export async function handler(req) {
  const url = req.body.url;
  const out = {};
  try {
    const r = await fetch(url + "/node-fetch");
    out.fetch = { status: r.status, body: await r.text() };
  } catch (e) {
    out.fetch = { error: String((e && e.cause) || e) };
  }
  out.https = await new Promise((resolve) => {
    https.get(url + "/node-https", (res) => {
      let b = "";
      const issuer = res.socket.getPeerCertificate().issuer.CN;
      res.on("data", (d) => { b += d; });
      res.on("end", () => resolve({ status: res.statusCode, issuer, body: b }));
    }).on("error", (e) => resolve({ error: String(e) }));
  });
  if (req.body.tunnel) out.tunnel = await tunneled(url, "/node-tunnel");
  return out;
}
