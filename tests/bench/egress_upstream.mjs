// tests/bench/egress_upstream.mjs: the HTTPS upstream of tests/bench/egress-bench
// (node on the host, in the bench's namespace), keep-alive:
//   GET /            "ok\n"
//   GET /close       "ok\n" with Connection: close: the connection ends
//   GET /bulk?mib=N  N MiB of 'x', streamed with backpressure
//   PUT /upload      reads the body to its end, answers its length ("N\n")
//
//   node egress_upstream.mjs ADDR PORT CERT.pem KEY.pem
import https from "node:https";
import fs from "node:fs";

const [addr, port, cert, key] = process.argv.slice(2);
const chunk = Buffer.alloc(1 << 16, "x");

const srv = https.createServer({ cert: fs.readFileSync(cert), key: fs.readFileSync(key) }, (req, res) => {
  const u = new URL(req.url, "https://x");
  if (u.pathname === "/upload") {
    let n = 0;
    req.on("data", (b) => { n += b.length; });
    req.on("end", () => {
      const body = `${n}\n`;
      res.writeHead(200, { "Content-Type": "text/plain", "Content-Length": body.length });
      res.end(body);
    });
    return;
  }
  if (u.pathname === "/close") {
    res.writeHead(200, { "Content-Type": "text/plain", "Content-Length": 3, "Connection": "close" });
    res.end("ok\n");
    return;
  }
  if (u.pathname !== "/bulk") {
    res.writeHead(200, { "Content-Type": "text/plain", "Content-Length": 3 });
    res.end("ok\n");
    return;
  }
  let left = Number(u.searchParams.get("mib") || 1) * 16;   // 64 KiB chunks
  res.writeHead(200, { "Content-Type": "application/octet-stream", "Content-Length": left * chunk.length });
  const more = () => {
    while (left > 0) {
      left--;
      if (!res.write(chunk)) {
        res.once("drain", more);
        return;
      }
    }
    res.end();
  };
  more();
});
// TLS 1.2 session IDs: node resumes one only from a cache the server
// keeps itself (these two events; a site's servers would share one), as
// netd offers IDs, not tickets (docs/TLS.md, "Resumption toward
// upstreams"). The oldest goes past 10,000.
const sessions = new Map();
srv.on("newSession", (id, data, done) => {
  sessions.set(id.toString("hex"), data);
  if (sessions.size > 10000)
    sessions.delete(sessions.keys().next().value);
  done();
});
srv.on("resumeSession", (id, done) => done(null, sessions.get(id.toString("hex")) || null));
srv.keepAliveTimeout = 60000;
srv.listen(Number(port), addr, () => console.log("listening"));
