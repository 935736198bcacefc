// Connections under attack (issue 11): request smuggling shapes get 400 and the connection
// closed, a huge Content-Length gets 413 with no overflow, one address cannot take every
// connection, slow and silent heads (plain and TLS) are closed at the head deadline, and the
// client address comes from X-Forwarded-For only when the peer is a trusted proxy.
'use strict';

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const tls = require('node:tls');
const { startApp, rawRequest, sleep } = require('./lib/app');

const REPORT = '/api/v1/csp-report'; // a POST with a 64 KiB body limit and an observable 204
const VALID_REPORT = JSON.stringify({ 'csp-report': { 'document-uri': 'http://x/', 'violated-directive': 'script-src' } });
const CLOSE_WAIT_MS = 3000; // how long a connection the server must close may stay open
const DEADLINE_BOUND_MS = 5000; // a head deadline of 500 ms must have closed a connection by then

const get = (p, extra = '') => `GET ${p} HTTP/1.1\r\nHost: 127.0.0.1\r\n${extra}\r\n`;

// The complete HTTP/1.1 responses at the front of `buf` (latin1 text): Content-Length bodies,
// chunked bodies, and a body that runs to the end of the stream once the stream has ended.
function parseResponses(buf, ended) {
  const out = [];
  let at = 0;
  for (;;) {
    const end = buf.indexOf('\r\n\r\n', at);
    if (end < 0) break;
    const head = buf.slice(at, end);
    const lines = head.split('\r\n');
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0])?.[1]);
    const headers = {};
    for (const l of lines.slice(1)) {
      const i = l.indexOf(':');
      if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
    }
    let bodyEnd;
    if (status === 204 || status === 304 || (status >= 100 && status < 200)) {
      bodyEnd = end + 4;
    } else if (/chunked/i.test(headers['transfer-encoding'] || '')) {
      let p = end + 4;
      for (;;) {
        const nl = buf.indexOf('\r\n', p);
        if (nl < 0) { p = -1; break; }
        const size = parseInt(buf.slice(p, nl), 16);
        if (size === 0) {
          const fin = buf.indexOf('\r\n\r\n', nl);
          p = fin < 0 ? -1 : fin + 4;
          break;
        }
        p = nl + 2 + size + 2;
        if (p > buf.length) { p = -1; break; }
      }
      bodyEnd = p;
    } else if (headers['content-length'] !== undefined) {
      bodyEnd = end + 4 + Number(headers['content-length']);
      if (bodyEnd > buf.length) bodyEnd = -1;
    } else {
      bodyEnd = ended ? buf.length : -1;
    }
    if (bodyEnd < 0) break;
    out.push({ status, head, headers, body: buf.slice(end + 4, bodyEnd) });
    at = bodyEnd;
  }
  return out;
}

// A raw connection, plain or TLS, from a chosen local address. `tls` holds tls.connect
// options (the TLS handshake completes before this resolves); without it, plain TCP.
async function connect(port, { localAddress = '127.0.0.1', tls: tlsOptions } = {}) {
  const opts = { port, host: '127.0.0.1', localAddress };
  const sock = tlsOptions ? tls.connect({ ...opts, ...tlsOptions }) : net.connect(opts);
  await new Promise((resolve, reject) => {
    sock.once(tlsOptions ? 'secureConnect' : 'connect', resolve);
    sock.once('error', reject);
  });
  let received = '';
  let closed = false;
  let closedAt = null;
  const waiters = new Set();
  const wake = () => { for (const w of waiters) w(); };
  sock.on('data', (d) => { received += d.toString('latin1'); wake(); });
  sock.on('close', () => { closed = true; closedAt = Date.now(); wake(); });
  sock.on('error', () => { /* seen as closed */ });
  const until = (cond, ms) => new Promise((resolve) => {
    if (cond()) { resolve(true); return; }
    const check = () => { if (cond()) { done(); resolve(true); } };
    const timer = setTimeout(() => { done(); resolve(false); }, ms);
    const done = () => { clearTimeout(timer); waiters.delete(check); };
    waiters.add(check);
  });
  let taken = 0; // responses already handed out by next()
  return {
    sock,
    // Resolves once written, or at once when the server has already gone (never rejects).
    write: (data) => new Promise((resolve) => {
      if (closed || sock.destroyed) { resolve(); return; }
      sock.write(data, () => resolve());
    }),
    responses: () => parseResponses(received, closed),
    received: () => received,
    closed: () => closed,
    closedAt: () => closedAt,
    // Waits until the server has closed the connection; false if still open after ms.
    closedWithin: (ms) => until(() => closed, ms),
    // The next whole response on this connection.
    async next(ms = 5000) {
      const ok = await until(() => parseResponses(received, closed).length > taken || closed, ms);
      const all = parseResponses(received, closed);
      if (all.length > taken) return all[taken++];
      throw new Error(`${ok ? 'connection closed' : `nothing in ${ms} ms`} before response ${taken + 1}; ` +
        `got: ${JSON.stringify(received.slice(0, 400))}`);
    },
    destroy: () => sock.destroy(),
  };
}

