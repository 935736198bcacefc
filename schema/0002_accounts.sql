-- 0002: accounts. Secrets are stored only as SHA-256 (tokens, codes) or PBKDF2 (passwords).
CREATE TABLE users (
  id TEXT PRIMARY KEY,                          -- UUIDv7
  email TEXT UNIQUE COLLATE NOCASE,             -- NULL for phone-only accounts
  phone TEXT UNIQUE,                            -- E.164, NULL when unknown
  password_hash TEXT,                           -- NULL until a password is set
  name TEXT NOT NULL DEFAULT '',
  bio TEXT NOT NULL DEFAULT '',
  country TEXT,
  locale TEXT,
  avatar_media_id TEXT,
  finance TEXT,                                 -- JSON object, validated by users/
  role TEXT NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'agent', 'admin')),
  disabled INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
  email_verified_at TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  CHECK (email IS NOT NULL OR phone IS NOT NULL)
);
CREATE INDEX users_created ON users(created_at);

-- Refresh tokens: one row per issued token; a family is one sign-in. A token is used once
-- (rotated_at set); presenting a rotated token again revokes the whole family.
CREATE TABLE refresh_tokens (
  token_hash BLOB PRIMARY KEY,
  family_id TEXT NOT NULL,
  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  created_at TEXT NOT NULL,
  expires_at TEXT NOT NULL,
  rotated_at TEXT,
  revoked_at TEXT
) WITHOUT ROWID;
CREATE INDEX refresh_tokens_family ON refresh_tokens(family_id);
CREATE INDEX refresh_tokens_user ON refresh_tokens(user_id);

-- Links mailed to people: verify an email, reset a password, accept an invitation.
CREATE TABLE email_tokens (
  token_hash BLOB PRIMARY KEY,
  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  purpose TEXT NOT NULL CHECK (purpose IN ('verify', 'reset', 'invite')),
  created_at TEXT NOT NULL,
  expires_at TEXT NOT NULL,
  used_at TEXT
) WITHOUT ROWID;
CREATE INDEX email_tokens_user ON email_tokens(user_id, purpose);

-- Phone sign-in codes: one live code per phone number.
CREATE TABLE otp_codes (
  phone TEXT PRIMARY KEY,
  code_hash BLOB NOT NULL,
  expires_at TEXT NOT NULL,
  tries_left INTEGER NOT NULL,
  created_at TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE contacts (
  owner_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  contact_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  created_at TEXT NOT NULL,
  PRIMARY KEY (owner_id, contact_id),
  CHECK (owner_id <> contact_id)
) WITHOUT ROWID;

-- Every mail and SMS goes through here. queued -> sending -> sent; a failed attempt goes back
-- to queued with a later next_attempt_at until attempts run out (failed). A row found in
-- 'sending' at start was interrupted mid-send: it becomes 'unknown', never resent blindly.
CREATE TABLE outbox (
  id TEXT PRIMARY KEY,
  channel TEXT NOT NULL CHECK (channel IN ('email', 'sms')),
  recipient TEXT NOT NULL,
  subject TEXT NOT NULL DEFAULT '',
  body TEXT NOT NULL,
  secret TEXT,                                  -- the part of body never shown outside dev mode
  state TEXT NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'sending', 'sent', 'failed', 'unknown')),
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at TEXT NOT NULL,
  last_error TEXT,
  created_at TEXT NOT NULL,
  sent_at TEXT
);
CREATE INDEX outbox_due ON outbox(state, next_attempt_at);
