// Connections under attack (issue 11), all on loopback against the release binary:
//  1. BENCH_IDLE (10,000) idle TCP connections that never send a byte, spread over
//     BENCH_ADDRS (40) client addresses 127.0.0.2 ... 127.0.0.41 (250 each, under the default
//     CONN_PER_ADDRESS 256), and BENCH_SLOW (1,000) slowloris connections from 127.0.0.42 (a
//     head that never ends, one header line a second). Meanwhile GET /health from a fresh
//     connection on 127.0.0.1 every 20 ms: every probe answered, p99 <= 50 ms; the baseline
//     is the same probes against the same process before the attack. Reported beside: how
//     many of 127.0.0.42's connections the app holds (<= CONN_PER_ADDRESS) and refuses;
//     connections closed per second; the app's RSS (VmRSS) and threads idle and with the
//     connections; its CPU over 5 s (utime + stime) idle and with them.
//  2. TLS (--tls-auto): BENCH_TLS (100) idle TCP connections and as many half-sent
//     ClientHellos to the TLS port, each from an address of its own: the app's CPU over 5 s
//     with them (civetweb's handshake once spun on such sockets) and HTTPS /health probes.
// Every connection the server closes is reopened, as an attacker would: at once after a
// close at the head deadline, BENCH_REOPEN_MS (1000) after a refusal or a failed connect;
// BENCH_REOPEN=0 holds what stays open and reopens nothing. CPU with connections includes
// that churn.
// Usage: node test/bench/conns.js [BUILD_DIR]   (BENCH_SECONDS per probe round, default 10;
//        BENCH_ROUNDS of probes before and during the attack, default 3)
// Needs about BENCH_IDLE + BENCH_SLOW + 500 open files in this process and in the app (which
// inherits the limit and does not raise its own): the bench raises its soft limit up to the
// hard one by running itself again under `ulimit -n`, or says what to raise.
'use strict';
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const https = require('node:https');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const tls = require('node:tls');
const lib = require('./lib');
const { sleep, load, procs, makeWork, killAll, stopServer, rssKiB, threadsOf, CLK_TCK, cpuTicks, openFiles, pct,
  rows, figureRow, printTable } = lib;

const root = path.resolve(__dirname, '../..');
const build = path.resolve(process.argv[2] || path.join(root, 'build'));
const appBin = path.join(build, 'app');

const whole = (name, dflt, lo, hi) => lib.whole(name, dflt, lo, hi, 'bench');
const secs = whole('BENCH_SECONDS', 10, 1, 3600);
const rounds = whole('BENCH_ROUNDS', 3, 1, 99);
const idleTotal = whole('BENCH_IDLE', 10000, 0, 100000);
const slowTotal = whole('BENCH_SLOW', 1000, 0, 100000);
const addrs = whole('BENCH_ADDRS', 40, 1, 200);
const tlsTotal = whole('BENCH_TLS', 100, 0, 10000);
const reopen = whole('BENCH_REOPEN', 1, 0, 1) === 1;
const reopenMs = whole('BENCH_REOPEN_MS', 1000, 0, 60000);
const rampSecs = whole('BENCH_RAMP_SECONDS', 120, 1, 3600);
const perAddress = whole('CONN_PER_ADDRESS', 256, 1, 1000000); // the app's setting, read the same way
const PROBE_TIMEOUT_MS = 2000; // a probe slower than this counts as timed out
const CONNECT_TIMEOUT_MS = 5000; // a connect that hangs (listen backlog full) counts as failed
const OPENING = 200; // connects in flight at once, so that the ramp does not flood the backlog
const HELD_MS = 1000; // a connection open this long was held, not refused on arrival
const PROBE_ADDR = '127.0.0.1';
const SLOW_ADDR = `127.0.0.${2 + addrs}`;
const TLS_IDLE_ADDR = `127.0.0.${3 + addrs}`;
const TLS_HALF_ADDR = `127.0.0.${4 + addrs}`;

// -- open files: run again under a raised soft limit when it is too low ----------------------
function ensureOpenFiles(need) {
  const { soft, hard } = openFiles();
  if (soft >= need) return;
  if (hard < need || process.env.BENCH_NOFILE_RAISED) {
    console.error(`bench: needs ${need} open files, the limit is ${soft} (hard ${hard}): raise the hard limit ` +
      `(prlimit, limits.conf, LimitNOFILE=) or lower BENCH_IDLE / BENCH_SLOW`);
    process.exit(2);
  }
  const to = Number.isFinite(hard) ? hard : need;
  const r = spawnSync('sh', ['-c', `ulimit -n ${to} && exec "$@"`, 'sh', process.execPath, ...process.argv.slice(1)],
    { stdio: 'inherit', env: { ...process.env, BENCH_NOFILE_RAISED: '1' } });
  process.exit(r.status ?? 2);
}

