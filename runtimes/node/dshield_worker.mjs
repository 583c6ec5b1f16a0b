// dshield_worker.mjs: the warm worker of a Node function.
//
// Speaks the function protocol (docs/PROTOCOL-FN.md, proto/fn_frame.h) on
// fd 3: loads the function's module once, sends HELLO (or LOAD_ERROR and
// exits), then answers each INVOKE with RESULT or ERROR, one at a time,
// for as long as the host keeps it. Only Node's own modules.
//
//     node dshield_worker.mjs [--code /code/function.js] [--handler handler]
//
// Which module system (docs/FUNCTIONS.md, "Node"): a .mjs file is an ES
// module and a .cjs file CommonJS, as Node has them. A .js file (the
// default: the API takes code without a file name) goes to require()
// first: CommonJS, or an ES module where Node's own syntax detection and
// require(esm) take it (Node 20.19 and later). When require() says the
// file can only be an ES module (a SyntaxError from CommonJS, which
// compiles the whole file before running any of it, so nothing ran; or
// top-level await), it is imported from a private .mjs copy under the
// temporary directory (/code is read-only, and Node takes a .js file for
// CommonJS unless a package.json says otherwise). If both readings fail
// to compile, LOAD_ERROR carries both reasons.
//
// The function's console output is the worker's stdout/stderr, which the
// sandbox connects to the function's log stream; fd 3 is close-on-exec
// (Node marks inherited descriptors so at startup; checked below), so
// programs the function starts never hold the protocol.

import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

const PROTO_FD = 3;
const FRAME_MAX = 8 << 20;     // FN_FRAME_MAX
const HELLO = 1, LOAD_ERROR = 2, INVOKE = 3, RESULT = 4, ERROR = 5, PING = 6, PONG = 7;
const PROTOCOL_VERSION = 1;
const EXIT_PROTOCOL = 70;      // the host sent something out of protocol
const EXIT_FD_LOST = 71;       // the function closed or replaced fd 3
const O_CLOEXEC = 0o2000000;

function log(msg) {
  process.stderr.write(`dshield-worker: ${msg}\n`);
}

function parseArgs(argv) {
  const opt = { code: '/code/function.js', handler: 'handler' };
  for (let i = 2; i < argv.length; i += 2) {
    if ((argv[i] === '--code' || argv[i] === '--handler') && i + 1 < argv.length) {
      opt[argv[i].slice(2)] = argv[i + 1];
    } else {
      log('usage: dshield_worker.mjs [--code PATH] [--handler NAME]');
      process.exit(2);
    }
  }
  return opt;
}

// --- frames ----------------------------------------------------------------

function frame(type, payload) {
  const hdr = Buffer.alloc(5);
  hdr.writeUInt32BE(payload.length, 0);
  hdr.writeUInt8(type, 4);
  return payload.length ? Buffer.concat([hdr, payload]) : hdr;
}

// Incoming frames, in whatever chunks the socket gives: the header, then
// the payload copied once into a buffer of its length.
class Reader {
  constructor(onFrame) {
    this.onFrame = onFrame;
    this.hdr = Buffer.alloc(5);
    this.hdrLen = 0;
    this.payload = null;
    this.got = 0;
  }

  partial() {
    return this.hdrLen > 0;
  }

  feed(chunk) {
    let off = 0;
    while (off < chunk.length) {
      if (this.hdrLen < 5) {
        const n = Math.min(5 - this.hdrLen, chunk.length - off);
        chunk.copy(this.hdr, this.hdrLen, off, off + n);
        this.hdrLen += n;
        off += n;
        if (this.hdrLen < 5) return;
        const len = this.hdr.readUInt32BE(0), type = this.hdr[4];
        if (len > FRAME_MAX || (type !== INVOKE && type !== PING)) {
          log(`out of protocol: frame type ${type}, length ${len}`);
          process.exit(EXIT_PROTOCOL);
        }
        this.payload = Buffer.allocUnsafe(len);
        this.got = 0;
      }
      const n = Math.min(this.payload.length - this.got, chunk.length - off);
      chunk.copy(this.payload, this.got, off, off + n);
      this.got += n;
      off += n;
      if (this.got === this.payload.length) {
        const type = this.hdr[4], payload = this.payload;
        this.hdrLen = 0;
        this.payload = null;
        this.onFrame(type, payload);
      }
    }
  }
}

