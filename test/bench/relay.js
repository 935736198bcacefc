// Relay figures (issue 12), each against its limit or against a baseline from the same run:
//  1. throughput: 500 senders to 500 online recipients, each its own account with device 1 and
//     its own /ws?device_id=1; 1 KiB envelopes (type 1) sent with the `send` frame, RELAY_WINDOW
//     (default 1) outstanding per sender (the next goes when `sent` came back); recipients ack
//     each message as it arrives, and a message is done when its ack is written. Messages/s
//     against bench-relayraw (relayraw.c: one thread storing the same relay_queue row and
//     deleting it by (user_id, device_id, message_id), each its own commit), rounds
//     alternating raw, app: app/raw >= 0.5 (median). Every message must be acked once and
//     its sender must get `delivered` for it.
//  2. latency sender -> online recipient at 50 % of the app's measured throughput (paced
//     sends, spread evenly over the senders): p99 <= 20 ms (median over rounds).
//  3. RELAY_DEVICES (10,000) accounts, each with device 1 connected on /ws?device_id=1 and
//     idle: app VmRSS with them - idle, per device, and app CPU over 10 s (reference).
// Usage: node test/bench/relay.js [BUILD_DIR] [relay,idle]   (ninja -C BUILD app test/bench-relayraw)
// Settings (environment): BENCH_SECONDS 10 (a measured window; 2 s of warm-up come before it),
// BENCH_ROUNDS 3, BENCH_SYNC full (DB_SYNCHRONOUS for the throughput rounds, app and raw
// alike; "full,normal" runs both; the latency rounds use the first), RELAY_WINDOW 1 (1-4),
// RELAY_PROCS 2 (client processes), RELAY_DEVICES 10000, RELAY_ADDRS 50 (client addresses
// 127.0.0.2 ...), RELAY_RATE (the paced rate in messages/s instead of half the measured one,
// to look at latency against load). Every process started here is killed on exit; the data
// directory is removed.
'use strict';
const crypto = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const { now, sleep, load, whole, makeWork, cleanup, child, startServer, stopServer, freePort, call, seed, rawBaseline,
  logProblems, textFrame, wsOpen, closeConns, pool, tally, addTally, openAll, closeAll, rssKiB, threadsOf, CLK_TCK,
  cpuTicks, busyTicks, openFiles, pct, median, fmt, spread, tail, row, printTable } = require('./lib');

const PAIRS = 500;
const CONTENT_LEN = 1024; // an envelope's bytes; the first 8 carry the send time
const WARM_MS = 2000; // of each round, before its measured window
const DRAIN_MS = 30000; // after a round, the most its last messages may take to be acked and delivered

// ---------------------------------------------------------------------------------------------
// Client processes: each holds its share of the device sockets and answers the parent over IPC.