// Sends `bytes` on a fresh connection and waits until the server closes it (at most
// CLOSE_WAIT_MS): what came back, as statuses, and whether the server closed.
async function exchange(port, bytes, opts) {
  const c = await connect(port, opts);
  try {
    await c.write(bytes);
    await c.closedWithin(CLOSE_WAIT_MS);
    return { statuses: c.responses().map((r) => r.status), closed: c.closed(), responses: c.responses() };
  } finally {
    c.destroy();
  }
}

// A refused connection: a 503 carrying Connection: close, or no answer at all, and in
// both cases the server closes it. Sends a request in case the server waits for one.
async function assertRefused(port, localAddress, what) {
  const c = await connect(port, { localAddress });
  try {
    await c.closedWithin(300); // a server may refuse right at accept
    await c.write(get('/health'));
    await c.closedWithin(CLOSE_WAIT_MS);
    const rs = c.responses();
    const seen = { statuses: rs.map((r) => r.status), closed: c.closed() };
    assert.ok(seen.closed && (seen.statuses.length === 0 || (seen.statuses.length === 1 && seen.statuses[0] === 503)),
      `${what}: expected 503 + close, or close; got ${JSON.stringify(seen)}`);
    if (rs.length === 1) assert.match(rs[0].headers.connection || '', /close/i, `${what}: the 503 says Connection: close`);
  } finally {
    c.destroy();
  }
}

// GET /health on a fresh connection from `localAddress`: the status, or 0 when none came.
async function healthFrom(port, localAddress, tlsOptions) {
  let c;
  try {
    c = await connect(port, { localAddress, tls: tlsOptions });
    await c.write(get('/health', 'Connection: close\r\n'));
    return (await c.next(5000)).status;
  } catch {
    return 0;
  } finally {
    if (c) c.destroy();
  }
}

// Retries healthFrom for up to ms (a closed connection takes the server a moment to notice).
async function healthSoon(port, localAddress, ms = 3000) {
  const end = Date.now() + ms;
  let s = 0;
  while ((s = await healthFrom(port, localAddress)) !== 200 && Date.now() < end) await sleep(100);
  return s;
}