// --- loading ---------------------------------------------------------------

function describe(e) {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

// A message as UTF-8 can carry it (lone surrogates become U+FFFD).
function message(text) {
  return json({ message: String(text).toWellFormed() });
}

// Errors of require() that mean "this is an ES module": older Node cannot
// compile import/export as CommonJS (SyntaxError); Node with require(esm)
// refuses one with top-level await.
function esmOnly(e) {
  return e instanceof SyntaxError || e?.code === 'ERR_REQUIRE_ESM' ||
         e?.code === 'ERR_REQUIRE_ASYNC_MODULE';
}

async function loadModule(file) {
  if (file.endsWith('.mjs')) return import(pathToFileURL(file).href);
  const require = createRequire(file);
  if (file.endsWith('.cjs')) return require(file);
  try {
    return require(file);
  } catch (cjsErr) {
    if (!esmOnly(cjsErr)) throw cjsErr;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dshield-fn-'));
    const copy = path.join(dir, 'function.mjs');
    fs.copyFileSync(file, copy);
    try {
      return await import(pathToFileURL(copy).href);
    } catch (esmErr) {
      if (!(esmErr instanceof SyntaxError)) throw esmErr;
      throw new SyntaxError(`as CommonJS: ${cjsErr.message}; as an ES module: ${esmErr.message}`);
    } finally {
      // loaded (or not): the copy is not read again, and each worker
      // made one in the function's /tmp (on the host, in the test's)
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
}

// The handler: a named export (or module.exports member), or a member of
// the default export, as the seed service looked it up.
function findHandler(mod, name) {
  let h = mod?.[name];
  if (typeof h !== 'function') h = mod?.default?.[name];
  if (typeof h !== 'function') {
    throw new TypeError(`the module exports no function named '${name}'`);
  }
  return h;
}

// --- results ---------------------------------------------------------------

// A string body is sent as its bytes: it must be well-formed UTF-16 to
// have UTF-8 bytes (JSON.stringify would write a lone surrogate as an
// escape the host refuses to decode).
function wellFormed(body) {
  if (typeof body === 'string' && !body.isWellFormed()) {
    throw new TypeError('the body string has a lone surrogate');
  }
  return body;
}

function headerValue(name, v) {
  if (typeof v === 'string') {
    if (!v.isWellFormed()) throw new TypeError(`header '${name}': a lone surrogate in the value`);
    return v;
  }
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  throw new TypeError(`header '${name}': the value must be a string, number or boolean`);
}

// {statusCode, headers[, body]}: an object with statusCode is a response,
// anything else a 200 with that value as its body (the seed's rule).
function normalise(result) {
  if (!(result !== null && typeof result === 'object' && 'statusCode' in result)) {
    return { statusCode: 200, headers: {}, body: wellFormed(result) };
  }
  const status = result.statusCode;
  if (!Number.isInteger(status) || status < 100 || status > 599) {
    throw new TypeError(`statusCode must be an integer from 100 to 599, not ${String(status)}`);
  }
  const headers = {};
  const given = result.headers ?? {};
  if (typeof given !== 'object' || Array.isArray(given)) {
    throw new TypeError('headers must be an object');
  }
  for (const [k, v] of Object.entries(given)) headers[k] = headerValue(k, v);
  return { statusCode: status, headers, body: wellFormed(result.body) };
}

function json(obj) {
  return Buffer.from(JSON.stringify(obj), 'utf8');
}

// --- the worker ------------------------------------------------------------

function fdIdentity() {
  try {
    const st = fs.fstatSync(PROTO_FD);
    return `${st.dev}:${st.ino}`;
  } catch {
    return null;
  }
}

function cloexec() {
  try {
    const info = fs.readFileSync(`/proc/self/fdinfo/${PROTO_FD}`, 'utf8');
    const m = /^flags:\s*([0-7]+)$/m.exec(info);
    return m !== null && (parseInt(m[1], 8) & O_CLOEXEC) !== 0;
  } catch {
    return false;
  }
}

async function main() {
  const opt = parseArgs(process.argv);
  const identity = fdIdentity();
  if (identity === null) {
    log('no protocol on fd 3');
    process.exit(EXIT_PROTOCOL);
  }
  const inheritable = !cloexec();
  const sock = new net.Socket({ fd: PROTO_FD, readable: true, writable: true });
  let lost = false;
  const send = (type, payload = Buffer.alloc(0)) => {
    if (!lost) sock.write(frame(type, payload));
  };
  const fdLost = (why) => {
    if (lost) return;
    lost = true;
    log(`${why}; the worker ends`);
    process.exit(EXIT_FD_LOST);
  };
  sock.on('error', (e) => fdLost(`fd 3 failed: ${e.message}`));

  let handler;
  try {
    if (inheritable) throw new Error('fd 3 is not close-on-exec: programs the function starts would inherit it');
    handler = findHandler(await loadModule(path.resolve(opt.code)), opt.handler);
  } catch (e) {
    log(e?.stack ?? String(e));
    sock.end(frame(LOAD_ERROR, message(describe(e))), () => process.exit(1));
    return;
  }
  send(HELLO, json({ runtime: 'node', version: process.versions.node, protocol: PROTOCOL_VERSION }));

  // The invocation running now, so that an exception thrown outside its
  // promise chain (a timer, a stray rejection) ends it with ERROR instead
  // of ending the worker. Answers are sent once: a late settle is dropped.
  // The next invocation starts when this one is answered, not when its
  // promise settles (it may never).
  let current = null;
  const answer = (inv, type, payload) => {
    if (inv.done) return;
    inv.done = true;
    inv.finished();
    if (current === inv) current = null;
    if (fdIdentity() !== identity) fdLost('the function closed or replaced fd 3');
    send(type, payload);
  };
  const fail = (inv, e) => answer(inv, ERROR, message(e instanceof Error ? e.message || e.name : String(e)));
  const stray = (kind) => (e) => {
    log(`${kind}: ${e?.stack ?? String(e)}`);
    if (current) fail(current, e);
  };
  process.on('uncaughtException', stray('uncaught exception'));
  process.on('unhandledRejection', stray('unhandled rejection'));

  const invoke = (payload) => {
    const inv = { done: false };
    const finished = new Promise((resolve) => { inv.finished = resolve; });
    current = inv;
    run(inv, payload);
    return finished;
  };
  const run = async (inv, payload) => {
    let result;
    try {
      const request = JSON.parse(payload.toString('utf8'));
      result = await handler(request);
    } catch (e) {
      log(e?.stack ?? String(e));
      fail(inv, e);
      return;
    }
    let response, out;
    try {
      response = normalise(result);
    } catch (e) {
      log(`the result is invalid: ${e.message}`);
      fail(inv, new Error(`the result is invalid: ${e.message}`));
      return;
    }
    try {
      out = json(response);
    } catch (e) {
      log(`the result is not JSON: ${e.message}`);
      fail(inv, new Error(`the result is not JSON: ${e.message}`));
      return;
    }
    if (out.length > FRAME_MAX) {
      fail(inv, new Error(`the result is larger than ${FRAME_MAX} bytes`));
      return;
    }
    answer(inv, RESULT, out);
  };

  let queue = Promise.resolve();
  const reader = new Reader((type, payload) => {
    if (type === PING) {
      send(PONG);
      return;
    }
    queue = queue.then(() => invoke(payload));
  });
  sock.on('data', (chunk) => reader.feed(chunk));
  sock.on('end', () => {
    if (reader.partial()) {
      log('the host closed fd 3 inside a frame');
      process.exit(EXIT_PROTOCOL);
    }
    // The host is done with this worker: finish what runs, then leave.
    queue.then(() => process.exit(0));
  });
}

main();
