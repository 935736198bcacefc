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
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const lib = require('./lib');
const { now, sleep, load, makeWork, cleanup, child, startServer, stopServer, freePort, seed, sseExchange, wsOpen,
  closeConns, pool, tally, openAll, closeAll, rssKiB, threadsOf, CLK_TCK, cpuTicks, openFiles,
  pct, median, fmt, spread, row, printTable } = lib;

const env = (name, dflt) => {
  const v = Number(process.env[name] || dflt);
  if (!Number.isInteger(v) || v < 1) throw new Error(`${name} must be a positive whole number`);
  return v;
};

// ---------------------------------------------------------------------------------------------
// Client processes: each holds a share of the sockets and answers the parent over IPC.

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
      for (const c of ok) Object.assign(c, { ready: true, got: null, len: 0 });
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
      await closeConns(conns);
      const dropped = tally(droppedByServer);
      conns = [];
      droppedByServer = [];
      reply({ op: 'closed', dropped });
    } else if (m.op === 'sse') {
      const t0 = performance.now();
      const rs = await Promise.all(m.streams.map((s) => sseExchange(m.port, s, m.content)));
      const firsts = rs.filter((r) => r.deltas.length).map((r) => r.deltas[0] - r.start);
      reply({ op: 'sse', n: rs.length, wallMs: performance.now() - t0,
        complete: rs.filter((r) => r.status === 200 && r.end === 'done' && r.text === m.expected).length,
        statuses: tally(rs.map((r) => r.status)), ends: tally(rs.map((r) => r.end || r.error || 'no end')),
        firstMax: Math.max(0, ...firsts), firsts: firsts.length });
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

let work = null;

// Requests as lib's, a timeout reported as 'timeout'.
const call = (port, method, p, token, body, timeoutMs) => lib.call(port, method, p, token, body, { timeoutMs, late: 'timeout' });

async function metric(port, name) {
  const r = await call(port, 'GET', '/metrics');
  const m = new RegExp(`^\\w*${name}(?:\\{[^}]*\\})?\\s+([0-9.e+]+)`, 'm').exec(r.text);
  return m ? Number(m[1]) : null;
}

// The clients share the sockets, one a token, spread over `addrs` client addresses.
const openTabs = (clients, port, tokens, { waitReady, addrs }) =>
  openAll(clients, port, tokens.map((token) => ({ token })), addrs, { waitReady, inFlight: 64 });

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

async function wsPart(o) {
  const { build, clients, data, users, one } = o;
  const N = env('LIVE_CLIENTS', 10000), addrs = env('LIVE_ADDRS', 50);
  const tabs = Math.ceil(N / users.length);
  const appEnv = { ...o.appEnv, LLM_DEMO_DELAY_MS: '0', LLM_BASE_URL: '' };
  const port = await freePort();
  const app = await startServer(path.join(build, 'app'), ['--data', data, '--listen', `127.0.0.1:${port}`],
    { env: appEnv, log: path.join(work, 'app-ws.log') });
  const chat = JSON.parse((await call(port, 'POST', '/api/v1/chats', one.token, { title: 'live bench' })).text).id;
  let seq = 0;
  const content = () => `live-bench-${String(process.pid).padStart(8, '0')}-${String(++seq).padStart(6, '0')}`;
  const post = (nonce) => call(port, 'POST', `/api/v1/chats/${chat}/messages`, one.token, { content: nonce });

  // warm-up and calibration: a few tabs of the broadcast user, one event; its frame's size is
  // what the bare server sends too
  const cal = await openTabs(clients, port, Array(10).fill(one.token), { waitReady: true, addrs });
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
  const opened = await openTabs(clients, port, tokens, { waitReady: true, addrs });
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
  await stopServer(app, 10000);
}

// One event to N tabs of one user (the app: one chat message, whose chat.message event the
// hub sends to every tab of its owner) against the bare loop sending one frame as large to N
// sockets; rounds alternate bare, app so that drift in the machine's load hits both alike.
async function broadcastRounds({ build, clients, one, sides, app, port, post, content, frameLen }) {
  const N = env('LIVE_CLIENTS', 10000), addrs = env('LIVE_ADDRS', 50);
  const rounds = env('LIVE_ROUNDS', 3), events = env('LIVE_EVENTS', 5);
  const bport = await freePort();
  const bare = await startServer(path.join(build, 'test', 'bench-broadcast'), [String(bport)], { log: path.join(work, 'bare.log') });
  const body = (n) => n + 'x'.repeat(Math.max(0, frameLen - n.length)); // a bare frame as long as the app's
  const res = { bare: { p50: [], p99: [], max: [], first: [], fan: [], missing: 0, rss: [], open: [], loop: [] },
    app: { p50: [], p99: [], max: [], first: [], fan: [], missing: 0, rss: [], open: [] } };
  const oneTokens = Array(N).fill(one ? one.token : 'none');
  for (let r = 1; r <= rounds; r++) {
    for (const side of sides) {
      const p = side === 'bare' ? bport : port;
      const pid = side === 'bare' ? bare.pid : app.pid;
      const op = await openTabs(clients, p, oneTokens, { waitReady: side === 'app', addrs });
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
  await stopServer(bare, 10000);
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
  const llm = child(__filename, ['--llm']);
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
    const app = await startServer(path.join(build, 'app'), ['--data', data, '--listen', `127.0.0.1:${port}`],
      { env: appEnv, log: path.join(work, `app-sse-${r}.log`) });
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
    await stopServer(app, 10000);
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
  const { hard } = openFiles();
  if (hard < N / P + 200) throw new Error(`the open-file hard limit ${hard} is too low for ${N / P} sockets a process: raise LIVE_PROCS or ulimit -Hn`);
  work = makeWork('app-bench-live-');
  const data = path.join(work, 'data');
  const appEnv = { ACCESS_TTL: '86400', CHAT_DAILY_LIMIT: '0', PASSWORD_ITERATIONS: '1000' };
  const t0 = performance.now();
  const users = seed(path.join(build, 'app'), data, U, 'live', appEnv);
  const [one] = seed(path.join(build, 'app'), data, 1, 'broadcast', appEnv);
  console.log(`live: ${os.cpus().length} CPUs, load ${load()}; ${U + 1} accounts seeded ` +
    `in ${fmt((performance.now() - t0) / 1000)} s; ${P} client processes; app ${path.join(build, 'app')}`);
  const clients = Array.from({ length: P }, () => child(__filename, ['--client']));
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
  const code = printTable(['figure', 'measured: median [range]', 'limit', 'result'], [50, 34, 10]);
  console.log('(/health throughput app / bare civetweb: test/bench/run; idle TCP and slowloris: test/bench/conns.js)');
  return code;
}

if (process.argv[2] === '--client') {
  clientMain();
} else if (process.argv[2] === '--llm') {
  llmMain().catch((e) => { console.error(e); process.exit(1); });
} else {
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => { cleanup(); process.exit(130); });
  main().then((code) => { cleanup(); process.exit(code); }, (e) => { console.error(`live: ${e.stack || e}`); cleanup(); process.exit(2); });
}
