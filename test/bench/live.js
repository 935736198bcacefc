// Live figures (issue 11), each against its limit or against a baseline from the same run:
//  ws     10,000 WebSocket clients signed in (LIVE_USERS accounts x tabs, seeded with
//         `app seed users`): app VmRSS idle and with them (<= idle + 80 MiB, <= 8 KiB each);
//         app CPU while they idle, utime+stime over 3 windows of 10 s (<= 2 % of one core);
//         one event delivered to all 10,000: p50/p99 of receive time - POST time, app p99 <=
//         1.5 x bench-broadcast's (test/bench/broadcast.c, a bare one-thread epoll loop) to the
//         same clients, rounds alternating bare, app.
//  sse    2,000 concurrent chat SSE streams against a fake upstream streaming each reply over
//         10 s: all complete, none refused, /health p99 <= 50 ms meanwhile, RSS <= idle + 64 MiB.
//  bare   the broadcast rounds against bench-broadcast alone (checks the clients; no app).
// The /health throughput figure (app / bare civetweb >= 0.9, wrk -t2 -c64) is test/bench/run's,
// the idle-TCP and slowloris figure test/bench/conns.js's.
// Usage: node test/bench/live.js [BUILD_DIR] [ws,sse]   (ninja -C BUILD app test/bench-broadcast)
// Settings (environment): LIVE_CLIENTS 10000, LIVE_USERS 1000, LIVE_PROCS 2 (client
// processes), LIVE_ROUNDS 3 (bare+app broadcast rounds), LIVE_EVENTS 5 (timed events a round),
// LIVE_STREAMS 2000, LIVE_SSE_ROUNDS 3, LIVE_ADDRS 50 (client addresses 127.0.0.2 ...).
// Every process started here is killed on exit; the data directory is removed.
'use strict';
const { execFileSync, fork, spawn } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const now = () => process.hrtime.bigint(); // CLOCK_MONOTONIC: one clock for every process here
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const env = (name, dflt) => {
  const v = Number(process.env[name] || dflt);
  if (!Number.isInteger(v) || v < 1) throw new Error(`${name} must be a positive whole number`);
  return v;
};

// ---------------------------------------------------------------------------------------------
// Client processes: each holds a share of the sockets and answers the parent over IPC.

// A raw WebSocket client (RFC 6455, client side): the handshake with the bearer token as a
// subprotocol, unmasked server frames parsed, pings answered, closes answered. Raw rather
// than the `ws` package so that the client's own cost per frame is small and the same for
// both servers. Resolves with the connection, or {err} when the upgrade failed.
function wsOpen({ port, addr, token, waitReady }, onText, onClose) {
  return new Promise((resolve) => {
    const key = crypto.randomBytes(16).toString('base64');
    const accept = crypto.createHash('sha1').update(key + WS_GUID).digest('base64');
    const c = { sock: null, got: null, len: 0, closeCode: null, closedByUs: false, closed: false };
    let head = Buffer.alloc(0); // bytes of the answer's head, until it is whole; then null
    let buf = Buffer.alloc(0); // frame bytes not yet parsed
    let settled = false;
    let settle = (err) => {
      if (settled) return;
      settled = true;
      resolve(err ? { err } : c);
    };
    const s = net.connect({ host: '127.0.0.1', port, localAddress: addr });
    c.sock = s;
    const give = setTimeout(() => { s.destroy(); settle('no ready in 30 s'); }, 30000);
    const settled0 = settle;
    settle = (err) => { clearTimeout(give); settled0(err); };
    s.setNoDelay(true);
    s.on('connect', () => s.write(`GET /ws HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\n` +
      `Connection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n` +
      `Sec-WebSocket-Protocol: bearer, ${token}\r\n\r\n`));
    const send = (opcode, payload) => { // a masked control frame (payload < 126 bytes)
      const mask = crypto.randomBytes(4);
      const f = Buffer.alloc(6 + payload.length);
      f[0] = 0x80 | opcode;
      f[1] = 0x80 | payload.length;
      mask.copy(f, 2);
      for (let i = 0; i < payload.length; i++) f[6 + i] = payload[i] ^ mask[i & 3];
      if (!s.destroyed) s.write(f);
    };
    s.on('data', (d) => {
      if (head) {
        head = Buffer.concat([head, d]);
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) {
          if (head.length > 16384) { s.destroy(); settle('answer head too long'); }
          return;
        }
        const text = head.subarray(0, end).toString('latin1');
        d = head.subarray(end + 4);
        head = null;
        const status = (/^HTTP\/1\.1 (\d{3})/.exec(text) || [])[1] || 'no status';
        if (status !== '101') { s.destroy(); settle(`HTTP ${status}`); return; }
        const got = (/\r\nsec-websocket-accept:\s*(\S+)/i.exec(text) || [])[1];
        if (got !== accept) { s.destroy(); settle('bad Sec-WebSocket-Accept'); return; }
        if (!waitReady) settle();
      }
      buf = buf.length ? Buffer.concat([buf, d]) : d;
      while (buf.length >= 2) {
        const opcode = buf[0] & 0x0f;
        let len = buf[1] & 0x7f;
        let at = 2;
        if (buf[1] & 0x80) { c.closeCode = 'masked by server'; s.destroy(); return; }
        if (len === 126) {
          if (buf.length < 4) break;
          len = buf.readUInt16BE(2);
          at = 4;
        } else if (len === 127) {
          if (buf.length < 10) break;
          len = Number(buf.readBigUInt64BE(2));
          at = 10;
        }
        if (buf.length < at + len) break;
        const payload = buf.subarray(at, at + len);
        buf = buf.subarray(at + len);
        if (opcode === 1 || opcode === 0) {
          if (!settled && waitReady && payload.includes('"type":"ready"')) settle();
          else onText(c, payload);
        } else if (opcode === 9) {
          send(10, payload);
        } else if (opcode === 8) {
          c.closeCode = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
          send(8, payload.subarray(0, 2));
          s.end();
        }
      }
    });
    s.on('error', (e) => { c.error = e.code || e.message; settle(c.error); });
    s.on('close', () => { c.closed = true; settle('closed before ready'); onClose(c); });
  });
}

