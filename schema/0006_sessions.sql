-- 0006: sessions (one per sign-in: a refresh-token family) that people can list and end, and
-- the account's session generation that ends all of them at once.
CREATE TABLE sessions (
  id TEXT PRIMARY KEY,                          -- the refresh family id; access tokens carry it as sid
  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  device TEXT NOT NULL DEFAULT '',              -- the User-Agent at sign-in, at most 200 characters
  created_at TEXT NOT NULL,                     -- the sign-in
  last_used_at TEXT NOT NULL,                   -- the last refresh (the sign-in until one happens)
  expires_at TEXT NOT NULL,                     -- of the family's newest refresh token
  revoked_at TEXT
);
CREATE INDEX sessions_user ON sessions(user_id, id);
-- boot reloads the sessions ended within one access-token lifetime (their tokens stay refused)
CREATE INDEX sessions_revoked ON sessions(revoked_at) WHERE revoked_at IS NOT NULL;

-- Sign-ins made before this migration become sessions too (their device is unknown).
INSERT INTO sessions(id, user_id, device, created_at, last_used_at, expires_at, revoked_at)
  SELECT family_id, min(user_id), '', min(created_at), max(created_at), max(expires_at), max(revoked_at)
  FROM refresh_tokens GROUP BY family_id;

-- Access tokens carry the generation they were issued under; signing out everywhere (or a
-- password reset) adds one, and every older token is refused at its next request.
ALTER TABLE users ADD COLUMN session_gen INTEGER NOT NULL DEFAULT 0;
