// Outside services for black-box tests: a real SMTP server (Debian's python3-aiosmtpd,
// delivering into a Maildir) and a fake SMS provider that checks Twilio's real request
// format (form-encoded POST to /2010-04-01/Accounts/{sid}/Messages.json, basic auth).
'use strict';
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const path = require('node:path');
const { tmpDir, sleep } = require('./app');

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function waitPort(port, ms = 10000) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const ok = await new Promise((resolve) => {
      const c = net.connect(port, '127.0.0.1', () => { c.destroy(); resolve(true); });
      c.on('error', () => resolve(false));
    });
    if (ok) return;
    await sleep(50);
  }
  throw new Error(`nothing listens on ${port}`);
}

// Parses one RFC 5322 message file: headers (unfolded) and body.
function parseMessage(text) {
  const split = text.indexOf('\n\n') >= 0 ? text.indexOf('\n\n') : text.indexOf('\r\n\r\n');
  const head = text.slice(0, split).replace(/\r\n/g, '\n').replace(/\n[ \t]+/g, ' ');
  const headers = {};
  for (const line of head.split('\n')) {
    const i = line.indexOf(':');
    if (i > 0) headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
  }
  return { headers, body: text.slice(split).replace(/\r\n/g, '\n').trim() };
}

async function startSmtp({ port } = {}) {
  port = port || await freePort();
  const dir = path.join(tmpDir('app-smtp-'), 'maildir');
  const proc = spawn('/usr/bin/python3', ['-m', 'aiosmtpd', '-n', '-l', `127.0.0.1:${port}`,
    '-c', 'aiosmtpd.handlers.Mailbox', dir], { stdio: 'ignore' });
  // never keeps the test process alive, and never outlives it
  proc.unref();
  process.on('exit', () => { try { proc.kill('SIGKILL'); } catch { /* gone */ } });
  await waitPort(port);
  const smtp = {
    port,
    url: `smtp://127.0.0.1:${port}`,
    messages() {
      const out = [];
      for (const sub of ['new', 'cur']) {
        const d = path.join(dir, sub);
        if (!fs.existsSync(d)) continue;
        for (const f of fs.readdirSync(d).sort()) out.push(parseMessage(fs.readFileSync(path.join(d, f), 'utf8')));
      }
      return out;
    },
    // Waits for a message to `to` matching `pred`.
    async waitFor(pred, ms = 10000) {
      const deadline = Date.now() + ms;
      while (Date.now() < deadline) {
        const m = smtp.messages().find(pred);
        if (m) return m;
        await sleep(50);
      }
      throw new Error(`no such mail within ${ms} ms; have: ${JSON.stringify(smtp.messages().map((x) => x.headers.subject))}`);
    },
    stop() { proc.kill('SIGKILL'); },
  };
  return smtp;
}

// The fake SMS provider. Requests that do not match Twilio's format get 400 and are kept
// in `rejected` for the test to see.
async function startSms({ account = 'ACtest', token = 'secret-token' } = {}) {
  const sent = [];
  const rejected = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      const auth = `Basic ${Buffer.from(`${account}:${token}`).toString('base64')}`;
      const form = new URLSearchParams(body);
      const problems = [];
      if (req.method !== 'POST') problems.push('method');
      if (req.url !== `/2010-04-01/Accounts/${account}/Messages.json`) problems.push(`path ${req.url}`);
      if (req.headers.authorization !== auth) problems.push('basic auth');
      if (!/^application\/x-www-form-urlencoded/.test(req.headers['content-type'] || '')) problems.push('content type');
      for (const f of ['To', 'From', 'Body']) if (!form.get(f)) problems.push(`missing ${f}`);
      if (problems.length) {
        rejected.push({ problems, url: req.url });
        res.writeHead(400, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ code: 21604, message: problems.join(', '), status: 400 }));
        return;
      }
      const msg = { to: form.get('To'), from: form.get('From'), body: form.get('Body') };
      sent.push(msg);
      res.writeHead(201, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ sid: `SM${sent.length}`, status: 'queued', to: msg.to, from: msg.from, body: msg.body }));
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  server.unref();
  const port = server.address().port;
  return {
    url: `http://127.0.0.1:${port}`, account, token, sent, rejected,
    async waitFor(pred, ms = 10000) {
      const deadline = Date.now() + ms;
      while (Date.now() < deadline) {
        const m = sent.find(pred);
        if (m) return m;
        await sleep(50);
      }
      throw new Error(`no such SMS within ${ms} ms (rejected: ${JSON.stringify(rejected)})`);
    },
    stop() { return new Promise((r) => server.close(r)); },
  };
}

module.exports = { freePort, startSmtp, startSms };