// -- the app -----------------------------------------------------------------------------------
let work = null;
const apps = procs; // the app processes not yet stopped
let stopping = false;

function cleanup() {
  stopping = true;
  for (const set of Object.values(live)) for (const c of set) c.sock.destroy();
  lib.cleanup();
}
process.on('exit', killAll);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => { cleanup(); process.exit(130); });

async function startApp(name, args = []) {
  const logFile = path.join(work, `${name}.log`);
  const dataDir = path.join(work, name);
  // stderr to a file: a pipe nobody reads while the attack runs would fill up
  const p = spawn(appBin, ['--data', dataDir, '--listen', '127.0.0.1:0', ...args],
    { stdio: ['ignore', 'ignore', fs.openSync(logFile, 'w')] });
  apps.add(p);
  p.on('exit', (code, signal) => {
    if (!stopping && apps.has(p)) console.log(`bench: the app (${name}) exited (code ${code}, signal ${signal})`);
  });
  for (let i = 0; i < 1000; i++) {
    const m = /listening url=https?:\/\/127\.0\.0\.1:(\d+)/.exec(fs.readFileSync(logFile, 'utf8'));
    if (m) return { proc: p, pid: p.pid, port: Number(m[1]), logFile, dataDir };
    await sleep(10);
  }
  throw new Error(`app did not start:\n${fs.readFileSync(logFile, 'utf8')}`);
}

async function stopApp(a) {
  apps.delete(a.proc);
  await stopServer(a.proc, 15000);
}

const running = (a) => a.proc.exitCode === null && a.proc.signalCode === null;

const status = (pid) => ({ rssKiB: rssKiB(pid), threads: threadsOf(pid) });
const cpuSeconds = (pid) => cpuTicks(pid) / CLK_TCK;
// The share of one core the app used over ms.
async function cpuShare(pid, ms) {
  const a = cpuSeconds(pid), t0 = performance.now();
  await sleep(ms);
  return (cpuSeconds(pid) - a) / ((performance.now() - t0) / 1000);
}

// -- probes ------------------------------------------------------------------------------------
// GET /health on a new connection from PROBE_ADDR; tlsOptions for HTTPS.
function probe(port, tlsOptions) {
  return new Promise((resolve) => {
    const t0 = performance.now();
    let done = false;
    // a timer of its own: the request's setTimeout starts only once connected, and a connect
    // to a full listen backlog hangs for minutes
    const timer = setTimeout(() => { finish({ status: 0, why: 'timeout' }); req.destroy(); }, PROBE_TIMEOUT_MS);
    const finish = (r) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve({ ...r, ms: performance.now() - t0 });
    };
    const opts = { host: '127.0.0.1', port, path: '/health', localAddress: PROBE_ADDR, agent: false, ...tlsOptions };
    const req = (tlsOptions ? https : http).get(opts, (res) => {
      res.resume();
      res.on('end', () => finish({ status: res.statusCode }));
      res.on('error', (e) => finish({ status: 0, why: e.code || 'error' }));
    });
    req.on('error', (e) => finish({ status: 0, why: e.code || 'error' }));
  });
}

const ms = (x) => (x === null ? 'none' : `${x.toFixed(2)} ms`);
const pctOrNull = (xs, p) => (xs.length ? pct(xs, p) : null);

// /health every 20 ms for ms, each from a new connection: latencies of the 200s, and the rest.
async function probeRound(port, dur, tlsOptions) {
  const lat = [];
  let timedOut = 0, failed = 0;
  const why = {}; // failures by kind: a status, or the socket error's code
  const end = Date.now() + dur;
  while (Date.now() < end) {
    const r = await probe(port, tlsOptions);
    if (r.status === 200) lat.push(r.ms);
    else if (r.why === 'timeout') timedOut++;
    else {
      failed++;
      const k = r.why || `status ${r.status}`;
      why[k] = (why[k] || 0) + 1;
    }
    await sleep(20);
  }
  const kinds = Object.entries(why).map(([k, n]) => `${n} ${k}`).join(', ');
  return { answered: lat.length, timedOut, failed, kinds, p50: pctOrNull(lat, 50), p99: pctOrNull(lat, 99) };
}
const probeLine = (p) => `/health ${p.answered} answered, ${p.timedOut} timed out, ${p.failed} failed` +
  `${p.kinds ? ` (${p.kinds})` : ''}; p50 ${ms(p.p50)}, p99 ${ms(p.p99)}`;

