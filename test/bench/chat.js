// Chat streaming figures (issue 5), against the fake OpenAI-compatible server of the e2e
// suite, all on loopback:
//  1. time from the upstream writing a chunk to the SSE client receiving its delta:
//     p99 <= 5 ms (one stream of 400 chunks, 5 ms apart; clocks: one process).
//  2. 200 concurrent streaming chats, the upstream streaming 10 s each: all complete, none
//     starved (every stream's first delta within 5 s of its start), app RSS <= 64 MiB,
//     GET /health p99 <= 50 ms meanwhile. Run with APP_THREADS=256 (each open stream holds
//     one civetweb worker thread), and once with the default 50 threads to show that limit:
//     streams beyond APP_THREADS - reserve get 503 at once instead of starving the rest.
// Usage: node test/bench/chat.js [BUILD_DIR]
'use strict';
const http = require('node:http');
const path = require('node:path');
const { startLlm } = require('../e2e/lib/llm');
const { sleep, makeWork, cleanup, startServer, sseExchange, rssKiB, pct } = require('./lib');

const build = path.resolve(process.argv[2] || 'build');
const work = makeWork('app-bench-chat-');

const startApp = (port, env) => startServer(path.join(build, 'app'),
  ['--data', path.join(work, `d${port}`), '--listen', `127.0.0.1:${port}`],
  { env: { PASSWORD_ITERATIONS: '1000', ...env }, log: path.join(work, `app-${port}.log`), waitMs: 5000,
    fail: (text) => `app did not start: ${text}` });

function call(port, method, p, token, body) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = http.request({ host: '127.0.0.1', port, path: p, method, agent: false,
      headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) } }, (res) => {
      let text = '';
      res.on('data', (d) => { text += d; });
      res.on('end', () => resolve({ status: res.statusCode, text, ms: performance.now() - t0 }));
    });
    req.on('error', reject);
    req.end(body ? JSON.stringify(body) : undefined);
  });
}

// One streamed exchange; resolves with the arrival time of every delta and how it ended.
const stream = (port, token, chat, content) => sseExchange(port, { token, chat }, content);

const rssMiB = (pid) => rssKiB(pid) / 1024;

async function user(port, n) {
  const r = await call(port, 'POST', '/api/v1/auth/register', null, { email: `b${n}@example.test`, password: 'bench password', name: `B${n}` });
  if (r.status !== 201) throw new Error(`register ${r.status} ${r.text}`);
  return JSON.parse(r.text).access_token;
}

async function chatOf(port, token) {
  return JSON.parse((await call(port, 'POST', '/api/v1/chats', token, {})).text).id;
}

// n streams at once, each against an upstream of `chunks` chunks `gap` ms apart.
async function concurrent(llm, port, pid, n, chunks, gap) {
  const tokens = [];
  for (let i = 0; i < 10; i++) tokens.push(await user(port, `${port}-${i}`));
  const chats = [];
  for (let i = 0; i < n; i++) chats.push({ token: tokens[i % 10], id: await chatOf(port, tokens[i % 10]) });
  llm.setDefault({ chunks: Array.from({ length: chunks }, (_, i) => `t${i} `), delayMs: gap });
  let peak = rssMiB(pid);
  const health = [];
  let running = true;
  const sampler = (async () => {
    while (running) {
      peak = Math.max(peak, rssMiB(pid));
      const h = await call(port, 'GET', '/health');
      if (h.status === 200) health.push(h.ms);
      else health.push(Infinity);
      await sleep(50);
    }
  })();
  const t0 = performance.now();
  const results = await Promise.all(chats.map((c) => stream(port, c.token, c.id, 'stream please')));
  const wall = performance.now() - t0;
  running = false;
  await sampler;
  const expected = Array.from({ length: chunks }, (_, i) => `t${i} `).join('');
  const complete = results.filter((r) => r.end === 'done' && r.text === expected).length;
  const refused = results.filter((r) => r.status === 503).length;
  const firsts = results.filter((r) => r.deltas.length).map((r) => r.deltas[0] - r.start);
  return { n, complete, refused, wall, peak, healthP99: pct(health, 99), healthN: health.length,
    firstMax: firsts.length ? Math.max(...firsts) : NaN };
}

async function main() {
  const llm = await startLlm();
  const env = { LLM_BASE_URL: llm.url, LLM_API_KEY: llm.apiKey, CHAT_DAILY_LIMIT: '0' };
  let ok = true;

  // 1. chunk-to-client latency
  const p1 = 21000 + (process.pid % 5000);
  await startApp(p1, env);
  const token = await user(p1, 'lat');
  const chat = await chatOf(p1, token);
  llm.reset();
  llm.next({ chunks: Array.from({ length: 400 }, (_, i) => `c${i} `), delayMs: 5 });
  const s = await stream(p1, token, chat, 'latency');
  const sent = llm.requests[0].sent;
  if (s.deltas.length !== sent.length) throw new Error(`got ${s.deltas.length} deltas for ${sent.length} chunks`);
  const lags = s.deltas.map((t, i) => t - sent[i].t);
  const p99 = pct(lags, 99);
  console.log(`chunk -> client: ${lags.length} chunks, p50 ${pct(lags, 50).toFixed(2)} ms, p99 ${p99.toFixed(2)} ms, ` +
    `max ${Math.max(...lags).toFixed(2)} ms (limit p99 5) ${p99 <= 5 ? 'PASS' : 'FAIL'}`);
  ok = ok && p99 <= 5;

  // 2. 200 concurrent 10 s streams
  const p2 = p1 + 1;
  const a2 = await startApp(p2, { ...env, APP_THREADS: '256' });
  await sleep(300);
  const idle = rssMiB(a2.pid);
  const r2 = await concurrent(llm, p2, a2.pid, 200, 100, 100);
  const pass2 = r2.complete === 200 && r2.peak <= 64 && r2.healthP99 <= 50 && r2.firstMax < 5000;
  console.log(`200 streams x 10 s, APP_THREADS=256: ${r2.complete}/200 complete in ${(r2.wall / 1000).toFixed(1)} s, ` +
    `slowest first delta ${r2.firstMax.toFixed(0)} ms, RSS idle ${idle.toFixed(1)} MiB peak ${r2.peak.toFixed(1)} MiB (limit 64), ` +
    `/health p99 ${r2.healthP99.toFixed(1)} ms over ${r2.healthN} probes (limit 50) ${pass2 ? 'PASS' : 'FAIL'}`);
  ok = ok && pass2;

  // the default thread count: the limit, shown
  const p3 = p1 + 2;
  const a3 = await startApp(p3, env);
  const r3 = await concurrent(llm, p3, a3.pid, 200, 100, 100);
  console.log(`200 streams x 10 s, default APP_THREADS=50: ${r3.complete} complete, ${r3.refused} refused with 503 at once, ` +
    `/health p99 ${r3.healthP99.toFixed(1)} ms, RSS peak ${r3.peak.toFixed(1)} MiB`);
  await llm.stop();
  return ok;
}

main().then((ok) => { cleanup(); process.exit(ok ? 0 : 1); }, (e) => { console.error(e); cleanup(); process.exit(2); });
