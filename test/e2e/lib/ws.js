// WebSocket helpers for the black-box tests that speak to /ws with the `ws` client.
'use strict';

const WebSocket = require('ws');

// An upgrade the server refuses: {status, headers, text, json}; rejects if it is accepted.
function wsRefused(url, protocols = []) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols, { handshakeTimeout: 10000 });
    ws.on('unexpected-response', (req, res) => {
      const parts = [];
      res.on('data', (d) => parts.push(d));
      res.on('end', () => {
        const text = Buffer.concat(parts).toString('utf8');
        let json;
        try { json = JSON.parse(text); } catch { json = undefined; }
        resolve({ status: res.statusCode, headers: res.headers, text, json });
        req.destroy();
      });
    });
    ws.on('open', () => { ws.terminate(); reject(new Error('the upgrade was accepted')); });
    ws.on('error', (e) => reject(e));
  });
}

module.exports = { wsRefused };
