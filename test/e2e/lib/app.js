// Harness for the black-box tests: runs the built binary as a child process on a free
// loopback port with a throw-away data directory, and talks to it over HTTP(S) and raw TCP.
//
// Nothing outlives the test process: every child is tracked and killed (per test through
// t.after when a test context is given, and in any case when this process exits), and
// every temporary directory is removed.
'use strict';

const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const https = require('node:https');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const repoRoot = path.resolve(__dirname, '..', '..', '..');
const appBin = process.env.APP_BIN || path.join(repoRoot, 'build', 'app');
const START_TIMEOUT_MS = 10000;
const STOP_TIMEOUT_MS = 15000;

const liveProcs = new Set(); // ChildProcess objects not yet known to have exited
const tempRoots = new Set(); // directories made by mkdtemp, removed at exit

function killEverything() {
  for (const p of liveProcs) {
    try { p.kill('SIGKILL'); } catch { /* already gone */ }
  }
  liveProcs.clear();
}

function removeTempRoots() {
  for (const d of tempRoots) {
    try { fs.rmSync(d, { recursive: true, force: true }); } catch { /* best effort */ }
  }
  tempRoots.clear();
}

process.on('exit', () => { killEverything(); removeTempRoots(); });
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => { killEverything(); removeTempRoots(); process.exit(128 + os.constants.signals[sig]); });
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// The promise's value, or `fallback` if it has not settled within ms (the timer is cleared,
// so a pending race never keeps the test process alive).
function within(promise, ms, fallback = null) {
  let timer;
  const late = new Promise((resolve) => { timer = setTimeout(() => resolve(fallback), ms); });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

// A fresh empty directory for scratch files.
function tmpDir(prefix = 'app-e2e-') {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  tempRoots.add(d);
  return d;
}

// A path for a data directory that does not exist yet (the app must create it itself).
function tmpDataDir() {
  return path.join(tmpDir(), 'data');
}

function childEnv(extra) {
  return { ...process.env, APP_ENV: 'test', ...extra };
}

// The URL from the "listening" log line, in text (`... listening url=URL ...`) or JSON
// (`{"msg":"listening","url":"URL"}`) form; null when the line is something else.
function urlFromLogLine(line) {
  const trimmed = line.trim();
  if (trimmed.startsWith('{')) {
    try {
      const o = JSON.parse(trimmed);
      if (o && o.msg === 'listening' && typeof o.url === 'string') return o.url;
    } catch { /* not JSON after all: fall through */ }
  }
  if (!/\blistening\b/.test(trimmed)) return null;
  const m = /\burl=("?)(https?:\/\/[^\s"]+)\1/.exec(trimmed);
  return m ? m[2] : null;
}

// Follows a child's exit; the promise resolves to {code, signal} exactly once.
function watchExit(proc) {
  return new Promise((resolve) => {
    proc.once('exit', (code, signal) => {
      liveProcs.delete(proc);
      resolve({ code, signal });
    });
  });
}