// The first bytes a real TLS client sends (its ClientHello), caught by a plain TCP server.
async function clientHello() {
  const srv = net.createServer();
  await new Promise((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const got = new Promise((resolve) => srv.once('connection', (s) => s.once('data', (d) => { resolve(d); s.destroy(); })));
  const c = tls.connect({ port: srv.address().port, host: '127.0.0.1', servername: 'localhost', rejectUnauthorized: false });
  c.on('error', () => { /* the catcher hangs up */ });
  const hello = await got;
  c.destroy();
  srv.close();
  return hello;
}

describe('strict request heads', () => {
  let app;
  before(async () => { app = await startApp(); });
  after(async () => { if (app) await app.stop(); });

  // A request smuggled behind the first must never run: the app logs every request it
  // answers with its path, so the marker path must not appear in the log.
  const marker = (name) => `/api/v1/smuggled-${name}-${process.pid}`;
  // Every case on its own connection, all compared at once so that a failure shows them all:
  // each gets one 400 and nothing after it, and the server closes the connection.
  async function assertEach(cases, bytesOf) {
    const seen = {};
    const want = {};
    for (const [name, value] of Object.entries(cases)) {
      const r = await exchange(app.port, bytesOf(value));
      seen[name] = { statuses: r.statuses, closed: r.closed };
      want[name] = { statuses: [400], closed: true };
    }
    assert.deepEqual(seen, want);
  }
  const assertNotRun = (p) => assert.ok(!app.stderr().includes(`path=${p}`) && !app.stderr().includes(`"path":"${p}"`),
    `the smuggled request ${p} was run`);

  test('Content-Length with Transfer-Encoding: chunked: 400, closed, and the bytes after the last chunk do not run', async () => {
    const smuggled = marker('clte');
    const chunked = `${VALID_REPORT.length.toString(16)}\r\n${VALID_REPORT}\r\n0\r\n\r\n`;
    const second = get(smuggled);
    await assertEach({
      'CL then TE': `Content-Length: ${chunked.length}\r\nTransfer-Encoding: chunked\r\n`,
      'TE then CL': `Transfer-Encoding: chunked\r\nContent-Length: ${chunked.length + second.length}\r\n`,
    }, (framing) => `POST ${REPORT} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n` +
      `${framing}\r\n${chunked}${second}`);
    await sleep(200);
    assertNotRun(smuggled);
  });

  test('two different Content-Lengths: 400 and closed (as separate fields and as a list)', async () => {
    const smuggled = marker('clcl');
    const body = `{}${get(smuggled)}`;
    await assertEach({
      'short first': `Content-Length: 2\r\nContent-Length: ${body.length}\r\n`,
      'long first': `Content-Length: ${body.length}\r\nContent-Length: 2\r\n`,
      'one field, a list': `Content-Length: 2, ${body.length}\r\n`,
    }, (framing) => `POST ${REPORT} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n` +
      `${framing}\r\n${body}`);
    await sleep(200);
    assertNotRun(smuggled);
  });

  // RFC 9112 6.3 lets a recipient either refuse identical repeated Content-Lengths or take
  // the one value. Either is fine here; what matters is that framing stays in step: 400 and
  // closed, or the request answered and the request after it answered too.
  test('two identical Content-Lengths: refused, or read as one (never out of step)', async () => {
    const r = await exchange(app.port, `POST ${REPORT} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${VALID_REPORT.length}\r\nContent-Length: ${VALID_REPORT.length}\r\n\r\n${VALID_REPORT}` +
      get('/health', 'Connection: close\r\n'));
    const seen = JSON.stringify(r.statuses);
    assert.ok(seen === '[400]' || seen === '[204,200]', `statuses ${seen}`);
    assert.ok(r.closed, 'closed (after the 400, or after Connection: close)');
  });

  test('HTTP/1.1 without Host: 400 and closed', async () => {
    await assertEach({ 'no Host': 'GET /health HTTP/1.1\r\nAccept: */*\r\n\r\n' }, (bytes) => bytes);
  });

  test('HTTP/1.0 without Host (a load balancer health check) is answered 200', async () => {
    const r = await exchange(app.port, 'GET /health HTTP/1.0\r\n\r\n');
    assert.deepEqual(r.statuses, [200]);
    assert.match(r.responses[0].body, /"status":"ok"/);
  });

  test('bare LF line endings: 400 and closed', async () => {
    await assertEach({
      'every line': 'GET /health HTTP/1.1\nHost: 127.0.0.1\n\n',
      'one header line': 'GET /health HTTP/1.1\r\nHost: 127.0.0.1\nAccept: */*\r\n\r\n',
      'the empty line': 'GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\n',
    }, (bytes) => bytes);
  });

  test('header folding (obs-fold): 400 and closed', async () => {
    await assertEach({ space: ' ', tab: '\t' },
      (fold) => `GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Note: a\r\n${fold}b\r\n\r\n`);
  });

  test('a head over 16 KiB or over 64 fields: 431; HTTP/2.0: 505; each closed, with its error code', async () => {
    const fields = Array.from({ length: 65 }, (_, i) => `X-F${i}: v\r\n`).join('');
    const cases = {
      'a 17 KiB header': [get('/health', `X-Big: ${'a'.repeat(17 * 1024)}\r\n`), 431, 'headers_too_large'],
      '65 fields': [get('/health', fields), 431, 'headers_too_large'],
      'HTTP/2.0': ['GET /health HTTP/2.0\r\nHost: 127.0.0.1\r\n\r\n', 505, 'http_version_not_supported'],
    };
    for (const [name, [bytes, status, code]] of Object.entries(cases)) {
      const r = await exchange(app.port, bytes);
      assert.deepEqual(r.statuses, [status], name);
      assert.equal(JSON.parse(r.responses[0].body).error.code, code, name);
      assert.ok(r.closed, `${name}: closed`);
    }
  });

  // the second request of a pipelined pair is read by the worker that answered the first:
  // the same strict reader refuses it there
  test('a malformed request after a good one on the same connection: 200 then 400, closed', async () => {
    const r = await exchange(app.port, get('/health') + 'GET /health HTTP/1.1\nHost: 127.0.0.1\n\n');
    assert.deepEqual(r.statuses, [200, 400]);
    assert.equal(JSON.parse(r.responses[1].body).error.code, 'malformed_request');
    assert.ok(r.closed);
  });

  // RFC 9112 allows 501 for a transfer coding the server does not know; this product answers
  // 400 for every framing it refuses, so a client sees one status for one kind of fault.
  test('a Transfer-Encoding other than chunked: 400 and closed', async () => {
    await assertEach({ gzip: 'gzip', 'gzip, chunked': 'gzip, chunked', 'chunked, gzip': 'chunked, gzip' },
      (te) => `POST ${REPORT} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n` +
        `Transfer-Encoding: ${te}\r\n\r\n0\r\n\r\n`);
  });

  test('a well-formed request is answered and keep-alive carries three more and a pipelined pair, in order', async () => {
    const c = await connect(app.port);
    try {
      for (let i = 0; i < 3; i++) {
        await c.write(get('/health'));
        assert.equal((await c.next()).status, 200, `request ${i + 1} on one connection`);
      }
      await c.write(get('/health') + get('/api/v1/no-such-thing'));
      assert.equal((await c.next()).status, 200, 'first of the pipelined pair');
      assert.equal((await c.next()).status, 404, 'second of the pipelined pair');
      assert.ok(!c.closed(), 'the connection stays open');
    } finally {
      c.destroy();
    }
  });
});

describe('body limit', () => {
  // civetweb 1.15 adds this Content-Length to the head's length in a signed long. Under the
  // sanitizer build (test/run's build-san: -fno-sanitize-recover, halt_on_error) an overflow
  // or a memory error ends the process and its report goes to stderr (test/run also counts
  // any log_path report file): so the app's stderr must show no sanitizer report, and the
  // app must still be running and answering afterwards.
  test('a Content-Length beyond any body limit (up to 2^63 and past it) gets 413 before any body, and the connection closed', async (t) => {
    const app = await startApp({ t });
    const seen = {};
    const want = {};
    for (const length of ['9223372036854775807', '9223372036854775808', '99999999999999999999']) {
      want[length] = { status: 413, code: 'payload_too_large', closed: true };
      const c = await connect(app.port).catch((e) => { seen[length] = { connect: e.code }; });
      if (!c) continue;
      try {
        await c.write(`POST ${REPORT} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n` +
          `Content-Length: ${length}\r\n\r\n{"csp-report":`);
        const r = await c.next(5000).catch(() => null);
        seen[length] = { status: r?.status, code: /"code":"(\w+)"/.exec(r?.body || '')?.[1],
          closed: await c.closedWithin(CLOSE_WAIT_MS) };
      } finally {
        c.destroy();
      }
    }
    await sleep(200);
    assert.doesNotMatch(app.stderr(), /runtime error|AddressSanitizer|UndefinedBehaviorSanitizer|LeakSanitizer/,
      'no sanitizer report');
    assert.deepEqual({ code: app.proc.exitCode, signal: app.proc.signalCode }, { code: null, signal: null },
      `the app is still running; stderr:\n${app.stderr().slice(-2000)}`);
    assert.equal(await healthFrom(app.port, '127.0.0.1'), 200, 'the app still answers');
    assert.deepEqual(seen, want);
  });
});

describe('connection limits', () => {
  // The held connections are waiting heads and idle keep-alive ones, the two kinds the
  // event loop holds; HEAD_TIMEOUT_MS is long so that none is closed during the test.
  async function hold(port, addresses, perAddress) {
    const held = [];
    for (const localAddress of addresses) {
      for (let i = 0; i < perAddress; i++) {
        const c = await connect(port, { localAddress });
        held.push(c);
        if (i % 2 === 0) {
          await c.write(get('/health'));
          assert.equal((await c.next()).status, 200, `held connection ${held.length} from ${localAddress}`);
        }
      }
    }
    await sleep(200);
    return held;
  }

  test('CONN_PER_ADDRESS: the 9th connection from one address is refused, other addresses are served', async (t) => {
    const app = await startApp({ t, env: { CONN_PER_ADDRESS: '8', HEAD_TIMEOUT_MS: '30000' } });
    const held = await hold(app.port, ['127.0.0.1'], 8);
    t.after(() => held.forEach((c) => c.destroy()));
    await assertRefused(app.port, '127.0.0.1', 'the 9th connection from 127.0.0.1');
    assert.equal(await healthFrom(app.port, '127.0.0.2'), 200, 'another address is served meanwhile');
    held.pop().destroy();
    assert.equal(await healthSoon(app.port, '127.0.0.1'), 200, 'a connection closed makes room for another');
  });

  test('CONN_MAX: past the total, a connection from a new address is refused', async (t) => {
    const app = await startApp({ t, env: { CONN_MAX: '16', CONN_PER_ADDRESS: '8', HEAD_TIMEOUT_MS: '30000' } });
    const held = await hold(app.port, ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5'], 4);
    t.after(() => held.forEach((c) => c.destroy()));
    await assertRefused(app.port, '127.0.0.6', 'the 17th connection');
    held.pop().destroy();
    assert.equal(await healthSoon(app.port, '127.0.0.6'), 200, 'a connection closed makes room for another');
  });
});

describe('head deadline', () => {
  // Timing is asserted loosely: closed before DEADLINE_BOUND_MS, ten times the deadline.
  // What these connections cost in CPU is measured in test/bench/conns.js, not here.
  test('HEAD_TIMEOUT_MS: a silent connection and a slowloris one are both closed; /health answers meanwhile', async (t) => {
    const app = await startApp({ t, env: { HEAD_TIMEOUT_MS: '500' } });
    const silent = await connect(app.port);
    const slow = await connect(app.port);
    t.after(() => { silent.destroy(); slow.destroy(); });
    const began = Date.now();
    (async () => { // one byte every 100 ms of a head that never ends
      const head = `GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Pad: ${'a'.repeat(1000)}`;
      for (let i = 0; i < head.length && !slow.closed(); i++) {
        await slow.write(head[i]);
        await sleep(100);
      }
    })();
    assert.equal(await healthFrom(app.port, '127.0.0.2'), 200, '/health while they wait');
    const left = () => Math.max(0, began + DEADLINE_BOUND_MS - Date.now());
    const silentClosed = await silent.closedWithin(left());
    const slowClosed = await slow.closedWithin(left());
    assert.deepEqual({ silentClosed, slowClosed }, { silentClosed: true, slowClosed: true },
      `both closed within ${DEADLINE_BOUND_MS} ms`);
    assert.ok(!/^HTTP\/1\.[01] 200/.test(slow.received()), 'the unfinished head was never answered 200');
    assert.equal(await healthFrom(app.port, '127.0.0.2'), 200, '/health afterwards');
  });

  test('TLS: an idle TCP connection and a half-sent ClientHello are closed at the head deadline; HTTPS answers meanwhile', async (t) => {
    const app = await startApp({ t, tls: true, env: { HEAD_TIMEOUT_MS: '500' } });
    const ca = fs.readFileSync(path.join(app.dataDir, 'tls', 'cert.pem'));
    const hello = await clientHello();
    const idle = await connect(app.port);
    const half = await connect(app.port);
    t.after(() => { idle.destroy(); half.destroy(); });
    const began = Date.now();
    await half.write(hello.subarray(0, Math.floor(hello.length / 2)));
    const r = await rawRequest(`${app.url}/health`, { tlsOptions: { ca, servername: 'localhost' }, timeout: 5000 });
    assert.equal(r.status, 200, 'HTTPS /health while they wait');
    const left = () => Math.max(0, began + DEADLINE_BOUND_MS - Date.now());
    const idleClosed = await idle.closedWithin(left());
    const halfClosed = await half.closedWithin(left());
    assert.deepEqual({ idleClosed, halfClosed }, { idleClosed: true, halfClosed: true },
      `both closed within ${DEADLINE_BOUND_MS} ms`);
  });

});

describe('keep-alive over TLS', () => {
  test('TLS: keep-alive carries three requests and a pipelined pair, in order', async (t) => {
    const app = await startApp({ t, tls: true });
    const ca = fs.readFileSync(path.join(app.dataDir, 'tls', 'cert.pem'));
    const c = await connect(app.port, { tls: { ca, servername: 'localhost' } });
    t.after(() => c.destroy());
    for (let i = 0; i < 3; i++) {
      await c.write(get('/health'));
      assert.equal((await c.next()).status, 200, `request ${i + 1} on one TLS connection`);
    }
    await c.write(get('/health') + get('/api/v1/no-such-thing'));
    assert.equal((await c.next()).status, 200, 'first of the pipelined pair');
    assert.equal((await c.next()).status, 404, 'second of the pipelined pair');
    assert.ok(!c.closed(), 'the connection stays open');
  });
});

describe('client address behind a proxy', () => {
  // Sign-in is limited per client address (RATE_LOGIN_IP 2/min: two tries, then 429); the
  // per-account limit is off so that only the address counts.
  const ENV = { PASSWORD_ITERATIONS: '1000', RATE_LOGIN_IP: '2/min', RATE_LOGIN_ACCOUNT: 'off' };

  async function login(app, localAddress, headers = '') {
    const body = JSON.stringify({ email: 'nobody@example.test', password: 'wrong password' });
    const r = await exchange(app.port, `POST /api/v1/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\n` +
      `Content-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n${headers}\r\n${body}`,
    { localAddress });
    return r.statuses[0];
  }
  const xff = (v) => `X-Forwarded-For: ${v}\r\n`;

  test('TRUSTED_PROXIES: clients named by the proxy in X-Forwarded-For or X-Real-IP are limited separately', async (t) => {
    const app = await startApp({ t, env: { ...ENV, TRUSTED_PROXIES: '127.0.0.1' } });
    const seen = [];
    for (const v of ['203.0.113.1', '203.0.113.1', '203.0.113.1']) seen.push(await login(app, '127.0.0.1', xff(v)));
    seen.push(await login(app, '127.0.0.1', xff('203.0.113.2')));
    seen.push(await login(app, '127.0.0.1', 'X-Real-IP: 203.0.113.3\r\n'));
    assert.deepEqual(seen, [401, 401, 429, 401, 401]);
  });

  // A proxy appends the address it saw; what the client put in front of it is the client's
  // own claim. The client is the nearest address that is not a trusted proxy.
  test('TRUSTED_PROXIES: addresses a client puts in front of the proxy\'s own do not escape its limit', async (t) => {
    const app = await startApp({ t, env: { ...ENV, TRUSTED_PROXIES: '127.0.0.1' } });
    const seen = [];
    for (const v of ['203.0.113.9', '203.0.113.9']) seen.push(await login(app, '127.0.0.1', xff(v)));
    for (const v of ['198.51.100.1, 203.0.113.4', '198.51.100.2, 203.0.113.4', '198.51.100.3, 203.0.113.4']) {
      seen.push(await login(app, '127.0.0.1', xff(v)));
    }
    assert.deepEqual(seen, [401, 401, 401, 401, 429]);
  });

  test('TRUSTED_PROXIES: X-Forwarded-For from a peer that is not a trusted proxy is ignored', async (t) => {
    const app = await startApp({ t, env: { ...ENV, TRUSTED_PROXIES: '127.0.0.1' } });
    const seen = [];
    for (const v of ['203.0.113.5', '203.0.113.6', '203.0.113.7']) seen.push(await login(app, '127.0.0.3', xff(v)));
    assert.deepEqual(seen, [401, 401, 429]);
  });

  test('without TRUSTED_PROXIES, X-Forwarded-For is ignored: one limit for the peer', async (t) => {
    const app = await startApp({ t, env: ENV });
    const seen = [];
    for (const v of ['203.0.113.1', '203.0.113.2', '203.0.113.3']) seen.push(await login(app, '127.0.0.1', xff(v)));
    seen.push(await login(app, '127.0.0.1', 'X-Real-IP: 203.0.113.4\r\n'));
    assert.deepEqual(seen, [401, 401, 429, 429]);
  });
});