function clientMain() {
  let conns = []; // every socket this process holds
  const byKey = new Map();
  let dropped = []; // close codes of sockets the server closed
  let run = null; // the round under way, or null: messages outside a round are acked as strays
  let strays = 0;
  const filler = crypto.randomBytes(CONTENT_LEN); // opaque, as an encrypted envelope is
  const reply = (m) => process.send(m);

  // A sender's next envelope: the send time (ns) and the sender's own counter in its first bytes.
  function send(c) {
    const body = Buffer.from(filler);
    const t = now();
    body.writeBigUInt64BE(t, 0);
    body.writeUInt32BE(++c.seq, 8);
    c.outstanding++;
    run.sends++;
    c.send(textFrame(`{"type":"send","to":"${c.to}","client_id":"c${c.seq}","messages":[{"device_id":1,` +
      `"registration_id":${c.reg},"type":1,"content":"${body.toString('base64')}"}]}`));
  }

  // After a `sent` or an error: the next envelope of a flooding sender, or one a paced sender
  // could not send on time.
  function next(c) {
    if (!run || run.stopped) return;
    if (run.mode === 'flood') {
      while (c.outstanding < run.window) send(c);
    } else if (c.due > 0 && c.outstanding < run.window) {
      c.due--;
      send(c);
    }
  }

  function paced(c, at) {
    const wait = Number(at - now()) / 1e6;
    c.timer = setTimeout(() => {
      if (!run || at >= run.stopAt) return;
      if (c.outstanding < run.window) send(c);
      else { c.due++; run.late++; }
      paced(c, at + run.interval);
    }, Math.max(0, wait));
  }

  const onText = (c, payload) => {
    let m;
    try { m = JSON.parse(payload); } catch { if (run) run.bad.push('frame is not JSON'); return; }
    if (m.type === 'message') {
      const t = now();
      c.send(textFrame(`{"type":"ack","id":"${m.id}"}`)); // done: the ack is written
      if (!run) { strays++; return; }
      run.acks++;
      if (t >= run.countFrom && t < run.stopAt) run.counted++;
      if (run.seen.has(m.id)) run.dupes++;
      else run.seen.add(m.id);
      const content = typeof m.content === 'string' ? Buffer.from(m.content, 'base64') : null;
      if (!content || content.length !== CONTENT_LEN || m.from !== c.from || m.from_device !== 1 || m.envelope_type !== 1) {
        if (run.bad.length < 5) run.bad.push(`unexpected delivery: ${payload.toString().slice(0, 200)}`);
        return;
      }
      const sentAt = content.readBigUInt64BE(0);
      if (sentAt >= run.countFrom && sentAt < run.stopAt) run.lat.push(Number(t - sentAt) / 1e6);
    } else if (m.type === 'sent') {
      if (!run || !c.to) return;
      c.outstanding--;
      run.sent++;
      run.sentIds.push(m.message_id);
      next(c);
    } else if (m.type === 'delivered') {
      if (run) run.delivered.add(m.message_id);
    } else if (m.type === 'error') {
      if (!run) return;
      if (c.to && m.client_id) c.outstanding--;
      run.errors[m.code || 'no code'] = (run.errors[m.code || 'no code'] || 0) + 1;
      if (c.to && m.client_id) next(c);
    }
  };
  const onClose = (c) => { if (!c.closedByUs && c.ready) dropped.push(c.closeCode ?? c.error ?? 'eof'); };

  process.on('message', async (m) => {
    if (m.op === 'open') {
      const t0 = performance.now();
      const got = await pool(m.conns, 64, async (o) => {
        // the device's relay connection is in place once `queue_empty` came; every frame
        // before it is handled too
        const c = await wsOpen({ port: m.port, path: '/ws?device_id=1', ready: 'queue_empty', closeWhy: true, ...o },
          onText, onClose);
        if (!c.err) Object.assign(c, { ready: true, key: o.key, from: o.from, to: o.to, reg: o.reg, seq: 0, outstanding: 0, due: 0 });
        return c;
      });
      const ok = got.filter((c) => !c.err);
      conns.push(...ok);
      for (const c of ok) byKey.set(c.key, c);
      reply({ op: 'opened', n: ok.length, failed: tally(got.filter((c) => c.err).map((c) => c.err)), ms: performance.now() - t0 });
    } else if (m.op === 'run') {
      const senders = m.senders.map((k) => byKey.get(k));
      run = { mode: m.mode, window: m.window, interval: BigInt(m.interval || 0), countFrom: BigInt(m.countFrom),
        stopAt: BigInt(m.stopAt), stopped: false, sends: 0, sent: 0, acks: 0, counted: 0, dupes: 0, late: 0,
        sentIds: [], delivered: new Set(), seen: new Set(), lat: [], errors: {}, bad: [] };
      const startAt = BigInt(m.startAt);
      for (const c of senders) { c.outstanding = 0; c.due = 0; }
      let cpu0 = null, cpu1 = null;
      const at = (t, fn) => setTimeout(fn, Math.max(0, Number(t - now()) / 1e6));
      at(run.countFrom, () => { cpu0 = process.cpuUsage(); });
      const stopped = new Promise((r) => at(run.stopAt, () => { cpu1 = process.cpuUsage(cpu0); run.stopped = true; r(); }));
      if (m.mode === 'flood') {
        at(startAt, () => { for (const c of senders) next(c); });
      } else {
        senders.forEach((c, i) => paced(c, startAt + BigInt(m.offsets[i])));
      }
      await stopped;
      // the drain: every envelope sent answered, acked by its recipient and reported delivered
      const t0 = performance.now();
      const settled = () => senders.every((c) => c.outstanding === 0) && run.acks >= run.sent &&
        run.sentIds.every((id) => run.delivered.has(id));
      while (!settled() && performance.now() - t0 < DRAIN_MS) await sleep(20);
      for (const c of senders) clearTimeout(c.timer);
      const r = run;
      run = null;
      reply({ op: 'ran', sends: r.sends, sent: r.sent, acks: r.acks, counted: r.counted, dupes: r.dupes, late: r.late,
        unanswered: senders.reduce((a, c) => a + c.outstanding, 0), unacked: Math.max(0, r.sent - r.acks),
        undelivered: r.sentIds.filter((id) => !r.delivered.has(id)).length, errors: r.errors, bad: r.bad,
        lat: r.lat, drainMs: performance.now() - t0, cpuMs: cpu1 ? (cpu1.user + cpu1.system) / 1000 : NaN, strays });
      strays = 0;
    } else if (m.op === 'close') {
      await closeConns(conns);
      const d = tally(dropped);
      conns = [];
      byKey.clear();
      dropped = [];
      reply({ op: 'closed', dropped: d });
    } else if (m.op === 'exit') {
      process.exit(0);
    }
  });
  process.on('disconnect', () => process.exit(0));
  reply({ op: 'up' });
}

