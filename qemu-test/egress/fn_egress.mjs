// qemu-test/egress/fn_egress.mjs: the Node function of qemu-test/t/08-egress.t
// and tests/host/11-egress.t.
// fetch() and https.get() of the URL in the body, no proxy settings: Node's
// own roots plus NODE_EXTRA_CA_CERTS (the sandbox's local CA).
import https from "node:https";

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
  return out;
}
