// Accounts figures (issue 3), each against a baseline from the same run:
//  1. authenticated GET /api/v1/users/me throughput >= 0.6 x GET /health (wrk -t2 -c64)
//  2. logins per second at the default KDF cost (600,000 PBKDF2 iterations), and /health
//     latency p99 < 50 ms while logins saturate the KDF (baseline: p99 with no logins).
// Usage: node test/bench/accounts.js [BUILD_DIR]   (BENCH_SECONDS per phase, default 10)
// Logins come from several loopback addresses and accounts so that the rate limits (per IP
// and per account) do not cut the load short; every request stays on this machine.
'use strict';
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const { sleep, wrkPerSec, pct, printTable } = require('./lib');

const build = path.resolve(process.argv[2] || 'build');
const secs = Number(process.env.BENCH_SECONDS || 10);
const data = fs.mkdtempSync(path.join(os.tmpdir(), 'app-bench-acc-'));
let app;

function call(port, method, p, body, headers = {}, localAddress = '127.0.0.1') {
  return new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    const req = http.request({ host: '127.0.0.1', port, path: p, method, localAddress, agent: false,
      headers: { 'Content-Type': 'application/json', ...headers } }, (res) => {
      let text = '';
      res.on('data', (d) => { text += d; });
      res.on('end', () => resolve({ status: res.statusCode, text, ms: Number(process.hrtime.bigint() - t0) / 1e6 }));
    });
    req.on('error', (e) => resolve({ status: 0, text: e.message, ms: Number(process.hrtime.bigint() - t0) / 1e6 }));
    req.end(body ? JSON.stringify(body) : undefined);
  });
}

const wrk = (url, headers) => wrkPerSec(url, { secs, headers });

// /health every 20 ms for `ms`, from its own address: the latencies a load balancer sees.
async function healthLatencies(port, ms) {
  const out = [];
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const r = await call(port, 'GET', '/health', null, {}, '127.0.0.250');
    if (r.status === 200) out.push(r.ms);
    await sleep(20);
  }
  return out;
}

async function main() {
  const port = 20000 + (process.pid % 20000);
  // stderr to a file: wrk runs synchronously, and a pipe nobody reads would fill up
  const logFile = path.join(data, 'stderr.log');
  app = spawn(path.join(build, 'app'), ['--data', path.join(data, 'd'), '--listen', `127.0.0.1:${port}`],
    { stdio: ['ignore', 'ignore', fs.openSync(logFile, 'w')] });
  let log = '';
  for (let i = 0; i < 500 && !/listening/.test(log); i++) {
    await sleep(10);
    log = fs.readFileSync(logFile, 'utf8');
  }
  if (!/listening/.test(log)) throw new Error(`app did not start:\n${log}`);

  // accounts: one per loopback address, registered from that address
  const users = [];
  for (let i = 0; i < 12; i++) {
    const ip = `127.0.0.${10 + i}`;
    const email = `bench${i}@example.test`;
    const r = await call(port, 'POST', '/api/v1/auth/register', { email, password: 'bench password', name: `B${i}` }, {}, ip);
    if (r.status !== 201) throw new Error(`register: ${r.status} ${r.text}`);
    users.push({ ip, email, token: JSON.parse(r.text).access_token });
  }

  // 1. throughput, alternating rounds
  const h1 = wrk(`http://127.0.0.1:${port}/health`);
  const m1 = wrk(`http://127.0.0.1:${port}/api/v1/users/me`, [`Authorization: Bearer ${users[0].token}`]);
  const h2 = wrk(`http://127.0.0.1:${port}/health`);
  const m2 = wrk(`http://127.0.0.1:${port}/api/v1/users/me`, [`Authorization: Bearer ${users[0].token}`]);
  const health = (h1 + h2) / 2, me = (m1 + m2) / 2, ratio = me / health;

  // 2. health latency alone, then with logins saturating the KDF
  const idle = await healthLatencies(port, 3000);
  let logins = 0, refused = 0, stop = false;
  const loginMs = [];
  const worker = async (k) => {
    for (let n = 0; !stop; n++) {
      const u = users[(k + n) % users.length];
      const r = await call(port, 'POST', '/api/v1/auth/login', { email: u.email, password: 'bench password' }, {}, u.ip);
      if (r.status === 200) { logins++; loginMs.push(r.ms); } else refused++;
    }
  };
  const t0 = Date.now();
  const workers = Array.from({ length: 8 }, (_, k) => worker(k));
  const busy = await healthLatencies(port, secs * 1000);
  stop = true;
  await Promise.all(workers);
  const elapsed = (Date.now() - t0) / 1000;

  const rows = [
    ['/health req/s', health.toFixed(0), 'baseline', 'PASS'],
    ['/api/v1/users/me req/s (Bearer)', me.toFixed(0), '', 'PASS'],
    ['users/me / health', ratio.toFixed(3), '>= 0.6', ratio >= 0.6 ? 'PASS' : 'FAIL'],
    ['logins/s at 600k iterations', (logins / elapsed).toFixed(2), 'report', 'PASS'],
    ['login latency p50 / p99 (ms)', `${pct(loginMs, 50)?.toFixed(0)} / ${pct(loginMs, 99)?.toFixed(0)}`, 'report', 'PASS'],
    ['/health p99 idle (ms)', pct(idle, 99).toFixed(2), 'baseline', 'PASS'],
    ['/health p99 during logins (ms)', pct(busy, 99).toFixed(2), '< 50', pct(busy, 99) < 50 ? 'PASS' : 'FAIL'],
  ];
  const code = printTable(['figure', 'measured', 'limit', 'result'], [34, 16, 10], rows);
  console.log(`(wrk -t2 -c64 -d${secs}s alternating; ${logins} logins, ${refused} refused, 8 concurrent clients, ` +
    `${busy.length} health samples during logins, ${os.cpus().length} CPUs; health rounds ${h1.toFixed(0)}, ${h2.toFixed(0)}; me rounds ${m1.toFixed(0)}, ${m2.toFixed(0)})`);
  return code;
}

main().then((code) => { app.kill('SIGTERM'); fs.rmSync(data, { recursive: true, force: true }); process.exitCode = code; },
  (e) => { console.error(e); if (app) app.kill('SIGKILL'); fs.rmSync(data, { recursive: true, force: true }); process.exitCode = 2; });