// ---------------------------------------------------------------------------------------------
// The parent: accounts, servers, rounds, figures.

let work = null;

const agent = new http.Agent({ keepAlive: true, maxSockets: 16 }); // for call(): many requests, few sockets
// The app on a free port over the shared data directory; resolves once it logged `listening`.
async function startApp(build, data, appEnv, name) {
  const port = await freePort();
  const log = path.join(work, `${name}.log`);
  const p = await startServer(path.join(build, 'app'), ['--data', data, '--listen', `127.0.0.1:${port}`],
    { env: appEnv, log, flags: 'a', fail: (text) => `the app did not start:\n${tail(text)}` });
  return { p, pid: p.pid, port, log, name };
}

const stopApp = (a) => stopServer(a?.p, 15000);

// What went wrong in a round, from the app's log (answers >= 400 by status and error code,
// warnings and errors by text), as lines to print; the log is emptied then.
function appLog(a) {
  const text = fs.readFileSync(a.log, 'utf8');
  if (a.p.exitCode !== null) throw new Error(`the app exited during a round:\n${tail(text)}`);
  fs.truncateSync(a.log);
  return logProblems(text, '    ');
}

// Device 1 of every account (registration ids 1..16380 in turn; no keys: the relay stores
// opaque bytes and never looks at them).
async function registerDevices(a, users) {
  const got = await pool(users, 16, async (u, i) => {
    u.reg = 1 + (i % 16380);
    const r = await call(a.port, 'POST', '/api/v1/devices', u.token, { registration_id: u.reg, name: 'bench' }, { agent });
    if (r.status !== 201) return `${r.status} ${r.text.slice(0, 200)}`;
    const d = JSON.parse(r.text);
    return d.device_id === 1 ? null : `device_id ${d.device_id}`;
  });
  const failed = tally(got.filter((x) => x));
  if (Object.keys(failed).length) throw new Error(`POST /api/v1/devices failed: ${JSON.stringify(failed).slice(0, 500)}`);
}

