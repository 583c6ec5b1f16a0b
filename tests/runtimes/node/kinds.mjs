// tests/runtimes/node/kinds.mjs: a function for tests/runtimes.t; the
// request's query "kind" says what this invocation does.
import fs from 'node:fs';
import { execFileSync } from 'node:child_process';

let count = 0;

export async function handler(req) {
  count++;
  const kind = req.query.kind;
  console.log(`stdout line of invocation ${count}\n\x00\x00\x00\x05\x04{}{}`);
  console.error(`stderr line of invocation ${count}`);
  switch (kind) {
  case 'echo':
    return { statusCode: 201, headers: { 'X-Count': count, 'X-Flag': true, 'Content-Type': 'application/json' },
             body: { count, request: req } };
  case 'bodytype':
    return { present: 'body' in req, type: typeof req.body, body: req.body ?? null };
  case 'sync':
    return count;
  case 'string': return 'hello <b>world</b>';
  case 'undefined': return undefined;
  case 'list': return [1, 'a', null];
  case 'big': return { statusCode: 200, headers: { 'Content-Type': 'text/plain' }, body: req.body };
  case 'raise': throw new Error('boom from the handler');
  case 'surrogate': throw new Error('a lone \ud800 surrogate');
  case 'surrogatebody': return 'a lone \ud800 in the body';
  case 'throwstring': throw 'a string thrown';
  case 'uncaught':
    setTimeout(() => { throw new Error('thrown in a timer'); }, 1);
    return new Promise(() => {});         // never settles
  case 'unhandled':
    Promise.reject(new Error('a stray rejection'));
    return new Promise(() => {});
  case 'bigint': return { statusCode: 200, headers: {}, body: 1n };
  case 'circular': { const o = {}; o.self = o; return o; }
  case 'badstatus': return { statusCode: 200.5 };
  case 'fds': {
    const out = execFileSync('sh', ['-c', 'for f in /proc/$$/fd/*; do readlink $f; done; true']).toString();
    return { fds: out.split('\n').filter(Boolean), proto: `socket:[${fs.fstatSync(3).ino}]` };
  }
  case 'closefd': fs.closeSync(3); return 'closed';
  case 'garbage': fs.writeSync(3, Buffer.from('\xff\xff\xff\xffgarbage', 'latin1')); return 'garbage sent';
  default: return { statusCode: 400, headers: {}, body: { 'unknown kind': kind } };
  }
}
