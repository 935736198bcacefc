// The harness the node benches in test/bench share: child processes and the work directory,
// servers started and stopped, a raw RFC 6455 client, /proc readers, statistics, the table.
// It must never decide a figure or a limit: what is measured and judged stays in each bench.
'use strict';
const { execFileSync, fork, spawn } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { sseReader } = require('../e2e/lib/sse');

const root = path.resolve(__dirname, '../..');
const now = () => process.hrtime.bigint(); // CLOCK_MONOTONIC: one clock for every process here
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const load = () => os.loadavg().map((x) => x.toFixed(2)).join(' ');

// An integer setting from the environment, lo to hi. Anything else throws, or with `exitAs`
// (for settings read as the script loads) prints "exitAs: why" and exits with status 2.
function whole(name, dflt, lo, hi, exitAs) {
  const v = process.env[name] ?? String(dflt);
  if (!/^\d+$/.test(v) || Number(v) < lo || Number(v) > hi) {
    const why = `${name} must be a whole number from ${lo} to ${hi}`;
    if (!exitAs) throw new Error(why);
    console.error(`${exitAs}: ${why}`);
    process.exit(2);
  }
  return Number(v);
}

// ---------------------------------------------------------------------------------------------
// Child processes and the work directory: whatever is registered in `procs` is SIGKILLed by
// cleanup(), which also removes the directory made by makeWork().

const procs = new Set(); // every child process still running
let work = null;

function makeWork(prefix) {
  work = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  return work;
}

function killAll() {
  for (const p of procs) { try { p.kill('SIGKILL'); } catch { /* gone */ } }
}

function cleanup() {
  killAll();
  procs.clear();
  if (work) fs.rmSync(work, { recursive: true, force: true });
  work = null;
}

