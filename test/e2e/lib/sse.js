// Reads text/event-stream as it arrives: feed(chunk) returns the events the chunk completed,
// each {event, data} with data parsed as JSON; comments (heartbeats) are skipped.
'use strict';

function sseReader() {
  let pending = '';
  return (chunk) => {
    pending += chunk;
    const out = [];
    let i;
    while ((i = pending.indexOf('\n\n')) >= 0) {
      const block = pending.slice(0, i);
      pending = pending.slice(i + 2);
      let event = 'message';
      const data = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event:')) event = line.slice(6).trim();
        else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
      }
      if (data.length) out.push({ event, data: JSON.parse(data.join('\n')) });
    }
    return out;
  };
}

module.exports = { sseReader };
