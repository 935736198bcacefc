// Media figures (issue 4), each against a baseline from the same run:
//  1. peak resident memory while a 100 MiB upload is in flight <= 16 MiB above idle
//     (VmHWM reset through /proc/PID/clear_refs just before the upload, against VmRSS idle)
//  2. GET of a 1 MiB public file >= 0.7 x civetweb serving the same file as a plain static
//     file (bench-bare with a document root), wrk -t2 -c64 (BENCH_CONNECTIONS), alternating rounds.
// Usage: node test/bench/media.js [BUILD_DIR]   (BENCH_SECONDS per round, default 10)
'use strict';
const crypto = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const { sleep, procs, makeWork, cleanup, startServer, wrkPerSec, statusKiB } = require('./lib');

const build = path.resolve(process.argv[2] || 'build');
const secs = Number(process.env.BENCH_SECONDS || 10);
const work = makeWork('app-bench-media-');
const MiB = 1024 * 1024;

function call(port, method, p, body, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: p, method, agent: false, headers }, (res) => {
      const parts = [];
      res.on('data', (d) => parts.push(d));
      res.on('end', () => resolve({ status: res.statusCode, text: Buffer.concat(parts).toString() }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const start = (cmd, args, env, ready) => startServer(cmd, args,
  { env, log: path.join(work, `${path.basename(cmd)}-${procs.size}.log`), ready, waitMs: 5000,
    fail: (text) => `${cmd} did not start:\n${text}` });

const status = statusKiB;

const conns = Number(process.env.BENCH_CONNECTIONS || 64);
const wrk = (url) => wrkPerSec(url, { secs, conns });

// Streams a multipart upload of `size` random-ish bytes in 256 KiB writes, honouring
// backpressure, and resolves with the response.
function bigUpload(port, token, size) {
  const boundary = 'benchboundary';
  const head = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.bin"\r\n\r\n`);
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  const block = crypto.randomBytes(256 * 1024);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: '/api/v1/media', method: 'POST', agent: false,
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': `multipart/form-data; boundary=${boundary}`,
        'Content-Length': head.length + size + tail.length } }, (res) => {
      let text = '';
      res.on('data', (d) => { text += d; });
      res.on('end', () => resolve({ status: res.statusCode, text }));
    });
    req.on('error', reject);
    req.write(head);
    let sent = 0;
    const pump = () => {
      while (sent < size) {
        const n = Math.min(block.length, size - sent);
        block[0] = sent & 0xff; // no two blocks alike
        sent += n;
        if (!req.write(block.subarray(0, n))) { req.once('drain', pump); return; }
      }
      req.end(tail);
    };
    pump();
  });
}

async function main() {
  const port = 20000 + (process.pid % 20000);
  const barePort = port + 1;
  const app = await start(path.join(build, 'app'), ['--data', path.join(work, 'd'), '--listen', `127.0.0.1:${port}`],
    { PASSWORD_ITERATIONS: '1000', MEDIA_MAX_BYTES: String(200 * MiB) }, /listening/);
  const reg = await call(port, 'POST', '/api/v1/auth/register',
    JSON.stringify({ email: 'bench@example.test', password: 'bench password', name: 'B' }), { 'Content-Type': 'application/json' });
  if (reg.status !== 201) throw new Error(`register: ${reg.status} ${reg.text}`);
  const token = JSON.parse(reg.text).access_token;

  // 1. memory during a 100 MiB upload
  await sleep(500);
  const idle = status(app.pid, 'VmRSS');
  fs.writeFileSync(`/proc/${app.pid}/clear_refs`, '5'); // VmHWM := VmRSS
  const t0 = Date.now();
  const up = await bigUpload(port, token, 100 * MiB);
  const upMs = Date.now() - t0;
  if (up.status !== 201) throw new Error(`upload: ${up.status} ${up.text}`);
  const peak = status(app.pid, 'VmHWM');
  const above = (peak - idle) / 1024;
  console.log(`upload 100 MiB: ${upMs} ms (${(100 / (upMs / 1000)).toFixed(0)} MiB/s); RSS idle ${(idle / 1024).toFixed(2)} MiB, ` +
    `peak ${(peak / 1024).toFixed(2)} MiB, above idle ${above.toFixed(2)} MiB (limit 16) ${above <= 16 ? 'PASS' : 'FAIL'}`);

  // 2. 1 MiB public file: app vs civetweb static
  const data = crypto.randomBytes(MiB);
  const boundary = 'b1';
  const body = Buffer.concat([Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="visibility"\r\n\r\npublic\r\n` +
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="one.bin"\r\n\r\n`), data, Buffer.from(`\r\n--${boundary}--\r\n`)]);
  const one = await call(port, 'POST', '/api/v1/media', body,
    { Authorization: `Bearer ${token}`, 'Content-Type': `multipart/form-data; boundary=${boundary}` });
  if (one.status !== 201) throw new Error(`upload 1 MiB: ${one.status} ${one.text}`);
  const id = JSON.parse(one.text).id;
  const docroot = path.join(work, 'www');
  fs.mkdirSync(docroot);
  fs.writeFileSync(path.join(docroot, 'one.bin'), data);
  await start(path.join(build, 'test', 'bench-bare'), [String(barePort), process.env.APP_THREADS || '50', docroot], {}, /bench-bare/);
  const appUrl = `http://127.0.0.1:${port}/api/v1/media/${id}`;
  const bareUrl = `http://127.0.0.1:${barePort}/one.bin`;
  wrk(appUrl); // warm-up of both, not counted
  wrk(bareUrl);
  const rounds = { app: [], bare: [] };
  for (let i = 0; i < 2; i++) {
    rounds.bare.push(wrk(bareUrl));
    rounds.app.push(wrk(appUrl));
  }
  const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const ratio = mean(rounds.app) / mean(rounds.bare);
  console.log(`GET 1 MiB public file: app ${mean(rounds.app).toFixed(0)} req/s (${rounds.app.map((x) => x.toFixed(0)).join(', ')}), ` +
    `civetweb static ${mean(rounds.bare).toFixed(0)} req/s (${rounds.bare.map((x) => x.toFixed(0)).join(', ')}), ` +
    `ratio ${ratio.toFixed(3)} (limit 0.7) ${ratio >= 0.7 ? 'PASS' : 'FAIL'}`);
  return above <= 16 && ratio >= 0.7;
}

main().then((ok) => { cleanup(); process.exit(ok ? 0 : 1); }, (e) => { console.error(e); cleanup(); process.exit(2); });
