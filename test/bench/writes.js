// The write path's figures, each against a baseline measured in the same run, in rounds that
// alternate baseline and app so that drift in the machine's load hits both alike:
//  1. POST /api/v1/chats (wrk -t2 -c64) with DB_SYNCHRONOUS=full against bench-rawinsert, one
//     thread committing the same row in a loop with synchronous=FULL: writes/s >= 1.0 x raw,
//     p99 <= 50 ms, no wrk timeouts (answers slower than 2 s), no answer >= 400.
//  2. the same with DB_SYNCHRONOUS=normal against the raw loop with NORMAL: >= 0.6 x raw.
//  3. GET /api/v1/users/me (wrk -t1 -c16) while chats are created (another wrk -t1 -c16):
//     read p99 <= 10 ms, no timeout, no error; baseline: the same reads with no writes.
// Must leave no process behind and never wait unbounded: every child has a deadline.
// Usage: node test/bench/writes.js [BUILD_DIR]   (BENCH_SECONDS per round, default 10;
//        BENCH_ROUNDS of each measurement, default 3)
'use strict';
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { sleep, load, whole, procs, makeWork, killAll, cleanup, run, stopServer, freePort, call, rawBaseline, logProblems,
  tail, rows, figureRow, printTable } = require('./lib');

const root = path.resolve(__dirname, '../..');
const build = path.resolve(process.argv[2] || path.join(root, 'build'));
const app = path.join(build, 'app');
const raw = path.join(build, 'test', 'bench-rawinsert');

const secs = whole('BENCH_SECONDS', 10, 1, 3600, 'bench');
const rounds = whole('BENCH_ROUNDS', 3, 1, 99, 'bench');
const readSecs = Math.max(1, Math.round(secs / 2)); // reads alone: a baseline, kept short
const STEP_GRACE_MS = 30000; // beyond its own length, the most a child may take

let work = null;
process.on('exit', killAll);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => { cleanup(); process.exit(130); });

// The app on a free port with its own data directory; resolves once /health answers 200.
// Its stderr (one line a request) goes to a file opened for appending, so truncating it
// between rounds keeps it small.
async function startApp(name, env) {
  const port = await freePort();
  const logFile = path.join(work, `${name}.log`);
  const p = spawn(app, ['--data', path.join(work, name), '--listen', `127.0.0.1:${port}`], {
    env: { ...process.env, PASSWORD_ITERATIONS: '1000', ACCESS_TTL: '86400', ...env },
    stdio: ['ignore', 'ignore', fs.openSync(logFile, 'a')],
  });
  procs.add(p);
  const a = { p, port, logFile, name, exited: false };
  p.on('exit', () => { a.exited = true; procs.delete(p); });
  for (const end = Date.now() + 10000; Date.now() < end && !a.exited;) {
    if ((await call(port, 'GET', '/health')).status === 200) return a;
    await sleep(20);
  }
  throw new Error(`the app (${name}) did not answer /health with 200 within 10 s:\n` +
    tail(fs.readFileSync(logFile, 'utf8')));
}

// After a round: the app must still run. What went wrong in the round, from its log (answers
// >= 400 by status and error code, error lines by text), as lines to print; then the log is
// emptied, having served its purpose.
function roundDone(a) {
  const log = fs.readFileSync(a.logFile, 'utf8');
  if (a.exited) throw new Error(`the app (${a.name}) exited during a round:\n${tail(log)}`);
  fs.truncateSync(a.logFile);
  return logProblems(log, ' '.repeat(11));
}

// SIGTERM, the app's own shutdown grace and a margin, then SIGKILL.
const stopApp = (a) => stopServer(a.p, 15000);

// One account, and one request of each kind checked by hand before wrk repeats it blindly.
async function account(a) {
  const r = await call(a.port, 'POST', '/api/v1/auth/register', null,
    { email: 'writes@example.test', password: 'bench password', name: 'Bench' });
  if (r.status !== 201) throw new Error(`register: ${r.status} ${r.text}`);
  const token = JSON.parse(r.text).access_token;
  const c = await call(a.port, 'POST', '/api/v1/chats', token, { title: 'bench' });
  if (c.status !== 201 || JSON.parse(c.text).title !== 'bench') throw new Error(`create chat: ${c.status} ${c.text}`);
  const me = await call(a.port, 'GET', '/api/v1/users/me', token);
  if (me.status !== 200) throw new Error(`users/me: ${me.status} ${me.text}`);
  return token;
}

// wrk scripts: the request, and a summary line from wrk's own counters at the end. A wrk
// "timeout" is an answer that took longer than its --timeout (2 s); it is left out of the
// latency distribution, so p99 alone would hide it.
function script(name, method, body) {
  const file = path.join(work, `${name}.lua`);
  fs.writeFileSync(file, [
    `wrk.method = "${method}"`,
    body ? `wrk.body = '${body}'` : '',
    body ? 'wrk.headers["Content-Type"] = "application/json"' : '',
    'wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")',
    'done = function(summary, latency, requests)',
    '  local e = summary.errors',
    '  io.write(string.format("bench-wrk %d %d %d %d %d %d %d %d %d %d\\n", summary.requests,',
    '    summary.duration, e.status, e.timeout, e.connect, e.read, e.write,',
    '    latency:percentile(50), latency:percentile(99), latency.max))',
    'end',
    '',
  ].join('\n'));
  return file;
}