// The 500 pairs' sockets: pair k's sender and recipient in client process k % P, so that one
// process sees both ends of its messages (a latency is two readings of one clock anyway).
function pairConns(users, P) {
  const conns = [];
  for (let k = 0; k < PAIRS; k++) {
    const s = users[k], r = users[PAIRS + k];
    conns.push({ key: `s${k}`, token: s.token, to: r.id, reg: r.reg, proc: k % P });
    conns.push({ key: `r${k}`, token: r.token, from: s.id, proc: k % P });
  }
  return conns;
}

// One round of the pairs: flood (each sender keeps `window` envelopes outstanding) or paced
// (`rate` envelopes/s in all, sender k's first at k/PAIRS of an interval). Counted: acks
// written in [countFrom, stopAt); latencies of envelopes sent in that window.
async function pairsRound(clients, a, { mode, window, secs, rate }) {
  const P = clients.length;
  const startAt = now() + 300000000n;
  const countFrom = startAt + BigInt(WARM_MS) * 1000000n, stopAt = countFrom + BigInt(secs) * 1000000000n;
  const interval = rate ? BigInt(Math.round(PAIRS / rate * 1e9)) : 0n;
  const asks = clients.map((c, p) => {
    const ks = [];
    for (let k = p; k < PAIRS; k += P) ks.push(k);
    return c.ask({ op: 'run', mode, window, startAt: String(startAt), countFrom: String(countFrom), stopAt: String(stopAt),
      interval: String(interval), senders: ks.map((k) => `s${k}`),
      offsets: ks.map((k) => String(interval * BigInt(k) / BigInt(PAIRS))) }, 'ran', (WARM_MS + secs * 1000 + DRAIN_MS) + 60000);
  });
  // the app's CPU and threads over the measured window
  await sleep(Math.max(0, Number(countFrom - now()) / 1e6));
  const c0 = cpuTicks(a.pid), b0 = busyTicks(), t0 = now();
  await sleep(Math.max(0, Number(stopAt - now()) / 1e6));
  const wall = Number(now() - t0) / 1e9;
  const appCpu = ((cpuTicks(a.pid) - c0) / CLK_TCK) / wall * 100;
  const busy = ((busyTicks() - b0) / CLK_TCK) / wall * 100;
  const threads = threadsOf(a.pid), rss = rssKiB(a.pid);
  const got = await Promise.all(asks);
  const sum = (k) => got.reduce((s, g) => s + g[k], 0);
  return { perSec: sum('counted') / secs, sends: sum('sends'), sent: sum('sent'), acks: sum('acks'), dupes: sum('dupes'),
    late: sum('late'), unanswered: sum('unanswered'), unacked: sum('unacked'), undelivered: sum('undelivered'),
    strays: sum('strays'), errors: got.reduce((e, g) => addTally(e, g.errors), {}), bad: got.flatMap((g) => g.bad),
    lat: got.flatMap((g) => g.lat), drainMs: Math.max(...got.map((g) => g.drainMs)), appCpu,
    clientCpu: sum('cpuMs') / (secs * 1000) * 100, busy, threads, rss };
}

// CPU the rest of the machine took: /proc/stat is sampled per tick while the processes' own
// times are exact, so the difference is approximate and a few % below 0 means none.
const rest = (r) => Math.max(0, r.busy - r.appCpu - r.clientCpu);
const lost = (r) => r.unanswered + r.unacked + r.undelivered + r.dupes + r.bad.length +
  Object.values(r.errors).reduce((s, n) => s + n, 0);
const roundNote = (r) => `sent ${r.sent}, acked ${r.acks}, ${r.unanswered} unanswered, ${r.unacked} unacked, ` +
  `${r.undelivered} without delivered, ${r.dupes} twice${r.strays ? `, ${r.strays} outside any round` : ''}` +
  `${Object.keys(r.errors).length ? `, errors ${JSON.stringify(r.errors)}` : ''}; ` +
  `latency p50 ${fmt(pct(r.lat, 50), 2)} p99 ${fmt(pct(r.lat, 99), 2)} ms; ` +
  `CPU app ${fmt(r.appCpu, 0)} %, clients ${fmt(r.clientCpu, 0)} %, rest ~${fmt(rest(r), 0)} % ` +
  `(of ${os.cpus().length * 100}); app ${r.threads} threads, ` +
  `${fmt(r.rss / 1024)} MiB; drained in ${fmt(r.drainMs / 1000, 2)} s` +
  `${r.bad.length ? `\n    ${r.bad.join('\n    ')}` : ''}`;