// Runs `fn` over `items` with at most `k` in flight; resolves with the results in order.
async function pool(items, k, fn) {
  const out = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(k, items.length) }, worker));
  return out;
}

const tally = (xs) => xs.reduce((m, x) => { m[x] = (m[x] || 0) + 1; return m; }, {});

// One streamed chat exchange (POST .../messages, Accept: text/event-stream).
function sseExchange(port, { addr, token, chat }, content) {
  const { sseReader } = require('../e2e/lib/sse');
  return new Promise((resolve) => {
    const t0 = performance.now();
    const out = { status: 0, first: null, text: '', end: null, error: null };
    const req = http.request({ host: '127.0.0.1', port, path: `/api/v1/chats/${chat}/messages`, method: 'POST',
      localAddress: addr, agent: false,
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', Accept: 'text/event-stream' } },
    (res) => {
      out.status = res.statusCode;
      const feed = sseReader();
      res.setEncoding('utf8');
      res.on('data', (d) => {
        for (const ev of feed(d)) {
          if (ev.event === 'delta') {
            if (out.first === null) out.first = performance.now() - t0;
            out.text += ev.data.text;
          } else if (ev.event === 'done' || ev.event === 'error') {
            out.end = ev.event;
          }
        }
      });
      res.on('end', () => resolve(out));
      res.on('error', (e) => { out.error = e.code || e.message; resolve(out); });
    });
    req.on('error', (e) => { out.error = e.code || e.message; resolve(out); });
    req.end(JSON.stringify({ content }));
  });
}

function clientMain() {
  let conns = [];
  let armed = null; // {nonce, count, waiters}
  let droppedByServer = [];
  let lastFrame = 0;
  const onText = (c, payload) => {
    lastFrame = performance.now();
    if (armed && c.got === null && payload.includes(armed.nonce)) {
      c.got = now();
      c.len = payload.length;
      if (++armed.count === conns.length) for (const w of armed.waiters.splice(0)) w();
    }
  };
  const onClose = (c) => { if (!c.closedByUs && c.ready) droppedByServer.push(c.closeCode ?? c.error ?? 'eof'); };
  const reply = (m) => process.send(m);
  process.on('message', async (m) => {
    if (m.op === 'open') {
      const t0 = performance.now();
      const got = await pool(m.conns, m.inFlight, (o) => wsOpen({ port: m.port, waitReady: m.waitReady, ...o }, onText, onClose));
      const ok = got.filter((c) => !c.err);
      for (const c of ok) c.ready = true;
      conns.push(...ok);
      reply({ op: 'opened', n: ok.length, failed: tally(got.filter((c) => c.err).map((c) => c.err)),
        ms: performance.now() - t0 });
    } else if (m.op === 'arm') {
      for (const c of conns) c.got = null;
      armed = { nonce: Buffer.from(m.nonce), count: 0, waiters: [] };
      reply({ op: 'armed' });
    } else if (m.op === 'collect') {
      const live = conns.filter((c) => !c.closed);
      if (armed.count < conns.length) {
        await Promise.race([new Promise((r) => armed.waiters.push(r)), sleep(m.timeoutMs)]);
      }
      const base = BigInt(m.base);
      const ms = conns.filter((c) => c.got !== null).map((c) => Number(c.got - base) / 1e6);
      const lens = conns.filter((c) => c.got !== null).map((c) => c.len);
      armed = null;
      reply({ op: 'times', ms, missing: conns.length - ms.length, live: live.length, len: lens[0] || 0 });
    } else if (m.op === 'quiet') { // until no frame came for m.ms: what follows an event is in
      while (performance.now() - lastFrame < m.ms) await sleep(m.ms / 4);
      reply({ op: 'quiet' });
    } else if (m.op === 'close') {
      const waits = conns.map((c) => new Promise((r) => {
        if (c.closed) return r();
        c.closedByUs = true;
        c.sock.once('close', r);
        c.sock.destroy();
      }));
      await Promise.all(waits);
      const dropped = tally(droppedByServer);
      conns = [];
      droppedByServer = [];
      reply({ op: 'closed', dropped });
    } else if (m.op === 'sse') {
      const t0 = performance.now();
      const rs = await Promise.all(m.streams.map((s) => sseExchange(m.port, s, m.content)));
      reply({ op: 'sse', n: rs.length, wallMs: performance.now() - t0,
        complete: rs.filter((r) => r.status === 200 && r.end === 'done' && r.text === m.expected).length,
        statuses: tally(rs.map((r) => r.status)), ends: tally(rs.map((r) => r.end || r.error || 'no end')),
        firstMax: Math.max(0, ...rs.filter((r) => r.first !== null).map((r) => r.first)),
        firsts: rs.filter((r) => r.first !== null).length });
    } else if (m.op === 'exit') {
      process.exit(0);
    }
  });
  process.on('disconnect', () => process.exit(0));
  reply({ op: 'up' });
}

// The fake upstream runs in its own process, so that its 2,000 streams do not share an event
// loop with the clients or with the /health probe.
async function llmMain() {
  const { startLlm } = require('../e2e/lib/llm');
  const llm = await startLlm();
  process.on('message', (m) => {
    if (m.op === 'default') {
      llm.setDefault({ chunks: m.chunks, delayMs: m.delayMs });
      process.send({ op: 'set' });
    } else if (m.op === 'count') {
      process.send({ op: 'count', n: llm.requests.length });
    }
  });
  process.on('disconnect', () => process.exit(0));
  process.send({ op: 'up', url: llm.url, apiKey: llm.apiKey });
}

// ---------------------------------------------------------------------------------------------
// The parent: servers, figures, summary.

const procs = new Set(); // every child process still running
let work = null;

function cleanup() {
  for (const p of procs) { try { p.kill('SIGKILL'); } catch { /* gone */ } }
  procs.clear();
  if (work) fs.rmSync(work, { recursive: true, force: true });
  work = null;
}

// A child speaking IPC, with `ask(message, answerOp)` for one request and its answer.
function child(args) {
  const p = fork(__filename, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  procs.add(p);
  p.on('exit', () => procs.delete(p));
  const waiting = new Map();
  p.on('message', (m) => {
    const w = waiting.get(m.op);
    if (w) { waiting.delete(m.op); w(m); }
  });
  p.ask = (m, answer, timeoutMs = 600000) => new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${answer} from a child in ${timeoutMs} ms`)), timeoutMs);
    waiting.set(answer, (r) => { clearTimeout(timer); resolve(r); });
    if (m) p.send(m);
  });
  p.up = p.ask(null, 'up', 30000);
  return p;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

function call(port, method, p, token, body, timeoutMs = 10000) {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const req = http.request({ host: '127.0.0.1', port, path: p, method, agent: false, timeout: timeoutMs,
      headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) } }, (res) => {
      let text = '';
      res.on('data', (d) => { text += d; });
      res.on('end', () => resolve({ status: res.statusCode, text, ms: performance.now() - t0 }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e) => resolve({ status: 0, text: e.message, ms: performance.now() - t0 }));
    req.end(body === undefined ? undefined : (typeof body === 'string' ? body : JSON.stringify(body)));
  });
}

const proc = (pid, file) => fs.readFileSync(`/proc/${pid}/${file}`, 'utf8');
const rssKiB = (pid) => Number(/VmRSS:\s+(\d+)/.exec(proc(pid, 'status'))[1]);
const threadsOf = (pid) => Number(/Threads:\s+(\d+)/.exec(proc(pid, 'status'))[1]);
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }));
const cpuTicks = (pid) => { // utime + stime, fields 14 and 15, counted after the command name
  const f = proc(pid, 'stat').slice(proc(pid, 'stat').lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]);
};

const pct = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(p / 100 * s.length))]; };
const median = (xs) => pct(xs, 50);
const fmt = (x, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : String(x));
const spread = (xs, d = 1) => (xs.length ? `${fmt(median(xs), d)} [${fmt(Math.min(...xs), d)}-${fmt(Math.max(...xs), d)}]` : 'none');

async function startServer(cmd, args, extraEnv, logName, ready) {
  const log = path.join(work, logName);
  const p = spawn(cmd, args, { env: { ...process.env, ...extraEnv }, stdio: ['ignore', 'ignore', fs.openSync(log, 'w')] });
  procs.add(p);
  p.on('exit', () => procs.delete(p));
  for (let i = 0; i < 1000; i++) {
    if (p.exitCode !== null) break;
    if (ready.test(fs.readFileSync(log, 'utf8'))) return p;
    await sleep(10);
  }
  throw new Error(`${path.basename(cmd)} did not start:\n${fs.readFileSync(log, 'utf8').slice(-2000)}`);
}

async function stopServer(p) {
  if (!p || p.exitCode !== null) return;
  const gone = new Promise((r) => p.once('exit', r));
  p.kill('SIGTERM');
  if (!(await Promise.race([gone.then(() => true), sleep(10000).then(() => false)]))) {
    p.kill('SIGKILL');
    await gone;
  }
}

async function metric(port, name) {
  const r = await call(port, 'GET', '/metrics');
  const m = new RegExp(`^\\w*${name}(?:\\{[^}]*\\})?\\s+([0-9.e+]+)`, 'm').exec(r.text);
  return m ? Number(m[1]) : null;
}

const rows = [];
const row = (figure, measured, limit, pass) => rows.push([figure, measured, limit, pass === null ? '-' : pass ? 'PASS' : 'FAIL']);

// The clients share the sockets: connection i leaves from 127.0.0.(2 + i % addrs), so that
// each address stays under CONN_PER_ADDRESS (256).
async function openAll(clients, port, tokens, { waitReady, addrs }) {
  const shares = clients.map(() => []);
  tokens.forEach((token, i) => shares[i % clients.length].push({ token, addr: `127.0.0.${2 + (i % addrs)}` }));
  const got = await Promise.all(clients.map((c, k) => c.ask({ op: 'open', port, waitReady, inFlight: 64, conns: shares[k] }, 'opened')));
  const failed = {};
  for (const g of got) for (const [k, v] of Object.entries(g.failed)) failed[k] = (failed[k] || 0) + v;
  return { n: got.reduce((a, g) => a + g.n, 0), failed, ms: Math.max(...got.map((g) => g.ms)) };
}

async function closeAll(clients) {
  const got = await Promise.all(clients.map((c) => c.ask({ op: 'close' }, 'closed')));
  const dropped = {};
  for (const g of got) for (const [k, v] of Object.entries(g.dropped)) dropped[k] = (dropped[k] || 0) + v;
  return dropped;
}

// One event to every open client: arm the clients with the nonce, note the time, trigger,
// collect. Latencies in ms from the trigger's first byte.
async function oneEvent(clients, nonce, trigger) {
  await Promise.all(clients.map((c) => c.ask({ op: 'arm', nonce }, 'armed')));
  const t0 = now();
  const r = await trigger();
  const got = await Promise.all(clients.map((c) => c.ask({ op: 'collect', base: String(t0), timeoutMs: 10000 }, 'times')));
  const ms = got.flatMap((g) => g.ms);
  // the app's chat exchange sends a second event (the reply) after the timed one: let it and
  // anything else reach every client before the next event
  await Promise.all(clients.map((c) => c.ask({ op: 'quiet', ms: 200 }, 'quiet')));
  return { ms, missing: got.reduce((a, g) => a + g.missing, 0), len: Math.max(...got.map((g) => g.len)), status: r.status, text: r.text };
}

function seed(app, data, n, prefix, extraEnv) {
  const out = execFileSync(app, ['--data', data, 'seed', 'users', String(n), prefix],
    { env: { ...process.env, ...extraEnv }, encoding: 'utf8', maxBuffer: 1 << 28, stdio: ['ignore', 'pipe', 'pipe'] });
  const users = out.trim().split('\n').map((l) => { const [email, id, token] = l.split('\t'); return { email, id, token }; });
  if (users.length !== n || users.some((u) => !u.token)) throw new Error(`seed users ${n} printed ${users.length} lines`);
  return users;
}

async function wsPart(o) {
  const { build, clients, data, users, one } = o;
  const N = env('LIVE_CLIENTS', 10000), addrs = env('LIVE_ADDRS', 50);
  const tabs = Math.ceil(N / users.length);
  const appEnv = { ...o.appEnv, LLM_DEMO_DELAY_MS: '0', LLM_BASE_URL: '' };
  const port = await freePort();
  const app = await startServer(path.join(build, 'app'), ['--data', data, '--listen', `127.0.0.1:${port}`], appEnv,
    'app-ws.log', /listening/);
  const chat = JSON.parse((await call(port, 'POST', '/api/v1/chats', one.token, { title: 'live bench' })).text).id;
  let seq = 0;
  const content = () => `live-bench-${String(process.pid).padStart(8, '0')}-${String(++seq).padStart(6, '0')}`;
  const post = (nonce) => call(port, 'POST', `/api/v1/chats/${chat}/messages`, one.token, { content: nonce });

  // warm-up and calibration: a few tabs of the broadcast user, one event; its frame's size is
  // what the bare server sends too
  const cal = await openAll(clients, port, Array(10).fill(one.token), { waitReady: true, addrs });
  if (cal.n !== 10) throw new Error(`the app took ${cal.n} of 10 WebSockets: ${JSON.stringify(cal.failed)}`);
  const nonce = content();
  const c1 = await oneEvent(clients, nonce, () => post(nonce));
  if (c1.ms.length !== 10) throw new Error(`calibration: ${c1.ms.length} of 10 got the event (POST ${c1.status} ${c1.text.slice(0, 200)})`);
  const frameLen = c1.len;
  await closeAll(clients);
  for (let i = 0; i < 100 && (await metric(port, 'ws_open')) > 0; i++) await sleep(50);
  await sleep(2000);

  // 1. memory and idle CPU with N clients of many users
  const idle = rssKiB(app.pid);
  const tokens = [];
  for (let t = 0; t < tabs; t++) for (const u of users) if (tokens.length < N) tokens.push(u.token);
  const opened = await openAll(clients, port, tokens, { waitReady: true, addrs });
  console.log(`ws: ${opened.n} of ${N} WebSockets open (${users.length} users x ${tabs} tabs) in ${fmt(opened.ms / 1000)} s` +
    `${Object.keys(opened.failed).length ? `, refused: ${JSON.stringify(opened.failed)}` : ''}; ws_open ${await metric(port, 'ws_open')}`);
  await sleep(2000);
  const withN = rssKiB(app.pid);
  const cpu = [];
  for (let w = 0; w < 3; w++) {
    const t0 = cpuTicks(app.pid), s0 = performance.now();
    await sleep(10000);
    cpu.push(((cpuTicks(app.pid) - t0) / CLK_TCK) / ((performance.now() - s0) / 1000) * 100);
  }
  const after = rssKiB(app.pid);
  const threads = threadsOf(app.pid);
  const dropped1 = await closeAll(clients);
  const perConn = (withN - idle) / Math.max(1, opened.n);
  console.log(`ws: app VmRSS idle ${fmt(idle / 1024)} MiB, with ${opened.n} ${fmt(withN / 1024)} MiB ` +
    `(${fmt(after / 1024)} MiB after 30 s idle), ${fmt(perConn, 2)} KiB each; ${threads} threads; ` +
    `idle CPU per 10 s window ${cpu.map((x) => fmt(x, 2)).join(', ')} % of one core` +
    `${Object.keys(dropped1).length ? `; dropped by the server: ${JSON.stringify(dropped1)}` : ''}`);
  row(`app RSS with ${N} WebSockets - idle`, `${fmt((Math.max(withN, after) - idle) / 1024)} MiB (${fmt(idle / 1024)} idle)`,
    '<= 80 MiB', opened.n === N && Math.max(withN, after) - idle <= 80 * 1024);
  row('app RSS per WebSocket', `${fmt(perConn, 2)} KiB`, '<= 8 KiB', opened.n === N && perConn <= 8);
  row(`app CPU, ${N} idle WebSockets`, `${spread(cpu, 2)} % of a core`, '<= 2 %', opened.n === N && median(cpu) <= 2);
  for (let i = 0; i < 100 && (await metric(port, 'ws_open')) > 0; i++) await sleep(50);

  await broadcastRounds({ ...o, sides: ['bare', 'app'], app, port, post, content, frameLen });
  await stopServer(app);
}

// One event to N tabs of one user (the app: one chat message, whose chat.message event the
// hub sends to every tab of its owner) against the bare loop sending one frame as large to N
// sockets; rounds alternate bare, app so that drift in the machine's load hits both alike.
async function broadcastRounds({ build, clients, one, sides, app, port, post, content, frameLen }) {
  const N = env('LIVE_CLIENTS', 10000), addrs = env('LIVE_ADDRS', 50);
  const rounds = env('LIVE_ROUNDS', 3), events = env('LIVE_EVENTS', 5);
  const bport = await freePort();
  const bare = await startServer(path.join(build, 'test', 'bench-broadcast'), [String(bport)], {}, 'bare.log', /listening/);
  const body = (n) => n + 'x'.repeat(Math.max(0, frameLen - n.length)); // a bare frame as long as the app's
  const res = { bare: { p50: [], p99: [], max: [], first: [], fan: [], missing: 0, rss: [], open: [], loop: [] },
    app: { p50: [], p99: [], max: [], first: [], fan: [], missing: 0, rss: [], open: [] } };
  const oneTokens = Array(N).fill(one ? one.token : 'none');
  for (let r = 1; r <= rounds; r++) {
    for (const side of sides) {
      const p = side === 'bare' ? bport : port;
      const pid = side === 'bare' ? bare.pid : app.pid;
      const op = await openAll(clients, p, oneTokens, { waitReady: side === 'app', addrs });
      res[side].open.push(op.n);
      await sleep(1000);
      res[side].rss.push(rssKiB(pid));
      const trig = side === 'bare' ? (n) => call(p, 'POST', '/broadcast', null, body(n)) : (n) => post(n);
      const line = [];
      for (let e = 0; e <= events; e++) { // event 0 warms up and is not counted
        const nonce = content();
        const ev = await oneEvent(clients, nonce, () => trig(nonce));
        if (e === 0) {
          line.push(`(warm-up ${fmt(pct(ev.ms, 50))}/${fmt(pct(ev.ms, 99))})`);
          continue;
        }
        res[side].p50.push(pct(ev.ms, 50));
        res[side].p99.push(pct(ev.ms, 99));
        res[side].max.push(Math.max(...ev.ms));
        res[side].first.push(Math.min(...ev.ms));
        res[side].fan.push(pct(ev.ms, 99) - Math.min(...ev.ms)); // the fan-out alone, without the POST
        res[side].missing += ev.missing;
        const loop = side === 'bare' && /sent in (\d+) us/.exec(ev.text);
        if (loop) res.bare.loop.push(Number(loop[1]) / 1000);
        line.push(`${fmt(pct(ev.ms, 50))}/${fmt(pct(ev.ms, 99))}${ev.missing ? ` (${ev.missing} missing)` : ''}`);
        await sleep(300);
      }
      const dropped = await closeAll(clients);
      console.log(`broadcast round ${r} ${side.padEnd(4)}: ${op.n} open in ${fmt(op.ms / 1000)} s, ` +
        `${frameLen}-byte frames, p50/p99 ms: ${line.join('  ')}` +
        `${Object.keys(op.failed).length ? `; refused ${JSON.stringify(op.failed)}` : ''}` +
        `${Object.keys(dropped).length ? `; dropped ${JSON.stringify(dropped)}` : ''}`);
      if (side === 'app') for (let i = 0; i < 100 && (await metric(port, 'ws_open')) > 0; i++) await sleep(50);
      else await sleep(500);
    }
  }
  await stopServer(bare);
  const b = res.bare, a = res.app;
  row('broadcast p50, bare (ms)', spread(b.p50), 'baseline', null);
  row('broadcast p99, bare (ms)', spread(b.p99), 'baseline', null);
  row('broadcast first arrival, bare (ms)', spread(b.first), 'baseline', null);
  row('bare loop writing all frames (ms)', spread(b.loop, 2), 'reference', null);
  row(`bare VmRSS with ${N} WebSockets`, `${spread(b.rss.map((k) => k / 1024))} MiB`, 'reference', null);
  if (!sides.includes('app')) {
    row('events missing (bare)', `${b.missing}`, '0', b.missing === 0 && b.open.every((n) => n === N));
    return;
  }
  const ratio = median(a.p99) / median(b.p99);
  const allOpen = a.open.every((n) => n === N) && b.open.every((n) => n === N);
  row('broadcast p50, app (ms)', spread(a.p50), '-', null);
  row('broadcast p99, app (ms)', spread(a.p99), '-', null);
  row('broadcast first arrival, app (ms)', spread(a.first), '-', null);
  row(`app VmRSS with ${N} tabs of one user`, `${spread(a.rss.map((k) => k / 1024))} MiB`, 'reference', null);
  row('broadcast p99 - first arrival, bare / app', `${spread(b.fan)} / ${spread(a.fan)}`, 'reference', null);
  row('the same, app / bare', fmt(median(a.fan) / median(b.fan), 2), 'reference', null);
  row(`broadcast p99 app / bare, ${N} clients`, fmt(ratio, 2), '<= 1.5',
    allOpen && a.missing === 0 && b.missing === 0 && ratio <= 1.5);
  row('events missing (bare, app)', `${b.missing}, ${a.missing}`, '0', a.missing === 0 && b.missing === 0);
}

async function ssePart(o) {
  const { build, clients, data, users } = o;
  const S = env('LIVE_STREAMS', 2000), rounds = env('LIVE_SSE_ROUNDS', 3), addrs = env('LIVE_ADDRS', 50);
  const llm = child(['--llm']);
  const up = await llm.up;
  const chunks = Array.from({ length: 50 }, (_, i) => `t${i} `); // 50 chunks 200 ms apart: 10 s
  await llm.ask({ op: 'default', chunks, delayMs: 200 }, 'set');
  const appEnv = { ...o.appEnv, LLM_BASE_URL: up.url, LLM_API_KEY: up.apiKey, LLM_MODEL: 'fake-model',
    LLM_BREAKER_FAILURES: '1000' };
  let streams = null;
  const res = { complete: [], refused: [], health: [], quiet: [], settled: [], rssOver: [], firstMax: [], wall: [], threads: [] };
  // each round on a fresh process: RSS over idle is then what 2,000 streams take, not what
  // earlier rounds left in the allocator (printed as "after")
  for (let r = 1; r <= rounds; r++) {
    const port = await freePort();
    const app = await startServer(path.join(build, 'app'), ['--data', data, '--listen', `127.0.0.1:${port}`], appEnv,
      `app-sse-${r}.log`, /listening/);
    // one chat a stream, owners in turn, made once
    streams = streams || await pool(Array.from({ length: S }, (_, i) => i), 16, async (i) => {
      const u = users[i % users.length];
      const c = await call(port, 'POST', '/api/v1/chats', u.token, { title: `s${i}` });
      if (c.status !== 201) throw new Error(`POST /chats: ${c.status} ${c.text}`);
      return { addr: `127.0.0.${2 + (i % addrs)}`, token: u.token, chat: JSON.parse(c.text).id };
    });
    await call(port, 'GET', '/health');
    await sleep(1000);
    const quiet = []; // baseline: the same probes with no stream
    for (let i = 0; i < 40; i++) {
      const h = await call(port, 'GET', '/health', null, undefined, 5000);
      quiet.push(h.status === 200 ? h.ms : Infinity);
      await sleep(50);
    }
    await sleep(500);
    const idle = rssKiB(app.pid);
    let peak = rssKiB(app.pid), peakThreads = threadsOf(app.pid), running = true;
    const health = [], settled = [], slow = [], start = performance.now();
    const prober = (async () => {
      while (running) {
        peak = Math.max(peak, rssKiB(app.pid));
        peakThreads = Math.max(peakThreads, threadsOf(app.pid));
        const at = performance.now() - start;
        const h = await call(port, 'GET', '/health', null, undefined, 5000);
        health.push(h.status === 200 ? h.ms : Infinity);
        if (at >= 2000) settled.push(health[health.length - 1]);
        if (h.status !== 200 || h.ms > 50) slow.push(`${h.status === 200 ? fmt(h.ms, 0) : `${h.status || h.text}`} ms at ${fmt(at / 1000)} s`);
        await sleep(50);
      }
    })();
    const shares = clients.map(() => []);
    streams.forEach((s, i) => shares[i % clients.length].push(s));
    const got = await Promise.all(clients.map((c, k) => c.ask({ op: 'sse', port, streams: shares[k], content: 'stream please',
      expected: chunks.join('') }, 'sse')));
    running = false;
    await prober;
    const complete = got.reduce((a, g) => a + g.complete, 0);
    const statuses = {}, ends = {};
    for (const g of got) {
      for (const [k, v] of Object.entries(g.statuses)) statuses[k] = (statuses[k] || 0) + v;
      for (const [k, v] of Object.entries(g.ends)) ends[k] = (ends[k] || 0) + v;
    }
    const refused = S - (statuses[200] || 0);
    const wall = Math.max(...got.map((g) => g.wallMs)) / 1000;
    const firstMax = Math.max(...got.map((g) => g.firstMax)) / 1000;
    res.complete.push(complete);
    res.refused.push(refused);
    res.health.push(pct(health, 99));
    res.quiet.push(pct(quiet, 99));
    res.settled.push(pct(settled, 99));
    res.rssOver.push((peak - idle) / 1024);
    res.firstMax.push(firstMax);
    res.wall.push(wall);
    res.threads.push(peakThreads);
    const failedProbes = health.filter((h) => !Number.isFinite(h)).length;
    await sleep(2000);
    const rest = rssKiB(app.pid); // idle again: what the streams left behind
    console.log(`sse round ${r}: ${complete}/${S} complete in ${fmt(wall)} s, statuses ${JSON.stringify(statuses)}, ` +
      `ends ${JSON.stringify(ends)}, slowest first delta ${fmt(firstMax, 2)} s; /health p50 ${fmt(pct(health, 50), 2)} ` +
      `p99 ${fmt(pct(health, 99), 2)} ms over ${health.length} probes (${failedProbes} failed or > 5 s); ` +
      `RSS idle ${fmt(idle / 1024)} MiB, peak ${fmt(peak / 1024)} MiB, ${fmt(rest / 1024)} MiB 2 s after; ` +
      `${peakThreads} threads at most${slow.length ? `; probes over 50 ms: ${slow.join(', ')}` : ''}`);
    await stopServer(app);
  }
  llm.kill('SIGTERM');
  row(`SSE streams complete of ${S}`, spread(res.complete, 0), `${S}`, res.complete.every((n) => n === S));
  row('SSE streams refused or failed', spread(res.refused, 0), '0', res.refused.every((n) => n === 0));
  row('/health p99 during streams (ms)', spread(res.health, 2), '<= 50', median(res.health) <= 50);
  row('/health p99 before, no stream (ms)', spread(res.quiet, 2), 'baseline', null);
  row('/health p99 from 2 s in (all started) (ms)', spread(res.settled, 2), 'reference', null);
  row('app RSS during streams - idle', `${spread(res.rssOver)} MiB`, '<= 64 MiB', res.rssOver.every((x) => x <= 64));
  row('slowest first delta (s)', spread(res.firstMax, 2), 'reference', null);
  row('app threads at most', spread(res.threads, 0), 'reference', null);
}

async function main() {
  const build = path.resolve(process.argv[2] || 'build');
  const parts = (process.argv[3] || 'ws,sse').split(',');
  for (const f of [path.join(build, 'app'), path.join(build, 'test', 'bench-broadcast')]) {
    if (!fs.existsSync(f)) throw new Error(`missing ${f} (ninja -C ${build} app test/bench-broadcast)`);
  }
  const N = env('LIVE_CLIENTS', 10000), P = env('LIVE_PROCS', 2), U = env('LIVE_USERS', 1000);
  // each client process holds N / P sockets; node raises its soft limit to the hard one
  const hard = Number((/Max open files\s+\d+\s+(\d+|unlimited)/.exec(fs.readFileSync('/proc/self/limits', 'utf8')) || [])[1]) || Infinity;
  if (hard < N / P + 200) throw new Error(`the open-file hard limit ${hard} is too low for ${N / P} sockets a process: raise LIVE_PROCS or ulimit -Hn`);
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'app-bench-live-'));
  const data = path.join(work, 'data');
  const appEnv = { ACCESS_TTL: '86400', CHAT_DAILY_LIMIT: '0', PASSWORD_ITERATIONS: '1000' };
  const t0 = performance.now();
  const users = seed(path.join(build, 'app'), data, U, 'live', appEnv);
  const [one] = seed(path.join(build, 'app'), data, 1, 'broadcast', appEnv);
  console.log(`live: ${os.cpus().length} CPUs, load ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}; ${U + 1} accounts seeded ` +
    `in ${fmt((performance.now() - t0) / 1000)} s; ${P} client processes; app ${path.join(build, 'app')}`);
  const clients = Array.from({ length: P }, () => child(['--client']));
  await Promise.all(clients.map((c) => c.up));
  const o = { build, clients, data, users, one, appEnv };
  if (parts.includes('ws')) await wsPart(o);
  if (parts.includes('bare')) { // the bare loop alone: checks the clients, shows their own cost
    let seq = 0;
    await broadcastRounds({ ...o, one: null, sides: ['bare'], frameLen: 300,
      content: () => `live-bench-${String(process.pid).padStart(8, '0')}-${String(++seq).padStart(6, '0')}` });
  }
  if (parts.includes('sse')) await ssePart(o);
  for (const c of clients) c.send({ op: 'exit' });
  console.log(`\n${'figure'.padEnd(50)} ${'measured: median [range]'.padEnd(34)} ${'limit'.padEnd(10)} result`);
  for (const r of rows) console.log(`${r[0].padEnd(50)} ${String(r[1]).padEnd(34)} ${r[2].padEnd(10)} ${r[3]}`);
  console.log('(/health throughput app / bare civetweb: test/bench/run; idle TCP and slowloris: test/bench/conns.js)');
  return rows.every((r) => r[3] !== 'FAIL') ? 0 : 1;
}

if (process.argv[2] === '--client') {
  clientMain();
} else if (process.argv[2] === '--llm') {
  llmMain().catch((e) => { console.error(e); process.exit(1); });
} else {
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => { cleanup(); process.exit(130); });
  main().then((code) => { cleanup(); process.exit(code); }, (e) => { console.error(`live: ${e.stack || e}`); cleanup(); process.exit(2); });
}