// One wrk run; null when it gave no summary (its output is printed then).
async function wrk(a, token, lua, urlPath, threads, conns, seconds) {
  const r = await run('wrk', [`-t${threads}`, `-c${conns}`, `-d${seconds}s`, '--latency', '-s', lua,
    `http://127.0.0.1:${a.port}${urlPath}`], { env: { ...process.env, BENCH_TOKEN: token }, limitMs: (seconds * 1000) + STEP_GRACE_MS });
  const m = /^bench-wrk (\d+) (\d+) (\d+) (\d+) (\d+) (\d+) (\d+) (\d+) (\d+) (\d+)$/m.exec(r.out);
  if (!m) {
    console.log(`  wrk gave no summary (exit ${r.code}${r.timedOut ? ', killed at its deadline' : ''}):\n${tail(r.out)}`);
    return null;
  }
  const [requests, durUs, status, timeout, connect, read, write, p50, p99, max] = m.slice(1).map(Number);
  const ok = requests - status;
  const timed = requests - timeout > 0; // else the distribution is empty and its 0s mean nothing
  return { requests, ok, status, timeout, sockets: connect + read + write, perSec: ok / (durUs / 1e6),
    p50: timed ? p50 / 1000 : NaN, p99: timed ? p99 / 1000 : NaN, max: max / 1000 };
}

const wrkNote = (w) => `${w.ok} ok, ${w.status} >= 400, ${w.timeout} timeouts, ${w.sockets} socket errors, ` +
  `p50 ${w.p50.toFixed(1)} ms, p99 ${w.p99.toFixed(1)} ms, max ${w.max.toFixed(0)} ms`;

async function rawRound(sync, r) {
  const res = await rawBaseline(raw, path.join(work, `raw-${sync}-${r}.db`), secs, sync);
  const m = /rows (\d+) seconds ([\d.]+) rows_per_s ([\d.]+) commit_p50_us (\d+) commit_p99_us (\d+) .*sqlite (\S+)/.exec(res.out);
  if (res.code !== 0 || !m) {
    console.log(`  bench-rawinsert failed (exit ${res.code}${res.timedOut ? ', killed at its deadline' : ''}):\n${tail(res.out)}`);
    return null;
  }
  return { perSec: Number(m[3]), rows: Number(m[1]), p50: Number(m[4]) / 1000, p99: Number(m[5]) / 1000, sqlite: m[6] };
}

// ---- figures -------------------------------------------------------------------------------
// A figure over rounds: its median judged, its range shown. A failed round fails the figure.
const figure = (name, xs, d, limit, pass) => rows.push(figureRow(name, xs, d, limit, pass, { missing: 'a round failed', strict: true }));
// A count summed over rounds: every round must be clean.
function count(name, xs, limit) {
  if (xs.some((x) => x === null || x === undefined)) {
    rows.push([name, 'a round failed', '', limit, 'FAIL']);
    return;
  }
  const total = xs.reduce((s, x) => s + x, 0);
  rows.push([name, String(total), xs.join(' / '), limit, total === 0 ? 'PASS' : 'FAIL']);
}

// 1 and 2: POST /api/v1/chats against the raw loop, rounds alternating raw, app.
async function writes(sync, minRatio) {
  const SYNC = sync.toUpperCase();
  const a = await startApp(`writes-${sync}`, { DB_SYNCHRONOUS: sync });
  const token = await account(a);
  const lua = script('create', 'POST', '{"title":"bench"}');
  // warm-up, not counted: connections, each worker thread's own SQLite connection
  await wrk(a, token, lua, '/api/v1/chats', 2, 64, 1);
  roundDone(a);
  console.log(`writes, synchronous=${SYNC}: bench-rawinsert ${secs} s, then wrk -t2 -c64 -d${secs}s POST /api/v1/chats (app :${a.port})`);
  const rr = [], aa = [];
  for (let r = 1; r <= rounds; r++) {
    const b = await rawRound(sync, r);
    rr.push(b);
    if (b) console.log(`  round ${r}  raw ${b.perSec.toFixed(0).padStart(7)} rows/s   (${b.rows} rows, commit p50 ${b.p50.toFixed(2)} ms, p99 ${b.p99.toFixed(2)} ms, SQLite ${b.sqlite})`);
    const w = await wrk(a, token, lua, '/api/v1/chats', 2, 64, secs);
    const problems = roundDone(a);
    aa.push(w);
    if (w) console.log(`  round ${r}  app ${w.perSec.toFixed(0).padStart(7)} writes/s (${wrkNote(w)})`);
    if (problems) console.log(problems);
  }
  await stopApp(a);
  const ratio = rr.map((b, i) => (b && aa[i] ? aa[i].perSec / b.perSec : null));
  figure(`raw rows/s, ${SYNC}`, rr.map((b) => b?.perSec), 0, 'baseline');
  figure(`app writes/s, ${SYNC}`, aa.map((w) => w?.perSec), 0, '');
  figure(`app/raw, ${SYNC}`, ratio, 3, `>= ${minRatio.toFixed(1)}`, (m) => m >= minRatio);
  figure(`write p50 ms, ${SYNC}`, aa.map((w) => w?.p50), 1, '');
  figure(`write p99 ms, ${SYNC}`, aa.map((w) => w?.p99), 1, '<= 50', (m) => m <= 50);
  count(`write timeouts (> 2 s), ${SYNC}`, aa.map((w) => w?.timeout), '= 0');
  count(`write answers >= 400, ${SYNC}`, aa.map((w) => w?.status), '= 0');
  count(`write socket errors, ${SYNC}`, aa.map((w) => w?.sockets), '= 0');
}