async function rawRound(build, sync, secs, r) {
  const { code, out } = await rawBaseline(path.join(build, 'test', 'bench-relayraw'), path.join(work, `raw-${sync}-${r}.db`), secs, sync);
  const m = /messages (\d+) seconds [\d.]+ messages_per_s ([\d.]+) message_p50_us (\d+) message_p99_us (\d+) .*sqlite (\S+)/.exec(out);
  if (code !== 0 || !m) {
    console.log(`  bench-relayraw failed (exit ${code}):\n${tail(out)}`);
    return null;
  }
  return { perSec: Number(m[2]), msgs: Number(m[1]), p50: Number(m[3]) / 1000, p99: Number(m[4]) / 1000, sqlite: m[5] };
}

// 1 and 2: the pairs over one app process, rounds alternating raw, app; then paced rounds at
// half the app's median throughput.
async function relayPart(o, sync, latency) {
  const { build, data, users, clients, appEnv, secs, rounds, window, addrs } = o;
  const SYNC = sync.toUpperCase();
  const a = await startApp(build, data, { ...appEnv, DB_SYNCHRONOUS: sync }, `app-${sync}`);
  const opened = await openAll(clients, a.port, pairConns(users, clients.length), addrs);
  if (opened.n !== 2 * PAIRS) throw new Error(`${opened.n} of ${2 * PAIRS} device sockets opened: ${JSON.stringify(opened.failed)}`);
  // warm-up, not counted: the statement caches, the queue's pages, the clients' JIT
  const warm = await pairsRound(clients, a, { mode: 'flood', window, secs: 2 });
  const warmLog = appLog(a);
  console.log(`relay, synchronous=${SYNC}: ${2 * PAIRS} device sockets open in ${fmt(opened.ms / 1000, 2)} s (app :${a.port}); ` +
    `warm-up ${fmt(warm.perSec, 0)} msgs/s (${lost(warm)} lost)${warmLog ? `\n${warmLog}` : ''}`);
  console.log(`  load ${load()}; rounds: bench-relayraw ${secs} s, then ${PAIRS} senders -> ${PAIRS} recipients, window ${window}, ` +
    `${WARM_MS / 1000} s warm-up + ${secs} s counted`);
  const raw = [], app = [];
  for (let r = 1; r <= rounds; r++) {
    const b = await rawRound(build, sync, secs, r);
    raw.push(b);
    if (b) console.log(`  round ${r}  raw ${fmt(b.perSec, 0).padStart(7)} msgs/s (${b.msgs} messages, insert+delete p50 ${fmt(b.p50, 2)} ms, p99 ${fmt(b.p99, 2)} ms, SQLite ${b.sqlite})`);
    const x = await pairsRound(clients, a, { mode: 'flood', window, secs });
    app.push(x);
    console.log(`  round ${r}  app ${fmt(x.perSec, 0).padStart(7)} msgs/s (${roundNote(x)})`);
    const problems = appLog(a);
    if (problems) console.log(problems);
  }
  const ratio = raw.map((b, i) => (b ? app[i].perSec / b.perSec : NaN));
  const clean = app.every((x) => lost(x) === 0);
  row(`raw insert+delete msgs/s, ${SYNC}`, spread(raw.map((b) => b?.perSec ?? NaN), 0), 'baseline', null);
  row(`app msgs/s, ${SYNC}`, spread(app.map((x) => x.perSec), 0), '-', null);
  row(`app/raw, ${SYNC}`, spread(ratio, 3), '>= 0.5', ratio.every(Number.isFinite) && median(ratio) >= 0.5);
  row(`latency p50/p99 at saturation, ${SYNC} (ms)`, `${spread(app.map((x) => pct(x.lat, 50)), 1)} / ${spread(app.map((x) => pct(x.lat, 99)), 1)}`, 'reference', null);
  row(`CPU at saturation, app / clients / rest (%)`, `${spread(app.map((x) => x.appCpu), 0)} / ${spread(app.map((x) => x.clientCpu), 0)} / ` +
    `${spread(app.map(rest), 0)}`, 'reference', null);
  row(`messages lost, twice, refused, ${SYNC}`, `${app.reduce((s, x) => s + lost(x), 0)} of ${app.reduce((s, x) => s + x.sends, 0)}`, '0', clean);

  if (latency) {
    const rate = o.rate || median(app.map((x) => x.perSec)) / 2;
    console.log(`latency, synchronous=${SYNC}: paced at ${fmt(rate, 0)} msgs/s (${o.rate ? 'RELAY_RATE' : "half the app's median"}), ` +
      `each sender every ${fmt(PAIRS / rate * 1000, 0)} ms, window ${window}`);
    const lat = [];
    for (let r = 1; r <= rounds; r++) {
      const x = await pairsRound(clients, a, { mode: 'paced', window, secs, rate });
      lat.push(x);
      console.log(`  round ${r}  ${fmt(x.perSec, 0).padStart(6)} msgs/s, ${x.late} sends late (${roundNote(x)})`);
      const problems = appLog(a);
      if (problems) console.log(problems);
    }
    const p99 = lat.map((x) => pct(x.lat, 99));
    row(`paced rate, msgs/s (${o.rate ? 'RELAY_RATE' : 'target'} ${fmt(rate, 0)})`, spread(lat.map((x) => x.perSec), 0), 'reference', null);
    row('latency p50, paced (ms)', spread(lat.map((x) => pct(x.lat, 50)), 2), '-', null);
    row('latency p99, paced (ms)', spread(p99, 2), '<= 20', p99.every(Number.isFinite) && median(p99) <= 20);
    row('paced sends late (window full)', spread(lat.map((x) => x.late), 0), 'reference', null);
    row('paced messages lost, twice, refused', `${lat.reduce((s, x) => s + lost(x), 0)} of ${lat.reduce((s, x) => s + x.sends, 0)}`,
      '0', lat.every((x) => lost(x) === 0));
  }
  const dropped = await closeAll(clients);
  if (Object.keys(dropped).length) console.log(`  sockets the server closed: ${JSON.stringify(dropped)}`);
  await stopApp(a);
}

