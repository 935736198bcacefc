-- 0008: the private messaging relay (app/relay/). The server keeps public keys and opaque
-- envelopes only: what a message says never reaches it.

-- An account's part: its identity key (fixed by its first device's upload) and the last
-- device id given out (ids are never reused, so a sender never mistakes a new device for
-- an old one).
CREATE TABLE relay_accounts (
  user_id TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
  identity_key BLOB,
  last_device_id INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

CREATE TABLE relay_devices (
  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  device_id INTEGER NOT NULL,
  registration_id INTEGER NOT NULL,
  name TEXT,
  created_at TEXT NOT NULL,
  last_seen_at TEXT,
  PRIMARY KEY (user_id, device_id)
) WITHOUT ROWID;

-- kind: 1 signed EC prekey, 2 one-time EC prekey, 3 one-time Kyber prekey, 4 Kyber last
-- resort. A fetch deletes one of kind 2 and one of kind 3 per device, the lowest key_id first.
CREATE TABLE relay_keys (
  user_id TEXT NOT NULL,
  device_id INTEGER NOT NULL,
  kind INTEGER NOT NULL,
  key_id INTEGER NOT NULL,
  public_key BLOB NOT NULL,
  signature BLOB,
  PRIMARY KEY (user_id, device_id, kind, key_id),
  FOREIGN KEY (user_id, device_id) REFERENCES relay_devices(user_id, device_id) ON DELETE CASCADE
) WITHOUT ROWID;

-- The offline queue: one row per envelope per recipient device, written in the transaction
-- that accepts the message, deleted by the device's ack (or after 30 days). seq orders a
-- device's messages; AUTOINCREMENT because a connection remembers the last seq it sent, so a
-- seq must never come back after its row is deleted. Device 0 is an account's inbox for the
-- original backend's simple messages while it has no registered device.
CREATE TABLE relay_queue (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  user_id TEXT NOT NULL,
  device_id INTEGER NOT NULL,
  message_id TEXT NOT NULL,
  sender_id TEXT NOT NULL,
  sender_device INTEGER NOT NULL,
  envelope_type INTEGER NOT NULL,
  content BLOB NOT NULL,
  created_at TEXT NOT NULL
);
-- a device's queue in seq order (an index entry ends with the rowid, which seq is)
CREATE INDEX relay_queue_device ON relay_queue(user_id, device_id);
-- an ack finds its row
CREATE UNIQUE INDEX relay_queue_ack ON relay_queue(user_id, device_id, message_id);
