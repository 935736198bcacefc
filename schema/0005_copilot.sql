-- 0005: the financial-advice copilot. A session belongs to one user; each exchange (detail)
-- is stored before the outside call as pending, then answered or failed (and retryable).
CREATE TABLE copilot_sessions (
  id TEXT PRIMARY KEY,                           -- UUIDv7
  owner_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  topic TEXT NOT NULL DEFAULT '',
  portfolio TEXT,                                -- JSON {assets, weights, risk_profile, source}, first exchange
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE INDEX copilot_sessions_owner ON copilot_sessions(owner_id, id);

CREATE TABLE copilot_details (
  id TEXT PRIMARY KEY,
  session_id TEXT NOT NULL REFERENCES copilot_sessions(id) ON DELETE CASCADE,
  input TEXT NOT NULL,
  output TEXT,                                   -- the answer as text, never interpreted
  status TEXT NOT NULL CHECK (status IN ('pending', 'answered', 'failed')),
  source TEXT,                                   -- rag | llm | demo
  error TEXT,                                    -- the error code of a failed call
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE INDEX copilot_details_session ON copilot_details(session_id, id);