// -- the attack --------------------------------------------------------------------------------
// Kinds of attack connection and what each sends once connected.
const SLOW_HEAD = 'GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: slowloris\r\n';
const firstBytes = { idle: null, slow: SLOW_HEAD, tlsIdle: null, tlsHalf: null /* set from a real ClientHello */ };
const live = {}; // kind -> connections connected and not yet closed
const tally = {}; // kind -> {connected, connectFailed, refused, deadline}
for (const k of Object.keys(firstBytes)) {
  live[k] = new Set();
  tally[k] = { connected: 0, connectFailed: 0, refused: 0, deadline: 0 };
}
const active = new Set(); // kinds being attacked: their closed connections are reopened
let queue = []; // [port, kind, address, first] waiting for a connect slot
let opening = 0;
let firstAttempts = 0; // of the current phase's first connects, how many connected or failed

function pump() {
  while (!stopping && opening < OPENING && queue.length) open(...queue.shift());
}

function reopenLater(port, kind, addr, delay) {
  if (stopping || !reopen || !active.has(kind)) return;
  const go = () => { if (active.has(kind)) { queue.push([port, kind, addr, false]); pump(); } };
  if (delay) setTimeout(go, delay); else go();
}

// One attack connection: counted when it connects, when the connect fails, and when the
// server closes it: refused (a 503, or closed within HELD_MS) or at the head deadline.
function open(port, kind, addr, first) {
  opening++;
  const sock = net.connect({ host: '127.0.0.1', port, localAddress: addr });
  const c = { sock, kind, at: 0, got503: false };
  let connected = false;
  sock.setTimeout(CONNECT_TIMEOUT_MS, () => sock.destroy());
  sock.on('error', () => { /* counted at close */ });
  sock.once('connect', () => {
    connected = true;
    opening--;
    if (first) firstAttempts++;
    sock.setTimeout(0);
    c.at = Date.now();
    tally[kind].connected++;
    live[kind].add(c);
    if (firstBytes[kind]) sock.write(firstBytes[kind]);
    pump();
  });
  sock.on('data', (d) => { if (/^HTTP\/1\.[01] 503/.test(d.toString('latin1', 0, 12))) c.got503 = true; });
  sock.once('close', () => {
    if (stopping) return;
    if (!connected) {
      opening--;
      if (first) firstAttempts++;
      tally[kind].connectFailed++;
      pump();
      reopenLater(port, kind, addr, reopenMs);
      return;
    }
    live[kind].delete(c);
    if (!active.has(kind)) return;
    if (c.got503 || Date.now() - c.at < HELD_MS) {
      tally[kind].refused++;
      reopenLater(port, kind, addr, reopenMs);
    } else {
      tally[kind].deadline++;
      reopenLater(port, kind, addr, 0);
    }
  });
}

// Starts connections of each kind ([kind, count, address of the i-th]) and resolves when all
// first connects are done (or BENCH_RAMP_SECONDS passed), with the seconds that took.
async function attack(port, plan) {
  firstAttempts = 0;
  let total = 0;
  for (const [kind, count, addrOf] of plan) {
    active.add(kind);
    for (let i = 0; i < count; i++) queue.push([port, kind, addrOf(i), true]);
    total += count;
  }
  pump();
  const t0 = Date.now();
  while (firstAttempts < total && Date.now() - t0 < rampSecs * 1000) await sleep(100);
  return { done: firstAttempts, total, seconds: (Date.now() - t0) / 1000 };
}

function endAttack(kinds) {
  for (const k of kinds) {
    active.delete(k);
    for (const c of live[k]) c.sock.destroy();
  }
  queue = queue.filter((q) => !kinds.includes(q[1]));
}