// 3: reads alone, then reads while chats are created, alternating.
async function mixed() {
  const a = await startApp('mixed', { DB_SYNCHRONOUS: 'full' });
  const token = await account(a);
  const read = script('me', 'GET', null);
  const create = script('create-mixed', 'POST', '{"title":"bench"}');
  await wrk(a, token, read, '/api/v1/users/me', 1, 16, 1);
  await wrk(a, token, create, '/api/v1/chats', 1, 16, 1);
  roundDone(a);
  console.log(`mixed, synchronous=FULL: wrk -t1 -c16 GET /api/v1/users/me alone (${readSecs} s), then the same ` +
    `beside wrk -t1 -c16 POST /api/v1/chats (${secs} s) (app :${a.port})`);
  const alone = [], reads = [], wr = [];
  for (let r = 1; r <= rounds; r++) {
    const q = await wrk(a, token, read, '/api/v1/users/me', 1, 16, readSecs);
    let problems = roundDone(a);
    alone.push(q);
    if (q) console.log(`  round ${r}  reads alone       ${q.perSec.toFixed(0).padStart(7)} req/s (${wrkNote(q)})`);
    if (problems) console.log(problems);
    const [x, w] = await Promise.all([wrk(a, token, read, '/api/v1/users/me', 1, 16, secs),
      wrk(a, token, create, '/api/v1/chats', 1, 16, secs)]);
    problems = roundDone(a);
    reads.push(x);
    wr.push(w);
    if (x) console.log(`  round ${r}  reads with writes ${x.perSec.toFixed(0).padStart(7)} req/s (${wrkNote(x)})`);
    if (w) console.log(`  round ${r}  the writes        ${w.perSec.toFixed(0).padStart(7)} writes/s (${wrkNote(w)})`);
    if (problems) console.log(problems);
  }
  await stopApp(a);
  figure('read p99 ms, alone', alone.map((q) => q?.p99), 2, 'baseline');
  figure('read p99 ms, with writes', reads.map((q) => q?.p99), 2, '<= 10', (m) => m <= 10);
  figure('reads/s alone', alone.map((q) => q?.perSec), 0, '');
  figure('reads/s with writes', reads.map((q) => q?.perSec), 0, '');
  count('read timeouts, >= 400, socket', reads.map((q) => (q ? q.timeout + q.status + q.sockets : null)), '= 0');
  figure('writes/s beside reads', wr.map((w) => w?.perSec), 0, '');
  figure('write p99 ms beside reads', wr.map((w) => w?.p99), 1, '');
}

function ensureWrk() {
  if (spawnSync('sh', ['-c', 'command -v wrk'], { stdio: 'ignore' }).status === 0) return;
  console.log('bench: installing wrk');
  const apt = (args) => spawnSync('timeout', ['600', 'apt-get', ...args], { stdio: 'ignore' }).status === 0;
  if (!apt(['install', '-y', 'wrk']) && !(apt(['update']) && apt(['install', '-y', 'wrk']))) {
    throw new Error('cannot install wrk (apt-get install -y wrk)');
  }
}

async function main() {
  for (const f of [app, raw]) {
    if (!fs.existsSync(f)) throw new Error(`missing ${f} (ninja -C ${build} app test/bench-rawinsert)`);
  }
  ensureWrk();
  work = makeWork('app-bench-writes-');
  console.log(`bench: ${os.cpus().length} CPUs, load average ${load()}; ` +
    `${rounds} rounds of ${secs} s; app ${app}; data in ${work}`);
  await writes('full', 1.0);
  await writes('normal', 0.6);
  await mixed();
  return printTable(['figure', 'median', 'range (rounds)', 'limit', 'result'], [32, 10, 22, 10]);
}

main().then((code) => { cleanup(); process.exit(code); },
  (e) => { console.error(`bench: ${e.message}`); cleanup(); process.exit(2); });
