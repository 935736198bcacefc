// A tiny programmable JSON service for black-box tests that stand in for outside services
// (the copilot's RAG service and portfolio optimiser): handler.current(req, body) answers each
// request with {status, type, body, delayMs}; every call is recorded (method, url, headers,
// parsed JSON body).
'use strict';
const http = require('node:http');

async function service(handler) {
  const calls = [];
  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (d) => { raw += d; });
    req.on('end', async () => {
      let body = null;
      try { body = JSON.parse(raw); } catch { /* not JSON */ }
      calls.push({ method: req.method, url: req.url, headers: req.headers, body });
      const out = handler.current(req, body) || {};
      if (out.delayMs) await new Promise((r) => setTimeout(r, out.delayMs));
      if (res.destroyed) return;
      res.writeHead(out.status || 200, { 'Content-Type': out.type || 'application/json' });
      res.end(typeof out.body === 'string' ? out.body : JSON.stringify(out.body));
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  server.unref();
  return { url: `http://127.0.0.1:${server.address().port}`, calls, stop: () => new Promise((r) => { server.closeAllConnections(); server.close(r); }) };
}

module.exports = { service };