// How many connections of a kind are open, and how many have been open HELD_MS or more.
function held(kind) {
  const now = Date.now();
  let n = 0;
  for (const c of live[kind]) if (now - c.at >= HELD_MS) n++;
  return { open: live[kind].size, held: n };
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

// -- figures -----------------------------------------------------------------------------------
// A figure over rounds: its median judged, its range shown; a round with no value fails it.
const figure = (name, xs, d, limit, pass) => rows.push(figureRow(name, xs, d, limit, pass, { missing: 'none' }));
function single(name, value, limit, pass) {
  rows.push([name, String(value), '', limit, pass === undefined ? '' : (pass ? 'PASS' : 'FAIL')]);
}
function answeredRow(name, ps, alive) {
  const asked = ps.reduce((s, p) => s + p.answered + p.timedOut + p.failed, 0);
  const answered = ps.reduce((s, p) => s + p.answered, 0);
  rows.push([name, `${answered}/${asked}`, ps.map((p) => p.answered).join(' / '), 'all',
    asked > 0 && answered === asked && alive ? 'PASS' : 'FAIL']);
}

// 1: idle and slowloris connections over plain HTTP.
async function plain() {
  const a = await startApp('plain');
  for (let i = 0; i < 20; i++) await probe(a.port); // warm-up, not counted
  await sleep(2000);
  const idleStatus = status(a.pid);
  const idleCpu = await cpuShare(a.pid, 5000);
  console.log(`plain: app :${a.port}, ${idleTotal} idle connections from 127.0.0.2-${1 + addrs}, ` +
    `${slowTotal} slowloris from ${SLOW_ADDR}`);
  const before = [];
  for (let r = 1; r <= rounds; r++) {
    const p = await probeRound(a.port, secs * 1000);
    before.push(p);
    console.log(`  round ${r}  idle app      ${probeLine(p)}`);
  }

  const ramp = await attack(a.port, [['idle', idleTotal, (i) => `127.0.0.${2 + (i % addrs)}`], ['slow', slowTotal, () => SLOW_ADDR]]);
  console.log(`  attack: ${ramp.done} of ${ramp.total} first connects done in ${ramp.seconds.toFixed(1)} s; ` +
    `open ${live.idle.size} idle, ${live.slow.size} slow`);
  // slowloris: one more header line a second on every slow connection, never the empty line
  const slowTimer = setInterval(() => { for (const c of live.slow) if (!c.sock.destroyed) c.sock.write('X-Slow: 1\r\n'); }, 1000);
  await sleep(2000);
  const w0 = Date.now();
  const t1 = JSON.parse(JSON.stringify(tally));
  const withStatus = status(a.pid);
  const withCpu = await cpuShare(a.pid, 5000);
  const slowHeld = [held('slow').held];
  const idleOpen = [held('idle').open];
  const during = [];
  for (let r = 1; r <= rounds; r++) {
    const p = await probeRound(a.port, secs * 1000);
    during.push(p);
    const s = held('slow'), i = held('idle');
    slowHeld.push(s.held);
    idleOpen.push(i.open);
    console.log(`  round ${r}  under attack  ${probeLine(p)}; open: ${i.open} idle, ${s.open} slow (${s.held} held >= 1 s)`);
  }
  const windowS = (Date.now() - w0) / 1000;
  const rate = (kind, what) => ((tally[kind][what] - t1[kind][what]) / windowS).toFixed(1);
  const conns = live.idle.size + live.slow.size;
  const alive = running(a);
  clearInterval(slowTimer);
  endAttack(['idle', 'slow']);

  const beforeP99 = before.map((p) => p.p99);
  const duringP99 = during.map((p) => p.p99);
  const timedOut = during.reduce((s, p) => s + p.timedOut, 0);
  const failed = during.reduce((s, p) => s + p.failed, 0);
  figure('/health p50 ms, idle app', before.map((p) => p.p50), 2, 'baseline');
  figure('/health p99 ms, idle app', beforeP99, 2, 'baseline');
  figure('/health p50 ms, under attack', during.map((p) => p.p50), 2, '');
  figure('/health p99 ms, under attack', duringP99, 2, '<= 50', (m) => m <= 50);
  figure('p99 under attack / idle', duringP99.map((x, i) => (x === null || !beforeP99[i] ? null : x / beforeP99[i])), 2, '');
  answeredRow('/health answered under attack', during, alive);
  single(`/health timed out (> ${PROBE_TIMEOUT_MS / 1000} s) / failed`, `${timedOut} / ${failed}`, '= 0',
    timedOut === 0 && failed === 0);
  figure(`${SLOW_ADDR} held (open >= 1 s)`, slowHeld, 0, `<= ${perAddress}`, (m) => m <= perAddress);
  single(`${SLOW_ADDR} refused /s`, rate('slow', 'refused'), '');
  single(`closed at deadline /s, idle`, rate('idle', 'deadline'), '');
  single(`closed at deadline /s, ${SLOW_ADDR}`, rate('slow', 'deadline'), '');
  single('refused /s, idle addresses', rate('idle', 'refused'), '');
  figure('idle connections open', idleOpen, 0, `of ${idleTotal}`);
  single('connects failed (idle / slow)', `${tally.idle.connectFailed} / ${tally.slow.connectFailed}`, '');
  single('RSS MiB, idle app', (idleStatus.rssKiB / 1024).toFixed(1), '');
  single('RSS MiB, with connections', (withStatus.rssKiB / 1024).toFixed(1), '');
  single('RSS KiB per open connection', conns ? ((withStatus.rssKiB - idleStatus.rssKiB) / conns).toFixed(2) : 'none', '');
  single('app threads, idle / with', `${idleStatus.threads} / ${withStatus.threads}`, '');
  single('app CPU % of a core, idle', (idleCpu * 100).toFixed(1), '');
  single('app CPU % of a core, with conns', (withCpu * 100).toFixed(1), '');
  single('app still running', alive ? 'yes' : 'no', 'yes', alive);
  if (!alive) console.log(`app log, last lines:\n${fs.readFileSync(a.logFile, 'utf8').split('\n').slice(-20).join('\n')}`);
  await stopApp(a);
  return windowS;
}

// 2: idle TCP connections and half-sent ClientHellos to the TLS port.
async function overTls() {
  const hello = await clientHello();
  firstBytes.tlsHalf = hello.subarray(0, Math.floor(hello.length / 2));
  const a = await startApp('tls', ['--tls-auto']);
  const tlsOptions = { ca: fs.readFileSync(path.join(a.dataDir, 'tls', 'cert.pem')), servername: 'localhost' };
  for (let i = 0; i < 20; i++) await probe(a.port, tlsOptions); // warm-up, not counted
  console.log(`TLS: app :${a.port}, ${tlsTotal} idle TCP connections from ${TLS_IDLE_ADDR}, ${tlsTotal} half ` +
    `ClientHellos (${firstBytes.tlsHalf.length} of ${hello.length} bytes) from ${TLS_HALF_ADDR}`);
  const ramp = await attack(a.port, [['tlsIdle', tlsTotal, () => TLS_IDLE_ADDR], ['tlsHalf', tlsTotal, () => TLS_HALF_ADDR]]);
  console.log(`  attack: ${ramp.done} of ${ramp.total} first connects done in ${ramp.seconds.toFixed(1)} s`);
  await sleep(1000);
  const w0 = Date.now();
  const t1 = JSON.parse(JSON.stringify(tally));
  const cpu = await cpuShare(a.pid, 5000);
  const p = await probeRound(a.port, secs * 1000, tlsOptions);
  const windowS = (Date.now() - w0) / 1000;
  const closed = (kind) => ((tally[kind].deadline + tally[kind].refused - t1[kind].deadline - t1[kind].refused) / windowS).toFixed(1);
  console.log(`  under attack  HTTPS ${probeLine(p)}; open: ${live.tlsIdle.size} idle, ${live.tlsHalf.size} half`);
  const alive = running(a);
  endAttack(['tlsIdle', 'tlsHalf']);
  single('TLS: app CPU % of a core, with conns', (cpu * 100).toFixed(1), '');
  answeredRow('TLS: HTTPS /health answered', [p], alive);
  figure('TLS: HTTPS /health p99 ms', [p.p99], 2, '<= 50', (m) => m <= 50);
  single('TLS: closed /s (idle / half)', `${closed('tlsIdle')} / ${closed('tlsHalf')}`, '');
  await stopApp(a);
}

async function main() {
  if (!fs.existsSync(appBin)) throw new Error(`missing ${appBin} (ninja -C ${build} app)`);
  work = makeWork('app-bench-conns-');
  console.log(`bench: ${os.cpus().length} CPUs, load average ${load()}; ` +
    `${rounds} probe rounds of ${secs} s before and during; app ${appBin}`);
  const windowS = await plain();
  if (tlsTotal > 0) await overTls();

  const code = printTable(['figure', 'median', 'range (rounds)', 'limit', 'result'], [38, 12, 22, 10]);
  console.log(`(probes: GET /health from ${PROBE_ADDR}, a new connection each, every 20 ms, slower than ` +
    `${PROBE_TIMEOUT_MS} ms counted as timed out; rates over ${windowS.toFixed(0)} s of attack; ` +
    (reopen ? `reopened at once after a close at the deadline, ${reopenMs} ms after a refusal or a failed connect; `
      : 'nothing reopened (BENCH_REOPEN=0); ') +
    `CPU over 5 s, with connections including that churn)`);
  return code;
}

ensureOpenFiles(idleTotal + slowTotal + 2 * tlsTotal + 500);
main().then((code) => { cleanup(); process.exit(code); },
  (e) => { console.error(`bench: ${e.stack || e.message}`); cleanup(); process.exit(2); });
