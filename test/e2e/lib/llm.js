// A fake OpenAI-compatible model server for black-box tests. It speaks the real streaming
// wire format of POST /v1/chat/completions (chat.completion.chunk objects as Server-Sent
// Events, a usage chunk when stream_options.include_usage is set, then data: [DONE]), and
// the chat.test.js suite proves it by driving it with the official `openai` npm client.
// Each request takes the next queued behaviour (or the default one):
//   { chunks: ['Hel', 'lo'], delayMs: 0,   // pieces of the reply and the pause before each
//     status: 429|500|401,                  // answer with this error instead
//     cutAfter: N,                          // close the connection after N chunks
//     malformedAfter: N,                    // send a broken chunk after N chunks
//     hang: true,                           // accept the request and never answer
//     usage: {prompt_tokens, completion_tokens} }
// It records every request (headers, parsed body, each chunk sent with Date.now() and
// performance.now()) and when each connection closed early.
'use strict';
const http = require('node:http');

async function startLlm({ apiKey = 'sk-test-key' } = {}) {
  const queue = [];
  const requests = [];
  let fallback = { chunks: ['Hello', ', ', 'world', '!'] };
  const sockets = new Set();

  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (d) => { raw += d; });
    req.on('end', async () => {
      const rec = { url: req.url, headers: req.headers, body: null, closedEarly: false, closedAt: null, sent: [] };
      requests.push(rec);
      try { rec.body = JSON.parse(raw); } catch { rec.body = null; }
      res.on('close', () => { if (!res.writableEnded) { rec.closedEarly = true; rec.closedAt = Date.now(); } });
      if (req.method !== 'POST' || req.url !== '/v1/chat/completions') {
        res.writeHead(404, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ error: { message: 'not found', type: 'invalid_request_error' } }));
        return;
      }
      if (req.headers.authorization !== `Bearer ${apiKey}`) {
        res.writeHead(401, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ error: { message: 'Incorrect API key provided', type: 'invalid_request_error', code: 'invalid_api_key' } }));
        return;
      }
      const b = queue.length ? queue.shift() : fallback;
      if (b.status) {
        res.writeHead(b.status, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ error: { message: `fake ${b.status}`, type: 'server_error' } }));
        return;
      }
      if (b.hang) return;
      const body = rec.body || {};
      const id = `chatcmpl-${requests.length}`;
      const created = Math.floor(Date.now() / 1000);
      const model = body.model || 'fake-model';
      const chunk = (delta, finish = null) => `data: ${JSON.stringify({
        id, object: 'chat.completion.chunk', created, model, system_fingerprint: 'fp_fake',
        choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
      })}\n\n`;
      res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', Connection: 'keep-alive' });
      res.write(chunk({ role: 'assistant', content: '' }));
      const chunks = b.chunks || fallback.chunks;
      for (let i = 0; i < chunks.length; i++) {
        if (b.delayMs) await new Promise((r) => setTimeout(r, b.delayMs));
        if (res.destroyed) return;
        if (b.cutAfter === i) { // let what was written reach the client first
          await new Promise((r) => setTimeout(r, 100));
          res.destroy();
          return;
        }
        if (b.malformedAfter === i) { res.write('data: {"id": "broken", "choices": [\n\n'); res.end(); return; }
        res.write(chunk({ content: chunks[i] }));
        rec.sent.push({ text: chunks[i], at: Date.now(), t: performance.now() });
      }
      res.write(chunk({}, 'stop'));
      if (body.stream_options && body.stream_options.include_usage) {
        const usage = b.usage || { prompt_tokens: 11, completion_tokens: chunks.length, total_tokens: 11 + chunks.length };
        res.write(`data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, choices: [], usage })}\n\n`);
      }
      res.end('data: [DONE]\n\n');
      rec.endedAt = Date.now();
    });
  });
  server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  server.unref();
  const port = server.address().port;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    apiKey,
    requests,
    next(...behaviours) { queue.push(...behaviours); },
    setDefault(b) { fallback = b; },
    reset() { queue.length = 0; requests.length = 0; },
    stop() {
      for (const s of sockets) s.destroy();
      return new Promise((r) => server.close(r));
    },
  };
}

module.exports = { startLlm };
