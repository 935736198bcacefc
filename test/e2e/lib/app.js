// Black-box harness: starts the built binary on a free loopback port with a temporary
// data directory and stops it when the test ends. Every process started here is killed
// on exit, every temporary directory removed.
'use strict';
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.resolve(__dirname, '..', '..', '..');
const bin = process.env.APP_BIN || path.join(root, 'build', 'app');
const running = new Set();
const dirs = new Set();

process.on('exit', () => {
  for (const p of running) { try { p.kill('SIGKILL'); } catch { /* gone */ } }
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

function tmpDataDir() {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'app-e2e-'));
  dirs.add(base);
  return path.join(base, 'data');
}

function baseEnv(env) {
  return { ...process.env, APP_ENV: 'test', ...env };
}

// Starts `app --data DIR --listen 127.0.0.1:0 ...args` and resolves once it logs its URL.
function startApp({ dataDir = tmpDataDir(), args = [], env = {}, listen = '127.0.0.1:0' } = {}) {
  return new Promise((resolve, reject) => {
    const proc = spawn(bin, ['--data', dataDir, '--listen', listen, ...args], {
      env: baseEnv(env), stdio: ['ignore', 'pipe', 'pipe'],
    });
    running.add(proc);
    let err = '';
    let done = false;
    const exited = new Promise((res) => proc.on('exit', (code, signal) => {
      running.delete(proc);
      res({ code, signal });
    }));
    const timer = setTimeout(() => finish(new Error(`app did not start in 10 s:\n${err}`)), 10000);
    function finish(e, url) {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (e) { proc.kill('SIGKILL'); reject(e); return; }
      resolve({
        url, dataDir, proc, exited,
        port: Number(new URL(url).port),
        stderr: () => err,
        stop: async (signal = 'SIGTERM') => { proc.kill(signal); return exited; },
        kill9: async () => { proc.kill('SIGKILL'); return exited; },
      });
    }
    proc.stdout.on('data', () => {});
    proc.stderr.on('data', (d) => {
      err += d;
      const m = /listening.*?url[=":]+(https?:\/\/[^\s"]+)/.exec(err);
      if (m) finish(null, m[1]);
    });
    proc.on('exit', (code, signal) => finish(new Error(`app exited (${code ?? signal}) before listening:\n${err}`)));
  });
}

function runCli(args, { env = {}, timeout = 20000 } = {}) {
  const r = spawnSync(bin, args, { env: baseEnv(env), encoding: 'utf8', timeout });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

// fetch that never follows redirects and returns the body as text and parsed JSON
async function request(url, opts = {}) {
  const res = await fetch(url, { redirect: 'manual', ...opts });
  const text = await res.text();
  let json;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: res.status, headers: res.headers, text, json };
}

module.exports = { bin, root, startApp, runCli, tmpDataDir, request };