// 3: every account's device 1 connected and idle, on a fresh process.
async function idlePart(o) {
  const { build, data, users, clients, appEnv, addrs } = o;
  const D = users.length;
  const a = await startApp(build, data, appEnv, 'app-idle');
  await call(a.port, 'GET', '/health', undefined, undefined, { agent });
  await sleep(2000);
  const idle = rssKiB(a.pid);
  const opened = await openAll(clients, a.port, users.map((u, i) => ({ key: `i${i}`, token: u.token })), addrs);
  console.log(`idle: ${opened.n} of ${D} devices connected in ${fmt(opened.ms / 1000, 1)} s` +
    `${Object.keys(opened.failed).length ? `, refused: ${JSON.stringify(opened.failed)}` : ''}`);
  await sleep(2000);
  const withD = rssKiB(a.pid);
  const c0 = cpuTicks(a.pid), t0 = performance.now();
  await sleep(10000);
  const cpu = ((cpuTicks(a.pid) - c0) / CLK_TCK) / ((performance.now() - t0) / 1000) * 100;
  const after = rssKiB(a.pid), threads = threadsOf(a.pid);
  const dropped = await closeAll(clients);
  const per = (Math.max(withD, after) - idle) / Math.max(1, opened.n);
  console.log(`idle: app VmRSS idle ${fmt(idle / 1024)} MiB, with ${opened.n} devices ${fmt(withD / 1024)} MiB ` +
    `(${fmt(after / 1024)} MiB 10 s later), ${threads} threads` +
    `${Object.keys(dropped).length ? `; closed by the server: ${JSON.stringify(dropped)}` : ''}`);
  const problems = appLog(a);
  if (problems) console.log(problems);
  row(`devices connected of ${D}`, String(opened.n), String(D), opened.n === D && !Object.keys(dropped).length);
  row('app VmRSS idle', `${fmt(idle / 1024)} MiB`, 'reference', null);
  row(`app VmRSS with ${D} devices`, `${fmt(Math.max(withD, after) / 1024)} MiB`, 'reference', null);
  row('app VmRSS per connected device', `${fmt(per, 2)} KiB`, 'reference', null);
  row(`app CPU, ${D} idle devices, 10 s`, `${fmt(cpu, 2)} % of a core`, 'reference', null);
  await stopApp(a);
}

