// Outgoing calls through the one upstream client, seen from outside: the copilot's RAG service
// now sits behind a circuit breaker. COPILOT_BREAKER_FAILURES failed calls in a row (an error
// status, an unavailable service, a timeout) make the next calls fail fast with 503
// upstream_unavailable without reaching the service; after COPILOT_BREAKER_OPEN_MS one probe
// goes through: a failed probe opens the breaker again, a good one closes it.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const http = require('node:http');
const { startApp, request, assertError, sleep } = require('./lib/app');

// A programmable JSON service: behaviour.current(req, body) -> {status, body, delayMs}.
async function service(behaviour) {
  const calls = [];
  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (d) => { raw += d; });
    req.on('end', async () => {
      let body = null;
      try { body = JSON.parse(raw); } catch { /* not JSON */ }
      calls.push({ method: req.method, url: req.url, body, at: Date.now() });
      const out = behaviour.current(req, body) || {};
      if (out.delayMs) await sleep(out.delayMs);
      if (res.destroyed) return;
      res.writeHead(out.status || 200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(out.body || {}));
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  server.unref();
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    calls,
    stop: () => new Promise((r) => { server.closeAllConnections(); server.close(r); }),
  };
}

test('the RAG service gets a circuit breaker: failures open it, calls fail fast, a probe closes it', async (t) => {
  const behaviour = { current: () => ({ status: 500, body: { error: 'secret upstream detail' } }) };
  const rag = await service(behaviour);
  t.after(() => rag.stop());
  const app = await startApp({ t, env: {
    PASSWORD_ITERATIONS: '1000', RAG_URL: rag.url, COPILOT_TIMEOUT_MS: '800',
    COPILOT_BREAKER_FAILURES: '3', COPILOT_BREAKER_OPEN_MS: '1500',
  } });
  const reg = await request(`${app.url}/api/v1/auth/register`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ email: `breaker-${process.pid}@example.test`, password: 'correct horse', name: 'B' }),
  });
  assert.equal(reg.status, 201, reg.text);
  const headers = { Authorization: `Bearer ${reg.json.access_token}`, 'Content-Type': 'application/json' };
  const s = await request(`${app.url}/api/v1/copilot/sessions`, { method: 'POST', headers, body: '{}' });
  assert.equal(s.status, 201, s.text);
  const ask = (input) => request(`${app.url}/api/v1/copilot/sessions/${s.json.id}`, {
    method: 'POST', headers, body: JSON.stringify({ input }),
  });

  // three failures of three kinds, each reaching the service
  assertError(assert, await ask('one'), 502, 'upstream_error');
  assert.equal(rag.calls.length, 1, 'a POST answered 500 is not sent again');
  behaviour.current = () => ({ status: 503 });
  assertError(assert, await ask('two'), 503, 'upstream_unavailable');
  assert.equal(rag.calls.length, 3, 'a 503 is tried once more before the first byte');
  behaviour.current = () => ({ delayMs: 1500, body: { output: 'too late' } });
  assertError(assert, await ask('three'), 504, 'upstream_timeout');
  assert.equal(rag.calls.length, 4);

  // open: fail fast, the service is not called
  behaviour.current = () => ({ body: { output: 'fine again' } });
  for (const input of ['four', 'five']) {
    const t0 = Date.now();
    const r = await ask(input);
    assertError(assert, r, 503, 'upstream_unavailable');
    assert.ok(Date.now() - t0 < 500, `failed fast (${Date.now() - t0} ms)`);
    assert.doesNotMatch(r.text, /secret upstream detail/);
  }
  assert.equal(rag.calls.length, 4, 'the open breaker did not call the service');
  assert.match(app.stderr(), /fail fast.*upstream=rag/, 'the opening is logged, with the upstream\'s name');
  assert.doesNotMatch(app.stderr(), /secret upstream detail|127\.0\.0\.1:\d+\/api/, 'no body or URL in the log');
  const got = await request(`${app.url}/api/v1/copilot/sessions/${s.json.id}`, { headers });
  assert.deepEqual(got.json.details.map((d) => [d.input, d.status, d.error]), [
    ['one', 'failed', 'upstream_error'], ['two', 'failed', 'upstream_unavailable'],
    ['three', 'failed', 'upstream_timeout'], ['four', 'failed', 'upstream_unavailable'],
    ['five', 'failed', 'upstream_unavailable']]);

  // after the open period one probe goes out; it fails, so the breaker opens again
  behaviour.current = () => ({ status: 500 });
  await sleep(1700);
  assertError(assert, await ask('probe fails'), 502, 'upstream_error');
  assert.equal(rag.calls.length, 5, 'the probe reached the service');
  assertError(assert, await ask('right after'), 503, 'upstream_unavailable');
  assert.equal(rag.calls.length, 5);

  // the service is back: the next probe succeeds and closes the breaker
  behaviour.current = (req, body) => ({ body: { output: `Advice about: ${body.input}` } });
  await sleep(1700);
  const ok = await ask('back');
  assert.equal(ok.status, 200, ok.text);
  assert.equal(ok.json.output, 'Advice about: back');
  const again = await ask('and again');
  assert.equal(again.status, 200, again.text);
  assert.equal(rag.calls.length, 7);
  // a call that failed fast can be retried now
  const four = got.json.details.find((d) => d.input === 'four');
  const retried = await request(`${app.url}/api/v1/copilot/sessions/${s.json.id}/details/${four.id}/retry`,
    { method: 'POST', headers });
  assert.equal(retried.status, 200, retried.text);
  assert.equal(retried.json.output, 'Advice about: four');
});