// Starts `app --data DIR --listen 127.0.0.1:0 [tls flags] ...args` and resolves once the app
// logs the URL it listens on. Options:
//   dataDir  data directory (default: a new one that does not exist yet)
//   args     more arguments, after the defaults
//   env      more environment (APP_ENV=test is always set)
//   tls      true: --tls-auto; {cert, key}: --tls-cert/--tls-key
//   listen   the --listen value (default 127.0.0.1:0)
//   t        a test context: the app is killed when that test ends
// Rejects if the process exits first or is not listening within 10 s; the error carries
// .exitCode, .exitSignal and .stderr.
function startApp(opts = {}) {
  const dataDir = opts.dataDir || tmpDataDir();
  const argv = ['--data', dataDir, '--listen', opts.listen || '127.0.0.1:0'];
  if (opts.tls === true) argv.push('--tls-auto');
  else if (opts.tls && typeof opts.tls === 'object') argv.push('--tls-cert', opts.tls.cert, '--tls-key', opts.tls.key);
  argv.push(...(opts.args || []));

  const proc = spawn(appBin, argv, {
    env: childEnv(opts.env), stdio: ['ignore', 'pipe', 'pipe'], cwd: tmpDir(),
  });
  liveProcs.add(proc);
  const exited = watchExit(proc);
  let exitInfo = null;
  exited.then((e) => { exitInfo = e; });

  let errText = '';
  let outText = '';
  let pending = '';
  proc.stdout.setEncoding('utf8');
  proc.stderr.setEncoding('utf8');
  proc.stdout.on('data', (d) => { outText += d; });

  const app = {
    url: null,
    port: null,
    dataDir,
    proc,
    pid: proc.pid,
    argv,
    exited,
    stderr: () => errText,
    stdout: () => outText,
    stderrLines: () => errText.split('\n').filter((l) => l.length > 0),
    // Sends the signal and waits for the exit (SIGKILL after 15 s, reported as timedOut).
    async stop(signal = 'SIGTERM', timeoutMs = STOP_TIMEOUT_MS) {
      if (exitInfo) return exitInfo;
      if (proc.pid === undefined) return { code: null, signal: null }; // never ran
      try { proc.kill(signal); } catch { /* already gone */ }
      const r = await within(exited, timeoutMs);
      if (r) return r;
      try { proc.kill('SIGKILL'); } catch { /* already gone */ }
      return { ...(await exited), timedOut: true };
    },
    async kill9() {
      if (exitInfo) return exitInfo;
      if (proc.pid === undefined) return { code: null, signal: null }; // never ran
      try { proc.kill('SIGKILL'); } catch { /* already gone */ }
      return exited;
    },
    // Resolves to {code, signal}, or null if still running after ms.
    waitExit(ms) {
      return within(exited, ms);
    },
  };

  if (opts.t && typeof opts.t.after === 'function') opts.t.after(() => app.kill9());

  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (why) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      try { proc.kill('SIGKILL'); } catch { /* already gone */ }
      // A binary that could not be run at all never emits 'exit'.
      const ended = proc.pid === undefined
        ? Promise.resolve({ code: null, signal: null }).finally(() => liveProcs.delete(proc)) : exited;
      ended.then((e) => {
        const err = new Error(`${why}\n--- app stderr ---\n${errText}--- end ---`);
        err.exitCode = e.code;
        err.exitSignal = e.signal;
        err.stderr = errText;
        reject(err);
      });
    };
    const timer = setTimeout(() => fail(`app did not log "listening" within ${START_TIMEOUT_MS} ms`),
      START_TIMEOUT_MS);
    proc.stderr.on('data', (chunk) => {
      errText += chunk;
      if (settled) return;
      pending += chunk;
      let nl;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        const url = urlFromLogLine(line);
        if (url) {
          settled = true;
          clearTimeout(timer);
          app.url = url.replace(/\/+$/, '');
          app.port = Number(new URL(app.url).port);
          resolve(app);
          return;
        }
      }
    });
    proc.on('error', (e) => fail(`could not run ${appBin}: ${e.message}`));
    exited.then((e) => {
      if (settled) return;
      // Let the last stderr bytes arrive before reporting.
      setImmediate(() => fail(`app exited (code ${e.code}, signal ${e.signal}) before listening`));
    });
  });
}

// Runs the binary to completion (synchronously). A run longer than the timeout is killed
// and reported with code null. cwd defaults to a scratch directory so that a stray
// default ./data never lands in the repository.
function runCli(args, opts = {}) {
  const r = spawnSync(appBin, args, {
    env: childEnv(opts.env), encoding: 'utf8', timeout: opts.timeout || 20000,
    cwd: opts.cwd || tmpDir(), killSignal: 'SIGKILL',
  });
  if (r.error && r.error.code !== 'ETIMEDOUT') throw r.error;
  return { code: r.status, signal: r.signal, stdout: r.stdout || '', stderr: r.stderr || '' };
}