// `script` again as a child speaking IPC, with `ask(message, answerOp)` for one request and
// its answer (`who` names it when none comes) and `up`, its first message.
function child(script, args, who = 'a child') {
  const p = fork(script, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  procs.add(p);
  p.on('exit', () => procs.delete(p));
  const waiting = new Map();
  p.on('message', (m) => {
    const w = waiting.get(m.op);
    if (w) { waiting.delete(m.op); w(m); }
  });
  p.ask = (m, answer, timeoutMs = 600000) => new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${answer} from ${who} in ${timeoutMs} ms`)), timeoutMs);
    waiting.set(answer, (r) => { clearTimeout(timer); resolve(r); });
    if (m) p.send(m);
  });
  p.up = p.ask(null, 'up', 30000);
  return p;
}

// A command to its end or its deadline (then SIGKILL): its exit status and output.
function run(cmd, args, { env = process.env, limitMs }) {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    procs.add(p);
    let out = '', timedOut = false;
    p.stdout.on('data', (d) => { out += d; });
    p.stderr.on('data', (d) => { out += d; });
    const timer = setTimeout(() => { timedOut = true; p.kill('SIGKILL'); }, limitMs);
    p.on('error', (e) => { out += e.message; });
    p.on('close', (code, signal) => {
      clearTimeout(timer);
      procs.delete(p);
      resolve({ code, signal, out, timedOut });
    });
  });
}

// A server with its environment over this one's and its stderr to `log` (opened with
// `flags`); resolves with the process once `ready` matches the log. Throws fail(log text)
// when it exits first or waitMs passed.
async function startServer(cmd, args, { env = {}, log, flags = 'w', ready = /listening/, waitMs = 10000,
  fail = (text) => `${path.basename(cmd)} did not start:\n${text.slice(-2000)}` }) {
  const p = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', fs.openSync(log, flags)] });
  procs.add(p);
  p.on('exit', () => procs.delete(p));
  for (let i = 0; i < waitMs / 10 && p.exitCode === null; i++) {
    if (ready.test(fs.readFileSync(log, 'utf8'))) return p;
    await sleep(10);
  }
  throw new Error(fail(fs.readFileSync(log, 'utf8')));
}

// SIGTERM, graceMs for the server's own shutdown, then SIGKILL.
async function stopServer(p, graceMs) {
  if (!p || p.exitCode !== null || p.signalCode !== null) return;
  const gone = new Promise((r) => p.once('exit', r));
  p.kill('SIGTERM');
  const timer = setTimeout(() => p.kill('SIGKILL'), graceMs);
  await gone;
  clearTimeout(timer);
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

// One request on loopback (a string body as it is, anything else as JSON); resolves, never
// rejects, with {status, text, ms}: status 0 and the error (`late` for a timeout) when it failed.
function call(port, method, p, token, body,
  { timeoutMs = 10000, agent = false, late = `no answer in ${timeoutMs / 1000} s` } = {}) {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const req = http.request({ host: '127.0.0.1', port, path: p, method, agent, timeout: timeoutMs,
      headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) } }, (res) => {
      let text = '';
      res.on('data', (d) => { text += d; });
      res.on('end', () => resolve({ status: res.statusCode, text, ms: performance.now() - t0 }));
    });
    req.on('timeout', () => req.destroy(new Error(late)));
    req.on('error', (e) => resolve({ status: 0, text: e.message, ms: performance.now() - t0 }));
    req.end(body === undefined ? undefined : (typeof body === 'string' ? body : JSON.stringify(body)));
  });
}

// `n` accounts made by `app seed users` (emails from `prefix`), each {email, id, token}.
function seed(app, data, n, prefix, env) {
  const out = execFileSync(app, ['--data', data, 'seed', 'users', String(n), prefix],
    { env: { ...process.env, ...env }, encoding: 'utf8', maxBuffer: 1 << 28, stdio: ['ignore', 'pipe', 'pipe'] });
  const users = out.trim().split('\n').map((l) => { const [email, id, token] = l.split('\t'); return { email, id, token }; });
  if (users.length !== n || users.some((u) => !u.token)) throw new Error(`seed users ${n} printed ${users.length} lines`);
  return users;
}

// One round of a bare SQLite baseline (rawdb.c: bench-rawinsert, bench-relayraw) on a new
// database file `db` under the schema; its run() result. The database is removed after.
async function rawBaseline(bin, db, secs, sync) {
  const schema = fs.readdirSync(path.join(root, 'schema')).filter((f) => f.endsWith('.sql')).sort()
    .map((f) => path.join(root, 'schema', f));
  const res = await run(bin, [db, String(secs), sync, ...schema], { limitMs: (secs * 1000) + 30000 });
  for (const f of [db, `${db}-wal`, `${db}-shm`]) fs.rmSync(f, { force: true });
  return res;
}

// What went wrong, from the app's log text (answers >= 400 by status and error code, warnings
// and errors by text): the four most frequent kinds as lines to print, each after `indent`.
function logProblems(text, indent) {
  const kinds = new Map();
  for (const line of text.split('\n')) {
    const m = / status=([45]\d\d) .*?(error=\S+)?$/.exec(line);
    const key = m ? `answer status=${m[1]} ${m[2] || ''}` : / (ERROR|WARN) /.test(line) ? line.replace(/^\S+ /, '') : null;
    if (key) kinds.set(key, (kinds.get(key) || 0) + 1);
  }
  return [...kinds].sort((x, y) => y[1] - x[1]).slice(0, 4)
    .map(([k, n]) => `${indent}app log: ${n} x ${k.length > 160 ? `${k.slice(0, 160)}...` : k}`).join('\n');
}

// Requests/s of one wrk -t2 run; throws when wrk saw an answer other than 2xx or 3xx.
function wrkPerSec(url, { secs, conns = 64, headers = [] }) {
  const out = execFileSync('wrk', ['-t2', `-c${conns}`, `-d${secs}s`, ...headers.flatMap((h) => ['-H', h]), url], { encoding: 'utf8' });
  const bad = /Non-2xx or 3xx responses: (\d+)/.exec(out);
  if (bad) throw new Error(`wrk saw ${bad[1]} error responses on ${url}`);
  return Number(/Requests\/sec:\s+([\d.]+)/.exec(out)[1]);
}

// One streamed chat exchange (POST .../messages, Accept: text/event-stream), from `addr` if
// given: its status, the arrival time (performance.now()) of every delta and their text, how
// it ended (done, error) and the socket error if any. Never rejects.
function sseExchange(port, { addr, token, chat }, content) {
  return new Promise((resolve) => {
    const out = { status: 0, start: performance.now(), deltas: [], text: '', end: null, error: null };
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
            out.deltas.push(performance.now());
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

// ---------------------------------------------------------------------------------------------
// A raw WebSocket client (RFC 6455, client side). Raw rather than the `ws` package so that
// the client's own cost per frame is small and the same for every server.

const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

// A text frame from the client: masked as RFC 6455 requires, with a zero key, so that the
// clients spend no time on masking (the server unmasks every byte whatever the key).
function textFrame(text) {
  const payload = Buffer.from(text);
  const n = payload.length;
  const head = n < 126 ? 2 : n < 65536 ? 4 : 10;
  const f = Buffer.alloc(head + 4 + n);
  f[0] = 0x81;
  if (n < 126) {
    f[1] = 0x80 | n;
  } else if (n < 65536) {
    f[1] = 0x80 | 126;
    f.writeUInt16BE(n, 2);
  } else {
    f[1] = 0x80 | 127;
    f.writeBigUInt64BE(BigInt(n), 2);
  }
  payload.copy(f, head + 4);
  return f;
}

// A control frame (payload < 126 bytes), zero key as above.
function control(opcode, payload) {
  const f = Buffer.alloc(6 + payload.length);
  f[0] = 0x80 | opcode;
  f[1] = 0x80 | payload.length;
  payload.copy(f, 6);
  return f;
}

// The upgrade on `path` with the bearer token as a subprotocol; then server frames parsed,
// every text frame handed to onText(c, payload), pings and closes answered, onClose(c) at the
// end. Resolves with the connection c ({sock, send(frame), closeCode, closed, closedByUs,
// error}) once upgraded, or with `waitReady` once a frame of type `ready` came; else with
// {err}. `closeWhy` puts the close code into the "closed before" error.
function wsOpen({ port, addr, token, path: target = '/ws', ready = 'ready', waitReady = true, closeWhy = false },
  onText, onClose) {
  return new Promise((resolve) => {
    const key = crypto.randomBytes(16).toString('base64');
    const accept = crypto.createHash('sha1').update(key + WS_GUID).digest('base64');
    const mark = `"type":"${ready}"`;
    const c = { sock: null, closeCode: null, closedByUs: false, closed: false };
    let head = Buffer.alloc(0); // the answer's head until it is whole; then null
    let buf = Buffer.alloc(0); // frame bytes not yet parsed
    let settled = false;
    const s = net.connect({ host: '127.0.0.1', port, localAddress: addr });
    c.sock = s;
    const give = setTimeout(() => { s.destroy(); settle(`no ${ready} in 30 s`); }, 30000);
    function settle(err) {
      if (settled) return;
      settled = true;
      clearTimeout(give);
      resolve(err ? { err } : c);
    }
    c.send = (frame) => { if (!s.destroyed) s.write(frame); };
    s.setNoDelay(true);
    s.on('connect', () => s.write(`GET ${target} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\n` +
      `Connection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n` +
      `Sec-WebSocket-Protocol: bearer, ${token}\r\n\r\n`));
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
          onText(c, payload);
          if (!settled && waitReady && payload.includes(mark)) settle();
        } else if (opcode === 9) {
          c.send(control(10, payload));
        } else if (opcode === 8) {
          c.closeCode = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
          c.send(control(8, payload.subarray(0, 2)));
          s.end();
        }
      }
    });
    s.on('error', (e) => { c.error = e.code || e.message; settle(c.error); });
    s.on('close', () => {
      c.closed = true;
      settle(closeWhy ? `closed before ${ready} (${c.closeCode ?? c.error ?? 'eof'})` : `closed before ${ready}`);
      onClose(c);
    });
  });
}

// In a client process: closes its connections, resolving when every one is gone.
const closeConns = (conns) => Promise.all(conns.map((c) => new Promise((r) => {
  if (c.closed) return r();
  c.closedByUs = true;
  c.sock.once('close', r);
  c.sock.destroy();
})));

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
const addTally = (into, t) => { for (const [k, v] of Object.entries(t)) into[k] = (into[k] || 0) + v; return into; };

// The parent's side of the client processes (op `open`, answered `opened`; `close`, `closed`).
// Socket i leaves from 127.0.0.(2 + i % addrs), so that each address stays under
// CONN_PER_ADDRESS (256); conns[i] go to client process conns[i].proc, else i % P.
async function openAll(clients, port, conns, addrs, extra = {}) {
  const shares = clients.map(() => []);
  conns.forEach((o, i) => shares[o.proc ?? (i % clients.length)].push({ ...o, addr: `127.0.0.${2 + (i % addrs)}` }));
  const got = await Promise.all(clients.map((c, k) => c.ask({ op: 'open', port, ...extra, conns: shares[k] }, 'opened')));
  const failed = {};
  for (const g of got) addTally(failed, g.failed);
  return { n: got.reduce((s, g) => s + g.n, 0), failed, ms: Math.max(...got.map((g) => g.ms)) };
}

async function closeAll(clients) {
  const got = await Promise.all(clients.map((c) => c.ask({ op: 'close' }, 'closed')));
  const dropped = {};
  for (const g of got) addTally(dropped, g.dropped);
  return dropped;
}

// ---------------------------------------------------------------------------------------------
// /proc readers (Linux).

const proc = (pid, file) => fs.readFileSync(`/proc/${pid}/${file}`, 'utf8');
const statusKiB = (pid, field) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(proc(pid, 'status'))[1]);
const rssKiB = (pid) => Number(/VmRSS:\s+(\d+)/.exec(proc(pid, 'status'))[1]);
const threadsOf = (pid) => Number(/Threads:\s+(\d+)/.exec(proc(pid, 'status'))[1]);
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' })) || 100;
const cpuTicks = (pid) => { // utime + stime, fields 14 and 15, counted after the command name
  const s = proc(pid, 'stat');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]);
};

// The machine's busy time over all cores in ticks (user, nice, system, irq, softirq, steal):
// what the app and the clients did not take of it was other load.
const busyTicks = () => fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1)
  .map(Number).reduce((s, v, i) => (i === 3 || i === 4 ? s : s + v), 0);

// This process's open-file limits, soft and hard (Infinity for unlimited).
function openFiles() {
  const m = /^Max open files\s+(\d+|unlimited)\s+(\d+|unlimited)/m.exec(proc('self', 'limits'));
  const num = (s) => (s === 'unlimited' ? Infinity : Number(s));
  return m ? { soft: num(m[1]), hard: num(m[2]) } : { soft: Infinity, hard: Infinity };
}

// ---------------------------------------------------------------------------------------------
// Statistics and the results table.

// The p-th percentile, nearest rank above (undefined for none); its median is the upper middle.
const pct = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(p / 100 * s.length))]; };
const median = (xs) => pct(xs, 50);
// The middle value, the mean of the two middle ones for an even count.
const middle = (xs) => { const s = [...xs].sort((a, b) => a - b); const n = s.length; return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2; };
const range = (xs, d) => `${Math.min(...xs).toFixed(d)}-${Math.max(...xs).toFixed(d)}`;
const fmt = (x, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : String(x));
const spread = (xs, d = 1) => (xs.length ? `${fmt(median(xs), d)} [${fmt(Math.min(...xs), d)}-${fmt(Math.max(...xs), d)}]` : 'none');
const tail = (text, n = 8) => text.trim().split('\n').slice(-n).map((l) => `    ${l}`).join('\n');

const rows = []; // the results table, a figure a row, its verdict last
// A row of four columns: figure, measured, limit, PASS/FAIL ('-' for no limit: pass null).
const row = (figure, measured, limit, pass) => rows.push([figure, measured, limit, pass === null ? '-' : pass ? 'PASS' : 'FAIL']);

// A row of five columns for a figure over rounds: its middle value judged by pass(m), its
// range shown. No round, or a round without a value (null, undefined, NaN), shows `missing`
// and fails the figure when it has a pass or when `strict`.
function figureRow(name, xs, d, limit, pass, { missing, strict = false }) {
  if (!xs.length || xs.some((x) => x === null || x === undefined || Number.isNaN(x))) {
    return [name, missing, '', limit, strict || pass ? 'FAIL' : ''];
  }
  const m = middle(xs);
  return [name, m.toFixed(d), range(xs, d), limit, pass ? (pass(m) ? 'PASS' : 'FAIL') : ''];
}

// Prints the table under its head, every column but the last padded to its width; the exit
// status: 1 when a row failed.
function printTable(head, widths, list = rows) {
  const line = (r) => r.map((x, i) => (i < widths.length ? String(x).padEnd(widths[i]) : x)).join(' ');
  console.log(`\n${line(head)}`);
  for (const r of list) console.log(line(r));
  return list.every((r) => r[r.length - 1] !== 'FAIL') ? 0 : 1;
}

module.exports = {
  now, sleep, load, whole,
  procs, makeWork, killAll, cleanup, child, run, startServer, stopServer, freePort, call, seed, rawBaseline,
  logProblems, wrkPerSec, sseExchange,
  textFrame, control, wsOpen, closeConns, pool, tally, addTally, openAll, closeAll,
  statusKiB, rssKiB, threadsOf, CLK_TCK, cpuTicks, busyTicks, openFiles,
  pct, median, middle, fmt, spread, tail, rows, row, figureRow, printTable,
};