async function main() {
  const build = path.resolve(process.argv[2] || 'build');
  for (const f of [path.join(build, 'app'), path.join(build, 'test', 'bench-relayraw')]) {
    if (!fs.existsSync(f)) throw new Error(`missing ${f} (ninja -C ${build} app test/bench-relayraw)`);
  }
  const o = { build, secs: whole('BENCH_SECONDS', 10, 1, 3600), rounds: whole('BENCH_ROUNDS', 3, 1, 99),
    window: whole('RELAY_WINDOW', 1, 1, 4), addrs: whole('RELAY_ADDRS', 50, 1, 250),
    rate: process.env.RELAY_RATE ? whole('RELAY_RATE', 0, 1, 1000000) : 0 };
  const parts = (process.argv[3] || 'relay,idle').split(',');
  if (parts.some((p) => p !== 'relay' && p !== 'idle')) throw new Error('parts: a list of relay and idle');
  const P = whole('RELAY_PROCS', 2, 1, 16), D = whole('RELAY_DEVICES', 10000, 2 * PAIRS, 1000000);
  const syncs = (process.env.BENCH_SYNC || 'full').split(',');
  if (syncs.some((s) => s !== 'full' && s !== 'normal')) throw new Error('BENCH_SYNC is a list of full and normal');
  // each client process holds D / P sockets; node raises its soft limit to the hard one, the app too
  const { hard } = openFiles();
  if (hard < D / P + 200 || hard < D + 200) throw new Error(`the open-file hard limit ${hard} is too low for ${D} sockets: raise ulimit -Hn`);
  work = makeWork('app-bench-relay-');
  o.data = path.join(work, 'data');
  o.appEnv = { ACCESS_TTL: '86400', RATE_RELAY_SEND: 'off', RATE_KEYS_FETCH: 'off' }; // seeding hashes once
  const t0 = performance.now();
  o.users = seed(path.join(build, 'app'), o.data, D, 'relay', o.appEnv);
  const reg = await startApp(build, o.data, o.appEnv, 'app-register');
  await registerDevices(reg, o.users);
  await stopApp(reg);
  console.log(`relay: ${os.cpus().length} CPUs, load ${load()}; ${D} accounts ` +
    `seeded with device 1 in ${fmt((performance.now() - t0) / 1000)} s; ${P} client processes; ${o.rounds} rounds; ` +
    `app ${path.join(build, 'app')}`);
  o.clients = Array.from({ length: P }, () => child(__filename, ['--client'], 'a client process'));
  await Promise.all(o.clients.map((c) => c.up));
  if (parts.includes('relay')) for (const [i, sync] of syncs.entries()) await relayPart(o, sync, i === 0);
  if (parts.includes('idle')) await idlePart(o);
  for (const c of o.clients) c.send({ op: 'exit' });
  return printTable(['figure', 'measured: median [range]', 'limit', 'result'], [48, 34, 10]);
}

if (process.argv[2] === '--client') {
  clientMain();
} else {
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => { cleanup(); process.exit(130); });
  main().then((code) => { cleanup(); process.exit(code); }, (e) => { console.error(`relay: ${e.stack || e}`); cleanup(); process.exit(2); });
}