// The same without blocking the event loop (for use while a server started here runs).
function runCliAsync(args, opts = {}) {
  return new Promise((resolve, reject) => {
    const proc = spawn(appBin, args, {
      env: childEnv(opts.env), cwd: opts.cwd || tmpDir(), stdio: ['ignore', 'pipe', 'pipe'],
    });
    liveProcs.add(proc);
    let stdout = '';
    let stderr = '';
    proc.stdout.setEncoding('utf8');
    proc.stderr.setEncoding('utf8');
    proc.stdout.on('data', (d) => { stdout += d; });
    proc.stderr.on('data', (d) => { stderr += d; });
    proc.on('error', reject);
    const timer = setTimeout(() => { try { proc.kill('SIGKILL'); } catch { /* gone */ } }, opts.timeout || 20000);
    proc.on('close', (code, signal) => {
      clearTimeout(timer);
      liveProcs.delete(proc);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

// The sqlite3 command-line shell on a database file (waiting up to 10 s for the server's
// writes, as the server waits for others'); throws if it is not installed.
function sqlite(file, sql) {
  const r = spawnSync('sqlite3', ['-cmd', '.timeout 10000', file, sql], { encoding: 'utf8', timeout: 20000 });
  if (r.error && r.error.code === 'ENOENT') {
    throw new Error('the sqlite3 command-line shell is needed (apt-get install -y sqlite3)');
  }
  if (r.error) throw r.error;
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

// fetch with the body read as text (and parsed as JSON when it is JSON); no redirects.
async function request(url, init = {}) {
  const res = await fetch(url, { redirect: 'manual', ...init });
  const text = await res.text();
  let json;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: res.status, headers: res.headers, text, json };
}

// A request over a fresh connection through node's http/https modules, for what fetch
// does not do: chunked bodies written piece by piece, exact bytes, TLS options, bodies on
// HEAD. `body` is written at once; `chunks` are written one by one without a
// Content-Length (chunked). Resolves when the response has been read, even if the server
// closed the connection before taking the whole body. Headers come back lower-cased.
function rawRequest(url, opts = {}) {
  const u = new URL(url);
  const mod = u.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = mod.request({
      host: u.hostname, port: u.port, path: u.pathname + u.search, method: opts.method || 'GET',
      headers: opts.headers || {}, agent: false, ...(opts.tlsOptions || {}),
    }, (res) => {
      answered = true;
      const parts = [];
      res.on('data', (d) => parts.push(d));
      res.on('end', () => {
        const buf = Buffer.concat(parts);
        const text = buf.toString('utf8');
        let json;
        try { json = JSON.parse(text); } catch { json = undefined; }
        resolve({ status: res.statusCode, headers: res.headers, body: buf, text, json });
      });
      res.on('error', (e) => reject(e));
    });
    req.setTimeout(opts.timeout || 10000, () => req.destroy(new Error('request timed out')));
    req.on('error', (e) => { if (!answered) reject(e); });
    if (opts.chunks) {
      (async () => {
        for (const c of opts.chunks) {
          if (answered || req.destroyed) break;
          req.write(c);
          if (opts.chunkDelayMs) await sleep(opts.chunkDelayMs);
        }
        req.end();
      })();
    } else {
      if (opts.body !== undefined) req.write(opts.body);
      req.end();
    }
  });
}

// A raw TCP conversation: connect, write what you like, read what comes back.
async function rawSocket(port, host = '127.0.0.1') {
  const sock = net.connect(port, host);
  await new Promise((resolve, reject) => {
    sock.once('connect', resolve);
    sock.once('error', reject);
  });
  let received = Buffer.alloc(0);
  let closed = false;
  sock.on('data', (d) => { received = Buffer.concat([received, d]); });
  sock.on('close', () => { closed = true; });
  sock.on('error', () => { /* seen as closed */ });
  return {
    sock,
    write: (data) => new Promise((resolve) => sock.write(data, () => resolve())),
    received: () => received.toString('latin1'),
    closed: () => closed,
    // Waits until one whole HTTP response (head plus Content-Length body) has arrived.
    async readResponse(timeoutMs = 10000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const s = received.toString('latin1');
        const end = s.indexOf('\r\n\r\n');
        if (end >= 0) {
          const head = s.slice(0, end);
          const m = /\r\ncontent-length:\s*(\d+)/i.exec(head);
          const len = m ? Number(m[1]) : 0;
          if (s.length >= end + 4 + len || closed) {
            const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1]);
            return { status, head, body: s.slice(end + 4, end + 4 + len) };
          }
        }
        if (closed) throw new Error(`connection closed before a whole response; got: ${JSON.stringify(s)}`);
        if (Date.now() > deadline) throw new Error(`no whole response in ${timeoutMs} ms; got: ${JSON.stringify(s)}`);
        await sleep(10);
      }
    },
    close: () => sock.destroy(),
  };
}

// Asserts the error contract: the status, a JSON body {"error":{"code","message"}} with the
// given code, and a JSON Content-Type. Works with results of request() and rawRequest().
function assertError(assert, r, status, code) {
  const ct = typeof r.headers.get === 'function' ? r.headers.get('content-type') : r.headers['content-type'];
  assert.equal(r.status, status, `status (body: ${r.text.slice(0, 300)})`);
  assert.match(ct || '', /^application\/json/, 'error Content-Type');
  assert.ok(r.json && typeof r.json.error === 'object' && r.json.error !== null, `error object in ${r.text.slice(0, 300)}`);
  assert.equal(r.json.error.code, code, 'error code');
  assert.equal(typeof r.json.error.message, 'string', 'error message is a string');
  assert.ok(r.json.error.message.length > 0, 'error message is not empty');
  if ('field' in r.json.error) assert.equal(typeof r.json.error.field, 'string', 'field is a string');
}

function header(r, name) {
  return typeof r.headers.get === 'function' ? r.headers.get(name) : (r.headers[name.toLowerCase()] ?? null);
}

module.exports = {
  appBin, repoRoot, sleep, within, tmpDir, tmpDataDir, startApp, runCli, runCliAsync, sqlite,
  request, rawRequest, rawSocket, assertError, header, urlFromLogLine,
};
